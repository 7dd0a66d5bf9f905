//! Arrays: a shared [`Buffer`] plus dtype, shape, byte strides and an offset.
//!
//! Invariants: every element addressed by `offset + sum(i_k * strides[k])` for in-range
//! indices lies inside the buffer (checked at construction, preserved by every view), and
//! the dtype's size divides nothing in particular: strides are arbitrary byte counts, as in
//! NumPy. Views share the buffer; writes through one are seen by all.

use crate::buffer::{Buffer, MAX_BYTES};
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Result, RuntimeError};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// An n-dimensional array or view.
#[derive(Clone, Debug)]
pub struct Array {
    pub(crate) buffer: Arc<Buffer>,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    pub(crate) strides: Vec<isize>,
    pub(crate) offset: usize,
}

/// Memory order of a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Row-major (last axis contiguous).
    C,
    /// Column-major (first axis contiguous).
    F,
}

/// Byte strides of a C-contiguous array.
pub fn c_strides(shape: &[usize], itemsize: usize) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = itemsize as isize;
    for (st, &n) in s.iter_mut().zip(shape).rev() {
        *st = acc;
        acc = acc.saturating_mul(n.max(1) as isize);
    }
    s
}

/// The number of elements of a shape, or an error when it overflows the size limit.
pub fn checked_size(shape: &[usize], itemsize: usize) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n
            .checked_mul(d)
            .ok_or_else(|| RuntimeError::TooLarge(format!("shape {shape:?}")))?;
    }
    let bytes = n
        .checked_mul(itemsize)
        .ok_or_else(|| RuntimeError::TooLarge(format!("shape {shape:?}")))?;
    if bytes > MAX_BYTES {
        return Err(RuntimeError::TooLarge(format!(
            "{bytes} bytes for shape {shape:?}"
        )));
    }
    Ok(n)
}

