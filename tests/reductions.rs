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
