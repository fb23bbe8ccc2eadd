//! Stencils over padded pieces: a [`Neighbourhood`] of one cell, and the
//! pass that exchanges the ghost cells and then updates every cell whose
//! neighbourhood lies in the array, into an existing output.

use std::ops::{Index, Range};

use ndarray::{Axis, Slice};

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
    /// The strides of the first `MAX_AXES` axes, 0 beyond the array's:
    /// a fixed size, so that an index compiles to a few multiply-adds.
    strides: [isize; MAX_AXES],
    center: usize,
    radius: usize,
    ndim: usize,
}

/// The most axes a [`Neighbourhood`] can be indexed along.
const MAX_AXES: usize = 4;

impl<'a, T: Copy> Neighbourhood<'a, T> {
    /// The neighbourhood of radius `radius` of the cell at `index` of
    /// `array`, for calling a stencil's point function on its own (a unit
    /// test): `None` if the array is not in C order, has more than 4 axes,
    /// or the neighbourhood does not fit in it.
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
        // The reads stay inside `data` only for a whole neighbourhood (see `at`).
        let fits = index.len() == array.ndim()
            && array.ndim() <= MAX_AXES
            && index.iter().zip(array.shape()).all(|(&i, &n)| i >= radius && i + radius < n);
        if !fits {
            return None;
        }
        let mut strides = [0isize; MAX_AXES];
        strides[..array.ndim()].copy_from_slice(array.strides());
        let center = index.iter().zip(array.strides()).map(|(&i, &s)| i as isize * s).sum::<isize>();
        Some(Neighbourhood { data, strides, center: center as usize, radius, ndim: array.ndim() })
    }

    /// The cell itself.
    pub fn center(&self) -> T {
        *self.at([])
    }

    /// The stencil's radius: the largest offset it may use.
    pub fn radius(&self) -> usize {
        self.radius
    }

    #[inline(always)]
    fn at<const N: usize>(&self, offsets: [isize; N]) -> &T {
        // Offsets beyond the radius are a bug in the stencil: debug builds
        // panic; release builds read the cell at the radius instead, so that
        // the index stays inside the piece (see `apply_stencil`). A check
        // that panicked there would branch in the inner loop (it does not
        // leave it for offsets above 1) and keep it from vectorising; the
        // clamp of constant offsets is computed once, outside it.
        debug_assert!(
            offsets.iter().all(|o| o.unsigned_abs() <= self.radius),
            "offset {offsets:?} beyond the stencil's radius {}",
            self.radius
        );
        let r = self.radius as isize;
        let mut at = self.center as isize;
        for (&o, &s) in offsets.iter().zip(&self.strides) {
            at += o.max(-r).min(r) * s;
        }
        // SAFETY: `apply_stencil` and `new` only make neighbourhoods of cells
        // at least `radius` from both ends of every axis of `data` (an update
        // region within the padded piece), and every offset is clamped to
        // `radius`, so `at` is a cell of `data`. Offsets for more axes than
        // the array has meet stride 0; fewer move along the first axes only.
        unsafe { self.data.get_unchecked(at as usize) }
    }
}

macro_rules! index_by_offsets {
    ($($n:literal)*) => {$(
        impl<T: Copy> Index<[isize; $n]> for Neighbourhood<'_, T> {
            type Output = T;
            #[inline(always)]
            fn index(&self, offsets: [isize; $n]) -> &T {
                debug_assert_eq!($n, self.ndim, "one offset per axis of the array");
                self.at(offsets)
            }
        }
    )*};
}
index_by_offsets!(1 2 3 4);

/// Ranges along the first `MAX_AXES` axes of a piece (a fixed size, so
/// that a time step of stencil passes does not allocate).
type Ranges = [Range<usize>; MAX_AXES];

/// The buffer ranges, per axis, of the cells a stencil of `radius` updates:
/// the own cells whose neighbourhood lies in the array (all of them along a
/// periodic axis), and the own cells. Fails when the ghost cells are too
/// narrow for `radius`.
fn update_region(dims: &[DimDict], shape: &[usize], radius: usize) -> Result<(Ranges, Ranges)> {
    let (mut region, mut own_cells) = (Ranges::default(), Ranges::default());
    for (axis, (d, &len)) in dims.iter().zip(shape).enumerate() {
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
        region[axis] = first..last.max(first);
        own_cells[axis] = lower..lower + own;
    }
    Ok((region, own_cells))
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
    if u.ndim() > MAX_AXES {
        bail!(InvalidShape, "a stencil runs over at most {MAX_AXES} axes; this array has {}", u.ndim());
    }
    let ndim = u.ndim();
    let (region, own) = update_region(u.dim_data(), u.shape(), radius)?;
    u.exchange_halos(comm)?;
    if ndim == 0 {
        // A 0-d array: one cell, no neighbours, the boundary.
        out.interior_mut().assign(&u.interior());
        return Ok(());
    }
    let (region, own) = (&region[..ndim], &own[..ndim]);
    copy_boundary(u, out, region, own);
    let shape = u.shape();
    let mut strides = [0isize; MAX_AXES];
    strides[ndim - 1] = 1;
    for axis in (0..ndim - 1).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1] as isize;
    }
    let (Some(data), Some(dest)) = (u.as_slice(), out.as_slice_mut()) else {
        bail!(Protocol, "a stencil needs pieces in C order");
    };
    if region.iter().any(|r| r.is_empty()) {
        return Ok(());
    }
    let Some((inner, outer)) = region.split_last() else {
        return Ok(());
    };
    // An odometer over the outer axes, the last axis in a tight loop over
    // a slice of the output (no bounds check per cell).
    let mut index = [0usize; MAX_AXES];
    for (i, r) in index.iter_mut().zip(outer) {
        *i = r.start;
    }
    loop {
        let row: usize = index[..outer.len()].iter().zip(&strides).map(|(&i, &s)| i * s as usize).sum();
        let first = row + inner.start;
        update_row(data, &mut dest[first..row + inner.end], first, strides, radius, ndim, &f);
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

/// `f` of the cells `first..first + dest.len()` of `data` into `dest`: the
/// tight loop, over two distinct slices (no aliasing for the compiler to
/// rule out).
#[inline]
fn update_row<T: Copy>(
    data: &[T],
    dest: &mut [T],
    first: usize,
    strides: [isize; MAX_AXES],
    radius: usize,
    ndim: usize,
    f: &impl Fn(&Neighbourhood<'_, T>) -> T,
) {
    for (k, cell) in dest.iter_mut().enumerate() {
        *cell = f(&Neighbourhood { data, strides, center: first + k, radius, ndim });
    }
}

/// Copies into `out` the own cells of `u` outside the update `region` (the
/// boundary), slab by slab along each axis: copying the whole piece first
/// would add a read and a write of every cell to a memory-bound step.
fn copy_boundary<T: Element>(
    u: &LocalArray<T>,
    out: &mut LocalArray<T>,
    region: &[Range<usize>],
    own: &[Range<usize>],
) {
    for (axis, r) in region.iter().enumerate() {
        for slab in [own[axis].start..r.start, r.end..own[axis].end] {
            if slab.is_empty() {
                continue;
            }
            let pick = |ax: Axis| Slice::from(if ax.index() == axis { slab.clone() } else { own[ax.index()].clone() });
            out.ndarray_mut()
                .slice_each_axis_mut(|d| pick(d.axis))
                .assign(&u.ndarray().slice_each_axis(|d| pick(d.axis)));
        }
    }
}
