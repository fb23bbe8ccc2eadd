//! [`Distribution`]: how a global index space is split over engines, one 1-D
//! map per axis.

use std::fmt;
use std::sync::Arc;

use super::context::{check_targets, same_context, Context};
use crate::core::error::{bail, err, Result};
use crate::layout::{
    check_size, grid_size, map_from_global_dim_dict, map_ghost_widths, plan, rank_to_coords, DimDict, Dist,
    GlobalDimDict, Layout, Map, MapBase,
};

/// The mapping between global indices and engine ranks of a distributed array:
/// one 1-D map per axis over a process grid, and the engines ("targets") that
/// hold the pieces, rank `r` on `targets()[r]`.
///
/// Ranks are laid out on the grid in C order. Cloning is cheap (shared).
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::new()?;
/// let d = Distribution::builder(&ctx, &[10, 7]).dist("bc").build()?;
/// assert_eq!(d.dist(), vec!['b', 'c']);
/// assert!(d.grid_shape().iter().product::<usize>() <= ctx.num_targets());
/// assert_eq!(d.owning_ranks(&[9, 6])?.len(), 1);
/// // Fewer elements than engines: only as many engines as elements.
/// let small = Distribution::from_shape(&ctx, &[1])?;
/// assert_eq!(small.targets(), &ctx.targets()[..1]);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Clone)]
pub struct Distribution {
    inner: Arc<Inner>,
}

struct Inner {
    context: Context,
    layout: Layout,
    shape: Vec<usize>,
    grid_shape: Vec<usize>,
}

/// Options of [`Distribution::from_shape`], set one by one.
#[must_use = "call .build() to make the Distribution"]
pub struct DistributionBuilder<'a> {
    context: &'a Context,
    shape: Vec<usize>,
    dist: Option<Result<Vec<Dist>>>,
    grid_shape: Option<Vec<usize>>,
    targets: Option<Vec<usize>>,
    halo: Option<Vec<usize>>,
    periodic: Option<Vec<bool>>,
}

