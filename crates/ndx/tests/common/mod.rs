//! Helpers shared by the integration tests (`mod common;`). Each test crate uses some of
//! them, so the unused rest is allowed.
#![allow(dead_code)]

use ndx::Session;

/// The explain text of `src` run in `s`, without compile times (the same text on every run);
/// a failing statement fails the test with its rendered diagnostic.
pub fn explain_text(s: &mut Session, src: &str) -> String {
    s.explain(src)
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .text(ndx::explain::TextOptions { timings: false })
}

/// The lanes of a C-ordered array of `shape` along `axis`, in the order of the reduced
/// result (each lane holds the `shape[axis]` values a reduction over `axis` combines).
pub fn lanes(shape: &[usize], axis: usize, data: &[f64]) -> Vec<Vec<f64>> {
    let outer: usize = shape[..axis].iter().product();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for i in 0..inner {
            out.push((0..n).map(|k| data[(o * n + k) * inner + i]).collect());
        }
    }
    out
}

/// A small xorshift generator: reproducible data without another dependency.
pub struct Gen(pub u64);

impl Gen {
    /// A generator for `seed` (any value; spread so that small seeds differ).
    pub fn new(seed: u64) -> Gen {
        Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A uniform value in [0, 1) with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
