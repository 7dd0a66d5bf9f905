//! sin, cos, tan and their inverses, atan2.

use super::*;
use ndx_runtime::ops::pi_reduce::Unit;

/// `(x, q)` from the Cody-Waite reduction of `d`, with the lanes where it is not exact enough
/// (finite and |d| >= 1e14) reduced by Payne-Hanek ([`M::pi_reduce`]) instead, in a cold
/// block (`ndx_runtime::ops::pi_reduce::trig_f64`): `x = g * pi` (`g * pi/2` for `tan`) as a
/// double-double with the sign of `d` for `sin` and `tan`, and `q` (modulo 8; `cos`: the odd
/// `2q + 1`).
fn large_args(
    m: &mut M,
    d: Value,
    x: D2,
    q: Value,
    unit: Unit,
) -> Result<(D2, Value), CodegenError> {
    let a = m.abs(d);
    let big = m.ge_c(a, TRIG_MAX);
    let fin = m.lt_c(a, f64::INFINITY);
    let rare = m.and(big, fin);
    let [hi, lo, q] = m.try_unless_rare(rare, [x.x, x.y, q], |m| {
        let big = m.pi_reduce(d, unit)?;
        Ok([
            m.sel(rare, big.hi, x.x),
            m.sel(rare, big.lo, x.y),
            m.sel(rare, big.q, q),
        ])
    })?;
    Ok((D2 { x: hi, y: lo }, q))
}

/// sin/cos core: the polynomial on the reduced double-double `x`.
pub(in crate::vmath) fn sincos_poly(m: &mut M, x: D2) -> Value {
    let s = m.dd_squ(x);
    let u = m.poly(s.x, &SINCOS_POLY);
    let us = m.mul(u, s.x);
    let c = m.c(SINCOS_C3);
    let a = m.dd_add_d_d(c, us);
    let a = m.dd_mul(a, s);
    let one = m.c(1.0);
    let a = m.dd_add_d_d2(one, a);
    m.dd_mul_v(x, a)
}

/// tan's quadrant below 1e14 past the high part `dqh` (none below 2e7, where it is zero):
/// `trunc(d 2/pi - dqh +- 1/2)` with `d 2/pi` a double-double.
fn tan_quadrant(m: &mut M, d: Value, dqh: Option<Value>) -> Value {
    let k = m.d2c(FRAC_2_PI_DD.0, FRAC_2_PI_DD.1);
    let p = m.dd_mul_d2_d(k, d);
    let neg = m.lt_c(d, 0.0);
    let half = m.sel_c(neg, -0.5, 0.5);
    let off = match dqh {
        Some(h) => m.sub(half, h),
        None => half,
    };
    let x = m.dd_add2_d2_d(p, off);
    let v = m.d2v(x);
    m.trunc(v)
}

/// The Cody-Waite reduction of sin/cos/tan for |d| < 1e14 with pi split in four
/// (`PI_A..PI_D`), `dqh` the multiple of `2^24 * unit` and `dql` the rest: returns `x`.
/// Without `dqh` (below 2^24 units, where it is zero), its terms are left out: they would
/// only add zeros.
pub(in crate::vmath) fn reduce4(
    m: &mut M,
    d: Value,
    dqh: Option<Value>,
    dql: Value,
    scale: f64,
) -> D2 {
    let u = match dqh {
        Some(h) => {
            let k = m.c(-PI_A * scale);
            m.fma(h, k, d)
        }
        None => d,
    };
    let a = m.mul_c(dql, -PI_A * scale);
    let mut s = m.dd_add2_d_d(u, a);
    for part in [PI_B, PI_C] {
        if let Some(h) = dqh {
            let a = m.mul_c(h, -part * scale);
            s = m.dd_add2_d2_d(s, a);
        }
        let a = m.mul_c(dql, -part * scale);
        s = m.dd_add2_d2_d(s, a);
    }
    let q = match dqh {
        Some(h) => m.add(h, dql),
        None => dql,
    };
    let a = m.mul_c(q, -PI_D * scale);
    m.dd_add_d2_d(s, a)
}

