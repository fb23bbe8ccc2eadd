//! The predefined reduction operations of the typed collectives
//! ([`Op`]) and the element types they apply to ([`Reducible`]).

use num_complex::Complex;

use crate::core::element::Element;

/// A predefined reduction operation, as MPI's `MPI_SUM`, `MPI_PROD`,
/// `MPI_MIN` and `MPI_MAX` (rsmpi's `SystemOperation`).
///
/// Min and max follow numpy's `minimum` and `maximum`: a NaN wins, and
/// complex numbers compare lexicographically (real part, then imaginary).
///
/// # Examples
/// ```
/// use distarray::Op;
///
/// assert_eq!(Op::Sum.apply(2, 3), 5);
/// assert_eq!(Op::Max.apply(2.0, f64::NAN).is_nan(), true);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `a + b` (wrapping for integers, as MPI's).
    Sum,
    /// `a * b` (wrapping for integers).
    Product,
    /// The smaller of `a` and `b`.
    Min,
    /// The larger of `a` and `b`.
    Max,
}

impl Op {
    /// `a` combined with `b` by this operation.
    pub fn apply<T: Reducible>(self, a: T, b: T) -> T {
        match self {
            Op::Sum => a.sum(b),
            Op::Product => a.product(b),
            Op::Min => a.min_of(b),
            Op::Max => a.max_of(b),
        }
    }

    /// `recv[i] = apply(recv[i], other[i])` for every `i`.
    pub(crate) fn fold_into<T: Reducible>(self, recv: &mut [T], other: &[T]) {
        recv.iter_mut().zip(other).for_each(|(r, &o)| *r = self.apply(*r, o));
    }

    /// Whether MPI's predefined operation gives the same result as
    /// [`apply`](Self::apply) on `T` (its NaN and complex rules differ).
    pub(crate) fn native_for<T: Reducible>(self) -> bool {
        matches!(self, Op::Sum | Op::Product) || T::ORDERED_LIKE_MPI
    }
}

mod sealed {
    pub trait Sealed {}
}

/// An element type the operations of [`Op`] apply to: the integers, the
/// floats and the complex numbers (not `bool`).
pub trait Reducible: Element + sealed::Sealed {
    /// Whether MPI's `MPI_MIN`/`MPI_MAX` agree with [`Op`]'s (integers).
    #[doc(hidden)]
    const ORDERED_LIKE_MPI: bool;
    /// `self + other`.
    #[doc(hidden)]
    fn sum(self, other: Self) -> Self;
    /// `self * other`.
    #[doc(hidden)]
    fn product(self, other: Self) -> Self;
    /// The smaller one.
    #[doc(hidden)]
    fn min_of(self, other: Self) -> Self;
    /// The larger one.
    #[doc(hidden)]
    fn max_of(self, other: Self) -> Self;
}

macro_rules! reducible_int {
    ($($t:ty)*) => {$(
        impl sealed::Sealed for $t {}
        impl Reducible for $t {
            const ORDERED_LIKE_MPI: bool = true;
            fn sum(self, other: Self) -> Self { self.wrapping_add(other) }
            fn product(self, other: Self) -> Self { self.wrapping_mul(other) }
            fn min_of(self, other: Self) -> Self { self.min(other) }
            fn max_of(self, other: Self) -> Self { self.max(other) }
        }
    )*};
}
reducible_int!(i8 i16 i32 i64 u8 u16 u32 u64);

/// numpy's `minimum`/`maximum` of complex numbers: a NaN part wins (the
/// left one if both have one), else the lexicographic order, real part first.
macro_rules! complex_pick {
    ($a:expr, $b:expr, $keep_a:expr) => {{
        let (a, b) = ($a, $b);
        let nan = |z: Self| z.re.is_nan() || z.im.is_nan();
        if nan(a) {
            a
        } else if nan(b) {
            b
        } else if $keep_a(a.re < b.re || (a.re == b.re && a.im <= b.im)) {
            a
        } else {
            b
        }
    }};
}

macro_rules! reducible_float {
    ($($t:ty)*) => {$(
        impl sealed::Sealed for $t {}
        impl Reducible for $t {
            const ORDERED_LIKE_MPI: bool = false;
            fn sum(self, other: Self) -> Self { self + other }
            fn product(self, other: Self) -> Self { self * other }
            // numpy's minimum/maximum: a NaN on either side wins.
            fn min_of(self, other: Self) -> Self { if self.is_nan() || self <= other { self } else { other } }
            fn max_of(self, other: Self) -> Self { if self.is_nan() || self >= other { self } else { other } }
        }
        impl sealed::Sealed for Complex<$t> {}
        impl Reducible for Complex<$t> {
            const ORDERED_LIKE_MPI: bool = false;
            fn sum(self, other: Self) -> Self { self + other }
            fn product(self, other: Self) -> Self { self * other }
            fn min_of(self, other: Self) -> Self { complex_pick!(self, other, |le: bool| le) }
            fn max_of(self, other: Self) -> Self { complex_pick!(self, other, |le: bool| !le || self == other) }
        }
    )*};
}
reducible_float!(f32 f64);
