//! SLEEF's 3.5-ULP (`_u35`) double functions, in plain `f64` arithmetic (no double-double):
//! `log` (`xlog`), `arctan` (`xatan`) and `cbrt` (`xcbrt`). LANGUAGE.md's bound is 4 ULP;
//! these run 2-3x faster than SLEEF's 1-ULP double-double forms, which they replace.
//! `tests/vmath.rs` samples each against libm over the whole range: at most 2 ULP in 3M
//! samples. `tanh_u35` and
//! `sinh_u35` were tried and reached 4 ULP against libm in 3M samples, too close to the
//! bound: those keep the 1-ULP code.

use super::*;
use ndx_runtime::ops::wide_math::consts64::LOG_POLY;

/// ln(d): SLEEF's `xlog` (3.5 ULP): d = 2^e m, m in [0.75, 1.5), x = (m - 1) / (m + 1),
/// ln(d) = e ln2 + 2x + x^3 P(x^2); subnormal `d` is scaled by 2^64 first. The block
/// programs' 512-bit code (`wide_math`) repeats it bit for bit.
pub(in crate::vmath) fn log_u35(m: &mut M, d: Value) -> Value {
    let (e, mm) = m.split_exponent(d, DBL_MIN);
    let num = m.add_c(mm, -1.0);
    let den = m.add_c(mm, 1.0);
    let x = m.div(num, den);
    let x2 = m.mul(x, x);
    let t = m.poly(x2, &LOG_POLY);
    let el = m.mul_c(e, LN2_DD.0);
    let two = m.c(2.0);
    let s = m.fma(x, two, el);
    let x3 = m.mul(x2, x);
    let r = m.fma(x3, t, s);
    log_specials(m, d, r)
}

/// atan(x): SLEEF's `xatan` (3.5 ULP; the argument folded to [0, 1] by 1/x).
pub(in crate::vmath) fn atan_u35(m: &mut M, x: Value) -> Value {
    let a = m.abs(x);
    let big = m.gt_c(a, 1.0);
    let one = m.c(1.0);
    let r = m.div(one, a);
    let s = m.sel(big, r, a);
    let t = m.mul(s, s);
    let u = m.poly(
        t,
        &[
            -1.887_960_084_630_734_965_637_46e-05,
            0.000_209_850_076_645_816_976_906_797,
            -0.001_106_118_314_866_724_825_634_71,
            0.003_700_267_441_887_131_192_324_03,
            -0.008_898_961_958_876_554_917_408_09,
            0.016_599_329_773_529_201_970_117,
            -0.025_451_762_493_231_264_161_686_1,
            0.033_785_258_000_135_306_999_389_7,
            -0.040_762_919_127_683_650_000_193_4,
            0.046_666_715_007_784_062_563_267_5,
            -0.052_367_485_230_348_245_761_611_3,
            0.058_766_639_292_667_358_085_431_3,
            -0.066_657_357_936_108_052_598_456_2,
            0.076_921_953_831_176_961_835_502_9,
            -0.090_908_995_008_245_008_229_153,
            0.111_111_105_648_261_418_443_745,
            -0.142_857_142_667_713_293_837_65,
            0.199_999_999_996_591_265_594_148,
            -0.333_333_333_333_311_110_369_124,
        ],
    );
    let tu = m.mul(t, u);
    let r = m.fma(s, tu, s);
    let h = m.c(std::f64::consts::FRAC_PI_2);
    let c = m.sub(h, r);
    let r = m.sel(big, c, r);
    m.mulsign(r, x)
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
    let c1 = m.c(1.259_921_049_894_873_164_767_210_6);
    let q = m.sel(r1, c1, one);
    let r2 = m.eq_c(re, 2.0);
    let c2 = m.c(1.587_401_051_968_199_474_751_705_6);
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
    cbrt_plain(
        m,
        d0,
        1100.0,
        &[
            -0.640_245_898_480_692_909_870_982,
            2.961_551_030_200_395_118_185_95,
            -5.733_530_609_229_478_436_361_66,
            6.039_903_689_894_587_479_614_07,
            -3.858_419_355_104_449_888_216_32,
            2.230_727_530_249_660_972_572_2,
        ],
        true,
    )
}
