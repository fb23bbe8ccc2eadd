use distarray::local;
use distarray::prelude::*;

#[local]
fn shift(a: &LocalArray<f64>, (lo, hi): (f64, f64)) -> LocalArray<f64> {
    a.mapv(|x| x.clamp(lo, hi))
}

fn main() {}
