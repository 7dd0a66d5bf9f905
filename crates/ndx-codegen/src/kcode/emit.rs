//! Lowering kernel IR statements and expressions to Cranelift: loops, branches, element
//! accesses with their bounds checks, inlined calls, random numbers and the fault exit.

use super::analysis::{assigned_locals, invariant_parts, speculable};
use super::*;

impl<'k, 'f, 'm> FnLower<'k, 'f, 'm> {
    /// Starts a function whose first two parameters are `args` and `ctx`, plus `extra` i64
    /// parameters (returned). Loads the array words and defines every local.
    pub fn new(
        mut b: FunctionBuilder<'f>,
        host: Host<'m>,
        f: &'k KFunc,
        opts: KernelOptions,
        extra: usize,
    ) -> (Self, Vec<Value>) {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (args, ctx) = (params[0], params[1]);
        let extra_vals = params[2..2 + extra].to_vec();
        let fault = b.create_block();
        for _ in 0..4 {
            b.append_block_param(fault, types::I64);
        }
        let rng_state = b.declare_var(types::I64);
        let mut l = FnLower {
            b,
            host,
            f,
            opts,
            args,
            ctx,
            vars: Vec::new(),
            ptrs: Vec::new(),
            dims: Vec::new(),
            strides: Vec::new(),
            rng_state,
            loops: Vec::new(),
            rets: Vec::new(),
            fault,
            par: Vec::new(),
            prange: None,
            hoisted: Default::default(),
            vector_loops: 0,
        };
        l.load_params();
        let seed =
            l.b.ins()
                .load(types::I64, word_flags(), ctx, (8 * CTX_SEED) as i32);
        let key = l.mix(seed);
        l.b.def_var(l.rng_state, key);
        (l, extra_vals)
    }

    pub(super) fn load_params(&mut self) {
        for &d in &self.f.locals {
            let v = self.b.declare_var(clif_type(d));
            let z = zero_of(&mut self.b, d);
            self.b.def_var(v, z);
            self.vars.push(v);
        }
        let mut w = 0usize;
        for p in &self.f.params {
            match *p {
                KParam::Array(k) => {
                    let rank = self.f.arrays.get(k as usize).map_or(0, |a| a.rank);
                    let ptr = self.word(w);
                    let dims: Vec<Value> = (0..rank).map(|i| self.word(w + 1 + i)).collect();
                    let strides: Vec<Value> =
                        (0..rank).map(|i| self.word(w + 1 + rank + i)).collect();
                    w += 1 + 2 * rank;
                    let k = k as usize;
                    if self.ptrs.len() <= k {
                        let z = self.b.ins().iconst(types::I64, 0);
                        self.ptrs.resize(k + 1, z);
                        self.dims.resize(k + 1, Vec::new());
                        self.strides.resize(k + 1, Vec::new());
                    }
                    self.ptrs[k] = ptr;
                    self.dims[k] = dims;
                    self.strides[k] = strides;
                }
                KParam::Scalar(local) => {
                    let bits = self.word(w);
                    w += 1;
                    let d = self
                        .f
                        .locals
                        .get(local as usize)
                        .copied()
                        .unwrap_or(DType::I64);
                    let v = from_word(&mut self.b, d, bits);
                    if let Some(var) = self.vars.get(local as usize) {
                        self.b.def_var(*var, v);
                    }
                }
            }
        }
    }

    pub(super) fn word(&mut self, i: usize) -> Value {
        self.b
            .ins()
            .load(types::I64, word_flags(), self.args, (8 * i) as i32)
    }

    pub(super) fn var(&self, l: u32) -> Result<Variable, CodegenError> {
        self.vars
            .get(l as usize)
            .copied()
            .ok_or_else(|| CodegenError::Internal(format!("kernel local {l} out of range")))
    }

    /// Emits the fault block: store the fault words and return [`FAULT`].
    pub fn finish_fault_block(&mut self) {
        self.b.switch_to_block(self.fault);
        let p = self.b.block_params(self.fault).to_vec();
        for (i, v) in p.iter().enumerate() {
            self.b
                .ins()
                .store(data_flags(), *v, self.ctx, (8 * (CTX_KIND + i)) as i32);
        }
        let code = self.b.ins().iconst(types::I32, i64::from(FAULT));
        self.b.ins().return_(&[code]);
    }

