//! `Random`'s typed samplers (`f32`/`f64` floats, every integer type,
//! booleans) and the permutations of 1-D arrays, on thread engines: the
//! numbers of `f64`/`i64` pinned to values recorded before the samplers
//! were typed; the same values for 1, 2, 3, 7 and 16 engines and every map
//! type; each sampler against an independent reference (the raw 64-bit
//! words, Lemire's method written plainly, numpy's formulas); statistics at
//! fixed seeds with thresholds stated at each test; integer bounds of every
//! type; and errors, which change nothing.
//!
//! The thread engines are one per process, started by its first context:
//! every test asks for 16 engines first ([`all`]).

use distarray::prelude::*;
use distarray::random::RandomInteger;
use ndarray::Array1;
use num_complex::Complex;
use rand_distr::Distribution as _;

const ENGINES: usize = 16;
const SEED: u64 = 20_240_601;

/// The 16 engines of the process (the first context of every test).
fn all() -> Context {
    Context::builder().engines(ENGINES).build().expect("16 thread engines")
}

/// Contexts of 1, 2, 3, 7 and 16 engines, some in scrambled order.
fn contexts() -> Vec<Context> {
    let all = all();
    let mut out = vec![Context::with_targets(&[0]).unwrap(), Context::with_targets(&[9, 4]).unwrap()];
    out.push(Context::with_targets(&[2, 0, 1]).unwrap());
    out.push(Context::with_targets(&[15, 2, 9, 4, 11, 0, 6]).unwrap());
    out.push(all);
    out
}

/// Block, cyclic, block-cyclic (blocks of 3) and unstructured maps of
/// `shape` on `ctx`, and for 2-D a block × cyclic mix.
fn layouts(ctx: &Context, shape: &[usize]) -> Vec<Distribution> {
    let ndim = shape.len();
    let mut out = vec![
        Distribution::builder(ctx, shape).dist(&"b".repeat(ndim)).build().unwrap(),
        Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).build().unwrap(),
        Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 3 }; ndim]).build().unwrap(),
        Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)).build().unwrap(),
    ];
    if ndim == 2 {
        out.push(Distribution::builder(ctx, shape).dist("bc").build().unwrap());
    }
    out
}

/// An element's bits, to compare arrays of any type exactly.
trait Bits: Element {
    fn bits(self) -> u64;
}
macro_rules! bits_as {
    ($($t:ty),*) => {$(impl Bits for $t { fn bits(self) -> u64 { self as u64 } })*};
}
bits_as!(i8, i16, i32, i64, u8, u16, u32, u64, bool);
impl Bits for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}
impl Bits for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
}
impl Bits for Complex<f64> {
    fn bits(self) -> u64 {
        self.re.to_bits() ^ self.im.to_bits().rotate_left(1)
    }
}

fn values<T: Element>(a: Result<DistArray<T>>) -> Vec<T> {
    a.expect("sampling").toarray().expect("toarray").iter().copied().collect()
}

fn bits<T: Bits>(a: Result<DistArray<T>>) -> Vec<u64> {
    values(a).into_iter().map(Bits::bits).collect()
}

