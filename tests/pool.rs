//! Freed pieces serve the next results of their size (engine/pool.rs):
//! asserted on the address of the pieces' buffers, not on time.

use distarray::prelude::*;

/// Where this engine's piece keeps its elements.
#[local]
fn address(a: &LocalArray<f64>) -> usize {
    a.as_ptr() as usize
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
    drop(b);
    assert!(ctx.release_pooled_memory()? >= (1 << 18) * 8);
    assert_eq!(ctx.release_pooled_memory()?, 0);
    // Another element type does not take an f64 buffer, and values are
    // never the pooled ones' (every element is written).
    drop(ctx.ones::<f64>(&d)?);
    let i = ctx.zeros::<i64>(&d)?;
    assert_eq!(i.sum()?, 0);
    Ok(())
}
