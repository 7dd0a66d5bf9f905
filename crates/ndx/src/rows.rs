//! Row programs: a keepdims reduction over the last axis fused with the elementwise work that
//! consumes it, run block of rows by block of rows.
//!
//! `exp(x - max(x, axis=-1, keepdims=true))` then `e / sum(e, axis=-1, keepdims=true)`
//! (softmax) or layernorm's mean and variance reduce each row and then use the result on the
//! same row. Run statement by statement, each reduction and each intermediate is a pass over
//! the whole array (and `e`, used twice, is computed twice). A row program instead takes a
//! block of rows small enough to stay in the L1/L2 cache ([`BLOCK_BYTES`]) and runs every
//! step on it before moving on:
//! 1. for each row-reduce node, innermost first: the reduction of its operand into a block
//!    scratch of shape `(b, ..., 1)`. An operand that computes a transcendental and is also
//!    used elsewhere (softmax's `e`) is first written to a block scratch of the block's shape,
//!    then reduced from there, and read from there by every later step;
//! 2. the final expression into the block of the destination.
//!
//! On a CPU with AVX-512F, a large enough program also takes apart the float nodes that
//! `ndx_runtime::ops::wide_math` computes 16 or 8 lanes at a time (every math function, and
//! division by a divisor per element or per row; [`Lazy::wide_nodes`]), innermost first:
//! kernel steps put the node's operands in block arrays (unless they are some already), a
//! 512-bit step computes the node into a block scratch (or straight into the destination's
//! block, when the node is the whole value), and later steps read it from there. The 512-bit
//! code gives the JIT's bits.
//!
//! Where the steps only reduce rows and use the results, with no shared transcendental and
//! no 512-bit function (layernorm), a large program whose rows suit the 512-bit row code runs
//! its kernel steps as one chain ([`chain_pays`], `ndx_codegen::Chain`): one function that
//! does every step for a row before the next row, so each row is read from memory once and
//! stays in the L1 cache for the later steps. Each worker's rows are then one block.
//!
//! A statement runs as a row program only when that saves work ([`applies`]): when some
//! reduced operand is such a shared transcendental, when a 512-bit function applies
//! ([`wide_pays`]; then a statement without any row reduction runs in blocks too: gelu), or
//! when the steps chain. Otherwise the unfused passes measured faster (layernorm in blocks of
//! rows, without the chain), and `Exec::settle` computes the reductions first.
//!
//! Each kernel step is an ordinary fused kernel (compiled and cached as any other), scheduled
//! once for the first block; the other blocks reuse the launch with the pointers of the arrays
//! that follow the rows advanced (scratch arrays stay put). A block is rows along axis 0 (of
//! a 1-D array: elements).
//!
//! Invariants: every step computes each row exactly as the unfused statements do (the same
//! kernels, the same per-row order of every reduction), so the results are bit-identical,
//! except in a chain, whose float sums add in four chains and a tree
//! (`ndx_codegen::chain_sum`; LANGUAGE.md section 6 leaves the order of a sum free);
//! row-reduce `Sum` nodes only exist for rows short enough that `sum` would not block them
//! (see `reduce.rs`), so LANGUAGE.md's accuracy of sums holds. With `threads(n)`, the whole
//! blocks are split into `n` contiguous ranges, one per worker, each with its own scratch:
//! a row's result does not depend on the thread count.

use crate::error::{runtime_err, Diag};
use crate::exec::{raw_arrays, Exec};
use crate::explain::{ArrayDesc, Dest, FusedStep, NativeStep, RowInfo, Step};
use crate::lazy::{self, Lazy, WideNode, WideOp};
use ndx_codegen::{Chain, Compiled};
use ndx_ir::kernel::ReduceOp;
use ndx_ir::loops::{schedule, ArrayLayout, Nest};
use ndx_runtime::ops::wide_math::{self, WideFloat, WideFn};
use ndx_runtime::{Array, DType, IndexSpec};
use ndx_syntax::Diagnostic;
use rustc_hash::FxHashMap as HashMap;

/// Bytes of one array's rows in a block: the block's rows of every array a step touches stay
/// in the 32 KiB L1 (and well inside L2) of the machines measured. Softmax on (4096, 1024)
/// f32 measured the same from 8 KiB to 256 KiB (BENCHMARKS.md, issue 3).
pub(crate) const BLOCK_BYTES: usize = 16 * 1024;

/// Bytes of one array's rows in a block of a program that calls the 512-bit functions: the
/// three arrays of a step around the call (operand, scratch, destination) then fit in L1
/// together. gelu over 10M f32 measured 6.0-6.1 ms in blocks of 2 or 4 KiB, 8.3 ms in
/// 8 KiB and 9.6 ms in 16 KiB; softmax (4096, 1024) 2.9 ms in one row (4 KiB) and 3.4 ms in
/// four (BENCHMARKS.md, issue 3).
pub(crate) const WIDE_BLOCK_BYTES: usize = 4 * 1024;

/// Elements from which an expression with a 512-bit function (`exp`, `tanh`, ...) runs in
/// blocks around the 512-bit code (below, binding the program and launching its blocks cost
/// more than the wider vectors save). `threads(1)`, median per statement, JIT against blocks:
/// gelu of `f32` 10.5 / 12.6 us at 4096 elements, 16.2 / 14.3-15.5 us at 8192, 28.1 / 18.2 us
/// at 16 384; softmax of (16, 512) `f32` 17.9-18.2 / 17.4-17.6 us; gelu of `f64` wins in
/// blocks from 2048 (BENCHMARKS.md, issue 3).
pub(crate) const WIDE_MIN: usize = 1 << 13;

