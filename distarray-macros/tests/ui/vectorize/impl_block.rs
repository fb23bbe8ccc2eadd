use distarray::vectorize;

struct Kernels;

impl Kernels {
    /// A doc comment with a brace: }
    #[vectorize]
    fn axpy(a: f64, x: f64, y: f64) -> f64 {
        a * x + y
    }
}

fn main() {}
