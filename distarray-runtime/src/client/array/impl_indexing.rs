//! # Element access, slicing and assignment into slices
//!
//! Element access goes to the one engine that owns the element; slices are
//! computed on the engines that own the selected elements (nothing passes
//! through the client unless asked for, as with
//! [`slice_to_ndarray`](DistArray::slice_to_ndarray)).

use ndarray::{ArrayBase, ArrayD, Data, Dimension, SliceInfoElem};

use super::DistArray;
use crate::client::{Distribution, KernelCall};
use crate::core::alloc::Side;
use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::index::engine::{AssignArgs, AxisSel, SliceArgs, ASSIGN, GET, SET, SLICE};
use crate::layout::{BlockMap, Locator, Map, MapBase, NoDistMap, UnstructuredMap};
use crate::protocol::KernelReply;

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
        .filter(|&r| d.coords(r).iter().zip(&fixed).all(|(c, f)| f.is_none_or(|f| f == *c)))
        .map(|r| d.targets()[r])
        .collect();
    Distribution::from_maps(d.context(), maps, targets)
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
        let call = KernelCall::internal::<T>(&GET).array("a", self)?.args(&idx)?;
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
        let call = KernelCall::internal::<T>(&SET).array("a", self)?.args(&(idx, value))?;
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
        self.distribution().refuse_ghosts("slicing")?;
        let sel = selection(self.shape(), info.as_ref())?;
        let result = slice_layout(self.distribution(), &sel)?;
        let args = SliceArgs { source: self.distribution().layout().clone(), sel, result: result.layout().clone() };
        let call = KernelCall::internal::<T>(&SLICE).array("a", self)?.args(&args)?;
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
        self.distribution().refuse_ghosts("assigning to a slice")?;
        let args = AssignArgs {
            source: self.distribution().layout().clone(),
            sel,
            value,
            piece: piece.map(|p| p.key().to_string()),
        };
        let mut call = KernelCall::internal::<T>(&ASSIGN).array("a", self)?.args(&args)?;
        if let Some(p) = piece {
            call = call.maybe_array(p)?;
        }
        call.send(None, None).map(drop)
    }
}

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
    }
}
