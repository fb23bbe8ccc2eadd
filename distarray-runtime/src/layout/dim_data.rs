//! Dim dicts of the Distributed Array Protocol 0.10.0: one rank's view of one
//! axis ([`DimDict`]) and DistArray's global description of an axis
//! ([`GlobalDimDict`]).

use serde::{Deserialize, Serialize};

/// One rank's view of one axis: a Distributed Array Protocol 0.10.0 dim dict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DimDict {
    /// `'b'`: one contiguous piece `start..stop` per grid rank.
    Block {
        /// Global length of the axis.
        size: usize,
        /// Number of grid ranks along this axis.
        proc_grid_size: usize,
        /// This rank's position along this axis.
        proc_grid_rank: usize,
        /// First global index held (inclusive).
        start: usize,
        /// End of the global indices held (exclusive).
        stop: usize,
        /// Ghost elements before and after the piece; maps only accept `(0, 0)`.
        padding: (usize, usize),
        /// Whether the axis wraps around (metadata only).
        periodic: bool,
    },
    /// `'c'`: blocks of `block_size` dealt round-robin over the grid ranks.
    BlockCyclic {
        /// Global length of the axis.
        size: usize,
        /// Number of grid ranks along this axis.
        proc_grid_size: usize,
        /// This rank's position along this axis.
        proc_grid_rank: usize,
        /// First global index held: `proc_grid_rank * block_size`.
        start: usize,
        /// Length of each dealt block (>= 1).
        block_size: usize,
    },
    /// `'u'`: an explicit list of global indices per rank.
    Unstructured {
        /// Global length of the axis.
        size: usize,
        /// Number of grid ranks along this axis.
        proc_grid_size: usize,
        /// This rank's position along this axis.
        proc_grid_rank: usize,
        /// Global indices held, in local storage order.
        indices: Vec<usize>,
        /// Whether every global index lives on exactly one rank.
        one_to_one: bool,
    },
    /// DistArray's internal `'n'`: the whole axis on one rank
    /// (`proc_grid_size` 1, `proc_grid_rank` 0).
    NoDist {
        /// Global length of the axis.
        size: usize,
    },
}

impl DimDict {
    /// The protocol letter: `'b'`, `'c'`, `'u'` or `'n'`.
    pub fn dist_type(&self) -> char {
        match self {
            DimDict::Block { .. } => 'b',
            DimDict::BlockCyclic { .. } => 'c',
            DimDict::Unstructured { .. } => 'u',
            DimDict::NoDist { .. } => 'n',
        }
    }

    /// Global length of the axis.
    pub fn size(&self) -> usize {
        match *self {
            DimDict::Block { size, .. }
            | DimDict::BlockCyclic { size, .. }
            | DimDict::Unstructured { size, .. }
            | DimDict::NoDist { size } => size,
        }
    }

    /// Number of grid ranks along the axis (1 for `NoDist`).
    pub fn proc_grid_size(&self) -> usize {
        match *self {
            DimDict::Block { proc_grid_size, .. }
            | DimDict::BlockCyclic { proc_grid_size, .. }
            | DimDict::Unstructured { proc_grid_size, .. } => proc_grid_size,
            DimDict::NoDist { .. } => 1,
        }
    }

    /// This rank's position along the axis (0 for `NoDist`).
    pub fn proc_grid_rank(&self) -> usize {
        match *self {
            DimDict::Block { proc_grid_rank, .. }
            | DimDict::BlockCyclic { proc_grid_rank, .. }
            | DimDict::Unstructured { proc_grid_rank, .. } => proc_grid_rank,
            DimDict::NoDist { .. } => 0,
        }
    }
}

/// The global description of one axis (DistArray's "global dim dict").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GlobalDimDict {
    /// Block layout given by `grid_size + 1` ascending bounds, the first 0 and
    /// the last the axis size; rank `r` holds `bounds[r]..bounds[r + 1]`.
    Block {
        /// The piece bounds.
        bounds: Vec<usize>,
    },
    /// Block-cyclic layout.
    BlockCyclic {
        /// Global length of the axis.
        size: usize,
        /// Number of grid ranks along the axis.
        proc_grid_size: usize,
        /// Length of each dealt block (>= 1).
        block_size: usize,
    },
    /// The whole axis on one rank.
    NoDist {
        /// Global length of the axis.
        size: usize,
    },
    /// Explicit global indices per grid rank, in local storage order.
    Unstructured {
        /// Global length of the axis.
        size: usize,
        /// `indices[r]` are the global indices held by grid rank `r`.
        indices: Vec<Vec<usize>>,
    },
}
