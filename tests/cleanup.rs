//! Keys on the engines: listing, deleting, and freeing them when arrays and
//! contexts go away.
//!
//! `cleanup_all` and `clear` delete keys of every context in the process, so
//! every test here takes `SERIAL` first: tests of this file never overlap
//! (each integration-test file is a process of its own).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use distarray::cleanup::{self, get_local_keys};
use distarray::prelude::*;
use distarray::KEY_PREFIX;
use ndarray::{Array1, ArrayD};

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock for the duration of a test; a failed test must not block the rest.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The keys of `ctx`'s own prefix, each with the engines holding it.
fn own_keys(ctx: &Context) -> Result<BTreeMap<String, Vec<usize>>> {
    get_local_keys(ctx, ctx.key_prefix())
}

/// The engines that hold `key` according to `keys`, if any.
fn holders<'a>(keys: &'a BTreeMap<String, Vec<usize>>, key: &str) -> Option<&'a [usize]> {
    keys.get(key).map(Vec::as_slice)
}

/// A small array of known values over the default distribution.
fn small(ctx: &Context, n: usize) -> Result<DistArray<f64>> {
    ctx.fromarray(&values(n), None)
}

fn values(n: usize) -> ArrayD<f64> {
    Array1::from_iter((0..n).map(|i| i as f64 * 1.5)).into_dyn()
}

#[test]
fn local_keys_name_each_live_array_and_its_targets() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let everywhere = small(&ctx, 10)?;
    let pair = ctx.zeros::<i32>(&Distribution::builder(&ctx, &[6]).targets(&[3, 1]).build()?)?;
    // A 0-d array lives on the context's first engine only.
    let scalar = ctx.fromarray(&ndarray::arr0(7u8), None)?;

    let keys = own_keys(&ctx)?;
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(holders(&keys, everywhere.key()), Some(ctx.targets()));
    // Listed in the context's target order, whatever the array's rank order.
    assert_eq!(holders(&keys, pair.key()), Some(&[1, 3][..]));
    assert_eq!(holders(&keys, scalar.key()), Some(&ctx.targets()[..1]));
    for key in keys.keys() {
        assert!(key.starts_with(ctx.key_prefix()) && key.starts_with(KEY_PREFIX), "{key}");
    }
    // The global prefix sees them too.
    let all = get_local_keys(&ctx, KEY_PREFIX)?;
    assert!(keys.keys().all(|k| all.contains_key(k)));

    drop(everywhere);
    let keys = own_keys(&ctx)?;
    let mut expected = vec![pair.key(), scalar.key()];
    expected.sort_unstable();
    assert_eq!(keys.keys().map(String::as_str).collect::<Vec<_>>(), expected);
    drop((pair, scalar));
    assert!(own_keys(&ctx)?.is_empty());
    Ok(())
}

#[test]
fn subset_context_lists_keys_on_its_engines_only() -> Result<()> {
    let _serial = serial();
    let ctx = Context::with_targets(&[2, 0])?;
    let a = small(&ctx, 5)?;
    let scalar = ctx.fromarray(&ndarray::arr0(1i64), None)?;
    let keys = own_keys(&ctx)?;
    assert_eq!(holders(&keys, a.key()), Some(&[2, 0][..]));
    assert_eq!(holders(&keys, scalar.key()), Some(&[2][..]));
    drop((a, scalar));
    assert!(own_keys(&ctx)?.is_empty());
    Ok(())
}

#[test]
fn context_cleanup_removes_its_keys() -> Result<()> {
    let _serial = serial();
    for ctx in [Context::new()?, Context::with_targets(&[1, 3])?] {
        let a = small(&ctx, 8)?;
        let b = ctx.ones::<u16>(&Distribution::builder(&ctx, &[4, 4]).dist("cb").build()?)?;
        assert_eq!(own_keys(&ctx)?.len(), 2);
        ctx.cleanup()?;
        assert!(own_keys(&ctx)?.is_empty());
        assert_eq!(a.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);

        // The module function with the default prefix does the same.
        let c = small(&ctx, 3)?;
        cleanup::cleanup(&ctx, None)?;
        assert!(own_keys(&ctx)?.is_empty());
        assert_eq!(c.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);

        // Stale handles drop quietly and the context keeps working.
        drop((a, b, c));
        assert_eq!(small(&ctx, 4)?.toarray()?, values(4));
        assert!(own_keys(&ctx)?.is_empty());
    }
    Ok(())
}

#[test]
fn delete_key_on_some_targets() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let a = small(&ctx, 12)?;
    let key = a.key().to_string();

    ctx.delete_key(&key, Some(&[1]))?;
    let rest: Vec<usize> = ctx.targets().iter().copied().filter(|&t| t != 1).collect();
    assert_eq!(holders(&own_keys(&ctx)?, &key), Some(rest.as_slice()));
    let e = a.toarray().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyNotFound);
    assert!(e.message().contains("engine 1") && e.message().contains(&key), "{e:?}");

    // Deleting again where it is gone is no error; then everywhere.
    ctx.delete_key(&key, Some(&[1]))?;
    ctx.delete_key(&key, None)?;
    assert!(own_keys(&ctx)?.is_empty());
    ctx.delete_key("no such key", None)?;
    drop(a);
    assert!(own_keys(&ctx)?.is_empty());
    Ok(())
}

