//! The engine side of redistribution: the exchange kernel and its plan.

use std::mem::MaybeUninit;

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{as_bytes, DType, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::comm::{Comm, Received};
use crate::engine::kernel::{
    output_array, output_unit, output_value, register_internal, InternalKernel, KernelInputs, KernelOutput,
};
use crate::engine::local::LocalArray;
use crate::engine::pool;
use crate::layout::{advance, rank_to_coords, Layout, Locator, Map, MapBase};

/// What one engine allocated for one redistribution exchange, as returned by
/// [`DistArray::redistribute_stats`](crate::DistArray::redistribute_stats), with the bound that
/// [`DistArray::distribute_as`](crate::DistArray::distribute_as) documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeStats {
    /// The engine id.
    pub engine: usize,
    /// Bytes of this engine's piece of the source array (0 if it holds none).
    pub source_bytes: usize,
    /// Bytes of this engine's piece of the result (0 if it holds none).
    pub dest_bytes: usize,
    /// Bytes of the send buffer this engine packed (taken from the engine's
    /// buffer pool when it holds one of about that size).
    pub send_bytes: usize,
    /// Bytes of the receive buffer this engine allocated (taken from the
    /// engine's buffer pool when it holds one of about that size): 0 when it
    /// received straight into its new piece (each source's part one run of
    /// it) or read the senders' own buffers (thread engines).
    pub recv_bytes: usize,
    /// Capacity of the per-axis plan tables (index lists, lookups).
    pub plan_bytes: usize,
    /// The documented bound on `send_bytes + recv_bytes + plan_bytes`.
    pub bound_bytes: usize,
}

impl ExchangeStats {
    /// The extra memory the exchange held at most at once (everything it
    /// allocated, counted as if alive together).
    pub fn peak_extra_bytes(&self) -> usize {
        self.send_bytes + self.recv_bytes + self.plan_bytes
    }
}

/// What the client asks of the exchange kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExchangeArgs {
    pub(crate) source: Layout,
    pub(crate) dest: Layout,
    /// The source array's key (held by the source targets only).
    pub(crate) key: String,
    /// The engines running the exchange, in communicator rank order.
    pub(crate) union: Vec<usize>,
    /// Keep the result piece (else only report the statistics).
    pub(crate) keep: bool,
}

/// The exchange of one redistribution, for every element type.
pub(crate) const EXCHANGE: InternalKernel = InternalKernel::new("distarray::redistribute::exchange");

fn grid_of(layout: &Layout) -> Vec<usize> {
    layout.maps.iter().map(MapBase::grid_size).collect()
}

fn local_shape_of(layout: &Layout, rank: usize) -> Vec<usize> {
    let coords = rank_to_coords(rank, &grid_of(layout));
    layout.maps.iter().zip(coords).map(|(m, c)| m.local_size(c)).collect()
}

/// The documented bound (see [`DistArray::distribute_as`](crate::DistArray::distribute_as)) for one engine.
fn bound(args: &ExchangeArgs, src_rank: Option<usize>, dst_rank: Option<usize>, itemsize: usize) -> usize {
    let piece = |layout: &Layout, rank: Option<usize>| {
        rank.map_or((0, 0), |r| {
            let shape = local_shape_of(layout, r);
            (shape.iter().product::<usize>() * itemsize, shape.iter().sum::<usize>())
        })
    };
    let (s, n) = piece(&args.source, src_rank);
    let (d, m) = piece(&args.dest, dst_rank);
    let unstructured: usize = args
        .source
        .maps
        .iter()
        .chain(&args.dest.maps)
        .filter(|m| matches!(m, Map::Unstructured(_)))
        .map(MapBase::size)
        .sum();
    let grids: usize = grid_of(&args.source).iter().chain(&grid_of(&args.dest)).sum();
    s + d + 104 * (n + m) + 16 * unstructured + 160 * grids + 48 * args.union.len()
}

/// The engine side: packs, exchanges, unpacks.
fn run_exchange<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (keep, piece, stats) = {
        let (args, mut arrays, engine) = inputs.split();
        let args: ExchangeArgs = args.decode()?;
        let source = arrays.next_maybe_ref::<T>(&args.key)?;
        let (piece, stats) = exchange(source, &args, engine.engine_id(), engine.comm())?;
        (args.keep, piece, stats)
    };
    match (keep, piece) {
        (true, Some(piece)) => output_array(inputs, piece),
        (true, None) => output_unit(()),
        (false, _) => output_value(&stats),
    }
}

