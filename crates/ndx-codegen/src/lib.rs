//! ndx code generation: a scheduled loop nest ([`ndx_ir::loops::Nest`]) to native code through
//! Cranelift, with a kernel cache keyed by the nest's structure.
//!
//! [`Jit`] owns one `JITModule` built for the host ISA (so vector code uses AVX/FMA when the
//! CPU has them) and the cache. [`Jit::compile`] turns a nest into a [`Compiled`] function
//! pointer with the calling convention of [`ndx_ir::loops`]; [`Jit::execute`] schedules,
//! compiles (or hits the cache) and calls a kernel on raw arrays. On CPUs with AVX-512F, a
//! nest of float arithmetic also gets 512-bit row code that `zmm` assembles (Cranelift's
//! vectors stop at 128 bits); `Compiled::call` runs it for rows of [`ROW_MIN_512`] or more
//! ([`ROW_MIN_512_REDUCE`] for one that reduces its rows, [`ROW_MIN_512_ARG`] for `argmax` and
//! `argmin`).
//!
//! Invariants: generated code never traps (integer division is guarded, float-to-int casts
//! saturate, every load and store is at an address the caller vouched for), and computes what
//! `ndx_ir::eval` computes: bit for bit on ints and bools, and on floats except for the order
//! of reductions, the math functions of `vmath` (within 4 ULP of libm's results, with the
//! same special values) and `x ** n` for small integer constants `n` (multiplications). The
//! row code gives the Cranelift code's bits (a NaN's sign and payload aside). Compiled code
//! lives as long as the process (the module's memory is never freed), so a [`Compiled`] stays
//! valid after its [`Jit`] is dropped.
#![deny(missing_docs)]

mod host;
mod inspect;
mod kcode;
mod lower;
mod parallel;
mod scalar;
mod simd;
mod transpose;
mod vmath;
#[cfg(target_arch = "x86_64")]
mod zmm;
/// No 512-bit row code off x86-64.
#[cfg(not(target_arch = "x86_64"))]
mod zmm {
    use crate::CodegenError;
    use cranelift_jit::JITModule;
    use ndx_ir::loops::Nest;

    /// Never made.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct RowFn {
        pub(crate) shape: RowShape,
    }

    #[derive(Clone, Copy, Debug)]
    pub(crate) struct RowShape {
        pub(crate) lanes: u8,
        pub(crate) min: usize,
        pub(crate) stream_min: usize,
    }

    impl RowFn {
        pub(crate) unsafe fn run(&self, _: &[i64]) -> bool {
            false
        }

        pub(crate) fn streams_launch(&self, _: &[i64]) -> bool {
            false
        }
    }

    /// As on x86-64 (where it applies).
    pub const STREAM_MIN: usize = 6 << 20;

    /// Never made.
    pub(crate) struct Defined;

    impl Defined {
        pub(crate) fn finish(&self, _: &JITModule) -> RowFn {
            RowFn {
                shape: RowShape {
                    lanes: 0,
                    min: 0,
                    stream_min: 0,
                },
            }
        }
    }

    pub(crate) fn define(_: &mut JITModule, _: &Nest) -> Result<Option<Defined>, CodegenError> {
        Ok(None)
    }

    pub(crate) fn listing(_: &Nest) -> Option<String> {
        None
    }

    pub(crate) fn chain_listing(_: &[Nest]) -> Option<String> {
        None
    }

    /// Never made.
    #[derive(Clone, Debug)]
    pub(crate) struct RowChain;

    impl RowChain {
        pub(crate) unsafe fn run(&self, _: &[&[i64]]) -> bool {
            false
        }

        pub(crate) fn pipelined(&self) -> bool {
            false
        }
    }

    /// Never made.
    pub(crate) struct DefinedChain;

    impl DefinedChain {
        pub(crate) fn finish(self, _: &JITModule) -> RowChain {
            RowChain
        }
    }

    pub(crate) fn define_chain(
        _: &mut JITModule,
        _: &[Nest],
    ) -> Result<Option<DefinedChain>, CodegenError> {
        Ok(None)
    }
}

