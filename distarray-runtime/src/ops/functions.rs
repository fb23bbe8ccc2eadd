//! Every ufunc of DistArray's `functions` module (numpy's names and
//! semantics), elementwise over distributed arrays, computed on the engines.
//!
//! Each function comes in three forms:
//!
//! - `f(..)` returns a new array with the operands' distribution;
//! - `f_into(.., &mut out)` writes into an existing array of the result type
//!   and the same distribution (numpy's `out=`), creating nothing;
//! - `f_inplace(&mut x, ..)` overwrites its first operand, for element types
//!   whose result type is their own (`sin_inplace` of `f64` arrays, not of
//!   `i32` ones).
//!
//! Binary ufuncs take two arrays or an array and a scalar, either way round:
//! `add(&a, &b)`, `add(&a, 2.0)`, `add(2.0, &a)` (see [`Operands`]); the
//! in-place forms take an array or a scalar as second operand ([`Operand`]).
//! The [`std::ops`] operators call these functions (`&a + &b`, `2.0 * &a`,
//! `a += &b`, ...); given an array by value they compute in place into it
//! where the result type allows (`&a * &b + &c`, `2.0 * a`).
//!
//! # Element types
//! A ufunc exists for exactly the element types numpy defines it for, which
//! the bounds say: [`Ufunc`] (every element type), [`Number`] (not `bool`),
//! [`Real`] (not complex) or [`Bitwise`] (`bool` and integers). The result
//! type follows numpy: float functions of integers give floats, `true_divide`
//! of integers gives `f64`, comparisons give `bool` (see [`Ufunc`]'s table).
//! Integer arithmetic wraps on overflow, like numpy's.
//! Complex functions are numpy's C99 Annex G functions (branch cuts on the
//! sign of zero, full accuracy for huge and tiny arguments, Annex G's values
//! at infinities), not `num_complex`'s formulas; complex comparisons order
//! lexicographically and are false where either operand has a NaN part
//! (`not_equal` true).
//!
//! ```compile_fail
//! # use distarray::prelude::*;
//! # let ctx = Context::new()?;
//! let x = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[4])?)?;
//! let _bits = distarray::functions::bitwise_and(&x, &x)?; // numpy has no bitwise_and of floats
//! # Ok::<(), distarray::Error>(())
//! ```
//!
//! # Errors
//! Every function returns `Err`, and changes nothing, when:
//! - two arrays differ in shape (`InvalidShape`) or belong to different
//!   contexts (`WrongContext`). Two array operands of one shape but different
//!   distributions are fine: a temporary copy of `x2` is redistributed to
//!   `x1`'s distribution (never an operand in place), and the result has
//!   `x1`'s. An `out` array is written in place, so it must have the result's
//!   distribution (`IncompatibleDistribution`, naming both distributions);
//! - integer values are outside the ufunc's domain (`Arithmetic`): division or
//!   remainder by 0, a negative power, a negative shift count. numpy warns and
//!   returns 0 for the first; an error is more useful on a cluster. Into `out`
//!   and in place, the engines agree before writing, so a failure leaves `out`
//!   unchanged everywhere;
//! - the context was closed (`ContextClosed`) or cleaned up (`KeyNotFound`).
//!
//! # Examples
//! ```
//! use distarray::functions::{add, floor_divide, greater, multiply_inplace, remainder, sqrt};
//! use distarray::prelude::*;
//! use ndarray::array;
//!
//! let ctx = Context::new()?;
//! let a = ctx.fromarray(&array![-7i64, -2, 0, 5, 9], None)?;
//! let b = ctx.fromarray(&array![2i64, 2, 3, -3, 4], None)?;
//! assert_eq!(floor_divide(&a, &b)?.toarray()?, array![-4i64, -1, 0, -2, 2].into_dyn());
//! assert_eq!(remainder(&a, &b)?.toarray()?, array![1i64, 0, 0, -1, 1].into_dyn());
//! assert_eq!(greater(&a, 0)?.toarray()?, array![false, false, false, true, true].into_dyn());
//! let r: DistArray<f64> = sqrt(&add(&a, 7)?)?;               // integers give floats
//! assert_eq!(r.toarray()?[4], 4.0);
//! let mut c = add(1, &b)?;
//! multiply_inplace(&mut c, &b)?;                             // no new array
//! assert_eq!(c.toarray()?, array![6i64, 6, 12, 6, 20].into_dyn());
//! assert_eq!(floor_divide(&a, 0).unwrap_err().kind(), ErrorKind::Arithmetic);
//! let d = &a * 2 - &b;                                      // `&a * 2` then takes the result
//! assert_eq!(d.toarray()?, array![-16i64, -6, -3, 13, 14].into_dyn());
//! # Ok::<(), distarray::Error>(())
//! ```

