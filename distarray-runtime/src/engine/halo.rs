//! Ghost cells on the engines: a piece's own cells and its ghost cells, and
//! the halo exchange that fills the ghost cells from the neighbouring pieces.

use std::marker::PhantomData;

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, Slice};

use crate::core::element::{as_bytes, Element};
use crate::core::error::{bail, Result};
use crate::engine::comm::Comm;
use crate::engine::local::LocalArray;
use crate::layout::{ghost_widths, has_ghosts, owned_region, DimDict};

pub(crate) mod pending;

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
        let tag = comm.next_kernel_tag();
        let first = begin_exchange(self, comm, tag)?;
        Ok(HaloExchange { comm, tag, first, finished: false, element: PhantomData })
    }
}

/// Checks that `comm` is the array's engines in order (as
/// [`LocalArray::cart`] does, without allocating).
fn check_grid(dims: &[DimDict], comm: &dyn Comm) -> Result<()> {
    let (rank, size) = (comm.rank(), comm.size());
    let mut at = 0;
    let mut cells = 1usize;
    for d in dims {
        at = at * d.proc_grid_size() + d.proc_grid_rank();
        cells = cells.saturating_mul(d.proc_grid_size());
    }
    if cells > size || at != rank {
        bail!(
            InvalidTarget,
            "this piece belongs to rank {at} of a grid of {cells} pieces, but this is rank {rank} of {size}: the \
             exchange must run on the array's engines, in its order"
        );
    }
    Ok(())
}

/// Sends the first axis with a halo (see [`LocalArray::begin_exchange_halos`])
/// under `tag`; returns its plan, `None` without ghost cells.
pub(crate) fn begin_exchange<T: Element>(a: &LocalArray<T>, comm: &dyn Comm, tag: u16) -> Result<Option<AxisPlan>> {
    check_grid(a.dim_data(), comm)?;
    let Some(first) = (0..a.ndim()).find_map(|axis| AxisPlan::new(a, axis, comm)) else { return Ok(None) };
    first.expect(a, comm, tag)?;
    first.send(a, comm, tag)?;
    Ok(Some(first))
}

/// Receives the first axis of an exchange begun by [`begin_exchange`] as
/// `first`, then exchanges the other axes, all under `tag`.
pub(crate) fn finish_exchange<T: Element>(
    a: &mut LocalArray<T>,
    comm: &dyn Comm,
    tag: u16,
    first: Option<AxisPlan>,
) -> Result<()> {
    let Some(first) = first else { return Ok(()) };
    if AxisPlan::new(a, first.axis, comm) != Some(first) {
        // Drain it, so that its messages do not stay behind.
        first.drain(comm, tag);
        bail!(InvalidShape, "a halo exchange finished on another piece than the one that began it");
    }
    first.receive(a, comm, tag)?;
    comm.complete_tagged(tag)?;
    for axis in first.axis + 1..a.ndim() {
        if let Some(plan) = AxisPlan::new(a, axis, comm) {
            plan.expect(a, comm, tag)?;
            plan.send(a, comm, tag)?;
            plan.receive(a, comm, tag)?;
            comm.complete_tagged(tag)?;
        }
    }
    Ok(())
}

/// A halo exchange under way: see
/// [`LocalArray::begin_exchange_halos`](crate::LocalArray::begin_exchange_halos).
/// Dropped without [`finish`](Self::finish), it receives the messages sent
/// to it and drops them (every engine of the array must then drop it
/// too), so that none is left behind for a later exchange.
#[must_use = "the ghost cells are only filled by finish()"]
pub struct HaloExchange<'c, T> {
    comm: &'c dyn Comm,
    tag: u16,
    /// The first axis, whose cells are in flight.
    first: Option<AxisPlan>,
    finished: bool,
    element: PhantomData<T>,
}

impl<T: Element> HaloExchange<'_, T> {
    /// Receives the first axis's ghost cells into `a` (the piece that began
    /// the exchange), then exchanges the other axes.
    ///
    /// # Errors
    /// As [`LocalArray::exchange_halos`](crate::LocalArray::exchange_halos);
    /// `InvalidShape` for another piece than the one that began it.
    pub fn finish(mut self, a: &mut LocalArray<T>) -> Result<()> {
        self.finished = true;
        finish_exchange(a, self.comm, self.tag, self.first)
    }
}

impl<T> Drop for HaloExchange<'_, T> {
    fn drop(&mut self) {
        if let (false, Some(first)) = (self.finished, self.first) {
            first.drain(self.comm, self.tag);
        }
    }
}

/// What one axis's exchange moves: the halo width, the ghost widths of this
/// piece and its neighbours' ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AxisPlan {
    axis: usize,
    halo: usize,
    ghosts: (usize, usize),
    lower: Option<usize>,
    upper: Option<usize>,
    len: usize,
}

impl AxisPlan {
    /// The plan of `axis` of `a`, `None` without a halo along it. The
    /// neighbours' ranks are this rank's plus or minus the grid stride of
    /// the axis (ranks in C order of the grid; see [`check_grid`]).
    fn new<T: Element>(a: &LocalArray<T>, axis: usize, comm: &dyn Comm) -> Option<Self> {
        let dims = a.dim_data();
        let DimDict::Block { padding, periodic, proc_grid_size: n, proc_grid_rank: c, .. } = dims[axis] else {
            return None;
        };
        let halo = padding.0.max(padding.1);
        if halo == 0 {
            return None;
        }
        let stride: usize = dims[axis + 1..].iter().map(DimDict::proc_grid_size).product();
        let me = comm.rank();
        let lower = match c {
            0 if periodic => Some(me + (n - 1) * stride),
            0 => None,
            _ => Some(me - stride),
        };
        let upper = match c + 1 {
            up if up < n => Some(me + stride),
            _ if periodic => Some(me - c * stride),
            _ => None,
        };
        Some(AxisPlan { axis, halo, ghosts: ghost_widths(&dims[axis]), lower, upper, len: a.len_of(Axis(axis)) })
    }

