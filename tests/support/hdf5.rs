//! The HDF5 suite, shared by `tests/hdf5.rs` (thread engines) and
//! `tests/mpi_hdf5.rs` (mpirun): round trips for every element type, every
//! map type and 1 to 3 axes; the file modes; bad input. Needs `tests/support/io.rs`
//! as the test crate's module `io`.

#![allow(dead_code)] // each test binary uses part of it

use std::path::Path;

use distarray::prelude::*;
use distarray::{Hdf5Mode, Hdf5Options};

use super::io::{self, Sample};

/// Round trips of one element type through HDF5 files in `dir`.
pub fn round_trips<T: Sample>(ctx: &Context, dir: &Path) -> Result<()> {
    let name = T::DTYPE.name();
    for shape in [&[7][..], &[5, 6], &[3, 4, 5]] {
        let a = io::global::<T>(shape);
        for (i, d) in io::distributions(ctx, shape).iter().enumerate() {
            let da = ctx.fromarray(&a, Some(d))?;
            let path = dir.join(format!("{name}_{}d_{i}_{}.h5", shape.len(), ctx.num_targets()));
            distarray::save_hdf5(&path, &da, &Hdf5Options::default())?;
            // Loaded over the default distribution and over the same one.
            let back = distarray::load_hdf5::<T>(&path, &Distribution::from_shape(ctx, shape)?, "buffer")?;
            assert_eq!(back.toarray()?, a, "{name} {shape:?} {d} via HDF5");
            let back = distarray::load_hdf5::<T>(&path, d, "buffer")?;
            assert_eq!(back.toarray()?, a, "{name} {shape:?} {d} via HDF5, same distribution");
            assert_eq!(back.get_localshapes(), da.get_localshapes());
        }
    }
    Ok(())
}

/// HDF5 round trips of arrays on fewer engines than `ctx` (see
/// `io::on_fewer_engines`), loaded over the same distribution and over one on
/// every engine.
pub fn fewer_engines_round_trips(ctx: &Context, dir: &Path) -> Result<()> {
    for (i, d) in io::on_fewer_engines(ctx).iter().enumerate() {
        let a = io::global::<f64>(d.shape());
        let da = ctx.fromarray(&a, Some(d))?;
        let path = dir.join(format!("fewer_{i}_{}.h5", ctx.num_targets()));
        distarray::save_hdf5(&path, &da, &Hdf5Options::default())?;
        assert_eq!(distarray::load_hdf5::<f64>(&path, d, "buffer")?.toarray()?, a, "{d} via HDF5");
        let full = Distribution::builder(ctx, d.shape()).dist("c").build()?;
        assert_eq!(distarray::load_hdf5::<f64>(&path, &full, "buffer")?.toarray()?, a, "{d} via HDF5 onto {full}");
    }
    Ok(())
}

/// Every element type's round trips.
pub fn all_round_trips(ctx: &Context, dir: &Path) -> Result<()> {
    use distarray::Complex;
    round_trips::<bool>(ctx, dir)?;
    round_trips::<i8>(ctx, dir)?;
    round_trips::<i16>(ctx, dir)?;
    round_trips::<i32>(ctx, dir)?;
    round_trips::<i64>(ctx, dir)?;
    round_trips::<u8>(ctx, dir)?;
    round_trips::<u16>(ctx, dir)?;
    round_trips::<u32>(ctx, dir)?;
    round_trips::<u64>(ctx, dir)?;
    round_trips::<f32>(ctx, dir)?;
    round_trips::<f64>(ctx, dir)?;
    round_trips::<Complex<f32>>(ctx, dir)?;
    round_trips::<Complex<f64>>(ctx, dir)
}

