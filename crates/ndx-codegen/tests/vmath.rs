//! The math library against libm: every function on both float dtypes, through the vector
//! loop (contiguous input) and the scalar loop (strided input), on dense log-uniform samples
//! of both signs over the whole domain plus special values. Within 4 ULP of the reference
//! (f32: the f64 libm result rounded to f32; f64: Rust's std, i.e. glibc), NaN for NaN, and
//! zeros and infinities of the same sign.

mod common;
use common::*;
use ndx_ir::kernel::{BinaryOp as B, UnaryOp as U};
use ndx_runtime::ops::wide_math::{self, WideFn};
use ndx_runtime::DType;

const MAX_ULP: u64 = 4;
/// Random samples per function and dtype (the specials come on top).
const SAMPLES: usize = 100_000;

extern "C" {
    fn erf(x: f64) -> f64;
}

/// The f64 reference of a unary function.
fn reference(op: U) -> fn(f64) -> f64 {
    match op {
        U::Exp => f64::exp,
        U::Exp2 => f64::exp2,
        U::Expm1 => f64::exp_m1,
        U::Log => f64::ln,
        U::Log2 => f64::log2,
        U::Log10 => f64::log10,
        U::Log1p => f64::ln_1p,
        U::Sin => f64::sin,
        U::Cos => f64::cos,
        U::Tan => f64::tan,
        U::Arcsin => f64::asin,
        U::Arccos => f64::acos,
        U::Arctan => f64::atan,
        U::Sinh => f64::sinh,
        U::Cosh => f64::cosh,
        U::Tanh => f64::tanh,
        // SAFETY: glibc's erf is a pure function of its argument.
        U::Erf => |x| unsafe { erf(x) },
        U::Cbrt => f64::cbrt,
        _ => |_| f64::NAN,
    }
}

const UNARY: [U; 18] = [
    U::Exp,
    U::Exp2,
    U::Expm1,
    U::Log,
    U::Log2,
    U::Log10,
    U::Log1p,
    U::Sin,
    U::Cos,
    U::Tan,
    U::Arcsin,
    U::Arccos,
    U::Arctan,
    U::Sinh,
    U::Cosh,
    U::Tanh,
    U::Erf,
    U::Cbrt,
];

/// A small deterministic generator (PCG-style LCG, top bits).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
    /// `+-10^u`, `u` uniform in [lo, hi].
    fn logu(&mut self, lo: f64, hi: f64) -> f64 {
        let u = lo + (hi - lo) * self.unit();
        let v = 10f64.powf(u);
        if self.next() & 1 == 0 {
            v
        } else {
            -v
        }
    }
}

/// The range of log10|x| where `op` does something other than saturate: sampled as densely
/// as the whole float range.
fn focus(op: U) -> (f64, f64) {
    match op {
        U::Exp | U::Expm1 | U::Sinh | U::Cosh | U::Exp2 => (-4.0, 3.1),
        U::Tanh | U::Erf => (-4.0, 1.5),
        U::Sin | U::Cos | U::Tan => (-4.0, 6.0),
        U::Arcsin | U::Arccos => (-6.0, 0.0),
        _ => (-4.0, 4.0),
    }
}

fn specials() -> Vec<f64> {
    let mut v = vec![
        0.0,
        1.0,
        2.0,
        0.5,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f32::MIN_POSITIVE as f64,
        f32::MAX as f64,
        f32::from_bits(1) as f64,
        std::f64::consts::PI,
        std::f64::consts::FRAC_PI_2,
        std::f64::consts::FRAC_PI_4,
        709.78,
        709.782712893384,
        709.79,
        710.4758600739439,
        710.48,
        -745.1332191019411,
        -745.2,
        -708.4,
        88.72283,
        88.7229,
        89.4,
        -103.972,
        -87.3,
        1023.99,
        1024.0,
        -1074.0,
        -1075.0,
        -149.0,
        -150.0,
        127.99,
        128.0,
        18.7,
        19.0,
        0.99999,
        1e-8,
        1e-300,
        1e14,
        1.5e14,
        1e22,
        1e300,
        -36.8,
        2.5,
        6.0,
        5.9,
        1e307,
        1.5e308,
        f64::from_bits(0x0004_0000_0000_0001),
    ];
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v
}

