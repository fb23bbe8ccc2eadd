//! # Methods that change an array in place

use super::DistArray;
use crate::core::element::{as_bytes, Element};
use crate::core::error::Result;
use crate::protocol::Command;

impl<T: Element> DistArray<T> {
    /// Sets every element to `value`.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let mut a = ctx.zeros::<f32>(&Distribution::from_shape(&ctx, &[7])?)?;
    /// a.fill(2.5)?;
    /// assert_eq!(a.toarray()?.sum(), 17.5);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ContextClosed`, `KeyNotFound` after a cleanup, or a backend failure.
    pub fn fill(&mut self, value: T) -> Result<()> {
        let command = Command::Fill { key: self.key.clone(), dtype: T::DTYPE, value: as_bytes(&[value]).to_vec() };
        self.context().run_done(self.targets(), &command)
    }
}
