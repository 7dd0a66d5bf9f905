//! Shapes: broadcasting (NumPy's right-aligned rule), axis normalisation and shape printing.

use std::fmt;

/// Two shapes that do not broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastError {
    /// The left shape.
    pub a: Vec<usize>,
    /// The right shape.
    pub b: Vec<usize>,
    /// The axis of the result (counted from the left) where the sizes disagree.
    pub axis: usize,
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.a.len().max(self.b.len());
        let size = |s: &[usize]| {
            let off = n - s.len();
            if self.axis >= off {
                s[self.axis - off]
            } else {
                1
            }
        };
        write!(
            f,
            "shapes {} and {} cannot be broadcast: axis {} has sizes {} and {}",
            format_shape(&self.a),
            format_shape(&self.b),
            self.axis,
            size(&self.a),
            size(&self.b)
        )
    }
}

impl std::error::Error for BroadcastError {}

/// The broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, BroadcastError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for (i, o) in out.iter_mut().enumerate() {
        let x = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let y = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        *o = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(BroadcastError {
                    a: a.to_vec(),
                    b: b.to_vec(),
                    axis: i,
                })
            }
        };
    }
    Ok(out)
}

/// Strides for reading an array of `shape`/`strides` broadcast to `target` (0 where it
/// stretches); `None` when it does not broadcast.
pub fn broadcast_strides(
    shape: &[usize],
    strides: &[isize],
    target: &[usize],
) -> Option<Vec<isize>> {
    if shape.len() > target.len() || strides.len() != shape.len() {
        return None;
    }
    let off = target.len() - shape.len();
    let mut out = vec![0isize; target.len()];
    for (i, (&s, &st)) in shape.iter().zip(strides).enumerate() {
        let t = target[off + i];
        out[off + i] = if s == t {
            if s == 1 {
                0
            } else {
                st
            }
        } else if s == 1 {
            0
        } else {
            return None;
        };
    }
    Some(out)
}

/// A possibly negative axis as an index into `ndim` axes.
pub fn normalize_axis(axis: i64, ndim: usize) -> Option<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if (0..n).contains(&a) {
        Some(a as usize)
    } else {
        None
    }
}

/// NumPy's shape text: `(3, 4)`, `(3,)`, `()`.
pub fn format_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]), Ok(vec![3, 4]));
        assert_eq!(broadcast_shapes(&[], &[2, 3]), Ok(vec![2, 3]));
        let e = broadcast_shapes(&[3, 4], &[5]).unwrap_err();
        assert_eq!(e.axis, 1);
        assert_eq!(
            e.to_string(),
            "shapes (3, 4) and (5,) cannot be broadcast: axis 1 has sizes 4 and 5"
        );
        assert_eq!(
            broadcast_strides(&[768], &[4], &[4096, 768]),
            Some(vec![0, 4])
        );
        assert_eq!(
            broadcast_strides(&[3, 1], &[8, 8], &[3, 5]),
            Some(vec![8, 0])
        );
        assert_eq!(broadcast_strides(&[3], &[8], &[4]), None);
        assert_eq!(normalize_axis(-1, 3), Some(2));
        assert_eq!(normalize_axis(3, 3), None);
        assert_eq!(format_shape(&[3]), "(3,)");
    }
}
