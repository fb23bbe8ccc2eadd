//! The kernel suite shared by `tests/kernels.rs` (threads) and
//! `tests/mpi_kernels.rs` (mpirun): every return kind, `&mut` arrays, the
//! engine context and its communicator, `apply`, `fromfunction`,
//! `#[vectorize]`, `from_localarrays`, and kernels that panic.

use distarray::prelude::*;
use distarray::{local, vectorize, Collectives};
use ndarray::{Array2, ArrayD, IxDyn};

/// Multiplies every element by `k` (returns a new distributed array).
#[local]
pub fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
    a.map(|x| x * k)
}

/// The sum of this engine's piece (one value per engine).
#[local]
pub fn local_sum(a: &LocalArray<f64>) -> f64 {
    a.iter().sum()
}

/// Doubles in place (returns nothing).
#[local]
pub fn double_in_place(a: &mut LocalArray<i64>) {
    a.mapv_inplace(|x| 2 * x);
}

/// The engine's rank and the number of engines (no array argument).
#[local]
pub fn whoami(engine: &EngineCtx) -> (usize, usize) {
    (engine.rank(), engine.size())
}

/// The sum of the whole array, combined across engines through the communicator.
#[local]
pub fn global_sum(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    let mine: f64 = a.iter().sum();
    let all: Vec<f64> = engine.comm().all_gather(&mine).expect("all_gather");
    all.iter().sum()
}

/// Bytes rank `i` of `n` sends to rank `j` by `all_to_all_v_bytes`: odd
/// counts, none between some pairs, none at all from the last rank.
pub fn v_count(i: usize, j: usize, n: usize) -> usize {
    if i == n - 1 {
        0
    } else {
        (i + j) % 3 * (2 * i + 1)
    }
}

/// One `all_to_all_v_bytes` of `v_count` bytes of value `10 * i + j` from
/// rank `i` to rank `j`: what this engine got, and the count from each rank.
#[local]
pub fn all_to_all_v(engine: &EngineCtx) -> (Vec<u8>, Vec<usize>) {
    let (me, n) = (engine.rank(), engine.size());
    let counts: Vec<usize> = (0..n).map(|j| v_count(me, j, n)).collect();
    let send = (0..n).flat_map(|j| std::iter::repeat_n((10 * me + j) as u8, counts[j])).collect();
    engine.comm().all_to_all_v_bytes(send, &counts).expect("all_to_all_v_bytes")
}

/// Adds `b` to `a` in place, scaled, mixing shared and mutable arrays.
#[local]
pub fn add_scaled(a: &mut LocalArray<f64>, b: &LocalArray<f64>, factor: f64) {
    a.zip_mut_with(b, |x, y| *x += factor * y);
}

/// Panics on the engine of rank 1 only.
#[local]
pub fn panics_on_rank_one(a: &LocalArray<f64>, engine: &EngineCtx) -> usize {
    if engine.rank() == 1 {
        panic!("deliberate failure on purpose");
    }
    a.len()
}

/// Panics on rank 1 while every other engine waits for it in a collective.
#[local]
pub fn panics_in_collective(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    if engine.rank() == 1 {
        panic!("rank one gives up before the all_gather");
    }
    let all: Vec<f64> = engine.comm().all_gather(&a.sum()).expect("all_gather");
    all.iter().sum()
}

/// Rank 1 returns without joining the collective the others wait in: only
/// the collective timeout ends their wait.
#[local]
pub fn skips_collective(engine: &EngineCtx) -> usize {
    if engine.rank() != 1 {
        let _: Vec<usize> = engine.comm().all_gather(&engine.rank()).expect("all_gather");
    }
    engine.rank()
}

/// `a * x + y`, elementwise.
#[vectorize]
pub fn axpy(a: f64, x: f64, y: f64) -> f64 {
    a * x + y
}

/// `10 * i + j` at index `(i, j)`, for fromfunction.
#[vectorize]
pub fn index_value(i: i64, j: i64) -> i64 {
    10 * i + j
}

/// Whether an element is positive (vectorize with another output type).
#[vectorize]
pub fn positive(x: f64) -> bool {
    x > 0.0
}

