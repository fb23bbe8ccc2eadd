//! [`Cart`]: the process grid of a distribution as seen from one piece, with
//! the communicator ranks of the engines holding the neighbouring pieces (an
//! MPI Cartesian topology, rsmpi's `CartesianCommunicator`).

use crate::core::error::{bail, Result};
use crate::layout::coords_to_rank;

/// The process grid of a distributed array from one engine's piece: the
/// grid's shape ([`dims`](Self::dims)), this piece's coordinates in it
/// ([`coords`](Self::coords)), and the communicator rank of the engine at
/// any coordinates, such as the neighbours along an axis
/// ([`neighbours`](Self::neighbours)).
///
/// Made by [`LocalArray::cart`](crate::LocalArray::cart) inside a kernel;
/// ranks are those of the kernel's communicator (`engine.comm()`), grid
/// coordinates in C order (the last axis varies fastest), as DistArray
/// places pieces on engines.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// /// Each piece's first row goes to the piece above; returns what came from
/// /// below (nothing at the last row of pieces).
/// #[local]
/// fn from_below(a: &LocalArray<f64>, engine: &EngineCtx) -> Vec<f64> {
///     let comm = engine.comm();
///     let cart = a.cart(comm).expect("the kernel runs on the array's engines");
///     let (up, down) = cart.neighbours(0);
///     let first: Vec<f64> = a.iter().take(a.shape()[1]).copied().collect();
///     let sent = up.map(|up| comm.immediate_send(up, &first)).transpose().expect("send");
///     let got = down.map(|down| comm.receive::<f64>(down)).transpose().expect("receive");
///     sent.map(|s| s.wait()).transpose().expect("send done");
///     got.unwrap_or_default()
/// }
///
/// let ctx = Context::new()?;
/// let d = Distribution::builder(&ctx, &[8, 3]).dist("bn").build()?;
/// let a = ctx.fromarray(&ndarray::Array2::from_shape_fn((8, 3), |(i, _)| i as f64).into_dyn(), Some(&d))?;
/// let got = from_below(&a)?;
/// // 4 engines, 2 rows each: engine 0 gets row 2 from engine 1, and so on.
/// assert_eq!(got, vec![vec![2.0; 3], vec![4.0; 3], vec![6.0; 3], vec![]]);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    dims: Vec<usize>,
    coords: Vec<usize>,
}

impl Cart {
    /// The grid `dims` with this engine at `coords`, whose rank must be
    /// `rank` in a communicator of `size` (the pieces' engines, in order).
    pub(crate) fn new(dims: Vec<usize>, coords: Vec<usize>, rank: usize, size: usize) -> Result<Self> {
        let cells = dims.iter().product::<usize>();
        let at = coords_to_rank(&coords, &dims);
        if cells > size || at != rank {
            bail!(
                InvalidTarget,
                "the piece at grid coordinates {coords:?} of grid {dims:?} belongs to rank {at}, but this is rank \
                 {rank} of {size}: the kernel must run on the array's engines, in its order"
            );
        }
        Ok(Cart { dims, coords })
    }

    /// The grid's shape: the number of pieces along each axis (1 for an
    /// axis that is not distributed).
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// This piece's coordinates in the grid.
    pub fn coords(&self) -> &[usize] {
        &self.coords
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    /// This engine's communicator rank.
    pub fn rank(&self) -> usize {
        coords_to_rank(&self.coords, &self.dims)
    }

    /// The communicator rank of the engine at grid coordinates `coords`
    /// (`None` outside the grid or for another number of axes).
    pub fn rank_at(&self, coords: &[usize]) -> Option<usize> {
        let inside = coords.len() == self.dims.len() && coords.iter().zip(&self.dims).all(|(c, d)| c < d);
        inside.then(|| coords_to_rank(coords, &self.dims))
    }

    /// The grid coordinates of communicator rank `rank` (`None` past the
    /// grid).
    pub fn coords_of(&self, rank: usize) -> Option<Vec<usize>> {
        (rank < self.dims.iter().product::<usize>()).then(|| crate::layout::rank_to_coords(rank, &self.dims))
    }

    /// The ranks of the pieces before and after this one along `axis`
    /// (lower, upper coordinate); `None` at the grid's edge (rsmpi's
    /// `shift(axis, 1)` without wrapping).
    ///
    /// **Panics** if `axis` is not an axis of the grid.
    pub fn neighbours(&self, axis: usize) -> (Option<usize>, Option<usize>) {
        let c = self.coords[axis];
        let at = |c: usize| {
            let mut coords = self.coords.clone();
            coords[axis] = c;
            self.rank_at(&coords)
        };
        (c.checked_sub(1).and_then(at), at(c + 1))
    }

    /// [`neighbours`](Self::neighbours) with the axis wrapping around: the
    /// first piece's lower neighbour is the last (a periodic grid; along an
    /// axis of one piece both are this engine).
    ///
    /// **Panics** if `axis` is not an axis of the grid.
    pub fn neighbours_periodic(&self, axis: usize) -> (usize, usize) {
        let (c, n) = (self.coords[axis], self.dims[axis]);
        let at = |c: usize| {
            let mut coords = self.coords.clone();
            coords[axis] = c;
            coords_to_rank(&coords, &self.dims)
        };
        (at((c + n - 1) % n), at((c + 1) % n))
    }
}
