//! `arange`, `linspace`, `eye`: exact values, empty results and argument errors.

use ndx_runtime::ops::{arange, eye, linspace};
use ndx_runtime::{DType, Scalar};

fn f(a: &ndx_runtime::Array) -> Vec<f64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_f64()).collect()
}

fn i(a: &ndx_runtime::Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

#[test]
fn arange_integers() {
    let a = arange(Scalar::I64(0), Scalar::I64(5), Scalar::I64(1), DType::I64).unwrap();
    assert_eq!(a.shape(), &[5]);
    assert_eq!(a.dtype(), DType::I64);
    assert_eq!(i(&a), vec![0, 1, 2, 3, 4]);
    let b = arange(Scalar::I64(10), Scalar::I64(0), Scalar::I64(-3), DType::I32).unwrap();
    assert_eq!(b.dtype(), DType::I32);
    assert_eq!(i(&b), vec![10, 7, 4, 1]);
    let c = arange(Scalar::I64(1), Scalar::I64(8), Scalar::I64(3), DType::F64).unwrap();
    assert_eq!(f(&c), vec![1.0, 4.0, 7.0]);
}

#[test]
fn arange_floats() {
    let a = arange(
        Scalar::F64(0.0),
        Scalar::F64(1.0),
        Scalar::F64(0.25),
        DType::F64,
    )
    .unwrap();
    assert_eq!(f(&a), vec![0.0, 0.25, 0.5, 0.75]);
    // ceil((2 - 1) / 0.3) = 4 values.
    let b = arange(Scalar::I64(1), Scalar::I64(2), Scalar::F64(0.3), DType::F64).unwrap();
    assert_eq!(b.shape(), &[4]);
    let want = [1.0, 1.3, 1.6, 1.9];
    for (x, y) in f(&b).iter().zip(want) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
    let c = arange(
        Scalar::F64(0.0),
        Scalar::F64(2.0),
        Scalar::F64(0.5),
        DType::F32,
    )
    .unwrap();
    assert_eq!(c.dtype(), DType::F32);
    assert_eq!(f(&c), vec![0.0, 0.5, 1.0, 1.5]);
}

#[test]
fn arange_empty_and_errors() {
    let e = arange(Scalar::I64(5), Scalar::I64(0), Scalar::I64(1), DType::I64).unwrap();
    assert_eq!(e.shape(), &[0]);
    let e = arange(Scalar::I64(3), Scalar::I64(3), Scalar::I64(1), DType::F64).unwrap();
    assert_eq!(e.shape(), &[0]);
    let err = arange(Scalar::I64(0), Scalar::I64(5), Scalar::I64(0), DType::I64).unwrap_err();
    assert!(err.to_string().contains("step"), "{err}");
    let err = arange(
        Scalar::F64(0.0),
        Scalar::F64(5.0),
        Scalar::F64(0.0),
        DType::F64,
    );
    assert!(err.is_err());
    let err = arange(
        Scalar::F64(0.0),
        Scalar::F64(f64::NAN),
        Scalar::F64(1.0),
        DType::F64,
    );
    assert!(err.is_err());
    assert!(arange(
        Scalar::I64(0),
        Scalar::I64(1 << 40),
        Scalar::I64(1),
        DType::I64
    )
    .is_err());
    assert!(arange(
        Scalar::I64(i64::MIN),
        Scalar::I64(i64::MAX),
        Scalar::I64(1),
        DType::I64
    )
    .is_err());
}

#[test]
fn linspace_values() {
    let a = linspace(0.0, 1.0, 5, true, DType::F64).unwrap();
    assert_eq!(f(&a), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    let b = linspace(0.0, 1.0, 4, false, DType::F64).unwrap();
    assert_eq!(f(&b), vec![0.0, 0.25, 0.5, 0.75]);
    // 3 * 0.1 is 0.30000000000000004; NumPy pins the endpoint to stop exactly.
    let c = linspace(0.0, 0.3, 4, true, DType::F64).unwrap();
    assert_eq!(f(&c)[3], 0.3);
    // The others are i * step with step = 0.3 / 3 (0.09999999999999999), as in NumPy.
    assert_eq!(f(&c)[1], 0.3 / 3.0);
    assert_eq!(f(&c)[2], 2.0 * (0.3 / 3.0));
    let one = linspace(2.0, 7.0, 1, true, DType::F64).unwrap();
    assert_eq!(f(&one), vec![2.0]);
    let none = linspace(0.0, 1.0, 0, true, DType::F64).unwrap();
    assert_eq!(none.shape(), &[0]);
    let g = linspace(1.0, 0.0, 3, true, DType::F32).unwrap();
    assert_eq!(g.dtype(), DType::F32);
    assert_eq!(f(&g), vec![1.0, 0.5, 0.0]);
}

#[test]
fn linspace_integer_dtype_floors() {
    // np.linspace(-1, 1, 5, dtype=int) == [-1, -1, 0, 0, 1]
    let a = linspace(-1.0, 1.0, 5, true, DType::I64).unwrap();
    assert_eq!(i(&a), vec![-1, -1, 0, 0, 1]);
    assert!(linspace(0.0, 1.0, 1 << 40, true, DType::F64).is_err());
}

#[test]
fn eye_values() {
    let a = eye(3, None, DType::F64).unwrap();
    assert_eq!(a.shape(), &[3, 3]);
    assert_eq!(f(&a), vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let b = eye(2, Some(3), DType::I32).unwrap();
    assert_eq!(b.dtype(), DType::I32);
    assert_eq!(i(&b), vec![1, 0, 0, 0, 1, 0]);
    let c = eye(3, Some(1), DType::Bool).unwrap();
    assert_eq!(i(&c), vec![1, 0, 0]);
    let z = eye(0, None, DType::F64).unwrap();
    assert_eq!(z.shape(), &[0, 0]);
}
