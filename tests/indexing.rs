//! get/set/slice/assign on thread engines, for contexts of 1, 3 and 4 engines.

#[path = "support/indexing.rs"]
mod indexing;

use distarray::prelude::*;

fn run_on(targets: &[usize]) -> Result<()> {
    let ctx = Context::with_targets(targets)?;
    let checked = indexing::check_indexing(&ctx)?;
    assert!(checked > 100, "only {checked} slices were checked");
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
