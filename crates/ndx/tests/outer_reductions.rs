//! Reductions along an outer axis (`sum(x, axis=0)` of a matrix, `max(x, axis=1)` of a 3-D
//! array) run as one kernel that combines each input row into the output row in place
//! (`ndx_ir::scan::outer_reduce_func`; float `max` and `min` by the 512-bit row code where the
//! CPU has it). They are checked here against a direct computation
//! over generated shapes, dtypes, views, operations and fused expressions, NaN included. The
//! data are small multiples of a power of two, so every sum and product is exact in every
//! dtype and the results must be equal, not merely close.

mod common;
use common::lanes;

use ndx::{Array, DType, Scalar, Session};
use proptest::prelude::*;

/// The reductions with an outer-axis form, and the dtypes they are tried on.
const OPS: &[&str] = &["sum", "prod", "min", "max", "mean", "any", "all"];

fn case() -> impl Strategy<Value = (Vec<usize>, DType, usize, usize, usize, bool, u64)> {
    (
        prop::collection::vec(1usize..5, 2..4),
        prop::sample::select(vec![DType::F32, DType::F64, DType::I32, DType::I64]),
        0..OPS.len(),
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_flat_map(|(mut shape, dtype, op, view, long, fused, seed)| {
            let nd = shape.len();
            // A row of at least 8 elements takes the outer-axis kernel; a long one exercises
            // its vector loop and tail. Short rows take the plain reduction.
            shape[nd - 1] = if long { 37 } else { shape[nd - 1] + 7 };
            (
                Just(shape),
                Just(dtype),
                Just(op),
                Just(view),
                0..nd - 1,
                1usize..14,
                Just(fused),
                Just(seed),
            )
        })
        .prop_map(|(mut shape, dtype, op, view, axis, n, fused, seed)| {
            // The reduced axis is combined 4 rows per pass, then row by row: lengths up to
            // 13 cover every remainder.
            shape[axis] = n;
            (shape, dtype, op, view, axis, fused, seed)
        })
}

/// Values in -2..=2 times a power of two (products stay far from overflow); floats get a NaN
/// now and then when `seed` says so.
fn data(dtype: DType, n: usize, seed: u64) -> Vec<Scalar> {
    let mut state = seed | 1;
    let nans = seed.is_multiple_of(3);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = (state % 5) as i64 - 2;
            let nan = nans && state.is_multiple_of(97);
            match dtype {
                DType::F32 => Scalar::F32(if nan { f32::NAN } else { v as f32 * 0.5 }),
                DType::F64 => Scalar::F64(if nan { f64::NAN } else { v as f64 * 0.25 }),
                DType::I32 => Scalar::I32(v as i32),
                DType::I64 => Scalar::I64(v),
                DType::Bool => Scalar::Bool(v > 0),
            }
        })
        .collect()
}

