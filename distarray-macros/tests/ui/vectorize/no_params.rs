use distarray::vectorize;

#[vectorize]
fn one() -> f64 {
    1.0
}

fn main() {}
