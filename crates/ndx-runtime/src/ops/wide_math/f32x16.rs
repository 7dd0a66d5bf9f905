//! More `f32` functions on 16 lanes: `exp2`, `expm1`, `sinh`, `cosh`, `log2`, `log10`,
//! `log1p`, `arcsin`, `arccos`, `arctan`, `cbrt`, `pow` and `arctan2`, each the JIT's `f32x4`
//! algorithm (`ndx_codegen::vmath::f32`, `f32_ext`) step by step: the same IEEE operations in
//! the same order on the same constants ([`super::consts`], rounded to `f32` as the JIT rounds
//! them), so the same bits. `examples/exhaustive_f32.rs -- ... --wide` checks every input. The
//! helpers (`add`, `sel`, `dd_mul`, ...) are `lanes.rs`'s, named after the JIT's emitter.
//!
//! The functions with a cold path (`expm1`, `sinh`, `cosh`) take it for the lanes of `live`
//! that need it, as the JIT's vectors do for theirs: the general path gives the fast path's
//! bits on the other lanes. `exp2`, `log`, `log2`, `log10`, `log1p` and `arctan2` skip their
//! clamps, scalings of extreme arguments and special values when every live lane is an
//! ordinary argument, where those steps change no bit (the same operations otherwise, so the
//! same bits; 1.2-2.3x faster on 1M random arguments).

use super::consts as k;
use crate::ops::pi_reduce::{self, Unit};
use std::arch::x86_64::*;

lanes! {
    float: f32, vec: __m512, mask: __mmask16,
    mant: 23, exp_mask: 0xff, bias: 127.0, shifter: 12_582_912.0, sign: i32::MIN,
    set1: _mm512_set1_ps, add: _mm512_add_ps, sub: _mm512_sub_ps, mul: _mm512_mul_ps,
    div: _mm512_div_ps, fmadd: _mm512_fmadd_ps, fmsub: _mm512_fmsub_ps,
    fnmadd: _mm512_fnmadd_ps, abs: _mm512_abs_ps, sqrt: _mm512_sqrt_ps,
    roundscale: _mm512_roundscale_ps, cmp: _mm512_cmp_ps_mask, blend: _mm512_mask_blend_ps,
    maskz_mov: _mm512_maskz_mov_ps, to_int: _mm512_castps_si512, to_float: _mm512_castsi512_ps,
    iset1: _mm512_set1_epi32, iadd: _mm512_add_epi32, isub: _mm512_sub_epi32,
    iblend: _mm512_mask_blend_epi32, ieq: _mm512_cmpeq_epi32_mask, ilt: _mm512_cmplt_epi32_mask,
    imaskz_mov: _mm512_maskz_mov_epi32, slli: _mm512_slli_epi32, srli: _mm512_srli_epi32,
}

/// `x > v` or unordered (`M::ugt_c`), among the `live` lanes.
#[target_feature(enable = "avx512f")]
#[inline]
fn ugt_c(live: __mmask16, x: __m512, v: f64) -> __mmask16 {
    _mm512_mask_cmp_ps_mask::<_CMP_NLE_UQ>(live, x, c(v))
}

/// `(e, x)`: `d = 2^e m`, `m` in [lo, 2 lo), `x = (m - 1) / (m + 1)` (`vmath::f32::log_parts`).
#[target_feature(enable = "avx512f")]
#[inline]
fn log_parts(d: __m512, lo: f64) -> (__m512, __m512) {
    let (e, mm) = split_exponent_at(d, k::LOG_TINY, lo);
    (e, div(add(mm, c(-1.0)), add(mm, c(1.0))))
}

