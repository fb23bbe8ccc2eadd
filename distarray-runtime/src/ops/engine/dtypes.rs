//! Which element types each ufunc accepts and what it returns, as traits, so
//! that a ufunc numpy does not define for a type (`bitwise_and` of floats,
//! `floor_divide` of complex numbers, `negative` of bools) is a compile error.

use num_complex::Complex;

use super::scalar::Scalar;
use crate::core::element::for_each_element;

/// An element type that ufuncs take, with numpy's result type for each kind of
/// ufunc. Every [`Element`](crate::Element) is one.
///
/// | `T` | [`Promoted`](Ufunc::Promoted) | [`Float`](Ufunc::Float) | [`Quotient`](Ufunc::Quotient) | [`Magnitude`](Ufunc::Magnitude) |
/// |---|---|---|---|---|
/// | `bool` | `i8` | `f32` | `f64` | `bool` |
/// | `i8`, `u8`, `i16`, `u16` | `T` | `f32` | `f64` | `T` |
/// | `i32`, `u32`, `i64`, `u64` | `T` | `f64` | `f64` | `T` |
/// | `f32`, `f64` | `T` | `T` | `T` | `T` |
/// | `Complex<f32>`, `Complex<f64>` | `T` | `T` | `T` | `f32`, `f64` |
///
/// numpy computes the float functions of 8- and 16-bit integers and of bools
/// in `float16`; Rust has no `f16`, so they give `f32` here.
///
/// Sealed: implemented for the element types only.
pub trait Ufunc: Scalar {
    /// The result of `power`, `square`, `reciprocal`, `conjugate`,
    /// `floor_divide`, `fmod`, `remainder` and the shifts, which numpy computes
    /// in `int8` for bools.
    type Promoted: Ufunc;
    /// The result of the float functions (`sqrt`, `exp`, `log`, `sin`, ...,
    /// `rint`, `arctan2`, `hypot`).
    type Float: Ufunc;
    /// The result of `true_divide` (`divide`, `/`): `f64` for integers.
    type Quotient: Ufunc;
    /// The result of `absolute`: the real magnitude for complex numbers.
    type Magnitude: Ufunc;
    /// The value in [`Promoted`](Ufunc::Promoted).
    #[doc(hidden)]
    fn promote(self) -> Self::Promoted;
    /// The value in [`Float`](Ufunc::Float).
    #[doc(hidden)]
    fn to_float(self) -> Self::Float;
    /// The value in [`Quotient`](Ufunc::Quotient).
    #[doc(hidden)]
    fn to_quotient(self) -> Self::Quotient;
    /// `absolute(self)`.
    #[doc(hidden)]
    fn magnitude(self) -> Self::Magnitude;
}

/// Element types with a sign to flip: every [`Ufunc`] type but `bool`
/// (`negative`, `sign`, `subtract` and the `-` operator; numpy rejects
/// them for bools).
pub trait Number: Ufunc {}

/// Element types that are ordered reals: every [`Ufunc`] type but the complex
/// ones (`floor_divide`, `fmod`, `mod`/`remainder`, `arctan2`, `hypot` and the
/// `%` operator).
pub trait Real: Ufunc {}

/// `bool` and the integer types (`bitwise_and`, `bitwise_or`, `bitwise_xor`,
/// `invert`, `left_shift`, `right_shift` and the `& | ^ ! << >>` operators).
pub trait Bitwise: Ufunc {}

macro_rules! ufunc_types {
    ($($t:ty => promoted $p:ty, float $f:ty, quotient $q:ty;)*) => {$(
        #[allow(clippy::unnecessary_cast)]
        impl Ufunc for $t {
            type Promoted = $p;
            type Float = $f;
            type Quotient = $q;
            type Magnitude = $t;
            fn promote(self) -> $p { self as $p }
            fn to_float(self) -> $f { self as $f }
            fn to_quotient(self) -> $q { self as $q }
            fn magnitude(self) -> $t {
                // Infallible for real types (wrapping for the most negative integer).
                <$t as Scalar>::unary(super::scalar::UnaryOp::Absolute, self).unwrap_or(self)
            }
        }
        impl Real for $t {}
    )*};
}

ufunc_types! {
    i8 => promoted i8, float f32, quotient f64;
    u8 => promoted u8, float f32, quotient f64;
    i16 => promoted i16, float f32, quotient f64;
    u16 => promoted u16, float f32, quotient f64;
    i32 => promoted i32, float f64, quotient f64;
    u32 => promoted u32, float f64, quotient f64;
    i64 => promoted i64, float f64, quotient f64;
    u64 => promoted u64, float f64, quotient f64;
    f32 => promoted f32, float f32, quotient f32;
    f64 => promoted f64, float f64, quotient f64;
}

impl Ufunc for bool {
    type Promoted = i8;
    type Float = f32;
    type Quotient = f64;
    type Magnitude = bool;
    fn promote(self) -> i8 {
        self as i8
    }
    fn to_float(self) -> f32 {
        f32::from(u8::from(self))
    }
    fn to_quotient(self) -> f64 {
        f64::from(u8::from(self))
    }
    fn magnitude(self) -> bool {
        self
    }
}
impl Real for bool {}

macro_rules! complex_ufunc {
    ($($f:ty),*) => {$(
        impl Ufunc for Complex<$f> {
            type Promoted = Complex<$f>;
            type Float = Complex<$f>;
            type Quotient = Complex<$f>;
            type Magnitude = $f;
            fn promote(self) -> Self { self }
            fn to_float(self) -> Self { self }
            fn to_quotient(self) -> Self { self }
            fn magnitude(self) -> $f { self.norm() }
        }
        impl Number for Complex<$f> {}
    )*};
}
complex_ufunc!(f32, f64);

macro_rules! marker {
    ($trait:ident; $($t:ty => $d:ident $name:literal,)*) => {$( impl $trait for $t {} )*};
}
for_each_element!(int | float => marker { Number; });
for_each_element!(bool | int => marker { Bitwise; });
