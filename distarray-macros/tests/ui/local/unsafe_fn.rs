use distarray::local;
use distarray::prelude::*;

#[local]
unsafe fn first(a: &LocalArray<f64>) -> f64 {
    *a.as_ptr()
}

fn main() {}
