use distarray::local;
use distarray::prelude::*;

#[local]
fn rank(ctx: &mut EngineCtx) -> usize {
    ctx.rank()
}

fn main() {}
