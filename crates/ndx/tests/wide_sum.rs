//! The precompiled AVX-512 sum of a contiguous float vector (`ndx_runtime::ops::wide_sum`)
//! against the JIT's blocked sum of the same data, bit for bit.
//!
//! `sum(x)` of a materialised 1-D `f32`/`f64` array takes the precompiled loop (on a CPU with
//! AVX-512F); `sum(x * 1.0)` is a fused expression, which always goes through the JIT kernels,
//! and multiplying by 1.0 changes no value (`-0.0`, infinities and NaN included). The tests
//! check both facts through the explain plan, then compare the two sums over many sizes and
//! kinds of data, and against an `f64` reference.

mod common;

use ndx::{Array, Scalar, Session};
use ndx_runtime::ops::wide_sum::wide_available;

use common::Gen;

/// A value in [-1, 1) times a power of ten in 1e-3..1e5, so that summation order shows in the
/// last bits.
fn value(g: &mut Gen) -> f64 {
    let u = g.unit();
    let scale = 10f64.powi((g.next() % 9) as i32 - 3);
    (2.0 * u - 1.0) * scale
}

/// What a test array holds besides ordinary values.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Finite,
    /// Some elements are `-0.0`.
    NegZeros,
    /// Every element is `-0.0`.
    AllNegZero,
    /// One `+inf`.
    Inf,
    /// `+inf` and `-inf` (the sum is NaN).
    BothInf,
    /// One NaN.
    Nan,
}

const KINDS: [Kind; 6] = [
    Kind::Finite,
    Kind::NegZeros,
    Kind::AllNegZero,
    Kind::Inf,
    Kind::BothInf,
    Kind::Nan,
];

fn data(n: usize, kind: Kind, seed: u64) -> Vec<f64> {
    let mut g = Gen::new(seed);
    let mut v: Vec<f64> = (0..n).map(|_| value(&mut g)).collect();
    if n == 0 {
        return v;
    }
    let mut at = || (g.next() % n as u64) as usize;
    match kind {
        Kind::Finite => {}
        Kind::NegZeros => {
            for _ in 0..n.div_ceil(3) {
                v[at()] = -0.0;
            }
        }
        Kind::AllNegZero => v.iter_mut().for_each(|x| *x = -0.0),
        Kind::Inf => v[at()] = f64::INFINITY,
        Kind::BothInf => {
            v[at()] = f64::INFINITY;
            v[at()] = f64::NEG_INFINITY;
        }
        Kind::Nan => v[at()] = f64::NAN,
    }
    v
}

fn array(v: &[f64], f32: bool) -> Array {
    if f32 {
        Array::from_vec(v.iter().map(|&x| x as f32).collect(), &[v.len()]).unwrap()
    } else {
        Array::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }
}

/// The value of a 0-d result as `f64`, and its bits (NaN as one canonical pattern: which
/// payload survives when NaNs meet is not specified, see the runtime module's docs).
fn bits(s: &Session, name: &str) -> (f64, u64) {
    let a = s.get(name).unwrap().to_array().unwrap();
    assert_eq!(a.shape(), &[] as &[usize], "{name} is not a scalar");
    match a.item().unwrap() {
        Scalar::F32(x) if x.is_nan() => (f64::NAN, 1),
        Scalar::F64(x) if x.is_nan() => (f64::NAN, 1),
        Scalar::F32(x) => (f64::from(x), u64::from(x.to_bits())),
        Scalar::F64(x) => (x, x.to_bits()),
        other => panic!("{name} is {other:?}"),
    }
}

/// Sets `x` and returns the sum by the fast path and by the JIT (their values and bits).
fn both(s: &mut Session, x: Array, expr: &str) -> ((f64, u64), (f64, u64)) {
    s.set("x", x);
    s.run(&format!(
        "let fast = sum({expr})\nlet jit = sum({expr} * 1.0)"
    ))
    .unwrap();
    (bits(s, "fast"), bits(s, "jit"))
}

/// Checks the fast sum of `v` against the JIT's (bits) and, for finite data, against an f64
/// reference within the accuracy of blocked summation.
fn check(s: &mut Session, v: &[f64], is_f32: bool, what: &str) {
    let ((fast, fb), (jit, jb)) = both(s, array(v, is_f32), "x");
    assert_eq!(fb, jb, "{what}: fast {fast:e} jit {jit:e}");
    let stored: Vec<f64> = if is_f32 {
        v.iter().map(|&x| f64::from(x as f32)).collect()
    } else {
        v.to_vec()
    };
    if stored.iter().all(|x| x.is_finite()) {
        let reference: f64 = stored.iter().sum();
        let magnitude: f64 = stored.iter().map(|x| x.abs()).sum();
        let eps = if is_f32 { 1e-5 } else { 1e-13 };
        assert!(
            (fast - reference).abs() <= eps * magnitude + f64::MIN_POSITIVE,
            "{what}: {fast:e} against reference {reference:e}"
        );
    }
}