fn exchange<T: Element>(
    source: Option<&LocalArray<T>>,
    args: &ExchangeArgs,
    me: usize,
    comm: &dyn Comm,
) -> Result<(Option<LocalArray<T>>, ExchangeStats)> {
    let size = std::mem::size_of::<T>();
    let position = |t: &usize| {
        args.union
            .iter()
            .position(|u| u == t)
            .ok_or_else(|| err!(Protocol, "engine {t} is not among the exchange's engines"))
    };
    let src_union = args.source.targets.iter().map(position).collect::<Result<Vec<_>>>()?;
    let dst_union = args.dest.targets.iter().map(position).collect::<Result<Vec<_>>>()?;
    if comm.size() != args.union.len() {
        bail!(Protocol, "the exchange runs on {} engines but its communicator has {}", args.union.len(), comm.size());
    }
    let src_rank = args.source.targets.iter().position(|&t| t == me);
    let dst_rank = args.dest.targets.iter().position(|&t| t == me);
    let mut plan = 0usize;
    // One send buffer, the part for each union rank after those of the ranks
    // below it, and one receive buffer likewise: no per-rank buffers to
    // flatten or split around the collective.
    let mut send = Vec::new();
    let mut send_counts = vec![0usize; args.union.len()];
    // A local failure must not leave the other engines waiting in the
    // all-to-all: this engine still takes part (sending nothing), then fails.
    let packed = match (src_rank, source) {
        (Some(rank), Some(piece)) => {
            pack(piece, &args.source, rank, &args.dest, &dst_union, &mut send, &mut send_counts, &mut plan)
        }
        (Some(_), None) => Err(err!(KeyNotFound, "engine {me} holds no array named {:?}", args.key)),
        (None, _) => Ok(()),
    };
    if packed.is_err() {
        send.clear();
        send_counts.fill(0);
    }
    let mut stats = ExchangeStats {
        engine: me,
        source_bytes: source.filter(|_| src_rank.is_some()).map_or(0, |p| p.len() * size),
        send_bytes: send.len(),
        ..ExchangeStats::default()
    };
    // The counts each way.
    plan += 2 * send_counts.capacity() * std::mem::size_of::<usize>();
    // The receive side is planned before the exchange: where each source's
    // part goes, and whether every part is one run of the new piece, which
    // then receives it directly.
    let recv_plan = dst_rank
        .map(|rank| RecvPlan::new::<T>(&args.source, &src_union, &args.dest, rank, args.union.len(), &mut plan));
    let piece = match recv_plan {
        Some(Ok(recv_plan)) if recv_plan.direct.is_some() => {
            let mut out: Vec<T> = pool::vec(recv_plan.total)?;
            let spare = &mut out.spare_capacity_mut()[..recv_plan.total];
            // SAFETY: `MaybeUninit<T>` is `T`'s size, and `T` plain data.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<MaybeUninit<u8>>(), recv_plan.total * size)
            };
            let displs = recv_plan.direct.as_deref().unwrap_or_default();
            let counts = match comm.all_to_all_v_bytes_into(send, &send_counts, bytes, &recv_plan.counts, displs) {
                Ok(counts) => counts,
                Err(e) => {
                    // The collective may still write into the piece.
                    std::mem::forget(out);
                    return Err(e);
                }
            };
            packed?;
            recv_plan.check_counts(&counts)?;
            // SAFETY: the parts, one run each, tile the piece (their sum is
            // its size, checked in `RecvPlan::new`), and the collective
            // wrote them all.
            unsafe { out.set_len(recv_plan.total) };
            if T::DTYPE == DType::Bool && as_bytes(&out).chunks_exact(size).any(|b| !T::valid_bytes(b)) {
                bail!(DTypeMismatch, "a received {} buffer holds an invalid value", T::DTYPE);
            }
            Some(recv_plan.into_piece(out)?)
        }
        recv_plan => {
            let received = comm.all_to_all_v_parts(send, &send_counts)?;
            packed?;
            stats.recv_bytes = received.allocated();
            let counts = received.counts();
            if counts.len() != args.union.len() {
                bail!(Protocol, "the exchange got {} counts for {} engines", counts.len(), args.union.len());
            }
            let piece = match recv_plan {
                Some(recv_plan) => {
                    let recv_plan = recv_plan?;
                    recv_plan.check_counts(&counts)?;
                    Some(unpack::<T>(&received, &recv_plan)?)
                }
                None => {
                    if let Some(from) = counts.iter().position(|&c| c != 0) {
                        bail!(
                            Protocol,
                            "engine {me} holds no result piece but engine {} sent it data",
                            args.union[from]
                        );
                    }
                    None
                }
            };
            comm.release(received)?;
            piece
        }
    };
    stats.dest_bytes = piece.as_ref().map_or(0, |p| p.len() * size);
    stats.plan_bytes = plan;
    stats.bound_bytes = bound(args, src_rank, dst_rank, size);
    Ok((piece, stats))
}

