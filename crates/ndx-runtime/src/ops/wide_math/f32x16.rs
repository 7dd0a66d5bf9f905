//! More `f32` functions on 16 lanes: `exp2`, `expm1`, `sinh`, `cosh`, `log2`, `log10`,
//! `log1p`, `arcsin`, `arccos`, `arctan` and `cbrt`, each the JIT's `f32x4` algorithm
//! (`ndx_codegen::vmath::f32`, `f32_ext`) step by step: the same IEEE operations in the same
//! order on the same constants ([`super::consts`], rounded to `f32` as the JIT rounds them),
//! so the same bits. `examples/exhaustive_f32.rs -- ... --wide` checks every input.
//!
//! The helpers carry the names of the JIT's emitter (`vmath::emit::M`); masks are
//! `__mmask16`, and `sel(m, x, y)` is `m ? x : y`. The functions with a cold path (`expm1`,
//! `sinh`, `cosh`) take it for the lanes of `live` that need it, as the JIT's vectors do for
//! theirs: the general path gives the fast path's bits on the other lanes.

use super::avx512::{c, exp_general, horner, reduce_ln2_shifted, scale_bits, SHIFTER};
use super::consts as k;
use std::arch::x86_64::*;

#[target_feature(enable = "avx512f")]
#[inline]
fn bits(x: __m512) -> __m512i {
    _mm512_castps_si512(x)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn float(i: __m512i) -> __m512 {
    _mm512_castsi512_ps(i)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn add(x: __m512, y: __m512) -> __m512 {
    _mm512_add_ps(x, y)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn sub(x: __m512, y: __m512) -> __m512 {
    _mm512_sub_ps(x, y)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn mul(x: __m512, y: __m512) -> __m512 {
    _mm512_mul_ps(x, y)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn div(x: __m512, y: __m512) -> __m512 {
    _mm512_div_ps(x, y)
}

/// `x * y + z`, rounded once.
#[target_feature(enable = "avx512f")]
#[inline]
fn fma(x: __m512, y: __m512, z: __m512) -> __m512 {
    _mm512_fmadd_ps(x, y, z)
}

/// The sign bit flipped (`fneg`).
#[target_feature(enable = "avx512f")]
#[inline]
fn neg(x: __m512) -> __m512 {
    float(_mm512_xor_si512(bits(x), _mm512_set1_epi32(i32::MIN)))
}

#[target_feature(enable = "avx512f")]
#[inline]
fn abs(x: __m512) -> __m512 {
    _mm512_abs_ps(x)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn rint(x: __m512) -> __m512 {
    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn floor(x: __m512) -> __m512 {
    _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(x)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn trunc(x: __m512) -> __m512 {
    _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(x)
}

/// Horner's scheme, highest degree first (`M::poly`; each constant rounded to `f32`).
#[target_feature(enable = "avx512f")]
#[inline]
fn poly(x: __m512, cs: &[f64]) -> __m512 {
    let Some((first, rest)) = cs.split_first() else {
        return c(0.0);
    };
    let mut u = c(*first);
    for &ci in rest {
        u = fma(u, x, c(ci));
    }
    u
}

#[target_feature(enable = "avx512f")]
#[inline]
fn lt_c(x: __m512, v: f64) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, c(v))
}

#[target_feature(enable = "avx512f")]
#[inline]
fn gt_c(x: __m512, v: f64) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, c(v))
}

#[target_feature(enable = "avx512f")]
#[inline]
fn ge_c(x: __m512, v: f64) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, c(v))
}

#[target_feature(enable = "avx512f")]
#[inline]
fn eq_c(x: __m512, v: f64) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, c(v))
}

/// `x > v` or unordered (`M::ugt_c`), among the `live` lanes.
#[target_feature(enable = "avx512f")]
#[inline]
fn ugt_c(live: __mmask16, x: __m512, v: f64) -> __mmask16 {
    _mm512_mask_cmp_ps_mask::<_CMP_NLE_UQ>(live, x, c(v))
}

