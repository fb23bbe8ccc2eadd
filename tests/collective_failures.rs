//! Kernels that fail while other engines wait for them in a collective, on
//! thread engines (`tests/mpi_kernels.rs` runs the same checks under mpirun):
//! an abort from the failing engine, or the collective timeout, ends the wait,
//! and the context keeps working.

#[path = "support/kernels.rs"]
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
