//! Stencil time loops against hand-written baselines, in one run: the
//! Parallel Research Kernels' star stencil of radius 2 and the 5-point
//! Jacobi (heat) step, S steps on an N x N f64 grid split into row blocks
//! (`"bn"`, a halo of the radius on the rows; the column edges are the
//! fixed boundary). Prints a markdown table.
//!
//! - distarray: one `#[local(undo = false)]` kernel call running S
//!   `apply_stencil` steps between two swapped pieces, timed on the client
//!   (so it includes the call's round trip). The split-phase row runs the
//!   same steps with `begin_exchange_halos`, the rows that need no ghost
//!   cell updated (by the baseline's loop) while the halos travel, then
//!   `HaloExchange::finish` and the rows next to the ghost cells.
//! - Threads (`cargo bench --bench stencil`, the default engines): one
//!   scoped std thread per row block, each with its own two padded buffers;
//!   the halo rows go through shared buffers (double-buffered by step
//!   parity, so one barrier per step suffices) and the update is a plain
//!   loop over row slices into the other buffer.
//! - MPI (`cargo bench --features mpi --bench stencil --no-run`, then
//!   `mpirun -n 3 <executable>`): a `#[local(undo = false)]` kernel on the
//!   engine ranks using raw rsmpi immediate sends and receives of the halo
//!   rows straight into the piece's ghost rows, and the same plain loop;
//!   timed between barriers, slowest rank.
//!
//! - Halo hiding: the split-phase loop is also timed with the exchange
//!   whole (exchange, then every row), as updates alone and as exchanges
//!   alone. Of the time the whole exchange adds to the update, split-phase
//!   hides the share (whole - split) / (whole - update), clamped to 0..1. On
//!   a large grid the exchange adds little; a small one (`STENCIL_N=256
//!   STENCIL_STEPS=1000`) makes it a large share.
//!
//! Ratio = baseline time / distarray time: 1.00 is as fast as the
//! hand-written code, higher is faster. Halo messages per step are counted
//! from the process grid: each split axis of g pieces (not periodic) sends
//! 2 (g - 1) messages per line of pieces along it (2 per piece and split
//! axis, less the missing neighbours of the edge pieces). Every figure is
//! the best of `PERF_REPS` runs (3 unless set), the three variants run in
//! turn in every rep; `STENCIL_N` and
//! `STENCIL_STEPS` change the grid (4096) and S (20); `PERF_QUICK=1` runs
//! a tiny grid (a smoke test of the bench itself, which the test script
//! runs).

use std::ops::Range;
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use distarray::prelude::*;
use distarray::{local, DimDict, Neighbourhood};
use ndarray::Array2;

/// The heat step's coefficient (stable up to 1/4).
const ALPHA: f64 = 0.2;
/// The star stencil's weights `1 / (2 k r)` at distance k = 1, 2 (r = 2).
const W1: f64 = 0.25;
const W2: f64 = 0.125;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

fn radius(star: bool) -> usize {
    if star {
        2
    } else {
        1
    }
}

/// The star stencil's cell, as a distarray stencil.
#[inline(always)]
fn star_cell(n: &Neighbourhood<'_, f64>) -> f64 {
    W1 * (n[[1, 0]] - n[[-1, 0]] + n[[0, 1]] - n[[0, -1]]) + W2 * (n[[2, 0]] - n[[-2, 0]] + n[[0, 2]] - n[[0, -2]])
}

/// The Jacobi step's cell.
#[inline(always)]
fn jacobi_cell(n: &Neighbourhood<'_, f64>) -> f64 {
    n.center() + ALPHA * (n[[-1, 0]] + n[[1, 0]] + n[[0, -1]] + n[[0, 1]] - 4.0 * n.center())
}

/// The hand-written update of buffer rows `rows` of a piece `m` wide, from
/// `src` into `dst`: the same arithmetic as [`star_cell`] and [`jacobi_cell`], over row slices.
fn update_rows(star: bool, src: &[f64], dst: &mut [f64], m: usize, rows: Range<usize>) {
    for i in rows {
        let out = &mut dst[i * m..(i + 1) * m];
        let row = |k: isize| &src[(i as isize + k) as usize * m..][..m];
        if star {
            let (u2, u1, c, d1, d2) = (row(-2), row(-1), row(0), row(1), row(2));
            for j in 2..m - 2 {
                out[j] = W1 * (d1[j] - u1[j] + c[j + 1] - c[j - 1]) + W2 * (d2[j] - u2[j] + c[j + 2] - c[j - 2]);
            }
        } else {
            let (u1, c, d1) = (row(-1), row(0), row(1));
            for j in 1..m - 1 {
                out[j] = c[j] + ALPHA * (u1[j] + d1[j] + c[j - 1] + c[j + 1] - 4.0 * c[j]);
            }
        }
    }
}