/// An error type of the user's, shown through `Display` only.
#[derive(Debug)]
pub struct Refused {
    pub rank: usize,
    pub why: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rank {} refused: {}", self.rank, self.why)
    }
}

/// `a * k`, refused on the engines of the ranks in `fail_on`.
#[local]
pub fn checked_scale(
    a: &LocalArray<f64>,
    k: f64,
    fail_on: Vec<usize>,
    engine: &EngineCtx,
) -> std::result::Result<LocalArray<f64>, Refused> {
    if fail_on.contains(&engine.rank()) {
        return Err(Refused { rank: engine.rank(), why: "scale" });
    }
    Ok(a.map(|x| x * k))
}

/// This engine's sum, or a `String` error on the ranks in `fail_on`.
#[local]
pub fn checked_sum(a: &LocalArray<f64>, fail_on: Vec<usize>, engine: &EngineCtx) -> std::result::Result<f64, String> {
    if fail_on.contains(&engine.rank()) {
        return Err(format!("no sum on rank {}", engine.rank()));
    }
    Ok(a.sum())
}

/// Adds one in place, then fails on the ranks in `fail_on` (after writing).
#[local]
pub fn checked_increment(a: &mut LocalArray<i64>, fail_on: Vec<usize>, engine: &EngineCtx) -> Result<()> {
    a.mapv_inplace(|x| x + 1);
    if fail_on.contains(&engine.rank()) {
        return Err(distarray::Error::new(
            ErrorKind::InvalidArgument,
            format!("rank {} wrote, then failed", engine.rank()),
        ));
    }
    Ok(())
}

/// The sum of `a` from element `from` on, by recursion: the kernel's own
/// name inside its body is the body.
#[local]
pub fn tail_sum(a: &LocalArray<f64>, from: usize) -> f64 {
    match a.iter().nth(from) {
        Some(x) => x + tail_sum(a, from + 1),
        None => 0.0,
    }
}

/// Another kernel's body, called from a kernel: `scale`, then `local_sum`.
#[local]
pub fn scaled_sum(a: &LocalArray<f64>, k: f64) -> f64 {
    local_sum::body(&scale::body(a, k))
}

/// `a * x + y` with any parameter a scalar.
#[vectorize]
pub fn fma3(a: f64, x: f64, y: f64) -> f64 {
    a.mul_add(x, y)
}

/// Five parameters (past the specialised loops), on integers.
#[vectorize]
pub fn weigh5(a: i64, b: i64, c: i64, d: i64, e: i64) -> i64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e
}

/// Scales by `k`, registered for two element types.
#[local(types(f32, f64))]
pub fn gscale<T: Element + std::ops::Mul<Output = T>>(a: &LocalArray<T>, k: T) -> LocalArray<T> {
    a.mapv(|x| x * k)
}

/// This engine's element count, for three element types.
#[local(types(i32, f64, bool))]
pub fn gcount<T: Element>(a: &LocalArray<T>) -> usize {
    a.len()
}

/// `a * x + y`, elementwise, for two element types.
#[vectorize(types(f32, f64))]
pub fn gaxpy<T: Element + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(a: T, x: T, y: T) -> T {
    a * x + y
}

fn sample(shape: (usize, usize), offset: f64) -> ArrayD<f64> {
    Array2::from_shape_fn(shape, |(i, j)| (i as f64) * 1.5 - (j as f64) + offset).into_dyn()
}

/// A kernel that panics on one engine while the others wait for it in a
/// collective: the client gets the panic as an `Err` naming the engine (no
/// hang), and the context, its arrays and its communicator work afterwards.
pub fn check_panic_in_collective(ctx: &Context) -> Result<()> {
    let expected = sample((6, 5), 0.5);
    let a = ctx.fromarray(&expected, None)?;
    for _ in 0..2 {
        let err = panics_in_collective(&a).expect_err("rank 1 panicked");
        assert_eq!(err.kind(), ErrorKind::Engine, "{err}");
        let engine = ctx.targets()[1];
        assert!(err.message().contains(&format!("engine {engine}")), "{err}");
        assert!(err.message().contains("rank one gives up before the all_gather"), "{err}");
        // The same engines run collectives again on a fresh communicator.
        let sums = global_sum(&a)?;
        assert!(sums.iter().all(|&s| (s - expected.sum()).abs() < 1e-9), "{sums:?}");
        assert_eq!(a.toarray()?, expected);
    }
    Ok(())
}

