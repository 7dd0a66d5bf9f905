//! Builtin functions (LANGUAGE.md section 5): dispatch by name, elementwise functions, casts,
//! and the argument conversions they share. Constructors and random numbers are in
//! [`construct`], shape, layout, sorting, file and session functions in [`layout`]; reductions
//! are in [`crate::reduce`].

mod construct;
mod contract;
mod layout;
mod linalg;
mod pack;

pub(crate) use contract::PlanKey;

use crate::args::{Args, Bound};
use crate::error::{err_at, Diag};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use ndx_ir::promote::{promote, Ty};
use ndx_ir::shape::broadcast_shapes;
use ndx_runtime::{Array, DType};
use ndx_syntax::ast::{Arg, Expr, ExprKind};
use ndx_syntax::Span;

/// Elementwise functions of one float argument (ints and bools compute in f64).
const FLOAT_FNS: &[(&str, UnaryOp)] = &[
    ("sqrt", UnaryOp::Sqrt),
    ("cbrt", UnaryOp::Cbrt),
    ("exp", UnaryOp::Exp),
    ("exp2", UnaryOp::Exp2),
    ("expm1", UnaryOp::Expm1),
    ("log", UnaryOp::Log),
    ("log2", UnaryOp::Log2),
    ("log10", UnaryOp::Log10),
    ("log1p", UnaryOp::Log1p),
    ("sin", UnaryOp::Sin),
    ("cos", UnaryOp::Cos),
    ("tan", UnaryOp::Tan),
    ("arcsin", UnaryOp::Arcsin),
    ("arccos", UnaryOp::Arccos),
    ("arctan", UnaryOp::Arctan),
    ("sinh", UnaryOp::Sinh),
    ("cosh", UnaryOp::Cosh),
    ("tanh", UnaryOp::Tanh),
    ("erf", UnaryOp::Erf),
];

/// Elementwise functions that keep integer dtypes.
const KEEP_FNS: &[(&str, UnaryOp)] = &[
    ("abs", UnaryOp::Abs),
    ("sign", UnaryOp::Sign),
    ("floor", UnaryOp::Floor),
    ("ceil", UnaryOp::Ceil),
    ("round", UnaryOp::Round),
    ("trunc", UnaryOp::Trunc),
];

/// Every builtin name other than the elementwise tables above.
const OTHER: &[&str] = &[
    "isnan",
    "isinf",
    "isfinite",
    "minimum",
    "maximum",
    "min",
    "max",
    "clip",
    "pow",
    "arctan2",
    "where",
    "astype",
    "sum",
    "prod",
    "mean",
    "var",
    "std",
    "argmin",
    "argmax",
    "any",
    "all",
    "cumsum",
    "cumprod",
    "zeros",
    "ones",
    "save_png",
    "full",
    "zeros_like",
    "ones_like",
    "arange",
    "linspace",
    "eye",
    "seed",
    "rand",
    "randn",
    "uniform",
    "normal",
    "permutation",
    "reshape",
    "transpose",
    "swapaxes",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "ravel",
    "concatenate",
    "stack",
    "copy",
    "ascontiguousarray",
    "asfortranarray",
    "shares_memory",
    "sort",
    "argsort",
    "median",
    "percentile",
    "load",
    "save",
    "memmap",
    "threads",
    "clock",
    "print",
    "range",
    "prange",
];

/// The contraction family (`contract.rs`, `linalg.rs`).
const CONTRACTIONS: &[&str] = &[
    "einsum",
    "einsum_path",
    "matmul",
    "dot",
    "outer",
    "inner",
    "tensordot",
    "trace",
];

/// The elementwise float function called `name`.
pub(crate) fn float_fn(name: &str) -> Option<UnaryOp> {
    FLOAT_FNS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, op)| *op)
}

/// The dtype-keeping elementwise function called `name`.
pub(crate) fn keep_fn(name: &str) -> Option<UnaryOp> {
    KEEP_FNS.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
}

/// True for every builtin function name.
pub(crate) fn is_builtin(name: &str) -> bool {
    FLOAT_FNS.iter().chain(KEEP_FNS).any(|(n, _)| *n == name)
        || OTHER.contains(&name)
        || CONTRACTIONS.contains(&name)
        || DType::from_name(name).is_some()
}

/// All builtin names (for completion and docs).
pub fn builtin_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = FLOAT_FNS.iter().chain(KEEP_FNS).map(|(n, _)| *n).collect();
    v.extend(OTHER);
    v.extend(CONTRACTIONS);
    v.extend(DType::ALL.iter().map(|d| d.name()));
    v
}

