//! Lowering kernel statements: blocks, assignments, `return`, loops with the facts that
//! prove bounds, and `prange` race checks.

use super::*;

impl Lower<'_> {
    pub(super) fn new_local(&mut self, d: DType) -> Local {
        self.locals.push(d);
        (self.locals.len() - 1) as Local
    }

    pub(super) fn site(&mut self, span: Span, kind: SiteKind) -> u32 {
        self.sites.push(Site { span, kind });
        (self.sites.len() - 1) as u32
    }

    pub(super) fn frame(&self) -> Result<&Frame, Diag> {
        self.frames
            .last()
            .ok_or_else(|| ndx_syntax::Diagnostic::bug("kernel lowering without a frame"))
    }

    /// The binding of `n` visible from the current frame, and the index of its scope.
    pub(super) fn lookup(&self, n: &str) -> Option<(Bind, usize)> {
        let base = self.frames.last().map_or(0, |f| f.scope_base);
        (base..self.scopes.len())
            .rev()
            .find_map(|i| self.scopes[i].get(n).map(|b| (b.clone(), i)))
    }

    pub(super) fn bind(&mut self, n: &str, b: Bind) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(n.to_string(), b);
        }
    }

    pub(super) fn block(&mut self, b: &Block, out: &mut Vec<KStmt>) -> Result<(), Diag> {
        self.scopes.push(HashMap::new());
        let r = b.stmts.iter().try_for_each(|s| self.stmt(s, out));
        self.scopes.pop();
        r
    }

    pub(super) fn stmt(&mut self, s: &Stmt, out: &mut Vec<KStmt>) -> Result<(), Diag> {
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

    pub(super) fn ret(
        &mut self,
        e: Option<&Expr>,
        span: Span,
        out: &mut Vec<KStmt>,
    ) -> Result<(), Diag> {
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

    pub(super) fn assign(
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
    pub(super) fn shared_update(
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

    pub(super) fn for_loop(
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

    pub(super) fn local_name(&self, l: Local) -> Option<String> {
        self.scopes.iter().rev().find_map(|s| {
            s.iter()
                .find(|(_, b)| matches!(b, Bind::Local(x) if *x == l))
                .map(|(n, _)| n.clone())
        })
    }

    /// The range a loop variable provably stays in, when the loop has the shape the module
    /// docs describe.
    pub(super) fn fact(
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
    pub(super) fn proven(&self, k: u32, axis: usize, ix: &KExpr) -> bool {
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
    pub(super) fn cond(&mut self, e: &Expr) -> Result<KExpr, Diag> {
        let v = self.expr(e)?;
        Ok(v.e.cast(DType::Bool))
    }

    /// The array a name argument refers to, if it is one.
    pub(super) fn array_arg(&self, e: &Expr) -> Option<u32> {
        match &e.kind {
            ExprKind::Name(n) => match self.lookup(n) {
                Some((Bind::Array(k), _)) => Some(k),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn access(
        &mut self,
        base: &Expr,
        items: &[IndexItem],
        span: Span,
    ) -> Result<Access, Diag> {
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
}
