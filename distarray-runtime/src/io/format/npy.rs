//! The `.npy` format (numpy's `NEP 1`): header parsing and writing, and the
//! strided reads and writes by which each engine touches only its own part of
//! a file.
//!
//! The header is parsed here rather than by `ndarray-npy`: that crate reads
//! and writes whole arrays and keeps its header parser private, while engines
//! need the data offset, order and byte order to seek to their own elements,
//! and `.dnpy` headers need the same Python-literal parser anyway.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

use super::pyliteral::{self, Value};
use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{as_bytes, from_bytes, DType, Element};
use crate::core::error::err;

/// The 6 bytes every `.npy` file starts with.
pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// What a `.npy` header says about the data that follows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    /// The element type.
    pub dtype: DType,
    /// Whether the data's byte order is the opposite of this machine's.
    pub swap: bool,
    /// Fortran (column-major) order instead of C order.
    pub fortran: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Where the data starts, from the start of the file.
    pub data_offset: u64,
    /// The data's length in bytes (checked to fit in the file).
    pub data_len: u64,
}

/// Reads and checks a `.npy` header from `r`, which is positioned at byte
/// `start` of a file of `file_len` bytes. Checks every length against the file
/// before allocating, and that the data fits in the file.
pub(crate) fn read_header(r: &mut impl Read, start: u64, file_len: u64) -> Result<NpyHeader, String> {
    let mut prefix = [0u8; 8];
    read_exact(r, &mut prefix, "the .npy magic")?;
    if &prefix[..6] != MAGIC {
        return Err(format!(
            "not a .npy stream: wrong magic {:?} (expected \\x93NUMPY)",
            String::from_utf8_lossy(&prefix[..6])
        ));
    }
    let (hlen, prefix_len) = match (prefix[6], prefix[7]) {
        (1, 0) => {
            let mut b = [0u8; 2];
            read_exact(r, &mut b, "the header length")?;
            (u64::from(u16::from_le_bytes(b)), 10u64)
        }
        (2 | 3, 0) => {
            let mut b = [0u8; 4];
            read_exact(r, &mut b, "the header length")?;
            (u64::from(u32::from_le_bytes(b)), 12u64)
        }
        (major, minor) => return Err(format!("unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are known)")),
    };
    let header_end = start + prefix_len + hlen;
    if header_end > file_len {
        return Err(format!("header length {hlen} exceeds the file ({file_len} bytes)"));
    }
    let mut text = Side::Here
        .filled(hlen as usize, 0u8)
        .map_err(|e| format!("the {hlen} bytes of the header: {}", e.message()))?;
    read_exact(r, &mut text, "the header")?;
    let header = parse_header_text(&text)?;
    let (dtype, swap, fortran, shape) = header;
    let count = shape
        .iter()
        .try_fold(1u64, |n, &s| n.checked_mul(s as u64))
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    let data_len = count.checked_mul(dtype.itemsize() as u64).ok_or_else(|| format!("shape {shape:?} overflows"))?;
    if isize::try_from(data_len).is_err() {
        return Err(format!("shape {shape:?} is too large for this machine"));
    }
    let available = file_len - header_end;
    if data_len > available {
        return Err(format!(
            "truncated data: shape {shape:?} of {dtype} needs {data_len} bytes after the header, the file has {available}"
        ));
    }
    Ok(NpyHeader { dtype, swap, fortran, shape, data_offset: header_end, data_len })
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("truncated file: it ends inside {what}"),
        _ => format!("reading {what}: {e}"),
    })
}

