//! The f64 functions (`f64x2`), ported from SLEEF's 1-ULP (`_u1`/`u10`) double-precision
//! code. Also used for f32 through promoted lanes, so every function clamps its argument
//! before any exponent arithmetic: integer views never see a value out of their range.

use super::{D2, M};
use crate::CodegenError;
use cranelift_codegen::ir::Value;

const R_LN2: f64 = std::f64::consts::LOG2_E;
const L2U: f64 = 0.693_147_180_559_662_956_511_601_805_686_950_683_593_75;
const L2L: f64 = 0.282_352_905_630_315_771_225_884_481_750_134_360_255_254_120_68e-12;
const LOG_DBL_MAX: f64 = 709.782_712_893_384;
const DBL_MIN: f64 = f64::MIN_POSITIVE;
const LN2_DD: (f64, f64) = (
    std::f64::consts::LN_2,
    2.319_046_813_846_299_558_417_771e-17,
);
const M_1_PI: f64 = std::f64::consts::FRAC_1_PI;
const PI_A: f64 = 3.141_592_621_803_283_691_4;
const PI_B: f64 = 3.178_650_942_459_171_346_9e-08;
const PI_C: f64 = 1.224_646_786_410_718_850_2e-16;
const PI_D: f64 = 1.273_663_432_702_189_981_6e-24;
const PI_A2: f64 = std::f64::consts::PI;
const PI_B2: f64 = 1.224_646_799_147_353_207_2e-16;
/// Below this, the two-constant reduction of sin/cos/tan is exact enough.
const TRIG_SMALL: f64 = 15.0;
/// Beyond this, the argument goes to the libm host function (Payne-Hanek territory).
const TRIG_MAX: f64 = 1e14;
const P2_24: f64 = 16_777_216.0;

/// exp(d): SLEEF `xexp`.
pub(super) fn exp(m: &mut M, d: Value) -> Value {
    exp_scaled(m, d, 0.0)
}

/// e^d * 2^pow2 for a small integer `pow2` (`exp`: 0; cosh uses -1 to reach e^d / 2
/// without overflowing first).
pub(super) fn exp_scaled(m: &mut M, d: Value, pow2: f64) -> Value {
    let lo = m.lt_c(d, -1000.0);
    let c = m.c(-1000.0);
    let x = m.sel(lo, c, d);
    let hi = m.gt_c(x, 711.0);
    let c = m.c(711.0);
    let x = m.sel(hi, c, x);
    let q = m.mul_c(x, R_LN2);
    let q = m.rint(q);
    let k = m.c(-L2U);
    let s = m.fma(q, k, x);
    let k = m.c(-L2L);
    let s = m.fma(q, k, s);
    let u = m.poly(
        s,
        &[
            0.208_127_637_823_716_445_7e-8,
            0.251_121_070_304_228_802_2e-7,
            0.275_576_262_816_949_119_2e-6,
            0.275_572_340_202_538_823_9e-5,
            0.248_015_868_747_968_626_4e-4,
            0.198_412_698_985_586_585e-3,
            0.138_888_888_891_449_779_7e-2,
            0.833_333_333_331_493_821e-2,
            0.416_666_666_666_660_259_8e-1,
            0.166_666_666_666_666_907_2,
            0.5,
            1.0,
            1.0,
        ],
    );
    let qk = m.add_c(q, pow2);
    let u = m.ldexp2(u, qk);
    let over = m.gt_c(d, LOG_DBL_MAX - pow2 * std::f64::consts::LN_2);
    let inf = m.c(f64::INFINITY);
    m.sel(over, inf, u)
}

/// 2^d: SLEEF `xexp2`.
pub(super) fn exp2(m: &mut M, d: Value) -> Value {
    let lo = m.lt_c(d, -2000.0);
    let c = m.c(-2000.0);
    let x = m.sel(lo, c, d);
    let hi = m.gt_c(x, 1030.0);
    let c = m.c(1030.0);
    let x = m.sel(hi, c, x);
    let q = m.rint(x);
    let s = m.sub(x, q);
    let u = m.poly(
        s,
        &[
            0.443_435_908_292_652_945_4e-9,
            0.707_316_459_808_570_742_5e-8,
            0.101_781_926_092_176_045_1e-6,
            0.132_154_387_251_132_761_5e-5,
            0.152_527_335_351_758_473e-4,
            0.154_035_304_510_114_780_8e-3,
            0.133_335_581_467_049_907_3e-2,
            0.961_812_910_759_760_053_6e-2,
            0.555_041_086_648_204_659_6e-1,
            0.240_226_506_959_101_221_4,
            std::f64::consts::LN_2,
            1.0,
        ],
    );
    let u = m.ldexp2(u, q);
    let over = m.ge_c(d, 1024.0);
    let inf = m.c(f64::INFINITY);
    let u = m.sel(over, inf, u);
    m.zero_if(lo, u)
}

