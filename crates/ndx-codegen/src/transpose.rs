//! Transposing copies in registers.
//!
//! A tile of a copy whose input is contiguous along the outer loop and whose output is
//! contiguous along the inner loop (`ascontiguousarray(a.T)`, `b[:, :] = a.T`) would be
//! read and written one element at a time by the compiled nest: every read is one stride
//! apart. Instead, 4x4 blocks of 4-byte elements (8x8 on CPUs with AVX, 16x16 with AVX-512F;
//! 2x2 of 8-byte ones)
//! are loaded as whole vectors along the input's contiguous axis, transposed with shuffles,
//! and stored as whole vectors along the output's. Values are moved bit for bit, so the result is the nest's.

use ndx_ir::kernel::Op;
use ndx_ir::loops::{Launch, Nest};

/// The element size when every tile of `launch` can be copied by [`copy_tile`]: the nest is
/// a plain copy (one input read, stored unchanged) of 4- or 8-byte elements, the input walks
/// its memory forward along the outer axis and the output along the inner one.
pub(crate) fn plan(nest: &Nest, launch: &Launch) -> Option<usize> {
    let k = &nest.kernel;
    let [out] = k.outputs.as_slice() else {
        return None;
    };
    let is_copy = out.reduce.is_none()
        && k.inputs.len() == 1
        && matches!(
            k.nodes.get(out.value.index()).map(|n| &n.op),
            Some(Op::Input(0))
        )
        && k.nodes[out.value.index()].dtype == k.inputs[0];
    let item = k.inputs.first()?.size();
    let r = nest.rank;
    if !cfg!(target_arch = "x86_64") || !is_copy || r < 2 || !matches!(item, 4 | 8) {
        return None;
    }
    let (src, dst) = (launch.strides.first()?, launch.strides.get(1)?);
    (src[r - 2] == item as isize && dst[r - 1] == item as isize).then_some(item)
}

/// Copies one tile (a launch of the nest [`plan`] accepted, with extent 1 on every axis but
/// the last two; see `parallel::tiles`) of `item`-byte elements.
///
/// # Safety
/// The launch describes valid memory: its input readable and its output writable at every
/// point of its shape, not overlapping.
pub(crate) unsafe fn copy_tile(l: &Launch, item: usize) {
    let r = l.shape.len();
    let (a0, a1) = (r - 2, r - 1);
    let (n0, n1) = (l.shape[a0], l.shape[a1]);
    let (src, dst) = (l.ptrs[0] as *const u8, l.ptrs[1] as *mut u8);
    let s1 = l.strides[0][a1];
    let d0 = l.strides[1][a0];
    let block = block_side(item);
    let (b0, b1) = (n0 - n0 % block, n1 - n1 % block);
    let at = |p: *const u8, i: usize, si: isize, j: usize, sj: isize| {
        p.wrapping_offset(i as isize * si + j as isize * sj)
    };
    // SAFETY (all blocks below): every address is a point of the launch, which the caller
    // vouches for; unaligned loads and stores are used throughout.
    unsafe {
        for i in (0..b0).step_by(block) {
            for j in (0..b1).step_by(block) {
                let s = at(src, i, item as isize, j, s1);
                let d = at(dst, i, d0, j, item as isize) as *mut u8;
                match block {
                    16 => block16(s, s1, d, d0),
                    8 => block8(s, s1, d, d0),
                    4 => block4(s, s1, d, d0),
                    _ => block2(s, s1, d, d0),
                }
            }
        }
        // The edges: the last rows and columns that do not fill a block.
        let scalar = |i: usize, j: usize| {
            let s = at(src, i, item as isize, j, s1);
            let d = at(dst, i, d0, j, item as isize) as *mut u8;
            std::ptr::copy_nonoverlapping(s, d, item);
        };
        for i in 0..n0 {
            let from = if i < b0 { b1 } else { 0 };
            for j in from..n1 {
                scalar(i, j);
            }
        }
    }
}

/// The side of the square register blocks of `item`-byte elements on this CPU (checked
/// once): 4-byte elements in 16x16 blocks with AVX-512F, 8x8 with AVX alone, 4x4 otherwise;
/// 8-byte ones in 2x2 blocks.
fn block_side(item: usize) -> usize {
    static SIDE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    if item != 4 {
        return 2;
    }
    *SIDE.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return 16;
        } else if std::arch::is_x86_feature_detected!("avx") {
            return 8;
        }
        4
    })
}

