//! The reduction suite shared by `tests/reductions.rs` (threads) and
//! `tests/mpi_reductions.rs` (mpirun): every reduction against ndarray on the
//! gathered array, every map type, 1-D to 3-D, uneven sizes, every axis
//! subset, numpy's edge cases.

use distarray::prelude::*;
use distarray::Complex;
use ndarray::{ArrayD, Axis, IxDyn};

const SHAPES: &[&[usize]] = &[&[11], &[1], &[5, 7], &[4, 1], &[3, 4, 5], &[2, 3, 1]];
const DISTS: &[&str] = &["b", "c", "n", "u"];

/// Every non-empty subset of `0..ndim`, as ascending axis lists.
fn axis_sets(ndim: usize) -> Vec<Vec<usize>> {
    (1..1u32 << ndim).map(|mask| (0..ndim).filter(|a| mask & (1 << a) != 0).collect()).collect()
}

/// Reduces `a` along `axes` with `f` applied to each lane of values (client-side oracle).
fn oracle<T: Clone, O: Clone>(a: &ArrayD<T>, axes: &[usize], f: impl Fn(&[T]) -> O) -> ArrayD<O> {
    let kept: Vec<usize> = (0..a.ndim()).filter(|ax| !axes.contains(ax)).collect();
    // Move kept axes first, reduced axes last, and reduce each row of the result.
    let order: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let p = a.view().permuted_axes(IxDyn(&order));
    let out_shape: Vec<usize> = kept.iter().map(|&ax| a.shape()[ax]).collect();
    let lane: usize = axes.iter().map(|&ax| a.shape()[ax]).product();
    let flat: Vec<T> = p.iter().cloned().collect();
    let values: Vec<O> = if lane == 0 {
        (0..out_shape.iter().product::<usize>()).map(|_| f(&[])).collect()
    } else {
        flat.chunks(lane).map(f).collect()
    };
    ArrayD::from_shape_vec(IxDyn(&out_shape), values).expect("oracle shape")
}

fn variance(xs: &[f64], ddof: f64) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - ddof).max(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    assert!(got.iter().zip(want).all(|(&g, &w)| close(g, w)), "{what}: got {got}, want {want}");
}

fn values(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).expect("shape")
}

