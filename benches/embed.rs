//! Interactive and embedded latency: a REPL expression over 1000 elements whose kernel is
//! already compiled (issue 6's target: under 50 us of ndx time), and a host call of a
//! compiled kernel with already-lent buffers (target: under 2 us of overhead).
//!
//! `cargo bench -p ndx --bench embed`; numbers are in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use ndx::repl::Repl;
use ndx::{Arg, ArrayMut, ArrayRef, Session};
use std::hint::black_box;

fn repl(c: &mut Criterion) {
    let mut g = c.benchmark_group("repl");
    let mut s = Session::new();
    s.run("let x = arange(1000, dtype=f32)").unwrap();
    s.run("x * 2.0 + 1.0").unwrap();
    s.run("sum(x * x)").unwrap();
    g.bench_function("session_run elementwise 1000 f32", |b| {
        b.iter(|| black_box(s.run(black_box("x * 2.0 + 1.0")).unwrap()))
    });
    g.bench_function("session_run sum 1000 f32", |b| {
        b.iter(|| black_box(s.run(black_box("sum(x * x)")).unwrap()))
    });
    let mut r = Repl::new();
    r.feed("let x = arange(1000, dtype=f32)");
    r.feed("sum(x * x)");
    r.feed("x * 2.0 + 1.0");
    g.bench_function("repl_feed sum 1000 f32 (printed)", |b| {
        b.iter(|| black_box(r.feed(black_box("sum(x * x)"))))
    });
    g.bench_function("repl_feed elementwise 1000 f32 (printed)", |b| {
        b.iter(|| black_box(r.feed(black_box("x * 2.0 + 1.0"))))
    });
    g.finish();
}

fn host(c: &mut Criterion) {
    let mut g = c.benchmark_group("host");
    let mut s = Session::new();
    s.run("kernel axpy(a: f32, x: f32[n], y: f32[n]) { for i in range(n) { y[i] += a * x[i] } }")
        .unwrap();
    let k = s.kernel("axpy").unwrap();
    let x = vec![1.0f32; 1];
    let mut y = vec![0.0f32; 1];
    let mut args = [
        Arg::from(0.5f32),
        ArrayRef::new(&x, &[1]).unwrap().into(),
        ArrayMut::new(&mut y, &[1]).unwrap().into(),
    ];
    g.bench_function("kernel call, 1 element, args lent", |b| {
        b.iter(|| black_box(k.call(black_box(&mut args)).unwrap()))
    });
    let x = vec![1.0f32; 1];
    let mut y = vec![0.0f32; 1];
    g.bench_function("kernel call, 1 element, args built per call", |b| {
        b.iter(|| {
            let r = k.call(&mut [
                Arg::from(0.5f32),
                ArrayRef::new(&x, &[1]).unwrap().into(),
                ArrayMut::new(&mut y, &[1]).unwrap().into(),
            ]);
            black_box(r.unwrap())
        })
    });
    let x = vec![1.0f32; 1000];
    let mut y = vec![0.0f32; 1000];
    let mut args = [
        Arg::from(0.5f32),
        ArrayRef::new(&x, &[1000]).unwrap().into(),
        ArrayMut::new(&mut y, &[1000]).unwrap().into(),
    ];
    g.bench_function("kernel call, 1000 elements, args lent", |b| {
        b.iter(|| black_box(k.call(black_box(&mut args)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, repl, host);
criterion_main!(benches);
