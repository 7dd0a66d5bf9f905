//! File tests: every `.ndx` script under `tests/scripts/` and `examples/` runs, and what it
//! prints or the error it reports is compared with the expectation written in the same file.
//!
//! - `#> text` lines (anywhere, usually at the end) are the expected `print` output, in order.
//! - `#! text` lines each name a fragment that the rendered error must contain; a file with
//!   any `#!` line must fail, one without must succeed.
//!
//! `NDX_BLESS=1 cargo test --test filetests` rewrites the `#>` lines of passing-by-error-free
//! scripts from their actual output; a plain run never rewrites anything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "ndx") {
            out.push(p);
        }
    }
}

struct Expect {
    output: Vec<String>,
    errors: Vec<String>,
}

fn expectations(text: &str) -> Expect {
    let mut output = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#>") {
            output.push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        } else if let Some(rest) = line.strip_prefix("#!") {
            errors.push(rest.trim().to_string());
        }
    }
    Expect { output, errors }
}

fn bless(path: &Path, text: &str, actual: &str) {
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("#>")).collect();
    let mut body = kept.join("\n").trim_end().to_string();
    body.push_str("\n\n");
    for l in actual.lines() {
        if l.is_empty() {
            body.push_str("#>\n");
        } else {
            let _ = writeln!(body, "#> {l}");
        }
    }
    let _ = std::fs::write(path, body);
}

/// Runs one script in a fresh session from the script's directory; returns a failure message.
fn run_one(path: &Path) -> Option<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Some(format!("cannot read: {e}")),
    };
    let expect = expectations(&text);
    let mut s = ndx::Session::new();
    s.capture_output();
    let result = s.run_file(path);
    let out = s.take_output();
    let actual: Vec<&str> = out.lines().collect();
    match (result, expect.errors.is_empty()) {
        (Ok(()), true) => {
            if actual != expect.output {
                if std::env::var_os("NDX_BLESS").is_some() {
                    bless(path, &text, &out);
                    return None;
                }
                return Some(format!(
                    "output differs\n--- expected\n{}\n--- actual\n{}",
                    expect.output.join("\n"),
                    out
                ));
            }
            None
        }
        (Ok(()), false) => Some(format!(
            "expected an error containing {:?}, but the script succeeded",
            expect.errors
        )),
        (Err(e), true) => Some(format!("unexpected error:\n{}", e.render())),
        (Err(e), false) => {
            let rendered = e.render();
            let missing: Vec<&String> = expect
                .errors
                .iter()
                .filter(|f| !rendered.contains(f.as_str()))
                .collect();
            if !missing.is_empty() {
                return Some(format!("the error lacks {missing:?}:\n{rendered}"));
            }
            if actual != expect.output {
                return Some(format!(
                    "output before the error differs\n--- expected\n{}\n--- actual\n{out}",
                    expect.output.join("\n")
                ));
            }
            None
        }
    }
}

fn run_dir(dir: &str) {
    let mut files = Vec::new();
    collect(&root().join(dir), &mut files);
    assert!(!files.is_empty(), "no .ndx files under {dir}");
    let mut failures = Vec::new();
    for f in &files {
        if let Some(msg) = run_one(f) {
            failures.push(format!("{}: {msg}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn scripts() {
    run_dir("tests/scripts");
}

#[test]
fn examples() {
    run_dir("examples");
}
