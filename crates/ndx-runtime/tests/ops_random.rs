//! The seeded random stream: determinism per seed, ranges, and the mean and variance of
//! 100,000 samples.

use ndx_runtime::ops::Rng;
use ndx_runtime::{Array, DType};

const N: usize = 100_000;

fn f(a: &Array) -> Vec<f64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_f64()).collect()
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / n;
    (m, v)
}

#[test]
fn same_seed_same_stream() {
    let a = Rng::new(42).rand(&[100], DType::F64).unwrap();
    let b = Rng::new(42).rand(&[100], DType::F64).unwrap();
    let c = Rng::new(43).rand(&[100], DType::F64).unwrap();
    assert_eq!(f(&a), f(&b));
    assert_ne!(f(&a), f(&c));
    let mut r = Rng::new(7);
    let first = f(&r.randn(&[10], DType::F64).unwrap());
    let second = f(&r.randn(&[10], DType::F64).unwrap());
    assert_ne!(first, second, "the stream advances");
    let p = Rng::new(5).permutation(50).unwrap();
    let q = Rng::new(5).permutation(50).unwrap();
    assert_eq!(p.to_vec::<i64>().unwrap(), q.to_vec::<i64>().unwrap());
}

#[test]
fn rand_is_uniform_on_unit_interval() {
    let mut r = Rng::new(1);
    let a = r.rand(&[200, 500], DType::F64).unwrap();
    assert_eq!(a.shape(), &[200, 500]);
    assert_eq!(a.dtype(), DType::F64);
    let x = f(&a);
    assert!(x.iter().all(|&v| (0.0..1.0).contains(&v)));
    let (m, v) = mean_var(&x);
    assert!((m - 0.5).abs() < 0.01, "mean {m}");
    assert!((v - 1.0 / 12.0).abs() < 0.003, "var {v}");
    let b = r.rand(&[N], DType::F32).unwrap();
    assert_eq!(b.dtype(), DType::F32);
    let y = f(&b);
    assert!(y.iter().all(|&v| (0.0..1.0).contains(&v)));
    assert!((mean_var(&y).0 - 0.5).abs() < 0.01);
}

#[test]
fn randn_is_standard_normal() {
    let x = f(&Rng::new(2).randn(&[N], DType::F64).unwrap());
    let (m, v) = mean_var(&x);
    assert!(m.abs() < 0.02, "mean {m}");
    assert!((v - 1.0).abs() < 0.03, "var {v}");
    let within = x.iter().filter(|y| y.abs() < 1.0).count() as f64 / N as f64;
    assert!((within - 0.6827).abs() < 0.01, "P(|z|<1) = {within}");
}

#[test]
fn uniform_and_normal_parameters() {
    let mut r = Rng::new(3);
    let u = f(&r.uniform(2.0, 5.0, &[N], DType::F64).unwrap());
    assert!(u.iter().all(|&v| (2.0..5.0).contains(&v)));
    let (m, v) = mean_var(&u);
    assert!((m - 3.5).abs() < 0.03, "mean {m}");
    assert!((v - 0.75).abs() < 0.02, "var {v}");
    let g = f(&r.normal(3.0, 2.0, &[N], DType::F64).unwrap());
    let (m, v) = mean_var(&g);
    assert!((m - 3.0).abs() < 0.03, "mean {m}");
    assert!((v - 4.0).abs() < 0.1, "var {v}");
    let z = f(&r.normal(1.5, 0.0, &[4], DType::F32).unwrap());
    assert_eq!(z, vec![1.5; 4]);
}

#[test]
fn random_errors_and_empty() {
    let mut r = Rng::new(0);
    assert!(r.rand(&[3], DType::I64).is_err());
    assert!(r.randn(&[3], DType::Bool).is_err());
    let err = r.normal(0.0, -1.0, &[3], DType::F64).unwrap_err();
    assert!(err.to_string().contains("-1"), "{err}");
    assert!(r.uniform(0.0, f64::INFINITY, &[3], DType::F64).is_err());
    assert!(r.rand(&[1 << 40, 1 << 40], DType::F64).is_err());
    let e = r.rand(&[0, 3], DType::F64).unwrap();
    assert_eq!(e.shape(), &[0, 3]);
    let s = r.rand(&[], DType::F64).unwrap();
    assert_eq!(s.ndim(), 0);
    assert!((0.0..1.0).contains(&s.item().unwrap().to_f64()));
}

#[test]
fn permutation_is_a_permutation() {
    let p = Rng::new(9).permutation(1000).unwrap();
    assert_eq!(p.dtype(), DType::I64);
    let mut v = p.to_vec::<i64>().unwrap();
    assert_ne!(v, (0..1000).collect::<Vec<i64>>(), "shuffled");
    v.sort();
    assert_eq!(v, (0..1000).collect::<Vec<i64>>());
    assert_eq!(Rng::new(9).permutation(0).unwrap().shape(), &[0]);
}