use cranelift_codegen::ir::{types, AbiParam};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, ModuleError};
use ndx_ir::kernel::Kernel;
use ndx_ir::loops::{schedule, ArrayLayout, Launch, Nest};
use ndx_runtime::DType;
use std::collections::HashMap;

pub use inspect::{LaunchReport, Listing, VectorInfo};
pub use kcode::{scalar_bits, vector_loops, CompiledKernel, KernelFault, KernelOptions, CTX_LEN};
pub use parallel::MIN_PARALLEL;
pub use zmm::STREAM_MIN;
/// Rows (inner extents) from which a nest with 512-bit row code runs it
/// ([`Compiled::row_lanes`]). `y[:, :] = (x - m) / (abs(x) + 2.0)` over 2^20 elements with `m`
/// one value per row, `threads(1)`, row code against Cranelift's: f32 rows of 4 0.67 / 0.51
/// ms, of 8 0.23 / 0.29 ms, of 16 0.12 / 0.23 ms; f64 rows of 4 0.70 / 0.70 ms, of 8 0.34 /
/// 0.69 ms (BENCHMARKS.md, issue 3).
pub const ROW_MIN_512: usize = 8;

/// [`ROW_MIN_512`] for a nest that reduces its rows (`sum`, `max`, `min`): the end of each row
/// (the JIT's fold, in its order) costs more than Cranelift's. `sum(x * x, axis=-1)` over 2^20
/// f32 elements, `threads(1)`, row code against Cranelift's: rows of 8 0.54 / 0.34 ms, of 16
/// 0.28 / 0.20 ms, of 64 0.090 / 0.084 ms, of 128 0.070 / 0.072-0.076 ms (BENCHMARKS.md,
/// issue 3).
pub const ROW_MIN_512_REDUCE: usize = 128;

/// [`ROW_MIN_512`] for a nest whose rows end in `argmax` or `argmin` (whose Cranelift code
/// compares one element at a time), in `any` or `all` of a mask (`any(x > 0.9, axis=1)`
/// over rows of 4: 0.38 against 0.58 ms, of 8: 0.19 against 0.57 ms), or in a count of a
/// mask (`sum(x > t, axis=1)`). `argmax(x, axis=-1)` over 2M `f32` elements, `threads(1)`,
/// row code against Cranelift's: rows of 2 11.1-11.5 / 7.6 ms, of 4 6.6 / 8.1 ms, of 16 1.3 /
/// 5.7-7.6 ms, of 128 0.41 / 3.2 ms; `argmin` of `f64` alike (BENCHMARKS.md, issue 3).
pub const ROW_MIN_512_ARG: usize = 4;

/// True when nests of float arithmetic get 512-bit row code ([`Compiled::row_lanes`]): the
/// CPU has AVX-512F (x86-64, not Windows), and the environment variable `NDX_ZMM` is not `0`
/// (which keeps every kernel on Cranelift's 128-bit code, to compare the two).
pub fn row_code_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        // (The row code follows the System V calling convention: not on Windows.)
        cfg!(all(target_arch = "x86_64", not(windows)))
            && ndx_runtime::ops::wide_sum::wide_available()
            && std::env::var_os("NDX_ZMM").is_none_or(|v| v != "0")
    })
}
use std::time::{Duration, Instant};

/// Why code generation failed.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The kernel uses an operation or dtype combination codegen does not implement.
    #[error("not supported by the code generator: {0}")]
    Unsupported(String),
    /// The arguments of [`Jit::execute`] do not describe the kernel's arrays.
    #[error("invalid kernel arguments: {0}")]
    Arguments(String),
    /// The compiled kernel returned a non-zero error code.
    #[error("kernel failed with error code {0}")]
    Kernel(i32),
    /// A bug in ndx: invalid IR, a verifier failure or a Cranelift error.
    #[error("internal error in the code generator (please report this as a bug): {0}")]
    Internal(String),
}

impl From<ModuleError> for CodegenError {
    fn from(e: ModuleError) -> Self {
        CodegenError::Internal(format!("{e:?}"))
    }
}

/// Compilation statistics of a [`Jit`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Nests compiled (cache misses).
    pub compiled: usize,
    /// Cache hits.
    pub hits: usize,
    /// Total time spent compiling.
    pub compile_time: Duration,
    /// Nests whose 512-bit row code failed to assemble (a compiler bug: each of them runs its
    /// Cranelift code instead, so no statement fails; the tests require none).
    pub row_code_errors: usize,
}

