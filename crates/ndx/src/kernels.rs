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

use crate::args::Args;
use crate::error::{err_at, Diag};
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
    BinOp, Block, Dim, Expr, ExprKind, FnBody, FnDef, IndexItem, KernelDef, Stmt, StmtKind,
    TypeAnn, UnOp,
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
}

fn ann_dtype(ann: &TypeAnn) -> Result<DType, Diag> {
    DType::from_name(&ann.dtype.name).ok_or_else(|| {
        err_at(
            "E0801",
            ann.dtype.span,
            format!("unknown dtype `{}`", ann.dtype.name),
        )
        .with_note("dtypes are bool, i32, i64, f32, f64")
    })
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
    };
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
        arrays: l.arrays,
        locals: l.locals,
        ret,
        body,
    };
    Ok((func, l.sites, params, l.array_names))
}

impl Lower<'_> {
    fn new_local(&mut self, d: DType) -> Local {
        self.locals.push(d);
        (self.locals.len() - 1) as Local
    }

    fn site(&mut self, span: Span, kind: SiteKind) -> u32 {
        self.sites.push(Site { span, kind });
        (self.sites.len() - 1) as u32
    }

    fn frame(&self) -> Result<&Frame, Diag> {
        self.frames
            .last()
            .ok_or_else(|| ndx_syntax::Diagnostic::bug("kernel lowering without a frame"))
    }

    /// The binding of `n` visible from the current frame, and the index of its scope.
    fn lookup(&self, n: &str) -> Option<(Bind, usize)> {
        let base = self.frames.last().map_or(0, |f| f.scope_base);
        (base..self.scopes.len())
            .rev()
            .find_map(|i| self.scopes[i].get(n).map(|b| (b.clone(), i)))
    }

    fn bind(&mut self, n: &str, b: Bind) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(n.to_string(), b);
        }
    }

    fn block(&mut self, b: &Block, out: &mut Vec<KStmt>) -> Result<(), Diag> {
        self.scopes.push(HashMap::new());
        let r = b.stmts.iter().try_for_each(|s| self.stmt(s, out));
        self.scopes.pop();
        r
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<KStmt>) -> Result<(), Diag> {
        match &s.kind {
            StmtKind::Let { name, value } => {
                if let Some(k) = self.array_arg(value) {
                    self.bind(&name.name, Bind::Array(k));
                    return Ok(());
                }
                let v = self.expr(value)?;
                let local = self.new_local(v.e.dtype);
                out.push(KStmt::Set(local, v.e));
                self.bind(&name.name, Bind::Local(local));
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value, out)?,
            StmtKind::Expr(e) => {
                let v = self.expr(e)?;
                out.push(KStmt::Eval(v.e));
            }
            StmtKind::If { cond, then, els } => {
                let c = self.cond(cond)?;
                let mut t = Vec::new();
                self.block(then, &mut t)?;
                let mut e = Vec::new();
                if let Some(b) = els {
                    self.block(b, &mut e)?;
                }
                out.push(KStmt::If(c, t, e));
            }
            StmtKind::While { cond, body } => {
                let c = self.cond(cond)?;
                self.loops.push(None);
                let mut b = Vec::new();
                let r = self.block(body, &mut b);
                self.loops.pop();
                r?;
                out.push(KStmt::While(c, b));
            }
            StmtKind::For { var, iter, body } => self.for_loop(var, iter, body, out)?,
            StmtKind::Break | StmtKind::Continue => {
                let word = if matches!(s.kind, StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                if self.loops.len() <= self.frame()?.loop_base {
                    return Err(err_at("E0404", s.span, format!("`{word}` outside a loop")));
                }
                if let Some(p) = &self.prange {
                    if p.frame_depth == self.frames.len() && self.loops.len() == p.loop_depth + 1 {
                        return Err(err_at(
                            "E0832",
                            s.span,
                            format!("`{word}` cannot leave a `prange` loop early"),
                        )
                        .with_secondary(p.span, "the parallel loop")
                        .with_note("all iterations of a prange run, split over threads"));
                    }
                }
                out.push(if word == "break" {
                    KStmt::Break
                } else {
                    KStmt::Continue
                });
            }
            StmtKind::Return(e) => self.ret(e.as_ref(), s.span, out)?,
            StmtKind::Fn(_) | StmtKind::Kernel(_) | StmtKind::Include(_) => {
                return Err(err_at(
                    "E0816",
                    s.span,
                    "definitions and includes are not allowed inside a kernel",
                ));
            }
        }
        Ok(())
    }

    fn ret(&mut self, e: Option<&Expr>, span: Span, out: &mut Vec<KStmt>) -> Result<(), Diag> {
        if let Some(p) = &self.prange {
            if p.frame_depth == self.frames.len() {
                return Err(
                    err_at("E0832", span, "`return` cannot leave a `prange` loop early")
                        .with_secondary(p.span, "the parallel loop"),
                );
            }
        }
        let Some(e) = e else {
            let f = self.frames.last_mut();
            if let Some(f) = f {
                if let Some((d, rs)) = f.ret {
                    return Err(err_at(
                        "E0815",
                        span,
                        format!("kernel `{}` must return a value of type {d} here", f.name),
                    )
                    .with_secondary(rs, "its result type"));
                }
                f.ret_void = Some(span);
            }
            out.push(KStmt::Return(None));
            return Ok(());
        };
        let v = self.expr(e)?;
        let (name, ret, void) = {
            let f = self.frame()?;
            (f.name.clone(), f.ret, f.ret_void)
        };
        if let Some(vs) = void {
            return Err(err_at(
                "E0815",
                e.span,
                format!("kernel `{name}` returns a value here but nothing elsewhere"),
            )
            .with_secondary(vs, "returns nothing"));
        }
        let value = match ret {
            Some((d, rs)) => {
                if !assignable(d, &v) {
                    return Err(err_at(
                        "E0815",
                        e.span,
                        format!("kernel `{name}` returns {} here", v.e.dtype),
                    )
                    .with_secondary(rs, format!("but its result is {d}")));
                }
                v.e.cast(d)
            }
            None => {
                if let Some(f) = self.frames.last_mut() {
                    f.ret = Some((v.e.dtype, e.span));
                }
                v.e
            }
        };
        if self.frames.len() > 1 {
            let d = value.dtype;
            let f = self.frames.last_mut();
            if let Some(f) = f {
                if f.result.is_none() {
                    self.locals.push(d);
                    f.result = Some((self.locals.len() - 1) as Local);
                }
            }
        }
        out.push(KStmt::Return(Some(value)));
        Ok(())
    }

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<BinOp>,
        value: &Expr,
        out: &mut Vec<KStmt>,
    ) -> Result<(), Diag> {
        match &target.kind {
            ExprKind::Name(n) => {
                let Some((bind, scope)) = self.lookup(n) else {
                    return Err(err_at(
                        "E0811",
                        target.span,
                        format!("`{n}` is assigned before it is defined"),
                    )
                    .with_note("introduce it with `let`"));
                };
                let local = match bind {
                    Bind::Local(l) => l,
                    Bind::Array(_) => {
                        return Err(err_at(
                            "E0813",
                            target.span,
                            format!(
                                "cannot rebind array `{n}`; assign elements with `{n}[i] = ...`"
                            ),
                        ))
                    }
                    Bind::Dim(..) | Bind::Const(..) => {
                        return Err(err_at(
                            "E0813",
                            target.span,
                            format!("`{n}` is a size or a constant and cannot be assigned"),
                        ))
                    }
                };
                let d = self
                    .locals
                    .get(local as usize)
                    .copied()
                    .unwrap_or(DType::I64);
                let reduction = self.shared_update(n, local, scope, op, value, target.span)?;
                let cur = T::strong(KExpr {
                    kind: KExprKind::Local(local),
                    dtype: d,
                });
                let new = match op {
                    Some(op) => {
                        let v = self.expr(value)?;
                        self.binary(op, cur, v, value.span)?
                    }
                    None => self.expr(value)?,
                };
                if !assignable(d, &new) {
                    return Err(err_at(
                        "E0812",
                        value.span,
                        format!("`{n}` has type {d} but this value is {}", new.e.dtype),
                    )
                    .with_note("a kernel local keeps the type of its first assignment"));
                }
                if let (Some(_), Some(p)) = (reduction, self.prange.as_mut()) {
                    *p.updates.entry(local).or_insert(0) += 1;
                }
                out.push(KStmt::Set(local, new.e.cast(d)));
            }
            ExprKind::Index { base, items } => {
                let acc = self.access(base, items, target.span)?;
                let d = self.arrays[acc.array as usize].dtype;
                if let Some(w) = self.written.get_mut(acc.array as usize) {
                    *w = true;
                }
                let new = match op {
                    Some(op) => {
                        let cur = T::strong(KExpr {
                            kind: KExprKind::Load(acc.clone()),
                            dtype: d,
                        });
                        let v = self.expr(value)?;
                        self.binary(op, cur, v, value.span)?
                    }
                    None => self.expr(value)?,
                };
                out.push(KStmt::Store(acc, new.e.cast(d)));
            }
            _ => {
                return Err(err_at(
                    "E0206",
                    target.span,
                    "can only assign to a name or an array element",
                ))
            }
        }
        Ok(())
    }

    /// Inside a `prange` body, an update of a local declared outside it must be a reduction.
    fn shared_update(
        &mut self,
        n: &str,
        local: Local,
        scope: usize,
        op: Option<BinOp>,
        value: &Expr,
        span: Span,
    ) -> Result<Option<ReduceOp>, Diag> {
        let Some(p) = &self.prange else {
            return Ok(None);
        };
        if p.frame_depth != self.frames.len() || scope >= p.scope_depth {
            return Ok(None);
        }
        let red = match op {
            Some(BinOp::Add | BinOp::Sub) => Some(ReduceOp::Sum),
            Some(BinOp::Mul) => Some(ReduceOp::Prod),
            None => match &value.kind {
                ExprKind::Call { callee, args } if args.len() == 2 => {
                    let is_self = |e: &Expr| matches!(&e.kind, ExprKind::Name(m) if m == n);
                    let fname = match &callee.kind {
                        ExprKind::Name(f) => f.as_str(),
                        _ => "",
                    };
                    let mentions = args.iter().filter(|a| is_self(&a.value)).count() == 1;
                    match fname {
                        "min" | "minimum" if mentions => Some(ReduceOp::Min),
                        "max" | "maximum" if mentions => Some(ReduceOp::Max),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        };
        let pspan = p.span;
        let Some(red) = red else {
            return Err(err_at(
                "E0830",
                span,
                format!("`{n}` is shared by every iteration of this prange loop, so this update races"),
            )
            .with_secondary(pspan, "the parallel loop")
            .with_note(format!(
                "only reductions may update it: `{n} += e`, `{n} *= e`, `{n} = min({n}, e)`, `{n} = max({n}, e)`; declare per-iteration values with `let` inside the loop"
            )));
        };
        if let Some(p) = self.prange.as_mut() {
            match p.reductions.iter().find(|r| r.local == local) {
                Some(r) if r.op != red => {
                    return Err(err_at(
                        "E0830",
                        span,
                        format!("`{n}` is reduced in two different ways in this prange loop"),
                    )
                    .with_secondary(pspan, "the parallel loop"))
                }
                Some(_) => {}
                None => p.reductions.push(Reduction { local, op: red }),
            }
        }
        Ok(Some(red))
    }

    fn for_loop(
        &mut self,
        var: &ndx_syntax::ast::Ident,
        iter: &Expr,
        body: &Block,
        out: &mut Vec<KStmt>,
    ) -> Result<(), Diag> {
        let (fname, args) = match &iter.kind {
            ExprKind::Call { callee, args } => match &callee.kind {
                ExprKind::Name(n)
                    if (n == "range" || n == "prange") && (1..=3).contains(&args.len()) =>
                {
                    (n.as_str(), args)
                }
                _ => ("", args),
            },
            _ => ("", &Vec::new()),
        };
        if fname.is_empty() {
            return Err(err_at(
                "E0403",
                iter.span,
                "a `for` loop iterates over `range(...)` or `prange(...)` with 1 to 3 arguments",
            ));
        }
        let mut bounds = Vec::new();
        for a in args.iter() {
            if let Some(k) = &a.name {
                return Err(err_at(
                    "E0702",
                    k.span,
                    format!("`{fname}` takes no keyword arguments"),
                ));
            }
            let v = self.expr(&a.value)?;
            if kind_rank(v.e.dtype) == 2 {
                return Err(err_at(
                    "E0814",
                    a.value.span,
                    format!("range bounds must be integers, found {}", v.e.dtype),
                ));
            }
            bounds.push(v.e.cast(DType::I64));
        }
        let i64c = |v: i64| KExpr::constant(Scalar::I64(v));
        let (start, stop, step) = match bounds.len() {
            1 => (i64c(0), bounds.remove(0), i64c(1)),
            2 => {
                let stop = bounds.remove(1);
                (bounds.remove(0), stop, i64c(1))
            }
            _ => {
                let step = bounds.remove(2);
                let stop = bounds.remove(1);
                (bounds.remove(0), stop, step)
            }
        };
        let site = self.site(iter.span, SiteKind::Step);
        let local = self.new_local(DType::I64);
        let fact = self.fact(local, &start, &stop, &step, &var.name, body);
        let parallel = fname == "prange" && self.prange.is_none();
        if parallel {
            self.prange = Some(PrangeCtx {
                scope_depth: self.scopes.len(),
                frame_depth: self.frames.len(),
                loop_depth: self.loops.len(),
                span: iter.span,
                reductions: Vec::new(),
                updates: HashMap::new(),
            });
        }
        self.scopes
            .push(HashMap::from([(var.name.clone(), Bind::Local(local))]));
        self.loops.push(fact);
        let mut b = Vec::new();
        let r = self.block(body, &mut b);
        self.loops.pop();
        self.scopes.pop();
        let p = if parallel { self.prange.take() } else { None };
        r?;
        let parallel = match p {
            Some(p) => {
                for red in &p.reductions {
                    let reads = count_reads(&b, red.local);
                    let updates = p.updates.get(&red.local).copied().unwrap_or(0);
                    if reads != updates {
                        let name = self
                            .local_name(red.local)
                            .unwrap_or_else(|| "a local".into());
                        return Err(err_at(
                            "E0831",
                            p.span,
                            format!("`{name}` is read inside this prange loop while it is being reduced, so the read races"),
                        )
                        .with_note("a reduction variable may appear only in its own updates (`s += e`); use its value after the loop"));
                    }
                }
                Some(p.reductions)
            }
            None => None,
        };
        out.push(KStmt::For(Box::new(KFor {
            var: local,
            start,
            stop,
            step,
            body: b,
            parallel,
            site,
        })));
        Ok(())
    }

    fn local_name(&self, l: Local) -> Option<String> {
        self.scopes.iter().rev().find_map(|s| {
            s.iter()
                .find(|(_, b)| matches!(b, Bind::Local(x) if *x == l))
                .map(|(n, _)| n.clone())
        })
    }

    /// The range a loop variable provably stays in, when the loop has the shape the module
    /// docs describe.
    fn fact(
        &self,
        var: Local,
        start: &KExpr,
        stop: &KExpr,
        step: &KExpr,
        name: &str,
        body: &Block,
    ) -> Option<Fact> {
        let KExprKind::Const(Scalar::I64(lo)) = start.kind else {
            return None;
        };
        let KExprKind::Const(Scalar::I64(st)) = step.kind else {
            return None;
        };
        if lo < 0 || st <= 0 || assigns(&body.stmts, name) {
            return None;
        }
        let (dim, off) = match &stop.kind {
            KExprKind::Dim { .. } => (stop, 0),
            KExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b) => {
                let KExprKind::Const(Scalar::I64(c)) = b.kind else {
                    return None;
                };
                let off = if *op == BinaryOp::Add {
                    c
                } else {
                    c.checked_neg()?
                };
                (a.as_ref(), off)
            }
            _ => return None,
        };
        let KExprKind::Dim { array, axis } = dim.kind else {
            return None;
        };
        if off > 0 {
            return None;
        }
        let class = *self.classes.get(array as usize)?.get(axis as usize)?;
        Some(Fact {
            var,
            lo,
            class,
            hi_off: off,
        })
    }

    /// Whether index `ix` on `axis` of array `k` is proven in range by an enclosing loop.
    fn proven(&self, k: u32, axis: usize, ix: &KExpr) -> bool {
        let (var, off) = match &ix.kind {
            KExprKind::Local(v) => (*v, 0),
            KExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b) => {
                match (&a.kind, &b.kind) {
                    (KExprKind::Local(v), KExprKind::Const(Scalar::I64(c))) => {
                        let c = if *op == BinaryOp::Add {
                            Some(*c)
                        } else {
                            c.checked_neg()
                        };
                        match c {
                            Some(c) => (*v, c),
                            None => return false,
                        }
                    }
                    (KExprKind::Const(Scalar::I64(c)), KExprKind::Local(v))
                        if *op == BinaryOp::Add =>
                    {
                        (*v, *c)
                    }
                    _ => return false,
                }
            }
            _ => return false,
        };
        let Some(class) = self.classes.get(k as usize).and_then(|c| c.get(axis)) else {
            return false;
        };
        let base = self.frames.last().map_or(0, |f| f.loop_base);
        self.loops[base.min(self.loops.len())..]
            .iter()
            .flatten()
            .any(|f| {
                f.var == var
                    && f.class == *class
                    && f.lo.checked_add(off).is_some_and(|v| v >= 0)
                    && f.hi_off.checked_add(off).is_some_and(|v| v <= 0)
            })
    }

    /// A truth value: bools as they are, numbers compared with zero.
    fn cond(&mut self, e: &Expr) -> Result<KExpr, Diag> {
        let v = self.expr(e)?;
        Ok(v.e.cast(DType::Bool))
    }

    /// The array a name argument refers to, if it is one.
    fn array_arg(&self, e: &Expr) -> Option<u32> {
        match &e.kind {
            ExprKind::Name(n) => match self.lookup(n) {
                Some((Bind::Array(k), _)) => Some(k),
                _ => None,
            },
            _ => None,
        }
    }

    fn access(&mut self, base: &Expr, items: &[IndexItem], span: Span) -> Result<Access, Diag> {
        let Some(k) = self.array_arg(base) else {
            return Err(match &base.kind {
                ExprKind::Name(n) if self.lookup(n).is_none() => err_at(
                    "E0101",
                    base.span,
                    format!("unknown name `{n}` in kernel `{}`", self.frame()?.name),
                ),
                _ => err_at("E0822", base.span, "only array parameters can be indexed"),
            });
        };
        let rank = self.arrays[k as usize].rank;
        if items.len() != rank {
            return Err(err_at(
                "E0821",
                span,
                format!(
                    "`{}` has {rank} dimension(s) but {} index(es) were given",
                    self.array_names[k as usize],
                    items.len()
                ),
            ));
        }
        let mut index = Vec::new();
        let mut checked = Vec::new();
        for (axis, it) in items.iter().enumerate() {
            let IndexItem::Expr(x) = it else {
                return Err(err_at(
                    "E0820",
                    span,
                    "kernels index single elements: slices and `...` are not allowed",
                ));
            };
            if matches!(x.kind, ExprKind::Newaxis) {
                return Err(err_at(
                    "E0817",
                    x.span,
                    "`newaxis` is not allowed in a kernel",
                ));
            }
            let v = self.expr(x)?;
            if kind_rank(v.e.dtype) == 2 {
                return Err(err_at(
                    "E0819",
                    x.span,
                    format!("an index must be an integer, found {}", v.e.dtype),
                ));
            }
            let ix = v.e.cast(DType::I64);
            checked.push(!self.proven(k, axis, &ix));
            index.push(ix);
        }
        let site = self.site(span, SiteKind::Access(k));
        Ok(Access {
            array: k,
            index,
            checked,
            site,
        })
    }

    fn expr(&mut self, e: &Expr) -> Result<T, Diag> {
        Ok(match &e.kind {
            ExprKind::Int(v) => konst(Scalar::I64(*v), true),
            ExprKind::Float(v) => konst(Scalar::F64(*v), true),
            ExprKind::Bool(v) => konst(Scalar::Bool(*v), true),
            ExprKind::Str(_) => {
                return Err(err_at(
                    "E0823",
                    e.span,
                    "strings are not allowed in kernels",
                ))
            }
            ExprKind::Newaxis => {
                return Err(err_at(
                    "E0817",
                    e.span,
                    "`newaxis` is not allowed in a kernel",
                ))
            }
            ExprKind::Name(n) => match self.lookup(n) {
                Some((Bind::Local(l), _)) => T::strong(KExpr {
                    kind: KExprKind::Local(l),
                    dtype: self.locals.get(l as usize).copied().unwrap_or(DType::I64),
                }),
                Some((Bind::Dim(array, axis), _)) => weak(KExpr {
                    kind: KExprKind::Dim { array, axis },
                    dtype: DType::I64,
                }),
                Some((Bind::Const(s, w), _)) => konst(s, w),
                Some((Bind::Array(_), _)) => {
                    return Err(err_at(
                        "E0818",
                        e.span,
                        format!(
                            "`{n}` is an array: kernel code is scalar, index it element by element"
                        ),
                    ))
                }
                None => match n.as_str() {
                    "pi" => konst(Scalar::F64(std::f64::consts::PI), true),
                    "e" => konst(Scalar::F64(std::f64::consts::E), true),
                    "inf" => konst(Scalar::F64(f64::INFINITY), true),
                    "nan" => konst(Scalar::F64(f64::NAN), true),
                    _ => {
                        return Err(err_at(
                            "E0101",
                            e.span,
                            format!("unknown name `{n}` in kernel `{}`", self.frame()?.name),
                        ))
                    }
                },
            },
            ExprKind::Unary(op, a) => {
                let v = self.expr(a)?;
                self.unary(*op, v, e.span)?
            }
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.expr(a)?, self.expr(b)?);
                self.binary(*op, x, y, e.span)?
            }
            ExprKind::Call { callee, args } => self.call(callee, args, e.span)?,
            ExprKind::Index { base, items } => {
                if let ExprKind::Attr { base: ab, name } = &base.kind {
                    if name.name == "shape" {
                        return self.shape_entry(ab, items, e.span);
                    }
                }
                let acc = self.access(base, items, e.span)?;
                let dtype = self.arrays[acc.array as usize].dtype;
                T::strong(KExpr {
                    kind: KExprKind::Load(acc),
                    dtype,
                })
            }
            ExprKind::Attr { base, name } => {
                let k = self.array_arg(base);
                match (k, name.name.as_str()) {
                    (Some(k), "ndim") => {
                        konst(Scalar::I64(self.arrays[k as usize].rank as i64), true)
                    }
                    (Some(k), "size") => {
                        let mut acc = KExpr::constant(Scalar::I64(1));
                        for axis in 0..self.arrays[k as usize].rank {
                            let d = KExpr {
                                kind: KExprKind::Dim {
                                    array: k,
                                    axis: axis as u32,
                                },
                                dtype: DType::I64,
                            };
                            acc = KExpr {
                                kind: KExprKind::Binary(BinaryOp::Mul, Box::new(acc), Box::new(d)),
                                dtype: DType::I64,
                            };
                        }
                        weak(acc)
                    }
                    (Some(_), "shape") => {
                        return Err(err_at(
                            "E0212",
                            name.span,
                            "in a kernel, `shape` is indexed with a constant: `a.shape[0]`",
                        ))
                    }
                    _ => {
                        return Err(err_at(
                            "E0212",
                            name.span,
                            format!("unknown attribute `{}` in a kernel (arrays have `shape`, `ndim`, `size`)", name.name),
                        ))
                    }
                }
            }
            ExprKind::Tuple(_) | ExprKind::List(_) => {
                return Err(err_at(
                    "E0823",
                    e.span,
                    "tuples and array literals are not allowed in kernels",
                ))
            }
        })
    }

    fn shape_entry(&mut self, base: &Expr, items: &[IndexItem], span: Span) -> Result<T, Diag> {
        let Some(k) = self.array_arg(base) else {
            return Err(err_at(
                "E0822",
                base.span,
                "only array parameters have a shape",
            ));
        };
        let rank = self.arrays[k as usize].rank as i64;
        let axis = match items {
            [IndexItem::Expr(x)] => match self.expr(x)?.e.kind {
                KExprKind::Const(Scalar::I64(v)) => v,
                _ => {
                    return Err(err_at(
                        "E0833",
                        x.span,
                        "a shape index in a kernel must be a constant integer",
                    ))
                }
            },
            _ => {
                return Err(err_at(
                    "E0833",
                    span,
                    "a shape index in a kernel must be a constant integer",
                ))
            }
        };
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&a) {
            return Err(err_at(
                "E0833",
                span,
                format!(
                    "axis {axis} is out of range for `{}`, which has {rank} dimension(s)",
                    self.array_names[k as usize]
                ),
            ));
        }
        Ok(weak(KExpr {
            kind: KExprKind::Dim {
                array: k,
                axis: a as u32,
            },
            dtype: DType::I64,
        }))
    }

    fn unary(&mut self, op: UnOp, v: T, span: Span) -> Result<T, Diag> {
        let d = v.e.dtype;
        let (uop, dtype, x) = match op {
            UnOp::Pos => return Ok(v),
            UnOp::Neg if d == DType::Bool => {
                return Err(err_at("E0824", span, "cannot negate a bool; use `not`"))
            }
            UnOp::Neg => (UnaryOp::Neg, d, v.e),
            UnOp::Invert if kind_rank(d) == 2 => {
                return Err(err_at(
                    "E0824",
                    span,
                    format!("`~` needs an integer or bool, found {d}"),
                ))
            }
            UnOp::Invert => (UnaryOp::Not, d, v.e),
            UnOp::Not => (UnaryOp::Not, DType::Bool, v.e.cast(DType::Bool)),
        };
        Ok(T {
            e: fold_unary(uop, dtype, x),
            weak: v.weak && op != UnOp::Not,
        })
    }

    fn binary(&mut self, op: BinOp, x: T, y: T, span: Span) -> Result<T, Diag> {
        use BinaryOp as B;
        if matches!(op, BinOp::And | BinOp::Or) {
            let (a, b) = (
                Box::new(x.e.cast(DType::Bool)),
                Box::new(y.e.cast(DType::Bool)),
            );
            let kind = if op == BinOp::And {
                KExprKind::And(a, b)
            } else {
                KExprKind::Or(a, b)
            };
            return Ok(T::strong(KExpr {
                kind,
                dtype: DType::Bool,
            }));
        }
        let mut t = promote(x.ty(), y.ty());
        let bop = match op {
            BinOp::Add => B::Add,
            BinOp::Sub => B::Sub,
            BinOp::Mul => B::Mul,
            BinOp::Div => {
                t = true_divide_type(t);
                B::Div
            }
            BinOp::FloorDiv => B::FloorDiv,
            BinOp::Mod => B::Mod,
            BinOp::Pow => B::Pow,
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
                if kind_rank(t.dtype) == 2 {
                    return Err(err_at(
                        "E0824",
                        span,
                        format!(
                            "`{}` needs integers or bools, found {}",
                            op.symbol(),
                            t.dtype
                        ),
                    ));
                }
                match op {
                    BinOp::BitAnd => B::BitAnd,
                    BinOp::BitOr => B::BitOr,
                    _ => B::BitXor,
                }
            }
            BinOp::Eq => B::Eq,
            BinOp::Ne => B::Ne,
            BinOp::Lt => B::Lt,
            BinOp::Le => B::Le,
            BinOp::Gt => B::Gt,
            BinOp::Ge => B::Ge,
            BinOp::MatMul => {
                return Err(err_at(
                    "E0824",
                    span,
                    "`@` is not available on kernel scalars",
                ))
            }
            BinOp::And | BinOp::Or => B::BitAnd,
        };
        if t.dtype == DType::Bool && matches!(bop, B::FloorDiv | B::Mod | B::Pow | B::Sub) {
            t = Ty {
                dtype: DType::I64,
                weak: t.weak,
            };
        }
        Ok(self.binop(bop, t, x.e, y.e, span))
    }

    /// `op` on `x`, `y` converted to `t` (comparisons give bool).
    fn binop(&mut self, op: BinaryOp, t: Ty, x: KExpr, y: KExpr, span: Span) -> T {
        let (x, y) = (x.cast(t.dtype), y.cast(t.dtype));
        let dtype = if op.is_comparison() {
            DType::Bool
        } else {
            t.dtype
        };
        let int_div = matches!(op, BinaryOp::FloorDiv | BinaryOp::Mod) && t.dtype.is_int();
        let divisor_nonzero = matches!(&y.kind, KExprKind::Const(s) if s.to_bool());
        let e = if int_div && !divisor_nonzero {
            let site = self.site(span, SiteKind::Div);
            KExpr {
                kind: KExprKind::CheckedDiv {
                    op,
                    a: Box::new(x),
                    b: Box::new(y),
                    site,
                },
                dtype,
            }
        } else {
            fold_binary(op, dtype, x, y)
        };
        T {
            e,
            weak: t.weak && !op.is_comparison(),
        }
    }

    fn call(
        &mut self,
        callee: &Expr,
        args: &[ndx_syntax::ast::Arg],
        span: Span,
    ) -> Result<T, Diag> {
        let ExprKind::Name(name) = &callee.kind else {
            return Err(err_at(
                "E0705",
                callee.span,
                "only named functions can be called",
            ));
        };
        if let Some(a) = args.iter().find(|a| a.name.is_some()) {
            return Err(err_at(
                "E0702",
                a.span,
                "calls in kernels take positional arguments only",
            ));
        }
        if let Some(f) = self.fns.get(name).cloned() {
            return self.inline_fn(&f, args, span);
        }
        if let Some(k) = self.kernels.get(name).cloned() {
            return self.inline_kernel(&k, args, span);
        }
        let arity = |n: usize| -> Result<(), Diag> {
            if args.len() == n {
                Ok(())
            } else {
                Err(err_at(
                    "E0601",
                    span,
                    format!(
                        "`{name}` takes {n} argument(s) in a kernel but {} were given",
                        args.len()
                    ),
                ))
            }
        };
        if let Some(d) = DType::from_name(name) {
            arity(1)?;
            let v = self.expr(&args[0].value)?;
            return Ok(T::strong(v.e.cast(d)));
        }
        if let Some(op) = crate::builtins::float_fn(name) {
            arity(1)?;
            let v = self.expr(&args[0].value)?;
            let d = if kind_rank(v.e.dtype) == 2 {
                v.e.dtype
            } else {
                DType::F64
            };
            // NumPy functions return NumPy scalars, which are strong (NEP 50).
            return Ok(T::strong(fold_unary(op, d, v.e.cast(d))));
        }
        if let Some(op) = crate::builtins::keep_fn(name) {
            arity(1)?;
            let v = self.expr(&args[0].value)?;
            let d = v.e.dtype;
            return Ok(T::strong(fold_unary(op, d, v.e)));
        }
        match name.as_str() {
            "rand" | "randn" => {
                arity(0)?;
                Ok(T::strong(KExpr {
                    kind: if name == "rand" {
                        KExprKind::Rand
                    } else {
                        KExprKind::Randn
                    },
                    dtype: DType::F64,
                }))
            }
            "isnan" | "isinf" | "isfinite" => {
                arity(1)?;
                let v = self.expr(&args[0].value)?;
                let op = match name.as_str() {
                    "isnan" => UnaryOp::IsNan,
                    "isinf" => UnaryOp::IsInf,
                    _ => UnaryOp::IsFinite,
                };
                Ok(T::strong(KExpr {
                    kind: KExprKind::Unary(op, Box::new(v.e)),
                    dtype: DType::Bool,
                }))
            }
            "min" | "max" | "minimum" | "maximum" | "arctan2" | "pow" => {
                arity(2)?;
                let (x, y) = (self.expr(&args[0].value)?, self.expr(&args[1].value)?);
                let mut t = promote(x.ty(), y.ty());
                let op = match name.as_str() {
                    "min" | "minimum" => BinaryOp::Min,
                    "max" | "maximum" => BinaryOp::Max,
                    "pow" => BinaryOp::Pow,
                    _ => BinaryOp::Arctan2,
                };
                if op == BinaryOp::Arctan2 && kind_rank(t.dtype) < 2 {
                    t.dtype = DType::F64;
                }
                if op == BinaryOp::Pow && t.dtype == DType::Bool {
                    t.dtype = DType::I64;
                }
                Ok(T::strong(self.binop(op, t, x.e, y.e, span).e))
            }
            "clip" => {
                arity(3)?;
                let x = self.expr(&args[0].value)?;
                let lo = self.expr(&args[1].value)?;
                let hi = self.expr(&args[2].value)?;
                let t = promote(promote(x.ty(), lo.ty()), hi.ty());
                let m = self.binop(BinaryOp::Max, t, x.e, lo.e, span);
                Ok(T::strong(self.binop(BinaryOp::Min, t, m.e, hi.e, span).e))
            }
            "where" => {
                arity(3)?;
                let c = self.cond(&args[0].value)?;
                let x = self.expr(&args[1].value)?;
                let y = self.expr(&args[2].value)?;
                let t = promote(x.ty(), y.ty());
                Ok(T {
                    e: KExpr {
                        kind: KExprKind::Select(
                            Box::new(c),
                            Box::new(x.e.cast(t.dtype)),
                            Box::new(y.e.cast(t.dtype)),
                        ),
                        dtype: t.dtype,
                    },
                    weak: false,
                })
            }
            "range" | "prange" => Err(err_at(
                "E0403",
                span,
                format!("`{name}` is only allowed as the iterable of a `for` loop"),
            )),
            _ if crate::builtins::is_builtin(name) => Err(err_at(
                "E0825",
                span,
                format!("`{name}` is not available in kernels: kernel code is scalar"),
            )
            .with_note("call array builtins outside the kernel and pass the result in")),
            _ => Err(err_at(
                "E0101",
                callee.span,
                format!(
                    "unknown function `{name}` in kernel `{}`",
                    self.frame()?.name
                ),
            )),
        }
    }

    fn enter(&mut self, name: &str, span: Span) -> Result<(), Diag> {
        if self.stack.iter().any(|n| n == name) {
            return Err(err_at(
                "E0834",
                span,
                format!("`{name}` calls itself: recursion is not supported in kernels"),
            ));
        }
        if self.stack.len() >= MAX_INLINE_DEPTH {
            return Err(err_at("E0602", span, "too many nested calls in a kernel"));
        }
        self.stack.push(name.to_string());
        Ok(())
    }

    /// Binds scalar arguments in a new scope (returned statements assign them) for a callee.
    fn bind_scalar_arg(
        &mut self,
        pname: &str,
        ann: Option<DType>,
        arg: &Expr,
        body: &mut Vec<KStmt>,
        scope: &mut HashMap<String, Bind>,
    ) -> Result<(), Diag> {
        let v = self.expr(arg)?;
        if let Some(d) = ann {
            if !assignable(d, &v) && kind_rank(v.e.dtype) > kind_rank(d) {
                return Err(err_at(
                    "E0826",
                    arg.span,
                    format!(
                        "parameter `{pname}` is {d} but this argument is {}",
                        v.e.dtype
                    ),
                ));
            }
            let l = self.new_local(d);
            body.push(KStmt::Set(l, v.e.cast(d)));
            scope.insert(pname.to_string(), Bind::Local(l));
            return Ok(());
        }
        match v.e.kind {
            KExprKind::Const(s) => {
                scope.insert(pname.to_string(), Bind::Const(s, v.weak));
            }
            KExprKind::Dim { array, axis } => {
                scope.insert(pname.to_string(), Bind::Dim(array, axis));
            }
            _ => {
                let l = self.new_local(v.e.dtype);
                body.push(KStmt::Set(l, v.e));
                scope.insert(pname.to_string(), Bind::Local(l));
            }
        }
        Ok(())
    }

    fn push_frame(&mut self, name: &str, ret: Option<(DType, Span)>, scope: HashMap<String, Bind>) {
        let scope_base = self.scopes.len();
        self.scopes.push(scope);
        self.frames.push(Frame {
            name: name.to_string(),
            ret,
            ret_void: None,
            result: None,
            scope_base,
            loop_base: self.loops.len(),
        });
    }

    fn pop_frame(&mut self) -> Option<Frame> {
        self.scopes.pop();
        self.stack.pop();
        self.frames.pop()
    }

    fn inline_fn(
        &mut self,
        f: &FnDef,
        args: &[ndx_syntax::ast::Arg],
        span: Span,
    ) -> Result<T, Diag> {
        if args.len() != f.params.len() {
            return Err(err_at(
                "E0601",
                span,
                format!(
                    "`{}` takes {} argument(s) but {} were given",
                    f.name.name,
                    f.params.len(),
                    args.len()
                ),
            )
            .with_secondary(f.name.span, "defined here"));
        }
        self.enter(&f.name.name, span)?;
        let mut body = Vec::new();
        let mut scope = HashMap::new();
        for (p, a) in f.params.iter().zip(args) {
            if let Some(k) = self.array_arg(&a.value) {
                scope.insert(p.name.name.clone(), Bind::Array(k));
                continue;
            }
            let ann = match &p.ann {
                Some(ann) if ann.shape.is_none() => Some(ann_dtype(ann)?),
                _ => None,
            };
            self.bind_scalar_arg(&p.name.name, ann, &a.value, &mut body, &mut scope)?;
        }
        self.push_frame(&f.name.name, None, scope);
        let r = self.fn_body(f, &mut body);
        self.pop_frame();
        let v = r?;
        if body.is_empty() {
            return Ok(v);
        }
        let l = self.new_local(v.e.dtype);
        let dtype = v.e.dtype;
        body.push(KStmt::Return(Some(v.e)));
        Ok(T {
            e: KExpr {
                kind: KExprKind::Inline {
                    body,
                    result: Some(l),
                },
                dtype,
            },
            weak: v.weak,
        })
    }

    fn fn_body(&mut self, f: &FnDef, body: &mut Vec<KStmt>) -> Result<T, Diag> {
        match &f.body {
            FnBody::Expr(e) => self.expr(e),
            FnBody::Block(b) => {
                let Some((last, init)) = b.stmts.split_last() else {
                    return Err(err_at(
                        "E0603",
                        b.span,
                        format!("`{}` has an empty body", f.name.name),
                    ));
                };
                let StmtKind::Expr(result) = &last.kind else {
                    return Err(err_at(
                        "E0603",
                        last.span,
                        format!(
                            "the body of `{}` must end with an expression (its result)",
                            f.name.name
                        ),
                    ));
                };
                for s in init {
                    self.stmt(s, body)?;
                }
                self.expr(result)
            }
        }
    }

    fn inline_kernel(
        &mut self,
        k: &KernelDef,
        args: &[ndx_syntax::ast::Arg],
        span: Span,
    ) -> Result<T, Diag> {
        if args.len() != k.params.len() {
            return Err(err_at(
                "E0601",
                span,
                format!(
                    "kernel `{}` takes {} argument(s) but {} were given",
                    k.name.name,
                    k.params.len(),
                    args.len()
                ),
            )
            .with_secondary(k.name.span, "defined here"));
        }
        self.enter(&k.name.name, span)?;
        let mut body = Vec::new();
        let mut scope = HashMap::new();
        for (p, a) in k.params.iter().zip(args) {
            let Some(ann) = &p.ann else {
                return Err(err_at(
                    "E0810",
                    p.name.span,
                    format!("kernel parameter `{}` needs a type annotation", p.name.name),
                ));
            };
            let d = ann_dtype(ann)?;
            match &ann.shape {
                Some(dims) => {
                    let Some(arr) = self.array_arg(&a.value) else {
                        return Err(err_at(
                            "E0826",
                            a.value.span,
                            format!("parameter `{}` of kernel `{}` is an array: pass an array parameter", p.name.name, k.name.name),
                        ));
                    };
                    let ka = self.arrays[arr as usize];
                    if ka.dtype != d || ka.rank != dims.len() {
                        return Err(err_at(
                            "E0826",
                            a.value.span,
                            format!(
                                "parameter `{}` of kernel `{}` is {d} with {} dimension(s), but this array is {} with {}",
                                p.name.name, k.name.name, dims.len(), ka.dtype, ka.rank
                            ),
                        ));
                    }
                    scope.insert(p.name.name.clone(), Bind::Array(arr));
                    for (axis, dim) in dims.iter().enumerate() {
                        if let Dim::Name(id) = dim {
                            scope
                                .entry(id.name.clone())
                                .or_insert(Bind::Dim(arr, axis as u32));
                        }
                    }
                }
                None => {
                    self.bind_scalar_arg(&p.name.name, Some(d), &a.value, &mut body, &mut scope)?
                }
            }
        }
        let ret = match &k.ret {
            Some(r) => Some((ann_dtype(r)?, r.span)),
            None => None,
        };
        self.push_frame(&k.name.name, ret, scope);
        let r = self.block(&k.body, &mut body);
        let frame = self.pop_frame();
        r?;
        let (result, dtype) = match frame {
            Some(Frame {
                result: Some(l), ..
            }) => (Some(l), self.locals[l as usize]),
            Some(Frame {
                ret: Some((d, _)), ..
            }) => {
                // Declared but no `return` reached it: the value is the local's initial zero.
                let l = self.new_local(d);
                (Some(l), d)
            }
            _ => (None, DType::Bool),
        };
        Ok(T::strong(KExpr {
            kind: KExprKind::Inline { body, result },
            dtype,
        }))
    }
}

