//! The bad-input suite (`tests/support/bad_input/`) as one program for
//! `mpirun -n N+1` (N >= 2; cases needing 4 engines are skipped on fewer);
//! on thread engines under a plain `cargo test`. Prints the number of cases
//! and of error checks.

#[path = "support/bad_input/mod.rs"]
mod bad_input;

use std::sync::atomic::Ordering;

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let cases = bad_input::cases();
    let mut ignored = 0;
    for (name, case) in &cases {
        if let Some((_, reason)) = bad_input::IGNORED.iter().find(|(n, _)| n == name) {
            eprintln!("bad-input case {name}: ignored ({reason})");
            ignored += 1;
            continue;
        }
        eprintln!("bad-input case {name}");
        case()?;
    }
    let left = distarray::cleanup::get_local_keys(&ctx, ctx.key_prefix())?;
    assert!(left.is_empty(), "keys left on the engines: {left:?}");
    println!(
        "mpi_bad_input: {} cases ({ignored} ignored, {} skipped for lack of engines), {} error checks, ok on the {} backend with {} engines",
        cases.len(),
        bad_input::SKIPPED.load(Ordering::Relaxed),
        bad_input::CHECKS.load(Ordering::Relaxed),
        ctx.backend_name(),
        ctx.num_targets()
    );
    Ok(())
}
