//! Samples per second per engine of `Random` against rand's `StdRng` filling
//! an ndarray of the same size in existing memory, in the same run, on 1 and
//! 2 thread engines (the array stays on the engines):
//!
//! - `rand` and `sample(StandardUniform)` against `rng.random::<f64>()`;
//! - `randn` (the ziggurat on paired words) and `sample(StandardNormal)`
//!   (the same ziggurat, on each element's stream) against `StandardNormal`
//!   on `StdRng`;
//! - `sample(Gamma(2, 1.5))`, a rejection sampler, against `Gamma` on
//!   `StdRng`;
//! - `randint(0, 1000)` against the uniform fill.
//!
//! Ratio = (samples per second per engine) / (`StdRng`'s samples per second
//! on one thread). `cargo bench --bench random`; `PERF_QUICK=1` runs a tiny
//! size once (a smoke test of the bench itself).

use std::hint::black_box;
use std::time::{Duration, Instant};

use distarray::prelude::*;
use ndarray::Array1;
use rand::distr::StandardUniform;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Gamma, StandardNormal};

/// The best of `repeats` timings of `f` (the least disturbed run).
fn best(repeats: usize, mut f: impl FnMut()) -> Duration {
    (0..repeats)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("repeats > 0")
}

fn main() -> Result<()> {
    let quick = std::env::var_os("PERF_QUICK").is_some();
    let (n, repeats) = if quick { (1 << 12, 1) } else { (1 << 24, 5) };
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let gamma = Gamma::new(2.0, 1.5).expect("valid parameters");

    let mut rng = StdRng::seed_from_u64(1);
    let mut out = Array1::<f64>::zeros(n);
    let std_uniform = rate(best(repeats, || {
        out.iter_mut().for_each(|x| *x = rng.random::<f64>());
        black_box(&out);
    }));
    let std_normal = rate(best(repeats, || {
        out.iter_mut().for_each(|x| *x = rng.sample(StandardNormal));
        black_box(&out);
    }));
    let std_gamma = rate(best(repeats, || {
        out.iter_mut().for_each(|x| *x = rng.sample(gamma));
        black_box(&out);
    }));

    let pool = Context::builder().engines(2).build()?;
    println!("{n} samples, best of {repeats}, {} backend", pool.backend_name());
    println!("StdRng uniform fill            {:>8.1} M/s", std_uniform / 1e6);
    println!("StdRng StandardNormal fill     {:>8.1} M/s", std_normal / 1e6);
    println!("StdRng Gamma(2, 1.5) fill      {:>8.1} M/s", std_gamma / 1e6);
    println!();
    println!("| case | engines | M samples/s per engine | ratio to StdRng | baseline |");
    println!("|---|---|---|---|---|");
    for engines in [1, 2] {
        let ctx = if engines == 2 { pool.clone() } else { Context::with_targets(&[0])? };
        let random = Random::new(&ctx);
        random.seed(Some(1));
        let d = Distribution::from_shape(&ctx, &[n])?;
        let row = |name: &str, secs: Duration, baseline: f64, against: &str| {
            let per_engine = rate(secs) / engines as f64;
            println!("| {name} | {engines} | {:.1} | {:.2} | {against} |", per_engine / 1e6, per_engine / baseline);
        };
        let time = |f: &dyn Fn() -> Result<()>| -> Result<Duration> {
            f()?; // warm the engines' buffer pools
            let mut failed = None;
            let d = best(repeats, || {
                if let Err(e) = f() {
                    failed = Some(e);
                }
            });
            failed.map_or(Ok(d), Err)
        };
        let t = time(&|| random.rand::<f64>(&d).map(drop))?;
        row("rand", t, std_uniform, "StdRng random::<f64>");
        let t = time(&|| random.sample::<f64, _>(&d, StandardUniform).map(drop))?;
        row("sample(StandardUniform)", t, std_uniform, "StdRng random::<f64>");
        let t = time(&|| random.randn::<f64>(&d).map(drop))?;
        row("randn", t, std_normal, "StdRng StandardNormal");
        let t = time(&|| random.sample::<f64, _>(&d, StandardNormal).map(drop))?;
        row("sample(StandardNormal) (ziggurat)", t, std_normal, "StdRng StandardNormal");
        let t = time(&|| random.sample::<f64, _>(&d, gamma).map(drop))?;
        row("sample(Gamma(2, 1.5))", t, std_gamma, "StdRng Gamma");
        let t = time(&|| random.randint::<i64>(&d, 0, Some(1000)).map(drop))?;
        row("randint(0, 1000)", t, std_uniform, "StdRng random::<f64>");
    }
    Ok(())
}
