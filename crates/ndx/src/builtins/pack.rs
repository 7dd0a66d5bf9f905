//! Producers fused into a GEMM's operand buffer (issue 4, item 4).
//!
//! A contraction operand that is an elementwise expression (`exp(x) @ w`, `(2 * a) @ b`,
//! `einsum("ij,jk->ik", x - m, w)`) has to be computed into memory before the GEMM reads it.
//! Instead of materialising it in its own order and letting the GEMM copy it into the layout
//! it can walk, [`Interp::pack`] runs the expression's fused kernel once, straight into a buffer
//! laid out the way the GEMM reads it: (batch, m, k) for the left operand and (batch, k, n) for
//! the right, each group contiguous. The GEMM then takes it without another copy.

use crate::error::{At, Diag};
use crate::explain::{Dest, EinsumStep, Step};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::contract::{Label, Plan, StepKind};
use ndx_ir::promote::{promote, Ty};
use ndx_runtime::{Array, DType};
use ndx_syntax::Span;

impl Interp {
    /// The operands as lazy expressions of their common (NumPy result) dtype: arrays become
    /// leaves, nothing is computed.
    pub(super) fn promoted_lazy(
        &mut self,
        ops: &[(Val, Span)],
        name: &str,
    ) -> Result<(Vec<Lazy>, DType), Diag> {
        let mut ty: Option<Ty> = None;
        for (v, s) in ops {
            let t = self.numeric(v, *s, name)?;
            ty = Some(ty.map_or(t, |p| promote(p, t)));
        }
        let dtype = match ty {
            Some(t) if t.weak && t.dtype == DType::Bool => DType::Bool,
            Some(t) if t.weak && t.dtype.is_int() => DType::I64,
            Some(t) if t.weak => DType::F64,
            Some(t) => t.dtype,
            None => DType::F64,
        };
        let out = ops.iter().map(|(v, _)| self.to_lazy(v, dtype)).collect();
        Ok((out, dtype))
    }

    /// The operands as arrays of their common (NumPy result) dtype.
    pub(super) fn promoted(
        &mut self,
        ops: &[(Val, Span)],
        name: &str,
    ) -> Result<(Vec<Array>, DType), Diag> {
        let (lazy, dtype) = self.promoted_lazy(ops, name)?;
        let mut out = Vec::with_capacity(ops.len());
        for (l, (_, s)) in lazy.iter().zip(ops) {
            out.push(self.exec.materialize(l).at(*s)?);
        }
        Ok((out, dtype))
    }

    /// `v` (an operand with one distinct label per axis, `labels`) computed by one fused
    /// kernel into a new buffer whose memory order is `order` (a permutation of `labels`);
    /// returned as a view with the axes in `labels` order. An array is returned as it is.
    pub(super) fn pack(
        &mut self,
        v: &Lazy,
        labels: &[Label],
        order: &[Label],
        what: &str,
        span: Span,
    ) -> Result<Array, Diag> {
        if let Some(a) = v.as_leaf() {
            return Ok(a.clone());
        }
        let perm: Option<Vec<usize>> = labels
            .iter()
            .map(|l| order.iter().position(|x| x == l))
            .collect();
        let shape: Option<Vec<usize>> = order
            .iter()
            .map(|l| labels.iter().position(|x| x == l).map(|p| v.shape()[p]))
            .collect();
        let (Some(perm), Some(shape), true) = (perm, shape, order.len() == labels.len()) else {
            return self.exec.materialize(v).at(span);
        };
        let buf = Array::empty(v.dtype(), &shape).at(span)?;
        // View axis p (label labels[p]) is buffer axis perm[p].
        let view = buf.transpose(Some(&perm)).at(span)?;
        if self.exec.trace.is_some() {
            let t = |ls: &[Label]| ls.iter().collect::<String>();
            let step = EinsumStep {
                spec: what.to_string(),
                report: format!(
                    "producer fused into the GEMM's operand: the kernel below writes the {} operand '{}' straight into the buffer the GEMM reads, in '{}' order (no copy before the GEMM)",
                    v.dtype(),
                    t(labels),
                    t(order),
                ),
                calls: 1,
            };
            self.exec.record(Step::Einsum(step));
        }
        let out_shape = view.shape().to_vec();
        self.exec
            .run(
                &[(v, None)],
                &out_shape,
                &[],
                std::slice::from_ref(&view),
                Dest::Operand,
            )
            .at(span)?;
        Ok(view)
    }
}

/// The memory order a GEMM wants for operand `i` of `plan` when the plan's first step is a
/// GEMM on it: (batch, m, k) for the step's first operand, (batch, k, n) for the second, with
/// `k` in the order the first operand walks it (`first_k`: the first operand's contracted
/// labels from largest stride to smallest, when it is an array). `None` when the operand has
/// repeated labels or labels the step sums out of it alone (those take other paths).
pub(super) fn gemm_order(
    plan: &Plan,
    i: usize,
    raw: &[Label],
    first_k: Option<&[Label]>,
) -> Option<Vec<Label>> {
    let step = plan.steps.first()?;
    if !matches!(step.kind, StepKind::Gemm { .. }) || step.operands.len() != 2 {
        return None;
    }
    let side = step.operands.iter().position(|&p| p == i)?;
    let me = &step.inputs[side];
    let other = &step.inputs[1 - side];
    if me.as_slice() != raw {
        return None;
    }
    let out = &step.result;
    if me.iter().any(|l| !other.contains(l) && !out.contains(l)) {
        return None;
    }
    let batch = out.iter().filter(|l| me.contains(l) && other.contains(l));
    let own = out.iter().filter(|l| me.contains(l) && !other.contains(l));
    let first = &step.inputs[0];
    let k_default: Vec<Label> = first
        .iter()
        .copied()
        .filter(|l| step.inputs[1].contains(l) && !out.contains(l))
        .collect();
    let k = first_k.map_or(k_default, |k| k.to_vec());
    let mut order: Vec<Label> = batch.copied().collect();
    if side == 0 {
        order.extend(own.copied());
        order.extend(k.iter().copied());
    } else {
        order.extend(k.iter().copied());
        order.extend(own.copied());
    }
    Some(order)
}

/// The contracted labels of an array operand from largest stride to smallest (as the GEMM
/// orders `k`).
pub(super) fn k_by_stride(a: &Array, labels: &[Label], k: &[Label]) -> Vec<Label> {
    let mut k = k.to_vec();
    k.sort_by_key(|l| {
        std::cmp::Reverse(
            labels
                .iter()
                .position(|x| x == l)
                .map_or(0, |p| a.strides()[p].unsigned_abs()),
        )
    });
    k
}
