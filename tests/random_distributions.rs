//! `Random::sample`, the element streams, streams in kernels and saved
//! states, on thread engines, against independent references: values
//! computed on the client from the public element-stream API, the same values
//! on 1, 2, 3, 7 and 16 engines and every map type, scipy's KS and
//! chi-square tests (with closed-form moments as well, and alone when scipy
//! is missing), each check shown to reject a deliberately wrong
//! distribution, and a Monte Carlo kernel against a serial count.
//!
//! Every context is a subset of one pool of 16 engines (a process has one
//! engine count).

use std::fmt::Write as _;
use std::process::Command;

use distarray::prelude::*;
use distarray::random::{GeneratorState, RandomStream};
use ndarray::{ArrayD, Dimension};
use rand::distr::{Bernoulli, Open01, StandardUniform, Uniform};
use rand::Rng;
use rand_distr::{
    Beta, Binomial, Cauchy, ChiSquared, Exp, Exp1, FisherF, Frechet, Gamma, Geometric, Gumbel, Hypergeometric,
    InverseGaussian, LogNormal, Normal, Pareto, Pert, Poisson, SkewNormal, StandardNormal, StudentT, Triangular,
    Weibull,
};
use serde::{Deserialize, Serialize};

const SEED: u64 = 0x5eed_2026;
const POOL: usize = 16;

/// A context on the first `n` engines of the pool.
fn ctx(n: usize) -> Context {
    let pool = Context::builder().engines(POOL).build().expect("the pool of 16 engines");
    if n == POOL {
        pool
    } else {
        Context::with_targets(&(0..n).collect::<Vec<_>>()).expect("a sub-context")
    }
}

/// A rejection sampler of our own: how many uniforms it takes to see one
/// below `p` (a variable number of draws per element).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TriesUntil {
    p: f64,
}

impl rand::distr::Distribution<u32> for TriesUntil {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let mut tries = 1;
        while rng.random::<f64>() >= self.p {
            tries += 1;
        }
        tries
    }
}

impl rand::distr::Distribution<f64> for TriesUntil {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        f64::from(rand::distr::Distribution::<u32>::sample(self, rng))
    }
}

distarray::register_sampler!(TriesUntil => u32);

/// Element `k` of the call that `state` names, computed here from the public
/// element streams (no engine involved).
fn reference<T, D: rand::distr::Distribution<T>>(state: GeneratorState, sampler: &D, n: usize) -> Vec<T> {
    let stream = RandomStream::new(state.seed(), state.calls()).expect("a valid state");
    (0..n as u64).map(|k| sampler.sample(&mut stream.element(k))).collect()
}

/// One array of `sampler` over `d`, checked element by element against the
/// client-side reference; returns it.
fn sampled<T: Element + std::fmt::Debug, D>(random: &Random, d: &Distribution, sampler: D) -> ArrayD<T>
where
    D: rand::distr::Distribution<T> + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let state = random.state();
    let expected = reference(state, &sampler, d.shape().iter().product());
    let got = random.sample(d, sampler).expect("sample").toarray().expect("toarray");
    assert_eq!(
        got.iter().cloned().collect::<Vec<T>>(),
        expected,
        "{d} on {:?} differs from the element rngs",
        d.targets()
    );
    got
}

/// Several families, one call each, after `seed(SEED)`.
#[derive(Debug, PartialEq)]
struct Draws {
    gamma: ArrayD<f64>,
    beta: ArrayD<f32>,
    poisson: ArrayD<f64>,
    binomial: ArrayD<u64>,
    hypergeometric: ArrayD<u64>,
    uniform_i16: ArrayD<i16>,
    coin: ArrayD<bool>,
    student_t: ArrayD<f64>,
    normal_f32: ArrayD<f32>,
    tries: ArrayD<u32>,
}

