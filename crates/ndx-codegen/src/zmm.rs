//! 512-bit row loops (AVX-512F) for nests of float arithmetic, assembled with iced-x86:
//! Cranelift's vectors stop at 128 bits (CRANELIFT.md).
//!
//! A nest qualifies ([`plan`]) when every node and array has one float dtype (`f32` or `f64`),
//! every node is an input, a constant, `+`, `-`, `*`, `/`, `minimum`, `maximum`, `-x`, `abs`,
//! `sqrt`, `x ** c` for a constant `c` that the Cranelift code multiplies out (0.5, or an
//! integer from -1 to 4), or `where` of comparisons and `&`, `|`, `^`, `~` of them (bool
//! masks: [`allowed`]), every input
//! is contiguous or broadcast along the inner axis, and either no output reduces (each is
//! contiguous) or every output reduces the inner axis alone by `sum`, `max`, `min`, `argmax`
//! or `argmin` (the output an `i64` index), or by `any` or `all` of a mask computed from the
//! float inputs (the output a `bool`), or every output counts a mask's lanes (`sum(i64(mask))`,
//! the output an `i64`). An integer nest (`i32` or `i64`) qualifies when every node is an
//! input, a constant, wrapping `+`, `-`, `*`, `minimum`, `maximum`, `-x`, `abs`, `&`, `|`,
//! `^`, or a comparison, `~` or `where` of masks ([`int_allowed`]), and it is elementwise or
//! every output is a `sum`, `max` or `min` of the inner axis (four accumulators, exact in any
//! order: [`Plan::finish_ints`]). An input of the half-width dtype (`f32` in an `f64` nest,
//! `i32` in an `i64` one) that the nest only widens (`f64(x)`, `i64(x)`: NumPy's `sum` of
//! `i32`) loads 8 elements at a time and converts as it loads ([`widened_inputs`]), in
//! elementwise nests and integer reductions (a float sum with a conversion keeps the
//! Cranelift code, whose order for it is scalar).
//! [`Plan::assemble`] then writes a function computing
//! rows (the inner axis) along the last outer axis: 16 (or 8) lanes per iteration, the last partial vector
//! under a lane mask, so that no element past a row is read or written (masked-off lanes of a
//! load do not fault), then every pointer moves on by its step to the next row. What does not
//! change along a row (broadcast inputs and what is computed from them alone, such as
//! layernorm's divisor `sqrt(var / n + eps)`) is computed once per row, before its loop;
//! constants once per call. [`RowFn::run`] walks the axes before and calls the row function
//! once per block of rows.
//!
//! Every operation is the IEEE operation the Cranelift code performs, on the same operands in
//! the same order, and a reduction combines in the Cranelift code's order ([`Plan::finish_reductions`]), so
//! both give the same bits (an `argmax` or `argmin` is the first best value's index, whatever
//! the order: each lane keeps its own first best, [`Plan::finish_args`] the first of those), but for a NaN's payload and sign where Cranelift's optimiser
//! rewrites an expression (`-x * -x` as `x * x`) or its scalar tail meets two NaNs in
//! `minimum`/`maximum` (`tests/zmm.rs` compares them over random kernels). Registers: one
//! zmm per value live in the loop, none spilled; a nest that needs more does not qualify. The
//! code follows the System V calling convention (`crate::row_code_available` is false on
//! Windows).

use crate::vmath::SmallExponent as Power;
use crate::CodegenError;
use cranelift_codegen::ir::{types, AbiParam};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};
use iced_x86::code_asm::asm_traits::*;
use iced_x86::code_asm::*;
use ndx_ir::kernel::{BinaryOp, Kernel, Node, Op, ReduceOp, UnaryOp};
use ndx_ir::loops::{Inner, Nest};
use ndx_runtime::{DType, Scalar};

/// General registers that hold the arrays' pointers (the current row's first element); the
/// last six are callee-saved (pushed and popped). `rax` is the index in the row, `rdi` the row
/// length, `rcx` the bound of the whole vectors, `rdx` the rows left, `rsi` the steps table.
const BASES: [AsmRegister64; 10] = [r8, r9, r10, r11, rbx, rbp, r12, r13, r14, r15];
const CALLEE_SAVED_FROM: usize = 4;

const YMM: [AsmRegisterYmm; 32] = [
    ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14,
    ymm15, ymm16, ymm17, ymm18, ymm19, ymm20, ymm21, ymm22, ymm23, ymm24, ymm25, ymm26, ymm27,
    ymm28, ymm29, ymm30, ymm31,
];

const XMM: [AsmRegisterXmm; 32] = [
    xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14,
    xmm15, xmm16, xmm17, xmm18, xmm19, xmm20, xmm21, xmm22, xmm23, xmm24, xmm25, xmm26, xmm27,
    xmm28, xmm29, xmm30, xmm31,
];

const ZMM: [AsmRegisterZmm; 32] = [
    zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7, zmm8, zmm9, zmm10, zmm11, zmm12, zmm13, zmm14,
    zmm15, zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23, zmm24, zmm25, zmm26, zmm27,
    zmm28, zmm29, zmm30, zmm31,
];

/// The row function: `rows` rows of `n` elements; `ptrs` has the address of each array's first
/// element of the first row (inputs, then outputs), `steps` how many bytes each moves from a
/// row to the next. (A [`RowChain`]'s function writes its pointers back to `ptrs` as it goes.)
pub(crate) type RowCode =
    unsafe extern "C" fn(n: usize, ptrs: *mut usize, rows: usize, steps: *const isize);

/// A nest's row function and what [`RowFn::run`] needs to call it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowFn {
    pub(crate) func: RowCode,
    /// For an elementwise nest: the same function with streaming (non-temporal) stores of
    /// whole vectors, for launches that write at least [`STREAM_MIN`] bytes to outputs whose
    /// rows start 64-byte aligned ([`RowFn::streams`]).
    stream: Option<RowCode>,
    pub(crate) shape: RowShape,
}

/// Bytes of output from which an elementwise launch stores with streaming (non-temporal)
/// stores: they skip the read of each line before its write, and leave the cache to the
/// inputs, where the output would not stay in the cache anyway. `y[:] = 2.5 * x + y2` of
/// `f32`, `threads(1)`, plain against streaming stores: 1M elements (4 MB per array) 156 /
/// 154-156 us; 2M 446-457 / 310-313 us; 4M 1.22-1.23 / 0.84-0.91 ms; 10M 4.24-4.40 /
/// 2.61-2.83 ms. With a second statement reading the output (`z[:] = y * 3.0 + x`), 1M
/// elements 323-335 / 359 us, 2M 1.09-1.11 / 0.77-0.82 ms (BENCHMARKS.md, issue 3).
pub const STREAM_MIN: usize = 6 << 20;

/// What [`RowFn::run`] knows of the nest besides its code.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowShape {
    rank: usize,
    narrays: usize,
    /// Per array: its byte stride along the inner axis (the element size, or 0 for a
    /// broadcast input).
    inner: [isize; MAX_ARRAYS],
    /// Lanes per vector: 16 for `f32`, 8 for `f64`.
    pub(crate) lanes: u8,
    /// The shortest rows it runs (`crate::ROW_MIN_512`, or `ROW_MIN_512_REDUCE`).
    pub(crate) min: usize,
    /// The longest rows it runs: an `argmax` of `f32` counts its index in 32-bit lanes.
    max: usize,
    /// Outputs (the last arrays).
    outputs: usize,
    /// Bytes of output from which a launch takes the streaming function ([`STREAM_MIN`]).
    pub(crate) stream_min: usize,
}

/// Predicates of `vcmpps`/`vcmppd`: `==` and `<`, `<=`, `>`, `>=` are false where an operand
/// is NaN (the last four signal then, which changes nothing with exceptions masked), `!=`
/// (`NEQ_UQ`) and `UNORD_Q` are true there, `ORD_Q` where neither is NaN.
const EQ_OQ: i32 = 0;
const LT_OS: i32 = 1;
const LE_OS: i32 = 2;
const UNORD_Q: i32 = 3;
const NEQ_UQ: i32 = 4;
const ORD_Q: i32 = 7;
const GE_OS: i32 = 13;
const GT_OS: i32 = 14;

/// Predicates of the integer compares `vpcmpd`/`vpcmpq` (signed): `==`, `<`, `<=`, `!=`,
/// not `<` (`>=`) and not `<=` (`>`).
const VP_EQ: i32 = 0;
const VP_LT: i32 = 1;
const VP_LE: i32 = 2;
const VP_NE: i32 = 4;
const VP_NLT: i32 = 5;
const VP_NLE: i32 = 6;

/// Registers a reduction's end of row works in.
const SCRATCH: usize = 7;

/// Arrays a row function takes (inputs and outputs): one base register each.
const MAX_ARRAYS: usize = BASES.len();
/// Loops [`RowFn::run`] walks (the outer ones, plus the row).
const MAX_RANK: usize = 16;
/// Arrays of all the nests of a [`RowChain`] together (a longer chain is not made).
const MAX_CHAIN_ARRAYS: usize = 32;

impl RowFn {
    /// Runs the nest over the launch `words` ([`ndx_ir::loops::Launch::words`]), a block of
    /// rows (the last outer axis) per call of the row code. Returns false, having done nothing, when the launch does not fit the row code
    /// (rows shorter than `min`, or an inner stride other than the one compiled for):
    /// the caller runs the Cranelift code instead.
    ///
    /// # Safety
    /// As `Compiled::call`: the words describe memory valid for every element of the nest.
    pub(crate) unsafe fn run(&self, words: &[i64]) -> bool {
        if !self.shape.fits(words) {
            return false;
        }
        let func = match self.stream {
            Some(f) if self.shape.streams(words) => f,
            _ => self.func,
        };
        // SAFETY: the launch fits the code (checked above); the streaming function's aligned
        // stores only where `streams` found every row 64-byte aligned.
        unsafe { walk_rows::<MAX_ARRAYS>(func, words, self.shape.rank, self.shape.narrays, false) };
        true
    }
}

/// Calls the row code `func` on the launch `words` (its `na` arrays at most `N`; a
/// [`RowChain`]'s launch is its nests' arrays one after another), a block of rows (the last
/// outer axis) per call. With `writes_back` (a chain, which moves the pointers in its table
/// as it goes) each call gets a fresh copy of the table of pointers. Nothing is allocated: a
/// block program calls this once per block of rows (allocating here made softmax 35% slower).
///
/// # Safety
/// As `Compiled::call`, for the launch.
unsafe fn walk_rows<const N: usize>(
    func: RowCode,
    words: &[i64],
    rank: usize,
    na: usize,
    writes_back: bool,
) {
    let shape = &words[..rank];
    let n = shape[rank - 1];
    let array = |a: usize| &words[rank + a * (1 + rank)..][..1 + rank];
    if shape.iter().any(|&e| e <= 0) || na > N {
        return;
    }
    // The row code walks the last outer axis (or the one row of a 1-D nest); this walks the
    // ones before it.
    let (rows, walk) = if rank >= 2 {
        (shape[rank - 2] as usize, rank - 2)
    } else {
        (1, 0)
    };
    let mut steps = [0isize; N];
    let mut ptrs = [0usize; N];
    for a in 0..na {
        let w = array(a);
        ptrs[a] = w[0] as usize;
        if rank >= 2 {
            steps[a] = w[rank - 1] as isize;
        }
    }
    let mut table = ptrs;
    let mut index = [0i64; MAX_RANK];
    loop {
        let at = if writes_back {
            table[..na].copy_from_slice(&ptrs[..na]);
            table.as_mut_ptr()
        } else {
            ptrs.as_mut_ptr()
        };
        // SAFETY: the pointers address the first elements of `rows` rows of `n` elements at
        // the strides the code was compiled for, all valid (the caller's contract).
        unsafe { (func)(n as usize, at, rows, steps.as_ptr()) };
        // The next block of rows: an odometer over the axes before.
        let mut d = walk;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            for (a, p) in ptrs.iter_mut().enumerate().take(na) {
                *p = p.wrapping_add(array(a)[1 + d] as usize);
            }
            if index[d] < shape[d] {
                break;
            }
            for (a, p) in ptrs.iter_mut().enumerate().take(na) {
                let back = array(a)[1 + d].wrapping_mul(shape[d]);
                *p = p.wrapping_sub(back as usize);
            }
            index[d] = 0;
        }
    }
}

/// One row function made of several nests' row code over the same rows: for each row, each
/// nest's row in turn, so that a later nest reads what an earlier one wrote for the row (a
/// row's sum) and the row's elements while they are still in the L1 cache (layernorm's
/// three passes over a row: its mean, its variance, its result). Each nest's row is the code
/// of its own row function ([`plan_for_chain`]), but that a float `sum` adds in
/// [`crate::CHAIN_SUM_UNROLL`] chains and ends in a tree ([`Plan::finish_tree`]).
#[derive(Clone, Debug)]
pub(crate) struct RowChain {
    func: RowCode,
    /// With streaming stores in the last nest (an elementwise one), for launches whose last
    /// nest would take its own streaming function ([`RowShape::streams`]).
    stream: Option<RowCode>,
    shapes: Vec<RowShape>,
    /// Whether the code is [`assemble_pipelined`]'s.
    pipelined: bool,
}

impl RowChain {
    /// Whether the code is [`assemble_pipelined`]'s.
    pub(crate) fn pipelined(&self) -> bool {
        self.pipelined
    }

