//! Checked allocation, the crate's one helper for it: every buffer whose size
//! follows from input (a piece, a message, a file's data or header, a map's
//! tables, the client's gathered array) is reserved with `try_reserve_exact`
//! through [`Side`], so a size the machine cannot hold is `Err(OutOfMemory)`
//! (numpy's MemoryError) instead of an aborted process. Callers that report
//! another kind (a grid too large is `InvalidGridShape`) relabel that error.
//!
//! What this cannot cover: allocations inside a user's own `#[local]` body
//! (`ndarray` operations there abort as they do anywhere), and Linux
//! overcommit, under which a reservation that succeeds may still be
//! OOM-killed when its pages are touched.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::core::error::{err, Result};

/// Where an allocation happens, for the message of its failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// On an engine, for its pieces and buffers.
    Engine,
    /// On the client, for gathered arrays and payloads.
    Client,
    /// Wherever the caller runs: layout math and file formats serve both.
    Here,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Engine => "on this engine",
            Side::Client => "on the client",
            Side::Here => "in this process",
        }
    }

    /// An empty `Vec` with room for `n` elements, or `Err(OutOfMemory)` where
    /// `Vec::with_capacity` would abort the process.
    pub(crate) fn vec<T>(self, n: usize) -> Result<Vec<T>> {
        let mut values = Vec::new();
        values.try_reserve_exact(n).map_err(|_| {
            let size = std::mem::size_of::<T>();
            match n.checked_mul(size) {
                Some(bytes) => {
                    err!(OutOfMemory, "cannot allocate {n} elements of {size} bytes ({bytes} bytes) {}", self.name())
                }
                None => err!(
                    OutOfMemory,
                    "cannot allocate {n} elements of {size} bytes (more bytes than usize holds) {}",
                    self.name()
                ),
            }
        })?;
        Ok(values)
    }

    /// `n` copies of `value` (a checked `vec![value; n]`).
    pub(crate) fn filled<T: Clone>(self, n: usize, value: T) -> Result<Vec<T>> {
        let mut values = self.vec(n)?;
        values.resize(n, value);
        Ok(values)
    }

    /// The items of `items`, of which there are `n` (at most `n` are taken):
    /// a checked `collect()`.
    pub(crate) fn collect<T>(self, n: usize, items: impl IntoIterator<Item = T>) -> Result<Vec<T>> {
        let mut values = self.vec(n)?;
        values.extend(items.into_iter().take(n));
        Ok(values)
    }

    /// A copy of `values` (a checked `to_vec()`).
    pub(crate) fn copy<T: Copy>(self, values: &[T]) -> Result<Vec<T>> {
        let mut copy = self.vec(values.len())?;
        copy.extend_from_slice(values);
        Ok(copy)
    }

    /// `message` encoded (as `protocol::encode`) into a checked buffer of at
    /// most `max_len` bytes, reserved up front.
    pub(crate) fn encode<M: serde::Serialize>(self, message: &M, max_len: usize) -> Result<Vec<u8>> {
        postcard::to_extend(message, self.vec(max_len)?).map_err(|e| err!(Protocol, "cannot encode a message: {e}"))
    }

    /// An array of `shape` from its elements in C order, `n` of them (the
    /// shape's size): a checked `ArrayD::from_shape_fn`.
    pub(crate) fn array<T>(self, shape: &[usize], items: impl IntoIterator<Item = T>) -> Result<ArrayD<T>> {
        let n = size_of_shape(shape)?;
        let values = self.collect(n, items)?;
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| err!(InvalidShape, "{e}"))
    }

    /// `view` in standard (C) layout, borrowed when it already is: a checked
    /// `as_standard_layout()`.
    pub(crate) fn standard<'a, T: Copy>(self, view: ArrayViewD<'a, T>) -> Result<std::borrow::Cow<'a, [T]>> {
        match view.to_slice() {
            Some(slice) => Ok(std::borrow::Cow::Borrowed(slice)),
            None => Ok(std::borrow::Cow::Owned(self.collect(view.len(), view.iter().copied())?)),
        }
    }

    /// An owned copy of `array`, in standard layout: a checked `clone()`.
    pub(crate) fn clone_array<T: Copy>(self, array: &ArrayD<T>) -> Result<ArrayD<T>> {
        match array.as_slice() {
            // One memcpy: iterating an `IxDyn` array costs index arithmetic
            // per element, several times the copy.
            Some(slice) => {
                ArrayD::from_shape_vec(array.raw_dim(), self.copy(slice)?).map_err(|e| err!(InvalidShape, "{e}"))
            }
            None => self.array(array.shape(), array.iter().copied()),
        }
    }
}

/// The number of elements of `shape`, or `Err(InvalidShape)` when the product
/// overflows (ndarray's limit is `isize::MAX` elements).
pub(crate) fn size_of_shape(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &s| n.checked_mul(s))
        .filter(|&n| isize::try_from(n).is_ok())
        .ok_or_else(|| err!(InvalidShape, "shape {shape:?} has more elements than this machine can address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;

    #[test]
    fn huge_reservations_are_errors_naming_the_side() {
        let e = Side::Engine.vec::<f64>(1 << 50).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory);
        assert!(e.message().contains("on this engine") && e.message().contains("1125899906842624 elements"), "{e}");
        let e = Side::Client.filled(usize::MAX / 2, 0u64).unwrap_err();
        assert!(e.message().contains("on the client") && e.message().contains("more bytes than usize"), "{e}");
        assert_eq!(Side::Client.copy(&[1, 2, 3]).unwrap(), vec![1, 2, 3]);
        assert_eq!(Side::Engine.collect(2, 0..5).unwrap(), vec![0, 1]);
    }

    #[test]
    fn shape_sizes_overflow_into_invalid_shape() {
        assert_eq!(size_of_shape(&[]).unwrap(), 1);
        assert_eq!(size_of_shape(&[3, 0, usize::MAX]).unwrap(), 0);
        for shape in [&[usize::MAX, 2][..], &[1 << 32, 1 << 32], &[isize::MAX as usize, 2]] {
            assert_eq!(size_of_shape(shape).unwrap_err().kind(), ErrorKind::InvalidShape);
        }
        assert_eq!(
            Side::Engine.array::<u8>(&[1 << 40, 1 << 40], std::iter::empty()).unwrap_err().kind(),
            ErrorKind::InvalidShape
        );
    }
}
