//! The engine side of ufuncs: the kernels (one per kind of ufunc and element
//! type), the call they decode, and the per-element semantics ([`scalar`],
//! with numpy's C99 complex functions in [`complex_math`] and accurate real
//! ones in [`real_math`]); [`dtypes`] says which types each ufunc takes.

use std::any::Any;
use std::borrow::Cow;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::core::alloc::Side;
use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::engine::kernel::{
    local_like, output_array, output_unit, register_internal, InternalKernel, KernelInputs, KernelOutput,
};
use crate::engine::local::LocalArray;
use dtypes::Ufunc;
use scalar::{BinaryOp, CompareOp, Scalar, UnaryOp};

pub(crate) mod complex_math;
pub(crate) mod dtypes;
mod real_math;
pub(crate) mod scalar;

/// Where a ufunc's result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mode {
    /// A new array.
    New,
    /// The last array argument, `out`.
    Into,
    /// The first array argument.
    InPlace,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct UnaryCall {
    pub(crate) op: UnaryOp,
    pub(crate) mode: Mode,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BinaryCall<T, Op> {
    pub(crate) op: Op,
    /// The scalar operand, if one of the two is a scalar.
    pub(crate) scalar: Option<T>,
    /// Whether the scalar is the first operand.
    pub(crate) scalar_first: bool,
    pub(crate) mode: Mode,
}

/// What the engines and the client need to know of an op code.
pub(crate) trait OpCode: Copy + Serialize + DeserializeOwned {
    /// The numpy name.
    fn name(self) -> &'static str;
    /// Whether it can fail on some values.
    fn fallible(self) -> bool;
}

impl OpCode for UnaryOp {
    fn name(self) -> &'static str {
        UnaryOp::name(self)
    }
    fn fallible(self) -> bool {
        UnaryOp::fallible(self)
    }
}

impl OpCode for BinaryOp {
    fn name(self) -> &'static str {
        BinaryOp::name(self)
    }
    fn fallible(self) -> bool {
        BinaryOp::fallible(self)
    }
}

impl OpCode for CompareOp {
    fn name(self) -> &'static str {
        CompareOp::name(self)
    }
    fn fallible(self) -> bool {
        false
    }
}

/// A kind of ufunc: how the input converts and what type the result has.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Family {
    /// Computed in `T`, result `T`.
    UnarySame,
    /// Computed in and giving `T::Promoted`.
    UnaryPromoted,
    /// Computed in and giving `T::Float`.
    UnaryFloat,
    /// `absolute`, giving `T::Magnitude`.
    UnaryMagnitude,
    /// Computed in `T`, result `T`.
    BinarySame,
    /// Computed in and giving `T::Promoted`.
    BinaryPromoted,
    /// Computed in and giving `T::Float`.
    BinaryFloat,
    /// Computed in and giving `T::Quotient`.
    BinaryQuotient,
    /// A comparison, giving `bool`.
    Compare,
}

impl Family {
    /// This family's kernel (the op travels in its arguments).
    pub(crate) fn kernel(self) -> &'static InternalKernel {
        match self {
            Family::UnarySame => &UNARY_SAME,
            Family::UnaryPromoted => &UNARY_PROMOTED,
            Family::UnaryFloat => &UNARY_FLOAT,
            Family::UnaryMagnitude => &UNARY_MAGNITUDE,
            Family::BinarySame => &BINARY_SAME,
            Family::BinaryPromoted => &BINARY_PROMOTED,
            Family::BinaryFloat => &BINARY_FLOAT,
            Family::BinaryQuotient => &BINARY_QUOTIENT,
            Family::Compare => &COMPARE,
        }
    }
}

