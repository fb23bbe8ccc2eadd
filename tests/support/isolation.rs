//! The isolation suite shared by `tests/isolation.rs` (threads) and
//! `tests/mpi_isolation.rs` (mpirun): a failed call leaves every array it
//! borrowed as it was on every engine, kernels cannot drive a context, deep
//! recursion fits an engine's stack, bulk values travel as raw bytes, and a
//! call racing `close()` sees `ContextClosed`.

use std::sync::OnceLock;

use distarray::prelude::*;
use distarray::{functions, local};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

/// A context the kernels below can find (set on the client; engines of
/// another process never see it).
pub static CLIENT_CONTEXT: OnceLock<Context> = OnceLock::new();

fn kernel_error(message: &str) -> distarray::Error {
    distarray::Error::new(ErrorKind::InvalidArgument, message)
}

/// Overwrites its piece, then fails with an `Err` on the engine of rank `rank`.
#[local]
pub fn write_then_err(a: &mut LocalArray<f64>, rank: usize, engine: &EngineCtx) -> Result<()> {
    fill_then_fail_on(a, rank, engine)
}

fn fill_then_fail_on(a: &mut LocalArray<f64>, rank: usize, engine: &EngineCtx) -> Result<()> {
    a.fill(-1.0);
    if engine.rank() == rank {
        return Err(kernel_error("rank gave up after writing"));
    }
    Ok(())
}

/// Overwrites both pieces, then panics on the engine of rank `rank`.
#[local]
pub fn write_two_then_panic(
    a: &mut LocalArray<f64>,
    b: &mut LocalArray<i64>,
    c: &LocalArray<f64>,
    rank: usize,
    engine: &EngineCtx,
) {
    a.zip_mut_with(c, |x, y| *x += y);
    b.fill(7);
    if engine.rank() == rank {
        panic!("deliberate panic after writing");
    }
}

/// Writes, then fails on the last rank only after every engine met in a
/// collective (so every other engine has finished writing).
#[local]
pub fn write_meet_then_fail(a: &mut LocalArray<f64>, engine: &EngineCtx) -> Result<f64> {
    a.mapv_inplace(|x| x * 1000.0);
    let total: f64 = distarray::Collectives::all_gather(engine.comm(), &a.sum())?.iter().sum();
    if engine.rank() + 1 == engine.size() {
        return Err(kernel_error("the last rank fails after the collective"));
    }
    Ok(total)
}

/// Replaces its piece by one of another shape, then fails on rank `rank`.
#[local]
pub fn reshape_then_err(a: &mut LocalArray<f64>, rank: usize, engine: &EngineCtx) -> Result<LocalArray<f64>> {
    let copy = a.clone();
    *a.ndarray_mut() = ArrayD::zeros(IxDyn(&[1, 1, 1]));
    if engine.rank() == rank {
        return Err(kernel_error("rank fails after replacing its piece"));
    }
    Ok(copy)
}

/// A `Result` kernel that succeeds: the client gets the `Ok` values.
#[local]
pub fn checked_len(a: &LocalArray<f64>, limit: usize) -> std::result::Result<usize, String> {
    if a.len() > limit {
        return Err(format!("a piece of {} elements is over the limit {limit}", a.len()));
    }
    Ok(a.len())
}

/// A `Result` kernel returning pieces.
#[local]
pub fn checked_negate(a: &LocalArray<f64>) -> Result<LocalArray<f64>> {
    Ok(a.mapv(|x| -x))
}

/// Writes its piece and returns pieces of different global shapes on
/// different engines (they do not form an array).
#[local]
pub fn write_then_return_misfits(a: &mut LocalArray<f64>, engine: &EngineCtx) -> LocalArray<f64> {
    a.fill(5.0);
    let size = engine.rank() + 1;
    LocalArray::new(ArrayD::zeros(IxDyn(&[size])), vec![distarray::DimDict::NoDist { size }]).expect("a piece")
}

/// [`write_then_err`] without undo copies.
#[local(undo = false)]
pub fn write_then_err_no_undo(a: &mut LocalArray<f64>, rank: usize, engine: &EngineCtx) -> Result<()> {
    fill_then_fail_on(a, rank, engine)
}

/// Doubles its piece and succeeds.
#[local]
pub fn double(a: &mut LocalArray<f64>) {
    a.mapv_inplace(|x| 2.0 * x);
}