    /// Branches to the fault block unless `ok`.
    pub(super) fn check(
        &mut self,
        ok: Value,
        kind: FaultKind,
        site: u32,
        index: Value,
        axis: usize,
    ) {
        let cont = self.b.create_block();
        let kind = self.b.ins().iconst(types::I64, kind.code());
        let site = self.b.ins().iconst(types::I64, i64::from(site));
        let axis = self.b.ins().iconst(types::I64, axis as i64);
        let fault_args = [
            BlockArg::Value(kind),
            BlockArg::Value(site),
            BlockArg::Value(index),
            BlockArg::Value(axis),
        ];
        self.b.ins().brif(ok, cont, &[], self.fault, &fault_args);
        self.b.switch_to_block(cont);
    }

    /// After a jump or return: continue emitting into a fresh, unreachable block.
    pub(super) fn dead_block(&mut self) {
        let d = self.b.create_block();
        self.b.switch_to_block(d);
    }

    /// Emits statements.
    pub fn stmts(&mut self, ss: &'k [KStmt]) -> Result<(), CodegenError> {
        for s in ss {
            self.stmt(s)?;
        }
        Ok(())
    }

    pub(super) fn stmt(&mut self, s: &'k KStmt) -> Result<(), CodegenError> {
        match s {
            KStmt::Set(l, e) => {
                let v = self.expr(e)?;
                let var = self.var(*l)?;
                self.b.def_var(var, v);
            }
            KStmt::Store(a, e) => {
                let v = self.expr(e)?;
                let addr = self.address(a)?;
                self.b.ins().store(data_flags(), v, addr, 0);
            }
            KStmt::Eval(e) => {
                self.expr(e)?;
            }
            KStmt::If(c, t, e) if speculable(t) && speculable(e) => {
                // If-conversion: both sides only set locals to cheap, total values, so compute
                // them and select (a branch on random data mispredicts often).
                let cv = self.expr(c)?;
                for (side, stmts) in [(true, t), (false, e)] {
                    for st in stmts {
                        if let KStmt::Set(l, x) = st {
                            let var = self.var(*l)?;
                            let old = self.b.use_var(var);
                            let new = self.expr(x)?;
                            let v = if side {
                                self.b.ins().select(cv, new, old)
                            } else {
                                self.b.ins().select(cv, old, new)
                            };
                            self.b.def_var(var, v);
                        }
                    }
                }
            }
            KStmt::If(c, t, e) => {
                let (tb, eb, merge) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.branch(c, tb, eb)?;
                self.b.switch_to_block(tb);
                self.stmts(t)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(eb);
                self.stmts(e)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
            }
            KStmt::While(c, body) => {
                // Top-tested: the header dominates the body, so values the condition computes
                // (`zx * zx` in a mandelbrot loop) are reused by the body (GVN), which a
                // rotated loop's duplicated condition could not do (measured ~5% faster on
                // mandelbrot). Cranelift's LICM hoists pure code out of neither shape of
                // `while` loop here; invariant calls are computed before it ([`Self::hoist`]).
                let hoisted = self.hoist(std::slice::from_ref(s), None)?;
                let (header, bb, exit) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.b.ins().jump(header, &[]);
                self.b.switch_to_block(header);
                self.branch(c, bb, exit)?;
                self.b.switch_to_block(bb);
                self.loops.push((header, exit));
                self.stmts(body)?;
                self.loops.pop();
                self.b.ins().jump(header, &[]);
                self.b.switch_to_block(exit);
                self.unhoist(hoisted);
            }
            KStmt::For(fl) => match &fl.parallel {
                Some(_) if self.prange.is_some() => self.par_for(fl)?,
                _ => self.serial_for(fl)?,
            },
            KStmt::Break | KStmt::Continue => {
                let Some(&(cont, exit)) = self.loops.last() else {
                    return Err(CodegenError::Internal("break outside a loop".into()));
                };
                let t = if matches!(s, KStmt::Break) {
                    exit
                } else {
                    cont
                };
                self.b.ins().jump(t, &[]);
                self.dead_block();
            }
            KStmt::Return(e) => {
                let v = match e {
                    Some(e) => Some(self.expr(e)?),
                    None => None,
                };
                match self.rets.last() {
                    Some(t) => {
                        if let (Some(var), Some(v)) = (t.result, v) {
                            self.b.def_var(var, v);
                        }
                        let exit = t.exit;
                        self.b.ins().jump(exit, &[]);
                    }
                    None => {
                        if let Some(v) = v {
                            self.b
                                .ins()
                                .store(data_flags(), v, self.ctx, (8 * CTX_RET) as i32);
                        }
                        let zero = self.b.ins().iconst(types::I32, 0);
                        self.b.ins().return_(&[zero]);
                    }
                }
                self.dead_block();
            }
        }
        Ok(())
    }

