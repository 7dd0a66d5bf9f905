//! Native `f32x4` functions, where evaluating in f64 would halve the throughput or worse:
//! `exp`, `exp2`, `tanh`, `log`, `sin`, `cos`, `tan` here (the block programs' 512-bit code
//! repeats most of them bit for bit), the others in [`super::f32_ext`]. `exp` and `exp2` are
//! SLEEF's `xexpf`/`xexp2f` (1 ULP); `tanh` is `e / (e + 2)` with `e = expm1(2|x|)` from the
//! `expf` polynomial.

use super::{f32_ext, Fun, M};
use crate::CodegenError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use ndx_runtime::ops::pi_reduce::Unit;

// Shared with the 512-bit code that block programs call instead (same constants, same
// rounding to f32, so the same bits).
use ndx_runtime::ops::wide_math::consts::{
    EXP2_POLY, EXPM1_POLY, EXP_FAST, EXP_HI, EXP_LO, FRAC_1_PI, L2L, L2U, LN2, LOG_POLY, LOG_TINY,
    PI4, R_LN2, SIN_POLY, TANH_CLAMP, TAN_POLY, TRIG_FAST,
};

/// `f` on the `f32x4` value `x`.
pub(super) fn eval(m: &mut M, f: Fun, x: Value, y: Option<Value>) -> Result<Value, CodegenError> {
    Ok(match f {
        Fun::Unary(UnaryOp::Exp) => exp(m, x),
        Fun::Unary(UnaryOp::Exp2) => exp2(m, x),
        Fun::Unary(UnaryOp::Tanh) => tanh(m, x),
        Fun::Unary(UnaryOp::Log) => log(m, x),
        Fun::Unary(UnaryOp::Sin) => sin_cos(m, x, false)?,
        Fun::Unary(UnaryOp::Cos) => sin_cos(m, x, true)?,
        Fun::Unary(UnaryOp::Tan) => tan(m, x)?,
        Fun::Unary(UnaryOp::Log2) => f32_ext::log2(m, x),
        Fun::Unary(UnaryOp::Log10) => f32_ext::log10(m, x),
        Fun::Unary(UnaryOp::Log1p) => f32_ext::log1p(m, x),
        Fun::Unary(UnaryOp::Expm1) => f32_ext::expm1(m, x),
        Fun::Unary(UnaryOp::Sinh) => f32_ext::sinh(m, x),
        Fun::Unary(UnaryOp::Cosh) => f32_ext::cosh(m, x),
        Fun::Unary(UnaryOp::Arctan) => f32_ext::atan(m, x),
        Fun::Unary(UnaryOp::Arcsin) => f32_ext::asin(m, x),
        Fun::Unary(UnaryOp::Arccos) => f32_ext::acos(m, x),
        Fun::Unary(UnaryOp::Erf) => f32_ext::erf(m, x),
        Fun::Unary(UnaryOp::Cbrt) => f32_ext::cbrt(m, x),
        Fun::Binary(op @ (BinaryOp::Arctan2 | BinaryOp::Pow)) => {
            let y =
                y.ok_or_else(|| CodegenError::Internal(format!("{op:?} needs two operands")))?;
            if op == BinaryOp::Pow {
                f32_ext::pow(m, x, y)
            } else {
                f32_ext::atan2(m, x, y)
            }
        }
        _ => {
            return Err(CodegenError::Internal(format!(
                "no native f32 code for {f:?}"
            )))
        }
    })
}

/// `x` clamped to [lo, hi] (NaN stays NaN).
pub(super) fn clamp(m: &mut M, x: Value, lo: f64, hi: f64) -> Value {
    let l = m.lt_c(x, lo);
    let c = m.c(lo);
    let x = m.sel(l, c, x);
    let h = m.gt_c(x, hi);
    let c = m.c(hi);
    m.sel(h, c, x)
}

/// `(q, s, t)` with `x = q ln2 + s`, |s| <= ln2/2, and `t` the shifted bits of `q`
/// ([`M::round_shifted`]).
pub(super) fn reduce_ln2_shifted(m: &mut M, x: Value) -> (Value, Value, Value) {
    let (q, t) = m.round_shifted(x, R_LN2);
    let k = m.c(-L2U);
    let s = m.fma(q, k, x);
    let k = m.c(-L2L);
    (q, m.fma(q, k, s), t)
}

/// e^d: SLEEF `xexpf`'s polynomial. Where every lane's result is normal (|d| <= 86.5) the
/// scaling by 2^q is one integer add to the exponent field; a vector with a lane outside (or
/// NaN, which the integer add would not keep) takes [`exp_general`] in a cold block.
fn exp(m: &mut M, d: Value) -> Value {
    let fast = exp_fast(m, d);
    let a = m.abs(d);
    let rare = m.ugt_c(a, EXP_FAST);
    m.unless_rare(rare, fast, |m| exp_general(m, d))
}