/// Where a row block lies in its padded buffer: `lower` ghost rows, then
/// `own` rows; `update` the buffer rows the stencil writes (not the
/// boundary rows of the grid) and `inner` those of them that need no ghost
/// row.
struct Rows {
    lower: usize,
    own: usize,
    upper: usize,
    update: Range<usize>,
    inner: Range<usize>,
}

impl Rows {
    /// Block `start..stop` of `size` rows, ghost rows of width `r` where a
    /// neighbour is.
    fn new(start: usize, stop: usize, size: usize, r: usize) -> Self {
        let lower = if start > 0 { r } else { 0 };
        let upper = if stop < size { r } else { 0 };
        let own = stop - start;
        let first = if start > 0 { lower } else { r };
        let last = if stop < size { lower + own } else { (lower + own).saturating_sub(r) };
        let update = first..last.max(first);
        let inner = update.start.max(lower + r)..update.end.min((lower + own).saturating_sub(r));
        Rows { lower, own, upper, update, inner }
    }

    fn of(piece: &LocalArray<f64>, r: usize) -> Self {
        match piece.dim_data()[0] {
            DimDict::Block { start, stop, size, .. } => Rows::new(start, stop, size, r),
            ref other => panic!("the bench expects row blocks, not {other:?}"),
        }
    }

    /// The update rows next to the ghost rows: before and after `inner`.
    fn edges(&self) -> [Range<usize>; 2] {
        if self.inner.is_empty() {
            return [self.update.clone(), 0..0];
        }
        [self.update.start..self.inner.start, self.inner.end..self.update.end]
    }
}

/// S distarray steps in one call: `apply_stencil`, then swap.
#[local(undo = false)]
fn stencil_steps(u: &mut LocalArray<f64>, tmp: &mut LocalArray<f64>, star: bool, steps: usize, engine: &EngineCtx) {
    // The stencil chosen outside the loop (as the baseline's branch is
    // outside its loop over a row); each its own function item, inlined.
    if star {
        steps_of(u, tmp, 2, steps, engine, star_cell)
    } else {
        steps_of(u, tmp, 1, steps, engine, jacobi_cell)
    }
}