/// Every typed sampler over `d` after `seed(SEED)`, and for 1-D `d` the
/// permutations and choices of arrays laid out as `d`, by name.
fn draws(random: &Random, d: &Distribution) -> Vec<(&'static str, Vec<u64>)> {
    random.seed(Some(SEED));
    let mut out = vec![
        ("rand f32", bits(random.rand::<f32>(d))),
        ("randn f32", bits(random.randn::<f32>(d))),
        ("normal f32", bits(random.normal(d, -3.0f32, 0.5))),
        ("uniform f64", bits(random.uniform(d, -1e3, 5.5))),
        ("uniform f32", bits(random.uniform(d, 0.0f32, 1e-3))),
        ("random_bool", bits(random.random_bool(d, 0.3))),
        ("randint u8", bits(random.randint::<u8>(d, 0, Some(256)))),
        ("randint i8", bits(random.randint::<i8>(d, -128, Some(128)))),
        ("randint i16", bits(random.randint::<i16>(d, -5, Some(5)))),
        ("randint u16", bits(random.randint::<u16>(d, 1 << 16, None))),
        ("randint i32", bits(random.randint::<i32>(d, i32::MIN.into(), Some(i128::from(i32::MAX) + 1)))),
        ("randint u32", bits(random.randint::<u32>(d, 7, None))),
        ("randint u64", bits(random.randint::<u64>(d, 0, Some(1 << 64)))),
        ("randint u64 top", bits(random.randint::<u64>(d, 3 << 62, Some((1 << 64) - 1)))),
        ("randint i64", bits(random.randint::<i64>(d, i64::MIN.into(), Some(i128::from(i64::MAX) + 1)))),
    ];
    if d.ndim() == 1 {
        let ctx = d.context();
        let n = d.shape()[0];
        let a = ctx.fromarray(&Array1::from_iter((0..n as i64).map(|i| 3 * i - 7)), Some(d)).unwrap();
        let bytes = ctx.fromarray(&Array1::from_iter((0..n).map(|i| (i % 251) as u8)), Some(d)).unwrap();
        let wide = ctx.fromarray(&Array1::from_iter((0..n).map(|i| Complex::new(i as f64, -0.5))), Some(d)).unwrap();
        let mut shuffled = ctx.fromarray(&Array1::from_iter(0..n as u32), Some(d)).unwrap();
        random.shuffle(&mut shuffled).unwrap();
        let other = Distribution::builder(ctx, &[n / 2]).dist("c").targets(&ctx.targets()[..1]).build().unwrap();
        out.extend([
            ("permutation_of", bits(random.permutation_of(d))),
            ("permutation i64", bits(random.permutation(&a))),
            ("permutation u8", bits(random.permutation(&bytes))),
            ("permutation c128", bits(random.permutation(&wide))),
            ("shuffle u32", bits(Ok(shuffled))),
            ("choice replace", bits(random.choice(&a, 2 * n, true))),
            ("choice", bits(random.choice(&a, n / 2, false))),
            ("choice_as", bits(random.choice_as(&bytes, &other, false))),
            ("choice_as replace", bits(random.choice_as(&wide, &other, true))),
        ]);
    }
    out
}

