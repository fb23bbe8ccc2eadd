//! numpy's complex functions (C99 Annex G semantics), for `Complex<f32>` and
//! `Complex<f64>`.
//!
//! `num_complex` computes `acos`, `asinh`, `tanh`, ... from textbook formulas
//! (`-i ln(z + i sqrt(1 - z^2))` and the like). numpy does not: on Linux its
//! loops call the C library's `cacos`, `casinh`, `ctanh`, ..., and where a
//! platform lacks them, its own copies (`npy_math_complex.c.src`, ported from
//! FreeBSD's msun). Both follow C99 Annex G, so the formulas differ from
//! num-complex's where it matters:
//!
//! - branch cuts follow the sign of zero: `arccos(2 + 0i)` is `-1.317i` and
//!   `arccos(2 - 0i)` is `+1.317i` (num-complex gives `+1.317i` for both);
//! - huge and tiny arguments keep full accuracy instead of overflowing or
//!   underflowing in intermediate squares (`arcsinh(1e-300)` is `1e-300`,
//!   `arcsin(1e10 + 1e-10i)` keeps its imaginary part, `tanh(1e10)` is `1`);
//! - infinities and NaNs give Annex G's special values (`sinh(inf + 0i)` is
//!   `inf + 0i`, `arctan(inf i)` is `pi/2`) instead of NaN.
//!
//! The functions here are ports of numpy's msun code (Hull, Fairgrieve and
//! Tang's algorithm for the inverse functions, the scaled `cexp` of the
//! hyperbolic functions, the special values of every function), of numpy's
//! loops (`nc_expm1`, `nc_log1p`, `nc_log10`, `npy_cpow`'s repeated
//! multiplication for integer exponents, the complex `square`, `multiply`,
//! `reciprocal` and `sign` loops) and of what glibc does where numpy on Linux
//! calls it (`cpow` as `exp(b log a)` with C99's complex multiplication). The
//! real functions they call (`exp`, `log1p`, `atan2`, ...) are Rust's
//! `f32`/`f64` methods, which are the C library's on Linux, as numpy's are.
//!
//! Where numpy's msun copy and glibc disagree, glibc (what numpy runs on
//! Linux) decides: the special values whose signs Annex G leaves open
//! (`sin(inf + inf i)` is `NaN + inf i`, `arccosh(0 + NaN i)` is
//! `NaN + pi/2 i`, ...), `sqrt` rescaling subnormal arguments (and, a bug of
//! numpy's copy, both parts after rescaling huge ones), `log` of `x^2 + y^2`
//! near 1 without cancellation, `exp(x + 0i)` staying real where `exp(x)`
//! overflows, and `tanh` (and `tan`) from a sum of squares rather than
//! Kahan's form, which differs from glibc by up to 5 ulps. `Complex<f32>`
//! evaluates the C library's functions in `f64` and rounds once (see
//! `Wide`). `tests/support/ufuncs.rs` checks every function against the
//! installed numpy: within 4 ulps per part on edge inputs, 8 on random
//! ordinary ones (where numpy itself is up to 5 ulps from the exact result).
//!
//! One module body, written once by the `complex_math!` macro for each float
//! type (`single`, `double`), behind the [`ComplexMath`] trait.

use num_complex::Complex;

/// numpy's complex functions, as methods of `Complex<f32>` and `Complex<f64>`
/// (C names, so that they never resolve to num-complex's inherent methods).
pub(crate) trait ComplexMath: Sized {
    fn csquare(self) -> Self;
    fn cmultiply(self, b: Self) -> Self;
    fn creciprocal(self) -> Self;
    fn csign(self) -> Self;
    fn csqrt(self) -> Self;
    fn cexp(self) -> Self;
    fn cexpm1(self) -> Self;
    fn clog(self) -> Self;
    fn clog10(self) -> Self;
    fn clog1p(self) -> Self;
    fn csin(self) -> Self;
    fn ccos(self) -> Self;
    fn ctan(self) -> Self;
    fn casin(self) -> Self;
    fn cacos(self) -> Self;
    fn catan(self) -> Self;
    fn csinh(self) -> Self;
    fn ccosh(self) -> Self;
    fn ctanh(self) -> Self;
    fn casinh(self) -> Self;
    fn cacosh(self) -> Self;
    fn catanh(self) -> Self;
    fn cpow(self, b: Self) -> Self;
}

/// `Complex<f32>` functions of the C library are evaluated in `f64` and
/// rounded once: within about half an ulp of the exact result, so that they
/// differ from numpy's (glibc's `cacosf`, `ctanhf`, ..., themselves a few ulps
/// off in `f32`) by no more than numpy's own error.
trait Wide: Copy {
    fn widen(self) -> Complex<f64>;
    fn narrow(w: Complex<f64>) -> Self;
}

impl Wide for Complex<f32> {
    fn widen(self) -> Complex<f64> {
        Complex::new(f64::from(self.re), f64::from(self.im))
    }
    fn narrow(w: Complex<f64>) -> Self {
        Complex::new(w.re as f32, w.im as f32)
    }
}

impl Wide for Complex<f64> {
    fn widen(self) -> Complex<f64> {
        self
    }
    fn narrow(w: Complex<f64>) -> Self {
        w
    }
}

