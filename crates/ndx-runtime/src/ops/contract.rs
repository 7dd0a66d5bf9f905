//! Contractions: the execution side of einsum, matmul, dot, tensordot and trace.
//!
//! Operands arrive labelled (one label per axis). [`label_view`] turns repeated labels into
//! diagonal views and stretches size-1 axes (stride 0); nothing is copied. Then:
//! - [`contract_pair`] runs a two-operand step as a batched GEMM through the `gemm` crate when
//!   the dtype is a float: batch axes are looped, and the `m`, `n` and `k` label groups are each
//!   merged into one row or column stride, so transposes and broadcast axes cost nothing. An
//!   operand is copied only when a group's axes cannot be walked with one stride (or its
//!   strides are not whole elements).
//! - [`contract_loop`] contracts any number of operands of any dtype with a direct loop:
//!   integers wrap as NumPy's do, bools compute `or` of `and`s. It serves ints and bools, small
//!   steps, single-operand steps (diagonals, transposes, sums) and the memory-capped fallback.
//!
//! Results are new C-contiguous arrays in the requested label order. Every size and offset is
//! derived from valid views, so every address read or written lies inside its buffer.

use super::{typed_array, typed_new, typed_vec};
use crate::array::{checked_size, Array};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Result, RuntimeError};
use std::collections::BTreeMap;

/// An index label (a letter, or any char standing for an axis).
pub type Label = char;

/// Label sizes.
pub type Sizes = BTreeMap<Label, usize>;

/// Below this many multiply-adds per GEMM call, batches are spread over the threads instead
/// of splitting each call.
const SPLIT_CALLS_BELOW: usize = 1 << 22;

/// A view of `a` with one axis per distinct label, in order of first appearance: repeated
/// labels become a diagonal (the strides add up), and a size-1 axis whose label is larger in
/// `sizes` is stretched with stride 0.
pub fn label_view(a: &Array, labels: &[Label], sizes: &Sizes) -> Result<(Array, Vec<Label>)> {
    if labels.len() != a.ndim() {
        return Err(RuntimeError::Invalid(format!(
            "{} labels for an array of dimension {}",
            labels.len(),
            a.ndim()
        )));
    }
    let mut out_labels: Vec<Label> = Vec::with_capacity(labels.len());
    let mut shape: Vec<usize> = Vec::with_capacity(labels.len());
    let mut strides: Vec<isize> = Vec::with_capacity(labels.len());
    for (k, &l) in labels.iter().enumerate() {
        let want = sizes.get(&l).copied().unwrap_or(a.shape[k]);
        let (n, s) = (a.shape[k], a.strides[k]);
        let s = if n == want {
            s
        } else if n == 1 {
            0
        } else {
            return Err(RuntimeError::Shape(format!(
                "axis {k} of size {n} cannot be label '{l}' of size {want}"
            )));
        };
        match out_labels.iter().position(|&x| x == l) {
            Some(p) => strides[p] += s,
            None => {
                out_labels.push(l);
                shape.push(want);
                strides.push(s);
            }
        }
    }
    let v = Array {
        buffer: a.buffer.clone(),
        dtype: a.dtype,
        shape,
        strides,
        offset: a.offset,
    };
    v.check_extent()?;
    Ok((v, out_labels))
}

/// A view of `a` (labelled `labels`, distinct, as [`label_view`] makes them) over the axes
/// `order`: each axis walks its label's stride, or stride 0 where `a` lacks the label. Every
/// operand of a step seen this way shares one iteration space, so a fused elementwise kernel
/// can multiply them and sum the trailing axes.
pub fn aligned_view(a: &Array, labels: &[Label], order: &[Label], sizes: &Sizes) -> Result<Array> {
    if labels.len() != a.ndim() || labels.iter().any(|l| !order.contains(l)) {
        return Err(RuntimeError::Invalid(
            "every label of an operand must be in the iteration order".into(),
        ));
    }
    let mut shape = Vec::with_capacity(order.len());
    let mut strides = Vec::with_capacity(order.len());
    for l in order {
        let n = size_of(sizes, *l);
        match labels.iter().position(|x| x == l) {
            Some(p) if a.shape[p] == n => strides.push(a.strides[p]),
            Some(_) => {
                return Err(RuntimeError::Shape(format!(
                    "label '{l}' has size {n} but its axis does not"
                )))
            }
            None => strides.push(0),
        }
        shape.push(n);
    }
    let v = Array {
        buffer: a.buffer.clone(),
        dtype: a.dtype,
        shape,
        strides,
        offset: a.offset,
    };
    v.check_extent()?;
    Ok(v)
}

