//! File IO: `.npy` ([`save_npy`], [`load_npy`]), Python DistArray's
//! `.dnpy` ([`save_dnpy`], [`load_dnpy`]) and, behind the `hdf5` feature,
//! HDF5 (`save_hdf5`, `load_hdf5`: parallel through MPI-IO under MPI; their
//! bad-input table is in their module's docs).
//!
//! Every engine reads and writes only its own part of a file, in registered
//! kernels (one per element type); the client reads at most a header. Paths
//! are sent to the engines as they are, so under MPI they must name the same
//! file on every rank (a shared file system, or one machine).
//!
//! # Bad files
//!
//! A file's contents are untrusted input: every length is checked against
//! the file's size before anything is allocated, nothing panics, and the
//! context and its other arrays keep working after an error. Every message
//! starts with the path. Buffers sized from a header are checked
//! allocations, read in bounded chunks: a (sparse) file whose data is too big
//! for an engine is `Err(OutOfMemory)`, never an abort.
//!
//! | problem | kind | message (after the path) |
//! |---|---|---|
//! | missing file | `Io` | `No such file or directory (os error 2)` |
//! | wrong magic | `Format` | `not a .npy stream: wrong magic ...` / `not a .dnpy file: wrong magic ...` |
//! | unknown version | `Format` | `unsupported .npy version 9.0 (1.0, 2.0 and 3.0 are known)` / `unsupported .dnpy version 2.0 (only 1.0 is known)` |
//! | header length beyond the file | `Format` | `header length 60000 exceeds the file (100 bytes)` |
//! | file ends inside the prefix | `Format` | `truncated file: it ends inside the header length` |
//! | malformed header | `Format` | `malformed header: expected ',' or '}' at byte 12, ...` |
//! | shape whose size overflows | `Format` | `shape [...] overflows` |
//! | data shorter than the shape needs | `Format` | `truncated data: shape [4, 4] of float64 needs 128 bytes after the header, the file has 64` |
//! | data too big for an engine's memory | `OutOfMemory` | `cannot allocate 274877906944 elements of 8 bytes (...) on this engine` |
//! | another element type | `DTypeMismatch` | `holds int32, not float64` |
//! | another shape than the distribution | `InvalidShape` | `holds an array of shape [3], the distribution has shape [4]` |
//! | `.dnpy` dim data that does not tile | `InvalidDimData` | `the dim data of the files does not describe one array: ...` |
//! | `.dnpy` local array unlike its dim data | `InvalidDimData` | `holds a local array of shape [3], its dim data gives [5]` |
//! | a bool byte other than 0 or 1 | `Format` | `element 2 of a bool buffer holds an invalid value` |
//! | wrong number of `.dnpy` names | `InvalidTarget` | `5 file names for 4 engines`, `1 file names for an array saved on 2 engines` |
//! | `.dnpy` files of more ranks than engines | `InvalidTarget` | `an array saved on 4 engines does not fit a context of 2` |

use std::path::{Path, PathBuf};

use crate::client::DistArray;
use crate::client::{Context, Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::protocol::{Command, KernelReply};
use engine::{PathArgs, PathsArgs};

pub(crate) mod engine;
mod format;
mod fuzz;
#[cfg(feature = "hdf5")]
pub(crate) mod hdf5;

#[cfg(feature = "hdf5")]
#[cfg_attr(docsrs, doc(cfg(feature = "hdf5")))]
pub use self::hdf5::{load_hdf5, save_hdf5, Hdf5Mode, Hdf5Options};
pub use fuzz::{fuzz_dnpy_header, fuzz_header_text, fuzz_npy_header};

/// The names of a `.dnpy` array's files: a base name (engine `r` uses
/// `<name>_<r>.dnpy`, as Python DistArray) or one path per engine.
///
/// Converts from a `&str`, `String`, `&Path` or `PathBuf` (a base name) and
/// from a `Vec` or slice of paths (one per engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnpyNames {
    /// `<name>_<rank>.dnpy` for each engine rank.
    Base(PathBuf),
    /// The file of each engine, in rank order.
    PerEngine(Vec<PathBuf>),
}

impl DnpyNames {
    /// The file of each of `n` engines.
    ///
    /// # Errors
    /// `InvalidTarget` if a list of names does not have `n` entries.
    fn paths(&self, n: usize) -> Result<Vec<String>> {
        match self {
            DnpyNames::Base(base) => Ok((0..n).map(|r| format!("{}_{r}.dnpy", base.display())).collect()),
            DnpyNames::PerEngine(paths) if paths.len() == n => {
                Ok(paths.iter().map(|p| p.display().to_string()).collect())
            }
            DnpyNames::PerEngine(paths) => bail!(InvalidTarget, "{} file names for {n} engines", paths.len()),
        }
    }
}

