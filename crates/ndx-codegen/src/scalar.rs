//! Scalar lowering of single kernel operations to Cranelift instructions.
//!
//! Invariants: values of dtype `bool` are `i8` holding exactly 0 or 1 (Cranelift's `icmp` and
//! `fcmp` produce that form); ints are `i32`/`i64`, floats `f32`/`f64`. No instruction emitted
//! here can trap: integer division uses a divisor that was replaced by 1 wherever it is 0 or
//! -1 (those cases are then selected from precomputed results), and float-to-int conversion is
//! `fcvt_to_sint_sat` only. Operations whose exact semantics live in the reference evaluator
//! (float `//` and `%`, integer power) are calls to [`crate::host`] functions; math functions
//! come from [`crate::vmath`].

use crate::{vmath, CodegenError};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, FuncRef, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use ndx_runtime::{DType, Scalar};
use std::collections::HashMap;

/// The Cranelift type of a scalar of dtype `d`.
pub(crate) fn clif_type(d: DType) -> Type {
    match d {
        DType::Bool => types::I8,
        DType::I32 => types::I32,
        DType::I64 => types::I64,
        DType::F32 => types::F32,
        DType::F64 => types::F64,
    }
}

/// An integer constant of type `ty`, with the immediate in the zero-extended form the
/// verifier wants for narrow types.
pub(crate) fn iconst(b: &mut FunctionBuilder, ty: Type, v: i64) -> Value {
    let bits = match ty {
        types::I8 => v & 0xff,
        types::I32 => v & 0xffff_ffff,
        _ => v,
    };
    b.ins().iconst(ty, bits)
}

/// A constant of a kernel scalar.
pub(crate) fn constant(b: &mut FunctionBuilder, s: Scalar) -> Value {
    match s {
        Scalar::Bool(v) => iconst(b, types::I8, i64::from(v)),
        Scalar::I32(v) => iconst(b, types::I32, i64::from(v)),
        Scalar::I64(v) => iconst(b, types::I64, v),
        Scalar::F32(v) => b.ins().f32const(v),
        Scalar::F64(v) => b.ins().f64const(v),
    }
}

/// Imports host functions into the function being built, once each.
pub(crate) struct Host<'m> {
    pub module: &'m mut JITModule,
    pub ids: &'m HashMap<&'static str, FuncId>,
    pub refs: HashMap<&'static str, FuncRef>,
}

impl<'m> Host<'m> {
    /// Imports into functions of `module`, whose host functions were declared as `ids`.
    pub fn new(module: &'m mut JITModule, ids: &'m HashMap<&'static str, FuncId>) -> Self {
        Host {
            module,
            ids,
            refs: HashMap::new(),
        }
    }
}

impl Host<'_> {
    /// Calls host function `name` (see [`crate::host`]) on `args`.
    pub fn call(
        &mut self,
        b: &mut FunctionBuilder,
        name: &'static str,
        args: &[Value],
    ) -> Result<Value, CodegenError> {
        let fref = match self.refs.get(name) {
            Some(f) => *f,
            None => {
                let id = self.ids.get(name).ok_or_else(|| {
                    CodegenError::Internal(format!("host function {name} is not registered"))
                })?;
                let f = self.module.declare_func_in_func(*id, b.func);
                self.refs.insert(name, f);
                f
            }
        };
        let call = b.ins().call(fref, args);
        b.inst_results(call)
            .first()
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("host function {name} returns nothing")))
    }
}

fn unsupported(what: String) -> CodegenError {
    CodegenError::Unsupported(what)
}

