//! The `std::ops` operators with arrays by value and by reference: every form
//! against ndarray on the gathered arrays, owned operands reused for the
//! result (same key) where the result type and layout allow it, and errors as
//! by reference.

use std::panic::{catch_unwind, AssertUnwindSafe};

use distarray::cleanup::get_local_keys;
use distarray::prelude::*;
use distarray::Complex;
use ndarray::{ArrayD, IxDyn, Zip};

fn values<T>(f: impl Fn(usize) -> T) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(&[4, 3]), (0..12).map(f).collect()).expect("shape")
}

fn zip2<A: Copy, B: Copy, O>(a: &ArrayD<A>, b: &ArrayD<B>, f: impl Fn(A, B) -> O) -> ArrayD<O> {
    Zip::from(a).and(b).map_collect(|&x, &y| f(x, y))
}

fn layout(ctx: &Context, dist: &str) -> Distribution {
    Distribution::builder(ctx, &[4, 3]).dist(dist).build().expect("distribution")
}

/// The gathered result, checked against `want` within a few ulp (`close`)
/// or exactly.
trait Check: Copy + std::fmt::Debug + PartialEq + Element {
    fn same(self, want: Self) -> bool {
        self == want
    }
}
impl Check for i32 {}
impl Check for i8 {}
impl Check for bool {}
impl Check for Complex<f64> {}
impl Check for f64 {
    fn same(self, want: f64) -> bool {
        (self - want).abs() <= 1e-12 * want.abs().max(1.0)
    }
}

#[track_caller]
fn check<T: Check>(what: &str, got: DistArray<T>, want: &ArrayD<T>) {
    let got = got.toarray().expect("toarray");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (g, w) in got.iter().zip(want) {
        assert!(g.same(*w), "{what}: got {got:?}, want {want:?}");
    }
}

/// Every form of `$op` on arrays `$a`, `$b` and scalar `$s` against `$f` of
/// the gathered values.
macro_rules! every_form {
    ($op:tt, $a:expr, $b:expr, $s:expr, $av:expr, $bv:expr, $f:expr) => {{
        let (a, b, s, f) = (&$a, &$b, $s, $f);
        let (av, bv) = (&$av, &$bv);
        let both = zip2(av, bv, f);
        let name = |form: &str| format!("{form} with `{}`", stringify!($op));
        check(&name("&a op &b"), a $op b, &both);
        check(&name("a op &b"), a.clone() $op b, &both);
        check(&name("&a op b"), a $op b.clone(), &both);
        check(&name("a op b"), a.clone() $op b.clone(), &both);
        check(&name("&a op s"), a $op s, &av.mapv(|x| f(x, s)));
        check(&name("a op s"), a.clone() $op s, &av.mapv(|x| f(x, s)));
        check(&name("s op &b"), s $op b, &bv.mapv(|y| f(s, y)));
        check(&name("s op b"), s $op b.clone(), &bv.mapv(|y| f(s, y)));
    }};
}

/// Python's `%` (the sign of the divisor), as numpy's `remainder`.
fn py_rem(x: f64, y: f64) -> f64 {
    let m = x % y;
    if m != 0.0 && (y < 0.0) != (m < 0.0) {
        m + y
    } else {
        m
    }
}

