//! Numpy's scalar semantics, one element type at a time: what each ufunc does
//! to one element (or a pair), including numpy's edge cases (floor division
//! toward -inf, the divisor's sign for `mod`, shifts past the bit width,
//! wrapping integer overflow, Smith's complex division, ...).
//!
//! The ufuncs that promote their input (bool to `i8`, integers to floats)
//! convert first (see [`Ufunc`](super::dtypes::Ufunc)) and then compute here, in the
//! promoted type. An operation numpy does not define for a type is rejected at
//! compile time by the public functions' bounds; here it is an `Unsupported`
//! error, which only a hand-made kernel call could reach.

use num_complex::Complex;
use serde::{Deserialize, Serialize};

use super::complex_math::ComplexMath;
use super::real_math::InverseHyperbolic;
use crate::core::element::{for_each_element, Element};
use crate::core::error::{bail, Result};

/// A unary ufunc computed in one type (after promotion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Negative,
    Sign,
    Invert,
    Conjugate,
    Reciprocal,
    Square,
    Rint,
    Sqrt,
    Exp,
    Expm1,
    Log,
    Log10,
    Log1p,
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Tanh,
    Arcsinh,
    Arccosh,
    Arctanh,
    Absolute,
}

#[cfg(test)]
impl UnaryOp {
    /// Every op, for tests that cover them all.
    pub(crate) const ALL: [UnaryOp; 26] = {
        use UnaryOp::*;
        [
            Negative, Sign, Invert, Conjugate, Reciprocal, Square, Rint, Sqrt, Exp, Expm1, Log, Log10, Log1p, Sin, Cos,
            Tan, Arcsin, Arccos, Arctan, Sinh, Cosh, Tanh, Arcsinh, Arccosh, Arctanh, Absolute,
        ]
    };
}

#[cfg(test)]
impl BinaryOp {
    /// Every op, for tests that cover them all.
    pub(crate) const ALL: [BinaryOp; 15] = {
        use BinaryOp::*;
        [
            Add,
            Subtract,
            Multiply,
            TrueDivide,
            FloorDivide,
            Remainder,
            Fmod,
            Power,
            Arctan2,
            Hypot,
            BitwiseAnd,
            BitwiseOr,
            BitwiseXor,
            LeftShift,
            RightShift,
        ]
    };
}

#[cfg(test)]
impl CompareOp {
    /// Every op, for tests that cover them all.
    pub(crate) const ALL: [CompareOp; 6] = {
        use CompareOp::*;
        [Less, LessEqual, Equal, NotEqual, Greater, GreaterEqual]
    };
}

/// A binary ufunc computed in one type (after promotion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    TrueDivide,
    FloorDivide,
    Remainder,
    Fmod,
    Power,
    Arctan2,
    Hypot,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    LeftShift,
    RightShift,
}

/// A comparison ufunc (result `bool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    Less,
    LessEqual,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
}

impl UnaryOp {
    /// The numpy name.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Negative => "negative",
            Sign => "sign",
            Invert => "invert",
            Conjugate => "conjugate",
            Reciprocal => "reciprocal",
            Square => "square",
            Rint => "rint",
            Sqrt => "sqrt",
            Exp => "exp",
            Expm1 => "expm1",
            Log => "log",
            Log10 => "log10",
            Log1p => "log1p",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Arcsin => "arcsin",
            Arccos => "arccos",
            Arctan => "arctan",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Arcsinh => "arcsinh",
            Arccosh => "arccosh",
            Arctanh => "arctanh",
            Absolute => "absolute",
        }
    }

    /// Whether the op can fail on some values (integer reciprocal of 0).
    pub fn fallible(self) -> bool {
        self == UnaryOp::Reciprocal
    }
}