/// Lowers a unary operation on `x` of dtype `d`.
pub(crate) fn unary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: UnaryOp,
    d: DType,
    x: Value,
) -> Result<Value, CodegenError> {
    if d.is_float() && vmath::has_unary(op) {
        return vmath::sunary(b, host, op, d, x);
    }
    let ty = clif_type(d);
    let v = match (op, d) {
        (UnaryOp::Neg, DType::Bool) => x,
        (UnaryOp::Neg, DType::F32 | DType::F64) => b.ins().fneg(x),
        (UnaryOp::Neg, _) => b.ins().ineg(x),
        (UnaryOp::Not, DType::Bool) => b.ins().bxor_imm_s(x, 1),
        (UnaryOp::Not, DType::I32 | DType::I64) => b.ins().bnot(x),
        (UnaryOp::Abs, DType::Bool) => x,
        (UnaryOp::Abs, DType::F32 | DType::F64) => b.ins().fabs(x),
        (UnaryOp::Abs, _) => b.ins().iabs(x),
        (UnaryOp::Sign, DType::Bool) => x,
        (UnaryOp::Sign, DType::F32 | DType::F64) => {
            let zero = float_const(b, d, 0.0);
            let one = float_const(b, d, 1.0);
            let minus = float_const(b, d, -1.0);
            let pos = b.ins().fcmp(FloatCC::GreaterThan, x, zero);
            let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
            let isnan = b.ins().fcmp(FloatCC::Unordered, x, x);
            let t = b.ins().select(neg, minus, zero);
            let t = b.ins().select(pos, one, t);
            b.ins().select(isnan, x, t)
        }
        (UnaryOp::Sign, _) => {
            let zero = iconst(b, ty, 0);
            let pos = b.ins().icmp(IntCC::SignedGreaterThan, x, zero);
            let neg = b.ins().icmp(IntCC::SignedLessThan, x, zero);
            let pos = b.ins().uextend(ty, pos);
            let neg = b.ins().uextend(ty, neg);
            b.ins().isub(pos, neg)
        }
        (UnaryOp::Sqrt, DType::F32 | DType::F64) => b.ins().sqrt(x),
        (UnaryOp::Floor, DType::F32 | DType::F64) => b.ins().floor(x),
        (UnaryOp::Ceil, DType::F32 | DType::F64) => b.ins().ceil(x),
        (UnaryOp::Trunc, DType::F32 | DType::F64) => b.ins().trunc(x),
        (UnaryOp::Round, DType::F32 | DType::F64) => b.ins().nearest(x),
        (UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Trunc | UnaryOp::Round, _) => x,
        (UnaryOp::IsNan, DType::F32 | DType::F64) => b.ins().fcmp(FloatCC::Unordered, x, x),
        (UnaryOp::IsInf, DType::F32 | DType::F64) => {
            let a = b.ins().fabs(x);
            let inf = float_const(b, d, f64::INFINITY);
            b.ins().fcmp(FloatCC::Equal, a, inf)
        }
        (UnaryOp::IsFinite, DType::F32 | DType::F64) => {
            let a = b.ins().fabs(x);
            let inf = float_const(b, d, f64::INFINITY);
            b.ins().fcmp(FloatCC::LessThan, a, inf)
        }
        (UnaryOp::IsNan | UnaryOp::IsInf, _) => iconst(b, types::I8, 0),
        (UnaryOp::IsFinite, _) => iconst(b, types::I8, 1),
        _ => return Err(unsupported(format!("{op:?} of {d}"))),
    };
    Ok(v)
}

/// A float constant of dtype `d` (f32 or f64).
pub(crate) fn float_const(b: &mut FunctionBuilder, d: DType, v: f64) -> Value {
    if d == DType::F32 {
        b.ins().f32const(v as f32)
    } else {
        b.ins().f64const(v)
    }
}

/// NaN-propagating float minimum/maximum: NumPy `minimum`/`maximum`.
pub(crate) fn float_minmax(b: &mut FunctionBuilder, max: bool, x: Value, y: Value) -> Value {
    // x < y ? x : y, with NaN in either operand giving that NaN (x's first).
    let cc = if max {
        FloatCC::GreaterThanOrEqual
    } else {
        FloatCC::LessThanOrEqual
    };
    let pick_x = b.ins().fcmp(cc, x, y);
    let x_nan = b.ins().fcmp(FloatCC::Unordered, x, x);
    let pick_x = b.ins().bor(pick_x, x_nan);
    b.ins().select(pick_x, x, y)
}

/// Lowers a binary operation on `x`, `y` of dtype `d`.
pub(crate) fn binary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: BinaryOp,
    d: DType,
    x: Value,
    y: Value,
) -> Result<Value, CodegenError> {
    use BinaryOp as B;
    let float = d.is_float();
    let f32 = d == DType::F32;
    let ty = clif_type(d);
    if op.is_comparison() {
        return Ok(compare(b, op, d, x, y));
    }
    let v = match op {
        B::Add | B::Sub | B::Mul if float => match op {
            B::Add => b.ins().fadd(x, y),
            B::Sub => b.ins().fsub(x, y),
            _ => b.ins().fmul(x, y),
        },
        B::Add | B::BitOr | B::Max if d == DType::Bool => b.ins().bor(x, y),
        B::Mul | B::BitAnd | B::Min if d == DType::Bool => b.ins().band(x, y),
        B::Sub | B::BitXor if d == DType::Bool => b.ins().bxor(x, y),
        B::Add => b.ins().iadd(x, y),
        B::Sub => b.ins().isub(x, y),
        B::Mul => b.ins().imul(x, y),
        B::Div if float => b.ins().fdiv(x, y),
        B::FloorDiv | B::Mod if float => {
            let name = match (op, f32) {
                (B::FloorDiv, true) => "ndx_floordiv_f32",
                (B::FloorDiv, false) => "ndx_floordiv_f64",
                (_, true) => "ndx_mod_f32",
                (_, false) => "ndx_mod_f64",
            };
            host.call(b, name, &[x, y])?
        }
        B::FloorDiv | B::Mod if d != DType::Bool => {
            int_floordiv_mod(b, ty, op == B::FloorDiv, x, y)
        }
        B::Pow | B::Arctan2 if float => vmath::sbinary(b, host, op, d, x, y)?,
        B::Pow => {
            let name = match d {
                DType::I32 => "ndx_ipow_i32",
                DType::I64 => "ndx_ipow_i64",
                _ => return Err(unsupported("power of bool values".into())),
            };
            host.call(b, name, &[x, y])?
        }
        B::Min | B::Max if float => float_minmax(b, op == B::Max, x, y),
        B::Min => b.ins().smin(x, y),
        B::Max => b.ins().smax(x, y),
        B::BitAnd if !float => b.ins().band(x, y),
        B::BitOr if !float => b.ins().bor(x, y),
        B::BitXor if !float => b.ins().bxor(x, y),
        _ => return Err(unsupported(format!("{op:?} of {d}"))),
    };
    Ok(v)
}