/// Strides of C-order ranks on `grid`.
fn rank_strides(grid: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; grid.len()];
    for k in (0..grid.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * grid[k + 1];
    }
    strides
}

/// Positions along one axis: `count` runs of `len` consecutive positions, the
/// first starting at `start`, each run `step` after the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seg {
    start: usize,
    len: usize,
    step: usize,
    count: usize,
}

impl Seg {
    fn total(&self) -> usize {
        self.len * self.count
    }

    /// The start of every run, in order.
    fn runs(&self) -> impl Iterator<Item = usize> {
        let Seg { start, step, count, .. } = *self;
        (0..count).map(move |r| start + r * step)
    }
}

/// Per grid coordinate of one map, the ordered positions along one axis (of
/// the other map's piece) that it owns, merged into as few [`Seg`]s as possible.
struct Segments(Vec<Vec<Seg>>);

impl Segments {
    fn new(grid: usize) -> Self {
        Segments((0..grid).map(|_| Vec::new()).collect())
    }

    /// Appends `len` positions from `start` to coordinate `c`.
    fn push(&mut self, c: usize, start: usize, len: usize) {
        self.push_seg(c, Seg { start, len, step: len, count: 1 });
    }

    fn push_seg(&mut self, c: usize, seg: Seg) {
        if seg.count == 0 || seg.len == 0 {
            return;
        }
        let list = &mut self.0[c];
        if let Some(last) = list.last_mut() {
            let end = last.start + (last.count - 1) * last.step + last.len;
            if seg.count == 1 && last.count == 1 && seg.start == end {
                last.len += seg.len;
                last.step = last.len;
                return;
            }
            if seg.count == 1 && seg.len == last.len && seg.start >= end {
                if last.count == 1 {
                    last.step = seg.start - last.start;
                    last.count = 2;
                    return;
                }
                if seg.start == last.start + last.count * last.step {
                    last.count += 1;
                    return;
                }
            }
        }
        list.push(seg);
    }

    /// The number of positions of coordinate `c`.
    fn total(&self, c: usize) -> usize {
        self.0[c].iter().map(Seg::total).sum()
    }

    fn bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Vec<Seg>>()
            + self.0.iter().map(|l| l.capacity() * std::mem::size_of::<Seg>()).sum::<usize>()
    }
}

/// The global index of each local position of one map coordinate, computed
/// arithmetically except for unstructured maps.
enum Globals {
    Offset(usize),
    Cyclic { block: usize, grid: usize, coord: usize },
    Table(Vec<usize>),
}

impl Globals {
    fn new(map: &Map, coord: usize, plan: &mut usize) -> Self {
        match map {
            Map::Block(m) => Globals::Offset(m.bounds()[coord]),
            Map::NoDist(_) => Globals::Offset(0),
            Map::BlockCyclic(m) => Globals::Cyclic { block: m.block_size(), grid: m.grid_size(), coord },
            Map::Unstructured(_) => {
                let table = map.global_indices(coord);
                *plan += table.capacity() * std::mem::size_of::<usize>();
                Globals::Table(table)
            }
        }
    }

    /// The global index of local position `i`, and how many positions from `i`
    /// (at most `rest`) have consecutive global indices.
    fn run(&self, i: usize, rest: usize) -> (usize, usize) {
        match self {
            Globals::Offset(lo) => (lo + i, rest),
            Globals::Cyclic { block, grid, coord } => {
                (((i / block) * grid + coord) * block + i % block, rest.min(block - i % block))
            }
            Globals::Table(t) => (t[i], 1),
        }
    }
}

/// How many of the global indices below `x` coordinate `coord` of an ordered
/// (block, block-cyclic or not distributed) map owns; `None` if unstructured.
fn owned_below(map: &Map, coord: usize, x: usize) -> Option<usize> {
    match map {
        Map::Block(m) => {
            let (lo, hi) = (m.bounds()[coord], m.bounds()[coord + 1]);
            Some(x.clamp(lo, hi) - lo)
        }
        Map::NoDist(m) => Some(x.min(m.size())),
        Map::BlockCyclic(m) => {
            let (b, grid) = (m.block_size(), m.grid_size());
            let x = x.min(m.size());
            let blocks = x / b;
            let whole = if blocks > coord { (blocks - coord - 1) / grid + 1 } else { 0 };
            let partial = if blocks % grid == coord { x % b } else { 0 };
            Some(whole * b + partial)
        }
        Map::Unstructured(_) => None,
    }
}

