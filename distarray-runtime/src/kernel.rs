//! Kernels: user functions registered on every engine by `#[local]` and
//! `#[vectorize]`, the engine side that runs them, and the client side that
//! calls them ([`KernelCall`], [`Context::apply`], [`Context::fromfunction`]).
//!
//! The macros generate code against the hidden items of this module (through
//! `distarray::__private`); users see [`EngineCtx`] and the two `Context`
//! methods.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ndarray::{ArrayD, IxDyn};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::alloc::{size_of_shape, Side};
use crate::array::DistArray;
use crate::comm::Comm;
use crate::context::{same_context, Context};
use crate::distribution::{rank_to_coords, DimDict, Distribution, MapBase};
use crate::element::{DType, Element};
use crate::engine::{panic_message, Engine, Saved, Undo};
use crate::error::{bail, err, Result};
use crate::local::{LocalArray, StoredArray};
use crate::protocol::{decode, encode, Command, Layout, Reply};

/// What an engine knows about itself while running a kernel: its rank among
/// the kernel's engines, their number, and a communicator over them for
/// collectives inside the kernel.
///
/// A `#[local]` kernel gets it by declaring a `&EngineCtx` parameter.
pub struct EngineCtx<'a> {
    engine: usize,
    comm: &'a dyn Comm,
}

impl EngineCtx<'_> {
    /// This engine's rank among the engines running the kernel.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of engines running the kernel.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// This engine's id among all engines of the process.
    pub fn engine_id(&self) -> usize {
        self.engine
    }

    /// The communicator over the engines running the kernel (see
    /// [`Collectives`](crate::Collectives) for typed collectives).
    pub fn comm(&self) -> &dyn Comm {
        self.comm
    }
}

mod registry;

pub(crate) use registry::{display_name, find_kernel, register_for_every_dtype, registered_name};
pub use registry::{KernelEntry, KernelFn};

/// The request to run a kernel, as it travels to the engines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KernelRequest {
    /// The kernel's name, for messages.
    name: String,
    /// Its registry key.
    key: String,
    /// The engines running it, in rank order (the kernel's communicator).
    targets: Vec<usize>,
    arrays: Vec<(String, DType)>,
    /// Arrays passed only to the targets that hold them (after `arrays`).
    optional: Vec<(String, DType)>,
    /// The encoded scalar arguments (a large `Vec` argument makes them large).
    #[serde(with = "crate::protocol::raw_bytes")]
    args: Vec<u8>,
    /// Where an array result goes.
    result_key: String,
    /// For fromfunction: the layout of the array to build.
    index_layout: Option<Layout>,
    /// Keep copies of the `&mut` arrays to undo a failed call (see
    /// [`KernelCall::without_undo`]).
    undo: bool,
}

/// A kernel call's result key, targets and per-engine replies with data.
pub(crate) type Sent = (String, Vec<usize>, Vec<(KernelReply, Vec<u8>)>);

/// What a kernel gave back on one engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum KernelReply {
    /// `()`.
    Unit,
    /// A serialized value, in the response data.
    Value,
    /// A value that is element data (`Vec<T>`, an ndarray array), as raw
    /// bytes in the response data (see `crate::bulk`).
    Bulk,
    /// A local array, stored under the result key.
    Array { dtype: DType, dim_data: Vec<DimDict> },
}

/// The inputs of one kernel run on one engine.
#[doc(hidden)]
pub struct KernelInputs<'a> {
    args: &'a [u8],
    arrays: Vec<(String, Box<dyn StoredArray>)>,
    /// Copies of the arrays handed out mutably, taken before the kernel
    /// could write them; `None` when the call cannot be undone (nobody waits
    /// for it, so it cannot fail by contract).
    snapshots: Option<Vec<(String, Saved)>>,
    /// Buffers of earlier copies, reused for this call's (see `Engine::spares`).
    spares: Vec<Box<dyn StoredArray>>,
    engine: EngineCtx<'a>,
    index_layout: Option<&'a Layout>,
    result: Option<Box<dyn StoredArray>>,
}

/// The scalar arguments of a kernel call.
#[doc(hidden)]
pub struct KernelArgs<'a>(&'a [u8]);

impl KernelArgs<'_> {
    /// The arguments, decoded as the tuple `A`.
    pub fn decode<A: DeserializeOwned>(&self) -> Result<A> {
        decode(self.0).map_err(|e| e.context("kernel arguments"))
    }
}

/// The array arguments of a kernel call, taken one by one in order.
#[doc(hidden)]
pub struct KernelArrays<'a> {
    arrays: std::slice::IterMut<'a, (String, Box<dyn StoredArray>)>,
    snapshots: Option<&'a mut Vec<(String, Saved)>>,
    spares: &'a mut Vec<Box<dyn StoredArray>>,
}

