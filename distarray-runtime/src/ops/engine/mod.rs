//! The engine side of ufuncs: the kernels (one per kind of ufunc and element
//! type), the call they decode, and the per-element semantics ([`scalar`],
//! with numpy's C99 complex functions in [`complex_math`] and accurate real
//! ones in [`real_math`]); [`dtypes`] says which types each ufunc takes.

use std::any::{Any, TypeId};
use std::borrow::Cow;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::core::alloc::Side;
use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::engine::fusion::{register_blockwise, Block, BlockStep, CallArrays, SlotId, Target};
use crate::engine::kernel::{
    local_like, output_array, output_unit, register_internal, InternalKernel, KernelInputs, KernelOutput,
};
use crate::engine::local::LocalArray;
use crate::protocol::decode;
use dtypes::Ufunc;
use scalar::{BinaryLoop, BinaryOp, CompareOp, Scalar, UnaryLoop, UnaryOp};

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

/// A new local array shaped like `like`, its elements appended by `write` to
/// an empty buffer with room for them (one pass, no fill beforehand, no
/// temporary).
fn new_piece<O: Element, T: Element>(
    like: &LocalArray<T>,
    write: impl FnOnce(&mut Vec<O>) -> Result<()>,
) -> Result<LocalArray<O>> {
    // A pooled buffer when one fits: already mapped, no page faults.
    let mut values = crate::engine::pool::vec(like.len())?;
    write(&mut values)?;
    if values.len() != like.len() {
        bail!(InvalidShape, "a ufunc wrote {} of {} elements", values.len(), like.len());
    }
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

/// `value` as `B`.
///
/// # Safety
///
/// `A` and `B` must be the same type.
unsafe fn cast<A: Copy, B: Copy>(value: A) -> B {
    // SAFETY: the caller guarantees `A` is `B`, so this copies a `B`.
    unsafe { std::mem::transmute_copy(&value) }
}

/// Whether `A` is `B` (folds to a constant once monomorphised).
fn is<A: Any, B: Any>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

/// Where a unary ufunc reads and writes.
enum UnaryJob<'a, T, O> {
    /// Appends `op(x[i])` to an empty buffer with room for them.
    New(&'a [T], &'a mut Vec<O>),
    /// `out[i] = op(x[i])`.
    Into(&'a [T], &'a mut [O]),
    /// `t[i] = op(t[i])` (where `O` is `T`).
    InPlace(&'a mut [O]),
}

impl<T: Copy + Any, O: Copy + Any> UnaryJob<'_, T, O> {
    /// Element by element, stopping at the first error.
    fn run(self, f: impl Fn(T) -> Result<O>) -> Result<()> {
        match self {
            UnaryJob::New(x, values) => {
                for &v in x {
                    values.push(f(v)?);
                }
            }
            UnaryJob::Into(x, out) => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = f(v)?;
                }
            }
            UnaryJob::InPlace(target) => {
                for t in target.iter_mut() {
                    *t = f(same_type(*t)?)?;
                }
            }
        }
        Ok(())
    }

    /// An infallible `f`, in loops over slices with nothing else in them (so
    /// LLVM vectorises them where `f` allows).
    fn run_plain(self, f: impl Fn(T) -> O + Copy) -> Result<()> {
        match self {
            UnaryJob::New(x, values) => values.extend(x.iter().map(|&v| f(v))),
            UnaryJob::Into(x, out) => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = f(v);
                }
            }
            UnaryJob::InPlace(target) if is::<O, T>() => {
                for t in target.iter_mut() {
                    // SAFETY: `O` is `T` (checked above).
                    *t = f(unsafe { cast::<O, T>(*t) });
                }
            }
            // A type mismatch, which the per-element path reports.
            job @ UnaryJob::InPlace(_) => return job.run(|v| Ok(f(v))),
        }
        Ok(())
    }
}

/// A [`UnaryJob`] whose op computes in `C`, to which `conv` converts.
struct UnaryPlain<'a, T, O, Conv> {
    job: UnaryJob<'a, T, O>,
    conv: Conv,
}

impl<T: Copy + Any, C, O: Copy + Any, Conv: Fn(T) -> C + Copy> UnaryLoop<C, O> for UnaryPlain<'_, T, O, Conv> {
    type Output = Result<()>;
    fn run<F: Fn(C) -> O + Copy>(self, f: F) -> Result<()> {
        let conv = self.conv;
        self.job.run_plain(move |x| f(conv(x)))
    }
}

