//! `y = 2.5 * x + y2` over 10M f32 through `Jit::execute` (cached kernel, vector loop) against
//! a plain `copy_from_slice` of the same number of bytes. Prints ns per element and the ratio.
//!
//! Run: `cargo bench -p ndx-codegen --bench axpy`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndx_codegen::{Jit, RawArray};
use ndx_ir::kernel::{BinaryOp, Kernel, Op, Output};
use ndx_runtime::{DType, Scalar};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 10_000_000;

fn axpy_kernel() -> Kernel {
    let mut k = Kernel::new();
    k.inputs = vec![DType::F32, DType::F32];
    let x = k.push(Op::Input(0), DType::F32);
    let y = k.push(Op::Input(1), DType::F32);
    let a = k.push(Op::Const(Scalar::F32(2.5)), DType::F32);
    let ax = k.push(Op::Binary(BinaryOp::Mul, a, x), DType::F32);
    let r = k.push(Op::Binary(BinaryOp::Add, ax, y), DType::F32);
    k.outputs.push(Output {
        value: r,
        reduce: None,
    });
    k
}

fn bench(c: &mut Criterion) {
    let Ok(mut jit) = Jit::new() else {
        eprintln!("no JIT for this host");
        return;
    };
    let k = axpy_kernel();
    let x: Vec<f32> = (0..N).map(|i| i as f32).collect();
    let y2: Vec<f32> = (0..N).map(|i| (i % 7) as f32).collect();
    let mut out = vec![0f32; N];
    let arrays = |out: &mut Vec<f32>| {
        [
            RawArray {
                ptr: x.as_ptr() as usize,
                strides: vec![4],
                dtype: DType::F32,
            },
            RawArray {
                ptr: y2.as_ptr() as usize,
                strides: vec![4],
                dtype: DType::F32,
            },
            RawArray {
                ptr: out.as_mut_ptr() as usize,
                strides: vec![4],
                dtype: DType::F32,
            },
        ]
    };
    let mut g = c.benchmark_group("axpy_10M_f32");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("jit", |b| {
        b.iter(|| {
            let a = arrays(&mut out);
            jit.execute(black_box(&k), &[N], &[false], &a)
                .map_err(|e| e.to_string())
        })
    });
    g.bench_function("memcpy", |b| b.iter(|| out.copy_from_slice(black_box(&x))));
    g.finish();

    // A direct side-by-side, printed: best of 20 runs each.
    let best = |f: &mut dyn FnMut()| {
        (0..20)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let t_jit = best(&mut || {
        let a = arrays(&mut out);
        let _ = jit.execute(&k, &[N], &[false], &a);
    });
    let t_copy = best(&mut || out.copy_from_slice(black_box(&x)));
    assert_eq!(out[3], x[3]);
    let ns = |t: f64| t * 1e9 / N as f64;
    println!(
        "axpy jit: {:.3} ns/element, memcpy: {:.3} ns/element, ratio jit/memcpy: {:.2}",
        ns(t_jit),
        ns(t_copy),
        t_jit / t_copy
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