/// The dict of a header: `(dtype, swap, fortran_order, shape)`.
pub(crate) fn parse_header_text(text: &[u8]) -> Result<(DType, bool, bool, Vec<usize>), String> {
    let dict = pyliteral::parse(text).map_err(|e| format!("malformed header: {e}"))?;
    let Value::Dict(items) = &dict else {
        return Err(format!("malformed header: {} instead of a dict", dict.kind()));
    };
    for (key, _) in items {
        match key {
            Value::Str(k) if matches!(k.as_str(), "descr" | "fortran_order" | "shape") => {}
            other => return Err(format!("malformed header: unexpected key {other:?}")),
        }
    }
    let descr = match dict.get("descr") {
        Some(Value::Str(s)) => s.as_str(),
        Some(other) => {
            return Err(format!("unsupported dtype: 'descr' is {} (structured arrays are not supported)", other.kind()))
        }
        None => return Err("malformed header: no 'descr'".into()),
    };
    let (dtype, swap) = parse_descr(descr)?;
    let fortran = match dict.get("fortran_order") {
        Some(Value::Bool(b)) => *b,
        _ => return Err("malformed header: 'fortran_order' must be True or False".into()),
    };
    let shape = match dict.get("shape") {
        Some(v) => int_tuple(v).map_err(|e| format!("malformed header: 'shape' {e}"))?,
        None => return Err("malformed header: no 'shape'".into()),
    };
    Ok((dtype, swap, fortran, shape))
}

/// A tuple of non-negative integers that fit in `usize`.
pub(crate) fn int_tuple(v: &Value) -> Result<Vec<usize>, String> {
    match v {
        Value::Seq(items) => items.iter().map(uint).collect(),
        other => Err(format!("must be a tuple of integers, not {}", other.kind())),
    }
}

/// A non-negative integer that fits in `usize`.
pub(crate) fn uint(v: &Value) -> Result<usize, String> {
    match v {
        Value::Int(i) => usize::try_from(*i).map_err(|_| format!("{i} is negative or too large")),
        other => Err(format!("must be an integer, not {}", other.kind())),
    }
}

/// The dtype and whether to swap bytes for a numpy type string (`'<f8'`).
pub(crate) fn parse_descr(descr: &str) -> Result<(DType, bool), String> {
    let (order, code) = match descr.as_bytes().first() {
        Some(c @ (b'<' | b'>' | b'|' | b'=')) => (*c, &descr[1..]),
        _ => (b'=', descr),
    };
    let dtype = match code {
        "b1" | "?" => DType::Bool,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "c8" => DType::C64,
        "c16" => DType::C128,
        _ => return Err(format!("unsupported dtype {descr:?}")),
    };
    let little = cfg!(target_endian = "little");
    let swap = dtype.itemsize() > 1 && ((order == b'<' && !little) || (order == b'>' && little));
    Ok((dtype, swap))
}

/// numpy's type string for `dtype` in this machine's byte order.
pub(crate) fn descr(dtype: DType) -> String {
    let order = if dtype.itemsize() == 1 {
        '|'
    } else if cfg!(target_endian = "little") {
        '<'
    } else {
        '>'
    };
    let code = match dtype {
        DType::Bool => "b1",
        DType::I8 => "i1",
        DType::I16 => "i2",
        DType::I32 => "i4",
        DType::I64 => "i8",
        DType::U8 => "u1",
        DType::U16 => "u2",
        DType::U32 => "u4",
        DType::U64 => "u8",
        DType::F32 => "f4",
        DType::F64 => "f8",
        DType::C64 => "c8",
        DType::C128 => "c16",
    };
    format!("{order}{code}")
}

/// A complete `.npy` header (version 1.0, or 2.0 for huge headers) for a
/// C-order array of `dtype` in native byte order, padded so the data starts
/// on a multiple of 64 bytes.
pub(crate) fn header_bytes(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let mut dict = String::from("{'descr': ");
    pyliteral::write_str(&mut dict, &descr(dtype));
    dict.push_str(", 'fortran_order': False, 'shape': ");
    pyliteral::write_int_tuple(&mut dict, shape);
    dict.push_str(", }");
    let (version, prefix_len) = if dict.len() + 1 + 10 <= usize::from(u16::MAX) { (1u8, 10) } else { (2u8, 12) };
    let total = (prefix_len + dict.len() + 1).div_ceil(64) * 64;
    let hlen = total - prefix_len;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Elements from file bytes, swapping each number's bytes when `swap` (each
/// half of a complex separately); checks bool bytes.
pub(crate) fn decode<T: Element>(bytes: &mut [u8], swap: bool) -> Result<Vec<T>, String> {
    if swap {
        let width = match T::DTYPE {
            DType::C64 | DType::C128 => T::DTYPE.itemsize() / 2,
            d => d.itemsize(),
        };
        bytes.chunks_exact_mut(width).for_each(<[u8]>::reverse);
    }
    from_bytes::<T>(bytes, Side::Engine).map_err(|e| e.message().to_string())
}

/// The most bytes read from a file at once: element data is read in chunks
/// into its (checked) destination, never through a second buffer as large.
const CHUNK_BYTES: usize = 1 << 20;

/// Calls `f` with the decoded elements of `len` consecutive elements of the
/// data of `header` in `file`, starting at element `first`, in chunks of at
/// most [`CHUNK_BYTES`].
fn read_run<T: Element>(
    file: &File,
    header: &NpyHeader,
    first: u64,
    len: usize,
    mut f: impl FnMut(usize, Vec<T>),
) -> crate::core::error::Result<()> {
    let itemsize = T::DTYPE.itemsize();
    let chunk = (CHUNK_BYTES / itemsize).max(1);
    let mut bytes = Vec::new();
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk);
        bytes.resize(n * itemsize, 0);
        let offset = header.data_offset + (first + done as u64) * itemsize as u64;
        file.read_exact_at(&mut bytes, offset)
            .map_err(|e| err!(Format, "reading {} bytes at offset {offset}: {e}", bytes.len()))?;
        f(done, decode::<T>(&mut bytes, header.swap).map_err(|e| err!(Format, "{e}"))?);
        done += n;
    }
    Ok(())
}

