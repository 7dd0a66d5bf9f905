//! Operations that do not fuse: constructors, random numbers, joining, sorting and order
//! statistics, advanced indexing, and scans. Each follows the NumPy function of the same
//! name; arguments that NumPy would reject are errors, never panics.

/// Calls `$f::<T>($args)` with `T` the Rust type of dtype `$d`.
macro_rules! dispatch {
    ($d:expr, $f:ident ( $($arg:expr),* )) => {
        match $d {
            DType::Bool => $f::<bool>($($arg),*),
            DType::I32 => $f::<i32>($($arg),*),
            DType::I64 => $f::<i64>($($arg),*),
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
        }
    };
}

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

use crate::array::{Array, Order};
use crate::dtype::DType;
use crate::element::Element;
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

/// The elements of `a` in C order as `T` (`a`'s dtype must be `T`'s). Contiguous numeric
/// data is copied out in one block; other layouts go through a C-order copy first.
pub(crate) fn typed_vec<T: Element>(a: &Array) -> Result<Vec<T>> {
    if T::DTYPE != a.dtype() {
        return Err(RuntimeError::Invalid(format!(
            "array is {}, not {}",
            a.dtype(),
            T::DTYPE
        )));
    }
    let n = crate::array::checked_size(a.shape(), a.itemsize())?;
    if n == 0 {
        return Ok(Vec::new());
    }
    // Bytes of a bool array need not be 0 or 1 (a mapped file), so bools take the checked path.
    if T::DTYPE == DType::Bool || cfg!(target_endian = "big") {
        return a.to_vec();
    }
    let c = if a.is_c_contiguous() {
        a.clone()
    } else {
        a.copy(Order::C)?
    };
    let p = c.ptr()?;
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return c.to_vec();
    }
    // SAFETY: `c` is C-contiguous with `n` elements of `T`'s dtype starting at `p` (the extent
    // invariant keeps them inside its buffer, which `c` keeps alive here), `p` is aligned, and
    // every bit pattern is a valid i32/i64/f32/f64 in the buffer's little-endian layout.
    let s = unsafe { std::slice::from_raw_parts(p as *const T, n) };
    Ok(s.to_vec())
}

/// A new C-contiguous array of `T`'s dtype holding `data` (which must fill `shape`).
pub(crate) fn typed_array<T: Element>(data: &[T], shape: &[usize]) -> Result<Array> {
    let out = Array::empty(T::DTYPE, shape)?;
    if out.size() != data.len() {
        return Err(RuntimeError::Invalid(format!(
            "{} values cannot fill shape {}",
            data.len(),
            crate::array::fmt_shape(shape)
        )));
    }
    if data.is_empty() {
        return Ok(out);
    }
    if cfg!(target_endian = "big") {
        return Array::from_vec(data.to_vec(), shape);
    }
    let p = out.ptr()?;
    // SAFETY: `out` is new, C-contiguous and exactly `size_of_val(data)` bytes long from `p`;
    // nothing else refers to it, and `T`'s in-memory bytes are the dtype's little-endian layout
    // (bools are 0 or 1).
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr() as *const u8, p, std::mem::size_of_val(data))
    };
    Ok(out)
}
