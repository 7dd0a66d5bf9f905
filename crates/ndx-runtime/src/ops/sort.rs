//! `sort`, `argsort`, `median`, `percentile`: along one axis (or the flattened array), NaNs
//! sorting last as in NumPy.

use super::norm_axis;
use crate::array::{Array, Order};
use crate::dtype::{DType, Scalar};
use crate::error::{Result, RuntimeError};
use std::cmp::Ordering;

/// NumPy's sort order: numbers ascending, NaN last.
fn order(a: &Scalar, b: &Scalar) -> Ordering {
    match (a, b) {
        (Scalar::F32(_) | Scalar::F64(_), _) | (_, Scalar::F32(_) | Scalar::F64(_)) => {
            let (x, y) = (a.to_f64(), b.to_f64());
            match (x.is_nan(), y.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            }
        }
        _ => a.to_i64().cmp(&b.to_i64()),
    }
}

/// Applies `f` to every lane along `axis`, producing lanes of length `out_len` and dtype
/// `out`; the result has `axis` replaced by `out_len` (removed when `out_len` is `None`).
fn map_lanes(
    a: &Array,
    axis: usize,
    out: DType,
    out_len: Option<usize>,
    mut f: impl FnMut(Vec<Scalar>) -> Result<Vec<Scalar>>,
) -> Result<Array> {
    let last = a.ndim() - 1;
    let moved = a.swapaxes(axis as isize, last as isize)?.copy(Order::C)?;
    let n = a.shape()[axis];
    let vals = moved.to_scalars()?;
    let mut res = Vec::new();
    let lanes: usize = moved.shape()[..last].iter().product();
    for k in 0..lanes {
        let lane = if n == 0 {
            Vec::new()
        } else {
            vals[k * n..(k + 1) * n].to_vec()
        };
        res.extend(f(lane)?);
    }
    let mut shape = moved.shape().to_vec();
    match out_len {
        Some(m) => {
            shape[last] = m;
            let r = Array::from_scalars(out, &res, &shape)?;
            r.swapaxes(axis as isize, last as isize)?.copy(Order::C)
        }
        None => {
            shape.pop();
            Array::from_scalars(out, &res, &shape)
        }
    }
}

/// `np.sort(a, axis)`.
pub fn sort(a: &Array, axis: isize) -> Result<Array> {
    if a.ndim() == 0 {
        return Err(RuntimeError::Invalid(
            "cannot sort a 0-d array along an axis".into(),
        ));
    }
    let ax = norm_axis(axis, a.ndim())?;
    map_lanes(a, ax, a.dtype(), Some(a.shape()[ax]), |mut v| {
        v.sort_by(order);
        Ok(v)
    })
}

/// `np.argsort(a, axis, kind="stable")`: i64 indices.
pub fn argsort(a: &Array, axis: isize) -> Result<Array> {
    if a.ndim() == 0 {
        return Err(RuntimeError::Invalid(
            "cannot argsort a 0-d array along an axis".into(),
        ));
    }
    let ax = norm_axis(axis, a.ndim())?;
    map_lanes(a, ax, DType::I64, Some(a.shape()[ax]), |v| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| order(&v[i], &v[j]));
        Ok(idx.into_iter().map(|i| Scalar::I64(i as i64)).collect())
    })
}

fn stat_dtype(d: DType) -> DType {
    if d.is_float() {
        d
    } else {
        DType::F64
    }
}

/// The data and axis for a statistic: the flattened array for `axis = None`.
fn prepare(a: &Array, axis: Option<isize>) -> Result<(Array, usize)> {
    match axis {
        None => Ok((a.ravel()?.reshape(&[-1])?, 0)),
        Some(ax) => {
            if a.ndim() == 0 {
                return Err(RuntimeError::Invalid("axis given for a 0-d array".into()));
            }
            Ok((a.clone(), norm_axis(ax, a.ndim())?))
        }
    }
}

fn sorted_f64(v: Vec<Scalar>) -> Result<Vec<f64>> {
    if v.is_empty() {
        return Err(RuntimeError::Invalid(
            "cannot compute a statistic of an empty array".into(),
        ));
    }
    let mut x: Vec<f64> = v.iter().map(|s| s.to_f64()).collect();
    x.sort_by(|a, b| order(&Scalar::F64(*a), &Scalar::F64(*b)));
    Ok(x)
}

/// `np.median(a, axis)`: the mean of the middle values; NaN when the lane has a NaN.
pub fn median(a: &Array, axis: Option<isize>) -> Result<Array> {
    let (data, ax) = prepare(a, axis)?;
    let d = stat_dtype(a.dtype());
    map_lanes(&data, ax, d, None, |v| {
        let x = sorted_f64(v)?;
        let n = x.len();
        if x[n - 1].is_nan() {
            return Ok(vec![Scalar::F64(f64::NAN)]);
        }
        let m = if n % 2 == 1 {
            x[n / 2]
        } else {
            (x[n / 2 - 1] + x[n / 2]) / 2.0
        };
        Ok(vec![Scalar::F64(m)])
    })
}

/// NumPy's linear-method percentile of a sorted lane.
fn lerp_percentile(x: &[f64], q: f64) -> f64 {
    let n = x.len();
    if x[n - 1].is_nan() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let t = pos - lo as f64;
    let (a, b) = (x[lo], x[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

fn check_q(q: f64) -> Result<()> {
    if (0.0..=100.0).contains(&q) {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "percentiles must be in the range [0, 100], got {q}"
        )))
    }
}

/// `np.percentile(a, q, axis)` for one `q` (linear method): the reduced shape.
pub fn percentile(a: &Array, q: f64, axis: Option<isize>) -> Result<Array> {
    check_q(q)?;
    let (data, ax) = prepare(a, axis)?;
    map_lanes(&data, ax, stat_dtype(a.dtype()), None, |v| {
        Ok(vec![Scalar::F64(lerp_percentile(&sorted_f64(v)?, q))])
    })
}

/// `np.percentile(a, [q...], axis)`: a leading axis of `len(q)`.
pub fn percentiles(a: &Array, q: &[f64], axis: Option<isize>) -> Result<Array> {
    let parts: Vec<Array> = q
        .iter()
        .map(|&qi| percentile(a, qi, axis))
        .collect::<Result<_>>()?;
    if parts.is_empty() {
        return Err(RuntimeError::Invalid(
            "percentile needs at least one q".into(),
        ));
    }
    super::stack(&parts, 0)
}
