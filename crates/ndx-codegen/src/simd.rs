//! The vector inner loop: when it applies ([`plan`]) and how it is emitted ([`inner_loop`]),
//! including vector accumulators for reductions along the innermost axis.
//!
//! Invariants: a kernel is vectorised only when every array is contiguous or broadcast along
//! the innermost axis, every value it touches in memory has the same width (4 bytes: f32/i32,
//! or 8 bytes: f64/i64; never bool), and every needed node has a vector form. Bool values
//! inside such a kernel are lane masks (all ones / all zeros) of that width and never reach
//! memory. Vector code computes exactly what the scalar code computes lane by lane, except
//! that reductions combine in a different order (allowed for floats, exact for ints). Math
//! functions come from [`crate::vmath`], whose scalar form is lane 0 of the same vector code,
//! so the scalar tail agrees with the vector body bit for bit.

use crate::lower::{combine_values, data_flags, identity, Lowering};
use crate::scalar::{self, clif_type};
use crate::{vmath, CodegenError};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use ndx_ir::kernel::{BinaryOp, Op, ReduceOp, UnaryOp};
use ndx_ir::loops::{Inner, Nest};
use ndx_runtime::DType;

/// How the inner loop is vectorised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Element width in bytes (4 or 8).
    pub width: u8,
    /// Lanes per 128-bit vector.
    pub lanes: u8,
    /// Vectors per loop iteration, each with its own accumulator in a reduction. Elementwise:
    /// 2 (measured 20% faster than 1 on axpy, 4 no better). Reductions: [`REDUCE_UNROLL`].
    pub unroll: u8,
}

/// Vectors per iteration (and independent accumulators) of a vectorised reduction. A
/// reduction along the contiguous axis is bound by the latency of its accumulating add with
/// one or two accumulators; more independent ones let the adds overlap until loads or the
/// adder's throughput bind. Measured (BENCHMARKS.md, issue 3): 4 runs `outer_sum` about 1.5x
/// faster than 2 and than 8 (whose accumulators, loads and products overflow the 16 xmm
/// registers); `sum` of 10M f32 is memory-bound at any of them.
pub(crate) const REDUCE_UNROLL: u8 = 4;

/// Decides whether the innermost loop of `nest` is vectorised, given which nodes are needed.
pub(crate) fn plan(nest: &Nest, needed: &[bool]) -> Option<Plan> {
    let k = &nest.kernel;
    if nest.rank == 0 {
        return None;
    }
    if nest.inner.contains(&Inner::Strided) {
        return None;
    }
    let reduces = k.reduces();
    if reduces {
        // Vector accumulators only along a reduced innermost axis, for sum/min/max.
        if nest.reduce_from >= nest.rank {
            return None;
        }
        if !k.outputs.iter().all(|o| {
            matches!(
                o.reduce,
                Some(ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max)
            )
        }) {
            return None;
        }
    } else if nest
        .inner
        .iter()
        .skip(k.inputs.len())
        .any(|c| *c != Inner::Contiguous)
    {
        return None;
    }
    let mut width = None;
    let mut check = |d: DType| -> bool {
        if d == DType::Bool {
            return false;
        }
        let w = d.size();
        *width.get_or_insert(w) == w
    };
    for o in &k.outputs {
        if !check(o.dtype(k)) {
            return None;
        }
    }
    for (i, node) in k.nodes.iter().enumerate() {
        if !needed.get(i).copied().unwrap_or(false) {
            continue;
        }
        if node.dtype != DType::Bool && !check(node.dtype) {
            return None;
        }
        let ok = match &node.op {
            Op::Input(_) => node.dtype != DType::Bool,
            Op::Const(_) => true,
            Op::Cast(a) => {
                let from = k.dtype(*a);
                from != DType::Bool && node.dtype != DType::Bool
            }
            Op::Select(..) => true,
            Op::Unary(op, a) => vector_unary(*op, k.dtype(*a)),
            Op::Binary(op, a, _) => vector_binary(*op, k.dtype(*a)),
        };
        if !ok {
            return None;
        }
    }
    let width = width? as u8;
    Some(Plan {
        width,
        lanes: 16 / width,
        unroll: if reduces { REDUCE_UNROLL } else { 2 },
    })
}