/// [`log_parts`] where every live lane of `d` is a normal number from `LOG_TINY` up to the
/// largest finite one (NaN is not): then no lane takes the scaling of tiny inputs, nor
/// changes in `log_specials`, and the logarithms skip both (the same bits). `None` otherwise.
#[target_feature(enable = "avx512f")]
#[inline]
fn log_parts_ordinary(d: __m512, live: __mmask16, lo: f64) -> Option<(__m512, __m512)> {
    let from_tiny = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(live, d, c(k::LOG_TINY));
    if from_tiny & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(d, c(f64::INFINITY)) != live {
        return None;
    }
    let e = ilogb2k(mul(d, c(1.0 / lo)));
    let mm = ldexp3(d, neg(e));
    Some((e, div(add(mm, c(-1.0)), add(mm, c(1.0)))))
}

/// A logarithm `f(e, x)` of the parts of `d` ([`log_parts`], split at `lo`) with
/// `log_specials`, or without them where [`log_parts_ordinary`] applies.
#[target_feature(enable = "avx512f")]
#[inline]
fn log_with(d: __m512, live: __mmask16, lo: f64, f: impl Fn(__m512, __m512) -> __m512) -> __m512 {
    if let Some((e, x)) = log_parts_ordinary(d, live, lo) {
        return f(e, x);
    }
    let (e, x) = log_parts(d, lo);
    log_specials(d, f(e, x))
}

/// `LOG_POLY` scaled by `f` (`vmath::f32_ext::log_poly_times`), at compile time: computed
/// in each call, the scaling and the constants' broadcasts cost `log2` and `log10` a third of
/// `log`'s time.
const fn log_poly_times(f: f64) -> [f64; 5] {
    let mut p = k::LOG_POLY;
    let mut i = 0;
    while i < p.len() {
        p[i] *= f;
        i += 1;
    }
    p
}

/// [`log_poly_times`] of log2(e) and of log10(e).
const LOG2_POLY: [f64; 5] = log_poly_times(std::f64::consts::LOG2_E);
const LOG10_POLY: [f64; 5] = log_poly_times(std::f64::consts::LOG10_E);

/// `vmath::f32_ext::log2`.
#[target_feature(enable = "avx512f")]
pub(super) fn log2_16(d: __m512, live: __mmask16) -> __m512 {
    log_with(d, live, std::f64::consts::FRAC_1_SQRT_2, |e, x| {
        let p = poly(mul(x, x), &LOG2_POLY);
        fma(x, p, e)
    })
}

/// `vmath::f32_ext::log10`.
#[target_feature(enable = "avx512f")]
pub(super) fn log10_16(d: __m512, live: __mmask16) -> __m512 {
    log_with(d, live, std::f64::consts::FRAC_1_SQRT_2, |e, x| {
        let p = poly(mul(x, x), &LOG10_POLY);
        fma(e, c(k::L10_2_HI), fma(x, p, mul(e, c(k::L10_2_LO))))
    })
}