impl DistributionBuilder<'_> {
    /// The distribution of each axis as letters: `'b'` block, `'c'` cyclic,
    /// `'n'` not distributed, `'u'` unstructured. Default: `'b'` on every axis.
    /// Fewer letters than axes leave the rest `'n'`, as DistArray does.
    pub fn dist(mut self, letters: &str) -> Self {
        self.dist = Some(Dist::parse(letters));
        self
    }

    /// The distribution of each axis, e.g. with a block size for block-cyclic.
    pub fn dists(mut self, dists: &[Dist]) -> Self {
        self.dist = Some(Ok(dists.to_vec()));
        self
    }

    /// The process grid, one entry per axis; fewer entries than axes are
    /// padded with 1s. Its product may be less than the number of engines: the
    /// distribution then uses the first that many (DistArray's
    /// `normalize_grid_shape` and `targets[:ntargets]`). Default: DistArray's
    /// choice, see [`make_grid_shape`](crate::maps::make_grid_shape).
    pub fn grid_shape(mut self, grid_shape: &[usize]) -> Self {
        self.grid_shape = Some(grid_shape.to_vec());
        self
    }

    /// Ghost cells: the halo width of each axis (fewer entries than axes
    /// leave the rest 0). Each piece then also stores copies of that many
    /// cells of its neighbour on each side of a block axis, filled by
    /// [`DistArray::exchange_halos`](crate::DistArray::exchange_halos); the
    /// outer cells of the edge pieces are the boundary. This is the
    /// Distributed Array Protocol's `padding`.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[16, 8]).dist("bb").halo(&[1, 1]).periodic(&[true, false]).build()?;
    /// assert_eq!(d.halo(), vec![1, 1]);
    /// assert_eq!(d.periodic(), vec![true, false]);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn halo(mut self, widths: &[usize]) -> Self {
        self.halo = Some(widths.to_vec());
        self
    }

    /// Which axes wrap around for the halo (fewer entries than axes leave
    /// the rest `false`): the first piece's lower ghost cells then hold the
    /// last cells of the axis, and the last piece's upper ones the first.
    pub fn periodic(mut self, periodic: &[bool]) -> Self {
        self.periodic = Some(periodic.to_vec());
        self
    }

    /// The engines to use, in this order (default: the context's targets). A
    /// distribution with no distributed axis needs exactly one.
    pub fn targets(mut self, targets: &[usize]) -> Self {
        self.targets = Some(targets.to_vec());
        self
    }

    /// The distribution, built as Python DistArray's `Distribution(context,
    /// shape, dist, grid_shape, targets)` (`distarray/globalapi/maps.py`,
    /// `Distribution.__new__`):
    ///
    /// 1. every axis `'n'` (also a 0-d array): the array lives on the first
    ///    engine; explicit targets must then be exactly one engine;
    /// 2. the grid is the given one (padded with 1s) or [`make_grid_shape`](crate::maps::make_grid_shape)'s
    ///    over the engines; it may need fewer engines than there are, and the
    ///    first `product(grid)` engines are used;
    /// 3. when every axis is `'b'` or `'n'`, ranks whose piece would be empty
    ///    are dropped: each block axis keeps only its non-empty pieces (its grid
    ///    size shrinks) and the distribution keeps the targets of the remaining
    ///    ranks, in rank order. So `[3]` on 4 engines has grid `[3]` on the
    ///    first 3 engines, and `[7, 5]` `"nb"` on 4 engines grid `[1, 3]`. An
    ///    array without elements lives on the first engine with grid all 1s.
    ///    Cyclic, block-cyclic and unstructured axes keep empty pieces, as in
    ///    DistArray.
    ///
    /// The targets are therefore not always all of the context's, nor always a
    /// prefix of them: `[5, 9]` on 8 engines has grid `[2, 3]` on engines
    /// `[0, 1, 2, 4, 5, 6]`.
    ///
    /// # Errors
    /// `InvalidShape` when the element count overflows, `InvalidDist` for bad
    /// letters or more letters than axes, `InvalidGridShape` for a grid with
    /// more entries than axes, a 0 entry, more than 1 on an `'n'` axis or more
    /// processes than engines, `InvalidTarget` for targets outside the context,
    /// repeated, or more than one for an array with no distributed axis;
    /// `InvalidDist` for a halo or `periodic` on an axis that is not `'b'`, a
    /// halo wider than a piece, or more halo or periodic entries than axes.
    pub fn build(self) -> Result<Distribution> {
        let ndim = self.shape.len();
        check_size(&self.shape)?;
        let mut dist = self.dist.unwrap_or_else(|| Ok(vec![Dist::Block; ndim]))?;
        if dist.len() > ndim {
            bail!(InvalidDist, "{} distribution types given for an array with {ndim} axes", dist.len());
        }
        dist.resize(ndim, Dist::NoDist);
        let (targets, given) = match &self.targets {
            Some(t) => (self.context.select_targets(Some(t))?, true),
            None => (self.context.targets().to_vec(), false),
        };
        let (maps, targets) = plan(&self.shape, &dist, self.grid_shape.as_deref(), targets, given)?;
        let maps =
            with_halos(maps, &dist, self.halo.as_deref().unwrap_or(&[]), self.periodic.as_deref().unwrap_or(&[]))?;
        Distribution::from_maps(self.context, maps, targets)
    }
}

/// `maps` with the halo widths and periodic flags given per axis.
fn with_halos(maps: Vec<Map>, dist: &[Dist], halo: &[usize], periodic: &[bool]) -> Result<Vec<Map>> {
    let ndim = maps.len();
    for (what, given) in [("halo widths", halo.len()), ("periodic flags", periodic.len())] {
        if given > ndim {
            bail!(InvalidDist, "{given} {what} given for an array with {ndim} axes");
        }
    }
    maps.into_iter()
        .enumerate()
        .map(|(axis, map)| {
            let width = halo.get(axis).copied().unwrap_or(0);
            let wraps = periodic.get(axis).copied().unwrap_or(false);
            if width == 0 && !wraps {
                return Ok(map);
            }
            let what = if width > 0 { format!("a halo of {width}") } else { "periodic".to_string() };
            match (map, dist[axis]) {
                (Map::Block(b), Dist::Block) => b
                    .with_halo(width, wraps)
                    .map(Map::Block)
                    .map_err(|e| err!(InvalidDist, "axis {axis}: {}", e.message())),
                (_, Dist::NoDist) => bail!(
                    InvalidDist,
                    "axis {axis} has {what} but is not distributed ('n'): its neighbouring cells are on the same \
                     engine; distribute it as 'b' or give no halo there"
                ),
                (_, d) => bail!(
                    InvalidDist,
                    "axis {axis} has {what} but is distributed as {d}: ghost cells need contiguous pieces, a block ('b') \
                     axis"
                ),
            }
        })
        .collect()
}