/// `op` on the job's elements, converted to `C` by `conv`: one loop for this
/// op where [`Scalar::fast_unary`] has it, else element by element.
fn unary_in<T: Copy + Any, C: Scalar>(
    op: UnaryOp,
    job: UnaryJob<'_, T, C>,
    conv: impl Fn(T) -> C + Copy,
) -> Result<()> {
    match C::fast_unary(op, UnaryPlain { job, conv }) {
        Ok(done) => done,
        Err(UnaryPlain { job, conv }) => job.run(|x| C::unary(op, conv(x))),
    }
}

fn run_unary<T: Element, O: Element>(
    inputs: &mut KernelInputs<'_>,
    apply: impl FnOnce(UnaryOp, UnaryJob<'_, T, O>) -> Result<()>,
) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let UnaryCall { op, mode } = args.decode()?;
    match mode {
        Mode::New => {
            let x = arrays.next_ref::<T>("x")?;
            let result = new_piece(x, |values| apply(op, UnaryJob::New(&elements(x)?, values)))?;
            output_array(inputs, result)
        }
        Mode::Into => {
            let x = arrays.next_ref::<T>("x")?;
            let out = arrays.next_mut::<O>("out")?;
            write_piece(out, |out| {
                let x = elements(x)?;
                if x.len() != out.len() {
                    bail!(InvalidShape, "{}: local pieces of {} and {} elements", op.name(), out.len(), x.len());
                }
                apply(op, UnaryJob::Into(&x, out))
            })?;
            output_unit(())
        }
        Mode::InPlace => {
            let target = arrays.next_mut::<O>("x")?;
            write_piece(target, |t| apply(op, UnaryJob::InPlace(t)))?;
            output_unit(())
        }
    }
}

/// The operands of a binary ufunc that makes a new array or writes `out`.
enum Operands<'a, T> {
    /// Two arrays' elements.
    Arrays(&'a [T], &'a [T]),
    /// `op(s, a[i])`.
    ScalarFirst(T, &'a [T]),
    /// `op(a[i], s)`.
    ScalarSecond(&'a [T], T),
}

/// The second operand of an in-place binary ufunc.
enum Rhs<'a, T> {
    Array(&'a [T]),
    Scalar(T),
}

/// Where a binary ufunc reads and writes.
enum BinaryJob<'a, T, O> {
    /// Appends the results to an empty buffer with room for them.
    New(Operands<'a, T>, &'a mut Vec<O>),
    /// Writes the results into `out`.
    Into(Operands<'a, T>, &'a mut [O]),
    /// `t[i] = op(t[i], rhs)` (where `O` is `T`).
    InPlace(&'a mut [O], Rhs<'a, T>),
}

