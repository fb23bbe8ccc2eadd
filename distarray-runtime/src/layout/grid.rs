//! Process grid shapes: choosing a balanced one, checking a user's, and
//! converting between ranks and grid coordinates.

use super::maps::Dist;
use crate::core::error::{bail, Result};

/// The grid shape DistArray's `make_grid_shape` picks for `nprocs` processes
/// (`distarray/metadata_utils.py`, `make_grid_shape`):
///
/// - no distributed (non-'n') axis: every axis 1, whatever `nprocs`;
/// - one distributed axis: `min(nprocs, size)` on it, so no rank is left
///   without an element (a zero-length axis gets 1; DistArray refuses it);
/// - `nprocs == 1`: every axis 1;
/// - otherwise, among all factorisations of `nprocs` over the distributed
///   axes, the one whose pairwise ratios (`shape[i] / shape[j]`, `i < j`) are
///   closest in L2 norm to the array's own (the first such in
///   [`mult_partitions`] order on a tie), factors mirror-sorted so the largest
///   factor goes to the longest axis (equal axes: the later axis gets the
///   larger factor); a zero-length axis counts as length 1 in the ratios.
///   Where that puts more processes on an axis than it has elements, DistArray
///   raises (its postcondition `gs <= s`); here the factor is cut to the axis
///   length instead (a zero-length axis gets 1), so the grid may use fewer than
///   `nprocs` processes, as the one-axis rule does.
///
/// 'n' axes always get 1. The product of the result is at most `nprocs`;
/// callers use the first that many engines.
///
/// Err(InvalidShape) when `shape` and `dist` differ in length;
/// Err(InvalidGridShape) when `nprocs` is 0.
pub fn make_grid_shape(shape: &[usize], dist: &[Dist], nprocs: usize) -> Result<Vec<usize>> {
    if shape.len() != dist.len() {
        bail!(InvalidShape, "shape {shape:?} has {} axes but {} distributions were given", shape.len(), dist.len());
    }
    if nprocs == 0 {
        bail!(InvalidGridShape, "cannot make a grid for 0 processes");
    }
    let dist_axes: Vec<usize> = (0..dist.len()).filter(|&i| dist[i] != Dist::NoDist).collect();
    let mut grid = vec![1; shape.len()];
    match dist_axes.len() {
        0 => {}
        1 => grid[dist_axes[0]] = nprocs.min(shape[dist_axes[0]].max(1)),
        _ if nprocs == 1 => {}
        n => {
            // Extents as f64 only for the ratios; 0 counts as 1 to avoid dividing by zero.
            let reduced: Vec<f64> = dist_axes.iter().map(|&i| shape[i].max(1) as f64).collect();
            let extents: Vec<usize> = dist_axes.iter().map(|&i| shape[i]).collect();
            let mut best: Option<(f64, Vec<usize>)> = None;
            for factors in mult_partitions(nprocs, n) {
                let f = mirror_sort(&factors, &extents);
                let fl: Vec<f64> = f.iter().map(|&x| x as f64).collect();
                let dist2 = ratio_distance2(&reduced, &fl);
                // Strictly closer only, so the first of equals wins (as numpy's argmin).
                let better = match &best {
                    None => true,
                    Some((d, _)) => dist2 < *d,
                };
                if better {
                    best = Some((dist2, f));
                }
            }
            let Some((_, f)) = best else {
                bail!(InvalidGridShape, "cannot factor {nprocs} processes over {n} axes");
            };
            for (&axis, &g) in dist_axes.iter().zip(&f) {
                grid[axis] = g.min(shape[axis].max(1));
            }
        }
    }
    Ok(grid)
}

/// Squared L2 distance between the pairwise ratio vectors of `a` and `b`.
fn ratio_distance2(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let d = a[i] / a[j] - b[i] / b[j];
            sum += d * d;
        }
    }
    sum
}

/// `seq` sorted into the order of `reference`: the k-th smallest of `seq` goes
/// where the k-th smallest of `reference` is (stable, so ties keep axis order).
fn mirror_sort(seq: &[usize], reference: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..reference.len()).collect();
    order.sort_by_key(|&i| reference[i]);
    let mut sorted = seq.to_vec();
    sorted.sort_unstable();
    let mut out = vec![1; reference.len()];
    for (&pos, &v) in order.iter().zip(&sorted) {
        out[pos] = v;
    }
    out
}

