//! The engine side of HDF5 files: the save and load kernels, selections of
//! hyperslabs, and the collective (MPI-IO) and in-turn (thread engines)
//! transfers. See the parent module for the design.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ::hdf5::types::{H5Type, TypeDescriptor};
use ::hdf5::{Dataset, Dataspace, Datatype, File, FileBuilder};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::H5P_DEFAULT;
use ndarray::{ArrayD, Axis, IxDyn};
use serde::{Deserialize, Serialize};

use crate::core::alloc::Side;
use crate::core::element::{as_bytes, from_bytes, with_dtype, DType, Element};
use crate::core::error::{bail, err, Error, ErrorKind, Result};
use crate::engine::comm::{Collectives, Comm};
use crate::engine::kernel::{output_array, output_unit, register_internal, InternalKernel, KernelInputs, KernelOutput};
use crate::engine::local::LocalArray;
use crate::io::format::{format_error, io_error};
use crate::layout::{piece, Layout};

/// How `save_hdf5` treats an existing file, as h5py's `mode`.
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Hdf5Mode {
    /// `'w'`: create the file, truncating an existing one.
    #[default]
    Write,
    /// `'a'`: open the file (creating it if missing) and add the dataset.
    Append,
}

impl TryFrom<char> for Hdf5Mode {
    type Error = Error;

    /// `'w'` or `'a'`.
    ///
    /// # Errors
    /// `InvalidArgument` for any other letter.
    fn try_from(mode: char) -> Result<Self> {
        match mode {
            'w' => Ok(Hdf5Mode::Write),
            'a' => Ok(Hdf5Mode::Append),
            other => bail!(InvalidArgument, "unknown HDF5 file mode {other:?} (expected 'w' or 'a')"),
        }
    }
}

/// The argument of the HDF5 kernels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Args {
    pub(crate) path: String,
    pub(crate) key: String,
    pub(crate) mode: Hdf5Mode,
    pub(crate) overwrite: bool,
}

/// Every sequence of HDF5 calls of this process holds this lock: HDF5 is not
/// thread-safe, and thread engines must take turns on a file.
static HDF5_LOCK: Mutex<()> = Mutex::new(());

pub(crate) fn lock() -> MutexGuard<'static, ()> {
    HDF5_LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A dataset written into an HDF5 file, each engine its piece.
pub(crate) const SAVE_HDF5: InternalKernel = InternalKernel::new("distarray::io::save_hdf5");
/// Each engine's piece read from a dataset.
pub(crate) const LOAD_HDF5: InternalKernel = InternalKernel::new("distarray::io::load_hdf5");

register_internal!(SAVE_HDF5, save_kernel);
register_internal!(LOAD_HDF5, load_kernel);

/// The HDF5 type of `dtype`, as h5py writes it.
fn descriptor(dtype: DType) -> TypeDescriptor {
    with_dtype!(dtype, T => <T as H5Type>::type_descriptor())
}