use super::engine::dtypes::{Bitwise, Number, Real, Ufunc};
use super::engine::scalar::{BinaryOp, CompareOp, UnaryOp};
use super::engine::Family;
use super::operand::{Operand, Operands};
use super::ufunc::{binary, binary_inplace, binary_into, unary, unary_inplace, unary_into};
use crate::client::DistArray;
use crate::core::error::Result;

macro_rules! unary_ufuncs {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident, $into:ident, $inplace:ident: $bound:ident -> $out:ty, in place [$($ib:tt)+], $family:ident($op:ident);
    )*) => {$(
        $(#[doc = $doc])+
        ///
        #[doc = concat!("The result is a new array with `x`'s distribution; [`", stringify!($into), "`] writes into an existing array and [`", stringify!($inplace), "`] overwrites `x`.")]
        ///
        /// # Errors
        /// `ContextClosed` or `KeyNotFound` (see the [module](self) docs),
        /// and `Arithmetic` as said above.
        pub fn $name<T: $bound>(x: &DistArray<T>) -> Result<DistArray<$out>> {
            unary::<T, $out>(Family::$family, UnaryOp::$op, x)
        }

        #[doc = concat!("[`", stringify!($name), "`] written into `out`, which must have `x`'s shape and distribution; creates no array.")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($name), "`], and `InvalidShape`, `IncompatibleDistribution` or `WrongContext` if `out` does not match `x`. On error `out` is unchanged.")]
        pub fn $into<T: $bound>(x: &DistArray<T>, out: &mut DistArray<$out>) -> Result<()> {
            unary_into::<T, $out>(Family::$family, UnaryOp::$op, x, out)
        }

        #[doc = concat!("[`", stringify!($name), "`] in place: overwrites `x` (for element types whose result type is their own).")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($name), "`]. On error `x` is unchanged.")]
        pub fn $inplace<T: $($ib)+>(x: &mut DistArray<T>) -> Result<()> {
            unary_inplace::<T>(Family::$family, UnaryOp::$op, x)
        }
    )*};
}

macro_rules! binary_ufuncs {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident as $label:literal, $into:ident, $inplace:ident: $bound:ident -> $out:ty, in place [$($ib:tt)+], $family:ident($op:ident);
    )*) => {$(
        $(#[doc = $doc])+
        ///
        /// `x1` and `x2` are two arrays of one shape, or an array and a
        /// scalar of its element type, either way round. The result is a new
        /// array with the distribution of `x1` (of the array operand); if `x2`
        /// is distributed differently, a temporary copy of it is
        /// redistributed first (`x2` itself is unchanged).
        ///
        /// # Errors
        /// `InvalidShape` or `WrongContext` if the arrays do not match,
        /// `Arithmetic` as said above, `ContextClosed` or `KeyNotFound`.
        pub fn $name<'a, T: $bound, X, Y>(x1: X, x2: Y) -> Result<DistArray<$out>>
        where
            (X, Y): Operands<'a, T>,
        {
            let (x1, x2) = (x1, x2).operands();
            binary::<T, $out, BinaryOp>(Family::$family, BinaryOp::$op, x1, x2)
        }

        #[doc = concat!("[`", $label, "`](fn.", $label, ".html) written into `out`, which must have the operands' shape and distribution; creates no array.")]
        ///
        /// # Errors
        #[doc = concat!("As [`", $label, "`](fn.", $label, ".html), and `InvalidShape`, `IncompatibleDistribution` or `WrongContext` if `out` does not match `x1` (it is never redistributed). On error `out` is unchanged.")]
        pub fn $into<'a, T: $bound, X, Y>(x1: X, x2: Y, out: &mut DistArray<$out>) -> Result<()>
        where
            (X, Y): Operands<'a, T>,
        {
            let (x1, x2) = (x1, x2).operands();
            binary_into::<T, $out, BinaryOp>(Family::$family, BinaryOp::$op, x1, x2, out)
        }

        #[doc = concat!("[`", $label, "`](fn.", $label, ".html) in place: `x1 = ", $label, "(x1, x2)` for an array or scalar `x2` (for element types whose result type is their own).")]
        ///
        /// # Errors
        #[doc = concat!("As [`", $label, "`](fn.", $label, ".html). On error `x1` is unchanged.")]
        pub fn $inplace<'a, T: $($ib)+>(x1: &mut DistArray<T>, x2: impl Into<Operand<'a, T>>) -> Result<()> {
            binary_inplace::<T, BinaryOp>(Family::$family, BinaryOp::$op, x1, x2.into())
        }
    )*};
}

