//! The `f64` functions on 8 lanes: `exp`, `exp2`, `expm1`, `sinh`, `cosh`, `tanh`, `log`,
//! `log2`, `log10`, `log1p`, `arcsin`, `arccos`, `arctan`, `cbrt`, `pow`, `arctan2`, `sin`,
//! `cos`, `tan` and `erf`, each the JIT's `f64x2` algorithm (`ndx_codegen::vmath::f64`,
//! SLEEF's) step by step: the same IEEE operations in the same order on the same constants
//! ([`super::consts64`]), so the same bits. The helpers (`add`, `sel`, `dd_mul`, ...) are
//! `lanes.rs`'s, named after the JIT's emitter.

use super::consts64 as k;
use crate::ops::pi_reduce::{self, Unit};
use std::arch::x86_64::*;

lanes! {
    float: f64, vec: __m512d, mask: __mmask8,
    mant: 52, exp_mask: 0x7ff, bias: 1023.0, shifter: 6_755_399_441_055_744.0, sign: i64::MIN,
    set1: _mm512_set1_pd, add: _mm512_add_pd, sub: _mm512_sub_pd, mul: _mm512_mul_pd,
    div: _mm512_div_pd, fmadd: _mm512_fmadd_pd, fmsub: _mm512_fmsub_pd,
    fnmadd: _mm512_fnmadd_pd, abs: _mm512_abs_pd, sqrt: _mm512_sqrt_pd,
    roundscale: _mm512_roundscale_pd, cmp: _mm512_cmp_pd_mask, blend: _mm512_mask_blend_pd,
    maskz_mov: _mm512_maskz_mov_pd, to_int: _mm512_castpd_si512, to_float: _mm512_castsi512_pd,
    iset1: _mm512_set1_epi64, iadd: _mm512_add_epi64, isub: _mm512_sub_epi64,
    iblend: _mm512_mask_blend_epi64, ieq: _mm512_cmpeq_epi64_mask, ilt: _mm512_cmplt_epi64_mask,
    imaskz_mov: _mm512_maskz_mov_epi64, slli: _mm512_slli_epi64, srli: _mm512_srli_epi64,
}

// The exponential family (`vmath/f64/exp.rs`).

/// `(q, u)` with `x = q ln2 + s` and `u = e^s` by `EXP_POLY`: e^x = u 2^q.
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_core(x: __m512d) -> (__m512d, __m512d) {
    let q = rint(mul(x, c(k::R_LN2)));
    let s = fma(q, c(-k::L2U), x);
    let s = fma(q, c(-k::L2L), s);
    (q, poly(s, &k::EXP_POLY))
}

/// `e^d 2^pow2` (`vmath::f64::exp_scaled`; `exp` is `pow2` 0, `cosh` -1).
#[target_feature(enable = "avx512f")]
#[inline]
fn exp_scaled(d: __m512d, pow2: f64) -> __m512d {
    // Where every lane has |d| <= 708, 2^(q + pow2) and u 2^h are normal, so the two-step
    // scaling u 2^h 2^(q + pow2 - h) and one multiplication by 2^(q + pow2) are both exact:
    // the same bits without the clamps and the second scaling.
    if le_c(abs(d), 708.0) == ALL {
        let (q, u) = exp_core(d);
        return mul(u, pow2i(add(q, c(pow2))));
    }
    let x = sel(lt_c(d, k::EXP_LO), c(k::EXP_LO), d);
    let x = sel(gt_c(x, k::EXP_HI), c(k::EXP_HI), x);
    let (q, u) = exp_core(x);
    let u = ldexp2(u, add(q, c(pow2)));
    let over = gt_c(d, k::LOG_DBL_MAX - pow2 * std::f64::consts::LN_2);
    sel(over, c(f64::INFINITY), u)
}

/// `vmath::f64::exp`.
#[target_feature(enable = "avx512f")]
pub(super) fn exp8(d: __m512d) -> __m512d {
    exp_scaled(d, 0.0)
}

/// `vmath::f64::exp2`.
#[target_feature(enable = "avx512f")]
pub(super) fn exp2_8(d: __m512d) -> __m512d {
    let lo = lt_c(d, -2000.0);
    let x = sel(lo, c(-2000.0), d);
    let x = sel(gt_c(x, 1030.0), c(1030.0), x);
    let q = rint(x);
    let s = sub(x, q);
    let u = poly(s, &k::EXP2_POLY);
    // As in `exp_scaled`: within |d| <= 1000, 2^q and u 2^h are normal and both scalings exact.
    if le_c(abs(d), 1000.0) == ALL {
        return mul(u, pow2i(q));
    }
    let u = ldexp2(u, q);
    let u = sel(ge_c(d, 1024.0), c(f64::INFINITY), u);
    zero_if(lo, u)
}

