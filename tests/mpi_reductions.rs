//! The reduction suite as one program for `mpirun -n N+1`; on thread engines
//! under a plain `cargo test`.

#[path = "support/reductions.rs"]
mod reductions;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let mut checked = reductions::check_everything(&ctx)?;
    checked += reductions::check_everything(&Context::with_targets(&[n - 1])?)?;
    println!(
        "mpi_reductions: {checked} axis reductions checked on the {} backend with {n} engines",
        ctx.backend_name()
    );
    Ok(())
}
