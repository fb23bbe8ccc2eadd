//! Kernel values that are element data — `Vec<T>` and ndarray arrays of an
//! [`Element`] type — travel as their raw bytes, one copy each way, instead
//! of element by element through serde (a 16 MiB result took seconds so).
//!
//! Rust has no specialisation, so the value's type is recognised at run time
//! by its `TypeId`; every other type goes through serde as before.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array, ArrayD, Dimension, Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6, IxDyn};

use crate::core::alloc::Side;
use crate::core::element::{as_bytes, for_each_element, from_bytes, Element};
use crate::core::error::{bail, err, Result};

/// The raw bytes of `value` when it is bulk element data, else `None`.
///
/// A `Vec<T>` is its elements' bytes; an array is its number of axes and its
/// shape (`u64`, little-endian) followed by its elements in C order.
pub(crate) fn encode<R: 'static>(value: &R) -> Option<Result<Vec<u8>>> {
    let any: &dyn Any = value;
    macro_rules! each_element {
        ($($t:ty => $d:ident $name:literal,)*) => { None$(.or_else(|| encode_as::<$t>(any)))* };
    }
    for_each_element!(each_element {})
}

/// Values decoded by [`decode`], and their bytes.
static RECEIVED: (AtomicU64, AtomicU64) = (AtomicU64::new(0), AtomicU64::new(0));

/// `R` decoded from what [`encode`] made of it, or `None` if `R` is not
/// bulk element data (it then travels through serde).
pub(crate) fn decode<R: 'static>(bytes: &[u8]) -> Option<Result<R>> {
    macro_rules! each_element {
        ($($t:ty => $d:ident $name:literal,)*) => { None$(.or_else(|| decode_as::<$t, R>(bytes)))* };
    }
    let decoded = for_each_element!(each_element {});
    if decoded.is_some() {
        RECEIVED.0.fetch_add(1, Ordering::Relaxed);
        RECEIVED.1.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    decoded
}

/// How many values [`decode`] decoded so far, and their bytes.
pub(crate) fn received() -> (u64, u64) {
    (RECEIVED.0.load(Ordering::Relaxed), RECEIVED.1.load(Ordering::Relaxed))
}

/// The `TypeId`s of `Array<T, D>` for every dimension type.
fn array_dims<T: Element>() -> [TypeId; 8] {
    [
        TypeId::of::<ArrayD<T>>(),
        TypeId::of::<Array<T, Ix0>>(),
        TypeId::of::<Array<T, Ix1>>(),
        TypeId::of::<Array<T, Ix2>>(),
        TypeId::of::<Array<T, Ix3>>(),
        TypeId::of::<Array<T, Ix4>>(),
        TypeId::of::<Array<T, Ix5>>(),
        TypeId::of::<Array<T, Ix6>>(),
    ]
}

fn encode_as<T: Element>(any: &dyn Any) -> Option<Result<Vec<u8>>> {
    if let Some(v) = any.downcast_ref::<Vec<T>>() {
        return Some(copy_bytes(as_bytes(v)));
    }
    macro_rules! each_dim {
        ($($d:ty),*) => { None$(.or_else(|| any.downcast_ref::<Array<T, $d>>().map(encode_array)))* };
    }
    each_dim!(IxDyn, Ix0, Ix1, Ix2, Ix3, Ix4, Ix5, Ix6)
}

