use distarray::prelude::*;
use distarray::vectorize;

#[vectorize(types(f32, f64))]
fn axpy<T: Element + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(a: T, x: T, y: T) -> T {
    a * x + y
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let ints = ctx.ones::<i32>(&Distribution::from_shape(&ctx, &[4])?)?;
    let _ = axpy(&ints, &ints, &ints)?;
    Ok(())
}