/// An HDF5 library error as a message.
fn h5(path: &str, what: &str, e: ::hdf5::Error) -> Error {
    err!(Io, "{path}: {what}: {e}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    Read,
    ReadWrite,
    Create,
}

/// Opens or creates `path` in this process alone.
pub(crate) fn open(path: &str, how: Open) -> Result<File> {
    open_with(&File::with_options(), path, how)
}

/// Opens or creates `path` through MPI-IO over `comm` (collective: every
/// member must call it with the same arguments).
#[cfg(feature = "mpi")]
fn open_mpio(path: &str, comm: mpi::ffi::MPI_Comm, how: Open) -> Result<File> {
    let mut builder = File::with_options();
    builder.with_fapl(move |p| p.mpio(comm, None));
    open_with(&builder, path, how)
}

fn open_with(builder: &FileBuilder, path: &str, how: Open) -> Result<File> {
    if how != Open::Create {
        // The OS's word on a missing or unreadable file, and a clear one on
        // a file that is not HDF5.
        std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        if !is_hdf5(path) {
            bail!(Format, "{path}: not an HDF5 file");
        }
    }
    let opened = match how {
        Open::Read => builder.open(path),
        Open::ReadWrite => builder.open_rw(path),
        Open::Create => builder.create(path),
    };
    opened.map_err(|e| h5(path, if how == Open::Create { "cannot create the file" } else { "cannot open the file" }, e))
}

/// Whether `path` starts with an HDF5 signature (H5Fis_hdf5).
fn is_hdf5(path: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(path) else { return false };
    // SAFETY: a valid NUL-terminated string; the call only reads the file.
    ::hdf5::sync::sync(|| unsafe { hdf5_sys::h5f::H5Fis_hdf5(name.as_ptr()) } > 0)
}

fn open_dataset(file: &File, path: &str, key: &str) -> Result<Dataset> {
    if !file.link_exists(key) {
        let names = file.member_names().unwrap_or_default();
        bail!(KeyNotFound, "{path}: no dataset {key:?} (the file holds {names:?})");
    }
    file.dataset(key).map_err(|e| err!(Format, "{path}: {key:?} is not a dataset: {e}"))
}

/// Dataset `key` of `file`, checked to hold `dtype` elements of `shape`.
pub(crate) fn checked_dataset(file: &File, path: &str, key: &str, dtype: DType, shape: &[usize]) -> Result<Dataset> {
    let dataset = open_dataset(file, path, key)?;
    let found = dataset
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| err!(DTypeMismatch, "{path}: dataset {key:?} has an HDF5 type distarray does not know: {e}"))?;
    if found != descriptor(dtype) {
        match DType::ALL.iter().find(|&&d| descriptor(d) == found) {
            Some(d) => bail!(DTypeMismatch, "{path}: dataset {key:?} holds {d}, not {dtype}"),
            None => bail!(DTypeMismatch, "{path}: dataset {key:?} holds the HDF5 type {found:?}, not {dtype}"),
        }
    }
    let found = dataset.shape();
    if found != shape {
        bail!(InvalidShape, "{path}: dataset {key:?} has shape {found:?}, the distribution has shape {shape:?}");
    }
    Ok(dataset)
}

/// Makes dataset `key` of `dtype` and `shape` in `file`, replacing an
/// existing one only when `overwrite`. Collective under MPI-IO.
fn create_dataset(file: &File, args: &Args, dtype: DType, shape: &[usize]) -> Result<Dataset> {
    let (path, key) = (&args.path, &args.key);
    if file.link_exists(key) {
        if !args.overwrite {
            bail!(Io, "{path}: dataset {key:?} exists (replace it with Hdf5Options::overwrite(true))");
        }
        file.unlink(key).map_err(|e| h5(path, &format!("cannot remove dataset {key:?}"), e))?;
    }
    file.new_dataset_builder()
        .empty_as(descriptor(dtype))
        .shape(shape.to_vec())
        .create(key.as_str())
        .map_err(|e| h5(path, &format!("cannot create dataset {key:?}"), e))
}

/// One hyperslab: `count` blocks of `block` elements, `stride` apart, from
/// `start`, per axis.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slab {
    start: Vec<u64>,
    stride: Vec<u64>,
    count: Vec<u64>,
    block: Vec<u64>,
}

/// An engine's elements as a union of hyperslabs, and how its local order
/// maps to the file's (row-major) order.
struct Selection {
    slabs: Vec<Slab>,
    /// Per axis, the local positions in increasing global index order.
    order: Vec<Vec<usize>>,
    /// The local shape.
    shape: Vec<usize>,
}

