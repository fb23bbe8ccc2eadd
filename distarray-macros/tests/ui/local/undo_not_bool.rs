use distarray::local;
use distarray::prelude::*;

#[local(undo = "no")]
fn scale(a: &mut LocalArray<f64>, k: f64) {
    a.mapv_inplace(|x| x * k)
}

fn main() {}