/// A kernel in which the other engines wait for one that never joins: they
/// give up after `DISTARRAY_COLLECTIVE_TIMEOUT` (the caller sets it low) and
/// the client gets `Err`; the context works afterwards.
pub fn check_collective_timeout(ctx: &Context) -> Result<()> {
    let err = skips_collective(ctx).expect_err("the others time out");
    // The kernel's `expect` turns the timeout into a panic.
    assert_eq!(err.kind(), ErrorKind::Engine, "{err}");
    assert!(err.message().contains("DISTARRAY_COLLECTIVE_TIMEOUT"), "{err}");
    let ranks: Vec<(usize, usize)> = whoami(ctx)?;
    assert_eq!(ranks.len(), ctx.num_targets());
    let a = ctx.fromarray(&sample((4, 4), 1.0), None)?;
    assert!(global_sum(&a)?.iter().all(|&s| (s - sample((4, 4), 1.0).sum()).abs() < 1e-9));
    Ok(())
}

/// Runs every kernel check on `ctx` (which must have at least 2 engines).
pub fn check_kernels(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    for dist in ["bb", "cn", "bc", "ub"] {
        let d = Distribution::builder(ctx, &[7, 5]).dist(dist).build()?;
        let x = ctx.fromarray(&sample((7, 5), 0.0), Some(&d))?;

        // LocalArray -> DistArray, on the same distribution.
        let y = scale(&x, 2.0)?;
        assert_eq!(y.toarray()?, sample((7, 5), 0.0) * 2.0, "scale on {dist}");
        assert!(y.distribution().is_compatible(&d));

        // A value -> one per engine, in engine order.
        let sums = local_sum(&x)?;
        assert_eq!(sums.len(), n);
        let expected: Vec<f64> = x.get_ndarrays()?.iter().map(|p| p.sum()).collect();
        assert_eq!(sums, expected);

        // A collective inside the kernel: every engine knows the global sum.
        let total = sample((7, 5), 0.0).sum();
        for s in global_sum(&x)? {
            assert!((s - total).abs() < 1e-9, "global sum {s} vs {total}");
        }

        // &mut: in place, and () -> ().
        let mut m = ctx.fromarray(&sample((7, 5), 1.0), Some(&d))?;
        add_scaled(&mut m, &x, 3.0)?;
        assert_eq!(m.toarray()?, sample((7, 5), 1.0) + sample((7, 5), 0.0) * 3.0);

        // from_localarrays adopts what a kernel left on the engines.
        let adopted = DistArray::<f64>::from_localarrays(y.key(), ctx, Some(y.targets()))?;
        assert_eq!(adopted.toarray()?, y.toarray()?);
        assert!(adopted.distribution().is_compatible(y.distribution()));
        assert_eq!(
            DistArray::<i32>::from_localarrays(y.key(), ctx, Some(y.targets())).unwrap_err().kind(),
            ErrorKind::DTypeMismatch
        );
        std::mem::forget(adopted); // `y` owns the key

        // #[vectorize] on arrays of one layout.
        let a = ctx.fromarray(&sample((7, 5), 2.0), Some(&d))?;
        let r = axpy(&a, &x, &m)?;
        let (an, xn, mn) = (a.toarray()?, x.toarray()?, m.toarray()?);
        assert_eq!(r.toarray()?, &an * &xn + &mn);
        assert_eq!(positive(&x)?.toarray()?, xn.mapv(|v| v > 0.0));

        // fromfunction over this distribution's layout.
        let dd = Distribution::builder(ctx, &[4, 6]).dist(dist).build()?;
        let f = ctx.fromfunction::<index_value>(&[4, 6], Some(&dd))?;
        assert_eq!(f.toarray()?, ArrayD::from_shape_fn(IxDyn(&[4, 6]), |i| 10 * i[0] as i64 + i[1] as i64));
    }

    // Kernels without arrays run on the context's engines.
    assert_eq!(whoami(ctx)?, (0..n).map(|r| (r, n)).collect::<Vec<_>>());

    // The one-buffer all-to-all: each rank's part in rank order, with its count.
    for (me, (bytes, counts)) in all_to_all_v(ctx)?.into_iter().enumerate() {
        let want: Vec<usize> = (0..n).map(|i| v_count(i, me, n)).collect();
        let data: Vec<u8> = (0..n).flat_map(|i| std::iter::repeat_n((10 * i + me) as u8, want[i])).collect();
        assert_eq!((bytes, counts), (data, want), "all_to_all_v_bytes on rank {me}");
    }

    // apply on chosen targets: one result per target, in target order.
    let x = ctx.fromarray(&sample((6, 4), 0.0), None)?;
    let chosen = [ctx.targets()[n - 1], ctx.targets()[0]];
    let pieces = x.get_ndarrays()?;
    let sums = ctx.apply::<local_sum>((&x,), Some(&chosen))?;
    assert_eq!(sums, vec![pieces[n - 1].sum(), pieces[0].sum()]);
    let ranks = ctx.apply::<whoami>((), Some(&chosen))?;
    assert_eq!(ranks, vec![(0, 2), (1, 2)]);
    let scaled = ctx.apply::<scale>((&x, 3.0), None)?;
    assert_eq!(scaled.len(), n);
    assert_eq!(scaled[0].ndarray(), &(&pieces[0] * 3.0));
    ctx.apply::<double_in_place>((&mut ctx.fromarray(&ndarray::arr1(&[1i64, 2, 3]), None)?,), None)?;

    // Misuse is an error, not a crash.
    let other = Distribution::builder(ctx, &[6, 4]).dist("cc").build()?;
    let y = ctx.fromarray(&sample((6, 4), 0.0), Some(&other))?;
    assert_eq!(axpy(&x, &y, &x).unwrap_err().kind(), ErrorKind::IncompatibleDistribution);
    let small = ctx.fromarray(&sample((3, 4), 0.0), None)?;
    assert_eq!(axpy(&x, &small, &x).unwrap_err().kind(), ErrorKind::InvalidShape);
    let d1 = Distribution::from_shape(ctx, &[5])?;
    assert_eq!(ctx.fromfunction::<index_value>(&[5], Some(&d1)).unwrap_err().kind(), ErrorKind::InvalidShape);

    // A panicking kernel: Err naming kernel, engine and message; engines go on.
    let err = panics_on_rank_one(&x).unwrap_err();
    let msg = err.to_string();
    for needle in ["panics_on_rank_one", &format!("engine {}", ctx.targets()[1]), "deliberate failure on purpose"] {
        assert!(msg.contains(needle), "{msg:?} should name {needle:?}");
    }
    assert_eq!(x.toarray()?, sample((6, 4), 0.0), "arrays survive a kernel panic");
    assert_eq!(local_sum(&x)?.len(), n);
    Ok(())
}

