//! Every math function of `f32` and `f64` (`exp` ... `erf`, `pow`, `arctan2`) with 512-bit
//! vectors, computing what the JIT's `f32x4` / `f64x2` code computes (`ndx_codegen::vmath`),
//! 16 or 8 lanes at a time: `wide_math/f32x16.rs` and `wide_math/f64x8.rs`, on the helpers of
//! `wide_math/lanes.rs`; and float division by a divisor per element or per row ([`div`]),
//! which is IEEE either way. This file holds the entry points and the loops over the lanes.
//!
//! Cranelift stops at 128-bit vectors, and a fused loop that evaluates `tanh` or `exp` is
//! bound by the arithmetic of the function: at 128 bits, gelu over 10M `f32` takes 14 ms
//! however the loop is written (a Rust loop of the same code compiled by LLVM measured the
//! same as the JIT), against 4.4 ms at 512 bits. The `ndx` crate's block programs
//! (`crates/ndx/src/rows.rs`) therefore compute a fused expression around such a call in
//! blocks that stay in the L1 cache: JIT kernels write the function's operand into a block
//! scratch, [`apply`] evaluates the function in place there, and JIT kernels consume it.
//!
//! The same operations in the same order, with the same constants ([`consts`],
//! [`consts64`], which the JIT's code imports), give the same bits as the JIT: every step is
//! an IEEE operation (`fma`, `div`, round to nearest integer, integer adds to the exponent
//! field), none is approximated differently. Lanes are independent here as in the JIT: `exp`'s
//! general path (for |x| > 86.5 and NaN) gives the fast path's bits on the fast path's lanes,
//! and `sin`/`cos`/`tan` reduce only their own large lanes by Payne-Hanek
//! ([`crate::ops::pi_reduce`]), so which lanes share a vector never changes a result.
//!
//! Invariants: [`apply`] does nothing and answers `false` when the CPU lacks AVX-512F (and on
//! other architectures); callers ask [`available`] before planning a block program.

/// A function with a 512-bit version here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WideFn {
    /// `exp`.
    Exp,
    /// `tanh`.
    Tanh,
    /// `log` (natural).
    Log,
    /// `sin`.
    Sin,
    /// `cos`.
    Cos,
    /// `tan`.
    Tan,
    /// `erf`.
    Erf,
    /// `exp2`.
    Exp2,
    /// `expm1`.
    Expm1,
    /// `sinh`.
    Sinh,
    /// `cosh`.
    Cosh,
    /// `log2`.
    Log2,
    /// `log10`.
    Log10,
    /// `log1p`.
    Log1p,
    /// `arcsin`.
    Arcsin,
    /// `arccos`.
    Arccos,
    /// `arctan`.
    Arctan,
    /// `cbrt`.
    Cbrt,
    /// `x ** y`, of two operands ([`apply2`]).
    Pow,
    /// `arctan2(y, x)`, of two operands ([`apply2`]).
    Arctan2,
}

impl WideFn {
    /// The function's name in ndx.
    pub fn name(self) -> &'static str {
        match self {
            WideFn::Exp => "exp",
            WideFn::Tanh => "tanh",
            WideFn::Log => "log",
            WideFn::Sin => "sin",
            WideFn::Cos => "cos",
            WideFn::Tan => "tan",
            WideFn::Erf => "erf",
            WideFn::Exp2 => "exp2",
            WideFn::Expm1 => "expm1",
            WideFn::Sinh => "sinh",
            WideFn::Cosh => "cosh",
            WideFn::Log2 => "log2",
            WideFn::Log10 => "log10",
            WideFn::Log1p => "log1p",
            WideFn::Arcsin => "arcsin",
            WideFn::Arccos => "arccos",
            WideFn::Arctan => "arctan",
            WideFn::Cbrt => "cbrt",
            WideFn::Pow => "pow",
            WideFn::Arctan2 => "arctan2",
        }
    }

    /// True for the functions of two operands ([`apply2`]); the others take one ([`apply`]).
    pub fn is_binary(self) -> bool {
        matches!(self, WideFn::Pow | WideFn::Arctan2)
    }
}

/// True when this CPU runs the 512-bit code.
pub fn available() -> bool {
    super::wide_sum::wide_available()
}

/// A float type with 512-bit code here: `f32` (16 lanes) and `f64` (8 lanes).
pub trait WideFloat: Copy + sealed::Sealed {
    /// `d[i] = f(s[i])` for `i < n`. Caller: the CPU has AVX-512F and `f` takes one operand;
    /// `d` and `s` have `n` elements (`s` may be `d`).
    #[doc(hidden)]
    unsafe fn apply_unchecked(f: WideFn, d: *mut Self, s: *const Self, n: usize);
    /// `d[i] = x[i] / den[i / per]` for `i < n`. Caller: the CPU has AVX-512F; `d` and `x`
    /// have `n` elements (`x` may be `d`), `den` one for each `per` (`per >= 1`).
    #[doc(hidden)]
    unsafe fn div_unchecked(d: *mut Self, x: *const Self, den: *const Self, n: usize, per: usize);
    /// `d[i] = f(a[i], b[i])` for `i < n`. Caller: the CPU has AVX-512F and
    /// `f` is binary; `d`, `a` and `b` have `n` elements (`a` or `b` may be `d`).
    #[doc(hidden)]
    unsafe fn apply2_unchecked(f: WideFn, d: *mut Self, a: *const Self, b: *const Self, n: usize);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl WideFloat for f32 {
    unsafe fn apply_unchecked(f: WideFn, d: *mut f32, s: *const f32, n: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::apply_f32(f, d, s, n)
        };
        let _ = (f, d, s, n);
    }
    unsafe fn div_unchecked(d: *mut f32, x: *const f32, den: *const f32, n: usize, per: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::div_ps(d, x, den, n, per)
        };
        let _ = (d, x, den, n, per);
    }
    unsafe fn apply2_unchecked(f: WideFn, d: *mut f32, a: *const f32, b: *const f32, n: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::apply2_f32(f, d, a, b, n)
        };
        let _ = (f, d, a, b, n);
    }
}

impl WideFloat for f64 {
    unsafe fn apply_unchecked(f: WideFn, d: *mut f64, s: *const f64, n: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::apply_f64(f, d, s, n)
        };
        let _ = (f, d, s, n);
    }
    unsafe fn div_unchecked(d: *mut f64, x: *const f64, den: *const f64, n: usize, per: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::div_pd(d, x, den, n, per)
        };
        let _ = (d, x, den, n, per);
    }
    unsafe fn apply2_unchecked(f: WideFn, d: *mut f64, a: *const f64, b: *const f64, n: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            avx512::apply2_f64(f, d, a, b, n)
        };
        let _ = (f, d, a, b, n);
    }
}

