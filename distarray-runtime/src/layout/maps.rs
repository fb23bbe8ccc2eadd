//! One-dimensional maps: which grid rank along an axis owns which global index
//! (DistArray's `BlockMap`, `BlockCyclicMap`, `NoDistMap`, `UnstructuredMap`).

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::dim_data::{DimDict, GlobalDimDict};
use crate::core::alloc::Side;
use crate::core::error::{bail, err, Error, Result};

/// How one axis is distributed, as given by a user (letters 'b','c','n','u').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dist {
    /// `'b'`: one contiguous piece per grid rank.
    Block,
    /// `'c'`: blocks of `block_size` dealt round-robin (`'c'` means block size 1).
    BlockCyclic {
        /// Length of each dealt block (>= 1).
        block_size: usize,
    },
    /// `'n'`: not distributed; the axis' grid size is 1.
    NoDist,
    /// `'u'`: an explicit index list per grid rank.
    Unstructured,
}

const VALID_LETTERS: &str = "'b' (block), 'c' (cyclic), 'n' (not distributed), 'u' (unstructured)";

impl Dist {
    /// Plain cyclic: block-cyclic with block size 1.
    pub const CYCLIC: Dist = Dist::BlockCyclic { block_size: 1 };

    /// The distribution named by a letter: `'b'`, `'c'` (block size 1), `'n'`, `'u'`.
    pub fn from_char(c: char) -> Result<Dist> {
        match c {
            'b' => Ok(Dist::Block),
            'c' => Ok(Dist::CYCLIC),
            'n' => Ok(Dist::NoDist),
            'u' => Ok(Dist::Unstructured),
            _ => bail!(InvalidDist, "unknown distribution type {c:?}; valid ones are {VALID_LETTERS}"),
        }
    }

    /// One distribution per character, e.g. `"bcn"`.
    pub fn parse(s: &str) -> Result<Vec<Dist>> {
        s.chars()
            .enumerate()
            .map(|(i, c)| Dist::from_char(c).map_err(|e| e.context(format_args!("distribution {s:?}, axis {i}"))))
            .collect()
    }

    /// The protocol letter (`'c'` for any block size).
    pub fn letter(self) -> char {
        match self {
            Dist::Block => 'b',
            Dist::BlockCyclic { .. } => 'c',
            Dist::NoDist => 'n',
            Dist::Unstructured => 'u',
        }
    }

    /// The map of this type described by one axis' dim dicts (see
    /// [`Map::from_axis_dim_dicts`]). For block-cyclic the dicts' block size
    /// is used, not `self`'s.
    pub fn from_axis_dim_dicts(self, dicts: &[DimDict]) -> Result<Map> {
        Ok(match self {
            Dist::Block => Map::Block(BlockMap::from_axis_dim_dicts(dicts)?),
            Dist::BlockCyclic { .. } => Map::BlockCyclic(BlockCyclicMap::from_axis_dim_dicts(dicts)?),
            Dist::NoDist => Map::NoDist(NoDistMap::from_axis_dim_dicts(dicts)?),
            Dist::Unstructured => Map::Unstructured(UnstructuredMap::from_axis_dim_dicts(dicts)?),
        })
    }

    /// The map of this type described by a global dim dict, which must be of
    /// the same type. For block-cyclic the dict's block size is used.
    pub fn from_global_dim_dict(self, d: &GlobalDimDict) -> Result<Map> {
        Ok(match self {
            Dist::Block => Map::Block(BlockMap::from_global_dim_dict(d)?),
            Dist::BlockCyclic { .. } => Map::BlockCyclic(BlockCyclicMap::from_global_dim_dict(d)?),
            Dist::NoDist => Map::NoDist(NoDistMap::from_global_dim_dict(d)?),
            Dist::Unstructured => Map::Unstructured(UnstructuredMap::from_global_dim_dict(d)?),
        })
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dist::BlockCyclic { block_size } if *block_size != 1 => write!(f, "c(block_size={block_size})"),
            d => write!(f, "{}", d.letter()),
        }
    }
}

/// The map type for a protocol letter (DistArray's `choose_map`).
pub fn choose_map(dist_type: char) -> Result<Dist> {
    Dist::from_char(dist_type)
}

/// The map described by a global dim dict, of the dict's own type.
pub fn map_from_global_dim_dict(d: &GlobalDimDict) -> Result<Map> {
    let dist = match d {
        GlobalDimDict::Block { .. } => Dist::Block,
        GlobalDimDict::BlockCyclic { block_size, .. } => Dist::BlockCyclic { block_size: *block_size },
        GlobalDimDict::NoDist { .. } => Dist::NoDist,
        GlobalDimDict::Unstructured { .. } => Dist::Unstructured,
    };
    dist.from_global_dim_dict(d)
}

