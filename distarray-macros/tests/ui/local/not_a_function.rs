use distarray::local;

#[local]
struct Kernel {
    factor: f64,
}

fn main() {}
