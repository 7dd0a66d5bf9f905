//! Runtime errors: every failure of an array operation, with a message a person understands.

use std::path::PathBuf;

/// An error from an array operation or from file I/O.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// An index past the end of an axis.
    #[error("index {index} is out of bounds for axis {axis} with size {size}")]
    OutOfBounds {
        /// The index as written.
        index: i64,
        /// The axis.
        axis: usize,
        /// The axis length.
        size: usize,
    },
    /// Shapes that do not fit together.
    #[error("{0}")]
    Shape(String),
    /// An array whose size does not fit in memory.
    #[error("array too large: {0}")]
    TooLarge(String),
    /// A write to a read-only array (a read-only memory map, a lent `&[T]`).
    #[error("array is read-only")]
    ReadOnly,
    /// A lent host buffer used after the loan ended.
    #[error("the host's loan of this array has ended")]
    LoanEnded,
    /// A bad `.npy` file.
    #[error("malformed .npy header: {0}")]
    NpyHeader(String),
    /// An I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Any other invalid argument.
    #[error("{0}")]
    Invalid(String),
}

/// Results of runtime operations.
pub type Result<T> = std::result::Result<T, RuntimeError>;
