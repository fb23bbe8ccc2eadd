//! The ghost-cell suite shared by `tests/halo.rs` (threads) and
//! `tests/mpi_halo.rs` (mpirun): halo distributions and their dim data,
//! filled ghost cells after `fromarray`, elementwise operations and
//! `exchange_halos` (widths 1 and 2, corners, periodic wrap, untouched
//! boundaries), reductions over own cells only, a Jacobi time loop inside
//! one kernel against a serial ndarray solution, `.dnpy` round trips, and
//! clear errors. Every expected value is computed from the global index
//! alone, independently of the library.

use distarray::prelude::*;
use distarray::{load_dnpy, local, save_dnpy, save_npy, stencil, DimDict, ErrorKind};
use ndarray::{Array2, ArrayD, Dimension, IxDyn};

/// The global array every check starts from: distinct values.
fn global(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| i.slice().iter().fold(0.0, |acc, &k| acc * 100.0 + k as f64 + 1.0))
}

/// The global index that buffer index `i` of a piece's axis holds: the own
/// cells start at `start`, after `lower` ghost cells; a periodic axis wraps.
fn global_of(i: usize, start: usize, lower: usize, size: usize) -> usize {
    (start + size + i - lower) % size
}

/// Checks every cell of every piece, ghost cells included, against `want`
/// at the global index it holds.
fn check_pieces(a: &DistArray<f64>, want: &ArrayD<f64>, what: &str) -> Result<()> {
    for (rank, piece) in a.get_localarrays()?.iter().enumerate() {
        let widths = piece.ghost_widths();
        let starts: Vec<usize> = piece
            .dim_data()
            .iter()
            .map(|d| match d {
                DimDict::Block { start, .. } => *start,
                _ => 0,
            })
            .collect();
        for (local, &v) in piece.indexed_iter() {
            let g: Vec<usize> =
                (0..want.ndim()).map(|ax| global_of(local[ax], starts[ax], widths[ax].0, want.shape()[ax])).collect();
            assert_eq!(v, want[IxDyn(&g)], "{what}: rank {rank}, local {:?}, global {g:?}", local.slice());
        }
    }
    Ok(())
}

/// Sets every own cell to `10000 + its global value`, leaving ghost cells
/// stale: the exchange must bring the neighbours' new values.
#[local]
pub fn bump_own(a: &mut LocalArray<f64>) {
    a.interior_mut().mapv_inplace(|x| x + 10000.0);
}

/// The ghost widths of each piece.
#[local]
pub fn widths_of(a: &LocalArray<f64>) -> Vec<(usize, usize)> {
    a.ghost_widths()
}

/// `steps` Jacobi steps of the 5-point heat stencil inside one kernel call:
/// exchange, then the update of every cell with four neighbours in the
/// global grid (the outer cells are the fixed boundary).
#[local]
pub fn jacobi_steps(u: &mut LocalArray<f64>, steps: usize, alpha: f64, engine: &EngineCtx) {
    let dims = u.dim_data().to_vec();
    let shape = u.shape().to_vec();
    // The buffer cells to update: those whose global index is inside the
    // boundary.
    let inner: Vec<std::ops::Range<usize>> = (0..2)
        .map(|ax| {
            let (lower, _) = u.ghost_widths()[ax];
            let (start, size) = match dims[ax] {
                DimDict::Block { start, size, .. } => (start, size),
                _ => (0, shape[ax]),
            };
            let own = lower..shape[ax] - u.ghost_widths()[ax].1;
            let first = if start == 0 { own.start + 1 } else { own.start };
            let last = if start + own.len() == size { own.end - 1 } else { own.end };
            first..last.max(first)
        })
        .collect();
    let mut next = u.ndarray().clone();
    for _ in 0..steps {
        u.exchange_halos(engine.comm()).expect("halo exchange");
        for i in inner[0].clone() {
            for j in inner[1].clone() {
                let c = u[[i, j].as_slice()];
                let lap = u[[i - 1, j].as_slice()]
                    + u[[i + 1, j].as_slice()]
                    + u[[i, j - 1].as_slice()]
                    + u[[i, j + 1].as_slice()]
                    - 4.0 * c;
                next[[i, j].as_slice()] = c + alpha * lap;
            }
        }
        std::mem::swap(u.ndarray_mut(), &mut next);
    }
}