/// Replaces every element `x` of `data` by `f(x)`; `false` (and `data` untouched) when the
/// CPU lacks AVX-512F or `f` takes two operands ([`apply2`]).
pub fn apply<T: WideFloat>(f: WideFn, data: &mut [T]) -> bool {
    if !available() || f.is_binary() {
        return false;
    }
    let d = data.as_mut_ptr();
    // SAFETY: the CPU has AVX-512F, and `T` has `f`; `d` has `data.len()` elements.
    unsafe { T::apply_unchecked(f, d, d, data.len()) };
    true
}

/// `dst[i] = f(src[i])` for every element (as [`apply`], without first copying `src` into
/// `dst`); `false` (and `dst` untouched) when [`apply`] would answer `false` or the lengths
/// differ.
pub fn apply_from<T: WideFloat>(f: WideFn, dst: &mut [T], src: &[T]) -> bool {
    if !available() || f.is_binary() || dst.len() != src.len() {
        return false;
    }
    // SAFETY: the CPU has AVX-512F, and `T` has `f`; both slices have `dst.len()` elements.
    unsafe { T::apply_unchecked(f, dst.as_mut_ptr(), src.as_ptr(), dst.len()) };
    true
}

/// `dst[i] = f(a[i], b[i])` for every element of the binary function `f` ([`WideFn::is_binary`]),
/// with `a` or `b` the old `dst` when `None`. `false` (and `dst` untouched) when the CPU lacks
/// AVX-512F, `f` takes one operand, or the lengths differ.
pub fn apply2<T: WideFloat>(f: WideFn, dst: &mut [T], a: Option<&[T]>, b: Option<&[T]>) -> bool {
    let n = dst.len();
    let fits = |x: Option<&[T]>| x.is_none_or(|x| x.len() == n);
    if !available() || !f.is_binary() || !fits(a) || !fits(b) {
        return false;
    }
    let d = dst.as_mut_ptr();
    let a = a.map_or(d as *const T, <[T]>::as_ptr);
    let b = b.map_or(d as *const T, <[T]>::as_ptr);
    // SAFETY: the CPU has AVX-512F and `T` has the binary `f`; `a`, `b` and `d` have `n`
    // elements (`a` or `b` may be `d`: each element is read before it is written).
    unsafe { T::apply2_unchecked(f, d, a, b, n) };
    true
}

/// `dst[i] = num[i] / den[i / per]` for every element, with `num` the old `dst` when `None`:
/// an IEEE division, so the JIT's bits. `per` is 1 for a divisor per element, a row's length
/// for one per row. `false` (and `dst` untouched) when the CPU lacks AVX-512F, `per` is 0, or
/// the lengths do not match (`num` as long as `dst`, a divisor for every `per` elements).
pub fn div<T: WideFloat>(dst: &mut [T], num: Option<&[T]>, den: &[T], per: usize) -> bool {
    let n = dst.len();
    if !available() || per == 0 || num.is_some_and(|x| x.len() != n) || den.len() < n.div_ceil(per)
    {
        return false;
    }
    let d = dst.as_mut_ptr();
    let x = num.map_or(d as *const T, <[T]>::as_ptr);
    // SAFETY: the CPU has AVX-512F; `x` and `d` have `n` elements (equal, or `x` is `d`, read
    // at each element before it is written), `den` has one for each `per`.
    unsafe { T::div_unchecked(d, x, den.as_ptr(), n, per) };
    true
}