pub(crate) fn vector_unary(op: UnaryOp, d: DType) -> bool {
    use UnaryOp as U;
    match d {
        DType::F32 | DType::F64 => {
            matches!(
                op,
                U::Neg | U::Abs | U::Sqrt | U::Floor | U::Ceil | U::Trunc | U::Round | U::IsNan
            ) || vmath::has_unary(op)
        }
        DType::I32 | DType::I64 => matches!(
            op,
            U::Neg | U::Not | U::Floor | U::Ceil | U::Trunc | U::Round
        ),
        DType::Bool => op == U::Not,
    }
}

pub(crate) fn vector_binary(op: BinaryOp, d: DType) -> bool {
    use BinaryOp as B;
    if op.is_comparison() {
        return d != DType::Bool;
    }
    match d {
        DType::F32 | DType::F64 => {
            matches!(op, B::Add | B::Sub | B::Mul | B::Div | B::Min | B::Max)
                || vmath::has_binary(op)
        }
        DType::I32 | DType::I64 => {
            matches!(
                op,
                B::Add | B::Sub | B::Mul | B::BitAnd | B::BitOr | B::BitXor | B::Min | B::Max
            )
        }
        DType::Bool => matches!(op, B::BitAnd | B::BitOr | B::BitXor),
    }
}

/// The vector type holding dtype `d` (bool: the mask type) under `plan`.
pub(crate) fn vtype(plan: Plan, d: DType) -> Type {
    match (d, plan.width) {
        (DType::F32, _) => types::F32X4,
        (DType::F64, _) => types::F64X2,
        (DType::I32, _) => types::I32X4,
        (DType::I64, _) => types::I64X2,
        (DType::Bool, 4) => types::I32X4,
        (DType::Bool, _) => types::I64X2,
    }
}

/// Declares the vector accumulators of every reduced output, initialised to the identity.
pub(crate) fn init_vector_accs(l: &mut Lowering, plan: Plan) {
    for a in 0..l.accs.len() {
        let (op, dtype) = (l.accs[a].op, l.accs[a].dtype);
        let vt = vtype(plan, dtype);
        let s = scalar::constant(&mut l.b, identity(op, dtype));
        let v = l.b.ins().splat(vt, s);
        let vars: Vec<Variable> = (0..plan.unroll)
            .map(|_| {
                let var = l.b.declare_var(vt);
                l.b.def_var(var, v);
                var
            })
            .collect();
        l.accs[a].vec = vars;
    }
}

/// Folds the vector accumulators into the scalar ones (after the reduced loops).
pub(crate) fn fold_vector_accs(l: &mut Lowering, plan: Plan) -> Result<(), CodegenError> {
    for a in 0..l.accs.len() {
        let (op, dtype) = (l.accs[a].op, l.accs[a].dtype);
        let vars = std::mem::take(&mut l.accs[a].vec);
        let mut level: Vec<Value> = vars.iter().map(|v| l.b.use_var(*v)).collect();
        // A pairwise tree: fewer dependent steps, and partial sums of similar size.
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut it = level.into_iter();
            while let Some(x) = it.next() {
                next.push(match it.next() {
                    Some(y) => vcombine(&mut l.b, plan, op, dtype, x, y),
                    None => x,
                });
            }
            level = next;
        }
        let Some(&t) = level.first() else {
            continue;
        };
        let mut s = l.b.use_var(l.accs[a].acc);
        for lane in 0..plan.lanes {
            let x = l.b.ins().extractlane(t, lane);
            s = combine_values(&mut l.b, op, dtype, s, x);
        }
        l.b.def_var(l.accs[a].acc, s);
    }
    Ok(())
}

/// `acc op v` on vectors.
fn vcombine(
    b: &mut FunctionBuilder,
    plan: Plan,
    op: ReduceOp,
    d: DType,
    a: Value,
    v: Value,
) -> Value {
    match op {
        ReduceOp::Min | ReduceOp::Max if d.is_float() => {
            vminmax(b, plan, d, op == ReduceOp::Max, a, v)
        }
        _ => combine_values(b, op, d, a, v),
    }
}