/// e^d as a double-double, for `d` in [-1000, 720]: SLEEF `expk2`.
fn expk2(m: &mut M, d: D2) -> D2 {
    let u = m.d2v(d);
    let u = m.mul_c(u, R_LN2);
    let q = m.rint(u);
    let a = m.mul_c(q, -L2U);
    let s = m.dd_add2_d2_d(d, a);
    let a = m.mul_c(q, -L2L);
    let s = m.dd_add2_d2_d(s, a);
    let s2 = m.dd_squ(s);
    let s4 = m.dd_squ(s2);
    let u = m.poly(
        s.x,
        &[
            0.160_247_221_970_993_207_2e-9,
            0.209_225_518_356_315_700_7e-8,
            0.250_523_002_378_264_446_5e-7,
            0.275_572_480_090_213_530_3e-6,
            0.275_573_189_238_604_437_3e-5,
            0.248_015_873_560_581_506_5e-4,
            0.198_412_698_414_807_185_8e-3,
            0.138_888_888_888_676_325_5e-2,
            0.833_333_333_333_334_709_5e-2,
            0.416_666_666_666_666_990_5e-1,
        ],
    );
    let k = m.c(0.166_666_666_666_666_657_4);
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
fn expk(m: &mut M, d: D2) -> Value {
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
    let u = m.poly(
        s.x,
        &[
            2.510_696_834_209_504_195_271_39e-08,
            2.762_861_667_702_706_491_168_55e-07,
            2.755_724_967_250_235_741_438_64e-06,
            2.480_149_739_898_197_941_141_53e-05,
            0.000_198_412_698_809_069_797_676_111,
            0.001_388_888_893_997_712_896_052_9,
            0.008_333_333_333_323_714_176_010_81,
            0.041_666_666_666_540_952_412_844_9,
            0.166_666_666_666_666_740_681_535,
            0.500_000_000_000_000_999_200_722,
        ],
    );
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
pub(super) fn expm1(m: &mut M, a: Value) -> Value {
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
    let over = m.gt_c(a, 709.782_712_893_383_996_732_223);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(over, inf, r);
    let under = m.lt_c(a, -36.736_800_569_677_101_399_113_302_437);
    let r = m.sel(under, minus, r);
    let nz = m.isnegzero(a);
    let z = m.c(-0.0);
    m.sel(nz, z, r)
}

/// The reduction shared by the logarithms: `d = 2^e * m` with `m` in [0.75, 1.5), and
/// `x = (m - 1) / (m + 1)` as a double-double. Returns `(e, x)`.
fn log_reduce(m: &mut M, d: Value) -> (Value, D2) {
    let o = m.lt_c(d, DBL_MIN);
    let scaled = m.mul_c(d, 2f64.powi(64));
    let d = m.sel(o, scaled, d);
    let t = m.mul_c(d, 1.0 / 0.75);
    let e = m.ilogb2k(t);
    let ne = m.neg(e);
    let mm = m.ldexp3(d, ne);
    let adj = m.sel_c(o, 64.0, 0.0);
    let e = m.sub(e, adj);
    let minus = m.c(-1.0);
    let one = m.c(1.0);
    let n = m.dd_add2_d_d(minus, mm);
    let dd = m.dd_add2_d_d(one, mm);
    (e, m.dd_div(n, dd))
}

/// The special cases of the logarithms: +inf for +inf, NaN below 0 and for NaN, -inf at 0.
pub(super) fn log_specials(m: &mut M, d: Value, r: Value) -> Value {
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

const LOG_U1: [f64; 7] = [
    0.153_207_698_850_270_135_3,
    0.152_562_905_100_342_871_6,
    0.181_860_593_293_778_599_6,
    0.222_221_451_983_938_000_9,
    0.285_714_293_279_429_931_7,
    0.399_999_999_963_525_199,
    0.666_666_666_666_733_354_1,
];

/// ln(d): SLEEF `xlog_u1`.
pub(super) fn log(m: &mut M, d: Value) -> Value {
    let (e, x) = log_reduce(m, d);
    let x2 = m.mul(x.x, x.x);
    let t = m.poly(x2, &LOG_U1);
    let ln2 = m.d2c(LN2_DD.0, LN2_DD.1);
    let s = m.dd_mul_d2_d(ln2, e);
    let x2s = m.d2scale(x, 2.0);
    let s = m.dd_add(s, x2s);
    let p = m.mul(x2, x.x);
    let p = m.mul(p, t);
    let s = m.dd_add_d2_d(s, p);
    let r = m.d2v(s);
    log_specials(m, d, r)
}

/// log2(d): SLEEF `xlog2`.
pub(super) fn log2(m: &mut M, d: Value) -> Value {
    let (e, x) = log_reduce(m, d);
    let x2 = m.mul(x.x, x.x);
    let t = m.poly(
        x2,
        &[
            0.221_194_175_045_608_149,
            0.220_076_869_315_227_768_9,
            0.262_370_805_748_851_465_6,
            0.320_597_747_794_449_550_2,
            0.412_198_594_548_532_470_9,
            0.577_078_016_299_705_898_2,
            0.961_796_693_926_080_914_49,
        ],
    );
    let k = m.d2c(2.885_390_081_777_926_774, 6.056_160_499_551_673_643_4e-18);
    let xk = m.dd_mul(x, k);
    let s = m.dd_add2_d_d2(e, xk);
    let p = m.mul(x2, x.x);
    let p = m.mul(p, t);
    let s = m.dd_add2_d2_d(s, p);
    let r = m.d2v(s);
    log_specials(m, d, r)
}

/// log10(d): SLEEF `xlog10`.
pub(super) fn log10(m: &mut M, d: Value) -> Value {
    let (e, x) = log_reduce(m, d);
    let x2 = m.mul(x.x, x.x);
    let t = m.poly(
        x2,
        &[
            0.665_372_581_957_675_846e-1,
            0.662_572_278_282_083_371_2e-1,
            0.789_810_521_431_394_407_8e-1,
            0.965_095_503_571_527_513_2e-1,
            0.124_084_140_972_144_499_3,
            0.173_717_792_745_460_508_6,
            0.289_529_654_602_197_261_7,
        ],
    );
    let l = m.d2c(std::f64::consts::LOG10_2, -2.803_728_127_785_170_339e-18);
    let s = m.dd_mul_d2_d(l, e);
    let k = m.d2c(
        0.868_588_963_806_503_633_34,
        1.143_005_969_409_638_931_1e-17,
    );
    let xk = m.dd_mul(x, k);
    let s = m.dd_add(s, xk);
    let p = m.mul(x2, x.x);
    let p = m.mul(p, t);
    let s = m.dd_add_d2_d(s, p);
    let r = m.d2v(s);
    log_specials(m, d, r)
}

/// ln(1 + d): SLEEF `xlog1p`, with arguments beyond 1e307 scaled by 2^-64 (where
/// log1p(d) = log(d) to far below an ULP) instead of a second evaluation through `log`.
pub(super) fn log1p(m: &mut M, d0: Value) -> Value {
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
    let ln2 = m.d2c(LN2_DD.0, LN2_DD.1);
    let s = m.dd_mul_d2_d(ln2, e);
    let n = m.d2(mm);
    let two = m.c(2.0);
    let den = m.dd_add_d_d(two, mm);
    let x = m.dd_div(n, den);
    let x2 = m.mul(x.x, x.x);
    let t = m.poly(x2, &LOG_U1);
    let x2s = m.d2scale(x, 2.0);
    let s = m.dd_add(s, x2s);
    let p = m.mul(x2, x.x);
    let p = m.mul(p, t);
    let s = m.dd_add_d2_d(s, p);
    let r = m.d2v(s);
    let pinf = m.eq_c(d0, f64::INFINITY);
    let inf = m.c(f64::INFINITY);
    let r = m.sel(pinf, inf, r);
    let below = m.lt_c(d0, -1.0);
    let nan = m.isnan(d0);
    let bad = m.or(below, nan);
    let r = m.or_nan(bad, r);
    let at = m.eq_c(d0, -1.0);
    let ninf = m.c(f64::NEG_INFINITY);
    let r = m.sel(at, ninf, r);
    let nz = m.isnegzero(d0);
    let z = m.c(-0.0);
    m.sel(nz, z, r)
}

/// The lanes where sin/cos/tan leave the vector code for libm: finite and |d| >= 1e14.
fn trig_rare(m: &mut M, d: Value) -> Value {
    let a = m.abs(d);
    let big = m.ge_c(a, TRIG_MAX);
    let fin = m.lt_c(a, f64::INFINITY);
    m.and(big, fin)
}

/// sin/cos core: the polynomial on the reduced double-double `x`.
fn sincos_poly(m: &mut M, x: D2) -> Value {
    let s = m.dd_squ(x);
    let u = m.poly(
        s.x,
        &[
            2.720_524_161_385_295_679_179_83e-15,
            -7.642_925_941_139_544_719_002_3e-13,
            1.605_893_701_172_778_962_116_23e-10,
            -2.505_210_681_484_312_335_936_8e-08,
            2.755_731_921_044_282_247_773_79e-06,
            -0.000_198_412_698_412_046_454_654_947,
            0.008_333_333_333_333_180_562_019_22,
        ],
    );
    let us = m.mul(u, s.x);
    let c = m.c(-0.166_666_666_666_666_657_414_808);
    let a = m.dd_add_d_d(c, us);
    let a = m.dd_mul(a, s);
    let one = m.c(1.0);
    let a = m.dd_add_d_d2(one, a);
    m.dd_mul_v(x, a)
}

/// The Cody-Waite reduction of sin/cos/tan for |d| < 1e14 with pi split in four
/// (`PI_A..PI_D`), `dqh` the multiple of `2^24 * unit` and `dql` the rest: returns `x`.
fn reduce4(m: &mut M, d: Value, dqh: Value, dql: Value, scale: f64) -> D2 {
    let k = m.c(-PI_A * scale);
    let u = m.fma(dqh, k, d);
    let a = m.mul_c(dql, -PI_A * scale);
    let s = m.dd_add2_d_d(u, a);
    let a = m.mul_c(dqh, -PI_B * scale);
    let s = m.dd_add2_d2_d(s, a);
    let a = m.mul_c(dql, -PI_B * scale);
    let s = m.dd_add2_d2_d(s, a);
    let a = m.mul_c(dqh, -PI_C * scale);
    let s = m.dd_add2_d2_d(s, a);
    let a = m.mul_c(dql, -PI_C * scale);
    let s = m.dd_add2_d2_d(s, a);
    let q = m.add(dqh, dql);
    let a = m.mul_c(q, -PI_D * scale);
    m.dd_add_d2_d(s, a)
}

/// sin(d): SLEEF `xsin_u1`; lanes with |d| >= 1e14 through libm.
pub(super) fn sin(m: &mut M, d: Value) -> Result<Value, CodegenError> {
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
            let x = reduce4(m, d, dqh, dql, 1.0);
            vec![x.x, x.y, dql]
        },
    );
    let (x, q) = (D2 { x: r[0], y: r[1] }, r[2]);
    let u = sincos_poly(m, x);
    let odd = m.isodd(q);
    let flip = m.sel_c(odd, -0.0, 0.0);
    let u = m.mulsign(u, flip);
    let z = m.eq_c(d, 0.0);
    let u = m.sel(z, d, u);
    let inf = m.isinf(d);
    let u = m.or_nan(inf, u);
    let rare = trig_rare(m, d);
    m.rare_lanes(rare, u, d, "ndx_sin_f64")
}

/// cos(d): SLEEF `xcos_u1`; lanes with |d| >= 1e14 through libm.
pub(super) fn cos(m: &mut M, d: Value) -> Result<Value, CodegenError> {
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
            let x = reduce4(m, d, dqh, dql, 0.5);
            vec![x.x, x.y, dql]
        },
    );
    let (x, q) = (D2 { x: r[0], y: r[1] }, r[2]);
    let u = sincos_poly(m, x);
    // q is odd; the sign flips when (q & 2) == 0, i.e. (q - 1) / 2 is even.
    let k = m.add_c(q, -1.0);
    let k = m.mul_c(k, 0.5);
    let odd = m.isodd(k);
    let flip = m.sel_c(odd, 0.0, -0.0);
    let u = m.mulsign(u, flip);
    let inf = m.isinf(d);
    let u = m.or_nan(inf, u);
    let rare = trig_rare(m, d);
    m.rare_lanes(rare, u, d, "ndx_cos_f64")
}

