//! Soak test, opt-in: 10^6 small operations (create, ufunc, in-place ufunc,
//! reduction, get, set, drop) on tiny arrays of one context, each result
//! checked against ndarray, every live array compared in full every 10^4
//! operations, and at the end no key left on the engines and the resident
//! set no larger than a generous bound over its size after the first 10^5.
//! Prints the time and the peak resident set (`VmHWM`).
//!
//! It returns at once unless `DISTARRAY_SOAK=1`; run it in release:
//!
//! ```sh
//! DISTARRAY_SOAK=1 cargo test --release --test soak -- --nocapture
//! ```
//!
//! `DISTARRAY_SOAK_OPS` sets another number of operations.

#[path = "support/memory.rs"]
mod memory;

use std::time::Instant;

use distarray::cleanup::get_local_keys;
use distarray::functions::{add, multiply_inplace};
use distarray::prelude::*;
use ndarray::{ArrayD, Dimension, IxDyn};

/// xorshift64*: the operation mix, reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A live array and what it must hold.
struct Entry {
    array: DistArray<i64>,
    oracle: ArrayD<i64>,
}

const SHAPES: [&[usize]; 4] = [&[5], &[3, 4], &[2, 3, 2], &[1]];
const DISTS: [&str; 3] = ["b", "c", "u"];
/// Live arrays at most.
const POOL: usize = 16;
/// Growth of the resident set allowed after the first 10^5 operations.
const RSS_BOUND_KIB: u64 = 64 * 1024;

fn make(ctx: &Context, rng: &mut Rng) -> Result<Entry> {
    let shape = SHAPES[rng.below(SHAPES.len())];
    let letters = DISTS[rng.below(DISTS.len())].repeat(shape.len());
    let d = Distribution::builder(ctx, shape).dist(&letters).build()?;
    let base = rng.below(1000) as i64 - 500;
    let oracle =
        ArrayD::from_shape_fn(IxDyn(shape), |i| base + i.as_array_view().iter().fold(0, |acc, &k| acc * 7 + k as i64));
    Ok(Entry { array: ctx.fromarray(&oracle, Some(&d))?, oracle })
}

fn random_index(rng: &mut Rng, shape: &[usize]) -> (Vec<isize>, Vec<usize>) {
    let idx: Vec<usize> = shape.iter().map(|&n| rng.below(n)).collect();
    // Half the time from the end, as numpy's negative indices.
    let signed = idx
        .iter()
        .zip(shape)
        .map(|(&i, &n)| if rng.below(2) == 0 { i as isize } else { i as isize - n as isize })
        .collect();
    (signed, idx)
}

#[test]
fn a_million_small_operations() -> Result<()> {
    if std::env::var("DISTARRAY_SOAK").as_deref() != Ok("1") {
        eprintln!("soak test skipped: set DISTARRAY_SOAK=1 to run it");
        return Ok(());
    }
    let ops: usize = std::env::var("DISTARRAY_SOAK_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let ctx = Context::new()?;
    let mut rng = Rng(0x5eed_50a4_0f0f);
    let mut pool: Vec<Entry> = Vec::new();
    let started = Instant::now();
    let mut rss_after_warmup = None;
    for op in 0..ops {
        if pool.is_empty() {
            pool.push(make(&ctx, &mut rng)?);
            continue;
        }
        let k = rng.below(pool.len());
        match rng.below(8) {
            0 if pool.len() < POOL => pool.push(make(&ctx, &mut rng)?),
            0 | 1 => drop(pool.swap_remove(k)),
            2 => {
                // A ufunc of two arrays of one shape (redistributed if need be).
                let partner =
                    (0..pool.len()).find(|&j| j != k && pool[j].oracle.shape() == pool[k].oracle.shape()).unwrap_or(k);
                let sum = add(&pool[k].array, &pool[partner].array)?;
                let oracle = &pool[k].oracle + &pool[partner].oracle;
                if pool.len() < POOL {
                    pool.push(Entry { array: sum, oracle });
                } else {
                    pool[k] = Entry { array: sum, oracle };
                }
            }
            3 => {
                let factor = rng.below(5) as i64 - 2;
                multiply_inplace(&mut pool[k].array, factor)?;
                pool[k].oracle.mapv_inplace(|x| x.wrapping_mul(factor));
            }
            4 => assert_eq!(pool[k].array.sum()?, pool[k].oracle.sum(), "op {op}: sum"),
            5 => assert_eq!(
                pool[k].array.max()?,
                pool[k].oracle.iter().copied().max().unwrap_or_default(),
                "op {op}: max"
            ),
            6 => {
                let (signed, idx) = random_index(&mut rng, pool[k].oracle.shape());
                assert_eq!(pool[k].array.get(&signed)?, pool[k].oracle[IxDyn(&idx)], "op {op}: get {signed:?}");
            }
            _ => {
                let (signed, idx) = random_index(&mut rng, pool[k].oracle.shape());
                let value = rng.below(100) as i64;
                pool[k].array.set(&signed, value)?;
                pool[k].oracle[IxDyn(&idx)] = value;
            }
        }
        if op % 10_000 == 0 {
            for (i, e) in pool.iter().enumerate() {
                assert_eq!(e.array.toarray()?, e.oracle, "op {op}: live array {i}");
            }
        }
        if op == 100_000.min(ops / 10) {
            rss_after_warmup = memory::rss_kib();
        }
        if op % 100_000 == 0 && op > 0 {
            eprintln!("soak: {op} operations in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    drop(pool);
    let elapsed = started.elapsed();
    let left = get_local_keys(&ctx, ctx.key_prefix())?;
    assert!(left.is_empty(), "{} keys left on the engines", left.len());
    let (rss, hwm) = (memory::rss_kib(), memory::peak_rss_kib());
    if let (Some(before), Some(after)) = (rss_after_warmup, rss) {
        assert!(after.saturating_sub(before) < RSS_BOUND_KIB, "VmRSS grew from {before} KiB to {after} KiB");
    }
    println!(
        "soak: {ops} operations on {} engines in {:.1} s ({:.1} us each); VmRSS {} KiB, VmHWM {} KiB",
        ctx.num_targets(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / ops as f64,
        rss.map_or("?".into(), |v| v.to_string()),
        hwm.map_or("?".into(), |v| v.to_string()),
    );
    Ok(())
}
