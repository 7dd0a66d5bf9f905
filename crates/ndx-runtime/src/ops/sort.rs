//! `sort`, `argsort`, `median`, `percentile`: along one axis (or the flattened array).
//!
//! Every function moves the working axis last, copies the data out as one typed C-order
//! vector of lanes, works lane by lane, and moves the axis back. NaNs sort last (NumPy's
//! order) and make a lane's median or percentile NaN.

use super::{norm_axis, typed_array, typed_vec};
use crate::array::{Array, Order};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Result, RuntimeError};

/// An element type with NumPy's sort order, through order-preserving `u64` keys (sorting
/// plain integers is much faster than sorting with a NaN-aware comparison).
trait Key: Element {
    /// Whether the value is NaN (sorted last, outside the keys).
    fn nan(self) -> bool;
    /// A key whose unsigned order is the value order (for floats `-0.0` before `0.0`, a
    /// valid order among equal values); the value is `from_key(key(x))` exactly.
    fn key(self) -> u64;
    /// The value of a key made by `key`.
    fn from_key(k: u64) -> Self;
    /// A key for stable argsort: equal values (`-0.0` and `0.0`, all NaNs) share a key and
    /// NaNs get the largest.
    fn stable_key(self) -> u64;
    /// The value as `f64` for statistics.
    fn as_f64(self) -> f64;
}

const SIGN: u64 = 1 << 63;

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn nan(self) -> bool {
                false
            }
            fn key(self) -> u64 {
                (i64::from(self) as u64) ^ SIGN
            }
            fn from_key(k: u64) -> Self {
                <$t>::try_from((k ^ SIGN) as i64).unwrap_or_default()
            }
            fn stable_key(self) -> u64 {
                self.key()
            }
            fn as_f64(self) -> f64 {
                self.to_scalar().to_f64()
            }
        }
    )*};
}
int_key!(i32, i64);

impl Key for bool {
    fn nan(self) -> bool {
        false
    }
    fn key(self) -> u64 {
        u64::from(self)
    }
    fn from_key(k: u64) -> Self {
        k != 0
    }
    fn stable_key(self) -> u64 {
        u64::from(self)
    }
    fn as_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
}

/// The order-preserving key of a non-NaN `f64`.
fn f64_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b & SIGN != 0 {
        !b
    } else {
        b | SIGN
    }
}

fn f64_from_key(k: u64) -> f64 {
    f64::from_bits(if k & SIGN != 0 { k ^ SIGN } else { !k })
}

macro_rules! float_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn nan(self) -> bool {
                self.is_nan()
            }
            fn key(self) -> u64 {
                f64_key(f64::from(self))
            }
            fn from_key(k: u64) -> Self {
                // Exact: the key was made from a value of this type.
                f64_from_key(k) as $t
            }
            fn stable_key(self) -> u64 {
                if self.is_nan() {
                    u64::MAX
                } else {
                    // `x + 0.0` turns -0.0 into 0.0 so the two compare equal, as in NumPy.
                    f64_key(f64::from(self) + 0.0)
                }
            }
            fn as_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
float_key!(f32, f64);

/// The lanes along `axis` as one C-order vector, and the shape with `axis` moved last.
fn lanes<T: Key>(a: &Array, axis: usize) -> Result<(Vec<T>, Vec<usize>)> {
    let last = a.ndim() - 1;
    let moved = a.swapaxes(axis as isize, last as isize)?;
    Ok((typed_vec::<T>(&moved)?, moved.shape().to_vec()))
}

/// An array of lanes in the moved layout, with the last axis put back at `axis`.
fn unmove<T: Element>(data: &[T], shape: &[usize], axis: usize) -> Result<Array> {
    let r = typed_array(data, shape)?;
    let last = shape.len() - 1;
    if axis == last {
        return Ok(r);
    }
    r.swapaxes(axis as isize, last as isize)?.copy(Order::C)
}

fn check_sortable(a: &Array, axis: isize, what: &str) -> Result<usize> {
    if a.ndim() == 0 {
        return Err(RuntimeError::Invalid(format!(
            "cannot {what} a 0-d array along an axis"
        )));
    }
    norm_axis(axis, a.ndim())
}

