//! Engines that die or hang. A program, not a libtest harness: it stops
//! engines for good, so it needs a process (and, under MPI, a job) of its own.
//!
//! - Thread engines (plain `cargo test`): an engine thread stops; every call
//!   that needs it returns `Err` (no hang), contexts without it keep working;
//!   an engine busy past `DISTARRAY_ENGINE_TIMEOUT` gives `Err` too.
//! - MPI (`scripts/test.sh` runs it under mpirun with `DISTARRAY_FAULT`):
//!   `kill` SIGKILLs engine 0's process: mpirun notices and ends the job;
//!   `hang` SIGSTOPs it: the client gives up after `DISTARRAY_ENGINE_TIMEOUT`
//!   with a message naming the engine and ends the job; `exit` makes it exit
//!   as a crash would. Each run must end non-zero with no rank left.

use std::time::{Duration, Instant};

use distarray::__testing::stop_engine;
use distarray::prelude::*;
use distarray::{local, Collectives};

#[local]
fn engine_pid() -> u32 {
    std::process::id()
}

#[local]
fn global_count(a: &LocalArray<f64>, engine: &EngineCtx) -> usize {
    let all: Vec<usize> = engine.comm().all_gather(&a.len()).expect("all_gather");
    all.iter().sum()
}

#[local]
fn sleep_on_rank_zero(millis: u64, engine: &EngineCtx) {
    if engine.rank() == 0 {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

fn main() -> Result<()> {
    if std::env::var_os("DISTARRAY_FAULT").is_none() {
        // Read once, at the first call: set before any.
        std::env::set_var("DISTARRAY_ENGINE_TIMEOUT", "2");
    }
    let ctx = Context::new()?;
    if ctx.backend_name() == "mpi" {
        return mpi_fault(&ctx);
    }
    threads_engine_timeout()?;
    threads_engine_stops(&ctx)
}

/// Calls that wait longer than `DISTARRAY_ENGINE_TIMEOUT` fail; the engine
/// itself recovers once its work is done.
fn threads_engine_timeout() -> Result<()> {
    let ctx = Context::with_targets(&[0, 1])?;
    let start = Instant::now();
    let err = sleep_on_rank_zero(&ctx, 6000).expect_err("engine 0 is busy for 6 s");
    // Not a timing assertion on our speed: only that the wait ended before the work did.
    assert!(start.elapsed() < Duration::from_millis(5500), "gave up after {:?}: {err}", start.elapsed());
    assert_eq!(err.kind(), ErrorKind::EngineUnavailable, "{err}");
    assert!(err.message().contains("[0]") && err.message().contains("DISTARRAY_ENGINE_TIMEOUT"), "{err}");
    std::thread::sleep(Duration::from_millis(6000));
    let a = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[10])?)?;
    assert_eq!(a.sum()?, 10.0);
    println!("engine timeout: Err after {:?}, context usable afterwards", start.elapsed());
    Ok(())
}

/// A stopped engine thread: `Err` from every call that needs it, never a hang.
fn threads_engine_stops(ctx: &Context) -> Result<()> {
    let n = ctx.num_targets();
    assert!(n >= 3, "run with 3 or more thread engines");
    let a = ctx.fromarray(&ndarray::Array1::from_elem(12, 1.5).into_dyn(), None)?;
    assert_eq!(global_count(&a)?, vec![12; n]);
    let last = n - 1;
    stop_engine(ctx, last)?;
    let expect_stopped = |what: &str, result: Result<()>| {
        let err = result.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::EngineUnavailable, "{what}: {err}");
        assert!(err.message().contains("stopped"), "{what}: {err}");
    };
    expect_stopped("sum", a.sum().map(drop));
    // The others would wait for it in the collective: they must not hang.
    expect_stopped("collective kernel", global_count(&a).map(drop));
    expect_stopped("toarray", a.toarray().map(drop));
    expect_stopped("new context", Context::new().map(drop));
    // Engines without it go on.
    let rest: Vec<usize> = (0..last).collect();
    let sub = Context::with_targets(&rest)?;
    let b = sub.fromarray(&ndarray::Array1::from_elem(9, 2.0).into_dyn(), None)?;
    assert_eq!(b.sum()?, 18.0);
    assert_eq!(global_count(&b)?, vec![9; last]);
    drop(a); // a drop cannot report; it must not panic either
    println!("stopped engine {last}: every call needing it failed, {last} others kept working");
    Ok(())
}

/// Under mpirun: makes engine 0 fail as `DISTARRAY_FAULT` says, then keeps
/// calling; the job must end (non-zero) instead of hanging.
fn mpi_fault(ctx: &Context) -> Result<()> {
    let fault = std::env::var("DISTARRAY_FAULT").unwrap_or_default();
    let pids = engine_pid(ctx)?;
    let a = ctx.ones::<f64>(&Distribution::from_shape(ctx, &[100])?)?;
    assert_eq!(a.sum()?, 100.0);
    let signal = match fault.as_str() {
        "kill" => Some("-KILL"),
        "hang" => Some("-STOP"),
        "exit" => None,
        other => {
            println!("mpi_engine_failure: set DISTARRAY_FAULT to kill, hang or exit (got {other:?}); nothing to do");
            return Ok(());
        }
    };
    match signal {
        Some(signal) => {
            let status = std::process::Command::new("kill").arg(signal).arg(pids[0].to_string()).status();
            assert!(status.is_ok_and(|s| s.success()), "could not signal engine 0 (pid {})", pids[0]);
        }
        None => stop_engine(ctx, ctx.targets()[0])?,
    }
    eprintln!("mpi_engine_failure: engine 0 (pid {}) made to {fault}; calling it until the job ends", pids[0]);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let _ = a.sum();
    }
    // Reaching this line means nobody noticed for a minute: a failure.
    eprintln!("mpi_engine_failure: the lost engine went unnoticed for 60 s");
    std::process::exit(3);
}