    /// Branches on a condition without materialising it: `and`, `or` and `not` become
    /// control flow, so a compare feeds its branch directly. Ends the current block.
    pub(super) fn branch(
        &mut self,
        c: &'k KExpr,
        yes: Block,
        no: Block,
    ) -> Result<(), CodegenError> {
        match &c.kind {
            KExprKind::And(x, y) => {
                let mid = self.b.create_block();
                self.branch(x, mid, no)?;
                self.b.switch_to_block(mid);
                self.branch(y, yes, no)
            }
            KExprKind::Or(x, y) => {
                let mid = self.b.create_block();
                self.branch(x, yes, mid)?;
                self.b.switch_to_block(mid);
                self.branch(y, yes, no)
            }
            KExprKind::Unary(ndx_ir::kernel::UnaryOp::Not, x) if x.dtype == DType::Bool => {
                self.branch(x, no, yes)
            }
            _ => {
                let v = self.expr(c)?;
                self.b.ins().brif(v, yes, &[], no, &[]);
                Ok(())
            }
        }
    }

    /// Computes, at the current point (a loop's preheader), the maximal pure subexpressions of
    /// `loop_stmts` that no statement of the loop (nor its variable `loop_var`) can change, and
    /// records them so that
    /// [`Self::expr`] reuses them. Returns the recorded keys.
    pub(super) fn hoist(
        &mut self,
        loop_stmts: &'k [KStmt],
        loop_var: Option<u32>,
    ) -> Result<Vec<*const KExpr>, CodegenError> {
        let mut assigned: std::collections::HashSet<u32> = loop_var.into_iter().collect();
        assigned_locals(loop_stmts, &mut assigned);
        let mut found = Vec::new();
        for st in loop_stmts {
            invariant_parts(st, &assigned, &mut found);
        }
        let mut keys = Vec::new();
        for e in found {
            let key = e as *const KExpr;
            if self.hoisted.contains_key(&key) {
                continue;
            }
            let v = self.expr(e)?;
            self.hoisted.insert(key, v);
            keys.push(key);
        }
        Ok(keys)
    }

    /// Forgets hoisted values once their loop is emitted.
    pub(super) fn unhoist(&mut self, keys: Vec<*const KExpr>) {
        for k in keys {
            self.hoisted.remove(&k);
        }
    }

