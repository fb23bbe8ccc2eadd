//! The `std::ops` operators on distributed arrays, as numpy's operators: on
//! arrays by value or by reference and scalars on either side (`&a + &b`,
//! `a + &b`, `&a * &b + &c`, `a - 2.0`, `2.0 * a`, `2.0 * &a`, `-a`, `!&a`,
//! `&a & b`, `a << &b`) and the assignment forms (`a += &b`, `a *= 2.0`),
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
//! Every binary operator takes `&a op &b`, `a op &b`, `&a op b`, `a op b`,
//! `a op s`, `&a op s`, `s op a` and `s op &a` for arrays `a`, `b` of one
//! element type `T` and a scalar `s: T`; the result type is the function's
//! whichever the form.
//!
//! # Owned operands are reused
//! An operand given by value lends its pieces to the result, which is then
//! computed in place on the engines, with no new array: `&a * &b + &c`
//! creates one array, not two, and `-a` or `2.0 * a` none. This happens when
//! the result has the operand's element type (not for `/` of integers, or
//! `%` and the shifts of bools), and:
//!
//! - for an owned left operand (`a + &b`, `a - 2.0`), always: the result has
//!   its distribution anyway (a right operand of another distribution is
//!   read through a temporary copy, as by reference);
//! - for an owned right operand (`&a + b`, `2.0 * b`), only for the operators
//!   that commute exactly (`+`, `*` but of complex numbers, `&`, `|`, `^`) and
//!   when `b` has `a`'s distribution (the result's).
//!
//! Otherwise the result is a new array and the owned operands are dropped.
//! The values are the same either way (a NaN's payload aside, which IEEE
//! addition may take from either operand).
//!
//! **Panics**, like ndarray's operators, with the error's message when the
//! function returns `Err`: arrays of different shapes or contexts, integer
//! division by zero, a closed context... (an owned operand is then dropped).
//! Call the functions of [`functions`](crate::functions) to get a `Result`
//! instead.

use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, BitXorAssign, Div, DivAssign, Mul, MulAssign,
    Neg, Not, Rem, RemAssign, Shl, ShlAssign, Shr, ShrAssign, Sub, SubAssign,
};

use super::engine::dtypes::{Bitwise, Number, Real, Ufunc};
use super::engine::scalar::BinaryOp;
use super::engine::Family;
use super::functions;
use super::operand::Operand;
use super::ufunc::{binary_owned, Arg};
use crate::client::DistArray;
use crate::core::element::{for_each_element, DType, Element};
use crate::core::error::Result;

/// The value, or a panic with the error's message.
#[track_caller]
fn expect<R>(result: Result<R>) -> R {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

/// Whether `op(x, y)` is `op(y, x)` for elements of type `T`, so that an
/// owned right operand can take the result (the engines write in place into
/// the first). Complex multiplication fuses one of its products into a sum,
/// which rounds differently the other way round.
fn commutes<T: Element>(op: BinaryOp) -> bool {
    match op {
        BinaryOp::Add | BinaryOp::BitwiseAnd | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor => true,
        BinaryOp::Multiply => !matches!(T::DTYPE, DType::C64 | DType::C128),
        _ => false,
    }
}

/// An operator with at least one owned operand (see the module docs).
#[track_caller]
fn owned<T: Ufunc, O: Element>(family: Family, op: BinaryOp, x1: Arg<'_, T>, x2: Arg<'_, T>) -> DistArray<O> {
    expect(binary_owned::<T, O, BinaryOp>(family, op, commutes::<T>(op), x1, x2))
}

/// `a op b` with arrays by value or by reference, and `a op scalar`, for
/// every element type in the bound; `$family($op)` is what `$func` runs.
macro_rules! binary_operator {
    ($trait:ident::$method:ident => $func:ident, $family:ident($op:ident), $bound:ident -> $out:ty) => {
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

        /// The result in `self`'s pieces where it has the element type `T`.
        /// **Panics** if the function returns `Err`.
        impl<T: $bound> $trait<&DistArray<T>> for DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: &DistArray<T>) -> DistArray<$out> {
                owned(Family::$family, BinaryOp::$op, Arg::Owned(self), Arg::Borrowed(Operand::Array(rhs)))
            }
        }

        /// The result in `rhs`'s pieces where it has the element type `T`, the
        /// operator commutes and `rhs` has `self`'s distribution. **Panics** if
        /// the function returns `Err`.
        impl<T: $bound> $trait<DistArray<T>> for &DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: DistArray<T>) -> DistArray<$out> {
                owned(Family::$family, BinaryOp::$op, Arg::Borrowed(Operand::Array(self)), Arg::Owned(rhs))
            }
        }

        /// The result in `self`'s pieces where it has the element type `T`
        /// (`rhs` is dropped). **Panics** if the function returns `Err`.
        impl<T: $bound> $trait<DistArray<T>> for DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: DistArray<T>) -> DistArray<$out> {
                owned(Family::$family, BinaryOp::$op, Arg::Owned(self), Arg::Owned(rhs))
            }
        }

        /// The result in `self`'s pieces where it has the element type `T`.
        /// **Panics** if the function returns `Err`.
        impl<T: $bound> $trait<T> for DistArray<T> {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: T) -> DistArray<$out> {
                owned(Family::$family, BinaryOp::$op, Arg::Owned(self), Arg::Borrowed(Operand::Scalar(rhs)))
            }
        }
    };
}

