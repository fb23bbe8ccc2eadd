//! The engine side of kernels: user functions that `#[local]` and
//! `#[vectorize]` register on every engine, and internal kernels, found by
//! key in the [`registry`], given their [`inputs`], run by [`run`] and
//! answered through [`output`].
//!
//! The macros generate code against the hidden items here (through
//! `distarray::__private`); users see [`EngineCtx`].

use super::comm::Comm;

mod codec;
mod inputs;
mod lanes;
mod output;
mod registry;
mod run;

pub use codec::ScalarCodec;
pub use inputs::{KernelArgs, KernelArrays, KernelInputs};
pub use lanes::{local_from_values, operand_layout, Lane, LaneIter, LocalOperand};
pub use output::{
    check_same_local_shape, collect_values, kernel_result, local_like, output_array, output_from_index, output_unit,
    output_value, FromIndex, KernelOutput,
};
pub(crate) use output::{output_from_global_index, output_from_runs};
#[cfg(test)]
pub(crate) use registry::registered_keys;
pub(crate) use registry::{
    find_kernel, register_internal, register_untyped, InternalKernel, KernelName, UntypedKernel,
};
pub use registry::{KernelEntry, KernelFn};

/// What an engine knows about itself while running a kernel: its rank among
/// the kernel's engines, their number, and a communicator over them for
/// collectives inside the kernel.
///
/// A `#[local]` kernel gets it by declaring a `&EngineCtx` parameter.
pub struct EngineCtx<'a> {
    engine: usize,
    comm: &'a dyn Comm,
}

impl EngineCtx<'_> {
    /// This engine's rank among the engines running the kernel.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of engines running the kernel.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// This engine's id among all engines of the process.
    pub fn engine_id(&self) -> usize {
        self.engine
    }

    /// The communicator over the engines running the kernel (see
    /// [`Collectives`](crate::Collectives) for typed collectives).
    pub fn comm(&self) -> &dyn Comm {
        self.comm
    }
}