/// What the same-name kernels of one function body give: `which` on `x`,
/// through its client function and through `apply`; `twist` on `ints` and
/// through `fromfunction`.
type SameNameResults = (Vec<String>, Vec<String>, ArrayD<i64>, ArrayD<i64>);

/// Defines `which` and `twist`, and calls them.
fn same_name_first(x: &DistArray<f64>, ints: &DistArray<i64>) -> Result<SameNameResults> {
    #[local]
    fn which(a: &LocalArray<f64>) -> String {
        format!("first {}", a.len())
    }

    #[vectorize]
    fn twist(i: i64) -> i64 {
        i + 100
    }

    let ctx = x.context();
    let n = ints.shape()[0];
    Ok((
        which(x)?,
        ctx.apply::<which>((x,), None)?,
        twist(ints)?.toarray()?,
        ctx.fromfunction::<twist>(&[n], None)?.toarray()?,
    ))
}

/// Defines `which` and `twist` again, in the same module: other bodies.
fn same_name_second(x: &DistArray<f64>, ints: &DistArray<i64>) -> Result<SameNameResults> {
    #[local]
    fn which(a: &LocalArray<f64>) -> String {
        format!("second {}", a.len())
    }

    #[vectorize]
    fn twist(i: i64) -> i64 {
        3 * i - 7
    }

    let ctx = x.context();
    let n = ints.shape()[0];
    Ok((
        which(x)?,
        ctx.apply::<which>((x,), None)?,
        twist(ints)?.toarray()?,
        ctx.fromfunction::<twist>(&[n], None)?.toarray()?,
    ))
}

