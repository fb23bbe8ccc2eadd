//! The parameters of a `#[vectorize]` kernel on one engine: each one this
//! engine's piece of an array argument, or a scalar broadcast to every
//! element (never materialised as an array).

use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::engine::local::LocalArray;
use crate::layout::DimDict;

/// One parameter of a `#[vectorize]` call on one engine.
#[doc(hidden)]
pub enum LocalOperand<'a, T> {
    /// This engine's piece of an array argument.
    Array(&'a LocalArray<T>),
    /// A scalar argument.
    Scalar(T),
}

/// The local shape and dim data of an array parameter's piece.
#[doc(hidden)]
pub type PieceLayout<'a> = (&'a [usize], &'a [DimDict]);

/// A parameter as the fast loop reads it: a contiguous slice or a scalar.
#[doc(hidden)]
pub enum Lane<'a, T> {
    /// The elements, in logical order.
    Slice(&'a [T]),
    /// The same value for every element.
    Splat(T),
}

impl<'a, T: Element> LocalOperand<'a, T> {
    /// The parameter of `param`: the scalar sent, else the next array.
    pub fn take(scalar: Option<T>, arrays: &mut super::KernelArrays<'a>, param: &str) -> Result<LocalOperand<'a, T>> {
        Ok(match scalar {
            Some(value) => LocalOperand::Scalar(value),
            None => LocalOperand::Array(arrays.next_ref::<T>(param)?),
        })
    }

    /// The local shape and dim data of an array parameter.
    pub fn layout(&self) -> Option<PieceLayout<'a>> {
        match self {
            LocalOperand::Array(a) => Some((a.local_shape(), a.dim_data())),
            LocalOperand::Scalar(_) => None,
        }
    }

    /// The parameter as `n` contiguous elements or a scalar; `None` for an
    /// array that is not contiguous (the caller then iterates).
    pub fn lane(&self, n: usize) -> Option<Lane<'a, T>> {
        match self {
            LocalOperand::Array(a) => a.as_slice().map(|s| Lane::Slice(&s[..n])),
            LocalOperand::Scalar(v) => Some(Lane::Splat(*v)),
        }
    }

    /// The elements in logical order (a scalar repeats).
    pub fn iter(&self) -> LaneIter<'a, T> {
        match self {
            LocalOperand::Array(a) => LaneIter::Array(a.iter()),
            LocalOperand::Scalar(v) => LaneIter::Splat(*v),
        }
    }
}

/// The elements of a parameter, in logical order.
#[doc(hidden)]
pub enum LaneIter<'a, T> {
    /// An array's, element by element.
    Array(ndarray::iter::Iter<'a, T, ndarray::IxDyn>),
    /// A scalar, forever.
    Splat(T),
}

impl<T: Copy> Iterator for LaneIter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            LaneIter::Array(it) => it.next().copied(),
            LaneIter::Splat(v) => Some(*v),
        }
    }
}

/// The local shape and dim data of the first array parameter, after checking
/// that every array parameter's piece has that shape; `InvalidArgument` when
/// no parameter is an array.
#[doc(hidden)]
pub fn operand_layout<'a>(params: &[(&str, Option<PieceLayout<'a>>)]) -> Result<PieceLayout<'a>> {
    let mut arrays = params.iter().filter_map(|(name, layout)| layout.map(|l| (*name, l)));
    let Some((first, layout)) = arrays.next() else {
        bail!(InvalidArgument, "a `#[vectorize]` call needs at least one array argument");
    };
    if let Some((name, (shape, _))) = arrays.find(|(_, (shape, _))| *shape != layout.0) {
        bail!(InvalidShape, "local pieces differ: `{first}` has shape {:?}, `{name}` has {shape:?}", layout.0);
    }
    Ok(layout)
}

/// A local array of `values` (in logical order) with this shape and dim data.
#[doc(hidden)]
pub fn local_from_values<T: Element>((shape, dim_data): PieceLayout<'_>, values: Vec<T>) -> Result<LocalArray<T>> {
    let data = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, dim_data.to_vec())
}
