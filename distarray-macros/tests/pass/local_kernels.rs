//! `#[local]` kernels of every return kind, with `&mut`, `&EngineCtx`,
//! collectives, `Context::apply` and a panicking kernel, checked against
//! ndarray.

use distarray::prelude::*;
use distarray::{local, Collectives};
use ndarray::{Array2, ArrayD};

/// Returns an array: every element times `k`.
#[local]
pub fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
    a.mapv(|x| x * k)
}

/// Returns a value per engine.
#[local]
fn local_sum(a: &LocalArray<f64>) -> f64 {
    a.iter().sum()
}

/// Returns `()`, changes its array in place.
#[local]
fn double_in_place(a: &mut LocalArray<f64>) {
    a.mapv_inplace(|x| x * 2.0);
}

/// Explicit `-> ()`, two arrays, one mutable: `a += b`.
#[local]
fn add_assign(a: &mut LocalArray<f64>, b: &LocalArray<f64>) -> () {
    *a.ndarray_mut() += b.ndarray();
}

/// No array: the client function takes the context.
#[local]
fn rank(ctx: &EngineCtx) -> usize {
    ctx.rank()
}

/// The engine context in the middle, and a collective.
#[local]
fn global_sum(a: &LocalArray<f64>, ctx: &EngineCtx, offset: f64) -> f64 {
    let local_sum: f64 = a.iter().sum();
    ctx.comm().all_gather(&local_sum).expect("all_gather").iter().sum::<f64>() + offset
}

/// A kernel that panics on engine 1.
#[local]
fn fail_on_one(a: &LocalArray<f64>, ctx: &EngineCtx) -> f64 {
    if ctx.rank() == 1 {
        panic!("boom on purpose");
    }
    a.iter().sum()
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    assert_eq!(ctx.num_targets(), 4);
    let expected = Array2::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as f64).into_dyn();
    let d = Distribution::from_shape(&ctx, &[7, 5])?;
    let mut a = ctx.fromarray(&expected, Some(&d))?;

    // Array result.
    let b: DistArray<f64> = scale(&a, 2.0)?;
    assert_eq!(b.toarray()?, &expected * 2.0);
    assert_eq!(b.shape(), &[7, 5]);

    // Value result: one entry per engine, summing to the total.
    let sums: Vec<f64> = local_sum(&a)?;
    assert_eq!(sums.len(), 4);
    assert_eq!(sums.iter().sum::<f64>(), expected.sum());

    // Engine context, no array: the context is passed.
    assert_eq!(rank(&ctx)?, vec![0, 1, 2, 3]);

    // Collectives inside a kernel: every engine has the global sum.
    assert_eq!(global_sum(&a, 1.0)?, vec![expected.sum() + 1.0; 4]);

    // `&mut`: in place.
    double_in_place(&mut a)?;
    assert_eq!(a.toarray()?, &expected * 2.0);
    add_assign(&mut a, &b)?;
    assert_eq!(a.toarray()?, &expected * 4.0);

    // `apply` on chosen engines, through the generated type.
    let some: Vec<f64> = ctx.apply::<local_sum>((&b,), Some(&[0, 2]))?;
    assert_eq!(some, vec![sums[0] * 2.0, sums[2] * 2.0]);
    let ranks: Vec<usize> = ctx.apply::<rank>((), Some(&[1, 3]))?;
    assert_eq!(ranks.len(), 2);
    let pieces: Vec<LocalArray<f64>> = ctx.apply::<scale>((&b, 0.5), None)?;
    assert_eq!(pieces.len(), 4);
    assert_eq!(pieces.iter().map(|p| p.iter().sum::<f64>()).sum::<f64>(), expected.sum());
    ctx.apply::<double_in_place>((&mut a,), None)?;
    assert_eq!(a.toarray()?, &expected * 8.0);

    // A panic comes back as an error naming the kernel, the engine and the
    // message; the array stays usable.
    let err = fail_on_one(&a).expect_err("the kernel panics");
    let msg = err.to_string();
    assert!(msg.contains("fail_on_one"), "{msg}");
    assert!(msg.contains("boom on purpose"), "{msg}");
    assert!(msg.contains("engine 1"), "{msg}");
    let after: ArrayD<f64> = a.toarray()?;
    assert_eq!(after, &expected * 8.0);
    assert_eq!(local_sum(&a)?.iter().sum::<f64>(), expected.sum() * 8.0);
    println!("{msg}");
    Ok(())
}
