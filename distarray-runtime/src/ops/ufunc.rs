//! How a ufunc runs, client side: the calls that check the operands' layouts
//! and run the internal kernel of the ufunc's kind (`super::engine`).
//!
//! A kind ("family") fixes how the input is converted and what the result type
//! is (see [`Ufunc`]); the ufunc itself travels as an op code in the call's
//! arguments, with the scalar operand if there is one and the mode: a new
//! array, into `out`, or in place. Into `out` and in place, an op that can fail
//! on some values (integer division by zero, ...) first computes, then the
//! engines agree over their communicator before anyone writes, so a failure
//! leaves every piece of the destination unchanged.
//!
//! An operator given an array by value ([`binary_owned`]) computes in place
//! into it instead of into a new array, where that gives the same result; a
//! failure then drops the array, so nothing is kept to undo it.

use std::any::Any;
use std::borrow::Cow;

use super::engine::dtypes::Ufunc;
use super::engine::scalar::UnaryOp;
use super::engine::{BinaryCall, Family, Mode, OpCode, UnaryCall};
use super::operand::Operand;
use crate::client::context::same_context;
use crate::client::DistArray;
use crate::client::{Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, Result};

/// Checks that arrays taking part in one elementwise operation share a
/// context, a shape and a distribution.
fn check_layouts(ufunc: &str, arrays: &[(&str, &Distribution)]) -> Result<()> {
    let Some(((first_name, first), rest)) = arrays.split_first() else {
        return Ok(());
    };
    for (name, d) in rest {
        same_context(first.context(), d.context(), format_args!("{ufunc}: `{name}`"))?;
        if d.shape() != first.shape() {
            bail!(
                InvalidShape,
                "{ufunc}: `{first_name}` has shape {:?} but `{name}` has shape {:?}",
                first.shape(),
                d.shape()
            );
        }
        if !d.is_compatible(first) {
            bail!(
                IncompatibleDistribution,
                "{ufunc}: `{first_name}` is distributed as {first} but `{name}` as {d}; elementwise operations need arrays \
                 of the same distribution"
            );
        }
    }
    Ok(())
}

/// `op(x)` as a new array.
pub(crate) fn unary<T: Ufunc, O: Element>(family: Family, op: UnaryOp, x: &DistArray<T>) -> Result<DistArray<O>> {
    KernelCall::internal::<T>(family.kernel())
        .array("x", x)?
        .args(&UnaryCall { op, mode: Mode::New })?
        .pipelined(!op.fallible())
        .run_array_as::<O>(x.distribution())
}

/// `op(x)` written into `out`.
pub(crate) fn unary_into<T: Ufunc, O: Element>(
    family: Family,
    op: UnaryOp,
    x: &DistArray<T>,
    out: &mut DistArray<O>,
) -> Result<()> {
    check_layouts(op.name(), &[("x", x.distribution()), ("out", out.distribution())])?;
    KernelCall::internal::<T>(family.kernel())
        .array("x", x)?
        .array("out", out)?
        .args(&UnaryCall { op, mode: Mode::Into })?
        .pipelined(!op.fallible())
        .run_unit()
}

/// `x = op(x)`.
pub(crate) fn unary_inplace<T: Ufunc>(family: Family, op: UnaryOp, x: &mut DistArray<T>) -> Result<()> {
    KernelCall::internal::<T>(family.kernel())
        .array("x", x)?
        .args(&UnaryCall { op, mode: Mode::InPlace })?
        .pipelined(!op.fallible())
        .run_unit()
}

/// `x2` laid out as `x1` for one elementwise operation: `x2` itself if the
/// distributions are compatible, else a temporary copy of `x2` redistributed
/// to `x1`'s distribution (neither operand is changed).
///
/// # Errors
/// `WrongContext` or `InvalidShape` if the operands' contexts or shapes
/// differ, or a redistribution failure.
fn aligned<'b, T: Element>(ufunc: &str, x1: &DistArray<T>, x2: &'b DistArray<T>) -> Result<Cow<'b, DistArray<T>>> {
    let (first, d) = (x1.distribution(), x2.distribution());
    same_context(first.context(), d.context(), format_args!("{ufunc}: `x2`"))?;
    if d.shape() != first.shape() {
        bail!(InvalidShape, "{ufunc}: `x1` has shape {:?} but `x2` has shape {:?}", first.shape(), d.shape());
    }
    x2.aligned_to(first)
}

/// The call of a binary ufunc on two operands, with the arrays among them
/// added; also the first array and its parameter name (its layout is the
/// result's), and the temporary copy of `x2` the call reads when `x2` had to
/// be redistributed to `x1`'s layout (keep it alive until the call has run).
#[allow(clippy::type_complexity)]
fn binary_call<'a, T: Ufunc, Op: OpCode>(
    family: Family,
    op: Op,
    mode: Mode,
    x1: Operand<'a, T>,
    x2: Operand<'a, T>,
) -> Result<(KernelCall, (&'static str, &'a DistArray<T>), Option<DistArray<T>>)> {
    let call = KernelCall::internal::<T>(family.kernel()).pipelined(!op.fallible());
    let args = |scalar, scalar_first| BinaryCall { op, scalar, scalar_first, mode };
    match (x1, x2) {
        (Operand::Array(a), Operand::Array(b)) => match aligned(op.name(), a, b)? {
            Cow::Borrowed(b) => Ok((call.array("x1", a)?.array("x2", b)?.args(&args(None, false))?, ("x1", a), None)),
            Cow::Owned(copy) => {
                Ok((call.array("x1", a)?.array("x2", &copy)?.args(&args(None, false))?, ("x1", a), Some(copy)))
            }
        },
        (Operand::Array(a), Operand::Scalar(s)) => {
            Ok((call.array("x1", a)?.args(&args(Some(s), false))?, ("x1", a), None))
        }
        (Operand::Scalar(s), Operand::Array(b)) => {
            Ok((call.array("x2", b)?.args(&args(Some(s), true))?, ("x2", b), None))
        }
        (Operand::Scalar(_), Operand::Scalar(_)) => {
            bail!(InvalidShape, "{}: at least one operand must be an array", op.name())
        }
    }
}

