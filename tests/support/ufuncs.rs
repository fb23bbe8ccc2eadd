//! The ufunc suite shared by `tests/ufuncs.rs` (thread engines) and
//! `tests/mpi_ufuncs.rs` (mpirun): every function of `distarray::functions`
//! for every element type where numpy defines it, checked against a model of
//! numpy's semantics written here (i128 arithmetic for integers, float
//! formulas, `num_complex`), not against the library's scalar code; numpy's
//! edge cases as constants taken from numpy 2; `_into` and `_inplace` forms;
//! operators; every map type 1-D to 3-D; mismatched arrays.

#![allow(dead_code)] // each test binary uses part of it

use std::panic::{catch_unwind, AssertUnwindSafe};

use distarray::functions as F;
use distarray::prelude::*;
use distarray::{Bitwise, Complex, Number, Real, Ufunc};
use ndarray::{ArrayD, IxDyn, Zip};

type C32 = Complex<f32>;
type C64 = Complex<f64>;

// ---------------------------------------------------------------------------
// Comparing results.

/// Equality for results: exact for integers and bools, relative tolerance for
/// floats (NaN equals NaN).
pub trait Close: Element {
    fn close(a: Self, b: Self) -> bool;
}

macro_rules! exact_close {
    ($($t:ty),*) => {$( impl Close for $t { fn close(a: Self, b: Self) -> bool { a == b } } )*};
}
exact_close!(bool, i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_close {
    ($($t:ty => $tol:expr),*) => {$(
        impl Close for $t {
            fn close(a: Self, b: Self) -> bool {
                (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= $tol * a.abs().max(b.abs()).max(1.0)
            }
        }
        impl Close for Complex<$t> {
            fn close(a: Self, b: Self) -> bool {
                let nan = |z: Complex<$t>| z.re.is_nan() || z.im.is_nan();
                (nan(a) && nan(b)) || (<$t>::close(a.re, b.re) && <$t>::close(a.im, b.im))
            }
        }
    )*};
}
float_close!(f32 => 1e-5, f64 => 1e-12);

/// The message of the panic that `f` raises, without printing it.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match outcome {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload.downcast_ref::<String>().cloned().unwrap_or_default(),
    }
}

#[track_caller]
fn assert_close<O: Close>(what: &str, got: &ArrayD<O>, expected: &ArrayD<O>) {
    assert_eq!(got.shape(), expected.shape(), "{what}: shape");
    for ((i, g), e) in got.indexed_iter().zip(expected.iter()) {
        assert!(O::close(*g, *e), "{what}: at {i:?} got {g:?}, numpy gives {e:?}");
    }
}

#[track_caller]
fn check<O: Close>(what: &str, got: Result<DistArray<O>>, expected: &ArrayD<O>) {
    let got = got.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_close(what, &got.toarray().expect("toarray"), expected);
}

fn map1<T: Element, O: Element>(x: &ArrayD<T>, f: impl Fn(T) -> O) -> ArrayD<O> {
    x.mapv(f)
}

fn map2<T: Element, O: Element>(x: &ArrayD<T>, y: &ArrayD<T>, f: impl Fn(T, T) -> O) -> ArrayD<O> {
    Zip::from(x).and(y).map_collect(|&a, &b| f(a, b))
}

// ---------------------------------------------------------------------------
// The model of numpy's semantics.

/// Sample values: small, exactly representable (quarters for floats), with one
/// NaN among floats.
pub trait Sample: Element {
    fn sample(i: usize, salt: usize) -> Self;
    /// A value that is not zero (divisors).
    fn nonzero(i: usize, salt: usize) -> Self;
    /// A small non-negative exponent or shift count (up to the bit width + 2
    /// for integers).
    fn count(i: usize) -> Self;
}

