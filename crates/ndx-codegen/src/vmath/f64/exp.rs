//! e^x and the functions built on it: exp, exp2, expm1 and the hyperbolic functions.

use super::*;

/// exp(d): SLEEF `xexp`.
pub(in crate::vmath) fn exp(m: &mut M, d: Value) -> Value {
    exp_scaled(m, d, 0.0)
}

/// e^d * 2^pow2 for a small integer `pow2` (`exp`: 0; cosh uses -1 to reach e^d / 2
/// without overflowing first).
pub(in crate::vmath) fn exp_scaled(m: &mut M, d: Value, pow2: f64) -> Value {
    let lo = m.lt_c(d, EXP_LO);
    let c = m.c(EXP_LO);
    let x = m.sel(lo, c, d);
    let hi = m.gt_c(x, EXP_HI);
    let c = m.c(EXP_HI);
    let x = m.sel(hi, c, x);
    let q = m.mul_c(x, R_LN2);
    let q = m.rint(q);
    let s = minus_q_ln2(m, q, x);
    let u = m.poly(s, &EXP_POLY);
    let qk = m.add_c(q, pow2);
    let u = m.ldexp2(u, qk);
    let over = m.gt_c(d, LOG_DBL_MAX - pow2 * std::f64::consts::LN_2);
    let inf = m.c(f64::INFINITY);
    m.sel(over, inf, u)
}

/// `x - q ln2` for integer-valued `q`, ln 2 in two parts (Cody-Waite, two `fma`s).
fn minus_q_ln2(m: &mut M, q: Value, x: Value) -> Value {
    let k = m.c(-L2U);
    let s = m.fma(q, k, x);
    let k = m.c(-L2L);
    m.fma(q, k, s)
}

/// 2^d: SLEEF `xexp2`.
pub(in crate::vmath) fn exp2(m: &mut M, d: Value) -> Value {
    let lo = m.lt_c(d, -2000.0);
    let c = m.c(-2000.0);
    let x = m.sel(lo, c, d);
    let hi = m.gt_c(x, 1030.0);
    let c = m.c(1030.0);
    let x = m.sel(hi, c, x);
    let q = m.rint(x);
    let s = m.sub(x, q);
    let u = m.poly(s, &EXP2_POLY);
    let u = m.ldexp2(u, q);
    let over = m.ge_c(d, 1024.0);
    let inf = m.c(f64::INFINITY);
    let u = m.sel(over, inf, u);
    m.zero_if(lo, u)
}

/// e^d as one float, `d` a double-double: SLEEF `expk`. Any `d` (no traps; results outside
/// [-1000, 709.78] are for the caller to replace).
pub(in crate::vmath) fn expk(m: &mut M, d: D2) -> Value {
    let u = m.d2v(d);
    let u = m.mul_c(u, R_LN2);
    let q = m.rint(u);
    let lo = m.lt_c(q, -2000.0);
    let c = m.c(-2000.0);
    let q = m.sel(lo, c, q);
    let hi = m.gt_c(q, 2000.0);
    let c = m.c(2000.0);
    let q = m.sel(hi, c, q);
    let a = m.mul_c(q, -L2U);
    let s = m.dd_add2_d2_d(d, a);
    let a = m.mul_c(q, -L2L);
    let s = m.dd_add2_d2_d(s, a);
    let s = m.d2normalize(s);
    let u = m.poly(s.x, &EXPK_POLY);
    let one = m.c(1.0);
    let t = m.dd_add_d_d2(one, s);
    let s2 = m.dd_squ(s);
    let p = m.dd_mul_d2_d(s2, u);
    let t = m.dd_add(t, p);
    let u = m.d2v(t);
    let u = m.ldexp2(u, q);
    let tiny = m.lt_c(d.x, -1000.0);
    m.zero_if(tiny, u)
}

/// e^a - 1 in plain doubles. `a = q ln2 + s` as in `exp` (two `fma`s), with `q = 0` where
/// |a| < ln 2, so |s| <= ln 2; `e^s - 1 = s + s^2 P(s)` with `P` the Taylor series to s^16
/// ([`EXPM1_TAYLOR`]); then `e^a - 1 = 2^q (e^s - 1) + (2^q - 1)` in one `fma`, without
/// cancellation: for q = 1 (a >= ln 2) `s` >= 0, for q >= 2 the sum is above 1.8 with
/// `2^q - 1` the larger term, for q <= -1 both terms are negative. Above 700, where 2^q would
/// overflow near the top, `(1 + (e^s - 1)) 2^q` in two exact scalings. At most 1.2 ULP against
/// a 40-digit reference (800 000 points); replaces SLEEF's double-double `xexpm1`, which took
/// about twice as long.
pub(in crate::vmath) fn expm1(m: &mut M, a: Value) -> Value {
    let lo = m.lt_c(a, -40.0);
    let c = m.c(-40.0);
    let x = m.sel(lo, c, a);
    let x = m.min_c(x, 710.0);
    let (q, e, r) = expm1_parts(m, x);
    let big = m.gt_c(x, 700.0);
    let one = m.add_c(e, 1.0);
    let rb = m.ldexp2(one, q);
    let r = m.sel(big, rb, r);
    let over = m.gt_c(a, EXPM1_OVER);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(over, inf, r);
    let under = m.lt_c(a, EXPM1_UNDER);
    let minus = m.c(-1.0);
    let r = m.sel(under, minus, r);
    let nz = m.isnegzero(a);
    let z = m.c(-0.0);
    m.sel(nz, z, r)
}