fn draws(random: &Random, d: &Distribution) -> Draws {
    random.seed(Some(SEED));
    Draws {
        gamma: sampled(random, d, Gamma::new(0.7, 2.0).unwrap()), // shape < 1: another rejection path
        beta: sampled(random, d, Beta::new(2.0f32, 5.0).unwrap()),
        poisson: sampled(random, d, Poisson::new(30.0).unwrap()), // the rejection method
        binomial: sampled(random, d, Binomial::new(100, 0.4).unwrap()),
        hypergeometric: sampled(random, d, Hypergeometric::new(500, 200, 100).unwrap()),
        uniform_i16: sampled(random, d, Uniform::new(-300i16, 7).unwrap()),
        coin: sampled(random, d, StandardUniform),
        student_t: sampled(random, d, StudentT::new(3.0).unwrap()),
        normal_f32: sampled(random, d, StandardNormal),
        tries: sampled(random, d, TriesUntil { p: 0.1 }),
    }
}

/// Block, cyclic, block-cyclic, unstructured, mixed maps and 2-D grids.
fn distributions(ctx: &Context, shape: &[usize]) -> Vec<Distribution> {
    let ndim = shape.len();
    let n = ctx.num_targets();
    let mut builders = vec![
        Distribution::builder(ctx, shape),
        Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)),
        Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 3 }; ndim]),
        Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)),
    ];
    if ndim > 1 {
        let rest = "n".repeat(ndim - 2);
        builders.push(Distribution::builder(ctx, shape).dist(&format!("bc{rest}")));
        // An explicit 2-D grid, as square as the engine count allows.
        let rows = (1..=n).rev().find(|r| n.is_multiple_of(*r) && r * r <= n).unwrap_or(1);
        let mut grid = vec![1; ndim];
        grid[0] = rows;
        grid[1] = n / rows;
        builders.push(Distribution::builder(ctx, shape).dist(&format!("cb{rest}")).grid_shape(&grid));
    }
    builders.into_iter().map(|b| b.build().expect("distribution")).collect()
}

#[test]
fn the_same_values_on_any_engine_count_map_and_grid() {
    for shape in [&[1][..], &[13], &[10, 7], &[3, 5, 7]] {
        let one = ctx(1);
        let expected = draws(&Random::new(&one), &Distribution::from_shape(&one, shape).unwrap());
        for n in [1, 2, 3, 7, POOL] {
            let ctx = ctx(n);
            let random = Random::new(&ctx);
            for d in distributions(&ctx, shape) {
                assert_eq!(draws(&random, &d), expected, "shape {shape:?}, {d} on {n} engines");
            }
        }
    }
}

#[test]
fn zero_d_and_empty_arrays() {
    let ctx = ctx(3);
    let random = Random::new(&ctx);
    random.seed(Some(1));
    let scalar: ArrayD<f64> = sampled(&random, &Distribution::from_shape(&ctx, &[]).unwrap(), Exp1);
    assert_eq!(scalar.len(), 1);
    let empty: ArrayD<u64> =
        sampled(&random, &Distribution::from_shape(&ctx, &[0, 4]).unwrap(), Geometric::new(0.5).unwrap());
    assert!(empty.is_empty());
}

#[test]
fn unregistered_pairs_and_other_contexts_are_errors_that_change_nothing() {
    let ctx = ctx(4);
    let random = Random::new(&ctx);
    random.seed(Some(3));
    let d = Distribution::from_shape(&ctx, &[10]).unwrap();
    let before = random.state();
    // TriesUntil is registered for u32 only.
    let e = random.sample::<f64, _>(&d, TriesUntil { p: 0.5 }).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    for needle in [
        "random_distributions::TriesUntil",
        "f64",
        "distarray::register_sampler!(random_distributions::TriesUntil => f64)",
    ] {
        assert!(e.message().contains(needle), "{e} should name {needle}");
    }
    let other = Context::with_targets(&[5]).unwrap();
    let e = random.sample::<f64, _>(&Distribution::from_shape(&other, &[3]).unwrap(), Exp1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongContext);
    assert_eq!(random.state(), before, "a failed call does not advance the stream");
    let _: ArrayD<u32> = sampled(&random, &d, TriesUntil { p: 0.5 });
}

