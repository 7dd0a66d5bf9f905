//! The whole-program checks of `ndx check`: in source order, `fn` signatures and `kernel`
//! bodies (lowered where they are defined, against the `fn`s and kernels defined so far) and
//! name resolution; then every top-level kernel is lowered
//! as its first call would lower it (types, inlined calls, `prange` races).

use crate::check::check_fn;
use crate::error::{err_at, Diag};
use ndx_runtime::DType;
use ndx_syntax::ast::{
    Block, Dim, Expr, ExprKind, FnBody, FnDef, IndexItem, KernelDef, Stmt, StmtKind,
};
use std::collections::HashMap;
use std::sync::Arc;

/// The checks of `ndx check`, in source order: `fn` signatures, `kernel` bodies, and name
/// resolution: every name must be bound (by `let`, a `for` variable, a
/// parameter, a `fn` or `kernel`) before it is used, or be a builtin, a dtype or a constant.
/// After an `include`, names the included file might define are not checked.
pub(crate) fn check_program(stmts: &[Stmt]) -> Result<(), Diag> {
    let mut r = Resolver {
        scopes: vec![Vec::new()],
        lenient: false,
        fns: HashMap::new(),
        kernels: HashMap::new(),
    };
    r.stmts(stmts)?;
    crate::kernels::check_kernels(stmts)
}

struct Resolver {
    scopes: Vec<Vec<String>>,
    lenient: bool,
    /// The `fn`s and kernels defined so far, for checking kernel bodies where they appear.
    fns: HashMap<String, Arc<FnDef>>,
    kernels: HashMap<String, Arc<KernelDef>>,
}

impl Resolver {
    fn bound(&self, n: &str) -> bool {
        self.scopes.iter().any(|s| s.iter().any(|m| m == n))
            || crate::builtins::is_builtin(n)
            || DType::from_name(n).is_some()
            || matches!(n, "pi" | "e" | "inf" | "nan")
    }

    fn bind(&mut self, n: &str) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(n.to_string());
        }
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), Diag> {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    fn block(&mut self, b: &Block, names: &[&str]) -> Result<(), Diag> {
        self.scopes
            .push(names.iter().map(|n| n.to_string()).collect());
        let r = self.stmts(&b.stmts);
        self.scopes.pop();
        r
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Diag> {
        match &s.kind {
            StmtKind::Let { name, value } => {
                self.expr(value)?;
                self.bind(&name.name);
            }
            StmtKind::Assign { target, value, .. } => {
                self.expr(value)?;
                match &target.kind {
                    ExprKind::Name(n) if !self.lenient && !self.bound(n) => {
                        return Err(err_at(
                            "E0102",
                            target.span,
                            format!("cannot assign to `{n}`: it was never bound"),
                        )
                        .with_note("use `let` to introduce a new name"));
                    }
                    _ => self.expr(target)?,
                }
            }
            StmtKind::Expr(e) => self.expr(e)?,
            StmtKind::If { cond, then, els } => {
                self.expr(cond)?;
                self.block(then, &[])?;
                if let Some(e) = els {
                    self.block(e, &[])?;
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond)?;
                self.block(body, &[])?;
            }
            StmtKind::For { var, iter, body } => {
                self.expr(iter)?;
                self.block(body, &[&var.name])?;
            }
            StmtKind::Break | StmtKind::Continue => {}
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    self.expr(e)?;
                }
            }
            StmtKind::Fn(f) => {
                check_fn(f)?;
                self.fns.insert(f.name.name.clone(), Arc::new(f.clone()));
                // Bound first so that a body may call itself (the interpreter does the same).
                self.bind(&f.name.name);
                let params: Vec<&str> = f.params.iter().map(|p| p.name.name.as_str()).collect();
                let mut names = params.clone();
                for p in &f.params {
                    if let Some(dims) = p.ann.as_ref().and_then(|a| a.shape.as_ref()) {
                        names.extend(dims.iter().filter_map(|d| {
                            if let Dim::Name(id) = d {
                                Some(id.name.as_str())
                            } else {
                                None
                            }
                        }));
                    }
                }
                // A fn body sees its parameters and the globals.
                let globals = self.scopes.first().cloned().unwrap_or_default();
                let saved = std::mem::replace(&mut self.scopes, vec![globals]);
                let r = match &f.body {
                    FnBody::Expr(e) => {
                        self.scopes
                            .push(names.iter().map(|n| n.to_string()).collect());
                        let r = self.expr(e);
                        self.scopes.pop();
                        r
                    }
                    FnBody::Block(b) => self.block(b, &names),
                };
                self.scopes = saved;
                r?;
            }
            StmtKind::Kernel(k) => {
                crate::kernels::check_definition(k, &self.fns, &self.kernels)?;
                self.kernels
                    .insert(k.name.name.clone(), Arc::new(k.clone()));
                self.bind(&k.name.name);
            }
            StmtKind::Include(_) => self.lenient = true,
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), Diag> {
        match &e.kind {
            ExprKind::Name(n) => {
                if !self.lenient && !self.bound(n) {
                    return Err(err_at("E0101", e.span, format!("unknown name `{n}`")));
                }
            }
            ExprKind::Unary(_, a) => self.expr(a)?,
            ExprKind::Binary(_, a, b) => {
                self.expr(a)?;
                self.expr(b)?;
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee)?;
                for a in args {
                    self.expr(&a.value)?;
                }
            }
            ExprKind::Index { base, items } => {
                self.expr(base)?;
                for it in items {
                    match it {
                        IndexItem::Expr(x) => self.expr(x)?,
                        IndexItem::Slice {
                            start, stop, step, ..
                        } => {
                            for x in [start, stop, step].into_iter().flatten() {
                                self.expr(x)?;
                            }
                        }
                        IndexItem::Ellipsis(_) => {}
                    }
                }
            }
            ExprKind::Attr { base, .. } => self.expr(base)?,
            ExprKind::Tuple(v) | ExprKind::List(v) => v.iter().try_for_each(|x| self.expr(x))?,
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::Newaxis => {}
        }
        Ok(())
    }
}