    /// Runs the chain over one launch per nest, all over the same iteration space. Returns
    /// false, having done nothing, when a launch does not fit its nest's row code (see
    /// [`RowFn::run`]) or the spaces differ: the caller runs the nests one after another.
    ///
    /// # Safety
    /// As `Compiled::call`, for every launch; no launch writes what an earlier one reads
    /// other than at the same row (rows are done in order, all nests for one row first).
    pub(crate) unsafe fn run(&self, launches: &[&[i64]]) -> bool {
        let Some(first) = self.shapes.first() else {
            return false;
        };
        let rank = first.rank;
        if launches.len() != self.shapes.len()
            || !self
                .shapes
                .iter()
                .zip(launches)
                .all(|(s, w)| s.rank == rank && s.fits(w) && w[..rank] == launches[0][..rank])
        {
            return false;
        }
        let func = match (self.stream, self.shapes.last(), launches.last()) {
            (Some(f), Some(s), Some(w)) if s.streams(w) => f,
            _ => self.func,
        };
        // One launch of all the nests' arrays, over the first one's space.
        let mut words = launches[0][..rank].to_vec();
        for w in launches {
            words.extend_from_slice(&w[rank..]);
        }
        let na = (words.len() - rank) / (1 + rank);
        // SAFETY: every launch fits its part of the code (checked above), the caller vouches
        // for the memory; streaming stores only where `streams` found the rows aligned.
        unsafe { walk_rows::<MAX_CHAIN_ARRAYS>(func, &words, rank, na, true) };
        true
    }
}

/// False when the environment sets `NDX_STREAM=0`: no launch then takes the streaming
/// stores (to measure what they change; read once).
fn streaming_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NDX_STREAM").is_none_or(|v| v != "0"))
}

impl RowShape {
    /// True when the row code takes the launch `words`: as many words as the nest has, rows
    /// of `min` to `max` elements, and each array's inner stride the one compiled for.
    fn fits(&self, words: &[i64]) -> bool {
        let RowShape {
            rank,
            narrays,
            inner,
            min,
            max,
            ..
        } = *self;
        if words.len() != rank + narrays * (1 + rank) || rank == 0 || rank > MAX_RANK {
            return false;
        }
        let n = words[rank - 1];
        n >= min as i64
            && n as u64 <= max as u64
            && (0..narrays).all(|a| words[rank + a * (1 + rank) + rank] as isize == inner[a])
    }

    /// True when the launch `words`, which [`RowShape::fits`], would take a streaming function:
    /// the launch writes at least [`RowShape::stream_min`] bytes, and every output's rows
    /// start 64-byte aligned (its first element, and its strides along the axes before the
    /// row), as streaming stores of whole vectors require (an unaligned one faults), and no
    /// output is also an input. (Written in place, `x[:] = x * 2.5` of 10M `f32`, each line
    /// is in the cache when it is written: 0.94-1.01 ms with plain stores, 1.60-1.78 ms with
    /// streaming ones.)
    pub(crate) fn streams(&self, words: &[i64]) -> bool {
        let RowShape {
            rank,
            narrays,
            lanes,
            outputs,
            ..
        } = *self;
        let size = if lanes == 16 { 4 } else { 8 };
        let bytes = words[..rank].iter().fold(size * outputs as u64, |b, &e| {
            b.saturating_mul(e.max(0) as u64)
        });
        let ptr = |a: usize| words[rank + a * (1 + rank)];
        streaming_on()
            && bytes >= self.stream_min as u64
            && (narrays - outputs..narrays).all(|a| {
                let w = &words[rank + a * (1 + rank)..][..rank];
                w[0] % 64 == 0
                    && w[1..].iter().all(|s| s % 64 == 0)
                    && (0..narrays - outputs).all(|i| ptr(i) != w[0])
            })
    }
}

impl RowFn {
    /// True when the launch `words` runs the row code with streaming stores.
    pub(crate) fn streams_launch(&self, words: &[i64]) -> bool {
        self.stream.is_some() && self.shape.fits(words) && self.shape.streams(words)
    }
}

/// Defines `nest`'s row function in `module`, when [`crate::row_code_available`] and the nest
/// qualifies; after the module's next `finalize_definitions`, [`Defined::finish`] gives it.
/// (Defined beside the Cranelift function, so that one finalisation makes both executable.)
pub(crate) fn define(module: &mut JITModule, nest: &Nest) -> Result<Option<Defined>, CodegenError> {
    if !crate::row_code_available() {
        return Ok(None);
    }
    let Some(plan) = plan(nest) else {
        return Ok(None);
    };
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(types::I64));
    }
    let mut define = |stream| -> Result<FuncId, CodegenError> {
        let code = plan.assemble(stream)?;
        let id = module.declare_anonymous_function(&sig)?;
        module.define_function_bytes(id, 64, &code, &[])?;
        Ok(id)
    };
    let id = define(false)?;
    let stream = if plan.reduce.is_none() {
        Some(define(true)?)
    } else {
        None
    };
    Ok(Some(Defined {
        id,
        stream,
        shape: plan.shape(),
    }))
}

/// Defines the [`RowChain`] of `nests` (in order) in `module`, when [`crate::row_code_available`],
/// every nest qualifies and all run rows of the same lanes; finalised as [`define`]'s.
pub(crate) fn define_chain(
    module: &mut JITModule,
    nests: &[Nest],
) -> Result<Option<DefinedChain>, CodegenError> {
    if !crate::row_code_available() || nests.is_empty() {
        return Ok(None);
    }
    let Some(plans) = nests.iter().map(plan_for_chain).collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let lanes = plans[0].lanes();
    if plans
        .iter()
        .any(|p| p.lanes() != lanes || p.nest.rank != plans[0].nest.rank)
        || plans.iter().map(|p| p.base.len()).sum::<usize>() > MAX_CHAIN_ARRAYS
    {
        return Ok(None);
    }
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(types::I64));
    }
    let pipelined = pipelined_plans(nests);
    let mut define = |stream| -> Result<FuncId, CodegenError> {
        let code = match &pipelined {
            Some(p) => assemble_pipelined(p, stream)?,
            None => assemble_chain(&plans, stream)?,
        };
        let id = module.declare_anonymous_function(&sig)?;
        module.define_function_bytes(id, 64, &code, &[])?;
        Ok(id)
    };
    let id = define(false)?;
    let stream = match plans.last() {
        Some(p) if p.reduce.is_none() => Some(define(true)?),
        _ => None,
    };
    Ok(Some(DefinedChain {
        id,
        stream,
        shapes: plans.iter().map(Plan::shape).collect(),
        pipelined: pipelined.is_some(),
    }))
}

/// The plans of `nests` for a pipelined chain ([`assemble_pipelined`]): when pipelining is
/// on, they qualify ([`pipelines`]) and get registers of their own ([`relocate`]).
fn pipelined_plans(nests: &[Nest]) -> Option<Vec<Plan<'_>>> {
    let mut plans = nests
        .iter()
        .map(plan_for_chain)
        .collect::<Option<Vec<_>>>()?;
    (pipelining_on() && pipelines(&plans) && relocate(&mut plans)).then_some(plans)
}

/// The listing of the [`RowChain`] of `nests` (as [`define_chain`] assembles it, without
/// streaming stores), for `ndx emit --asm`; `None` when they make no chain.
pub(crate) fn chain_listing(nests: &[Nest]) -> Option<String> {
    if !crate::row_code_available() || nests.is_empty() {
        return None;
    }
    let (code, how) = match pipelined_plans(nests) {
        Some(p) => (assemble_pipelined(&p, false).ok()?, "software-pipelined"),
        None => {
            let plans = nests
                .iter()
                .map(plan_for_chain)
                .collect::<Option<Vec<_>>>()?;
            (assemble_chain(&plans, false).ok()?, "row by row")
        }
    };
    let head = format!(
        "; the chain of the {} steps, {how} (512-bit, AVX-512F), run in place of each step's code:\n",
        nests.len()
    );
    Some(disassemble(head, &code))
}

/// `head`, then the instructions of `code` (Intel syntax, offsets from its start).
fn disassemble(mut text: String, code: &[u8]) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    use std::fmt::Write;
    let mut formatter = IntelFormatter::new();
    let mut line = String::new();
    for ins in Decoder::with_ip(64, code, 0, DecoderOptions::NONE).iter() {
        line.clear();
        formatter.format(&ins, &mut line);
        let _ = writeln!(text, "  {:04x}  {line}", ins.ip());
    }
    text
}

/// A [`RowChain`] defined in the module, not yet finalised.
pub(crate) struct DefinedChain {
    id: FuncId,
    stream: Option<FuncId>,
    shapes: Vec<RowShape>,
    pipelined: bool,
}

impl DefinedChain {
    /// The chain, once the module has finalised its definitions.
    pub(crate) fn finish(self, module: &JITModule) -> RowChain {
        RowChain {
            func: finalized(module, self.id),
            stream: self.stream.map(|id| finalized(module, id)),
            shapes: self.shapes,
            pipelined: self.pipelined,
        }
    }
}

/// The finalised row function `id` of `module`.
fn finalized(module: &JITModule, id: FuncId) -> RowCode {
    let ptr = module.get_finalized_function(id);
    // SAFETY: the code is a function of exactly this signature in the platform's C calling
    // convention (four integer arguments, no result), assembled for this CPU.
    unsafe { std::mem::transmute::<*const u8, RowCode>(ptr) }
}