#[test]
fn a_saved_state_continues_on_another_context() {
    fn serde_value<T: Serialize + serde::de::DeserializeOwned + Copy>(_: T) {}
    let ctx = ctx(4);
    let random = Random::new(&ctx);
    random.seed(None);
    let d = Distribution::builder(&ctx, &[6, 9]).dist("bc").build().unwrap();
    random.rand::<f64>(&d).unwrap();
    random.sample::<f64, _>(&d, Gamma::new(3.0, 1.0).unwrap()).unwrap();
    random.stream().unwrap();
    let saved = random.state();
    serde_value(saved);
    assert_eq!(saved.calls(), 3);
    let next = (
        random.sample::<f64, _>(&d, Normal::new(1.0, 3.0).unwrap()).unwrap().toarray().unwrap(),
        random.randn::<f64>(&d).unwrap().toarray().unwrap(),
    );
    // A new generator on 7 other engines, another map.
    let seven = Context::with_targets(&[9, 3, 11, 0, 1, 2, 15]).unwrap();
    let restored = Random::from_state(&seven, GeneratorState::new(saved.seed(), saved.calls()).unwrap());
    let d7 = Distribution::builder(&seven, &[6, 9]).dist("cu").build().unwrap();
    let again = (
        restored.sample::<f64, _>(&d7, Normal::new(1.0, 3.0).unwrap()).unwrap().toarray().unwrap(),
        restored.randn::<f64>(&d7).unwrap().toarray().unwrap(),
    );
    assert_eq!(again, next);
    // set_state on an existing generator too.
    random.set_state(saved);
    random.sample::<f64, _>(&d, Exp1).unwrap();
    assert_eq!(random.randn::<f64>(&d).unwrap().toarray().unwrap(), next.1);
}

// ---- Statistics ----

/// Samples per statistical check.
const N: usize = 50_000;

/// What a family's samples are checked against.
struct Family {
    name: &'static str,
    /// A frozen scipy.stats distribution (`stats.` prefix).
    scipy: &'static str,
    /// KS for continuous families, chi-square on the pmf for discrete ones.
    discrete: bool,
    /// Closed forms: mean and variance, or (for Cauchy) the three quartiles.
    closed: Closed,
}

enum Closed {
    Moments { mean: f64, var: f64 },
    Quartiles([f64; 3]),
}

/// The p-value thresholds: a right family passes above `PASS`, a wrong one
/// must fall below `REJECT`. Fixed seeds make both deterministic; a p-value
/// of a right family below 1e-3 would be a one-in-a-thousand event.
const PASS: f64 = 1e-3;
const REJECT: f64 = 1e-8;

/// `N` samples of `sampler` (as f64) on 4 engines, block-cyclic 2-D.
fn samples<T: Element + Into<f64>, D>(sampler: D, seed: u64) -> Vec<f64>
where
    D: rand::distr::Distribution<T> + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let ctx = ctx(4);
    let random = Random::new(&ctx);
    random.seed(Some(seed));
    let d = Distribution::builder(&ctx, &[N / 100, 100]).dist("cb").build().unwrap();
    random.sample(&d, sampler).unwrap().toarray().unwrap().iter().map(|&x| x.into()).collect()
}

fn u64s<D>(sampler: D, seed: u64) -> Vec<f64>
where
    D: rand::distr::Distribution<u64> + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    samples::<u32, _>(AsU32(sampler), seed)
}

/// A u64 sampler seen as u32 (u64 has no lossless `Into<f64>`); registered
/// for the test's discrete families.
#[derive(Serialize, Deserialize)]
struct AsU32<D>(D);

impl<D: rand::distr::Distribution<u64>> rand::distr::Distribution<u32> for AsU32<D> {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        self.0.sample(rng) as u32
    }
}

distarray::register_sampler!(
    AsU32<Binomial> => u32,
    AsU32<Geometric> => u32,
    AsU32<Hypergeometric> => u32,
);