/// The signature of every compiled nest (see [`ndx_ir::loops`]).
type KernelFn = unsafe extern "C" fn(*const i64) -> i32;

/// A compiled nest: a function pointer into JIT memory, valid while its [`Jit`] lives.
#[derive(Clone, Copy, Debug)]
pub struct Compiled {
    func: KernelFn,
    words: usize,
    vector: Option<VectorInfo>,
    /// The 512-bit row code, for launches with long enough rows (`zmm`).
    rows: Option<zmm::RowFn>,
}

impl Compiled {
    /// Calls the kernel with `launch_words` ([`ndx_ir::loops::Launch::words`]). Returns 0 on
    /// success, an error code otherwise (-1 when the number of words is wrong).
    ///
    /// # Safety
    /// The pointers and strides in `launch_words` must describe memory that is valid for every
    /// element the nest reads and writes, of the dtypes of the nest it was compiled from; an
    /// output must either be exactly an input (same pointer and strides) or not overlap any
    /// input.
    pub unsafe fn call(&self, launch_words: &[i64]) -> i32 {
        if launch_words.len() != self.words {
            return -1;
        }
        if let Some(rows) = &self.rows {
            // SAFETY: as below; `run` declines a launch its code was not compiled for.
            if unsafe { rows.run(launch_words) } {
                return 0;
            }
        }
        // SAFETY: the function was compiled for this word layout; the caller vouches for the
        // memory the words describe.
        unsafe { (self.func)(launch_words.as_ptr()) }
    }

    /// True when the inner loop was compiled to vector code.
    pub fn is_vectorized(&self) -> bool {
        self.vector.is_some()
    }

    /// The shape of the vector inner loop, when there is one.
    pub fn vector(&self) -> Option<VectorInfo> {
        self.vector
    }

    /// Lanes of the 512-bit row code (16 for `f32`, 8 for `f64`), when the nest has it: then
    /// launches whose rows (inner extent) have at least [`Compiled::row_min`] elements run it,
    /// and shorter ones the Cranelift code.
    pub fn row_lanes(&self) -> Option<u8> {
        self.rows.map(|r| r.shape.lanes)
    }

    /// The shortest rows that run the 512-bit row code, when the nest has it:
    /// [`ROW_MIN_512`], or [`ROW_MIN_512_REDUCE`] for a nest that reduces its rows
    /// ([`ROW_MIN_512_ARG`] for `argmax` and `argmin`).
    pub fn row_min(&self) -> Option<usize> {
        self.rows.map(|r| r.shape.min)
    }

    /// True when a launch with `launch_words` runs the 512-bit row code with streaming
    /// (non-temporal) stores: an elementwise nest writing at least [`STREAM_MIN`] bytes to
    /// outputs whose rows start 64-byte aligned.
    pub fn streams(&self, launch_words: &[i64]) -> bool {
        self.rows.is_some_and(|r| r.streams_launch(launch_words))
    }

    /// This function with its 512-bit row code (if any) run from rows of `n` elements (at
    /// least 1): to test the row code on short rows, or to measure where it pays.
    pub fn rows_from(self, n: usize) -> Compiled {
        let rows = self.rows.map(|mut r| {
            r.shape.min = n.max(1);
            r
        });
        Compiled { rows, ..self }
    }

    /// This function with the streaming stores of its 512-bit row code (if any) taken by
    /// launches that write at least `bytes` (and whose output rows are 64-byte aligned): to
    /// test them on small launches.
    pub fn streams_from(self, bytes: usize) -> Compiled {
        let rows = self.rows.map(|mut r| {
            r.shape.stream_min = bytes;
            r
        });
        Compiled { rows, ..self }
    }

    /// This function without its 512-bit row code: every launch runs the Cranelift code (to
    /// compare the two).
    pub fn without_rows(self) -> Compiled {
        Compiled { rows: None, ..self }
    }
}

