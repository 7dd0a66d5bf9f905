//! Builtin functions (LANGUAGE.md section 5): dispatch by name, elementwise functions, casts,
//! constructors, random numbers, shape and layout operations, sorting, files and session
//! functions. Reductions are in [`crate::reduce`].

use crate::args::{Args, Bound};
use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use ndx_ir::promote::{promote, Ty};
use ndx_ir::shape::broadcast_shapes;
use ndx_runtime::{npy, ops, Array, DType, MapMode, Order, Scalar};
use ndx_syntax::ast::{Arg, Expr, ExprKind};
use ndx_syntax::Span;
use std::path::PathBuf;

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

/// The contraction family: a separate issue.
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
        if let Some(k) = self.kernels.get(name) {
            return Err(err_at(
                "E0902",
                span,
                format!("calling kernel `{name}` is not yet supported: kernel compilation is not implemented yet"),
            )
            .with_secondary(k.name.span, "kernel defined here"));
        }
        self.builtin(name, a)
    }

    fn builtin(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
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
            return Err(err_at(
                "E0901",
                span,
                format!(
                    "`{name}` is not yet supported: the contraction family is not implemented yet"
                ),
            ));
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
                let (v, vs) = b.req(0)?;
                let arr = self.as_array(&v, vs)?;
                let axis = self.opt_axis(&b, 1)?;
                let r = if name == "cumsum" {
                    ops::cumsum(&arr, axis)
                } else {
                    ops::cumprod(&arr, axis)
                };
                Ok(Val::Array(r.at(span)?))
            }
            _ => self.builtin_more(name, a),
        }
    }

    fn numeric(&self, v: &Val, span: Span, name: &str) -> Result<Ty, Diag> {
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
        Ok(Val::Lazy(Lazy::select(&lc, &lx, &ly, shape)))
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

    fn opt_dtype(&self, b: &Bound, i: usize, default: DType) -> Result<DType, Diag> {
        match b.opt(i) {
            Some((v, s)) => as_dtype(&v, s),
            None => Ok(default),
        }
    }

    fn builtin_more(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        match name {
            "zeros" | "ones" => {
                let b = a.bind(&["shape", "dtype"])?;
                let (v, vs) = b.req(0)?;
                let shape = self.as_shape(&v, vs)?;
                let d = self.opt_dtype(&b, 1, DType::F64)?;
                let fill = if name == "ones" { 1 } else { 0 };
                Ok(Val::Array(
                    Array::full(&shape, Scalar::I64(fill).cast(d)).at(span)?,
                ))
            }
            "full" => {
                let b = a.bind(&["shape", "fill_value", "dtype"])?;
                let (v, vs) = b.req(0)?;
                let shape = self.as_shape(&v, vs)?;
                let (f, fs) = b.req(1)?;
                let fill = self.as_array(&f, fs)?.item().at(fs)?;
                let d = self.opt_dtype(&b, 2, fill.dtype())?;
                Ok(Val::Array(Array::full(&shape, fill.cast(d)).at(span)?))
            }
            "zeros_like" | "ones_like" => {
                let b = a.bind(&["a", "dtype"])?;
                let (v, vs) = b.req(0)?;
                let Some(t) = v.ty() else {
                    return Err(err_at("E0208", vs, format!("`{name}` expects an array")));
                };
                let shape = v.shape().unwrap_or_default();
                let d = self.opt_dtype(&b, 1, t.dtype)?;
                let fill = if name == "ones_like" { 1 } else { 0 };
                Ok(Val::Array(
                    Array::full(&shape, Scalar::I64(fill).cast(d)).at(span)?,
                ))
            }
            "arange" => self.arange(a),
            "linspace" => {
                let b = a.bind(&["start", "stop", "num", "endpoint", "dtype"])?;
                let (s, ss) = b.req(0)?;
                let (e, es) = b.req(1)?;
                let (start, stop) = (self.as_f64(&s, ss)?, self.as_f64(&e, es)?);
                let num = match b.opt(2) {
                    Some((v, vs)) => {
                        let n = self.as_int(&v, vs)?;
                        usize::try_from(n).map_err(|_| {
                            err_at(
                                "E0231",
                                vs,
                                format!("number of samples, {n}, must be non-negative"),
                            )
                        })?
                    }
                    None => 50,
                };
                let endpoint = match b.opt(3) {
                    Some((v, vs)) => self.truth(v, vs)?,
                    None => true,
                };
                let d = self.opt_dtype(&b, 4, DType::F64)?;
                Ok(Val::Array(
                    ops::linspace(start, stop, num, endpoint, d).at(span)?,
                ))
            }
            "eye" => {
                let b = a.bind(&["N", "M", "dtype"])?;
                let (n, ns) = b.req(0)?;
                let n = self.as_shape(&n, ns)?.first().copied().unwrap_or(0);
                let m = match b.opt(1) {
                    Some((v, vs)) => Some(self.as_shape(&v, vs)?.first().copied().unwrap_or(0)),
                    None => None,
                };
                let d = self.opt_dtype(&b, 2, DType::F64)?;
                Ok(Val::Array(ops::eye(n, m, d).at(span)?))
            }
            "seed" => {
                let b = a.bind(&["seed"])?;
                let (v, vs) = b.req(0)?;
                let s = self.as_int(&v, vs)?;
                self.rng = ops::Rng::new(s as u64);
                Ok(Val::None)
            }
            "rand" | "randn" => {
                let b = a.bind(&["shape", "dtype"])?;
                let shape = match b.opt(0) {
                    Some((v, vs)) => self.as_shape(&v, vs)?,
                    None => Vec::new(),
                };
                let d = self.opt_dtype(&b, 1, DType::F64)?;
                let r = if name == "rand" {
                    self.rng.rand(&shape, d)
                } else {
                    self.rng.randn(&shape, d)
                };
                Ok(Val::Array(r.at(span)?))
            }
            "uniform" | "normal" => {
                let params: &'static [&'static str] = if name == "uniform" {
                    &["low", "high", "shape", "dtype"]
                } else {
                    &["loc", "scale", "shape", "dtype"]
                };
                let b = a.bind(params)?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                let (x, y) = (self.as_f64(&x, xs)?, self.as_f64(&y, ys)?);
                let shape = match b.opt(2) {
                    Some((v, vs)) => self.as_shape(&v, vs)?,
                    None => Vec::new(),
                };
                let d = self.opt_dtype(&b, 3, DType::F64)?;
                let r = if name == "uniform" {
                    self.rng.uniform(x, y, &shape, d)
                } else {
                    self.rng.normal(x, y, &shape, d)
                };
                Ok(Val::Array(r.at(span)?))
            }
            "permutation" => {
                let b = a.bind(&["n"])?;
                let (v, vs) = b.req(0)?;
                let n = self.as_shape(&v, vs)?.first().copied().unwrap_or(0);
                Ok(Val::Array(self.rng.permutation(n).at(span)?))
            }
            _ => self.builtin_layout(name, a),
        }
    }

    fn arange(&mut self, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        let b = a.bind(&["start", "stop", "step", "dtype"])?;
        let (first, fs) = b.req(0)?;
        let mut nums = vec![(first, fs)];
        for i in 1..3 {
            if let Some(p) = b.opt(i) {
                nums.push(p);
            }
        }
        let mut ty: Option<Ty> = None;
        for (v, s) in &nums {
            let t = self.numeric(v, *s, "arange")?;
            ty = Some(ty.map_or(t, |p| promote(p, t)));
        }
        let default = ty.map_or(DType::I64, |t| {
            if t.dtype == DType::Bool {
                DType::I64
            } else {
                t.dtype
            }
        });
        let d = self.opt_dtype(&b, 3, default)?;
        let mut scalars = Vec::new();
        for (v, s) in &nums {
            let x = self.as_array(v, *s)?.item().at(*s)?;
            scalars.push(if default.is_float() {
                Scalar::F64(x.to_f64())
            } else {
                Scalar::I64(x.to_i64())
            });
        }
        let zero = if default.is_float() {
            Scalar::F64(0.0)
        } else {
            Scalar::I64(0)
        };
        let one = if default.is_float() {
            Scalar::F64(1.0)
        } else {
            Scalar::I64(1)
        };
        let (start, stop, step) = match scalars.as_slice() {
            [stop] => (zero, *stop, one),
            [start, stop] => (*start, *stop, one),
            [start, stop, step] => (*start, *stop, *step),
            _ => (zero, zero, one),
        };
        Ok(Val::Array(ops::arange(start, stop, step, d).at(span)?))
    }

    fn builtin_layout(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        match name {
            "reshape" => {
                let b = a.bind(&["a", "shape"])?;
                let (v, vs) = b.req(0)?;
                let (s, ss) = b.req(1)?;
                let shape = self.as_axes(&s, ss)?;
                let arr = self.as_array(&v, vs)?;
                Ok(Val::Array(arr.reshape(&shape).at(span)?))
            }
            "transpose" => {
                let b = a.bind(&["a", "axes"])?;
                let (v, _) = b.req(0)?;
                let axes = match b.opt(1) {
                    Some((x, xs)) => {
                        let ax = self.as_axes(&x, xs)?;
                        let nd = v.shape().unwrap_or_default().len();
                        let mut out = Vec::new();
                        for k in ax {
                            let n = ndx_ir::shape::normalize_axis(k, nd).ok_or_else(|| {
                                err_at(
                                    "E0232",
                                    xs,
                                    format!(
                                        "axis {k} is out of bounds for an array of dimension {nd}"
                                    ),
                                )
                            })?;
                            out.push(n);
                        }
                        Some(out)
                    }
                    None => None,
                };
                self.view_op(v, span, &mut |x| x.transpose(axes.as_deref()))
            }
            "swapaxes" => {
                let b = a.bind(&["a", "axis1", "axis2"])?;
                let (v, _) = b.req(0)?;
                let (x, xs) = b.req(1)?;
                let (y, ys) = b.req(2)?;
                let (x, y) = (self.as_int(&x, xs)? as isize, self.as_int(&y, ys)? as isize);
                self.view_op(v, span, &mut |a| a.swapaxes(x, y))
            }
            "expand_dims" => {
                let b = a.bind(&["a", "axis"])?;
                let (v, _) = b.req(0)?;
                let (x, xs) = b.req(1)?;
                let x = self.as_int(&x, xs)? as isize;
                self.view_op(v, span, &mut |a| a.expand_dims(x))
            }
            "squeeze" => {
                let b = a.bind(&["a", "axis"])?;
                let (v, _) = b.req(0)?;
                let axes = match b.opt(1) {
                    Some((x, xs)) => Some(
                        self.as_axes(&x, xs)?
                            .into_iter()
                            .map(|k| k as isize)
                            .collect::<Vec<_>>(),
                    ),
                    None => None,
                };
                self.view_op(v, span, &mut |a| a.squeeze(axes.as_deref()))
            }
            "broadcast_to" => {
                let b = a.bind(&["a", "shape"])?;
                let (v, _) = b.req(0)?;
                let (s, ss) = b.req(1)?;
                let shape = self.as_shape(&s, ss)?;
                self.view_op(v, span, &mut |a| a.broadcast_to(&shape))
            }
            "ravel" => {
                let b = a.bind(&["a"])?;
                let (v, vs) = b.req(0)?;
                Ok(Val::Array(self.as_array(&v, vs)?.ravel().at(span)?))
            }
            "copy" | "ascontiguousarray" | "asfortranarray" => {
                let b = a.bind(&["a"])?;
                let (v, vs) = b.req(0)?;
                if let (Val::Lazy(l), "copy" | "ascontiguousarray") = (&v, name) {
                    return Ok(Val::Array(self.exec.materialize(l).at(vs)?));
                }
                let arr = self.as_array(&v, vs)?;
                let order = if name == "asfortranarray" {
                    Order::F
                } else {
                    Order::C
                };
                if name != "copy"
                    && ((order == Order::C && arr.is_c_contiguous())
                        || (order == Order::F && arr.is_f_contiguous()))
                {
                    return Ok(Val::Array(arr));
                }
                // The copy runs as a compiled kernel (strided read, contiguous write).
                let out = if order == Order::F {
                    let rev: Vec<usize> = arr.shape().iter().rev().copied().collect();
                    Array::zeros(arr.dtype(), &rev)
                        .at(span)?
                        .transpose(None)
                        .at(span)?
                } else {
                    Array::zeros(arr.dtype(), arr.shape()).at(span)?
                };
                self.exec.write_into(&Lazy::leaf(arr), &out).at(span)?;
                Ok(Val::Array(out))
            }
            "concatenate" | "stack" => {
                let b = a.bind(&["arrays", "axis"])?;
                let (v, vs) = b.req(0)?;
                let Val::Tuple(items) = v else {
                    return Err(err_at(
                        "E0233",
                        vs,
                        format!("`{name}` takes a list of arrays: {name}([a, b], axis=0)"),
                    ));
                };
                let mut ty: Option<Ty> = None;
                for it in &items {
                    let t = self.numeric(it, vs, name)?;
                    ty = Some(ty.map_or(t, |p| promote(p, t)));
                }
                let d = ty.map_or(DType::F64, |t| t.dtype);
                let mut arrays = Vec::with_capacity(items.len());
                for it in &items {
                    arrays.push(self.as_array(it, vs)?.astype(d).at(vs)?);
                }
                let axis = self.opt_axis(&b, 1)?.unwrap_or(0);
                let r = if name == "concatenate" {
                    ops::concatenate(&arrays, axis)
                } else {
                    ops::stack(&arrays, axis)
                };
                Ok(Val::Array(r.at(span)?))
            }
            "shares_memory" => {
                let b = a.bind(&["a", "b"])?;
                let (x, xs) = b.req(0)?;
                let (y, ys) = b.req(1)?;
                let (x, y) = (self.as_array(&x, xs)?, self.as_array(&y, ys)?);
                Ok(Val::Array(Array::scalar(Scalar::Bool(x.shares_memory(&y)))))
            }
            "sort" | "argsort" => {
                let b = a.bind(&["a", "axis"])?;
                let (v, vs) = b.req(0)?;
                let arr = self.as_array(&v, vs)?;
                let axis = self.opt_axis(&b, 1)?.unwrap_or(-1);
                let r = if name == "sort" {
                    ops::sort(&arr, axis)
                } else {
                    ops::argsort(&arr, axis)
                };
                Ok(Val::Array(r.at(span)?))
            }
            "median" => {
                let b = a.bind(&["a", "axis"])?;
                let (v, vs) = b.req(0)?;
                let arr = self.as_array(&v, vs)?;
                let axis = self.opt_axis(&b, 1)?;
                Ok(Val::Array(ops::median(&arr, axis).at(span)?))
            }
            "percentile" => {
                let b = a.bind(&["a", "q", "axis"])?;
                let (v, vs) = b.req(0)?;
                let arr = self.as_array(&v, vs)?;
                let (q, qs) = b.req(1)?;
                let axis = self.opt_axis(&b, 2)?;
                let qa = self.as_array(&q, qs)?;
                let qv: Vec<f64> = qa.to_scalars().at(qs)?.iter().map(|s| s.to_f64()).collect();
                let r = if qa.ndim() == 0 {
                    ops::percentile(&arr, qv.first().copied().unwrap_or(0.0), axis)
                } else {
                    ops::percentiles(&arr, &qv, axis)
                };
                Ok(Val::Array(r.at(span)?))
            }
            _ => self.builtin_session(name, a),
        }
    }

    fn builtin_session(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
        let span = a.span;
        match name {
            "load" => {
                let b = a.bind(&["file", "mmap"])?;
                let (p, ps) = b.req(0)?;
                let path = self.resolve_path(&as_str(&p, ps)?, ps);
                let mmap = match b.opt(1) {
                    Some((v, vs)) => self.truth(v, vs)?,
                    None => false,
                };
                Ok(Val::Array(npy::load_npy(&path, mmap).at(span)?))
            }
            "save" => {
                let b = a.bind(&["file", "arr"])?;
                let (p, ps) = b.req(0)?;
                let path = self.resolve_path(&as_str(&p, ps)?, ps);
                let (v, vs) = b.req(1)?;
                let arr = self.as_array(&v, vs)?;
                npy::save_npy(&path, &arr).at(span)?;
                Ok(Val::None)
            }
            "memmap" => {
                let b = a.bind(&["filename", "dtype", "shape", "mode"])?;
                let (p, ps) = b.req(0)?;
                let path = self.resolve_path(&as_str(&p, ps)?, ps);
                let (d, ds) = b.req(1)?;
                let d = as_dtype(&d, ds)?;
                let (s, ss) = b.req(2)?;
                let shape = self.as_shape(&s, ss)?;
                let mode = match b.opt(3) {
                    None => MapMode::ReadOnly,
                    Some((m, ms)) => {
                        match as_str(&m, ms)?.as_str() {
                            "r" => MapMode::ReadOnly,
                            "r+" => MapMode::ReadWrite,
                            "w+" => MapMode::Create,
                            other => {
                                return Err(err_at("E0234", ms, format!("unknown memmap mode \"{other}\": use \"r\", \"r+\" or \"w+\"")));
                            }
                        }
                    }
                };
                Ok(Val::Array(npy::memmap(&path, d, &shape, mode).at(span)?))
            }
            "threads" => {
                let b = a.bind(&["n"])?;
                let (v, vs) = b.req(0)?;
                let n = self.as_int(&v, vs)?;
                if n < 1 {
                    return Err(err_at(
                        "E0235",
                        vs,
                        format!("threads(n) needs n >= 1, got {n}"),
                    ));
                }
                self.threads = n as usize;
                Ok(Val::None)
            }
            "clock" => {
                a.bind(&[])?;
                Ok(Val::float(crate::clock_seconds()))
            }
            "print" => {
                if let Some((k, ks, _, _)) = a.kw.first() {
                    return Err(err_at(
                        "E0702",
                        *ks,
                        format!("`print` has no parameter `{k}`"),
                    ));
                }
                let mut parts = Vec::with_capacity(a.pos.len());
                for (v, vs) in &a.pos {
                    parts.push(self.format_val(v, *vs)?);
                }
                let mut line = parts.join(" ");
                line.push('\n');
                self.write_out(&line);
                Ok(Val::None)
            }
            "range" | "prange" => Err(err_at(
                "E0403",
                span,
                format!("`{name}(...)` can only be used in a `for` loop"),
            )),
            _ => Err(err_at("E0101", span, format!("unknown function `{name}`"))),
        }
    }

    /// A file path as written in source: relative paths resolve against the directory of the
    /// script that contains the call (the working directory for REPL and host input).
    fn resolve_path(&self, path: &str, span: Span) -> PathBuf {
        match self.dirs.get(&span.file) {
            Some(dir) => dir.join(path),
            None => PathBuf::from(path),
        }
    }

    /// Formats a value as `print` shows it.
    pub(crate) fn format_val(&mut self, v: &Val, span: Span) -> Result<String, Diag> {
        Ok(match v {
            Val::Str(s) => s.clone(),
            Val::Weak { value, .. } => ndx_runtime::format_scalar(*value),
            Val::Array(a) if a.ndim() == 0 => ndx_runtime::format_scalar(a.item().at(span)?),
            Val::Array(a) => {
                a.ptr().at(span)?;
                a.to_string()
            }
            Val::Lazy(l) => {
                let a = self.exec.materialize(l).at(span)?;
                return self.format_val(&Val::Array(a), span);
            }
            Val::Tuple(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for it in items {
                    parts.push(self.format_val(it, span)?);
                }
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Val::DType(d) => d.name().to_string(),
            Val::None => "None".to_string(),
        })
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

fn as_str(v: &Val, span: Span) -> Result<String, Diag> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(err_at(
            "E0237",
            span,
            format!("expected a string, found a {}", other.kind()),
        )),
    }
}