impl Interp {
    /// Evaluates a call expression.
    pub(crate) fn call(&mut self, callee: &Expr, args: &[Arg], span: Span) -> Result<Val, Diag> {
        let ExprKind::Name(name) = &callee.kind else {
            return Err(err_at(
                "E0705",
                callee.span,
                "only named functions can be called",
            ));
        };
        let list_of_arrays = name == "concatenate" || name == "stack";
        let mut a = Args {
            name: name.clone(),
            span,
            pos: Vec::new(),
            kw: Vec::new(),
        };
        for arg in args {
            let v = match (&arg.value.kind, list_of_arrays) {
                // `concatenate([a, b])`: the brackets are a list of arrays, not an array literal.
                (ExprKind::List(items), true) => {
                    let mut vs = Vec::with_capacity(items.len());
                    for it in items {
                        vs.push(self.eval(it)?);
                    }
                    Val::Tuple(vs)
                }
                _ => self.eval(&arg.value)?,
            };
            match &arg.name {
                Some(k) => a.kw.push((k.name.clone(), k.span, v, arg.value.span)),
                None => a.pos.push((v, arg.value.span)),
            }
        }
        if let Some(f) = self.fns.get(name).cloned() {
            if let Some((k, ks, _, _)) = a.kw.first() {
                return Err(err_at(
                    "E0702",
                    *ks,
                    format!("`{name}` takes no keyword arguments (got `{k}`)"),
                ));
            }
            return self.call_fn(&f, a.pos, span);
        }
        if let Some(k) = self.kernels.get(name).cloned() {
            return self.call_kernel(&k, a);
        }
        self.builtin(name, a)
    }

    fn builtin(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        if let Some((_, op)) = FLOAT_FNS.iter().find(|(n, _)| *n == name) {
            let b = a.bind(&["x"])?;
            let (v, vs) = b.req(0)?;
            let t = self.numeric(&v, vs, name)?;
            let dtype = if t.dtype.is_float() {
                t.dtype
            } else {
                DType::F64
            };
            return self.apply_unary(*op, v, dtype, false);
        }
        if let Some((_, op)) = KEEP_FNS.iter().find(|(n, _)| *n == name) {
            let b = a.bind(&["x"])?;
            let (v, vs) = b.req(0)?;
            let t = self.numeric(&v, vs, name)?;
            let identity = !t.dtype.is_float() && *op != UnaryOp::Abs && *op != UnaryOp::Sign;
            if identity || (t.dtype == DType::Bool && *op == UnaryOp::Abs) {
                return Ok(v);
            }
            return self.apply_unary(*op, v, t.dtype, t.weak);
        }
        if let Some(d) = DType::from_name(name) {
            let b = a.bind(&["x"])?;
            let (v, vs) = b.req(0)?;
            return self.cast(v, d, vs);
        }
        if CONTRACTIONS.contains(&name) {
            return self.builtin_contract(name, a);
        }
        match name {
            "isnan" | "isinf" | "isfinite" => {
                let b = a.bind(&["x"])?;
                let (v, vs) = b.req(0)?;
                let t = self.numeric(&v, vs, name)?;
                let op = match name {
                    "isnan" => UnaryOp::IsNan,
                    "isinf" => UnaryOp::IsInf,
                    _ => UnaryOp::IsFinite,
                };
                self.apply_unary(op, v, t.dtype, false)
            }
            "minimum" | "maximum" | "arctan2" | "pow" => {
                let b = a.bind(&["x1", "x2"])?;
                self.binary_fn(name, &b)
            }
            "min" | "max" if a.pos.len() == 2 => {
                let b = a.bind(&["x1", "x2"])?;
                self.binary_fn(if name == "min" { "minimum" } else { "maximum" }, &b)
            }
            "clip" => {
                let b = a.bind(&["a", "a_min", "a_max"])?;
                let (x, _) = b.req(0)?;
                let (lo, los) = b.req(1)?;
                let (hi, his) = b.req(2)?;
                let lower = self.binary_op_fn(BinaryOp::Max, x, lo, los)?;
                self.binary_op_fn(BinaryOp::Min, lower, hi, his)
            }
            "where" => {
                let b = a.bind(&["condition", "x", "y"])?;
                self.where_fn(&b)
            }
            "astype" => {
                let b = a.bind(&["x", "dtype"])?;
                let (v, vs) = b.req(0)?;
                let (d, ds) = b.req(1)?;
                let d = as_dtype(&d, ds)?;
                self.cast(v, d, vs)
            }
            "sum" | "prod" | "mean" | "any" | "all" | "argmin" | "argmax" | "min" | "max" => {
                let b = a.bind(&["a", "axis", "keepdims"])?;
                self.reduction(name, &b, None)
            }
            "var" | "std" => {
                let b = a.bind(&["a", "axis", "ddof", "keepdims"])?;
                let ddof = match b.opt(2) {
                    Some((v, s)) => self.as_f64(&v, s)?,
                    None => 0.0,
                };
                let b4 = a.bind(&["a", "axis", "ddof", "keepdims"])?;
                self.reduction_with_ddof(name, &b4, ddof)
            }
            "cumsum" | "cumprod" => {
                let b = a.bind(&["a", "axis"])?;
                self.cumulative(name, &b)
            }
            _ => self.builtin_more(name, a),
        }
    }

    pub(super) fn numeric(&self, v: &Val, span: Span, name: &str) -> Result<Ty, Diag> {
        v.ty().ok_or_else(|| {
            err_at(
                "E0208",
                span,
                format!("`{name}` expects an array or a number, not a {}", v.kind()),
            )
        })
    }

