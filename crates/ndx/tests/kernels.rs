//! Kernels (`kernel` blocks) through the embedding API: random streams, parallel reductions,
//! the compile cache, bounds-check options, and a differential test of generated elementwise
//! expressions computed by a kernel loop against the fused array pipeline.

use ndx::{Array, Session, Value};
use proptest::prelude::*;

fn run(s: &mut Session, src: &str) -> Value {
    match s.run(src) {
        Ok(Some(v)) => v,
        Ok(None) => Value::None,
        Err(e) => panic!("{}", e.render()),
    }
}

fn f64_of(v: &Value) -> f64 {
    v.to_vec::<f64>().expect("an f64 value")[0]
}

const MOMENTS: &str = "
kernel moments(n: i64, normal: bool, out: f64[k]) {
    let s = 0.0
    let s2 = 0.0
    let lo = 1.0
    let hi = -1.0
    for i in prange(n) {
        let x = where(normal, randn(), rand())
        s += x
        s2 += x * x
        lo = min(lo, x)
        hi = max(hi, x)
    }
    out[0] = s / f64(n)
    out[1] = s2 / f64(n) - (s / f64(n)) ** 2
    out[2] = lo
    out[3] = hi
}
";

#[test]
fn random_streams_have_the_right_moments() {
    let mut s = Session::new();
    run(&mut s, MOMENTS);
    for threads in [1, 2] {
        run(
            &mut s,
            &format!("threads({threads})\nseed(7)\nlet m = zeros(4)"),
        );
        run(&mut s, "moments(1000000, false, m)");
        let m = s.get("m").unwrap().to_vec::<f64>().unwrap();
        // uniform [0, 1): mean 1/2, variance 1/12; sd of the mean estimate is 2.9e-4
        assert!((m[0] - 0.5).abs() < 2e-3, "mean {}", m[0]);
        assert!((m[1] - 1.0 / 12.0).abs() < 1e-3, "variance {}", m[1]);
        assert!(m[2] >= 0.0 && m[2] < 1e-4 && m[3] < 1.0 && m[3] > 1.0 - 1e-4);
        run(&mut s, "moments(1000000, true, m)");
        let m = s.get("m").unwrap().to_vec::<f64>().unwrap();
        assert!(m[0].abs() < 5e-3, "normal mean {}", m[0]);
        assert!((m[1] - 1.0).abs() < 1e-2, "normal variance {}", m[1]);
        assert!(m[2] < -4.0 && m[3] > 4.0, "normal tails {} {}", m[2], m[3]);
    }
}

#[test]
fn random_streams_are_reproducible_for_a_seed_and_thread_count() {
    let mut s = Session::new();
    run(&mut s, MOMENTS);
    let mut draw = |threads: usize, seed: u64| {
        run(
            &mut s,
            &format!("threads({threads})\nseed({seed})\nlet m = zeros(4)\nmoments(10000, true, m)"),
        );
        s.get("m").unwrap().to_vec::<f64>().unwrap()
    };
    assert_eq!(draw(2, 1), draw(2, 1));
    assert_eq!(draw(1, 1), draw(1, 1));
    assert_ne!(draw(2, 1), draw(2, 2));
    // successive calls continue the session's stream instead of repeating it
    let mut s2 = Session::new();
    run(&mut s2, "kernel r() -> f64 { return rand() }\nseed(3)");
    let a = f64_of(&run(&mut s2, "r()"));
    let b = f64_of(&run(&mut s2, "r()"));
    assert_ne!(a, b);
}

