//! `cumsum` and `cumprod` compile into one kernel with the expression they scan. They are
//! checked here against the runtime's direct scan (`ndx_runtime::ops`) of the materialised
//! expression, over generated shapes, dtypes, views, axes and expressions. Both accumulate
//! sequentially in the result dtype, so the results must be identical, not merely close.

mod common;

use ndx::{Array, DType, Scalar, Session};
use proptest::prelude::*;

/// Expressions over `x` with exact arithmetic only (no transcendental functions, whose vector
/// and scalar forms may round differently).
const EXPRS: &[&str] = &["x", "x * 2 + 1", "where(x > 0, x, -x)", "x - x[..., ::-1]"];

fn case() -> impl Strategy<Value = (Vec<usize>, DType, usize, usize, Option<usize>, bool, u64)> {
    (
        prop::collection::vec(0usize..6, 1..4),
        prop::sample::select(vec![
            DType::F32,
            DType::F64,
            DType::I32,
            DType::I64,
            DType::Bool,
        ]),
        0..EXPRS.len(),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_flat_map(|(mut shape, dtype, expr, long, prod, seed)| {
            if long {
                // A long axis exercises the vector loop and its tail.
                shape[0] = 37;
            }
            let nd = shape.len();
            (
                Just(shape),
                Just(dtype),
                Just(expr),
                0usize..3,
                prop::option::of(0..nd),
                Just(prod),
                Just(seed),
            )
        })
}

fn data(dtype: DType, n: usize, seed: u64) -> Vec<Scalar> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = (state % 7) as i64 - 3;
            match dtype {
                DType::F32 => Scalar::F32(v as f32 * 0.75),
                DType::F64 => Scalar::F64(v as f64 * 0.375),
                DType::I32 => Scalar::I32(v as i32),
                DType::I64 => Scalar::I64(v),
                DType::Bool => Scalar::Bool(v > 0),
            }
        })
        .collect()
}

fn values(a: &Array) -> Vec<Scalar> {
    a.to_scalars().unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn scans_match_the_runtime_scan(
        (shape, dtype, expr, view, axis, prod, seed) in case()
    ) {
        let n: usize = shape.iter().product();
        let base = Array::from_scalars(dtype, &data(dtype, n, seed), &shape)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut s = Session::new();
        s.set("base", base);
        // The scanned value is read through a plain, reversed or transposed view.
        let x = ["base", "base[::-1]", "base.T"][view];
        let e = EXPRS[expr];
        let name = if prod { "cumprod" } else { "cumsum" };
        let ax = axis.map_or(String::new(), |a| format!(", axis={a}"));
        let prog = format!("let x = {x}\nlet v = {e}\nlet r = {name}({e}{ax})");
        // `where` of bool and `x * 2 + 1` are NumPy-valid for every dtype here; skip the
        // combinations ndx (like NumPy) rejects, such as `-` of bool.
        if let Err(err) = s.run(&prog) {
            let text = err.render();
            prop_assume!(!text.contains("bool"), "{}", text);
            return Err(TestCaseError::fail(format!("{prog}\n{text}")));
        }
        let v = s.get("v").unwrap().to_array().unwrap();
        let r = s.get("r").unwrap().to_array().unwrap();
        let axis = axis.map(|a| a as isize);
        let want = if prod {
            ndx_runtime::ops::cumprod(&v, axis)
        } else {
            ndx_runtime::ops::cumsum(&v, axis)
        }
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(r.dtype(), want.dtype());
        prop_assert_eq!(r.shape(), want.shape());
        let (got, want) = (values(&r), values(&want));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let same = g == w || (g.to_f64().is_nan() && w.to_f64().is_nan());
            prop_assert!(same, "{}: element {}: got {:?}, want {:?}", prog, i, g, w);
        }
    }
}

#[test]
fn a_scan_over_changing_sizes_compiles_once() {
    let mut s = Session::new();
    s.run("let c = cumsum(arange(5.0) * 2, axis=0)").unwrap();
    let (before, _) = s.kernel_stats();
    for n in [7, 100, 1000, 33] {
        s.run(&format!("let c = cumsum(arange({n}.0) * 2, axis=0)"))
            .unwrap();
    }
    let (after, _) = s.kernel_stats();
    // `arange` materialises through its own fused kernel, compiled once too.
    assert_eq!(after, before, "each size compiled again");
    let c = s.get("c").unwrap().to_array().unwrap();
    let got: Vec<f64> = values(&c).iter().map(|v| v.to_f64()).collect();
    let want: Vec<f64> = (0..33).map(|k| (k * (k + 1)) as f64).collect();
    assert_eq!(got, want);
}

#[test]
fn a_scan_does_not_materialise_its_argument() {
    let mut s = Session::new();
    s.run("let x = rand((64, 32))").unwrap();
    let text = common::explain_text(&mut s, "let c = cumsum(x * 2 + 1, axis=0)");
    assert!(text.contains("kernel 1: `cumsum`"), "{text}");
    // The argument is computed inside the scan: no other kernel writes a temporary.
    assert_eq!(text.matches("kernel ").count(), 1, "{text}");
    // Rows of the outer-axis scan are unit-stride: the inner loops have a vector form.
    assert!(
        text.contains("vector loop over l1 (2 loops): 2 x 64-bit lanes"),
        "{text}"
    );
}

#[test]
fn scan_errors_are_located() {
    let mut s = Session::new();
    let e = s.run("let c = cumsum(ones((2, 3)), axis=2)").unwrap_err();
    let text = e.render();
    assert!(text.contains("E0232"), "{text}");
    assert!(text.contains("axis 2 is out of bounds"), "{text}");
    let e = s.run("let c = cumprod(\"abc\")").unwrap_err();
    assert!(e.render().contains("E0208"), "{}", e.render());
}

#[test]
fn a_scan_of_a_row_normalised_value_matches_the_direct_scan() {
    // The keepdims row reduction inside the argument runs first, then the scan fuses the rest.
    let mut s = Session::new();
    s.run(
        "let x = reshape(f64(arange(35)) * 0.37 - 3.0, (5, 7))\n\
         let v = x - max(x, axis=-1, keepdims=true)\n\
         let r = cumsum(x - max(x, axis=-1, keepdims=true), axis=1)\n\
         let p = cumprod(exp(x - max(x, axis=-1, keepdims=true)), axis=0)",
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    let v = s.get("v").unwrap().to_array().unwrap();
    let r = s.get("r").unwrap().to_array().unwrap();
    let want = ndx_runtime::ops::cumsum(&v, Some(1)).unwrap();
    assert_eq!(values(&r), values(&want));
    let p: Vec<f64> = values(&s.get("p").unwrap().to_array().unwrap())
        .iter()
        .map(|v| v.to_f64())
        .collect();
    let vv: Vec<f64> = values(&v).iter().map(|v| v.to_f64()).collect();
    for j in 0..7 {
        let mut acc = 1.0;
        for i in 0..5 {
            acc *= vv[i * 7 + j].exp();
            let got = p[i * 7 + j];
            assert!(
                (got - acc).abs() <= 1e-14 * acc.abs(),
                "p[{i}, {j}] = {got}, want {acc}"
            );
        }
    }
}
