//! The client: [`Context`] (a handle on engines, which sends commands through
//! a backend), [`Distribution`] (a layout bound to a context), the kernel
//! calls that generated code builds, and cleanup. `DistArray` builds on these
//! (`crate::array`).

pub mod cleanup;
pub(crate) mod context;
pub(crate) mod distribution;
pub(crate) mod kernel_call;

pub use context::{Context, KEY_PREFIX};
pub use distribution::{Distribution, DistributionBuilder};
pub(crate) use kernel_call::build_from_index;
pub use kernel_call::{IndexKernel, Kernel, KernelCall, KernelReturn, ReturnsArray, ReturnsUnit, ReturnsValue};
