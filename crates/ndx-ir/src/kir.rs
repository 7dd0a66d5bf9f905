//! Kernel IR: the typed scalar code of a `kernel` block (LANGUAGE.md section 4, "Kernels").
//!
//! A [`KFunc`] is what the front end makes of a kernel after name resolution, type inference
//! and inlining: every expression has a dtype, every binary operation has operands of one
//! dtype (casts are explicit), calls of `fn`s and other kernels are inlined as
//! [`KExprKind::Inline`] blocks, and each array access says which of its indices still need a
//! bounds check. Locals are numbered slots of a fixed dtype; the scalar parameters are locals
//! too. Codegen (`ndx-codegen`) turns a `KFunc` into native code; nothing here knows about
//! syntax, except that failure sites are numbered so the front end can point at the source.
//!
//! Run-time failures (a bounds check, an integer division by zero, a zero `range` step) name a
//! *site*: an index into a table the front end keeps, so the error can name the line.

use crate::kernel::{BinaryOp, ReduceOp, UnaryOp};
use ndx_runtime::{DType, Scalar};

/// A local variable slot.
pub type Local = u32;

/// A compiled-kernel function: parameters, locals and body.
#[derive(Clone, Debug, PartialEq)]
pub struct KFunc {
    /// The kernel's name (for error messages).
    pub name: String,
    /// The parameters in declaration order.
    pub params: Vec<KParam>,
    /// The array parameters, by array number.
    pub arrays: Vec<KArray>,
    /// The dtype of each local.
    pub locals: Vec<DType>,
    /// The scalar result, if the kernel returns one.
    pub ret: Option<DType>,
    /// The body.
    pub body: Vec<KStmt>,
}

/// One parameter of a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KParam {
    /// Array number `k` of [`KFunc::arrays`].
    Array(u32),
    /// A scalar, held in this local.
    Scalar(Local),
}

/// An array parameter: element type and rank. Shapes and strides are run-time values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KArray {
    /// Element type.
    pub dtype: DType,
    /// Number of dimensions.
    pub rank: usize,
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct KExpr {
    /// What it computes.
    pub kind: KExprKind,
    /// Its dtype.
    pub dtype: DType,
}

/// The expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum KExprKind {
    /// A constant of the expression's dtype.
    Const(Scalar),
    /// The value of a local.
    Local(Local),
    /// The length of axis `axis` of array `array` (i64).
    Dim {
        /// The array number.
        array: u32,
        /// The axis.
        axis: u32,
    },
    /// An element read.
    Load(Access),
    /// A unary operation in the expression's dtype (the `Is*` tests give bool).
    Unary(UnaryOp, Box<KExpr>),
    /// A binary operation; both operands have the same dtype (comparisons give bool).
    /// Integer `//` and `%` here give 0 on a zero divisor, as NumPy arrays do; kernel source
    /// division uses [`KExprKind::CheckedDiv`].
    Binary(BinaryOp, Box<KExpr>, Box<KExpr>),
    /// Integer `//` or `%` that fails at `site` when the divisor is zero.
    CheckedDiv {
        /// `FloorDiv` or `Mod`.
        op: BinaryOp,
        /// The dividend.
        a: Box<KExpr>,
        /// The divisor.
        b: Box<KExpr>,
        /// Where it was written.
        site: u32,
    },
    /// Conversion of the operand to the expression's dtype (NumPy `astype` rules; float to
    /// int saturates).
    Cast(Box<KExpr>),
    /// Short-circuit `and` of two bools.
    And(Box<KExpr>, Box<KExpr>),
    /// Short-circuit `or` of two bools.
    Or(Box<KExpr>, Box<KExpr>),
    /// `where(cond, a, b)` on scalars: both sides are evaluated.
    Select(Box<KExpr>, Box<KExpr>, Box<KExpr>),
    /// A uniform f64 in `[0, 1)` from the kernel's counter-based stream.
    Rand,
    /// A standard normal f64 from the kernel's stream.
    Randn,
    /// An inlined call: run `body`; a `Return` inside it sets `result` and leaves the block.
    /// The value is `result`'s, or a bool `false` for a call that returns nothing.
    Inline {
        /// The callee's body, with its parameters already assigned.
        body: Vec<KStmt>,
        /// The local receiving the returned value.
        result: Option<Local>,
    },
}

