//! The collectives suite shared by `tests/collectives.rs` (threads) and
//! `tests/mpi_collectives.rs` (mpirun): every typed collective and
//! point-to-point call inside `#[local]` kernels against closed forms
//! computed here, halo exchanges through the Cartesian view against
//! ndarray's shifted arrays, where pieces lie against the distribution's
//! maps, and failures that must not hang.

#![allow(dead_code)] // each test binary uses part of it

use distarray::prelude::*;
use distarray::{Collectives, Comm};
use ndarray::{Array1, Array2, ArrayD, Axis, Dimension, IxDyn};

/// Rank `r`'s contribution to the reductions.
fn contribution(r: usize) -> Vec<i64> {
    vec![r as i64 + 1, 3 - 2 * r as i64, (r as i64 * 7) % 5]
}

const OPS: [Op; 4] = [Op::Sum, Op::Product, Op::Min, Op::Max];

/// Every reduction on this engine: for each op the all-reduced integers and
/// floats and the result of a reduction to every root (empty off the root),
/// then the closure all-reduce and reduce of the ranks' names.
#[local]
pub fn reductions(engine: &EngineCtx) -> (Vec<Vec<i64>>, String, Vec<Option<String>>) {
    let comm = engine.comm();
    let mine = contribution(comm.rank());
    let floats: Vec<f64> = mine.iter().map(|&v| v as f64).collect();
    let mut out = Vec::new();
    for op in OPS {
        let mut recv = vec![0; 3];
        comm.all_reduce_into(&mine, &mut recv, op).expect("all_reduce_into");
        out.push(recv);
        let mut recv = vec![0.0; 3];
        comm.all_reduce_into(&floats, &mut recv, op).expect("all_reduce_into f64");
        out.push(recv.iter().map(|&v| v as i64).collect());
        for root in 0..comm.size() {
            let mut recv = if root == comm.rank() { vec![0; 3] } else { Vec::new() };
            comm.reduce_into(root, &mine, &mut recv, op).expect("reduce_into");
            out.push(recv);
        }
    }
    let name = |r: usize| format!("r{r}");
    let order = comm.all_reduce(name(comm.rank()), |a, b| format!("({a} {b})")).expect("all_reduce");
    let at_roots =
        (0..comm.size()).map(|root| comm.reduce(root, name(comm.rank()), |a, b| format!("({a} {b})")).expect("reduce"));
    (out, order, at_roots.collect())
}

/// The pairwise order the closure reductions promise, for `n` members.
fn pairwise(n: usize) -> String {
    let mut level: Vec<String> = (0..n).map(|r| format!("r{r}")).collect();
    while level.len() > 1 {
        level =
            level.chunks(2).map(|p| if p.len() == 2 { format!("({} {})", p[0], p[1]) } else { p[0].clone() }).collect();
    }
    level.pop().unwrap_or_default()
}

/// The sum of a whole array by `all_reduce_into` (every engine).
#[local]
pub fn array_sum(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    let mut total = [0.0];
    engine.comm().all_reduce_into(&[a.sum()], &mut total, Op::Sum).expect("all_reduce_into");
    total[0]
}

/// Checks every reduction on every engine against closed forms over the
/// contributions of `0..n`.
pub fn check_reductions(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    let column = |i: usize| (0..n).map(move |r| contribution(r)[i]);
    let closed = |op: Op| -> Vec<i64> {
        (0..3)
            .map(|i| match op {
                Op::Sum => column(i).sum(),
                Op::Product => column(i).product(),
                Op::Min => column(i).min().unwrap(),
                _ => column(i).max().unwrap(),
            })
            .collect()
    };
    let per_engine = reductions(ctx)?;
    assert_eq!(per_engine.len(), n);
    for (rank, (got, order, at_roots)) in per_engine.into_iter().enumerate() {
        let mut at = 0;
        for op in OPS {
            assert_eq!(got[at], closed(op), "{op:?} on {n} engines, rank {rank}");
            assert_eq!(got[at + 1], closed(op), "{op:?} of floats on {n} engines, rank {rank}");
            for root in 0..n {
                let want = if root == rank { closed(op) } else { Vec::new() };
                assert_eq!(got[at + 2 + root], want, "{op:?} to root {root} on {n} engines, rank {rank}");
            }
            at += 2 + n;
        }
        assert_eq!(order, pairwise(n));
        let want: Vec<Option<String>> = (0..n).map(|root| (root == rank).then(|| pairwise(n))).collect();
        assert_eq!(at_roots, want);
    }
    // Integer-valued floats: the sum is exact in any order.
    let values = Array2::from_shape_fn((9, 5), |(i, j)| (i * 5 + j) as f64 - 20.0).into_dyn();
    for dist in ["bn", "cb", "bb"] {
        let d = Distribution::builder(ctx, &[9, 5]).dist(dist).build()?;
        let a = ctx.fromarray(&values, Some(&d))?;
        assert!(array_sum(&a)?.iter().all(|&s| s == values.sum()), "{dist}");
    }
    Ok(())
}

