//! More native `f32x4` functions, built on the reductions of [`super::f32`]: `log2`, `log10`
//! and `log1p` on `log`'s exponent split and polynomial, `expm1`, `sinh` and `cosh` on `exp`'s,
//! `arctan`, `arctan2`, `arcsin`, `arccos` and `cbrt` from SLEEF's `xatanf`/`xatan2f`/
//! `xasinf`/`xacosf`/`xcbrtf` (3.5-ULP, `f32` coefficients), `pow` in `f64` lanes from
//! 16-entry tables of log2 and 2^x, and `erf` from two polynomials fitted by
//! `benches/fit_erf.py`. Every unary one is checked on
//! every `f32` input by `examples/exhaustive_f32.rs` (results in BENCHMARKS.md). `sinh` and
//! `cosh` beyond |x| = 86.5, where e^|x| would overflow but the results are finite up to 89.4,
//! take a cold block ([`far_range`]).

use super::f32::{clamp, exp_fast, exp_general, log_parts, reduce_ln2_shifted};
use super::M;
use cranelift_codegen::ir::Value;
use ndx_runtime::ops::wide_math::consts::{
    ASIN_POLY, ATAN2_TINY, ATAN_POLY, CBRT_POLY, ERF_C0_HI, ERF_C0_LO, ERF_LARGE, ERF_SMALL,
    ERF_SPLIT, ERF_TOP, EXPM1_POLY, EXP_FAST, L10_2_HI, L10_2_LO, LN2, LOG_POLY, LOG_TINY, PI_LO,
    POW_EXP2_POLY, POW_EXP2_TABLE, POW_LOG2_POLY, POW_LOG_PAIRS, POW_OFF_BITS,
};
use ndx_runtime::ops::wide_math::consts64::SINH_TAYLOR;

/// [`log_parts`] for `log2`/`log10`: `m` in [1/sqrt(2), sqrt(2)) (`log` itself splits at
/// 0.75, as the 512-bit code does). The symmetric split halves the worst cancellation between
/// `e ln2` and `x P` (`log10` measured 4 ULP at 0.7499 with the other).
fn log_parts_sym(m: &mut M, d: Value) -> (Value, Value) {
    log_parts(m, d, std::f64::consts::FRAC_1_SQRT_2)
}

/// [`LOG_POLY`] scaled by `k` (the coefficients of `k ln(m) = x P_k(x^2)`).
fn log_poly_times(k: f64) -> [f64; 5] {
    LOG_POLY.map(|c| c * k)
}

/// log2(d) = e + x P(x^2) / ln2, one `fma` after the polynomial.
pub(super) fn log2(m: &mut M, d: Value) -> Value {
    let (e, x) = log_parts_sym(m, d);
    let x2 = m.mul(x, x);
    let p = m.poly(x2, &log_poly_times(std::f64::consts::LOG2_E));
    let r = m.fma(x, p, e);
    super::f64::log_specials(m, d, r)
}

/// log10(d) = e log10(2) + x P(x^2) log10(e), with log10(2) in two parts so that `e log10(2)`
/// keeps its bits for every exponent ([`L10_2_HI`] has 12 significant bits: `e * HI` is
/// exact).
pub(super) fn log10(m: &mut M, d: Value) -> Value {
    let (e, x) = log_parts_sym(m, d);
    let x2 = m.mul(x, x);
    let p = m.poly(x2, &log_poly_times(std::f64::consts::LOG10_E));
    let lo = m.mul_c(e, L10_2_LO);
    let r = m.fma(x, p, lo);
    let hi = m.c(L10_2_HI);
    let r = m.fma(e, hi, r);
    super::f64::log_specials(m, d, r)
}