/// A comparison: `i8` 0/1.
pub(crate) fn compare(
    b: &mut FunctionBuilder,
    op: BinaryOp,
    d: DType,
    x: Value,
    y: Value,
) -> Value {
    use BinaryOp as B;
    if d.is_float() {
        let cc = match op {
            B::Eq => FloatCC::Equal,
            B::Ne => FloatCC::NotEqual,
            B::Lt => FloatCC::LessThan,
            B::Le => FloatCC::LessThanOrEqual,
            B::Gt => FloatCC::GreaterThan,
            _ => FloatCC::GreaterThanOrEqual,
        };
        b.ins().fcmp(cc, x, y)
    } else {
        let signed = d != DType::Bool;
        let cc = match (op, signed) {
            (B::Eq, _) => IntCC::Equal,
            (B::Ne, _) => IntCC::NotEqual,
            (B::Lt, true) => IntCC::SignedLessThan,
            (B::Le, true) => IntCC::SignedLessThanOrEqual,
            (B::Gt, true) => IntCC::SignedGreaterThan,
            (B::Ge, true) => IntCC::SignedGreaterThanOrEqual,
            (B::Lt, false) => IntCC::UnsignedLessThan,
            (B::Le, false) => IntCC::UnsignedLessThanOrEqual,
            (B::Gt, false) => IntCC::UnsignedGreaterThan,
            _ => IntCC::UnsignedGreaterThanOrEqual,
        };
        b.ins().icmp(cc, x, y)
    }
}

/// Python floor division or modulo of integers, without any trapping instruction: a divisor
/// of 0 gives 0, and -1 (where `MIN / -1` would fault) gives `wrapping_neg(x)` and 0.
fn int_floordiv_mod(
    b: &mut FunctionBuilder,
    ty: Type,
    floordiv: bool,
    x: Value,
    y: Value,
) -> Value {
    let zero = iconst(b, ty, 0);
    let one = iconst(b, ty, 1);
    let minus_one = iconst(b, ty, -1);
    let is_zero = b.ins().icmp(IntCC::Equal, y, zero);
    let is_m1 = b.ins().icmp(IntCC::Equal, y, minus_one);
    let bad = b.ins().bor(is_zero, is_m1);
    let safe = b.ins().select(bad, one, y);
    let q = b.ins().sdiv(x, safe);
    let r = b.ins().srem(x, safe);
    // Truncated division rounds toward zero; Python's floors: adjust when the remainder is
    // non-zero and its sign differs from the divisor's.
    let r_nz = b.ins().icmp(IntCC::NotEqual, r, zero);
    let signs = b.ins().bxor(r, safe);
    let differ = b.ins().icmp(IntCC::SignedLessThan, signs, zero);
    let adjust = b.ins().band(r_nz, differ);
    if floordiv {
        let q1 = b.ins().isub(q, one);
        let q = b.ins().select(adjust, q1, q);
        let neg = b.ins().ineg(x);
        let q = b.ins().select(is_m1, neg, q);
        b.ins().select(is_zero, zero, q)
    } else {
        let r1 = b.ins().iadd(r, safe);
        let r = b.ins().select(adjust, r1, r);
        b.ins().select(bad, zero, r)
    }
}

/// Conversion from dtype `from` to `to` with NumPy `astype` rules; float to int saturates
/// (NaN gives 0) and never traps.
pub(crate) fn cast(b: &mut FunctionBuilder, from: DType, to: DType, x: Value) -> Value {
    use DType as D;
    let ty = clif_type(to);
    match (from, to) {
        _ if from == to => x,
        (D::Bool, D::I32 | D::I64) => b.ins().uextend(ty, x),
        (D::Bool, D::F32 | D::F64) => b.ins().fcvt_from_uint(ty, x),
        (D::I32 | D::I64, D::Bool) => {
            let z = iconst(b, clif_type(from), 0);
            b.ins().icmp(IntCC::NotEqual, x, z)
        }
        (D::F32 | D::F64, D::Bool) => {
            let z = float_const(b, from, 0.0);
            b.ins().fcmp(FloatCC::NotEqual, x, z)
        }
        (D::I32, D::I64) => b.ins().sextend(ty, x),
        (D::I64, D::I32) => b.ins().ireduce(ty, x),
        (D::I32 | D::I64, D::F32 | D::F64) => b.ins().fcvt_from_sint(ty, x),
        (D::F32 | D::F64, D::I32 | D::I64) => b.ins().fcvt_to_sint_sat(ty, x),
        (D::F32, D::F64) => b.ins().fpromote(ty, x),
        _ => b.ins().fdemote(ty, x),
    }
}
