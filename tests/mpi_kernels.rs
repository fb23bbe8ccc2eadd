//! The kernel suite as one program for `mpirun -n N+1` (N >= 2); on thread
//! engines under a plain `cargo test`.

#[path = "support/kernels.rs"]
mod kernels;

use distarray::prelude::*;

fn main() -> Result<()> {
    // Low, for the timeout check; read when the first collective runs.
    std::env::set_var("DISTARRAY_COLLECTIVE_TIMEOUT", "2");
    let ctx = Context::new()?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)?;
    kernels::check_same_name_kernels(&ctx)?;
    kernels::check_fallible(&ctx)?;
    kernels::check_bodies(&ctx)?;
    kernels::check_vectorize_scalars(&ctx)?;
    kernels::check_generic_kernels(&ctx)?;
    kernels::check_panic_in_collective(&ctx)?;
    kernels::check_collective_timeout(&ctx)?;
    let n = ctx.num_targets();
    let reversed: Vec<usize> = (0..n).rev().collect();
    kernels::check_kernels(&Context::with_targets(&reversed)?)?;
    println!("mpi_kernels: ok on the {} backend with {n} engines", ctx.backend_name());
    Ok(())
}
