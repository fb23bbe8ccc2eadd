use distarray::local;
use distarray::prelude::*;

pub struct Settings {
    pub factor: f64,
}

#[local]
fn scale(a: &LocalArray<f64>, settings: Settings) -> LocalArray<f64> {
    a.mapv(|x| x * settings.factor)
}

fn main() {}