/// log1p(d): SLEEF's `xlog1pf` reduction. With `u = 1 + d` rounded, `e` its exponent split
/// and `t = 2^-e`, `mm = d t + (t - 1)` is `(1 + d) 2^-e - 1` rounded once, then
/// ln(1 + mm) = x P(x^2) with `x = mm / (2 + mm)`. |d| < 2^-24 (and -0) returns `d`; `d`
/// above 1e30 is scaled by 2^-64 first (its 1 is far below its last bit), so `t` stays normal.
pub(super) fn log1p(m: &mut M, d: Value) -> Value {
    let big = m.gt_c(d, 1e30);
    let scaled = m.mul_c(d, 2f64.powi(-64));
    let dv = m.sel(big, scaled, d);
    let u = m.add_c(dv, 1.0);
    let (e, _) = m.split_exponent(u, LOG_TINY);
    let one = m.c(1.0);
    let ne = m.neg(e);
    let t = m.ldexp3(one, ne);
    let tm1 = m.add_c(t, -1.0);
    let mm = m.fma(dv, t, tm1);
    let adj = m.sel_c(big, 64.0, 0.0);
    let e = m.add(e, adj);
    let den = m.add_c(mm, 2.0);
    let x = m.div(mm, den);
    let x2 = m.mul(x, x);
    let p = m.poly(x2, &LOG_POLY);
    let el = m.mul_c(e, LN2);
    let r = m.fma(x, p, el);
    let a = m.abs(d);
    let tiny = m.lt_c(a, 2f64.powi(-24));
    let r = m.sel(tiny, d, r);
    super::f64::log1p_specials(m, d, r)
}

/// e^x - 1 = 2^q (expm1(s) + 1) - 1 with one `fma`, for `x` clamped to [-18, EXP_FAST]
/// (below -18 the result rounds to -1). A vector with a lane beyond `EXP_FAST` (or NaN)
/// takes `exp`'s general path for those lanes: there e^x > 2^124, so e^x - 1 rounds to e^x.
/// |x| < 2^-25 (and -0) returns `x`.
pub(super) fn expm1(m: &mut M, x: Value) -> Value {
    let y = clamp(m, x, -18.0, EXP_FAST);
    let (_, s, tb) = reduce_ln2_shifted(m, y);
    let u = m.poly(s, &EXPM1_POLY);
    let s2 = m.mul(s, s);
    let p = m.fma(s2, u, s);
    let one = m.c(1.0);
    let t = m.scale_bits(one, tb);
    let tm1 = m.add_c(t, -1.0);
    let r = m.fma(t, p, tm1);
    let a = m.abs(x);
    let tiny = m.lt_c(a, 2f64.powi(-25));
    let fast = m.sel(tiny, x, r);
    let rare = m.ugt_c(x, EXP_FAST);
    m.unless_rare(rare, fast, |m| {
        let g = exp_general(m, x);
        m.sel(rare, g, fast)
    })
}

/// `fast`, with the lanes where `rare` holds (|x| > [`EXP_FAST`], or NaN) replaced by
/// e^|x| / 2 with the sign `sign` of `x` applied when `odd` (in a cold block): for |x| > 86.5
/// the other term of sinh and cosh is below 2^-248 of the result. e^|x| itself would overflow
/// from 88.7, so it is computed as h (h / 2) with h = e^(|x|/2) (|x|/2 is exact): 2.5 ULP, and
/// +inf beyond 89.4 by the product's own overflow.
fn far_range(m: &mut M, rare: Value, fast: Value, x: Value, odd: bool) -> Value {
    m.unless_rare(rare, fast, |m| {
        let a = m.abs(x);
        let half = m.mul_c(a, 0.5);
        let y = m.min_c(half, EXP_FAST);
        let h = exp_fast(m, y);
        let h2 = m.mul_c(h, 0.5);
        let r = m.mul(h2, h);
        let r = if odd { m.mulsign(r, x) } else { r };
        let nan = m.isnan(x);
        let r = m.or_nan(nan, r);
        m.sel(rare, r, fast)
    })
}

/// sinh(x): below |x| = 1, `|x| + |x|^3 Q(x^2)` with `Q` the Taylor series to x^11 (the f64
/// code's [`SINH_TAYLOR`] in `f32`); from 1 on, `h - (1/4) / h` with `h = e^|x| / 2` (as
/// [`cosh`]); with the sign of `x`. Beyond [`EXP_FAST`] (and NaN), [`far_range`]. (SLEEF's
/// `xsinh_u35`, `E (E + 2) / (2 (E + 1))` with `E = expm1(|x|)`, took 1.1-1.3x as long.)
pub(super) fn sinh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let y = m.min_c(a, EXP_FAST);
    let e = exp_fast(m, y);
    let h = m.mul_c(e, 0.5);
    let v = super::f64::sinh_abs(m, y, h, &SINH_TAYLOR[3..]);
    let v = m.mulsign(v, x);
    let rare = m.ugt_c(a, EXP_FAST);
    far_range(m, rare, v, x, true)
}