/// An element access `array[index...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Access {
    /// The array number.
    pub array: u32,
    /// One i64 index per axis.
    pub index: Vec<KExpr>,
    /// Per axis: does this index need the negative wrap and the bounds check? False where the
    /// enclosing loop proves `0 <= index < dim`.
    pub checked: Vec<bool>,
    /// Where it was written.
    pub site: u32,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub enum KStmt {
    /// `local = value` (the value has the local's dtype).
    Set(Local, KExpr),
    /// `array[index] = value` (the value has the array's dtype).
    Store(Access, KExpr),
    /// An expression evaluated for its effects.
    Eval(KExpr),
    /// `if cond { then } else { els }`.
    If(KExpr, Vec<KStmt>, Vec<KStmt>),
    /// `while cond { body }`.
    While(KExpr, Vec<KStmt>),
    /// A counted loop.
    For(Box<KFor>),
    /// Leaves the innermost loop.
    Break,
    /// Next iteration of the innermost loop.
    Continue,
    /// Leaves the innermost inlined call, or the kernel, with a value of its result dtype.
    Return(Option<KExpr>),
}

/// `for var in range(start, stop, step)` or its parallel form.
#[derive(Clone, Debug, PartialEq)]
pub struct KFor {
    /// The loop variable (i64). The body may assign it; the iteration count is fixed before
    /// the first iteration, as in Python.
    pub var: Local,
    /// First value (i64).
    pub start: KExpr,
    /// Exclusive bound (i64).
    pub stop: KExpr,
    /// Step (i64); zero fails at `site`.
    pub step: KExpr,
    /// The body.
    pub body: Vec<KStmt>,
    /// `Some` for a `prange` whose iterations run on worker threads; it lists the locals
    /// declared outside the loop that the body updates, and how they combine.
    pub parallel: Option<Vec<Reduction>>,
    /// The site of the zero-step failure.
    pub site: u32,
}

/// A local that a parallel loop's iterations combine with `op` (`Sum`, `Prod`, `Min` or
/// `Max`), in a fixed order of the iteration chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reduction {
    /// The local.
    pub local: Local,
    /// How partial values combine.
    pub op: ReduceOp,
}

/// What a run-time failure was, as the compiled code reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// An index outside its axis.
    Bounds,
    /// Integer division or modulo by zero.
    DivByZero,
    /// `range` with a zero step.
    ZeroStep,
}

impl FaultKind {
    /// The code compiled kernels store for this failure.
    pub fn code(self) -> i64 {
        match self {
            FaultKind::Bounds => 1,
            FaultKind::DivByZero => 2,
            FaultKind::ZeroStep => 3,
        }
    }

    /// The failure with code `c`.
    pub fn from_code(c: i64) -> Option<FaultKind> {
        match c {
            1 => Some(FaultKind::Bounds),
            2 => Some(FaultKind::DivByZero),
            3 => Some(FaultKind::ZeroStep),
            _ => None,
        }
    }
}

impl KExpr {
    /// A constant.
    pub fn constant(value: Scalar) -> KExpr {
        KExpr {
            dtype: value.dtype(),
            kind: KExprKind::Const(value),
        }
    }

    /// The expression converted to `dtype` (itself when it already has it).
    pub fn cast(self, dtype: DType) -> KExpr {
        if self.dtype == dtype {
            return self;
        }
        if let KExprKind::Const(s) = &self.kind {
            return KExpr::constant(s.cast(dtype));
        }
        KExpr {
            kind: KExprKind::Cast(Box::new(self)),
            dtype,
        }
    }
}

/// The text form of kernel IR: locals as `l3`, arrays as `a0`, a `!` after an index that is
/// bounds-checked, one statement per line.
impl std::fmt::Display for KFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match *p {
                KParam::Array(k) => match self.arrays.get(k as usize) {
                    Some(a) => format!("a{k}: {}[rank {}]", a.dtype, a.rank),
                    None => format!("a{k}: ?"),
                },
                KParam::Scalar(l) => match self.locals.get(l as usize) {
                    Some(d) => format!("l{l}: {d}"),
                    None => format!("l{l}: ?"),
                },
            })
            .collect();
        write!(f, "kernel {}({})", self.name, params.join(", "))?;
        if let Some(r) = self.ret {
            write!(f, " -> {r}")?;
        }
        writeln!(f, " {{")?;
        let locals: Vec<String> = self
            .locals
            .iter()
            .enumerate()
            .map(|(i, d)| format!("l{i}: {d}"))
            .collect();
        writeln!(f, "  locals {}", locals.join(", "))?;
        let mut body = String::new();
        write_stmts(&mut body, &self.body, 1);
        write!(f, "{body}}}")
    }
}