/// sin(d): SLEEF `xsin_u1`; lanes with |d| >= 1e14 reduced by Payne-Hanek.
pub(in crate::vmath) fn sin(m: &mut M, d: Value) -> Result<Value, CodegenError> {
    let a = m.abs(d);
    let small = m.lt_c(a, TRIG_SMALL);
    let r = m.branch(
        small,
        |m| {
            let q = m.mul_c(d, M_1_PI);
            let q = m.rint(q);
            let k = m.c(-PI_A2);
            let u = m.fma(q, k, d);
            let b = m.mul_c(q, -PI_B2);
            let x = m.dd_add_d_d(u, b);
            vec![x.x, x.y, q]
        },
        |m| {
            let h = m.mul_c(d, M_1_PI / P2_24);
            let h = m.trunc(h);
            let dqh = m.mul_c(h, P2_24);
            let k = m.c(M_1_PI);
            let l = m.fmapn(d, k, dqh);
            let dql = m.rint(l);
            let x = reduce4(m, d, Some(dqh), dql, 1.0);
            vec![x.x, x.y, dql]
        },
    );
    let (x, q) = large_args(m, d, D2 { x: r[0], y: r[1] }, r[2], Unit::Pi)?;
    let u = sincos_poly(m, x);
    let odd = m.isodd(q);
    let flip = m.sel_c(odd, -0.0, 0.0);
    let u = m.mulsign(u, flip);
    let z = m.eq_c(d, 0.0);
    let u = m.sel(z, d, u);
    let inf = m.isinf(d);
    Ok(m.or_nan(inf, u))
}

/// cos(d): SLEEF `xcos_u1`; lanes with |d| >= 1e14 reduced by Payne-Hanek.
pub(in crate::vmath) fn cos(m: &mut M, d: Value) -> Result<Value, CodegenError> {
    let a = m.abs(d);
    let small = m.lt_c(a, TRIG_SMALL);
    let r = m.branch(
        small,
        |m| {
            let k = m.c(M_1_PI);
            let half = m.c(-0.5);
            let q = m.fma(d, k, half);
            let q = m.rint(q);
            let two = m.c(2.0);
            let one = m.c(1.0);
            let q = m.fma(two, q, one);
            let b = m.mul_c(q, -PI_A2 * 0.5);
            let x = m.dd_add2_d_d(d, b);
            let b = m.mul_c(q, -PI_B2 * 0.5);
            let x = m.dd_add_d2_d(x, b);
            vec![x.x, x.y, q]
        },
        |m| {
            let k = m.c(M_1_PI / (P2_24 / 2.0));
            let c = m.c(-M_1_PI / P2_24);
            let h = m.fma(d, k, c);
            let dqh = m.trunc(h);
            let k = m.c(-P2_24 / 2.0);
            let c = m.c(-0.5);
            let t = m.fma(dqh, k, c);
            let p = m.mul_c(d, M_1_PI);
            let t = m.add(p, t);
            let q = m.rint(t);
            let dqh = m.mul_c(dqh, P2_24);
            let two = m.c(2.0);
            let one = m.c(1.0);
            let dql = m.fma(two, q, one);
            let x = reduce4(m, d, Some(dqh), dql, 0.5);
            vec![x.x, x.y, dql]
        },
    );
    let (x, q) = large_args(m, d, D2 { x: r[0], y: r[1] }, r[2], Unit::PiOffset)?;
    let u = sincos_poly(m, x);
    // q is odd; the sign flips when (q & 2) == 0, i.e. (q - 1) / 2 is even.
    let k = m.add_c(q, -1.0);
    let k = m.mul_c(k, 0.5);
    let odd = m.isodd(k);
    let flip = m.sel_c(odd, 0.0, -0.0);
    let u = m.mulsign(u, flip);
    let inf = m.isinf(d);
    Ok(m.or_nan(inf, u))
}

/// tan(d): SLEEF's `xtan` (3.5 ULP) after `xtan_u1`'s reduction (lanes with |d| >= 1e14
/// by Payne-Hanek) to a double-double `s` and quadrant `q`: with `x = s / 2` in plain
/// doubles, `u = tan(x)` by `TAN_POLY`, then tan(2x) = 2u / (1 - u^2), or -(1 - u^2) / 2u
/// for odd `q`. With the 1-ULP form's double-double polynomial and division instead, the
/// function measured 1.2-1.4x slower (the reduction, shared, now costs most); this one is at
/// most 3 ULP from libm (`tests/vmath.rs`, 3M samples).
pub(in crate::vmath) fn tan(m: &mut M, d: Value) -> Result<Value, CodegenError> {
    let (s, q) = tan_reduce(m, d)?;
    let x = m.d2v(s);
    let x = m.mul_c(x, 0.5);
    let s = m.mul(x, x);
    let u = m.poly(s, &TAN_POLY);
    let ux = m.mul(u, x);
    let u = m.fma(s, ux, x);
    let minus = m.c(-1.0);
    let y = m.fma(u, u, minus);
    let x = m.mul_c(u, -2.0);
    let o = m.isodd(q);
    let ny = m.neg(y);
    let n = m.sel(o, ny, x);
    let den = m.sel(o, x, y);
    let u = m.div(n, den);
    // (Below 1e-9, tan(d) rounds to d: the halving above would lose the smallest
    // subnormals, and zeros keep their sign.)
    let a = m.abs(d);
    let tiny = m.lt_c(a, 1e-9);
    let u = m.sel(tiny, d, u);
    let inf = m.isinf(d);
    Ok(m.or_nan(inf, u))
}

