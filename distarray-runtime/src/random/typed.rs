//! The element types of `Random`'s samplers ([`RandomFloat`],
//! [`RandomInteger`]), their argument checks, and the samplers numpy has
//! beyond the reference's four: [`Random::uniform`] and
//! [`Random::random_bool`].

use super::engine::typed::{Bools, Floats, Integers, BOOLS, FLOATS, INTEGERS};
use super::Random;
use crate::client::{DistArray, Distribution, KernelCall};
use crate::core::element::{for_each_element, Element};
use crate::core::error::{bail, Result};

mod sealed {
    pub trait Sealed {}
}

/// A float type that [`Random`] samples: `f32` or `f64` (sealed).
///
/// Values are computed from the same 64-bit words for both types: uniforms
/// from the word's top 53 (`f64`) or 24 (`f32`) bits, everything else in
/// `f64` and rounded to `T`.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use distarray::random::RandomFloat;
///
/// /// The mean of `n` uniforms of either width.
/// fn mean_of<T: RandomFloat>(random: &Random, n: usize) -> Result<f64> {
///     let d = Distribution::from_shape(random.context(), &[n])?;
///     let u = random.rand::<T>(&d)?.toarray()?;
///     Ok(u.iter().map(|&x| -> f64 { x.into() }).sum::<f64>() / n as f64)
/// }
///
/// let random = Random::new(&Context::new()?);
/// assert!((mean_of::<f32>(&random, 10_000)? - 0.5).abs() < 0.05);
/// assert!((mean_of::<f64>(&random, 10_000)? - 0.5).abs() < 0.05);
/// # Ok::<(), distarray::Error>(())
/// ```
pub trait RandomFloat: Element + Into<f64> + sealed::Sealed {}

impl sealed::Sealed for f32 {}
impl sealed::Sealed for f64 {}
impl RandomFloat for f32 {}
impl RandomFloat for f64 {}

/// An integer type that [`Random::randint`] fills: every signed and
/// unsigned width (sealed).
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use distarray::random::RandomInteger;
///
/// /// Integers spread over all of `T`.
/// fn any_value<T: RandomInteger>(random: &Random, d: &Distribution) -> Result<DistArray<T>> {
///     random.randint::<T>(d, T::LOWEST, Some(T::HIGHEST + 1))
/// }
///
/// let ctx = Context::new()?;
/// let random = Random::new(&ctx);
/// let d = Distribution::from_shape(&ctx, &[1000])?;
/// assert!(any_value::<i8>(&random, &d)?.toarray()?.iter().any(|&x| x < -100));
/// assert!(any_value::<u64>(&random, &d)?.toarray()?.iter().any(|&x| x > u64::MAX / 2));
/// assert_eq!((u16::LOWEST, u16::HIGHEST), (0, 65_535));
/// # Ok::<(), distarray::Error>(())
/// ```
pub trait RandomInteger: Element + sealed::Sealed {
    /// The type's smallest value, as an `i128`.
    const LOWEST: i128;
    /// The type's largest value, as an `i128`.
    const HIGHEST: i128;
}

macro_rules! random_integer {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl sealed::Sealed for $t {}
        impl RandomInteger for $t {
            const LOWEST: i128 = <$t>::MIN as i128;
            const HIGHEST: i128 = <$t>::MAX as i128;
        }
    )*};
}
for_each_element!(int => random_integer {});

impl Random {
    /// A float sampler's array of `T`.
    pub(super) fn floats<T: RandomFloat>(&self, distribution: &Distribution, sampler: Floats) -> Result<DistArray<T>> {
        self.draw(distribution, KernelCall::internal::<T>(&FLOATS), sampler)
    }

