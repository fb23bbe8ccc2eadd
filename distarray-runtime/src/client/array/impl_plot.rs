//! DistArray: pictures of its distribution.

use std::path::Path;

use ndarray::ArrayD;

use super::DistArray;
use crate::core::element::Element;
use crate::core::error::Result;

/// # Distribution pictures
impl<T: Element> DistArray<T> {
    /// The engine that owns each element (see
    /// [`Distribution::get_dist_matrix`](crate::Distribution::get_dist_matrix)).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::with_targets(&[0, 1])?;
    /// let a = ctx.zeros::<f64>(&Distribution::builder(&ctx, &[4]).dist("c").build()?)?;
    /// assert_eq!(a.get_dist_matrix()?.into_raw_vec_and_offset().0, vec![0, 1, 0, 1]);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Distribution::get_dist_matrix`](crate::Distribution::get_dist_matrix).
    pub fn get_dist_matrix(&self) -> Result<ArrayD<usize>> {
        self.distribution().get_dist_matrix()
    }

    /// Writes the SVG picture of which engine owns each element of this 1-D or
    /// 2-D array (see [`Distribution::plot_distribution`](crate::Distribution::plot_distribution)).
    ///
    /// # Errors
    /// As [`Distribution::plot_distribution`](crate::Distribution::plot_distribution).
    pub fn plot_distribution(&self, path: impl AsRef<Path>) -> Result<()> {
        self.distribution().plot_distribution(path)
    }
}