/// The machine code of a [`RowChain`] of `plans`: the masks once ([`Plan::masks`]), then for
/// each row each plan's row in turn ([`Plan::constants`], [`Plan::row`], [`Plan::advance`]),
/// its pointers loaded from the table and stored back moved on to the next row (the plans'
/// base registers overlap). With `stream`, the last plan (elementwise) stores with streaming
/// stores.
fn assemble_chain(plans: &[Plan<'_>], stream: bool) -> Result<Vec<u8>, CodegenError> {
    let mut a = chain_start(plans)?;
    let saved = &BASES[CALLEE_SAVED_FROM..];
    let mut row = a.create_label();
    let mut done = a.create_label();
    a.test(rdx, rdx)?;
    a.jz(done)?;
    a.set_label(&mut row)?;
    let mut first = 0;
    for (j, p) in plans.iter().enumerate() {
        p.constants(&mut a)?;
        p.row_in_table(&mut a, 0, first, stream && j + 1 == plans.len())?;
        first += p.base.len();
    }
    a.dec(rdx)?;
    a.jnz(row)?;
    a.set_label(&mut done)?;
    a.add(rsp, 8)?;
    function_end(a, stream, saved)
}

/// The start of a chain's code (of `plans`, at least one): the callee-saved base registers
/// pushed, the table of pointers at [rsp], the steps table in `rsi`, and the masks and the
/// bound of the whole vectors set once (every plan has the same lanes, and none writes
/// k1-k3 or `rcx` in its rows).
fn chain_start(plans: &[Plan<'_>]) -> Result<CodeAssembler, CodegenError> {
    let first = plans.first().ok_or_else(|| bug("a chain of no plans"))?;
    let mut a = CodeAssembler::new(64)?;
    a.set_prefer_vex(false);
    for &r in &BASES[CALLEE_SAVED_FROM..] {
        a.push(r)?;
    }
    a.push(rsi)?;
    a.mov(rsi, rcx)?;
    first.masks(&mut a, plans.iter().any(|p| p.reduce.is_some()))?;
    Ok(a)
}

/// The end of a row function that pushed the registers `saved`: with `stream`, a fence that
/// orders its streaming stores before it returns; then the registers popped, and the code.
fn function_end(
    mut a: CodeAssembler,
    stream: bool,
    saved: &[AsmRegister64],
) -> Result<Vec<u8>, CodegenError> {
    function_return(&mut a, stream, saved)?;
    Ok(a.assemble(0)?)
}

/// [`function_end`]'s instructions, without assembling: code may follow.
fn function_return(
    a: &mut CodeAssembler,
    stream: bool,
    saved: &[AsmRegister64],
) -> Result<(), CodegenError> {
    if stream {
        a.sfence()?;
    }
    a.vzeroupper()?;
    for &r in saved.iter().rev() {
        a.pop(r)?;
    }
    a.ret()?;
    Ok(())
}

/// False when the environment sets `NDX_PIPELINE=0`: chains then run each row's steps one
/// after another ([`assemble_chain`]) instead of pipelined (to measure what it changes; read
/// once).
fn pipelining_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NDX_PIPELINE").is_none_or(|v| v != "0"))
}

/// True when the plans of a chain can run pipelined ([`assemble_pipelined`]): more than one,
/// float, each elementwise or reducing its rows by `sum`, `max` or `min`, and stepping the
/// same number of vectors at a time (or one).
fn pipelines(plans: &[Plan<'_>]) -> bool {
    let unroll = plans.iter().map(|p| p.unroll).max().unwrap_or(1);
    plans.len() > 1
        && plans.iter().all(|p| {
            !p.int
                && !p.counts
                && p.index.is_none()
                && matches!(
                    p.reduce,
                    None | Some(ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min)
                )
                && (p.unroll == 1 || p.unroll == unroll)
        })
}

/// Gives the plans of a pipelined chain ([`assemble_pipelined`]) registers of their own, as
/// a row of every plan is in flight at once: each plan's vector registers distinct ones of
/// the 32 (but for the registers of a reduction's end, which the plans run one after another
/// and so share); each array the loop walks (contiguous) a base register of its own; the
/// other arrays (broadcast inputs and reductions' outputs, read before the loop and written
/// after it) the base registers left, shared by the plans and loaded from the table by each
/// where it needs them. False (the plans then half changed) when the registers do not
/// suffice.
fn relocate(plans: &mut [Plan<'_>]) -> bool {
    let mut free: Vec<usize> = (0..ZMM.len()).rev().collect();
    let mut shared = [0usize; SCRATCH];
    if plans.iter().any(|p| p.reduce.is_some()) {
        for r in &mut shared {
            let Some(f) = free.pop() else {
                return false;
            };
            *r = f;
        }
    }
    for p in plans.iter_mut() {
        let mut map: Vec<Option<usize>> = vec![None; ZMM.len()];
        if p.reduce.is_some() {
            for (&r, &to) in p.scratch.iter().zip(&shared) {
                map[r] = Some(to);
            }
            p.scratch = shared;
        }
        let mut to = |r: &mut usize| -> bool {
            let m = match map[*r] {
                Some(m) => m,
                None => match free.pop() {
                    Some(m) => {
                        map[*r] = Some(m);
                        m
                    }
                    None => return false,
                },
            };
            *r = m;
            true
        };
        let slots = p.slots.iter_mut().filter_map(|s| match s {
            Slot::Fixed(r) | Slot::Loop(r) => Some(r),
            Slot::Dead => None,
        });
        let all = slots
            .chain(p.acc.iter_mut())
            .chain(p.best.iter_mut())
            .chain(p.index.iter_mut())
            .chain(p.konsts.iter_mut().map(|(_, r)| r))
            .chain(p.tmp.iter_mut());
        for r in all {
            if !to(r) {
                return false;
            }
        }
    }
    let mut next = BASES.iter();
    for p in plans.iter_mut() {
        for a in 0..p.base.len() {
            if p.base[a].is_some() && p.walks(a) {
                let Some(&r) = next.next() else {
                    return false;
                };
                p.base[a] = Some(r);
            }
        }
    }
    let rest: Vec<AsmRegister64> = next.copied().collect();
    for p in plans.iter_mut() {
        let mut t = rest.iter();
        for a in 0..p.base.len() {
            if p.base[a].is_some() && !p.walks(a) {
                let Some(&r) = t.next() else {
                    return false;
                };
                p.base[a] = Some(r);
            }
        }
    }
    true
}

/// The machine code of a [`RowChain`] of `plans` ([`pipelines`], [`relocate`]d), software-
/// pipelined: for rows `t`, one loop runs plan `j`'s row `t - j` for every `j` at once, each
/// plan's vectors in turn ([`vector_loops`]), so that one row's loads and sums run beside an
/// earlier row's divisions. Plan `j` of row `r` still follows plans `0..j` of row `r`, and
/// each plan computes a row exactly as [`assemble_chain`]'s (the same bits). The first and
/// last `n - 1` rows of `n` plans, and blocks of fewer than `n` rows, run plan by plan
/// (a subroutine per plan, which runs one row of it and moves its pointers on).
fn assemble_pipelined(plans: &[Plan<'_>], stream: bool) -> Result<Vec<u8>, CodegenError> {
    // (The table of pointers at [rsp + 8] in a subroutine.)
    let mut a = chain_start(plans)?;
    let saved = &BASES[CALLEE_SAVED_FROM..];
    let n = plans.len();
    let last = n - 1;
    // Every plan's constants once: no two plans share a register.
    for p in plans {
        p.constants(&mut a)?;
    }
    let first: Vec<usize> = plans
        .iter()
        .scan(0, |f, p| {
            let at = *f;
            *f += p.base.len();
            Some(at)
        })
        .collect();
    let slot =
        |j: usize, k: usize, table: AsmRegister64| qword_ptr(table + 8 * (first[j] + k) as i32);
    let mut single: Vec<CodeLabel> = (0..n).map(|_| a.create_label()).collect();
    let mut by_plan = a.create_label();
    let mut done = a.create_label();
    a.cmp(rdx, n as i32)?;
    a.jb(by_plan)?;
    // The first rows: plan `j` of row `t - j`, for rows `t` before the pipeline is full.
    for t in 0..last {
        for label in &single[..=t] {
            a.call(*label)?;
        }
    }
    a.sub(rdx, last as i32)?;
    let mut steady = a.create_label();
    a.set_label(&mut steady)?;
    for (j, p) in plans.iter().enumerate() {
        p.load_bases(&mut a, 0, first[j], false)?;
        p.row_start(&mut a)?;
    }
    vector_loops(&mut a, plans, stream)?;
    for (j, p) in plans.iter().enumerate() {
        if p.reduce.is_none() {
            continue;
        }
        // The plan's shared base registers again (a later plan loaded its own).
        p.load_bases(&mut a, 0, first[j], true)?;
        p.finish_reductions(&mut a)?;
    }
    // Every plan's pointers on to its next row, in the table.
    a.mov(rax, qword_ptr(rsp))?;
    for (j, p) in plans.iter().enumerate() {
        for (k, b) in p.base.iter().enumerate() {
            if b.is_some() {
                a.mov(r8, slot(j, k, rsi))?;
                a.add(slot(j, k, rax), r8)?;
            }
        }
    }
    a.dec(rdx)?;
    a.jnz(steady)?;
    // The last rows: plan `j` of the rows the pipeline has not reached.
    for e in 0..last {
        for label in &single[e + 1..] {
            a.call(*label)?;
        }
    }
    a.jmp(done)?;
    // Fewer rows than plans: plan by plan, row by row.
    a.set_label(&mut by_plan)?;
    a.test(rdx, rdx)?;
    a.jz(done)?;
    let mut row = a.create_label();
    a.set_label(&mut row)?;
    for label in &single {
        a.call(*label)?;
    }
    a.dec(rdx)?;
    a.jnz(row)?;
    a.set_label(&mut done)?;
    a.add(rsp, 8)?;
    function_return(&mut a, stream, saved)?;
    // The subroutines: one row of plan `j`, its pointers loaded from the table and stored
    // back moved on.
    for (j, p) in plans.iter().enumerate() {
        a.set_label(&mut single[j])?;
        p.row_in_table(&mut a, 8, first[j], stream && j == last)?;
        a.ret()?;
    }
    Ok(a.assemble(0)?)
}

/// The loops over a row's vectors for `plans` together, their values fixed along the row
/// and accumulators set ([`Plan::row_start`]): in each step every plan's vectors in turn, so
/// that one loop does the work of all. Steps of `unroll` whole vectors while they fit (up to
/// `rdi`, signed: [`Plan::constants`]), then single vectors, then the partial vector under k1.
/// A plan that steps one vector at a time on its own takes the step's vectors one after
/// another into the same accumulators: the order of its own loop. The last plan stores its
/// whole vectors with streaming stores when `stream`.
fn vector_loops(
    a: &mut CodeAssembler,
    plans: &[Plan<'_>],
    stream: bool,
) -> Result<(), CodegenError> {
    let (Some(first), Some(last)) = (plans.first(), plans.len().checked_sub(1)) else {
        return Ok(());
    };
    let lanes = i32::from(first.lanes());
    let unroll = plans.iter().map(|p| p.unroll).max().unwrap_or(1);
    if plans.iter().any(|p| p.unroll != 1 && p.unroll != unroll) {
        return Err(bug("plans of different steps in one loop"));
    }
    let streams = |j: usize| stream && j == last;
    let mut body = a.create_label();
    let mut tail = a.create_label();
    let mut next = a.create_label();
    a.xor(eax, eax)?;
    if unroll > 1 {
        let mut step = a.create_label();
        let mut single = a.create_label();
        a.cmp(rax, rdi)?;
        a.jg(single)?;
        a.set_label(&mut step)?;
        for (j, p) in plans.iter().enumerate() {
            for v in 0..unroll {
                let set = if p.unroll > 1 { v } else { 0 };
                p.body(a, false, set, 64 * v as i32, streams(j))?;
            }
        }
        a.add(rax, lanes * unroll as i32)?;
        a.cmp(rax, rdi)?;
        a.jle(step)?;
        a.set_label(&mut single)?;
    }
    a.cmp(rax, rcx)?;
    a.jae(tail)?;
    a.set_label(&mut body)?;
    for (j, p) in plans.iter().enumerate() {
        p.body(a, false, 0, 0, streams(j))?;
    }
    a.add(rax, lanes)?;
    a.cmp(rax, rcx)?;
    a.jb(body)?;
    a.set_label(&mut tail)?;
    // (A partial vector is left when k1 has a lane.)
    a.kortestw(k1, k1)?;
    a.jz(next)?;
    for p in plans {
        p.body(a, true, 0, 0, false)?;
    }
    a.set_label(&mut next)?;
    Ok(())
}

/// A row function defined in the module, not yet finalised.
pub(crate) struct Defined {
    id: FuncId,
    stream: Option<FuncId>,
    shape: RowShape,
}

impl Defined {
    /// The row function, once the module has finalised its definitions.
    pub(crate) fn finish(&self, module: &JITModule) -> RowFn {
        RowFn {
            func: finalized(module, self.id),
            stream: self.stream.map(|id| finalized(module, id)),
            shape: self.shape,
        }
    }
}

/// The listing of `nest`'s row code (Intel syntax, offsets from its start), for `ndx emit
/// --asm`; `None` when it has none.
pub(crate) fn listing(nest: &Nest) -> Option<String> {
    if !crate::row_code_available() {
        return None;
    }
    let plan = plan(nest)?;
    let code = plan.assemble(false).ok()?;
    let head = format!(
        "; 512-bit row code (AVX-512F), run for rows of {} elements or more:\n",
        plan.row_min()
    );
    Some(disassemble(head, &code))
}

impl From<IcedError> for CodegenError {
    fn from(e: IcedError) -> Self {
        CodegenError::Internal(format!("512-bit row code: {e}"))
    }
}

/// An error of the row code's own: always a compiler bug.
fn bug(what: &str) -> CodegenError {
    CodegenError::Internal(format!("512-bit row code: {what}"))
}

/// Where each node's value lives in the row function.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    /// Not needed by any output.
    Dead,
    /// Computed once per row, before the loop, into this register.
    Fixed(usize),
    /// Computed per vector in the loop, into this register.
    Loop(usize),
}

/// The row function of a qualifying nest: the dtype, the register of every node, the base
/// register of every contiguous array.
pub(crate) struct Plan<'n> {
    nest: &'n Nest,
    /// Lanes of 64 bits: `f64`, or `i64` when `int`.
    lanes64: bool,
    /// An integer nest (`i32` or `i64`: [`int_allowed`]), elementwise or reducing its rows by
    /// `sum`, `max` or `min`.
    int: bool,
    slots: Vec<Slot>,
    /// Per array: its base register (arrays that are read or written).
    base: Vec<Option<AsmRegister64>>,
    /// Per output of a kernel that reduces its rows: the accumulator's register (empty for an
    /// elementwise kernel); for `argmax` and `argmin`, each lane's best value so far.
    acc: Vec<usize>,
    /// Per output of an `argmax` or `argmin`: the register of each lane's best value's index.
    best: Vec<usize>,
    /// For `argmax` and `argmin`: the register of the current vector's lane indices.
    index: Option<usize>,
    /// Vectors per step of the loop (each with its own `acc` and `best`, those of output `o`
    /// and vector `j` at `o + j * outputs`): [`ARG_UNROLL`] for an `argmax`, `argmin`, `max` or
    /// `min`, else 1.
    unroll: usize,
    /// True when every output is `sum(i64(mask))`: the row code counts the mask's lanes.
    counts: bool,
    /// The registers of a reduction's end of row (see [`Plan::finish_reductions`]).
    scratch: [usize; SCRATCH],
    /// The registers of the constants the operations need, each splat once per call.
    konsts: Vec<(Konst, usize)>,
    /// A register `x ** 3`, `x ** 4` and `x ** 0.5` work in.
    tmp: Option<usize>,
    /// The reduction of every output, or `None` for an elementwise kernel.
    reduce: Option<ReduceOp>,
    /// A float `sum` in a [`RowChain`] ([`plan_for_chain`]): its accumulators and lanes
    /// combine as a tree ([`Plan::finish_tree`]), not in the Cranelift code's order.
    tree: bool,
    /// Per input: true when it is of the half-width dtype (`f32` in an `f64` nest, `i32` in
    /// an `i64` one) and only widened ([`widened_inputs`]): loaded 8 lanes at a time, then
    /// converted.
    narrow: Vec<bool>,
}

/// Vectors an `argmax`, `argmin`, `max` or `min` takes per step, each into its own
/// accumulators: a lane's best depends on its last (a compare, then a blend), and four chains
/// side by side keep the CPU busy.
const ARG_UNROLL: usize = 4;

/// The plan of `nest`'s row function, when it qualifies (see the module documentation).
pub(crate) fn plan(nest: &Nest) -> Option<Plan<'_>> {
    plan_unrolled(nest, ARG_UNROLL, false).or_else(|| plan_unrolled(nest, 1, false))
}

/// The plan of `nest`'s part of a [`RowChain`]: [`plan`]'s, but a float `sum` takes
/// [`crate::CHAIN_SUM_UNROLL`] vectors per step (when the registers suffice).
fn plan_for_chain(nest: &Nest) -> Option<Plan<'_>> {
    plan_unrolled(nest, crate::CHAIN_SUM_UNROLL, true).or_else(|| plan(nest))
}

/// [`plan`], with an `argmax`, `argmin`, `max` or `min` (with `sums`, also a float `sum`)
/// taking `unroll` vectors per step (when the registers suffice).
fn plan_unrolled(nest: &Nest, unroll: usize, sums: bool) -> Option<Plan<'_>> {
    let k = &nest.kernel;
    let narrays = k.inputs.len() + k.outputs.len();
    // Either every output is elementwise, or every output reduces the row (the inner axis
    // alone) with one of `sum`, `max`, `min`, `argmax`, `argmin`, `any`, `all`.
    let reduce = k.outputs.first().and_then(|o| o.reduce).filter(|r| {
        nest.rank > 0
            && nest.reduce_from == nest.rank - 1
            && k.outputs.iter().all(|o| o.reduce == Some(*r))
    });
    // `sum(i64(mask))` along the row: a count of the lanes set.
    let counts =
        reduce == Some(ReduceOp::Sum) && k.outputs.iter().all(|o| count_of(k, o).is_some());
    // Whether the rows reduce masks (`any`, `all`, counts).
    let of_masks = matches!(reduce, Some(ReduceOp::Any | ReduceOp::All)) || counts;
    // The float dtype of the nest: its outputs' (the inputs' for `any`, `all` and counts of
    // masks).
    let dtype = if of_masks {
        *k.inputs.first()?
    } else {
        k.outputs.first().map(|o| k.dtype(o.value))?
    };
    let value_dtype = if of_masks { DType::Bool } else { dtype };
    if reduce == Some(ReduceOp::Prod) {
        // (Cranelift's `prod` is a scalar chain: no vector code keeps its bits.)
        return None;
    }
    let reduces = reduce.is_some();
    let arg = matches!(reduce, Some(ReduceOp::ArgMax | ReduceOp::ArgMin));
    // (`max` and `min` give the same value in any order: only which of two NaNs, or of
    // `0.0` and `-0.0`, can change. Sums keep the 128-bit code's order: one chain.)
    let int = matches!(dtype, DType::I32 | DType::I64);
    // (Integers combine exactly in any order.)
    let float_sum = sums && reduce == Some(ReduceOp::Sum) && !counts && !int;
    let unroll = if arg
        || matches!(reduce, Some(ReduceOp::Max | ReduceOp::Min))
        || int && reduces
        || float_sum
    {
        unroll
    } else {
        1
    };
    let elementwise = nest.reduce_from == nest.rank && k.outputs.iter().all(|o| o.reduce.is_none());
    // Inputs of the half-width dtype, widened as they load: elementwise, or for integers
    // (whose reductions combine exactly in any order; a float sum would not keep the
    // Cranelift code's order, which is scalar for a nest with a conversion).
    let narrow = widened_inputs(k, dtype)?;
    if narrow.contains(&true) && reduces && !int {
        return None;
    }
    // Integers: elementwise work of wrapping arithmetic, comparisons and masks, or its
    // `sum`, `max` or `min` along the rows.
    let int_reduce = matches!(
        reduce,
        None | Some(ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min)
    );
    if int && (of_masks || !int_reduce || !k.nodes.iter().all(|n| int_allowed(n, dtype))) {
        return None;
    }
    let out_class = if reduces {
        Inner::Broadcast
    } else {
        Inner::Contiguous
    };
    if nest.rank == 0
        || nest.rank > MAX_RANK
        || !(reduces || elementwise)
        || narrays > MAX_ARRAYS
        || !(int || matches!(dtype, DType::F32 | DType::F64))
        || !k.nodes.iter().all(|n| match n.op {
            Op::Input(_) | Op::Cast(_) if widens(k, n, dtype, &narrow) => true,
            Op::Cast(_) => counts && is_count(k, n),
            _ => allowed(k, n, dtype) || counts && is_count(k, n),
        })
        || k.outputs
            .iter()
            .any(|o| k.dtype(reduced(k, o)) != value_dtype)
        || nest.inner[k.inputs.len()..].iter().any(|c| *c != out_class)
        || nest.inner.contains(&Inner::Strided)
    {
        return None;
    }
    // Which nodes an output needs, which of those are the same all along a row, and where
    // each loop value is last used (outputs are stored after the last node).
    let n = k.nodes.len();
    let mut needed = vec![false; n];
    for o in &k.outputs {
        needed[reduced(k, o).index()] = true;
    }
    let mut fixed = vec![false; n];
    let mut last_use = vec![0usize; n];
    for (i, node) in k.nodes.iter().enumerate().rev() {
        if !needed[i] {
            continue;
        }
        for h in operands(nest, &node.op)? {
            needed[h.index()] = true;
        }
    }
    for (i, node) in k.nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let ops = operands(nest, &node.op)?;
        fixed[i] = match node.op {
            Op::Input(a) => nest.inner[a as usize] == Inner::Broadcast,
            Op::Const(_) => true,
            _ => ops.iter().all(|h| fixed[h.index()]),
        };
        for h in ops {
            last_use[h.index()] = i;
        }
    }
    for o in &k.outputs {
        last_use[reduced(k, o).index()] = n;
    }
    // Registers: the fixed values (and the masks) keep theirs for the whole function; a loop
    // value takes a free one when computed and gives it back after its last use.
    let mut free: Vec<usize> = (0..ZMM.len()).rev().collect();
    let uses = |op: UnaryOp| {
        k.nodes
            .iter()
            .zip(&needed)
            .any(|(m, &w)| w && matches!(m.op, Op::Unary(u, _) if u == op))
    };
    let powers: Vec<Power> = k
        .nodes
        .iter()
        .zip(&needed)
        .filter(|(_, &w)| w)
        .filter_map(|(m, _)| match m.op {
            Op::Binary(BinaryOp::Pow, _, e) => power(nest, e),
            _ => None,
        })
        .collect();
    let wants = [
        (
            Konst::AllOnes,
            uses(UnaryOp::Not) || reduce == Some(ReduceOp::All),
        ),
        (Konst::Sign, uses(UnaryOp::Neg) && !int),
        (Konst::Magnitude, uses(UnaryOp::Abs) && !int),
        (
            Konst::One,
            powers.iter().any(|p| matches!(p, Power::Int(0 | -1))),
        ),
        (
            Konst::Zero,
            powers.contains(&Power::Half) || int && uses(UnaryOp::Neg),
        ),
        (
            Konst::Inf,
            powers.contains(&Power::Half)
                || !int && matches!(reduce, Some(ReduceOp::Min | ReduceOp::ArgMin)),
        ),
        (
            Konst::NegInf,
            powers.contains(&Power::Half)
                || !int && matches!(reduce, Some(ReduceOp::Max | ReduceOp::ArgMax)),
        ),
        (Konst::Iota, arg),
        (Konst::Lanes, arg),
        (Konst::IndexMax, arg || int && reduce == Some(ReduceOp::Min)),
        (Konst::IntMin, int && reduce == Some(ReduceOp::Max)),
    ];
    let mut konsts = Vec::new();
    for (c, wanted) in wants {
        if wanted {
            konsts.push((c, free.pop()?));
        }
    }
    let tmp = if powers
        .iter()
        .any(|p| matches!(p, Power::Int(3 | 4) | Power::Half))
    {
        Some(free.pop()?)
    } else {
        None
    };
    // A reduction's accumulator, and the registers its end of row works in.
    let acc = if reduces {
        let mut acc = Vec::new();
        for _ in 0..k.outputs.len() * unroll {
            acc.push(free.pop()?);
        }
        acc
    } else {
        Vec::new()
    };
    // An arg reduction's best index per output (and vector of a step), and the index of the
    // current vector's lanes.
    let mut best = Vec::new();
    let mut index = None;
    if arg {
        for _ in 0..k.outputs.len() * unroll {
            best.push(free.pop()?);
        }
        index = Some(free.pop()?);
    }
    let mut scratch = [0usize; SCRATCH];
    if reduces {
        for r in scratch.iter_mut() {
            *r = free.pop()?;
        }
    }
    // The fixed values: constants first, each in a register of its own (splat once per call,
    // before any row); then the values computed per row, in node order, each giving its
    // register back after its last use when no loop value and no output reads it.
    let mut slots = vec![Slot::Dead; n];
    let is_const = |i: usize| matches!(k.nodes[i].op, Op::Const(_));
    for i in 0..n {
        if needed[i] && fixed[i] && is_const(i) {
            slots[i] = Slot::Fixed(free.pop()?);
        }
    }
    let mut pinned = vec![false; n];
    for o in &k.outputs {
        pinned[reduced(k, o).index()] = true;
    }
    let mut last_fixed_use = vec![usize::MAX; n];
    for (i, node) in k.nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        for h in operands(nest, &node.op)? {
            if fixed[i] {
                last_fixed_use[h.index()] = i;
            } else {
                pinned[h.index()] = true;
            }
        }
    }
    for (i, node) in k.nodes.iter().enumerate() {
        if !needed[i] || !fixed[i] || is_const(i) {
            continue;
        }
        for h in operands(nest, &node.op)? {
            let h = h.index();
            if let Slot::Fixed(r) = slots[h] {
                if last_fixed_use[h] == i && !pinned[h] && !is_const(h) && !free.contains(&r) {
                    free.push(r);
                }
            }
        }
        slots[i] = Slot::Fixed(free.pop()?);
    }
    for (i, node) in k.nodes.iter().enumerate() {
        if !needed[i] || fixed[i] {
            continue;
        }
        for h in operands(nest, &node.op)? {
            if let Slot::Loop(r) = slots[h.index()] {
                // Freed before the result takes a register: an instruction reads its operands
                // before it writes its result, which may be one of them.
                if last_use[h.index()] == i && !free.contains(&r) {
                    free.push(r);
                }
            }
        }
        slots[i] = Slot::Loop(free.pop()?);
    }
    // A base register for every array read or written.
    let mut next = BASES.iter();
    let mut base = Vec::with_capacity(narrays);
    for a in 0..narrays {
        let used = a >= k.inputs.len() || input_needed(nest, &needed, a);
        base.push(if used { Some(*next.next()?) } else { None });
    }
    Some(Plan {
        nest,
        lanes64: matches!(dtype, DType::F64 | DType::I64),
        int,
        acc,
        best,
        index,
        unroll,
        counts,
        scratch,
        tree: float_sum,
        slots,
        base,
        konsts,
        tmp,
        reduce,
        narrow,
    })
}

