//! No allocation per time step in steady state, shared by
//! `tests/halo_allocations.rs` (threads) and `tests/mpi_halo.rs` (mpirun):
//! time loops inside one kernel call (stencil passes, exchanges followed by
//! a pass by hand, split exchanges), each engine counting the allocations
//! of its own thread (an MPI engine: its rank's command loop), step by step,
//! with a counting global allocator. Steps 10 to 20 must allocate nothing:
//! the halo messages' buffers are reused (the communicator keeps those it
//! received, or whose send completed, for its next messages), the thread
//! mailboxes have grown to their depth, and the stencil pass plans on the
//! stack. Allocations inside the MPI library (C) are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use distarray::prelude::*;
use distarray::{local, stencil};
use ndarray::{ArrayD, Dimension, IxDyn};

/// The system allocator, counting each thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call goes to the system allocator unchanged; the count is a
// thread-local cell without destructor (no allocation of its own).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// The PRK star of radius 2.
#[stencil(radius = 2)]
fn star2(u: &Neighbourhood<f64>) -> f64 {
    let mut s = 0.0;
    for k in 1..=2isize {
        let w = 1.0 / (2.0 * k as f64 * 2.0);
        s += w * (u[[k, 0]] - u[[-k, 0]] + u[[0, k]] - u[[0, -k]]);
    }
    s
}

/// A pass by hand over the padded pieces: `tmp = u / 2`.
fn halve_into(u: &LocalArray<f64>, tmp: &mut LocalArray<f64>) {
    let (Some(from), Some(to)) = (u.as_slice(), tmp.as_slice_mut()) else { return };
    to.iter_mut().zip(from).for_each(|(t, &x)| *t = 0.5 * x);
}

/// How each step of [`time_loop`] runs.
const STENCIL: u8 = 0;
const EXCHANGE_THEN_PASS: u8 = 1;
const SPLIT: u8 = 2;

/// `steps` time steps of `how` with a stencil of `radius` (1: the 5-point
/// heat step, 2: the star); the allocations of this engine's thread in each.
#[local(undo = false)]
fn time_loop(
    u: &mut LocalArray<f64>,
    tmp: &mut LocalArray<f64>,
    radius: usize,
    how: u8,
    steps: usize,
    engine: &EngineCtx,
) -> distarray::Result<Vec<usize>> {
    let comm = engine.comm();
    let mut counts = Vec::with_capacity(steps);
    for _ in 0..steps {
        let before = allocations();
        match (how, radius) {
            (STENCIL, 1) => u.apply_stencil(tmp, 1, comm, |n| n.center() + 0.1 * (n[[-1, 0]] + n[[0, 1]]))?,
            (STENCIL, _) => u.apply_stencil(tmp, 2, comm, star2::point)?,
            (EXCHANGE_THEN_PASS, _) => {
                u.exchange_halos(comm)?;
                halve_into(u, tmp);
            }
            _ => {
                let exchange = u.begin_exchange_halos(comm)?;
                halve_into(u, tmp);
                exchange.finish(u)?;
            }
        }
        std::mem::swap(u, tmp);
        counts.push(allocations() - before);
    }
    Ok(counts)
}

/// Every loop of [`time_loop`] on `ctx`, for 2-D and 3-D grids, widths 1
/// and 2, periodic and not: no allocation in steps 10 to 20 on any engine.
/// `fresh`: `ctx`'s engines have not exchanged halos yet, so the first
/// steps must allocate (the count works).
pub fn check_no_allocation_per_step(ctx: &Context, mut fresh: bool) -> Result<()> {
    {
        let targets = ctx.targets();
        for (shape, dist, halo, periodic) in [
            (vec![64, 48], "bb", vec![1, 1], vec![false, false]),
            (vec![64, 48], "bb", vec![2, 2], vec![true, false]),
            (vec![96, 40], "bn", vec![2], vec![true]),
            (vec![16, 12, 10], "bbb", vec![2, 2, 2], vec![true, true, true]),
        ] {
            let d = Distribution::builder(ctx, &shape).dist(dist).halo(&halo).periodic(&periodic).build()?;
            let data = ArrayD::from_shape_fn(IxDyn(&shape), |i| (i.slice().iter().sum::<usize>() % 7) as f64);
            for how in [STENCIL, EXCHANGE_THEN_PASS, SPLIT] {
                for radius in [1, halo[0]] {
                    if how == STENCIL && shape.len() != 2 {
                        continue;
                    }
                    let mut u = ctx.fromarray(&data, Some(&d))?;
                    let mut tmp = ctx.zeros::<f64>(&d)?;
                    let per_engine = time_loop(&mut u, &mut tmp, radius, how, 20)?;
                    let first = std::mem::take(&mut fresh) && ctx.num_targets() > 1;
                    for (rank, counts) in per_engine.iter().enumerate() {
                        // The count works: the first steps on new engines
                        // make the buffers (later calls reuse them).
                        if first {
                            assert!(counts[..10].iter().sum::<usize>() > 0, "rank {rank}: {counts:?}");
                        }
                        assert_eq!(
                            counts[10..20],
                            [0; 10],
                            "{targets:?} {shape:?} {dist} halo {halo:?} how {how} radius {radius}: rank {rank} \
                             allocated in steady state: {counts:?}"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
