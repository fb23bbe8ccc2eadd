//! Accumulators: how each reduction folds elements, merges the partial
//! results of engines, and finishes, with numpy's semantics.

use num_complex::Complex;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::core::element::{for_each_element, Element};
use crate::core::error::{bail, Result};

/// Settings a reduction finishes with.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Finish {
    /// Delta degrees of freedom of var/std.
    pub ddof: f64,
}

/// One reduction's running state: fold elements, merge another partial
/// result, finish into the reduced value.
pub(crate) trait Acc<T>: Clone + Serialize + DeserializeOwned + Send {
    /// The reduced value.
    type Out: Element;
    /// The state of an empty reduction.
    fn empty() -> Self;
    /// Folds in one element.
    fn push(&mut self, x: T);
    /// Folds in another partial result (combination is associative).
    fn merge(&mut self, other: &Self);
    /// Folds in a run of elements, in any order.
    fn push_slice(&mut self, values: &[T])
    where
        T: Copy,
    {
        // Eight independent accumulators break the dependency chain of one
        // running total (as ndarray's unrolled sum does), then merge.
        let mut lanes: [Self; 8] = std::array::from_fn(|_| Self::empty());
        let chunks = values.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (lane, &x) in lanes.iter_mut().zip(chunk) {
                lane.push(x);
            }
        }
        rest.iter().for_each(|&x| self.push(x));
        lanes.iter().for_each(|lane| self.merge(lane));
    }
    /// Folds in a run of elements along reduced axes: `push_slice` if it is
    /// long, else one by one.
    fn push_run(&mut self, values: &[T])
    where
        T: Copy,
    {
        if values.len() >= LONG_RUN {
            self.push_slice(values);
        } else {
            values.iter().for_each(|&x| self.push(x));
        }
    }
    /// Folds in rows of `accs.len()` elements, element `j` of each row into
    /// `accs[j]` (a reduction along leading axes).
    fn push_rows(accs: &mut [Self], rows: &[T])
    where
        T: Copy,
    {
        for row in rows.chunks_exact(accs.len().max(1)) {
            accs.iter_mut().zip(row).for_each(|(acc, &x)| acc.push(x));
        }
    }
    /// The reduced value.
    fn finish(&self, how: &Finish) -> Result<Self::Out>;
}

/// Runs of at least this many elements go through `push_slice` (vectorised,
/// blocked); shorter ones through `push`.
pub(crate) const LONG_RUN: usize = 256;

/// Conversion of an element into the accumulator type of `sum`/`mean`
/// (`dtype` in numpy): `as` between numbers, 0/1 for bool.
pub trait Widen<U>: Element {
    /// The value as `U`.
    fn widen(self) -> U;
}

/// Element types that `sum` can accumulate in (integers wrap on overflow, as
/// numpy's do).
pub trait SumElem: Element {
    /// `self + other`, wrapping for integers.
    fn acc_add(self, other: Self) -> Self;
}

/// Element types with an order for `min`/`max` (NaN wins, as in numpy).
pub trait OrdElem: Element {
    /// The smaller, or NaN if either is NaN.
    fn nan_min(self, other: Self) -> Self;
    /// The larger, or NaN if either is NaN.
    fn nan_max(self, other: Self) -> Self;
}

macro_rules! int_elems {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl SumElem for $t {
            fn acc_add(self, other: Self) -> Self { self.wrapping_add(other) }
        }
        impl OrdElem for $t {
            fn nan_min(self, other: Self) -> Self { Ord::min(self, other) }
            fn nan_max(self, other: Self) -> Self { Ord::max(self, other) }
        }
    )*};
}
for_each_element!(int => int_elems {});

macro_rules! float_elems {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl SumElem for $t {
            fn acc_add(self, other: Self) -> Self { self + other }
        }
        impl OrdElem for $t {
            fn nan_min(self, other: Self) -> Self { if self.is_nan() || other.is_nan() { <$t>::NAN } else { self.min(other) } }
            fn nan_max(self, other: Self) -> Self { if self.is_nan() || other.is_nan() { <$t>::NAN } else { self.max(other) } }
        }
    )*};
}
for_each_element!(float => float_elems {});

impl OrdElem for bool {
    fn nan_min(self, other: Self) -> Self {
        self & other
    }
    fn nan_max(self, other: Self) -> Self {
        self | other
    }
}