/// Rank `r`'s part of a gather: `r % 3` elements `100 r + k`.
fn part(r: usize) -> Vec<u32> {
    (0..r % 3).map(|k| (100 * r + k) as u32).collect()
}

/// Every rooted and all-to-all collective on this engine, in a fixed order;
/// what it received.
#[local]
pub fn exchanges(engine: &EngineCtx) -> Exchanged {
    let comm = engine.comm();
    let (me, n) = (comm.rank(), comm.size());
    let mut got = Exchanged::default();
    for root in 0..n {
        got.gathered.push(comm.gather(root, &part(me)).expect("gather"));
        let mut into = vec![0u16; if me == root { 2 * n } else { 0 }];
        comm.gather_into(root, &[me as u16, 7], &mut into).expect("gather_into");
        got.gathered_into.push(into);
        let parts: Vec<Vec<u32>> = if me == root { (0..n).map(|j| part(j + root)).collect() } else { Vec::new() };
        got.scattered.push(comm.scatter(root, &parts).expect("scatter"));
        let send: Vec<i8> = if me == root { (0..2 * n as i8).collect() } else { Vec::new() };
        let mut recv = [0i8; 2];
        comm.scatter_into(root, &send, &mut recv).expect("scatter_into");
        got.scattered_into.push(recv.to_vec());
        let mut buffer = if me == root { [root as f32 + 0.5, -1.0] } else { [0.0; 2] };
        comm.broadcast_into(root, &mut buffer).expect("broadcast_into");
        got.broadcast.push(buffer.to_vec());
    }
    let mut all = vec![0u64; 2 * n];
    comm.all_gather_into(&[me as u64, 1], &mut all).expect("all_gather_into");
    got.all_gathered = all;
    // Chunk `j` of rank `i` is `[10 i + j, -1]`.
    let send: Vec<i32> = (0..n).flat_map(|j| [(10 * me + j) as i32, -1]).collect();
    got.all_to_all = comm.all_to_all(&send).expect("all_to_all");
    let mut recv = vec![0; 2 * n];
    comm.all_to_all_into(&send, &mut recv).expect("all_to_all_into");
    assert_eq!(recv, got.all_to_all);
    // Rank `i` sends `(i + j) % 3` copies of `10 i + j` to rank `j`.
    let counts: Vec<usize> = (0..n).map(|j| (me + j) % 3).collect();
    let send: Vec<i64> = (0..n).flat_map(|j| vec![(10 * me + j) as i64; counts[j]]).collect();
    got.all_to_all_v = comm.all_to_all_v(&send, &counts).expect("all_to_all_v");
    let mut recv = vec![0; got.all_to_all_v.0.len()];
    comm.all_to_all_v_into(&send, &counts, &mut recv, &got.all_to_all_v.1).expect("all_to_all_v_into");
    assert_eq!(recv, got.all_to_all_v.0);
    got
}

/// What [`exchanges`] received on one engine.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exchanged {
    gathered: Vec<Option<Vec<Vec<u32>>>>,
    gathered_into: Vec<Vec<u16>>,
    scattered: Vec<Vec<u32>>,
    scattered_into: Vec<Vec<i8>>,
    broadcast: Vec<Vec<f32>>,
    all_gathered: Vec<u64>,
    all_to_all: Vec<i32>,
    all_to_all_v: (Vec<i64>, Vec<usize>),
}

