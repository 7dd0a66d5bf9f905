//! Operations that do not fuse: constructors, random numbers, joining, sorting and order
//! statistics, advanced indexing, scans, and contractions (`contract`: einsum steps as
//! batched GEMM or direct loops). Each follows the NumPy function of the same
//! name; arguments that NumPy would reject are errors, never panics. `wide_sum` is the
//! AVX-512 loop that a contiguous float `sum` runs instead of its JIT kernels; `wide_math` is
//! the AVX-512 `exp` and `tanh` of `f32` that block programs call between JIT kernels.

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
pub mod contract;
mod join;
pub mod pi_reduce;
mod random;
mod scan;
mod sort;
pub mod wide_math;
pub mod wide_sum;

pub use advanced::{mask_assign, mask_select, take, take_assign};
pub use construct::{arange, eye, linspace};
pub use contract::{
    aligned_view, contract_loop, contract_pair, contract_pair_onto, label_view, presum,
};
pub use join::{concatenate, stack};
pub use random::Rng;
pub use scan::{cumprod, cumsum};
pub use sort::{argsort, median, percentile, percentiles, sort};

use crate::array::Array;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Result, RuntimeError};
use std::mem::MaybeUninit;

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
/// data is copied out in one block; other layouts are gathered at their strides.
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
    let p = a.ptr()?;
    if a.is_c_contiguous() && (p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        // SAFETY: `a` is C-contiguous with `n` elements of `T`'s dtype starting at `p` (the
        // extent invariant keeps them inside its buffer, which `a` keeps alive here), `p` is
        // aligned, and every bit pattern is a valid i32/i64/f32/f64 (little-endian layout).
        let s = unsafe { std::slice::from_raw_parts(p as *const T, n) };
        return Ok(s.to_vec());
    }
    // Any other layout: gather element by element at the view's byte offsets.
    let mut out = Vec::with_capacity(n);
    a.for_each_offset(|off| {
        // SAFETY: `off` is the byte offset of an element of `a` from `p`, inside its buffer
        // by the extent invariant; the read is unaligned-safe and any bits are a valid `T`.
        out.push(unsafe { std::ptr::read_unaligned(p.offset(off) as *const T) });
    });
    Ok(out)
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

/// A new C-contiguous array of `T`'s dtype and `shape` whose elements `fill` writes in
/// place (no intermediate vector); `fill` must write every element.
pub(crate) fn typed_new<T: Element>(
    shape: &[usize],
    fill: impl FnOnce(&mut [MaybeUninit<T>]),
) -> Result<Array> {
    // `empty` may reuse freed memory: much cheaper than fresh zeroed pages for big arrays.
    let out = Array::empty(T::DTYPE, shape)?;
    let n = out.size();
    if n == 0 {
        return Ok(out);
    }
    let p = out.ptr()?;
    if cfg!(target_endian = "big") || !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        let zero = T::from_scalar(crate::dtype::Scalar::Bool(false));
        let mut v = vec![MaybeUninit::new(zero); n];
        fill(&mut v);
        // SAFETY: every element was initialised to `zero` above and `fill` only writes values.
        let v: Vec<T> = v.into_iter().map(|x| unsafe { x.assume_init() }).collect();
        return typed_array(&v, shape);
    }
    // SAFETY: `out` is new, so nothing else refers to its buffer; it is C-contiguous with room
    // for `n` aligned elements of `T` from `p`, seen as possibly uninitialised slots.
    let s = unsafe { std::slice::from_raw_parts_mut(p as *mut MaybeUninit<T>, n) };
    fill(s);
    Ok(out)
}
