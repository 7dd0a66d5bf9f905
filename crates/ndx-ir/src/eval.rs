//! The reference evaluator: what every kernel operation means, written for clarity.
//!
//! Codegen must match these semantics bit for bit on integers and bools, and on floats for
//! everything but reduction order. The helpers that are easier to state in Rust than in IR
//! ([`float_divmod`], [`ipow`], [`erf_f32`], [`erf_f64`]) are called by the generated code
//! too, so the two agree by construction.
//!
//! Semantics (NumPy's unless noted): integer arithmetic wraps; `//` and `%` follow Python's
//! signs; integer `//` or `%` by zero gives 0, `MIN // -1` wraps to `MIN`; float `//`/`%` are
//! `npy_divmod`; integer power with a negative exponent gives 0 unless the base is ±1 (NumPy
//! raises; ndx never fails mid-kernel); `minimum`/`maximum` propagate NaN; `round` is half to
//! even; `sign(±0.0)` is `+0.0`; bool `+`/`max` are or, `*`/`min` are and, `-` is xor; casts
//! follow [`Scalar::cast`] (float to int saturates, NaN gives 0).

use crate::kernel::{BinaryOp, Kernel, Op, ReduceOp, UnaryOp};
use crate::loops::{Launch, Nest};
use ndx_runtime::{Array, DType, Scalar};

/// `erf` in f32 (musl's `erff`).
pub fn erf_f32(x: f32) -> f32 {
    libm::erff(x)
}

/// `erf` in f64 (musl's `erf`).
pub fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

macro_rules! divmod {
    ($name:ident, $t:ty) => {
        /// NumPy's float `divmod` (`npy_divmod`): the floor quotient and the modulo with the
        /// divisor's sign.
        pub fn $name(a: $t, b: $t) -> ($t, $t) {
            let m = a % b;
            if b == 0.0 {
                return (a / b, m);
            }
            let mut div = (a - m) / b;
            let mut m = m;
            if m != 0.0 {
                if (b < 0.0) != (m < 0.0) {
                    m += b;
                    div -= 1.0;
                }
            } else {
                m = (0.0 as $t).copysign(b);
            }
            let q = if div != 0.0 {
                let f = div.floor();
                if div - f > 0.5 {
                    f + 1.0
                } else {
                    f
                }
            } else {
                (0.0 as $t).copysign(a / b)
            };
            (q, m)
        }
    };
}
divmod!(float_divmod, f64);
divmod!(float_divmod32, f32);

