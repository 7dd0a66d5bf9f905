//! Contractions: the GEMM path against a scalar reference on transposed, broadcast, batched
//! and permuted layouts; the direct loop on ints (wrapping) and bools; diagonals as views.

use ndx_runtime::ops::{contract_loop, contract_pair, label_view};
use ndx_runtime::{Array, DType, Scalar};
use std::collections::BTreeMap;

type Sizes = BTreeMap<char, usize>;

fn sizes(pairs: &[(char, usize)]) -> Sizes {
    pairs.iter().copied().collect()
}

/// Small integers as floats: every product and sum is exact, whatever the order.
fn ramp(dtype: DType, shape: &[usize], seed: i64) -> Array {
    let n: usize = shape.iter().product();
    let data: Vec<Scalar> = (0..n as i64)
        .map(|i| Scalar::I64((i * 7 + seed) % 11 - 5))
        .collect();
    Array::from_scalars(dtype, &data, shape).unwrap()
}

/// The reference: sum over all label assignments, in f64.
fn reference(ops: &[(&Array, &[char])], out: &[char], sz: &Sizes) -> Vec<f64> {
    let labels: Vec<char> = sz.keys().copied().collect();
    let dims: Vec<usize> = labels.iter().map(|l| sz[l]).collect();
    let out_shape: Vec<usize> = out.iter().map(|l| sz[l]).collect();
    let mut res = vec![0.0; out_shape.iter().product()];
    Array::for_each_index(&dims, |idx| {
        let at = |l: char| idx[labels.iter().position(|&x| x == l).unwrap()];
        let mut p = 1.0;
        for (a, ls) in ops {
            let i: Vec<usize> = ls.iter().map(|&l| at(l)).collect();
            p *= a.get(&i).unwrap().to_f64();
        }
        let mut o = 0;
        for (k, &l) in out.iter().enumerate() {
            o = o * out_shape[k] + at(l);
        }
        res[o] += p;
    });
    res
}

fn values(a: &Array) -> Vec<f64> {
    a.to_scalars().unwrap().iter().map(|s| s.to_f64()).collect()
}

fn check_pair(a: &Array, la: &[char], b: &Array, lb: &[char], out: &[char], sz: &Sizes) {
    let want = reference(&[(a, la), (b, lb)], out, sz);
    for threads in [1, 2] {
        let r = contract_pair((a, la), (b, lb), out, sz, threads).unwrap();
        assert!(r.is_c_contiguous());
        let shape: Vec<usize> = out.iter().map(|l| sz[l]).collect();
        assert_eq!(r.shape(), &shape[..]);
        assert_eq!(values(&r), want, "{la:?},{lb:?}->{out:?} threads {threads}");
    }
    let r = contract_loop(&[(a, la), (b, lb)], out, sz).unwrap();
    assert_eq!(values(&r), want, "loop {la:?},{lb:?}->{out:?}");
}

#[test]
fn integer_gemm_wraps_and_splits_rows_over_threads() {
    // Big enough for the row split (2^22 multiply-adds), values that wrap in i32.
    let sz = sizes(&[('i', 160), ('j', 170), ('k', 180)]);
    let n = 160 * 170;
    let a = Array::from_vec(
        (0..n).map(|v: i32| v.wrapping_mul(2_654_435)).collect(),
        &[160, 170],
    )
    .unwrap();
    let b = Array::from_vec(
        (0..170 * 180)
            .map(|v: i32| v.wrapping_mul(40_503) ^ 7)
            .collect(),
        &[170, 180],
    )
    .unwrap();
    let r1 = contract_pair((&a, &['i', 'j']), (&b, &['j', 'k']), &['i', 'k'], &sz, 1).unwrap();
    let r2 = contract_pair((&a, &['i', 'j']), (&b, &['j', 'k']), &['i', 'k'], &sz, 2).unwrap();
    let l = contract_loop(
        &[(&a, &['i', 'j'][..]), (&b, &['j', 'k'][..])],
        &['i', 'k'],
        &sz,
    )
    .unwrap();
    let (v1, v2, vl) = (
        r1.to_vec::<i32>().unwrap(),
        r2.to_vec::<i32>().unwrap(),
        l.to_vec::<i32>().unwrap(),
    );
    assert_eq!(v1, vl);
    assert_eq!(v2, vl);
}

