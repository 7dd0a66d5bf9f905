//! Golden tests of the explain and emit text forms: every `tests/golden/NAME.ndx` runs in a
//! fresh session with tracing, and each stage's text is compared exactly with
//! `tests/golden/NAME.STAGE` (`explain` without compile times, `ir`, `loops`, `clif`).
//! Machine code (`--asm`) depends on the CPU's features and is not golden-tested.
//!
//! The 512-bit row code depends on the CPU (AVX-512F), so these tests describe the Cranelift
//! code everywhere: they set `NDX_ZMM=0` before any session starts (`tests/row_code.rs`
//! checks what `explain` says of the row code).
//!
//! `NDX_BLESS=1 cargo test -p ndx --test golden` writes the files from the actual text; a
//! plain run never rewrites anything.

use ndx::{Stage, TextOptions};
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn scripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "ndx"));
    v.sort();
    v
}

/// Keeps every kernel on the Cranelift code (see the module documentation). Once, before
/// either test's first session: `ndx_codegen::row_code_available` reads it once.
fn cranelift_only() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("NDX_ZMM", "0"));
}

fn stages(path: &Path) -> Vec<(&'static str, String)> {
    cranelift_only();
    let mut out = Vec::new();
    let mut s = ndx::Session::new();
    s.capture_output();
    let ex = s
        .explain_file(path, true)
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.render()));
    out.push(("explain", ex.text(TextOptions { timings: false })));
    out.push(("ir", ex.stage_text(Stage::Ir)));
    out.push(("loops", ex.stage_text(Stage::Loops)));
    out.push(("clif", ex.stage_text(Stage::Clif)));
    out
}

#[test]
fn golden_text_forms() {
    let bless = std::env::var_os("NDX_BLESS").is_some();
    let files = scripts();
    assert!(
        !files.is_empty(),
        "no scripts in {}",
        golden_dir().display()
    );
    let mut failures = Vec::new();
    for path in &files {
        for (stage, actual) in stages(path) {
            let expected_path = path.with_extension(stage);
            let expected = std::fs::read_to_string(&expected_path).ok();
            if expected.as_deref() == Some(actual.as_str()) {
                continue;
            }
            if bless {
                std::fs::write(&expected_path, &actual).expect("write golden file");
                continue;
            }
            let first_diff = match &expected {
                None => "missing (bless with NDX_BLESS=1)".to_string(),
                Some(e) => e
                    .lines()
                    .zip(actual.lines())
                    .enumerate()
                    .find(|(_, (a, b))| a != b)
                    .map(|(i, (a, b))| format!("line {}: expected `{a}`, got `{b}`", i + 1))
                    .unwrap_or_else(|| "lengths differ".to_string()),
            };
            failures.push(format!("{}: {first_diff}", expected_path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn explain_is_stable_across_runs() {
    for path in scripts() {
        assert_eq!(stages(&path), stages(&path), "{}", path.display());
    }
}
