//! Elementwise kernels on real buffers, compared with values computed in Rust.

mod common;
use common::*;
use ndx_ir::kernel::{BinaryOp as B, UnaryOp as U};
use ndx_runtime::{DType, Scalar};

fn axpy_kernel() -> K {
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let a = k.c(Scalar::F32(2.5));
    let ax = k.bin(B::Mul, a, x);
    let r = k.bin(B::Add, ax, y);
    k.out(r);
    k
}

#[test]
fn axpy_f32_all_lengths() {
    let mut jit = jit();
    let k = axpy_kernel();
    for n in 0..=17usize {
        let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
        let y: Vec<f32> = (0..n).map(|i| 1.0 / (i as f32 + 1.0)).collect();
        let mut out = vec![f32::NAN; n];
        let arrays = [
            raw(&x, DType::F32, &[1]),
            raw(&y, DType::F32, &[1]),
            raw_mut(&mut out, DType::F32, &[1]),
        ];
        jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
        for i in 0..n {
            assert_eq!(
                out[i].to_bits(),
                (2.5f32 * x[i] + y[i]).to_bits(),
                "n={n} i={i}"
            );
        }
    }
    // Length 1 drops its only axis and runs the rank-0 (scalar) nest; every other length,
    // empty included, shares one rank-1 nest.
    let st = jit.stats();
    assert_eq!(
        st.compiled, 2,
        "one compilation for all sizes, plus the rank-0 nest"
    );
    assert_eq!(st.hits, 16);
}

#[test]
fn bias_add_broadcast_rows() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F32);
    let b = k.input(DType::F32);
    let r = k.bin(B::Add, x, b);
    k.out(r);
    let (m, n) = (3usize, 7usize);
    let xs: Vec<f32> = (0..m * n).map(|i| i as f32).collect();
    let bs: Vec<f32> = (0..n).map(|j| 100.0 * j as f32).collect();
    let mut out = vec![0f32; m * n];
    let arrays = [
        raw(&xs, DType::F32, &[7, 1]),
        raw(&bs, DType::F32, &[0, 1]),
        raw_mut(&mut out, DType::F32, &[7, 1]),
    ];
    jit.execute(&k.0, &[m, n], &[false, false], &arrays)
        .unwrap();
    for i in 0..m {
        for j in 0..n {
            assert_eq!(out[i * n + j], xs[i * n + j] + bs[j]);
        }
    }
    // A scalar broadcast along the inner axis (bias per row).
    let mut out2 = vec![0f32; m * n];
    let rows: Vec<f32> = vec![1.0, 2.0, 3.0];
    let arrays = [
        raw(&xs, DType::F32, &[7, 1]),
        raw(&rows, DType::F32, &[1, 0]),
        raw_mut(&mut out2, DType::F32, &[7, 1]),
    ];
    jit.execute(&k.0, &[m, n], &[false, false], &arrays)
        .unwrap();
    for i in 0..m {
        for j in 0..n {
            assert_eq!(out2[i * n + j], xs[i * n + j] + rows[i]);
        }
    }
}

#[test]
fn transposed_and_negative_strides() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F64);
    let y = k.input(DType::F64);
    let r = k.bin(B::Sub, x, y);
    k.out(r);
    let (m, n) = (4usize, 5usize);
    let xs: Vec<f64> = (0..m * n).map(|i| (i * i) as f64).collect();
    // y is x transposed: shape (n, m) in memory, read with strides (1, n).
    let ys: Vec<f64> = (0..m * n).map(|i| i as f64 * 0.25).collect();
    let mut out = vec![0f64; m * n];
    let arrays = [
        raw(&xs, DType::F64, &[5, 1]),
        raw(&ys, DType::F64, &[1, 4]),
        raw_mut(&mut out, DType::F64, &[5, 1]),
    ];
    jit.execute(&k.0, &[m, n], &[false, false], &arrays)
        .unwrap();
    for i in 0..m {
        for j in 0..n {
            assert_eq!(out[i * n + j], xs[i * n + j] - ys[j * m + i]);
        }
    }
    // Both inputs reversed (negative strides), output reversed too.
    let len = 11usize;
    let a: Vec<f64> = (0..len).map(|i| i as f64).collect();
    let b: Vec<f64> = (0..len).map(|i| (i * 3) as f64).collect();
    let mut o = vec![0f64; len];
    let arrays = [
        raw_at(&a, len - 1, DType::F64, &[-1]),
        raw(&b, DType::F64, &[1]),
        raw_at_mut(&mut o, len - 1, DType::F64, &[-1]),
    ];
    jit.execute(&k.0, &[len], &[false], &arrays).unwrap();
    for i in 0..len {
        // o[len-1-i] = a[len-1-i] - b[i]
        assert_eq!(o[len - 1 - i], a[len - 1 - i] - b[i]);
    }
}