/// `(q, e^s - 1, e^x - 1)` (`vmath::f64::expm1_parts`): `x = q ln2 + s`, `q = 0` where
/// |x| < ln 2, `e^s - 1` by `EXPM1_TAYLOR`, `e^x - 1 = 2^q (e^s - 1) + (2^q - 1)`.
#[target_feature(enable = "avx512f")]
#[inline]
fn expm1_parts(x: __m512d) -> (__m512d, __m512d, __m512d) {
    let small = lt_c(abs(x), std::f64::consts::LN_2);
    let q = zero_if(small, rint(mul(x, c(k::R_LN2))));
    let s = fma(q, c(-k::L2U), x);
    let s = fma(q, c(-k::L2L), s);
    let p = poly(s, &k::EXPM1_TAYLOR);
    let e = fma(mul(s, s), p, s);
    let t = pow2i(min_c(q, 1023.0));
    (q, e, fma(t, e, add(t, c(-1.0))))
}

/// `vmath::f64::expm1`.
#[target_feature(enable = "avx512f")]
pub(super) fn expm1_8(a: __m512d) -> __m512d {
    // Where every lane is in [EXPM1_UNDER, 700] (no NaN), the clamps and the three selections
    // below change no bit.
    if ge_c(a, k::EXPM1_UNDER) & le_c(a, 700.0) == ALL {
        let (_, _, r) = expm1_parts(a);
        return sel(isnegzero(a), c(-0.0), r);
    }
    let x = sel(lt_c(a, -40.0), c(-40.0), a);
    let x = min_c(x, 710.0);
    let (q, e, r) = expm1_parts(x);
    let r = sel(gt_c(x, 700.0), ldexp2(add(e, c(1.0)), q), r);
    let r = sel(gt_c(a, k::EXPM1_OVER), c(f64::INFINITY), r);
    let r = sel(lt_c(a, k::EXPM1_UNDER), c(-1.0), r);
    sel(isnegzero(a), c(-0.0), r)
}

/// `vmath::f64::sinh`: the Taylor series below |x| = 1, `h - (1/4) / h` with `h = e^|x| / 2`
/// from 1 on; a vector with lanes on one side only computes that side (the other is not
/// selected anywhere, so the bits are the same).
#[target_feature(enable = "avx512f")]
pub(super) fn sinh8(x: __m512d) -> __m512d {
    let a = abs(x);
    let small = lt_c(a, 1.0);
    let near = || {
        let a2 = mul(a, a);
        fma(mul(a2, a), poly(a2, &k::SINH_TAYLOR), a)
    };
    let far = || {
        let h = exp_scaled(a, -1.0);
        sub(h, div(c(0.25), h))
    };
    let v = match small {
        ALL => near(),
        0 => far(),
        _ => sel(small, near(), far()),
    };
    or_nan(isnan(x), mulsign(v, x))
}
/// `vmath::f64::cosh`: e^|x|/2 + (1/4) / (e^|x|/2).
#[target_feature(enable = "avx512f")]
pub(super) fn cosh8(x: __m512d) -> __m512d {
    let h = exp_scaled(abs(x), -1.0);
    add(h, div(c(0.25), h))
}

/// `vmath::f64::tanh`: `e / (e + 2)` with `e = expm1(2|x|)`, by `tanh_quotient`.
#[target_feature(enable = "avx512f")]
pub(super) fn tanh8(x: __m512d) -> __m512d {
    let y = min_c(abs(x), 19.0);
    let (_, _, e) = expm1_parts(add(y, y));
    let d = dd_add2_d_d(e, c(2.0));
    let v = div(e, d.x);
    let r = fmanp(v, d.y, fmanp(v, d.x, e));
    let v = fma(r, fmanp(v, c(0.5), c(0.5)), v);
    let o = gt_c(abs(x), 18.714_973_875) | isnan(v);
    let v = sel(o, c(1.0), v);
    or_nan(isnan(x), mulsign(v, x))
}

// The logarithms (`vmath/f64/log.rs` and `fast.rs`).