/// tan(d): SLEEF `xtan_u1`; lanes with |d| >= 1e14 through libm.
pub(super) fn tan(m: &mut M, d: Value) -> Result<Value, CodegenError> {
    let a = m.abs(d);
    let small = m.lt_c(a, TRIG_SMALL);
    let r = m.branch(
        small,
        |m| {
            let q = m.mul_c(d, 2.0 * M_1_PI);
            let q = m.rint(q);
            let k = m.c(-PI_A2 * 0.5);
            let u = m.fma(q, k, d);
            let b = m.mul_c(q, -PI_B2 * 0.5);
            let s = m.dd_add_d_d(u, b);
            vec![s.x, s.y, q]
        },
        |m| {
            let h = m.mul_c(d, 2.0 * M_1_PI / P2_24);
            let h = m.trunc(h);
            let dqh = m.mul_c(h, P2_24);
            let k = m.d2c(
                std::f64::consts::FRAC_2_PI,
                -3.935_735_335_036_497_176_4e-17,
            );
            let p = m.dd_mul_d2_d(k, d);
            let neg = m.lt_c(d, 0.0);
            let half = m.sel_c(neg, -0.5, 0.5);
            let off = m.sub(half, dqh);
            let x = m.dd_add2_d2_d(p, off);
            let v = m.d2v(x);
            let dql = m.trunc(v);
            let x = reduce4(m, d, dqh, dql, 0.5);
            vec![x.x, x.y, dql]
        },
    );
    let (s, q) = (D2 { x: r[0], y: r[1] }, r[2]);
    let t = m.d2scale(s, 0.5);
    let s = m.dd_squ(t);
    let u = m.poly(
        s.x,
        &[
            0.324_509_882_663_927_631_6e-3,
            0.561_921_973_811_432_373_5e-3,
            0.146_078_150_240_278_449_4e-2,
            0.359_161_154_079_249_951_9e-2,
            0.886_326_840_956_311_312_6e-2,
            0.218_694_872_818_553_549_8e-1,
            0.539_682_539_951_727_297e-1,
            0.133_333_333_333_050_058_1,
            0.333_333_333_333_334_369_5,
        ],
    );
    let st = m.dd_mul(s, t);
    let p = m.dd_mul_d2_d(st, u);
    let x = m.dd_add(t, p);
    let xx = m.dd_squ(x);
    let minus = m.c(-1.0);
    let y = m.dd_add_d_d2(minus, xx);
    let x = m.d2scale(x, -2.0);
    let o = m.isodd(q);
    let ny = m.d2neg(y);
    let n = m.d2sel(o, ny, x);
    let den = m.d2sel(o, x, y);
    let x = m.dd_div(n, den);
    let u = m.d2v(x);
    let z = m.eq_c(d, 0.0);
    let u = m.sel(z, d, u);
    let inf = m.isinf(d);
    let u = m.or_nan(inf, u);
    let rare = trig_rare(m, d);
    m.rare_lanes(rare, u, d, "ndx_tan_f64")
}

