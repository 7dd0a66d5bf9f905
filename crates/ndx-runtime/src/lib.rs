//! ndx runtime: arrays, buffers, dtypes, strides and views, `.npy` and memory-mapped I/O.
#![deny(missing_docs)]

pub mod dtype;

pub use dtype::{DType, Scalar};
