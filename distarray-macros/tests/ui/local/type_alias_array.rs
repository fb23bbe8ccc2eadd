use distarray::local;
use distarray::prelude::*;

type Piece = LocalArray<f64>;

#[local]
fn total(a: &Piece) -> f64 {
    a.sum()
}

fn main() {}
