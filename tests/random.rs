//! `Random` on thread engines: values independent of engine count, maps and
//! grid; seeds and successive calls; integer bounds; errors; and statistical
//! tests with fixed seeds (thresholds stated at each test).

use distarray::prelude::*;
use ndarray::ArrayD;

const SEED: u64 = 20_240_601;

/// Shapes 1-D to 3-D, with odd sizes so pairs of elements straddle pieces.
const SHAPES: &[&[usize]] = &[&[1], &[13], &[10, 7], &[3, 5, 7], &[2, 1, 9]];

/// Every distribution of `shape` on `ctx` that the test compares: all block,
/// all cyclic, block-cyclic of size 3, unstructured, mixes, and explicit grids.
fn distributions(ctx: &Context, shape: &[usize]) -> Vec<Distribution> {
    let ndim = shape.len();
    let n = ctx.num_targets();
    let mut out = Vec::new();
    let mut add = |b: distarray::DistributionBuilder<'_>| out.push(b.build().expect("distribution"));
    add(Distribution::builder(ctx, shape));
    add(Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)));
    add(Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 3 }; ndim]));
    add(Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)));
    if ndim > 1 {
        add(Distribution::builder(ctx, shape).dist(&"nbcu"[..ndim.min(4)]));
    }
    // The whole grid on the last axis, then on the first.
    let mut last = vec![1; ndim];
    last[ndim - 1] = n;
    add(Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).grid_shape(&last));
    let mut first = vec![1; ndim];
    first[0] = n;
    add(Distribution::builder(ctx, shape).grid_shape(&first));
    out
}

/// The four samplers, called in this order after `seed(SEED)`.
#[derive(Debug, PartialEq)]
struct Draws {
    rand: ArrayD<f64>,
    randn: ArrayD<f64>,
    normal: ArrayD<f64>,
    randint: ArrayD<i64>,
    big: ArrayD<i64>,
}

fn draws(random: &Random, d: &Distribution) -> Draws {
    random.seed(Some(SEED));
    Draws {
        rand: random.rand::<f64>(d).unwrap().toarray().unwrap(),
        randn: random.randn::<f64>(d).unwrap().toarray().unwrap(),
        normal: random.normal(d, -3.0, 0.5).unwrap().toarray().unwrap(),
        randint: random.randint::<i64>(d, -7, Some(5)).unwrap().toarray().unwrap(),
        // A range where half the words are rejected.
        big: random.randint::<i64>(d, i64::MIN.into(), Some(1)).unwrap().toarray().unwrap(),
    }
}

#[test]
fn same_seed_same_values_for_any_engines_maps_and_grid() {
    let one = Context::with_targets(&[0]).unwrap();
    let contexts = [
        one.clone(),
        Context::with_targets(&[2, 0, 1]).unwrap(),
        Context::new().unwrap(),
        Context::with_targets(&[3, 1]).unwrap(),
    ];
    assert_eq!(contexts[2].num_targets(), 4);
    for shape in SHAPES {
        let expected = draws(&Random::new(&one), &Distribution::from_shape(&one, shape).unwrap());
        for ctx in &contexts {
            let random = Random::new(ctx);
            for d in distributions(ctx, shape) {
                assert_eq!(draws(&random, &d), expected, "shape {shape:?}, {d} on {:?}", ctx.targets());
            }
        }
    }
}

#[test]
fn zero_d_and_empty_arrays() {
    let ctx = Context::new().unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(SEED));
    let scalar = random.rand::<f64>(&Distribution::from_shape(&ctx, &[]).unwrap()).unwrap().toarray().unwrap();
    random.seed(Some(SEED));
    let first = random.rand::<f64>(&Distribution::from_shape(&ctx, &[5]).unwrap()).unwrap().toarray().unwrap();
    assert_eq!(scalar.iter().next(), first.iter().next());
    let empty = random.randn::<f64>(&Distribution::from_shape(&ctx, &[0, 3]).unwrap()).unwrap();
    assert_eq!(empty.toarray().unwrap().len(), 0);
}

