//! The typed samplers: floats (`f32`, `f64`), integers of every width and
//! booleans, each element from the words of its own Philox blocks (see
//! `stream`), so the values do not depend on the layout.
//!
//! `f64` and `i64` give the numbers the samplers had before they were typed:
//! the same words, the same arithmetic.

use serde::{Deserialize, Serialize};

use super::stream::Stream;
use super::{output_by_groups, Params};
use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::engine::kernel::{
    register_internal, register_untyped, InternalKernel, KernelInputs, KernelOutput, UntypedKernel,
};

/// The float samplers, for `f32` and `f64` (other types refuse).
pub(crate) const FLOATS: InternalKernel = InternalKernel::new("distarray::random::floats");
/// The integer sampler, for every integer type (other types refuse).
pub(crate) const INTEGERS: InternalKernel = InternalKernel::new("distarray::random::integers");
/// The boolean sampler.
pub(crate) const BOOLS: UntypedKernel = UntypedKernel::new("distarray::random::bools");

register_internal!(FLOATS, float => run_floats, bool | int | complex => refuse);
register_internal!(INTEGERS, int => run_integers, bool | float | complex => refuse);
register_untyped!(BOOLS, run_bools);

/// What a float sampler draws (parameters in `f64`, exact for `f32` ones).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum Floats {
    /// Uniform on `[0, 1)`.
    Unit,
    /// `loc + scale * z` for a standard normal `z`, computed in `f64`.
    Normal { loc: f64, scale: f64 },
    /// `low + (high - low) * u` for `rand::<f64>`'s `u`, computed in `f64`,
    /// kept below `high` (unless `low == high`).
    Uniform { low: f64, high: f64 },
}

/// The integer sampler: uniform on `[low, low + range)`, `1 <= range <= 2^64`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Integers {
    pub low: i128,
    pub range: u128,
}

/// The boolean sampler: `true` with probability `p`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Bools {
    pub p: f64,
}

/// 2^-53 and 2^-24: the spacings of the `f64` and `f32` uniforms.
const EPSILON_53: f64 = 1.0 / (1u64 << 53) as f64;
const EPSILON_24: f32 = 1.0 / (1u32 << 24) as f32;

/// A float type the samplers fill.
pub(crate) trait SampledFloat: Element {
    /// The uniform on `[0, 1)` of a 64-bit word: its top mantissa-width bits.
    fn unit(word: u64) -> Self;
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
    /// `x` widened to `f64` (exactly).
    fn to_f64(self) -> f64;
    /// The largest value below `x` (finite `x`).
    fn below(x: Self) -> Self;
}

impl SampledFloat for f64 {
    #[inline]
    fn unit(word: u64) -> f64 {
        (word >> 11) as f64 * EPSILON_53
    }
    #[inline]
    fn from_f64(x: f64) -> f64 {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    fn below(x: f64) -> f64 {
        x.next_down()
    }
}

impl SampledFloat for f32 {
    #[inline]
    fn unit(word: u64) -> f32 {
        (word >> 40) as f32 * EPSILON_24
    }
    #[inline]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn below(x: f32) -> f32 {
        x.next_down()
    }
}

/// `low + (high - low) * u` in `f64`, for finite `low <= high` and `u` in
/// `[0, 1)`; when `high - low` overflows, the same on halves.
#[inline]
fn affine(low: f64, high: f64, u: f64) -> f64 {
    let width = high - low;
    if width.is_finite() {
        low + width * u
    } else {
        2.0 * (0.5 * low + (0.5 * high - 0.5 * low) * u)
    }
}

/// The uniform on `[low, high)` (finite `low <= high`; `low` when equal)
/// of a first word, as a `T`.
#[inline]
fn uniform_of<T: SampledFloat>(low: f64, high: f64, word: u64) -> T {
    let x = T::from_f64(affine(low, high, f64::unit(word)));
    // Rounding may reach `high` (the interval is half-open), never go below
    // `low` (both are values of `T`).
    if x.to_f64() >= high && low < high {
        T::below(T::from_f64(high))
    } else {
        x
    }
}

/// This engine's piece of the array being built, element `k` being
/// `f(k, first word of k)`.
fn from_first_words<S, T: Element>(
    inputs: &mut KernelInputs<'_>,
    params: &Params<S>,
    f: impl Fn(u64, u64) -> T,
) -> Result<KernelOutput> {
    let stream = Stream::new(params.seed, params.call);
    // Words in thirty-twos: sixteen Philox blocks at once.
    output_by_groups(
        inputs,
        &params.strides,
        |q| -> [T; 32] {
            let words = stream.first_words32(q);
            std::array::from_fn(|i| f(32 * q + i as u64, words[i]))
        },
        |k| f(k, stream.first_word(k)),
    )
}

fn run_floats<T: SampledFloat>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<Floats> = inputs.split().0.decode()?;
    match params.sampler {
        Floats::Unit => from_first_words(inputs, &params, |_, w| T::unit(w)),
        Floats::Uniform { low, high } => from_first_words(inputs, &params, |_, w| uniform_of::<T>(low, high, w)),
        Floats::Normal { loc, scale } => {
            let stream = Stream::new(params.seed, params.call);
            from_first_words(inputs, &params, |k, w| T::from_f64(loc + scale * stream.normal(k, w)))
        }
    }
}

