//! Vectorising kernel loops: a `for` loop whose body is straight-line stores of elementwise
//! expressions over unit-stride accesses, such as
//! `for j in range(n) { out[i, j] = a[i, j] * b[j] + c }`, runs as `f32x4` / `f64x2` (or
//! `i32x4` / `i64x2`) code plus a scalar tail.
//!
//! Conditions, checked when compiling ([`plan`]): a step of 1; every statement a store; every
//! access indexed on its last axis by the loop variable plus a constant (`j`, `j - 1`: a
//! stencil's neighbours are rows shifted by whole elements) and by loop-invariant, pure
//! expressions on the others, with no bounds check left (the loop proves them, or checks are
//! off); every value and element of one width (4 or 8 bytes, no bools) with a vector form for
//! each operation; locals only read. Conditions checked at run time, choosing between the
//! vector and the scalar loop: every accessed row is contiguous (last-axis stride equal to the
//! element size), and no stored row partially overlaps another accessed row (the same row at
//! the same shift is fine: lane `j` reads and writes element `j` as the scalar loop does; a
//! shifted read of a stored row, `a[j] = a[j - 1]`, is a loop-carried dependence and keeps the
//! scalar loop).

use super::FnLower;
use crate::simd::{self, Plan};
use crate::{vmath, CodegenError};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Value};
use ndx_ir::kernel::BinaryOp;
use ndx_ir::kir::{Access, KExpr, KExprKind, KFor, KStmt, Local};
use ndx_runtime::DType;

/// Decides whether loop `fl` is vectorised; `checks` says whether bounds checks are on.
pub(super) fn plan(fl: &KFor, checks: bool) -> Option<Plan> {
    if fl.parallel.is_some()
        || !matches!(fl.step.kind, KExprKind::Const(ndx_runtime::Scalar::I64(1)))
    {
        return None;
    }
    if fl.body.is_empty() {
        return None;
    }
    let mut width = None;
    for s in &fl.body {
        let KStmt::Store(acc, value) = s else {
            return None;
        };
        if !access_ok(acc, fl.var, checks) || !value_ok(value, fl.var, checks, &mut width) {
            return None;
        }
        same_width(value.dtype, &mut width)?;
    }
    let width = width?;
    Some(Plan {
        width,
        lanes: 16 / width,
        unroll: 1,
    })
}

fn same_width(d: DType, width: &mut Option<u8>) -> Option<()> {
    let w = match d {
        DType::F32 | DType::I32 => 4,
        DType::F64 | DType::I64 => 8,
        DType::Bool => return None,
    };
    match width {
        Some(x) if *x != w => None,
        _ => {
            *width = Some(w);
            Some(())
        }
    }
}

/// Pure, cheap and independent of the loop: evaluated once per vector iteration (LICM hoists
/// it out of the loop).
fn invariant(e: &KExpr, var: Local) -> bool {
    match &e.kind {
        KExprKind::Const(_) | KExprKind::Dim { .. } => true,
        KExprKind::Local(l) => *l != var,
        KExprKind::Cast(x) | KExprKind::Unary(_, x) => invariant(x, var),
        KExprKind::Binary(_, x, y) => invariant(x, var) && invariant(y, var),
        _ => false,
    }
}

/// The constant `c` when `e` is the loop variable plus `c` (`j`, `j + 1`, `j - 1`).
fn offset_of(e: &KExpr, var: Local) -> Option<i64> {
    use ndx_runtime::Scalar;
    match &e.kind {
        KExprKind::Local(l) if *l == var => Some(0),
        KExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b) => match (&a.kind, &b.kind) {
            (KExprKind::Local(l), KExprKind::Const(Scalar::I64(c))) if *l == var => {
                if *op == BinaryOp::Add {
                    Some(*c)
                } else {
                    c.checked_neg()
                }
            }
            (KExprKind::Const(Scalar::I64(c)), KExprKind::Local(l))
                if *l == var && *op == BinaryOp::Add =>
            {
                Some(*c)
            }
            _ => None,
        },
        _ => None,
    }
}