binary_operator!(Add::add => add, BinarySame(Add), Ufunc -> T);
binary_operator!(Sub::sub => subtract, BinarySame(Subtract), Number -> T);
binary_operator!(Mul::mul => multiply, BinarySame(Multiply), Ufunc -> T);
binary_operator!(Div::div => true_divide, BinaryQuotient(TrueDivide), Ufunc -> <T as Ufunc>::Quotient);
binary_operator!(Rem::rem => remainder, BinaryPromoted(Remainder), Real -> <T as Ufunc>::Promoted);
binary_operator!(BitAnd::bitand => bitwise_and, BinarySame(BitwiseAnd), Bitwise -> T);
binary_operator!(BitOr::bitor => bitwise_or, BinarySame(BitwiseOr), Bitwise -> T);
binary_operator!(BitXor::bitxor => bitwise_xor, BinarySame(BitwiseXor), Bitwise -> T);
binary_operator!(Shl::shl => left_shift, BinaryPromoted(LeftShift), Bitwise -> <T as Ufunc>::Promoted);
binary_operator!(Shr::shr => right_shift, BinaryPromoted(RightShift), Bitwise -> <T as Ufunc>::Promoted);

/// `scalar op &a` and `scalar op a`, one impl per element type (a generic one would break the
/// orphan rule); the result is `T` itself or an associated type of [`Ufunc`].
/// The types are those of the ufunc's bound, by kind (see `for_each_element!`).
macro_rules! scalar_operator {
    ($trait:ident::$method:ident => $func:ident, $family:ident($op:ident), Itself; $($t:ty => $d:ident $name:literal,)*) => {$(
        scalar_operator!(@impl $trait::$method => $func, $family($op), $t, $t);
    )*};
    ($trait:ident::$method:ident => $func:ident, $family:ident($op:ident), $out:ident; $($t:ty => $d:ident $name:literal,)*) => {$(
        scalar_operator!(@impl $trait::$method => $func, $family($op), $t, <$t as Ufunc>::$out);
    )*};
    (@impl $trait:ident::$method:ident => $func:ident, $family:ident($op:ident), $t:ty, $out:ty) => {
        /// **Panics** if the function returns `Err`.
        impl $trait<&DistArray<$t>> for $t {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: &DistArray<$t>) -> DistArray<$out> {
                expect(functions::$func(self, rhs))
            }
        }

        /// The result in `rhs`'s pieces where it has the element type and the
        /// operator commutes. **Panics** if the function returns `Err`.
        impl $trait<DistArray<$t>> for $t {
            type Output = DistArray<$out>;
            #[track_caller]
            fn $method(self, rhs: DistArray<$t>) -> DistArray<$out> {
                owned(Family::$family, BinaryOp::$op, Arg::Borrowed(Operand::Scalar(self)), Arg::Owned(rhs))
            }
        }
    };
}

for_each_element!(scalar_operator { Add::add => add, BinarySame(Add), Itself; });
for_each_element!(int | float | complex => scalar_operator { Sub::sub => subtract, BinarySame(Subtract), Itself; });
for_each_element!(scalar_operator { Mul::mul => multiply, BinarySame(Multiply), Itself; });
for_each_element!(scalar_operator { Div::div => true_divide, BinaryQuotient(TrueDivide), Quotient; });
for_each_element!(bool | int | float => scalar_operator { Rem::rem => remainder, BinaryPromoted(Remainder), Promoted; });
for_each_element!(bool | int => scalar_operator { BitAnd::bitand => bitwise_and, BinarySame(BitwiseAnd), Itself; });
for_each_element!(bool | int => scalar_operator { BitOr::bitor => bitwise_or, BinarySame(BitwiseOr), Itself; });
for_each_element!(bool | int => scalar_operator { BitXor::bitxor => bitwise_xor, BinarySame(BitwiseXor), Itself; });
for_each_element!(bool | int => scalar_operator { Shl::shl => left_shift, BinaryPromoted(LeftShift), Promoted; });
for_each_element!(bool | int => scalar_operator { Shr::shr => right_shift, BinaryPromoted(RightShift), Promoted; });

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

/// In `self`'s pieces. **Panics** if [`negative`](functions::negative)
/// returns `Err`.
impl<T: Number> Neg for DistArray<T> {
    type Output = DistArray<T>;
    #[track_caller]
    fn neg(mut self) -> DistArray<T> {
        expect(functions::negative_inplace(&mut self));
        self
    }
}

/// In `self`'s pieces. **Panics** if [`invert`](functions::invert) returns
/// `Err`.
impl<T: Bitwise> Not for DistArray<T> {
    type Output = DistArray<T>;
    #[track_caller]
    fn not(mut self) -> DistArray<T> {
        expect(functions::invert_inplace(&mut self));
        self
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
