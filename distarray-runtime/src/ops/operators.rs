//! The `std::ops` operators on distributed arrays, as numpy's operators: on
//! references and scalars (`&a + &b`, `&a - 2.0`, `2.0 * &a`, `-&a`, `!&a`,
//! `&a & &b`, `&a << &b`) and the assignment forms (`a += &b`, `a *= 2.0`),
//! which work in place.
//!
//! | operator | ufunc | element types |
//! |---|---|---|
//! | `+`, `+=` | [`add`](crate::functions::add) | all |
//! | `-`, `-=` | [`subtract`](crate::functions::subtract) | [`Number`] |
//! | `*`, `*=` | [`multiply`](crate::functions::multiply) | all |
//! | `/`, `/=` | [`true_divide`](crate::functions::true_divide) (floats for integers, like Python's `/`) | all (`/=`: floats and complex) |
//! | `%`, `%=` | [`remainder`](crate::functions::remainder) (Python's `%`) | [`Real`] |
//! | `&`, `\|`, `^` and assignments | [`bitwise_and`](crate::functions::bitwise_and), ... | [`Bitwise`] |
//! | `<<`, `>>` and assignments | [`left_shift`](crate::functions::left_shift), [`right_shift`](crate::functions::right_shift) | [`Bitwise`] |
//! | unary `-` | [`negative`](crate::functions::negative) | [`Number`] |
//! | `!` | [`invert`](crate::functions::invert) | [`Bitwise`] |
//!
//! **Panics**, like ndarray's operators, with the error's message when the
//! function returns `Err`: arrays of different shapes or distributions,
//! integer division by zero, a closed context... Call the functions of
//! [`functions`](crate::functions) to get a `Result` instead.

use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, BitXorAssign, Div, DivAssign, Mul, MulAssign,
    Neg, Not, Rem, RemAssign, Shl, ShlAssign, Shr, ShrAssign, Sub, SubAssign,
};

use super::engine::dtypes::{Bitwise, Number, Real, Ufunc};
use super::functions;
use crate::client::DistArray;
use crate::core::element::for_each_element;
use crate::core::error::Result;

/// The value, or a panic with the error's message.
#[track_caller]
fn expect<R>(result: Result<R>) -> R {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

/// `&a op &b` and `&a op scalar`, for every element type in the bound.
macro_rules! binary_operator {
    ($trait:ident::$method:ident => $func:ident, $bound:ident -> $out:ty) => {
        /// **Panics** if the function returns `Err`.
        impl<T: $bound> $trait<&DistArray<T>> for &DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: &DistArray<T>) -> DistArray<$out> {
                expect(functions::$func(self, rhs))
            }
        }

        /// **Panics** if the function returns `Err`.
        impl<T: $bound> $trait<T> for &DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: T) -> DistArray<$out> {
                expect(functions::$func(self, rhs))
            }
        }
    };
}

binary_operator!(Add::add => add, Ufunc -> T);
binary_operator!(Sub::sub => subtract, Number -> T);
binary_operator!(Mul::mul => multiply, Ufunc -> T);
binary_operator!(Div::div => true_divide, Ufunc -> <T as Ufunc>::Quotient);
binary_operator!(Rem::rem => remainder, Real -> <T as Ufunc>::Promoted);
binary_operator!(BitAnd::bitand => bitwise_and, Bitwise -> T);
binary_operator!(BitOr::bitor => bitwise_or, Bitwise -> T);
binary_operator!(BitXor::bitxor => bitwise_xor, Bitwise -> T);
binary_operator!(Shl::shl => left_shift, Bitwise -> <T as Ufunc>::Promoted);
binary_operator!(Shr::shr => right_shift, Bitwise -> <T as Ufunc>::Promoted);