fn access_ok(acc: &Access, var: Local, checks: bool) -> bool {
    let Some((last, rest)) = acc.index.split_last() else {
        return false;
    };
    let unchecked = !checks || acc.checked.iter().all(|c| !c);
    unchecked
        && offset_of(last, var).is_some_and(|c| c.checked_mul(16).is_some())
        && rest.iter().all(|e| invariant(e, var))
}

fn value_ok(e: &KExpr, var: Local, checks: bool, width: &mut Option<u8>) -> bool {
    if same_width(e.dtype, width).is_none() {
        return false;
    }
    match &e.kind {
        KExprKind::Const(_) => true,
        KExprKind::Local(l) => *l != var,
        KExprKind::Load(acc) => access_ok(acc, var, checks),
        KExprKind::Unary(op, x) => {
            simd::vector_unary(*op, e.dtype)
                && x.dtype == e.dtype
                && value_ok(x, var, checks, width)
        }
        KExprKind::Binary(op, x, y) => {
            !op.is_comparison()
                && simd::vector_binary(*op, e.dtype)
                && value_ok(x, var, checks, width)
                && value_ok(y, var, checks, width)
        }
        _ => false,
    }
}

impl<'k> FnLower<'k, '_, '_> {
    /// Emits `fl` as a vector loop (when the run-time conditions hold) followed by the scalar
    /// loop over the remaining iterations.
    pub(super) fn vector_for(&mut self, fl: &'k KFor, plan: Plan) -> Result<(), CodegenError> {
        self.vector_loops += 1;
        let (start, step, n) = self.trip(fl)?;
        let w = i64::from(plan.width);
        // Row bases and last-axis strides of every access, stores first.
        let mut rows: Vec<(Value, Value, bool)> = Vec::new();
        for s in &fl.body {
            if let KStmt::Store(acc, value) = s {
                let (base, stride) = self.row(acc, fl.var)?;
                rows.push((base, stride, true));
                let mut loads = Vec::new();
                collect_loads(value, &mut loads);
                for l in loads {
                    let (base, stride) = self.row(l, fl.var)?;
                    rows.push((base, stride, false));
                }
            }
        }
        let one = self.b.ins().iconst(types::I8, 1);
        let mut ok = one;
        let bytes = self.b.ins().imul_imm_s(n, w);
        for (i, &(base, stride, store)) in rows.iter().enumerate() {
            let unit = self.b.ins().icmp_imm_s(IntCC::Equal, stride, w);
            ok = self.b.ins().band(ok, unit);
            if !store {
                continue;
            }
            for (j, &(other, _, _)) in rows.iter().enumerate() {
                if i == j {
                    continue;
                }
                let d = self.b.ins().isub(base, other);
                let same = self.b.ins().icmp_imm_s(IntCC::Equal, d, 0);
                let ad = self.b.ins().iabs(d);
                let apart = self
                    .b
                    .ins()
                    .icmp(IntCC::SignedGreaterThanOrEqual, ad, bytes);
                let fine = self.b.ins().bor(same, apart);
                ok = self.b.ins().band(ok, fine);
            }
        }
        let (vec_block, tail) = (self.b.create_block(), self.b.create_block());
        self.b.append_block_param(tail, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b
            .ins()
            .brif(ok, vec_block, &[], tail, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(vec_block);
        let lanes = i64::from(plan.lanes);
        let nv = self.b.ins().band_imm_s(n, !(lanes - 1));
        let (body, exit) = (self.b.create_block(), self.b.create_block());
        self.b.append_block_param(body, types::I64);
        let any = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, nv, 0);
        self.b
            .ins()
            .brif(any, body, &[BlockArg::Value(zero)], exit, &[]);
        self.b.switch_to_block(body);
        let k = self.b.block_params(body)[0];
        let i = self.b.ins().iadd(start, k);
        let off = self.b.ins().imul_imm_s(i, w);
        let mut r = 0;
        for s in &fl.body {
            if let KStmt::Store(_, value) = s {
                let store_row = rows[r].0;
                r += 1;
                let v = self.vexpr(value, plan, off, &rows, &mut r)?;
                let addr = self.b.ins().iadd(store_row, off);
                self.b.ins().store(super::data_flags(), v, addr, 0);
            }
        }
        let k1 = self.b.ins().iadd_imm_s(k, lanes);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, k1, nv);
        self.b
            .ins()
            .brif(more, body, &[BlockArg::Value(k1)], exit, &[]);
        self.b.switch_to_block(exit);
        self.b.ins().jump(tail, &[BlockArg::Value(nv)]);
        self.b.switch_to_block(tail);
        let k_lo = self.b.block_params(tail)[0];
        self.counted_loop(fl, start, step, k_lo, n)
    }

