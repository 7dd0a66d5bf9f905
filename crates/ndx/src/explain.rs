//! Explain plans: what a statement compiled and ran, as data and as stable text.
//!
//! While a session traces (see [`crate::Session::explain`] and [`crate::Session::inspect`]),
//! every fused kernel launch, `kernel` block call, einsum plan and precompiled routine is
//! recorded as a [`Step`].
//! The text forms here are what `:explain`, `:ir`, `:loops`, `:clif`, `:asm`, `ndx explain`
//! and `ndx emit` print, and what the golden tests in `tests/golden/` compare.
//!
//! ```
//! use ndx::{Session, Stage, TextOptions};
//! let mut s = Session::new();
//! let ex = s.explain("let x = arange(6, dtype=f32)\nlet y = x * 2.0 + 1.0").unwrap();
//! let plan = ex.text(TextOptions { timings: false });
//! assert!(plan.contains("writes: f32(6,) materialised, 24 bytes"));
//! let ir = ex.stage_text(Stage::Ir);
//! assert!(ir.contains("f32 Mul %0, %1"));
//! let loops = ex.stage_text(Stage::Loops);
//! assert!(loops.contains("for i0 in 0..6    strides: in0 4, out0 4"));
//! ```
//!
//! Stability: the text never contains addresses; compile times appear only when
//! [`TextOptions::timings`] is on (the golden tests turn them off), and everything else
//! depends only on the program, the shapes and dtypes, and the thread count.

use ndx_codegen::{LaunchReport, Listing};
use ndx_ir::kernel::{Kernel, Op};
use ndx_ir::loops::Inner;
use ndx_ir::shape::format_shape;
use ndx_runtime::DType;
use std::fmt::Write as _;
use std::time::Duration;

/// One array a fused kernel reads or writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayDesc {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
}

impl ArrayDesc {
    /// Bytes the elements take.
    pub fn bytes(&self) -> usize {
        self.shape
            .iter()
            .product::<usize>()
            .saturating_mul(self.dtype.size())
    }
}

/// Where a fused kernel's result goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A new array is materialised (allocated) for it.
    New,
    /// It is written into an existing array or view (`a[...] = ...`, `x += ...`).
    Existing,
    /// It was only compiled, not run (the final value of an inspected expression).
    NotRun,
    /// It is a contraction's epilogue: launched on each block of the GEMM's result right
    /// after the GEMM writes it, writing the final array block by block.
    Epilogue,
    /// It is a contraction's operand, written into a new buffer in the order the GEMM reads.
    Operand,
}

/// One fused kernel: a fusion group compiled into one loop nest.
#[derive(Clone, Debug)]
pub struct FusedStep {
    /// The fused graph.
    pub kernel: Kernel,
    /// The arrays it reads, in input order.
    pub inputs: Vec<ArrayDesc>,
    /// The arrays it writes.
    pub outputs: Vec<ArrayDesc>,
    /// Where the result goes.
    pub dest: Dest,
    /// How it was scheduled, compiled and run (its first launch in the statement).
    pub launch: LaunchReport,
    /// How many times the statement launched this same kernel.
    pub calls: usize,
    /// How many of the launches after the first found the code in the cache.
    pub later_hits: usize,
    /// When the kernel is a step of a row program (a keepdims reduction over the last axis
    /// fused with its consumers, block of rows by block of rows): where it stands in it.
    pub rows: Option<RowInfo>,
}

/// A step of a row program (see [`FusedStep::rows`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowInfo {
    /// 1-based position of the step.
    pub step: usize,
    /// Steps in the program.
    pub steps: usize,
    /// Rows (along axis 0) in a block.
    pub block_rows: usize,
    /// Whole blocks (a shorter last block may follow).
    pub blocks: usize,
    /// Rows in all.
    pub rows: usize,
    /// Whether this step writes the destination (the last step, or the one before a
    /// 512-bit function that finishes the destination in place); the others write block
    /// scratch.
    pub writes_dest: bool,
    /// Whether all steps run as one chain of 512-bit row code, row by row
    /// (`ndx_codegen::Chain`), rather than step by step over each block.
    pub chained: bool,
    /// Whether the chain runs software-pipelined: one loop does step `j` of row `t - j` for
    /// every step (`ndx_codegen::Chain::pipelined`).
    pub pipelined: bool,
    /// How long compiling the chain took (`None`: from the cache, or no chain).
    pub chain_time: Option<std::time::Duration>,
}