fn sort_t<T: Key>(a: &Array, axis: usize) -> Result<Array> {
    let (mut v, shape) = lanes::<T>(a, axis)?;
    let n = shape[shape.len() - 1];
    if n > 1 {
        let (mut keys, mut nans) = (Vec::with_capacity(n), Vec::new());
        for lane in v.chunks_mut(n) {
            keys.clear();
            nans.clear();
            for &x in lane.iter() {
                if x.nan() {
                    nans.push(x);
                } else {
                    keys.push(x.key());
                }
            }
            keys.sort_unstable();
            let sorted = keys
                .iter()
                .map(|&k| T::from_key(k))
                .chain(nans.iter().copied());
            for (dst, x) in lane.iter_mut().zip(sorted) {
                *dst = x;
            }
        }
    }
    unmove(&v, &shape, axis)
}

/// `np.sort(a, axis)`: a sorted copy; NaNs last.
pub fn sort(a: &Array, axis: isize) -> Result<Array> {
    let ax = check_sortable(a, axis, "sort")?;
    dispatch!(a.dtype(), sort_t(a, ax))
}

fn argsort_t<T: Key>(a: &Array, axis: usize) -> Result<Array> {
    let (v, shape) = lanes::<T>(a, axis)?;
    let n = shape[shape.len() - 1];
    let mut out: Vec<i64> = Vec::with_capacity(v.len());
    if n > 0 {
        // (key, position) pairs: the position breaks ties, so an unstable sort is stable.
        let mut pairs: Vec<(u64, u64)> = Vec::with_capacity(n);
        for lane in v.chunks(n) {
            pairs.clear();
            pairs.extend(lane.iter().zip(0u64..).map(|(&x, i)| (x.stable_key(), i)));
            pairs.sort_unstable();
            out.extend(pairs.iter().map(|&(_, i)| i as i64));
        }
    }
    unmove(&out, &shape, axis)
}

/// `np.argsort(a, axis, kind="stable")`: i64 indices that sort each lane; equal values
/// keep their order, NaNs last.
pub fn argsort(a: &Array, axis: isize) -> Result<Array> {
    let ax = check_sortable(a, axis, "argsort")?;
    dispatch!(a.dtype(), argsort_t(a, ax))
}

/// The data and axis for a statistic: the flattened array for `axis = None`.
fn prepare(a: &Array, axis: Option<isize>) -> Result<(Array, usize)> {
    match axis {
        None => Ok((a.reshape(&[-1])?, 0)),
        Some(ax) => {
            if a.ndim() == 0 {
                return Err(RuntimeError::Invalid(format!(
                    "axis {ax} is out of bounds for an array of dimension 0"
                )));
            }
            Ok((a.clone(), norm_axis(ax, a.ndim())?))
        }
    }
}

/// A statistic of one lane (reordered freely), appending its results.
type LaneStat<'a> = dyn Fn(&mut [f64], &mut Vec<f64>) -> Result<()> + 'a;

/// Applies `stat` to every lane along the axis (as f64 values); `stat` returns `per_lane`
/// results. The result has shape `[per_lane] + reduced` (or just `reduced` when `lead` is
/// false), in `a`'s float dtype (f64 for bools and ints).
fn stats_t<T: Key>(
    a: &Array,
    axis: Option<isize>,
    per_lane: usize,
    lead: bool,
    stat: &LaneStat,
) -> Result<Array> {
    let (data, ax) = prepare(a, axis)?;
    let (v, mut shape) = lanes::<T>(&data, ax)?;
    let n = shape.pop().unwrap_or(0);
    let count: usize = shape.iter().product();
    // Results lane-major: lane k's values at k * per_lane ...
    let mut res: Vec<f64> = Vec::with_capacity(count * per_lane);
    let mut lane: Vec<f64> = Vec::with_capacity(n);
    for k in 0..count {
        lane.clear();
        lane.extend(v.iter().skip(k * n).take(n).map(|&x| x.as_f64()));
        let before = res.len();
        stat(&mut lane, &mut res)?;
        if res.len() != before + per_lane {
            return Err(RuntimeError::Invalid(
                "internal error: a statistic returned the wrong number of values".into(),
            ));
        }
    }
    // ... then q-major for the leading axis.
    let ordered: Vec<f64> = if lead && per_lane > 1 {
        (0..per_lane)
            .flat_map(|q| (0..count).map(move |k| (k, q)))
            .map(|(k, q)| res.get(k * per_lane + q).copied().unwrap_or(f64::NAN))
            .collect()
    } else {
        res
    };
    let mut out_shape = Vec::with_capacity(shape.len() + 1);
    if lead {
        out_shape.push(per_lane);
    }
    out_shape.extend(shape);
    if a.dtype() == DType::F32 {
        let f: Vec<f32> = ordered.iter().map(|&x| x as f32).collect();
        typed_array(&f, &out_shape)
    } else {
        typed_array(&ordered, &out_shape)
    }
}