#[test]
fn parallel_float_sums_are_identical_run_to_run() {
    let mut s = Session::new();
    run(
        &mut s,
        "kernel total(a: f64[n]) -> f64 {
            let s = 0.0
            for i in prange(n) {
                s += a[i]
            }
            return s
        }
        seed(1)
        let x = rand(1000003) * 1e6",
    );
    for threads in [1, 2, 3] {
        run(&mut s, &format!("threads({threads})"));
        let first = f64_of(&run(&mut s, "total(x)"));
        for _ in 0..3 {
            assert_eq!(first.to_bits(), f64_of(&run(&mut s, "total(x)")).to_bits());
        }
        let exact = f64_of(&run(&mut s, "sum(x)"));
        assert!((first - exact).abs() <= 1e-9 * exact.abs());
    }
    // integer reductions, min and max are exact for any thread count
    run(
        &mut s,
        "kernel stats(a: i64[n], out: i64[k]) {
            let s = 0
            let p = 1
            let lo = a[0]
            let hi = a[0]
            for i in prange(n) {
                s += a[i]
                p *= 1 + a[i] % 2
                lo = min(lo, a[i])
                hi = max(a[i], hi)
            }
            out[0] = s
            out[1] = p
            out[2] = lo
            out[3] = hi
        }
        let v = (arange(100001) * 7919) % 1000 - 500
        let o = zeros(4, dtype=i64)",
    );
    for threads in [1, 2, 4] {
        run(&mut s, &format!("threads({threads})\nstats(v, o)"));
        let o = s.get("o").unwrap().to_vec::<i64>().unwrap();
        let v = s.get("v").unwrap().to_vec::<i64>().unwrap();
        let odd = v.iter().filter(|x| *x % 2 != 0).count() as u32;
        assert_eq!(o[0], v.iter().sum::<i64>());
        assert_eq!(o[1], 2i64.wrapping_pow(odd));
        assert_eq!(o[2], *v.iter().min().unwrap());
        assert_eq!(o[3], *v.iter().max().unwrap());
    }
}

#[test]
fn a_kernel_compiles_once_over_changing_sizes() {
    let mut s = Session::new();
    run(
        &mut s,
        "kernel fill(a: f32[n], v: f32) {
            for i in range(n) {
                a[i] = v * f32(i)
            }
        }",
    );
    let before = s.kernel_stats().0;
    run(
        &mut s,
        "for n in range(1, 40) {
            let a = zeros(n, dtype=f32)
            fill(a, f32(2))
        }",
    );
    let compiled = s.kernel_stats().0 - before;
    // the kernel once, plus the `zeros` constructor's fused fill at most once
    assert!(compiled <= 2, "compiled {compiled} times");
}

#[test]
fn bounds_checks_can_be_turned_off_for_correct_code() {
    let src = "kernel shift(a: f64[n], out: f64[n], k: i64) {
        for i in range(n - k) {
            out[i] = a[i + k]
        }
    }
    let a = arange(10) * 1.0
    let o = zeros(10)
    shift(a, o, 3)";
    let mut checked = Session::new();
    run(&mut checked, src);
    let mut unchecked = Session::new();
    unchecked.set_bounds_checks(false);
    run(&mut unchecked, src);
    let want = vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.0, 0.0, 0.0];
    assert_eq!(checked.get("o").unwrap().to_vec::<f64>().unwrap(), want);
    assert_eq!(unchecked.get("o").unwrap().to_vec::<f64>().unwrap(), want);
    // with checks on, the same kernel reports a bad shift instead of reading out of bounds
    let e = checked.run("shift(a, o, -1)").unwrap_err().render();
    assert!(
        e.contains("index 10 is out of bounds for axis 0 of `out`"),
        "{e}"
    );
}

#[test]
fn kernels_are_callable_from_the_host() {
    let mut s = Session::new();
    let f = s
        .compile(
            "kernel dot(x: f64[n], y: f64[n]) -> f64 {
                let acc = 0.0
                for i in range(n) {
                    acc += x[i] * y[i]
                }
                return acc
            }",
        )
        .unwrap();
    let x = Value::from(Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap());
    let y = Value::from(Array::from_vec(vec![4.0f64, 5.0, 6.0], &[3]).unwrap());
    let r = f.call(&mut s, &[x.clone(), y]).unwrap();
    assert_eq!(r.to_vec::<f64>().unwrap(), vec![32.0]);
    let short = Value::from(Array::from_vec(vec![1.0f64], &[1]).unwrap());
    let e = f.call(&mut s, &[x, short]).unwrap_err().render();
    assert!(e.contains("needs `n` = 3"), "{e}");
    // lowering errors surface at compile time
    let e = s
        .compile("kernel bad(a: f64[n]) { a[0] = undefined_thing }")
        .unwrap_err()
        .render();
    assert!(e.contains("unknown name `undefined_thing`"), "{e}");
}

