//! Which engine owns each element, as an array and as an SVG picture (like
//! Python DistArray's plotting helpers), written by hand: no plotting crate.

use std::fmt::Write as _;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use super::Distribution;
use crate::core::alloc::Side;
use crate::core::error::{bail, err, Result};
use crate::layout::MapBase;

/// Side of one cell of the picture, in pixels.
const CELL: usize = 28;

impl Distribution {
    /// The engine (id, as in [`targets`](Self::targets)) that owns each
    /// element, as an array of the distribution's shape — computed from the
    /// maps on the client, without the engines.
    ///
    /// # Errors
    /// `InvalidShape` if the size of the array overflows, `OutOfMemory` if
    /// the client cannot hold it.
    pub fn get_dist_matrix(&self) -> Result<ArrayD<usize>> {
        if crate::layout::check_size(self.shape())? == 0 {
            // No owners to list (another axis may be huge).
            return ArrayD::from_shape_vec(IxDyn(self.shape()), Vec::new()).map_err(|e| err!(InvalidShape, "{e}"));
        }
        // Per axis, the grid coordinate of every index, times its rank stride.
        let grid = self.grid_shape();
        let mut stride = 1;
        let mut per_axis: Vec<Vec<usize>> = vec![Vec::new(); self.ndim()];
        for (k, map) in self.maps().iter().enumerate().rev() {
            let locator = crate::layout::Locator::new(map, &mut 0);
            per_axis[k] = Side::Client.collect(map.size(), (0..map.size()).map(|g| locator.locate(g).0 * stride))?;
            stride *= grid[k];
        }
        let targets = self.targets();
        let owners = ndarray::indices(IxDyn(self.shape())).into_iter().map(|idx| {
            let rank: usize = per_axis.iter().enumerate().map(|(k, a)| a[idx[k]]).sum();
            targets[rank]
        });
        Side::Client.array(self.shape(), owners)
    }

    /// Writes an SVG picture of [`get_dist_matrix`](Self::get_dist_matrix) for
    /// a 1-D or 2-D distribution: one square per element, coloured by the engine
    /// that owns it, with the engine's id written in it.
    ///
    /// # Errors
    /// `InvalidShape` for other numbers of axes, `Backend` if the file cannot be
    /// written.
    pub fn plot_distribution(&self, path: impl AsRef<Path>) -> Result<()> {
        let svg = self.distribution_svg()?;
        std::fs::write(path.as_ref(), svg).map_err(|e| err!(Backend, "cannot write {}: {e}", path.as_ref().display()))
    }

    /// The SVG text that [`plot_distribution`](Self::plot_distribution) writes.
    ///
    /// # Errors
    /// `InvalidShape` unless the distribution has 1 or 2 axes.
    pub fn distribution_svg(&self) -> Result<String> {
        let matrix = self.get_dist_matrix()?;
        let (rows, cols) = match *self.shape() {
            [n] => (1, n),
            [m, n] => (m, n),
            _ => bail!(InvalidShape, "a distribution picture needs 1 or 2 axes, not {}", self.ndim()),
        };
        let matrix = matrix.into_shape_with_order((rows, cols)).map_err(|e| err!(InvalidShape, "{e}"))?;
        let (margin, legend) = (CELL, 24);
        let width = cols * CELL + 2 * margin;
        let height = rows * CELL + 2 * margin + legend;
        let dist: String = self.dist().into_iter().collect();
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
        );
        let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{margin}" y="{}" font-size="14">shape {:?}, dist '{dist}', grid {:?}: engine of each element</text>"#,
            margin - 8,
            self.shape(),
            self.grid_shape()
        );
        for ((i, j), &engine) in matrix.indexed_iter() {
            let (x, y) = (margin + j * CELL, margin + i * CELL);
            let _ = writeln!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{}" stroke="white"/><text x="{}" y="{}" font-size="12" text-anchor="middle" fill="black">{engine}</text>"#,
                colour(engine),
                x + CELL / 2,
                y + CELL / 2 + 4
            );
        }
        let mut x = margin;
        let y = margin + rows * CELL + 10;
        for &engine in self.targets() {
            let _ = writeln!(
                svg,
                r#"<rect x="{x}" y="{y}" width="14" height="14" fill="{}"/><text x="{}" y="{}" font-size="12">engine {engine}</text>"#,
                colour(engine),
                x + 18,
                y + 12
            );
            x += 80;
        }
        svg.push_str("</svg>\n");
        Ok(svg)
    }
}

/// A distinct light colour per engine (golden-angle hues).
fn colour(engine: usize) -> String {
    let hue = (engine as f64 * 137.508) % 360.0;
    format!("hsl({hue:.0},65%,72%)")
}
