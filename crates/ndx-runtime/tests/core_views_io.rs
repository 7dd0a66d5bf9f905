//! Views share memory and write through; `.npy` files round-trip and NumPy's files load;
//! malformed input is an error, never a panic.

use ndx_runtime::npy::{load_npy, memmap, read_npy, save_npy};
use ndx_runtime::ops;
use ndx_runtime::{Array, DType, IndexSpec, MapMode, Order, Scalar};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ndx-rt-{}-{name}", std::process::id()))
}

fn ints(a: &Array) -> Vec<i64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_i64()).collect()
}

fn sl(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> IndexSpec {
    IndexSpec::Slice { start, stop, step }
}

#[test]
fn views_share_memory_and_write_through() {
    let a = Array::from_vec((0..12i64).collect(), &[3, 4]).unwrap();
    let row = a.index(&[IndexSpec::Int(1)]).unwrap();
    row.set(&[2], Scalar::I64(-5)).unwrap();
    assert_eq!(a.get(&[1, 2]).unwrap(), Scalar::I64(-5));
    let rev = a
        .index(&[sl(None, None, Some(-1)), sl(Some(1), None, Some(2))])
        .unwrap();
    assert_eq!(rev.shape(), &[3, 2]);
    assert_eq!(ints(&rev), vec![9, 11, 5, 7, 1, 3]);
    assert!(rev.shares_memory(&a));
    let t = a.transpose(None).unwrap();
    assert_eq!(t.shape(), &[4, 3]);
    assert!(t.reshape(&[-1]).unwrap().is_c_contiguous());
    assert!(
        !t.reshape(&[-1]).unwrap().shares_memory(&a),
        "a transposed ravel copies"
    );
    assert!(
        a.reshape(&[2, -1]).unwrap().shares_memory(&a),
        "a contiguous reshape is a view"
    );
    let b = Array::from_vec(vec![1.0f32, 2.0], &[2])
        .unwrap()
        .broadcast_to(&[3, 2])
        .unwrap();
    assert_eq!(b.strides(), &[0, 4]);
    assert!(a.index(&[IndexSpec::Int(3)]).is_err());
    let e = a
        .index(&[IndexSpec::Int(0), IndexSpec::Int(9)])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "index 9 is out of bounds for axis 1 with size 4");
    assert!(a
        .reshape(&[5, -1])
        .unwrap_err()
        .to_string()
        .contains("cannot reshape array of size 12 into shape (5, -1)"));
    let n = a.index(&[IndexSpec::Ellipsis, IndexSpec::NewAxis]).unwrap();
    assert_eq!(n.shape(), &[3, 4, 1]);
}

#[test]
fn overlapping_assignment_gives_numpy_result() {
    let a = Array::from_vec((0..6i64).collect(), &[6]).unwrap();
    let dst = a.index(&[sl(Some(1), None, None)]).unwrap();
    let src = a.index(&[sl(None, Some(-1), None)]).unwrap();
    dst.assign(&src).unwrap();
    assert_eq!(ints(&a), vec![0, 0, 1, 2, 3, 4]);
}

