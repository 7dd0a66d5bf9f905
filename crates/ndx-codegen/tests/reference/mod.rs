//! A scalar reference evaluator for kernels, used by the differential proptest until
//! `ndx_ir::eval::evaluate` is available. It walks every point of the iteration space in C
//! order and evaluates the node graph on `Scalar`s with the semantics of `ndx_ir::kernel`.
#![allow(dead_code)]

use ndx_codegen::RawArray;
use ndx_ir::kernel::{BinaryOp as B, Kernel, Op, ReduceOp as R, UnaryOp as U};
use ndx_runtime::{DType, Scalar};

pub fn cast(s: Scalar, to: DType) -> Scalar {
    let f = s.to_f64();
    let i: i64 = match s {
        Scalar::Bool(b) => i64::from(b),
        Scalar::I32(v) => i64::from(v),
        Scalar::I64(v) => v,
        Scalar::F32(v) => v as i64,
        Scalar::F64(v) => v as i64,
    };
    let fl = matches!(s, Scalar::F32(_) | Scalar::F64(_));
    match to {
        DType::Bool => Scalar::Bool(if fl { f != 0.0 } else { i != 0 }),
        DType::I32 => Scalar::I32(match s {
            Scalar::F32(v) => v as i32,
            Scalar::F64(v) => v as i32,
            _ => i as i32,
        }),
        DType::I64 => Scalar::I64(i),
        DType::F32 => Scalar::F32(match s {
            Scalar::F32(v) => v,
            Scalar::F64(v) => v as f32,
            _ => i as f32,
        }),
        DType::F64 => Scalar::F64(if fl { f } else { i as f64 }),
    }
}

fn fmin(a: f64, b: f64, max: bool) -> f64 {
    if a.is_nan() {
        a
    } else if b.is_nan() {
        b
    } else if (max && a >= b) || (!max && a <= b) {
        a
    } else {
        b
    }
}

fn unary(op: U, x: Scalar) -> Scalar {
    let d = x.dtype();
    if d.is_float() {
        let v = x.to_f64();
        let f32_ = d == DType::F32;
        let r = match op {
            U::IsNan => return Scalar::Bool(v.is_nan()),
            U::IsInf => return Scalar::Bool(v.is_infinite()),
            U::IsFinite => return Scalar::Bool(v.is_finite()),
            U::Neg => -v,
            U::Abs => v.abs(),
            U::Sqrt => v.sqrt(),
            U::Floor => v.floor(),
            U::Ceil => v.ceil(),
            U::Trunc => v.trunc(),
            U::Round => v.round_ties_even(),
            U::Sign => {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else if v.is_nan() {
                    v
                } else {
                    0.0
                }
            }
            U::Exp if f32_ => f64::from((v as f32).exp()),
            U::Exp => v.exp(),
            U::Tanh if f32_ => f64::from((v as f32).tanh()),
            U::Tanh => v.tanh(),
            U::Log if f32_ => f64::from((v as f32).ln()),
            U::Log => v.ln(),
            _ => panic!("reference evaluator does not cover {op:?}"),
        };
        return if f32_ {
            Scalar::F32(r as f32)
        } else {
            Scalar::F64(r)
        };
    }
    let i = match x {
        Scalar::Bool(b) => i64::from(b),
        Scalar::I32(v) => i64::from(v),
        Scalar::I64(v) => v,
        _ => 0,
    };
    let r = match op {
        U::IsNan | U::IsInf => return Scalar::Bool(false),
        U::IsFinite => return Scalar::Bool(true),
        U::Not if d == DType::Bool => 1 - i,
        U::Not => !i,
        U::Neg if d == DType::Bool => i,
        U::Neg => i.wrapping_neg(),
        U::Abs if d == DType::I32 => i64::from((i as i32).wrapping_abs()),
        U::Abs => i.wrapping_abs(),
        U::Sign => i.signum(),
        U::Floor | U::Ceil | U::Trunc | U::Round => i,
        _ => panic!("reference evaluator does not cover {op:?} on {d}"),
    };
    wrap(r, d)
}

fn wrap(v: i64, d: DType) -> Scalar {
    match d {
        DType::Bool => Scalar::Bool(v & 1 != 0),
        DType::I32 => Scalar::I32(v as i32),
        _ => Scalar::I64(v),
    }
}

