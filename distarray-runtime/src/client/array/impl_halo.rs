//! # Ghost cells

use super::DistArray;
use crate::client::KernelCall;
use crate::core::element::Element;
use crate::core::error::Result;
use crate::halo::engine::EXCHANGE_HALOS;

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
}
