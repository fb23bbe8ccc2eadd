//! [`LocalArray`]: one engine's piece of a distributed array.

use std::any::Any;
use std::ops::{Deref, DerefMut};

use ndarray::{ArrayD, IxDyn};

use crate::core::alloc::Side;
use crate::core::element::{as_bytes, from_bytes, DType, Element};
use crate::core::error::{bail, Result};
use crate::layout::local_shape;
use crate::layout::DimDict;

/// The piece of a [`DistArray`](crate::DistArray) that one engine holds: an
/// ndarray plus the dim data (Distributed Array Protocol) saying which global
/// indices it covers.
///
/// Derefs to the [`ndarray::ArrayD`] of local elements.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalArray<T> {
    data: ArrayD<T>,
    dim_data: Vec<DimDict>,
}

impl<T: Element> LocalArray<T> {
    /// A local array from its elements and its dim data.
    ///
    /// # Errors
    /// `InvalidDimData` if the number of axes or any axis length disagrees with
    /// the dim data.
    pub fn new(data: ArrayD<T>, dim_data: Vec<DimDict>) -> Result<Self> {
        let expected = local_shape(&dim_data);
        if data.shape() != expected.as_slice() {
            bail!(
                InvalidDimData,
                "a local array of shape {:?} does not match its dim data, which gives {expected:?}",
                data.shape()
            );
        }
        Ok(LocalArray { data, dim_data })
    }

    /// A local array holding all of `data`, as the one piece of an
    /// undistributed array of its shape (dim data `NoDist` on every axis).
    /// For calling a kernel's body outside the engines, e.g. in a unit
    /// test: `scale::body(&LocalArray::from_ndarray(a), 2.0)`.
    ///
    /// ```
    /// use distarray::LocalArray;
    ///
    /// let a = LocalArray::from_ndarray(ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]));
    /// assert_eq!(a.local_shape(), a.global_shape().as_slice());
    /// assert_eq!(a[[1, 0]], 3.0);
    /// ```
    pub fn from_ndarray<D: ndarray::Dimension>(data: ndarray::Array<T, D>) -> Self {
        let data = data.into_dyn();
        let dim_data = data.shape().iter().map(|&size| DimDict::NoDist { size }).collect();
        LocalArray { data, dim_data }
    }

    /// From raw native-order bytes in C order, checked against the dim data.
    /// The elements are a checked allocation `on` the engine or the client.
    pub(crate) fn from_bytes(bytes: &[u8], dim_data: Vec<DimDict>, on: Side) -> Result<Self> {
        let values = from_bytes::<T>(bytes, on)?;
        let shape = local_shape(&dim_data);
        let data = ArrayD::from_shape_vec(IxDyn(&shape), values)
            .map_err(|e| crate::core::error::err!(InvalidShape, "a buffer does not fit local shape {shape:?}: {e}"))?;
        Ok(LocalArray { data, dim_data })
    }

    /// A local array of `f` applied to every element, with the same dim data
    /// (so a kernel can return it as a piece of a new DistArray).
    pub fn map<U: Element>(&self, f: impl FnMut(&T) -> U) -> LocalArray<U> {
        LocalArray { data: self.data.map(f), dim_data: self.dim_data.clone() }
    }

    /// Like [`map`](Self::map), taking elements by value.
    pub fn mapv<U: Element>(&self, f: impl FnMut(T) -> U) -> LocalArray<U> {
        LocalArray { data: self.data.mapv(f), dim_data: self.dim_data.clone() }
    }

    /// A local array of other elements with this one's dim data.
    ///
    /// # Errors
    /// `InvalidDimData` if `data`'s shape is not this piece's shape.
    pub fn with_data<U: Element>(&self, data: ArrayD<U>) -> Result<LocalArray<U>> {
        LocalArray::new(data, self.dim_data.clone())
    }

    /// The local elements.
    pub fn ndarray(&self) -> &ArrayD<T> {
        &self.data
    }

    /// The local elements, mutable.
    pub fn ndarray_mut(&mut self) -> &mut ArrayD<T> {
        &mut self.data
    }

    /// The local elements, by value.
    pub fn into_ndarray(self) -> ArrayD<T> {
        self.data
    }

