//! Printing: arrays exactly as NumPy 2's `str()` shows them (default print options:
//! precision 8, threshold 1000 with 3 edge items, line width 75), and scalars as ndx's
//! `print` shows them (Python's `repr` of a number; bools as `true`/`false`).

use crate::array::Array;
use crate::dtype::{DType, Scalar};
use std::fmt;

const PRECISION: usize = 8;
const THRESHOLD: usize = 1000;
const EDGE: usize = 3;
const LINE_WIDTH: usize = 75;

/// A scalar as `print` shows it (NumPy's `str` of a scalar): `0.625`, `42`, `1.0`, `1e-05`,
/// `3e+06` for an f32, `nan`, and bools as `true`/`false`.
pub fn format_scalar(value: Scalar) -> String {
    match value {
        Scalar::Bool(b) => b.to_string(),
        Scalar::I32(v) => v.to_string(),
        Scalar::I64(v) => v.to_string(),
        // NumPy prints f32 scalars positionally below 1e6 and f64 ones below 1e16.
        Scalar::F32(v) => py_repr(f64::from(v), &v.to_string(), &format!("{v:e}"), 6),
        Scalar::F64(v) => py_repr(v, &v.to_string(), &format!("{v:e}"), 16),
    }
}

/// Python's float repr from Rust's shortest positional and scientific forms.
fn py_repr(v: f64, positional: &str, scientific: &str, max_exp: i32) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (mant, exp) = split_exp(scientific);
    if v == 0.0 || (-4..max_exp).contains(&exp) {
        if positional.contains('.') {
            positional.to_string()
        } else {
            format!("{positional}.0")
        }
    } else {
        format!(
            "{mant}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    }
}

/// Splits Rust's `{:e}` output into mantissa text and exponent.
fn split_exp(s: &str) -> (&str, i32) {
    match s.split_once('e') {
        Some((m, e)) => (m, e.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

/// Shortest positional digits of a finite value, at most `PRECISION` fractional digits,
/// trailing zeros trimmed but the point kept (`1.`, `0.25`).
fn positional(v: Scalar) -> String {
    let s = match v {
        Scalar::F32(x) => x.abs().to_string(),
        other => other.to_f64().abs().to_string(),
    };
    let s = match s.split_once('.') {
        Some((_, frac)) if frac.len() > PRECISION => {
            let r = format!("{:.*}", PRECISION, v.to_f64().abs());
            r.trim_end_matches('0').to_string()
        }
        Some(_) => s,
        None => format!("{s}."),
    };
    let neg = v.to_f64().is_sign_negative();
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

/// Shortest scientific mantissa digits and exponent of a finite value.
fn scientific(v: Scalar) -> (String, i32) {
    let s = match v {
        Scalar::F32(x) => format!("{x:e}"),
        other => format!("{:e}", other.to_f64()),
    };
    let (m, e) = split_exp(&s);
    (m.to_string(), e)
}

/// How the elements of one array are formatted.
enum Elem {
    Int(usize),
    Bool,
    Float(FloatFormat),
}

struct FloatFormat {
    exp: bool,
    pad_left: usize,
    pad_right: usize,
    precision: usize,
    exp_size: usize,
}

impl FloatFormat {
    fn new(vals: &[Scalar]) -> FloatFormat {
        let finite: Vec<Scalar> = vals
            .iter()
            .copied()
            .filter(|v| v.to_f64().is_finite())
            .collect();
        let abs: Vec<f64> = finite
            .iter()
            .map(|v| v.to_f64().abs())
            .filter(|a| *a != 0.0)
            .collect();
        let mut f = FloatFormat {
            exp: false,
            pad_left: 0,
            pad_right: 0,
            precision: 0,
            exp_size: 0,
        };
        if let (Some(max), Some(min)) = (
            abs.iter().copied().reduce(f64::max),
            abs.iter().copied().reduce(f64::min),
        ) {
            f.exp = max >= 1e8 || min < 1e-4 || max / min > 1e3;
        }
        if f.exp {
            let parts: Vec<(String, i32)> = finite.iter().map(|v| scientific(*v)).collect();
            f.precision = parts
                .iter()
                .map(|(m, _)| m.split_once('.').map_or(0, |(_, fr)| fr.len()))
                .max()
                .unwrap_or(0)
                .min(PRECISION);
            f.exp_size = parts
                .iter()
                .map(|(_, e)| e.unsigned_abs().to_string().len())
                .max()
                .unwrap_or(2)
                .max(2);
            f.pad_left = parts
                .iter()
                .map(|(m, _)| m.split('.').next().map_or(0, str::len))
                .max()
                .unwrap_or(0);
            f.pad_right = f.exp_size + 2 + f.precision;
        } else if !finite.is_empty() {
            let strs: Vec<String> = finite.iter().map(|v| positional(*v)).collect();
            f.pad_left = strs
                .iter()
                .map(|s| s.split('.').next().map_or(0, str::len))
                .max()
                .unwrap_or(0);
            f.pad_right = strs
                .iter()
                .map(|s| s.split_once('.').map_or(0, |(_, fr)| fr.len()))
                .max()
                .unwrap_or(0);
        }
        if finite.len() != vals.len() {
            let neginf = vals.iter().any(|v| v.to_f64() == f64::NEG_INFINITY);
            let offset = f.pad_right + 1;
            f.pad_left = f
                .pad_left
                .max(3usize.saturating_sub(offset))
                .max((3 + usize::from(neginf)).saturating_sub(offset));
        }
        f
    }

    fn format(&self, v: Scalar) -> String {
        let x = v.to_f64();
        let width = self.pad_left + self.pad_right + 1;
        if !x.is_finite() {
            let s = if x.is_nan() {
                "nan"
            } else if x > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            return format!("{s:>width$}");
        }
        if self.exp {
            let s = match v {
                Scalar::F32(y) => format!("{:.*e}", self.precision, y),
                _ => format!("{:.*e}", self.precision, x),
            };
            let (m, e) = split_exp(&s);
            let m = if self.precision == 0 {
                format!("{m}.")
            } else {
                m.to_string()
            };
            let (int, frac) = m.split_once('.').unwrap_or((&m, ""));
            let exp = format!("{:0w$}", e.unsigned_abs(), w = self.exp_size);
            return format!(
                "{int:>l$}.{frac}e{}{exp}",
                if e < 0 { '-' } else { '+' },
                l = self.pad_left
            );
        }
        let s = positional(v);
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        format!(
            "{int:>l$}.{frac:<r$}",
            l = self.pad_left,
            r = self.pad_right
        )
    }
}

impl Elem {
    fn new(dtype: DType, vals: &[Scalar]) -> Elem {
        match dtype {
            DType::Bool => Elem::Bool,
            DType::I32 | DType::I64 => Elem::Int(
                vals.iter()
                    .map(|v| v.to_i64().to_string().len())
                    .max()
                    .unwrap_or(1),
            ),
            DType::F32 | DType::F64 => Elem::Float(FloatFormat::new(vals)),
        }
    }

    fn format(&self, v: Scalar) -> String {
        match self {
            Elem::Bool => if v.to_bool() { " True" } else { "False" }.to_string(),
            Elem::Int(w) => format!("{:>w$}", v.to_i64()),
            Elem::Float(f) => f.format(v),
        }
    }
}

/// The indices shown along an axis of length `n`: all, or 3 leading and 3 trailing.
fn shown(n: usize, summarise: bool) -> (Vec<usize>, bool) {
    if summarise && n > 2 * EDGE {
        ((0..EDGE).chain(n - EDGE..n).collect(), true)
    } else {
        ((0..n).collect(), false)
    }
}

fn extend_line(s: &mut String, line: &mut String, word: &str, width: usize, indent: &str) {
    let needs_wrap = line.len() + word.len() > width && line.len() > indent.len();
    if needs_wrap {
        s.push_str(line.trim_end());
        s.push('\n');
        *line = indent.to_string();
    }
    line.push_str(word);
}

struct Printer<'a> {
    a: &'a Array,
    elem: Elem,
    summarise: bool,
}

impl Printer<'_> {
    fn value(&self, idx: &[usize]) -> Scalar {
        self.a.get(idx).unwrap_or(Scalar::Bool(false))
    }

    fn rec(&self, idx: &mut Vec<usize>, indent: &str, width: usize) -> String {
        let axis = idx.len();
        let left = self.a.ndim() - axis;
        let next_indent = format!("{indent} ");
        let (items, gap) = shown(self.a.shape()[axis], self.summarise);
        let lead = if gap { EDGE } else { items.len() };
        let mut s = String::new();
        if left == 1 {
            let elem_width = width.saturating_sub(1);
            let mut line = indent.to_string();
            for (k, &i) in items.iter().enumerate() {
                if gap && k == lead {
                    extend_line(&mut s, &mut line, "...", elem_width, indent);
                    line.push(' ');
                }
                idx.push(i);
                let word = self.elem.format(self.value(idx));
                idx.pop();
                extend_line(&mut s, &mut line, &word, elem_width, indent);
                if k + 1 < items.len() {
                    line.push(' ');
                }
            }
            s.push_str(&line);
        } else {
            let sep = "\n".repeat(left - 1);
            for (k, &i) in items.iter().enumerate() {
                if gap && k == lead {
                    s.push_str(indent);
                    s.push_str("...");
                    s.push_str(&sep);
                }
                idx.push(i);
                let nested = self.rec(idx, &next_indent, width.saturating_sub(1));
                idx.pop();
                s.push_str(indent);
                s.push_str(&nested);
                if k + 1 < items.len() {
                    s.push_str(&sep);
                }
            }
        }
        format!("[{}]", &s[indent.len().min(s.len())..])
    }
}

/// The elements a summarised print shows (all when not summarised), for width decisions.
fn shown_values(a: &Array, summarise: bool) -> Vec<Scalar> {
    let axes: Vec<Vec<usize>> = a.shape().iter().map(|&n| shown(n, summarise).0).collect();
    let dims: Vec<usize> = axes.iter().map(Vec::len).collect();
    let mut out = Vec::new();
    Array::for_each_index(&dims, |k| {
        let idx: Vec<usize> = k.iter().zip(&axes).map(|(&j, ax)| ax[j]).collect();
        out.push(a.get(&idx).unwrap_or(Scalar::Bool(false)));
    });
    out
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ptr().is_err() {
            return f.write_str("<array whose loan has ended>");
        }
        if self.ndim() == 0 {
            return match self.item() {
                Ok(v) => f.write_str(&format_scalar(v)),
                Err(_) => f.write_str("[]"),
            };
        }
        if self.size() == 0 {
            return f.write_str("[]");
        }
        let summarise = self.size() > THRESHOLD;
        let vals = shown_values(self, summarise);
        let p = Printer {
            a: self,
            elem: Elem::new(self.dtype(), &vals),
            summarise,
        };
        f.write_str(&p.rec(&mut Vec::new(), " ", LINE_WIDTH))
    }
}