/// Element types the loop can contract: NumPy's arithmetic in the dtype itself.
trait Acc: Element + Default {
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
/// [`label_view`] makes them) into a new C-contiguous array with labels `out`, by a direct
/// loop: every output element sums the product of the operands over the other labels.
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

fn size_of(sizes: &Sizes, l: Label) -> usize {
    sizes.get(&l).copied().unwrap_or(1)
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

/// Element types with a GEMM.
trait GemmElem: Acc {
    fn one() -> Self;
}
impl GemmElem for f32 {
    fn one() -> Self {
        1.0
    }
}
impl GemmElem for f64 {
    fn one() -> Self {
        1.0
    }
}

/// Contracts two labelled views (as [`label_view`] makes them, of one dtype) into a new
/// C-contiguous array with labels `out`. Floats run as a batched GEMM on `threads` threads;
/// other dtypes use [`contract_loop`].
pub fn contract_pair(
    a: (&Array, &[Label]),
    b: (&Array, &[Label]),
    out: &[Label],
    sizes: &Sizes,
    threads: usize,
) -> Result<Array> {
    if a.0.dtype() != b.0.dtype() {
        return Err(RuntimeError::Invalid(
            "contraction operands must share a dtype".into(),
        ));
    }
    match a.0.dtype() {
        DType::F32 => gemm_pair::<f32>(a, b, out, sizes, threads, None),
        DType::F64 => gemm_pair::<f64>(a, b, out, sizes, threads, None),
        _ => contract_loop(&[a, b], out, sizes),
    }
}

/// [`contract_pair`] accumulated onto `init` (shape of `out`, the operands' float dtype): the
/// GEMM's output pass adds the product to `init`'s values, so an epilogue such as a bias add
/// costs no pass of its own. When `init` is a writable C-contiguous array that the GEMM can
/// write in `out` order, the result is computed in place in its memory (callers pass a fresh
/// array nothing else refers to); any other `init` (a broadcast view, say) is copied first.
pub fn contract_pair_onto(
    a: (&Array, &[Label]),
    b: (&Array, &[Label]),
    out: &[Label],
    sizes: &Sizes,
    threads: usize,
    init: &Array,
) -> Result<Array> {
    let shape: Vec<usize> = out.iter().map(|&l| size_of(sizes, l)).collect();
    if a.0.dtype() != b.0.dtype() || init.dtype() != a.0.dtype() || init.shape() != shape {
        return Err(RuntimeError::Invalid(
            "the initial value of a GEMM must have the result's dtype and shape".into(),
        ));
    }
    match a.0.dtype() {
        DType::F32 => gemm_pair::<f32>(a, b, out, sizes, threads, Some(init)),
        DType::F64 => gemm_pair::<f64>(a, b, out, sizes, threads, Some(init)),
        d => Err(RuntimeError::Invalid(format!(
            "a GEMM onto an initial value needs a float dtype, not {d}"
        ))),
    }
}

/// The single element stride that walks `group` (in order) in `a`, when one exists.
fn merged(a: &Array, ls: &[Label], group: &[Label], sizes: &Sizes) -> Option<isize> {
    merged_strides(a.strides(), a.itemsize(), ls, group, sizes)
}

/// [`merged`] for an array with these byte strides and item size.
fn merged_strides(
    strides: &[isize],
    itemsize: usize,
    ls: &[Label],
    group: &[Label],
    sizes: &Sizes,
) -> Option<isize> {
    let item = itemsize as isize;
    let mut stride: Option<isize> = None;
    let mut expect: Option<isize> = None;
    for &l in group.iter().rev() {
        let n = size_of(sizes, l);
        if n == 1 {
            continue;
        }
        let s = *strides.get(ls.iter().position(|&x| x == l)?)?;
        match expect {
            None => stride = Some(s),
            Some(e) if e == s => {}
            Some(_) => return None,
        }
        expect = Some(s.checked_mul(n as isize)?);
    }
    let s = stride.unwrap_or(item);
    if s % item != 0 {
        return None;
    }
    Some(s / item)
}

/// A C-contiguous copy of `a` (of `T`'s dtype) with its axes in `order`.
fn copy_in<T: Element>(a: &Array, ls: &[Label], order: &[Label]) -> Result<Array> {
    let axes: Vec<usize> = order
        .iter()
        .filter_map(|l| ls.iter().position(|x| x == l))
        .collect();
    if axes.len() != ls.len() {
        return Err(RuntimeError::Invalid("labels do not match axes".into()));
    }
    let t = a.transpose(Some(&axes))?;
    typed_array(&typed_vec::<T>(&t)?, t.shape())
}

#[derive(Clone, Copy)]
struct Gemm {
    m: usize,
    n: usize,
    k: usize,
    a: (isize, isize),
    b: (isize, isize),
    d: (isize, isize),
}

fn gemm_pair<T: GemmElem>(
    a: (&Array, &[Label]),
    b: (&Array, &[Label]),
    out: &[Label],
    sizes: &Sizes,
    threads: usize,
    init: Option<&Array>,
) -> Result<Array> {
    let (mut av, mut al) = (a.0.clone(), a.1.to_vec());
    let (mut bv, mut bl) = (b.0.clone(), b.1.to_vec());
    // Labels only one operand has and the output lacks are summed out first.
    for (v, ls, other) in [(&mut av, &mut al, b.1), (&mut bv, &mut bl, a.1)] {
        let keep: Vec<Label> = ls
            .iter()
            .copied()
            .filter(|l| other.contains(l) || out.contains(l))
            .collect();
        if keep.len() < ls.len() {
            *v = contract_loop(&[(&*v, &ls[..])], &keep, sizes)?;
            *ls = keep;
        }
    }
    let batch: Vec<Label> = out
        .iter()
        .copied()
        .filter(|l| al.contains(l) && bl.contains(l))
        .collect();
    let m: Vec<Label> = out
        .iter()
        .copied()
        .filter(|l| al.contains(l) && !bl.contains(l))
        .collect();
    let n: Vec<Label> = out
        .iter()
        .copied()
        .filter(|l| bl.contains(l) && !al.contains(l))
        .collect();
    let by_stride = |v: &Array, ls: &[Label], g: &[Label]| -> Vec<Label> {
        let mut g = g.to_vec();
        g.sort_by_key(|l| {
            std::cmp::Reverse(
                ls.iter()
                    .position(|x| x == l)
                    .map_or(0, |p| v.strides()[p].unsigned_abs()),
            )
        });
        g
    };
    let k_all: Vec<Label> = al
        .iter()
        .copied()
        .filter(|l| bl.contains(l) && !out.contains(l))
        .collect();
    let k = by_stride(&av, &al, &k_all);
    // The output is ours and C-contiguous in `out` order, so m and n follow that order; an
    // operand that cannot be walked that way is copied into (batch, m, k) / (batch, k, n).
    let item_ok = |v: &Array| {
        v.size() == 0
            || v.ptr()
                .is_ok_and(|p| (p as usize).is_multiple_of(std::mem::align_of::<T>()))
    };
    if merged(&av, &al, &m, sizes).is_none()
        || merged(&av, &al, &k, sizes).is_none()
        || !item_ok(&av)
    {
        let order: Vec<Label> = batch.iter().chain(&m).chain(&k).copied().collect();
        av = copy_in::<T>(&av, &al, &order)?;
        al = order;
    }
    if merged(&bv, &bl, &n, sizes).is_none()
        || merged(&bv, &bl, &k, sizes).is_none()
        || !item_ok(&bv)
    {
        let order: Vec<Label> = batch.iter().chain(&k).chain(&n).copied().collect();
        bv = copy_in::<T>(&bv, &bl, &order)?;
        bl = order;
    }
    // The result is written in `out` order when m and n each merge there, else in
    // (batch, m, n) order and permuted once at the end.
    let direct = {
        let shape: Vec<usize> = out.iter().map(|&l| size_of(sizes, l)).collect();
        let strides = crate::array::c_strides(&shape, T::DTYPE.size());
        let item = T::DTYPE.size();
        merged_strides(&strides, item, out, &m, sizes).is_some()
            && merged_strides(&strides, item, out, &n, sizes).is_some()
    };
    let dl: Vec<Label> = if direct {
        out.to_vec()
    } else {
        batch.iter().chain(&m).chain(&n).copied().collect()
    };
    let out_shape: Vec<usize> = dl.iter().map(|&l| size_of(sizes, l)).collect();
    let dst = match init {
        Some(v)
            if direct
                && v.is_c_contiguous()
                && v.is_writable()
                && !v.shares_memory(&av)
                && !v.shares_memory(&bv) =>
        {
            v.clone()
        }
        Some(v) => copy_in::<T>(v, out, &dl)?,
        None => Array::empty(T::DTYPE, &out_shape)?,
    };
    let (m_n, n_n, k_n) = (
        m.iter().map(|&l| size_of(sizes, l)).product::<usize>(),
        n.iter().map(|&l| size_of(sizes, l)).product::<usize>(),
        k.iter().map(|&l| size_of(sizes, l)).product::<usize>(),
    );
    if dst.size() == 0 || k_n == 0 {
        if init.is_none() {
            dst.fill(T::zero().to_scalar())?;
        }
        return finish::<T>(dst, &dl, out);
    }
    let stride_pair = |v: &Array, ls: &[Label], rows: &[Label], cols: &[Label]| {
        // (column stride, row stride) in elements, as gemm takes them.
        match (merged(v, ls, cols, sizes), merged(v, ls, rows, sizes)) {
            (Some(c), Some(r)) => Ok((c, r)),
            _ => Err(RuntimeError::Invalid(
                "internal: a GEMM operand cannot be walked with one stride per group".into(),
            )),
        }
    };
    let g = Gemm {
        m: m_n,
        n: n_n,
        k: k_n,
        a: stride_pair(&av, &al, &m, &k)?,
        b: stride_pair(&bv, &bl, &k, &n)?,
        d: stride_pair(&dst, &dl, &m, &n)?,
    };
    // Byte offsets of every batch element in each array.
    let bshape: Vec<usize> = batch.iter().map(|&l| size_of(sizes, l)).collect();
    let bstr = |v: &Array, ls: &[Label]| -> Vec<isize> {
        batch
            .iter()
            .map(|l| ls.iter().position(|x| x == l).map_or(0, |p| v.strides()[p]))
            .collect()
    };
    let (sa, sb, sd) = (bstr(&av, &al), bstr(&bv, &bl), bstr(&dst, &dl));
    let mut offs: Vec<[isize; 3]> = Vec::new();
    Array::for_each_index(&bshape, |idx| {
        let dot = |s: &[isize]| idx.iter().zip(s).map(|(&i, &s)| i as isize * s).sum();
        offs.push([dot(&sa), dot(&sb), dot(&sd)]);
    });
    let (pa, pb, pd) = (av.ptr()? as usize, bv.ptr()? as usize, dst.ptr()? as usize);
    let run = |o: &[isize; 3], par: gemm::Parallelism| {
        // SAFETY: the pointers and element strides come from valid views of T's dtype (aligned,
        // checked above); `dst` is new, or the caller's fresh initial value checked above not
        // to overlap either input, and each batch element writes a disjoint part of it.
        // `alpha` only applies when `dst` is read.
        unsafe {
            gemm::gemm::<T>(
                g.m,
                g.n,
                g.k,
                (pd as *mut u8).wrapping_offset(o[2]) as *mut T,
                g.d.0,
                g.d.1,
                init.is_some(),
                (pa as *const u8).wrapping_offset(o[0]) as *const T,
                g.a.0,
                g.a.1,
                (pb as *const u8).wrapping_offset(o[1]) as *const T,
                g.b.0,
                g.b.1,
                T::one(),
                T::one(),
                false,
                false,
                false,
                par,
            )
        }
    };
    let per_call = m_n.saturating_mul(n_n).saturating_mul(k_n);
    if threads > 1 && offs.len() > 1 && per_call < SPLIT_CALLS_BELOW {
        use rayon::prelude::*;
        let chunk = offs.len().div_ceil(threads);
        offs.par_chunks(chunk).for_each(|c| {
            for o in c {
                run(o, gemm::Parallelism::None);
            }
        });
    } else {
        let par = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        for o in &offs {
            run(o, par);
        }
    }
    finish::<T>(dst, &dl, out)
}

/// `dst` (labels `dl`) as a C-contiguous array in `out` order.
fn finish<T: Element>(dst: Array, dl: &[Label], out: &[Label]) -> Result<Array> {
    if dl == out {
        return Ok(dst);
    }
    copy_in::<T>(&dst, dl, out)
}

impl Array {
    /// The diagonal of axes `axis1` and `axis2` (with `offset` above the main diagonal, or
    /// below when negative) as a view whose last axis walks the diagonal, as NumPy's
    /// `diagonal`.
    pub fn diagonal(&self, offset: i64, axis1: isize, axis2: isize) -> Result<Array> {
        let a1 = super::norm_axis(axis1, self.ndim())?;
        let a2 = super::norm_axis(axis2, self.ndim())?;
        if a1 == a2 {
            return Err(RuntimeError::Invalid(
                "axis1 and axis2 cannot be the same".into(),
            ));
        }
        let (n1, n2) = (self.shape[a1] as i64, self.shape[a2] as i64);
        let (s1, s2) = (self.strides[a1], self.strides[a2]);
        let (start1, start2) = if offset >= 0 {
            (0, offset)
        } else {
            (offset.saturating_neg(), 0)
        };
        let len = (n1 - start1).min(n2.saturating_sub(start2)).max(0) as usize;
        let mut shape = Vec::with_capacity(self.ndim() - 1);
        let mut strides = Vec::with_capacity(self.ndim() - 1);
        for ax in 0..self.ndim() {
            if ax != a1 && ax != a2 {
                shape.push(self.shape[ax]);
                strides.push(self.strides[ax]);
            }
        }
        shape.push(len);
        strides.push(s1 + s2);
        let off = if len == 0 {
            self.offset as isize
        } else {
            self.offset as isize + start1 as isize * s1 + start2 as isize * s2
        };
        let v = Array {
            buffer: self.buffer.clone(),
            dtype: self.dtype,
            shape,
            strides,
            offset: usize::try_from(off).unwrap_or(self.offset),
        };
        v.check_extent()?;
        Ok(v)
    }
}
