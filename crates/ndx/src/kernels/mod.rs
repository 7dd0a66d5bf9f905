//! `kernel` blocks: lowering the AST of a kernel to kernel IR ([`ndx_ir::kir`]), and calling
//! compiled kernels from scripts.
//!
//! Lowering resolves names, types every expression (NEP 50 promotion with weak literals, as
//! elsewhere), inlines calls of `fn`s and other kernels, checks `prange` loops for races, and
//! proves which element accesses need no bounds check: an index `i + c` (or `i - c`) where `i`
//! is the variable of `for i in range(lo, d + k)` with constant `lo >= 0` and a positive
//! constant step, `d` a dimension of the same size class as the indexed axis (the same
//! annotation name, or the same array's axis), and `lo + c >= 0`, `k + c <= 0`. The loop
//! variable must not be assigned in the body for the proof to hold.
//!
//! Compiled kernels are cached per kernel name and invalidated whenever any `fn` or kernel is
//! (re)defined, because inlining copies their bodies.
//!
//! This module holds the lowering state and its entry points; `stmt.rs` lowers statements
//! (assignments, loops and their bounds facts, `prange` checks), `expr.rs` expressions and
//! inlined calls, and `call.rs` caches compiled kernels and calls them.

mod call;
mod expr;
mod stmt;

pub(crate) use call::{fault_diag, KernelCache};

use crate::args::Args;
use crate::check::ann_dtype;
use crate::error::{check_arity, err_at, Diag};
use crate::interp::Interp;
use crate::value::Val;
use ndx_codegen::{CompiledKernel, KernelOptions};
use ndx_ir::kernel::{BinaryOp, ReduceOp, UnaryOp};
use ndx_ir::kir::{
    Access, FaultKind, KArray, KExpr, KExprKind, KFor, KFunc, KParam, KStmt, Local, Reduction,
};
use ndx_ir::promote::{promote, true_divide_type, Ty};
use ndx_runtime::{Array, DType, Scalar};
use ndx_syntax::ast::{
    BinOp, Block, Dim, Expr, ExprKind, FnBody, FnDef, IndexItem, KernelDef, Stmt, StmtKind, UnOp,
};
use ndx_syntax::Span;
use std::collections::HashMap;
use std::sync::Arc;

/// Inlining deeper than this is reported as runaway recursion.
const MAX_INLINE_DEPTH: usize = 64;

/// What a failure site was.
#[derive(Clone, Debug)]
enum SiteKind {
    /// An element access of array number `k`.
    Access(u32),
    Div,
    Step,
}

#[derive(Clone, Debug)]
struct Site {
    span: Span,
    kind: SiteKind,
}

/// A size annotation of an array parameter.
#[derive(Clone, Debug)]
pub(crate) enum DimAnn {
    Name(String),
    Any,
    Fixed(i64),
}