/// Tries to use the client's context (and to make a new one) from an engine;
/// returns what each attempt gave.
#[local]
pub fn drive_context(a: &LocalArray<f64>) -> Vec<(ErrorKind, String)> {
    let mut seen = Vec::new();
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            seen.push((e.kind(), e.to_string()));
        }
    };
    note(Context::new().map(drop));
    note(Context::with_targets(&[0]).map(drop));
    if let Some(ctx) = CLIENT_CONTEXT.get() {
        note(Distribution::from_shape(ctx, &[4]).and_then(|d| ctx.zeros::<f64>(&d)).map(drop));
        note(ctx.sync());
        note(ctx.cleanup());
        note(ctx.close());
    }
    let _ = a;
    seen
}

/// Recurses `depth` levels, each with 4 KiB on the stack.
fn deep(depth: usize) -> u64 {
    let frame = std::hint::black_box([depth as u8; 4096]);
    if depth == 0 {
        return frame[0] as u64;
    }
    deep(depth - 1) + std::hint::black_box(frame[4095]) as u64
}

/// Recursion `depth` deep on each engine.
#[local]
pub fn recurse(engine: &EngineCtx, depth: usize) -> u64 {
    let _ = engine;
    deep(depth)
}

/// `n` values per engine, as a vector: engine rank `r` gives `r * n + i`.
#[local]
pub fn long_vector(engine: &EngineCtx, n: usize) -> Vec<f64> {
    (0..n).map(|i| (engine.rank() * n + i) as f64 + 0.25).collect()
}

/// The sum of a long vector argument, and its length.
#[local]
pub fn sum_of_argument(engine: &EngineCtx, values: Vec<f64>) -> (f64, usize) {
    let _ = engine;
    (values.iter().sum(), values.len())
}

/// Bulk values of other kinds: a bool vector, a 2-D array (not in C order),
/// and `u64` values that a variable-length encoding would lengthen.
#[local]
pub fn other_bulk(engine: &EngineCtx) -> (Vec<bool>, Array2<i32>, Vec<u64>) {
    let r = engine.rank();
    let t = Array2::from_shape_fn((3, 2), |(i, j)| (100 * r + 10 * i + j) as i32).reversed_axes();
    ((0..5).map(|i| (i + r).is_multiple_of(2)).collect(), t, vec![u64::MAX - r as u64; 3])
}

/// The bools of [`other_bulk`], returned alone (a bulk value).
#[local]
pub fn bool_vector(engine: &EngineCtx) -> Vec<bool> {
    (0..5).map(|i| (i + engine.rank()).is_multiple_of(2)).collect()
}

/// The array of [`other_bulk`], alone (a bulk value).
#[local]
pub fn transposed_array(engine: &EngineCtx) -> Array2<i32> {
    let r = engine.rank();
    Array2::from_shape_fn((3, 2), |(i, j)| (100 * r + 10 * i + j) as i32).reversed_axes()
}

/// The `u64`s of [`other_bulk`], alone (a bulk value).
#[local]
pub fn big_words(engine: &EngineCtx) -> Vec<u64> {
    vec![u64::MAX - engine.rank() as u64; 3]
}

fn expect_err<T: std::fmt::Debug>(what: &str, result: Result<T>, kind: ErrorKind, words: &[&str]) {
    match result {
        Ok(v) => panic!("{what}: expected Err({kind:?}), got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: {e}");
            for w in words {
                assert!(e.to_string().contains(w), "{what}: {e:?} does not mention {w:?}");
            }
        }
    }
}

fn sample(ctx: &Context, shape: &[usize], dist: &str) -> Result<(DistArray<f64>, ArrayD<f64>)> {
    let n: usize = shape.iter().product();
    let values = ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f64 * 0.5 - 3.0).collect()).unwrap();
    let d = Distribution::builder(ctx, shape).dist(dist).build()?;
    Ok((ctx.fromarray(&values, Some(&d))?, values))
}