/// tan's reduction: `d = q pi/2 + s`, `s` a double-double. Up to [`TAN_PLAIN_MAX`] in plain
/// doubles ([`tan_plain`], SLEEF's `xtan`), above in double-doubles (SLEEF's `xtan_u1`). A
/// lane takes its range's reduction whatever its neighbours, so the 512-bit code's wider
/// vectors give the same bits.
fn tan_reduce(m: &mut M, d: Value) -> Result<(D2, Value), CodegenError> {
    let a = m.abs(d);
    let plain = m.le_c(a, TAN_PLAIN_MAX);
    let r = m.branch(
        plain,
        |m| tan_plain(m, d),
        |m| {
            let r = tan_reduce_dd(m, d, a);
            let p = tan_plain(m, d);
            r.iter()
                .zip(&p)
                .map(|(&r, &p)| m.sel(plain, p, r))
                .collect()
        },
    );
    large_args(m, d, D2 { x: r[0], y: r[1] }, r[2], Unit::HalfPi)
}

/// tan's reduction in plain doubles up to [`TAN_PLAIN_MAX`]: `q` the nearest integer to
/// `d 2/pi`, then `d - q pi/2` with pi in four parts (each product exact, each difference
/// exact where it cancels), as `[x, 0, q]`.
fn tan_plain(m: &mut M, d: Value) -> Vec<Value> {
    let q = m.mul_c(d, 2.0 * M_1_PI);
    let q = m.rint(q);
    let mut x = d;
    for part in [PI_A, PI_B, PI_C, PI_D] {
        let k = m.c(-part * 0.5);
        x = m.fma(q, k, x);
    }
    let zero = m.c(0.0);
    vec![x, zero, q]
}

/// tan's double-double reduction below 1e14, `[s.x, s.y, q]` (larger lanes are reduced by
/// `large_args` after it).
fn tan_reduce_dd(m: &mut M, d: Value, a: Value) -> Vec<Value> {
    // Below 2e7 the high part `dqh` is zero, and `reduce4`'s terms in it add zeros (only a
    // zero low part's sign can differ, which the nonzero sum ignores): the same bits without
    // them, as the 512-bit code computes them.
    let medium = m.le_c(a, 2e7);
    m.branch(
        medium,
        |m| {
            let dql = tan_quadrant(m, d, None);
            let x = reduce4(m, d, None, dql, 0.5);
            vec![x.x, x.y, dql]
        },
        |m| {
            let h = m.mul_c(d, 2.0 * M_1_PI / P2_24);
            let h = m.trunc(h);
            let dqh = m.mul_c(h, P2_24);
            let dql = tan_quadrant(m, d, Some(dqh));
            let x = reduce4(m, d, Some(dqh), dql, 0.5);
            vec![x.x, x.y, dql]
        },
    )
}

/// `(o, |d|, x2)` of asin and acos: `o` where |d| < 1/2, and there `x2 = d^2`, elsewhere
/// `(1 - |d|) / 2` (asin(|d|) = pi/2 - 2 asin(sqrt(x2))).
pub(in crate::vmath) fn asin_arg(m: &mut M, d: Value) -> (Value, Value, Value) {
    let a = m.abs(d);
    let o = m.lt_c(a, 0.5);
    let sq = m.mul(d, d);
    let one = m.c(1.0);
    let h = m.sub(one, a);
    let h = m.mul_c(h, 0.5);
    (o, a, m.sel(o, sq, h))
}

/// `(o, x, x2)` of the plain asin/acos: [`asin_arg`]'s `o` and `x2`, and `x` = |d| where
/// |d| < 1/2, sqrt(x2) elsewhere (0 at |d| = 1).
fn asin_reduce(m: &mut M, d: Value) -> (Value, Value, Value) {
    let (o, a, x2) = asin_arg(m, d);
    let r = m.sqrt(x2);
    (o, m.sel(o, a, r), x2)
}