/// Splits the consecutive global indices `g..g + len`, at local positions
/// `i..i + len` of the walked piece, by the coordinate of `other` owning them.
fn split_run(other: &Locator<'_>, mut g: usize, mut i: usize, mut len: usize, segs: &mut Segments) {
    if let Locator::Cyclic { block: b, grid } = *other {
        if len >= 2 * b * grid {
            // The whole blocks form one strided segment per coordinate.
            let head = (b - g % b) % b;
            if head > 0 {
                segs.push(other.locate(g).0, i, head);
            }
            let (g1, i1) = (g + head, i + head);
            let whole = (len - head) / b;
            for r in 0..grid.min(whole) {
                let c = (g1 / b + r) % grid;
                let count = (whole - r).div_ceil(grid);
                segs.push_seg(c, Seg { start: i1 + r * b, len: b, step: b * grid, count });
            }
            let rest = len - head - whole * b;
            if rest > 0 {
                segs.push(other.locate(g1 + whole * b).0, i1 + whole * b, rest);
            }
            return;
        }
    }
    while len > 0 {
        let (c, _) = other.locate(g);
        let run = len.min(other.run_len(g, c));
        segs.push(c, i, run);
        g += run;
        i += run;
        len -= run;
    }
}

/// For the piece of `walked` at grid coordinate `coord`: per coordinate of
/// `other`, the local positions of that piece whose global indices the
/// coordinate owns, in local order (computed per run of positions, not per
/// element, for block and block-cyclic maps).
fn axis_segments(walked: &Map, coord: usize, other: &Map, plan: &mut usize) -> Segments {
    let n = walked.local_size(coord);
    let mut segs = Segments::new(other.grid_size());
    match other {
        Map::Block(m) if owned_below(walked, coord, 0).is_some() => {
            for (c, w) in m.bounds().windows(2).enumerate() {
                let lo = owned_below(walked, coord, w[0]).unwrap_or(0);
                let hi = owned_below(walked, coord, w[1]).unwrap_or(0);
                segs.push(c, lo, hi - lo);
            }
        }
        Map::NoDist(_) => segs.push(0, 0, n),
        _ => {
            let globals = Globals::new(walked, coord, plan);
            let locator = Locator::new(other, plan);
            let mut i = 0;
            while i < n {
                let (g, len) = globals.run(i, n - i);
                split_run(&locator, g, i, len, &mut segs);
                i += len;
            }
        }
    }
    *plan += segs.bytes();
    segs
}

/// The local positions of a piece of `dst` (at `coord`) that each coordinate
/// of `src` sends, in the order that coordinate sends them (its local order).
fn receive_segments(dst: &Map, coord: usize, src: &Map, plan: &mut usize) -> Segments {
    let ordered = |m: &Map| !matches!(m, Map::Unstructured(_));
    if ordered(dst) && ordered(src) {
        // Both local orders are the global order.
        return axis_segments(dst, coord, src, plan);
    }
    let globals = Globals::new(dst, coord, plan);
    let locator = Locator::new(src, plan);
    let n = dst.local_size(coord);
    let mut located: Vec<(usize, usize, usize)> = (0..n)
        .map(|q| {
            let (c, p) = locator.locate(globals.run(q, 1).0);
            (c, p, q)
        })
        .collect();
    if !located.windows(2).all(|w| w[0] <= w[1]) {
        located.sort_unstable();
    }
    let mut segs = Segments::new(src.grid_size());
    located.iter().for_each(|&(c, _, q)| segs.push(c, q, 1));
    *plan += located.capacity() * std::mem::size_of::<(usize, usize, usize)>() + segs.bytes();
    segs
}

/// Per coordinate, the flat offsets (by `stride`) of the positions of `segs`.
fn offsets(segs: &Segments, stride: usize, plan: &mut usize) -> Vec<Vec<usize>> {
    let offsets: Vec<Vec<usize>> = segs
        .0
        .iter()
        .map(|list| {
            list.iter().flat_map(|s| s.runs().flat_map(move |r| (r..r + s.len).map(move |p| p * stride))).collect()
        })
        .collect();
    *plan += offsets
        .iter()
        .map(|o| o.capacity() * std::mem::size_of::<usize>() + std::mem::size_of::<Vec<usize>>())
        .sum::<usize>();
    offsets
}

/// Calls `f` with every sum of one offset per axis, in C order.
fn for_each_offset(axes: &[&[usize]], mut f: impl FnMut(usize)) {
    if axes.iter().any(|a| a.is_empty()) {
        return;
    }
    let shape: Vec<usize> = axes.iter().map(|a| a.len()).collect();
    let mut idx = vec![0usize; axes.len()];
    loop {
        f(axes.iter().zip(&idx).map(|(o, &i)| o[i]).sum());
        if !advance(&mut idx, &shape) {
            break;
        }
    }
}

