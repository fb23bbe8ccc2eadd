//! The engine side of sampling: the registered kernels that fill each
//! engine's piece from the element streams, by global row-major index
//! (`typed`), and those that permute 1-D arrays (`permutation`).

use serde::{Deserialize, Serialize};

use crate::core::element::Element;
use crate::core::error::Result;
use crate::engine::kernel::{output_from_runs, KernelInputs, KernelOutput};

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

/// This engine's piece of the array being built, element `k` (global
/// row-major, by `strides`) being value `k % N` of `group(k / N)`, or
/// `one(k)` (the same value, computed alone): the piece's runs of
/// consecutive elements (a block piece's rows) are filled a whole group at a
/// time, their ends and short runs (cyclic pieces) element by element.
fn output_by_groups<V: Element, const N: usize>(
    inputs: &mut KernelInputs<'_>,
    strides: &[u64],
    mut group: impl FnMut(u64) -> [V; N],
    mut one: impl FnMut(u64) -> V,
) -> Result<KernelOutput> {
    output_from_runs(inputs, |global, len, values| {
        let mut k = linear(global, strides);
        let end = k + len as u64;
        let n = N as u64;
        let aligned = k.next_multiple_of(n).min(end);
        values.extend((k..aligned).map(&mut one));
        k = aligned;
        while k + n <= end {
            values.extend_from_slice(&group(k / n));
            k += n;
        }
        values.extend((k..end).map(&mut one));
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
