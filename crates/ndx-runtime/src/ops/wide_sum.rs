//! The float sum of a contiguous 1-D array with 512-bit vectors, in exactly the order of ndx's
//! blocked JIT sum, so that both give the same bits.
//!
//! Cranelift stops at 128-bit vectors, and at 128 bits a sum of 10M `f32` is bound by its
//! loads; AVX-512 loads a cache line per instruction. This module is the precompiled loop
//! that `sum` (and `mean`) of a materialised, contiguous `f32` or `f64` vector runs instead of
//! its JIT kernels when the CPU has AVX-512F ([`wide_sum`] answers `None` otherwise, and on
//! other architectures).
//!
//! The order it reproduces (`Interp::sum` in the `ndx` crate, and the JIT's reduction kernel):
//! - **Kernel sum** of a run of `n` elements, `W` lanes to a 128-bit vector (4 for `f32`,
//!   2 for `f64`): four vector accumulators, all `+0.0`; element `i < n - n % 4W` goes to
//!   accumulator `(i / W) % 4`, lane `i % W`; then elements up to `n - n % W` go to
//!   accumulator 0, lane `i % W`; the last `n % W` go, in order, to a scalar `s = +0.0`.
//!   The result is `s + v[0] + v[1] + ...` from the left, where
//!   `v = (acc0 + acc1) + (acc2 + acc3)`. A 512-bit register holds the four accumulators
//!   side by side (lane `i % 4W`), so one zmm add is four of the JIT's vector adds.
//! - **Blocking**: a sum of `n <= 4 * BLOCK` elements is one kernel sum. A longer one is cut
//!   into `nb = n / block` blocks of `block = max(BLOCK, ceil(n / PARTIAL_CAP))` elements;
//!   each block is a kernel sum in the array's dtype; the block sums are added in `f64`
//!   (for `f32`: converted and added one by one from `0.0`; for `f64`: by a kernel sum);
//!   the remaining `n % block` elements are summed by these same rules, converted to `f64`
//!   and added last; the total is rounded to the dtype.
//!
//! NaN payloads: when several NaNs meet, which payload survives may differ from the JIT's
//! (both give a NaN).

use crate::array::Array;
use crate::dtype::{DType, Scalar};
use std::ops::Add;

/// Float sums over more elements than `4 * BLOCK` are blocked, in blocks of at least this
/// many elements.
pub const BLOCK: usize = 256;

/// Most partial sums a blocked sum keeps (longer blocks beyond `BLOCK * PARTIAL_CAP`).
pub const PARTIAL_CAP: usize = 1 << 16;

/// The sum of all elements of `a` in the blocked order described in the module docs, when
/// `a` is a 1-D C-contiguous, aligned `f32` or `f64` array of more than `4 * BLOCK` elements
/// and the CPU has AVX-512F; `None` otherwise (the caller runs the JIT kernels instead).
pub fn wide_sum(a: &Array) -> Option<Scalar> {
    if !wide_available() || a.ndim() != 1 || a.size() <= 4 * BLOCK {
        return None;
    }
    match a.dtype() {
        DType::F32 => elements::<f32>(a).map(|x| Scalar::F32(blocked_sum(x))),
        DType::F64 => elements::<f64>(a).map(|x| Scalar::F64(blocked_sum(x))),
        _ => None,
    }
}

/// True when this CPU runs the AVX-512 loop.
pub fn wide_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The elements of a 1-D array of `T` whose elements are adjacent and aligned.
fn elements<T: Float>(a: &Array) -> Option<&[T]> {
    let item = std::mem::size_of::<T>();
    let p = a.ptr().ok()?;
    if a.strides() != [item as isize] || !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return None;
    }
    // SAFETY: `a` is 1-D with `a.size()` adjacent, aligned elements of `T` from `p` (its dtype
    // is `T`'s, checked by the caller), inside its buffer by the extent invariant; the slice
    // borrows `a`, which keeps the buffer alive; every bit pattern is a valid float.
    Some(unsafe { std::slice::from_raw_parts(p as *const T, a.size()) })
}