macro_rules! comparisons {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident, $into:ident: $op:ident;
    )*) => {$(
        $(#[doc = $doc])+
        ///
        /// `x1` and `x2` are two arrays of one shape and distribution, or an
        /// array and a scalar of its element type, either way round. Complex
        /// numbers compare lexicographically (real parts, then imaginary
        /// parts), as in numpy.
        ///
        /// Arrays of different distributions compare through a temporary
        /// copy of `x2` redistributed to `x1`'s distribution, the result's.
        ///
        /// # Errors
        /// `InvalidShape` or `WrongContext` if the arrays do not match,
        /// `ContextClosed` or `KeyNotFound`.
        pub fn $name<'a, T: Ufunc, X, Y>(x1: X, x2: Y) -> Result<DistArray<bool>>
        where
            (X, Y): Operands<'a, T>,
        {
            let (x1, x2) = (x1, x2).operands();
            binary::<T, bool, CompareOp>(Family::Compare, CompareOp::$op, x1, x2)
        }

        #[doc = concat!("[`", stringify!($name), "`] written into `out`, a `bool` array with the operands' shape and distribution; creates no array.")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($name), "`], and `InvalidShape`, `IncompatibleDistribution` or `WrongContext` if `out` does not match `x1` (it is never redistributed).")]
        pub fn $into<'a, T: Ufunc, X, Y>(x1: X, x2: Y, out: &mut DistArray<bool>) -> Result<()>
        where
            (X, Y): Operands<'a, T>,
        {
            let (x1, x2) = (x1, x2).operands();
            binary_into::<T, bool, CompareOp>(Family::Compare, CompareOp::$op, x1, x2, out)
        }
    )*};
}

