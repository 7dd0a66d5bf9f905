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
use std::fmt;

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

    /// Calls `f` on each direct operand: the operands of an operation and the indices of a
    /// load. The statements of an inlined call are not operands ([`KExpr::inline_body`]).
    pub fn for_each_operand<'a>(&'a self, f: &mut dyn FnMut(&'a KExpr)) {
        match &self.kind {
            KExprKind::Const(_)
            | KExprKind::Local(_)
            | KExprKind::Dim { .. }
            | KExprKind::Rand
            | KExprKind::Randn
            | KExprKind::Inline { .. } => {}
            KExprKind::Load(acc) => acc.index.iter().for_each(f),
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => f(a),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => {
                f(a);
                f(b);
            }
            KExprKind::Select(c, a, b) => {
                f(c);
                f(a);
                f(b);
            }
        }
    }

    /// The body of an inlined call.
    pub fn inline_body(&self) -> Option<&[KStmt]> {
        match &self.kind {
            KExprKind::Inline { body, .. } => Some(body),
            _ => None,
        }
    }
}

impl KStmt {
    /// Calls `f` on each expression the statement holds itself: values, store indices,
    /// conditions and loop bounds (not those of nested statements: [`KStmt::for_each_block`]).
    pub fn for_each_expr<'a>(&'a self, f: &mut dyn FnMut(&'a KExpr)) {
        match self {
            KStmt::Set(_, x) | KStmt::Eval(x) | KStmt::Return(Some(x)) => f(x),
            KStmt::Store(acc, x) => {
                acc.index.iter().for_each(&mut *f);
                f(x);
            }
            KStmt::If(c, _, _) | KStmt::While(c, _) => f(c),
            KStmt::For(fl) => {
                f(&fl.start);
                f(&fl.stop);
                f(&fl.step);
            }
            KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
        }
    }

    /// Calls `f` on each statement list nested directly in the statement: the branches of
    /// an `if`, the body of a loop.
    pub fn for_each_block<'a>(&'a self, f: &mut dyn FnMut(&'a [KStmt])) {
        match self {
            KStmt::If(_, t, e) => {
                f(t);
                f(e);
            }
            KStmt::While(_, b) => f(b),
            KStmt::For(fl) => f(&fl.body),
            _ => {}
        }
    }
}

/// A broken invariant of a [`KFunc`] (a compiler bug, never a user error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid kernel IR in `{kernel}`: {message}")]
pub struct KVerifyError {
    /// The kernel.
    pub kernel: String,
    /// What is wrong.
    pub message: String,
}

impl KFunc {
    /// Checks the invariants codegen relies on: locals and arrays exist; every binary operation
    /// has operands of one dtype; comparisons, `and`/`or` and conditions are bool; indices,
    /// dims and loop bounds are i64; a set or store has the dtype of its target; an access has
    /// one index (and one checked flag) per axis; loads have the array's dtype.
    pub fn verify(&self) -> Result<(), KVerifyError> {
        let fail = |m: String| {
            Err(KVerifyError {
                kernel: self.name.clone(),
                message: m,
            })
        };
        for p in &self.params {
            match *p {
                KParam::Array(k) if k as usize >= self.arrays.len() => {
                    return fail(format!("parameter array a{k} is missing"))
                }
                KParam::Scalar(l) if l as usize >= self.locals.len() => {
                    return fail(format!("parameter local l{l} is missing"))
                }
                _ => {}
            }
        }
        match self.stmts(&self.body) {
            Ok(()) => Ok(()),
            Err(m) => fail(m),
        }
    }

    fn local(&self, l: Local) -> Result<DType, String> {
        self.locals
            .get(l as usize)
            .copied()
            .ok_or_else(|| format!("local l{l} is missing"))
    }

    fn access(&self, a: &Access) -> Result<DType, String> {
        let arr = self
            .arrays
            .get(a.array as usize)
            .ok_or_else(|| format!("array a{} is missing", a.array))?;
        if a.index.len() != arr.rank || a.checked.len() != arr.rank {
            return Err(format!(
                "a{} has rank {} but is accessed with {} indices",
                a.array,
                arr.rank,
                a.index.len()
            ));
        }
        for i in &a.index {
            self.expect(i, DType::I64, "an index")?;
        }
        Ok(arr.dtype)
    }

