//! The math library: `exp`, `log`, `sin`, `pow` and the other float functions of
//! [`UnaryOp`]/[`BinaryOp`], emitted as (nearly) branch-free Cranelift IR on `f64x2` and
//! `f32x4` vectors, and on scalars through lane 0 of a vector.
//!
//! The algorithms and coefficients are those of SLEEF (Shibata & Petrogalli, "SLEEF: A Portable
//! Vectorized Library of C Standard Mathematical Functions", IEEE TPDS 2020; Boost licence).
//! For f64 ([`f64`]) they are the 1-ULP variants that use double-double arithmetic ([`dd`])
//! built on `fma`, but for the 3.5-ULP plain-double ones of `log`, `log2`, `tan` (after the
//! 1-ULP reduction), `arcsin`, `arccos`, `arctan`, `arctan2` and `cbrt`, `log10` and `log1p`
//! in their manner (measured at 2-3 ULP), and `expm1`, `sinh` and `tanh` in plain doubles from
//! Taylor polynomials and `exp`. Every f32 function but `pow` has native `f32x4` code from
//! SLEEF's 3.5-ULP f32 algorithms ([`f32`]: `exp`, `exp2`, `tanh`, `log`, `sin`, `cos`,
//! `tan`; [`f32_ext`]: `log2`, `log10`, `log1p`, `expm1`, `sinh`, `cosh`, `arctan`,
//! `arctan2`, `arcsin`, `arccos`, `erf`, `cbrt`); f32 `pow` widens its lanes to `f64x2`
//! ([`M::in_f64`]) and takes log2 and 2^x from 16-entry tables ([`M::table_pairs`]).
//!
//! Invariants:
//! - Every function is within 4 ULP of the correctly rounded result over its whole domain
//!   (tests/vmath.rs samples each one; examples/exhaustive_f32.rs checks every f32 input),
//!   and returns what libm returns for NaN, infinities, signed zeros, subnormal inputs and
//!   outputs, overflow and underflow.
//! - No emitted instruction can trap: integers are only shifted, masked and added; float to
//!   integer conversions go through the `1.5 * 2^52` bias trick, never `fcvt_to_sint`; the
//!   only loads are f32 `pow`'s, from static tables at indices masked to their 16 entries.
//! - Branches are whole-vector and only pick between equivalent code: [`M::branch`] takes a
//!   cheaper form when every lane allows it (sin/cos arguments below 15, f64 tan's below 1e6,
//!   erf below 2.5; f64 tan's other vectors reduce both ways and pick per lane, so a lane's
//!   reduction depends on its argument alone),
//!   and [`M::unless_rare`] enters a cold block for a vector with a rare lane: `exp`'s general
//!   scaling, and the Payne-Hanek reduction ([`M::pi_reduce`], lane by lane in integer
//!   arithmetic) of `sin`/`cos`/`tan` arguments beyond the Cody-Waite range (f64 |x| >= 1e14,
//!   f32 |x| > 39000). The common range is pure vector code, and nothing calls libm.
//! - Constants are splatted where they are used; LICM hoists them out of loops, so a long
//!   function keeps some of them in stack slots rather than registers (xmm0-15 only).

// The coefficients are SLEEF's, digit for digit, so that they can be checked against it.
#![allow(clippy::excessive_precision)]

mod dd;
mod emit;
mod f32;
mod f32_ext;
mod f64;
mod reduce;

use crate::scalar::Host;
use crate::CodegenError;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use ndx_ir::kernel::{BinaryOp, Kernel, Op, UnaryOp};
use ndx_runtime::{DType, Scalar};

pub(crate) use dd::D2;
pub(crate) use emit::M;

/// True when `op` on floats is a function of this library.
pub(crate) fn has_unary(op: UnaryOp) -> bool {
    use UnaryOp as U;
    matches!(
        op,
        U::Exp
            | U::Exp2
            | U::Expm1
            | U::Log
            | U::Log2
            | U::Log10
            | U::Log1p
            | U::Sin
            | U::Cos
            | U::Tan
            | U::Arcsin
            | U::Arccos
            | U::Arctan
            | U::Sinh
            | U::Cosh
            | U::Tanh
            | U::Erf
            | U::Cbrt
    )
}

