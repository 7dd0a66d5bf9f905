//! Nothing a user writes may panic: random programs built from the language's tokens and
//! random calls of every builtin with random arguments either run or fail with a diagnostic.

use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

const TOKENS: &[&str] = &[
    "let", "x", "y", "=", "+", "-", "*", "/", "//", "%", "**", "(", ")", "[", "]", "{", "}", ",",
    ":", "...", "newaxis", "1", "0", "-1", "2.5", "1e308", "\"s\"", "true", "sum", "reshape",
    "arange", "zeros", "if", "while", "for", "in", "range", "fn", "f", "kernel", "return", "\n",
    ";", ".", "T", "shape", "axis", "keepdims", "where", "print", "a", "@", "~", "not", "and",
    "or", "<", "==", "&", "|", "^",
];

const BUILTINS: &[&str] = &[
    "sum",
    "mean",
    "var",
    "std",
    "min",
    "max",
    "argmin",
    "argmax",
    "any",
    "all",
    "cumsum",
    "cumprod",
    "reshape",
    "transpose",
    "swapaxes",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "ravel",
    "concatenate",
    "stack",
    "copy",
    "sort",
    "argsort",
    "median",
    "percentile",
    "zeros",
    "ones",
    "full",
    "arange",
    "linspace",
    "eye",
    "rand",
    "randn",
    "uniform",
    "normal",
    "permutation",
    "where",
    "clip",
    "minimum",
    "sqrt",
    "exp",
    "log",
    "abs",
    "round",
    "astype",
    "f32",
    "i32",
    "load",
    "save",
    "memmap",
    "shares_memory",
    "einsum",
    "einsum_path",
    "matmul",
    "dot",
    "inner",
    "outer",
    "tensordot",
    "trace",
    "print",
    "threads",
    "seed",
];

const ARGS: &[&str] = &[
    "a",
    "b",
    "m",
    "0",
    "-1",
    "3",
    "-7",
    "2.5",
    "(2, 3)",
    "(0,)",
    "()",
    "(1, -1)",
    "[a, b]",
    "[1, 2, 3]",
    "axis=0",
    "axis=5",
    "axis=(0, 1)",
    "keepdims=true",
    "dtype=f32",
    "dtype=i32",
    "\"/tmp/ndx_robustness.npy\"",
    "ddof=1",
    "mmap=true",
    "nan",
    "1e300",
    "99999999999",
    "memory_limit=0",
    "axes=1",
    "axes=([0], [1])",
    "offset=-2",
];

/// Pieces of einsum specs, including wrong ones.
const SPEC: &[&str] = &[
    "i", "j", "k", "I", ",", "->", "...", ".", "-", ">", " ", "1", "ii",
];

/// Operands for random specs, including empty and stretched ones.
const OPERANDS: &[&str] = &[
    "a",
    "b",
    "m",
    "2.5",
    "ones((2, 1))",
    "zeros((0, 3))",
    "ones((3, 3), dtype=i32)",
    "broadcast_to(1.0, (2, 3, 3))",
    "a.T",
];

