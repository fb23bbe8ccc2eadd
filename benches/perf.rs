//! distarray against hand-written code, case by case, in one run; prints one
//! markdown table row per case (`scripts/perf.sh` runs it on both backends and
//! assembles the README table).
//!
//! - Threads: `cargo bench --bench perf` (2 thread engines). The baseline of a
//!   case is the same computation written by hand over the same local pieces
//!   (copied to the client first), one scoped thread per piece. For
//!   `a * b + c` it is the STREAM triad into an output allocated before
//!   timing: the memory-bandwidth limit.
//! - MPI: `cargo bench --features mpi --bench perf --no-run`, then
//!   `mpirun -n 3 <executable> --bench` (client + 2 engine ranks). The
//!   baseline is the hand-written SPMD program run on the engine ranks
//!   themselves: the same loop over each rank's piece, combined with the same
//!   collective, timed between barriers (slowest rank), as an rsmpi program
//!   would be.
//!
//! distarray is timed on the client, so its figures include sending the
//! command and waiting for every engine's answer. Ratios are baseline time /
//! distarray time: 1.0 is as fast as the hand-written code, higher is faster.
//! Every figure is the best of `PERF_REPS` repetitions (5 unless set; more
//! on a loaded machine, and under mpirun pass it on with `-x PERF_REPS`).
//! `PERF_QUICK=1` runs tiny
//! sizes (a smoke test of the bench itself; the test script does that).

use std::time::Instant;

use distarray::prelude::*;
use distarray::{local, vectorize, Collectives};
use ndarray::{ArrayD, Axis, Zip};

