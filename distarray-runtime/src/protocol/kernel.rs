//! The kernel call as it travels: the request the client sends and what each
//! engine answers.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::core::element::DType;
use crate::layout::{DimDict, Layout};

/// The engines a kernel call runs on (inline for a few: every engine decodes
/// the list on every call).
pub(crate) type Targets = SmallVec<[usize; 4]>;

/// A kernel call's array arguments: store keys and element types.
pub(crate) type ArrayArgs = SmallVec<[(String, DType); 4]>;

/// The request to run a kernel, as it travels to the engines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KernelRequest {
    /// The kernel's registry name (with the definition site of a macro kernel):
    /// borrowed from the registry on the client, owned once decoded.
    pub name: Cow<'static, str>,
    /// The element type of the internal kernel's entry to run (`None` for
    /// macro kernels and untyped internal kernels).
    pub dtype: Option<DType>,
    /// The engines running it, in rank order (the kernel's communicator).
    pub targets: Targets,
    pub arrays: ArrayArgs,
    /// Arrays passed only to the targets that hold them (after `arrays`).
    pub optional: Vec<(String, DType)>,
    /// The encoded scalar arguments (a large `Vec` argument makes them large).
    #[serde(with = "crate::protocol::raw_bytes")]
    pub args: Vec<u8>,
    /// Where an array result goes.
    pub result_key: String,
    /// For fromfunction: the layout of the array to build.
    pub index_layout: Option<Layout>,
    /// Keep copies of the `&mut` arrays to undo a failed call (see
    /// `KernelCall::without_undo` on the client).
    pub undo: bool,
}

/// What a kernel gave back on one engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum KernelReply {
    /// `()`.
    Unit,
    /// A serialized value, in the response data.
    Value,
    /// A value that is element data (`Vec<T>`, an ndarray array), as raw
    /// bytes in the response data (see `crate::bulk`).
    Bulk,
    /// A local array, stored under the result key.
    Array { dtype: DType, dim_data: Vec<DimDict> },
}
