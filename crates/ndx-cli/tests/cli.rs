//! The `ndx` binary end to end: `run` and `check` exit codes and output, and the REPL driven
//! through its standard input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn ndx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ndx"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn run_prints_and_exits_zero() {
    let out = ndx()
        .arg("run")
        .arg(root().join("examples/quickstart.ndx"))
        .output()
        .expect("spawn ndx");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("x      = [-3. -2. -1.  0.  1.  2.  3.]"),
        "{text}"
    );
}

#[test]
fn errors_exit_one_with_a_located_diagnostic() {
    let dir = std::env::temp_dir().join(format!("ndx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("bad.ndx");
    std::fs::write(&f, "let x = [1.0, 2.0, 3.0]\nlet y = x + [1.0, 2.0]\n").expect("write");
    let out = ndx().arg("run").arg(&f).output().expect("spawn ndx");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[E0201]"), "{err}");
    assert!(err.contains("bad.ndx:2:9"), "{err}");
    assert!(err.contains("let y = x + [1.0, 2.0]"), "{err}");

    // `check` finds syntax and kernel type errors without running anything.
    std::fs::write(
        &f,
        "kernel k(a: f64[n]) {\n    let t = 0\n    t = 1.5\n}\nprint(undefined_name)\n",
    )
    .expect("write");
    let out = ndx().arg("check").arg(&f).output().expect("spawn ndx");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.ndx:3:9"));
    // ...and the errors a kernel's first call would report (a race in a prange loop).
    std::fs::write(
        &f,
        "kernel k(a: f64[n]) -> f64 {\n    let s = 0.0\n    for i in prange(n) {\n        s = a[i]\n    }\n    return s\n}\n",
    )
    .expect("write");
    let out = ndx().arg("check").arg(&f).output().expect("spawn ndx");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("E0830") && err.contains("bad.ndx:4:9"),
        "{err}"
    );
    std::fs::write(&f, "let a = 1\nprint(a)\n").expect("write");
    let out = ndx().arg("check").arg(&f).output().expect("spawn ndx");
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "check must not run the script");

    let out = ndx()
        .arg("run")
        .arg(dir.join("missing.ndx"))
        .output()
        .expect("spawn ndx");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.ndx"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn repl_evaluates_lines_from_stdin() {
    let mut child = ndx()
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ndx");
    let input = "let x = arange(4, dtype=f32)\nsum(x * x)\nlet y = [1,\n 2]\ny * 2\nx + [1.0, 2.0]\n:help\n:quit\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("14.0"), "{stdout}");
    assert!(stdout.contains("[2 4]"), "{stdout}");
    assert!(stdout.contains(":quit"), "help text: {stdout}");
    assert!(stderr.contains("E0201"), "{stderr}");
}

#[test]
fn explain_prints_each_statement_and_exits_zero() {
    // (The golden text describes the Cranelift code: `tests/golden.rs`.)
    let out = ndx()
        .args(["explain", "--no-timings"])
        .arg(root().join("tests/golden/fusion.ndx"))
        .env("NDX_ZMM", "0")
        .output()
        .expect("spawn ndx");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let golden = std::fs::read_to_string(root().join("tests/golden/fusion.explain")).unwrap();
    assert_eq!(text, golden);
    // With timings, compile times appear; the script's own prints do not.
    let out = ndx()
        .arg("explain")
        .arg(root().join("tests/golden/fusion.ndx"))
        .output()
        .expect("spawn ndx");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("code: compiled in "), "{text}");
    assert!(text.starts_with("line 2: threads(2)    ["), "{text}");
}

#[test]
fn emit_writes_each_stage() {
    let script = root().join("tests/golden/kernels.ndx");
    for (flag, golden, marker) in [
        ("--ir", Some("kernels.ir"), "kernel total("),
        ("--loops", Some("kernels.loops"), "kernel total("),
        ("--clif", Some("kernels.clif"), "function u0:"),
        ("--asm", None, "ret"),
    ] {
        let out = ndx()
            .args(["emit", flag])
            .arg(&script)
            .output()
            .expect("spawn ndx");
        assert!(out.status.success(), "{flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{flag}: {text}");
        if let Some(g) = golden {
            let expected = std::fs::read_to_string(root().join("tests/golden").join(g)).unwrap();
            assert_eq!(text, expected, "{flag}");
        }
    }
    // A stage is required, and only one.
    let out = ndx().arg("emit").arg(&script).output().expect("spawn ndx");
    assert!(!out.status.success());
    let out = ndx()
        .args(["emit", "--ir", "--clif"])
        .arg(&script)
        .output()
        .expect("spawn ndx");
    assert!(!out.status.success());
}
