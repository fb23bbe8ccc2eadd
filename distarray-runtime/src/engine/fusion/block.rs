//! What a blockwise kernel sees: [`CallArrays`] while it is planned (the arrays
//! of its call, as slots of the group), and a [`Block`] while it runs (its
//! slots' elements in the current block).

use rustc_hash::FxHashMap as HashMap;
use std::any::Any;

use ndarray::{ArrayD, IxDyn};

use crate::core::element::{DType, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::local::{LocalArray, StoredArray};
use crate::engine::pool;
use crate::layout::DimDict;
use crate::protocol::{EngineStats, KernelRequest};

/// One array of a group, by its place in the group's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotId(pub(super) usize);

/// One call of a group, planned: runs its work on the current block.
pub(crate) trait BlockStep: Send {
    /// Does the call's work on elements `[lo, hi)` of its arrays (what
    /// `block` gives), as the unfused kernel would on the whole pieces.
    fn run(&self, block: &mut Block<'_>) -> Result<()>;
}

/// Plans a call of a blockwise kernel: decodes its arguments, names its
/// arrays through `operands`, and returns its step; `None` if it cannot run
/// fused (the engine then runs the kernel as usual, which reports any error).
pub(crate) type PlanFn = fn(args: &[u8], operands: &mut CallArrays<'_>) -> Option<Box<dyn BlockStep>>;

/// The block form of an internal kernel's entry (see `register_blockwise!`).
pub(crate) struct BlockwiseEntry {
    pub name: &'static str,
    pub dtype: DType,
    pub plan: PlanFn,
}

inventory::collect!(BlockwiseEntry);

/// The block form of the kernel `name` of element type `dtype`, if it has one.
pub(crate) fn find_blockwise(name: &str, dtype: Option<DType>) -> Option<PlanFn> {
    static ENTRIES: std::sync::OnceLock<HashMap<(&'static str, DType), PlanFn>> = std::sync::OnceLock::new();
    let entries = ENTRIES
        .get_or_init(|| inventory::iter::<BlockwiseEntry>.into_iter().map(|e| ((e.name, e.dtype), e.plan)).collect());
    // Covariant in the key: looked up with the borrowed name, as the registry does.
    let entries: &HashMap<(&str, DType), PlanFn> = entries;
    entries.get(&(name, dtype?)).copied()
}

/// Registers `$plan::<T>` as the block form of the `InternalKernel` `$kernel`'s
/// entry for every element type `T` (its `register_internal!` twin).
macro_rules! register_blockwise {
    (@entries $kernel:path, $plan:ident; $($t:ty => $d:ident $name:literal,)*) => {$(
        ::inventory::submit! {
            $crate::engine::fusion::BlockwiseEntry {
                name: $kernel.name(),
                dtype: $crate::core::element::DType::$d,
                plan: $plan::<$t>,
            }
        }
    )*};
    ($kernel:path, $plan:ident) => {
        $crate::core::element::for_each_element! { $crate::engine::fusion::register_blockwise { @entries $kernel, $plan; } }
    };
}
pub(crate) use register_blockwise;

/// A result a group makes: a `Vec<O>`, appended block by block.
pub(super) trait Made: Send {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Room for `n` elements, length 0 (a pooled buffer for large `n`);
    /// gives the bytes of `n` elements.
    fn allocate(&mut self, n: usize) -> Result<usize>;
    fn clear(&mut self);
    fn len(&self) -> usize;
    /// The local array of these elements.
    fn into_stored(self: Box<Self>, shape: &[usize], dim_data: Vec<DimDict>) -> Result<Box<dyn StoredArray>>;
}

impl<O: Element> Made for Vec<O> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn allocate(&mut self, n: usize) -> Result<usize> {
        *self = pool::vec(n)?;
        Ok(n.saturating_mul(std::mem::size_of::<O>()))
    }
    fn clear(&mut self) {
        Vec::clear(self);
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn into_stored(self: Box<Self>, shape: &[usize], dim_data: Vec<DimDict>) -> Result<Box<dyn StoredArray>> {
        let data = ArrayD::from_shape_vec(IxDyn(shape), *self).map_err(|e| err!(InvalidShape, "{e}"))?;
        Ok(Box::new(LocalArray::new(data, dim_data)?))
    }
}

/// Where a slot's elements are.
pub(super) enum Buffer {
    /// An array of the store, moved out while the group runs.
    Stored(Box<dyn StoredArray>),
    /// A result of the group.
    Made(Box<dyn Made>),
}

/// One array a group reads or writes.
pub(super) struct Slot {
    pub key: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub dim_data: Vec<DimDict>,
    pub buffer: Buffer,
    /// Deleted by a command queued after the call that uses it.
    pub deleted: bool,
    /// A result deleted within the group: it only ever holds one block.
    pub scratch: bool,
    /// The bytes a result allocated.
    pub made_bytes: usize,
}

impl Slot {
    /// The range of this slot's buffer that holds block `[lo, hi)`.
    fn range(&self, lo: usize, hi: usize) -> (usize, usize) {
        if self.scratch {
            (0, hi - lo)
        } else {
            (lo, hi)
        }
    }

    fn shared<T: Element>(&self, lo: usize, hi: usize) -> Result<&[T]> {
        let (start, end) = self.range(lo, hi);
        let all: &[T] = match &self.buffer {
            Buffer::Stored(array) => array.as_any().downcast_ref::<LocalArray<T>>().and_then(|a| a.as_slice()),
            Buffer::Made(made) => made.as_any().downcast_ref::<Vec<T>>().map(Vec::as_slice),
        }
        .ok_or_else(|| err!(DTypeMismatch, "{:?} holds {}, not {}", self.key, self.dtype, T::DTYPE))?;
        all.get(start..end).ok_or_else(|| err!(Engine, "{:?} has no elements {start}..{end} yet", self.key))
    }

    fn target<O: Element>(&mut self, lo: usize, hi: usize) -> Result<Target<'_, O>> {
        let (start, end) = self.range(lo, hi);
        let mismatch = || err!(DTypeMismatch, "{:?} holds {}, not {}", self.key, self.dtype, O::DTYPE);
        let target = match &mut self.buffer {
            Buffer::Stored(array) => {
                let slice = array.as_any_mut().downcast_mut::<LocalArray<O>>().and_then(|a| a.as_slice_mut());
                slice.ok_or_else(mismatch)?.get_mut(start..end).map(Target::Write)
            }
            Buffer::Made(made) => {
                let values = made.as_any_mut().downcast_mut::<Vec<O>>().ok_or_else(mismatch)?;
                if values.len() == start {
                    Some(Target::Append(values))
                } else {
                    values.get_mut(start..end).map(Target::Write)
                }
            }
        };
        target.ok_or_else(|| err!(Engine, "{:?} has no elements {start}..{end} to write", self.key))
    }
}

/// Where a call writes in the current block.
pub(crate) enum Target<'a, O> {
    /// A result not yet written here: append the block's elements.
    Append(&'a mut Vec<O>),
    /// Elements that exist: overwrite them.
    Write(&'a mut [O]),
}

/// The arrays a group has, as a call is planned into it.
pub(crate) struct CallArrays<'a> {
    pub(super) slots: &'a mut Vec<Slot>,
    pub(super) by_key: &'a mut HashMap<String, usize>,
    pub(super) store: &'a mut HashMap<String, Box<dyn StoredArray>>,
    /// The engine's counters (arrays moved out of the store are counted again
    /// as the group allocates and returns them).
    pub(super) stats: &'a mut EngineStats,
    pub(super) request: &'a KernelRequest,
    /// The group's piece length, once it has a slot.
    pub(super) len: &'a mut Option<usize>,
    /// The next of the request's arrays.
    pub(super) next: usize,
    /// The slots this call writes.
    pub(super) written: Vec<usize>,
    pub(super) read: Vec<usize>,
}

impl CallArrays<'_> {
    /// The slot of the call's next array, of element type `T`: `None` if it
    /// is missing, of another type or length than the group's, or not
    /// contiguous.
    fn next_slot<T: Element>(&mut self) -> Option<usize> {
        let (key, dtype) = self.request.arrays.get(self.next)?;
        self.next += 1;
        if *dtype != T::DTYPE {
            return None;
        }
        if let Some(&slot) = self.by_key.get(key) {
            let s = &self.slots[slot];
            return (!s.deleted && s.dtype == T::DTYPE).then_some(slot);
        }
        let array = self.store.get(key)?;
        let local = array.as_any().downcast_ref::<LocalArray<T>>()?;
        local.as_slice()?;
        let len = local.len();
        if self.len.is_some_and(|n| n != len) {
            return None;
        }
        *self.len = Some(len);
        let shape = local.shape().to_vec();
        let dim_data = local.dim_data().to_vec();
        let array = self.store.remove(key)?;
        self.stats.release(array.nbytes());
        let slot = self.slots.len();
        self.slots.push(Slot {
            key: key.clone(),
            dtype: T::DTYPE,
            shape,
            dim_data,
            buffer: Buffer::Stored(array),
            deleted: false,
            scratch: false,
            made_bytes: 0,
        });
        self.by_key.insert(key.clone(), slot);
        Some(slot)
    }

    /// The call's next array, which it reads.
    pub(crate) fn read<T: Element>(&mut self) -> Option<SlotId> {
        let slot = self.next_slot::<T>()?;
        // A call never writes what it reads (the kernel would get a copy).
        (!self.written.contains(&slot)).then(|| {
            self.read.push(slot);
            SlotId(slot)
        })
    }

    /// The call's next array, which it writes (and may read: in place).
    pub(crate) fn write<O: Element>(&mut self) -> Option<SlotId> {
        let slot = self.next_slot::<O>()?;
        (!self.written.contains(&slot) && !self.read.contains(&slot)).then(|| {
            self.written.push(slot);
            SlotId(slot)
        })
    }

    /// The call's result, a new array of element type `O` shaped like `like`,
    /// stored under the call's result key.
    pub(crate) fn result<O: Element>(&mut self, like: SlotId) -> Option<SlotId> {
        let key = &self.request.result_key;
        if key.is_empty() || self.by_key.contains_key(key) || self.store.contains_key(key) {
            return None;
        }
        let like = &self.slots[like.0];
        let slot = Slot {
            key: key.clone(),
            dtype: O::DTYPE,
            shape: like.shape.clone(),
            dim_data: like.dim_data.clone(),
            buffer: Buffer::Made(Box::new(Vec::<O>::new())),
            deleted: false,
            scratch: false,
            made_bytes: 0,
        };
        let id = self.slots.len();
        self.slots.push(slot);
        self.by_key.insert(key.clone(), id);
        self.written.push(id);
        Some(SlotId(id))
    }

    /// Whether the call takes exactly the arrays named so far.
    pub(crate) fn all_named(&self) -> bool {
        self.next == self.request.arrays.len() && self.request.optional.is_empty()
    }
}

/// The current block of a group's run: elements `[lo, hi)` of every slot.
pub(crate) struct Block<'a> {
    pub(super) slots: &'a mut [Slot],
    pub(super) lo: usize,
    pub(super) hi: usize,
}

impl Block<'_> {
    /// The elements of the `N` slots `reads` in this block, and where `out`'s go.
    ///
    /// # Errors
    /// If a slot holds another element type, or `out` is among `reads`.
    pub(crate) fn arrays<T: Element, O: Element, const N: usize>(
        &mut self,
        reads: [SlotId; N],
        out: SlotId,
    ) -> Result<([&[T]; N], Target<'_, O>)> {
        let (lo, hi) = (self.lo, self.hi);
        let mut shared: [Option<&[T]>; N] = [None; N];
        let mut target = None;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if i == out.0 {
                if reads.contains(&out) {
                    bail!(Engine, "a fused call reads the array it writes");
                }
                target = Some(slot.target::<O>(lo, hi)?);
            } else if reads.iter().any(|r| r.0 == i) {
                let slot: &Slot = slot;
                let elements = slot.shared::<T>(lo, hi)?;
                for (place, _) in shared.iter_mut().zip(&reads).filter(|(_, r)| r.0 == i) {
                    *place = Some(elements);
                }
            }
        }
        let target = target.ok_or_else(|| err!(Engine, "a fused call writes no array"))?;
        let mut missing = false;
        let shared = shared.map(|s| {
            missing |= s.is_none();
            s.unwrap_or(&[])
        });
        if missing {
            bail!(Engine, "a fused call reads an array the group does not have");
        }
        Ok((shared, target))
    }
}