/// Checks [`exchanges`] on every engine against what each rank sent.
pub fn check_exchanges(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    for (me, got) in exchanges(ctx)?.into_iter().enumerate() {
        let mut want = Exchanged::default();
        for root in 0..n {
            want.gathered.push((me == root).then(|| (0..n).map(part).collect()));
            want.gathered_into.push(if me == root { (0..n).flat_map(|r| [r as u16, 7]).collect() } else { Vec::new() });
            want.scattered.push(part(me + root));
            want.scattered_into.push(vec![2 * me as i8, 2 * me as i8 + 1]);
            want.broadcast.push(vec![root as f32 + 0.5, -1.0]);
        }
        want.all_gathered = (0..n).flat_map(|r| [r as u64, 1]).collect();
        want.all_to_all = (0..n).flat_map(|i| [(10 * i + me) as i32, -1]).collect();
        let from: Vec<usize> = (0..n).map(|i| (i + me) % 3).collect();
        want.all_to_all_v = ((0..n).flat_map(|i| vec![(10 * i + me) as i64; from[i]]).collect(), from);
        assert_eq!(got, want, "rank {me} of {n}");
    }
    Ok(())
}

/// Messages around the ring of ranks: blocking, combined, and three
/// immediate ones each way posted before any is waited for; what arrived.
#[local]
pub fn ring(engine: &EngineCtx) -> Vec<Vec<i64>> {
    let comm = engine.comm();
    let (me, n) = (comm.rank(), comm.size());
    let (next, prev) = ((me + 1) % n, (me + n - 1) % n);
    let mut got = vec![comm.send_receive(&[me as i64; 2], next, prev).expect("send_receive")];
    let mut into = [0i64; 3];
    comm.send_receive_into(&[-(me as i64); 3], prev, &mut into, next).expect("send_receive_into");
    got.push(into.to_vec());
    let sends: Vec<_> = (0..3).map(|k| comm.immediate_send(next, &[k, me as i64]).expect("immediate_send")).collect();
    let receives: Vec<_> = (0..3).map(|_| comm.immediate_receive::<i64>(prev)).collect();
    for r in receives {
        got.push(r.wait().expect("immediate_receive"));
    }
    sends.into_iter().for_each(|s| s.wait().expect("send completes"));
    // Large enough for MPI's rendezvous protocol, where two blocking sends
    // to each other would wait forever.
    let big = comm.send_receive(&vec![me as i64; 1 << 17], prev, next).expect("large send_receive");
    assert!(big.len() == 1 << 17 && big.iter().all(|&v| v == next as i64), "large message from rank {next}");
    // Blocking: the even ranks send first (a lone rank sends to itself).
    if me % 2 == 0 || n == 1 {
        comm.send(next, &[me as i64 * 2]).expect("send");
        got.push(comm.receive(prev).expect("receive"));
    } else {
        got.push(comm.receive(prev).expect("receive"));
        comm.send(next, &[me as i64 * 2]).expect("send");
    }
    got
}

/// Checks [`ring`]: each message came from the right neighbour, in order.
pub fn check_point_to_point(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    for (me, got) in ring(ctx)?.into_iter().enumerate() {
        let (next, prev) = ((me + 1) % n, (me + n - 1) % n);
        let want = vec![
            vec![prev as i64; 2],
            vec![-(next as i64); 3],
            vec![0, prev as i64],
            vec![1, prev as i64],
            vec![2, prev as i64],
            vec![prev as i64 * 2],
        ];
        assert_eq!(got, want, "rank {me} of {n}");
    }
    Ok(())
}

/// `data` to `to` and a message from `from`, each when the neighbour
/// exists: [`Collectives::send_receive`] when both do. What arrived.
fn shift(comm: &dyn Comm, data: &[f64], to: Option<usize>, from: Option<usize>) -> Option<Vec<f64>> {
    match (to, from) {
        (Some(to), Some(from)) => Some(comm.send_receive(data, to, from).expect("send_receive")),
        (Some(to), None) => {
            comm.send(to, data).expect("send");
            None
        }
        (None, Some(from)) => Some(comm.receive(from).expect("receive")),
        (None, None) => None,
    }
}

