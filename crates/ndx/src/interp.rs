//! The statement interpreter: scopes, control flow, definitions, `fn` calls and `include`.
//!
//! Scripts run statement by statement, as Python drives NumPy. Array expressions inside a
//! statement stay lazy and fuse (see [`crate::lazy`]); a script-level binding materialises
//! its value, so only bound values are allocated. Inside a `fn` body, bindings stay lazy: a
//! call is inlined into the caller's expression graph and fuses with what surrounds it.
//!
//! Scope rules (LANGUAGE.md section 4): `let` binds in the innermost scope; a plain assignment
//! updates the nearest enclosing binding and is an error for a name never bound. A `fn` body
//! sees only its parameters, its own locals and the global scope.

use crate::error::{check_arity, err_at, At, Diag};
use crate::exec::Exec;
use crate::value::Val;
use ndx_runtime::ops::Rng;
use ndx_syntax::ast::{Block, Expr, ExprKind, FnBody, FnDef, KernelDef, Stmt, StmtKind};
use ndx_syntax::{Diagnostic, FileId, SourceMap, Span};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// How control leaves a block.
pub(crate) enum Flow {
    /// Fell off the end.
    Normal,
    /// `break`.
    Break(Span),
    /// `continue`.
    Continue(Span),
    /// `return`.
    Return(Option<Val>, Span),
}

/// Where `print` writes.
pub(crate) enum Sink {
    Stdout,
    Buffer(String),
}

/// Nested `fn` calls deeper than this are reported as runaway recursion.
const MAX_CALL_DEPTH: usize = 200;

/// The interpreter state of a session.
pub(crate) struct Interp {
    /// Scopes, innermost last. `scopes[0]` is the global scope.
    pub scopes: Vec<HashMap<String, Val>>,
    /// The index of the first scope visible from the current `fn` body (0 at script level).
    pub frame_base: usize,
    /// Defined functions.
    pub fns: HashMap<String, Arc<FnDef>>,
    /// Defined kernels.
    pub kernels: HashMap<String, Arc<KernelDef>>,
    /// The JIT and its cache.
    pub exec: Exec,
    /// The session's random stream.
    pub rng: Rng,
    /// Where `print` goes.
    pub sink: Sink,
    /// Source texts for diagnostics.
    pub sources: SourceMap,
    /// The directory of each file, for `include`.
    pub dirs: HashMap<FileId, PathBuf>,
    /// Files currently being included (cycle detection).
    pub including: Vec<PathBuf>,
    /// Nesting depth of `fn` calls.
    pub depth: usize,
    /// Nesting depth of `fn` bodies being evaluated (bindings stay lazy when > 0).
    pub in_fn: usize,
    /// Loop nesting, for `break`/`continue` checks.
    pub loops: usize,
    /// Worker threads requested with `threads(n)`.
    pub threads: usize,
    /// Compiled kernels.
    pub kcache: crate::kernels::KernelCache,
    /// Set from another thread (or a signal handler) to stop the program at its next
    /// statement.
    pub interrupt: Arc<std::sync::atomic::AtomicBool>,
    /// When each global name was first bound (a counter).
    pub bound_order: HashMap<String, u64>,
    /// The counter of `bound_order`.
    pub next_order: u64,
    /// Einsum plans by spec, shapes, memory limit and dtype kind.
    pub plans: HashMap<crate::builtins::PlanKey, Arc<ndx_ir::contract::Plan>>,
}

impl Interp {
    pub(crate) fn new() -> Interp {
        let threads = default_threads();
        let mut exec = Exec::default();
        exec.set_threads(threads);
        let interrupt = Arc::new(std::sync::atomic::AtomicBool::new(false));
        exec.interrupt = Some(interrupt.clone());
        Interp {
            scopes: vec![HashMap::new()],
            frame_base: 0,
            fns: HashMap::new(),
            kernels: HashMap::new(),
            exec,
            rng: Rng::new(0),
            sink: Sink::Stdout,
            sources: SourceMap::new(),
            dirs: HashMap::new(),
            including: Vec::new(),
            depth: 0,
            in_fn: 0,
            loops: 0,
            threads,
            kcache: crate::kernels::KernelCache::new(),
            plans: HashMap::new(),
            bound_order: HashMap::new(),
            next_order: 0,
            interrupt,
        }
    }

