//! The kernel suite as one program for `mpirun -n N+1` (N >= 2); on thread
//! engines under a plain `cargo test`.

#[path = "support/kernels.rs"]
mod kernels;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)?;
    let n = ctx.num_targets();
    let reversed: Vec<usize> = (0..n).rev().collect();
    kernels::check_kernels(&Context::with_targets(&reversed)?)?;
    println!("mpi_kernels: ok on the {} backend with {n} engines", ctx.backend_name());
    Ok(())
}
