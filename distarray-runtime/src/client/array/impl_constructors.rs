//! # Creation functions of a Context, and DistArrays of pieces already on the
//! engines (`from_localarrays`)

use ndarray::{ArrayBase, Data, Dimension};

use super::impl_conversions::{buffers_of, for_each_offset};
use super::DistArray;
use crate::client::context::Context;
use crate::client::Distribution;
use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{as_bytes, Element};
use crate::core::error::err;
use crate::core::error::{bail, Result};
use crate::layout::DimDict;
use crate::protocol::{Command, Init, Reply};

impl Context {
    /// A new array over `distribution`. Safe Rust has no uninitialised memory, so
    /// the elements are `T::default()` (as zeros); the call exists for parity
    /// with numpy and DistArray.
    ///
    /// # Errors
    /// `WrongContext` if `distribution` belongs to another context,
    /// `ContextClosed` after [`close`](Context::close), `OutOfMemory` if an
    /// engine cannot hold its piece.
    pub fn empty<T: Element>(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.create(distribution, Init::Empty)
    }

    /// A new array of zeros over `distribution`.
    ///
    /// # Errors
    /// As [`empty`](Context::empty).
    pub fn zeros<T: Element>(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.create(distribution, Init::Zeros)
    }

    /// A new array of ones over `distribution`.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[3, 4]).dist("cn").build()?;
    /// let a = ctx.ones::<i32>(&d)?;
    /// assert!(a.toarray()?.iter().all(|&x| x == 1));
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`empty`](Context::empty).
    pub fn ones<T: Element>(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.create(distribution, Init::Ones)
    }

    /// A DistArray holding the values of `array` (any dimension), distributed as
    /// `distribution`, by default [`Distribution::from_shape`] of its shape.
    ///
    /// # Errors
    /// `InvalidShape` if the distribution's shape differs from the array's,
    /// `WrongContext` if it belongs to another context, `OutOfMemory` if the
    /// client cannot hold the payloads or an engine its piece.
    pub fn fromarray<T, S, D>(
        &self,
        array: &ArrayBase<S, D>,
        distribution: Option<&Distribution>,
    ) -> Result<DistArray<T>>
    where
        T: Element,
        S: Data<Elem = T>,
        D: Dimension,
    {
        let distribution = match distribution {
            Some(d) => d.clone(),
            None => Distribution::from_shape(self, array.shape())?,
        };
        distribution.check_context(self)?;
        if distribution.shape() != array.shape() {
            bail!(
                InvalidShape,
                "an array of shape {:?} cannot take a distribution of shape {:?}",
                array.shape(),
                distribution.shape()
            );
        }
        let values = Side::Client.standard(array.view().into_dyn())?;
        // One payload per engine, each a checked allocation on the client;
        // ghost cells get their neighbours' values, so halos start filled.
        let payloads = buffers_of(&distribution)
            .zip(distribution.localshapes())
            .map(|(indices, shape)| {
                let indices = indices?;
                let mut piece = Side::Client.vec(size_of_shape(&shape)?.saturating_mul(T::DTYPE.itemsize()))?;
                for_each_offset(distribution.shape(), &indices, |offset| {
                    piece.extend_from_slice(as_bytes(&values[offset..=offset]))
                });
                Ok(piece)
            })
            .collect::<Result<_>>()?;
        self.create_with(&distribution, Init::Payload, payloads)
    }

    /// Same as [`fromarray`](Context::fromarray).
    ///
    /// # Errors
    /// As [`fromarray`](Context::fromarray).
    pub fn fromndarray<T, S, D>(
        &self,
        array: &ArrayBase<S, D>,
        distribution: Option<&Distribution>,
    ) -> Result<DistArray<T>>
    where
        T: Element,
        S: Data<Elem = T>,
        D: Dimension,
    {
        self.fromarray(array, distribution)
    }

    fn create<T: Element>(&self, distribution: &Distribution, init: Init) -> Result<DistArray<T>> {
        distribution.check_context(self)?;
        self.create_with(distribution, init, Vec::new())
    }

    fn create_with<T: Element>(
        &self,
        distribution: &Distribution,
        init: Init,
        payloads: Vec<Vec<u8>>,
    ) -> Result<DistArray<T>> {
        let key = self.new_key();
        let command =
            Command::Create { key: key.clone(), dtype: T::DTYPE, layout: distribution.layout().clone(), init };
        if payloads.is_empty() && distribution.global_size().saturating_mul(T::DTYPE.itemsize()) <= PIPELINED_BYTES {
            // Nothing the engines could reject (but memory, for big arrays,
            // whose failure this call must report): pipelined.
            self.post(distribution.targets(), &command)?;
            return Ok(DistArray::from_key(key, distribution.clone()));
        }
        if let Err(e) = self.run(distribution.targets(), &command, payloads) {
            // Engines that succeeded must not keep a piece nobody owns.
            let _ = self.run_done(distribution.targets(), &Command::Delete { key });
            return Err(e);
        }
        Ok(DistArray::from_key(key, distribution.clone()))
    }
}

/// Arrays up to this size are made without waiting for the engines.
const PIPELINED_BYTES: usize = 1 << 20;

/// Keys distarray made belong to the context that made them: adopting another
/// context's would give its pieces two owners.
fn check_key_context(key: &str, ctx: &Context) -> Result<()> {
    if key.starts_with(crate::client::KEY_PREFIX) && !key.starts_with(ctx.key_prefix()) {
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
            None => crate::client::cleanup::get_local_keys(context, key)?
                .remove(key)
                .unwrap_or_else(|| context.targets().to_vec()),
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