macro_rules! complex_elems {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl SumElem for $t {
            fn acc_add(self, other: Self) -> Self { self + other }
        }
    )*};
}
for_each_element!(complex => complex_elems {});

// Every real number type widens to every other with `as`; bool to 0 or 1.
macro_rules! widen_to {
    ($from:ty; $($to:ty => $d:ident $name:literal,)*) => {$(
        impl Widen<$to> for $from {
            #[allow(clippy::unnecessary_cast, clippy::cast_lossless)]
            fn widen(self) -> $to { self as $to }
        }
    )*};
}
macro_rules! widen_reals {
    ($($from:ty => $d:ident $name:literal,)*) => {$( for_each_element!(int | float => widen_to { $from; }); )*};
}
for_each_element!(int | float => widen_reals {});

macro_rules! widen_bool {
    ($($to:ty => $d:ident $name:literal,)*) => {$(
        impl Widen<$to> for bool {
            fn widen(self) -> $to { u8::from(self) as $to }
        }
    )*};
}
for_each_element!(int | float => widen_bool {});

impl Widen<Complex<f32>> for Complex<f32> {
    fn widen(self) -> Complex<f32> {
        self
    }
}

impl Widen<Complex<f64>> for Complex<f64> {
    fn widen(self) -> Complex<f64> {
        self
    }
}

impl Widen<Complex<f64>> for Complex<f32> {
    fn widen(self) -> Complex<f64> {
        Complex::new(self.re.into(), self.im.into())
    }
}

/// `sum` in the accumulator type `U`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Sum<U>(pub U);

impl<T: Widen<U>, U: SumElem> Acc<T> for Sum<U> {
    type Out = U;
    fn empty() -> Self {
        Sum(U::zero())
    }
    fn push(&mut self, x: T) {
        self.0 = self.0.acc_add(x.widen());
    }
    fn merge(&mut self, other: &Self) {
        self.0 = self.0.acc_add(other.0);
    }
    fn push_rows(accs: &mut [Self], rows: &[T]) {
        // Four rows per sweep: each total stays in a register across them, a
        // quarter of the loads and stores of the totals. The additions keep
        // row order (numpy's along a leading axis), so the bits are those of
        // one row at a time.
        let width = accs.len();
        if width == 0 {
            return;
        }
        let mut quads = rows.chunks_exact(4 * width);
        for quad in &mut quads {
            let (r0, rest) = quad.split_at(width);
            let (r1, rest) = rest.split_at(width);
            let (r2, r3) = rest.split_at(width);
            for ((((acc, &a), &b), &c), &d) in accs.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
                acc.0 = acc.0.acc_add(a.widen()).acc_add(b.widen()).acc_add(c.widen()).acc_add(d.widen());
            }
        }
        for row in quads.remainder().chunks_exact(width) {
            accs.iter_mut().zip(row).for_each(|(acc, &x)| acc.push(x));
        }
    }
    fn finish(&self, _: &Finish) -> Result<U> {
        Ok(self.0)
    }
}

/// `min` (`MAX == false`) or `max` (`MAX == true`); `None` while empty.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Extreme<T, const MAX: bool>(pub Option<T>);

impl<T: OrdElem, const MAX: bool> Acc<T> for Extreme<T, MAX> {
    type Out = T;
    fn empty() -> Self {
        Extreme(None)
    }
    fn push(&mut self, x: T) {
        self.0 = Some(match self.0 {
            None => x,
            Some(y) if MAX => y.nan_max(x),
            Some(y) => y.nan_min(x),
        });
    }
    fn merge(&mut self, other: &Self) {
        if let Some(x) = other.0 {
            self.push(x);
        }
    }
    fn finish(&self, _: &Finish) -> Result<T> {
        match self.0 {
            Some(x) => Ok(x),
            None => bail!(
                InvalidShape,
                "zero-size array to reduction operation {} which has no identity",
                if MAX { "maximum" } else { "minimum" }
            ),
        }
    }
}

/// `a + b` as the rounded sum and its exact rounding error (Knuth's two-sum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// [`Moments::push`] recenters when the count reaches a power of two from
/// this one on.
const RECENTER: f64 = 128.0;

