//! Messages between the client and the engines.
//!
//! Commands and replies are small serde values encoded with postcard; array
//! contents never go through serde but travel beside a message as a raw
//! native-order byte buffer (the `payload` of a request, the `data` of a
//! response).

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::distribution::{DimDict, Map};
use crate::element::DType;
use crate::error::{err, Error, Result};

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

/// The layout of one distributed array as every engine needs it: the axis maps
/// and the engines that hold the pieces, in rank order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub maps: Vec<Map>,
    pub targets: Vec<usize>,
}

impl Layout {
    /// Checks what engines rely on: one target per cell of the process grid.
    /// The client only builds such layouts; a message that breaks this is
    /// rejected rather than trusted.
    pub(crate) fn check(&self) -> Result<()> {
        use crate::distribution::MapBase;
        let cells = self.maps.iter().try_fold(1usize, |n, m| n.checked_mul(m.grid_size()));
        if cells != Some(self.targets.len()) {
            return Err(err!(
                Protocol,
                "a layout of {} targets for a process grid of {cells:?} cells",
                self.targets.len()
            ));
        }
        Ok(())
    }
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
    RunKernel(crate::kernel::KernelRequest),
    /// Undo the kernel call whose result key is `call`, which failed on some
    /// engine: put back the arrays it borrowed mutably, as they were before
    /// it, and delete its result. Only the command right after the call can
    /// undo it (see `Engine::run_kernel`).
    Rollback { call: String },
    /// Nothing: answered once every earlier command has run.
    Sync,
    /// Stop serving, as if the engine had crashed (fault injection for tests).
    Stop,
    /// Replace the communicator over `targets` (after a failed collective its
    /// state is unknown): the next command that needs it makes a new one, of
    /// `generation` (client threads resetting at once must not mix groups).
    ResetComm { targets: Vec<usize>, generation: u64 },
}

/// An engine's answer to one command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// Done, nothing to report (data, if any, is in the response buffer).
    Done,
    /// Key names.
    Keys(Vec<String>),
    /// One local array's dim data.
    DimData(Vec<DimDict>),
    /// What a kernel returned (a value's bytes are in the response data).
    Kernel(crate::kernel::KernelReply),
    /// The command failed on this engine.
    Failed(Error),
}

/// A byte buffer inside a message as serde's bytes: its length and one copy,
/// instead of one serde call per byte (`#[serde(with = "raw_bytes")]`).
/// Written here rather than taken from `serde_bytes`, whose public types
/// would then be listed in users' compile errors about kernel arguments.
pub(crate) mod raw_bytes {
    use std::fmt;

    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte buffer")
        }

        fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        // Formats without a bytes type give a sequence.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::new();
            while let Some(b) = seq.next_element()? {
                bytes.push(b);
            }
            Ok(bytes)
        }
    }
}

/// Encodes a message.
pub(crate) fn encode<M: Serialize>(message: &M) -> Result<Vec<u8>> {
    postcard::to_stdvec(message).map_err(|e| err!(Protocol, "cannot encode a message: {e}"))
}

/// Decodes a message.
pub(crate) fn decode<M: DeserializeOwned>(bytes: &[u8]) -> Result<M> {
    postcard::from_bytes(bytes).map_err(|e| err!(Protocol, "cannot decode a message of {} bytes: {e}", bytes.len()))
}

/// Decodes arbitrary bytes as a `Command` and as a `Reply`, then runs
/// them through a fresh standalone engine (id 0, whose communicators cannot be
/// opened) as a command with the same bytes as payload, after a command that
/// stores one small `f64` array under `"k"` so commands on keys reach their
/// code. Must never panic. The entry point of `fuzz/fuzz_targets/command.rs`.
pub fn fuzz_command(data: &[u8]) {
    struct NoComm;
    impl crate::engine::CommFactory for NoComm {
        fn open(&mut self, targets: &[usize], _: u64) -> Result<Box<dyn crate::comm::Comm>> {
            Err(err!(Backend, "a fuzzed engine has no communicator over {targets:?}"))
        }
    }
    let _ = decode::<Command>(data);
    let _ = decode::<Reply>(data);
    let mut engine = crate::engine::Engine::new(0, Box::new(NoComm));
    let setup = crate::distribution::BlockMap::new(4, 1)
        .map(|m| Command::Create {
            key: "k".into(),
            dtype: DType::F64,
            layout: Layout { maps: vec![Map::Block(m)], targets: vec![0] },
            init: Init::Ones,
        })
        .and_then(|c| encode(&c));
    if let Ok(setup) = setup {
        engine.handle(&setup, Vec::new(), true);
    }
    // Not waited for, then waited for: both paths of `Engine::handle`.
    engine.handle(data, data.to_vec(), false);
    if let Some((reply, _)) = engine.handle(data, data.to_vec(), true) {
        let _ = decode::<Reply>(&reply);
    }
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