    fn binary_fn(&mut self, name: &str, b: &Bound) -> Result<Val, Diag> {
        let (x, _) = b.req(0)?;
        let (y, _) = b.req(1)?;
        let op = match name {
            "minimum" => BinaryOp::Min,
            "maximum" => BinaryOp::Max,
            "arctan2" => BinaryOp::Arctan2,
            _ => BinaryOp::Pow,
        };
        self.binary_op_fn(op, x, y, b.span())
    }

    /// A binary elementwise function with promotion (strong result for functions).
    fn binary_op_fn(&mut self, op: BinaryOp, x: Val, y: Val, span: Span) -> Result<Val, Diag> {
        let (Some(tx), Some(ty)) = (x.ty(), y.ty()) else {
            return Err(err_at("E0208", span, "expected arrays or numbers"));
        };
        let mut common = promote(tx, ty);
        if op == BinaryOp::Arctan2 && !common.dtype.is_float() {
            common = Ty {
                dtype: DType::F64,
                weak: common.weak,
            };
        }
        if op == BinaryOp::Pow {
            return self.apply_binary(op, &x, &y, common.dtype, common.weak, span);
        }
        self.apply_binary(op, &x, &y, common.dtype, common.weak, span)
    }

    fn where_fn(&mut self, b: &Bound) -> Result<Val, Diag> {
        let (c, cs) = b.req(0)?;
        let (x, xs) = b.req(1)?;
        let (y, ys) = b.req(2)?;
        self.numeric(&c, cs, "where")?;
        let tx = self.numeric(&x, xs, "where")?;
        let ty = self.numeric(&y, ys, "where")?;
        let dtype = promote(tx, ty).dtype;
        let shapes = [c.shape(), x.shape(), y.shape()].map(|s| s.unwrap_or_default());
        let shape = broadcast_shapes(&shapes[0], &shapes[1])
            .and_then(|s| broadcast_shapes(&s, &shapes[2]))
            .map_err(|e| {
                err_at(
                    "E0201",
                    b.span(),
                    format!("operands could not be broadcast together: {e}"),
                )
            })?;
        let lc = self.to_lazy(&c, DType::Bool);
        let lx = self.to_lazy(&x, dtype);
        let ly = self.to_lazy(&y, dtype);
        self.lazy_val(Lazy::select(&lc, &lx, &ly, shape))
    }

    /// An explicit cast: the result is strong.
    pub(crate) fn cast(&mut self, v: Val, d: DType, span: Span) -> Result<Val, Diag> {
        match &v {
            Val::Weak { value, .. } => Ok(Val::Array(Array::scalar(value.cast(d)))),
            Val::Array(_) | Val::Lazy(_) => Ok(Val::Lazy(self.to_lazy(&v, d))),
            other => Err(err_at(
                "E0208",
                span,
                format!("cannot convert a {} to {d}", other.kind()),
            )),
        }
    }

    /// `axis=` as an optional single axis (negative allowed, normalised by the runtime).
    pub(crate) fn opt_axis(&mut self, b: &Bound, i: usize) -> Result<Option<isize>, Diag> {
        match b.opt(i) {
            None => Ok(None),
            Some((v, s)) => Ok(Some(self.as_int(&v, s)? as isize)),
        }
    }

    /// A shape argument: an int or a tuple of non-negative ints.
    pub(crate) fn as_shape(&mut self, v: &Val, span: Span) -> Result<Vec<usize>, Diag> {
        let items: Vec<Val> = match v {
            Val::Tuple(items) => items.clone(),
            other => vec![other.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        for it in &items {
            let n = self.as_int(it, span)?;
            out.push(usize::try_from(n).map_err(|_| {
                err_at("E0230", span, format!("negative dimension {n} in a shape"))
            })?);
        }
        Ok(out)
    }

    /// A list of axes (an int or a tuple of ints), not normalised.
    pub(crate) fn as_axes(&mut self, v: &Val, span: Span) -> Result<Vec<i64>, Diag> {
        match v {
            Val::Tuple(items) => items.iter().map(|it| self.as_int(it, span)).collect(),
            other => Ok(vec![self.as_int(other, span)?]),
        }
    }

    pub(super) fn opt_dtype(&self, b: &Bound, i: usize, default: DType) -> Result<DType, Diag> {
        match b.opt(i) {
            Some((v, s)) => as_dtype(&v, s),
            None => Ok(default),
        }
    }
}

pub(crate) fn as_dtype(v: &Val, span: Span) -> Result<DType, Diag> {
    match v {
        Val::DType(d) => Ok(*d),
        other => Err(err_at(
            "E0236",
            span,
            format!(
                "expected a dtype (bool, i32, i64, f32, f64), found a {}",
                other.kind()
            ),
        )),
    }
}

pub(super) fn as_str(v: &Val, span: Span) -> Result<String, Diag> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(err_at(
            "E0237",
            span,
            format!("expected a string, found a {}", other.kind()),
        )),
    }
}
