//! Messages between the client and the engines.
//!
//! Commands and replies are small serde values encoded with postcard; array
//! contents never go through serde but travel beside a message as a raw
//! native-order byte buffer (the `payload` of a request, the `data` of a
//! response).

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::core::element::DType;
use crate::core::error::{err, Error, Result};
use crate::layout::{DimDict, Layout};

pub(crate) mod bulk;
mod kernel;
pub(crate) mod raw_bytes;
mod stats;

pub(crate) use kernel::{ArrayArgs, KernelReply, KernelRequest, Targets};
pub use stats::EngineStats;

/// How a new local array is initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Init {
    /// With the element type's default (safe Rust has no uninitialised arrays).
    Empty,
    /// With zeros.
    Zeros,
    /// With ones.
    Ones,
    /// From the request payload (the engine's piece, in C order).
    Payload,
}

/// A command from the client to engines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Command {
    /// Set up the engine communicator of a new context over `targets`.
    OpenContext { ctx: u64, targets: Vec<usize> },
    /// Drop a context's communicator and every key it created.
    CloseContext { ctx: u64, prefix: String },
    /// Create the local array `key`.
    Create { key: String, dtype: DType, layout: Layout, init: Init },
    /// Set every element of `key` to the one element in `value` (raw bytes).
    Fill { key: String, dtype: DType, value: Vec<u8> },
    /// Send back the raw bytes of `key`.
    Pull { key: String, dtype: DType },
    /// Fail unless `key` exists and holds `dtype`.
    CheckDType { key: String, dtype: DType },
    /// Send back the dim data of `key`.
    DimData { key: String },
    /// Delete one key (missing keys are not an error: deletion is idempotent).
    Delete { key: String },
    /// Delete several keys (missing ones are not an error).
    DeleteMany { keys: Vec<String> },
    /// Delete every key that starts with `prefix`.
    DeletePrefix { prefix: String },
    /// List the keys that start with `prefix`.
    ListKeys { prefix: String },
    /// Run a registered kernel.
    RunKernel(Box<KernelRequest>),
    /// Undo the kernel call whose result key is `call`, which failed on some
    /// engine: put back the arrays it borrowed mutably, as they were before
    /// it, and delete its result. Only the command right after the call can
    /// undo it (see `Engine::run_kernel`).
    Rollback { call: String },
    /// Nothing: answered once every earlier command has run.
    Sync,
    /// Free the engine's pool of buffers kept for reuse; answers the bytes freed.
    ReleasePool,
    /// Send back the engine's counters; with `reset_peak`, then start its
    /// peak again from what it holds now.
    Stats { reset_peak: bool },
    /// Stop serving, as if the engine had crashed (fault injection for tests).
    Stop,
    /// Replace the communicator over `targets` (after a failed collective its
    /// state is unknown): the next command that needs it makes a new one, of
    /// `generation` (client threads resetting at once must not mix groups).
    ResetComm { targets: Vec<usize>, generation: u64 },
    /// Send the first axis's halo cells of `key`, whose engines are
    /// `targets`, under `tag` (`Comm::send_tagged`), and keep the exchange
    /// until its `FinishHalo`.
    BeginHalo { key: String, dtype: DType, targets: Vec<usize>, tag: u16 },
    /// Receive the ghost cells of the exchange of `key` begun under `tag`,
    /// then exchange the other axes.
    FinishHalo { key: String, tag: u16 },
}

/// An engine's answer to one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// Done, nothing to report (data, if any, is in the response buffer).
    Done,
    /// Key names.
    Keys(Vec<String>),
    /// A count (bytes freed by `ReleasePool`).
    Count(u64),
    /// An engine's counters.
    Stats(EngineStats),
    /// One local array's dim data.
    DimData(Vec<DimDict>),
    /// What a kernel returned (a value's bytes are in the response data).
    Kernel(KernelReply),
    /// The command failed on this engine.
    Failed(Error),
}

/// Encodes a message.
pub(crate) fn encode<M: Serialize>(message: &M) -> Result<Vec<u8>> {
    // Most messages are under 128 bytes: one allocation instead of a
    // doubling series of them.
    postcard::to_extend(message, Vec::with_capacity(128)).map_err(|e| err!(Protocol, "cannot encode a message: {e}"))
}

/// An encoded reply: most are a few bytes, kept inline.
pub(crate) type ReplyBytes = smallvec::SmallVec<[u8; 32]>;

/// Encodes a reply, inline when it is short.
pub(crate) fn encode_reply(reply: &Reply) -> Result<ReplyBytes> {
    postcard::to_extend(reply, ReplyBytes::new()).map_err(|e| err!(Protocol, "cannot encode a reply: {e}"))
}

/// Decodes a message.
pub(crate) fn decode<M: DeserializeOwned>(bytes: &[u8]) -> Result<M> {
    postcard::from_bytes(bytes).map_err(|e| err!(Protocol, "cannot decode a message of {} bytes: {e}", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Carrier {
        #[serde(with = "raw_bytes")]
        bytes: Vec<u8>,
    }

    #[test]
    fn byte_buffers_are_their_length_and_bytes() {
        let carrier = Carrier { bytes: (0..=255).collect() };
        let encoded = encode(&carrier).unwrap();
        // A varint length of 2 bytes, then the bytes themselves.
        assert_eq!(encoded.len(), 2 + 256);
        assert_eq!(&encoded[2..], &carrier.bytes[..]);
        assert_eq!(decode::<Carrier>(&encoded).unwrap(), carrier);
        assert!(decode::<Carrier>(&encoded[..100]).is_err());
    }
}
