//! Static checks: `fn` annotations (and conforming arguments to them), and the type check of
//! `kernel` bodies.
//!
//! Kernel bodies are scalar code (LANGUAGE.md section 4): every local is typed by its first
//! assignment, later assignments must keep that type, element accesses must give one index per
//! dimension of the annotated array, and names must be bound before use. Compiling kernels is a
//! separate stage; this module only guarantees that a kernel that passes is well-typed.

use crate::error::{err_at, Diag};
use crate::interp::Interp;
use crate::value::Val;
use ndx_ir::promote::{promote, Ty};
use ndx_runtime::{DType, Scalar};
use ndx_syntax::ast::{
    BinOp, Block, Dim, Expr, ExprKind, FnDef, IndexItem, KernelDef, Stmt, StmtKind, TypeAnn, UnOp,
};
use ndx_syntax::Span;
use std::collections::HashMap;

/// The dtype named by an annotation.
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

/// Checks a `fn` definition's signature.
pub(crate) fn check_fn(f: &FnDef) -> Result<(), Diag> {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for p in &f.params {
        if let Some(prev) = seen.insert(&p.name.name, p.name.span) {
            return Err(err_at(
                "E0802",
                p.name.span,
                format!("parameter `{}` appears twice", p.name.name),
            )
            .with_secondary(prev, "first here"));
        }
        if let Some(a) = &p.ann {
            ann_dtype(a)?;
        }
    }
    if let Some(a) = &f.ret {
        ann_dtype(a)?;
    }
    Ok(())
}

/// Conforms a value to an annotation: weak scalars take the annotated dtype; arrays must have
/// the annotated dtype and a shape that agrees with the named sizes seen so far.
pub(crate) fn conform(
    interp: &mut Interp,
    v: Val,
    ann: &TypeAnn,
    sizes: &mut HashMap<String, usize>,
    span: Span,
) -> Result<Val, Diag> {
    let d = ann_dtype(ann)?;
    let v = match v {
        Val::Weak { value, lit } => {
            let ok = match value {
                Scalar::F64(_) | Scalar::F32(_) => d.is_float(),
                Scalar::I64(_) | Scalar::I32(_) => d != DType::Bool,
                Scalar::Bool(_) => true,
            };
            if !ok {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected {d}, found a {}", Val::Weak { value, lit }.kind()),
                )
                .with_secondary(ann.span, "annotated here"));
            }
            // A weak scalar passed to an annotated parameter takes the parameter's dtype.
            Val::Array(ndx_runtime::Array::scalar(value.cast(d)))
        }
        other => {
            let Some(t) = other.ty() else {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected a {d} value, found a {}", other.kind()),
                ));
            };
            if t.dtype != d {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected {d}, found {}", other.kind()),
                )
                .with_secondary(ann.span, "annotated here")
                .with_note(format!("convert explicitly with {d}(...)")));
            }
            other
        }
    };
    if let Some(dims) = &ann.shape {
        let shape = v.shape().unwrap_or_default();
        if shape.len() != dims.len() {
            return Err(err_at(
                "E0804",
                span,
                format!(
                    "expected a {}-dimensional array, found shape {}",
                    dims.len(),
                    ndx_ir::shape::format_shape(&shape)
                ),
            )
            .with_secondary(ann.span, "annotated here"));
        }
        for (dim, &n) in dims.iter().zip(&shape) {
            match dim {
                Dim::Any(_) => {}
                Dim::Fixed(k, ks) => {
                    if *k != n as i64 {
                        return Err(
                            err_at("E0804", span, format!("expected size {k}, found {n}"))
                                .with_secondary(*ks, "required here"),
                        );
                    }
                }
                Dim::Name(id) => match sizes.get(&id.name) {
                    Some(&m) if m != n => {
                        return Err(err_at(
                            "E0804",
                            span,
                            format!("size `{}` is {m} elsewhere but {n} here", id.name),
                        )
                        .with_secondary(id.span, "size named here"));
                    }
                    _ => {
                        sizes.insert(id.name.clone(), n);
                    }
                },
            }
        }
    }
    let _ = interp;
    Ok(v)
}

