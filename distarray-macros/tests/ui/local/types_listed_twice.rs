use distarray::local;
use distarray::prelude::*;

#[local(types(f64, f32, f64))]
fn total<T: Element>(a: &LocalArray<T>) -> usize {
    a.len()
}

fn main() {}