/// sum, min, max, mean, var, std of f64 and i64 data over every layout and axis subset.
pub fn check_layouts(ctx: &Context) -> Result<usize> {
    let mut checked = 0;
    for shape in SHAPES {
        let x = values(shape, |k| ((k * 37) % 23) as f64 - 7.5);
        let xi = x.mapv(|v| (v * 2.0) as i64);
        for dist in DISTS {
            let d = match Distribution::builder(ctx, shape).dist(&dist.repeat(shape.len())).build() {
                Ok(d) => d,
                Err(e) if e.kind() == ErrorKind::InvalidGridShape => continue, // all 'n' on several engines
                Err(e) => return Err(e),
            };
            let a = ctx.fromarray(&x, Some(&d))?;
            let ai = ctx.fromarray(&xi, Some(&d))?;
            let what = format!("{d}");
            assert!(close(a.sum()?, x.sum()), "{what} sum");
            assert_eq!(ai.sum()?, xi.sum(), "{what} int sum");
            assert_eq!(a.min()?, x.iter().copied().fold(f64::INFINITY, f64::min), "{what} min");
            assert_eq!(ai.max()?, *xi.iter().max().expect("non-empty"), "{what} int max");
            assert!(close(a.mean()?, x.mean().expect("non-empty")), "{what} mean");
            let flat: Vec<f64> = x.iter().copied().collect();
            assert!(close(a.var(0.0)?, variance(&flat, 0.0)), "{what} var");
            assert!(close(a.std(1.0)?, variance(&flat, 1.0).sqrt()), "{what} std ddof=1");
            for axes in axis_sets(shape.len()) {
                let what = format!("{what} axes {axes:?}");
                let s = a.sum_axis(&axes)?;
                assert_eq!(s.distribution().shape(), d.reduce(&axes)?.shape());
                assert!(s.distribution().is_compatible(&d.reduce(&axes)?), "{what}: result distribution");
                assert_close(&s.toarray()?, &oracle(&x, &axes, |l| l.iter().sum()), &format!("{what} sum"));
                assert_eq!(
                    ai.sum_axis(&axes)?.toarray()?,
                    oracle(&xi, &axes, |l| l.iter().sum::<i64>()),
                    "{what} int sum"
                );
                assert_eq!(
                    ai.min_axis(&axes)?.toarray()?,
                    oracle(&xi, &axes, |l| *l.iter().min().expect("lane")),
                    "{what} min"
                );
                assert_eq!(
                    a.max_axis(&axes)?.toarray()?,
                    oracle(&x, &axes, |l| l.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                    "{what} max"
                );
                assert_close(
                    &a.mean_axis(&axes)?.toarray()?,
                    &oracle(&x, &axes, |l| l.iter().sum::<f64>() / l.len() as f64),
                    &format!("{what} mean"),
                );
                assert_close(
                    &ai.var_axis(&axes, 1.0)?.toarray()?,
                    &oracle(&xi, &axes, |l| variance(&l.iter().map(|&v| v as f64).collect::<Vec<_>>(), 1.0)),
                    &format!("{what} var"),
                );
                assert_close(
                    &a.std_axis(&axes, 0.0)?.toarray()?,
                    &oracle(&x, &axes, |l| variance(l, 0.0).sqrt()),
                    &format!("{what} std"),
                );
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// dtypes: sum of i8 wraps, sum_as::<i64> does not; bool counts; u32, f32, complex.
pub fn check_dtypes(ctx: &Context) -> Result<()> {
    let big = ArrayD::from_elem(IxDyn(&[50]), 100i8);
    let a = ctx.fromarray(&big, None)?;
    assert_eq!(a.sum()?, 100i8.wrapping_mul(50), "i8 sum wraps like numpy");
    assert_eq!(a.sum_as::<i64>()?, 5000);
    assert_eq!(a.sum_axis_as::<i64>(&[0])?.toarray()?, ndarray::arr0(5000i64).into_dyn());
    assert_eq!(a.sum_as::<f64>()?, 5000.0);

    let flags = ArrayD::from_shape_fn(IxDyn(&[6, 5]), |i| (i[0] + i[1]) % 3 == 0);
    let b = ctx.fromarray(&flags, Some(&Distribution::builder(ctx, &[6, 5]).dist("cb").build()?))?;
    assert_eq!(b.sum_as::<i64>()?, flags.iter().filter(|&&f| f).count() as i64);
    assert!(b.max()?);
    assert!(!b.min()?);
    assert_eq!(
        b.sum_axis_as::<u32>(&[1])?.toarray()?,
        oracle(&flags, &[1], |l| l.iter().filter(|&&f| f).count() as u32)
    );
    assert!(close(b.mean()?, flags.iter().filter(|&&f| f).count() as f64 / 30.0));

    let u = ArrayD::from_shape_fn(IxDyn(&[7, 3]), |i| (i[0] * 3 + i[1]) as u32 * 1000);
    let du = ctx.fromarray(&u, None)?;
    assert_eq!(du.sum()?, u.sum());
    assert_eq!(du.max_axis(&[0])?.toarray()?, oracle(&u, &[0], |l| *l.iter().max().expect("lane")));

    let f = ArrayD::from_shape_fn(IxDyn(&[9]), |i| i[0] as f32 * 0.5);
    let df = ctx.fromarray(&f, Some(&Distribution::builder(ctx, &[9]).dist("c").build()?))?;
    assert_eq!(df.sum()?, f.sum());
    assert_eq!(df.min()?, 0.0f32);

    let c = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| Complex::new(i[0] as f64, -(i[1] as f64)));
    let dc = ctx.fromarray(&c, None)?;
    assert_eq!(dc.sum()?, c.sum());
    assert_eq!(dc.sum_axis(&[0])?.toarray()?, c.sum_axis(Axis(0)).into_dyn());
    let c32 = c.mapv(|z| Complex::new(z.re as f32, z.im as f32));
    assert_eq!(ctx.fromarray(&c32, None)?.sum_as::<Complex<f64>>()?, c.sum());
    Ok(())
}

/// NaN, empty arrays, large means, bad axes.
pub fn check_edge_cases(ctx: &Context) -> Result<()> {
    // NaN propagates through min/max/sum (numpy), also along axes.
    let mut x = values(&[4, 6], |k| k as f64);
    x[[2, 3]] = f64::NAN;
    let a = ctx.fromarray(&x, Some(&Distribution::builder(ctx, &[4, 6]).dist("bc").build()?))?;
    assert!(a.min()?.is_nan() && a.max()?.is_nan() && a.sum()?.is_nan() && a.var(0.0)?.is_nan());
    let m = a.min_axis(&[0])?.toarray()?;
    assert!(m[[3]].is_nan());
    assert_eq!(m[[2]], 2.0);

    // Empty arrays: sum 0, mean/var NaN, min/max an error naming the operation.
    let e = ctx.zeros::<f64>(&Distribution::from_shape(ctx, &[0, 3])?)?;
    assert_eq!(e.sum()?, 0.0);
    assert!(e.mean()?.is_nan() && e.var(0.0)?.is_nan());
    let err = e.min().unwrap_err();
    assert!(err.to_string().contains("zero-size array to reduction operation minimum"), "{err}");
    assert_eq!(e.sum_axis(&[0])?.toarray()?, ArrayD::zeros(IxDyn(&[3])));
    assert_eq!(e.sum_axis(&[1])?.toarray()?.shape(), &[0]);
    assert!(e.max_axis(&[0]).is_err());

    // A 0-d array reduces to its one element, over no axes or all of them.
    let z = ctx.fromarray(&ndarray::arr0(2.5f64), None)?;
    assert_eq!(z.sum()?, 2.5);
    assert_eq!(z.sum_axis(&[])?.toarray()?, ndarray::arr0(2.5).into_dyn());
    assert_eq!(a.sum_axis(&[])?.toarray()?.shape(), &[4, 6]);

    // 1e9 + small noise: the variance survives (a sum of squares would not).
    let noisy = values(&[1000], |k| 1e9 + ((k * 7919) % 101) as f64 * 1e-3);
    let flat: Vec<f64> = noisy.iter().copied().collect();
    let mean = flat.iter().sum::<f64>() / 1000.0;
    let exact: f64 = flat.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 1000.0;
    let dn = ctx.fromarray(&noisy, Some(&Distribution::builder(ctx, &[1000]).dist("c").build()?))?;
    let got = dn.var(0.0)?;
    assert!((got - exact).abs() <= 1e-6 * exact, "var {got} vs {exact}");

    // Bad axes are errors and leave the array intact.
    assert_eq!(a.sum_axis(&[2]).unwrap_err().kind(), ErrorKind::InvalidShape);
    assert_eq!(a.sum_axis(&[0, 0]).unwrap_err().kind(), ErrorKind::InvalidShape);
    assert_eq!(a.toarray()?.shape(), &[4, 6]);
    Ok(())
}

/// The layouts of `shape` (2-D or 3-D) for the infinity and large-offset
/// checks: block, cyclic, block-cyclic, one axis undistributed, 2-D grids
/// (where the engine count allows), unstructured.
fn layouts(ctx: &Context, shape: &[usize]) -> Result<Vec<Distribution>> {
    use Dist::{Block as B, NoDist as N, Unstructured as U};
    const C: Dist = Dist::CYCLIC;
    let bc = |block_size| Dist::BlockCyclic { block_size };
    let combos: Vec<Vec<Dist>> = match shape.len() {
        2 => vec![
            vec![B, B],
            vec![C, C],
            vec![bc(2), N],
            vec![N, bc(3)],
            vec![B, C],
            vec![C, bc(2)],
            vec![U, N],
            vec![N, B],
        ],
        _ => vec![vec![B, B, B], vec![C, N, C], vec![N, bc(2), B], vec![bc(3), C, N], vec![N, N, U]],
    };
    let mut out = Vec::new();
    for dists in combos {
        match Distribution::builder(ctx, shape).dists(&dists).build() {
            Ok(d) => out.push(d),
            Err(e) if e.kind() == ErrorKind::InvalidGridShape => continue,
            Err(e) => return Err(e),
        }
    }
    assert!(out.len() >= 4, "only {} layouts of {shape:?}", out.len());
    Ok(out)
}

/// The same value, or both NaN, where either is not finite; else close.
fn same(a: f64, b: f64) -> bool {
    if a.is_finite() && b.is_finite() {
        close(a, b)
    } else {
        (a.is_nan() && b.is_nan()) || a == b
    }
}

fn assert_same(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    assert!(got.iter().zip(want).all(|(&g, &w)| same(g, w)), "{what}: got {got}, numpy gives {want}");
}

/// numpy's mean: the sum over the count, so +inf with any +inf (and no
/// -inf or NaN), -inf likewise, NaN with both.
fn numpy_mean(lane: &[f64]) -> f64 {
    lane.iter().sum::<f64>() / lane.len() as f64
}

/// numpy's var: NaN when any element is infinite (its deviation from an
/// infinite mean is NaN).
fn numpy_var(lane: &[f64], ddof: f64) -> f64 {
    if lane.iter().all(|v| v.is_finite()) {
        variance(lane, ddof)
    } else {
        f64::NAN
    }
}

/// mean/var/std of data with infinities (no NaN) are numpy's, whole and
/// along every axis subset, on every layout: ±inf for infinities of one
/// sign, NaN for both signs (mean); NaN (var, std).
pub fn check_infinities(ctx: &Context) -> Result<()> {
    const INF: f64 = f64::INFINITY;
    let cases: [(&str, &[(usize, f64)]); 5] = [
        ("one +inf", &[(9, INF)]),
        ("one -inf", &[(30, -INF)]),
        ("+inf at the start and end", &[(0, INF), (8, INF), (41, INF)]),
        ("both signs", &[(3, INF), (10, -INF), (24, INF), (40, -INF)]),
        ("both signs in one row", &[(14, -INF), (15, INF), (19, -INF)]),
    ];
    for shape in [&[6, 7][..], &[3, 2, 7]] {
        for (case, infinities) in cases {
            let mut x = values(shape, |k| ((k * 13) % 17) as f64 * 0.5 - 4.0 + 1e3);
            for &(k, v) in infinities {
                *x.iter_mut().nth(k).expect("index in range") = v;
            }
            let flat: Vec<f64> = x.iter().copied().collect();
            for d in layouts(ctx, shape)? {
                let what = format!("{case}, {d}");
                let a = ctx.fromarray(&x, Some(&d))?;
                assert!(same(a.mean()?, numpy_mean(&flat)), "{what}: mean {} vs {}", a.mean()?, numpy_mean(&flat));
                assert!(a.var(0.0)?.is_nan() && a.std(1.0)?.is_nan(), "{what}: var/std of infinities");
                for axes in axis_sets(shape.len()) {
                    let what = format!("{what} axes {axes:?}");
                    assert_same(
                        &a.mean_axis(&axes)?.toarray()?,
                        &oracle(&x, &axes, numpy_mean),
                        &format!("{what} mean"),
                    );
                    for ddof in [0.0, 1.0] {
                        let var = oracle(&x, &axes, |l| numpy_var(l, ddof));
                        assert_same(&a.var_axis(&axes, ddof)?.toarray()?, &var, &format!("{what} var ddof={ddof}"));
                        assert_same(
                            &a.std_axis(&axes, ddof)?.toarray()?,
                            &var.mapv(f64::sqrt),
                            &format!("{what} std ddof={ddof}"),
                        );
                    }
                }
            }
        }
    }
    // Pieces with many rows and long rows (the blocked paths along axes):
    // +inf in column 3, -inf in column 7, both in column 11 and row 20.
    let shape = [40, 300];
    let mut x = values(&shape, |k| (k % 97) as f64 * 0.25 + 1e6);
    for (i, j, v) in [(5, 3, INF), (33, 3, INF), (2, 7, -INF), (20, 11, INF), (21, 11, -INF), (20, 250, -INF)] {
        x[[i, j]] = v;
    }
    for d in layouts(ctx, &shape)? {
        let a = ctx.fromarray(&x, Some(&d))?;
        assert!(a.mean()?.is_nan(), "{d}: both signs");
        for axes in axis_sets(2) {
            let what = format!("{d} axes {axes:?}");
            assert_same(&a.mean_axis(&axes)?.toarray()?, &oracle(&x, &axes, numpy_mean), &format!("{what} mean"));
            assert_same(
                &a.var_axis(&axes, 1.0)?.toarray()?,
                &oracle(&x, &axes, |l| numpy_var(l, 1.0)),
                &format!("{what} var"),
            );
            assert_same(&a.sum_axis(&axes)?.toarray()?, &oracle(&x, &axes, |l| l.iter().sum()), &format!("{what} sum"));
            assert_eq!(
                a.max_axis(&axes)?.toarray()?,
                oracle(&x, &axes, |l| l.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                "{what} max"
            );
            assert_eq!(
                a.min_axis(&axes)?.toarray()?,
                oracle(&x, &axes, |l| l.iter().copied().fold(INF, f64::min)),
                "{what} min"
            );
        }
    }

    // f32 and a long run (the blocked whole-array path): one -inf among 5000.
    let long = values(&[5000], |k| if k == 4321 { -INF } else { k as f64 });
    let d = Distribution::builder(ctx, &[5000]).dist("c").build()?;
    assert_eq!(ctx.fromarray(&long, Some(&d))?.mean()?, -INF);
    assert_eq!(ctx.fromarray(&long.mapv(|v| v as f32), None)?.mean()?, -INF);
    assert!(ctx.fromarray(&long.mapv(|v| if v == 7.0 { f32::INFINITY } else { v as f32 }), None)?.mean()?.is_nan());
    Ok(())
}

/// A deterministic noise in [0, 1) (splitmix64 of `k`).
fn unit_noise(k: usize) -> f64 {
    let mut z = (k as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The exact variance of values `1e9 + k 2^-23` (integers k): with the
/// offset removed exactly, `(n Σk² - (Σk)²) / (n (n - ddof)) 2^-46`, the
/// numerator in exact integer arithmetic, so only the last two steps round.
fn exact_offset_variance(lane: &[f64], ddof: f64) -> f64 {
    let scale = (1u64 << 23) as f64;
    let ks: Vec<i128> = lane
        .iter()
        .map(|&v| {
            let k = (v - 1e9) * scale; // exact: v - 1e9 is, and a power of 2
            assert_eq!(k, k.trunc(), "{v} is not 1e9 + k 2^-23");
            k as i128
        })
        .collect();
    let n = ks.len() as i128;
    let (s1, s2) = ks.iter().fold((0i128, 0i128), |(a, b), &k| (a + k, b + k * k));
    (n * s2 - s1 * s1) as f64 / (n as f64 * (n as f64 - ddof)) / (scale * scale)
}

fn relative_error(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

/// var/std of 1e9 + uniform noise in [0, 0.01), whole and along every axis
/// subset, ddof 0 and 1, on every layout: relative error below 1e-9 against
/// the exact value (a running Welford mean keeps ~5 digits). Returns the
/// largest relative error.
pub fn check_large_offset(ctx: &Context) -> Result<f64> {
    let mut worst = 0.0f64;
    for shape in [&[40, 64][..], &[64, 40], &[6, 20, 24], &[32, 5, 8]] {
        let x = values(shape, |k| 1e9 + 0.01 * unit_noise(k));
        let flat: Vec<f64> = x.iter().copied().collect();
        for d in layouts(ctx, shape)? {
            let a = ctx.fromarray(&x, Some(&d))?;
            for ddof in [0.0, 1.0] {
                let what = format!("1e9 + noise on {d}, ddof={ddof}");
                let exact = exact_offset_variance(&flat, ddof);
                let (var, std) = (a.var(ddof)?, a.std(ddof)?);
                worst = worst.max(relative_error(var, exact)).max(relative_error(std, exact.sqrt()));
                assert!(relative_error(var, exact) < 1e-9, "{what}: var {var} vs exact {exact}");
                assert!(relative_error(std, exact.sqrt()) < 1e-9, "{what}: std {std} vs exact {}", exact.sqrt());
                for axes in axis_sets(shape.len()) {
                    let exact = oracle(&x, &axes, |l| exact_offset_variance(l, ddof));
                    for (name, got, want) in [
                        ("var", a.var_axis(&axes, ddof)?, exact.clone()),
                        ("std", a.std_axis(&axes, ddof)?, exact.mapv(f64::sqrt)),
                    ] {
                        let got = got.toarray()?;
                        assert_eq!(got.shape(), want.shape());
                        for (&g, &w) in got.iter().zip(&want) {
                            worst = worst.max(relative_error(g, w));
                            assert!(relative_error(g, w) < 1e-9, "{what} {name} axes {axes:?}: {g} vs exact {w}");
                        }
                    }
                    let means = a.mean_axis(&axes)?.toarray()?;
                    let want = oracle(&x, &axes, |l| 1e9 + l.iter().map(|v| v - 1e9).sum::<f64>() / l.len() as f64);
                    assert!(
                        means.iter().zip(&want).all(|(&g, &w)| (g - w).abs() <= 2.4e-7),
                        "{what}: mean axes {axes:?}"
                    );
                }
            }
        }
    }
    Ok(worst)
}

/// The data of `tests/interop/numpy_reductions.py` reduced here against
/// numpy's results as it prints them (`NAME HEX ...` lines): var/std of
/// 1e9 + noise along axes within numpy's own error (1e-7) of numpy's, means
/// and variances of infinities exactly numpy's, on every layout.
#[allow(dead_code)] // tests/reductions.rs runs python; the MPI program does not
pub fn check_against_numpy(ctx: &Context, numpy_output: &str) -> Result<()> {
    let numpy: std::collections::HashMap<&str, ArrayD<f64>> = numpy_output
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let name = words.next().expect("name");
            let vals: Vec<f64> = words.map(|w| f64::from_bits(u64::from_str_radix(w, 16).expect("hex bits"))).collect();
            (name, ArrayD::from_shape_vec(IxDyn(&[vals.len()]), vals).expect("1-D"))
        })
        .collect();
    let want = |name: &str| numpy.get(name).unwrap_or_else(|| panic!("numpy printed no {name}")).clone();
    let offset = values(&[40, 64], |k| 1e9 + 0.01 * unit_noise(k));
    let mut inf = values(&[6, 7], |k| ((k * 13) % 17) as f64 * 0.5 - 4.0 + 1e3);
    for (k, v) in [(3, f64::INFINITY), (24, f64::INFINITY), (10, f64::NEG_INFINITY), (40, f64::NEG_INFINITY)] {
        *inf.iter_mut().nth(k).expect("index") = v;
    }
    let flat = |a: DistArray<f64>| -> Result<ArrayD<f64>> {
        Ok(ArrayD::from_shape_vec(IxDyn(&[a.shape().iter().product()]), a.toarray()?.iter().copied().collect())
            .expect("flat"))
    };
    let near = |got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str| {
        assert_eq!(got.len(), want.len(), "{what}");
        // numpy is the less accurate here: its mean along axis 0 is summed
        // row by row, and its variance of this data is 2.8e-8 off the exact
        // value (axis 1: 2.9e-9, whole: 6.6e-10); check_large_offset holds
        // distarray to 1e-9 of the exact value.
        assert!(
            got.iter().zip(want).all(|(&g, &w)| relative_error(g, w) < 1e-7),
            "{what}: got {got}, numpy gives {want}"
        );
    };
    for d in layouts(ctx, &[40, 64])? {
        let a = ctx.fromarray(&offset, Some(&d))?;
        near(&ndarray::arr1(&[a.var(0.0)?]).into_dyn(), &want("offset_var_all_ddof0"), &format!("{d} var"));
        near(&flat(a.var_axis(&[0], 0.0)?)?, &want("offset_var_axis0_ddof0"), &format!("{d} var axis 0"));
        near(&flat(a.var_axis(&[1], 1.0)?)?, &want("offset_var_axis1_ddof1"), &format!("{d} var axis 1 ddof 1"));
        near(&flat(a.std_axis(&[0], 1.0)?)?, &want("offset_std_axis0_ddof1"), &format!("{d} std axis 0 ddof 1"));
    }
    for d in layouts(ctx, &[6, 7])? {
        let a = ctx.fromarray(&inf, Some(&d))?;
        assert_same(&ndarray::arr1(&[a.mean()?]).into_dyn(), &want("inf_mean_all"), &format!("{d} mean"));
        assert_same(&flat(a.mean_axis(&[0])?)?, &want("inf_mean_axis0"), &format!("{d} mean axis 0"));
        assert_same(&flat(a.mean_axis(&[1])?)?, &want("inf_mean_axis1"), &format!("{d} mean axis 1"));
        assert_same(&flat(a.var_axis(&[0], 0.0)?)?, &want("inf_var_axis0_ddof0"), &format!("{d} var axis 0"));
        assert_same(&flat(a.std_axis(&[1], 1.0)?)?, &want("inf_std_axis1_ddof1"), &format!("{d} std axis 1"));
    }
    // Along an axis no engine splits, the sums are numpy's to the bit (row
    // after row, four rows per sweep).
    let rows = values(&[37, 10], |k| ((k * 7919) % 1013) as f64 * 0.1 + 1e6 * ((k % 3) as f64 - 1.0));
    for dists in [[Dist::NoDist, Dist::Block], [Dist::NoDist, Dist::CYCLIC]] {
        let d = Distribution::builder(ctx, &[37, 10]).dists(&dists).build()?;
        let got = flat(ctx.fromarray(&rows, Some(&d))?.sum_axis(&[0])?)?;
        let want = want("rows_sum_axis0");
        assert!(
            got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()),
            "{d} sum axis 0: {got} vs numpy {want}"
        );
    }
    Ok(())
}

/// Everything, plus no keys left behind.
pub fn check_everything(ctx: &Context) -> Result<usize> {
    let n = check_layouts(ctx)?;
    check_dtypes(ctx)?;
    check_edge_cases(ctx)?;
    check_infinities(ctx)?;
    check_large_offset(ctx)?;
    let left = distarray::cleanup::get_local_keys(ctx, ctx.key_prefix())?;
    assert!(left.is_empty(), "keys left: {left:?}");
    Ok(n)
}
