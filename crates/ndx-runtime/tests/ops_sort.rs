//! `sort`, `argsort`, `median`, `percentile(s)`: NumPy's values, NaN last or propagated,
//! negative axes, views as inputs, and errors.

use ndx_runtime::ops::{argsort, median, percentile, percentiles, sort};
use ndx_runtime::{Array, DType, IndexSpec};

fn f(a: &Array) -> Vec<f64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_f64()).collect()
}

fn i(a: &Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

fn m(v: &[i64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

fn fl(v: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn sort_1d_with_nans_last() {
    let a = fl(&[3.0, f64::NAN, -1.0, 2.0, f64::NAN, 0.5], &[6]);
    let s = f(&sort(&a, -1).unwrap());
    assert_eq!(&s[..4], &[-1.0, 0.5, 2.0, 3.0]);
    assert!(s[4].is_nan() && s[5].is_nan());
    let g = Array::from_vec(vec![2.5f32, f32::NAN, -7.0], &[3]).unwrap();
    let s = sort(&g, 0).unwrap();
    assert_eq!(s.dtype(), DType::F32);
    let v = s.to_vec::<f32>().unwrap();
    assert_eq!(&v[..2], &[-7.0, 2.5]);
    assert!(v[2].is_nan());
}

#[test]
fn sort_2d_axes_and_int_dtypes() {
    let a = m(&[3, 1, 2, 9, -4, 6], &[2, 3]);
    assert_eq!(i(&sort(&a, 1).unwrap()), vec![1, 2, 3, -4, 6, 9]);
    assert_eq!(i(&sort(&a, -1).unwrap()), vec![1, 2, 3, -4, 6, 9]);
    assert_eq!(i(&sort(&a, 0).unwrap()), vec![3, -4, 2, 9, 1, 6]);
    assert_eq!(i(&sort(&a, -2).unwrap()), vec![3, -4, 2, 9, 1, 6]);
    let b = Array::from_vec(vec![5i32, -2, 0, i32::MIN, i32::MAX], &[5]).unwrap();
    let s = sort(&b, 0).unwrap();
    assert_eq!(s.dtype(), DType::I32);
    assert_eq!(
        s.to_vec::<i32>().unwrap(),
        vec![i32::MIN, -2, 0, 5, i32::MAX]
    );
    let c = Array::from_vec(vec![true, false, true, false], &[4]).unwrap();
    assert_eq!(
        sort(&c, 0).unwrap().to_vec::<bool>().unwrap(),
        vec![false, false, true, true]
    );
}

#[test]
fn sort_views_empty_and_errors() {
    let a = m(&[3, 1, 2, 9, -4, 6], &[2, 3]);
    // a.T = [[3, 9], [1, -4], [2, 6]]
    let t = a.transpose(None).unwrap();
    let s = sort(&t, -1).unwrap();
    assert_eq!(s.shape(), &[3, 2]);
    assert_eq!(i(&s), vec![3, 9, -4, 1, 2, 6]);
    // a[:, ::-1] = [[2, 1, 3], [6, -4, 9]]
    let r = a
        .index(&[
            IndexSpec::Slice {
                start: None,
                stop: None,
                step: None,
            },
            IndexSpec::Slice {
                start: None,
                stop: None,
                step: Some(-1),
            },
        ])
        .unwrap();
    assert_eq!(i(&argsort(&r, 1).unwrap()), vec![1, 0, 2, 1, 0, 2]);
    let e = Array::zeros(DType::F64, &[0, 4]).unwrap();
    assert_eq!(sort(&e, 1).unwrap().shape(), &[0, 4]);
    assert_eq!(argsort(&e, 0).unwrap().shape(), &[0, 4]);
    let err = sort(&a, 2).unwrap_err().to_string();
    assert!(
        err.contains("axis 2") && err.contains("dimension 2"),
        "{err}"
    );
    assert!(sort(&a, -3).is_err());
    assert!(argsort(&a, 5).is_err());
    assert!(sort(&Array::scalar(ndx_runtime::Scalar::F64(1.0)), 0).is_err());
}

#[test]
fn argsort_is_stable_and_puts_nan_last() {
    let a = m(&[2, 1, 2, 1, 0], &[5]);
    let s = argsort(&a, 0).unwrap();
    assert_eq!(s.dtype(), DType::I64);
    assert_eq!(i(&s), vec![4, 1, 3, 0, 2]);
    let b = fl(&[f64::NAN, 1.0, 0.0, f64::NAN, 1.0], &[5]);
    assert_eq!(i(&argsort(&b, -1).unwrap()), vec![2, 1, 4, 0, 3]);
    let c = m(&[5, 1, 4, 2, 3, 0], &[3, 2]);
    assert_eq!(i(&argsort(&c, 0).unwrap()), vec![2, 2, 1, 0, 0, 1]);
}

#[test]
fn median_values_and_dtypes() {
    let odd = median(&m(&[3, 1, 2], &[3]), None).unwrap();
    assert_eq!(odd.dtype(), DType::F64);
    assert_eq!(odd.ndim(), 0);
    assert_eq!(f(&odd), vec![2.0]);
    assert_eq!(
        f(&median(&m(&[4, 1, 3, 2], &[4]), None).unwrap()),
        vec![2.5]
    );
    let a = m(&[1, 5, 2, 8, 3, 4], &[2, 3]);
    assert_eq!(f(&median(&a, None).unwrap()), vec![3.5]);
    assert_eq!(f(&median(&a, Some(0)).unwrap()), vec![4.5, 4.0, 3.0]);
    let r = median(&a, Some(-1)).unwrap();
    assert_eq!(r.shape(), &[2]);
    assert_eq!(f(&r), vec![2.0, 4.0]);
    // On the transposed view the axes swap.
    let t = a.transpose(None).unwrap();
    assert_eq!(f(&median(&t, Some(0)).unwrap()), vec![2.0, 4.0]);
    let g = Array::from_vec(vec![1.0f32, 2.0, 4.0, 8.0], &[4]).unwrap();
    let r = median(&g, None).unwrap();
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![3.0]);
    let b = Array::from_vec(vec![true, false, true], &[3]).unwrap();
    assert_eq!(f(&median(&b, None).unwrap()), vec![1.0]);
}

#[test]
fn median_nan_empty_and_errors() {
    let a = fl(&[1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let r = f(&median(&a, Some(1)).unwrap());
    assert!(r[0].is_nan());
    assert_eq!(r[1], 5.0);
    assert!(f(&median(&a, None).unwrap())[0].is_nan());
    // NumPy returns NaN (with a warning) for an empty lane.
    let e = Array::zeros(DType::F64, &[0]).unwrap();
    assert!(f(&median(&e, None).unwrap())[0].is_nan());
    let e2 = Array::zeros(DType::I64, &[2, 0]).unwrap();
    let r = median(&e2, Some(1)).unwrap();
    assert_eq!(r.shape(), &[2]);
    assert!(f(&r).iter().all(|x| x.is_nan()));
    assert_eq!(median(&e2, Some(0)).unwrap().shape(), &[0]);
    assert!(median(&a, Some(2)).is_err());
    assert!(median(&a, Some(-3)).is_err());
}

#[test]
fn percentile_linear_method() {
    let a = m(&[1, 2, 3, 4], &[4]);
    let p = |q| f(&percentile(&a, q, None).unwrap())[0];
    assert_eq!(p(50.0), 2.5);
    assert_eq!(p(25.0), 1.75);
    assert_eq!(p(0.0), 1.0);
    assert_eq!(p(100.0), 4.0);
    assert_eq!(p(10.0), 1.3);
    let r = percentile(&a, 50.0, None).unwrap();
    assert_eq!((r.dtype(), r.ndim()), (DType::F64, 0));
    let b = fl(&[10.0, 0.0, 5.0, 20.0, 40.0, 30.0], &[2, 3]);
    let r = percentile(&b, 50.0, Some(1)).unwrap();
    assert_eq!(f(&r), vec![5.0, 30.0]);
    let r = percentile(&b, 75.0, Some(-2)).unwrap();
    assert_eq!(f(&r), vec![17.5, 30.0, 23.75]);
    let g = Array::from_vec(vec![0.0f32, 1.0], &[2]).unwrap();
    let r = percentile(&g, 30.0, None).unwrap();
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![0.3]);
}

#[test]
fn percentiles_leading_axis_nan_and_errors() {
    let b = fl(&[10.0, 0.0, 5.0, 20.0, 40.0, 30.0], &[2, 3]);
    let r = percentiles(&b, &[0.0, 50.0, 100.0], Some(1)).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(f(&r), vec![0.0, 20.0, 5.0, 30.0, 10.0, 40.0]);
    let r = percentiles(&b, &[25.0], None).unwrap();
    assert_eq!(r.shape(), &[1]);
    assert_eq!(f(&r), vec![6.25]);
    let n = fl(&[1.0, f64::NAN, 2.0], &[3]);
    assert!(f(&percentile(&n, 10.0, None).unwrap())[0].is_nan());
    let err = percentile(&b, 101.0, None).unwrap_err().to_string();
    assert!(err.contains("[0, 100]") && err.contains("101"), "{err}");
    assert!(percentile(&b, -0.5, None).is_err());
    assert!(percentile(&b, f64::NAN, None).is_err());
    assert!(percentiles(&b, &[50.0, 200.0], None).is_err());
    assert!(percentile(&b, 50.0, Some(2)).is_err());
    assert_eq!(percentiles(&b, &[], Some(0)).unwrap().shape(), &[0, 3]);
}

#[test]
fn sort_and_statistics_match_a_reference_on_3d_data() {
    // 4 x 50 x 3 pseudo-random values with repeats; sort along the middle axis.
    let vals: Vec<f64> = (0..600u64)
        .map(|k| ((k * 7919 + 13) % 97) as f64 - 40.0)
        .collect();
    let a = Array::from_vec(vals.clone(), &[4, 50, 3]).unwrap();
    let s = sort(&a, 1).unwrap();
    let p = argsort(&a, -2).unwrap();
    let med = median(&a, Some(1)).unwrap();
    let q = percentiles(&a, &[10.0, 90.0], Some(1)).unwrap();
    assert_eq!(q.shape(), &[2, 4, 3]);
    for o in 0..4 {
        for c in 0..3 {
            let mut lane: Vec<f64> = (0..50).map(|k| vals[o * 150 + k * 3 + c]).collect();
            let mut order: Vec<usize> = (0..50).collect();
            order.sort_by(|&x, &y| lane[x].partial_cmp(&lane[y]).unwrap());
            lane.sort_by(|x, y| x.partial_cmp(y).unwrap());
            for k in 0..50 {
                assert_eq!(s.get(&[o, k, c]).unwrap().to_f64(), lane[k]);
                assert_eq!(p.get(&[o, k, c]).unwrap().to_i64(), order[k] as i64);
            }
            let want = (lane[24] + lane[25]) / 2.0;
            assert_eq!(med.get(&[o, c]).unwrap().to_f64(), want);
            // q = 10: position 4.9 -> lane[4] + 0.9 * (lane[5] - lane[4]), NumPy's t >= 0.5 form.
            let w10 = lane[5] - (lane[5] - lane[4]) * (1.0 - (0.1 * 49.0 - 4.0));
            assert_eq!(q.get(&[0, o, c]).unwrap().to_f64(), w10);
        }
    }
}

#[test]
fn signed_zeros_infinities_and_f32_nans() {
    // -0.0 and 0.0 are equal: stable argsort keeps their order; sort keeps both values.
    let z = fl(&[0.0, -0.0, f64::NEG_INFINITY, f64::INFINITY, -0.0], &[5]);
    assert_eq!(i(&argsort(&z, 0).unwrap()), vec![2, 0, 1, 4, 3]);
    let s = sort(&z, 0).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(s, vec![f64::NEG_INFINITY, 0.0, 0.0, 0.0, f64::INFINITY]);
    assert_eq!(s.iter().filter(|x| x.is_sign_negative()).count(), 3);
    let g = Array::from_vec(vec![f32::NAN, 3.0, f32::MIN, f32::NAN, -1.5], &[5]).unwrap();
    assert_eq!(i(&argsort(&g, 0).unwrap()), vec![2, 4, 1, 0, 3]);
    let s = sort(&g, 0).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(&s[..3], &[f32::MIN, -1.5, 3.0]);
    assert!(s[3].is_nan() && s[4].is_nan());
    let big = m(&[i64::MAX, i64::MIN, 0, -1], &[4]);
    assert_eq!(i(&sort(&big, 0).unwrap()), vec![i64::MIN, -1, 0, i64::MAX]);
    assert_eq!(i(&argsort(&big, 0).unwrap()), vec![1, 3, 2, 0]);
}