/// The half-width dtype of `d` whose values widen exactly: `f32` of `f64`, `i32` of `i64`.
fn half_of(d: DType) -> Option<DType> {
    match d {
        DType::F64 => Some(DType::F32),
        DType::I64 => Some(DType::I32),
        _ => None,
    }
}

/// Per input of `k` (a nest of dtype `d`): whether it is of `d`'s half-width dtype and every
/// node that reads it converts it to `d` (`f64(x)` of an `f32` input, `i64(x)` of an `i32`
/// one); `None` when some input is of another dtype, or of the half-width one and used
/// otherwise.
fn widened_inputs(k: &Kernel, d: DType) -> Option<Vec<bool>> {
    let mut narrow = Vec::with_capacity(k.inputs.len());
    for (a, &input) in k.inputs.iter().enumerate() {
        if input == d {
            narrow.push(false);
            continue;
        }
        if Some(input) != half_of(d) {
            return None;
        }
        let reads = |h: ndx_ir::kernel::Handle| matches!(k.nodes[h.index()].op, Op::Input(x) if x as usize == a);
        for n in &k.nodes {
            let widens = matches!(n.op, Op::Cast(h) if reads(h)) && n.dtype == d;
            if !widens && n.op.operands().any(reads) {
                return None;
            }
        }
        if k.outputs.iter().any(|o| reads(o.value)) {
            return None;
        }
        narrow.push(true);
    }
    Some(narrow)
}

/// `d = maximum(x, y)` (`minimum` unless `max`) of `f64` (or `f32`) vectors, as the Cranelift
/// vector code (`simd::vminmax`): `y` where it beats `x` (`x < y` for max, `y < x` for min) or
/// is NaN, else `x`. One blend, so `d` may be either operand's register; `d_k4` is `d` under
/// the mask k4.
fn minmax<R: Copy>(
    a: &mut CodeAssembler,
    f64: bool,
    max: bool,
    d_k4: R,
    x: R,
    y: R,
) -> Result<(), CodegenError>
where
    CodeAssembler: CodeAsmVcmpps<AsmRegisterK, R, R, i32>
        + CodeAsmVcmppd<AsmRegisterK, R, R, i32>
        + CodeAsmVblendmps<R, R, R>
        + CodeAsmVblendmpd<R, R, R>,
{
    let (p, q) = if max { (x, y) } else { (y, x) };
    if f64 {
        a.vcmppd(k4, p, q, LT_OS)?;
        a.vcmppd(k5, y, y, UNORD_Q)?;
        a.korw(k4, k4, k5)?;
        a.vblendmpd(d_k4, x, y)?;
    } else {
        a.vcmpps(k4, p, q, LT_OS)?;
        a.vcmpps(k5, y, y, UNORD_Q)?;
        a.korw(k4, k4, k5)?;
        a.vblendmps(d_k4, x, y)?;
    }
    Ok(())
}

/// A constant the row code's operations use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Konst {
    /// Every bit (`~` of a mask).
    AllOnes,
    /// The sign bit alone (`-x`).
    Sign,
    /// Every bit but the sign (`abs`).
    Magnitude,
    One,
    Zero,
    Inf,
    NegInf,
    /// Each lane's number (0, 1, 2, ...) as an integer of the lane's width: not a splat.
    Iota,
    /// The number of lanes, as an integer of the lane's width.
    Lanes,
    /// The largest integer of a lane: `i32::MAX` (32-bit lanes) or `i64::MAX` (the largest
    /// index, and the identity of an integer `min`).
    IndexMax,
    /// The smallest integer of a lane: `i32::MIN` or `i64::MIN` (the identity of an integer
    /// `max`).
    IntMin,
}

impl Konst {
    /// The constant's bits in a lane of `f64` (or `f32`).
    fn bits(self, f64: bool) -> u64 {
        let float = |v: f64| {
            if f64 {
                v.to_bits()
            } else {
                u64::from((v as f32).to_bits())
            }
        };
        match self {
            Konst::AllOnes => u64::MAX,
            Konst::Sign => float(-0.0),
            Konst::Magnitude if f64 => u64::MAX >> 1,
            Konst::Magnitude => u64::from(u32::MAX >> 1),
            Konst::One => float(1.0),
            Konst::Zero => float(0.0),
            Konst::Inf => float(f64::INFINITY),
            Konst::NegInf => float(f64::NEG_INFINITY),
            Konst::Lanes if f64 => 8,
            Konst::Lanes => 16,
            Konst::IndexMax if f64 => i64::MAX as u64,
            Konst::IndexMax => i32::MAX as u64,
            Konst::IntMin if f64 => i64::MIN as u64,
            Konst::IntMin => u64::from(i32::MIN as u32),
            // (Built lane by lane: `Plan::iota`.)
            Konst::Iota => 0,
        }
    }
}