fn bools<D>(sampler: D, seed: u64) -> Vec<f64>
where
    D: rand::distr::Distribution<bool> + Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let ctx = ctx(4);
    let random = Random::new(&ctx);
    random.seed(Some(seed));
    let d = Distribution::builder(&ctx, &[N]).dist("c").build().unwrap();
    random.sample(&d, sampler).unwrap().toarray().unwrap().iter().map(|&b| f64::from(u8::from(b))).collect()
}

/// Each family with its right samples and the samples of a wrong
/// distribution close to it.
fn cases() -> Vec<(Family, Vec<f64>, Vec<f64>)> {
    use Closed::*;
    let c = |name, scipy, mean, var| Family { name, scipy, discrete: false, closed: Moments { mean, var } };
    let d = |name, scipy, mean, var| Family { name, scipy, discrete: true, closed: Moments { mean, var } };
    vec![
        (
            c("gamma", "gamma(2.0, scale=1.5)", 3.0, 4.5),
            samples(Gamma::new(2.0, 1.5).unwrap(), 1),
            samples(Gamma::new(2.3, 1.5).unwrap(), 2),
        ),
        (
            c("gamma small shape", "gamma(0.5, scale=1.0)", 0.5, 0.5),
            samples(Gamma::new(0.5, 1.0).unwrap(), 3),
            samples(Gamma::new(0.57, 1.0).unwrap(), 4),
        ),
        (
            c("normal", "norm(1.0, 2.0)", 1.0, 4.0),
            samples(Normal::new(1.0, 2.0).unwrap(), 5),
            samples(Normal::new(1.3, 2.0).unwrap(), 6),
        ),
        (
            c("standard normal f32", "norm()", 0.0, 1.0),
            samples::<f32, _>(StandardNormal, 7),
            samples::<f32, _>(Normal::new(0.0f32, 1.1).unwrap(), 8),
        ),
        (
            c("lognormal", "lognorm(0.5)", (0.125f64).exp(), (0.25f64.exp() - 1.0) * 0.25f64.exp()),
            samples(LogNormal::new(0.0, 0.5).unwrap(), 9),
            samples(LogNormal::new(0.1, 0.5).unwrap(), 10),
        ),
        (
            c("exp", "expon(scale=2.0)", 2.0, 4.0),
            samples(Exp::new(0.5).unwrap(), 11),
            samples(Exp::new(0.55).unwrap(), 12),
        ),
        (
            c("exp1 f32", "expon()", 1.0, 1.0),
            samples::<f32, _>(Exp1, 13),
            samples::<f32, _>(Exp::new(1.1f32).unwrap(), 14),
        ),
        (
            c("chi-squared", "chi2(4.0)", 4.0, 8.0),
            samples(ChiSquared::new(4.0).unwrap(), 15),
            samples(ChiSquared::new(4.5).unwrap(), 16),
        ),
        (
            c("fisher f", "f(5.0, 10.0)", 1.25, 2600.0 / 1920.0),
            samples(FisherF::new(5.0, 10.0).unwrap(), 17),
            samples(FisherF::new(5.0, 6.0).unwrap(), 18),
        ),
        (
            c("student t", "t(5.0)", 0.0, 5.0 / 3.0),
            samples(StudentT::new(5.0).unwrap(), 19),
            samples(Cauchy::new(0.0, 1.0).unwrap(), 20),
        ),
        (
            c("beta f32", "beta(2.0, 5.0)", 2.0 / 7.0, 10.0 / 392.0),
            samples::<f32, _>(Beta::new(2.0f32, 5.0).unwrap(), 21),
            samples::<f32, _>(Beta::new(2.3f32, 5.0).unwrap(), 22),
        ),
        (
            Family { name: "cauchy", scipy: "cauchy(1.0, 2.0)", discrete: false, closed: Quartiles([-1.0, 1.0, 3.0]) },
            samples(Cauchy::new(1.0, 2.0).unwrap(), 23),
            samples(Cauchy::new(1.0, 2.3).unwrap(), 24),
        ),
        (
            c(
                "weibull",
                "weibull_min(2.0, scale=1.5)",
                1.5 * 0.886_226_925_452_758,
                2.25 * (1.0 - std::f64::consts::FRAC_PI_4),
            ),
            samples(Weibull::new(1.5, 2.0).unwrap(), 25),
            samples(Weibull::new(1.6, 2.0).unwrap(), 26),
        ),
        (
            c("pareto", "pareto(5.0)", 1.25, 5.0 / 48.0),
            samples(Pareto::new(1.0, 5.0).unwrap(), 27),
            samples(Pareto::new(1.0, 4.5).unwrap(), 28),
        ),
        (
            c("pert", "beta(2.2, 3.8, loc=0.0, scale=10.0)", 22.0 / 6.0, (22.0 / 6.0) * (10.0 - 22.0 / 6.0) / 7.0),
            samples(Pert::new(0.0, 10.0).with_mode(3.0).unwrap(), 29),
            samples(Pert::new(0.0, 10.0).with_mode(3.5).unwrap(), 30),
        ),
        (
            c("triangular", "triang(1.0 / 3.0, loc=0.0, scale=3.0)", 4.0 / 3.0, (9.0 + 1.0 - 3.0) / 18.0),
            samples(Triangular::new(0.0, 3.0, 1.0).unwrap(), 31),
            samples(Triangular::new(0.0, 3.0, 1.3).unwrap(), 32),
        ),
        (
            c(
                "gumbel",
                "gumbel_r(0.5, 2.0)",
                0.5 + 2.0 * 0.577_215_664_901_532_9,
                std::f64::consts::PI.powi(2) / 6.0 * 4.0,
            ),
            samples(Gumbel::new(0.5, 2.0).unwrap(), 33),
            samples(Gumbel::new(0.8, 2.0).unwrap(), 34),
        ),
        (
            c(
                "frechet",
                "invweibull(3.0)",
                1.354_117_939_426_400_4,
                2.678_938_534_707_747_6 - 1.354_117_939_426_400_4f64.powi(2),
            ),
            samples(Frechet::new(0.0, 1.0, 3.0).unwrap(), 35),
            samples(Frechet::new(0.0, 1.1, 3.0).unwrap(), 36),
        ),
        (
            c(
                "skew normal",
                "skewnorm(2.0)",
                0.8f64.sqrt() * (2.0 / std::f64::consts::PI).sqrt(),
                1.0 - 1.6 / std::f64::consts::PI,
            ),
            samples(SkewNormal::new(0.0, 1.0, 2.0).unwrap(), 37),
            samples(SkewNormal::new(0.0, 1.0, 1.2).unwrap(), 38),
        ),
        (
            c("inverse gaussian", "invgauss(0.5, scale=2.0)", 1.0, 0.5),
            samples(InverseGaussian::new(1.0, 2.0).unwrap(), 39),
            samples(InverseGaussian::new(1.1, 2.0).unwrap(), 40),
        ),
        (
            c("uniform f32", "uniform(2.0, 3.0)", 3.5, 0.75),
            samples::<f32, _>(Uniform::new(2.0f32, 5.0).unwrap(), 41),
            samples::<f32, _>(Uniform::new(2.1f32, 5.0).unwrap(), 42),
        ),
        (
            c("open01", "uniform()", 0.5, 1.0 / 12.0),
            samples::<f64, _>(Open01, 43),
            samples(Beta::new(1.1, 1.0).unwrap(), 44),
        ),
        (
            c("standard uniform f32", "uniform()", 0.5, 1.0 / 12.0),
            samples::<f32, _>(StandardUniform, 45),
            samples::<f32, _>(Uniform::new(0.0f32, 0.97).unwrap(), 46),
        ),
        (
            d("poisson", "poisson(4.0)", 4.0, 4.0),
            samples(Poisson::new(4.0).unwrap(), 47),
            samples(Poisson::new(4.2).unwrap(), 48),
        ),
        (
            d("poisson large", "poisson(50.0)", 50.0, 50.0),
            samples(Poisson::new(50.0).unwrap(), 49),
            samples(Poisson::new(51.0).unwrap(), 50),
        ),
        (
            d("binomial", "binom(20, 0.3)", 6.0, 4.2),
            u64s(Binomial::new(20, 0.3).unwrap(), 51),
            u64s(Binomial::new(20, 0.32).unwrap(), 52),
        ),
        (
            d("binomial large", "binom(1000, 0.4)", 400.0, 240.0),
            u64s(Binomial::new(1000, 0.4).unwrap(), 53),
            u64s(Binomial::new(1000, 0.405).unwrap(), 54),
        ),
        (
            d("geometric", "geom(0.2, loc=-1)", 4.0, 20.0),
            u64s(Geometric::new(0.2).unwrap(), 55),
            u64s(Geometric::new(0.21).unwrap(), 56),
        ),
        (
            d("hypergeometric", "hypergeom(50, 20, 10)", 4.0, 10.0 * 0.4 * 0.6 * 40.0 / 49.0),
            u64s(Hypergeometric::new(50, 20, 10).unwrap(), 57),
            u64s(Hypergeometric::new(50, 22, 10).unwrap(), 58),
        ),
        (
            d("uniform i16", "randint(-5, 7)", 0.5, 143.0 / 12.0),
            samples::<i16, _>(Uniform::new(-5i16, 7).unwrap(), 59),
            samples::<i16, _>(Uniform::new(-5i16, 8).unwrap(), 60),
        ),
        (
            d("tries until", "geom(0.25)", 4.0, 12.0),
            samples::<u32, _>(TriesUntil { p: 0.25 }, 61),
            samples::<u32, _>(TriesUntil { p: 0.24 }, 62),
        ),
        (
            d("bernoulli", "bernoulli(0.3)", 0.3, 0.21),
            bools(Bernoulli::new(0.3).unwrap(), 63),
            bools(Bernoulli::new(0.32).unwrap(), 64),
        ),
        (d("bool", "bernoulli(0.5)", 0.5, 0.25), bools(StandardUniform, 65), bools(Bernoulli::new(0.52).unwrap(), 66)),
    ]
}