#[test]
fn int_floordiv_mod_never_trap() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::I64);
    let y = k.input(DType::I64);
    let q = k.bin(B::FloorDiv, x, y);
    let r = k.bin(B::Mod, x, y);
    k.out(q);
    k.out(r);
    let pairs = [
        (7i64, 2i64),
        (-7, 2),
        (7, -2),
        (-7, -2),
        (5, 0),
        (0, 0),
        (i64::MIN, -1),
        (i64::MIN, 1),
        (i64::MAX, -1),
        (6, 3),
        (-6, 3),
        (i64::MIN, 0),
    ];
    let xs: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let ys: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    let mut qs = vec![99i64; pairs.len()];
    let mut rs = vec![99i64; pairs.len()];
    let arrays = [
        raw(&xs, DType::I64, &[1]),
        raw(&ys, DType::I64, &[1]),
        raw_mut(&mut qs, DType::I64, &[1]),
        raw_mut(&mut rs, DType::I64, &[1]),
    ];
    jit.execute(&k.0, &[pairs.len()], &[false], &arrays)
        .unwrap();
    let expect_q = [3, -4, -4, 3, 0, 0, i64::MIN, i64::MIN, -i64::MAX, 2, -2, 0];
    let expect_r = [1, 1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(qs, expect_q);
    assert_eq!(rs, expect_r);

    // The same in i32.
    let mut k = K::new();
    let x = k.input(DType::I32);
    let y = k.input(DType::I32);
    let q = k.bin(B::FloorDiv, x, y);
    let r = k.bin(B::Mod, x, y);
    k.out(q);
    k.out(r);
    let xs: Vec<i32> = vec![i32::MIN, -7, 7, 9];
    let ys: Vec<i32> = vec![-1, 0, -3, 4];
    let mut qs = vec![0i32; 4];
    let mut rs = vec![0i32; 4];
    let arrays = [
        raw(&xs, DType::I32, &[1]),
        raw(&ys, DType::I32, &[1]),
        raw_mut(&mut qs, DType::I32, &[1]),
        raw_mut(&mut rs, DType::I32, &[1]),
    ];
    jit.execute(&k.0, &[4], &[false], &arrays).unwrap();
    assert_eq!(qs, [i32::MIN, 0, -3, 2]);
    assert_eq!(rs, [0, 0, -2, 1]);
}

