//! The math library: `exp`, `log`, `sin`, `pow` and the other float functions of
//! [`UnaryOp`]/[`BinaryOp`], emitted as (nearly) branch-free Cranelift IR on `f64x2` and
//! `f32x4` vectors, and on scalars through lane 0 of a vector.
//!
//! The algorithms and coefficients are those of SLEEF (Shibata & Petrogalli, "SLEEF: A Portable
//! Vectorized Library of C Standard Mathematical Functions", IEEE TPDS 2020; Boost licence),
//! the 1-ULP variants that use double-double arithmetic ([`dd`]) built on `fma`. The f64
//! functions are in [`f64`]; f32 functions evaluate f64 code on the promoted lanes and round
//! once at the end (two `f64x2` per `f32x4`): the plain-f64 forms of [`lite`] where they
//! exist (log, log2, log10, log1p, cbrt, sinh, expm1, arctan, sin, cos, tan, pow), the
//! 1-ULP f64 code otherwise;
//! the hot ones ([`f32`]: `exp`, `exp2`, `tanh`) have native `f32x4` code.
//!
//! Invariants:
//! - Every function is within 4 ULP of the correctly rounded result over its whole domain
//!   (tests/vmath.rs samples each one; examples/exhaustive_f32.rs checks every f32 input),
//!   and returns what libm returns for NaN, infinities, signed zeros, subnormal inputs and
//!   outputs, overflow and underflow.
//! - No emitted instruction can trap: integers are only shifted, masked and added; float to
//!   integer conversions go through the `1.5 * 2^52` bias trick, never `fcvt_to_sint`.
//! - Branches are whole-vector and only pick between equivalent code: [`M::branch`] takes a
//!   cheaper form when every lane allows it (sin/cos/tan arguments below 15, erf below 2.5),
//!   and [`M::rare_lanes`] recomputes a vector lane by lane with the libm host function when
//!   a lane of f64 `sin`/`cos`/`tan` is beyond the vector argument reduction (|x| >= 1e14).
//!   The common range is pure vector code.
//! - Constants are splatted where they are used; LICM hoists them out of loops, so a long
//!   function keeps some of them in stack slots rather than registers (xmm0-15 only).

// The coefficients are SLEEF's, digit for digit, so that they can be checked against it.
#![allow(clippy::excessive_precision)]

mod dd;
mod f32;
mod f64;
mod lite;

use crate::scalar::Host;
use crate::CodegenError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use ndx_ir::kernel::{BinaryOp, Kernel, Op, UnaryOp};
use ndx_runtime::{DType, Scalar};

pub(crate) use dd::D2;

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
    let vt = if d == DType::F32 && f32::native(f) {
        types::F32X4
    } else {
        types::F64X2
    };
    let vargs: Vec<Value> = args
        .iter()
        .map(|&a| {
            let a = if d == DType::F32 && vt == types::F64X2 {
                b.ins().fpromote(types::F64, a)
            } else {
                a
            };
            b.ins().splat(vt, a)
        })
        .collect();
    let r = eval(b, host, f, vt, &vargs, d == DType::F32)?;
    let r = b.ins().extractlane(r, 0);
    Ok(if d == DType::F32 && vt == types::F64X2 {
        b.ins().fdemote(types::F32, r)
    } else {
        r
    })
}

fn vector(
    b: &mut FunctionBuilder,
    host: &mut Host,
    f: Fun,
    d: DType,
    args: &[Value],
) -> Result<Value, CodegenError> {
    match d {
        DType::F64 => eval(b, host, f, types::F64X2, args, false),
        DType::F32 if f32::native(f) => eval(b, host, f, types::F32X4, args, true),
        DType::F32 => {
            // Two halves, each promoted to f64x2, evaluated, and demoted into one f32x4.
            let lo: Vec<Value> = args.iter().map(|&a| b.ins().fvpromote_low(a)).collect();
            let hi: Vec<Value> = args
                .iter()
                .map(|&a| {
                    let wide = bitcast(b, types::F64X2, a);
                    let h = b.ins().extractlane(wide, 1);
                    let h = b.ins().splat(types::F64X2, h);
                    let h = bitcast(b, types::F32X4, h);
                    b.ins().fvpromote_low(h)
                })
                .collect();
            let rlo = eval(b, host, f, types::F64X2, &lo, true)?;
            let rhi = eval(b, host, f, types::F64X2, &hi, true)?;
            let rlo = b.ins().fvdemote(rlo);
            let rhi = b.ins().fvdemote(rhi);
            let rlo = bitcast(b, types::F64X2, rlo);
            let rhi = bitcast(b, types::F64X2, rhi);
            let h = b.ins().extractlane(rhi, 0);
            let r = b.ins().insertlane(rlo, h, 1);
            Ok(bitcast(b, types::F32X4, r))
        }
        _ => Err(CodegenError::Internal(format!("math function on {d}"))),
    }
}