/// The serial reference: the same steps on the whole grid.
fn jacobi_serial(u0: &Array2<f64>, steps: usize, alpha: f64) -> Array2<f64> {
    let (n, m) = u0.dim();
    let mut u = u0.clone();
    let mut next = u.clone();
    for _ in 0..steps {
        for i in 1..n - 1 {
            for j in 1..m - 1 {
                let lap = u[[i - 1, j]] + u[[i + 1, j]] + u[[i, j - 1]] + u[[i, j + 1]] - 4.0 * u[[i, j]];
                next[[i, j]] = u[[i, j]] + alpha * lap;
            }
        }
        std::mem::swap(&mut u, &mut next);
    }
    u
}

/// One explicit heat step: the 5-point update of every cell inside the
/// boundary, as a stencil.
#[stencil(radius = 1)]
pub fn heat_step(u: &Neighbourhood<f64>, alpha: f64) -> f64 {
    u.center() + alpha * (u[[-1, 0]] + u[[1, 0]] + u[[0, -1]] + u[[0, 1]] - 4.0 * u.center())
}

/// The Parallel Research Kernels' star stencil of radius 2 (weights
/// `1 / (2 k r)` at distance `k` along each axis, signed by side).
#[stencil(radius = 2)]
pub fn star2(u: &Neighbourhood<f64>) -> f64 {
    let mut s = 0.0;
    for k in 1..=2isize {
        let w = 1.0 / (2.0 * k as f64 * 2.0);
        s += w * (u[[k, 0]] - u[[-k, 0]] + u[[0, k]] - u[[0, -k]]);
    }
    s
}

/// The same heat step inside a kernel's loop: `steps` passes in one call.
#[local(undo = false)]
pub fn heat_steps(u: &mut LocalArray<f64>, tmp: &mut LocalArray<f64>, steps: usize, alpha: f64, engine: &EngineCtx) {
    for _ in 0..steps {
        u.apply_stencil(tmp, 1, engine.comm(), |n| heat_step::point(n, alpha)).expect("a stencil pass");
        std::mem::swap(u, tmp);
    }
}

/// The star stencil on the whole grid; the boundary (2 cells) copied.
fn star2_serial(u: &Array2<f64>) -> Array2<f64> {
    let (n, m) = u.dim();
    let mut out = u.clone();
    for i in 2..n - 2 {
        for j in 2..m - 2 {
            let mut s = 0.0;
            for k in 1..=2usize {
                let w = 1.0 / (2.0 * k as f64 * 2.0);
                s += w * (u[[i + k, j]] - u[[i - k, j]] + u[[i, j + k]] - u[[i, j - k]]);
            }
            out[[i, j]] = s;
        }
    }
    out
}

