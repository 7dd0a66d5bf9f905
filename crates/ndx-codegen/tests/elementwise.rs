//! Elementwise kernels on real buffers, compared with values computed in Rust.

mod common;
use common::*;
use ndx_ir::kernel::BinaryOp as B;
use ndx_runtime::{DType, Scalar};

fn axpy_kernel() -> K {
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let a = k.c(Scalar::F32(2.5));
    let ax = k.bin(B::Mul, a, x);
    let r = k.bin(B::Add, ax, y);
    k.out(r);
    k
}

#[test]
fn axpy_f32_all_lengths() {
    let mut jit = jit();
    let k = axpy_kernel();
    for n in 0..=17usize {
        let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
        let y: Vec<f32> = (0..n).map(|i| 1.0 / (i as f32 + 1.0)).collect();
        let mut out = vec![f32::NAN; n];
        let arrays = [raw(&x, DType::F32, &[1]), raw(&y, DType::F32, &[1]), raw_mut(&mut out, DType::F32, &[1])];
        jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
        for i in 0..n {
            assert_eq!(out[i].to_bits(), (2.5f32 * x[i] + y[i]).to_bits(), "n={n} i={i}");
        }
    }
    let st = jit.stats();
    assert_eq!(st.compiled, 1, "one compilation for all sizes");
    assert_eq!(st.hits, 17);
}