fn check_every_form(ctx: &Context) {
    let d = layout(ctx, "bc");
    let av = values(|i| i as f64 * 0.75 - 4.0);
    let bv = values(|i| (i % 5) as f64 - 2.5);
    let a = ctx.fromarray(&av, Some(&d)).expect("fromarray");
    let b = ctx.fromarray(&bv, Some(&d)).expect("fromarray");
    every_form!(+, a, b, 1.5, av, bv, |x: f64, y: f64| x + y);
    every_form!(-, a, b, 1.5, av, bv, |x: f64, y: f64| x - y);
    every_form!(*, a, b, 1.5, av, bv, |x: f64, y: f64| x * y);
    every_form!(/, a, b, 1.5, av, bv, |x: f64, y: f64| x / y);
    every_form!(%, a, b, -1.5, av, bv, py_rem);
    check("-&a", -&a, &av.mapv(|x| -x));
    check("-a", -a.clone(), &av.mapv(|x| -x));

    let iv = values(|i| i as i32 * 3 - 17);
    let jv = values(|i| (i % 4) as i32 + 1);
    let i = ctx.fromarray(&iv, Some(&d)).expect("fromarray");
    let j = ctx.fromarray(&jv, Some(&d)).expect("fromarray");
    every_form!(+, i, j, 3, iv, jv, |x: i32, y: i32| x + y);
    every_form!(-, i, j, 3, iv, jv, |x: i32, y: i32| x - y);
    every_form!(*, i, j, 3, iv, jv, |x: i32, y: i32| x * y);
    every_form!(&, i, j, 6, iv, jv, |x: i32, y: i32| x & y);
    every_form!(|, i, j, 6, iv, jv, |x: i32, y: i32| x | y);
    every_form!(^, i, j, 6, iv, jv, |x: i32, y: i32| x ^ y);
    check("-i", -i.clone(), &iv.mapv(|x| -x));
    check("!i", !i.clone(), &iv.mapv(|x| !x));
    check("!&i", !&i, &iv.mapv(|x| !x));
    // Scalars on the left are divisors and shift counts here: positive ones.
    let pv = values(|i| (i % 7) as i32 + 1);
    let p = ctx.fromarray(&pv, Some(&d)).expect("fromarray");
    every_form!(%, p, j, 5, pv, jv, |x: i32, y: i32| x.rem_euclid(y));
    every_form!(<<, p, j, 2, pv, jv, |x: i32, y: i32| x << y);
    every_form!(>>, p, j, 2, pv, jv, |x: i32, y: i32| x >> y);
    // Integers divide in floats, like Python's `/`.
    every_form!(/, i, j, 3, iv, jv, |x: i32, y: i32| f64::from(x) / f64::from(y));
}

#[test]
fn every_form_as_ndarray_on_three_engines() {
    check_every_form(&Context::with_targets(&[3, 0, 1]).expect("context"));
}

#[test]
fn every_form_as_ndarray_on_one_engine() {
    check_every_form(&Context::with_targets(&[2]).expect("context"));
}

/// An operator form applied to an owned array.
type Form<'a> = dyn Fn(DistArray<f64>) -> DistArray<f64> + 'a;