/// The piece with one ghost layer each side of every axis, zero where no
/// neighbour sent one (`periodic`: the axis wraps around), filled by halo
/// exchanges along each axis through the Cartesian view. At most 2-D.
fn with_halo(a: &LocalArray<f64>, comm: &dyn Comm, periodic: bool) -> ArrayD<f64> {
    let cart = a.cart(comm).expect("cart");
    let shape: Vec<usize> = a.shape().iter().map(|n| n + 2).collect();
    let mut padded = ArrayD::zeros(IxDyn(&shape));
    padded.slice_each_axis_mut(|ax| ndarray::Slice::from(1..ax.len - 1)).assign(&**a);
    for axis in 0..a.ndim() {
        let (lower, upper) = if periodic {
            let (l, u) = cart.neighbours_periodic(axis);
            (Some(l), Some(u))
        } else {
            cart.neighbours(axis)
        };
        let n = a.shape()[axis];
        // Whole slabs of the padded piece (ghosts of earlier axes included),
        // so corners travel too.
        let slab = |at: usize| padded.index_axis(Axis(axis), at).iter().copied().collect::<Vec<f64>>();
        let (first, last) = (slab(1), slab(n));
        // Upwards: my last slab to the upper neighbour, the lower one's into
        // my lower ghost; then downwards.
        let from_lower = shift(comm, &last, upper, lower);
        let from_upper = shift(comm, &first, lower, upper);
        for (ghost, got) in [(0, from_lower), (n + 1, from_upper)] {
            if let Some(got) = got {
                let mut view = padded.index_axis_mut(Axis(axis), ghost);
                let values = ArrayD::from_shape_vec(view.raw_dim(), got).expect("a neighbour's slab fits");
                view.assign(&values);
            }
        }
    }
    padded
}

/// The 4-point (2-D) or 2-point (1-D) neighbour sum of every element, zero
/// outside the array, or wrapping around when `periodic`.
#[local]
pub fn neighbour_sum(a: &LocalArray<f64>, periodic: bool, engine: &EngineCtx) -> LocalArray<f64> {
    let padded = with_halo(a, engine.comm(), periodic);
    let mut out = ArrayD::zeros(a.raw_dim());
    for axis in 0..a.ndim() {
        let n = a.shape()[axis];
        for start in [0, 2] {
            let mut view = padded.view();
            for other in 0..a.ndim() {
                let range = if other == axis { start..start + n } else { 1..1 + a.shape()[other] };
                view.slice_axis_inplace(Axis(other), range.into());
            }
            out += &view;
        }
    }
    a.with_data(out).expect("same shape")
}

/// The neighbour sum by ndarray's shifted (or rolled) copies of `x`.
fn shifted_sum(x: &ArrayD<f64>, periodic: bool) -> ArrayD<f64> {
    let mut out = ArrayD::zeros(x.raw_dim());
    for axis in 0..x.ndim() {
        let n = x.shape()[axis];
        for (src, dst) in [(0..n - 1, 1..n), (1..n, 0..n - 1)] {
            out.slice_axis_mut(Axis(axis), dst.into())
                .zip_mut_with(&x.slice_axis(Axis(axis), src.into()), |o, v| *o += v);
        }
        if periodic {
            let (first, last) = (x.index_axis(Axis(axis), 0), x.index_axis(Axis(axis), n - 1));
            out.index_axis_mut(Axis(axis), 0).zip_mut_with(&last, |o, v| *o += v);
            out.index_axis_mut(Axis(axis), n - 1).zip_mut_with(&first, |o, v| *o += v);
        }
    }
    out
}

