//! `arange`, `linspace`, `eye`: new C-contiguous arrays, at most 2^31 elements for the
//! 1-D sequences.

use super::typed_new;
use crate::array::Array;
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Result, RuntimeError};

/// Longest sequence a constructor makes.
const MAX_LEN: f64 = (1u64 << 31) as f64;

/// `np.arange(start, stop, step, dtype)`: `ceil((stop - start) / step)` values
/// `start + i * step` (exact integer arithmetic when all three are integers); step 0, non-finite
/// bounds and more than 2^31 values are errors.
pub fn arange(start: Scalar, stop: Scalar, step: Scalar, dtype: DType) -> Result<Array> {
    let ints = [start, stop, step].iter().all(|s| !s.dtype().is_float());
    if ints {
        let (a, b, s) = (start.to_i64(), stop.to_i64(), step.to_i64());
        if s == 0 {
            return Err(RuntimeError::Invalid(
                "arange: step must not be zero".into(),
            ));
        }
        let span = (i128::from(b) - i128::from(a)) as f64;
        let n = (span / s as f64).ceil().max(0.0);
        if n > MAX_LEN {
            return Err(RuntimeError::TooLarge(format!("arange of {n} elements")));
        }
        return filled(dtype, n as usize, |i| {
            Scalar::I64(a.wrapping_add((i as i64).wrapping_mul(s)))
        });
    }
    let (a, b, s) = (start.to_f64(), stop.to_f64(), step.to_f64());
    if s == 0.0 || !s.is_finite() || !a.is_finite() || !b.is_finite() {
        return Err(RuntimeError::Invalid(
            "arange: start, stop and step must be finite and step non-zero".into(),
        ));
    }
    let n = ((b - a) / s).ceil().max(0.0);
    if n > MAX_LEN {
        return Err(RuntimeError::TooLarge(format!("arange of {n} elements")));
    }
    filled(dtype, n as usize, |i| Scalar::F64(a + i as f64 * s))
}

/// `np.linspace(start, stop, num, endpoint, dtype)`: `start + i * step`, the last value
/// exactly `stop` when `endpoint`; integer dtypes take the floor, as NumPy does.
pub fn linspace(start: f64, stop: f64, num: usize, endpoint: bool, dtype: DType) -> Result<Array> {
    if num as f64 > MAX_LEN {
        return Err(RuntimeError::TooLarge(format!(
            "linspace of {num} elements"
        )));
    }
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let step = if div > 0 {
        (stop - start) / div as f64
    } else {
        0.0
    };
    let floor = !dtype.is_float();
    filled(dtype, num, |i| {
        let v = if endpoint && num > 1 && i == num - 1 {
            stop
        } else {
            start + i as f64 * step
        };
        Scalar::F64(if floor { v.floor() } else { v })
    })
}

/// `np.eye(n, m, dtype)`: an `n x m` (`n x n` without `m`) array with ones on the diagonal.
pub fn eye(n: usize, m: Option<usize>, dtype: DType) -> Result<Array> {
    let m = m.unwrap_or(n);
    let a = Array::zeros(dtype, &[n, m])?;
    for i in 0..n.min(m) {
        a.set(&[i, i], Scalar::I64(1))?;
    }
    Ok(a)
}

/// A new 1-D array of `n` elements computed by `f` (cast to `dtype`), written in place.
pub(crate) fn filled(dtype: DType, n: usize, f: impl FnMut(usize) -> Scalar) -> Result<Array> {
    dispatch!(dtype, filled_t(n, f))
}

fn filled_t<T: Element>(n: usize, mut f: impl FnMut(usize) -> Scalar) -> Result<Array> {
    typed_new::<T>(&[n], |s| {
        for (i, x) in s.iter_mut().enumerate() {
            x.write(T::from_scalar(f(i)));
        }
    })
}