fn steps_of(
    u: &mut LocalArray<f64>,
    tmp: &mut LocalArray<f64>,
    radius: usize,
    steps: usize,
    engine: &EngineCtx,
    f: impl Fn(&Neighbourhood<'_, f64>) -> f64 + Copy,
) {
    for _ in 0..steps {
        u.apply_stencil(tmp, radius, engine.comm(), f).expect("a stencil step");
        std::mem::swap(u, tmp);
    }
}

/// S steps with the exchange split around the update of the rows that need
/// no ghost cell. `tmp` must hold the boundary already (it is not copied).
#[local(undo = false)]
fn split_steps(u: &mut LocalArray<f64>, tmp: &mut LocalArray<f64>, star: bool, steps: usize, engine: &EngineCtx) {
    let r = radius(star);
    let rows = Rows::of(u, r);
    let m = u.shape()[1];
    for _ in 0..steps {
        let exchange = u.begin_exchange_halos(engine.comm()).expect("halo sends");
        update_rows(star, u.as_slice().expect("C order"), tmp.as_slice_mut().expect("C order"), m, rows.inner.clone());
        exchange.finish(u).expect("halo receives");
        for edge in rows.edges() {
            update_rows(star, u.as_slice().expect("C order"), tmp.as_slice_mut().expect("C order"), m, edge);
        }
        std::mem::swap(u, tmp);
    }
}

/// S halo exchanges alone: what the split-phase steps would take if none
/// of the exchange's time were hidden, less the update.
#[local(undo = false)]
fn exchange_steps(u: &mut LocalArray<f64>, steps: usize, engine: &EngineCtx) {
    for _ in 0..steps {
        u.exchange_halos(engine.comm()).expect("a halo exchange");
    }
}

/// S updates of every row (the split-phase loop's update, in one pass),
/// each after a whole exchange when `exchange`: with it, the reference for
/// how much halo time `split_steps` hides; without, the update alone.
#[local(undo = false)]
fn update_steps(
    u: &mut LocalArray<f64>,
    tmp: &mut LocalArray<f64>,
    star: bool,
    steps: usize,
    exchange: bool,
    engine: &EngineCtx,
) {
    let rows = Rows::of(u, radius(star));
    let m = u.shape()[1];
    for _ in 0..steps {
        if exchange {
            u.exchange_halos(engine.comm()).expect("a halo exchange");
        }
        update_rows(star, u.as_slice().expect("C order"), tmp.as_slice_mut().expect("C order"), m, rows.update.clone());
        std::mem::swap(u, tmp);
    }
}

/// The MPI baseline: S steps with raw rsmpi halo exchanges; this rank's
/// seconds per run (nothing on thread engines).
#[local(undo = false)]
fn mpi_steps(
    u: &mut LocalArray<f64>,
    tmp: &mut LocalArray<f64>,
    star: bool,
    steps: usize,
    reps: usize,
    engine: &EngineCtx,
) -> Vec<f64> {
    #[cfg(feature = "mpi")]
    if let Some(raw) = engine.comm().raw_mpi_comm() {
        return mpi_baseline(raw, u, tmp, star, steps, reps);
    }
    let _ = (u, tmp, star, steps, reps, engine);
    Vec::new()
}

#[cfg(feature = "mpi")]
fn mpi_baseline(
    raw: distarray::__mpi::ffi::MPI_Comm,
    u: &mut LocalArray<f64>,
    tmp: &mut LocalArray<f64>,
    star: bool,
    steps: usize,
    reps: usize,
) -> Vec<f64> {
    use distarray::__mpi::ffi;
    use distarray::__mpi::raw::FromRaw;
    use distarray::__mpi::request::{scope, WaitGuard};
    use distarray::__mpi::topology::SimpleCommunicator;
    use distarray::__mpi::traits::*;
    // SAFETY: `raw` is the live communicator of the engines, all of which run
    // this kernel, so the collective `MPI_Comm_dup` is matched; the duplicate
    // is owned (and freed) by the `SimpleCommunicator` built from it.
    let comm = unsafe {
        let mut dup = ffi::RSMPI_COMM_NULL;
        assert_eq!(ffi::MPI_Comm_dup(raw, &mut dup), ffi::MPI_SUCCESS as i32, "MPI_Comm_dup");
        SimpleCommunicator::from_raw(dup)
    };
    let r = radius(star);
    let rows = Rows::of(u, r);
    let m = u.shape()[1];
    // Row block p on rank p (the default targets, in order).
    let (me, size) = (comm.rank(), comm.size());
    assert_eq!(u.grid_coords()[0], me as usize, "row block on its rank");
    let (down, up) = ((me > 0).then(|| me - 1), (me + 1 < size).then_some(me + 1));
    let (mut a, mut b) = (u.as_slice_mut().expect("C order"), tmp.as_slice_mut().expect("C order"));
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        comm.barrier();
        let start = distarray::__mpi::time();
        for _ in 0..steps {
            {
                // [lower ghost rows | own rows | upper ghost rows]
                let (ghost_lo, rest) = a.split_at_mut(rows.lower * m);
                let (own, ghost_hi) = rest.split_at_mut(rows.own * m);
                let own = &*own;
                scope(|sc| {
                    let mut guards = Vec::with_capacity(4);
                    if let Some(down) = down {
                        let p = comm.process_at_rank(down);
                        guards.push(WaitGuard::from(p.immediate_send(sc, &own[..r * m])));
                        guards.push(WaitGuard::from(p.immediate_receive_into(sc, &mut ghost_lo[..])));
                    }
                    if let Some(up) = up {
                        let p = comm.process_at_rank(up);
                        guards.push(WaitGuard::from(p.immediate_send(sc, &own[(rows.own - r) * m..])));
                        guards.push(WaitGuard::from(p.immediate_receive_into(sc, &mut ghost_hi[..rows.upper * m])));
                    }
                });
            }
            update_rows(star, a, b, m, rows.update.clone());
            std::mem::swap(&mut a, &mut b);
        }
        times.push(distarray::__mpi::time() - start);
    }
    comm.barrier();
    if reps % 2 == 1 && steps % 2 == 1 {
        // The latest step is in `tmp`'s buffer: put it back in `u`.
        std::mem::swap(u, tmp);
    }
    times
}

/// A block's first and last own rows, as its neighbours read them.
type EdgeRows = (Vec<f64>, Vec<f64>);

