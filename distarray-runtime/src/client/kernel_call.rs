//! The client side of kernels: [`KernelCall`], which generated code builds and
//! sends, the [`Kernel`] traits that `#[local]` and `#[vectorize]` implement,
//! and [`Context::apply`] and [`Context::fromfunction`].
//!
//! The engine side (registry, inputs, outputs, dispatch) is
//! `crate::engine::kernel`; the request travels as
//! `crate::protocol::KernelRequest`.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};
use smallvec::SmallVec;

use super::context::{same_context, Context};
use super::distribution::Distribution;
use crate::client::DistArray;
use crate::core::alloc::Side;
use crate::core::element::{DType, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::kernel::{InternalKernel, KernelName, UntypedKernel};
use crate::engine::local::LocalArray;
use crate::layout::{DimDict, Layout};
use crate::protocol::{decode, encode, ArrayArgs, Command, KernelReply, KernelRequest, Reply, Targets};

/// A kernel call's result key, targets and per-engine replies with data.
pub(crate) type Sent = (String, Targets, Vec<(KernelReply, Vec<u8>)>);

/// A kernel call being assembled on the client by generated code.
#[doc(hidden)]
pub struct KernelCall {
    /// The kernel's registry name.
    key: &'static str,
    /// The element type of an internal kernel's entry (see `InternalKernel`).
    dtype: Option<DType>,
    context: Option<Context>,
    distributions: SmallVec<[Distribution; 4]>,
    arrays: ArrayArgs,
    names: SmallVec<[&'static str; 4]>,
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
        Self::entry(key, None)
    }

    /// A call of `kernel`'s entry for elements of type `T`.
    pub(crate) fn internal<T: Element>(kernel: &InternalKernel) -> Self {
        Self::entry(kernel.name(), Some(T::DTYPE))
    }

    /// A call of `kernel`.
    pub(crate) fn untyped(kernel: &UntypedKernel) -> Self {
        Self::entry(kernel.name(), None)
    }

    fn entry(key: &'static str, dtype: Option<DType>) -> Self {
        KernelCall {
            key,
            dtype,
            context: None,
            distributions: SmallVec::new(),
            arrays: ArrayArgs::new(),
            names: SmallVec::new(),
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
            same_context(ctx, d.context(), format_args!("array `{param}`"))?;
        }
        if let Some(first) = self.distributions.first() {
            same_context(first.context(), d.context(), format_args!("array `{param}`"))?;
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

    /// Appends the scalar argument `value` (the next parameter's, in order).
    pub fn arg<T>(mut self, codec: &super::ScalarCodec<T>, value: &T) -> Result<Self> {
        codec.encode(value, &mut self.args)?;
        Ok(self)
    }

    /// Fails unless some argument is an array (`#[vectorize]` calls, whose
    /// parameters may all be scalars).
    pub fn needs_array(self) -> Result<Self> {
        if self.distributions.is_empty() {
            bail!(
                InvalidArgument,
                "kernel `{}` was given only scalars: pass at least one `&DistArray` (the result has its shape)",
                self.name()
            );
        }
        Ok(self)
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

    /// The kernel as messages name it.
    fn name(&self) -> KernelName<'static> {
        KernelName::new(self.key, self.dtype)
    }

    fn context_ref(&self) -> Result<&Context> {
        match (&self.context, self.distributions.first()) {
            (Some(c), _) => Ok(c),
            (None, Some(d)) => Ok(d.context()),
            (None, None) => {
                bail!(WrongContext, "kernel `{}` has no array argument to take a context from", self.name())
            }
        }
    }

    /// Sends the call to `targets` (default: the arrays' engines, else the
    /// context's); returns the result key, the targets and each engine's reply
    /// and data.
    pub(crate) fn send(self, targets: Option<&[usize]>, index_layout: Option<Layout>) -> Result<Sent> {
        self.send_then(targets, index_layout, |_, replies| Ok(replies))
    }

    /// [`send`](Self::send), the replies turned into the outcome by `finish`
    /// (given the targets) before any other call reaches the engines: if the
    /// call or `finish` fails, every engine puts back what the call changed
    /// (see `Command::Rollback`). `finish` must not call the engines. A
    /// pipelined call has no replies (`finish` gets none).
    ///
    /// Takes the call by value: its arrays and arguments move into the
    /// request rather than being copied for it.
    pub(crate) fn send_then<O>(
        self,
        targets: Option<&[usize]>,
        index_layout: Option<Layout>,
        finish: impl FnOnce(&[usize], Vec<(KernelReply, Vec<u8>)>) -> Result<O>,
    ) -> Result<(String, Targets, O)> {
        let ctx = self.context_ref()?.clone();
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
                        self.name(),
                        d.targets(),
                        self.names[0],
                        first.targets(),
                        self.names[0]
                    );
                }
            }
        }
        let targets = match (targets, self.distributions.first()) {
            (Some(t), _) => Targets::from_vec(ctx.select_targets(Some(t))?),
            (None, Some(d)) => Targets::from_slice(d.targets()),
            (None, None) => Targets::from_slice(ctx.targets()),
        };
        let result_key = ctx.new_key();
        ctx.prepare_comm(&targets);
        let pipelined = self.pipelined && !self.stale;
        let command = Command::RunKernel(Box::new(KernelRequest {
            name: Cow::Borrowed(self.key),
            dtype: self.dtype,
            targets,
            arrays: self.arrays,
            optional: self.optional,
            args: self.args,
            result_key,
            index_layout,
            undo: self.undo,
        }));
        let Command::RunKernel(request) = &command else { unreachable!("built above") };
        let (targets, result_key) = (&request.targets, &request.result_key);
        let outcome = if pipelined {
            ctx.post(targets, &command)?;
            finish(targets, Vec::new())?
        } else {
            // Engines that succeeded put back what the call changed and
            // delete the result nobody will own.
            let undo = || Command::Rollback { call: result_key.clone() };
            ctx.run_undoable(targets, &command, Some(undo), |replies| {
                let replies = replies
                    .into_iter()
                    .map(|(reply, data)| match reply {
                        Reply::Kernel(k) => Ok((k, data)),
                        other => Err(err!(Protocol, "a kernel call was answered with {other:?}")),
                    })
                    .collect::<Result<Vec<_>>>()?;
                finish(targets, replies)
            })?
        };
        let Command::RunKernel(request) = command else { unreachable!("built above") };
        Ok((request.result_key, request.targets, outcome))
    }

    /// Runs the kernel; its `LocalArray<T>` results form a new DistArray.
    pub fn run_array<T: Element>(self) -> Result<DistArray<T>> {
        let (ctx, name) = (self.context_ref()?.clone(), self.name());
        let (key, _, distribution) = self.send_then(None, None, |targets, replies| {
            let dim_data = array_replies::<T>(name, &replies)?;
            Distribution::from_dim_data_per_rank(&ctx, &dim_data, Some(targets))
                .map_err(|e| e.context(format_args!("kernel `{name}` returned pieces that do not form an array")))
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
        let name = self.name();
        let (key, _, ()) = self.send_then(targets, None, |targets, replies| {
            for ((reply, _), target) in replies.iter().zip(targets) {
                let keeps = result.targets().contains(target);
                match reply {
                    KernelReply::Array { dtype, .. } if keeps && *dtype == T::DTYPE => {}
                    KernelReply::Unit if !keeps => {}
                    other => bail!(Protocol, "engine {target} answered kernel `{name}` with {other:?}"),
                }
            }
            Ok(())
        })?;
        Ok(DistArray::from_key(key, result.clone()))
    }

    /// Runs the kernel, which returns `()`.
    pub fn run_unit(self) -> Result<()> {
        let name = self.name();
        self.send_then(None, None, |_, replies| expect_unit(name, &replies)).map(drop)
    }

    /// Runs the kernel; one value per engine, in engine order.
    pub fn run_values<R: DeserializeOwned + 'static>(self) -> Result<Vec<R>> {
        let name = self.name();
        self.send_then(None, None, |_, replies| decode_values(name, &replies)).map(|(_, _, values)| values)
    }
}