const ASIN: [f64; 12] = [
    0.316_158_765_065_393_462_8e-1,
    -0.158_191_824_332_999_664_3e-1,
    0.192_904_547_726_791_067_4e-1,
    0.660_607_747_627_717_061e-2,
    0.121_536_052_557_737_733_1e-1,
    0.138_871_518_450_160_921_8e-1,
    0.173_595_699_122_361_460_4e-1,
    0.223_717_618_193_204_834_1e-1,
    0.303_819_592_803_813_223_7e-1,
    0.446_428_568_137_710_243_8e-1,
    0.750_000_000_037_858_161_1e-1,
    0.166_666_666_666_649_754_3,
];

/// The common part of asin/acos: `(o, x2, x, u)` with `o` = |d| < 0.5.
fn asin_core(m: &mut M, d: Value) -> (Value, D2, Value) {
    let a = m.abs(d);
    let o = m.lt_c(a, 0.5);
    let sq = m.mul(d, d);
    let one = m.c(1.0);
    let h = m.sub(one, a);
    let h = m.mul_c(h, 0.5);
    let x2 = m.sel(o, sq, h);
    let ax = m.d2(a);
    let r = m.dd_sqrt_d(x2);
    let x = m.d2sel(o, ax, r);
    let is1 = m.eq_c(a, 1.0);
    let z = m.d2c(0.0, 0.0);
    let x = m.d2sel(is1, z, x);
    let u = m.poly(x2, &ASIN);
    let p = m.mul(x2, x.x);
    let u = m.mul(u, p);
    (o, x, u)
}