/// Distance in representable numbers; `None` when the special-value rules are broken.
fn ulps64(got: f64, want: f64) -> Option<u64> {
    if want.is_nan() || got.is_nan() {
        return (want.is_nan() && got.is_nan()).then_some(0);
    }
    if want.is_infinite() || got.is_infinite() || want == 0.0 || got == 0.0 {
        if want == 0.0 && got == 0.0 {
            return (want.to_bits() == got.to_bits()).then_some(0);
        }
        if want.is_infinite() || got.is_infinite() {
            return (want == got).then_some(0);
        }
    }
    let ord = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            -(i & i64::MAX) as i128
        } else {
            i as i128
        }
    };
    Some((ord(got) - ord(want)).unsigned_abs() as u64)
}

fn ulps32(got: f32, want: f32) -> Option<u64> {
    if want.is_nan() || got.is_nan() {
        return (want.is_nan() && got.is_nan()).then_some(0);
    }
    if want == 0.0 && got == 0.0 {
        return (want.to_bits() == got.to_bits()).then_some(0);
    }
    if want.is_infinite() || got.is_infinite() {
        return (want == got).then_some(0);
    }
    let ord = |x: f32| {
        let i = x.to_bits() as i32 as i64;
        if i < 0 {
            -(i & 0x7fff_ffff)
        } else {
            i
        }
    };
    Some((ord(got) - ord(want)).unsigned_abs())
}

/// Runs the kernel `inputs -> out` on `n` points: contiguous (vector loop) and, when
/// `strided`, through a stride-2 copy of the inputs (scalar loop).
fn run<T: Copy + Default>(k: &K, d: DType, inputs: &[Vec<T>], strided: bool) -> Vec<T> {
    let mut jit = jit();
    let n = inputs[0].len();
    let mut out = vec![T::default(); n];
    if strided {
        let wide: Vec<Vec<T>> = inputs
            .iter()
            .map(|v| v.iter().flat_map(|x| [*x, *x]).collect())
            .collect();
        let mut arrays: Vec<_> = wide.iter().map(|v| raw(v, d, &[2])).collect();
        arrays.push(raw_mut(&mut out, d, &[1]));
        jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
    } else {
        let mut arrays: Vec<_> = inputs.iter().map(|v| raw(v, d, &[1])).collect();
        arrays.push(raw_mut(&mut out, d, &[1]));
        jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
    }
    out
}

fn unary_points(op: U, f32_range: bool) -> Vec<f64> {
    let mut rng = Rng(0x5eed ^ op as u64);
    let (lo, hi) = focus(op);
    let (flo, fhi) = if f32_range {
        (-45.0, 38.5)
    } else {
        (-323.0, 308.2)
    };
    let mut v = specials();
    for i in 0..SAMPLES {
        v.push(if i % 2 == 0 {
            rng.logu(lo, hi)
        } else {
            rng.logu(flo, fhi)
        });
    }
    v
}

fn check_unary(op: U) {
    let f = reference(op);
    // f64
    let mut k = K::new();
    let x = k.input(DType::F64);
    let y = k.un(op, x);
    k.out(y);
    let xs = unary_points(op, false);
    for strided in [false, true] {
        let pts: Vec<f64> = if strided {
            xs.iter().copied().step_by(7).collect()
        } else {
            xs.clone()
        };
        let got = run(&k, DType::F64, std::slice::from_ref(&pts), strided);
        let mut worst = (0u64, 0.0f64);
        for (x, g) in pts.iter().zip(&got) {
            let want = f(*x);
            match ulps64(*g, want) {
                Some(u) if u <= MAX_ULP => {
                    if u > worst.0 {
                        worst = (u, *x);
                    }
                }
                u => panic!("{op:?} f64 (strided {strided}) at {x:e} ({:#x}): got {g:e}, want {want:e} ({u:?} ULP)", x.to_bits()),
            }
        }
        eprintln!(
            "{op:?} f64 strided={strided}: max {} ULP at {:e}",
            worst.0, worst.1
        );
    }
    // f32
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.un(op, x);
    k.out(y);
    let xs: Vec<f32> = unary_points(op, true).iter().map(|&x| x as f32).collect();
    for strided in [false, true] {
        let pts: Vec<f32> = if strided {
            xs.iter().copied().step_by(7).collect()
        } else {
            xs.clone()
        };
        let got = run(&k, DType::F32, std::slice::from_ref(&pts), strided);
        let mut worst = (0u64, 0.0f32);
        for (x, g) in pts.iter().zip(&got) {
            let want = f(f64::from(*x)) as f32;
            match ulps32(*g, want) {
                Some(u) if u <= MAX_ULP => {
                    if u > worst.0 {
                        worst = (u, *x);
                    }
                }
                u => panic!("{op:?} f32 (strided {strided}) at {x:e} ({:#x}): got {g:e}, want {want:e} ({u:?} ULP)", x.to_bits()),
            }
        }
        eprintln!(
            "{op:?} f32 strided={strided}: max {} ULP at {:e}",
            worst.0, worst.1
        );
    }
}

