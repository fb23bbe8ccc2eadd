//! Resource hygiene: 10^5 arrays created and dropped leave no key on any
//! engine and no memory growth; a closed context refuses every call with
//! `ContextClosed` (through itself and through its arrays), closing twice is
//! an error, and dropping arrays after close is quiet.
//!
//! The memory test reads the whole process's `VmRSS`, so it takes `SERIAL`,
//! as does every other test here (one integration-test file is one process).

#[path = "support/memory.rs"]
mod memory;

use std::sync::{Mutex, MutexGuard, PoisonError};

use distarray::cleanup::{self, get_local_keys};
use distarray::functions::{add, add_into, sin_inplace};
use distarray::prelude::*;
use distarray::{local, vectorize};
use ndarray::{s, Array1, ArrayD};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The arrays created by [`churn`] (each round makes three).
const ARRAYS: usize = 100_000;
/// Growth of the resident set allowed between 10^4 and 10^5 arrays.
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// Creates and drops `3 * rounds` small arrays (constructor, `fromarray`,
/// ufunc result), checking one value per round.
fn churn(ctx: &Context, d: &Distribution, rounds: usize) -> Result<()> {
    let values = Array1::from_iter((0..8).map(f64::from));
    for round in 0..rounds {
        let a = ctx.fromarray(&values, Some(d))?;
        let b = ctx.ones::<f64>(d)?;
        let c = add(&a, &b)?;
        if round % 1000 == 0 {
            assert_eq!(c.get(&[7])?, 8.0, "round {round}");
        }
    }
    Ok(())
}

#[test]
fn hundred_thousand_arrays_leave_no_keys_and_flat_memory() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[8]).dist("c").build()?;
    let rounds = ARRAYS / 3;
    churn(&ctx, &d, rounds / 10)?;
    let after_1e4 = memory::rss_kib();
    churn(&ctx, &d, rounds - rounds / 10)?;
    let after_1e5 = memory::rss_kib();
    let left = get_local_keys(&ctx, ctx.key_prefix())?;
    assert!(left.is_empty(), "{} keys left on the engines, e.g. {:?}", left.len(), left.iter().next());
    if let (Some(before), Some(after)) = (after_1e4, after_1e5) {
        let growth = after.saturating_sub(before);
        eprintln!("VmRSS after 10^4 arrays: {before} KiB, after 10^5: {after} KiB");
        assert!(growth < RSS_BOUND_KIB, "the resident set grew by {growth} KiB from 10^4 to 10^5 arrays");
    } else {
        eprintln!("NOTICE: no /proc/self/status; memory growth not checked");
    }
    Ok(())
}

#[test]
fn closing_twice_is_an_error() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let twin = ctx.clone();
    ctx.close()?;
    for c in [&ctx, &twin] {
        let e = c.close().expect_err("second close");
        assert_eq!(e.kind(), ErrorKind::ContextClosed, "{e}");
        assert!(e.message().contains("closed"), "{e}");
    }
    Ok(())
}

/// The length of this engine's piece.
#[local]
fn piece_len(a: &LocalArray<f64>) -> usize {
    a.len()
}

/// Twice `x`, elementwise.
#[vectorize]
fn twice(x: f64) -> f64 {
    2.0 * x
}

/// `i + j`: one parameter per axis, for `fromfunction`.
#[vectorize]
fn index_sum(i: f64, j: f64) -> f64 {
    i + j
}

#[track_caller]
fn closed<T: std::fmt::Debug>(what: &str, result: Result<T>) {
    match result {
        Ok(v) => panic!("{what} on a closed context gave Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::ContextClosed, "{what}: {e}");
            assert!(e.message().contains("closed"), "{what}: {e}");
        }
    }
}