/// One axis's regular patterns of runs: `(start, stride, count, block)`.
fn axis_patterns(sorted: &[usize]) -> Vec<(u64, u64, u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &g in sorted {
        match runs.last_mut() {
            Some((s, l)) if *s + *l == g as u64 => *l += 1,
            _ => runs.push((g as u64, 1)),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let (s, l) = runs[i];
        let mut count = 1;
        let mut stride = 1;
        if i + 1 < runs.len() && runs[i + 1].1 == l {
            stride = runs[i + 1].0 - s;
            count = 2;
            while i + count < runs.len()
                && runs[i + count].1 == l
                && runs[i + count].0 - runs[i + count - 1].0 == stride
            {
                count += 1;
            }
        }
        out.push((s, stride, count as u64, l));
        i += count;
    }
    out
}

impl Selection {
    /// The selection of the piece holding global `indices` (per axis, in
    /// local order).
    /// (Checked allocations: `Err(OutOfMemory)` for a piece too big for the
    /// engine.)
    fn new(indices: &[Vec<usize>], shape: &[usize]) -> Result<Self> {
        let order: Vec<Vec<usize>> = indices
            .iter()
            .map(|ix| {
                let mut o: Vec<usize> = Side::Engine.collect(ix.len(), 0..ix.len())?;
                o.sort_by_key(|&l| ix[l]);
                Ok(o)
            })
            .collect::<Result<_>>()?;
        let mut slabs = Vec::new();
        if !shape.contains(&0) && !indices.is_empty() {
            let patterns: Vec<Vec<(u64, u64, u64, u64)>> = indices
                .iter()
                .zip(&order)
                .map(|(ix, o)| Ok(axis_patterns(&Side::Engine.collect(o.len(), o.iter().map(|&l| ix[l]))?)))
                .collect::<Result<_>>()?;
            let mut pos = vec![0usize; patterns.len()];
            'all: loop {
                let pick: Vec<_> = pos.iter().zip(&patterns).map(|(&p, ps)| ps[p]).collect();
                slabs.push(Slab {
                    start: pick.iter().map(|p| p.0).collect(),
                    stride: pick.iter().map(|p| p.1).collect(),
                    count: pick.iter().map(|p| p.2).collect(),
                    block: pick.iter().map(|p| p.3).collect(),
                });
                let mut a = pos.len();
                loop {
                    if a == 0 {
                        break 'all;
                    }
                    a -= 1;
                    pos[a] += 1;
                    if pos[a] < patterns[a].len() {
                        break;
                    }
                    pos[a] = 0;
                }
            }
        }
        Ok(Selection { slabs, order, shape: shape.to_vec() })
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The local values in the file's order (checked allocations).
    fn to_file_order<T: Element>(&self, local: &ArrayD<T>) -> Result<Vec<T>> {
        let mut a = Side::Engine.clone_array(local)?;
        for (axis, o) in self.order.iter().enumerate() {
            if o.iter().enumerate().any(|(i, &l)| i != l) {
                // `select` copies into a buffer of its own: check that one fits first.
                drop(Side::Engine.vec::<T>(a.len())?);
                a = a.select(Axis(axis), o);
            }
        }
        Side::Engine.collect(a.len(), a.iter().copied())
    }

    /// The local array from values in the file's order.
    fn to_local_order<T: Element>(&self, values: Vec<T>) -> Result<ArrayD<T>> {
        let mut a = ArrayD::from_shape_vec(IxDyn(&self.shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
        for (axis, o) in self.order.iter().enumerate() {
            if o.iter().enumerate().any(|(i, &l)| i != l) {
                let mut inverse = Side::Engine.filled(o.len(), 0)?;
                for (s, &l) in o.iter().enumerate() {
                    inverse[l] = s;
                }
                drop(Side::Engine.vec::<T>(a.len())?);
                a = a.select(Axis(axis), &inverse);
            }
        }
        Ok(a)
    }
}

/// The buffer of a [`transfer`]: the selection's elements in file order, in
/// the native layout of their dtype.
enum Buf<'a> {
    /// Written to the file.
    Write(&'a [u8]),
    /// Read from the file.
    Read(&'a mut [u8]),
}

/// Writes or reads this engine's elements of `dataset` from or into `buf`,
/// with transfer properties `dxpl` (`H5P_DEFAULT`: this process alone).
fn transfer(dataset: &Dataset, selection: &Selection, dtype: DType, buf: Buf<'_>, dxpl: hid_t) -> ::hdf5::Result<()> {
    use hdf5_sys::h5d::{H5Dread, H5Dwrite};
    use hdf5_sys::h5s::{H5S_seloper_t, H5Sselect_all, H5Sselect_hyperslab, H5Sselect_none};

    let n = selection.len();
    let (ptr, len, write) = match buf {
        Buf::Write(b) => (b.as_ptr().cast_mut(), b.len(), true),
        Buf::Read(b) => (b.as_mut_ptr(), b.len(), false),
    };
    assert_eq!(len, n * dtype.itemsize(), "the transfer buffer holds the selection");
    let mem_type = Datatype::from_descriptor(&descriptor(dtype))?;
    let file_space = dataset.space()?;
    let mem_space = Dataspace::try_new(n.max(1))?;
    // A one-byte stand-in when there is nothing to move: HDF5 wants a buffer.
    let mut dummy = vec![0u8; dtype.itemsize()];
    let ptr = if n == 0 { dummy.as_mut_ptr() } else { ptr };
    ::hdf5::sync::sync(|| {
        // SAFETY: every id is open for the duration of the call; `ptr` points
        // to `n` (or, when `n` is 0, one) elements of `dtype` in native layout,
        // which is what `mem_type` describes, and HDF5 touches only the
        // selected `n`; it writes through `ptr` only when reading, from a
        // `Buf::Read`'s exclusive borrow.
        unsafe {
            let fs = file_space.id();
            if dataset.ndim() == 0 {
                ::hdf5::h5check(H5Sselect_all(fs))?;
            } else if selection.slabs.is_empty() {
                ::hdf5::h5check(H5Sselect_none(fs))?;
            }
            for (i, s) in selection.slabs.iter().enumerate() {
                let op = if i == 0 { H5S_seloper_t::H5S_SELECT_SET } else { H5S_seloper_t::H5S_SELECT_OR };
                ::hdf5::h5check(H5Sselect_hyperslab(
                    fs,
                    op,
                    s.start.as_ptr(),
                    s.stride.as_ptr(),
                    s.count.as_ptr(),
                    s.block.as_ptr(),
                ))?;
            }
            if n == 0 {
                ::hdf5::h5check(H5Sselect_none(mem_space.id()))?;
            }
            let status = if write {
                H5Dwrite(dataset.id(), mem_type.id(), mem_space.id(), fs, dxpl, ptr.cast_const().cast())
            } else {
                H5Dread(dataset.id(), mem_type.id(), mem_space.id(), fs, dxpl, ptr.cast())
            };
            ::hdf5::h5check(status).map(drop)
        }
    })
}

/// [`transfer`] as one collective MPI-IO call: every member of the file must
/// call it, with or without elements.
#[cfg(feature = "mpi")]
fn transfer_collective(dataset: &Dataset, selection: &Selection, dtype: DType, buf: Buf<'_>) -> ::hdf5::Result<()> {
    use hdf5_sys::h5p::{H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio};
    // The library's lock is recursive: `transfer` takes it again.
    ::hdf5::sync::sync(|| {
        // SAFETY: `dxpl` is a property list this call creates and closes.
        unsafe {
            let dxpl = ::hdf5::h5check(H5Pcreate(*::hdf5::globals::H5P_DATASET_XFER))?;
            let result = ::hdf5::h5check(H5Pset_dxpl_mpio(dxpl, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE))
                .and_then(|_| transfer(dataset, selection, dtype, buf, dxpl));
            H5Pclose(dxpl);
            result
        }
    })
}

/// Every member's agreement on `result`: `Ok` only if it is `Ok` on every
/// member, else the first member's error (this member's own if it failed).
fn agree<X>(comm: &dyn Comm, result: Result<X>) -> Result<X> {
    let mine = result.as_ref().err().cloned();
    let all = comm.all_gather(&mine)?;
    match result {
        Err(e) => Err(e),
        Ok(x) => match all.into_iter().flatten().next() {
            Some(e) => Err(e),
            None => Ok(x),
        },
    }
}

/// Under MPI, a selection of many small pieces (cyclic and unstructured
/// axes) makes MPI-IO slow (seconds for what takes milliseconds as one
/// block). The engines then first exchange their elements so that each holds
/// one contiguous block of rows (axis 0) in file order, and transfer that.
/// This is the plan of that exchange, the same on every engine.
#[cfg(feature = "mpi")]
struct Rows {
    /// The rows `[start, end)` of each engine's block.
    blocks: Vec<(usize, usize)>,
    /// Elements per row of the global array.
    row_len: usize,
}

#[cfg(feature = "mpi")]
impl Rows {
    /// The plan for `layout` over `size` engines, or `None` when every
    /// engine's selection is already one block (the direct transfer is fast).
    fn plan(layout: &Layout, size: usize) -> Result<Option<Rows>> {
        let mut fragmented = false;
        for r in 0..size {
            let p = piece(layout, r)?;
            let s = Selection::new(&p.indices, &p.shape)?;
            fragmented |= s.slabs.len() > 1 || s.slabs.iter().any(|slab| slab.count.iter().any(|&c| c > 1));
        }
        let shape: Vec<usize> = layout.maps.iter().map(crate::layout::MapBase::size).collect();
        if !fragmented || shape.is_empty() {
            return Ok(None);
        }
        let chunk = shape[0].div_ceil(size).max(1);
        let blocks = (0..size).map(|q| ((q * chunk).min(shape[0]), ((q + 1) * chunk).min(shape[0]))).collect();
        Ok(Some(Rows { blocks, row_len: shape[1..].iter().product() }))
    }

    /// The selection of engine `q`'s block.
    fn selection(&self, q: usize, global_shape: &[usize]) -> Selection {
        let (start, end) = self.blocks[q];
        let mut shape = global_shape.to_vec();
        shape[0] = end - start;
        let mut slabs = Vec::new();
        if !shape.contains(&0) {
            let mut first = vec![0u64; shape.len()];
            first[0] = start as u64;
            slabs.push(Slab {
                start: first,
                stride: vec![1; shape.len()],
                count: vec![1; shape.len()],
                block: shape.iter().map(|&n| n as u64).collect(),
            });
        }
        Selection { slabs, order: Vec::new(), shape }
    }

    /// Calls `f(offset in the piece's file-ordered elements, offset in block
    /// q's elements)` for every element of engine `p`'s piece `indices` that
    /// lies in the block of engine `q`, in file order.
    fn for_each_shared(
        &self,
        indices: &[Vec<usize>],
        global_shape: &[usize],
        q: usize,
        mut f: impl FnMut(usize, usize),
    ) {
        let (start, end) = self.blocks[q];
        if indices.iter().any(Vec::is_empty) {
            return;
        }
        let sorted: Vec<Vec<usize>> = indices
            .iter()
            .map(|ix| {
                let mut v = ix.clone();
                v.sort_unstable();
                v
            })
            .collect();
        let first = sorted[0].partition_point(|&g| g < start);
        let last = sorted[0].partition_point(|&g| g < end);
        let ndim = sorted.len();
        let mut strides = vec![1usize; ndim];
        for a in (0..ndim - 1).rev() {
            strides[a] = strides[a + 1] * global_shape[a + 1];
        }
        let inner: usize = sorted[1..].iter().map(Vec::len).product();
        let mut piece_at = first * inner;
        let mut pos = vec![0usize; ndim];
        for &g0 in &sorted[0][first..last] {
            let row = (g0 - start) * strides[0];
            // `pos` is back to all zeros after each row's odometer wraps.
            for _ in 0..inner {
                let at: usize = row + (1..ndim).map(|a| sorted[a][pos[a]] * strides[a]).sum::<usize>();
                f(piece_at, at);
                piece_at += 1;
                let mut a = ndim;
                while a > 1 {
                    a -= 1;
                    pos[a] += 1;
                    if pos[a] < sorted[a].len() {
                        break;
                    }
                    pos[a] = 0;
                }
            }
        }
    }

    /// Engine `me`'s block, in file order, from every engine's file-ordered
    /// piece (`bytes`, elements of `itemsize` bytes).
    fn gather(&self, comm: &dyn Comm, layout: &Layout, bytes: &[u8], itemsize: usize) -> Result<Vec<u8>> {
        let me = comm.rank();
        // A member that fails here still takes part in the exchange (sending
        // nothing), then fails: the others must not wait in it.
        let mine = piece(layout, me);
        let send = match &mine {
            Ok(mine) => (0..comm.size())
                .map(|q| {
                    let mut out = Vec::new();
                    self.for_each_shared(&mine.indices, &mine.global_shape, q, |i, _| {
                        out.extend_from_slice(&bytes[i * itemsize..(i + 1) * itemsize])
                    });
                    out
                })
                .collect(),
            Err(_) => vec![Vec::new(); comm.size()],
        };
        let received = comm.all_to_all_bytes(send)?;
        mine?;
        let (start, end) = self.blocks[me];
        let mut block =
            Side::Engine.filled((end - start).saturating_mul(self.row_len).saturating_mul(itemsize), 0u8)?;
        for (p, got) in received.iter().enumerate() {
            let theirs = piece(layout, p)?;
            let mut k = 0;
            self.for_each_shared(&theirs.indices, &theirs.global_shape, me, |_, at| {
                block[at * itemsize..(at + 1) * itemsize].copy_from_slice(&got[k * itemsize..(k + 1) * itemsize]);
                k += 1;
            });
            if k * itemsize != got.len() {
                bail!(Protocol, "engine {p} sent {} bytes of HDF5 data, {} were expected", got.len(), k * itemsize);
            }
        }
        Ok(block)
    }

    /// The inverse of [`Rows::gather`]: engine `me`'s file-ordered piece
    /// from every engine's block.
    fn scatter(&self, comm: &dyn Comm, layout: &Layout, block: &[u8], itemsize: usize) -> Result<Vec<u8>> {
        let me = comm.rank();
        // As in `gather`, a failure waits for the end of the exchange.
        let send = (0..comm.size())
            .map(|p| {
                let theirs = piece(layout, p)?;
                let mut out = Vec::new();
                self.for_each_shared(&theirs.indices, &theirs.global_shape, me, |_, at| {
                    out.extend_from_slice(&block[at * itemsize..(at + 1) * itemsize])
                });
                Ok(out)
            })
            .collect::<Result<Vec<_>>>();
        let (send, failed) = match send {
            Ok(send) => (send, None),
            Err(e) => (vec![Vec::new(); comm.size()], Some(e)),
        };
        let received = comm.all_to_all_bytes(send)?;
        if let Some(e) = failed {
            return Err(e);
        }
        let mine = piece(layout, me)?;
        let mut bytes =
            Side::Engine.filled(crate::core::alloc::size_of_shape(&mine.shape)?.saturating_mul(itemsize), 0u8)?;
        for (q, got) in received.iter().enumerate() {
            let mut k = 0;
            self.for_each_shared(&mine.indices, &mine.global_shape, q, |i, _| {
                bytes[i * itemsize..(i + 1) * itemsize].copy_from_slice(&got[k * itemsize..(k + 1) * itemsize]);
                k += 1;
            });
            if k * itemsize != got.len() {
                bail!(Protocol, "engine {q} sent {} bytes of HDF5 data, {} were expected", got.len(), k * itemsize);
            }
        }
        Ok(bytes)
    }
}

fn layout<'a>(inputs: &KernelInputs<'a>) -> Result<&'a Layout> {
    inputs.index_layout().ok_or_else(|| err!(Protocol, "a file kernel was called without a layout"))
}

fn save_kernel<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let layout = layout(inputs)?;
    let (args, mut arrays, engine) = inputs.split();
    let args: Args = args.decode()?;
    let local = arrays.next_ref::<T>("a")?;
    let comm = engine.comm();
    // Every member learns whether every other could prepare its part (a
    // piece too big to copy is `OutOfMemory`) before any collective HDF5 call.
    let prepared = piece(layout, engine.rank()).and_then(|piece| {
        let selection = Selection::new(&piece.indices, &piece.shape)?;
        let values = selection.to_file_order(local.ndarray())?;
        Ok((piece, selection, values))
    });
    let (piece, selection, values) = agree(comm, prepared.map_err(|e| e.context(&args.path)))?;
    let bytes = as_bytes(&values);
    let shape = &piece.global_shape;
    #[cfg(feature = "mpi")]
    match comm.raw_mpi_comm() {
        Some(raw) => save_mpio::<T>(comm, raw, layout, &args, shape, &selection, bytes)?,
        None => save_in_turn::<T>(comm, &args, shape, &selection, bytes)?,
    }
    #[cfg(not(feature = "mpi"))]
    save_in_turn::<T>(comm, &args, shape, &selection, bytes)?;
    output_unit(())
}

/// Thread engines: engine 0 makes the file and dataset, then each engine
/// writes its part in turn (the lock).
fn save_in_turn<T: Element>(
    comm: &dyn Comm,
    args: &Args,
    shape: &[usize],
    selection: &Selection,
    bytes: &[u8],
) -> Result<()> {
    let made = if comm.rank() == 0 {
        let _lock = lock();
        (|| {
            let exists = args.mode == Hdf5Mode::Append && Path::new(&args.path).exists();
            let file = open(&args.path, if exists { Open::ReadWrite } else { Open::Create })?;
            drop(create_dataset(&file, args, T::DTYPE, shape)?);
            file.close().map_err(|e| h5(&args.path, "cannot close", e))
        })()
    } else {
        Ok(())
    };
    agree(comm, made)?;
    let written = {
        let _lock = lock();
        (|| {
            let file = open(&args.path, Open::ReadWrite)?;
            let dataset = open_dataset(&file, &args.path, &args.key)?;
            transfer(&dataset, selection, T::DTYPE, Buf::Write(bytes), H5P_DEFAULT)
                .map_err(|e| h5(&args.path, "cannot write", e))?;
            drop(dataset);
            file.close().map_err(|e| h5(&args.path, "cannot close", e))
        })()
    };
    agree(comm, written)
}

/// MPI ranks: every step is collective, and every member learns every
/// failure so none waits in a collective the others left.
#[cfg(feature = "mpi")]
fn save_mpio<T: Element>(
    comm: &dyn Comm,
    raw: mpi::ffi::MPI_Comm,
    layout: &Layout,
    args: &Args,
    shape: &[usize],
    selection: &Selection,
    bytes: &[u8],
) -> Result<()> {
    let exists = match args.mode {
        Hdf5Mode::Write => false,
        Hdf5Mode::Append => {
            comm.all_gather(&(comm.rank() == 0 && Path::new(&args.path).exists()))?.into_iter().any(|e| e)
        }
    };
    let _lock = lock();
    let file = agree(comm, open_mpio(&args.path, raw, if exists { Open::ReadWrite } else { Open::Create }))?;
    let dataset = agree(comm, create_dataset(&file, args, T::DTYPE, shape))?;
    let written = match agree(comm, Rows::plan(layout, comm.size()))? {
        Some(rows) => rows.gather(comm, layout, bytes, T::DTYPE.itemsize()).and_then(|block| {
            let block_selection = rows.selection(comm.rank(), shape);
            transfer_collective(&dataset, &block_selection, T::DTYPE, Buf::Write(&block))
                .map_err(|e| h5(&args.path, "cannot write", e))
        }),
        None => transfer_collective(&dataset, selection, T::DTYPE, Buf::Write(bytes))
            .map_err(|e| h5(&args.path, "cannot write", e)),
    };
    agree(comm, written)?;
    drop(dataset);
    agree(comm, file.close().map_err(|e| h5(&args.path, "cannot close", e)))
}

fn load_kernel<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let layout = layout(inputs)?;
    let (args, _, engine) = inputs.split();
    let args: Args = args.decode()?;
    let (path, key) = (&args.path, &args.key);
    let comm = engine.comm();
    // Every member learns whether every other could make its buffers (a
    // piece too big is `OutOfMemory`) before any collective HDF5 call.
    let prepared = piece(layout, engine.rank()).and_then(|piece| {
        let selection = Selection::new(&piece.indices, &piece.shape)?;
        let bytes = Side::Engine.filled(selection.len().saturating_mul(T::DTYPE.itemsize()), 0u8)?;
        Ok((piece, selection, bytes))
    });
    let (piece, selection, bytes) = agree(comm, prepared.map_err(|e| e.context(path)))?;
    let shape = &piece.global_shape;
    #[cfg(feature = "mpi")]
    let bytes = match comm.raw_mpi_comm() {
        Some(raw) => load_mpio::<T>(comm, raw, layout, &args, shape, &selection, bytes)?,
        None => load_in_turn::<T>(&args, shape, &selection, bytes)?,
    };
    #[cfg(not(feature = "mpi"))]
    let bytes = load_in_turn::<T>(&args, shape, &selection, bytes)?;
    let values = from_bytes::<T>(&bytes, Side::Engine).map_err(|e| match e.kind() {
        ErrorKind::OutOfMemory => e.context(path),
        _ => format_error(path, format_args!("dataset {key:?}: {}", e.message())),
    })?;
    drop(bytes);
    let data = selection.to_local_order(values).map_err(|e| e.context(path))?;
    output_array(inputs, LocalArray::new(data, piece.dim_data)?)
}