/// The default map of type `dist` for an axis of `size` over `grid_size` ranks.
pub fn map_from_sizes(size: usize, dist: Dist, grid_size: usize) -> Result<Map> {
    Ok(match dist {
        Dist::Block => Map::Block(BlockMap::new(size, grid_size)?),
        Dist::BlockCyclic { block_size } => Map::BlockCyclic(BlockCyclicMap::new(size, grid_size, block_size)?),
        Dist::NoDist => Map::NoDist(NoDistMap::new(size, grid_size)?),
        Dist::Unstructured => Map::Unstructured(UnstructuredMap::new(size, grid_size, None)?),
    })
}

/// Methods every 1-D map has (the reference's MapBase). Implemented by the four
/// map structs and by [`Map`].
pub trait MapBase {
    /// The distribution type (with the block size for block-cyclic).
    fn dist(&self) -> Dist;
    /// Global length of the axis.
    fn size(&self) -> usize;
    /// Number of grid ranks along the axis.
    fn grid_size(&self) -> usize;
    /// Grid ranks along this axis that may own `idx`; Err(IndexOutOfBounds) when idx >= size.
    fn owners(&self, idx: usize) -> Result<Vec<usize>>;
    /// Whether `other` is the same map type with the same parameters (same layout).
    fn is_compatible(&self, other: &Map) -> bool;
    /// One dim dict per grid rank, in rank order.
    fn get_dimdicts(&self) -> Vec<DimDict>;
    /// The dim dict of `grid_rank`.
    ///
    /// **Panics** if `grid_rank >= self.grid_size()`.
    fn dimdict(&self, grid_rank: usize) -> DimDict;
    /// The global description of the axis.
    fn global_dim_dict(&self) -> GlobalDimDict;
    /// Number of indices held by `grid_rank` (0 for a rank outside the grid).
    fn local_size(&self, grid_rank: usize) -> usize;
    /// Global indices owned by `grid_rank`, in local storage order (empty for a
    /// rank outside the grid).
    fn global_indices(&self, grid_rank: usize) -> Vec<usize>;
    /// `Some(start..stop)` when that rank's indices are one contiguous ascending
    /// range (block, nodist, and cyclic/unstructured when it happens), for fast
    /// slicing; `None` otherwise and for a rank outside the grid.
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>>;
}

fn check_idx(idx: usize, size: usize) -> Result<()> {
    if idx >= size {
        bail!(IndexOutOfBounds, "index {idx} is out of bounds for an axis of size {size}");
    }
    Ok(())
}

fn check_grid_size(grid_size: usize) -> Result<()> {
    if grid_size == 0 {
        bail!(InvalidGridShape, "grid size must be at least 1, got 0");
    }
    Ok(())
}

/// A vector with room for `n` items, failing instead of aborting when `n` is
/// absurd: a grid or axis too large to tabulate is an invalid grid.
fn vec_with_capacity<T>(n: usize) -> Result<Vec<T>> {
    Side::Here.vec(n).map_err(|e| err!(InvalidGridShape, "{} (grid or axis too large)", e.message()))
}

/// Re-labels any error as InvalidDimData, for maps built from dim data.
fn as_dim_data_error(what: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |e| err!(InvalidDimData, "{what}: {}", e.message())
}

/// Checks one axis' dim dicts (repeats allowed, any order) and returns one per
/// grid rank, in rank order, with the common size and grid size.
fn collect_axis(dicts: &[DimDict], dist_type: char) -> Result<(usize, usize, Vec<&DimDict>)> {
    let Some(first) = dicts.first() else {
        bail!(InvalidDimData, "no dim dicts given for the axis");
    };
    let (size, grid_size) = (first.size(), first.proc_grid_size());
    if grid_size == 0 {
        bail!(InvalidDimData, "dim dict has proc_grid_size 0: {first:?}");
    }
    for d in dicts {
        if d.dist_type() != dist_type {
            bail!(
                InvalidDimData,
                "expected dist_type {dist_type:?} for every rank of the axis, found {:?}: {d:?}",
                d.dist_type()
            );
        }
        if d.size() != size || d.proc_grid_size() != grid_size {
            bail!(
                InvalidDimData,
                "dim dicts of one axis disagree: size {size}, proc_grid_size {grid_size} vs size {}, proc_grid_size {}",
                d.size(),
                d.proc_grid_size()
            );
        }
        if d.proc_grid_rank() >= grid_size {
            bail!(InvalidDimData, "proc_grid_rank {} is not below proc_grid_size {grid_size}", d.proc_grid_rank());
        }
    }
    // Every rank must appear, so more ranks than dicts means one is missing;
    // checking first also bounds the allocation by the input's length.
    if grid_size > dicts.len() {
        let mut present: Vec<usize> = dicts.iter().map(|d| d.proc_grid_rank()).collect();
        present.sort_unstable();
        present.dedup();
        // Sorted, distinct and all below grid_size: the first r not at slot r is missing.
        let missing = (0..present.len()).find(|&r| present[r] != r).unwrap_or(present.len());
        bail!(InvalidDimData, "no dim dict for proc_grid_rank {missing} of {grid_size}");
    }
    let mut slots: Vec<Option<&DimDict>> = vec![None; grid_size];
    for d in dicts {
        let r = d.proc_grid_rank();
        match slots[r] {
            Some(prev) if prev != d => {
                bail!(InvalidDimData, "conflicting dim dicts for proc_grid_rank {r}: {prev:?} vs {d:?}")
            }
            _ => slots[r] = Some(d),
        }
    }
    let mut out = Vec::with_capacity(grid_size);
    for (r, s) in slots.into_iter().enumerate() {
        match s {
            Some(d) => out.push(d),
            None => bail!(InvalidDimData, "no dim dict for proc_grid_rank {r} of {grid_size}"),
        }
    }
    Ok((size, grid_size, out))
}