/// `vmath::f32_ext::log1p`.
#[target_feature(enable = "avx512f")]
pub(super) fn log1p_16(d: __m512, live: __mmask16) -> __m512 {
    // Where every live lane is above -1, at most 1e30 (NaN is neither) and at least 2^-24 in
    // magnitude, no lane is scaled (big, or `1 + d` tiny), kept as `d` or changed by
    // `log1p_specials`: the same steps without those give the same bits.
    let ordinary = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(live, d, c(-1.0))
        & le_c(d, 1e30)
        & ge_c(abs(d), 2f64.powi(-24));
    if ordinary == live {
        let e = ilogb2k(mul(add(d, c(1.0)), c(1.0 / 0.75)));
        let t = ldexp3(c(1.0), neg(e));
        let mm = fma(d, t, add(t, c(-1.0)));
        let x = div(mm, add(mm, c(2.0)));
        let p = poly(mul(x, x), &k::LOG_POLY);
        return fma(x, p, mul(e, c(k::LN2)));
    }
    let big = gt_c(d, 1e30);
    let dv = sel(big, mul(d, c(2f64.powi(-64))), d);
    let (e, _) = split_exponent_at(add(dv, c(1.0)), k::LOG_TINY, 0.75);
    let t = ldexp3(c(1.0), neg(e));
    let mm = fma(dv, t, add(t, c(-1.0)));
    let e = add(e, sel_c(big, 64.0, 0.0));
    let x = div(mm, add(mm, c(2.0)));
    let p = poly(mul(x, x), &k::LOG_POLY);
    let r = fma(x, p, mul(e, c(k::LN2)));
    let r = sel(lt_c(abs(d), 2f64.powi(-24)), d, r);
    log1p_specials(d, r)
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
    let y = min_c(a, k::EXP_FAST);
    let y2 = mul(y, y);
    let near = fma(mul(y2, y), poly(y2, &super::consts64::SINH_TAYLOR[3..]), y);
    let h = mul(exp_fast(y), c(0.5));
    let far = sub(h, div(c(0.25), h));
    let v = mulsign(sel(lt_c(y, 1.0), near, far), x);
    far_range(ugt_c(live, a, k::EXP_FAST), v, x, true)
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
pub(super) fn exp2_16(d: __m512, live: __mmask16) -> __m512 {
    // Where every live lane is within [-125, 125] (NaN is not), the clamps and the tests
    // below change nothing, and `2^q` scales the polynomial (0.7 to 1.42) to a normal number:
    // adding `q` to its exponent field gives `ldexp2`'s bits.
    if ugt_c(live, abs(d), EXP2_FAST) == 0 {
        let q = rint(d);
        return ldexp3(poly(sub(d, q), &k::EXP2_POLY), q);
    }
    let x = clamp(d, -150.0, 130.0);
    let q = rint(x);
    let u = poly(sub(x, q), &k::EXP2_POLY);
    let u = ldexp2(u, q);
    let u = sel(ge_c(d, 128.0), c(f64::INFINITY), u);
    zero_if(lt_c(d, -150.0), u)
}

/// The largest `|x|` of [`exp2_16`]'s fast path.
const EXP2_FAST: f64 = 125.0;

/// `vmath::f32_ext::atan`.
#[target_feature(enable = "avx512f")]
pub(super) fn atan16(x: __m512, _live: __mmask16) -> __m512 {
    atan_folded(x, &k::ATAN_POLY)
}

/// `(o, x, P(x^2), x^3)` of asin and acos (`vmath::f32_ext::asin_parts`).
#[target_feature(enable = "avx512f")]
#[inline]
fn asin_parts(d: __m512) -> (__mmask16, __m512, __m512, __m512) {
    let a = abs(d);
    let o = lt_c(a, 0.5);
    let x2 = sel(o, mul(d, d), mul(sub(c(1.0), a), c(0.5)));
    let x = sel(o, a, sqrt(x2));
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

/// `vmath::f32_ext::cbrt` (SLEEF's `xcbrtf`, through `cbrt_plain` with `cbrt_split`).
///
/// For a finite nonzero `d0` (subnormals included), `cbrt_split`'s exponent `e` is
/// `vgetexpps`'s plus one (at most 128 in size: the clamp to 300 never acts), its `dv` is
/// `vgetmantps`'s mantissa in [0.5, 1) with `d0`'s sign, and its power of two `2^(qu - 2048)`
/// (from 2^-50 to 2^43) scales exactly by `vscalefps`: three instructions in place of about
/// thirty, the same bits. Zeros, infinities and NaN get any value here: `cbrt_specials`
/// replaces it.
#[target_feature(enable = "avx512f")]
pub(super) fn cbrt16(d0: __m512, _live: __mmask16) -> __m512 {
    // cbrt_split: d0 = 2^e dv, e + 6144 = 3 qu + re.
    let e = add(_mm512_getexp_ps(d0), c(1.0));
    let dv = _mm512_getmant_ps::<_MM_MANT_NORM_P5_1, _MM_MANT_SIGN_SRC>(d0);
    let t = add(e, c(6144.0));
    let qu = trunc(mul(t, c(1.0 / 3.0)));
    let re = trunc(fma(qu, c(-3.0), t));
    let q = sel(eq_c(re, 1.0), c(super::consts64::CBRT_2_1_3), c(1.0));
    let q = sel(eq_c(re, 2.0), c(super::consts64::CBRT_2_2_3), q);
    let q = _mm512_scalef_ps(q, add(qu, c(-2048.0)));
    let q = mulsign(q, dv);
    let dv = abs(dv);
    let x = poly(dv, &k::CBRT_POLY);
    let y = mul(mul(dv, x), x);
    let w = mul(mul(y, c(2.0 / 3.0)), fma(y, x, c(-1.0)));
    let y = mul(sub(y, w), q);
    cbrt_specials(d0, y)
}

// pow and arctan2 (`vmath::f32_ext::pow`, `atan2`, with the f64 code's `pow_finish` and
// `atan2_finish`).

/// `vmath::f32_ext::pow`: 2^(y log2|x|) in `f64` (eight lanes at a time,
/// `f64x8::pow_abs_for_f32`), rounded to `f32` once, with the f64 code's
/// `pow_ordinary_or_finish`: `pow_finish` gives `r` itself on the ordinary lanes, so the
/// branch never changes a bit.
#[target_feature(enable = "avx512f")]
pub(super) fn pow16(x: __m512, y: __m512) -> __m512 {
    let (al, ah) = widen(abs(x));
    let (yl, yh) = widen(y);
    let r = narrow(
        super::f64x8::pow_abs_for_f32(al, yl),
        super::f64x8::pow_abs_for_f32(ah, yh),
    );
    pow_ordinary_or_finish(x, y, r)
}

/// The 16 lanes of `x` as two 8-lane `f64` vectors (lanes 0-7, then 8-15), exactly
/// (`M::widen`).
#[target_feature(enable = "avx512f")]
#[inline]
fn widen(x: __m512) -> (__m512d, __m512d) {
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)));
    (
        _mm512_cvtps_pd(_mm512_castps512_ps256(x)),
        _mm512_cvtps_pd(hi),
    )
}

