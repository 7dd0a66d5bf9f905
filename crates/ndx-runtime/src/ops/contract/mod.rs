//! Contractions: the execution side of einsum, matmul, dot, tensordot and trace.
//!
//! Operands arrive labelled (one label per axis). [`label_view`] turns repeated labels into
//! diagonal views and stretches size-1 axes (stride 0); nothing is copied. Then:
//! - [`contract_pair`] runs a two-operand step as a batched GEMM (floats through the `gemm`
//!   crate, integers through an exact wrapping i-k-j kernel): batch axes are looped, and the
//!   `m`, `n` and `k` label groups are each merged into one row or column stride, so transposes
//!   and broadcast axes cost nothing. An operand is copied only when a group's axes cannot be
//!   walked with one stride (or its strides are not whole elements).
//! - [`contract_loop`] contracts any number of operands of any dtype with a direct loop:
//!   integers wrap as NumPy's do, bools compute `or` of `and`s. It serves bools, small steps,
//!   single-operand steps (diagonals, transposes, sums) and the memory-capped fallback.
//!
//! Results are new C-contiguous arrays in the requested label order. Every size and offset is
//! derived from valid views, so every address read or written lies inside its buffer.
//!
//! Submodules: `loops` (the direct loop), `gemm` (the batched GEMM), `presum` (summing labels
//! out of one float operand along contiguous rows, before a GEMM).

mod gemm;
mod loops;
mod presum;

pub use gemm::{contract_pair, contract_pair_onto};
pub use loops::contract_loop;
pub use presum::presum;

use crate::array::Array;
use crate::error::{Result, RuntimeError};
use std::collections::BTreeMap;

/// An index label (a letter, or any char standing for an axis).
pub type Label = char;

/// Label sizes.
pub type Sizes = BTreeMap<Label, usize>;

fn size_of(sizes: &Sizes, l: Label) -> usize {
    sizes.get(&l).copied().unwrap_or(1)
}

/// The number of points of `shape`, or an error when it does not fit a `usize` (broadcast
/// views can name more elements than memory holds).
fn count(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &n| {
        acc.checked_mul(n).ok_or_else(|| {
            RuntimeError::TooLarge(format!(
                "a contraction over {} points",
                crate::array::fmt_shape(shape)
            ))
        })
    })
}

/// A view of `a` with one axis per distinct label, in order of first appearance: repeated
/// labels become a diagonal (the strides add up), and a size-1 axis whose label is larger in
/// `sizes` is stretched with stride 0.
pub fn label_view(a: &Array, labels: &[Label], sizes: &Sizes) -> Result<(Array, Vec<Label>)> {
    if labels.len() != a.ndim() {
        return Err(RuntimeError::Invalid(format!(
            "{} labels for an array of dimension {}",
            labels.len(),
            a.ndim()
        )));
    }
    let mut out_labels: Vec<Label> = Vec::with_capacity(labels.len());
    let mut shape: Vec<usize> = Vec::with_capacity(labels.len());
    let mut strides: Vec<isize> = Vec::with_capacity(labels.len());
    for (k, &l) in labels.iter().enumerate() {
        let want = sizes.get(&l).copied().unwrap_or(a.shape[k]);
        let (n, s) = (a.shape[k], a.strides[k]);
        let s = if n == want {
            s
        } else if n == 1 {
            0
        } else {
            return Err(RuntimeError::Shape(format!(
                "axis {k} of size {n} cannot be label '{l}' of size {want}"
            )));
        };
        match out_labels.iter().position(|&x| x == l) {
            Some(p) => strides[p] += s,
            None => {
                out_labels.push(l);
                shape.push(want);
                strides.push(s);
            }
        }
    }
    count(&shape)?;
    let v = Array {
        buffer: a.buffer.clone(),
        dtype: a.dtype,
        shape,
        strides,
        offset: a.offset,
    };
    v.check_extent()?;
    Ok((v, out_labels))
}

/// A view of `a` (labelled `labels`, distinct, as [`label_view`] makes them) over the axes
/// `order`: each axis walks its label's stride, or stride 0 where `a` lacks the label. Every
/// operand of a step seen this way shares one iteration space, so a fused elementwise kernel
/// can multiply them and sum the trailing axes.
pub fn aligned_view(a: &Array, labels: &[Label], order: &[Label], sizes: &Sizes) -> Result<Array> {
    if labels.len() != a.ndim() || labels.iter().any(|l| !order.contains(l)) {
        return Err(RuntimeError::Invalid(
            "every label of an operand must be in the iteration order".into(),
        ));
    }
    let mut shape = Vec::with_capacity(order.len());
    let mut strides = Vec::with_capacity(order.len());
    for l in order {
        let n = size_of(sizes, *l);
        match labels.iter().position(|x| x == l) {
            Some(p) if a.shape[p] == n => strides.push(a.strides[p]),
            Some(_) => {
                return Err(RuntimeError::Shape(format!(
                    "label '{l}' has size {n} but its axis does not"
                )))
            }
            None => strides.push(0),
        }
        shape.push(n);
    }
    count(&shape)?;
    let v = Array {
        buffer: a.buffer.clone(),
        dtype: a.dtype,
        shape,
        strides,
        offset: a.offset,
    };
    v.check_extent()?;
    Ok(v)
}

impl Array {
    /// The diagonal of axes `axis1` and `axis2` (with `offset` above the main diagonal, or
    /// below when negative) as a view whose last axis walks the diagonal, as NumPy's
    /// `diagonal`.
    pub fn diagonal(&self, offset: i64, axis1: isize, axis2: isize) -> Result<Array> {
        let a1 = super::norm_axis(axis1, self.ndim())?;
        let a2 = super::norm_axis(axis2, self.ndim())?;
        if a1 == a2 {
            return Err(RuntimeError::Invalid(
                "axis1 and axis2 cannot be the same".into(),
            ));
        }
        let (n1, n2) = (self.shape[a1] as i64, self.shape[a2] as i64);
        let (s1, s2) = (self.strides[a1], self.strides[a2]);
        let (start1, start2) = if offset >= 0 {
            (0, offset)
        } else {
            (offset.saturating_neg(), 0)
        };
        let len = (n1 - start1).min(n2.saturating_sub(start2)).max(0) as usize;
        let mut shape = Vec::with_capacity(self.ndim() - 1);
        let mut strides = Vec::with_capacity(self.ndim() - 1);
        for ax in 0..self.ndim() {
            if ax != a1 && ax != a2 {
                shape.push(self.shape[ax]);
                strides.push(self.strides[ax]);
            }
        }
        shape.push(len);
        strides.push(s1 + s2);
        let off = if len == 0 {
            self.offset as isize
        } else {
            self.offset as isize + start1 as isize * s1 + start2 as isize * s2
        };
        let v = Array {
            buffer: self.buffer.clone(),
            dtype: self.dtype,
            shape,
            strides,
            offset: usize::try_from(off).unwrap_or(self.offset),
        };
        v.check_extent()?;
        Ok(v)
    }
}
