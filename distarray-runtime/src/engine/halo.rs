//! Ghost cells on the engines: a piece's own cells and its ghost cells, and
//! the halo exchange that fills the ghost cells from the neighbouring pieces.

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, Slice};

use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::engine::cart::Cart;
use crate::engine::comm::{Collectives, Comm, SendRequest};
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
        self.begin_exchange_halos(comm)?.finish(self)
    }

    /// The split form of [`exchange_halos`](Self::exchange_halos): sends
    /// this piece's cells along the first axis with a halo and returns at
    /// once, so that the caller can update the cells that need no ghost
    /// cell while they travel; [`HaloExchange::finish`] receives them, then
    /// exchanges the other axes (which need the first one's ghost cells for
    /// the corners).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// /// The sum of the own cells, computed while the ghost cells travel.
    /// #[local]
    /// fn sum_while_exchanging(u: &mut LocalArray<f64>, engine: &EngineCtx) -> f64 {
    ///     let exchange = u.begin_exchange_halos(engine.comm()).expect("sends posted");
    ///     let own: f64 = u.interior().sum(); // needs no ghost cell
    ///     exchange.finish(u).expect("ghost cells received");
    ///     own
    /// }
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[16]).halo(&[1]).periodic(&[true]).build()?;
    /// let data = ndarray::Array1::from_iter((0..16).map(f64::from)).into_dyn();
    /// let mut u = ctx.fromarray(&data, Some(&d))?;
    /// assert_eq!(sum_while_exchanging(&mut u)?.iter().sum::<f64>(), data.sum());
    /// // The first piece's lower ghost cell holds the last cell of the axis.
    /// assert_eq!(u.get_localarrays()?[0].padded()[0], 15.0);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`exchange_halos`](Self::exchange_halos).
    pub fn begin_exchange_halos<'c>(&self, comm: &'c dyn Comm) -> Result<HaloExchange<'c, T>> {
        let cart = self.cart(comm)?;
        let axes: Vec<AxisPlan> = self
            .dim_data()
            .iter()
            .enumerate()
            .filter_map(|(axis, d)| AxisPlan::new(axis, d, &cart, self.len_of(Axis(axis))))
            .collect();
        let first = match axes.first() {
            Some(plan) => Some(plan.send(self, comm)?),
            None => None,
        };
        Ok(HaloExchange { comm, axes, first })
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
}

/// A halo exchange under way: see
/// [`LocalArray::begin_exchange_halos`](crate::LocalArray::begin_exchange_halos).
#[must_use = "the ghost cells are only filled by finish()"]
pub struct HaloExchange<'c, T> {
    comm: &'c dyn Comm,
    axes: Vec<AxisPlan>,
    /// The first axis's sends and its piece's own copies for itself.
    first: Option<Sent<'c, T>>,
}

impl<T: Element> HaloExchange<'_, T> {
    /// Receives the first axis's ghost cells into `a` (the piece that began
    /// the exchange), then exchanges the other axes.
    ///
    /// # Errors
    /// As [`LocalArray::exchange_halos`](crate::LocalArray::exchange_halos);
    /// `InvalidShape` for another piece than the one that began it.
    pub fn finish(mut self, a: &mut LocalArray<T>) -> Result<()> {
        let comm = self.comm;
        let mut axes = std::mem::take(&mut self.axes).into_iter();
        if let (Some(plan), Some(sent)) = (axes.next(), self.first.take()) {
            plan.receive(a, comm, sent)?;
        }
        for plan in axes {
            let sent = plan.send(a, comm)?;
            plan.receive(a, comm, sent)?;
        }
        Ok(())
    }
}

/// What one axis's exchange moves: the halo width, the ghost widths of this
/// piece and its neighbours' ranks.
struct AxisPlan {
    axis: usize,
    halo: usize,
    ghosts: (usize, usize),
    lower: Option<usize>,
    upper: Option<usize>,
    len: usize,
}

/// One axis's sends in flight, and the cells a piece that is its own
/// neighbour (one piece along a periodic axis) copies to itself.
struct Sent<'c, T> {
    requests: Vec<SendRequest<'c>>,
    own_top: Option<Vec<T>>,
    own_bottom: Option<Vec<T>>,
}

impl AxisPlan {
    fn new(axis: usize, d: &DimDict, cart: &Cart, len: usize) -> Option<Self> {
        let DimDict::Block { padding, periodic, .. } = *d else { return None };
        let halo = padding.0.max(padding.1);
        if halo == 0 {
            return None;
        }
        let (lower, upper) = if periodic {
            let (l, u) = cart.neighbours_periodic(axis);
            (Some(l), Some(u))
        } else {
            cart.neighbours(axis)
        };
        Some(AxisPlan { axis, halo, ghosts: ghost_widths(d), lower, upper, len })
    }

    fn own(&self) -> std::ops::Range<usize> {
        self.ghosts.0..self.len - self.ghosts.1
    }

    /// Sends my last `halo` own cells up (the upper neighbour's lower ghost
    /// cells) and my first down.
    fn send<'c, T: Element>(&self, a: &LocalArray<T>, comm: &'c dyn Comm) -> Result<Sent<'c, T>> {
        let own = self.own();
        let top = a.slab(self.axis, own.end - self.halo..own.end);
        let bottom = a.slab(self.axis, own.start..own.start + self.halo);
        let me = comm.rank();
        let mut sent = Sent { requests: Vec::new(), own_top: None, own_bottom: None };
        match self.upper {
            Some(up) if up == me => sent.own_top = Some(top),
            Some(up) => sent.requests.push(comm.immediate_send(up, &top)?),
            None => {}
        }
        match self.lower {
            Some(down) if down == me => sent.own_bottom = Some(bottom),
            Some(down) => sent.requests.push(comm.immediate_send(down, &bottom)?),
            None => {}
        }
        Ok(sent)
    }

    /// Receives the lower neighbour's top cells into my lower ghost cells
    /// and the upper neighbour's bottom cells into my upper ones (messages
    /// from one rank arrive in the order sent: up before down).
    fn receive<T: Element>(&self, a: &mut LocalArray<T>, comm: &dyn Comm, sent: Sent<'_, T>) -> Result<()> {
        if a.len_of(Axis(self.axis)) != self.len {
            bail!(InvalidShape, "a halo exchange finished on another piece than the one that began it");
        }
        let me = comm.rank();
        // A piece that is its own neighbour kept its cells in `sent`.
        let from_below = match self.lower {
            Some(down) if down == me => sent.own_top,
            Some(down) => Some(comm.receive::<T>(down)?),
            None => None,
        };
        let from_above = match self.upper {
            Some(up) if up == me => sent.own_bottom,
            Some(up) => Some(comm.receive::<T>(up)?),
            None => None,
        };
        for request in sent.requests {
            request.wait()?;
        }
        if let Some(values) = from_below {
            a.set_slab(self.axis, 0..self.ghosts.0, &values)?;
        }
        if let Some(values) = from_above {
            a.set_slab(self.axis, self.len - self.ghosts.1..self.len, &values)?;
        }
        Ok(())
    }
}