/// e^d for |d| <= [`EXP_FAST`] (not NaN): `exp`'s fast path, 2^q (1 + expm1(s)) with the
/// scaling as one integer add to the exponent field.
pub(super) fn exp_fast(m: &mut M, d: Value) -> Value {
    let (_, s, t) = reduce_ln2_shifted(m, d);
    let u = m.poly(s, &EXPM1_POLY);
    let s2 = m.mul(s, s);
    let u = m.fma(s2, u, s);
    let u = m.add_c(u, 1.0);
    m.scale_bits(u, t)
}

/// [`EXPM1_POLY`] at `s` (with `s2 = s * s`) in Estrin's form,
/// (c0 + c1 s) + s^2 ((c2 + c3 s) + c4 s^2): a shorter dependency chain than Horner's rule,
/// which pays in `tanh` (a long chain ending in a division); `exp`, throughput-bound, keeps
/// Horner's rule (and its exhaustively checked rounding).
fn expm1_poly(m: &mut M, s: Value, s2: Value) -> Value {
    let [c4, c3, c2, c1, c0] = EXPM1_POLY;
    let k = m.c(c1);
    let c0v = m.c(c0);
    let lo = m.fma(s, k, c0v);
    let k = m.c(c3);
    let c2v = m.c(c2);
    let hi = m.fma(s, k, c2v);
    let k = m.c(c4);
    let hi = m.fma(s2, k, hi);
    m.fma(s2, hi, lo)
}

/// e^d for any `d`: two-step scaling for subnormal results, clamps for the rest. On the fast
/// path's lanes it gives the fast path's bits (the same rounding of `x / ln2`, and scalings by
/// powers of two that are exact there), so which lanes share a vector never matters.
pub(super) fn exp_general(m: &mut M, d: Value) -> Value {
    let x = clamp(m, d, EXP_LO, EXP_HI);
    let (q, s, _) = reduce_ln2_shifted(m, x);
    let u = m.poly(s, &EXPM1_POLY);
    let s2 = m.mul(s, s);
    let u = m.fma(s2, u, s);
    let u = m.add_c(u, 1.0);
    let u = m.ldexp2(u, q);
    // Below -104 even the smallest subnormal is out of reach; above 88.73 ldexp2 overflows.
    let lo = m.lt_c(d, EXP_LO);
    let u = m.zero_if(lo, u);
    let hi = m.gt_c(d, EXP_HI);
    let inf = m.c(f64::INFINITY);
    m.sel(hi, inf, u)
}

/// 2^d: SLEEF `xexp2f`.
fn exp2(m: &mut M, d: Value) -> Value {
    let x = clamp(m, d, -150.0, 130.0);
    let q = m.rint(x);
    let s = m.sub(x, q);
    let u = m.poly(s, &EXP2_POLY);
    let u = m.ldexp2(u, q);
    let hi = m.ge_c(d, 128.0);
    let inf = m.c(f64::INFINITY);
    let u = m.sel(hi, inf, u);
    let lo = m.lt_c(d, -150.0);
    m.zero_if(lo, u)
}

/// tanh(x) = e / (e + 2), e = expm1(2|x|) = 2^q (expm1(s) + 1) - 1 with one `fma`. |x| is
/// clamped to 9.02, beyond which e / (e + 2) rounds to 1 as tanh does; NaN propagates
/// through every step (the clamp keeps NaN lanes).
fn tanh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let y = m.min_c(a, TANH_CLAMP);
    let z = m.add(y, y);
    let (_, s, tb) = reduce_ln2_shifted(m, z);
    let s2 = m.mul(s, s);
    let u = expm1_poly(m, s, s2);
    let p = m.fma(s2, u, s);
    let one = m.c(1.0);
    let t = m.scale_bits(one, tb);
    let tm1 = m.add_c(t, -1.0);
    let tp1 = m.add_c(t, 1.0);
    // e = expm1(2|x|) and e + 2, each rounded once, side by side.
    let e = m.fma(t, p, tm1);
    let den = m.fma(t, p, tp1);
    let r = m.div(e, den);
    m.mulsign(r, x)
}

/// ln(d): SLEEF's `xlogf` in `f32` arithmetic (3.5 ULP in SLEEF's tables; 4 here, checked on
/// every input, see BENCHMARKS.md): d = 2^e m with m in [0.75, 1.5), x = (m - 1) / (m + 1),
/// ln(d) = e ln2 + x P(x^2). Subnormal `d` is scaled by 2^64 first; zeros, negatives,
/// infinities and NaN get libm's answers from the f64 code's special-value rules.
fn log(m: &mut M, d: Value) -> Value {
    let (e, x) = log_parts(m, d, 0.75);
    let x2 = m.mul(x, x);
    let p = m.poly(x2, &LOG_POLY);
    let el = m.mul_c(e, LN2);
    let r = m.fma(x, p, el);
    super::f64::log_specials(m, d, r)
}

/// `(e, x)` with `d = 2^e m`, `m` in [lo, 2 lo), `x = (m - 1) / (m + 1)`, so that
/// ln(d) = e ln2 + x P(x^2) with [`LOG_POLY`] (|x| <= 0.2 for `lo` from 1/sqrt(2) to 0.75).
pub(super) fn log_parts(m: &mut M, d: Value, lo: f64) -> (Value, Value) {
    let (e, mm) = m.split_exponent_at(d, LOG_TINY, lo);
    let num = m.add_c(mm, -1.0);
    let den = m.add_c(mm, 1.0);
    (e, m.div(num, den))
}

