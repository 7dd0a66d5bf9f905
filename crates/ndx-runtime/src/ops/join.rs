//! `concatenate` and `stack`.

use super::norm_axis;
use crate::array::{fmt_shape, Array};
use crate::error::{Result, RuntimeError};
use crate::view::IndexSpec;

/// `np.concatenate(arrays, axis)`: joins along an existing axis; all inputs share a dtype
/// (the caller promotes) and every other axis length.
pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| RuntimeError::Invalid("need at least one array to concatenate".into()))?;
    if first.ndim() == 0 {
        return Err(RuntimeError::Invalid(
            "zero-dimensional arrays cannot be concatenated".into(),
        ));
    }
    let ax = norm_axis(axis, first.ndim())?;
    let mut total = 0usize;
    for a in arrays {
        if a.dtype() != first.dtype() {
            return Err(RuntimeError::Invalid(format!(
                "cannot concatenate {} with {}",
                first.dtype(),
                a.dtype()
            )));
        }
        let same = a.ndim() == first.ndim()
            && a.shape()
                .iter()
                .zip(first.shape())
                .enumerate()
                .all(|(k, (x, y))| k == ax || x == y);
        if !same {
            return Err(RuntimeError::Shape(format!(
                "all the input array dimensions except for the concatenation axis must match exactly, but along axis {ax} shapes {} and {} differ",
                fmt_shape(first.shape()),
                fmt_shape(a.shape())
            )));
        }
        total = total
            .checked_add(a.shape()[ax])
            .ok_or_else(|| RuntimeError::TooLarge("the concatenated axis is too long".into()))?;
    }
    let mut shape = first.shape().to_vec();
    shape[ax] = total;
    let out = Array::zeros(first.dtype(), &shape)?;
    let mut at = 0i64;
    for a in arrays {
        let n = a.shape()[ax] as i64;
        let mut items = vec![
            IndexSpec::Slice {
                start: None,
                stop: None,
                step: None
            };
            shape.len()
        ];
        items[ax] = IndexSpec::Slice {
            start: Some(at),
            stop: Some(at + n),
            step: None,
        };
        out.index(&items)?.assign(a)?;
        at += n;
    }
    Ok(out)
}

/// `np.stack(arrays, axis)`: joins along a new axis at `axis` (which may be `ndim`, or
/// negative); all inputs share a shape and dtype.
pub fn stack(arrays: &[Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| RuntimeError::Invalid("need at least one array to stack".into()))?;
    let ax = norm_axis(axis, first.ndim() + 1)?;
    let mut expanded = Vec::with_capacity(arrays.len());
    for a in arrays {
        if a.shape() != first.shape() {
            return Err(RuntimeError::Shape(format!(
                "all input arrays must have the same shape, but {} and {} differ",
                fmt_shape(first.shape()),
                fmt_shape(a.shape())
            )));
        }
        expanded.push(a.expand_dims(ax as isize)?);
    }
    concatenate(&expanded, ax as isize)
}
