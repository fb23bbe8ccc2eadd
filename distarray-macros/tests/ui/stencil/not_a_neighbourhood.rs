use distarray::{stencil, LocalArray};

#[stencil(radius = 1)]
fn average(u: &LocalArray<f64>) -> f64 {
    u[[0]]
}

fn main() {}
