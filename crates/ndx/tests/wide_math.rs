//! Block programs around the 512-bit `exp` and `tanh` of `f32`
//! (`ndx_runtime::ops::wide_math`, `crates/ndx/src/rows.rs`) against the JIT's own `f32x4`
//! code, bit for bit.
//!
//! An expression over at least `WIDE_MIN` (8192) elements runs in blocks around the
//! 512-bit code; the same expression over a slice of 1 000 elements runs as one JIT kernel.
//! The tests check both facts through the explain plan, then compute a large array whose
//! values repeat a small one and compare every element with the small array's results. The
//! small arrays are 1 000 elements long, a multiple of four, so both paths group lanes by four
//! at the same places (which `exp` of a rare lane can show; see the runtime module's docs).

mod common;

use ndx::{Array, Session};
use ndx_runtime::ops::wide_math::available;

use common::Gen;

/// A value in [-1, 1) times `scale`.
fn value(g: &mut Gen, scale: f32) -> f32 {
    ((2.0 * g.unit() - 1.0) * f64::from(scale)) as f32
}

/// 1 000 values: ordinary ones at several scales, and (with `special`) NaN, infinities,
/// signed zeros, subnormals, and values where `exp` overflows, underflows or turns subnormal,
/// some of them alone in their group of four and some filling a group.
fn small(seed: u64, special: bool) -> Vec<f32> {
    let mut g = Gen::new(seed);
    let scales = [1e-3, 0.5, 3.0, 10.0, 90.0];
    let mut v: Vec<f32> = (0..1000)
        .map(|i| value(&mut g, scales[i % scales.len()]))
        .collect();
    if special {
        let s = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            1e-40,
            -1e-40,
            88.7,
            88.8,
            -87.5,
            -103.5,
            -110.0,
            9.03,
            -9.01,
            f32::MAX,
            f32::MIN_POSITIVE,
            // sin/cos beyond their fast range (libm for the group of four).
            39_000.5,
            -1e6,
        ];
        for (k, &x) in s.iter().enumerate() {
            v[37 * k + 5] = x;
            // A whole group of four of the same value.
            for j in 0..4 {
                v[600 + 4 * k + j] = x;
            }
        }
    }
    v
}

