//! The engine side of file IO: one internal kernel per operation, each
//! registered for every element type.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use serde::{Deserialize, Serialize};

use super::format::npy::{self, NpyHeader};
use super::format::{dnpy, format_error, io_error};
use crate::core::alloc::Side;
use crate::core::element::{as_bytes, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::comm::Collectives;
use crate::engine::kernel::{output_array, output_unit, register_internal, InternalKernel, KernelInputs, KernelOutput};
use crate::engine::local::LocalArray;
use crate::layout::local_shape;
use crate::layout::piece;
use crate::layout::DimDict;
use crate::layout::Layout;

/// The argument of kernels that take one path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PathArgs {
    pub path: String,
}

/// The argument of kernels that take one path per engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PathsArgs {
    pub paths: Vec<String>,
}

/// One `.npy` file: engine 0 creates it, every engine writes its piece.
pub(crate) const SAVE_NPY: InternalKernel = InternalKernel::new("distarray::io::save_npy");
/// Each engine's piece read from one `.npy` file.
pub(crate) const LOAD_NPY: InternalKernel = InternalKernel::new("distarray::io::load_npy");
/// One `.dnpy` file per engine.
pub(crate) const SAVE_DNPY: InternalKernel = InternalKernel::new("distarray::io::save_dnpy");
/// Each engine's piece read from its `.dnpy` file.
pub(crate) const LOAD_DNPY: InternalKernel = InternalKernel::new("distarray::io::load_dnpy");

register_internal!(SAVE_NPY, save_npy);
register_internal!(LOAD_NPY, load_npy);
register_internal!(SAVE_DNPY, save_dnpy);
register_internal!(LOAD_DNPY, load_dnpy);

fn layout<'a>(inputs: &KernelInputs<'a>) -> Result<&'a Layout> {
    inputs.index_layout().ok_or_else(|| err!(Protocol, "a file kernel was called without a layout"))
}

/// Opens `path` and reads its `.npy` header.
pub(super) fn open_npy(path: &str) -> Result<(File, NpyHeader)> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let header = npy::read_header(&mut std::io::BufReader::new(&file), 0, len).map_err(|e| format_error(path, e))?;
    Ok((file, header))
}

/// Checks that a `.npy` header holds `T` elements of `shape`.
pub(super) fn check_npy<T: Element>(path: &str, header: &NpyHeader, shape: &[usize]) -> Result<()> {
    if header.dtype != T::DTYPE {
        bail!(DTypeMismatch, "{path}: holds {}, not {}", header.dtype, T::DTYPE);
    }
    if header.shape != shape {
        bail!(InvalidShape, "{path}: holds an array of shape {:?}, the distribution has shape {shape:?}", header.shape);
    }
    Ok(())
}

fn save_npy<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let layout = layout(inputs)?;
    let (args, mut arrays, engine) = inputs.split();
    let PathArgs { path } = args.decode()?;
    let local = arrays.next_ref::<T>("a")?;
    let piece = piece(layout, engine.rank())?;
    let header = npy::header_bytes(T::DTYPE, &piece.global_shape);
    // Engine 0 creates the file with its header and full length; the others
    // wait for it and learn whether it worked.
    let created = if engine.rank() == 0 {
        create_npy::<T>(&path, &header, &piece.global_shape).err().map(|e| e.to_string())
    } else {
        None
    };
    if let Some(Some(e)) = engine.comm().all_gather(&created)?.into_iter().next() {
        bail!(Io, "{e}");
    }
    let file = OpenOptions::new().write(true).open(&path).map_err(|e| io_error(&path, e))?;
    let values = Side::Engine.standard(local.view())?;
    npy::write_piece(&file, header.len() as u64, &piece.global_shape, &piece.indices, &values)
        .map_err(|e| io_error(&path, e))?;
    output_unit(())
}

fn create_npy<T: Element>(path: &str, header: &[u8], shape: &[usize]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| io_error(path, e))?;
    let data = shape.iter().product::<usize>() as u64 * T::DTYPE.itemsize() as u64;
    file.write_all(header).map_err(|e| io_error(path, e))?;
    file.set_len(header.len() as u64 + data).map_err(|e| io_error(path, e))
}

