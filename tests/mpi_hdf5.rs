//! The HDF5 suite as one program for `mpirun -n N+1` (N >= 1), where the
//! engines read and write collectively through MPI-IO; on thread engines
//! under a plain `cargo test --features hdf5`. Files go to a directory unique
//! to the run, removed at the end.

#[allow(dead_code)]
#[path = "support/io.rs"]
mod io;
#[path = "support/hdf5.rs"]
mod suite;

use std::path::Path;
use std::process::Command;

use distarray::prelude::*;
use distarray::{Complex, Hdf5Mode, Hdf5Options};

/// Runs tests/interop/h5py_interop.py; false (with a notice) when h5py
/// cannot be imported.
fn h5py(args: &[&str]) -> bool {
    let has_h5py = Command::new("python3").args(["-c", "import h5py"]).status().is_ok_and(|s| s.success());
    if !has_h5py {
        eprintln!("NOTICE: h5py cannot be imported; skipping the h5py interop check");
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

/// Files h5py wrote load on the engines; files the engines wrote
/// collectively read back in h5py.
fn interop(ctx: &Context, dir: &Path) -> Result<()> {
    if !h5py(&["write", dir.to_str().unwrap()]) {
        return Ok(());
    }
    let theirs = dir.join("h5py.h5");
    let ours = dir.join("mpi_written.h5");
    fn one<T: io::Sample>(ctx: &Context, theirs: &Path, ours: &Path) -> Result<String> {
        let key = T::DTYPE.name();
        let expected = io::global::<T>(&[5, 6]);
        let d = io::distributions(ctx, &[5, 6]).pop().unwrap();
        assert_eq!(distarray::load_hdf5::<T>(theirs, &d, key)?.toarray()?, expected, "{key} written by h5py");
        let d = Distribution::builder(ctx, &[5, 6]).dist("uc").build()?;
        distarray::save_hdf5(
            ours,
            &ctx.fromarray(&expected, Some(&d))?,
            &Hdf5Options::new().key(key).mode(Hdf5Mode::Append),
        )?;
        Ok(format!("{key}:5x6:{key}"))
    }
    let specs = [
        one::<bool>(ctx, &theirs, &ours)?,
        one::<i16>(ctx, &theirs, &ours)?,
        one::<u64>(ctx, &theirs, &ours)?,
        one::<f32>(ctx, &theirs, &ours)?,
        one::<Complex<f32>>(ctx, &theirs, &ours)?,
        one::<Complex<f64>>(ctx, &theirs, &ours)?,
    ];
    let mut args = vec!["check", ours.to_str().unwrap()];
    args.extend(specs.iter().map(String::as_str));
    h5py(&args);
    Ok(())
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let dir = io::temp_dir("mpi_hdf5");
    suite::all_round_trips(&ctx, &dir)?;
    suite::fewer_engines_round_trips(&ctx, &dir)?;
    suite::modes(&ctx, &dir)?;
    suite::bad_input(&ctx, &dir)?;
    interop(&ctx, &dir)?;
    if ctx.num_targets() > 1 {
        // A communicator of some engines only, in another order.
        let mut targets = ctx.targets()[1..].to_vec();
        targets.reverse();
        let sub = Context::with_targets(&targets)?;
        suite::round_trips::<f64>(&sub, &dir)?;
        suite::round_trips::<bool>(&sub, &dir)?;
        suite::modes(&sub, &dir)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("mpi_hdf5: ok on {} engines ({})", ctx.num_targets(), ctx.backend_name());
    Ok(())
}
