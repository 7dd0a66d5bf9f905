//! Reductions over inner and outer axes, arg reductions, empty extents.

mod common;
use common::*;
use ndx_ir::kernel::ReduceOp as R;
use ndx_runtime::DType;

/// Reduces an (m, n) f32 matrix over `axis` with `op`, returning the f32 (or i64) results.
fn reduce_f32(
    jit: &mut ndx_codegen::Jit,
    op: R,
    xs: &[f32],
    m: usize,
    n: usize,
    axis: usize,
) -> Vec<f64> {
    let mut k = K::new();
    let x = k.input(DType::F32);
    k.reduce(x, op);
    let kept = if axis == 0 { n } else { m };
    let reduced = [axis == 0, axis == 1];
    let out_strides: [isize; 2] = if axis == 0 { [0, 1] } else { [1, 0] };
    if matches!(op, R::ArgMin | R::ArgMax) {
        let mut out = vec![-7i64; kept];
        let arrays = [
            raw(xs, DType::F32, &[n as isize, 1]),
            raw_mut(&mut out, DType::I64, &out_strides),
        ];
        jit.execute(&k.0, &[m, n], &reduced, &arrays).unwrap();
        out.iter().map(|v| *v as f64).collect()
    } else {
        let mut out = vec![-7f32; kept];
        let arrays = [
            raw(xs, DType::F32, &[n as isize, 1]),
            raw_mut(&mut out, DType::F32, &out_strides),
        ];
        jit.execute(&k.0, &[m, n], &reduced, &arrays).unwrap();
        out.iter().map(|v| f64::from(*v)).collect()
    }
}

fn expect(op: R, vals: &[f32]) -> f64 {
    match op {
        R::Sum => vals.iter().map(|v| f64::from(*v)).sum(),
        R::Min => vals.iter().fold(f64::INFINITY, |a, v| {
            if v.is_nan() || a.is_nan() {
                f64::NAN
            } else {
                a.min(f64::from(*v))
            }
        }),
        R::Max => vals.iter().fold(f64::NEG_INFINITY, |a, v| {
            if v.is_nan() || a.is_nan() {
                f64::NAN
            } else {
                a.max(f64::from(*v))
            }
        }),
        R::ArgMax | R::ArgMin => {
            let mut best = 0usize;
            for (i, v) in vals.iter().enumerate() {
                let b = vals[best];
                if b.is_nan() {
                    break;
                }
                if v.is_nan() || (op == R::ArgMax && *v > b) || (op == R::ArgMin && *v < b) {
                    best = i;
                }
            }
            best as f64
        }
        _ => unreachable!(),
    }
}

#[test]
fn float_reductions_inner_and_outer() {
    let mut jit = jit();
    for (m, n) in [(3usize, 13usize), (5, 1), (1, 8), (4, 0), (0, 4), (2, 33)] {
        let xs: Vec<f32> = (0..m * n)
            .map(|i| ((i * 7919) % 23) as f32 - 11.0)
            .collect();
        for op in [R::Sum, R::Min, R::Max, R::ArgMin, R::ArgMax] {
            for axis in 0..2 {
                let got = reduce_f32(&mut jit, op, &xs, m, n, axis);
                let kept = if axis == 0 { n } else { m };
                assert_eq!(got.len(), kept);
                for (j, g) in got.iter().enumerate() {
                    let vals: Vec<f32> = if axis == 0 {
                        (0..m).map(|i| xs[i * n + j]).collect()
                    } else {
                        (0..n).map(|c| xs[j * n + c]).collect()
                    };
                    let e = expect(op, &vals);
                    assert_eq!(*g, e, "{op:?} axis {axis} of ({m},{n}) at {j}");
                }
            }
        }
    }
}

