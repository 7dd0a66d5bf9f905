//! Host memory for embedding: borrow a host's buffers without copying, as arguments of
//! compiled kernels ([`crate::Kernel`]) or destinations of [`crate::Session::call_into`].
//!
//! - [`ArrayRef`] and [`ArrayMut`] describe host memory (a slice with a shape, and optional
//!   strides) borrowed for a lifetime `'a`: the borrow checker, not a run-time flag, keeps
//!   the memory alive and unaliased while ndx reads or writes it.
//! - With the `ndarray` feature, `ArrayView` / `ArrayViewMut` of any strides convert into
//!   them with `try_from`, without a copy.
//!
//! Misuse does not compile. Host memory cannot be dropped while ndx may use it:
//!
//! ```compile_fail
//! let view = {
//!     let data = vec![1.0f32; 4];
//!     ndx::ArrayRef::new(&data, &[4]).unwrap()
//! }; // error: `data` does not live long enough
//! drop(view);
//! ```
//!
//! and a buffer lent for writing cannot be read or lent again meanwhile:
//!
//! ```compile_fail
//! let mut data = vec![0.0f32; 4];
//! let out = ndx::ArrayMut::new(&mut data, &[4]).unwrap();
//! let input = ndx::ArrayRef::new(&data, &[4]).unwrap(); // error: `data` is mutably borrowed
//! drop((out, input));
//! ```
//!
//! Invariant: an `ArrayRef`/`ArrayMut` only exists when every element its shape and strides
//! address lies inside the borrowed memory (checked at construction).

use crate::Error;
use ndx_runtime::{DType, Element};
use std::marker::PhantomData;

/// Element strides and the smallest and largest element offsets they reach, or an error.
fn layout(
    len: usize,
    shape: &[usize],
    strides: Option<&[isize]>,
    offset: usize,
) -> Result<Vec<isize>, Error> {
    let strides: Vec<isize> = match strides {
        Some(s) if s.len() != shape.len() => {
            return Err(Error::plain(
                "E0300",
                &format!(
                    "{} strides given for a shape of {} dimensions",
                    s.len(),
                    shape.len()
                ),
            ))
        }
        Some(s) => s.to_vec(),
        None => {
            let mut st = vec![0isize; shape.len()];
            let mut acc: isize = 1;
            for (s, &n) in st.iter_mut().zip(shape).rev() {
                *s = acc;
                acc = acc.saturating_mul(n as isize);
            }
            st
        }
    };
    let n: usize = shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| Error::plain("E0300", "the shape has more elements than memory can hold"))?;
    if strides.is_empty() || n == 0 {
        if n > 0 && offset >= len {
            return Err(Error::plain("E0300", "the offset is outside the slice"));
        }
        if strides.is_empty() && n == 1 && len == 0 {
            return Err(Error::plain("E0300", "an empty slice has no element"));
        }
        return Ok(strides);
    }
    let (mut lo, mut hi) = (offset as i128, offset as i128);
    for (&d, &s) in shape.iter().zip(&strides) {
        let span = i128::from(s as i64) * (d as i128 - 1);
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi >= len as i128 {
        return Err(Error::plain(
            "E0300",
            &format!(
                "shape {} with strides {strides:?} reaches outside a slice of {len} elements",
                ndx_ir::shape::format_shape(shape)
            ),
        ));
    }
    Ok(strides)
}