/// Two 8-lane `f64` vectors rounded to `f32` into one 16-lane vector (`M::narrow`).
#[target_feature(enable = "avx512f")]
#[inline]
fn narrow(lo: __m512d, hi: __m512d) -> __m512 {
    let lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(lo)));
    let hi = _mm256_castps_pd(_mm512_cvtpd_ps(hi));
    _mm512_castpd_ps(_mm512_insertf64x4::<1>(lo, hi))
}

/// `vmath::f32_ext::atan2` (SLEEF's `xatan2f`): `atan2_plain` with the `f32` coefficients.
#[target_feature(enable = "avx512f")]
pub(super) fn atan2_16(y: __m512, x: __m512) -> __m512 {
    atan2_plain(y, x, k::ATAN2_TINY, 16_777_216.0, &k::ATAN_POLY)
}

// exp, tanh, log, erf, sin, cos, tan (`vmath::f32`, `f32_ext::erf`).

/// `EXPM1_POLY` at `s` by Horner's rule, as `M::poly`.
#[target_feature(enable = "avx512f")]
#[inline]
fn horner(s: __m512) -> __m512 {
    poly(s, &k::EXPM1_POLY)
}

/// `u * 2^q` from the shifted bits `t` of `q` (`M::scale_bits`).
#[target_feature(enable = "avx512f")]
#[inline]
fn scale_bits(u: __m512, t: __m512) -> __m512 {
    let e = _mm512_slli_epi32::<23>(bits(t));
    float(_mm512_add_epi32(bits(u), e))
}

/// `(s, t)` with `x = q ln2 + s` and `t` the shifted bits of `q` (`reduce_ln2_shifted`).
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce_ln2_shifted(x: __m512) -> (__m512, __m512) {
    let t = fma(x, c(k::R_LN2), c(SHIFTER));
    let q = sub(t, c(SHIFTER));
    let s = fma(q, c(-k::L2U), x);
    (fma(q, c(-k::L2L), s), t)
}