macro_rules! unary_tests {
    ($($name:ident: $op:expr;)*) => {
        $(#[test] fn $name() { check_unary($op); })*
    };
}

unary_tests! {
    exp: U::Exp;
    exp2: U::Exp2;
    expm1: U::Expm1;
    log: U::Log;
    log2: U::Log2;
    log10: U::Log10;
    log1p: U::Log1p;
    sin: U::Sin;
    cos: U::Cos;
    tan: U::Tan;
    arcsin: U::Arcsin;
    arccos: U::Arccos;
    arctan: U::Arctan;
    sinh: U::Sinh;
    cosh: U::Cosh;
    tanh: U::Tanh;
    erf_: U::Erf;
    cbrt: U::Cbrt;
}

#[test]
fn every_unary_function_is_tested() {
    assert_eq!(UNARY.len(), 18);
}

/// Pairs for a binary function: dense samples of both operands plus the special values
/// crossed with each other.
fn binary_points(op: B, f32_range: bool) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng(0xb1a5 ^ op as u64);
    let sp = specials();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for a in sp.iter().step_by(3) {
        for b in sp.iter().step_by(3) {
            xs.push(*a);
            ys.push(*b);
        }
    }
    let (flo, fhi) = if f32_range {
        (-45.0, 38.5)
    } else {
        (-323.0, 308.2)
    };
    for i in 0..SAMPLES {
        let (x, y) = match (op, i % 4) {
            (B::Pow, 0) => (rng.logu(-3.0, 3.0).abs(), rng.logu(-3.0, 2.0)),
            (B::Pow, 1) => (rng.logu(-1.0, 1.0), (rng.unit() * 40.0 - 20.0).round()),
            (B::Pow, 2) => (1.0 + rng.logu(-8.0, -1.0), rng.logu(0.0, 9.0)),
            (_, 0 | 1) => (rng.logu(-4.0, 4.0), rng.logu(-4.0, 4.0)),
            _ => (rng.logu(flo, fhi), rng.logu(flo, fhi)),
        };
        xs.push(x);
        ys.push(y);
    }
    (xs, ys)
}

fn check_binary(op: B, f: fn(f64, f64) -> f64) {
    let mut k = K::new();
    let x = k.input(DType::F64);
    let y = k.input(DType::F64);
    let r = k.bin(op, x, y);
    k.out(r);
    let (xs, ys) = binary_points(op, false);
    for strided in [false, true] {
        let (px, py): (Vec<f64>, Vec<f64>) = if strided {
            (
                xs.iter().copied().step_by(7).collect(),
                ys.iter().copied().step_by(7).collect(),
            )
        } else {
            (xs.clone(), ys.clone())
        };
        let got = run(&k, DType::F64, &[px.clone(), py.clone()], strided);
        let mut worst = 0;
        for ((a, b), g) in px.iter().zip(&py).zip(&got) {
            let want = f(*a, *b);
            match ulps64(*g, want) {
                Some(u) if u <= MAX_ULP => worst = worst.max(u),
                u => panic!("{op:?} f64 ({a:e}, {b:e}): got {g:e}, want {want:e} ({u:?} ULP)"),
            }
        }
        eprintln!("{op:?} f64 strided={strided}: max {worst} ULP");
    }
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let r = k.bin(op, x, y);
    k.out(r);
    let (xs, ys) = binary_points(op, true);
    let xs: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let ys: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
    for strided in [false, true] {
        let got = run(&k, DType::F32, &[xs.clone(), ys.clone()], strided);
        let mut worst = 0;
        for ((a, b), g) in xs.iter().zip(&ys).zip(&got) {
            let want = f(f64::from(*a), f64::from(*b)) as f32;
            match ulps32(*g, want) {
                Some(u) if u <= MAX_ULP => worst = worst.max(u),
                u => panic!("{op:?} f32 ({a:e}, {b:e}): got {g:e}, want {want:e} ({u:?} ULP)"),
            }
        }
        eprintln!("{op:?} f32 strided={strided}: max {worst} ULP");
    }
}

