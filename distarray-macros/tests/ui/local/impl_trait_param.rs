use distarray::local;
use distarray::prelude::*;

#[local]
fn scale(a: &LocalArray<f64>, k: impl Into<f64>) -> LocalArray<f64> {
    let k = k.into();
    a.mapv(|x| x * k)
}

fn main() {}
