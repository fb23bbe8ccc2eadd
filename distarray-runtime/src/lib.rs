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

// The layers, bottom up (see ARCHITECTURE.md); each imports only the layers
// below it. The engine side (core to backend) never names a client type.
mod core;

mod layout;

mod protocol;

mod engine;

mod backend;

mod client;

// Features: each has a client part and an engine part (its `engine` module).
mod index;
pub mod io;
mod ops;
mod random;
mod redistribute;
mod reduce;

pub use crate::client::cleanup;
pub use crate::client::{Context, DistArray, Distribution, DistributionBuilder, KEY_PREFIX};
pub use crate::client::{IndexKernel, Kernel, KernelReturn, ReturnsArray, ReturnsUnit, ReturnsValue};
pub use crate::core::element::{DType, Element};
pub use crate::core::error::{Error, ErrorKind, Result};
pub use crate::engine::comm::{Collectives, Comm};
pub use crate::engine::kernel::EngineCtx;
pub use crate::engine::kernel::FromIndex;
pub use crate::engine::local::LocalArray;
pub use crate::io::{load_dnpy, load_npy, save_dnpy, save_npy, DnpyNames};
#[cfg(feature = "hdf5")]
pub use crate::io::{load_hdf5, save_hdf5, Hdf5Mode, Hdf5Options};
pub use crate::layout::{
    choose_map, coords_to_rank, make_grid_shape, map_from_global_dim_dict, map_from_sizes, mult_partitions,
    normalize_grid_shape, rank_to_coords, validate_grid_shape, BlockCyclicMap, BlockMap, DimDict, Dist, GlobalDimDict,
    Map, MapBase, NoDistMap, UnstructuredMap,
};
pub use crate::ops::{functions, Bitwise, Number, Operand, Operands, Real, Ufunc};
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

/// The maps of the reference's `maps` module, under one path.
pub mod maps {
    pub use crate::layout::{
        choose_map, map_from_global_dim_dict, map_from_sizes, BlockCyclicMap, BlockMap, Dist, Map, MapBase, NoDistMap,
        UnstructuredMap,
    };
}

/// Used by code that `#[local]` and `#[vectorize]` generate. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::{IndexKernel, Kernel, KernelCall, ReturnsArray, ReturnsUnit, ReturnsValue};
    pub use crate::engine::kernel::FromIndex;
    pub use crate::engine::kernel::{
        check_same_local_shape, collect_values, kernel_result, local_like, output_array, output_from_index,
        output_unit, output_value, KernelArgs, KernelArrays, KernelEntry, KernelFn, KernelInputs, KernelOutput,
    };
    pub use crate::{Context, DistArray, Result};
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
    pub use crate::engine::comm::{Collectives, Comm};
    pub use crate::engine::kernel::FromIndex;
    pub use crate::layout::MapBase;
    pub use crate::ops::{Bitwise, Number, Operands, Real, Ufunc};
    pub use crate::reduce::{OrdElem, SumElem, Widen};
}

/// The common imports: `use distarray::prelude::*;`.
pub mod prelude {
    pub use crate::traits::*;
    pub use crate::{
        Context, DType, Dist, DistArray, Distribution, EngineCtx, Error, ErrorKind, LocalArray, Random, Result,
    };
}