/// The constants of the `f32` `exp` and `tanh`, shared with the JIT's code
/// (`ndx_codegen::vmath::f32`); both round them to `f32` with `as f32`.
pub mod consts {
    /// log2(e).
    pub const R_LN2: f64 = std::f64::consts::LOG2_E;
    /// ln 2, high part (exact in `f32` times small integers).
    pub const L2U: f64 = 0.693_145_751_953_125;
    /// ln 2, low part (the literal as SLEEF writes it).
    #[allow(clippy::excessive_precision)]
    pub const L2L: f64 = 1.428_606_765_330_187_045e-06;
    /// (e^s - 1 - s) / s^2 on [-ln2/2, ln2/2], highest degree first: a degree-4 minimax fit
    /// of the relative error of e^s (Lawson's iteration on 4000 Chebyshev points, rounded to
    /// f32), one degree below SLEEF's `expf` polynomial: 3.1e-9 relative error before
    /// rounding; `exp` stays within 1 ULP and `tanh` within 3 ULP on every f32 input
    /// (BENCHMARKS.md, issue 3).
    pub const EXPM1_POLY: [f64; 5] = [
        0.001_395_047_875_121_235_8,
        0.008_368_882_350_623_608,
        0.041_666_205_972_433_09,
        0.166_665_196_418_762_2,
        0.5,
    ];
    /// Beyond this |x| (or for NaN), `exp`'s fast path does not apply.
    pub const EXP_FAST: f64 = 86.5;
    /// `exp`'s general path clamps to [EXP_LO, EXP_HI]: below, even the smallest subnormal is
    /// out of reach (the result is +0); above, the result overflows (+inf).
    pub const EXP_LO: f64 = -104.0;
    /// See [`EXP_LO`].
    pub const EXP_HI: f64 = 100.0;
    /// `tanh` clamps |x| here: beyond, e / (e + 2) rounds to 1 as tanh does.
    pub const TANH_CLAMP: f64 = 9.02;
    /// `log`: arguments below the smallest normal `f32` are scaled by [`LOG_SCALE`] first.
    pub const LOG_TINY: f64 = f32::MIN_POSITIVE as f64;
    /// 2^64.
    pub const LOG_SCALE: f64 = 18_446_744_073_709_551_616.0;
    /// ln 2 (rounded to `f32` where used).
    pub const LN2: f64 = std::f64::consts::LN_2;
    /// 1/pi.
    pub const FRAC_1_PI: f64 = std::f64::consts::FRAC_1_PI;
    /// pi in four parts (SLEEF's `PI_A..D` for `f32`): `q * PI4[k]` is exact for the `q` of
    /// |x| <= [`TRIG_FAST`].
    #[allow(clippy::excessive_precision)]
    pub const PI4: [f64; 4] = [
        3.140_625,
        0.000_967_025_756_835_937_5,
        6.277_114_152_908_325_195_3e-07,
        1.215_420_125_655_342_076_2e-10,
    ];
    /// `sin`/`cos`/`tan` run the `f32` code for |x| <= this; other lanes (and infinities,
    /// NaN) are reduced by Payne-Hanek (`crate::ops::pi_reduce`).
    pub const TRIG_FAST: f64 = 39_000.0;
    /// tan(d) = d + d^3 P(d^2) on [-pi/4, pi/4], highest degree first (SLEEF's `xtanf`).
    #[allow(clippy::excessive_precision)]
    pub const TAN_POLY: [f64; 6] = [
        0.009_272_458_031_773_567_199_707_03,
        0.003_319_849_958_643_317_222_595_21,
        0.024_299_807_846_546_173_095_703_1,
        0.053_449_530_154_466_629_028_320_3,
        0.133_383_005_857_467_651_367_188,
        0.333_331_853_151_321_411_132_812,
    ];
    /// sin(d) = d + d^3 P(d^2) on [-pi/2, pi/2], highest degree first (SLEEF's `xsinf`).
    #[allow(clippy::excessive_precision)]
    pub const SIN_POLY: [f64; 4] = [
        2.608_315_980_978_659_354_150_3e-06,
        -0.000_198_106_907_191_686_332_225_8,
        0.008_333_078_585_565_090_179_443_36,
        -0.166_666_597_127_914_428_710_938,
    ];
    /// `log`'s polynomial in `x^2`, `x = (m - 1) / (m + 1)`, highest degree first (SLEEF's
    /// `xlogf`; ln(m) = x * P(x^2)).
    #[allow(clippy::excessive_precision)]
    pub const LOG_POLY: [f64; 5] = [
        0.239_282_846_450_805_664_062_5,
        0.285_182_118_415_832_519_531_25,
        0.400_005_877_017_974_853_515_625,
        0.666_666_686_534_881_591_796_875,
        2.0,
    ];
    /// erf(x) on |x| < [`ERF_SPLIT`]: `x (c0 + t P(t))`, `t = x^2`, `c0 = 2/sqrt(pi)`; a
    /// weighted least-squares fit in `f32` (`benches/fit_erf.py`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ERF_SMALL: [f64; 5] = [
        -0.000_679_010_001_476_854_1,
        0.005_120_480_898_767_71,
        -0.026_837_963_610_887_527,
        0.112_834_542_989_730_83,
        -0.376_126_259_565_353_4,
    ];
    /// erf(x) = 1 - e^Q(|x|) on [[`ERF_SPLIT`], [`ERF_TOP`]]: Q fits ln(erfc(x)), weighted by
    /// erfc(x), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ERF_LARGE: [f64; 9] = [
        -2.654_338_459_251_448_5e-6,
        1.437_610_171_706_182_9e-5,
        0.000_231_969_781_452_789_9,
        -0.003_525_943_495_333_194_7,
        0.023_864_442_482_590_675,
        -0.106_752_820_312_976_84,
        -0.634_483_098_983_764_6,
        -1.129_042_148_590_088,
        9.038_730_786_414_817e-5,
    ];
    /// Where erf switches from the odd polynomial to `1 - e^Q`.
    pub const ERF_SPLIT: f64 = 0.75;
    /// Beyond this |x|, erf rounds to 1 (erfc < 2^-25): the argument of Q is clamped here.
    pub const ERF_TOP: f64 = 3.92;
    /// 2/sqrt(pi) rounded to `f32` (as an `f64`), and the rest.
    pub const ERF_C0_HI: f64 = std::f64::consts::FRAC_2_SQRT_PI as f32 as f64;
    /// See [`ERF_C0_HI`].
    pub const ERF_C0_LO: f64 = std::f64::consts::FRAC_2_SQRT_PI - ERF_C0_HI;
    /// 2^s on [-1/2, 1/2] (SLEEF's `xexp2f`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const EXP2_POLY: [f64; 7] = [
        0.153_592_089_2e-3,
        0.133_926_270_1e-2,
        0.961_838_476_4e-2,
        0.555_034_726_9e-1,
        0.240_226_447_6,
        0.693_147_182_5,
        1.0,
    ];
    /// `cbrt`'s first approximation of m^(-1/3) (SLEEF's `xcbrtf`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const CBRT_POLY: [f64; 6] = [
        -0.601_564_466_953_277_587_890_625,
        2.820_889_234_542_846_679_687_5,
        -5.532_182_216_644_287_109_375,
        5.898_262_500_762_939_453_125,
        -3.809_541_702_270_507_812_5,
        2.224_125_623_703_002_929_687_5,
    ];
    /// atan(s) = s + s t P(t), t = s^2, |s| <= 1 (SLEEF's `xatanf`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ATAN_POLY: [f64; 8] = [
        0.002_823_638_962_581_753_730_773_93,
        -0.015_956_902_876_496_315_002_441_4,
        0.042_504_988_610_744_476_318_359_4,
        -0.074_890_092_015_266_418_457_031_2,
        0.106_347_933_411_598_205_566_406,
        -0.142_027_363_181_114_196_777_344,
        0.199_926_957_488_059_997_558_594,
        -0.333_331_018_686_294_555_664_062,
    ];
    /// asin's polynomial in `x^2` (SLEEF's `xasinf`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ASIN_POLY: [f64; 5] = [
        0.419_745_482_5e-1,
        0.242_404_602_5e-1,
        0.454_742_386_9e-1,
        0.749_502_927_1e-1,
        0.166_667_729_6,
    ];
    /// pi - (the `f32` nearest pi), for `acos` of negative arguments.
    #[allow(clippy::excessive_precision)]
    pub const PI_LO: f64 = -8.742_277_657_347_586e-8;
    /// log10(2) in two parts for `log10`: the high part has 12 significant bits.
    pub const L10_2_HI: f64 = 0.301_025_390_625;
    /// See [`L10_2_HI`].
    pub const L10_2_LO: f64 = std::f64::consts::LOG10_2 - L10_2_HI;
    /// `pow`'s log2 split (`benches/pow_tables.py`): the bits of 1 - 1/64. `bits(x) - this`
    /// gives the exponent `k` (its top 12 bits) and the interval (the next 4), with
    /// `x = 2^k z`, z in [1 - 1/64, 2 - 1/32).
    pub const POW_OFF_BITS: u64 = 0x3fef_8000_0000_0000;
    /// `pow`'s 1 / (the midpoint of each interval of z), 1 for the interval around 1.
    pub const POW_INVC: [f64; 16] = [
        1.0,
        0.941_176_470_588_235_3,
        0.888_888_888_888_888_8,
        0.842_105_263_157_894_7,
        0.8,
        0.761_904_761_904_761_9,
        0.727_272_727_272_727_3,
        0.695_652_173_913_043_5,
        0.666_666_666_666_666_6,
        0.64,
        0.615_384_615_384_615_4,
        0.592_592_592_592_592_6,
        0.571_428_571_428_571_4,
        0.551_724_137_931_034_5,
        0.533_333_333_333_333_3,
        0.516_129_032_258_064_5,
    ];
    /// -log2 of each [`POW_INVC`], rounded once.
    pub const POW_LOGC: [f64; 16] = [
        0.0,
        0.087_462_841_250_339_43,
        0.169_925_001_442_312_46,
        0.247_927_513_443_585_57,
        0.321_928_094_887_362_3,
        0.392_317_422_778_760_36,
        0.459_431_618_637_297_2,
        0.523_561_956_057_013,
        0.584_962_500_721_156_3,
        0.643_856_189_774_724_7,
        0.700_439_718_141_092_1,
        0.754_887_502_163_468_7,
        0.807_354_922_057_604_2,
        0.857_980_995_127_572_1,
        0.906_890_595_608_518_6,
        0.954_196_310_386_875_2,
    ];
    /// `(`[`POW_INVC`]`, `[`POW_LOGC`]`)` pairs: the JIT loads both of an interval at once.
    pub static POW_LOG_PAIRS: [[f64; 2]; 16] = {
        let mut t = [[0.0; 2]; 16];
        let mut i = 0;
        while i < 16 {
            t[i] = [POW_INVC[i], POW_LOGC[i]];
            i += 1;
        }
        t
    };
    /// log2(1 + r) / r for |r| <= 2^-5: the Taylor series to r^7, highest degree first.
    pub const POW_LOG2_POLY: [f64; 7] = [
        0.206_099_291_555_566_2,
        -0.240_449_173_481_493_9,
        0.288_539_008_177_792_66,
        -0.360_673_760_222_240_85,
        0.480_898_346_962_987_8,
        -0.721_347_520_444_481_7,
        std::f64::consts::LOG2_E,
    ];
    /// 2^(j / 16) for j in 0..16, rounded once (a static: the JIT embeds its address).
    pub static POW_EXP2_TABLE: [f64; 16] = [
        1.0,
        1.044_273_782_427_413_8,
        1.090_507_732_665_257_7,
        1.138_788_634_756_691_6,
        1.189_207_115_002_721,
        1.241_857_812_073_484,
        1.296_839_554_651_009_6,
        1.354_255_546_936_892_7,
        std::f64::consts::SQRT_2,
        1.476_826_145_939_499_3,
        1.542_210_825_407_940_7,
        1.610_490_331_949_254_3,
        1.681_792_830_507_429,
        1.756_252_160_373_299_5,
        1.834_008_086_409_342_4,
        1.915_206_561_397_147_4,
    ];
    /// 2^s for |s| <= 1/32: the Taylor series to s^5, highest degree first.
    pub const POW_EXP2_POLY: [f64; 6] = [
        0.001_333_355_814_642_844_3,
        0.009_618_129_107_628_477,
        0.055_504_108_664_821_58,
        0.240_226_506_959_100_72,
        std::f64::consts::LN_2,
        1.0,
    ];
    /// Below this |x|, `arctan2` scales both arguments by 2^24 first.
    pub const ATAN2_TINY: f64 = 2.938_737_278_354_183e-39;
}