/// Appends the bytes of `count` elements of `values`, `step` apart from
/// `start`: the strided case (runs of one element), written through spare
/// capacity one unaligned element at a time so the loop stays tight.
///
/// **Panics** if `values` is too short or `buf` lacks the capacity.
fn push_strided<T: Element>(buf: &mut Vec<u8>, values: &[T], start: usize, step: usize, count: usize) {
    let size = std::mem::size_of::<T>();
    let spare = &mut buf.spare_capacity_mut()[..count * size];
    let mut written = 0;
    for (j, v) in values[start..].iter().step_by(step).take(count).enumerate() {
        // SAFETY: `j < count`, so the `size` bytes at `j * size` lie in `spare`.
        unsafe { spare.as_mut_ptr().cast::<u8>().add(j * size).cast::<T>().write_unaligned(*v) };
        written += 1;
    }
    assert_eq!(written, count, "a strided run reaches past the piece");
    let len = buf.len() + count * size;
    // SAFETY: the `count * size` bytes after the old length were all written.
    unsafe { buf.set_len(len) };
}

/// Copies `bytes` (native order, whole elements) into `out` from element
/// `at` on, with one memcpy.
///
/// **Panics** if `out` is too short.
fn copy_run<T: Element>(out: &mut [MaybeUninit<T>], at: usize, bytes: &[u8]) {
    let dst = &mut out[at..at + bytes.len() / std::mem::size_of::<T>()];
    assert_eq!(std::mem::size_of_val(dst), bytes.len());
    // SAFETY: the lengths match and the regions do not overlap; every
    // `Element` is plain data, and the caller checked bool bit patterns.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), bytes.len()) };
}

/// Positions of a 1-D piece packed per destination at a time, all
/// destinations taking turns (see [`pack`]).
const WINDOW: usize = 1 << 13;

/// One destination's part of a 1-D send buffer being packed: its runs, how
/// far they are done, and the byte where the next one goes.
struct Part<'a> {
    segs: &'a [Seg],
    seg: usize,
    run: usize,
    at: usize,
}

impl Part<'_> {
    /// Packs the runs of this part that start below position `end`.
    fn pack_below<T: Element>(&mut self, end: usize, values: &[T], out: &mut [MaybeUninit<u8>]) {
        let size = std::mem::size_of::<T>();
        while let Some(seg) = self.segs.get(self.seg) {
            let first = seg.start + self.run * seg.step;
            if first >= end {
                return;
            }
            let runs = (seg.count - self.run).min((end - first).div_ceil(seg.step.max(1)));
            let bytes = &mut out[self.at..self.at + runs * seg.len * size];
            if seg.len == 1 {
                let mut written = 0;
                for (j, v) in values[first..].iter().step_by(seg.step).take(runs).enumerate() {
                    // SAFETY: `j < runs`, so the `size` bytes at `j * size` lie in `bytes`.
                    unsafe { bytes.as_mut_ptr().cast::<u8>().add(j * size).cast::<T>().write_unaligned(*v) };
                    written += 1;
                }
                assert_eq!(written, runs, "a strided run reaches past the piece");
            } else if seg.step == seg.len {
                // Runs back to back: one copy.
                bytes.copy_from_slice(uninit(as_bytes(&values[first..first + runs * seg.len])));
            } else {
                for (k, chunk) in bytes.chunks_exact_mut(seg.len * size).enumerate() {
                    let r = first + k * seg.step;
                    chunk.copy_from_slice(uninit(as_bytes(&values[r..r + seg.len])));
                }
            }
            self.at += runs * seg.len * size;
            self.run += runs;
            if self.run == seg.count {
                self.seg += 1;
                self.run = 0;
            }
        }
    }
}

/// `bytes` as possibly uninitialized bytes, to copy into spare capacity.
fn uninit(bytes: &[u8]) -> &[MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and every `u8` is a
    // valid `MaybeUninit<u8>`.
    unsafe { &*(bytes as *const [u8] as *const [MaybeUninit<u8>]) }
}

