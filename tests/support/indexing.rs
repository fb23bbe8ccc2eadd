//! The indexing and redistribution suite shared by `tests/indexing.rs`,
//! `tests/redistribute.rs` (threads) and `tests/mpi_indexing.rs` (mpirun):
//! get/set/slice/assign against ndarray on every map type, 1-D to 3-D,
//! uneven sizes, steps and negative indices; redistribution between every
//! pair of layouts (map types, grids, target subsets) with its memory bound.

#![allow(dead_code)] // each test binary uses part of it

use distarray::prelude::*;
use ndarray::{ArrayD, Dimension, IxDyn, SliceInfoElem};

/// 1-D to 3-D, sizes that do not divide evenly, more ranks than elements.
pub const SHAPES: &[&[usize]] = &[&[1], &[7], &[13], &[5, 7], &[1, 9], &[10, 3], &[3, 4, 5], &[2, 3, 7]];

/// `10 * i + j` at index `(i, j)`, for fromfunction.
#[vectorize]
pub fn ij(i: i64, j: i64) -> i64 {
    100 * i + j
}

/// An array whose every element is its own C-order linear index.
pub fn index_array(shape: &[usize]) -> ArrayD<i64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n as i64).collect()).expect("shape matches")
}

/// Every kind of layout of `shape` on `ctx`: each map type on every axis,
/// block-cyclic of block 2, mixed letters, a grid along the last axis, and
/// target subsets (reversed, all but one engine).
pub fn layouts(ctx: &Context, shape: &[usize]) -> Result<Vec<Distribution>> {
    let ndim = shape.len();
    let n = ctx.num_targets();
    let t = ctx.targets();
    let mut out = vec![
        Distribution::builder(ctx, shape).build()?,
        Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).build()?,
        Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 2 }; ndim]).build()?,
        Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)).build()?,
        Distribution::builder(ctx, shape).dist(&"n".repeat(ndim)).targets(&t[n - 1..]).build()?,
    ];
    if ndim >= 2 {
        out.push(Distribution::builder(ctx, shape).dist("nb").build()?);
        let mut grid = vec![1; ndim];
        grid[ndim - 1] = n;
        out.push(Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).grid_shape(&grid).build()?);
        out.push(Distribution::builder(ctx, shape).dist("uc").build()?);
    }
    let reversed: Vec<usize> = t.iter().rev().copied().collect();
    out.push(Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)).targets(&reversed).build()?);
    if n > 1 {
        out.push(Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).targets(&t[1..]).build()?);
    }
    Ok(out)
}

fn full() -> SliceInfoElem {
    SliceInfoElem::Slice { start: 0, end: None, step: 1 }
}

fn range(start: isize, end: Option<isize>, step: isize) -> SliceInfoElem {
    SliceInfoElem::Slice { start, end, step }
}

/// Slice specs for `shape`: ranges, steps (negative too), negative bounds,
/// integers that drop axes.
pub fn slices(shape: &[usize]) -> Vec<Vec<SliceInfoElem>> {
    let per_axis = |len: usize| -> Vec<SliceInfoElem> {
        let l = len as isize;
        vec![
            full(),
            range(1.min(l), Some(l - 1.min(l)), 1),
            range(0, None, 2),
            range(0, None, -1),
            range(-(l / 2) - 1, None, -3),
            range(l / 3, Some(l), 3),
            SliceInfoElem::Index(l / 2),
            SliceInfoElem::Index(-1),
        ]
    };
    let options: Vec<Vec<SliceInfoElem>> = shape.iter().map(|&n| per_axis(n)).collect();
    let count = options[0].len();
    let mut out = Vec::new();
    // Option `i` on the first axis with rotating options on the others, so
    // every option meets every axis.
    for i in 0..count {
        for shift in [0, 3, 5] {
            out.push(options.iter().enumerate().map(|(k, o)| o[(i + k * shift) % o.len()]).collect());
        }
    }
    out.push(vec![full()]); // fewer entries than axes: the rest whole
    out
}

