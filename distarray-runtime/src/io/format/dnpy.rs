//! The `.dnpy` format of Python DistArray: one file per engine holding a
//! small header with the engine's dim data (Distributed Array Protocol 0.10)
//! followed by a complete `.npy` stream of its local array.
//!
//! | bytes | content |
//! |---|---|
//! | 0–5 | magic `\x93DARRY` |
//! | 6, 7 | version 1.0 |
//! | 8–9 | header length, little-endian `u16` |
//! | then | a Python-literal dict `{'__version__': '0.10.0', 'dim_data': (..), }`, padded with spaces and a `\n` to a multiple of 16 bytes |
//! | then | the `.npy` stream |
//!
//! Files of DistArray releases before 0.6 repeat the 8 bytes of magic and
//! version; they load too.

use std::fmt::Write as _;
use std::io::Read;

use super::npy::{int_tuple, uint};
use super::pyliteral::{self, Value};
use crate::layout::DimDict;

/// The 6 bytes every `.dnpy` file starts with.
pub(crate) const MAGIC: &[u8; 6] = b"\x93DARRY";

/// The protocol version written in headers.
const PROTOCOL_VERSION: &str = "0.10.0";

/// A header's dim data: `None` for an empty dim dict (the whole axis on this
/// rank, its length given by the local array).
pub(crate) type RawDimData = Vec<Option<DimDict>>;

/// Reads and checks a `.dnpy` header from the start of a file of `file_len`
/// bytes; returns the dim data and the offset of the `.npy` stream.
pub(crate) fn read_header(r: &mut impl Read, file_len: u64) -> Result<(RawDimData, u64), String> {
    let mut prefix = [0u8; 8];
    read_exact(r, &mut prefix, "the .dnpy magic")?;
    if &prefix[..6] != MAGIC {
        return Err(format!(
            "not a .dnpy file: wrong magic {:?} (expected \\x93DARRY)",
            String::from_utf8_lossy(&prefix[..6])
        ));
    }
    check_version(&prefix)?;
    let mut len = [0u8; 2];
    read_exact(r, &mut len, "the header length")?;
    let mut prefix_len = 10u64;
    // Releases before 0.6 wrote the magic and version twice; a real header
    // length whose bytes look like the magic is told apart by what follows.
    let mut text_start = Vec::new();
    if len == prefix[..2] && file_len >= 18 {
        let mut rest = [0u8; 6];
        read_exact(r, &mut rest, "the header")?;
        if rest[..4] == prefix[2..6] {
            check_version(&[0, 0, 0, 0, 0, 0, rest[4], rest[5]])?;
            read_exact(r, &mut len, "the header length")?;
            prefix_len = 18;
        } else {
            text_start.extend_from_slice(&rest);
        }
    }
    let hlen = u64::from(u16::from_le_bytes(len));
    let header_end = prefix_len + hlen;
    if header_end > file_len || (text_start.len() as u64) > hlen {
        return Err(format!("header length {hlen} exceeds the file ({file_len} bytes)"));
    }
    let mut text = vec![0u8; hlen as usize];
    text[..text_start.len()].copy_from_slice(&text_start);
    let from = text_start.len();
    read_exact(r, &mut text[from..], "the header")?;
    Ok((parse_header_text(&text)?, header_end))
}

fn check_version(prefix: &[u8; 8]) -> Result<(), String> {
    match (prefix[6], prefix[7]) {
        (1, 0) => Ok(()),
        (major, minor) => Err(format!("unsupported .dnpy version {major}.{minor} (only 1.0 is known)")),
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("truncated file: it ends inside {what}"),
        _ => format!("reading {what}: {e}"),
    })
}