impl BinaryOp {
    /// The numpy name.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Subtract => "subtract",
            Multiply => "multiply",
            TrueDivide => "true_divide",
            FloorDivide => "floor_divide",
            Remainder => "remainder",
            Fmod => "fmod",
            Power => "power",
            Arctan2 => "arctan2",
            Hypot => "hypot",
            BitwiseAnd => "bitwise_and",
            BitwiseOr => "bitwise_or",
            BitwiseXor => "bitwise_xor",
            LeftShift => "left_shift",
            RightShift => "right_shift",
        }
    }

    /// Whether the op can fail on some values (integer division by zero,
    /// negative integer powers, negative shift counts).
    pub fn fallible(self) -> bool {
        use BinaryOp::*;
        matches!(self, FloorDivide | Remainder | Fmod | Power | LeftShift | RightShift)
    }
}

impl CompareOp {
    /// The numpy name.
    pub fn name(self) -> &'static str {
        use CompareOp::*;
        match self {
            Less => "less",
            LessEqual => "less_equal",
            Equal => "equal",
            NotEqual => "not_equal",
            Greater => "greater",
            GreaterEqual => "greater_equal",
        }
    }

    /// The comparison of two totally or partially ordered values (NaN compares
    /// false except for `not_equal`).
    fn of<T: PartialOrd>(self, a: T, b: T) -> bool {
        use CompareOp::*;
        match self {
            Less => a < b,
            LessEqual => a <= b,
            Equal => a == b,
            NotEqual => a != b,
            Greater => a > b,
            GreaterEqual => a >= b,
        }
    }
}

/// A loop over one operand that takes the op as a function, so that each op
/// gets its own copy of the loop (which LLVM can then vectorise).
#[doc(hidden)]
pub trait UnaryLoop<C, R> {
    type Output;
    fn run<F: Fn(C) -> R + Copy>(self, f: F) -> Self::Output;
}

/// [`UnaryLoop`] for two operands.
#[doc(hidden)]
pub trait BinaryLoop<C, R> {
    type Output;
    fn run<F: Fn(C, C) -> R + Copy>(self, f: F) -> Self::Output;
}

/// What one element type does under each ufunc, numpy's way.
///
/// Public only to appear in bounds of [`Ufunc`](super::dtypes::Ufunc); this module is
/// private, so nothing outside the crate can name or implement it.
pub trait Scalar: Element {
    /// `op(x)`, in this type.
    #[doc(hidden)]
    fn unary(op: UnaryOp, x: Self) -> Result<Self>;
    /// `op(a, b)`, in this type.
    #[doc(hidden)]
    fn binary(op: BinaryOp, a: Self, b: Self) -> Result<Self>;
    /// `op(a, b)` for a comparison.
    #[doc(hidden)]
    fn compare(op: CompareOp, a: Self, b: Self) -> bool;

    /// Runs `l` with `op` as a plain expression, for the ops that cannot fail
    /// and are one (the same values as [`unary`](Scalar::unary)); gives `l`
    /// back for the others, which go element by element.
    #[doc(hidden)]
    fn fast_unary<L: UnaryLoop<Self, Self>>(op: UnaryOp, l: L) -> std::result::Result<L::Output, L> {
        let _ = op;
        Err(l)
    }
    /// [`fast_unary`](Scalar::fast_unary) for [`binary`](Scalar::binary).
    #[doc(hidden)]
    fn fast_binary<L: BinaryLoop<Self, Self>>(op: BinaryOp, l: L) -> std::result::Result<L::Output, L> {
        let _ = op;
        Err(l)
    }
    /// [`fast_unary`](Scalar::fast_unary) for [`compare`](Scalar::compare).
    #[doc(hidden)]
    fn fast_compare<L: BinaryLoop<Self, bool>>(op: CompareOp, l: L) -> std::result::Result<L::Output, L> {
        let _ = op;
        Err(l)
    }
}

/// The comparisons of ordered types, one loop each (as [`CompareOp::of`]).
macro_rules! ordered_compare {
    ($t:ty) => {
        fn fast_compare<L: BinaryLoop<$t, bool>>(op: CompareOp, l: L) -> std::result::Result<L::Output, L> {
            use CompareOp::*;
            Ok(match op {
                Less => l.run(|a, b| a < b),
                LessEqual => l.run(|a, b| a <= b),
                Equal => l.run(|a, b| a == b),
                NotEqual => l.run(|a, b| a != b),
                Greater => l.run(|a, b| a > b),
                GreaterEqual => l.run(|a, b| a >= b),
            })
        }
    };
}