impl From<&str> for DnpyNames {
    fn from(name: &str) -> Self {
        DnpyNames::Base(name.into())
    }
}

impl From<String> for DnpyNames {
    fn from(name: String) -> Self {
        DnpyNames::Base(name.into())
    }
}

impl From<&Path> for DnpyNames {
    fn from(name: &Path) -> Self {
        DnpyNames::Base(name.into())
    }
}

impl From<PathBuf> for DnpyNames {
    fn from(name: PathBuf) -> Self {
        DnpyNames::Base(name)
    }
}

impl<P: AsRef<Path>> From<Vec<P>> for DnpyNames {
    fn from(names: Vec<P>) -> Self {
        DnpyNames::PerEngine(names.iter().map(|p| p.as_ref().to_path_buf()).collect())
    }
}

impl<P: AsRef<Path>> From<&[P]> for DnpyNames {
    fn from(names: &[P]) -> Self {
        DnpyNames::PerEngine(names.iter().map(|p| p.as_ref().to_path_buf()).collect())
    }
}

impl<P: AsRef<Path>, const N: usize> From<[P; N]> for DnpyNames {
    fn from(names: [P; N]) -> Self {
        DnpyNames::PerEngine(names.iter().map(|p| p.as_ref().to_path_buf()).collect())
    }
}

/// Writes `array` to the `.npy` file `path`, which numpy reads with
/// `numpy.load`: C order, this machine's byte order. Engine 0 writes the
/// header, then every engine writes its own elements at their offsets.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::new()?;
/// let path = std::env::temp_dir().join(format!("doc_save_npy_{}.npy", std::process::id()));
/// let d = Distribution::builder(&ctx, &[6, 4]).dist("bc").build()?;
/// let a = ctx.fromarray(&ndarray::Array2::from_shape_fn((6, 4), |(i, j)| (i * 4 + j) as i32), Some(&d))?;
/// distarray::save_npy(&path, &a)?;
/// let b = distarray::load_npy::<i32>(&path, &Distribution::from_shape(&ctx, &[6, 4])?)?;
/// assert_eq!(b.toarray()?, a.toarray()?);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), distarray::Error>(())
/// ```
///
/// # Errors
/// `Io` if the file cannot be created or written.
pub fn save_npy<T: Element>(path: impl AsRef<Path>, array: &DistArray<T>) -> Result<()> {
    let path = path.as_ref().display().to_string();
    array.distribution().refuse_ghosts("save_npy")?;
    let call = KernelCall::internal::<T>(&engine::SAVE_NPY).array("a", array)?.args(&PathArgs { path })?;
    run_unit(call, array.distribution())
}

/// Reads the `.npy` file `path` into a new array over `distribution`; every
/// engine reads only its own elements, seeking in the file. C and Fortran
/// order and both byte orders load; the file's element type must be `T`.
///
/// # Errors
/// `Io` if the file cannot be read; `Format`, `DTypeMismatch`,
/// `InvalidShape` or `OutOfMemory` for the bad files of the
/// [module table](self).
pub fn load_npy<T: Element>(path: impl AsRef<Path>, distribution: &Distribution) -> Result<DistArray<T>> {
    let path = path.as_ref().display().to_string();
    distribution.refuse_ghosts("load_npy")?;
    // The client checks the header (small and bounded by the file's size), so
    // a bad file fails before any engine works.
    let header = engine::open_npy(&path)?.1;
    engine::check_npy::<T>(&path, &header, distribution.shape())?;
    let call =
        KernelCall::internal::<T>(&engine::LOAD_NPY).context(distribution.context())?.args(&PathArgs { path })?;
    build(call, distribution)
}

/// Writes `array` as Python DistArray does: the engine of rank `r` of the
/// array writes its local array and dim data to `<name>_<r>.dnpy` (or the
/// `r`-th of a list of names), so there is one file per target of the
/// array's distribution, and none for the context's other engines.
/// Not-distributed axes are written as one-rank block axes.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::new()?;
/// let base = std::env::temp_dir().join(format!("doc_dnpy_{}", std::process::id()));
/// let d = Distribution::builder(&ctx, &[10]).dist("c").build()?;
/// let a = ctx.fromarray(&ndarray::Array1::from_iter(0..10i64), Some(&d))?;
/// distarray::save_dnpy(base.as_path(), &a)?;
/// let b = distarray::load_dnpy::<i64>(&ctx, base.as_path())?;
/// assert_eq!(b.toarray()?, a.toarray()?);
/// assert_eq!(b.dist(), vec!['c']);
/// # for r in 0..a.targets().len() { std::fs::remove_file(format!("{}_{r}.dnpy", base.display())).unwrap(); }
/// # Ok::<(), distarray::Error>(())
/// ```
///
/// # Errors
/// `InvalidTarget` if a list of names does not have one name per target of
/// the array; `Io` if a file cannot be written.
pub fn save_dnpy<T: Element>(names: impl Into<DnpyNames>, array: &DistArray<T>) -> Result<()> {
    let paths = names.into().paths(array.targets().len())?;
    let call = KernelCall::internal::<T>(&engine::SAVE_DNPY).array("a", array)?.args(&PathsArgs { paths })?;
    run_unit(call, array.distribution())
}