#[target_feature(enable = "avx512f")]
#[inline]
fn isnan(x: __m512) -> __mmask16 {
    _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x)
}

/// `m ? x : y`, lane by lane.
#[target_feature(enable = "avx512f")]
#[inline]
fn sel(m: __mmask16, x: __m512, y: __m512) -> __m512 {
    _mm512_mask_blend_ps(m, y, x)
}

#[target_feature(enable = "avx512f")]
#[inline]
fn sel_c(m: __mmask16, x: f64, y: f64) -> __m512 {
    sel(m, c(x), c(y))
}

/// `x` with the lanes of `m` replaced by NaN (all bits set, as `M::or_nan`).
#[target_feature(enable = "avx512f")]
#[inline]
fn or_nan(m: __mmask16, x: __m512) -> __m512 {
    float(_mm512_mask_blend_epi32(m, bits(x), _mm512_set1_epi32(-1)))
}

/// `x` with the lanes of `m` replaced by +0.
#[target_feature(enable = "avx512f")]
#[inline]
fn zero_if(m: __mmask16, x: __m512) -> __m512 {
    _mm512_maskz_mov_ps(!m, x)
}

/// `x` with its sign flipped where `y`'s sign bit is set.
#[target_feature(enable = "avx512f")]
#[inline]
fn mulsign(x: __m512, y: __m512) -> __m512 {
    let sign = _mm512_and_si512(bits(y), _mm512_set1_epi32(i32::MIN));
    float(_mm512_xor_si512(bits(x), sign))
}

/// `min(x, v)` as `M::min_c`: `v < x ? v : x` (NaN stays NaN).
#[target_feature(enable = "avx512f")]
#[inline]
fn min_c(x: __m512, v: f64) -> __m512 {
    sel(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(c(v), x), c(v), x)
}

/// `x` clamped to [lo, hi] (`vmath::f32::clamp`; NaN stays NaN).
#[target_feature(enable = "avx512f")]
#[inline]
fn clamp(x: __m512, lo: f64, hi: f64) -> __m512 {
    let x = sel(lt_c(x, lo), c(lo), x);
    sel(gt_c(x, hi), c(hi), x)
}

/// The integer lanes of integer-valued `q` (`M::int_of`).
#[target_feature(enable = "avx512f")]
#[inline]
fn int_of(q: __m512) -> __m512i {
    _mm512_sub_epi32(bits(add(q, c(SHIFTER))), bits(c(SHIFTER)))
}

/// Integer lanes as floats (`M::float_of`).
#[target_feature(enable = "avx512f")]
#[inline]
fn float_of(i: __m512i) -> __m512 {
    sub(float(_mm512_add_epi32(i, bits(c(SHIFTER)))), c(SHIFTER))
}

/// `2^q` for integer-valued `q` in the normal exponent range (`M::pow2i`).
#[target_feature(enable = "avx512f")]
#[inline]
fn pow2i(q: __m512) -> __m512 {
    let e = _mm512_slli_epi32::<23>(int_of(q));
    float(_mm512_add_epi32(e, bits(c(1.0))))
}

/// `x * 2^q` in two steps (`M::ldexp2`).
#[target_feature(enable = "avx512f")]
#[inline]
fn ldexp2(x: __m512, q: __m512) -> __m512 {
    let h = floor(mul(q, c(0.5)));
    let l = sub(q, h);
    mul(mul(x, pow2i(h)), pow2i(l))
}

/// `x * 2^q` by adding to the exponent field (`M::ldexp3`).
#[target_feature(enable = "avx512f")]
#[inline]
fn ldexp3(x: __m512, q: __m512) -> __m512 {
    let e = _mm512_slli_epi32::<23>(int_of(q));
    float(_mm512_add_epi32(bits(x), e))
}

/// The unbiased exponent field of `d` as a float (`M::ilogb2k`).
#[target_feature(enable = "avx512f")]
#[inline]
fn ilogb2k(d: __m512) -> __m512 {
    let e = _mm512_and_si512(_mm512_srli_epi32::<23>(bits(d)), _mm512_set1_epi32(0xff));
    add(float_of(e), c(-127.0))
}

