//! The engine side of element access and slicing: the get, set, slice and
//! assign kernels, and the selection they decode.

use ndarray::{ArrayD, Axis, IxDyn};
use serde::{Deserialize, Serialize};

use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::engine::kernel::{
    output_array, output_unit, output_value, register_internal, InternalKernel, KernelInputs, KernelOutput,
};
use crate::engine::local::LocalArray;
use crate::layout::{advance, ghost_widths, local_shape, rank_to_coords, DimDict, Layout, Map, MapBase};

/// The selection along one axis: `len` indices `first + j * step`; `drop`
/// for an integer index, which removes the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AxisSel {
    pub(crate) first: usize,
    pub(crate) step: isize,
    pub(crate) len: usize,
    pub(crate) drop: bool,
}

impl AxisSel {
    pub(crate) fn global(&self, j: usize) -> usize {
        (self.first as i128 + j as i128 * self.step as i128) as usize
    }

    /// The position in the selection of global index `g`, if selected.
    pub(crate) fn position(&self, g: usize) -> Option<usize> {
        let d = g as i128 - self.first as i128;
        let step = self.step as i128;
        if d % step != 0 {
            return None;
        }
        let j = d / step;
        (j >= 0 && j < self.len as i128).then_some(j as usize)
    }
}

/// The local positions, ordered by position in the selection, of the
/// selected indices of the piece at grid coordinate `coord` of `map`.
/// (Checked allocations: `Err(OutOfMemory)` for a piece too big for the
/// engine.)
fn local_selection(map: &Map, coord: usize, s: &AxisSel) -> Result<Vec<usize>> {
    let globals = Side::Engine.global_indices(map, coord)?;
    let mut found: Vec<(usize, usize)> = Side::Engine.vec(globals.len().min(s.len))?;
    found.extend(globals.into_iter().enumerate().filter_map(|(p, g)| s.position(g).map(|j| (j, p))));
    found.sort_unstable();
    Side::Engine.collect(found.len(), found.into_iter().map(|(_, p)| p))
}

/// The local position of global index `g` in a piece with dim dict `d`.
fn local_position(d: &DimDict, g: usize) -> Option<usize> {
    match d {
        // Own cells come after the lower ghost cells.
        DimDict::Block { start, stop, .. } => (*start..*stop).contains(&g).then(|| g - start + ghost_widths(d).0),
        DimDict::BlockCyclic { size, proc_grid_size, proc_grid_rank, block_size, .. } => {
            let b = g / block_size;
            (g < *size && b % proc_grid_size == *proc_grid_rank)
                .then(|| (b / proc_grid_size) * block_size + g % block_size)
        }
        DimDict::NoDist { size } => (g < *size).then_some(g),
        DimDict::Unstructured { indices, .. } => indices.iter().position(|&i| i == g),
    }
}

/// One element, from the engine that owns it.
pub(crate) const GET: InternalKernel = InternalKernel::new("distarray::index::get");
/// One element written, on the engine that owns it.
pub(crate) const SET: InternalKernel = InternalKernel::new("distarray::index::set");
/// A slice as a new array.
pub(crate) const SLICE: InternalKernel = InternalKernel::new("distarray::index::slice");
/// Values written into a slice.
pub(crate) const ASSIGN: InternalKernel = InternalKernel::new("distarray::index::assign");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SliceArgs {
    pub(crate) source: Layout,
    pub(crate) sel: Vec<AxisSel>,
    pub(crate) result: Layout,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AssignArgs<T> {
    pub(crate) source: Layout,
    pub(crate) sel: Vec<AxisSel>,
    /// A scalar to write everywhere, or the key of a piece laid out as the slice.
    pub(crate) value: Option<T>,
    pub(crate) piece: Option<String>,
}

/// The piece's grid coordinates in `layout` (by engine id).
fn coords_in(layout: &Layout, engine: usize) -> Result<Vec<usize>> {
    let rank = layout
        .targets
        .iter()
        .position(|&t| t == engine)
        .ok_or_else(|| err!(InvalidTarget, "engine {engine} holds no piece of the array"))?;
    let grid: Vec<usize> = layout.maps.iter().map(MapBase::grid_size).collect();
    Ok(rank_to_coords(rank, &grid))
}

fn run_get<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let idx: Vec<usize> = args.decode()?;
    let a = arrays.next_ref::<T>("a")?;
    let local: Option<Vec<usize>> = a.dim_data().iter().zip(&idx).map(|(d, &g)| local_position(d, g)).collect();
    output_value(&local.map(|l| a[IxDyn(&l)]))
}

