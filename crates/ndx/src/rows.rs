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
//! A statement runs as a row program only when that saves work ([`applies`]): when some
//! reduced operand is such a shared transcendental. Otherwise (layernorm) the unfused passes
//! measured faster, and `Exec::settle` computes the reductions first.
//!
//! Each step is an ordinary fused kernel (compiled and cached as any other), scheduled once
//! for the first block; the other blocks reuse the launch with the pointers of the arrays
//! that follow the rows advanced (scratch arrays stay put). A block is rows along axis 0.
//!
//! Invariants: every step computes each row exactly as the unfused statements do (the same
//! kernels, the same per-row order of every reduction), so the results are bit-identical;
//! row-reduce `Sum` nodes only exist for rows short enough that `sum` would not block them
//! (see `reduce.rs`), so LANGUAGE.md's accuracy of sums holds. With `threads(n)`, the whole
//! blocks are split into `n` contiguous ranges, one per worker, each with its own scratch:
//! a row's result does not depend on the thread count.

use crate::error::{runtime_err, Diag};
use crate::exec::{raw_arrays, Exec};
use crate::explain::{ArrayDesc, Dest, FusedStep, NativeStep, RowInfo, Step};
use crate::lazy::{self, Lazy};
use ndx_codegen::Compiled;
use ndx_ir::kernel::ReduceOp;
use ndx_ir::loops::{schedule, ArrayLayout};
use ndx_runtime::ops::wide_math::{self, WideFn};
use ndx_runtime::{Array, DType, IndexSpec};
use ndx_syntax::Diagnostic;
use std::collections::HashMap;

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

/// Elements from which an expression with `exp` or `tanh` of `f32` runs in blocks around the
/// 512-bit code (below, the block launches cost more than the wider vectors save).
pub(crate) const WIDE_MIN: usize = 1 << 16;

