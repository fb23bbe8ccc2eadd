//! # Moving whole arrays between the engines and the client

use ndarray::{ArrayD, IxDyn};

use super::DistArray;
use crate::client::Distribution;
use crate::core::alloc::Side;
use crate::core::element::{from_bytes, Element};
use crate::core::error::{err, Result};
use crate::engine::local::LocalArray;
use crate::layout::{buffer_indices, has_ghosts, owned_region, DimDict};
use crate::protocol::Command;

impl<T: Element> DistArray<T> {
    /// The whole array, gathered on the client.
    ///
    /// # Errors
    /// `ContextClosed`, `KeyNotFound` after a cleanup, or a backend failure;
    /// `OutOfMemory` if the client cannot hold the array.
    pub fn toarray(&self) -> Result<ArrayD<T>> {
        let distribution = self.distribution();
        // The gathered array first: a size the client cannot hold fails
        // before any piece travels.
        let mut values = Side::Client.filled(distribution.global_size(), T::default())?;
        let pieces = self.pull()?;
        for (rank, (indices, piece)) in pieces_of(distribution).zip(pieces).enumerate() {
            let piece = own_cells(piece, &distribution.local_shape(rank), &distribution.dim_data(rank))?;
            let mut piece = piece.into_iter();
            let indices = indices?;
            for_each_offset(distribution.shape(), &indices, |offset| {
                if let Some(v) = piece.next() {
                    values[offset] = v;
                }
            });
        }
        ArrayD::from_shape_vec(IxDyn(distribution.shape()), values).map_err(|e| err!(InvalidShape, "{e}"))
    }

    /// Same as [`toarray`](Self::toarray).
    ///
    /// # Errors
    /// As [`toarray`](Self::toarray).
    pub fn tondarray(&self) -> Result<ArrayD<T>> {
        self.toarray()
    }

    /// Each rank's local ndarray, in rank order.
    ///
    /// # Errors
    /// As [`toarray`](Self::toarray).
    pub fn get_ndarrays(&self) -> Result<Vec<ArrayD<T>>> {
        Ok(self.get_localarrays()?.into_iter().map(LocalArray::into_ndarray).collect())
    }

    /// Each rank's [`LocalArray`], with its dim data, in rank order.
    ///
    /// # Errors
    /// As [`toarray`](Self::toarray).
    pub fn get_localarrays(&self) -> Result<Vec<LocalArray<T>>> {
        let distribution = self.distribution();
        self.pull()?
            .into_iter()
            .enumerate()
            .map(|(rank, values)| {
                let shape = distribution.local_shape(rank);
                let data = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| {
                    err!(
                        Protocol,
                        "engine {} sent a piece that is not of shape {shape:?}: {e}",
                        distribution.targets()[rank]
                    )
                })?;
                LocalArray::new(data, distribution.dim_data(rank))
            })
            .collect()
    }

    /// Every rank's elements in local C order.
    fn pull(&self) -> Result<Vec<Vec<T>>> {
        let command = Command::Pull { key: self.key.clone(), dtype: T::DTYPE };
        let responses = self.context().run(self.targets(), &command, Vec::new())?;
        responses
            .into_iter()
            .zip(self.distribution().localshapes())
            .zip(self.targets())
            .map(|(((_, data), shape), target)| {
                let values = from_bytes::<T>(&data, Side::Client)?;
                if values.len() != shape.iter().product::<usize>() {
                    return Err(err!(
                        Protocol,
                        "engine {target} sent {} elements for a piece of shape {shape:?}",
                        values.len()
                    ));
                }
                Ok(values)
            })
            .collect()
    }
}

/// For each rank in order, the global indices along each axis of its piece
/// (checked allocations on the client; none for an empty piece, whose other
/// axes may be huge).
pub(crate) fn pieces_of(distribution: &Distribution) -> impl Iterator<Item = Result<Vec<Vec<usize>>>> + '_ {
    (0..distribution.nprocs()).map(|rank| {
        if distribution.local_shape(rank).contains(&0) {
            return Ok(vec![Vec::new(); distribution.ndim()]);
        }
        distribution
            .maps()
            .iter()
            .zip(distribution.coords(rank))
            .map(|(m, c)| Side::Client.global_indices(m, c))
            .collect()
    })
}

/// For each rank in order, the global indices along each axis of its
/// buffer: [`pieces_of`] with the ghost cells' indices (see
/// [`DistributionBuilder::halo`](crate::DistributionBuilder::halo)).
pub(crate) fn buffers_of(distribution: &Distribution) -> impl Iterator<Item = Result<Vec<Vec<usize>>>> + '_ {
    (0..distribution.nprocs()).map(|rank| {
        if distribution.local_shape(rank).contains(&0) {
            return Ok(vec![Vec::new(); distribution.ndim()]);
        }
        let coords = distribution.coords(rank);
        Ok(distribution.maps().iter().zip(coords).map(|(m, c)| buffer_indices(m, c)).collect())
    })
}

/// A piece's own cells in C order, from its buffer of `shape` (ghost cells
/// dropped; the buffer itself when it has none).
fn own_cells<T: Element>(buffer: Vec<T>, shape: &[usize], dim_data: &[DimDict]) -> Result<Vec<T>> {
    if !has_ghosts(dim_data) {
        return Ok(buffer);
    }
    let buffer = ArrayD::from_shape_vec(IxDyn(shape), buffer).map_err(|e| err!(Protocol, "{e}"))?;
    let region = owned_region(dim_data);
    let own = buffer.slice_each_axis(|ax| {
        let r = &region[ax.axis.index()];
        ndarray::Slice::from(r.start..r.end)
    });
    Ok(own.iter().cloned().collect())
}

/// Calls `f` with the C-order offset in an array of `shape` of every element
/// of the piece whose per-axis global indices are `indices`, in the piece's own
/// C order.
pub(crate) fn for_each_offset(shape: &[usize], indices: &[Vec<usize>], mut f: impl FnMut(usize)) {
    let Some((inner, outer)) = indices.split_last() else {
        f(0); // a 0-d array has one element
        return;
    };
    if indices.iter().any(Vec::is_empty) {
        return;
    }
    let mut strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let mut counter = vec![0usize; outer.len()];
    loop {
        let base: usize = outer.iter().zip(&counter).zip(&strides).map(|((idx, &c), &s)| idx[c] * s).sum();
        for &j in inner {
            f(base + j);
        }
        // Advance the odometer over the outer axes, last fastest.
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            counter[axis] += 1;
            if counter[axis] < outer[axis].len() {
                break;
            }
            counter[axis] = 0;
        }
    }
}