#[test]
fn gemm_matches_the_reference_on_every_layout() {
    for d in [DType::F32, DType::F64, DType::I32, DType::I64] {
        let sz = sizes(&[('i', 70), ('j', 65), ('k', 90)]);
        let a = ramp(d, &[70, 65], 1);
        let b = ramp(d, &[65, 90], 2);
        check_pair(&a, &['i', 'j'], &b, &['j', 'k'], &['i', 'k'], &sz);
        // Transposed inputs and output, as strides.
        let at = ramp(d, &[65, 70], 3).transpose(None).unwrap();
        let bt = ramp(d, &[90, 65], 4).transpose(None).unwrap();
        check_pair(&at, &['i', 'j'], &bt, &['j', 'k'], &['k', 'i'], &sz);
        // Batch axes, grouped m and k labels, a permuted output (i k j -> not mergeable).
        let sz = sizes(&[('b', 3), ('i', 5), ('j', 6), ('k', 7), ('l', 8), ('m', 9)]);
        let a = ramp(d, &[3, 5, 6, 7, 8], 5);
        let b = ramp(d, &[7, 8, 3, 9], 6);
        check_pair(
            &a,
            &['b', 'i', 'j', 'k', 'l'],
            &b,
            &['k', 'l', 'b', 'm'],
            &['b', 'i', 'j', 'm'],
            &sz,
        );
        check_pair(
            &a,
            &['b', 'i', 'j', 'k', 'l'],
            &b,
            &['k', 'l', 'b', 'm'],
            &['i', 'm', 'b', 'j'],
            &sz,
        );
        // A k group whose order differs between the operands forces a copy.
        check_pair(
            &a,
            &['b', 'i', 'j', 'k', 'l'],
            &b.transpose(Some(&[1, 0, 2, 3])).unwrap(),
            &['l', 'k', 'b', 'm'],
            &['b', 'j', 'i', 'm'],
            &sz,
        );
        // Labels only one side has are summed out first; outer products have k = 1.
        let sz = sizes(&[('i', 4), ('j', 5), ('k', 6)]);
        let a = ramp(d, &[4, 5], 7);
        let b = ramp(d, &[6], 8);
        check_pair(&a, &['i', 'j'], &b, &['k'], &['i', 'k'], &sz);
        check_pair(&a, &['i', 'j'], &b, &['k'], &['k', 'j', 'i'], &sz);
        // Empty dimensions.
        let sz = sizes(&[('i', 0), ('j', 3), ('k', 2)]);
        check_pair(
            &ramp(d, &[0, 3], 0),
            &['i', 'j'],
            &ramp(d, &[3, 2], 0),
            &['j', 'k'],
            &['i', 'k'],
            &sz,
        );
        let sz = sizes(&[('i', 2), ('j', 0), ('k', 2)]);
        check_pair(
            &ramp(d, &[2, 0], 0),
            &['i', 'j'],
            &ramp(d, &[0, 2], 0),
            &['j', 'k'],
            &['i', 'k'],
            &sz,
        );
    }
}

#[test]
fn broadcast_and_diagonal_views() {
    let sz = sizes(&[('i', 4), ('j', 3)]);
    let a = ramp(DType::F64, &[1, 3], 1);
    let (v, l) = label_view(&a, &['i', 'j'], &sz).unwrap();
    assert_eq!(v.shape(), &[4, 3]);
    assert_eq!(v.strides()[0], 0);
    assert_eq!(l, vec!['i', 'j']);
    let m = ramp(DType::I64, &[3, 3], 2);
    let sz = sizes(&[('i', 3)]);
    let (d, l) = label_view(&m, &['i', 'i'], &sz).unwrap();
    assert!(d.shares_memory(&m));
    assert_eq!(l, vec!['i']);
    assert_eq!(
        d.to_vec::<i64>().unwrap(),
        vec![
            m.get(&[0, 0]).unwrap().to_i64(),
            m.get(&[1, 1]).unwrap().to_i64(),
            m.get(&[2, 2]).unwrap().to_i64()
        ]
    );
    let diag = m.diagonal(1, 0, 1).unwrap();
    assert_eq!(diag.shape(), &[2]);
    assert_eq!(m.diagonal(-5, 0, 1).unwrap().shape(), &[0]);
    assert!(m.diagonal(0, 0, 0).is_err());
}