/// NumPy `maximum`/`minimum` of vectors: `x` where `x >= y` (`<=`) or `x` is NaN, else `y`.
/// Three instructions: `maxps(y, x)` (`minps`), which yields `y` only where `y` beats `x` and
/// `x` on ties and on any NaN, then a blend of `y` where `y` is NaN. (Where both are NaN the
/// result is `y`'s NaN rather than `x`'s: a NaN either way.)
fn vminmax(b: &mut FunctionBuilder, plan: Plan, d: DType, max: bool, x: Value, y: Value) -> Value {
    let vt = vtype(plan, d);
    // The operand order Cranelift matches to one `maxps y, x` / `minps y, x`.
    let beats = if max {
        b.ins().fcmp(FloatCC::LessThan, x, y)
    } else {
        b.ins().fcmp(FloatCC::LessThan, y, x)
    };
    let beats = as_type(b, vt, beats);
    let best = b.ins().bitselect(beats, y, x);
    let y_nan = b.ins().fcmp(FloatCC::Unordered, y, y);
    let y_nan = as_type(b, vt, y_nan);
    b.ins().bitselect(y_nan, y, best)
}

/// Reinterprets the mask `m` as a vector of type `vt` (a no-op when it already is one).
fn as_type(b: &mut FunctionBuilder, vt: Type, m: Value) -> Value {
    if b.func.dfg.value_type(m) == vt {
        m
    } else {
        b.ins().bitcast(vt, MemFlagsData::new(), m)
    }
}

/// The innermost loop as vectors of `plan.lanes` plus a scalar tail: a loop of `plan.unroll`
/// vectors per iteration, then (when unrolled) a loop of single vectors, then scalars, so at
/// most `lanes - 1` points of a row run as scalar code.
pub(crate) fn inner_loop(l: &mut Lowering, ptrs: &[Value]) -> Result<(), CodegenError> {
    let plan = l
        .plan
        .ok_or_else(|| CodegenError::Internal("vector loop without a plan".into()))?;
    let d = l.nest.rank - 1;
    let n = l.shape[d];
    let step = i64::from(plan.lanes) * i64::from(plan.unroll);
    let i = l.b.declare_var(types::I64);
    let pv: Vec<Variable> = ptrs.iter().map(|_| l.b.declare_var(types::I64)).collect();
    let zero = l.b.ins().iconst(types::I64, 0);
    l.b.def_var(i, zero);
    for (v, p) in pv.iter().zip(ptrs) {
        l.b.def_var(*v, *p);
    }
    let pre_blk = l.b.create_block();
    let vhead = l.b.create_block();
    let single = l.b.create_block();
    let tail = l.b.create_block();
    let exit = l.b.create_block();
    let empty = l.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
    l.b.ins().brif(empty, exit, &[], pre_blk, &[]);

    // Pre-header: broadcast inputs loaded once, as scalars for the tail and splats.
    l.b.switch_to_block(pre_blk);
    let inv = l.invariant_inputs();
    let pre = l.load_inputs(ptrs, &inv);
    let vpre: Vec<Option<Value>> = pre
        .iter()
        .enumerate()
        .map(|(a, s)| {
            let vt = vtype(plan, l.array_dtype(a));
            s.map(|s| l.b.ins().splat(vt, s))
        })
        .collect();
    let nv = l.b.ins().band_imm_s(n, -step);
    let no_vec = l.b.ins().icmp_imm_s(IntCC::Equal, nv, 0);
    l.b.ins().brif(no_vec, single, &[], vhead, &[]);

    // Rotated loops (bottom-tested, entered only when they run at least once) so that LICM
    // hoists invariant splats and constants out of them.
    l.b.switch_to_block(vhead);
    vector_steps(l, plan, &pv, i, &vpre, plan.unroll)?;
    let iv = l.b.use_var(i);
    let more = l.b.ins().icmp(IntCC::SignedLessThan, iv, nv);
    l.b.ins().brif(more, vhead, &[], single, &[]);

    l.b.switch_to_block(single);
    if plan.unroll > 1 {
        let body = l.b.create_block();
        let n1 = l.b.ins().band_imm_s(n, -i64::from(plan.lanes));
        let iv = l.b.use_var(i);
        let some = l.b.ins().icmp(IntCC::SignedLessThan, iv, n1);
        l.b.ins().brif(some, body, &[], tail, &[]);
        l.b.switch_to_block(body);
        vector_steps(l, plan, &pv, i, &vpre, 1)?;
        let iv = l.b.use_var(i);
        let more = l.b.ins().icmp(IntCC::SignedLessThan, iv, n1);
        l.b.ins().brif(more, body, &[], tail, &[]);
    } else {
        l.b.ins().jump(tail, &[]);
    }

    l.b.switch_to_block(tail);
    l.tail_loop(i, &pv, n, &pre)?;
    l.b.ins().jump(exit, &[]);
    l.b.switch_to_block(exit);
    Ok(())
}

