//! The isolation suite as one program for `mpirun -n N+1` (N >= 1); on
//! thread engines under a plain `cargo test`.

#[path = "support/isolation.rs"]
mod isolation;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let failures = isolation::check_failed_calls_change_nothing(&ctx)?;
    if n > 1 {
        let reversed: Vec<usize> = (0..n).rev().skip(1).collect();
        isolation::check_failed_calls_change_nothing(&Context::with_targets(&reversed)?)?;
    }
    isolation::check_kernels_cannot_drive_contexts(&ctx)?;
    isolation::check_deep_recursion(&ctx)?;
    isolation::check_bulk_values(&ctx)?;
    let closes = isolation::check_close_races(Context::new)?;
    println!("mpi_isolation: ok on the {} backend with {n} engines ({failures} failed calls undone, {closes} calls saw the close)", ctx.backend_name());
    Ok(())
}