/// 1-D and 2-D halo exchanges through the Cartesian view, with and without
/// wrapping, against ndarray's shifted arrays.
pub fn check_halo_exchange(ctx: &Context) -> Result<()> {
    let line = Array1::from_shape_fn(17, |i| (i * i) as f64).into_dyn();
    let plane = Array2::from_shape_fn((9, 7), |(i, j)| (10 * i + j) as f64).into_dyn();
    let n = ctx.num_targets();
    let grids: Vec<Vec<usize>> = match n {
        4 => vec![vec![2, 2], vec![4, 1], vec![1, 4]],
        3 => vec![vec![3, 1], vec![1, 3]],
        2 => vec![vec![2, 1], vec![1, 2]],
        _ => vec![vec![1, 1]],
    };
    for periodic in [false, true] {
        let d = Distribution::builder(ctx, &[17]).dist("b").build()?;
        let a = ctx.fromarray(&line, Some(&d))?;
        assert_eq!(neighbour_sum(&a, periodic)?.toarray()?, shifted_sum(&line, periodic), "1-D, periodic {periodic}");
        for grid in &grids {
            let d = Distribution::builder(ctx, &[9, 7]).dist("bb").grid_shape(grid).build()?;
            let a = ctx.fromarray(&plane, Some(&d))?;
            let got = neighbour_sum(&a, periodic)?.toarray()?;
            assert_eq!(got, shifted_sum(&plane, periodic), "2-D on grid {grid:?}, periodic {periodic}");
        }
    }
    Ok(())
}

/// For every local element of `a` (whose values are their C-order global
/// linear index), its global index, whether the value agrees with it, and
/// the piece's ranges, grid coordinates and Cartesian neighbours along
/// axis 0 against the others' coordinates.
#[local]
pub fn positions(a: &LocalArray<i64>, engine: &EngineCtx) -> Positions {
    let comm = engine.comm();
    let shape = a.global_shape();
    let cart = a.cart(comm).expect("cart");
    assert_eq!(cart.coords(), a.grid_coords().as_slice());
    assert_eq!(cart.dims(), a.grid_shape().as_slice());
    assert_eq!(cart.rank(), comm.rank());
    let all: Vec<Vec<usize>> = comm.all_gather(&a.grid_coords()).expect("all_gather");
    let mut neighbours_agree = true;
    for axis in 0..a.ndim() {
        let (lower, upper) = cart.neighbours(axis);
        let expected = |delta: isize| {
            let mut c = a.grid_coords();
            let at = c[axis] as isize + delta;
            (at >= 0 && (at as usize) < a.grid_shape()[axis]).then(|| {
                c[axis] = at as usize;
                all.iter().position(|x| *x == c).expect("a piece at every grid cell")
            })
        };
        neighbours_agree &= (lower, upper) == (expected(-1), expected(1));
    }
    let indices: Vec<Vec<usize>> = ndarray::indices(a.shape()).into_iter().map(|i| a.global_index(i.slice())).collect();
    let values_agree = ndarray::indices(a.shape()).into_iter().zip(&indices).all(|(local, global)| {
        let linear = global.iter().zip(&shape).fold(0, |acc, (&g, &n)| acc * n + g);
        a[local] == linear as i64
    });
    Positions {
        indices,
        per_axis: (0..a.ndim()).map(|axis| a.global_indices(axis)).collect(),
        ranges: a.global_ranges().map(|r| r.into_iter().map(|r| (r.start, r.end)).collect()),
        coords: a.grid_coords(),
        values_agree,
        neighbours_agree,
    }
}

/// What [`positions`] found on one engine.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Positions {
    indices: Vec<Vec<usize>>,
    per_axis: Vec<Vec<usize>>,
    ranges: Option<Vec<(usize, usize)>>,
    coords: Vec<usize>,
    values_agree: bool,
    neighbours_agree: bool,
}