fn array(v: &[f32], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

/// The elements of array variable `name`, as `T` (its dtype).
fn values_as<T: ndx_runtime::Element>(s: &Session, name: &str) -> Vec<T> {
    s.get(name)
        .unwrap()
        .to_array()
        .unwrap()
        .to_vec::<T>()
        .unwrap()
}

fn values(s: &Session, name: &str) -> Vec<f32> {
    values_as(s, name)
}

/// A float the tests compare by its bits, every NaN as one pattern (which NaN payload
/// survives is not specified).
trait Bits: Copy + std::fmt::LowerExp {
    fn key(self) -> u64;
}

impl Bits for f32 {
    fn key(self) -> u64 {
        if self.is_nan() {
            1
        } else {
            self.to_bits().into()
        }
    }
}

impl Bits for f64 {
    fn key(self) -> u64 {
        if self.is_nan() {
            1
        } else {
            self.to_bits()
        }
    }
}

fn bits(x: f32) -> u64 {
    x.key()
}

/// Asserts that `got` is `want` repeated, bit for bit; `what(i)` names element `i`.
fn assert_repeats<T: Bits>(got: &[T], want: &[T], what: &dyn Fn(usize) -> String) {
    assert!(!want.is_empty() && got.len() >= want.len());
    for (i, (g, w)) in got.iter().zip(want.iter().cycle()).enumerate() {
        assert_eq!(g.key(), w.key(), "{}: {g:e} against {w:e}", what(i));
    }
}

/// `y = f(x)` over 70 copies of `v` (the block program) against `f` of `v` alone (one JIT
/// kernel), element by element.
fn check_elementwise(s: &mut Session, v: &[f32], f: &str) {
    s.set("x", array(v, &[v.len()]));
    s.run(&format!("let y = {f}")).unwrap();
    let want = values(s, "y");
    let copies = 70;
    let big: Vec<f32> = (0..copies).flat_map(|_| v.iter().copied()).collect();
    s.set("x", array(&big, &[big.len()]));
    s.run(&format!("let y = {f}")).unwrap();
    let got = values(s, "y");
    assert_repeats(&got, &want, &|i| format!("{f} at {i} (x = {:e})", big[i]));
}

const GELU: &str = "0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * x * x * x)))";

#[test]
fn large_arrays_run_in_blocks_around_the_wide_code_and_small_ones_do_not() {
    if !available() {
        return;
    }
    let mut s = Session::new();
    s.set("x", array(&small(1, false), &[1000]));
    let plan = common::explain_text(&mut s, &format!("let y = {GELU}"));
    assert!(!plan.contains("precompiled"), "{plan}");
    let big: Vec<f32> = (0..70).flat_map(|_| small(1, false)).collect();
    s.set("x", array(&big, &[70_000]));
    let plan = common::explain_text(&mut s, &format!("let y = {GELU}"));
    assert!(plan.contains("kernel 2: precompiled tanh (f32)"), "{plan}");
    assert!(
        plan.contains("step 1 of 3 over blocks of 1024 row(s)"),
        "{plan}"
    );
    s.set("x", array(&big, &[70, 1000]));
    let plan = common::explain_text(
        &mut s,
        "let e = exp(x - max(x, axis=-1, keepdims=true))\n\
         let y = e / sum(e, axis=-1, keepdims=true)",
    );
    // Without the shared `e` of one statement, each line is its own plan: the first runs in
    // blocks around the wide `exp`; the second is plain kernels.
    assert!(plan.contains("precompiled exp (f32)"), "{plan}");
    // One statement: the row program computes `e` with the wide `exp` and divides each row
    // by its sum with the wide division, straight into the destination.
    let plan = common::explain_text(
        &mut s,
        "let y = zeros((70, 1000), dtype=f32)\n\
         y[:, :] = exp(x) / sum(exp(x), axis=-1, keepdims=true)",
    );
    assert!(plan.contains("precompiled exp (f32)"), "{plan}");
    assert!(
        plan.contains("precompiled div (f32)")
            && plan.contains("into the block of the destination"),
        "{plan}"
    );
    // Into a strided destination the division writes a block scratch, which a last kernel
    // copies.
    let plan = common::explain_text(
        &mut s,
        "let u = zeros((70, 2000), dtype=f32)\n\
         u[:, ::2] = exp(x) / sum(exp(x), axis=-1, keepdims=true)",
    );
    assert!(
        plan.contains("precompiled div (f32)") && plan.contains("into the block scratch"),
        "{plan}"
    );
    assert!(plan.contains("fused 0 op(s): copy"), "{plan}");
    // Arithmetic alone has no wide code; every math function of f64 has.
    s.run("let z = abs(astype(x, f64)) * 2.0").unwrap();
    let plan = common::explain_text(&mut s, "let z = abs(astype(x, f64)) * 2.0");
    assert!(!plan.contains("precompiled"), "{plan}");
    let plan = common::explain_text(&mut s, "let z = erf(astype(x, f64))");
    assert!(plan.contains("precompiled erf (f64)"), "{plan}");
    let plan = common::explain_text(&mut s, "let z = tanh(astype(x, f64))");
    assert!(plan.contains("precompiled tanh (f64)"), "{plan}");
}

#[test]
fn tanh_exp_and_gelu_match_the_jit_bit_for_bit() {
    if !available() {
        return;
    }
    let mut s = Session::new();
    for seed in 1..4 {
        for special in [false, true] {
            let v = small(seed, special);
            for f in [
                "tanh(x)",
                "exp(x)",
                "log(x)",
                "log(x * x + 1e-3) * tanh(x)",
                "sin(x)",
                "cos(x * 700.0) - sin(x * 1e4)",
                "tan(x) + tan(x * 3e4)",
                "erf(x * 0.3)",
                "0.5 * x * (1.0 + erf(x * 0.70710678))",
                "exp(x * 0.5) + tanh(x)",
                GELU,
                // Divisions: of a wide result, by a computed full-shaped divisor, at the root.
                "tanh(x) / (x + 2.0)",
                "exp(x) / tanh(x)",
                "(x * x) / exp(x * 0.1) - 1.0",
                // The other functions with 512-bit f32 code.
                "exp2(x) + expm1(x)",
                "sinh(x) - cosh(x * 0.99)",
                "log2(x) + log10(x * 3.0)",
                "log1p(x) + log1p(x * 1e-4)",
                "arcsin(x * 0.1) + arccos(x * 0.2) + arctan(x)",
                "cbrt(x) + cbrt(x * 1e-30)",
                "pow(x, x * 0.1) + pow(abs(x), 1.5)",
                "pow(x * 10.0, x) - pow(x, 3.0 + 0.0 * x)",
                "arctan2(x, x * 0.5 - 1.0) + arctan2(1.0 / x, x * x)",
            ] {
                check_elementwise(&mut s, &v, f);
            }
        }
    }
}

#[test]
fn softmax_rows_match_the_jit_row_by_row() {
    if !available() {
        return;
    }
    let mut s = Session::new();
    s.run(
        "fn softmax(x) {\n\
             let e = exp(x - max(x, axis=-1, keepdims=true))\n\
             e / sum(e, axis=-1, keepdims=true)\n\
         }",
    )
    .unwrap();
    let rows = 80;
    let data: Vec<f32> = (0..rows as u64)
        .flat_map(|r| small(r + 7, r % 5 == 0))
        .collect();
    s.set("x", array(&data, &[rows, 1000]));
    s.run("let y = softmax(x)").unwrap();
    let plan = common::explain_text(&mut s, "let y = softmax(x)");
    assert!(plan.contains("precompiled exp (f32)"), "{plan}");
    let got = values(&s, "y");
    for r in 0..rows {
        // One row: below WIDE_MIN, and a single row never runs as a row program.
        s.set("r", array(&data[r * 1000..(r + 1) * 1000], &[1, 1000]));
        s.run("let w = softmax(r)").unwrap();
        let want = values(&s, "w");
        let row = &got[r * 1000..(r + 1) * 1000];
        assert_repeats(row, &want, &|i| format!("row {r}, column {i}"));
    }
}

#[test]
fn two_threads_give_the_bits_of_one() {
    if !available() {
        return;
    }
    let v: Vec<f32> = (0..600).flat_map(|k| small(k, k % 7 == 0)).collect();
    let run = |threads: usize| {
        let mut s = Session::new();
        s.run(&format!("threads({threads})")).unwrap();
        s.set("x", array(&v, &[600, 1000]));
        s.run(&format!(
            "let g = {GELU}\nlet e = exp(x - max(x, axis=-1, keepdims=true))\n\
             let y = e / sum(e, axis=-1, keepdims=true)"
        ))
        .unwrap();
        (values(&s, "g"), values(&s, "y"))
    };
    let (g1, y1) = run(1);
    let (g2, y2) = run(2);
    assert!(g1.iter().zip(&g2).all(|(a, b)| bits(*a) == bits(*b)));
    assert!(y1.iter().zip(&y2).all(|(a, b)| bits(*a) == bits(*b)));
}

#[test]
fn views_and_in_place_updates_take_the_wide_path_correctly() {
    if !available() {
        return;
    }
    let v: Vec<f32> = (0..140).flat_map(|k| small(k, false)).collect();
    let mut s = Session::new();
    s.set("x", array(&v, &[140, 1000]));
    // A transposed operand, a strided destination, and an update in place.
    s.run(
        "let t = tanh(transpose(x))\n\
         let u = zeros((1000, 280), dtype=f32)\n\
         u[:, ::2] = tanh(transpose(x))\n\
         let w = x * 1.0\n\
         w[:, :] = exp(w * 0.01)",
    )
    .unwrap();
    // Rows divided by their sums: contiguous (the wide division) and strided (the JIT's).
    s.run(
        "let p = zeros((140, 1000), dtype=f32)\n\
         p[:, :] = exp(x) / sum(exp(x), axis=-1, keepdims=true)\n\
         let q = zeros((140, 2000), dtype=f32)\n\
         q[:, ::2] = exp(x) / sum(exp(x), axis=-1, keepdims=true)",
    )
    .unwrap();
    let (p, q) = (values(&s, "p"), values(&s, "q"));
    for (k, pk) in p.iter().enumerate() {
        let (r, c) = (k / 1000, k % 1000);
        assert_eq!(bits(*pk), bits(q[r * 2000 + 2 * c]), "row {r}, column {c}");
    }
    let (t, u, w) = (values(&s, "t"), values(&s, "u"), values(&s, "w"));
    for i in 0..1000 {
        for j in 0..140 {
            assert_eq!(bits(u[i * 280 + 2 * j]), bits(t[i * 140 + j]));
            assert_eq!(u[i * 280 + 2 * j + 1], 0.0);
        }
    }
    // Against small JIT arrays, a row at a time.
    for j in (0..140).step_by(13) {
        s.set("r", array(&v[j * 1000..(j + 1) * 1000], &[1000]));
        s.run("let a = tanh(r)\nlet b = exp(r * 0.01)").unwrap();
        let (a, b) = (values(&s, "a"), values(&s, "b"));
        for i in 0..1000 {
            assert_eq!(bits(t[i * 140 + j]), bits(a[i]), "tanh at ({i}, {j})");
            assert_eq!(bits(w[j * 1000 + i]), bits(b[i]), "exp at ({j}, {i})");
        }
    }
}

#[test]
fn f64_exp_log_and_division_match_the_jit_bit_for_bit() {
    if !available() {
        return;
    }
    let mut g = Gen::new(11);
    let scales = [1e-3, 1.0, 30.0, 300.0, 760.0];
    // Every third value is a random bit pattern: any exponent, subnormals, negatives, NaN.
    let mut v: Vec<f64> = (0..1000)
        .map(|i| {
            if i % 3 == 0 {
                f64::from_bits(g.next())
            } else {
                (2.0 * g.unit() - 1.0) * scales[i % scales.len()]
            }
        })
        .collect();
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1e-310,
        709.78,
        709.79,
        711.5,
        -708.5,
        -745.0,
        -745.2,
        -1000.5,
        f64::MAX,
        5e-324,
        2.2e-308,
        1.0,
        -1e-300,
    ];
    for (k, &x) in special.iter().enumerate() {
        v[37 * k + 5] = x;
    }
    let small = Array::from_vec(v.clone(), &[1000]).unwrap();
    let big: Vec<f64> = (0..70).flat_map(|_| v.iter().copied()).collect();
    let big = Array::from_vec(big, &[70, 1000]).unwrap();
    let mut s = Session::new();
    for f in [
        "exp(x)",
        // Vectors whose lanes are all within |x| <= 708 take the 512-bit fast scaling.
        "exp(x * 1e-3)",
        "exp(x * 0.5) / (x + 3.0)",
        "exp(x) / exp(x * 0.25 + 1.0)",
        "log(x)",
        "log(x * x * 1e300) + log(abs(x) * 1e-300)",
        "exp2(x)",
        "exp2(x * 1e-3)",
        "expm1(x)",
        "expm1(x * 1e-3)",
        "sinh(x)",
        "sinh(x * 1e-3)",
        "cosh(x)",
        "tanh(x)",
        "tanh(x * 1e-3)",
        "log2(x)",
        "log10(x)",
        "log1p(x)",
        "log1p(x * 1e-3)",
        "log2(x * x * 1e300) + log10(abs(x) * 1e-300)",
        "arcsin(x)",
        "arcsin(x * 1e-3)",
        "arccos(x)",
        "arccos(x * 1e-3)",
        "arctan(x)",
        "arctan(x * 1e-3)",
        "cbrt(x)",
        "cbrt(x * 1e-300) + cbrt(x * 1e300)",
        "pow(x, x * 0.01)",
        "pow(abs(x), 2.5) + 1.0",
        "pow(x * 0.5, x)",
        "pow(x, 3.0 + 0.0 * x)",
        "pow(x, 1.0 / x)",
        "arctan2(x, x * 0.5 - 1.0)",
        "arctan2(x * 1e-3, x)",
        "arctan2(1.0 / x, x * x)",
        "sin(x)",
        "sin(x * 1e-3)",
        "sin(x * 1e12) + sin(x * 1e20)",
        "cos(x)",
        "cos(x * 1e-3)",
        "cos(x * 1e12) + cos(x * 1e20)",
        "tan(x)",
        "tan(x * 1e-3)",
        "tan(x * 1e12) + tan(x * 1e20)",
        "erf(x)",
        "erf(x * 1e-3)",
        "erf(x * 1e-9) + erf(x * 0.01)",
    ] {
        s.set("x", small.clone());
        s.run(&format!("let y = {f}")).unwrap();
        let want = values_as::<f64>(&s, "y");
        s.set("x", big.clone());
        s.run(&format!("let y = {f}")).unwrap();
        let plan = common::explain_text(&mut s, &format!("let y = {f}"));
        let name = &f[..f.find('(').unwrap_or(0)];
        assert!(
            plan.contains(&format!("precompiled {name} (f64)")),
            "{plan}"
        );
        let got = values_as::<f64>(&s, "y");
        assert_repeats(&got, &want, &|i| format!("{f} at {i}"));
    }
    // A small constant exponent is multiplied out by the JIT, so no 512-bit `pow` for it.
    s.set("x", big.clone());
    let plan = common::explain_text(&mut s, "let y = x ** 3.0 + exp(x)");
    assert!(!plan.contains("precompiled pow"), "{plan}");
    // The destination as an operand: `z[:] = x ** z` reads each block of `z` before writing
    // it.
    s.run("let z = abs(x) * 0.01 + 0.5\nlet w = x ** z\nz[:, :] = x ** z")
        .unwrap();
    assert_repeats(
        &values_as::<f64>(&s, "z"),
        &values_as::<f64>(&s, "w"),
        &|i| format!("in-place pow at {i}"),
    );
    // Softmax over f64 rows: the wide exp and the wide per-row division, row by row against
    // the JIT.
    s.set("x", big);
    let soft = "exp(x - max(x, axis=-1, keepdims=true)) / sum(exp(x - max(x, axis=-1, keepdims=true)), axis=-1, keepdims=true)";
    s.run(&format!("let p = zeros((70, 1000))\np[:, :] = {soft}"))
        .unwrap();
    let plan = common::explain_text(&mut s, &format!("p[:, :] = {soft}"));
    assert!(plan.contains("precompiled div (f64)"), "{plan}");
    let got = values_as::<f64>(&s, "p");
    s.set("x", Array::from_vec(v, &[1, 1000]).unwrap());
    s.run(&format!("let q = {soft}")).unwrap();
    let want = values_as::<f64>(&s, "q");
    assert_repeats(&got, &want, &|i| format!("softmax at {i}"));
}

