//! f64 code for f32 results: plain (not double-double) f64 evaluations, a few f64 ULP off,
//! which is far below half an f32 ULP, so the result rounded to f32 is as good as the 1-ULP
//! f64 function's at a fraction of the cost. Arguments are f32 values promoted to f64 (this
//! is relied on: `1 + x` is exact for |x| >= 2^-29, exponents stay within [-150, 128]).
//! Algorithms: SLEEF's 3.5-ULP `expm1k` for `sinh` (whose f32 code comes here for
//! |x| > 86.5), and `exp2` of `y log2|x|` (`xlog`'s core) for `pow`.

use super::{f64 as d, Fun, M};
use cranelift_codegen::ir::Value;
use ndx_ir::kernel::{BinaryOp, UnaryOp};

use ndx_runtime::ops::wide_math::consts64::{L2L, L2U, R_LN2};

/// True when `f` has a lite form here.
pub(super) fn has(f: Fun) -> bool {
    use UnaryOp as U;
    matches!(f, Fun::Unary(U::Sinh) | Fun::Binary(BinaryOp::Pow))
}

/// `f` on the f64x2 `x` (and `y`) holding promoted f32 values.
pub(super) fn eval(m: &mut M, f: Fun, x: Value, y: Option<Value>) -> Option<Value> {
    use UnaryOp as U;
    Some(match (f, y) {
        (Fun::Unary(U::Sinh), _) => sinh(m, x),
        (Fun::Binary(BinaryOp::Pow), Some(y)) => pow(m, x, y),
        _ => return None,
    })
}

/// `(e, l)` with `d = 2^e * m`, `l = ln(m)`, m in [0.75, 1.5), for positive finite `d`
/// (garbage elsewhere, for the caller's selects): SLEEF `xlog`'s core.
fn ln_parts(m: &mut M, dv: Value) -> (Value, Value) {
    let t = m.mul_c(dv, 1.0 / 0.75);
    let e = m.ilogb2k(t);
    let ne = m.neg(e);
    let mm = m.ldexp3(dv, ne);
    let num = m.add_c(mm, -1.0);
    let den = m.add_c(mm, 1.0);
    let x = m.div(num, den);
    let x2 = m.mul(x, x);
    let t = m.poly(
        x2,
        &[
            0.153_487_338_491_425_068_243_146,
            0.152_519_917_006_351_951_593_857,
            0.181_863_266_251_982_985_677_316,
            0.222_221_366_518_767_365_905_163,
            0.285_714_294_746_548_025_383_248,
            0.399_999_999_950_799_600_689_777,
            0.666_666_666_666_777_874_006_3,
        ],
    );
    let x3 = m.mul(x2, x);
    let two = m.c(2.0);
    let x2x = m.mul(x, two);
    (e, m.fma(x3, t, x2x))
}

/// |x|^y = 2^(y log2|x|); the product is within 2^-45 absolute for every |y log2|x|| < 150,
/// beyond which the f32 result overflows or underflows anyway.
fn pow(m: &mut M, x: Value, y: Value) -> Value {
    let a = m.abs(x);
    let (e, l) = ln_parts(m, a);
    let k = m.c(R_LN2);
    let lg = m.fma(l, k, e);
    let t = m.mul(y, lg);
    let r = d::exp2(m, t);
    d::pow_ordinary_or_finish(m, x, y, r)
}

/// e^d - 1 for |d| <= 100 without cancellation: SLEEF `expm1k`.
fn expm1k(m: &mut M, dv: Value) -> Value {
    let q = m.mul_c(dv, R_LN2);
    let q = m.rint(q);
    let k = m.c(-L2U);
    let s = m.fma(q, k, dv);
    let k = m.c(-L2L);
    let s = m.fma(q, k, s);
    let u = m.poly(
        s,
        &[
            2.088_606_211_072_836_875_363_41e-09,
            2.511_129_308_928_765_186_106_61e-08,
            2.755_739_112_349_004_718_933_38e-07,
            2.755_723_629_119_288_276_294_23e-06,
            2.480_158_715_923_547_299_879_1e-05,
            0.000_198_412_698_960_509_205_564_975,
            0.001_388_888_888_897_744_922_079_62,
            0.008_333_333_333_316_527_216_649_84,
            0.041_666_666_666_666_504_759_142_2,
            0.166_666_666_666_666_851_703_837,
        ],
    );
    let s2 = m.mul(s, s);
    let s3 = m.mul(s2, s);
    let p = m.mul(s3, u);
    let half = m.c(0.5);
    let p = m.fma(s2, half, p);
    let u = m.add(p, s);
    let u1 = m.add_c(u, 1.0);
    let big = m.ldexp2(u1, q);
    let big = m.add_c(big, -1.0);
    let q0 = m.eq_c(q, 0.0);
    m.sel(q0, u, big)
}

/// sinh(x) = (e + e / (e + 1)) / 2 with e = expm1(|x|): SLEEF `xsinh_u35`.
fn sinh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let big = m.gt_c(a, 100.0);
    let c = m.c(100.0);
    let v = m.sel(big, c, a);
    let e = expm1k(m, v);
    let e2 = m.add_c(e, 2.0);
    let e1 = m.add_c(e, 1.0);
    let y = m.div(e2, e1);
    let h = m.mul_c(e, 0.5);
    let y = m.mul(y, h);
    let y = m.mulsign(y, x);
    let n = m.isnan(x);
    m.or_nan(n, y)
}
