//! Advanced indexing: index arrays and boolean masks (copies), and assignment through them.

use crate::array::{fmt_shape, Array};
use crate::dtype::DType;
use crate::error::{Result, RuntimeError};
use crate::view::IndexSpec;

fn indices(idx: &Array, len: usize, axis: usize) -> Result<Vec<usize>> {
    if !(idx.dtype().is_int() || idx.dtype() == DType::Bool && idx.ndim() == 0) {
        return Err(RuntimeError::Invalid(format!(
            "index arrays must be integers, not {}",
            idx.dtype()
        )));
    }
    idx.to_scalars()?
        .into_iter()
        .map(|s| {
            let i = s.to_i64();
            let k = if i < 0 { i + len as i64 } else { i };
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

fn along(a: &Array, axis: usize, i: usize) -> Result<Array> {
    let mut items = vec![
        IndexSpec::Slice {
            start: None,
            stop: None,
            step: None
        };
        a.ndim()
    ];
    items[axis] = IndexSpec::Int(i as i64);
    a.index(&items)
}

/// `np.take(a, indices, axis)`: the axis is replaced by the index array's shape.
pub fn take(a: &Array, idx: &Array, axis: usize) -> Result<Array> {
    if axis >= a.ndim() {
        return Err(RuntimeError::Invalid(format!(
            "too many indices for an array of dimension {}",
            a.ndim()
        )));
    }
    let ids = indices(idx, a.shape()[axis], axis)?;
    let mut shape: Vec<usize> = a.shape()[..axis].to_vec();
    shape.extend(idx.shape());
    shape.extend(&a.shape()[axis + 1..]);
    // Gather into (before, n, after) then reshape.
    let mut tmp_shape = a.shape()[..axis].to_vec();
    tmp_shape.push(ids.len());
    tmp_shape.extend(&a.shape()[axis + 1..]);
    let out = Array::zeros(a.dtype(), &tmp_shape)?;
    for (k, &i) in ids.iter().enumerate() {
        along(&out, axis, k)?.assign(&along(a, axis, i)?)?;
    }
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    out.reshape(&dims)
}

/// `a[idx] = src` along `axis`, broadcasting `src` to the selected shape.
pub fn take_assign(dst: &Array, idx: &Array, axis: usize, src: &Array) -> Result<()> {
    if !dst.is_writable() {
        return Err(RuntimeError::ReadOnly);
    }
    if axis >= dst.ndim() {
        return Err(RuntimeError::Invalid(format!(
            "too many indices for an array of dimension {}",
            dst.ndim()
        )));
    }
    let ids = indices(idx, dst.shape()[axis], axis)?;
    let mut sel = dst.shape()[..axis].to_vec();
    sel.push(ids.len());
    sel.extend(&dst.shape()[axis + 1..]);
    let src = src.broadcast_to(&sel).or_else(|_| {
        let mut full = dst.shape()[..axis].to_vec();
        full.extend(idx.shape());
        full.extend(&dst.shape()[axis + 1..]);
        src.broadcast_to(&full).and_then(|b| {
            let dims: Vec<i64> = sel.iter().map(|&d| d as i64).collect();
            b.copy(crate::array::Order::C)?.reshape(&dims)
        })
    })?;
    let src = if src.shares_memory(dst) {
        src.copy(crate::array::Order::C)?
    } else {
        src
    };
    for (k, &i) in ids.iter().enumerate() {
        along(dst, axis, i)?.assign(&along(&src, axis, k)?)?;
    }
    Ok(())
}

fn check_mask(a: &Array, mask: &Array) -> Result<()> {
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
    Ok(())
}

/// `a[mask]`: the selected elements in C order, 1-D.
pub fn mask_select(a: &Array, mask: &Array) -> Result<Array> {
    check_mask(a, mask)?;
    let vals = a.to_scalars()?;
    let keep = mask.to_scalars()?;
    let sel: Vec<_> = vals
        .into_iter()
        .zip(keep)
        .filter(|(_, m)| m.to_bool())
        .map(|(v, _)| v)
        .collect();
    Array::from_scalars(a.dtype(), &sel, &[sel.len()])
}

/// `a[mask] = src` (NumPy's boolean-mask assignment): `src` is 0-d or 1-D with one element
/// (broadcast) or 1-D with one element per selected position; values are cast to `dst`'s dtype.
pub fn mask_assign(dst: &Array, mask: &Array, src: &Array) -> Result<()> {
    if !dst.is_writable() {
        return Err(RuntimeError::ReadOnly);
    }
    check_mask(dst, mask)?;
    let keep = mask.to_scalars()?;
    let count = keep.iter().filter(|m| m.to_bool()).count();
    let vals = src.to_scalars()?;
    if src.ndim() > 1 || (vals.len() != 1 && vals.len() != count) {
        return Err(RuntimeError::Shape(format!(
            "cannot assign an array of shape {} to the {count} elements the mask selects",
            fmt_shape(src.shape())
        )));
    }
    let mut k = 0;
    let mut err = None;
    Array::for_each_index(dst.shape(), |idx| {
        let flat: usize = idx
            .iter()
            .zip(dst.shape())
            .fold(0, |acc, (&i, &n)| acc * n + i);
        if keep[flat].to_bool() {
            let v = if vals.len() == 1 { vals[0] } else { vals[k] };
            if let Err(e) = dst.set(idx, v) {
                err = Some(e);
            }
            k += 1;
        }
    });
    err.map_or(Ok(()), Err)
}