/// `global_index`, `global_indices`, `global_ranges`, `grid_coords` and the
/// Cartesian neighbours against the distribution's maps, for block, cyclic,
/// block-cyclic, unstructured and undistributed axes.
pub fn check_positions(ctx: &Context) -> Result<()> {
    let shape = [11, 6];
    let values = ArrayD::from_shape_vec(IxDyn(&shape), (0..66).collect()).expect("66 values");
    let layouts: [[Dist; 2]; 6] = [
        [Dist::Block, Dist::Block],
        [Dist::CYCLIC, Dist::Block],
        [Dist::BlockCyclic { block_size: 2 }, Dist::NoDist],
        [Dist::Block, Dist::BlockCyclic { block_size: 4 }],
        [Dist::BlockCyclic { block_size: 3 }, Dist::CYCLIC],
        [Dist::Unstructured, Dist::NoDist],
    ];
    for dists in layouts {
        let d = Distribution::builder(ctx, &shape).dists(&dists).build()?;
        let a = ctx.fromarray(&values, Some(&d))?;
        let found = positions(&a)?;
        assert_eq!(found.len(), d.nprocs());
        for (rank, p) in found.into_iter().enumerate() {
            let what = format!("{dists:?}, rank {rank}");
            assert!(p.values_agree, "{what}: values at the global indices");
            assert!(p.neighbours_agree, "{what}: Cartesian neighbours");
            let coords = d.coords(rank);
            assert_eq!(p.coords, coords, "{what}");
            let per_axis: Vec<Vec<usize>> = d.maps().iter().zip(&coords).map(|(m, &c)| m.global_indices(c)).collect();
            assert_eq!(p.per_axis, per_axis, "{what}");
            let product: Vec<Vec<usize>> = ndarray::indices(per_axis.iter().map(Vec::len).collect::<Vec<_>>())
                .into_iter()
                .map(|i| i.slice().iter().zip(&per_axis).map(|(&k, g)| g[k]).collect())
                .collect();
            assert_eq!(p.indices, product, "{what}");
            // A range exactly where each axis's indices are one ascending run.
            let runs: Option<Vec<(usize, usize)>> = per_axis
                .iter()
                .map(|g| match (g.first(), g.windows(2).all(|w| w[1] == w[0] + 1)) {
                    (None, _) => Some((0, 0)),
                    (Some(&f), true) => Some((f, f + g.len())),
                    _ => None,
                })
                .collect();
            assert_eq!(p.ranges, runs, "{what}");
            if dists[0] == Dist::Block && dists[1] == Dist::Block {
                assert!(p.ranges.is_some(), "{what}: block axes always have ranges");
            }
        }
    }
    Ok(())
}

/// Rank 1 fails before the collective the others wait in (`kind` 0: an
/// all-reduce, 1: a gather to rank 1, 2: a receive from rank 1, 3: a panic
/// before a send-receive with rank 1).
#[local]
pub fn fails_before(kind: u8, engine: &EngineCtx) -> Result<usize> {
    let comm = engine.comm();
    if comm.rank() == 1 {
        if kind == 3 {
            panic!("rank one panics before the exchange");
        }
        return Err(Error::new(ErrorKind::InvalidArgument, "rank one gives up before the collective"));
    }
    match kind {
        0 => comm.all_reduce_into(&[1.0f64], &mut [0.0], Op::Sum)?,
        1 => comm.gather(1, &[comm.rank() as u8]).map(drop)?,
        2 => comm.receive::<u8>(1).map(drop)?,
        _ => comm.send_receive(&[0u8], 1, 1).map(drop)?,
    }
    Ok(comm.rank())
}

/// Rank 0 waits for a message rank 1 never sends: only the collective
/// timeout ends its wait.
#[local]
pub fn waits_for_nothing(engine: &EngineCtx) -> Result<usize> {
    let comm = engine.comm();
    if comm.rank() == 0 {
        comm.receive::<u8>(1)?;
    }
    Ok(comm.rank())
}

/// A failing engine unblocks the others (the client gets `Err`, nothing
/// hangs), a receive nobody answers times out (`DISTARRAY_COLLECTIVE_TIMEOUT`,
/// set low by the caller), and the context works afterwards.
pub fn check_failures(ctx: &Context) -> Result<()> {
    for kind in 0..4 {
        let e = fails_before(ctx, kind).expect_err("rank 1 fails");
        assert!(
            e.message().contains("rank one gives up before the collective") || e.message().contains("rank one panics"),
            "kind {kind}: {e}"
        );
        check_point_to_point(ctx)?;
    }
    let e = waits_for_nothing(ctx).expect_err("rank 0 times out");
    assert!(e.message().contains("DISTARRAY_COLLECTIVE_TIMEOUT"), "{e}");
    check_point_to_point(ctx)?;
    check_reductions(ctx)
}

/// Every check but the failures (which need at least 2 engines).
pub fn check_everything(ctx: &Context) -> Result<()> {
    check_reductions(ctx)?;
    check_exchanges(ctx)?;
    check_point_to_point(ctx)?;
    check_halo_exchange(ctx)?;
    check_positions(ctx)
}