#[test]
fn pow() {
    check_binary(B::Pow, f64::powf);
}

#[test]
fn arctan2() {
    check_binary(B::Arctan2, f64::atan2);
}

/// The f32 kernel `op(a, b)` on the pairs `(a, b)`, against `f` in f64 rounded to f32: within
/// 4 ULP, special values exact. Returns the largest distance.
fn check_f32_pairs(op: B, f: fn(f64, f64) -> f64, a: Vec<f32>, b: Vec<f32>) -> u64 {
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let r = k.bin(op, x, y);
    k.out(r);
    let got = run(&k, DType::F32, &[a.clone(), b.clone()], false);
    // The block programs' 512-bit code (on a CPU with AVX-512F) gives the same bits.
    let wide = match op {
        B::Pow => WideFn::Pow,
        _ => WideFn::Arctan2,
    };
    let mut w = vec![0f32; a.len()];
    if wide_math::apply2(wide, &mut w, Some(&a), Some(&b)) {
        for (i, (g, v)) in got.iter().zip(&w).enumerate() {
            let same = g.to_bits() == v.to_bits() || (g.is_nan() && v.is_nan());
            assert!(
                same,
                "{op:?} f32 ({:e}, {:e}): JIT {g:e}, 512-bit {v:e}",
                a[i], b[i]
            );
        }
    }
    let mut worst = 0;
    for ((p, q), g) in a.iter().zip(&b).zip(&got) {
        let want = f(f64::from(*p), f64::from(*q)) as f32;
        match ulps32(*g, want) {
            Some(u) if u <= MAX_ULP => worst = worst.max(u),
            u => panic!("{op:?} f32 ({p:e}, {q:e}): got {g:e}, want {want:e} ({u:?} ULP)"),
        }
    }
    worst
}

/// Special f32 values for the binary functions, every pair of them.
fn special_pairs() -> (Vec<f32>, Vec<f32>) {
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -2.0,
        3.0,
        1e-45,
        -1e-45,
        1e-39,
        3e38,
        -3e38,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    special
        .iter()
        .flat_map(|&a| special.iter().map(move |&b| (a, b)))
        .unzip()
}

/// f32 `arctan2` (native `f32x4` code) on a million pairs of random bit patterns, which cover
/// every exponent, both signs, subnormals, infinities and NaN, and on every pair of special
/// values.
#[test]
fn arctan2_f32_over_random_bits() {
    let mut rng = Rng(0xa7a2);
    let (mut ys, mut xs): (Vec<f32>, Vec<f32>) = (0..1_000_000)
        .map(|_| {
            let a = f32::from_bits(rng.next() as u32);
            (a, f32::from_bits(rng.next() as u32))
        })
        .unzip();
    let (sy, sx) = special_pairs();
    ys.extend(sy);
    xs.extend(sx);
    let worst = check_f32_pairs(B::Arctan2, f64::atan2, ys, xs);
    eprintln!("arctan2 f32 over random bits: max {worst} ULP");
}

/// f32 `pow` (in `f64` lanes, from tables): a million bases over every
/// exponent with exponents that reach overflow and underflow (|y log2 x| up to 200), negative
/// bases with integer exponents, random bit patterns, and every pair of special values.
#[test]
fn pow_f32_over_the_range() {
    let mut rng = Rng(0x9047);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..1_000_000 {
        let x = f32::from_bits(rng.next() as u32 & 0x7fff_ffff);
        if !x.is_finite() || x == 0.0 {
            continue;
        }
        let l2 = f64::from(x).log2();
        let t = (rng.unit() * 2.0 - 1.0) * 200.0;
        let y = if l2.abs() > 1e-3 { t / l2 } else { t * 1e3 };
        let (x, y) = match i % 4 {
            0 => (-x, (y as f32).round()),
            1 => (x, f32::from_bits(rng.next() as u32)),
            _ => (x, y as f32),
        };
        xs.push(x);
        ys.push(y);
    }
    let (sx, sy) = special_pairs();
    xs.extend(sx);
    ys.extend(sy);
    let worst = check_f32_pairs(B::Pow, f64::powf, xs, ys);
    eprintln!("pow f32 over the range: max {worst} ULP");
}