unary_ufuncs! {
    /// The absolute value, elementwise: `|z|`, a real array, for complex numbers.
    /// Integers wrap like numpy: the absolute value of `i8::MIN` is `i8::MIN`.
    absolute, absolute_into, absolute_inplace: Ufunc -> <T as Ufunc>::Magnitude, in place [Ufunc<Magnitude = T>], UnaryMagnitude(Absolute);
    /// The inverse cosine, elementwise (NaN outside `[-1, 1]` for reals).
    arccos, arccos_into, arccos_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arccos);
    /// The inverse hyperbolic cosine, elementwise (NaN below 1 for reals).
    arccosh, arccosh_into, arccosh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arccosh);
    /// The inverse sine, elementwise (NaN outside `[-1, 1]` for reals).
    arcsin, arcsin_into, arcsin_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arcsin);
    /// The inverse hyperbolic sine, elementwise.
    arcsinh, arcsinh_into, arcsinh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arcsinh);
    /// The inverse tangent, elementwise.
    arctan, arctan_into, arctan_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arctan);
    /// The inverse hyperbolic tangent, elementwise (NaN outside `[-1, 1]`, ±inf at ±1 for reals).
    arctanh, arctanh_into, arctanh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Arctanh);
    /// The complex conjugate, elementwise; the identity for real types (bools give `i8`, as in numpy).
    conjugate, conjugate_into, conjugate_inplace: Ufunc -> <T as Ufunc>::Promoted, in place [Ufunc<Promoted = T>], UnaryPromoted(Conjugate);
    /// The cosine, elementwise.
    cos, cos_into, cos_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Cos);
    /// The hyperbolic cosine, elementwise.
    cosh, cosh_into, cosh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Cosh);
    /// The exponential `e^x`, elementwise.
    exp, exp_into, exp_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Exp);
    /// `e^x - 1`, elementwise, accurate for small `x`.
    expm1, expm1_into, expm1_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Expm1);
    /// Bitwise NOT, elementwise: `!x` for integers, logical NOT for bools.
    invert, invert_into, invert_inplace: Bitwise -> T, in place [Bitwise], UnarySame(Invert);
    /// The natural logarithm, elementwise (`-inf` at 0, NaN below 0 for reals).
    log, log_into, log_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Log);
    /// The base-10 logarithm, elementwise.
    log10, log10_into, log10_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Log10);
    /// `ln(1 + x)`, elementwise, accurate for small `x`.
    log1p, log1p_into, log1p_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Log1p);
    /// The negation `-x`, elementwise; unsigned integers wrap (`-1u8 == 255`), as in numpy.
    negative, negative_into, negative_inplace: Number -> T, in place [Number], UnarySame(Negative);
    /// `1 / x`, elementwise, in the element type: integer division for integers (`reciprocal(2) == 0`).
    ///
    /// An integer 0 is an `Arithmetic` error (numpy warns and gives a meaningless value).
    reciprocal, reciprocal_into, reciprocal_inplace: Ufunc -> <T as Ufunc>::Promoted, in place [Ufunc<Promoted = T>], UnaryPromoted(Reciprocal);
    /// Rounds to the nearest integer, halves to even (`rint(2.5) == 2.0`), elementwise.
    rint, rint_into, rint_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Rint);
    /// The sign, elementwise: -1, 0 or 1 (NaN for NaN; `z / |z|` for complex numbers, as numpy 2).
    sign, sign_into, sign_inplace: Number -> T, in place [Number], UnarySame(Sign);
    /// The sine, elementwise.
    sin, sin_into, sin_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Sin);
    /// The hyperbolic sine, elementwise.
    sinh, sinh_into, sinh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Sinh);
    /// The square root, elementwise (NaN below 0 for reals; the principal root for complex numbers).
    sqrt, sqrt_into, sqrt_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Sqrt);
    /// `x * x`, elementwise; integers wrap.
    square, square_into, square_inplace: Ufunc -> <T as Ufunc>::Promoted, in place [Ufunc<Promoted = T>], UnaryPromoted(Square);
    /// The tangent, elementwise.
    tan, tan_into, tan_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Tan);
    /// The hyperbolic tangent, elementwise.
    tanh, tanh_into, tanh_inplace: Ufunc -> <T as Ufunc>::Float, in place [Ufunc<Float = T>], UnaryFloat(Tanh);
}