/// `(e, x, x^2)` of the plain logarithms (`vmath::f64::plain_log_reduce`).
#[target_feature(enable = "avx512f")]
#[inline]
fn plain_log_reduce(d: __m512d) -> (__m512d, __m512d, __m512d) {
    let (e, mm) = split_exponent_at(d, f64::MIN_POSITIVE, 0.75);
    let x = div(add(mm, c(-1.0)), add(mm, c(1.0)));
    (e, x, mul(x, x))
}

/// `s` rounded plus `x^3 P(x^2)` (`vmath::f64::plain_log_end`).
#[target_feature(enable = "avx512f")]
#[inline]
fn plain_log_end(s: D2, x: __m512d, x2: __m512d, p: &[f64]) -> __m512d {
    fma(poly(x2, p), mul(x, x2), add(s.x, s.y))
}

/// `vmath::f64::log_u35` (SLEEF's `xlog`).
#[target_feature(enable = "avx512f")]
pub(super) fn log8(d: __m512d) -> __m512d {
    let (e, x, x2) = plain_log_reduce(d);
    let t = poly(x2, &k::LOG_POLY);
    let el = mul(e, c(k::LN2_DD.0));
    let s = fma(x, c(2.0), el);
    let r = fma(mul(x2, x), t, s);
    log_specials(d, r)
}

/// `(e, x)`: `d = 2^e m`, `x = (m - 1) / (m + 1)` as a double-double
/// (`vmath::f64::log_reduce`).
#[target_feature(enable = "avx512f")]
#[inline]
fn log_reduce(d: __m512d) -> (__m512d, D2) {
    let (e, mm) = split_exponent_at(d, f64::MIN_POSITIVE, 0.75);
    let n = dd_add2_d_d(c(-1.0), mm);
    let dd = dd_add2_d_d(c(1.0), mm);
    (e, dd_div(n, dd))
}

/// `vmath::f64::log2_u35` (SLEEF's `xlog2_u35`).
#[target_feature(enable = "avx512f")]
pub(super) fn log2_8(d: __m512d) -> __m512d {
    let (e, x, x2) = plain_log_reduce(d);
    let s = dd_add_d_d2(e, dd_mul_d_d(c(k::LOG2_K), x));
    let r = plain_log_end(s, x, x2, &k::LOG2_POLY);
    log_specials(d, r)
}

/// `vmath::f64::log10_u35`.
#[target_feature(enable = "avx512f")]
pub(super) fn log10_8(d: __m512d) -> __m512d {
    let (e, x, x2) = plain_log_reduce(d);
    let s = dd_mul_d2_d(d2c(k::LOG10_2_DD.0, k::LOG10_2_DD.1), e);
    let s = dd_add(s, dd_mul_d_d(c(k::LOG10_K), x));
    let r = plain_log_end(s, x, x2, &k::LOG10_POLY);
    log_specials(d, r)
}

/// `vmath::f64::log1p_u35`.
#[target_feature(enable = "avx512f")]
pub(super) fn log1p_8(d0: __m512d) -> __m512d {
    // Where every lane is in [-1/2, 1e307] (no NaN), neither scaling applies (`1 + d0` is at
    // least 1/2), the exponent adjustments add zeros and `log1p_specials` changes nothing: the
    // same operations without them give the same bits.
    if ge_c(d0, -0.5) & le_c(d0, 1e307) == ALL {
        let e = ilogb2k(mul(add(d0, c(1.0)), c(1.0 / 0.75)));
        let t = ldexp3(c(1.0), neg(e));
        let mm = fma(d0, t, add(t, c(-1.0)));
        return sel(isnegzero(d0), c(-0.0), log1p_end(mm, e));
    }
    let big = gt_c(d0, 1e307);
    let d = sel(big, mul(d0, c(2f64.powi(-64))), d0);
    let dp1 = add(d, c(1.0));
    let o = lt_c(dp1, f64::MIN_POSITIVE);
    let dp1 = sel(o, mul(dp1, c(2f64.powi(64))), dp1);
    let e = ilogb2k(mul(dp1, c(1.0 / 0.75)));
    let t = ldexp3(c(1.0), neg(e));
    let mm = fma(d, t, add(t, c(-1.0)));
    let e = add(e, sel_c(o, -64.0, 0.0));
    let e = add(e, sel_c(big, 64.0, 0.0));
    let r = log1p_specials(d0, log1p_end(mm, e));
    sel(isnegzero(d0), c(-0.0), r)
}