/// One float type's module of numpy's algorithms (with the constants they
/// need) and its [`ComplexMath`] implementation.
macro_rules! complex_math {
    ($(#[$attr:meta])* $module:ident, $f:ident, $bits:ident, {
        mant_bits: $mant_bits:expr, exp_mask: $exp_mask:expr, bias: $bias:expr,
        scaled_cexp_k: $k:expr, scaled_cexp_lower: $lower:expr, scaled_cexp_upper: $upper:expr,
        cosh_big: $cosh_big:expr, cosh_huge: $cosh_huge:expr, tanh_huge: $tanh_huge:expr,
        four_sqrt_min: $four_sqrt_min:expr, quarter_sqrt_max: $quarter_sqrt_max:expr,
        sqrt_min: $sqrt_min:expr, sqrt_6_epsilon: $sqrt_6_eps:expr, sqrt_3_epsilon: $sqrt_3_eps:expr,
        pio2_lo: $pio2_lo:expr,
    }) => {
        $(#[$attr])*
        mod $module {
            use num_complex::Complex;

            use super::ComplexMath;

            type F = $f;
            type C = Complex<F>;

            const MANT_BITS: u32 = $mant_bits;
            const EXP_MASK: $bits = $exp_mask;
            const BIAS: i32 = $bias;
            /// Significand digits (`DBL_MANT_DIG`).
            const MANT_DIG: i32 = MANT_BITS as i32 + 1;
            const EPS: F = F::EPSILON;
            const RECIP_EPSILON: F = 1.0 / EPS;
            const LN2: F = std::$f::consts::LN_2;
            const LOG10E: F = std::$f::consts::LOG10_E;
            const PIO2: F = std::$f::consts::FRAC_PI_2;
            /// `pi/2 - PIO2`, rounded.
            const PIO2_LO: F = $pio2_lo;
            const SCALED_CEXP_K: i32 = $k;
            /// `log(MAX)` and `log(2) + log(MAX) - log(smallest subnormal)`.
            const SCALED_CEXP_LOWER: F = $lower;
            const SCALED_CEXP_UPPER: F = $upper;
            const COSH_BIG: F = $cosh_big;
            const COSH_HUGE: F = $cosh_huge;
            const TANH_HUGE: F = $tanh_huge;
            const FOUR_SQRT_MIN: F = $four_sqrt_min;
            const QUARTER_SQRT_MAX: F = $quarter_sqrt_max;
            const SQRT_MIN: F = $sqrt_min;
            const SQRT_6_EPSILON: F = $sqrt_6_eps;
            const SQRT_3_EPSILON: F = $sqrt_3_eps;
            const A_CROSSOVER: F = 10.0;
            const B_CROSSOVER: F = 0.6417;

            fn c(re: F, im: F) -> C {
                Complex::new(re, im)
            }

            fn exponent_field(x: F) -> i32 {
                ((x.to_bits() >> MANT_BITS) & EXP_MASK) as i32
            }

            /// `2^k` for a normal exponent `k`.
            fn pow2(k: i32) -> F {
                F::from_bits(((k + BIAS) as $bits) << MANT_BITS)
            }

            /// C's `ldexp`: `x * 2^n`, rounded once (musl's `scalbn`).
            pub(super) fn ldexp(x: F, mut n: i32) -> F {
                let mut y = x;
                if n > BIAS {
                    y *= pow2(BIAS);
                    n -= BIAS;
                    if n > BIAS {
                        y *= pow2(BIAS);
                        n -= BIAS;
                        n = n.min(BIAS);
                    }
                } else if n < 1 - BIAS {
                    // Keep the final step below -MANT_DIG: no double rounding
                    // in the subnormal range.
                    y *= pow2(1 - BIAS) * pow2(MANT_DIG);
                    n += BIAS - 1 - MANT_DIG;
                    if n < 1 - BIAS {
                        y *= pow2(1 - BIAS) * pow2(MANT_DIG);
                        n += BIAS - 1 - MANT_DIG;
                        n = n.max(1 - BIAS);
                    }
                }
                y * pow2(n)
            }

            /// C's `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1`.
            pub(super) fn frexp(x: F) -> (F, i32) {
                if x == 0.0 || !x.is_finite() {
                    return (x, 0);
                }
                let (x, adjust) = if exponent_field(x) == 0 {
                    (x * pow2(MANT_DIG), -MANT_DIG)
                } else {
                    (x, 0)
                };
                let e = exponent_field(x) - (BIAS - 1) + adjust;
                let bits =
                    (x.to_bits() & !(EXP_MASK << MANT_BITS)) | (((BIAS - 1) as $bits) << MANT_BITS);
                (F::from_bits(bits), e)
            }

            /// `exp(x) * (cos y, sin y) * 2^expt` without overflowing
            /// `exp(x)` (numpy's `_npy_scaled_cexp`), for x in
            /// [SCALED_CEXP_LOWER, SCALED_CEXP_UPPER].
            fn scaled_cexp(x: F, y: F, expt: i32) -> C {
                let kln2 = SCALED_CEXP_K as F * LN2;
                let (mant, ex) = frexp((x - kln2).exp());
                let (mantcos, excos) = frexp(y.cos());
                let (mantsin, exsin) = frexp(y.sin());
                let expt = expt + ex + SCALED_CEXP_K;
                c(
                    ldexp(mant * mantcos, expt + excos),
                    ldexp(mant * mantsin, expt + exsin),
                )
            }

            /// numpy's complex `square` loop: `(x*x - y*y, x*y + y*x)`, each
            /// with one fused multiply-add as numpy's SIMD kernel computes
            /// it (so `square(1e300 + 1e300i)` is `-inf + inf i`, not NaN).
            pub(super) fn square(z: C) -> C {
                multiply(z, z)
            }

            /// numpy's complex `multiply` SIMD kernel:
            /// `(fma(ar, br, -ai*bi), fma(ar, bi, ai*br))`.
            pub(super) fn multiply(a: C, b: C) -> C {
                c(
                    a.re.mul_add(b.re, -(a.im * b.im)),
                    a.re.mul_add(b.im, a.im * b.re),
                )
            }

            /// numpy's complex `reciprocal` loop (Smith's method for 1/z).
            pub(super) fn reciprocal(z: C) -> C {
                let (x, y) = (z.re, z.im);
                if y.abs() <= x.abs() {
                    let r = y / x;
                    let d = x + y * r;
                    c(1.0 / d, -r / d)
                } else {
                    let r = x / y;
                    let d = x * r + y;
                    c(r / d, -1.0 / d)
                }
            }

            /// numpy's complex `sign` loop: `z / |z|`, with `|z|` from
            /// `hypot` (infinite when a part is infinite, even with a NaN).
            pub(super) fn sign(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let abs = x.hypot(y);
                if abs.is_nan() {
                    c(F::NAN, F::NAN)
                } else if abs.is_infinite() {
                    if x.is_infinite() {
                        if y.is_infinite() {
                            c(F::NAN, F::NAN)
                        } else {
                            c(if x > 0.0 { 1.0 } else { -1.0 }, 0.0)
                        }
                    } else {
                        c(0.0, if y > 0.0 { 1.0 } else { -1.0 })
                    }
                } else if abs == 0.0 {
                    c(0.0, 0.0)
                } else {
                    c(x / abs, y / abs)
                }
            }

            /// Smith's division, as numpy's `cdiv` (and its `divide` loop).
            fn cdiv(a: C, b: C) -> C {
                let (ar, ai, br, bi) = (a.re, a.im, b.re, b.im);
                let (abs_br, abs_bi) = (br.abs(), bi.abs());
                if abs_br >= abs_bi {
                    if abs_br == 0.0 && abs_bi == 0.0 {
                        c(ar / abs_br, ai / abs_bi)
                    } else {
                        let rat = bi / br;
                        let scl = 1.0 / (br + bi * rat);
                        c((ar + ai * rat) * scl, (ai - ar * rat) * scl)
                    }
                } else {
                    let rat = br / bi;
                    let scl = 1.0 / (bi + br * rat);
                    c((ar * rat + ai) * scl, (ai * rat - ar) * scl)
                }
            }

            /// numpy's `cmul`: the schoolbook product, unfused.
            fn cmul(a: C, b: C) -> C {
                c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
            }

            /// C99's `*` on complex numbers (GCC's `__muldc3`): the
            /// schoolbook product, and when both parts come out NaN, Annex
            /// G's recovery of infinite operands and overflowed products.
            fn annex_g_mul(z: C, w: C) -> C {
                let (mut a, mut b, mut cc, mut d) = (z.re, z.im, w.re, w.im);
                let (ac, bd, ad, bc) = (a * cc, b * d, a * d, b * cc);
                let (x, y) = (ac - bd, ad + bc);
                if !(x.is_nan() && y.is_nan()) {
                    return c(x, y);
                }
                let box_inf = |v: F| (if v.is_infinite() { 1.0 as F } else { 0.0 }).copysign(v);
                let zero_nan = |v: F| {
                    if v.is_nan() {
                        (0.0 as F).copysign(v)
                    } else {
                        v
                    }
                };
                let mut recalc = false;
                if a.is_infinite() || b.is_infinite() {
                    a = box_inf(a);
                    b = box_inf(b);
                    cc = zero_nan(cc);
                    d = zero_nan(d);
                    recalc = true;
                }
                if cc.is_infinite() || d.is_infinite() {
                    cc = box_inf(cc);
                    d = box_inf(d);
                    a = zero_nan(a);
                    b = zero_nan(b);
                    recalc = true;
                }
                if !recalc
                    && (ac.is_infinite()
                        || bd.is_infinite()
                        || ad.is_infinite()
                        || bc.is_infinite())
                {
                    a = zero_nan(a);
                    b = zero_nan(b);
                    cc = zero_nan(cc);
                    d = zero_nan(d);
                    recalc = true;
                }
                if recalc {
                    c(
                        F::INFINITY * (a * cc - b * d),
                        F::INFINITY * (a * d + b * cc),
                    )
                } else {
                    c(x, y)
                }
            }

            /// numpy's `npy_cexp`.
            pub(super) fn exp(z: C) -> C {
                let (r, i) = (z.re, z.im);
                if r.is_finite() {
                    if i == 0.0 {
                        // exp(x + 0i) = exp(x) + 0i, also where exp(x)
                        // overflows (inf * sin 0 would be NaN).
                        c(r.exp(), i)
                    } else if (SCALED_CEXP_LOWER..=SCALED_CEXP_UPPER).contains(&r) {
                        scaled_cexp(r, i, 0)
                    } else {
                        let x = r.exp();
                        if i.is_finite() {
                            c(x * i.cos(), x * i.sin())
                        } else {
                            c(F::NAN, F::NAN.copysign(i))
                        }
                    }
                } else if r.is_nan() {
                    if i == 0.0 {
                        z
                    } else {
                        c(r, F::NAN.copysign(i))
                    }
                } else if r > 0.0 {
                    if i == 0.0 {
                        c(r, i)
                    } else if i.is_finite() {
                        c(r * i.cos(), r * i.sin())
                    } else {
                        c(r, F::NAN)
                    }
                } else if i.is_finite() {
                    let x = r.exp();
                    c(x * i.cos(), x * i.sin())
                } else {
                    // exp(-inf + i y), y infinite or NaN: +-0 +- 0i in Annex G;
                    // glibc (numpy on Linux) gives the imaginary zero y's sign.
                    c(0.0, (0.0 as F).copysign(i))
                }
            }

            /// numpy's `nc_expm1`: `(expm1(x) cos y - 2 sin^2(y/2), exp(x) sin y)`.
            pub(super) fn expm1(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let a = (y / 2.0).sin();
                c(x.exp_m1() * y.cos() - 2.0 * a * a, x.exp() * y.sin())
            }

            /// numpy's `npy_clog` (CPython's algorithm: rescaled for huge and
            /// subnormal moduli, `log1p` near the unit circle).
            pub(super) fn log(z: C) -> C {
                let (ax, ay) = (z.re.abs(), z.im.abs());
                let rr = if ax > F::MAX / 4.0 || ay > F::MAX / 4.0 {
                    (ax / 2.0).hypot(ay / 2.0).ln() + LN2
                } else if ax < F::MIN_POSITIVE && ay < F::MIN_POSITIVE {
                    if ax > 0.0 || ay > 0.0 {
                        ldexp(ax, MANT_DIG).hypot(ldexp(ay, MANT_DIG)).ln() - MANT_DIG as F * LN2
                    } else {
                        // log(+-0 +- 0i): -inf, with the argument's phase.
                        return c(F::NEG_INFINITY, z.im.atan2(z.re));
                    }
                } else {
                    let h = ax.hypot(ay);
                    if (0.7..=1.73).contains(&h) {
                        // Near the unit circle: log1p of x^2 + y^2 - 1,
                        // computed without cancellation (numpy's msun copy
                        // rounds (x-1)(x+1) + y^2, 1 ulp off where glibc,
                        // numpy's on Linux, is exact).
                        x2y2m1(ax, ay).ln_1p() / 2.0
                    } else {
                        h.ln()
                    }
                };
                c(rr, z.im.atan2(z.re))
            }

            /// `a + b` and its rounding error (Knuth's TwoSum).
            fn two_sum(a: F, b: F) -> (F, F) {
                let s = a + b;
                let bb = s - a;
                (s, (a - (s - bb)) + (b - bb))
            }

            /// `x^2 + y^2 - 1` with a relative error of a few ulps even under
            /// cancellation: exact products by fused multiply-add, exact sums
            /// by TwoSum, for `x^2 + y^2` between 1/2 and 3.
            fn x2y2m1(x: F, y: F) -> F {
                let (hx, hy) = (x * x, y * y);
                let (lx, ly) = (x.mul_add(x, -hx), y.mul_add(y, -hy));
                let (s1, e1) = two_sum(hx, -1.0);
                let (s2, e2) = two_sum(s1, hy);
                s2 + (e1 + e2 + lx + ly)
            }

            /// numpy's `nc_log10`: `log(z) * log10(e)`, given `log(z)`.
            pub(super) fn log10(log_z: C) -> C {
                c(log_z.re * LOG10E, log_z.im * LOG10E)
            }

            /// numpy's `nc_log1p`: `(log(hypot(x + 1, y)), atan2(y, x + 1))`.
            pub(super) fn log1p(z: C) -> C {
                let (x, y) = (z.re, z.im);
                c((x + 1.0).hypot(y).ln(), y.atan2(x + 1.0))
            }

            /// numpy's `npy_csqrt` (Algorithm 312, CACM, with Annex G's
            /// special values and rescaling against overflow).
            pub(super) fn sqrt(z: C) -> C {
                let (mut a, mut b) = (z.re, z.im);
                if a == 0.0 && b == 0.0 {
                    return c(0.0, b);
                }
                if b.is_infinite() {
                    return c(F::INFINITY, b);
                }
                if a.is_nan() {
                    return c(a, (b - b) / (b - b));
                }
                if a.is_infinite() {
                    return if a.is_sign_negative() {
                        c((b - b).abs(), a.copysign(b))
                    } else {
                        c(a, (b - b).copysign(b))
                    };
                }
                let thresh = F::MAX / (1.0 + std::$f::consts::SQRT_2);
                // Scale against overflow (by 1/4, the root by 1/2) and, where
                // both parts are tiny, against the loss of subnormal digits
                // (numpy's msun copy does not: glibc, which numpy calls on
                // Linux, does).
                let (scale_in, scale_out) = if a.abs() >= thresh || b.abs() >= thresh {
                    (0.25, 2.0)
                } else if a.abs() < 4.0 * F::MIN_POSITIVE && b.abs() < 4.0 * F::MIN_POSITIVE {
                    let half = (MANT_DIG + 1) / 2;
                    (pow2(2 * half), pow2(-half))
                } else {
                    (1.0, 1.0)
                };
                a *= scale_in;
                b *= scale_in;
                let result = if a >= 0.0 {
                    let t = ((a + a.hypot(b)) * 0.5).sqrt();
                    c(t, b / (2.0 * t))
                } else {
                    let t = ((-a + a.hypot(b)) * 0.5).sqrt();
                    c(b.abs() / (2.0 * t), t.copysign(b))
                };
                c(result.re * scale_out, result.im * scale_out)
            }

            /// numpy's `npy_cpow`: 1 for a zero exponent, 0 for a zero base
            /// and an exponent of positive real part (NaN otherwise), exact
            /// repeated multiplication for integer exponents below 100 in
            /// magnitude, else the C library's `cpow`, `exp(b log a)`.
            pub(super) fn pow(a: C, b: C) -> C {
                let (ar, ai, br, bi) = (a.re, a.im, b.re, b.im);
                if br == 0.0 && bi == 0.0 {
                    return c(1.0, 0.0);
                }
                if ar == 0.0 && ai == 0.0 {
                    return if br > 0.0 {
                        c(0.0, 0.0)
                    } else {
                        c(F::NAN, F::NAN)
                    };
                }
                if bi == 0.0 && br > -100.0 && br < 100.0 && br == br.trunc() {
                    let n = br as i32;
                    match n {
                        1 => return a,
                        2 => return cmul(a, a),
                        3 => return cmul(a, cmul(a, a)),
                        _ => {
                            let n = n.abs();
                            let (mut aa, mut p, mut mask) = (c(1.0, 0.0), a, 1);
                            loop {
                                if n & mask != 0 {
                                    aa = cmul(aa, p);
                                }
                                mask <<= 1;
                                if n < mask {
                                    break;
                                }
                                p = cmul(p, p);
                            }
                            return if br < 0.0 { cdiv(c(1.0, 0.0), aa) } else { aa };
                        }
                    }
                }
                annex_g_mul(b, a.clog()).cexp()
            }

            /// numpy's `npy_ccosh` (FreeBSD's `ccosh`).
            pub(super) fn cosh(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let (xfinite, yfinite) = (x.is_finite(), y.is_finite());
                if xfinite && yfinite {
                    if y == 0.0 {
                        return c(x.cosh(), x * y);
                    }
                    let absx = x.abs();
                    if absx < COSH_BIG {
                        return c(x.cosh() * y.cos(), x.sinh() * y.sin());
                    }
                    if absx < SCALED_CEXP_LOWER {
                        let h = absx.exp() * 0.5;
                        return c(h * y.cos(), h.copysign(x) * y.sin());
                    }
                    if absx < SCALED_CEXP_UPPER {
                        let w = scaled_cexp(absx, y, -1);
                        return c(w.re, w.im * (1.0 as F).copysign(x));
                    }
                    let h = COSH_HUGE * x;
                    return c(h * h * y.cos(), h * y.sin());
                }
                if x == 0.0 && !yfinite {
                    return c(y - y, (0.0 as F).copysign(x * (y - y)));
                }
                if y == 0.0 && !xfinite {
                    return c(x * x, (0.0 as F).copysign(x) * y);
                }
                if xfinite && !yfinite {
                    return c(y - y, x * (y - y));
                }
                if x.is_infinite() {
                    if !yfinite {
                        return c(x * x, x * (y - y));
                    }
                    return c((x * x) * y.cos(), x * y.sin());
                }
                c((x * x) * (y - y), (x + x) * (y - y))
            }

            /// numpy's `npy_csinh` (FreeBSD's `csinh`).
            pub(super) fn sinh(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let (xfinite, yfinite) = (x.is_finite(), y.is_finite());
                if xfinite && yfinite {
                    if y == 0.0 {
                        return c(x.sinh(), y);
                    }
                    let absx = x.abs();
                    if absx < COSH_BIG {
                        return c(x.sinh() * y.cos(), x.cosh() * y.sin());
                    }
                    if absx < SCALED_CEXP_LOWER {
                        let h = absx.exp() * 0.5;
                        return c(h.copysign(x) * y.cos(), h * y.sin());
                    }
                    // numpy compares x (not |x|) here: negative x of huge
                    // magnitude takes the scaled path too.
                    if x < SCALED_CEXP_UPPER {
                        let w = scaled_cexp(absx, y, -1);
                        return c(w.re * (1.0 as F).copysign(x), w.im);
                    }
                    let h = COSH_HUGE * x;
                    return c(h * y.cos(), h * h * y.sin());
                }
                if x == 0.0 && !yfinite {
                    return c((0.0 as F).copysign(x * (y - y)), y - y);
                }
                if y == 0.0 && !xfinite {
                    if x.is_nan() {
                        return z;
                    }
                    return c(x, (0.0 as F).copysign(y));
                }
                if xfinite && !yfinite {
                    return c(y - y, x * (y - y));
                }
                if !xfinite && !x.is_nan() {
                    if !yfinite {
                        return c(x * x, x * (y - y));
                    }
                    return c(x * y.cos(), F::INFINITY * y.sin());
                }
                c((x * x) * (y - y), (x + x) * (y - y))
            }

            /// numpy's `npy_ctanh` (FreeBSD's `ctanh`): its special values and
            /// its form for huge `|x|`; elsewhere
            /// `(sinh x cosh x + i sin y cos y) / (sinh^2 x + cos^2 y)`, a sum
            /// of squares without cancellation, which stays within 3 ulps of
            /// glibc (numpy's on Linux) where msun's Kahan form drifts to 5.
            pub(super) fn tanh(z: C) -> C {
                let (x, y) = (z.re, z.im);
                if !x.is_finite() {
                    if x.is_nan() {
                        return c(x, if y == 0.0 { y } else { x * y });
                    }
                    let im = if y.is_infinite() {
                        y
                    } else {
                        y.sin() * y.cos()
                    };
                    return c((1.0 as F).copysign(x), (0.0 as F).copysign(im));
                }
                if !y.is_finite() {
                    // tanh(+-0 + i inf) and tanh(+-0 + i NaN) are +-0 + i NaN
                    // (C11's correction of C99, as glibc).
                    return c(if x == 0.0 { x } else { y - y }, y - y);
                }
                if x.abs() >= TANH_HUGE {
                    let exp_mx = (-x.abs()).exp();
                    return c(
                        (1.0 as F).copysign(x),
                        4.0 * y.sin() * y.cos() * exp_mx * exp_mx,
                    );
                }
                let (s, ch) = (x.sinh(), x.cosh());
                let (sy, cy) = (y.sin(), y.cos());
                let denom = s.mul_add(s, cy * cy);
                c(s * ch / denom, sy * cy / denom)
            }

            /// `cos z = cosh(i z)`.
            pub(super) fn cos(z: C) -> C {
                cosh(c(-z.im, z.re))
            }

            /// `sin z = -i sinh(i z)`.
            pub(super) fn sin(z: C) -> C {
                if !z.re.is_finite() && z.im.is_infinite() {
                    // NaN +- inf i in Annex G; glibc's csin (numpy's on
                    // Linux) gives +inf.
                    return c(F::NAN, F::INFINITY);
                }
                let w = sinh(c(-z.im, z.re));
                c(w.im, -w.re)
            }

            /// `tan z = -i tanh(i z)`.
            pub(super) fn tan(z: C) -> C {
                let w = tanh(c(-z.im, z.re));
                c(w.im, -w.re)
            }

            /// `(hypot(a, b) - b) / 2`, given `hypot(a, b)`.
            fn half_excess(a: F, b: F, hypot_a_b: F) -> F {
                if b < 0.0 {
                    (hypot_a_b - b) / 2.0
                } else if b == 0.0 {
                    a / 2.0
                } else {
                    a * a / (hypot_a_b + b) / 2.0
                }
            }

            /// What Hull et al.'s algorithm computes for `casinh(x + iy)`,
            /// `x, y >= 0` and below `1/EPS` (numpy's `_do_hard_work`).
            struct HardWork {
                /// `Re casinh(z)`.
                rx: F,
                /// `B = y / A`, when usable for `asin(B)`.
                b: Option<F>,
                /// Otherwise `sqrt(A^2 - y^2)` and `y`, rescaled together.
                sqrt_a2my2: F,
                new_y: F,
            }

            fn do_hard_work(x: F, y: F) -> HardWork {
                let r = x.hypot(y + 1.0);
                let s = x.hypot(y - 1.0);
                let a = ((r + s) / 2.0).max(1.0);
                let rx = if a < A_CROSSOVER {
                    if y == 1.0 && x < EPS * EPS / 128.0 {
                        x.sqrt()
                    } else if x >= EPS * (y - 1.0).abs() {
                        let am1 = half_excess(x, 1.0 + y, r) + half_excess(x, 1.0 - y, s);
                        (am1 + (am1 * (a + 1.0)).sqrt()).ln_1p()
                    } else if y < 1.0 {
                        x / ((1.0 - y) * (1.0 + y)).sqrt()
                    } else {
                        ((y - 1.0) + ((y - 1.0) * (y + 1.0)).sqrt()).ln_1p()
                    }
                } else {
                    (a + (a * a - 1.0).sqrt()).ln()
                };
                if y < FOUR_SQRT_MIN {
                    return HardWork {
                        rx,
                        b: None,
                        sqrt_a2my2: a * (2.0 / EPS),
                        new_y: y * (2.0 / EPS),
                    };
                }
                let b = y / a;
                if b <= B_CROSSOVER {
                    return HardWork {
                        rx,
                        b: Some(b),
                        sqrt_a2my2: 0.0,
                        new_y: y,
                    };
                }
                let (sqrt_a2my2, new_y) = if y == 1.0 && x < EPS / 128.0 {
                    (x.sqrt() * ((a + y) / 2.0).sqrt(), y)
                } else if x >= EPS * (y - 1.0).abs() {
                    let amy = half_excess(x, y + 1.0, r) + half_excess(x, y - 1.0, s);
                    ((amy * (a + y)).sqrt(), y)
                } else if y > 1.0 {
                    let scale = 4.0 / EPS / EPS;
                    (x * scale * y / ((y + 1.0) * (y - 1.0)).sqrt(), y * scale)
                } else {
                    (((1.0 - y) * (1.0 + y)).sqrt(), y)
                };
                HardWork {
                    rx,
                    b: None,
                    sqrt_a2my2,
                    new_y,
                }
            }

            /// `log(x + iy)` for finite `|z|` above about `1/EPS`
            /// (numpy's `_clog_for_large_values`).
            fn clog_for_large_values(x: F, y: F) -> (F, F) {
                let (mut ax, mut ay) = (x.abs(), y.abs());
                if ax < ay {
                    std::mem::swap(&mut ax, &mut ay);
                }
                let rr = if ax > F::MAX / 2.0 {
                    (x / std::$f::consts::E).hypot(y / std::$f::consts::E).ln() + 1.0
                } else if ax > QUARTER_SQRT_MAX || ay < SQRT_MIN {
                    x.hypot(y).ln()
                } else {
                    (ax * ax + ay * ay).ln() / 2.0
                };
                (rr, y.atan2(x))
            }

            /// numpy's `npy_cacos` (FreeBSD's `cacos`, Hull et al.).
            pub(super) fn acos(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let (sx, sy) = (x.is_sign_negative(), y.is_sign_negative());
                let (ax, ay) = (x.abs(), y.abs());
                if x.is_nan() || y.is_nan() {
                    if x.is_infinite() {
                        return c(y + y, F::NEG_INFINITY);
                    }
                    if y.is_infinite() {
                        return c(x + x, -y);
                    }
                    if x == 0.0 {
                        return c(PIO2, y + y);
                    }
                    return c(F::NAN, F::NAN);
                }
                if ax > RECIP_EPSILON || ay > RECIP_EPSILON {
                    let (wx, wy) = clog_for_large_values(x, y);
                    let rx = wy.abs();
                    let ry = wx + LN2;
                    return c(rx, if sy { ry } else { -ry });
                }
                if x == 1.0 && y == 0.0 {
                    return c(0.0, -y);
                }
                if ax < SQRT_6_EPSILON / 4.0 && ay < SQRT_6_EPSILON / 4.0 {
                    return c(PIO2 - (x - PIO2_LO), -y);
                }
                let w = do_hard_work(ay, ax);
                let rx = match w.b {
                    Some(b) => (if sx { -b } else { b }).acos(),
                    None => w.sqrt_a2my2.atan2(if sx { -w.new_y } else { w.new_y }),
                };
                c(rx, if sy { w.rx } else { -w.rx })
            }

            /// `asin z = i conj(asinh(i conj z))`.
            pub(super) fn asin(z: C) -> C {
                let w = asinh(c(z.im, z.re));
                c(w.im, w.re)
            }

            /// `atan z = i conj(atanh(i conj z))`.
            pub(super) fn atan(z: C) -> C {
                let w = atanh(c(z.im, z.re));
                c(w.im, w.re)
            }

            /// numpy's `npy_cacosh`: `+-i acos z`, the sign making the real
            /// part non-negative.
            pub(super) fn acosh(z: C) -> C {
                let w = acos(z);
                let (rx, ry) = (w.re, w.im);
                if rx.is_nan() && ry.is_nan() {
                    return c(ry, rx);
                }
                if rx.is_nan() {
                    return c(ry.abs(), rx);
                }
                if ry.is_nan() {
                    // acosh(+-0 + i NaN) = NaN + i pi/2 (glibc's choice;
                    // numpy's msun copy gives NaN + i NaN).
                    return c(ry, rx);
                }
                c(ry.abs(), rx.copysign(z.im))
            }

            /// numpy's `npy_casinh` (FreeBSD's `casinh`, Hull et al.).
            pub(super) fn asinh(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let (ax, ay) = (x.abs(), y.abs());
                if x.is_nan() || y.is_nan() {
                    if x.is_infinite() {
                        return c(x, y + y);
                    }
                    if y.is_infinite() {
                        // +-inf + i NaN in Annex G; glibc gives +inf.
                        return c(y.abs(), x + x);
                    }
                    if y == 0.0 {
                        return c(x + x, y);
                    }
                    return c(F::NAN, F::NAN);
                }
                if ax > RECIP_EPSILON || ay > RECIP_EPSILON {
                    let (wx, wy) = if x.is_sign_negative() {
                        clog_for_large_values(-x, -y)
                    } else {
                        clog_for_large_values(x, y)
                    };
                    return c((wx + LN2).copysign(x), wy.copysign(y));
                }
                if x == 0.0 && y == 0.0 {
                    return z;
                }
                if ax < SQRT_6_EPSILON / 4.0 && ay < SQRT_6_EPSILON / 4.0 {
                    return z;
                }
                let w = do_hard_work(ax, ay);
                let ry = match w.b {
                    Some(b) => b.asin(),
                    None => w.new_y.atan2(w.sqrt_a2my2),
                };
                c(w.rx.copysign(x), ry.copysign(y))
            }

            /// `x*x + y*y`, or `x*x` where `y*y` would underflow.
            fn sum_squares(x: F, y: F) -> F {
                if y < SQRT_MIN {
                    x * x
                } else {
                    x * x + y * y
                }
            }

            /// `Re(1 / (x + iy))` without spurious underflow (numpy's
            /// `_real_part_reciprocal`), for `|z|` above `1/EPS`.
            fn real_part_reciprocal(x: F, y: F) -> F {
                const CUTOFF: i32 = MANT_DIG / 2 + 1;
                let (ix, iy) = (exponent_field(x), exponent_field(y));
                if ix - iy >= CUTOFF || x.is_infinite() {
                    return 1.0 / x;
                }
                if iy - ix >= CUTOFF {
                    return x / y / y;
                }
                if ix <= BIAS + (BIAS + 1) / 2 - CUTOFF {
                    return x / (x * x + y * y);
                }
                let scale = F::from_bits(((EXP_MASK as i32 - ix) as $bits) << MANT_BITS);
                let (x, y) = (x * scale, y * scale);
                x / (x * x + y * y) * scale
            }

            /// numpy's `npy_catanh` (FreeBSD's `catanh`).
            pub(super) fn atanh(z: C) -> C {
                let (x, y) = (z.re, z.im);
                let (ax, ay) = (x.abs(), y.abs());
                if y == 0.0 && ax <= 1.0 {
                    return c(x.atanh(), y);
                }
                if x == 0.0 {
                    return c(x, y.atan());
                }
                if x.is_nan() || y.is_nan() {
                    if x.is_infinite() {
                        return c((0.0 as F).copysign(x), y + y);
                    }
                    if y.is_infinite() {
                        return c((0.0 as F).copysign(x), PIO2.copysign(y));
                    }
                    return c(F::NAN, F::NAN);
                }
                if ax > RECIP_EPSILON || ay > RECIP_EPSILON {
                    return c(real_part_reciprocal(x, y), PIO2.copysign(y));
                }
                if ax < SQRT_3_EPSILON / 2.0 && ay < SQRT_3_EPSILON / 2.0 {
                    return z;
                }
                let rx = if ax == 1.0 && ay < EPS {
                    (LN2 - ay.ln()) / 2.0
                } else {
                    (4.0 * ax / sum_squares(ax - 1.0, ay)).ln_1p() / 4.0
                };
                let ry = if ax == 1.0 {
                    (2.0 as F).atan2(-ay) / 2.0
                } else if ay < EPS {
                    (2.0 * ay).atan2((1.0 - ax) * (1.0 + ax)) / 2.0
                } else {
                    (2.0 * ay).atan2((1.0 - ax) * (1.0 + ax) - ay * ay) / 2.0
                };
                c(rx.copysign(x), ry.copysign(y))
            }
        }

        impl ComplexMath for Complex<$f> {
            fn csquare(self) -> Self {
                $module::square(self)
            }
            fn cmultiply(self, b: Self) -> Self {
                $module::multiply(self, b)
            }
            fn creciprocal(self) -> Self {
                $module::reciprocal(self)
            }
            fn csign(self) -> Self {
                $module::sign(self)
            }
            fn csqrt(self) -> Self {
                Self::narrow(double::sqrt(self.widen()))
            }
            fn cexp(self) -> Self {
                Self::narrow(double::exp(self.widen()))
            }
            fn cexpm1(self) -> Self {
                $module::expm1(self)
            }
            fn clog(self) -> Self {
                Self::narrow(double::log(self.widen()))
            }
            fn clog10(self) -> Self {
                $module::log10(self.clog())
            }
            fn clog1p(self) -> Self {
                $module::log1p(self)
            }
            fn csin(self) -> Self {
                Self::narrow(double::sin(self.widen()))
            }
            fn ccos(self) -> Self {
                Self::narrow(double::cos(self.widen()))
            }
            fn ctan(self) -> Self {
                Self::narrow(double::tan(self.widen()))
            }
            fn casin(self) -> Self {
                Self::narrow(double::asin(self.widen()))
            }
            fn cacos(self) -> Self {
                Self::narrow(double::acos(self.widen()))
            }
            fn catan(self) -> Self {
                Self::narrow(double::atan(self.widen()))
            }
            fn csinh(self) -> Self {
                Self::narrow(double::sinh(self.widen()))
            }
            fn ccosh(self) -> Self {
                Self::narrow(double::cosh(self.widen()))
            }
            fn ctanh(self) -> Self {
                Self::narrow(double::tanh(self.widen()))
            }
            fn casinh(self) -> Self {
                Self::narrow(double::asinh(self.widen()))
            }
            fn cacosh(self) -> Self {
                Self::narrow(double::acosh(self.widen()))
            }
            fn catanh(self) -> Self {
                Self::narrow(double::atanh(self.widen()))
            }
            fn cpow(self, b: Self) -> Self {
                $module::pow(self, b)
            }
        }
    };
}

// `f32` evaluates the C library's functions in `f64` (see `Wide`); the rest
// of its module serves numpy's loops, which compute in `f32`.
complex_math!(#[allow(dead_code)] single, f32, u32, {
    mant_bits: 23, exp_mask: 0xff, bias: 127,
    scaled_cexp_k: 235, scaled_cexp_lower: 88.722_84, scaled_cexp_upper: 192.694_92,
    cosh_big: 9.0, cosh_huge: 1.701_411_8e38, tanh_huge: 11.0,
    four_sqrt_min: 4.336_808_7e-19, quarter_sqrt_max: 4.611_686e18,
    sqrt_min: 1.084_202_2e-19, sqrt_6_epsilon: 8.457_279e-4, sqrt_3_epsilon: 5.980_2e-4,
    pio2_lo: 7.549_79e-9,
});