/// Packs this engine's source piece into `send`, the part for each union rank
/// after those of the ranks below it (`counts[u]` bytes for union rank `u`),
/// copying runs of consecutive elements with the same destination in one go.
#[allow(clippy::too_many_arguments)] // the plan's inputs, and the two outputs
fn pack<T: Element>(
    piece: &LocalArray<T>,
    src: &Layout,
    rank: usize,
    dst: &Layout,
    dst_union: &[usize],
    send: &mut Vec<u8>,
    counts: &mut [usize],
    plan: &mut usize,
) -> Result<()> {
    let ndim = src.maps.len();
    let shape = piece.local_shape().to_vec();
    if shape.contains(&0) {
        return Ok(());
    }
    let values = Side::Engine.standard(piece.view())?;
    let size = std::mem::size_of::<T>();
    if ndim == 0 {
        *send = Side::Engine.copy(as_bytes(&values[..1]))?;
        counts[dst_union[0]] = size;
        return Ok(());
    }
    let coords = rank_to_coords(rank, &grid_of(src));
    let dgrid = grid_of(dst);
    // Per axis, per destination coordinate: the local positions sent there.
    let segs: Vec<Segments> = (0..ndim).map(|k| axis_segments(&src.maps[k], coords[k], &dst.maps[k], plan)).collect();
    let strides = rank_strides(&shape);
    let outer_offsets: Vec<Vec<Vec<usize>>> = (0..ndim - 1).map(|k| offsets(&segs[k], strides[k], plan)).collect();
    let elements = |d: usize| {
        let dc = rank_to_coords(d, &dgrid);
        (0..ndim).map(|k| segs[k].total(dc[k])).product::<usize>()
    };
    // Each part has its own element count, so the sum fits: it is at most
    // the piece's.
    *send = pool::vec((0..dst_union.len()).map(elements).sum::<usize>() * size)?;
    // The destination ranks in union rank order.
    let mut order: Vec<(usize, usize)> = dst_union.iter().enumerate().map(|(d, &u)| (u, d)).collect();
    order.sort_unstable();
    *plan += order.capacity() * std::mem::size_of::<(usize, usize)>();
    let buf = send;
    if ndim == 1 && order.len() > 1 {
        // One axis: every destination's runs are ascending positions of the
        // piece. Taken window by window, all destinations at once, the
        // piece is read from memory once instead of once per destination
        // (block -> cyclic reads every destination's elements interleaved).
        let mut at = 0;
        let mut parts: Vec<Part<'_>> = Vec::with_capacity(order.len());
        for &(u, d) in &order {
            let n = elements(d);
            counts[u] = n * size;
            parts.push(Part { segs: &segs[0].0[rank_to_coords(d, &dgrid)[0]], seg: 0, run: 0, at });
            at += n * size;
        }
        *plan += parts.capacity() * std::mem::size_of::<Part<'_>>();
        let spare = &mut buf.spare_capacity_mut()[..at];
        let mut window = 0;
        while parts.iter().any(|p| p.seg < p.segs.len()) {
            window += WINDOW;
            parts.iter_mut().for_each(|p| p.pack_below(window, &values, spare));
        }
        debug_assert!(parts.iter().zip(&order).all(|(p, &(u, _))| p.at == counts[..=u].iter().sum::<usize>()));
        // SAFETY: every part wrote all its `counts[u]` bytes (its runs
        // cover them), and the parts tile `0..at`.
        unsafe { buf.set_len(at) };
        return Ok(());
    }
    for &(u, d) in &order {
        let n = elements(d);
        if n == 0 {
            continue;
        }
        let dc = rank_to_coords(d, &dgrid);
        let outer: Vec<&[usize]> = (0..ndim - 1).map(|k| outer_offsets[k][dc[k]].as_slice()).collect();
        let last = &segs[ndim - 1].0[dc[ndim - 1]];
        let before = buf.len();
        for_each_offset(&outer, |base| {
            for seg in last {
                if seg.len == 1 {
                    push_strided(buf, &values, base + seg.start, seg.step, seg.count);
                } else {
                    for r in seg.runs() {
                        buf.extend_from_slice(as_bytes(&values[base + r..base + r + seg.len]));
                    }
                }
            }
        });
        counts[u] = buf.len() - before;
        debug_assert_eq!(counts[u], n * size);
    }
    Ok(())
}

/// The receive side of one engine: the shape and plan of its result piece,
/// what each union rank sends it and, when every part is one run of the
/// piece, where each starts.
struct RecvPlan {
    shape: Vec<usize>,
    dim_data: Vec<crate::layout::DimDict>,
    /// Elements of the piece, and bytes of one.
    total: usize,
    size: usize,
    /// Per union rank, the source rank it is (if any).
    sources: Vec<Option<usize>>,
    /// Per axis, per source coordinate: the local positions here of the
    /// indices that source coordinate sends, in its own local order.
    segs: Vec<Segments>,
    outer_offsets: Vec<Vec<Vec<usize>>>,
    sgrid: Vec<usize>,
    /// Bytes expected from each union rank.
    counts: Vec<usize>,
    /// Per union rank, the byte offset in the piece of its part, if every
    /// part is one run.
    direct: Option<Vec<usize>>,
}