/// [`WIDE_MIN`] for a statement whose program is the 512-bit call alone ([`direct_call`]:
/// `y[:] = tanh(x)`). `threads(1)`, per call, JIT against 512-bit code: f64 `tanh` 28.6 /
/// 11.2 us at 2047 elements, 54 / 18 us at 4095; f32 `exp` 3.3 / 4.3 us at 2047, 4.9 / 4.6 us
/// at 4095, 6.5 / 5.5 us at 8191 (BENCHMARKS.md, issue 3). A program with kernel steps costs
/// more to bind, hence the larger [`WIDE_MIN`].
pub(crate) const WIDE_MIN_DIRECT: usize = 1 << 12;

/// The block size in bytes that the environment sets with `NDX_RB`, in place of
/// [`BLOCK_BYTES`] and [`WIDE_BLOCK_BYTES`]: a knob to measure other sizes (read once).
fn block_bytes_override() -> Option<usize> {
    static BYTES: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| std::env::var("NDX_RB").ok().and_then(|v| v.parse().ok()))
}

/// One step of a row program, bound to the first block of its range.
struct Bound {
    compiled: Compiled,
    /// The nest it was compiled from (a chain is made of its steps' nests).
    nest: Box<Nest>,
    words: Vec<i64>,
    /// Per array: the index of its pointer in `words`, and how far it moves per block.
    shifts: Vec<(usize, i64)>,
    /// The arrays the words point into (block views and scratch), kept alive.
    _keep: Vec<Array>,
}

/// True when `v` runs as a row program writing an array of its shape:
/// - it has row-reduce nodes over operands of its own shape, and one of them computes a
///   transcendental that the rest of `v` uses too (softmax's `e`), which the row program
///   computes once instead of twice. Without such an operand the unfused passes measured
///   faster than blocks of rows (layernorm, (4096, 768) f32: 1.3 ms unfused against 1.4-1.7
///   ms in blocks of 5 to 325 rows; BENCHMARKS.md, issue 3): they stream from the cache as
///   fast, without the block launches;
/// - or it (or a row-reduce operand) evaluates a function that the 512-bit code of
///   `wide_math` can take ([`wide_pays`]);
/// - or its steps run as a chain of row code ([`chain_pays`]: layernorm, 0.71 ms against
///   0.86-0.92 ms unfused).
///
/// Asked for every statement with one output: the cheap tests come first.
pub(crate) fn applies(v: &Lazy, out: &Array) -> bool {
    let s = v.shape();
    if s.is_empty() || s.contains(&0) {
        return false;
    }
    if !v.has_row_reduce() {
        return wide_pays(v, &[], out);
    }
    let reduces = v.row_reduces();
    let uses = v.use_counts();
    s.len() >= 2
        && s[0] >= 2
        && reduces.iter().all(|(_, _, operand)| operand.shape() == s)
        && (reduces.iter().any(|(_, _, o)| shared_costly(o, &uses))
            || wide_pays(v, &reduces, out)
            || chain_pays(v))
}

/// Bytes of the value from which a statement with row reductions and nothing else to share
/// (layernorm) runs as a chain of row code ([`chain_pays`]): below, its arrays stay in the L2
/// cache between the passes, and the passes run as fast. layernorm over rows of 768,
/// `threads(1)`, chain against passes: `f32` 128 rows 43.8 / 37.2 us, 256 rows 65.1 / 61.9
/// us, 512 rows 105 / 105 us, 1024 rows (3 MiB) 184 / 186 us, 2048 rows 357 / 406 us, 4096
/// rows 0.70 / 0.87 ms; `f64` 512 rows (3 MiB) 212 / 222 us, 1024 rows 403 / 433 us
/// (BENCHMARKS.md, issue 3).
pub(crate) const CHAIN_MIN_BYTES: usize = 4 << 20;

/// Bytes of a row from which a chain is not taken, so that a row of each array a step touches
/// stays in the L1 cache from one step to the next (a bound set from the 32 KiB L1, not
/// measured: row sums are at most 1024 elements anyway, and layernorm's 3 KiB rows were).
pub(crate) const CHAIN_ROW_BYTES: usize = 16 * 1024;

/// True when the row program for `v` (which has row-reduce nodes over operands of its shape)
/// runs its steps as one chain of 512-bit row code ([`ndx_codegen::Chain`]), row by row,
/// rather than pass by pass: the CPU has the row code, `v` is a float value of at least
/// [`CHAIN_MIN_BYTES`], and its rows are long enough for the row code of a reduction
/// ([`ndx_codegen::ROW_MIN_512_REDUCE`]) and short enough for the L1 cache
/// ([`CHAIN_ROW_BYTES`]). Each step is then its own row code over the row, but for its float
/// sums' order (`ndx_codegen::chain_sum`).
fn chain_pays(v: &Lazy) -> bool {
    let s = v.shape();
    let n = s.last().copied().unwrap_or(0);
    matches!(v.dtype(), DType::F32 | DType::F64)
        && ndx_codegen::row_code_available()
        && s.iter().product::<usize>() * v.dtype().size() >= CHAIN_MIN_BYTES
        && n >= ndx_codegen::ROW_MIN_512_REDUCE
        && n * v.dtype().size() <= CHAIN_ROW_BYTES
}

