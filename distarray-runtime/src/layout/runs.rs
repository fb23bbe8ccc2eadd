//! Runs of global indices along one axis: where an index lives and how far
//! its owner holds consecutive indices, and the C-order odometer. Shared by
//! redistribution, slicing and plotting.

use super::{Map, MapBase};

/// Where a global index of one axis lives: its grid coordinate and its
/// position in that rank's piece.
pub(crate) enum Locator<'a> {
    Block(&'a [usize]),
    Cyclic {
        block: usize,
        grid: usize,
    },
    NoDist,
    /// Unstructured: a lookup table by global index.
    Table(Vec<(usize, usize)>),
}

impl<'a> Locator<'a> {
    /// The locator of `map`; adds what it allocates to `plan`.
    pub(crate) fn new(map: &'a Map, plan: &mut usize) -> Self {
        match map {
            Map::Block(m) => Locator::Block(m.bounds()),
            Map::BlockCyclic(m) => Locator::Cyclic { block: m.block_size(), grid: m.grid_size() },
            Map::NoDist(_) => Locator::NoDist,
            Map::Unstructured(m) => {
                let mut table = vec![(0, 0); m.size()];
                for (c, list) in m.indices().iter().enumerate() {
                    for (p, &g) in list.iter().enumerate() {
                        table[g] = (c, p);
                    }
                }
                *plan += table.capacity() * std::mem::size_of::<(usize, usize)>();
                Locator::Table(table)
            }
        }
    }

    /// The grid coordinate and local position of global index `g` (< size).
    pub(crate) fn locate(&self, g: usize) -> (usize, usize) {
        match self {
            Locator::Block(bounds) => {
                let c = bounds.partition_point(|&b| b <= g).saturating_sub(1);
                (c, g - bounds[c])
            }
            Locator::Cyclic { block, grid } => {
                let b = g / block;
                (b % grid, (b / grid) * block + g % block)
            }
            Locator::NoDist => (0, g),
            Locator::Table(t) => t[g],
        }
    }

    /// How many consecutive global indices from `g` (located at coordinate
    /// `c`) that coordinate owns with consecutive local positions (at least 1).
    pub(crate) fn run_len(&self, g: usize, c: usize) -> usize {
        match self {
            Locator::Block(bounds) => bounds[c + 1] - g,
            Locator::Cyclic { block, .. } => block - g % block,
            Locator::NoDist => usize::MAX,
            Locator::Table(_) => 1,
        }
    }
}

/// Advances the C-order odometer `idx` within `shape`; false after the last.
pub(crate) fn advance(idx: &mut [usize], shape: &[usize]) -> bool {
    for k in (0..idx.len()).rev() {
        idx[k] += 1;
        if idx[k] < shape[k] {
            return true;
        }
        idx[k] = 0;
    }
    false
}
