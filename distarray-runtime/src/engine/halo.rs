//! Ghost cells on the engines: a piece's own cells and its ghost cells, and
//! the halo exchange that fills the ghost cells from the neighbouring pieces.

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, Slice};

use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::engine::comm::{Collectives, Comm};
use crate::engine::local::LocalArray;
use crate::layout::{ghost_widths, has_ghosts, owned_region, DimDict};

impl<T: Element> LocalArray<T> {
    /// The ghost cells this piece stores before and after its own cells along
    /// each axis (`(0, 0)` without a halo; see
    /// [`DistributionBuilder::halo`](crate::DistributionBuilder::halo)).
    pub fn ghost_widths(&self) -> Vec<(usize, usize)> {
        self.dim_data().iter().map(ghost_widths).collect()
    }

    /// Whether this piece stores ghost cells.
    pub fn has_ghosts(&self) -> bool {
        has_ghosts(self.dim_data())
    }

    /// The piece's own cells, without its ghost cells (the whole piece when
    /// it has none). The array derefs to the padded piece, ghost cells
    /// included, as the Distributed Array Protocol's buffer is.
    pub fn interior(&self) -> ArrayViewD<'_, T> {
        let region = owned_region(self.dim_data());
        self.ndarray().slice_each_axis(|ax| Slice::from(region[ax.axis.index()].clone()))
    }

    /// [`interior`](Self::interior), mutable.
    pub fn interior_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let region = owned_region(self.dim_data());
        self.ndarray_mut().slice_each_axis_mut(|ax| Slice::from(region[ax.axis.index()].clone()))
    }

    /// The padded piece: own cells and ghost cells (the same as deref).
    pub fn padded(&self) -> &ndarray::ArrayD<T> {
        self.ndarray()
    }

    /// Fills this piece's ghost cells from its neighbours' own cells, axis
    /// by axis (each axis over the whole padded extent of the others, so
    /// corners are filled too, for box stencils); on a periodic axis the
    /// edge pieces are each other's neighbours. Every engine of the array
    /// must call it, with `comm` the kernel's communicator (`engine.comm()`),
    /// as a collective. The outer cells of an edge piece on an axis that is
    /// not periodic are the boundary: they are not touched.
    ///
    /// # Errors
    /// `InvalidTarget` if `comm` is not the array's engines in order, or a
    /// failure of the communication (a neighbour failed or timed out).
    pub fn exchange_halos(&mut self, comm: &dyn Comm) -> Result<()> {
        let cart = self.cart(comm)?;
        let dims: Vec<DimDict> = self.dim_data().to_vec();
        for (axis, d) in dims.iter().enumerate() {
            let DimDict::Block { padding, periodic, .. } = *d else { continue };
            let halo = padding.0.max(padding.1);
            if halo == 0 {
                continue;
            }
            let (lower_ghosts, upper_ghosts) = ghost_widths(d);
            let (lower, upper) = if periodic {
                let (l, u) = cart.neighbours_periodic(axis);
                (Some(l), Some(u))
            } else {
                cart.neighbours(axis)
            };
            let len = self.len_of(Axis(axis));
            let own = lower_ghosts..len - upper_ghosts;
            // Upwards: my last `halo` own cells fill the upper neighbour's
            // lower ghosts, while the lower neighbour's fill mine.
            let top = self.slab(axis, own.end - halo..own.end);
            let bottom = self.slab(axis, own.start..own.start + halo);
            let from_below = self.shift(comm, &top, upper, lower)?;
            let from_above = self.shift(comm, &bottom, lower, upper)?;
            if let Some(values) = from_below {
                self.set_slab(axis, 0..lower_ghosts, &values)?;
            }
            if let Some(values) = from_above {
                self.set_slab(axis, len - upper_ghosts..len, &values)?;
            }
        }
        Ok(())
    }

    /// The cells `range` along `axis`, over the whole extent of the other
    /// axes, in C order.
    fn slab(&self, axis: usize, range: std::ops::Range<usize>) -> Vec<T> {
        self.ndarray().slice_axis(Axis(axis), Slice::from(range)).iter().copied().collect()
    }

    fn set_slab(&mut self, axis: usize, range: std::ops::Range<usize>, values: &[T]) -> Result<()> {
        let mut slab = self.ndarray_mut().slice_axis_mut(Axis(axis), Slice::from(range));
        if slab.len() != values.len() {
            bail!(Protocol, "a halo of {} cells where {} were expected along axis {axis}", values.len(), slab.len());
        }
        slab.iter_mut().zip(values).for_each(|(cell, &v)| *cell = v);
        Ok(())
    }

    /// Sends `values` to `to` and receives from `from` (either may be
    /// absent at an edge); what came from `from`.
    fn shift(&self, comm: &dyn Comm, values: &[T], to: Option<usize>, from: Option<usize>) -> Result<Option<Vec<T>>> {
        match (to, from) {
            (Some(to), Some(from)) if to == comm.rank() && from == comm.rank() => Ok(Some(values.to_vec())),
            (Some(to), Some(from)) => comm.send_receive(values, to, from).map(Some),
            (Some(to), None) => comm.send(to, values).map(|()| None),
            (None, Some(from)) => comm.receive(from).map(Some),
            (None, None) => Ok(None),
        }
    }
}