    /// `(start, step, n)` of a counted loop, after the zero-step check.
    pub(super) fn trip(&mut self, fl: &'k KFor) -> Result<(Value, Value, Value), CodegenError> {
        let start = self.expr(&fl.start)?;
        let stop = self.expr(&fl.stop)?;
        let step = self.expr(&fl.step)?;
        let zero = self.b.ins().iconst(types::I64, 0);
        if let KExprKind::Const(Scalar::I64(c)) = fl.step.kind {
            if c > 0 {
                // A constant positive step: no zero check, no sign selection.
                let pos = self.b.ins().icmp(IntCC::SignedGreaterThan, stop, start);
                let diff = self.b.ins().isub(stop, start);
                let n = if c == 1 {
                    diff
                } else {
                    let d1 = self.b.ins().iadd_imm_s(diff, -1);
                    let q = self.b.ins().udiv_imm_s(d1, c);
                    self.b.ins().iadd_imm_s(q, 1)
                };
                let n = self.clamp_count(n);
                let n = self.b.ins().select(pos, n, zero);
                return Ok((start, step, n));
            }
        }
        let ok = self.b.ins().icmp(IntCC::NotEqual, step, zero);
        self.check(ok, FaultKind::ZeroStep, fl.site, zero, 0);
        // n = ceil(|stop - start| / |step|) when the range runs the step's way, else 0. The
        // distance and the step's magnitude are exact as unsigned words even where the signed
        // subtraction overflows (range(-2**63 + 1, 2**63 - 1, 2**62) has 4 iterations), and
        // `step` is non-zero here, so `udiv` cannot trap.
        let up = self.b.ins().icmp(IntCC::SignedGreaterThan, step, zero);
        let fwd = self.b.ins().icmp(IntCC::SignedGreaterThan, stop, start);
        let back = self.b.ins().icmp(IntCC::SignedLessThan, stop, start);
        let runs = self.b.ins().select(up, fwd, back);
        let d_up = self.b.ins().isub(stop, start);
        let d_down = self.b.ins().isub(start, stop);
        let diff = self.b.ins().select(up, d_up, d_down);
        let neg = self.b.ins().ineg(step);
        let mag = self.b.ins().select(up, step, neg);
        let d1 = self.b.ins().iadd_imm_s(diff, -1);
        let q = self.b.ins().udiv(d1, mag);
        let n = self.b.ins().iadd_imm_s(q, 1);
        let n = self.clamp_count(n);
        let n = self.b.ins().select(runs, n, zero);
        Ok((start, step, n))
    }

    /// An iteration count computed as an unsigned word, capped at `i64::MAX` (a range of more
    /// than 2^63 iterations runs "forever" either way).
    pub(super) fn clamp_count(&mut self, n: Value) -> Value {
        let max = self.b.ins().iconst(types::I64, i64::MAX);
        let zero = self.b.ins().iconst(types::I64, 0);
        let huge = self.b.ins().icmp(IntCC::SignedLessThan, n, zero);
        self.b.ins().select(huge, max, n)
    }

    pub(super) fn serial_for(&mut self, fl: &'k KFor) -> Result<(), CodegenError> {
        if let Some(plan) = kvec::plan(fl, self.opts.bounds_checks) {
            return self.vector_for(fl, plan);
        }
        let (start, step, n) = self.trip(fl)?;
        let zero = self.b.ins().iconst(types::I64, 0);
        self.counted_loop(fl, start, step, zero, n)
    }