#[test]
fn every_call_through_a_closed_context_is_context_closed() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let dir = std::env::temp_dir().join(format!("distarray_hygiene_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let d = Distribution::builder(&ctx, &[4, 6]).dist("bc").build()?;
    let values = ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 6]), |i| (i[0] * 6 + i[1]) as f64);
    let mut a = ctx.fromarray(&values, Some(&d))?;
    let b = ctx.ones::<f64>(&d)?;
    let mut out = ctx.zeros::<f64>(&d)?;
    let random = Random::new(&ctx);
    distarray::save_npy(dir.join("a.npy"), &a)?;
    distarray::save_dnpy(dir.join("a").as_path(), &a)?;
    #[cfg(feature = "hdf5")]
    distarray::save_hdf5(dir.join("a.h5"), &a, &distarray::Hdf5Options::default())?;
    let cyclic = Distribution::builder(&ctx, &[4, 6]).dist("cc").build()?;
    ctx.close()?;

    // Through the context.
    closed("empty", ctx.empty::<f64>(&d));
    closed("zeros", ctx.zeros::<i32>(&d));
    closed("ones", ctx.ones::<u8>(&d));
    closed("fromarray", ctx.fromarray(&values, None));
    closed("fromndarray", ctx.fromndarray(&values, Some(&d)));
    closed("fromfunction", ctx.fromfunction::<index_sum>(&[4, 6], Some(&d)));
    closed("apply", ctx.apply::<piece_len>((&a,), None));
    closed("delete_key", ctx.delete_key(a.key(), None));
    closed("cleanup", ctx.cleanup());
    closed("cleanup::cleanup", cleanup::cleanup(&ctx, None));
    closed("cleanup::clear", cleanup::clear(&ctx));
    closed("get_local_keys", get_local_keys(&ctx, ctx.key_prefix()));
    closed("from_localarrays", DistArray::<f64>::from_localarrays(a.key(), &ctx, None));
    closed("from_localarrays_with", DistArray::<f64>::from_localarrays_with(a.key(), &d));
    closed("load_npy", distarray::load_npy::<f64>(dir.join("a.npy"), &d));
    closed("load_dnpy", distarray::load_dnpy::<f64>(&ctx, dir.join("a").as_path()));
    closed("rand", random.rand::<f64>(&d));
    closed("randn", random.randn::<f64>(&d));
    closed("normal", random.normal(&d, 0.0, 1.0));
    closed("randint", random.randint::<i64>(&d, 0, Some(10)));
    // Through its arrays.
    closed("toarray", a.toarray());
    closed("tondarray", a.tondarray());
    closed("get_ndarrays", a.get_ndarrays());
    closed("get_localarrays", a.get_localarrays());
    closed("fill", a.fill(1.0));
    closed("get", a.get(&[0, 0]));
    closed("set", a.set(&[0, 0], 1.0));
    closed("slice", a.slice(s![1.., ..]));
    closed("slice_to_ndarray", a.slice_to_ndarray(s![1.., ..]));
    closed("fill_slice", a.fill_slice(s![1.., ..], 0.0));
    closed("assign_slice", a.assign_slice(s![0, ..], &Array1::<f64>::zeros(6)));
    closed("assign_slice_from", a.assign_slice_from(s![.., ..], &b));
    closed("distribute_as", a.distribute_as(&cyclic));
    closed("redistribute", a.redistribute(&cyclic));
    closed("redistribute_stats", a.redistribute_stats(&cyclic));
    closed("sum", a.sum());
    closed("sum_as", a.sum_as::<f32>());
    closed("sum_axis", a.sum_axis(&[0]));
    closed("min", a.min());
    closed("max_axis", a.max_axis(&[1]));
    closed("mean", a.mean());
    closed("var", a.var(0.0));
    closed("std_axis", a.std_axis(&[0], 1.0));
    closed("add", add(&a, &b));
    closed("add scalar", add(&a, 2.0));
    closed("add_into", add_into(&a, &b, &mut out));
    closed("sin_inplace", sin_inplace(&mut a));
    closed("#[local]", piece_len(&a));
    closed("#[vectorize]", twice(&a));
    closed("save_npy", distarray::save_npy(dir.join("again.npy"), &a));
    closed("save_dnpy", distarray::save_dnpy(dir.join("again").as_path(), &a));
    #[cfg(feature = "hdf5")]
    {
        closed("save_hdf5", distarray::save_hdf5(dir.join("again.h5"), &a, &distarray::Hdf5Options::default()));
        closed("load_hdf5", distarray::load_hdf5::<f64>(dir.join("a.h5"), &d, "buffer"));
    }
    // Dropping arrays, the generator and the context after close is quiet.
    drop((a, b, out, random, d, cyclic));
    drop(ctx);
    std::fs::remove_dir_all(&dir).ok();

    // The engines still serve a new context.
    let fresh = Context::new()?;
    let v = Array1::from_iter(0..5i64).into_dyn();
    assert_eq!(fresh.fromarray(&v, None)?.toarray()?, v);
    Ok(())
}

#[test]
fn distributions_of_a_closed_context() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    ctx.close()?;
    // A distribution is a description on the client; building one is not a
    // call to the engines, but using it is.
    let d = Distribution::from_shape(&ctx, &[5])?;
    closed("zeros over it", ctx.zeros::<f64>(&d));
    Ok(())
}
