//! The layout suite shared by the thread tests (`tests/layouts.rs`) and the MPI
//! program (`tests/mpi_layouts.rs`): every map type, 1-D to 3-D, uneven sizes,
//! checked against a brute-force owner computation written here independently
//! of the library's maps.

#![allow(dead_code)] // each test binary uses part of it

use distarray::prelude::*;
use distarray::{Complex, GlobalDimDict};
use ndarray::{ArrayD, IxDyn};

/// Shapes covering 1-D to 3-D, sizes that do not divide evenly and more ranks
/// than elements.
pub const SHAPES: &[&[usize]] = &[&[0], &[1], &[2], &[7], &[10], &[13], &[5, 7], &[1, 9], &[10, 3], &[3, 4, 5], &[2, 3, 7]];

/// Which per-axis rank owns global index `i`, computed from the documented
/// layouts (not from the library's maps). `None` for unstructured axes.
fn brute_owner(dist: Dist, size: usize, grid: usize, i: usize) -> Option<usize> {
    match dist {
        Dist::Block => {
            let chunk = size.div_ceil(grid);
            Some(i / chunk)
        }
        Dist::BlockCyclic { block_size } => Some((i / block_size) % grid),
        Dist::NoDist => Some(0),
        Dist::Unstructured => None,
    }
}

/// An array whose every element is its own C-order linear index.
pub fn index_array(shape: &[usize]) -> ArrayD<i64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n as i64).collect()).expect("shape matches")
}

fn unravel(mut linear: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        idx[a] = linear % shape[a];
        linear /= shape[a];
    }
    idx
}

/// Distributes an index array over `d` and checks everything the foundation
/// promises about it. Returns the number of elements checked.
pub fn check_layout(ctx: &Context, d: &Distribution, explicit_owner: &dyn Fn(usize, usize) -> Option<usize>) -> usize {
    let shape = d.shape().to_vec();
    let global = index_array(&shape);
    let da = ctx.fromarray(&global, Some(d)).expect("fromarray");
    let what = format!("{d}");
    assert_eq!(da.toarray().expect("toarray"), global, "round trip of {what}");

    let pieces = da.get_localarrays().expect("get_localarrays");
    assert_eq!(pieces.len(), d.nprocs(), "{what}");
    assert_eq!(d.get_dim_data_per_rank().len(), d.nprocs());
    let mut seen = vec![0u32; global.len()];
    for (rank, piece) in pieces.iter().enumerate() {
        assert_eq!(piece.local_shape(), d.local_shape(rank).as_slice(), "{what} rank {rank} local shape");
        assert_eq!(piece.dim_data(), d.get_dim_data_per_rank()[rank].as_slice(), "{what} rank {rank} dim data");
        assert_eq!(piece.global_shape(), shape, "{what}");
        let coords = d.coords(rank);
        for &value in piece.iter() {
            let idx = unravel(value as usize, &shape);
            seen[value as usize] += 1;
            // The brute-force owner along each axis must be this rank's coordinate.
            for (axis, ((&i, &c), map)) in idx.iter().zip(&coords).zip(d.maps()).enumerate() {
                let owner = brute_owner(map.dist(), map.size(), map.grid_size(), i).or_else(|| explicit_owner(axis, i));
                if let Some(owner) = owner {
                    assert_eq!(owner, c, "{what}: index {idx:?} found on rank {rank} (coords {coords:?}), axis {axis}");
                }
            }
            assert_eq!(d.owning_ranks(&idx).expect("owning_ranks"), vec![rank], "{what}: owning_ranks({idx:?})");
            assert_eq!(d.owning_targets(&idx).expect("owning_targets"), vec![d.targets()[rank]]);
        }
        // Pieces of block and cyclic axes are stored in ascending global order.
        if d.maps().iter().all(|m| m.dist() != Dist::Unstructured) {
            assert!(piece.iter().zip(piece.iter().skip(1)).all(|(a, b)| a < b), "{what} rank {rank} not ascending");
        }
    }
    assert!(seen.iter().all(|&n| n == 1), "{what}: every element must live on exactly one rank: {seen:?}");
    assert_eq!(d.localshapes().iter().map(|s| s.iter().product::<usize>()).sum::<usize>(), global.len());
    let out_of_range: Vec<usize> = shape.clone();
    assert_eq!(d.owning_ranks(&out_of_range).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);

    // The dim data rebuilds the same distribution.
    let rebuilt = Distribution::from_dim_data_per_rank(ctx, &d.get_dim_data_per_rank(), Some(d.targets())).expect("from_dim_data_per_rank");
    assert!(rebuilt.is_compatible(d), "{what}: dim data round trip gave {rebuilt}");
    global.len()
}

