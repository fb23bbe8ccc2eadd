use distarray::local;
use distarray::prelude::*;

#[local(types(f32, f64))]
fn total(a: &LocalArray<f64>) -> f64 {
    a.sum()
}

fn main() {}