/// `(e, m)` with `d = 2^e m`, `m` in [lo, 2 lo) (`M::split_exponent_at` with `LOG_TINY`).
#[target_feature(enable = "avx512f")]
#[inline]
fn split_exponent_at(d: __m512, lo: f64) -> (__m512, __m512) {
    let o = lt_c(d, k::LOG_TINY);
    let d = sel(o, mul(d, c(2f64.powi(64))), d);
    let e = ilogb2k(mul(d, c(1.0 / lo)));
    let mm = ldexp3(d, neg(e));
    (sub(e, sel_c(o, 64.0, 0.0)), mm)
}

/// `(e, x)`: `d = 2^e m`, `m` in [lo, 2 lo), `x = (m - 1) / (m + 1)` (`vmath::f32::log_parts`).
#[target_feature(enable = "avx512f")]
#[inline]
fn log_parts(d: __m512, lo: f64) -> (__m512, __m512) {
    let (e, mm) = split_exponent_at(d, lo);
    (e, div(add(mm, c(-1.0)), add(mm, c(1.0))))
}

/// `vmath::f64::log_specials`: +inf at +inf, NaN below 0 and for NaN, -inf at 0.
#[target_feature(enable = "avx512f")]
#[inline]
fn log_specials(d: __m512, r: __m512) -> __m512 {
    let r = sel(eq_c(d, f64::INFINITY), c(f64::INFINITY), r);
    let r = or_nan(lt_c(d, 0.0) | isnan(d), r);
    sel(eq_c(d, 0.0), c(f64::NEG_INFINITY), r)
}

/// `LOG_POLY` scaled by `f` (`vmath::f32_ext::log_poly_times`).
fn log_poly_times(f: f64) -> [f64; 5] {
    k::LOG_POLY.map(|ci| ci * f)
}

/// `vmath::f32_ext::log2`.
#[target_feature(enable = "avx512f")]
pub(super) fn log2_16(d: __m512, _live: __mmask16) -> __m512 {
    let (e, x) = log_parts(d, std::f64::consts::FRAC_1_SQRT_2);
    let p = poly(mul(x, x), &log_poly_times(std::f64::consts::LOG2_E));
    log_specials(d, fma(x, p, e))
}

/// `vmath::f32_ext::log10`.
#[target_feature(enable = "avx512f")]
pub(super) fn log10_16(d: __m512, _live: __mmask16) -> __m512 {
    let (e, x) = log_parts(d, std::f64::consts::FRAC_1_SQRT_2);
    let p = poly(mul(x, x), &log_poly_times(std::f64::consts::LOG10_E));
    let r = fma(x, p, mul(e, c(k::L10_2_LO)));
    log_specials(d, fma(e, c(k::L10_2_HI), r))
}

/// `vmath::f32_ext::log1p`.
#[target_feature(enable = "avx512f")]
pub(super) fn log1p_16(d: __m512, _live: __mmask16) -> __m512 {
    let big = gt_c(d, 1e30);
    let dv = sel(big, mul(d, c(2f64.powi(-64))), d);
    let (e, _) = split_exponent_at(add(dv, c(1.0)), 0.75);
    let t = ldexp3(c(1.0), neg(e));
    let mm = fma(dv, t, add(t, c(-1.0)));
    let e = add(e, sel_c(big, 64.0, 0.0));
    let x = div(mm, add(mm, c(2.0)));
    let p = poly(mul(x, x), &k::LOG_POLY);
    let r = fma(x, p, mul(e, c(k::LN2)));
    let r = sel(lt_c(abs(d), 2f64.powi(-24)), d, r);
    // `log1p_specials`: +inf at +inf, NaN below -1 and for NaN, -inf at -1.
    let r = sel(eq_c(d, f64::INFINITY), c(f64::INFINITY), r);
    let r = or_nan(lt_c(d, -1.0) | isnan(d), r);
    sel(eq_c(d, -1.0), c(f64::NEG_INFINITY), r)
}