#[test]
fn float_to_int_casts_saturate() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F32);
    let a = k.cast(x, DType::I32);
    let b = k.cast(x, DType::I64);
    let c = k.cast(x, DType::Bool);
    k.out(a);
    k.out(b);
    k.out(c);
    let xs = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e20,
        -1e20,
        -2.7,
        2.7,
        0.0,
        -0.0,
        3e9,
    ];
    let n = xs.len();
    let mut a = vec![7i32; n];
    let mut b = vec![7i64; n];
    let mut c = vec![7u8; n];
    let arrays = [
        raw(&xs, DType::F32, &[1]),
        raw_mut(&mut a, DType::I32, &[1]),
        raw_mut(&mut b, DType::I64, &[1]),
        raw_mut(&mut c, DType::Bool, &[1]),
    ];
    jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
    for i in 0..n {
        assert_eq!(a[i], xs[i] as i32, "{}", xs[i]);
        assert_eq!(b[i], xs[i] as i64, "{}", xs[i]);
        assert_eq!(c[i], u8::from(xs[i] != 0.0), "{}", xs[i]);
    }
    // bool and int to float, i64 to i32 (wrapping).
    let mut k = K::new();
    let x = k.input(DType::I64);
    let f = k.cast(x, DType::F64);
    let i = k.cast(x, DType::I32);
    let bb = k.cast(x, DType::Bool);
    let back = k.cast(bb, DType::F32);
    k.out(f);
    k.out(i);
    k.out(back);
    let xs = [0i64, 1, -1, i64::MAX, i64::MIN, 1 << 40, 3];
    let n = xs.len();
    let mut f = vec![0f64; n];
    let mut i = vec![0i32; n];
    let mut back = vec![0f32; n];
    let arrays = [
        raw(&xs, DType::I64, &[1]),
        raw_mut(&mut f, DType::F64, &[1]),
        raw_mut(&mut i, DType::I32, &[1]),
        raw_mut(&mut back, DType::F32, &[1]),
    ];
    jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
    for j in 0..n {
        assert_eq!(f[j], xs[j] as f64);
        assert_eq!(i[j], xs[j] as i32);
        assert_eq!(back[j], if xs[j] != 0 { 1.0 } else { 0.0 });
    }
}

#[test]
fn compare_select_minmax() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let lt = k.bin(B::Lt, x, y);
    let two = k.c(Scalar::F32(2.0));
    let y2 = k.bin(B::Mul, y, two);
    let s = k.select(lt, x, y2);
    let mn = k.bin(B::Min, x, y);
    let mx = k.bin(B::Max, x, y);
    k.out(s);
    k.out(mn);
    k.out(mx);
    let xs = [1.0f32, 5.0, f32::NAN, 2.0, -1.0, 3.0, 0.5, f32::NAN, 9.0];
    let ys = [2.0f32, 4.0, 1.0, f32::NAN, -1.0, 7.0, 0.25, f32::NAN, -9.0];
    let n = xs.len();
    let (mut s, mut mn, mut mx) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    let arrays = [
        raw(&xs, DType::F32, &[1]),
        raw(&ys, DType::F32, &[1]),
        raw_mut(&mut s, DType::F32, &[1]),
        raw_mut(&mut mn, DType::F32, &[1]),
        raw_mut(&mut mx, DType::F32, &[1]),
    ];
    jit.execute(&k.0, &[n], &[false], &arrays).unwrap();
    for i in 0..n {
        let (a, b) = (xs[i], ys[i]);
        let es = if a < b { a } else { b * 2.0 };
        assert!(s[i] == es || (s[i].is_nan() && es.is_nan()), "select {i}");
        if a.is_nan() || b.is_nan() {
            assert!(mn[i].is_nan() && mx[i].is_nan(), "NaN propagates at {i}");
        } else {
            assert_eq!(mn[i], a.min(b));
            assert_eq!(mx[i], a.max(b));
        }
    }
}

