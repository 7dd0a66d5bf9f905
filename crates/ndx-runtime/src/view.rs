//! Views: basic indexing, transposes, broadcasting and reshapes that share memory.
//!
//! Every function here returns an array over the same buffer (except `reshape`/`ravel` when
//! the strides do not allow a view, which copy in C order, as NumPy does).

use crate::array::{c_strides, fmt_shape, Array, Order};
use crate::error::{Result, RuntimeError};

/// One item of a basic index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexSpec {
    /// An integer (negative counts from the end); removes the axis.
    Int(i64),
    /// `start:stop:step` with Python's rules.
    Slice {
        /// The start.
        start: Option<i64>,
        /// The stop.
        stop: Option<i64>,
        /// The step (not zero).
        step: Option<i64>,
    },
    /// `newaxis`: inserts an axis of length 1.
    NewAxis,
    /// `...`: as many full slices as needed.
    Ellipsis,
}

/// Python's `slice.indices`: the first index, the step and the count.
fn slice_range(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    len: usize,
) -> Result<(i64, i64, usize)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(RuntimeError::Invalid("slice step cannot be zero".into()));
    }
    let n = len as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (s, e) = if step > 0 {
        (
            clamp(start.map_or(0, norm), 0, n),
            clamp(stop.map_or(n, norm), 0, n),
        )
    } else {
        (
            clamp(start.map_or(n - 1, norm), -1, n - 1),
            clamp(
                stop.map_or(-1, |v| if v < 0 { (v + n).max(-1) } else { v }),
                -1,
                n - 1,
            ),
        )
    };
    let count = if step > 0 {
        if e > s {
            ((e - s) + step - 1) / step
        } else {
            0
        }
    } else if s > e {
        ((s - e) + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok((s, step, count as usize))
}

impl Array {
    /// Basic indexing: a view.
    pub fn index(&self, items: &[IndexSpec]) -> Result<Array> {
        let ellipses = items.iter().filter(|i| **i == IndexSpec::Ellipsis).count();
        if ellipses > 1 {
            return Err(RuntimeError::Invalid(
                "an index can only have a single ellipsis ('...')".into(),
            ));
        }
        let consuming = items
            .iter()
            .filter(|i| matches!(i, IndexSpec::Int(_) | IndexSpec::Slice { .. }))
            .count();
        if consuming > self.ndim() {
            return Err(RuntimeError::Invalid(format!(
                "too many indices for array: array is {}-dimensional, but {consuming} were indexed",
                self.ndim()
            )));
        }
        let fill = self.ndim() - consuming;
        let mut expanded: Vec<IndexSpec> = Vec::new();
        for it in items {
            if *it == IndexSpec::Ellipsis {
                expanded.extend(std::iter::repeat_n(
                    IndexSpec::Slice {
                        start: None,
                        stop: None,
                        step: None,
                    },
                    fill,
                ));
            } else {
                expanded.push(it.clone());
            }
        }
        if ellipses == 0 {
            expanded.extend(std::iter::repeat_n(
                IndexSpec::Slice {
                    start: None,
                    stop: None,
                    step: None,
                },
                fill,
            ));
        }
        let mut shape = Vec::new();
        let mut strides = Vec::new();
        let mut offset = self.offset as isize;
        let mut axis = 0usize;
        for it in &expanded {
            match it {
                IndexSpec::NewAxis => {
                    shape.push(1);
                    strides.push(0);
                }
                IndexSpec::Int(i) => {
                    let n = self.shape[axis];
                    let k = if *i < 0 { i + n as i64 } else { *i };
                    if k < 0 || k >= n as i64 {
                        return Err(RuntimeError::OutOfBounds {
                            index: *i,
                            axis,
                            size: n,
                        });
                    }
                    offset += k as isize * self.strides[axis];
                    axis += 1;
                }
                IndexSpec::Slice { start, stop, step } => {
                    let (s, st, count) = slice_range(*start, *stop, *step, self.shape[axis])?;
                    if count > 0 {
                        offset += s as isize * self.strides[axis];
                    }
                    shape.push(count);
                    strides.push(self.strides[axis] * st as isize);
                    axis += 1;
                }
                IndexSpec::Ellipsis => {}
            }
        }
        Ok(Array {
            buffer: self.buffer.clone(),
            dtype: self.dtype,
            shape,
            strides,
            offset: offset.max(0) as usize,
        })
    }

    /// Permutes the axes (`None` reverses them).
    pub fn transpose(&self, axes: Option<&[usize]>) -> Result<Array> {
        let n = self.ndim();
        let perm: Vec<usize> = match axes {
            None => (0..n).rev().collect(),
            Some(a) => a.to_vec(),
        };
        let mut seen = vec![false; n];
        if perm.len() != n
            || perm
                .iter()
                .any(|&p| p >= n || std::mem::replace(&mut seen[p], true))
        {
            return Err(RuntimeError::Invalid(format!(
                "axes {perm:?} don't match an array of dimension {n}"
            )));
        }
        let mut a = self.clone();
        a.shape = perm.iter().map(|&p| self.shape[p]).collect();
        a.strides = perm.iter().map(|&p| self.strides[p]).collect();
        Ok(a)
    }

    /// Swaps two axes.
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Array> {
        let (a, b) = (
            crate::ops::norm_axis(a, self.ndim())?,
            crate::ops::norm_axis(b, self.ndim())?,
        );
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(a, b);
        self.transpose(Some(&perm))
    }

    /// Inserts an axis of length 1 at `axis` (of the result).
    pub fn expand_dims(&self, axis: isize) -> Result<Array> {
        let ax = crate::ops::norm_axis(axis, self.ndim() + 1)?;
        let mut a = self.clone();
        a.shape.insert(ax, 1);
        a.strides.insert(ax, 0);
        Ok(a)
    }

    /// Removes axes of length 1 (all of them, or the ones named).
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        let drop: Vec<bool> = match axes {
            None => self.shape.iter().map(|&n| n == 1).collect(),
            Some(list) => {
                let mut d = vec![false; self.ndim()];
                for &ax in list {
                    let k = crate::ops::norm_axis(ax, self.ndim())?;
                    if self.shape[k] != 1 {
                        return Err(RuntimeError::Invalid(format!(
                            "cannot select an axis to squeeze out which has size not equal to one (axis {ax} has size {})",
                            self.shape[k]
                        )));
                    }
                    d[k] = true;
                }
                d
            }
        };
        let mut a = self.clone();
        a.shape = self
            .shape
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| *s)
            .collect();
        a.strides = self
            .strides
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| *s)
            .collect();
        Ok(a)
    }

    /// A read-only-in-spirit view broadcast to `shape` (stride 0 where it stretches).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        let err = || {
            RuntimeError::Shape(format!(
                "operands could not be broadcast together: cannot broadcast shape {} to {}",
                fmt_shape(&self.shape),
                fmt_shape(shape)
            ))
        };
        if shape.len() < self.ndim() {
            return Err(err());
        }
        // As in NumPy, a view's size in bytes must fit an isize even when it allocates nothing,
        // so element counts of any view never overflow.
        let fits = shape
            .iter()
            .try_fold(self.itemsize(), |acc, &d| acc.checked_mul(d))
            .is_some_and(|b| isize::try_from(b).is_ok());
        if !fits {
            return Err(RuntimeError::TooLarge(format!(
                "a view of shape {} is too big",
                fmt_shape(shape)
            )));
        }
        let off = shape.len() - self.ndim();
        let mut strides = vec![0isize; shape.len()];
        for (i, (&n, &s)) in self.shape.iter().zip(&self.strides).enumerate() {
            let t = shape[off + i];
            strides[off + i] = if n == t {
                s
            } else if n == 1 {
                0
            } else {
                return Err(err());
            };
        }
        let mut a = self.clone();
        a.shape = shape.to_vec();
        a.strides = strides;
        Ok(a)
    }

    /// A new shape with the same elements in C order; a view when the strides allow it.
    pub fn reshape(&self, shape: &[i64]) -> Result<Array> {
        let size = self.size();
        let unknown: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == -1)
            .map(|(i, _)| i)
            .collect();
        let shown = || {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        };
        let bad = || {
            RuntimeError::Shape(format!(
                "cannot reshape array of size {size} into shape {}",
                shown()
            ))
        };
        if unknown.len() > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let known: usize = shape
            .iter()
            .filter(|&&d| d != -1)
            .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
            .ok_or_else(bad)?;
        let mut dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&u) = unknown.first() {
            if known == 0 || !size.is_multiple_of(known) {
                return Err(bad());
            }
            dims[u] = size / known;
        } else if known != size {
            return Err(bad());
        }
        if let Some(strides) = reshape_strides(&self.shape, &self.strides, &dims) {
            let mut a = self.clone();
            a.shape = dims;
            a.strides = strides;
            return Ok(a);
        }
        let mut c = self.copy(Order::C)?;
        c.strides = c_strides(&dims, c.itemsize());
        c.shape = dims;
        Ok(c)
    }

    /// The elements as a 1-D array (a view when C-contiguous).
    pub fn ravel(&self) -> Result<Array> {
        self.reshape(&[-1])
    }
}