/// True when `v` is worth a row program for the 512-bit code of `wide_math` alone: the
/// blocks can call it ([`wide_fits`]), and `v` or one of the row-reduce operands `reduces`
/// evaluates one of its functions (`exp`, `tanh`, `erf`, ...) over its whole shape
/// ([`Lazy::wide_nodes`]). A division does not
/// count: layernorm, whose only such node is its division by a per-row divisor, measured
/// slower as a row program (1.6-1.9 ms for (4096, 768) f32 in blocks of 1 to 5 rows, against
/// 1.3 ms unfused), and a division alone is bound by memory.
fn wide_pays(v: &Lazy, reduces: &[(usize, ReduceOp, Lazy)], out: &Array) -> bool {
    let is_fn = |n: &WideNode| matches!(n.op, WideOp::Fn(_));
    wide_fits(v, out)
        && (v.wide_nodes().iter().any(is_fn)
            || reduces
                .iter()
                .any(|(_, _, o)| o.wide_nodes().iter().any(is_fn)))
}

/// True when a row program for `v` (written to `out`) calls the 512-bit code for its nodes
/// that have it: the CPU has it, and `v` has at least [`WIDE_MIN`] elements (or
/// [`WIDE_MIN_DIRECT`] when it is a [`direct_call`]) in rows of at most [`BLOCK_BYTES`].
fn wide_fits(v: &Lazy, out: &Array) -> bool {
    let s = v.shape();
    let row_bytes = s[1..].iter().product::<usize>() * v.dtype().size().max(1);
    let n = s.iter().product::<usize>();
    // (`direct_call` walks the expression: only where it decides.)
    let big = n >= WIDE_MIN || (n >= WIDE_MIN_DIRECT && direct_call(v, out));
    wide_math::available() && big && row_bytes <= BLOCK_BYTES
}

/// True when the row program for `v` is the 512-bit code alone, with no kernel step: `v` is
/// one function with 512-bit code of arrays laid out as blocks (`exp(x)`, `x ** y`), written
/// into an `out` of its dtype laid out so too (`Exec::bind_wide`'s direct reads and writes).
fn direct_call(v: &Lazy, out: &Array) -> bool {
    let block = |a: &Array| {
        a.dtype() == v.dtype()
            && a.shape() == v.shape()
            && a.is_c_contiguous()
            && a.ptr()
                .is_ok_and(|q| (q as usize).is_multiple_of(a.dtype().size()))
    };
    let nodes = v.wide_nodes();
    let [node] = nodes.as_slice() else {
        return false;
    };
    node.id == v.id()
        && matches!(node.op, WideOp::Fn(_))
        && block(out)
        && node.operands.iter().all(|o| o.as_leaf().is_some_and(block))
}

/// True when `operand` computes a transcendental and is used outside its reduction too.
fn shared_costly(operand: &Lazy, uses: &HashMap<usize, usize>) -> bool {
    operand.is_costly() && uses.get(&operand.id()).copied().unwrap_or(0) > 1
}

impl Exec {
    /// Runs `v` (row-reduce nodes included, [`applies`] true) into `out`, an array of `v`'s
    /// shape and dtype that no input overlaps except at the same positions.
    pub(crate) fn run_rows(&mut self, v: &Lazy, out: &Array, dest: Dest) -> Result<(), Diag> {
        let s = v.shape().to_vec();
        let row_bytes: usize = s[1..].iter().product::<usize>() * v.dtype().size().max(1);
        // Steps that only reduce rows and use the results (layernorm) run as a chain of row
        // code, row by row; with a 512-bit function to call (`exp`, `tanh`), or an operand
        // to share, in blocks of rows.
        let reduces = v.row_reduces();
        let uses = v.use_counts();
        let chained = chain_pays(v)
            && !wide_pays(v, &reduces, out)
            && !reduces.iter().any(|(_, _, o)| shared_costly(o, &uses));
        let wide = !chained && wide_fits(v, out) && {
            let mut nodes = v.wide_nodes();
            nodes.extend(reduces.iter().flat_map(|(_, _, o)| o.wide_nodes()));
            !nodes.is_empty()
        };
        let size: usize = s.iter().product();
        let workers = if size >= self.jit()?.parallel_threshold() {
            self.threads.max(1)
        } else {
            1
        };
        // A chain runs its steps row by row: one block per worker.
        let bb =
            block_bytes_override().unwrap_or(if wide { WIDE_BLOCK_BYTES } else { BLOCK_BYTES });
        let b = if chained {
            s[0] / workers
        } else {
            bb / row_bytes.max(1)
        }
        .clamp(1, s[0]);
        let (mut full, mut tail) = (s[0] / b, s[0] % b);
        if tail == 1 && full > 0 && b > 1 {
            // A last block of one row would be scheduled with an axis of extent 1, another
            // layout class, and compile every step again: it joins the block before it.
            (full, tail) = (full - 1, b + 1);
        }
        let traced = self.trace.is_some();
        // Whole blocks in contiguous ranges, one per worker (each with its own scratch), for
        // arrays the JIT would split too.
        let threads = workers.min(full.max(1));
        let per = full.div_ceil(threads);
        let mut parts = Vec::new();
        for t in 0..threads {
            let (start, count) = (t * per, per.min(full.saturating_sub(t * per)));
            if count > 0 {
                let at = Block {
                    r0: start * b,
                    b,
                    traced: traced && t == 0,
                    blocks: full,
                    wide,
                    chained,
                };
                parts.push((self.bind_rows(v, out, at, dest)?, count));
            }
        }
        if tail > 0 {
            let at = Block {
                r0: full * b,
                b: tail,
                traced: traced && full == 0,
                blocks: 1,
                wide,
                chained,
            };
            parts.push((self.bind_rows(v, out, at, dest)?, 1));
        }
        let codes: Vec<i32> = match (parts.len() > 1, self.row_pool()) {
            (true, Some(pool)) => pool.install(|| {
                use rayon::prelude::*;
                parts
                    .par_iter_mut()
                    .map(|((steps, chain), count)| call_blocks(steps, chain.as_ref(), *count))
                    .collect()
            }),
            _ => parts
                .iter_mut()
                .map(|((steps, chain), count)| call_blocks(steps, chain.as_ref(), *count))
                .collect(),
        };
        match codes.into_iter().find(|c| *c != 0) {
            Some(code) => Err(Diagnostic::bug(format!(
                "row kernel failed with code {code}"
            ))),
            None => Ok(()),
        }
    }