impl<'a> KernelArrays<'a> {
    fn next_array(&mut self, param: &str) -> Result<&'a mut (String, Box<dyn StoredArray>)> {
        match self.arrays.next() {
            Some(entry) => Ok(entry),
            None => bail!(Protocol, "no array was sent for parameter `{param}`"),
        }
    }

    /// The next array argument, for parameter `param`.
    pub fn next_ref<T: Element>(&mut self, param: &str) -> Result<&'a LocalArray<T>> {
        let entry: &'a (String, Box<dyn StoredArray>) = self.next_array(param)?;
        downcast_ref(entry.1.as_ref(), param)
    }

    /// The next array argument, mutable, for parameter `param`. When the call
    /// can fail (the client waits for it), a copy is kept first, so that the
    /// call can be undone on every engine should it fail on any.
    pub fn next_mut<T: Element>(&mut self, param: &str) -> Result<&'a mut LocalArray<T>> {
        self.next_mut_saving(param, |array, spares| {
            if let Some(i) = spares.iter_mut().position(|spare| spare.copy_from(array)) {
                return Ok(Saved::Copy(spares.swap_remove(i)));
            }
            let copy = array
                .clone_box()
                .map_err(|e| e.context(format_args!("keeping a copy of `{param}` to undo the call")))?;
            Ok(Saved::Copy(copy))
        })
    }

    /// [`next_mut`](Self::next_mut) for a kernel that changes little of the
    /// array: `save` says how to put it back (instead of a whole copy).
    pub(crate) fn next_mut_restoring<T: Element>(
        &mut self,
        param: &str,
        save: impl FnOnce(&LocalArray<T>) -> Box<dyn FnOnce(&mut LocalArray<T>) + Send>,
    ) -> Result<&'a mut LocalArray<T>> {
        self.next_mut_saving(param, |array, _| {
            let typed: &LocalArray<T> = downcast_ref(array, param)?;
            let put_back = save(typed);
            Ok(Saved::Restore(Box::new(move |array: &mut dyn StoredArray| {
                if let Some(typed) = array.as_any_mut().downcast_mut::<LocalArray<T>>() {
                    put_back(typed);
                }
            })))
        })
    }

    fn next_mut_saving<T: Element>(
        &mut self,
        param: &str,
        save: impl FnOnce(&dyn StoredArray, &mut Vec<Box<dyn StoredArray>>) -> Result<Saved>,
    ) -> Result<&'a mut LocalArray<T>> {
        let (key, array) = self.next_array(param)?;
        downcast_ref::<T>(array.as_ref(), param)?;
        if let Some(snapshots) = self.snapshots.as_deref_mut() {
            if !snapshots.iter().any(|(k, _)| k == key) {
                snapshots.push((key.clone(), save(array.as_ref(), self.spares)?));
            }
        }
        Ok(array.as_any_mut().downcast_mut().expect("the dtype was checked"))
    }

    /// Whether the next array is the optional one stored under `key` (see
    /// [`KernelCall::maybe_array`]), held by this engine.
    fn next_is(&self, key: &str) -> bool {
        matches!(self.arrays.as_slice().first(), Some((k, _)) if k == key)
    }

    /// The optional array argument stored under `key`, when this engine
    /// holds it, for reading.
    pub(crate) fn next_maybe_ref<T: Element>(&mut self, key: &str) -> Result<Option<&'a LocalArray<T>>> {
        if !self.next_is(key) {
            return Ok(None);
        }
        self.next_ref(key).map(Some)
    }
}

fn downcast_ref<'a, T: Element>(array: &'a dyn StoredArray, param: &str) -> Result<&'a LocalArray<T>> {
    let dtype = array.dtype();
    array
        .as_any()
        .downcast_ref()
        .ok_or_else(|| err!(DTypeMismatch, "parameter `{param}` takes {}, the array holds {dtype}", T::DTYPE))
}

impl<'a> KernelInputs<'a> {
    /// The scalar arguments, the array arguments and the engine context, as
    /// disjoint borrows.
    pub fn split(&mut self) -> (KernelArgs<'a>, KernelArrays<'_>, &EngineCtx<'a>) {
        let arrays = KernelArrays {
            arrays: self.arrays.iter_mut(),
            snapshots: self.snapshots.as_mut(),
            spares: &mut self.spares,
        };
        (KernelArgs(self.args), arrays, &self.engine)
    }

    /// The layout sent with the call (the array being built, or the layout of
    /// the array argument for internal kernels such as file IO).
    pub(crate) fn index_layout(&self) -> Option<&'a Layout> {
        self.index_layout
    }
}

/// A kernel's `()` result.
#[doc(hidden)]
pub fn output_unit(_: ()) -> Result<KernelOutput> {
    Ok(KernelOutput(Out::Unit))
}

/// The `Ok` value of a kernel returning `Result<R, E>`; its `Err` fails the
/// call (a `distarray::Error` as it is, any other error as an `Engine` error
/// with its message).
#[doc(hidden)]
pub fn kernel_result<R, E: std::fmt::Display + 'static>(result: std::result::Result<R, E>) -> Result<R> {
    result.map_err(|e| match (&e as &dyn std::any::Any).downcast_ref::<crate::Error>() {
        Some(error) => error.clone(),
        None => err!(Engine, "{e}"),
    })
}

/// A kernel's value result, sent back to the client.
#[doc(hidden)]
pub fn output_value<R: Serialize + 'static>(value: &R) -> Result<KernelOutput> {
    Ok(KernelOutput(match crate::bulk::encode(value) {
        Some(bytes) => Out::Bulk(bytes?),
        None => Out::Value(encode(value)?),
    }))
}