/// numpy's result for every ufunc numpy defines on all types.
pub trait Model:
    Ufunc<Float: FloatModel + Close, Promoted: Close, Quotient: Close, Magnitude: Close> + Sample + Close
{
    fn add(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn abs(a: Self) -> Self::Magnitude;
    fn conj(a: Self) -> Self::Promoted;
    fn recip(a: Self) -> Self::Promoted;
    fn square(a: Self) -> Self::Promoted;
    fn power(a: Self, b: Self) -> Self::Promoted;
    fn float(a: Self) -> Self::Float;
    fn quotient(a: Self, b: Self) -> Self::Quotient;
    /// `a < b` in numpy's order (lexicographic for complex numbers).
    fn before(a: Self, b: Self) -> bool;
    fn same(a: Self, b: Self) -> bool;
}

/// numpy's results for the ufuncs of [`Number`] types.
pub trait NumberModel: Model + Number {
    fn sub(a: Self, b: Self) -> Self;
    fn neg(a: Self) -> Self;
    fn sign(a: Self) -> Self;
}

/// numpy's results for the ufuncs of [`Real`] types.
pub trait RealModel: Model + Real {
    fn floor_div(a: Self, b: Self) -> Self::Promoted;
    fn rem(a: Self, b: Self) -> Self::Promoted;
    fn fmod(a: Self, b: Self) -> Self::Promoted;
}

/// numpy's results for the ufuncs of [`Bitwise`] types.
pub trait BitModel: Model + Bitwise {
    fn and(a: Self, b: Self) -> Self;
    fn or(a: Self, b: Self) -> Self;
    fn xor(a: Self, b: Self) -> Self;
    fn not(a: Self) -> Self;
    fn shl(a: Self, b: Self) -> Self::Promoted;
    fn shr(a: Self, b: Self) -> Self::Promoted;
}

/// The float functions, in a float or complex type.
pub trait FloatModel: Close {
    fn apply(name: &str, x: Self) -> Self;
    fn atan2(a: Self, b: Self) -> Self;
    fn hypot(a: Self, b: Self) -> Self;
}

macro_rules! real_float_model {
    ($($t:ty),*) => {$(
        impl FloatModel for $t {
            fn apply(name: &str, x: $t) -> $t {
                match name {
                    "arccos" => x.acos(),
                    "arccosh" => x.acosh(),
                    "arcsin" => x.asin(),
                    "arcsinh" => x.asinh(),
                    "arctan" => x.atan(),
                    "arctanh" => x.atanh(),
                    "cos" => x.cos(),
                    "cosh" => x.cosh(),
                    "exp" => x.exp(),
                    "expm1" => x.exp_m1(),
                    "log" => x.ln(),
                    "log10" => x.log10(),
                    "log1p" => x.ln_1p(),
                    // Halves to even, written without round_ties_even.
                    "rint" => if (x - x.trunc()).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { x.round() },
                    "sin" => x.sin(),
                    "sinh" => x.sinh(),
                    "sqrt" => x.sqrt(),
                    "tan" => x.tan(),
                    "tanh" => x.tanh(),
                    other => panic!("no model for {other}"),
                }
            }
            fn atan2(a: $t, b: $t) -> $t { a.atan2(b) }
            fn hypot(a: $t, b: $t) -> $t { (a * a + b * b).sqrt() }
        }
    )*};
}
real_float_model!(f32, f64);

macro_rules! complex_float_model {
    ($($f:ty),*) => {$(
        impl FloatModel for Complex<$f> {
            fn apply(name: &str, z: Complex<$f>) -> Complex<$f> {
                let one = Complex::new(1.0, 0.0);
                match name {
                    "arccos" => z.acos(),
                    "arccosh" => z.acosh(),
                    "arcsin" => z.asin(),
                    "arcsinh" => z.asinh(),
                    "arctan" => z.atan(),
                    "arctanh" => z.atanh(),
                    "cos" => z.cos(),
                    "cosh" => z.cosh(),
                    "exp" => z.exp(),
                    "expm1" => z.exp() - one,
                    "log" => z.ln(),
                    "log10" => z.ln() / (10.0 as $f).ln(),
                    "log1p" => (z + one).ln(),
                    "rint" => Complex::new(<$f>::apply("rint", z.re), <$f>::apply("rint", z.im)),
                    "sin" => z.sin(),
                    "sinh" => z.sinh(),
                    "sqrt" => z.sqrt(),
                    "tan" => z.tan(),
                    "tanh" => z.tanh(),
                    other => panic!("no model for {other}"),
                }
            }
            fn atan2(_: Self, _: Self) -> Self { unreachable!("arctan2 of complex numbers") }
            fn hypot(_: Self, _: Self) -> Self { unreachable!("hypot of complex numbers") }
        }
    )*};
}
complex_float_model!(f32, f64);

macro_rules! int_model {
    ($($t:ident => $float:ty),*) => {$(
        impl Sample for $t {
            fn sample(i: usize, salt: usize) -> $t {
                let v = ((i * 7 + salt * 5) % 19) as i128;
                #[allow(unused_comparisons)]
                let signed = <$t>::MIN < 0;
                (if signed { v - 9 } else { v }) as $t
            }
            fn nonzero(i: usize, salt: usize) -> $t {
                match Self::sample(i, salt) { 0 => 3, v => v }
            }
            fn count(i: usize) -> $t {
                (i % (<$t>::BITS as usize + 3)) as $t
            }
        }
        impl Model for $t {
            fn add(a: $t, b: $t) -> $t { (a as i128 + b as i128) as $t }
            fn mul(a: $t, b: $t) -> $t { (a as i128 * b as i128) as $t }
            fn abs(a: $t) -> $t { (a as i128).unsigned_abs() as $t }
            fn conj(a: $t) -> $t { a }
            fn recip(a: $t) -> $t { (1 / a as i128) as $t }
            fn square(a: $t) -> $t { (a as i128 * a as i128) as $t }
            fn power(a: $t, b: $t) -> $t { (a as i128).wrapping_pow(b as u32) as $t }
            fn float(a: $t) -> $float { a as $float }
            fn quotient(a: $t, b: $t) -> f64 { a as f64 / b as f64 }
            fn before(a: $t, b: $t) -> bool { a < b }
            fn same(a: $t, b: $t) -> bool { a == b }
        }
        impl NumberModel for $t {
            fn sub(a: $t, b: $t) -> $t { (a as i128 - b as i128) as $t }
            fn neg(a: $t) -> $t { (-(a as i128)) as $t }
            fn sign(a: $t) -> $t { (a as i128).signum() as $t }
        }
        impl RealModel for $t {
            fn floor_div(a: $t, b: $t) -> $t { (a as f64 / b as f64).floor() as i128 as $t }
            fn rem(a: $t, b: $t) -> $t {
                let q = (a as f64 / b as f64).floor() as i128;
                (a as i128 - q * b as i128) as $t
            }
            fn fmod(a: $t, b: $t) -> $t { (a as i128 % b as i128) as $t }
        }
        impl BitModel for $t {
            fn and(a: $t, b: $t) -> $t { a & b }
            fn or(a: $t, b: $t) -> $t { a | b }
            fn xor(a: $t, b: $t) -> $t { a ^ b }
            fn not(a: $t) -> $t { !a }
            fn shl(a: $t, b: $t) -> $t {
                if b as i128 >= <$t>::BITS as i128 { 0 } else { ((a as i128) << b as u32) as $t }
            }
            fn shr(a: $t, b: $t) -> $t {
                if b as i128 >= <$t>::BITS as i128 { if (a as i128) < 0 { -1i128 as $t } else { 0 } } else { ((a as i128) >> b as u32) as $t }
            }
        }
    )*};
}
int_model!(i8 => f32, i16 => f32, i32 => f64, i64 => f64, u8 => f32, u16 => f32, u32 => f64, u64 => f64);

macro_rules! float_model {
    ($($t:ident),*) => {$(
        impl Sample for $t {
            fn sample(i: usize, salt: usize) -> $t {
                if (i + salt) % 13 == 6 { <$t>::NAN } else { ((i * 7 + salt * 5) % 23) as $t * 0.25 - 2.75 }
            }
            fn nonzero(i: usize, salt: usize) -> $t {
                match Self::sample(i, salt) { v if v == 0.0 => 1.5, v => v }
            }
            fn count(i: usize) -> $t { (i % 4) as $t * 0.5 }
        }
        impl Model for $t {
            fn add(a: $t, b: $t) -> $t { a + b }
            fn mul(a: $t, b: $t) -> $t { a * b }
            fn abs(a: $t) -> $t { a.abs() }
            fn conj(a: $t) -> $t { a }
            fn recip(a: $t) -> $t { 1.0 / a }
            fn square(a: $t) -> $t { a * a }
            fn power(a: $t, b: $t) -> $t { a.powf(b) }
            fn float(a: $t) -> $t { a }
            fn quotient(a: $t, b: $t) -> $t { a / b }
            fn before(a: $t, b: $t) -> bool { a < b }
            fn same(a: $t, b: $t) -> bool { a == b }
        }
        impl NumberModel for $t {
            fn sub(a: $t, b: $t) -> $t { a - b }
            fn neg(a: $t) -> $t { -a }
            fn sign(a: $t) -> $t { if a.is_nan() { a } else if a == 0.0 { 0.0 } else { a.signum() } }
        }
        impl RealModel for $t {
            fn floor_div(a: $t, b: $t) -> $t { (a / b).floor() }
            fn rem(a: $t, b: $t) -> $t { a - b * (a / b).floor() }
            fn fmod(a: $t, b: $t) -> $t { a - b * (a / b).trunc() }
        }
    )*};
}
float_model!(f32, f64);

macro_rules! complex_model {
    ($($f:ident),*) => {$(
        impl Sample for Complex<$f> {
            fn sample(i: usize, salt: usize) -> Self {
                Complex::new(((i * 7 + salt) % 11) as $f * 0.25 - 1.25, ((i * 3 + salt * 2) % 7) as $f * 0.5 - 1.5)
            }
            fn nonzero(i: usize, salt: usize) -> Self {
                match Self::sample(i, salt) { z if z == Complex::new(0.0, 0.0) => Complex::new(0.5, -1.0), z => z }
            }
            fn count(i: usize) -> Self { Complex::new((i % 4) as $f, 0.0) }
        }
        impl Model for Complex<$f> {
            fn add(a: Self, b: Self) -> Self { a + b }
            fn mul(a: Self, b: Self) -> Self { a * b }
            fn abs(a: Self) -> $f { (a.re * a.re + a.im * a.im).sqrt() }
            fn conj(a: Self) -> Self { Complex::new(a.re, -a.im) }
            fn recip(a: Self) -> Self { Complex::new(1.0, 0.0) / a }
            fn square(a: Self) -> Self { a * a }
            fn power(a: Self, b: Self) -> Self { a.powi(b.re as i32) }
            fn float(a: Self) -> Self { a }
            fn quotient(a: Self, b: Self) -> Self { a / b }
            fn before(a: Self, b: Self) -> bool { (a.re, a.im) < (b.re, b.im) }
            fn same(a: Self, b: Self) -> bool { a == b }
        }
        impl NumberModel for Complex<$f> {
            fn sub(a: Self, b: Self) -> Self { a - b }
            fn neg(a: Self) -> Self { -a }
            fn sign(a: Self) -> Self { if a.norm() == 0.0 { a } else { a / a.norm() } }
        }
    )*};
}
complex_model!(f32, f64);

impl Sample for bool {
    fn sample(i: usize, salt: usize) -> bool {
        (i * 7 + salt * 5).is_multiple_of(3)
    }
    fn nonzero(_: usize, _: usize) -> bool {
        true
    }
    fn count(i: usize) -> bool {
        i % 2 == 1
    }
}

impl Model for bool {
    fn add(a: bool, b: bool) -> bool {
        a || b
    }
    fn mul(a: bool, b: bool) -> bool {
        a && b
    }
    fn abs(a: bool) -> bool {
        a
    }
    fn conj(a: bool) -> i8 {
        i8::from(a)
    }
    fn recip(a: bool) -> i8 {
        1 / i8::from(a)
    }
    fn square(a: bool) -> i8 {
        i8::from(a)
    }
    fn power(a: bool, b: bool) -> i8 {
        if b {
            i8::from(a)
        } else {
            1
        }
    }
    fn float(a: bool) -> f32 {
        f32::from(u8::from(a))
    }
    fn quotient(a: bool, b: bool) -> f64 {
        f64::from(u8::from(a)) / f64::from(u8::from(b))
    }
    fn before(a: bool, b: bool) -> bool {
        !a && b
    }
    fn same(a: bool, b: bool) -> bool {
        a == b
    }
}

impl RealModel for bool {
    fn floor_div(a: bool, _: bool) -> i8 {
        i8::from(a)
    }
    fn rem(_: bool, _: bool) -> i8 {
        0
    }
    fn fmod(_: bool, _: bool) -> i8 {
        0
    }
}

impl BitModel for bool {
    fn and(a: bool, b: bool) -> bool {
        a && b
    }
    fn or(a: bool, b: bool) -> bool {
        a || b
    }
    fn xor(a: bool, b: bool) -> bool {
        a != b
    }
    fn not(a: bool) -> bool {
        !a
    }
    fn shl(a: bool, b: bool) -> i8 {
        i8::from(a) << i8::from(b)
    }
    fn shr(a: bool, b: bool) -> i8 {
        i8::from(a) >> i8::from(b)
    }
}

// ---------------------------------------------------------------------------
// Operands on a distribution.

/// Two arrays on one distribution, their gathered values and a scalar.
pub struct Pair<T: Element> {
    pub x: DistArray<T>,
    pub y: DistArray<T>,
    pub xa: ArrayD<T>,
    pub ya: ArrayD<T>,
    pub s: T,
    pub what: String,
}

fn values<T: Element>(shape: &[usize], f: impl Fn(usize) -> T) -> ArrayD<T> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).expect("shape")
}

impl<T: Sample> Pair<T> {
    /// `x` of samples and `y` made by `second` (sample, nonzero or count).
    pub fn new(ctx: &Context, d: &Distribution, second: impl Fn(usize) -> T, s: T) -> Self {
        let xa = values(d.shape(), |i| T::sample(i, 1));
        let ya = values(d.shape(), second);
        let x = ctx.fromarray(&xa, Some(d)).expect("fromarray");
        let y = ctx.fromarray(&ya, Some(d)).expect("fromarray");
        Pair { x, y, xa, ya, s, what: format!("{} on {d}", T::DTYPE) }
    }