fn run_set<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let (idx, value): (Vec<usize>, T) = args.decode()?;
    let position = |a: &LocalArray<T>| -> Option<Vec<usize>> {
        a.dim_data().iter().zip(&idx).map(|(d, &g)| local_position(d, g)).collect()
    };
    // Should the call fail, only the element it wrote needs putting back.
    let a = arrays.next_mut_restoring::<T>("a", |a| {
        let old = position(a).map(|l| (a[IxDyn(&l)], l));
        Box::new(move |a: &mut LocalArray<T>| {
            if let Some((value, l)) = old {
                a[IxDyn(&l)] = value;
            }
        })
    })?;
    let local = position(a);
    if let Some(l) = &local {
        a[IxDyn(l)] = value;
    }
    output_value(&local.is_some())
}

fn run_slice<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let piece = {
        let (args, mut arrays, engine) = inputs.split();
        let args: SliceArgs = args.decode()?;
        let a = arrays.next_ref::<T>("a")?;
        let me = engine.engine_id();
        match args.result.targets.iter().position(|&t| t == me) {
            None => None,
            Some(rank) => {
                let grid: Vec<usize> = args.result.maps.iter().map(MapBase::grid_size).collect();
                let rcoords = rank_to_coords(rank, &grid);
                let dims: Vec<DimDict> = args.result.maps.iter().zip(rcoords).map(|(m, c)| m.dimdict(c)).collect();
                let shape = local_shape(&dims);
                if a.is_empty() && size_of_shape(&shape)? == 0 {
                    // Nothing to select (another axis may be huge).
                    let data = ArrayD::<T>::from_shape_vec(IxDyn(&shape), Vec::new())
                        .map_err(|e| err!(InvalidShape, "{e}"))?;
                    Some(LocalArray::new(data, dims)?)
                } else {
                    Some(LocalArray::new(select(a, &args, me)?, dims)?)
                }
            }
        }
    };
    match piece {
        Some(p) => output_array(inputs, p),
        None => output_unit(()),
    }
}

/// This engine's elements of the slice `args` of its piece `a` (checked
/// allocations).
fn select<T: Element>(a: &LocalArray<T>, args: &SliceArgs, me: usize) -> Result<ArrayD<T>> {
    let coords = coords_in(&args.source, me)?;
    let mut data: ArrayD<T> = Side::Engine.clone_array(a.ndarray())?;
    for (k, (map, s)) in args.source.maps.iter().zip(&args.sel).enumerate() {
        let positions = local_selection(map, coords[k], s)?;
        // `select` copies into a buffer of its own: check that one fits first.
        drop(Side::Engine.vec::<T>(data.len() / data.shape()[k].max(1) * positions.len())?);
        data = data.select(Axis(k), &positions);
    }
    for (k, s) in args.sel.iter().enumerate().rev() {
        if s.drop {
            if data.shape()[k] != 1 {
                bail!(Protocol, "engine {me} does not hold index {} of axis {k}", s.first);
            }
            data = data.index_axis_move(Axis(k), 0);
        }
    }
    if data.is_standard_layout() {
        Ok(data)
    } else {
        Side::Engine.clone_array(&data)
    }
}

fn run_assign<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, mut arrays, engine) = inputs.split();
    let args: AssignArgs<T> = args.decode()?;
    let a = arrays.next_mut::<T>("a")?;
    let piece = match &args.piece {
        Some(key) => arrays.next_maybe_ref::<T>(key)?,
        None => None,
    };
    let me = engine.engine_id();
    let coords = coords_in(&args.source, me)?;
    if a.is_empty() {
        return output_unit(());
    }
    let lists: Vec<Vec<usize>> = args
        .source
        .maps
        .iter()
        .zip(&args.sel)
        .enumerate()
        .map(|(k, (map, s))| local_selection(map, coords[k], s))
        .collect::<Result<_>>()?;
    let shape: Vec<usize> = lists.iter().map(Vec::len).collect();
    let total: usize = shape.iter().product();
    if total == 0 {
        return output_unit(());
    }
    let mut values: Box<dyn Iterator<Item = T>> = match (args.value, piece) {
        (Some(v), _) => Box::new(std::iter::repeat(v)),
        (None, Some(p)) if p.len() == total => Box::new(p.iter().copied()),
        (None, Some(p)) => {
            bail!(Protocol, "engine {me} selects {total} elements but holds {} values for them", p.len())
        }
        (None, None) => bail!(Protocol, "engine {me} selects {total} elements but holds no values for them"),
    };
    let mut idx = vec![0usize; shape.len()];
    let mut pos = vec![0usize; shape.len()];
    loop {
        for (k, p) in pos.iter_mut().enumerate() {
            *p = lists[k][idx[k]];
        }
        if let Some(v) = values.next() {
            a[IxDyn(&pos)] = v;
        }
        if !advance(&mut idx, &shape) {
            break;
        }
    }
    output_unit(())
}

register_internal!(GET, run_get);
register_internal!(SET, run_set);
register_internal!(SLICE, run_slice);
register_internal!(ASSIGN, run_assign);