fn array_replies<T: Element>(name: KernelName<'_>, replies: &[(KernelReply, Vec<u8>)]) -> Result<Vec<Vec<DimDict>>> {
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

fn expect_unit(name: KernelName<'_>, replies: &[(KernelReply, Vec<u8>)]) -> Result<()> {
    match replies.iter().find(|(r, _)| !matches!(r, KernelReply::Unit)) {
        Some((other, _)) => bail!(Protocol, "kernel `{name}` returned {other:?} where () was expected"),
        None => Ok(()),
    }
}

fn decode_values<R: DeserializeOwned + 'static>(
    name: KernelName<'_>,
    replies: &[(KernelReply, Vec<u8>)],
) -> Result<Vec<R>> {
    replies
        .iter()
        .map(|(reply, data)| match reply {
            KernelReply::Value => decode(data).map_err(|e| e.context(format_args!("kernel `{name}` result"))),
            KernelReply::Bulk => crate::protocol::bulk::decode(data)
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
        let (ctx, name) = (call.context_ref()?.clone(), call.name());
        let (key, targets, dim_data) =
            call.send_then(targets, None, |_, replies| array_replies::<T>(name, &replies))?;
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
        let name = call.name();
        let (_, targets, ()) = call.send_then(targets, None, |_, replies| expect_unit(name, &replies))?;
        Ok(vec![(); targets.len()])
    }
}

impl<R: DeserializeOwned + 'static> KernelReturn for ReturnsValue<R> {
    type PerEngine = R;
    fn apply(call: KernelCall, targets: Option<&[usize]>) -> Result<Vec<R>> {
        let name = call.name();
        call.send_then(targets, None, |_, replies| decode_values(name, &replies)).map(|(_, _, values)| values)
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
        build_from_index(self, &distribution, KernelCall::new(K::INDEX_KEY), &())
    }
}

/// A new array over `distribution` whose pieces the kernel of `call` builds
/// on the engines (with [`output_from_global_index`]), given `args`.
pub(crate) fn build_from_index<T: Element, A: Serialize>(
    ctx: &Context,
    distribution: &Distribution,
    call: KernelCall,
    args: &A,
) -> Result<DistArray<T>> {
    let call = call.context(ctx)?.args(args)?;
    let layout = Some(distribution.layout().clone());
    let name = call.name();
    let (key, _, _) =
        call.send_then(Some(distribution.targets()), layout, |_, replies| array_replies::<T>(name, &replies))?;
    Ok(DistArray::from_key(key, distribution.clone()))
}