/// The exponent of `x ** e` when the Cranelift code multiplies it out
/// (`vmath::small_exponent`: a constant 0.5, or an integer from -1 to 4).
fn power(nest: &Nest, e: ndx_ir::kernel::Handle) -> Option<Power> {
    crate::vmath::small_exponent(&nest.kernel, e)
}

/// True when some needed node reads input `a`.
fn input_needed(nest: &Nest, needed: &[bool], a: usize) -> bool {
    nest.kernel
        .nodes
        .iter()
        .zip(needed)
        .any(|(n, &w)| w && n.op == Op::Input(a as u32))
}

/// The mask output `o` counts when it is `sum(i64(mask))` (NumPy's `sum(x > t)`).
fn count_of(k: &Kernel, o: &ndx_ir::kernel::Output) -> Option<ndx_ir::kernel::Handle> {
    match k.nodes[o.value.index()].op {
        Op::Cast(m) if k.dtype(m) == DType::Bool && k.dtype(o.value) == DType::I64 => Some(m),
        _ => None,
    }
}

/// True when `node` is the `i64` cast of a mask that a count sums.
fn is_count(k: &Kernel, node: &Node) -> bool {
    matches!(node.op, Op::Cast(m) if k.dtype(m) == DType::Bool && node.dtype == DType::I64)
}

/// The value the row code computes for output `o`: the mask of a count, else its value.
fn reduced(k: &Kernel, o: &ndx_ir::kernel::Output) -> ndx_ir::kernel::Handle {
    count_of(k, o).unwrap_or(o.value)
}

/// True when `node` has a dtype the row code keeps in its registers: the float dtype `f` of
/// the nest, or `bool` for a comparison of two `f` values and for `&`, `|`, `^` and `~` of
/// `bool` values (a mask: every bit of a lane set or clear, as in the Cranelift code).
fn allowed(k: &Kernel, node: &Node, f: DType) -> bool {
    let is = |h: &ndx_ir::kernel::Handle, d: DType| k.dtype(*h) == d;
    match (&node.op, node.dtype) {
        (Op::Binary(op, a, b), DType::Bool) if op.is_comparison() => is(a, f) && is(b, f),
        (Op::Binary(BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor, a, b), DType::Bool) => {
            is(a, DType::Bool) && is(b, DType::Bool)
        }
        (Op::Unary(UnaryOp::Not, a), DType::Bool) => is(a, DType::Bool),
        (Op::Select(c, a, b), d) => d == f && is(c, DType::Bool) && is(a, f) && is(b, f),
        (_, d) => d == f,
    }
}

/// True when `node` is a half-width input that [`widened_inputs`] found only widened
/// (`narrow`), or its conversion to the nest's dtype `d`.
fn widens(k: &Kernel, node: &Node, d: DType, narrow: &[bool]) -> bool {
    let is_narrow = |h: &ndx_ir::kernel::Handle| matches!(k.nodes[h.index()].op, Op::Input(x) if narrow.get(x as usize) == Some(&true));
    match &node.op {
        Op::Input(x) => narrow.get(*x as usize) == Some(&true),
        Op::Cast(h) => node.dtype == d && is_narrow(h),
        _ => false,
    }
}

/// True when `node` of an integer nest of dtype `d` (`i32` or `i64`) has row code: an input,
/// a constant, `+`, `-`, `*` (wrapping, as the Cranelift code's; `i64` products need
/// AVX-512DQ), `minimum`, `maximum`, `-x`, `abs` (wrapping at the minimum), `&`, `|`, `^`,
/// or a comparison, `~` or `where` of masks ([`allowed`] checks the dtypes). Division and
/// powers keep the Cranelift code (a division checks its divisor).
fn int_allowed(node: &Node, d: DType) -> bool {
    match node.op {
        Op::Input(_) | Op::Const(_) | Op::Select(..) | Op::Cast(_) => true,
        Op::Unary(UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Not, _) => true,
        Op::Binary(BinaryOp::Mul, ..) if d == DType::I64 => avx512dq(),
        Op::Binary(op, ..) => {
            op.is_comparison()
                || matches!(
                    op,
                    BinaryOp::Add
                        | BinaryOp::Sub
                        | BinaryOp::Mul
                        | BinaryOp::Min
                        | BinaryOp::Max
                        | BinaryOp::BitAnd
                        | BinaryOp::BitOr
                        | BinaryOp::BitXor
                )
        }
        _ => false,
    }
}

/// True when the CPU has AVX-512DQ (`vpmullq`).
fn avx512dq() -> bool {
    std::arch::is_x86_feature_detected!("avx512dq")
}

/// The operands of a node the row code can compute; `None` for any other node.
fn operands(nest: &Nest, op: &Op) -> Option<Vec<ndx_ir::kernel::Handle>> {
    match op {
        Op::Input(_) | Op::Const(_) => Some(Vec::new()),
        Op::Unary(UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sqrt | UnaryOp::Not, a) | Op::Cast(a) => {
            Some(vec![*a])
        }
        Op::Select(c, a, b) => Some(vec![*c, *a, *b]),
        Op::Binary(
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::BitAnd
            | BinaryOp::BitOr
            | BinaryOp::BitXor,
            a,
            b,
        ) => Some(vec![*a, *b]),
        Op::Binary(
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Min
            | BinaryOp::Max,
            a,
            b,
        ) => Some(vec![*a, *b]),
        Op::Binary(BinaryOp::Pow, x, e) => power(nest, *e).map(|_| vec![*x]),
        _ => None,
    }
}

