//! Freed pieces kept for the next result of their size, per engine.
//!
//! A fresh piece of a large array costs its page faults on first write: for
//! 128 MiB about twice the time of the arithmetic that fills it. Results of
//! elementwise work are mostly the size of something just deleted (the
//! temporary of the last statement, the last iteration's array), so deleted
//! pieces go to a pool, and a new piece of the same element type and about
//! the same size takes a buffer from it, already mapped. Fresh buffers of
//! 2 MiB and more are advised onto huge pages where the OS offers them.
//!
//! The pool is bounded: `DISTARRAY_POOL_BYTES` per engine (default
//! [`DEFAULT_CAP`]; `0` turns it off); buffers under [`MIN_POOLED`] bytes are
//! not kept. `Context::release_pooled_memory` empties every engine's pool.
//! The pool belongs to the engine ([`Pool`], a field of it); while the engine
//! runs a command the pool sits in the running thread's slot ([`swap`]), so
//! that allocation sites reach it without locks or an engine to name. The
//! running thread is the engine's own, or on thread engines the client's
//! when it runs an engine's share of a waited command itself.

use std::any::Any;
use std::cell::RefCell;
use std::sync::OnceLock;

use crate::core::alloc::Side;
use crate::core::element::{DType, Element};
use crate::core::error::Result;
use crate::engine::local::StoredArray;

/// The default cap of one engine's pool, in bytes.
pub(crate) const DEFAULT_CAP: usize = 1 << 30;

/// Buffers smaller than this are freed, not pooled (the allocator serves
/// them from memory it keeps anyway).
pub(crate) const MIN_POOLED: usize = 1 << 16;

/// A pooled buffer may be this much larger than asked for (in eighths):
/// beyond, it would hold memory a smaller array does not need.
const SLACK_EIGHTHS: usize = 1;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Empty buffers by element type, with their capacity in bytes: one
/// engine's pool.
#[derive(Default)]
pub(crate) struct Pool {
    buffers: Vec<Pooled>,
    bytes: usize,
}

struct Pooled {
    dtype: DType,
    bytes: usize,
    /// A `Vec<T>` of length 0.
    buffer: Box<dyn Any + Send>,
}

/// The cap from `DISTARRAY_POOL_BYTES`, read once.
fn cap() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| match std::env::var("DISTARRAY_POOL_BYTES") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("distarray: ignoring DISTARRAY_POOL_BYTES={v:?}: not a number of bytes");
            DEFAULT_CAP
        }),
        Err(_) => DEFAULT_CAP,
    })
}

/// Puts `pool` into this thread's slot and what the slot held into `pool`:
/// an engine lends its pool to the thread running its command, and takes it
/// back after.
pub(crate) fn swap(pool: &mut Pool) {
    POOL.with(|slot| std::mem::swap(&mut *slot.borrow_mut(), pool));
}

/// An empty `Vec` with room for at least `n` elements, for a piece whose
/// every element is about to be written: a pooled buffer of about that size
/// if there is one, else a checked allocation (`Err(OutOfMemory)` where
/// `Vec::with_capacity` would abort).
pub(crate) fn vec<T: Element>(n: usize) -> Result<Vec<T>> {
    let size = std::mem::size_of::<T>().max(1);
    let wanted = n.saturating_mul(size);
    if wanted >= MIN_POOLED {
        let limit = wanted.saturating_add(wanted / 8 * SLACK_EIGHTHS);
        let found = POOL.with(|pool| pool.borrow_mut().take(T::DTYPE, wanted, limit));
        if let Some(buffer) = found {
            if let Ok(mut values) = buffer.downcast::<Vec<T>>() {
                values.clear();
                return Ok(*values);
            }
        }
    }
    let values = Side::Engine.vec(n)?;
    advise_huge_pages(&values);
    Ok(values)
}

/// Keeps the buffer of `array`, which the engine no longer holds, for a
/// later piece (or frees it: too small, not contiguous, or the pool full).
pub(crate) fn recycle(array: Box<dyn StoredArray>) {
    let cap = cap();
    if cap == 0 {
        return;
    }
    if let Some((dtype, bytes, buffer)) = array.into_buffer() {
        if bytes >= MIN_POOLED {
            POOL.with(|pool| pool.borrow_mut().keep(Pooled { dtype, bytes, buffer }, cap));
        }
    }
}

/// Keeps `values`, a buffer the engine is done with (an exchange's send or
/// receive buffer), for a later buffer of its element type and size (or
/// frees it, as [`recycle`] does).
pub(crate) fn keep_vec<T: Element>(mut values: Vec<T>) {
    let cap = cap();
    let bytes = values.capacity().saturating_mul(std::mem::size_of::<T>());
    if cap == 0 || bytes < MIN_POOLED {
        return;
    }
    values.clear();
    POOL.with(|pool| pool.borrow_mut().keep(Pooled { dtype: T::DTYPE, bytes, buffer: Box::new(values) }, cap));
}