impl<T: Copy + Any, O: Copy + Any> BinaryJob<'_, T, O> {
    /// Element by element, stopping at the first error.
    fn run(self, f: impl Fn(T, T) -> Result<O>) -> Result<()> {
        match self {
            BinaryJob::New(operands, values) => match operands {
                Operands::Arrays(a, b) => {
                    for (&x, &y) in a.iter().zip(b) {
                        values.push(f(x, y)?);
                    }
                }
                Operands::ScalarFirst(s, a) => {
                    for &y in a {
                        values.push(f(s, y)?);
                    }
                }
                Operands::ScalarSecond(a, s) => {
                    for &x in a {
                        values.push(f(x, s)?);
                    }
                }
            },
            BinaryJob::Into(operands, out) => match operands {
                Operands::Arrays(a, b) => {
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = f(x, y)?;
                    }
                }
                Operands::ScalarFirst(s, a) => {
                    for (o, &y) in out.iter_mut().zip(a) {
                        *o = f(s, y)?;
                    }
                }
                Operands::ScalarSecond(a, s) => {
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = f(x, s)?;
                    }
                }
            },
            BinaryJob::InPlace(target, rhs) => match rhs {
                Rhs::Array(b) => {
                    for (o, &y) in target.iter_mut().zip(b) {
                        *o = f(same_type(*o)?, y)?;
                    }
                }
                Rhs::Scalar(s) => {
                    for o in target.iter_mut() {
                        *o = f(same_type(*o)?, s)?;
                    }
                }
            },
        }
        Ok(())
    }

    /// An infallible `f`, in loops over slices with nothing else in them (so
    /// LLVM vectorises them where `f` allows).
    fn run_plain(self, f: impl Fn(T, T) -> O + Copy) -> Result<()> {
        match self {
            BinaryJob::New(operands, values) => match operands {
                Operands::Arrays(a, b) => values.extend(a.iter().zip(b).map(|(&x, &y)| f(x, y))),
                Operands::ScalarFirst(s, a) => values.extend(a.iter().map(|&y| f(s, y))),
                Operands::ScalarSecond(a, s) => values.extend(a.iter().map(|&x| f(x, s))),
            },
            BinaryJob::Into(operands, out) => match operands {
                Operands::Arrays(a, b) => {
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = f(x, y);
                    }
                }
                Operands::ScalarFirst(s, a) => {
                    for (o, &y) in out.iter_mut().zip(a) {
                        *o = f(s, y);
                    }
                }
                Operands::ScalarSecond(a, s) => {
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = f(x, s);
                    }
                }
            },
            BinaryJob::InPlace(target, rhs) if is::<O, T>() => match rhs {
                Rhs::Array(b) => {
                    for (o, &y) in target.iter_mut().zip(b) {
                        // SAFETY: `O` is `T` (checked above).
                        *o = f(unsafe { cast::<O, T>(*o) }, y);
                    }
                }
                Rhs::Scalar(s) => {
                    for o in target.iter_mut() {
                        // SAFETY: as above.
                        *o = f(unsafe { cast::<O, T>(*o) }, s);
                    }
                }
            },
            // A type mismatch, which the per-element path reports.
            job @ BinaryJob::InPlace(..) => return job.run(|x, y| Ok(f(x, y))),
        }
        Ok(())
    }
}

/// A [`BinaryJob`] whose op computes in `C`, to which `conv` converts.
struct BinaryPlain<'a, T, O, Conv> {
    job: BinaryJob<'a, T, O>,
    conv: Conv,
}

impl<T: Copy + Any, C, O: Copy + Any, Conv: Fn(T) -> C + Copy> BinaryLoop<C, O> for BinaryPlain<'_, T, O, Conv> {
    type Output = Result<()>;
    fn run<F: Fn(C, C) -> O + Copy>(self, f: F) -> Result<()> {
        let conv = self.conv;
        self.job.run_plain(move |x, y| f(conv(x), conv(y)))
    }
}

/// `op` on the job's elements, converted to `C` by `conv`: one loop for this
/// op where [`Scalar::fast_binary`] has it, else element by element.
fn binary_in<T: Copy + Any, C: Scalar>(
    op: BinaryOp,
    job: BinaryJob<'_, T, C>,
    conv: impl Fn(T) -> C + Copy,
) -> Result<()> {
    match C::fast_binary(op, BinaryPlain { job, conv }) {
        Ok(done) => done,
        Err(BinaryPlain { job, conv }) => job.run(|x, y| C::binary(op, conv(x), conv(y))),
    }
}

/// The job of a binary call: the first array operand's elements `a`, the
/// second's `b` (or the scalar, on its side); in place, `a` is `None` and
/// `out` holds the first operand. Checks the pieces' lengths.
fn binary_job<'a, T: Element, O, Op: OpCode>(
    call: &BinaryCall<T, Op>,
    a: Option<&'a [T]>,
    b: Option<&'a [T]>,
    out: Result<&'a mut [O], &'a mut Vec<O>>,
) -> Result<BinaryJob<'a, T, O>> {
    let name = call.op.name();
    let len = match (&out, a) {
        (Ok(out), _) => out.len(),
        (Err(_), Some(a)) => a.len(),
        (Err(_), None) => bail!(Protocol, "{name}: a new array needs its first operand"),
    };
    for other in [a, b].into_iter().flatten() {
        if other.len() != len {
            bail!(InvalidShape, "{name}: local pieces of {len} and {} elements", other.len());
        }
    }
    let operands = match (a, call.scalar, b) {
        (Some(a), None, Some(b)) => Operands::Arrays(a, b),
        (Some(a), Some(s), _) if call.scalar_first => Operands::ScalarFirst(s, a),
        (Some(a), Some(s), _) => Operands::ScalarSecond(a, s),
        (None, _, _) => {
            let rhs = match (call.scalar, b) {
                (Some(s), _) => Rhs::Scalar(s),
                (None, Some(b)) => Rhs::Array(b),
                (None, None) => bail!(Protocol, "{name}: the second operand is missing"),
            };
            return match out {
                Ok(target) => Ok(BinaryJob::InPlace(target, rhs)),
                Err(_) => bail!(Protocol, "{name}: an in-place call without its target"),
            };
        }
        (Some(_), None, None) => bail!(Protocol, "{name}: the second operand is missing"),
    };
    Ok(match out {
        Ok(out) => BinaryJob::Into(operands, out),
        Err(values) => BinaryJob::New(operands, values),
    })
}