fn plan(s: &mut Session, src: &str) -> String {
    common::explain_text(s, src)
}

#[test]
fn fast_path_is_taken_and_the_reference_form_is_not() {
    let mut s = Session::new();
    for is_f32 in [true, false] {
        s.set("x", array(&data(5000, Kind::Finite, 1), is_f32));
        let fast = plan(&mut s, "let a = sum(x)");
        assert_eq!(fast.contains("precompiled sum"), wide_available(), "{fast}");
        assert!(wide_available() != fast.contains("fused"), "{fast}");
        // `mean` goes through the same sum.
        let mean = plan(&mut s, "let a = mean(x)");
        assert_eq!(mean.contains("precompiled sum"), wide_available(), "{mean}");
        // The forms the tests compare against never take it.
        for src in [
            "let a = sum(x * 1.0)",
            "let a = sum(x[::2])",
            "let a = sum(x[::-1])",
        ] {
            let p = plan(&mut s, src);
            assert!(!p.contains("precompiled"), "{src}: {p}");
            assert!(p.contains("fused"), "{src}: {p}");
        }
        // Short sums are one JIT kernel either way.
        s.set("x", array(&data(1024, Kind::Finite, 1), is_f32));
        assert!(!plan(&mut s, "let a = sum(x)").contains("precompiled"));
    }
}

#[test]
fn every_small_size_matches_the_jit() {
    let mut s = Session::new();
    for n in 0..2000 {
        let kind = KINDS[n % KINDS.len()];
        let v = data(n, kind, n as u64);
        check(&mut s, &v, true, &format!("f32 n={n} {kind:?}"));
        check(&mut s, &v, false, &format!("f64 n={n} {kind:?}"));
    }
}

#[test]
fn large_sizes_match_the_jit() {
    let mut s = Session::new();
    // Multiples of 256 and 16 and not; 16_777_216 is the last size with 256-element blocks,
    // beyond it blocks are longer (and not multiples of the vector).
    for n in [
        2048,
        4111,
        100_000,
        1_000_003,
        16_777_216,
        16_777_216 + 100,
        20_000_003,
    ] {
        for (i, kind) in KINDS.iter().enumerate() {
            // The biggest sizes with the finite and the NaN-making kinds only.
            if n > 1 << 20 && !matches!(kind, Kind::Finite | Kind::NegZeros | Kind::BothInf) {
                continue;
            }
            let v = data(n, *kind, (n + i) as u64);
            check(&mut s, &v, true, &format!("f32 n={n} {kind:?}"));
            check(&mut s, &v, false, &format!("f64 n={n} {kind:?}"));
        }
    }
}

/// A remainder longer than `4 * BLOCK`: blocks of 1026 elements, 1025 left over, which are
/// summed in blocks of their own. The blocks hold small values, so the remainder's order
/// shows in the result.
#[test]
fn a_long_remainder_is_blocked_again() {
    let mut s = Session::new();
    let n = 1026 * 65536 - 1;
    let mut v = data(n, Kind::Finite, 7);
    v[..n - 1025].iter_mut().for_each(|x| *x *= 1e-6);
    check(&mut s, &v, true, "f32, remainder of 1025");
    check(&mut s, &v, false, "f64, remainder of 1025");
}

#[test]
fn views_match_the_jit() {
    let mut s = Session::new();
    for is_f32 in [true, false] {
        for n in [3000, 70_001] {
            let v = data(n, Kind::Finite, n as u64);
            for expr in ["x[3:]", "x[:-5]", "x[::2]", "x[::-1]", "x[1::3]"] {
                let ((fast, fb), (jit, jb)) = both(&mut s, array(&v, is_f32), expr);
                assert_eq!(fb, jb, "{expr} n={n} f32={is_f32}: {fast:e} {jit:e}");
            }
        }
    }
}

#[test]
fn mean_and_thread_counts_match_the_jit() {
    let v = data(3_000_017, Kind::Finite, 11);
    for is_f32 in [true, false] {
        let mut results = Vec::new();
        for threads in [1, 2] {
            let mut s = Session::new();
            s.set("x", array(&v, is_f32));
            s.run(&format!(
                "threads({threads})\nlet a = sum(x)\nlet b = sum(x * 1.0)\n\
                 let c = mean(x)\nlet d = mean(x * 1.0)"
            ))
            .unwrap();
            let r: Vec<u64> = ["a", "b", "c", "d"].iter().map(|n| bits(&s, n).1).collect();
            assert_eq!(r[0], r[1], "sum, {threads} threads, f32={is_f32}");
            assert_eq!(r[2], r[3], "mean, {threads} threads, f32={is_f32}");
            results.push(r);
        }
        assert_eq!(results[0], results[1], "1 and 2 threads, f32={is_f32}");
    }
}