/// Several nests' 512-bit row code run as one function, row after row ([`Jit::chain`]): for
/// each row, the first nest's row, then the second's, and so on. A later nest reads what an
/// earlier one wrote for the same row (layernorm's row sums) and the row's elements while
/// they are in the L1 cache, where nests run one after another each pass over the whole
/// array. Each nest's row is its own row code, but for a float `sum`, which adds in four
/// chains and ends in a tree ([`chain_sum`]) rather than in the Cranelift code's order: its
/// single chain of adds would bind the row (LANGUAGE.md section 6 leaves the order free).
#[derive(Clone, Debug)]
pub struct Chain {
    rows: zmm::RowChain,
}

impl Chain {
    /// Runs the chain over `launches` ([`ndx_ir::loops::Launch::words`]), one per nest in the
    /// chain's order, all over the same iteration space. Returns false, having done nothing,
    /// when a launch does not take its nest's row code (rows too short, other strides) or the
    /// spaces differ: the caller then calls each nest's [`Compiled`] in turn.
    ///
    /// # Safety
    /// As [`Compiled::call`], for every launch; and what a launch writes, a later one reads
    /// only in the same row of the iteration space (the chain does row by row what the
    /// launches one after another do pass by pass).
    pub unsafe fn run(&self, launches: &[&[i64]]) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.rows.run(launches) }
    }

    /// True when the chain runs software-pipelined: in one loop, step `j` on row `t - j` for
    /// every step `j`, so that one row's sums run beside an earlier row's divisions (blocks of
    /// fewer rows than steps go step by step). Else each row's steps run one after another.
    /// Either way each row's values are the same.
    pub fn pipelined(&self) -> bool {
        self.rows.pipelined()
    }
}

/// Vectors a float `sum` of a [`Chain`] takes per step, each into its own accumulator: four
/// chains of adds side by side, where the 128-bit code's order (and a nest's own row code)
/// has one. The chain's sums are then not the bits of the nests run one after another.
pub const CHAIN_SUM_UNROLL: usize = 4;

/// The sum of `row` in the order of a [`Chain`]'s float `sum` of `lanes` lanes (16 for `f32`,
/// 8 for `f64`), in the row's own arithmetic: a reference for tests. Vectors of `lanes`
/// elements go, [`CHAIN_SUM_UNROLL`] at a time, to as many accumulators (vector `i + j` to
/// accumulator `j`); the whole vectors left, then the partial one, to the first; the
/// accumulators add pairwise (`(a0 + a1) + (a2 + a3)`), then the lanes halve until one is
/// left (lane `l` plus lane `l + half`).
pub fn chain_sum<T: Copy + Default + std::ops::Add<Output = T>>(row: &[T], lanes: usize) -> T {
    // (No lanes would be one lane.)
    let lanes = lanes.max(1);
    let u = CHAIN_SUM_UNROLL;
    let mut acc = vec![vec![T::default(); lanes]; u];
    let whole = row.len() / lanes;
    let add = |acc: &mut [T], v: &[T]| {
        for (a, x) in acc.iter_mut().zip(v) {
            *a = *a + *x;
        }
    };
    let mut i = 0;
    while i + u <= whole {
        for (j, a) in acc.iter_mut().enumerate() {
            add(a, &row[(i + j) * lanes..][..lanes]);
        }
        i += u;
    }
    for v in row[i * lanes..].chunks(lanes) {
        add(&mut acc[0], v);
    }
    while acc.len() > 1 {
        let half = acc.len() / 2;
        let (lo, hi) = acc.split_at_mut(half);
        for (a, b) in lo.iter_mut().zip(hi.iter()) {
            add(a, b);
        }
        acc.truncate(half);
    }
    let mut v = acc.swap_remove(0);
    while v.len() > 1 {
        let half = v.len() / 2;
        let (lo, hi) = v.split_at_mut(half);
        add(lo, hi);
        v.truncate(half);
    }
    v[0]
}

/// An array as [`Jit::execute`] sees it: a data pointer (at the element with index 0 on every
/// axis), byte strides per iteration axis (0 where it broadcasts) and the dtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawArray {
    /// Address of the element at index 0.
    pub ptr: usize,
    /// Byte stride per axis of the iteration space.
    pub strides: Vec<isize>,
    /// Element type.
    pub dtype: DType,
}

