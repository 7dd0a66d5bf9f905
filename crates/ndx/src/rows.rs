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
use crate::explain::{ArrayDesc, Dest, FusedStep, RowInfo, Step};
use crate::lazy::{self, Lazy};
use ndx_codegen::Compiled;
use ndx_ir::kernel::ReduceOp;
use ndx_ir::loops::{schedule, ArrayLayout};
use ndx_runtime::{Array, IndexSpec};
use ndx_syntax::Diagnostic;
use std::collections::HashMap;

/// Bytes of one array's rows in a block: the block's rows of every array a step touches stay
/// in the 32 KiB L1 (and well inside L2) of the machines measured. Softmax on (4096, 1024)
/// f32 measured the same from 8 KiB to 256 KiB (BENCHMARKS.md, issue 3).
pub(crate) const BLOCK_BYTES: usize = 16 * 1024;

/// One step of a row program, bound to the first block of its range.
struct Bound {
    compiled: Compiled,
    words: Vec<i64>,
    /// Per array: the index of its pointer in `words`, and how far it moves per block.
    shifts: Vec<(usize, i64)>,
    /// The arrays the words point into (block views and scratch), kept alive.
    _keep: Vec<Array>,
}

/// True when `v` runs as a row program writing an array of its shape: it has row-reduce
/// nodes over operands of its own shape, and one of them computes a transcendental that the
/// rest of `v` uses too (softmax's `e`), which the row program computes once instead of twice.
/// Without such an operand the unfused passes measured faster (layernorm, (4096, 768) f32:
/// 1.3 ms unfused against 1.4-1.7 ms in blocks of 5 to 325 rows; BENCHMARKS.md, issue 3):
/// they stream from the cache as fast, without the block launches.
pub(crate) fn applies(v: &Lazy) -> bool {
    let s = v.shape();
    if s.len() < 2 || s[0] < 2 || s.contains(&0) {
        return false;
    }
    let reduces = v.row_reduces();
    let uses = v.use_counts();
    !reduces.is_empty()
        && reduces.iter().all(|(_, _, operand)| operand.shape() == s)
        && reduces.iter().any(|(_, _, o)| shared_costly(o, &uses))
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
        let bb = std::env::var("NDX_RB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(BLOCK_BYTES);
        let b = (bb / row_bytes.max(1)).clamp(1, s[0]);
        let (full, tail) = (s[0] / b, s[0] % b);
        let traced = self.trace.is_some();
        // Whole blocks in contiguous ranges, one per worker (each with its own scratch).
        let threads = self.threads.max(1).min(full.max(1));
        let per = full.div_ceil(threads);
        let mut parts = Vec::new();
        for t in 0..threads {
            let (start, count) = (t * per, per.min(full.saturating_sub(t * per)));
            if count > 0 {
                let steps = self.bind_rows(v, out, start * b, b, traced && t == 0, full, dest)?;
                parts.push((steps, count));
            }
        }
        if tail > 0 {
            let steps = self.bind_rows(v, out, full * b, tail, traced && full == 0, 1, dest)?;
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

    /// Builds and compiles the steps of `v` for the `b` rows from `r0` (the first of
    /// `blocks` blocks); records them for `explain` when `traced`.
    #[allow(clippy::too_many_arguments)]
    fn bind_rows(
        &mut self,
        v: &Lazy,
        out: &Array,
        r0: usize,
        b: usize,
        traced: bool,
        blocks: usize,
        dest: Dest,
    ) -> Result<Vec<Bound>, Diag> {
        let s = v.shape().to_vec();
        let mut bshape = s.clone();
        bshape[0] = b;
        let mut items = vec![
            IndexSpec::Slice {
                start: None,
                stop: None,
                step: None
            };
            s.len()
        ];
        items[0] = IndexSpec::Slice {
            start: Some(r0 as i64),
            stop: Some((r0 + b) as i64),
            step: None,
        };
        let mut view = |a: &Array| a.index(&items).map_err(runtime_err);
        let mut reduced = vec![false; s.len()];
        let uses = v.use_counts();
        let mut subst: HashMap<usize, Array> = HashMap::new();
        let mut scratch: Vec<usize> = Vec::new();
        let mut steps = Vec::new();
        let mut traces = Vec::new();
        let mut cx = Bind {
            shape: &bshape,
            b,
            traced,
        };
        for (id, op, operand) in v.row_reduces() {
            let mut src = operand.map_subst(&subst, &mut view, &bshape, &runtime_err)?;
            if shared_costly(&operand, &uses) {
                let e = Array::empty(operand.dtype(), &bshape).map_err(runtime_err)?;
                scratch.push(e.ptr().map_err(runtime_err)? as usize);
                let (st, t) = self.bind(
                    &mut cx,
                    &[(&src, None)],
                    std::slice::from_ref(&e),
                    &reduced,
                    &scratch,
                )?;
                steps.push(st);
                traces.extend(t);
                subst.insert(operand.id(), e.clone());
                src = Lazy::leaf(e);
            }
            let r = Array::empty(operand.dtype(), &bshape[..s.len() - 1]).map_err(runtime_err)?;
            scratch.push(r.ptr().map_err(runtime_err)? as usize);
            reduced[s.len() - 1] = true;
            let (st, t) = self.bind(
                &mut cx,
                &[(&src, Some(op))],
                std::slice::from_ref(&r),
                &reduced,
                &scratch,
            )?;
            reduced[s.len() - 1] = false;
            steps.push(st);
            traces.extend(t);
            let mut keep: Vec<i64> = bshape.iter().map(|&d| d as i64).collect();
            if let Some(last) = keep.last_mut() {
                *last = 1;
            }
            subst.insert(id, r.reshape(&keep).map_err(runtime_err)?);
        }
        let root = v.map_subst(&subst, &mut view, &bshape, &runtime_err)?;
        let o = out.index(&items).map_err(runtime_err)?;
        let (st, t) = self.bind(&mut cx, &[(&root, None)], &[o], &reduced, &scratch)?;
        steps.push(st);
        traces.extend(t);
        let n = traces.len();
        for (i, mut step) in traces.into_iter().enumerate() {
            step.rows = Some(RowInfo {
                step: i + 1,
                steps: n,
                block_rows: b,
                blocks,
                rows: s[0],
            });
            if i + 1 == n {
                // The last step writes the whole destination, block by block.
                step.dest = dest;
                step.outputs = vec![desc(out)];
            }
            self.record(Step::Fused(Box::new(step)));
        }
        Ok(steps)
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
fn call_blocks(steps: &mut [Bound], blocks: usize) -> i32 {
    let bases: Vec<Vec<i64>> = steps
        .iter()
        .map(|st| st.shifts.iter().map(|(i, _)| st.words[*i]).collect())
        .collect();
    for j in 0..blocks as i64 {
        for (st, base) in steps.iter_mut().zip(&bases) {
            for ((i, d), b0) in st.shifts.iter().zip(base) {
                st.words[*i] = b0 + j * d;
            }
            // SAFETY: the words describe block `j` of arrays that cover every block of this
            // range: the step was scheduled for its first block, and block `j` only moves the
            // pointers of arrays that follow the rows by `j` blocks of rows, which stay inside
            // them (`j` < the number of whole blocks of the range). Ranges of different workers
            // write disjoint rows of the destination and their own scratch.
            let code = unsafe { st.compiled.call(&st.words) };
            if code != 0 {
                return code;
            }
        }
    }
    0
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
