//! The contraction family (LANGUAGE.md section 5): `einsum`, `einsum_path`, `matmul` / `@`,
//! `dot`, `inner`, `outer`, `tensordot`, `trace`.
//!
//! Every function is lowered onto labelled operands: a spec (parsed and planned by
//! `ndx_ir::contract`, plans cached per session by spec, shapes, limit and dtype kind), or
//! labels built here from NumPy's rules for the named function. The runtime
//! (`ndx_runtime::ops::contract`) runs each pairwise step as a batched GEMM on strided views
//! or as a direct loop. Operands are promoted to one dtype first (NumPy's result type).
//!
//! This file holds the dispatch, `einsum` and the shared machinery (promotion, the plan
//! cache, GEMM and loop steps); `linalg.rs` the other functions' shape rules.
//!
//! Errors: spec mistakes (E0250) point at the spec string; shape mismatches (E0251) name both
//! shapes; bad axes (E0252), too few dimensions (E0253) and a bad `memory_limit` (E0254).

use super::as_str;
use super::pack::{gemm_order, k_by_stride};
use crate::args::Args;
use crate::epilogue::Pending;
use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::contract::{self, Label, Plan, PlanOptions, StepKind, GEMM_MIN};
use ndx_ir::kernel::{BinaryOp, ReduceOp};
use ndx_ir::shape::format_shape;
use ndx_runtime::ops::{aligned_view, contract_loop, label_view, presum};
use ndx_runtime::{Array, DType};
use ndx_syntax::ast::BinOp;
use ndx_syntax::Span;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The plan cache key: spec text, operand shapes, memory limit, whether the dtype has a GEMM.
pub(crate) type PlanKey = (String, Vec<Vec<usize>>, Option<u128>, bool);

/// Steps that loop over fewer points than this run in the runtime's direct loop; larger ones as
/// a fused kernel, whose launch costs a few microseconds.
const FUSED_MIN: u128 = 4096;

/// Plans kept per session before the cache is cleared.
const PLAN_CACHE_MAX: usize = 256;

/// Labels for axes made up here (never a letter, so never confused with a spec's).
pub(super) fn synth(i: usize) -> Label {
    char::from_u32(0x3B1 + i as u32).unwrap_or('?')
}

impl Interp {
    pub(super) fn builtin_contract(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        match name {
            "einsum" | "einsum_path" => self.einsum(name, a),
            "matmul" => {
                let b = a.bind(&["x1", "x2"])?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                self.matmul(x, xs, y, ys, span)
            }
            "dot" | "inner" => {
                let b = a.bind(&["a", "b"])?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                self.dot_inner(name, x, xs, y, ys, span)
            }
            "outer" => {
                let b = a.bind(&["a", "b"])?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                self.numeric(&x, xs, name)?;
                self.numeric(&y, ys, name)?;
                let x = self.as_array(&x, xs)?;
                let y = self.as_array(&y, ys)?;
                let col = x.ravel().at(xs)?.reshape(&[-1, 1]).at(xs)?;
                let row = y.ravel().at(ys)?.reshape(&[1, -1]).at(ys)?;
                self.binary(BinOp::Mul, Val::Array(col), Val::Array(row), span)
            }
            "tensordot" => {
                let b = a.bind(&["a", "b", "axes"])?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                self.tensordot(x, xs, y, ys, b.opt(2), span)
            }
            "trace" => {
                let b = a.bind(&["a", "offset"])?;
                let (x, xs) = b.req(0)?;
                self.numeric(&x, xs, name)?;
                let offset = match b.opt(1) {
                    Some((o, os)) => self.as_int(&o, os)?,
                    None => 0,
                };
                let arr = self.as_array(&x, xs)?;
                if arr.ndim() < 2 {
                    return Err(err_at(
                        "E0253",
                        xs,
                        format!(
                            "`trace` needs an array of at least 2 dimensions, not shape {}",
                            format_shape(arr.shape())
                        ),
                    ));
                }
                let diag = arr.diagonal(offset, 0, 1).at(span)?;
                let sum = Args {
                    name: "trace".into(),
                    span,
                    pos: vec![(Val::Array(diag), xs), (Val::int(-1), span)],
                    kw: Vec::new(),
                };
                let b = sum.bind(&["a", "axis", "keepdims"])?;
                self.reduction("sum", &b, None)
            }
            _ => Err(err_at("E0101", span, format!("unknown function `{name}`"))),
        }
    }

