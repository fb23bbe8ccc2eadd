//! `Random::sample`, a user-registered distribution, element streams in a
//! Monte Carlo kernel and saved states, as one program for `mpirun -n N+1`
//! (N >= 2); on thread engines under a plain `cargo test`.
//!
//! Every array must equal the values computed on the client from the public
//! element streams, on every context of the run (all engines, one, reversed,
//! half) and every map type; and the first Gamma values for seed 42 must
//! equal constants recorded from a thread run, which ties MPI to threads.

use distarray::prelude::*;
use distarray::random::{GeneratorState, RandomStream};
use rand::Rng;
use rand_distr::{Binomial, Gamma, Poisson, StudentT};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Seed 42, shape `[4]`, the first call: Gamma(2, 1.5), as bit patterns
/// (through `ln`, `exp` and `sqrt`: compared to 1e-14).
const GAMMA_42: [u64; 4] = [0x4002_3deb_13e5_d1fd, 0x3ff4_1562_086b_6248, 0x4010_da3c_3880_c8f1, 0x400d_c826_edbb_d3a9];

/// Tries until a uniform falls below `p`: a sampler of our own, registered
/// below, that takes a variable number of draws.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TriesUntil {
    p: f64,
}

impl rand::distr::Distribution<i64> for TriesUntil {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> i64 {
        let mut tries = 1;
        while rng.random::<f64>() >= self.p {
            tries += 1;
        }
        tries
    }
}

distarray::register_sampler!(TriesUntil => i64);

#[local]
fn inside_circle(points: &LocalArray<u8>, stream: RandomStream, engine: &EngineCtx) -> Result<u64> {
    let mut count = 0u64;
    for &k in &points.global_indices(0) {
        let mut rng = stream.element(k as u64);
        let (x, y): (f64, f64) = (rng.random(), rng.random());
        count += u64::from(x * x + y * y < 1.0);
    }
    engine.comm().all_reduce(count, |a, b| a + b)
}

/// `sampler` over `d`, compared with the client's element rngs.
fn check<T, D>(random: &Random, d: &Distribution, sampler: D) -> Result<Vec<T>>
where
    T: Element + std::fmt::Debug,
    D: rand::distr::Distribution<T> + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let state = random.state();
    let stream = RandomStream::new(state.seed(), state.calls())?;
    let n: usize = d.shape().iter().product();
    let expected: Vec<T> = (0..n as u64).map(|k| sampler.sample(&mut stream.element(k))).collect();
    let got: Vec<T> = random.sample(d, sampler)?.toarray()?.iter().cloned().collect();
    assert_eq!(got, expected, "{d} on {:?}", d.targets());
    Ok(got)
}

fn check_context(ctx: &Context) -> Result<usize> {
    let random = Random::new(ctx);
    random.seed(Some(42));
    let d = Distribution::builder(ctx, &[4]).dist("c").build()?;
    let gamma = check::<f64, _>(&random, &d, Gamma::new(2.0, 1.5).unwrap())?;
    assert!(
        gamma.iter().zip(GAMMA_42.map(f64::from_bits)).all(|(x, e)| (x - e).abs() <= 1e-14 * e),
        "Gamma {gamma:?}, seed 42, on {:?}",
        ctx.targets()
    );
    let n = ctx.num_targets();
    let mut checked = 0;
    for shape in [&[23][..], &[6, 5], &[3, 4, 5]] {
        let ndim = shape.len();
        let mut grid = vec![1; ndim];
        grid[ndim - 1] = n;
        let builders = [
            Distribution::builder(ctx, shape),
            Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)),
            Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 2 }; ndim]),
            Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)),
            Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).grid_shape(&grid),
        ];
        for b in builders {
            let d = b.build()?;
            random.seed(Some(7));
            check::<f64, _>(&random, &d, Gamma::new(0.6, 1.0).unwrap())?;
            check::<f32, _>(&random, &d, Poisson::new(25.0f32).unwrap())?;
            check::<u64, _>(&random, &d, Binomial::new(60, 0.7).unwrap())?;
            check::<f64, _>(&random, &d, StudentT::new(4.0).unwrap())?;
            check::<i64, _>(&random, &d, TriesUntil { p: 0.2 })?;
            checked += 1;
        }
    }
    // Unregistered: an error on the client, before any engine works.
    let e = random.sample::<u8, _>(&d, rand::distr::Alphanumeric).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);

    // Monte Carlo: the serial count on any engine count.
    let points = 5000u64;
    random.seed(Some(11));
    let stream = random.stream()?;
    let serial = (0..points)
        .filter(|&k| {
            let mut rng = stream.element(k);
            let (x, y): (f64, f64) = (rng.random(), rng.random());
            x * x + y * y < 1.0
        })
        .count() as u64;
    for dist in ["b", "c", "u"] {
        let d = Distribution::builder(ctx, &[points as usize]).dist(dist).build()?;
        let counts = inside_circle(&ctx.zeros::<u8>(&d)?, stream)?;
        assert!(counts.iter().all(|&c| c == serial), "{counts:?}, serial {serial}, {dist} on {:?}", ctx.targets());
    }
    Ok(checked)
}

/// Save after 3 calls on `a`, make 2 more; restored on `b`, the same 2.
fn check_restore(a: &Context, b: &Context) -> Result<()> {
    let random = Random::new(a);
    random.seed(None);
    let d = Distribution::builder(a, &[5, 7]).dist("bc").build()?;
    random.rand::<f64>(&d)?;
    random.sample::<f64, _>(&d, Gamma::new(1.0, 1.0).unwrap())?;
    random.stream()?;
    let saved = random.state();
    let next = (random.sample::<i64, _>(&d, TriesUntil { p: 0.3 })?.toarray()?, random.randn::<f64>(&d)?.toarray()?);
    let restored = Random::from_state(b, GeneratorState::new(saved.seed(), saved.calls())?);
    let db = Distribution::builder(b, &[5, 7]).dist("cu").build()?;
    assert_eq!(
        (restored.sample::<i64, _>(&db, TriesUntil { p: 0.3 })?.toarray()?, restored.randn(&db)?.toarray()?),
        next
    );
    Ok(())
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let reversed: Vec<usize> = (0..n).rev().collect();
    let contexts = [
        ctx.clone(),
        Context::with_targets(&[n - 1])?,
        Context::with_targets(&reversed)?,
        Context::with_targets(&reversed[..n.div_ceil(2)])?,
    ];
    let mut checked = 0;
    for c in &contexts {
        checked += check_context(c)?;
    }
    check_restore(&contexts[0], &contexts[3])?;
    check_restore(&contexts[1], &contexts[2])?;
    println!("mpi_random_distributions: ok on the {} backend with {n} engines ({checked} layouts)", ctx.backend_name());
    Ok(())
}