/// Thread engines: each reads its selection into `bytes` in turn (the lock).
fn load_in_turn<T: Element>(
    args: &Args,
    shape: &[usize],
    selection: &Selection,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>> {
    let path = &args.path;
    let _lock = lock();
    let file = open(path, Open::Read)?;
    let dataset = checked_dataset(&file, path, &args.key, T::DTYPE, shape)?;
    transfer(&dataset, selection, T::DTYPE, Buf::Read(&mut bytes), H5P_DEFAULT)
        .map_err(|e| h5(path, "cannot read", e))?;
    drop(dataset);
    file.close().map_err(|e| h5(path, "cannot close", e))?;
    Ok(bytes)
}

/// MPI ranks: the selection into `bytes` collectively, as [`save_mpio`].
#[cfg(feature = "mpi")]
fn load_mpio<T: Element>(
    comm: &dyn Comm,
    raw: mpi::ffi::MPI_Comm,
    layout: &Layout,
    args: &Args,
    shape: &[usize],
    selection: &Selection,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>> {
    let path = &args.path;
    let _lock = lock();
    let file = agree(comm, open_mpio(path, raw, Open::Read))?;
    let dataset = agree(comm, checked_dataset(&file, path, &args.key, T::DTYPE, shape))?;
    match agree(comm, Rows::plan(layout, comm.size()))? {
        Some(rows) => {
            let block_selection = rows.selection(comm.rank(), shape);
            let mut block =
                agree(comm, Side::Engine.filled(block_selection.len().saturating_mul(T::DTYPE.itemsize()), 0u8))?;
            agree(
                comm,
                transfer_collective(&dataset, &block_selection, T::DTYPE, Buf::Read(&mut block))
                    .map_err(|e| h5(path, "cannot read", e)),
            )?;
            drop(block_selection);
            bytes = agree(comm, rows.scatter(comm, layout, &block, T::DTYPE.itemsize()))?;
        }
        None => agree(
            comm,
            transfer_collective(&dataset, selection, T::DTYPE, Buf::Read(&mut bytes))
                .map_err(|e| h5(path, "cannot read", e)),
        )?,
    }
    drop(dataset);
    agree(comm, file.close().map_err(|e| h5(path, "cannot close", e)))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_of_runs() {
        // Block-cyclic, blocks of 2 on 3 ranks, size 11: rank 1 holds 2,3,8,9.
        assert_eq!(axis_patterns(&[2, 3, 8, 9]), vec![(2, 6, 2, 2)]);
        // Rank 0 of size 13: 0,1,6,7,12 (a partial last block).
        assert_eq!(axis_patterns(&[0, 1, 6, 7, 12]), vec![(0, 6, 2, 2), (12, 1, 1, 1)]);
        assert_eq!(axis_patterns(&[1, 4, 7, 10]), vec![(1, 3, 4, 1)]);
        assert_eq!(axis_patterns(&[3, 4, 5]), vec![(3, 1, 1, 3)]);
        assert!(axis_patterns(&[]).is_empty());
    }

    #[test]
    fn file_order_round_trip() {
        let indices = vec![vec![4, 1, 3], vec![0, 2]];
        let s = Selection::new(&indices, &[3, 2]).unwrap();
        let local = ArrayD::from_shape_vec(IxDyn(&[3, 2]), (0..6).collect::<Vec<i32>>()).unwrap();
        let file = s.to_file_order(&local).unwrap();
        // Rows in global order 1, 3, 4: local rows 1, 2, 0.
        assert_eq!(file, vec![2, 3, 4, 5, 0, 1]);
        assert_eq!(s.to_local_order(file).unwrap(), local);
    }
}