/// The constants of the `f64` `exp` and `log` (SLEEF's `xexp`, `xlog`), shared with the JIT's code
/// (`ndx_codegen::vmath::f64`).
pub mod consts64 {
    /// log2(e).
    pub const R_LN2: f64 = std::f64::consts::LOG2_E;
    /// ln 2, high part.
    pub const L2U: f64 = 0.693_147_180_559_662_956_511_601_805_686_950_683_593_75;
    /// ln 2, low part.
    #[allow(clippy::excessive_precision)]
    pub const L2L: f64 = 0.282_352_905_630_315_771_225_884_481_750_134_360_255_254_120_68e-12;
    /// ln(f64::MAX): above, `exp` is +inf.
    pub const LOG_DBL_MAX: f64 = 709.782_712_893_384;
    /// `exp` clamps its argument to [EXP_LO, EXP_HI] before the exponent arithmetic.
    pub const EXP_LO: f64 = -1000.0;
    /// See [`EXP_LO`].
    pub const EXP_HI: f64 = 711.0;
    /// e^s on [-ln2/2, ln2/2], highest degree first (SLEEF's `xexp`).
    #[allow(clippy::excessive_precision)]
    pub const EXP_POLY: [f64; 13] = [
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
    ];
    /// `log`'s polynomial in `x^2`, `x = (m - 1) / (m + 1)`: ln(m) = 2x + x^3 P(x^2), highest
    /// degree first (SLEEF's 3.5-ULP `xlog`).
    #[allow(clippy::excessive_precision)]
    pub const LOG_POLY: [f64; 7] = [
        0.153_487_338_491_425_068_243_146,
        0.152_519_917_006_351_951_593_857,
        0.181_863_266_251_982_985_677_316,
        0.222_221_366_518_767_365_905_163,
        0.285_714_294_746_548_025_383_248,
        0.399_999_999_950_799_600_689_777,
        0.666_666_666_666_777_874_006_3,
    ];