#[test]
fn nan_propagates_and_first_nan_wins() {
    let mut jit = jit();
    let xs = [
        1.0f32,
        f32::NAN,
        5.0,
        f32::NAN,
        9.0,
        -3.0,
        2.0,
        0.0,
        1.0,
        1.0,
    ];
    for op in [R::Min, R::Max] {
        let got = reduce_f32(&mut jit, op, &xs, 1, xs.len(), 1);
        assert!(got[0].is_nan(), "{op:?}");
    }
    assert_eq!(reduce_f32(&mut jit, R::ArgMax, &xs, 1, xs.len(), 1), [1.0]);
    assert_eq!(reduce_f32(&mut jit, R::ArgMin, &xs, 1, xs.len(), 1), [1.0]);
    let ys = [3.0f32, 9.0, 9.0, -4.0, -4.0];
    assert_eq!(reduce_f32(&mut jit, R::ArgMax, &ys, 1, 5, 1), [1.0]);
    assert_eq!(reduce_f32(&mut jit, R::ArgMin, &ys, 1, 5, 1), [3.0]);
}

#[test]
fn int_sum_is_exact_and_wraps() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::I64);
    k.reduce(x, R::Sum);
    let xs: Vec<i64> = (0..37)
        .map(|i| if i % 5 == 0 { i64::MAX } else { i * 1_000_003 })
        .collect();
    let mut out = [0i64];
    let arrays = [
        raw(&xs, DType::I64, &[1]),
        raw_mut(&mut out, DType::I64, &[0]),
    ];
    jit.execute(&k.0, &[37], &[true], &arrays).unwrap();
    assert_eq!(out[0], xs.iter().fold(0i64, |a, v| a.wrapping_add(*v)));
    // i32 product and min over all axes of a 2-d array (rank-2 reduction, flat argmax).
    let mut k = K::new();
    let x = k.input(DType::I32);
    k.reduce(x, R::Max);
    k.reduce(x, R::ArgMax);
    k.reduce(x, R::Prod);
    let xs: Vec<i32> = vec![3, -2, 7, 7, 1, -9];
    let (mut mx, mut am, mut pr) = ([0i32], [0i64], [0i32]);
    let arrays = [
        raw(&xs, DType::I32, &[3, 1]),
        raw_mut(&mut mx, DType::I32, &[0, 0]),
        raw_mut(&mut am, DType::I64, &[0, 0]),
        raw_mut(&mut pr, DType::I32, &[0, 0]),
    ];
    jit.execute(&k.0, &[2, 3], &[true, true], &arrays).unwrap();
    assert_eq!((mx[0], am[0], pr[0]), (7, 2, 3 * -2 * 7 * 7 * -9));
}

#[test]
fn any_all_and_empty_identities() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::Bool);
    k.reduce(x, R::Any);
    k.reduce(x, R::All);
    let xs: Vec<u8> = vec![0, 0, 1, 1, 1, 1, 0, 0, 0];
    // (3, 3): rows [0,0,1], [1,1,1], [0,0,0]
    let (mut any, mut all) = (vec![7u8; 3], vec![7u8; 3]);
    let arrays = [
        raw(&xs, DType::Bool, &[3, 1]),
        raw_mut(&mut any, DType::Bool, &[1, 0]),
        raw_mut(&mut all, DType::Bool, &[1, 0]),
    ];
    jit.execute(&k.0, &[3, 3], &[false, true], &arrays).unwrap();
    assert_eq!(any, [1, 1, 0]);
    assert_eq!(all, [0, 1, 0]);
    // Empty reduced extent: identities.
    let arrays = [
        raw(&xs, DType::Bool, &[0, 1]),
        raw_mut(&mut any, DType::Bool, &[1, 0]),
        raw_mut(&mut all, DType::Bool, &[1, 0]),
    ];
    jit.execute(&k.0, &[3, 0], &[false, true], &arrays).unwrap();
    assert_eq!(any, [0, 0, 0]);
    assert_eq!(all, [1, 1, 1]);
    let e: Vec<f32> = vec![];
    assert_eq!(reduce_f32(&mut jit, R::Sum, &e, 2, 0, 1), [0.0, 0.0]);
    assert_eq!(
        reduce_f32(&mut jit, R::Min, &e, 2, 0, 1),
        [f64::INFINITY, f64::INFINITY]
    );
}