/// `vmath::f32::exp`: the fast path, and the general one for the lanes (among `live`)
/// outside the fast range.
#[target_feature(enable = "avx512f")]
pub(super) fn exp16(d: __m512, live: __mmask16) -> __m512 {
    let fast = exp_fast(d);
    let rare = ugt_c(live, abs(d), k::EXP_FAST);
    if rare == 0 {
        return fast;
    }
    // The general path gives the fast path's bits on the other lanes.
    sel(rare, exp_general(d), fast)
}

/// `vmath::f32::exp_general`: clamps, the same polynomial, and `ldexp2`'s two-step scaling.
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_general(d: __m512) -> __m512 {
    let x = clamp(d, k::EXP_LO, k::EXP_HI);
    let (s, t) = reduce_ln2_shifted(x);
    let q = sub(t, c(SHIFTER));
    let u = fma(mul(s, s), horner(s), s);
    let u = ldexp2(add(u, c(1.0)), q);
    let u = zero_if(lt_c(d, k::EXP_LO), u);
    sel(gt_c(d, k::EXP_HI), c(f64::INFINITY), u)
}

/// `vmath::f32::tanh`: `e / (e + 2)`, `e = expm1(2|x|)`, with the sign of `x`.
#[target_feature(enable = "avx512f")]
pub(super) fn tanh16(x: __m512, _live: __mmask16) -> __m512 {
    // min(TANH_CLAMP, |x|) keeping NaN, as `M::min_c`: minps returns its second operand when
    // either is NaN.
    let y = _mm512_min_ps(c(k::TANH_CLAMP), abs(x));
    let (s, t) = reduce_ln2_shifted(add(y, y));
    let s2 = mul(s, s);
    // EXPM1_POLY in Estrin's form, as `expm1_poly`.
    let [c4, c3, c2, c1, c0] = k::EXPM1_POLY;
    let lo = fma(s, c(c1), c(c0));
    let hi = fma(s2, c(c4), fma(s, c(c3), c(c2)));
    let p = fma(s2, fma(s2, hi, lo), s);
    let two_q = scale_bits(c(1.0), t);
    let e = fma(two_q, p, add(two_q, c(-1.0)));
    let den = fma(two_q, p, add(two_q, c(1.0)));
    mulsign(div(e, den), x)
}

/// `vmath::f32::log` (SLEEF's `xlogf`), with `log_specials`' rules.
#[target_feature(enable = "avx512f")]
pub(super) fn log16(d: __m512, live: __mmask16) -> __m512 {
    log_with(d, live, 0.75, |e, x| {
        fma(x, poly(mul(x, x), &k::LOG_POLY), mul(e, c(k::LN2)))
    })
}

/// `vmath::f32_ext::erf`: the odd polynomial below `ERF_SPLIT`, `1 - e^Q` above (with
/// `exp`'s fast path), the sign of `x`, NaN for NaN.
#[target_feature(enable = "avx512f")]
pub(super) fn erf16(x: __m512, _live: __mmask16) -> __m512 {
    let a = abs(x);
    let t = mul(a, a);
    let tp = mul(t, poly(t, &k::ERF_SMALL));
    let s = fma(a, tp, mul(a, c(k::ERF_C0_LO)));
    let small = fma(a, c(k::ERF_C0_HI), s);
    let y = clamp(a, k::ERF_SPLIT, k::ERF_TOP);
    let large = sub(c(1.0), exp_fast(poly(y, &k::ERF_LARGE)));
    let r = sel(lt_c(a, k::ERF_SPLIT), small, large);
    or_nan(isnan(x), mulsign(r, x))
}

#[target_feature(enable = "avx512f")]
pub(super) fn sin16(x: __m512, live: __mmask16) -> __m512 {
    sin_cos16(x, live, false)
}

#[target_feature(enable = "avx512f")]
pub(super) fn cos16(x: __m512, live: __mmask16) -> __m512 {
    sin_cos16(x, live, true)
}

