use distarray::vectorize;

#[vectorize(types(f64, String))]
fn twice<T: std::ops::Add<Output = T> + Copy>(x: T) -> T {
    x + x
}

fn main() {}