pub(crate) fn parse_header_text(text: &[u8]) -> Result<RawDimData, String> {
    let dict = pyliteral::parse(text).map_err(|e| format!("malformed header: {e}"))?;
    let Value::Dict(items) = &dict else {
        return Err(format!("malformed header: {} instead of a dict", dict.kind()));
    };
    let mut keys: Vec<String> = items
        .iter()
        .map(|(k, _)| match k {
            Value::Str(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    keys.sort();
    if keys != ["__version__", "dim_data"] {
        return Err(format!("malformed header: keys {keys:?}, expected exactly ['__version__', 'dim_data']"));
    }
    if !matches!(dict.get("__version__"), Some(Value::Str(_))) {
        return Err("malformed header: '__version__' must be a string".into());
    }
    match dict.get("dim_data") {
        Some(Value::Seq(dims)) => dims
            .iter()
            .enumerate()
            .map(|(axis, d)| dim_dict(d).map_err(|e| format!("dim_data axis {axis}: {e}")))
            .collect(),
        Some(other) => Err(format!("malformed header: 'dim_data' is {}, not a tuple of dicts", other.kind())),
        None => Err("malformed header: no 'dim_data'".into()),
    }
}

fn field(d: &Value, key: &str) -> Result<usize, String> {
    uint(d.get(key).ok_or_else(|| format!("missing '{key}'"))?).map_err(|e| format!("'{key}' {e}"))
}

fn flag(d: &Value, key: &str) -> Result<bool, String> {
    match d.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("'{key}' must be True or False, not {}", other.kind())),
    }
}

/// One dim dict of a header.
fn dim_dict(d: &Value) -> Result<Option<DimDict>, String> {
    let Value::Dict(items) = d else {
        return Err(format!("{} instead of a dict", d.kind()));
    };
    if items.is_empty() {
        return Ok(None);
    }
    let dist_type = match d.get("dist_type") {
        Some(Value::Str(s)) => s.as_str(),
        Some(other) => return Err(format!("'dist_type' must be a string, not {}", other.kind())),
        None => return Err("missing 'dist_type'".into()),
    };
    let size = field(d, "size")?;
    Ok(Some(match dist_type {
        "b" => {
            let padding = match d.get("padding") {
                None => (0, 0),
                Some(v) => match int_tuple(v).map_err(|e| format!("'padding' {e}"))?.as_slice() {
                    &[a, b] => (a, b),
                    other => return Err(format!("'padding' must have 2 items, not {}", other.len())),
                },
            };
            DimDict::Block {
                size,
                proc_grid_size: field(d, "proc_grid_size")?,
                proc_grid_rank: field(d, "proc_grid_rank")?,
                start: field(d, "start")?,
                stop: field(d, "stop")?,
                padding,
                periodic: flag(d, "periodic")?,
            }
        }
        "c" => DimDict::BlockCyclic {
            size,
            proc_grid_size: field(d, "proc_grid_size")?,
            proc_grid_rank: field(d, "proc_grid_rank")?,
            start: field(d, "start")?,
            block_size: if d.get("block_size").is_some() { field(d, "block_size")? } else { 1 },
        },
        "u" => DimDict::Unstructured {
            size,
            proc_grid_size: field(d, "proc_grid_size")?,
            proc_grid_rank: field(d, "proc_grid_rank")?,
            indices: int_tuple(d.get("indices").ok_or("missing 'indices'")?).map_err(|e| format!("'indices' {e}"))?,
            one_to_one: flag(d, "one_to_one")?,
        },
        "n" => {
            for (key, want) in [("proc_grid_size", 1), ("proc_grid_rank", 0)] {
                if d.get(key).is_some() && field(d, key)? != want {
                    return Err(format!("a not-distributed axis must have '{key}' {want}"));
                }
            }
            DimDict::NoDist { size }
        }
        other => return Err(format!("unknown 'dist_type' {other:?} (expected 'b', 'c', 'u' or 'n')")),
    }))
}

/// The header of a `.dnpy` file for `dim_data`, as Python DistArray writes it
/// (a not-distributed axis is written as a one-rank block).
pub(crate) fn header_bytes(dim_data: &[DimDict]) -> Vec<u8> {
    let mut dict = format!("{{'__version__': '{PROTOCOL_VERSION}', 'dim_data': (");
    for d in dim_data {
        write_dim_dict(&mut dict, d);
        dict.push_str(", ");
    }
    if dim_data.len() == 1 {
        dict.truncate(dict.len() - 1);
    } else if !dim_data.is_empty() {
        dict.truncate(dict.len() - 2);
    }
    dict.push_str("), }");
    let topad = 16 - (10 + dict.len() + 1) % 16;
    let hlen = dict.len() + topad + 1;
    let mut out = Vec::with_capacity(10 + hlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // A dim data too long for u16 cannot be written by Python either; the
    // length check happens in `write_header`.
    out.extend_from_slice(&(hlen as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(10 + hlen - 1, b' ');
    out.push(b'\n');
    out
}

/// Whether a header for `dim_data` fits the format's 16-bit length.
pub(crate) fn header_fits(header: &[u8]) -> bool {
    header.len() - 10 <= usize::from(u16::MAX)
}

fn write_dim_dict(out: &mut String, d: &DimDict) {
    match d {
        DimDict::Block { size, proc_grid_size, proc_grid_rank, start, stop, padding, periodic } => {
            let _ = write!(
                out,
                "{{'dist_type': 'b', 'size': {size}, 'proc_grid_rank': {proc_grid_rank}, 'proc_grid_size': {proc_grid_size}, 'start': {start}, 'stop': {stop}"
            );
            if *padding != (0, 0) {
                let _ = write!(out, ", 'padding': ({}, {})", padding.0, padding.1);
            }
            if *periodic {
                out.push_str(", 'periodic': True");
            }
            out.push('}');
        }
        DimDict::BlockCyclic { size, proc_grid_size, proc_grid_rank, start, block_size } => {
            let _ = write!(
                out,
                "{{'dist_type': 'c', 'size': {size}, 'proc_grid_rank': {proc_grid_rank}, 'proc_grid_size': {proc_grid_size}, 'start': {start}, 'block_size': {block_size}}}"
            );
        }
        DimDict::Unstructured { size, proc_grid_size, proc_grid_rank, indices, one_to_one } => {
            let _ = write!(out, "{{'dist_type': 'u', 'size': {size}, 'proc_grid_rank': {proc_grid_rank}, 'proc_grid_size': {proc_grid_size}, 'indices': [");
            for (i, x) in indices.iter().enumerate() {
                let _ = write!(out, "{}{x}", if i > 0 { ", " } else { "" });
            }
            out.push(']');
            if *one_to_one {
                out.push_str(", 'one_to_one': True");
            }
            out.push('}');
        }
        DimDict::NoDist { size } => {
            let _ = write!(out, "{{'dist_type': 'b', 'size': {size}, 'proc_grid_rank': 0, 'proc_grid_size': 1, 'start': 0, 'stop': {size}}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn the_documented_example() {
        let d = DimDict::Block {
            size: 10,
            proc_grid_size: 2,
            proc_grid_rank: 0,
            start: 0,
            stop: 5,
            padding: (0, 0),
            periodic: false,
        };
        let bytes = header_bytes(std::slice::from_ref(&d));
        let text = "{'__version__': '0.10.0', 'dim_data': ({'dist_type': 'b', 'size': 10, 'proc_grid_rank': 0, 'proc_grid_size': 2, 'start': 0, 'stop': 5},), }";
        assert_eq!(&bytes[10..10 + text.len()], text.as_bytes());
        assert_eq!(bytes.len() % 16, 0);
        assert_eq!(*bytes.last().unwrap(), b'\n');
        let (dims, end) = read_header(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!((dims, end), (vec![Some(d)], bytes.len() as u64));
    }

    #[test]
    fn every_dim_dict_round_trips() {
        let dims = vec![
            DimDict::BlockCyclic { size: 9, proc_grid_size: 2, proc_grid_rank: 1, start: 2, block_size: 2 },
            DimDict::Unstructured {
                size: 5,
                proc_grid_size: 2,
                proc_grid_rank: 0,
                indices: vec![4, 0],
                one_to_one: true,
            },
            DimDict::Block {
                size: 4,
                proc_grid_size: 1,
                proc_grid_rank: 0,
                start: 0,
                stop: 4,
                padding: (1, 0),
                periodic: true,
            },
        ];
        let bytes = header_bytes(&dims);
        let (read, _) = read_header(&mut Cursor::new(&bytes), bytes.len() as u64).unwrap();
        assert_eq!(read, dims.into_iter().map(Some).collect::<Vec<_>>());
        let nodist = header_bytes(&[DimDict::NoDist { size: 3 }]);
        let (read, _) = read_header(&mut Cursor::new(&nodist), nodist.len() as u64).unwrap();
        assert_eq!(read[0].as_ref().map(DimDict::dist_type), Some('b'));
    }
}