fn unsupported<T: Element, R>(name: &str) -> Result<R> {
    bail!(Unsupported, "numpy does not define `{name}` for {}", T::DTYPE)
}

impl Scalar for bool {
    fn unary(op: UnaryOp, x: bool) -> Result<bool> {
        match op {
            UnaryOp::Invert => Ok(!x),
            UnaryOp::Absolute => Ok(x),
            _ => unsupported::<bool, _>(op.name()),
        }
    }

    fn binary(op: BinaryOp, a: bool, b: bool) -> Result<bool> {
        // numpy's bool loops: add is logical or, multiply logical and.
        match op {
            BinaryOp::Add | BinaryOp::BitwiseOr => Ok(a | b),
            BinaryOp::Multiply | BinaryOp::BitwiseAnd => Ok(a & b),
            BinaryOp::BitwiseXor => Ok(a ^ b),
            _ => unsupported::<bool, _>(op.name()),
        }
    }

    fn compare(op: CompareOp, a: bool, b: bool) -> bool {
        op.of(a, b)
    }

    fn fast_unary<L: UnaryLoop<bool, bool>>(op: UnaryOp, l: L) -> std::result::Result<L::Output, L> {
        Ok(match op {
            UnaryOp::Invert => l.run(|x: bool| !x),
            UnaryOp::Absolute => l.run(|x| x),
            _ => return Err(l),
        })
    }

    fn fast_binary<L: BinaryLoop<bool, bool>>(op: BinaryOp, l: L) -> std::result::Result<L::Output, L> {
        Ok(match op {
            BinaryOp::Add | BinaryOp::BitwiseOr => l.run(|a: bool, b: bool| a | b),
            BinaryOp::Multiply | BinaryOp::BitwiseAnd => l.run(|a: bool, b: bool| a & b),
            BinaryOp::BitwiseXor => l.run(|a: bool, b: bool| a ^ b),
            _ => return Err(l),
        })
    }

    ordered_compare!(bool);
}

