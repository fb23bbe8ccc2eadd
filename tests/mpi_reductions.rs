//! The reduction suite as one program for `mpirun -n N+1`; on thread engines
//! under a plain `cargo test`.

#[path = "support/comm_stats.rs"]
mod comm_stats;
#[path = "support/reductions.rs"]
mod reductions;

use distarray::prelude::*;

/// A pipelined operation is one client message, and a waited `sync` or
/// `sum` one each way, whatever the engine count: on thread engines always,
/// under MPI from `DISTARRAY_TREE_MIN` engines on (the command tree; below,
/// one message per engine each way).
fn check_client_messages(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    // The MPI tree starts at DISTARRAY_TREE_MIN engines (default 32).
    let tree_min = std::env::var("DISTARRAY_TREE_MIN").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let per = if ctx.backend_name() == "mpi" && ctx.num_engines() < tree_min { n as u64 } else { 1 };
    let d = Distribution::from_shape(ctx, &[16 * n])?;
    let mut a = ctx.ones::<f64>(&d)?;
    let pipelined = comm_stats::messages(ctx, || {
        a *= 2.0;
        Ok(())
    })?;
    assert_eq!(pipelined, (per, 0), "a pipelined operation on {n} engines");
    assert_eq!(comm_stats::messages(ctx, || ctx.sync())?, (per, per), "sync on {n} engines");
    let mut total = 0.0;
    let sum = comm_stats::messages(ctx, || {
        total = a.sum()?;
        Ok(())
    })?;
    assert_eq!(sum, (per, per), "sum on {n} engines");
    assert_eq!(total, 32.0 * n as f64);
    Ok(())
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    check_client_messages(&ctx)?;
    let mut checked = reductions::check_everything(&ctx)?;
    checked += reductions::check_everything(&Context::with_targets(&[n - 1])?)?;
    println!(
        "mpi_reductions: {checked} axis reductions checked on the {} backend with {n} engines",
        ctx.backend_name()
    );
    Ok(())
}
