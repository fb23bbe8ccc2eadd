//! `#[vectorize]`: a scalar function applied elementwise to DistArrays, and
//! `Context::fromfunction` building an array from the global index.
//!
//!     cargo run --example vectorize

use distarray::prelude::*;
use distarray::vectorize;
use ndarray::{Array2, ArrayD, IxDyn};

/// Like numpy.vectorize: elementwise over arrays of one shape and distribution.
#[vectorize]
fn axpy(a: f64, x: f64, y: f64) -> f64 {
    a * x + y
}

/// A function of the global index (one parameter per axis) for fromfunction.
#[vectorize]
fn hilbert(i: f64, j: f64) -> f64 {
    1.0 / (i + j + 1.0)
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[5, 6]).dist("bc").build()?;
    let x = Array2::from_shape_fn((5, 6), |(i, j)| (i * 6 + j) as f64);
    let (a, dx, y) = (ctx.fromarray(&(&x * 0.0 + 2.0), Some(&d))?, ctx.fromarray(&x, Some(&d))?, ctx.ones::<f64>(&d)?);
    let r = axpy(&a, &dx, &y)?;
    assert_eq!(r.toarray()?, (&x * 2.0 + 1.0).into_dyn());
    println!("axpy: ok, result distributed as {}", r.distribution());

    // Built on the engines, element by element, from the global index.
    let h = ctx.fromfunction::<hilbert>(&[4, 4], None)?;
    let expected = ArrayD::from_shape_fn(IxDyn(&[4, 4]), |i| 1.0 / (i[0] + i[1] + 1) as f64);
    assert_eq!(h.toarray()?, expected);
    println!("hilbert(4):\n{:.3}", h.toarray()?);
    Ok(())
}
