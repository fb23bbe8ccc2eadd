use distarray::vectorize;

#[vectorize]
fn show(x: f64) -> String {
    x.to_string()
}

fn main() {}
