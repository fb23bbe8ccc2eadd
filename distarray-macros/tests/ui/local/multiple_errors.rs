use distarray::local;
use distarray::prelude::*;

#[local(crate = "distarray", threads = 2, crate = "distarray")]
unsafe fn everything_wrong<T>(
    a: LocalArray<f64>,
    name: &str,
    ctx: &EngineCtx,
    again: &EngineCtx,
    (x, y): (f64, f64),
) -> &'static str {
    let _ = (a, name, ctx, again, x, y);
    "no"
}

fn main() {}