impl DimAnn {
    /// The length this annotation requires of an axis of length `size`, when that is not
    /// `size`; a name seen for the first time binds `size` in `sizes`.
    pub(crate) fn mismatch<'a>(
        &'a self,
        size: usize,
        sizes: &mut HashMap<&'a str, usize>,
    ) -> Option<String> {
        match self {
            DimAnn::Any => None,
            DimAnn::Fixed(n) => (*n != size as i64).then(|| format!("{n}")),
            DimAnn::Name(s) => match sizes.get(s.as_str()) {
                Some(&prev) if prev != size => Some(format!("`{s}` = {prev}")),
                Some(_) => None,
                None => {
                    sizes.insert(s.as_str(), size);
                    None
                }
            },
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum ParamInfo {
    Array {
        dtype: DType,
        dims: Vec<DimAnn>,
        written: bool,
        array: u32,
    },
    Scalar(DType),
}

/// A kernel lowered and compiled, with what calling it needs.
pub(crate) struct CompiledEntry {
    def: Arc<KernelDef>,
    generation: u64,
    checks: bool,
    pub(crate) code: CompiledKernel,
    sites: Vec<Site>,
    pub(crate) params: Vec<ParamInfo>,
    array_names: Vec<String>,
    /// The lowered IR (for `:ir`-style inspection and tests).
    pub func: KFunc,
}

/// A typed expression and whether it is weak (NEP 50).
#[derive(Clone, Debug)]
struct T {
    e: KExpr,
    weak: bool,
}

impl T {
    fn ty(&self) -> Ty {
        Ty {
            dtype: self.e.dtype,
            weak: self.weak,
        }
    }
    fn strong(e: KExpr) -> T {
        T { e, weak: false }
    }
}

#[derive(Clone, Debug)]
enum Bind {
    Local(Local),
    Array(u32),
    Dim(u32, u32),
    Const(Scalar, bool),
}

struct Frame {
    name: String,
    ret: Option<(DType, Span)>,
    ret_void: Option<Span>,
    result: Option<Local>,
    scope_base: usize,
    loop_base: usize,
}

/// A proven range of a loop variable: `lo <= var < dim(class) + hi_off`.
#[derive(Clone, Copy, Debug)]
struct Fact {
    var: Local,
    lo: i64,
    class: usize,
    hi_off: i64,
}

struct PrangeCtx {
    scope_depth: usize,
    frame_depth: usize,
    loop_depth: usize,
    span: Span,
    reductions: Vec<Reduction>,
    updates: HashMap<Local, usize>,
}

struct Lower<'a> {
    fns: &'a HashMap<String, Arc<FnDef>>,
    kernels: &'a HashMap<String, Arc<KernelDef>>,
    locals: Vec<DType>,
    arrays: Vec<KArray>,
    array_names: Vec<String>,
    written: Vec<bool>,
    classes: Vec<Vec<usize>>,
    next_class: usize,
    sites: Vec<Site>,
    scopes: Vec<HashMap<String, Bind>>,
    frames: Vec<Frame>,
    loops: Vec<Option<Fact>>,
    prange: Option<PrangeCtx>,
    stack: Vec<String>,
    /// Set when lowering stopped at a call of a function that is not defined (yet).
    unknown_callee: bool,
}

fn weak(e: KExpr) -> T {
    T { e, weak: true }
}

fn konst(s: Scalar, weak: bool) -> T {
    T {
        e: KExpr::constant(s),
        weak,
    }
}

fn kind_rank(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::I32 | DType::I64 => 1,
        DType::F32 | DType::F64 => 2,
    }
}

/// A lowered kernel: its IR, failure sites, parameter descriptions and array names.
type Lowered = (KFunc, Vec<Site>, Vec<ParamInfo>, Vec<String>);

/// Lowers kernel `def` against the currently defined functions and kernels.
fn lower_kernel(
    def: &KernelDef,
    fns: &HashMap<String, Arc<FnDef>>,
    kernels: &HashMap<String, Arc<KernelDef>>,
) -> Result<Lowered, Diag> {
    lower_noting(def, fns, kernels).0
}

/// The check of a kernel when it is defined: it is lowered against the `fn`s and kernels
/// defined so far, and itself. A call of a function not defined yet is left for the first
/// call (or `ndx check`'s whole-program pass) to judge; every other error is reported now.
pub(crate) fn check_definition(
    def: &KernelDef,
    fns: &HashMap<String, Arc<FnDef>>,
    kernels: &HashMap<String, Arc<KernelDef>>,
) -> Result<(), Diag> {
    let mut with_self = kernels.clone();
    with_self.insert(def.name.name.clone(), Arc::new(def.clone()));
    match lower_noting(def, fns, &with_self) {
        (Ok(_), _) | (Err(_), true) => Ok(()),
        (Err(d), false) => Err(d),
    }
}

/// [`lower_kernel`], and whether it stopped at a call of an unknown function.
fn lower_noting(
    def: &KernelDef,
    fns: &HashMap<String, Arc<FnDef>>,
    kernels: &HashMap<String, Arc<KernelDef>>,
) -> (Result<Lowered, Diag>, bool) {
    let mut l = Lower {
        fns,
        kernels,
        locals: Vec::new(),
        arrays: Vec::new(),
        array_names: Vec::new(),
        written: Vec::new(),
        classes: Vec::new(),
        next_class: 0,
        sites: Vec::new(),
        scopes: vec![HashMap::new()],
        frames: Vec::new(),
        loops: Vec::new(),
        prange: None,
        stack: vec![def.name.name.clone()],
        unknown_callee: false,
    };
    let r = lower_body(&mut l, def);
    (r, l.unknown_callee)
}

