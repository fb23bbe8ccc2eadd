//! The bottom layer: errors, the element types, and checked allocation.
//! Everything else builds on these; they import nothing of the crate.

pub(crate) mod alloc;
pub(crate) mod element;
pub(crate) mod error;
