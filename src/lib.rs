//! # distarray
//!
//! Numpy-like distributed N-dimensional arrays for Rust, modelled on Enthought
//! DistArray's `distarray.dist` package. A client program creates
//! [`DistArray`]s whose pieces ([`LocalArray`]s) live on *engines*: threads in
//! this process by default, or MPI ranks under `mpirun` with the `mpi` feature.
//! The same program runs on both.
//!
//! ```
//! use distarray::prelude::*;
//! use ndarray::Array2;
//!
//! let ctx = Context::new()?;                                  // 4 thread engines by default
//! let d = Distribution::builder(&ctx, &[6, 8]).dist("bc").build()?;
//! let a = ctx.fromarray(&Array2::from_shape_fn((6, 8), |(i, j)| (i * 8 + j) as f64), Some(&d))?;
//! assert_eq!(a.grid_shape().iter().product::<usize>(), ctx.num_targets());
//! assert_eq!(a.toarray()?[[5, 7]], 47.0);
//! # Ok::<(), distarray::Error>(())
//! ```
//!
//! # Crate feature flags
//! - `mpi`: the MPI backend. Run with `mpirun -n N+1`: rank 0 is the client,
//!   ranks `1..=N` are engines. Backend choice at run time: under `mpirun`
//!   MPI, else threads; `DISTARRAY_BACKEND=threads|mpi` overrides.
//! - `hdf5`: `save_hdf5` and `load_hdf5` through the system HDF5
//!   library. Alone, serial HDF5 on thread engines (any HDF5 >= 1.10, no MPI
//!   needed); with `mpi` too, parallel MPI-IO under `mpirun` (needs a
//!   parallel HDF5 build).
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use distarray_macros::{local, stencil, vectorize};
#[doc(inline)]
pub use distarray_runtime::*;

/// The common imports, kernels' attribute macros included:
/// `use distarray::prelude::*;`.
pub mod prelude {
    pub use distarray_macros::{local, stencil, vectorize};
    pub use distarray_runtime::prelude::*;
}

// The README's example runs as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
