//! Lowering kernel expressions: literals, names, element reads, operators with NEP 50
//! typing, builtins, and inlined calls of `fn`s and kernels.

use super::*;

impl Lower<'_> {
    pub(super) fn expr(&mut self, e: &Expr) -> Result<T, Diag> {
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

    pub(super) fn shape_entry(
        &mut self,
        base: &Expr,
        items: &[IndexItem],
        span: Span,
    ) -> Result<T, Diag> {
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

    pub(super) fn unary(&mut self, op: UnOp, v: T, span: Span) -> Result<T, Diag> {
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

    pub(super) fn binary(&mut self, op: BinOp, x: T, y: T, span: Span) -> Result<T, Diag> {
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
    pub(super) fn binop(&mut self, op: BinaryOp, t: Ty, x: KExpr, y: KExpr, span: Span) -> T {
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

    pub(super) fn call(
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
            // (`abs`, `sign` and the roundings keep a weak scalar weak, as array code does:
            // `abs(-0.75) / x` is `f32` for an `f32` `x`.)
            return Ok(T {
                e: fold_unary(op, d, v.e),
                weak: v.weak,
            });
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
            _ => {
                self.unknown_callee = true;
                Err(err_at(
                    "E0101",
                    callee.span,
                    format!(
                        "unknown function `{name}` in kernel `{}`",
                        self.frame()?.name
                    ),
                ))
            }
        }
    }

    pub(super) fn enter(&mut self, name: &str, span: Span) -> Result<(), Diag> {
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
    pub(super) fn bind_scalar_arg(
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

    pub(super) fn push_frame(
        &mut self,
        name: &str,
        ret: Option<(DType, Span)>,
        scope: HashMap<String, Bind>,
    ) {
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

    pub(super) fn pop_frame(&mut self) -> Option<Frame> {
        self.scopes.pop();
        self.stack.pop();
        self.frames.pop()
    }

    pub(super) fn inline_fn(
        &mut self,
        f: &FnDef,
        args: &[ndx_syntax::ast::Arg],
        span: Span,
    ) -> Result<T, Diag> {
        let what = format!("`{}`", f.name.name);
        check_arity(&what, f.params.len(), args.len(), span, f.name.span)?;
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

    pub(super) fn fn_body(&mut self, f: &FnDef, body: &mut Vec<KStmt>) -> Result<T, Diag> {
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

    pub(super) fn inline_kernel(
        &mut self,
        k: &KernelDef,
        args: &[ndx_syntax::ast::Arg],
        span: Span,
    ) -> Result<T, Diag> {
        let what = format!("kernel `{}`", k.name.name);
        check_arity(&what, k.params.len(), args.len(), span, k.name.span)?;
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
