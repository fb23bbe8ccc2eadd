//! The indexing and redistribution suites as one program for `mpirun -n N+1`
//! (N >= 2); on thread engines under a plain `cargo test`.

#[path = "support/indexing.rs"]
mod indexing;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let slices = indexing::check_indexing(&ctx)?;
    let pairs = indexing::check_redistribution(&ctx)?;
    let sub = Context::with_targets(&[n - 1])?;
    let pairs_sub = indexing::check_redistribution(&sub)?;
    println!(
        "mpi_indexing: {slices} slices, {pairs} + {pairs_sub} redistributions checked on the {} backend with {n} engines",
        ctx.backend_name()
    );
    Ok(())
}
