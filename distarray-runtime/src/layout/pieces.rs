//! Where the pieces of one array are: the layout that travels to the engines,
//! the local shape that dim data describe, the global indices a rank holds,
//! and the size checks of a shape.

use serde::{Deserialize, Serialize};

use super::{rank_to_coords, DimDict, Map, MapBase};
use crate::core::alloc::Side;
use crate::core::error::{err, Result};

/// The layout of one distributed array as every engine needs it: the axis maps
/// and the engines that hold the pieces, in rank order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Layout {
    pub maps: Vec<Map>,
    pub targets: Vec<usize>,
}

impl Layout {
    /// Checks what engines rely on: one target per cell of the process grid.
    /// The client only builds such layouts; a message that breaks this is
    /// rejected rather than trusted.
    pub(crate) fn check(&self) -> Result<()> {
        let cells = self.maps.iter().try_fold(1usize, |n, m| n.checked_mul(m.grid_size()));
        if cells != Some(self.targets.len()) {
            return Err(err!(
                Protocol,
                "a layout of {} targets for a process grid of {cells:?} cells",
                self.targets.len()
            ));
        }
        Ok(())
    }
}

/// The local shape that a rank's dim data describes: its buffer, ghost cells
/// included.
pub(crate) fn local_shape(dim_data: &[DimDict]) -> Vec<usize> {
    dim_data
        .iter()
        .map(|d| match d {
            DimDict::Block { start, stop, .. } => {
                let (lower, upper) = super::halo::ghost_widths(d);
                stop.saturating_sub(*start) + lower + upper
            }
            DimDict::BlockCyclic { size, proc_grid_size, proc_grid_rank, block_size, .. } => {
                super::BlockCyclicMap::new(*size, *proc_grid_size, *block_size)
                    .map(|m| MapBase::local_size(&m, *proc_grid_rank))
                    .unwrap_or(0)
            }
            DimDict::Unstructured { indices, .. } => indices.len(),
            DimDict::NoDist { size } => *size,
        })
        .collect()
}

/// Checks that `shape` is one ndarray can hold: the product of its non-zero
/// axis lengths must fit in `isize`. Returns the element count.
pub(crate) fn check_size(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .filter(|&&n| n != 0)
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| err!(InvalidShape, "shape {shape:?} has more elements than fit in memory"))?;
    Ok(shape.iter().product())
}

/// One engine's piece of an array laid out by `layout`.
pub(crate) struct Piece {
    /// The piece's dim data.
    pub dim_data: Vec<DimDict>,
    /// Its local shape.
    pub shape: Vec<usize>,
    /// The global indices it holds, per axis, in local order.
    pub indices: Vec<Vec<usize>>,
    /// The global shape.
    pub global_shape: Vec<usize>,
}

/// The piece of grid rank `rank` of `layout`; its index lists are checked
/// allocations (`Err(OutOfMemory)` for a piece too big for the engine).
pub(crate) fn piece(layout: &Layout, rank: usize) -> Result<Piece> {
    let grid_shape: Vec<usize> = layout.maps.iter().map(MapBase::grid_size).collect();
    let coords = rank_to_coords(rank, &grid_shape);
    let dim_data = layout.maps.iter().zip(&coords).map(|(m, &c)| m.dimdict(c)).collect();
    let shape: Vec<usize> = layout.maps.iter().zip(&coords).map(|(m, &c)| m.local_size(c)).collect();
    let indices = layout
        .maps
        .iter()
        .zip(&coords)
        .map(|(m, &c)| if shape.contains(&0) { Ok(Vec::new()) } else { Side::Engine.global_indices(m, c) })
        .collect::<Result<_>>()?;
    let global_shape = layout.maps.iter().map(MapBase::size).collect();
    Ok(Piece { dim_data, shape, indices, global_shape })
}

impl Side {
    /// The global indices that grid rank `coord` of `map` holds, in local
    /// order (a checked `map.global_indices(coord)`).
    pub(crate) fn global_indices(self, map: &Map, coord: usize) -> Result<Vec<usize>> {
        let n = map.local_size(coord);
        let mut out = self.vec(n)?;
        match (map.contiguous_range(coord), map) {
            (Some(range), _) => out.extend(range),
            (None, Map::BlockCyclic(m)) => {
                // Blocks `coord`, `coord + grid`, ... of `block_size` indices.
                let (size, step, width) = (m.size(), m.grid_size(), m.block_size());
                let starts = (coord..).step_by(step).map_while(|g| g.checked_mul(width)).take_while(|&s| s < size);
                out.extend(starts.flat_map(|s| s..s.saturating_add(width).min(size)));
            }
            // Unstructured maps already hold their lists (as large as this copy).
            (None, _) => out.extend(map.global_indices(coord)),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;
    use crate::layout::{BlockCyclicMap, BlockMap, UnstructuredMap};

    #[test]
    fn global_indices_match_the_maps() {
        let maps = [
            Map::Block(BlockMap::new(10, 3).unwrap()),
            Map::BlockCyclic(BlockCyclicMap::new(11, 3, 2).unwrap()),
            Map::BlockCyclic(BlockCyclicMap::new(7, 2, 1).unwrap()),
            Map::Unstructured(UnstructuredMap::new(5, 2, Some(vec![vec![4, 0], vec![1, 2, 3]])).unwrap()),
        ];
        for map in &maps {
            for c in 0..map.grid_size() {
                assert_eq!(Side::Engine.global_indices(map, c).unwrap(), map.global_indices(c), "{map:?} rank {c}");
            }
        }
        let huge = Map::BlockCyclic(BlockCyclicMap::new(1 << 52, 2, 1).unwrap());
        assert_eq!(Side::Engine.global_indices(&huge, 1).unwrap_err().kind(), ErrorKind::OutOfMemory);
    }
}