/// Checks a grid shape for at most `nprocs` processes: one entry per axis,
/// every entry >= 1, 'n' axes 1, product (checked multiply) at most `nprocs`
/// (the distribution then uses the first that many engines, as DistArray's
/// `normalize_grid_shape` allows). Err(InvalidGridShape) naming what is wrong.
pub fn validate_grid_shape(grid_shape: &[usize], dist: &[Dist], nprocs: usize) -> Result<()> {
    if grid_shape.len() != dist.len() {
        bail!(
            InvalidGridShape,
            "grid shape {grid_shape:?} has {} entries but the array has {} axes",
            grid_shape.len(),
            dist.len()
        );
    }
    let mut product = 1usize;
    for (axis, (&g, &d)) in grid_shape.iter().zip(dist).enumerate() {
        if g == 0 {
            bail!(InvalidGridShape, "grid shape {grid_shape:?} has 0 processes on axis {axis}");
        }
        if d == Dist::NoDist && g != 1 {
            bail!(
                InvalidGridShape,
                "grid shape {grid_shape:?} puts {g} processes on axis {axis}, which is not distributed ('n') and needs 1"
            );
        }
        product = match product.checked_mul(g) {
            Some(p) => p,
            None => bail!(InvalidGridShape, "the product of grid shape {grid_shape:?} overflows"),
        };
    }
    if product > nprocs {
        bail!(InvalidGridShape, "grid shape {grid_shape:?} has {product} processes, but there are {nprocs}");
    }
    Ok(())
}

/// A user's grid shape as DistArray's `normalize_grid_shape` takes it
/// (`distarray/metadata_utils.py`): fewer entries than axes are padded with 1s
/// at the end, then [`validate_grid_shape`] checks it (so its product may be
/// below `nprocs`). Err(InvalidGridShape) for more entries than axes and for
/// what [`validate_grid_shape`] refuses.
pub fn normalize_grid_shape(grid_shape: &[usize], dist: &[Dist], nprocs: usize) -> Result<Vec<usize>> {
    let mut grid = grid_shape.to_vec();
    if grid.len() < dist.len() {
        grid.resize(dist.len(), 1);
    }
    match validate_grid_shape(&grid, dist, nprocs) {
        Ok(()) => Ok(grid),
        Err(e) if grid_shape.len() < dist.len() => {
            Err(e.context(format_args!("grid shape {grid_shape:?} padded with 1s")))
        }
        Err(e) => Err(e),
    }
}

/// All multisets of `n_factors` factors (>= 1) whose product is n, each sorted
/// ascending, in lexicographic order. `n == 0` has none; `n_factors == 0` has
/// the empty one when `n == 1`.
pub fn mult_partitions(n: usize, n_factors: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    // Factors >= 2 number at most log2(n), so recursing on those keeps the
    // depth small whatever `n_factors` is; the rest are padded with 1s.
    let mut nontrivial = Vec::new();
    if n == 1 {
        nontrivial.push(Vec::new());
    } else {
        collect_factors(n, 2, n_factors, &mut Vec::new(), &mut nontrivial);
    }
    for f in nontrivial {
        let mut v = vec![1; n_factors - f.len()];
        v.extend(f);
        out.push(v);
    }
    out.sort();
    out
}

/// Pushes to `out` every list `prefix ++ f` where `f` is an ascending list of at
/// most `room` factors, each >= `min` (>= 2), whose product is `n` (>= 2).
fn collect_factors(n: usize, min: usize, room: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if room == 0 {
        return;
    }
    let mut d = min;
    // d * d <= n keeps the cofactor n / d >= d, so lists stay ascending.
    while d.checked_mul(d).is_some_and(|dd| dd <= n) {
        if n.is_multiple_of(d) {
            prefix.push(d);
            collect_factors(n / d, d, room - 1, prefix, out);
            prefix.pop();
        }
        d += 1;
    }
    if n >= min {
        prefix.push(n);
        out.push(prefix.clone());
        prefix.pop();
    }
}

/// Grid coordinates of `rank` in C (row-major) order: the last axis varies
/// fastest. A rank past the grid puts the excess on the first coordinate, so
/// [`coords_to_rank`] still inverts it; a 0 extent gives coordinate 0.
pub fn rank_to_coords(rank: usize, grid_shape: &[usize]) -> Vec<usize> {
    let mut coords = vec![0; grid_shape.len()];
    let mut rest = rank;
    for (i, &g) in grid_shape.iter().enumerate().rev() {
        if i == 0 {
            coords[0] = rest;
        } else if g != 0 {
            coords[i] = rest % g;
            rest /= g;
        }
    }
    coords
}

/// The rank at grid coordinates `coords` in C (row-major) order; the inverse of
/// [`rank_to_coords`]. Coordinates are expected to be within `grid_shape` (a
/// missing coordinate counts as 0); the result saturates instead of overflowing.
pub fn coords_to_rank(coords: &[usize], grid_shape: &[usize]) -> usize {
    let mut rank = 0usize;
    for (i, &g) in grid_shape.iter().enumerate() {
        let c = coords.get(i).copied().unwrap_or(0);
        rank = if i == 0 { c } else { rank.saturating_mul(g).saturating_add(c) };
    }
    rank
}
