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

#[test]
fn split_exchange_with_calls_in_between() -> Result<()> {
    each_engine_count(halo::check_split_exchange)
}