/// `count` consecutive vectors of the inner loop at the pointers in `pv`: stores, or combines
/// vector `j` into accumulator `j`; then advances the index `i` and the pointers past them.
fn vector_steps(
    l: &mut Lowering,
    plan: Plan,
    pv: &[Variable],
    i: Variable,
    vpre: &[Option<Value>],
    count: u8,
) -> Result<(), CodegenError> {
    let ni = l.nest.kernel.inputs.len();
    let p: Vec<Value> = pv.iter().map(|v| l.b.use_var(*v)).collect();
    let vbytes = i64::from(plan.lanes) * i64::from(plan.width);
    for j in 0..count {
        let off = (i64::from(j) * vbytes) as i32;
        let vals = vvalues(l, plan, &p, off, vpre)?;
        for o in 0..l.nest.kernel.outputs.len() {
            let h = l.nest.kernel.outputs[o].value.index();
            let v = vals
                .get(h)
                .copied()
                .flatten()
                .ok_or_else(|| CodegenError::Internal("output not evaluated".into()))?;
            if let Some(acc) = l.accs.get(o).filter(|a| !a.vec.is_empty()) {
                let (op, dtype, var) = (acc.op, acc.dtype, acc.vec[usize::from(j) % acc.vec.len()]);
                let a = l.b.use_var(var);
                let r = vcombine(&mut l.b, plan, op, dtype, a, v);
                l.b.def_var(var, r);
            } else {
                l.b.ins().store(data_flags(), v, p[ni + o], off);
            }
        }
    }
    let elems = i64::from(plan.lanes) * i64::from(count);
    let iv = l.b.use_var(i);
    let i1 = l.b.ins().iadd_imm_s(iv, elems);
    l.b.def_var(i, i1);
    for (a, v) in pv.iter().enumerate() {
        if l.nest.inner.get(a) == Some(&Inner::Contiguous) {
            let next = l.b.ins().iadd_imm_s(p[a], elems * i64::from(plan.width));
            l.b.def_var(*v, next);
        }
    }
    Ok(())
}

