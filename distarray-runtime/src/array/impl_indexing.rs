//! # Element access, slicing and assignment into slices
//!
//! Element access goes to the one engine that owns the element; slices are
//! computed on the engines that own the selected elements (nothing passes
//! through the client unless asked for, as with
//! [`slice_to_ndarray`](DistArray::slice_to_ndarray)).

use std::borrow::Cow;

use ndarray::{ArrayBase, ArrayD, Axis, Data, Dimension, IxDyn, SliceInfoElem};
use serde::{Deserialize, Serialize};

use super::DistArray;
use crate::alloc::{size_of_shape, Side};
use crate::distribution::{rank_to_coords, BlockMap, DimDict, Distribution, Map, MapBase, NoDistMap, UnstructuredMap};
use crate::element::{DType, Element};
use crate::error::{bail, err, Result};
use crate::kernel::register_for_every_dtype;
use crate::kernel::{output_array, output_unit, output_value, KernelCall, KernelInputs, KernelOutput, KernelReply};
use crate::local::local_shape;
use crate::local::LocalArray;
use crate::protocol::Layout;
use crate::redistribute::{advance, Locator};

/// The selection along one axis: `len` indices `first + j * step`; `drop`
/// for an integer index, which removes the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct AxisSel {
    first: usize,
    step: isize,
    len: usize,
    drop: bool,
}

impl AxisSel {
    fn global(&self, j: usize) -> usize {
        (self.first as i128 + j as i128 * self.step as i128) as usize
    }

    /// The position in the selection of global index `g`, if selected.
    fn position(&self, g: usize) -> Option<usize> {
        let d = g as i128 - self.first as i128;
        let step = self.step as i128;
        if d % step != 0 {
            return None;
        }
        let j = d / step;
        (j >= 0 && j < self.len as i128).then_some(j as usize)
    }
}

/// A numpy-style index along an axis of length `len`: negative counts from
/// the end.
fn resolve(i: isize, len: usize, axis: usize) -> Result<usize> {
    let r = if i < 0 { len as i128 + i as i128 } else { i as i128 };
    if r < 0 || r >= len as i128 {
        bail!(IndexOutOfBounds, "index {i} is out of bounds for axis {axis} with size {len}");
    }
    Ok(r as usize)
}

/// The selection of `info` (ndarray's `s![]` semantics) on `shape`; axes not
/// named are taken whole.
fn selection(shape: &[usize], info: &[SliceInfoElem]) -> Result<Vec<AxisSel>> {
    if info.len() > shape.len() {
        bail!(IndexOutOfBounds, "{} slice entries for an array with {} axes", info.len(), shape.len());
    }
    let mut out = Vec::with_capacity(shape.len());
    for (axis, &len) in shape.iter().enumerate() {
        let elem = info.get(axis).copied().unwrap_or(SliceInfoElem::Slice { start: 0, end: None, step: 1 });
        let bound = |i: isize| -> Result<usize> {
            let r = if i < 0 { len as i128 + i as i128 } else { i as i128 };
            if r < 0 || r > len as i128 {
                bail!(IndexOutOfBounds, "slice bound {i} is out of bounds for axis {axis} with size {len}");
            }
            Ok(r as usize)
        };
        out.push(match elem {
            SliceInfoElem::Index(i) => AxisSel { first: resolve(i, len, axis)?, step: 1, len: 1, drop: true },
            SliceInfoElem::Slice { start, end, step } => {
                if step == 0 {
                    bail!(IndexOutOfBounds, "slice step 0 on axis {axis}");
                }
                let start = bound(start)?;
                let end = end.map_or(Ok(len), bound)?.max(start);
                let n = (end - start).div_ceil(step.unsigned_abs());
                let first = if step > 0 || n == 0 { start } else { end - 1 };
                AxisSel { first, step, len: n, drop: false }
            }
            SliceInfoElem::NewAxis => bail!(Unsupported, "new axes are not supported in DistArray slices"),
        });
    }
    Ok(out)
}

