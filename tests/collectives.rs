//! The collectives suite on thread engines, for contexts of 1 to 4 engines
//! (targets out of order, so that ranks are not engine ids).

#[path = "support/collectives.rs"]
mod collectives;

use distarray::prelude::*;

fn context(targets: &[usize]) -> Result<Context> {
    // Low, for the timeout check; read when the first collective runs (every
    // test sets the same value).
    std::env::set_var("DISTARRAY_COLLECTIVE_TIMEOUT", "3");
    Context::with_targets(targets)
}

#[test]
fn one_engine() -> Result<()> {
    collectives::check_everything(&context(&[2])?)
}

#[test]
fn two_engines() -> Result<()> {
    let ctx = context(&[3, 1])?;
    collectives::check_everything(&ctx)?;
    collectives::check_failures(&ctx)
}

#[test]
fn three_engines() -> Result<()> {
    let ctx = context(&[2, 0, 1])?;
    collectives::check_everything(&ctx)?;
    collectives::check_failures(&ctx)
}

#[test]
fn four_engines() -> Result<()> {
    let ctx = context(&[0, 1, 2, 3])?;
    collectives::check_everything(&ctx)?;
    collectives::check_failures(&ctx)
}