    /// pi's second part (pi = `PI` + `PI_B2` to about 2^-160).
    #[allow(clippy::excessive_precision)]
    pub const PI_B2: f64 = 1.224_646_799_147_353_207_2e-16;
    /// `asin`'s polynomial in `x^2` (SLEEF's `xasin_u1`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ASIN_POLY: [f64; 12] = [
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
    /// `atan`'s polynomial in `s^2` (SLEEF's 3.5-ULP `xatan`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ATAN_U35_POLY: [f64; 19] = [
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
    ];
    /// `cbrt`'s first approximation of m^(-1/3) (SLEEF's 3.5-ULP `xcbrt`), highest degree
    /// first.
    #[allow(clippy::excessive_precision)]
    pub const CBRT_POLY: [f64; 6] = [
        -0.640_245_898_480_692_909_870_982,
        2.961_551_030_200_395_118_185_95,
        -5.733_530_609_229_478_436_361_66,
        6.039_903_689_894_587_479_614_07,
        -3.858_419_355_104_449_888_216_32,
        2.230_727_530_249_660_972_572_2,
    ];
    /// 2^(1/3).
    #[allow(clippy::excessive_precision)]
    pub const CBRT_2_1_3: f64 = 1.259_921_049_894_873_164_767_210_6;
    /// 2^(2/3).
    #[allow(clippy::excessive_precision)]
    pub const CBRT_2_2_3: f64 = 1.587_401_051_968_199_474_751_705_6;
    /// `logk`'s polynomial in `x^2` (SLEEF's `logk`: ln as a double-double, for `pow`),
    /// highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const LOGK_POLY: [f64; 9] = [
        0.116_255_524_079_935_043_668_677,
        0.103_239_680_901_072_952_701_192,
        0.117_754_809_412_463_995_466_069,
        0.133_329_810_868_462_739_215_09,
        0.153_846_227_114_512_262_845_736,
        0.181_818_180_850_050_775_676_507,
        0.222_222_222_230_083_560_345_903,
        0.285_714_285_714_249_172_087_875,
        0.400_000_000_000_000_077_715_612,
    ];
    /// `logk`'s coefficient of `x^3`, a double-double.
    #[allow(clippy::excessive_precision)]
    pub const LOGK_C3: (f64, f64) = (
        0.666_666_666_666_666_629_659_233,
        3.805_549_625_424_120_563_366_16e-17,
    );
    /// `expk`'s polynomial (SLEEF's `expk`: e^d of a double-double, for `pow`), highest
    /// degree first.
    #[allow(clippy::excessive_precision)]
    pub const EXPK_POLY: [f64; 10] = [
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
    ];
    /// Below this |x|, `atan2` scales both arguments by 2^53 first.
    #[allow(clippy::excessive_precision)]
    pub const ATAN2_TINY: f64 = 5.562_684_646_268_008_398_4e-309;
    /// pi in four parts (SLEEF's `PI_A`..`PI_D`) for the Cody-Waite reduction of `sin`, `cos`
    /// and `tan` below 1e14.
    #[allow(clippy::excessive_precision)]
    pub const PI_A: f64 = 3.141_592_621_803_283_691_4;
    /// See [`PI_A`].
    #[allow(clippy::excessive_precision)]
    pub const PI_B: f64 = 3.178_650_942_459_171_346_9e-08;
    /// See [`PI_A`].
    #[allow(clippy::excessive_precision)]
    pub const PI_C: f64 = 1.224_646_786_410_718_850_2e-16;
    /// See [`PI_A`].
    #[allow(clippy::excessive_precision)]
    pub const PI_D: f64 = 1.273_663_432_702_189_981_6e-24;
    /// Up to this |x|, `tan` reduces in plain doubles, `x - q pi/2` with pi in four parts
    /// (SLEEF's `xtan`): each step's product is exact and each difference exact where it
    /// cancels, so the reduced argument stays within an ULP, where the double-double
    /// reduction took 1.7x as long (BENCHMARKS.md has the errors against mpmath).
    pub const TAN_PLAIN_MAX: f64 = 1e6;
    /// `sin`/`cos`'s polynomial in `x^2` (SLEEF's `xsin_u1`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const SINCOS_POLY: [f64; 7] = [
        2.720_524_161_385_295_679_179_83e-15,
        -7.642_925_941_139_544_719_002_3e-13,
        1.605_893_701_172_778_962_116_23e-10,
        -2.505_210_681_484_312_335_936_8e-08,
        2.755_731_921_044_282_247_773_79e-06,
        -0.000_198_412_698_412_046_454_654_947,
        0.008_333_333_333_333_180_562_019_22,
    ];
    /// `sin`/`cos`'s coefficient of `x^3`, applied in double-double.
    #[allow(clippy::excessive_precision)]
    pub const SINCOS_C3: f64 = -0.166_666_666_666_666_657_414_808;
    /// `tan`'s polynomial in `x^2` (SLEEF's `xtan_u1`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const TAN_POLY: [f64; 9] = [
        0.324_509_882_663_927_631_6e-3,
        0.561_921_973_811_432_373_5e-3,
        0.146_078_150_240_278_449_4e-2,
        0.359_161_154_079_249_951_9e-2,
        0.886_326_840_956_311_312_6e-2,
        0.218_694_872_818_553_549_8e-1,
        0.539_682_539_951_727_297e-1,
        0.133_333_333_333_050_058_1,
        0.333_333_333_333_334_369_5,
    ];
    /// 2/pi as a double-double.
    #[allow(clippy::excessive_precision)]
    pub const FRAC_2_PI_DD: (f64, f64) = (
        std::f64::consts::FRAC_2_PI,
        -3.935_735_335_036_497_176_4e-17,
    );
    /// `erf`'s polynomial below 2.5 (SLEEF's `xerf_u1`: erfc = (1 + x P(x))^-16), highest
    /// degree first.
    #[allow(clippy::excessive_precision)]
    pub const ERF_A: [f64; 21] = [
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
    /// `erf`'s polynomial above 2.5 (erfc = exp(P(x))), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const ERF_B: [f64; 21] = [
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
    /// The three lowest coefficients of [`ERF_A`]'s polynomial, double-doubles (highest first).
    #[allow(clippy::excessive_precision)]
    pub const ERF_A_DD: [(f64, f64); 3] = [
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
    /// The three lowest coefficients of [`ERF_B`]'s polynomial, double-doubles (highest first).
    #[allow(clippy::excessive_precision)]
    pub const ERF_B_DD: [(f64, f64); 3] = [
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
    /// (e^s - 1 - s) / s^2, the Taylor series to s^16 (1/16!), highest degree first: `expm1`'s
    /// polynomial for |s| <= ln 2, where its truncation is below 2^-57 of e^s - 1.
    pub const EXPM1_TAYLOR: [f64; 15] = [
        4.779_477_332_387_385e-14,
        7.647_163_731_819_816e-13,
        1.147_074_559_772_972_5e-11,
        1.605_904_383_682_161_3e-10,
        2.087_675_698_786_81e-9,
        2.505_210_838_544_172e-8,
        2.755_731_922_398_589e-7,
        2.755_731_922_398_589_3e-6,
        2.480_158_730_158_73e-5,
        1.984_126_984_126_984e-4,
        1.388_888_888_888_889e-3,
        8.333_333_333_333_333e-3,
        4.166_666_666_666_666_4e-2,
        1.666_666_666_666_666_6e-1,
        0.5,
    ];
    /// (sinh(x) - x) / x^3 as a polynomial in x^2: the Taylor series to x^17 (1/17!), highest
    /// degree first; `sinh`'s for |x| < 1, where its truncation is below 2^-58 of sinh(x).
    pub const SINH_TAYLOR: [f64; 8] = [
        2.811_457_254_345_520_6e-15,
        7.647_163_731_819_816e-13,
        1.605_904_383_682_161_3e-10,
        2.505_210_838_544_172e-8,
        2.755_731_922_398_589_3e-6,
        1.984_126_984_126_984e-4,
        8.333_333_333_333_333e-3,
        1.666_666_666_666_666_6e-1,
    ];
    /// Above, `expm1` is +inf.
    #[allow(clippy::excessive_precision)]
    pub const EXPM1_OVER: f64 = 709.782_712_893_383_996_732_223;
    /// Below, `expm1` is -1.
    #[allow(clippy::excessive_precision)]
    pub const EXPM1_UNDER: f64 = -36.736_800_569_677_101_399_113_302_437;
    /// 2^s on [-1/2, 1/2], highest degree first (SLEEF's `xexp2`).
    #[allow(clippy::excessive_precision)]
    pub const EXP2_POLY: [f64; 12] = [
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
    ];
    /// ln 2 as a double-double.
    #[allow(clippy::excessive_precision)]
    pub const LN2_DD: (f64, f64) = (
        std::f64::consts::LN_2,
        2.319_046_813_846_299_558_417_771e-17,
    );
    /// `log2`'s polynomial in `x^2` (SLEEF's `xlog2` and `xlog2_u35`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const LOG2_POLY: [f64; 7] = [
        0.221_194_175_045_608_149,
        0.220_076_869_315_227_768_9,
        0.262_370_805_748_851_465_6,
        0.320_597_747_794_449_550_2,
        0.412_198_594_548_532_470_9,
        0.577_078_016_299_705_898_2,
        0.961_796_693_926_080_914_49,
    ];
    /// 2 / ln 2 (`log2`'s factor of `x`, whose product with it is taken as a double-double).
    #[allow(clippy::excessive_precision)]
    pub const LOG2_K: f64 = 2.885_390_081_777_926_774;
    /// `log10`'s polynomial in `x^2` (SLEEF's `xlog10`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const LOG10_POLY: [f64; 7] = [
        0.665_372_581_957_675_846e-1,
        0.662_572_278_282_083_371_2e-1,
        0.789_810_521_431_394_407_8e-1,
        0.965_095_503_571_527_513_2e-1,
        0.124_084_140_972_144_499_3,
        0.173_717_792_745_460_508_6,
        0.289_529_654_602_197_261_7,
    ];
    /// log10(2) as a double-double.
    #[allow(clippy::excessive_precision)]
    pub const LOG10_2_DD: (f64, f64) = (std::f64::consts::LOG10_2, -2.803_728_127_785_170_339e-18);
    /// 2 / ln 10 (`log10`'s factor of `x`, whose product with it is taken as a double-double).
    #[allow(clippy::excessive_precision)]
    pub const LOG10_K: f64 = 0.868_588_963_806_503_633_34;
    /// `log1p`'s polynomial in `x^2` (SLEEF's 1-ULP `xlog1p`), highest degree first.
    #[allow(clippy::excessive_precision)]
    pub const LOG_U1: [f64; 7] = [
        0.153_207_698_850_270_135_3,
        0.152_562_905_100_342_871_6,
        0.181_860_593_293_778_599_6,
        0.222_221_451_983_938_000_9,
        0.285_714_293_279_429_931_7,
        0.399_999_999_963_525_199,
        0.666_666_666_666_733_354_1,
    ];
}

