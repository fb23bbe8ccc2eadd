//! The file IO suite as one program for `mpirun -n N+1` (N >= 1); on thread
//! engines under a plain `cargo test`. Files go to a directory unique to the
//! run, removed at the end.

#[path = "support/io.rs"]
mod io;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let dir = io::temp_dir("mpi_io");
    io::all_round_trips(&ctx, &dir)?;
    io::fewer_engines_round_trips(&ctx, &dir)?;
    if ctx.num_targets() > 1 {
        let sub = Context::with_targets(&ctx.targets()[1..])?;
        io::round_trips::<f64>(&sub, &dir)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("mpi_io: ok on {} engines ({})", ctx.num_targets(), ctx.backend_name());
    Ok(())
}