/// Two `#[local]` and two `#[vectorize]` kernels of one name in one module,
/// each pair defined inside its own function: every call runs its own
/// definition (client function, `apply`, elementwise call, `fromfunction`).
pub fn check_same_name_kernels(ctx: &Context) -> Result<()> {
    let x = ctx.fromarray(&sample((7, 5), 0.0), None)?;
    let values = ndarray::Array1::from_iter(0..11i64).into_dyn();
    let ints = ctx.fromarray(&values, None)?;
    let lens: Vec<usize> = x.get_ndarrays()?.iter().map(|p| p.len()).collect();
    let results = [("first", same_name_first(&x, &ints)?), ("second", same_name_second(&x, &ints)?)];
    let twists: [fn(i64) -> i64; 2] = [|i| i + 100, |i| 3 * i - 7];
    for ((label, results), f) in results.into_iter().zip(twists) {
        let (called, applied, twisted, built) = results;
        let expected: Vec<String> = lens.iter().map(|n| format!("{label} {n}")).collect();
        assert_eq!(called, expected, "the {label} `which`, called");
        assert_eq!(applied, expected, "the {label} `which`, through apply");
        assert_eq!(twisted, values.mapv(f), "the {label} `twist`, elementwise");
        assert_eq!(built, values.mapv(f), "the {label} `twist`, by fromfunction");
    }
    Ok(())
}

/// Integer arrays doubled in place through a `&mut` kernel returning ().
pub fn check_in_place(ctx: &Context) -> Result<()> {
    let values = ndarray::Array1::from_iter(0..23i64).into_dyn();
    let mut a = ctx.fromarray(&values, Some(&Distribution::builder(ctx, &[23]).dist("c").build()?))?;
    double_in_place(&mut a)?;
    double_in_place(&mut a)?;
    assert_eq!(a.toarray()?, values * 4);
    Ok(())
}

