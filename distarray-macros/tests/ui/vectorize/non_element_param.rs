use distarray::vectorize;

#[vectorize]
fn twice(x: usize) -> f64 {
    2.0 * x as f64
}

fn main() {}
