//! Summing labels out of one float operand along contiguous rows: the pre-reduction of a GEMM
//! step (`ijk,kl->il` sums `j` out of the first operand before the GEMM).
//!
//! The direct loop walks every output element and sums down a strided axis; here the kept
//! axis that is contiguous in memory stays innermost, and each summed position adds one whole
//! row into the accumulator row, a loop the compiler vectorises. Rows are added in index
//! order (as NumPy's einsum loop does), so results do not depend on the thread count.

use super::{size_of, Label, Sizes};
use crate::array::Array;
use crate::dtype::DType;
use crate::error::Result;

/// Summed terms per output element above which the caller's blocked reduction is used: a
/// sequential float sum's rounding error grows with its length.
const MAX_TERMS: usize = 4096;

/// `a` (labels `ls`, distinct) with the labels outside `keep` summed out, when `a` is a float
/// array whose smallest-stride axis is kept, contiguous and longer than one element, and at
/// most [`MAX_TERMS`] elements are summed into each result. The
/// result is a new C-contiguous array with the labels returned (the kept labels, the
/// contiguous one last). `None` when the layout does not fit; the caller uses the direct loop.
pub fn presum(
    a: &Array,
    ls: &[Label],
    keep: &[Label],
    sizes: &Sizes,
) -> Result<Option<(Array, Vec<Label>)>> {
    match a.dtype() {
        DType::F32 => presum_typed::<f32>(a, ls, keep, sizes),
        DType::F64 => presum_typed::<f64>(a, ls, keep, sizes),
        _ => Ok(None),
    }
}

fn presum_typed<T>(
    a: &Array,
    ls: &[Label],
    keep: &[Label],
    sizes: &Sizes,
) -> Result<Option<(Array, Vec<Label>)>>
where
    T: crate::element::Element + Copy + std::ops::AddAssign + Default,
{
    let item = std::mem::size_of::<T>() as isize;
    if ls.len() != a.ndim()
        || a.size() == 0
        || keep.iter().any(|l| !ls.contains(l))
        || ls
            .iter()
            .zip(a.shape())
            .any(|(&l, &n)| size_of(sizes, l) != n)
    {
        return Ok(None);
    }
    let Some(c) = (0..ls.len())
        .find(|&p| a.strides()[p] == item && a.shape()[p] > 1 && keep.contains(&ls[p]))
    else {
        return Ok(None);
    };
    let base = a.ptr()? as usize;
    if !base.is_multiple_of(std::mem::align_of::<T>()) || a.strides().iter().any(|s| s % item != 0)
    {
        return Ok(None);
    }
    let mut labels: Vec<Label> = keep.iter().copied().filter(|&l| l != ls[c]).collect();
    labels.push(ls[c]);
    let summed: Vec<Label> = ls.iter().copied().filter(|l| !keep.contains(l)).collect();
    let pos = |l: &Label| ls.iter().position(|x| x == l).unwrap_or(0);
    let outer: Vec<usize> = labels[..labels.len() - 1].iter().map(pos).collect();
    let sum_axes: Vec<usize> = summed.iter().map(pos).collect();
    let shape: Vec<usize> = labels.iter().map(|&l| size_of(sizes, l)).collect();
    let row = a.shape()[c];
    let out = Array::empty(T::DTYPE, &shape)?;
    let dst = out.ptr()? as *mut T;
    let outer_shape: Vec<usize> = outer.iter().map(|&p| a.shape()[p]).collect();
    let sum_shape: Vec<usize> = sum_axes.iter().map(|&p| a.shape()[p]).collect();
    if sum_shape.iter().product::<usize>() > MAX_TERMS {
        return Ok(None);
    }
    let offset = |idx: &[usize], axes: &[usize]| -> isize {
        idx.iter()
            .zip(axes)
            .map(|(&i, &p)| i as isize * a.strides()[p])
            .sum()
    };
    let mut r = 0usize;
    Array::for_each_index(&outer_shape, |oi| {
        // SAFETY: `out` is a new C-contiguous array of `shape`, whose last axis is `row` long,
        // so row `r` lies inside it; it shares no memory with `a`.
        let acc = unsafe { std::slice::from_raw_parts_mut(dst.add(r * row), row) };
        acc.fill(T::default());
        let o = offset(oi, &outer);
        Array::for_each_index(&sum_shape, |si| {
            let p = (base as isize + o + offset(si, &sum_axes)) as *const T;
            // SAFETY: in-range indices of a valid view address a row of `row` contiguous
            // elements (axis `c` has a stride of one element), aligned because the base and
            // every stride are whole elements (checked above).
            let src = unsafe { std::slice::from_raw_parts(p, row) };
            for (d, &s) in acc.iter_mut().zip(src) {
                *d += s;
            }
        });
        r += 1;
    });
    Ok(Some((out, labels)))
}