/// Kernels returning `Result`: `Ok` gives what the `Ok` type gives, an `Err`
/// on any engine fails the call with the kernel, the engine and the error's
/// text (the other engines' errors in `Error::others`), the borrowed arrays
/// stay as they were and the engines go on.
pub fn check_fallible(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    let data = sample((7, 5), 0.5);
    let x = ctx.fromarray(&data, None)?;
    let pieces: Vec<f64> = x.get_ndarrays()?.iter().map(|p| p.sum()).collect();

    // Ok: the client function returns DistArray / Vec / ().
    let y: DistArray<f64> = checked_scale(&x, 3.0, vec![])?;
    assert_eq!(y.toarray()?, &data * 3.0);
    let sums: Vec<f64> = checked_sum(&x, vec![])?;
    assert_eq!(sums, pieces);
    let ints = ndarray::Array1::from_iter(0..17i64).into_dyn();
    let mut m = ctx.fromarray(&ints, None)?;
    let (): () = checked_increment(&mut m, vec![])?;
    assert_eq!(m.toarray()?, &ints + 1);

    // Err on one engine: named by kernel, engine and the error's text.
    let engine = ctx.targets()[1];
    let e = checked_scale(&x, 3.0, vec![1]).expect_err("rank 1 refuses");
    assert_eq!(e.kind(), ErrorKind::Engine, "{e}");
    for needle in ["checked_scale", &format!("engine {engine}"), "rank 1 refused: scale"] {
        assert!(e.message().contains(needle), "{e} should say {needle:?}");
    }
    assert!(e.others().is_empty(), "{e}");
    let e = checked_sum(&x, vec![1]).expect_err("rank 1 fails");
    assert!(e.message().contains("checked_sum") && e.message().contains("no sum on rank 1"), "{e}");
    assert!(e.message().contains(&format!("engine {engine}")), "{e}");

    // A distarray::Error keeps its kind; the array written before the Err
    // (on every engine) is as it was.
    let before = m.toarray()?;
    let e = checked_increment(&mut m, vec![0]).expect_err("rank 0 fails");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("checked_increment") && e.message().contains("rank 0 wrote, then failed"), "{e}");
    assert_eq!(m.toarray()?, before, "a failed call changes nothing");

    // Err on every engine: the first engine's error, the others reachable.
    let all: Vec<usize> = (0..n).collect();
    let e = checked_increment(&mut m, all.clone()).expect_err("all fail");
    assert_eq!(e.others().len(), n - 1, "{e}");
    for (rank, err) in std::iter::once(&e).chain(e.others()).enumerate() {
        let engine = ctx.targets()[rank];
        assert!(err.message().contains(&format!("engine {engine}")), "{err}");
        assert!(err.message().contains(&format!("rank {rank} wrote, then failed")), "{err}");
    }
    assert_eq!(m.toarray()?, before);
    let e = checked_sum(&x, all).expect_err("all fail");
    assert_eq!(e.others().len(), n - 1, "{e}");

    // The engines go on.
    assert_eq!(checked_sum(&x, vec![])?, pieces);
    assert_eq!(x.toarray()?, data);
    checked_increment(&mut m, vec![])?;
    assert_eq!(m.toarray()?, &ints + 2);
    Ok(())
}

/// A kernel's body runs as a plain function on local arrays, recursion
/// included, and calls of other bodies inside kernels run on the engines.
pub fn check_bodies(ctx: &Context) -> Result<()> {
    let data = sample((5, 4), 0.25);
    let piece = LocalArray::from_ndarray(data.clone());
    assert_eq!(scale::body(&piece, 2.0).ndarray(), &(&data * 2.0));
    assert_eq!(tail_sum::body(&piece, 0), data.iter().sum::<f64>());
    assert_eq!(scaled_sum::body(&piece, 3.0), data.iter().map(|x| x * 3.0).sum::<f64>());

    let x = ctx.fromarray(&data, None)?;
    let pieces = x.get_ndarrays()?;
    let want: Vec<f64> = pieces.iter().map(|p| p.iter().sum()).collect();
    let got = tail_sum(&x, 0)?;
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-9), "{got:?} vs {want:?}");
    let want: Vec<f64> = pieces.iter().map(|p| p.iter().map(|v| v * 3.0).sum()).collect();
    let got = scaled_sum(&x, 3.0)?;
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-9), "{got:?} vs {want:?}");
    Ok(())
}

