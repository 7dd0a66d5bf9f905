//! Compiling `kernel` blocks ([`ndx_ir::kir::KFunc`]) to native code, and running them.
//!
//! Calling convention of a compiled kernel: `fn(args: *const i64, ctx: *mut i64) -> i32`.
//! `args` holds, per parameter in order, an array's element-0 address, its dims and its byte
//! strides (`1 + 2 * rank` words), or a scalar's bits (ints sign-extended, bools 0/1, floats
//! as their IEEE bits in the low bytes). `ctx` is a [`CTX_LEN`]-word block: the fault words,
//! the return value, the random seed and the parallel-loop runtime. The result is 0, or
//! [`FAULT`] after the fault words were written.
//!
//! Shape of the generated code: every loop is rotated (a guard, then a bottom-tested body)
//! so Cranelift's LICM hoists invariant loads and arithmetic out of it; array dims, strides
//! and pointers are loaded once in the entry block with `readonly | can_move` flags. A bounds
//! check is an unsigned compare and a branch to the one fault block; a negative index first
//! wraps by the axis length, as in NumPy. Nothing here relies on a hardware trap.
//!
//! A parallel loop (`prange`) becomes a separate *chunk* function
//! `fn(args, ctx, frame, k_lo, k_hi) -> i32` that runs iterations `k_lo..k_hi`. The kernel
//! spills its locals into a frame, calls [`ndx_prange`], which splits the iterations into a
//! number of chunks fixed by the thread count, runs each chunk on a copy of the frame (its
//! reduction locals reset to the identity), and combines the partial reductions in chunk order,
//! so a result depends only on the thread count, never on scheduling.

mod kvec;

use crate::scalar::{self, clif_type, iconst, Host};
use crate::CodegenError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, StackSlotData,
    StackSlotKind, Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use ndx_ir::kernel::{BinaryOp, ReduceOp};
use ndx_ir::kir::{Access, FaultKind, KExpr, KExprKind, KFor, KFunc, KParam, KStmt, Reduction};
use ndx_runtime::{DType, Scalar};

/// Context word: the fault kind code ([`FaultKind::code`]).
pub const CTX_KIND: usize = 0;
/// Context word: the fault's site number.
pub const CTX_SITE: usize = 1;
/// Context word: the offending index (bounds faults).
pub const CTX_INDEX: usize = 2;
/// Context word: the axis of the offending index.
pub const CTX_AXIS: usize = 3;
/// Context word: the returned scalar's bits.
pub const CTX_RET: usize = 4;
/// Context word: the seed of the random stream.
pub const CTX_SEED: usize = 5;
/// Context word: the address of the parallel-loop runtime.
pub const CTX_RT: usize = 6;
/// Context word: the `args` pointer (for chunk functions).
pub const CTX_ARGS: usize = 7;
/// Number of context words.
pub const CTX_LEN: usize = 8;
/// The result of a kernel that stopped at a fault.
pub const FAULT: i32 = 1;

/// The name under which [`ndx_prange`] is registered.
pub(crate) const PRANGE_SYMBOL: &str = "ndx_prange";

type MainFn = unsafe extern "C" fn(*const i64, *mut i64) -> i32;
type ChunkFn = unsafe extern "C" fn(*const i64, *mut i64, *mut i64, i64, i64) -> i32;

/// Options for compiling kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOptions {
    /// Check every element access that the loop bounds do not prove in range (default on).
    pub bounds_checks: bool,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            bounds_checks: true,
        }
    }
}

/// A run-time failure reported by a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelFault {
    /// What failed.
    pub kind: FaultKind,
    /// The site number from the kernel IR.
    pub site: u32,
    /// The offending index (bounds faults).
    pub index: i64,
    /// The axis of the offending index (bounds faults).
    pub axis: usize,
}

/// One compiled parallel loop.
#[derive(Clone, Debug)]
struct ParLoop {
    func: ChunkFn,
    reductions: Vec<(usize, ReduceOp, DType)>,
}

