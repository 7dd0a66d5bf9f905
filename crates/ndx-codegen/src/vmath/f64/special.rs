//! cbrt and erf.

use super::*;

/// `(m, qu, re)` of cbrt (SLEEF's `xcbrt`/`xcbrtf`): `d = 2^e m` with |m| in [0.5, 1), and
/// `e + 6144 = 3 qu + re` (`re` in 0..3), so that cbrt(d) = cbrt(m) 2^(re/3) 2^(qu - 2048).
/// `e` is clamped to +-`limit` (zeros, infinities and NaN give meaningless exponents; their
/// results are replaced by [`cbrt_specials`]).
pub(in crate::vmath) fn cbrt_split(m: &mut M, d0: Value, limit: f64) -> (Value, Value, Value) {
    let a = m.abs(d0);
    let e = m.ilogbk(a);
    let e = m.add_c(e, 1.0);
    let lo = m.lt_c(e, -limit);
    let c = m.c(-limit);
    let e = m.sel(lo, c, e);
    let hi = m.gt_c(e, limit);
    let c = m.c(limit);
    let e = m.sel(hi, c, e);
    let ne = m.neg(e);
    let d = m.ldexp2(d0, ne);
    let t = m.add_c(e, 6144.0);
    let qu = m.mul_c(t, 1.0 / 3.0);
    let qu = m.trunc(qu);
    let k = m.c(-3.0);
    let re = m.fma(qu, k, t);
    (d, qu, m.trunc(re))
}

/// `r` with cbrt's special values: infinities and zeros (signed) are returned as they are,
/// NaN stays NaN.
pub(in crate::vmath) fn cbrt_specials(m: &mut M, d: Value, r: Value) -> Value {
    let inf = m.isinf(d);
    let i = m.c(f64::INFINITY);
    let i = m.mulsign(i, d);
    let r = m.sel(inf, i, r);
    let zero = m.eq_c(d, 0.0);
    let r = m.sel(zero, d, r);
    let n = m.isnan(d);
    m.or_nan(n, r)
}

/// `poly2dd`: `c0 + c1 * x` with a plain `c1`.
pub(in crate::vmath) fn poly2dd(m: &mut M, x: Value, c1: Value, c0: D2) -> D2 {
    let c1 = m.d2(c1);
    let p = m.dd_mul_d2_d(c1, x);
    m.dd_add(c0, p)
}

/// `poly4dd`: `c0 + c1 x + c2 x^2 + c3 x^3` with double-double `c0..c2`.
pub(in crate::vmath) fn poly4dd(m: &mut M, x: Value, c3: Value, c2: D2, c1: D2, c0: D2) -> D2 {
    let x2 = m.mul(x, x);
    let hi = poly2dd(m, x, c3, c2);
    let p = m.dd_mul_d2_d(c1, x);
    let lo = m.dd_add(c0, p);
    let p = m.dd_mul_d2_d(hi, x2);
    m.dd_add(lo, p)
}

/// `(1 + x P(x))^-16`, the Abramowitz-Stegun form of erfc on [0, 2.5].
pub(in crate::vmath) fn erf_small(m: &mut M, x: Value, cs: &[f64; 21], dd: &[(f64, f64); 3]) -> D2 {
    let t = m.poly(x, cs);
    let c2 = m.d2c(dd[0].0, dd[0].1);
    let c1 = m.d2c(dd[1].0, dd[1].1);
    let c0 = m.d2c(dd[2].0, dd[2].1);
    let t2 = poly4dd(m, x, t, c2, c1, c0);
    let p = m.dd_mul_d2_d(t2, x);
    let one = m.c(1.0);
    let mut t2 = m.dd_add_d_d2(one, p);
    for _ in 0..4 {
        t2 = m.dd_squ(t2);
    }
    m.dd_rec(t2)
}

/// erf(a): SLEEF `xerf_u1`.
pub(in crate::vmath) fn erf(m: &mut M, a: Value) -> Result<Value, CodegenError> {
    let x = m.abs(a);
    let o25 = m.le_c(x, 2.5);
    let r = m.branch(
        o25,
        |m| {
            let t = erf_small(m, x, &ERF_A, &ERF_A_DD);
            vec![t.x, t.y]
        },
        |m| {
            // Coefficients chosen per lane; beyond 2.5 erfc = exp(P(x)).
            let mut cs = Vec::with_capacity(21);
            for (&ca, &cb) in ERF_A.iter().zip(ERF_B.iter()) {
                cs.push(m.sel_c(o25, ca, cb));
            }
            let mut t = m.c(0.0);
            if let Some((first, rest)) = cs.split_first() {
                t = *first;
                for c in rest {
                    t = m.fma(t, x, *c);
                }
            }
            let mut dd = Vec::with_capacity(3);
            for (&(ah, al), &(bh, bl)) in ERF_A_DD.iter().zip(ERF_B_DD.iter()) {
                let h = m.sel_c(o25, ah, bh);
                let l = m.sel_c(o25, al, bl);
                dd.push(D2 { x: h, y: l });
            }
            let t2 = poly4dd(m, x, t, dd[0], dd[1], dd[2]);
            let p = m.dd_mul_d2_d(t2, x);
            let one = m.c(1.0);
            let mut s2 = m.dd_add_d_d2(one, p);
            for _ in 0..4 {
                s2 = m.dd_squ(s2);
            }
            let s2 = m.dd_rec(s2);
            let e = expk(m, t2);
            let e = m.d2(e);
            let t = m.d2sel(o25, s2, e);
            vec![t.x, t.y]
        },
    );
    let t2 = D2 { x: r[0], y: r[1] };
    let minus = m.c(-1.0);
    let t2 = m.dd_add2_d2_d(t2, minus);
    let z = m.d2v(t2);
    let z = m.neg(z);
    let tiny = m.lt_c(x, 1e-8);
    let lin = m.mul_c(x, std::f64::consts::FRAC_2_SQRT_PI);
    let z = m.sel(tiny, lin, z);
    let big = m.ge_c(x, 6.0);
    let one = m.c(1.0);
    let z = m.sel(big, one, z);
    let inf = m.isinf(a);
    let z = m.sel(inf, one, z);
    let zero = m.eq_c(a, 0.0);
    let zc = m.c(0.0);
    let z = m.sel(zero, zc, z);
    Ok(m.mulsign(z, a))
}