/// Reinterprets the bits of a vector as another vector type.
fn bitcast(b: &mut FunctionBuilder, ty: Type, x: Value) -> Value {
    if b.func.dfg.value_type(x) == ty {
        return x;
    }
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    b.ins().bitcast(ty, flags, x)
}

/// Evaluates `f` on vectors of type `ty`; `for_f32` when they hold promoted f32 values whose
/// result will be rounded to f32 (then [`lite`] forms are enough where they exist).
fn eval(
    b: &mut FunctionBuilder,
    host: &mut Host,
    f: Fun,
    ty: Type,
    args: &[Value],
    for_f32: bool,
) -> Result<Value, CodegenError> {
    let arg = |i: usize| {
        args.get(i)
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("{f:?} needs {} operands", i + 1)))
    };
    let x = arg(0)?;
    let mut m = M::new(b, host, ty);
    if ty == types::F32X4 {
        return f32::eval(&mut m, f, x);
    }
    if for_f32 && lite::has(f) {
        if let Some(r) = lite::eval(&mut m, f, x, args.get(1).copied())? {
            return Ok(r);
        }
    }
    use UnaryOp as U;
    Ok(match f {
        Fun::Unary(U::Exp) => f64::exp(&mut m, x),
        Fun::Unary(U::Exp2) => f64::exp2(&mut m, x),
        Fun::Unary(U::Expm1) => f64::expm1(&mut m, x),
        Fun::Unary(U::Log) => f64::log(&mut m, x),
        Fun::Unary(U::Log2) => f64::log2(&mut m, x),
        Fun::Unary(U::Log10) => f64::log10(&mut m, x),
        Fun::Unary(U::Log1p) => f64::log1p(&mut m, x),
        Fun::Unary(U::Sin) => f64::sin(&mut m, x)?,
        Fun::Unary(U::Cos) => f64::cos(&mut m, x)?,
        Fun::Unary(U::Tan) => f64::tan(&mut m, x)?,
        Fun::Unary(U::Arcsin) => f64::asin(&mut m, x),
        Fun::Unary(U::Arccos) => f64::acos(&mut m, x),
        Fun::Unary(U::Arctan) => f64::atan(&mut m, x),
        Fun::Unary(U::Sinh) => f64::sinh(&mut m, x),
        Fun::Unary(U::Cosh) => f64::cosh(&mut m, x),
        Fun::Unary(U::Tanh) => f64::tanh(&mut m, x),
        Fun::Unary(U::Erf) => f64::erf(&mut m, x)?,
        Fun::Unary(U::Cbrt) => f64::cbrt(&mut m, x),
        Fun::Binary(BinaryOp::Pow) => f64::pow(&mut m, x, arg(1)?),
        Fun::Binary(BinaryOp::Arctan2) => f64::atan2(&mut m, x, arg(1)?),
        _ => {
            return Err(CodegenError::Internal(format!(
                "{f:?} is not in the math library"
            )))
        }
    })
}

/// The emitter: arithmetic on vectors of one float type (`f64x2` or `f32x4`), with masks
/// (all-ones/all-zeros lanes of the same-width integer vector type) and integer views.
pub(crate) struct M<'a, 'f, 'h, 'm> {
    pub b: &'a mut FunctionBuilder<'f>,
    host: &'h mut Host<'m>,
    /// The float vector type.
    pub ty: Type,
    /// The integer vector type of the same lane width.
    pub ity: Type,
}

impl<'a, 'f, 'h, 'm> M<'a, 'f, 'h, 'm> {
    fn new(b: &'a mut FunctionBuilder<'f>, host: &'h mut Host<'m>, ty: Type) -> Self {
        let ity = if ty == types::F32X4 {
            types::I32X4
        } else {
            types::I64X2
        };
        M { b, host, ty, ity }
    }

