//! Scalar parameters of user types (serde), attributes kept on the client
//! function, `mut` and raw-identifier parameters, a parameter named
//! `context`, kernels in modules.

use distarray::local;
use distarray::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub scale: f64,
    pub shift: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: usize,
    pub label: String,
}

/// Applies an affine map.
#[local]
#[inline]
#[allow(clippy::needless_pass_by_value)]
pub fn affine(a: &LocalArray<f64>, map: Affine) -> LocalArray<f64> {
    a.mapv(|x| map.scale * x + map.shift)
}

/// Several scalars of several types and a `mut` binding.
#[local]
fn stats(a: &LocalArray<f64>, mut label: String, r#type: u8, extra: Vec<usize>) -> Stats {
    label.push_str(&r#type.to_string());
    Stats { count: a.len() + extra.iter().sum::<usize>(), label }
}

/// A parameter named `context` in a kernel without arrays.
#[local]
fn echo(context: String, ctx: &EngineCtx) -> (String, usize) {
    (context, ctx.rank())
}

#[cfg(any())]
#[local]
fn never_compiled(a: &LocalArray<NotAType>) -> u8 {
    0
}

pub mod kernels {
    use distarray::prelude::*;

    /// A kernel in a module, used from outside.
    #[distarray::local]
    pub(crate) fn fill_with(a: &mut LocalArray<u32>, value: u32) {
        a.fill(value);
    }

    /// Returns `Option`, per engine.
    #[distarray::local]
    pub fn first(a: &LocalArray<u32>) -> Option<u32> {
        a.iter().next().copied()
    }
}

fn main() -> distarray::Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::from_shape(&ctx, &[12])?;
    let a = ctx.ones::<f64>(&d)?;
    let b = affine(&a, Affine { scale: 3.0, shift: -1.0 })?;
    assert!(b.toarray()?.iter().all(|&v| v == 2.0));

    let s = stats(&a, "n".to_string(), 7, vec![1, 1])?;
    assert_eq!(s.len(), 4);
    assert_eq!(s.iter().map(|s| s.count).sum::<usize>(), 12 + 8);
    assert!(s.iter().all(|s| s.label == "n7"));

    let e = echo(&ctx, "hi".to_string())?;
    assert_eq!(e, vec![("hi".to_string(), 0), ("hi".to_string(), 1), ("hi".to_string(), 2), ("hi".to_string(), 3)]);

    let mut u = ctx.zeros::<u32>(&d)?;
    kernels::fill_with(&mut u, 9)?;
    assert_eq!(kernels::first(&u)?, vec![Some(9); 4]);
    Ok(())
}