impl Plan<'_> {
    /// Lanes per 512-bit vector.
    pub(crate) fn lanes(&self) -> u8 {
        if self.lanes64 {
            8
        } else {
            16
        }
    }

    /// The shortest rows the row code runs.
    fn row_min(&self) -> usize {
        match self.reduce {
            Some(ReduceOp::ArgMax | ReduceOp::ArgMin | ReduceOp::Any | ReduceOp::All) => {
                crate::ROW_MIN_512_ARG
            }
            Some(_) if self.counts => crate::ROW_MIN_512_ARG,
            Some(_) => crate::ROW_MIN_512_REDUCE,
            None => crate::ROW_MIN_512,
        }
    }

    /// The longest rows the row code runs: an `argmax` or `argmin` of `f32` keeps its indices
    /// in 32-bit lanes.
    fn row_max(&self) -> usize {
        match self.reduce {
            Some(ReduceOp::ArgMax | ReduceOp::ArgMin) if !self.lanes64 => i32::MAX as usize,
            // (A count of `f32` lanes adds 32-bit lanes.)
            _ if self.counts && !self.lanes64 => i32::MAX as usize,
            _ => usize::MAX,
        }
    }

    /// What [`RowFn::run`] needs to know of the nest besides its code.
    fn shape(&self) -> RowShape {
        let nest = self.nest;
        let mut inner = [0isize; MAX_ARRAYS];
        for (a, (s, c)) in inner.iter_mut().zip(&nest.inner).enumerate() {
            *s = if *c == Inner::Contiguous {
                self.size_of(a) as isize
            } else {
                0
            };
        }
        RowShape {
            rank: nest.rank,
            narrays: nest.inner.len(),
            inner,
            lanes: self.lanes(),
            min: self.row_min(),
            max: self.row_max(),
            outputs: nest.kernel.outputs.len(),
            stream_min: STREAM_MIN,
        }
    }

    /// The element size in bytes.
    fn size(&self) -> i32 {
        if self.lanes64 {
            8
        } else {
            4
        }
    }

    /// The element size in bytes of array `a` (inputs, then outputs): half the nest's for a
    /// widened input.
    fn size_of(&self, a: usize) -> i32 {
        if self.narrow.get(a) == Some(&true) {
            self.size() / 2
        } else {
            self.size()
        }
    }

    /// The machine code of the row function (position-independent: relative jumps only);
    /// with `stream`, an elementwise kernel's whole vectors are stored with streaming
    /// (non-temporal) stores, which need 64-byte aligned rows ([`RowFn::streams`]), and a
    /// fence orders them before the function returns.
    pub(crate) fn assemble(&self, stream: bool) -> Result<Vec<u8>, CodegenError> {
        let mut a = CodeAssembler::new(64)?;
        // EVEX encodings wherever an instruction has one: the VEX ones reach xmm0-15 only, and
        // the scalar steps of a row's end may land in xmm16-31.
        a.set_prefer_vex(false);
        let saved: Vec<AsmRegister64> = self
            .base
            .iter()
            .flatten()
            .copied()
            .filter(|r| BASES[CALLEE_SAVED_FROM..].contains(r))
            .collect();
        for &r in &saved {
            a.push(r)?;
        }
        for (k, b) in self.base.iter().enumerate() {
            if let Some(r) = b {
                a.mov(*r, qword_ptr(rsi + 8 * k as i32))?;
            }
        }
        a.mov(rsi, rcx)?;
        self.setup(&mut a)?;
        let mut row = a.create_label();
        let mut done = a.create_label();
        a.test(rdx, rdx)?;
        a.jz(done)?;
        a.set_label(&mut row)?;
        self.row(&mut a, stream)?;
        self.advance(&mut a, 0)?;
        a.dec(rdx)?;
        a.jnz(row)?;
        a.set_label(&mut done)?;
        function_end(a, stream, &saved)
    }

    /// What a row function sets up before its rows, from the row length in `rdi`
    /// ([`Plan::masks`], then [`Plan::constants`]).
    fn setup(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        self.masks(a, self.reduce.is_some())?;
        self.constants(a)
    }

    /// From the row length in `rdi`: the bound of the whole vectors in `rcx` and the lane mask
    /// k1 = (1 << (n % lanes)) - 1 of a row's last partial vector; with `groups` (for
    /// reductions) also k2 and k3. The same for every plan of the same lanes.
    fn masks(&self, a: &mut CodeAssembler, groups: bool) -> Result<(), CodegenError> {
        let lanes = i32::from(self.lanes());
        a.mov(ecx, edi)?;
        a.and(ecx, lanes - 1)?;
        a.mov(eax, 1)?;
        a.shl(eax, cl)?;
        a.dec(eax)?;
        a.kmovw(k1, eax)?;
        if groups {
            // For reductions: k2 = the lanes of the last partial vector in whole groups of
            // `lanes / 4` (the JIT's 128-bit vectors), k3 = the lanes past them.
            let w = lanes / 4;
            a.mov(ecx, edi)?;
            a.and(ecx, (lanes - 1) & !(w - 1))?;
            a.mov(eax, 1)?;
            a.shl(eax, cl)?;
            a.dec(eax)?;
            a.kmovw(k2, eax)?;
            a.kandnw(k3, k2, k1)?;
        }
        a.mov(rcx, rdi)?;
        a.and(rcx, -lanes)?;
        Ok(())
    }

    /// After [`Plan::masks`]: the constants (through `rax`), and for steps of several vectors
    /// their last start in `rdi` (from `rcx`).
    fn constants(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        for &(c, r) in &self.konsts {
            if c == Konst::Iota {
                self.iota(a, r)?;
            } else {
                self.splat(a, ZMM[r], c.bits(self.lanes64))?;
            }
        }
        for (i, node) in self.nest.kernel.nodes.iter().enumerate() {
            if let (Slot::Fixed(r), Op::Const(s)) = (self.slots[i], &node.op) {
                let bits = match s {
                    Scalar::F64(v) => v.to_bits(),
                    Scalar::F32(v) => v.to_bits() as u64,
                    Scalar::I64(v) => *v as u64,
                    Scalar::I32(v) => u64::from(*v as u32),
                    _ => return Err(bug("a constant of another dtype")),
                };
                self.splat(a, ZMM[r], bits)?;
            }
        }
        if self.unroll > 1 {
            // (The row length is not needed past here: k1 tells whether a partial vector is
            // left.)
            let lanes = i32::from(self.lanes());
            a.mov(rdi, rcx)?;
            a.sub(rdi, lanes * self.unroll as i32)?;
        }
        Ok(())
    }

    /// One row, its pointers in the base registers (left where they are): the values fixed
    /// along it, the loop over its vectors, and a reduction's end.
    fn row(&self, a: &mut CodeAssembler, stream: bool) -> Result<(), CodegenError> {
        self.row_start(a)?;
        vector_loops(a, std::slice::from_ref(self), stream)?;
        self.finish_reductions(a)
    }

    /// The start of a row: the values fixed along it (its broadcast inputs and what they
    /// compute), and a reduction's accumulators at the identity.
    fn row_start(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        for (i, node) in self.nest.kernel.nodes.iter().enumerate() {
            let Slot::Fixed(r) = self.slots[i] else {
                continue;
            };
            match node.op {
                Op::Const(_) => {}
                Op::Input(k) => {
                    let base = self.base[k as usize]
                        .ok_or_else(|| bug("an input without a base register"))?;
                    if self.size_of(k as usize) == 8 {
                        a.vbroadcastsd(ZMM[r], qword_ptr(base))?;
                    } else {
                        a.vbroadcastss(ZMM[r], dword_ptr(base))?;
                    }
                }
                _ => self.compute(a, i, ZMM[r])?,
            }
        }
        for &r in &self.acc {
            self.identity(a, ZMM[r])?;
        }
        if let Some(i) = self.index {
            // Each lane's best index starts at the lane's own: a lane whose values are all
            // the identity (or that the row does not reach) keeps it, and loses ties to any
            // lane before it.
            let iota = self.konst(Konst::Iota)?;
            for &r in self.best.iter().chain([&i]) {
                a.vmovdqa64(ZMM[r], iota)?;
            }
        }
        Ok(())
    }

    /// True when the loop walks array `a` (inputs, then outputs) along the row: it is
    /// contiguous there (the others are broadcast: read before the loop, or a reduction's
    /// output, written after it).
    fn walks(&self, a: usize) -> bool {
        self.nest.inner.get(a) == Some(&Inner::Contiguous)
    }

    /// Loads the base registers (with `shared_only`, those of the arrays the loop does not
    /// walk) from a chain's table of pointers, whose address is at `[rsp + at]` (its entries
    /// from `first`, through `rax`).
    fn load_bases(
        &self,
        a: &mut CodeAssembler,
        at: i32,
        first: usize,
        shared_only: bool,
    ) -> Result<(), CodegenError> {
        a.mov(rax, qword_ptr(rsp + at))?;
        for (k, b) in self.base.iter().enumerate() {
            if let (Some(r), false) = (b, shared_only && self.walks(k)) {
                a.mov(*r, qword_ptr(rax + 8 * (first + k) as i32))?;
            }
        }
        Ok(())
    }

    /// One row of a chain's plan: its pointers loaded from the table of [`Plan::load_bases`],
    /// the row ([`Plan::row`]), and the pointers stored back moved on to the next row.
    fn row_in_table(
        &self,
        a: &mut CodeAssembler,
        at: i32,
        first: usize,
        stream: bool,
    ) -> Result<(), CodegenError> {
        self.load_bases(a, at, first, false)?;
        self.row(a, stream)?;
        self.advance(a, first)?;
        a.mov(rax, qword_ptr(rsp + at))?;
        for (k, b) in self.base.iter().enumerate() {
            if let Some(r) = b {
                a.mov(qword_ptr(rax + 8 * (first + k) as i32), *r)?;
            }
        }
        Ok(())
    }

    /// Moves every base register on to the next row, by its step in the table at `rsi`
    /// (this plan's steps from entry `first`).
    fn advance(&self, a: &mut CodeAssembler, first: usize) -> Result<(), CodegenError> {
        for (k, b) in self.base.iter().enumerate() {
            if let Some(r) = b {
                a.add(*r, qword_ptr(rsi + 8 * (first + k) as i32))?;
            }
        }
        Ok(())
    }

    /// The register holding the constant `c`.
    fn konst(&self, c: Konst) -> Result<AsmRegisterZmm, CodegenError> {
        self.konsts
            .iter()
            .find(|(k, _)| *k == c)
            .map(|&(_, r)| ZMM[r])
            .ok_or_else(|| bug("a constant without a register"))
    }

    /// The register holding node `h`'s value.
    fn value(&self, h: ndx_ir::kernel::Handle) -> Result<AsmRegisterZmm, CodegenError> {
        match self.slots[h.index()] {
            Slot::Fixed(r) | Slot::Loop(r) => Ok(ZMM[r]),
            Slot::Dead => Err(bug("a value was not computed")),
        }
    }

    /// The end of a row of a [`RowChain`]'s float `sum` (`tree`): the partial vector (its
    /// lanes in the row alone, under k1) into the first accumulator, the accumulators added pairwise
    /// (`(a0 + a1) + (a2 + a3)`), then the lanes halved until one is left (lane `l` plus lane
    /// `l + half`), stored to the output. ([`crate::chain_sum`] computes the same.)
    fn finish_tree(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        let nout = k.outputs.len();
        let [.., t, _] = self.scratch;
        let add =
            |a: &mut CodeAssembler, d: usize, x: usize, y: usize| -> Result<(), CodegenError> {
                if self.lanes64 {
                    a.vaddpd(ZMM[d], ZMM[x], ZMM[y])?;
                } else {
                    a.vaddps(ZMM[d], ZMM[x], ZMM[y])?;
                }
                Ok(())
            };
        for (o, out) in k.outputs.iter().enumerate() {
            let base = self.base[k.inputs.len() + o]
                .ok_or_else(|| bug("an output without a base register"))?;
            let accs: Vec<usize> = (0..self.unroll)
                .map(|j| {
                    self.acc
                        .get(o + j * nout)
                        .copied()
                        .ok_or_else(|| bug("no accumulator"))
                })
                .collect::<Result<_, _>>()?;
            let v = self.value(out.value)?;
            let z = ZMM[accs[0]];
            if self.lanes64 {
                a.vaddpd(z.k1(), z, v)?;
            } else {
                a.vaddps(z.k1(), z, v)?;
            }
            let mut live = accs;
            while live.len() > 1 {
                let half = live.len() / 2;
                for j in 0..half {
                    add(a, live[j], live[j], live[j + half])?;
                }
                live.truncate(half);
            }
            let r = live[0];
            let (xr, xt) = (XMM[r], XMM[t]);
            a.vextractf64x4(YMM[t], ZMM[r], 1)?;
            if self.lanes64 {
                a.vaddpd(YMM[r], YMM[r], YMM[t])?;
                a.vextractf32x4(xt, ZMM[r], 1)?;
                a.vaddpd(xr, xr, xt)?;
                a.vpermilpd(xt, xr, 1)?;
                a.vaddsd(xr, xr, xt)?;
                a.vmovsd(qword_ptr(base), xr)?;
            } else {
                a.vaddps(YMM[r], YMM[r], YMM[t])?;
                a.vextractf32x4(xt, ZMM[r], 1)?;
                a.vaddps(xr, xr, xt)?;
                a.vpermilps(xt, xr, 0b1110)?;
                a.vaddps(xr, xr, xt)?;
                a.vpermilps(xt, xr, 1)?;
                a.vaddss(xr, xr, xt)?;
                a.vmovss(dword_ptr(base), xr)?;
            }
        }
        Ok(())
    }

    /// The end of a row of a kernel that reduces it: each result, in the order of the JIT's
    /// (for sums, `ndx_runtime::ops::wide_sum`'s kernel sum), stored to its output. The
    /// accumulator holds the JIT's four 128-bit accumulators side by side; the last partial
    /// vector (its value still in the output value's register, lanes under k1) combines its
    /// whole 128-bit groups (k2) into the first, one after the other; the lanes past them (k3)
    /// go, in order, into a scalar `s` that starts at the identity; the result is `s`
    /// combined with each lane of `(acc0 . acc1) . (acc2 . acc3)`, from the left. Groups and
    /// lanes that are not there are the identity, which changes nothing (for sums `+0.0`:
    /// neither an accumulator nor `s`, starting at `+0.0`, is ever `-0.0`).
    fn finish_reductions(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        if self.index.is_some() {
            return self.finish_args(a);
        }
        if let Some(r @ (ReduceOp::Any | ReduceOp::All)) = self.reduce {
            return self.finish_bools(a, r == ReduceOp::Any);
        }
        if self.counts {
            return self.finish_counts(a);
        }
        if self.int && self.reduce.is_some() {
            return self.finish_ints(a);
        }
        if self.tree {
            return self.finish_tree(a);
        }
        let k = &self.nest.kernel;
        // The accumulators of a step's other vectors (`max`, `min`) into the first.
        let nout = k.outputs.len();
        for j in 1..self.unroll {
            for o in 0..nout {
                if let (Some(&first), Some(&other)) = (self.acc.get(o), self.acc.get(o + j * nout))
                {
                    let (z, w) = (ZMM[first], ZMM[other]);
                    self.combine(a, z.k4(), z, w)?;
                }
            }
        }
        let [g, c, x1, x2, x3, t, s] = self.scratch.map(|r| ZMM[r]);
        let xmm = |z: AsmRegisterZmm| -> Result<AsmRegisterXmm, CodegenError> {
            let i = ZMM
                .iter()
                .position(|r| *r == z)
                .ok_or_else(|| bug("no register"))?;
            Ok(XMM[i])
        };
        let (xc, xx1, xx2, xx3, xt, xs) = (xmm(c)?, xmm(x1)?, xmm(x2)?, xmm(x3)?, xmm(t)?, xmm(s)?);
        for (o, out) in k.outputs.iter().enumerate() {
            let (Some(&acc), Some(base)) = (self.acc.get(o), self.base[k.inputs.len() + o]) else {
                continue;
            };
            let v = self.value(out.value)?;
            let (za, xa) = (ZMM[acc], xmm(ZMM[acc])?);
            self.identity(a, g)?;
            self.identity(a, c)?;
            if self.lanes64 {
                a.vmovapd(g.k2(), v)?;
                a.vcompresspd(c.k3(), v)?;
            } else {
                a.vmovaps(g.k2(), v)?;
                a.vcompressps(c.k3(), v)?;
            }
            a.vextractf32x4(xx1, za, 1)?;
            a.vextractf32x4(xx2, za, 2)?;
            a.vextractf32x4(xx3, za, 3)?;
            // (Writing the accumulator's low 128 bits clears the rest, taken out above.)
            for group in 0..3 {
                a.vextractf32x4(xt, g, group)?;
                self.combine(a, xa.k4(), xa, xt)?;
            }
            self.combine(a, xa.k4(), xa, xx1)?;
            self.combine(a, xx2.k4(), xx2, xx3)?;
            self.combine(a, xa.k4(), xa, xx2)?;
            self.identity(a, s)?;
            let (w, tail) = if self.lanes64 { (2, 1) } else { (4, 3) };
            for l in 0..tail {
                self.lane0(a, xt, xc, l)?;
                self.combine_scalar(a, xs, xt)?;
            }
            for l in 0..w {
                self.lane0(a, xt, xa, l)?;
                self.combine_scalar(a, xs, xt)?;
            }
            if self.lanes64 {
                a.vmovsd(qword_ptr(base), xs)?;
            } else {
                a.vmovss(dword_ptr(base), xs)?;
            }
        }
        Ok(())
    }

    /// One vector of an `argmax` (`argmin`) of the lanes `v`, into each lane's best value `bv`
    /// and its index `bi`: a lane takes its new value where it beats the best (`>`, `<` for
    /// `argmin`) or is the lane's first NaN (as the Cranelift code's `arg_better`), so each
    /// lane keeps the first of its best values; only the lanes under k1 when `masked`.
    fn arg_step(
        &self,
        a: &mut CodeAssembler,
        bv: AsmRegisterZmm,
        bi: AsmRegisterZmm,
        v: AsmRegisterZmm,
        masked: bool,
    ) -> Result<(), CodegenError> {
        let pred = if self.reduce == Some(ReduceOp::ArgMax) {
            GT_OS
        } else {
            LT_OS
        };
        let index = self
            .index
            .map(|r| ZMM[r])
            .ok_or_else(|| bug("an arg reduction without its index register"))?;
        if self.lanes64 {
            a.vcmppd(k4, v, bv, pred)?;
            a.vcmppd(k5, v, v, UNORD_Q)?;
            a.vcmppd(k6, bv, bv, ORD_Q)?;
        } else {
            a.vcmpps(k4, v, bv, pred)?;
            a.vcmpps(k5, v, v, UNORD_Q)?;
            a.vcmpps(k6, bv, bv, ORD_Q)?;
        }
        a.kandw(k5, k5, k6)?;
        a.korw(k4, k4, k5)?;
        if masked {
            a.kandw(k4, k4, k1)?;
        }
        if self.lanes64 {
            a.vblendmpd(bv.k4(), bv, v)?;
            a.vmovdqa64(bi.k4(), index)?;
        } else {
            a.vblendmps(bv.k4(), bv, v)?;
            a.vmovdqa32(bi.k4(), index)?;
        }
        Ok(())
    }

    /// The end of a row of an `argmax` (`argmin`): the candidates are the lanes (of every
    /// vector of a step) whose best is NaN when there are any, else the lanes whose best equals
    /// the best of all (`-0.0` equals `0.0`); the index stored (as `i64`) is the smallest of
    /// the candidates' indices, which is the row's first best value: each lane holds its own
    /// first.
    fn finish_args(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        let nout = k.outputs.len();
        let (s, t, u) = (
            ZMM[self.scratch[0]],
            ZMM[self.scratch[1]],
            ZMM[self.scratch[2]],
        );
        let max = self.reduce == Some(ReduceOp::ArgMax);
        let cmp = |a: &mut CodeAssembler, x, y, pred| {
            if self.lanes64 {
                a.vcmppd(k5, x, y, pred)
            } else {
                a.vcmpps(k5, x, y, pred)
            }
        };
        for o in 0..nout {
            let Some(base) = self.base[k.inputs.len() + o] else {
                continue;
            };
            let sets: Vec<(AsmRegisterZmm, AsmRegisterZmm)> = (0..self.unroll)
                .map(|j| {
                    let (bv, bi) = (self.acc.get(o + j * nout), self.best.get(o + j * nout));
                    match (bv, bi) {
                        (Some(&bv), Some(&bi)) => Ok((ZMM[bv], ZMM[bi])),
                        _ => Err(bug("an arg reduction without its registers")),
                    }
                })
                .collect::<Result<_, _>>()?;
            // `u` = the smallest index of the candidate lanes (k5) of every set, lane by lane.
            let gather = |a: &mut CodeAssembler,
                          candidates: &dyn Fn(
                &mut CodeAssembler,
                AsmRegisterZmm,
            ) -> Result<(), IcedError>|
             -> Result<(), CodegenError> {
                a.vmovdqa64(u, self.konst(Konst::IndexMax)?)?;
                for &(bv, bi) in &sets {
                    candidates(a, bv)?;
                    a.vmovdqa64(t, self.konst(Konst::IndexMax)?)?;
                    if self.lanes64 {
                        a.vmovdqa64(t.k5(), bi)?;
                        a.vpminsq(u, u, t)?;
                    } else {
                        a.vmovdqa32(t.k5(), bi)?;
                        a.vpminsd(u, u, t)?;
                    }
                }
                Ok(())
            };
            let mut nan = a.create_label();
            let mut found = a.create_label();
            a.kxorw(k6, k6, k6)?;
            for &(bv, _) in &sets {
                cmp(a, bv, bv, UNORD_Q)?;
                a.korw(k6, k6, k5)?;
            }
            a.kortestw(k6, k6)?;
            a.jnz(nan)?;
            // No NaN: the best of all in every lane of `s` (the sets' lanes side by side, then
            // across the lanes), then the lanes that hold it.
            let best_of = |a: &mut CodeAssembler, other| match (max, self.lanes64) {
                (true, true) => a.vmaxpd(s, s, other),
                (true, false) => a.vmaxps(s, s, other),
                (false, true) => a.vminpd(s, s, other),
                (false, false) => a.vminps(s, s, other),
            };
            a.vmovaps(s, sets[0].0)?;
            for &(bv, _) in &sets[1..] {
                best_of(a, bv)?;
            }
            for level in 0..self.levels() {
                self.swap_lanes(a, t, s, level)?;
                best_of(a, t)?;
            }
            gather(a, &|a, bv| cmp(a, bv, s, EQ_OQ))?;
            a.jmp(found)?;
            a.set_label(&mut nan)?;
            gather(a, &|a, bv| cmp(a, bv, bv, UNORD_Q))?;
            a.set_label(&mut found)?;
            // The smallest of all.
            self.lanes_into_rax(a, self.scratch[2], self.scratch[1], ReduceOp::Min)?;
            a.mov(qword_ptr(base), rax)?;
        }
        Ok(())
    }

    /// The end of a row of an `any` (`all`, unless `any`): a `bool` byte, whether some lane
    /// of the accumulated masks is set (whether none is clear).
    fn finish_bools(&self, a: &mut CodeAssembler, any: bool) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        for (o, &acc) in self.acc.iter().enumerate() {
            let base = self.base[k.inputs.len() + o]
                .ok_or_else(|| bug("an output without a base register"))?;
            let z = ZMM[acc];
            match (any, self.lanes64) {
                (true, true) => a.vptestmq(k4, z, z)?,
                (true, false) => a.vptestmd(k4, z, z)?,
                (false, true) => a.vptestnmq(k4, z, z)?,
                (false, false) => a.vptestnmd(k4, z, z)?,
            }
            a.kortestw(k4, k4)?;
            if any {
                a.setne(al)?;
            } else {
                a.sete(al)?;
            }
            a.mov(byte_ptr(base), al)?;
        }
        Ok(())
    }

    /// The end of a row of a count: the lanes' counts added (an order-free integer sum),
    /// stored as an `i64`.
    fn finish_counts(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        for (o, &acc) in self.acc.iter().enumerate() {
            let base = self.base[k.inputs.len() + o]
                .ok_or_else(|| bug("an output without a base register"))?;
            self.lanes_into_rax(a, acc, self.scratch[0], ReduceOp::Sum)?;
            a.mov(qword_ptr(base), rax)?;
        }
        Ok(())
    }

    /// `d = acc . v` of integer lanes by the nest's reduction (`d` is `acc`, perhaps under a
    /// mask).
    fn int_combine(
        &self,
        a: &mut CodeAssembler,
        d: AsmRegisterZmm,
        acc: AsmRegisterZmm,
        v: AsmRegisterZmm,
    ) -> Result<(), CodegenError> {
        let op = self
            .reduce
            .ok_or_else(|| bug("an integer reduction without its op"))?;
        self.int_combine_op(a, d, acc, v, op)
    }

    /// `d = x op y` of integer lanes of the nest's width: wrapping `+`, `max` or `min`.
    fn int_combine_op(
        &self,
        a: &mut CodeAssembler,
        d: AsmRegisterZmm,
        x: AsmRegisterZmm,
        y: AsmRegisterZmm,
        op: ReduceOp,
    ) -> Result<(), CodegenError> {
        match (op, self.lanes64) {
            (ReduceOp::Min, true) => a.vpminsq(d, x, y)?,
            (ReduceOp::Min, false) => a.vpminsd(d, x, y)?,
            (ReduceOp::Max, true) => a.vpmaxsq(d, x, y)?,
            (ReduceOp::Max, false) => a.vpmaxsd(d, x, y)?,
            (ReduceOp::Sum, true) => a.vpaddq(d, x, y)?,
            (ReduceOp::Sum, false) => a.vpaddd(d, x, y)?,
            _ => return Err(bug("an integer reduction without row code")),
        }
        Ok(())
    }

    /// The end of a row of an integer nest that reduces it: each output's accumulators (the
    /// partial vector already in the first, under k1) combined, then their lanes; exact in
    /// any order (wrapping `+`, `max`, `min`), stored as the output's width.
    fn finish_ints(&self, a: &mut CodeAssembler) -> Result<(), CodegenError> {
        let k = &self.nest.kernel;
        let nout = k.outputs.len();
        let op = self
            .reduce
            .ok_or_else(|| bug("an integer reduction without its op"))?;
        for o in 0..nout {
            let first = *self.acc.get(o).ok_or_else(|| bug("no accumulator"))?;
            for j in 1..self.unroll {
                if let Some(&other) = self.acc.get(o + j * nout) {
                    self.int_combine_op(a, ZMM[first], ZMM[first], ZMM[other], op)?;
                }
            }
            let base = self.base[k.inputs.len() + o]
                .ok_or_else(|| bug("an output without a base register"))?;
            self.lanes_into_rax(a, first, self.scratch[0], op)?;
            if self.lanes64 {
                a.mov(qword_ptr(base), rax)?;
            } else {
                a.mov(dword_ptr(base), eax)?;
            }
        }
        Ok(())
    }

    /// `rax` = the integer lanes of `ZMM[s]` combined by `op` (`min` of indices, `+` of
    /// counts; an integer nest's `sum`, `max` or `min`), `ZMM[t]` a scratch register: the
    /// lanes pair up, halves first, then lane 0 moves out (zero-extended from 32-bit lanes).
    fn lanes_into_rax(
        &self,
        a: &mut CodeAssembler,
        s: usize,
        t: usize,
        op: ReduceOp,
    ) -> Result<(), CodegenError> {
        let (zs, zt) = (ZMM[s], ZMM[t]);
        for level in 0..self.levels() {
            self.swap_lanes(a, zt, zs, level)?;
            self.int_combine_op(a, zs, zs, zt, op)?;
        }
        if self.lanes64 {
            a.vmovq(rax, XMM[s])?;
        } else {
            a.vmovd(eax, XMM[s])?;
        }
        Ok(())
    }

    /// How many times lanes pair up to combine a whole vector: 3 for 8 lanes, 4 for 16.
    fn levels(&self) -> u32 {
        if self.lanes64 {
            3
        } else {
            4
        }
    }

    /// `t` = `s` with its lanes swapped in pairs of blocks of `lanes >> (level + 1)` lanes:
    /// the halves at level 0, then quarters, and so on (moves of bits, for floats and
    /// integers alike).
    fn swap_lanes(
        &self,
        a: &mut CodeAssembler,
        t: AsmRegisterZmm,
        s: AsmRegisterZmm,
        level: u32,
    ) -> Result<(), CodegenError> {
        // 128-bit blocks (2, 3, 0, 1) then (1, 0, 3, 2); within each block, the halves
        // (`f64`: the two lanes), then (`f32`) the lanes of each half.
        match (level, self.lanes64) {
            (0, _) => a.vshuff64x2(t, s, s, 0x4e)?,
            (1, _) => a.vshuff64x2(t, s, s, 0xb1)?,
            (2, true) => a.vpermilpd(t, s, 0x55)?,
            (2, false) => a.vpermilps(t, s, 0x4e)?,
            _ => a.vpermilps(t, s, 0xb1)?,
        }
        Ok(())
    }

    /// `ZMM[r]` = each lane's number (0, 1, ...) as an integer of the lane's width (through
    /// `rax`): the bytes 0 to 15 (0 to 7), widened.
    fn iota(&self, a: &mut CodeAssembler, r: usize) -> Result<(), CodegenError> {
        let (z, x) = (ZMM[r], XMM[r]);
        a.mov(rax, 0x0706_0504_0302_0100_i64)?;
        a.vmovq(x, rax)?;
        if self.lanes64 {
            a.vpmovzxbq(z, x)?;
        } else {
            a.mov(rax, 0x0f0e_0d0c_0b0a_0908_i64)?;
            a.vpinsrq(x, x, rax, 1)?;
            a.vpmovzxbd(z, x)?;
        }
        Ok(())
    }

    /// `v` = the reduction's identity in every lane (`+0.0`, `-inf` or `+inf`).
    fn identity(&self, a: &mut CodeAssembler, v: AsmRegisterZmm) -> Result<(), CodegenError> {
        match self.reduce {
            Some(ReduceOp::Max) if self.int => a.vmovdqa64(v, self.konst(Konst::IntMin)?)?,
            Some(ReduceOp::Min) if self.int => a.vmovdqa64(v, self.konst(Konst::IndexMax)?)?,
            Some(ReduceOp::Max | ReduceOp::ArgMax) => a.vmovaps(v, self.konst(Konst::NegInf)?)?,
            Some(ReduceOp::Min | ReduceOp::ArgMin) => a.vmovaps(v, self.konst(Konst::Inf)?)?,
            Some(ReduceOp::All) => a.vmovaps(v, self.konst(Konst::AllOnes)?)?,
            _ => a.vpxord(v, v, v)?,
        }
        Ok(())
    }

    /// `acc = acc . v` on vectors (zmm or xmm), as the Cranelift code's `vcombine`; `acc_k4`
    /// is `acc` under the mask k4.
    fn combine<R: Copy>(
        &self,
        a: &mut CodeAssembler,
        acc_k4: R,
        acc: R,
        v: R,
    ) -> Result<(), CodegenError>
    where
        CodeAssembler: CodeAsmVaddps<R, R, R>
            + CodeAsmVaddpd<R, R, R>
            + CodeAsmVcmpps<AsmRegisterK, R, R, i32>
            + CodeAsmVcmppd<AsmRegisterK, R, R, i32>
            + CodeAsmVblendmps<R, R, R>
            + CodeAsmVblendmpd<R, R, R>,
    {
        match (self.reduce, self.lanes64) {
            (Some(op @ (ReduceOp::Max | ReduceOp::Min)), f64) => {
                minmax(a, f64, op == ReduceOp::Max, acc_k4, acc, v)?
            }
            (_, true) => a.vaddpd(acc, acc, v)?,
            (_, false) => a.vaddps(acc, acc, v)?,
        }
        Ok(())
    }

    /// `s = s . x` in lane 0, as the Cranelift code's scalar `combine_values`: for `max`, `s`
    /// where `s >= x` or `s` is NaN, else `x` (`min`: `<=`).
    fn combine_scalar(
        &self,
        a: &mut CodeAssembler,
        s: AsmRegisterXmm,
        x: AsmRegisterXmm,
    ) -> Result<(), CodegenError> {
        match (self.reduce, self.lanes64) {
            (Some(op @ (ReduceOp::Max | ReduceOp::Min)), f64) => {
                let pred = if op == ReduceOp::Max { GE_OS } else { LE_OS };
                if f64 {
                    a.vcmpsd(k4, s, x, pred)?;
                    a.vcmpsd(k5, s, s, UNORD_Q)?;
                    a.korw(k4, k4, k5)?;
                    a.vblendmpd(s.k4(), x, s)?;
                } else {
                    a.vcmpss(k4, s, x, pred)?;
                    a.vcmpss(k5, s, s, UNORD_Q)?;
                    a.korw(k4, k4, k5)?;
                    a.vblendmps(s.k4(), x, s)?;
                }
            }
            (_, true) => a.vaddsd(s, s, x)?,
            (_, false) => a.vaddss(s, s, x)?,
        }
        Ok(())
    }

    /// `d` with lane `l` of `x` in lane 0.
    fn lane0(
        &self,
        a: &mut CodeAssembler,
        d: AsmRegisterXmm,
        x: AsmRegisterXmm,
        l: u32,
    ) -> Result<(), CodegenError> {
        if self.lanes64 {
            a.vpermilpd(d, x, l)?;
        } else {
            a.vpermilps(d, x, l)?;
        }
        Ok(())
    }

    /// `v = bits` in every lane (through `rax`).
    fn splat(
        &self,
        a: &mut CodeAssembler,
        v: AsmRegisterZmm,
        bits: u64,
    ) -> Result<(), CodegenError> {
        if self.lanes64 {
            a.mov(rax, bits as i64)?;
            a.vpbroadcastq(v, rax)?;
        } else {
            a.mov(eax, bits as u32)?;
            a.vpbroadcastd(v, eax)?;
        }
        Ok(())
    }

    /// One vector of the row at index `rax` and `disp` bytes: the loop's nodes, then the
    /// stores (or, for an `argmax` or `argmin`, the update of the best values of vector `set`
    /// of a step); under the lane mask k1 when `masked`; storing elementwise outputs with
    /// streaming stores when `stream` (the address 64-byte aligned: [`RowFn::streams`]).
    fn body(
        &self,
        a: &mut CodeAssembler,
        masked: bool,
        set: usize,
        disp: i32,
        stream: bool,
    ) -> Result<(), CodegenError> {
        let scale = self.size();
        let k = &self.nest.kernel;
        for (i, node) in k.nodes.iter().enumerate() {
            let Slot::Loop(r) = self.slots[i] else {
                continue;
            };
            match node.op {
                Op::Input(x) if self.narrow.get(x as usize) == Some(&true) => {
                    // Half-width: the 8 elements of the step into the low half.
                    let base = self.base[x as usize]
                        .ok_or_else(|| bug("an input without a base register"))?;
                    let m = ymmword_ptr(base + rax * (scale / 2) + disp / 2);
                    let d = if masked { YMM[r].k1().z() } else { YMM[r] };
                    a.vmovups(d, m)?;
                }
                Op::Input(x) => {
                    let base = self.base[x as usize]
                        .ok_or_else(|| bug("an input without a base register"))?;
                    let m = zmmword_ptr(base + rax * scale + disp);
                    let d = if masked { ZMM[r].k1().z() } else { ZMM[r] };
                    if self.lanes64 {
                        a.vmovupd(d, m)?;
                    } else {
                        a.vmovups(d, m)?;
                    }
                }
                _ => self.compute(a, i, ZMM[r])?,
            }
        }
        for (o, out) in k.outputs.iter().enumerate() {
            let base = self.base[k.inputs.len() + o]
                .ok_or_else(|| bug("an output without a base register"))?;
            let v = self.value(reduced(k, out))?;
            let nout = k.outputs.len();
            if let (Some(&acc), true) = (self.acc.get(o), self.counts) {
                // A mask lane is -1 (every bit set): subtracting it counts it. The partial
                // vector's lanes alone at the row's end (k1: elements of the lanes' width).
                let z = ZMM[acc];
                let d = if masked { z.k1() } else { z };
                if self.lanes64 {
                    a.vpsubq(d, z, v)?;
                } else {
                    a.vpsubd(d, z, v)?;
                }
                continue;
            }
            if let (Some(&acc), Some(&best)) =
                (self.acc.get(o + set * nout), self.best.get(o + set * nout))
            {
                self.arg_step(a, ZMM[acc], ZMM[best], v, masked)?;
                continue;
            }
            if let (Some(&acc), Some(r @ (ReduceOp::Any | ReduceOp::All))) =
                (self.acc.get(o), self.reduce)
            {
                // Masks, or-ed (and-ed) in, the partial vector's lanes alone at the row's end
                // (k1 has a bit per lane: the operation's elements must be the lanes').
                let z = ZMM[acc];
                let d = if masked { z.k1() } else { z };
                match (r == ReduceOp::Any, self.lanes64) {
                    (true, true) => a.vporq(d, z, v)?,
                    (true, false) => a.vpord(d, z, v)?,
                    (false, true) => a.vpandq(d, z, v)?,
                    (false, false) => a.vpandd(d, z, v)?,
                }
                continue;
            }
            if let (Some(&acc), true) = (self.acc.get(o + set * nout), self.int) {
                // Integers: the partial vector's lanes alone into the accumulator, under k1.
                let z = ZMM[acc];
                let d = if masked { z.k1() } else { z };
                self.int_combine(a, d, z, v)?;
                continue;
            }
            if let Some(&acc) = self.acc.get(o + set * nout) {
                // A reduction: whole vectors into the accumulator (the partial one at the
                // row's end).
                if !masked {
                    let z = ZMM[acc];
                    self.combine(a, z.k4(), z, v)?;
                }
                continue;
            }
            let m = zmmword_ptr(base + rax * scale + disp);
            match (stream, self.lanes64) {
                (true, true) => a.vmovntpd(m, v)?,
                (true, false) => a.vmovntps(m, v)?,
                (false, true) => a.vmovupd(if masked { m.k1() } else { m }, v)?,
                (false, false) => a.vmovups(if masked { m.k1() } else { m }, v)?,
            }
        }
        if let Some(i) = self.index {
            let i = ZMM[i];
            if self.lanes64 {
                a.vpaddq(i, i, self.konst(Konst::Lanes)?)?;
            } else {
                a.vpaddd(i, i, self.konst(Konst::Lanes)?)?;
            }
        }
        Ok(())
    }

    /// Node `i` (an arithmetic node) into `d`, from its operands' registers.
    fn compute(
        &self,
        a: &mut CodeAssembler,
        i: usize,
        d: AsmRegisterZmm,
    ) -> Result<(), CodegenError> {
        let reg = |h: &ndx_ir::kernel::Handle| match self.slots[h.index()] {
            Slot::Fixed(r) | Slot::Loop(r) => Ok(ZMM[r]),
            Slot::Dead => Err(bug("an operand was not computed")),
        };
        let konst = |c: Konst| self.konst(c);
        let f64 = self.lanes64;
        if self.int {
            if let Some(done) = self.compute_int(a, i, d)? {
                return Ok(done);
            }
        }
        match &self.nest.kernel.nodes[i].op {
            Op::Cast(x) => {
                // A widened input (`widens`): exact, as the Cranelift code's conversion.
                let r = match self.slots[x.index()] {
                    Slot::Fixed(r) | Slot::Loop(r) => YMM[r],
                    Slot::Dead => return Err(bug("an operand was not computed")),
                };
                if self.int {
                    a.vpmovsxdq(d, r)
                } else {
                    a.vcvtps2pd(d, r)
                }
            }
            Op::Unary(UnaryOp::Neg, x) => a.vpxord(d, reg(x)?, konst(Konst::Sign)?),
            Op::Unary(UnaryOp::Not, x) => a.vpxord(d, reg(x)?, konst(Konst::AllOnes)?),
            Op::Binary(BinaryOp::BitAnd, x, y) => a.vpandd(d, reg(x)?, reg(y)?),
            Op::Binary(BinaryOp::BitOr, x, y) => a.vpord(d, reg(x)?, reg(y)?),
            Op::Binary(BinaryOp::BitXor, x, y) => a.vpxord(d, reg(x)?, reg(y)?),
            Op::Binary(op, x, y) if op.is_comparison() => {
                // A mask, as Cranelift's `fcmp`: every bit of a lane set where it holds
                // (ordered, but for `!=`, true where either operand is NaN).
                let pred = match op {
                    BinaryOp::Eq => EQ_OQ,
                    BinaryOp::Ne => NEQ_UQ,
                    BinaryOp::Lt => LT_OS,
                    BinaryOp::Le => LE_OS,
                    BinaryOp::Gt => GT_OS,
                    _ => GE_OS,
                };
                let (x, y) = (reg(x)?, reg(y)?);
                if f64 {
                    a.vcmppd(k4, x, y, pred)?;
                    a.vpternlogq(d.k4().z(), d, d, 0xff)
                } else {
                    a.vcmpps(k4, x, y, pred)?;
                    a.vpternlogd(d.k4().z(), d, d, 0xff)
                }
            }
            Op::Select(c, x, y) => {
                // `x` where the mask is set, else `y`: Cranelift's `bitselect` of a mask.
                let (c, x, y) = (reg(c)?, reg(x)?, reg(y)?);
                if f64 {
                    a.vptestmq(k4, c, c)?;
                    a.vblendmpd(d.k4(), y, x)
                } else {
                    a.vptestmd(k4, c, c)?;
                    a.vblendmps(d.k4(), y, x)
                }
            }
            Op::Unary(UnaryOp::Abs, x) => a.vpandd(d, reg(x)?, konst(Konst::Magnitude)?),
            Op::Binary(BinaryOp::Pow, x, e) => {
                // As the Cranelift code (`vmath::pow_small`): multiplications, a division or
                // a square root. `d` may be `x`'s register: each step reads before it writes.
                let x = reg(x)?;
                let t = self.tmp.map(|r| ZMM[r]);
                let t = || t.ok_or_else(|| bug("no register for a power"));
                let mul = |a: &mut CodeAssembler, d, p, q| {
                    if f64 {
                        a.vmulpd(d, p, q)
                    } else {
                        a.vmulps(d, p, q)
                    }
                };
                match power(self.nest, *e).ok_or_else(|| bug("a power without row code"))? {
                    Power::Int(0) => a.vmovaps(d, konst(Konst::One)?),
                    Power::Int(1) => a.vmovaps(d, x),
                    Power::Int(2) => mul(a, d, x, x),
                    Power::Int(3) => {
                        mul(a, t()?, x, x)?;
                        mul(a, d, t()?, x)
                    }
                    Power::Int(4) => {
                        mul(a, t()?, x, x)?;
                        mul(a, d, t()?, t()?)
                    }
                    Power::Int(_) if f64 => a.vdivpd(d, konst(Konst::One)?, x),
                    Power::Int(_) => a.vdivps(d, konst(Konst::One)?, x),
                    Power::Half => {
                        // sqrt(x) + 0.0 (so that -0 gives +0), and +inf where x is -inf.
                        if f64 {
                            a.vsqrtpd(t()?, x)?;
                            a.vaddpd(t()?, t()?, konst(Konst::Zero)?)?;
                            a.vcmppd(k4, x, konst(Konst::NegInf)?, EQ_OQ)?;
                            a.vblendmpd(d.k4(), t()?, konst(Konst::Inf)?)
                        } else {
                            a.vsqrtps(t()?, x)?;
                            a.vaddps(t()?, t()?, konst(Konst::Zero)?)?;
                            a.vcmpps(k4, x, konst(Konst::NegInf)?, EQ_OQ)?;
                            a.vblendmps(d.k4(), t()?, konst(Konst::Inf)?)
                        }
                    }
                }
            }
            Op::Unary(UnaryOp::Sqrt, x) if f64 => a.vsqrtpd(d, reg(x)?),
            Op::Unary(UnaryOp::Sqrt, x) => a.vsqrtps(d, reg(x)?),
            Op::Binary(op @ (BinaryOp::Min | BinaryOp::Max), x, y) => {
                return minmax(a, f64, *op == BinaryOp::Max, d.k4(), reg(x)?, reg(y)?);
            }
            Op::Binary(op, x, y) => {
                let (x, y) = (reg(x)?, reg(y)?);
                match (op, f64) {
                    (BinaryOp::Add, true) => a.vaddpd(d, x, y),
                    (BinaryOp::Add, false) => a.vaddps(d, x, y),
                    (BinaryOp::Sub, true) => a.vsubpd(d, x, y),
                    (BinaryOp::Sub, false) => a.vsubps(d, x, y),
                    (BinaryOp::Mul, true) => a.vmulpd(d, x, y),
                    (BinaryOp::Mul, false) => a.vmulps(d, x, y),
                    (BinaryOp::Div, true) => a.vdivpd(d, x, y),
                    (BinaryOp::Div, false) => a.vdivps(d, x, y),
                    _ => return Err(bug("an operation without row code")),
                }
            }
            _ => return Err(bug("an operation without row code")),
        }?;
        Ok(())
    }

    /// [`Plan::compute`] of the integer operations (`Some` when node `i` is one; masks, their
    /// `&`, `|`, `^`, `~` and `where` of them are bitwise, as for floats). The lanes' width is
    /// the dtype's.
    fn compute_int(
        &self,
        a: &mut CodeAssembler,
        i: usize,
        d: AsmRegisterZmm,
    ) -> Result<Option<()>, CodegenError> {
        let reg = |h: &ndx_ir::kernel::Handle| match self.slots[h.index()] {
            Slot::Fixed(r) | Slot::Loop(r) => Ok(ZMM[r]),
            Slot::Dead => Err(bug("an operand was not computed")),
        };
        let q = self.lanes64;
        match &self.nest.kernel.nodes[i].op {
            Op::Unary(UnaryOp::Neg, x) => {
                let zero = self.konst(Konst::Zero)?;
                if q {
                    a.vpsubq(d, zero, reg(x)?)?;
                } else {
                    a.vpsubd(d, zero, reg(x)?)?;
                }
            }
            Op::Unary(UnaryOp::Abs, x) if q => a.vpabsq(d, reg(x)?)?,
            Op::Unary(UnaryOp::Abs, x) => a.vpabsd(d, reg(x)?)?,
            Op::Binary(op, x, y) if op.is_comparison() => {
                let pred = match op {
                    BinaryOp::Eq => VP_EQ,
                    BinaryOp::Lt => VP_LT,
                    BinaryOp::Le => VP_LE,
                    BinaryOp::Ne => VP_NE,
                    BinaryOp::Ge => VP_NLT,
                    BinaryOp::Gt => VP_NLE,
                    _ => return Err(bug("an integer comparison the row code does not know")),
                };
                let (x, y) = (reg(x)?, reg(y)?);
                if q {
                    a.vpcmpq(k4, x, y, pred)?;
                    a.vpternlogq(d.k4().z(), d, d, 0xff)?;
                } else {
                    a.vpcmpd(k4, x, y, pred)?;
                    a.vpternlogd(d.k4().z(), d, d, 0xff)?;
                }
            }
            Op::Binary(
                op
                @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Min | BinaryOp::Max),
                x,
                y,
            ) => {
                let (x, y) = (reg(x)?, reg(y)?);
                match (op, q) {
                    (BinaryOp::Sub, true) => a.vpsubq(d, x, y)?,
                    (BinaryOp::Sub, false) => a.vpsubd(d, x, y)?,
                    (BinaryOp::Mul, true) => a.vpmullq(d, x, y)?,
                    (BinaryOp::Mul, false) => a.vpmulld(d, x, y)?,
                    // (The reductions' operations: wrapping `+`, `max`, `min`.)
                    (BinaryOp::Add, _) => self.int_combine_op(a, d, x, y, ReduceOp::Sum)?,
                    (BinaryOp::Min, _) => self.int_combine_op(a, d, x, y, ReduceOp::Min)?,
                    _ => self.int_combine_op(a, d, x, y, ReduceOp::Max)?,
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(()))
    }
}
