//! The ghost-cell suite, and no allocation per time step, as one program for
//! `mpirun -n N+1` (N >= 1); on
//! thread engines under a plain `cargo test`. Files go to a directory unique
//! to the run, removed at the end.

#[path = "support/allocations.rs"]
mod allocations;
#[path = "support/halo.rs"]
mod halo;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    // First, while the engines have exchanged nothing yet.
    allocations::check_no_allocation_per_step(&ctx, true)?;
    let dir = std::env::temp_dir().join(format!("distarray-mpi-halo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let reversed: Vec<usize> = ctx.targets().iter().rev().copied().collect();
    for c in [ctx.clone(), Context::with_targets(&reversed)?] {
        halo::check_halos(&c)?;
        halo::check_jacobi(&c)?;
        halo::check_stencils(&c)?;
        halo::check_dnpy(&c, &dir)?;
        halo::check_halo_errors(&c)?;
        halo::check_split_exchange(&c)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("mpi_halo: ok on {} engines ({})", ctx.num_targets(), ctx.backend_name());
    Ok(())
}
