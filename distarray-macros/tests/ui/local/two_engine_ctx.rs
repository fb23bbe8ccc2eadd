use distarray::local;
use distarray::prelude::*;

#[local]
fn ranks(first: &EngineCtx, second: &EngineCtx) -> usize {
    first.rank() + second.rank()
}

fn main() {}
