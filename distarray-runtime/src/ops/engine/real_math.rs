//! Real functions that std does not compute within a few ulp of numpy.
//!
//! std's `asinh` and `acosh` square their argument, so they overflow to ±inf
//! past about 1e154 (f64) or 1.8e19 (f32), where numpy gives finite values
//! (710.48 for `arccosh(f64::MAX)`); std's `atanh` computes
//! `0.5 * ln_1p(2x / (1 - x))`, whose rounded quotient is up to ~20 ulp off
//! near ±1. The `libm` crate's versions (ports of musl's) are within 1 ulp of
//! numpy's on the tests' fixtures (`tests/fixtures/real_ufuncs_*.txt`), f32
//! and f64 alike. The other real functions of std (the platform's libm) are
//! already within 2 ulp of numpy, so they stay.

/// The inverse hyperbolic functions, numpy's way.
pub(super) trait InverseHyperbolic: Sized {
    fn arcsinh(self) -> Self;
    /// NaN below 1 (as numpy; musl's `acosh` leaves that case undefined).
    fn arccosh(self) -> Self;
    fn arctanh(self) -> Self;
}

macro_rules! inverse_hyperbolic {
    ($($t:ty: $asinh:path, $acosh:path, $atanh:path;)*) => {$(
        impl InverseHyperbolic for $t {
            fn arcsinh(self) -> $t {
                $asinh(self)
            }
            fn arccosh(self) -> $t {
                if self < 1.0 { <$t>::NAN } else { $acosh(self) }
            }
            fn arctanh(self) -> $t {
                $atanh(self)
            }
        }
    )*};
}

inverse_hyperbolic! {
    f32: libm::asinhf, libm::acoshf, libm::atanhf;
    f64: libm::asinh, libm::acosh, libm::atanh;
}

#[cfg(test)]
mod tests {
    use super::InverseHyperbolic;

    #[test]
    fn no_overflow_near_the_largest_values_and_exact_edges() {
        // numpy 2: arccosh(f64::MAX) = 710.475860073944 (nearest float 710.4758600739439...).
        assert!((f64::MAX.arccosh() - 710.475_860_073_943_9).abs() < 1e-12);
        assert!((f64::MAX.arcsinh() - 710.475_860_073_943_9).abs() < 1e-12);
        assert!(((-f64::MAX).arcsinh() + 710.475_860_073_943_9).abs() < 1e-12);
        assert!((f32::MAX.arccosh() - 89.415_985).abs() < 1e-5);
        assert_eq!(1.0f64.arctanh(), f64::INFINITY);
        assert_eq!((-1.0f32).arctanh(), f32::NEG_INFINITY);
        assert!(1.5f64.arctanh().is_nan() && 0.5f64.arccosh().is_nan() && (-3.0f32).arccosh().is_nan());
        assert!(f64::NAN.arccosh().is_nan() && f32::NAN.arcsinh().is_nan());
        assert_eq!(1.0f64.arccosh(), 0.0);
        assert_eq!(f64::INFINITY.arccosh(), f64::INFINITY);
        assert!((-0.0f64).arcsinh().is_sign_negative() && (-0.0f32).arctanh().is_sign_negative());
        // Near 1: numpy's arctanh(1 - 2^-53) = 18.714973875118524.
        assert_eq!((1.0f64 - f64::EPSILON / 2.0).arctanh(), 18.714_973_875_118_524);
    }
}