    fn expect(&self, e: &KExpr, d: DType, what: &str) -> Result<(), String> {
        self.expr(e)?;
        if e.dtype != d {
            return Err(format!("{what} is {} where {d} is required: {e}", e.dtype));
        }
        Ok(())
    }

    fn expr(&self, e: &KExpr) -> Result<(), String> {
        let same = |a: &KExpr, b: &KExpr| -> Result<(), String> {
            self.expr(a)?;
            self.expr(b)?;
            if a.dtype != b.dtype {
                return Err(format!("operands of {} and {} in {e}", a.dtype, b.dtype));
            }
            Ok(())
        };
        match &e.kind {
            KExprKind::Const(s) if s.dtype() != e.dtype => {
                Err(format!("constant {s:?} typed {}", e.dtype))
            }
            KExprKind::Const(_) | KExprKind::Rand | KExprKind::Randn => Ok(()),
            KExprKind::Local(l) => match self.local(*l)? {
                d if d == e.dtype => Ok(()),
                d => Err(format!("l{l} is {d} but read as {}", e.dtype)),
            },
            KExprKind::Dim { array, axis } => {
                let ok = self
                    .arrays
                    .get(*array as usize)
                    .is_some_and(|a| (*axis as usize) < a.rank);
                if ok && e.dtype == DType::I64 {
                    Ok(())
                } else {
                    Err(format!("bad dim {e}"))
                }
            }
            KExprKind::Load(a) => match self.access(a)? {
                d if d == e.dtype => Ok(()),
                d => Err(format!("load of a {d} element typed {}", e.dtype)),
            },
            KExprKind::Unary(_, x) | KExprKind::Cast(x) => self.expr(x),
            KExprKind::Binary(op, a, b) => {
                same(a, b)?;
                if op.is_comparison() && e.dtype != DType::Bool {
                    return Err(format!("comparison typed {}: {e}", e.dtype));
                }
                Ok(())
            }
            KExprKind::CheckedDiv { a, b, .. } => same(a, b),
            KExprKind::And(a, b) | KExprKind::Or(a, b) => {
                self.expect(a, DType::Bool, "a condition")?;
                self.expect(b, DType::Bool, "a condition")
            }
            KExprKind::Select(c, a, b) => {
                self.expect(c, DType::Bool, "a condition")?;
                same(a, b)
            }
            KExprKind::Inline { body, result } => {
                if let Some(l) = result {
                    if self.local(*l)? != e.dtype {
                        return Err(format!("inlined call typed {} with result l{l}", e.dtype));
                    }
                }
                self.stmts(body)
            }
        }
    }

    fn stmts(&self, ss: &[KStmt]) -> Result<(), String> {
        for s in ss {
            match s {
                KStmt::Set(l, e) => self.expect(e, self.local(*l)?, "a set value")?,
                KStmt::Store(a, e) => {
                    let d = self.access(a)?;
                    self.expect(e, d, "a stored value")?;
                }
                KStmt::Eval(e) | KStmt::Return(Some(e)) => self.expr(e)?,
                KStmt::If(c, t, f) => {
                    self.expect(c, DType::Bool, "a condition")?;
                    self.stmts(t)?;
                    self.stmts(f)?;
                }
                KStmt::While(c, b) => {
                    self.expect(c, DType::Bool, "a condition")?;
                    self.stmts(b)?;
                }
                KStmt::For(f) => {
                    if self.local(f.var)? != DType::I64 {
                        return Err(format!("loop variable l{} is not i64", f.var));
                    }
                    self.expect(&f.start, DType::I64, "a range bound")?;
                    self.expect(&f.stop, DType::I64, "a range bound")?;
                    self.expect(&f.step, DType::I64, "a range step")?;
                    for r in f.parallel.iter().flatten() {
                        self.local(r.local)?;
                    }
                    self.stmts(&f.body)?;
                }
                KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
            }
        }
        Ok(())
    }
}