/// Checks that `indices` (one list per rank) hold every index of `0..size`
/// exactly once. Works from a sorted copy so memory follows the input, not `size`.
fn check_tiling(size: usize, indices: &[Vec<usize>]) -> Result<()> {
    let mut total = 0usize;
    for (r, list) in indices.iter().enumerate() {
        if let Some(&i) = list.iter().find(|&&i| i >= size) {
            bail!(InvalidDimData, "index {i} of grid rank {r} is out of range for an axis of size {size}");
        }
        total = total.saturating_add(list.len());
    }
    let mut all: Vec<(usize, usize)> = vec_with_capacity(total)?;
    for (r, list) in indices.iter().enumerate() {
        all.extend(list.iter().map(|&i| (i, r)));
    }
    all.sort_unstable();
    let mut next = 0usize;
    let mut prev: Option<(usize, usize)> = None;
    for &(i, r) in &all {
        if let Some((pi, pr)) = prev {
            if pi == i {
                bail!(InvalidDimData, "index {i} appears more than once (grid ranks {pr} and {r})");
            }
        }
        if i != next {
            bail!(InvalidDimData, "index {next} is missing from the indices of an axis of size {size}");
        }
        next += 1;
        prev = Some((i, r));
    }
    if next != size {
        bail!(InvalidDimData, "index {next} is missing from the indices of an axis of size {size}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Block

/// Block map: grid rank `r` holds the contiguous range `bounds[r]..bounds[r + 1]`.
///
/// With a halo (ghost cells, the protocol's `padding`), each piece also
/// stores copies of `halo` cells of each neighbouring piece along the axis,
/// before and after its own (see [`with_halo`](Self::with_halo)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BlockMapRepr")]
pub struct BlockMap {
    bounds: Vec<usize>,
    halo: usize,
    periodic: bool,
}

// Deserialisation goes through the checked constructor so invariants hold.
#[derive(Deserialize)]
struct BlockMapRepr {
    bounds: Vec<usize>,
    halo: usize,
    periodic: bool,
}

impl TryFrom<BlockMapRepr> for BlockMap {
    type Error = Error;
    fn try_from(r: BlockMapRepr) -> Result<Self> {
        BlockMap::from_bounds(r.bounds)?.with_halo(r.halo, r.periodic)
    }
}

impl BlockMap {
    /// DistArray's default block layout: every rank gets `ceil(size / grid_size)`
    /// elements, capped so the total is `size` (10 on 4 -> 3, 3, 3, 1).
    pub fn new(size: usize, grid_size: usize) -> Result<Self> {
        check_grid_size(grid_size)?;
        let chunk = size / grid_size + usize::from(!size.is_multiple_of(grid_size));
        let mut bounds = vec_with_capacity(grid_size.saturating_add(1))?;
        bounds.extend((0..=grid_size).map(|r| r.saturating_mul(chunk).min(size)));
        Ok(BlockMap { bounds, halo: 0, periodic: false })
    }

    /// A block map from explicit bounds: at least two, the first 0, ascending
    /// (equal neighbours give empty pieces); the last is the size.
    pub fn from_bounds(bounds: Vec<usize>) -> Result<Self> {
        if bounds.len() < 2 {
            bail!(InvalidGridShape, "block bounds need at least 2 entries (grid size >= 1), got {bounds:?}");
        }
        if bounds[0] != 0 {
            bail!(InvalidDimData, "block bounds must start at 0, got {bounds:?}");
        }
        if let Some(w) = bounds.windows(2).position(|w| w[0] > w[1]) {
            bail!(InvalidDimData, "block bounds must be ascending, but entry {} > entry {}: {bounds:?}", w, w + 1);
        }
        Ok(BlockMap { bounds, halo: 0, periodic: false })
    }

    /// This map with ghost cells: every piece also holds `halo` cells of its
    /// neighbour on each side along the axis, the protocol's communication
    /// padding. With `periodic` the axis wraps around (the first piece's
    /// lower neighbour is the last piece); without it, the outer side of an
    /// edge piece has no ghost cells and its first (or last) `halo` cells are
    /// the boundary (the protocol's boundary padding, part of the array).
    ///
    /// # Errors
    /// `InvalidDimData` if a piece is shorter than `halo` (its neighbours
    /// could not fill their ghost cells from it).
    pub fn with_halo(mut self, halo: usize, periodic: bool) -> Result<Self> {
        if halo > 0 {
            if let Some((r, len)) =
                (0..self.grid_size()).map(|r| (r, self.bounds[r + 1] - self.bounds[r])).find(|&(_, len)| len < halo)
            {
                bail!(
                    InvalidDimData,
                    "a halo of {halo} is wider than the piece of grid rank {r}, which has {len} elements along the axis"
                );
            }
        }
        self.halo = halo;
        self.periodic = periodic;
        Ok(self)
    }

    /// The ghost-cell width on each side (0 without a halo).
    pub fn halo(&self) -> usize {
        self.halo
    }

    /// Whether the axis wraps around for the halo.
    pub fn periodic(&self) -> bool {
        self.periodic
    }

    /// The `grid_size + 1` piece bounds.
    pub fn bounds(&self) -> &[usize] {
        &self.bounds
    }

    /// The map described by a [`GlobalDimDict::Block`].
    pub fn from_global_dim_dict(d: &GlobalDimDict) -> Result<Self> {
        match d {
            GlobalDimDict::Block { bounds } => {
                BlockMap::from_bounds(bounds.clone()).map_err(as_dim_data_error("block global dim dict"))
            }
            other => bail!(InvalidDimData, "expected a block global dim dict, got {other:?}"),
        }
    }

    /// The map described by one axis' `'b'` dim dicts (see [`Map::from_axis_dim_dicts`]).
    /// Padding becomes a halo: one width for the axis, on every side that
    /// has a neighbour (boundary sides may give it or 0), and one `periodic`.
    pub fn from_axis_dim_dicts(dicts: &[DimDict]) -> Result<Self> {
        let (size, grid_size, ranks) = collect_axis(dicts, 'b')?;
        let mut bounds = vec_with_capacity(grid_size + 1)?;
        let mut prev_stop = 0usize;
        let widths = |d: &DimDict| match *d {
            DimDict::Block { padding, periodic, .. } => (padding.0.max(padding.1), periodic),
            _ => (0, false),
        };
        let halo = ranks.iter().map(|d| widths(d).0).max().unwrap_or(0);
        let periodic = ranks.first().is_some_and(|d| widths(d).1);
        for (r, d) in ranks.iter().enumerate() {
            let DimDict::Block { start, stop, padding, periodic: p, .. } = **d else {
                bail!(InvalidDimData, "expected a block dim dict, got {d:?}");
            };
            if p != periodic {
                bail!(InvalidDimData, "block dim dicts of one axis disagree on periodic: rank {r} says {p}");
            }
            let has_lower = r > 0 || periodic;
            let has_upper = r + 1 < grid_size || periodic;
            for (side, width, neighbour) in [("lower", padding.0, has_lower), ("upper", padding.1, has_upper)] {
                if width != halo && (neighbour || width != 0) {
                    bail!(
                        InvalidDimData,
                        "block dim dict of proc_grid_rank {r} has {side} padding {width} where the axis has {halo}; \
                         padding must be one width for every piece of an axis"
                    );
                }
            }
            if start != prev_stop {
                if r == 0 {
                    bail!(InvalidDimData, "block dim dict of proc_grid_rank 0 starts at {start}, not 0");
                }
                let what = if start > prev_stop { "gap" } else { "overlap" };
                bail!(
                    InvalidDimData,
                    "block dim dicts do not tile the axis ({what}): proc_grid_rank {} stops at {prev_stop} but rank {r} starts at {start}",
                    r - 1
                );
            }
            if stop < start {
                bail!(InvalidDimData, "block dim dict of proc_grid_rank {r} has stop {stop} < start {start}");
            }
            bounds.push(start);
            prev_stop = stop;
        }
        if prev_stop != size {
            bail!(
                InvalidDimData,
                "block dim dicts do not tile the axis: the last rank stops at {prev_stop}, not at the size {size}"
            );
        }
        bounds.push(size);
        BlockMap::from_bounds(bounds)?.with_halo(halo, periodic).map_err(as_dim_data_error("block dim dicts"))
    }

    fn piece(&self, grid_rank: usize) -> Option<Range<usize>> {
        let start = *self.bounds.get(grid_rank)?;
        let stop = *self.bounds.get(grid_rank.checked_add(1)?)?;
        Some(start..stop)
    }
}

impl MapBase for BlockMap {
    fn dist(&self) -> Dist {
        Dist::Block
    }
    fn size(&self) -> usize {
        self.bounds.last().copied().unwrap_or(0)
    }
    fn grid_size(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }
    fn owners(&self, idx: usize) -> Result<Vec<usize>> {
        check_idx(idx, self.size())?;
        // Last bound <= idx; empty pieces before it are skipped by taking the last one.
        let r = self.bounds.partition_point(|&b| b <= idx).saturating_sub(1);
        Ok(vec![r])
    }
    fn is_compatible(&self, other: &Map) -> bool {
        matches!(other, Map::Block(m) if m == self)
    }
    fn get_dimdicts(&self) -> Vec<DimDict> {
        (0..self.grid_size()).map(|r| self.dimdict(r)).collect()
    }
    fn dimdict(&self, grid_rank: usize) -> DimDict {
        let range = self.piece(grid_rank).expect("grid_rank must be below grid_size");
        DimDict::Block {
            size: self.size(),
            proc_grid_size: self.grid_size(),
            proc_grid_rank: grid_rank,
            start: range.start,
            stop: range.end,
            // The protocol's padding is all or nothing: every piece gives the
            // width, whether a side is communication or boundary padding.
            padding: (self.halo, self.halo),
            periodic: self.periodic,
        }
    }
    fn global_dim_dict(&self) -> GlobalDimDict {
        GlobalDimDict::Block { bounds: self.bounds.clone() }
    }
    fn local_size(&self, grid_rank: usize) -> usize {
        self.piece(grid_rank).map_or(0, |r| r.len())
    }
    fn global_indices(&self, grid_rank: usize) -> Vec<usize> {
        self.piece(grid_rank).map_or_else(Vec::new, |r| r.collect())
    }
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>> {
        self.piece(grid_rank)
    }
}

// ---------------------------------------------------------------------------
// Block-cyclic

/// Block-cyclic map: global block `g = i / block_size` lives on grid rank
/// `g % grid_size`; each rank stores its indices in ascending order. A partial
/// last block (when `block_size` does not divide `size`) follows the same rule:
/// it belongs to rank `(size / block_size) % grid_size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BlockCyclicMapRepr")]
pub struct BlockCyclicMap {
    size: usize,
    grid_size: usize,
    block_size: usize,
}

#[derive(Deserialize)]
struct BlockCyclicMapRepr {
    size: usize,
    grid_size: usize,
    block_size: usize,
}

impl TryFrom<BlockCyclicMapRepr> for BlockCyclicMap {
    type Error = Error;
    fn try_from(r: BlockCyclicMapRepr) -> Result<Self> {
        BlockCyclicMap::new(r.size, r.grid_size, r.block_size)
    }
}

impl BlockCyclicMap {
    /// A block-cyclic map; `grid_size` and `block_size` must be >= 1 and
    /// `(grid_size - 1) * block_size` must fit in `usize` (the last rank's start).
    pub fn new(size: usize, grid_size: usize, block_size: usize) -> Result<Self> {
        check_grid_size(grid_size)?;
        if block_size == 0 {
            bail!(InvalidDist, "block-cyclic block size must be at least 1, got 0");
        }
        if (grid_size - 1).checked_mul(block_size).is_none() {
            bail!(InvalidDist, "block size {block_size} times grid size {grid_size} overflows");
        }
        Ok(BlockCyclicMap { size, grid_size, block_size })
    }

    /// Length of each dealt block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The map described by a [`GlobalDimDict::BlockCyclic`].
    pub fn from_global_dim_dict(d: &GlobalDimDict) -> Result<Self> {
        match *d {
            GlobalDimDict::BlockCyclic { size, proc_grid_size, block_size } => {
                BlockCyclicMap::new(size, proc_grid_size, block_size)
                    .map_err(as_dim_data_error("block-cyclic global dim dict"))
            }
            ref other => bail!(InvalidDimData, "expected a block-cyclic global dim dict, got {other:?}"),
        }
    }

    /// The map described by one axis' `'c'` dim dicts (see [`Map::from_axis_dim_dicts`]).
    pub fn from_axis_dim_dicts(dicts: &[DimDict]) -> Result<Self> {
        let (size, grid_size, ranks) = collect_axis(dicts, 'c')?;
        let mut common_bs = None;
        for (r, d) in ranks.iter().enumerate() {
            let DimDict::BlockCyclic { start, block_size, .. } = **d else {
                bail!(InvalidDimData, "expected a block-cyclic dim dict, got {d:?}");
            };
            if block_size == 0 {
                bail!(InvalidDimData, "block-cyclic dim dict of proc_grid_rank {r} has block_size 0");
            }
            match common_bs {
                Some(bs) if bs != block_size => bail!(
                    InvalidDimData,
                    "block-cyclic dim dicts disagree on block_size: {bs} vs {block_size} (proc_grid_rank {r})"
                ),
                _ => common_bs = Some(block_size),
            }
            if r.checked_mul(block_size) != Some(start) {
                bail!(
                    InvalidDimData,
                    "block-cyclic dim dict of proc_grid_rank {r} has start {start}, expected {r} * block_size {block_size}"
                );
            }
        }
        BlockCyclicMap::new(size, grid_size, common_bs.unwrap_or(1))
            .map_err(as_dim_data_error("block-cyclic dim dicts"))
    }

    /// Number of blocks (the last possibly partial).
    fn n_blocks(&self) -> usize {
        self.size / self.block_size + usize::from(!self.size.is_multiple_of(self.block_size))
    }

    /// Start of block `g`, when that block exists.
    fn block_start(&self, g: usize) -> Option<usize> {
        g.checked_mul(self.block_size).filter(|&s| s < self.size)
    }
}

impl MapBase for BlockCyclicMap {
    fn dist(&self) -> Dist {
        Dist::BlockCyclic { block_size: self.block_size }
    }
    fn size(&self) -> usize {
        self.size
    }
    fn grid_size(&self) -> usize {
        self.grid_size
    }
    fn owners(&self, idx: usize) -> Result<Vec<usize>> {
        check_idx(idx, self.size)?;
        Ok(vec![(idx / self.block_size) % self.grid_size])
    }
    fn is_compatible(&self, other: &Map) -> bool {
        matches!(other, Map::BlockCyclic(m) if m == self)
    }
    fn get_dimdicts(&self) -> Vec<DimDict> {
        (0..self.grid_size).map(|r| self.dimdict(r)).collect()
    }
    fn dimdict(&self, grid_rank: usize) -> DimDict {
        assert!(grid_rank < self.grid_size, "grid_rank must be below grid_size");
        DimDict::BlockCyclic {
            size: self.size,
            proc_grid_size: self.grid_size,
            proc_grid_rank: grid_rank,
            // Fits: new() checked (grid_size - 1) * block_size.
            start: grid_rank * self.block_size,
            block_size: self.block_size,
        }
    }
    fn global_dim_dict(&self) -> GlobalDimDict {
        GlobalDimDict::BlockCyclic { size: self.size, proc_grid_size: self.grid_size, block_size: self.block_size }
    }
    fn local_size(&self, grid_rank: usize) -> usize {
        if grid_rank >= self.grid_size {
            return 0;
        }
        let full = self.size / self.block_size;
        let rem = self.size % self.block_size;
        // Full blocks owned by this rank; their total never exceeds `size`.
        let k = full / self.grid_size + usize::from(grid_rank < full % self.grid_size);
        let partial = if rem != 0 && full % self.grid_size == grid_rank { rem } else { 0 };
        k * self.block_size + partial
    }
    fn global_indices(&self, grid_rank: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.local_size(grid_rank));
        if grid_rank >= self.grid_size {
            return out;
        }
        let mut g = grid_rank;
        while let Some(start) = self.block_start(g) {
            let stop = start.saturating_add(self.block_size).min(self.size);
            out.extend(start..stop);
            match g.checked_add(self.grid_size) {
                Some(next) => g = next,
                None => break,
            }
        }
        out
    }
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>> {
        if grid_rank >= self.grid_size {
            return None;
        }
        if self.grid_size == 1 {
            return Some(0..self.size);
        }
        let Some(start) = self.block_start(grid_rank) else {
            return Some(0..0);
        };
        // One block only when the rank's next block does not exist.
        let next = grid_rank.checked_add(self.grid_size);
        if next.is_some_and(|g| g < self.n_blocks()) {
            return None;
        }
        Some(start..start.saturating_add(self.block_size).min(self.size))
    }
}

// ---------------------------------------------------------------------------
// Not distributed

/// Not-distributed map: the whole axis on grid rank 0 of a grid of size 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoDistMap {
    size: usize,
}

impl NoDistMap {
    /// The whole axis on one rank; `grid_size` must be 1.
    pub fn new(size: usize, grid_size: usize) -> Result<Self> {
        if grid_size != 1 {
            bail!(InvalidGridShape, "a non-distributed ('n') axis needs grid size 1, got {grid_size}");
        }
        Ok(NoDistMap { size })
    }

    /// The map described by a [`GlobalDimDict::NoDist`].
    pub fn from_global_dim_dict(d: &GlobalDimDict) -> Result<Self> {
        match *d {
            GlobalDimDict::NoDist { size } => Ok(NoDistMap { size }),
            ref other => bail!(InvalidDimData, "expected a non-distributed global dim dict, got {other:?}"),
        }
    }

    /// The map described by one axis' dim dicts: all identical, either
    /// [`DimDict::NoDist`] or the one-rank `'b'` dict covering the whole axis
    /// (how `'n'` is written to files).
    pub fn from_axis_dim_dicts(dicts: &[DimDict]) -> Result<Self> {
        let Some(first) = dicts.first() else {
            bail!(InvalidDimData, "no dim dicts given for the axis");
        };
        if let Some(d) = dicts.iter().find(|d| *d != first) {
            bail!(
                InvalidDimData,
                "a non-distributed axis needs exactly one distinct dim dict, got {first:?} and {d:?}"
            );
        }
        match *first {
            DimDict::NoDist { size } => Ok(NoDistMap { size }),
            DimDict::Block { size, proc_grid_size: 1, proc_grid_rank: 0, start: 0, stop, padding: (0, 0), .. }
                if stop == size =>
            {
                Ok(NoDistMap { size })
            }
            ref other => bail!(
                InvalidDimData,
                "dim dict does not describe a non-distributed axis (need 'n', or 'b' with one rank covering the axis): {other:?}"
            ),
        }
    }
}

impl MapBase for NoDistMap {
    fn dist(&self) -> Dist {
        Dist::NoDist
    }
    fn size(&self) -> usize {
        self.size
    }
    fn grid_size(&self) -> usize {
        1
    }
    fn owners(&self, idx: usize) -> Result<Vec<usize>> {
        check_idx(idx, self.size)?;
        Ok(vec![0])
    }
    fn is_compatible(&self, other: &Map) -> bool {
        matches!(other, Map::NoDist(m) if m == self)
    }
    fn get_dimdicts(&self) -> Vec<DimDict> {
        vec![self.dimdict(0)]
    }
    fn dimdict(&self, grid_rank: usize) -> DimDict {
        assert!(grid_rank == 0, "grid_rank must be below grid_size (1)");
        DimDict::NoDist { size: self.size }
    }
    fn global_dim_dict(&self) -> GlobalDimDict {
        GlobalDimDict::NoDist { size: self.size }
    }
    fn local_size(&self, grid_rank: usize) -> usize {
        if grid_rank == 0 {
            self.size
        } else {
            0
        }
    }
    fn global_indices(&self, grid_rank: usize) -> Vec<usize> {
        self.contiguous_range(grid_rank).map_or_else(Vec::new, |r| r.collect())
    }
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>> {
        (grid_rank == 0).then_some(0..self.size)
    }
}

// ---------------------------------------------------------------------------
// Unstructured

/// Unstructured map: an explicit list of global indices per grid rank, in
/// local storage order; together the lists hold `0..size` exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UnstructuredMapRepr")]
pub struct UnstructuredMap {
    size: usize,
    indices: Vec<Vec<usize>>,
}

#[derive(Deserialize)]
struct UnstructuredMapRepr {
    size: usize,
    indices: Vec<Vec<usize>>,
}

impl TryFrom<UnstructuredMapRepr> for UnstructuredMap {
    type Error = Error;
    fn try_from(r: UnstructuredMapRepr) -> Result<Self> {
        UnstructuredMap::new(r.size, r.indices.len(), Some(r.indices))
    }
}

/// Greatest common divisor.
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl UnstructuredMap {
    /// An unstructured map. With `Some(indices)`: one list per grid rank, every
    /// index below `size`, together holding `0..size` exactly once (else
    /// Err(InvalidDimData)).
    ///
    /// With `None`, a deterministic default that genuinely differs from block:
    /// rank `r` gets as many indices as in the default block layout, namely the
    /// images of its block positions `j` under the permutation
    /// `j -> (j * a) % size`, where `a` is the smallest integer >= 2 coprime to
    /// `size` (`a = 1` when `size <= 2`), each rank's list sorted ascending.
    pub fn new(size: usize, grid_size: usize, indices: Option<Vec<Vec<usize>>>) -> Result<Self> {
        check_grid_size(grid_size)?;
        let indices = match indices {
            Some(indices) => {
                if indices.len() != grid_size {
                    bail!(
                        InvalidDimData,
                        "unstructured map needs {grid_size} index lists (one per grid rank), got {}",
                        indices.len()
                    );
                }
                check_tiling(size, &indices)?;
                indices
            }
            None => Self::default_indices(size, grid_size)?,
        };
        Ok(UnstructuredMap { size, indices })
    }

    fn default_indices(size: usize, grid_size: usize) -> Result<Vec<Vec<usize>>> {
        let block = BlockMap::new(size, grid_size)?;
        let a = if size <= 2 { 1 } else { (2..size).find(|&a| gcd(a, size) == 1).unwrap_or(1) };
        let mut out = vec_with_capacity(grid_size)?;
        for r in 0..grid_size {
            let mut list: Vec<usize> = block
                .piece(r)
                .unwrap_or(0..0)
                // u128 so `j * a` cannot overflow; the result is below `size`.
                .map(|j| ((j as u128 * a as u128) % size as u128) as usize)
                .collect();
            list.sort_unstable();
            out.push(list);
        }
        Ok(out)
    }

    /// The index lists, one per grid rank.
    pub fn indices(&self) -> &[Vec<usize>] {
        &self.indices
    }

    /// The map described by a [`GlobalDimDict::Unstructured`].
    pub fn from_global_dim_dict(d: &GlobalDimDict) -> Result<Self> {
        match d {
            GlobalDimDict::Unstructured { size, indices } => {
                UnstructuredMap::new(*size, indices.len(), Some(indices.clone()))
                    .map_err(as_dim_data_error("unstructured global dim dict"))
            }
            other => bail!(InvalidDimData, "expected an unstructured global dim dict, got {other:?}"),
        }
    }

    /// The map described by one axis' `'u'` dim dicts (see [`Map::from_axis_dim_dicts`]).
    pub fn from_axis_dim_dicts(dicts: &[DimDict]) -> Result<Self> {
        let (size, grid_size, ranks) = collect_axis(dicts, 'u')?;
        let mut indices = vec_with_capacity(grid_size)?;
        for d in ranks {
            let DimDict::Unstructured { indices: list, .. } = d else {
                bail!(InvalidDimData, "expected an unstructured dim dict, got {d:?}");
            };
            indices.push(list.clone());
        }
        UnstructuredMap::new(size, grid_size, Some(indices)).map_err(as_dim_data_error("unstructured dim dicts"))
    }
}

impl MapBase for UnstructuredMap {
    fn dist(&self) -> Dist {
        Dist::Unstructured
    }
    fn size(&self) -> usize {
        self.size
    }
    fn grid_size(&self) -> usize {
        self.indices.len()
    }
    fn owners(&self, idx: usize) -> Result<Vec<usize>> {
        check_idx(idx, self.size)?;
        Ok(self.indices.iter().enumerate().filter(|(_, l)| l.contains(&idx)).map(|(r, _)| r).collect())
    }
    fn is_compatible(&self, other: &Map) -> bool {
        matches!(other, Map::Unstructured(m) if m == self)
    }
    fn get_dimdicts(&self) -> Vec<DimDict> {
        (0..self.grid_size()).map(|r| self.dimdict(r)).collect()
    }
    fn dimdict(&self, grid_rank: usize) -> DimDict {
        let list = self.indices.get(grid_rank).expect("grid_rank must be below grid_size");
        DimDict::Unstructured {
            size: self.size,
            proc_grid_size: self.grid_size(),
            proc_grid_rank: grid_rank,
            indices: list.clone(),
            one_to_one: true,
        }
    }
    fn global_dim_dict(&self) -> GlobalDimDict {
        GlobalDimDict::Unstructured { size: self.size, indices: self.indices.clone() }
    }
    fn local_size(&self, grid_rank: usize) -> usize {
        self.indices.get(grid_rank).map_or(0, Vec::len)
    }
    fn global_indices(&self, grid_rank: usize) -> Vec<usize> {
        self.indices.get(grid_rank).cloned().unwrap_or_default()
    }
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>> {
        let list = self.indices.get(grid_rank)?;
        let Some(&start) = list.first() else {
            return Some(0..0);
        };
        let consecutive = list.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
        consecutive.then(|| start..start + list.len())
    }
}

// ---------------------------------------------------------------------------
// Any map

/// Any of the four maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Map {
    /// A [`BlockMap`].
    Block(BlockMap),
    /// A [`BlockCyclicMap`].
    BlockCyclic(BlockCyclicMap),
    /// A [`NoDistMap`].
    NoDist(NoDistMap),
    /// An [`UnstructuredMap`].
    Unstructured(UnstructuredMap),
}

