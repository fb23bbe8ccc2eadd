//! `Context::comm_stats()`: what a call costs the client in messages, the
//! same for 2, 4, 16 and 64 thread engines (asserted on counts, not time).
//! The engine count is fixed per process, so each count runs in a child
//! process: this binary's ignored `counts_for_this_engine_count`.

use std::process::Command;

#[path = "support/comm_stats.rs"]
mod comm_stats;

use distarray::prelude::*;

#[test]
#[ignore = "run by client_messages_do_not_grow_with_the_engine_count, one process per engine count"]
fn counts_for_this_engine_count() -> Result<()> {
    if std::env::var_os("DISTARRAY_COMM_STATS_CHILD").is_none() {
        return Ok(());
    }
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let d = Distribution::from_shape(&ctx, &[64 * n])?;
    let mut a = ctx.ones::<f64>(&d)?;
    let b = ctx.ones::<f64>(&d)?;
    let pipelined = comm_stats::messages(&ctx, || {
        a += &b;
        Ok(())
    })?;
    let sync = comm_stats::messages(&ctx, || ctx.sync())?;
    let mut total = 0.0;
    let sum = comm_stats::messages(&ctx, || {
        total = a.sum()?;
        Ok(())
    })?;
    assert_eq!(total, 2.0 * (64 * n) as f64);
    println!("COUNTS {n} pipelined {pipelined:?} sync {sync:?} sum {sum:?}");
    Ok(())
}

#[test]
fn client_messages_do_not_grow_with_the_engine_count() {
    let mut lines = Vec::new();
    for engines in [2, 4, 16, 64] {
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "counts_for_this_engine_count", "--ignored", "--nocapture", "--test-threads=1"])
            .env("DISTARRAY_ENGINES", engines.to_string())
            .env("DISTARRAY_BACKEND", "threads")
            .env("DISTARRAY_COMM_STATS_CHILD", "1")
            .output()
            .expect("the child runs");
        let stdout = String::from_utf8_lossy(&child.stdout).into_owned();
        assert!(child.status.success(), "{engines} engines: {stdout}\n{}", String::from_utf8_lossy(&child.stderr));
        let line = stdout.lines().find_map(|l| l.split_once("COUNTS ").map(|(_, c)| c.to_string())).expect("counts");
        lines.push(line);
    }
    for (line, engines) in lines.iter().zip([2, 4, 16, 64]) {
        // One message to all the engines, nothing back for a pipelined
        // operation; one back, combined, for a waited call.
        let expected = format!("{engines} pipelined (1, 0) sync (1, 1) sum (1, 1)");
        assert_eq!(line, &expected);
    }
}
