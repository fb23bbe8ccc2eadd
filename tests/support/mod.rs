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
pub const SHAPES: &[&[usize]] =
    &[&[0], &[1], &[2], &[7], &[10], &[13], &[5, 7], &[1, 9], &[10, 3], &[3, 4, 5], &[2, 3, 7]];

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
    let rebuilt = Distribution::from_dim_data_per_rank(ctx, &d.get_dim_data_per_rank(), Some(d.targets()))
        .expect("from_dim_data_per_rank");
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
            combos =
                combos.into_iter().flat_map(|c| choices.iter().map(move |&d| [c.clone(), vec![d]].concat())).collect();
        }
        for dists in combos {
            match Distribution::builder(ctx, shape).dists(&dists).build() {
                Ok(d) => {
                    // Block and 'n' layouts leave no engine an empty piece (DistArray).
                    if dists.iter().all(|&x| matches!(x, Dist::Block | Dist::NoDist)) && !shape.contains(&0) {
                        assert!(
                            d.localshapes().iter().all(|s| !s.contains(&0)),
                            "{d}: empty pieces {:?}",
                            d.localshapes()
                        );
                    }
                    // One distributed axis: min(engines, size) processes at most.
                    let distributed: Vec<usize> = (0..shape.len()).filter(|&a| dists[a] != Dist::NoDist).collect();
                    if let [axis] = distributed[..] {
                        assert!(d.nprocs() <= ctx.num_targets().min(shape[axis].max(1)), "{d}");
                    }
                    // The engines holding pieces, in the context's order.
                    let positions: Vec<usize> = d
                        .targets()
                        .iter()
                        .map(|t| ctx.targets().iter().position(|c| c == t).expect("a context target"))
                        .collect();
                    assert!(
                        positions.windows(2).all(|w| w[0] < w[1]) && positions[0] == 0,
                        "{d}: targets out of order"
                    );
                    check_layout(ctx, &d, &no_explicit);
                    layouts += 1;
                }
                // Every layout can be made, also every axis 'n' (on the first engine).
                Err(e) => panic!("{shape:?} {dists:?}: {e}"),
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
    let expected: Vec<usize> =
        (0..d.nprocs()).filter(|&rank| d.coords(rank)[1] == 0).map(|rank| d.targets()[rank]).collect();
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
    let layouts = check_all_layouts(ctx) + check_fewer_targets(ctx);
    check_explicit_grids(ctx);
    check_explicit_unstructured(ctx);
    check_all_dtypes(ctx);
    check_reduce(ctx);
    let left = distarray::cleanup::get_local_keys(ctx, ctx.key_prefix()).expect("get_local_keys");
    assert!(left.is_empty(), "keys left on the engines after dropping every array: {left:?}");
    layouts
}

// ---------------------------------------------------------------------------
// Arrays on fewer engines than their context (issue 13, items 14 and 15)

/// One case of [`fewer_targets_cases`]: the expected grid shape, targets (as
/// indices into the context's targets) and local shapes, or the error kind.
pub struct Case {
    pub shape: &'static [usize],
    pub dist: &'static str,
    pub grid: Option<&'static [usize]>,
    #[allow(clippy::type_complexity)]
    pub expect: std::result::Result<(&'static [usize], &'static [usize], &'static [&'static [usize]]), ErrorKind>,
}