impl RawArray {
    /// The array as [`ndx_ir::loops::schedule`] takes it.
    pub fn layout(&self) -> ArrayLayout<'_> {
        ArrayLayout {
            ptr: self.ptr,
            strides: &self.strides,
            itemsize: self.dtype.size(),
        }
    }
}

/// The JIT compiler and its kernel cache.
///
/// Dropping it unmaps its code, unless a [`Jit::code_token`] is still held (a detached
/// kernel handle may call the code later): then the code stays mapped for the process.
pub struct Jit {
    module: std::mem::ManuallyDrop<JITModule>,
    /// Cloned by everything that may call this JIT's code after the JIT is dropped.
    code_users: std::sync::Arc<()>,
    ctx: Context,
    fctx: FunctionBuilderContext,
    host_ids: HashMap<&'static str, FuncId>,
    cache: HashMap<Nest, Compiled, rustc_hash::FxBuildHasher>,
    /// Row chains ([`Jit::chain`]) by their nests (`None`: the nests have none).
    chains: HashMap<Vec<Nest>, Option<Chain>, rustc_hash::FxBuildHasher>,
    stats: Stats,
    threads: usize,
    /// Launches of fewer points run on the calling thread (see [`Jit::set_parallel_threshold`]).
    min_parallel: Option<usize>,
    pool: Option<rayon::ThreadPool>,
    /// When set, every function compiled records its CLIF text and machine-code listing here.
    listings: Option<Vec<Listing>>,
    /// When set, every launch records what was scheduled and how it ran here.
    reports: Option<Vec<LaunchReport>>,
}

impl Jit {
    /// A JIT for the host CPU, with the math library registered.
    pub fn new() -> Result<Jit, CodegenError> {
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| {
            f.set(k, v)
                .map_err(|e| CodegenError::Internal(format!("setting {k}={v}: {e}")))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let isa_builder = cranelift_native::builder().map_err(|e| {
            CodegenError::Unsupported(format!("this CPU is not supported by Cranelift: {e}"))
        })?;
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| CodegenError::Internal(format!("building the host ISA: {e}")))?;
        let mut jb = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        let fns = host::host_functions();
        for f in &fns {
            jb.symbol(f.name, f.addr);
        }
        jb.symbol(kcode::PRANGE_SYMBOL, kcode::ndx_prange as *const u8);
        let mut module = JITModule::new(jb);
        let mut host_ids = HashMap::new();
        for f in &fns {
            let mut sig = module.make_signature();
            sig.params
                .extend(f.params.iter().map(|t| AbiParam::new(*t)));
            sig.returns.push(AbiParam::new(f.ret));
            let id = module.declare_function(f.name, Linkage::Import, &sig)?;
            host_ids.insert(f.name, id);
        }
        let mut sig = module.make_signature();
        sig.params.extend([AbiParam::new(types::I64); 4]);
        sig.returns.push(AbiParam::new(types::I32));
        let id = module.declare_function(kcode::PRANGE_SYMBOL, Linkage::Import, &sig)?;
        host_ids.insert(kcode::PRANGE_SYMBOL, id);
        Ok(Jit {
            ctx: module.make_context(),
            module: std::mem::ManuallyDrop::new(module),
            code_users: std::sync::Arc::new(()),
            fctx: FunctionBuilderContext::new(),
            host_ids,
            cache: HashMap::default(),
            chains: HashMap::default(),
            stats: Stats::default(),
            threads: 1,
            min_parallel: None,
            pool: None,
            listings: None,
            reports: None,
        })
    }

    /// A token that keeps this JIT's code mapped after the JIT is dropped: whoever keeps
    /// compiled code (a detached kernel handle) past the JIT's life holds one.
    pub fn code_token(&self) -> std::sync::Arc<()> {
        self.code_users.clone()
    }

    /// Sets how many threads large kernels use (at least 1). Kernels whose outermost loop is
    /// not reduced and that cover enough elements are split over that many workers; results
    /// do not depend on the count.
    pub fn set_threads(&mut self, n: usize) {
        let n = n.max(1);
        if n != self.threads {
            self.threads = n;
            self.pool = None;
        }
    }