#[test]
fn block_programs_do_not_recompile_over_sizes() {
    if !available() {
        return;
    }
    // The first size compiles the steps (whole blocks and a shorter last block of the same
    // loop structure); other sizes, with other block counts and tails (of 1 element or 1
    // row too: 70657 = 69 * 1024 + 1, 150013 // 256 = 585 = 146 * 4 + 1 rows of 256), reuse
    // them.
    let mut s = Session::new();
    let body = format!(
        "let x = rand(n, dtype=f32)\nlet y = {GELU}\n\
         let m = rand((n // 1000, 1000), dtype=f32)\n\
         let e = exp(m - max(m, axis=-1, keepdims=true))\n\
         let p = zeros((n // 1000, 1000), dtype=f32)\n\
         p[:, :] = e / sum(e, axis=-1, keepdims=true)\n\
         let q = rand((n // 256, 256), dtype=f32)\n\
         let f = exp(q - max(q, axis=-1, keepdims=true))\n\
         let g = f / sum(f, axis=-1, keepdims=true)"
    );
    s.run(&format!("let n = 150013\n{body}")).unwrap();
    let (compiled, _) = s.kernel_stats();
    for n in [70001, 99999, 131072, 70657] {
        s.run(&format!("let n = {n}\n{body}")).unwrap();
    }
    assert_eq!(s.kernel_stats().0, compiled, "sizes recompiled a kernel");
}

