//! `#[vectorize]` with one and three parameters, other element types, and
//! `Context::fromfunction`, checked against ndarray.

use distarray::prelude::*;
use distarray::vectorize;
use ndarray::{Array1, Array2};
use distarray::Complex;

#[vectorize]
fn square(x: f64) -> f64 {
    x * x
}

#[vectorize]
pub fn axpy(a: f64, x: f64, y: f64) -> f64 {
    a * x + y
}

#[vectorize]
fn table(i: i64, j: i64) -> f64 {
    (10 * i + j) as f64
}

#[vectorize]
fn is_even(x: i32) -> bool {
    x % 2 == 0
}

#[vectorize]
fn to_complex(re: f32, im: f32) -> Complex<f32> {
    Complex::new(re, im)
}

#[vectorize]
fn norm_sqr(z: distarray::Complex<f32>) -> f32 {
    z.norm_sqr()
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let x = Array2::from_shape_fn((6, 5), |(i, j)| (i as f64) - (j as f64) * 0.5).into_dyn();
    let d = Distribution::from_shape(&ctx, &[6, 5])?;
    let dx = ctx.fromarray(&x, Some(&d))?;

    assert_eq!(square(&dx)?.toarray()?, x.mapv(|v| v * v));

    let a = ctx.fromarray(&x.mapv(|v| v + 1.0), Some(&d))?;
    let y = ctx.ones::<f64>(&d)?;
    let r = axpy(&a, &dx, &y)?;
    assert_eq!(r.toarray()?, x.mapv(|v| (v + 1.0) * v + 1.0));

    // fromfunction: element (i, j) is table(i, j).
    let t = ctx.fromfunction::<table>(&[4, 5], None)?;
    assert_eq!(t.toarray()?, Array2::from_shape_fn((4, 5), |(i, j)| (10 * i + j) as f64).into_dyn());
    let dc = Distribution::builder(&ctx, &[9]).dist("c").build()?;
    let s = ctx.fromfunction::<square>(&[9], Some(&dc))?;
    assert_eq!(s.toarray()?, Array1::from_shape_fn(9, |i| (i * i) as f64).into_dyn());

    // The shapes must agree, and fromfunction needs one index per axis.
    let other = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[5, 6])?)?;
    assert!(axpy(&a, &other, &y).is_err());
    assert!(ctx.fromfunction::<table>(&[4, 5, 2], None).is_err());

    // Other element types.
    let n = ctx.fromarray(&Array1::from_shape_fn(10, |i| i as i32).into_dyn(), None)?;
    assert_eq!(is_even(&n)?.toarray()?, Array1::from_shape_fn(10, |i| i % 2 == 0).into_dyn());
    let re = ctx.fromarray(&Array1::from_shape_fn(8, |i| i as f32).into_dyn(), None)?;
    let z = to_complex(&re, &re)?;
    assert_eq!(z.toarray()?, Array1::from_shape_fn(8, |i| Complex::new(i as f32, i as f32)).into_dyn());
    assert_eq!(norm_sqr(&z)?.toarray()?, Array1::from_shape_fn(8, |i| 2.0 * (i * i) as f32).into_dyn());
    Ok(())
}
