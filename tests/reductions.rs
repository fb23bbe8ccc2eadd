//! The reduction suite on thread engines, for contexts of 1, 3 and 4 engines.

#[path = "support/reductions.rs"]
mod reductions;

use distarray::prelude::*;

fn run_on(targets: &[usize]) -> Result<()> {
    let ctx = Context::with_targets(targets)?;
    let checked = reductions::check_everything(&ctx)?;
    assert!(checked > 50, "only {checked} axis reductions were checked");
    Ok(())
}

#[test]
fn one_engine() -> Result<()> {
    run_on(&[1])
}

#[test]
fn three_engines() -> Result<()> {
    run_on(&[2, 0, 1])
}

#[test]
fn four_engines() -> Result<()> {
    run_on(&[0, 1, 2, 3])
}

#[test]
fn variance_of_a_large_offset_along_axes() -> Result<()> {
    for targets in [&[1][..], &[0, 2], &[3, 1, 2], &[0, 1, 2, 3]] {
        let worst = reductions::check_large_offset(&Context::with_targets(targets)?)?;
        println!("{} engines: largest relative error of var/std of 1e9 + noise {worst:.2e}", targets.len());
    }
    Ok(())
}

#[test]
fn mean_of_infinities_on_every_layout() -> Result<()> {
    for targets in [&[2][..], &[1, 0], &[0, 1, 3]] {
        reductions::check_infinities(&Context::with_targets(targets)?)?;
    }
    Ok(())
}

/// numpy's own results on the same data (skipped, with a notice, without numpy).
#[test]
fn infinities_and_large_offsets_as_numpy() -> Result<()> {
    use std::process::Command;
    let has_numpy = Command::new("python3").args(["-c", "import numpy"]).status().is_ok_and(|s| s.success());
    if !has_numpy {
        eprintln!("NOTICE: numpy cannot be imported; skipping the numpy cross-check of reductions");
        return Ok(());
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/numpy_reductions.py");
    let out = Command::new("python3").arg(script).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    for targets in [&[0][..], &[2, 1], &[0, 1, 2, 3]] {
        reductions::check_against_numpy(&Context::with_targets(targets)?, &printed)?;
    }
    Ok(())
}