/// ln(1 + mm) + e ln2 from the reduction of `log1p_8`, with the quotient `2x = 2mm / (2 + mm)`.
#[target_feature(enable = "avx512f")]
#[inline]
fn log1p_end(mm: __m512d, e: __m512d) -> __m512d {
    let x2s = div(mul(mm, c(2.0)), add(mm, c(2.0)));
    let x = mul(x2s, c(0.5));
    let x2 = mul(x, x);
    let s = dd_mul_d2_d(d2c(k::LN2_DD.0, k::LN2_DD.1), e);
    let s = dd_add_d2_d(s, x2s);
    plain_log_end(s, x, x2, &k::LOG_U1)
}

// Inverse trigonometric functions and cbrt (`vmath/f64/trig.rs`, `fast.rs`, `special.rs`).

/// `vmath::f64::atan_u35` (SLEEF's `xatan`).
#[target_feature(enable = "avx512f")]
pub(super) fn atan8(x: __m512d) -> __m512d {
    atan_folded(x, &k::ATAN_U35_POLY)
}

/// `(o, x, x2)` of asin and acos (`vmath::f64::asin_reduce` with `asin_arg`): `o` where
/// |d| < 1/2, `x2` = d^2 there and (1 - |d|) / 2 elsewhere, `x` = |d| or sqrt(x2).
#[target_feature(enable = "avx512f")]
#[inline]
fn asin_reduce(d: __m512d) -> (__mmask8, __m512d, __m512d) {
    let a = abs(d);
    let o = lt_c(a, 0.5);
    let x2 = sel(o, mul(d, d), mul(sub(c(1.0), a), c(0.5)));
    (o, sel(o, a, sqrt(x2)), x2)
}

/// `vmath::f64::asin` (SLEEF's `xasin`).
#[target_feature(enable = "avx512f")]
pub(super) fn asin8(d: __m512d) -> __m512d {
    let (o, x, x2) = asin_reduce(d);
    let u = fma(poly(x2, &k::ASIN_POLY), mul(x, x2), x);
    let far = fma(u, c(-2.0), c(std::f64::consts::FRAC_PI_2));
    mulsign(sel(o, u, far), d)
}

/// `vmath::f64::acos` (SLEEF's `xacos`).
#[target_feature(enable = "avx512f")]
pub(super) fn acos8(d: __m512d) -> __m512d {
    let (o, x, x2) = asin_reduce(d);
    let u = mul(poly(x2, &k::ASIN_POLY), mul(x2, x));
    let near = sub(
        c(std::f64::consts::FRAC_PI_2),
        add(mulsign(x, d), mulsign(u, d)),
    );
    let r = sel(o, near, mul(add(x, u), c(2.0)));
    let flip = !o & lt_c(d, 0.0);
    sel(flip, sub(c(std::f64::consts::PI), r), r)
}

/// `vmath::f64::cbrt_u35` (SLEEF's `xcbrt`, through `cbrt_plain` with `cbrt_split`).
///
/// As `f32x16::cbrt16`: for a finite nonzero `d0`, `cbrt_split`'s exponent (from -1073 to
/// 1024: its clamp to 1100 never acts), mantissa and power of two (from 2^-358 to 2^342)
/// are exactly `vgetexppd` plus one, `vgetmantpd` and `vscalefpd`'s; `cbrt_specials` sets
/// the other lanes.
#[target_feature(enable = "avx512f")]
pub(super) fn cbrt8(d0: __m512d) -> __m512d {
    // cbrt_split: d0 = 2^e dv, e + 6144 = 3 qu + re.
    let e = add(_mm512_getexp_pd(d0), c(1.0));
    let dv = _mm512_getmant_pd::<_MM_MANT_NORM_P5_1, _MM_MANT_SIGN_SRC>(d0);
    let t = add(e, c(6144.0));
    let qu = trunc(mul(t, c(1.0 / 3.0)));
    let re = trunc(fma(qu, c(-3.0), t));
    let q = sel(eq_c(re, 1.0), c(k::CBRT_2_1_3), c(1.0));
    let q = sel(eq_c(re, 2.0), c(k::CBRT_2_2_3), q);
    let q = _mm512_scalef_pd(q, add(qu, c(-2048.0)));
    let q = mulsign(q, dv);
    let dv = abs(dv);
    let x = poly(dv, &k::CBRT_POLY);
    let y = mul(mul(x, x), mul(x, x));
    let x = sub(x, mul(fmapn(dv, y, x), c(1.0 / 3.0)));
    let y = mul(mul(dv, x), x);
    let w = mul(mul(y, c(2.0 / 3.0)), fma(y, x, c(-1.0)));
    let y = mul(sub(y, w), q);
    cbrt_specials(d0, y)
}

// pow (`vmath/f64/log.rs`: `logk`, `expk`, `pow`, `pow_finish`).

