//! Which nests get a vector inner loop, and that the vector forms compile and compute the
//! right values on this host (compiled directly from a `Nest`).

mod common;
use common::*;
use ndx_ir::kernel::{BinaryOp as B, ReduceOp as R};
use ndx_ir::loops::{Inner, Launch, Nest};
use ndx_runtime::DType;

fn nest(k: &K, rank: usize, reduce_from: usize, inner: Vec<Inner>) -> Nest {
    Nest {
        kernel: k.0.clone(),
        rank,
        reduce_from,
        inner,
    }
}

#[test]
fn vector_select_and_int_minmax_reduction() {
    let mut jit = jit();
    // where(x > y, x, y) - 1 on f64 with a broadcast y: vectorised.
    let mut k = K::new();
    let x = k.input(DType::F64);
    let y = k.input(DType::F64);
    let gt = k.bin(B::Gt, x, y);
    let s = k.select(gt, x, y);
    k.out(s);
    let n = nest(
        &k,
        1,
        1,
        vec![Inner::Contiguous, Inner::Broadcast, Inner::Contiguous],
    );
    let c = jit.compile(&n).unwrap();
    assert!(c.is_vectorized());
    let xs: Vec<f64> = (0..9).map(|i| i as f64 - 4.0).collect();
    let ys = [0.5f64];
    let mut out = vec![0f64; 9];
    let launch = Launch {
        shape: vec![9],
        ptrs: vec![
            xs.as_ptr() as usize,
            ys.as_ptr() as usize,
            out.as_mut_ptr() as usize,
        ],
        strides: vec![vec![8], vec![0], vec![8]],
    };
    assert_eq!(unsafe { c.call(&launch.words()) }, 0);
    assert_eq!(out, xs.iter().map(|v| v.max(0.5)).collect::<Vec<_>>());
    // A wrong number of words is refused, not called.
    assert_eq!(unsafe { c.call(&[1, 2]) }, -1);

    // i64 max and sum over the inner axis of a (2, 11) matrix: vector accumulators.
    let mut k = K::new();
    let x = k.input(DType::I64);
    k.reduce(x, R::Max);
    k.reduce(x, R::Sum);
    let n = nest(
        &k,
        2,
        1,
        vec![Inner::Contiguous, Inner::Broadcast, Inner::Broadcast],
    );
    let c = jit.compile(&n).unwrap();
    assert!(c.is_vectorized());
    let xs: Vec<i64> = (0..22).map(|i| (i * 37 % 19) - 9).collect();
    let (mut mx, mut sm) = (vec![0i64; 2], vec![0i64; 2]);
    let launch = Launch {
        shape: vec![2, 11],
        ptrs: vec![
            xs.as_ptr() as usize,
            mx.as_mut_ptr() as usize,
            sm.as_mut_ptr() as usize,
        ],
        strides: vec![vec![88, 8], vec![8, 0], vec![8, 0]],
    };
    assert_eq!(unsafe { c.call(&launch.words()) }, 0);
    for r in 0..2 {
        let row = &xs[r * 11..(r + 1) * 11];
        assert_eq!(mx[r], *row.iter().max().unwrap());
        assert_eq!(sm[r], row.iter().sum::<i64>());
    }
}

#[test]
fn scalar_fallbacks() {
    let mut jit = jit();
    // Integer division, strided access, bool values and mixed widths stay scalar.
    let mut k = K::new();
    let x = k.input(DType::I32);
    let y = k.input(DType::I32);
    let q = k.bin(B::FloorDiv, x, y);
    k.out(q);
    let c = jit
        .compile(&nest(&k, 1, 1, vec![Inner::Contiguous; 3]))
        .unwrap();
    assert!(!c.is_vectorized());
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let s = k.bin(B::Add, x, y);
    k.out(s);
    let c = jit
        .compile(&nest(
            &k,
            1,
            1,
            vec![Inner::Contiguous, Inner::Strided, Inner::Contiguous],
        ))
        .unwrap();
    assert!(!c.is_vectorized());
    let c = jit
        .compile(&nest(&k, 1, 1, vec![Inner::Contiguous; 3]))
        .unwrap();
    assert!(c.is_vectorized());
    let mut k = K::new();
    let x = k.input(DType::F32);
    let d = k.cast(x, DType::F64);
    k.out(d);
    let c = jit
        .compile(&nest(&k, 1, 1, vec![Inner::Contiguous; 2]))
        .unwrap();
    assert!(!c.is_vectorized());
    assert_eq!(jit.stats().compiled, 4);
}