#[test]
fn seeds_and_calls_give_different_streams() {
    let ctx = Context::new().unwrap();
    let d = Distribution::from_shape(&ctx, &[1000]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(1));
    let a = random.rand::<f64>(&d).unwrap().toarray().unwrap();
    let b = random.rand::<f64>(&d).unwrap().toarray().unwrap();
    assert_ne!(a, b, "successive calls must differ");
    random.seed(Some(2));
    let c = random.rand::<f64>(&d).unwrap().toarray().unwrap();
    assert_ne!(a, c, "different seeds must differ");
    // No value in common between calls or seeds (53-bit values: a repeat
    // among 3000 has probability ~ 1e-9).
    let mut all: Vec<u64> = a.iter().chain(&b).chain(&c).map(|x| x.to_bits()).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 3000);
    // Seeding again restarts the stream.
    random.seed(Some(1));
    assert_eq!(random.rand::<f64>(&d).unwrap().toarray().unwrap(), a);
    assert_eq!(random.rand::<f64>(&d).unwrap().toarray().unwrap(), b);
    // Two generators with the same seed agree; seeds from the OS differ.
    let other = Random::new(&ctx);
    other.seed(Some(1));
    assert_eq!(other.rand::<f64>(&d).unwrap().toarray().unwrap(), a);
    assert_ne!(random.seed(None), other.seed(None));
    // An OS seed is returned, so the run can be repeated.
    let used = random.seed(None);
    let x = random.randint::<i64>(&d, 1 << 40, None).unwrap().toarray().unwrap();
    random.seed(Some(used));
    assert_eq!(random.randint::<i64>(&d, 1 << 40, None).unwrap().toarray().unwrap(), x);
}

#[test]
fn randint_bounds() {
    let ctx = Context::new().unwrap();
    let d = Distribution::builder(&ctx, &[40, 50]).dist("cb").build().unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(SEED));
    let cases: &[(i64, Option<i64>, i64, i64)] = &[
        (-10, Some(-3), -10, -3),
        (-5, Some(5), -5, 5),
        (6, None, 0, 6),
        (1, None, 0, 1),
        (0, Some(1), 0, 1),
        (i64::MAX - 2, Some(i64::MAX), i64::MAX - 2, i64::MAX),
        (i64::MIN, Some(i64::MIN + 3), i64::MIN, i64::MIN + 3),
        (i64::MIN, Some(i64::MAX), i64::MIN, i64::MAX),
    ];
    for &(low, high, lo, hi) in cases {
        let a = random.randint::<i64>(&d, low.into(), high.map(i128::from)).unwrap().toarray().unwrap();
        assert!(a.iter().all(|&x| lo <= x && x < hi), "randint({low}, {high:?})");
        let width = hi.abs_diff(lo);
        if width <= 10 {
            // Every value appears among 2000 draws.
            for v in lo..hi {
                assert!(a.iter().any(|&x| x == v), "randint({low}, {high:?}) never gave {v}");
            }
        } else {
            // The full range: both halves are hit.
            assert!(a.iter().any(|&x| x < 0) && a.iter().any(|&x| x > 0));
        }
    }
}

#[test]
fn errors() {
    let ctx = Context::new().unwrap();
    let d = Distribution::from_shape(&ctx, &[10]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(SEED));
    for (low, high) in [(3, Some(3)), (5, Some(-5)), (0, None), (-4, None), (i64::MAX, Some(i64::MIN))] {
        assert_eq!(
            random.randint::<i64>(&d, low.into(), high.map(i128::from)).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "randint({low}, {high:?})"
        );
    }
    for (loc, scale) in [(0.0, -1.0), (0.0, f64::NAN), (0.0, f64::INFINITY), (f64::NAN, 1.0), (f64::NEG_INFINITY, 1.0)]
    {
        assert_eq!(
            random.normal(&d, loc, scale).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "normal({loc}, {scale})"
        );
    }
    let other = Context::with_targets(&[1, 2]).unwrap();
    let foreign = Distribution::from_shape(&other, &[10]).unwrap();
    assert_eq!(random.rand::<f64>(&foreign).unwrap_err().kind(), ErrorKind::WrongContext);
    assert_eq!(random.randint::<i64>(&foreign, 4, None).unwrap_err().kind(), ErrorKind::WrongContext);
    // Failed calls do not advance the stream.
    let after_errors = random.rand::<f64>(&d).unwrap().toarray().unwrap();
    random.seed(Some(SEED));
    assert_eq!(random.rand::<f64>(&d).unwrap().toarray().unwrap(), after_errors);
    // scale 0 gives loc.
    assert!(random.normal(&d, 2.5, 0.0).unwrap().toarray().unwrap().iter().all(|&x| x == 2.5));
}

// ---- statistics, on N = 10^6 samples with fixed seeds --------------------

const N: usize = 1_000_000;

fn sample_f64(seed: u64, f: impl FnOnce(&Random, &Distribution) -> Result<DistArray<f64>>) -> Vec<f64> {
    let ctx = Context::new().unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(seed));
    let d = Distribution::builder(&ctx, &[1000, 1000]).dist("bc").build().unwrap();
    f(&random, &d).unwrap().toarray().unwrap().into_iter().collect()
}