#[test]
fn every_sampler_is_the_same_for_any_engines_and_maps() {
    let contexts = contexts();
    let mut checked = 0;
    for shape in [&[37][..], &[5], &[6, 7]] {
        let one = &contexts[0];
        let expected = draws(&Random::new(one), &Distribution::from_shape(one, shape).unwrap());
        for ctx in &contexts {
            let random = Random::new(ctx);
            for d in layouts(ctx, shape) {
                for ((name, got), (_, want)) in draws(&random, &d).iter().zip(&expected) {
                    assert_eq!(got, want, "{name}: shape {shape:?}, {d} on {:?}", ctx.targets());
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 5 * (4 + 4 + 5));
}

/// FNV-1a of 64-bit words, to pin a thousand values in one constant.
fn fnv(words: impl IntoIterator<Item = u64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The `f64` and `i64` numbers did not change when the samplers became
/// typed: seed 20240601, 1000 elements, these calls in order, recorded
/// from the untyped `rand`/`randn`/`normal`/`randint` before the change.
/// Uniforms and integers are exact integer arithmetic (hashes of every
/// value). The normals changed later, from Box–Muller to the ziggurat (for
/// speed): they are recorded from the ziggurat (first values to 1e-14, the
/// sum to 1e-9), and checked against rand_distr's in
/// `samplers_follow_their_definitions_on_the_raw_words`.
#[test]
fn f64_and_i64_numbers_are_those_recorded_before_typing() {
    let _all = all();
    let ctx = Context::with_targets(&[0, 1, 2, 3]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(SEED));
    let d = Distribution::builder(&ctx, &[1000]).dist("c").build().unwrap();
    let rand = values(random.rand::<f64>(&d));
    let randn = values(random.randn::<f64>(&d));
    let normal = values(random.normal(&d, -3.0, 0.5));
    let ints = [
        values(random.randint::<i64>(&d, -7, Some(5))),
        values(random.randint::<i64>(&d, i64::MIN.into(), Some(i64::MAX.into()))),
        values(random.randint::<i64>(&d, i64::MIN.into(), Some(1))),
        values(random.randint::<i64>(&d, 1 << 40, None)),
    ];
    assert_eq!(fnv(rand.iter().map(|x| x.to_bits())), 0x2d5d_321a_af5a_ac62);
    assert_eq!(rand[..3], [0.03488168658013724, 0.43631751875041314, 0.24533341975869538]);
    let close = |got: &[f64], want: &[f64]| got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1e-14 * w.abs());
    assert!(close(&randn[..3], &[1.2955642790792326, 1.3008342939079085, 0.2510625542052562]), "{randn:?}");
    assert!((randn.iter().sum::<f64>() + 14.742491102987907).abs() < 1e-9);
    assert!(close(&normal[..3], &[-3.236830968924103, -3.0038214415987166, -2.8644674590300743]));
    assert!((normal.iter().sum::<f64>() + 3002.914130932803).abs() < 1e-9);
    let hashes: Vec<u64> = ints.iter().map(|x| fnv(x.iter().map(|&v| v as u64))).collect();
    assert_eq!(hashes, [0xb0e7_bb48_11e9_0192, 0x25fb_b05f_d09c_3d5b, 0x579d_db38_9956_9651, 0x9ace_b40e_99b6_88c9]);
    assert_eq!(ints[0][..3], [-4, -6, -6]);
    assert_eq!(ints[1][..3], [-8404605800941725054, 4405677643440373260, 8066190117142380446]);
    assert_eq!(ints[3][..3], [616106806000, 295289817630, 703623561918]);
}

/// One word, then arbitrary ones (a Weyl sequence, so that a sampler
/// needing more ends), noting whether more than the one was asked for.
struct OneWord(Option<u64>, bool, u64);

impl rand::RngCore for OneWord {
    fn next_u64(&mut self) -> u64 {
        self.0.take().unwrap_or_else(|| {
            self.1 = true;
            self.2 = self.2.wrapping_add(0x9e37_79b9_7f4a_7c15);
            self.2
        })
    }
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand::rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

/// The raw words of a call: `randint::<u64>` over the full range returns
/// element `k`'s 64-bit word itself, which every other sampler of the same
/// call starts from.
fn words(random: &Random, d: &Distribution, seed: u64) -> Vec<u64> {
    random.seed(Some(seed));
    values(random.randint::<u64>(d, 0, Some(1 << 64)))
}

/// Each sampler against its definition on the raw words (or on `f64`
/// values) of the same call.
#[test]
fn samplers_follow_their_definitions_on_the_raw_words() {
    let _all = all();
    let ctx = Context::with_targets(&[1, 5, 3]).unwrap();
    let random = Random::new(&ctx);
    let d = Distribution::builder(&ctx, &[40, 25]).dist("cb").build().unwrap();
    let w = words(&random, &d, 77);
    let again = |f: &dyn Fn(&Random)| {
        random.seed(Some(77));
        f(&random)
    };
    // rand: the top 53 bits (f64) or 24 bits (f32) of the word.
    again(&|r| assert!(values(r.rand::<f64>(&d)).iter().zip(&w).all(|(&u, &w)| u == (w >> 11) as f64 / 2f64.powi(53))));
    again(&|r| assert!(values(r.rand::<f32>(&d)).iter().zip(&w).all(|(&u, &w)| u == (w >> 40) as f32 / 2f32.powi(24))));
    // random_bool: word < p · 2^64, with p · 2^64 computed from p's bits.
    for p in [0.3, 1.0 / 3.0, 1e-3, 0.5, 5e-20, 0.0, 1.0] {
        let threshold = exact_times_2_64_ceil(p);
        again(&|r| {
            let coins = values(r.random_bool(&d, p));
            assert!(coins.iter().zip(&w).all(|(&c, &w)| c == (u128::from(w) < threshold)), "p = {p}");
        });
    }
    // randint: Lemire's method, where the first word is accepted (a range
    // of 3·2^61 rejects a quarter; those elements draw further words).
    for (low, high) in [(0i128, 10i128), (-128, 128), (5, 6), (0, 3 << 61), (i64::MIN as i128, 0)] {
        let range = (high - low) as u128;
        let threshold = ((1u128 << 64) % range) as u64; // 2^64 mod range
        again(&|r| {
            let got = values(r.randint::<i64>(&d, low, Some(high)));
            let mut accepted = 0;
            for (&x, &w) in got.iter().zip(&w) {
                let m = u128::from(w) * range;
                if m as u64 >= threshold {
                    assert_eq!(i128::from(x), low + (m >> 64) as i128, "[{low}, {high})");
                    accepted += 1;
                }
            }
            assert!(accepted > got.len() / 2, "[{low}, {high}): {accepted} first words accepted");
        });
    }
    // randn: rand_distr's ziggurat on the word, where the first word is
    // accepted (about 1% of elements draw further words).
    again(&|r| {
        let z = values(r.randn::<f64>(&d));
        let mut accepted = 0;
        for (&x, &w) in z.iter().zip(&w) {
            let mut one = OneWord(Some(w), false, 0);
            let expected: f64 = rand_distr::StandardNormal.sample(&mut one);
            if !one.1 {
                assert_eq!(x.to_bits(), expected.to_bits());
                accepted += 1;
            }
        }
        assert!(accepted > z.len() * 95 / 100, "{accepted} of {} first words accepted", z.len());
    });
    // The offset from low depends on the range only, not on the type.
    random.seed(Some(77));
    let wide = values(random.randint::<i64>(&d, -100, Some(100)));
    random.seed(Some(77));
    let narrow = values(random.randint::<i8>(&d, -100, Some(100)));
    random.seed(Some(77));
    let unsigned = values(random.randint::<u8>(&d, 0, Some(200)));
    assert!(wide.iter().zip(&narrow).all(|(&x, &y)| x == i64::from(y)));
    assert!(wide.iter().zip(&unsigned).all(|(&x, &y)| x + 100 == i64::from(y)));
    // randn/normal f32: the f64 normals rounded; uniform: numpy's formula.
    random.seed(Some(77));
    let z = values(random.randn::<f64>(&d));
    let u = values(random.rand::<f64>(&d));
    random.seed(Some(77));
    assert_eq!(values(random.randn::<f32>(&d)), z.iter().map(|&z| z as f32).collect::<Vec<_>>());
    let (loc, scale) = (1.25f32, 0.375f32);
    random.seed(Some(77));
    assert_eq!(
        values(random.normal(&d, loc, scale)),
        z.iter().map(|&z| (f64::from(loc) + f64::from(scale) * z) as f32).collect::<Vec<_>>()
    );
    random.seed(Some(77));
    random.rand::<f64>(&d).unwrap();
    assert_eq!(values(random.uniform(&d, -3.0, 7.0)), u.iter().map(|&u| -3.0 + 10.0 * u).collect::<Vec<_>>());
    random.seed(Some(77));
    random.rand::<f64>(&d).unwrap();
    let expected: Vec<f32> = u
        .iter()
        .map(|&u| {
            let x = (0.5 + 1.5 * u) as f32;
            if x >= 2.0 {
                f32::from_bits(2f32.to_bits() - 1)
            } else {
                x
            }
        })
        .collect();
    assert_eq!(values(random.uniform(&d, 0.5f32, 2.0)), expected);
}

/// `⌈p · 2^64⌉` from `p`'s mantissa and exponent, in integers.
fn exact_times_2_64_ceil(p: f64) -> u128 {
    if p == 0.0 {
        return 0;
    }
    let bits = p.to_bits();
    let (exponent, fraction) = (((bits >> 52) & 0x7ff) as i32, bits & ((1 << 52) - 1));
    let (mantissa, e) = if exponent == 0 { (fraction, -1074) } else { (fraction | 1 << 52, exponent - 1075) };
    // p = mantissa · 2^e, p · 2^64 = mantissa · 2^(e + 64).
    let shift = e + 64;
    if shift >= 0 {
        u128::from(mantissa) << shift
    } else {
        let (m, s) = (u128::from(mantissa), (-shift) as u32);
        if s >= 128 {
            return 1; // 0 < p · 2^64 < 1
        }
        (m >> s) + u128::from(m & ((1 << s) - 1) != 0)
    }
}

#[test]
fn permutations_are_bijections_and_agree_with_each_other() {
    let _all = all();
    let ctx = Context::with_targets(&[3, 7, 1]).unwrap();
    let random = Random::new(&ctx);
    for n in [0usize, 1, 2, 3, 16, 17, 100, 1000] {
        let d = Distribution::builder(&ctx, &[n]).dist("c").build().unwrap();
        let input: Vec<f64> = (0..n).map(|i| (i as f64).sqrt() - 3.0).collect();
        let a = ctx.fromarray(&Array1::from(input.clone()), Some(&d)).unwrap();
        random.seed(Some(n as u64));
        let p = values(random.permutation_of(&d));
        random.seed(Some(n as u64));
        let permuted = values(random.permutation(&a));
        random.seed(Some(n as u64));
        let mut b = ctx.fromarray(&Array1::from(input.clone()), Some(&d)).unwrap();
        random.shuffle(&mut b).unwrap();
        random.seed(Some(n as u64));
        let chosen = values(random.choice(&a, n / 3, false));
        // permutation_of is a permutation of 0..n.
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n as i64).collect::<Vec<_>>(), "n = {n}");
        // permutation(a)[i] = a[p[i]]; shuffle gives the same; choice its head.
        let expected: Vec<f64> = p.iter().map(|&j| input[j as usize]).collect();
        assert_eq!(permuted, expected, "n = {n}");
        assert_eq!(values(Ok(b)), expected, "n = {n}");
        assert_eq!(chosen, expected[..n / 3], "n = {n}");
        // Sorting the permuted copy gives the input back; the input is unchanged.
        let mut back = permuted.clone();
        back.sort_by(f64::total_cmp);
        let mut sorted_input = input.clone();
        sorted_input.sort_by(f64::total_cmp);
        assert_eq!(back, sorted_input);
        assert_eq!(values(Ok(a)), input);
        if n >= 16 {
            assert_ne!(expected, input, "n = {n}: the identity");
        }
    }
}

#[test]
fn choice_with_replacement_takes_randint_indices() {
    let _all = all();
    let ctx = Context::with_targets(&[0, 4, 8, 12]).unwrap();
    let random = Random::new(&ctx);
    let n = 57;
    let input: Vec<i32> = (0..n).map(|i| i * i - 100).collect();
    let a = ctx
        .fromarray(
            &Array1::from(input.clone()),
            Some(&Distribution::builder(&ctx, &[n as usize]).dist("u").build().unwrap()),
        )
        .unwrap();
    let d = Distribution::builder(&ctx, &[500]).dist("c").targets(&[8, 0]).build().unwrap();
    random.seed(Some(8));
    let idx = values(random.randint::<i64>(&d, 0, Some(i128::from(n))));
    random.seed(Some(8));
    let got = values(random.choice_as(&a, &d, true));
    assert_eq!(got, idx.iter().map(|&j| input[j as usize]).collect::<Vec<_>>());
    // 500 draws of 57 values: about 57·(1 - e^(-500/57)) ≈ 56.99 distinct.
    let mut distinct = got.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 50, "{} distinct", distinct.len());
}

// ---- statistics at fixed seeds ---------------------------------------------

/// Pearson's chi-square of `counts` against equal expectations.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
}