/// `f32` or `f64`, with what differs between them in the blocked sum.
trait Float: Copy + Add<Output = Self> + 'static {
    /// Lanes in a 128-bit vector.
    const W: usize;
    /// `+0.0`.
    const ZERO: Self;
    /// Adds the block sums that `blocks` hands to its sink, as the JIT's second stage does.
    fn combine(nb: usize, blocks: impl FnOnce(&mut dyn FnMut(Self))) -> f64;
    /// Widened to `f64`.
    fn widen(self) -> f64;
    /// Rounded from `f64`.
    fn narrow(x: f64) -> Self;
    /// Hands the kernel sum of each of the `x.len() / block` whole blocks of `x`, in order,
    /// to `sink`, with 512-bit vectors.
    fn wide_blocks(x: &[Self], block: usize, sink: &mut dyn FnMut(Self));
}

impl Float for f32 {
    const W: usize = 4;
    const ZERO: Self = 0.0;
    fn combine(_: usize, blocks: impl FnOnce(&mut dyn FnMut(f32))) -> f64 {
        // A scalar loop over the partial sums, each cast to f64.
        let mut total = 0.0f64;
        blocks(&mut |p| total += f64::from(p));
        total
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn narrow(x: f64) -> f32 {
        x as f32
    }
    fn wide_blocks(x: &[f32], block: usize, sink: &mut dyn FnMut(f32)) {
        #[cfg(target_arch = "x86_64")]
        if wide_available() {
            // SAFETY: the CPU has AVX-512F.
            unsafe { wide_blocks_f32(x, block, sink) };
            return;
        }
        x.chunks_exact(block).for_each(|b| sink(kernel_sum(b)));
    }
}

impl Float for f64 {
    const W: usize = 2;
    const ZERO: Self = 0.0;
    fn combine(nb: usize, blocks: impl FnOnce(&mut dyn FnMut(f64))) -> f64 {
        // The partial sums are already f64: the second stage is the vector kernel sum.
        let mut parts = Vec::with_capacity(nb);
        blocks(&mut |p| parts.push(p));
        kernel_sum(&parts)
    }
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> f64 {
        x
    }
    fn wide_blocks(x: &[f64], block: usize, sink: &mut dyn FnMut(f64)) {
        #[cfg(target_arch = "x86_64")]
        if wide_available() {
            // SAFETY: the CPU has AVX-512F.
            unsafe { wide_blocks_f64(x, block, sink) };
            return;
        }
        x.chunks_exact(block).for_each(|b| sink(kernel_sum(b)));
    }
}

/// The blocked sum of `x` (module docs).
fn blocked_sum<T: Float>(x: &[T]) -> T {
    let n = x.len();
    if n <= 4 * BLOCK {
        return kernel_sum(x);
    }
    let block = BLOCK.max(n.div_ceil(PARTIAL_CAP));
    let nb = n / block;
    let (head, tail) = x.split_at(nb * block);
    let mut total = T::combine(nb, |sink| T::wide_blocks(head, block, sink));
    if !tail.is_empty() {
        total += blocked_sum(tail).widen();
    }
    T::narrow(total)
}

/// The JIT's reduction kernel over `x` (module docs), in plain scalar code: lane by lane,
/// each add is the vector add's.
fn kernel_sum<T: Float>(x: &[T]) -> T {
    let group = 4 * T::W;
    let main = x.len() - x.len() % group;
    let mut acc = [T::ZERO; 16];
    for c in x[..main].chunks_exact(group) {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    finish(acc, &x[main..])
}

/// The end of a kernel sum: `acc` holds the four accumulators side by side (lane `l` of
/// accumulator `k` at `k * W + l`) after the unrolled loop, `rest` the fewer than `4 W`
/// elements past it.
fn finish<T: Float>(mut acc: [T; 16], rest: &[T]) -> T {
    let w = T::W;
    let vec_end = rest.len() - rest.len() % w;
    for c in rest[..vec_end].chunks_exact(w) {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    let mut s = T::ZERO;
    for &v in &rest[vec_end..] {
        s = s + v;
    }
    for l in 0..w {
        s = s + ((acc[l] + acc[w + l]) + (acc[2 * w + l] + acc[3 * w + l]));
    }
    s
}

/// [`Float::wide_blocks`] for one dtype: four blocks at a time, one zmm accumulator each
/// (four independent dependency chains), then one at a time.
macro_rules! wide_blocks {
    ($name:ident, $t:ty, $vec:ty, $zero:ident, $load:ident, $add:ident, $store:ident) => {
        /// # Safety
        /// The CPU must have AVX-512F.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn $name(x: &[$t], block: usize, sink: &mut dyn FnMut($t)) {
            use std::arch::x86_64::*;
            const LANES: usize = 64 / std::mem::size_of::<$t>();
            let nb = x.len() / block;
            let main = block - block % LANES;
            let end = |z: $vec, b: usize| {
                let mut acc = [0.0; 16];
                // SAFETY: `acc` has room for a zmm register's lanes.
                unsafe { $store(acc.as_mut_ptr(), z) };
                finish(acc, &x[b * block + main..(b + 1) * block])
            };
            let mut b = 0;
            while b + 4 <= nb {
                let p = x[b * block..].as_ptr();
                let (mut z0, mut z1, mut z2, mut z3) = ($zero(), $zero(), $zero(), $zero());
                let mut i = 0;
                while i < main {
                    // SAFETY: blocks `b..b + 4` lie in `x`, and `i + LANES <= main <= block`.
                    unsafe {
                        z0 = $add(z0, $load(p.add(i)));
                        z1 = $add(z1, $load(p.add(block + i)));
                        z2 = $add(z2, $load(p.add(2 * block + i)));
                        z3 = $add(z3, $load(p.add(3 * block + i)));
                    }
                    i += LANES;
                }
                sink(end(z0, b));
                sink(end(z1, b + 1));
                sink(end(z2, b + 2));
                sink(end(z3, b + 3));
                b += 4;
            }
            while b < nb {
                let p = x[b * block..].as_ptr();
                let mut z = $zero();
                let mut i = 0;
                while i < main {
                    // SAFETY: block `b` lies in `x`, and `i + LANES <= main <= block`.
                    z = $add(z, unsafe { $load(p.add(i)) });
                    i += LANES;
                }
                sink(end(z, b));
                b += 1;
            }
        }
    };
}

wide_blocks!(
    wide_blocks_f32,
    f32,
    __m512,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_add_ps,
    _mm512_storeu_ps
);
wide_blocks!(
    wide_blocks_f64,
    f64,
    __m512d,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_add_pd,
    _mm512_storeu_pd
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The wide blocks agree bit for bit with the scalar kernel sum of each block, for block
    /// lengths that are and are not multiples of the vector widths.
    #[test]
    fn wide_blocks_match_the_scalar_kernel() {
        let x: Vec<f32> = (0..40_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 1e5).sin() * 1e3)
            .collect();
        let y: Vec<f64> = x.iter().map(|&v| f64::from(v) * 1.000_000_1).collect();
        for block in [256, 257, 263, 1526, 4099] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            f32::wide_blocks(&x, block, &mut |p| a.push(p.to_bits()));
            x.chunks_exact(block)
                .for_each(|c| b.push(kernel_sum(c).to_bits()));
            assert_eq!(a, b, "f32, block {block}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            f64::wide_blocks(&y, block, &mut |p| a.push(p.to_bits()));
            y.chunks_exact(block)
                .for_each(|c| b.push(kernel_sum(c).to_bits()));
            assert_eq!(a, b, "f64, block {block}");
        }
    }

    /// The kernel sum's order on a case where it shows: a big value cancelled in one lane.
    #[test]
    fn kernel_sum_order() {
        // 21 elements: x[16] is in the one-vector remainder (accumulator 0, lane 0, with
        // x[0]), x[20] in the scalar tail, x[1] in lane 1.
        let mut x = vec![0.0f32; 21];
        x[0] = 1e8;
        x[1] = 1.0;
        x[16] = -1e8;
        x[20] = 0.5;
        assert_eq!(kernel_sum(&x), 1.5);
        // Left to right, 1e8 absorbs the 1.0.
        assert_eq!(x.iter().fold(0.0f32, |a, &b| a + b), 0.5);
    }
}
