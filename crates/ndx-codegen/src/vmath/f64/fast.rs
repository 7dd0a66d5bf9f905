//! SLEEF's 3.5-ULP (`_u35`) double functions, in plain `f64` arithmetic (no double-double,
//! or one add of it): `log` (`xlog`), `log2` (`xlog2_u35`), `arctan` (`xatan`), `arctan2`
//! (`xatan2`, whose `atan2_plain` and `atan_folded` serve the `f32` code too) and `cbrt`
//! (`xcbrt`); and `log10` and `log1p` built as `xlog2_u35` is. LANGUAGE.md's bound is 4 ULP;
//! these run 1.3-3x faster than SLEEF's 1-ULP double-double forms, which they replace.
//! `tests/vmath.rs` samples each against libm over the whole range: at most 2 ULP in 3M
//! samples (`log2` and `log10`: 3 ULP; 5.5M more points around 1 and across the exponents
//! gave `log2` at most 3 and `log10` at most 2; `log1p` at most 2 over 4.5M points from -1
//! to the largest double, its special values exact). SLEEF's `tanh_u35` and `sinh_u35`
//! reached 4 ULP against libm in 3M samples, too close to the bound; `expm1`, `sinh` and
//! `tanh` are plain code of ndx's own instead (`exp.rs`, at most 1.6 ULP).

use super::*;
use ndx_runtime::ops::wide_math::consts64::LOG_POLY;

/// ln(d): SLEEF's `xlog` (3.5 ULP): d = 2^e m, m in [0.75, 1.5), x = (m - 1) / (m + 1),
/// ln(d) = e ln2 + 2x + x^3 P(x^2); subnormal `d` is scaled by 2^64 first. The block
/// programs' 512-bit code (`wide_math`) repeats it bit for bit.
pub(in crate::vmath) fn log_u35(m: &mut M, d: Value) -> Value {
    let (e, x, x2) = plain_log_reduce(m, d);
    let t = m.poly(x2, &LOG_POLY);
    let el = m.mul_c(e, LN2_DD.0);
    let two = m.c(2.0);
    let s = m.fma(x, two, el);
    let x3 = m.mul(x2, x);
    let r = m.fma(x3, t, s);
    log_specials(m, d, r)
}

/// The reduction of the plain logarithms: `d = 2^e m` with m in [0.75, 1.5) (subnormal `d`
/// scaled by 2^64 first) and `x = (m - 1) / (m + 1)`, in plain doubles. Returns `(e, x, x^2)`.
fn plain_log_reduce(m: &mut M, d: Value) -> (Value, Value, Value) {
    let (e, mm) = m.split_exponent(d, DBL_MIN);
    let num = m.add_c(mm, -1.0);
    let den = m.add_c(mm, 1.0);
    let x = m.div(num, den);
    let x2 = m.mul(x, x);
    (e, x, x2)
}

/// The end of the plain logarithms: `s` (their leading terms, a double-double) rounded, plus
/// `x^3 P(x^2)` with the polynomial `p`.
fn plain_log_end(m: &mut M, s: D2, x: Value, x2: Value, p: &[f64]) -> Value {
    let t = m.poly(x2, p);
    let s = m.add(s.x, s.y);
    let x3 = m.mul(x, x2);
    m.fma(t, x3, s)
}

/// log2(d): SLEEF's `xlog2_u35` (3.5 ULP): [`log_u35`]'s reduction, then
/// log2(d) = e + x (2 / ln2) + x^3 P(x^2), with `e + x (2 / ln2)` a double-double (`P` and
/// `2 / ln2` are those of the 1-ULP `log2`). The block programs' 512-bit code repeats it bit
/// for bit.
pub(in crate::vmath) fn log2_u35(m: &mut M, d: Value) -> Value {
    let (e, x, x2) = plain_log_reduce(m, d);
    let k = m.c(LOG2_K);
    let xk = m.dd_mul_d_d(k, x);
    let s = m.dd_add_d_d2(e, xk);
    let r = plain_log_end(m, s, x, x2, &LOG2_POLY);
    log_specials(m, d, r)
}