/// Reads the elements of the piece `indices` (C order) from the data of
/// `header` in `file`, into a checked allocation.
///
/// # Errors
/// `OutOfMemory` if the engine cannot hold the piece; `Format` if reading
/// fails or a bool byte is invalid.
pub(crate) fn read_piece<T: Element>(
    file: &File,
    header: &NpyHeader,
    indices: &[Vec<usize>],
) -> crate::core::error::Result<Vec<T>> {
    let n = indices
        .iter()
        .try_fold(1usize, |n, ix| n.checked_mul(ix.len()))
        .ok_or_else(|| err!(InvalidShape, "a piece of shape {:?} overflows", header.shape))?;
    let mut out = Side::Engine.filled(n, T::default())?;
    for_each_run(&header.shape, header.fortran, indices, |run| {
        read_run::<T>(file, header, run.file, run.len, |from, values| {
            for (k, v) in values.into_iter().enumerate() {
                out[run.local + (from + k) * run.step] = v;
            }
        })
    })?;
    Ok(out)
}

/// Reads all the elements of `header` in `file`, in the file's order (C, or
/// Fortran when `header.fortran`), into a checked allocation.
///
/// # Errors
/// As [`read_piece`].
pub(crate) fn read_all<T: Element>(file: &File, header: &NpyHeader) -> crate::core::error::Result<Vec<T>> {
    let n = size_of_shape(&header.shape)?;
    let mut out = Side::Engine.vec(n)?;
    read_run::<T>(file, header, 0, n, |_, values| out.extend(values))?;
    Ok(out)
}

/// One run of elements that are consecutive in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The first element's index in the file's data (in elements).
    pub file: u64,
    /// The first element's index in the local piece, in C order.
    pub local: usize,
    /// The distance between the run's elements in the local piece.
    pub step: usize,
    /// The number of elements.
    pub len: usize,
}