#[test]
fn math_functions_match_rust() {
    let mut jit = jit();
    type F = fn(f64) -> f64;
    let ops: [(U, F); 12] = [
        (U::Exp, f64::exp),
        (U::Log, f64::ln),
        (U::Sin, f64::sin),
        (U::Cos, f64::cos),
        (U::Tanh, f64::tanh),
        (U::Sqrt, f64::sqrt),
        (U::Cbrt, f64::cbrt),
        (U::Expm1, f64::exp_m1),
        (U::Log1p, f64::ln_1p),
        (U::Arctan, f64::atan),
        (U::Floor, f64::floor),
        (U::Round, f64::round_ties_even),
    ];
    let xs: Vec<f64> = vec![
        -2.5,
        -0.5,
        0.0,
        0.5,
        1.5,
        2.5,
        10.0,
        f64::NAN,
        f64::INFINITY,
    ];
    for (op, f) in ops {
        let mut k = K::new();
        let x = k.input(DType::F64);
        let r = k.un(op, x);
        k.out(r);
        let mut out = vec![0f64; xs.len()];
        let arrays = [
            raw(&xs, DType::F64, &[1]),
            raw_mut(&mut out, DType::F64, &[1]),
        ];
        jit.execute(&k.0, &[xs.len()], &[false], &arrays).unwrap();
        // The math library is within 4 ULP of libm (tests/vmath.rs); the rest is exact.
        let tol = if matches!(op, U::Sqrt | U::Floor | U::Round) {
            0
        } else {
            4
        };
        for (i, x) in xs.iter().enumerate() {
            let e = f(*x);
            assert!(
                within_ulps(out[i], e, tol),
                "{op:?}({x}) = {} not {e}",
                out[i]
            );
        }
    }
    // f32 exp, pow and atan2 through the math library.
    let mut k = K::new();
    let x = k.input(DType::F32);
    let y = k.input(DType::F32);
    let e = k.un(U::Exp, x);
    let p = k.bin(B::Pow, x, y);
    let a = k.bin(B::Arctan2, x, y);
    k.out(e);
    k.out(p);
    k.out(a);
    let xs = [0.5f32, 2.0, -1.0, 3.0];
    let ys = [2.0f32, 0.5, 3.0, -2.0];
    let (mut eo, mut po, mut ao) = (vec![0f32; 4], vec![0f32; 4], vec![0f32; 4]);
    let arrays = [
        raw(&xs, DType::F32, &[1]),
        raw(&ys, DType::F32, &[1]),
        raw_mut(&mut eo, DType::F32, &[1]),
        raw_mut(&mut po, DType::F32, &[1]),
        raw_mut(&mut ao, DType::F32, &[1]),
    ];
    jit.execute(&k.0, &[4], &[false], &arrays).unwrap();
    for i in 0..4 {
        let close = |a: f32, b: f32| within_ulps(f64::from(a), f64::from(b), 4) || a == b;
        assert!(close(eo[i], xs[i].exp()));
        assert!(close(po[i], xs[i].powf(ys[i])));
        assert!(close(ao[i], xs[i].atan2(ys[i])));
    }
}

/// `got` within `n` ULP of `want` (in f64 representable numbers when both are f64; f32
/// results compared as f64 differ by at most the same relative amount), NaN matching NaN,
/// infinities and zeros exactly.
fn within_ulps(got: f64, want: f64, n: u64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got.is_infinite() || want.is_infinite() || got == 0.0 || want == 0.0 {
        return got.to_bits() == want.to_bits();
    }
    if got.is_sign_negative() != want.is_sign_negative() {
        return false;
    }
    let (a, b) = (got.abs().to_bits(), want.abs().to_bits());
    let d = a.max(b) - a.min(b);
    // f32 values widened to f64 are 2^29 f64-ULP apart per f32 ULP.
    d <= n || (got as f32 as f64 == got && d <= n << 29)
}

#[test]
fn rank0_and_int_pow() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::I64);
    let y = k.input(DType::I64);
    let p = k.bin(B::Pow, x, y);
    k.out(p);
    for (a, b, e) in [
        (3i64, 4i64, 81i64),
        (2, 63, i64::MIN),
        (2, -1, 0),
        (-1, -3, -1),
        (1, -5, 1),
        (-1, -4, 1),
        (3, 41, 3i64.wrapping_pow(41)),
    ] {
        let xs = [a];
        let ys = [b];
        let mut o = [0i64];
        let arrays = [
            raw(&xs, DType::I64, &[]),
            raw(&ys, DType::I64, &[]),
            raw_mut(&mut o, DType::I64, &[]),
        ];
        jit.execute(&k.0, &[], &[], &arrays).unwrap();
        assert_eq!(o[0], e, "{a} ** {b}");
    }
}

#[test]
fn in_place_output_aliases_input() {
    let mut jit = jit();
    let mut k = K::new();
    let x = k.input(DType::F32);
    let one = k.c(Scalar::F32(1.0));
    let r = k.bin(B::Add, x, one);
    k.out(r);
    let mut v: Vec<f32> = (0..13).map(|i| i as f32).collect();
    let a = raw_mut(&mut v, DType::F32, &[1]);
    jit.execute(&k.0, &[13], &[false], &[a.clone(), a]).unwrap();
    assert_eq!(v, (0..13).map(|i| i as f32 + 1.0).collect::<Vec<_>>());
}
