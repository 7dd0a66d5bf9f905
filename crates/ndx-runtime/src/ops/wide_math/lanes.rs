//! The helpers of the 512-bit functions, for `f32` (16 lanes) and `f64` (8 lanes) alike: one
//! `lanes!` invocation per lane type defines them in its module, from that type's intrinsics.
//!
//! They carry the names of the JIT's emitter (`ndx_codegen::vmath::emit::M`) and double-double
//! layer (`vmath::dd`), and do what those emit, operation for operation, so that a function
//! written with them reads line by line against its JIT original and gives its bits. Masks are
//! the `__mmask` type of the lanes; `sel(m, x, y)` is `m ? x : y`.

/// Defines the helpers for one lane type (see the module doc). Every helper is
/// `#[target_feature(enable = "avx512f")]`, so only functions with that feature call them.
macro_rules! lanes {
    (
        float: $float:ty, vec: $v:ty, mask: $mask:ty,
        mant: $mant:literal, exp_mask: $emask:literal, bias: $bias:literal,
        shifter: $shifter:literal, sign: $sign:expr,
        set1: $set1:ident, add: $add:ident, sub: $sub:ident, mul: $mul:ident, div: $div:ident,
        fmadd: $fmadd:ident, fmsub: $fmsub:ident, fnmadd: $fnmadd:ident, abs: $abs:ident,
        sqrt: $sqrt:ident, roundscale: $round:ident, cmp: $cmp:ident, blend: $blend:ident,
        maskz_mov: $maskz_mov:ident, to_int: $to_int:ident, to_float: $to_float:ident,
        iset1: $iset1:ident, iadd: $iadd:ident, isub: $isub:ident, iblend: $iblend:ident,
        ieq: $ieq:ident, ilt: $ilt:ident, imaskz_mov: $imaskz_mov:ident, slli: $slli:ident,
        srli: $srli:ident $(,)?
    ) => {
        /// Every lane set.
        #[allow(dead_code)]
        const ALL: $mask = !0;

        /// A constant in every lane, rounded to the lane type as the JIT rounds it.
        #[allow(dead_code, clippy::unnecessary_cast)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn c(v: f64) -> $v {
            $set1(v as $float)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn bits(x: $v) -> __m512i {
            $to_int(x)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn float(i: __m512i) -> $v {
            $to_float(i)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn add(x: $v, y: $v) -> $v {
            $add(x, y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn sub(x: $v, y: $v) -> $v {
            $sub(x, y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn mul(x: $v, y: $v) -> $v {
            $mul(x, y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn div(x: $v, y: $v) -> $v {
            $div(x, y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn sqrt(x: $v) -> $v {
            $sqrt(x)
        }

        /// `x * y + z`, rounded once.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn fma(x: $v, y: $v, z: $v) -> $v {
            $fmadd(x, y, z)
        }

        /// `x * y - z`, rounded once (`M::fmapn`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn fmapn(x: $v, y: $v, z: $v) -> $v {
            $fmsub(x, y, z)
        }

        /// `z - x * y`, rounded once (`M::fmanp`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn fmanp(x: $v, y: $v, z: $v) -> $v {
            $fnmadd(x, y, z)
        }

        /// The sign bit flipped (`fneg`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn neg(x: $v) -> $v {
            float(_mm512_xor_si512(bits(x), $iset1($sign)))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn abs(x: $v) -> $v {
            $abs(x)
        }

        /// Round to nearest, ties to even.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn rint(x: $v) -> $v {
            $round::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn floor(x: $v) -> $v {
            $round::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(x)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn trunc(x: $v) -> $v {
            $round::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(x)
        }

        /// Horner's scheme, highest degree first (`M::poly`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn poly(x: $v, cs: &[f64]) -> $v {
            let Some((first, rest)) = cs.split_first() else {
                return c(0.0);
            };
            let mut u = c(*first);
            for &ci in rest {
                u = fma(u, x, c(ci));
            }
            u
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn lt_c(x: $v, v: f64) -> $mask {
            $cmp::<_CMP_LT_OQ>(x, c(v))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn gt_c(x: $v, v: f64) -> $mask {
            $cmp::<_CMP_GT_OQ>(x, c(v))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn ge_c(x: $v, v: f64) -> $mask {
            $cmp::<_CMP_GE_OQ>(x, c(v))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn le_c(x: $v, v: f64) -> $mask {
            $cmp::<_CMP_LE_OQ>(x, c(v))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn eq_c(x: $v, v: f64) -> $mask {
            $cmp::<_CMP_EQ_OQ>(x, c(v))
        }

        /// `x < y` (ordered).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn lt(x: $v, y: $v) -> $mask {
            $cmp::<_CMP_LT_OQ>(x, y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isnan(x: $v) -> $mask {
            $cmp::<_CMP_UNORD_Q>(x, x)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isinf(x: $v) -> $mask {
            eq_c(abs(x), f64::INFINITY)
        }

        /// `x == -0.0`, bit for bit.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isnegzero(x: $v) -> $mask {
            $ieq(bits(x), bits(c(-0.0)))
        }

        /// The sign bit is set (`M::signbit`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn signbit(x: $v) -> $mask {
            $ilt(bits(x), _mm512_setzero_si512())
        }

        /// `v` is an integer (`M::isint`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isint(v: $v) -> $mask {
            $cmp::<_CMP_EQ_OQ>(trunc(v), v)
        }

        /// `v` is an odd integer (`M::isodd`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isodd(v: $v) -> $mask {
            let h = mul(v, c(0.5));
            $cmp::<_CMP_NEQ_UQ>(trunc(h), h) & isint(v)
        }

        /// `m ? x : y`, lane by lane.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn sel(m: $mask, x: $v, y: $v) -> $v {
            $blend(m, y, x)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn sel_c(m: $mask, x: f64, y: f64) -> $v {
            sel(m, c(x), c(y))
        }

        /// `x` with the lanes of `m` replaced by NaN (all bits set, as `M::or_nan`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn or_nan(m: $mask, x: $v) -> $v {
            float($iblend(m, bits(x), $iset1(-1)))
        }

        /// `x` with the lanes of `m` replaced by +0.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn zero_if(m: $mask, x: $v) -> $v {
            $maskz_mov(!m, x)
        }

        /// `x` with its sign flipped where `y`'s sign bit is set.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn mulsign(x: $v, y: $v) -> $v {
            let sign = _mm512_and_si512(bits(y), $iset1($sign));
            float(_mm512_xor_si512(bits(x), sign))
        }

        /// `min(x, v)` as `M::min_c`: `v < x ? v : x` (NaN stays NaN).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn min_c(x: $v, v: f64) -> $v {
            sel(lt(c(v), x), c(v), x)
        }

        /// `x` clamped to [lo, hi] (NaN stays NaN).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn clamp(x: $v, lo: f64, hi: f64) -> $v {
            let x = sel(lt_c(x, lo), c(lo), x);
            sel(gt_c(x, hi), c(hi), x)
        }

        /// 1.5 * 2^mant: adding it rounds to an integer held in the low mantissa bits.
        #[allow(dead_code)]
        const SHIFTER: f64 = $shifter;

        /// The integer lanes of integer-valued `q` (`M::int_of`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn int_of(q: $v) -> __m512i {
            $isub(bits(add(q, c(SHIFTER))), bits(c(SHIFTER)))
        }

        /// Integer lanes as floats (`M::float_of`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn float_of(i: __m512i) -> $v {
            sub(float($iadd(i, bits(c(SHIFTER)))), c(SHIFTER))
        }

        /// `2^q` for integer-valued `q` in the normal exponent range (`M::pow2i`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn pow2i(q: $v) -> $v {
            let e = $slli::<$mant>(int_of(q));
            float($iadd(e, bits(c(1.0))))
        }

        /// `x * 2^q` in two steps (`M::ldexp2`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn ldexp2(x: $v, q: $v) -> $v {
            let h = floor(mul(q, c(0.5)));
            let l = sub(q, h);
            mul(mul(x, pow2i(h)), pow2i(l))
        }

        /// `x * 2^q` by adding to the exponent field (`M::ldexp3`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn ldexp3(x: $v, q: $v) -> $v {
            let e = $slli::<$mant>(int_of(q));
            float($iadd(bits(x), e))
        }

        /// The unbiased exponent field of `d` as a float (`M::ilogb2k`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn ilogb2k(d: $v) -> $v {
            let e = _mm512_and_si512($srli::<$mant>(bits(d)), $iset1($emask));
            add(float_of(e), c(-$bias))
        }

        /// `(e, m)` with `d = 2^e m`, `m` in [lo, 2 lo), `d` below `tiny` scaled by 2^64 first
        /// (`M::split_exponent_at`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn split_exponent_at(d: $v, tiny: f64, lo: f64) -> ($v, $v) {
            let o = lt_c(d, tiny);
            let d = sel(o, mul(d, c(2f64.powi(64))), d);
            let e = ilogb2k(mul(d, c(1.0 / lo)));
            let mm = ldexp3(d, neg(e));
            (sub(e, sel_c(o, 64.0, 0.0)), mm)
        }

        /// `isinf(d) ? copysign(1, d) | k : 0` bitwise (`vmath::f64::isinf2`, SLEEF's
        /// `visinf2`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn isinf2(d: $v, k: $v) -> $v {
            let s = _mm512_and_si512(bits(d), $iset1($sign));
            float($imaskz_mov(isinf(d), _mm512_or_si512(s, bits(k))))
        }

        /// A double-double (float-float) `x + y`, as `vmath::dd::D2`.
        #[allow(dead_code)]
        #[derive(Clone, Copy)]
        struct D2 {
            x: $v,
            y: $v,
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn d2(v: $v) -> D2 {
            D2 { x: v, y: c(0.0) }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn d2c(h: f64, l: f64) -> D2 {
            D2 { x: c(h), y: c(l) }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn d2v(d: D2) -> $v {
            add(d.x, d.y)
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn d2scale(a: D2, s: f64) -> D2 {
            D2 {
                x: mul(a.x, c(s)),
                y: mul(a.y, c(s)),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn d2normalize(t: D2) -> D2 {
            let s = add(t.x, t.y);
            let d = sub(t.x, s);
            D2 {
                x: s,
                y: add(d, t.y),
            }
        }

        /// `x + y`, `|x| >= |y|`.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add_d_d(x: $v, y: $v) -> D2 {
            let s = add(x, y);
            let t = sub(x, s);
            D2 { x: s, y: add(t, y) }
        }

        /// `x + y`, any magnitudes.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add2_d_d(x: $v, y: $v) -> D2 {
            let s = add(x, y);
            let v = sub(s, x);
            let sv = sub(s, v);
            let a = sub(x, sv);
            let b = sub(y, v);
            D2 { x: s, y: add(a, b) }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add_d2_d(x: D2, y: $v) -> D2 {
            let s = add(x.x, y);
            let t = sub(x.x, s);
            let t = add(t, y);
            D2 {
                x: s,
                y: add(t, x.y),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add2_d2_d(x: D2, y: $v) -> D2 {
            let s = add(x.x, y);
            let v = sub(s, x.x);
            let sv = sub(s, v);
            let a = sub(x.x, sv);
            let b = sub(y, v);
            let w = add(a, b);
            D2 {
                x: s,
                y: add(w, x.y),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add_d_d2(x: $v, y: D2) -> D2 {
            let s = add(x, y.x);
            let t = sub(x, s);
            let t = add(t, y.x);
            D2 {
                x: s,
                y: add(t, y.y),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_add(x: D2, y: D2) -> D2 {
            let s = add(x.x, y.x);
            let t = sub(x.x, s);
            let t = add(t, y.x);
            let t = add(t, x.y);
            D2 {
                x: s,
                y: add(t, y.y),
            }
        }

        /// `x * y` exactly.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_mul_d_d(x: $v, y: $v) -> D2 {
            let s = mul(x, y);
            D2 {
                x: s,
                y: fmapn(x, y, s),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_mul_d2_d(x: D2, y: $v) -> D2 {
            let s = mul(x.x, y);
            let e = fmapn(x.x, y, s);
            D2 {
                x: s,
                y: fma(x.y, y, e),
            }
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_mul(x: D2, y: D2) -> D2 {
            let s = mul(x.x, y.x);
            let e = fmapn(x.x, y.x, s);
            let e = fma(x.y, y.x, e);
            D2 {
                x: s,
                y: fma(x.x, y.y, e),
            }
        }

        /// `x * y` rounded to one float (`dd_mul_v`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_mul_v(x: D2, y: D2) -> $v {
            fma(x.x, y.x, fma(x.y, y.x, mul(x.x, y.y)))
        }

        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_squ(x: D2) -> D2 {
            let s = mul(x.x, x.x);
            let e = fmapn(x.x, x.x, s);
            let x2 = add(x.x, x.x);
            D2 {
                x: s,
                y: fma(x2, x.y, e),
            }
        }

        /// `1 / d`.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_rec(d: D2) -> D2 {
            let one = c(1.0);
            let s = div(one, d.x);
            let e = fmanp(d.x, s, one);
            let e = fmanp(d.y, s, e);
            D2 { x: s, y: mul(s, e) }
        }

        /// `n / d`.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn dd_div(n: D2, d: D2) -> D2 {
            let one = c(1.0);
            let t = div(one, d.x);
            let s = mul(n.x, t);
            let u = fmapn(t, n.x, s);
            let v = fmanp(d.x, t, one);
            let v = fmanp(d.y, t, v);
            let w = fma(n.y, t, u);
            D2 {
                x: s,
                y: fma(s, v, w),
            }
        }

        /// `r` with the logarithms' special values (`vmath::f64::log_specials`): +inf at
        /// +inf, NaN below 0 and for NaN, -inf at 0.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn log_specials(d: $v, r: $v) -> $v {
            let r = sel(eq_c(d, f64::INFINITY), c(f64::INFINITY), r);
            let r = or_nan(lt_c(d, 0.0) | isnan(d), r);
            sel(eq_c(d, 0.0), c(f64::NEG_INFINITY), r)
        }

        /// `r` with `log1p`'s special values (`vmath::f64::log1p_specials`): +inf at +inf, NaN
        /// below -1 and for NaN, -inf at -1.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn log1p_specials(d: $v, r: $v) -> $v {
            let r = sel(eq_c(d, f64::INFINITY), c(f64::INFINITY), r);
            let r = or_nan(lt_c(d, -1.0) | isnan(d), r);
            sel(eq_c(d, -1.0), c(f64::NEG_INFINITY), r)
        }

        /// `r` with `cbrt`'s special values (`vmath::f64::cbrt_specials`): infinities and
        /// signed zeros as they are, NaN stays NaN.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn cbrt_specials(d: $v, r: $v) -> $v {
            let r = sel(isinf(d), mulsign(c(f64::INFINITY), d), r);
            let r = sel(eq_c(d, 0.0), d, r);
            or_nan(isnan(d), r)
        }

        /// atan(x) with the argument folded to [0, 1] by 1/|x| and atan(s) = s + s t P(t),
        /// `t = s^2`, P given by `ps` (SLEEF's `xatan` and `xatanf`, `vmath::f64::atan_u35` and
        /// `f32_ext::atan`).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn atan_folded(x: $v, ps: &[f64]) -> $v {
            let a = abs(x);
            let big = gt_c(a, 1.0);
            let s = sel(big, div(c(1.0), a), a);
            let r = atan_poly(s, ps);
            let r = sel(big, sub(c(std::f64::consts::FRAC_PI_2), r), r);
            mulsign(r, x)
        }

        /// `s + s t P(t)`, `t = s^2`.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn atan_poly(s: $v, ps: &[f64]) -> $v {
            let t = mul(s, s);
            fma(s, mul(t, poly(t, ps)), s)
        }

        /// The sign and special cases of x^y given `r` = |x|^y on the ordinary lanes
        /// (`vmath::f64::pow_finish`, which gives `r` itself there).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn pow_finish(x: $v, y: $v, r: $v) -> $v {
            let yisodd = isodd(y);
            let neg_base = sel(isint(y), sel_c(yisodd, -1.0, 1.0), c(f64::NAN));
            let r = mul(r, sel(gt_c(x, 0.0), c(1.0), neg_base));
            let efx = mulsign(add(abs(x), c(-1.0)), y);
            let v = sel(eq_c(efx, 0.0), c(1.0), c(f64::INFINITY));
            let v = zero_if(lt_c(efx, 0.0), v);
            let r = sel(isinf(y), v, r);
            let xz = eq_c(x, 0.0);
            let v = sel(signbit(y) ^ xz, c(0.0), c(f64::INFINITY));
            let v = mulsign(v, sel(yisodd, x, c(1.0)));
            let r = sel(isinf(x) | xz, v, r);
            let r = or_nan(isnan(x) | isnan(y), r);
            sel(eq_c(y, 0.0) | eq_c(x, 1.0), c(1.0), r)
        }

        /// `r` (= |x|^y) when every lane has a finite positive `x` and a finite `y`, else
        /// [`pow_finish`]'s answer (`vmath::f64::pow_ordinary_or_finish`; the same bits either
        /// way).
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn pow_ordinary_or_finish(x: $v, y: $v, r: $v) -> $v {
            let ok = gt_c(x, 0.0) & lt_c(x, f64::INFINITY) & lt_c(abs(y), f64::INFINITY);
            if ok == ALL {
                r
            } else {
                pow_finish(x, y, r)
            }
        }

        /// atan2(y, x) in the working precision (`vmath::f64::atan2_plain`): the smaller of
        /// |y|, |x| over the larger through [`atan_poly`] with `ps`, plus a multiple of pi/2,
        /// then [`atan2_finish`]; |x| below `tiny` scales both by `scale` first.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn atan2_plain(y: $v, x: $v, tiny: f64, scale: f64, ps: &[f64]) -> $v {
            let o = lt_c(abs(x), tiny);
            let x = sel(o, mul(x, c(scale)), x);
            let y = sel(o, mul(y, c(scale)), y);
            let (ay, ax) = (abs(y), abs(x));
            let q = sel_c(lt_c(x, 0.0), -2.0, 0.0);
            let steep = lt(ax, ay);
            let q = sel(steep, add(q, c(1.0)), q);
            let num = sel(steep, neg(ax), ay);
            let den = sel(steep, ay, ax);
            let t = atan_poly(div(num, den), ps);
            let r = fma(q, c(std::f64::consts::FRAC_PI_2), t);
            // Where `x` and `y` are finite and nonzero in every lane (NaN is neither),
            // `atan2_finish` only gives `r` the signs of `x`, then of `y`.
            let finite_nonzero = |v: $v| gt_c(abs(v), 0.0) & lt_c(abs(v), f64::INFINITY);
            if finite_nonzero(x) & finite_nonzero(y) == ALL {
                return mulsign(mulsign(r, x), y);
            }
            atan2_finish(y, x, r)
        }

        /// The signs and special values of atan2 (`vmath::f64::atan2_finish`): `r` is
        /// atan2(|y|, x) for ordinary arguments.
        #[allow(dead_code)]
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn atan2_finish(y: $v, x: $v, r: $v) -> $v {
            let half_pi = c(std::f64::consts::FRAC_PI_2);
            let r = mulsign(r, x);
            let v = sub(half_pi, isinf2(x, mulsign(half_pi, x)));
            let r = sel(isinf(x) | eq_c(x, 0.0), v, r);
            let q = c(std::f64::consts::FRAC_PI_4);
            let v = sub(half_pi, isinf2(x, mulsign(q, x)));
            let r = sel(isinf(y), v, r);
            let v = sel_c(signbit(x), std::f64::consts::PI, 0.0);
            let r = mulsign(sel(eq_c(y, 0.0), v, r), y);
            or_nan(isnan(x) | isnan(y), r)
        }
    };
}