    /// Builds and compiles the steps of `v` for the block `at` (the first of `at.blocks`);
    /// records them for `explain` when `at.traced`.
    fn bind_rows(
        &mut self,
        v: &Lazy,
        out: &Array,
        at: Block,
        dest: Dest,
    ) -> Result<(Vec<Stage>, Option<Chain>), Diag> {
        let s = v.shape().to_vec();
        let mut bshape = s.clone();
        bshape[0] = at.b;
        let mut items = vec![
            IndexSpec::Slice {
                start: None,
                stop: None,
                step: None
            };
            s.len()
        ];
        items[0] = IndexSpec::Slice {
            start: Some(at.r0 as i64),
            stop: Some((at.r0 + at.b) as i64),
            step: None,
        };
        let mut view = |a: &Array| a.index(&items).map_err(runtime_err);
        let mut reduced = vec![false; s.len()];
        let uses = v.use_counts();
        let mut p = Program {
            subst: HashMap::default(),
            scratch: Vec::new(),
            steps: Vec::new(),
            traces: Vec::new(),
        };
        let mut cx = Bind {
            shape: &bshape,
            b: at.b,
            traced: at.traced,
        };
        for (id, op, operand) in v.row_reduces() {
            if at.wide {
                self.bind_wide(&mut cx, &operand, &mut p, &mut view, None)?;
            }
            let mut src = operand.map_subst(&p.subst, &mut view, &bshape, &runtime_err)?;
            if shared_costly(&operand, &uses) && !p.subst.contains_key(&operand.id()) {
                let e = Array::empty(operand.dtype(), &bshape).map_err(runtime_err)?;
                p.scratch.push(e.ptr().map_err(runtime_err)? as usize);
                let (st, t) = self.bind(
                    &mut cx,
                    &[(&src, None)],
                    std::slice::from_ref(&e),
                    &reduced,
                    &p.scratch,
                )?;
                p.push(st, t);
                p.subst.insert(operand.id(), e.clone());
                src = Lazy::leaf(e);
            }
            let r = Array::empty(operand.dtype(), &bshape[..s.len() - 1]).map_err(runtime_err)?;
            p.scratch.push(r.ptr().map_err(runtime_err)? as usize);
            reduced[s.len() - 1] = true;
            let (st, t) = self.bind(
                &mut cx,
                &[(&src, Some(op))],
                std::slice::from_ref(&r),
                &reduced,
                &p.scratch,
            )?;
            reduced[s.len() - 1] = false;
            p.push(st, t);
            let mut keep: Vec<i64> = bshape.iter().map(|&d| d as i64).collect();
            if let Some(last) = keep.last_mut() {
                *last = 1;
            }
            p.subst.insert(id, r.reshape(&keep).map_err(runtime_err)?);
        }
        let o = out.index(&items).map_err(runtime_err)?;
        // A 512-bit node that is the whole value, into a contiguous destination: the 512-bit
        // code writes the destination's block.
        let root = at
            .wide
            .then(|| v.wide_nodes().pop())
            .flatten()
            .filter(|n| n.id == v.id() && n.dtype == o.dtype() && o.is_c_contiguous());
        let root_wide = root.is_some();
        // The step that writes the destination: with a 512-bit root, the kernel that puts a
        // function's operand there, or none (the 512-bit step writes it).
        let mut root_kernel = false;
        if at.wide {
            let dest_block = root_wide.then(|| {
                let row = o.strides().first().copied().unwrap_or(0);
                (o.clone(), row * at.b as isize)
            });
            root_kernel = self.bind_wide(&mut cx, v, &mut p, &mut view, dest_block)?;
        }
        // (The root's kernel and 512-bit step are the last two.)
        let mut writer = root_kernel.then(|| p.traces.len().saturating_sub(2));
        if !root_wide {
            let root = v.map_subst(&p.subst, &mut view, &bshape, &runtime_err)?;
            let (st, t) = self.bind(&mut cx, &[(&root, None)], &[o], &reduced, &p.scratch)?;
            writer = Some(p.traces.len());
            p.push(st, t);
        }
        let nests: Option<Vec<Nest>> = if at.chained {
            p.steps
                .iter()
                .map(|st| match st {
                    Stage::Kernel(b) => Some((*b.nest).clone()),
                    Stage::Wide { .. } => None,
                })
                .collect()
        } else {
            None
        };
        let (chain, chain_time) = match &nests {
            Some(nests) => self
                .jit()?
                .chain(nests)
                .map_err(|e| Diagnostic::bug(format!("kernel failed: {e}")))?,
            None => (None, None),
        };
        let n = p.traces.len();
        for (i, step) in p.traces.into_iter().enumerate() {
            let info = RowInfo {
                step: i + 1,
                steps: n,
                block_rows: at.b,
                blocks: at.blocks,
                rows: s[0],
                writes_dest: Some(i) == writer,
                chained: chain.is_some(),
                pipelined: chain.as_ref().is_some_and(Chain::pipelined),
                chain_time,
            };
            match step {
                Step::Fused(mut step) => {
                    step.rows = Some(info);
                    // The last step's machine code (`emit --asm`) ends with the chain's, which
                    // runs in place of every step's.
                    if let (Some(l), Some(nests), true) = (
                        step.launch.listing.as_mut(),
                        &nests,
                        chain.is_some() && i + 1 == n,
                    ) {
                        if let Some(code) = self.jit()?.chain_listing(nests) {
                            l.append_asm(&code);
                        }
                    }
                    if Some(i) == writer {
                        // This step writes the whole destination, block by block.
                        step.dest = dest;
                        step.outputs = vec![desc(out)];
                    }
                    self.record(Step::Fused(step));
                }
                Step::Native(mut step) => {
                    step.how = format!(
                        "{}; step {} of {n} over blocks of {} row(s)",
                        step.how, info.step, info.block_rows
                    );
                    self.record(Step::Native(step));
                }
                other => self.record(other),
            }
        }
        Ok((p.steps, chain))
    }

