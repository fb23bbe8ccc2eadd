use distarray::{stencil, Neighbourhood};

#[stencil(radius = 1)]
fn weighted(u: &Neighbourhood<f64>, weights: &[f64]) -> f64 {
    weights[0] * u[[-1]] + weights[1] * u[[1]]
}

fn main() {}
