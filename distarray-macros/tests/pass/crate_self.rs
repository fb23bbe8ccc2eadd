//! `crate = "crate"`, as the distarray crates use the macros on themselves:
//! here the crate root re-exports distarray, so `crate::…` reaches it.

pub use distarray::*;

#[distarray::local(crate = "crate")]
fn count(a: &LocalArray<u8>) -> usize {
    a.len()
}

#[distarray::vectorize(crate = "crate")]
fn negate(x: i16) -> i16 {
    -x
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::from_shape(&ctx, &[9, 2])?;
    let a = ctx.zeros::<u8>(&d)?;
    assert_eq!(count(&a)?.iter().sum::<usize>(), 18);
    let ones = ctx.ones::<i16>(&d)?;
    assert!(negate(&ones)?.toarray()?.iter().all(|&v| v == -1));
    Ok(())
}
