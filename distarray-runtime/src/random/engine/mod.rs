//! The engine side of sampling: the registered kernels that fill each
//! engine's piece from the element streams, by global row-major index
//! (`typed`), and those that permute 1-D arrays (`permutation`).

use serde::{Deserialize, Serialize};

pub(crate) mod element;
pub(crate) mod permutation;
mod philox;
pub(crate) mod sample;
pub(crate) mod stream;
pub(crate) mod typed;

/// What a sampling kernel needs: the stream and the array's row-major strides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Params<S> {
    pub seed: u64,
    pub call: u64,
    /// Row-major strides of the global shape, turning an index into `k`.
    pub strides: Vec<u64>,
    pub sampler: S,
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