    /// Overrides the measured number of iteration points from which a launch is split over
    /// threads (elementwise and full reductions alike); `None` restores the measured defaults.
    /// For tests, which exercise the split on small arrays, and for tuning.
    pub fn set_parallel_threshold(&mut self, points: Option<usize>) {
        self.min_parallel = points;
    }

    /// The number of iteration points from which work is split over threads.
    pub fn parallel_threshold(&self) -> usize {
        self.min_parallel.unwrap_or(MIN_PARALLEL)
    }

    /// The worker pool of [`Jit::set_threads`] threads, built on first use (`None` if the OS
    /// refused the threads: callers then run on the calling thread). Split launches, parallel
    /// loops and the session's other parallel work (row programs, precompiled sums) share it.
    pub fn pool(&mut self) -> Option<&rayon::ThreadPool> {
        if self.pool.is_none() {
            self.pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .ok();
        }
        self.pool.as_ref()
    }

    /// The thread count set with [`Jit::set_threads`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Compilation statistics so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Compiles `nest`, or returns the cached function for a nest with the same key.
    pub fn compile(&mut self, nest: &Nest) -> Result<Compiled, CodegenError> {
        self.compile_timed(nest).map(|(c, _)| c)
    }

    /// As [`Jit::compile`], also saying how long compiling took (`None` for a cache hit).
    pub(crate) fn compile_timed(
        &mut self,
        nest: &Nest,
    ) -> Result<(Compiled, Option<Duration>), CodegenError> {
        if let Some(c) = self.cache.get(nest) {
            self.stats.hits += 1;
            return Ok((*c, None));
        }
        let start = Instant::now();
        let compiled = match self.compile_uncached(nest, true) {
            Ok(c) => c,
            // Perhaps a vector form Cranelift cannot lower on this CPU: try scalar code, and
            // report the first error if that fails too.
            Err(e) => self.compile_uncached(nest, false).map_err(|_| e)?,
        };
        let took = start.elapsed();
        self.stats.compiled += 1;
        self.stats.compile_time += took;
        self.cache.insert(nest.clone(), compiled);
        Ok((compiled, Some(took)))
    }

    /// The row chain of `nests` (compiled once, then cached by the nests): one 512-bit
    /// function that runs, row after row, each nest's row code on the row (see [`Chain`]),
    /// and how long compiling it took (`None` for a cache hit). The chain is `None` when the
    /// CPU has no row code, a nest has none, or their lanes or ranks differ.
    pub fn chain(
        &mut self,
        nests: &[Nest],
    ) -> Result<(Option<Chain>, Option<Duration>), CodegenError> {
        if let Some(c) = self.chains.get(nests) {
            self.stats.hits += 1;
            return Ok((c.clone(), None));
        }
        let start = Instant::now();
        // As for a nest's row code: should it fail to assemble (a bug), the nests run one
        // after another instead.
        let chain = match zmm::define_chain(&mut self.module, nests) {
            Ok(Some(defined)) => {
                self.module.finalize_definitions()?;
                Some(Chain {
                    rows: defined.finish(&self.module),
                })
            }
            Ok(None) => None,
            Err(_) => {
                self.stats.row_code_errors += 1;
                None
            }
        };
        let took = start.elapsed();
        self.stats.compiled += 1;
        self.stats.compile_time += took;
        self.chains.insert(nests.to_vec(), chain.clone());
        Ok((chain, Some(took)))
    }

    /// The listing of the chain of `nests` ([`Jit::chain`]), assembled afresh, for `ndx emit
    /// --asm`; `None` when the nests make no chain.
    pub fn chain_listing(&self, nests: &[Nest]) -> Option<String> {
        zmm::chain_listing(nests)
    }

