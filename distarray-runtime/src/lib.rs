//! The runtime of [distarray](https://docs.rs/distarray): contexts,
//! distributions and their maps, distributed arrays, and the thread and MPI
//! engine backends. Users depend on the `distarray` facade crate, which
//! re-exports this one.
//!
//! # Crate feature flags
//! - `mpi`: the MPI backend (real ranks under `mpirun`, through the system
//!   OpenMPI). Without it, programs run on thread engines.
//! - `hdf5`: `save_hdf5` and `load_hdf5` through the system HDF5 library.
//!   Alone, serial HDF5 on thread engines (any HDF5 >= 1.10, no MPI needed).
//!   With `mpi` as well, parallel MPI-IO under `mpirun`, which needs a
//!   parallel HDF5 build (against a serial one the build stops with
//!   hdf5-metno-sys's error `Enabling "mpio" feature requires HDF5 library
//!   built with MPI support`).
//!
//! # Memory
//! Every call that allocates element data (on the engines or the client)
//! reports a size the machine cannot hold as `Err` of kind
//! [`ErrorKind::OutOfMemory`], as numpy raises MemoryError, instead of
//! aborting the process. Not covered: allocations inside a user's own
//! `#[local]` body, and Linux overcommit, under which a reservation that
//! succeeds may still be OOM-killed when its memory is touched.
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers, bottom up (see ARCHITECTURE.md); each imports only the layers
// below it. The engine side (core to backend) never names a client type.
mod core;

mod layout;

mod protocol;

mod engine;

mod backend;

mod client;

// Features: each has a client part and an engine part (its `engine` module).
mod halo;
mod index;
/// Saving and loading distributed arrays: the file calls of the reference's
/// `context` module (`Context.save_dnpy`, `load_dnpy`, `load_npy`,
/// `save_hdf5`, `load_hdf5`) as functions, and `save_npy`; the formats are
/// those of DistArray's `distarray.local.format` (`.npy`, `.dnpy`) and HDF5.
pub mod io;
mod ops;
/// Seeded random arrays: the reference's `random` module ("Emulate
/// numpy.random"), whose [`Random`] draws `rand`, `randn`, `normal` and
/// `randint` arrays over a distribution, and any `rand` distribution with
/// [`Random::sample`]; [`RandomStream`](random::RandomStream) gives kernels
/// the same per-element streams.
pub mod random;
mod redistribute;
mod reduce;

pub use crate::client::cleanup;
pub use crate::client::context::ContextBuilder;
pub use crate::client::{Context, DistArray, Distribution, DistributionBuilder, PendingHaloExchange, KEY_PREFIX};
pub use crate::client::{IndexKernel, Kernel, KernelReturn, ReturnsArray, ReturnsUnit, ReturnsValue};
pub use crate::core::element::{DType, Element};
pub use crate::core::error::{Error, ErrorKind, Result};
pub use crate::engine::cart::Cart;
pub use crate::engine::comm::{Collectives, Comm, Op, ReceiveRequest, Reducible, SendRequest};
pub use crate::engine::halo::HaloExchange;
pub use crate::engine::kernel::EngineCtx;
pub use crate::engine::kernel::FromIndex;
pub use crate::engine::local::LocalArray;
pub use crate::engine::stencil::Neighbourhood;
pub use crate::io::{load_dnpy, load_npy, save_dnpy, save_npy, DnpyNames};
#[cfg(feature = "hdf5")]
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
pub use crate::io::{load_hdf5, save_hdf5, Hdf5Mode, Hdf5Options};
pub use crate::layout::{
    BlockCyclicMap, BlockMap, DimDict, Dist, GlobalDimDict, Map, MapBase, NoDistMap, UnstructuredMap,
};
pub use crate::ops::{functions, Bitwise, Number, Operand, Operands, Real, Ufunc};
pub use crate::protocol::EngineStats;
pub use crate::random::Random;
pub use crate::redistribute::ExchangeStats;
pub use crate::reduce::{OrdElem, SumElem, Widen};
pub use num_complex::Complex;

/// The MPI crate distarray uses, for benchmarks whose hand-written baselines
/// call MPI on the engines' communicator (`Comm::raw_mpi_comm`).
#[cfg(feature = "mpi")]
#[doc(hidden)]
pub use mpi as __mpi;

/// The HDF5 crate distarray uses, for benchmarks that compare against it.
#[cfg(feature = "hdf5")]
#[doc(hidden)]
pub use hdf5 as __hdf5;

