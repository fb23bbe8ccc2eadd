use distarray::{stencil, Neighbourhood};

trait Smoothers {
    #[stencil(radius = 1)]
    fn average(u: &Neighbourhood<f64>) -> f64 {
        0.5 * (u[[-1]] + u[[1]])
    }
}

fn main() {}
