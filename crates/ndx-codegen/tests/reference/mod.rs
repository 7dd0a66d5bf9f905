//! An unscheduled reference walk for the differential proptest: it visits every point of the
//! iteration space in source order (no permutation or merging of axes) and evaluates the
//! node graph with `ndx_ir::eval`, the definition of every operation's meaning. Comparing it
//! with the JIT checks the scheduler and the code generator together.
#![allow(dead_code)]

use ndx_codegen::RawArray;
use ndx_ir::eval::{binary, eval_point, identity};
use ndx_ir::kernel::{BinaryOp as B, Kernel, ReduceOp as R};
use ndx_runtime::{DType, Scalar};

pub unsafe fn read(a: &RawArray, off: isize) -> Scalar {
    let p = (a.ptr as isize + off) as *const u8;
    unsafe {
        match a.dtype {
            DType::Bool => Scalar::Bool(*p != 0),
            DType::I32 => Scalar::I32((p as *const i32).read_unaligned()),
            DType::I64 => Scalar::I64((p as *const i64).read_unaligned()),
            DType::F32 => Scalar::F32((p as *const f32).read_unaligned()),
            DType::F64 => Scalar::F64((p as *const f64).read_unaligned()),
        }
    }
}

/// Evaluates the kernel point by point; returns per output the values in the order its
/// kept points are visited (C order over kept axes).
pub fn evaluate(
    k: &Kernel,
    shape: &[usize],
    reduced: &[bool],
    arrays: &[RawArray],
) -> Vec<Vec<Scalar>> {
    let ni = k.inputs.len();
    let total: usize = shape.iter().product();
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !reduced[*a]).collect();
    let nkept: usize = kept.iter().map(|a| shape[*a]).product();
    let red: Vec<usize> = (0..shape.len()).filter(|a| reduced[*a]).collect();
    let mut results: Vec<Vec<Scalar>> = vec![Vec::new(); k.outputs.len()];
    let _ = total;
    for ko in 0..nkept {
        // Index of kept axes from ko (C order).
        let mut idx = vec![0usize; shape.len()];
        let mut r = ko;
        for a in kept.iter().rev() {
            idx[*a] = r % shape[*a];
            r /= shape[*a];
        }
        let nred: usize = red.iter().map(|a| shape[*a]).product();
        let mut accs: Vec<(Scalar, i64)> = k
            .outputs
            .iter()
            .map(|o| (identity(o.reduce.unwrap_or(R::Sum), k.dtype(o.value)), 0))
            .collect();
        let mut last: Vec<Scalar> = vec![Scalar::Bool(false); k.outputs.len()];
        for kr in 0..nred {
            let mut r = kr;
            for a in red.iter().rev() {
                idx[*a] = r % shape[*a];
                r /= shape[*a];
            }
            let ins: Vec<Scalar> = (0..ni)
                .map(|j| {
                    let off: isize = idx
                        .iter()
                        .zip(&arrays[j].strides)
                        .map(|(i, s)| *i as isize * s)
                        .sum();
                    unsafe { read(&arrays[j], off) }
                })
                .collect();
            let vals = eval_point(k, &ins);
            for (o, out) in k.outputs.iter().enumerate() {
                let v = vals[out.value.index()];
                last[o] = v;
                if let Some(op) = out.reduce {
                    // An arg-reduction starts from its first element, not from an identity.
                    accs[o] = if kr == 0 && matches!(op, R::ArgMin | R::ArgMax) {
                        (v, 0)
                    } else {
                        combine(op, accs[o], v, kr as i64)
                    };
                }
            }
        }
        for (o, out) in k.outputs.iter().enumerate() {
            results[o].push(match out.reduce {
                None => last[o],
                Some(R::ArgMin | R::ArgMax) => Scalar::I64(accs[o].1),
                Some(_) => accs[o].0,
            });
        }
    }
    results
}

fn combine(op: R, (acc, idx): (Scalar, i64), v: Scalar, i: i64) -> (Scalar, i64) {
    let bool_op = |b: B| binary(b, acc, v);
    match op {
        R::Sum => (
            bool_op(if acc.dtype() == DType::Bool {
                B::BitOr
            } else {
                B::Add
            }),
            idx,
        ),
        R::Prod => (
            bool_op(if acc.dtype() == DType::Bool {
                B::BitAnd
            } else {
                B::Mul
            }),
            idx,
        ),
        R::Min => (bool_op(B::Min), idx),
        R::Max => (bool_op(B::Max), idx),
        R::Any => (bool_op(B::BitOr), idx),
        R::All => (bool_op(B::BitAnd), idx),
        R::ArgMin | R::ArgMax => {
            let better = binary(if op == R::ArgMax { B::Gt } else { B::Lt }, v, acc);
            let vn = matches!(v, Scalar::F32(x) if x.is_nan())
                || matches!(v, Scalar::F64(x) if x.is_nan());
            let an = matches!(acc, Scalar::F32(x) if x.is_nan())
                || matches!(acc, Scalar::F64(x) if x.is_nan());
            if matches!(better, Scalar::Bool(true)) || (vn && !an) {
                (v, i)
            } else {
                (acc, idx)
            }
        }
    }
}
