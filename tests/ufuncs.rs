//! The ufunc suite on thread engines: contexts of 1, 3 and 4 engines.

#[path = "support/ufuncs.rs"]
mod ufuncs;

use distarray::prelude::*;

#[test]
fn ufuncs_on_one_engine() -> Result<()> {
    ufuncs::check_everything(&Context::with_targets(&[2])?);
    Ok(())
}

#[test]
fn ufuncs_on_three_engines() -> Result<()> {
    ufuncs::check_everything(&Context::with_targets(&[3, 0, 1])?);
    Ok(())
}

#[test]
fn ufuncs_on_four_engines() -> Result<()> {
    ufuncs::check_everything(&Context::new()?);
    Ok(())
}

#[test]
fn real_functions_within_a_few_ulp_of_numpy() -> Result<()> {
    let worst = ufuncs::check_real_accuracy(&Context::with_targets(&[1, 3])?);
    // The measured distances, shown with `--nocapture`.
    for (what, ulps) in worst {
        println!("{what}: {ulps} ulp");
    }
    Ok(())
}
