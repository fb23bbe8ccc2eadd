use distarray::local;
use distarray::prelude::*;

struct Scaler(f64);

impl Scaler {
    #[local]
    fn scale(&self, a: &LocalArray<f64>) -> LocalArray<f64> {
        a.mapv(|x| x * self.0)
    }
}

fn main() {
    let _ = Scaler(1.0);
}