    /// The address of the accessed row's element at the loop variable's value 0 (shifted by
    /// the constant offset of the last index), and the row's byte stride.
    fn row(&mut self, acc: &'k Access, var: Local) -> Result<(Value, Value), CodegenError> {
        let k = acc.array as usize;
        let (Some(&ptr), Some(strides)) = (self.ptrs.get(k), self.strides.get(k)) else {
            return Err(CodegenError::Internal(format!("kernel array {k} missing")));
        };
        let strides = strides.clone();
        let Some((last_ix, rest)) = acc.index.split_last() else {
            return Err(CodegenError::Internal(
                "a 0-d access in a vector loop".into(),
            ));
        };
        let mut base = ptr;
        for (axis, ix) in rest.iter().enumerate() {
            let i = self.expr(ix)?;
            let off = self.b.ins().imul(i, strides[axis]);
            base = self.b.ins().iadd(base, off);
        }
        let last = strides
            .last()
            .copied()
            .ok_or_else(|| CodegenError::Internal("no last stride".into()))?;
        let c = offset_of(last_ix, var).unwrap_or(0);
        if c != 0 {
            let off = self.b.ins().imul_imm_s(last, c);
            base = self.b.ins().iadd(base, off);
        }
        Ok((base, last))
    }

    /// The vector value of `e` at byte offset `off` of every row; `r` walks `rows` in the
    /// order [`collect_loads`] lists the loads.
    fn vexpr(
        &mut self,
        e: &'k KExpr,
        plan: Plan,
        off: Value,
        rows: &[(Value, Value, bool)],
        r: &mut usize,
    ) -> Result<Value, CodegenError> {
        let vt = simd::vtype(plan, e.dtype);
        Ok(match &e.kind {
            KExprKind::Load(_) => {
                let base = rows
                    .get(*r)
                    .map(|x| x.0)
                    .ok_or_else(|| CodegenError::Internal("vector rows out of step".into()))?;
                *r += 1;
                let addr = self.b.ins().iadd(base, off);
                self.b.ins().load(vt, super::data_flags(), addr, 0)
            }
            KExprKind::Unary(op, x) => {
                let v = self.vexpr(x, plan, off, rows, r)?;
                if e.dtype.is_float() && vmath::has_unary(*op) {
                    vmath::vunary(&mut self.b, &mut self.host, *op, e.dtype, v)?
                } else {
                    simd::vunary(&mut self.b, *op, e.dtype, v)?
                }
            }
            KExprKind::Binary(op, x, y) => {
                let d = x.dtype;
                let xv = self.vexpr(x, plan, off, rows, r)?;
                let yv = self.vexpr(y, plan, off, rows, r)?;
                if d.is_float() && vmath::has_binary(*op) {
                    vmath::vbinary(&mut self.b, &mut self.host, *op, d, xv, yv)?
                } else {
                    simd::vbinary(&mut self.b, plan, *op, d, xv, yv)?
                }
            }
            _ => {
                let s = self.expr(e)?;
                self.b.ins().splat(vt, s)
            }
        })
    }
}

/// The loads of `e` in evaluation order (left to right, depth first).
fn collect_loads<'a>(e: &'a KExpr, out: &mut Vec<&'a Access>) {
    match &e.kind {
        KExprKind::Load(a) => out.push(a),
        KExprKind::Unary(_, x) | KExprKind::Cast(x) => collect_loads(x, out),
        KExprKind::Binary(_, x, y) => {
            collect_loads(x, out);
            collect_loads(y, out);
        }
        _ => {}
    }
}
