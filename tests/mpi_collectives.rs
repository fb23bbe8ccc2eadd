//! The collectives suite as one program for `mpirun -n N+1` (N >= 2); on
//! thread engines under a plain `cargo test`.

#[path = "support/collectives.rs"]
mod collectives;

use distarray::prelude::*;

fn main() -> Result<()> {
    // Low, for the timeout check; read when the first collective runs.
    std::env::set_var("DISTARRAY_COLLECTIVE_TIMEOUT", "3");
    let ctx = Context::new()?;
    collectives::check_everything(&ctx)?;
    collectives::check_failures(&ctx)?;
    // Ranks in another order than the engines.
    let n = ctx.num_targets();
    let reversed: Vec<usize> = (0..n).rev().collect();
    collectives::check_everything(&Context::with_targets(&reversed)?)?;
    println!("mpi_collectives: ok on the {} backend with {n} engines", ctx.backend_name());
    Ok(())
}
