//! Shape and layout operations, joining, sorting and order statistics, files, and session
//! functions (`threads`, `clock`, `print`).

use super::{as_dtype, as_str};
use crate::args::Args;
use crate::error::{axis_at, err_at, At, Diag};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::promote::{promote, Ty};
use ndx_runtime::{npy, ops, Array, DType, MapMode, Order, Scalar};
use ndx_syntax::Span;
use std::path::PathBuf;

impl Interp {
    pub(super) fn builtin_layout(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
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
                            let n = axis_at(k, nd, xs)?;
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
                // The copy runs as a compiled kernel (strided read, contiguous write) that
                // writes every element, so the output may be a recycled pool buffer: a fresh
                // map would page-fault (and zero) all of it on every call.
                let out = if order == Order::F {
                    let rev: Vec<usize> = arr.shape().iter().rev().copied().collect();
                    Array::empty(arr.dtype(), &rev)
                        .at(span)?
                        .transpose(None)
                        .at(span)?
                } else {
                    Array::empty(arr.dtype(), arr.shape()).at(span)?
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
            "save_png" => {
                let b = a.bind(&["file", "arr"])?;
                let (p, ps) = b.req(0)?;
                let path = self.resolve_path(&as_str(&p, ps)?, ps);
                let (v, vs) = b.req(1)?;
                let arr = self.as_array(&v, vs)?;
                ndx_runtime::image::save_png(&path, &arr).at(span)?;
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
                self.exec.set_threads(self.threads);
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
