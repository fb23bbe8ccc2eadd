//! HDF5 files through the system HDF5 library (`hdf5-metno`), behind the
//! `hdf5` feature: [`save_hdf5`] and [`load_hdf5`].
//!
//! Every engine reads and writes only its own elements, as a selection of
//! the dataset: one hyperslab per regular pattern of runs (a block map is one
//! hyperslab, a cyclic or block-cyclic map one strided hyperslab, an
//! unstructured map one hyperslab per run of consecutive indices).
//!
//! - Under MPI (the `mpi` feature too, and a parallel HDF5 build) the engines
//!   open the file together through MPI-IO (the `mpio` driver over the
//!   communicator of the array's engines), create the file and dataset
//!   collectively, and write or read their selections in one collective
//!   transfer. When some engine's part is not one block (cyclic,
//!   block-cyclic or unstructured axes), MPI-IO is slow on its many small
//!   pieces, so the engines first exchange elements (one all-to-all) so that
//!   each transfers one contiguous block of rows.
//! - On thread engines (one process, and HDF5 is not thread-safe) engine 0
//!   creates the file and dataset, then every engine writes its selection in
//!   turn under one process-wide lock. This needs no MPI: any HDF5 build
//!   (>= 1.10, serial or parallel) serves.
//!
//! Element types are stored as h5py stores them: integers and floats as the
//! native HDF5 types, `bool` as h5py's enum of `int8` (`FALSE = 0`,
//! `TRUE = 1`), complex numbers as the compound `{r, i}`.
//!
//! The bad-input table is in [`load_hdf5`]'s docs.

use std::path::Path;

use super::{build, run_unit};
use crate::client::{DistArray, Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, Result};
pub use engine::Hdf5Mode;
use engine::{checked_dataset, lock, open, Args, Open};

pub(crate) mod engine;

/// The options of [`save_hdf5`]: the dataset's name (`key`, default
/// `"buffer"` as in DistArray), the file [mode](Hdf5Mode) (default `'w'`) and
/// whether an existing dataset of that name may be replaced (default no).
///
/// # Examples
/// ```
/// use distarray::{Hdf5Mode, Hdf5Options};
///
/// let options = Hdf5Options::new().key("temperature").mode(Hdf5Mode::Append).overwrite(true);
/// assert_eq!(options.get_key(), "temperature");
/// assert_eq!(Hdf5Options::default().get_key(), "buffer");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hdf5Options {
    key: String,
    mode: Hdf5Mode,
    overwrite: bool,
}

impl Default for Hdf5Options {
    fn default() -> Self {
        Hdf5Options { key: "buffer".into(), mode: Hdf5Mode::Write, overwrite: false }
    }
}