/// log10(d) as [`log2_u35`] computes log2 (SLEEF has no 3.5-ULP `log10`; this is its
/// `xlog10` with the plain quotient of [`log_u35`] for the double-double one):
/// log10(d) = e log10(2) + x (2 / ln10) + x^3 P(x^2), the first two terms as double-doubles.
/// Measured at 3 ULP against libm in 3M samples (`tests/vmath.rs`).
pub(in crate::vmath) fn log10_u35(m: &mut M, d: Value) -> Value {
    let (e, x, x2) = plain_log_reduce(m, d);
    let l = m.d2c(LOG10_2_DD.0, LOG10_2_DD.1);
    let s = m.dd_mul_d2_d(l, e);
    let k = m.c(LOG10_K);
    let xk = m.dd_mul_d_d(k, x);
    let s = m.dd_add(s, xk);
    let r = plain_log_end(m, s, x, x2, &LOG10_POLY);
    log_specials(m, d, r)
}

/// ln(1 + d) as SLEEF's `xlog1p` computes it (arguments beyond 1e307 scaled by 2^-64, where
/// log1p(d) = log(d) to far below an ULP), but with the plain quotient 2x = 2m / (2 + m) and
/// one double-double add, as [`log2_u35`]: e ln2 + 2x as a double-double, plus x^3 P(x^2).
/// Measured at 2 ULP against libm (`tests/vmath.rs`).
pub(in crate::vmath) fn log1p_u35(m: &mut M, d0: Value) -> Value {
    let big = m.gt_c(d0, 1e307);
    let scaled = m.mul_c(d0, 2f64.powi(-64));
    let d = m.sel(big, scaled, d0);
    let dp1 = m.add_c(d, 1.0);
    let o = m.lt_c(dp1, DBL_MIN);
    let s64 = m.mul_c(dp1, 2f64.powi(64));
    let dp1 = m.sel(o, s64, dp1);
    let t = m.mul_c(dp1, 1.0 / 0.75);
    let e = m.ilogb2k(t);
    let one = m.c(1.0);
    let ne = m.neg(e);
    let t = m.ldexp3(one, ne);
    let tm1 = m.add_c(t, -1.0);
    let mm = m.fma(d, t, tm1);
    let adj = m.sel_c(o, -64.0, 0.0);
    let e = m.add(e, adj);
    let adj = m.sel_c(big, 64.0, 0.0);
    let e = m.add(e, adj);
    // 2x as the quotient itself: x alone would lose the smallest subnormals (d / 2).
    let den = m.add_c(mm, 2.0);
    let num = m.mul_c(mm, 2.0);
    let x2s = m.div(num, den);
    let x = m.mul_c(x2s, 0.5);
    let x2 = m.mul(x, x);
    let ln2 = m.d2c(LN2_DD.0, LN2_DD.1);
    let s = m.dd_mul_d2_d(ln2, e);
    let s = m.dd_add_d2_d(s, x2s);
    let r = plain_log_end(m, s, x, x2, &LOG_U1);
    let r = log1p_specials(m, d0, r);
    let nz = m.isnegzero(d0);
    let z = m.c(-0.0);
    m.sel(nz, z, r)
}

/// atan(x): SLEEF's `xatan` (3.5 ULP) through [`atan_folded`].
pub(in crate::vmath) fn atan_u35(m: &mut M, x: Value) -> Value {
    atan_folded(m, x, &ATAN_U35_POLY)
}

/// atan2(y, x): SLEEF's `xatan2` (3.5 ULP) through [`atan2_plain`], with its threshold and
/// scale for tiny `x`. Replaces SLEEF's double-double `xatan2_u1`.
pub(in crate::vmath) fn atan2_u35(m: &mut M, y: Value, x: Value) -> Value {
    atan2_plain(m, y, x, ATAN2_TINY, 2f64.powi(53), &ATAN_U35_POLY)
}

/// `s + s t P(t)` with `t = s^2`: the series of atan(s) on [-1, 1] with the coefficients `p`
/// (either dtype).
pub(in crate::vmath) fn atan_series(m: &mut M, s: Value, p: &[f64]) -> Value {
    let t = m.mul(s, s);
    let u = m.poly(t, p);
    let tu = m.mul(t, u);
    m.fma(s, tu, s)
}