/// `vmath::f32::reduce_pi`: `(d, q as integers)`, with the lanes (among `live`) beyond
/// `TRIG_FAST` or not finite reduced by Payne-Hanek ([`pi_reduce`]).
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce_pi(x: __m512, q: __m512, large: Unit, live: __mmask16) -> (__m512, __m512i) {
    let unit = if large == Unit::Pi { 1.0 } else { 0.5 };
    let mut d = x;
    for part in k::PI4 {
        d = fma(q, c(-part * unit), d);
    }
    let qi = int_of(q);
    let rare = ugt_c(live, abs(x), k::TRIG_FAST);
    if rare == 0 {
        return (d, qi);
    }
    reduce_large(x, d, qi, large, rare)
}

/// `(d, qi)` with the lanes in `rare` replaced by their Payne-Hanek reduction (out of line:
/// the common path above stays small).
#[cold]
#[inline(never)]
#[target_feature(enable = "avx512f")]
fn reduce_large(
    x: __m512,
    d: __m512,
    qi: __m512i,
    large: Unit,
    rare: __mmask16,
) -> (__m512, __m512i) {
    let (mut xs, mut ds, mut qs) = ([0f32; 16], [0f32; 16], [0i32; 16]);
    // SAFETY: the arrays hold 16 lanes each.
    unsafe {
        _mm512_storeu_ps(xs.as_mut_ptr(), x);
        _mm512_storeu_ps(ds.as_mut_ptr(), d);
        _mm512_storeu_si512(qs.as_mut_ptr().cast(), qi);
    }
    for lane in 0..16 {
        if rare & (1 << lane) != 0 {
            (ds[lane], qs[lane]) = pi_reduce::trig_f32(xs[lane], large);
        }
    }
    // SAFETY: as above.
    unsafe {
        (
            _mm512_loadu_ps(ds.as_ptr()),
            _mm512_loadu_si512(qs.as_ptr().cast()),
        )
    }
}

/// `vmath::f32::tan` (SLEEF's `xtanf`), with Payne-Hanek for the lanes beyond `TRIG_FAST` or
/// not finite.
#[target_feature(enable = "avx512f")]
pub(super) fn tan16(x: __m512, live: __mmask16) -> __m512 {
    let q = rint(mul(x, c(2.0 * k::FRAC_1_PI)));
    let (d, qi) = reduce_pi(x, q, Unit::HalfPi, live);
    let s = mul(d, d);
    let d = float(_mm512_xor_si512(bits(d), _mm512_slli_epi32::<31>(qi)));
    let u = poly(s, &k::TAN_POLY);
    let u = fma(s, mul(u, d), d);
    let odd = _mm512_test_epi32_mask(qi, _mm512_set1_epi32(1));
    let r = sel(odd, div(c(1.0), u), u);
    sel(isnegzero(x), c(-0.0), r)
}

/// `vmath::f32::sin_cos` (SLEEF's `xsinf`/`xcosf`), with Payne-Hanek for the lanes beyond
/// `TRIG_FAST` or not finite.
#[target_feature(enable = "avx512f")]
fn sin_cos16(x: __m512, live: __mmask16, cos: bool) -> __m512 {
    let q = if cos {
        let r = rint(add(mul(x, c(k::FRAC_1_PI)), c(-0.5)));
        fma(r, c(2.0), c(1.0))
    } else {
        rint(mul(x, c(k::FRAC_1_PI)))
    };
    let large = if cos { Unit::PiOffset } else { Unit::Pi };
    let (d, qi) = reduce_pi(x, q, large, live);
    let s = mul(d, d);
    let flip = if cos {
        _mm512_slli_epi32::<30>(_mm512_andnot_si512(qi, _mm512_set1_epi32(2)))
    } else {
        _mm512_slli_epi32::<31>(qi)
    };
    let d = float(_mm512_xor_si512(bits(d), flip));
    let u = poly(s, &k::SIN_POLY);
    let r = fma(s, mul(u, d), d);
    if cos {
        r
    } else {
        sel(isnegzero(x), c(-0.0), r)
    }
}
