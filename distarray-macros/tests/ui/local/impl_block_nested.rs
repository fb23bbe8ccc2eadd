use distarray::prelude::*;

mod kernels {
    use distarray::prelude::*;

    pub struct Kernels;

    #[allow(dead_code)]
    impl<'a> Kernels {
        const OPEN: &'a str = "{ impl";

        pub fn not_a_kernel() -> char {
            '}'
        }

        #[distarray::local]
        pub fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
            a.mapv(|x| x * k)
        }
    }
}

fn main() {
    let _ = kernels::Kernels;
    let _: Option<Context> = None;
}