complex_math!(double, f64, u64, {
    mant_bits: 52, exp_mask: 0x7ff, bias: 1023,
    scaled_cexp_k: 1799, scaled_cexp_lower: 710.475_860_073_943_9, scaled_cexp_upper: 1_454.915_931_995_325,
    cosh_big: 22.0, cosh_huge: 8.988_465_674_311_58e307, tanh_huge: 22.0,
    four_sqrt_min: 5.966_672_584_960_166e-154, quarter_sqrt_max: 3.351_951_982_485_649e153,
    sqrt_min: 1.491_668_146_240_041_3e-154, sqrt_6_epsilon: 3.650_024_149_988_857e-8,
    sqrt_3_epsilon: 2.580_956_827_951_785e-8, pio2_lo: 6.123_233_995_736_766e-17,
});

#[cfg(test)]
mod tests {
    //! Every function against numpy itself: `tests/interop/complex_reference.py`
    //! prints numpy's results on a dense grid of edge inputs.

    use std::collections::BTreeMap;
    use std::path::Path;
    use std::process::Command;

    use num_complex::Complex;

    use super::ComplexMath;
    use crate::ops::engine::scalar::{BinaryOp, CompareOp, Scalar, UnaryOp};

    /// numpy's results, or `None` (with a notice) when numpy or the script
    /// (in the workspace's `tests/`) is missing.
    fn reference() -> Option<String> {
        if !Command::new("python3").args(["-c", "import numpy"]).status().is_ok_and(|s| s.success()) {
            eprintln!("NOTICE: numpy cannot be imported; skipping the complex reference test");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/complex_reference.py");
        if !script.exists() {
            eprintln!("NOTICE: no {} (outside the workspace); skipping", script.display());
            return None;
        }
        let out = Command::new("python3").arg(script).output().expect("python3 runs");
        assert!(out.status.success(), "complex_reference.py: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8(out.stdout).expect("ASCII"))
    }

    /// Distance in units in the last place, `None` where the values must be
    /// identical and are not (NaN against a number, infinities, zero signs).
    pub(crate) trait Ulps: Copy {
        fn ulps(got: Self, expected: Self) -> Option<u64>;
        fn is_zero(self) -> bool;
        fn is_nan(self) -> bool;
    }

    macro_rules! ulps {
        ($($f:ident => $i:ident),*) => {$(
            impl Ulps for $f {
                fn is_zero(self) -> bool { self == 0.0 }
                fn is_nan(self) -> bool { <$f>::is_nan(self) }
                fn ulps(got: $f, expected: $f) -> Option<u64> {
                    if expected.is_nan() || got.is_nan() {
                        return (expected.is_nan() && got.is_nan()).then_some(0);
                    }
                    if expected.is_infinite() || got.is_infinite() {
                        return (got == expected).then_some(0);
                    }
                    // Signs (of zeros too) must agree; magnitudes are then
                    // ordered as their bit patterns.
                    if got.is_sign_negative() != expected.is_sign_negative() {
                        return None;
                    }
                    Some((got.abs().to_bits() as $i).abs_diff(expected.abs().to_bits() as $i) as u64)
                }
            }
        )*};
    }
    ulps!(f32 => i64, f64 => i64);

    fn unary_op(name: &str) -> UnaryOp {
        UnaryOp::ALL.into_iter().find(|op| op.name() == name).unwrap_or_else(|| panic!("no op {name}"))
    }

    fn binary_op(name: &str) -> Option<BinaryOp> {
        use BinaryOp::*;
        [Power, TrueDivide, Multiply, Add, Subtract].into_iter().find(|op| op.name() == name)
    }

    fn compare_op(name: &str) -> CompareOp {
        use CompareOp::*;
        [Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual]
            .into_iter()
            .find(|op| op.name() == name)
            .expect("comparison")
    }

    /// Checks every line of one dtype; returns (function -> max ulps) and the
    /// mismatches.
    fn check<F: Ulps + std::fmt::Debug>(
        text: &str,
        dtype: &str,
        parse: impl Fn(&str) -> F,
        max_ulps: u64,
    ) -> (BTreeMap<String, u64>, Vec<String>)
    where
        Complex<F>: Scalar + ComplexMath,
    {
        let mut worst = BTreeMap::new();
        let mut bad = Vec::new();
        for line in text.lines().filter(|l| l.starts_with(&format!("{dtype} "))) {
            let (lhs, rhs) = line.split_once(" = ").expect("=");
            let words: Vec<&str> = lhs.split(' ').collect();
            let name = words[1];
            if name == "absolute" {
                continue; // real, not a `Scalar` op of complex numbers: the suite checks it
            }
            let z: Vec<F> = words[2..].iter().map(|w| parse(w)).collect();
            let a = Complex::new(z[0], z[1]);
            let out: Vec<&str> = rhs.split(' ').collect();
            if out.len() == 1 {
                let b = Complex::new(z[2], z[3]);
                let got = Complex::<F>::compare(compare_op(name), a, b);
                if got != (out[0] == "1") {
                    bad.push(format!("{name}({a:?}, {b:?}) = {got}, numpy {}", out[0]));
                }
                continue;
            }
            let (got, what) = if z.len() == 4 {
                let b = Complex::new(z[2], z[3]);
                let op = binary_op(name).expect("binary op");
                (Complex::<F>::binary(op, a, b).expect("complex op"), format!("{name}({a:?}, {b:?})"))
            } else {
                (Complex::<F>::unary(unary_op(name), a).expect("complex op"), format!("{name}({a:?})"))
            };
            let expected = Complex::new(parse(out[0]), parse(out[1]));
            // Annex G leaves the sign of a zero beside a NaN unspecified
            // (`ccosh(0 + inf i)` is `NaN +- 0i`): such a zero must be a
            // zero, of either sign.
            let part = |g: F, e: F, other: F| {
                if e.is_zero() && other.is_nan() && g.is_zero() {
                    Some(0)
                } else {
                    F::ulps(g, e)
                }
            };
            let d = part(got.re, expected.re, expected.im)
                .zip(part(got.im, expected.im, expected.re))
                .map(|(r, i)| r.max(i));
            let entry = worst.entry(name.to_string()).or_insert(0);
            match d {
                Some(d) if d <= max_ulps => *entry = (*entry).max(d),
                _ => bad.push(format!("{what} = {got:?}, numpy {expected:?} ({d:?} ulps)")),
            }
        }
        (worst, bad)
    }

    #[test]
    fn numpy_results_within_a_few_ulps() {
        let Some(text) = reference() else { return };
        let single = |w: &str| f32::from_bits(u32::from_str_radix(w, 16).expect("hex"));
        let double = |w: &str| f64::from_bits(u64::from_str_radix(w, 16).expect("hex"));
        // Edge inputs within 4 ulps of numpy; ordinary random ones within 8
        // (numpy itself is up to 5 ulps from the exact result there).
        let mut bad = Vec::new();
        for (dtype, max_ulps) in [("complex64", 4), ("complex64/random", 8)] {
            let (worst, b) = check(&text, dtype, single, max_ulps);
            eprintln!("max ulps vs numpy, {dtype}: {worst:?}");
            bad.extend(b);
        }
        for (dtype, max_ulps) in [("complex128", 4), ("complex128/random", 8)] {
            let (worst, b) = check(&text, dtype, double, max_ulps);
            eprintln!("max ulps vs numpy, {dtype}: {worst:?}");
            bad.extend(b);
        }
        assert!(bad.is_empty(), "{} results differ from numpy:\n{}", bad.len(), bad.join("\n"));
    }
}