/// A kernel-body type: a scalar, an array parameter, or unknown (no checks).
#[derive(Clone, Copy, Debug, PartialEq)]
enum KTy {
    Scalar(Ty),
    Array(DType, usize),
    Shape(usize),
    Unknown,
}

struct KernelChecker<'a> {
    name: &'a str,
    scopes: Vec<HashMap<String, KTy>>,
    ret: Option<(Ty, Span)>,
}

/// Type-checks a kernel definition.
pub(crate) fn check_kernel(k: &KernelDef) -> Result<(), Diag> {
    let mut globals = HashMap::new();
    for p in &k.params {
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
                globals.insert(p.name.name.clone(), KTy::Array(d, dims.len()));
                for dim in dims {
                    if let Dim::Name(id) = dim {
                        globals.insert(
                            id.name.clone(),
                            KTy::Scalar(Ty {
                                dtype: DType::I64,
                                weak: true,
                            }),
                        );
                    }
                }
            }
            None => {
                globals.insert(
                    p.name.name.clone(),
                    KTy::Scalar(Ty {
                        dtype: d,
                        weak: false,
                    }),
                );
            }
        }
    }
    let mut c = KernelChecker {
        name: &k.name.name,
        scopes: vec![globals],
        ret: None,
    };
    if let Some(r) = &k.ret {
        c.ret = Some((
            Ty {
                dtype: ann_dtype(r)?,
                weak: false,
            },
            r.span,
        ));
    }
    c.block(&k.body)
}

