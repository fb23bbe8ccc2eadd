use distarray::local;
use distarray::prelude::*;

#[local]
fn label(a: &LocalArray<f64>, name: &str) -> String {
    format!("{name}: {}", a.len())
}

fn main() {}