/// One call of a compiled `kernel` block.
#[derive(Clone, Debug)]
pub struct KernelStep {
    /// The kernel's name.
    pub name: String,
    /// Compile time, or `None` when it came from the session's cache.
    pub compile_time: Option<Duration>,
    /// Number of `prange` loops (each a separate function run on the worker threads).
    pub parallel_loops: usize,
    /// The JIT's thread count.
    pub threads: usize,
    /// Pieces the call was cut into, one per thread (1: one call on the calling thread).
    pub parts: usize,
    /// The loops compiled to vector code: the loop variable's local (`l3` in the IR) and the
    /// vector shape.
    pub vector_loops: Vec<(u32, ndx_codegen::VectorInfo)>,
    /// The kernel IR, as text.
    pub ir: String,
    /// The compiled functions (main, then one per `prange` loop), when listings were on.
    pub listings: Vec<Listing>,
    /// How many times the statement called it.
    pub calls: usize,
}

/// One einsum (or `@`, `dot`, `tensordot`, ...) contraction plan.
#[derive(Clone, Debug)]
pub struct EinsumStep {
    /// The spec with explicit output, such as `ij,jk->ik`.
    pub spec: String,
    /// The planner's report (as `einsum_path` prints it).
    pub report: String,
    /// How many times the statement used the plan.
    pub calls: usize,
}

/// A precompiled routine that ran instead of fused kernels, giving the bits they would, or
/// code of ndx's own outside the fused kernels' plan (the 512-bit row code of `max` along an
/// outer axis).
#[derive(Clone, Debug)]
pub struct NativeStep {
    /// What it computed, such as `sum`.
    pub name: String,
    /// True for a precompiled routine, false for code compiled for the statement.
    pub precompiled: bool,
    /// The array it read.
    pub input: ArrayDesc,
    /// How it runs and why its result is the kernels' (one line).
    pub how: String,
    /// How many times the statement ran it.
    pub calls: usize,
}

/// Something a statement compiled or ran.
#[derive(Clone, Debug)]
pub enum Step {
    /// A fused elementwise / broadcast / map-reduce kernel.
    Fused(Box<FusedStep>),
    /// A `kernel` block call.
    Kernel(KernelStep),
    /// A contraction plan.
    Einsum(EinsumStep),
    /// A precompiled routine (the wide-vector `sum` of a contiguous float array).
    Native(NativeStep),
}

impl Step {
    fn same(&self, other: &Step) -> bool {
        match (self, other) {
            (Step::Fused(a), Step::Fused(b)) => {
                a.kernel == b.kernel
                    && a.inputs == b.inputs
                    && a.outputs == b.outputs
                    && a.dest == b.dest
                    && a.launch.nest == b.launch.nest
                    && a.launch.shape == b.launch.shape
            }
            (Step::Kernel(a), Step::Kernel(b)) => a.name == b.name && a.ir == b.ir,
            (Step::Einsum(a), Step::Einsum(b)) => a.spec == b.spec && a.report == b.report,
            (Step::Native(a), Step::Native(b)) => a.name == b.name && a.input == b.input,
            _ => false,
        }
    }

    fn add_call(&mut self, cached: bool) {
        match self {
            Step::Fused(s) => {
                s.calls += 1;
                s.later_hits += usize::from(cached);
            }
            Step::Kernel(s) => s.calls += 1,
            Step::Einsum(s) => s.calls += 1,
            Step::Native(s) => s.calls += 1,
        }
    }
}