impl Map {
    /// The map described by one axis' dim dicts: one per process along the
    /// axis, possibly repeated (once per process of the other axes) and in any
    /// order. Repeats must be identical, every rank `0..proc_grid_size` must be
    /// present, and together they must tile the axis; the type is taken from
    /// `dicts[0]` and all must agree. Any violation is Err(InvalidDimData).
    pub fn from_axis_dim_dicts(dicts: &[DimDict]) -> Result<Map> {
        let Some(first) = dicts.first() else {
            bail!(InvalidDimData, "no dim dicts given for the axis");
        };
        choose_map(first.dist_type())?.from_axis_dim_dicts(dicts)
    }

    fn inner(&self) -> &dyn MapBase {
        match self {
            Map::Block(m) => m,
            Map::BlockCyclic(m) => m,
            Map::NoDist(m) => m,
            Map::Unstructured(m) => m,
        }
    }
}

impl From<BlockMap> for Map {
    fn from(m: BlockMap) -> Self {
        Map::Block(m)
    }
}

impl From<BlockCyclicMap> for Map {
    fn from(m: BlockCyclicMap) -> Self {
        Map::BlockCyclic(m)
    }
}

impl From<NoDistMap> for Map {
    fn from(m: NoDistMap) -> Self {
        Map::NoDist(m)
    }
}

