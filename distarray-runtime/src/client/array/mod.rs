//! [`DistArray`]: a typed proxy for the local arrays that engines hold.

use std::fmt;
use std::marker::PhantomData;

use crate::client::context::Context;
use crate::client::Distribution;
use crate::core::element::{DType, Element};

mod impl_constructors;
mod impl_conversions;
mod impl_halo;
mod impl_indexing;
mod impl_methods;
mod impl_plot;
mod impl_redistribute;
mod impl_reduce;

pub use impl_halo::PendingHaloExchange;

/// A distributed N-dimensional array of `T`: one [`LocalArray`](crate::LocalArray)
/// per rank of its [`Distribution`], held by the engines under one key.
///
/// Dropping a `DistArray` frees its pieces on the engines.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use ndarray::Array2;
///
/// let ctx = Context::new()?;
/// let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as i64);
/// let da = ctx.fromarray(&a, None)?;
/// assert_eq!(da.shape(), &[5, 3]);
/// assert_eq!(da.toarray()?, a.into_dyn());
/// # Ok::<(), distarray::Error>(())
/// ```
pub struct DistArray<T: Element> {
    key: String,
    distribution: Distribution,
    /// `context::bulk_deletions()` when it was made.
    born: u64,
    _element: PhantomData<fn() -> T>,
}

impl<T: Element> DistArray<T> {
    /// A proxy for local arrays already stored under `key` with this layout.
    pub(crate) fn from_key(key: String, distribution: Distribution) -> Self {
        DistArray { key, distribution, born: crate::client::context::bulk_deletions(), _element: PhantomData }
    }

    /// Whether keys may have been deleted in bulk since this array was made
    /// (see `context::bulk_deletions`): its pieces may be gone.
    pub(crate) fn may_be_deleted(&self) -> bool {
        self.born != crate::client::context::bulk_deletions()
    }

    /// The key under which the engines hold the pieces.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The context.
    pub fn context(&self) -> &Context {
        self.distribution.context()
    }

    /// The distribution.
    pub fn distribution(&self) -> &Distribution {
        &self.distribution
    }

    /// The distribution letter of each axis (the reference's `dist`).
    pub fn dist(&self) -> Vec<char> {
        self.distribution.dist()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        T::DTYPE
    }

    /// The global shape.
    pub fn shape(&self) -> &[usize] {
        self.distribution.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.distribution.ndim()
    }

    /// The number of elements.
    pub fn global_size(&self) -> usize {
        self.distribution.global_size()
    }

    /// The process grid.
    pub fn grid_shape(&self) -> &[usize] {
        self.distribution.grid_shape()
    }

    /// The engines holding the pieces, in rank order.
    pub fn targets(&self) -> &[usize] {
        self.distribution.targets()
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        std::mem::size_of::<T>()
    }

    /// Bytes of all elements.
    pub fn nbytes(&self) -> usize {
        self.global_size() * self.itemsize()
    }

    /// The shape of every rank's piece.
    pub fn get_localshapes(&self) -> Vec<Vec<usize>> {
        self.distribution.localshapes()
    }
}

impl<T: Element> Drop for DistArray<T> {
    fn drop(&mut self) {
        // A failed delete leaves a key that `Context::cleanup` or closing the
        // context removes.
        let bytes = self.nbytes();
        self.distribution.context().discard(self.distribution.targets(), std::mem::take(&mut self.key), bytes);
    }
}

impl<T: Element> fmt::Debug for DistArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DistArray")
            .field("dtype", &T::DTYPE)
            .field("key", &self.key)
            .field("distribution", &self.distribution)
            .finish()
    }
}
