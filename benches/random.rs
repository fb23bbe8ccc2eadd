//! Samples per second of `Random::rand` and `Random::randn` on 2^24 elements
//! (the array stays on the engines), as a ratio to rand's `StdRng` filling
//! one ndarray in this process, in the same run.
//!
//! `cargo bench --bench random` (set `DISTARRAY_ENGINES` for another engine
//! count).

use std::hint::black_box;
use std::time::{Duration, Instant};

use distarray::prelude::*;
use ndarray::Array1;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const N: usize = 1 << 24;
const REPEATS: usize = 5;

/// The best of `REPEATS` timings of `f` (the least disturbed run).
fn best(mut f: impl FnMut()) -> Duration {
    (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("REPEATS > 0")
}

/// Standard normals from `rng` by Box–Muller, two per pair of uniforms, as
/// Random does (the `rand` crate itself has no normal distribution).
fn box_muller_fill(rng: &mut StdRng, out: &mut Array1<f64>) {
    for pair in out.as_slice_mut().expect("contiguous").chunks_mut(2) {
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        pair[0] = r * c;
        if let Some(second) = pair.get_mut(1) {
            *second = r * s;
        }
    }
}

fn rate(d: Duration) -> f64 {
    N as f64 / d.as_secs_f64()
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let random = Random::new(&ctx);
    random.seed(Some(1));
    let d = Distribution::from_shape(&ctx, &[N])?;

    let mut rng = StdRng::seed_from_u64(1);
    let mut out = Array1::<f64>::zeros(N);
    let std_uniform = best(|| {
        out.iter_mut().for_each(|x| *x = rng.random::<f64>());
        black_box(&out);
    });
    let std_normal = best(|| {
        box_muller_fill(&mut rng, &mut out);
        black_box(&out);
    });
    let rand = best(|| drop(black_box(random.rand::<f64>(&d).expect("rand"))));
    let randn = best(|| drop(black_box(random.randn::<f64>(&d).expect("randn"))));
    let randint = best(|| drop(black_box(random.randint::<i64>(&d, 0, Some(1000)).expect("randint"))));

    println!("2^24 samples, {} {} engines, best of {REPEATS}", ctx.num_targets(), ctx.backend_name());
    println!("StdRng uniform fill       {:>8.1} M/s", rate(std_uniform) / 1e6);
    println!("StdRng Box-Muller fill    {:>8.1} M/s", rate(std_normal) / 1e6);
    println!(
        "Random::rand              {:>8.1} M/s  {:.2}x StdRng uniform",
        rate(rand) / 1e6,
        rate(rand) / rate(std_uniform)
    );
    println!(
        "Random::randn             {:>8.1} M/s  {:.2}x StdRng uniform, {:.2}x StdRng Box-Muller",
        rate(randn) / 1e6,
        rate(randn) / rate(std_uniform),
        rate(randn) / rate(std_normal)
    );
    println!(
        "Random::randint(0, 1000)  {:>8.1} M/s  {:.2}x StdRng uniform",
        rate(randint) / 1e6,
        rate(randint) / rate(std_uniform)
    );
    Ok(())
}