    fn own(&self) -> std::ops::Range<usize> {
        self.ghosts.0..self.len - self.ghosts.1
    }

    /// Sends my last `halo` own cells up (the upper neighbour's lower ghost
    /// cells), then my first down.
    fn send<T: Element>(&self, a: &LocalArray<T>, comm: &dyn Comm, tag: u16) -> Result<()> {
        let own = self.own();
        if let Some(up) = self.upper {
            send_slab(a, self.axis, own.end - self.halo..own.end, comm, up, tag)?;
        }
        if let Some(down) = self.lower {
            send_slab(a, self.axis, own.start..own.start + self.halo, comm, down, tag)?;
        }
        Ok(())
    }

    /// Who sends this piece what, in the order received: the lower
    /// neighbour's top cells into my lower ghost cells, then the upper
    /// neighbour's bottom cells into my upper ones (messages of one tag from
    /// one rank arrive in the order sent: up before down, which is what a
    /// neighbour on both sides, or oneself, sends).
    fn incoming(&self) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> {
        [(self.lower, 0..self.ghosts.0), (self.upper, self.len - self.ghosts.1..self.len)]
            .into_iter()
            .filter_map(|(from, range)| Some((from?, range)))
    }

    /// Announces what [`receive`](Self::receive) takes, in its order (see
    /// `Comm::expect_tagged`).
    fn expect<T: Element>(&self, a: &LocalArray<T>, comm: &dyn Comm, tag: u16) -> Result<()> {
        let cells_per_slice = a.ndarray().len() / self.len.max(1);
        for (from, range) in self.incoming() {
            comm.expect_tagged(from, tag, range.len() * cells_per_slice * std::mem::size_of::<T>())?;
        }
        Ok(())
    }

    /// Receives what [`incoming`](Self::incoming) lists.
    fn receive<T: Element>(&self, a: &mut LocalArray<T>, comm: &dyn Comm, tag: u16) -> Result<()> {
        for (from, range) in self.incoming() {
            receive_slab(a, self.axis, range, comm, from, tag)?;
        }
        Ok(())
    }

    /// Receives and drops what [`send`](Self::send) sent this piece, and
    /// completes its own sends, ignoring failures: an exchange given up.
    pub(crate) fn drain(&self, comm: &dyn Comm, tag: u16) {
        for (from, _) in self.incoming() {
            let _ = comm.receive_tagged(from, tag, &mut |_| Ok(()));
        }
        let _ = comm.complete_tagged(tag);
    }
}

/// Sends the cells `range` along `axis` of `a`, over the whole padded
/// extent of the other axes, in C order: copied once, row by row, into the
/// communicator's buffer.
fn send_slab<T: Element>(
    a: &LocalArray<T>,
    axis: usize,
    range: std::ops::Range<usize>,
    comm: &dyn Comm,
    to: usize,
    tag: u16,
) -> Result<()> {
    let slab = a.ndarray().slice_axis(Axis(axis), Slice::from(range));
    let item = std::mem::size_of::<T>();
    comm.send_tagged(to, tag, slab.len() * item, &mut |bytes| {
        if let Some(cells) = slab.as_slice() {
            bytes.copy_from_slice(as_bytes(cells));
            return;
        }
        let mut at = 0;
        for row in slab.rows() {
            match row.as_slice() {
                Some(cells) => {
                    let n = std::mem::size_of_val(cells);
                    bytes[at..at + n].copy_from_slice(as_bytes(cells));
                    at += n;
                }
                None => {
                    for cell in row.iter() {
                        bytes[at..at + item].copy_from_slice(as_bytes(std::slice::from_ref(cell)));
                        at += item;
                    }
                }
            }
        }
    })
}

/// Receives the next message from `from` under `tag` into the cells `range`
/// along `axis` of `a` (the layout of [`send_slab`]).
fn receive_slab<T: Element>(
    a: &mut LocalArray<T>,
    axis: usize,
    range: std::ops::Range<usize>,
    comm: &dyn Comm,
    from: usize,
    tag: u16,
) -> Result<()> {
    let mut slab = a.ndarray_mut().slice_axis_mut(Axis(axis), Slice::from(range));
    let item = std::mem::size_of::<T>();
    comm.receive_tagged(from, tag, &mut |bytes| {
        if bytes.len() != slab.len() * item {
            bail!(
                Protocol,
                "a halo of {} bytes where {} cells were expected along axis {axis}",
                bytes.len(),
                slab.len()
            );
        }
        if let Some(bad) = bytes.chunks_exact(item).position(|b| !T::valid_bytes(b)) {
            bail!(DTypeMismatch, "cell {bad} of a halo of {} holds an invalid value", T::DTYPE);
        }
        let mut at = 0;
        for mut row in slab.rows_mut() {
            if let Some(cells) = row.as_slice_mut() {
                let n = std::mem::size_of_val(cells);
                // SAFETY: as below, for a contiguous row of `n` bytes, which
                // does not overlap the received buffer.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().add(at), cells.as_mut_ptr().cast::<u8>(), n) };
                at += n;
                continue;
            }
            for cell in row.iter_mut() {
                // SAFETY: `bytes[at..at + item]` lies in `bytes` (its length
                // was checked) and holds a valid `T` (checked above); an
                // unaligned read, as a byte buffer need not be aligned for `T`.
                *cell = unsafe { std::ptr::read_unaligned(bytes.as_ptr().add(at).cast::<T>()) };
                at += item;
            }
        }
        Ok(())
    })
}