impl Distribution {
    /// The default distribution of `shape`: block on every axis over the
    /// context's engines, with DistArray's grid ([`make_grid_shape`](crate::maps::make_grid_shape)) and no
    /// empty pieces, so on the first engines only when an axis is shorter than
    /// its share of engines (see [`DistributionBuilder::build`] for the rules).
    /// See [`builder`](Self::builder) for the options of the reference's
    /// `from_shape(context, shape, dist, grid_shape, targets)`.
    ///
    /// # Errors
    /// As [`DistributionBuilder::build`].
    pub fn from_shape(context: &Context, shape: &[usize]) -> Result<Self> {
        Self::builder(context, shape).build()
    }

    /// A builder for a distribution of `shape` with options.
    pub fn builder<'a>(context: &'a Context, shape: &[usize]) -> DistributionBuilder<'a> {
        DistributionBuilder {
            context,
            shape: shape.to_vec(),
            dist: None,
            grid_shape: None,
            targets: None,
            halo: None,
            periodic: None,
        }
    }

    /// A distribution from one global dim dict per axis (the reference's
    /// constructor), on `targets` or else the first engines of the context, one
    /// per rank of the dicts' grid. The maps are taken as given: empty pieces
    /// stay, as in DistArray's `from_global_dim_data`.
    ///
    /// # Errors
    /// `InvalidDimData` for inconsistent dicts, `InvalidTarget` when the targets
    /// do not match the grid size.
    pub fn from_global_dim_data(
        context: &Context,
        global_dim_data: &[GlobalDimDict],
        targets: Option<&[usize]>,
    ) -> Result<Self> {
        let maps = global_dim_data.iter().map(map_from_global_dim_dict).collect::<Result<Vec<_>>>()?;
        let targets = Self::default_targets(context, targets, grid_size(&maps)?)?;
        Self::from_maps(context, maps, targets)
    }

    /// A distribution from each rank's dim data (Distributed Array Protocol), as
    /// read from `.dnpy` files or pulled from engines. Rank `r`'s dim dicts must
    /// carry the grid coordinates of `r` in C order. Rank `r` goes to
    /// `targets[r]`, by default the context's `r`-th engine, so dim data of
    /// fewer ranks than engines lives on the first engines; pieces are taken as
    /// given (empty ones stay), as in DistArray's `from_dim_data_per_rank`.
    ///
    /// # Errors
    /// `InvalidDimData` if the dim data is inconsistent or does not tile the
    /// array; `InvalidTarget` if the number of ranks does not match the targets.
    pub fn from_dim_data_per_rank(
        context: &Context,
        dim_data_per_rank: &[Vec<DimDict>],
        targets: Option<&[usize]>,
    ) -> Result<Self> {
        let Some(first) = dim_data_per_rank.first() else {
            bail!(InvalidDimData, "dim data for zero ranks");
        };
        let ndim = first.len();
        if let Some(r) = dim_data_per_rank.iter().position(|d| d.len() != ndim) {
            bail!(InvalidDimData, "rank {r} has dim data for {} axes, rank 0 for {ndim}", dim_data_per_rank[r].len());
        }
        let maps = (0..ndim)
            .map(|axis| {
                let dicts: Vec<DimDict> = dim_data_per_rank.iter().map(|d| d[axis].clone()).collect();
                Map::from_axis_dim_dicts(&dicts).map_err(|e| e.context(format_args!("axis {axis}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let grid_shape: Vec<usize> = maps.iter().map(MapBase::grid_size).collect();
        let nranks = grid_size(&maps)?;
        if nranks != dim_data_per_rank.len() {
            bail!(
                InvalidDimData,
                "dim data for {} ranks on a grid {grid_shape:?} of {nranks} ranks",
                dim_data_per_rank.len()
            );
        }
        for (rank, dims) in dim_data_per_rank.iter().enumerate() {
            let coords = rank_to_coords(rank, &grid_shape);
            for (axis, (d, c)) in dims.iter().zip(coords).enumerate() {
                if d.proc_grid_rank() != c {
                    bail!(
                        InvalidDimData,
                        "rank {rank} has proc_grid_rank {} on axis {axis}, but its grid coordinate in C order is {c}",
                        d.proc_grid_rank()
                    );
                }
            }
        }
        let targets = Self::default_targets(context, targets, nranks)?;
        Self::from_maps(context, maps, targets)
    }

    fn default_targets(context: &Context, targets: Option<&[usize]>, nranks: usize) -> Result<Vec<usize>> {
        let targets = match targets {
            Some(t) => context.select_targets(Some(t))?,
            None => context.targets().iter().copied().take(nranks).collect(),
        };
        if targets.len() != nranks {
            bail!(InvalidTarget, "a distribution over {nranks} ranks needs {nranks} targets, got {targets:?}");
        }
        Ok(targets)
    }

    /// The distribution with these maps on these targets (checked).
    pub(crate) fn from_maps(context: &Context, maps: Vec<Map>, targets: Vec<usize>) -> Result<Self> {
        check_targets(&targets, context.targets())?;
        let nranks = grid_size(&maps)?;
        if nranks != targets.len() {
            bail!(InvalidGridShape, "a grid of {nranks} ranks needs as many targets, got {}", targets.len());
        }
        let shape: Vec<usize> = maps.iter().map(MapBase::size).collect();
        check_size(&shape)?;
        let grid_shape = maps.iter().map(MapBase::grid_size).collect();
        Ok(Distribution {
            inner: Arc::new(Inner { context: context.clone(), layout: Layout { maps, targets }, shape, grid_shape }),
        })
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.inner.context
    }

    /// The global shape.
    pub fn shape(&self) -> &[usize] {
        &self.inner.shape
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.inner.shape.len()
    }

    /// The number of elements.
    pub fn global_size(&self) -> usize {
        self.inner.shape.iter().product()
    }

    /// The process grid: the number of ranks along each axis.
    pub fn grid_shape(&self) -> &[usize] {
        &self.inner.grid_shape
    }

    /// The distribution letter of each axis (`'b'`, `'c'`, `'n'`, `'u'`).
    pub fn dist(&self) -> Vec<char> {
        self.maps().iter().map(|m| m.dist().letter()).collect()
    }

    /// The 1-D map of each axis.
    pub fn maps(&self) -> &[Map] {
        &self.inner.layout.maps
    }

    /// The engines holding the pieces; rank `r` is on `targets()[r]`. These are
    /// the context's engines that hold a piece, which may be fewer than the
    /// context has (see [`DistributionBuilder::build`]); the others take no
    /// part in the array's operations.
    pub fn targets(&self) -> &[usize] {
        &self.inner.layout.targets
    }

    /// The number of ranks (pieces).
    pub fn nprocs(&self) -> usize {
        self.inner.layout.targets.len()
    }

    /// The grid coordinates of `rank`.
    pub fn coords(&self, rank: usize) -> Vec<usize> {
        rank_to_coords(rank, self.grid_shape())
    }

    /// The dim data of `rank` (one dict per axis).
    ///
    /// **Panics** if `rank >= self.nprocs()`.
    pub fn dim_data(&self, rank: usize) -> Vec<DimDict> {
        self.maps().iter().zip(self.coords(rank)).map(|(m, c)| m.dimdict(c)).collect()
    }

    /// Every rank's dim data, in rank order (Distributed Array Protocol).
    pub fn get_dim_data_per_rank(&self) -> Vec<Vec<DimDict>> {
        (0..self.nprocs()).map(|r| self.dim_data(r)).collect()
    }

    /// One global dim dict per axis.
    pub fn global_dim_data(&self) -> Vec<GlobalDimDict> {
        self.maps().iter().map(MapBase::global_dim_dict).collect()
    }

    /// The shape of `rank`'s piece: its buffer, ghost cells included.
    ///
    /// **Panics** if `rank >= self.nprocs()`.
    pub fn local_shape(&self, rank: usize) -> Vec<usize> {
        self.maps()
            .iter()
            .zip(self.coords(rank))
            .map(|(m, c)| {
                let (lower, upper) = map_ghost_widths(m, c);
                m.local_size(c) + lower + upper
            })
            .collect()
    }

    /// The halo width of each axis (0 where there is none); see
    /// [`DistributionBuilder::halo`].
    pub fn halo(&self) -> Vec<usize> {
        self.maps().iter().map(|m| if let Map::Block(b) = m { b.halo() } else { 0 }).collect()
    }

    /// Which axes wrap around for the halo.
    pub fn periodic(&self) -> Vec<bool> {
        self.maps().iter().map(|m| matches!(m, Map::Block(b) if b.periodic())).collect()
    }

    /// Fails with `Unsupported` for a distribution with ghost cells: `what`
    /// does not handle them yet.
    pub(crate) fn refuse_ghosts(&self, what: &str) -> Result<()> {
        if self.has_ghosts() {
            bail!(
                Unsupported,
                "{what} does not support arrays with ghost cells yet (halo {:?}): redistribute the array's values \
                 into a distribution without a halo first (`fromarray` of its `toarray`), or work on the pieces in \
                 a kernel",
                self.halo()
            );
        }
        Ok(())
    }

    /// Whether any piece stores ghost cells.
    pub fn has_ghosts(&self) -> bool {
        // Some piece has a neighbour along a halo axis: the axis is split,
        // or wraps around.
        self.maps().iter().any(|m| matches!(m, Map::Block(b) if b.halo() > 0 && (b.grid_size() > 1 || b.periodic())))
    }

    /// The shape of every rank's piece, in rank order.
    pub fn localshapes(&self) -> Vec<Vec<usize>> {
        (0..self.nprocs()).map(|r| self.local_shape(r)).collect()
    }

    /// Whether the client knows exactly which rank owns every index (false when
    /// an axis is unstructured, where lookups must be checked on the engines).
    pub fn has_precise_index(&self) -> bool {
        !self.maps().iter().any(|m| matches!(m, Map::Unstructured(_)))
    }

    /// Whether arrays of the two distributions are laid out alike (same context,
    /// targets, shape and maps), so elementwise work needs no communication.
    pub fn is_compatible(&self, other: &Distribution) -> bool {
        self.context() == other.context()
            && self.targets() == other.targets()
            && self.shape() == other.shape()
            && self.maps().iter().zip(other.maps()).all(|(a, b)| a.is_compatible(b))
    }

    /// The ranks that may own the element at `idxs` (exactly one when
    /// [`has_precise_index`](Self::has_precise_index)).
    ///
    /// # Errors
    /// `IndexOutOfBounds` if `idxs` has the wrong length or is outside the array.
    pub fn owning_ranks(&self, idxs: &[usize]) -> Result<Vec<usize>> {
        if idxs.len() != self.ndim() {
            bail!(IndexOutOfBounds, "index {idxs:?} has {} entries for an array with {} axes", idxs.len(), self.ndim());
        }
        let per_axis = self
            .maps()
            .iter()
            .zip(idxs)
            .enumerate()
            .map(|(axis, (m, &i))| {
                m.owners(i).map_err(|_| {
                    err!(IndexOutOfBounds, "index {i} is out of bounds for axis {axis} with size {}", m.size())
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The cartesian product of per-axis owners, as ranks in C order.
        let mut ranks = vec![0usize];
        for (owners, &g) in per_axis.iter().zip(self.grid_shape()) {
            ranks = ranks.iter().flat_map(|&r| owners.iter().map(move |&o| r * g + o)).collect();
        }
        Ok(ranks)
    }

    /// Like [`owning_ranks`](Self::owning_ranks), as engine ids.
    ///
    /// # Errors
    /// As [`owning_ranks`](Self::owning_ranks).
    pub fn owning_targets(&self, idxs: &[usize]) -> Result<Vec<usize>> {
        Ok(self.owning_ranks(idxs)?.into_iter().map(|r| self.targets()[r]).collect())
    }

    /// The distribution with `axes` removed, as a reduction along them leaves it:
    /// the remaining maps, on the ranks at grid coordinate 0 along the removed
    /// axes.
    ///
    /// # Errors
    /// `InvalidShape` for an axis out of range or repeated.
    pub fn reduce(&self, axes: &[usize]) -> Result<Distribution> {
        for (i, &a) in axes.iter().enumerate() {
            if a >= self.ndim() {
                bail!(InvalidShape, "axis {a} is out of range for an array with {} axes", self.ndim());
            }
            if axes[..i].contains(&a) {
                bail!(InvalidShape, "axis {a} is repeated in {axes:?}");
            }
        }
        let maps = self.maps().iter().enumerate().filter(|(a, _)| !axes.contains(a)).map(|(_, m)| m.clone()).collect();
        let targets = (0..self.nprocs())
            .filter(|&r| self.coords(r).iter().enumerate().all(|(a, &c)| !axes.contains(&a) || c == 0))
            .map(|r| self.targets()[r])
            .collect();
        Self::from_maps(self.context(), maps, targets)
    }

    /// `Ok` if `self` belongs to `context`.
    pub(crate) fn check_context(&self, context: &Context) -> Result<()> {
        same_context(context, self.context(), "the distribution")
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }
}

impl PartialEq for Distribution {
    fn eq(&self, other: &Self) -> bool {
        self.is_compatible(other)
    }
}

impl fmt::Debug for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Distribution")
            .field("shape", &self.shape())
            .field("dist", &self.dist())
            .field("grid_shape", &self.grid_shape())
            .field("targets", &self.targets())
            .finish()
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dist: String = self.dist().into_iter().collect();
        write!(f, "shape {:?} dist '{dist}' grid {:?} on engines {:?}", self.shape(), self.grid_shape(), self.targets())
    }
}
