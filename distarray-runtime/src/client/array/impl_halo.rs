//! # Ghost cells

use super::DistArray;
use crate::client::KernelCall;
use crate::core::element::Element;
use crate::core::error::Result;
use crate::halo::engine::EXCHANGE_HALOS;
use crate::halo::{claim_tag, release_tag};
use crate::protocol::Command;

impl<T: Element> DistArray<T> {
    /// Fills every piece's ghost cells from its neighbours' own cells (see
    /// [`DistributionBuilder::halo`](crate::DistributionBuilder::halo)):
    /// widths above 1, corners (each axis in turn over the whole padded
    /// extent of the others), periodic axes wrapped; the outer cells of the
    /// edge pieces of an axis that is not periodic are the boundary and are
    /// not touched. Nothing to do for an array without ghost cells.
    ///
    /// Elementwise operations between arrays of one halo distribution
    /// compute the ghost cells too, so their results' halos stay filled;
    /// after writing own cells any other way (a kernel, `set`), exchange
    /// again before reading the ghost cells.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[8]).halo(&[1]).periodic(&[true]).build()?;
    /// let mut a = ctx.fromarray(&ndarray::Array1::from_iter((0..8).map(f64::from)).into_dyn(), Some(&d))?;
    /// a.exchange_halos()?;
    /// // Each piece holds its cells and a copy of each neighbour's nearest.
    /// let first = &a.get_localarrays()?[0];
    /// assert_eq!(first.ghost_widths(), vec![(1, 1)]);
    /// assert_eq!(first.padded()[0], 7.0); // wrapped around from the last cell
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ContextClosed`, `KeyNotFound` after a cleanup, or a backend or
    /// communication failure. A failed exchange may leave ghost cells
    /// partly filled; own cells are never changed.
    pub fn exchange_halos(&mut self) -> Result<()> {
        if !self.distribution().has_ghosts() {
            return Ok(());
        }
        // Ghost cells only: nothing an undo copy would need to restore.
        KernelCall::internal::<T>(&EXCHANGE_HALOS).without_undo().array("a", self)?.run_unit()
    }

    /// The split form of [`exchange_halos`](Self::exchange_halos), so that
    /// the interior is computed while halos travel: the engines send the
    /// cells of the first axis with a halo and return at once; any other
    /// call may follow — typically a kernel that reads this array's own
    /// cells (the interior of a stencil, into another array) — and
    /// [`PendingHaloExchange::finish`] receives them, then exchanges the
    /// other axes (the corners need the first axis's ghost cells). The
    /// exchange's messages travel apart from everything else, so calls in
    /// between may communicate freely, other arrays' exchanges included.
    ///
    /// The handle borrows the array, which therefore stays alive and is not
    /// written through it (its cells in flight were copied when sent).
    /// Dropped without `finish`, the handle finishes the exchange all the
    /// same, ignoring failures. A call that fails on the array's engines
    /// meanwhile (from any client thread) resets their communicator, which
    /// drops the exchange: `finish` then says so.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// /// The own cells of `u` doubled into `out`: needs no ghost cell.
    /// #[local]
    /// fn double_into(u: &LocalArray<f64>, out: &mut LocalArray<f64>) {
    ///     out.interior_mut().zip_mut_with(&u.interior(), |o, &x| *o = 2.0 * x);
    /// }
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[16]).halo(&[1]).periodic(&[true]).build()?;
    /// let u = ctx.fromarray(&ndarray::Array1::from_iter((0..16).map(f64::from)).into_dyn(), Some(&d))?;
    /// let mut out = ctx.zeros::<f64>(&d)?;
    /// let exchange = u.begin_halo_exchange()?;
    /// double_into(&u, &mut out)?; // while the ghost cells travel
    /// exchange.finish()?;
    /// // The first piece's lower ghost cell holds the last cell of the axis.
    /// assert_eq!(u.get_localarrays()?[0].padded()[0], 15.0);
    /// assert_eq!(out.sum()?, 2.0 * u.sum()?);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if an exchange of this array is already in flight;
    /// as [`exchange_halos`](Self::exchange_halos).
    pub fn begin_halo_exchange(&self) -> Result<PendingHaloExchange<'_, T>> {
        if !self.distribution().has_ghosts() {
            return Ok(PendingHaloExchange { array: self, tag: None });
        }
        let ctx = self.context();
        let tag = claim_tag(ctx.id(), self.key())?;
        let begin =
            Command::BeginHalo { key: self.key().to_string(), dtype: T::DTYPE, targets: self.targets().to_vec(), tag };
        ctx.prepare_comm(self.targets());
        match ctx.run_collective(self.targets(), &begin) {
            Ok(_) => Ok(PendingHaloExchange { array: self, tag: Some(tag) }),
            Err(e) => {
                release_tag(tag);
                Err(e)
            }
        }
    }
}

/// A halo exchange in flight, from
/// [`DistArray::begin_halo_exchange`]: [`finish`](Self::finish) fills the
/// ghost cells. Dropped unfinished, it finishes the exchange on the engines
/// anyway (ignoring failures), so that no message is left behind.
#[must_use = "the ghost cells are only filled by finish() (or when the handle is dropped)"]
pub struct PendingHaloExchange<'a, T: Element> {
    array: &'a DistArray<T>,
    /// The exchange's tag; `None` once finished, or for an array without
    /// ghost cells.
    tag: Option<u16>,
}

impl<T: Element> PendingHaloExchange<'_, T> {
    /// Receives the ghost cells of the first axis, then exchanges the other
    /// axes, as [`DistArray::exchange_halos`] does.
    ///
    /// # Errors
    /// `ContextClosed` if the context was closed; `KeyNotFound` if the
    /// array's pieces were deleted meanwhile (`Context::cleanup`) or a failed
    /// call in between reset the engines' communicator (the exchange is then
    /// gone); a communication failure.
    pub fn finish(mut self) -> Result<()> {
        self.complete()
    }

    fn complete(&mut self) -> Result<()> {
        let Some(tag) = self.tag.take() else { return Ok(()) };
        let finish = Command::FinishHalo { key: self.array.key().to_string(), tag };
        let outcome = self.array.context().run_collective(self.array.targets(), &finish).map(drop);
        release_tag(tag);
        outcome
    }
}

impl<T: Element> Drop for PendingHaloExchange<'_, T> {
    fn drop(&mut self) {
        let _ = self.complete();
    }
}

impl<T: Element> std::fmt::Debug for PendingHaloExchange<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingHaloExchange").field("key", &self.array.key()).field("tag", &self.tag).finish()
    }
}