/// ln|d| as a double-double (`vmath::f64::logk`).
#[target_feature(enable = "avx512f")]
#[inline]
fn logk(d: __m512d) -> D2 {
    let (e, x) = log_reduce(d);
    let x2 = dd_squ(x);
    let t = poly(x2.x, &k::LOGK_POLY);
    let s = dd_mul_d2_d(d2c(k::LN2_DD.0, k::LN2_DD.1), e);
    let s = dd_add(s, d2scale(x, 2.0));
    let x3 = dd_mul(x2, x);
    let s = dd_add(s, dd_mul(x3, d2c(k::LOGK_C3.0, k::LOGK_C3.1)));
    let x5 = dd_mul(x2, x3);
    dd_add(s, dd_mul_d2_d(x5, t))
}

/// e^d of a double-double, as one float (`vmath::f64::expk`).
#[target_feature(enable = "avx512f")]
#[inline]
fn expk(d: D2) -> __m512d {
    let q = rint(mul(d2v(d), c(k::R_LN2)));
    let q = sel(lt_c(q, -2000.0), c(-2000.0), q);
    let q = sel(gt_c(q, 2000.0), c(2000.0), q);
    let s = dd_add2_d2_d(d, mul(q, c(-k::L2U)));
    let s = dd_add2_d2_d(s, mul(q, c(-k::L2L)));
    let s = d2normalize(s);
    let u = poly(s.x, &k::EXPK_POLY);
    let t = dd_add_d_d2(c(1.0), s);
    let t = dd_add(t, dd_mul_d2_d(dd_squ(s), u));
    let u = ldexp2(d2v(t), q);
    zero_if(lt_c(d.x, -1000.0), u)
}

/// `vmath::f64::pow` (SLEEF's `xpow`), with `pow_ordinary_or_finish`'s branch: `pow_finish`
/// gives `r` itself on the ordinary lanes, so the branch never changes a bit.
#[target_feature(enable = "avx512f")]
pub(super) fn pow8(x: __m512d, y: __m512d) -> __m512d {
    let l = logk(abs(x));
    let d = dd_mul_d2_d(l, y);
    let r = expk(d);
    let r = sel(gt_c(d.x, k::LOG_DBL_MAX), c(f64::INFINITY), r);
    pow_ordinary_or_finish(x, y, r)
}

/// `f32` pow's `a^y` in `f64` lanes (`vmath::f32_ext::pow_abs_f64`), its tables read by
/// `vpermt2pd` (16 entries in two registers) where the JIT loads them lane by lane.
#[target_feature(enable = "avx512f")]
pub(super) fn pow_abs_for_f32(a: __m512d, y: __m512d) -> __m512d {
    use super::consts as f;
    let table = |t: &[f64; 16], i: __m512i| {
        // SAFETY: `t` has 16 elements, read as two vectors of 8.
        let (lo, hi) = unsafe {
            (
                _mm512_loadu_pd(t.as_ptr()),
                _mm512_loadu_pd(t.as_ptr().add(8)),
            )
        };
        _mm512_permutex2var_pd(lo, i, hi)
    };
    let ib = bits(a);
    let tmp = _mm512_sub_epi64(ib, _mm512_set1_epi64(f::POW_OFF_BITS as i64));
    let kk = _mm512_srai_epi64::<52>(tmp);
    let fifteen = _mm512_set1_epi64(15);
    let i = _mm512_and_si512(_mm512_srli_epi64::<48>(tmp), fifteen);
    let z = float(_mm512_sub_epi64(ib, _mm512_slli_epi64::<52>(kk)));
    let r = fma(z, table(&f::POW_INVC, i), c(-1.0));
    let hi = add(float_of(kk), table(&f::POW_LOGC, i));
    let l = fma(r, poly(r, &f::POW_LOG2_POLY), hi);
    // `t` is finite (a and y are): max and min clamp it as the JIT's selections do.
    let t = _mm512_min_pd(_mm512_max_pd(mul(l, y), c(-160.0)), c(130.0));
    let tv = fma(t, c(16.0), c(SHIFTER));
    let n = sub(tv, c(SHIFTER));
    let s = fma(n, c(-0.0625), t);
    let tb = bits(tv);
    let j = _mm512_and_si512(tb, fifteen);
    let u = mul(table(&f::POW_EXP2_TABLE, j), poly(s, &f::POW_EXP2_POLY));
    let e = _mm512_slli_epi64::<52>(_mm512_srli_epi64::<4>(tb));
    float(_mm512_add_epi64(bits(u), e))
}

