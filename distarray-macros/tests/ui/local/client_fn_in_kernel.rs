use distarray::local;
use distarray::prelude::*;

#[local]
fn local_sums(a: &LocalArray<f64>) -> f64 {
    a.sum()
}

#[local]
fn mean_of_sums(a: &LocalArray<f64>) -> f64 {
    // The client function, by mistake: `local_sums::body(a)` is meant.
    let sums: Vec<f64> = local_sums(a).unwrap_or_default();
    sums.iter().sum::<f64>() / a.len() as f64
}

fn main() {}