fn write_stmts(out: &mut String, ss: &[KStmt], depth: usize) {
    // Writing to a String cannot fail.
    let _ = write_stmts_fallible(out, ss, depth);
}

fn write_stmts_fallible(f: &mut String, ss: &[KStmt], depth: usize) -> std::fmt::Result {
    use std::fmt::Write as _;
    let pad = "  ".repeat(depth);
    for s in ss {
        match s {
            KStmt::Set(l, e) => writeln!(f, "{pad}l{l} = {}", expr_text(e))?,
            KStmt::Store(a, e) => writeln!(f, "{pad}{} = {}", access_text(a), expr_text(e))?,
            KStmt::Eval(e) => writeln!(f, "{pad}{}", expr_text(e))?,
            KStmt::If(c, t, e) => {
                writeln!(f, "{pad}if {} {{", expr_text(c))?;
                write_stmts(f, t, depth + 1);
                if !e.is_empty() {
                    writeln!(f, "{pad}}} else {{")?;
                    write_stmts(f, e, depth + 1);
                }
                writeln!(f, "{pad}}}")?;
            }
            KStmt::While(c, b) => {
                writeln!(f, "{pad}while {} {{", expr_text(c))?;
                write_stmts(f, b, depth + 1);
                writeln!(f, "{pad}}}")?;
            }
            KStmt::For(l) => {
                let kw = if l.parallel.is_some() {
                    "prange"
                } else {
                    "range"
                };
                write!(
                    f,
                    "{pad}for l{} in {kw}({}, {}, {})",
                    l.var,
                    expr_text(&l.start),
                    expr_text(&l.stop),
                    expr_text(&l.step)
                )?;
                if let Some(rs) = &l.parallel {
                    let r: Vec<String> = rs
                        .iter()
                        .map(|r| format!("l{} {:?}", r.local, r.op).to_lowercase())
                        .collect();
                    if !r.is_empty() {
                        write!(f, " combine {}", r.join(", "))?;
                    }
                }
                writeln!(f, " {{")?;
                write_stmts(f, &l.body, depth + 1);
                writeln!(f, "{pad}}}")?;
            }
            KStmt::Break => writeln!(f, "{pad}break")?,
            KStmt::Continue => writeln!(f, "{pad}continue")?,
            KStmt::Return(Some(e)) => writeln!(f, "{pad}return {}", expr_text(e))?,
            KStmt::Return(None) => writeln!(f, "{pad}return")?,
        }
    }
    Ok(())
}

fn access_text(a: &Access) -> String {
    let idx: Vec<String> = a
        .index
        .iter()
        .zip(a.checked.iter().chain(std::iter::repeat(&false)))
        .map(|(e, c)| format!("{}{}", expr_text(e), if *c { "!" } else { "" }))
        .collect();
    format!("a{}[{}]", a.array, idx.join(", "))
}

fn expr_text(e: &KExpr) -> String {
    match &e.kind {
        KExprKind::Const(s) => format!("{s:?}"),
        KExprKind::Local(l) => format!("l{l}"),
        KExprKind::Dim { array, axis } => format!("a{array}.shape[{axis}]"),
        KExprKind::Load(a) => access_text(a),
        KExprKind::Unary(op, a) => format!("{}.{op:?}({})", e.dtype, expr_text(a)),
        KExprKind::Binary(op, a, b) => {
            format!("{}.{op:?}({}, {})", e.dtype, expr_text(a), expr_text(b))
        }
        KExprKind::CheckedDiv { op, a, b, .. } => {
            format!("{}.{op:?}!({}, {})", e.dtype, expr_text(a), expr_text(b))
        }
        KExprKind::Cast(a) => format!("{}({})", e.dtype, expr_text(a)),
        KExprKind::And(a, b) => format!("({} and {})", expr_text(a), expr_text(b)),
        KExprKind::Or(a, b) => format!("({} or {})", expr_text(a), expr_text(b)),
        KExprKind::Select(c, a, b) => format!(
            "select({}, {}, {})",
            expr_text(c),
            expr_text(a),
            expr_text(b)
        ),
        KExprKind::Rand => "rand()".to_string(),
        KExprKind::Randn => "randn()".to_string(),
        KExprKind::Inline { body, result } => {
            let mut s = String::from("inline {\n");
            write_stmts(&mut s, body, 1);
            s.push('}');
            if let Some(r) = result {
                s.push_str(&format!(" -> l{r}"));
            }
            s
        }
    }
}
