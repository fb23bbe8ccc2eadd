//! The operands of binary ufuncs: a distributed array or a scalar, on either
//! side.

use crate::client::DistArray;
use crate::core::element::Element;

/// One operand of a binary ufunc: a distributed array or a scalar of its
/// element type (applied to every element).
///
/// Built with `From`: `&a` and `2.0` both convert, which is how the in-place
/// functions (`add_inplace(&mut a, &b)`, `add_inplace(&mut a, 2.0)`) take
/// either.
#[derive(Debug)]
pub enum Operand<'a, T: Element> {
    /// A distributed array.
    Array(&'a DistArray<T>),
    /// A scalar.
    Scalar(T),
}

impl<T: Element> Clone for Operand<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Element> Copy for Operand<'_, T> {}

impl<'a, T: Element> From<&'a DistArray<T>> for Operand<'a, T> {
    fn from(array: &'a DistArray<T>) -> Self {
        Operand::Array(array)
    }
}

impl<'a, T: Element> From<&'a mut DistArray<T>> for Operand<'a, T> {
    fn from(array: &'a mut DistArray<T>) -> Self {
        Operand::Array(array)
    }
}

impl<T: Element> From<T> for Operand<'_, T> {
    fn from(scalar: T) -> Self {
        Operand::Scalar(scalar)
    }
}

/// The two operands of a binary ufunc, at least one of them an array:
/// `(&DistArray<T>, &DistArray<T>)`, `(&DistArray<T>, T)` or
/// `(T, &DistArray<T>)`. The functions of [`functions`](crate::functions)
/// take their two operands as separate arguments and require this of the
/// pair, so `add(&a, &b)`, `add(&a, 2.0)` and `add(2.0, &a)` all work and the
/// scalar's type is inferred from the array's.
#[diagnostic::on_unimplemented(
    message = "a binary ufunc needs `&DistArray<T>` operands, or one `&DistArray<T>` and one scalar `T`",
    label = "these operands are `{Self}`"
)]
pub trait Operands<'a, T: Element> {
    /// The two operands, in order.
    fn operands(self) -> (Operand<'a, T>, Operand<'a, T>);
}

impl<'a, T: Element> Operands<'a, T> for (&'a DistArray<T>, &'a DistArray<T>) {
    fn operands(self) -> (Operand<'a, T>, Operand<'a, T>) {
        (Operand::Array(self.0), Operand::Array(self.1))
    }
}

impl<'a, T: Element> Operands<'a, T> for (&'a DistArray<T>, T) {
    fn operands(self) -> (Operand<'a, T>, Operand<'a, T>) {
        (Operand::Array(self.0), Operand::Scalar(self.1))
    }
}

impl<'a, T: Element> Operands<'a, T> for (T, &'a DistArray<T>) {
    fn operands(self) -> (Operand<'a, T>, Operand<'a, T>) {
        (Operand::Scalar(self.0), Operand::Array(self.1))
    }
}