    /// Takes apart the nodes of `e` that `wide_math` computes ([`Lazy::wide_nodes`],
    /// innermost first). Each operand is made a contiguous block array (unless it is one
    /// already: a block scratch, an earlier result), by a kernel step into a new scratch; the
    /// 512-bit step writes the node's value into a block scratch (for a function: in place
    /// on its operand's), which the node reads from then on. With `dest` (the destination's
    /// first block, and how many bytes a block moves it), the root node `e` is written there;
    /// the answer is then whether a kernel step (the last but one) writes the destination
    /// first (a function's operand, which the 512-bit step rewrites in place).
    fn bind_wide(
        &mut self,
        cx: &mut Bind,
        e: &Lazy,
        p: &mut Program,
        view: &mut dyn FnMut(&Array) -> Result<Array, Diag>,
        dest: Option<(Array, isize)>,
    ) -> Result<bool, Diag> {
        let mut dest = dest;
        let mut root_kernel = false;
        for node in e.wide_nodes() {
            if p.subst.contains_key(&node.id) {
                continue;
            }
            let to_dest = dest.take_if(|_| node.id == e.id());
            let into_dest = to_dest.is_some();
            let (call, out) = match node.op {
                WideOp::Fn(f) if f.is_binary() => {
                    // Both operands as block arrays; the 512-bit step writes the value.
                    let d = node.dtype;
                    let a = self.wide_input(cx, p, &node.operands[0], cx.shape, d, view)?;
                    let b = self.wide_input(cx, p, &node.operands[1], cx.shape, d, view)?;
                    let out = match to_dest {
                        Some((a, shift)) => Place { a, shift },
                        None => p.new_scratch(cx.shape, node.dtype)?,
                    };
                    (WidePlan::Fn2 { f, a, b }, out)
                }
                WideOp::Fn(f) => {
                    let src = node.operands[0].map_subst(&p.subst, view, cx.shape, &runtime_err)?;
                    let out = match to_dest {
                        Some((a, shift)) => Place { a, shift },
                        None => p.new_scratch(cx.shape, node.dtype)?,
                    };
                    match block_place(cx, p, &src, cx.shape, node.dtype) {
                        // A block array already (`exp(x)`): the 512-bit code reads it.
                        Some(input) => (WidePlan::FnFrom { f, src: input }, out),
                        // Otherwise the operand is computed where the value goes, then
                        // rewritten in place.
                        None => {
                            self.bind_into(cx, p, &src, &out.a)?;
                            root_kernel |= into_dest;
                            (WidePlan::Fn(f), out)
                        }
                    }
                }
                WideOp::Div => {
                    let mut den_shape = cx.shape.to_vec();
                    let per = if node.operands[1].shape() == node.operands[0].shape() {
                        1
                    } else {
                        den_shape.last_mut().map_or(1, |d| std::mem::replace(d, 1))
                    };
                    let d = node.dtype;
                    let num = self.wide_input(cx, p, &node.operands[0], cx.shape, d, view)?;
                    let den = self.wide_input(cx, p, &node.operands[1], &den_shape, d, view)?;
                    let out = match to_dest {
                        Some((a, shift)) => Place { a, shift },
                        None => p.new_scratch(cx.shape, node.dtype)?,
                    };
                    (WidePlan::Div { num, den, per }, out)
                }
            };
            if cx.traced {
                let (name, input) = match &call {
                    WidePlan::Fn(f) => (f.name(), desc(&out.a)),
                    WidePlan::FnFrom { f, src } => (f.name(), desc(&src.a)),
                    WidePlan::Fn2 { f, a, .. } => (f.name(), desc(&a.a)),
                    WidePlan::Div { num, .. } => ("div", desc(&num.a)),
                };
                let lanes = if node.dtype == DType::F32 {
                    "f32x4"
                } else {
                    "f64x2"
                };
                p.traces.push(Step::Native(NativeStep {
                    precompiled: true,
                    name: format!("{name} ({})", node.dtype),
                    input,
                    how: format!(
                        "512-bit vectors (AVX-512) into the block {}, the same bits as the JIT's \
                         {lanes} code",
                        if out.shift == 0 {
                            "scratch"
                        } else {
                            "of the destination"
                        }
                    ),
                    calls: 1,
                }));
            }
            p.steps.push(Stage::wide(call, &out, cx.shape, node.dtype)?);
            p.subst.insert(node.id, out.a);
        }
        Ok(root_kernel)
    }