/// Repetitions of every figure: `PERF_REPS`, 5 unless set.
fn reps() -> usize {
    std::env::var("PERF_REPS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(5)
}

/// `a * b + c` in one pass: what the fused path evaluates.
#[vectorize]
fn fma(a: f64, b: f64, c: f64) -> f64 {
    a * b + c
}

/// Builds inputs on the engines (nothing on the client).
#[vectorize]
fn wave(i: f64) -> f64 {
    (i * 1e-3).sin()
}

/// The hand-written SPMD baseline of `a * b + c`, the STREAM triad into an
/// output allocated (and touched) before timing: seconds on the slowest rank.
#[local]
fn spmd_fma(a: &LocalArray<f64>, b: &LocalArray<f64>, c: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    let mut out = ArrayD::zeros(a.raw_dim());
    spmd_time(engine, || triad(std::hint::black_box(&mut out), a, b, c))
}

/// The hand-written SPMD baseline of sum(): seconds on the slowest rank.
#[local]
fn spmd_sum(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    spmd_time(engine, || {
        let mine = a.sum();
        let all: Vec<f64> = engine.comm().all_gather(&mine).expect("all_gather");
        std::hint::black_box(all.iter().sum::<f64>())
    })
}

/// The hand-written SPMD baseline of sum(axis=0) over a grid of row blocks.
#[local]
fn spmd_sum_axis0(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    spmd_time(engine, || {
        let mine = a.sum_axis(Axis(0)).into_raw_vec_and_offset().0;
        let all: Vec<Vec<f64>> = engine.comm().all_gather(&mine).expect("all_gather");
        std::hint::black_box(add_all(all))
    })
}

/// The hand-written SPMD baseline of var(): two passes per piece, moments combined.
#[local]
fn spmd_var(a: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    spmd_time(engine, || {
        let mine = moments(a.as_slice().expect("contiguous"));
        let all: Vec<(f64, f64, f64)> = engine.comm().all_gather(&mine).expect("all_gather");
        std::hint::black_box(combine_var(&all))
    })
}

/// A user kernel: `a += k * x` in place.
#[local]
fn axpy_inplace(a: &mut LocalArray<f64>, x: &LocalArray<f64>, k: f64) {
    axpy_direct(a, x, k);
}

/// The same without undo copies (a failed call keeps what was written).
#[local(undo = false)]
fn axpy_inplace_no_undo(a: &mut LocalArray<f64>, x: &LocalArray<f64>, k: f64) {
    axpy_direct(a, x, k);
}

/// The hand-written SPMD baseline of the in-place axpy: seconds on the slowest rank.
#[local(undo = false)]
fn spmd_axpy(a: &mut LocalArray<f64>, x: &LocalArray<f64>, engine: &EngineCtx) -> f64 {
    spmd_time(engine, || axpy_direct(a, x, 1.0))
}

/// Peak resident memory since the last reset, and resets it; on this engine's process.
#[local]
fn engine_peak_rss(reset: bool) -> u64 {
    peak_rss(reset)
}

/// Resident memory now, on this engine's process.
#[local]
fn engine_rss() -> u64 {
    rss()
}

fn axpy_direct(a: &mut ArrayD<f64>, x: &ArrayD<f64>, k: f64) {
    Zip::from(a).and(x).for_each(|a, &x| *a += k * x);
}

/// The STREAM triad `out = a * b + c` into existing memory: the bandwidth
/// limit of `a * b + c` (a fresh output would add its page faults).
fn triad(out: &mut ArrayD<f64>, a: &ArrayD<f64>, b: &ArrayD<f64>, c: &ArrayD<f64>) {
    Zip::from(out).and(a).and(b).and(c).for_each(|o, &a, &b, &c| *o = a * b + c);
}

fn add_all(parts: Vec<Vec<f64>>) -> Vec<f64> {
    let mut total = vec![0.0; parts.first().map_or(0, Vec::len)];
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// (n, mean, sum of squared deviations) of `x`, by two passes.
fn moments(x: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
    (n, mean, m2)
}

/// The variance of the union of pieces with the given moments (Chan et al.).
fn combine_var(parts: &[(f64, f64, f64)]) -> f64 {
    let (n, _, m2) = parts.iter().fold((0.0, 0.0, 0.0), |(n, mean, m2), &(nb, mb, m2b)| {
        let total = n + nb;
        let delta = mb - mean;
        (total, mean + delta * nb / total, m2 + m2b + delta * delta * n * nb / total)
    });
    m2 / n
}

/// Runs `f` between barriers `reps()` times; the best of the slowest rank's times.
fn spmd_time<R>(engine: &EngineCtx, mut f: impl FnMut() -> R) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..reps() {
        engine.comm().barrier().expect("barrier");
        let start = Instant::now();
        std::hint::black_box(f());
        let mine = start.elapsed().as_secs_f64();
        let all: Vec<f64> = engine.comm().all_gather(&mine).expect("all_gather");
        best = best.min(all.into_iter().fold(0.0, f64::max));
    }
    best
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes resident now.
fn rss() -> u64 {
    status_kib("VmRSS:") * 1024
}

/// Bytes of the peak resident set since the last reset; resets it when asked
/// (Linux: writing 5 to clear_refs restarts the high-water mark).
fn peak_rss(reset: bool) -> u64 {
    let peak = status_kib("VmHWM:") * 1024;
    if reset {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    peak
}

/// The best wall time of `reps()` runs of `f`.
fn best_of(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps() {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// One scoped thread per piece running `f` on it; the results in piece order.
fn per_piece<P: Sync, R: Send>(pieces: &[P], f: impl Fn(&P) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let handles: Vec<_> = pieces.iter().map(|p| s.spawn(|| f(p))).collect();
        handles.into_iter().map(|h| h.join().expect("baseline thread")).collect()
    })
}

struct Bench {
    ctx: Context,
    mpi: bool,
}

impl Bench {
    fn row(&self, case: &str, ours: f64, baseline: f64) {
        let backend = self.ctx.backend_name();
        println!("| {backend} | {case} | {} | {} | {:.2} |", fmt_secs(ours), fmt_secs(baseline), baseline / ours);
    }

    fn inputs(&self, n: usize) -> Result<(DistArray<f64>, DistArray<f64>, DistArray<f64>)> {
        let d = Distribution::from_shape(&self.ctx, &[n])?;
        let a = self.ctx.fromfunction::<wave>(&[n], Some(&d))?;
        let b = &a * 0.5;
        let c = &a + 2.0;
        Ok((a, b, c))
    }

    /// `a * b + c` by operators, and fused by `#[vectorize]`, against the hand-written loop.
    fn elementwise(&self, log2: u32) -> Result<()> {
        let n = 1usize << log2;
        let (a, b, c) = self.inputs(n)?;
        let baseline = if self.mpi {
            spmd_fma(&a, &b, &c)?.into_iter().fold(0.0, f64::max)
        } else {
            let (pa, pb, pc) = (a.get_ndarrays()?, b.get_ndarrays()?, c.get_ndarrays()?);
            let mut outs: Vec<ArrayD<f64>> = pa.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
            best_of(|| {
                std::thread::scope(|s| {
                    for (((o, a), b), c) in outs.iter_mut().zip(&pa).zip(&pb).zip(&pc) {
                        s.spawn(move || triad(std::hint::black_box(o), a, b, c));
                    }
                });
                Ok(())
            })?
        };
        // Elementwise operations are pipelined and fused on the engines:
        // `sync` runs them. The result lives past it, as a user's would (one
        // dropped before would never be written: fusion makes it a scratch
        // block).
        let operators = best_of(|| {
            let r = &(&a * &b) + &c;
            self.ctx.sync()?;
            drop(std::hint::black_box(r));
            Ok(())
        })?;
        // `&a * &b` is owned: the sum is computed into it, no second array.
        let by_value = best_of(|| {
            let r = &a * &b + &c;
            self.ctx.sync()?;
            drop(std::hint::black_box(r));
            Ok(())
        })?;
        // Four operations, one pass: against the triad too (it reads one
        // array fewer and does two operations fewer).
        let chain = best_of(|| {
            let r = ((&a + &b) * &c - 1.5) * 0.5;
            self.ctx.sync()?;
            drop(std::hint::black_box(r));
            Ok(())
        })?;
        let fused = best_of(|| {
            std::hint::black_box(fma(&a, &b, &c)?);
            Ok(())
        })?;
        let mut d = a.clone();
        let inplace = best_of(|| {
            d *= &b;
            d += &c;
            self.ctx.sync()
        })?;
        self.row(&format!("`a * b + c`, 2^{log2} f64, operators"), operators, baseline);
        self.row(&format!("`a * b + c`, 2^{log2} f64, operators `&a * &b + &c` (product reused)"), by_value, baseline);
        self.row(&format!("`((a + b) * c - 1.5) * 0.5`, 2^{log2} f64, operators"), chain, baseline);
        self.row(&format!("`a * b + c`, 2^{log2} f64, fused `#[vectorize]`"), fused, baseline);
        self.row(&format!("`d *= b; d += c`, 2^{log2} f64, in place"), inplace, baseline);
        // A user's in-place kernel, against the same loop on the pieces.
        let mut y = a.clone();
        let hand = if self.mpi {
            spmd_axpy(&mut y, &b)?.into_iter().fold(0.0, f64::max)
        } else {
            let (mut py, pb) = (y.get_ndarrays()?, b.get_ndarrays()?);
            best_of(|| {
                std::thread::scope(|s| {
                    for (p, q) in py.iter_mut().zip(&pb) {
                        s.spawn(move || axpy_direct(std::hint::black_box(p), q, 1.0));
                    }
                });
                Ok(())
            })?
        };
        let kernel = best_of(|| axpy_inplace(&mut y, &b, 1.0))?;
        let kernel_no_undo = best_of(|| axpy_inplace_no_undo(&mut y, &b, 1.0))?;
        self.row(&format!("`#[local]` in-place axpy, 2^{log2} f64 (undo copies)"), kernel, hand);
        self.row(&format!("`#[local(undo = false)]` in-place axpy, 2^{log2} f64"), kernel_no_undo, hand);
        let expected = (&(&a * &b) + &c).toarray()?;
        assert_eq!(fma(&a, &b, &c)?.toarray()?, expected);
        Ok(())
    }

    fn reductions(&self, side: usize) -> Result<()> {
        let d = Distribution::from_shape(&self.ctx, &[side, side])?;
        let a = self.ctx.fromarray(
            &ArrayD::from_shape_fn(vec![side, side], |i| ((i[0] * side + i[1]) % 1000) as f64 * 0.25),
            Some(&d),
        )?;
        let (base_sum, base_axis, base_var) = if self.mpi {
            let slowest = |v: Vec<f64>| v.into_iter().fold(0.0, f64::max);
            (slowest(spmd_sum(&a)?), slowest(spmd_sum_axis0(&a)?), slowest(spmd_var(&a)?))
        } else {
            let pieces = a.get_ndarrays()?;
            let sum = best_of(|| {
                std::hint::black_box(per_piece(&pieces, |p| p.sum()).iter().sum::<f64>());
                Ok(())
            })?;
            let axis = best_of(|| {
                std::hint::black_box(add_all(per_piece(&pieces, |p| p.sum_axis(Axis(0)).into_raw_vec_and_offset().0)));
                Ok(())
            })?;
            let var = best_of(|| {
                std::hint::black_box(combine_var(&per_piece(&pieces, |p| moments(p.as_slice().expect("contiguous")))));
                Ok(())
            })?;
            (sum, axis, var)
        };
        let label = |what: &str| format!("`{what}`, {side}x{side} f64");
        self.row(&label("sum()"), best_of(|| a.sum().map(drop))?, base_sum);
        self.row(&label("sum(axis=0)"), best_of(|| a.sum_axis(&[0]).map(drop))?, base_axis);
        self.row(&label("var()"), best_of(|| a.var(0.0).map(drop))?, base_var);
        if !self.mpi {
            // Along axes (threads only): against ndarray's var_axis/mean_axis
            // of each piece, without combining the pieces' results.
            let pieces = a.get_ndarrays()?;
            for ax in [0, 1] {
                let base = best_of(|| {
                    std::hint::black_box(per_piece(&pieces, |p| p.var_axis(Axis(ax), 0.0)));
                    Ok(())
                })?;
                self.row(&label(&format!("var(axis={ax})")), best_of(|| a.var_axis(&[ax], 0.0).map(drop))?, base);
            }
            let base = best_of(|| {
                std::hint::black_box(per_piece(&pieces, |p| p.mean_axis(Axis(1))));
                Ok(())
            })?;
            self.row(&label("mean(axis=1)"), best_of(|| a.mean_axis(&[1]).map(drop))?, base);
            // Short lanes: rows of 4.
            let rows = side * side / 4;
            let d = Distribution::from_shape(&self.ctx, &[rows, 4])?;
            let narrow = self.ctx.fromarray(
                &ArrayD::from_shape_fn(vec![rows, 4], |i| ((i[0] * 4 + i[1]) % 1000) as f64 * 0.25),
                Some(&d),
            )?;
            let pieces = narrow.get_ndarrays()?;
            let base = best_of(|| {
                std::hint::black_box(per_piece(&pieces, |p| p.var_axis(Axis(1), 0.0)));
                Ok(())
            })?;
            self.row(&format!("`var(axis=1)`, {rows}x4 f64"), best_of(|| narrow.var_axis(&[1], 0.0).map(drop))?, base);
        }
        Ok(())
    }

    /// Microseconds per operation of chains of tiny ops, and of a user kernel
    /// over a direct call.
    fn latency(&self, ops: usize) -> Result<()> {
        let d = Distribution::from_shape(&self.ctx, &[8])?;
        let y = self.ctx.ones::<f64>(&d)?;
        let mut x = self.ctx.zeros::<f64>(&d)?;
        let start = Instant::now();
        for _ in 0..ops {
            x = &x + &y;
        }
        let sum = x.sum()?;
        let new_arrays = start.elapsed().as_secs_f64() / ops as f64;
        assert_eq!(sum, (8 * ops) as f64);
        let start = Instant::now();
        for _ in 0..ops {
            x += &y;
        }
        let sum = x.sum()?;
        let in_place = start.elapsed().as_secs_f64() / ops as f64;
        assert_eq!(sum, (16 * ops) as f64);

        // The median of batches: on a shared machine a batch the hypervisor
        // took the cores from would move a mean of all calls by microseconds.
        let batches = 20;
        let per_batch = ops.div_ceil(batches);
        let mut times = Vec::with_capacity(batches);
        for _ in 0..batches {
            let start = Instant::now();
            for _ in 0..per_batch {
                axpy_inplace(&mut x, &y, 1.0)?;
            }
            times.push(start.elapsed().as_secs_f64() / per_batch as f64);
        }
        times.sort_by(f64::total_cmp);
        let kernel = times[batches / 2];
        let mut pieces = x.get_ndarrays()?;
        let ys = y.get_ndarrays()?;
        let start = Instant::now();
        for _ in 0..ops {
            for (p, q) in pieces.iter_mut().zip(&ys) {
                axpy_direct(std::hint::black_box(p), q, 1.0);
            }
        }
        let direct = start.elapsed().as_secs_f64() / ops as f64;
        assert_eq!(x.sum()?, (16 * ops + 8 * batches * per_batch) as f64);
        let backend = self.ctx.backend_name();
        let us = |s: f64| format!("{:.1} µs", s * 1e6);
        println!("| {backend} | chain of {ops} `x = &x + &y`, 8 f64 | {} per op | | |", us(new_arrays));
        println!("| {backend} | chain of {ops} `x += &y`, 8 f64 | {} per op | | |", us(in_place));
        println!(
            "| {backend} | `#[local]` kernel call, 8 f64 (median of {batches} batches) | {} per call | {} direct | overhead {} |",
            us(kernel),
            us(direct),
            us(kernel - direct)
        );
        Ok(())
    }

    /// Peak memory above what was resident before, over the bytes of the arrays.
    fn memory(&self, log2: u32) -> Result<()> {
        let n = 1usize << log2;
        let bytes = (n * 8) as f64;
        let measure = |what: &str, arrays: f64, f: &dyn Fn() -> Result<()>| -> Result<()> {
            self.ctx.sync()?;
            // Pooled buffers are resident already: new pieces taken from
            // them would not show.
            self.ctx.release_pooled_memory()?;
            let before = self.resident()?;
            self.reset_peak()?;
            f()?;
            self.ctx.sync()?;
            let peak = self.reset_peak()?;
            let backend = self.ctx.backend_name();
            println!(
                "| {backend} | peak memory, {what}, 2^{log2} f64 | {:.2}x the data | | |",
                peak.saturating_sub(before) as f64 / (arrays * bytes)
            );
            Ok(())
        };
        measure("`d *= b; d += c` on 3 arrays", 3.0, &|| {
            let (mut d, b, c) = self.inputs(n)?;
            d *= &b;
            d += &c;
            self.ctx.sync()
        })?;
        measure("fused `fma(a, b, c)`, 4 arrays", 4.0, &|| {
            let (a, b, c) = self.inputs(n)?;
            drop(fma(&a, &b, &c)?);
            Ok(())
        })?;
        measure("operators `a * b + c`, 4 arrays", 4.0, &|| {
            let (a, b, c) = self.inputs(n)?;
            let r = &(&a * &b) + &c;
            self.ctx.sync()?;
            drop(r);
            Ok(())
        })?;
        measure("operators `((a + b) * c - 1.5) * 0.5` (4 ops), 4 arrays", 4.0, &|| {
            let (a, b, c) = self.inputs(n)?;
            let r = ((&a + &b) * &c - 1.5) * 0.5;
            self.ctx.sync()?;
            drop(r);
            Ok(())
        })?;
        measure("operators `&a * &b + &c` (product reused), 4 arrays", 4.0, &|| {
            let (a, b, c) = self.inputs(n)?;
            let r = &a * &b + &c;
            self.ctx.sync()?;
            drop(r);
            Ok(())
        })
    }

    /// Resident bytes of the processes holding the data (engines under MPI).
    fn resident(&self) -> Result<u64> {
        Ok(if self.mpi { engine_rss(&self.ctx)?.iter().sum() } else { rss() })
    }

    /// The peak since the last reset, then resets it.
    fn reset_peak(&self) -> Result<u64> {
        Ok(if self.mpi { engine_peak_rss(&self.ctx, true)?.iter().sum() } else { peak_rss(true) })
    }
}

fn fmt_secs(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

fn main() -> Result<()> {
    let all = Context::new()?;
    let ctx = if all.num_targets() >= 2 { Context::with_targets(&[0, 1])? } else { all.clone() };
    let quick = std::env::var_os("PERF_QUICK").is_some();
    let bench = Bench { mpi: ctx.backend_name() == "mpi", ctx };
    eprintln!(
        "{} engines ({} backend){}",
        bench.ctx.num_targets(),
        bench.ctx.backend_name(),
        if quick { ", quick" } else { "" }
    );
    if quick {
        bench.elementwise(12)?;
        bench.reductions(64)?;
        bench.latency(100)?;
        bench.memory(12)?;
        return Ok(());
    }
    // PERF_ONLY=memory|elementwise|reductions|latency runs one group.
    let only = std::env::var("PERF_ONLY").ok();
    let wanted = |group: &str| only.as_deref().is_none_or(|o| o == group);
    if wanted("memory") {
        bench.memory(24)?;
    }
    if wanted("elementwise") {
        // In cache (per-element overhead), then twice and eight times the cache.
        bench.elementwise(18)?;
        bench.elementwise(24)?;
        bench.elementwise(26)?;
    }
    if wanted("reductions") {
        bench.reductions(4096)?;
    }
    if wanted("latency") {
        bench.latency(10_000)?;
    }
    Ok(())
}