/// asin(d): SLEEF `xasin_u1`.
pub(super) fn asin(m: &mut M, d: Value) -> Value {
    let (o, x, u) = asin_core(m, d);
    let q = m.d2c(
        std::f64::consts::FRAC_PI_4,
        1.224_646_799_147_353_207_2e-16 / 4.0,
    );
    let y = m.dd_sub(q, x);
    let y = m.dd_sub_d2_d(y, u);
    let small = m.add(u, x.x);
    let big = m.d2v(y);
    let big = m.mul_c(big, 2.0);
    let r = m.sel(o, small, big);
    m.mulsign(r, d)
}

/// acos(d): SLEEF `xacos_u1`.
pub(super) fn acos(m: &mut M, d: Value) -> Value {
    let (o, x, u) = asin_core(m, d);
    let h = m.d2c(
        std::f64::consts::FRAC_PI_2,
        1.224_646_799_147_353_207_2e-16 / 2.0,
    );
    let xs = m.mulsign(x.x, d);
    let us = m.mulsign(u, d);
    let a = m.dd_add_d_d(xs, us);
    let y = m.dd_sub(h, a);
    let x = m.dd_add_d2_d(x, u);
    let x2 = m.d2scale(x, 2.0);
    let y = m.d2sel(o, y, x2);
    let neg = m.lt_c(d, 0.0);
    let flip = m.andnot(o, neg);
    let pi = m.d2c(std::f64::consts::PI, 1.224_646_799_147_353_207_2e-16);
    let r = m.dd_sub(pi, y);
    let y = m.d2sel(flip, r, y);
    m.d2v(y)
}