/// Checks that the sample mean and variance are within 5 standard errors of
/// `mean` and `var`, given the fourth central moment `mu4` (the variance of
/// the sample variance is `(mu4 - var^2) / n`).
fn check_moments(x: &[f64], mean: f64, var: f64, mu4: f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|t| (t - m) * (t - m)).sum::<f64>() / (n - 1.0);
    let se_mean = (var / n).sqrt();
    let se_var = ((mu4 - var * var) / n).sqrt();
    eprintln!("mean {m} ({:+.2} se), variance {v} ({:+.2} se)", (m - mean) / se_mean, (v - var) / se_var);
    assert!((m - mean).abs() < 5.0 * se_mean, "mean {m}, expected {mean} ± 5 × {se_mean}");
    assert!((v - var).abs() < 5.0 * se_var, "variance {v}, expected {var} ± 5 × {se_var}");
}

#[test]
fn rand_moments() {
    let x = sample_f64(11, |r, d| r.rand::<f64>(d));
    assert!(x.iter().all(|&t| (0.0..1.0).contains(&t)));
    // Uniform [0, 1): mean 1/2, variance 1/12, fourth central moment 1/80.
    check_moments(&x, 0.5, 1.0 / 12.0, 1.0 / 80.0);
    // The low bits are random too: the 53rd bit is set about half the time.
    let odd = x.iter().filter(|&&t| (t * (1u64 << 53) as f64) as u64 & 1 == 1).count() as f64;
    assert!((odd - N as f64 / 2.0).abs() < 5.0 * (N as f64 / 4.0).sqrt(), "{odd} odd mantissas");
}

#[test]
fn randn_moments() {
    let x = sample_f64(12, |r, d| r.randn::<f64>(d));
    check_moments(&x, 0.0, 1.0, 3.0);
}

#[test]
fn normal_moments() {
    let (loc, scale) = (-4.0, 3.0);
    let x = sample_f64(13, |r, d| r.normal(d, loc, scale));
    let var: f64 = scale * scale;
    check_moments(&x, loc, var, 3.0 * var * var);
}

/// erf, by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, which
/// moves D·√n by at most 1.5e-4 here).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

#[test]
fn erf_reference_values() {
    for (x, expected) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (-1.5, -0.966_105_146_475_310_7),
    ] {
        assert!((erf(x) - expected).abs() < 1.5e-7, "erf({x})");
    }
}

#[test]
fn randn_kolmogorov_smirnov() {
    let mut x = sample_f64(14, |r, d| r.randn::<f64>(d));
    x.sort_unstable_by(f64::total_cmp);
    let n = x.len() as f64;
    let d = x.iter().enumerate().fold(0.0f64, |d, (i, &t)| {
        let f = normal_cdf(t);
        d.max(f - i as f64 / n).max((i + 1) as f64 / n - f)
    });
    eprintln!("KS: D·√n = {}", d * n.sqrt());
    // Kolmogorov distribution: P(D·√n > 1.95) ≈ 0.001.
    assert!(d * n.sqrt() < 1.95, "KS statistic D·√n = {}", d * n.sqrt());
}

/// Pearson's chi-square statistic of `counts` against equal expectations.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
}

fn sample_i64(seed: u64, low: i64, high: Option<i64>) -> Vec<i64> {
    let ctx = Context::new().unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(seed));
    let d = Distribution::builder(&ctx, &[N]).dist("c").build().unwrap();
    random.randint::<i64>(&d, low.into(), high.map(i128::from)).unwrap().toarray().unwrap().into_iter().collect()
}

#[test]
fn randint_chi_square_small_range() {
    let x = sample_i64(15, -3, Some(7));
    let mut counts = [0u64; 10];
    for v in x {
        counts[(v + 3) as usize] += 1;
    }
    // 9 degrees of freedom: P(chi2 > 44.81) = 1e-6.
    let chi2 = chi_square(&counts);
    eprintln!("chi-square {chi2} over {} bins", counts.len());
    assert!(chi2 < 44.81, "chi-square {chi2} for counts {counts:?}");
}

#[test]
fn randint_chi_square_large_range_is_unbiased() {
    // Range 3·2^61: `word % range` would give the lower two thirds of the
    // range 3/2 times the probability of the top third (chi-square ~ 10^5).
    let range = 3i64 << 61;
    let x = sample_i64(16, range, None);
    let mut counts = [0u64; 24];
    for v in x {
        assert!((0..range).contains(&v));
        counts[(v >> 58) as usize] += 1; // 24 bins of 2^58
    }
    // 23 degrees of freedom: P(chi2 > 70.55) = 1e-6.
    let chi2 = chi_square(&counts);
    eprintln!("chi-square {chi2} over {} bins", counts.len());
    assert!(chi2 < 70.55, "chi-square {chi2} for counts {counts:?}");
}
