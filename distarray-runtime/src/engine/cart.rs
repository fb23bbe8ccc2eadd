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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_in_c_order_with_and_without_wrapping() {
        // A 3x2 grid: rank = 2 * row + column.
        let cart = Cart::new(vec![3, 2], vec![1, 0], 2, 6).unwrap();
        assert_eq!((cart.rank(), cart.ndim()), (2, 2));
        assert_eq!(cart.neighbours(0), (Some(0), Some(4)));
        assert_eq!(cart.neighbours(1), (None, Some(3)));
        assert_eq!(cart.neighbours_periodic(1), (3, 3));
        let corner = Cart::new(vec![3, 2], vec![2, 1], 5, 6).unwrap();
        assert_eq!(corner.neighbours(0), (Some(3), None));
        assert_eq!(corner.neighbours_periodic(0), (3, 1));
        assert_eq!(corner.neighbours(1), (Some(4), None));
        assert_eq!((corner.rank_at(&[0, 1]), corner.rank_at(&[3, 0]), corner.rank_at(&[0])), (Some(1), None, None));
        assert_eq!((corner.coords_of(3), corner.coords_of(6)), (Some(vec![1, 1]), None));
        // One piece along an axis: its own neighbour when wrapping.
        let line = Cart::new(vec![1, 4], vec![0, 3], 3, 4).unwrap();
        assert_eq!((line.neighbours(0), line.neighbours_periodic(0)), ((None, None), (3, 3)));
        assert_eq!(line.neighbours_periodic(1), (2, 0));
    }

    #[test]
    fn ranks_that_do_not_match_the_pieces_are_refused() {
        // Rank 1 of 4 does not hold the piece at (1, 0) of a 2x2 grid (rank 2).
        let e = Cart::new(vec![2, 2], vec![1, 0], 1, 4).unwrap_err();
        assert_eq!(e.kind(), crate::core::error::ErrorKind::InvalidTarget);
        // Fewer members than pieces.
        assert!(Cart::new(vec![2, 2], vec![0, 0], 0, 3).is_err());
        // More members than pieces is fine: the first ones hold them.
        assert!(Cart::new(vec![2, 1], vec![1, 0], 1, 4).is_ok());
    }
}