/// A kernel's `LocalArray` result, kept on the engine under the result key.
#[doc(hidden)]
pub fn output_array<T: Element>(inputs: &mut KernelInputs<'_>, array: LocalArray<T>) -> Result<KernelOutput> {
    let reply = KernelReply::Array { dtype: T::DTYPE, dim_data: array.dim_data().to_vec() };
    inputs.result = Some(Box::new(array));
    Ok(KernelOutput(Out::Array(reply)))
}

/// What a kernel produced on one engine (opaque to generated code).
#[doc(hidden)]
pub struct KernelOutput(Out);

enum Out {
    Unit,
    Value(Vec<u8>),
    Bulk(Vec<u8>),
    Array(KernelReply),
}

/// Checks that the local pieces of a `#[vectorize]` call have one shape.
#[doc(hidden)]
pub fn check_same_local_shape(shapes: &[(&str, &[usize])]) -> Result<()> {
    if let Some(((first, shape), rest)) = shapes.split_first().map(|(f, r)| (*f, r)) {
        if let Some((name, other)) = rest.iter().find(|(_, s)| s != &shape) {
            bail!(InvalidShape, "local pieces differ: `{first}` has shape {shape:?}, `{name}` has {other:?}");
        }
    }
    Ok(())
}

/// The `n` values of `values` in a checked allocation: `Err(OutOfMemory)`
/// where `collect()` would abort the process (`#[vectorize]` outputs).
#[doc(hidden)]
pub fn collect_values<T>(n: usize, values: impl Iterator<Item = T>) -> Result<Vec<T>> {
    Side::Engine.collect(n, values)
}

/// A local array of `values` (in the logical order of `like`) shaped and
/// distributed like `like`.
#[doc(hidden)]
pub fn local_like<T: Element, U: Element>(like: &LocalArray<U>, values: Vec<T>) -> Result<LocalArray<T>> {
    let data = ArrayD::from_shape_vec(IxDyn(like.local_shape()), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, like.dim_data().to_vec())
}

/// Conversion of a global index into a `#[vectorize]` parameter, for
/// [`Context::fromfunction`].
pub trait FromIndex {
    /// The value of index `i` (`i != 0` for bool, the real part for complex).
    fn from_index(i: usize) -> Self;
}

macro_rules! from_index_as {
    ($($t:ty),*) => {$(
        impl FromIndex for $t {
            fn from_index(i: usize) -> Self { i as $t }
        }
    )*};
}
from_index_as!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl FromIndex for bool {
    fn from_index(i: usize) -> Self {
        i != 0
    }
}

impl FromIndex for num_complex::Complex<f32> {
    fn from_index(i: usize) -> Self {
        num_complex::Complex::new(i as f32, 0.0)
    }
}

impl FromIndex for num_complex::Complex<f64> {
    fn from_index(i: usize) -> Self {
        num_complex::Complex::new(i as f64, 0.0)
    }
}

/// The fromfunction entry point of a `#[vectorize]` kernel of `arity`
/// parameters: builds this engine's piece by calling `f` on each global index.
#[doc(hidden)]
pub fn output_from_index<T: Element>(
    inputs: &mut KernelInputs<'_>,
    arity: usize,
    f: impl Fn(&[usize]) -> T,
) -> Result<KernelOutput> {
    let ndim = inputs.index_layout.map_or(0, |l| l.maps.len());
    if ndim != arity {
        bail!(InvalidShape, "the function takes {arity} indices but the array has {ndim} axes");
    }
    output_from_global_index(inputs, f)
}

/// Builds this engine's piece of the array being created (the call's index
/// layout) by calling `f` on the global index of each element, in local C
/// order.
pub(crate) fn output_from_global_index<T: Element>(
    inputs: &mut KernelInputs<'_>,
    mut f: impl FnMut(&[usize]) -> T,
) -> Result<KernelOutput> {
    let Some(layout) = inputs.index_layout else {
        bail!(Protocol, "an array-building kernel was called without a layout");
    };
    layout.check()?;
    let rank = inputs.engine.rank();
    let grid_shape: Vec<usize> = layout.maps.iter().map(MapBase::grid_size).collect();
    let coords = rank_to_coords(rank, &grid_shape);
    let dim_data: Vec<DimDict> = layout.maps.iter().zip(&coords).map(|(m, &c)| m.dimdict(c)).collect();
    let shape: Vec<usize> = layout.maps.iter().zip(&coords).map(|(m, &c)| m.local_size(c)).collect();
    // The elements first, then the index lists (each as long as its axis
    // piece): both are checked allocations, so a piece too big for the
    // engine is `Err(OutOfMemory)`.
    let mut values = Side::Engine.vec(size_of_shape(&shape)?)?;
    let indices: Vec<Vec<usize>> = if shape.contains(&0) {
        vec![Vec::new(); shape.len()]
    } else {
        layout.maps.iter().zip(&coords).map(|(m, &c)| Side::Engine.global_indices(m, c)).collect::<Result<_>>()?
    };
    if let Some((inner, outer)) = indices.split_last() {
        if !shape.contains(&0) {
            // Walk the piece row by row: an odometer over the outer axes, the
            // last axis in a tight loop (no per-element index arithmetic).
            let mut global: Vec<usize> = indices.iter().map(|idx| idx[0]).collect();
            let mut counter = vec![0usize; outer.len()];
            let last = outer.len();
            'rows: loop {
                for &j in inner {
                    global[last] = j;
                    values.push(f(&global));
                }
                let mut axis = outer.len();
                loop {
                    if axis == 0 {
                        break 'rows;
                    }
                    axis -= 1;
                    counter[axis] += 1;
                    if counter[axis] < outer[axis].len() {
                        global[axis] = outer[axis][counter[axis]];
                        break;
                    }
                    counter[axis] = 0;
                    global[axis] = outer[axis][0];
                }
            }
        }
    } else {
        values.push(f(&[])); // a 0-d array has one element
    }
    let data = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    output_array(inputs, LocalArray::new(data, dim_data)?)
}