#[test]
fn owned_operands_take_the_result() {
    let ctx = Context::with_targets(&[3, 0, 1]).expect("context");
    let d = layout(&ctx, "bc");
    let av = values(|i| i as f64 * 0.5 - 2.0);
    let bv = values(|i| (i % 3) as f64 + 1.0);
    let cv = values(|i| i as f64 * 10.0);
    let a = ctx.fromarray(&av, Some(&d)).expect("fromarray");
    let b = ctx.fromarray(&bv, Some(&d)).expect("fromarray");
    let c = ctx.fromarray(&cv, Some(&d)).expect("fromarray");
    let keys = || get_local_keys(&ctx, ctx.key_prefix()).expect("keys").len();
    assert_eq!(keys(), 3);

    // `&a * &b + &c`: the product's array holds the sum.
    let product = &a * &b;
    let key = product.key().to_owned();
    let sum = product + &c;
    assert_eq!(sum.key(), key, "`(&a * &b) + &c` reuses the product");
    assert_eq!(keys(), 4, "inputs and one result");
    check("&a * &b + &c", sum, &(&(&av * &bv) + &cv));
    let chain = &a * &b + &c - 1.0;
    assert_eq!(keys(), 4, "inputs and one result");
    check("&a * &b + &c - 1.0", chain, &(&(&av * &bv) + &cv).mapv(|x| x - 1.0));

    // (form, whether the owned operand's key is the result's)
    let reused = |x: &DistArray<f64>, form: &str, f: &Form<'_>, reuses: bool| {
        let owned = x.clone();
        let key = owned.key().to_owned();
        let result = f(owned);
        assert_eq!(result.key() == key, reuses, "{form}: reuse is {reuses}");
        assert!(result.distribution().is_compatible(&d), "{form}: the result has the operands' distribution");
        result.toarray().expect("toarray")
    };
    let f64_forms: [(&str, &Form<'_>, bool, ArrayD<f64>); 10] = [
        ("x + &b", &|x| x + &b, true, &av + &bv),
        ("&b + x", &|x| &b + x, true, &bv + &av),
        ("x - &b", &|x| x - &b, true, &av - &bv),
        ("&b - x (does not commute)", &|x| &b - x, false, &bv - &av),
        ("x * 2.0", &|x| x * 2.0, true, av.mapv(|v| v * 2.0)),
        ("2.0 * x", &|x| 2.0 * x, true, av.mapv(|v| 2.0 * v)),
        ("2.0 - x (does not commute)", &|x| 2.0 - x, false, av.mapv(|v| 2.0 - v)),
        ("x / &b", &|x| x / &b, true, &av / &bv),
        ("x % 1.5", &|x| x % 1.5, true, av.mapv(|v| py_rem(v, 1.5))),
        ("-x", &|x| -x, true, av.mapv(|v| -v)),
    ];
    for (form, f, reuses, want) in f64_forms {
        let got = reused(&a, form, f, reuses);
        assert!(got.iter().zip(&want).all(|(g, w)| g.same(*w)), "{form}: {got:?} != {want:?}");
    }

    // Integers: `%` and shifts can fail, so they run in place without the
    // copy an undo would need; `/` gives floats, in a new array.
    let iv = values(|i| i as i32 * 3 - 17);
    let jv = values(|i| (i % 4) as i32 + 1);
    let i = ctx.fromarray(&iv, Some(&d)).expect("fromarray");
    let j = ctx.fromarray(&jv, Some(&d)).expect("fromarray");
    let owned = i.clone();
    let key = owned.key().to_owned();
    let r = owned % &j;
    assert_eq!(r.key(), key, "x % &j reuses x");
    check("x % &j", r, &zip2(&iv, &jv, i32::rem_euclid));
    let owned = i.clone();
    let key = owned.key().to_owned();
    let r = !(owned << 2) ^ &j;
    assert_eq!(r.key(), key, "!(x << 2) ^ &j reuses x");
    check("!(x << 2) ^ &j", r, &zip2(&iv, &jv, |x, y| !(x << 2) ^ y));
    let q: DistArray<f64> = i.clone() / j.clone();
    check("x / y of integers", q, &zip2(&iv, &jv, |x, y| f64::from(x) / f64::from(y)));

    // bool `%` and shifts compute in `i8`: a new array.
    let fv = values(|i| i % 3 == 0);
    let flags = ctx.fromarray(&fv, Some(&d)).expect("fromarray");
    let owned = flags.clone();
    let key = owned.key().to_owned();
    let shifted: DistArray<i8> = owned << true;
    assert_ne!(shifted.key(), key);
    check("flags << true", shifted, &fv.mapv(|f| i8::from(f) << 1));
    let owned = flags.clone();
    let key = owned.key().to_owned();
    let both = owned & &flags | true;
    assert_eq!(both.key(), key);
    check("x & &flags | true", both, &fv.mapv(|_| true));

    // Complex products round differently the other way round: only the left
    // operand is reused, and both orders give `&z * &w`'s values.
    let zv = values(|i| Complex::new(i as f64 / 3.0, 1.0 - i as f64 / 7.0));
    let wv = values(|i| Complex::new(0.1 * i as f64 - 0.5, 1.0 / (i as f64 + 1.0)));
    let z = ctx.fromarray(&zv, Some(&d)).expect("fromarray");
    let w = ctx.fromarray(&wv, Some(&d)).expect("fromarray");
    let want = (&z * &w).toarray().expect("toarray");
    let owned = w.clone();
    let key = owned.key().to_owned();
    let r = &z * owned;
    assert_ne!(r.key(), key, "&z * w does not reuse w");
    check("&z * w", r, &want);
    let owned = z.clone();
    let key = owned.key().to_owned();
    let r = owned * &w;
    assert_eq!(r.key(), key, "z * &w reuses z");
    check("z * &w", r, &want);
    let owned = w.clone();
    let key = owned.key().to_owned();
    let r = &z + owned;
    assert_eq!(r.key(), key, "&z + w reuses w");
    check("&z + w", r, &(&zv + &wv));
}

