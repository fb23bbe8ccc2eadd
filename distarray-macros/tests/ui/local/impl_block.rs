use distarray::local;
use distarray::prelude::*;

struct Kernels;

impl Kernels {
    #[local]
    fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
        a.mapv(|x| x * k)
    }
}

fn main() {}