/// What Python DistArray's `Distribution(context, shape, dist, grid_shape)`
/// gives on a context of `n` engines (printed by DistArray's own
/// `globalapi/maps.py`), for the default and explicit grids; the cases marked
/// are where DistArray raises and the grid is cut to the axis length here.
/// Empty for other engine counts.
#[rustfmt::skip]
pub fn fewer_targets_cases(n: usize) -> Vec<Case> {
    match n {
        1 => vec![
            Case { shape: &[3], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[7, 5], dist: "nb", grid: None, expect: Ok((&[1, 1], &[0], &[&[7, 5]])) },
            Case { shape: &[5], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[5]])) },
            Case { shape: &[6], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[6]])) },
            Case { shape: &[2], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[2]])) },
            Case { shape: &[1], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[1]])) },
            Case { shape: &[3], dist: "c", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[5], dist: "c", grid: None, expect: Ok((&[1], &[0], &[&[5]])) },
            Case { shape: &[3], dist: "n", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[5, 5], dist: "nn", grid: None, expect: Ok((&[1, 1], &[0], &[&[5, 5]])) },
            Case { shape: &[5, 9], dist: "bb", grid: None, expect: Ok((&[1, 1], &[0], &[&[5, 9]])) },
            Case { shape: &[1, 9], dist: "bb", grid: None, expect: Ok((&[1, 1], &[0], &[&[1, 9]])) },
            Case { shape: &[2, 3], dist: "bb", grid: None, expect: Ok((&[1, 1], &[0], &[&[2, 3]])) },
            Case { shape: &[2, 2], dist: "cc", grid: None, expect: Ok((&[1, 1], &[0], &[&[2, 2]])) },
            Case { shape: &[3, 3], dist: "bc", grid: None, expect: Ok((&[1, 1], &[0], &[&[3, 3]])) },
            Case { shape: &[3, 2], dist: "cb", grid: None, expect: Ok((&[1, 1], &[0], &[&[3, 2]])) },
            Case { shape: &[3, 4, 5], dist: "bbb", grid: None, expect: Ok((&[1, 1, 1], &[0], &[&[3, 4, 5]])) },
            Case { shape: &[2, 3, 7], dist: "bbb", grid: None, expect: Ok((&[1, 1, 1], &[0], &[&[2, 3, 7]])) },
            Case { shape: &[2, 5, 2], dist: "bnb", grid: None, expect: Ok((&[1, 1, 1], &[0], &[&[2, 5, 2]])) },
            Case { shape: &[1, 2, 9], dist: "bnb", grid: None, expect: Ok((&[1, 1, 1], &[0], &[&[1, 2, 9]])) },
            Case { shape: &[2, 1, 3], dist: "cnb", grid: None, expect: Ok((&[1, 1, 1], &[0], &[&[2, 1, 3]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[1]), expect: Ok((&[1], &[0], &[&[10]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[2]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[3], dist: "b", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[3], dist: "c", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[2], dist: "c", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[1, 2]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[3, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[9, 6], dist: "bc", grid: Some(&[1, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "cb", grid: Some(&[2, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[5, 4, 3], dist: "bbc", grid: Some(&[1, 1, 2]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[5, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "nb", grid: Some(&[2, 1]), expect: Err(ErrorKind::InvalidGridShape) },
        ],
        2 => vec![
            Case { shape: &[3], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[2], &[1]])) },
            Case { shape: &[7, 5], dist: "nb", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[7, 3], &[7, 2]])) },
            Case { shape: &[5], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[3], &[2]])) },
            Case { shape: &[6], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[3], &[3]])) },
            Case { shape: &[2], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[1], &[1]])) },
            Case { shape: &[1], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[1]])) },
            Case { shape: &[3], dist: "c", grid: None, expect: Ok((&[2], &[0, 1], &[&[2], &[1]])) },
            Case { shape: &[5], dist: "c", grid: None, expect: Ok((&[2], &[0, 1], &[&[3], &[2]])) },
            Case { shape: &[3], dist: "n", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[5, 5], dist: "nn", grid: None, expect: Ok((&[1, 1], &[0], &[&[5, 5]])) },
            Case { shape: &[5, 9], dist: "bb", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[5, 5], &[5, 4]])) },
            Case { shape: &[1, 9], dist: "bb", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[1, 5], &[1, 4]])) },
            Case { shape: &[2, 3], dist: "bb", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[2, 2], &[2, 1]])) },
            Case { shape: &[2, 2], dist: "cc", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[2, 1], &[2, 1]])) },
            Case { shape: &[3, 3], dist: "bc", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[3, 2], &[3, 1]])) },
            Case { shape: &[3, 2], dist: "cb", grid: None, expect: Ok((&[2, 1], &[0, 1], &[&[2, 2], &[1, 2]])) },
            Case { shape: &[3, 4, 5], dist: "bbb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[3, 4, 3], &[3, 4, 2]])) },
            Case { shape: &[2, 3, 7], dist: "bbb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[2, 3, 4], &[2, 3, 3]])) },
            Case { shape: &[2, 5, 2], dist: "bnb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[2, 5, 1], &[2, 5, 1]])) },
            Case { shape: &[1, 2, 9], dist: "bnb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[1, 2, 5], &[1, 2, 4]])) },
            Case { shape: &[2, 1, 3], dist: "cnb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[2, 1, 2], &[2, 1, 1]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[1]), expect: Ok((&[1], &[0], &[&[10]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[2]), expect: Ok((&[2], &[0, 1], &[&[5], &[5]])) },
            Case { shape: &[3], dist: "b", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[3], dist: "c", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[2], dist: "c", grid: Some(&[3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[1, 2]), expect: Ok((&[1, 2], &[0, 1], &[&[8, 4], &[8, 4]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[3, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[9, 6], dist: "bc", grid: Some(&[1, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "cb", grid: Some(&[2, 1]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[5, 4, 3], dist: "bbc", grid: Some(&[1, 1, 2]), expect: Ok((&[1, 1, 2], &[0, 1], &[&[5, 4, 2], &[5, 4, 1]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[5, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "nb", grid: Some(&[2, 1]), expect: Err(ErrorKind::InvalidGridShape) },
        ],
        3 => vec![
            Case { shape: &[3], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[7, 5], dist: "nb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[7, 2], &[7, 2], &[7, 1]])) },
            Case { shape: &[5], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[2], &[2], &[1]])) },
            Case { shape: &[6], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[2], &[2], &[2]])) },
            Case { shape: &[2], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[1], &[1]])) },
            Case { shape: &[1], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[1]])) },
            Case { shape: &[3], dist: "c", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[5], dist: "c", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[2], &[2], &[1]])) },
            Case { shape: &[3], dist: "n", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[5, 5], dist: "nn", grid: None, expect: Ok((&[1, 1], &[0], &[&[5, 5]])) },
            Case { shape: &[5, 9], dist: "bb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[5, 3], &[5, 3], &[5, 3]])) },
            Case { shape: &[1, 9], dist: "bb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[1, 3], &[1, 3], &[1, 3]])) },
            Case { shape: &[2, 3], dist: "bb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[2, 1], &[2, 1], &[2, 1]])) },
            // DistArray raises here (its grid (1, 3) has more processes than the
            // axis has elements); the grid is cut to the axis length.
            Case { shape: &[2, 2], dist: "cc", grid: None, expect: Ok((&[1, 2], &[0, 1], &[&[2, 1], &[2, 1]])) },
            Case { shape: &[3, 3], dist: "bc", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[3, 1], &[3, 1], &[3, 1]])) },
            Case { shape: &[3, 2], dist: "cb", grid: None, expect: Ok((&[3, 1], &[0, 1, 2], &[&[1, 2], &[1, 2], &[1, 2]])) },
            Case { shape: &[3, 4, 5], dist: "bbb", grid: None, expect: Ok((&[1, 1, 3], &[0, 1, 2], &[&[3, 4, 2], &[3, 4, 2], &[3, 4, 1]])) },
            Case { shape: &[2, 3, 7], dist: "bbb", grid: None, expect: Ok((&[1, 1, 3], &[0, 1, 2], &[&[2, 3, 3], &[2, 3, 3], &[2, 3, 1]])) },
            // Likewise (DistArray's grid (1, 1, 3)).
            Case { shape: &[2, 5, 2], dist: "bnb", grid: None, expect: Ok((&[1, 1, 2], &[0, 1], &[&[2, 5, 1], &[2, 5, 1]])) },
            Case { shape: &[1, 2, 9], dist: "bnb", grid: None, expect: Ok((&[1, 1, 3], &[0, 1, 2], &[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]])) },
            Case { shape: &[2, 1, 3], dist: "cnb", grid: None, expect: Ok((&[1, 1, 3], &[0, 1, 2], &[&[2, 1, 1], &[2, 1, 1], &[2, 1, 1]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[1]), expect: Ok((&[1], &[0], &[&[10]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[2]), expect: Ok((&[2], &[0, 1], &[&[5], &[5]])) },
            Case { shape: &[3], dist: "b", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[3], dist: "c", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[2], dist: "c", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[0]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[1, 2]), expect: Ok((&[1, 2], &[0, 1], &[&[8, 4], &[8, 4]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[3, 1]), expect: Ok((&[3, 1], &[0, 1, 2], &[&[3, 8], &[3, 8], &[2, 8]])) },
            Case { shape: &[9, 6], dist: "bc", grid: Some(&[1, 3]), expect: Ok((&[1, 3], &[0, 1, 2], &[&[9, 2], &[9, 2], &[9, 2]])) },
            Case { shape: &[8, 8], dist: "cb", grid: Some(&[2, 1]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[5, 4, 3], dist: "bbc", grid: Some(&[1, 1, 2]), expect: Ok((&[1, 1, 2], &[0, 1], &[&[5, 4, 2], &[5, 4, 1]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[5, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "nb", grid: Some(&[2, 1]), expect: Err(ErrorKind::InvalidGridShape) },
        ],
        4 => vec![
            Case { shape: &[3], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[7, 5], dist: "nb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[7, 2], &[7, 2], &[7, 1]])) },
            Case { shape: &[5], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[2], &[2], &[1]])) },
            Case { shape: &[6], dist: "b", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[2], &[2], &[2]])) },
            Case { shape: &[2], dist: "b", grid: None, expect: Ok((&[2], &[0, 1], &[&[1], &[1]])) },
            Case { shape: &[1], dist: "b", grid: None, expect: Ok((&[1], &[0], &[&[1]])) },
            Case { shape: &[3], dist: "c", grid: None, expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[5], dist: "c", grid: None, expect: Ok((&[4], &[0, 1, 2, 3], &[&[2], &[1], &[1], &[1]])) },
            Case { shape: &[3], dist: "n", grid: None, expect: Ok((&[1], &[0], &[&[3]])) },
            Case { shape: &[5, 5], dist: "nn", grid: None, expect: Ok((&[1, 1], &[0], &[&[5, 5]])) },
            Case { shape: &[5, 9], dist: "bb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[5, 3], &[5, 3], &[5, 3]])) },
            Case { shape: &[1, 9], dist: "bb", grid: None, expect: Ok((&[1, 3], &[0, 1, 2], &[&[1, 3], &[1, 3], &[1, 3]])) },
            Case { shape: &[2, 3], dist: "bb", grid: None, expect: Ok((&[2, 2], &[0, 1, 2, 3], &[&[1, 2], &[1, 1], &[1, 2], &[1, 1]])) },
            Case { shape: &[2, 2], dist: "cc", grid: None, expect: Ok((&[2, 2], &[0, 1, 2, 3], &[&[1, 1], &[1, 1], &[1, 1], &[1, 1]])) },
            Case { shape: &[3, 3], dist: "bc", grid: None, expect: Ok((&[2, 2], &[0, 1, 2, 3], &[&[2, 2], &[2, 1], &[1, 2], &[1, 1]])) },
            Case { shape: &[3, 2], dist: "cb", grid: None, expect: Ok((&[2, 2], &[0, 1, 2, 3], &[&[2, 1], &[2, 1], &[1, 1], &[1, 1]])) },
            Case { shape: &[3, 4, 5], dist: "bbb", grid: None, expect: Ok((&[1, 2, 2], &[0, 1, 2, 3], &[&[3, 2, 3], &[3, 2, 2], &[3, 2, 3], &[3, 2, 2]])) },
            Case { shape: &[2, 3, 7], dist: "bbb", grid: None, expect: Ok((&[1, 1, 4], &[0, 1, 2, 3], &[&[2, 3, 2], &[2, 3, 2], &[2, 3, 2], &[2, 3, 1]])) },
            Case { shape: &[2, 5, 2], dist: "bnb", grid: None, expect: Ok((&[2, 1, 2], &[0, 1, 2, 3], &[&[1, 5, 1], &[1, 5, 1], &[1, 5, 1], &[1, 5, 1]])) },
            Case { shape: &[1, 2, 9], dist: "bnb", grid: None, expect: Ok((&[1, 1, 3], &[0, 1, 2], &[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]])) },
            Case { shape: &[2, 1, 3], dist: "cnb", grid: None, expect: Ok((&[2, 1, 2], &[0, 1, 2, 3], &[&[1, 1, 2], &[1, 1, 1], &[1, 1, 2], &[1, 1, 1]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[1]), expect: Ok((&[1], &[0], &[&[10]])) },
            Case { shape: &[10], dist: "b", grid: Some(&[2]), expect: Ok((&[2], &[0, 1], &[&[5], &[5]])) },
            Case { shape: &[3], dist: "b", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[3], dist: "c", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[1]])) },
            Case { shape: &[2], dist: "c", grid: Some(&[3]), expect: Ok((&[3], &[0, 1, 2], &[&[1], &[1], &[0]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[1, 2]), expect: Ok((&[1, 2], &[0, 1], &[&[8, 4], &[8, 4]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[3, 1]), expect: Ok((&[3, 1], &[0, 1, 2], &[&[3, 8], &[3, 8], &[2, 8]])) },
            Case { shape: &[9, 6], dist: "bc", grid: Some(&[1, 3]), expect: Ok((&[1, 3], &[0, 1, 2], &[&[9, 2], &[9, 2], &[9, 2]])) },
            Case { shape: &[8, 8], dist: "cb", grid: Some(&[2, 1]), expect: Ok((&[2, 1], &[0, 1], &[&[4, 8], &[4, 8]])) },
            Case { shape: &[5, 4, 3], dist: "bbc", grid: Some(&[1, 1, 2]), expect: Ok((&[1, 1, 2], &[0, 1], &[&[5, 4, 2], &[5, 4, 1]])) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[5, 1]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "bb", grid: Some(&[2, 3]), expect: Err(ErrorKind::InvalidGridShape) },
            Case { shape: &[8, 8], dist: "nb", grid: Some(&[2, 1]), expect: Err(ErrorKind::InvalidGridShape) },
        ],
        _ => Vec::new(),
    }
}

/// Builds every case of [`fewer_targets_cases`] on `ctx` and checks the grid,
/// targets and local shapes, then that the array works like any other:
/// fromarray/toarray, owners, dim data, sum, ufuncs (also with an array of the
/// same shape on all the engines, which must be redistributed first), random
/// numbers, slicing, and `.dnpy` files (one per target, loaded back on the
/// context). Returns the number of cases checked.
pub fn check_fewer_targets(ctx: &Context) -> usize {
    let cases = fewer_targets_cases(ctx.num_targets());
    for case in &cases {
        let mut builder = Distribution::builder(ctx, case.shape).dist(case.dist);
        if let Some(g) = case.grid {
            builder = builder.grid_shape(g);
        }
        let what = format!("{:?} '{}' grid {:?} on {:?}", case.shape, case.dist, case.grid, ctx.targets());
        let (d, (grid, targets, local)) = match (builder.build(), &case.expect) {
            (Ok(d), Ok(expected)) => (d, expected),
            (Err(e), Err(kind)) => {
                assert_eq!(e.kind(), *kind, "{what}: {e}");
                continue;
            }
            (got, want) => panic!("{what}: got {got:?}, DistArray gives {:?}", want.as_ref().map(|(g, t, _)| (g, t))),
        };
        let targets: Vec<usize> = targets.iter().map(|&i| ctx.targets()[i]).collect();
        assert_eq!(d.grid_shape(), *grid, "{what}: grid shape");
        assert_eq!(d.targets(), targets.as_slice(), "{what}: targets");
        assert_eq!(d.localshapes(), local.iter().map(|s| s.to_vec()).collect::<Vec<_>>(), "{what}: local shapes");
        check_layout(ctx, &d, &no_explicit);
        check_array_on(ctx, &d, &what);
    }
    // Explicit targets in another order: the first of them are used.
    let reversed: Vec<usize> = ctx.targets().iter().rev().copied().collect();
    let d = Distribution::builder(ctx, &[3]).targets(&reversed).build().expect("reversed targets");
    assert_eq!(d.targets(), &reversed[..reversed.len().min(3)]);
    check_layout(ctx, &d, &no_explicit);
    check_array_on(ctx, &d, "[3] on reversed targets");
    // An explicit grid of one process on a context of any size.
    let d = Distribution::builder(ctx, &[4, 6]).grid_shape(&[1, 1]).build().expect("grid of one");
    assert_eq!(d.targets(), &ctx.targets()[..1]);
    check_array_on(ctx, &d, "[4, 6] on a grid of one");
    cases.len() + 2
}

/// Operations on an array over `d` (which may hold fewer engines than `ctx`).
fn check_array_on(ctx: &Context, d: &Distribution, what: &str) {
    let shape = d.shape().to_vec();
    let global = index_array(&shape).mapv(|v| v as f64);
    let x = ctx.fromarray(&global, Some(d)).expect("fromarray");
    assert_eq!(x.targets(), d.targets(), "{what}");
    assert_eq!(x.get_localshapes(), d.localshapes(), "{what}");
    assert_eq!(x.sum().expect("sum"), global.sum(), "{what}: sum");
    let twice = distarray::functions::add(&x, &x).expect("add");
    assert_eq!(twice.targets(), d.targets(), "{what}: ufunc result targets");
    assert_eq!(twice.toarray().expect("toarray"), global.mapv(|v| 2.0 * v), "{what}: x + x");
    if shape.len() > 1 {
        let s = x.sum_axis(&[0]).expect("sum_axis");
        assert_eq!(s.toarray().expect("toarray"), global.sum_axis(ndarray::Axis(0)), "{what}: sum over axis 0");
    }
    // An array of the same shape on all the engines of the context.
    let full = Distribution::builder(ctx, &shape).dist("c").build().expect("cyclic");
    let y = ctx.fromarray(&global, Some(&full)).expect("fromarray");
    // Binary ufuncs move the second operand to the first one's layout.
    let xy = distarray::functions::add(&x, &y).expect("add of arrays on other engines");
    assert_eq!(xy.targets(), d.targets(), "{what}: x + y lives where x does");
    assert_eq!(xy.toarray().expect("toarray"), global.mapv(|v| 2.0 * v), "{what}: x + y");
    let yx = distarray::functions::add(&y, &x).expect("add of arrays on other engines");
    assert_eq!(yx.targets(), full.targets(), "{what}: y + x lives where y does");
    assert_eq!(yx.toarray().expect("toarray"), global.mapv(|v| 2.0 * v), "{what}: y + x");
    let moved = y.distribute_as(d).expect("distribute_as");
    assert_eq!(moved.targets(), d.targets(), "{what}");
    let sum = distarray::functions::add(&x, &moved).expect("add after distribute_as");
    assert_eq!(sum.toarray().expect("toarray"), global.mapv(|v| 2.0 * v), "{what}: x + y");
    assert_eq!(
        x.distribute_as(&full).expect("distribute_as").toarray().expect("toarray"),
        global,
        "{what}: back to all engines"
    );
    // Random numbers depend on the global index only, not on the layout.
    let (r1, r2) = (Random::new(ctx), Random::new(ctx));
    r1.seed(Some(11));
    r2.seed(Some(11));
    let (on_d, on_full) = (r1.rand::<f64>(d).expect("rand"), r2.rand::<f64>(&full).expect("rand"));
    assert_eq!(on_d.toarray().expect("toarray"), on_full.toarray().expect("toarray"), "{what}: rand");
    // A slice of the first half of axis 0.
    if shape[0] > 1 {
        let half = shape[0] / 2;
        let part =
            x.slice([ndarray::SliceInfoElem::Slice { start: 0, end: Some(half as isize), step: 1 }]).expect("slice");
        let expected = global.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..half)).to_owned();
        assert_eq!(part.toarray().expect("toarray"), expected, "{what}: slice");
    }
    // .dnpy: one file per target of the array, none for the other engines.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("distarray_fewer_targets_{}_{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base = dir.join("x");
    distarray::save_dnpy(base.as_path(), &x).expect("save_dnpy");
    let files = std::fs::read_dir(&dir).expect("read_dir").count();
    assert_eq!(files, d.nprocs(), "{what}: .dnpy files written");
    let back = distarray::load_dnpy::<f64>(ctx, base.as_path()).expect("load_dnpy");
    assert_eq!(back.toarray().expect("toarray"), global, "{what}: .dnpy round trip");
    assert_eq!(back.get_localshapes(), d.localshapes(), "{what}: .dnpy local shapes");
    assert_eq!(back.targets(), &ctx.targets()[..d.nprocs()], "{what}: loaded on the first engines");
    let names: Vec<_> = (0..d.nprocs()).map(|r| dir.join(format!("x_{r}.dnpy"))).collect();
    assert_eq!(
        distarray::load_dnpy::<f64>(ctx, names).expect("load_dnpy of names").toarray().expect("toarray"),
        global
    );
    std::fs::remove_dir_all(&dir).ok();
}