impl From<UnstructuredMap> for Map {
    fn from(m: UnstructuredMap) -> Self {
        Map::Unstructured(m)
    }
}

impl MapBase for Map {
    fn dist(&self) -> Dist {
        self.inner().dist()
    }
    fn size(&self) -> usize {
        self.inner().size()
    }
    fn grid_size(&self) -> usize {
        self.inner().grid_size()
    }
    fn owners(&self, idx: usize) -> Result<Vec<usize>> {
        self.inner().owners(idx)
    }
    fn is_compatible(&self, other: &Map) -> bool {
        self.inner().is_compatible(other)
    }
    fn get_dimdicts(&self) -> Vec<DimDict> {
        self.inner().get_dimdicts()
    }
    fn dimdict(&self, grid_rank: usize) -> DimDict {
        self.inner().dimdict(grid_rank)
    }
    fn global_dim_dict(&self) -> GlobalDimDict {
        self.inner().global_dim_dict()
    }
    fn local_size(&self, grid_rank: usize) -> usize {
        self.inner().local_size(grid_rank)
    }
    fn global_indices(&self, grid_rank: usize) -> Vec<usize> {
        self.inner().global_indices(grid_rank)
    }
    fn contiguous_range(&self, grid_rank: usize) -> Option<Range<usize>> {
        self.inner().contiguous_range(grid_rank)
    }
}
