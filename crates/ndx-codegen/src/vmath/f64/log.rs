//! The logarithms and pow (whose double-double log feeds a double-double exp).

use super::*;

/// The reduction shared by the logarithms: `d = 2^e * m` with `m` in [0.75, 1.5), and
/// `x = (m - 1) / (m + 1)` as a double-double. Returns `(e, x)`.
pub(in crate::vmath) fn log_reduce(m: &mut M, d: Value) -> (Value, D2) {
    let (e, mm) = m.split_exponent(d, DBL_MIN);
    let minus = m.c(-1.0);
    let one = m.c(1.0);
    let n = m.dd_add2_d_d(minus, mm);
    let dd = m.dd_add2_d_d(one, mm);
    (e, m.dd_div(n, dd))
}

/// The special cases of the logarithms: +inf for +inf, NaN below 0 and for NaN, -inf at 0.
pub(in crate::vmath) fn log_specials(m: &mut M, d: Value, r: Value) -> Value {
    let pinf = m.eq_c(d, f64::INFINITY);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(pinf, inf, r);
    let neg = m.lt_c(d, 0.0);
    let nan = m.isnan(d);
    let bad = m.or(neg, nan);
    let r = m.or_nan(bad, r);
    let zero = m.eq_c(d, 0.0);
    let ninf = m.c(f64::NEG_INFINITY);
    m.sel(zero, ninf, r)
}

/// `r` with log1p's special values: +inf at +inf, NaN below -1 and for NaN, -inf at -1.
pub(in crate::vmath) fn log1p_specials(m: &mut M, d: Value, r: Value) -> Value {
    let pinf = m.eq_c(d, f64::INFINITY);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(pinf, inf, r);
    let below = m.lt_c(d, -1.0);
    let nan = m.isnan(d);
    let bad = m.or(below, nan);
    let r = m.or_nan(bad, r);
    let at = m.eq_c(d, -1.0);
    let ninf = m.c(f64::NEG_INFINITY);
    m.sel(at, ninf, r)
}

/// ln|d| as a double-double: SLEEF `logk`.
pub(in crate::vmath) fn logk(m: &mut M, d: Value) -> D2 {
    let (e, x) = log_reduce(m, d);
    let x2 = m.dd_squ(x);
    let t = m.poly(x2.x, &LOGK_POLY);
    let c = m.d2c(LOGK_C3.0, LOGK_C3.1);
    let ln2 = m.d2c(LN2_DD.0, LN2_DD.1);
    let s = m.dd_mul_d2_d(ln2, e);
    let x2s = m.d2scale(x, 2.0);
    let s = m.dd_add(s, x2s);
    let x3 = m.dd_mul(x2, x);
    let p = m.dd_mul(x3, c);
    let s = m.dd_add(s, p);
    let x5 = m.dd_mul(x2, x3);
    let p = m.dd_mul_d2_d(x5, t);
    m.dd_add(s, p)
}

/// x^y: SLEEF `xpow`.
pub(in crate::vmath) fn pow(m: &mut M, x: Value, y: Value) -> Value {
    let ax = m.abs(x);
    let l = logk(m, ax);
    let d = m.dd_mul_d2_d(l, y);
    let r = expk(m, d);
    let over = m.gt_c(d.x, LOG_DBL_MAX);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(over, inf, r);
    pow_ordinary_or_finish(m, x, y, r)
}

/// `r` when every lane has a finite positive `x` and a finite `y` (then `r` = |x|^y is the
/// answer), [`pow_finish`] otherwise.
pub(in crate::vmath) fn pow_ordinary_or_finish(m: &mut M, x: Value, y: Value, r: Value) -> Value {
    let pos = m.gt_c(x, 0.0);
    let fin = m.lt_c(x, f64::INFINITY);
    let ay = m.abs(y);
    let yfin = m.lt_c(ay, f64::INFINITY);
    let ok = m.and(pos, fin);
    let ok = m.and(ok, yfin);
    let v = m.branch(ok, |_| vec![r], |m| vec![pow_finish(m, x, y, r)]);
    v[0]
}

/// The sign and special cases of x^y, given `r` = |x|^y for finite non-zero `x` and `y`.
pub(in crate::vmath) fn pow_finish(m: &mut M, x: Value, y: Value, r: Value) -> Value {
    let yisint = m.isint(y);
    let yisodd = m.isodd(y);
    let ax = m.abs(x);
    let inf = m.c(f64::INFINITY);
    let odd_sign = m.sel_c(yisodd, -1.0, 1.0);
    let nan = m.c(f64::NAN);
    let neg_base = m.sel(yisint, odd_sign, nan);
    let pos = m.gt_c(x, 0.0);
    let one = m.c(1.0);
    let f = m.sel(pos, one, neg_base);
    let r = m.mul(r, f);
    let am1 = m.add_c(ax, -1.0);
    let efx = m.mulsign(am1, y);
    let ez = m.eq_c(efx, 0.0);
    let v = m.sel(ez, one, inf);
    let en = m.lt_c(efx, 0.0);
    let v = m.zero_if(en, v);
    let yinf = m.isinf(y);
    let r = m.sel(yinf, v, r);
    let xinf = m.isinf(x);
    let xz = m.eq_c(x, 0.0);
    let xi = m.or(xinf, xz);
    let sy = m.signbit(y);
    let c = m.xor(sy, xz);
    let z = m.c(0.0);
    let v = m.sel(c, z, inf);
    let s = m.sel(yisodd, x, one);
    let v = m.mulsign(v, s);
    let r = m.sel(xi, v, r);
    let xn = m.isnan(x);
    let yn = m.isnan(y);
    let n = m.or(xn, yn);
    let r = m.or_nan(n, r);
    let y0 = m.eq_c(y, 0.0);
    let x1 = m.eq_c(x, 1.0);
    let o = m.or(y0, x1);
    m.sel(o, one, r)
}