    fn name(&self, f: &str) -> String {
        format!("{f} of {}", self.what)
    }
}

/// Checks a binary ufunc on two arrays, array-scalar and scalar-array, and
/// its `_into` form.
macro_rules! check_binary {
    ($ops:expr, $name:ident, $into:ident, $model:expr) => {{
        let o = &$ops;
        let model = $model;
        let what = o.name(stringify!($name));
        let expected = map2(&o.xa, &o.ya, &model);
        check(&what, F::$name(&o.x, &o.y), &expected);
        check(&format!("{what} (array, scalar)"), F::$name(&o.x, o.s), &map1(&o.xa, |a| model(a, o.s)));
        check(&format!("{what} (scalar, array)"), F::$name(o.s, &o.y), &map1(&o.ya, |b| model(o.s, b)));
        let mut out = o.x.context().zeros(o.x.distribution()).expect("zeros");
        F::$into(&o.x, &o.y, &mut out).unwrap_or_else(|e| panic!("{what} into: {e}"));
        assert_close(&format!("{what} into"), &out.toarray().expect("toarray"), &expected);
    }};
}

/// Checks a unary ufunc and its `_into` form.
macro_rules! check_unary {
    ($ops:expr, $x:ident, $xa:ident, $name:ident, $into:ident, $model:expr) => {{
        let o = &$ops;
        let what = o.name(stringify!($name));
        let expected = map1(&o.$xa, $model);
        check(&what, F::$name(&o.$x), &expected);
        let mut out = o.x.context().zeros(o.x.distribution()).expect("zeros");
        F::$into(&o.$x, &mut out).unwrap_or_else(|e| panic!("{what} into: {e}"));
        assert_close(&format!("{what} into"), &out.toarray().expect("toarray"), &expected);
    }};
}

/// The float functions: each against the model of its float type.
macro_rules! check_float_functions {
    ($ops:expr, $($name:ident / $into:ident),*) => {$(
        check_unary!($ops, x, xa, $name, $into, |v| FloatModel::apply(stringify!($name), Model::float(v)));
    )*};
}

/// Every ufunc numpy defines for all element types.
pub fn check_common<T: Model>(ctx: &Context, d: &Distribution) {
    let o = Pair::<T>::new(ctx, d, |i| T::sample(i, 2), T::sample(3, 3));
    check_binary!(o, add, add_into, T::add);
    check_binary!(o, multiply, multiply_into, T::mul);
    check_binary!(o, less, less_into, T::before);
    check_binary!(o, less_equal, less_equal_into, |a, b| T::before(a, b) || T::same(a, b));
    check_binary!(o, equal, equal_into, T::same);
    check_binary!(o, not_equal, not_equal_into, |a, b| !T::same(a, b));
    check_binary!(o, greater, greater_into, |a, b| T::before(b, a));
    check_binary!(o, greater_equal, greater_equal_into, |a, b| T::before(b, a) || T::same(a, b));
    check_unary!(o, x, xa, absolute, absolute_into, T::abs);
    check_unary!(o, x, xa, conjugate, conjugate_into, T::conj);
    check_unary!(o, x, xa, square, square_into, T::square);
    check_float_functions!(
        o,
        arccos / arccos_into,
        arccosh / arccosh_into,
        arcsin / arcsin_into,
        arcsinh / arcsinh_into,
        arctan / arctan_into,
        arctanh / arctanh_into,
        cos / cos_into,
        cosh / cosh_into,
        exp / exp_into,
        expm1 / expm1_into,
        log / log_into,
        log10 / log10_into,
        log1p / log1p_into,
        rint / rint_into,
        sin / sin_into,
        sinh / sinh_into,
        sqrt / sqrt_into,
        tan / tan_into,
        tanh / tanh_into
    );

    let o = Pair::<T>::new(ctx, d, |i| T::nonzero(i, 2), T::nonzero(5, 3));
    check_binary!(o, true_divide, true_divide_into, T::quotient);
    check_binary!(o, divide, divide_into, T::quotient);
    check_unary!(o, y, ya, reciprocal, reciprocal_into, T::recip);

    let o = Pair::<T>::new(ctx, d, T::count, T::count(2));
    let what = o.name("power");
    check(&what, F::power(&o.x, &o.y), &map2(&o.xa, &o.ya, T::power));
    check(&what, F::power(&o.x, o.s), &map1(&o.xa, |a| T::power(a, o.s)));
}

/// The ufuncs of [`Number`] types.
pub fn check_number<T: NumberModel>(ctx: &Context, d: &Distribution) {
    let o = Pair::<T>::new(ctx, d, |i| T::sample(i, 2), T::sample(4, 3));
    check_binary!(o, subtract, subtract_into, T::sub);
    check_unary!(o, x, xa, negative, negative_into, T::neg);
    check_unary!(o, x, xa, sign, sign_into, T::sign);
}

