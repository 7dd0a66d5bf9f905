//! `cumsum` and `cumprod` with NumPy's dtypes: i64 for bool and ints (wrapping on
//! overflow), floats keep theirs. The data is copied out as one typed C-order vector and
//! scanned in place along the axis, a contiguous row at a time.

use super::{norm_axis, typed_array, typed_vec};
use crate::array::Array;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::Result;

/// An accumulator type of a scan.
trait Acc: Element {
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
}

impl Acc for i64 {
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn mul(self, other: Self) -> Self {
        self.wrapping_mul(other)
    }
}

macro_rules! float_acc {
    ($($t:ty),*) => {$(
        impl Acc for $t {
            fn add(self, other: Self) -> Self {
                self + other
            }
            fn mul(self, other: Self) -> Self {
                self * other
            }
        }
    )*};
}
float_acc!(f32, f64);

fn scan_t<T: Acc>(data: &Array, ax: usize, prod: bool) -> Result<Array> {
    // A C-order copy in the result dtype, scanned in place: along `ax`, row `j` of each
    // outer block accumulates row `j - 1` (`inner` contiguous elements at a time).
    let shape = data.shape().to_vec();
    let mut v = if data.dtype() == T::DTYPE {
        typed_vec::<T>(data)?
    } else {
        typed_vec::<T>(&data.astype(T::DTYPE)?)?
    };
    let n = shape.get(ax).copied().unwrap_or(1);
    let inner: usize = shape.iter().skip(ax + 1).product();
    let block = n * inner;
    if n > 1 && inner > 0 {
        for b in v.chunks_mut(block) {
            for j in 1..n {
                let (done, rest) = b.split_at_mut(j * inner);
                let prev = &done[(j - 1) * inner..];
                for (x, &p) in rest.iter_mut().take(inner).zip(prev) {
                    *x = if prod { p.mul(*x) } else { p.add(*x) };
                }
            }
        }
    }
    typed_array(&v, &shape)
}

fn scan(a: &Array, axis: Option<isize>, prod: bool) -> Result<Array> {
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
    match a.dtype() {
        DType::F32 => scan_t::<f32>(&data, ax, prod),
        DType::F64 => scan_t::<f64>(&data, ax, prod),
        DType::Bool | DType::I32 | DType::I64 => scan_t::<i64>(&data, ax, prod),
    }
}

/// `np.cumsum(a, axis)`: running sums along `axis`; `axis = None` flattens in C order.
/// The result is i64 for bool and int inputs, else `a`'s dtype.
pub fn cumsum(a: &Array, axis: Option<isize>) -> Result<Array> {
    scan(a, axis, false)
}

/// `np.cumprod(a, axis)`: running products along `axis`; `axis = None` flattens in C
/// order. The result is i64 for bool and int inputs, else `a`'s dtype.
pub fn cumprod(a: &Array, axis: Option<isize>) -> Result<Array> {
    scan(a, axis, true)
}