/// Integer semantics shared by signed and unsigned types.
macro_rules! integer_scalar {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl Scalar for $t {
            fn unary(op: UnaryOp, x: $t) -> Result<$t> {
                #[allow(unused_comparisons)]
                let negative = x < 0;
                Ok(match op {
                    UnaryOp::Negative => x.wrapping_neg(),
                    UnaryOp::Sign => match (x == 0, negative) {
                        (true, _) => 0,
                        (false, false) => 1,
                        (false, true) => (0 as $t).wrapping_sub(1),
                    },
                    UnaryOp::Invert => !x,
                    UnaryOp::Conjugate => x,
                    UnaryOp::Absolute => if negative { x.wrapping_neg() } else { x },
                    UnaryOp::Square => x.wrapping_mul(x),
                    UnaryOp::Reciprocal => {
                        if x == 0 {
                            bail!(Arithmetic, "reciprocal: integer division by zero");
                        }
                        (1 as $t).wrapping_div(x)
                    }
                    _ => return unsupported::<$t, _>(op.name()),
                })
            }

            fn binary(op: BinaryOp, a: $t, b: $t) -> Result<$t> {
                const BITS: $t = <$t>::BITS as $t;
                #[allow(unused_comparisons)]
                let (a_negative, b_negative) = (a < 0, b < 0);
                let nonzero = |name: &str| -> Result<()> {
                    if b == 0 {
                        bail!(Arithmetic, "{name}: integer division by zero");
                    }
                    Ok(())
                };
                Ok(match op {
                    BinaryOp::Add => a.wrapping_add(b),
                    BinaryOp::Subtract => a.wrapping_sub(b),
                    BinaryOp::Multiply => a.wrapping_mul(b),
                    BinaryOp::FloorDivide => {
                        nonzero("floor_divide")?;
                        let q = a.wrapping_div(b);
                        // Truncation rounded toward zero; floor when the signs differ.
                        if a.wrapping_rem(b) != 0 && a_negative != b_negative { q.wrapping_sub(1) } else { q }
                    }
                    BinaryOp::Remainder => {
                        nonzero("remainder")?;
                        let r = a.wrapping_rem(b);
                        #[allow(unused_comparisons)]
                        let r_negative = r < 0;
                        // The result takes the divisor's sign.
                        if r != 0 && r_negative != b_negative { r.wrapping_add(b) } else { r }
                    }
                    BinaryOp::Fmod => {
                        nonzero("fmod")?;
                        a.wrapping_rem(b)
                    }
                    BinaryOp::Power => {
                        if b_negative {
                            bail!(Arithmetic, "power: Integers to negative integer powers are not allowed.");
                        }
                        // Exponentiation by squaring, wrapping like numpy.
                        let (mut base, mut exponent, mut result) = (a, b, 1 as $t);
                        while exponent != 0 {
                            if exponent & 1 == 1 {
                                result = result.wrapping_mul(base);
                            }
                            base = base.wrapping_mul(base);
                            exponent >>= 1;
                        }
                        result
                    }
                    BinaryOp::BitwiseAnd => a & b,
                    BinaryOp::BitwiseOr => a | b,
                    BinaryOp::BitwiseXor => a ^ b,
                    BinaryOp::LeftShift | BinaryOp::RightShift if b_negative => {
                        bail!(Arithmetic, "{}: negative shift count {b}", op.name())
                    }
                    // Shifting by the width or more: every bit is shifted out.
                    BinaryOp::LeftShift => if b >= BITS { 0 } else { a << b },
                    BinaryOp::RightShift => {
                        if b >= BITS {
                            if a_negative { (0 as $t).wrapping_sub(1) } else { 0 }
                        } else {
                            a >> b
                        }
                    }
                    _ => return unsupported::<$t, _>(op.name()),
                })
            }

            fn compare(op: CompareOp, a: $t, b: $t) -> bool {
                op.of(a, b)
            }

            #[allow(unused_comparisons)]
            fn fast_unary<L: UnaryLoop<$t, $t>>(op: UnaryOp, l: L) -> std::result::Result<L::Output, L> {
                Ok(match op {
                    UnaryOp::Negative => l.run(|x: $t| x.wrapping_neg()),
                    UnaryOp::Sign => l.run(|x: $t| match (x == 0, x < 0) {
                        (true, _) => 0,
                        (false, false) => 1,
                        (false, true) => (0 as $t).wrapping_sub(1),
                    }),
                    UnaryOp::Invert => l.run(|x: $t| !x),
                    UnaryOp::Conjugate => l.run(|x| x),
                    UnaryOp::Absolute => l.run(|x: $t| if x < 0 { x.wrapping_neg() } else { x }),
                    UnaryOp::Square => l.run(|x: $t| x.wrapping_mul(x)),
                    _ => return Err(l),
                })
            }

            fn fast_binary<L: BinaryLoop<$t, $t>>(op: BinaryOp, l: L) -> std::result::Result<L::Output, L> {
                Ok(match op {
                    BinaryOp::Add => l.run(|a: $t, b: $t| a.wrapping_add(b)),
                    BinaryOp::Subtract => l.run(|a: $t, b: $t| a.wrapping_sub(b)),
                    BinaryOp::Multiply => l.run(|a: $t, b: $t| a.wrapping_mul(b)),
                    BinaryOp::BitwiseAnd => l.run(|a: $t, b: $t| a & b),
                    BinaryOp::BitwiseOr => l.run(|a: $t, b: $t| a | b),
                    BinaryOp::BitwiseXor => l.run(|a: $t, b: $t| a ^ b),
                    _ => return Err(l),
                })
            }

            ordered_compare!($t);
        }
    )*};
}
for_each_element!(int => integer_scalar {});