impl Engine {
    /// Runs a kernel on this engine: takes its arrays out of the store, calls
    /// it with panics caught, puts the arrays back whatever happened. When it
    /// fails and the client waits (`answer`), the other engines of the call
    /// are told not to wait for this one in collectives (see `Comm::abort`).
    pub(crate) fn run_kernel(&mut self, request: KernelRequest, answer: bool) -> Result<(KernelReply, Vec<u8>)> {
        let run = find_kernel(&request.key)?;
        let id = self.id();
        let mut arrays = self.take_arrays(&request.arrays)?;
        for wanted in &request.optional {
            if let Some((_, first)) = arrays.iter().find(|(k, _)| k == &wanted.0) {
                match first.clone_box() {
                    Ok(copy) => arrays.push((wanted.0.clone(), copy)),
                    Err(e) => {
                        self.restore(arrays);
                        return Err(e);
                    }
                }
                continue;
            }
            match self.take_arrays(std::slice::from_ref(wanted)) {
                Ok(taken) => arrays.extend(taken),
                Err(e) if e.kind() == crate::error::ErrorKind::KeyNotFound => {}
                Err(e) => {
                    self.restore(arrays);
                    return Err(e);
                }
            }
        }
        // Only a call the client waits for can fail, and so needs undoing.
        let undoable = answer && request.undo;
        let spares = if undoable { self.take_spares() } else { Vec::new() };
        let comm = match self.comm(&request.targets) {
            Ok(comm) => comm,
            Err(e) => {
                self.restore(arrays);
                return Err(e);
            }
        };
        let mut inputs = KernelInputs {
            args: &request.args,
            arrays,
            snapshots: undoable.then(Vec::new),
            spares,
            engine: EngineCtx { engine: id, comm },
            index_layout: request.index_layout.as_ref(),
            result: None,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&mut inputs)));
        let KernelInputs { mut arrays, snapshots, result, .. } = inputs;
        let failure = match outcome {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(e.context(format_args!("kernel `{}`", request.name))),
            Err(panic) => Err(err!(Engine, "kernel `{}` panicked: {}", request.name, panic_message(&*panic))),
        };
        if let (Err(e), true) = (&failure, answer) {
            comm.abort(&format!("engine {id}: {e}"));
        }
        let snapshots = snapshots.unwrap_or_default();
        if failure.is_err() {
            // Failed here: the arrays go back as they were before the call.
            for (key, saved) in snapshots {
                if let Some((_, array)) = arrays.iter_mut().find(|(k, _)| *k == key) {
                    saved.restore(array);
                }
            }
        } else if !snapshots.is_empty() {
            // Done here, but another engine may have failed: the client then
            // sends the rollback right after this call.
            self.keep_undo(Undo { call: request.result_key.clone(), arrays: snapshots });
        }
        self.restore(arrays);
        let output = failure?;
        Ok(match output.0 {
            Out::Unit => (KernelReply::Unit, Vec::new()),
            Out::Value(bytes) => (KernelReply::Value, bytes),
            Out::Bulk(bytes) => (KernelReply::Bulk, bytes),
            Out::Array(reply) => {
                if let Some(array) = result {
                    self.insert(request.result_key, array);
                }
                (reply, Vec::new())
            }
        })
    }
}

/// A kernel call being assembled on the client by generated code.
#[doc(hidden)]
pub struct KernelCall {
    /// The kernel's name, for messages (its key without the definition site).
    name: Cow<'static, str>,
    /// Its registry key.
    key: Cow<'static, str>,
    context: Option<Context>,
    distributions: Vec<Distribution>,
    arrays: Vec<(String, DType)>,
    names: Vec<&'static str>,
    optional: Vec<(String, DType)>,
    args: Vec<u8>,
    /// Sent without waiting for the engines (see [`KernelCall::pipelined`]).
    pipelined: bool,
    /// An array argument may have lost its pieces to a bulk deletion: the call
    /// waits, so that it reports the missing piece itself.
    stale: bool,
    /// See [`KernelCall::without_undo`].
    undo: bool,
}

impl KernelCall {
    /// A call of the kernel registered under `key`.
    pub fn new(key: &'static str) -> Self {
        Self::named(Cow::Borrowed(key))
    }