/// cosh(x) = h + (1/4) / h with h = e^|x| / 2 (no cancellation), for |x| <= EXP_FAST; beyond
/// (and NaN), [`far_range`].
pub(super) fn cosh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let y = m.min_c(a, EXP_FAST);
    let e = exp_fast(m, y);
    let h = m.mul_c(e, 0.5);
    let q = m.c(0.25);
    let r = m.div(q, h);
    let r = m.add(h, r);
    let rare = m.ugt_c(a, EXP_FAST);
    far_range(m, rare, r, x, false)
}

/// cbrt(d): SLEEF's `xcbrtf`. d = 2^e m with m in [0.5, 1); 2^(e/3) from the quotient and a
/// table of 2^(1/3), 2^(2/3) for the remainder; m^(-1/3) by a polynomial, then one Newton step
/// on m^(1/3). Zeros, infinities and NaN are returned as they are.
pub(super) fn cbrt(m: &mut M, d0: Value) -> Value {
    super::f64::cbrt_plain(m, d0, 300.0, &CBRT_POLY, false)
}

/// atan2(y, x): SLEEF's `xatan2f` (`atan2kf`) through `f64::atan2_plain` with the `f32`
/// coefficients; |x| below 2^-128 scales both by 2^24 first.
pub(super) fn atan2(m: &mut M, y: Value, x: Value) -> Value {
    super::f64::atan2_plain(m, y, x, ATAN2_TINY, 16_777_216.0, &ATAN_POLY)
}

/// atan(x): SLEEF's `xatanf`, the argument folded to [0, 1] by 1/|x| (`f64::atan_folded`).
pub(super) fn atan(m: &mut M, x: Value) -> Value {
    super::f64::atan_folded(m, x, &ATAN_POLY)
}

/// `(o, x, P(x^2), x^3)` shared by arcsin and arccos (SLEEF's `xasinf`/`xacosf`): `o` where
/// |d| < 1/2; there x = |d|, elsewhere x = sqrt((1 - |d|) / 2).
fn asin_parts(m: &mut M, d: Value) -> (Value, Value, Value, Value) {
    let (o, a, x2) = super::f64::asin_arg(m, d);
    let r = m.sqrt(x2);
    let x = m.sel(o, a, r);
    let u = m.poly(x2, &ASIN_POLY);
    let x3 = m.mul(x, x2);
    (o, x, u, x3)
}

/// asin(d): SLEEF's `xasinf`; |d| > 1 and NaN give NaN (through the square root).
pub(super) fn asin(m: &mut M, d: Value) -> Value {
    let (o, x, p, x3) = asin_parts(m, d);
    let r = m.fma(p, x3, x);
    let k = m.c(-2.0);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let far = m.fma(r, k, h);
    let r = m.sel(o, r, far);
    m.mulsign(r, d)
}

/// acos(d): SLEEF's `xacosf`; |d| > 1 and NaN give NaN.
pub(super) fn acos(m: &mut M, d: Value) -> Value {
    let (o, x, p, x3) = asin_parts(m, d);
    let u = m.mul(p, x3);
    let a = m.abs(d);
    let unit = m.eq_c(a, 1.0);
    let zero = m.c(0.0);
    let x = m.sel(unit, zero, x);
    let u = m.sel(unit, zero, u);
    // |d| < 1/2: pi/2 - (x + u) with the sign of d; otherwise 2 (x + u), subtracted from pi
    // (in two parts) for negative d.
    let (r, flip) = super::f64::acos_halves(m, d, o, x, u);
    let pi_hi = m.c(std::f64::consts::PI);
    let back = m.sub(pi_hi, r);
    let back = m.add_c(back, PI_LO);
    m.sel(flip, back, r)
}