/// atan2(y, x) for y >= 0 as a double-double: SLEEF `atan2k_u1`.
fn atan2k(m: &mut M, y: D2, x: D2) -> D2 {
    let p = m.lt_c(x.x, 0.0);
    let q = m.sel_c(p, -2.0, 0.0);
    let nx = m.d2neg(x);
    let x = m.d2sel(p, nx, x);
    let p = m.lt(x.x, y.x);
    let q1 = m.add_c(q, 1.0);
    let q = m.sel(p, q1, q);
    let nx = m.d2neg(x);
    let s = m.d2sel(p, nx, y);
    let t = m.d2sel(p, y, x);
    let s = m.dd_div(s, t);
    let t = m.dd_squ(s);
    let t = m.d2normalize(t);
    let u = m.poly(
        t.x,
        &[
            1.062_984_841_914_487_466_074_15e-05,
            -0.000_125_620_649_967_286_867_384_336,
            0.000_705_576_642_963_934_123_897_74,
            -0.002_518_656_144_987_133_603_529_99,
            0.006_462_628_990_369_911_723_135_04,
            -0.012_828_133_366_339_903_101_427_4,
            0.020_802_479_992_414_579_790_249_7,
            -0.028_900_234_478_474_031_568_628_9,
            0.035_978_500_503_510_459_085_365_6,
            -0.041_848_579_703_592_507_506_027,
            0.047_084_301_165_328_398_819_376_3,
            -0.052_491_421_058_844_842_106_871_9,
            0.058_794_659_096_958_100_386_043_4,
            -0.066_662_088_477_879_549_719_418_2,
            0.076_922_533_029_620_376_865_409_5,
            -0.090_909_044_277_338_757_478_190_7,
            0.111_111_108_376_896_236_538_123,
            -0.142_857_142_756_268_568_062_339,
            0.199_999_999_997_977_351_284_817,
            -0.333_333_333_333_317_605_173_818,
        ],
    );
    let st = m.dd_mul(s, t);
    let p = m.dd_mul_d2_d(st, u);
    let t = m.dd_add(s, p);
    let h = m.d2c(
        std::f64::consts::FRAC_PI_2,
        6.123_233_995_736_766_035_868_82e-17,
    );
    let hq = m.dd_mul_d2_d(h, q);
    m.dd_add(hq, t)
}

/// atan(d): SLEEF `xatan_u1`.
pub(super) fn atan(m: &mut M, d: Value) -> Value {
    let a = m.abs(d);
    let y = m.d2(a);
    let one = m.d2c(1.0, 0.0);
    let r = atan2k(m, y, one);
    let r = m.d2v(r);
    let inf = m.isinf(d);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let r = m.sel(inf, h, r);
    m.mulsign(r, d)
}

