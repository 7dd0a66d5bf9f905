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
    let k = m.c(-L2U);
    let s = m.fma(q, k, x);
    let k = m.c(-L2L);
    let s = m.fma(q, k, s);
    let u = m.poly(s, &EXP_POLY);
    let qk = m.add_c(q, pow2);
    let u = m.ldexp2(u, qk);
    let over = m.gt_c(d, LOG_DBL_MAX - pow2 * std::f64::consts::LN_2);
    let inf = m.c(f64::INFINITY);
    m.sel(over, inf, u)
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

/// e^d as a double-double, for `d` in [-1000, 720]: SLEEF `expk2`.
pub(in crate::vmath) fn expk2(m: &mut M, d: D2) -> D2 {
    let q = m.round_ln2(d);
    let s = m.dd_sub_ln2(d, q, L2U, L2L);
    let s2 = m.dd_squ(s);
    let s4 = m.dd_squ(s2);
    let u = m.poly(s.x, &EXPK2_POLY);
    let k = m.c(EXPK2_C3);
    let t = m.dd_mul_d2_d(s, k);
    let half = m.c(0.5);
    let t = m.dd_add_d_d2(half, t);
    let one = m.c(1.0);
    let t = m.dd_mul(t, s);
    let t = m.dd_add_d_d2(one, t);
    let t = m.dd_mul(t, s);
    let t = m.dd_add_d_d2(one, t);
    let p = m.dd_mul_d2_d(s4, u);
    let t = m.dd_add(t, p);
    let x = m.ldexp2(t.x, q);
    let y = m.ldexp2(t.y, q);
    let tiny = m.lt_c(d.x, -1000.0);
    D2 {
        x: m.zero_if(tiny, x),
        y: m.zero_if(tiny, y),
    }
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

/// e^a - 1: SLEEF `xexpm1`.
pub(in crate::vmath) fn expm1(m: &mut M, a: Value) -> Value {
    let lo = m.lt_c(a, -40.0);
    let c = m.c(-40.0);
    let x = m.sel(lo, c, a);
    let hi = m.gt_c(x, 710.0);
    let c = m.c(710.0);
    let x = m.sel(hi, c, x);
    let dx = m.d2(x);
    let e = expk2(m, dx);
    let minus = m.c(-1.0);
    let d = m.dd_add2_d2_d(e, minus);
    let r = m.d2v(d);
    let over = m.gt_c(a, EXPM1_OVER);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(over, inf, r);
    let under = m.lt_c(a, EXPM1_UNDER);
    let r = m.sel(under, minus, r);
    let nz = m.isnegzero(a);
    let z = m.c(-0.0);
    m.sel(nz, z, r)
}

/// `|x|` clamped to [0, `hi`] for the hyperbolic functions (NaN stays NaN).
pub(in crate::vmath) fn clamp_abs(m: &mut M, x: Value, hi: f64) -> Value {
    let y = m.abs(x);
    let big = m.gt_c(y, hi);
    let c = m.c(hi);
    m.sel(big, c, y)
}

/// sinh: SLEEF `xsinh`, with e^(|x| - ln 2) beyond 709 so that the results up to the
/// overflow threshold (710.4758...) stay finite.
pub(in crate::vmath) fn sinh(m: &mut M, x: Value) -> Value {
    let y = clamp_abs(m, x, 720.0);
    let big = m.gt_c(y, 709.0);
    let yd = m.d2(y);
    let ln2 = m.d2c(-LN2_DD.0, -LN2_DD.1);
    let ys = m.dd_add2_d_d2(y, ln2);
    let arg = m.d2sel(big, ys, yd);
    let d = expk2(m, arg);
    let r = m.dd_rec(d);
    let d = m.dd_sub(d, r);
    // Beyond 709 the reciprocal is below 2^-1000 of the result: only the halving differs.
    let h = m.sel_c(big, 1.0, 0.5);
    let v = m.d2v(d);
    let v = m.mul(v, h);
    let a = m.abs(x);
    let over = m.gt_c(a, 710.5);
    let vn = m.isnan(v);
    let o = m.or(over, vn);
    let inf = m.c(f64::INFINITY);
    let v = m.sel(o, inf, v);
    let v = m.mulsign(v, x);
    let n = m.isnan(x);
    m.or_nan(n, v)
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

/// tanh(x): SLEEF `xtanh`.
pub(in crate::vmath) fn tanh(m: &mut M, x: Value) -> Value {
    let y = clamp_abs(m, x, 19.0);
    let yd = m.d2(y);
    let d = expk2(m, yd);
    let e = m.dd_rec(d);
    let ne = m.d2neg(e);
    let n = m.dd_add2(d, ne);
    let den = m.dd_add2(d, e);
    let d = m.dd_div(n, den);
    let v = m.d2v(d);
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