/// The distribution of a slice: kept axes keep their grid; along each, grid
/// coordinate `c` holds the selected indices that `c` owns, in ascending
/// order. That is a block map when those runs follow each other in rank order
/// (block axes with a positive step), not-distributed for `'n'` axes, else an
/// unstructured map. Integer indices remove their axis and keep only the
/// ranks at the owning grid coordinate.
fn slice_layout(d: &Distribution, sel: &[AxisSel]) -> Result<Distribution> {
    let mut maps = Vec::new();
    let mut fixed: Vec<Option<usize>> = Vec::with_capacity(sel.len());
    for (map, s) in d.maps().iter().zip(sel) {
        let locator = Locator::new(map, &mut 0);
        if s.drop {
            fixed.push(Some(locator.locate(s.first).0));
            continue;
        }
        fixed.push(None);
        // Not-distributed axes and block axes sliced forwards are computed
        // from their bounds: an axis may be huge while the array is empty.
        match map {
            Map::NoDist(_) => {
                maps.push(Map::NoDist(NoDistMap::new(s.len, 1)?));
                continue;
            }
            Map::Block(m) if s.step > 0 => {
                let step = s.step.unsigned_abs();
                let below = |b: usize| if b <= s.first { 0 } else { (b - s.first).div_ceil(step).min(s.len) };
                maps.push(Map::Block(BlockMap::from_bounds(m.bounds().iter().map(|&b| below(b)).collect())?));
                continue;
            }
            _ => {}
        }
        // Else each coordinate's list of selected positions (the new map
        // holds them all: fail before walking a selection that cannot fit),
        // in checked allocations sized by a first counting pass.
        drop(
            Side::Client
                .vec::<usize>(s.len)
                .map_err(|e| e.context(format_args!("the slice's map of axis {}", fixed.len() - 1)))?,
        );
        let mut counts = vec![0usize; map.grid_size()];
        for j in 0..s.len {
            counts[locator.locate(s.global(j)).0] += 1;
        }
        let mut lists = counts.iter().map(|&n| Side::Client.vec(n)).collect::<Result<Vec<_>>>()?;
        for j in 0..s.len {
            lists[locator.locate(s.global(j)).0].push(j);
        }
        let in_order = lists.iter().flatten().enumerate().all(|(i, &j)| i == j);
        maps.push(match map {
            _ if in_order => {
                let mut bounds = vec![0];
                for l in &lists {
                    bounds.push(bounds[bounds.len() - 1] + l.len());
                }
                Map::Block(BlockMap::from_bounds(bounds)?)
            }
            _ => Map::Unstructured(UnstructuredMap::new(s.len, lists.len(), Some(lists))?),
        });
    }
    let targets = (0..d.nprocs())
        .filter(|&r| d.coords(r).iter().zip(&fixed).all(|(c, f)| f.map_or(true, |f| f == *c)))
        .map(|r| d.targets()[r])
        .collect();
    Distribution::from_maps(d.context(), maps, targets)
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
        DimDict::Block { start, stop, .. } => (*start..*stop).contains(&g).then(|| g - start),
        DimDict::BlockCyclic { size, proc_grid_size, proc_grid_rank, block_size, .. } => {
            let b = g / block_size;
            (g < *size && b % proc_grid_size == *proc_grid_rank)
                .then(|| (b / proc_grid_size) * block_size + g % block_size)
        }
        DimDict::NoDist { size } => (g < *size).then_some(g),
        DimDict::Unstructured { indices, .. } => indices.iter().position(|&i| i == g),
    }
}