/// The moments of the finite elements as shifted sums: their count `n`, and
/// the sums `s1` of their deviations `x - shift` and `s2` of the squared
/// deviations; and numpy's sum of the non-finite elements.
///
/// `shift` is an element (the first) or the rounded mean of the elements
/// before the last recentering (at each merge, and when pushes bring the
/// count to a power of two from `RECENTER` on), so it lies within the spread
/// of the mean: after a recentering, `s2` stays at most twice the sum of
/// squared deviations `m2` until the count doubles (at most 129 times it
/// before the first), and `s2 - s1²/n` loses no more than a two-pass sum. Recentered, `s1 = n mean_lo` holds the mean's
/// rounding error exactly enough: the mean is `shift + s1 / n` to twice f64's
/// precision. Rounded to one f64 (a running Welford mean), the mean is off by
/// up to half an ulp (6e-8 for 1e9), and every merge carries that error into
/// the squared deviations, a relative error of ulp(mean) / spread (3e-5 for
/// 1e9 + noise in [0, 0.01)). Merges use Chan's formula on the
/// double-double means. No division per element.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Moments {
    n: f64,
    shift: f64,
    s1: f64,
    s2: f64,
    /// The sum of the non-finite elements, 0 if there are none: +inf, -inf,
    /// or NaN for a NaN or both infinities, which is numpy's mean of the
    /// whole (its sum divided by the count). Kept apart, the infinities do
    /// not turn the running mean into `inf - inf`.
    nonfinite: f64,
}

impl Moments {
    /// The moments of `n` finite values whose deviations `x - shift` sum to
    /// `s1` and their squares to `s2`.
    fn from_shifted(n: f64, shift: f64, s1: f64, s2: f64) -> Moments {
        Moments { n, shift, s1, s2, nonfinite: 0.0 }
    }

    /// The moments of `n` finite values with mean `mean + mean_lo` and sum
    /// of squared deviations `m2`.
    fn from_centered(n: f64, mean: f64, mean_lo: f64, m2: f64) -> Moments {
        let s1 = n * mean_lo;
        Moments { n, shift: mean, s1, s2: m2 + s1 * mean_lo, nonfinite: 0.0 }
    }

    /// `(mean, mean_lo, m2)` of a non-empty one: the mean as a double-double
    /// and the sum of squared deviations (infinite if the squares overflow,
    /// as numpy's do).
    #[inline]
    fn centered(&self) -> (f64, f64, f64) {
        let offset = self.s1 / self.n; // mean - shift
        let (mean, mean_lo) = two_sum(self.shift, offset);
        let m2 = if self.s2.is_finite() { (self.s2 - self.s1 * offset).max(0.0) } else { self.s2 };
        (mean, mean_lo, m2)
    }

    /// Folds in one element.
    #[inline]
    fn push(&mut self, x: f64) {
        let d = x - self.shift;
        if self.n == 0.0 || !d.is_finite() {
            self.push_first(x);
            return;
        }
        self.s1 += d;
        self.s2 += d * d;
        self.n += 1.0;
        // A power of two (no mantissa bits) from RECENTER on.
        if self.n.to_bits() & ((1 << 52) - 1) == 0 && self.n >= RECENTER {
            self.recenter();
        }
    }

    /// [`push`](Self::push) of the first element, of a non-finite one, or of
    /// a finite one whose deviation overflows (values of both signs near the
    /// largest).
    #[cold]
    #[inline(never)]
    fn push_first(&mut self, x: f64) {
        if !x.is_finite() {
            self.nonfinite += x;
        } else if self.n == 0.0 {
            (self.n, self.shift, self.s1, self.s2) = (1.0, x, 0.0, 0.0);
        } else {
            self.combine(&Moments::from_shifted(1.0, x, 0.0, 0.0));
        }
    }

    /// The shift moved to the (rounded) mean.
    #[inline(never)]
    fn recenter(&mut self) {
        let (mean, mean_lo, m2) = self.centered();
        *self = Moments { nonfinite: self.nonfinite, ..Moments::from_centered(self.n, mean, mean_lo, m2) };
    }