impl RecvPlan {
    fn new<T: Element>(
        src: &Layout,
        src_union: &[usize],
        dst: &Layout,
        rank: usize,
        union: usize,
        plan: &mut usize,
    ) -> Result<Self> {
        let ndim = dst.maps.len();
        let size = std::mem::size_of::<T>();
        let coords = rank_to_coords(rank, &grid_of(dst));
        let dim_data = dst.maps.iter().zip(&coords).map(|(m, &c)| m.dimdict(c)).collect();
        let shape: Vec<usize> = dst.maps.iter().zip(&coords).map(|(m, &c)| m.local_size(c)).collect();
        let total = size_of_shape(&shape)?;
        let sgrid = grid_of(src);
        let segs: Vec<Segments> = if total > 0 {
            (0..ndim).map(|k| receive_segments(&dst.maps[k], coords[k], &src.maps[k], plan)).collect()
        } else {
            Vec::new()
        };
        let strides = rank_strides(&shape);
        let outer_offsets: Vec<Vec<Vec<usize>>> =
            segs.iter().take(ndim.saturating_sub(1)).enumerate().map(|(k, sg)| offsets(sg, strides[k], plan)).collect();
        let mut sources = vec![None; union];
        for (s, &u) in src_union.iter().enumerate() {
            sources[u] = Some(s);
        }
        let mut this = RecvPlan {
            shape,
            dim_data,
            total,
            size,
            sources,
            segs,
            outer_offsets,
            sgrid,
            counts: vec![0; union],
            direct: None,
        };
        let mut direct = Some(vec![0usize; union]);
        for u in 0..union {
            let Some(s) = this.sources[u] else { continue };
            let elements = this.elements(s);
            this.counts[u] = elements * size;
            if elements == 0 || ndim == 0 {
                continue;
            }
            if let Some(d) = direct.as_mut() {
                match this.one_run(s) {
                    Some(start) => d[u] = start * size,
                    None => direct = None,
                }
            }
        }
        if ndim == 0 || this.counts.iter().sum::<usize>() != total * size {
            // (A mismatch is reported after the exchange.)
            direct = None;
        }
        *plan += 3 * union * std::mem::size_of::<usize>();
        this.direct = direct;
        Ok(this)
    }

    /// The number of elements source rank `s` sends here.
    fn elements(&self, s: usize) -> usize {
        if self.total == 0 {
            return 0;
        }
        let sc = rank_to_coords(s, &self.sgrid);
        (0..self.segs.len()).map(|k| self.segs[k].total(sc[k])).product()
    }

    /// The axis offsets and last-axis segments of source rank `s`.
    fn walk(&self, s: usize) -> (Vec<&[usize]>, &[Seg]) {
        let ndim = self.segs.len();
        let sc = rank_to_coords(s, &self.sgrid);
        let outer = (0..ndim - 1).map(|k| self.outer_offsets[k][sc[k]].as_slice()).collect();
        (outer, &self.segs[ndim - 1].0[sc[ndim - 1]])
    }

    /// The first position of the part of source rank `s` (`ndim > 0`, not
    /// empty), if it is one run of consecutive positions in its order.
    fn one_run(&self, s: usize) -> Option<usize> {
        let (outer, last) = self.walk(s);
        let (mut first, mut next, mut run) = (None, 0, true);
        for_each_offset(&outer, |base| {
            for seg in last.iter().filter(|_| run) {
                if seg.count > 1 && seg.step != seg.len {
                    run = false;
                    return;
                }
                let start = base + seg.start;
                match first {
                    None => first = Some(start),
                    Some(_) if start != next => {
                        run = false;
                        return;
                    }
                    Some(_) => {}
                }
                next = start + seg.len * seg.count;
            }
        });
        first.filter(|_| run)
    }

    /// Checks the counts that arrived against the expected ones.
    fn check_counts(&self, counts: &[usize]) -> Result<()> {
        for (u, (&got, &want)) in counts.iter().zip(&self.counts).enumerate() {
            if got == want {
                continue;
            }
            match self.sources[u] {
                Some(s) => bail!(
                    Protocol,
                    "source rank {s} sent {got} bytes where {} elements were expected",
                    want / self.size
                ),
                // Engines that hold no source piece must have sent nothing.
                None => bail!(Protocol, "union rank {u} sent data but holds no source piece"),
            }
        }
        if counts.len() != self.counts.len() {
            bail!(Protocol, "the exchange got {} counts for {} engines", counts.len(), self.counts.len());
        }
        Ok(())
    }

    fn into_piece<T: Element>(self, out: Vec<T>) -> Result<LocalArray<T>> {
        let data = ArrayD::from_shape_vec(IxDyn(&self.shape), out).map_err(|e| err!(InvalidShape, "{e}"))?;
        LocalArray::new(data, self.dim_data)
    }
}