    /// The lazy `v` (of `shape`, mapped to the block) as a contiguous block array of `dtype`:
    /// the array itself when it is a leaf laid out so, else a new scratch a kernel step fills.
    fn wide_input(
        &mut self,
        cx: &mut Bind,
        p: &mut Program,
        v: &Lazy,
        shape: &[usize],
        dtype: DType,
        view: &mut dyn FnMut(&Array) -> Result<Array, Diag>,
    ) -> Result<Place, Diag> {
        let src = v.map_subst(&p.subst, view, shape, &runtime_err)?;
        if let Some(place) = block_place(cx, p, &src, shape, dtype) {
            return Ok(place);
        }
        let out = p.new_scratch(shape, dtype)?;
        self.bind_into(cx, p, &src, &out.a)?;
        Ok(out)
    }

    /// A kernel step computing `src` into the block array `out` (over `out`'s shape).
    fn bind_into(
        &mut self,
        cx: &mut Bind,
        p: &mut Program,
        src: &Lazy,
        out: &Array,
    ) -> Result<(), Diag> {
        let unreduced = vec![false; out.ndim()];
        let mut over = Bind {
            shape: out.shape(),
            b: cx.b,
            traced: cx.traced,
        };
        let (st, t) = self.bind(
            &mut over,
            &[(src, None)],
            std::slice::from_ref(out),
            &unreduced,
            &p.scratch,
        )?;
        p.push(st, t);
        Ok(())
    }

    /// Schedules and compiles one step over the block shape; with tracing, also what
    /// `explain` shows of it (its launch report says it ran: every block runs it).
    fn bind(
        &mut self,
        cx: &mut Bind,
        srcs: &[(&Lazy, Option<ReduceOp>)],
        outs: &[Array],
        reduced: &[bool],
        scratch: &[usize],
    ) -> Result<(Bound, Option<FusedStep>), Diag> {
        let built = lazy::build(srcs).map_err(crate::error::runtime_err)?;
        built
            .kernel
            .verify()
            .map_err(|e| Diagnostic::bug(e.to_string()))?;
        let raw = raw_arrays(&built.inputs, outs, cx.shape, reduced)?;
        let bug = |e: ndx_codegen::CodegenError| Diagnostic::bug(format!("kernel failed: {e}"));
        let mut traced = None;
        if cx.traced {
            // Compiles (or finds) the code and records the launch, with its compile time.
            let jit = self.jit()?;
            jit.prepare(&built.kernel, cx.shape, reduced, &raw)
                .map_err(bug)?;
            if let Some(mut launch) = jit.take_reports().into_iter().next() {
                launch.ran = true;
                traced = Some(FusedStep {
                    kernel: built.kernel.clone(),
                    inputs: built.inputs.iter().map(desc).collect(),
                    outputs: outs.iter().map(desc).collect(),
                    dest: Dest::New,
                    launch,
                    calls: 1,
                    later_hits: 0,
                    rows: None,
                });
            }
        }
        let layouts: Vec<ArrayLayout> = raw.iter().map(ndx_codegen::RawArray::layout).collect();
        let (nest, launch) = schedule(&built.kernel, cx.shape, reduced, &layouts)
            .map_err(|e| Diagnostic::bug(e.to_string()))?;
        let compiled = self.jit()?.compile(&nest).map_err(bug)?;
        let rank = launch.shape.len();
        // The arrays' own row strides: the kernel's may be 0 along a block of one row.
        let shifts = built
            .inputs
            .iter()
            .chain(outs)
            .zip(&raw)
            .enumerate()
            .map(|(i, (a, r))| {
                let follows = !scratch.contains(&r.ptr);
                let row = a.strides().first().copied().unwrap_or(0);
                let d = if follows { row * cx.b as isize } else { 0 };
                (rank + i * (1 + rank), d as i64)
            })
            .collect();
        let mut keep = built.inputs;
        keep.extend(outs.iter().cloned());
        let bound = Bound {
            compiled,
            nest: Box::new(nest),
            words: launch.words(),
            shifts,
            _keep: keep,
        };
        Ok((bound, traced))
    }
}

