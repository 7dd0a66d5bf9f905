//! Criterion benches of fused statements through the public `Session` API, against a plain
//! memcpy of the same bytes. Run: `cargo bench -p ndx --bench fused`.
//! The side-by-side comparison with NumPy, numexpr and Numba is `benches/compare.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use ndx::{Array, Session};
use std::hint::black_box;

const N: usize = 10_000_000;

fn session_with(vars: &[(&str, Array)]) -> Session {
    let mut s = Session::new();
    // Single-threaded, to compare with a single-threaded memcpy.
    run(&mut s, "threads(1)");
    for (k, v) in vars {
        s.set(k, v.clone());
    }
    s
}

fn f32s(n: usize, scale: f32) -> Array {
    let v: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * scale).collect();
    match Array::from_vec(v, &[n]) {
        Ok(a) => a,
        Err(e) => panic!("bench setup: {e}"),
    }
}

fn run(s: &mut Session, src: &str) {
    if let Err(e) = s.run(src) {
        panic!("bench statement failed: {e}");
    }
}

fn axpy(c: &mut Criterion) {
    let mut g = c.benchmark_group("axpy_10M_f32");
    g.sample_size(20);
    let src: Vec<f32> = (0..N).map(|i| i as f32).collect();
    let mut dst = vec![0f32; N];
    g.bench_function("memcpy", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });
    let mut s = session_with(&[
        ("x", f32s(N, 0.5)),
        ("y2", f32s(N, 0.25)),
        ("y", f32s(N, 0.0)),
    ]);
    run(&mut s, "y[:] = 2.5 * x + y2");
    g.bench_function("ndx_into_existing", |b| {
        b.iter(|| run(&mut s, "y[:] = 2.5 * x + y2"))
    });
    g.bench_function("ndx_new_binding", |b| {
        b.iter(|| run(&mut s, "y = 2.5 * x + y2"))
    });
    g.finish();
}

fn bias_add(c: &mut Criterion) {
    let mut g = c.benchmark_group("bias_add_4096x768_f32");
    g.sample_size(20);
    let x = match f32s(4096 * 768, 0.5).reshape(&[4096, 768]) {
        Ok(a) => a,
        Err(e) => panic!("bench setup: {e}"),
    };
    let mut s = session_with(&[("x", x), ("b", f32s(768, 1.0))]);
    run(&mut s, "let y = x + b");
    g.bench_function("ndx", |bn| bn.iter(|| run(&mut s, "y[:, :] = x + b")));
    g.finish();
}

fn outer_sum(c: &mut Criterion) {
    let mut g = c.benchmark_group("outer_sum_10000_f32");
    g.sample_size(10);
    let mut s = session_with(&[("a", f32s(10_000, 0.001)), ("b", f32s(10_000, 0.002))]);
    g.bench_function("ndx", |bn| {
        bn.iter(|| run(&mut s, "let s = sum(a[:, newaxis] * b[newaxis, :])"))
    });
    g.finish();
}

/// Row programs over (4096, 768) and (4096, 1024) `f32`: layernorm (its three steps one
/// software-pipelined chain), and softmax written on one line (each row's max and the `exp`
/// computed once) next to its two-statement form.
fn rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("rows_f32");
    g.sample_size(20);
    let matrix =
        |rows: i64, cols: i64| match f32s((rows * cols) as usize, 0.001).reshape(&[rows, cols]) {
            Ok(a) => a,
            Err(e) => panic!("bench setup: {e}"),
        };
    let mut s = session_with(&[
        ("x", matrix(4096, 768)),
        ("g", f32s(768, 0.001)),
        ("b", f32s(768, 0.002)),
        ("xs", matrix(4096, 1024)),
    ]);
    run(
        &mut s,
        "let y = zeros((4096, 768), dtype=f32)\nlet ys = zeros((4096, 1024), dtype=f32)",
    );
    let layernorm = "y[:, :] = (x - mean(x, axis=-1, keepdims=true)) / sqrt(mean((x - mean(x, axis=-1, keepdims=true)) * (x - mean(x, axis=-1, keepdims=true)), axis=-1, keepdims=true) + 1e-5) * g + b";
    g.bench_function("layernorm_4096x768", |bn| {
        bn.iter(|| run(&mut s, layernorm))
    });
    let one_line = "ys[:, :] = exp(xs - max(xs, axis=-1, keepdims=true)) / sum(exp(xs - max(xs, axis=-1, keepdims=true)), axis=-1, keepdims=true)";
    g.bench_function("softmax_one_line_4096x1024", |bn| {
        bn.iter(|| run(&mut s, one_line))
    });
    let two = "let e = exp(xs - max(xs, axis=-1, keepdims=true))\nys[:, :] = e / sum(e, axis=-1, keepdims=true)";
    g.bench_function("softmax_two_statements_4096x1024", |bn| {
        bn.iter(|| run(&mut s, two))
    });
    g.finish();
}

criterion_group!(benches, axpy, bias_add, outer_sum, rows);
criterion_main!(benches);
