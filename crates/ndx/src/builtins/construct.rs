//! Constructors (`zeros`, `full`, `arange`, `linspace`, `eye`, ...) and random numbers.

use crate::args::Args;
use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::value::Val;
use ndx_ir::promote::{promote, Ty};
use ndx_runtime::{ops, Array, DType, Scalar};

impl Interp {
    pub(super) fn builtin_more(&mut self, name: &str, a: Args) -> Result<Val, Diag> {
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
}
