//! Kernels that fail while other engines wait for them in a collective, on
//! thread engines (`tests/mpi_kernels.rs` runs the same checks under mpirun):
//! an abort from the failing engine, or the collective timeout, ends the wait,
//! and the context keeps working.

#[path = "support/kernels.rs"]
#[allow(dead_code)] // each file uses part of the suite
mod kernels;

use std::sync::Once;

use distarray::prelude::*;

/// A low collective timeout for this process, before any collective runs.
fn low_timeout() {
    static SET: Once = Once::new();
    SET.call_once(|| std::env::set_var("DISTARRAY_COLLECTIVE_TIMEOUT", "3"));
}

#[test]
fn a_panic_in_a_collective_is_an_error_not_a_hang() -> Result<()> {
    low_timeout();
    kernels::check_panic_in_collective(&Context::new()?)?;
    kernels::check_panic_in_collective(&Context::with_targets(&[2, 0, 3])?)
}

#[test]
fn an_engine_that_never_joins_times_out() -> Result<()> {
    low_timeout();
    kernels::check_collective_timeout(&Context::with_targets(&[1, 3])?)
}

#[test]
fn client_threads_failing_and_succeeding_at_once_share_communicators() -> Result<()> {
    low_timeout();
    let ctx = Context::new()?;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let ctx = ctx.clone();
                s.spawn(move || -> Result<()> {
                    for _ in 0..5 {
                        if w % 2 == 0 {
                            kernels::check_panic_in_collective(&ctx)?;
                        } else {
                            let a = ctx.fromarray(&ndarray::Array1::from_elem(20, 1.0).into_dyn(), None)?;
                            assert!(kernels::global_sum(&a)?.iter().all(|&s| s == 20.0));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("worker thread"))
    })
}