/// A compiled kernel: native code valid for the life of the process.
#[derive(Clone, Debug)]
pub struct CompiledKernel {
    main: MainFn,
    loops: Vec<ParLoop>,
    vector_loops: usize,
    nlocals: usize,
    words: usize,
    ret: Option<DType>,
}

/// What [`ndx_prange`] needs, reached through the context word [`CTX_RT`].
struct Runtime<'a> {
    kernel: &'a CompiledKernel,
    threads: usize,
    pool: Option<&'a rayon::ThreadPool>,
}

impl CompiledKernel {
    /// The number of argument words the kernel takes.
    pub fn words(&self) -> usize {
        self.words
    }

    /// The dtype of the returned scalar, if any.
    pub fn ret(&self) -> Option<DType> {
        self.ret
    }

    /// How many loops have a vector form (chosen at run time when the rows are contiguous).
    pub fn vector_loops(&self) -> usize {
        self.vector_loops
    }

    /// Runs the kernel. Returns its scalar result (if it has one) or the fault it stopped at.
    /// Parallel loops split into chunks by `threads` and run on `pool` (on the calling thread
    /// without one). Any number of threads may run one compiled kernel at once: the code
    /// keeps its state in the per-call context.
    ///
    /// # Safety
    /// Every array in `args` must describe live memory of the dtype and rank the kernel was
    /// compiled for, with those dims and strides. Elements are accessed only at indices the
    /// kernel's bounds checks (or, with checks off, the kernel's author) guarantee in range.
    pub unsafe fn run(
        &self,
        args: &[i64],
        seed: u64,
        threads: usize,
        pool: Option<&rayon::ThreadPool>,
    ) -> Result<Result<Option<Scalar>, KernelFault>, CodegenError> {
        if args.len() != self.words {
            return Err(CodegenError::Arguments(format!(
                "the kernel takes {} argument words, got {}",
                self.words,
                args.len()
            )));
        }
        let rt = Runtime {
            kernel: self,
            threads: threads.max(1),
            pool,
        };
        let mut ctx = [0i64; CTX_LEN];
        ctx[CTX_SEED] = seed as i64;
        ctx[CTX_RT] = &rt as *const Runtime as i64;
        ctx[CTX_ARGS] = args.as_ptr() as i64;
        // SAFETY: the function was compiled with this signature; the caller vouches for the
        // memory `args` describes; `ctx` and `rt` outlive the call.
        let code = unsafe { (self.main)(args.as_ptr(), ctx.as_mut_ptr()) };
        if code != 0 {
            return Ok(Err(fault_of(&ctx)));
        }
        Ok(Ok(self.ret.map(|d| scalar_of_bits(d, ctx[CTX_RET]))))
    }
}

fn fault_of(ctx: &[i64; CTX_LEN]) -> KernelFault {
    KernelFault {
        kind: FaultKind::from_code(ctx[CTX_KIND]).unwrap_or(FaultKind::Bounds),
        site: u32::try_from(ctx[CTX_SITE]).unwrap_or(0),
        index: ctx[CTX_INDEX],
        axis: usize::try_from(ctx[CTX_AXIS]).unwrap_or(0),
    }
}

/// The scalar of dtype `d` whose bits were stored in a word.
fn scalar_of_bits(d: DType, w: i64) -> Scalar {
    match d {
        DType::Bool => Scalar::Bool(w & 0xff != 0),
        DType::I32 => Scalar::I32(w as i32),
        DType::I64 => Scalar::I64(w),
        DType::F32 => Scalar::F32(f32::from_bits(w as u32)),
        DType::F64 => Scalar::F64(f64::from_bits(w as u64)),
    }
}

/// The word holding scalar `s` (ints sign-extended, bools 0/1, floats as their IEEE bits).
pub fn scalar_bits(s: Scalar) -> i64 {
    match s {
        Scalar::Bool(v) => i64::from(v),
        Scalar::I32(v) => i64::from(v),
        Scalar::I64(v) => v,
        Scalar::F32(v) => i64::from(v.to_bits()),
        Scalar::F64(v) => v.to_bits() as i64,
    }
}