    /// Iterations `k_lo..k_hi` of `fl`, the loop variable being `start + k * step`.
    pub(super) fn counted_loop(
        &mut self,
        fl: &'k KFor,
        start: Value,
        step: Value,
        k_lo: Value,
        k_hi: Value,
    ) -> Result<(), CodegenError> {
        let hoisted = self.hoist(&fl.body, Some(fl.var))?;
        let k = self.b.declare_var(types::I64);
        let iv = self.b.declare_var(types::I64);
        let off = self.b.ins().imul(k_lo, step);
        let first = self.b.ins().iadd(start, off);
        self.b.def_var(k, k_lo);
        self.b.def_var(iv, first);
        let (body, latch, exit) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let any = self.b.ins().icmp(IntCC::SignedLessThan, k_lo, k_hi);
        self.b.ins().brif(any, body, &[], exit, &[]);
        self.b.switch_to_block(body);
        let var = self.var(fl.var)?;
        let i = self.b.use_var(iv);
        self.b.def_var(var, i);
        self.loops.push((latch, exit));
        self.stmts(&fl.body)?;
        self.loops.pop();
        self.b.ins().jump(latch, &[]);
        self.b.switch_to_block(latch);
        let kv = self.b.use_var(k);
        let k1 = self.b.ins().iadd_imm_s(kv, 1);
        self.b.def_var(k, k1);
        let i = self.b.use_var(iv);
        let i1 = self.b.ins().iadd(i, step);
        self.b.def_var(iv, i1);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, k1, k_hi);
        self.b.ins().brif(more, body, &[], exit, &[]);
        self.b.switch_to_block(exit);
        self.unhoist(hoisted);
        Ok(())
    }

    /// A parallel loop in the kernel: spill the locals, call [`ndx_prange`], reload the
    /// reductions.
    pub(super) fn par_for(&mut self, fl: &'k KFor) -> Result<(), CodegenError> {
        let Some(prange) = self.prange else {
            return self.serial_for(fl);
        };
        let (start, step, n) = self.trip(fl)?;
        let nl = self.f.locals.len();
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            u32::try_from(8 * (nl + 2))
                .map_err(|_| CodegenError::Unsupported("too many kernel locals".into()))?,
            3,
        ));
        let frame = self.b.ins().stack_addr(types::I64, slot, 0);
        for l in 0..nl {
            let v = self.b.use_var(self.vars[l]);
            self.b.ins().store(data_flags(), v, frame, (8 * l) as i32);
        }
        self.b
            .ins()
            .store(data_flags(), start, frame, (8 * nl) as i32);
        self.b
            .ins()
            .store(data_flags(), step, frame, (8 * (nl + 1)) as i32);
        let id = self.b.ins().iconst(types::I64, self.par.len() as i64);
        self.par.push(fl);
        let call = self.b.ins().call(prange, &[self.ctx, id, frame, n]);
        let code = self.b.inst_results(call)[0];
        let ok = self.b.create_block();
        let bad = self.b.create_block();
        self.b.ins().brif(code, bad, &[], ok, &[]);
        self.b.switch_to_block(bad);
        self.b.ins().return_(&[code]);
        self.b.switch_to_block(ok);
        for r in fl.parallel.iter().flatten() {
            let l = r.local as usize;
            let d = self.f.locals.get(l).copied().unwrap_or(DType::I64);
            let v = self
                .b
                .ins()
                .load(clif_type(d), data_flags(), frame, (8 * l) as i32);
            let var = self.var(r.local)?;
            self.b.def_var(var, v);
        }
        Ok(())
    }

    /// The body of a chunk function for `fl`: load the frame, run `k_lo..k_hi`, store the
    /// reductions.
    pub fn chunk_body(
        &mut self,
        fl: &'k KFor,
        frame: Value,
        k_lo: Value,
        k_hi: Value,
    ) -> Result<(), CodegenError> {
        let nl = self.f.locals.len();
        for l in 0..nl {
            let d = self.f.locals[l];
            let v = self
                .b
                .ins()
                .load(clif_type(d), data_flags(), frame, (8 * l) as i32);
            self.b.def_var(self.vars[l], v);
        }
        let start = self
            .b
            .ins()
            .load(types::I64, data_flags(), frame, (8 * nl) as i32);
        let step = self
            .b
            .ins()
            .load(types::I64, data_flags(), frame, (8 * (nl + 1)) as i32);
        self.counted_loop(fl, start, step, k_lo, k_hi)?;
        let reds: &[Reduction] = fl.parallel.as_deref().unwrap_or(&[]);
        for r in reds {
            let var = self.var(r.local)?;
            let v = self.b.use_var(var);
            self.b
                .ins()
                .store(data_flags(), v, frame, (8 * r.local as usize) as i32);
        }
        Ok(())
    }

    /// Ends the function: return 0 from the current block, emit the fault block, finalize.
    pub fn finish(mut self) {
        let zero = self.b.ins().iconst(types::I32, 0);
        self.b.ins().return_(&[zero]);
        self.finish_fault_block();
        self.b.seal_all_blocks();
        let cfg = cranelift_module::Module::isa(&*self.host.module).frontend_config();
        self.b.finalize(cfg);
    }

    /// Enables parallel loops in this function (the kernel's own body, not a chunk).
    pub fn enable_prange(&mut self) -> Result<(), CodegenError> {
        let id = self
            .host
            .ids
            .get(PRANGE_SYMBOL)
            .ok_or_else(|| CodegenError::Internal("ndx_prange is not registered".into()))?;
        use cranelift_module::Module;
        self.prange = Some(self.host.module.declare_func_in_func(*id, self.b.func));
        Ok(())
    }

    pub(super) fn address(&mut self, a: &'k Access) -> Result<Value, CodegenError> {
        let k = a.array as usize;
        let (Some(&ptr), Some(dims), Some(strides)) =
            (self.ptrs.get(k), self.dims.get(k), self.strides.get(k))
        else {
            return Err(CodegenError::Internal(format!("kernel array {k} missing")));
        };
        let (dims, strides) = (dims.clone(), strides.clone());
        if a.index.len() != dims.len() {
            return Err(CodegenError::Internal(
                "index count differs from rank".into(),
            ));
        }
        let mut addr = ptr;
        for (axis, ix) in a.index.iter().enumerate() {
            let i = self.expr(ix)?;
            let checked = a.checked.get(axis).copied().unwrap_or(true);
            let i = if checked {
                let zero = self.b.ins().iconst(types::I64, 0);
                let neg = self.b.ins().icmp(IntCC::SignedLessThan, i, zero);
                let wrapped = self.b.ins().iadd(i, dims[axis]);
                let w = self.b.ins().select(neg, wrapped, i);
                if self.opts.bounds_checks {
                    let ok = self.b.ins().icmp(IntCC::UnsignedLessThan, w, dims[axis]);
                    self.check(ok, FaultKind::Bounds, a.site, i, axis);
                }
                w
            } else {
                i
            };
            let off = self.b.ins().imul(i, strides[axis]);
            addr = self.b.ins().iadd(addr, off);
        }
        Ok(addr)
    }

    pub(super) fn expr(&mut self, e: &'k KExpr) -> Result<Value, CodegenError> {
        if let Some(v) = self.hoisted.get(&(e as *const KExpr)) {
            return Ok(*v);
        }
        Ok(match &e.kind {
            KExprKind::Const(s) => scalar::constant(&mut self.b, s.cast(e.dtype)),
            KExprKind::Local(l) => {
                let v = self.var(*l)?;
                self.b.use_var(v)
            }
            KExprKind::Dim { array, axis } => self
                .dims
                .get(*array as usize)
                .and_then(|d| d.get(*axis as usize))
                .copied()
                .ok_or_else(|| CodegenError::Internal("kernel dim out of range".into()))?,
            KExprKind::Load(a) => {
                let addr = self.address(a)?;
                self.b.ins().load(clif_type(e.dtype), data_flags(), addr, 0)
            }
            KExprKind::Unary(op, x) => {
                let d = x.dtype;
                let v = self.expr(x)?;
                scalar::unary(&mut self.b, &mut self.host, *op, d, v)?
            }
            KExprKind::Binary(op, x, y) => {
                let d = x.dtype;
                let (xv, yv) = (self.expr(x)?, self.expr(y)?);
                scalar::binary(&mut self.b, &mut self.host, *op, d, xv, yv)?
            }
            KExprKind::CheckedDiv { op, a, b, site } => {
                let d = a.dtype;
                let (xv, yv) = (self.expr(a)?, self.expr(b)?);
                let z = iconst(&mut self.b, clif_type(d), 0);
                let ok = self.b.ins().icmp(IntCC::NotEqual, yv, z);
                let zero = self.b.ins().iconst(types::I64, 0);
                self.check(ok, FaultKind::DivByZero, *site, zero, 0);
                scalar::binary(&mut self.b, &mut self.host, *op, d, xv, yv)?
            }
            KExprKind::Cast(x) => {
                let v = self.expr(x)?;
                scalar::cast(&mut self.b, x.dtype, e.dtype, v)
            }
            KExprKind::And(x, y) | KExprKind::Or(x, y) => {
                let and = matches!(e.kind, KExprKind::And(..));
                let xv = self.expr(x)?;
                let (rhs, done) = (self.b.create_block(), self.b.create_block());
                self.b.append_block_param(done, types::I8);
                if and {
                    self.b
                        .ins()
                        .brif(xv, rhs, &[], done, &[BlockArg::Value(xv)]);
                } else {
                    self.b
                        .ins()
                        .brif(xv, done, &[BlockArg::Value(xv)], rhs, &[]);
                }
                self.b.switch_to_block(rhs);
                let yv = self.expr(y)?;
                self.b.ins().jump(done, &[BlockArg::Value(yv)]);
                self.b.switch_to_block(done);
                self.b.block_params(done)[0]
            }
            KExprKind::Select(c, x, y) => {
                let cv = self.expr(c)?;
                let (xv, yv) = (self.expr(x)?, self.expr(y)?);
                self.b.ins().select(cv, xv, yv)
            }
            KExprKind::Rand => {
                let z = self.next_random();
                self.unit_float(z, false)
            }
            KExprKind::Randn => {
                // Box-Muller: sqrt(-2 ln u1) * cos(2 pi u2), u1 in (0, 1].
                let z1 = self.next_random();
                let u1 = self.unit_float(z1, true);
                let z2 = self.next_random();
                let u2 = self.unit_float(z2, false);
                let ln = self.host.call(&mut self.b, "ndx_log_f64", &[u1])?;
                let m2 = self.b.ins().f64const(-2.0);
                let r2 = self.b.ins().fmul(ln, m2);
                let r = self.b.ins().sqrt(r2);
                let tau = self.b.ins().f64const(std::f64::consts::TAU);
                let th = self.b.ins().fmul(u2, tau);
                let c = self.host.call(&mut self.b, "ndx_cos_f64", &[th])?;
                self.b.ins().fmul(r, c)
            }
            KExprKind::Inline { body, result } => {
                let exit = self.b.create_block();
                let result = match result {
                    Some(l) => Some(self.var(*l)?),
                    None => None,
                };
                self.rets.push(RetTarget { exit, result });
                let saved = std::mem::take(&mut self.loops);
                let r = self.stmts(body);
                self.loops = saved;
                self.rets.pop();
                r?;
                self.b.ins().jump(exit, &[]);
                self.b.switch_to_block(exit);
                match result {
                    Some(v) => self.b.use_var(v),
                    None => iconst(&mut self.b, types::I8, 0),
                }
            }
        })
    }

    /// SplitMix64's output function: one step of its Weyl sequence from `x`, then the mix.
    pub(super) fn mix(&mut self, x: Value) -> Value {
        let g = self
            .b
            .ins()
            .iconst(types::I64, 0x9E37_79B9_7F4A_7C15u64 as i64);
        let z = self.b.ins().iadd(x, g);
        self.finalize(z)
    }

    /// SplitMix64's finalizer (a bijection of 64-bit words).
    pub(super) fn finalize(&mut self, z: Value) -> Value {
        let b = &mut self.b;
        let s = b.ins().ushr_imm_u(z, 30);
        let z = b.ins().bxor(z, s);
        let m1 = b.ins().iconst(types::I64, 0xBF58_476D_1CE4_E5B9u64 as i64);
        let z = b.ins().imul(z, m1);
        let s = b.ins().ushr_imm_u(z, 27);
        let z = b.ins().bxor(z, s);
        let m2 = b.ins().iconst(types::I64, 0x94D0_49BB_1331_11EBu64 as i64);
        let z = b.ins().imul(z, m2);
        let s = b.ins().ushr_imm_u(z, 31);
        b.ins().bxor(z, s)
    }

    /// The next 64 random bits: SplitMix64, whose state after `k` draws is
    /// `key + k * golden` (so each stream is counter-based: its draws depend only on the key
    /// and the count).
    pub(super) fn next_random(&mut self) -> Value {
        let state = self.b.use_var(self.rng_state);
        let g = self
            .b
            .ins()
            .iconst(types::I64, 0x9E37_79B9_7F4A_7C15u64 as i64);
        let next = self.b.ins().iadd(state, g);
        self.b.def_var(self.rng_state, next);
        self.finalize(next)
    }

    /// The top 53 bits as an f64 in `[0, 1)`, or `(0, 1]` when `open_zero`.
    pub(super) fn unit_float(&mut self, z: Value, open_zero: bool) -> Value {
        let top = self.b.ins().ushr_imm_u(z, 11);
        let top = if open_zero {
            self.b.ins().iadd_imm_s(top, 1)
        } else {
            top
        };
        // Below 2^53, so the signed conversion (one instruction on x86) is exact.
        let f = self.b.ins().fcvt_from_sint(types::F64, top);
        let scale = self.b.ins().f64const(1.0 / (1u64 << 53) as f64);
        self.b.ins().fmul(f, scale)
    }
}