// arctan2 (`vmath/f64/trig.rs`: `atan2k`, `atan2`, `atan2_finish`).

/// `vmath::f64::atan2_u35` (SLEEF's `xatan2`): `atan2_plain` with the `f64` coefficients.
#[target_feature(enable = "avx512f")]
pub(super) fn atan2_8(y: __m512d, x: __m512d) -> __m512d {
    atan2_plain(y, x, k::ATAN2_TINY, 2f64.powi(53), &k::ATAN_U35_POLY)
}

// sin, cos, tan (`vmath/f64/trig.rs`).

/// The Cody-Waite reduction below 1e14 with pi in four parts (`vmath::f64::reduce4`).
#[target_feature(enable = "avx512f")]
#[inline]
fn reduce4(d: __m512d, dqh: Option<__m512d>, dql: __m512d, scale: f64) -> D2 {
    let u = dqh.map_or(d, |h| fma(h, c(-k::PI_A * scale), d));
    let mut s = dd_add2_d_d(u, mul(dql, c(-k::PI_A * scale)));
    for part in [k::PI_B, k::PI_C] {
        if let Some(h) = dqh {
            s = dd_add2_d2_d(s, mul(h, c(-part * scale)));
        }
        s = dd_add2_d2_d(s, mul(dql, c(-part * scale)));
    }
    let q = dqh.map_or(dql, |h| add(h, dql));
    dd_add_d2_d(s, mul(q, c(-k::PI_D * scale)))
}

/// `(x, q)` with the lanes of `d` that are finite and at least 1e14 reduced by Payne-Hanek
/// (`vmath::f64::large_args`: `pi_reduce::trig_f64`, as the JIT's host function).
#[target_feature(enable = "avx512f")]
#[inline]
fn large_args(d: __m512d, x: D2, q: __m512d, unit: Unit) -> (D2, __m512d) {
    let a = abs(d);
    let rare = ge_c(a, 1e14) & lt_c(a, f64::INFINITY);
    if rare == 0 {
        return (x, q);
    }
    reduce_large(d, x, q, unit, rare)
}

#[cold]
#[inline(never)]
#[target_feature(enable = "avx512f")]
fn reduce_large(d: __m512d, x: D2, q: __m512d, unit: Unit, rare: __mmask8) -> (D2, __m512d) {
    let mut lanes = [[0f64; 8]; 4];
    // SAFETY: each array holds 8 lanes.
    unsafe {
        for (a, v) in lanes.iter_mut().zip([d, x.x, x.y, q]) {
            _mm512_storeu_pd(a.as_mut_ptr(), v);
        }
    }
    let [ds, hs, ls, qs] = &mut lanes;
    for lane in 0..8 {
        if rare & (1 << lane) != 0 {
            (hs[lane], ls[lane], qs[lane]) = pi_reduce::trig_f64(ds[lane], unit);
        }
    }
    // SAFETY: as above.
    unsafe {
        let hi = _mm512_loadu_pd(hs.as_ptr());
        let lo = _mm512_loadu_pd(ls.as_ptr());
        (D2 { x: hi, y: lo }, _mm512_loadu_pd(qs.as_ptr()))
    }
}

/// The polynomial of sin/cos on the reduced double-double `x` (`vmath::f64::sincos_poly`).
#[target_feature(enable = "avx512f")]
#[inline]
fn sincos_poly(x: D2) -> __m512d {
    let s = dd_squ(x);
    let u = poly(s.x, &k::SINCOS_POLY);
    let a = dd_add_d_d(c(k::SINCOS_C3), mul(u, s.x));
    let a = dd_add_d_d2(c(1.0), dd_mul(a, s));
    dd_mul_v(x, a)
}

/// True when every lane of `d` takes the two-constant reduction (|d| < 15).
#[target_feature(enable = "avx512f")]
#[inline]
fn all_small(d: __m512d) -> bool {
    lt_c(abs(d), 15.0) == ALL
}

const M_1_PI: f64 = std::f64::consts::FRAC_1_PI;
const P2_24: f64 = 16_777_216.0;