/// `op(x1, x2)` as a new array.
pub(crate) fn binary<T: Ufunc, O: Element, Op: OpCode>(
    family: Family,
    op: Op,
    x1: Operand<'_, T>,
    x2: Operand<'_, T>,
) -> Result<DistArray<O>> {
    let (call, (_, like), _copy) = binary_call(family, op, Mode::New, x1, x2)?;
    call.run_array_as::<O>(like.distribution())
}

/// `op(x1, x2)` written into `out`.
pub(crate) fn binary_into<T: Ufunc, O: Element, Op: OpCode>(
    family: Family,
    op: Op,
    x1: Operand<'_, T>,
    x2: Operand<'_, T>,
    out: &mut DistArray<O>,
) -> Result<()> {
    // `out` is written in place, so it is never redistributed: it must match
    // the result's layout (checked before any temporary copy is made).
    let like = match (x1, x2) {
        (Operand::Array(a), _) => ("x1", a),
        (Operand::Scalar(_), Operand::Array(b)) => ("x2", b),
        (Operand::Scalar(_), Operand::Scalar(_)) => {
            bail!(InvalidShape, "{}: at least one operand must be an array", op.name())
        }
    };
    check_layouts(op.name(), &[(like.0, like.1.distribution()), ("out", out.distribution())])?;
    let (call, _, _copy) = binary_call(family, op, Mode::Into, x1, x2)?;
    call.array("out", out)?.run_unit()
}

/// `x1 = op(x1, x2)`.
pub(crate) fn binary_inplace<T: Ufunc, Op: OpCode>(
    family: Family,
    op: Op,
    x1: &mut DistArray<T>,
    x2: Operand<'_, T>,
) -> Result<()> {
    // `x1` is written in place and keeps its layout; only a copy of `x2` may be
    // redistributed.
    let (call, _, _copy) = binary_call(family, op, Mode::InPlace, Operand::Array(x1), x2)?;
    call.run_unit()
}

/// An operand of an operator: borrowed, or owned by the operator, which may
/// then write the result into its pieces.
pub(crate) enum Arg<'a, T: Element> {
    Borrowed(Operand<'a, T>),
    Owned(DistArray<T>),
}

impl<T: Element> Arg<'_, T> {
    fn operand(&self) -> Operand<'_, T> {
        match self {
            Arg::Borrowed(operand) => *operand,
            Arg::Owned(array) => Operand::Array(array),
        }
    }
}

/// `value` as the type `B` it is (the caller has checked that `A` is `B`).
fn same_type<A: Any, B: Any>(value: A) -> Result<B> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<B>>().and_then(Option::take) {
        Some(value) => Ok(value),
        None => bail!(DTypeMismatch, "an operand's buffer cannot hold a result of another element type"),
    }
}

/// `op(x1, x2)` for an operator that owns at least one operand: the result is
/// computed in place into an owned operand's pieces, which become the result,
/// when that gives what [`binary`] gives:
///
/// - the result has the operands' element type `T`;
/// - an owned `x1` always can (in place keeps `x1`'s layout, which is the
///   result's; a differently distributed `x2` is read through a temporary
///   copy, as `binary` does);
/// - an owned `x2` only if `commutes` (the engines write in place into the
///   first operand, so it becomes `op(x2, x1)`) and its layout is `x1`'s (the
///   result's).
///
/// Otherwise, a new array as [`binary`], the owned operands then dropped.
/// Errors are `binary`'s, an owned operand being dropped with them.
pub(crate) fn binary_owned<T: Ufunc, O: Element, Op: OpCode>(
    family: Family,
    op: Op,
    commutes: bool,
    x1: Arg<'_, T>,
    x2: Arg<'_, T>,
) -> Result<DistArray<O>> {
    let same = O::DTYPE == T::DTYPE;
    let x1 = match x1 {
        Arg::Owned(a) if same => return reuse(family, op, a, x2.operand()),
        x1 => x1,
    };
    let x2 = match x2 {
        Arg::Owned(b) if same && commutes && lays_out_as(&b, x1.operand()) => {
            return reuse(family, op, b, x1.operand())
        }
        x2 => x2,
    };
    binary(family, op, x1.operand(), x2.operand())
}

/// Whether `array` has the layout `other` gives a result.
fn lays_out_as<T: Element>(array: &DistArray<T>, other: Operand<'_, T>) -> bool {
    match other {
        Operand::Array(other) => array.distribution().is_compatible(other.distribution()),
        Operand::Scalar(_) => true,
    }
}

/// `x1 = op(x1, x2)`, `x1` then returned as the result.
fn reuse<T: Ufunc, O: Element, Op: OpCode>(
    family: Family,
    op: Op,
    x1: DistArray<T>,
    x2: Operand<'_, T>,
) -> Result<DistArray<O>> {
    let (call, _, _copy) = binary_call(family, op, Mode::InPlace, Operand::Array(&x1), x2)?;
    // Nothing to undo on failure: `x1` is dropped with the error. (An
    // infallible op is pipelined and keeps no copy anyway.)
    call.without_undo().run_unit()?;
    same_type(x1)
}
