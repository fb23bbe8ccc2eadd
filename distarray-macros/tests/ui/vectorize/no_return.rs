use distarray::vectorize;

#[vectorize]
fn log(x: f64) {
    println!("{x}");
}

fn main() {}
