//! `crate = "..."` for a renamed dependency, at the crate root and in a
//! module that renames it with `use`.

extern crate distarray as da;

use da::prelude::{Context, Distribution, EngineCtx, LocalArray};

#[da::local(crate = "da")]
fn plus(a: &LocalArray<i64>, k: i64) -> LocalArray<i64> {
    a.mapv(|x| x + k)
}

#[da::vectorize(crate = "da")]
fn half(x: f64) -> f64 {
    x / 2.0
}

mod inner {
    use distarray as dist;
    use dist::prelude::EngineCtx;

    #[dist::local(crate = "dist")]
    pub(crate) fn size(ctx: &EngineCtx) -> usize {
        ctx.size()
    }

    #[dist::local(crate = "self::dist")]
    pub(crate) fn ranks_times(ctx: &EngineCtx, k: usize) -> usize {
        ctx.rank() * k
    }
}

#[da::local(crate = "::da")]
fn engine_id(ctx: &EngineCtx) -> usize {
    ctx.engine_id()
}

fn main() -> da::Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::from_shape(&ctx, &[10])?;
    let a = ctx.zeros::<i64>(&d)?;
    assert!(plus(&a, 3)?.toarray()?.iter().all(|&v| v == 3));
    let ones = ctx.ones::<f64>(&d)?;
    assert!(half(&ones)?.toarray()?.iter().all(|&v| v == 0.5));
    assert_eq!(inner::size(&ctx)?, vec![4; 4]);
    assert_eq!(inner::ranks_times(&ctx, 10)?, vec![0, 10, 20, 30]);
    assert_eq!(engine_id(&ctx)?.len(), 4);
    Ok(())
}