#[test]
fn integer_loops_wrap_and_bools_or() {
    let sz = sizes(&[('i', 2), ('j', 2), ('k', 1)]);
    let big = Array::from_vec(vec![i32::MAX, 2, 3, i32::MAX], &[2, 2]).unwrap();
    let two = Array::from_vec(vec![2i32, 0, 0, 2], &[2, 2]).unwrap();
    let r = contract_pair(
        (&big, &['i', 'j']),
        (&two, &['j', 'k']),
        &['i', 'k'],
        &sizes(&[('i', 2), ('j', 2), ('k', 2)]),
        1,
    )
    .unwrap();
    assert_eq!(r.dtype(), DType::I32);
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![-2, 4, 6, -2]);
    let t = Array::from_vec(vec![true, false, false, false], &[2, 2]).unwrap();
    let r = contract_loop(
        &[(&t, &['i', 'j'][..]), (&t, &['j', 'k'][..])],
        &['i', 'k'],
        &sizes(&[('i', 2), ('j', 2), ('k', 2)]),
    )
    .unwrap();
    assert_eq!(r.to_vec::<bool>().unwrap(), vec![true, false, false, false]);
    // Single operand: a sum and a transpose; no summed labels means a copy.
    let a = ramp(DType::I64, &[2, 1], 3);
    let r = contract_loop(&[(&a, &['i', 'k'][..])], &[], &sz).unwrap();
    assert_eq!(r.shape(), &[] as &[usize]);
    assert!(contract_loop(&[], &[], &sz).is_err());
}

#[test]
fn gemm_takes_zero_and_negative_strides() {
    for d in [DType::F32, DType::F64, DType::I32, DType::I64] {
        // A size-1 axis stretched over the contracted label (stride 0 in the k group).
        let sz = sizes(&[('i', 40), ('j', 50), ('k', 30)]);
        let a = ramp(d, &[40, 1], 1);
        let (av, al) = label_view(&a, &['i', 'j'], &sz).unwrap();
        let b = ramp(d, &[50, 30], 2);
        check_pair(&av, &al, &b, &['j', 'k'], &['i', 'k'], &sz);
        // Reversed views: negative strides on every group.
        use ndx_runtime::IndexSpec;
        let rev = IndexSpec::Slice {
            start: None,
            stop: None,
            step: Some(-1),
        };
        let ar = ramp(d, &[40, 50], 3)
            .index(&[rev.clone(), rev.clone()])
            .unwrap();
        let br = ramp(d, &[50, 30], 4).index(&[rev.clone(), rev]).unwrap();
        check_pair(&ar, &['i', 'j'], &br, &['j', 'k'], &['i', 'k'], &sz);
    }
}

#[test]
fn gemm_accumulates_onto_an_initial_value() {
    use ndx_runtime::ops::contract_pair_onto;
    for d in [DType::F32, DType::F64] {
        let sz = sizes(&[('i', 40), ('j', 50), ('k', 30)]);
        let a = ramp(d, &[40, 50], 1);
        let b = ramp(d, &[50, 30], 2);
        let bias = ramp(d, &[30], 3).broadcast_to(&[40, 30]).unwrap();
        let want: Vec<f64> = reference(
            &[(&a, &['i', 'j'][..]), (&b, &['j', 'k'][..])],
            &['i', 'k'],
            &sz,
        )
        .iter()
        .zip(values(&bias))
        .map(|(p, q)| p + q)
        .collect();
        for threads in [1, 2] {
            let r = contract_pair_onto(
                (&a, &['i', 'j']),
                (&b, &['j', 'k']),
                &['i', 'k'],
                &sz,
                threads,
                &bias,
            )
            .unwrap();
            assert_eq!(values(&r), want);
        }
        // A permuted output that is computed in (m, n) order and permuted at the end.
        let bias_t = ramp(d, &[30, 40], 4);
        let want: Vec<f64> = reference(
            &[(&a, &['i', 'j'][..]), (&b, &['j', 'k'][..])],
            &['k', 'i'],
            &sz,
        )
        .iter()
        .zip(values(&bias_t))
        .map(|(p, q)| p + q)
        .collect();
        let r = contract_pair_onto(
            (&a, &['i', 'j']),
            (&b, &['j', 'k']),
            &['k', 'i'],
            &sz,
            1,
            &bias_t,
        )
        .unwrap();
        assert_eq!(values(&r), want);
        // k = 0: the initial value itself.
        let sz0 = sizes(&[('i', 2), ('j', 0), ('k', 3)]);
        let init = ramp(d, &[2, 3], 5);
        let r = contract_pair_onto(
            (&ramp(d, &[2, 0], 0), &['i', 'j']),
            (&ramp(d, &[0, 3], 0), &['j', 'k']),
            &['i', 'k'],
            &sz0,
            1,
            &init,
        )
        .unwrap();
        assert_eq!(values(&r), values(&init));
        assert!(contract_pair_onto(
            (&a, &['i', 'j']),
            (&b, &['j', 'k']),
            &['i', 'k'],
            &sz,
            1,
            &init
        )
        .is_err());
    }
}