fn run_binary<T: Element, O: Element, Op: OpCode>(
    inputs: &mut KernelInputs<'_>,
    apply: impl Fn(Op, BinaryJob<'_, T, O>) -> Result<()>,
) -> Result<KernelOutput> {
    let (args, mut arrays, _) = inputs.split();
    let call: BinaryCall<T, Op> = args.decode()?;
    let op = call.op;
    match call.mode {
        Mode::New | Mode::Into => {
            let a = arrays.next_ref::<T>("x1")?;
            let b = if call.scalar.is_none() { Some(arrays.next_ref::<T>("x2")?) } else { None };
            let (a_elements, b) = (elements(a)?, b.map(elements).transpose()?);
            let (a_slice, b_slice) = (Some(&*a_elements), b.as_deref());
            if call.mode == Mode::New {
                let result = new_piece(a, |values| apply(op, binary_job(&call, a_slice, b_slice, Err(values))?))?;
                return output_array(inputs, result);
            }
            write_piece(arrays.next_mut::<O>("out")?, |out| apply(op, binary_job(&call, a_slice, b_slice, Ok(out))?))?;
            output_unit(())
        }
        Mode::InPlace => {
            let target = arrays.next_mut::<O>("x1")?;
            let b = if call.scalar.is_none() { Some(arrays.next_ref::<T>("x2")?) } else { None };
            let b = b.map(elements).transpose()?;
            write_piece(target, |out| apply(op, binary_job(&call, None, b.as_deref(), Ok(out))?))?;
            output_unit(())
        }
    }
}

/// What one family does to a unary job (its conversion and loops).
type UnaryApply<T, O> = fn(UnaryOp, UnaryJob<'_, T, O>) -> Result<()>;

/// What one family does to a binary job.
type BinaryApply<T, O, Op> = fn(Op, BinaryJob<'_, T, O>) -> Result<()>;

fn same_unary<T: Ufunc>(op: UnaryOp, job: UnaryJob<'_, T, T>) -> Result<()> {
    unary_in(op, job, |x| x)
}

fn promoted_unary<T: Ufunc>(op: UnaryOp, job: UnaryJob<'_, T, T::Promoted>) -> Result<()> {
    unary_in(op, job, T::promote)
}

fn float_unary<T: Ufunc>(op: UnaryOp, job: UnaryJob<'_, T, T::Float>) -> Result<()> {
    unary_in(op, job, T::to_float)
}

fn magnitude_unary<T: Ufunc>(_: UnaryOp, job: UnaryJob<'_, T, T::Magnitude>) -> Result<()> {
    job.run_plain(T::magnitude)
}

fn same_binary<T: Ufunc>(op: BinaryOp, job: BinaryJob<'_, T, T>) -> Result<()> {
    binary_in(op, job, |x| x)
}

fn promoted_binary<T: Ufunc>(op: BinaryOp, job: BinaryJob<'_, T, T::Promoted>) -> Result<()> {
    binary_in(op, job, T::promote)
}

fn float_binary<T: Ufunc>(op: BinaryOp, job: BinaryJob<'_, T, T::Float>) -> Result<()> {
    binary_in(op, job, T::to_float)
}

fn quotient_binary<T: Ufunc>(op: BinaryOp, job: BinaryJob<'_, T, T::Quotient>) -> Result<()> {
    binary_in(op, job, T::to_quotient)
}

fn compare_binary<T: Ufunc>(op: CompareOp, job: BinaryJob<'_, T, bool>) -> Result<()> {
    match T::fast_compare(op, BinaryPlain { job, conv: |x| x }) {
        Ok(done) => done,
        Err(BinaryPlain { job, .. }) => job.run(|x, y| Ok(T::compare(op, x, y))),
    }
}

/// A unary call in a fused group (see `crate::engine::fusion`).
struct UnaryStep<T, O> {
    op: UnaryOp,
    /// The input; `None` in place.
    x: Option<SlotId>,
    out: SlotId,
    apply: UnaryApply<T, O>,
}

impl<T: Element, O: Element> BlockStep for UnaryStep<T, O> {
    fn run(&self, block: &mut Block<'_>) -> Result<()> {
        let job = match self.x {
            Some(x) => match block.arrays::<T, O, 1>([x], self.out)? {
                ([x], Target::Append(values)) => UnaryJob::New(x, values),
                ([x], Target::Write(out)) => UnaryJob::Into(x, out),
            },
            None => match block.arrays::<T, O, 0>([], self.out)? {
                ([], Target::Write(target)) => UnaryJob::InPlace(target),
                ([], Target::Append(_)) => bail!(Engine, "{}: in place on an array not yet written", self.op.name()),
            },
        };
        (self.apply)(self.op, job)
    }
}

/// Plans a unary call into a fused group (its arrays in `run_unary`'s order).
fn plan_unary<T: Element, O: Element>(
    args: &[u8],
    operands: &mut CallArrays<'_>,
    apply: UnaryApply<T, O>,
) -> Option<Box<dyn BlockStep>> {
    let UnaryCall { op, mode } = decode(args).ok()?;
    if op.fallible() {
        return None;
    }
    let (x, out) = match mode {
        Mode::New => {
            let x = operands.read::<T>()?;
            (Some(x), operands.result::<O>(x)?)
        }
        Mode::Into => (Some(operands.read::<T>()?), operands.write::<O>()?),
        Mode::InPlace => (None, operands.write::<O>()?),
    };
    Some(Box::new(UnaryStep { op, x, out, apply }))
}

/// A binary call in a fused group.
struct BinaryStep<T, O, Op> {
    call: BinaryCall<T, Op>,
    /// The first operand's array; `None` in place (it is `out`).
    a: Option<SlotId>,
    /// The second array operand, unless it is the scalar.
    b: Option<SlotId>,
    out: SlotId,
    apply: BinaryApply<T, O, Op>,
}

impl<T: Element, O: Element, Op: OpCode + Send> BlockStep for BinaryStep<T, O, Op> {
    fn run(&self, block: &mut Block<'_>) -> Result<()> {
        let destination = |target| match target {
            Target::Write(out) => Ok(out),
            Target::Append(values) => Err(values),
        };
        let job = match (self.a, self.b) {
            (Some(a), Some(b)) => {
                let ([a, b], target) = block.arrays::<T, O, 2>([a, b], self.out)?;
                binary_job(&self.call, Some(a), Some(b), destination(target))?
            }
            (Some(a), None) => {
                let ([a], target) = block.arrays::<T, O, 1>([a], self.out)?;
                binary_job(&self.call, Some(a), None, destination(target))?
            }
            (None, Some(b)) => {
                let ([b], target) = block.arrays::<T, O, 1>([b], self.out)?;
                binary_job(&self.call, None, Some(b), destination(target))?
            }
            (None, None) => {
                let ([], target) = block.arrays::<T, O, 0>([], self.out)?;
                binary_job(&self.call, None, None, destination(target))?
            }
        };
        (self.apply)(self.call.op, job)
    }
}

/// Plans a binary call into a fused group (its arrays in `run_binary`'s order).
fn plan_binary<T: Element, O: Element, Op: OpCode + Send + 'static>(
    args: &[u8],
    operands: &mut CallArrays<'_>,
    apply: BinaryApply<T, O, Op>,
) -> Option<Box<dyn BlockStep>> {
    let call: BinaryCall<T, Op> = decode(args).ok()?;
    if call.op.fallible() {
        return None;
    }
    let (a, b, out) = match call.mode {
        Mode::New | Mode::Into => {
            let a = operands.read::<T>()?;
            let b = if call.scalar.is_none() { Some(operands.read::<T>()?) } else { None };
            let out = if call.mode == Mode::New { operands.result::<O>(a)? } else { operands.write::<O>()? };
            (Some(a), b, out)
        }
        Mode::InPlace => {
            let out = operands.write::<O>()?;
            (None, if call.scalar.is_none() { Some(operands.read::<T>()?) } else { None }, out)
        }
    };
    Some(Box::new(BinaryStep { call, a, b, out, apply }))
}

/// Defines a unary family's kernel (computing in `$o` for input `T`) and its
/// block form, and registers both.
macro_rules! unary_family {
    ($kernel:ident, $run:ident, $plan:ident, $o:ty, $apply:ident) => {
        fn $run<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
            run_unary::<T, $o>(inputs, $apply::<T>)
        }

        fn $plan<T: Ufunc>(args: &[u8], operands: &mut CallArrays<'_>) -> Option<Box<dyn BlockStep>> {
            plan_unary::<T, $o>(args, operands, $apply::<T>)
        }

        register_internal!($kernel, $run);
        register_blockwise!($kernel, $plan);
    };
}

/// [`unary_family!`] for binary families, with their op type `$op`.
macro_rules! binary_family {
    ($kernel:ident, $run:ident, $plan:ident, $o:ty, $op:ty, $apply:ident) => {
        fn $run<T: Ufunc>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
            run_binary::<T, $o, $op>(inputs, $apply::<T>)
        }

        fn $plan<T: Ufunc>(args: &[u8], operands: &mut CallArrays<'_>) -> Option<Box<dyn BlockStep>> {
            plan_binary::<T, $o, $op>(args, operands, $apply::<T>)
        }

        register_internal!($kernel, $run);
        register_blockwise!($kernel, $plan);
    };
}

