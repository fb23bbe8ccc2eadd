use distarray::local;
use distarray::prelude::*;

#[local]
fn scale<T: Element>(a: &LocalArray<T>) -> usize {
    a.len()
}

fn main() {}