/// Reads an array saved by [`save_dnpy`] or by Python DistArray: engine `r`
/// of `context` reads `<name>_<r>.dnpy` (or the `r`-th of a list of names),
/// and the files' dim data rebuilds the distribution. There is one file per
/// rank of the saved array, which may be fewer than the context's engines (an
/// array on the first engines only, see `DistributionBuilder::build`): the
/// number of files is the grid size in the dim data of `<name>_0.dnpy`, or the
/// length of the list, and the first that many engines read them.
///
/// # Errors
/// `InvalidTarget` if a list of names is empty or longer than the context's
/// engines, or the files describe more ranks than the context has engines;
/// `Io`, `Format`, `DTypeMismatch`, `InvalidDimData` or `OutOfMemory` for the
/// bad files of the [module table](self).
pub fn load_dnpy<T: Element>(context: &Context, names: impl Into<DnpyNames>) -> Result<DistArray<T>> {
    let names = names.into();
    let nranks = match &names {
        DnpyNames::Base(base) => {
            // The first file's dim data gives the number of files; a file that
            // cannot be read is reported by the engines, with its path.
            let first = format!("{}_0.dnpy", base.display());
            match engine::dnpy_ranks(&first) {
                Some(n) if n > context.num_targets() => {
                    bail!(
                        InvalidTarget,
                        "{first}: an array saved on {n} engines does not fit a context of {}",
                        context.num_targets()
                    )
                }
                Some(n) => n,
                None => context.num_targets(),
            }
        }
        DnpyNames::PerEngine(paths) if !(1..=context.num_targets()).contains(&paths.len()) => {
            bail!(InvalidTarget, "{} file names for {} engines", paths.len(), context.num_targets())
        }
        DnpyNames::PerEngine(paths) => {
            let first = paths[0].display().to_string();
            match engine::dnpy_ranks(&first) {
                Some(n) if n != paths.len() => {
                    bail!(InvalidTarget, "{} file names for an array saved on {n} engines ({first})", paths.len())
                }
                _ => paths.len(),
            }
        }
    };
    let paths = names.paths(nranks)?;
    let targets = &context.targets()[..nranks];
    let call = KernelCall::internal::<T>(&engine::LOAD_DNPY).context(context)?.args(&PathsArgs { paths })?;
    let (key, targets, replies) = call.send(Some(targets), None)?;
    let adopt = || -> Result<DistArray<T>> {
        let dim_data = replies
            .iter()
            .map(|(reply, _)| match reply {
                KernelReply::Array { dtype, dim_data } if *dtype == T::DTYPE => Ok(dim_data.clone()),
                other => Err(err!(Protocol, "load_dnpy: an engine answered {other:?}")),
            })
            .collect::<Result<Vec<_>>>()?;
        let distribution = Distribution::from_dim_data_per_rank(context, &dim_data, Some(&targets))
            .map_err(|e| e.context(format_args!("{names:?}: the dim data of the files does not describe one array")))?;
        Ok(DistArray::from_key(key.clone(), distribution))
    };
    adopt().inspect_err(|_| {
        let _ = context.run_done(&targets, &Command::Delete { key: key.clone() });
    })
}

/// Runs `call` on the engines of `distribution` with its layout; every engine
/// must answer `()`.
fn run_unit(call: KernelCall, distribution: &Distribution) -> Result<()> {
    let (_, _, replies) = call.send(Some(distribution.targets()), Some(distribution.layout().clone()))?;
    match replies.iter().find(|(r, _)| !matches!(r, KernelReply::Unit)) {
        Some((other, _)) => bail!(Protocol, "a file kernel answered {other:?}"),
        None => Ok(()),
    }
}

/// Runs the array-building `call` over `distribution`.
fn build<T: Element>(call: KernelCall, distribution: &Distribution) -> Result<DistArray<T>> {
    let (key, targets, replies) = call.send(Some(distribution.targets()), Some(distribution.layout().clone()))?;
    if let Some((other, _)) =
        replies.iter().find(|(r, _)| !matches!(r, KernelReply::Array { dtype, .. } if *dtype == T::DTYPE))
    {
        let _ = distribution.context().run_done(&targets, &Command::Delete { key });
        bail!(Protocol, "a file kernel answered {other:?}");
    }
    Ok(DistArray::from_key(key, distribution.clone()))
}