/// Frees every pooled buffer of this engine; returns how many bytes they held.
pub(crate) fn release() -> usize {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let bytes = pool.bytes;
        *pool = Pool::default();
        bytes
    })
}

/// The bytes this engine's pool holds.
#[cfg(test)]
fn pooled_bytes() -> usize {
    POOL.with(|pool| pool.borrow().bytes)
}

impl Pool {
    /// The smallest buffer of `dtype` holding `wanted..=limit` bytes.
    fn take(&mut self, dtype: DType, wanted: usize, limit: usize) -> Option<Box<dyn Any + Send>> {
        let (i, _) = self
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.dtype == dtype && (wanted..=limit).contains(&b.bytes))
            .min_by_key(|(_, b)| b.bytes)?;
        let pooled = self.buffers.swap_remove(i);
        self.bytes -= pooled.bytes;
        Some(pooled.buffer)
    }

    /// Keeps `pooled` within `cap` bytes, dropping the oldest buffers for it;
    /// a buffer larger than the cap is freed.
    fn keep(&mut self, pooled: Pooled, cap: usize) {
        if pooled.bytes > cap {
            return;
        }
        while self.bytes + pooled.bytes > cap {
            let oldest = self.buffers.remove(0);
            self.bytes -= oldest.bytes;
        }
        self.bytes += pooled.bytes;
        self.buffers.push(pooled);
    }
}

/// Asks the OS to back a large fresh buffer with huge pages (fewer page
/// faults and TLB misses); harmless where it cannot.
fn advise_huge_pages<T>(values: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let bytes = values.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes < HUGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = values.as_ptr() as usize;
        let aligned = start.next_multiple_of(PAGE);
        let len = (start + bytes).saturating_sub(aligned) / PAGE * PAGE;
        // SAFETY: `aligned..aligned + len` lies inside the buffer's own
        // allocation, which lives on; MADV_HUGEPAGE changes no contents, and a
        // failure (no transparent huge pages) only leaves the default.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::engine::local::LocalArray;
    use crate::layout::DimDict;

    fn piece(n: usize) -> Box<dyn StoredArray> {
        let data = ArrayD::from_shape_vec(IxDyn(&[n]), vec![1.5f64; n]).unwrap();
        Box::new(LocalArray::new(data, vec![DimDict::NoDist { size: n }]).unwrap())
    }

    #[test]
    fn a_deleted_piece_serves_the_next_of_its_size() {
        release();
        let n = MIN_POOLED; // bytes: 8 * MIN_POOLED
        let array = piece(n);
        let address = array.as_any().downcast_ref::<LocalArray<f64>>().unwrap().as_ptr() as usize;
        recycle(array);
        assert_eq!(pooled_bytes(), n * 8);
        // Another element type, or a size too far off, does not take it.
        let (other_type, smaller, larger) =
            (vec::<i64>(n).unwrap(), vec::<f64>(n / 2).unwrap(), vec::<f64>(n * 2).unwrap());
        for other in [other_type.as_ptr() as usize, smaller.as_ptr() as usize, larger.as_ptr() as usize] {
            assert_ne!(other, address);
        }
        assert_eq!(pooled_bytes(), n * 8);
        let reused = vec::<f64>(n - 1).unwrap();
        assert_eq!(reused.as_ptr() as usize, address);
        assert!(reused.is_empty() && reused.capacity() >= n - 1);
        assert_eq!(pooled_bytes(), 0);
    }

    #[test]
    fn an_engine_lends_its_pool_to_the_running_thread() {
        release();
        let mut engines = Pool::default();
        swap(&mut engines); // the engine's command starts
        recycle(piece(MIN_POOLED));
        assert_eq!(pooled_bytes(), MIN_POOLED * 8);
        swap(&mut engines); // and ends: the buffer went with the engine
        assert_eq!((pooled_bytes(), engines.bytes), (0, MIN_POOLED * 8));
        swap(&mut engines); // another thread runs its next command
        assert_eq!(release(), MIN_POOLED * 8);
        swap(&mut engines);
        assert_eq!(engines.bytes, 0);
    }

    #[test]
    fn small_pieces_are_freed_and_the_pool_is_bounded() {
        release();
        recycle(piece(16));
        assert_eq!(pooled_bytes(), 0);
        let mut pool = Pool::default();
        let buffer = |bytes| Pooled { dtype: DType::F64, bytes, buffer: Box::new(Vec::<f64>::new()) };
        pool.keep(buffer(100), 250);
        pool.keep(buffer(100), 250);
        pool.keep(buffer(100), 250); // drops the oldest
        assert_eq!((pool.bytes, pool.buffers.len()), (200, 2));
        pool.keep(buffer(300), 250); // larger than the cap: freed
        assert_eq!(pool.bytes, 200);
        recycle(piece(MIN_POOLED));
        assert!(release() >= MIN_POOLED * 8);
        assert_eq!(pooled_bytes(), 0);
    }
}