/// Runs `blocks` blocks of rows through `steps`, block after block; the first non-zero
/// error code stops it.
fn call_blocks(steps: &mut [Stage], chain: Option<&Chain>, blocks: usize) -> i32 {
    let bases: Vec<Vec<i64>> = steps
        .iter()
        .map(|st| match st {
            Stage::Kernel(st) => st.shifts.iter().map(|(i, _)| st.words[*i]).collect(),
            Stage::Wide { .. } => Vec::new(),
        })
        .collect();
    for j in 0..blocks as i64 {
        // The words of block `j`: every array that follows the rows moved on by `j` blocks.
        for (st, base) in steps.iter_mut().zip(&bases) {
            if let Stage::Kernel(st) = st {
                for ((i, d), b0) in st.shifts.iter().zip(base) {
                    st.words[*i] = b0 + j * d;
                }
            }
        }
        if let Some(chain) = chain {
            let launches: Vec<&[i64]> = steps
                .iter()
                .filter_map(|st| match st {
                    Stage::Kernel(st) => Some(st.words.as_slice()),
                    Stage::Wide { .. } => None,
                })
                .collect();
            // SAFETY: as for each step's call below; the chain runs the steps' row code row
            // by row, and a step reads what an earlier one writes (a block scratch of one
            // value per row) only in the same row.
            if unsafe { chain.run(&launches) } {
                continue;
            }
        }
        for st in steps.iter_mut() {
            let code = match st {
                Stage::Kernel(st) => {
                    // SAFETY: the words describe block `j` of arrays that cover every block of
                    // this range: the step was scheduled for its first block, and block `j`
                    // only moves the pointers of arrays that follow the rows by `j` blocks of
                    // rows, which stay inside them (`j` < the number of whole blocks of the
                    // range). Ranges of different workers write disjoint rows of the
                    // destination and their own scratch.
                    unsafe { st.compiled.call(&st.words) }
                }
                Stage::Wide {
                    call,
                    dst,
                    len,
                    dtype,
                    ..
                } => {
                    let ran = match dtype {
                        DType::F32 => run_wide::<f32>(call, dst, *len, j as isize),
                        DType::F64 => run_wide::<f64>(call, dst, *len, j as isize),
                        _ => false,
                    };
                    if ran {
                        0
                    } else {
                        WIDE_FAILED
                    }
                }
            };
            if code != 0 {
                return code;
            }
        }
    }
    0
}

/// The code [`call_blocks`] answers when a 512-bit step cannot run (never: [`wide_fits`]
/// checked the CPU, and [`Stage::wide`] the blocks' layout).
const WIDE_FAILED: i32 = -1000;

/// Runs the 512-bit step `call` on block `j`, writing the `len` elements at `dst`.
fn run_wide<T: WideFloat>(call: &WideCall, dst: &Ptr, len: usize, j: isize) -> bool {
    // SAFETY (every slice): each pointer is block `j`'s start in a C-contiguous, aligned
    // array of `T` of the block's shape (`len` elements; a per-row divisor one per row)
    // checked by `Stage::wide`, kept alive by the stage: a scratch (shift 0) of this worker
    // only, or an array that follows the rows, at its block `j` (whole blocks of this worker's
    // range; the destination's blocks are disjoint from other workers'). Nothing else touches
    // them while this step runs: the steps run one after another on this thread. A numerator
    // at the destination's own address is read in place (`None`), never as a second slice.
    let d = dst.at(j) as *mut T;
    let out = unsafe { std::slice::from_raw_parts_mut(d, len) };
    match call {
        WideCall::Fn(f) => wide_math::apply(*f, out),
        WideCall::FnFrom { f, src } => match src.at(j) {
            x if x == d as usize => wide_math::apply(*f, out),
            x => wide_math::apply_from(*f, out, unsafe {
                std::slice::from_raw_parts(x as *const T, len)
            }),
        },
        WideCall::Fn2 { f, a, b } => {
            let operand = |p: &Ptr| {
                let x = p.at(j);
                (x != d as usize).then(|| unsafe { std::slice::from_raw_parts(x as *const T, len) })
            };
            wide_math::apply2(*f, out, operand(a), operand(b))
        }
        WideCall::Div { num, den, per } => {
            let x = num.at(j);
            let x = (x != d as usize)
                .then(|| unsafe { std::slice::from_raw_parts(x as *const T, len) });
            let q = unsafe { std::slice::from_raw_parts(den.at(j) as *const T, len / per) };
            wide_math::div(out, x, q, *per)
        }
    }
}

/// `src` (mapped to the block) as a block array the 512-bit code can read: a leaf of `dtype`
/// and the block's `shape`, C-contiguous and aligned (a scratch stays put; other arrays
/// follow the rows).
fn block_place(cx: &Bind, p: &Program, src: &Lazy, shape: &[usize], dtype: DType) -> Option<Place> {
    let a = src.as_leaf()?;
    let q = a.ptr().ok()? as usize;
    if a.dtype() != dtype
        || a.shape() != shape
        || !a.is_c_contiguous()
        || !q.is_multiple_of(dtype.size())
    {
        return None;
    }
    let row = a.strides().first().copied().unwrap_or(0);
    let shift = if p.scratch.contains(&q) {
        0
    } else {
        row * cx.b as isize
    };
    Some(Place {
        a: a.clone(),
        shift,
    })
}

/// One step of a row program.
enum Stage {
    /// A fused kernel.
    Kernel(Bound),
    /// A 512-bit step of `wide_math` writing `len` elements of `dtype` at `dst`.
    Wide {
        call: WideCall,
        dst: Ptr,
        len: usize,
        dtype: DType,
        /// The arrays the pointers point into, kept alive.
        _keep: Vec<Array>,
    },
}