/// Whether `x` holds a NaN.
fn has_nan(x: &[f64]) -> bool {
    x.iter().any(|v| v.is_nan())
}

/// The `k`-th smallest of `x` (no NaNs, `k < x.len()`), partially reordering `x`.
fn select(x: &mut [f64], k: usize) -> f64 {
    if k >= x.len() {
        return f64::NAN;
    }
    let (_, v, _) = x.select_nth_unstable_by(k, f64::total_cmp);
    *v
}

/// The smallest of `x[k..]` after `select(x, k - 1)` put everything from `k` on above it.
fn min_from(x: &[f64], k: usize) -> f64 {
    x.iter().skip(k).copied().fold(f64::INFINITY, f64::min)
}

fn median_lane(x: &mut [f64], out: &mut Vec<f64>) -> Result<()> {
    let n = x.len();
    if n == 0 || has_nan(x) {
        out.push(f64::NAN);
        return Ok(());
    }
    let hi = select(x, n / 2);
    let m = if n % 2 == 1 {
        hi
    } else {
        let lo = select(&mut x[..n / 2], n / 2 - 1);
        (lo + hi) / 2.0
    };
    out.push(m);
    Ok(())
}

/// `np.median(a, axis)`: the middle value (mean of the two middle values for even
/// lengths); NaN when the lane has a NaN or is empty. f64 for bools and ints, else `a`'s
/// dtype. `axis = None` reduces everything to a 0-d array.
pub fn median(a: &Array, axis: Option<isize>) -> Result<Array> {
    dispatch!(a.dtype(), stats_t(a, axis, 1, false, &median_lane))
}

/// NumPy's linear-method percentile (`q` in [0, 100]) of a lane without NaNs.
fn linear(x: &mut [f64], q: f64) -> f64 {
    let n = x.len();
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let t = pos - lo as f64;
    let a = select(x, lo);
    let b = if lo + 1 < n { min_from(x, lo + 1) } else { a };
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

fn percentile_lanes(a: &Array, q: &[f64], axis: Option<isize>, lead: bool) -> Result<Array> {
    for &qi in q {
        check_q(qi)?;
    }
    let stat = |x: &mut [f64], out: &mut Vec<f64>| -> Result<()> {
        if x.is_empty() {
            return Err(RuntimeError::Invalid(
                "cannot compute a percentile of an empty array".into(),
            ));
        }
        let nan = has_nan(x);
        out.extend(
            q.iter()
                .map(|&qi| if nan { f64::NAN } else { linear(x, qi) }),
        );
        Ok(())
    };
    dispatch!(a.dtype(), stats_t(a, axis, q.len(), lead, &stat))
}

/// `np.percentile(a, q, axis)` with the default linear method, for one `q` in [0, 100]:
/// the reduced shape, f64 for bools and ints, else `a`'s dtype; NaN where a lane has a NaN.
pub fn percentile(a: &Array, q: f64, axis: Option<isize>) -> Result<Array> {
    percentile_lanes(a, &[q], axis, false)
}

/// `np.percentile(a, [q...], axis)`: like [`percentile`] with a leading axis of `len(q)`.
pub fn percentiles(a: &Array, q: &[f64], axis: Option<isize>) -> Result<Array> {
    percentile_lanes(a, q, axis, true)
}