/// `(q, e^s - 1, e^x - 1)` for [`expm1`] and [`tanh`]: `x = q ln2 + s` with `q = 0` where
/// |x| < ln 2, and `e^x - 1` by the `fma`, right for `x` up to 709 (`q` up to 1023).
fn expm1_parts(m: &mut M, x: Value) -> (Value, Value, Value) {
    let ax = m.abs(x);
    let small = m.lt_c(ax, std::f64::consts::LN_2);
    let q = m.mul_c(x, R_LN2);
    let q = m.rint(q);
    let q = m.zero_if(small, q);
    let s = minus_q_ln2(m, q, x);
    let p = m.poly(s, &EXPM1_TAYLOR);
    let s2 = m.mul(s, s);
    let e = m.fma(s2, p, s);
    let qc = m.min_c(q, 1023.0);
    let t = m.pow2i(qc);
    let t1 = m.add_c(t, -1.0);
    let r = m.fma(t, e, t1);
    (q, e, r)
}

/// `|x|` clamped to [0, `hi`] for the hyperbolic functions (NaN stays NaN).
pub(in crate::vmath) fn clamp_abs(m: &mut M, x: Value, hi: f64) -> Value {
    let y = m.abs(x);
    let big = m.gt_c(y, hi);
    let c = m.c(hi);
    m.sel(big, c, y)
}

/// sinh: for |x| < 1, `x + x^3 Q(x^2)` with `Q` the Taylor series to x^17 ([`SINH_TAYLOR`]);
/// beyond, `h - (1/4) / h` with `h = e^|x| / 2` from `exp` (1 ULP; as in [`cosh`], the halving
/// is in the exponent, so results up to the overflow threshold stay finite), where the
/// subtraction loses at most a factor 1.31 (at |x| = 1). At most 1.6 ULP against a 40-digit
/// reference; replaces SLEEF's double-double `xsinh`, which took about twice as long.
pub(in crate::vmath) fn sinh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let h = exp_scaled(m, a, -1.0);
    let v = sinh_abs(m, a, h, &SINH_TAYLOR);
    let v = m.mulsign(v, x);
    let n = m.isnan(x);
    m.or_nan(n, v)
}

/// sinh(a) for `a` >= 0 in either dtype, given `h = e^a / 2`: `a + a^3 Q(a^2)` below 1, with
/// `Q` the Taylor polynomial `p`, and `h - (1/4) / h` from 1 on.
pub(in crate::vmath) fn sinh_abs(m: &mut M, a: Value, h: Value, p: &[f64]) -> Value {
    let a2 = m.mul(a, a);
    let q = m.poly(a2, p);
    let a3 = m.mul(a2, a);
    let near = m.fma(a3, q, a);
    let k = m.c(0.25);
    let r = m.div(k, h);
    let far = m.sub(h, r);
    let small = m.lt_c(a, 1.0);
    m.sel(small, near, far)
}

/// cosh(x) = e^|x|/2 + (1/4) / (e^|x|/2): no cancellation, so plain `exp` (1 ULP) suffices;
/// the halving is in the exponent, so results up to the overflow threshold stay finite.
pub(in crate::vmath) fn cosh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let h = exp_scaled(m, a, -1.0);
    let q = m.c(0.25);
    let r = m.div(q, h);
    m.add(h, r)
}

/// tanh(|x|) = e / (e + 2) with `e = expm1(2|x|)` (as the `f32` code; [`tanh_quotient`]), 1
/// beyond 18.71 (where it rounds to 1), with the sign of `x`. At most 1.5 ULP against a
/// 40-digit reference; replaces SLEEF's double-double `xtanh`, which took about twice as long.
pub(in crate::vmath) fn tanh(m: &mut M, x: Value) -> Value {
    let y = clamp_abs(m, x, 19.0);
    let y2 = m.add(y, y);
    let (_, _, e) = expm1_parts(m, y2);
    let v = tanh_quotient(m, e);
    let a = m.abs(x);
    let big = m.gt_c(a, 18.714_973_875);
    let vn = m.isnan(v);
    let o = m.or(big, vn);
    let one = m.c(1.0);
    let v = m.sel(o, one, v);
    let v = m.mulsign(v, x);
    let n = m.isnan(x);
    m.or_nan(n, v)
}

/// `e / (e + 2)` for `e >= 0`, without the rounding of the sum: `d + dl = e + 2` exactly (two
/// sums), `v = e / d` rounded, then `v` corrected by the residual `e - v (d + dl)` (two `fma`s)
/// times `1 / (e + 2) = (1 - v) / 2`: only `e`'s error and the last rounding remain.
fn tanh_quotient(m: &mut M, e: Value) -> Value {
    let two = m.c(2.0);
    let d = m.dd_add2_d_d(e, two);
    let v = m.div(e, d.x);
    let r = m.fmanp(v, d.x, e);
    let r = m.fmanp(v, d.y, r);
    let half = m.c(0.5);
    let h = m.fmanp(v, half, half);
    m.fma(r, h, v)
}