fn binary(op: B, x: Scalar, y: Scalar) -> Scalar {
    let d = x.dtype();
    if d.is_float() {
        let (a, b) = (x.to_f64(), y.to_f64());
        let f32_ = d == DType::F32;
        let cmp = |r: bool| Scalar::Bool(r);
        let r = match op {
            B::Eq => return cmp(a == b),
            B::Ne => return cmp(a != b),
            B::Lt => return cmp(a < b),
            B::Le => return cmp(a <= b),
            B::Gt => return cmp(a > b),
            B::Ge => return cmp(a >= b),
            B::Min => fmin(a, b, false),
            B::Max => fmin(a, b, true),
            _ if f32_ => {
                let (a, b) = (a as f32, b as f32);
                f64::from(match op {
                    B::Add => a + b,
                    B::Sub => a - b,
                    B::Mul => a * b,
                    B::Div => a / b,
                    _ => panic!("reference evaluator does not cover {op:?}"),
                })
            }
            B::Add => a + b,
            B::Sub => a - b,
            B::Mul => a * b,
            B::Div => a / b,
            _ => panic!("reference evaluator does not cover {op:?}"),
        };
        return if f32_ {
            Scalar::F32(r as f32)
        } else {
            Scalar::F64(r)
        };
    }
    let g = |s: Scalar| match s {
        Scalar::Bool(b) => i64::from(b),
        Scalar::I32(v) => i64::from(v),
        Scalar::I64(v) => v,
        _ => 0,
    };
    let (a, b) = (g(x), g(y));
    let (min, boolean) = (
        if d == DType::I32 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        },
        d == DType::Bool,
    );
    let r = match op {
        B::Eq => return Scalar::Bool(a == b),
        B::Ne => return Scalar::Bool(a != b),
        B::Lt => return Scalar::Bool(a < b),
        B::Le => return Scalar::Bool(a <= b),
        B::Gt => return Scalar::Bool(a > b),
        B::Ge => return Scalar::Bool(a >= b),
        B::Add if boolean => a | b,
        B::Mul if boolean => a & b,
        B::Sub if boolean => a ^ b,
        B::Add => a.wrapping_add(b),
        B::Sub => a.wrapping_sub(b),
        B::Mul => a.wrapping_mul(b),
        B::FloorDiv | B::Mod => {
            if b == 0 {
                0
            } else if b == -1 {
                if op == B::Mod {
                    0
                } else if a == min {
                    min
                } else {
                    -a
                }
            } else if op == B::FloorDiv {
                let r = a % b;
                a / b - i64::from(r != 0 && ((r < 0) != (b < 0)))
            } else {
                let r = a % b;
                if r != 0 && ((r < 0) != (b < 0)) {
                    r + b
                } else {
                    r
                }
            }
        }
        B::Min => a.min(b),
        B::Max => a.max(b),
        B::BitAnd => a & b,
        B::BitOr => a | b,
        B::BitXor => a ^ b,
        _ => panic!("reference evaluator does not cover {op:?}"),
    };
    wrap(r, d)
}

pub fn eval_point(k: &Kernel, inputs: &[Scalar]) -> Vec<Scalar> {
    let mut v: Vec<Scalar> = Vec::with_capacity(k.nodes.len());
    for n in &k.nodes {
        let r = match &n.op {
            Op::Input(j) => inputs[*j as usize],
            Op::Const(s) => *s,
            Op::Unary(op, a) => unary(*op, v[a.index()]),
            Op::Binary(op, a, b) => binary(*op, v[a.index()], v[b.index()]),
            Op::Select(c, a, b) => {
                if matches!(v[c.index()], Scalar::Bool(true)) {
                    v[a.index()]
                } else {
                    v[b.index()]
                }
            }
            Op::Cast(a) => cast(v[a.index()], n.dtype),
        };
        v.push(r);
    }
    v
}

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
                    accs[o] = combine(op, accs[o], v, kr as i64);
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

fn identity(op: R, d: DType) -> Scalar {
    let low = match op {
        R::Sum | R::Any => return cast(Scalar::I64(0), d),
        R::Prod | R::All => return cast(Scalar::I64(1), d),
        R::Max | R::ArgMax => true,
        _ => false,
    };
    match d {
        DType::Bool => Scalar::Bool(!low),
        DType::I32 => Scalar::I32(if low { i32::MIN } else { i32::MAX }),
        DType::I64 => Scalar::I64(if low { i64::MIN } else { i64::MAX }),
        DType::F32 => Scalar::F32(if low {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        }),
        DType::F64 => Scalar::F64(if low {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
    }
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
