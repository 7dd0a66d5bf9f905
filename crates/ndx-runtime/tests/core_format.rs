//! Printing matches NumPy 2's `str()` exactly (expected strings taken from NumPy 2.4).

use ndx_runtime::{format_scalar, Array, DType, Scalar};

fn f64s(v: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn arrays_print_like_numpy() {
    assert_eq!(f64s(&[1.0, 2.0, 3.0], &[3]).to_string(), "[1. 2. 3.]");
    assert_eq!(f64s(&[1.5, 2.25], &[2]).to_string(), "[1.5  2.25]");
    assert_eq!(f64s(&[-1.0, 2.0], &[2]).to_string(), "[-1.  2.]");
    assert_eq!(f64s(&[1.5e10, 2.0], &[2]).to_string(), "[1.5e+10 2.0e+00]");
    assert_eq!(
        f64s(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY], &[3]).to_string(),
        "[ nan  inf -inf]"
    );
    assert_eq!(f64s(&[1.0, f64::NAN], &[2]).to_string(), "[ 1. nan]");
    assert_eq!(
        f64s(&[1.0 / 3.0, 2.0], &[2]).to_string(),
        "[0.33333333 2.        ]"
    );
    assert_eq!(
        Array::from_vec(vec![1i64, -20, 3, 4], &[2, 2])
            .unwrap()
            .to_string(),
        "[[  1 -20]\n [  3   4]]"
    );
    assert_eq!(
        Array::from_vec(vec![true, false], &[2])
            .unwrap()
            .to_string(),
        "[ True False]"
    );
    assert_eq!(
        Array::from_vec((0..8i64).collect(), &[2, 2, 2])
            .unwrap()
            .to_string(),
        "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]"
    );
    assert_eq!(Array::zeros(DType::F64, &[0]).unwrap().to_string(), "[]");
    assert_eq!(Array::scalar(Scalar::F64(2.5)).to_string(), "2.5");
    let big = Array::from_vec((0..2000i64).collect(), &[2000]).unwrap();
    assert_eq!(big.to_string(), "[   0    1    2 ... 1997 1998 1999]");
    let wide = Array::from_vec((0..30i64).map(|i| i * 1000).collect(), &[30]).unwrap();
    assert_eq!(
        wide.to_string(),
        "[    0  1000  2000  3000  4000  5000  6000  7000  8000  9000 10000 11000\n 12000 13000 14000 15000 16000 17000 18000 19000 20000 21000 22000 23000\n 24000 25000 26000 27000 28000 29000]"
    );
    let m = Array::from_vec((0..1100i64).collect(), &[100, 11]).unwrap();
    let s = m.to_string();
    assert!(
        s.starts_with("[[   0    1    2 ...    8    9   10]\n [  11   12   13 ...   19   20   21]"),
        "{s}"
    );
    assert!(s.contains("\n ...\n"), "{s}");
}

#[test]
fn scalars_print_like_numpy_str() {
    assert_eq!(format_scalar(Scalar::F64(0.625)), "0.625");
    assert_eq!(format_scalar(Scalar::F64(1.0)), "1.0");
    assert_eq!(format_scalar(Scalar::F64(1e-5)), "1e-05");
    assert_eq!(format_scalar(Scalar::F64(3e6)), "3000000.0");
    assert_eq!(format_scalar(Scalar::F64(1e16)), "1e+16");
    assert_eq!(format_scalar(Scalar::F32(0.1)), "0.1");
    assert_eq!(format_scalar(Scalar::F32(3e6)), "3e+06");
    assert_eq!(format_scalar(Scalar::F32(999999.0)), "999999.0");
    assert_eq!(format_scalar(Scalar::F64(f64::NAN)), "nan");
    assert_eq!(format_scalar(Scalar::I64(-42)), "-42");
    assert_eq!(format_scalar(Scalar::Bool(true)), "true");
}
