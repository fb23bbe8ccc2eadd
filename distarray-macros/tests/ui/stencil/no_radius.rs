use distarray::{stencil, Neighbourhood};

#[stencil]
fn average(u: &Neighbourhood<f64>) -> f64 {
    0.5 * (u[[-1]] + u[[1]])
}

fn main() {}