/// Integer power with wrapping multiplication; a negative exponent gives 0 unless the base is
/// 1 or -1. (For i32, compute in i64 and truncate: products modulo 2^64 truncate to the
/// products modulo 2^32.)
pub fn ipow(base: i64, exp: i64) -> i64 {
    if exp < 0 {
        return match base {
            1 => 1,
            -1 if exp & 1 == 0 => 1,
            -1 => -1,
            _ => 0,
        };
    }
    let (mut r, mut b, mut e) = (1i64, base, exp);
    while e > 0 {
        if e & 1 == 1 {
            r = r.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    r
}

fn int_of(s: Scalar) -> i64 {
    match s {
        Scalar::Bool(b) => i64::from(b),
        Scalar::I32(v) => i64::from(v),
        Scalar::I64(v) => v,
        Scalar::F32(v) => v as i64,
        Scalar::F64(v) => v as i64,
    }
}

fn wrap(v: i64, d: DType) -> Scalar {
    match d {
        DType::Bool => Scalar::Bool(v & 1 != 0),
        DType::I32 => Scalar::I32(v as i32),
        _ => Scalar::I64(v),
    }
}

fn float(v: f64, d: DType) -> Scalar {
    if d == DType::F32 {
        Scalar::F32(v as f32)
    } else {
        Scalar::F64(v)
    }
}

/// Applies a unary operation (the result dtype is `op.result_dtype(x.dtype())`).
pub fn unary(op: UnaryOp, x: Scalar) -> Scalar {
    use UnaryOp as U;
    let d = x.dtype();
    match x {
        Scalar::F32(v) => unary_f32(op, v),
        Scalar::F64(v) => unary_f64(op, v),
        _ => {
            let i = int_of(x);
            let r = match op {
                U::IsNan | U::IsInf => return Scalar::Bool(false),
                U::IsFinite => return Scalar::Bool(true),
                U::Not if d == DType::Bool => 1 - i,
                U::Not => !i,
                _ if d == DType::Bool => i,
                U::Neg => i.wrapping_neg(),
                U::Abs if d == DType::I32 => i64::from((i as i32).wrapping_abs()),
                U::Abs => i.wrapping_abs(),
                U::Sign => i.signum(),
                U::Floor | U::Ceil | U::Trunc | U::Round => i,
                // Float functions of ints: the builder casts to float first; evaluate in f64
                // and truncate so the evaluator is total.
                other => return unary_f64(other, i as f64).cast(d),
            };
            wrap(r, d)
        }
    }
}

macro_rules! unary_float {
    ($name:ident, $t:ty, $erf:path, $wrap:expr) => {
        fn $name(op: UnaryOp, v: $t) -> Scalar {
            use UnaryOp as U;
            let r: $t = match op {
                U::IsNan => return Scalar::Bool(v.is_nan()),
                U::IsInf => return Scalar::Bool(v.is_infinite()),
                U::IsFinite => return Scalar::Bool(v.is_finite()),
                U::Not => return Scalar::Bool(v == 0.0),
                U::Neg => -v,
                U::Abs => v.abs(),
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
                U::Sqrt => v.sqrt(),
                U::Cbrt => v.cbrt(),
                U::Exp => v.exp(),
                U::Exp2 => v.exp2(),
                U::Expm1 => v.exp_m1(),
                U::Log => v.ln(),
                U::Log2 => v.log2(),
                U::Log10 => v.log10(),
                U::Log1p => v.ln_1p(),
                U::Sin => v.sin(),
                U::Cos => v.cos(),
                U::Tan => v.tan(),
                U::Arcsin => v.asin(),
                U::Arccos => v.acos(),
                U::Arctan => v.atan(),
                U::Sinh => v.sinh(),
                U::Cosh => v.cosh(),
                U::Tanh => v.tanh(),
                U::Erf => $erf(v),
                U::Floor => v.floor(),
                U::Ceil => v.ceil(),
                U::Round => v.round_ties_even(),
                U::Trunc => v.trunc(),
            };
            $wrap(r)
        }
    };
}
unary_float!(unary_f32, f32, erf_f32, Scalar::F32);
unary_float!(unary_f64, f64, erf_f64, Scalar::F64);

/// NaN-propagating minimum/maximum (`a <= b ? a : b` otherwise, as codegen emits).
fn fminmax(a: f64, b: f64, max: bool) -> f64 {
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

/// Applies a binary operation to operands of one dtype.
pub fn binary(op: BinaryOp, x: Scalar, y: Scalar) -> Scalar {
    use BinaryOp as B;
    let d = x.dtype();
    let y = y.cast(d);
    if d.is_float() {
        let (a, b) = (x.to_f64(), y.to_f64());
        let cmp = |r: bool| Scalar::Bool(r);
        return match op {
            B::Eq => cmp(a == b),
            B::Ne => cmp(a != b),
            B::Lt => cmp(a < b),
            B::Le => cmp(a <= b),
            B::Gt => cmp(a > b),
            B::Ge => cmp(a >= b),
            B::Min => float(fminmax(a, b, false), d),
            B::Max => float(fminmax(a, b, true), d),
            B::BitAnd | B::BitOr | B::BitXor => float(f64::NAN, d),
            _ => match (x, y) {
                (Scalar::F32(a), Scalar::F32(b)) => Scalar::F32(match op {
                    B::Add => a + b,
                    B::Sub => a - b,
                    B::Mul => a * b,
                    B::Div => a / b,
                    B::FloorDiv => float_divmod32(a, b).0,
                    B::Mod => float_divmod32(a, b).1,
                    B::Pow => a.powf(b),
                    _ => a.atan2(b),
                }),
                _ => Scalar::F64(match op {
                    B::Add => a + b,
                    B::Sub => a - b,
                    B::Mul => a * b,
                    B::Div => a / b,
                    B::FloorDiv => float_divmod(a, b).0,
                    B::Mod => float_divmod(a, b).1,
                    B::Pow => a.powf(b),
                    _ => a.atan2(b),
                }),
            },
        };
    }
    let (a, b) = (int_of(x), int_of(y));
    let boolean = d == DType::Bool;
    let min = if d == DType::I32 {
        i64::from(i32::MIN)
    } else {
        i64::MIN
    };
    let r = match op {
        B::Eq => return Scalar::Bool(a == b),
        B::Ne => return Scalar::Bool(a != b),
        B::Lt => return Scalar::Bool(a < b),
        B::Le => return Scalar::Bool(a <= b),
        B::Gt => return Scalar::Bool(a > b),
        B::Ge => return Scalar::Bool(a >= b),
        B::Add | B::Max | B::BitOr if boolean => a | b,
        B::Mul | B::Min | B::BitAnd if boolean => a & b,
        B::Sub | B::BitXor if boolean => a ^ b,
        B::Add => a.wrapping_add(b),
        B::Sub => a.wrapping_sub(b),
        B::Mul => a.wrapping_mul(b),
        B::FloorDiv | B::Mod => {
            if b == 0 {
                0
            } else if b == -1 {
                match (op, a == min) {
                    (B::Mod, _) => 0,
                    (_, true) => min,
                    _ => -a,
                }
            } else {
                let r = a % b;
                let adjust = r != 0 && ((r < 0) != (b < 0));
                if op == B::FloorDiv {
                    a / b - i64::from(adjust)
                } else if adjust {
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
        B::Pow => ipow(a, b),
        // Float-only ops on ints: the builder casts first; stay total.
        B::Div | B::Arctan2 => return binary(op, x.cast(DType::F64), y.cast(DType::F64)).cast(d),
    };
    wrap(r, d)
}

/// Evaluates all nodes at one point, given the input values there.
pub fn eval_point(k: &Kernel, inputs: &[Scalar]) -> Vec<Scalar> {
    let mut v: Vec<Scalar> = Vec::with_capacity(k.nodes.len());
    for n in &k.nodes {
        let get = |h: crate::Handle| v.get(h.index()).copied().unwrap_or(Scalar::Bool(false));
        let r = match &n.op {
            Op::Input(j) => inputs
                .get(*j as usize)
                .copied()
                .unwrap_or(Scalar::Bool(false)),
            Op::Const(s) => *s,
            Op::Unary(op, a) => unary(*op, get(*a)),
            Op::Binary(op, a, b) => binary(*op, get(*a), get(*b)),
            Op::Select(c, a, b) => {
                if get(*c).to_bool() {
                    get(*a)
                } else {
                    get(*b)
                }
            }
            Op::Cast(a) => get(*a).cast(n.dtype),
        };
        v.push(r);
    }
    v
}

/// The identity a reduction stores over an empty extent.
pub fn identity(op: ReduceOp, d: DType) -> Scalar {
    let s = match op {
        ReduceOp::Sum | ReduceOp::Any => Scalar::I64(0),
        ReduceOp::Prod | ReduceOp::All => Scalar::I64(1),
        ReduceOp::Min => Scalar::F64(f64::INFINITY),
        ReduceOp::Max => Scalar::F64(f64::NEG_INFINITY),
        ReduceOp::ArgMin | ReduceOp::ArgMax => return Scalar::I64(0),
    };
    match (op, d) {
        (ReduceOp::Min, DType::I32) => Scalar::I32(i32::MAX),
        (ReduceOp::Min, DType::I64) => Scalar::I64(i64::MAX),
        (ReduceOp::Max, DType::I32) => Scalar::I32(i32::MIN),
        (ReduceOp::Max, DType::I64) => Scalar::I64(i64::MIN),
        (ReduceOp::Min, DType::Bool) => Scalar::Bool(true),
        (ReduceOp::Max, DType::Bool) => Scalar::Bool(false),
        _ => s.cast(d),
    }
}

/// Combines an accumulator with a value; argmin/argmax track (value, index) separately.
fn combine(op: ReduceOp, acc: Scalar, x: Scalar) -> Scalar {
    match op {
        ReduceOp::Sum | ReduceOp::Any => binary(BinaryOp::Add, acc, x),
        ReduceOp::Prod | ReduceOp::All => binary(BinaryOp::Mul, acc, x),
        ReduceOp::Min => binary(BinaryOp::Min, acc, x),
        ReduceOp::Max => binary(BinaryOp::Max, acc, x),
        ReduceOp::ArgMin | ReduceOp::ArgMax => acc,
    }
}

/// True when `x` replaces the current best `best` of an arg-reduction (first NaN wins).
fn better(op: ReduceOp, best: Scalar, x: Scalar) -> bool {
    let (b, v) = (best.to_f64(), x.to_f64());
    if b.is_nan() {
        return false;
    }
    if v.is_nan() {
        return true;
    }
    match (best, x) {
        (Scalar::I64(b), Scalar::I64(v)) => {
            if op == ReduceOp::ArgMin {
                v < b
            } else {
                v > b
            }
        }
        _ => {
            if op == ReduceOp::ArgMin {
                v < b
            } else {
                v > b
            }
        }
    }
}

/// Evaluates a scheduled nest with the calling convention of compiled code.
///
/// # Safety
/// The launch's pointers and strides must address valid elements of the nest's dtypes for
/// every point of the iteration space, as for the compiled function.
pub unsafe fn evaluate(nest: &Nest, launch: &Launch) -> i32 {
    let k = &nest.kernel;
    let rank = nest.rank;
    let ni = k.inputs.len();
    if launch.ptrs.len() != ni + k.outputs.len() || launch.shape.len() != rank {
        return -1;
    }
    let out_dtypes: Vec<DType> = k.outputs.iter().map(|o| o.dtype(k)).collect();
    let outer: Vec<usize> = launch.shape[..nest.reduce_from].to_vec();
    let inner: Vec<usize> = launch.shape[nest.reduce_from..].to_vec();
    let addr = |a: usize, idx: &[usize]| -> usize {
        let mut p = launch.ptrs[a] as isize;
        for (i, &x) in idx.iter().enumerate() {
            p += launch.strides[a][i] * x as isize;
        }
        p as usize
    };
    Array::for_each_index(&outer, |o: &[usize]| {
        let mut acc: Vec<Scalar> = k
            .outputs
            .iter()
            .zip(&out_dtypes)
            .map(|(out, d)| identity(out.reduce.unwrap_or(ReduceOp::Sum), *d))
            .collect();
        let mut best: Vec<Option<Scalar>> = vec![None; k.outputs.len()];
        let mut flat = 0i64;
        Array::for_each_index(&inner, |r: &[usize]| {
            let full: Vec<usize> = o.iter().chain(r).copied().collect();
            let ins: Vec<Scalar> = (0..ni)
                .map(|a| {
                    // SAFETY: the caller guarantees every addressed element is valid.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(addr(a, &full) as *const u8, k.inputs[a].size())
                    };
                    Scalar::read_le(k.inputs[a], bytes)
                })
                .collect();
            let vals = eval_point(k, &ins);
            for (j, out) in k.outputs.iter().enumerate() {
                let x = vals[out.value.index()];
                match out.reduce {
                    None => acc[j] = x,
                    Some(op @ (ReduceOp::ArgMin | ReduceOp::ArgMax)) => {
                        if best[j].is_none_or(|b| better(op, b, x)) {
                            best[j] = Some(x);
                            acc[j] = Scalar::I64(flat);
                        }
                    }
                    Some(op) => acc[j] = combine(op, acc[j], x),
                }
            }
            flat += 1;
        });
        for (j, d) in out_dtypes.iter().enumerate() {
            let p = addr(ni + j, o);
            // SAFETY: as above, for the output element of this outer point.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p as *mut u8, d.size()) };
            acc[j].cast(*d).write_le(bytes);
        }
    });
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use BinaryOp as B;

    #[test]
    fn integer_division_follows_python_and_never_fails() {
        assert_eq!(
            binary(B::FloorDiv, Scalar::I64(-7), Scalar::I64(2)),
            Scalar::I64(-4)
        );
        assert_eq!(
            binary(B::Mod, Scalar::I64(-7), Scalar::I64(2)),
            Scalar::I64(1)
        );
        assert_eq!(
            binary(B::Mod, Scalar::I64(7), Scalar::I64(-2)),
            Scalar::I64(-1)
        );
        assert_eq!(
            binary(B::FloorDiv, Scalar::I64(5), Scalar::I64(0)),
            Scalar::I64(0)
        );
        assert_eq!(
            binary(B::Mod, Scalar::I32(5), Scalar::I32(0)),
            Scalar::I32(0)
        );
        assert_eq!(
            binary(B::FloorDiv, Scalar::I64(i64::MIN), Scalar::I64(-1)),
            Scalar::I64(i64::MIN)
        );
        assert_eq!(
            binary(B::FloorDiv, Scalar::I32(i32::MIN), Scalar::I32(-1)),
            Scalar::I32(i32::MIN)
        );
        assert_eq!(
            binary(B::Add, Scalar::I32(i32::MAX), Scalar::I32(1)),
            Scalar::I32(i32::MIN)
        );
    }

    #[test]
    fn float_semantics() {
        assert_eq!(
            binary(B::FloorDiv, Scalar::F64(-7.0), Scalar::F64(2.0)),
            Scalar::F64(-4.0)
        );
        assert_eq!(
            binary(B::Mod, Scalar::F64(-7.0), Scalar::F64(2.0)),
            Scalar::F64(1.0)
        );
        assert!(binary(B::Mod, Scalar::F64(1.0), Scalar::F64(0.0))
            .to_f64()
            .is_nan());
        assert!(binary(B::Min, Scalar::F32(f32::NAN), Scalar::F32(1.0))
            .to_f64()
            .is_nan());
        assert!(binary(B::Max, Scalar::F64(1.0), Scalar::F64(f64::NAN))
            .to_f64()
            .is_nan());
        assert_eq!(unary(UnaryOp::Round, Scalar::F64(2.5)), Scalar::F64(2.0));
        assert_eq!(unary(UnaryOp::Round, Scalar::F64(-0.5)), Scalar::F64(-0.0));
        assert_eq!(
            binary(B::Lt, Scalar::F64(f64::NAN), Scalar::F64(1.0)),
            Scalar::Bool(false)
        );
        assert_eq!(
            binary(B::Ne, Scalar::F64(f64::NAN), Scalar::F64(f64::NAN)),
            Scalar::Bool(true)
        );
        assert!((erf_f64(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
    }

    #[test]
    fn integer_power_and_bools() {
        assert_eq!(
            binary(B::Pow, Scalar::I64(3), Scalar::I64(4)),
            Scalar::I64(81)
        );
        assert_eq!(
            binary(B::Pow, Scalar::I64(2), Scalar::I64(-1)),
            Scalar::I64(0)
        );
        assert_eq!(
            binary(B::Pow, Scalar::I64(-1), Scalar::I64(-3)),
            Scalar::I64(-1)
        );
        assert_eq!(
            binary(B::Add, Scalar::Bool(true), Scalar::Bool(true)),
            Scalar::Bool(true)
        );
        assert_eq!(unary(UnaryOp::Not, Scalar::Bool(true)), Scalar::Bool(false));
        assert_eq!(unary(UnaryOp::Not, Scalar::I32(0)), Scalar::I32(-1));
        assert_eq!(
            unary(UnaryOp::Abs, Scalar::I64(i64::MIN)),
            Scalar::I64(i64::MIN)
        );
        assert_eq!(unary(UnaryOp::Sign, Scalar::I32(-5)), Scalar::I32(-1));
    }

    fn launch_of(shape: &[usize], arrays: &[(usize, Vec<isize>)]) -> Launch {
        Launch {
            shape: shape.to_vec(),
            ptrs: arrays.iter().map(|a| a.0).collect(),
            strides: arrays.iter().map(|a| a.1.clone()).collect(),
        }
    }

    #[test]
    fn evaluate_runs_nests_with_broadcasts_and_reductions() {
        use crate::kernel::{Op, Output};
        use crate::loops::{Inner, Nest};
        // out[i, j] = a[i, j] + b[j] over (2, 3) i32.
        let mut k = Kernel::new();
        k.inputs = vec![DType::I32, DType::I32];
        let a = k.push(Op::Input(0), DType::I32);
        let b = k.push(Op::Input(1), DType::I32);
        let s = k.push(Op::Binary(B::Add, a, b), DType::I32);
        k.outputs.push(Output {
            value: s,
            reduce: None,
        });
        let av = [1i32, 2, 3, 4, 5, 6];
        let bv = [10i32, 20, 30];
        let mut out = [0i32; 6];
        let nest = Nest {
            kernel: k,
            rank: 2,
            reduce_from: 2,
            inner: vec![Inner::Contiguous; 3],
        };
        let l = launch_of(
            &[2, 3],
            &[
                (av.as_ptr() as usize, vec![12, 4]),
                (bv.as_ptr() as usize, vec![0, 4]),
                (out.as_mut_ptr() as usize, vec![12, 4]),
            ],
        );
        // SAFETY: every address the launch describes lies in the arrays above.
        assert_eq!(unsafe { evaluate(&nest, &l) }, 0);
        assert_eq!(out, [11, 22, 33, 14, 25, 36]);

        // argmax over the inner axis of [[1, nan, 3], [2, 5, 4]]: the first NaN wins.
        let mut k = Kernel::new();
        k.inputs = vec![DType::F64];
        let x = k.push(Op::Input(0), DType::F64);
        k.outputs.push(Output {
            value: x,
            reduce: Some(ReduceOp::ArgMax),
        });
        k.outputs.push(Output {
            value: x,
            reduce: Some(ReduceOp::Sum),
        });
        let xv = [1.0f64, f64::NAN, 3.0, 2.0, 5.0, 4.0];
        let mut am = [0i64; 2];
        let mut sm = [0f64; 2];
        let nest = Nest {
            kernel: k,
            rank: 2,
            reduce_from: 1,
            inner: vec![Inner::Contiguous, Inner::Broadcast, Inner::Broadcast],
        };
        let l = launch_of(
            &[2, 3],
            &[
                (xv.as_ptr() as usize, vec![24, 8]),
                (am.as_mut_ptr() as usize, vec![8, 0]),
                (sm.as_mut_ptr() as usize, vec![8, 0]),
            ],
        );
        // SAFETY: as above.
        assert_eq!(unsafe { evaluate(&nest, &l) }, 0);
        assert_eq!(am, [1, 1]);
        assert!(sm[0].is_nan());
        assert_eq!(sm[1], 11.0);
    }
}