/// True when `op` on floats is a function of this library.
pub(crate) fn has_binary(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Pow | BinaryOp::Arctan2)
}

/// A constant exponent that `x ** c` lowers without the general `pow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SmallExponent {
    /// An integer in -1..=4: multiplications (at most three roundings, < 2 ULP) or `1 / x`.
    Int(i32),
    /// 0.5: `sqrt`, with `pow`'s results for -0 (+0) and -inf (+inf).
    Half,
}

/// The [`SmallExponent`] of `x ** c` when `c` is such a constant.
pub(crate) fn small_exponent(k: &Kernel, c: ndx_ir::kernel::Handle) -> Option<SmallExponent> {
    let node = k.nodes.get(c.index())?;
    let v = match node.op {
        Op::Const(Scalar::F32(v)) => f64::from(v),
        Op::Const(Scalar::F64(v)) => v,
        _ => return None,
    };
    if v == 0.5 {
        return Some(SmallExponent::Half);
    }
    let n = v as i32;
    (f64::from(n) == v && (-1..=4).contains(&n)).then_some(SmallExponent::Int(n))
}

/// `x ** e` for a [`SmallExponent`] `e` (scalars or vectors of dtype `d`).
pub(crate) fn pow_small(b: &mut FunctionBuilder, d: DType, x: Value, e: SmallExponent) -> Value {
    let ty = b.func.dfg.value_type(x);
    let splat = |b: &mut FunctionBuilder, v: f64| {
        let s = crate::scalar::float_const(b, d, v);
        if ty.is_vector() {
            b.ins().splat(ty, s)
        } else {
            s
        }
    };
    let n = match e {
        SmallExponent::Int(n) => n,
        SmallExponent::Half => {
            // sqrt(-0) is -0 and sqrt(-inf) NaN, where pow gives +0 and +inf.
            let r = b.ins().sqrt(x);
            let zero = splat(b, 0.0);
            let r = b.ins().fadd(r, zero);
            let ninf = splat(b, f64::NEG_INFINITY);
            let inf = splat(b, f64::INFINITY);
            let is = b.ins().fcmp(FloatCC::Equal, x, ninf);
            return if ty.is_vector() {
                let m = bitcast(b, ty, is);
                b.ins().bitselect(m, inf, r)
            } else {
                b.ins().select(is, inf, r)
            };
        }
    };
    match n {
        0 => splat(b, 1.0),
        1 => x,
        2 => b.ins().fmul(x, x),
        3 => {
            let x2 = b.ins().fmul(x, x);
            b.ins().fmul(x2, x)
        }
        4 => {
            let x2 = b.ins().fmul(x, x);
            b.ins().fmul(x2, x2)
        }
        _ => {
            let o = splat(b, 1.0);
            b.ins().fdiv(o, x)
        }
    }
}

/// A library function, unary or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fun {
    Unary(UnaryOp),
    Binary(BinaryOp),
}

/// `op` on the `f32x4` or `f64x2` vector `x` of dtype `d`.
pub(crate) fn vunary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: UnaryOp,
    d: DType,
    x: Value,
) -> Result<Value, CodegenError> {
    vector(b, host, Fun::Unary(op), d, &[x])
}

/// `op` on the vectors `x`, `y` of dtype `d`.
pub(crate) fn vbinary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: BinaryOp,
    d: DType,
    x: Value,
    y: Value,
) -> Result<Value, CodegenError> {
    vector(b, host, Fun::Binary(op), d, &[x, y])
}

/// `op` on the scalar `x` of dtype `d` (evaluated in lane 0 of a vector).
pub(crate) fn sunary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: UnaryOp,
    d: DType,
    x: Value,
) -> Result<Value, CodegenError> {
    scalar(b, host, Fun::Unary(op), d, &[x])
}