fn run(src: &str) {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut s = ndx::Session::new();
        s.capture_output();
        let setup = "let a = reshape(arange(6.0), (2, 3))\nlet b = arange(3)\nlet m = a > 2.0";
        if let Err(e) = s.run(setup) {
            panic!("setup failed: {e}");
        }
        if let Err(e) = s.run(src) {
            // Every error renders.
            let _ = e.render();
        }
    }));
    assert!(result.is_ok(), "panicked on:\n{src}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(prop::sample::select(TOKENS), 0..30)) {
        run(&toks.join(" "));
    }

    #[test]
    fn builtin_calls_never_panic(
        f in prop::sample::select(BUILTINS),
        args in prop::collection::vec(prop::sample::select(ARGS), 0..4),
    ) {
        run(&format!("let r = {f}({})\nprint(r)", args.join(", ")));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn einsum_specs_never_panic(
        spec in prop::collection::vec(prop::sample::select(SPEC), 0..8),
        ops in prop::collection::vec(prop::sample::select(OPERANDS), 0..4),
        path in any::<bool>(),
    ) {
        let f = if path { "einsum_path" } else { "einsum" };
        let mut args = vec![format!("\"{}\"", spec.concat())];
        args.extend(ops.iter().map(|s| s.to_string()));
        run(&format!("let r = {f}({})\nprint(r)", args.join(", ")));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // At the limits, programs run (on a test thread's small stack, in a debug build)...
    let ok = format!(
        "let a = 1.0\nlet b = {}\nlet c = {}1.0{}",
        vec!["a"; 250].join(" + "),
        "(".repeat(60),
        ")".repeat(60)
    );
    let mut s = ndx::Session::new();
    s.run(&ok).unwrap();
    // ...and past them they are located errors.
    for src in [
        format!("let b = {}", vec!["1.0"; 20000].join(" + ")),
        format!("let b = {}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("let b = {}1{}", "[".repeat(5000), "]".repeat(5000)),
        format!("let b = 1{}", ".T".repeat(5000)),
        format!("let b = {}1.0", "-".repeat(5000)),
    ] {
        let err = ndx::Session::new().run(&src).unwrap_err();
        assert!(err.render().contains("E0115"), "{}", err.render());
    }
}

/// Inside a `fn` body bindings stay lazy, so a loop there that keeps adding to a value built
/// one expression 200 000 nodes deep, and the walks over it overflowed the stack (an abort).
/// Such an expression is now computed every so often (`Lazy::is_large`): the loop runs and
/// gives the exact sum, with a row reduction in the loop too, and with an expression that
/// doubles by sharing.
#[test]
fn a_loop_in_a_fn_body_builds_no_unbounded_expression() {
    let src = "fn f(x) {
    let y = x
    for i in range(200000) {
        y = y + 1.0
    }
    y
}
fn g(x) {
    let y = x
    for i in range(5000) {
        y = y + max(y, axis=-1, keepdims=true) * 0.0 + 1.0
    }
    y
}
fn h(x) {
    let y = x
    for i in range(60) {
        y = (y + y) * 0.5
    }
    y
}
let a = f(zeros(10) + 0.5)
let b = g(zeros((3, 4)))
let c = h(zeros(5) + 3.0)";
    let mut s = ndx::Session::new();
    s.run(src).unwrap();
    let get = |n: &str| s.get(n).unwrap().to_vec::<f64>().unwrap();
    assert!(get("a").iter().all(|&v| v == 200000.5), "{:?}", get("a"));
    assert!(get("b").iter().all(|&v| v == 5000.0), "{:?}", get("b"));
    assert!(get("c").iter().all(|&v| v == 3.0), "{:?}", get("c"));
}

/// Generated kernel bodies: any mix of locals, element reads and writes (often out of
/// bounds), loops, `prange`, reductions and returns either runs or fails with a diagnostic.
#[derive(Clone, Debug)]
enum KS {
    Let(u8, String),
    Set(u8, String),
    Store1(String, String),
    Store2(String, String, String),
    Reduce(String),
    If(String, Vec<KS>, Vec<KS>),
    For(u8, u8, bool, Vec<KS>),
    While(String, Vec<KS>),
    Return(String),
}

fn kexpr() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "2",
        "7",
        "2.5",
        "-0.0",
        "1e308",
        "true",
        "n",
        "p",
        "q",
        "s",
        "v0",
        "v1",
        "i0",
        "i1",
        "a.shape[0]",
        "m.shape[-1]",
        "rand()",
        "randn()",
        "nan",
        "inf",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "//", "%", "<", "==", "and", "or", "&", "**"
                ]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (
                prop::sample::select(vec!["sqrt", "exp", "i32", "f64", "abs", "floor", "bool"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            inner.clone().prop_map(|i| format!("a[i64({i})]")),
            (inner.clone(), inner).prop_map(|(i, j)| format!("m[i64({i}), i32({j})]")),
        ]
    })
}