/// Builds this engine's result piece from what every source rank sent (whose
/// counts `plan` checked).
fn unpack<T: Element>(received: &Received, plan: &RecvPlan) -> Result<LocalArray<T>> {
    let ndim = plan.shape.len();
    let size = std::mem::size_of::<T>();
    let total = plan.total;
    // Written through spare capacity: the receive segments of the source
    // coordinates partition the local positions, so every element is written
    // exactly once (counted below before the length is set).
    let mut out: Vec<T> = pool::vec(total)?;
    let spare = &mut out.spare_capacity_mut()[..total];
    let mut written = 0usize;
    for (u, source) in plan.sources.iter().enumerate() {
        let (Some(s), bytes) = (*source, received.part(u)) else { continue };
        if bytes.is_empty() {
            continue;
        }
        if T::DTYPE == DType::Bool && bytes.chunks_exact(size).any(|b| !T::valid_bytes(b)) {
            bail!(DTypeMismatch, "a received {} buffer holds an invalid value", T::DTYPE);
        }
        if ndim == 0 {
            copy_run(spare, 0, &bytes[..size]);
            written += 1;
            continue;
        }
        let (outer, last) = plan.walk(s);
        let mut at = 0;
        for_each_offset(&outer, |base| {
            for seg in last {
                if seg.len == 1 {
                    let from = &bytes[at..at + seg.count * size];
                    for (v, chunk) in
                        spare[base + seg.start..].iter_mut().step_by(seg.step).zip(from.chunks_exact(size))
                    {
                        // SAFETY: `chunk` holds one element's bytes, checked valid for `T`.
                        v.write(unsafe { chunk.as_ptr().cast::<T>().read_unaligned() });
                        written += 1;
                    }
                    at += seg.count * size;
                } else {
                    for r in seg.runs() {
                        copy_run(spare, base + r, &bytes[at..at + seg.len * size]);
                        written += seg.len;
                        at += seg.len * size;
                    }
                }
            }
        });
    }
    if written != total {
        bail!(Protocol, "the exchange wrote {written} of the piece's {total} elements");
    }
    // SAFETY: all `total` elements were written (the segments do not overlap,
    // as `segments_match_brute_force` checks, and their count is `total`).
    unsafe { out.set_len(total) };
    let data = ArrayD::from_shape_vec(IxDyn(&plan.shape), out).map_err(|e| err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, plan.dim_data.clone())
}

register_internal!(EXCHANGE, run_exchange);

#[cfg(test)]
mod tests {
    use super::*;

    use crate::layout::{BlockCyclicMap, BlockMap, NoDistMap, UnstructuredMap};

    fn expand(segs: &[Seg]) -> Vec<usize> {
        segs.iter().flat_map(|s| s.runs().flat_map(move |r| r..r + s.len)).collect()
    }

    fn maps(size: usize) -> Vec<Map> {
        let mut maps = vec![Map::NoDist(NoDistMap::new(size, 1).unwrap())];
        for grid in [1, 2, 3, 4] {
            maps.push(Map::Block(BlockMap::new(size, grid).unwrap()));
            for block in [1, 2, 3, 7] {
                maps.push(Map::BlockCyclic(BlockCyclicMap::new(size, grid, block).unwrap()));
            }
            // Reversed round-robin ownership, unordered local order.
            let mut indices = vec![Vec::new(); grid];
            (0..size).rev().for_each(|g| indices[g % grid].push(g));
            maps.push(Map::Unstructured(UnstructuredMap::new(size, grid, Some(indices)).unwrap()));
        }
        maps
    }

    /// The arithmetic plans equal the element-by-element definition, for
    /// short axes and long ones (strided runs over whole cyclic blocks).
    #[test]
    fn segments_match_brute_force() {
        for size in [0, 1, 5, 13, 100] {
            let all = maps(size);
            for walked in &all {
                for other in &all {
                    let locator = Locator::new(other, &mut 0);
                    for coord in 0..walked.grid_size() {
                        let globals = walked.global_indices(coord);
                        let segs = axis_segments(walked, coord, other, &mut 0);
                        let recv = receive_segments(walked, coord, other, &mut 0);
                        for c in 0..other.grid_size() {
                            let want: Vec<usize> =
                                (0..globals.len()).filter(|&i| locator.locate(globals[i]).0 == c).collect();
                            assert_eq!(expand(&segs.0[c]), want, "{walked:?} {coord} / {other:?} {c}");
                            assert_eq!(segs.total(c), want.len());
                            let mut by_source = want.clone();
                            by_source.sort_by_key(|&q| locator.locate(globals[q]).1);
                            assert_eq!(expand(&recv.0[c]), by_source, "{walked:?} {coord} / {other:?} {c}");
                        }
                    }
                }
            }
        }
    }
}
