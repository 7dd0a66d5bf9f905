//! Pairwise contractions as batched GEMM through the `gemm` crate, on strided views.

use super::super::{typed_array, typed_vec};
use super::loops::{contract_loop, Acc};
use super::{count, size_of, Label, Sizes};
use crate::array::Array;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Result, RuntimeError};

/// Below this many multiply-adds per GEMM call, batches are spread over the threads instead
/// of splitting each call.
const SPLIT_CALLS_BELOW: usize = 1 << 22;

/// Element types with a GEMM: floats through the `gemm` crate, integers through an exact
/// wrapping kernel (NumPy's integer matmul has no BLAS either).
trait GemmElem: Acc {
    /// `dst := (read_dst ? dst : 0) + lhs @ rhs` for one batch element, strides in elements
    /// as `(column, row)` pairs.
    ///
    /// # Safety
    /// Every in-range index of the three matrices must address an element of `Self`; `dst`
    /// must not overlap the inputs.
    unsafe fn gemm(
        g: &Gemm,
        dst: *mut Self,
        lhs: *const Self,
        rhs: *const Self,
        read_dst: bool,
        threads: usize,
    );
}

macro_rules! gemm_float {
    ($t:ty) => {
        impl GemmElem for $t {
            unsafe fn gemm(
                g: &Gemm,
                dst: *mut Self,
                lhs: *const Self,
                rhs: *const Self,
                read_dst: bool,
                threads: usize,
            ) {
                let par = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                // SAFETY: forwarded; `alpha` only applies when `dst` is read.
                unsafe {
                    gemm::gemm::<$t>(
                        g.m, g.n, g.k, dst, g.d.0, g.d.1, read_dst, lhs, g.a.0, g.a.1, rhs, g.b.0,
                        g.b.1, 1.0, 1.0, false, false, false, par,
                    )
                }
            }
        }
    };
}
gemm_float!(f32);
gemm_float!(f64);

macro_rules! gemm_int {
    ($t:ty) => {
        impl GemmElem for $t {
            unsafe fn gemm(
                g: &Gemm,
                dst: *mut Self,
                lhs: *const Self,
                rhs: *const Self,
                read_dst: bool,
                threads: usize,
            ) {
                // Rows are independent: split them over the threads (integer sums are exact, so
                // the split cannot change a result).
                let rows_per = if threads > 1
                    && g.m.saturating_mul(g.n).saturating_mul(g.k) >= SPLIT_CALLS_BELOW
                {
                    g.m.div_ceil(threads)
                } else {
                    g.m.max(1)
                };
                let (d, a, b) = (dst as usize, lhs as usize, rhs as usize);
                let part = |r0: usize| {
                    let rows = rows_per.min(g.m - r0);
                    // SAFETY: forwarded, for rows r0..r0+rows, which no other part writes.
                    unsafe {
                        int_rows::<$t>(
                            g,
                            d as *mut $t,
                            a as *const $t,
                            b as *const $t,
                            r0,
                            rows,
                            read_dst,
                        )
                    }
                };
                if rows_per >= g.m {
                    part(0);
                } else {
                    use rayon::prelude::*;
                    (0..g.m)
                        .step_by(rows_per)
                        .collect::<Vec<_>>()
                        .par_iter()
                        .for_each(|&r0| part(r0));
                }
            }
        }
    };
}
gemm_int!(i32);
gemm_int!(i64);

/// Rows `r0..r0 + rows` of an integer GEMM, i-k-j order: each row of `dst` accumulates
/// `lhs[i, p] * rhs[p, :]`, a unit-stride loop the compiler vectorises when `rhs` rows and `dst`
/// rows are contiguous. Wrapping arithmetic, as NumPy's.
///
/// # Safety
/// As [`GemmElem::gemm`].
unsafe fn int_rows<T: Acc>(
    g: &Gemm,
    dst: *mut T,
    lhs: *const T,
    rhs: *const T,
    r0: usize,
    rows: usize,
    read_dst: bool,
) {
    let (dc, dr) = g.d;
    let (ac, ar) = g.a;
    let (bc, br) = g.b;
    for i in r0..r0 + rows {
        let drow = dst.wrapping_offset(i as isize * dr);
        if !read_dst {
            for j in 0..g.n {
                // SAFETY: an in-range element of `dst`.
                unsafe { drow.wrapping_offset(j as isize * dc).write(T::zero()) };
            }
        }
        for p in 0..g.k {
            // SAFETY: in-range elements of `lhs`, `rhs` and `dst` throughout.
            unsafe {
                let x = lhs
                    .wrapping_offset(i as isize * ar + p as isize * ac)
                    .read();
                let brow = rhs.wrapping_offset(p as isize * br);
                if dc == 1 && bc == 1 {
                    let d = std::slice::from_raw_parts_mut(drow, g.n);
                    let r = std::slice::from_raw_parts(brow, g.n);
                    for (o, &y) in d.iter_mut().zip(r) {
                        *o = o.add(x.mul(y));
                    }
                } else {
                    for j in 0..g.n as isize {
                        let o = drow.wrapping_offset(j * dc);
                        o.write(o.read().add(x.mul(brow.wrapping_offset(j * bc).read())));
                    }
                }
            }
        }
    }
}

/// Contracts two labelled views (as [`label_view`](super::label_view) makes them, of one
/// dtype) into a new C-contiguous array with labels `out`, as a batched GEMM on `threads`
/// threads (floats through the `gemm` crate, integers through an exact wrapping kernel); bools
/// use [`contract_loop`].
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
        DType::I32 => gemm_pair::<i32>(a, b, out, sizes, threads, None),
        DType::I64 => gemm_pair::<i64>(a, b, out, sizes, threads, None),
        DType::Bool => contract_loop(&[a, b], out, sizes),
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

/// One GEMM call's sizes and `(column, row)` element strides.
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
            if let Some((r, rl)) = super::presum(v, ls, &keep, sizes)? {
                *v = r;
                *ls = rl;
            } else {
                *v = contract_loop(&[(&*v, &ls[..])], &keep, sizes)?;
                *ls = keep;
            }
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
        count(&m.iter().map(|&l| size_of(sizes, l)).collect::<Vec<_>>())?,
        count(&n.iter().map(|&l| size_of(sizes, l)).collect::<Vec<_>>())?,
        count(&k.iter().map(|&l| size_of(sizes, l)).collect::<Vec<_>>())?,
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
    let run = |o: &[isize; 3], threads: usize| {
        // SAFETY: the pointers and element strides come from valid views of T's dtype (aligned,
        // checked above); `dst` is new, or the caller's fresh initial value checked above not
        // to overlap either input, and each batch element writes a disjoint part of it.
        unsafe {
            T::gemm(
                &g,
                (pd as *mut u8).wrapping_offset(o[2]) as *mut T,
                (pa as *const u8).wrapping_offset(o[0]) as *const T,
                (pb as *const u8).wrapping_offset(o[1]) as *const T,
                init.is_some(),
                threads,
            )
        }
    };
    let per_call = m_n.saturating_mul(n_n).saturating_mul(k_n);
    if threads > 1 && offs.len() > 1 && per_call < SPLIT_CALLS_BELOW {
        use rayon::prelude::*;
        let chunk = offs.len().div_ceil(threads);
        offs.par_chunks(chunk).for_each(|c| {
            for o in c {
                run(o, 1);
            }
        });
    } else {
        for o in &offs {
            run(o, threads);
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