/// `scalar op &a`, one impl per element type (a generic one would break the
/// orphan rule); the result is `T` itself or an associated type of [`Ufunc`].
/// The types are those of the ufunc's bound, by kind (see `for_each_element!`).
macro_rules! scalar_operator {
    ($trait:ident::$method:ident => $func:ident, Itself; $($t:ty => $d:ident $name:literal,)*) => {$(
        scalar_operator!(@impl $trait::$method => $func, $t, $t);
    )*};
    ($trait:ident::$method:ident => $func:ident, $out:ident; $($t:ty => $d:ident $name:literal,)*) => {$(
        scalar_operator!(@impl $trait::$method => $func, $t, <$t as Ufunc>::$out);
    )*};
    (@impl $trait:ident::$method:ident => $func:ident, $t:ty, $out:ty) => {
        /// **Panics** if the function returns `Err`.
        impl $trait<&DistArray<$t>> for $t {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: &DistArray<$t>) -> DistArray<$out> {
                expect(functions::$func(self, rhs))
            }
        }
    };
}

for_each_element!(scalar_operator { Add::add => add, Itself; });
for_each_element!(int | float | complex => scalar_operator { Sub::sub => subtract, Itself; });
for_each_element!(scalar_operator { Mul::mul => multiply, Itself; });
for_each_element!(scalar_operator { Div::div => true_divide, Quotient; });
for_each_element!(bool | int | float => scalar_operator { Rem::rem => remainder, Promoted; });
for_each_element!(bool | int => scalar_operator { BitAnd::bitand => bitwise_and, Itself; });
for_each_element!(bool | int => scalar_operator { BitOr::bitor => bitwise_or, Itself; });
for_each_element!(bool | int => scalar_operator { BitXor::bitxor => bitwise_xor, Itself; });
for_each_element!(bool | int => scalar_operator { Shl::shl => left_shift, Promoted; });
for_each_element!(bool | int => scalar_operator { Shr::shr => right_shift, Promoted; });

/// **Panics** if [`negative`](functions::negative) returns `Err`.
impl<T: Number> Neg for &DistArray<T> {
    type Output = DistArray<T>;
    #[track_caller]
    fn neg(self) -> DistArray<T> {
        expect(functions::negative(self))
    }
}

/// **Panics** if [`invert`](functions::invert) returns `Err`.
impl<T: Bitwise> Not for &DistArray<T> {
    type Output = DistArray<T>;
    #[track_caller]
    fn not(self) -> DistArray<T> {
        expect(functions::invert(self))
    }
}

/// `a op= &b` and `a op= scalar`, in place, for the element types whose
/// result type is their own.
macro_rules! assign_operator {
    ($trait:ident::$method:ident => $func:ident, $($bound:tt)+) => {
        /// In place. **Panics** if the function returns `Err` (the array is
        /// then unchanged).
        impl<T: $($bound)+> $trait<&DistArray<T>> for DistArray<T> {
            #[track_caller]
            fn $method(&mut self, rhs: &DistArray<T>) {
                expect(functions::$func(self, rhs))
            }
        }

        /// In place. **Panics** if the function returns `Err` (the array is
        /// then unchanged).
        impl<T: $($bound)+> $trait<T> for DistArray<T> {
            #[track_caller]
            fn $method(&mut self, rhs: T) {
                expect(functions::$func(self, rhs))
            }
        }
    };
}

assign_operator!(AddAssign::add_assign => add_inplace, Ufunc);
assign_operator!(SubAssign::sub_assign => subtract_inplace, Number);
assign_operator!(MulAssign::mul_assign => multiply_inplace, Ufunc);
assign_operator!(DivAssign::div_assign => true_divide_inplace, Ufunc<Quotient = T>);
assign_operator!(RemAssign::rem_assign => remainder_inplace, Real<Promoted = T>);
assign_operator!(BitAndAssign::bitand_assign => bitwise_and_inplace, Bitwise);
assign_operator!(BitOrAssign::bitor_assign => bitwise_or_inplace, Bitwise);
assign_operator!(BitXorAssign::bitxor_assign => bitwise_xor_inplace, Bitwise);
assign_operator!(ShlAssign::shl_assign => left_shift_inplace, Bitwise<Promoted = T>);
assign_operator!(ShrAssign::shr_assign => right_shift_inplace, Bitwise<Promoted = T>);
