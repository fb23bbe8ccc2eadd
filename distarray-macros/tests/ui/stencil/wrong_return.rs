use distarray::{stencil, Neighbourhood};

#[stencil(radius = 1)]
fn positive(u: &Neighbourhood<f64>) -> bool {
    u[[0]] > 0.0
}

fn main() {}
