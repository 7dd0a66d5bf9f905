//! The REPL's logic without a terminal: commands, multi-line input, completion, and that no
//! input makes it panic.

use ndx::repl::{Repl, Reply};
use proptest::prelude::*;

fn out(r: &mut Repl, line: &str) -> String {
    match r.feed(line) {
        Reply::Output(s) => s,
        other => panic!("`{line}` gave {other:?}"),
    }
}

fn err(r: &mut Repl, line: &str) -> String {
    match r.feed(line) {
        Reply::Error(s) => s,
        other => panic!("`{line}` gave {other:?}"),
    }
}

#[test]
fn vars_lists_dtype_shape_bytes_and_views() {
    let mut r = Repl::new();
    out(&mut r, "let x = arange(12, dtype=f32)");
    out(&mut r, "let m = reshape(x, (3, 4))");
    out(&mut r, "let row = m[1, :]");
    out(&mut r, "let n = 3");
    out(&mut r, "fn sq(v) = v * v");
    let text = out(&mut r, ":vars");
    let mut r2 = Repl::new();
    out(&mut r2, "let part = arange(10)[2:5]");
    assert_eq!(
        out(&mut r2, ":vars"),
        "name  dtype  shape  bytes\npart  i64    (3,)      24  view"
    );
    assert_eq!(
        text,
        "\
name  dtype  shape   bytes
m     f32    (3, 4)     48  view of x
n     i64    ()
row   f32    (4,)       16  view of x
x     f32    (12,)      48
sq                          fn"
    );
}

#[test]
fn type_does_not_run_the_expression() {
    let mut r = Repl::new();
    out(&mut r, "let a = ones((1000, 3), dtype=f64)");
    assert_eq!(
        out(&mut r, ":type a * 2 + 1"),
        "f64 (1000, 3)  (not computed)"
    );
    assert_eq!(out(&mut r, ":type sum(a, axis=0)"), "f64 (3,)");
    assert_eq!(out(&mut r, ":type a.shape"), "tuple");
    assert!(err(&mut r, ":type nope + 1").contains("unknown name `nope`"));
    assert!(err(&mut r, ":type").contains("usage: :type EXPR"));
}

#[test]
fn time_reports_first_run_and_spread() {
    let mut r = Repl::new();
    out(&mut r, "let x = arange(1000, dtype=f32)");
    let t = out(&mut r, ":time x * 2.0 + 1.0");
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("first run: "), "{t}");
    assert!(lines[0].ends_with("(compiled 1 kernel)"), "{t}");
    assert!(lines[1].contains(" runs: median "), "{t}");
    assert!(lines[1].contains("(10th-90th percentile), min "), "{t}");
    // Now cached.
    let t = out(&mut r, ":time x * 2.0 + 1.0");
    assert!(t
        .lines()
        .next()
        .unwrap_or("")
        .ends_with("(nothing compiled)"));
}

#[test]
fn stages_of_an_expression() {
    let mut r = Repl::new();
    out(&mut r, "let x = arange(1000, dtype=f32)");
    let ir = out(&mut r, ":ir x * 2.0 + 1.0");
    assert!(
        ir.starts_with("; kernel 1: mul, add\nkernel (f32) {"),
        "{ir}"
    );
    assert!(ir.contains("f32 Mul %0, %1"), "{ir}");
    let loops = out(&mut r, ":loops x * 2.0 + 1.0");
    assert!(
        loops.contains("for i0 in 0..1000    strides: in0 4, out0 4"),
        "{loops}"
    );
    // The 512-bit row code where the CPU has AVX-512F (one row of 1000 elements).
    let lanes = if ndx_codegen::row_code_available() {
        "vector: 16 x 32-bit lanes (AVX-512)"
    } else {
        "vector: 4 x 32-bit lanes"
    };
    assert!(loops.contains(lanes), "{loops}");
    let clif = out(&mut r, ":clif x * 2.0 + 1.0");
    assert!(
        clif.contains("function u0:") && clif.contains("load.f32x4"),
        "{clif}"
    );
    let asm = out(&mut r, ":asm x * 2.0 + 1.0");
    assert!(asm.contains("ret"), "{asm}");
    // A reduction inside runs; the outer expression is only compiled.
    let ex = out(&mut r, ":explain x / sum(x)");
    assert!(ex.starts_with("type: f32 (1000,)  (not computed)"), "{ex}");
    assert!(ex.contains("kernel 1: fused 0 op(s): sum"), "{ex}");
    assert!(ex.contains("kernel 2: fused 1 op(s): div"), "{ex}");
    assert!(ex.contains("not run; would materialise 4000 bytes"), "{ex}");
    // Nothing was bound or printed by the inspection.
    assert!(!out(&mut r, ":vars").contains("_"));
}

