use distarray::local;
use distarray::prelude::*;

#[local]
async fn total(a: &LocalArray<f64>) -> f64 {
    a.iter().sum()
}

fn main() {}
