//! Latency against the engine count: a pipelined elementwise operation, a
//! waited `sync()` and a waited `sum()` on a small array, with the client's
//! messages per call, and a least-squares line through the times.
//!
//! `cargo bench --bench scaling` runs thread engines 1 to 64 (one child
//! process per count, since the count is fixed per process); under mpirun
//! (`bash scripts/scaling.sh`) each run measures its own engine count and
//! prints one row. Counts above the core count are oversubscribed: read the
//! trend, not the absolute figures.

use std::process::Command;
use std::time::Instant;

use distarray::prelude::*;

const OPS: usize = 2000;
const WAITS: usize = 300;

/// One row: engines, µs per pipelined op, per sync, per sum, and messages
/// sent/received per sync.
fn measure() -> Result<String> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let d = Distribution::from_shape(&ctx, &[8 * n])?;
    let mut x = ctx.ones::<f64>(&d)?;
    let y = ctx.ones::<f64>(&d)?;
    ctx.sync()?;
    let start = Instant::now();
    for _ in 0..OPS {
        x += &y;
    }
    ctx.sync()?;
    let op = start.elapsed().as_secs_f64() / OPS as f64;
    let before = ctx.comm_stats();
    let start = Instant::now();
    for _ in 0..WAITS {
        ctx.sync()?;
    }
    let sync = start.elapsed().as_secs_f64() / WAITS as f64;
    let after = ctx.comm_stats();
    let start = Instant::now();
    for _ in 0..WAITS {
        std::hint::black_box(x.sum()?);
    }
    let sum = start.elapsed().as_secs_f64() / WAITS as f64;
    let per = |a: u64, b: u64| (a - b) as f64 / WAITS as f64;
    Ok(format!(
        "{n} {:.2} {:.2} {:.2} {:.1} {:.1}",
        op * 1e6,
        sync * 1e6,
        sum * 1e6,
        per(after.messages_sent, before.messages_sent),
        per(after.messages_received, before.messages_received)
    ))
}

/// Least squares `y = a + b x`.
fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - b * mx, b)
}

fn main() -> Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(()); // `cargo test --benches` lists; nothing to list
    }
    let under_mpirun = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].iter().any(|v| std::env::var_os(v).is_some());
    if under_mpirun || std::env::var_os("SCALING_CHILD").is_some() {
        let row = measure()?;
        let ctx = Context::new()?;
        println!("| {} | {} |", ctx.backend_name(), row.replace(' ', " | "));
        return Ok(());
    }
    let quick = std::env::var_os("PERF_QUICK").is_some();
    let counts: &[usize] = if quick { &[1, 2] } else { &[1, 2, 4, 8, 16, 32, 64] };
    println!("| backend | engines | µs per pipelined op | µs per sync() | µs per sum() | sent per sync | received per sync |");
    println!("|---|---|---|---|---|---|---|");
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for &n in counts {
        let out = Command::new(std::env::current_exe().expect("the bench binary"))
            .env("SCALING_CHILD", "1")
            .env("DISTARRAY_ENGINES", n.to_string())
            .env("DISTARRAY_BACKEND", "threads")
            .output()
            .expect("a child run");
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("{line}");
        rows.push(line.split('|').filter_map(|f| f.trim().parse::<f64>().ok()).collect());
    }
    let xs: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    for (what, col) in [("pipelined op", 1), ("sync()", 2), ("sum()", 3)] {
        let ys: Vec<f64> = rows.iter().map(|r| r[col]).collect();
        let (a, b) = fit(&xs, &ys);
        println!(
            "threads {what}: {a:.2} µs + {b:.3} µs per engine (least squares); at 1,000 engines {:.0} µs, at 10,000 {:.0} µs",
            a + b * 1000.0,
            a + b * 10000.0
        );
    }
    Ok(())
}
