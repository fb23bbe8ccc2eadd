//! [`Random::sample`]: arrays of any `rand` distribution, each element drawn
//! from its own element stream; and [`register_sampler!`](crate::register_sampler),
//! which registers a (distribution, element type) pair on the engines.

use std::any::type_name;

use rand::distr::Distribution as RandDistribution;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::engine::element::ElementRng;
use super::engine::sample::{find_sampler, unregistered, Draw, SampleParams, SAMPLE};
use super::engine::strides;
use super::Random;
use crate::client::{build_from_index, DistArray, Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, Result};

impl<T, D: RandDistribution<T>> Draw<T> for D {
    #[inline]
    fn draw(&self, rng: &mut ElementRng) -> T {
        self.sample(rng)
    }
}

impl Random {
    /// An array of samples of `sampler`, any [`rand::distr::Distribution`]
    /// of an element type — `rand_distr`'s `Gamma`, `Poisson`, `Beta`, …,
    /// `rand`'s `Uniform` and `StandardUniform`, or your own — shipped to the
    /// engines by value (serde).
    ///
    /// Element `k` (row-major global index) is
    /// `sampler.sample(&mut stream.element(k))`, where `stream` is this
    /// call's [`RandomStream`](crate::random::RandomStream) (the one
    /// [`state`](Self::state) names before the call): every element has its
    /// own sub-stream of Philox blocks (the counter layout is on
    /// `RandomStream`), so a rejection sampler that takes a variable number
    /// of draws per element stays reproducible. The values are the same for
    /// any engine count, map type, grid shape, thread count and backend. Each
    /// call advances the call counter, like the other samplers.
    ///
    /// The engines run one kernel per (distribution, element type) pair,
    /// registered at link time: every distribution of `rand::distr`
    /// (`StandardUniform` for each integer, float and `bool` type,
    /// `Uniform<T>` for the integer and float types, `Bernoulli`, `Open01`,
    /// `OpenClosed01`) and of `rand_distr` that has serde (`StandardNormal`,
    /// `Normal`, `LogNormal`, `Exp1`, `Exp`, `Gamma`, `ChiSquared`,
    /// `FisherF`, `StudentT`, `Beta`, `Cauchy`, `Weibull`, `Pareto`, `Pert`,
    /// `Triangular`, `Gumbel`, `Frechet`, `SkewNormal`, `InverseGaussian`,
    /// `NormalInverseGaussian` and `Poisson` for `f32` and `f64`;
    /// `Binomial`, `Geometric`, `StandardGeometric` and `Hypergeometric` for
    /// `u64`) is registered. `Zeta` and `Zipf` have no serde and cannot be
    /// shipped. Register any other pair with
    /// [`register_sampler!`](crate::register_sampler). Pairs are keyed by
    /// [`std::any::type_name`], so two types of one name (two versions of one
    /// crate) cannot both be registered.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    /// use rand_distr::{Gamma, Poisson};
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// random.seed(Some(1));
    /// let d = Distribution::from_shape(&ctx, &[200, 50])?;
    /// let g = random.sample::<f64, _>(&d, Gamma::new(2.0, 1.5).unwrap())?.toarray()?;
    /// assert!((g.mean().unwrap() - 3.0).abs() < 0.1); // shape × scale
    /// let p: DistArray<f32> = random.sample(&d, Poisson::new(4.0f32).unwrap())?;
    /// assert!(p.toarray()?.iter().all(|&x| x >= 0.0 && x.fract() == 0.0));
    ///
    /// // The same numbers on one engine, dealt cyclically.
    /// let one = Context::with_targets(&[0])?;
    /// let again = Random::new(&one);
    /// again.seed(Some(1));
    /// let d1 = Distribution::builder(&one, &[200, 50]).dist("cc").build()?;
    /// assert_eq!(again.sample(&d1, Gamma::new(2.0, 1.5).unwrap())?.toarray()?, g);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// A distribution of your own, registered for `f64`:
    /// ```
    /// use distarray::prelude::*;
    /// use rand::Rng;
    /// use serde::{Deserialize, Serialize};
    ///
    /// /// The sum of `n` uniforms on [0, 1).
    /// #[derive(Serialize, Deserialize)]
    /// struct IrwinHall { n: u32 }
    ///
    /// impl rand::distr::Distribution<f64> for IrwinHall {
    ///     fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
    ///         (0..self.n).map(|_| rng.random::<f64>()).sum()
    ///     }
    /// }
    ///
    /// impl rand::distr::Distribution<f32> for IrwinHall {
    ///     fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
    ///         (0..self.n).map(|_| rng.random::<f32>()).sum()
    ///     }
    /// }
    ///
    /// distarray::register_sampler!(IrwinHall => f64);
    ///
    /// # fn main() -> distarray::Result<()> {
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[1000])?;
    /// let x = random.sample::<f64, _>(&d, IrwinHall { n: 12 })?.toarray()?;
    /// assert!((x.mean().unwrap() - 6.0).abs() < 0.2);
    /// // Not registered for f32: an error naming both types, before any engine works.
    /// let e = random.sample::<f32, _>(&d, IrwinHall { n: 12 }).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// assert!(e.message().contains("distarray::register_sampler!(") && e.message().contains("IrwinHall => f32"));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// `Unsupported` if the pair is not registered (the message names both
    /// types and the `register_sampler!` line to add), before any engine
    /// works and without advancing the call counter; `WrongContext` if
    /// `distribution` belongs to another context; `Unsupported` after 2^48
    /// calls since the last seed; `Protocol` if `sampler` cannot be
    /// serialized; `OutOfMemory` if an engine cannot hold its piece; a
    /// panicking sampler fails the call as a kernel's panic does.
    pub fn sample<T, D>(&self, distribution: &Distribution, sampler: D) -> Result<DistArray<T>>
    where
        T: Element,
        D: RandDistribution<T> + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let (sampler_type, element_type) = (type_name::<D>(), type_name::<T>());
        if find_sampler(sampler_type, element_type).is_none() {
            bail!(Unsupported, "{}", unregistered(sampler_type, element_type));
        }
        distribution.check_context(&self.context)?;
        let stream = self.next_stream()?;
        let params = SampleParams {
            sampler_type: sampler_type.to_owned(),
            element_type: element_type.to_owned(),
            stream,
            strides: strides(distribution.shape()),
            sampler,
        };
        build_from_index(&self.context, distribution, KernelCall::untyped(&SAMPLE), &params)
    }
}

