//! # Creation functions of a Context

use ndarray::{ArrayBase, Data, Dimension};

use super::impl_conversions::{for_each_offset, pieces_of};
use super::DistArray;
use crate::alloc::{size_of_shape, Side};
use crate::context::Context;
use crate::distribution::Distribution;
use crate::element::{as_bytes, Element};
use crate::error::{bail, Result};
use crate::protocol::{Command, Init};

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
        // One payload per engine, each a checked allocation on the client.
        let payloads = pieces_of(&distribution)
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