fn no_explicit(_: usize, _: usize) -> Option<usize> {
    None
}

/// Every combination of 'b', 'c', 'n', 'u' and a block-cyclic block size of 2
/// over every shape of [`SHAPES`], on the context's targets. Returns the number
/// of layouts checked.
pub fn check_all_layouts(ctx: &Context) -> usize {
    let choices = [Dist::Block, Dist::CYCLIC, Dist::BlockCyclic { block_size: 2 }, Dist::NoDist, Dist::Unstructured];
    let mut layouts = 0;
    for shape in SHAPES {
        let mut combos: Vec<Vec<Dist>> = vec![vec![]];
        for _ in 0..shape.len() {
            combos = combos.into_iter().flat_map(|c| choices.iter().map(move |&d| [c.clone(), vec![d]].concat())).collect();
        }
        for dists in combos {
            match Distribution::builder(ctx, shape).dists(&dists).build() {
                Ok(d) => {
                    check_layout(ctx, &d, &no_explicit);
                    layouts += 1;
                }
                // Only a grid that cannot be made is an acceptable refusal:
                // every axis 'n' on more than one engine.
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidGridShape, "{shape:?} {dists:?}: {e}");
                    assert!(dists.iter().all(|&d| d == Dist::NoDist) && ctx.num_targets() > 1, "{shape:?} {dists:?}: {e}");
                }
            }
        }
    }
    layouts
}

/// Explicit grid shapes, including a grid that leaves whole axes undivided and
/// targets in a non-sorted order.
pub fn check_explicit_grids(ctx: &Context) -> usize {
    let n = ctx.num_targets();
    let mut checked = 0;
    for grid in [vec![n, 1], vec![1, n]] {
        let d = Distribution::builder(ctx, &[9, 6]).dist("bc").grid_shape(&grid).build().expect("explicit grid");
        assert_eq!(d.grid_shape(), grid.as_slice());
        checked += check_layout(ctx, &d, &no_explicit);
    }
    let reversed: Vec<usize> = ctx.targets().iter().rev().copied().collect();
    let d = Distribution::builder(ctx, &[11]).targets(&reversed).build().expect("reversed targets");
    assert_eq!(d.targets(), reversed.as_slice());
    checked + check_layout(ctx, &d, &no_explicit)
}

/// Unstructured axes with index lists given by the test, so owners are known.
pub fn check_explicit_unstructured(ctx: &Context) -> usize {
    let p = ctx.num_targets();
    let size = 3 * p + 2;
    // Deal indices from the end, backwards: rank r gets size-1-r, size-1-r-p, ...
    let mut lists = vec![Vec::new(); p];
    for k in 0..size {
        lists[k % p].push(size - 1 - k);
    }
    let owner_of = |i: usize| (size - 1 - i) % p;
    let dims = [GlobalDimDict::Unstructured { size, indices: lists.clone() }, GlobalDimDict::NoDist { size: 3 }];
    let d = Distribution::from_global_dim_data(ctx, &dims, None).expect("unstructured distribution");
    assert!(!d.has_precise_index());
    check_layout(ctx, &d, &|axis, i| (axis == 0).then(|| owner_of(i)))
}

fn roundtrip<T: Element>(ctx: &Context, make: impl Fn(usize) -> T) {
    for shape in [&[13][..], &[4, 5], &[2, 3, 3]] {
        let n: usize = shape.iter().product();
        let global = ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(&make).collect()).expect("shape");
        for dist in ["b", "c", "u"] {
            let d = Distribution::builder(ctx, shape).dist(dist).build().expect("distribution");
            let da = ctx.fromarray(&global, Some(&d)).expect("fromarray");
            assert_eq!(da.dtype(), T::DTYPE);
            assert_eq!(da.itemsize(), T::DTYPE.itemsize());
            assert_eq!(da.nbytes(), n * T::DTYPE.itemsize());
            assert_eq!(da.toarray().expect("toarray"), global, "{} {shape:?} {dist}", T::DTYPE);
            let stitched: usize = da.get_ndarrays().expect("get_ndarrays").iter().map(|a| a.len()).sum();
            assert_eq!(stitched, n);
        }
    }
}

