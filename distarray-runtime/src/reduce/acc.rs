//! Accumulators: how each reduction folds elements, merges the partial
//! results of engines, and finishes, with numpy's semantics.

use num_complex::Complex;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::element::Element;
use crate::error::{bail, Result};

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
    /// The reduced value.
    fn finish(&self, how: &Finish) -> Result<Self::Out>;
}

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
    ($($t:ty),*) => {$(
        impl SumElem for $t {
            fn acc_add(self, other: Self) -> Self { self.wrapping_add(other) }
        }
        impl OrdElem for $t {
            fn nan_min(self, other: Self) -> Self { Ord::min(self, other) }
            fn nan_max(self, other: Self) -> Self { Ord::max(self, other) }
        }
    )*};
}
int_elems!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_elems {
    ($($t:ty),*) => {$(
        impl SumElem for $t {
            fn acc_add(self, other: Self) -> Self { self + other }
        }
        impl OrdElem for $t {
            fn nan_min(self, other: Self) -> Self { if self.is_nan() || other.is_nan() { <$t>::NAN } else { self.min(other) } }
            fn nan_max(self, other: Self) -> Self { if self.is_nan() || other.is_nan() { <$t>::NAN } else { self.max(other) } }
        }
    )*};
}
float_elems!(f32, f64);

impl OrdElem for bool {
    fn nan_min(self, other: Self) -> Self {
        self & other
    }
    fn nan_max(self, other: Self) -> Self {
        self | other
    }
}

impl SumElem for Complex<f32> {
    fn acc_add(self, other: Self) -> Self {
        self + other
    }
}

impl SumElem for Complex<f64> {
    fn acc_add(self, other: Self) -> Self {
        self + other
    }
}

macro_rules! widen_to {
    ($from:ty => $($to:ty),*) => {$(
        impl Widen<$to> for $from {
            #[allow(clippy::unnecessary_cast, clippy::cast_lossless)]
            fn widen(self) -> $to { self as $to }
        }
    )*};
}
macro_rules! widen_reals {
    ($($from:ty),*) => {$( widen_to!($from => i8, i16, i32, i64, u8, u16, u32, u64, f32, f64); )*};
}
widen_reals!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! widen_bool {
    ($($to:ty),*) => {$(
        impl Widen<$to> for bool {
            fn widen(self) -> $to { u8::from(self) as $to }
        }
    )*};
}
widen_bool!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

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

/// Count, mean and sum of squared deviations, updated with Welford's method
/// and merged with Chan's formula, so var/std stay accurate when the mean is
/// large against the spread (1e9 + noise).
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    fn combine(&mut self, o: &Moments) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        self.mean += delta * o.n / n;
        self.m2 += o.m2 + delta * delta * self.n * o.n / n;
        self.n = n;
    }

    fn mean(&self) -> f64 {
        if self.n == 0.0 {
            f64::NAN // numpy: mean of an empty array is nan (with a warning)
        } else {
            self.mean
        }
    }

    fn var(&self, ddof: f64) -> f64 {
        // numpy divides by max(n - ddof, 0): 0/0 is nan, x/0 is inf.
        let dof = (self.n - ddof).max(0.0);
        if self.n == 0.0 {
            f64::NAN
        } else {
            self.m2 / dof
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

/// Which statistic a [`Stat`] accumulator finishes with.
pub(crate) trait StatKind: Clone + Send + Sync + 'static {
    fn value(m: &Moments, ddof: f64) -> f64;
}

#[derive(Clone)]
pub(crate) struct MeanOf;
#[derive(Clone)]
pub(crate) struct VarOf;
#[derive(Clone)]
pub(crate) struct StdOf;

impl StatKind for MeanOf {
    fn value(m: &Moments, _: f64) -> f64 {
        m.mean()
    }
}

impl StatKind for VarOf {
    fn value(m: &Moments, ddof: f64) -> f64 {
        m.var(ddof)
    }
}

impl StatKind for StdOf {
    fn value(m: &Moments, ddof: f64) -> f64 {
        m.var(ddof).sqrt()
    }
}

/// mean, var or std (by `K`) of the elements as f64.
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
        self.moments.add(x.widen());
    }
    fn merge(&mut self, other: &Self) {
        self.moments.combine(&other.moments);
    }
    fn push_slice(&mut self, values: &[T]) {
        // Two passes over blocks that stay in cache (a sum, then squared
        // deviations from the block's mean), merged by Chan's formula: as
        // stable as Welford's update, without its division per element.
        const BLOCK: usize = 1024;
        let mut block = [0.0f64; BLOCK];
        for run in values.chunks(BLOCK) {
            let block = &mut block[..run.len()];
            block.iter_mut().zip(run).for_each(|(b, &x)| *b = x.widen());
            let n = block.len() as f64;
            let mean = sum_lanes(block, |x| x) / n;
            let m2 = sum_lanes(block, |x| (x - mean) * (x - mean));
            self.moments.combine(&Moments { n, mean, m2 });
        }
    }
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