/// Appends `step` to `steps`, merging it into an identical earlier step (a loop that runs the
/// same kernel many times reports it once, with a call count).
pub(crate) fn record(steps: &mut Vec<Step>, step: Step) {
    if let Some(s) = steps.iter_mut().find(|s| s.same(&step)) {
        let cached = match &step {
            Step::Fused(f) => f.launch.cached(),
            _ => true,
        };
        s.add_call(cached);
        return;
    }
    steps.push(step);
}

/// What one statement compiled and ran.
#[derive(Clone, Debug)]
pub struct StatementPlan {
    /// 1-based line of the statement in its source.
    pub line: usize,
    /// How long the statement took (compiling included, tracing overhead too).
    pub time: Duration,
    /// The statement's source text (its first line, for multi-line statements).
    pub source: String,
    /// Its steps, in the order they first happened.
    pub steps: Vec<Step>,
}

/// The explain plan of a program: one entry per top-level statement.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    /// The statements, in source order.
    pub statements: Vec<StatementPlan>,
}

/// What an inspected expression would produce, and what evaluating it compiled.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The result's dtype, when it is an array or number.
    pub dtype: Option<DType>,
    /// The result's shape, when it is an array or number.
    pub shape: Option<Vec<usize>>,
    /// A description of a non-array result (`string`, `tuple`, ...).
    pub kind: String,
    /// True when the expression's own fused work was compiled but not run (nested
    /// reductions, contractions and kernel calls it needs still ran).
    pub deferred: bool,
    /// The steps, the final (not run) fused kernel last.
    pub steps: Vec<Step>,
}

/// Options of the text forms.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// Show compile times (off for golden tests: times vary run to run).
    pub timings: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { timings: true }
    }
}

/// Which stage `ndx emit` and the REPL's inspection commands print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The fused graph (`ndx_ir::kernel::Kernel`'s text form; kernel IR for `kernel` blocks).
    Ir,
    /// The scheduled loop nest.
    Loops,
    /// Cranelift IR.
    Clif,
    /// Cranelift's machine-code listing.
    Asm,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn bytes_text(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{n} bytes ({:.1} MiB)", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{n} bytes ({:.1} KiB)", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

fn points_text(n: usize) -> String {
    if n == 1 {
        "1 point".to_string()
    } else {
        format!("{n} points")
    }
}

fn desc_text(a: &ArrayDesc) -> String {
    format!("{}{}", a.dtype, format_shape(&a.shape))
}

fn calls_text(n: usize) -> String {
    if n > 1 {
        format!(" (x{n} calls)")
    } else {
        String::new()
    }
}

fn op_names(k: &Kernel) -> String {
    let mut names: Vec<String> = Vec::new();
    for n in &k.nodes {
        let name = match &n.op {
            Op::Input(_) | Op::Const(_) => continue,
            Op::Unary(op, _) => format!("{op:?}").to_lowercase(),
            Op::Binary(op, _, _) => format!("{op:?}").to_lowercase(),
            Op::Select(..) => "select".to_string(),
            Op::Cast(_) => format!("cast to {}", n.dtype),
        };
        names.push(name);
    }
    for o in &k.outputs {
        if let Some(r) = o.reduce {
            names.push(format!("{r:?}").to_lowercase());
        }
    }
    if names.is_empty() {
        "copy".to_string()
    } else {
        names.join(", ")
    }
}

fn inner_name(i: Inner) -> &'static str {
    match i {
        Inner::Contiguous => "contiguous",
        Inner::Broadcast => "broadcast",
        Inner::Strided => "strided",
    }
}

