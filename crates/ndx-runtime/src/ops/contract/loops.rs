//! The direct contraction loop: any number of operands, any dtype, NumPy's arithmetic in the
//! dtype itself (wrapping integers, `or` of `and`s for bools).

use super::super::typed_new;
use super::{size_of, Label, Sizes};
use crate::array::{checked_size, Array};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Result, RuntimeError};

/// Element types the loop can contract: NumPy's arithmetic in the dtype itself.
pub(super) trait Acc: Element + Default {
    fn zero() -> Self;
    fn mul(self, o: Self) -> Self;
    fn add(self, o: Self) -> Self;
    /// Reads an element.
    ///
    /// # Safety
    /// `p` must point at an element of this dtype inside a live buffer.
    unsafe fn load(p: *const u8) -> Self;
}

impl Acc for bool {
    fn zero() -> Self {
        false
    }
    fn mul(self, o: Self) -> Self {
        self & o
    }
    fn add(self, o: Self) -> Self {
        self | o
    }
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: forwarded; a bool element is one byte, any value other than 0 is true.
        unsafe { *p != 0 }
    }
}

macro_rules! acc_int {
    ($t:ty) => {
        impl Acc for $t {
            fn zero() -> Self {
                0
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            unsafe fn load(p: *const u8) -> Self {
                // SAFETY: forwarded; unaligned reads are allowed for any bits.
                unsafe { std::ptr::read_unaligned(p as *const $t) }
            }
        }
    };
}
acc_int!(i32);
acc_int!(i64);

macro_rules! acc_float {
    ($t:ty) => {
        impl Acc for $t {
            fn zero() -> Self {
                0.0
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            unsafe fn load(p: *const u8) -> Self {
                // SAFETY: forwarded; unaligned reads are allowed for any bits.
                unsafe { std::ptr::read_unaligned(p as *const $t) }
            }
        }
    };
}
acc_float!(f32);
acc_float!(f64);

/// Contracts `ops` (labelled views of one dtype, distinct labels within each, as
/// [`label_view`](super::label_view) makes them) into a new C-contiguous array with labels
/// `out`, by a direct loop: every output element sums the product of the operands over the
/// other labels.
pub fn contract_loop(ops: &[(&Array, &[Label])], out: &[Label], sizes: &Sizes) -> Result<Array> {
    let Some((first, _)) = ops.first() else {
        return Err(RuntimeError::Invalid(
            "a contraction needs an operand".into(),
        ));
    };
    let d = first.dtype();
    if ops.iter().any(|(a, _)| a.dtype() != d) {
        return Err(RuntimeError::Invalid(
            "contraction operands must share a dtype".into(),
        ));
    }
    dispatch!(d, loop_typed(ops, out, sizes))
}

fn loop_typed<T: Acc>(ops: &[(&Array, &[Label])], out: &[Label], sizes: &Sizes) -> Result<Array> {
    let mut summed: Vec<Label> = Vec::new();
    for (_, ls) in ops {
        for &l in *ls {
            if !out.contains(&l) && !summed.contains(&l) {
                summed.push(l);
            }
        }
    }
    let out_shape: Vec<usize> = out.iter().map(|&l| size_of(sizes, l)).collect();
    let sum_shape: Vec<usize> = summed.iter().map(|&l| size_of(sizes, l)).collect();
    checked_size(&out_shape, T::DTYPE.size())?;
    // Per operand: base pointer, then byte strides along the output labels and summed labels.
    let mut bases: Vec<*const u8> = Vec::with_capacity(ops.len());
    let mut ostr: Vec<Vec<isize>> = Vec::with_capacity(ops.len());
    let mut sstr: Vec<Vec<isize>> = Vec::with_capacity(ops.len());
    for (a, ls) in ops {
        if ls.len() != a.ndim() {
            return Err(RuntimeError::Invalid(
                "one label per axis is required".into(),
            ));
        }
        for (k, &l) in ls.iter().enumerate() {
            if a.shape()[k] != size_of(sizes, l) {
                return Err(RuntimeError::Shape(format!(
                    "axis {k} of size {} is label '{l}' of size {}",
                    a.shape()[k],
                    size_of(sizes, l)
                )));
            }
        }
        let stride = |l: &Label| ls.iter().position(|x| x == l).map_or(0, |p| a.strides()[p]);
        bases.push(if a.size() == 0 {
            std::ptr::null()
        } else {
            a.ptr()? as *const u8
        });
        ostr.push(out.iter().map(stride).collect());
        sstr.push(summed.iter().map(stride).collect());
    }
    let empty_sum = sum_shape.contains(&0);
    let nops = ops.len();
    typed_new::<T>(&out_shape, |slots| {
        let mut oidx = vec![0usize; out_shape.len()];
        let mut offs = vec![0isize; nops];
        let mut ptrs: Vec<*const u8> = vec![std::ptr::null(); nops];
        for slot in slots.iter_mut() {
            let v = if empty_sum {
                T::zero()
            } else {
                for o in 0..nops {
                    offs[o] = oidx
                        .iter()
                        .zip(&ostr[o])
                        .map(|(&i, &s)| i as isize * s)
                        .sum();
                    ptrs[o] = bases[o].wrapping_offset(offs[o]);
                }
                // SAFETY: every pointer walks in-range indices of a valid view.
                unsafe { sum_products::<T>(&ptrs, &sstr, &sum_shape) }
            };
            slot.write(v);
            // Next output index, C order.
            for ax in (0..oidx.len()).rev() {
                oidx[ax] += 1;
                if oidx[ax] < out_shape[ax] {
                    break;
                }
                oidx[ax] = 0;
            }
        }
    })
}

/// The sum over the summed labels of the product of the operands, starting at `ptrs`.
///
/// # Safety
/// Each `ptrs[o] + sum_k i_k * strides[o][k]` for in-range indices must address an element.
unsafe fn sum_products<T: Acc>(ptrs: &[*const u8], strides: &[Vec<isize>], shape: &[usize]) -> T {
    let nops = ptrs.len();
    let Some((&inner_n, outer_shape)) = shape.split_last() else {
        let mut p = T::zero();
        for (o, &ptr) in ptrs.iter().enumerate() {
            // SAFETY: forwarded (no summed labels: the element itself).
            let v = unsafe { T::load(ptr) };
            p = if o == 0 { v } else { p.mul(v) };
        }
        return p;
    };
    let last = shape.len() - 1;
    let mut acc = T::zero();
    let mut idx = vec![0usize; outer_shape.len()];
    loop {
        let cur: Vec<*const u8> = (0..nops)
            .map(|o| {
                let off: isize = idx
                    .iter()
                    .zip(&strides[o])
                    .map(|(&i, &s)| i as isize * s)
                    .sum();
                ptrs[o].wrapping_offset(off)
            })
            .collect();
        // SAFETY: forwarded, for the innermost label.
        acc = acc.add(unsafe {
            match nops {
                1 => inner1::<T>(cur[0], strides[0][last], inner_n),
                2 => inner2::<T>(cur[0], strides[0][last], cur[1], strides[1][last], inner_n),
                _ => innern::<T>(&cur, strides, last, inner_n),
            }
        });
        let mut ax = outer_shape.len();
        loop {
            if ax == 0 {
                return acc;
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < outer_shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// # Safety
/// `p + i * s` for `i < n` must address elements.
unsafe fn inner1<T: Acc>(p: *const u8, s: isize, n: usize) -> T {
    let mut acc = T::zero();
    for i in 0..n {
        // SAFETY: forwarded.
        acc = acc.add(unsafe { T::load(p.wrapping_offset(i as isize * s)) });
    }
    acc
}

/// # Safety
/// `p + i * s` and `q + i * t` for `i < n` must address elements.
unsafe fn inner2<T: Acc>(p: *const u8, s: isize, q: *const u8, t: isize, n: usize) -> T {
    let sz = std::mem::size_of::<T>() as isize;
    if s == sz && t == sz && T::DTYPE != DType::Bool {
        // Contiguous: typed slices let the compiler vectorise the integer case.
        // SAFETY: forwarded; n contiguous elements from each pointer (possibly unaligned, so
        // read element by element through `load` when misaligned).
        if (p as usize).is_multiple_of(std::mem::align_of::<T>())
            && (q as usize).is_multiple_of(std::mem::align_of::<T>())
        {
            let (a, b) = unsafe {
                (
                    std::slice::from_raw_parts(p as *const T, n),
                    std::slice::from_raw_parts(q as *const T, n),
                )
            };
            return a
                .iter()
                .zip(b)
                .fold(T::zero(), |acc, (&x, &y)| acc.add(x.mul(y)));
        }
    }
    let mut acc = T::zero();
    for i in 0..n {
        let i = i as isize;
        // SAFETY: forwarded.
        let (x, y) = unsafe {
            (
                T::load(p.wrapping_offset(i * s)),
                T::load(q.wrapping_offset(i * t)),
            )
        };
        acc = acc.add(x.mul(y));
    }
    acc
}

/// # Safety
/// As [`sum_products`], for the innermost label `last` of length `n`.
unsafe fn innern<T: Acc>(ptrs: &[*const u8], strides: &[Vec<isize>], last: usize, n: usize) -> T {
    let mut acc = T::zero();
    for i in 0..n {
        let i = i as isize;
        let mut p = T::zero();
        for (o, &ptr) in ptrs.iter().enumerate() {
            // SAFETY: forwarded.
            let v = unsafe { T::load(ptr.wrapping_offset(i * strides[o][last])) };
            p = if o == 0 { v } else { p.mul(v) };
        }
        acc = acc.add(p);
    }
    acc
}