    fn einsum(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        let Some((spec_val, spec_span)) = a.pos.first().cloned() else {
            return Err(err_at(
                "E0704",
                span,
                format!("`{name}` is missing its spec string"),
            )
            .with_note(format!("usage: {name}(\"ij,jk->ik\", a, b)")));
        };
        let spec_text = as_str(&spec_val, spec_span)?;
        let mut memory_limit = None;
        for (k, ks, v, vs) in &a.kw {
            if k == "optimize" {
                // NumPy's switch: ndx always plans, and every setting gives the same values.
                match v {
                    Val::Weak {
                        value: ndx_runtime::Scalar::Bool(_),
                        ..
                    } => continue,
                    Val::Str(s) if s == "greedy" || s == "optimal" => continue,
                    _ => {
                        return Err(err_at(
                            "E0254",
                            *vs,
                            "optimize must be true, false, \"greedy\" or \"optimal\"",
                        ))
                    }
                }
            }
            if k != "memory_limit" {
                return Err(
                    err_at("E0702", *ks, format!("`{name}` has no parameter `{k}`")).with_note(
                        format!("usage: {name}(spec, *operands, memory_limit=n, optimize=true)"),
                    ),
                );
            }
            let n = self.as_int(v, *vs)?;
            let n = u128::try_from(n).map_err(|_| {
                err_at(
                    "E0254",
                    *vs,
                    format!("memory_limit must be a number of elements >= 0, got {n}"),
                )
            })?;
            memory_limit = Some(n);
        }
        let (lops, dtype) = self.promoted_lazy(&a.pos[1..], name)?;
        let shapes: Vec<Vec<usize>> = lops.iter().map(|o| o.shape().to_vec()).collect();
        let plan = self.plan_for(
            &spec_text,
            &shapes,
            memory_limit,
            dtype != DType::Bool,
            spec_span,
        )?;
        if name == "einsum_path" {
            return Ok(Val::Str(plan.to_string()));
        }
        let spec = &plan.spec;
        let ops = self.einsum_operands(&lops, &plan, span)?;
        let mut cur: Vec<(Array, Vec<Label>)> = Vec::with_capacity(ops.len());
        for (o, ls) in ops.iter().zip(&spec.inputs) {
            cur.push(label_view(o, ls, &spec.sizes).at(span)?);
        }
        // One operand and nothing summed (a transpose, a diagonal): a view, as NumPy returns.
        if let ([(v, ls)], [step]) = (&cur[..], &plan.steps[..]) {
            if ls.len() == step.result.len() {
                let axes: Vec<usize> = step
                    .result
                    .iter()
                    .filter_map(|l| ls.iter().position(|x| x == l))
                    .collect();
                return Ok(Val::Array(v.transpose(Some(&axes)).at(span)?));
            }
        }
        for step in &plan.steps {
            let mut ins: Vec<(Array, Vec<Label>)> = Vec::with_capacity(step.operands.len());
            for &p in step.operands.iter().rev() {
                if p >= cur.len() {
                    return Err(ndx_syntax::Diagnostic::bug("einsum plan out of range"));
                }
                ins.push(cur.remove(p));
            }
            ins.reverse();
            let r = match (&ins[..], &step.kind) {
                ([x, y], StepKind::Gemm { .. }) => {
                    let p = self.gemm_step(x, y, &step.result, &spec.sizes, span)?;
                    if cur.is_empty() {
                        // The last step: its result is the value, so the statement's
                        // elementwise work on it can run as its epilogue.
                        return Ok(Val::Lazy(Lazy::pending(p)));
                    }
                    p.force().at(span)?
                }
                _ => self.loop_step(&ins, &step.result, &spec.sizes, span)?,
            };
            cur.push((r, step.result.clone()));
        }
        match cur.pop() {
            Some((r, _)) if cur.is_empty() => Ok(Val::Array(r)),
            _ => Err(ndx_syntax::Diagnostic::bug("einsum plan left operands")),
        }
    }

