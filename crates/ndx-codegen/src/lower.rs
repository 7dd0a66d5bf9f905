//! Lowering a [`Nest`] to one Cranelift function: the loop nest, the per-point evaluation of the
//! node graph, reductions, and the choice of the vector inner loop.
//!
//! Shape of the generated code (calling convention in [`ndx_ir::loops`]): the entry block loads
//! the shape, pointers and strides from `words`; each axis is a rotated loop (a guard that skips
//! empty extents, then a bottom-tested body) so that Cranelift's LICM hoists invariant code
//! out of it. Each array's pointer is carried per loop level and advanced by its byte stride
//! (no index multiplications). Axes `reduce_from..rank` are reduced: accumulators are
//! initialised just before the loop of axis `reduce_from`, combined at every point and stored
//! after it. The innermost axis runs as a vector loop plus a scalar tail when [`simd::plan`]
//! allows.
//!
//! Invariants: no memory is read before the guard of every enclosing loop has checked that
//! its extent is non-zero (an empty array's pointer may dangle); loads of inputs are `notrap`
//! but never `readonly`/`can_move`, because an output may be the same memory as an input.

use crate::scalar::{self, clif_type, Host};
use crate::simd::{self, Plan};
use crate::{vmath, CodegenError};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use ndx_ir::kernel::{BinaryOp, Op, ReduceOp};
use ndx_ir::loops::{Inner, Nest};
use ndx_runtime::{DType, Scalar};

/// Flags for loads and stores of array elements: the caller guarantees every address the nest
/// touches is valid, so nothing traps.
pub(crate) fn data_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// State of one reduced output.
pub(crate) struct Acc {
    /// The reduction.
    pub op: ReduceOp,
    /// The dtype of the reduced value.
    pub dtype: DType,
    /// The scalar accumulator (best value for arg reductions).
    pub acc: Variable,
    /// The index of the best value, for `ArgMin`/`ArgMax`.
    pub idx: Option<Variable>,
    /// Vector accumulators, when the inner loop is vectorised.
    pub vec: Vec<Variable>,
}

/// Lowers one nest into the function `b` is building.
pub(crate) struct Lowering<'n, 'f, 'm> {
    pub b: FunctionBuilder<'f>,
    pub host: Host<'m>,
    pub nest: &'n Nest,
    /// Per node: does some output depend on it?
    pub needed: Vec<bool>,
    /// Per input: is it read?
    pub used: Vec<bool>,
    pub shape: Vec<Value>,
    strides: Vec<Vec<Value>>,
    pub accs: Vec<Acc>,
    /// Flat index over the reduced axes, for arg reductions.
    flat: Option<Variable>,
    pub plan: Option<Plan>,
}

impl<'n, 'f, 'm> Lowering<'n, 'f, 'm> {
    /// Prepares lowering `nest`; `plan` selects the vector inner loop.
    pub fn new(b: FunctionBuilder<'f>, host: Host<'m>, nest: &'n Nest, plan: Option<Plan>) -> Self {
        let k = &nest.kernel;
        let mut needed = vec![false; k.nodes.len()];
        for o in &k.outputs {
            if let Some(n) = needed.get_mut(o.value.index()) {
                *n = true;
            }
        }
        let mut used = vec![false; k.inputs.len()];
        for i in (0..k.nodes.len()).rev() {
            if !needed[i] {
                continue;
            }
            match &k.nodes[i].op {
                Op::Input(j) => {
                    if let Some(u) = used.get_mut(*j as usize) {
                        *u = true;
                    }
                }
                op => {
                    for h in op.operands() {
                        needed[h.index()] = true;
                    }
                }
            }
        }
        Lowering {
            b,
            host,
            nest,
            needed,
            used,
            shape: Vec::new(),
            strides: Vec::new(),
            accs: Vec::new(),
            flat: None,
            plan,
        }
    }

    fn narrays(&self) -> usize {
        self.nest.kernel.inputs.len() + self.nest.kernel.outputs.len()
    }