/// `x ** n` for small integer constants is multiplications, vectorised, and exact for 2.
#[test]
fn pow_small_integer_constants() {
    use ndx_runtime::Scalar;
    for n in [-1.0f32, 0.0, 1.0, 2.0, 3.0, 4.0, 2.5, 0.5] {
        let mut k = K::new();
        let x = k.input(DType::F32);
        let c = k.c(Scalar::F32(n));
        let p = k.bin(B::Pow, x, c);
        k.out(p);
        let mut xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.37).collect();
        xs.extend([
            -0.0,
            0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            -1e-40,
        ]);
        let got = run(&k, DType::F32, std::slice::from_ref(&xs), false);
        for (x, g) in xs.iter().zip(&got) {
            let want = f64::from(*x).powf(f64::from(n)) as f32;
            let u = ulps32(*g, want);
            assert!(matches!(u, Some(u) if u <= 2), "{x} ** {n}: {g} vs {want}");
        }
    }
}

/// Math functions inside a vectorised reduction, with the branchy ones taking every path
/// (small and large sin arguments, lanes for libm) in the same loop.
#[test]
fn math_in_reductions_and_selects() {
    use ndx_ir::kernel::ReduceOp as R;
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F64);
    let s = k.un(U::Sin, x);
    let e = k.un(U::Exp, s);
    let z = k.c(ndx_runtime::Scalar::F64(0.0));
    let pos = k.bin(B::Gt, x, z);
    let v = k.select(pos, e, s);
    k.reduce(v, R::Sum);
    let mut xs: Vec<f64> = (0..1001).map(|i| (i as f64 - 500.0) * 0.37).collect();
    xs[17] = 3e15;
    xs[400] = -7e20;
    let mut out = [0f64];
    let arrays = [
        raw(&xs, DType::F64, &[1]),
        raw_mut(&mut out, DType::F64, &[0]),
    ];
    jit.execute(&k.0, &[xs.len()], &[true], &arrays).unwrap();
    let want: f64 = xs
        .iter()
        .map(|&x| if x > 0.0 { x.sin().exp() } else { x.sin() })
        .sum();
    assert!(
        (out[0] - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{} vs {want}",
        out[0]
    );
}

/// Whole vectors inside the common range take the cheaper forms (f32 `exp` scales once when
/// every lane's result is normal; sin/cos/tan reduce with two constants below 15): dense
/// uniform samples there, in order, so that every vector is such a vector.
#[test]
fn fast_paths_on_whole_vectors() {
    for (op, lo, hi) in [
        (U::Exp, -87.0, 88.0),
        (U::Tanh, -10.0, 10.0),
        (U::Sin, -15.0, 15.0),
        (U::Cos, -15.0, 15.0),
        (U::Tan, -15.0, 15.0),
        (U::Erf, -2.5, 2.5),
    ] {
        let f = reference(op);
        let n = 20_000;
        let xs: Vec<f64> = (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / n as f64)
            .collect();
        let mut k = K::new();
        let x = k.input(DType::F32);
        let y = k.un(op, x);
        k.out(y);
        let x32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let got = run(&k, DType::F32, std::slice::from_ref(&x32), false);
        for (x, g) in x32.iter().zip(&got) {
            let want = f(f64::from(*x)) as f32;
            let u = ulps32(*g, want);
            assert!(
                matches!(u, Some(u) if u <= MAX_ULP),
                "{op:?} f32 {x}: {g} vs {want}"
            );
        }
        let mut k = K::new();
        let x = k.input(DType::F64);
        let y = k.un(op, x);
        k.out(y);
        let got = run(&k, DType::F64, std::slice::from_ref(&xs), false);
        for (x, g) in xs.iter().zip(&got) {
            let want = f(*x);
            let u = ulps64(*g, want);
            assert!(
                matches!(u, Some(u) if u <= MAX_ULP),
                "{op:?} f64 {x}: {g} vs {want}"
            );
        }
    }
}