/// A 16x16 block of 4-byte elements with 512-bit vectors (as [`block8`], one 64-byte line per
/// input column and output row): pairs interleaved, pairs of pairs, then the 128-bit quarters
/// gathered in two steps. `benches/ndx/transpose.ndx`: 13.4-15.4 ms against 20.6-21.1 ms in
/// 8x8 blocks (BENCHMARKS.md, issue 3).
///
/// # Safety
/// The CPU has AVX-512F; 64 bytes at each of the sixteen columns and rows are valid.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block16(s: *const u8, s1: isize, d: *mut u8, d0: isize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's: 64 bytes at each of the sixteen columns and rows.
    unsafe {
        let r: [__m512; 16] =
            std::array::from_fn(|k| _mm512_loadu_ps(s.offset(k as isize * s1) as *const f32));
        // t[2p], t[2p + 1]: rows 2p and 2p + 1 interleaved (low and high pairs of each quarter).
        let t: [__m512; 16] = std::array::from_fn(|k| {
            let (a, b) = (r[k & !1], r[k | 1]);
            if k % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        // u: within each quarter, element i of rows 4q..4q+3 side by side.
        let u: [__m512; 16] = std::array::from_fn(|k| {
            let (g, i) = (k / 4 * 4, k % 4);
            let (a, b) = (t[g + i / 2], t[g + 2 + i / 2]);
            if i % 2 == 0 {
                _mm512_shuffle_ps::<0x44>(a, b)
            } else {
                _mm512_shuffle_ps::<0xEE>(a, b)
            }
        });
        // v: quarters of row groups 0-1 and 2-3 paired.
        let v: [__m512; 16] = std::array::from_fn(|k| {
            let (h, i) = (k / 8 * 8, k % 8);
            let (a, b) = (u[h + i % 4], u[h + 4 + i % 4]);
            if i < 4 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xDD>(a, b)
            }
        });
        for k in 0..16 {
            let (a, b) = (v[k % 8], v[8 + k % 8]);
            let w = if k < 8 {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0xDD>(a, b)
            };
            _mm512_storeu_ps(d.offset(k as isize * d0) as *mut f32, w);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn block16(_: *const u8, _: isize, _: *mut u8, _: isize) {}

/// An 8x8 block of 4-byte elements with 256-bit vectors (as [`block4`]: input columns
/// `j..j+8` become output rows): pairs interleaved, then pairs of pairs, then the halves
/// swapped across the 128-bit lanes. `benches/ndx/transpose.ndx` (4096 x 4096 `f32`, one
/// thread), alternating binaries: 20.6-21.1 ms against 23.1-24.4 ms in 4x4 blocks
/// (BENCHMARKS.md, issue 3).
///
/// # Safety
/// The CPU has AVX; 32 bytes at each of the eight columns and rows are valid.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn block8(s: *const u8, s1: isize, d: *mut u8, d0: isize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's: 32 bytes at each of the eight columns and rows.
    unsafe {
        let r: [__m256; 8] =
            std::array::from_fn(|k| _mm256_loadu_ps(s.offset(k as isize * s1) as *const f32));
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let u = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        for m in 0..4 {
            let lo = _mm256_permute2f128_ps::<0x20>(u[m], u[m + 4]);
            let hi = _mm256_permute2f128_ps::<0x31>(u[m], u[m + 4]);
            _mm256_storeu_ps(d.offset(m as isize * d0) as *mut f32, lo);
            _mm256_storeu_ps(d.offset((m + 4) as isize * d0) as *mut f32, hi);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn block8(_: *const u8, _: isize, _: *mut u8, _: isize) {}

/// A 4x4 block of 4-byte elements: input columns `j..j+4` (each 4 contiguous elements along
/// the input's axis 0) become output rows.
#[cfg(target_arch = "x86_64")]
unsafe fn block4(s: *const u8, s1: isize, d: *mut u8, d0: isize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's: 16 bytes at each of the four columns and rows.
    unsafe {
        let v0 = _mm_loadu_ps(s as *const f32);
        let v1 = _mm_loadu_ps(s.offset(s1) as *const f32);
        let v2 = _mm_loadu_ps(s.offset(2 * s1) as *const f32);
        let v3 = _mm_loadu_ps(s.offset(3 * s1) as *const f32);
        let t0 = _mm_unpacklo_ps(v0, v1);
        let t1 = _mm_unpacklo_ps(v2, v3);
        let t2 = _mm_unpackhi_ps(v0, v1);
        let t3 = _mm_unpackhi_ps(v2, v3);
        _mm_storeu_ps(d as *mut f32, _mm_movelh_ps(t0, t1));
        _mm_storeu_ps(d.offset(d0) as *mut f32, _mm_movehl_ps(t1, t0));
        _mm_storeu_ps(d.offset(2 * d0) as *mut f32, _mm_movelh_ps(t2, t3));
        _mm_storeu_ps(d.offset(3 * d0) as *mut f32, _mm_movehl_ps(t3, t2));
    }
}

/// A 2x2 block of 8-byte elements.
#[cfg(target_arch = "x86_64")]
unsafe fn block2(s: *const u8, s1: isize, d: *mut u8, d0: isize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's: 16 bytes at each of the two columns and rows.
    unsafe {
        let v0 = _mm_loadu_pd(s as *const f64);
        let v1 = _mm_loadu_pd(s.offset(s1) as *const f64);
        _mm_storeu_pd(d as *mut f64, _mm_unpacklo_pd(v0, v1));
        _mm_storeu_pd(d.offset(d0) as *mut f64, _mm_unpackhi_pd(v0, v1));
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn block4(_: *const u8, _: isize, _: *mut u8, _: isize) {}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn block2(_: *const u8, _: isize, _: *mut u8, _: isize) {}