    fn is_f32(&self) -> bool {
        self.ty == types::F32X4
    }

    /// Mantissa bits of the lane type.
    fn mant_bits(&self) -> i64 {
        if self.is_f32() {
            23
        } else {
            52
        }
    }

    /// A splatted float constant.
    pub fn c(&mut self, v: f64) -> Value {
        let s = if self.is_f32() {
            self.b.ins().f32const(v as f32)
        } else {
            self.b.ins().f64const(v)
        };
        self.b.ins().splat(self.ty, s)
    }

    /// A splatted integer constant of the lane width.
    pub fn ci(&mut self, v: i64) -> Value {
        let lane = self.ity.lane_type();
        let s = crate::scalar::iconst(self.b, lane, v);
        self.b.ins().splat(self.ity, s)
    }

    pub fn add(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fadd(x, y)
    }
    pub fn sub(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fsub(x, y)
    }
    pub fn mul(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fmul(x, y)
    }
    pub fn div(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fdiv(x, y)
    }
    /// `x * y + z`, rounded once.
    pub fn fma(&mut self, x: Value, y: Value, z: Value) -> Value {
        self.b.ins().fma(x, y, z)
    }
    /// `x * y - z`, rounded once.
    pub fn fmapn(&mut self, x: Value, y: Value, z: Value) -> Value {
        let nz = self.neg(z);
        self.fma(x, y, nz)
    }
    /// `z - x * y`, rounded once.
    pub fn fmanp(&mut self, x: Value, y: Value, z: Value) -> Value {
        let nx = self.neg(x);
        self.fma(nx, y, z)
    }
    pub fn neg(&mut self, x: Value) -> Value {
        self.b.ins().fneg(x)
    }
    pub fn abs(&mut self, x: Value) -> Value {
        self.b.ins().fabs(x)
    }
    pub fn sqrt(&mut self, x: Value) -> Value {
        self.b.ins().sqrt(x)
    }
    /// Round to nearest, ties to even.
    pub fn rint(&mut self, x: Value) -> Value {
        self.b.ins().nearest(x)
    }
    pub fn trunc(&mut self, x: Value) -> Value {
        self.b.ins().trunc(x)
    }
    pub fn floor(&mut self, x: Value) -> Value {
        self.b.ins().floor(x)
    }
    /// `x * k + c` with constants.
    pub fn mla_c(&mut self, x: Value, k: Value, c: f64) -> Value {
        let c = self.c(c);
        self.fma(x, k, c)
    }
    pub fn mul_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.mul(x, c)
    }
    pub fn add_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.add(x, c)
    }
    /// Horner's scheme: `((c[0] x + c[1]) x + ...) x + c[n-1]`.
    pub fn poly(&mut self, x: Value, cs: &[f64]) -> Value {
        let Some((first, rest)) = cs.split_first() else {
            return self.c(0.0);
        };
        let mut u = self.c(*first);
        for c in rest {
            u = self.mla_c(u, x, *c);
        }
        u
    }

    fn cmp(&mut self, cc: FloatCC, x: Value, y: Value) -> Value {
        self.b.ins().fcmp(cc, x, y)
    }
    pub fn lt(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::LessThan, x, y)
    }
    pub fn le(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::LessThanOrEqual, x, y)
    }
    pub fn gt(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::GreaterThan, x, y)
    }
    pub fn ge(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::GreaterThanOrEqual, x, y)
    }
    pub fn eq(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::Equal, x, y)
    }
    pub fn ne(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::NotEqual, x, y)
    }
    pub fn lt_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.lt(x, c)
    }
    pub fn le_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.le(x, c)
    }
    pub fn gt_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.gt(x, c)
    }
    pub fn ge_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.ge(x, c)
    }
    pub fn eq_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.eq(x, c)
    }
    pub fn isnan(&mut self, x: Value) -> Value {
        self.cmp(FloatCC::Unordered, x, x)
    }
    pub fn isinf(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        self.eq_c(a, f64::INFINITY)
    }
    /// x == -0.0 (bit pattern).
    pub fn isnegzero(&mut self, x: Value) -> Value {
        let bits = self.bits(x);
        let nz = self.c(-0.0);
        let nz = self.bits(nz);
        self.b.ins().icmp(IntCC::Equal, bits, nz)
    }
    /// Sign bit set (including -0 and NaNs with the sign bit).
    pub fn signbit(&mut self, x: Value) -> Value {
        let bits = self.bits(x);
        let z = self.ci(0);
        self.b.ins().icmp(IntCC::SignedLessThan, bits, z)
    }
    pub fn and(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().band(m, n)
    }
    pub fn or(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().bor(m, n)
    }
    pub fn xor(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().bxor(m, n)
    }
    /// `!m & n`.
    pub fn andnot(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().band_not(n, m)
    }

    /// `m ? x : y` lane by lane (floats or integers of the lane width).
    pub fn sel(&mut self, m: Value, x: Value, y: Value) -> Value {
        let ty = self.b.func.dfg.value_type(x);
        let m = bitcast(self.b, ty, m);
        self.b.ins().bitselect(m, x, y)
    }
    pub fn sel_c(&mut self, m: Value, x: f64, y: f64) -> Value {
        let x = self.c(x);
        let y = self.c(y);
        self.sel(m, x, y)
    }

    /// The bits of float lanes as integers.
    pub fn bits(&mut self, x: Value) -> Value {
        bitcast(self.b, self.ity, x)
    }
    /// Integer lanes reinterpreted as floats.
    pub fn as_float(&mut self, i: Value) -> Value {
        bitcast(self.b, self.ty, i)
    }
    /// `x` with the lanes where `m` holds replaced by NaN.
    pub fn or_nan(&mut self, m: Value, x: Value) -> Value {
        let bits = self.bits(x);
        let m = bitcast(self.b, self.ity, m);
        let r = self.or(m, bits);
        self.as_float(r)
    }
    /// `x` with the lanes where `m` holds replaced by +0.
    pub fn zero_if(&mut self, m: Value, x: Value) -> Value {
        let bits = self.bits(x);
        let m = bitcast(self.b, self.ity, m);
        let r = self.andnot(m, bits);
        self.as_float(r)
    }
    /// `x` with its sign flipped where `y` is negative (sign bit).
    pub fn mulsign(&mut self, x: Value, y: Value) -> Value {
        let sign = self.sign_mask(y);
        let xb = self.bits(x);
        let r = self.xor(xb, sign);
        self.as_float(r)
    }
    /// Only the sign bits of `y`.
    fn sign_mask(&mut self, y: Value) -> Value {
        let yb = self.bits(y);
        let s = self.c(-0.0);
        let s = self.bits(s);
        self.and(yb, s)
    }

    /// The integer lanes of the integer-valued floats `q` (|q| < 2^22 for f32, 2^51 f64).
    pub fn int_of(&mut self, q: Value) -> Value {
        let shifter = self.shifter();
        let t = self.add(q, shifter);
        let tb = self.bits(t);
        let sb = self.bits(shifter);
        self.b.ins().isub(tb, sb)
    }
    /// The integer lanes `i` as floats (|i| < 2^22 for f32, 2^51 for f64).
    pub fn float_of(&mut self, i: Value) -> Value {
        let shifter = self.shifter();
        let sb = self.bits(shifter);
        let t = self.b.ins().iadd(i, sb);
        let t = self.as_float(t);
        self.sub(t, shifter)
    }
    fn shifter(&mut self) -> Value {
        self.c(1.5 * 2f64.powi(self.mant_bits() as i32))
    }
    /// `2^q` for integer-valued `q` in the normal exponent range.
    pub fn pow2i(&mut self, q: Value) -> Value {
        let i = self.int_of(q);
        let mb = self.mant_bits();
        let e = self.b.ins().ishl_imm_s(i, mb);
        let one = self.c(1.0);
        let one = self.bits(one);
        let r = self.b.ins().iadd(e, one);
        self.as_float(r)
    }
    /// `x * 2^q` in two steps, so that `q` may reach twice the exponent range (subnormal and
    /// overflowing results round once).
    pub fn ldexp2(&mut self, x: Value, q: Value) -> Value {
        let h = self.mul_c(q, 0.5);
        let h = self.floor(h);
        let l = self.sub(q, h);
        let ph = self.pow2i(h);
        let pl = self.pow2i(l);
        let r = self.mul(x, ph);
        self.mul(r, pl)
    }
    /// `x * 2^q` by adding to the exponent field (no range checks: the caller keeps the result
    /// normal).
    pub fn ldexp3(&mut self, x: Value, q: Value) -> Value {
        let i = self.int_of(q);
        let mb = self.mant_bits();
        let e = self.b.ins().ishl_imm_s(i, mb);
        let xb = self.bits(x);
        let r = self.b.ins().iadd(xb, e);
        self.as_float(r)
    }
    /// The unbiased exponent field of `d` (normal positive `d`), as a float.
    pub fn ilogb2k(&mut self, d: Value) -> Value {
        let mb = self.mant_bits();
        let bits = self.bits(d);
        let e = self.b.ins().ushr_imm_s(bits, mb);
        let mask = self.ci(if self.is_f32() { 0xff } else { 0x7ff });
        let e = self.and(e, mask);
        let e = self.float_of(e);
        let bias = if self.is_f32() { 127.0 } else { 1023.0 };
        self.add_c(e, -bias)
    }
    /// `floor(log2(d))` for positive finite `d`, subnormals included, as a float.
    pub fn ilogbk(&mut self, d: Value) -> Value {
        let (tiny, big, k) = if self.is_f32() {
            (5.421010862427522E-20, 1.8446744073709552E19, 64.0)
        } else {
            (4.9090934652977266E-91, 2.037035976334486E90, 300.0)
        };
        let o = self.lt_c(d, tiny);
        let scaled = self.mul_c(d, big);
        let d = self.sel(o, scaled, d);
        let e = self.ilogb2k(d);
        let adj = self.sel_c(o, k, 0.0);
        self.sub(e, adj)
    }
    /// `v` is an integer (false for NaN and infinities).
    pub fn isint(&mut self, v: Value) -> Value {
        let t = self.trunc(v);
        self.eq(t, v)
    }
    /// `v` is an odd integer.
    pub fn isodd(&mut self, v: Value) -> Value {
        let h = self.mul_c(v, 0.5);
        let t = self.trunc(h);
        let hint = self.ne(t, h);
        let vint = self.isint(v);
        self.and(hint, vint)
    }

    /// `fast` where no lane of `rare` is set; otherwise every lane recomputed by host function
    /// `name` on the lanes of `x` (the slow path, off the common one).
    pub fn rare_lanes(
        &mut self,
        rare: Value,
        fast: Value,
        x: Value,
        name: &'static str,
    ) -> Result<Value, CodegenError> {
        let any = self.b.ins().vany_true(rare);
        let slow = self.b.create_block();
        let join = self.b.create_block();
        let res = self.b.append_block_param(join, self.ty);
        self.b.set_cold_block(slow);
        self.b.ins().brif(any, slow, &[], join, &[fast.into()]);
        self.b.switch_to_block(slow);
        let mut r = fast;
        let lanes = self.ty.lane_count() as u8;
        for lane in 0..lanes {
            let xi = self.b.ins().extractlane(x, lane);
            let yi = self.host.call(self.b, name, &[xi])?;
            r = self.b.ins().insertlane(r, yi, lane);
        }
        self.b.ins().jump(join, &[r.into()]);
        self.b.switch_to_block(join);
        Ok(res)
    }

    /// Evaluates `fast` when every lane of `all` is set, `general` otherwise; both produce the
    /// same number of float vectors (`general` must be right for every lane, `fast` for the
    /// lanes it gets).
    pub fn branch<F, G>(&mut self, all: Value, fast: F, general: G) -> Vec<Value>
    where
        F: FnOnce(&mut Self) -> Vec<Value>,
        G: FnOnce(&mut Self) -> Vec<Value>,
    {
        let every = self.b.ins().vall_true(all);
        let fb = self.b.create_block();
        let gb = self.b.create_block();
        let join = self.b.create_block();
        self.b.ins().brif(every, fb, &[], gb, &[]);
        self.b.switch_to_block(fb);
        let r = fast(self);
        let params: Vec<Value> = r
            .iter()
            .map(|_| self.b.append_block_param(join, self.ty))
            .collect();
        let args: Vec<_> = r.iter().map(|v| (*v).into()).collect();
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(gb);
        let r = general(self);
        let args: Vec<_> = r.iter().map(|v| (*v).into()).collect();
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(join);
        params
    }
}
