//! The kernel suite on thread engines, over all engines and a subset.

#[path = "support/kernels.rs"]
#[allow(dead_code)] // each file uses part of the suite
mod kernels;

use distarray::prelude::*;

#[test]
fn kernels_on_all_engines() -> Result<()> {
    let ctx = Context::new()?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)
}

#[test]
fn kernels_on_a_subset() -> Result<()> {
    let ctx = Context::with_targets(&[3, 1, 2])?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)
}
