//! [`Random`]: seeded random arrays whose values do not depend on how they
//! are distributed.
//!
//! Every sampling call draws from a counter-based generator (Philox4x32-10,
//! module `philox`) at counters derived from the seed, the call's number and
//! each element's row-major global index (module `stream`), on the engines
//! that own the elements (the kernels of `engine`). The samplers of each
//! element type are in `typed`, the permutations of 1-D arrays in
//! `permutation`. [`Random::sample`] draws any `rand` distribution from per-element
//! streams (module `sample`, engine modules `element` and `sample`); module
//! `state` saves and restores a generator and hands a call's
//! [`RandomStream`](crate::random::RandomStream) to kernels.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Mutex;

use crate::client::context::Context;
use crate::client::DistArray;
use crate::client::Distribution;
use crate::client::{build_from_index, KernelCall};
use crate::core::error::{bail, Result};

pub(crate) mod engine;
mod sample;
mod state;

pub use engine::element::{ElementRng, RandomStream};
pub use state::GeneratorState;
mod permutation;
mod typed;

use engine::stream::MAX_CALLS;
use engine::typed::Floats;
use engine::Params;
pub use typed::{RandomFloat, RandomInteger};

/// Random arrays over one context's engines — the reference's
/// `random.Random(context)`.
///
/// After [`seed`](Self::seed) with a given value, the `n`-th sampling call
/// gives the same numbers whatever the distribution: element `k` of the
/// row-major global order gets the same value for any engine count, map type
/// (block, cyclic, block-cyclic, unstructured) or grid shape. Each call
/// advances the stream, so two calls give different numbers.
///
/// The generator is Philox4x32-10 keyed by the seed; the 128-bit counter of
/// the block used by element `k` in the call numbered `c` (from 0 after each
/// seed) is `k / 2 + (c << 80)`, and the element takes the block's 64-bit
/// word `k % 2` (further blocks `k / 2 + (s << 64) + (c << 80)`, `s >= 1`,
/// serve [`randint`](Self::randint)'s rejections). Engines thus draw disjoint
/// parts of one stream without coordinating.
///
/// The samplers are typed as numpy's are: [`rand`](Self::rand),
/// [`randn`](Self::randn), [`normal`](Self::normal) and
/// [`uniform`](Self::uniform) fill `f32` or `f64` arrays
/// ([`RandomFloat`]), [`randint`](Self::randint) any integer type
/// ([`RandomInteger`]), [`random_bool`](Self::random_bool) `bool`s; and
/// [`permutation`](Self::permutation), [`shuffle`](Self::shuffle) and
/// [`choice`](Self::choice) reorder or sample 1-D arrays of any element type,
/// the same for any layout too.
///
/// [`sample`](Self::sample) draws any `rand` distribution (`rand_distr`'s
/// `Gamma`, `Poisson`, …) from per-element streams instead, with the
/// counter layout of [`RandomStream`]; [`stream`](Self::stream) hands a
/// call's stream to kernels; [`state`](Self::state) and
/// [`from_state`](Self::from_state) save and resume the seed and call
/// counter.
///
/// Methods take `&self`: the call counter sits behind a mutex, so one
/// `Random` can be shared.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::new()?;
/// let random = Random::new(&ctx);
/// random.seed(Some(42));
/// let d = Distribution::from_shape(&ctx, &[100, 10])?;
/// let a = random.rand::<f64>(&d)?.toarray()?;
/// assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
///
/// // The same seed on one engine, distributed cyclically: the same numbers.
/// let one = Context::with_targets(&[0])?;
/// let again = Random::new(&one);
/// again.seed(Some(42));
/// let d1 = Distribution::builder(&one, &[100, 10]).dist("c").build()?;
/// assert_eq!(again.rand::<f64>(&d1)?.toarray()?, a);
/// # Ok::<(), distarray::Error>(())
/// ```
pub struct Random {
    context: Context,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
struct State {
    seed: u64,
    calls: u64,
}

impl Random {
    /// A generator over `context`'s engines, seeded from the operating system
    /// (as [`seed(None)`](Self::seed)).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// assert_eq!(random.context().targets(), ctx.targets());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn new(context: &Context) -> Self {
        Random { context: context.clone(), state: Mutex::new(State { seed: os_seed(), calls: 0 }) }
    }

