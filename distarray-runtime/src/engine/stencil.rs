//! Stencils over padded pieces: a [`Neighbourhood`] of one cell, and the
//! pass that exchanges the ghost cells and then updates every cell whose
//! neighbourhood lies in the array, into an existing output.

use std::ops::{Index, Range};

use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::engine::comm::Comm;
use crate::engine::local::LocalArray;
use crate::layout::{ghost_widths, DimDict};

/// The cells around one cell of a padded piece, as a stencil sees them:
/// `u[[di, dj]]` is the cell `di` rows and `dj` columns away (offsets up to
/// the stencil's radius), `u[[0, 0]]` the cell itself. One index per axis
/// of the array.
#[derive(Debug, Clone, Copy)]
pub struct Neighbourhood<'a, T> {
    data: &'a [T],
    strides: &'a [isize],
    center: usize,
    radius: usize,
}

impl<'a, T: Copy> Neighbourhood<'a, T> {
    /// The neighbourhood of radius `radius` of the cell at `index` of
    /// `array`, for calling a stencil's point function on its own (a unit
    /// test): `None` if the array is not in C order or the neighbourhood
    /// does not fit in it.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// #[stencil(radius = 1)]
    /// fn laplacian(u: &Neighbourhood<f64>) -> f64 {
    ///     u[[-1, 0]] + u[[1, 0]] + u[[0, -1]] + u[[0, 1]] - 4.0 * u[[0, 0]]
    /// }
    ///
    /// let grid = ndarray::Array2::from_shape_fn((3, 3), |(i, j)| (i * i + j * j) as f64).into_dyn();
    /// let n = Neighbourhood::new(&grid, &[1, 1], 1).expect("inside the grid");
    /// assert_eq!(laplacian::point(&n), 4.0); // the Laplacian of x² + y² is 4
    /// ```
    pub fn new(array: &'a ndarray::ArrayD<T>, index: &[usize], radius: usize) -> Option<Self> {
        let data = array.as_slice()?;
        let fits = index.len() == array.ndim()
            && index.iter().zip(array.shape()).all(|(&i, &n)| i >= radius && i + radius < n);
        let center = index.iter().zip(array.strides()).map(|(&i, &s)| i as isize * s).sum::<isize>();
        fits.then_some(Neighbourhood { data, strides: array.strides(), center: center as usize, radius })
    }

    /// The cell itself.
    pub fn center(&self) -> T {
        self.data[self.center]
    }

    /// The stencil's radius: the largest offset it may use.
    pub fn radius(&self) -> usize {
        self.radius
    }

    #[inline(always)]
    fn at(&self, offsets: &[isize]) -> &T {
        debug_assert_eq!(offsets.len(), self.strides.len(), "one offset per axis of the array");
        debug_assert!(
            offsets.iter().all(|o| o.unsigned_abs() <= self.radius),
            "offset {offsets:?} beyond the stencil's radius {}",
            self.radius
        );
        let at = offsets.iter().zip(self.strides).fold(self.center as isize, |at, (&o, &s)| at + o * s);
        // A checked index: an offset beyond the radius cannot read outside
        // the piece.
        &self.data[at as usize]
    }
}

macro_rules! index_by_offsets {
    ($($n:literal)*) => {$(
        impl<T: Copy> Index<[isize; $n]> for Neighbourhood<'_, T> {
            type Output = T;
            #[inline(always)]
            fn index(&self, offsets: [isize; $n]) -> &T {
                self.at(&offsets)
            }
        }
    )*};
}
index_by_offsets!(1 2 3 4);

/// The buffer ranges, per axis, of the cells a stencil of `radius` updates:
/// the own cells whose neighbourhood lies in the array (all of them along a
/// periodic axis). Fails when the ghost cells are too narrow for `radius`.
fn update_region(dims: &[DimDict], shape: &[usize], radius: usize) -> Result<Vec<Range<usize>>> {
    dims.iter()
        .zip(shape)
        .enumerate()
        .map(|(axis, (d, &len))| {
            let (lower, upper) = ghost_widths(d);
            let (start, size, periodic) = match *d {
                DimDict::Block { start, size, periodic, .. } => (start, size, periodic),
                DimDict::NoDist { size } => (0, size, false),
                _ => {
                    bail!(InvalidDist, "a stencil needs block axes; axis {axis} is distributed as {:?}", d.dist_type())
                }
            };
            let own = len - lower - upper;
            let (has_lower, has_upper) = (start > 0 || periodic, start + own < size || periodic);
            if (has_lower && lower < radius) || (has_upper && upper < radius) {
                bail!(
                    InvalidDist,
                    "a stencil of radius {radius} needs a halo of at least {radius} on axis {axis}, which has {}",
                    lower.max(upper)
                );
            }
            // Cells within `radius` of the array's edge are the boundary.
            let first = if has_lower { lower } else { radius.min(own) };
            let last = if has_upper { lower + own } else { (lower + own).saturating_sub(radius) };
            Ok(first..last.max(first))
        })
        .collect()
}

