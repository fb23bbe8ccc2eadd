//! Corrupt, truncated and mistyped files, loaded on the engines (under MPI
//! each engine process opens the file itself). The full table of bad `.npy`
//! and `.dnpy` headers is `tests/io.rs`' `bad_files_are_clear_errors` (thread
//! engines); these cases cover each kind once more on every backend.

use std::path::{Path, PathBuf};

use distarray::prelude::*;
use ndarray::Array2;

use super::{expect_err, on_every_context};

super::case_list!(
    npy_truncated_or_corrupt,
    npy_of_another_dtype_or_shape,
    dnpy_corrupt_or_mistyped,
    hdf5_corrupt_or_mistyped
);

/// A fresh directory for one case, removed by [`Scratch::drop`].
pub(super) struct Scratch(PathBuf);

impl Scratch {
    pub(super) fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("distarray_bad_{tag}_{}_{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn values() -> Array2<f64> {
    Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f64 - 3.0)
}

/// `path` rewritten with `edit` applied to its bytes.
fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).expect("read back");
    edit(&mut bytes);
    std::fs::write(path, bytes).expect("rewrite");
}

pub fn npy_truncated_or_corrupt() -> Result<()> {
    on_every_context(|ctx| {
        let dir = Scratch::new("npy");
        let d = Distribution::builder(ctx, &[6, 5]).dist("cb").build()?;
        let a = ctx.fromarray(&values(), Some(&d))?;
        let good = dir.path("good.npy");
        distarray::save_npy(&good, &a)?;
        let load = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
            let path = dir.path(name);
            std::fs::copy(&good, &path).expect("copy");
            rewrite(&path, edit);
            (distarray::load_npy::<f64>(&path, &d), path.display().to_string())
        };
        let (r, p) = load("cut.npy", &|b| b.truncate(b.len() - 1));
        expect_err(r, ErrorKind::Format, &["truncated data", &p]);
        let (r, p) = load("empty.npy", &|b| b.clear());
        expect_err(r, ErrorKind::Format, &["truncated file", &p]);
        let (r, p) = load("magic.npy", &|b| b[0] = b'P');
        expect_err(r, ErrorKind::Format, &["wrong magic", &p]);
        let (r, p) = load("garbage.npy", &|b| b.iter_mut().skip(10).for_each(|x| *x = b'\xff'));
        expect_err(r, ErrorKind::Format, &[&p]);
        let missing = dir.path("missing.npy");
        expect_err(distarray::load_npy::<f64>(&missing, &d), ErrorKind::Io, &[&missing.display().to_string()]);
        // The good file still loads.
        assert_eq!(distarray::load_npy::<f64>(&good, &d)?.toarray()?, values().into_dyn());
        Ok(())
    })
}

pub fn npy_of_another_dtype_or_shape() -> Result<()> {
    on_every_context(|ctx| {
        let dir = Scratch::new("npy_dtype");
        let a = ctx.fromarray(&values(), None)?;
        let path = dir.path("a.npy");
        distarray::save_npy(&path, &a)?;
        expect_err(
            distarray::load_npy::<i32>(&path, a.distribution()),
            ErrorKind::DTypeMismatch,
            &["float64", "int32"],
        );
        expect_err(
            distarray::load_npy::<f32>(&path, a.distribution()),
            ErrorKind::DTypeMismatch,
            &["float64", "float32"],
        );
        let other = Distribution::from_shape(ctx, &[5, 6])?;
        expect_err(distarray::load_npy::<f64>(&path, &other), ErrorKind::InvalidShape, &["[6, 5]"]);
        Ok(())
    })
}

pub fn dnpy_corrupt_or_mistyped() -> Result<()> {
    on_every_context(|ctx| {
        let dir = Scratch::new("dnpy");
        let d = Distribution::builder(ctx, &[6, 5]).dist("bc").build()?;
        let a = ctx.fromarray(&values(), Some(&d))?;
        let base = dir.path("a");
        distarray::save_dnpy(base.as_path(), &a)?;
        expect_err(distarray::load_dnpy::<i64>(ctx, base.as_path()), ErrorKind::DTypeMismatch, &["float64"]);
        let last = dir.path(&format!("a_{}.dnpy", ctx.num_targets() - 1));
        let original = std::fs::read(&last).expect("read");
        rewrite(&last, |b| b.truncate(b.len() - 3));
        expect_err(distarray::load_dnpy::<f64>(ctx, base.as_path()), ErrorKind::Format, &["truncated data"]);
        rewrite(&last, |b| b.truncate(12));
        expect_err(distarray::load_dnpy::<f64>(ctx, base.as_path()), ErrorKind::Format, &[]);
        rewrite(&last, |b| {
            b.clone_from(&original);
            b[2] = b'X';
        });
        expect_err(distarray::load_dnpy::<f64>(ctx, base.as_path()), ErrorKind::Format, &["not a .dnpy file"]);
        std::fs::remove_file(&last).expect("remove");
        expect_err(distarray::load_dnpy::<f64>(ctx, base.as_path()), ErrorKind::Io, &[]);
        Ok(())
    })
}

#[cfg(feature = "hdf5")]
pub fn hdf5_corrupt_or_mistyped() -> Result<()> {
    on_every_context(|ctx| {
        let dir = Scratch::new("hdf5");
        let a = ctx.fromarray(&values(), None)?;
        let path = dir.path("a.h5");
        distarray::save_hdf5(&path, &a, &distarray::Hdf5Options::default())?;
        let d = a.distribution();
        expect_err(distarray::load_hdf5::<u8>(&path, d, "buffer"), ErrorKind::DTypeMismatch, &["float64"]);
        expect_err(distarray::load_hdf5::<f64>(&path, d, "nothing"), ErrorKind::KeyNotFound, &["\"nothing\""]);
        let other = Distribution::from_shape(ctx, &[30])?;
        expect_err(distarray::load_hdf5::<f64>(&path, &other, "buffer"), ErrorKind::InvalidShape, &["[6, 5]"]);
        let garbage = dir.path("garbage.h5");
        std::fs::write(&garbage, b"this is not an HDF5 file at all").expect("write");
        expect_err(distarray::load_hdf5::<f64>(&garbage, d, "buffer"), ErrorKind::Format, &["not an HDF5 file"]);
        let cut = dir.path("cut.h5");
        std::fs::copy(&path, &cut).expect("copy");
        rewrite(&cut, |b| b.truncate(b.len() / 2));
        let e = distarray::load_hdf5::<f64>(&cut, d, "buffer").expect_err("a truncated HDF5 file must not load");
        assert!(matches!(e.kind(), ErrorKind::Format | ErrorKind::Io), "{e:?}");
        // The intact file still loads.
        assert_eq!(distarray::load_hdf5::<f64>(&path, d, "buffer")?.toarray()?, values().into_dyn());
        Ok(())
    })
}

#[cfg(not(feature = "hdf5"))]
pub fn hdf5_corrupt_or_mistyped() -> Result<()> {
    Ok(())
}