/// Evaluates the needed nodes on one vector of points at byte offset `off`.
fn vvalues(
    l: &mut Lowering,
    plan: Plan,
    ptrs: &[Value],
    off: i32,
    vpre: &[Option<Value>],
) -> Result<Vec<Option<Value>>, CodegenError> {
    let k = &l.nest.kernel;
    let mut vals: Vec<Option<Value>> = vec![None; k.nodes.len()];
    let mut loaded: Vec<Option<Value>> = vec![None; k.inputs.len()];
    for (i, node) in k.nodes.iter().enumerate() {
        if !l.needed[i] {
            continue;
        }
        let get = |h: &ndx_ir::Handle| {
            vals[h.index()]
                .ok_or_else(|| CodegenError::Internal(format!("node {i} uses an unevaluated node")))
        };
        let vt = vtype(plan, node.dtype);
        let b = &mut l.b;
        let v = match &node.op {
            Op::Input(j) => {
                let j = *j as usize;
                match (
                    vpre.get(j).copied().flatten(),
                    loaded.get(j).copied().flatten(),
                ) {
                    (Some(v), _) | (None, Some(v)) => v,
                    (None, None) => {
                        let p = *ptrs
                            .get(j)
                            .ok_or_else(|| CodegenError::Internal(format!("no input {j}")))?;
                        let v = if l.nest.inner.get(j) == Some(&Inner::Broadcast) {
                            let s = b.ins().load(clif_type(node.dtype), data_flags(), p, 0);
                            b.ins().splat(vt, s)
                        } else {
                            b.ins().load(vt, data_flags(), p, off)
                        };
                        loaded[j] = Some(v);
                        v
                    }
                }
            }
            Op::Const(s) => {
                if node.dtype == DType::Bool {
                    let bits = if s.to_f64() != 0.0 { -1 } else { 0 };
                    let lane = vt.lane_type();
                    let c = scalar::iconst(b, lane, bits);
                    b.ins().splat(vt, c)
                } else {
                    let c = scalar::constant(b, *s);
                    b.ins().splat(vt, c)
                }
            }
            Op::Unary(op, a) => {
                let x = get(a)?;
                let d = k.dtype(*a);
                if d.is_float() && vmath::has_unary(*op) {
                    vmath::vunary(b, &mut l.host, *op, d, x)?
                } else {
                    vunary(b, *op, d, x)?
                }
            }
            Op::Binary(op, a, c) => {
                let (x, y) = (get(a)?, get(c)?);
                let d = k.dtype(*a);
                match vmath::small_exponent(k, *c) {
                    Some(e) if *op == BinaryOp::Pow && d.is_float() => vmath::pow_small(b, d, x, e),
                    _ if d.is_float() && vmath::has_binary(*op) => {
                        vmath::vbinary(b, &mut l.host, *op, d, x, y)?
                    }
                    _ => vbinary(b, plan, *op, d, x, y)?,
                }
            }
            Op::Select(c, a, d) => {
                let (c, x, y) = (get(c)?, get(a)?, get(d)?);
                let m = as_type(b, vt, c);
                b.ins().bitselect(m, x, y)
            }
            Op::Cast(a) => {
                let x = get(a)?;
                let from = k.dtype(*a);
                match (from.is_float(), node.dtype.is_float()) {
                    _ if from == node.dtype => x,
                    (false, true) => b.ins().fcvt_from_sint(vt, x),
                    (true, false) => b.ins().fcvt_to_sint_sat(vt, x),
                    _ => {
                        return Err(CodegenError::Internal(format!(
                            "vector cast {from} to {}",
                            node.dtype
                        )))
                    }
                }
            }
        };
        vals[i] = Some(v);
    }
    Ok(vals)
}

pub(crate) fn vunary(
    b: &mut FunctionBuilder,
    op: UnaryOp,
    d: DType,
    x: Value,
) -> Result<Value, CodegenError> {
    use UnaryOp as U;
    let float = d.is_float();
    Ok(match op {
        U::Neg if float => b.ins().fneg(x),
        U::Neg => b.ins().ineg(x),
        U::Not => b.ins().bnot(x),
        U::Abs if float => b.ins().fabs(x),
        U::Sqrt if float => b.ins().sqrt(x),
        U::Floor if float => b.ins().floor(x),
        U::Ceil if float => b.ins().ceil(x),
        U::Trunc if float => b.ins().trunc(x),
        U::Round if float => b.ins().nearest(x),
        U::Floor | U::Ceil | U::Trunc | U::Round if !float => x,
        U::IsNan if float => b.ins().fcmp(FloatCC::Unordered, x, x),
        _ => {
            return Err(CodegenError::Internal(format!(
                "no vector form of {op:?} on {d}"
            )))
        }
    })
}

pub(crate) fn vbinary(
    b: &mut FunctionBuilder,
    plan: Plan,
    op: BinaryOp,
    d: DType,
    x: Value,
    y: Value,
) -> Result<Value, CodegenError> {
    use BinaryOp as B;
    if op.is_comparison() {
        return Ok(scalar::compare(b, op, d, x, y));
    }
    let float = d.is_float();
    Ok(match op {
        B::Add if float => b.ins().fadd(x, y),
        B::Sub if float => b.ins().fsub(x, y),
        B::Mul if float => b.ins().fmul(x, y),
        B::Div if float => b.ins().fdiv(x, y),
        B::Min | B::Max if float => vminmax(b, plan, d, op == B::Max, x, y),
        B::Add => b.ins().iadd(x, y),
        B::Sub => b.ins().isub(x, y),
        B::Mul => b.ins().imul(x, y),
        B::Min => b.ins().smin(x, y),
        B::Max => b.ins().smax(x, y),
        B::BitAnd => b.ins().band(x, y),
        B::BitOr => b.ins().bor(x, y),
        B::BitXor => b.ins().bxor(x, y),
        _ => {
            return Err(CodegenError::Internal(format!(
                "no vector form of {op:?} on {d}"
            )))
        }
    })
}