    /// The dtype of array `a` (inputs, then outputs).
    pub fn array_dtype(&self, a: usize) -> DType {
        let k = &self.nest.kernel;
        match k.inputs.get(a) {
            Some(d) => *d,
            None => k
                .outputs
                .get(a - k.inputs.len())
                .map_or(DType::I64, |o| o.dtype(k)),
        }
    }

    /// Emits the whole function body.
    pub fn run(mut self) -> Result<(), CodegenError> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let words = self.b.block_params(entry)[0];
        let wflags = MemFlagsData::new()
            .with_notrap()
            .with_readonly()
            .with_can_move();
        let rank = self.nest.rank;
        let word = |b: &mut FunctionBuilder, i: usize| {
            b.ins().load(types::I64, wflags, words, (8 * i) as i32)
        };
        for d in 0..rank {
            let v = word(&mut self.b, d);
            self.shape.push(v);
        }
        let mut ptrs = Vec::new();
        for a in 0..self.narrays() {
            let base = rank + a * (1 + rank);
            ptrs.push(word(&mut self.b, base));
            let s: Vec<Value> = (0..rank).map(|d| word(&mut self.b, base + 1 + d)).collect();
            self.strides.push(s);
        }
        self.level(0, ptrs)?;
        let zero = self.b.ins().iconst(types::I32, 0);
        self.b.ins().return_(&[zero]);
        self.b.seal_all_blocks();
        let cfg = cranelift_module::Module::isa(&*self.host.module).frontend_config();
        self.b.finalize(cfg);
        Ok(())
    }

    fn reducing(&self) -> bool {
        self.nest.kernel.reduces()
    }

    /// Emits loop level `d` (or the point, at `d == rank`) with array pointers `ptrs`.
    fn level(&mut self, d: usize, ptrs: Vec<Value>) -> Result<(), CodegenError> {
        let rank = self.nest.rank;
        let at_reduce = self.reducing() && d == self.nest.reduce_from.min(rank);
        if at_reduce {
            self.init_accs()?;
        }
        // With nothing reduced, a reducing kernel needs its accumulators around each point.
        let point_level = self.reducing() && self.nest.reduce_from >= rank;
        if d == rank {
            self.point(&ptrs, &[])?;
        } else if d + 1 == rank && !point_level && self.plan.is_some() {
            simd::inner_loop(self, &ptrs)?;
        } else if d + 1 == rank && !point_level {
            self.scalar_inner(&ptrs)?;
        } else {
            let n = self.shape[d];
            self.axis_loop(d, n, &ptrs, |s, first, p| {
                if first {
                    Ok(())
                } else {
                    s.level(d + 1, p.to_vec())
                }
            })?;
        }
        if at_reduce {
            self.store_accs(&ptrs)?;
        }
        Ok(())
    }

    /// Inputs that may be loaded once per inner loop: broadcast along it, and no output is
    /// written along it at a fixed address (which could be the same memory).
    pub fn invariant_inputs(&self) -> Vec<bool> {
        let k = &self.nest.kernel;
        let ni = k.inputs.len();
        let out_fixed = !self.reducing()
            && self
                .nest
                .inner
                .iter()
                .skip(ni)
                .any(|c| *c == Inner::Broadcast);
        (0..ni)
            .map(|a| {
                self.used[a] && !out_fixed && self.nest.inner.get(a) == Some(&Inner::Broadcast)
            })
            .collect()
    }

    /// The innermost loop, scalar, with broadcast inputs loaded once before it.
    fn scalar_inner(&mut self, ptrs: &[Value]) -> Result<(), CodegenError> {
        let d = self.nest.rank - 1;
        let n = self.shape[d];
        let inv = self.invariant_inputs();
        let mut pre: Vec<Option<Value>> = Vec::new();
        self.axis_loop(d, n, ptrs, |s, first, p| {
            if first {
                pre = s.load_inputs(p, &inv);
                Ok(())
            } else {
                s.point(p, &pre)
            }
        })
    }

    /// Loads inputs selected by `which` at `ptrs` (scalar).
    pub fn load_inputs(&mut self, ptrs: &[Value], which: &[bool]) -> Vec<Option<Value>> {
        let mut out = Vec::with_capacity(which.len());
        for (a, w) in which.iter().enumerate() {
            if *w {
                let ty = clif_type(self.array_dtype(a));
                out.push(Some(self.b.ins().load(ty, data_flags(), ptrs[a], 0)));
            } else {
                out.push(None);
            }
        }
        out
    }

    /// A rotated loop over axis `d` with `n` iterations. `body` gets `first == true` once, in
    /// a pre-header block that runs only when `n > 0` (emit loop-invariant loads there) --
    /// then is called again in the loop body proper with `first == false`.
    pub fn axis_loop(
        &mut self,
        d: usize,
        n: Value,
        ptrs: &[Value],
        mut body: impl FnMut(&mut Self, bool, &[Value]) -> Result<(), CodegenError>,
    ) -> Result<(), CodegenError> {
        let pre = self.b.create_block();
        let head = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.declare_var(types::I64);
        let pv: Vec<Variable> = ptrs
            .iter()
            .map(|_| self.b.declare_var(types::I64))
            .collect();
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(i, zero);
        for (v, p) in pv.iter().zip(ptrs) {
            self.b.def_var(*v, *p);
        }
        let empty = self.b.ins().icmp_imm_s(IntCC::Equal, n, 0);
        self.b.ins().brif(empty, exit, &[], pre, &[]);
        self.b.switch_to_block(pre);
        body(self, true, ptrs)?;
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        let p: Vec<Value> = pv.iter().map(|v| self.b.use_var(*v)).collect();
        body(self, false, &p)?;
        self.latch(d, i, &pv, &p, n, head, exit);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// Advances the index and pointers of axis `d` and branches back to `head` while `i < n`.
    #[allow(clippy::too_many_arguments)]
    fn latch(
        &mut self,
        d: usize,
        i: Variable,
        pv: &[Variable],
        p: &[Value],
        n: Value,
        head: Block,
        exit: Block,
    ) {
        let iv = self.b.use_var(i);
        let i1 = self.b.ins().iadd_imm_s(iv, 1);
        self.b.def_var(i, i1);
        for (a, v) in pv.iter().enumerate() {
            let next = self.b.ins().iadd(p[a], self.strides[a][d]);
            self.b.def_var(*v, next);
        }
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i1, n);
        self.b.ins().brif(more, head, &[], exit, &[]);
    }

    /// Scalar loop over the remaining `i..n` of the innermost axis, pointers in `pv`, index in
    /// `i` (used by the vector path for its tail).
    pub fn tail_loop(
        &mut self,
        i: Variable,
        pv: &[Variable],
        n: Value,
        pre: &[Option<Value>],
    ) -> Result<(), CodegenError> {
        let d = self.nest.rank - 1;
        let head = self.b.create_block();
        let exit = self.b.create_block();
        let iv = self.b.use_var(i);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, iv, n);
        self.b.ins().brif(more, head, &[], exit, &[]);
        self.b.switch_to_block(head);
        let p: Vec<Value> = pv.iter().map(|v| self.b.use_var(*v)).collect();
        self.point(&p, pre)?;
        self.latch(d, i, pv, &p, n, head, exit);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// Evaluates the needed nodes at one point (scalar), `pre` holding inputs already loaded.
    fn values(
        &mut self,
        ptrs: &[Value],
        pre: &[Option<Value>],
    ) -> Result<Vec<Option<Value>>, CodegenError> {
        let k = &self.nest.kernel;
        let mut loaded: Vec<Option<Value>> = vec![None; k.inputs.len()];
        let mut vals: Vec<Option<Value>> = vec![None; k.nodes.len()];
        for (i, node) in k.nodes.iter().enumerate() {
            if !self.needed[i] {
                continue;
            }
            let get = |h: &ndx_ir::Handle| {
                vals[h.index()].ok_or_else(|| {
                    CodegenError::Internal(format!("node {i} uses an unevaluated node"))
                })
            };
            let v = match &node.op {
                Op::Input(j) => {
                    let j = *j as usize;
                    match (
                        pre.get(j).copied().flatten(),
                        loaded.get(j).copied().flatten(),
                    ) {
                        (Some(v), _) | (None, Some(v)) => v,
                        (None, None) => {
                            let p = *ptrs
                                .get(j)
                                .ok_or_else(|| CodegenError::Internal(format!("no input {j}")))?;
                            let v = self.b.ins().load(clif_type(node.dtype), data_flags(), p, 0);
                            loaded[j] = Some(v);
                            v
                        }
                    }
                }
                Op::Const(s) => scalar::constant(&mut self.b, *s),
                Op::Unary(op, a) => {
                    let x = get(a)?;
                    scalar::unary(&mut self.b, &mut self.host, *op, k.dtype(*a), x)?
                }
                Op::Binary(op, a, c) => {
                    let (x, y) = (get(a)?, get(c)?);
                    let d = k.dtype(*a);
                    match vmath::small_exponent(k, *c) {
                        Some(e) if *op == BinaryOp::Pow && d.is_float() => {
                            vmath::pow_small(&mut self.b, d, x, e)
                        }
                        _ => scalar::binary(&mut self.b, &mut self.host, *op, d, x, y)?,
                    }
                }
                Op::Select(c, a, d) => {
                    let (c, x, y) = (get(c)?, get(a)?, get(d)?);
                    self.b.ins().select(c, x, y)
                }
                Op::Cast(a) => {
                    let x = get(a)?;
                    scalar::cast(&mut self.b, k.dtype(*a), node.dtype, x)
                }
            };
            vals[i] = Some(v);
        }
        Ok(vals)
    }

    /// One scalar point: stores the outputs, or combines them into the accumulators.
    pub fn point(&mut self, ptrs: &[Value], pre: &[Option<Value>]) -> Result<(), CodegenError> {
        let vals = self.values(ptrs, pre)?;
        let k = &self.nest.kernel;
        let ni = k.inputs.len();
        for (o, out) in k.outputs.iter().enumerate() {
            let v = vals
                .get(out.value.index())
                .copied()
                .flatten()
                .ok_or_else(|| CodegenError::Internal(format!("output {o} has no value")))?;
            if out.reduce.is_some() {
                self.combine(o, v);
            } else {
                self.b.ins().store(data_flags(), v, ptrs[ni + o], 0);
            }
        }
        if let Some(f) = self.flat {
            let fv = self.b.use_var(f);
            let f1 = self.b.ins().iadd_imm_s(fv, 1);
            self.b.def_var(f, f1);
        }
        Ok(())
    }

    /// Declares and initialises the accumulators of every reduced output.
    fn init_accs(&mut self) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        self.accs.clear();
        let mut any_arg = false;
        for out in &k.outputs {
            let op = out
                .reduce
                .ok_or_else(|| CodegenError::Internal("mixed reduced outputs".into()))?;
            let dtype = k.dtype(out.value);
            let ty = clif_type(dtype);
            let acc = self.b.declare_var(ty);
            let init = identity(op, dtype);
            let init = scalar::constant(&mut self.b, init);
            self.b.def_var(acc, init);
            let idx = if matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax) {
                any_arg = true;
                let v = self.b.declare_var(types::I64);
                let z = self.b.ins().iconst(types::I64, 0);
                self.b.def_var(v, z);
                Some(v)
            } else {
                None
            };
            self.accs.push(Acc {
                op,
                dtype,
                acc,
                idx,
                vec: Vec::new(),
            });
        }
        self.flat = None;
        if any_arg {
            let f = self.b.declare_var(types::I64);
            let z = self.b.ins().iconst(types::I64, 0);
            self.b.def_var(f, z);
            self.flat = Some(f);
        }
        if let Some(plan) = self.plan {
            simd::init_vector_accs(self, plan);
        }
        Ok(())
    }

    /// Combines value `v` into the scalar accumulator of output `o`.
    fn combine(&mut self, o: usize, v: Value) {
        let Some(acc) = self.accs.get(o) else { return };
        let (op, dtype, var, idx) = (acc.op, acc.dtype, acc.acc, acc.idx);
        let a = self.b.use_var(var);
        match (op, idx, self.flat) {
            (ReduceOp::ArgMin | ReduceOp::ArgMax, Some(idx), Some(flat)) => {
                let take = arg_better(&mut self.b, op == ReduceOp::ArgMax, dtype, v, a);
                let best = self.b.ins().select(take, v, a);
                self.b.def_var(var, best);
                let iv = self.b.use_var(idx);
                let fv = self.b.use_var(flat);
                let ni = self.b.ins().select(take, fv, iv);
                self.b.def_var(idx, ni);
            }
            _ => {
                let r = combine_values(&mut self.b, op, dtype, a, v);
                self.b.def_var(var, r);
            }
        }
    }

    /// Stores every reduced output at `ptrs` (the pointers at depth `reduce_from`).
    fn store_accs(&mut self, ptrs: &[Value]) -> Result<(), CodegenError> {
        if let Some(plan) = self.plan {
            simd::fold_vector_accs(self, plan)?;
        }
        let ni = self.nest.kernel.inputs.len();
        for o in 0..self.accs.len() {
            let acc = &self.accs[o];
            let v = match acc.idx {
                Some(idx) => self.b.use_var(idx),
                None => self.b.use_var(acc.acc),
            };
            self.b.ins().store(data_flags(), v, ptrs[ni + o], 0);
        }
        Ok(())
    }
}

