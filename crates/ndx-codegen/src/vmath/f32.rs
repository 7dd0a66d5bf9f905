//! Native `f32x4` functions: the ones on hot paths (`exp`, `exp2`, `tanh`), where evaluating
//! in f64 would halve the throughput or worse. Everything else runs through the f64 code on
//! promoted lanes. `exp` and `exp2` are SLEEF's `xexpf`/`xexp2f` (1 ULP); `tanh` is
//! `e / (e + 2)` with `e = expm1(2|x|)` from the `expf` polynomial.

use super::{Fun, M};
use crate::CodegenError;
use cranelift_codegen::ir::Value;
use ndx_ir::kernel::UnaryOp;

const R_LN2: f64 = std::f64::consts::LOG2_E;
const L2U: f64 = 0.693_145_751_953_125;
const L2L: f64 = 1.428_606_765_330_187_045e-06;

/// e^s - 1 - s - s^2/2 over s^2, on [-ln2/2, ln2/2] (SLEEF's `expf` coefficients).
const EXPM1_POLY: [f64; 6] = [
    0.000_198_527_617_612_853_646_278_381,
    0.001_393_043_552_525_341_510_772_71,
    0.008_333_360_776_305_198_669_433_59,
    0.041_666_485_369_205_474_853_515_6,
    0.166_666_671_633_720_397_949_219,
    0.5,
];

/// True when `f` has native f32 code here.
pub(super) fn native(f: Fun) -> bool {
    matches!(f, Fun::Unary(UnaryOp::Exp | UnaryOp::Exp2 | UnaryOp::Tanh))
}

/// `f` on the `f32x4` value `x`.
pub(super) fn eval(m: &mut M, f: Fun, x: Value) -> Result<Value, CodegenError> {
    Ok(match f {
        Fun::Unary(UnaryOp::Exp) => exp(m, x),
        Fun::Unary(UnaryOp::Exp2) => exp2(m, x),
        Fun::Unary(UnaryOp::Tanh) => tanh(m, x),
        _ => {
            return Err(CodegenError::Internal(format!(
                "no native f32 code for {f:?}"
            )))
        }
    })
}

/// `x` clamped to [lo, hi] (NaN stays NaN).
fn clamp(m: &mut M, x: Value, lo: f64, hi: f64) -> Value {
    let l = m.lt_c(x, lo);
    let c = m.c(lo);
    let x = m.sel(l, c, x);
    let h = m.gt_c(x, hi);
    let c = m.c(hi);
    m.sel(h, c, x)
}

/// `(q, s)` with `x = q ln2 + s`, |s| <= ln2/2.
fn reduce_ln2(m: &mut M, x: Value) -> (Value, Value) {
    let q = m.mul_c(x, R_LN2);
    let q = m.rint(q);
    let k = m.c(-L2U);
    let s = m.fma(q, k, x);
    let k = m.c(-L2L);
    (q, m.fma(q, k, s))
}

/// e^d: SLEEF `xexpf`, with one scaling by 2^q when every lane's result is normal.
fn exp(m: &mut M, d: Value) -> Value {
    let lo = m.ge_c(d, -87.0);
    let hi = m.le_c(d, 88.0);
    let normal = m.and(lo, hi);
    let r = m.branch(
        normal,
        |m| {
            let (q, s) = reduce_ln2(m, d);
            let u = m.poly(s, &EXPM1_POLY);
            let s2 = m.mul(s, s);
            let u = m.fma(s2, u, s);
            let u = m.add_c(u, 1.0);
            let p = m.pow2i(q);
            vec![m.mul(u, p)]
        },
        |m| vec![exp_general(m, d)],
    );
    r[0]
}

/// e^d for any `d`: two-step scaling for subnormal results, clamps for the rest.
fn exp_general(m: &mut M, d: Value) -> Value {
    let x = clamp(m, d, -104.0, 100.0);
    let (q, s) = reduce_ln2(m, x);
    let u = m.poly(s, &EXPM1_POLY);
    let s2 = m.mul(s, s);
    let u = m.fma(s2, u, s);
    let u = m.add_c(u, 1.0);
    let u = m.ldexp2(u, q);
    // Below -104 even the smallest subnormal is out of reach; above 88.73 ldexp2 overflows.
    let lo = m.lt_c(d, -104.0);
    let u = m.zero_if(lo, u);
    let hi = m.gt_c(d, 100.0);
    let inf = m.c(f64::INFINITY);
    m.sel(hi, inf, u)
}

/// 2^d: SLEEF `xexp2f`.
fn exp2(m: &mut M, d: Value) -> Value {
    let x = clamp(m, d, -150.0, 130.0);
    let q = m.rint(x);
    let s = m.sub(x, q);
    let u = m.poly(
        s,
        &[
            0.153_592_089_2e-3,
            0.133_926_270_1e-2,
            0.961_838_476_4e-2,
            0.555_034_726_9e-1,
            0.240_226_447_6,
            0.693_147_182_5,
            1.0,
        ],
    );
    let u = m.ldexp2(u, q);
    let hi = m.ge_c(d, 128.0);
    let inf = m.c(f64::INFINITY);
    let u = m.sel(hi, inf, u);
    let lo = m.lt_c(d, -150.0);
    m.zero_if(lo, u)
}

/// tanh(x) = e / (e + 2), e = expm1(2|x|) = 2^q (expm1(s) + 1) - 1 with one `fma`.
fn tanh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let y = clamp(m, a, 0.0, 9.0);
    let z = m.add(y, y);
    let (q, s) = reduce_ln2(m, z);
    let u = m.poly(s, &EXPM1_POLY);
    let s2 = m.mul(s, s);
    let p = m.fma(s2, u, s);
    let t = m.pow2i(q);
    let tm1 = m.add_c(t, -1.0);
    let e = m.fma(t, p, tm1);
    let den = m.add_c(e, 2.0);
    let r = m.div(e, den);
    let big = m.gt_c(a, 8.664_339_742);
    let one = m.c(1.0);
    let r = m.sel(big, one, r);
    let r = m.mulsign(r, x);
    let n = m.isnan(x);
    m.or_nan(n, r)
}