fn kernel_name(op: &str, dtype: DType) -> String {
    format!("distarray::index::{op}::{}", dtype.name())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SliceArgs {
    source: Layout,
    sel: Vec<AxisSel>,
    result: Layout,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AssignArgs<T> {
    source: Layout,
    sel: Vec<AxisSel>,
    /// A scalar to write everywhere, or the key of a piece laid out as the slice.
    value: Option<T>,
    piece: Option<String>,
}

/// # Indexing and slicing
impl<T: Element> DistArray<T> {
    /// The element at `index` (one entry per axis; negative entries count from
    /// the end, as in numpy), fetched from the engine that owns it.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let mut a = ctx.fromarray(&ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (10 * i + j) as i32), None)?;
    /// assert_eq!(a.get(&[2, -1])?, 24);
    /// a.set(&[2, -1], 7)?;
    /// assert_eq!(a.get(&[2, 4])?, 7);
    /// assert!(a.get(&[4, 0]).is_err());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `IndexOutOfBounds` for an index outside the array or of the wrong
    /// length; backend failures.
    pub fn get(&self, index: &[isize]) -> Result<T> {
        let idx = self.resolve_index(index)?;
        let targets = self.distribution().owning_targets(&idx)?;
        let call = KernelCall::named(Cow::Owned(kernel_name("get", T::DTYPE))).array("a", self)?.args(&idx)?;
        let (_, _, replies) = call.send(Some(&targets), None)?;
        for (reply, data) in &replies {
            if !matches!(reply, KernelReply::Value) {
                bail!(Protocol, "an element read was answered with {reply:?}");
            }
            if let Some(v) = crate::protocol::decode::<Option<T>>(data)? {
                return Ok(v);
            }
        }
        bail!(IndexOutOfBounds, "no engine holds the element {index:?}")
    }

    /// Sets the element at `index` (as [`get`](Self::get)) on the engine that
    /// owns it.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn set(&mut self, index: &[isize], value: T) -> Result<()> {
        let idx = self.resolve_index(index)?;
        let targets = self.distribution().owning_targets(&idx)?;
        let call = KernelCall::named(Cow::Owned(kernel_name("set", T::DTYPE))).array("a", self)?.args(&(idx, value))?;
        let (_, _, replies) = call.send(Some(&targets), None)?;
        let mut written = false;
        for (_, data) in &replies {
            written |= crate::protocol::decode::<bool>(data)?;
        }
        if !written {
            bail!(IndexOutOfBounds, "no engine holds the element {index:?}");
        }
        Ok(())
    }

    fn resolve_index(&self, index: &[isize]) -> Result<Vec<usize>> {
        if index.len() != self.ndim() {
            bail!(
                IndexOutOfBounds,
                "index {index:?} has {} entries for an array with {} axes",
                index.len(),
                self.ndim()
            );
        }
        index.iter().zip(self.shape()).enumerate().map(|(axis, (&i, &len))| resolve(i, len, axis)).collect()
    }

    /// The distribution that [`slice`](Self::slice) gives for `info`: every kept
    /// axis keeps its grid, and grid coordinate `c` holds the selected indices
    /// it owned, in ascending order of the new axis — a block map when these
    /// runs follow in rank order (block axes sliced with a positive step),
    /// `'n'` for not-distributed axes, an unstructured map otherwise (cyclic
    /// axes, negative steps). An integer index removes its axis and keeps only
    /// the engines at the grid coordinate that owns it.
    ///
    /// # Errors
    /// `IndexOutOfBounds` for bounds or indices outside the array, a zero step
    /// or too many entries; `Unsupported` for `NewAxis`.
    pub fn slice_distribution(&self, info: impl AsRef<[SliceInfoElem]>) -> Result<Distribution> {
        let sel = selection(self.shape(), info.as_ref())?;
        slice_layout(self.distribution(), &sel)
    }

    /// A new array of the elements that `info` selects, with ndarray's `s![]`
    /// semantics (ranges, negative bounds from the end, steps — a negative step
    /// walks the range backwards — and integers, which remove their axis).
    /// Each engine computes its own piece from its own elements; the result is
    /// distributed as [`slice_distribution`](Self::slice_distribution) says.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    /// use ndarray::s;
    ///
    /// let ctx = Context::new()?;
    /// let a = ndarray::Array2::from_shape_fn((6, 7), |(i, j)| (10 * i + j) as i64);
    /// let da = ctx.fromarray(&a, None)?;
    /// let part = da.slice(s![1..5, ..;-2])?;
    /// assert_eq!(part.toarray()?, a.slice(s![1..5, ..;-2]).into_owned().into_dyn());
    /// assert_eq!(da.slice_to_ndarray(s![-1, 2..4])?, a.slice(s![-1, 2..4]).into_owned().into_dyn());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`slice_distribution`](Self::slice_distribution); backend failures.
    pub fn slice(&self, info: impl AsRef<[SliceInfoElem]>) -> Result<DistArray<T>> {
        let sel = selection(self.shape(), info.as_ref())?;
        let result = slice_layout(self.distribution(), &sel)?;
        let args = SliceArgs { source: self.distribution().layout().clone(), sel, result: result.layout().clone() };
        let call = KernelCall::named(Cow::Owned(kernel_name("slice", T::DTYPE))).array("a", self)?.args(&args)?;
        call.run_array_onto(None, &result)
    }

    /// The elements that `info` selects (as [`slice`](Self::slice)), gathered on
    /// the client: only the selected elements travel.
    ///
    /// # Errors
    /// As [`slice`](Self::slice).
    pub fn slice_to_ndarray(&self, info: impl AsRef<[SliceInfoElem]>) -> Result<ArrayD<T>> {
        self.slice(info)?.toarray()
    }

    /// Sets every element that `info` selects to `value`, on the engines that
    /// own them.
    ///
    /// # Errors
    /// As [`slice`](Self::slice).
    pub fn fill_slice(&mut self, info: impl AsRef<[SliceInfoElem]>, value: T) -> Result<()> {
        let sel = selection(self.shape(), info.as_ref())?;
        self.assign(sel, Some(value), None)
    }

    /// Writes `values` (of the slice's shape) into the elements that `info`
    /// selects; each engine receives only its part.
    ///
    /// # Errors
    /// `InvalidShape` if `values` does not have the slice's shape; as
    /// [`slice`](Self::slice).
    pub fn assign_slice<S, D>(&mut self, info: impl AsRef<[SliceInfoElem]>, values: &ArrayBase<S, D>) -> Result<()>
    where
        S: Data<Elem = T>,
        D: Dimension,
    {
        let sel = selection(self.shape(), info.as_ref())?;
        let layout = slice_layout(self.distribution(), &sel)?;
        if layout.shape() != values.shape() {
            bail!(
                InvalidShape,
                "values of shape {:?} cannot be assigned to a slice of shape {:?}",
                values.shape(),
                layout.shape()
            );
        }
        let piece = self.context().fromarray(values, Some(&layout))?;
        self.assign(sel, None, Some(&piece))
    }

    /// Writes the elements of `other` (of the slice's shape, any distribution
    /// of the same context) into the elements that `info` selects. When `other`
    /// is not laid out as [`slice_distribution`](Self::slice_distribution), a
    /// temporary copy is redistributed to it first (engine to engine).
    ///
    /// # Errors
    /// As [`assign_slice`](Self::assign_slice); `WrongContext` if `other`
    /// belongs to another context.
    pub fn assign_slice_from(&mut self, info: impl AsRef<[SliceInfoElem]>, other: &DistArray<T>) -> Result<()> {
        let sel = selection(self.shape(), info.as_ref())?;
        let layout = slice_layout(self.distribution(), &sel)?;
        if layout.shape() != other.shape() {
            bail!(
                InvalidShape,
                "an array of shape {:?} cannot be assigned to a slice of shape {:?}",
                other.shape(),
                layout.shape()
            );
        }
        let aligned = other.aligned_to(&layout)?;
        self.assign(sel, None, Some(&aligned))
    }

    fn assign(&mut self, sel: Vec<AxisSel>, value: Option<T>, piece: Option<&DistArray<T>>) -> Result<()> {
        let args = AssignArgs {
            source: self.distribution().layout().clone(),
            sel,
            value,
            piece: piece.map(|p| p.key().to_string()),
        };
        let mut call = KernelCall::named(Cow::Owned(kernel_name("assign", T::DTYPE))).array("a", self)?.args(&args)?;
        if let Some(p) = piece {
            call = call.maybe_array(p)?;
        }
        call.send(None, None).map(drop)
    }
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

register_for_every_dtype!("distarray::index::get::", run_get);
register_for_every_dtype!("distarray::index::set::", run_set);
register_for_every_dtype!("distarray::index::slice::", run_slice);
register_for_every_dtype!("distarray::index::assign::", run_assign);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_follow_ndarray() {
        let s = selection(&[10], &[SliceInfoElem::Slice { start: 2, end: Some(9), step: -3 }]).unwrap()[0];
        assert_eq!((0..s.len).map(|j| s.global(j)).collect::<Vec<_>>(), vec![8, 5, 2]);
        assert_eq!(s.position(5), Some(1));
        assert_eq!(s.position(4), None);
        let s = selection(&[10], &[SliceInfoElem::Index(-1)]).unwrap()[0];
        assert_eq!((s.first, s.drop), (9, true));
        for d in DType::ALL {
            let registered: Vec<&str> =
                inventory::iter::<crate::kernel::KernelEntry>.into_iter().map(|k| k.name).collect();
            assert!(registered.contains(&kernel_name("assign", d).as_str()));
        }
    }
}