impl fmt::Display for KExpr {
    /// `l3`, `a0[l7, l8?]` (`?`: checked), `(l1 + 2.5)`, `f64(l3)`, `exp(l2)`, `dim(a0, 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            KExprKind::Const(s) => write!(f, "{}:{}", ndx_runtime::format_scalar(*s), s.dtype()),
            KExprKind::Local(l) => write!(f, "l{l}"),
            KExprKind::Dim { array, axis } => write!(f, "dim(a{array}, {axis})"),
            KExprKind::Load(a) => write!(f, "{a}"),
            KExprKind::Unary(op, x) => write!(f, "{op:?}({x})"),
            KExprKind::Binary(op, x, y) => write!(f, "({x} {op:?} {y})"),
            KExprKind::CheckedDiv { op, a, b, site } => write!(f, "({a} {op:?}! {b} @{site})"),
            KExprKind::Cast(x) => write!(f, "{}({x})", self.dtype),
            KExprKind::And(x, y) => write!(f, "({x} and {y})"),
            KExprKind::Or(x, y) => write!(f, "({x} or {y})"),
            KExprKind::Select(c, x, y) => write!(f, "select({c}, {x}, {y})"),
            KExprKind::Rand => f.write_str("rand()"),
            KExprKind::Randn => f.write_str("randn()"),
            KExprKind::Inline { body, result } => {
                f.write_str("inline {\n")?;
                for s in body {
                    write_stmt(f, s, 2)?;
                }
                match result {
                    Some(l) => write!(f, "}} -> l{l}"),
                    None => f.write_str("}"),
                }
            }
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a{}[", self.array)?;
        for (i, (ix, c)) in self.index.iter().zip(&self.checked).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{ix}{}", if *c { "?" } else { "" })?;
        }
        write!(f, "]@{}", self.site)
    }
}

fn write_stmt(f: &mut fmt::Formatter<'_>, s: &KStmt, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    let block = |f: &mut fmt::Formatter<'_>, ss: &[KStmt]| -> fmt::Result {
        for s in ss {
            write_stmt(f, s, depth + 1)?;
        }
        Ok(())
    };
    match s {
        KStmt::Set(l, e) => writeln!(f, "{pad}l{l} = {e}"),
        KStmt::Store(a, e) => writeln!(f, "{pad}{a} = {e}"),
        KStmt::Eval(e) => writeln!(f, "{pad}{e}"),
        KStmt::If(c, t, e) => {
            writeln!(f, "{pad}if {c} {{")?;
            block(f, t)?;
            if !e.is_empty() {
                writeln!(f, "{pad}}} else {{")?;
                block(f, e)?;
            }
            writeln!(f, "{pad}}}")
        }
        KStmt::While(c, b) => {
            writeln!(f, "{pad}while {c} {{")?;
            block(f, b)?;
            writeln!(f, "{pad}}}")
        }
        KStmt::For(fl) => {
            let kind = match &fl.parallel {
                None => "range".to_string(),
                Some(r) if r.is_empty() => "prange".to_string(),
                Some(r) => {
                    let reds: Vec<String> = r
                        .iter()
                        .map(|r| format!("{:?} l{}", r.op, r.local))
                        .collect();
                    format!("prange[{}]", reds.join(", "))
                }
            };
            writeln!(
                f,
                "{pad}for l{} in {kind}({}, {}, {}) {{",
                fl.var, fl.start, fl.stop, fl.step
            )?;
            block(f, &fl.body)?;
            writeln!(f, "{pad}}}")
        }
        KStmt::Break => writeln!(f, "{pad}break"),
        KStmt::Continue => writeln!(f, "{pad}continue"),
        KStmt::Return(Some(e)) => writeln!(f, "{pad}return {e}"),
        KStmt::Return(None) => writeln!(f, "{pad}return"),
    }
}

impl fmt::Display for KFunc {
    /// The text form: the signature with array and local numbers, the locals' dtypes, then
    /// one statement per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match *p {
                KParam::Array(k) => {
                    let a = self.arrays.get(k as usize);
                    format!(
                        "a{k}: {}[rank {}]",
                        a.map_or("?", |a| a.dtype.name()),
                        a.map_or(0, |a| a.rank)
                    )
                }
                KParam::Scalar(l) => format!(
                    "l{l}: {}",
                    self.locals.get(l as usize).map_or("?", |d| d.name())
                ),
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
        for s in &self.body {
            write_stmt(f, s, 1)?;
        }
        f.write_str("}")
    }
}
