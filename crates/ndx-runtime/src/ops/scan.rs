//! `cumsum` and `cumprod` (NumPy's dtypes: i64 for bool and ints, floats keep theirs).

use super::norm_axis;
use crate::array::{Array, Order};
use crate::dtype::{DType, Scalar};
use crate::error::Result;

fn scan(a: &Array, axis: Option<isize>, prod: bool) -> Result<Array> {
    let d = if a.dtype().is_float() {
        a.dtype()
    } else {
        DType::I64
    };
    let (data, ax) = match axis {
        None => (a.reshape(&[-1])?, 0),
        Some(x) => {
            let data = if a.ndim() == 0 {
                a.reshape(&[1])?
            } else {
                a.clone()
            };
            let ax = norm_axis(x, data.ndim())?;
            (data, ax)
        }
    };
    let out = data.astype(d)?;
    let last = out.ndim() - 1;
    let moved = out.swapaxes(ax as isize, last as isize)?.copy(Order::C)?;
    let n = moved.shape()[last];
    let mut vals = moved.to_scalars()?;
    if n > 0 {
        for lane in vals.chunks_mut(n) {
            for i in 1..lane.len() {
                let (x, y) = (lane[i - 1], lane[i]);
                lane[i] = match (x, y) {
                    (Scalar::I64(p), Scalar::I64(q)) => Scalar::I64(if prod {
                        p.wrapping_mul(q)
                    } else {
                        p.wrapping_add(q)
                    }),
                    (Scalar::F32(p), Scalar::F32(q)) => {
                        Scalar::F32(if prod { p * q } else { p + q })
                    }
                    _ => Scalar::F64(if prod {
                        x.to_f64() * y.to_f64()
                    } else {
                        x.to_f64() + y.to_f64()
                    }),
                }
                .cast(d);
            }
        }
    }
    let r = Array::from_scalars(d, &vals, moved.shape())?;
    r.swapaxes(ax as isize, last as isize)?.copy(Order::C)
}

/// `np.cumsum(a, axis)`; `axis = None` flattens.
pub fn cumsum(a: &Array, axis: Option<isize>) -> Result<Array> {
    scan(a, axis, false)
}

/// `np.cumprod(a, axis)`; `axis = None` flattens.
pub fn cumprod(a: &Array, axis: Option<isize>) -> Result<Array> {
    scan(a, axis, true)
}