#[test]
fn stages_of_kernels_and_contractions() {
    let mut r = Repl::new();
    r.set_timings(false);
    for line in [
        "kernel dbl(a: f64[n]) {",
        "    for i in range(n) { a[i] = 2.0 * a[i] }",
        "}",
    ] {
        r.feed(line);
    }
    out(&mut r, "let v = ones(8)");
    let ir = out(&mut r, ":ir dbl(v)");
    assert!(ir.contains("kernel dbl(a0: f64[rank 1])"), "{ir}");
    let ex = out(&mut r, ":explain dbl(v)");
    assert!(
        ex.contains("`dbl` block") && ex.contains("code: from the cache"),
        "{ex}"
    );
    let clif = out(&mut r, ":clif dbl(v)");
    assert!(clif.contains("function u0:"), "{clif}");
    out(&mut r, "let a = ones((4, 5))");
    let p = out(&mut r, ":explain einsum(\"ij,jk,kl->il\", a, a.T, a)");
    assert!(p.contains("Complete contraction:  ij,jk,kl->il"), "{p}");
}

#[test]
fn load_and_reset() {
    let dir = std::env::temp_dir().join(format!("ndx-repl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("defs.ndx");
    std::fs::write(&f, "let loaded = arange(3)\nprint(\"hello\")\n").expect("write");
    let mut r = Repl::new();
    assert_eq!(out(&mut r, &format!(":load {}", f.display())), "hello");
    assert_eq!(out(&mut r, "loaded"), "[0 1 2]");
    assert!(err(&mut r, ":load /no/such/file.ndx").contains("E0502"));
    assert_eq!(out(&mut r, ":reset"), "session reset");
    assert!(err(&mut r, "loaded").contains("unknown name `loaded`"));
    assert_eq!(out(&mut r, ":vars"), "no names bound");
}

#[test]
fn multi_line_input_and_cancel() {
    let mut r = Repl::new();
    assert_eq!(r.feed("let a = [1,"), Reply::More);
    assert!(r.is_continuing());
    r.cancel();
    assert!(!r.is_continuing());
    assert_eq!(r.feed("let a = [1,"), Reply::More);
    assert_eq!(r.feed("2]"), Reply::Output(String::new()));
    assert_eq!(out(&mut r, "a * 10"), "[10 20]");
    // Values print like NumPy, summarised when large.
    assert_eq!(
        out(&mut r, "arange(2000)"),
        "[   0    1    2 ... 1997 1998 1999]"
    );
}

#[test]
fn errors_point_at_the_entry_typed() {
    let mut r = Repl::new();
    let e = err(&mut r, "let y = [1.0, 2.0] + [1.0, 2.0, 3.0]");
    assert!(e.contains("error[E0201]"), "{e}");
    assert!(
        e.contains("1 │ let y = [1.0, 2.0] + [1.0, 2.0, 3.0]"),
        "{e}"
    );
}

#[test]
fn completion_of_names_builtins_and_commands() {
    let mut r = Repl::new();
    out(&mut r, "let signal = arange(3)");
    out(&mut r, "fn smooth(v) = v");
    let (start, c) = r.complete("print(si", 8);
    assert_eq!(start, 6);
    assert!(c.contains(&"signal".to_string()), "{c:?}");
    assert!(c.contains(&"sin".to_string()), "{c:?}");
    let (_, c) = r.complete("sm", 2);
    assert_eq!(c, vec!["smooth".to_string()]);
    let (start, c) = r.complete(":ex", 3);
    assert_eq!((start, c), (0, vec![":explain".to_string()]));
    let (_, c) = r.complete("x = 12", 6);
    assert!(c.is_empty());
    // Positions past the end or inside a character are clamped, never a panic.
    let _ = r.complete("é", 1);
    let _ = r.complete("abc", 99);
}

#[test]
fn hostile_commands_are_errors_not_panics() {
    let mut r = Repl::new();
    for line in [
        ":",
        ": ",
        ":type",
        ":time",
        ":ir",
        ":loops ",
        ":clif",
        ":asm",
        ":explain",
        ":load",
        ":bogus",
        ":type )",
        ":ir let",
        ":loops 1 +",
        ":clif [",
        ":asm \"",
        ":explain }",
        ":time 1 / 0",
        ":type 99999999999999999999999",
        ":ir x[",
        ":load /",
        ":time let q = 1",
        ":explain let z = ones(3)",
        ":ir for i in range(2) { }",
        "\u{0}",
        "'",
        "]]]",
        ":type ones((2**40, 2**40))",
        ":explain zeros((2**62, 4))",
    ] {
        let _ = r.feed(line);
        r.cancel();
    }
    // Still alive.
    assert_eq!(out(&mut r, "1 + 1"), "2");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_command_line_is_answered(
        cmd in prop::sample::select(vec![":type ", ":ir ", ":loops ", ":explain ", ":vars", ":clif "]),
        body in "[a-z0-9 +*/()\\[\\],.:=-]{0,24}",
    ) {
        let mut r = Repl::new();
        r.feed("let x = arange(6, dtype=f32)");
        let _ = r.feed(&format!("{cmd}{body}"));
        r.cancel();
        let _ = r.complete(&body, body.len() / 2);
        prop_assert_eq!(r.feed("1"), Reply::Output("1".into()));
    }
}