/// `op` on the scalars `x`, `y` of dtype `d`.
pub(crate) fn sbinary(
    b: &mut FunctionBuilder,
    host: &mut Host,
    op: BinaryOp,
    d: DType,
    x: Value,
    y: Value,
) -> Result<Value, CodegenError> {
    scalar(b, host, Fun::Binary(op), d, &[x, y])
}

fn scalar(
    b: &mut FunctionBuilder,
    host: &mut Host,
    f: Fun,
    d: DType,
    args: &[Value],
) -> Result<Value, CodegenError> {
    let vt = vector_type(d)?;
    let vargs: Vec<Value> = args.iter().map(|&a| b.ins().splat(vt, a)).collect();
    let r = eval(b, host, f, vt, &vargs)?;
    Ok(b.ins().extractlane(r, 0))
}

fn vector(
    b: &mut FunctionBuilder,
    host: &mut Host,
    f: Fun,
    d: DType,
    args: &[Value],
) -> Result<Value, CodegenError> {
    let vt = vector_type(d)?;
    eval(b, host, f, vt, args)
}

/// The vector type the library works in for dtype `d`: `f32x4` (native `f32` code for every
/// function) or `f64x2`.
fn vector_type(d: DType) -> Result<Type, CodegenError> {
    match d {
        DType::F64 => Ok(types::F64X2),
        DType::F32 => Ok(types::F32X4),
        _ => Err(CodegenError::Internal(format!("math function on {d}"))),
    }
}

/// Reinterprets the bits of a vector as another vector type.
pub(crate) fn bitcast(b: &mut FunctionBuilder, ty: Type, x: Value) -> Value {
    if b.func.dfg.value_type(x) == ty {
        return x;
    }
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    b.ins().bitcast(ty, flags, x)
}

/// Evaluates `f` on vectors of type `ty` (`f32x4`: the native `f32` code).
fn eval(
    b: &mut FunctionBuilder,
    host: &mut Host,
    f: Fun,
    ty: Type,
    args: &[Value],
) -> Result<Value, CodegenError> {
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("{f:?} needs {} operands", i + 1)))
    };
    let x = arg(0)?;
    let mut m = M::new(b, host, ty);
    if ty == types::F32X4 {
        return f32::eval(&mut m, f, x, args.get(1).copied());
    }
    use UnaryOp as U;
    Ok(match f {
        Fun::Unary(U::Exp) => f64::exp(&mut m, x),
        Fun::Unary(U::Exp2) => f64::exp2(&mut m, x),
        Fun::Unary(U::Expm1) => f64::expm1(&mut m, x),
        Fun::Unary(U::Log) => f64::log_u35(&mut m, x),
        Fun::Unary(U::Log2) => f64::log2_u35(&mut m, x),
        Fun::Unary(U::Log10) => f64::log10_u35(&mut m, x),
        Fun::Unary(U::Log1p) => f64::log1p_u35(&mut m, x),
        Fun::Unary(U::Sin) => f64::sin(&mut m, x)?,
        Fun::Unary(U::Cos) => f64::cos(&mut m, x)?,
        Fun::Unary(U::Tan) => f64::tan(&mut m, x)?,
        Fun::Unary(U::Arcsin) => f64::asin(&mut m, x),
        Fun::Unary(U::Arccos) => f64::acos(&mut m, x),
        Fun::Unary(U::Arctan) => f64::atan_u35(&mut m, x),
        Fun::Unary(U::Sinh) => f64::sinh(&mut m, x),
        Fun::Unary(U::Cosh) => f64::cosh(&mut m, x),
        Fun::Unary(U::Tanh) => f64::tanh(&mut m, x),
        Fun::Unary(U::Erf) => f64::erf(&mut m, x)?,
        Fun::Unary(U::Cbrt) => f64::cbrt_u35(&mut m, x),
        Fun::Binary(BinaryOp::Pow) => f64::pow(&mut m, x, arg(1)?),
        Fun::Binary(BinaryOp::Arctan2) => f64::atan2_u35(&mut m, x, arg(1)?),
        _ => {
            return Err(CodegenError::Internal(format!(
                "{f:?} is not in the math library"
            )))
        }
    })
}
