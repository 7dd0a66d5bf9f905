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
//!
//! Files: this module holds the calling convention, the compiled form and the entry points;
//! `emit.rs` lowers statements and expressions ([`FnLower`]), `kvec.rs` vector loops,
//! `analysis.rs` the walks over the IR that codegen decides by (assigned locals, invariant
//! parts, speculable branches), and `prange.rs` the host side of parallel loops.

mod analysis;
mod emit;
mod kvec;
mod prange;

pub(crate) use prange::ndx_prange;

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

/// A compiled kernel: native code valid while its [`crate::Jit`] lives, or longer while a
/// [`crate::Jit::code_token`] is held.
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
    s.word()
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
            cranelift_module::Module::clear_context(&*self.module, &mut self.ctx);
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
            let host = Host::new(&mut self.module, &self.host_ids);
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
                let host = Host::new(&mut self.module, &self.host_ids);
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
        let threads = self.threads;
        let pool = if threads > 1 && !k.loops.is_empty() {
            self.pool()
        } else {
            self.pool.as_ref()
        };
        // SAFETY: forwarded from the caller.
        unsafe { k.run(args, seed, threads, pool) }
    }

    /// Runs `k` (a kernel without parallel loops or a return value) once per argument vector
    /// of `parts`, the pieces of one launch: on this JIT's worker threads when there are
    /// several, else in order on the calling thread. The first error or fault, in part order,
    /// is the result.
    ///
    /// # Safety
    /// As [`Jit::run_kernel`], for every part; and no two parts write the same memory.
    pub unsafe fn run_kernel_parts(
        &mut self,
        k: &CompiledKernel,
        parts: &[Vec<i64>],
    ) -> Result<Result<(), KernelFault>, CodegenError> {
        // SAFETY: forwarded from the caller, part by part.
        let run = |w: &Vec<i64>| unsafe { k.run(w, 0, 1, None) }.map(|r| r.map(|_| ()));
        let results: Vec<_> = match (self.threads > 1 && parts.len() > 1)
            .then(|| self.pool())
            .flatten()
        {
            Some(pool) => pool.install(|| {
                use rayon::prelude::*;
                parts.par_iter().map(run).collect()
            }),
            None => parts.iter().map(run).collect(),
        };
        for r in results {
            match r {
                Ok(Ok(())) => {}
                other => return other,
            }
        }
        Ok(Ok(()))
    }
}