/// scipy's p-value for each (family, samples) pair, in one python process;
/// `None` when scipy cannot be imported.
fn scipy_p_values(checks: &[(&Family, &[f64])]) -> Option<Vec<f64>> {
    if !Command::new("python3").args(["-c", "import scipy"]).status().is_ok_and(|s| s.success()) {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("distarray-random-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut manifest = String::new();
    for (i, (family, data)) in checks.iter().enumerate() {
        let path = dir.join(format!("{i}.txt"));
        let mut text = String::with_capacity(data.len() * 20);
        for x in *data {
            writeln!(text, "{x:e}").unwrap();
        }
        std::fs::write(&path, text).unwrap();
        writeln!(manifest, "{}|{}|{}", path.display(), if family.discrete { "d" } else { "c" }, family.scipy).unwrap();
    }
    // KS against the cdf; chi-square on the integer bins, the tails merged
    // until every expected count is at least 5.
    let script = r#"
import sys, numpy as np
from scipy import stats
for line in open(sys.argv[1]):
    path, kind, expr = line.rstrip("\n").split("|")
    x = np.loadtxt(path)
    dist = eval("stats." + expr)
    if kind == "c":
        print(stats.kstest(x, dist.cdf).pvalue)
        continue
    lo, hi = int(dist.ppf(1e-12)), int(dist.ppf(1 - 1e-12)) + 1
    ks = np.arange(lo, hi + 1)
    expected = dist.pmf(ks) * len(x)
    observed = np.array([np.sum(x == k) for k in ks], dtype=float)
    # Everything beyond the support's tails goes to the end bins.
    observed[0] += np.sum(x < lo); observed[-1] += np.sum(x > hi)
    expected[0] += dist.cdf(lo - 1) * len(x); expected[-1] += dist.sf(hi) * len(x)
    bins_o, bins_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_o += o; acc_e += e
        if acc_e >= 5:
            bins_o.append(acc_o); bins_e.append(acc_e); acc_o = acc_e = 0.0
    bins_o[-1] += acc_o; bins_e[-1] += acc_e
    bins_e = np.array(bins_e) * (sum(bins_o) / sum(bins_e))
    print(stats.chisquare(bins_o, bins_e).pvalue)
"#;
    let manifest_path = dir.join("manifest.txt");
    std::fs::write(&manifest_path, manifest).unwrap();
    let out = Command::new("python3").args(["-c", script]).arg(&manifest_path).output().expect("python3 runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "scipy script failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().lines().map(|l| l.trim().parse().expect("a p-value")).collect())
}

/// The closed-form check: mean within 5 standard errors and variance within
/// 5 of its standard errors (from the sample's fourth moment), or each
/// quartile within 5 standard errors of a quantile.
fn closed_form_ok(family: &Family, data: &[f64]) -> Result<(), String> {
    let n = data.len() as f64;
    match family.closed {
        Closed::Moments { mean, var } => {
            let m = data.iter().sum::<f64>() / n;
            let v = data.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            let m4 = data.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
            // (+ var / n: the n / (n - 1) of a two-valued family, whose
            // fourth-moment error is zero at p = 1/2.)
            let (se_mean, se_var) = ((var / n).sqrt(), ((m4 - v * v).max(0.0) / n).sqrt() + var / n);
            if (m - mean).abs() > 5.0 * se_mean {
                return Err(format!("mean {m}, expected {mean} ± {}", 5.0 * se_mean));
            }
            if (v - var).abs() > 5.0 * se_var {
                return Err(format!("variance {v}, expected {var} ± {}", 5.0 * se_var));
            }
            Ok(())
        }
        Closed::Quartiles(q) => {
            let mut sorted = data.to_vec();
            sorted.sort_by(f64::total_cmp);
            // For a Cauchy of scale s the density at a quartile is 1/(2πs):
            // the quartile's standard error is sqrt(p(1-p)/n) / density.
            let scale = (q[2] - q[0]) / 2.0;
            for (p, want) in [0.25, 0.5, 0.75].into_iter().zip(q) {
                let got = sorted[(p * n) as usize];
                let se =
                    (p * (1.0 - p) / n).sqrt() * 2.0 * std::f64::consts::PI * scale * if p == 0.5 { 0.5 } else { 1.0 };
                if (got - want).abs() > 5.0 * se {
                    return Err(format!("quantile {p}: {got}, expected {want} ± {}", 5.0 * se));
                }
            }
            Ok(())
        }
    }
}

#[test]
fn every_family_has_its_distribution_and_a_wrong_one_is_rejected() {
    let cases = cases();
    let mut failures = Vec::new();
    for (family, right, wrong) in &cases {
        assert_eq!(right.len(), N);
        if let Err(e) = closed_form_ok(family, right) {
            failures.push(format!("{}: closed forms reject the right samples: {e}", family.name));
        }
        // Cauchy's quartiles, the other families' moments.
        if closed_form_ok(family, wrong).is_ok() {
            failures.push(format!("{}: closed forms accept the wrong samples", family.name));
        }
    }
    let checks: Vec<(&Family, &[f64])> =
        cases.iter().flat_map(|(f, right, wrong)| [(f, right.as_slice()), (f, wrong.as_slice())]).collect();
    match scipy_p_values(&checks) {
        Some(p) => {
            for (i, (family, _, _)) in cases.iter().enumerate() {
                let (right, wrong) = (p[2 * i], p[2 * i + 1]);
                println!("{:<22} p = {right:.4}   wrong p = {wrong:.2e}", family.name);
                if right < PASS {
                    failures.push(format!("{}: scipy p = {right} < {PASS} for the right samples", family.name));
                }
                if wrong > REJECT {
                    failures.push(format!("{}: scipy p = {wrong} > {REJECT} for the wrong samples", family.name));
                }
            }
        }
        None => eprintln!("NOTICE: scipy cannot be imported; only the closed-form checks ran (pip install scipy)"),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- Streams inside kernels ----

/// The number of global elements `k` whose point (two uniforms of element
/// `k`'s stream) lies inside the unit circle, summed over the engines.
#[local]
fn inside_circle(points: &LocalArray<u8>, stream: RandomStream, engine: &EngineCtx) -> Result<u64> {
    let shape = points.global_shape();
    let mut count = 0u64;
    for (local, _) in points.indexed_iter() {
        let mut rng = stream.element_at(&points.global_index(local.slice()), &shape);
        let (x, y): (f64, f64) = (rng.random(), rng.random());
        count += u64::from(x * x + y * y < 1.0);
    }
    engine.comm().all_reduce(count, |a, b| a + b)
}

/// Each element's first Gamma draw through `element_of`, as `sample` draws it.
#[local]
fn gamma_in_kernel(a: &LocalArray<f64>, stream: RandomStream) -> Result<LocalArray<f64>> {
    let gamma = Gamma::new(2.0, 1.5).map_err(|e| distarray::Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
    let mut out = a.clone();
    for (local, x) in out.indexed_iter_mut() {
        *x = stream.element_of(a, local.slice())?.sample(gamma);
    }
    Ok(out)
}

/// The first `u64` of each engine's stream, in engine order.
#[local]
fn engine_draw(a: &LocalArray<u8>, stream: RandomStream, engine: &EngineCtx) -> u64 {
    let _ = a;
    stream.engine(engine.rank()).random()
}

#[test]
fn monte_carlo_in_a_kernel_gives_one_count_on_any_engine_count() {
    let shape = [120, 250];
    let serial = {
        let stream = RandomStream::new(SEED, 0).unwrap();
        (0..(120 * 250) as u64)
            .filter(|&k| {
                let mut rng = stream.element(k);
                let (x, y): (f64, f64) = (rng.random(), rng.random());
                x * x + y * y < 1.0
            })
            .count() as u64
    };
    assert!((4.0 * serial as f64 / 30_000.0 - std::f64::consts::PI).abs() < 0.05);
    for n in [1, 2, 5, POOL] {
        let ctx = ctx(n);
        let random = Random::new(&ctx);
        random.seed(Some(SEED));
        for dist in ["bb", "cc", "cu", "bn"] {
            let d = Distribution::builder(&ctx, &shape).dist(dist).build().unwrap();
            let points = ctx.zeros::<u8>(&d).unwrap();
            random.seed(Some(SEED));
            let counts = inside_circle(&points, random.stream().unwrap()).unwrap();
            assert!(counts.iter().all(|&c| c == serial), "{counts:?} on {n} engines ({dist}), serial {serial}");
        }
    }
}

#[test]
fn kernels_draw_what_sample_draws_and_engines_have_their_own_streams() {
    let ctx = ctx(5);
    let random = Random::new(&ctx);
    random.seed(Some(8));
    let d = Distribution::builder(&ctx, &[7, 11]).dist("cb").build().unwrap();
    let stream = random.stream().unwrap();
    let in_kernel = gamma_in_kernel(&ctx.zeros::<f64>(&d).unwrap(), stream).unwrap().toarray().unwrap();
    random.set_state(GeneratorState::new(8, 0).unwrap());
    let sampled = random.sample::<f64, _>(&d, Gamma::new(2.0, 1.5).unwrap()).unwrap().toarray().unwrap();
    assert_eq!(in_kernel, sampled);
    let per_engine = engine_draw(&ctx.zeros::<u8>(&d).unwrap(), stream).unwrap();
    let expected: Vec<u64> = (0..5).map(|r| stream.engine(r).random()).collect();
    assert_eq!(per_engine, expected);
    let mut unique = expected.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 5);
}
