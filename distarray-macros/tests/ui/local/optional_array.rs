use distarray::local;
use distarray::prelude::*;

#[local]
fn total(a: &LocalArray<f64>, weights: Option<&LocalArray<f64>>) -> f64 {
    match weights {
        Some(w) => a.iter().zip(w.iter()).map(|(x, y)| x * y).sum(),
        None => a.sum(),
    }
}

fn main() {}
