//! Permutations and samples of 1-D arrays: [`Random::permutation`],
//! [`Random::permutation_of`], [`Random::shuffle`], [`Random::choice`] and
//! [`Random::choice_as`]. The permutation is a keyed bijection that every
//! engine evaluates on its own elements (see `engine::permutation`).

use super::engine::permutation::{PermuteArgs, ShuffleArgs, PERMUTE, PERMUTED_RANGE, SHUFFLE};
use super::Random;
use crate::client::{DistArray, Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, Result};

impl Random {
    /// A permuted copy of the 1-D array `a`, with the same distribution
    /// (numpy's `permutation(a)`): element `s` of `a` lands at `π(s)`, for
    /// the permutation `π` of `[0, n)` of this call. `π` depends only on
    /// the seed, the call's number and `n`: the result is the same for any
    /// engine count, map type and backend.
    ///
    /// # The permutation
    /// `π` is a keyed pseudo-random bijection, not a draw from all `n!`
    /// permutations: a balanced Feistel network of 8 rounds over the
    /// smallest even number of bits `2h` with `2^(2h) >= n` (at least 2),
    /// each round function a Philox block keyed by the seed and the call's
    /// number, restricted to `[0, n)` by cycle-walking (applied again while
    /// the value is `>= n`). Each engine computes the destinations of its own
    /// elements, with no communication, and the values move to the owners
    /// of their destinations in one all-to-all.
    ///
    /// What that means: where each element lands, and where pairs of
    /// elements land, are spread as under a uniform shuffle as far as
    /// statistical tests see (the tests check position counts by
    /// chi-square), which is what shuffling data for sampling, batching or
    /// cross-validation needs. But only the permutations some key reaches
    /// occur — at most 2^112 of them (seed and call), far fewer than `n!`
    /// once `n > 30` — and the network has algebraic structure: for `n` a
    /// power of 4 from 16 on (no cycle-walking), every permutation has the
    /// same parity, so half of the `n!` never occur. Do not use it where
    /// the exact uniform distribution over permutations matters (exact
    /// permutation tests on small samples, cryptography).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::builder(&ctx, &[10]).dist("c").build()?;
    /// let a = ctx.fromarray(&ndarray::Array1::from_iter(0..10i32), Some(&d))?;
    /// random.seed(Some(1));
    /// let p = random.permutation(&a)?;
    /// let mut sorted = p.toarray()?.into_raw_vec_and_offset().0;
    /// sorted.sort();
    /// assert_eq!(sorted, (0..10).collect::<Vec<i32>>()); // a bijection
    ///
    /// // The same seed on one engine, in one block: the same permutation.
    /// let one = Context::with_targets(&[0])?;
    /// let again = Random::new(&one);
    /// again.seed(Some(1));
    /// let b = one.fromarray(&ndarray::Array1::from_iter(0..10i32), None)?;
    /// assert_eq!(again.permutation(&b)?.toarray()?, p.toarray()?);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidShape` if `a` is not 1-D; `Unsupported` if it has ghost
    /// cells; `WrongContext` if it belongs to another context; `OutOfMemory`
    /// if an engine cannot hold its piece or its part of the exchange.
    pub fn permutation<T: Element>(&self, a: &DistArray<T>) -> Result<DistArray<T>> {
        self.check_1d(a.distribution(), "permutation")?;
        self.permute(a, a.distribution(), false)
    }

    /// A permutation of `0..n` over `distribution` (1-D, of length `n`), as
    /// `i64` (numpy's `permutation(n)`): the permuted copy of `arange(n)`
    /// that [`permutation`](Self::permutation) would give in the same call,
    /// so element `i` is `π⁻¹(i)`. Built where it lies: each engine inverts
    /// the permutation at its own indices, with no communication.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::from_shape(&ctx, &[6])?;
    /// random.seed(Some(9));
    /// let p = random.permutation_of(&d)?.toarray()?;
    /// let mut sorted = p.iter().copied().collect::<Vec<i64>>();
    /// sorted.sort();
    /// assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
    /// // The same as permuting an arange in the same call.
    /// random.seed(Some(9));
    /// let arange = ctx.fromarray(&ndarray::Array1::from_iter(0..6i64), Some(&d))?;
    /// assert_eq!(random.permutation(&arange)?.toarray()?, p);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidShape` if `distribution` is not 1-D; `Unsupported` if it has
    /// ghost cells; `WrongContext` if it belongs to another context;
    /// `OutOfMemory` if an engine cannot hold its piece.
    pub fn permutation_of(&self, distribution: &Distribution) -> Result<DistArray<i64>> {
        self.check_1d(distribution, "permutation_of")?;
        let n = distribution.shape()[0] as u64;
        self.draw(distribution, KernelCall::untyped(&PERMUTED_RANGE), n)
    }