/// A 512-bit step, as the program is built.
enum WidePlan {
    /// A function (`exp`, `tanh`, ...) in place.
    Fn(WideFn),
    /// A function of a block array into the step's array.
    FnFrom { f: WideFn, src: Place },
    /// A function of two operands (`pow`) into the step's array.
    Fn2 { f: WideFn, a: Place, b: Place },
    /// `num / den`, `den` one divisor per `per` elements.
    Div { num: Place, den: Place, per: usize },
}

/// A 512-bit step, as it runs.
enum WideCall {
    Fn(WideFn),
    FnFrom { f: WideFn, src: Ptr },
    Fn2 { f: WideFn, a: Ptr, b: Ptr },
    Div { num: Ptr, den: Ptr, per: usize },
}

/// A block array of a row program, and how many bytes its block moves from one block to the
/// next (0 for a scratch).
struct Place {
    a: Array,
    shift: isize,
}

/// A block array's first address and its move per block.
struct Ptr {
    base: usize,
    shift: isize,
}

impl Ptr {
    /// The address in block `j`.
    fn at(&self, j: isize) -> usize {
        (self.base as isize + j * self.shift) as usize
    }
}

impl Place {
    /// Its address, when it is a contiguous, aligned array of `dtype`.
    fn ptr(&self, dtype: DType) -> Result<Ptr, Diag> {
        let a = &self.a;
        let base = a.ptr().map_err(runtime_err)?;
        let aligned = (base as usize).is_multiple_of(dtype.size());
        if a.dtype() != dtype || !a.is_c_contiguous() || !aligned {
            return Err(Diagnostic::bug(format!(
                "a wide step's block is not contiguous {dtype}"
            )));
        }
        Ok(Ptr {
            base: base as usize,
            shift: self.shift,
        })
    }
}

impl Stage {
    /// The 512-bit step `plan` writing `out`, both of the block shape `shape`.
    fn wide(plan: WidePlan, out: &Place, shape: &[usize], dtype: DType) -> Result<Stage, Diag> {
        let len: usize = shape.iter().product();
        let dst = out.ptr(dtype)?;
        let mut keep = vec![out.a.clone()];
        let call = match plan {
            WidePlan::Fn(f) => WideCall::Fn(f),
            WidePlan::FnFrom { f, src } => {
                if src.a.size() != len {
                    return Err(Diagnostic::bug(
                        "a wide function's operand does not fit its block",
                    ));
                }
                let call = WideCall::FnFrom {
                    f,
                    src: src.ptr(dtype)?,
                };
                keep.push(src.a);
                call
            }
            WidePlan::Fn2 { f, a, b } => {
                if a.a.size() != len || b.a.size() != len {
                    return Err(Diagnostic::bug(
                        "a wide function's operands do not fit its block",
                    ));
                }
                let call = WideCall::Fn2 {
                    f,
                    a: a.ptr(dtype)?,
                    b: b.ptr(dtype)?,
                };
                keep.extend([a.a, b.a]);
                call
            }
            WidePlan::Div { num, den, per } => {
                if num.a.size() != len || den.a.size() * per != len {
                    return Err(Diagnostic::bug(
                        "a wide division's operands do not fit its block",
                    ));
                }
                let call = WideCall::Div {
                    num: num.ptr(dtype)?,
                    den: den.ptr(dtype)?,
                    per,
                };
                keep.extend([num.a, den.a]);
                call
            }
        };
        Ok(Stage::Wide {
            call,
            dst,
            len,
            dtype,
            _keep: keep,
        })
    }
}

/// A row program being built: the steps, what `explain` shows of them, the nodes already
/// computed into block arrays, and the scratch arrays (which stay put from block to block).
struct Program {
    subst: HashMap<usize, Array>,
    scratch: Vec<usize>,
    steps: Vec<Stage>,
    traces: Vec<Step>,
}

impl Program {
    /// A new block scratch of `shape` and `dtype`.
    fn new_scratch(&mut self, shape: &[usize], dtype: DType) -> Result<Place, Diag> {
        let a = Array::empty(dtype, shape).map_err(runtime_err)?;
        self.scratch.push(a.ptr().map_err(runtime_err)? as usize);
        Ok(Place { a, shift: 0 })
    }

    fn push(&mut self, st: Bound, trace: Option<FusedStep>) {
        self.steps.push(Stage::Kernel(st));
        self.traces.extend(trace.map(|t| Step::Fused(Box::new(t))));
    }
}

/// Where one worker's blocks start, and how they run.
#[derive(Clone, Copy)]
struct Block {
    /// The first row.
    r0: usize,
    /// Rows in a block.
    b: usize,
    /// Whether the steps are recorded for `explain`.
    traced: bool,
    /// Whole blocks of the statement (for `explain`).
    blocks: usize,
    /// Whether the functions of `wide_math` go to the 512-bit code.
    wide: bool,
    /// Whether the steps run as a chain of row code ([`chain_pays`]).
    chained: bool,
}

/// What every step of one row program shares.
struct Bind<'a> {
    /// The block's shape.
    shape: &'a [usize],
    /// Rows in a block.
    b: usize,
    /// Whether the steps are recorded for `explain`.
    traced: bool,
}

fn desc(a: &Array) -> ArrayDesc {
    ArrayDesc {
        dtype: a.dtype(),
        shape: a.shape().to_vec(),
    }
}