impl KernelChecker<'_> {
    fn lookup(&self, n: &str) -> Option<KTy> {
        self.scopes.iter().rev().find_map(|s| s.get(n).copied())
    }

    fn block(&mut self, b: &Block) -> Result<(), Diag> {
        self.scopes.push(HashMap::new());
        let r = b.stmts.iter().try_for_each(|s| self.stmt(s));
        self.scopes.pop();
        r
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Diag> {
        match &s.kind {
            StmtKind::Let { name, value } => {
                let t = self.expr(value)?;
                if let Some(scope) = self.scopes.last_mut() {
                    scope.insert(name.name.clone(), settle(t));
                }
            }
            StmtKind::Assign { target, op, value } => {
                let vt = self.expr(value)?;
                match &target.kind {
                    ExprKind::Name(n) => {
                        let Some(cur) = self.lookup(n) else {
                            return Err(err_at(
                                "E0811",
                                target.span,
                                format!("`{n}` is assigned before it is defined"),
                            )
                            .with_note("introduce it with `let`"));
                        };
                        let new = match op {
                            Some(op) => binary_ty(*op, cur, vt),
                            None => vt,
                        };
                        if let (KTy::Scalar(c), KTy::Scalar(t)) = (cur, new) {
                            if !assignable(c, t) {
                                return Err(err_at(
                                    "E0812",
                                    value.span,
                                    format!(
                                        "`{n}` has type {} but this value is {}",
                                        c.dtype, t.dtype
                                    ),
                                )
                                .with_note(
                                    "a kernel local keeps the type of its first assignment",
                                ));
                            }
                        }
                        if matches!(cur, KTy::Array(..)) {
                            return Err(err_at("E0813", target.span, format!("cannot rebind array parameter `{n}`; assign elements with `{n}[i] = ...`")));
                        }
                    }
                    ExprKind::Index { .. } => {
                        self.expr(target)?;
                    }
                    _ => {
                        return Err(err_at(
                            "E0206",
                            target.span,
                            "can only assign to a name or an array element",
                        ))
                    }
                }
            }
            StmtKind::Expr(e) => {
                self.expr(e)?;
            }
            StmtKind::If { cond, then, els } => {
                self.expr(cond)?;
                self.block(then)?;
                if let Some(e) = els {
                    self.block(e)?;
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond)?;
                self.block(body)?;
            }
            StmtKind::For { var, iter, body } => {
                let ok = matches!(&iter.kind, ExprKind::Call { callee, args }
                    if matches!(&callee.kind, ExprKind::Name(n) if n == "range" || n == "prange")
                        && (1..=3).contains(&args.len()));
                if !ok {
                    return Err(err_at(
                        "E0403",
                        iter.span,
                        "a `for` loop iterates over `range(...)` or `prange(...)`",
                    ));
                }
                if let ExprKind::Call { args, .. } = &iter.kind {
                    for a in args {
                        let t = self.expr(&a.value)?;
                        if let KTy::Scalar(t) = t {
                            if !(t.dtype.is_int() || t.dtype == DType::Bool) {
                                return Err(err_at(
                                    "E0814",
                                    a.value.span,
                                    format!("range bounds must be integers, found {}", t.dtype),
                                ));
                            }
                        }
                    }
                }
                self.scopes.push(HashMap::from([(
                    var.name.clone(),
                    KTy::Scalar(Ty {
                        dtype: DType::I64,
                        weak: true,
                    }),
                )]));
                let r = self.block(body);
                self.scopes.pop();
                r?;
            }
            StmtKind::Break | StmtKind::Continue => {}
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    if let KTy::Scalar(t) = self.expr(e)? {
                        match self.ret {
                            Some((r, rs)) if !assignable(r, t) => {
                                return Err(err_at(
                                    "E0815",
                                    e.span,
                                    format!("kernel `{}` returns {} here", self.name, t.dtype),
                                )
                                .with_secondary(rs, format!("but its result is {}", r.dtype)));
                            }
                            None => self.ret = Some((settle_ty(t), e.span)),
                            _ => {}
                        }
                    }
                }
            }
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

    fn expr(&mut self, e: &Expr) -> Result<KTy, Diag> {
        Ok(match &e.kind {
            ExprKind::Int(_) => KTy::Scalar(Ty {
                dtype: DType::I64,
                weak: true,
            }),
            ExprKind::Float(_) => KTy::Scalar(Ty {
                dtype: DType::F64,
                weak: true,
            }),
            ExprKind::Bool(_) => KTy::Scalar(Ty {
                dtype: DType::Bool,
                weak: true,
            }),
            ExprKind::Str(_) => KTy::Unknown,
            ExprKind::Newaxis => {
                return Err(err_at(
                    "E0817",
                    e.span,
                    "`newaxis` is not allowed in a kernel",
                ))
            }
            ExprKind::Name(n) => match self.lookup(n) {
                Some(t) => t,
                None if n == "pi" || n == "e" || n == "inf" || n == "nan" => KTy::Scalar(Ty {
                    dtype: DType::F64,
                    weak: true,
                }),
                None => {
                    return Err(err_at(
                        "E0101",
                        e.span,
                        format!("unknown name `{n}` in kernel `{}`", self.name),
                    ))
                }
            },
            ExprKind::Unary(op, a) => {
                let t = self.expr(a)?;
                match (op, t) {
                    (UnOp::Not, _) => KTy::Scalar(Ty {
                        dtype: DType::Bool,
                        weak: false,
                    }),
                    (_, t) => t,
                }
            }
            ExprKind::Binary(op, a, b) => {
                let (ta, tb) = (self.expr(a)?, self.expr(b)?);
                if matches!(ta, KTy::Array(..)) || matches!(tb, KTy::Array(..)) {
                    return Err(err_at(
                        "E0818",
                        e.span,
                        "kernel code is scalar: index arrays element by element",
                    ));
                }
                binary_ty(*op, ta, tb)
            }
            ExprKind::Call { callee, args } => {
                for a in args {
                    self.expr(&a.value)?;
                }
                match &callee.kind {
                    ExprKind::Name(n) => match DType::from_name(n) {
                        Some(d) => KTy::Scalar(Ty {
                            dtype: d,
                            weak: false,
                        }),
                        None if n == "rand" || n == "randn" => KTy::Scalar(Ty {
                            dtype: DType::F64,
                            weak: false,
                        }),
                        None => KTy::Unknown,
                    },
                    _ => KTy::Unknown,
                }
            }
            ExprKind::Index { base, items } => {
                let bt = self.expr(base)?;
                for it in items {
                    match it {
                        IndexItem::Expr(x) => {
                            if let KTy::Scalar(t) = self.expr(x)? {
                                if !(t.dtype.is_int() || t.dtype == DType::Bool) {
                                    return Err(err_at(
                                        "E0819",
                                        x.span,
                                        format!("an index must be an integer, found {}", t.dtype),
                                    ));
                                }
                            }
                        }
                        _ => {
                            return Err(err_at(
                                "E0820",
                                e.span,
                                "kernels index single elements: slices are not allowed",
                            ))
                        }
                    }
                }
                match bt {
                    KTy::Array(d, rank) => {
                        if items.len() != rank {
                            return Err(err_at(
                                "E0821",
                                e.span,
                                format!("this array has {rank} dimension(s) but {} index(es) were given", items.len()),
                            ));
                        }
                        KTy::Scalar(Ty {
                            dtype: d,
                            weak: false,
                        })
                    }
                    KTy::Shape(_) => KTy::Scalar(Ty {
                        dtype: DType::I64,
                        weak: true,
                    }),
                    KTy::Scalar(_) => {
                        return Err(err_at("E0822", base.span, "a scalar cannot be indexed"))
                    }
                    KTy::Unknown => KTy::Unknown,
                }
            }
            ExprKind::Attr { base, name } => {
                let bt = self.expr(base)?;
                match (bt, name.name.as_str()) {
                    (KTy::Array(_, r), "shape") => KTy::Shape(r),
                    (KTy::Array(..), "ndim" | "size") => KTy::Scalar(Ty {
                        dtype: DType::I64,
                        weak: true,
                    }),
                    _ => {
                        return Err(err_at(
                            "E0212",
                            name.span,
                            format!("unknown attribute `{}` in a kernel", name.name),
                        ))
                    }
                }
            }
            ExprKind::Tuple(_) | ExprKind::List(_) => {
                return Err(err_at(
                    "E0823",
                    e.span,
                    "tuples and array literals are not allowed in kernels",
                ));
            }
        })
    }
}

