//! Ghost cells: where a piece of a block axis with a halo keeps the copies of
//! its neighbours' cells (the protocol's communication padding), and which
//! global indices its buffer holds.

use std::ops::Range;

use super::{DimDict, Map, MapBase};

/// The ghost cells a piece stores before and after its own cells along one
/// axis: the halo width on each side that has a neighbour (every side when
/// the axis is periodic), 0 on the outer side of an edge piece, whose own
/// first or last cells are the boundary.
pub fn ghost_widths(d: &DimDict) -> (usize, usize) {
    match *d {
        DimDict::Block { proc_grid_size, proc_grid_rank, padding, periodic, .. } => (
            if proc_grid_rank > 0 || periodic { padding.0 } else { 0 },
            if proc_grid_rank + 1 < proc_grid_size || periodic { padding.1 } else { 0 },
        ),
        _ => (0, 0),
    }
}

/// Whether the piece of these dim data stores any ghost cell.
pub fn has_ghosts(dim_data: &[DimDict]) -> bool {
    dim_data.iter().any(|d| ghost_widths(d) != (0, 0))
}

/// Where the piece's own cells lie in its buffer, per axis: after the lower
/// ghost cells.
pub fn owned_region(dim_data: &[DimDict]) -> Vec<Range<usize>> {
    dim_data
        .iter()
        .map(|d| {
            let (lower, _) = ghost_widths(d);
            let own = match *d {
                DimDict::Block { start, stop, .. } => stop.saturating_sub(start),
                _ => super::local_shape(std::slice::from_ref(d))[0],
            };
            lower..lower + own
        })
        .collect()
}

/// The ghost widths of grid rank `coord`'s piece of `map`.
pub(crate) fn map_ghost_widths(map: &Map, coord: usize) -> (usize, usize) {
    match map {
        Map::Block(b) if b.halo() > 0 => ghost_widths(&map.dimdict(coord)),
        _ => (0, 0),
    }
}

/// The global indices that grid rank `coord`'s buffer holds along `map`, in
/// buffer order: the lower ghost cells (wrapped around on a periodic axis),
/// the piece's own, the upper ghost cells.
pub(crate) fn buffer_indices(map: &Map, coord: usize) -> Vec<usize> {
    let own = map.global_indices(coord);
    let (lower, upper) = map_ghost_widths(map, coord);
    if lower == 0 && upper == 0 {
        return own;
    }
    let size = map.size();
    let (first, end) = (own.first().copied().unwrap_or(0), own.last().map_or(0, |&l| l + 1));
    let before = (0..lower).map(|k| (first + size - lower + k) % size);
    let after = (0..upper).map(|k| (end + k) % size);
    before.chain(own.iter().copied()).chain(after).collect()
}