// One kernel per family, registered for every element type.
pub(crate) const UNARY_SAME: InternalKernel = InternalKernel::new("distarray::ops::unary_same");
pub(crate) const UNARY_PROMOTED: InternalKernel = InternalKernel::new("distarray::ops::unary_promoted");
pub(crate) const UNARY_FLOAT: InternalKernel = InternalKernel::new("distarray::ops::unary_float");
pub(crate) const UNARY_MAGNITUDE: InternalKernel = InternalKernel::new("distarray::ops::unary_magnitude");
pub(crate) const BINARY_SAME: InternalKernel = InternalKernel::new("distarray::ops::binary_same");
pub(crate) const BINARY_PROMOTED: InternalKernel = InternalKernel::new("distarray::ops::binary_promoted");
pub(crate) const BINARY_FLOAT: InternalKernel = InternalKernel::new("distarray::ops::binary_float");
pub(crate) const BINARY_QUOTIENT: InternalKernel = InternalKernel::new("distarray::ops::binary_quotient");
pub(crate) const COMPARE: InternalKernel = InternalKernel::new("distarray::ops::compare");

/// A local array's elements in logical (C) order, borrowed when contiguous
/// (else a checked copy).
fn elements<T: Element>(a: &LocalArray<T>) -> Result<Cow<'_, [T]>> {
    Side::Engine.standard(a.view())
}

/// `value` as the type `B` it is (in-place ufuncs: the client's bounds make
/// the result type the input type; the check folds away once monomorphised).
fn same_type<A: Any, B: Any>(value: A) -> Result<B> {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<B>>()
        .and_then(Option::take)
        .ok_or_else(|| err!(DTypeMismatch, "an in-place ufunc would change the element type"))
}

/// A new local array shaped like `like`, its elements written by `write`
/// straight into the new buffer (one pass, no temporary).
fn new_piece<O: Element, T: Element>(
    like: &LocalArray<T>,
    write: impl FnOnce(&mut [O]) -> Result<()>,
) -> Result<LocalArray<O>> {
    let mut values = Side::Engine.filled(like.len(), O::zero())?;
    write(&mut values)?;
    local_like(like, values)
}

/// Runs `write` on `out`'s elements (in logical order; in-place ops read what
/// they overwrite), straight on its buffer where it is contiguous. Should the
/// op fail part way, here or on another engine, the kernel call puts `out`
/// back as it was on every engine (see `KernelArrays::next_mut`).
fn write_piece<O: Element>(out: &mut LocalArray<O>, write: impl FnOnce(&mut [O]) -> Result<()>) -> Result<()> {
    if let Some(slice) = out.as_slice_mut() {
        return write(slice);
    }
    let mut values: Vec<O> = Side::Engine.collect(out.len(), out.iter().copied())?;
    write(&mut values)?;
    out.iter_mut().zip(values).for_each(|(o, v)| *o = v);
    Ok(())
}

/// `out[i] = f(x[i])`.
fn map_into<T: Copy, O>(x: &[T], out: &mut [O], f: impl Fn(T) -> Result<O>) -> Result<()> {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v)?;
    }
    Ok(())
}

/// `t[i] = f(t[i])`, for in-place ops (where `O` is `T`).
fn map_in_place<T: Copy + Any, O: Any + Copy>(target: &mut [O], f: impl Fn(T) -> Result<O>) -> Result<()> {
    for t in target.iter_mut() {
        *t = f(same_type(*t)?)?;
    }
    Ok(())
}

fn run_unary<T: Element, O: Element>(
    inputs: &mut KernelInputs<'_>,
    f: impl Fn(UnaryOp, T) -> Result<O>,
) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let UnaryCall { op, mode } = args.decode()?;
    let f = |v| f(op, v);
    match mode {
        Mode::New => {
            let x = arrays.next_ref::<T>("x")?;
            let result = new_piece(x, |out| map_into(&elements(x)?, out, f))?;
            output_array(inputs, result)
        }
        Mode::Into => {
            let x = arrays.next_ref::<T>("x")?;
            let out = arrays.next_mut::<O>("out")?;
            write_piece(out, |out| map_into(&elements(x)?, out, f))?;
            output_unit(())
        }
        Mode::InPlace => {
            let target = arrays.next_mut::<O>("x")?;
            write_piece(target, |t| map_in_place(t, f))?;
            output_unit(())
        }
    }
}

