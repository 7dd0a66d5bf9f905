//! Advanced indexing: index arrays and boolean masks (reads make copies), and assignment
//! through them. Indices are checked before anything is written, so a failed assignment
//! leaves the destination unchanged.

use super::{typed_array, typed_vec};
use crate::array::{checked_size, fmt_shape, Array};
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Result, RuntimeError};

/// The elements of `a` in C order, after checking that they fit in memory (a broadcast view
/// can describe far more elements than it stores).
fn scalars(a: &Array) -> Result<Vec<Scalar>> {
    checked_size(a.shape(), a.itemsize())?;
    a.to_scalars()
}

/// The index array's values as positions along an axis of length `len` (negative values
/// count from the end).
fn indices(idx: &Array, len: usize, axis: usize) -> Result<Vec<usize>> {
    if !idx.dtype().is_int() {
        return Err(RuntimeError::Invalid(format!(
            "arrays used as indices must be of integer type, not {}",
            idx.dtype()
        )));
    }
    scalars(idx)?
        .into_iter()
        .map(|s| {
            let i = s.to_i64();
            let k = if i < 0 {
                i.saturating_add(len as i64)
            } else {
                i
            };
            if k < 0 || k >= len as i64 {
                Err(RuntimeError::OutOfBounds {
                    index: i,
                    axis,
                    size: len,
                })
            } else {
                Ok(k as usize)
            }
        })
        .collect()
}

fn check_axis(a: &Array, axis: usize) -> Result<()> {
    if axis >= a.ndim() {
        return Err(RuntimeError::Invalid(format!(
            "axis {axis} is out of bounds for an array of dimension {}",
            a.ndim()
        )));
    }
    Ok(())
}

/// `(outer, n, inner)`: the products of the axes before `axis`, its length, and after it.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape.iter().take(axis).product();
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.iter().skip(axis + 1).product();
    (outer, n, inner)
}

fn take_t<T: Element>(a: &Array, ids: &[usize], axis: usize, shape: &[usize]) -> Result<Array> {
    let total = checked_size(shape, a.itemsize())?;
    let v = typed_vec::<T>(a)?;
    let (outer, n, inner) = split(a.shape(), axis);
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for &k in ids {
            let start = (o * n + k) * inner;
            let part = v
                .get(start..start + inner)
                .ok_or_else(|| RuntimeError::Invalid("take: index past the data".into()))?;
            out.extend_from_slice(part);
        }
    }
    typed_array(&out, shape)
}

/// `np.take(a, indices, axis)` (also `a[idx]` along one axis): any integer dtype of
/// indices, negative ones counting from the end; the axis is replaced by the index
/// array's shape.
pub fn take(a: &Array, idx: &Array, axis: usize) -> Result<Array> {
    check_axis(a, axis)?;
    let ids = indices(idx, a.shape()[axis], axis)?;
    let mut shape: Vec<usize> = a.shape()[..axis].to_vec();
    shape.extend(idx.shape());
    shape.extend(&a.shape()[axis + 1..]);
    dispatch!(a.dtype(), take_t(a, &ids, axis, &shape))
}

