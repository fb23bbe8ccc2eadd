//! DistArray: reductions (`sum`, `min`, `max`, `mean`, `var`, `std`, ...);
//! how they run on the engines is `crate::reduce`.

use serde::de::DeserializeOwned;

use super::DistArray;
use crate::client::{Distribution, KernelCall};
use crate::core::element::{DType, Element};
use crate::core::error::{err, Result};
use crate::protocol::{decode, KernelReply};
use crate::reduce::engine::{Finish, OrdElem, ReduceArgs, ReduceOp, SumElem, Widen, REDUCE};

/// # Reductions
impl<T: Element> DistArray<T> {
    /// The sum of all elements (numpy `sum()`; integers wrap on overflow).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let a = ctx.fromarray(&ndarray::Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as i64), None)?;
    /// assert_eq!(a.sum()?, 190);
    /// assert_eq!(a.sum_axis(&[0])?.toarray()?, ndarray::arr1(&[30, 34, 38, 42, 46]).into_dyn());
    /// assert_eq!(a.mean()?, 9.5);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ContextClosed`, `KeyNotFound` or a backend failure.
    pub fn sum(&self) -> Result<T>
    where
        T: Widen<T> + SumElem,
    {
        self.sum_as::<T>()
    }

    /// The sum of all elements accumulated in `U` (numpy's `dtype`), e.g. the
    /// sum of `i8` as `i64`, or of `bool` as a count.
    ///
    /// # Errors
    /// As [`sum`](Self::sum).
    pub fn sum_as<U: SumElem>(&self) -> Result<U>
    where
        T: Widen<U>,
    {
        self.reduce_all(ReduceOp::Sum, U::DTYPE, 0.0)
    }

    /// The sums along `axes`, as an array over `distribution().reduce(axes)`.
    ///
    /// # Errors
    /// `InvalidShape` for an axis out of range or repeated; as [`sum`](Self::sum).
    pub fn sum_axis(&self, axes: &[usize]) -> Result<DistArray<T>>
    where
        T: Widen<T> + SumElem,
    {
        self.sum_axis_as::<T>(axes)
    }

    /// The sums along `axes`, accumulated in `U`.
    ///
    /// # Errors
    /// As [`sum_axis`](Self::sum_axis).
    pub fn sum_axis_as<U: SumElem>(&self, axes: &[usize]) -> Result<DistArray<U>>
    where
        T: Widen<U>,
    {
        self.reduce_axes(ReduceOp::Sum, axes, U::DTYPE, 0.0)
    }

    /// The smallest element; NaN if any element is NaN (as numpy).
    ///
    /// # Errors
    /// `InvalidShape` for an empty array (numpy: "zero-size array to
    /// reduction operation minimum which has no identity").
    pub fn min(&self) -> Result<T>
    where
        T: OrdElem,
    {
        self.reduce_all(ReduceOp::Min, T::DTYPE, 0.0)
    }

    /// The largest element; NaN if any element is NaN (as numpy).
    ///
    /// # Errors
    /// As [`min`](Self::min).
    pub fn max(&self) -> Result<T>
    where
        T: OrdElem,
    {
        self.reduce_all(ReduceOp::Max, T::DTYPE, 0.0)
    }

    /// The minima along `axes`.
    ///
    /// # Errors
    /// As [`min`](Self::min) and [`sum_axis`](Self::sum_axis).
    pub fn min_axis(&self, axes: &[usize]) -> Result<DistArray<T>>
    where
        T: OrdElem,
    {
        self.reduce_axes(ReduceOp::Min, axes, T::DTYPE, 0.0)
    }

    /// The maxima along `axes`.
    ///
    /// # Errors
    /// As [`min`](Self::min) and [`sum_axis`](Self::sum_axis).
    pub fn max_axis(&self, axes: &[usize]) -> Result<DistArray<T>>
    where
        T: OrdElem,
    {
        self.reduce_axes(ReduceOp::Max, axes, T::DTYPE, 0.0)
    }