/// The loop nest of a launch as text: one line per loop with its extent and the byte stride
/// of every array along it, then the inner-loop code shape and the thread split.
pub fn loops_text(f: &FusedStep) -> String {
    let l = &f.launch;
    let nest = &l.nest;
    let ni = nest.kernel.inputs.len();
    let name = |a: usize| {
        if a < ni {
            format!("in{a}")
        } else {
            format!("out{}", a - ni)
        }
    };
    let mut s = String::new();
    if nest.rank == 0 {
        let _ = writeln!(s, "scalar (no loops)");
    }
    for d in 0..nest.rank {
        let reduced = if d >= nest.reduce_from { " reduce" } else { "" };
        let strides: Vec<String> = l
            .strides
            .iter()
            .enumerate()
            .map(|(a, st)| format!("{} {}", name(a), st.get(d).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(
            s,
            "{}for i{d} in 0..{}{reduced}    strides: {}",
            "  ".repeat(d),
            l.shape.get(d).copied().unwrap_or(0),
            strides.join(", ")
        );
    }
    let body = "  ".repeat(nest.rank);
    let _ = writeln!(s, "{body}{}", op_names(&nest.kernel));
    if nest.rank > 0 {
        let classes: Vec<String> = nest
            .inner
            .iter()
            .enumerate()
            .map(|(a, c)| format!("{} {}", name(a), inner_name(*c)))
            .collect();
        let _ = writeln!(s, "inner loop: {}", classes.join(", "));
    }
    match (&l.vector, l.row_lanes) {
        (_, Some(lanes)) if l.rows_512() => {
            let bits = 512 / u32::from(lanes.max(1));
            let stores = if l.streams { ", streaming stores" } else { "" };
            let _ = writeln!(
                s,
                "vector: {lanes} x {bits}-bit lanes (AVX-512), the row code walking the rows, masked tail{stores}"
            );
        }
        (Some(v), _) => {
            let _ = writeln!(s, "vector: {v}");
        }
        (None, _) => {
            let _ = writeln!(s, "vector: none (scalar code)");
        }
    }
    if let Some((edge, n)) = l.tiles {
        let _ = writeln!(s, "tiles: {edge}x{edge}, {n} tiles");
    }
    let threads = if l.parts > 1 {
        format!("split into {} parts over {} threads", l.parts, l.threads)
    } else if l.threads > 1 && l.points() < ndx_codegen::MIN_PARALLEL {
        format!(
            "calling thread ({}, below the {}-point threshold)",
            points_text(l.points()),
            ndx_codegen::MIN_PARALLEL
        )
    } else {
        "calling thread".to_string()
    };
    let _ = write!(s, "threads: {threads}");
    s
}

fn indent(text: &str, by: &str) -> String {
    let mut s = String::new();
    for line in text.lines() {
        s.push_str(by);
        s.push_str(line);
        s.push('\n');
    }
    s
}

impl Step {
    /// This step for `:explain`: what was fused, what was materialised, how it was
    /// scheduled and compiled.
    pub fn explain_text(&self, index: usize, o: TextOptions) -> String {
        let mut s = String::new();
        match self {
            Step::Fused(f) => {
                let nodes = f
                    .kernel
                    .nodes
                    .iter()
                    .filter(|n| !matches!(n.op, Op::Input(_) | Op::Const(_)))
                    .count();
                let ins: Vec<String> = f.inputs.iter().map(desc_text).collect();
                let _ = writeln!(
                    s,
                    "kernel {index}: fused {nodes} op(s): {}{}",
                    op_names(&f.kernel),
                    calls_text(f.calls)
                );
                let _ = writeln!(
                    s,
                    "  reads: {}",
                    if ins.is_empty() {
                        "nothing".to_string()
                    } else {
                        ins.join(", ")
                    }
                );
                match &f.rows {
                    Some(r) if r.chained => {
                        let how = if r.pipelined {
                            "software-pipelined over the rows (step j on row t - j, all in one loop)"
                        } else {
                            "row by row"
                        };
                        let _ = writeln!(
                            s,
                            "  row-fused: step {} of {}, all steps chained in one 512-bit function {how} ({} rows, {} block(s) of {} row(s)); each row stays in the L1 cache between steps",
                            r.step, r.steps, r.rows, r.blocks, r.block_rows
                        );
                    }
                    Some(r) => {
                        let _ = writeln!(
                            s,
                            "  row-fused: step {} of {} over blocks of {} row(s) ({} rows, {} whole block(s)); blocks stay in cache between steps",
                            r.step, r.steps, r.block_rows, r.rows, r.blocks
                        );
                    }
                    None => {}
                }
                for out in &f.outputs {
                    let what = match f.dest {
                        _ if f.rows.is_some_and(|r| r.step < r.steps && !r.writes_dest) => {
                            format!("block scratch, {}", bytes_text(out.bytes()))
                        }
                        Dest::New => format!("materialised, {}", bytes_text(out.bytes())),
                        Dest::Existing => "written in place (no new memory)".to_string(),
                        Dest::Operand => format!(
                            "GEMM operand buffer, {} (read by the GEMM without another copy)",
                            bytes_text(out.bytes())
                        ),
                        Dest::Epilogue => {
                            "block of the final array, written as the GEMM's epilogue".to_string()
                        }
                        Dest::NotRun => {
                            format!("not run; would materialise {}", bytes_text(out.bytes()))
                        }
                    };
                    let _ = writeln!(s, "  writes: {} {what}", desc_text(out));
                }
                if f.rows.is_none() {
                    let _ = writeln!(
                        s,
                        "  intermediates: none materialised (one pass over {})",
                        points_text(f.launch.points())
                    );
                }
                s.push_str(&indent(&loops_text(f), "  "));
                let mut code = match (f.launch.compile_time, o.timings) {
                    (None, _) => "from the cache".to_string(),
                    (Some(t), true) => format!("compiled in {}", ms(t)),
                    (Some(_), false) => "compiled".to_string(),
                };
                if f.calls > 1 {
                    let _ = write!(
                        code,
                        "; {} of {} later launches from the cache",
                        f.later_hits,
                        f.calls - 1
                    );
                }
                if let Some(r) = f.rows.filter(|r| r.chained && r.step == r.steps) {
                    let _ = match (r.chain_time, o.timings) {
                        (None, _) => write!(code, "; the chain of the steps from the cache"),
                        (Some(t), true) => {
                            write!(code, "; the chain of the steps compiled in {}", ms(t))
                        }
                        (Some(_), false) => write!(code, "; the chain of the steps compiled"),
                    };
                }
                let _ = writeln!(s, "  code: {code}");
            }
            Step::Kernel(k) => {
                let _ = writeln!(
                    s,
                    "kernel {index}: `{}` block{}",
                    k.name,
                    calls_text(k.calls)
                );
                let code = match (k.compile_time, o.timings) {
                    (None, _) => "from the cache".to_string(),
                    (Some(t), true) => format!("compiled in {}", ms(t)),
                    (Some(_), false) => "compiled".to_string(),
                };
                let _ = writeln!(s, "  code: {code}");
                // Loops over the same variable with the same vector shape (the passes of an
                // outer-axis reduction) are one line with a count.
                for run in k.vector_loops.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
                    let (var, v) = &run[0];
                    let times = match run.len() {
                        1 => String::new(),
                        n => format!(" ({n} loops)"),
                    };
                    let _ = writeln!(
                        s,
                        "  vector loop over l{var}{times}: {v} (when its rows are contiguous at run time)"
                    );
                }
                if k.vector_loops.is_empty() {
                    let _ = writeln!(s, "  vector loops: none (scalar code)");
                }
                if k.parallel_loops > 0 {
                    let _ = writeln!(
                        s,
                        "  prange loops: {}, run on {} thread(s)",
                        k.parallel_loops, k.threads
                    );
                }
                if k.parts > 1 {
                    let _ = writeln!(
                        s,
                        "  threads: split into {} parts over {} threads",
                        k.parts, k.threads
                    );
                }
            }
            Step::Einsum(e) => {
                let _ = writeln!(s, "contraction {index}: {}{}", e.spec, calls_text(e.calls));
                s.push_str(&indent(&e.report, "  "));
            }
            Step::Native(n) => {
                let _ = writeln!(s, "{}{}", self.title(index), calls_text(n.calls));
                let _ = writeln!(s, "  reads: {}", desc_text(&n.input));
                let _ = writeln!(s, "  code: {}", n.how);
            }
        }
        s
    }

    /// This step's text at one stage; `None` when the stage does not apply (a contraction
    /// plan has no loop nest of its own, for instance).
    pub fn stage_text(&self, stage: Stage) -> Option<String> {
        match (self, stage) {
            (Step::Fused(f), Stage::Ir) => Some(f.kernel.to_string()),
            (Step::Fused(f), Stage::Loops) => Some(loops_text(f)),
            (Step::Fused(f), Stage::Clif) => f.launch.listing.as_ref().map(|l| l.clif.clone()),
            (Step::Fused(f), Stage::Asm) => f.launch.listing.as_ref().map(|l| l.asm.clone()),
            // A kernel block's loops are the ones it wrote: its IR shows them.
            (Step::Kernel(k), Stage::Ir | Stage::Loops) => Some(k.ir.clone()),
            (Step::Kernel(k), Stage::Clif) if !k.listings.is_empty() => Some(
                k.listings
                    .iter()
                    .map(|l| l.clif.trim_end().to_string())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
            (Step::Kernel(k), Stage::Asm) if !k.listings.is_empty() => Some(
                k.listings
                    .iter()
                    .map(|l| l.asm.trim_end().to_string())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            ),
            (Step::Einsum(e), Stage::Ir | Stage::Loops) => Some(e.report.clone()),
            (Step::Native(n), Stage::Loops) => Some(n.how.clone()),
            _ => None,
        }
    }

    fn title(&self, index: usize) -> String {
        match self {
            Step::Fused(f) => format!("kernel {index}: {}", op_names(&f.kernel)),
            Step::Kernel(k) => format!("kernel {index}: `{}` block", k.name),
            Step::Einsum(e) => format!("contraction {index}: {}", e.spec),
            Step::Native(n) if n.precompiled => format!("kernel {index}: precompiled {}", n.name),
            Step::Native(n) => format!("kernel {index}: {}", n.name),
        }
    }
}

/// The steps of one statement at one stage, each under a `; kernel N: ...` heading.
pub fn steps_stage_text(steps: &[Step], stage: Stage) -> String {
    let mut s = String::new();
    for (i, step) in steps.iter().enumerate() {
        let Some(text) = step.stage_text(stage) else {
            continue;
        };
        let _ = writeln!(s, "; {}", step.title(i + 1));
        s.push_str(text.trim_end());
        s.push('\n');
    }
    if s.is_empty() {
        s.push_str("; nothing compiled\n");
    }
    s
}

impl Explanation {
    /// The plan as text: each statement with its line, then its steps.
    pub fn text(&self, o: TextOptions) -> String {
        let mut s = String::new();
        for st in &self.statements {
            if o.timings {
                let _ = writeln!(s, "line {}: {}    [{}]", st.line, st.source, ms(st.time));
            } else {
                let _ = writeln!(s, "line {}: {}", st.line, st.source);
            }
            if st.steps.is_empty() {
                let _ = writeln!(s, "  (no kernels)");
            }
            for (i, step) in st.steps.iter().enumerate() {
                s.push_str(&indent(&step.explain_text(i + 1, o), "  "));
            }
        }
        s
    }

    /// One stage of every statement that compiled something (`ndx emit`).
    pub fn stage_text(&self, stage: Stage) -> String {
        let mut s = String::new();
        for st in &self.statements {
            if st.steps.iter().all(|x| x.stage_text(stage).is_none()) {
                continue;
            }
            let _ = writeln!(s, ";; line {}: {}", st.line, st.source);
            s.push_str(&steps_stage_text(&st.steps, stage));
            s.push('\n');
        }
        s
    }
}

impl Inspection {
    /// `f32 (3, 4)`, plus a note when the value was not computed.
    pub fn type_text(&self) -> String {
        match (&self.dtype, &self.shape) {
            (Some(d), Some(sh)) => {
                let mut s = format!("{d} {}", format_shape(sh));
                if self.deferred {
                    s.push_str("  (not computed)");
                }
                s
            }
            _ => self.kind.clone(),
        }
    }
}