    /// Permutes the 1-D array `a` in place (numpy's `shuffle`): afterwards
    /// it holds what [`permutation`](Self::permutation) would have returned
    /// in the same call. The values move between engines in one all-to-all;
    /// on failure every engine's piece is put back.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let d = Distribution::builder(&ctx, &[8]).dist("c").build()?;
    /// let mut a = ctx.fromarray(&ndarray::arr1(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), Some(&d))?;
    /// random.seed(Some(4));
    /// let copy = random.permutation(&a)?.toarray()?;
    /// random.seed(Some(4));
    /// random.shuffle(&mut a)?;
    /// assert_eq!(a.toarray()?, copy);
    /// assert_eq!(a.sum()?, 36.0);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`permutation`](Self::permutation); `a` is unchanged then.
    pub fn shuffle<T: Element>(&self, a: &mut DistArray<T>) -> Result<()> {
        self.check_1d(a.distribution(), "shuffle")?;
        let (seed, call) = self.next_call()?;
        let args = ShuffleArgs { seed, call, layout: a.distribution().layout().clone() };
        KernelCall::internal::<T>(&SHUFFLE).array("a", a)?.args(&args)?.run_unit()
    }

    /// `size` elements sampled from the 1-D array `a` (numpy's
    /// `choice(a, size, replace)`), over
    /// [`Distribution::from_shape`] of `[size]` on this generator's context;
    /// see [`choice_as`](Self::choice_as) for another distribution.
    ///
    /// With `replace`, element `i` is `a[j_i]` for `j_i` uniform on
    /// `[0, n)` — the `i`-th number of `randint::<i64>(0, n)` in the same
    /// call — each fetched from its owner; without, the first `size`
    /// elements of [`permutation(a)`](Self::permutation) in the same call
    /// (so distinct positions of `a`), moved there in one all-to-all.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let a = ctx.fromarray(&ndarray::Array1::from_iter((0..100).map(|i| i * i)), None)?;
    /// let drawn = random.choice(&a, 20, false)?.toarray()?;
    /// let mut distinct = drawn.iter().copied().collect::<Vec<i32>>();
    /// distinct.sort();
    /// distinct.dedup();
    /// assert_eq!(distinct.len(), 20);
    /// let with = random.choice(&a, 1000, true)?.toarray()?;
    /// assert!(with.iter().all(|&x| (0..100).any(|i| i * i == x)));
    /// assert_eq!(random.choice(&a, 101, false).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`choice_as`](Self::choice_as).
    pub fn choice<T: Element>(&self, a: &DistArray<T>, size: usize, replace: bool) -> Result<DistArray<T>> {
        self.choice_as(a, &Distribution::from_shape(&self.context, &[size])?, replace)
    }

    /// [`choice`](Self::choice) into the 1-D `distribution` (of length
    /// `size`, on any engines of this context): element `i` is the same as
    /// `choice`'s element `i`, whatever the two layouts.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let a = ctx.fromarray(&ndarray::Array1::from_iter(0..50u16), None)?;
    /// random.seed(Some(2));
    /// let here = random.choice(&a, 30, false)?.toarray()?;
    /// let d = Distribution::builder(&ctx, &[30]).dist("c").targets(&[3, 1]).build()?;
    /// random.seed(Some(2));
    /// assert_eq!(random.choice_as(&a, &d, false)?.toarray()?, here);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidShape` if `a` or `distribution` is not 1-D; `Unsupported` if
    /// either has ghost cells; `InvalidArgument` if `size` exceeds `a`'s
    /// length without `replace`, or `a` is empty and `size` is not;
    /// `WrongContext` if either belongs to another context; `OutOfMemory`
    /// if an engine cannot hold its piece or its part of the exchange.
    pub fn choice_as<T: Element>(
        &self,
        a: &DistArray<T>,
        distribution: &Distribution,
        replace: bool,
    ) -> Result<DistArray<T>> {
        self.check_1d(a.distribution(), "choice")?;
        self.check_1d(distribution, "choice's result")?;
        let (n, size) = (a.shape()[0], distribution.shape()[0]);
        if !replace && size > n {
            bail!(InvalidArgument, "choice without replacement cannot take {size} elements from {n}");
        }
        if n == 0 && size > 0 {
            bail!(InvalidArgument, "choice cannot take {size} elements from an empty array");
        }
        self.permute(a, distribution, replace)
    }

    /// Fails unless `distribution` is 1-D, without ghost cells, of this
    /// generator's context.
    fn check_1d(&self, distribution: &Distribution, what: &str) -> Result<()> {
        distribution.check_context(&self.context)?;
        if distribution.ndim() != 1 {
            bail!(InvalidShape, "{what} needs a 1-D array, not one of shape {:?}", distribution.shape());
        }
        distribution.refuse_ghosts(what)
    }

    /// Runs the permutation kernel from `a` into a new array over `dest`.
    fn permute<T: Element>(&self, a: &DistArray<T>, dest: &Distribution, replace: bool) -> Result<DistArray<T>> {
        let mut union: Vec<usize> = a.distribution().targets().iter().chain(dest.targets()).copied().collect();
        union.sort_unstable();
        union.dedup();
        let (seed, call) = self.next_call()?;
        let args = PermuteArgs {
            seed,
            call,
            source: a.distribution().layout().clone(),
            key: a.key().to_string(),
            dest: dest.layout().clone(),
            union: union.clone(),
            replace,
        };
        KernelCall::internal::<T>(&PERMUTE)
            .context(&self.context)?
            .maybe_array(a)?
            .args(&args)?
            .run_array_onto(Some(&union), dest)
    }
}
