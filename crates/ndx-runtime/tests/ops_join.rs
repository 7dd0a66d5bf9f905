//! `concatenate` and `stack`: values, negative axes, views as inputs, and errors that name
//! the shapes.

use ndx_runtime::ops::{concatenate, stack};
use ndx_runtime::{Array, DType, Scalar};

fn i(a: &Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

fn m(v: &[i64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn concatenate_along_each_axis() {
    let a = m(&[1, 2, 3, 4], &[2, 2]);
    let b = m(&[5, 6], &[1, 2]);
    let r = concatenate(&[a.clone(), b], 0).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(i(&r), vec![1, 2, 3, 4, 5, 6]);
    let c = m(&[7, 8], &[2, 1]);
    let r = concatenate(&[a.clone(), c.clone()], -1).unwrap();
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(i(&r), vec![1, 2, 7, 3, 4, 8]);
    let r = concatenate(&[a.clone(), c], 1).unwrap();
    assert_eq!(i(&r), vec![1, 2, 7, 3, 4, 8]);
    // A transposed (non-contiguous) input.
    let t = a.transpose(None).unwrap();
    let r = concatenate(&[a, t], 0).unwrap();
    assert_eq!(i(&r), vec![1, 2, 3, 4, 1, 3, 2, 4]);
}

#[test]
fn concatenate_empty_parts_and_floats() {
    let e = Array::zeros(DType::F64, &[0, 3]).unwrap();
    let x = Array::from_vec(vec![1.5f64, 2.5, 3.5], &[1, 3]).unwrap();
    let r = concatenate(&[e.clone(), x, e.clone()], 0).unwrap();
    assert_eq!(r.shape(), &[1, 3]);
    assert_eq!(r.to_vec::<f64>().unwrap(), vec![1.5, 2.5, 3.5]);
    let r = concatenate(&[e.clone(), e], 0).unwrap();
    assert_eq!(r.shape(), &[0, 3]);
    let one = concatenate(&[m(&[4, 5], &[2])], 0).unwrap();
    assert_eq!(i(&one), vec![4, 5]);
}

#[test]
fn concatenate_errors() {
    let err = concatenate(&[], 0).unwrap_err();
    assert!(err.to_string().contains("at least one"), "{err}");
    let a = m(&[1, 2, 3, 4], &[2, 2]);
    let b = m(&[1, 2, 3], &[1, 3]);
    let err = concatenate(&[a.clone(), b], 0).unwrap_err().to_string();
    assert!(
        err.contains("(2, 2)") && err.contains("(1, 3)") && err.contains("axis 0"),
        "{err}"
    );
    let f = Array::from_vec(vec![1.0f64, 2.0], &[1, 2]).unwrap();
    assert!(
        concatenate(&[a.clone(), f], 0).is_err(),
        "dtypes must match"
    );
    let err = concatenate(&[a.clone(), a.clone()], 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("axis 2"), "{err}");
    assert!(concatenate(&[a.clone(), a.clone()], -3).is_err());
    assert!(
        concatenate(&[a.clone(), m(&[1, 2], &[2])], 0).is_err(),
        "ndim must match"
    );
    let s = Array::scalar(Scalar::I64(1));
    assert!(concatenate(&[s.clone(), s], 0).is_err());
}

#[test]
fn stack_values_and_errors() {
    let a = m(&[1, 2, 3], &[3]);
    let b = m(&[4, 5, 6], &[3]);
    let r = stack(&[a.clone(), b.clone()], 0).unwrap();
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(i(&r), vec![1, 2, 3, 4, 5, 6]);
    let r = stack(&[a.clone(), b.clone()], 1).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(i(&r), vec![1, 4, 2, 5, 3, 6]);
    let r = stack(&[a.clone(), b.clone()], -1).unwrap();
    assert_eq!(i(&r), vec![1, 4, 2, 5, 3, 6]);
    assert!(stack(&[a.clone(), b.clone()], 2).is_err());
    assert!(stack(&[a.clone(), b], -3).is_err());
    let err = stack(&[a, m(&[1, 2], &[2])], 0).unwrap_err().to_string();
    assert!(err.contains("(3,)") && err.contains("(2,)"), "{err}");
    assert!(stack(&[], 0).is_err());
    let s = stack(
        &[Array::scalar(Scalar::I64(7)), Array::scalar(Scalar::I64(8))],
        0,
    )
    .unwrap();
    assert_eq!(s.shape(), &[2]);
    assert_eq!(i(&s), vec![7, 8]);
    let e = stack(&[Array::zeros(DType::F32, &[0]).unwrap()], 0).unwrap();
    assert_eq!(e.shape(), &[1, 0]);
}