/// Whether a value may be stored in a local (or returned as a result) of dtype `to`: the same
/// dtype, or a weak value of a kind that fits (an int literal in a float local, say).
fn assignable(to: DType, v: &T) -> bool {
    if v.e.dtype == to {
        return true;
    }
    v.weak && kind_rank(v.e.dtype) <= kind_rank(to)
}

fn fold_unary(op: UnaryOp, dtype: DType, x: KExpr) -> KExpr {
    if let KExprKind::Const(s) = &x.kind {
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

fn fold_binary(op: BinaryOp, dtype: DType, x: KExpr, y: KExpr) -> KExpr {
    if let (KExprKind::Const(a), KExprKind::Const(b)) = (&x.kind, &y.kind) {
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
        match &x.kind {
            KExprKind::Local(v) => usize::from(*v == l),
            KExprKind::Const(_) | KExprKind::Dim { .. } | KExprKind::Rand | KExprKind::Randn => 0,
            KExprKind::Load(a) => a.index.iter().map(|i| e(i, l)).sum(),
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => e(a, l),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => e(a, l) + e(b, l),
            KExprKind::Select(c, a, b) => e(c, l) + e(a, l) + e(b, l),
            KExprKind::Inline { body, .. } => count_reads(body, l),
        }
    }
    stmts
        .iter()
        .map(|s| match s {
            KStmt::Set(_, x) | KStmt::Eval(x) => e(x, l),
            KStmt::Store(a, x) => e(x, l) + a.index.iter().map(|i| e(i, l)).sum::<usize>(),
            KStmt::If(c, t, f) => e(c, l) + count_reads(t, l) + count_reads(f, l),
            KStmt::While(c, b) => 2 * e(c, l) + count_reads(b, l),
            KStmt::For(f) => {
                e(&f.start, l) + e(&f.stop, l) + e(&f.step, l) + count_reads(&f.body, l)
            }
            KStmt::Return(Some(x)) => e(x, l),
            KStmt::Return(None) | KStmt::Break | KStmt::Continue => 0,
        })
        .sum()
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
    ss.iter()
        .map(|s| match s {
            KStmt::For(f) => usize::from(f.parallel.is_some()) + count_parallel(&f.body),
            KStmt::If(_, t, e) => count_parallel(t) + count_parallel(e),
            KStmt::While(_, b) => count_parallel(b),
            _ => 0,
        })
        .sum()
}

/// The cache of compiled kernels, by name.
pub(crate) struct KernelCache {
    entries: HashMap<String, Arc<CompiledEntry>>,
    /// Bumped whenever a `fn` or kernel is defined.
    pub generation: u64,
    /// Whether new compilations check element accesses.
    pub bounds_checks: bool,
    /// The compile time of the last kernel compiled (taken by the tracer).
    pub last_compile: Option<std::time::Duration>,
}

impl KernelCache {
    pub(crate) fn new() -> KernelCache {
        KernelCache {
            entries: HashMap::new(),
            generation: 0,
            bounds_checks: true,
            last_compile: None,
        }
    }
}

impl Interp {
    /// The compiled form of kernel `def`, compiling it on first use.
    pub(crate) fn compiled_kernel(
        &mut self,
        def: &Arc<KernelDef>,
    ) -> Result<Arc<CompiledEntry>, Diag> {
        let name = &def.name.name;
        if let Some(e) = self.kcache.entries.get(name) {
            if Arc::ptr_eq(&e.def, def)
                && e.generation == self.kcache.generation
                && e.checks == self.kcache.bounds_checks
            {
                return Ok(e.clone());
            }
        }
        let (func, sites, params, array_names) = lower_kernel(def, &self.fns, &self.kernels)?;
        let opts = KernelOptions {
            bounds_checks: self.kcache.bounds_checks,
        };
        let start = std::time::Instant::now();
        let code =
            self.exec.jit()?.compile_kernel(&func, opts).map_err(|e| {
                ndx_syntax::Diagnostic::bug(format!("compiling kernel `{name}`: {e}"))
            })?;
        self.kcache.last_compile = Some(start.elapsed());
        let entry = Arc::new(CompiledEntry {
            def: def.clone(),
            generation: self.kcache.generation,
            checks: opts.bounds_checks,
            code,
            sites,
            params,
            array_names,
            func,
        });
        self.kcache.entries.insert(name.clone(), entry.clone());
        Ok(entry)
    }

    /// Calls kernel `def` with evaluated arguments.
    pub(crate) fn call_kernel(&mut self, def: &Arc<KernelDef>, a: Args) -> Result<Val, Diag> {
        let name = def.name.name.clone();
        if let Some((k, ks, _, _)) = a.kw.first() {
            return Err(err_at(
                "E0702",
                *ks,
                format!("kernel `{name}` takes no keyword arguments (got `{k}`)"),
            ));
        }
        if a.pos.len() != def.params.len() {
            return Err(err_at(
                "E0601",
                a.span,
                format!(
                    "kernel `{name}` takes {} argument(s) but {} were given",
                    def.params.len(),
                    a.pos.len()
                ),
            )
            .with_secondary(def.name.span, "defined here"));
        }
        self.kcache.last_compile = None;
        let entry = self.compiled_kernel(def)?;
        if self.exec.trace.is_some() {
            self.trace_kernel(&entry)?;
        }
        let mut words: Vec<i64> = Vec::new();
        let mut keep: Vec<Array> = Vec::new();
        let mut sizes: HashMap<String, usize> = HashMap::new();
        for ((info, p), (v, vspan)) in entry.params.iter().zip(&def.params).zip(a.pos) {
            let pname = &p.name.name;
            match info {
                ParamInfo::Array {
                    dtype,
                    dims,
                    written,
                    ..
                } => {
                    let arr = match v {
                        Val::Array(arr) => arr,
                        Val::Lazy(l) if !written => self.exec.materialize(&l)?,
                        other => {
                            return Err(err_at(
                                "E0827",
                                vspan,
                                format!(
                                    "parameter `{pname}` of kernel `{name}` is an array ({dtype}[...]) but the argument is {}",
                                    other.kind()
                                ),
                            )
                            .with_note(if matches!(other, Val::Lazy(_)) {
                                "the kernel writes this parameter, so pass a named array (an expression would be a temporary)"
                            } else {
                                "pass an array of the declared dtype and rank"
                            }))
                        }
                    };
                    if arr.dtype() != *dtype || arr.ndim() != dims.len() {
                        return Err(err_at(
                            "E0827",
                            vspan,
                            format!(
                                "parameter `{pname}` of kernel `{name}` is {dtype} with {} dimension(s), but the argument is {} with shape {}",
                                dims.len(),
                                arr.dtype(),
                                ndx_ir::shape::format_shape(arr.shape())
                            ),
                        )
                        .with_note(format!("convert it first, e.g. `astype(x, {dtype})`")));
                    }
                    for (axis, (ann, &size)) in dims.iter().zip(arr.shape()).enumerate() {
                        let bad = match ann {
                            DimAnn::Any => None,
                            DimAnn::Fixed(n) => (*n != size as i64).then(|| format!("{n}")),
                            DimAnn::Name(s) => match sizes.get(s) {
                                Some(&prev) if prev != size => Some(format!("`{s}` = {prev}")),
                                Some(_) => None,
                                None => {
                                    sizes.insert(s.clone(), size);
                                    None
                                }
                            },
                        };
                        if let Some(want) = bad {
                            return Err(err_at(
                                "E0828",
                                vspan,
                                format!(
                                    "axis {axis} of `{pname}` has length {size}, but kernel `{name}` needs {want}"
                                ),
                            ));
                        }
                    }
                    if *written && !arr.is_writable() {
                        return Err(err_at(
                            "E0310",
                            vspan,
                            format!(
                                "kernel `{name}` writes `{pname}`, but the argument is read-only"
                            ),
                        ));
                    }
                    words.push(arr.ptr().map_err(crate::error::runtime_err)? as i64);
                    words.extend(arr.shape().iter().map(|&s| s as i64));
                    words.extend(arr.strides().iter().map(|&s| s as i64));
                    keep.push(arr);
                }
                ParamInfo::Scalar(d) => {
                    let (s, weak) = match &v {
                        Val::Weak { value, .. } => (*value, true),
                        Val::Array(arr) if arr.ndim() == 0 => {
                            (arr.item().map_err(crate::error::runtime_err)?, false)
                        }
                        other => {
                            return Err(err_at(
                                "E0827",
                                vspan,
                                format!(
                                    "parameter `{pname}` of kernel `{name}` is a {d} scalar but the argument is {}",
                                    other.kind()
                                ),
                            ))
                        }
                    };
                    let fits = kind_rank(s.dtype()) < kind_rank(*d)
                        || (kind_rank(s.dtype()) == kind_rank(*d)
                            && (weak || s.dtype().size() <= d.size()));
                    if !fits {
                        return Err(err_at(
                            "E0827",
                            vspan,
                            format!("parameter `{pname}` of kernel `{name}` is {d} but the argument is {}", s.dtype()),
                        )
                        .with_note(format!("convert it explicitly: `{d}(x)`")));
                    }
                    words.push(ndx_codegen::scalar_bits(s.cast(*d)));
                }
            }
        }
        let seed = self.rng.next_u64();
        let jit = self.exec.jit()?;
        // SAFETY: every array word set describes a live array (kept alive in `keep`) of the
        // dtype and rank the kernel was compiled for; element accesses are bounds-checked
        // unless the user turned checks off.
        let r = unsafe { jit.run_kernel(&entry.code, &words, seed) }
            .map_err(|e| ndx_syntax::Diagnostic::bug(format!("running kernel `{name}`: {e}")))?;
        drop(keep);
        match r {
            Ok(Some(s)) => Ok(Val::Array(Array::scalar(s))),
            Ok(None) => Ok(Val::None),
            Err(f) => Err(fault_diag(&entry, &name, f, &words)),
        }
    }

    /// Records a call of a compiled kernel in the trace.
    fn trace_kernel(&mut self, entry: &CompiledEntry) -> Result<(), Diag> {
        let compile_time = self.kcache.last_compile.take();
        let want_listings = self.exec.listings;
        let jit = self.exec.jit()?;
        let mut listings = jit.take_listings();
        if want_listings && listings.is_empty() {
            // From the cache: compile it again just for the listing.
            let opts = KernelOptions {
                bounds_checks: entry.checks,
            };
            jit.compile_kernel(&entry.func, opts)
                .map_err(|e| ndx_syntax::Diagnostic::bug(format!("listing a kernel: {e}")))?;
            listings = jit.take_listings();
        }
        let threads = jit.threads();
        let step = crate::explain::KernelStep {
            name: entry.func.name.clone(),
            compile_time,
            parallel_loops: count_parallel(&entry.func.body),
            threads,
            vector_loops: ndx_codegen::vector_loops(
                &entry.func,
                KernelOptions {
                    bounds_checks: entry.checks,
                },
            ),
            ir: entry.func.to_string(),
            listings,
            calls: 1,
        };
        self.exec.record(crate::explain::Step::Kernel(step));
        Ok(())
    }
}

/// The diagnostic of a kernel fault: the kernel, the line, and for bounds faults the index,
/// the axis and the shape.
pub(crate) fn fault_diag(
    entry: &CompiledEntry,
    name: &str,
    f: ndx_codegen::KernelFault,
    words: &[i64],
) -> Diag {
    let site = entry.sites.get(f.site as usize);
    let span = site.map(|s| s.span);
    let msg = match (f.kind, site.map(|s| &s.kind)) {
        (FaultKind::Bounds, Some(SiteKind::Access(k))) => {
            let shape = array_shape(entry, *k, words);
            let arr = entry
                .array_names
                .get(*k as usize)
                .cloned()
                .unwrap_or_default();
            let len = shape.get(f.axis).copied().unwrap_or(0);
            format!(
                "in kernel `{name}`: index {} is out of bounds for axis {} of `{arr}` with size {len} (shape {})",
                f.index,
                f.axis,
                ndx_ir::shape::format_shape(&shape)
            )
        }
        (FaultKind::DivByZero, _) => {
            format!("in kernel `{name}`: integer division or modulo by zero")
        }
        (FaultKind::ZeroStep, _) => {
            format!("in kernel `{name}`: range() step must not be zero")
        }
        _ => format!("kernel `{name}` failed"),
    };
    let d = ndx_syntax::Diagnostic::error("E0905", msg);
    match span {
        Some(s) => d.with_primary(s, ""),
        None => d,
    }
}

/// The shape of array number `k` as passed in `words`.
fn array_shape(entry: &CompiledEntry, k: u32, words: &[i64]) -> Vec<usize> {
    let mut w = 0usize;
    for p in &entry.func.params {
        match *p {
            KParam::Array(j) => {
                let rank = entry.func.arrays.get(j as usize).map_or(0, |a| a.rank);
                if j == k {
                    return words
                        .get(w + 1..w + 1 + rank)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&s| s as usize)
                        .collect();
                }
                w += 1 + 2 * rank;
            }
            KParam::Scalar(_) => w += 1,
        }
    }
    Vec::new()
}