/// Sample mean and variance within 5 standard errors of `mean` and `var`
/// (`mu4` the fourth central moment: the variance of the sample variance is
/// `(mu4 - var^2) / n`).
fn check_moments(x: &[f64], mean: f64, var: f64, mu4: f64, what: &str) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|t| (t - m) * (t - m)).sum::<f64>() / (n - 1.0);
    let (se_mean, se_var) = ((var / n).sqrt(), ((mu4 - var * var) / n).sqrt());
    assert!((m - mean).abs() < 5.0 * se_mean, "{what}: mean {m}, expected {mean} ± 5 × {se_mean}");
    assert!((v - var).abs() < 5.0 * se_var, "{what}: variance {v}, expected {var} ± 5 × {se_var}");
}

const N: usize = 1 << 20;

fn big(ctx: &Context) -> Distribution {
    Distribution::builder(ctx, &[1024, 1024]).dist("bc").build().unwrap()
}

#[test]
fn f32_uniforms_fill_buckets_evenly_and_have_uniform_moments() {
    let _all = all();
    let ctx = Context::with_targets(&[0, 1, 2, 3]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(21));
    let x = values(random.rand::<f32>(&big(&ctx)));
    assert_eq!(x.len(), N);
    let mut counts = [0u64; 64];
    for &u in &x {
        assert!((0.0..1.0).contains(&u));
        assert_eq!(u * 16_777_216.0, (u * 16_777_216.0).floor(), "{u} is not a multiple of 2^-24");
        counts[(u * 64.0) as usize] += 1;
    }
    // 63 degrees of freedom: P(chi2 > 131.37) = 1e-6.
    let chi2 = chi_square(&counts);
    eprintln!("rand f32: chi-square {chi2} over 64 buckets");
    assert!(chi2 < 131.37, "chi-square {chi2}");
    // The lowest of the 24 bits is random too: odd mantissas half the time.
    let odd = x.iter().filter(|&&u| (u * 16_777_216.0) as u32 & 1 == 1).count() as f64;
    assert!((odd - N as f64 / 2.0).abs() < 5.0 * (N as f64 / 4.0).sqrt(), "{odd} odd");
    let wide: Vec<f64> = x.iter().map(|&u| f64::from(u)).collect();
    check_moments(&wide, 0.5, 1.0 / 12.0, 1.0 / 80.0, "rand f32");
}