unary_family!(UNARY_SAME, unary_same, plan_unary_same, T, same_unary);
unary_family!(UNARY_PROMOTED, unary_promoted, plan_unary_promoted, T::Promoted, promoted_unary);
unary_family!(UNARY_FLOAT, unary_float, plan_unary_float, T::Float, float_unary);
unary_family!(UNARY_MAGNITUDE, unary_magnitude, plan_unary_magnitude, T::Magnitude, magnitude_unary);
binary_family!(BINARY_SAME, binary_same, plan_binary_same, T, BinaryOp, same_binary);
binary_family!(BINARY_PROMOTED, binary_promoted, plan_binary_promoted, T::Promoted, BinaryOp, promoted_binary);
binary_family!(BINARY_FLOAT, binary_float, plan_binary_float, T::Float, BinaryOp, float_binary);
binary_family!(BINARY_QUOTIENT, binary_quotient, plan_binary_quotient, T::Quotient, BinaryOp, quotient_binary);
binary_family!(COMPARE, compare, plan_compare, bool, CompareOp, compare_binary);

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use num_complex::Complex;

    use super::*;

    /// An element type's edge values, and its bits (to compare NaNs and
    /// signed zeros exactly).
    trait Edges: Scalar + Debug {
        fn edges() -> Vec<Self>;
        fn bits(self) -> u128;
    }

    impl Edges for bool {
        fn edges() -> Vec<bool> {
            vec![false, true]
        }
        fn bits(self) -> u128 {
            self.into()
        }
    }

    macro_rules! int_edges {
        ($($t:ty),*) => {$(
            impl Edges for $t {
                fn edges() -> Vec<$t> {
                    let minus_one = (0 as $t).wrapping_sub(1);
                    vec![0, 1, 2, 3, 100, minus_one, <$t>::MIN, <$t>::MIN.wrapping_add(1), <$t>::MAX, <$t>::MAX - 1]
                }
                #[allow(clippy::cast_lossless, clippy::unnecessary_cast)]
                fn bits(self) -> u128 {
                    self as u128
                }
            }
        )*};
    }
    int_edges!(i8, u8, i16, u16, i32, u32, i64, u64);

    macro_rules! float_edges {
        ($($t:ty),*) => {$(
            impl Edges for $t {
                fn edges() -> Vec<$t> {
                    vec![
                        0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, <$t>::NAN, -<$t>::NAN, <$t>::INFINITY,
                        <$t>::NEG_INFINITY, <$t>::MAX, <$t>::MIN, <$t>::MIN_POSITIVE, <$t>::from_bits(1),
                    ]
                }
                fn bits(self) -> u128 {
                    self.to_bits().into()
                }
            }
        )*};
    }
    float_edges!(f32, f64);

    macro_rules! complex_edges {
        ($($f:ty),*) => {$(
            impl Edges for Complex<$f> {
                fn edges() -> Vec<Complex<$f>> {
                    let parts = [0.0, -0.0, 1.0, -1.5, <$f>::NAN, <$f>::INFINITY, <$f>::NEG_INFINITY, <$f>::MAX];
                    parts.iter().flat_map(|&re| parts.iter().map(move |&im| Complex::new(re, im))).collect()
                }
                fn bits(self) -> u128 {
                    (u128::from(self.re.to_bits()) << 64) | u128::from(self.im.to_bits())
                }
            }
        )*};
    }
    complex_edges!(f32, f64);

    /// The edge values with an odd length.
    fn odd<T: Clone>(mut values: Vec<T>) -> Vec<T> {
        if values.len().is_multiple_of(2) {
            values.push(values[0].clone());
        }
        values
    }

    /// Every pair of edge values, as two operand slices of odd length.
    fn pairs<T: Edges>() -> (Vec<T>, Vec<T>) {
        let edges = T::edges();
        let (a, b) = edges.iter().flat_map(|&x| edges.iter().map(move |&y| (x, y))).unzip();
        (odd(a), odd(b))
    }

    fn assert_same<O: Edges>(got: &[O], expected: impl IntoIterator<Item = O>, what: &dyn Fn() -> String) {
        let expected: Vec<O> = expected.into_iter().collect();
        assert_eq!(got.len(), expected.len(), "{}: length", what());
        for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g.bits(), e.bits(), "{}: element {i}, {g:?} where the reference gives {e:?}", what());
        }
    }

    /// Runs the fast path of `op` on `job`, if it has one.
    fn fast_unary<T: Copy + Any, C: Scalar>(op: UnaryOp, job: UnaryJob<'_, T, C>, conv: fn(T) -> C) -> bool {
        match C::fast_unary(op, UnaryPlain { job, conv }) {
            Ok(done) => done.map(|()| true).unwrap(),
            Err(_) => false,
        }
    }

    fn fast_binary<T: Copy + Any, C: Scalar>(op: BinaryOp, job: BinaryJob<'_, T, C>, conv: fn(T) -> C) -> bool {
        match C::fast_binary(op, BinaryPlain { job, conv }) {
            Ok(done) => done.map(|()| true).unwrap(),
            Err(_) => false,
        }
    }

    /// Each unary op with a fast path, in every mode, against [`Scalar::unary`]
    /// of the converted values; gives how many ops have one.
    fn check_unary<T: Edges + Any, C: Edges + Any>(conv: fn(T) -> C) -> usize {
        let x = odd(T::edges());
        let mut fast = 0;
        for op in UnaryOp::ALL {
            let expected = || x.iter().map(|&v| C::unary(op, conv(v)).unwrap());
            let what = |mode: &'static str| move || format!("{op:?} of {} in {}, {mode}", T::DTYPE, C::DTYPE);
            let mut values = Vec::with_capacity(x.len());
            if !fast_unary(op, UnaryJob::New(&x, &mut values), conv) {
                continue;
            }
            fast += 1;
            assert_same(&values, expected(), &what("new"));
            let mut out = vec![C::zero(); x.len()];
            assert!(fast_unary(op, UnaryJob::Into(&x, &mut out), conv));
            assert_same(&out, expected(), &what("out"));
            if is::<T, C>() {
                let mut target: Vec<C> = x.iter().map(|&v| conv(v)).collect();
                assert!(fast_unary(op, UnaryJob::<C, C>::InPlace(&mut target), |v| v));
                assert_same(&target, expected(), &what("in place"));
            }
        }
        fast
    }

    /// [`check_unary`] for binary ops, on every pair of edge values and with
    /// every edge value as the scalar operand, on either side.
    fn check_binary<T: Edges + Any, C: Edges + Any>(conv: fn(T) -> C) -> usize {
        let (a, b) = pairs::<T>();
        let mut fast = 0;
        for op in BinaryOp::ALL {
            let f = |x: T, y: T| C::binary(op, conv(x), conv(y)).unwrap();
            let what = |mode: &'static str| move || format!("{op:?} of {} in {}, {mode}", T::DTYPE, C::DTYPE);
            let mut values = Vec::with_capacity(a.len());
            if !fast_binary(op, BinaryJob::New(Operands::Arrays(&a, &b), &mut values), conv) {
                continue;
            }
            fast += 1;
            let both = || a.iter().zip(&b).map(|(&x, &y)| f(x, y));
            assert_same(&values, both(), &what("new"));
            let mut out = vec![C::zero(); a.len()];
            assert!(fast_binary(op, BinaryJob::Into(Operands::Arrays(&a, &b), &mut out), conv));
            assert_same(&out, both(), &what("out"));
            if is::<T, C>() {
                let mut target: Vec<C> = a.iter().map(|&v| conv(v)).collect();
                let b: Vec<C> = b.iter().map(|&v| conv(v)).collect();
                assert!(fast_binary(op, BinaryJob::InPlace(&mut target, Rhs::Array(&b)), |v| v));
                assert_same(&target, both(), &what("in place"));
            }
            for &s in &T::edges() {
                let mut values = Vec::with_capacity(a.len());
                assert!(fast_binary(op, BinaryJob::New(Operands::ScalarFirst(s, &a), &mut values), conv));
                assert_same(&values, a.iter().map(|&y| f(s, y)), &what("scalar first"));
                let mut out = vec![C::zero(); a.len()];
                assert!(fast_binary(op, BinaryJob::Into(Operands::ScalarSecond(&a, s), &mut out), conv));
                assert_same(&out, a.iter().map(|&x| f(x, s)), &what("scalar second"));
                if is::<T, C>() {
                    let mut target: Vec<C> = a.iter().map(|&v| conv(v)).collect();
                    assert!(fast_binary(op, BinaryJob::InPlace(&mut target, Rhs::Scalar(conv(s))), |v| v));
                    assert_same(&target, a.iter().map(|&x| f(x, s)), &what("in place, scalar"));
                }
            }
        }
        fast
    }

    /// [`check_binary`] for comparisons.
    fn check_compare<T: Edges + Any>() -> usize {
        let (a, b) = pairs::<T>();
        let mut fast = 0;
        for op in CompareOp::ALL {
            let mut values = Vec::with_capacity(a.len());
            let job = BinaryJob::New(Operands::Arrays(&a, &b), &mut values);
            match T::fast_compare(op, BinaryPlain { job, conv: |x| x }) {
                Ok(done) => done.unwrap(),
                Err(_) => continue,
            }
            fast += 1;
            let expected = a.iter().zip(&b).map(|(&x, &y)| T::compare(op, x, y));
            assert_same(&values, expected, &|| format!("{op:?} of {}", T::DTYPE));
        }
        fast
    }

    /// The per-op loops give the per-element path's values bit for bit, and
    /// the ops expected to have one do.
    #[test]
    fn fast_paths_match_the_reference() {
        fn id<T>(x: T) -> T {
            x
        }
        assert_eq!((check_unary::<bool, bool>(id), check_binary::<bool, bool>(id), check_compare::<bool>()), (2, 5, 6));
        macro_rules! ints {
            ($($t:ty),*) => {$(
                assert_eq!((check_unary::<$t, $t>(id), check_binary::<$t, $t>(id), check_compare::<$t>()), (6, 6, 6));
                assert_eq!(check_binary::<$t, f64>(<$t>::to_quotient), 4, "true_divide of {}", stringify!($t));
                assert_eq!(check_unary::<$t, <$t as Ufunc>::Float>(<$t>::to_float), 7);
            )*};
        }
        ints!(i8, u8, i16, u16, i32, u32, i64, u64);
        for counts in [
            (check_unary::<f32, f32>(id), check_binary::<f32, f32>(id), check_compare::<f32>()),
            (check_unary::<f64, f64>(id), check_binary::<f64, f64>(id), check_compare::<f64>()),
        ] {
            assert_eq!(counts, (7, 4, 6));
        }
        assert_eq!(check_binary::<bool, i8>(bool::promote), 6);
        assert_eq!(check_binary::<bool, f64>(bool::to_quotient), 4);
        assert_eq!(check_unary::<bool, f32>(bool::to_float), 7);
        for counts in [
            (check_unary::<Complex<f32>, Complex<f32>>(id), check_binary::<Complex<f32>, Complex<f32>>(id)),
            (check_unary::<Complex<f64>, Complex<f64>>(id), check_binary::<Complex<f64>, Complex<f64>>(id)),
        ] {
            assert_eq!(counts, (2, 2));
        }
        assert_eq!(check_compare::<Complex<f64>>(), 0);
    }
}