/// e^d for |d| <= `EXP_FAST` (`vmath::f32::exp_fast`).
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_fast(d: __m512) -> __m512 {
    let (s, t) = reduce_ln2_shifted(d);
    let u = horner(s);
    let u = fma(mul(s, s), u, s);
    scale_bits(add(u, c(1.0)), t)
}

/// `vmath::f32_ext::expm1`.
#[target_feature(enable = "avx512f")]
pub(super) fn expm1_16(x: __m512, live: __mmask16) -> __m512 {
    let y = clamp(x, -18.0, k::EXP_FAST);
    let (s, tb) = reduce_ln2_shifted(y);
    let u = horner(s);
    let p = fma(mul(s, s), u, s);
    let t = scale_bits(c(1.0), tb);
    let r = fma(t, p, add(t, c(-1.0)));
    let fast = sel(lt_c(abs(x), 2f64.powi(-25)), x, r);
    let rare = ugt_c(live, x, k::EXP_FAST);
    if rare == 0 {
        return fast;
    }
    sel(rare, exp_general(x), fast)
}

/// `fast` with the lanes of `rare` replaced by e^|x| / 2 (signed by `x` when `odd`), as
/// h (h / 2) with h = e^(|x|/2) (`vmath::f32_ext::far_range`).
#[target_feature(enable = "avx512f")]
#[inline]
fn far_range(rare: __mmask16, fast: __m512, x: __m512, odd: bool) -> __m512 {
    if rare == 0 {
        return fast;
    }
    let y = min_c(mul(abs(x), c(0.5)), k::EXP_FAST);
    let h = exp_fast(y);
    let r = mul(mul(h, c(0.5)), h);
    let r = if odd { mulsign(r, x) } else { r };
    sel(rare, or_nan(isnan(x), r), fast)
}

/// `vmath::f32_ext::sinh`.
#[target_feature(enable = "avx512f")]
pub(super) fn sinh16(x: __m512, live: __mmask16) -> __m512 {
    let a = abs(x);
    let e = expm1_16(min_c(a, k::EXP_FAST), live);
    let q = div(add(e, c(2.0)), add(e, c(1.0)));
    let r = mulsign(mul(q, mul(e, c(0.5))), x);
    far_range(ugt_c(live, a, k::EXP_FAST), r, x, true)
}

/// `vmath::f32_ext::cosh`.
#[target_feature(enable = "avx512f")]
pub(super) fn cosh16(x: __m512, live: __mmask16) -> __m512 {
    let a = abs(x);
    let h = mul(exp_fast(min_c(a, k::EXP_FAST)), c(0.5));
    let r = add(h, div(c(0.25), h));
    far_range(ugt_c(live, a, k::EXP_FAST), r, x, false)
}

/// `vmath::f32::exp2` (SLEEF's `xexp2f`).
#[target_feature(enable = "avx512f")]
pub(super) fn exp2_16(d: __m512, _live: __mmask16) -> __m512 {
    let x = clamp(d, -150.0, 130.0);
    let q = rint(x);
    let u = poly(sub(x, q), &k::EXP2_POLY);
    let u = ldexp2(u, q);
    let u = sel(ge_c(d, 128.0), c(f64::INFINITY), u);
    zero_if(lt_c(d, -150.0), u)
}

/// atan(s) for |s| <= 1 (`vmath::f32_ext::atan_poly`).
#[target_feature(enable = "avx512f")]
#[inline]
fn atan_poly(s: __m512) -> __m512 {
    let t = mul(s, s);
    let u = poly(t, &k::ATAN_POLY);
    fma(s, mul(t, u), s)
}

/// `vmath::f32_ext::atan`.
#[target_feature(enable = "avx512f")]
pub(super) fn atan16(x: __m512, _live: __mmask16) -> __m512 {
    let a = abs(x);
    let big = gt_c(a, 1.0);
    let r = atan_poly(sel(big, div(c(1.0), a), a));
    let r = sel(big, sub(c(std::f64::consts::FRAC_PI_2), r), r);
    mulsign(r, x)
}

