//! `#[stencil]` with scalars, a parameter named `out`, and its point
//! function called on its own.

use distarray::prelude::*;

/// A weighted three-point average.
#[stencil(radius = 1)]
pub fn smooth(u: &Neighbourhood<f64>, w: f64, out: f64) -> f64 {
    w * (u[[-1]] + u[[1]]) + (1.0 - 2.0 * w) * u[[0]] + out
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[24]).halo(&[1]).periodic(&[true]).build()?;
    let mut u = ctx.ones::<f64>(&d)?;
    let mut next = ctx.zeros::<f64>(&d)?;
    smooth(&mut u, &mut next, 0.25, 0.0)?;
    assert_eq!(next.toarray()?.sum(), 24.0);
    let grid = ndarray::Array1::from(vec![1.0, 2.0, 3.0]).into_dyn();
    let n = Neighbourhood::new(&grid, &[1], 1).expect("inside");
    assert_eq!(smooth::point(&n, 0.25, 1.0), 3.0);
    Ok(())
}
