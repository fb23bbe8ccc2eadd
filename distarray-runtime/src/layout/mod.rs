//! Pure layout math, shared by the client and the engines: the 1-D maps of
//! the Distributed Array Protocol, dim data, process grids, how an array is
//! planned over engines, where each piece lies, and the runs of indices that
//! redistribution, slicing and plotting walk. No engine, message or context
//! here: only numbers.

mod dim_data;
mod grid;
mod halo;
mod maps;
mod pieces;
mod plan;
mod runs;
#[cfg(test)]
mod tests;

pub use dim_data::{DimDict, GlobalDimDict};
pub use grid::{
    coords_to_rank, make_grid_shape, mult_partitions, normalize_grid_shape, rank_to_coords, validate_grid_shape,
};
pub(crate) use halo::{buffer_indices, map_ghost_widths};
pub use halo::{ghost_widths, has_ghosts, owned_region};
pub use maps::{
    choose_map, map_from_global_dim_dict, map_from_sizes, BlockCyclicMap, BlockMap, Dist, Map, MapBase, NoDistMap,
    UnstructuredMap,
};
pub(crate) use pieces::{check_size, local_shape, piece, Layout};
pub(crate) use plan::{grid_size, plan};
pub(crate) use runs::{advance, Locator};