/// `vmath::f64::sin` (SLEEF's `xsin_u1`).
#[target_feature(enable = "avx512f")]
pub(super) fn sin8(d: __m512d) -> __m512d {
    let (x, q) = if all_small(d) {
        let q = rint(mul(d, c(M_1_PI)));
        let u = fma(q, c(-std::f64::consts::PI), d);
        (dd_add_d_d(u, mul(q, c(-k::PI_B2))), q)
    } else {
        let h = trunc(mul(d, c(M_1_PI / P2_24)));
        let dqh = mul(h, c(P2_24));
        let dql = rint(fmapn(d, c(M_1_PI), dqh));
        (reduce4(d, Some(dqh), dql, 1.0), dql)
    };
    let (x, q) = large_args(d, x, q, Unit::Pi);
    let u = sincos_poly(x);
    let u = mulsign(u, sel_c(isodd(q), -0.0, 0.0));
    let u = sel(eq_c(d, 0.0), d, u);
    or_nan(eq_c(abs(d), f64::INFINITY), u)
}

/// `vmath::f64::cos` (SLEEF's `xcos_u1`).
#[target_feature(enable = "avx512f")]
pub(super) fn cos8(d: __m512d) -> __m512d {
    let (x, q) = if all_small(d) {
        let q = rint(fma(d, c(M_1_PI), c(-0.5)));
        let q = fma(c(2.0), q, c(1.0));
        let x = dd_add2_d_d(d, mul(q, c(-std::f64::consts::PI * 0.5)));
        (dd_add_d2_d(x, mul(q, c(-k::PI_B2 * 0.5))), q)
    } else {
        let h = fma(d, c(M_1_PI / (P2_24 / 2.0)), c(-M_1_PI / P2_24));
        let dqh = trunc(h);
        let t = fma(dqh, c(-P2_24 / 2.0), c(-0.5));
        let q = rint(add(mul(d, c(M_1_PI)), t));
        let dqh = mul(dqh, c(P2_24));
        let dql = fma(c(2.0), q, c(1.0));
        (reduce4(d, Some(dqh), dql, 0.5), dql)
    };
    let (x, q) = large_args(d, x, q, Unit::PiOffset);
    let u = sincos_poly(x);
    // q is odd; the sign flips when (q - 1) / 2 is even.
    let odd = isodd(mul(add(q, c(-1.0)), c(0.5)));
    let u = mulsign(u, sel_c(odd, 0.0, -0.0));
    or_nan(eq_c(abs(d), f64::INFINITY), u)
}

/// tan's quadrant past the high part `dqh` (`vmath::f64::tan_quadrant`).
#[target_feature(enable = "avx512f")]
#[inline]
fn tan_quadrant(d: __m512d, dqh: Option<__m512d>) -> __m512d {
    let p = dd_mul_d2_d(d2c(k::FRAC_2_PI_DD.0, k::FRAC_2_PI_DD.1), d);
    let half = sel_c(lt_c(d, 0.0), -0.5, 0.5);
    let off = dqh.map_or(half, |h| sub(half, h));
    trunc(d2v(dd_add2_d2_d(p, off)))
}

/// `vmath::f64::tan` (SLEEF's `xtan`; above `TAN_PLAIN_MAX` with `xtan_u1`'s reduction).
#[target_feature(enable = "avx512f")]
pub(super) fn tan8(d: __m512d) -> __m512d {
    let plain = le_c(abs(d), k::TAN_PLAIN_MAX);
    let (s, q) = if plain == ALL {
        tan_plain(d)
    } else {
        // The lanes up to `TAN_PLAIN_MAX` take the plain reduction in any company, so that a
        // lane's bits do not depend on its neighbours (the JIT's vectors are smaller).
        let (s, q) = tan_reduce_dd(d);
        let (p, pq) = tan_plain(d);
        (
            D2 {
                x: sel(plain, p.x, s.x),
                y: sel(plain, p.y, s.y),
            },
            sel(plain, pq, q),
        )
    };
    let (s, q) = large_args(d, s, q, Unit::HalfPi);
    let x = mul(d2v(s), c(0.5));
    let s = mul(x, x);
    let u = fma(s, mul(poly(s, &k::TAN_POLY), x), x);
    let y = fma(u, u, c(-1.0));
    let x = mul(u, c(-2.0));
    let o = isodd(q);
    let u = div(sel(o, neg(y), x), sel(o, x, y));
    let u = sel(lt_c(abs(d), 1e-9), d, u);
    or_nan(eq_c(abs(d), f64::INFINITY), u)
}

/// tan's reduction in plain doubles (`vmath::f64::tan_plain`, [`k::TAN_PLAIN_MAX`]): `q` the
/// nearest integer to `d 2/pi`, `d - q pi/2` with pi in four parts, as a double-double of
/// zero low part.
#[target_feature(enable = "avx512f")]
#[inline]
fn tan_plain(d: __m512d) -> (D2, __m512d) {
    let q = rint(mul(d, c(2.0 * M_1_PI)));
    let mut x = d;
    for part in [k::PI_A, k::PI_B, k::PI_C, k::PI_D] {
        x = fma(q, c(-part * 0.5), x);
    }
    (d2(x), q)
}

