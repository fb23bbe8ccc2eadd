//! Element types of distributed arrays and their runtime description, [`DType`].

use std::fmt;

use num_complex::Complex;
use serde::{Deserialize, Serialize};

use crate::core::alloc::Side;
use crate::core::error::{bail, Result};

/// The element type of an array, known at run time (for messages and files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    /// `bool`, one byte holding 0 or 1.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `Complex<f32>`.
    C64,
    /// `Complex<f64>`.
    C128,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 13] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    /// The numpy name (`"float64"`, `"complex128"`, `"bool"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A type that can be the element of a [`DistArray`](crate::DistArray).
///
/// Implemented for `bool`, all integer widths, `f32`, `f64` and
/// `Complex<f32>`/`Complex<f64>`; sealed because array payloads travel as raw
/// bytes, which is sound only for these plain-data types.
pub trait Element:
    sealed::Sealed + Copy + Default + PartialEq + fmt::Debug + Send + Sync + Serialize + for<'de> Deserialize<'de> + 'static
{
    /// The runtime description of this type.
    const DTYPE: DType;
    /// The additive identity.
    fn zero() -> Self;
    /// The multiplicative identity (`true` for bool).
    fn one() -> Self;
    /// Whether `bytes` (one element's worth) is a valid value of this type.
    #[doc(hidden)]
    fn valid_bytes(_bytes: &[u8]) -> bool {
        true
    }
}

macro_rules! impl_element {
    ($($t:ty => $d:ident, $zero:expr, $one:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn zero() -> Self { $zero }
            fn one() -> Self { $one }
        }
    )*};
}

impl_element! {
    i8 => I8, 0, 1;
    i16 => I16, 0, 1;
    i32 => I32, 0, 1;
    i64 => I64, 0, 1;
    u8 => U8, 0, 1;
    u16 => U16, 0, 1;
    u32 => U32, 0, 1;
    u64 => U64, 0, 1;
    f32 => F32, 0.0, 1.0;
    f64 => F64, 0.0, 1.0;
    Complex<f32> => C64, Complex::new(0.0, 0.0), Complex::new(1.0, 0.0);
    Complex<f64> => C128, Complex::new(0.0, 0.0), Complex::new(1.0, 0.0);
}

impl sealed::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn zero() -> Self {
        false
    }
    fn one() -> Self {
        true
    }
    fn valid_bytes(bytes: &[u8]) -> bool {
        bytes[0] <= 1
    }
}

/// The raw bytes of `data` in native byte order.
pub(crate) fn as_bytes<T: Element>(data: &[T]) -> &[u8] {
    // SAFETY: every `Element` is a sealed plain-data type without padding
    // (bool, integers, floats, `Complex` = two floats, `repr(C)`), so all its
    // bytes are initialised; the length covers exactly the slice.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Elements decoded from raw native-order bytes, a checked allocation `on`
/// the engine or the client; checks the length and, for bool, that every
/// byte is 0 or 1.
pub(crate) fn from_bytes<T: Element>(bytes: &[u8], on: Side) -> Result<Vec<T>> {
    let size = std::mem::size_of::<T>();
    if bytes.len() % size != 0 {
        bail!(Protocol, "a buffer of {} bytes is not a whole number of {} elements", bytes.len(), T::DTYPE);
    }
    if let Some(bad) = bytes.chunks_exact(size).position(|b| !T::valid_bytes(b)) {
        bail!(DTypeMismatch, "element {bad} of a {} buffer holds an invalid value", T::DTYPE);
    }
    let mut out = on.filled(bytes.len() / size, T::default())?;
    // SAFETY: `out` has room for exactly `bytes.len()` bytes, the regions do not
    // overlap, and every bit pattern was checked valid for `T` above.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), bytes.len()) };
    Ok(out)
}

/// Runs `$body` with the type alias `$t` bound to the Rust type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {{
        use $crate::core::element::DType as __D;
        match $dtype {
            __D::Bool => {
                type $t = bool;
                $body
            }
            __D::I8 => {
                type $t = i8;
                $body
            }
            __D::I16 => {
                type $t = i16;
                $body
            }
            __D::I32 => {
                type $t = i32;
                $body
            }
            __D::I64 => {
                type $t = i64;
                $body
            }
            __D::U8 => {
                type $t = u8;
                $body
            }
            __D::U16 => {
                type $t = u16;
                $body
            }
            __D::U32 => {
                type $t = u32;
                $body
            }
            __D::U64 => {
                type $t = u64;
                $body
            }
            __D::F32 => {
                type $t = f32;
                $body
            }
            __D::F64 => {
                type $t = f64;
                $body
            }
            __D::C64 => {
                type $t = ::num_complex::Complex<f32>;
                $body
            }
            __D::C128 => {
                type $t = ::num_complex::Complex<f64>;
                $body
            }
        }
    }};
}
pub(crate) use with_dtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_bool_check() {
        let v = vec![Complex::new(1.5f64, -2.0), Complex::new(0.0, 3.0)];
        assert_eq!(from_bytes::<Complex<f64>>(as_bytes(&v), Side::Engine).unwrap(), v);
        assert_eq!(from_bytes::<bool>(&[0, 1, 1], Side::Engine).unwrap(), vec![false, true, true]);
        assert_eq!(
            from_bytes::<bool>(&[0, 2], Side::Engine).unwrap_err().kind(),
            crate::core::error::ErrorKind::DTypeMismatch
        );
        assert_eq!(
            from_bytes::<u32>(&[0, 0, 0], Side::Engine).unwrap_err().kind(),
            crate::core::error::ErrorKind::Protocol
        );
        for d in DType::ALL {
            assert_eq!(with_dtype!(d, T => std::mem::size_of::<T>()), d.itemsize());
        }
    }
}
