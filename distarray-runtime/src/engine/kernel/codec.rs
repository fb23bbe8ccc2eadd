//! How a scalar argument of a `#[local]` kernel travels: encoded on the
//! client, decoded on every engine, one after the other in parameter order.

use serde::{de::DeserializeOwned, Serialize};

use crate::core::error::{err, Result};
use crate::protocol::encode;

/// The encoder and decoder of one scalar parameter's type (generated code
/// gets it through `distarray::__private::scalar_codec`).
#[doc(hidden)]
pub struct ScalarCodec<T> {
    encode: fn(&T, &mut Vec<u8>) -> Result<()>,
    decode: fn(&mut &[u8]) -> Result<T>,
}

impl<T> ScalarCodec<T> {
    /// Through serde, as the other messages.
    pub(crate) fn serde() -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        ScalarCodec {
            encode: |value, out| {
                out.extend(encode(value)?);
                Ok(())
            },
            decode: |bytes| {
                let (value, rest) = postcard::take_from_bytes(bytes)
                    .map_err(|e| err!(Protocol, "cannot decode a kernel argument: {e}"))?;
                *bytes = rest;
                Ok(value)
            },
        }
    }

    /// For a type that is never sent (its kernel does not compile).
    pub(crate) fn refusing() -> Self {
        ScalarCodec {
            encode: |_, _| Err(err!(Protocol, "an array cannot be sent as a scalar")),
            decode: |_| Err(err!(Protocol, "an array cannot be sent as a scalar")),
        }
    }

    /// Appends `value` to `out`.
    pub(crate) fn encode(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        (self.encode)(value, out)
    }

    /// The value at the front of `bytes`, which then start after it.
    pub(crate) fn decode(&self, bytes: &mut &[u8]) -> Result<T> {
        (self.decode)(bytes)
    }
}