#[cfg(target_arch = "x86_64")]
#[macro_use]
mod lanes;
#[cfg(target_arch = "x86_64")]
mod f32x16;
#[cfg(target_arch = "x86_64")]
mod f64x8;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// `$d[i] = $f($s[i])` for `i < $n`: 16 lanes at a time, then the remaining whole groups
    /// of four under a mask, then the last elements one at a time (broadcast, as the JIT's
    /// scalar tail evaluates them). Each group is read before it is written (`$s` may be `$d`).
    macro_rules! each_group {
        ($d:expr, $s:expr, $n:expr, $f:ident) => {{
            let (p, s, n): (*mut f32, *const f32, usize) = ($d, $s, $n);
            let mut i = 0;
            // SAFETY (every access below): element `i + j` is read or written only for
            // `i + j < n` (`i + 16 <= n` in the loop, the mask's lanes after it).
            while i + 16 <= n {
                let x = unsafe { _mm512_loadu_ps(s.add(i)) };
                unsafe { _mm512_storeu_ps(p.add(i), $f(x, 0xffff)) };
                i += 16;
            }
            let groups = (n - i) / 4 * 4;
            if groups > 0 {
                let m: __mmask16 = ((1u32 << groups) - 1) as u16;
                let x = unsafe { _mm512_maskz_loadu_ps(m, s.add(i)) };
                unsafe { _mm512_mask_storeu_ps(p.add(i), m, $f(x, m)) };
                i += groups;
            }
            while i < n {
                let x = _mm512_set1_ps(unsafe { *s.add(i) });
                let y = _mm_cvtss_f32(_mm512_castps512_ps128($f(x, 0xffff)));
                unsafe { *p.add(i) = y };
                i += 1;
            }
        }};
    }

    /// `d[i] = f(s[i])` for `i < n` of `f32`; the `f64`-only functions leave `d` as it is
    /// (`WideFn::is_binary`). Caller: the CPU has AVX-512F; `d` and `s` have `n`
    /// elements (`s` may be `d`).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn apply_f32(f: super::WideFn, d: *mut f32, s: *const f32, n: usize) {
        use super::f32x16::*;
        use super::WideFn;
        match f {
            WideFn::Exp => each_group!(d, s, n, exp16),
            WideFn::Tanh => each_group!(d, s, n, tanh16),
            WideFn::Log => each_group!(d, s, n, log16),
            WideFn::Sin => each_group!(d, s, n, sin16),
            WideFn::Cos => each_group!(d, s, n, cos16),
            WideFn::Tan => each_group!(d, s, n, tan16),
            WideFn::Erf => each_group!(d, s, n, erf16),
            WideFn::Exp2 => each_group!(d, s, n, exp2_16),
            WideFn::Expm1 => each_group!(d, s, n, expm1_16),
            WideFn::Sinh => each_group!(d, s, n, sinh16),
            WideFn::Cosh => each_group!(d, s, n, cosh16),
            WideFn::Log2 => each_group!(d, s, n, log2_16),
            WideFn::Log10 => each_group!(d, s, n, log10_16),
            WideFn::Log1p => each_group!(d, s, n, log1p_16),
            WideFn::Arcsin => each_group!(d, s, n, asin16),
            WideFn::Arccos => each_group!(d, s, n, acos16),
            WideFn::Arctan => each_group!(d, s, n, atan16),
            WideFn::Cbrt => each_group!(d, s, n, cbrt16),
            _ => {}
        }
    }

    /// `$name(d, x, den, n, per)`: `d[i] = x[i] / den[i / per]` for `i < n` (`x` may be
    /// `d`), `$lanes` lanes of `$t` at a time. Caller: the CPU has AVX-512F; `d` and `x` have
    /// `n` elements, `den` one for each `per` (`per >= 1`).
    macro_rules! div_rows {
        ($name:ident, $t:ty, $lanes:expr, $mask:ty,
         $loadz:ident, $div:ident, $store:ident, $set1:ident) => {
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(d: *mut $t, x: *const $t, den: *const $t, n: usize, per: usize) {
                // SAFETY (every access): indices stay below `n` (below `(i + 1) * per` and
                // `n` for the rows), `den` below `n.div_ceil(per)`; lanes past `n` are
                // masked off.
                let run = |start: usize, end: usize, q: Option<_>| {
                    let mut i = start;
                    while i < end {
                        let m: $mask = if end - i >= $lanes {
                            <$mask>::MAX
                        } else {
                            ((1u32 << (end - i)) - 1) as $mask
                        };
                        let a = unsafe { $loadz(m, x.add(i)) };
                        let b = q.unwrap_or_else(|| unsafe { $loadz(m, den.add(i)) });
                        unsafe { $store(d.add(i), m, $div(m, a, b)) };
                        i += $lanes;
                    }
                };
                if per == 1 {
                    run(0, n, None);
                } else {
                    for r in 0..n.div_ceil(per) {
                        let q = $set1(unsafe { *den.add(r) });
                        run(r * per, ((r + 1) * per).min(n), Some(q));
                    }
                }
            }
        };
    }

    div_rows!(
        div_ps,
        f32,
        16,
        __mmask16,
        _mm512_maskz_loadu_ps,
        _mm512_maskz_div_ps,
        _mm512_mask_storeu_ps,
        _mm512_set1_ps
    );
    div_rows!(
        div_pd,
        f64,
        8,
        __mmask8,
        _mm512_maskz_loadu_pd,
        _mm512_maskz_div_pd,
        _mm512_mask_storeu_pd,
        _mm512_set1_pd
    );

    /// `$d[i] = $f($s[i])` for `i < $n` of `f64`, 8 lanes at a time, the last group under a
    /// mask (a partial group gives the same bits: its lanes are computed as in a full one).
    /// Each group is read before it is written (`$s` may be `$d`).
    macro_rules! each_group_pd {
        ($d:expr, $s:expr, $n:expr, $f:ident) => {{
            let (p, s, n): (*mut f64, *const f64, usize) = ($d, $s, $n);
            let mut i = 0;
            while i < n {
                let m: __mmask8 = if n - i >= 8 {
                    0xff
                } else {
                    ((1u32 << (n - i)) - 1) as u8
                };
                // SAFETY: lanes at `i + j < n` only.
                let x = unsafe { _mm512_maskz_loadu_pd(m, s.add(i)) };
                unsafe { _mm512_mask_storeu_pd(p.add(i), m, $f(x)) };
                i += 8;
            }
        }};
    }

    /// `$d[i] = $f($a[i], $b[i])` for `i < $n`, `$lanes` lanes at a time (a mask of type `$m`,
    /// loads and stores by `$load`/`$store`), the last group under a mask: the functions have
    /// no branch that changes a lane's bits. Each group is read before it is written (`$a` or
    /// `$b` may be `$d`).
    macro_rules! each_pair {
        (
            $d:expr, $a:expr, $b:expr, $n:expr, $f:ident,
            $lanes:literal, $m:ty, $load:ident, $store:ident
        ) => {{
            let (d, a, b, n) = ($d, $a, $b, $n);
            let mut i = 0;
            while i < n {
                let m: $m = if n - i >= $lanes {
                    !0
                } else {
                    ((1u32 << (n - i)) - 1) as $m
                };
                // SAFETY: lanes at `i + j < n` only, of arrays of `n` elements.
                let (x, y) = unsafe { ($load(m, a.add(i)), $load(m, b.add(i))) };
                unsafe { $store(d.add(i), m, $f(x, y)) };
                i += $lanes;
            }
        }};
    }

    /// `d[i] = f(a[i], b[i])` for `i < n` of `f32`, 16 lanes at a time. Caller: the CPU has
    /// AVX-512F; `a`, `b` and `d` have `n` elements (`a` or `b` may be `d`).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn apply2_f32(
        f: super::WideFn,
        d: *mut f32,
        a: *const f32,
        b: *const f32,
        n: usize,
    ) {
        use super::f32x16::{atan2_16, pow16};
        let (load, store) = (_mm512_maskz_loadu_ps, _mm512_mask_storeu_ps);
        match f {
            super::WideFn::Pow => each_pair!(d, a, b, n, pow16, 16, __mmask16, load, store),
            super::WideFn::Arctan2 => each_pair!(d, a, b, n, atan2_16, 16, __mmask16, load, store),
            _ => {}
        }
    }

    /// `d[i] = f(a[i], b[i])` for `i < n` of `f64`, 8 lanes at a time. Caller: the CPU has
    /// AVX-512F; `a`, `b` and `d` have `n` elements (`a` or `b` may be `d`).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn apply2_f64(
        f: super::WideFn,
        d: *mut f64,
        a: *const f64,
        b: *const f64,
        n: usize,
    ) {
        use super::f64x8::{atan2_8, pow8};
        let (load, store) = (_mm512_maskz_loadu_pd, _mm512_mask_storeu_pd);
        match f {
            super::WideFn::Pow => each_pair!(d, a, b, n, pow8, 8, __mmask8, load, store),
            super::WideFn::Arctan2 => each_pair!(d, a, b, n, atan2_8, 8, __mmask8, load, store),
            _ => {}
        }
    }

    /// `d[i] = f(s[i])` for `i < n` of `f64`; other functions leave `d` as it is
    /// (`WideFn::is_binary`). Caller: the CPU has AVX-512F; `d` and `s` have `n`
    /// elements (`s` may be `d`).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn apply_f64(f: super::WideFn, d: *mut f64, s: *const f64, n: usize) {
        use super::f64x8::*;
        use super::WideFn;
        match f {
            WideFn::Exp => each_group_pd!(d, s, n, exp8),
            WideFn::Exp2 => each_group_pd!(d, s, n, exp2_8),
            WideFn::Expm1 => each_group_pd!(d, s, n, expm1_8),
            WideFn::Sinh => each_group_pd!(d, s, n, sinh8),
            WideFn::Cosh => each_group_pd!(d, s, n, cosh8),
            WideFn::Tanh => each_group_pd!(d, s, n, tanh8),
            WideFn::Log => each_group_pd!(d, s, n, log8),
            WideFn::Log2 => each_group_pd!(d, s, n, log2_8),
            WideFn::Log10 => each_group_pd!(d, s, n, log10_8),
            WideFn::Log1p => each_group_pd!(d, s, n, log1p_8),
            WideFn::Arcsin => each_group_pd!(d, s, n, asin8),
            WideFn::Arccos => each_group_pd!(d, s, n, acos8),
            WideFn::Arctan => each_group_pd!(d, s, n, atan8),
            WideFn::Cbrt => each_group_pd!(d, s, n, cbrt8),
            WideFn::Sin => each_group_pd!(d, s, n, sin8),
            WideFn::Cos => each_group_pd!(d, s, n, cos8),
            WideFn::Tan => each_group_pd!(d, s, n, tan8),
            WideFn::Erf => each_group_pd!(d, s, n, erf8),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared constants as the JIT rounds them.
    mod k {
        use super::consts as c;
        pub const R_LN2: f32 = c::R_LN2 as f32;
        pub const L2U: f32 = c::L2U as f32;
        pub const L2L: f32 = c::L2L as f32;
        pub const SHIFTER: f32 = 12_582_912.0;
        pub const TANH_CLAMP: f32 = c::TANH_CLAMP as f32;
        pub const EXPM1_POLY: [f32; 5] = [
            c::EXPM1_POLY[0] as f32,
            c::EXPM1_POLY[1] as f32,
            c::EXPM1_POLY[2] as f32,
            c::EXPM1_POLY[3] as f32,
            c::EXPM1_POLY[4] as f32,
        ];
    }

    /// Scalar references of the same algorithms (every step an IEEE `f32` operation), for the
    /// lanes the fast paths take.
    fn exp_ref(d: f32) -> f32 {
        let t = d.mul_add(k::R_LN2, k::SHIFTER);
        let q = t - k::SHIFTER;
        let s = q.mul_add(-k::L2U, d);
        let s = q.mul_add(-k::L2L, s);
        let [c4, c3, c2, c1, c0] = k::EXPM1_POLY;
        let u = [c3, c2, c1, c0].iter().fold(c4, |u, &ci| u.mul_add(s, ci));
        let u = (s * s).mul_add(u, s) + 1.0;
        f32::from_bits(u.to_bits().wrapping_add(t.to_bits() << 23))
    }

    fn tanh_ref(x: f32) -> f32 {
        let y = if k::TANH_CLAMP < x.abs() {
            k::TANH_CLAMP
        } else {
            x.abs()
        };
        let z = y + y;
        let t = z.mul_add(k::R_LN2, k::SHIFTER);
        let q = t - k::SHIFTER;
        let s = q.mul_add(-k::L2U, z);
        let s = q.mul_add(-k::L2L, s);
        let s2 = s * s;
        let [c4, c3, c2, c1, c0] = k::EXPM1_POLY;
        let lo = s.mul_add(c1, c0);
        let hi = s2.mul_add(c4, s.mul_add(c3, c2));
        let p = s2.mul_add(s2.mul_add(hi, lo), s);
        let tq = f32::from_bits(1f32.to_bits().wrapping_add(t.to_bits() << 23));
        let r = tq.mul_add(p, tq - 1.0) / tq.mul_add(p, tq + 1.0);
        f32::from_bits(r.to_bits() ^ (x.to_bits() & 0x8000_0000))
    }

    fn sample() -> Vec<f32> {
        // Every length's tail handling, values across the fast range.
        (0..4099)
            .map(|i| ((i as f32) * 0.618_034).sin() * 80.0 + (i % 7) as f32 * 1e-3)
            .collect()
    }

    #[test]
    fn fast_paths_match_the_scalar_algorithm_bit_for_bit() {
        if !available() {
            return;
        }
        for len in [0, 1, 3, 4, 5, 15, 16, 17, 31, 35, 4099] {
            let x = &sample()[..len];
            let (mut e, mut t) = (x.to_vec(), x.to_vec());
            assert!(apply(WideFn::Exp, &mut e));
            assert!(apply(WideFn::Tanh, &mut t));
            for (i, &v) in x.iter().enumerate() {
                assert_eq!(
                    e[i].to_bits(),
                    exp_ref(v).to_bits(),
                    "exp({v}) at {i}/{len}"
                );
                assert_eq!(
                    t[i].to_bits(),
                    tanh_ref(v).to_bits(),
                    "tanh({v}) at {i}/{len}"
                );
            }
        }
    }

    #[test]
    fn division_is_ieee_per_element_and_per_row() {
        if !available() {
            return;
        }
        let x = sample();
        let den: Vec<f32> = (0..x.len())
            .map(|i| (i as f32 * 0.37).cos() * 3.0)
            .collect();
        for n in [0, 1, 15, 16, 17, 100, 4099] {
            let mut d = vec![0.0; n];
            assert!(div(&mut d, Some(&x[..n]), &den, 1));
            for i in 0..n {
                assert_eq!(d[i].to_bits(), (x[i] / den[i]).to_bits());
            }
            for per in [1, 3, 16, 17, 1000] {
                let mut d = x[..n].to_vec();
                assert!(div(&mut d, None, &den, per));
                for i in 0..n {
                    assert_eq!(d[i].to_bits(), (x[i] / den[i / per]).to_bits(), "{n} {per}");
                }
            }
        }
        // Random bit patterns (every exponent, subnormals, infinities, NaN), and quotients on
        // subnormal midpoints, per row against the division.
        let mut g = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            g ^= g << 13;
            g ^= g >> 7;
            g ^= g << 17;
            g
        };
        let mut xs: Vec<f32> = (0..200_000)
            .map(|_| f32::from_bits(next() as u32))
            .collect();
        xs.extend([
            3.0 * 2f32.powi(-149),
            2f32.powi(-149),
            5.0 * 2f32.powi(-149),
            0.0,
            -0.0,
        ]);
        for q in [
            6.0,
            2.0,
            10.0,
            3.0,
            0.1,
            1e-45,
            1e38,
            f32::MAX,
            0.0,
            -0.0,
            f32::INFINITY,
        ]
        .into_iter()
        .chain((0..300).map(|_| f32::from_bits(next() as u32)))
        {
            let mut d = xs.clone();
            assert!(div(&mut d, None, &[q], xs.len()));
            for (got, x) in d.iter().zip(&xs) {
                let want = x / q;
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "{x:e} / {q:e}: {got:e} against {want:e}"
                );
            }
        }
        // Quotients exactly on a subnormal midpoint, M 2^-150 with M odd: x = M q 2^-150.
        for q in (1..400).map(|k| k as f32).chain([0.1, 0.3, 1.7, 2.9, 11.3]) {
            let xs: Vec<f32> = (1..400)
                .step_by(2)
                .map(|m| m as f32 * q * 2f32.powi(-75) * 2f32.powi(-75))
                .filter(|x| *x != 0.0)
                .collect();
            let mut d = xs.clone();
            assert!(div(&mut d, None, &[q], xs.len()));
            for (got, x) in d.iter().zip(&xs) {
                assert_eq!(got.to_bits(), (x / q).to_bits(), "{x:e} / {q:e}");
            }
        }
        let mut d = vec![0.0; 10];
        assert!(!div(&mut d, None, &den[..3], 3));
        assert!(!div(&mut d, Some(&x[..9]), &den, 1));
        assert!(!div(&mut d, None, &den, 0));
    }

    /// A binary function through the one-operand entry points (or the converse) is refused,
    /// the data untouched.
    #[test]
    fn entry_points_refuse_the_other_arity() {
        let mut d = vec![2.0f32; 20];
        assert!(!apply(WideFn::Pow, &mut d));
        assert!(!apply_from(WideFn::Arctan2, &mut d, &[1.0; 20]));
        assert!(!apply2(WideFn::Exp, &mut d, None, Some(&[1.0; 20])));
        assert!(d.iter().all(|&x| x == 2.0));
    }

    #[test]
    fn special_values_follow_libm() {
        if !available() {
            return;
        }
        let x = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            88.7,
            -88.0,
            -103.0,
            -110.0,
            1e-40,
            89.0,
            1.0,
        ];
        let mut e = x.to_vec();
        assert!(apply(WideFn::Exp, &mut e));
        assert!(e[0].is_nan());
        assert_eq!(e[1], f32::INFINITY);
        assert_eq!(e[2].to_bits(), 0);
        assert_eq!(e[3], 1.0);
        assert_eq!(e[4], 1.0);
        assert_eq!(e[8].to_bits(), 0);
        assert_eq!(e[9], 1.0);
        assert_eq!(e[10], f32::INFINITY);
        for (i, &v) in x
            .iter()
            .enumerate()
            .filter(|(i, _)| [5, 6, 7, 11].contains(i))
        {
            let want = (v as f64).exp() as f32;
            let ulps = (e[i].to_bits() as i64 - want.to_bits() as i64).abs();
            assert!(ulps <= 1, "exp({v}) = {} against {want}", e[i]);
        }
        let mut t = x.to_vec();
        assert!(apply(WideFn::Tanh, &mut t));
        assert!(t[0].is_nan());
        assert_eq!(t[1], 1.0);
        assert_eq!(t[2], -1.0);
        assert_eq!(t[3].to_bits(), 0f32.to_bits());
        assert_eq!(t[4].to_bits(), (-0f32).to_bits());
        assert_eq!(t[9], 1e-40);
    }
}
