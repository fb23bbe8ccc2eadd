//! Element types of distributed arrays and their runtime description, [`DType`].

use std::fmt;

use num_complex::Complex;
use serde::{Deserialize, Serialize};

use crate::core::alloc::Side;
use crate::core::error::{bail, Result};

/// The element types, written once: every list of them in the crate (the
/// [`DType`] enum, the [`Element`] impls, the registration of internal
/// kernels, ...) expands this one, so that no list can miss a type.
///
/// `for_each_element!(callback { args })` expands to
/// `callback! { args type => Variant "numpy name", ... }` with one entry per
/// element type, in [`DType::ALL`] order (each entry ends in a comma).
/// `for_each_element!(int | float => callback { args })` gives only the types
/// of those kinds: `bool`, `int` (signed, then unsigned), `float`, `complex`.
macro_rules! for_each_element {
    (@collect [bool $($kind:ident)*] [$($list:tt)*] $($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { @collect [$($kind)*] [$($list)*
            bool => Bool "bool",
        ] $($callback)::+ { $($args)* } }
    };
    (@collect [int $($kind:ident)*] [$($list:tt)*] $($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { @collect [$($kind)*] [$($list)*
            i8 => I8 "int8", i16 => I16 "int16", i32 => I32 "int32", i64 => I64 "int64",
            u8 => U8 "uint8", u16 => U16 "uint16", u32 => U32 "uint32", u64 => U64 "uint64",
        ] $($callback)::+ { $($args)* } }
    };
    (@collect [float $($kind:ident)*] [$($list:tt)*] $($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { @collect [$($kind)*] [$($list)*
            f32 => F32 "float32", f64 => F64 "float64",
        ] $($callback)::+ { $($args)* } }
    };
    (@collect [complex $($kind:ident)*] [$($list:tt)*] $($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { @collect [$($kind)*] [$($list)*
            ::num_complex::Complex<f32> => C64 "complex64", ::num_complex::Complex<f64> => C128 "complex128",
        ] $($callback)::+ { $($args)* } }
    };
    (@collect [] [$($list:tt)*] $($callback:tt)::+ { $($args:tt)* }) => {
        $($callback)::+! { $($args)* $($list)* }
    };
    ($($kind:ident)|+ => $($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { @collect [$($kind)*] [] $($callback)::+ { $($args)* } }
    };
    ($($callback:tt)::+ { $($args:tt)* }) => {
        $crate::core::element::for_each_element! { bool | int | float | complex => $($callback)::+ { $($args)* } }
    };
}
pub(crate) use for_each_element;

macro_rules! dtype {
    ($($t:ty => $d:ident $name:literal,)*) => {
        /// The element type of an array, known at run time (for messages and files).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum DType {
            $(
                #[doc = concat!("`", stringify!($t), "` (numpy `", $name, "`).")]
                $d,
            )*
        }

        impl DType {
            /// Every dtype, in declaration order.
            pub const ALL: [DType; [$(DType::$d),*].len()] = [$(DType::$d),*];

            /// Bytes per element.
            pub fn itemsize(self) -> usize {
                match self {
                    $(DType::$d => std::mem::size_of::<$t>(),)*
                }
            }

            /// The numpy name (`"float64"`, `"complex128"`, `"bool"`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(DType::$d => $name,)*
                }
            }
        }
    };
}
for_each_element!(dtype {});

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
    ($zero:expr, $one:expr; $($t:ty => $d:ident $name:literal,)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn zero() -> Self { $zero }
            fn one() -> Self { $one }
        }
    )*};
}

for_each_element!(int => impl_element { 0, 1; });
for_each_element!(float => impl_element { 0.0, 1.0; });
for_each_element!(complex => impl_element { Complex::new(0.0, 0.0), Complex::new(1.0, 0.0); });

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
    if !bytes.len().is_multiple_of(size) {
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
    (@match $dtype:expr, $t:ident, $body:expr; $($ty:ty => $d:ident $name:literal,)*) => {
        match $dtype {
            $(
                $crate::core::element::DType::$d => {
                    type $t = $ty;
                    $body
                }
            )*
        }
    };
    ($dtype:expr, $t:ident => $body:expr) => {
        $crate::core::element::for_each_element! { $crate::core::element::with_dtype { @match $dtype, $t, $body; } }
    };
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
            // Every type of the list is an `Element` of its own dtype.
            assert_eq!(with_dtype!(d, T => <T as Element>::DTYPE), d);
        }
        assert_eq!(DType::ALL.len(), 13);
        assert_eq!(DType::ALL.map(DType::name)[11..], ["complex64", "complex128"]);
    }
}