fn kstmts(depth: u32) -> BoxedStrategy<Vec<KS>> {
    let simple = prop_oneof![
        (0u8..2, kexpr()).prop_map(|(v, e)| KS::Let(v, e)),
        (0u8..2, kexpr()).prop_map(|(v, e)| KS::Set(v, e)),
        (kexpr(), kexpr()).prop_map(|(i, e)| KS::Store1(i, e)),
        (kexpr(), kexpr(), kexpr()).prop_map(|(i, j, e)| KS::Store2(i, j, e)),
        kexpr().prop_map(KS::Reduce),
        kexpr().prop_map(KS::Return),
    ];
    if depth == 0 {
        return prop::collection::vec(simple, 0..4).boxed();
    }
    let inner = kstmts(depth - 1);
    let compound = prop_oneof![
        (kexpr(), inner.clone(), inner.clone()).prop_map(|(c, t, e)| KS::If(c, t, e)),
        (0u8..2, 0u8..12, any::<bool>(), inner.clone())
            .prop_map(|(v, n, par, b)| KS::For(v, n, par, b)),
        (kexpr(), inner).prop_map(|(c, b)| KS::While(c, b)),
    ];
    prop::collection::vec(prop_oneof![3 => simple, 1 => compound], 0..5).boxed()
}

fn ksource(stmts: &[KS], out: &mut String) {
    for s in stmts {
        match s {
            KS::Let(v, e) => out.push_str(&format!("let v{v} = {e}\n")),
            KS::Set(v, e) => out.push_str(&format!("v{v} = {e}\n")),
            KS::Store1(i, e) => out.push_str(&format!("a[i64({i})] = {e}\n")),
            KS::Store2(i, j, e) => out.push_str(&format!("m[i64({i}), {j} % 3] = {e}\n")),
            KS::Reduce(e) => out.push_str(&format!("s += {e}\n")),
            KS::Return(e) => out.push_str(&format!("return {e}\n")),
            KS::If(c, t, e) => {
                out.push_str(&format!("if {c} {{\n"));
                ksource(t, out);
                out.push_str("} else {\n");
                ksource(e, out);
                out.push_str("}\n");
            }
            KS::For(v, n, par, b) => {
                let r = if *par { "prange" } else { "range" };
                out.push_str(&format!("for i{v} in {r}({n}) {{\n"));
                ksource(b, out);
                out.push_str("}\n");
            }
            KS::While(c, b) => {
                out.push_str(&format!("while {c} {{\n"));
                ksource(b, out);
                out.push_str("break\n}\n");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn kernel_bodies_never_panic(body in kstmts(2)) {
        let mut src = String::from("kernel k(a: f64[n], m: i32[p, q], s: f64) -> f64 {\nlet v0 = 0.0\nlet v1 = 1\nlet i0 = 0\nlet i1 = 2\n");
        ksource(&body, &mut src);
        src.push_str("return s\n}\nlet r = k(a[0, :], astype(a, i32), 1.5)\nprint(r)\nthreads(2)\nprint(k(b * 1.0, astype(a.T, i32), 0.5))");
        run(&src);
    }
}

#[test]
fn shapes_past_the_address_space_are_errors_not_overflows() {
    for src in [
        "print(broadcast_to(1.0, (4294967296, 4294967296)).size)",
        "let a = broadcast_to(1.0, (4294967296,))\nprint(sum(a[:, newaxis] * a[newaxis, :]))",
        "let a = broadcast_to(1.0, (4294967296,))\nprint(mean(a[:, newaxis] * a[newaxis, :], axis=0))",
        "let a = broadcast_to(1.0, (4294967296,))\nlet c = a[:, newaxis] * a[newaxis, :]",
        "print(zeros((4294967296, 4294967296)))",
    ] {
        run(src);
        let err = ndx::Session::new().run(src).unwrap_err().render();
        assert!(err.contains("too") || err.contains("more than"), "{src}: {err}");
    }
}
