//! The isolation suite on thread engines (contexts of 1, 3 and 4 engines),
//! plus what needs a process of its own: a stack overflow, a bad stack size,
//! and what a panicking kernel prints.

#[path = "support/isolation.rs"]
mod isolation;

use std::process::Command;

use distarray::local;
use distarray::prelude::*;

fn contexts() -> Result<Vec<Context>> {
    Ok(vec![Context::with_targets(&[2])?, Context::with_targets(&[3, 0, 1])?, Context::new()?])
}

#[test]
fn failed_calls_change_nothing() -> Result<()> {
    for ctx in contexts()? {
        isolation::check_failed_calls_change_nothing(&ctx)?;
    }
    Ok(())
}

#[test]
fn kernels_cannot_drive_contexts() -> Result<()> {
    isolation::check_kernels_cannot_drive_contexts(&Context::new()?)?;
    Ok(())
}

#[test]
fn deep_recursion_fits_the_engine_stack() -> Result<()> {
    isolation::check_deep_recursion(&Context::new()?)?;
    Ok(())
}

#[test]
fn bulk_values_travel_raw() -> Result<()> {
    for ctx in contexts()? {
        isolation::check_bulk_values(&ctx)?;
    }
    Ok(())
}

#[test]
fn calls_racing_close_see_context_closed() -> Result<()> {
    isolation::check_close_races(Context::new)?;
    isolation::check_close_races(|| Context::with_targets(&[1, 3]))?;
    Ok(())
}

/// Panics on the engines of odd rank.
#[local]
fn panics_on_odd_ranks(engine: &EngineCtx) {
    if engine.rank() % 2 == 1 {
        panic!("odd rank {} gives up", engine.rank());
    }
}

/// Runs the ignored test `name` of this binary in a process of its own with
/// `env`; returns its exit status and stderr.
fn run_alone(name: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["--exact", name, "--ignored", "--nocapture", "--test-threads", "1"]);
    command.env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("the test binary runs");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
#[ignore = "run in a process of its own by `a_panicking_kernel_prints_one_line_per_engine`"]
fn alone_panicking_kernel() {
    let ctx = Context::new().unwrap();
    let e = panics_on_odd_ranks(&ctx).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Engine);
    assert!(e.to_string().contains("gives up"), "{e}");
}

#[test]
fn a_panicking_kernel_prints_one_line_per_engine() {
    let (status, stderr) = run_alone("alone_panicking_kernel", &[("DISTARRAY_ENGINES", "4")]);
    assert!(status.success(), "{stderr}");
    let mut lines: Vec<&str> = stderr.lines().filter(|l| l.contains("gives up")).collect();
    lines.sort(); // the engines print in any order
    assert_eq!(lines.len(), 2, "one line for each of the engines 1 and 3:\n{stderr}");
    for (line, engine) in lines.iter().zip([1, 3]) {
        assert!(line.starts_with(&format!("distarray engine {engine}: panicked at ")), "{line}");
    }
    assert!(!stderr.contains("RUST_BACKTRACE") && !stderr.contains("stack backtrace"), "{stderr}");
    // Asked for, the full report is there.
    let (status, stderr) = run_alone("alone_panicking_kernel", &[("DISTARRAY_ENGINES", "4"), ("RUST_BACKTRACE", "1")]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stderr.matches("stack backtrace").count(), 2, "{stderr}");
}

#[test]
#[ignore = "run in a process of its own by `a_stack_overflow_ends_the_process_with_a_message`"]
fn alone_deep_recursion() {
    let ctx = Context::new().unwrap();
    let _ = isolation::check_deep_recursion(&ctx);
    unreachable!("4096 frames of 4 KiB do not fit in a stack of 1 MiB");
}

#[test]
fn a_stack_overflow_ends_the_process_with_a_message() {
    // With the default stack the same kernel runs (`deep_recursion_fits_the_engine_stack`).
    let (status, stderr) = run_alone("alone_deep_recursion", &[("DISTARRAY_ENGINE_STACK", "1M")]);
    assert!(!status.success(), "{stderr}");
    // On an engine's thread (std's message names it), or on the client
    // thread running engine 0's share (see the threads backend's `inline`).
    assert!(stderr.contains("has overflowed its stack"), "{stderr}");
    assert!(stderr.contains("distarray-engine-") || stderr.contains("DISTARRAY_ENGINE_STACK"), "{stderr}");
}

#[test]
#[ignore = "run in a process of its own by `a_bad_stack_size_is_an_error`"]
fn alone_bad_stack_size() {
    let e = Context::new().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.to_string().contains("DISTARRAY_ENGINE_STACK=\"lots\""), "{e}");
    eprintln!("checked: {e}");
}

#[test]
fn a_bad_stack_size_is_an_error() {
    let (status, stderr) = run_alone("alone_bad_stack_size", &[("DISTARRAY_ENGINE_STACK", "lots")]);
    assert!(status.success() && stderr.contains("checked: "), "{stderr}");
}
