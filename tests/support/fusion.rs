//! Fusion checks shared by tests/fusion.rs (threads) and tests/mpi_ufuncs.rs
//! (under mpirun): a chain of operators is one pass per engine, with no whole
//! temporary, and gives what ndarray gives.

use distarray::context::EngineStats;
use distarray::prelude::*;
use ndarray::Array1;

/// More than a few blocks per engine, with a partial last one.
pub const N: usize = 50_001;

/// `after - before` of each engine's fused calls and passes.
pub fn fused(before: &[EngineStats], after: &[EngineStats]) -> Vec<(u64, u64)> {
    before.iter().zip(after).map(|(b, a)| (a.fused_calls - b.fused_calls, a.fused_passes - b.fused_passes)).collect()
}

pub fn values(n: usize, seed: u64) -> Array1<f64> {
    Array1::from_shape_fn(n, |i| {
        let x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(seed) >> 11;
        (x as f64 / (1u64 << 53) as f64) * 8.0 - 4.0
    })
}

/// `&a * &b + &c` and a chain of four operations, each one pass on every
/// engine of `ctx`, checked with the engines' counters (nothing else may use
/// the engines meanwhile) and against ndarray.
pub fn check_one_pass(ctx: &Context) -> Result<()> {
    let (a0, b0, c0) = (values(N, 1), values(N, 2), values(N, 3));
    let (a, b, c) = (ctx.fromarray(&a0, None)?, ctx.fromarray(&b0, None)?, ctx.fromarray(&c0, None)?);
    ctx.reset_engine_peaks()?;
    let before = ctx.engine_stats()?;
    let r = &a * &b + &c;
    let after = ctx.engine_stats()?;
    assert!(fused(&before, &after).iter().all(|&d| d == (2, 1)), "{before:?} -> {after:?}");
    for (b, a) in before.iter().zip(&after) {
        // Inputs, then the result: a third more, and not a whole temporary
        // (at most the blocks of one).
        let piece = b.held_bytes / 3;
        assert!(a.peak_bytes <= b.held_bytes + piece + 2 * 4096 * 8, "{b:?} -> {a:?}");
    }
    assert_eq!(r.toarray()?, (&a0 * &b0 + &c0).into_dyn(), "against ndarray, bit for bit");

    // Four ops, temporaries by reference and by value: one pass, the result
    // the only new piece.
    ctx.reset_engine_peaks()?;
    let before = ctx.engine_stats()?;
    let t = ((&a + &b) * &c - 1.5) / &a;
    let after = ctx.engine_stats()?;
    assert!(fused(&before, &after).iter().all(|&d| d == (4, 1)), "{before:?} -> {after:?}");
    for (b, a) in before.iter().zip(&after) {
        let piece = b.held_bytes / 4;
        assert!(a.peak_bytes <= b.held_bytes + piece + 2 * 4096 * 8, "{b:?} -> {a:?}");
    }
    assert_eq!(t.toarray()?, (((&a0 + &b0) * &c0 - 1.5) / &a0).into_dyn());
    Ok(())
}