fn lower_body(l: &mut Lower, def: &KernelDef) -> Result<Lowered, Diag> {
    let mut params = Vec::new();
    let mut kparams = Vec::new();
    let mut named: HashMap<String, usize> = HashMap::new();
    for p in &def.params {
        let Some(ann) = &p.ann else {
            return Err(err_at(
                "E0810",
                p.name.span,
                format!("kernel parameter `{}` needs a type annotation", p.name.name),
            )
            .with_note("write e.g. `x: f64` or `a: f32[n, m]`"));
        };
        let d = ann_dtype(ann)?;
        match &ann.shape {
            Some(dims) => {
                let k = l.arrays.len() as u32;
                l.arrays.push(KArray {
                    dtype: d,
                    rank: dims.len(),
                });
                l.array_names.push(p.name.name.clone());
                l.written.push(false);
                let mut cls = Vec::new();
                let mut anns = Vec::new();
                for (axis, dim) in dims.iter().enumerate() {
                    match dim {
                        Dim::Name(id) => {
                            let c = *named.entry(id.name.clone()).or_insert_with(|| {
                                l.next_class += 1;
                                l.next_class - 1
                            });
                            cls.push(c);
                            l.scopes[0]
                                .entry(id.name.clone())
                                .or_insert(Bind::Dim(k, axis as u32));
                            anns.push(DimAnn::Name(id.name.clone()));
                        }
                        Dim::Any(_) => {
                            cls.push(l.next_class);
                            l.next_class += 1;
                            anns.push(DimAnn::Any);
                        }
                        Dim::Fixed(n, _) => {
                            cls.push(l.next_class);
                            l.next_class += 1;
                            anns.push(DimAnn::Fixed(*n));
                        }
                    }
                }
                l.classes.push(cls);
                l.scopes[0].insert(p.name.name.clone(), Bind::Array(k));
                kparams.push(KParam::Array(k));
                params.push(ParamInfo::Array {
                    dtype: d,
                    dims: anns,
                    written: false,
                    array: k,
                });
            }
            None => {
                let local = l.new_local(d);
                l.scopes[0].insert(p.name.name.clone(), Bind::Local(local));
                kparams.push(KParam::Scalar(local));
                params.push(ParamInfo::Scalar(d));
            }
        }
    }
    let ret = match &def.ret {
        Some(r) => Some((ann_dtype(r)?, r.span)),
        None => None,
    };
    l.frames.push(Frame {
        name: def.name.name.clone(),
        ret,
        ret_void: None,
        result: None,
        scope_base: 0,
        loop_base: 0,
    });
    let mut body = Vec::new();
    l.block(&def.body, &mut body)?;
    let ret = l.frames.pop().and_then(|f| f.ret).map(|r| r.0);
    for p in &mut params {
        if let ParamInfo::Array { array, written, .. } = p {
            *written = l.written.get(*array as usize).copied().unwrap_or(true);
        }
    }
    let func = KFunc {
        name: def.name.name.clone(),
        params: kparams,
        arrays: std::mem::take(&mut l.arrays),
        locals: std::mem::take(&mut l.locals),
        ret,
        body,
    };
    let sites = std::mem::take(&mut l.sites);
    Ok((func, sites, params, std::mem::take(&mut l.array_names)))
}

/// Whether a value may be stored in a local (or returned as a result) of dtype `to`: the same
/// dtype, or a weak value of a kind that fits (an int literal in a float local, say).
fn assignable(to: DType, v: &T) -> bool {
    if v.e.dtype == to {
        return true;
    }
    v.weak && kind_rank(v.e.dtype) <= kind_rank(to)
}

/// `op` of `x`, computed now when `x` is a constant and `op` is exact in `ndx_ir::eval` (the
/// math library's functions are not folded: `eval` computes them with the platform's libm,
/// which is not the compiled code's algorithm, and `tanh(sin(-1))` in a kernel then differed
/// by an ULP from the same expression on arrays).
fn fold_unary(op: UnaryOp, dtype: DType, x: KExpr) -> KExpr {
    if let (KExprKind::Const(s), None) = (&x.kind, op.wide()) {
        let r = ndx_ir::eval::unary(op, *s);
        if r.dtype() == dtype {
            return KExpr::constant(r);
        }
    }
    KExpr {
        kind: KExprKind::Unary(op, Box::new(x)),
        dtype,
    }
}