#[test]
fn float_moments() {
    let _all = all();
    let ctx = Context::with_targets(&[5, 6]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(22));
    let d = big(&ctx);
    let wide = |x: Vec<f32>| x.into_iter().map(f64::from).collect::<Vec<f64>>();
    check_moments(&wide(values(random.randn::<f32>(&d))), 0.0, 1.0, 3.0, "randn f32");
    let (loc, scale) = (-4.0f32, 3.0f32);
    let var = f64::from(scale * scale);
    check_moments(&wide(values(random.normal(&d, loc, scale))), -4.0, var, 3.0 * var * var, "normal f32");
    // Uniform [a, b): mean (a + b) / 2, variance w^2 / 12, mu4 w^4 / 80.
    let (a, b) = (-2.5, 7.5);
    let w: f64 = b - a;
    let x = values(random.uniform(&d, a, b));
    assert!(x.iter().all(|v| (a..b).contains(v)));
    check_moments(&x, 2.5, w * w / 12.0, w.powi(4) / 80.0, "uniform f64");
    let x = wide(values(random.uniform(&d, a as f32, b as f32)));
    assert!(x.iter().all(|v| (a..b).contains(v)));
    check_moments(&x, 2.5, w * w / 12.0, w.powi(4) / 80.0, "uniform f32");
}