/// `#[vectorize]` parameters take arrays or scalars, in every mix; only
/// scalars is an error.
pub fn check_vectorize_scalars(ctx: &Context) -> Result<()> {
    for dist in ["bb", "cn", "bc"] {
        let d = Distribution::builder(ctx, &[7, 5]).dist(dist).build()?;
        let (an, xn, yn) = (sample((7, 5), 0.5), sample((7, 5), -1.0), sample((7, 5), 2.0));
        let (a, x, y) = (ctx.fromarray(&an, Some(&d))?, ctx.fromarray(&xn, Some(&d))?, ctx.fromarray(&yn, Some(&d))?);
        let f = |a: f64, x: f64, y: f64| a.mul_add(x, y);
        let zip3 = |p: &ArrayD<f64>, q: &ArrayD<f64>, r: &ArrayD<f64>| {
            ndarray::Zip::from(p).and(q).and(r).map_collect(|&p, &q, &r| f(p, q, r))
        };
        let full = |v: f64| ArrayD::from_elem(IxDyn(&[7, 5]), v);
        assert_eq!(fma3(&a, &x, &y)?.toarray()?, zip3(&an, &xn, &yn));
        assert_eq!(fma3(2.0, &x, &y)?.toarray()?, zip3(&full(2.0), &xn, &yn));
        assert_eq!(fma3(&a, -3.0, &y)?.toarray()?, zip3(&an, &full(-3.0), &yn));
        assert_eq!(fma3(&a, &x, 0.5)?.toarray()?, zip3(&an, &xn, &full(0.5)));
        assert_eq!(fma3(2.0, 4.0, &y)?.toarray()?, yn.mapv(|v| f(2.0, 4.0, v)));
        assert_eq!(fma3(&a, 1.5, 0.25)?.toarray()?, an.mapv(|v| f(v, 1.5, 0.25)));
        let r = fma3(2.0, &x, 1.0)?;
        assert!(r.distribution().is_compatible(&d));

        // More parameters than the specialised loops (one loop for every mix).
        let ints = ndarray::Array2::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as i64).into_dyn();
        let b = ctx.fromarray(&ints, Some(&d))?;
        let got = weigh5(&b, 1, &b, 2, &b)?.toarray()?;
        assert_eq!(got, ints.mapv(|v| v + 2 + 3 * v + 8 + 5 * v));
        assert_eq!(weigh5(0, 0, 0, 0, &b)?.toarray()?, &ints * 5);
    }
    let x = ctx.fromarray(&sample((4, 3), 0.0), None)?;
    let e = fma3(1.0, 2.0, 3.0).expect_err("no array");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("fma3") && e.message().contains("only scalars"), "{e}");
    let other = ctx.fromarray(&sample((3, 3), 0.0), None)?;
    assert_eq!(fma3(&x, 1.0, &other).unwrap_err().kind(), ErrorKind::InvalidShape);
    assert_eq!(x.toarray()?, sample((4, 3), 0.0));
    Ok(())
}

/// Generic kernels: one registered kernel per listed type, each called
/// through the one generic client function or by its type.
pub fn check_generic_kernels(ctx: &Context) -> Result<()> {
    use distarray::Kernel;
    let data = sample((6, 5), 0.5);
    let x64 = ctx.fromarray(&data, None)?;
    let x32 = ctx.fromarray(&data.mapv(|v| v as f32), None)?;
    assert_eq!(gscale(&x64, 2.0)?.toarray()?, &data * 2.0);
    assert_eq!(gscale(&x32, 2.0f32)?.toarray()?, data.mapv(|v| v as f32 * 2.0));
    let lens: Vec<usize> = x64.get_ndarrays()?.iter().map(|p| p.len()).collect();
    let ints = ctx.fromarray(&data.mapv(|v| v as i32), None)?;
    let bools = ctx.fromarray(&data.mapv(|v| v > 0.0), None)?;
    assert_eq!(gcount(&x64)?, lens);
    assert_eq!(gcount(&ints)?, lens);
    assert_eq!(gcount(&bools)?, lens);
    assert_eq!(gaxpy(2.0f32, &x32, 1.0)?.toarray()?, data.mapv(|v| 2.0 * v as f32 + 1.0));
    assert_eq!(gaxpy(&x64, &x64, &x64)?.toarray()?, data.mapv(|v| v * v + v));
    assert_eq!(gscale::body(&LocalArray::from_ndarray(data.clone()), 3.0).ndarray(), &(&data * 3.0));
    // One key per type, and `apply` by type.
    let keys = [<gscale<f32> as Kernel>::KEY, <gscale<f64> as Kernel>::KEY];
    assert_ne!(keys[0], keys[1]);
    assert!(<gscale<f32> as Kernel>::NAME.ends_with("gscale::<f32>"), "{}", <gscale<f32> as Kernel>::NAME);
    let pieces = ctx.apply::<gscale<f64>>((&x64, 4.0), None)?;
    assert_eq!(pieces[0].ndarray(), &(&x64.get_ndarrays()?[0] * 4.0));
    let f = ctx.fromfunction::<gaxpy<f64>>(&[3, 4, 2], None)?;
    assert_eq!(f.toarray()?, ArrayD::from_shape_fn(IxDyn(&[3, 4, 2]), |i| (i[0] * i[1] + i[2]) as f64));
    Ok(())
}
