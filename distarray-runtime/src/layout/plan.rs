//! How an array of a given shape is laid out over engines by DistArray's
//! rules: the grid, the maps, and which engines keep a piece.

use super::{coords_to_rank, make_grid_shape, map_from_sizes, normalize_grid_shape, BlockMap, Dist, Map, MapBase};
use crate::core::error::{bail, err, Result};

/// The maps and targets of `shape` distributed as `dist` (one per axis) over
/// `targets` (`given`: chosen by the caller rather than the context's), by
/// DistArray's rules; see [`DistributionBuilder::build`].
pub(crate) fn plan(
    shape: &[usize],
    dist: &[Dist],
    grid_shape: Option<&[usize]>,
    mut targets: Vec<usize>,
    given: bool,
) -> Result<(Vec<Map>, Vec<usize>)> {
    if given && targets.len() != 1 && dist.iter().all(|&d| d == Dist::NoDist) {
        bail!(
            InvalidTarget,
            "an array with no distributed axis lives on one engine, but {} targets {targets:?} were given",
            targets.len()
        );
    }
    let grid_shape = match grid_shape {
        Some(g) => normalize_grid_shape(g, dist, targets.len())?,
        None => make_grid_shape(shape, dist, targets.len())?,
    };
    // Both checked the product against the number of targets.
    targets.truncate(grid_shape.iter().product());
    let maps = shape
        .iter()
        .zip(dist)
        .zip(&grid_shape)
        .map(|((&size, &d), &g)| map_from_sizes(size, d, g))
        .collect::<Result<Vec<_>>>()?;
    if dist.iter().all(|&d| matches!(d, Dist::Block | Dist::NoDist)) {
        drop_empty_pieces(maps, &targets)
    } else {
        Ok((maps, targets))
    }
}

/// DistArray's "no empty local shapes" step for block and not-distributed
/// axes (`Distribution.__new__` slicing itself with `slice(None)` on every
/// axis, `distarray/globalapi/maps.py`): every block axis keeps only its
/// non-empty pieces, and the ranks whose coordinates all survive keep their
/// targets, in C order. With no element at all (where DistArray fails) the
/// array lives on the first target, one piece.
fn drop_empty_pieces(maps: Vec<Map>, targets: &[usize]) -> Result<(Vec<Map>, Vec<usize>)> {
    if maps.iter().any(|m| m.size() == 0) {
        let single = maps.iter().map(|m| map_from_sizes(m.size(), m.dist(), 1)).collect::<Result<Vec<_>>>()?;
        return Ok((single, targets[..1].to_vec()));
    }
    let old_grid: Vec<usize> = maps.iter().map(MapBase::grid_size).collect();
    // The surviving grid coordinates of each axis, and its new map.
    let mut kept: Vec<Vec<usize>> = Vec::with_capacity(maps.len());
    let mut new_maps = Vec::with_capacity(maps.len());
    for m in maps {
        let coords: Vec<usize> = (0..m.grid_size()).filter(|&c| m.local_size(c) > 0).collect();
        if coords.len() == m.grid_size() {
            new_maps.push(m);
        } else {
            let mut bounds = vec![0];
            for &c in &coords {
                bounds.push(bounds[bounds.len() - 1] + m.local_size(c));
            }
            new_maps.push(Map::Block(BlockMap::from_bounds(bounds)?));
        }
        kept.push(coords);
    }
    // The surviving ranks' coordinates in C order, as their targets.
    let mut ranks: Vec<Vec<usize>> = vec![Vec::new()];
    for coords in &kept {
        ranks =
            ranks.iter().flat_map(|prefix| coords.iter().map(move |&c| [prefix.as_slice(), &[c]].concat())).collect();
    }
    let targets = ranks.iter().map(|c| targets[coords_to_rank(c, &old_grid)]).collect();
    Ok((new_maps, targets))
}

/// The number of ranks on the maps' grid, checked for overflow.
pub(crate) fn grid_size(maps: &[Map]) -> Result<usize> {
    maps.iter()
        .try_fold(1usize, |acc, m| acc.checked_mul(m.grid_size()))
        .ok_or_else(|| err!(InvalidGridShape, "the grid size overflows"))
}