/// Every failed call leaves the arrays it borrowed exactly as before, on every
/// engine, whichever engine failed and however (Err, panic, after a
/// collective, after replacing the piece); a later call works on them.
pub fn check_failed_calls_change_nothing(ctx: &Context) -> Result<usize> {
    let n = ctx.num_targets();
    let mut checks = 0;
    for (shape, dist) in [(vec![23], "b"), (vec![9, 7], "cb"), (vec![6, 5], "bn")] {
        let (mut a, original) = sample(ctx, &shape, dist)?;
        let mut b = ctx.fromarray(&original.mapv(|x| x as i64), Some(a.distribution()))?;
        let c = ctx.ones::<f64>(a.distribution())?;
        let before_keys = distarray::cleanup::get_local_keys(ctx, ctx.key_prefix())?;
        // Small arrays use fewer engines than the context has.
        let engines = a.targets().len();
        for rank in [0, engines / 2, engines - 1] {
            expect_err(
                "write_then_err",
                write_then_err(&mut a, rank),
                ErrorKind::InvalidArgument,
                &["gave up after writing"],
            );
            assert_eq!(a.toarray()?, original, "{dist}: write_then_err failing on rank {rank} changed the array");
            expect_err(
                "write_two_then_panic",
                write_two_then_panic(&mut a, &mut b, &c, rank),
                ErrorKind::Engine,
                &["deliberate panic"],
            );
            assert_eq!(a.toarray()?, original, "{dist}: a panic on rank {rank} changed the first array");
            assert_eq!(
                b.toarray()?,
                original.mapv(|x| x as i64),
                "{dist}: a panic on rank {rank} changed the second array"
            );
            expect_err(
                "reshape_then_err",
                reshape_then_err(&mut a, rank),
                ErrorKind::InvalidArgument,
                &["replacing its piece"],
            );
            assert_eq!(a.toarray()?, original, "{dist}: a replaced piece stayed after a failure on rank {rank}");
            checks += 4;
        }
        expect_err(
            "write_meet_then_fail",
            write_meet_then_fail(&mut a),
            ErrorKind::InvalidArgument,
            &["after the collective"],
        );
        assert_eq!(a.toarray()?, original, "{dist}: a failure after a collective changed the array");
        // No result of the failed calls stays behind.
        assert_eq!(
            distarray::cleanup::get_local_keys(ctx, ctx.key_prefix())?,
            before_keys,
            "{dist}: failed calls left keys"
        );
        if engines > 1 {
            // Succeeded on every engine, but the client refuses the result.
            expect_err(
                "write_then_return_misfits",
                write_then_return_misfits(&mut a),
                ErrorKind::InvalidDimData,
                &["do not form an array"],
            );
            assert_eq!(a.toarray()?, original, "{dist}: a refused result left the array changed");
        }
        // `Result` kernels: `Ok` values and pieces as usual, an `Err` of any
        // error type fails the call (an `Engine` error with its message).
        assert_eq!(checked_len(&a, usize::MAX)?.iter().sum::<usize>(), original.len());
        expect_err("checked_len", checked_len(&a, 0), ErrorKind::Engine, &["over the limit 0"]);
        assert_eq!(checked_negate(&a)?.toarray()?, original.mapv(|x| -x));
        // A successful call after the failures commits as usual.
        double(&mut a)?;
        assert_eq!(a.toarray()?, original.mapv(|x| 2.0 * x));
        double(&mut a)?;
        assert_eq!(a.toarray()?, original.mapv(|x| 4.0 * x));
        checks += 3;
    }
    // Opted out (`undo = false`): the writes stay, everywhere.
    let (mut a, _) = sample(ctx, &[4 * n], "b")?;
    expect_err("write_then_err_no_undo", write_then_err_no_undo(&mut a, 0), ErrorKind::InvalidArgument, &["gave up"]);
    assert!(a.toarray()?.iter().all(|&x| x == -1.0), "undo = false kept no copies, so the writes stay");
    // Fallible built-in in-place operations too: integer division by zero
    // on one engine's piece only (the last element) writes nothing anywhere.
    let d = Distribution::from_shape(ctx, &[4 * n + 1])?;
    let values = Array1::from_iter((0..4 * n as i64 + 1).map(|i| 10 * i + 3)).into_dyn();
    let mut x = ctx.fromarray(&values, Some(&d))?;
    let divisors = Array1::from_iter((0..4 * n as i64 + 1).map(|i| if i == 4 * n as i64 { 0 } else { 2 })).into_dyn();
    let y = ctx.fromarray(&divisors, Some(&d))?;
    expect_err("floor_divide_inplace", functions::floor_divide_inplace(&mut x, &y), ErrorKind::Arithmetic, &["zero"]);
    assert_eq!(x.toarray()?, values, "a failed in-place division changed the array");
    let mut out = x.clone();
    expect_err("remainder_into", functions::remainder_into(&x, &y, &mut out), ErrorKind::Arithmetic, &["zero"]);
    assert_eq!(out.toarray()?, values, "a failed remainder into `out` changed it");
    Ok(checks + 3)
}