/// Calls `f` for each run of the piece holding global indices `indices` (one
/// list per axis, in local order) of an array of `shape` stored in C order
/// (or Fortran order when `fortran`).
pub(crate) fn for_each_run<E>(
    shape: &[usize],
    fortran: bool,
    indices: &[Vec<usize>],
    mut f: impl FnMut(Run) -> Result<(), E>,
) -> Result<(), E> {
    let ndim = indices.len();
    if ndim == 0 {
        return f(Run { file: 0, local: 0, step: 1, len: 1 });
    }
    if indices.iter().any(Vec::is_empty) {
        return Ok(());
    }
    let mut file_strides = vec![1u64; ndim];
    if fortran {
        for axis in 1..ndim {
            file_strides[axis] = file_strides[axis - 1] * shape[axis - 1] as u64;
        }
    } else {
        for axis in (0..ndim - 1).rev() {
            file_strides[axis] = file_strides[axis + 1] * shape[axis + 1] as u64;
        }
    }
    let mut local_strides = vec![1usize; ndim];
    for axis in (0..ndim - 1).rev() {
        local_strides[axis] = local_strides[axis + 1] * indices[axis + 1].len();
    }
    let c = if fortran { 0 } else { ndim - 1 };
    // Runs of consecutive global indices along the contiguous axis.
    let mut segments: Vec<(usize, usize, usize)> = Vec::new();
    for (l, &g) in indices[c].iter().enumerate() {
        match segments.last_mut() {
            Some((_, g0, len)) if *g0 + *len == g => *len += 1,
            _ => segments.push((l, g, 1)),
        }
    }
    let others: Vec<usize> = (0..ndim).filter(|&a| a != c).collect();
    let mut pos = vec![0usize; ndim];
    loop {
        let base_file: u64 = others.iter().map(|&a| indices[a][pos[a]] as u64 * file_strides[a]).sum();
        let base_local: usize = others.iter().map(|&a| pos[a] * local_strides[a]).sum();
        for &(l, g, len) in &segments {
            f(Run {
                file: base_file + g as u64 * file_strides[c],
                local: base_local + l * local_strides[c],
                step: local_strides[c],
                len,
            })?;
        }
        // The next position over the other axes (last fastest).
        let mut k = others.len();
        loop {
            if k == 0 {
                return Ok(());
            }
            k -= 1;
            let a = others[k];
            pos[a] += 1;
            if pos[a] < indices[a].len() {
                break;
            }
            pos[a] = 0;
        }
    }
}

/// Writes the piece `indices` of a C-order array of `shape` whose data starts
/// at `data_offset`; `values` are the piece's elements in C order.
pub(crate) fn write_piece<T: Element>(
    file: &File,
    data_offset: u64,
    shape: &[usize],
    indices: &[Vec<usize>],
    values: &[T],
) -> std::io::Result<()> {
    let itemsize = T::DTYPE.itemsize();
    let chunk = (CHUNK_BYTES / itemsize).max(1);
    let mut run_values = Vec::new();
    for_each_run(shape, false, indices, |run| {
        let offset = data_offset + run.file * itemsize as u64;
        if run.step == 1 {
            return file.write_all_at(as_bytes(&values[run.local..run.local + run.len]), offset);
        }
        // Strided runs go through a buffer of at most CHUNK_BYTES.
        let mut done = 0;
        while done < run.len {
            let n = (run.len - done).min(chunk);
            run_values.clear();
            run_values.extend((done..done + n).map(|k| values[run.local + k * run.step]));
            file.write_all_at(as_bytes(&run_values), offset + (done * itemsize) as u64)?;
            done += n;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn header_round_trip() {
        for shape in [vec![], vec![3], vec![2, 3, 4]] {
            let bytes = header_bytes(DType::C128, &shape);
            assert_eq!(bytes.len() % 64, 0);
            let data = shape.iter().product::<usize>() as u64 * 16;
            let h = read_header(&mut Cursor::new(&bytes), 0, bytes.len() as u64 + data).unwrap();
            assert_eq!((h.dtype, h.swap, h.fortran, h.shape), (DType::C128, false, false, shape));
            assert_eq!(h.data_offset, bytes.len() as u64);
        }
    }

    #[test]
    fn runs_in_both_orders() {
        // A 3x4 array; the piece holds rows 1..3 and columns [0, 1, 3].
        let indices = vec![vec![1, 2], vec![0, 1, 3]];
        let mut c = Vec::new();
        for_each_run(&[3, 4], false, &indices, |r| {
            c.push(r);
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(c[0], Run { file: 4, local: 0, step: 1, len: 2 });
        assert_eq!(c[1], Run { file: 7, local: 2, step: 1, len: 1 });
        assert_eq!(c.len(), 4);
        let mut f = Vec::new();
        for_each_run(&[3, 4], true, &indices, |r| {
            f.push(r);
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(f[0], Run { file: 1, local: 0, step: 3, len: 2 });
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn swaps_complex_halves() {
        let mut bytes = vec![0x3f, 0x80, 0, 0, 0x40, 0, 0, 0];
        let v = decode::<num_complex::Complex<f32>>(&mut bytes, cfg!(target_endian = "little")).unwrap();
        assert_eq!(v, vec![num_complex::Complex::new(1.0, 2.0)]);
    }
}