/// Float semantics (`f32`, `f64`): std's functions (the platform's libm),
/// except the inverse hyperbolic ones (see [`real_math`](super::real_math)).
/// Each is within 4 ulp of numpy's (float32 in float32) wherever numpy's
/// result is finite, and gives numpy's NaN and infinities elsewhere.
macro_rules! float_scalar {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl Scalar for $t {
            fn unary(op: UnaryOp, x: $t) -> Result<$t> {
                use UnaryOp::*;
                Ok(match op {
                    Negative => -x,
                    // numpy: NaN stays NaN, both zeros give +0.
                    Sign => if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else if x == 0.0 { 0.0 } else { x },
                    Conjugate => x,
                    Absolute => x.abs(),
                    Reciprocal => 1.0 / x,
                    Square => x * x,
                    Rint => x.round_ties_even(),
                    Sqrt => x.sqrt(),
                    Exp => x.exp(),
                    Expm1 => x.exp_m1(),
                    Log => x.ln(),
                    Log10 => x.log10(),
                    Log1p => x.ln_1p(),
                    Sin => x.sin(),
                    Cos => x.cos(),
                    Tan => x.tan(),
                    Arcsin => x.asin(),
                    Arccos => x.acos(),
                    Arctan => x.atan(),
                    Sinh => x.sinh(),
                    Cosh => x.cosh(),
                    Tanh => x.tanh(),
                    // std's overflow or lose ulps; see `real_math`.
                    Arcsinh => InverseHyperbolic::arcsinh(x),
                    Arccosh => InverseHyperbolic::arccosh(x),
                    Arctanh => InverseHyperbolic::arctanh(x),
                    Invert => return unsupported::<$t, _>(op.name()),
                })
            }

            fn binary(op: BinaryOp, a: $t, b: $t) -> Result<$t> {
                use BinaryOp::*;
                Ok(match op {
                    Add => a + b,
                    Subtract => a - b,
                    Multiply => a * b,
                    TrueDivide => a / b,
                    FloorDivide => if b == 0.0 { a / b } else { divmod(a, b).0 },
                    Remainder => if b == 0.0 { a % b } else { divmod(a, b).1 },
                    // Rust's `%` on floats is C's fmod: the dividend's sign.
                    Fmod => a % b,
                    Power => a.powf(b),
                    Arctan2 => a.atan2(b),
                    Hypot => a.hypot(b),
                    _ => return unsupported::<$t, _>(op.name()),
                })
            }

            fn compare(op: CompareOp, a: $t, b: $t) -> bool {
                op.of(a, b)
            }

            fn fast_unary<L: UnaryLoop<$t, $t>>(op: UnaryOp, l: L) -> std::result::Result<L::Output, L> {
                use UnaryOp::*;
                Ok(match op {
                    Negative => l.run(|x: $t| -x),
                    Sign => l.run(|x: $t| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else if x == 0.0 { 0.0 } else { x }),
                    Conjugate => l.run(|x| x),
                    Absolute => l.run(|x: $t| x.abs()),
                    Reciprocal => l.run(|x: $t| 1.0 / x),
                    Square => l.run(|x: $t| x * x),
                    Sqrt => l.run(|x: $t| x.sqrt()),
                    _ => return Err(l),
                })
            }

            fn fast_binary<L: BinaryLoop<$t, $t>>(op: BinaryOp, l: L) -> std::result::Result<L::Output, L> {
                use BinaryOp::*;
                Ok(match op {
                    Add => l.run(|a: $t, b: $t| a + b),
                    Subtract => l.run(|a: $t, b: $t| a - b),
                    Multiply => l.run(|a: $t, b: $t| a * b),
                    TrueDivide => l.run(|a: $t, b: $t| a / b),
                    _ => return Err(l),
                })
            }

            ordered_compare!($t);
        }

        impl FloatDivmod for $t {
            fn divmod(a: $t, b: $t) -> ($t, $t) {
                // numpy's npy_divmod (b != 0).
                let mut modulus = a % b;
                let mut div = (a - modulus) / b;
                if modulus != 0.0 {
                    if (b < 0.0) != (modulus < 0.0) {
                        modulus += b;
                        div -= 1.0;
                    }
                } else {
                    modulus = (0.0 as $t).copysign(b);
                }
                let floordiv = if div != 0.0 {
                    let f = div.floor();
                    if div - f > 0.5 { f + 1.0 } else { f }
                } else {
                    (0.0 as $t).copysign(a / b)
                };
                (floordiv, modulus)
            }
        }
    )*};
}