    fn combine(&mut self, o: &Moments) {
        let nonfinite = self.nonfinite + o.nonfinite;
        if o.n == 0.0 {
            self.nonfinite = nonfinite;
            return;
        }
        if self.n == 0.0 {
            *self = Moments { nonfinite, ..*o };
            return;
        }
        let ((a, a_lo, a_m2), (b, b_lo, b_m2)) = (self.centered(), o.centered());
        let n = self.n + o.n;
        let (d, d_lo) = two_sum(b, -a);
        let delta = d + (d_lo + (b_lo - a_lo));
        let merged = if delta.is_finite() {
            let (mean, err) = two_sum(a, delta * (o.n / n));
            let (mean, mean_lo) = two_sum(mean, err + a_lo);
            Moments::from_centered(n, mean, mean_lo, a_m2 + b_m2 + delta * delta * (self.n * o.n / n))
        } else {
            // Means of both signs near the largest finite values: their
            // difference overflows, and so do the squared deviations.
            Moments::from_centered(n, a * (self.n / n) + b * (o.n / n), 0.0, f64::INFINITY)
        };
        *self = Moments { nonfinite, ..merged };
    }

    #[inline]
    fn mean(&self) -> f64 {
        if self.nonfinite != 0.0 {
            self.nonfinite // ±inf, or NaN (also NaN != 0)
        } else if self.n == 0.0 {
            f64::NAN // numpy: mean of an empty array is nan (with a warning)
        } else {
            let (mean, mean_lo, _) = self.centered();
            mean + mean_lo
        }
    }

    #[inline]
    fn var(&self, ddof: f64) -> f64 {
        // numpy divides by max(n - ddof, 0): 0/0 is nan, x/0 is inf. Any
        // non-finite element makes numpy's deviations x - mean NaN.
        let dof = (self.n - ddof).max(0.0);
        if self.n == 0.0 || self.nonfinite != 0.0 {
            f64::NAN
        } else {
            self.centered().2 / dof
        }
    }
}

/// The sum of `f(x)` over `xs`, in eight independent lanes (vectorisable; one
/// running total would wait on every addition).
fn sum_lanes(xs: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += f(x);
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// Writes `values` as f64 into `out` (of the same length) and returns
/// Σ(x - x0), in eight lanes: the copy and the first pass of the variance in
/// one.
fn widen_deviations<T: Widen<f64>>(values: &[T], out: &mut [f64], x0: f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (head, tail) = values.split_at(values.len() / 8 * 8);
    let (out_head, out_tail) = out.split_at_mut(head.len());
    for (chunk, o) in head.chunks_exact(8).zip(out_head.chunks_exact_mut(8)) {
        for i in 0..8 {
            let v = chunk[i].widen();
            o[i] = v;
            lanes[i] += v - x0;
        }
    }
    let mut rest = 0.0;
    for (&x, o) in tail.iter().zip(out_tail) {
        let v = x.widen();
        *o = v;
        rest += v - x0;
    }
    lanes.iter().sum::<f64>() + rest
}

/// Σ(x - x0) over `values` as f64, in the lanes and order of
/// [`widen_deviations`] (so the same bits), without the copy.
fn deviation_sum<T: Widen<f64>>(values: &[T], x0: f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (head, tail) = values.split_at(values.len() / 8 * 8);
    for chunk in head.chunks_exact(8) {
        for i in 0..8 {
            lanes[i] += chunk[i].widen() - x0;
        }
    }
    let mut rest = 0.0;
    for &x in tail {
        rest += x.widen() - x0;
    }
    lanes.iter().sum::<f64>() + rest
}

/// Which statistic a [`Stat`] accumulator finishes with.
pub(crate) trait StatKind: Clone + Send + Sync + 'static {
    /// Whether the statistic needs the squared deviations (`var`, `std`).
    /// The mean never reads them: without, its bits are the same and the
    /// second pass (and the copy it reads) is skipped.
    const SECOND_MOMENT: bool = true;
    fn value(m: &Moments, ddof: f64) -> f64;
}

#[derive(Clone)]
pub(crate) struct MeanOf;
#[derive(Clone)]
pub(crate) struct VarOf;
#[derive(Clone)]
pub(crate) struct StdOf;

impl StatKind for MeanOf {
    const SECOND_MOMENT: bool = false;
    #[inline]
    fn value(m: &Moments, _: f64) -> f64 {
        m.mean()
    }
}

impl StatKind for VarOf {
    #[inline]
    fn value(m: &Moments, ddof: f64) -> f64 {
        m.var(ddof)
    }
}

impl StatKind for StdOf {
    #[inline]
    fn value(m: &Moments, ddof: f64) -> f64 {
        m.var(ddof).sqrt()
    }
}

