//! Saving and restoring a [`Random`]'s place in its stream, and handing a
//! call's stream to kernels.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::engine::element::RandomStream;
use super::engine::stream::MAX_CALLS;
use super::{Random, State};
use crate::client::context::Context;
use crate::core::error::{bail, Result};

/// Where a [`Random`] stands: its seed and how many calls it has made since
/// it was seeded. Serde-serializable, so a job can save it with its data and
/// a restarted job continue the same stream ([`Random::set_state`],
/// [`Random::from_state`]), on any engine count.
///
/// # Examples
/// ```
/// use distarray::random::GeneratorState;
///
/// let state = GeneratorState::new(42, 3)?;
/// assert_eq!((state.seed(), state.calls()), (42, 3));
/// assert!(GeneratorState::new(42, (1 << 48) + 1).is_err());
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeneratorState {
    seed: u64,
    calls: u64,
}

impl GeneratorState {
    /// The state after seeding with `seed` and making `calls` calls.
    ///
    /// # Errors
    /// `InvalidArgument` if `calls > 2^48` (a seed serves 2^48 calls).
    pub fn new(seed: u64, calls: u64) -> Result<Self> {
        if calls > MAX_CALLS {
            bail!(InvalidArgument, "a seed serves at most 2^48 calls, not {calls}");
        }
        Ok(GeneratorState { seed, calls })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The calls made since seeding: the number of the next call.
    pub fn calls(&self) -> u64 {
        self.calls
    }
}

impl Random {
    /// This generator's seed and call counter.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// random.seed(Some(5));
    /// let d = Distribution::from_shape(&ctx, &[10])?;
    /// random.rand::<f64>(&d)?;
    /// let saved = random.state();
    /// assert_eq!((saved.seed(), saved.calls()), (5, 1));
    /// let next = random.randn::<f64>(&d)?.toarray()?;
    ///
    /// // A new generator (any context, any engine count) picks up from there.
    /// let one = Context::with_targets(&[2])?;
    /// let restored = Random::from_state(&one, saved);
    /// assert_eq!(restored.randn::<f64>(&Distribution::from_shape(&one, &[10])?)?.toarray()?, next);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn state(&self) -> GeneratorState {
        let State { seed, calls } = *self.lock();
        GeneratorState { seed, calls }
    }

    /// Moves this generator to `state`: the next call is the one that
    /// followed when `state` was taken.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[10])?;
    /// let saved = random.state();
    /// let a = random.rand::<f64>(&d)?.toarray()?;
    /// random.set_state(saved);
    /// assert_eq!(random.rand::<f64>(&d)?.toarray()?, a);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn set_state(&self, state: GeneratorState) {
        *self.lock() = State { seed: state.seed, calls: state.calls };
    }

    /// A generator over `context`'s engines at `state` (see
    /// [`state`](Self::state)).
    pub fn from_state(context: &Context, state: GeneratorState) -> Self {
        Random { context: context.clone(), state: Mutex::new(State { seed: state.seed, calls: state.calls }) }
    }

    /// The stream of the next call, for kernels: a
    /// [`RandomStream`] to pass to a `#[local]` kernel as a scalar argument,
    /// from which each engine draws `stream.element(k)` for the global
    /// elements it holds (the same numbers on any engine count) or
    /// `stream.engine(rank)` (one stream per engine, which is not). Advances
    /// the call counter like a sampling call, so the numbers are nobody
    /// else's.
    ///
    /// # Examples
    /// A Monte Carlo estimate of π, one point per global element: the same
    /// count on any engine count.
    /// ```
    /// use distarray::prelude::*;
    /// use distarray::random::RandomStream;
    /// use rand::Rng;
    ///
    /// #[local]
    /// fn inside(points: &LocalArray<u8>, stream: RandomStream, engine: &EngineCtx) -> Result<u64> {
    ///     let mut count = 0u64;
    ///     for &k in &points.global_indices(0) {
    ///         let mut rng = stream.element(k as u64);
    ///         let (x, y): (f64, f64) = (rng.random(), rng.random());
    ///         count += u64::from(x * x + y * y < 1.0);
    ///     }
    ///     engine.comm().all_reduce(count, |a, b| a + b)
    /// }
    ///
    /// let count = |ctx: &Context| -> Result<u64> {
    ///     let random = Random::new(ctx);
    ///     random.seed(Some(3));
    ///     let points = ctx.zeros::<u8>(&Distribution::from_shape(ctx, &[10_000])?)?;
    ///     Ok(inside(&points, random.stream()?)?[0])
    /// };
    /// let all = count(&Context::new()?)?;
    /// assert_eq!(count(&Context::with_targets(&[1])?)?, all);
    /// assert!((4.0 * all as f64 / 10_000.0 - std::f64::consts::PI).abs() < 0.05);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `Unsupported` after 2^48 calls since the last seed.
    pub fn stream(&self) -> Result<RandomStream> {
        self.next_stream()
    }

    /// The stream of the next call; advances the counter.
    pub(super) fn next_stream(&self) -> Result<RandomStream> {
        let (seed, call) = self.next_call()?;
        RandomStream::new(seed, call)
    }
}
