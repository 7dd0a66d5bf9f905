//! `cumsum` and `cumprod`: NumPy's result dtypes, every axis, flattening in C order, views,
//! NaN propagation, wrapping integers, empty arrays and axis errors.

use ndx_runtime::ops::{cumprod, cumsum};
use ndx_runtime::{Array, DType, Scalar};

fn i(a: &Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

fn m(v: &[i64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn cumsum_dtypes() {
    let a = Array::from_vec(vec![1i32, 2, 3, 4], &[4]).unwrap();
    let r = cumsum(&a, None).unwrap();
    assert_eq!(r.dtype(), DType::I64);
    assert_eq!(r.to_vec::<i64>().unwrap(), vec![1, 3, 6, 10]);
    let b = Array::from_vec(vec![true, false, true, true], &[4]).unwrap();
    let r = cumsum(&b, Some(0)).unwrap();
    assert_eq!(r.dtype(), DType::I64);
    assert_eq!(r.to_vec::<i64>().unwrap(), vec![1, 1, 2, 3]);
    let g = Array::from_vec(vec![0.5f32, 0.25, 0.125], &[3]).unwrap();
    let r = cumsum(&g, Some(-1)).unwrap();
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![0.5, 0.75, 0.875]);
    let w = m(&[i64::MAX, 1], &[2]);
    assert_eq!(i(&cumsum(&w, None).unwrap()), vec![i64::MAX, i64::MIN]);
}

#[test]
fn cumsum_axes_and_views() {
    let a = m(&[1, 2, 3, 4, 5, 6], &[2, 3]);
    assert_eq!(i(&cumsum(&a, Some(0)).unwrap()), vec![1, 2, 3, 5, 7, 9]);
    assert_eq!(i(&cumsum(&a, Some(1)).unwrap()), vec![1, 3, 6, 4, 9, 15]);
    assert_eq!(i(&cumsum(&a, Some(-1)).unwrap()), vec![1, 3, 6, 4, 9, 15]);
    assert_eq!(i(&cumsum(&a, Some(-2)).unwrap()), vec![1, 2, 3, 5, 7, 9]);
    let r = cumsum(&a, None).unwrap();
    assert_eq!(r.shape(), &[6]);
    assert_eq!(i(&r), vec![1, 3, 6, 10, 15, 21]);
    // a.T = [[1, 4], [2, 5], [3, 6]]: flattening follows the view's C order.
    let t = a.transpose(None).unwrap();
    assert_eq!(i(&cumsum(&t, None).unwrap()), vec![1, 5, 7, 12, 15, 21]);
    let r = cumsum(&t, Some(1)).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(i(&r), vec![1, 5, 2, 7, 3, 9]);
    let x = Array::from_vec(vec![1.0f64, f64::NAN, 2.0], &[3]).unwrap();
    let r = cumsum(&x, None).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(r[0], 1.0);
    assert!(r[1].is_nan() && r[2].is_nan());
}

#[test]
fn cumprod_values() {
    assert_eq!(
        i(&cumprod(&m(&[1, 2, 3, 4], &[4]), None).unwrap()),
        vec![1, 2, 6, 24]
    );
    let a = m(&[1, 2, 3, 4, 5, 6], &[2, 3]);
    assert_eq!(i(&cumprod(&a, Some(0)).unwrap()), vec![1, 2, 3, 4, 10, 18]);
    assert_eq!(
        i(&cumprod(&a, Some(-1)).unwrap()),
        vec![1, 2, 6, 4, 20, 120]
    );
    let f = Array::from_vec(vec![2.0f64, 0.5, -3.0], &[3]).unwrap();
    assert_eq!(
        cumprod(&f, None).unwrap().to_vec::<f64>().unwrap(),
        vec![2.0, 1.0, -3.0]
    );
    let b = Array::from_vec(vec![true, true, false, true], &[4]).unwrap();
    let r = cumprod(&b, None).unwrap();
    assert_eq!(r.dtype(), DType::I64);
    assert_eq!(i(&r), vec![1, 1, 0, 0]);
}

#[test]
fn scans_of_empty_and_0d_arrays_and_errors() {
    let e = Array::zeros(DType::F64, &[0]).unwrap();
    assert_eq!(cumsum(&e, None).unwrap().shape(), &[0]);
    let e2 = Array::zeros(DType::I32, &[2, 0]).unwrap();
    let r = cumprod(&e2, Some(1)).unwrap();
    assert_eq!((r.shape(), r.dtype()), (&[2usize, 0][..], DType::I64));
    assert_eq!(cumsum(&e2, None).unwrap().shape(), &[0]);
    let s = Array::scalar(Scalar::I32(5));
    let r = cumsum(&s, None).unwrap();
    assert_eq!((r.shape(), i(&r)), (&[1usize][..], vec![5]));
    let a = m(&[1, 2, 3, 4, 5, 6], &[2, 3]);
    let err = cumsum(&a, Some(2)).unwrap_err().to_string();
    assert!(err.contains("axis 2"), "{err}");
    assert!(cumprod(&a, Some(-3)).is_err());
}

#[test]
fn scans_match_a_reference_on_a_3d_view() {
    let base = Array::from_vec(
        (0..60).map(|k| (k % 7) as f64 - 2.0).collect::<Vec<_>>(),
        &[3, 4, 5],
    )
    .unwrap();
    let t = base.transpose(Some(&[2, 0, 1])).unwrap(); // shape (5, 3, 4), not contiguous
    let r = cumsum(&t, Some(1)).unwrap();
    let p = cumprod(&t, Some(-1)).unwrap();
    assert_eq!(r.shape(), &[5, 3, 4]);
    for a in 0..5 {
        for c in 0..4 {
            let mut acc = 0.0;
            for b in 0..3 {
                acc += t.get(&[a, b, c]).unwrap().to_f64();
                assert_eq!(r.get(&[a, b, c]).unwrap().to_f64(), acc);
            }
        }
        for b in 0..3 {
            let mut acc = 1.0;
            for c in 0..4 {
                acc *= t.get(&[a, b, c]).unwrap().to_f64();
                assert_eq!(p.get(&[a, b, c]).unwrap().to_f64(), acc);
            }
        }
    }
}