    /// The mean of all elements, in f64 (NaN for an empty array, as numpy).
    ///
    /// As numpy: +inf if an element is +inf and none is -inf or NaN, -inf
    /// likewise, NaN with both infinities or any NaN, whatever the layout
    /// and engine count. Of finite elements, the mean is computed without
    /// overflow (numpy's sum of `[f64::MAX, f64::MAX]` overflows to inf; the
    /// mean here is `f64::MAX`).
    ///
    /// # Errors
    /// As [`sum`](Self::sum).
    pub fn mean(&self) -> Result<f64>
    where
        T: Widen<f64>,
    {
        self.reduce_all(ReduceOp::Mean, DType::F64, 0.0)
    }

    /// The means along `axes` (infinities as in [`mean`](Self::mean)).
    ///
    /// # Errors
    /// As [`sum_axis`](Self::sum_axis).
    pub fn mean_axis(&self, axes: &[usize]) -> Result<DistArray<f64>>
    where
        T: Widen<f64>,
    {
        self.reduce_axes(ReduceOp::Mean, axes, DType::F64, 0.0)
    }

    /// The variance of all elements with `ddof` delta degrees of freedom
    /// (divisor `n - ddof`, as numpy: NaN for 0/0, inf for x/0; NaN if any
    /// element is infinite or NaN).
    ///
    /// Accurate when the mean is large against the spread: for 1e9 + noise
    /// in [0, 0.01) the relative error is about 1e-15, not the 1e-5 of a
    /// running (Welford) mean or the total loss of a sum of squares.
    ///
    /// # Errors
    /// As [`sum`](Self::sum).
    pub fn var(&self, ddof: f64) -> Result<f64>
    where
        T: Widen<f64>,
    {
        self.reduce_all(ReduceOp::Var, DType::F64, ddof)
    }

    /// The variances along `axes`, as accurate as [`var`](Self::var).
    ///
    /// # Errors
    /// As [`sum_axis`](Self::sum_axis).
    pub fn var_axis(&self, axes: &[usize], ddof: f64) -> Result<DistArray<f64>>
    where
        T: Widen<f64>,
    {
        self.reduce_axes(ReduceOp::Var, axes, DType::F64, ddof)
    }

    /// The standard deviation of all elements (square root of [`var`](Self::var)).
    ///
    /// # Errors
    /// As [`sum`](Self::sum).
    pub fn std(&self, ddof: f64) -> Result<f64>
    where
        T: Widen<f64>,
    {
        self.reduce_all(ReduceOp::Std, DType::F64, ddof)
    }

    /// The standard deviations along `axes`.
    ///
    /// # Errors
    /// As [`sum_axis`](Self::sum_axis).
    pub fn std_axis(&self, axes: &[usize], ddof: f64) -> Result<DistArray<f64>>
    where
        T: Widen<f64>,
    {
        self.reduce_axes(ReduceOp::Std, axes, DType::F64, ddof)
    }

    fn reduction(&self, op: ReduceOp, axes: Option<Vec<usize>>, into: DType, ddof: f64) -> Result<KernelCall> {
        let args = ReduceArgs { op, axes, finish: Finish { ddof }, into };
        KernelCall::internal::<T>(&REDUCE).array("a", self)?.args(&args)
    }

    fn reduce_all<O: Element + DeserializeOwned>(&self, op: ReduceOp, into: DType, ddof: f64) -> Result<O> {
        // One engine returns the value, the others `()`.
        let call = self.reduction(op, None, into, ddof)?;
        let (_, _, value) = call.send_then(None, None, |_, replies| {
            let (_, data) = replies
                .iter()
                .find(|(reply, _)| matches!(reply, KernelReply::Value))
                .ok_or_else(|| err!(Protocol, "`{}` got its value from no engine", op.name()))?;
            decode::<O>(data)
        })?;
        Ok(value)
    }

    fn reduce_axes<O: Element>(&self, op: ReduceOp, axes: &[usize], into: DType, ddof: f64) -> Result<DistArray<O>> {
        self.distribution().refuse_ghosts(&format!("`{}` along axes", op.name()))?;
        let out: Distribution = self.distribution().reduce(axes)?;
        self.reduction(op, Some(axes.to_vec()), into, ddof)?.run_array_onto(None, &out)
    }
}