    /// The operands as arrays: an elementwise operand of a first-step GEMM is computed straight
    /// into the layout the GEMM reads (see `pack.rs`), any other is materialised.
    fn einsum_operands(
        &mut self,
        lops: &[Lazy],
        plan: &Plan,
        span: Span,
    ) -> Result<Vec<Array>, Diag> {
        let spec = &plan.spec;
        let mut ops: Vec<Option<Array>> = lops.iter().map(|l| l.as_leaf().cloned()).collect();
        for i in 0..lops.len() {
            if ops[i].is_some() {
                continue;
            }
            // The k order of an array partner that comes first in the step.
            let first_k = plan.steps.first().and_then(|st| {
                let p0 = *st.operands.first()?;
                let (a, raw) = (ops.get(p0)?.as_ref()?, spec.inputs.get(p0)?);
                let k: Vec<Label> = st.inputs[0]
                    .iter()
                    .copied()
                    .filter(|l| st.inputs.get(1).is_some_and(|b| b.contains(l)))
                    .filter(|l| !st.result.contains(l))
                    .collect();
                (p0 != i && raw == &st.inputs[0]).then(|| k_by_stride(a, raw, &k))
            });
            let arr = match gemm_order(plan, i, &spec.inputs[i], first_k.as_deref()) {
                Some(order) => {
                    let what = format!("einsum operand {i} of {}", spec.text());
                    self.pack(&lops[i], &spec.inputs[i], &order, &what, span)?
                }
                None => self.exec.materialize(&lops[i]).at(span)?,
            };
            ops[i] = Some(arr);
        }
        ops.into_iter()
            .map(|o| o.ok_or_else(|| ndx_syntax::Diagnostic::bug("einsum operand missing")))
            .collect()
    }

    /// The cached plan of a spec for these shapes.
    fn plan_for(
        &mut self,
        spec: &str,
        shapes: &[Vec<usize>],
        memory_limit: Option<u128>,
        gemm: bool,
        spec_span: Span,
    ) -> Result<Arc<Plan>, Diag> {
        let key: PlanKey = (spec.to_string(), shapes.to_vec(), memory_limit, gemm);
        if let Some(p) = self.plans.get(&key).cloned() {
            self.trace_plan(&p);
            return Ok(p);
        }
        let parsed =
            contract::parse(spec, shapes).map_err(|e| err_at("E0250", spec_span, e.to_string()))?;
        let plan = Arc::new(contract::plan(&parsed, PlanOptions { memory_limit, gemm }));
        if self.plans.len() >= PLAN_CACHE_MAX {
            self.plans.clear();
        }
        self.plans.insert(key, plan.clone());
        self.trace_plan(&plan);
        Ok(plan)
    }

    fn trace_plan(&mut self, plan: &Plan) {
        if self.exec.trace.is_some() {
            let step = crate::explain::EinsumStep {
                spec: plan.spec.text(),
                report: plan.to_string(),
                calls: 1,
            };
            self.exec.record(crate::explain::Step::Einsum(step));
        }
    }

    /// Contracts two labelled arrays of one dtype: GEMM for large products (not bools), else a
    /// loop. A GEMM is returned pending, so elementwise work on it can be its epilogue.
    pub(super) fn contract2(
        &mut self,
        (x, lx): (&Array, &[Label]),
        (y, ly): (&Array, &[Label]),
        out: &[Label],
        sizes: &BTreeMap<Label, usize>,
        span: Span,
    ) -> Result<Val, Diag> {
        let (x, lx) = label_view(x, lx, sizes).at(span)?;
        let (y, ly) = label_view(y, ly, sizes).at(span)?;
        let work = sizes
            .iter()
            .filter(|(l, _)| !(lx.contains(l) && ly.contains(l) && out.contains(l)))
            .fold(1u128, |acc, (_, &n)| acc.saturating_mul(n as u128));
        let gemm = x.dtype() != DType::Bool && work >= GEMM_MIN;
        if self.exec.trace.is_some() {
            let t = |ls: &[Label]| ls.iter().collect::<String>();
            let dims: Vec<String> = sizes.iter().map(|(l, n)| format!("{l}={n}")).collect();
            let step = crate::explain::EinsumStep {
                spec: format!("{},{}->{}", t(&lx), t(&ly), t(out)),
                report: format!(
                    "pairwise contraction over {}: {work} multiply-adds, run as {}",
                    dims.join(", "),
                    if gemm { "GEMM" } else { "loop" }
                ),
                calls: 1,
            };
            self.exec.record(crate::explain::Step::Einsum(step));
        }
        if gemm {
            let p = self.gemm_step(&(x, lx), &(y, ly), out, sizes, span)?;
            Ok(Val::Lazy(Lazy::pending(p)))
        } else {
            Ok(Val::Array(self.loop_step(
                &[(x, lx), (y, ly)],
                out,
                sizes,
                span,
            )?))
        }
    }

