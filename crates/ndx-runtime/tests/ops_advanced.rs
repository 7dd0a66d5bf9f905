//! Index arrays and boolean masks: `take`, `take_assign`, `mask_select`, `mask_assign`,
//! with negative indices, views, dtype casts and the errors NumPy raises.

use ndx_runtime::npy::{load_npy, save_npy};
use ndx_runtime::ops::{mask_assign, mask_select, take, take_assign};
use ndx_runtime::{Array, DType, Scalar};

fn i(a: &Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

fn m(v: &[i64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

fn grid() -> Array {
    m(&(0..12).collect::<Vec<_>>(), &[3, 4])
}

fn mask(v: &[bool], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

fn read_only(name: &str) -> Array {
    let path = std::env::temp_dir().join(format!("ndx-ops-{}-{name}.npy", std::process::id()));
    save_npy(&path, &m(&[1, 2, 3], &[3])).unwrap();
    let a = load_npy(&path, true).unwrap();
    assert!(!a.is_writable());
    a
}

#[test]
fn take_1d_negative_and_int32_indices() {
    let a = m(&[10, 20, 30, 40, 50], &[5]);
    let r = take(&a, &m(&[0, -1, 2, -5], &[4]), 0).unwrap();
    assert_eq!(i(&r), vec![10, 50, 30, 10]);
    let idx = Array::from_vec(vec![3i32, 3, -2], &[3]).unwrap();
    assert_eq!(i(&take(&a, &idx, 0).unwrap()), vec![40, 40, 40]);
    let err = take(&a, &m(&[9], &[1]), 0).unwrap_err().to_string();
    assert_eq!(err, "index 9 is out of bounds for axis 0 with size 5");
    let err = take(&a, &m(&[-6], &[1]), 0).unwrap_err().to_string();
    assert_eq!(err, "index -6 is out of bounds for axis 0 with size 5");
    let fidx = Array::from_vec(vec![1.0f64], &[1]).unwrap();
    assert!(take(&a, &fidx, 0).is_err(), "float indices");
    assert!(take(&a, &m(&[0], &[1]), 1).is_err(), "axis past ndim");
    let e = take(&a, &m(&[], &[0]), 0).unwrap();
    assert_eq!(e.shape(), &[0]);
}

#[test]
fn take_replaces_the_axis_by_the_index_shape() {
    let a = grid();
    let r = take(&a, &m(&[0, 3, 1, 1], &[2, 2]), 1).unwrap();
    assert_eq!(r.shape(), &[3, 2, 2]);
    assert_eq!(i(&r), vec![0, 3, 1, 1, 4, 7, 5, 5, 8, 11, 9, 9]);
    let r = take(&a, &Array::scalar(Scalar::I64(-1)), 0).unwrap();
    assert_eq!(r.shape(), &[4]);
    assert_eq!(i(&r), vec![8, 9, 10, 11]);
    // a.T is (4, 3): row 1 is [1, 5, 9].
    let t = a.transpose(None).unwrap();
    let r = take(&t, &m(&[1], &[1]), 0).unwrap();
    assert_eq!(r.shape(), &[1, 3]);
    assert_eq!(i(&r), vec![1, 5, 9]);
    let err = take(&a, &m(&[4], &[1]), 1).unwrap_err().to_string();
    assert_eq!(err, "index 4 is out of bounds for axis 1 with size 4");
}

#[test]
fn take_assign_broadcasts_and_casts() {
    let d = Array::zeros(DType::I64, &[3, 4]).unwrap();
    take_assign(&d, &m(&[0, -1], &[2]), 0, &m(&[1, 2, 3, 4], &[4])).unwrap();
    assert_eq!(i(&d), vec![1, 2, 3, 4, 0, 0, 0, 0, 1, 2, 3, 4]);
    take_assign(&d, &m(&[1], &[1]), 1, &Array::scalar(Scalar::F64(9.7))).unwrap();
    assert_eq!(i(&d), vec![1, 9, 3, 4, 0, 9, 0, 0, 1, 9, 3, 4]);
    // One value per selected row.
    let src = m(&[7, 8], &[2, 1]);
    take_assign(&d, &m(&[2, 1], &[2]), 0, &src).unwrap();
    assert_eq!(i(&d), vec![1, 9, 3, 4, 8, 8, 8, 8, 7, 7, 7, 7]);
    // Through a transposed view.
    let t = d.transpose(None).unwrap();
    take_assign(&t, &m(&[0], &[1]), 0, &Array::scalar(Scalar::I64(-1))).unwrap();
    assert_eq!(i(&d), vec![-1, 9, 3, 4, -1, 8, 8, 8, -1, 7, 7, 7]);
    let err = take_assign(&d, &m(&[3], &[1]), 0, &Array::scalar(Scalar::I64(0)));
    assert_eq!(
        err.unwrap_err().to_string(),
        "index 3 is out of bounds for axis 0 with size 3"
    );
    assert!(take_assign(&d, &m(&[0, 1], &[2]), 0, &m(&[1, 2, 3], &[3])).is_err());
    let ro = read_only("take");
    assert!(take_assign(&ro, &m(&[0], &[1]), 0, &Array::scalar(Scalar::I64(0))).is_err());
    assert_eq!(i(&ro), vec![1, 2, 3]);
}

#[test]
fn mask_select_in_c_order() {
    let a = m(&[0, 1, 2, 3, 4, 5], &[2, 3]);
    let r = mask_select(&a, &mask(&[true, false, true, false, true, false], &[2, 3])).unwrap();
    assert_eq!(r.shape(), &[3]);
    assert_eq!(i(&r), vec![0, 2, 4]);
    // a.T = [[0, 3], [1, 4], [2, 5]]
    let t = a.transpose(None).unwrap();
    let r = mask_select(&t, &mask(&[true, true, false, false, false, true], &[3, 2])).unwrap();
    assert_eq!(i(&r), vec![0, 3, 5]);
    let none = mask_select(&a, &mask(&[false; 6], &[2, 3])).unwrap();
    assert_eq!(none.shape(), &[0]);
    assert_eq!(none.dtype(), DType::I64);
    let err = mask_select(&a, &mask(&[true; 6], &[3, 2]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("(3, 2)") && err.contains("(2, 3)"), "{err}");
    assert!(
        mask_select(&a, &m(&[1, 0, 1, 0, 1, 0], &[2, 3])).is_err(),
        "int mask"
    );
}

#[test]
fn mask_assign_scalar_and_vector() {
    let d = Array::zeros(DType::F64, &[2, 3]).unwrap();
    let k = mask(&[true, false, true, false, false, true], &[2, 3]);
    mask_assign(&d, &k, &Array::scalar(Scalar::I64(7))).unwrap();
    assert_eq!(
        d.to_vec::<f64>().unwrap(),
        vec![7.0, 0.0, 7.0, 0.0, 0.0, 7.0]
    );
    let v = Array::from_vec(vec![1.5f64, 2.5, 3.5], &[3]).unwrap();
    mask_assign(&d, &k, &v).unwrap();
    assert_eq!(
        d.to_vec::<f64>().unwrap(),
        vec![1.5, 0.0, 2.5, 0.0, 0.0, 3.5]
    );
    // Cast to the destination dtype (truncation toward zero).
    let n = m(&[0, 0, 0], &[3]);
    let src = Array::from_vec(vec![1.9f64, -2.9], &[2]).unwrap();
    mask_assign(&n, &mask(&[true, false, true], &[3]), &src).unwrap();
    assert_eq!(i(&n), vec![1, 0, -2]);
    // Through a transposed view: writes land in the base array.
    let b = m(&[0, 1, 2, 3, 4, 5], &[2, 3]);
    let t = b.transpose(None).unwrap();
    mask_assign(
        &t,
        &mask(&[false, true, false, false, true, false], &[3, 2]),
        &m(&[-3, -4], &[2]),
    )
    .unwrap();
    assert_eq!(i(&b), vec![0, 1, -4, -3, 4, 5]);
}

#[test]
fn mask_assign_errors() {
    let d = Array::zeros(DType::F64, &[2, 3]).unwrap();
    let k = mask(&[true, false, true, false, false, true], &[2, 3]);
    let err = mask_assign(&d, &k, &m(&[1, 2], &[2]))
        .unwrap_err()
        .to_string();
    assert!(err.contains('2') && err.contains('3'), "{err}");
    assert!(
        mask_assign(&d, &k, &m(&[1, 2, 3], &[3, 1])).is_err(),
        "2-D source"
    );
    assert!(mask_assign(&d, &mask(&[true; 3], &[3]), &Array::scalar(Scalar::I64(1))).is_err());
    assert_eq!(
        d.to_vec::<f64>().unwrap(),
        vec![0.0; 6],
        "nothing written on error"
    );
    let ro = read_only("mask");
    let err = mask_assign(&ro, &mask(&[true; 3], &[3]), &Array::scalar(Scalar::I64(0)));
    assert!(err.unwrap_err().to_string().contains("read-only"));
    assert_eq!(i(&ro), vec![1, 2, 3]);
}

#[test]
fn take_assign_with_a_2d_index_and_an_overlapping_source() {
    let d = m(&[0, 1, 2, 3, 4], &[5]);
    // d[[[0, 1], [3, 4]]] = [[10, 11], [13, 14]]
    take_assign(
        &d,
        &m(&[0, 1, 3, 4], &[2, 2]),
        0,
        &m(&[10, 11, 13, 14], &[2, 2]),
    )
    .unwrap();
    assert_eq!(i(&d), vec![10, 11, 2, 13, 14]);
    // d[[4, 3, 2, 1, 0]] = d reverses it even though source and destination are one buffer.
    take_assign(&d, &m(&[4, 3, 2, 1, 0], &[5]), 0, &d).unwrap();
    assert_eq!(i(&d), vec![14, 13, 2, 11, 10]);
    // Repeated indices: the last value wins.
    take_assign(&d, &m(&[1, 1], &[2]), 0, &m(&[7, 8], &[2])).unwrap();
    assert_eq!(i(&d), vec![14, 8, 2, 11, 10]);
    let err = take_assign(&d, &m(&[0, 1], &[2]), 0, &m(&[1, 2, 3], &[3])).unwrap_err();
    assert!(err.to_string().contains("(3,)"), "{err}");
}