/// mean, var or std (by `K`) of the elements as f64.
///
/// No division per element on any path: whole pieces and long runs along
/// reduced axes ([`push_slice`](Acc::push_slice)) go by two passes over
/// cache-sized blocks; short runs ([`push_run`](Acc::push_run)) by one pass of
/// deviations from their first element; rows into the partial results of kept
/// trailing axes ([`push_rows`](Acc::push_rows)) by column-wise sums of
/// deviations from a block's first row; single elements
/// ([`push`](Acc::push)) into the shifted sums of [`Moments`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Stat<K> {
    moments: Moments,
    #[serde(skip)]
    kind: std::marker::PhantomData<K>,
}

impl<T: Widen<f64>, K: StatKind> Acc<T> for Stat<K> {
    type Out = f64;
    fn empty() -> Self {
        Stat { moments: Moments::default(), kind: std::marker::PhantomData }
    }
    fn push(&mut self, x: T) {
        self.moments.push(x.widen());
    }
    fn merge(&mut self, other: &Self) {
        self.moments.combine(&other.moments);
    }
    fn push_slice(&mut self, values: &[T]) {
        // Two passes over blocks that stay in cache: the mean, from the sum
        // of the deviations from the block's first element (small terms, so
        // the sum keeps the mean to a fraction of an ulp, as `mean +
        // mean_lo`), then the squared deviations from `mean`, corrected for
        // `mean_lo`; merged by Chan's formula. No division per element.
        const BLOCK: usize = 1024;
        if !K::SECOND_MOMENT {
            // The mean: the first pass alone, straight from the elements.
            for run in values.chunks(BLOCK) {
                let x0 = run[0].widen();
                let t1 = deviation_sum(run, x0);
                if !t1.is_finite() {
                    run.iter().for_each(|&x| self.moments.push(x.widen()));
                    continue;
                }
                let n = run.len() as f64;
                let (mean, mean_lo) = two_sum(x0, t1 / n);
                self.moments.combine(&Moments::from_centered(n, mean, mean_lo, 0.0));
            }
            return;
        }
        let mut block = [0.0f64; BLOCK];
        for run in values.chunks(BLOCK) {
            let block = &mut block[..run.len()];
            let x0 = run[0].widen();
            let t1 = widen_deviations(run, block, x0);
            if !t1.is_finite() {
                // A non-finite element, or finite ones of both signs near the largest.
                block.iter().for_each(|&x| self.moments.push(x));
                continue;
            }
            let n = block.len() as f64;
            let (mean, mean_lo) = two_sum(x0, t1 / n);
            // Σ(x - mean)² = m2 + n mean_lo²; an overflowing one stays infinite.
            let s2 = sum_lanes(block, |x| (x - mean) * (x - mean));
            let m2 = if s2.is_finite() { (s2 - n * mean_lo * mean_lo).max(0.0) } else { s2 };
            self.moments.combine(&Moments::from_centered(n, mean, mean_lo, m2));
        }
    }
    // Inlined with `finish` (and what they call) into the loop over short
    // lanes: the accumulator stays in registers and the divisions of
    // successive lanes overlap.
    #[inline]
    fn push_run(&mut self, values: &[T]) {
        if values.len() >= LONG_RUN {
            return self.push_slice(values);
        }
        // A short run (a short reduced lane): its sums of deviations from
        // its first element, in one pass, without division.
        let Some(first) = values.first() else { return };
        let shift = first.widen();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in values {
            let d = x.widen() - shift;
            s1 += d;
            if K::SECOND_MOMENT {
                s2 += d * d;
            }
        }
        let run = Moments::from_shifted(values.len() as f64, shift, s1, s2);
        if s1.is_finite() && self.moments.n == 0.0 {
            // What `combine` does into an empty one (a lane of its own),
            // without the call.
            self.moments = Moments { nonfinite: self.moments.nonfinite, ..run };
        } else if s1.is_finite() {
            self.moments.combine(&run);
        } else {
            values.iter().for_each(|&x| self.moments.push(x.widen()));
        }
    }
    fn push_rows(accs: &mut [Self], rows: &[T]) {
        // Column-wise shifted sums over blocks of rows, the block's first row
        // as the shifts: one vectorisable pass, no division per element.
        const ROWS: usize = 128;
        let width = accs.len();
        if width == 0 || rows.len() < 16 * width {
            rows.chunks_exact(width.max(1))
                .for_each(|row| accs.iter_mut().zip(row).for_each(|(acc, &x)| acc.moments.push(x.widen())));
            return;
        }
        let (mut shift, mut s1, mut s2) = (vec![0.0f64; width], vec![0.0f64; width], vec![0.0f64; width]);
        for block in rows.chunks(ROWS * width) {
            shift.iter_mut().zip(&block[..width]).for_each(|(c, &x)| *c = x.widen());
            s1.fill(0.0);
            s2.fill(0.0);
            // Four rows per sweep keep each column's sums in registers across
            // them (a quarter of the loads and stores of `s1`, `s2`), added in
            // row order: the bits of one row at a time.
            let mut quads = block.chunks_exact(4 * width);
            for quad in &mut quads {
                let (r0, rest) = quad.split_at(width);
                let (r1, rest) = rest.split_at(width);
                let (r2, r3) = rest.split_at(width);
                let columns = s1.iter_mut().zip(&mut s2).zip(&shift).zip(r0).zip(r1).zip(r2).zip(r3);
                for ((((((a, b), &c), &x0), &x1), &x2), &x3) in columns {
                    let (mut sa, mut sb) = (*a, *b);
                    for x in [x0, x1, x2, x3] {
                        let d = x.widen() - c;
                        sa += d;
                        if K::SECOND_MOMENT {
                            sb += d * d;
                        }
                    }
                    (*a, *b) = (sa, sb);
                }
            }
            for row in quads.remainder().chunks_exact(width) {
                for (((a, b), &c), &x) in s1.iter_mut().zip(&mut s2).zip(&shift).zip(row) {
                    let d = x.widen() - c;
                    *a += d;
                    if K::SECOND_MOMENT {
                        *b += d * d;
                    }
                }
            }
            let n = (block.len() / width) as f64;
            for (j, acc) in accs.iter_mut().enumerate() {
                if s1[j].is_finite() {
                    acc.moments.combine(&Moments::from_shifted(n, shift[j], s1[j], s2[j]));
                } else {
                    // A non-finite element in this column, or an overflow.
                    block.chunks_exact(width).for_each(|row| acc.moments.push(row[j].widen()));
                }
            }
        }
    }
    #[inline]
    fn finish(&self, how: &Finish) -> Result<f64> {
        Ok(K::value(&self.moments, how.ddof))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat<K: StatKind>(xs: &[f64], split: usize, ddof: f64) -> f64 {
        let (mut a, mut b) = (<Stat<K> as Acc<f64>>::empty(), <Stat<K> as Acc<f64>>::empty());
        xs[..split].iter().for_each(|&x| Acc::<f64>::push(&mut a, x));
        xs[split..].iter().for_each(|&x| Acc::<f64>::push(&mut b, x));
        Acc::<f64>::merge(&mut a, &b);
        Acc::<f64>::finish(&a, &Finish { ddof }).unwrap()
    }

    #[test]
    fn moments_are_stable_for_a_large_mean() {
        // 1e9 + {1, 2, 3, 4}: variance 1.25, which a sum of squares loses.
        let xs = [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0];
        for split in 0..=4 {
            assert!((stat::<VarOf>(&xs, split, 0.0) - 1.25).abs() < 1e-6);
            assert!((stat::<MeanOf>(&xs, split, 0.0) - (1e9 + 2.5)).abs() < 1e-6);
        }
        assert!(stat::<VarOf>(&[], 0, 0.0).is_nan());
        assert!(stat::<VarOf>(&[3.0], 1, 1.0).is_nan());
        assert_eq!(stat::<VarOf>(&[1.0, 2.0], 1, 3.0), f64::INFINITY);
    }

    fn stat_of<K: StatKind>(xs: &[f64], whole: bool, ddof: f64) -> f64 {
        let mut a = <Stat<K> as Acc<f64>>::empty();
        if whole {
            a.push_slice(xs);
        } else {
            xs.iter().for_each(|&x| Acc::<f64>::push(&mut a, x));
        }
        Acc::<f64>::finish(&a, &Finish { ddof }).unwrap()
    }

    #[test]
    fn infinities_give_numpys_mean_in_any_order() {
        let inf = f64::INFINITY;
        let mut xs: Vec<f64> = (0..3000).map(|k| k as f64 * 0.5).collect();
        xs[1700] = inf;
        for split in [0, 1, 1699, 1700, 1701, 2999, 3000] {
            assert_eq!(stat::<MeanOf>(&xs, split, 0.0), inf);
            assert!(stat::<VarOf>(&xs, split, 0.0).is_nan());
        }
        xs[3] = -inf;
        for split in [0, 2, 3, 4, 1700, 3000] {
            assert!(stat::<MeanOf>(&xs, split, 0.0).is_nan());
        }
        for whole in [false, true] {
            assert_eq!(stat_of::<MeanOf>(&xs[4..], whole, 0.0), inf);
            assert_eq!(stat_of::<MeanOf>(&[1.0, -inf, 2.0], whole, 0.0), -inf);
            assert!(stat_of::<StdOf>(&[1.0, -inf, 2.0], whole, 1.0).is_nan());
            assert!(stat_of::<MeanOf>(&[inf, f64::NAN], whole, 0.0).is_nan());
        }
    }

    #[test]
    fn finite_values_near_the_largest_do_not_overflow_the_mean() {
        let max = f64::MAX;
        for whole in [false, true] {
            assert_eq!(stat_of::<MeanOf>(&[max, max], whole, 0.0), max);
            assert!(stat_of::<MeanOf>(&[max, -max, max, -max], whole, 0.0).abs() < max * 1e-15);
            assert_eq!(stat_of::<VarOf>(&[max, -max], whole, 0.0), f64::INFINITY, "numpy's squares overflow too");
            assert_eq!(stat_of::<VarOf>(&[max, max, max], whole, 0.0), 0.0);
        }
    }

    #[test]
    fn block_boundaries_keep_a_large_mean_exact() {
        // 1e9 + k 2^-23: the exact variance from integer sums.
        let ks: Vec<i64> = (0..5000).map(|k| (k * 7919) % 83_887).collect();
        let xs: Vec<f64> = ks.iter().map(|&k| 1e9 + k as f64 / 8_388_608.0).collect();
        let n = ks.len() as i128;
        let (s1, s2) = ks.iter().fold((0i128, 0i128), |(a, b), &k| (a + k as i128, b + (k as i128) * (k as i128)));
        let exact = (n * s2 - s1 * s1) as f64 / (n * n) as f64 / 8_388_608f64.powi(2);
        for whole in [false, true] {
            let got = stat_of::<VarOf>(&xs, whole, 0.0);
            assert!(((got - exact) / exact).abs() < 1e-12, "{got} vs {exact}");
        }
        for split in [1, 127, 128, 129, 1024, 2500] {
            let got = stat::<VarOf>(&xs, split, 0.0);
            assert!(((got - exact) / exact).abs() < 1e-12, "{got} vs {exact}");
        }
    }

    /// Values whose sums round differently in every order.
    fn ragged(n: usize) -> Vec<f64> {
        (0..n).map(|k| ((k * 7919) % 1013) as f64 * 0.1 + 1e6 * ((k % 3) as f64 - 1.0)).collect()
    }

    #[test]
    fn sums_of_rows_four_at_a_time_keep_the_bits_of_row_order() {
        for (width, rows) in [(1, 9), (3, 4), (5, 7), (64, 13), (33, 130)] {
            let xs = ragged(width * rows);
            let mut got = vec![<Sum<f64> as Acc<f64>>::empty(); width];
            Sum::push_rows(&mut got, &xs);
            // numpy along axis 0 of a C-order array: row after row.
            let mut want = vec![0.0f64; width];
            xs.chunks_exact(width).for_each(|row| want.iter_mut().zip(row).for_each(|(w, &x)| *w += x));
            assert!(got.iter().zip(&want).all(|(g, w)| g.0.to_bits() == w.to_bits()), "{width}x{rows}");
            let ints: Vec<i8> = (0..width * rows).map(|k| (k * 37 % 251) as i8).collect();
            let mut got = vec![<Sum<i8> as Acc<i8>>::empty(); width];
            Sum::push_rows(&mut got, &ints);
            let mut want = vec![0i8; width];
            ints.chunks_exact(width)
                .for_each(|row| want.iter_mut().zip(row).for_each(|(w, &x)| *w = w.wrapping_add(x)));
            assert!(got.iter().zip(&want).all(|(g, w)| g.0 == *w), "i8 {width}x{rows} wraps like numpy");
        }
    }

    /// The moments' bits, to compare two ways of folding the same elements.
    fn bits(m: &Moments) -> [u64; 5] {
        [m.n, m.shift, m.s1, m.s2, m.nonfinite].map(f64::to_bits)
    }

    #[test]
    fn moments_of_rows_four_at_a_time_keep_the_bits_of_row_order() {
        // Rows of blocks of 128 rows with and without a remainder of 4, and
        // an infinity in one column.
        for (width, rows) in [(2, 16), (3, 150), (5, 257), (16, 131)] {
            let mut xs = ragged(width * rows);
            let mut got = vec![<Stat<VarOf> as Acc<f64>>::empty(); width];
            Stat::push_rows(&mut got, &xs);
            // Row at a time, as before: column-wise shifted sums per block.
            let mut want = vec![Moments::default(); width];
            for block in xs.chunks(128 * width) {
                for j in 0..width {
                    let c = block[j];
                    let (mut s1, mut s2) = (0.0, 0.0);
                    for row in block.chunks_exact(width) {
                        let d = row[j] - c;
                        s1 += d;
                        s2 += d * d;
                    }
                    want[j].combine(&Moments::from_shifted((block.len() / width) as f64, c, s1, s2));
                }
            }
            assert!(got.iter().zip(&want).all(|(g, w)| bits(&g.moments) == bits(w)), "{width}x{rows}");
            xs[width + 1] = f64::INFINITY;
            let mut var = vec![<Stat<VarOf> as Acc<f64>>::empty(); width];
            let mut mean = vec![<Stat<MeanOf> as Acc<f64>>::empty(); width];
            Stat::push_rows(&mut var, &xs);
            Stat::push_rows(&mut mean, &xs);
            for (v, m) in var.iter().zip(&mean) {
                assert_eq!(
                    v.moments.mean().to_bits(),
                    m.moments.mean().to_bits(),
                    "mean without squares, {width}x{rows}"
                );
            }
        }
    }

    #[test]
    fn a_short_run_into_an_empty_accumulator_is_the_merge_into_an_empty_one() {
        let xs = ragged(300);
        for n in [1, 2, 4, 17, 255] {
            let mut got = <Stat<VarOf> as Acc<f64>>::empty();
            got.push_run(&xs[..n]);
            let (shift, (mut s1, mut s2)) = (xs[0], (0.0, 0.0));
            xs[..n].iter().for_each(|&x| (s1, s2) = (s1 + (x - shift), s2 + (x - shift) * (x - shift)));
            let mut want = Moments::default();
            want.combine(&Moments::from_shifted(n as f64, shift, s1, s2));
            assert_eq!(bits(&got.moments), bits(&want), "n = {n}");
        }
    }

    #[test]
    fn the_mean_without_squares_has_the_bits_of_the_full_moments() {
        let mut xs: Vec<f64> = ragged(5000).iter().map(|x| x + 1e9).collect();
        for n in [1, 7, 255, 256, 1024, 1025, 5000] {
            for run in [false, true] {
                let (mut var, mut mean) = (<Stat<VarOf> as Acc<f64>>::empty(), <Stat<MeanOf> as Acc<f64>>::empty());
                if run {
                    var.push_run(&xs[..n]);
                    mean.push_run(&xs[..n]);
                } else {
                    var.push_slice(&xs[..n]);
                    mean.push_slice(&xs[..n]);
                }
                let got = Acc::<f64>::finish(&mean, &Finish { ddof: 0.0 }).unwrap();
                assert_eq!(got.to_bits(), var.moments.mean().to_bits(), "n = {n}, run = {run}");
            }
        }
        xs[1500] = f64::NEG_INFINITY;
        let mut mean = <Stat<MeanOf> as Acc<f64>>::empty();
        mean.push_slice(&xs);
        assert_eq!(Acc::<f64>::finish(&mean, &Finish { ddof: 0.0 }).unwrap(), f64::NEG_INFINITY);
    }

    #[test]
    fn extremes_propagate_nan_and_refuse_empty() {
        let mut m = Extreme::<f64, false>::empty();
        for x in [3.0, f64::NAN, 1.0] {
            Acc::<f64>::push(&mut m, x);
        }
        assert!(m.finish(&Finish { ddof: 0.0 }).unwrap().is_nan());
        assert!(Acc::<f64>::finish(&Extreme::<f64, true>::empty(), &Finish { ddof: 0.0 }).is_err());
        let mut s = <Sum<i8> as Acc<i8>>::empty();
        s.push(100);
        s.push(100);
        assert_eq!(Acc::<i8>::finish(&s, &Finish { ddof: 0.0 }).unwrap(), -56, "wraps like numpy");
    }
}
