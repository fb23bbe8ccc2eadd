//! The client: [`Context`] (a handle on engines, which sends commands through
//! a backend), [`Distribution`] (a layout bound to a context), [`DistArray`]
//! (the handle of one array, with its methods by topic in `array/impl_*.rs`),
//! the kernel calls that generated code builds, pictures of a distribution
//! (`plot`), and cleanup.

pub(crate) mod array;
pub mod cleanup;
pub(crate) mod context;
pub(crate) mod distribution;
mod kernel_args;
pub(crate) mod kernel_call;
mod plot;

pub use array::{DistArray, PendingHaloExchange};
pub use context::{Context, KEY_PREFIX};
pub use distribution::{Distribution, DistributionBuilder};
pub use kernel_args::{
    not_an_array, scalar_codec, AliasedArray, ArrayArg, ArrayArgMut, IsScalarCodec, NotAnArray, NotSerializable, Probe,
    ProbeAlias, ProbeCodec, ProbeFallback, ScalarCodec, VectorizeArg,
};
pub(crate) use kernel_call::build_from_index;
pub use kernel_call::{IndexKernel, Kernel, KernelCall, KernelReturn, ReturnsArray, ReturnsUnit, ReturnsValue};