/// The thread baseline: S steps over one scoped thread per row block, from
/// `u0`; seconds (all threads, between barriers) and the final grid.
fn thread_baseline(star: bool, u0: &Array2<f64>, blocks: &[Range<usize>], steps: usize) -> (f64, Array2<f64>) {
    let (n, m) = u0.dim();
    let r = radius(star);
    let p = blocks.len();
    let layout: Vec<Rows> = blocks.iter().map(|b| Rows::new(b.start, b.end, n, r)).collect();
    // Two padded buffers per block, both holding the boundary.
    let mut pieces: Vec<(Vec<f64>, Vec<f64>)> = blocks
        .iter()
        .zip(&layout)
        .map(|(b, l)| {
            let rows = u0.slice(ndarray::s![b.start - l.lower..b.end + l.upper, ..]);
            let v: Vec<f64> = rows.iter().copied().collect();
            (v.clone(), v)
        })
        .collect();
    // outbox[block][parity]: (its first own rows, its last own rows).
    let outbox: Vec<[Mutex<EdgeRows>; 2]> =
        (0..p).map(|_| [0, 1].map(|_| Mutex::new((vec![0.0; r * m], vec![0.0; r * m])))).collect();
    let barrier = Barrier::new(p);
    let elapsed = Mutex::new(0.0);
    std::thread::scope(|s| {
        for (k, ((cur, next), l)) in pieces.iter_mut().zip(&layout).enumerate() {
            let (outbox, barrier, elapsed) = (&outbox, &barrier, &elapsed);
            s.spawn(move || {
                let (mut a, mut b) = (&mut cur[..], &mut next[..]);
                barrier.wait();
                let start = Instant::now();
                for step in 0..steps {
                    let parity = step % 2;
                    {
                        let mut slot = outbox[k][parity].lock().expect("outbox");
                        let (first, last) = &mut *slot;
                        first.copy_from_slice(&a[l.lower * m..(l.lower + r) * m]);
                        last.copy_from_slice(&a[(l.lower + l.own - r) * m..(l.lower + l.own) * m]);
                    }
                    barrier.wait();
                    if k > 0 {
                        a[..r * m].copy_from_slice(&outbox[k - 1][parity].lock().expect("outbox").1);
                    }
                    if k + 1 < p {
                        let at = (l.lower + l.own) * m;
                        a[at..at + r * m].copy_from_slice(&outbox[k + 1][parity].lock().expect("outbox").0);
                    }
                    update_rows(star, a, b, m, l.update.clone());
                    std::mem::swap(&mut a, &mut b);
                }
                barrier.wait();
                if k == 0 {
                    *elapsed.lock().expect("time") = start.elapsed().as_secs_f64();
                }
                if steps % 2 == 1 {
                    std::mem::swap(cur, next);
                }
            });
        }
    });
    let mut out = Array2::zeros((n, m));
    for ((b, l), (cur, _)) in blocks.iter().zip(&layout).zip(&pieces) {
        let own = &cur[l.lower * m..(l.lower + l.own) * m];
        out.slice_mut(ndarray::s![b.clone(), ..])
            .assign(&ndarray::ArrayView2::from_shape((l.own, m), own).expect("a block"));
    }
    let secs = *elapsed.lock().expect("time");
    (secs, out)
}

/// Halo messages per step: 2 (g - 1) per line of pieces along each split
/// axis of g pieces.
fn halo_messages(grid: &[usize]) -> usize {
    let total: usize = grid.iter().product();
    grid.iter().map(|&g| 2 * (g - 1) * (total / g)).sum()
}

