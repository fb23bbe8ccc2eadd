use distarray::local;
use distarray::prelude::*;

#[local]
fn shape(a: &LocalArray<f64>) -> &[usize] {
    a.local_shape()
}

fn main() {}
