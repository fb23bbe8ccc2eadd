use distarray::local;
use distarray::prelude::*;

#[local]
fn total(a: &DistArray<f64>) -> usize {
    a.global_size()
}

fn main() {}