trait FloatDivmod: Sized {
    fn divmod(a: Self, b: Self) -> (Self, Self);
}

fn divmod<T: FloatDivmod>(a: T, b: T) -> (T, T) {
    T::divmod(a, b)
}

for_each_element!(float => float_scalar {});

/// Complex semantics (`Complex<f32>`, `Complex<f64>`): numpy's loops and its
/// C99 Annex G functions, from [`complex_math`](super::complex_math), where
/// they differ from `num_complex`.
macro_rules! complex_scalar {
    ($($f:ident),*) => {$(
        impl Scalar for Complex<$f> {
            fn unary(op: UnaryOp, z: Complex<$f>) -> Result<Complex<$f>> {
                use UnaryOp::*;
                let (x, y) = (z.re, z.im);
                Ok(match op {
                    Negative => -z,
                    Sign => z.csign(),
                    Conjugate => z.conj(),
                    Reciprocal => z.creciprocal(),
                    Square => z.csquare(),
                    Rint => Complex::new(x.round_ties_even(), y.round_ties_even()),
                    Sqrt => z.csqrt(),
                    Exp => z.cexp(),
                    Expm1 => z.cexpm1(),
                    Log => z.clog(),
                    Log10 => z.clog10(),
                    Log1p => z.clog1p(),
                    Sin => z.csin(),
                    Cos => z.ccos(),
                    Tan => z.ctan(),
                    Arcsin => z.casin(),
                    Arccos => z.cacos(),
                    Arctan => z.catan(),
                    Sinh => z.csinh(),
                    Cosh => z.ccosh(),
                    Tanh => z.ctanh(),
                    Arcsinh => z.casinh(),
                    Arccosh => z.cacosh(),
                    Arctanh => z.catanh(),
                    Invert | Absolute => return unsupported::<Complex<$f>, _>(op.name()),
                })
            }

            fn binary(op: BinaryOp, a: Complex<$f>, b: Complex<$f>) -> Result<Complex<$f>> {
                use BinaryOp::*;
                Ok(match op {
                    Add => a + b,
                    Subtract => a - b,
                    Multiply => a.cmultiply(b),
                    TrueDivide => {
                        // Smith's algorithm, as numpy.
                        let (ar, ai, br, bi) = (a.re, a.im, b.re, b.im);
                        if br.abs() >= bi.abs() {
                            if br == 0.0 && bi == 0.0 {
                                Complex::new(ar / br.abs(), ai / br.abs())
                            } else {
                                let rat = bi / br;
                                let scl = 1.0 / (br + bi * rat);
                                Complex::new((ar + ai * rat) * scl, (ai - ar * rat) * scl)
                            }
                        } else {
                            let rat = br / bi;
                            let scl = 1.0 / (bi + br * rat);
                            Complex::new((ar * rat + ai) * scl, (ai * rat - ar) * scl)
                        }
                    }
                    Power => a.cpow(b),
                    _ => return unsupported::<Complex<$f>, _>(op.name()),
                })
            }

            fn compare(op: CompareOp, a: Complex<$f>, b: Complex<$f>) -> bool {
                // numpy orders complex numbers lexicographically; any NaN part
                // makes every comparison but `not_equal` false (numpy's CLT,
                // CLE, CGT, CGE macros).
                use CompareOp::*;
                let (ar, ai, br, bi) = (a.re, a.im, b.re, b.im);
                let ordered = !ai.is_nan() && !bi.is_nan();
                match op {
                    Less => (ar < br && ordered) || (ar == br && ai < bi),
                    LessEqual => (ar < br && ordered) || (ar == br && ai <= bi),
                    Greater => (ar > br && ordered) || (ar == br && ai > bi),
                    GreaterEqual => (ar > br && ordered) || (ar == br && ai >= bi),
                    Equal => ar == br && ai == bi,
                    NotEqual => ar != br || ai != bi,
                }
            }

            fn fast_unary<L: UnaryLoop<Complex<$f>, Complex<$f>>>(op: UnaryOp, l: L) -> std::result::Result<L::Output, L> {
                Ok(match op {
                    UnaryOp::Negative => l.run(|z: Complex<$f>| -z),
                    UnaryOp::Conjugate => l.run(|z: Complex<$f>| z.conj()),
                    _ => return Err(l),
                })
            }

            fn fast_binary<L: BinaryLoop<Complex<$f>, Complex<$f>>>(op: BinaryOp, l: L) -> std::result::Result<L::Output, L> {
                Ok(match op {
                    BinaryOp::Add => l.run(|a: Complex<$f>, b: Complex<$f>| a + b),
                    BinaryOp::Subtract => l.run(|a: Complex<$f>, b: Complex<$f>| a - b),
                    _ => return Err(l),
                })
            }
        }
    )*};
}
complex_scalar!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_edge_cases() {
        assert_eq!(i8::binary(BinaryOp::FloorDivide, -128, -1).unwrap(), -128);
        assert_eq!(i8::binary(BinaryOp::FloorDivide, -7, 2).unwrap(), -4);
        assert_eq!(i8::binary(BinaryOp::Remainder, -7, 2).unwrap(), 1);
        assert_eq!(i8::binary(BinaryOp::Remainder, 7, -2).unwrap(), -1);
        assert_eq!(i8::binary(BinaryOp::Fmod, -7, 2).unwrap(), -1);
        assert_eq!(i8::binary(BinaryOp::LeftShift, 3, 8).unwrap(), 0);
        assert_eq!(i8::binary(BinaryOp::RightShift, -128, 100).unwrap(), -1);
        assert_eq!(u8::binary(BinaryOp::LeftShift, 200, 1).unwrap(), 144);
        assert_eq!(i8::binary(BinaryOp::Power, 3, 5).unwrap(), -13);
        assert!(i32::binary(BinaryOp::Power, 2, -1).is_err());
        assert!(i32::binary(BinaryOp::LeftShift, 2, -1).is_err());
        assert!(u8::binary(BinaryOp::FloorDivide, 2, 0).is_err());
        assert_eq!(f64::binary(BinaryOp::FloorDivide, 5.0, f64::NEG_INFINITY).unwrap(), -1.0);
        assert_eq!(f64::binary(BinaryOp::Remainder, 5.0, f64::NEG_INFINITY).unwrap(), f64::NEG_INFINITY);
        assert_eq!(f64::binary(BinaryOp::FloorDivide, -7.5, 2.0).unwrap(), -4.0);
        assert_eq!(f64::binary(BinaryOp::Remainder, -7.5, 2.0).unwrap(), 0.5);
        assert_eq!(f64::binary(BinaryOp::FloorDivide, 1.0, 0.0).unwrap(), f64::INFINITY);
        assert!(f64::binary(BinaryOp::Remainder, 1.0, 0.0).unwrap().is_nan());
        assert_eq!(f64::unary(UnaryOp::Rint, 2.5).unwrap(), 2.0);
        assert!(f64::unary(UnaryOp::Sign, f64::NAN).unwrap().is_nan());
        let c = |re, im| Complex::new(re, im);
        assert_eq!(
            Complex::<f64>::binary(BinaryOp::TrueDivide, c(1.0, 1.0), c(0.0, 0.0)).unwrap(),
            c(f64::INFINITY, f64::INFINITY)
        );
        assert_eq!(Complex::<f64>::binary(BinaryOp::Power, c(1.0, 1.0), c(3.0, 0.0)).unwrap(), c(-2.0, 2.0));
        assert!(Complex::<f64>::compare(CompareOp::Less, c(1.0, 2.0), c(2.0, 0.0)));
        assert!(!Complex::<f64>::compare(CompareOp::Less, c(f64::NAN, 0.0), c(1.0, 0.0)));
    }
}
