//! The one error type of distarray.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of failure an [`Error`] reports.
///
/// New kinds may be added (issue trackers of distributed array libraries show
/// backend failures are varied), hence `#[non_exhaustive]`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// A parameter value outside its domain (an empty range, a negative scale).
    InvalidArgument,
    /// A shape is invalid (size overflow, wrong number of axes, mismatch).
    InvalidShape,
    /// A grid shape does not fit the array or the number of engines.
    InvalidGridShape,
    /// A distribution letter or map description is invalid.
    InvalidDist,
    /// Dim data (Distributed Array Protocol) that is inconsistent or does not tile the array.
    InvalidDimData,
    /// A target engine that does not exist or is repeated.
    InvalidTarget,
    /// An index outside the array.
    IndexOutOfBounds,
    /// Two distributions that an operation requires to be compatible are not.
    IncompatibleDistribution,
    /// An element type that does not match the one required.
    DTypeMismatch,
    /// A key that is not present on an engine.
    KeyNotFound,
    /// A kernel name that no `#[local]`/`#[vectorize]` function of this program registered.
    KernelNotFound,
    /// A kernel key that several kernels of this program registered (one
    /// macro call defining two kernels of one name in one module): calling it
    /// runs none of them.
    KernelConflict,
    /// The context was closed.
    ContextClosed,
    /// An array or distribution of one context was used with another.
    WrongContext,
    /// A backend (thread or MPI engines) failed or is unavailable.
    Backend,
    /// An engine could not allocate memory for an array (numpy's MemoryError).
    OutOfMemory,
    /// An engine the call needs has stopped, or did not answer within
    /// `DISTARRAY_ENGINE_TIMEOUT`: the call's outcome on the other engines is
    /// unknown. Contexts over other engines keep working.
    EngineUnavailable,
    /// A message between client and engines could not be encoded or decoded.
    Protocol,
    /// A feature that this build or backend does not provide.
    Unsupported,
    /// An error raised on an engine while executing a command.
    Engine,
    /// Arithmetic that is undefined for the values given: integer division by
    /// zero, an integer to a negative power, a negative shift count.
    Arithmetic,
    /// Reading or writing a file failed in the operating system (not found,
    /// permission denied, disk full, ...).
    Io,
    /// A file's contents are not a valid file of the expected format (wrong
    /// magic, unknown version, malformed header, truncated data).
    Format,
    /// A kernel called a `Context` or `DistArray` method on an engine: only
    /// the client drives contexts (the engines are busy running the kernel).
    NestedCall,
}

/// The error type of every fallible distarray call.
///
/// The representation is private so it can grow; use [`Error::kind`] to branch
/// on the cause and `Display` for the message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    repr: Box<Repr>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Repr {
    kind: ErrorKind,
    message: String,
    /// The errors of the other engines that failed in the same call.
    others: Vec<Error>,
}

/// Short for `std::result::Result<T, distarray::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message that says what was wrong.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { repr: Box::new(Repr { kind, message: message.into(), others: Vec::new() }) }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.repr.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.repr.message
    }

    /// The errors of the other engines that failed in the same call, in
    /// engine order, when several did (this one is the first engine's; each
    /// message names its engine): empty otherwise. `Display` shows this
    /// error's message only, so that it stays one line for any number of
    /// engines.
    pub fn others(&self) -> &[Error] {
        &self.repr.others
    }

    /// This error with `others` as the other engines' errors of its call.
    pub(crate) fn with_others(mut self, others: Vec<Error>) -> Self {
        self.repr.others = others;
        self
    }

    /// The same error with `context` put in front of its message.
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.repr.message = format!("{context}: {}", self.repr.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {})", self.repr.kind, self.repr.message)
    }
}

impl std::error::Error for Error {}

/// `Err(Error::new(kind, format!(...)))`, for early returns.
macro_rules! bail {
    ($kind:ident, $($arg:tt)+) => {
        return Err($crate::core::error::Error::new($crate::core::error::ErrorKind::$kind, format!($($arg)+)))
    };
}
pub(crate) use bail;

/// `Error::new(kind, format!(...))`.
macro_rules! err {
    ($kind:ident, $($arg:tt)+) => {
        $crate::core::error::Error::new($crate::core::error::ErrorKind::$kind, format!($($arg)+))
    };
}
pub(crate) use err;