fn load_npy<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let layout = layout(inputs)?;
    let (args, _, engine) = inputs.split();
    let PathArgs { path } = args.decode()?;
    let piece = piece(layout, engine.rank()).map_err(|e| e.context(&path))?;
    let (file, header) = open_npy(&path)?;
    check_npy::<T>(&path, &header, &piece.global_shape)?;
    let values = npy::read_piece::<T>(&file, &header, &piece.indices).map_err(|e| e.context(&path))?;
    let data = ArrayD::from_shape_vec(IxDyn(&piece.shape), values).map_err(|e| err!(InvalidShape, "{path}: {e}"))?;
    output_array(inputs, LocalArray::new(data, piece.dim_data)?)
}

fn save_dnpy<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, mut arrays, engine) = inputs.split();
    let PathsArgs { paths } = args.decode()?;
    let path = paths
        .get(engine.rank())
        .ok_or_else(|| err!(InvalidTarget, "no file name for engine rank {}", engine.rank()))?;
    let local = arrays.next_ref::<T>("a")?;
    let header = dnpy::header_bytes(local.dim_data());
    if !dnpy::header_fits(&header) {
        bail!(InvalidDimData, "{path}: the dim data does not fit a .dnpy header (64 KiB)");
    }
    let values = Side::Engine.standard(local.view())?;
    let write = || -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&header)?;
        out.write_all(&npy::header_bytes(T::DTYPE, local.local_shape()))?;
        out.write_all(as_bytes(&values))?;
        out.into_inner().map_err(|e| e.into_error())?.sync_data()
    };
    write().map_err(|e| io_error(path, e))?;
    output_unit(())
}

fn load_dnpy<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, _, engine) = inputs.split();
    let PathsArgs { paths } = args.decode()?;
    let path = paths
        .get(engine.rank())
        .ok_or_else(|| err!(InvalidTarget, "no file name for engine rank {}", engine.rank()))?
        .clone();
    let local = read_dnpy::<T>(&path)?;
    output_array(inputs, local)
}

/// The number of ranks (product of `proc_grid_size`) in the dim data of the
/// `.dnpy` file `path`, or `None` if its header cannot be read.
pub(super) fn dnpy_ranks(path: &str) -> Option<usize> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let (raw, _) = dnpy::read_header(&mut std::io::BufReader::new(&file), len).ok()?;
    raw.iter().try_fold(1usize, |n, d| n.checked_mul(d.as_ref().map_or(1, DimDict::proc_grid_size)))
}

/// Reads one `.dnpy` file.
fn read_dnpy<T: Element>(path: &str) -> Result<LocalArray<T>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut reader = std::io::BufReader::new(&file);
    let (raw, npy_start) = dnpy::read_header(&mut reader, len).map_err(|e| format_error(path, e))?;
    let header = npy::read_header(&mut reader, npy_start, len).map_err(|e| format_error(path, e))?;
    if header.dtype != T::DTYPE {
        bail!(DTypeMismatch, "{path}: holds {}, not {}", header.dtype, T::DTYPE);
    }
    if raw.len() != header.shape.len() {
        bail!(InvalidDimData, "{path}: dim data for {} axes, a local array of {}", raw.len(), header.shape.len());
    }
    let dim_data: Vec<DimDict> =
        raw.into_iter().zip(&header.shape).map(|(d, &n)| d.unwrap_or(DimDict::NoDist { size: n })).collect();
    let expected = local_shape(&dim_data);
    if expected != header.shape {
        bail!(
            InvalidDimData,
            "{path}: holds a local array of shape {:?}, its dim data gives {expected:?}",
            header.shape
        );
    }
    let values = npy::read_all::<T>(&file, &header).map_err(|e| e.context(path))?;
    let shape = IxDyn(&header.shape);
    let data =
        if header.fortran { ArrayD::from_shape_vec(shape.f(), values) } else { ArrayD::from_shape_vec(shape, values) }
            .map_err(|e| err!(InvalidShape, "{path}: {e}"))?;
    // Pieces are kept in C order: a Fortran-order file's data is copied once.
    let data = if header.fortran { Side::Engine.clone_array(&data).map_err(|e| e.context(path))? } else { data };
    LocalArray::new(data, dim_data).map_err(|e| e.context(path))
}