/// tan's double-double reduction of lanes of any size below 1e14 (those above are reduced
/// by [`large_args`] after it).
#[target_feature(enable = "avx512f")]
#[inline]
fn tan_reduce_dd(d: __m512d) -> (D2, __m512d) {
    if le_c(abs(d), 2e7) == ALL {
        // Below 2e7, d 2/pi < 2^24 and `dqh` is zero: its terms of `reduce4` add zeros, which
        // can only change the sign of a zero low part, and the reduced argument (the sum of
        // the parts) is never zero for d != 0 (tiny d returns d below): the same bits.
        let dql = tan_quadrant(d, None);
        (reduce4(d, None, dql, 0.5), dql)
    } else {
        let dqh = mul(trunc(mul(d, c(2.0 * M_1_PI / P2_24))), c(P2_24));
        let dql = tan_quadrant(d, Some(dqh));
        (reduce4(d, Some(dqh), dql, 0.5), dql)
    }
}

// erf (`vmath/f64/special.rs`).

/// `c0 + c1 x + c2 x^2 + c3 x^3` with double-double `c0..c2` (`vmath::f64::poly4dd`).
#[target_feature(enable = "avx512f")]
#[inline]
fn poly4dd(x: __m512d, c3: __m512d, c2: D2, c1: D2, c0: D2) -> D2 {
    let x2 = mul(x, x);
    let hi = dd_add(c2, dd_mul_d2_d(d2(c3), x));
    let lo = dd_add(c0, dd_mul_d2_d(c1, x));
    dd_add(lo, dd_mul_d2_d(hi, x2))
}

/// `(1 + x t2)^-16` as a double-double, `t2` from [`poly4dd`].
#[target_feature(enable = "avx512f")]
#[inline]
fn erfc_small(x: __m512d, t2: D2) -> D2 {
    let mut s = dd_add_d_d2(c(1.0), dd_mul_d2_d(t2, x));
    for _ in 0..4 {
        s = dd_squ(s);
    }
    dd_rec(s)
}

/// `vmath::f64::erf` (SLEEF's `xerf_u1`): below 2.5 in every lane, the Abramowitz-Stegun
/// form; otherwise the coefficients chosen per lane, and exp(P(x)) beyond 2.5 (the same bits
/// on the other lanes).
#[target_feature(enable = "avx512f")]
pub(super) fn erf8(a: __m512d) -> __m512d {
    let x = abs(a);
    let o25 = le_c(x, 2.5);
    let dd = |t: &[(f64, f64); 3], i: usize| d2c(t[i].0, t[i].1);
    let t = if o25 == ALL {
        let p = poly(x, &k::ERF_A);
        let t2 = poly4dd(
            x,
            p,
            dd(&k::ERF_A_DD, 0),
            dd(&k::ERF_A_DD, 1),
            dd(&k::ERF_A_DD, 2),
        );
        erfc_small(x, t2)
    } else {
        let mut p = sel_c(o25, k::ERF_A[0], k::ERF_B[0]);
        for (&ca, &cb) in k::ERF_A.iter().zip(&k::ERF_B).skip(1) {
            p = fma(p, x, sel_c(o25, ca, cb));
        }
        let pick = |i: usize| {
            let (ah, al) = k::ERF_A_DD[i];
            let (bh, bl) = k::ERF_B_DD[i];
            D2 {
                x: sel_c(o25, ah, bh),
                y: sel_c(o25, al, bl),
            }
        };
        let t2 = poly4dd(x, p, pick(0), pick(1), pick(2));
        let s2 = erfc_small(x, t2);
        let e = d2(expk(t2));
        D2 {
            x: sel(o25, s2.x, e.x),
            y: sel(o25, s2.y, e.y),
        }
    };
    let z = neg(d2v(dd_add2_d2_d(t, c(-1.0))));
    let z = sel(
        lt_c(x, 1e-8),
        mul(x, c(std::f64::consts::FRAC_2_SQRT_PI)),
        z,
    );
    let z = sel(ge_c(x, 6.0), c(1.0), z);
    let z = sel(eq_c(abs(a), f64::INFINITY), c(1.0), z);
    let z = sel(eq_c(a, 0.0), c(0.0), z);
    mulsign(z, a)
}