/// atan(x) with the argument folded to [0, 1] by 1/|x| and [`atan_series`] (SLEEF's `xatan`
/// and `xatanf`, by their coefficients `p`).
pub(in crate::vmath) fn atan_folded(m: &mut M, x: Value, p: &[f64]) -> Value {
    let a = m.abs(x);
    let big = m.gt_c(a, 1.0);
    let one = m.c(1.0);
    let r = m.div(one, a);
    let s = m.sel(big, r, a);
    let r = atan_series(m, s, p);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let c = m.sub(h, r);
    let r = m.sel(big, c, r);
    m.mulsign(r, x)
}

/// atan2(y, x) in the working precision (SLEEF's `atan2k` and `atan2kf`): the smaller of
/// |y|, |x| over the larger through [`atan_series`] with the coefficients `p`, plus a
/// multiple of pi/2 for the octant; signs, zeros, infinities and NaN by [`atan2_finish`].
/// |x| below `tiny` scales both arguments by `scale` first.
pub(in crate::vmath) fn atan2_plain(
    m: &mut M,
    y: Value,
    x: Value,
    tiny: f64,
    scale: f64,
    p: &[f64],
) -> Value {
    let ax = m.abs(x);
    let o = m.lt_c(ax, tiny);
    let sx = m.mul_c(x, scale);
    let x = m.sel(o, sx, x);
    let sy = m.mul_c(y, scale);
    let y = m.sel(o, sy, y);
    let ay = m.abs(y);
    let ax = m.abs(x);
    let neg = m.lt_c(x, 0.0);
    let q = m.sel_c(neg, -2.0, 0.0);
    let steep = m.lt(ax, ay);
    let q1 = m.add_c(q, 1.0);
    let q = m.sel(steep, q1, q);
    let nx = m.neg(ax);
    let num = m.sel(steep, nx, ay);
    let den = m.sel(steep, ay, ax);
    let s = m.div(num, den);
    let t = atan_series(m, s, p);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let r = m.fma(q, h, t);
    atan2_finish(m, y, x, r)
}

/// cbrt(d) in the working precision: [`cbrt_split`], 2^(re/3) from a table, m^(-1/3) by the
/// polynomial `poly` (with one more Newton step when `refine`), then one Newton step on
/// m^(1/3): SLEEF's `xcbrt` (f64, 3.5 ULP; `refine`) and `xcbrtf` (f32).
pub(in crate::vmath) fn cbrt_plain(
    m: &mut M,
    d0: Value,
    limit: f64,
    poly: &[f64],
    refine: bool,
) -> Value {
    let (dv, qu, re) = cbrt_split(m, d0, limit);
    let one = m.c(1.0);
    let r1 = m.eq_c(re, 1.0);
    let c1 = m.c(CBRT_2_1_3);
    let q = m.sel(r1, c1, one);
    let r2 = m.eq_c(re, 2.0);
    let c2 = m.c(CBRT_2_2_3);
    let q = m.sel(r2, c2, q);
    let sh = m.add_c(qu, -2048.0);
    let q = m.ldexp2(q, sh);
    let q = m.mulsign(q, dv);
    let dv = m.abs(dv);
    let mut x = m.poly(dv, poly);
    if refine {
        let y = m.mul(x, x);
        let y = m.mul(y, y);
        let t = m.fmapn(dv, y, x);
        let t = m.mul_c(t, 1.0 / 3.0);
        x = m.sub(x, t);
    }
    let y = m.mul(dv, x);
    let y = m.mul(y, x);
    let w = m.mul_c(y, 2.0 / 3.0);
    let minus = m.c(-1.0);
    let v = m.fma(y, x, minus);
    let w = m.mul(w, v);
    let y = m.sub(y, w);
    let y = m.mul(y, q);
    cbrt_specials(m, d0, y)
}

/// cbrt(d): SLEEF's `xcbrt` (3.5 ULP).
pub(in crate::vmath) fn cbrt_u35(m: &mut M, d0: Value) -> Value {
    cbrt_plain(m, d0, 1100.0, &CBRT_POLY, true)
}