impl<T: Element> LocalArray<T> {
    /// One stencil pass, inside a kernel: exchanges this piece's ghost cells
    /// (see [`exchange_halos`](Self::exchange_halos); every engine of the
    /// array must call it), then writes `f` of the [`Neighbourhood`] of
    /// every cell that has a whole one within `radius` into the same cell
    /// of `out`, in one pass (the last axis innermost). The other own cells
    /// of `out` (within `radius` of the edge of an axis that is not
    /// periodic: the boundary) get this piece's values; `out`'s ghost cells
    /// are left as they were. `out` must be laid out as `self`, and is
    /// typically swapped with it after each step of a time loop, so no step
    /// allocates a piece.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// /// `steps` explicit steps of the 1-D heat equation in one kernel call.
    /// #[local(undo = false)]
    /// fn heat(u: &mut LocalArray<f64>, tmp: &mut LocalArray<f64>, steps: usize, engine: &EngineCtx) {
    ///     for _ in 0..steps {
    ///         u.apply_stencil(tmp, 1, engine.comm(), |n| n.center() + 0.25 * (n[[-1]] - 2.0 * n.center() + n[[1]]))
    ///             .expect("a stencil pass");
    ///         std::mem::swap(u, tmp);
    ///     }
    /// }
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::builder(&ctx, &[32]).halo(&[1]).build()?;
    /// let mut u = ctx.fromarray(&ndarray::Array1::from_shape_fn(32, |i| if i == 16 { 1.0 } else { 0.0 }).into_dyn(), Some(&d))?;
    /// let mut tmp = ctx.zeros::<f64>(&d)?;
    /// heat(&mut u, &mut tmp, 10)?;
    /// // Heat spreads but is conserved away from the fixed boundary.
    /// assert!((u.sum()? - 1.0).abs() < 1e-12);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `IncompatibleDistribution` if `out` is laid out otherwise;
    /// `InvalidDist` if an axis is not a block axis or its halo is
    /// narrower than `radius` where the piece has a neighbour; as
    /// [`exchange_halos`](Self::exchange_halos).
    pub fn apply_stencil(
        &mut self,
        out: &mut LocalArray<T>,
        radius: usize,
        comm: &dyn Comm,
        f: impl Fn(&Neighbourhood<'_, T>) -> T,
    ) -> Result<()> {
        apply_stencil(self, out, radius, comm, f)
    }
}

/// [`LocalArray::apply_stencil`], for the code `#[stencil]` generates.
#[doc(hidden)]
pub fn apply_stencil<T: Element>(
    u: &mut LocalArray<T>,
    out: &mut LocalArray<T>,
    radius: usize,
    comm: &dyn Comm,
    f: impl Fn(&Neighbourhood<'_, T>) -> T,
) -> Result<()> {
    if u.dim_data() != out.dim_data() {
        bail!(IncompatibleDistribution, "a stencil's input and output must be laid out alike");
    }
    let region = update_region(u.dim_data(), u.shape(), radius)?;
    u.exchange_halos(comm)?;
    // The boundary keeps its values: the whole interior first, then the
    // update overwrites the cells that have a neighbourhood.
    out.interior_mut().assign(&u.interior());
    let strides: Vec<isize> = u.strides().to_vec();
    let (Some(data), Some(dest)) = (u.as_slice(), out.as_slice_mut()) else {
        bail!(Protocol, "a stencil needs pieces in C order");
    };
    if region.iter().any(|r| r.is_empty()) {
        return Ok(());
    }
    let Some((inner, outer)) = region.split_last() else {
        return Ok(()); // a 0-d array has no neighbours
    };
    // An odometer over the outer axes, the last axis in a tight loop.
    let mut index: Vec<usize> = outer.iter().map(|r| r.start).collect();
    loop {
        // C order (checked by `as_slice`): strides are positive.
        let row: usize = index.iter().zip(&strides).map(|(&i, &s)| i * s as usize).sum();
        for j in inner.clone() {
            let center = row + j;
            dest[center] = f(&Neighbourhood { data, strides: &strides, center, radius });
        }
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < outer[axis].end {
                break;
            }
            index[axis] = outer[axis].start;
        }
    }
}