/// `(d, q as integers)` with `d = x - q * unit * pi` by the four-part reduction ([`PI4`]),
/// exact for the integer-valued `q` of |x| <= [`TRIG_FAST`] (`unit`: 1 or 1/2). The lanes
/// beyond (or not finite) are reduced by [`M::pi_reduce`] instead, in a cold block, as
/// `ndx_runtime::ops::pi_reduce::sin_cos_f32`/`tan_f32` do: only the low bits of `q` are
/// kept, and infinities and NaN get a NaN `d`.
fn reduce_pi(m: &mut M, x: Value, q: Value, large: Unit) -> Result<(Value, Value), CodegenError> {
    // q counts multiples of pi for sin, of pi/2 for cos (odd ones) and tan.
    let unit = if large == Unit::Pi { 1.0 } else { 0.5 };
    let mut d = x;
    for part in PI4 {
        let k = m.c(-part * unit);
        d = m.fma(q, k, d);
    }
    let qi = m.int_of(q);
    let a = m.abs(x);
    let rare = m.ugt_c(a, TRIG_FAST);
    let [d, q] = m.try_unless_rare(rare, [d, qi], |m| {
        let big = m.pi_reduce(x, large)?;
        Ok([m.sel(rare, big.hi, d), m.sel(rare, big.q, qi)])
    })?;
    Ok((d, q))
}

/// `e + s e P(s)` with `e` the reduced argument `d` (of square `s`) with its sign bit flipped
/// by `flip`: the odd polynomial of sin, cos and tan.
fn odd_poly(m: &mut M, d: Value, s: Value, flip: Value, poly: &[f64]) -> Value {
    let db = m.bits(d);
    let db = m.xor(db, flip);
    let e = m.as_float(db);
    let u = m.poly(s, poly);
    let ue = m.mul(u, e);
    m.fma(s, ue, e)
}

/// sin(x) (or cos(x) with `cos`): SLEEF's `xsinf`/`xcosf` in `f32` arithmetic. x = q pi/2
/// (cos: an odd multiple) + d with a four-part Cody-Waite reduction, then an odd polynomial in
/// d with the sign of the quadrant. Lanes beyond [`TRIG_FAST`] are reduced by
/// Payne-Hanek ([`reduce_pi`]).
fn sin_cos(m: &mut M, x: Value, cos: bool) -> Result<Value, CodegenError> {
    let one_pi = FRAC_1_PI;
    let q = if cos {
        // q = 1 + 2 rint(x / pi - 1/2): an odd multiple of pi/2.
        let t = m.mul_c(x, one_pi);
        let t = m.add_c(t, -0.5);
        let r = m.rint(t);
        let two = m.c(2.0);
        let one = m.c(1.0);
        m.fma(r, two, one)
    } else {
        let t = m.mul_c(x, one_pi);
        m.rint(t)
    };
    let (d, qi) = reduce_pi(m, x, q, if cos { Unit::PiOffset } else { Unit::Pi })?;
    let s = m.mul(d, d);
    // sin: negate for odd q; cos: for q = 1 mod 4 (bit 1 of q clear).
    let flip = if cos {
        let two = m.ci(2);
        let bit = m.andnot(qi, two);
        m.b.ins().ishl_imm_s(bit, 30)
    } else {
        m.b.ins().ishl_imm_s(qi, 31)
    };
    let r = odd_poly(m, d, s, flip, &SIN_POLY);
    let r = if cos {
        r
    } else {
        let nz = m.isnegzero(x);
        let z = m.c(-0.0);
        m.sel(nz, z, r)
    };
    Ok(r)
}

/// tan(x): SLEEF's `xtanf` in `f32` arithmetic. x = q pi/2 + d with the four-part reduction of
/// [`sin_cos`], tan(d) by an odd polynomial, negated and inverted for odd q (tan(d + pi/2) =
/// -1/tan(d)). Lanes beyond [`TRIG_FAST`] are reduced by Payne-Hanek ([`reduce_pi`]).
fn tan(m: &mut M, x: Value) -> Result<Value, CodegenError> {
    let t = m.mul_c(x, 2.0 * FRAC_1_PI);
    let q = m.rint(t);
    let (d, qi) = reduce_pi(m, x, q, Unit::HalfPi)?;
    let s = m.mul(d, d);
    let flip = m.b.ins().ishl_imm_s(qi, 31);
    let u = odd_poly(m, d, s, flip, &TAN_POLY);
    let one = m.c(1.0);
    let inv = m.div(one, u);
    let low = m.ci(1);
    let bit = m.and(qi, low);
    let zero = m.ci(0);
    let odd = m.b.ins().icmp(IntCC::NotEqual, bit, zero);
    let r = m.sel(odd, inv, u);
    // -0: q = rint(-0) is -0, and the reduction's q * -pi adds +0 to it.
    let nz = m.isnegzero(x);
    let z = m.c(-0.0);
    Ok(m.sel(nz, z, r))
}