    fn compile_uncached(
        &mut self,
        nest: &Nest,
        allow_simd: bool,
    ) -> Result<Compiled, CodegenError> {
        let narrays = nest.kernel.inputs.len() + nest.kernel.outputs.len();
        if nest.inner.len() != narrays {
            return Err(CodegenError::Internal(format!(
                "nest has {} inner classes for {narrays} arrays",
                nest.inner.len()
            )));
        }
        let mut sig = self.module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I32));
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig.clone();
        let id = self.module.declare_anonymous_function(&sig)?;
        let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
        let host = scalar::Host::new(&mut self.module, &self.host_ids);
        let mut l = lower::Lowering::new(b, host, nest, None);
        if allow_simd {
            l.plan = simd::plan(nest, &l.needed);
        }
        let vector = l.plan.as_ref().map(VectorInfo::of);
        let result = l.run();
        if let Err(e) = result {
            // The builder was dropped unfinished: start the next function from clean state.
            self.module.clear_context(&mut self.ctx);
            self.fctx = FunctionBuilderContext::new();
            return Err(e);
        }
        let listed = self.listings.as_ref().map_or(0, Vec::len);
        self.define_listed(id)?;
        if let Some(l) = self.listings.as_mut().filter(|l| l.len() > listed) {
            if let Some(last) = l.last_mut() {
                last.add_row_code(nest);
            }
        }
        // The row code is an optional fast path: should it fail to assemble (a bug), the
        // Cranelift code runs every launch rather than the statement failing.
        let rows = match zmm::define(&mut self.module, nest) {
            Ok(rows) => rows,
            Err(_) => {
                self.stats.row_code_errors += 1;
                None
            }
        };
        self.module.finalize_definitions()?;
        let ptr = self.module.get_finalized_function(id);
        // SAFETY: the function was built with exactly this signature: one pointer-sized
        // integer parameter and an i32 result, in the platform's C calling convention.
        let func = unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) };
        let rows = rows.map(|r| r.finish(&self.module));
        Ok(Compiled {
            func,
            words: nest.rank + narrays * (1 + nest.rank),
            vector,
            rows,
        })
    }

    /// Runs `kernel` over the iteration space `shape` on `arrays` (inputs, then outputs, each
    /// with one byte stride per axis of `shape`; outputs have stride 0 on the axes where
    /// `reduced` is true).
    ///
    /// # Safety contract
    /// This function is safe to call only in the sense that it checks everything it can: the
    /// counts and dtypes of the arrays and the lengths of their strides. It cannot check the
    /// pointers: each `ptr` plus its strides must stay inside a live allocation of its dtype for
    /// every index of `shape`, and outputs must be exactly an input or not overlap any.
    pub fn execute(
        &mut self,
        kernel: &Kernel,
        shape: &[usize],
        reduced: &[bool],
        arrays: &[RawArray],
    ) -> Result<(), CodegenError> {
        self.launch(kernel, shape, reduced, arrays, true)
    }

    /// Schedules and compiles `kernel` exactly as [`Jit::execute`] would for these arrays,
    /// without calling it (nothing is read or written). With reports on
    /// ([`Jit::set_reports`]) the launch is recorded with `ran: false`; with listings on
    /// ([`Jit::set_listings`]) its code is listed even when it came from the cache.
    pub fn prepare(
        &mut self,
        kernel: &Kernel,
        shape: &[usize],
        reduced: &[bool],
        arrays: &[RawArray],
    ) -> Result<(), CodegenError> {
        self.launch(kernel, shape, reduced, arrays, false)
    }

    fn launch(
        &mut self,
        kernel: &Kernel,
        shape: &[usize],
        reduced: &[bool],
        arrays: &[RawArray],
        run: bool,
    ) -> Result<(), CodegenError> {
        kernel
            .verify()
            .map_err(|e| CodegenError::Internal(e.to_string()))?;
        let n = kernel.inputs.len() + kernel.outputs.len();
        if arrays.len() != n {
            return Err(CodegenError::Arguments(format!(
                "the kernel takes {n} arrays, got {}",
                arrays.len()
            )));
        }
        if reduced.len() != shape.len() {
            return Err(CodegenError::Arguments(format!(
                "{} reduced flags for a {}-dimensional iteration space",
                reduced.len(),
                shape.len()
            )));
        }
        let dtypes = kernel
            .inputs
            .iter()
            .copied()
            .chain(kernel.outputs.iter().map(|o| o.dtype(kernel)));
        for (k, (a, d)) in arrays.iter().zip(dtypes).enumerate() {
            if a.dtype != d {
                return Err(CodegenError::Arguments(format!(
                    "array {k} is {}, the kernel wants {d}",
                    a.dtype
                )));
            }
            if a.strides.len() != shape.len() {
                return Err(CodegenError::Arguments(format!(
                    "array {k} has {} strides for {} axes",
                    a.strides.len(),
                    shape.len()
                )));
            }
        }
        let layouts: Vec<ArrayLayout> = arrays.iter().map(RawArray::layout).collect();
        let (nest, launch) = schedule(kernel, shape, reduced, &layouts)
            .map_err(|e| CodegenError::Internal(e.to_string()))?;
        let listed_before = self.listings.as_ref().map_or(0, Vec::len);
        let (compiled, compile_time) = self.compile_timed(&nest)?;
        let tiles = parallel::tiles(&nest, &launch);
        let split = match &tiles {
            Some(_) => None,
            None => parallel::split(&nest, &launch, self.threads, self.min_parallel),
        };
        let reduce_parts = match (&tiles, &split) {
            (None, None) => parallel::reduce_split(&nest, &launch, self.threads, self.min_parallel),
            _ => None,
        };
        if self.reports.is_some() {
            let listing = match self.listings.as_ref() {
                // Compiled just now: its listing was recorded by `define_listed`.
                Some(l) if l.len() > listed_before => l.last().cloned(),
                Some(_) => Some(self.listing(&nest)?),
                None => None,
            };
            let report = LaunchReport {
                shape: launch.shape.clone(),
                strides: launch.strides.clone(),
                compile_time,
                vector: compiled.vector,
                row_lanes: compiled.row_lanes(),
                row_min: compiled.row_min(),
                streams: match &split {
                    Some(parts) => parts.iter().all(|p| compiled.streams(&p.words())),
                    None => compiled.streams(&launch.words()),
                },
                tiles: tiles.as_ref().map(|t| (parallel::TILE, t.len())),
                parts: split.as_ref().or(reduce_parts.as_ref()).map_or(1, Vec::len),
                threads: self.threads,
                ran: run,
                listing,
                nest: nest.clone(),
            };
            if let Some(r) = self.reports.as_mut() {
                r.push(report);
            }
        }
        if !run {
            return Ok(());
        }
        if let Some(parts) = reduce_parts {
            return self.run_reduction(&nest, compiled, &parts);
        }
        // A plain transposing copy moves each tile in register blocks (`transpose::block_side`).
        let transposer = tiles.as_ref().and_then(|_| transpose::plan(&nest, &launch));
        let call = |l: &Launch| match transposer {
            Some(item) => {
                // SAFETY: as below; `l` is a tile of the launch.
                unsafe { transpose::copy_tile(l, item) };
                0
            }
            // SAFETY: as below; tiles cover disjoint output ranges of the same launch, and
            // each part of a split a disjoint range of the outermost, unreduced axis, so no
            // two threads write the same output element.
            None => unsafe { compiled.call(&l.words()) },
        };
        if let Some(parts) = tiles.or(split) {
            if self.threads < 2 {
                for l in &parts {
                    let code = call(l);
                    if code != 0 {
                        return Err(CodegenError::Kernel(code));
                    }
                }
                return Ok(());
            }
            if let Some(pool) = self.pool() {
                let codes: Vec<i32> = pool.install(|| {
                    use rayon::prelude::*;
                    parts.par_iter().map(call).collect()
                });
                return match codes.into_iter().find(|c| *c != 0) {
                    Some(c) => Err(CodegenError::Kernel(c)),
                    None => Ok(()),
                };
            }
        }
        let words = launch.words();
        // SAFETY: the caller of `execute` vouches for the pointers and strides (see above);
        // the schedule only permutes and merges axes of the same memory.
        let code = unsafe { compiled.call(&words) };
        if code != 0 {
            return Err(CodegenError::Kernel(code));
        }
        Ok(())
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        // SAFETY: `self.module` is not touched again: this is the JIT's last use of it.
        let module = unsafe { std::mem::ManuallyDrop::take(&mut self.module) };
        if std::sync::Arc::strong_count(&self.code_users) == 1 {
            // SAFETY: no token is held, so nothing outside this JIT can reach its code, and
            // its own caches (and the session's, which only run code through it) are gone
            // with it: no function of the module can be called after this.
            unsafe { module.free_memory() };
        }
        // Otherwise dropping the module leaves its code mapped, for the token holders.
    }
}