#[test]
fn npy_round_trips_and_reads_numpy_files() {
    let c = load_npy(&data("c_f64.npy"), false).unwrap();
    assert_eq!((c.dtype(), c.shape()), (DType::F64, &[2usize, 3][..]));
    assert_eq!(
        c.to_vec::<f64>().unwrap(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    );
    let f = load_npy(&data("f_i32.npy"), false).unwrap();
    assert!(f.is_f_contiguous());
    assert_eq!(f.to_vec::<i32>().unwrap(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(
        load_npy(&data("bool.npy"), false)
            .unwrap()
            .to_vec::<bool>()
            .unwrap(),
        vec![true, false, true]
    );
    assert_eq!(
        load_npy(&data("scalar_f32.npy"), false)
            .unwrap()
            .item()
            .unwrap(),
        Scalar::F32(2.5)
    );
    assert_eq!(
        load_npy(&data("empty_i64.npy"), false).unwrap().shape(),
        &[0, 4]
    );
    let m = load_npy(&data("c_f64.npy"), true).unwrap();
    assert!(!m.is_writable());
    assert_eq!(m.get(&[1, 2]).unwrap(), Scalar::F64(5.0));

    for (name, a) in [
        ("c", c.clone()),
        ("f", f.copy(Order::F).unwrap()),
        ("t", c.transpose(None).unwrap()),
    ] {
        let p = tmp(&format!("{name}.npy"));
        save_npy(&p, &a).unwrap();
        let back = load_npy(&p, false).unwrap();
        assert_eq!(back.shape(), a.shape());
        assert_eq!(back.to_scalars().unwrap(), a.to_scalars().unwrap());
        let _ = std::fs::remove_file(&p);
    }
}

#[test]
fn malformed_npy_is_an_error_not_a_panic() {
    let good = std::fs::read(data("c_f64.npy")).unwrap();
    for cut in 0..good.len() {
        let _ = read_npy(&good[..cut]);
    }
    for i in 0..good.len().min(128) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = read_npy(&bad);
    }
    assert!(read_npy(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<u2'}").is_err());
    let e = read_npy(&good[..good.len() - 8]).unwrap_err().to_string();
    assert!(e.contains("malformed .npy header"), "{e}");
}

#[test]
fn memmap_modes() {
    let p = tmp("mm.bin");
    let w = memmap(&p, DType::I32, &[2, 3], MapMode::Create).unwrap();
    w.set(&[1, 2], Scalar::I32(7)).unwrap();
    drop(w);
    let r = memmap(&p, DType::I32, &[2, 3], MapMode::ReadOnly).unwrap();
    assert_eq!(r.get(&[1, 2]).unwrap(), Scalar::I32(7));
    assert!(r.set(&[0, 0], Scalar::I32(1)).is_err());
    assert!(memmap(&p, DType::I64, &[100], MapMode::ReadOnly).is_err());
    let _ = std::fs::remove_file(&p);
}

#[test]
fn lent_memory_stops_working_when_revoked() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut buf = vec![1.0f32, 2.0, 3.0];
    let alive = Arc::new(AtomicBool::new(true));
    // SAFETY: `buf` outlives the array's use, and the flag is cleared before it is dropped.
    let a = unsafe {
        Array::from_raw_parts(
            buf.as_mut_ptr().cast(),
            12,
            DType::F32,
            &[3],
            &[4],
            true,
            alive.clone(),
        )
    }
    .unwrap();
    a.set(&[0], Scalar::F32(9.0)).unwrap();
    alive.store(false, Ordering::SeqCst);
    assert!(a.get(&[0]).is_err());
    assert!(a.ptr().is_err());
    assert_eq!(buf[0], 9.0);
    // SAFETY: an extent past the lent length is refused.
    let too_long = unsafe {
        Array::from_raw_parts(
            buf.as_mut_ptr().cast(),
            12,
            DType::F32,
            &[4],
            &[4],
            true,
            alive,
        )
    };
    assert!(too_long.is_err());
}

#[test]
fn ops_follow_numpy() {
    let a = Array::from_vec(vec![3.0, f64::NAN, 1.0, 2.0], &[4]).unwrap();
    let s = ops::sort(&a, -1).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(&s[..3], &[1.0, 2.0, 3.0]);
    assert!(s[3].is_nan());
    assert_eq!(ints(&ops::argsort(&a, 0).unwrap()), vec![2, 3, 0, 1]);
    let m = Array::from_vec(vec![3.0, 1.0, 2.0, 9.0, 7.0, 5.0], &[2, 3]).unwrap();
    assert_eq!(
        ops::median(&m, Some(1)).unwrap().to_vec::<f64>().unwrap(),
        vec![2.0, 7.0]
    );
    assert_eq!(
        ops::percentile(&m, 25.0, None).unwrap().item().unwrap(),
        Scalar::F64(2.25)
    );
    assert!(ops::percentile(&m, 101.0, None).is_err());
    let idx = Array::from_vec(vec![-1i64, 0], &[2]).unwrap();
    assert_eq!(
        ops::take(&m, &idx, 1).unwrap().to_vec::<f64>().unwrap(),
        vec![2.0, 3.0, 5.0, 9.0]
    );
    assert!(ops::take(&m, &Array::from_vec(vec![3i64], &[1]).unwrap(), 1).is_err());
    let mask = Array::from_vec(vec![true, false, true, false, false, true], &[2, 3]).unwrap();
    assert_eq!(
        ops::mask_select(&m, &mask)
            .unwrap()
            .to_vec::<f64>()
            .unwrap(),
        vec![3.0, 2.0, 5.0]
    );
    ops::mask_assign(&m, &mask, &Array::scalar(Scalar::F64(0.0))).unwrap();
    assert_eq!(
        m.to_vec::<f64>().unwrap(),
        vec![0.0, 1.0, 0.0, 9.0, 7.0, 0.0]
    );
    let c = ops::cumsum(&Array::from_vec(vec![1i32, 2, 3], &[3]).unwrap(), None).unwrap();
    assert_eq!((c.dtype(), ints(&c)), (DType::I64, vec![1, 3, 6]));
    let j = ops::concatenate(&[m.clone(), m.clone()], -1).unwrap();
    assert_eq!(j.shape(), &[2, 6]);
    assert!(ops::concatenate(&[m.clone(), c], 0).is_err());
    assert_eq!(
        ints(&ops::arange(Scalar::I64(5), Scalar::I64(0), Scalar::I64(-2), DType::I64).unwrap()),
        vec![5, 3, 1]
    );
    assert!(ops::arange(Scalar::I64(0), Scalar::I64(5), Scalar::I64(0), DType::I64).is_err());
    let mut r1 = ops::Rng::new(7);
    let mut r2 = ops::Rng::new(7);
    assert_eq!(
        r1.rand(&[5], DType::F64).unwrap().to_scalars().unwrap(),
        r2.rand(&[5], DType::F64).unwrap().to_scalars().unwrap()
    );
    let big = r1
        .randn(&[100_000], DType::F64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    let mean = big.iter().sum::<f64>() / big.len() as f64;
    let var = big.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / big.len() as f64;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
        "{mean} {var}"
    );
    let p = r1.permutation(10).unwrap();
    let mut v = ints(&p);
    v.sort();
    assert_eq!(v, (0..10).collect::<Vec<_>>());
}

#[test]
fn huge_shapes_are_errors() {
    assert!(Array::zeros(DType::F64, &[1 << 40, 1 << 40]).is_err());
    assert!(Array::zeros(DType::F64, &[1 << 40]).is_err());
    assert!(ops::eye(1 << 20, None, DType::F64).is_err());
}