impl Array {
    /// A new C-contiguous array of zeros.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Array> {
        let n = checked_size(shape, dtype.size())?;
        let buffer = Arc::new(Buffer::zeroed(n * dtype.size())?);
        Ok(Array {
            buffer,
            dtype,
            shape: shape.to_vec(),
            strides: c_strides(shape, dtype.size()),
            offset: 0,
        })
    }

    /// A new C-contiguous array whose elements are unspecified: for results that a kernel
    /// writes completely before anything reads them. Large ones may reuse freed memory.
    pub fn empty(dtype: DType, shape: &[usize]) -> Result<Array> {
        let n = checked_size(shape, dtype.size())?;
        let buffer = Arc::new(Buffer::dirty(n * dtype.size())?);
        Ok(Array {
            buffer,
            dtype,
            shape: shape.to_vec(),
            strides: c_strides(shape, dtype.size()),
            offset: 0,
        })
    }

    /// A new array filled with `value` (of `value`'s dtype).
    pub fn full(shape: &[usize], value: Scalar) -> Result<Array> {
        let a = Array::zeros(value.dtype(), shape)?;
        a.fill(value)?;
        Ok(a)
    }

    /// A 0-d array holding `value`.
    pub fn scalar(value: Scalar) -> Array {
        let d = value.dtype();
        // An 8-byte allocation cannot exceed any limit; fall back to an empty array only if the
        // allocator itself fails, which `Buffer::zeroed` reports rather than aborting.
        match Buffer::zeroed(d.size()) {
            Ok(b) => {
                let a = Array {
                    buffer: Arc::new(b),
                    dtype: d,
                    shape: Vec::new(),
                    strides: Vec::new(),
                    offset: 0,
                };
                a.write(0, value);
                a
            }
            Err(_) => Array {
                buffer: Arc::new(empty_buffer()),
                dtype: d,
                shape: vec![0],
                strides: vec![0],
                offset: 0,
            },
        }
    }

    /// An array owning a copy of `data` in C order.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Array> {
        let n = checked_size(shape, T::DTYPE.size())?;
        if n != data.len() {
            return Err(RuntimeError::Shape(format!(
                "{} values cannot fill shape {}",
                data.len(),
                fmt_shape(shape)
            )));
        }
        let a = Array::zeros(T::DTYPE, shape)?;
        for (i, v) in data.into_iter().enumerate() {
            a.write((i * T::DTYPE.size()) as isize, v.to_scalar());
        }
        Ok(a)
    }

    /// An array of `dtype` from scalars (each cast) in C order.
    pub fn from_scalars(dtype: DType, data: &[Scalar], shape: &[usize]) -> Result<Array> {
        let n = checked_size(shape, dtype.size())?;
        if n != data.len() {
            return Err(RuntimeError::Shape(format!(
                "{} values cannot fill shape {}",
                data.len(),
                fmt_shape(shape)
            )));
        }
        let a = Array::zeros(dtype, shape)?;
        for (i, v) in data.iter().enumerate() {
            a.write((i * dtype.size()) as isize, v.cast(dtype));
        }
        Ok(a)
    }

    /// An array over memory lent by a host, without a copy.
    ///
    /// # Safety
    /// `ptr..ptr+len_bytes` must stay valid (and, if `writable`, exclusively ours) while
    /// `alive` is true; the caller clears `alive` before the memory goes away.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn from_raw_parts(
        ptr: *mut u8,
        len_bytes: usize,
        dtype: DType,
        shape: &[usize],
        strides: &[isize],
        writable: bool,
        alive: Arc<AtomicBool>,
    ) -> Result<Array> {
        if shape.len() != strides.len() {
            return Err(RuntimeError::Invalid(
                "shape and strides differ in length".into(),
            ));
        }
        // SAFETY: forwarded from the caller.
        let buffer = Arc::new(unsafe { Buffer::lent(ptr, len_bytes, writable, alive) });
        let a = Array {
            buffer,
            dtype,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset: 0,
        };
        a.check_extent()?;
        Ok(a)
    }

    /// An array over memory lent by a host whose element 0 is `offset` bytes into it (so
    /// negative strides can reach back towards the start), without a copy.
    ///
    /// # Safety
    /// As [`Array::from_raw_parts`].
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn from_raw_parts_at(
        ptr: *mut u8,
        len_bytes: usize,
        dtype: DType,
        offset: usize,
        shape: &[usize],
        strides: &[isize],
        writable: bool,
        alive: Arc<AtomicBool>,
    ) -> Result<Array> {
        if shape.len() != strides.len() {
            return Err(RuntimeError::Invalid(
                "shape and strides differ in length".into(),
            ));
        }
        // SAFETY: forwarded from the caller.
        let buffer = Arc::new(unsafe { Buffer::lent(ptr, len_bytes, writable, alive) });
        let a = Array {
            buffer,
            dtype,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset,
        };
        a.check_extent()?;
        Ok(a)
    }

    /// Checks that every element lies inside the buffer.
    pub(crate) fn check_extent(&self) -> Result<()> {
        if self.size() == 0 {
            return Ok(());
        }
        let (lo, hi) = self.byte_extent();
        if lo < 0 || hi as usize > self.buffer.len() {
            return Err(RuntimeError::Invalid(format!(
                "a view of shape {} reaches outside its {}-byte buffer",
                fmt_shape(&self.shape),
                self.buffer.len()
            )));
        }
        Ok(())
    }

    /// The lowest and one-past-highest byte offsets (from the buffer start) of the elements.
    pub(crate) fn byte_extent(&self) -> (isize, isize) {
        let mut lo = self.offset as isize;
        let mut hi = self.offset as isize;
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            if n == 0 {
                return (self.offset as isize, self.offset as isize);
            }
            let span = s * (n as isize - 1);
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        (lo, hi + self.dtype.size() as isize)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Byte strides, one per axis.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        self.dtype.size()
    }
    /// Bytes of the elements (`size * itemsize`).
    pub fn nbytes(&self) -> usize {
        self.size() * self.itemsize()
    }
    /// Whether writes are allowed.
    pub fn is_writable(&self) -> bool {
        self.buffer.writable()
    }

    /// True when the elements are laid out in C order without gaps.
    pub fn is_c_contiguous(&self) -> bool {
        contiguous(&self.shape, &self.strides, self.itemsize(), false)
    }

    /// True when the elements are laid out in Fortran order without gaps.
    pub fn is_f_contiguous(&self) -> bool {
        contiguous(&self.shape, &self.strides, self.itemsize(), true)
    }

    /// The address of element `[0, ..., 0]`.
    pub fn ptr(&self) -> Result<*mut u8> {
        let base = self.buffer.base()?;
        Ok(base.wrapping_add(self.offset))
    }

    /// Reads the element at byte offset `off` from element 0 (must be in range).
    pub(crate) fn read(&self, off: isize) -> Scalar {
        match self.buffer.base() {
            Ok(base) => {
                let n = self.dtype.size();
                let at = (self.offset as isize + off) as usize;
                // SAFETY: `at..at+n` is inside the buffer by the extent invariant.
                let bytes = unsafe { std::slice::from_raw_parts(base.add(at), n) };
                Scalar::read_le(self.dtype, bytes)
            }
            Err(_) => Scalar::Bool(false).cast(self.dtype),
        }
    }

    /// Writes the element at byte offset `off` (must be in range); the value is cast.
    pub(crate) fn write(&self, off: isize, v: Scalar) {
        if let Ok(base) = self.buffer.base() {
            let n = self.dtype.size();
            let at = (self.offset as isize + off) as usize;
            // SAFETY: as in `read`.
            let bytes = unsafe { std::slice::from_raw_parts_mut(base.add(at), n) };
            v.cast(self.dtype).write_le(bytes);
        }
    }

    /// Byte offset of a multi-index, checked.
    fn offset_of(&self, index: &[usize]) -> Result<isize> {
        if index.len() != self.ndim() {
            return Err(RuntimeError::Invalid(format!(
                "{} indices for an array of dimension {}",
                index.len(),
                self.ndim()
            )));
        }
        let mut off = 0isize;
        for (axis, ((&i, &n), &s)) in index.iter().zip(&self.shape).zip(&self.strides).enumerate() {
            if i >= n {
                return Err(RuntimeError::OutOfBounds {
                    index: i as i64,
                    axis,
                    size: n,
                });
            }
            off += i as isize * s;
        }
        Ok(off)
    }

    /// The element at a multi-index.
    pub fn get(&self, index: &[usize]) -> Result<Scalar> {
        self.buffer.base()?;
        Ok(self.read(self.offset_of(index)?))
    }

    /// Sets the element at a multi-index (the value is cast to the dtype).
    pub fn set(&self, index: &[usize], value: Scalar) -> Result<()> {
        if !self.is_writable() {
            return Err(RuntimeError::ReadOnly);
        }
        self.buffer.base()?;
        self.write(self.offset_of(index)?, value);
        Ok(())
    }

    /// The only element of a size-1 array.
    pub fn item(&self) -> Result<Scalar> {
        if self.size() != 1 {
            return Err(RuntimeError::Invalid(format!(
                "only size-1 arrays can be converted to scalars (this one has shape {})",
                fmt_shape(&self.shape)
            )));
        }
        self.buffer.base()?;
        Ok(self.read(0))
    }

    /// Calls `f` with the byte offset of every element, in C order.
    pub(crate) fn for_each_offset(&self, mut f: impl FnMut(isize)) {
        let strides = self.strides.clone();
        Array::for_each_index(&self.shape, |idx| {
            f(idx
                .iter()
                .zip(&strides)
                .map(|(&i, &s)| i as isize * s)
                .sum());
        });
    }

    /// Visits every multi-index of `shape` in C order (once for a 0-d shape, never for an
    /// empty one).
    pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
        if shape.contains(&0) {
            return;
        }
        let mut idx = vec![0usize; shape.len()];
        loop {
            f(&idx);
            let mut ax = shape.len();
            loop {
                if ax == 0 {
                    return;
                }
                ax -= 1;
                idx[ax] += 1;
                if idx[ax] < shape[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
    }

    /// The elements in C order.
    pub fn to_scalars(&self) -> Result<Vec<Scalar>> {
        self.buffer.base()?;
        let mut out = Vec::with_capacity(self.size());
        self.for_each_offset(|o| out.push(self.read(o)));
        Ok(out)
    }

    /// The elements in C order as `T` (the dtype must be `T`'s).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype {
            return Err(RuntimeError::Invalid(format!(
                "array is {}, not {}",
                self.dtype,
                T::DTYPE
            )));
        }
        Ok(self.to_scalars()?.into_iter().map(T::from_scalar).collect())
    }

    /// Sets every element to `value` (cast).
    pub fn fill(&self, value: Scalar) -> Result<()> {
        if !self.is_writable() {
            return Err(RuntimeError::ReadOnly);
        }
        self.buffer.base()?;
        let v = value.cast(self.dtype);
        self.for_each_offset(|o| self.write(o, v));
        Ok(())
    }

    /// A copy in the given memory order.
    pub fn copy(&self, order: Order) -> Result<Array> {
        self.copy_as(self.dtype, order)
    }

    /// A C-order copy converted to `dtype`.
    pub fn astype(&self, dtype: DType) -> Result<Array> {
        self.copy_as(dtype, Order::C)
    }

    fn copy_as(&self, dtype: DType, order: Order) -> Result<Array> {
        let mut out = Array::zeros(dtype, &self.shape)?;
        if order == Order::F {
            out.strides = f_strides(&self.shape, dtype.size());
        }
        if dtype == self.dtype && self.is_c_contiguous() && order == Order::C && self.size() > 0 {
            let (src, dst) = (self.ptr()?, out.ptr()?);
            // SAFETY: both are contiguous runs of `nbytes` inside their buffers, and `out` is new.
            unsafe { std::ptr::copy_nonoverlapping(src, dst, self.nbytes()) };
            return Ok(out);
        }
        out.assign(self)?;
        Ok(out)
    }

    /// Writes `src` into this array, broadcasting it to this shape and casting to this dtype.
    /// Overlapping memory is handled by copying `src` first.
    pub fn assign(&self, src: &Array) -> Result<()> {
        if !self.is_writable() {
            return Err(RuntimeError::ReadOnly);
        }
        self.buffer.base()?;
        let src = src.broadcast_to(&self.shape)?;
        let src = if src.shares_memory(self) {
            src.copy(Order::C)?.broadcast_to(&self.shape)?
        } else {
            src
        };
        src.buffer.base()?;
        let (ds, ss) = (self.strides.clone(), src.strides.clone());
        Array::for_each_index(&self.shape, |idx| {
            let (mut a, mut b) = (0isize, 0isize);
            for (k, &i) in idx.iter().enumerate() {
                a += i as isize * ds[k];
                b += i as isize * ss[k];
            }
            self.write(a, src.read(b));
        });
        Ok(())
    }

    /// True when both arrays view the same buffer and their byte ranges overlap.
    pub fn shares_memory(&self, other: &Array) -> bool {
        if !self.same_buffer(other) || self.size() == 0 || other.size() == 0 {
            return false;
        }
        let (a0, a1) = self.byte_extent();
        let (b0, b1) = other.byte_extent();
        a0 < b1 && b0 < a1
    }

    /// True when this array's elements cover its whole buffer (it is not a view of part of a
    /// larger allocation; a transposed or reversed whole array still covers it).
    pub fn covers_buffer(&self) -> bool {
        let (lo, hi) = self.byte_extent();
        self.size() * self.dtype.size() == self.buffer.len()
            && lo == 0
            && hi as usize == self.buffer.len()
    }

    /// True when both arrays view the same buffer.
    pub fn same_buffer(&self, other: &Array) -> bool {
        Arc::ptr_eq(&self.buffer, &other.buffer)
    }
}

fn empty_buffer() -> Buffer {
    // SAFETY: a zero-length lent buffer is never dereferenced.
    unsafe {
        Buffer::lent(
            std::ptr::NonNull::<u8>::dangling().as_ptr(),
            0,
            false,
            Arc::new(AtomicBool::new(true)),
        )
    }
}

/// Byte strides of a Fortran-contiguous array.
pub fn f_strides(shape: &[usize], itemsize: usize) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = itemsize as isize;
    for (st, &n) in s.iter_mut().zip(shape) {
        *st = acc;
        acc = acc.saturating_mul(n.max(1) as isize);
    }
    s
}

fn contiguous(shape: &[usize], strides: &[isize], itemsize: usize, fortran: bool) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expect = itemsize as isize;
    let axes: Vec<usize> = if fortran {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for ax in axes {
        if shape[ax] != 1 && strides[ax] != expect {
            return false;
        }
        expect *= shape[ax] as isize;
    }
    true
}

/// NumPy's shape text: `(3, 4)`, `(3,)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