/// Every element type survives fromarray -> toarray; zeros, ones and fill give
/// the right values.
pub fn check_all_dtypes(ctx: &Context) {
    roundtrip(ctx, |i| i % 3 == 1);
    roundtrip(ctx, |i| (i as i8).wrapping_mul(37));
    roundtrip(ctx, |i| (i as i16) * -300);
    roundtrip(ctx, |i| (i as i32) * -70_000);
    roundtrip(ctx, |i| (i as i64) << 40);
    roundtrip(ctx, |i| (i as u8).wrapping_mul(51));
    roundtrip(ctx, |i| (i as u16) * 1000);
    roundtrip(ctx, |i| (i as u32) * 100_000);
    roundtrip(ctx, |i| (i as u64) << 50);
    roundtrip(ctx, |i| i as f32 * 0.25 - 1.0);
    roundtrip(ctx, |i| (i as f64).sin());
    roundtrip(ctx, |i| Complex::new(i as f32, -(i as f32)));
    roundtrip(ctx, |i| Complex::new((i as f64).sqrt(), 1.0 / (1.0 + i as f64)));

    let d = Distribution::builder(ctx, &[6, 5]).dist("cb").build().expect("distribution");
    assert!(ctx.zeros::<u16>(&d).and_then(|a| a.toarray()).expect("zeros").iter().all(|&x| x == 0));
    assert!(ctx.empty::<i8>(&d).and_then(|a| a.toarray()).expect("empty").iter().all(|&x| x == 0));
    assert!(ctx.ones::<bool>(&d).and_then(|a| a.toarray()).expect("ones").iter().all(|&x| x));
    let mut c = ctx.ones::<Complex<f64>>(&d).expect("ones");
    c.fill(Complex::new(2.0, -1.0)).expect("fill");
    assert!(c.toarray().expect("toarray").iter().all(|&x| x == Complex::new(2.0, -1.0)));
}

/// Reductions of a distribution keep the remaining maps on the ranks at
/// coordinate 0 of the removed axes.
pub fn check_reduce(ctx: &Context) {
    let d = Distribution::builder(ctx, &[8, 6, 5]).dist("bcn").build().expect("distribution");
    let r = d.reduce(&[1]).expect("reduce");
    assert_eq!(r.shape(), &[8, 5]);
    assert_eq!(r.dist(), vec!['b', 'n']);
    assert_eq!(r.grid_shape(), &[d.grid_shape()[0], 1]);
    let expected: Vec<usize> = (0..d.nprocs()).filter(|&rank| d.coords(rank)[1] == 0).map(|rank| d.targets()[rank]).collect();
    assert_eq!(r.targets(), expected.as_slice());
    let scalar = d.reduce(&[0, 1, 2]).expect("reduce to 0-d");
    assert_eq!(scalar.ndim(), 0);
    assert_eq!(scalar.targets(), &d.targets()[..1]);
    // A 0-d array lives on one engine and round-trips.
    let zero_d = ctx.fromarray(&ndarray::arr0(4.5f64), None).expect("0-d fromarray");
    assert_eq!(zero_d.toarray().expect("0-d toarray"), ndarray::arr0(4.5).into_dyn());
}

/// Runs every check on `ctx`; returns the number of layouts checked.
pub fn check_everything(ctx: &Context) -> usize {
    let layouts = check_all_layouts(ctx);
    check_explicit_grids(ctx);
    check_explicit_unstructured(ctx);
    check_all_dtypes(ctx);
    check_reduce(ctx);
    let left = distarray::cleanup::get_local_keys(ctx, ctx.key_prefix()).expect("get_local_keys");
    assert!(left.is_empty(), "keys left on the engines after dropping every array: {left:?}");
    layouts
}