fn binary_ty(op: BinOp, a: KTy, b: KTy) -> KTy {
    let (KTy::Scalar(a), KTy::Scalar(b)) = (a, b) else {
        return KTy::Unknown;
    };
    match op {
        BinOp::Eq
        | BinOp::Ne
        | BinOp::Lt
        | BinOp::Le
        | BinOp::Gt
        | BinOp::Ge
        | BinOp::And
        | BinOp::Or => KTy::Scalar(Ty {
            dtype: DType::Bool,
            weak: false,
        }),
        BinOp::Div => KTy::Scalar(ndx_ir::promote::true_divide_type(promote(a, b))),
        _ => KTy::Scalar(promote(a, b)),
    }
}

/// A local keeps the concrete type of its first value (weak literals settle to i64/f64/bool).
fn settle(t: KTy) -> KTy {
    match t {
        KTy::Scalar(t) => KTy::Scalar(settle_ty(t)),
        other => other,
    }
}

fn settle_ty(t: Ty) -> Ty {
    Ty {
        dtype: t.dtype,
        weak: false,
    }
}

/// Whether a value of type `t` may be assigned to a local of type `to`.
fn assignable(to: Ty, t: Ty) -> bool {
    if t.weak {
        return match t.dtype {
            DType::F32 | DType::F64 => to.dtype.is_float(),
            DType::I32 | DType::I64 => to.dtype != DType::Bool,
            DType::Bool => true,
        };
    }
    to.dtype == t.dtype
}