/// `isinf(d) ? copysign(1, d) | m : 0` bitwise, SLEEF's `visinf2`.
fn isinf2(m: &mut M, d: Value, k: Value) -> Value {
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

/// atan2(y, x): SLEEF `xatan2_u1`.
pub(super) fn atan2(m: &mut M, y: Value, x: Value) -> Value {
    let ax = m.abs(x);
    let o = m.lt_c(ax, 5.562_684_646_268_008_398_4e-309);
    let sx = m.mul_c(x, 2f64.powi(53));
    let x = m.sel(o, sx, x);
    let sy = m.mul_c(y, 2f64.powi(53));
    let y = m.sel(o, sy, y);
    let ay = m.abs(y);
    let yd = m.d2(ay);
    let xd = m.d2(x);
    let d = atan2k(m, yd, xd);
    let r = m.d2v(d);
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

/// `|x|` clamped to [0, `hi`] for the hyperbolic functions (NaN stays NaN).
fn clamp_abs(m: &mut M, x: Value, hi: f64) -> Value {
    let y = m.abs(x);
    let big = m.gt_c(y, hi);
    let c = m.c(hi);
    m.sel(big, c, y)
}

/// sinh: SLEEF `xsinh`, with e^(|x| - ln 2) beyond 709 so that the results up to the
/// overflow threshold (710.4758...) stay finite.
pub(super) fn sinh(m: &mut M, x: Value) -> Value {
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
pub(super) fn cosh(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let h = exp_scaled(m, a, -1.0);
    let q = m.c(0.25);
    let r = m.div(q, h);
    m.add(h, r)
}

/// tanh(x): SLEEF `xtanh`.
pub(super) fn tanh(m: &mut M, x: Value) -> Value {
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

/// cbrt(d): SLEEF `xcbrt_u1`.
pub(super) fn cbrt(m: &mut M, d0: Value) -> Value {
    let a = m.abs(d0);
    let e = m.ilogbk(a);
    let e = m.add_c(e, 1.0);
    // NaN and infinities make `e` meaningless: keep it in range, they are replaced below.
    let lo = m.lt_c(e, -1100.0);
    let c = m.c(-1100.0);
    let e = m.sel(lo, c, e);
    let hi = m.gt_c(e, 1100.0);
    let c = m.c(1100.0);
    let e = m.sel(hi, c, e);
    let ne = m.neg(e);
    let d = m.ldexp2(d0, ne);
    let t = m.add_c(e, 6144.0);
    let qu = m.mul_c(t, 1.0 / 3.0);
    let qu = m.trunc(qu);
    let k = m.c(-3.0);
    let re = m.fma(qu, k, t);
    let re = m.trunc(re);
    let q2 = m.d2c(1.0, 0.0);
    let r1 = m.eq_c(re, 1.0);
    let c1 = m.d2c(
        1.259_921_049_894_873_190_7,
        -2.589_933_375_300_506_917_7e-17,
    );
    let q2 = m.d2sel(r1, c1, q2);
    let r2 = m.eq_c(re, 2.0);
    let c2 = m.d2c(
        1.587_401_051_968_199_583_4,
        -1.086_900_819_419_782_298_6e-16,
    );
    let q2 = m.d2sel(r2, c2, q2);
    let q2 = D2 {
        x: m.mulsign(q2.x, d),
        y: m.mulsign(q2.y, d),
    };
    let d = m.abs(d);
    let x = m.poly(
        d,
        &[
            -0.640_245_898_480_692_909_870_982,
            2.961_551_030_200_395_118_185_95,
            -5.733_530_609_229_478_436_361_66,
            6.039_903_689_894_587_479_614_07,
            -3.858_419_355_104_449_888_216_32,
            2.230_727_530_249_660_972_572_2,
        ],
    );
    let y = m.mul(x, x);
    let y = m.mul(y, y);
    let t = m.fmapn(d, y, x);
    let t = m.mul_c(t, 1.0 / 3.0);
    let x = m.sub(x, t);
    let z = x;
    let u = m.dd_mul_d_d(x, x);
    let u = m.dd_mul(u, u);
    let u = m.dd_mul_d2_d(u, d);
    let nx = m.neg(x);
    let u = m.dd_add2_d2_d(u, nx);
    let y = m.d2v(u);
    let y = m.mul_c(y, -2.0 / 3.0);
    let y = m.mul(y, z);
    let zz = m.dd_mul_d_d(z, z);
    let v = m.dd_add2_d2_d(zz, y);
    let v = m.dd_mul_d2_d(v, d);
    let v = m.dd_mul(v, q2);
    let r = m.d2v(v);
    let sh = m.add_c(qu, -2048.0);
    let z = m.ldexp2(r, sh);
    let inf = m.isinf(d0);
    let i = m.c(f64::INFINITY);
    let i = m.mulsign(i, d0);
    let z = m.sel(inf, i, z);
    let zero = m.eq_c(d0, 0.0);
    let z = m.sel(zero, d0, z);
    let n = m.isnan(d0);
    m.or_nan(n, z)
}

/// `poly2dd`: `c0 + c1 * x` with a plain `c1`.
fn poly2dd(m: &mut M, x: Value, c1: Value, c0: D2) -> D2 {
    let c1 = m.d2(c1);
    let p = m.dd_mul_d2_d(c1, x);
    m.dd_add(c0, p)
}

/// `poly4dd`: `c0 + c1 x + c2 x^2 + c3 x^3` with double-double `c0..c2`.
fn poly4dd(m: &mut M, x: Value, c3: Value, c2: D2, c1: D2, c0: D2) -> D2 {
    let x2 = m.mul(x, x);
    let hi = poly2dd(m, x, c3, c2);
    let p = m.dd_mul_d2_d(c1, x);
    let lo = m.dd_add(c0, p);
    let p = m.dd_mul_d2_d(hi, x2);
    m.dd_add(lo, p)
}

const ERF_A: [f64; 21] = [
    -0.208_327_100_252_522_209_7e-14,
    0.715_190_997_079_089_700_9e-13,
    -0.116_223_822_011_099_936_4e-11,
    0.118_647_423_082_158_525_9e-10,
    -0.849_997_317_835_461_344e-10,
    0.450_764_746_259_884_162_9e-9,
    -0.180_804_447_428_884_891_5e-8,
    0.543_508_182_671_621_238_9e-8,
    -0.114_393_989_575_862_848_4e-7,
    0.121_544_236_268_088_924_3e-7,
    0.166_987_875_618_125_035_5e-7,
    -0.980_807_460_225_519_428_8e-7,
    0.138_900_055_786_583_720_4e-6,
    0.294_551_452_998_733_186_6e-6,
    -0.184_291_827_300_399_828_3e-5,
    0.341_798_783_611_536_213_6e-5,
    0.386_023_635_649_312_910_1e-5,
    -0.330_940_307_274_994_754_6e-4,
    0.106_086_292_259_757_953_2e-3,
    0.232_325_315_521_307_617_4e-3,
    0.149_014_971_914_554_472_9e-3,
];
const ERF_B: [f64; 21] = [
    -0.402_401_513_075_262_193_2e-18,
    0.384_719_333_281_704_804_8e-16,
    -0.174_931_624_145_564_408_8e-14,
    0.502_961_832_287_287_271_5e-13,
    -0.102_522_146_685_146_316_4e-11,
    0.157_369_555_933_194_558_3e-10,
    -0.188_465_855_804_020_370_9e-9,
    0.179_816_785_303_215_930_9e-8,
    -0.138_074_534_235_503_314_2e-7,
    0.852_570_572_646_910_349_9e-7,
    -0.416_044_805_810_130_340_5e-6,
    0.151_727_266_000_858_848_5e-5,
    -0.334_163_412_731_720_169_7e-5,
    -0.251_502_339_587_972_451_3e-5,
    0.653_973_126_966_490_755_4e-4,
    -0.355_106_509_742_838_865_8e-3,
    0.121_073_609_795_836_886_4e-2,
    -0.260_556_691_257_999_868e-2,
    0.125_282_320_243_609_319_3e-2,
    0.182_019_139_526_331_322_2e-1,
    -0.102_155_715_545_346_595_4,
];
const ERF_A_DD: [(f64, f64); 3] = [
    (
        0.009_287_795_839_227_560_440_5,
        7.928_755_946_396_110_749_3e-19,
    ),
    (
        0.042_275_531_758_784_692_937,
        1.378_522_662_050_101_613_8e-19,
    ),
    (
        0.070_523_697_943_469_534_91,
        9.584_662_807_079_209_284_2e-19,
    ),
];
const ERF_B_DD: [(f64, f64); 3] = [
    (
        -0.636_910_443_836_417_483_61,
        -2.424_947_752_653_943_183_9e-17,
    ),
    (
        -1.128_292_606_180_396_173_7,
        -6.297_033_886_041_099_650_5e-17,
    ),
    (
        -1.226_131_378_518_480_496_7e-05,
        -5.532_970_751_449_010_704_4e-22,
    ),
];

/// `(1 + x P(x))^-16`, the Abramowitz-Stegun form of erfc on [0, 2.5].
fn erf_small(m: &mut M, x: Value, cs: &[f64; 21], dd: &[(f64, f64); 3]) -> D2 {
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
pub(super) fn erf(m: &mut M, a: Value) -> Result<Value, CodegenError> {
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

/// ln|d| as a double-double: SLEEF `logk`.
fn logk(m: &mut M, d: Value) -> D2 {
    let (e, x) = log_reduce(m, d);
    let x2 = m.dd_squ(x);
    let t = m.poly(
        x2.x,
        &[
            0.116_255_524_079_935_043_668_677,
            0.103_239_680_901_072_952_701_192,
            0.117_754_809_412_463_995_466_069,
            0.133_329_810_868_462_739_215_09,
            0.153_846_227_114_512_262_845_736,
            0.181_818_180_850_050_775_676_507,
            0.222_222_222_230_083_560_345_903,
            0.285_714_285_714_249_172_087_875,
            0.400_000_000_000_000_077_715_612,
        ],
    );
    let c = m.d2c(
        0.666_666_666_666_666_629_659_233,
        3.805_549_625_424_120_563_366_16e-17,
    );
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
pub(super) fn pow(m: &mut M, x: Value, y: Value) -> Value {
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
pub(super) fn pow_ordinary_or_finish(m: &mut M, x: Value, y: Value, r: Value) -> Value {
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
pub(super) fn pow_finish(m: &mut M, x: Value, y: Value, r: Value) -> Value {
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
