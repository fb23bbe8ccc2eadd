//! The ufunc suite as one program for `mpirun -n N+1` (N >= 1); on thread
//! engines under a plain `cargo test`.

#[path = "support/fusion.rs"]
mod fusion;
#[path = "support/ufuncs.rs"]
mod ufuncs;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    fusion::check_one_pass(&ctx)?;
    let layouts = ufuncs::check_everything(&ctx);
    let n = ctx.num_targets();
    if n > 1 {
        let reversed: Vec<usize> = (0..n).rev().skip(1).collect();
        // Other rank orders, on fewer engines (the per-function checks once is enough).
        let sub = Context::with_targets(&reversed)?;
        ufuncs::check_every_layout(&sub);
        ufuncs::check_errors(&sub);
        ufuncs::check_mismatches(&sub);
    }
    println!("mpi_ufuncs: ok on the {} backend with {n} engines ({layouts} layouts)", ctx.backend_name());
    Ok(())
}
