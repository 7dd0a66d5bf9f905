//! Operations that do not fuse: constructors, random numbers, joining, sorting and order
//! statistics, advanced indexing, and scans. Each follows the NumPy function of the same
//! name; arguments that NumPy would reject are errors, never panics.

mod advanced;
mod construct;
mod join;
mod random;
mod scan;
mod sort;

pub use advanced::{mask_assign, mask_select, take, take_assign};
pub use construct::{arange, eye, linspace};
pub use join::{concatenate, stack};
pub use random::Rng;
pub use scan::{cumprod, cumsum};
pub use sort::{argsort, median, percentile, percentiles, sort};

use crate::error::{Result, RuntimeError};

/// A possibly negative axis as an index into `ndim` axes.
pub(crate) fn norm_axis(axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(RuntimeError::Invalid(format!(
            "axis {axis} is out of bounds for an array of dimension {ndim}"
        )));
    }
    Ok(a as usize)
}
