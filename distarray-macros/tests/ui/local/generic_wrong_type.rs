use distarray::local;
use distarray::prelude::*;

#[local(types(f32, f64))]
fn scale<T: Element + std::ops::Mul<Output = T>>(a: &LocalArray<T>, k: T) -> LocalArray<T> {
    a.mapv(|x| x * k)
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let ints = ctx.ones::<i64>(&Distribution::from_shape(&ctx, &[4])?)?;
    let _ = scale(&ints, 2)?;
    Ok(())
}