/// Generated elementwise expressions over three inputs.
#[derive(Clone, Debug)]
enum E {
    Var(usize),
    Int(i64),
    Float(f64),
    Bin(&'static str, Box<E>, Box<E>),
    Call(&'static str, Box<E>),
    Where(Box<E>, Box<E>, Box<E>),
}

const OPS: &[&str] = &["+", "-", "*", "/", "<", ">=", "minimum", "maximum"];
const FNS: &[&str] = &["abs", "sqrt", "exp", "floor", "sin", "tanh"];

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        4 => (0usize..3).prop_map(E::Var),
        1 => (-3i64..4).prop_map(E::Int),
        1 => (-2.5f64..2.5).prop_map(|f| E::Float((f * 4.0).round() / 4.0)),
    ];
    leaf.prop_recursive(4, 20, 3, |inner| {
        prop_oneof![
            4 => (prop::sample::select(OPS), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            1 => (prop::sample::select(FNS), inner.clone())
                .prop_map(|(f, a)| E::Call(f, Box::new(a))),
            1 => (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| E::Where(Box::new(c), Box::new(a), Box::new(b))),
        ]
    })
}

/// The expression's source, with the inputs written by `var` (`a` or `a[i]`).
fn source(e: &E, var: &dyn Fn(usize) -> String) -> String {
    match e {
        E::Var(k) => var(*k),
        E::Int(v) => format!("({v})"),
        E::Float(v) => format!("({v:?})"),
        E::Bin(op, a, b) if op.chars().all(|c| c.is_alphabetic()) => {
            format!("{op}({}, {})", source(a, var), source(b, var))
        }
        E::Bin(op, a, b) => format!("({} {op} {})", source(a, var), source(b, var)),
        E::Call(f, a) => format!("{f}({})", source(a, var)),
        E::Where(c, a, b) => format!(
            "where({} > 0, {}, {})",
            source(c, var),
            source(a, var),
            source(b, var)
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A kernel computing an expression element by element gives exactly what the fused
    /// array pipeline gives for the same expression (same promotion, same operations).
    #[test]
    fn kernel_loops_match_array_expressions(
        e in expr(),
        dts in prop::collection::vec(prop::sample::select(vec!["i32", "i64", "f32", "f64"]), 3),
        n in 1usize..40,
    ) {
        let names = ["a", "b", "c"];
        let arr = source(&e, &|k| names[k].to_string());
        let elem = source(&e, &|k| format!("{}[i]", names[k]));
        let mut s = Session::new();
        let setup = format!(
            "let a = astype(arange({n}) - 7, {0})\nlet b = astype((arange({n}) * 5) % 11 - 4, {1})\nlet c = astype(arange({n}) % 3, {2})\nlet r = {arr}",
            dts[0], dts[1], dts[2]
        );
        if s.run(&setup).is_err() {
            return Ok(()); // e.g. an integer `/` result assigned nowhere: nothing to compare
        }
        let r = s.get("r").unwrap().to_array().unwrap();
        let dt = r.dtype();
        let kernel = format!(
            "kernel k(a: {0}[n], b: {1}[n], c: {2}[n], out: {dt}[n]) {{\n for i in range(n) {{\n out[i] = {elem}\n }}\n}}\nlet o = zeros({n}, dtype={dt})\nk(a, b, c, o)",
            dts[0], dts[1], dts[2]
        );
        if let Err(err) = s.run(&kernel) {
            prop_assert!(false, "kernel failed: {}\n{}", err.render(), kernel);
        }
        let o = s.get("o").unwrap().to_array().unwrap();
        let (got, want) = (o.to_scalars().unwrap(), r.to_scalars().unwrap());
        for (g, w) in got.iter().zip(&want) {
            let same = g == w || (g.to_f64().is_nan() && w.to_f64().is_nan());
            prop_assert!(same, "{arr}: kernel {g:?} vs array {w:?}");
        }
    }
}

/// The kernel IR of the examples' kernels, compared with `tests/golden_kir/<name>.kir`
/// (`NDX_BLESS=1` rewrites them): a change in lowering shows up as a reviewable diff.
#[test]
fn kernel_ir_matches_the_golden_files() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut failures = Vec::new();
    for (example, kernel) in [
        ("mandelbrot", "mandelbrot"),
        ("heat", "diffuse"),
        ("histogram", "histogram"),
        ("monte_carlo_pi", "estimate_pi"),
    ] {
        let src = std::fs::read_to_string(root.join("examples").join(format!("{example}.ndx")))
            .expect("example");
        // Only the definitions: cut the script at the first line after the kernel's body.
        let defs: String = src
            .lines()
            .take_while(|l| !l.starts_with("let ") && !l.starts_with("seed("))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut s = Session::new();
        run(&mut s, &defs);
        let ir = s.kernel_ir(kernel).unwrap() + "\n";
        let path = root.join("tests/golden_kir").join(format!("{kernel}.kir"));
        if std::env::var_os("NDX_BLESS").is_some() {
            std::fs::write(&path, &ir).expect("bless");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != ir {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- actual\n{ir}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A math function of a number gives the bits it gives on an array and in a kernel: all three
/// run the compiled library (`tanh(-0.5)` once came from the platform's libm, 1 ULP from the
/// other two; found by `kernel_loops_match_array_expressions`). Likewise `**` and `arctan2`
/// of two numbers, `**` with a literal small exponent multiplying as on arrays.
#[test]
fn math_of_numbers_matches_arrays_and_kernels() {
    let fns = [
        "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
        "arccos", "arctan", "sinh", "cosh", "tanh", "erf", "cbrt",
    ];
    let values = ["-0.5", "0.3", "0.75", "2.5", "-7.25", "31.0"];
    let mut cases: Vec<(String, String, String)> = Vec::new();
    for f in fns {
        for v in values {
            cases.push((format!("{f}({v})"), format!("{f}(x + {v})"), v.to_string()));
        }
    }
    for (a, b) in [
        ("2.5", "0.37"),
        ("1.1", "3"),
        ("0.75", "-2"),
        ("3.0", "0.5"),
        ("7.5", "-1.25"),
    ] {
        cases.push((
            format!("{a} ** {b}"),
            format!("(x + {a}) ** {b}"),
            a.to_string(),
        ));
        cases.push((
            format!("arctan2({b}, {a})"),
            format!("arctan2(x + {b}, x + {a})"),
            a.to_string(),
        ));
    }
    for (number, array, _) in &cases {
        let mut s = Session::new();
        let src = format!(
            "let x = zeros(1, dtype=f64)\nlet n = {number}\nlet a = {array}\nkernel k(x: f64[m], out: f64[m]) {{\n for i in range(m) {{\n out[i] = {}\n }}\n}}\nlet o = zeros(1, dtype=f64)\nk(x, o)",
            array.replace("x +", "x[i] +")
        );
        s.run(&src).unwrap();
        let get = |name: &str| s.get(name).unwrap().to_vec::<f64>().unwrap()[0];
        let (n, a, o) = (get("n"), get("a"), get("o"));
        assert_eq!(
            n.to_bits(),
            a.to_bits(),
            "{number}: {n:e} as a number, {a:e} on an array"
        );
        assert_eq!(
            n.to_bits(),
            o.to_bits(),
            "{number}: {n:e} as a number, {o:e} in a kernel"
        );
    }
}