fn copy_bytes(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Side::Engine.vec(bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(out)
}

fn encode_array<T: Element, D: Dimension>(array: &Array<T, D>) -> Result<Vec<u8>> {
    let shape = array.shape();
    let mut out = Side::Engine.vec(8 * (1 + shape.len()) + array.len() * std::mem::size_of::<T>())?;
    out.extend_from_slice(&(shape.len() as u64).to_le_bytes());
    for &n in shape {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    match array.as_slice() {
        Some(slice) => out.extend_from_slice(as_bytes(slice)),
        // Not in C order: element by element, in C order.
        None => {
            for x in array.iter() {
                out.extend_from_slice(as_bytes(std::slice::from_ref(x)));
            }
        }
    }
    Ok(out)
}

fn decode_as<T: Element, R: 'static>(bytes: &[u8]) -> Option<Result<R>> {
    let wanted = TypeId::of::<R>();
    if wanted == TypeId::of::<Vec<T>>() {
        return Some(from_bytes::<T>(bytes, Side::Client).map(into::<Vec<T>, R>));
    }
    let dims = array_dims::<T>();
    let d = dims.iter().position(|&id| id == wanted)?;
    let array = decode_array::<T>(bytes);
    Some(match d {
        0 => array.map(into::<ArrayD<T>, R>),
        1 => fixed::<T, Ix0, R>(array),
        2 => fixed::<T, Ix1, R>(array),
        3 => fixed::<T, Ix2, R>(array),
        4 => fixed::<T, Ix3, R>(array),
        5 => fixed::<T, Ix4, R>(array),
        6 => fixed::<T, Ix5, R>(array),
        _ => fixed::<T, Ix6, R>(array),
    })
}

/// `value` as `R`, which the caller checked is its type.
fn into<V: 'static, R: 'static>(value: V) -> R {
    let boxed: Box<dyn Any> = Box::new(value);
    *boxed.downcast::<R>().expect("the caller compared the TypeIds")
}

fn fixed<T: Element, D: Dimension + 'static, R: 'static>(array: Result<ArrayD<T>>) -> Result<R> {
    let array = array?
        .into_dimensionality::<D>()
        .map_err(|e| err!(Protocol, "a bulk array value has the wrong number of axes: {e}"))?;
    Ok(into::<Array<T, D>, R>(array))
}

fn decode_array<T: Element>(bytes: &[u8]) -> Result<ArrayD<T>> {
    let word = |i: usize| -> Result<usize> {
        let chunk = bytes
            .get(8 * i..8 * i + 8)
            .ok_or_else(|| err!(Protocol, "a bulk array value of {} bytes is truncated", bytes.len()))?;
        let n = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        usize::try_from(n).map_err(|_| err!(Protocol, "a bulk array value has an axis of {n} elements"))
    };
    let ndim = word(0)?;
    if ndim > 64 {
        bail!(Protocol, "a bulk array value claims {ndim} axes");
    }
    let shape = (1..=ndim).map(word).collect::<Result<Vec<usize>>>()?;
    let data = &bytes[8 * (1 + ndim)..];
    let count = shape
        .iter()
        .try_fold(1usize, |n, &s| n.checked_mul(s))
        .ok_or_else(|| err!(Protocol, "a bulk array value's shape {shape:?} overflows"))?;
    if count.checked_mul(std::mem::size_of::<T>()) != Some(data.len()) {
        bail!(Protocol, "a bulk array value of shape {shape:?} has {} bytes of {} data", data.len(), T::DTYPE);
    }
    ArrayD::from_shape_vec(IxDyn(&shape), from_bytes::<T>(data, Side::Client)?).map_err(|e| err!(Protocol, "{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, Array3};
    use num_complex::Complex;

    fn round_trip<R: 'static + Clone + PartialEq + std::fmt::Debug>(value: R) {
        let bytes = encode(&value).expect("bulk").unwrap();
        assert_eq!(decode::<R>(&bytes).expect("bulk").unwrap(), value);
    }

    #[test]
    fn vectors_and_arrays_of_every_kind_round_trip() {
        round_trip(vec![1.5f64, -2.0, f64::NAN.copysign(1.0).min(0.0)]);
        round_trip(vec![true, false, true]);
        round_trip(vec![Complex::new(1.0f32, -1.0); 5]);
        round_trip(Vec::<u16>::new());
        round_trip(arr2(&[[1i64, 2, 3], [4, 5, 6]]));
        round_trip(Array3::<u8>::zeros((2, 0, 3)));
        round_trip(ArrayD::<f32>::from_shape_fn(IxDyn(&[2, 3, 4]), |i| (i[0] * 12 + i[1] * 4 + i[2]) as f32));
        round_trip(ndarray::arr0(7i8));
        // Not in C order: comes back in C order with the same elements.
        let t = arr2(&[[1.0f64, 2.0], [3.0, 4.0]]).reversed_axes();
        let back: ndarray::Array2<f64> = decode(&encode(&t).unwrap().unwrap()).unwrap().unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn a_vector_is_its_raw_bytes() {
        let bytes = encode(&vec![1u32, 2]).unwrap().unwrap();
        assert_eq!(bytes, [1u32.to_ne_bytes(), 2u32.to_ne_bytes()].concat());
    }

    #[test]
    fn other_types_are_not_bulk() {
        assert!(encode(&(1.0f64, 2usize)).is_none());
        assert!(encode(&vec![1usize]).is_none());
        assert!(encode(&vec![vec![1.0f64]]).is_none());
        assert!(decode::<String>(&[]).is_none());
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(decode::<Vec<f64>>(&[0; 7]).unwrap().is_err());
        assert!(decode::<Vec<bool>>(&[2]).unwrap().is_err());
        assert!(decode::<ArrayD<f64>>(&[1, 0, 0]).unwrap().is_err());
        let mut claims_huge = 1u64.to_le_bytes().to_vec();
        claims_huge.extend(u64::MAX.to_le_bytes());
        assert!(decode::<ArrayD<u8>>(&claims_huge).unwrap().is_err());
        let two_axes = encode(&arr2(&[[1u8]])).unwrap().unwrap();
        assert!(decode::<ndarray::Array1<u8>>(&two_axes).unwrap().is_err());
    }
}
