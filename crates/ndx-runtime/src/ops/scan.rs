//! `cumsum` and `cumprod` with NumPy's dtypes: i64 for bool and ints (wrapping on
//! overflow), floats keep theirs. The scan axis is moved last and the data copied out as
//! one typed C-order vector, scanned lane by lane, and moved back.

use super::{norm_axis, typed_array, typed_vec};
use crate::array::{Array, Order};
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
    let last = data.ndim() - 1;
    let moved = data.swapaxes(ax as isize, last as isize)?;
    let shape = moved.shape().to_vec();
    let mut v = typed_vec::<T>(&moved.astype(T::DTYPE)?)?;
    let n = shape[last];
    if n > 1 {
        for lane in v.chunks_mut(n) {
            let mut acc = lane[0];
            for x in lane.iter_mut().skip(1) {
                acc = if prod { acc.mul(*x) } else { acc.add(*x) };
                *x = acc;
            }
        }
    }
    let r = typed_array(&v, &shape)?;
    if ax == last {
        return Ok(r);
    }
    r.swapaxes(ax as isize, last as isize)?.copy(Order::C)
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