    /// The dim data: which part of each axis this piece covers.
    pub fn dim_data(&self) -> &[DimDict] {
        &self.dim_data
    }

    /// The shape of the whole distributed array.
    pub fn global_shape(&self) -> Vec<usize> {
        self.dim_data.iter().map(DimDict::size).collect()
    }

    /// The shape of this piece.
    pub fn local_shape(&self) -> &[usize] {
        self.data.shape()
    }
}

impl<T> Deref for LocalArray<T> {
    type Target = ArrayD<T>;
    fn deref(&self) -> &ArrayD<T> {
        &self.data
    }
}

impl<T> DerefMut for LocalArray<T> {
    fn deref_mut(&mut self) -> &mut ArrayD<T> {
        &mut self.data
    }
}

/// A local array of any element type, as engines store it.
pub(crate) trait StoredArray: Send {
    fn dtype(&self) -> DType;
    /// The bytes of its elements.
    fn nbytes(&self) -> usize;
    fn dim_data(&self) -> &[DimDict];
    /// The elements as native-order bytes in C order (a checked copy).
    fn raw_bytes(&self) -> Result<Vec<u8>>;
    fn fill_raw(&mut self, value: &[u8]) -> Result<()>;
    /// A copy, whose elements are a checked allocation.
    fn clone_box(&self) -> Result<Box<dyn StoredArray>>;
    /// Makes `self` a copy of `other` in place, if both are of one element
    /// type and shape and contiguous (no allocation); else `false`.
    fn copy_from(&mut self, other: &dyn StoredArray) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The element buffer, emptied, with its element type and capacity in
    /// bytes, for reuse by a later piece (`None` unless its elements start
    /// at the buffer's start).
    fn into_buffer(self: Box<Self>) -> Option<(DType, usize, Box<dyn Any + Send>)>;
}

impl<T: Element> StoredArray for LocalArray<T> {
    fn dtype(&self) -> DType {
        T::DTYPE
    }

    fn nbytes(&self) -> usize {
        self.data.len().saturating_mul(std::mem::size_of::<T>())
    }

    fn dim_data(&self) -> &[DimDict] {
        &self.dim_data
    }

    fn raw_bytes(&self) -> Result<Vec<u8>> {
        let mut bytes = Side::Engine.vec(std::mem::size_of::<T>().saturating_mul(self.data.len()))?;
        match self.data.as_slice() {
            Some(slice) => bytes.extend_from_slice(as_bytes(slice)),
            None => self.data.iter().for_each(|v| bytes.extend_from_slice(as_bytes(std::slice::from_ref(v)))),
        }
        Ok(bytes)
    }

    fn fill_raw(&mut self, value: &[u8]) -> Result<()> {
        match from_bytes::<T>(value, Side::Engine)?.as_slice() {
            [v] => {
                self.data.fill(*v);
                Ok(())
            }
            other => bail!(Protocol, "fill needs one {} value, got {}", T::DTYPE, other.len()),
        }
    }

    fn clone_box(&self) -> Result<Box<dyn StoredArray>> {
        let data = Side::Engine.clone_array(&self.data)?;
        Ok(Box::new(LocalArray { data, dim_data: self.dim_data.clone() }))
    }

    fn copy_from(&mut self, other: &dyn StoredArray) -> bool {
        let Some(other) = other.as_any().downcast_ref::<LocalArray<T>>() else { return false };
        if self.data.shape() != other.data.shape() {
            return false;
        }
        match (self.data.as_slice_mut(), other.data.as_slice()) {
            (Some(mine), Some(theirs)) => mine.copy_from_slice(theirs),
            _ => return false,
        }
        self.dim_data.clone_from(&other.dim_data);
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_buffer(self: Box<Self>) -> Option<(DType, usize, Box<dyn Any + Send>)> {
        let (mut values, offset) = self.data.into_raw_vec_and_offset();
        if offset.unwrap_or(0) != 0 {
            return None;
        }
        values.clear();
        let bytes = values.capacity().saturating_mul(std::mem::size_of::<T>());
        Some((T::DTYPE, bytes, Box::new(values)))
    }
}
