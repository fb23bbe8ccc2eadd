//! `#[local]` kernels: functions that run on every engine, on that engine's
//! piece, called from the client like ordinary functions.
//!
//!     cargo run --example local_kernels
//!     mpirun -n 5 target/debug/examples/local_kernels   (built with --features mpi)

use distarray::prelude::*;
use distarray::{local, vectorize, Collectives};
use ndarray::Array2;

/// Runs on every engine; the returned pieces form a new DistArray.
#[local]
fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
    a.map(|x| x * k)
}

/// One value per engine comes back as a Vec, in engine order.
#[local]
fn local_max(a: &LocalArray<f64>) -> f64 {
    a.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Modifies the engine's piece in place.
#[local]
fn clamp(a: &mut LocalArray<f64>, lo: f64, hi: f64) {
    a.mapv_inplace(|x| x.clamp(lo, hi));
}

/// The engine context gives the rank and a communicator for collectives.
#[local]
fn global_count_above(a: &LocalArray<f64>, threshold: f64, engine: &EngineCtx) -> usize {
    let mine = a.iter().filter(|&&x| x > threshold).count();
    let all: Vec<usize> = engine.comm().all_gather(&mine).unwrap_or_default();
    all.iter().sum()
}

/// A kernel that can fail: an `Err` on any engine fails the call, naming
/// the kernel, the engine and the message; the arrays stay as they were.
#[local]
fn checked_log(a: &LocalArray<f64>) -> std::result::Result<LocalArray<f64>, String> {
    match a.iter().find(|&&x| x <= 0.0) {
        Some(x) => Err(format!("log of {x}")),
        None => Ok(a.mapv(f64::ln)),
    }
}

/// A generic kernel, registered for the listed element types.
#[local(types(f32, f64))]
fn shift<T: Element + std::ops::Add<Output = T>>(a: &LocalArray<T>, by: T) -> LocalArray<T> {
    a.mapv(|x| x + by)
}

/// Elementwise; each argument of the client function is an array or a scalar.
#[vectorize]
fn axpy(a: f64, x: f64, y: f64) -> f64 {
    a * x + y
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let data = Array2::from_shape_fn((6, 8), |(i, j)| i as f64 - j as f64);
    let a = ctx.fromarray(&data, None)?;

    let doubled = scale(&a, 2.0)?;
    assert_eq!(doubled.toarray()?, (&data * 2.0).into_dyn());
    println!("scale: ok on {:?}", doubled.grid_shape());

    let maxima = local_max(&a)?;
    println!("local maxima per engine: {maxima:?}");
    assert_eq!(maxima.iter().copied().fold(f64::NEG_INFINITY, f64::max), 5.0);

    let mut c = ctx.fromarray(&data, None)?;
    clamp(&mut c, -2.0, 2.0)?;
    assert_eq!(c.toarray()?, data.mapv(|x| x.clamp(-2.0, 2.0)).into_dyn());

    let counts = global_count_above(&a, 0.0)?;
    println!("elements above 0, as every engine computed it: {counts:?}");
    assert!(counts.iter().all(|&n| n == data.iter().filter(|&&x| x > 0.0).count()));

    let err = checked_log(&a).unwrap_err();
    println!("checked_log failed as it should: {err}");
    let positive = ctx.fromarray(&data.mapv(|x| x.abs() + 1.0), None)?;
    assert_eq!(checked_log(&positive)?.toarray()?, data.mapv(|x| (x.abs() + 1.0).ln()).into_dyn());

    let narrow = ctx.fromarray(&data.mapv(|x| x as f32), None)?;
    assert_eq!(shift(&narrow, 0.5)?.toarray()?, data.mapv(|x| x as f32 + 0.5).into_dyn());
    assert_eq!(shift(&a, 0.5)?.toarray()?, data.mapv(|x| x + 0.5).into_dyn());

    // A scalar for `a` and for `y`: nothing but `x` is an array.
    assert_eq!(axpy(2.0, &a, 1.0)?.toarray()?, data.mapv(|x| 2.0 * x + 1.0).into_dyn());

    // A kernel's body is a plain function on a local array.
    let piece = LocalArray::from_ndarray(data.clone());
    assert_eq!(scale::body(&piece, 2.0).ndarray(), &(&data * 2.0).into_dyn());

    // The reference's `apply`: the same kernel on chosen engines only.
    let first_two = ctx.apply::<local_max>((&a,), Some(&ctx.targets()[..2.min(ctx.num_targets())]))?;
    println!("apply on the first engines: {first_two:?}");
    Ok(())
}
