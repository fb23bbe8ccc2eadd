//! Fusion (engine/fusion): pipelined elementwise calls run as one pass per
//! engine, temporaries never whole, results bit for bit those of the calls
//! run one by one. Proven with the engines' counters, not with time.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use distarray::functions::{
    absolute, add_into, conjugate, exp, floor_divide, greater, less, multiply_inplace, negative, sin, sqrt, true_divide,
};
use distarray::prelude::*;
use ndarray::{Array1, ArrayD};
use num_complex::Complex;

#[path = "support/fusion.rs"]
mod fusion;

use fusion::{fused, values, N};

/// The counters are per engine, and the tests of this binary share the
/// engines: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn an_operator_chain_runs_as_one_pass_without_whole_temporaries() -> Result<()> {
    let _serial = serial();
    fusion::check_one_pass(&Context::new()?)
}

#[test]
fn a_waited_call_runs_the_queue_first_and_sees_its_results() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let a = ctx.fromarray(&Array1::from_iter((0..N as i64).map(|i| i - 7)), None)?;
    let b = &a * 3 + 1;
    // floor_divide can fail, so it is waited for: the queue runs before it.
    let q = floor_divide(&b, 2)?;
    let expected: Vec<i64> = (0..N as i64).map(|i| ((i - 7) * 3 + 1).div_euclid(2)).collect();
    assert_eq!(q.toarray()?.into_raw_vec_and_offset().0, expected);
    // A deleted input of queued calls stays until they have run.
    let mut c = ctx.fromarray(&Array1::from_elem(N, 2i64), None)?;
    let d = &c + &a;
    drop(a);
    multiply_inplace(&mut c, 5)?;
    assert_eq!(d.sum()?, (0..N as i64).map(|i| i - 5).sum::<i64>());
    assert_eq!(c.sum()?, 10 * N as i64);
    // Failures of queued calls are still reported by the next answer.
    let e = &c - 1;
    ctx.delete_key(e.key(), None)?;
    let err = distarray::functions::add(&e, 1).and_then(|f| f.sum()).expect_err("its pieces were deleted");
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{err}");
    Ok(())
}

fn digest<T: std::fmt::Debug>(name: &str, array: &ArrayD<T>) -> String {
    let mut h = DefaultHasher::new();
    // Debug prints floats exactly (shortest round trip, signed zeros, NaN).
    format!("{array:?}").hash(&mut h);
    format!("{name} {:016x}", h.finish())
}

/// Every kind of elementwise call — unary and binary families, scalars on
/// either side, comparisons, into `out` and in place, arrays of two lengths
/// interleaved, a waited call in the middle, temporaries dropped — over
/// several element types; the digest of every surviving result.
fn chain_digests(ctx: &Context) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut a0 = values(N, 1);
    a0[5] = f64::NAN;
    a0[6] = -0.0;
    a0[7] = f64::INFINITY;
    let (a, b, c) =
        (ctx.fromarray(&a0, None)?, ctx.fromarray(&values(N, 2), None)?, ctx.fromarray(&values(N, 3), None)?);
    let small = ctx.fromarray(&values(777, 4), None)?;
    let t1 = &a * &b + &c;
    let s1 = &small * 2.0 + 1.0;
    let t2 = sin(&t1)?;
    let t3 = 2.0 - &t2;
    let mut t4 = &t3 / 3.0;
    t4 += &a;
    t4 *= 0.5;
    let m = less(&t4, &b)?;
    let k = absolute(&t4)?;
    let mut into = ctx.zeros::<f64>(a.distribution())?;
    add_into(&k, &a, &mut into)?;
    let s = sqrt(&into)?;
    let neg = -&s;
    let e = exp(&(&small - &s1))?;
    drop((t2, t3));
    out.extend([
        digest("t1", &t1.toarray()?),
        digest("t4", &t4.toarray()?),
        digest("m", &m.toarray()?),
        digest("into", &into.toarray()?),
        digest("neg", &neg.toarray()?),
        digest("e", &e.toarray()?),
    ]);

    let f = ctx.fromarray(&values(N, 5).mapv(|v| v as f32), None)?;
    let g = (&f * &f - 0.25f32) * 3.0f32;
    out.push(digest("f32", &g.toarray()?));

    let i = ctx.fromarray(&Array1::from_iter((0..N as i64).map(|v| (v * 7919) % 2001 - 1000)), None)?;
    let j = ctx.fromarray(&Array1::from_iter((0..N as i64).map(|v| (v * 104_729) % 97 - 48)), None)?;
    let p = &i * &j - 3;
    let q = true_divide(&p, &j)?; // gives f64, inf where j is 0
    let r = floor_divide(&p, 5)?; // waited: runs the queue first
    let u = (negative(&r)? & 0xff) | &j;
    let w = greater(&u, &i)?;
    let i32s = ctx.fromarray(&Array1::from_iter((0..N as i32).map(|v| v.wrapping_mul(48_271))), None)?;
    let x = (&i32s - 5i32) * 3i32 + &i32s;
    out.extend([
        digest("q", &q.toarray()?),
        digest("u", &u.toarray()?),
        digest("w", &w.toarray()?),
        digest("x", &x.toarray()?),
    ]);

    let bools = &w & &m;
    out.push(digest("bools", &bools.toarray()?));

    let z =
        ctx.fromarray(&Array1::from_iter((0..N).map(|v| Complex::new(v as f64 * 1e-3, 1.0 - v as f64 * 2e-4))), None)?;
    let zz = &z * &conjugate(&z)? + &z;
    let za = absolute(&exp(&zz)?)?;
    out.extend([digest("zz", &zz.toarray()?), digest("za", &za.toarray()?)]);
    Ok(out)
}

/// What the chains give with fusion off: a process of its own, as the
/// switch is read once per process.
#[test]
#[ignore = "run by fused_results_are_the_unfused_ones_bit_for_bit with DISTARRAY_FUSION=0"]
fn unfused_digests() -> Result<()> {
    if std::env::var_os("DISTARRAY_FUSION_CHILD").is_none() {
        return Ok(());
    }
    let ctx = Context::new()?;
    let digests = chain_digests(&ctx)?;
    let stats = ctx.engine_stats()?;
    assert!(stats.iter().all(|s| s.fused_calls == 0), "fusion is off: {stats:?}");
    for d in digests {
        println!("DIGEST {d}");
    }
    Ok(())
}

#[test]
fn fused_results_are_the_unfused_ones_bit_for_bit() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let before = ctx.engine_stats()?;
    let fused_digests = chain_digests(&ctx)?;
    let after = ctx.engine_stats()?;
    for (calls, passes) in fused(&before, &after) {
        assert!(calls > 2 * passes, "{calls} calls in {passes} passes: the chains did not fuse");
    }
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "unfused_digests", "--ignored", "--nocapture", "--test-threads=1"])
        .env("DISTARRAY_FUSION", "0")
        .env("DISTARRAY_FUSION_CHILD", "1")
        .output()
        .expect("the unfused run starts");
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&child.stderr));
    // The harness prints the test's name before its output, on one line.
    let unfused: Vec<String> =
        stdout.lines().filter_map(|l| l.split_once("DIGEST ")).map(|(_, d)| d.to_string()).collect();
    assert_eq!(fused_digests, unfused);
    Ok(())
}