binary_ufuncs! {
    /// `x1 + x2`, elementwise (logical OR for bools); integers wrap.
    add as "add", add_into, add_inplace: Ufunc -> T, in place [Ufunc], BinarySame(Add);
    /// The angle of the point `(x2, x1)`, `atan(x1 / x2)` in the right quadrant, elementwise.
    arctan2 as "arctan2", arctan2_into, arctan2_inplace: Real -> <T as Ufunc>::Float, in place [Real<Float = T>], BinaryFloat(Arctan2);
    /// `x1 & x2`, elementwise (logical AND for bools).
    bitwise_and as "bitwise_and", bitwise_and_into, bitwise_and_inplace: Bitwise -> T, in place [Bitwise], BinarySame(BitwiseAnd);
    /// `x1 | x2`, elementwise (logical OR for bools).
    bitwise_or as "bitwise_or", bitwise_or_into, bitwise_or_inplace: Bitwise -> T, in place [Bitwise], BinarySame(BitwiseOr);
    /// `x1 ^ x2`, elementwise (logical XOR for bools).
    bitwise_xor as "bitwise_xor", bitwise_xor_into, bitwise_xor_inplace: Bitwise -> T, in place [Bitwise], BinarySame(BitwiseXor);
    /// The same as [`true_divide`]: `x1 / x2` in floats.
    divide as "divide", divide_into, divide_inplace: Ufunc -> <T as Ufunc>::Quotient, in place [Ufunc<Quotient = T>], BinaryQuotient(TrueDivide);
    /// `x1 // x2`: the quotient rounded toward -inf, elementwise (`floor_divide(-7, 2) == -4`).
    ///
    /// Floats follow numpy's `divmod` (division by 0 gives ±inf or NaN). An integer division by 0 is an `Arithmetic` error.
    floor_divide as "floor_divide", floor_divide_into, floor_divide_inplace: Real -> <T as Ufunc>::Promoted, in place [Real<Promoted = T>], BinaryPromoted(FloorDivide);
    /// C's `fmod`: the remainder of the quotient rounded toward zero, with the sign of the dividend `x1` (`fmod(-7, 2) == -1`), elementwise.
    ///
    /// An integer division by 0 is an `Arithmetic` error; floats give NaN.
    fmod as "fmod", fmod_into, fmod_inplace: Real -> <T as Ufunc>::Promoted, in place [Real<Promoted = T>], BinaryPromoted(Fmod);
    /// `sqrt(x1² + x2²)`, elementwise, without overflow.
    hypot as "hypot", hypot_into, hypot_inplace: Real -> <T as Ufunc>::Float, in place [Real<Float = T>], BinaryFloat(Hypot);
    /// `x1 << x2`, elementwise; shifting by the bit width or more gives 0, as in numpy (bools shift as `i8`).
    ///
    /// A negative shift count is an `Arithmetic` error.
    left_shift as "left_shift", left_shift_into, left_shift_inplace: Bitwise -> <T as Ufunc>::Promoted, in place [Bitwise<Promoted = T>], BinaryPromoted(LeftShift);
    /// The same as [`remainder`] (numpy's `mod`; call it as `r#mod`).
    r#mod as "mod", mod_into, mod_inplace: Real -> <T as Ufunc>::Promoted, in place [Real<Promoted = T>], BinaryPromoted(Remainder);
    /// `x1 * x2`, elementwise (logical AND for bools); integers wrap.
    multiply as "multiply", multiply_into, multiply_inplace: Ufunc -> T, in place [Ufunc], BinarySame(Multiply);
    /// `x1` to the power `x2`, elementwise; integers wrap (bools compute in `i8`).
    ///
    /// An integer to a negative integer power is an `Arithmetic` error ("Integers to negative integer powers are not allowed.", as numpy).
    power as "power", power_into, power_inplace: Ufunc -> <T as Ufunc>::Promoted, in place [Ufunc<Promoted = T>], BinaryPromoted(Power);
    /// Python's `%`: `x1 - floor_divide(x1, x2) * x2`, with the sign of the divisor `x2` (`remainder(-7, 2) == 1`), elementwise.
    ///
    /// An integer division by 0 is an `Arithmetic` error; floats give NaN.
    remainder as "remainder", remainder_into, remainder_inplace: Real -> <T as Ufunc>::Promoted, in place [Real<Promoted = T>], BinaryPromoted(Remainder);
    /// `x1 >> x2` (arithmetic for signed types), elementwise; shifting by the bit width or more gives 0, or -1 for negative values, as in numpy.
    ///
    /// A negative shift count is an `Arithmetic` error.
    right_shift as "right_shift", right_shift_into, right_shift_inplace: Bitwise -> <T as Ufunc>::Promoted, in place [Bitwise<Promoted = T>], BinaryPromoted(RightShift);
    /// `x1 - x2`, elementwise; integers wrap.
    subtract as "subtract", subtract_into, subtract_inplace: Number -> T, in place [Number], BinarySame(Subtract);
    /// `x1 / x2` in floats, elementwise: integers and bools give `f64`. Division by 0 gives ±inf or NaN, as numpy.
    true_divide as "true_divide", true_divide_into, true_divide_inplace: Ufunc -> <T as Ufunc>::Quotient, in place [Ufunc<Quotient = T>], BinaryQuotient(TrueDivide);
}

comparisons! {
    /// `x1 < x2`, elementwise, as a `bool` array (false where either side is NaN).
    less, less_into: Less;
    /// `x1 <= x2`, elementwise, as a `bool` array (false where either side is NaN).
    less_equal, less_equal_into: LessEqual;
    /// `x1 == x2`, elementwise, as a `bool` array (false where either side is NaN).
    equal, equal_into: Equal;
    /// `x1 != x2`, elementwise, as a `bool` array (false where either side is NaN).
    not_equal, not_equal_into: NotEqual;
    /// `x1 > x2`, elementwise, as a `bool` array (false where either side is NaN).
    greater, greater_into: Greater;
    /// `x1 >= x2`, elementwise, as a `bool` array (false where either side is NaN).
    greater_equal, greater_equal_into: GreaterEqual;
}