/// Writes `f` of the two operands into `out`: the first array operand's
/// elements `a`, the second's `b` (or the scalar, on its side). In place, `a`
/// is `None` and `out` holds the first operand.
fn zip_into<T: Element, O: Any + Copy, Op: OpCode>(
    call: &BinaryCall<T, Op>,
    a: Option<&[T]>,
    b: Option<&[T]>,
    out: &mut [O],
    f: &impl Fn(Op, T, T) -> Result<O>,
) -> Result<()> {
    let op = call.op;
    if let Some(other) = b.filter(|b| b.len() != out.len()) {
        bail!(InvalidShape, "{}: local pieces of {} and {} elements", op.name(), out.len(), other.len());
    }
    match (a, call.scalar, b) {
        (Some(a), None, Some(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(op, x, y)?;
            }
        }
        (Some(a), Some(s), _) if call.scalar_first => map_into(a, out, |y| f(op, s, y))?,
        (Some(a), Some(s), _) => map_into(a, out, |x| f(op, x, s))?,
        (None, None, Some(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                *o = f(op, same_type(*o)?, y)?;
            }
        }
        (None, Some(s), _) => map_in_place(out, |x| f(op, x, s))?,
        (_, None, None) => bail!(Protocol, "{}: the second operand is missing", op.name()),
    }
    Ok(())
}

fn run_binary<T: Element, O: Element, Op: OpCode>(
    inputs: &mut KernelInputs<'_>,
    f: impl Fn(Op, T, T) -> Result<O>,
) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let call: BinaryCall<T, Op> = args.decode()?;
    match call.mode {
        Mode::New | Mode::Into => {
            let a = arrays.next_ref::<T>("x1")?;
            let b = if call.scalar.is_none() { Some(arrays.next_ref::<T>("x2")?) } else { None };
            let (a_elements, b) = (elements(a)?, b.map(elements).transpose()?);
            let write = |out: &mut [O]| zip_into(&call, Some(&a_elements), b.as_deref(), out, &f);
            if call.mode == Mode::New {
                let result = new_piece(a, write)?;
                return output_array(inputs, result);
            }
            write_piece(arrays.next_mut::<O>("out")?, write)?;
            output_unit(())
        }
        Mode::InPlace => {
            let target = arrays.next_mut::<O>("x1")?;
            let b = if call.scalar.is_none() { Some(arrays.next_ref::<T>("x2")?) } else { None };
            let b = b.map(elements).transpose()?;
            write_piece(target, |out| zip_into(&call, None, b.as_deref(), out, &f))?;
            output_unit(())
        }
    }
}

fn unary_same<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_unary::<T, T>(inputs, T::unary)
}

fn unary_promoted<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_unary::<T, T::Promoted>(inputs, |op, x| Scalar::unary(op, x.promote()))
}

fn unary_float<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_unary::<T, T::Float>(inputs, |op, x| Scalar::unary(op, x.to_float()))
}

fn unary_magnitude<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_unary::<T, T::Magnitude>(inputs, |_, x| Ok(x.magnitude()))
}

fn binary_same<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_binary::<T, T, BinaryOp>(inputs, T::binary)
}

fn binary_promoted<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_binary::<T, T::Promoted, BinaryOp>(inputs, |op, a, b| Scalar::binary(op, a.promote(), b.promote()))
}

fn binary_float<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_binary::<T, T::Float, BinaryOp>(inputs, |op, a, b| Scalar::binary(op, a.to_float(), b.to_float()))
}

fn binary_quotient<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_binary::<T, T::Quotient, BinaryOp>(inputs, |op, a, b| Scalar::binary(op, a.to_quotient(), b.to_quotient()))
}

fn compare<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    run_binary::<T, bool, CompareOp>(inputs, |op, a, b| Ok(T::compare(op, a, b)))
}

register_internal!(UNARY_SAME, unary_same);
register_internal!(UNARY_PROMOTED, unary_promoted);
register_internal!(UNARY_FLOAT, unary_float);
register_internal!(UNARY_MAGNITUDE, unary_magnitude);
register_internal!(BINARY_SAME, binary_same);
register_internal!(BINARY_PROMOTED, binary_promoted);
register_internal!(BINARY_FLOAT, binary_float);
register_internal!(BINARY_QUOTIENT, binary_quotient);
register_internal!(COMPARE, compare);