/// A host array ndx may read: a borrowed slice with a shape (and strides), no copy.
///
/// ```
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = ndx::ArrayRef::new(&data, &[2, 3]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// // Every other element of the first row, by element strides and an offset:
/// let b = ndx::ArrayRef::strided(&data, &[2], &[2], 0).unwrap();
/// assert_eq!(b.shape(), &[2]);
/// assert!(ndx::ArrayRef::new(&data, &[4, 2]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ArrayRef<'a> {
    pub(crate) ptr: *const u8,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    /// Byte strides.
    pub(crate) strides: Vec<isize>,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: an ArrayRef is a shared borrow of plain element memory, like `&'a [T]` for the
// `Element` types (all `Send + Sync`).
unsafe impl Send for ArrayRef<'_> {}
// SAFETY: as above.
unsafe impl Sync for ArrayRef<'_> {}

impl<'a> ArrayRef<'a> {
    /// A C-ordered array of `shape` over all of `data` (its length must be the shape's size).
    pub fn new<T: Element>(data: &'a [T], shape: &[usize]) -> Result<ArrayRef<'a>, Error> {
        check_len(data.len(), shape)?;
        ArrayRef::strided(data, shape, &c_elem_strides(shape), 0)
    }

    /// An array of `shape` whose element `i` is `data[offset + sum(i[k] * strides[k])]`
    /// (strides in elements; negative and zero strides are allowed).
    pub fn strided<T: Element>(
        data: &'a [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<ArrayRef<'a>, Error> {
        let st = layout(data.len(), shape, Some(strides), offset)?;
        let size = std::mem::size_of::<T>() as isize;
        Ok(ArrayRef {
            // `wrapping_add`: an empty array's offset may be one past the end.
            ptr: data.as_ptr().wrapping_add(offset).cast::<u8>(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            strides: st.iter().map(|s| s * size).collect(),
            _borrow: PhantomData,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}

/// A host array ndx may read and write: a borrowed mutable slice with a shape (and
/// strides), no copy.
///
/// ```
/// let mut out = vec![0.0f64; 6];
/// let a = ndx::ArrayMut::new(&mut out, &[2, 3]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// ```
#[derive(Debug)]
pub struct ArrayMut<'a> {
    pub(crate) ptr: *mut u8,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    /// Byte strides.
    pub(crate) strides: Vec<isize>,
    _borrow: PhantomData<&'a mut [u8]>,
}

// SAFETY: an ArrayMut is an exclusive borrow of plain element memory, like `&'a mut [T]`.
unsafe impl Send for ArrayMut<'_> {}
// SAFETY: as above: shared access to an ArrayMut gives no way to write through it (calls
// take `&mut`).
unsafe impl Sync for ArrayMut<'_> {}

impl<'a> ArrayMut<'a> {
    /// A C-ordered array of `shape` over all of `data`.
    pub fn new<T: Element>(data: &'a mut [T], shape: &[usize]) -> Result<ArrayMut<'a>, Error> {
        check_len(data.len(), shape)?;
        ArrayMut::strided(data, shape, &c_elem_strides(shape), 0)
    }

    /// An array of `shape` whose element `i` is `data[offset + sum(i[k] * strides[k])]`
    /// (strides in elements). Zero strides are refused: a written array must not alias
    /// itself.
    pub fn strided<T: Element>(
        data: &'a mut [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<ArrayMut<'a>, Error> {
        let st = layout(data.len(), shape, Some(strides), offset)?;
        if shape.iter().zip(&st).any(|(&n, &s)| n > 1 && s == 0) {
            return Err(Error::plain(
                "E0300",
                "a writable array cannot have a zero stride (its elements would alias)",
            ));
        }
        let size = std::mem::size_of::<T>() as isize;
        Ok(ArrayMut {
            ptr: data.as_mut_ptr().wrapping_add(offset).cast::<u8>(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            strides: st.iter().map(|s| s * size).collect(),
            _borrow: PhantomData,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}

fn check_len(len: usize, shape: &[usize]) -> Result<(), Error> {
    let n = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    if n != Some(len) {
        return Err(Error::plain(
            "E0300",
            &format!(
                "a slice of {len} elements cannot have shape {}",
                ndx_ir::shape::format_shape(shape)
            ),
        ));
    }
    Ok(())
}

fn c_elem_strides(shape: &[usize]) -> Vec<isize> {
    let mut st = vec![0isize; shape.len()];
    let mut acc: isize = 1;
    for (s, &n) in st.iter_mut().zip(shape).rev() {
        *s = acc;
        acc = acc.saturating_mul(n as isize);
    }
    st
}

#[cfg(feature = "ndarray")]
mod nd {
    use super::{ArrayMut, ArrayRef};
    use crate::Error;
    use ndx_runtime::Element;
    use std::marker::PhantomData;

    impl<'a, T: Element, D: ndarray::Dimension> TryFrom<ndarray::ArrayView<'a, T, D>> for ArrayRef<'a> {
        type Error = Error;

        /// Borrows an `ndarray` view of any strides (negative ones included) without a copy.
        fn try_from(v: ndarray::ArrayView<'a, T, D>) -> Result<ArrayRef<'a>, Error> {
            let size = std::mem::size_of::<T>() as isize;
            Ok(ArrayRef {
                ptr: v.as_ptr().cast::<u8>(),
                dtype: T::DTYPE,
                shape: v.shape().to_vec(),
                strides: v.strides().iter().map(|s| s * size).collect(),
                _borrow: PhantomData,
            })
        }
    }

    impl<'a, T: Element, D: ndarray::Dimension> TryFrom<ndarray::ArrayViewMut<'a, T, D>>
        for ArrayMut<'a>
    {
        type Error = Error;

        /// Borrows a mutable `ndarray` view of any strides without a copy.
        fn try_from(mut v: ndarray::ArrayViewMut<'a, T, D>) -> Result<ArrayMut<'a>, Error> {
            let size = std::mem::size_of::<T>() as isize;
            let shape = v.shape().to_vec();
            let strides: Vec<isize> = v.strides().iter().map(|s| s * size).collect();
            if shape.iter().zip(&strides).any(|(&n, &s)| n > 1 && s == 0) {
                return Err(Error::plain(
                    "E0300",
                    "a writable array cannot have a zero stride (its elements would alias)",
                ));
            }
            Ok(ArrayMut {
                ptr: v.as_mut_ptr().cast::<u8>(),
                dtype: T::DTYPE,
                shape,
                strides,
                _borrow: PhantomData,
            })
        }
    }
}
