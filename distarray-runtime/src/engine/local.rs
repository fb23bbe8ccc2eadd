//! [`LocalArray`]: one engine's piece of a distributed array.

use std::any::Any;
use std::ops::{Deref, DerefMut, Range};

use ndarray::{ArrayD, IxDyn};

use crate::core::alloc::Side;
use crate::core::element::{as_bytes, from_bytes, DType, Element};
use crate::core::error::{bail, Result};
use crate::engine::cart::Cart;
use crate::engine::comm::Comm;
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

/// # Where the piece lies
impl<T: Element> LocalArray<T> {
    /// The shape of the distribution's process grid: the number of pieces
    /// along each axis.
    pub fn grid_shape(&self) -> Vec<usize> {
        self.dim_data.iter().map(DimDict::proc_grid_size).collect()
    }

    /// This piece's coordinates in the process grid (its `proc_grid_rank`
    /// along each axis).
    pub fn grid_coords(&self) -> Vec<usize> {
        self.dim_data.iter().map(DimDict::proc_grid_rank).collect()
    }

    /// The global index along `axis` of each local index along it, in
    /// local order, for every map type: `start..stop` for block axes, the
    /// dealt blocks for block-cyclic ones, the listed indices for
    /// unstructured ones. Ghost cells give the index of the cell they copy.
    ///
    /// **Panics** if `axis` is not an axis of the array.
    pub fn global_indices(&self, axis: usize) -> Vec<usize> {
        (0..self.data.shape()[axis]).map(|i| global_along(&self.dim_data[axis], i)).collect()
    }

    /// The global index of the element at local index `local` (one index
    /// per axis), through each axis's map.
    ///
    /// **Panics** if `local` has another number of axes, or lies outside
    /// the piece.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// #[local]
    /// fn first_global(a: &LocalArray<f64>) -> Vec<usize> {
    ///     a.global_index(&[0, 0])
    /// }
    ///
    /// let ctx = Context::new()?;
    /// // Rows dealt round-robin: engine `r` holds rows r, r + 4, ...
    /// let d = Distribution::builder(&ctx, &[8, 2]).dist("cn").build()?;
    /// let a = ctx.zeros::<f64>(&d)?;
    /// assert_eq!(first_global(&a)?, vec![vec![0, 0], vec![1, 0], vec![2, 0], vec![3, 0]]);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn global_index(&self, local: &[usize]) -> Vec<usize> {
        assert_eq!(
            local.len(),
            self.dim_data.len(),
            "a local index of {} axes for an array of {}",
            local.len(),
            self.ndim()
        );
        local
            .iter()
            .zip(self.data.shape())
            .zip(&self.dim_data)
            .map(|((&i, &n), d)| {
                assert!(i < n, "local index {i} out of bounds for a piece of length {n}");
                global_along(d, i)
            })
            .collect()
    }

    /// The global ranges this piece covers, one per axis, when each axis's
    /// piece is one contiguous run of global indices: always for block and
    /// undistributed axes; for a block-cyclic axis when the piece holds at
    /// most one block (or the grid has one piece along it); for an unstructured axis when its indices are
    /// consecutive and ascending. `None` otherwise (use
    /// [`global_indices`](Self::global_indices) or
    /// [`global_index`](Self::global_index)). With ghost cells, the ranges
    /// of the piece's own cells.
    pub fn global_ranges(&self) -> Option<Vec<Range<usize>>> {
        self.dim_data.iter().zip(self.data.shape()).map(|(d, &n)| contiguous(d, n)).collect()
    }

    /// The process grid seen from this piece, with the ranks of `comm` (the
    /// kernel's `engine.comm()`) of the engines holding the other pieces.
    ///
    /// # Errors
    /// `InvalidTarget` when the kernel does not run on the array's engines
    /// in the array's order (the default, unless the call names its
    /// targets), so that ranks would not match pieces.
    ///
    /// # Examples
    /// See [`Cart`].
    pub fn cart<C: Comm + ?Sized>(&self, comm: &C) -> Result<Cart> {
        Cart::new(self.grid_shape(), self.grid_coords(), comm.rank(), comm.size())
    }
}

/// The global index of local index `i` along an axis of dim dict `d`.
fn global_along(d: &DimDict, i: usize) -> usize {
    match d {
        // Ghost cells first (a periodic axis wraps around).
        DimDict::Block { start, size, .. } => (start + size + i - crate::layout::ghost_widths(d).0) % size.max(&1),
        DimDict::BlockCyclic { proc_grid_size, start, block_size, .. } => {
            // Local block `i / b` is global block `rank + (i / b) * grid`.
            start + (i / block_size) * proc_grid_size * block_size + i % block_size
        }
        DimDict::Unstructured { indices, .. } => indices[i],
        DimDict::NoDist { .. } => i,
    }
}

/// The global range of the `n` local indices along an axis of dim dict `d`,
/// if they are one contiguous run.
fn contiguous(d: &DimDict, n: usize) -> Option<Range<usize>> {
    match d {
        DimDict::Block { start, stop, .. } => Some(*start..*stop),
        DimDict::NoDist { size } => Some(0..*size),
        // One block, or every block of a grid of one.
        DimDict::BlockCyclic { start, block_size, proc_grid_size, .. } if n <= *block_size || *proc_grid_size == 1 => {
            Some(*start..*start + n)
        }
        DimDict::BlockCyclic { .. } => None,
        DimDict::Unstructured { indices, .. } => match indices.first() {
            None => Some(0..0),
            Some(&first) => indices.iter().enumerate().all(|(k, &g)| g == first + k).then(|| first..first + n),
        },
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
