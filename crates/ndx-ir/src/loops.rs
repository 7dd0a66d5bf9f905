//! Scheduling a [`Kernel`] onto a loop nest, and the calling convention of compiled nests.
//!
//! TO BE IMPLEMENTED (see the helper brief). The contract:
//!
//! A compiled nest is `extern "C" fn(words: *const i64) -> i32`. `words` holds
//! `shape[0..rank]`, then for every array (inputs in order, then outputs) its data pointer
//! (pointing at the element at index 0 of every axis) followed by its `rank` byte strides.
//! Axis `rank - 1` is the innermost loop. Axes `reduce_from..rank` are reduced: every output's
//! stride on them is 0, and each output is written once per point of the outer axes. The
//! function returns 0 on success; a non-zero value is an error code (none are defined for
//! fused kernels yet: they cannot fail).

use crate::kernel::Kernel;
