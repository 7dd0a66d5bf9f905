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