    /// A call of the kernel registered under `key`, built at run time
    /// (internal kernels registered once per element type).
    pub(crate) fn named(key: Cow<'static, str>) -> Self {
        let name = match &key {
            Cow::Borrowed(key) => Cow::Borrowed(display_name(key)),
            Cow::Owned(key) => Cow::Owned(display_name(key).to_string()),
        };
        KernelCall {
            name,
            key,
            context: None,
            distributions: Vec::new(),
            arrays: Vec::new(),
            names: Vec::new(),
            optional: Vec::new(),
            args: encode(&()).unwrap_or_default(),
            pipelined: false,
            stale: false,
            undo: true,
        }
    }

    /// Runs without keeping copies of the `&mut` arrays (`#[local(undo =
    /// false)]`): no extra memory or copying, but a call that fails on one
    /// engine leaves what the other engines wrote (and what the failing one
    /// wrote before it failed).
    pub fn without_undo(mut self) -> Self {
        self.undo = false;
        self
    }

    /// Runs on `context`'s engines (kernels without array parameters).
    pub fn context(mut self, context: &Context) -> Result<Self> {
        if let Some(d) = self.distributions.first() {
            same_context(context, d.context(), "an array argument")?;
        }
        self.context = Some(context.clone());
        Ok(self)
    }

    /// Adds the array argument of parameter `param`. Every array must belong to
    /// one context and live on the same engines.
    pub fn array<T: Element>(mut self, param: &'static str, array: &DistArray<T>) -> Result<Self> {
        let d = array.distribution();
        if let Some(ctx) = &self.context {
            same_context(ctx, d.context(), &format!("array `{param}`"))?;
        }
        if let Some(first) = self.distributions.first() {
            same_context(first.context(), d.context(), &format!("array `{param}`"))?;
        }
        self.distributions.push(d.clone());
        self.arrays.push((array.key().to_string(), T::DTYPE));
        self.stale |= array.may_be_deleted();
        self.names.push(param);
        Ok(self)
    }

    /// Adds an array argument that only the engines holding it receive (after
    /// every [`array`](Self::array) argument; the kernel takes it with
    /// `KernelArrays::next_maybe_ref`). Lets a call run on engines that do not
    /// all hold the array, e.g. the union of two arrays' targets.
    pub(crate) fn maybe_array<T: Element>(mut self, array: &DistArray<T>) -> Result<Self> {
        let d = array.distribution();
        if let Some(ctx) = &self.context {
            same_context(ctx, d.context(), "an optional array")?;
        }
        self.optional.push((array.key().to_string(), T::DTYPE));
        self.stale |= array.may_be_deleted();
        Ok(self)
    }

    /// Sends the call without waiting for the engines when `pipelined` (see
    /// "Pipelining" on [`Context`]): only for internal kernels that cannot fail
    /// on arguments the client has checked. The call's replies are then
    /// empty: `run_array_onto` and `run_unit` trust the client's checks.
    pub(crate) fn pipelined(mut self, pipelined: bool) -> Self {
        self.pipelined = pipelined;
        self
    }

    /// Sets the scalar arguments, as one tuple.
    pub fn args<A: Serialize>(mut self, args: &A) -> Result<Self> {
        self.args = encode(args)?;
        Ok(self)
    }

    /// Checks that every array argument has the same shape and distribution
    /// (`#[vectorize]`).
    pub fn same_layout(self) -> Result<Self> {
        if let Some(first) = self.distributions.first() {
            for (d, name) in self.distributions.iter().zip(&self.names).skip(1) {
                if d.shape() != first.shape() {
                    bail!(
                        InvalidShape,
                        "`{}` has shape {:?} but `{name}` has shape {:?}",
                        self.names[0],
                        first.shape(),
                        d.shape()
                    );
                }
                if !d.is_compatible(first) {
                    bail!(
                        IncompatibleDistribution,
                        "`{}` is distributed as {first} but `{name}` as {d}",
                        self.names[0]
                    );
                }
            }
        }
        Ok(self)
    }

    fn context_ref(&self) -> Result<&Context> {
        match (&self.context, self.distributions.first()) {
            (Some(c), _) => Ok(c),
            (None, Some(d)) => Ok(d.context()),
            (None, None) => bail!(WrongContext, "kernel `{}` has no array argument to take a context from", self.name),
        }
    }

    /// Sends the call to `targets` (default: the arrays' engines, else the
    /// context's); returns the result key, the targets and each engine's reply
    /// and data.
    pub(crate) fn send(&self, targets: Option<&[usize]>, index_layout: Option<Layout>) -> Result<Sent> {
        self.send_then(targets, index_layout, |_, replies| Ok(replies))
    }

