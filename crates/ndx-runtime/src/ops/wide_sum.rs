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
//! The JIT splits the first stage over threads by whole blocks, and so does [`wide_sum`] with
//! a pool: block sums do not depend on who computes them, and the second stage adds them in
//! block order, so every thread count gives the same bits.
//!
//! NaN payloads: when several NaNs meet, which payload survives may differ from the JIT's
//! (both give a NaN).

use crate::array::Array;
use crate::dtype::{DType, Scalar};
use rayon::prelude::*;
use std::ops::Add;

/// Float sums over more elements than `4 * BLOCK` are blocked, in blocks of at least this
/// many elements.
pub const BLOCK: usize = 256;

// The wide loop's constant-length path relies on this: no elements past its zmm loads.
const _: () = assert!(BLOCK.is_multiple_of(16));

/// Most partial sums a blocked sum keeps (longer blocks beyond `BLOCK * PARTIAL_CAP`).
pub const PARTIAL_CAP: usize = 1 << 16;

/// Arrays of at least this many elements are split over the `pool` given to [`wide_sum`]
/// (the JIT's threshold for splitting a kernel).
pub const PARALLEL_MIN: usize = 1 << 19;

/// The sum of all elements of `a` in the blocked order described in the module docs, when
/// `a` is a 1-D C-contiguous, aligned `f32` or `f64` array of more than `4 * BLOCK` elements
/// and the CPU has AVX-512F; `None` otherwise (the caller runs the JIT kernels instead).
///
/// With a `pool` of several threads and at least [`PARALLEL_MIN`] elements, the blocks are
/// split into one contiguous range per thread; the block sums are the same, and are added in
/// the same order, so the result does not depend on the thread count.
pub fn wide_sum(a: &Array, pool: Option<&rayon::ThreadPool>) -> Option<Scalar> {
    if !wide_available() || a.ndim() != 1 || a.size() <= 4 * BLOCK {
        return None;
    }
    match a.dtype() {
        DType::F32 => elements::<f32>(a).map(|x| Scalar::F32(blocked_sum(x, pool))),
        DType::F64 => elements::<f64>(a).map(|x| Scalar::F64(blocked_sum(x, pool))),
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
trait Float: Copy + Send + Sync + Add<Output = Self> + 'static {
    /// Lanes in a 128-bit vector.
    const W: usize;
    /// `+0.0`.
    const ZERO: Self;
    /// Whether the JIT adds this dtype's block sums with its vector kernel (else one by one).
    const VECTOR_COMBINE: bool;
    /// Widened to `f64`.
    fn widen(self) -> f64;
    /// Rounded from `f64`.
    fn narrow(x: f64) -> Self;
    /// The AVX-512 loop of [`Float::wide_blocks`] for this dtype; the CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    const WIDE: unsafe fn(&[Self], usize, &mut Stage2<Self>);

    /// Pushes the kernel sum of each of the `x.len() / block` whole blocks of `x`, in order,
    /// into `stage`: with 512-bit vectors when the CPU has them.
    fn wide_blocks(x: &[Self], block: usize, stage: &mut Stage2<Self>) {
        #[cfg(target_arch = "x86_64")]
        if wide_available() {
            // SAFETY: the CPU has AVX-512F.
            unsafe { Self::WIDE(x, block, stage) };
            return;
        }
        x.chunks_exact(block)
            .for_each(|b| stage.push(kernel_sum(b)));
    }
}

/// The JIT's second stage, which adds the block sums in `f64`: for `f32`, a scalar loop over
/// them, each converted (`Total`); for `f64`, a kernel sum of the list of them (`Parts`). A
/// thread that sums a later range of blocks keeps its block sums (`Parts`) for the caller to
/// push after the earlier ones.
enum Stage2<T> {
    Total(f64),
    Parts(Vec<T>),
}

impl<T: Float> Stage2<T> {
    /// The second stage of `nb` block sums.
    fn new(nb: usize) -> Stage2<T> {
        if T::VECTOR_COMBINE {
            Stage2::Parts(Vec::with_capacity(nb))
        } else {
            Stage2::Total(0.0)
        }
    }

    /// Takes the next block sum.
    fn push(&mut self, p: T) {
        match self {
            Stage2::Total(t) => *t += p.widen(),
            Stage2::Parts(v) => v.push(p),
        }
    }

    /// The result, once every block sum was pushed.
    fn result(self) -> f64 {
        match self {
            Stage2::Total(t) => t,
            Stage2::Parts(v) => kernel_sum(&v).widen(),
        }
    }
}

impl Float for f32 {
    const W: usize = 4;
    const ZERO: Self = 0.0;
    const VECTOR_COMBINE: bool = false;
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn narrow(x: f64) -> f32 {
        x as f32
    }
    #[cfg(target_arch = "x86_64")]
    const WIDE: unsafe fn(&[f32], usize, &mut Stage2<f32>) = wide_blocks_f32;
}

impl Float for f64 {
    const W: usize = 2;
    const ZERO: Self = 0.0;
    const VECTOR_COMBINE: bool = true;
    fn widen(self) -> f64 {
        self
    }
    fn narrow(x: f64) -> f64 {
        x
    }
    #[cfg(target_arch = "x86_64")]
    const WIDE: unsafe fn(&[f64], usize, &mut Stage2<f64>) = wide_blocks_f64;
}

/// The blocked sum of `x` (module docs).
fn blocked_sum<T: Float>(x: &[T], pool: Option<&rayon::ThreadPool>) -> T {
    let n = x.len();
    if n <= 4 * BLOCK {
        return kernel_sum(x);
    }
    let block = BLOCK.max(n.div_ceil(PARTIAL_CAP));
    let nb = n / block;
    let (head, tail) = x.split_at(nb * block);
    let mut stage = Stage2::new(nb);
    let threads = pool.map_or(1, |p| p.current_num_threads());
    match pool {
        Some(pool) if threads > 1 && n >= PARALLEL_MIN => {
            // The first range pushes into the real stage; the others keep their block sums,
            // pushed after it in order.
            let per = nb.div_ceil(threads) * block;
            let (first, rest) = head.split_at(per);
            let later = pool.install(|| {
                rayon::join(
                    || T::wide_blocks(first, block, &mut stage),
                    || {
                        rest.par_chunks(per)
                            .map(|c| {
                                let mut kept = Stage2::Parts(Vec::with_capacity(c.len() / block));
                                T::wide_blocks(c, block, &mut kept);
                                kept
                            })
                            .collect::<Vec<_>>()
                    },
                )
                .1
            });
            for kept in later {
                if let Stage2::Parts(v) = kept {
                    v.into_iter().for_each(|p| stage.push(p));
                }
            }
        }
        _ => T::wide_blocks(head, block, &mut stage),
    }
    let mut total = stage.result();
    if !tail.is_empty() {
        total += blocked_sum(tail, None).widen();
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

/// The end of a kernel sum (inlined: in the wide loop, a call per block cost a sixth of the
/// time): `acc` holds the four accumulators side by side (lane `l` of
/// accumulator `k` at `k * W + l`) after the unrolled loop, `rest` the fewer than `4 W`
/// elements past it.
#[inline(always)]
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
    fold(&acc, s)
}

/// The kernel sum's horizontal step: `s` plus each lane of `(acc0 + acc1) + (acc2 + acc3)`.
#[inline(always)]
fn fold<T: Float>(acc: &[T; 16], mut s: T) -> T {
    let w = T::W;
    for l in 0..w {
        s = s + ((acc[l] + acc[w + l]) + (acc[2 * w + l] + acc[3 * w + l]));
    }
    s
}

/// Blocks handed to [`Float::wide_blocks`]'s four streams at a time: each stream reads this
/// many consecutive blocks (1 MiB of `f32` at 256-element blocks).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const STREAM_BLOCKS: usize = 1024;

/// [`Float::wide_blocks`] for one dtype. One zmm accumulator per block, four blocks at a time
/// (four independent dependency chains). The four blocks come from four separate runs of
/// [`STREAM_BLOCKS`] blocks, so that memory is read as four sequential streams: four adjacent
/// blocks (1 KiB apart) read together ran at a third of the speed on the AMD EPYC (Zen 4)
/// test machine. The block sums of a run are kept in a buffer and pushed into the second
/// stage, in block order, while the next run streams in (pushed all at the end, the `f32`
/// stage's chain of dependent adds cost a tenth of the time).
macro_rules! wide_blocks {
    ($name:ident, $t:ty, $vec:ty, $zero:ident, $load:ident, $add:ident, $store:ident) => {
        /// # Safety
        /// The CPU must have AVX-512F.
        #[cfg(target_arch = "x86_64")]
        unsafe fn $name(x: &[$t], block: usize, stage: &mut Stage2<$t>) {
            // SAFETY: the caller's.
            unsafe {
                if block == BLOCK {
                    $name::streams::<BLOCK>(x, block, stage)
                } else {
                    $name::streams::<0>(x, block, stage)
                }
            }
        }

        #[cfg(target_arch = "x86_64")]
        mod $name {
            use super::*;

            /// The loop, for blocks of `FIXED` elements (a multiple of the vector: a constant trip
            /// count, unrolled whole, ran 15% faster), or any length when `FIXED` is 0.
            ///
            /// # Safety
            /// The CPU must have AVX-512F.
            #[target_feature(enable = "avx512f")]
            pub(super) unsafe fn streams<const FIXED: usize>(
                x: &[$t],
                block: usize,
                stage: &mut Stage2<$t>,
            ) {
                use std::arch::x86_64::*;
                const LANES: usize = 64 / std::mem::size_of::<$t>();
                let nb = x.len() / block;
                let main = if FIXED > 0 {
                    FIXED
                } else {
                    block - block % LANES
                };
                // The kernel sum of block `b` from its zmm accumulator over `main` elements.
                let end = |z: $vec, b: usize| {
                    let mut acc = [0.0; 16];
                    // SAFETY: `acc` has room for a zmm register's lanes.
                    unsafe { $store(acc.as_mut_ptr(), z) };
                    if FIXED > 0 {
                        // No elements past the wide loop (the general path cost 20% more).
                        fold(&acc, 0.0)
                    } else {
                        finish(acc, &x[b * block + main..(b + 1) * block])
                    }
                };
                // This run's block sums, and the previous run's still to push (`prev[done..]`).
                let (mut cur, mut prev) = ([0.0; 4 * STREAM_BLOCKS], [0.0; 4 * STREAM_BLOCKS]);
                let (mut prev_len, mut done) = (0, 0);
                let mut b = 0;
                while b < nb {
                    let m = (nb - b).min(4 * STREAM_BLOCKS);
                    let c = m / 4;
                    for j in 0..c {
                        let first = x[(b + j) * block..].as_ptr();
                        let (mut z0, mut z1, mut z2, mut z3) = ($zero(), $zero(), $zero(), $zero());
                        let mut i = 0;
                        while i < main {
                            // SAFETY: blocks `b + j + k * c` (k < 4) lie in `x`, and
                            // `i + LANES <= main <= block`.
                            unsafe {
                                z0 = $add(z0, $load(first.add(i)));
                                z1 = $add(z1, $load(first.add(c * block + i)));
                                z2 = $add(z2, $load(first.add(2 * c * block + i)));
                                z3 = $add(z3, $load(first.add(3 * c * block + i)));
                            }
                            i += LANES;
                        }
                        cur[j] = end(z0, b + j);
                        cur[c + j] = end(z1, b + c + j);
                        cur[2 * c + j] = end(z2, b + 2 * c + j);
                        cur[3 * c + j] = end(z3, b + 3 * c + j);
                        for p in &prev[done..prev_len.min(done + 4)] {
                            stage.push(*p);
                        }
                        done = prev_len.min(done + 4);
                    }
                    for j in 4 * c..m {
                        let first = x[(b + j) * block..].as_ptr();
                        let mut z = $zero();
                        let mut i = 0;
                        while i < main {
                            // SAFETY: block `b + j` lies in `x`, and `i + LANES <= main <= block`.
                            z = $add(z, unsafe { $load(first.add(i)) });
                            i += LANES;
                        }
                        cur[j] = end(z, b + j);
                    }
                    prev[done..prev_len].iter().for_each(|&p| stage.push(p));
                    std::mem::swap(&mut cur, &mut prev);
                    (prev_len, done) = (m, 0);
                    b += m;
                }
                prev[..prev_len].iter().for_each(|&p| stage.push(p));
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

    /// The block sums `wide_blocks` pushes, as bits.
    fn block_sums<T: Float>(x: &[T], block: usize, bits: fn(T) -> u64) -> Vec<u64> {
        let mut kept = Stage2::Parts(Vec::new());
        T::wide_blocks(x, block, &mut kept);
        match kept {
            Stage2::Parts(v) => v.into_iter().map(bits).collect(),
            Stage2::Total(_) => Vec::new(),
        }
    }

    fn data() -> (Vec<f32>, Vec<f64>) {
        let x: Vec<f32> = (0..2_100_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 1e5).sin() * 1e3)
            .collect();
        let y: Vec<f64> = x.iter().map(|&v| f64::from(v) * 1.000_000_1).collect();
        (x, y)
    }

    /// The wide blocks agree bit for bit with the scalar kernel sum of each block, for block
    /// lengths that are and are not multiples of the vector widths, and for more blocks than
    /// one run of the four streams holds.
    #[test]
    fn wide_blocks_match_the_scalar_kernel() {
        let (x, y) = data();
        for (len, block) in [
            (40_000, 256),
            (40_000, 257),
            (40_000, 263),
            (40_000, 4099),
            (2_100_000, 256),
            (2_100_000, 1526),
        ] {
            let scalar: Vec<u64> = y[..len]
                .chunks_exact(block)
                .map(|c| kernel_sum(c).to_bits())
                .collect();
            assert_eq!(
                block_sums(&y[..len], block, f64::to_bits),
                scalar,
                "f64 {len}/{block}"
            );
            let scalar: Vec<u64> = x[..len]
                .chunks_exact(block)
                .map(|c| u64::from(kernel_sum(c).to_bits()))
                .collect();
            let bits = |v: f32| u64::from(v.to_bits());
            assert_eq!(
                block_sums(&x[..len], block, bits),
                scalar,
                "f32 {len}/{block}"
            );
        }
    }

    /// The bits of the blocked sum of `v` on one thread and over `pool`.
    fn one_and_many<T: Float>(v: &[T], pool: &rayon::ThreadPool, bits: fn(T) -> u64) -> (u64, u64) {
        (bits(blocked_sum(v, None)), bits(blocked_sum(v, Some(pool))))
    }

    /// Splitting the blocks over threads changes nothing.
    #[test]
    fn thread_counts_give_the_same_bits() {
        let (x, y) = data();
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for len in [PARALLEL_MIN, 1_000_003, 2_100_000] {
                let (one, many) = one_and_many(&x[..len], &pool, |v| u64::from(v.to_bits()));
                assert_eq!(one, many, "f32 {len}, {threads} threads");
                let (one, many) = one_and_many(&y[..len], &pool, f64::to_bits);
                assert_eq!(one, many, "f64 {len}, {threads} threads");
            }
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
