//! HDF5 files on thread engines (feature `hdf5`): round trips on contexts of
//! 1, 3 and 4 engines, the file modes, bad input, and interop with h5py and
//! h5dump.
#![cfg(feature = "hdf5")]

#[allow(dead_code)]
#[path = "support/io.rs"]
mod io;
#[path = "support/hdf5.rs"]
mod suite;

use std::path::Path;
use std::process::Command;

use distarray::prelude::*;
use distarray::{Complex, Hdf5Options};

/// The tests of this file run one at a time: HDF5 opens files without
/// `O_CLOEXEC`, so a python3 or h5dump child spawned by one test while
/// another test has a file open inherits that descriptor and holds the
/// file's lock for as long as it runs.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn round_trips_on_1_3_and_4_engines() -> Result<()> {
    let _serial = serial();
    let dir = io::temp_dir("hdf5_round_trips");
    suite::all_round_trips(&Context::new()?, &dir)?;
    suite::all_round_trips(&Context::with_targets(&[0])?, &dir)?;
    suite::round_trips::<f64>(&Context::with_targets(&[3, 1, 2])?, &dir)?;
    suite::round_trips::<Complex<f32>>(&Context::with_targets(&[3, 1, 2])?, &dir)?;
    suite::round_trips::<bool>(&Context::with_targets(&[3, 1, 2])?, &dir)?;
    for targets in [&[0, 1, 2, 3][..], &[0], &[3, 1, 2]] {
        suite::fewer_engines_round_trips(&Context::with_targets(targets)?, &dir)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn modes_and_existing_keys() -> Result<()> {
    let _serial = serial();
    let dir = io::temp_dir("hdf5_modes");
    suite::modes(&Context::new()?, &dir)?;
    suite::modes(&Context::with_targets(&[2, 0, 1])?, &dir)?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn bad_input_is_a_clear_error() -> Result<()> {
    let _serial = serial();
    let dir = io::temp_dir("hdf5_bad");
    suite::bad_input(&Context::new()?, &dir)?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Runs tests/interop/h5py_interop.py; false (with a notice) when h5py
/// cannot be imported.
fn h5py(args: &[&str]) -> bool {
    let has_h5py = Command::new("python3").args(["-c", "import h5py"]).status().is_ok_and(|s| s.success());
    if !has_h5py {
        eprintln!("NOTICE: h5py cannot be imported; skipping the h5py interop test (python3 -m pip install h5py)");
        return false;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/h5py_interop.py");
    let out = Command::new("python3").arg(script).args(args).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "h5py_interop.py {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn h5py_reads_and_writes() -> Result<()> {
    let _serial = serial();
    let dir = io::temp_dir("hdf5_h5py");
    if !h5py(&["write", dir.to_str().unwrap()]) {
        return Ok(());
    }
    let ctx = Context::new()?;
    let theirs = dir.join("h5py.h5");
    let ours = dir.join("rust.h5");
    let mut specs = Vec::new();
    fn one<T: io::Sample>(ctx: &Context, theirs: &Path, ours: &Path, specs: &mut Vec<String>) -> Result<()> {
        let key = T::DTYPE.name();
        let expected = io::global::<T>(&[5, 6]);
        // Read over a block-cyclic and a cyclic distribution.
        for d in
            [io::distributions(ctx, &[5, 6]).pop().unwrap(), Distribution::builder(ctx, &[5, 6]).dist("cc").build()?]
        {
            let a = distarray::load_hdf5::<T>(theirs, &d, key)?;
            assert_eq!(a.toarray()?, expected, "{key} written by h5py, over {d}");
        }
        // Written back by Rust over an unstructured-first distribution.
        let d = Distribution::builder(ctx, &[5, 6]).dist("ub").build()?;
        let a = ctx.fromarray(&expected, Some(&d))?;
        distarray::save_hdf5(ours, &a, &Hdf5Options::new().key(key).mode(distarray::Hdf5Mode::Append))?;
        specs.push(format!("{key}:5x6:{key}"));
        Ok(())
    }
    one::<bool>(&ctx, &theirs, &ours, &mut specs)?;
    one::<i8>(&ctx, &theirs, &ours, &mut specs)?;
    one::<i16>(&ctx, &theirs, &ours, &mut specs)?;
    one::<i32>(&ctx, &theirs, &ours, &mut specs)?;
    one::<i64>(&ctx, &theirs, &ours, &mut specs)?;
    one::<u8>(&ctx, &theirs, &ours, &mut specs)?;
    one::<u16>(&ctx, &theirs, &ours, &mut specs)?;
    one::<u32>(&ctx, &theirs, &ours, &mut specs)?;
    one::<u64>(&ctx, &theirs, &ours, &mut specs)?;
    one::<f32>(&ctx, &theirs, &ours, &mut specs)?;
    one::<f64>(&ctx, &theirs, &ours, &mut specs)?;
    one::<Complex<f32>>(&ctx, &theirs, &ours, &mut specs)?;
    one::<Complex<f64>>(&ctx, &theirs, &ours, &mut specs)?;
    // Big-endian data and a dataset in a group.
    let be = distarray::load_hdf5::<f64>(
        &theirs,
        &Distribution::builder(&ctx, &[3, 4, 5]).dist("cbn").build()?,
        "float64_be",
    )?;
    assert_eq!(be.toarray()?, io::global::<f64>(&[3, 4, 5]));
    let g = distarray::load_hdf5::<i32>(&theirs, &Distribution::builder(&ctx, &[7]).dist("c").build()?, "group/int32")?;
    assert_eq!(g.toarray()?, io::global::<i32>(&[7]));
    // Bad input written by h5py: clear errors naming the path and dataset.
    let e = distarray::load_hdf5::<bool>(&theirs, &Distribution::from_shape(&ctx, &[4])?, "bad_bool").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert!(e.to_string().contains("\"bad_bool\"") && e.to_string().contains("invalid value"), "{e}");
    let e = distarray::load_hdf5::<u8>(&theirs, &Distribution::from_shape(&ctx, &[2])?, "strings").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DTypeMismatch, "{e}");
    assert!(e.to_string().contains(theirs.to_str().unwrap()) && e.to_string().contains("FixedAscii(3)"), "{e}");
    // A 3-D array under the default key, and h5py checks everything.
    let d3 = Distribution::builder(&ctx, &[3, 4, 5]).dist("ubc").build()?;
    let a3 = ctx.fromarray(&io::global::<u16>(&[3, 4, 5]), Some(&d3))?;
    let ours3 = dir.join("rust3.h5");
    distarray::save_hdf5(&ours3, &a3, &Hdf5Options::default())?;
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    h5py(&[["check", ours.to_str().unwrap()].as_slice(), &specs].concat());
    h5py(&["check", ours3.to_str().unwrap(), "buffer:3x4x5:uint16"]);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn h5dump_shows_the_dataset() -> Result<()> {
    let _serial = serial();
    let Ok(status) = Command::new("h5dump").arg("--version").output() else {
        eprintln!("NOTICE: h5dump is not installed; skipping");
        return Ok(());
    };
    assert!(status.status.success());
    let dir = io::temp_dir("hdf5_h5dump");
    let ctx = Context::new()?;
    let path = dir.join("dump.h5");
    let a =
        ctx.fromarray(&io::global::<f64>(&[6, 4]), Some(&Distribution::builder(&ctx, &[6, 4]).dist("cc").build()?))?;
    distarray::save_hdf5(&path, &a, &Hdf5Options::default())?;
    let c = ctx.fromarray(&io::global::<Complex<f32>>(&[5]), None)?;
    distarray::save_hdf5(&path, &c, &Hdf5Options::new().key("z").mode(distarray::Hdf5Mode::Append))?;
    let out = Command::new("h5dump").arg("-H").arg(&path).output().expect("h5dump runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("DATASET \"buffer\""), "{text}");
    assert!(text.contains("H5T_IEEE_F64LE"), "{text}");
    assert!(text.contains("( 6, 4 )"), "{text}");
    assert!(text.contains("DATASET \"z\"") && text.contains("\"r\"") && text.contains("\"i\""), "{text}");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
