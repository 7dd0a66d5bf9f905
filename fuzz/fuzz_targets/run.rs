//! The whole pipeline on arbitrary scripts: parse, check, fuse, compile and run. Every outcome
//! must be a value or a rendered error, never a panic, an abort or a signal.
//!
//! The harness skips inputs that cannot finish or would touch the machine: loops (`while`,
//! `for`: a fuzzer finds `while true {}` at once), file access (`load`, `save`, `memmap`,
//! `include`, `save_png`) and numbers of five or more digits (arrays of many gigabytes). Those
//! paths have their own tests (tests/scripts/errors, crates/ndx/tests/robustness.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

const SKIP: &[&str] = &["while", "for", "load", "save", "memmap", "include"];

fn acceptable(src: &str) -> bool {
    if src.len() > 2048 || SKIP.iter().any(|w| src.contains(w)) {
        return false;
    }
    let mut digits = 0;
    for c in src.chars() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        if digits >= 5 {
            return false;
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if !acceptable(src) {
        return;
    }
    let mut session = ndx::Session::new();
    session.capture_output();
    if let Err(e) = session.run(src) {
        let _ = e.render();
    }
    let _ = session.take_output();
});
