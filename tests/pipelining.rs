//! Pipelined calls (see `Context`'s "Pipelining"): elementwise operations,
//! zeros/ones and drops return before the engines have run them; later calls
//! must still see their results in order, and failures must still surface.

use distarray::cleanup::get_local_keys;
use distarray::functions;
use distarray::prelude::*;
use ndarray::{Array1, ArrayD};

fn values(n: usize) -> ArrayD<f64> {
    Array1::from_iter((0..n).map(|i| i as f64 * 0.5 - 3.0)).into_dyn()
}

#[test]
fn long_chains_keep_their_order() -> Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[37]).dist("c").build()?;
    let (start, step) = (values(37), ArrayD::from_elem(vec![37], 0.25));
    let y = ctx.fromarray(&step, Some(&d))?;
    let mut x = ctx.fromarray(&start, Some(&d))?;
    let mut expected = start.clone();
    // More than the 1024 commands that may be in flight at once.
    for i in 0..3000 {
        match i % 3 {
            0 => {
                x = &x + &y;
                expected = &expected + &step;
            }
            1 => {
                x *= 1.0;
                x -= &y;
                expected = &expected - &step;
            }
            _ => {
                x = functions::negative(&x)?;
                expected = -expected;
            }
        }
    }
    assert_eq!(x.toarray()?, expected);
    // Every intermediate array was deleted (in order, after its last use).
    drop((x, y));
    assert!(get_local_keys(&ctx, ctx.key_prefix())?.is_empty());
    Ok(())
}

#[test]
fn pipelined_constructors_and_fills_are_visible_to_the_next_call() -> Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::from_shape(&ctx, &[5, 4])?;
    let mut z = ctx.zeros::<i32>(&d)?;
    let o = ctx.ones::<i32>(&d)?;
    z += &o;
    z += &o;
    assert_eq!(z.toarray()?, ArrayD::from_elem(vec![5, 4], 2));
    ctx.sync()?;
    Ok(())
}

#[test]
fn arrays_emptied_by_cleanup_fail_at_once() -> Result<()> {
    let ctx = Context::new()?;
    let a = ctx.fromarray(&values(10), None)?;
    let b = ctx.fromarray(&values(10), None)?;
    ctx.cleanup()?;
    // Not deferred to a later call: the operation itself reports the loss.
    assert_eq!(functions::add(&a, &b).map(drop).map_err(|e| e.kind()), Err(ErrorKind::KeyNotFound));
    assert_eq!(functions::sqrt(&a).map(drop).map_err(|e| e.kind()), Err(ErrorKind::KeyNotFound));
    let mut c = ctx.zeros::<f64>(&Distribution::from_shape(&ctx, &[10])?)?;
    assert_eq!(functions::add_inplace(&mut c, &a).map_err(|e| e.kind()), Err(ErrorKind::KeyNotFound));
    // Nothing is left to report, and new arrays work.
    ctx.sync()?;
    assert_eq!(c.toarray()?, ArrayD::zeros(vec![10]));
    Ok(())
}

#[test]
fn fallible_operations_still_wait_and_report() -> Result<()> {
    let ctx = Context::new()?;
    let a = ctx.fromarray(&Array1::from_vec(vec![4i64, 5, 6, 7]).into_dyn(), None)?;
    let zero = ctx.fromarray(&Array1::from_vec(vec![1i64, 1, 0, 1]).into_dyn(), None)?;
    let err = functions::floor_divide(&a, &zero).expect_err("division by zero");
    assert_eq!(err.kind(), ErrorKind::Arithmetic);
    // The error was the call's own: nothing is deferred.
    ctx.sync()?;
    Ok(())
}

/// The name of the thread running this engine's share.
#[local]
fn thread_name() -> String {
    std::thread::current().name().unwrap_or("unnamed").to_string()
}

#[test]
fn a_waited_call_runs_the_first_share_on_the_calling_thread() -> Result<()> {
    // The client runs the first target's share of a waited call itself (no
    // thread switch for it), and the others' when their threads have not
    // taken them by then; pipelined work stays on the engine threads.
    let ctx = Context::new()?;
    let caller = std::thread::current().name().unwrap_or("unnamed").to_string();
    for _ in 0..3 {
        let names = thread_name(&ctx)?;
        assert_eq!(names[0], caller, "{names:?}");
        for (rank, name) in names.iter().enumerate().skip(1) {
            assert!(*name == caller || *name == format!("distarray-engine-{rank}"), "{names:?}");
        }
    }
    // In order with what the engines' threads ran before it: pipelined
    // updates, then a waited read on the calling thread.
    let d = Distribution::from_shape(&ctx, &[1 << 12])?;
    let mut a = ctx.zeros::<f64>(&d)?;
    let one = ctx.ones::<f64>(&d)?;
    for _ in 0..100 {
        a += &one;
    }
    assert_eq!(a.sum()?, 100.0 * (1 << 12) as f64);
    Ok(())
}
