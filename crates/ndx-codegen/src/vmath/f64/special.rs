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

pub(in crate::vmath) const ERF_A: [f64; 21] = [
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
pub(in crate::vmath) const ERF_B: [f64; 21] = [
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
pub(in crate::vmath) const ERF_A_DD: [(f64, f64); 3] = [
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
pub(in crate::vmath) const ERF_B_DD: [(f64, f64); 3] = [
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