pub mod maps {
    //! Distributions and their maps: the reference's `maps` module.
    //!
    //! A [`Distribution`] is the multi-dimensional map of an array, one 1-D map
    //! per axis over a process grid: [`BlockMap`] (`'b'`), [`BlockCyclicMap`]
    //! (`'c'`), [`NoDistMap`] (`'n'`) and [`UnstructuredMap`] (`'u'`), behind
    //! [`Map`] and the trait [`MapBase`], with the reference's [`choose_map`],
    //! [`map_from_sizes`] and [`map_from_global_dim_dict`]. The process-grid
    //! helpers that the reference's maps take from DistArray's `metadata_utils`
    //! and `utils` modules live here too, and only here: [`make_grid_shape`],
    //! [`normalize_grid_shape`], [`validate_grid_shape`], [`mult_partitions`],
    //! [`rank_to_coords`] and [`coords_to_rank`].
    //!
    //! # Examples
    //! ```
    //! use distarray::maps::{coords_to_rank, make_grid_shape, map_from_sizes, rank_to_coords, MapBase};
    //! use distarray::Dist;
    //!
    //! // DistArray's grid for a 6x8 block-block array on 4 processes.
    //! assert_eq!(make_grid_shape(&[6, 8], &[Dist::Block, Dist::Block], 4)?, vec![2, 2]);
    //! assert_eq!(rank_to_coords(3, &[2, 2]), vec![1, 1]);
    //! assert_eq!(coords_to_rank(&[1, 0], &[2, 2]), 2);
    //! // 10 elements in blocks over 4 processes: 3, 3, 3, 1.
    //! let map = map_from_sizes(10, Dist::Block, 4)?;
    //! assert_eq!(map.local_size(0), 3);
    //! assert_eq!(map.owners(9)?, vec![3]);
    //! # Ok::<(), distarray::Error>(())
    //! ```

    pub use crate::client::{Distribution, DistributionBuilder};
    pub use crate::layout::{
        choose_map, coords_to_rank, make_grid_shape, map_from_global_dim_dict, map_from_sizes, mult_partitions,
        normalize_grid_shape, rank_to_coords, validate_grid_shape, BlockCyclicMap, BlockMap, DimDict, Dist,
        GlobalDimDict, Map, MapBase, NoDistMap, UnstructuredMap,
    };
}

pub mod context {
    //! Contexts: the reference's `context` module. A [`Context`] is the client's
    //! handle on a set of engines (built with [`Context::builder`] to choose the
    //! engine count and the targets), and [`KEY_PREFIX`] starts every key it
    //! creates on them.

    pub use crate::backend::CommStats;
    pub use crate::client::context::ContextBuilder;
    pub use crate::client::{Context, KEY_PREFIX};
    pub use crate::protocol::EngineStats;
}

/// Used by code that `#[local]` and `#[vectorize]` generate. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::{
        not_an_array, scalar_codec, AliasedArray, ArrayArg, ArrayArgMut, IsScalarCodec, NotAnArray, NotSerializable,
        Probe, ProbeAlias, ProbeCodec, ProbeFallback, ScalarCodec, VectorizeArg,
    };
    pub use crate::client::{IndexKernel, Kernel, KernelCall, ReturnsArray, ReturnsUnit, ReturnsValue};
    pub use crate::engine::kernel::FromIndex;
    pub use crate::engine::kernel::{
        check_same_local_shape, collect_values, kernel_result, local_from_values, local_like, operand_layout,
        output_array, output_from_index, output_unit, output_value, KernelArgs, KernelArrays, KernelEntry, KernelFn,
        KernelInputs, KernelOutput, Lane, LaneIter, LocalOperand,
    };
    pub use crate::engine::stencil::apply_stencil;
    pub use crate::ops::Operand;
    pub use crate::random::engine::sample::{run_sampler, SamplerEntry};
    pub use crate::{Context, DistArray, Element, Error, ErrorKind, Result};
    pub use inventory;
}

/// Fault injection for the reliability tests. Not public API.
#[doc(hidden)]
pub mod __testing {
    use crate::{Context, Result};

    /// Makes engine `engine` of `ctx` stop as if it had crashed: a thread
    /// engine's thread ends, an MPI engine's process exits.
    pub fn stop_engine(ctx: &Context, engine: usize) -> Result<()> {
        ctx.select_targets(Some(&[engine]))?;
        ctx.post(&[engine], &crate::protocol::Command::Stop)
    }

    /// Kernel values this client received as raw element bytes, and their
    /// bytes, so far (proves that bulk values skip serde).
    pub fn bulk_values_received() -> (u64, u64) {
        crate::protocol::bulk::received()
    }
}

/// Entry points of the fuzz targets in `fuzz/`. Not public API.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::engine::fuzz_command;
    pub use crate::io::{fuzz_dnpy_header, fuzz_header_text, fuzz_npy_header};
}

/// Every trait, for `use distarray::traits::*;`.
pub mod traits {
    pub use crate::client::{IndexKernel, Kernel, KernelReturn};
    pub use crate::core::element::Element;
    pub use crate::engine::comm::{Collectives, Comm, Reducible};
    pub use crate::engine::kernel::FromIndex;
    pub use crate::layout::MapBase;
    pub use crate::ops::{Bitwise, Number, Operands, Real, Ufunc};
    pub use crate::reduce::{OrdElem, SumElem, Widen};
}

/// The common imports: `use distarray::prelude::*;`.
pub mod prelude {
    pub use crate::traits::*;
    pub use crate::{
        Cart, Context, DType, Dist, DistArray, Distribution, EngineCtx, Error, ErrorKind, LocalArray, Neighbourhood,
        Op, Random, Result,
    };
}

// Checks across the features (every internal kernel for every element type).
#[cfg(test)]
mod tests;