mod generated {
    //! Generated expressions with `exp`, `tanh` and divisions over large arrays (block
    //! programs around the 512-bit code) against the same expression computed one row at a
    //! time (small arrays: plain JIT kernels), bit for bit.

    use super::{array, bits, values};
    use ndx::Session;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum E {
        /// `a` (full), `b` (one value per row), `c` (one per column).
        Var(usize),
        Const(f32),
        Bin(&'static str, Box<E>, Box<E>),
        Fn(&'static str, Box<E>),
    }

    fn expr() -> impl Strategy<Value = E> {
        let leaf = prop_oneof![
            4 => (0usize..3).prop_map(E::Var),
            1 => (-3i32..4).prop_map(|k| E::Const(k as f32 * 0.75)),
        ];
        leaf.prop_recursive(4, 20, 2, |inner| {
            prop_oneof![
                3 => (prop::sample::select(&["+", "-", "*", "/"][..]), inner.clone(), inner.clone())
                    .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
                2 => (prop::sample::select(&["exp", "tanh", "log", "sin", "cos", "tan", "erf"][..]), inner)
                    .prop_map(|(f, a)| E::Fn(f, Box::new(a))),
            ]
        })
    }

    /// The source of `e` with the variables named by `names`.
    fn source(e: &E, names: [&str; 3]) -> String {
        match e {
            E::Var(k) => names[*k].to_string(),
            E::Const(v) => format!("({v:?})"),
            E::Bin(op, a, b) => format!("({} {op} {})", source(a, names), source(b, names)),
            E::Fn(f, a) => format!("{f}({})", source(a, names)),
        }
    }

    /// Makes sure the expression reads `a` (so it has the full shape and dtype `f32`) and
    /// applies a 512-bit function at the top level.
    fn wrapped(e: E) -> E {
        let e = E::Bin("+", Box::new(e), Box::new(E::Var(0)));
        E::Bin(
            "/",
            Box::new(E::Fn("tanh", Box::new(e.clone()))),
            Box::new(e),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn blocks_match_rows_computed_alone(
            e in expr(),
            rows in 66usize..140,
            quads in 250usize..300,
            transposed in any::<bool>(),
            seed in 0u64..1000,
        ) {
            let e = wrapped(e);
            let cols = 4 * quads;
            let mut g = super::Gen::new(seed);
            let a: Vec<f32> = (0..rows * cols).map(|_| super::value(&mut g, 3.0)).collect();
            let b: Vec<f32> = (0..rows).map(|_| super::value(&mut g, 2.0)).collect();
            let c: Vec<f32> = (0..cols).map(|_| super::value(&mut g, 1.5)).collect();
            let mut s = Session::new();
            if transposed {
                // The same values, read through a transposed view.
                let at: Vec<f32> = (0..cols * rows).map(|k| a[(k % rows) * cols + k / rows]).collect();
                s.set("at", array(&at, &[cols, rows]));
                s.run("let a = transpose(at)").unwrap();
            } else {
                s.set("a", array(&a, &[rows, cols]));
            }
            s.set("b", array(&b, &[rows, 1]));
            s.set("c", array(&c, &[cols]));
            let src = source(&e, ["a", "b", "c"]);
            s.run(&format!("let y = zeros(({rows}, {cols}), dtype=f32)\ny[:, :] = {src}")).unwrap();
            let got = values(&s, "y");
            for r in 0..rows {
                s.set("ar", array(&a[r * cols..(r + 1) * cols], &[1, cols]));
                s.set("br", array(&b[r..r + 1], &[1, 1]));
                // Into an f32 array as `y`: a constant's `exp` is an f64 0-d array, which
                // promotes the expression to f64 (NEP 50).
                s.run(&format!(
                    "let w = zeros((1, {cols}), dtype=f32)\nw[:, :] = {}",
                    source(&e, ["ar", "br", "c"])
                ))
                .unwrap();
                let want = values(&s, "w");
                for (k, (x, w)) in got[r * cols..(r + 1) * cols].iter().zip(&want).enumerate() {
                    prop_assert_eq!(bits(*x), bits(*w), "{} at ({}, {})", src, r, k);
                }
            }
        }
    }
}

#[test]
fn math_results_do_not_depend_on_the_layout() {
    // Small arrays (plain JIT kernels): a contiguous loop groups lanes by four along rows, a
    // transposed view is walked another way. Rare arguments (NaN, infinities, |x| beyond the
    // fast ranges of exp, expm1, sinh, cosh and the trigonometric functions) among ordinary
    // ones must not change the ordinary ones' results.
    let (rows, cols) = (37usize, 41usize);
    let mut g = Gen::new(5);
    let rare = [f32::NAN, f32::INFINITY, 1e5, -4e4, 100.0, -120.0, 88.5];
    let v: Vec<f32> = (0..rows * cols)
        .map(|i| {
            if i % 7 == 3 {
                rare[i % rare.len()]
            } else {
                value(&mut g, 20.0)
            }
        })
        .collect();
    let mut s = Session::new();
    s.set("x", array(&v, &[rows, cols]));
    s.run("let xt = ascontiguousarray(transpose(x))").unwrap();
    for f in [
        "exp", "sin", "cos", "tan", "tanh", "log", "expm1", "sinh", "cosh", "erf",
    ] {
        s.run(&format!("let a = {f}(x)\nlet b = {f}(transpose(xt))"))
            .unwrap();
        let (a, b) = (values(&s, "a"), values(&s, "b"));
        assert_repeats(&b, &a, &|i| format!("{f} at {i} (x = {:e})", v[i]));
    }
}

/// A statement that is one 512-bit function of whole arrays (no kernel step in its program)
/// takes the 512-bit code from 4096 elements; with any other work around the call, from
/// 8192. The bits are the JIT's either way.
#[test]
fn direct_calls_take_the_wide_code_from_smaller_sizes() {
    if !available() {
        return;
    }
    let mut s = Session::new();
    let mut g = Gen::new(5);
    let v: Vec<f64> = (0..5000).map(|_| (2.0 * g.unit() - 1.0) * 5.0).collect();
    s.set("x", Array::from_vec(v.clone(), &[5000]).unwrap());
    s.set("e", Array::from_vec(v[..1000].to_vec(), &[1000]).unwrap());
    for (f, wide) in [
        ("tanh(x)", true),
        ("pow(abs(x), x)", false),
        ("tanh(x) + 1.0", false),
    ] {
        let plan = common::explain_text(&mut s, &format!("let y = {f}"));
        assert_eq!(plan.contains("precompiled"), wide, "{f}: {plan}");
    }
    // The same values through the JIT (1000 elements) and the 512-bit code (5000).
    s.run("let y = tanh(x)\nlet z = tanh(e)").unwrap();
    let got = values_as::<f64>(&s, "y");
    let want = values_as::<f64>(&s, "z");
    assert_repeats(&got[..1000], &want, &|i| format!("tanh at {i}"));
    // A strided destination needs a copy step: not a direct call.
    let plan = common::explain_text(&mut s, "let w = zeros(10000)\nw[::2] = tanh(x)");
    assert!(!plan.contains("precompiled"), "{plan}");
}

/// `pow` and `arctan2` of a large array and a broadcast one (a row vector, a 0-d array): the
/// broadcast operand is not a block array, so these run as JIT kernels, with the values of
/// the same rows computed alone. (A block program once tried to view the row vector as
/// blocks of rows and failed.)
#[test]
fn binary_functions_of_broadcast_operands_run() {
    let mut s = Session::new();
    let mut g = Gen::new(9);
    let x: Vec<f64> = (0..300 * 300).map(|_| g.unit() * 3.0).collect();
    let r: Vec<f64> = (0..300).map(|_| g.unit() * 2.0 - 0.5).collect();
    s.set("x", Array::from_vec(x, &[300, 300]).unwrap());
    s.set("r", Array::from_vec(r, &[300]).unwrap());
    s.set("e", Array::from_vec(vec![1.5], &[]).unwrap());
    for f in [
        "x ** r",
        "r ** x",
        "arctan2(x, r)",
        "arctan2(r, x)",
        "x ** e",
        "x ** (r * 2.0)",
    ] {
        s.run(&format!(
            "let y = {f}\nlet x0 = x[7]\nlet y0 = {}",
            f.replace('x', "x0")
        ))
        .unwrap_or_else(|err| panic!("{f}: {err:?}"));
        let got = values_as::<f64>(&s, "y");
        let want = values_as::<f64>(&s, "y0");
        assert_repeats(&got[7 * 300..8 * 300], &want, &|i| format!("{f} at {i}"));
    }
}