fn max_diff(a: &ndarray::ArrayD<f64>, b: &ndarray::ArrayD<f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f64::max)
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let quick = std::env::var_os("PERF_QUICK").is_some();
    let (n, steps) = if quick { (64, 5) } else { (env("STENCIL_N", 4096), env("STENCIL_STEPS", 20)) };
    let reps = if quick { 1 } else { env("PERF_REPS", 3) };
    let mpi = ctx.backend_name() == "mpi";
    let engines = ctx.num_targets();
    let backend = ctx.backend_name();
    eprintln!(
        "{n}x{n} f64, {steps} steps, best of {reps}, {engines} {backend} engines{}",
        if quick { ", quick" } else { "" }
    );
    println!("| case | engines | µs per step | points per second | ratio | halo messages per step |");
    println!("|---|---|---|---|---|---|");
    let u0 = Array2::from_shape_fn((n, n), |(i, j)| ((i * 31 + j * 17) % 101) as f64 * 0.01);
    for star in [true, false] {
        let r = radius(star);
        let name = if star { "star radius 2" } else { "5-point Jacobi" };
        let d = Distribution::builder(&ctx, &[n, n]).dist("bn").halo(&[r]).build()?;
        let messages = halo_messages(d.grid_shape());
        let points = ((n - 2 * r) * (n - 2 * r)) as f64;
        let row = |what: &str, secs: f64, ratio: Option<f64>| {
            let per_step = secs / steps as f64;
            println!(
                "| {name}, {what} | {engines} {backend} | {:.1} | {:.3e} | {} | {messages} |",
                per_step * 1e6,
                points / per_step,
                ratio.map_or("baseline".to_string(), |x| format!("{x:.2}"))
            );
        };
        // Each run starts from u0 (created outside the timing).
        let fresh = || -> Result<(DistArray<f64>, DistArray<f64>)> {
            let arrays = (ctx.fromarray(&u0, Some(&d))?, ctx.fromarray(&u0, Some(&d))?);
            // The engines may still be storing them (pipelined): not timed.
            ctx.sync()?;
            Ok(arrays)
        };
        let blocks: Vec<Range<usize>> = (0..d.nprocs())
            .map(|k| match d.dim_data(k)[0] {
                DimDict::Block { start, stop, .. } => start..stop,
                ref other => panic!("row blocks expected, not {other:?}"),
            })
            .collect();
        // Seconds of `run` on fresh arrays, with the result.
        type Steps<'a> = &'a dyn Fn(&mut DistArray<f64>, &mut DistArray<f64>) -> Result<()>;
        let timed = |run: Steps<'_>| -> Result<(f64, DistArray<f64>)> {
            let (mut u, mut tmp) = fresh()?;
            let start = Instant::now();
            run(&mut u, &mut tmp)?;
            Ok((start.elapsed().as_secs_f64(), u))
        };
        // The variants in turn, rep after rep, so that a change of load on a
        // shared machine meets all of them alike.
        let (mut ours, mut split, mut baseline) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let (mut exchange, mut update, mut whole) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let (mut result, mut theirs) = (None, None);
        for _ in 0..reps {
            let (secs, u) = timed(&|u, tmp| stencil_steps(u, tmp, star, steps))?;
            ours = ours.min(secs);
            result.get_or_insert(u.toarray()?);
            let same = |u: &DistArray<f64>, what: &str| -> Result<()> {
                let diff = max_diff(&u.toarray()?, result.as_ref().expect("set above"));
                assert!(diff < 1e-12, "{name}: {what} differs from apply_stencil by {diff}");
                Ok(())
            };
            let (secs, u) = timed(&|u, tmp| split_steps(u, tmp, star, steps))?;
            split = split.min(secs);
            same(&u, "split-phase")?;
            let (secs, u) = timed(&|u, tmp| update_steps(u, tmp, star, steps, true))?;
            whole = whole.min(secs);
            same(&u, "exchange-then-update")?;
            exchange = exchange.min(timed(&|u, _| exchange_steps(u, steps))?.0);
            update = update.min(timed(&|u, tmp| update_steps(u, tmp, star, steps, false))?.0);
            if mpi {
                // Timed between barriers on the engines, slowest rank.
                let (mut u, mut tmp) = fresh()?;
                let per_rank = mpi_steps(&mut u, &mut tmp, star, steps, 1)?;
                baseline = baseline.min(per_rank.iter().map(|t| t[0]).fold(0.0, f64::max));
                theirs.get_or_insert(u.toarray()?);
            } else {
                let (secs, grid) = thread_baseline(star, &u0, &blocks, steps);
                baseline = baseline.min(secs);
                theirs.get_or_insert(grid.into_dyn());
            }
        }
        let (result, theirs) = (result.expect("at least one run"), theirs.expect("at least one run"));
        let diff = max_diff(&theirs, &result);
        assert!(diff < 1e-12, "{name}: the baseline differs from distarray by {diff}");
        row("distarray `apply_stencil`", ours, Some(baseline / ours));
        row("distarray split-phase", split, Some(baseline / split));
        let hand = if mpi { "hand-written rsmpi" } else { "hand-written threads" };
        row(hand, baseline, None);
        row("halo exchange alone", exchange, None);
        row("update alone", update, None);
        row("the split-phase loop, exchange whole", whole, None);
        // The same loop with the exchange whole and split: of the time the
        // whole exchange adds to the update, the share split-phase saves.
        // Each call's round trip is in all three times alike.
        let added = whole - update;
        println!(
            "| {name}, halo time hidden | {engines} {backend} | the whole exchange adds {:.1} µs per step ({:.0}% of \
             the update); split-phase hides {:.0}% of it | | | |",
            added / steps as f64 * 1e6,
            100.0 * added / update,
            100.0 * ((whole - split) / added).clamp(0.0, 1.0),
        );
    }
    Ok(())
}