/// `x op y`, computed now when both are constants and `op` is exact in `ndx_ir::eval` (not
/// `**` or `arctan2`, for the reason of [`fold_unary`]).
fn fold_binary(op: BinaryOp, dtype: DType, x: KExpr, y: KExpr) -> KExpr {
    if let (KExprKind::Const(a), KExprKind::Const(b), None) = (&x.kind, &y.kind, op.wide()) {
        let r = ndx_ir::eval::binary(op, *a, *b);
        if r.dtype() == dtype {
            return KExpr::constant(r);
        }
    }
    // `2.0 * v` is `v + v` exactly (signed zeros, infinities and NaN included), and saves
    // materialising the constant in a loop.
    let two = |e: &KExpr| matches!(e.kind, KExprKind::Const(s) if s.dtype().is_float() && s.to_f64() == 2.0);
    if op == BinaryOp::Mul && dtype.is_float() {
        let v = if two(&x) && matches!(y.kind, KExprKind::Local(_)) {
            Some(y.clone())
        } else if two(&y) && matches!(x.kind, KExprKind::Local(_)) {
            Some(x.clone())
        } else {
            None
        };
        if let Some(v) = v {
            return KExpr {
                kind: KExprKind::Binary(BinaryOp::Add, Box::new(v.clone()), Box::new(v)),
                dtype,
            };
        }
    }
    KExpr {
        kind: KExprKind::Binary(op, Box::new(x), Box::new(y)),
        dtype,
    }
}

/// Whether any statement (at any depth) assigns the name `n`.
fn assigns(stmts: &[Stmt], n: &str) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Assign { target, .. } => matches!(&target.kind, ExprKind::Name(m) if m == n),
        StmtKind::If { then, els, .. } => {
            assigns(&then.stmts, n) || els.as_ref().is_some_and(|b| assigns(&b.stmts, n))
        }
        StmtKind::While { body, .. } | StmtKind::For { body, .. } => assigns(&body.stmts, n),
        _ => false,
    })
}

/// How many times local `l` is read in `stmts`.
fn count_reads(stmts: &[KStmt], l: Local) -> usize {
    fn e(x: &KExpr, l: Local) -> usize {
        let mut n = match &x.kind {
            KExprKind::Local(v) => usize::from(*v == l),
            _ => x.inline_body().map_or(0, |b| count_reads(b, l)),
        };
        x.for_each_operand(&mut |y| n += e(y, l));
        n
    }
    let mut n = 0;
    for s in stmts {
        // A `while` condition is evaluated before the loop and after each iteration.
        let times = if matches!(s, KStmt::While(..)) { 2 } else { 1 };
        s.for_each_expr(&mut |x| n += times * e(x, l));
        s.for_each_block(&mut |b| n += count_reads(b, l));
    }
    n
}

/// Lowers every top-level kernel of a program against its top-level `fn`s and kernels, as
/// `ndx check` does: the errors a first call would report, without running anything.
pub(crate) fn check_kernels(stmts: &[Stmt]) -> Result<(), Diag> {
    let mut fns = HashMap::new();
    let mut kernels = HashMap::new();
    for s in stmts {
        match &s.kind {
            StmtKind::Fn(f) => {
                fns.insert(f.name.name.clone(), Arc::new(f.clone()));
            }
            StmtKind::Kernel(k) => {
                kernels.insert(k.name.name.clone(), Arc::new(k.clone()));
            }
            _ => {}
        }
    }
    for s in stmts {
        if let StmtKind::Kernel(k) = &s.kind {
            lower_kernel(k, &fns, &kernels)?;
        }
    }
    Ok(())
}

/// The number of `prange` loops in a body (inlined calls included).
fn count_parallel(ss: &[KStmt]) -> usize {
    let mut n = 0;
    for s in ss {
        if let KStmt::For(f) = s {
            n += usize::from(f.parallel.is_some());
        }
        s.for_each_block(&mut |b| n += count_parallel(b));
    }
    n
}