/// One step of a row program, bound to the first block of its range.
struct Bound {
    compiled: Compiled,
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
///   faster (layernorm, (4096, 768) f32: 1.3 ms unfused against 1.4-1.7 ms in blocks of 5 to
///   325 rows; BENCHMARKS.md, issue 3): they stream from the cache as fast, without the block
///   launches;
/// - or it (or a row-reduce operand) evaluates `exp` or `tanh` of `f32` that the 512-bit
///   code of `wide_math` can take ([`wide_pays`]).
pub(crate) fn applies(v: &Lazy) -> bool {
    let s = v.shape();
    if s.is_empty() || s.contains(&0) {
        return false;
    }
    let reduces = v.row_reduces();
    if reduces.is_empty() {
        return wide_pays(v, &reduces);
    }
    let uses = v.use_counts();
    s.len() >= 2
        && s[0] >= 2
        && reduces.iter().all(|(_, _, operand)| operand.shape() == s)
        && (reduces.iter().any(|(_, _, o)| shared_costly(o, &uses)) || wide_pays(v, &reduces))
}

/// True when the blocks of `v` call the 512-bit `exp`/`tanh` of `wide_math`: the CPU has
/// it, `v` has at least [`WIDE_MIN`] elements in rows of at most [`BLOCK_BYTES`], and `v` or
/// one of the row-reduce operands `reduces` evaluates such a function over its whole shape.
fn wide_pays(v: &Lazy, reduces: &[(usize, ReduceOp, Lazy)]) -> bool {
    let s = v.shape();
    let row_bytes = s[1..].iter().product::<usize>() * v.dtype().size().max(1);
    wide_math::available()
        && s.iter().product::<usize>() >= WIDE_MIN
        && row_bytes <= BLOCK_BYTES
        && (!v.wide_unaries().is_empty()
            || reduces.iter().any(|(_, _, o)| !o.wide_unaries().is_empty()))
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
        let wide = wide_pays(v, &v.row_reduces());
        let bb = std::env::var("NDX_RB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if wide { WIDE_BLOCK_BYTES } else { BLOCK_BYTES });
        let b = (bb / row_bytes.max(1)).clamp(1, s[0]);
        let (full, tail) = (s[0] / b, s[0] % b);
        let traced = self.trace.is_some();
        // Whole blocks in contiguous ranges, one per worker (each with its own scratch), for
        // arrays the JIT would split too.
        let size: usize = s.iter().product();
        let threads = if size >= self.jit()?.parallel_threshold() {
            self.threads.max(1).min(full.max(1))
        } else {
            1
        };
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
                };
                let steps = self.bind_rows(v, out, at, dest)?;
                parts.push((steps, count));
            }
        }
        if tail > 0 {
            let at = Block {
                r0: full * b,
                b: tail,
                traced: traced && full == 0,
                blocks: 1,
                wide,
            };
            let steps = self.bind_rows(v, out, at, dest)?;
            parts.push((steps, 1));
        }
        let codes: Vec<i32> = match (parts.len() > 1, self.row_pool()) {
            (true, Some(pool)) => pool.install(|| {
                use rayon::prelude::*;
                parts
                    .par_iter_mut()
                    .map(|(steps, count)| call_blocks(steps, *count))
                    .collect()
            }),
            _ => parts
                .iter_mut()
                .map(|(steps, count)| call_blocks(steps, *count))
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
    ) -> Result<Vec<Stage>, Diag> {
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
            subst: HashMap::new(),
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
        // `exp(...)` or `tanh(...)` itself into a contiguous destination: its operand goes
        // straight to the destination's block, which the 512-bit code then rewrites in place.
        let root_wide = at.wide
            && o.dtype() == DType::F32
            && o.is_c_contiguous()
            && v.wide_unaries()
                .last()
                .is_some_and(|(id, ..)| *id == v.id());
        if at.wide {
            let dest_block = root_wide.then(|| {
                let row = o.strides().first().copied().unwrap_or(0);
                (o.clone(), row * at.b as isize)
            });
            self.bind_wide(&mut cx, v, &mut p, &mut view, dest_block)?;
        }
        // The step that writes the destination.
        let mut writer = p.traces.len().saturating_sub(2);
        if !root_wide {
            let root = v.map_subst(&p.subst, &mut view, &bshape, &runtime_err)?;
            let (st, t) = self.bind(&mut cx, &[(&root, None)], &[o], &reduced, &p.scratch)?;
            p.push(st, t);
            writer = p.traces.len().saturating_sub(1);
        }
        let n = p.traces.len();
        for (i, step) in p.traces.into_iter().enumerate() {
            let info = RowInfo {
                step: i + 1,
                steps: n,
                block_rows: at.b,
                blocks: at.blocks,
                rows: s[0],
                writes_dest: i == writer,
            };
            match step {
                Step::Fused(mut step) => {
                    step.rows = Some(info);
                    if i == writer {
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
        Ok(p.steps)
    }

    /// Takes apart the `exp`/`tanh` nodes of `e` that `wide_math` computes
    /// ([`Lazy::wide_unaries`], innermost first): a kernel step writes the node's operand to
    /// a block scratch, the 512-bit function replaces it there by its value, and the node
    /// reads that scratch from then on. With `dest` (the destination's first block, and how
    /// many bytes a block moves it), the root node `e` is computed into it instead.
    fn bind_wide(
        &mut self,
        cx: &mut Bind,
        e: &Lazy,
        p: &mut Program,
        view: &mut dyn FnMut(&Array) -> Result<Array, Diag>,
        dest: Option<(Array, isize)>,
    ) -> Result<(), Diag> {
        let unreduced = vec![false; cx.shape.len()];
        let mut dest = dest;
        for (id, f, operand) in e.wide_unaries() {
            if p.subst.contains_key(&id) {
                continue;
            }
            let src = operand.map_subst(&p.subst, view, cx.shape, &runtime_err)?;
            let (a, shift) = match dest.take_if(|_| id == e.id()) {
                Some(d) => d,
                None => {
                    let a = Array::empty(DType::F32, cx.shape).map_err(runtime_err)?;
                    p.scratch.push(a.ptr().map_err(runtime_err)? as usize);
                    (a, 0)
                }
            };
            let (st, t) = self.bind(
                cx,
                &[(&src, None)],
                std::slice::from_ref(&a),
                &unreduced,
                &p.scratch,
            )?;
            p.push(st, t);
            if cx.traced {
                p.traces.push(Step::Native(NativeStep {
                    name: format!("{} (f32)", f.name()),
                    input: desc(&a),
                    how: format!(
                        "512-bit vectors (AVX-512), in place on the block {}, the same bits as \
                         the JIT's f32x4 code",
                        if shift == 0 {
                            "scratch"
                        } else {
                            "of the destination"
                        }
                    ),
                    calls: 1,
                }));
            }
            p.steps.push(Stage::wide(f, &a, shift)?);
            p.subst.insert(id, a);
        }
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
            words: launch.words(),
            shifts,
            _keep: keep,
        };
        Ok((bound, traced))
    }
}

/// Runs `blocks` blocks of rows through `steps`, block after block; the first non-zero
/// error code stops it.
fn call_blocks(steps: &mut [Stage], blocks: usize) -> i32 {
    let bases: Vec<Vec<i64>> = steps
        .iter()
        .map(|st| match st {
            Stage::Kernel(st) => st.shifts.iter().map(|(i, _)| st.words[*i]).collect(),
            Stage::Wide { .. } => Vec::new(),
        })
        .collect();
    for j in 0..blocks as i64 {
        for (st, base) in steps.iter_mut().zip(&bases) {
            let code = match st {
                Stage::Kernel(st) => {
                    for ((i, d), b0) in st.shifts.iter().zip(base) {
                        st.words[*i] = b0 + j * d;
                    }
                    // SAFETY: the words describe block `j` of arrays that cover every block of
                    // this range: the step was scheduled for its first block, and block `j`
                    // only moves the pointers of arrays that follow the rows by `j` blocks of
                    // rows, which stay inside them (`j` < the number of whole blocks of the
                    // range). Ranges of different workers write disjoint rows of the
                    // destination and their own scratch.
                    unsafe { st.compiled.call(&st.words) }
                }
                Stage::Wide {
                    f, ptr, len, shift, ..
                } => {
                    let p = (*ptr as isize + j as isize * *shift) as *mut f32;
                    // SAFETY: `p` is block `j`'s start in a C-contiguous, aligned f32 array
                    // of `len` elements per block ([`Stage::wide`]) that stays alive in the
                    // stage: a scratch (`shift` 0) of this worker only, or the destination's
                    // block `j` (whole blocks of this range, disjoint from other workers'),
                    // which no other reference touches while this step runs (the kernel
                    // steps run one after another on this thread).
                    let data = unsafe { std::slice::from_raw_parts_mut(p, *len) };
                    if wide_math::apply(*f, data) {
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

/// The code [`call_blocks`] answers when a 512-bit step cannot run (never, once
/// [`wide_pays`] said yes).
const WIDE_FAILED: i32 = -1000;

/// One step of a row program.
enum Stage {
    /// A fused kernel.
    Kernel(Bound),
    /// A 512-bit function of `wide_math`, in place on `len` elements from `ptr` (a block
    /// scratch, or the destination's first block), which move `shift` bytes a block.
    Wide {
        f: WideFn,
        ptr: usize,
        len: usize,
        shift: isize,
        /// The array `ptr` points into, kept alive.
        _keep: Array,
    },
}

impl Stage {
    /// `f` in place on the block `a`, a C-contiguous, aligned `f32` array.
    fn wide(f: WideFn, a: &Array, shift: isize) -> Result<Stage, Diag> {
        let ptr = a.ptr().map_err(runtime_err)?;
        if a.dtype() != DType::F32 || !a.is_c_contiguous() || !(ptr as *const f32).is_aligned() {
            return Err(Diagnostic::bug("a wide step's block is not contiguous f32"));
        }
        Ok(Stage::Wide {
            f,
            ptr: ptr as usize,
            len: a.size(),
            shift,
            _keep: a.clone(),
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
    /// Whether `exp`/`tanh` of `f32` go to the 512-bit code.
    wide: bool,
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