/// Registers distribution types on the engines for
/// [`Random::sample`](crate::Random::sample): one kernel per
/// `Distribution => element type` pair (several element types of one
/// distribution separated by `|`). Write it at module level, once per pair,
/// in any crate of the program: registration happens at link time on every
/// engine, thread or MPI rank alike.
///
/// The distribution must implement `rand::distr::Distribution<T>`,
/// `Serialize` and `DeserializeOwned` (and be `Send + Sync + 'static`);
/// the library registers the distributions of `rand` and `rand_distr`
/// already (see `Random::sample`), and registering a pair twice is harmless.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use rand::Rng;
/// use serde::{Deserialize, Serialize};
///
/// /// A coin that shows `heads` with probability `p`.
/// #[derive(Serialize, Deserialize)]
/// struct Coin { p: f64, heads: i8 }
///
/// impl rand::distr::Distribution<i8> for Coin {
///     fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> i8 {
///         if rng.random_bool(self.p) { self.heads } else { 0 }
///     }
/// }
/// impl rand::distr::Distribution<i64> for Coin {
///     fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
///         if rng.random_bool(self.p) { self.heads.into() } else { 0 }
///     }
/// }
///
/// distarray::register_sampler!(Coin => i8 | i64);
///
/// # fn main() -> distarray::Result<()> {
/// let ctx = Context::new()?;
/// let random = Random::new(&ctx);
/// let d = Distribution::from_shape(&ctx, &[100])?;
/// let flips: DistArray<i64> = random.sample(&d, Coin { p: 1.0, heads: 3 })?;
/// assert_eq!(flips.toarray()?.sum(), 300);
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! register_sampler {
    ($($d:ty => $($t:ty)|+),+ $(,)?) => {$($(
        $crate::__private::inventory::submit! {
            $crate::__private::SamplerEntry {
                sampler: ::core::any::type_name::<$d>,
                element: ::core::any::type_name::<$t>,
                run: $crate::__private::run_sampler::<$d, $t>,
            }
        }
    )+)+};
}