    /// [`send`](Self::send), the replies turned into the outcome by `finish`
    /// (given the targets) before any other call reaches the engines: if the
    /// call or `finish` fails, every engine puts back what the call changed
    /// (see `Command::Rollback`). `finish` must not call the engines. A
    /// pipelined call has no replies (`finish` gets none).
    pub(crate) fn send_then<O>(
        &self,
        targets: Option<&[usize]>,
        index_layout: Option<Layout>,
        finish: impl FnOnce(&[usize], Vec<(KernelReply, Vec<u8>)>) -> Result<O>,
    ) -> Result<(String, Vec<usize>, O)> {
        let ctx = self.context_ref()?;
        // Checked here rather than in `array`, so that `same_layout` reports
        // a shape mismatch first (arrays of other shapes often live on other
        // engines).
        if let Some((first, rest)) = self.distributions.split_first() {
            for (d, name) in rest.iter().zip(&self.names[1..]) {
                if first.targets() != d.targets() {
                    bail!(
                        IncompatibleDistribution,
                        "kernel `{}`: array `{name}` lives on engines {:?} but `{}` on {:?} (`{name}` is distributed as {d}, \
                         `{}` as {first})",
                        self.name,
                        d.targets(),
                        self.names[0],
                        first.targets(),
                        self.names[0]
                    );
                }
            }
        }
        let targets = match (targets, self.distributions.first()) {
            (Some(t), _) => ctx.select_targets(Some(t))?,
            (None, Some(d)) => d.targets().to_vec(),
            (None, None) => ctx.targets().to_vec(),
        };
        let result_key = ctx.new_key();
        ctx.prepare_comm(&targets);
        let request = KernelRequest {
            name: self.name.to_string(),
            key: self.key.to_string(),
            targets: targets.clone(),
            arrays: self.arrays.clone(),
            optional: self.optional.clone(),
            args: self.args.clone(),
            result_key: result_key.clone(),
            index_layout,
            undo: self.undo,
        };
        if self.pipelined && !self.stale {
            ctx.post(&targets, &Command::RunKernel(request))?;
            let outcome = finish(&targets, Vec::new())?;
            return Ok((result_key, targets, outcome));
        }
        // Engines that succeeded put back what the call changed and delete
        // the result nobody will own.
        let undo = Command::Rollback { call: result_key.clone() };
        let outcome = ctx.run_undoable(&targets, &Command::RunKernel(request), Some(&undo), |replies| {
            let replies = replies
                .into_iter()
                .map(|(reply, data)| match reply {
                    Reply::Kernel(k) => Ok((k, data)),
                    other => Err(err!(Protocol, "a kernel call was answered with {other:?}")),
                })
                .collect::<Result<Vec<_>>>()?;
            finish(&targets, replies)
        })?;
        Ok((result_key, targets, outcome))
    }

    /// Runs the kernel; its `LocalArray<T>` results form a new DistArray.
    pub fn run_array<T: Element>(self) -> Result<DistArray<T>> {
        let ctx = self.context_ref()?;
        let (key, _, distribution) = self.send_then(None, None, |targets, replies| {
            let dim_data = array_replies::<T>(&self.name, &replies)?;
            Distribution::from_dim_data_per_rank(ctx, &dim_data, Some(targets)).map_err(|e| {
                e.context(format_args!("kernel `{}` returned pieces that do not form an array", self.name))
            })
        })?;
        Ok(DistArray::from_key(key, distribution))
    }

    /// Runs the kernel, whose `LocalArray<T>` results are laid out as
    /// `distribution` (that of its array arguments): a new DistArray over it,
    /// without rebuilding the distribution from the pieces' dim data.
    pub(crate) fn run_array_as<T: Element>(self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.run_array_onto(Some(distribution.targets()), distribution)
    }

    /// Runs the kernel on `targets` (default: the arrays' engines); the
    /// engines of `result` must each return a `LocalArray<T>` piece of it and
    /// every other engine `()`. A new DistArray over `result`; on any other
    /// answer the call is undone and fails.
    pub(crate) fn run_array_onto<T: Element>(
        self,
        targets: Option<&[usize]>,
        result: &Distribution,
    ) -> Result<DistArray<T>> {
        let (key, _, ()) = self.send_then(targets, None, |targets, replies| {
            for ((reply, _), target) in replies.iter().zip(targets) {
                let keeps = result.targets().contains(target);
                match reply {
                    KernelReply::Array { dtype, .. } if keeps && *dtype == T::DTYPE => {}
                    KernelReply::Unit if !keeps => {}
                    other => bail!(Protocol, "engine {target} answered kernel `{}` with {other:?}", self.name),
                }
            }
            Ok(())
        })?;
        Ok(DistArray::from_key(key, result.clone()))
    }

    /// Runs the kernel, which returns `()`.
    pub fn run_unit(self) -> Result<()> {
        self.send_then(None, None, |_, replies| expect_unit(&self.name, &replies)).map(drop)
    }

    /// Runs the kernel; one value per engine, in engine order.
    pub fn run_values<R: DeserializeOwned + 'static>(self) -> Result<Vec<R>> {
        self.send_then(None, None, |_, replies| decode_values(&self.name, &replies)).map(|(_, _, values)| values)
    }
}

fn array_replies<T: Element>(name: &str, replies: &[(KernelReply, Vec<u8>)]) -> Result<Vec<Vec<DimDict>>> {
    replies
        .iter()
        .map(|(reply, _)| match reply {
            KernelReply::Array { dtype, dim_data } if *dtype == T::DTYPE => Ok(dim_data.clone()),
            KernelReply::Array { dtype, .. } => {
                bail!(DTypeMismatch, "kernel `{name}` returned {dtype}, not {}", T::DTYPE)
            }
            other => bail!(Protocol, "kernel `{name}` returned {other:?} where an array was expected"),
        })
        .collect()
}

fn expect_unit(name: &str, replies: &[(KernelReply, Vec<u8>)]) -> Result<()> {
    match replies.iter().find(|(r, _)| !matches!(r, KernelReply::Unit)) {
        Some((other, _)) => bail!(Protocol, "kernel `{name}` returned {other:?} where () was expected"),
        None => Ok(()),
    }
}