/// Where f(x) = x + O(x^2), libm returns a tiny `x` itself, subnormals included; so must the
/// JIT's code, bit for bit (a halving inside `tan` and `log1p` of f64 and `sinh` of f32 once
/// turned the smallest subnormal into zero, which the ULP distance above accepts as 1 ULP).
#[test]
fn tiny_arguments_come_back_unchanged() {
    const ODD: [U; 8] = [
        U::Sin,
        U::Tan,
        U::Arcsin,
        U::Arctan,
        U::Sinh,
        U::Tanh,
        U::Expm1,
        U::Log1p,
    ];
    let f64s: Vec<f64> = [5e-324, 1e-310, 2.2e-308, 1e-300, 1e-20]
        .iter()
        .flat_map(|&x| [x, -x])
        .collect();
    let f32s: Vec<f32> = [1e-45f32, 1e-40, 1.2e-38, 1e-30, 1e-10]
        .iter()
        .flat_map(|&x| [x, -x])
        .collect();
    let mut wrong = 0;
    for op in ODD {
        let want = reference(op);
        for strided in [false, true] {
            let mut k = K::new();
            let x = k.input(DType::F64);
            let y = k.un(op, x);
            k.out(y);
            let got = run(&k, DType::F64, std::slice::from_ref(&f64s), strided);
            for (x, g) in f64s.iter().zip(&got) {
                assert_eq!(want(*x), *x, "libm's {op:?} at {x:e}");
                if g.to_bits() != x.to_bits() {
                    eprintln!("{op:?} f64 (strided {strided}) at {x:e}: got {g:e}");
                    wrong += 1;
                }
            }
            let mut k = K::new();
            let x = k.input(DType::F32);
            let y = k.un(op, x);
            k.out(y);
            let got = run(&k, DType::F32, std::slice::from_ref(&f32s), strided);
            for (x, g) in f32s.iter().zip(&got) {
                assert_eq!(want(f64::from(*x)) as f32, *x, "libm's {op:?} at {x:e}");
                if g.to_bits() != x.to_bits() {
                    eprintln!("{op:?} f32 (strided {strided}) at {x:e}: got {g:e}");
                    wrong += 1;
                }
            }
        }
    }
    assert_eq!(wrong, 0);
}

/// f64 `tan` from 15 to 1e6 reduces in plain doubles (`TAN_PLAIN_MAX`), where the argument
/// can come within a few ULP of a multiple of pi/2 and the reduction must not lose it: the
/// doubles next to `k pi/2` for `k` up to 636 000, and arguments around 1e6 on both sides of
/// where the reduction changes, in the JIT's vectors against libm and in the 512-bit code
/// against the JIT, bit for bit, whole vectors of one range or mixed.
#[test]
fn tan_next_to_multiples_of_half_pi() {
    let mut rng = Rng(0x7a9);
    let mut xs = Vec::new();
    for i in 0..6000u64 {
        let k = if i < 2000 {
            i + 1
        } else {
            2000 + rng.next() % 634_000
        };
        let mut d = k as f64 * std::f64::consts::FRAC_PI_2;
        for _ in 0..4 {
            d = f64::from_bits(d.to_bits() - 1);
        }
        for _ in 0..9 {
            xs.push(d);
            xs.push(-d);
            d = f64::from_bits(d.to_bits() + 1);
        }
    }
    for i in 0..4000 {
        let v = 1e6 * (1.0 + (i as f64 - 2000.0) * 1e-5);
        xs.push(if i % 3 == 0 { -v } else { v });
        // (A lane above 1e6 among ones below it takes both reductions.)
        xs.push(3.7 * (i % 11) as f64);
    }
    let mut k = K::new();
    let x = k.input(DType::F64);
    let y = k.un(U::Tan, x);
    k.out(y);
    let got = run(&k, DType::F64, std::slice::from_ref(&xs), false);
    let mut worst = 0;
    for (x, g) in xs.iter().zip(&got) {
        match ulps64(*g, x.tan()) {
            Some(u) if u <= MAX_ULP => worst = worst.max(u),
            u => panic!(
                "tan f64 at {x:e}: got {g:e}, want {:e} ({u:?} ULP)",
                x.tan()
            ),
        }
    }
    eprintln!("tan f64 next to multiples of pi/2: max {worst} ULP");
    let mut w = xs.clone();
    if wide_math::apply(WideFn::Tan, &mut w) {
        for ((x, g), v) in xs.iter().zip(&got).zip(&w) {
            assert_eq!(
                g.to_bits(),
                v.to_bits(),
                "tan f64 at {x:e}: JIT {g:e}, 512-bit {v:e}"
            );
        }
    }
}
