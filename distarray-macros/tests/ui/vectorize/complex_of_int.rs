use distarray::vectorize;
use distarray::Complex;

#[vectorize]
fn re(z: Complex<i32>) -> i32 {
    z.re
}

fn main() {}
