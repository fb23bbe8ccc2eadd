use distarray::prelude::*;
use distarray::vectorize;

#[vectorize]
fn axpy(a: f64, x: f64, y: f64) -> f64 {
    a * x + y
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let x = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[4])?)?;
    // A `&DistArray<f32>` where the function takes `f64`s.
    let y = ctx.ones::<f32>(&Distribution::from_shape(&ctx, &[4])?)?;
    let _ = axpy(2.0, &x, &y)?;
    Ok(())
}