#[test]
fn other_distributions_fall_back_where_the_result_is_elsewhere() {
    let ctx = Context::with_targets(&[3, 0, 1]).expect("context");
    let (d, e) = (layout(&ctx, "bc"), layout(&ctx, "cb"));
    let av = values(|i| i as f64 - 5.0);
    let bv = values(|i| (i * i) as f64);
    let a = ctx.fromarray(&av, Some(&d)).expect("fromarray");
    let b_elsewhere = ctx.fromarray(&bv, Some(&e)).expect("fromarray");
    assert!(!d.is_compatible(&e));

    // An owned left operand keeps its layout, the result's: reused.
    let owned = a.clone();
    let key = owned.key().to_owned();
    let r = owned + &b_elsewhere;
    assert_eq!(r.key(), key);
    assert!(r.distribution().is_compatible(&d));
    check("x + &b_elsewhere", r, &(&av + &bv));
    // An owned right operand of another layout cannot hold `a`'s result.
    let owned = b_elsewhere.clone();
    let key = owned.key().to_owned();
    let r = &a + owned;
    assert_ne!(r.key(), key);
    assert!(r.distribution().is_compatible(&d), "the result has `a`'s distribution, as by reference");
    check("&a + y_elsewhere", r, &(&av + &bv));
    assert_eq!(get_local_keys(&ctx, ctx.key_prefix()).expect("keys").len(), 2, "no temporary left");
}

fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload.downcast_ref::<String>().cloned().unwrap_or_default(),
    }
}

#[test]
fn errors_panic_as_by_reference() {
    let ctx = Context::with_targets(&[3, 0, 1]).expect("context");
    let a = ctx.fromarray(&values(|i| i as f64), Some(&layout(&ctx, "bc"))).expect("fromarray");
    let other = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[9]).expect("distribution")).expect("ones");
    let by_reference = panic_message(|| &a + &other);
    assert!(by_reference.contains("[4, 3]") && by_reference.contains("[9]"), "{by_reference}");
    assert_eq!(panic_message(|| a.clone() + &other), by_reference);
    assert_eq!(panic_message(|| a.clone() + other.clone()), by_reference);
    assert_eq!(panic_message(|| &a + other.clone()), by_reference);
    assert_eq!(panic_message(|| &other * a.clone()), panic_message(|| &other * &a));

    let i = ctx.fromarray(&values(|i| i as i32 - 4), Some(&layout(&ctx, "bc"))).expect("fromarray");
    let by_reference = panic_message(|| &i % 0);
    assert!(by_reference.contains("division by zero"), "{by_reference}");
    assert_eq!(panic_message(|| i.clone() % 0), by_reference);
    assert_eq!(panic_message(|| i.clone() << -1), panic_message(|| &i << -1));
    // The failed operand is gone, the others untouched.
    assert_eq!(get_local_keys(&ctx, ctx.key_prefix()).expect("keys").len(), 3);
    check("i after the failures", i + 1, &values(|i| i as i32 - 3));
}

/// Every form compiles for the other element kinds (not run).
#[allow(dead_code, unused_must_use, clippy::no_effect, clippy::unnecessary_operation)]
fn compiles(b: DistArray<bool>, u: DistArray<u8>, z: DistArray<Complex<f32>>, f: DistArray<f32>) {
    let _: DistArray<bool> = b.clone() + &b + true + (true * b.clone()) + (&b * b.clone());
    let _: DistArray<bool> = !b.clone() & (&b | b.clone()) ^ (true ^ b.clone());
    let _: DistArray<f64> = b.clone() / b.clone() + (true / &b) + (&b / b.clone());
    let _: DistArray<i8> = (b.clone() % &b) + (b.clone() << true) + (true >> b.clone());
    let _: DistArray<u8> = -(u.clone() - &u) + (3 - u.clone()) + (&u - u.clone()) + (u.clone() % 2) + (2 << u.clone());
    let _: DistArray<u8> = !(u.clone() ^ 1) | (&u & u.clone()) | (1 | u.clone()) | (u.clone() >> &u);
    let _: DistArray<f64> = (u.clone() / &u) + (&u / u.clone()) + (2 / u.clone());
    let _: DistArray<f32> = (&f / f.clone()) + (2.0 / f.clone()) + (f.clone() % 2.0) - (1.0 % f.clone());
    let _: DistArray<Complex<f32>> =
        -(z.clone() / &z) + (Complex::new(1.0, 0.0) - z.clone()) * (z.clone() * z.clone()) / Complex::new(2.0, 0.0);
}