    /// Looks a name up through the visible scopes.
    pub(crate) fn lookup(&self, name: &str) -> Option<&Val> {
        let visible = self.scopes[self.frame_base..]
            .iter()
            .rev()
            .chain(self.scopes[..1].iter());
        for scope in visible {
            if let Some(v) = scope.get(name) {
                return Some(v);
            }
        }
        None
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Val> {
        let base = self.frame_base;
        let idx = (base..self.scopes.len())
            .rev()
            .chain(std::iter::once(0))
            .find(|&i| self.scopes[i].contains_key(name))?;
        self.scopes[idx].get_mut(name)
    }

    /// Binds in the innermost scope.
    pub(crate) fn bind(&mut self, name: &str, v: Val) {
        if self.scopes.len() == 1 {
            self.note_global(name);
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_string(), v);
        }
    }

    /// Remembers when a global name was first bound (`:vars` calls the earlier of two names
    /// over one buffer the base).
    pub(crate) fn note_global(&mut self, name: &str) {
        if !self.bound_order.contains_key(name) {
            self.next_order += 1;
            self.bound_order.insert(name.to_string(), self.next_order);
        }
    }

    /// Writes `print` output.
    pub(crate) fn write_out(&mut self, text: &str) {
        match &mut self.sink {
            Sink::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                // A closed stdout (a pipe whose reader left) is not worth dying for.
                let _ = out.write_all(text.as_bytes());
            }
            Sink::Buffer(b) => b.push_str(text),
        }
    }

    /// Runs a program's statements at script level; returns the value of a trailing
    /// expression statement.
    pub(crate) fn run_program(&mut self, stmts: &[Stmt]) -> Result<Option<Val>, Diag> {
        let mut last = None;
        for (i, s) in stmts.iter().enumerate() {
            if let (StmtKind::Expr(e), true) = (&s.kind, i + 1 == stmts.len()) {
                let v = self.eval(e)?;
                let v = self.settle(v).at(e.span)?;
                last = Some(v);
                continue;
            }
            match self.stmt(s)? {
                Flow::Normal => {}
                Flow::Break(sp) | Flow::Continue(sp) => {
                    return Err(err_at("E0401", sp, "`break` or `continue` outside a loop"));
                }
                Flow::Return(_, sp) => {
                    return Err(err_at("E0402", sp, "`return` outside a function"))
                }
            }
        }
        Ok(last.filter(|v| !matches!(v, Val::None)))
    }

    /// Materialises a lazy value at script level; keeps it lazy inside a `fn` body.
    pub(crate) fn settle(&mut self, v: Val) -> Result<Val, Diag> {
        match v {
            Val::Lazy(l) if self.in_fn == 0 => Ok(Val::Array(self.exec.materialize(&l)?)),
            other => Ok(other),
        }
    }

    /// Runs a block in a new scope.
    pub(crate) fn block(&mut self, b: &Block) -> Result<Flow, Diag> {
        self.scopes.push(HashMap::new());
        let r = self.stmts(&b.stmts);
        self.scopes.pop();
        r
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<Flow, Diag> {
        for s in stmts {
            match self.stmt(s)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    pub(crate) fn stmt(&mut self, s: &Stmt) -> Result<Flow, Diag> {
        if self.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            self.interrupt
                .store(false, std::sync::atomic::Ordering::Relaxed);
            return Err(err_at("E0405", s.span, "interrupted"));
        }
        match &s.kind {
            StmtKind::Let { name, value } => {
                let v = self.eval(value)?;
                let v = self.settle(v).at(value.span)?;
                self.bind(&name.name, v);
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value, s.span)?,
            StmtKind::Expr(e) => {
                let v = self.eval(e)?;
                // A bare expression at script level is evaluated for its effects; a lazy value
                // is still computed so that its errors surface.
                if let Val::Lazy(l) = v {
                    if self.in_fn == 0 {
                        self.exec.materialize(&l).at(e.span)?;
                    }
                }
            }
            StmtKind::If { cond, then, els } => {
                let c = self.eval(cond)?;
                if self.truth(c, cond.span)? {
                    return self.block(then);
                } else if let Some(els) = els {
                    return self.block(els);
                }
            }
            StmtKind::While { cond, body } => {
                self.loops += 1;
                let r = self.while_loop(cond, body);
                self.loops -= 1;
                return r;
            }
            StmtKind::For { var, iter, body } => {
                self.loops += 1;
                let r = self.for_loop(&var.name, iter, body);
                self.loops -= 1;
                return r;
            }
            StmtKind::Break => {
                if self.loops == 0 {
                    return Err(err_at("E0401", s.span, "`break` outside a loop"));
                }
                return Ok(Flow::Break(s.span));
            }
            StmtKind::Continue => {
                if self.loops == 0 {
                    return Err(err_at("E0401", s.span, "`continue` outside a loop"));
                }
                return Ok(Flow::Continue(s.span));
            }
            StmtKind::Return(e) => {
                if self.in_fn == 0 {
                    return Err(err_at("E0402", s.span, "`return` outside a function"));
                }
                let v = match e {
                    Some(e) => Some(self.eval(e)?),
                    None => None,
                };
                return Ok(Flow::Return(v, s.span));
            }
            StmtKind::Fn(f) => {
                crate::check::check_fn(f)?;
                self.fns.insert(f.name.name.clone(), Arc::new(f.clone()));
                self.kcache.generation += 1;
            }
            StmtKind::Kernel(k) => {
                crate::kernels::check_definition(k, &self.fns, &self.kernels)?;
                self.kernels
                    .insert(k.name.name.clone(), Arc::new(k.clone()));
                self.kcache.generation += 1;
            }
            StmtKind::Include(path) => self.include(path, s.span)?,
        }
        Ok(Flow::Normal)
    }

    fn while_loop(&mut self, cond: &Expr, body: &Block) -> Result<Flow, Diag> {
        loop {
            let c = self.eval(cond)?;
            if !self.truth(c, cond.span)? {
                return Ok(Flow::Normal);
            }
            match self.block(body)? {
                Flow::Break(_) => return Ok(Flow::Normal),
                Flow::Return(v, sp) => return Ok(Flow::Return(v, sp)),
                Flow::Normal | Flow::Continue(_) => {}
            }
        }
    }

    fn for_loop(&mut self, var: &str, iter: &Expr, body: &Block) -> Result<Flow, Diag> {
        let (start, stop, step) = self.range_args(iter)?;
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            self.scopes.push(HashMap::new());
            self.bind(var, Val::int(i));
            let r = self.stmts(&body.stmts);
            self.scopes.pop();
            match r? {
                Flow::Break(_) => break,
                Flow::Return(v, sp) => return Ok(Flow::Return(v, sp)),
                Flow::Normal | Flow::Continue(_) => {}
            }
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        Ok(Flow::Normal)
    }

    /// Evaluates `range(...)`/`prange(...)` into start, stop, step.
    fn range_args(&mut self, iter: &Expr) -> Result<(i64, i64, i64), Diag> {
        let ExprKind::Call { callee, args } = &iter.kind else {
            return Err(err_at(
                "E0403",
                iter.span,
                "a `for` loop iterates over `range(...)` or `prange(...)`",
            ));
        };
        let is_range = matches!(&callee.kind, ExprKind::Name(n) if n == "range" || n == "prange");
        if !is_range || args.iter().any(|a| a.name.is_some()) || args.is_empty() || args.len() > 3 {
            return Err(err_at(
                "E0403",
                iter.span,
                "a `for` loop iterates over `range(stop)` or `range(start, stop[, step])`",
            ));
        }
        let mut nums = Vec::new();
        for a in args {
            let v = self.eval(&a.value)?;
            nums.push(self.as_int(&v, a.value.span)?);
        }
        let (start, stop, step) = match nums.as_slice() {
            [stop] => (0, *stop, 1),
            [start, stop] => (*start, *stop, 1),
            [start, stop, step] => (*start, *stop, *step),
            _ => unreachable_range(),
        };
        if step == 0 {
            return Err(err_at("E0404", iter.span, "range() step must not be zero"));
        }
        Ok((start, stop, step))
    }

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<ndx_syntax::ast::BinOp>,
        value: &Expr,
        span: Span,
    ) -> Result<(), Diag> {
        match &target.kind {
            ExprKind::Name(name) => {
                let Some(current) = self.lookup(name).cloned() else {
                    return Err(err_at(
                        "E0102",
                        target.span,
                        format!("cannot assign to `{name}`: it was never bound"),
                    )
                    .with_note("use `let` to introduce a new name"));
                };
                let rhs = self.eval(value)?;
                let new = match op {
                    None => rhs,
                    Some(op) => {
                        if let Val::Array(dest) = &current {
                            // In-place update of an array: writes through every view of it.
                            let v = self.binary(op, current.clone(), rhs, span)?;
                            let l = self.to_lazy(&v, dest.dtype());
                            self.exec.write_into(&l, dest).at(span)?;
                            return Ok(());
                        }
                        self.binary(op, current, rhs, span)?
                    }
                };
                let new = self.settle(new).at(value.span)?;
                if let Some(slot) = self.lookup_mut(name) {
                    *slot = new;
                }
                Ok(())
            }
            ExprKind::Index { base, items } => {
                let base_v = self.eval(base)?;
                let Val::Array(dest) = base_v else {
                    return Err(err_at(
                        "E0205",
                        base.span,
                        format!("cannot assign through an index of a {}", base_v.kind()),
                    ));
                };
                let rhs = self.eval(value)?;
                let rhs = match op {
                    None => rhs,
                    Some(op) => {
                        let cur = self.index(Val::Array(dest.clone()), items, target.span)?;
                        self.binary(op, cur, rhs, span)?
                    }
                };
                self.assign_index(&dest, items, rhs, span)
            }
            _ => Err(err_at(
                "E0206",
                target.span,
                "can only assign to a name or an indexed array",
            )),
        }
    }

    fn include(&mut self, path: &str, span: Span) -> Result<(), Diag> {
        let dir = self
            .dirs
            .get(&span.file)
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let full = dir.join(path);
        if self.including.contains(&full) {
            return Err(err_at("E0501", span, format!("`{path}` includes itself")));
        }
        let text = std::fs::read_to_string(&full).map_err(|e| {
            err_at(
                "E0502",
                span,
                format!("cannot read `{}`: {e}", full.display()),
            )
        })?;
        let file = self.sources.add(full.display().to_string(), text.clone());
        if let Some(parent) = full.parent() {
            self.dirs.insert(file, parent.to_path_buf());
        }
        let program = ndx_syntax::parse(file, &text)?;
        self.including.push(full);
        let r = self.run_program(&program.stmts);
        self.including.pop();
        r.map(|_| ())
    }

    /// Calls a user `fn`: binds parameters (checking annotations), evaluates the body in a
    /// fresh frame, and returns its (possibly lazy) result.
    pub(crate) fn call_fn(
        &mut self,
        f: &FnDef,
        args: Vec<(Val, Span)>,
        span: Span,
    ) -> Result<Val, Diag> {
        let what = format!("`{}`", f.name.name);
        check_arity(&what, f.params.len(), args.len(), span, f.name.span)?;
        if self.depth >= MAX_CALL_DEPTH {
            return Err(err_at(
                "E0602",
                span,
                "too many nested calls (is a function calling itself?)",
            ));
        }
        let mut frame = HashMap::new();
        let mut sizes: HashMap<String, usize> = HashMap::new();
        for (p, (v, vspan)) in f.params.iter().zip(args) {
            let v = match &p.ann {
                Some(ann) => crate::check::conform(self, v, ann, &mut sizes, vspan)?,
                None => v,
            };
            frame.insert(p.name.name.clone(), v);
        }
        let saved_base = self.frame_base;
        let saved_loops = self.loops;
        self.scopes.push(frame);
        self.frame_base = self.scopes.len() - 1;
        self.depth += 1;
        self.in_fn += 1;
        self.loops = 0;
        let r = self.fn_body(f);
        self.loops = saved_loops;
        self.in_fn -= 1;
        self.depth -= 1;
        self.frame_base = saved_base;
        self.scopes.pop();
        let v = r?;
        match &f.ret {
            Some(ann) => crate::check::conform(self, v, ann, &mut sizes, span),
            None => Ok(v),
        }
    }

    fn fn_body(&mut self, f: &FnDef) -> Result<Val, Diag> {
        match &f.body {
            FnBody::Expr(e) => self.eval(e),
            FnBody::Block(b) => {
                let n = b.stmts.len();
                for (i, s) in b.stmts.iter().enumerate() {
                    if let (StmtKind::Expr(e), true) = (&s.kind, i + 1 == n) {
                        return self.eval(e);
                    }
                    match self.stmt(s)? {
                        Flow::Normal => {}
                        Flow::Return(Some(v), _) => return Ok(v),
                        Flow::Return(None, sp) => {
                            return Err(err_at(
                                "E0603",
                                sp,
                                format!("`{}` must return a value", f.name.name),
                            ));
                        }
                        Flow::Break(sp) | Flow::Continue(sp) => {
                            return Err(err_at(
                                "E0401",
                                sp,
                                "`break` or `continue` outside a loop",
                            ));
                        }
                    }
                }
                Err(Diagnostic::error(
                    "E0603",
                    format!("`{}` has no result expression", f.name.name),
                )
                .with_primary(
                    b.span,
                    "the last statement of a function body must be an expression",
                ))
            }
        }
    }
}

fn default_threads() -> usize {
    std::env::var("NDX_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn unreachable_range() -> (i64, i64, i64) {
    // range_args checks the argument count before matching.
    (0, 0, 1)
}
