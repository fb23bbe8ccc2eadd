//! The engine side of sampling: two registered kernels that fill each
//! engine's piece from the element streams, by global row-major index.

use serde::{Deserialize, Serialize};

use crate::core::error::Result;
use crate::engine::kernel::{output_from_global_index, register_untyped, KernelInputs, KernelOutput, UntypedKernel};
use stream::Stream;

pub(crate) mod element;
mod philox;
pub(crate) mod sample;
pub(crate) mod stream;

/// The `f64` sampler.
pub(crate) const REAL: UntypedKernel = UntypedKernel::new("distarray::random::real");
/// The `i64` sampler.
pub(crate) const INTEGER: UntypedKernel = UntypedKernel::new("distarray::random::integer");

register_untyped!(REAL, run_real);
register_untyped!(INTEGER, run_integer);

/// What a sampling kernel needs: the stream and the array's row-major strides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Params<S> {
    pub seed: u64,
    pub call: u64,
    /// Row-major strides of the global shape, turning an index into `k`.
    pub strides: Vec<u64>,
    pub sampler: S,
}

/// The `f64` samplers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum Real {
    /// Uniform on `[0, 1)`.
    Uniform,
    /// `loc + scale * z` for a standard normal `z`.
    Normal { loc: f64, scale: f64 },
}

/// The `i64` sampler: uniform on `[low, low + range)`, wrapping in `i64`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Integer {
    pub low: i64,
    pub range: u64,
}

/// Row-major strides of `shape`.
pub(super) fn strides(shape: &[usize]) -> Vec<u64> {
    let mut strides = vec![1u64; shape.len()];
    for axis in (1..shape.len()).rev() {
        strides[axis - 1] = strides[axis] * shape[axis] as u64;
    }
    strides
}

fn linear(index: &[usize], strides: &[u64]) -> u64 {
    index.iter().zip(strides).map(|(&i, &s)| i as u64 * s).sum()
}

/// The values of a group of `N` consecutive elements (`N` a power of two),
/// kept for the group's next elements (adjacent in a contiguous piece).
struct GroupCache<V, const N: usize> {
    group: u64,
    values: [V; N],
}

impl<V: Copy + Default, const N: usize> GroupCache<V, N> {
    fn new() -> Self {
        // No group has index u64::MAX (element counts fit in isize).
        GroupCache { group: u64::MAX, values: [V::default(); N] }
    }

    /// Element `k`'s value, from `compute(k / N)` when its group changed.
    fn get(&mut self, k: u64, compute: impl FnOnce(u64) -> [V; N]) -> V {
        let group = k / N as u64;
        if self.group != group {
            self.values = compute(group);
            self.group = group;
        }
        self.values[(k % N as u64) as usize]
    }
}

fn run_real(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<Real> = inputs.split().0.decode()?;
    let stream = Stream::new(params.seed, params.call);
    match params.sampler {
        // Blocks in fours for speed; normals in pairs, which cyclic pieces
        // (no two neighbours on one engine) compute no more often than needed.
        Real::Uniform => {
            let mut cache = GroupCache::<f64, 8>::new();
            output_from_global_index(inputs, |index| cache.get(linear(index, &params.strides), |q| stream.uniform8(q)))
        }
        Real::Normal { loc, scale } => {
            let mut cache = GroupCache::<f64, 2>::new();
            output_from_global_index(inputs, |index| {
                loc + scale * cache.get(linear(index, &params.strides), |j| stream.normal_pair(j))
            })
        }
    }
}

fn run_integer(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<Integer> = inputs.split().0.decode()?;
    let stream = Stream::new(params.seed, params.call);
    let Integer { low, range } = params.sampler;
    let mut cache = GroupCache::<u64, 8>::new();
    output_from_global_index(inputs, |index| {
        let k = linear(index, &params.strides);
        let first = cache.get(k, |q| stream.first_words8(q));
        stream.integer(k, first, low, range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_strides() {
        assert_eq!(strides(&[]), Vec::<u64>::new());
        assert_eq!(strides(&[7]), vec![1]);
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(linear(&[1, 2, 3], &strides(&[2, 3, 4])), 23);
    }
}