/// Stencil passes (5-point heat and the radius-2 star) against the serial
/// ndarray solutions, on 2-D grids of pieces; a halo narrower than the
/// radius is an error.
pub fn check_stencils(ctx: &Context) -> Result<()> {
    let (rows, cols) = (4 * ctx.num_targets() + 5, 13);
    let u0 = Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 31 + j * 17) % 11) as f64);
    for dist in ["bb", "bn"] {
        // Halos on the distributed axes.
        let axes = dist.matches('b').count();
        let d1 = Distribution::builder(ctx, &[rows, cols]).dist(dist).halo(&[1, 1][..axes]).build()?;
        let mut u = ctx.fromarray(&u0, Some(&d1))?;
        let mut out = ctx.zeros::<f64>(&d1)?;
        for _ in 0..20 {
            heat_step(&mut u, &mut out, 0.15)?;
            std::mem::swap(&mut u, &mut out);
        }
        let want = jacobi_serial(&u0, 20, 0.15);
        for (g, w) in u.toarray()?.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "heat {dist}: {g} vs {w}");
        }
        // The same 20 steps in one kernel call.
        let mut u = ctx.fromarray(&u0, Some(&d1))?;
        heat_steps(&mut u, &mut out, 20, 0.15)?;
        for (g, w) in u.toarray()?.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "heat loop {dist}: {g} vs {w}");
        }
        let d2 = Distribution::builder(ctx, &[rows, cols]).dist(dist).halo(&[2, 2][..axes]).build()?;
        let mut u = ctx.fromarray(&u0, Some(&d2))?;
        let mut out = ctx.zeros::<f64>(&d2)?;
        star2(&mut u, &mut out)?;
        let want = star2_serial(&u0);
        for (g, w) in out.toarray()?.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "star {dist}: {g} vs {w}");
        }
        // Radius 2 over a halo of 1: refused, when a piece has a neighbour.
        if d1.has_ghosts() {
            let mut u = ctx.fromarray(&u0, Some(&d1))?;
            let mut out = ctx.zeros::<f64>(&d1)?;
            let e = star2(&mut u, &mut out).unwrap_err();
            assert!(e.to_string().contains("halo of at least 2"), "{dist}: {e}");
            assert_eq!(u.toarray()?, u0.clone().into_dyn());
        }
    }
    Ok(())
}

/// Distributions, dim data and shapes with halos; fromarray fills ghost
/// cells; toarray, sum, elementwise operations and the exchange.
pub fn check_halos(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    for (shape, dist, halo, periodic) in [
        (vec![4 * n + 3], "b", vec![1], vec![false]),
        (vec![4 * n + 3], "b", vec![2], vec![true]),
        (vec![3 * n + 2, 7], "bb", vec![1, 1], vec![true, false]),
        (vec![2 * n + 4, 9], "bn", vec![2], vec![false]),
        (vec![6, 4 * n], "bb", vec![1, 2], vec![false, true]),
    ] {
        let what = format!("{shape:?} {dist} halo {halo:?} periodic {periodic:?}");
        let d = Distribution::builder(ctx, &shape).dist(dist).halo(&halo).periodic(&periodic).build()?;
        let mut want_halo = halo.clone();
        want_halo.resize(shape.len(), 0);
        assert_eq!(d.halo(), want_halo, "{what}");
        for rank in 0..d.nprocs() {
            for (ax, dd) in d.dim_data(rank).iter().enumerate() {
                if let DimDict::Block { padding, periodic: p, proc_grid_rank, proc_grid_size, start, stop, .. } = dd {
                    assert_eq!(*padding, (want_halo[ax], want_halo[ax]), "{what}: the protocol's padding");
                    assert_eq!(*p, periodic.get(ax).copied().unwrap_or(false), "{what}");
                    // The buffer: own cells plus a ghost side wherever there is a neighbour.
                    let lower = if *proc_grid_rank > 0 || *p { padding.0 } else { 0 };
                    let upper = if proc_grid_rank + 1 < *proc_grid_size || *p { padding.1 } else { 0 };
                    assert_eq!(d.local_shape(rank)[ax], stop - start + lower + upper, "{what}: rank {rank} axis {ax}");
                }
            }
        }
        let data = global(&shape);
        let mut a = ctx.fromarray(&data, Some(&d))?;
        assert_eq!(a.toarray()?, data, "{what}: toarray gives own cells only");
        check_pieces(&a, &data, &format!("{what}, after fromarray"))?;
        assert_eq!(a.sum()?, data.sum(), "{what}: sum over own cells");
        assert_eq!(a.max()?, data.iter().copied().fold(f64::MIN, f64::max), "{what}");
        // Elementwise results keep their halos filled.
        let b = &(&a * 2.0) + 1.0;
        check_pieces(&b, &data.mapv(|x| 2.0 * x + 1.0), &format!("{what}, after an elementwise op"))?;
        // Own cells changed in a kernel: stale ghosts until the exchange.
        bump_own(&mut a)?;
        let bumped = data.mapv(|x| x + 10000.0);
        assert_eq!(a.toarray()?, bumped, "{what}");
        a.exchange_halos()?;
        check_pieces(&a, &bumped, &format!("{what}, after exchange_halos"))?;
        // A clone keeps ghost cells; zeros and ones fill them.
        check_pieces(&a.clone(), &bumped, &format!("{what}, a clone"))?;
        check_pieces(&ctx.ones::<f64>(&d)?, &ArrayD::from_elem(IxDyn(&shape), 1.0), &what)?;
        let widths = widths_of(&a)?;
        assert_eq!(widths.len(), d.nprocs(), "{what}");
        // get/set address own cells.
        let last: Vec<isize> = shape.iter().map(|&s| s as isize - 1).collect();
        a.set(&last, -5.0)?;
        assert_eq!(a.get(&last)?, -5.0, "{what}");
    }
    Ok(())
}