    /// [`randint`](Self::randint)'s checks and call.
    pub(super) fn integers<T: RandomInteger>(
        &self,
        distribution: &Distribution,
        low: i128,
        high: Option<i128>,
    ) -> Result<DistArray<T>> {
        let (low, high) = match high {
            Some(high) => (low, high),
            None => (0, low),
        };
        let name = T::DTYPE;
        if low >= high {
            bail!(InvalidArgument, "randint::<{name}> needs low < high, not [{low}, {high})");
        }
        if low < T::LOWEST {
            bail!(
                InvalidArgument,
                "randint::<{name}>: [{low}, {high}) starts below {name}'s smallest value {}",
                T::LOWEST
            );
        }
        if high - 1 > T::HIGHEST {
            bail!(
                InvalidArgument,
                "randint::<{name}>: [{low}, {high}) ends above {name}'s largest value {} (high may be at most {})",
                T::HIGHEST,
                T::HIGHEST + 1
            );
        }
        // Inside T's range: at most 2^64, no overflow.
        let range = (high - low) as u128;
        self.draw(distribution, KernelCall::internal::<T>(&INTEGERS), Integers { low, range })
    }

    /// An array of floats drawn uniformly from `[low, high)` (numpy's
    /// `uniform`): `low + (high - low) * u` for the `u` of
    /// [`rand::<f64>`](Self::rand), computed in `f64` and rounded to `T`; a
    /// value that rounds up to `high` is replaced by the largest `T` below
    /// it, so `high` never occurs. `low == high` gives `low` everywhere. A
    /// width `high - low` beyond `f64`'s range is handled (the formula on
    /// halves).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[10_000])?;
    /// random.seed(Some(3));
    /// let x = random.uniform::<f64>(&d, -2.0, 6.0)?.toarray()?;
    /// assert!(x.iter().all(|&v| (-2.0..6.0).contains(&v)));
    /// assert!((x.mean().unwrap() - 2.0).abs() < 0.1);
    /// // The formula, on rand's numbers of the same call:
    /// random.seed(Some(3));
    /// let u = random.rand::<f64>(&d)?.toarray()?;
    /// assert_eq!(x, u.mapv(|u| -2.0 + 8.0 * u));
    /// let y = random.uniform(&d, 0.0f32, 1e-3)?.toarray()?;
    /// assert!(y.iter().all(|&v| (0.0..1e-3).contains(&v)));
    /// assert_eq!(random.uniform(&d, 1.0, 0.0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if `low` or `high` is not finite or `low > high`;
    /// `WrongContext` if `distribution` belongs to another context;
    /// `OutOfMemory` if an engine cannot hold its piece.
    pub fn uniform<T: RandomFloat>(&self, distribution: &Distribution, low: T, high: T) -> Result<DistArray<T>> {
        let (low, high): (f64, f64) = (low.into(), high.into());
        if !low.is_finite() || !high.is_finite() || low > high {
            bail!(InvalidArgument, "uniform needs finite low <= high, not [{low}, {high})");
        }
        self.floats(distribution, Floats::Uniform { low, high })
    }

    /// An array of booleans, each `true` with probability `p`: element `k`
    /// is `word < p · 2^64` for its 64-bit word (the one
    /// [`rand`](Self::rand) uses), compared exactly. The probability is
    /// `⌈p · 2^64⌉ / 2^64`: exactly `p` for `p >= 2^-12` and every multiple
    /// of 2^-64 (0 and 1 included: `p = 1` is always `true`, `p = 0` never).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::builder(&ctx, &[10_000]).dist("c").build()?;
    /// random.seed(Some(5));
    /// let coins = random.random_bool(&d, 0.25)?.toarray()?;
    /// let heads = coins.iter().filter(|&&c| c).count();
    /// assert!((2300..2700).contains(&heads));
    /// // The same words as rand's: true exactly where u < p.
    /// random.seed(Some(5));
    /// let u = random.rand::<f64>(&d)?.toarray()?;
    /// assert!(coins.iter().zip(&u).all(|(&c, &u)| c == (u < 0.25)));
    /// assert!(random.random_bool(&d, 1.0)?.toarray()?.iter().all(|&c| c));
    /// assert_eq!(random.random_bool(&d, 1.5).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` unless `0 <= p <= 1`; `WrongContext` if
    /// `distribution` belongs to another context; `OutOfMemory` if an engine
    /// cannot hold its piece.
    pub fn random_bool(&self, distribution: &Distribution, p: f64) -> Result<DistArray<bool>> {
        if !(0.0..=1.0).contains(&p) {
            bail!(InvalidArgument, "random_bool needs a probability 0 <= p <= 1, not {p}");
        }
        self.draw(distribution, KernelCall::untyped(&BOOLS), Bools { p })
    }
}