#[test]
fn random_bool_is_binomial() {
    let _all = all();
    let ctx = Context::with_targets(&[2, 3, 4]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(23));
    let d = big(&ctx);
    for p in [0.5, 0.1, 0.999, 1e-4] {
        let heads = values(random.random_bool(&d, p)).iter().filter(|&&c| c).count() as f64;
        let (mean, sd) = (N as f64 * p, (N as f64 * p * (1.0 - p)).sqrt());
        assert!((heads - mean).abs() < 5.0 * sd, "p = {p}: {heads} heads, expected {mean} ± 5 × {sd}");
    }
    assert!(values(random.random_bool(&d, 0.0)).iter().all(|&c| !c));
    assert!(values(random.random_bool(&d, 1.0)).iter().all(|&c| c));
}

/// Where each element of a small array lands, over many permutations: the
/// `n × n` table of counts against `calls / n` per cell, `(n - 1)^2`
/// degrees of freedom (both margins are fixed).
#[test]
fn permutation_positions_are_uniform() {
    let _all = all();
    let ctx = Context::with_targets(&[0, 1]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(24));
    // Thresholds: P(chi2 > x) = 1e-6 for 16, 49 and 225 degrees of freedom.
    for (n, calls, threshold) in [(5usize, 2000, 58.72), (8, 4000, 111.14), (16, 4000, 340.59)] {
        let d = Distribution::builder(&ctx, &[n]).dist("c").build().unwrap();
        let mut counts = vec![0u64; n * n];
        for _ in 0..calls {
            // Element s lands at i where p[i] = s.
            for (i, &s) in values(random.permutation_of(&d)).iter().enumerate() {
                counts[s as usize * n + i] += 1;
            }
        }
        let chi2 = chi_square(&counts);
        eprintln!("n = {n}: chi-square {chi2} over {} cells", n * n);
        assert!(chi2 < threshold, "n = {n}: chi-square {chi2} over {calls} permutations");
    }
}

/// One large permutation: Spearman's rank correlation between `s` and
/// `π(s)` is about N(0, 1/(n-1)) for a uniform permutation, and the number
/// of fixed points about Poisson(1).
#[test]
fn a_large_permutation_is_uncorrelated_with_the_identity() {
    let _all = all();
    let ctx = Context::with_targets(&[10, 11, 12, 13, 14]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(25));
    let n = 200_000usize;
    let p = values(random.permutation_of(&Distribution::builder(&ctx, &[n]).dist("c").build().unwrap()));
    let nf = n as f64;
    let mean = (nf - 1.0) / 2.0;
    let var = (nf * nf - 1.0) / 12.0;
    let rho = p.iter().enumerate().map(|(i, &s)| (i as f64 - mean) * (s as f64 - mean)).sum::<f64>() / (nf * var);
    eprintln!("rho {rho} (se {})", 1.0 / (nf - 1.0).sqrt());
    assert!(rho.abs() < 5.0 / (nf - 1.0).sqrt(), "rho {rho}");
    let fixed = p.iter().enumerate().filter(|&(i, &s)| i as i64 == s).count();
    // Poisson(1): P(X >= 10) < 1.1e-7.
    assert!(fixed < 10, "{fixed} fixed points");
    // Neighbours stay unrelated: successive differences are not small.
    let close = p.windows(2).filter(|w| w[0].abs_diff(w[1]) < 10).count() as f64;
    eprintln!("{fixed} fixed points, {close} close neighbours");
    // P(|π(i) - π(i+1)| < 10) ≈ 19/n per pair.
    assert!((close - 19.0).abs() < 5.0 * 19f64.sqrt() + 1.0, "{close} close neighbours");
}

// ---- integer bounds of every type ------------------------------------------