/// The ufuncs of [`Real`] types.
pub fn check_real<T: RealModel>(ctx: &Context, d: &Distribution)
where
    T::Float: FloatModel,
{
    let o = Pair::<T>::new(ctx, d, |i| T::nonzero(i, 2), T::nonzero(6, 3));
    check_binary!(o, floor_divide, floor_divide_into, T::floor_div);
    check_binary!(o, remainder, remainder_into, T::rem);
    check_binary!(o, r#mod, mod_into, T::rem);
    check_binary!(o, fmod, fmod_into, T::fmod);
    check_binary!(o, arctan2, arctan2_into, |a, b| FloatModel::atan2(T::float(a), T::float(b)));
    check_binary!(o, hypot, hypot_into, |a, b| FloatModel::hypot(T::float(a), T::float(b)));
}

/// The ufuncs of [`Bitwise`] types.
pub fn check_bitwise<T: BitModel>(ctx: &Context, d: &Distribution) {
    let o = Pair::<T>::new(ctx, d, |i| T::sample(i, 2), T::sample(7, 3));
    check_binary!(o, bitwise_and, bitwise_and_into, T::and);
    check_binary!(o, bitwise_or, bitwise_or_into, T::or);
    check_binary!(o, bitwise_xor, bitwise_xor_into, T::xor);
    check_unary!(o, x, xa, invert, invert_into, T::not);
    let o = Pair::<T>::new(ctx, d, T::count, T::count(5));
    check_binary!(o, left_shift, left_shift_into, T::shl);
    check_binary!(o, right_shift, right_shift_into, T::shr);
}

/// Every function for every element type where numpy defines it, on two
/// layouts (1-D block, 2-D cyclic x block). Returns the number of layouts.
pub fn check_every_function(ctx: &Context) -> usize {
    let layouts = [
        Distribution::builder(ctx, &[7]).dist("b").build().expect("distribution"),
        Distribution::builder(ctx, &[3, 5]).dist("cb").build().expect("distribution"),
    ];
    for d in &layouts {
        check_common::<bool>(ctx, d);
        check_real::<bool>(ctx, d);
        check_bitwise::<bool>(ctx, d);
        macro_rules! ints {
            ($($t:ty),*) => {$(
                check_common::<$t>(ctx, d);
                check_number::<$t>(ctx, d);
                check_real::<$t>(ctx, d);
                check_bitwise::<$t>(ctx, d);
            )*};
        }
        ints!(i8, i16, i32, i64, u8, u16, u32, u64);
        check_common::<f32>(ctx, d);
        check_number::<f32>(ctx, d);
        check_real::<f32>(ctx, d);
        check_common::<f64>(ctx, d);
        check_number::<f64>(ctx, d);
        check_real::<f64>(ctx, d);
        check_common::<C32>(ctx, d);
        check_number::<C32>(ctx, d);
        check_common::<C64>(ctx, d);
        check_number::<C64>(ctx, d);
    }
    layouts.len()
}

// ---------------------------------------------------------------------------
// Every map type, 1-D to 3-D, for a representative subset.

/// `add`, `floor_divide`, `sin`, `less` and the in-place and `_into` forms on
/// every combination of 'b', 'c', 'n', 'u' and block-cyclic(2) over uneven
/// shapes of 1 to 3 axes. Returns the number of layouts checked.
pub fn check_every_layout(ctx: &Context) -> usize {
    let choices = [Dist::Block, Dist::CYCLIC, Dist::BlockCyclic { block_size: 2 }, Dist::NoDist, Dist::Unstructured];
    let mut layouts = 0;
    for shape in [&[10][..], &[5, 3], &[3, 2, 5]] {
        let mut combos: Vec<Vec<Dist>> = vec![vec![]];
        for _ in 0..shape.len() {
            combos =
                combos.into_iter().flat_map(|c| choices.iter().map(move |&d| [c.clone(), vec![d]].concat())).collect();
        }
        for dists in combos {
            let Ok(d) = Distribution::builder(ctx, shape).dists(&dists).build() else {
                continue; // every axis 'n' on several engines: no grid
            };
            layouts += 1;
            let o = Pair::<i32>::new(ctx, &d, |i| i32::nonzero(i, 4), 3);
            check(&o.name("add"), F::add(&o.x, &o.y), &map2(&o.xa, &o.ya, i32::add));
            check(&o.name("floor_divide"), F::floor_divide(&o.x, &o.y), &map2(&o.xa, &o.ya, i32::floor_div));
            let mut z = o.x.context().zeros::<bool>(&d).expect("zeros");
            F::less_into(&o.x, &o.y, &mut z).expect("less_into");
            assert_close(&o.name("less_into"), &z.toarray().expect("toarray"), &map2(&o.xa, &o.ya, i32::before));
            let f = Pair::<f64>::new(ctx, &d, |i| f64::sample(i, 4), 0.5);
            check(&f.name("sin"), F::sin(&f.x), &map1(&f.xa, f64::sin));
            let mut x = f.x;
            F::multiply_inplace(&mut x, &f.y).expect("multiply_inplace");
            F::add_inplace(&mut x, 0.5).expect("add_inplace");
            assert_close(&f.what, &x.toarray().expect("toarray"), &map2(&f.xa, &f.ya, |a, b| a * b + 0.5));
        }
    }
    layouts
}

// ---------------------------------------------------------------------------
// numpy's edge cases, as numpy 2 computes them.

fn arr<T: Element>(ctx: &Context, v: &[T]) -> DistArray<T> {
    ctx.fromarray(&ndarray::Array1::from(v.to_vec()), None).expect("fromarray")
}

fn got<T: Element>(r: Result<DistArray<T>>) -> Vec<T> {
    r.expect("ufunc").toarray().expect("toarray").iter().copied().collect()
}

/// Floor division, remainder and fmod with negative operands, shifts past the
/// bit width, wrapping, NaN comparisons, float division by zero.
pub fn check_edge_cases(ctx: &Context) {
    let a = arr(ctx, &[-128i8, 7, -7, 7, -7]);
    let b = arr(ctx, &[-1i8, 2, 2, -2, -2]);
    assert_eq!(got(F::floor_divide(&a, &b)), [-128, 3, -4, -4, 3]);
    assert_eq!(got(F::remainder(&a, &b)), [0, 1, 1, -1, -1]);
    assert_eq!(got(F::fmod(&a, &b)), [0, 1, -1, 1, -1]);
    assert_eq!(got(F::absolute(&arr(ctx, &[-128i8, -3, 4]))), [-128, 3, 4]);
    assert_eq!(got(F::negative(&arr(ctx, &[1u8, 0]))), [255, 0]);
    assert_eq!(got(F::power(&arr(ctx, &[2i8, 3, -2, 0]), &arr(ctx, &[7i8, 5, 7, 0]))), [-128, -13, -128, 1]);
    assert_eq!(got(F::reciprocal(&arr(ctx, &[-3i32, -2, -1, 1, 2, 3]))), [0, 0, -1, 1, 0, 0]);

    // Shifts by the bit width or more, and of negative values.
    assert_eq!(got(F::left_shift(&arr(ctx, &[1i8, -1, 3, 1]), &arr(ctx, &[7i8, 7, 8, 100]))), [-128, -128, 0, 0]);
    assert_eq!(got(F::left_shift(&arr(ctx, &[1u8, 200]), &arr(ctx, &[9u8, 1]))), [0, 144]);
    assert_eq!(got(F::right_shift(&arr(ctx, &[-128i8, -1, 127, 64]), &arr(ctx, &[8i8, 100, 8, 6]))), [-1, -1, 0, 1]);
    assert_eq!(got(F::right_shift(&arr(ctx, &[-1i64, i64::MIN]), 64)), [-1, -1]);

    // Floats: numpy's divmod, including infinities and zeros.
    let fa = arr(ctx, &[-1.0f64, 1.0, 0.0, -0.0, 5.0, f64::INFINITY, -7.5, 7.5]);
    let fb = arr(ctx, &[f64::INFINITY, 0.0, 0.0, 3.0, f64::NEG_INFINITY, 2.0, 2.0, -0.0]);
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let matches_np = |g: Vec<f64>, e: &[f64]| {
        g.len() == e.len()
            && g.iter()
                .zip(e)
                .all(|(x, y)| f64::close(*x, *y) && (x.is_sign_negative() == y.is_sign_negative() || x.is_nan()))
    };
    let fd = got(F::floor_divide(&fa, &fb));
    assert!(matches_np(fd.clone(), &[-1.0, inf, nan, -0.0, -1.0, nan, -4.0, -inf]), "floor_divide {fd:?}");
    let rem = got(F::remainder(&fa, &fb));
    assert!(matches_np(rem.clone(), &[inf, nan, nan, 0.0, -inf, nan, 0.5, nan]), "remainder {rem:?}");
    let fm = got(F::fmod(&fa, &fb));
    assert!(matches_np(fm.clone(), &[-1.0, nan, nan, -0.0, 5.0, nan, -1.5, nan]), "fmod {fm:?}");
    let q = got(F::true_divide(&arr(ctx, &[1i32, -1, 0]), 0));
    assert!(q[0] == inf && q[1] == -inf && q[2].is_nan(), "true_divide by 0 {q:?}");
    assert!(matches_np(got(F::rint(&arr(ctx, &[0.5f64, 1.5, 2.5, -0.5, -1.5]))), &[0.0, 2.0, 2.0, -0.0, -2.0]));
    let s = got(F::sign(&arr(ctx, &[-0.0f64, 0.0, nan, -inf])));
    assert!(s[0] == 0.0 && s[1] == 0.0 && s[2].is_nan() && s[3] == -1.0, "sign {s:?}");

    // NaN in comparisons: false except not_equal.
    let n = arr(ctx, &[nan, 1.0, nan]);
    let m = arr(ctx, &[1.0, nan, nan]);
    for (name, r) in [
        ("less", F::less(&n, &m)),
        ("less_equal", F::less_equal(&n, &m)),
        ("equal", F::equal(&n, &m)),
        ("greater", F::greater(&n, &m)),
        ("greater_equal", F::greater_equal(&n, &m)),
    ] {
        assert_eq!(got(r), [false; 3], "{name} with NaN");
    }
    assert_eq!(got(F::not_equal(&n, &m)), [true; 3]);

    // Complex numbers: magnitude as a real array, numpy 2's sign, lexicographic order.
    let c = arr(ctx, &[C64::new(3.0, 4.0), C64::new(1.0, 2.0), C64::new(nan, 0.0)]);
    let r: Vec<f64> = got(F::absolute(&c));
    assert!(r[0] == 5.0 && r[2].is_nan());
    assert_eq!(
        got(F::less(&c, &arr(ctx, &[C64::new(3.0, 5.0), C64::new(2.0, 0.0), C64::new(1.0, 0.0)]))),
        [true, true, false]
    );
    let sg = got(F::sign(&arr(ctx, &[C64::new(1.0, 1.0), C64::new(0.0, 0.0), C64::new(f64::INFINITY, 1.0)])));
    assert!(
        C64::close(sg[0], C64::new(0.5f64.sqrt(), 0.5f64.sqrt()))
            && sg[1] == C64::new(0.0, 0.0)
            && sg[2] == C64::new(1.0, 0.0)
    );
    let cd = got(F::true_divide(&arr(ctx, &[C64::new(1.0, 1.0)]), C64::new(0.0, 0.0)));
    assert_eq!(cd, [C64::new(inf, inf)]);
    assert_eq!(
        got(F::power(
            &arr(ctx, &[C64::new(1.0, 1.0), C64::new(0.0, 0.0)]),
            &arr(ctx, &[C64::new(3.0, 0.0), C64::new(0.0, 0.0)])
        )),
        [C64::new(-2.0, 2.0), C64::new(1.0, 0.0)]
    );

    // numpy's C99 Annex G complex functions (issue 13): branch cuts on signed
    // zeros, huge and tiny arguments, infinities, 0 to a complex power, NaN
    // parts in comparisons.
    let pio2 = std::f64::consts::FRAC_PI_2;
    let z = |v: &[C64]| arr(ctx, v);
    let near = |what: &str, g: Vec<C64>, e: &[C64]| {
        for (g, e) in g.iter().zip(e) {
            assert!(
                complex_ulps(*g, *e).is_some_and(|u| u <= COMPLEX_MAX_ULPS),
                "{what}: got {g:?}, numpy gives {e:?}"
            );
        }
    };
    let cuts = z(&[C64::new(2.0, 0.0), C64::new(2.0, -0.0)]);
    near("arccos", got(F::arccos(&cuts)), &[C64::new(0.0, -1.3169578969248166), C64::new(0.0, 1.3169578969248166)]);
    near("arcsin", got(F::arcsin(&cuts)), &[C64::new(pio2, 1.3169578969248166), C64::new(pio2, -1.3169578969248166)]);
    near("arctanh", got(F::arctanh(&cuts)), &[C64::new(0.5493061443340549, pio2), C64::new(0.5493061443340549, -pio2)]);
    near("arcsin", got(F::arcsin(&z(&[C64::new(1e10, 1e-10)]))), &[C64::new(pio2, 23.7189981105004)]);
    near("arcsinh", got(F::arcsinh(&z(&[C64::new(1e-300, 0.0)]))), &[C64::new(1e-300, 0.0)]);
    near("tanh", got(F::tanh(&z(&[C64::new(1e10, 1e-10)]))), &[C64::new(1.0, 0.0)]);
    near("square", got(F::square(&z(&[C64::new(1e300, 1e300)]))), &[C64::new(-inf, inf)]);
    near("sinh", got(F::sinh(&z(&[C64::new(inf, 0.0)]))), &[C64::new(inf, 0.0)]);
    near("arccosh", got(F::arccosh(&z(&[C64::new(inf, 1.0)]))), &[C64::new(inf, 0.0)]);
    near("arctan", got(F::arctan(&z(&[C64::new(0.0, inf)]))), &[C64::new(pio2, 0.0)]);
    near("tan", got(F::tan(&z(&[C64::new(1.0, inf)]))), &[C64::new(0.0, 1.0)]);
    near("sign", got(F::sign(&z(&[C64::new(inf, nan)]))), &[C64::new(1.0, 0.0)]);
    near("power", got(F::power(&z(&[C64::new(0.0, 0.0)]), C64::new(1.0, 1.0))), &[C64::new(0.0, 0.0)]);
    let (zero, nan_part) = (z(&[C64::new(0.0, 0.0)]), z(&[C64::new(1.0, nan)]));
    for (name, r) in [
        ("less", F::less(&zero, &nan_part)),
        ("less_equal", F::less_equal(&zero, &nan_part)),
        ("greater", F::greater(&nan_part, &zero)),
        ("greater_equal", F::greater_equal(&nan_part, &zero)),
        ("equal", F::equal(&nan_part, &nan_part)),
    ] {
        assert_eq!(got(r), [false], "{name} with a NaN imaginary part");
    }
    assert_eq!(got(F::not_equal(&nan_part, &nan_part)), [true]);

    // Empty and 0-d arrays.
    let empty = ctx.fromarray(&ndarray::Array2::<f64>::zeros((0, 3)), None).expect("fromarray");
    assert_eq!(got(F::add(&empty, &empty)).len(), 0);
    let zero_d = ctx.fromarray(&ndarray::arr0(0.25f64), None).expect("fromarray");
    assert_eq!(F::multiply(4.0, &zero_d).expect("0-d").toarray().expect("toarray"), ndarray::arr0(1.0).into_dyn());

    // Float functions of small integers and bools give f32, of wide ones f64.
    let small: DistArray<f32> = F::sqrt(&arr(ctx, &[4u16, 9])).expect("sqrt");
    assert_eq!(got(Ok(small)), [2.0, 3.0]);
    let wide: DistArray<f64> = F::sqrt(&arr(ctx, &[4i64, 9])).expect("sqrt");
    assert_eq!(got(Ok(wide)), [2.0, 3.0]);
    let b: DistArray<i8> = F::floor_divide(&arr(ctx, &[true, false]), true).expect("floor_divide of bools");
    assert_eq!(got(Ok(b)), [1, 0]);
}

// ---------------------------------------------------------------------------
// Complex functions against numpy itself.

/// The largest error, in units in the last place of each part, allowed
/// against numpy's complex results on edge inputs (numpy's are glibc's
/// functions on Linux, which round differently from the ported algorithms).
pub const COMPLEX_MAX_ULPS: u64 = 4;

/// The same on random ordinary inputs, where numpy itself is up to 5 ulps
/// from the exact result (glibc's `ctanf`, `catanf`, `ctanh`, ...).
pub const COMPLEX_RANDOM_MAX_ULPS: u64 = 8;

/// numpy's results on its grid of edge inputs (`tests/interop/complex_reference.py`),
/// or `None`, with a notice, when numpy cannot be imported.
fn complex_reference() -> Option<String> {
    let has_numpy =
        std::process::Command::new("python3").args(["-c", "import numpy"]).status().is_ok_and(|s| s.success());
    if !has_numpy {
        eprintln!(
            "NOTICE: numpy cannot be imported; skipping the complex reference checks (python3 -m pip install numpy)"
        );
        return None;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/complex_reference.py");
    let out = std::process::Command::new("python3").arg(script).output().expect("python3 runs");
    assert!(out.status.success(), "complex_reference.py: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).expect("ASCII output"))
}

/// The parts of a complex element type, compared in ulps.
trait Part: Copy + std::fmt::Debug {
    fn from_hex(word: &str) -> Self;
    /// The distance from numpy's `expected` in ulps; `None` where they must
    /// agree exactly and do not: NaN against a number, infinities, signs
    /// (of zeros too).
    fn ulps(got: Self, expected: Self) -> Option<u64>;
    fn is_nan(self) -> bool;
    fn is_zero(self) -> bool;
}

macro_rules! part {
    ($($f:ident => $bits:ident),*) => {$(
        impl Part for $f {
            fn from_hex(word: &str) -> $f {
                <$f>::from_bits($bits::from_str_radix(word, 16).expect("hex bits"))
            }
            fn ulps(got: $f, expected: $f) -> Option<u64> {
                if got.is_nan() || expected.is_nan() {
                    return (got.is_nan() && expected.is_nan()).then_some(0);
                }
                if got.is_infinite() || expected.is_infinite() {
                    return (got == expected).then_some(0);
                }
                if got.is_sign_negative() != expected.is_sign_negative() {
                    return None;
                }
                Some(got.abs().to_bits().abs_diff(expected.abs().to_bits()) as u64)
            }
            fn is_nan(self) -> bool { <$f>::is_nan(self) }
            fn is_zero(self) -> bool { self == 0.0 }
        }
    )*};
}
part!(f32 => u32, f64 => u64);

/// The error of `got` against numpy's `expected`, the larger of the parts'.
/// Annex G leaves the sign of a zero beside a NaN unspecified (`cosh(0 + inf
/// i)` is `NaN +- 0i`), so there a zero of either sign matches.
fn complex_ulps<P: Part>(got: Complex<P>, expected: Complex<P>) -> Option<u64> {
    let part =
        |g: P, e: P, other: P| if e.is_zero() && other.is_nan() && g.is_zero() { Some(0) } else { P::ulps(g, e) };
    Some(part(got.re, expected.re, expected.im)?.max(part(got.im, expected.im, expected.re)?))
}

/// One function's inputs and numpy's results.
struct RefCase<P> {
    a: Vec<Complex<P>>,
    b: Vec<Complex<P>>,
    results: Vec<Complex<P>>,
    truths: Vec<bool>,
}

fn parse_reference<P: Part>(text: &str, dtype: &str) -> Vec<(String, RefCase<P>)> {
    let mut cases: Vec<(String, RefCase<P>)> = Vec::new();
    let prefix = format!("{dtype} ");
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let (inputs, outputs) = line.split_once(" = ").expect("`=` in every line");
        let words: Vec<&str> = inputs.split(' ').collect();
        let name = words[1];
        if cases.last().map(|(n, _)| n.as_str()) != Some(name) {
            cases.push((name.to_string(), RefCase { a: vec![], b: vec![], results: vec![], truths: vec![] }));
        }
        let case = &mut cases.last_mut().expect("pushed").1;
        let parts: Vec<P> = words[2..].iter().map(|w| P::from_hex(w)).collect();
        case.a.push(Complex::new(parts[0], parts[1]));
        if parts.len() == 4 {
            case.b.push(Complex::new(parts[2], parts[3]));
        }
        match outputs.split(' ').collect::<Vec<_>>()[..] {
            [truth] => case.truths.push(truth == "1"),
            [re, im] => case.results.push(Complex::new(P::from_hex(re), P::from_hex(im))),
            _ => panic!("bad reference line {line}"),
        }
    }
    cases
}

/// Every complex ufunc of one element type against numpy, through the
/// distributed functions on `d`'s engines. Returns the largest error of each
/// function in ulps.
macro_rules! check_complex_reference {
    ($ctx:expr, $text:expr, $c:ty, $part:ty, $dtype:expr, $max_ulps:expr, $functions:expr) => {{
        let ctx: &Context = $ctx;
        let mut worst: Vec<(String, u64)> = Vec::new();
        let mut bad: Vec<String> = Vec::new();
        // Operands and outputs are made once per set of inputs (the functions
        // write `_into` them), so the check leaves few arrays to delete.
        type Arrays =
            (Vec<$c>, Vec<$c>, DistArray<$c>, DistArray<$c>, DistArray<$c>, DistArray<bool>, DistArray<$part>);
        let mut arrays: Option<Arrays> = None;
        for (name, case) in parse_reference::<$part>($text, $dtype) {
            if arrays.as_ref().map_or(true, |(a, b, ..)| *a != case.a || *b != case.b) {
                let d = Distribution::builder(ctx, &[case.a.len()]).dist("c").build().expect("distribution");
                let put = |v: &[$c]| ctx.fromarray(&ndarray::Array1::from(v.to_vec()), Some(&d)).expect("fromarray");
                let b = if case.b.is_empty() { put(&case.a) } else { put(&case.b) };
                arrays = Some((
                    case.a.clone(),
                    case.b.clone(),
                    put(&case.a),
                    b,
                    ctx.zeros(&d).expect("zeros"),
                    ctx.zeros(&d).expect("zeros"),
                    ctx.zeros(&d).expect("zeros"),
                ));
            }
            let (_, _, a, b, out, truth, magnitude) = arrays.as_mut().expect("made above");
            if !case.truths.is_empty() {
                match name.as_str() {
                    "less" => F::less_into(&*a, &*b, truth),
                    "less_equal" => F::less_equal_into(&*a, &*b, truth),
                    "greater" => F::greater_into(&*a, &*b, truth),
                    "greater_equal" => F::greater_equal_into(&*a, &*b, truth),
                    "equal" => F::equal_into(&*a, &*b, truth),
                    "not_equal" => F::not_equal_into(&*a, &*b, truth),
                    other => panic!("no comparison {other}"),
                }
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                for (i, (g, e)) in truth.toarray().expect("toarray").iter().zip(&case.truths).enumerate() {
                    if g != e {
                        bad.push(format!("{name}({:?}, {:?}) = {g}, numpy {e}", case.a[i], case.b[i]));
                    }
                }
                continue;
            }
            if name == "absolute" {
                F::absolute_into(&*a, magnitude)
            } else if case.b.is_empty() {
                match name.as_str() {
                    "square" => F::square_into(&*a, out),
                    "reciprocal" => F::reciprocal_into(&*a, out),
                    "sqrt" => F::sqrt_into(&*a, out),
                    "exp" => F::exp_into(&*a, out),
                    "expm1" => F::expm1_into(&*a, out),
                    "log" => F::log_into(&*a, out),
                    "log10" => F::log10_into(&*a, out),
                    "log1p" => F::log1p_into(&*a, out),
                    "sin" => F::sin_into(&*a, out),
                    "cos" => F::cos_into(&*a, out),
                    "tan" => F::tan_into(&*a, out),
                    "arcsin" => F::arcsin_into(&*a, out),
                    "arccos" => F::arccos_into(&*a, out),
                    "arctan" => F::arctan_into(&*a, out),
                    "sinh" => F::sinh_into(&*a, out),
                    "cosh" => F::cosh_into(&*a, out),
                    "tanh" => F::tanh_into(&*a, out),
                    "arcsinh" => F::arcsinh_into(&*a, out),
                    "arccosh" => F::arccosh_into(&*a, out),
                    "arctanh" => F::arctanh_into(&*a, out),
                    "sign" => F::sign_into(&*a, out),
                    "negative" => F::negative_into(&*a, out),
                    "conjugate" => F::conjugate_into(&*a, out),
                    other => panic!("no unary function {other}"),
                }
            } else {
                match name.as_str() {
                    "power" => F::power_into(&*a, &*b, out),
                    "true_divide" => F::true_divide_into(&*a, &*b, out),
                    "multiply" => F::multiply_into(&*a, &*b, out),
                    "add" => F::add_into(&*a, &*b, out),
                    "subtract" => F::subtract_into(&*a, &*b, out),
                    other => panic!("no binary function {other}"),
                }
            }
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = if name == "absolute" {
                // Real: compared as the real part of a complex result.
                magnitude.toarray().expect("toarray").mapv(|m| Complex::new(m, 0.0))
            } else {
                out.toarray().expect("toarray")
            };
            let mut max = 0;
            for (i, (&g, &e)) in got.iter().zip(&case.results).enumerate() {
                match complex_ulps(g, e) {
                    Some(u) if u <= $max_ulps => max = max.max(u),
                    u => {
                        let args = if case.b.is_empty() {
                            format!("{:?}", case.a[i])
                        } else {
                            format!("{:?}, {:?}", case.a[i], case.b[i])
                        };
                        bad.push(format!("{name}({args}) = {g:?}, numpy {e:?} ({u:?} ulps)"));
                    }
                }
            }
            worst.push((name, max));
        }
        let shown = bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n");
        assert!(
            bad.is_empty(),
            "{}: {} results differ from numpy's (max {} ulps):\n{shown}",
            $dtype,
            bad.len(),
            $max_ulps
        );
        assert_eq!(worst.len(), $functions, "{}: functions in the reference", $dtype);
        worst
    }};
}

/// numpy's complex functions, comparisons and arithmetic on signed zeros,
/// subnormals, huge values, +-inf, NaN and the branch points, for
/// `complex64` and `complex128`: NaN where numpy gives NaN, the same
/// infinities and signs of zeros, finite parts within [`COMPLEX_MAX_ULPS`]
/// (on random ordinary arguments [`COMPLEX_RANDOM_MAX_ULPS`]). Returns the
/// largest error of each function, per grid and type (empty without numpy).
pub fn check_complex_reference(ctx: &Context) -> Vec<(&'static str, Vec<(String, u64)>)> {
    let Some(text) = complex_reference() else { return Vec::new() };
    // 24 unary functions (23 on random arguments), 5 binary ones, 6
    // comparisons (not counted).
    vec![
        ("complex64", check_complex_reference!(ctx, &text, C32, f32, "complex64", COMPLEX_MAX_ULPS, 29)),
        (
            "complex64/random",
            check_complex_reference!(ctx, &text, C32, f32, "complex64/random", COMPLEX_RANDOM_MAX_ULPS, 23),
        ),
        ("complex128", check_complex_reference!(ctx, &text, C64, f64, "complex128", COMPLEX_MAX_ULPS, 29)),
        (
            "complex128/random",
            check_complex_reference!(ctx, &text, C64, f64, "complex128/random", COMPLEX_RANDOM_MAX_ULPS, 23),
        ),
    ]
}

/// Errors: integer division by zero and negative powers and shift counts,
/// leaving every array (inputs, `out`, in-place targets) unchanged.
pub fn check_errors(ctx: &Context) {
    let d = Distribution::builder(ctx, &[9]).dist("c").build().expect("distribution");
    let xa = values(&[9], |i| i as i32 - 4);
    let ya = values(&[9], |i| if i == 7 { 0 } else { i as i32 + 1 });
    let x = ctx.fromarray(&xa, Some(&d)).expect("fromarray");
    let y = ctx.fromarray(&ya, Some(&d)).expect("fromarray");
    let intact = |a: &DistArray<i32>, expected: &ArrayD<i32>| {
        assert_eq!(&a.toarray().expect("arrays usable after an error"), expected)
    };

    for (name, r) in [
        ("floor_divide", F::floor_divide(&x, &y)),
        ("remainder", F::remainder(&x, &y)),
        ("mod", F::r#mod(&x, &y)),
        ("fmod", F::fmod(&x, &y)),
        ("floor_divide by scalar 0", F::floor_divide(&x, 0)),
        ("remainder of scalar", F::remainder(5, &y)),
    ] {
        let e = r.expect_err(name);
        assert_eq!(e.kind(), ErrorKind::Arithmetic, "{name}: {e}");
        assert!(e.to_string().contains("division by zero"), "{name}: {e}");
    }
    let e = F::power(&x, -1).expect_err("negative power");
    assert!(e.to_string().contains("Integers to negative integer powers are not allowed"), "{e}");
    assert_eq!(F::left_shift(&y, &x).expect_err("negative shift").kind(), ErrorKind::Arithmetic);
    assert_eq!(F::reciprocal(&y).expect_err("reciprocal of 0").kind(), ErrorKind::Arithmetic);
    intact(&x, &xa);
    intact(&y, &ya);

    // Into `out` and in place: nothing written anywhere.
    let before = values(&[9], |i| 100 + i as i32);
    let mut out = ctx.fromarray(&before, Some(&d)).expect("fromarray");
    assert!(F::floor_divide_into(&x, &y, &mut out).is_err());
    intact(&out, &before);
    let mut target = ctx.fromarray(&xa, Some(&d)).expect("fromarray");
    assert!(F::remainder_inplace(&mut target, &y).is_err());
    assert!(F::power_inplace(&mut target, -2).is_err());
    intact(&target, &xa);
    intact(&y, &ya);
    // The arrays still work.
    F::add_inplace(&mut target, &y).expect("add after errors");
    intact(&target, &map2(&xa, &ya, |a, b| a + b));
}

/// Arrays of different shapes, distributions or contexts.
pub fn check_mismatches(ctx: &Context) {
    let db = Distribution::builder(ctx, &[8]).dist("b").build().expect("distribution");
    let dc = Distribution::builder(ctx, &[8]).dist("c").build().expect("distribution");
    let a = ctx.ones::<f64>(&db).expect("ones");
    let c = ctx.ones::<f64>(&dc).expect("ones");
    if !db.is_compatible(&dc) {
        // Operands of different distributions: a temporary copy of `x2` is
        // redistributed to `x1`'s distribution; neither operand changes.
        let xv = values(&[8], |i| i as f64 + 0.5);
        let yv = values(&[8], |i| 10.0 * i as f64 - 3.0);
        let x = ctx.fromarray(&xv, Some(&db)).expect("fromarray");
        let y = ctx.fromarray(&yv, Some(&dc)).expect("fromarray");
        let (x_pieces, y_pieces) = (x.get_localarrays().expect("pieces"), y.get_localarrays().expect("pieces"));
        let sum = F::add(&x, &y).expect("add of different distributions");
        assert_eq!(sum.distribution(), &db);
        assert_close("add(b, c)", &sum.toarray().expect("toarray"), &(&xv + &yv));
        let diff = F::subtract(&y, &x).expect("subtract of different distributions");
        assert_eq!(diff.distribution(), &dc);
        assert_close("subtract(c, b)", &diff.toarray().expect("toarray"), &(&yv - &xv));
        let less = F::less(&x, &y).expect("less of different distributions");
        assert_eq!(less.toarray().expect("toarray"), map2(&xv, &yv, |p, q| p < q));
        assert_close("&x * &y", &(&x * &y).toarray().expect("toarray"), &(&xv * &yv));
        let mut out = ctx.zeros::<f64>(&db).expect("zeros");
        F::multiply_into(&x, &y, &mut out).expect("into an out laid out as x1");
        assert_close("multiply_into", &out.toarray().expect("toarray"), &(&xv * &yv));
        let mut target = ctx.fromarray(&xv, Some(&db)).expect("fromarray");
        F::add_inplace(&mut target, &y).expect("in place with a differently distributed x2");
        assert_eq!(target.distribution(), &db, "an in-place target keeps its distribution");
        assert_close("add_inplace", &target.toarray().expect("toarray"), &(&xv + &yv));
        assert_eq!(x.get_localarrays().expect("pieces"), x_pieces, "x1 unchanged");
        assert_eq!(y.get_localarrays().expect("pieces"), y_pieces, "x2 unchanged");
        assert_eq!((x.distribution(), y.distribution()), (&db, &dc));
        // `out` is written in place, so it is never redistributed.
        let mut out = ctx.zeros::<f64>(&dc).expect("zeros");
        let e = F::add_into(&a, &a, &mut out).expect_err("out of another distribution");
        assert_eq!(e.kind(), ErrorKind::IncompatibleDistribution);
        let message = e.to_string();
        assert!(
            message.contains(&db.to_string()) && message.contains(&dc.to_string()),
            "must name both distributions: {message}"
        );
        assert_eq!(
            F::add_into(&a, &c, &mut out).expect_err("out of x2's distribution").kind(),
            ErrorKind::IncompatibleDistribution
        );
        assert_eq!(
            F::sin_into(&a, &mut out).expect_err("out of another distribution").kind(),
            ErrorKind::IncompatibleDistribution
        );
        assert_eq!(
            F::add_into(&a, 1.0, &mut out).expect_err("out of another distribution").kind(),
            ErrorKind::IncompatibleDistribution
        );
        assert_eq!(out.toarray().expect("toarray").sum(), 0.0, "out unchanged");
    }
    let other = ctx.ones::<f64>(&Distribution::from_shape(ctx, &[9]).expect("distribution")).expect("ones");
    assert_eq!(F::multiply(&a, &other).expect_err("shapes").kind(), ErrorKind::InvalidShape);
    assert_eq!(F::less(&a, &other).expect_err("shapes").kind(), ErrorKind::InvalidShape);
    let text = panic_message(|| &a + &other);
    assert!(text.contains("[8]") && text.contains("[9]"), "operators panic with the error's message: {text:?}");
    let _ = &c;
    let sub = Context::with_targets(&ctx.targets()[..1]).expect("sub-context");
    let elsewhere = sub.ones::<f64>(&Distribution::from_shape(&sub, &[8]).expect("distribution")).expect("ones");
    assert_eq!(F::add(&a, &elsewhere).expect_err("contexts").kind(), ErrorKind::WrongContext);
}

/// In-place forms and `std::ops` operators.
pub fn check_operators(ctx: &Context) {
    let d = Distribution::builder(ctx, &[4, 3]).dist("bc").build().expect("distribution");
    let av = values(&[4, 3], |i| i as f64 - 5.5);
    let bv = values(&[4, 3], |i| (i % 5) as f64 + 1.0);
    let a = ctx.fromarray(&av, Some(&d)).expect("fromarray");
    let b = ctx.fromarray(&bv, Some(&d)).expect("fromarray");
    let t = |x: DistArray<f64>| x.toarray().expect("toarray");
    assert_close("&a + &b", &t(&a + &b), &(&av + &bv));
    assert_close("&a - 2.0", &t(&a - 2.0), &av.mapv(|x| x - 2.0));
    assert_close("2.0 * &a", &t(2.0 * &a), &av.mapv(|x| 2.0 * x));
    assert_close("1.0 / &b", &t(1.0 / &b), &bv.mapv(|x| 1.0 / x));
    assert_close("&a % &b", &t(&a % &b), &map2(&av, &bv, f64::rem));
    assert_close("-&a", &t(-&a), &av.mapv(|x| -x));
    assert_close("(&a * &b) + &b", &t(&(&a * &b) + &b), &(&(&av * &bv) + &bv));
    let mut c = ctx.fromarray(&av, Some(&d)).expect("fromarray");
    c += &b;
    c *= 2.0;
    c -= 1.0;
    c /= &b;
    assert_close("assignments", &t(c), &map2(&av, &bv, |x, y| ((x + y) * 2.0 - 1.0) / y));
    let mut s = F::sin(&a).expect("sin");
    F::exp_inplace(&mut s).expect("exp_inplace");
    F::negative_inplace(&mut s).expect("negative_inplace");
    assert_close("in-place chain", &t(s), &av.mapv(|x| -x.sin().exp()));

    let iv = values(&[4, 3], |i| i as i64 * 3 - 17);
    let jv = values(&[4, 3], |i| (i % 4) as i64 + 1);
    let i = ctx.fromarray(&iv, Some(&d)).expect("fromarray");
    let j = ctx.fromarray(&jv, Some(&d)).expect("fromarray");
    let ti = |x: DistArray<i64>| x.toarray().expect("toarray");
    assert_eq!(ti(&i & &j), map2(&iv, &jv, |a, b| a & b));
    assert_eq!(ti(&i | 6), iv.mapv(|a| a | 6));
    assert_eq!(ti(5 ^ &j), jv.mapv(|b| 5 ^ b));
    assert_eq!(ti(!&i), iv.mapv(|a| !a));
    assert_eq!(ti(&i << &j), map2(&iv, &jv, |a, b| a << b));
    assert_eq!(ti(&i >> 2), iv.mapv(|a| a >> 2));
    assert_eq!(ti(&i % &j), map2(&iv, &jv, i64::rem));
    let q: DistArray<f64> = &i / &j; // true division, like Python's `/`
    assert_close("&i / &j", &q.toarray().expect("toarray"), &map2(&iv, &jv, |a, b| a as f64 / b as f64));
    let mut k = ctx.fromarray(&iv, Some(&d)).expect("fromarray");
    k <<= 2;
    k >>= &j;
    k ^= 1;
    k %= 7;
    assert_eq!(ti(k), map2(&iv, &jv, |a, b| i64::rem(((a << 2) >> b) ^ 1, 7)));
    let flags = ctx.fromarray(&values(&[4, 3], |i| i % 3 == 0), Some(&d)).expect("fromarray");
    assert_eq!(flags.toarray().expect("toarray").mapv(|f| !f), (!&flags).toarray().expect("toarray"));
    let mut z =
        F::absolute(&ctx.fromarray(&values(&[4, 3], |i| C64::new(i as f64, 1.0)), Some(&d)).expect("fromarray"))
            .expect("absolute");
    F::sqrt_inplace(&mut z).expect("sqrt_inplace");
    assert!(Close::close(z.toarray().expect("toarray")[[2, 1]], (49.0f64 + 1.0).sqrt().sqrt()));
    let text = panic_message(|| &i % 0);
    assert!(text.contains("division by zero"), "{text}");
}

// ---------------------------------------------------------------------------
// Accuracy of the real functions against numpy's own results.

/// The most ulp a real function may be from numpy where numpy's result is
/// finite; where it is NaN or infinite, the result must be exactly numpy's.
pub const MAX_ULP: u64 = 4;

/// numpy's results for every real float ufunc on a dense set of inputs, as
/// `tests/interop/make_real_ufunc_fixtures.py` wrote them (see its format).
const REAL_FIXTURES: [&str; 2] = [
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real_ufuncs_float32.txt")),
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real_ufuncs_float64.txt")),
];

/// A float type of the fixtures.
pub trait FixtureFloat:
    Real<Float = Self, Promoted = Self, Quotient = Self, Magnitude = Self> + Number + Element + std::fmt::LowerExp
{
    fn from_hex(text: &str) -> Self;
    /// How many ulp `self` is from numpy's `want`: 0 or `u64::MAX` where
    /// `want` is NaN or infinite (exact match needed), `u64::MAX` for a
    /// non-finite `self` against a finite `want`.
    fn ulps(self, want: Self) -> u64;
}

macro_rules! fixture_float {
    ($($t:ty: $bits:ty, $signed:ty;)*) => {$(
        impl FixtureFloat for $t {
            fn from_hex(text: &str) -> $t {
                <$t>::from_bits(<$bits>::from_str_radix(text, 16).expect("hex bits"))
            }
            fn ulps(self, want: $t) -> u64 {
                if !want.is_finite() {
                    return if (want.is_nan() && self.is_nan()) || want == self { 0 } else { u64::MAX };
                }
                if !self.is_finite() {
                    return u64::MAX;
                }
                // Sign-magnitude bits mapped to integers in the floats' order
                // (both zeros to 0), so the difference counts the floats between.
                let ord = |x: $t| {
                    let b = x.to_bits() as $signed;
                    i128::from(if b < 0 { <$signed>::MIN.wrapping_sub(b) } else { b })
                };
                u64::try_from((ord(self) - ord(want)).unsigned_abs()).unwrap_or(u64::MAX)
            }
        }
    )*};
}
fixture_float! {
    f32: u32, i32;
    f64: u64, i64;
}

/// A float-valued unary ufunc of the fixtures by its numpy name.
fn float_valued<T: Ufunc>(name: &str, x: &DistArray<T>) -> Result<DistArray<T::Float>> {
    match name {
        "sqrt" => F::sqrt(x),
        "exp" => F::exp(x),
        "expm1" => F::expm1(x),
        "log" => F::log(x),
        "log10" => F::log10(x),
        "log1p" => F::log1p(x),
        "sin" => F::sin(x),
        "cos" => F::cos(x),
        "tan" => F::tan(x),
        "arcsin" => F::arcsin(x),
        "arccos" => F::arccos(x),
        "arctan" => F::arctan(x),
        "sinh" => F::sinh(x),
        "cosh" => F::cosh(x),
        "tanh" => F::tanh(x),
        "arcsinh" => F::arcsinh(x),
        "arccosh" => F::arccosh(x),
        "arctanh" => F::arctanh(x),
        other => panic!("the fixtures name a unary ufunc `{other}` this suite does not know"),
    }
}

fn float_unary<T: FixtureFloat>(name: &str, x: &DistArray<T>) -> Result<DistArray<T>> {
    match name {
        "reciprocal" => F::reciprocal(x),
        "square" => F::square(x),
        "rint" => F::rint(x),
        "sign" => F::sign(x),
        "absolute" => F::absolute(x),
        "negative" => F::negative(x),
        _ => float_valued(name, x),
    }
}

/// A float-valued binary ufunc of real operands by its numpy name.
fn real_binary<T: Real>(name: &str, x: &DistArray<T>, y: &DistArray<T>) -> Result<DistArray<T::Float>> {
    match name {
        "arctan2" => F::arctan2(x, y),
        "hypot" => F::hypot(x, y),
        other => panic!("the fixtures name a binary ufunc `{other}` this suite does not know"),
    }
}

fn float_binary<T: FixtureFloat>(name: &str, x: &DistArray<T>, y: &DistArray<T>) -> Result<DistArray<T>> {
    match name {
        "power" => F::power(x, y),
        "true_divide" => F::true_divide(x, y),
        "fmod" => F::fmod(x, y),
        "remainder" => F::remainder(x, y),
        "floor_divide" => F::floor_divide(x, y),
        _ => real_binary(name, x, y),
    }
}

/// One block of a fixture: inputs of one dtype and numpy's results of each
/// ufunc on them.
struct FixtureBlock<'a> {
    dtype: &'a str,
    binary: bool,
    inputs: Vec<Vec<&'a str>>,
    results: Vec<(&'a str, Vec<&'a str>)>,
}

fn parse_fixture(text: &str) -> Vec<FixtureBlock<'_>> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut blocks: Vec<FixtureBlock<'_>> = Vec::new();
    while let Some(header) = lines.next() {
        let words: Vec<&str> = header.split(' ').collect();
        match words[..] {
            [kind @ ("unary" | "binary"), dtype, n] => {
                let n: usize = n.parse().expect("count");
                let inputs = (0..n).map(|_| lines.next().expect("input line").split(' ').collect()).collect();
                blocks.push(FixtureBlock { dtype, binary: kind == "binary", inputs, results: Vec::new() });
            }
            ["u" | "b", name] => {
                let block = blocks.last_mut().expect("results after their inputs");
                let values = (0..block.inputs.len()).map(|_| lines.next().expect("result line")).collect();
                block.results.push((name, values));
            }
            _ => panic!("bad fixture line {header:?}"),
        }
    }
    blocks
}

/// Checks `got` against numpy's `want` for the inputs `shown`; returns the
/// largest distance in ulp and panics past [`MAX_ULP`].
fn check_ulps<O: FixtureFloat>(what: &str, shown: &[Vec<&str>], got: &ArrayD<O>, want: &[O]) -> u64 {
    let mut worst = 0;
    let mut bad = Vec::new();
    for ((g, &w), x) in got.iter().zip(want).zip(shown) {
        let d = g.ulps(w);
        if d > MAX_ULP && bad.len() < 8 {
            bad.push(format!("x = {} (bits or integers): got {g:e}, numpy gives {w:e}", x.join(", ")));
        }
        worst = worst.max(d);
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
    assert!(bad.is_empty(), "{what}: more than {MAX_ULP} ulp from numpy at\n  {}", bad.join("\n  "));
    worst
}

fn fixture_array<T: Element>(ctx: &Context, values: Vec<T>, dist: &str) -> DistArray<T> {
    let n = values.len();
    let d = Distribution::builder(ctx, &[n]).dist(dist).build().expect("distribution");
    ctx.fromarray(&ArrayD::from_shape_vec(IxDyn(&[n]), values).expect("shape"), Some(&d)).expect("fromarray")
}

/// Every real ufunc of float inputs `T` in `block`, through distributed arrays.
fn check_float_block<T: FixtureFloat>(ctx: &Context, block: &FixtureBlock<'_>, dist: &str) -> Vec<(String, u64)> {
    let column = |k: usize| block.inputs.iter().map(|words| T::from_hex(words[k])).collect::<Vec<T>>();
    let x = fixture_array(ctx, column(0), dist);
    let y = block.binary.then(|| fixture_array(ctx, column(1), dist));
    let mut worst = Vec::new();
    for (name, values) in &block.results {
        let want: Vec<T> = values.iter().map(|v| T::from_hex(v)).collect();
        let what = format!("{name} of {} on {dist}", block.dtype);
        let got = match &y {
            Some(y) => float_binary(name, &x, y),
            None => float_unary(name, &x),
        };
        let got = got.unwrap_or_else(|e| panic!("{what}: {e}")).toarray().expect("toarray");
        worst.push((what.clone(), check_ulps(&what, &block.inputs, &got, &want)));
    }
    worst
}

/// The float functions of integer inputs `T` (numpy converts them to `O`).
fn check_int_block<T, O>(ctx: &Context, block: &FixtureBlock<'_>, dist: &str) -> Vec<(String, u64)>
where
    T: Real<Float = O> + std::str::FromStr,
    O: FixtureFloat,
{
    let column =
        |k: usize| block.inputs.iter().map(|words| words[k].parse().ok().expect("integer input")).collect::<Vec<T>>();
    let x = fixture_array(ctx, column(0), dist);
    let y = block.binary.then(|| fixture_array(ctx, column(1), dist));
    let mut worst = Vec::new();
    for (name, values) in &block.results {
        let want: Vec<O> = values.iter().map(|v| O::from_hex(v)).collect();
        let what = format!("{name} of {} on {dist}", block.dtype);
        let got = match &y {
            Some(y) => real_binary(name, &x, y),
            None => float_valued(name, &x),
        };
        let got = got.unwrap_or_else(|e| panic!("{what}: {e}")).toarray().expect("toarray");
        worst.push((what.clone(), check_ulps(&what, &block.inputs, &got, &want)));
    }
    worst
}

/// Every real float ufunc (f32 and f64, and of int16, int64 and uint64
/// inputs) within [`MAX_ULP`] of numpy's results wherever numpy's are
/// finite, and exactly numpy's NaN and infinities elsewhere. Returns each
/// function's largest distance in ulp.
pub fn check_real_accuracy(ctx: &Context) -> Vec<(String, u64)> {
    let mut worst = Vec::new();
    let dists = ["c", "b", "u"];
    for (k, block) in REAL_FIXTURES.iter().flat_map(|text| parse_fixture(text)).enumerate() {
        let dist = dists[k % dists.len()];
        worst.extend(match block.dtype {
            "float32" => check_float_block::<f32>(ctx, &block, dist),
            "float64" => check_float_block::<f64>(ctx, &block, dist),
            "int16" => check_int_block::<i16, f32>(ctx, &block, dist),
            "int64" => check_int_block::<i64, f64>(ctx, &block, dist),
            "uint64" => check_int_block::<u64, f64>(ctx, &block, dist),
            other => panic!("fixture inputs of dtype {other}"),
        });
    }
    assert!(worst.len() > 60, "only {} functions checked against numpy", worst.len());
    worst
}

/// Every check on `ctx`; returns the number of layouts checked.
pub fn check_everything(ctx: &Context) -> usize {
    let layouts = check_every_function(ctx) + check_every_layout(ctx);
    check_edge_cases(ctx);
    check_complex_reference(ctx);
    check_errors(ctx);
    check_mismatches(ctx);
    check_operators(ctx);
    check_real_accuracy(ctx);
    let left = distarray::cleanup::get_local_keys(ctx, ctx.key_prefix()).expect("get_local_keys");
    assert!(left.is_empty(), "keys left on the engines after dropping every array: {left:?}");
    layouts
}
