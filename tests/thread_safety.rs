//! A `Context` and its arrays are `Send + Sync`, and one context shared by 8
//! client threads serialises their calls correctly: every result matches
//! ndarray's and no key is left at the end.

use std::thread;

use distarray::cleanup::get_local_keys;
use distarray::functions::{add, multiply};
use distarray::prelude::*;
use ndarray::{s, Array2, ArrayD, Axis};

// Compile-time: these types can be shared between and moved to threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Context>();
    send_sync::<DistArray<f64>>();
    send_sync::<DistArray<bool>>();
    send_sync::<Distribution>();
    send_sync::<Random>();
    send_sync::<Error>();
};

const THREADS: usize = 8;
const ROUNDS: usize = 100;

/// A matrix that differs per thread and round, with exact small values.
fn matrix(thread: usize, round: usize) -> Array2<f64> {
    let (rows, cols) = (3 + (thread + round) % 5, 2 + (thread * 7 + round) % 6);
    Array2::from_shape_fn((rows, cols), |(i, j)| ((thread * 131 + round * 17 + i * cols + j) % 23) as f64 - 11.0)
}

/// One client thread's work on the shared context; returns the checks made.
fn client(ctx: &Context, thread: usize) -> Result<usize> {
    let dists = ["bb", "cb", "bc", "cc", "nb", "bn"];
    let mut checks = 0;
    for round in 0..ROUNDS {
        let x = matrix(thread, round);
        let y = x.mapv(|v| v * 0.5 + thread as f64);
        let dist = dists[(thread + round) % dists.len()];
        let d = Distribution::builder(ctx, x.shape()).dist(dist).build()?;
        let a = ctx.fromarray(&x, Some(&d))?;
        let b = ctx.fromarray(&y, Some(&d))?;
        let what = format!("thread {thread} round {round} {dist}");
        let sum = add(&a, &b)?;
        assert_eq!(sum.toarray()?, (&x + &y).into_dyn(), "{what}: add");
        let product = multiply(&a, 3.0)?;
        assert_eq!(product.toarray()?, (&x * 3.0).into_dyn(), "{what}: multiply");
        assert_eq!(a.sum()?, x.sum(), "{what}: sum");
        assert_eq!(b.max()?, y.iter().copied().fold(f64::NEG_INFINITY, f64::max), "{what}: max");
        assert_eq!(a.sum_axis(&[0])?.toarray()?, x.sum_axis(Axis(0)).into_dyn(), "{what}: sum_axis");
        let mut c = ctx.zeros::<f64>(&d)?;
        let (i, j) = (round % x.nrows(), thread % x.ncols());
        c.set(&[i as isize, j as isize], x[[i, j]] + 1.0)?;
        assert_eq!(c.get(&[i as isize, j as isize])?, x[[i, j]] + 1.0, "{what}: get after set");
        assert_eq!(c.sum()?, x[[i, j]] + 1.0, "{what}: one element set");
        assert_eq!(a.get(&[-1, -1])?, x[[x.nrows() - 1, x.ncols() - 1]], "{what}: get");
        let part = a.slice(s![1.., ..;2])?;
        assert_eq!(part.toarray()?, x.slice(s![1.., ..;2]).into_owned().into_dyn(), "{what}: slice");
        let flags: DistArray<bool> = ctx.fromarray(&x.mapv(|v| v > 0.0), Some(&d))?;
        let expected: ArrayD<bool> = x.mapv(|v| v > 0.0).into_dyn();
        assert_eq!(flags.toarray()?, expected, "{what}: bool round trip");
        checks += 10;
    }
    Ok(checks)
}

#[test]
fn eight_threads_share_one_context() -> Result<()> {
    let ctx = Context::new()?;
    let total = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                // Half the threads borrow the context, half own a clone.
                let owned = ctx.clone();
                let shared = &ctx;
                scope.spawn(move || if t % 2 == 0 { client(shared, t) } else { client(&owned, t) })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a client thread panicked")).sum::<Result<usize>>()
    })?;
    assert_eq!(total, THREADS * ROUNDS * 10);
    let left = get_local_keys(&ctx, ctx.key_prefix())?;
    assert!(left.is_empty(), "keys left after every thread dropped its arrays: {left:?}");
    Ok(())
}

#[test]
fn arrays_moved_between_threads() -> Result<()> {
    let ctx = Context::new()?;
    let x = matrix(3, 5);
    let a = ctx.fromarray(&x, None)?;
    // Made on this thread, read on others at once, dropped on another.
    let sums: Vec<f64> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS).map(|_| scope.spawn(|| a.sum())).collect();
        handles.into_iter().map(|h| h.join().expect("reader panicked")).collect::<Result<_>>()
    })?;
    assert!(sums.iter().all(|&s| s == x.sum()), "{sums:?}");
    thread::spawn(move || drop(a)).join().expect("drop on another thread");
    assert!(get_local_keys(&ctx, ctx.key_prefix())?.is_empty());
    Ok(())
}