/// asin(d): SLEEF's `xasin` (3.5 ULP, plain doubles): `u = x + x x2 P(x2)` ([`asin_reduce`];
/// one `fma`) is asin(x), and asin(|d|) is `u` below 1/2, `pi/2 - 2u` from 1/2 on. Replaces
/// SLEEF's `xasin_u1`, whose double-double square root took 2.3x as long (BENCHMARKS.md).
pub(in crate::vmath) fn asin(m: &mut M, d: Value) -> Value {
    let (o, x, x2) = asin_reduce(m, d);
    let p = m.poly(x2, &ASIN);
    let xx2 = m.mul(x, x2);
    let u = m.fma(p, xx2, x);
    let k = m.c(-2.0);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let far = m.fma(u, k, h);
    let r = m.sel(o, u, far);
    m.mulsign(r, d)
}

/// acos(d): SLEEF's `xacos` (3.5 ULP, plain doubles): with `u = x x2 P(x2)`
/// ([`asin_reduce`]), `pi/2 - (x + u)` (signs of `d`) below 1/2, `2 (x + u)` from 1/2 on, and
/// `pi` minus that for negative `d`. Replaces SLEEF's `xacos_u1` (2.4x as long).
pub(in crate::vmath) fn acos(m: &mut M, d: Value) -> Value {
    let (o, x, x2) = asin_reduce(m, d);
    let p = m.poly(x2, &ASIN);
    let xx2 = m.mul(x2, x);
    let u = m.mul(p, xx2);
    let (r, flip) = acos_halves(m, d, o, x, u);
    let pi = m.c(std::f64::consts::PI);
    let pr = m.sub(pi, r);
    m.sel(flip, pr, r)
}

/// The common end of acos in both dtypes, given `x + u = asin(x)` ([`asin_reduce`]'s `x`):
/// `pi/2 - (x + u)` with the signs of `d` where `o` (|d| < 1/2), `2 (x + u)` elsewhere; and
/// the lanes whose result is pi minus that (negative `d` outside `o`).
pub(in crate::vmath) fn acos_halves(
    m: &mut M,
    d: Value,
    o: Value,
    x: Value,
    u: Value,
) -> (Value, Value) {
    let xs = m.mulsign(x, d);
    let us = m.mulsign(u, d);
    let s = m.add(xs, us);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let near = m.sub(h, s);
    let xu = m.add(x, u);
    let far = m.mul_c(xu, 2.0);
    let r = m.sel(o, near, far);
    let neg = m.lt_c(d, 0.0);
    (r, m.andnot(o, neg))
}

/// `isinf(d) ? copysign(1, d) | m : 0` bitwise, SLEEF's `visinf2`.
pub(in crate::vmath) fn isinf2(m: &mut M, d: Value, k: Value) -> Value {
    let inf = m.isinf(d);
    let db = m.bits(d);
    let sgn = m.c(-0.0);
    let sgn = m.bits(sgn);
    let s = m.and(db, sgn);
    let kb = m.bits(k);
    let o = m.or(s, kb);
    let r = m.and(inf, o);
    m.as_float(r)
}

/// atan2's signs and special values (SLEEF's `xatan2`): `r` is atan2(|y|, x) for ordinary
/// arguments; zeros, infinities and NaN get libm's answers.
pub(in crate::vmath) fn atan2_finish(m: &mut M, y: Value, x: Value, r: Value) -> Value {
    let r = m.mulsign(r, x);
    let half_pi = m.c(std::f64::consts::FRAC_PI_2);
    let xinf = m.isinf(x);
    let xz = m.eq_c(x, 0.0);
    let c = m.or(xinf, xz);
    let k = m.mulsign(half_pi, x);
    let k = isinf2(m, x, k);
    let v = m.sub(half_pi, k);
    let r = m.sel(c, v, r);
    let yinf = m.isinf(y);
    let q = m.c(std::f64::consts::FRAC_PI_4);
    let k = m.mulsign(q, x);
    let k = isinf2(m, x, k);
    let v = m.sub(half_pi, k);
    let r = m.sel(yinf, v, r);
    let yz = m.eq_c(y, 0.0);
    let sx = m.signbit(x);
    let pi = m.c(std::f64::consts::PI);
    let z = m.c(0.0);
    let v = m.sel(sx, pi, z);
    let r = m.sel(yz, v, r);
    let r = m.mulsign(r, y);
    let xn = m.isnan(x);
    let yn = m.isnan(y);
    let n = m.or(xn, yn);
    m.or_nan(n, r)
}