fn decode_values<R: DeserializeOwned + 'static>(name: &str, replies: &[(KernelReply, Vec<u8>)]) -> Result<Vec<R>> {
    replies
        .iter()
        .map(|(reply, data)| match reply {
            KernelReply::Value => decode(data).map_err(|e| e.context(format_args!("kernel `{name}` result"))),
            KernelReply::Bulk => crate::bulk::decode(data)
                .unwrap_or_else(|| Err(err!(Protocol, "raw element bytes came back for a value of another type")))
                .map_err(|e| e.context(format_args!("kernel `{name}` result"))),
            other => bail!(Protocol, "kernel `{name}` returned {other:?} where a value was expected"),
        })
        .collect()
}

/// A registered kernel, as `#[local]` and `#[vectorize]` describe it for
/// [`Context::apply`]: generated for each kernel as a type of the same name.
pub trait Kernel {
    /// The kernel's name, `module_path!()::fn_name`, as errors show it.
    const NAME: &'static str;
    /// The registry key: [`NAME`](Self::NAME), `@`, and the file, line and
    /// column of the definition, unique to it in the program (two kernels of
    /// one name in one module, inside different functions, have two keys).
    const KEY: &'static str;
    /// The client-side arguments, as a tuple (`&DistArray<T>` for arrays).
    type Args<'a>;
    /// What the kernel returns on each engine.
    type Output: KernelReturn;
    /// The call with these arguments.
    #[doc(hidden)]
    fn call(args: Self::Args<'_>) -> Result<KernelCall>;
}

/// How a kernel's per-engine results come back from [`Context::apply`].
pub trait KernelReturn {
    /// One engine's result.
    type PerEngine;
    #[doc(hidden)]
    fn apply(call: KernelCall, targets: Option<&[usize]>) -> Result<Vec<Self::PerEngine>>;
}

/// The result kind of kernels returning `LocalArray<T>`: `apply` brings each
/// engine's piece back.
pub struct ReturnsArray<T>(PhantomData<T>);
/// The result kind of kernels returning `()`.
pub struct ReturnsUnit;
/// The result kind of kernels returning a value `R`.
pub struct ReturnsValue<R>(PhantomData<R>);

impl<T: Element> KernelReturn for ReturnsArray<T> {
    type PerEngine = LocalArray<T>;
    fn apply(call: KernelCall, targets: Option<&[usize]>) -> Result<Vec<LocalArray<T>>> {
        let (key, targets, dim_data) =
            call.send_then(targets, None, |_, replies| array_replies::<T>(&call.name, &replies))?;
        let ctx = call.context_ref()?;
        let pull = || -> Result<Vec<LocalArray<T>>> {
            let pulled = ctx.run(&targets, &Command::Pull { key: key.clone(), dtype: T::DTYPE }, Vec::new())?;
            pulled
                .into_iter()
                .zip(dim_data)
                .map(|((_, bytes), dims)| LocalArray::from_bytes(&bytes, dims, Side::Client))
                .collect()
        };
        let pieces = pull();
        ctx.run_done(&targets, &Command::Delete { key })?;
        pieces
    }
}

impl KernelReturn for ReturnsUnit {
    type PerEngine = ();
    fn apply(call: KernelCall, targets: Option<&[usize]>) -> Result<Vec<()>> {
        let (_, targets, ()) = call.send_then(targets, None, |_, replies| expect_unit(&call.name, &replies))?;
        Ok(vec![(); targets.len()])
    }
}

impl<R: DeserializeOwned + 'static> KernelReturn for ReturnsValue<R> {
    type PerEngine = R;
    fn apply(call: KernelCall, targets: Option<&[usize]>) -> Result<Vec<R>> {
        call.send_then(targets, None, |_, replies| decode_values(&call.name, &replies)).map(|(_, _, values)| values)
    }
}

/// A `#[vectorize]` kernel, usable by [`Context::fromfunction`].
pub trait IndexKernel {
    /// The name of the fromfunction entry point, `module_path!()::fn_name#index`.
    const INDEX_NAME: &'static str;
    /// Its registry key: [`INDEX_NAME`](Self::INDEX_NAME), `@`, and the file,
    /// line and column of the definition (see [`Kernel::KEY`]).
    const INDEX_KEY: &'static str;
    /// The element type it returns.
    type Elem: Element;
}

impl Context {
    /// Runs kernel `K` (a `#[local]` or `#[vectorize]` function) on `targets`
    /// (default: the engines of its array arguments, else all of this
    /// context's) and returns each engine's result, in target order — the
    /// reference's `apply`.
    ///
    /// # Errors
    /// `WrongContext` if an array belongs to another context, `InvalidTarget`
    /// for targets outside this context, `KeyNotFound` if a target does not
    /// hold an array argument, `Engine` if the kernel panicked.
    pub fn apply<K: Kernel>(
        &self,
        args: K::Args<'_>,
        targets: Option<&[usize]>,
    ) -> Result<Vec<<K::Output as KernelReturn>::PerEngine>> {
        let call = K::call(args)?.context(self)?;
        K::Output::apply(call, targets)
    }

