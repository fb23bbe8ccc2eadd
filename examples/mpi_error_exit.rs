//! A client that returns an error from `main` while arrays are alive: every
//! rank must still end (the engines cleanly, the client with status 1), none
//! may hang. The test script runs it under `mpirun` and checks exactly that.

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let _alive = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[100])?)?;
    // A bad grid shape: 3 ranks along an axis on a context that may have 4.
    let bad = Distribution::builder(&ctx, &[10]).grid_shape(&[ctx.num_targets() + 1]).build()?;
    println!("unreachable: {bad}");
    Ok(())
}
