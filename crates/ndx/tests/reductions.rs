//! Reductions through the whole pipeline against a direct computation in the test, over
//! generated shapes (including long axes that take the blocked-sum path), views and axes.

mod common;
use common::lanes;

use ndx::{Array, Scalar, Session};
use proptest::prelude::*;

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<i64>, bool, usize, &'static str, bool)> {
    (
        prop::collection::vec(1usize..6, 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(mut shape, long, reversed)| {
            if long {
                // A long last axis exercises blocked float summation.
                let last = shape.len() - 1;
                shape[last] = 3000;
            }
            let n: usize = shape.iter().product();
            let nd = shape.len();
            (
                Just(shape),
                prop::collection::vec(-50i64..50, n),
                Just(reversed),
                0..nd,
                prop::sample::select(vec![
                    "sum", "min", "max", "argmax", "argmin", "mean", "prod",
                ]),
                any::<bool>(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, .. ProptestConfig::default() })]

    #[test]
    fn reductions_match_a_direct_computation((shape, data, reversed, axis, op, keep) in case()) {
        let mut s = Session::new();
        let vals: Vec<Scalar> = data.iter().map(|&v| Scalar::F64(v as f64 * 0.25)).collect();
        s.set("base", Array::from_scalars(ndx::DType::F64, &vals, &shape).unwrap());
        // Reading through a reversed view must not change the answer beyond reversal.
        let src = if reversed { "base[..., ::-1]" } else { "base" };
        let prog = format!("let r = {op}({src}, axis={axis}, keepdims={keep})");
        s.run(&prog).map_err(|e| TestCaseError::fail(e.render()))?;
        let r = s.get("r").unwrap().to_array().unwrap();
        let mut expect_shape = shape.clone();
        if keep { expect_shape[axis] = 1 } else { expect_shape.remove(axis); }
        prop_assert_eq!(r.shape(), &expect_shape[..]);
        let mut d: Vec<f64> = vals.iter().map(|v| v.to_f64()).collect();
        if reversed {
            let last = *shape.last().unwrap();
            for row in d.chunks_mut(last) { row.reverse(); }
        }
        let got: Vec<f64> = r.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect();
        for (lane, g) in lanes(&shape, axis, &d).iter().zip(&got) {
            let want = match op {
                "sum" => lane.iter().sum::<f64>(),
                "mean" => lane.iter().sum::<f64>() / lane.len() as f64,
                "prod" => lane.iter().product::<f64>(),
                "min" => lane.iter().cloned().fold(f64::INFINITY, f64::min),
                "max" => lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "argmax" => {
                    let m = lane.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    lane.iter().position(|v| *v == m).unwrap() as f64
                }
                _ => {
                    let m = lane.iter().cloned().fold(f64::INFINITY, f64::min);
                    lane.iter().position(|v| *v == m).unwrap() as f64
                }
            };
            if op == "prod" && !want.is_finite() {
                // Overflowing products depend on multiplication order (inf * 0 is NaN).
                continue;
            }
            let tol = 1e-9 * want.abs().max(1.0);
            prop_assert!((g - want).abs() <= tol || (g.is_infinite() && g == &want), "{prog}: got {g}, want {want}");
        }
    }
}