    /// A new array whose element at global index `(i, j, ..)` is
    /// `K(i, j, ..)`, for a `#[vectorize]` function `K` with one parameter per
    /// axis, computed on the engines that own each element (nothing is
    /// materialised on the client). The distribution defaults to
    /// [`Distribution::from_shape`] of `shape`.
    ///
    /// # Errors
    /// `InvalidShape` if `K` does not take one index per axis or the
    /// distribution's shape differs from `shape`; `OutOfMemory` if an engine
    /// cannot hold its piece (reported, never an aborted process).
    pub fn fromfunction<K: IndexKernel>(
        &self,
        shape: &[usize],
        distribution: Option<&Distribution>,
    ) -> Result<DistArray<K::Elem>> {
        let distribution = match distribution {
            Some(d) => d.clone(),
            None => Distribution::from_shape(self, shape)?,
        };
        distribution.check_context(self)?;
        if distribution.shape() != shape {
            bail!(
                InvalidShape,
                "fromfunction of shape {shape:?} was given a distribution of shape {:?}",
                distribution.shape()
            );
        }
        build_from_index(self, &distribution, K::INDEX_KEY, &())
    }
}

/// A new array over `distribution` whose pieces the kernel registered under
/// `kernel` builds on the engines (with [`output_from_global_index`]), given
/// `args`.
pub(crate) fn build_from_index<T: Element, A: Serialize>(
    ctx: &Context,
    distribution: &Distribution,
    kernel: &'static str,
    args: &A,
) -> Result<DistArray<T>> {
    let call = KernelCall::new(kernel).context(ctx)?.args(args)?;
    let layout = Some(distribution.layout().clone());
    let (key, _, _) = call.send_then(Some(distribution.targets()), layout, |_, replies| {
        array_replies::<T>(display_name(kernel), &replies)
    })?;
    Ok(DistArray::from_key(key, distribution.clone()))
}

/// Keys distarray made belong to the context that made them: adopting another
/// context's would give its pieces two owners.
fn check_key_context(key: &str, ctx: &Context) -> Result<()> {
    if key.starts_with(crate::KEY_PREFIX) && !key.starts_with(ctx.key_prefix()) {
        bail!(
            WrongContext,
            "key {key:?} belongs to another context than context {} (prefix {:?})",
            ctx.id(),
            ctx.key_prefix()
        );
    }
    Ok(())
}

impl<T: Element> DistArray<T> {
    /// A DistArray for local arrays a kernel already stored under `key` on the
    /// engines of `context` (their dim data, pulled from the engines, gives the
    /// distribution) — the reference's `from_localarrays` with a context.
    ///
    /// The new DistArray owns the key: dropping it deletes the pieces. Do not
    /// wrap a key that another live DistArray owns.
    ///
    /// `targets` are the engines holding the pieces, in rank order; by default
    /// the context's engines that hold `key` (an array may live on fewer
    /// engines than its context, see `DistributionBuilder::build`).
    ///
    /// # Errors
    /// `KeyNotFound` if an engine lacks the key, `DTypeMismatch` if it holds
    /// another element type, `InvalidDimData` if the pieces do not tile an
    /// array, `WrongContext` for a key another context made.
    pub fn from_localarrays(key: &str, context: &Context, targets: Option<&[usize]>) -> Result<Self> {
        check_key_context(key, context)?;
        let targets = match targets {
            Some(t) => context.select_targets(Some(t))?,
            // No engine with the key: ask all of them, so the error names one.
            None => {
                crate::cleanup::get_local_keys(context, key)?.remove(key).unwrap_or_else(|| context.targets().to_vec())
            }
        };
        let replies = context.run(&targets, &Command::DimData { key: key.to_string() }, Vec::new())?;
        let dim_data = replies
            .into_iter()
            .map(|(reply, _)| match reply {
                Reply::DimData(d) => Ok(d),
                other => Err(err!(Protocol, "a dim data request was answered with {other:?}")),
            })
            .collect::<Result<Vec<_>>>()?;
        let distribution = Distribution::from_dim_data_per_rank(context, &dim_data, Some(&targets))?;
        Self::from_localarrays_with(key, &distribution)
    }

    /// Like [`from_localarrays`](Self::from_localarrays), with the distribution
    /// given (it must describe the stored pieces; their dtype is checked).
    ///
    /// # Errors
    /// As [`from_localarrays`](Self::from_localarrays).
    pub fn from_localarrays_with(key: &str, distribution: &Distribution) -> Result<Self> {
        let ctx = distribution.context();
        check_key_context(key, ctx)?;
        let replies = ctx.run(distribution.targets(), &Command::DimData { key: key.to_string() }, Vec::new())?;
        for ((reply, _), rank) in replies.into_iter().zip(0..) {
            if let Reply::DimData(d) = reply {
                if d.iter().map(DimDict::size).collect::<Vec<_>>() != distribution.shape() {
                    bail!(
                        InvalidDimData,
                        "the piece of rank {rank} under {key:?} belongs to an array of another shape"
                    );
                }
            }
        }
        ctx.run_done(distribution.targets(), &Command::CheckDType { key: key.to_string(), dtype: T::DTYPE })?;
        Ok(DistArray::from_key(key.to_string(), distribution.clone()))
    }
}