/// The heat equation in one kernel call against the serial solution, for
/// halo width 1 on a 2-D grid of pieces.
pub fn check_jacobi(ctx: &Context) -> Result<()> {
    let (rows, cols) = (5 * ctx.num_targets() + 3, 11);
    let u0 =
        Array2::from_shape_fn((rows, cols), |(i, j)| if i == 0 || j == cols - 1 { 100.0 } else { (i * j % 7) as f64 });
    for dist in ["bb", "bn"] {
        let halo: &[usize] = if dist == "bb" { &[1, 1] } else { &[1] };
        let d = Distribution::builder(ctx, &[rows, cols]).dist(dist).halo(halo).build()?;
        let mut u = ctx.fromarray(&u0, Some(&d))?;
        jacobi_steps(&mut u, 25, 0.2)?;
        let want = jacobi_serial(&u0, 25, 0.2);
        let got = u.toarray()?;
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{dist}: {g} vs {w}");
        }
    }
    Ok(())
}

/// `.dnpy` files carry the padding as the protocol says and load back as
/// the same halo distribution.
pub fn check_dnpy(ctx: &Context, dir: &std::path::Path) -> Result<()> {
    let shape = [3 * ctx.num_targets() + 1, 5];
    let d = Distribution::builder(ctx, &shape).dist("bn").halo(&[1]).periodic(&[true]).build()?;
    let data = global(&shape);
    let a = ctx.fromarray(&data, Some(&d))?;
    let base = dir.join(format!("halo_{}", ctx.num_targets()));
    let base = base.to_string_lossy().to_string();
    save_dnpy(base.as_str(), &a)?;
    let header = std::fs::read(format!("{base}_0.dnpy")).expect("the rank-0 file");
    let text = String::from_utf8_lossy(&header[10..]);
    assert!(text.contains("'padding': (1, 1)"), "{text}");
    assert!(text.contains("'periodic': True"), "{text}");
    let b: DistArray<f64> = load_dnpy(ctx, base.as_str())?;
    assert_eq!(b.distribution().halo(), vec![1, 0]);
    assert_eq!(b.distribution().periodic(), vec![true, false]);
    assert_eq!(b.toarray()?, data);
    check_pieces(&b, &data, "loaded from .dnpy")
}