fn reduce(op: &str, lane: &[f64]) -> f64 {
    let nan = lane.iter().any(|v| v.is_nan());
    match op {
        "sum" => lane.iter().sum(),
        "mean" => lane.iter().sum::<f64>() / lane.len() as f64,
        "prod" => lane.iter().product(),
        "min" if nan => f64::NAN,
        "max" if nan => f64::NAN,
        "min" => lane.iter().cloned().fold(f64::INFINITY, f64::min),
        "max" => lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        // `any`/`all` of `x > 0` (NaN compares false).
        "any" => f64::from(u8::from(lane.iter().any(|&v| v > 0.0))),
        _ => f64::from(u8::from(lane.iter().all(|&v| v > 0.0))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn outer_reductions_match_a_direct_computation(
        (shape, dtype, op, view, axis, fused, seed) in case()
    ) {
        let op = OPS[op];
        // The reduced value is read through a plain, reversed or transposed view of `base`,
        // whose shape is chosen so that the view has `shape`.
        let base_shape: Vec<usize> = if view == 2 {
            shape.iter().rev().copied().collect()
        } else {
            shape.clone()
        };
        let n: usize = shape.iter().product();
        let vals = data(dtype, n, seed);
        let base = Array::from_scalars(dtype, &vals, &base_shape)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut s = Session::new();
        s.set("base", base);
        let x = ["base", "base[::-1]", "base.T"][view];
        // Fused: the reduced value is an expression of `x`, computed inside the kernel.
        let e = match (op, fused) {
            ("any" | "all", _) => "x > 0".to_string(),
            (_, true) => "x * 2 - x".to_string(),
            (_, false) => "x".to_string(),
        };
        let prog = format!("let x = {x}\nlet v = {e}\nlet r = {op}({e}, axis={axis})");
        s.run(&prog).map_err(|err| TestCaseError::fail(format!("{prog}\n{}", err.render())))?;
        // The direct computation reads the same view, in C order.
        let xv = s.get("x").unwrap().to_array().unwrap();
        prop_assert_eq!(xv.shape(), &shape[..]);
        let d: Vec<f64> = xv.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
        let r = s.get("r").unwrap().to_array().unwrap();
        let mut want_shape = shape.clone();
        want_shape.remove(axis);
        prop_assert_eq!(r.shape(), &want_shape[..]);
        let got: Vec<f64> = r.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
        // Exact in f64; `mean` of f32 rounds once more, to the result's dtype.
        let f32_result = r.dtype() == DType::F32;
        let want: Vec<f64> = lanes(&shape, axis, &d)
            .iter()
            .map(|l| reduce(op, l))
            .map(|w| if f32_result { f64::from(w as f32) } else { w })
            .collect();
        prop_assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let same = g == w || (g.is_nan() && w.is_nan());
            prop_assert!(same, "{}: element {}: got {}, want {}", prog, i, g, w);
        }
    }
}

#[test]
fn a_column_sum_is_one_kernel_over_rows() {
    let mut s = Session::new();
    s.run("let x = rand((300, 64))").unwrap();
    let text = common::explain_text(&mut s, "let c = max(x * 2 + 1, axis=0)");
    // The reduced expression is computed inside that kernel: nothing is materialised first,
    // and the rows run as vectors (512-bit row code where the CPU has it).
    if ndx_codegen::row_code_available() {
        assert!(text.contains("kernel 1: max along axis 0"), "{text}");
        assert!(
            text.contains("512-bit row code (8 lanes, AVX-512)"),
            "{text}"
        );
    } else {
        assert!(text.contains("kernel 1: `max`"), "{text}");
        assert!(text.contains("vector loop"), "{text}");
    }
    assert!(!text.contains("kernel 2"), "{text}");
    let c = s.get("c").unwrap().to_array().unwrap();
    let x = s.get("x").unwrap().to_array().unwrap();
    let xs: Vec<f64> = x.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
    let got: Vec<f64> = c.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
    for (j, g) in got.iter().enumerate() {
        let want = (0..300)
            .map(|i| xs[i * 64 + j] * 2.0 + 1.0)
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(*g, want, "column {j}");
    }
}

#[test]
fn outer_reductions_over_changing_sizes_compile_once() {
    let mut s = Session::new();
    s.run("let m = sum(ones((5, 9)) * 2, axis=0)").unwrap();
    let (before, _) = s.kernel_stats();
    // (Sizes stay under the blocked-summation threshold, which adds an f64 stage.)
    for (r, c) in [(7, 16), (100, 9), (3, 300), (30, 30)] {
        s.run(&format!("let m = sum(ones(({r}, {c})) * 2, axis=0)"))
            .unwrap();
    }
    let (after, _) = s.kernel_stats();
    assert_eq!(after, before, "each size compiled again");
    let m = s.get("m").unwrap().to_array().unwrap();
    let got: Vec<f64> = m.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
    assert_eq!(got, vec![60.0; 30]);
}

#[test]
fn reduced_axes_of_extent_one_leave_the_result_too() {
    // `sum` over axes 0 and 2 of a (30, 12, 1) array: only axis 0 is long, and the result
    // drops both axes, as NumPy's does.
    let mut s = Session::new();
    s.run("let x = reshape(arange(360.0), (30, 12, 1))\nlet r = sum(x, axis=(0, 2))\nlet m = max(x, axis=(0, 2), keepdims=true)")
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let r = s.get("r").unwrap().to_array().unwrap();
    assert_eq!(r.shape(), &[12]);
    let got: Vec<f64> = r.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
    let want: Vec<f64> = (0..12)
        .map(|j| (0..30).map(|i| (i * 12 + j) as f64).sum())
        .collect();
    assert_eq!(got, want);
    let m = s.get("m").unwrap().to_array().unwrap();
    assert_eq!(m.shape(), &[1, 12, 1]);
    let got: Vec<f64> = m.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
    let want: Vec<f64> = (0..12).map(|j| (29 * 12 + j) as f64).collect();
    assert_eq!(got, want);
}

/// `max` and `min` along an outer axis of long rows (the 512-bit row code's path, where the
/// CPU has it): every column against a direct computation, with NaNs, infinities and columns
/// of negative values only, along the first and the middle axis.
#[test]
fn max_and_min_along_outer_axes_of_long_rows() {
    for (shape, axis) in [
        (vec![300usize, 1000], 0usize),
        (vec![5, 7, 100], 1),
        (vec![9, 3, 17], 0),
        (vec![2, 64, 8], 1),
    ] {
        let n: usize = shape.iter().product();
        let cols = *shape.last().unwrap();
        let vals: Vec<f64> = (0..n)
            .map(|i| {
                let c = i % cols;
                match (i * 7919) % 1009 {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    // Columns 3 mod 5 hold negative values only.
                    v if c % 5 == 3 => -1.0 - v as f64,
                    v => v as f64 - 500.0,
                }
            })
            .collect();
        for dtype in ["f32", "f64"] {
            let mut s = Session::new();
            s.set("base", Array::from_vec(vals.clone(), &shape).unwrap());
            s.run(&format!(
                "let x = {dtype}(base)\nlet a = max(x, axis={axis})\nlet b = min(x * 0.5, axis={axis})"
            ))
            .unwrap();
            let x: Vec<f64> = s
                .get("x")
                .unwrap()
                .to_array()
                .unwrap()
                .to_scalars()
                .unwrap()
                .iter()
                .map(|v| v.to_f64())
                .collect();
            for (name, op, scale) in [("a", "max", 1.0), ("b", "min", 0.5)] {
                let r = s.get(name).unwrap().to_array().unwrap();
                let got: Vec<f64> = r.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
                let scaled: Vec<f64> = x.iter().map(|v| v * scale).collect();
                let want: Vec<f64> = lanes(&shape, axis, &scaled)
                    .iter()
                    .map(|l| reduce(op, l))
                    .collect();
                assert_eq!(got.len(), want.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g == w || g.is_nan() && w.is_nan(),
                        "{dtype} {op} along axis {axis} of {shape:?}: element {i}: got {g}, want {w}"
                    );
                }
            }
        }
    }
}
