//! Elementwise arithmetic and reductions on 2^24 f64 elements, as ratios to a
//! hand-written ndarray computation of the same result in the same run.
//!
//!     cargo bench --bench ops            (thread engines, DISTARRAY_ENGINES to change)
//!
//! A ratio below 1 means distarray was faster than the single-threaded ndarray
//! baseline; the engines run in parallel threads, the baseline on one.

use std::time::Instant;

use distarray::prelude::*;
use ndarray::{Array2, Axis};

const SIDE: usize = 4096; // 4096 x 4096 = 2^24 elements

/// The median wall time of `reps` runs of `f`, in seconds.
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

fn report(what: &str, ours: f64, baseline: f64) {
    println!(
        "{what:<28} distarray {:>8.2} ms   ndarray {:>8.2} ms   ratio {:>5.2}",
        ours * 1e3,
        baseline * 1e3,
        ours / baseline
    );
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    println!("{} engines ({} backend), {SIDE}x{SIDE} f64", ctx.num_targets(), ctx.backend_name());
    let make = |k: f64| Array2::from_shape_fn((SIDE, SIDE), move |(i, j)| ((i * SIDE + j) % 1000) as f64 * k);
    let (x, y, z) = (make(1.0), make(0.5), make(0.25));
    let (a, b, c) = (ctx.fromarray(&x, None)?, ctx.fromarray(&y, None)?, ctx.fromarray(&z, None)?);

    let ours = median_secs(5, || drop(ops_a_times_b_plus_c(&a, &b, &c)));
    let baseline = median_secs(5, || drop(&x * &y + &z));
    report("a * b + c", ours, baseline);

    let ours = median_secs(5, || drop(a.sum_axis(&[0]).expect("sum_axis")));
    let baseline = median_secs(5, || drop(x.sum_axis(Axis(0))));
    report("sum(axis=0)", ours, baseline);

    let ours = median_secs(5, || {
        std::hint::black_box(a.sum().expect("sum"));
    });
    let baseline = median_secs(5, || {
        std::hint::black_box(x.sum());
    });
    report("sum()", ours, baseline);

    // Same results as the baseline.
    assert_eq!(a.sum_axis(&[0])?.toarray()?, x.sum_axis(Axis(0)).into_dyn());
    assert_eq!(ops_a_times_b_plus_c(&a, &b, &c).toarray()?, (&x * &y + &z).into_dyn());
    Ok(())
}

fn ops_a_times_b_plus_c(a: &DistArray<f64>, b: &DistArray<f64>, c: &DistArray<f64>) -> DistArray<f64> {
    &(a * b) + c
}