    /// The context whose engines this generator samples on.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::with_targets(&[1, 2])?;
    /// assert_eq!(Random::new(&ctx).context().num_targets(), 2);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Restarts the stream from `seed`, or from a seed drawn from the
    /// operating system when `None`; returns the seed now in use (so a run
    /// seeded by the system can be repeated).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[8])?;
    /// let used = random.seed(None);
    /// let first = random.randn::<f64>(&d)?.toarray()?;
    /// random.seed(Some(used));
    /// assert_eq!(random.randn::<f64>(&d)?.toarray()?, first);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn seed(&self, seed: Option<u64>) -> u64 {
        let seed = seed.unwrap_or_else(os_seed);
        *self.lock() = State { seed, calls: 0 };
        seed
    }

    /// An array of uniform samples on `[0, 1)`: for `f64` each a multiple
    /// of 2^-53 (the top 53 bits of the element's 64-bit word), for `f32` a
    /// multiple of 2^-24 (its top 24 bits: the `f64` value rounded down to
    /// 24 bits).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// random.seed(Some(7));
    /// let d = Distribution::builder(&ctx, &[1000]).dist("c").build()?;
    /// let a = random.rand::<f64>(&d)?.toarray()?;
    /// assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
    /// assert!((a.mean().unwrap() - 0.5).abs() < 0.05);
    ///
    /// // f32: the same call's words, truncated to 24 bits.
    /// random.seed(Some(7));
    /// let b = random.rand::<f32>(&d)?.toarray()?;
    /// assert!(b.iter().zip(&a).all(|(&y, &x)| f64::from(y) == (x * 16_777_216.0).floor() / 16_777_216.0));
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `WrongContext` if `distribution` belongs to another context;
    /// `OutOfMemory` if an engine cannot hold its piece.
    pub fn rand<T: RandomFloat>(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.floats(distribution, Floats::Unit)
    }

    /// An array of standard normal samples (the ziggurat of
    /// `rand_distr::StandardNormal` on each element's 64-bit words: exact,
    /// about 1% of elements drawing further words of their own), computed in
    /// `f64` and rounded to `T`. The same as
    /// [`normal(distribution, 0.0, 1.0)`](Self::normal).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// random.seed(Some(7));
    /// let d = Distribution::from_shape(&ctx, &[100, 100])?;
    /// let z = random.randn::<f64>(&d)?.toarray()?;
    /// assert!(z.mean().unwrap().abs() < 0.05);
    /// // f32: the f64 normals of the same call, rounded.
    /// random.seed(Some(7));
    /// assert_eq!(random.randn::<f32>(&d)?.toarray()?, z.mapv(|x| x as f32));
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`rand`](Self::rand).
    pub fn randn<T: RandomFloat>(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.floats(distribution, Floats::Normal { loc: 0.0, scale: 1.0 })
    }

    /// An array of normal samples of mean `loc` and standard deviation
    /// `scale`: `loc + scale * z` for the standard normals `z` of
    /// [`randn`](Self::randn), computed in `f64` and rounded to `T` (an
    /// `f32` beyond `f32`'s range is infinite).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[10_000])?;
    /// let x = random.normal::<f64>(&d, 100.0, 2.0)?.toarray()?;
    /// assert!((x.mean().unwrap() - 100.0).abs() < 0.2);
    /// let y = random.normal(&d, -1.0f32, 0.5)?.toarray()?; // f32, from the arguments
    /// assert!((y.mean().unwrap() + 1.0).abs() < 0.05);
    /// assert_eq!(random.normal(&d, 0.0, -1.0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if `loc` is not finite or `scale` is negative or not
    /// finite; `WrongContext` if `distribution` belongs to another context;
    /// `OutOfMemory` if an engine cannot hold its piece.
    pub fn normal<T: RandomFloat>(&self, distribution: &Distribution, loc: T, scale: T) -> Result<DistArray<T>> {
        let (loc, scale): (f64, f64) = (loc.into(), scale.into());
        if !loc.is_finite() || !scale.is_finite() || scale < 0.0 {
            bail!(InvalidArgument, "normal needs a finite loc and a finite scale >= 0, not loc {loc}, scale {scale}");
        }
        self.floats(distribution, Floats::Normal { loc, scale })
    }

    /// An array of integers of type `T` (any integer width) drawn uniformly
    /// from `[low, high)`, or from `[0, low)` when `high` is `None` (the
    /// reference's convention). The bounds are `i128`, so that every range
    /// of every type can be written, up to `u64`'s `[0, 2^64)`; the range
    /// must fit `T` (`high` may be `T`'s largest value + 1). Every value has
    /// probability exactly `1 / (high - low)`: Lemire's widening multiply
    /// with rejection, never a biased `%` (a range of 2^64 takes the
    /// element's word as it is). The value is `low` plus an offset that
    /// depends on the range only, not on `T`: `randint::<u8>(&d, 0, Some(10))`
    /// and `randint::<i64>(&d, 0, Some(10))` give the same numbers.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[6, 50])?;
    /// let dice = random.randint::<i64>(&d, 1, Some(7))?.toarray()?;
    /// assert!(dice.iter().all(|&x| (1..7).contains(&x)));
    /// let digits = random.randint::<u8>(&d, 10, None)?.toarray()?;
    /// assert!(digits.iter().all(|&x| x < 10));
    /// let bytes = random.randint::<u8>(&d, 0, Some(256))?; // all of u8
    /// let words = random.randint::<u64>(&d, 0, Some(1 << 64))?; // all of u64
    /// assert!(random.randint::<i64>(&d, 3, Some(3)).is_err());
    /// let e = random.randint::<u8>(&d, 0, Some(257)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// assert!(e.message().contains("uint8"));
    /// # drop((bytes, words));
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if the range is empty (`low >= high`, or `low <= 0`
    /// without `high`) or does not fit `T` (the message names `T` and the
    /// bound); `WrongContext` if `distribution` belongs to another context;
    /// `OutOfMemory` if an engine cannot hold its piece.
    pub fn randint<T: RandomInteger>(
        &self,
        distribution: &Distribution,
        low: i128,
        high: Option<i128>,
    ) -> Result<DistArray<T>> {
        self.integers(distribution, low, high)
    }

    /// Runs sampling kernel `call` over `distribution` with the next call
    /// number.
    fn draw<T: crate::core::element::Element, S: serde::Serialize>(
        &self,
        distribution: &Distribution,
        call: KernelCall,
        sampler: S,
    ) -> Result<DistArray<T>> {
        distribution.check_context(&self.context)?;
        let (seed, call_number) = self.next_call()?;
        let params = Params { seed, call: call_number, strides: engine::strides(distribution.shape()), sampler };
        build_from_index(&self.context, distribution, call, &params)
    }

    /// The seed and the number of the next call; advances the counter.
    fn next_call(&self) -> Result<(u64, u64)> {
        let mut state = self.lock();
        if state.calls >= MAX_CALLS {
            bail!(Unsupported, "{MAX_CALLS} sampling calls since the last seed exhaust the stream; seed again");
        }
        state.calls += 1;
        Ok((state.seed, state.calls - 1))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two integers, always consistent: a poisoned lock is fine.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = *self.lock();
        f.debug_struct("Random")
            .field("targets", &self.context.targets())
            .field("seed", &state.seed)
            .field("calls", &state.calls)
            .finish()
    }
}

/// A seed from the operating system's random source (`getrandom`); should
/// that fail (no source at all), std's per-process random hash keys mixed
/// with the time.
fn os_seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| RandomState::new().hash_one(std::time::SystemTime::now()))
}