/// erf(x): `x (c0 + t P(t))`, `t = x^2`, below [`ERF_SPLIT`] (`c0 = 2/sqrt(pi)` in two parts,
/// summed so that the last rounding is one `fma`), `1 - e^Q(|x|)` above, with two
/// polynomials fitted by `benches/fit_erf.py` ([`ERF_SMALL`], [`ERF_LARGE`]). Both forms on
/// every lane, one selected; NaN propagates, +-inf give +-1. The 512-bit code of the block
/// programs repeats it bit for bit.
pub(super) fn erf(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let t = m.mul(a, a);
    let p = m.poly(t, &ERF_SMALL);
    let tp = m.mul(t, p);
    let lo = m.mul_c(a, ERF_C0_LO);
    let s = m.fma(a, tp, lo);
    let k = m.c(ERF_C0_HI);
    let small = m.fma(a, k, s);
    let y = clamp(m, a, ERF_SPLIT, ERF_TOP);
    let q = m.poly(y, &ERF_LARGE);
    let e = exp_fast(m, q);
    let one = m.c(1.0);
    let large = m.sub(one, e);
    let near = m.lt_c(a, ERF_SPLIT);
    let r = m.sel(near, small, large);
    let r = m.mulsign(r, x);
    let nan = m.isnan(x);
    m.or_nan(nan, r)
}

/// x^y: 2^(y log2|x|) evaluated in `f64` ([`pow_abs_f64`] on the lanes widened), rounded to
/// `f32` once, then the sign and special values of the f64 code (`pow_ordinary_or_finish`).
pub(super) fn pow(m: &mut M, x: Value, y: Value) -> Value {
    let ax = m.abs(x);
    let (al, ah) = m.widen(ax);
    let (yl, yh) = m.widen(y);
    let (rl, rh) = m.in_f64(|m| (pow_abs_f64(m, al, yl), pow_abs_f64(m, ah, yh)));
    let r = m.narrow(rl, rh);
    super::f64::pow_ordinary_or_finish(m, x, y, r)
}

/// `a^y` for positive finite `a` and finite `y` on `f64x2` lanes (the tables and polynomials
/// are `benches/pow_tables.py`'s). log2(a): `a = 2^k z` split at [`POW_OFF_BITS`], z's
/// interval `i` from the next four bits, `r = z invc_i - 1` (|r| <= 2^-5; one `fma`), and
/// log2(a) = (k + logc_i) + r P(r), P the Taylor series to r^7 (invc = 1 and logc = 0 around
/// 1, so log2(a) keeps its relative accuracy there). 2^t, t = y log2(a) clamped to
/// [-160, 130]: `n = round(16 t)`, `s = t - n/16` (exact), 2^t = 2^(n >> 4) T[n & 15] Q(s),
/// Q the Taylor series to s^5. The roundings are near 2^-52 (relative) and the series'
/// truncations below 2^-38 of log2(a) and 2^-42 of 2^s; where the result is finite and
/// nonzero, |t| <= 150, so it is within 2^-31 of |x|^y (relative) before the one rounding to
/// `f32`: within 0.51 ULP.
fn pow_abs_f64(m: &mut M, a: Value, y: Value) -> Value {
    let ib = m.bits(a);
    let off = m.ci(POW_OFF_BITS as i64);
    let tmp = m.isub(ib, off);
    let k = m.sshr(tmp, 52);
    let i = m.ushr(tmp, 48);
    let fifteen = m.ci(15);
    let i = m.and(i, fifteen);
    let kz = m.ishl(k, 52);
    let iz = m.isub(ib, kz);
    let z = m.as_float(iz);
    let (invc, logc) = m.table_pairs(i, &POW_LOG_PAIRS);
    let minus = m.c(-1.0);
    let r = m.fma(z, invc, minus);
    let kf = m.float_of(k);
    let hi = m.add(kf, logc);
    let p = m.poly(r, &POW_LOG2_POLY);
    let l = m.fma(r, p, hi);
    let t = m.mul(l, y);
    let t = clamp(m, t, -160.0, 130.0);
    let (n, tb) = m.round_shifted(t, 16.0);
    let k = m.c(-0.0625);
    let s = m.fma(n, k, t);
    let j = m.and(tb, fifteen);
    let tj = m.table(j, &POW_EXP2_TABLE);
    let q = m.poly(s, &POW_EXP2_POLY);
    let u = m.mul(tj, q);
    let e = m.ushr(tb, 4);
    let e = m.ishl(e, 52);
    let ub = m.bits(u);
    let r = m.iadd(ub, e);
    m.as_float(r)
}