/// `(o, x, P(x^2), x^3)` of asin and acos (`vmath::f32_ext::asin_parts`).
#[target_feature(enable = "avx512f")]
#[inline]
fn asin_parts(d: __m512) -> (__mmask16, __m512, __m512, __m512) {
    let a = abs(d);
    let o = lt_c(a, 0.5);
    let x2 = sel(o, mul(d, d), mul(sub(c(1.0), a), c(0.5)));
    let x = sel(o, a, _mm512_sqrt_ps(x2));
    let u = poly(x2, &k::ASIN_POLY);
    (o, x, u, mul(x, x2))
}

/// `vmath::f32_ext::asin`.
#[target_feature(enable = "avx512f")]
pub(super) fn asin16(d: __m512, _live: __mmask16) -> __m512 {
    let (o, x, p, x3) = asin_parts(d);
    let r = fma(p, x3, x);
    let far = fma(r, c(-2.0), c(std::f64::consts::FRAC_PI_2));
    mulsign(sel(o, r, far), d)
}

/// `vmath::f32_ext::acos`.
#[target_feature(enable = "avx512f")]
pub(super) fn acos16(d: __m512, _live: __mmask16) -> __m512 {
    let (o, x, p, x3) = asin_parts(d);
    let u = mul(p, x3);
    let unit = eq_c(abs(d), 1.0);
    let x = sel(unit, c(0.0), x);
    let u = sel(unit, c(0.0), u);
    let near = sub(
        c(std::f64::consts::FRAC_PI_2),
        add(mulsign(x, d), mulsign(u, d)),
    );
    let far = mul(add(x, u), c(2.0));
    let r = sel(o, near, far);
    let flip = !o & lt_c(d, 0.0);
    let back = add(sub(c(std::f64::consts::PI), r), c(k::PI_LO));
    sel(flip, back, r)
}

/// `floor(log2(d))` for positive finite `d`, subnormals included (`M::ilogbk`: below
/// 2^-64, scaled by 2^64 first).
#[target_feature(enable = "avx512f")]
#[inline]
fn ilogbk(d: __m512) -> __m512 {
    let o = lt_c(d, 2f64.powi(-64));
    let d = sel(o, mul(d, c(2f64.powi(64))), d);
    sub(ilogb2k(d), sel_c(o, 64.0, 0.0))
}

/// `vmath::f32_ext::cbrt` (SLEEF's `xcbrtf`, through `cbrt_plain` with `cbrt_split`).
#[target_feature(enable = "avx512f")]
pub(super) fn cbrt16(d0: __m512, _live: __mmask16) -> __m512 {
    const LIMIT: f64 = 300.0;
    // cbrt_split: d0 = 2^e dv, e + 6144 = 3 qu + re.
    let e = add(ilogbk(abs(d0)), c(1.0));
    let e = sel(lt_c(e, -LIMIT), c(-LIMIT), e);
    let e = sel(gt_c(e, LIMIT), c(LIMIT), e);
    let dv = ldexp2(d0, neg(e));
    let t = add(e, c(6144.0));
    let qu = trunc(mul(t, c(1.0 / 3.0)));
    let re = trunc(fma(qu, c(-3.0), t));
    let q = sel(eq_c(re, 1.0), c(super::consts64::CBRT_2_1_3), c(1.0));
    let q = sel(eq_c(re, 2.0), c(super::consts64::CBRT_2_2_3), q);
    let q = ldexp2(q, add(qu, c(-2048.0)));
    let q = mulsign(q, dv);
    let dv = abs(dv);
    let x = poly(dv, &k::CBRT_POLY);
    let y = mul(mul(dv, x), x);
    let w = mul(mul(y, c(2.0 / 3.0)), fma(y, x, c(-1.0)));
    let y = mul(sub(y, w), q);
    // cbrt_specials: infinities and signed zeros as they are, NaN stays NaN.
    let r = sel(
        eq_c(abs(d0), f64::INFINITY),
        mulsign(c(f64::INFINITY), d0),
        y,
    );
    let r = sel(eq_c(d0, 0.0), d0, r);
    or_nan(isnan(d0), r)
}