/// The loops of `f` that compile to vector code (taken at run time when every accessed row is
/// contiguous and no stored row partially overlaps another): each loop's variable and vector
/// shape, in source order.
pub fn vector_loops(f: &KFunc, opts: KernelOptions) -> Vec<(u32, crate::VectorInfo)> {
    fn walk(ss: &[KStmt], checks: bool, out: &mut Vec<(u32, crate::VectorInfo)>) {
        for s in ss {
            match s {
                KStmt::For(fl) => match kvec::plan(fl, checks) {
                    Some(p) => out.push((fl.var, crate::VectorInfo::of(&p))),
                    None => walk(&fl.body, checks, out),
                },
                KStmt::If(_, t, e) => {
                    walk(t, checks, out);
                    walk(e, checks, out);
                }
                KStmt::While(_, b) => walk(b, checks, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&f.body, opts.bounds_checks, &mut out);
    out
}

/// Combines two partial results of a parallel reduction, as the reference evaluator does.
fn combine(op: ReduceOp, a: Scalar, b: Scalar) -> Scalar {
    let bin = match op {
        ReduceOp::Prod => BinaryOp::Mul,
        ReduceOp::Min => BinaryOp::Min,
        ReduceOp::Max => BinaryOp::Max,
        _ => BinaryOp::Add,
    };
    ndx_ir::eval::binary(bin, a, b)
}

/// A seed for chunk `c` derived from the kernel's seed (SplitMix64 of the pair).
fn chunk_seed(seed: i64, c: usize) -> i64 {
    let x = (seed as u64) ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    mix64(x) as i64
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many chunks a parallel loop of `n` iterations is split into on `threads` workers.
/// Several per worker balance uneven iterations (a mandelbrot row); the count depends only on
/// `n` and `threads`, so results are reproducible for a thread count.
fn chunk_count(n: i64, threads: usize) -> usize {
    if threads <= 1 || n <= 1 {
        return 1;
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    n.min(threads.saturating_mul(8))
}

/// Runs parallel loop `id` of the kernel whose context is `ctx`: `n` iterations over the
/// locals spilled in `frame` (followed by the loop's start and step).
///
/// # Safety
/// Called only by compiled kernels, with the context and frame they own.
pub(crate) unsafe extern "C" fn ndx_prange(ctx: *mut i64, id: i64, frame: *mut i64, n: i64) -> i32 {
    // SAFETY: compiled kernels pass their own CTX_LEN-word context.
    let ctx = unsafe { &mut *(ctx as *mut [i64; CTX_LEN]) };
    // SAFETY: CTX_RT was set by `CompiledKernel::run` to a Runtime that outlives the call.
    let rt = unsafe { &*(ctx[CTX_RT] as *const Runtime) };
    let Some(pl) = usize::try_from(id)
        .ok()
        .and_then(|i| rt.kernel.loops.get(i))
    else {
        return FAULT;
    };
    let words = rt.kernel.nlocals + 2;
    // SAFETY: the kernel's frame holds its locals plus the start and step words.
    let base = unsafe { std::slice::from_raw_parts_mut(frame, words) };
    let args = ctx[CTX_ARGS] as usize;
    let chunks = chunk_count(n, rt.threads);
    let mut frames: Vec<Vec<i64>> = Vec::with_capacity(chunks);
    let mut ctxs: Vec<[i64; CTX_LEN]> = Vec::with_capacity(chunks);
    for c in 0..chunks {
        let mut f = base.to_vec();
        for &(local, op, d) in &pl.reductions {
            if let Some(w) = f.get_mut(local) {
                *w = scalar_bits(ndx_ir::eval::identity(op, d));
            }
        }
        frames.push(f);
        let mut cx = *ctx;
        cx[CTX_SEED] = chunk_seed(ctx[CTX_SEED], c);
        ctxs.push(cx);
    }
    let bounds = |c: usize| {
        let lo = (i128::from(n) * c as i128 / chunks as i128) as i64;
        let hi = (i128::from(n) * (c as i128 + 1) / chunks as i128) as i64;
        (lo, hi)
    };
    let func = pl.func;
    let run_chunk = |(c, (f, cx)): (usize, (&mut Vec<i64>, &mut [i64; CTX_LEN]))| {
        let (lo, hi) = bounds(c);
        // SAFETY: as for the kernel itself; chunks run disjoint iterations on private frames.
        unsafe { func(args as *const i64, cx.as_mut_ptr(), f.as_mut_ptr(), lo, hi) }
    };
    let codes: Vec<i32> = match rt.pool {
        Some(pool) if chunks > 1 => pool.install(|| {
            use rayon::prelude::*;
            frames
                .par_iter_mut()
                .zip(ctxs.par_iter_mut())
                .enumerate()
                .map(run_chunk)
                .collect()
        }),
        _ => frames
            .iter_mut()
            .zip(ctxs.iter_mut())
            .enumerate()
            .map(run_chunk)
            .collect(),
    };
    if let Some(c) = codes.iter().position(|&c| c != 0) {
        if let Some(cx) = ctxs.get(c) {
            ctx[..CTX_RET].copy_from_slice(&cx[..CTX_RET]);
        }
        return FAULT;
    }
    for &(local, op, d) in &pl.reductions {
        let Some(&w) = base.get(local) else { continue };
        let mut acc = scalar_of_bits(d, w);
        for f in &frames {
            if let Some(&p) = f.get(local) {
                acc = combine(op, acc, scalar_of_bits(d, p));
            }
        }
        base[local] = scalar_bits(acc);
    }
    0
}

/// Where `return` goes inside an inlined call.
struct RetTarget {
    exit: Block,
    result: Option<Variable>,
}

/// Lowers the body of one function (the kernel, or one chunk of a parallel loop).
pub(crate) struct FnLower<'k, 'f, 'm> {
    pub b: FunctionBuilder<'f>,
    pub host: Host<'m>,
    f: &'k KFunc,
    opts: KernelOptions,
    args: Value,
    ctx: Value,
    vars: Vec<Variable>,
    ptrs: Vec<Value>,
    dims: Vec<Vec<Value>>,
    strides: Vec<Vec<Value>>,
    rng_state: Variable,
    /// (continue target, exit) of the enclosing loops.
    loops: Vec<(Block, Block)>,
    rets: Vec<RetTarget>,
    fault: Block,
    /// The parallel loops met so far, numbered in order.
    pub par: Vec<&'k KFor>,
    prange: Option<FuncRef>,
    /// Loop-invariant expressions computed before the loop being emitted, by node address.
    hoisted: std::collections::HashMap<*const KExpr, Value>,
    /// How many loops were emitted with a vector form.
    pub vector_loops: usize,
}

fn word_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_notrap()
        .with_readonly()
        .with_can_move()
}

fn data_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

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

    fn load_params(&mut self) {
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

    fn word(&mut self, i: usize) -> Value {
        self.b
            .ins()
            .load(types::I64, word_flags(), self.args, (8 * i) as i32)
    }

    fn var(&self, l: u32) -> Result<Variable, CodegenError> {
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
    fn check(&mut self, ok: Value, kind: FaultKind, site: u32, index: Value, axis: usize) {
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
    fn dead_block(&mut self) {
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

    fn stmt(&mut self, s: &'k KStmt) -> Result<(), CodegenError> {
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
    fn branch(&mut self, c: &'k KExpr, yes: Block, no: Block) -> Result<(), CodegenError> {
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
    fn hoist(
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
    fn unhoist(&mut self, keys: Vec<*const KExpr>) {
        for k in keys {
            self.hoisted.remove(&k);
        }
    }

    /// `(start, step, n)` of a counted loop, after the zero-step check.
    fn trip(&mut self, fl: &'k KFor) -> Result<(Value, Value, Value), CodegenError> {
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
    fn clamp_count(&mut self, n: Value) -> Value {
        let max = self.b.ins().iconst(types::I64, i64::MAX);
        let zero = self.b.ins().iconst(types::I64, 0);
        let huge = self.b.ins().icmp(IntCC::SignedLessThan, n, zero);
        self.b.ins().select(huge, max, n)
    }

    fn serial_for(&mut self, fl: &'k KFor) -> Result<(), CodegenError> {
        if let Some(plan) = kvec::plan(fl, self.opts.bounds_checks) {
            return self.vector_for(fl, plan);
        }
        let (start, step, n) = self.trip(fl)?;
        let zero = self.b.ins().iconst(types::I64, 0);
        self.counted_loop(fl, start, step, zero, n)
    }

    /// Iterations `k_lo..k_hi` of `fl`, the loop variable being `start + k * step`.
    fn counted_loop(
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
    fn par_for(&mut self, fl: &'k KFor) -> Result<(), CodegenError> {
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

    fn address(&mut self, a: &'k Access) -> Result<Value, CodegenError> {
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

    fn expr(&mut self, e: &'k KExpr) -> Result<Value, CodegenError> {
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
    fn mix(&mut self, x: Value) -> Value {
        let g = self
            .b
            .ins()
            .iconst(types::I64, 0x9E37_79B9_7F4A_7C15u64 as i64);
        let z = self.b.ins().iadd(x, g);
        self.finalize(z)
    }

    /// SplitMix64's finalizer (a bijection of 64-bit words).
    fn finalize(&mut self, z: Value) -> Value {
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
    fn next_random(&mut self) -> Value {
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
    fn unit_float(&mut self, z: Value, open_zero: bool) -> Value {
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

/// Every local some statement of `stmts` may assign (loop variables and inlined results too).
fn assigned_locals(stmts: &[KStmt], out: &mut std::collections::HashSet<u32>) {
    fn e(x: &KExpr, out: &mut std::collections::HashSet<u32>) {
        match &x.kind {
            KExprKind::Inline { body, result } => {
                if let Some(l) = result {
                    out.insert(*l);
                }
                assigned_locals(body, out);
            }
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => e(a, out),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => {
                e(a, out);
                e(b, out);
            }
            KExprKind::Select(c, a, b) => {
                e(c, out);
                e(a, out);
                e(b, out);
            }
            KExprKind::Load(acc) => acc.index.iter().for_each(|i| e(i, out)),
            _ => {}
        }
    }
    for s in stmts {
        match s {
            KStmt::Set(l, x) => {
                out.insert(*l);
                e(x, out);
            }
            KStmt::Store(acc, x) => {
                acc.index.iter().for_each(|i| e(i, out));
                e(x, out);
            }
            KStmt::Eval(x) | KStmt::Return(Some(x)) => e(x, out),
            KStmt::If(c, t, f) => {
                e(c, out);
                assigned_locals(t, out);
                assigned_locals(f, out);
            }
            KStmt::While(c, b) => {
                e(c, out);
                assigned_locals(b, out);
            }
            KStmt::For(f) => {
                out.insert(f.var);
                e(&f.start, out);
                e(&f.stop, out);
                e(&f.step, out);
                assigned_locals(&f.body, out);
            }
            KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
        }
    }
}

/// Collects the maximal subexpressions of `s` that are pure, cannot fail, read no memory and
/// no local in `assigned`, and are worth computing once (not a bare constant or local).
fn invariant_parts<'k>(
    s: &'k KStmt,
    assigned: &std::collections::HashSet<u32>,
    out: &mut Vec<&'k KExpr>,
) {
    fn pure(x: &KExpr, assigned: &std::collections::HashSet<u32>) -> bool {
        match &x.kind {
            KExprKind::Const(_) | KExprKind::Dim { .. } => true,
            KExprKind::Local(l) => !assigned.contains(l),
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => pure(a, assigned),
            KExprKind::Binary(_, a, b) => pure(a, assigned) && pure(b, assigned),
            KExprKind::Select(c, a, b) => {
                pure(c, assigned) && pure(a, assigned) && pure(b, assigned)
            }
            _ => false,
        }
    }
    fn walk<'k>(x: &'k KExpr, assigned: &std::collections::HashSet<u32>, out: &mut Vec<&'k KExpr>) {
        let trivial = matches!(
            x.kind,
            KExprKind::Const(_) | KExprKind::Local(_) | KExprKind::Dim { .. }
        );
        if !trivial && pure(x, assigned) {
            out.push(x);
            return;
        }
        match &x.kind {
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => walk(a, assigned, out),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => {
                walk(a, assigned, out);
                walk(b, assigned, out);
            }
            KExprKind::Select(c, a, b) => {
                walk(c, assigned, out);
                walk(a, assigned, out);
                walk(b, assigned, out);
            }
            KExprKind::Load(acc) => acc.index.iter().for_each(|i| walk(i, assigned, out)),
            KExprKind::Inline { body, .. } => {
                body.iter().for_each(|s| invariant_parts(s, assigned, out))
            }
            _ => {}
        }
    }
    match s {
        KStmt::Set(_, x) | KStmt::Eval(x) | KStmt::Return(Some(x)) => walk(x, assigned, out),
        KStmt::Store(acc, x) => {
            acc.index.iter().for_each(|i| walk(i, assigned, out));
            walk(x, assigned, out);
        }
        KStmt::If(c, t, f) => {
            walk(c, assigned, out);
            t.iter()
                .chain(f)
                .for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::While(c, b) => {
            walk(c, assigned, out);
            b.iter().for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::For(f) => {
            walk(&f.start, assigned, out);
            walk(&f.stop, assigned, out);
            walk(&f.step, assigned, out);
            f.body
                .iter()
                .for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
    }
}

/// Whether `stmts` may run unconditionally: at most a few local updates whose values cannot
/// fail, call out or cost much.
fn speculable(stmts: &[KStmt]) -> bool {
    fn cheap(e: &KExpr) -> bool {
        use ndx_ir::kernel::UnaryOp as U;
        match &e.kind {
            KExprKind::Const(_) | KExprKind::Local(_) | KExprKind::Dim { .. } => true,
            KExprKind::Cast(x) => cheap(x),
            KExprKind::Unary(op, x) => {
                matches!(
                    op,
                    U::Neg | U::Not | U::Abs | U::IsNan | U::IsInf | U::IsFinite
                ) && cheap(x)
            }
            KExprKind::Binary(op, x, y) => {
                let ok = match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Min
                    | BinaryOp::Max => true,
                    BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => true,
                    BinaryOp::Div => x.dtype.is_float(),
                    op => op.is_comparison(),
                };
                ok && cheap(x) && cheap(y)
            }
            KExprKind::Select(c, x, y) => cheap(c) && cheap(x) && cheap(y),
            _ => false,
        }
    }
    stmts.len() <= 4
        && stmts
            .iter()
            .all(|s| matches!(s, KStmt::Set(_, e) if cheap(e)))
}

fn zero_of(b: &mut FunctionBuilder, d: DType) -> Value {
    match d {
        DType::F32 => b.ins().f32const(0.0),
        DType::F64 => b.ins().f64const(0.0),
        _ => iconst(b, clif_type(d), 0),
    }
}

/// A scalar of dtype `d` from its argument word.
fn from_word(b: &mut FunctionBuilder, d: DType, w: Value) -> Value {
    match d {
        DType::I64 => w,
        DType::I32 | DType::Bool => b.ins().ireduce(clif_type(d), w),
        DType::F64 => b.ins().bitcast(types::F64, MemFlagsData::new(), w),
        DType::F32 => {
            let lo = b.ins().ireduce(types::I32, w);
            b.ins().bitcast(types::F32, MemFlagsData::new(), lo)
        }
    }
}

impl crate::Jit {
    /// Compiles a kernel: its main function and one chunk function per parallel loop.
    pub fn compile_kernel(
        &mut self,
        f: &KFunc,
        opts: KernelOptions,
    ) -> Result<CompiledKernel, CodegenError> {
        let start = std::time::Instant::now();
        let r = self.compile_kernel_uncached(f, opts);
        if r.is_err() {
            cranelift_module::Module::clear_context(&self.module, &mut self.ctx);
            self.fctx = cranelift_frontend::FunctionBuilderContext::new();
        }
        self.stats.compiled += 1;
        self.stats.compile_time += start.elapsed();
        r
    }

    fn compile_kernel_uncached(
        &mut self,
        f: &KFunc,
        opts: KernelOptions,
    ) -> Result<CompiledKernel, CodegenError> {
        use cranelift_module::Module;
        if cfg!(debug_assertions) {
            f.verify()
                .map_err(|e| CodegenError::Internal(e.to_string()))?;
        }
        let mut sig = self.module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I32));
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig.clone();
        let main_id = self.module.declare_anonymous_function(&sig)?;
        let mut vector_loops = 0;
        let par: Vec<KFor> = {
            let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let host = Host {
                module: &mut self.module,
                ids: &self.host_ids,
                refs: Default::default(),
            };
            let (mut l, _) = FnLower::new(b, host, f, opts, 0);
            l.enable_prange()?;
            l.stmts(&f.body)?;
            let par = l.par.iter().map(|p| (*p).clone()).collect();
            vector_loops += l.vector_loops;
            l.finish();
            par
        };
        self.define(main_id)?;
        let mut chunk_ids = Vec::new();
        for fl in &par {
            let mut csig = self.module.make_signature();
            for _ in 0..5 {
                csig.params.push(AbiParam::new(types::I64));
            }
            csig.returns.push(AbiParam::new(types::I32));
            self.module.clear_context(&mut self.ctx);
            self.ctx.func.signature = csig.clone();
            let id = self.module.declare_anonymous_function(&csig)?;
            {
                let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
                let host = Host {
                    module: &mut self.module,
                    ids: &self.host_ids,
                    refs: Default::default(),
                };
                let (mut l, extra) = FnLower::new(b, host, f, opts, 3);
                l.chunk_body(fl, extra[0], extra[1], extra[2])?;
                vector_loops += l.vector_loops;
                l.finish();
            }
            self.define(id)?;
            chunk_ids.push(id);
        }
        self.module.finalize_definitions()?;
        let ptr = self.module.get_finalized_function(main_id);
        // SAFETY: built with the signature (i64, i64) -> i32 in the C calling convention.
        let main = unsafe { std::mem::transmute::<*const u8, MainFn>(ptr) };
        let mut loops = Vec::new();
        for (fl, id) in par.iter().zip(chunk_ids) {
            let ptr = self.module.get_finalized_function(id);
            // SAFETY: built with the signature (i64, i64, i64, i64, i64) -> i32.
            let func = unsafe { std::mem::transmute::<*const u8, ChunkFn>(ptr) };
            let reductions = fl
                .parallel
                .iter()
                .flatten()
                .map(|r| {
                    let d = f
                        .locals
                        .get(r.local as usize)
                        .copied()
                        .unwrap_or(DType::I64);
                    (r.local as usize, r.op, d)
                })
                .collect();
            loops.push(ParLoop { func, reductions });
        }
        let words = f
            .params
            .iter()
            .map(|p| match p {
                KParam::Array(k) => 1 + 2 * f.arrays.get(*k as usize).map_or(0, |a| a.rank),
                KParam::Scalar(_) => 1,
            })
            .sum();
        Ok(CompiledKernel {
            main,
            loops,
            vector_loops,
            nlocals: f.locals.len(),
            words,
            ret: f.ret,
        })
    }

    fn define(&mut self, id: cranelift_module::FuncId) -> Result<(), CodegenError> {
        self.define_listed(id)
    }

    /// Runs a compiled kernel on argument words (see the module docs), with the random seed
    /// `seed` and this JIT's thread count for parallel loops.
    ///
    /// # Safety
    /// As [`CompiledKernel::run`]: the array words must describe live memory of the kernel's
    /// dtypes and ranks.
    pub unsafe fn run_kernel(
        &mut self,
        k: &CompiledKernel,
        args: &[i64],
        seed: u64,
    ) -> Result<Result<Option<Scalar>, KernelFault>, CodegenError> {
        if self.threads > 1 && !k.loops.is_empty() && self.pool.is_none() {
            self.pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .ok();
        }
        // SAFETY: forwarded from the caller.
        unsafe { k.run(args, seed, self.threads, self.pool.as_ref()) }
    }
}