#[test]
fn cleanup_spares_other_contexts_but_clear_does_not() -> Result<()> {
    let _serial = serial();
    let first = Context::new()?;
    let second = Context::with_targets(&[1, 2])?;
    let apart = Context::with_targets(&[3])?;
    let mine = small(&first, 6)?;
    let theirs = small(&second, 6)?;
    let far = small(&apart, 6)?;

    first.cleanup()?;
    assert!(own_keys(&first)?.is_empty());
    assert_eq!(holders(&own_keys(&second)?, theirs.key()), Some(&[1, 2][..]));
    assert_eq!(theirs.toarray()?, values(6));
    drop(mine);

    // `clear` deletes every distarray key, of any context, on the engines of
    // the context it is given, and only there.
    let observer = Context::with_targets(&[0, 3])?;
    let witness = small(&observer, 2)?;
    cleanup::clear(&apart)?;
    assert_eq!(far.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);
    assert_eq!(holders(&own_keys(&observer)?, witness.key()), Some(&[0][..]), "only engine 3's piece is gone");
    assert_eq!(theirs.toarray()?, values(6));
    cleanup::clear(&first)?;
    assert!(own_keys(&second)?.is_empty());
    assert!(own_keys(&observer)?.is_empty());
    assert_eq!(theirs.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);
    let witness = small(&observer, 2)?;

    // `cleanup_all` with a prefix deletes only that prefix, everywhere.
    let again = small(&second, 3)?;
    cleanup::cleanup_all(Some(apart.key_prefix()))?;
    assert!(own_keys(&apart)?.is_empty());
    assert_eq!(again.toarray()?, values(3));
    assert_eq!(witness.toarray()?, values(2));

    // `cleanup_all` without one deletes every distarray key on every engine.
    let fresh = small(&first, 9)?;
    cleanup::cleanup_all(None)?;
    assert!(get_local_keys(&first, KEY_PREFIX)?.is_empty());
    for array in [&again, &witness, &fresh] {
        assert_eq!(array.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);
    }
    // ...and no context was closed by it.
    for ctx in [&first, &second, &apart, &observer] {
        assert!(!ctx.is_closed());
        assert_eq!(small(ctx, 5)?.toarray()?, values(5));
    }

    // `clear_all` likewise.
    let last = small(&second, 2)?;
    cleanup::clear_all()?;
    assert!(get_local_keys(&first, KEY_PREFIX)?.is_empty());
    assert_eq!(last.toarray().unwrap_err().kind(), ErrorKind::KeyNotFound);
    Ok(())
}

#[test]
fn many_small_arrays_leave_no_keys() -> Result<()> {
    let _serial = serial();
    let ctx = Context::new()?;
    let d = Distribution::from_shape(&ctx, &[3])?;
    for i in 0..2000 {
        let mut a = ctx.zeros::<i64>(&d)?;
        a.fill(i)?;
    }
    assert!(own_keys(&ctx)?.is_empty());

    // All alive at once, then dropped together.
    let live = (0..2000).map(|_| ctx.ones::<f32>(&d)).collect::<Result<Vec<_>>>()?;
    let keys = own_keys(&ctx)?;
    assert_eq!(keys.len(), 2000);
    assert!(live.iter().all(|a| holders(&keys, a.key()) == Some(d.targets())));
    drop(live);
    assert!(own_keys(&ctx)?.is_empty());
    Ok(())
}

#[test]
fn dropping_a_context_frees_its_keys() -> Result<()> {
    let _serial = serial();
    let observer = Context::new()?;
    let keys_with = |prefix: &str| -> Result<Vec<String>> {
        Ok(get_local_keys(&observer, KEY_PREFIX)?.into_keys().filter(|k| k.starts_with(prefix)).collect())
    };

    let ctx = Context::with_targets(&[3, 0])?;
    let prefix = ctx.key_prefix().to_string();
    let d = Distribution::builder(&ctx, &[5, 2]).dist("cn").build()?;
    let a = ctx.ones::<f64>(&d)?;
    let b = small(&ctx, 7)?;
    let handle = ctx.clone();

    // Arrays and distributions keep the context alive.
    drop((ctx, handle));
    assert_eq!(keys_with(&prefix)?.len(), 2);
    assert_eq!(b.toarray()?, values(7));

    drop((a, b, d));
    assert!(keys_with(&prefix)?.is_empty());

    // Closing frees the keys at once, even with arrays still alive.
    let ctx = Context::with_targets(&[1])?;
    let prefix = ctx.key_prefix().to_string();
    let alive = small(&ctx, 4)?;
    assert_eq!(keys_with(&prefix)?, [alive.key().to_string()]);
    ctx.close()?;
    assert!(keys_with(&prefix)?.is_empty());
    drop((alive, ctx));
    assert!(keys_with(&prefix)?.is_empty());
    Ok(())
}