/// Clear errors: bad halos at build time, unsupported operations on arrays
/// with ghost cells (which stay unchanged).
pub fn check_halo_errors(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    let kind = |r: Result<Distribution>| r.map(drop).unwrap_err().kind();
    let b = |shape: &[usize]| Distribution::builder(ctx, shape);
    // A halo wider than a piece (n pieces of 2).
    let e = b(&[2 * n]).halo(&[3]).build().map(drop).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidDist);
    assert!(e.to_string().contains("wider than the piece"), "{e}");
    assert_eq!(kind(b(&[8 * n]).dist("c").halo(&[1]).build()), ErrorKind::InvalidDist);
    assert_eq!(kind(b(&[8 * n, 4]).dist("bn").halo(&[1, 1]).build()), ErrorKind::InvalidDist);
    assert_eq!(kind(b(&[8 * n, 4]).dist("bn").periodic(&[false, true]).build()), ErrorKind::InvalidDist);
    assert_eq!(kind(b(&[8 * n]).halo(&[1, 1]).build()), ErrorKind::InvalidDist);
    let e = b(&[8 * n]).dist("c").halo(&[1]).build().map(drop).unwrap_err();
    assert!(e.to_string().contains("axis 0"), "{e}");

    // Periodic, so that one piece has ghost cells too.
    let d = b(&[4 * n, 3]).dist("bn").halo(&[1]).periodic(&[true]).build()?;
    assert!(d.has_ghosts());
    let data = global(&[4 * n, 3]);
    let mut a = ctx.fromarray(&data, Some(&d))?;
    let plain = Distribution::builder(ctx, &[4 * n, 3]).dist("bn").build()?;
    let unsupported = |r: Result<()>| assert_eq!(r.unwrap_err().kind(), ErrorKind::Unsupported);
    unsupported(a.slice(ndarray::s![1.., ..]).map(drop));
    unsupported(a.fill_slice(ndarray::s![1.., ..], 0.0));
    unsupported(a.redistribute(&plain).map(drop));
    unsupported(a.sum_axis(&[0]).map(drop));
    unsupported(save_npy("never-written.npy", &a));
    assert_eq!(a.toarray()?, data, "unchanged after the refused operations");
    // Different halos are different distributions: an elementwise op aligns
    // through a redistribution, which is refused.
    let other = ctx.fromarray(&data, Some(&plain))?;
    assert!(!d.is_compatible(&plain));
    assert_eq!(distarray::functions::add(&a, &other).map(drop).unwrap_err().kind(), ErrorKind::Unsupported);
    // Nothing to exchange without ghost cells.
    let mut flat = ctx.fromarray(&data, Some(&plain))?;
    flat.exchange_halos()?;
    assert_eq!(flat.toarray()?, data);
    Ok(())
}

/// Doubles the own cells of `u` into `out` (no ghost cell needed) and
/// returns the sum of `u`'s own cells over every engine: a collective, run
/// while a split exchange of `u` is in flight.
#[local]
pub fn double_and_total(u: &LocalArray<f64>, out: &mut LocalArray<f64>, engine: &EngineCtx) -> f64 {
    out.interior_mut().zip_mut_with(&u.interior(), |o, &x| *o = 2.0 * x);
    let mine: f64 = u.interior().sum();
    engine.comm().all_reduce(mine, |a, b| a + b).expect("an all-reduce")
}

/// Fails on the last engine (the others wait in a collective): a call that
/// resets the engines' communicator.
#[local]
pub fn fail_on_last(_u: &LocalArray<f64>, engine: &EngineCtx) -> distarray::Result<f64> {
    if engine.rank() + 1 == engine.size() {
        return Err(distarray::Error::new(ErrorKind::InvalidArgument, "the last engine gives up"));
    }
    engine.comm().all_reduce(1.0, |a, b| a + b)
}