/// The identity (initial value) of a reduction over values of dtype `d`; for arg reductions,
/// the initial best value.
pub(crate) fn identity(op: ReduceOp, d: DType) -> Scalar {
    use ReduceOp as R;
    let low = match op {
        R::Sum | R::Any => return zero_or_one(d, false),
        R::Prod | R::All => return zero_or_one(d, true),
        R::Max | R::ArgMax => true,
        R::Min | R::ArgMin => false,
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

fn zero_or_one(d: DType, one: bool) -> Scalar {
    let v = i64::from(one);
    match d {
        DType::Bool => Scalar::Bool(one),
        DType::I32 => Scalar::I32(v as i32),
        DType::I64 => Scalar::I64(v),
        DType::F32 => Scalar::F32(v as f32),
        DType::F64 => Scalar::F64(v as f64),
    }
}

/// `acc op v` for the non-arg reductions (scalar or vector operands alike, except float
/// min/max which need a vector-aware select: see [`simd`]).
pub(crate) fn combine_values(
    b: &mut FunctionBuilder,
    op: ReduceOp,
    d: DType,
    a: Value,
    v: Value,
) -> Value {
    use ReduceOp as R;
    let float = d.is_float();
    match op {
        R::Sum if float => b.ins().fadd(a, v),
        R::Prod if float => b.ins().fmul(a, v),
        R::Min | R::Max if float => scalar::float_minmax(b, op == R::Max, a, v),
        R::Sum | R::Any | R::Max if d == DType::Bool => b.ins().bor(a, v),
        R::Prod | R::All | R::Min if d == DType::Bool => b.ins().band(a, v),
        R::Sum => b.ins().iadd(a, v),
        R::Prod => b.ins().imul(a, v),
        R::Min => b.ins().smin(a, v),
        R::Max => b.ins().smax(a, v),
        R::Any => b.ins().bor(a, v),
        _ => b.ins().band(a, v),
    }
}

/// True when `v` replaces the current best `best` of an arg reduction: strictly better, or
/// the first NaN.
fn arg_better(b: &mut FunctionBuilder, max: bool, d: DType, v: Value, best: Value) -> Value {
    use cranelift_codegen::ir::condcodes::FloatCC;
    if d.is_float() {
        let cc = if max {
            FloatCC::GreaterThan
        } else {
            FloatCC::LessThan
        };
        let better = b.ins().fcmp(cc, v, best);
        let v_nan = b.ins().fcmp(FloatCC::Unordered, v, v);
        let best_ok = b.ins().fcmp(FloatCC::Ordered, best, best);
        let first_nan = b.ins().band(v_nan, best_ok);
        b.ins().bor(better, first_nan)
    } else {
        let cc = match (max, d == DType::Bool) {
            (true, false) => IntCC::SignedGreaterThan,
            (false, false) => IntCC::SignedLessThan,
            (true, true) => IntCC::UnsignedGreaterThan,
            (false, true) => IntCC::UnsignedLessThan,
        };
        b.ins().icmp(cc, v, best)
    }
}