    /// A pairwise GEMM step, not run yet (see `crate::epilogue`). Labels that only one operand
    /// has and the result drops are summed out first by a fused kernel, so the GEMM sees batch,
    /// m, n and k labels only.
    fn gemm_step(
        &mut self,
        x: &(Array, Vec<Label>),
        y: &(Array, Vec<Label>),
        out: &[Label],
        sizes: &BTreeMap<Label, usize>,
        span: Span,
    ) -> Result<Arc<Pending>, Diag> {
        let mut sides = Vec::with_capacity(2);
        for (me, other) in [(x, y), (y, x)] {
            let keep: Vec<Label> =
                me.1.iter()
                    .copied()
                    .filter(|l| other.1.contains(l) || out.contains(l))
                    .collect();
            if keep.len() < me.1.len() {
                // Rows added along the contiguous axis when the layout allows (a vectorised
                // pass over the operand), else a fused reduction kernel.
                match presum(&me.0, &me.1, &keep, sizes).at(span)? {
                    Some(r) => sides.push(r),
                    None => {
                        let r = self.loop_step(std::slice::from_ref(me), &keep, sizes, span)?;
                        sides.push((r, keep));
                    }
                }
            } else {
                sides.push(me.clone());
            }
        }
        let b = sides.pop();
        match (sides.pop(), b) {
            (Some(a), Some(b)) => Ok(Arc::new(Pending::new(a, b, out, sizes, self.threads))),
            _ => Err(ndx_syntax::Diagnostic::bug(
                "a GEMM step without two operands",
            )),
        }
    }

    /// A step that is not a GEMM: small ones in the runtime's direct loop, larger ones as one
    /// fused kernel (the operands multiplied over a shared iteration space, the summed labels
    /// reduced innermost), which is vectorised, threaded and compiled once per structure.
    fn loop_step(
        &mut self,
        ins: &[(Array, Vec<Label>)],
        out: &[Label],
        sizes: &BTreeMap<Label, usize>,
        span: Span,
    ) -> Result<Array, Diag> {
        let mut order: Vec<Label> = out.to_vec();
        for (_, ls) in ins {
            for l in ls {
                if !order.contains(l) {
                    order.push(*l);
                }
            }
        }
        let shape: Vec<usize> = order
            .iter()
            .map(|l| sizes.get(l).copied().unwrap_or(1))
            .collect();
        let iters = shape
            .iter()
            .fold(1u128, |acc, &n| acc.saturating_mul(n as u128));
        let dtype = match ins.first() {
            Some((a, _)) if iters >= FUSED_MIN => a.dtype(),
            _ => {
                let refs: Vec<(&Array, &[Label])> = ins.iter().map(|(a, l)| (a, &l[..])).collect();
                return contract_loop(&refs, out, sizes).at(span);
            }
        };
        let mut prod: Option<Lazy> = None;
        for (a, ls) in ins {
            let leaf = Lazy::leaf(aligned_view(a, ls, &order, sizes).at(span)?);
            prod = Some(match prod {
                None => leaf,
                Some(p) => Lazy::binary(BinaryOp::Mul, &p, &leaf, shape.clone()),
            });
        }
        let prod = prod.ok_or_else(|| ndx_syntax::Diagnostic::bug("a step without operands"))?;
        if order.len() == out.len() {
            let r = Array::empty(dtype, &shape).at(span)?;
            self.exec.write_into(&prod, &r).at(span)?;
            return Ok(r);
        }
        let reduced: Vec<bool> = order.iter().map(|l| !out.contains(l)).collect();
        match dtype {
            DType::Bool => self.exec.reduce(&prod, ReduceOp::Any, &reduced).at(span),
            d if d.is_float() => self.sum(&prod, &reduced, span),
            _ => self.exec.reduce(&prod, ReduceOp::Sum, &reduced).at(span),
        }
    }
}
