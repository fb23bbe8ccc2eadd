//! Attribute macros of distarray: `#[local]` and `#[vectorize]` (to come).
#![deny(missing_docs)]