/// A kernel that calls `Context` methods gets `Err(NestedCall)` at once and
/// the engines keep working.
pub fn check_kernels_cannot_drive_contexts(ctx: &Context) -> Result<usize> {
    let _ = CLIENT_CONTEXT.set(ctx.clone());
    let (a, original) = sample(ctx, &[12], "b")?;
    let seen = drive_context(&a)?;
    assert_eq!(seen.len(), ctx.num_targets());
    for attempts in &seen {
        // Two on every backend (new contexts); four more where the client's
        // context is visible (thread engines share its memory).
        assert!(attempts.len() == 2 || attempts.len() == 6, "{attempts:?}");
        for (kind, message) in attempts {
            assert_eq!(*kind, ErrorKind::NestedCall, "{message}");
            assert!(message.contains("a kernel cannot drive the client's context"), "{message}");
        }
    }
    // Nothing happened to the context or the array.
    assert!(!ctx.is_closed());
    assert_eq!(a.toarray()?, original);
    ctx.sync()?;
    Ok(seen.len())
}

/// Kernels recursing 16 MiB deep run on every engine (thread engines get
/// `DISTARRAY_ENGINE_STACK`, 128 MiB by default).
pub fn check_deep_recursion(ctx: &Context) -> Result<usize> {
    let depth = 4096; // 4096 frames of over 4 KiB: past 16 MiB
    let got = recurse(ctx, depth)?;
    assert_eq!(got, vec![deep(0) + (1..=depth as u64).map(|d| d as u8 as u64).sum::<u64>(); ctx.num_targets()]);
    Ok(got.len())
}

/// Bulk values come back exactly, as raw bytes (counted by the client).
pub fn check_bulk_values(ctx: &Context) -> Result<usize> {
    let n = 1 << 18;
    let (count, bytes) = distarray::__testing::bulk_values_received();
    let got = long_vector(ctx, n)?;
    let (count_after, bytes_after) = distarray::__testing::bulk_values_received();
    let engines = ctx.num_targets();
    assert_eq!(count_after - count, engines as u64, "one raw value per engine");
    assert_eq!(bytes_after - bytes, (engines * n * 8) as u64, "exactly the elements' bytes");
    for (r, v) in got.iter().enumerate() {
        assert_eq!(v.len(), n);
        assert!(v.iter().enumerate().all(|(i, &x)| x == (r * n + i) as f64 + 0.25), "engine {r}");
    }
    // A long argument arrives whole on every engine.
    let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let expected = (n * (n - 1) / 2) as f64;
    assert_eq!(sum_of_argument(ctx, values)?, vec![(expected, n); engines]);
    // Other element types and arrays, alone (raw) and inside a tuple (serde).
    let tuples = other_bulk(ctx)?;
    let (bools, arrays, words) = (bool_vector(ctx)?, transposed_array(ctx)?, big_words(ctx)?);
    for (r, (b, a, w)) in tuples.into_iter().enumerate() {
        assert_eq!(bools[r], b);
        assert_eq!(arrays[r], a);
        assert_eq!(arrays[r].shape(), &[2, 3]);
        assert_eq!(arrays[r][[1, 2]], (100 * r + 21) as i32);
        assert_eq!(words[r], w);
        assert_eq!(w, vec![u64::MAX - r as u64; 3]);
    }
    Ok(got.len())
}

/// Calls racing `close()` from other client threads either work or fail with
/// `ContextClosed`: never a missing piece.
pub fn check_close_races(make: impl Fn() -> Result<Context>) -> Result<usize> {
    let mut outcomes = 0;
    for round in 0..6 {
        let ctx = make()?;
        let d = Distribution::from_shape(&ctx, &[64, 8])?;
        let arrays: Vec<DistArray<f64>> = (0..3).map(|_| ctx.ones::<f64>(&d)).collect::<Result<_>>()?;
        std::thread::scope(|scope| {
            let workers: Vec<_> = arrays
                .iter()
                .map(|a| {
                    scope.spawn(move || {
                        let mut seen = 0;
                        for _ in 0..200 {
                            let result = a
                                .sum()
                                .map(drop)
                                .and_then(|()| functions::add(a, 1.0).map(drop))
                                .and_then(|()| a.toarray().map(drop));
                            match result {
                                Ok(()) => {}
                                Err(e) => {
                                    assert_eq!(e.kind(), ErrorKind::ContextClosed, "round {round}: {e}");
                                    seen += 1;
                                    break;
                                }
                            }
                        }
                        seen
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(2 * round as u64));
            ctx.close().expect("close");
            for w in workers {
                outcomes += w.join().expect("worker");
            }
        });
        expect_err("a call after close", arrays[0].sum(), ErrorKind::ContextClosed, &["closed"]);
    }
    Ok(outcomes)
}