/// The split exchange, `begin_halo_exchange` then `finish`, with a kernel
/// (its own collective) and another array's exchanges, whole and split, in
/// between: every ghost cell against its global index, for 2-D and 3-D
/// grids, widths 1 and 2, periodic and not. Dropped unfinished it still
/// fills the ghost cells; a second exchange of one array in flight, a
/// failed call in between and a closed context are clear errors.
pub fn check_split_exchange(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    for (shape, dist, halo, periodic) in [
        (vec![3 * n + 2, 7], "bb", vec![1, 1], vec![true, false]),
        (vec![2 * n + 5, 9], "bb", vec![2, 2], vec![false, true]),
        (vec![4 * n + 3], "b", vec![2], vec![true]),
        (vec![n + 5, 6, 5], "bbb", vec![1, 1, 1], vec![true, true, true]),
        (vec![2 * n + 4, 6, 7], "bbn", vec![2, 1], vec![false, true]),
        (vec![2 * n + 4, 5, 8], "bbb", vec![2, 2, 2], vec![false, false, false]),
    ] {
        let what = format!("split: {shape:?} {dist} halo {halo:?} periodic {periodic:?}");
        let d = Distribution::builder(ctx, &shape).dist(dist).halo(&halo).periodic(&periodic).build()?;
        let data = global(&shape);
        let bumped = data.mapv(|x| x + 10000.0);
        let twice = bumped.mapv(|x| x + 10000.0);
        let mut a = ctx.fromarray(&data, Some(&d))?;
        let mut b = ctx.fromarray(&data, Some(&d))?;
        let mut out = ctx.zeros::<f64>(&d)?;
        bump_own(&mut a)?;
        bump_own(&mut b)?;
        bump_own(&mut b)?;
        let exchange = a.begin_halo_exchange()?;
        // In flight: a kernel over `a` with a collective, then `b`'s
        // exchanges, whole and split.
        let total = double_and_total(&a, &mut out)?;
        assert!(total.iter().all(|&t| (t - bumped.sum()).abs() < 1e-6 * bumped.sum()), "{what}: {total:?}");
        b.exchange_halos()?;
        let inner = b.begin_halo_exchange()?;
        inner.finish()?;
        exchange.finish()?;
        check_pieces(&a, &bumped, &what)?;
        check_pieces(&b, &twice, &format!("{what}, another array in between"))?;
        assert_eq!(out.toarray()?, bumped.mapv(|x| 2.0 * x), "{what}: the kernel in between");
        // Two in flight, finished in the other order than begun.
        bump_own(&mut a)?;
        bump_own(&mut b)?;
        let (first, second) = (a.begin_halo_exchange()?, b.begin_halo_exchange()?);
        second.finish()?;
        first.finish()?;
        check_pieces(&a, &twice, &format!("{what}, two in flight"))?;
        check_pieces(&b, &twice.mapv(|x| x + 10000.0), &format!("{what}, two in flight"))?;
        // Dropped unfinished: still done on the engines.
        bump_own(&mut a)?;
        drop(a.begin_halo_exchange()?);
        check_pieces(&a, &twice.mapv(|x| x + 10000.0), &format!("{what}, dropped"))?;
    }

    let d = Distribution::builder(ctx, &[3 * n + 2, 5]).dist("bb").halo(&[1, 1]).periodic(&[true, true]).build()?;
    let data = global(&[3 * n + 2, 5]);
    let a = ctx.fromarray(&data, Some(&d))?;
    // One exchange of an array at a time.
    let exchange = a.begin_halo_exchange()?;
    let e = a.begin_halo_exchange().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("already in flight"), "{e}");
    exchange.finish()?;
    check_pieces(&a, &data, "split: after a refused second exchange")?;
    // A failed call in between resets the communicator: the exchange is
    // gone, and says so; the next one works.
    let exchange = a.begin_halo_exchange()?;
    assert!(fail_on_last(&a).is_err());
    let e = exchange.finish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyNotFound, "{e}");
    assert!(e.to_string().contains("no halo exchange"), "{e}");
    a.begin_halo_exchange()?.finish()?;
    check_pieces(&a, &data, "split: after a failed call in between")?;
    // Without ghost cells: nothing to do.
    let plain = ctx.fromarray(&data, None)?;
    plain.begin_halo_exchange()?.finish()?;
    // The array's pieces deleted while in flight (a cleanup of the
    // context), then the context closed: clear errors, no hang.
    let other = Context::with_targets(ctx.targets())?;
    let od =
        Distribution::builder(&other, &[3 * n + 2, 5]).dist("bb").halo(&[1, 1]).periodic(&[true, false]).build()?;
    let b = other.fromarray(&data, Some(&od))?;
    let exchange = b.begin_halo_exchange()?;
    other.cleanup()?;
    let e = exchange.finish().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyNotFound, "{e}");
    let c = other.fromarray(&data, Some(&od))?;
    let pending = c.begin_halo_exchange()?;
    other.close()?;
    assert_eq!(pending.finish().unwrap_err().kind(), ErrorKind::ContextClosed);
    Ok(())
}
