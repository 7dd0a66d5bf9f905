//! ndx runtime: arrays, buffers, dtypes, strides and views, printing, `.npy` and
//! memory-mapped I/O, and the operations that do not fuse (sorting, joining, advanced
//! indexing, scans, constructors, random numbers, contractions).
#![deny(missing_docs)]

pub mod array;
pub mod buffer;
pub mod dtype;
pub mod element;
pub mod error;
pub mod format;
pub mod image;
pub mod npy;
pub mod ops;
pub mod view;

pub use array::{Array, Order};
pub use buffer::Buffer;
pub use dtype::{DType, Scalar};
pub use element::Element;
pub use error::{Result, RuntimeError};
pub use format::format_scalar;
pub use npy::MapMode;
pub use view::IndexSpec;