/// Element `k`'s offset in `[0, range)` (`1 <= range <= 2^64`) given its
/// first word: Lemire's rejection of `Stream::integer`, or the word itself
/// for the full 64-bit range.
#[inline]
pub(super) fn offset(stream: &Stream, k: u64, first: u64, range: u128) -> u64 {
    match u64::try_from(range) {
        Ok(range) => stream.integer(k, first, 0, range) as u64,
        Err(_) => first,
    }
}

fn run_integers<T: Element + TryFrom<i128>>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<Integers> = inputs.split().0.decode()?;
    let Integers { low, range } = params.sampler;
    let top = low.checked_add_unsigned(range.wrapping_sub(1)).unwrap_or(i128::MAX);
    if range == 0 || range > 1 << 64 || T::try_from(low).is_err() || T::try_from(top).is_err() {
        bail!(Protocol, "randint into {} was sent the range [{low}, {low} + {range})", T::DTYPE);
    }
    let stream = Stream::new(params.seed, params.call);
    from_first_words(inputs, &params, |k, first| {
        // In range by the check above.
        T::try_from(low + i128::from(offset(&stream, k, first, range))).unwrap_or_default()
    })
}

/// `⌈p · 2^64⌉`: a word `w` is below `p · 2^64` exactly when `w` is below it.
pub(super) fn bool_threshold(p: f64) -> u128 {
    // Scaling by a power of two is exact, and so is `ceil` of a float.
    (p * 18_446_744_073_709_551_616.0).ceil() as u128
}

fn run_bools(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<Bools> = inputs.split().0.decode()?;
    let p = params.sampler.p;
    if !(0.0..=1.0).contains(&p) {
        bail!(Protocol, "random_bool was sent p = {p}");
    }
    let threshold = bool_threshold(p);
    from_first_words(inputs, &params, |_, w| u128::from(w) < threshold)
}

/// The entries of element types a sampler does not make (the client never
/// calls them).
fn refuse<T: Element>(_: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    bail!(DTypeMismatch, "no random sampler makes {} arrays", T::DTYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_uniforms_are_the_top_24_bits() {
        assert_eq!(f32::unit(0), 0.0);
        assert_eq!(f32::unit(u64::MAX), 1.0 - EPSILON_24);
        assert_eq!(f32::unit(1 << 40), EPSILON_24);
        assert_eq!(f32::unit((1 << 40) - 1), 0.0);
        assert_eq!(f64::unit(0), 0.0);
        assert_eq!(f64::unit(u64::MAX), 1.0 - EPSILON_53);
        // The f32 uniform is the f64 one truncated to 24 bits.
        for w in [0x0123_4567_89ab_cdef_u64, u64::MAX / 3, 1 << 63] {
            let u = f64::unit(w);
            assert_eq!(f64::from(f32::unit(w)), (u * (1 << 24) as f64).floor() / (1 << 24) as f64);
        }
    }

    #[test]
    fn below_steps_down_one_ulp() {
        assert_eq!(f64::below(1.0), 1.0 - f64::EPSILON / 2.0);
        assert_eq!(f32::below(1.0), 1.0 - f32::EPSILON / 2.0);
        assert_eq!(f64::below(-1.0), -1.0 - f64::EPSILON);
        assert!(f64::below(0.0) < 0.0 && f64::below(0.0) > -1e-300);
        assert_eq!(f32::below(f32::MIN_POSITIVE), f32::from_bits(f32::MIN_POSITIVE.to_bits() - 1));
    }

    #[test]
    fn uniform_stays_half_open() {
        // The top word gives u = 1 - 2^-53: rounds to `high` in f32.
        assert_eq!(uniform_of::<f32>(0.0, 1.0, u64::MAX), 1.0 - f32::EPSILON / 2.0);
        assert_eq!(uniform_of::<f64>(0.0, 1.0, u64::MAX), 1.0 - f64::EPSILON / 2.0);
        assert_eq!(uniform_of::<f64>(2.0, 2.0, u64::MAX), 2.0);
        let (lo, hi) = (-f64::MAX, f64::MAX);
        for w in [0, 1 << 63, u64::MAX] {
            let x = uniform_of::<f64>(lo, hi, w);
            assert!(x.is_finite() && (lo..hi).contains(&x), "{x}");
        }
        assert_eq!(affine(-f64::MAX, f64::MAX, 0.5), 0.0);
    }

    #[test]
    fn bool_thresholds_are_exact() {
        assert_eq!(bool_threshold(0.0), 0);
        assert_eq!(bool_threshold(1.0), 1 << 64);
        assert_eq!(bool_threshold(0.5), 1 << 63);
        assert_eq!(bool_threshold(f64::from_bits(1)), 1);
        // 0.1 is 0x1999999999999A · 2^-56: p · 2^64 is an integer.
        assert_eq!(bool_threshold(0.1), 0x1999_9999_9999_9A00);
        // Below 2^-12, p · 2^64 has a fraction: rounded up.
        assert_eq!(bool_threshold(1.5 * f64::powi(2.0, -64)), 2);
    }
}