/// The error of `r`, which must fail with `kind` and name `path` and every
/// string of `mentions`.
fn expect_err<X>(r: Result<X>, kind: ErrorKind, path: &Path, mentions: &[&str]) -> Error {
    let Err(e) = r else { panic!("expected a {kind:?} error for {}", path.display()) };
    assert_eq!(e.kind(), kind, "{e}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "the message names the path: {message}");
    for m in mentions {
        assert!(message.contains(m), "the message mentions {m:?}: {message}");
    }
    e
}

/// Modes 'w' and 'a', existing keys, overwriting.
pub fn modes(ctx: &Context, dir: &Path) -> Result<()> {
    let path = dir.join(format!("modes_{}.h5", ctx.num_targets()));
    let d = Distribution::builder(ctx, &[9, 4]).dist("cb").build()?;
    let a = ctx.fromarray(&io::global::<i64>(&[9, 4]), Some(&d))?;
    let b = ctx.fromarray(&io::global::<f32>(&[9, 4]).mapv(|x| -x), None)?;
    let append = || Hdf5Options::new().mode(Hdf5Mode::Append);
    // 'a' creates a missing file.
    distarray::save_hdf5(&path, &a, &append().key("a"))?;
    distarray::save_hdf5(&path, &b, &append().key("b"))?;
    assert_eq!(distarray::load_hdf5::<i64>(&path, &d, "a")?.toarray()?, a.toarray()?);
    assert_eq!(distarray::load_hdf5::<f32>(&path, &d, "b")?.toarray()?, b.toarray()?);
    // An existing key is an error, in both modes' sense of it, unless asked.
    expect_err(distarray::save_hdf5(&path, &b, &append().key("a")), ErrorKind::Io, &path, &["\"a\"", "exists"]);
    assert_eq!(distarray::load_hdf5::<i64>(&path, &d, "a")?.toarray()?, a.toarray()?, "left as it was");
    distarray::save_hdf5(&path, &b, &append().key("a").overwrite(true))?;
    assert_eq!(distarray::load_hdf5::<f32>(&path, &d, "a")?.toarray()?, b.toarray()?, "replaced, with another dtype");
    assert_eq!(distarray::load_hdf5::<f32>(&path, &d, "b")?.toarray()?, b.toarray()?, "the other dataset stays");
    // 'w' truncates: only the new dataset is left.
    distarray::save_hdf5(&path, &a, &Hdf5Options::new().key("c"))?;
    assert_eq!(distarray::load_hdf5::<i64>(&path, &d, "c")?.toarray()?, a.toarray()?);
    expect_err(distarray::load_hdf5::<f32>(&path, &d, "b"), ErrorKind::KeyNotFound, &path, &["\"b\"", "\"c\""]);
    assert_eq!(Hdf5Mode::try_from('a')?, Hdf5Mode::Append);
    assert_eq!(Hdf5Mode::try_from('x').unwrap_err().kind(), ErrorKind::InvalidArgument);
    Ok(())
}

/// Every bad input is a clear error, and the context keeps working.
pub fn bad_input(ctx: &Context, dir: &Path) -> Result<()> {
    let d = Distribution::from_shape(ctx, &[6])?;
    let a = ctx.fromarray(&io::global::<f64>(&[6]), Some(&d))?;
    let path = dir.join(format!("bad_{}.h5", ctx.num_targets()));
    distarray::save_hdf5(&path, &a, &Hdf5Options::default())?;

    let missing = dir.join("no_such_file.h5");
    expect_err(distarray::load_hdf5::<f64>(&missing, &d, "buffer"), ErrorKind::Io, &missing, &["No such file"]);
    expect_err(distarray::load_hdf5::<f64>(&path, &d, "nope"), ErrorKind::KeyNotFound, &path, &["\"nope\"", "buffer"]);
    expect_err(
        distarray::load_hdf5::<i32>(&path, &d, "buffer"),
        ErrorKind::DTypeMismatch,
        &path,
        &["float64", "int32"],
    );
    expect_err(
        distarray::load_hdf5::<bool>(&path, &d, "buffer"),
        ErrorKind::DTypeMismatch,
        &path,
        &["float64", "bool"],
    );
    let d7 = Distribution::from_shape(ctx, &[7])?;
    expect_err(distarray::load_hdf5::<f64>(&path, &d7, "buffer"), ErrorKind::InvalidShape, &path, &["[6]", "[7]"]);
    let d2 = Distribution::from_shape(ctx, &[2, 3])?;
    expect_err(distarray::load_hdf5::<f64>(&path, &d2, "buffer"), ErrorKind::InvalidShape, &path, &["[6]", "[2, 3]"]);
    // Not an HDF5 file.
    let text = dir.join("not_hdf5.h5");
    std::fs::write(&text, b"just some text, not HDF5\n").unwrap();
    expect_err(distarray::load_hdf5::<f64>(&text, &d, "buffer"), ErrorKind::Format, &text, &["not an HDF5 file"]);
    expect_err(
        distarray::save_hdf5(&text, &a, &Hdf5Options::new().mode(Hdf5Mode::Append)),
        ErrorKind::Format,
        &text,
        &["not an HDF5 file"],
    );
    // A file that cannot be created.
    let nowhere = dir.join("no_such_dir").join("x.h5");
    expect_err(distarray::save_hdf5(&nowhere, &a, &Hdf5Options::default()), ErrorKind::Io, &nowhere, &[]);
    assert_eq!(
        distarray::save_hdf5(&path, &a, &Hdf5Options::new().key("")).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // Everything still works.
    assert_eq!(distarray::load_hdf5::<f64>(&path, &d, "buffer")?.toarray()?, a.toarray()?);
    assert_eq!(a.sum()?, (0..6).map(|k| k as f64).sum::<f64>());
    Ok(())
}
