//! Expression evaluation: literals, names, operators with NEP 50 promotion and broadcasting,
//! attributes, array literals, and calls.
//!
//! Operators on arrays build [`Lazy`] nodes; operators on weak scalars fold at once. Operand
//! dtypes are unified here (casts inserted) so the fused kernel never promotes.

use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use ndx_ir::promote::{promote, true_divide_type, Ty};
use ndx_ir::shape::{broadcast_shapes, format_shape};
use ndx_runtime::ops::wide_math::{self, WideFn};
use ndx_runtime::{Array, DType, Scalar};
use ndx_syntax::ast::{BinOp, Expr, ExprKind, UnOp};
use ndx_syntax::Span;

impl Interp {
    /// Evaluates an expression. Array results may be lazy.
    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Val, Diag> {
        match &e.kind {
            ExprKind::Int(v) => Ok(Val::Weak {
                value: Scalar::I64(*v),
                lit: true,
            }),
            ExprKind::Float(v) => Ok(Val::Weak {
                value: Scalar::F64(*v),
                lit: true,
            }),
            ExprKind::Bool(v) => Ok(Val::Weak {
                value: Scalar::Bool(*v),
                lit: true,
            }),
            ExprKind::Str(s) => Ok(Val::Str(s.clone())),
            ExprKind::Name(n) => self.name(n, e.span),
            ExprKind::Newaxis => Err(err_at(
                "E0207",
                e.span,
                "`newaxis` can only appear inside an index",
            )),
            ExprKind::Unary(op, a) => {
                let v = self.eval(a)?;
                self.unary(*op, v, e.span)
            }
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let l = self.eval(a)?;
                // Scalars short-circuit as in Python; arrays combine elementwise.
                if matches!(l, Val::Weak { .. }) || matches!(&l, Val::Array(x) if x.ndim() == 0) {
                    let lt = self.truth(l.clone(), a.span)?;
                    if (*op == BinOp::And && !lt) || (*op == BinOp::Or && lt) {
                        return Ok(Val::bool(lt));
                    }
                    let r = self.eval(b)?;
                    if matches!(r, Val::Weak { .. }) {
                        return Ok(Val::bool(self.truth(r, b.span)?));
                    }
                    return self.binary(*op, Val::bool(lt), r, e.span);
                }
                let r = self.eval(b)?;
                self.binary(*op, l, r, e.span)
            }
            ExprKind::Binary(op, a, b) => {
                let l = self.eval(a)?;
                let r = self.eval(b)?;
                self.binary(*op, l, r, e.span)
            }
            ExprKind::Call { callee, args } => self.call(callee, args, e.span),
            ExprKind::Index { base, items } => {
                let b = self.eval(base)?;
                self.index(b, items, e.span)
            }
            ExprKind::Attr { base, name } => {
                let b = self.eval(base)?;
                self.attr(b, &name.name, e.span)
            }
            ExprKind::Tuple(items) => {
                let mut vs = Vec::with_capacity(items.len());
                for it in items {
                    vs.push(self.eval(it)?);
                }
                Ok(Val::Tuple(vs))
            }
            ExprKind::List(items) => self.list(items, e.span),
        }
    }

    fn name(&mut self, n: &str, span: Span) -> Result<Val, Diag> {
        if let Some(v) = self.lookup(n) {
            return Ok(v.clone());
        }
        if let Some(d) = DType::from_name(n) {
            return Ok(Val::DType(d));
        }
        if n == "pi" {
            return Ok(Val::Weak {
                value: Scalar::F64(std::f64::consts::PI),
                lit: true,
            });
        }
        if n == "e" {
            return Ok(Val::Weak {
                value: Scalar::F64(std::f64::consts::E),
                lit: true,
            });
        }
        if n == "inf" {
            return Ok(Val::Weak {
                value: Scalar::F64(f64::INFINITY),
                lit: true,
            });
        }
        if n == "nan" {
            return Ok(Val::Weak {
                value: Scalar::F64(f64::NAN),
                lit: true,
            });
        }
        let mut d = err_at("E0101", span, format!("unknown name `{n}`"));
        if self.fns.contains_key(n)
            || self.kernels.contains_key(n)
            || crate::builtins::is_builtin(n)
        {
            d = d.with_note(format!("`{n}` is a function: call it with `{n}(...)`"));
        }
        Err(d)
    }

    /// A value as a lazy expression of `dtype` (weak literals become constants, other weak
    /// scalars become 0-d inputs so a changing value does not recompile).
    pub(crate) fn to_lazy(&self, v: &Val, dtype: DType) -> Lazy {
        match v {
            Val::Array(a) => Lazy::leaf(a.clone()).cast(dtype),
            Val::Lazy(l) => l.cast(dtype),
            Val::Weak { value, lit: true } => Lazy::constant(value.cast(dtype)),
            Val::Weak { value, lit: false } => Lazy::leaf(Array::scalar(value.cast(dtype))),
            // Callers check is_arraylike first; anything else reads as a zero constant.
            _ => Lazy::constant(Scalar::Bool(false).cast(dtype)),
        }
    }

    /// A value as a lazy expression of its own dtype.
    pub(crate) fn lazy_of(&self, v: &Val, span: Span, what: &str) -> Result<Lazy, Diag> {
        match v.ty() {
            Some(t) => Ok(self.to_lazy(v, weak_default(t))),
            None => Err(err_at(
                "E0208",
                span,
                format!("{what} expects an array or a number, not a {}", v.kind()),
            )),
        }
    }

    /// Applies a unary operator.
    pub(crate) fn unary(&mut self, op: UnOp, v: Val, span: Span) -> Result<Val, Diag> {
        let Some(t) = v.ty() else {
            return Err(err_at(
                "E0208",
                span,
                format!("unary operator cannot be applied to a {}", v.kind()),
            ));
        };
        let (irop, dtype) = match op {
            UnOp::Pos => return Ok(v),
            UnOp::Neg if t.dtype == DType::Bool => {
                return Err(err_at("E0209", span, "cannot negate a bool value")
                    .with_note("use `not x` or `~x`"));
            }
            UnOp::Neg => (UnaryOp::Neg, t.dtype),
            UnOp::Invert if t.dtype.is_float() => {
                return Err(err_at(
                    "E0209",
                    span,
                    format!("`~` is not defined for {}", t.dtype),
                ));
            }
            UnOp::Invert => (UnaryOp::Not, t.dtype),
            UnOp::Not => (UnaryOp::Not, DType::Bool),
        };
        self.apply_unary(irop, v, dtype, t.weak)
    }

    /// Applies an elementwise unary op to `v` cast to `dtype`; weak scalars fold.
    pub(crate) fn apply_unary(
        &mut self,
        op: UnaryOp,
        v: Val,
        dtype: DType,
        keep_weak: bool,
    ) -> Result<Val, Diag> {
        if let Val::Weak { value, lit } = v {
            let x = value.cast(dtype);
            let r = match op.wide() {
                Some(f) if dtype.is_float() => self.library_unary(op, f, x)?,
                _ => ndx_ir::eval::unary(op, x),
            };
            if keep_weak {
                return Ok(Val::Weak { value: r, lit });
            }
            return Ok(Val::Array(Array::scalar(r)));
        }
        let l = self.to_lazy(&v, dtype);
        self.lazy_val(Lazy::unary(op, &l))
    }

    /// `op` (a function of the math library, `f`) of the float scalar `x` by the compiled
    /// library that arrays and kernels use, not by the platform's libm (whose last bit can
    /// differ: `tanh(-0.5)` was 1 ULP from `tanh(x)` of an array holding -0.5, and from a
    /// kernel's): its 512-bit code on one lane where the CPU has it (the same bits), else a
    /// kernel on a 0-d array.
    fn library_unary(&mut self, op: UnaryOp, f: WideFn, x: Scalar) -> Result<Scalar, Diag> {
        match x {
            Scalar::F64(v) => {
                let mut d = [v];
                if wide_math::apply(f, &mut d) {
                    return Ok(Scalar::F64(d[0]));
                }
            }
            Scalar::F32(v) => {
                let mut d = [v];
                if wide_math::apply(f, &mut d) {
                    return Ok(Scalar::F32(d[0]));
                }
            }
            _ => {}
        }
        self.scalar_of(&Lazy::unary(op, &Lazy::leaf(Array::scalar(x))))
    }

    /// The value of the 0-d expression `l`, computed by a kernel.
    fn scalar_of(&mut self, l: &Lazy) -> Result<Scalar, Diag> {
        self.exec
            .materialize(l)?
            .item()
            .map_err(crate::error::runtime_err)
    }

    /// `l` as a value: lazy, or computed now when it is too deep or too large to stay lazy
    /// ([`Lazy::is_large`]: a loop in a `fn` body that keeps adding to a value).
    pub(crate) fn lazy_val(&mut self, l: Lazy) -> Result<Val, Diag> {
        if l.is_large() {
            return Ok(Val::Array(self.exec.materialize(&l)?));
        }
        Ok(Val::Lazy(l))
    }

    /// Applies a binary operator with NumPy promotion and broadcasting.
    pub(crate) fn binary(&mut self, op: BinOp, a: Val, b: Val, span: Span) -> Result<Val, Diag> {
        let irop = match op {
            BinOp::Add => BinaryOp::Add,
            BinOp::Sub => BinaryOp::Sub,
            BinOp::Mul => BinaryOp::Mul,
            BinOp::Div => BinaryOp::Div,
            BinOp::FloorDiv => BinaryOp::FloorDiv,
            BinOp::Mod => BinaryOp::Mod,
            BinOp::Pow => BinaryOp::Pow,
            BinOp::BitAnd | BinOp::And => BinaryOp::BitAnd,
            BinOp::BitOr | BinOp::Or => BinaryOp::BitOr,
            BinOp::BitXor => BinaryOp::BitXor,
            BinOp::Eq => BinaryOp::Eq,
            BinOp::Ne => BinaryOp::Ne,
            BinOp::Lt => BinaryOp::Lt,
            BinOp::Le => BinaryOp::Le,
            BinOp::Gt => BinaryOp::Gt,
            BinOp::Ge => BinaryOp::Ge,
            BinOp::MatMul => return self.matmul(a, span, b, span, span),
        };
        if let (Val::Str(x), Val::Str(y), BinOp::Add) = (&a, &b, op) {
            return Ok(Val::Str(format!("{x}{y}")));
        }
        let (Some(ta), Some(tb)) = (a.ty(), b.ty()) else {
            let bad = if a.ty().is_none() { &a } else { &b };
            return Err(err_at(
                "E0208",
                span,
                format!(
                    "operator `{}` cannot be applied to a {}",
                    op.symbol(),
                    bad.kind()
                ),
            ));
        };
        let (ta, tb) = if matches!(op, BinOp::And | BinOp::Or) {
            (
                Ty {
                    dtype: DType::Bool,
                    weak: ta.weak,
                },
                Ty {
                    dtype: DType::Bool,
                    weak: tb.weak,
                },
            )
        } else {
            (ta, tb)
        };
        let mut common = promote(ta, tb);
        if irop == BinaryOp::Div {
            common = true_divide_type(common);
        }
        if common.dtype == DType::Bool && irop == BinaryOp::Sub {
            return Err(
                err_at("E0209", span, "`-` is not supported for bool values")
                    .with_note("use `^` or `!=` for exclusive or"),
            );
        }
        if common.dtype == DType::Bool
            && matches!(irop, BinaryOp::FloorDiv | BinaryOp::Mod | BinaryOp::Pow)
        {
            // NumPy computes these in int8; ndx has no int8 and uses i64.
            common = Ty {
                dtype: DType::I64,
                weak: common.weak,
            };
        }
        let dtype = weak_default(common);
        if matches!(irop, BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor) && dtype.is_float()
        {
            return Err(err_at(
                "E0209",
                span,
                format!("operator `{}` is not defined for {dtype}", op.symbol()),
            ));
        }
        self.apply_binary(irop, &a, &b, dtype, common.weak, span)
    }

    /// Applies `op` with both operands cast to `dtype`; folds when both are weak.
    pub(crate) fn apply_binary(
        &mut self,
        op: BinaryOp,
        a: &Val,
        b: &Val,
        dtype: DType,
        weak: bool,
        span: Span,
    ) -> Result<Val, Diag> {
        if let (Val::Weak { value: x, lit: la }, Val::Weak { value: y, lit: lb }) = (a, b) {
            let r = match op.wide() {
                // The math library's, as for `tanh` (`library_unary`): built as on arrays (a
                // literal exponent a constant, so `2.0 ** 3` multiplies as `x ** 3` does).
                Some(_) if dtype.is_float() => {
                    let (la, lb) = (self.to_lazy(a, dtype), self.to_lazy(b, dtype));
                    self.scalar_of(&Lazy::binary(op, &la, &lb, Vec::new()))?
                }
                _ => ndx_ir::eval::binary(op, x.cast(dtype), y.cast(dtype)),
            };
            if weak {
                return Ok(Val::Weak {
                    value: r,
                    lit: *la && *lb,
                });
            }
            return Ok(Val::Array(Array::scalar(r)));
        }
        let (sa, sb) = (a.shape().unwrap_or_default(), b.shape().unwrap_or_default());
        let shape = broadcast_shapes(&sa, &sb).map_err(|e| {
            err_at(
                "E0201",
                span,
                format!("operands could not be broadcast together: {e}"),
            )
        })?;
        let la = self.to_lazy(a, dtype);
        let lb = self.to_lazy(b, dtype);
        self.lazy_val(Lazy::binary(op, &la, &lb, shape))
    }

    /// Truth of a condition: a scalar or a size-1 array.
    pub(crate) fn truth(&mut self, v: Val, span: Span) -> Result<bool, Diag> {
        match v {
            Val::Weak { value, .. } => Ok(value.to_bool()),
            Val::Array(a) => {
                if a.size() != 1 {
                    return Err(err_at(
                        "E0210",
                        span,
                        format!(
                            "the truth value of an array of shape {} is ambiguous",
                            format_shape(a.shape())
                        ),
                    )
                    .with_note("use any(...) or all(...)"));
                }
                Ok(a.item().at(span)?.to_bool())
            }
            Val::Lazy(l) => {
                let a = self.exec.materialize(&l).at(span)?;
                self.truth(Val::Array(a), span)
            }
            other => Err(err_at(
                "E0210",
                span,
                format!("a {} cannot be used as a condition", other.kind()),
            )),
        }
    }

    /// An integer from a weak int or an integer 0-d array.
    pub(crate) fn as_int(&mut self, v: &Val, span: Span) -> Result<i64, Diag> {
        match v {
            Val::Weak {
                value: s @ (Scalar::I64(_) | Scalar::I32(_) | Scalar::Bool(_)),
                ..
            } => Ok(s.to_i64()),
            Val::Array(a) if a.size() == 1 && (a.dtype().is_int() || a.dtype() == DType::Bool) => {
                Ok(a.item().at(span)?.to_i64())
            }
            Val::Lazy(l) if l.shape().iter().product::<usize>() == 1 && l.dtype().is_int() => {
                let a = self.exec.materialize(l).at(span)?;
                Ok(a.item().at(span)?.to_i64())
            }
            other => Err(err_at(
                "E0211",
                span,
                format!("expected an integer, found a {}", other.kind()),
            )),
        }
    }

    /// A float from any numeric scalar.
    pub(crate) fn as_f64(&mut self, v: &Val, span: Span) -> Result<f64, Diag> {
        match v {
            Val::Weak { value, .. } => Ok(value.to_f64()),
            Val::Array(a) if a.size() == 1 => Ok(a.item().at(span)?.to_f64()),
            Val::Lazy(l) if l.shape().iter().product::<usize>() == 1 => {
                let a = self.exec.materialize(l).at(span)?;
                Ok(a.item().at(span)?.to_f64())
            }
            other => Err(err_at(
                "E0211",
                span,
                format!("expected a number, found a {}", other.kind()),
            )),
        }
    }

    /// A materialised array from any array-like value.
    pub(crate) fn as_array(&mut self, v: &Val, span: Span) -> Result<Array, Diag> {
        match v {
            Val::Array(a) => Ok(a.clone()),
            Val::Lazy(l) => self.exec.materialize(l).at(span),
            Val::Weak { value, .. } => Ok(Array::scalar(value.cast(weak_default(Ty {
                dtype: value.dtype(),
                weak: true,
            })))),
            Val::Tuple(_) => Err(err_at("E0211", span, "expected an array, found a tuple")
                .with_note("write a list: [1, 2, 3]")),
            other => Err(err_at(
                "E0211",
                span,
                format!("expected an array, found a {}", other.kind()),
            )),
        }
    }

    fn attr(&mut self, b: Val, name: &str, span: Span) -> Result<Val, Diag> {
        let Some(shape) = b.shape() else {
            return Err(err_at(
                "E0212",
                span,
                format!("a {} has no attribute `{name}`", b.kind()),
            ));
        };
        match name {
            "shape" => Ok(Val::Tuple(
                shape.iter().map(|&s| Val::int(s as i64)).collect(),
            )),
            "ndim" => Ok(Val::int(shape.len() as i64)),
            "size" => Ok(Val::int(shape.iter().product::<usize>() as i64)),
            "dtype" => Ok(Val::DType(b.ty().map_or(DType::F64, weak_default))),
            "T" => self.view_op(b, span, &mut |a| a.transpose(None)),
            "strides" => {
                let a = self.as_array(&b, span)?;
                Ok(Val::Tuple(
                    a.strides().iter().map(|&s| Val::int(s as i64)).collect(),
                ))
            }
            _ => Err(err_at("E0212", span, format!("unknown attribute `{name}`"))
                .with_note("arrays have: T, shape, ndim, dtype, size, strides")),
        }
    }

    /// Applies a view operation to a value: directly to an array, pushed down to the leaves of
    /// a lazy expression.
    pub(crate) fn view_op(
        &mut self,
        v: Val,
        span: Span,
        f: &mut dyn FnMut(&Array) -> Result<Array, ndx_runtime::RuntimeError>,
    ) -> Result<Val, Diag> {
        match v {
            Val::Array(a) => Ok(Val::Array(f(&a).at(span)?)),
            Val::Lazy(l) => {
                // Lazy row reductions cannot be viewed: compute them first.
                let l = self.exec.settle(&l)?;
                // Find the viewed shape by applying the view to a zero-stride probe.
                let probe = Array::zeros(DType::Bool, &[])
                    .at(span)?
                    .broadcast_to(l.shape())
                    .at(span)?;
                let shape = f(&probe).at(span)?.shape().to_vec();
                let mut g = |a: &Array| f(a).map_err(crate::error::runtime_err);
                let mapped = l
                    .map_leaves(&mut g, &shape, &crate::error::runtime_err)
                    .at(span)?;
                Ok(Val::Lazy(mapped))
            }
            Val::Weak { .. } => {
                let a = self.as_array(&v, span)?;
                Ok(Val::Array(f(&a).at(span)?))
            }
            other => Err(err_at(
                "E0211",
                span,
                format!("expected an array, found a {}", other.kind()),
            )),
        }
    }

    /// An array literal `[...]`.
    fn list(&mut self, items: &[Expr], span: Span) -> Result<Val, Diag> {
        let mut shape = Vec::new();
        let mut flat = Vec::new();
        self.flatten_list(items, span, 0, &mut shape, &mut flat)?;
        let mut ty: Option<Ty> = None;
        for (v, _) in &flat {
            let t = v.ty().unwrap_or(Ty {
                dtype: DType::F64,
                weak: true,
            });
            ty = Some(match ty {
                None => t,
                Some(p) => promote(p, t),
            });
        }
        let dtype = ty.map_or(DType::F64, |t| {
            weak_default(Ty {
                dtype: t.dtype,
                weak: true,
            })
        });
        let mut scalars = Vec::with_capacity(flat.len());
        for (v, sp) in &flat {
            let s = match v {
                Val::Weak { value, .. } => *value,
                other => {
                    let a = self.as_array(other, *sp)?;
                    a.item().at(*sp)?
                }
            };
            scalars.push(s.cast(dtype));
        }
        Ok(Val::Array(
            Array::from_scalars(dtype, &scalars, &shape).at(span)?,
        ))
    }

    fn flatten_list(
        &mut self,
        items: &[Expr],
        span: Span,
        depth: usize,
        shape: &mut Vec<usize>,
        flat: &mut Vec<(Val, Span)>,
    ) -> Result<(), Diag> {
        if depth == shape.len() {
            shape.push(items.len());
        } else if shape[depth] != items.len() {
            return Err(err_at(
                "E0213",
                span,
                format!(
                    "ragged array literal: expected {} elements at depth {depth}, found {}",
                    shape[depth],
                    items.len()
                ),
            ));
        }
        let nested = items
            .first()
            .is_some_and(|i| matches!(i.kind, ExprKind::List(_)));
        for it in items {
            match (&it.kind, nested) {
                (ExprKind::List(sub), true) => {
                    self.flatten_list(sub, it.span, depth + 1, shape, flat)?
                }
                (ExprKind::List(_), false) | (_, true) => {
                    return Err(err_at(
                        "E0213",
                        it.span,
                        "ragged array literal: nesting depths differ",
                    ));
                }
                (_, false) => {
                    if depth + 1 < shape.len() {
                        return Err(err_at(
                            "E0213",
                            it.span,
                            "ragged array literal: nesting depths differ",
                        ));
                    }
                    let v = self.eval(it)?;
                    match &v {
                        Val::Weak { .. } => {}
                        Val::Array(a) if a.size() == 1 && a.ndim() == 0 => {}
                        Val::Lazy(l) if l.shape().is_empty() => {}
                        other => {
                            return Err(err_at(
                                "E0213",
                                it.span,
                                format!(
                                    "array literal elements must be numbers, found a {}",
                                    other.kind()
                                ),
                            ));
                        }
                    }
                    flat.push((v, it.span));
                }
            }
        }
        Ok(())
    }
}

/// The concrete dtype of a (possibly weak) type: weak ints are i64, weak floats f64.
pub(crate) fn weak_default(t: Ty) -> DType {
    t.dtype
}