/// `np.put_along_axis`-style `dst[..., idx, ...] = src` along `axis` (NumPy's
/// `a[idx] = src` for one index array): `src` broadcasts to the selected shape (the axis
/// replaced by the index array's shape) and is cast to `dst`'s dtype. Repeated indices
/// take the last value.
pub fn take_assign(dst: &Array, idx: &Array, axis: usize, src: &Array) -> Result<()> {
    if !dst.is_writable() {
        return Err(RuntimeError::ReadOnly);
    }
    dst.ptr()?;
    check_axis(dst, axis)?;
    let ids = indices(idx, dst.shape()[axis], axis)?;
    // The selection as NumPy shapes it: the axis replaced by the index array's shape.
    let mut full = dst.shape()[..axis].to_vec();
    full.extend(idx.shape());
    full.extend(&dst.shape()[axis + 1..]);
    let vals = match src.broadcast_to(&full) {
        Ok(b) => scalars(&b)?,
        Err(_) => {
            // A source shaped like the flattened selection (axis length = number of indices).
            let mut sel = dst.shape()[..axis].to_vec();
            sel.push(ids.len());
            sel.extend(&dst.shape()[axis + 1..]);
            let b = src.broadcast_to(&sel).map_err(|_| {
                RuntimeError::Shape(format!(
                    "could not broadcast a value of shape {} into the selection of shape {}",
                    fmt_shape(src.shape()),
                    fmt_shape(&full)
                ))
            })?;
            scalars(&b)?
        }
    };
    // Values are copied out above, so overlap between `src` and `dst` is harmless.
    let (outer, _, inner) = split(dst.shape(), axis);
    let before: Vec<usize> = dst.shape()[..axis].to_vec();
    let after: Vec<usize> = dst.shape()[axis + 1..].to_vec();
    let strides = dst.strides();
    let mut vals = vals.into_iter();
    let mut off_before: Vec<isize> = Vec::with_capacity(outer);
    Array::for_each_index(&before, |ix| {
        off_before.push(ix.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum());
    });
    let mut off_after: Vec<isize> = Vec::with_capacity(inner);
    Array::for_each_index(&after, |ix| {
        off_after.push(
            ix.iter()
                .zip(&strides[axis + 1..])
                .map(|(&i, &s)| i as isize * s)
                .sum(),
        );
    });
    let step = strides[axis];
    for &ob in &off_before {
        for &k in &ids {
            for &oa in &off_after {
                if let Some(v) = vals.next() {
                    dst.write(ob + k as isize * step + oa, v);
                }
            }
        }
    }
    Ok(())
}

fn check_mask(a: &Array, mask: &Array) -> Result<Vec<bool>> {
    if mask.dtype() != DType::Bool {
        return Err(RuntimeError::Invalid(format!(
            "a mask must be bool, not {}",
            mask.dtype()
        )));
    }
    if mask.shape() != a.shape() {
        return Err(RuntimeError::Shape(format!(
            "boolean index of shape {} does not match the indexed array of shape {}",
            fmt_shape(mask.shape()),
            fmt_shape(a.shape())
        )));
    }
    Ok(scalars(mask)?.into_iter().map(Scalar::to_bool).collect())
}

fn select_t<T: Element>(a: &Array, keep: &[bool]) -> Result<Array> {
    let sel: Vec<T> = typed_vec::<T>(a)?
        .into_iter()
        .zip(keep)
        .filter(|(_, &m)| m)
        .map(|(v, _)| v)
        .collect();
    typed_array(&sel, &[sel.len()])
}

/// `a[mask]` for a bool mask of `a`'s shape: the selected elements in C order, 1-D.
pub fn mask_select(a: &Array, mask: &Array) -> Result<Array> {
    let keep = check_mask(a, mask)?;
    dispatch!(a.dtype(), select_t(a, &keep))
}

/// `a[mask] = src` (NumPy's boolean-mask assignment): `src` is 0-d or 1-D with one element
/// (broadcast) or 1-D with one element per selected position; values are cast to `dst`'s dtype.
pub fn mask_assign(dst: &Array, mask: &Array, src: &Array) -> Result<()> {
    if !dst.is_writable() {
        return Err(RuntimeError::ReadOnly);
    }
    dst.ptr()?;
    let keep = check_mask(dst, mask)?;
    let count = keep.iter().filter(|&&m| m).count();
    if src.ndim() > 1 || (src.size() != 1 && src.size() != count) {
        return Err(RuntimeError::Shape(format!(
            "cannot assign an array of shape {} to the {count} elements the mask selects",
            fmt_shape(src.shape())
        )));
    }
    // A C-order copy in dst's dtype: safe against overlap, cast once.
    let vals = src.astype(dst.dtype())?.to_scalars()?;
    let one = vals.len() == 1;
    let (mut flat, mut k) = (0usize, 0usize);
    dst.for_each_offset(|off| {
        if keep.get(flat).copied().unwrap_or(false) {
            if let Some(&v) = vals.get(if one { 0 } else { k }) {
                dst.write(off, v);
            }
            k += 1;
        }
        flat += 1;
    });
    Ok(())
}
