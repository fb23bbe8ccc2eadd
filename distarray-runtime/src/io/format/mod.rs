//! The file formats: `.npy` (numpy), `.dnpy` (Python DistArray) and the
//! Python literals of their headers. Pure parsing and encoding: used by the
//! engines' file kernels and by the client alike.

use crate::core::error::{err, Error};

pub(crate) mod dnpy;
pub(crate) mod npy;
pub(crate) mod pyliteral;

/// An `Io` error for `path`.
pub(crate) fn io_error(path: &str, e: std::io::Error) -> Error {
    err!(Io, "{path}: {e}")
}

/// A `Format` error for `path`.
pub(crate) fn format_error(path: &str, message: impl std::fmt::Display) -> Error {
    err!(Format, "{path}: {message}")
}