/// get/set on every element (and a few out of range) against ndarray.
fn check_get_set(a: &mut DistArray<i64>, expected: &mut ArrayD<i64>) -> Result<()> {
    let shape = expected.shape().to_vec();
    for (idx, &v) in expected.indexed_iter() {
        let pos: Vec<isize> = idx.as_array_view().to_slice().expect("contiguous").iter().map(|&i| i as isize).collect();
        let neg: Vec<isize> = idx
            .as_array_view()
            .to_slice()
            .expect("contiguous")
            .iter()
            .zip(&shape)
            .map(|(&i, &n)| i as isize - n as isize)
            .collect();
        assert_eq!(a.get(&pos)?, v, "get {pos:?} of {}", a.distribution());
        assert_eq!(a.get(&neg)?, v, "get {neg:?} of {}", a.distribution());
    }
    let last: Vec<isize> = vec![-1; shape.len()];
    a.set(&last, -5)?;
    *expected.last_mut().expect("not empty") = -5;
    let first = vec![0isize; shape.len()];
    a.set(&first, -7)?;
    *expected.first_mut().expect("not empty") = -7;
    assert_eq!(&a.toarray()?, expected, "after set, {}", a.distribution());
    let mut out = vec![0isize; shape.len()];
    out[0] = shape[0] as isize;
    assert_eq!(a.get(&out).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    out[0] = -(shape[0] as isize) - 1;
    assert_eq!(a.set(&out, 1).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    assert_eq!(a.get(&[0; 4][..shape.len() + 1]).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    Ok(())
}

/// slice / slice_to_ndarray / fill_slice / assign_slice / assign_slice_from.
fn check_slices(ctx: &Context, d: &Distribution, base: &ArrayD<i64>) -> Result<usize> {
    let mut checked = 0;
    for spec in slices(base.shape()) {
        let a = ctx.fromarray(base, Some(d))?;
        // ndarray wants every axis named; distarray takes the rest whole.
        let mut padded = spec.clone();
        padded.resize(base.ndim(), full());
        let want = base.slice(&padded[..]).to_owned();
        let got = a.slice(&spec[..])?;
        assert_eq!(got.toarray()?, want, "slice {spec:?} of {d}");
        assert_eq!(a.slice_to_ndarray(&spec[..])?, want);
        assert_eq!(got.distribution(), &a.slice_distribution(&spec[..])?);

        let mut b = ctx.fromarray(base, Some(d))?;
        let mut expected = base.clone();
        b.fill_slice(&spec[..], -1)?;
        expected.slice_mut(&padded[..]).fill(-1);
        assert_eq!(b.toarray()?, expected, "fill_slice {spec:?} of {d}");

        let values = want.mapv(|v| v * 1000 + 3);
        b.assign_slice(&spec[..], &values)?;
        expected.slice_mut(&padded[..]).assign(&values);
        assert_eq!(b.toarray()?, expected, "assign_slice {spec:?} of {d}");

        if !want.shape().is_empty() {
            let other = ctx.fromarray(&want.mapv(|v| -v - 11), None)?; // default layout: redistributed first
            b.assign_slice_from(&spec[..], &other)?;
            expected.slice_mut(&padded[..]).assign(&want.mapv(|v| -v - 11));
            assert_eq!(b.toarray()?, expected, "assign_slice_from {spec:?} of {d}");
        }
        checked += 1;
    }
    let a = ctx.fromarray(base, Some(d))?;
    let n = base.shape()[0] as isize;
    assert_eq!(a.slice([SliceInfoElem::Index(n)]).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    assert_eq!(a.slice([range(0, Some(n + 1), 1)]).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    assert_eq!(a.slice([range(0, None, 0)]).unwrap_err().kind(), ErrorKind::IndexOutOfBounds);
    Ok(checked)
}

/// The indexing suite on `ctx`; returns the number of slices checked.
pub fn check_indexing(ctx: &Context) -> Result<usize> {
    let mut checked = 0;
    for &shape in SHAPES {
        let base = index_array(shape);
        for d in layouts(ctx, shape)? {
            let mut a = ctx.fromarray(&base, Some(&d))?;
            check_get_set(&mut a, &mut base.clone())?;
            checked += check_slices(ctx, &d, &base)?;
            // Other creation paths index as they gather.
            let z = ctx.zeros::<f64>(&d)?;
            assert_eq!(z.get(&vec![-1; shape.len()])?, 0.0);
            let r = Random::new(ctx).rand::<f64>(&d)?;
            let rn = r.toarray()?;
            for (idx, &v) in rn.indexed_iter().step_by(3) {
                let pos: Vec<isize> =
                    idx.as_array_view().to_slice().expect("contiguous").iter().map(|&i| i as isize).collect();
                assert_eq!(r.get(&pos)?, v);
            }
            if shape.len() == 2 {
                let f = ctx.fromfunction::<ij>(shape, Some(&d))?;
                for (idx, _) in base.indexed_iter() {
                    assert_eq!(f.get(&[idx[0] as isize, idx[1] as isize])?, 100 * idx[0] as i64 + idx[1] as i64);
                }
                let m = d.get_dist_matrix()?;
                for (idx, &engine) in m.indexed_iter() {
                    assert_eq!(vec![engine], d.owning_targets(idx.as_array_view().to_slice().expect("contiguous"))?);
                }
            }
        }
    }
    Ok(checked)
}

/// Redistribution between every pair of layouts keeps every element and gives
/// exactly the pieces that `fromarray` gives; the memory stays within the
/// documented bound. Returns the number of pairs checked.
pub fn check_redistribution(ctx: &Context) -> Result<usize> {
    let mut checked = 0;
    for &shape in SHAPES {
        let base = index_array(shape);
        let all = layouts(ctx, shape)?;
        for from in &all {
            let a = ctx.fromarray(&base, Some(from))?;
            for to in &all {
                let b = a.distribute_as(to)?;
                assert_eq!(b.distribution(), to);
                let want = ctx.fromarray(&base, Some(to))?;
                assert_eq!(b.get_localarrays()?, want.get_localarrays()?, "{from} -> {to}");
                let back = b.redistribute(from)?;
                assert_eq!(back.toarray()?, base, "{from} -> {to} -> back");
                for s in a.redistribute_stats(to)? {
                    assert!(s.peak_extra_bytes() <= s.bound_bytes, "{from} -> {to}: {s:?}");
                    assert_eq!(s.send_bytes, s.source_bytes, "{from} -> {to}: {s:?}");
                    // Nothing when the piece received directly (or, on thread
                    // engines, read the senders' buffers), else one buffer.
                    assert!(s.recv_bytes == 0 || s.recv_bytes == s.dest_bytes, "{from} -> {to}: {s:?}");
                }
                checked += 1;
            }
        }
    }
    // Other element types and a large 2-D array against the bound.
    let d = Distribution::builder(ctx, &[300, 200]).build()?;
    let to = Distribution::builder(ctx, &[300, 200]).dist("cc").build()?;
    let x = Random::new(ctx).rand::<f64>(&d)?;
    assert_eq!(x.distribute_as(&to)?.toarray()?, x.toarray()?);
    for s in x.redistribute_stats(&to)? {
        // 2-D: the plan is small against the pieces, so about twice the pieces.
        assert!(s.peak_extra_bytes() <= s.bound_bytes, "{s:?}");
        assert!(s.plan_bytes * 10 < s.source_bytes + s.dest_bytes || s.source_bytes == 0, "{s:?}");
    }
    let flags = ctx.fromarray(&ndarray::arr1(&[true, false, true, true, false]), None)?;
    let u = Distribution::builder(ctx, &[5]).dist("u").build()?;
    assert_eq!(flags.distribute_as(&u)?.toarray()?, flags.toarray()?);
    // Errors.
    let other = Distribution::builder(ctx, &[4]).build()?;
    assert_eq!(flags.distribute_as(&other).unwrap_err().kind(), ErrorKind::InvalidShape);
    Ok(checked)
}