fn check_integer_type<T: RandomInteger + Into<i128> + Ord>(random: &Random, d: &Distribution) {
    let (min, max) = (T::LOWEST, T::HIGHEST);
    let name = T::DTYPE.name();
    let small = (max - min).min(9);
    for (low, high) in [(min, max + 1), (min, min + 3), (max - 2, max + 1), (min.max(-4), min.max(-4) + small)] {
        let x: Vec<i128> = values(random.randint::<T>(d, low, Some(high))).into_iter().map(Into::into).collect();
        assert!(x.iter().all(|&v| low <= v && v < high), "{name} [{low}, {high})");
        if high - low <= 256 {
            for v in low..high {
                assert!(x.contains(&v), "{name} [{low}, {high}) never gave {v} in {} draws", x.len());
            }
        } else {
            // The full range: both ends' eighths are hit.
            let eighth = (high - low) / 8;
            assert!(x.iter().any(|&v| v < low + eighth) && x.iter().any(|&v| v >= high - eighth), "{name}");
        }
    }
    // Just outside T: an error naming the type and the bound.
    for (low, high, bound) in [(min - 1, 0, min - 1), (0, max + 2, max + 2), (min, max + 2, max + 2)] {
        let e = random.randint::<T>(d, low, Some(high)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{name} [{low}, {high})");
        assert!(e.message().contains(name) && e.message().contains(&bound.to_string()), "{e}");
    }
    let e = random.randint::<T>(d, max + 2, None).unwrap_err();
    assert!(e.message().contains(name), "{e}");
}

#[test]
fn randint_bounds_of_every_integer_type() {
    let _all = all();
    let ctx = Context::with_targets(&[6, 2, 13]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(26));
    let d = Distribution::builder(&ctx, &[50, 60]).dist("cu").build().unwrap();
    check_integer_type::<i8>(&random, &d);
    check_integer_type::<i16>(&random, &d);
    check_integer_type::<i32>(&random, &d);
    check_integer_type::<i64>(&random, &d);
    check_integer_type::<u8>(&random, &d);
    check_integer_type::<u16>(&random, &d);
    check_integer_type::<u32>(&random, &d);
    check_integer_type::<u64>(&random, &d);
    assert!(random.randint::<u8>(&d, 0, Some(256)).is_ok());
    let e = random.randint::<u8>(&d, 0, Some(257)).unwrap_err();
    assert!(e.message().contains("uint8") && e.message().contains("257"), "{e}");
}

#[test]
fn full_ranges_are_uniform() {
    let _all = all();
    let ctx = Context::with_targets(&[0, 15]).unwrap();
    let random = Random::new(&ctx);
    random.seed(Some(27));
    let d = big(&ctx);
    // u8 and i8 over all 256 values: 255 degrees of freedom, P(chi2 > 377.08) = 1e-6.
    let mut counts = [0u64; 256];
    values(random.randint::<u8>(&d, 0, Some(256))).into_iter().for_each(|v| counts[v as usize] += 1);
    assert!(chi_square(&counts) < 377.08, "u8: {}", chi_square(&counts));
    let mut counts = [0u64; 256];
    values(random.randint::<i8>(&d, -128, Some(128))).into_iter().for_each(|v| counts[(v as i16 + 128) as usize] += 1);
    assert!(chi_square(&counts) < 377.08, "i8: {}", chi_square(&counts));
    // u64 over 2^64, by the top 6 bits: 63 degrees of freedom, P(chi2 > 131.37) = 1e-6.
    let mut counts = [0u64; 64];
    values(random.randint::<u64>(&d, 0, Some(1 << 64))).into_iter().for_each(|v| counts[(v >> 58) as usize] += 1);
    assert!(chi_square(&counts) < 131.37, "u64: {}", chi_square(&counts));
    // i64 over [i64::MIN, i64::MAX]: the same, shifted.
    let mut counts = [0u64; 64];
    values(random.randint::<i64>(&d, i64::MIN.into(), Some(1 << 63)))
        .into_iter()
        .for_each(|v| counts[((v as u64) ^ (1 << 63)) as usize >> 58] += 1);
    assert!(chi_square(&counts) < 131.37, "i64: {}", chi_square(&counts));
}

// ---- errors ------------------------------------------------------------------

#[test]
fn bad_inputs_are_errors_that_change_nothing() {
    let _all = all();
    let ctx = Context::with_targets(&[1, 2, 3]).unwrap();
    let random = Random::new(&ctx);
    let d = Distribution::from_shape(&ctx, &[10]).unwrap();
    let input = Array1::from_iter(0..10i64);
    let mut a = ctx.fromarray(&input, Some(&d)).unwrap();
    let flat = ctx.fromarray(&ndarray::Array2::<u8>::zeros((3, 4)), None).unwrap();
    let halo = Distribution::builder(&ctx, &[10]).halo(&[1]).build().unwrap();
    let mut ghosts = ctx.fromarray(&input, Some(&halo)).unwrap();
    let other = Context::with_targets(&[4, 5]).unwrap();
    let foreign = ctx_array(&other);
    random.seed(Some(SEED));
    use ErrorKind::*;
    let kinds: Vec<(&str, ErrorKind, Result<()>)> = vec![
        ("uniform nan", InvalidArgument, random.uniform(&d, f64::NAN, 1.0).map(drop)),
        ("uniform inf", InvalidArgument, random.uniform(&d, 0.0, f64::INFINITY).map(drop)),
        ("uniform low > high", InvalidArgument, random.uniform(&d, 2.0f32, 1.0).map(drop)),
        ("normal f32", InvalidArgument, random.normal(&d, 0.0f32, -1.0).map(drop)),
        ("normal f32 nan", InvalidArgument, random.normal(&d, f32::NAN, 1.0).map(drop)),
        ("random_bool -0.1", InvalidArgument, random.random_bool(&d, -0.1).map(drop)),
        ("random_bool 1.1", InvalidArgument, random.random_bool(&d, 1.1).map(drop)),
        ("random_bool nan", InvalidArgument, random.random_bool(&d, f64::NAN).map(drop)),
        ("randint empty", InvalidArgument, random.randint::<u16>(&d, 4, Some(4)).map(drop)),
        ("randint reversed", InvalidArgument, random.randint::<i8>(&d, 4, Some(-4)).map(drop)),
        ("randint u64 beyond", InvalidArgument, random.randint::<u64>(&d, 0, Some((1 << 64) + 1)).map(drop)),
        ("randint i8 below", InvalidArgument, random.randint::<i8>(&d, -129, Some(0)).map(drop)),
        ("permutation 2-D", InvalidShape, random.permutation(&flat).map(drop)),
        (
            "shuffle 2-D",
            InvalidShape,
            random.shuffle(&mut ctx.fromarray(&ndarray::Array2::<u8>::zeros((3, 4)), None).unwrap()),
        ),
        ("permutation_of 2-D", InvalidShape, random.permutation_of(flat.distribution()).map(drop)),
        ("choice 2-D", InvalidShape, random.choice(&flat, 2, true).map(drop)),
        ("permutation ghosts", Unsupported, random.permutation(&ghosts).map(drop)),
        ("shuffle ghosts", Unsupported, random.shuffle(&mut ghosts)),
        ("permutation_of ghosts", Unsupported, random.permutation_of(&halo).map(drop)),
        ("choice ghosts", Unsupported, random.choice(&ghosts, 3, false).map(drop)),
        ("choice into ghosts", Unsupported, random.choice_as(&a, &halo, false).map(drop)),
        ("choice too many", InvalidArgument, random.choice(&a, 11, false).map(drop)),
        (
            "choice from empty",
            InvalidArgument,
            random.choice(&ctx.fromarray(&Array1::<i64>::zeros(0), None).unwrap(), 1, true).map(drop),
        ),
        ("choice into 2-D", InvalidShape, random.choice_as(&a, flat.distribution(), true).map(drop)),
        ("permutation foreign", WrongContext, random.permutation(&foreign).map(drop)),
        ("choice_as foreign", WrongContext, random.choice_as(&a, foreign.distribution(), true).map(drop)),
        ("uniform foreign", WrongContext, random.uniform(foreign.distribution(), 0.0, 1.0).map(drop)),
        ("random_bool foreign", WrongContext, random.random_bool(foreign.distribution(), 0.5).map(drop)),
    ];
    for (what, kind, result) in kinds {
        let e = result.expect_err(what);
        assert_eq!(e.kind(), kind, "{what}: {e}");
    }
    // The arrays are as they were, and no call advanced the stream.
    assert_eq!(a.toarray().unwrap(), input.clone().into_dyn());
    assert_eq!(ghosts.toarray().unwrap(), input.clone().into_dyn());
    let after = values(random.permutation(&a));
    random.seed(Some(SEED));
    assert_eq!(values(random.permutation(&a)), after);
    // choice of 0 from an empty array, or all n without replacement, is fine.
    let empty = ctx.fromarray(&Array1::<i64>::zeros(0), None).unwrap();
    assert!(values(random.choice(&empty, 0, false)).is_empty());
    let mut all_ten = values(random.choice(&a, 10, false));
    all_ten.sort_unstable();
    assert_eq!(all_ten, input.to_vec());
    random.shuffle(&mut a).unwrap();
    let mut shuffled = values(Ok(a));
    shuffled.sort_unstable();
    assert_eq!(shuffled, input.to_vec());
}

fn ctx_array(ctx: &Context) -> DistArray<i64> {
    ctx.fromarray(&Array1::from_iter(0..6i64), None).unwrap()
}
