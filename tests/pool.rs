//! Freed pieces serve the next results of their size (engine/pool.rs):
//! asserted on the address of the pieces' buffers, not on time.

use distarray::prelude::*;

/// Where this engine's piece keeps its elements.
#[local]
fn address(a: &LocalArray<f64>) -> usize {
    a.as_ptr() as usize
}

#[vectorize]
fn plus_three(x: f64) -> f64 {
    x + 3.0
}

#[test]
fn a_dropped_array_lends_its_buffers_to_the_next_of_its_size() -> Result<()> {
    let ctx = Context::new()?;
    ctx.release_pooled_memory()?;
    let d = Distribution::from_shape(&ctx, &[1 << 18])?;
    let a = ctx.ones::<f64>(&d)?;
    let before = ctx.apply::<address>((&a,), None)?;
    drop(a);
    let b = ctx.zeros::<f64>(&d)?;
    assert_eq!(ctx.apply::<address>((&b,), None)?, before, "zeros reuses the dropped pieces");
    assert_eq!(b.sum()?, 0.0);
    // An elementwise result, and a `#[vectorize]` one, take the last
    // dropped result's pieces.
    let c = &b + 1.0;
    let c_at = ctx.apply::<address>((&c,), None)?;
    drop(c);
    let e = &b + 2.0;
    assert_eq!(ctx.apply::<address>((&e,), None)?, c_at, "an elementwise result reuses the last one's pieces");
    assert_eq!(e.toarray()?.iter().copied().fold(0.0, f64::max), 2.0);
    drop(e);
    let f = plus_three(&b)?;
    assert_eq!(ctx.apply::<address>((&f,), None)?, c_at, "a #[vectorize] result reuses them too");
    assert_eq!(f.sum()?, 3.0 * (1 << 18) as f64);
    drop((b, f));
    assert!(ctx.release_pooled_memory()? >= (1 << 18) * 8);
    assert_eq!(ctx.release_pooled_memory()?, 0);
    // Another element type does not take an f64 buffer, and values are
    // never the pooled ones' (every element is written).
    drop(ctx.ones::<f64>(&d)?);
    let i = ctx.zeros::<i64>(&d)?;
    assert_eq!(i.sum()?, 0);
    Ok(())
}