impl Hdf5Options {
    /// The defaults: key `"buffer"`, mode `'w'`, no overwriting.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dataset's name (a path inside the file; its groups must exist).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// The file mode.
    pub fn mode(mut self, mode: Hdf5Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether an existing dataset named `key` is replaced (`true`) or is an
    /// error (`false`, the default). Only matters in mode `'a'`.
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// The dataset's name.
    pub fn get_key(&self) -> &str {
        &self.key
    }

    /// The file mode.
    pub fn get_mode(&self) -> Hdf5Mode {
        self.mode
    }

    /// Whether an existing dataset is replaced.
    pub fn get_overwrite(&self) -> bool {
        self.overwrite
    }
}

/// Writes `array` as dataset `options.key` of the HDF5 file `path`, which
/// h5py reads (`h5py.File(path)[key][...]`) with the same dtype and values.
/// Every engine writes its own elements: collectively through MPI-IO under
/// MPI, in turn on thread engines.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use distarray::{Hdf5Mode, Hdf5Options};
///
/// let ctx = Context::new()?;
/// let path = std::env::temp_dir().join(format!("doc_save_hdf5_{}.h5", std::process::id()));
/// let d = Distribution::builder(&ctx, &[6, 4]).dist("cb").build()?;
/// let a = ctx.fromarray(&ndarray::Array2::from_shape_fn((6, 4), |(i, j)| (i * 4 + j) as f64), Some(&d))?;
/// distarray::save_hdf5(&path, &a, &Hdf5Options::default())?;
/// distarray::save_hdf5(&path, &a, &Hdf5Options::new().key("again").mode(Hdf5Mode::Append))?;
/// // The key exists now: replacing it must be asked for.
/// assert!(distarray::save_hdf5(&path, &a, &Hdf5Options::new().key("again").mode(Hdf5Mode::Append)).is_err());
/// let b = distarray::load_hdf5::<f64>(&path, &Distribution::from_shape(&ctx, &[6, 4])?, "again")?;
/// assert_eq!(b.toarray()?, a.toarray()?);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), distarray::Error>(())
/// ```
///
/// # Errors
/// `Io` if the file cannot be created or written, or if dataset `key` exists
/// and `options` do not allow overwriting it; `Format` if an existing file
/// (mode `'a'`) is not an HDF5 file; `InvalidArgument` for an empty key.
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
pub fn save_hdf5<T: Element>(path: impl AsRef<Path>, array: &DistArray<T>, options: &Hdf5Options) -> Result<()> {
    let path = path.as_ref().display().to_string();
    array.distribution().refuse_ghosts("save_hdf5")?;
    if options.key.is_empty() {
        bail!(InvalidArgument, "{path}: an HDF5 dataset needs a non-empty key");
    }
    let args = Args { path, key: options.key.clone(), mode: options.mode, overwrite: options.overwrite };
    let call = KernelCall::internal::<T>(&engine::SAVE_HDF5).array("a", array)?.args(&args)?;
    run_unit(call, array.distribution())
}

/// Reads dataset `key` of the HDF5 file `path` into a new array over
/// `distribution`; every engine reads only its own elements (collectively
/// through MPI-IO under MPI). The dataset must hold `T` elements (h5py's
/// dtypes, any byte order) and have the distribution's shape.
///
/// # Errors
/// Bad input is an `Err` naming the path (and the dataset), never a panic;
/// the context and its arrays keep working. The same errors come from
/// [`save_hdf5`] where they apply.
///
/// | problem | kind | message (after the path) |
/// |---|---|---|
/// | missing file | `Io` | `No such file or directory (os error 2)` |
/// | not an HDF5 file | `Format` | `not an HDF5 file` |
/// | missing dataset | `KeyNotFound` | `no dataset "x" (the file holds ["buffer"])` |
/// | another element type | `DTypeMismatch` | `dataset "buffer" holds int32, not float64` |
/// | a type distarray does not know | `DTypeMismatch` | `dataset "s" holds the HDF5 type FixedAscii(3), not float64` |
/// | another shape than the distribution | `InvalidShape` | `dataset "buffer" has shape [3], the distribution has shape [4]` |
/// | saving to an existing key | `Io` | `dataset "buffer" exists (replace it with Hdf5Options::overwrite(true))` |
/// | a bool byte other than 0 or 1 | `Format` | `dataset "b": element 2 of a bool buffer holds an invalid value` |
/// | a piece too big for an engine's memory | `OutOfMemory` | `cannot allocate 274877906944 elements of 1 bytes (...) on this engine` |
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
pub fn load_hdf5<T: Element>(path: impl AsRef<Path>, distribution: &Distribution, key: &str) -> Result<DistArray<T>> {
    let path = path.as_ref().display().to_string();
    distribution.refuse_ghosts("load_hdf5")?;
    // The client checks the file first, so a bad file fails before any
    // engine opens it (and no collective is left half-done).
    {
        let _lock = lock();
        let file = open(&path, Open::Read)?;
        checked_dataset(&file, &path, key, T::DTYPE, distribution.shape())?;
    }
    let args = Args { path, key: key.to_string(), mode: Hdf5Mode::Write, overwrite: false };
    let call = KernelCall::internal::<T>(&engine::LOAD_HDF5).context(distribution.context())?.args(&args)?;
    build(call, distribution)
}