/// Strides for viewing `shape`/`strides` as `new` without a copy (NumPy's attempt_nocopy),
/// or `None` when a copy is needed.
fn reshape_strides(shape: &[usize], strides: &[isize], new: &[usize]) -> Option<Vec<isize>> {
    let size: usize = shape.iter().product();
    if size == 0 || new.is_empty() || shape.is_empty() {
        let itemsize = 1;
        let _ = itemsize;
        // Empty or 0-d: any C strides work (the data is at most one element).
        let mut s = vec![0isize; new.len()];
        let mut acc = strides.last().copied().unwrap_or(1).max(1);
        for (st, &n) in s.iter_mut().zip(new).rev() {
            *st = acc;
            acc *= n.max(1) as isize;
        }
        return Some(s);
    }
    let old: Vec<(usize, isize)> = shape
        .iter()
        .copied()
        .zip(strides.iter().copied())
        .filter(|(n, _)| *n != 1)
        .collect();
    let mut out = vec![0isize; new.len()];
    let (mut oi, mut ni) = (0usize, 0usize);
    while ni < new.len() && oi < old.len() {
        let (mut np, mut op) = (new[ni], old[oi].0);
        let (oj0, nj0) = (oi, ni);
        let (mut oj, mut nj) = (oi + 1, ni + 1);
        while np != op {
            if np < op {
                np *= *new.get(nj)?;
                nj += 1;
            } else {
                op *= old.get(oj)?.0;
                oj += 1;
            }
        }
        for k in oj0..oj - 1 {
            if old[k].1 != old[k + 1].1 * old[k + 1].0 as isize {
                return None;
            }
        }
        out[nj - 1] = old[oj - 1].1;
        for k in (nj0 + 1..nj).rev() {
            out[k - 1] = out[k] * new[k] as isize;
        }
        oi = oj;
        ni = nj;
    }
    // Trailing new axes of length 1.
    let last = out.get(ni.saturating_sub(1)).copied().unwrap_or(1);
    for s in out.iter_mut().skip(ni) {
        *s = last;
    }
    Some(out)
}
