//! The ghost-cell suite on thread engines: 1, 2, 3 and 4 of the 4 engines,
//! and 3 in another order.

#[path = "support/halo.rs"]
mod halo;

use distarray::prelude::*;

fn each_engine_count(check: impl Fn(&Context) -> Result<()>) -> Result<()> {
    for targets in [&[0][..], &[0, 1], &[0, 1, 2], &[0, 1, 2, 3], &[2, 0, 3]] {
        check(&Context::with_targets(targets)?)?;
    }
    Ok(())
}

#[test]
fn halos() -> Result<()> {
    each_engine_count(halo::check_halos)
}

#[test]
fn jacobi_in_one_kernel_matches_the_serial_solution() -> Result<()> {
    each_engine_count(halo::check_jacobi)
}

#[test]
fn stencils_match_the_serial_solutions() -> Result<()> {
    each_engine_count(halo::check_stencils)
}

#[test]
fn dnpy_files_carry_the_padding() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("distarray-halo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let out = each_engine_count(|ctx| halo::check_dnpy(ctx, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn halo_errors() -> Result<()> {
    each_engine_count(halo::check_halo_errors)
}

/// On target lists of its own: a failed call of a test running alongside
/// resets the communicator of its engines, which drops the exchanges in
/// flight over it (see `PendingHaloExchange::finish`).
#[test]
fn split_exchange_with_calls_in_between() -> Result<()> {
    for targets in [&[1][..], &[1, 0], &[3, 1, 2], &[3, 2, 1, 0], &[1, 3, 0]] {
        halo::check_split_exchange(&Context::with_targets(targets)?)?;
    }
    Ok(())
}
