//! The fused kernel: one group of elementwise and broadcast operations, with an optional
//! trailing reduction, that compiles to one native function.
//!
//! Invariants (checked by [`Kernel::verify`]):
//! - `nodes` are in topological order: an operand handle is always smaller than its user.
//! - Every operand of a [`Op::Binary`] has the same dtype, except `Pow` and comparison and
//!   logical ops, whose rules are in [`BinaryOp::result_dtype`]. The builder inserts
//!   [`Op::Cast`] nodes so that this holds; codegen never promotes.
//! - `Input(k)` has `k < inputs.len()` and the node's dtype is `inputs[k]`.
//! - Either no output reduces, or every output reduces over the same axes `reduce_from..rank`
//!   of the (scheduled) iteration space.
//!
//! The iteration space has `rank` axes whose sizes are runtime arguments. Every input and output
//! is addressed with one byte stride per iteration axis (0 where it broadcasts, and 0 for an
//! output along a reduced axis). The calling convention is in [`crate::loops`].

use ndx_runtime::ops::wide_math::WideFn;
use ndx_runtime::{DType, Scalar};
use std::fmt;

/// Index of a node in [`Kernel::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u32);

impl Handle {
    /// The index into the node table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Elementwise unary operations. Operand and result have the node's dtype unless noted.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    /// Logical not on bool, bitwise not on ints.
    Not,
    Abs,
    Sign,
    Sqrt,
    Cbrt,
    Exp,
    Exp2,
    Expm1,
    Log,
    Log2,
    Log10,
    Log1p,
    Sin,
    Cos,
    Tan,
    Arcsin,
    Arccos,
    Arctan,
    Sinh,
    Cosh,
    Tanh,
    Erf,
    Floor,
    Ceil,
    /// Round half to even.
    Round,
    Trunc,
    /// Result is bool.
    IsNan,
    /// Result is bool.
    IsInf,
    /// Result is bool.
    IsFinite,
}

/// Elementwise binary operations.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Float division only: the builder casts integer operands to a float type first.
    Div,
    /// Python's floor division; integer division by zero gives 0.
    FloorDiv,
    /// Python's modulo (sign of the divisor); integer modulo by zero gives 0.
    Mod,
    /// Power. Integer power with a negative exponent gives 0 unless the base is 1 or -1.
    Pow,
    /// NumPy `minimum`: NaN propagates.
    Min,
    /// NumPy `maximum`: NaN propagates.
    Max,
    Arctan2,
    /// Bitwise on ints, logical on bool.
    BitAnd,
    /// Bitwise on ints, logical on bool.
    BitOr,
    /// Bitwise on ints, logical on bool.
    BitXor,
    /// Comparisons: operands share a dtype, the result is bool.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    /// The 512-bit version of the function in `ndx_runtime::ops::wide_math` (of `f32` and
    /// `f64`), if it has one: `**` and `arctan2`, the math library's binary functions.
    pub fn wide(self) -> Option<WideFn> {
        match self {
            BinaryOp::Pow => Some(WideFn::Pow),
            BinaryOp::Arctan2 => Some(WideFn::Arctan2),
            _ => None,
        }
    }

    /// True for the comparisons, whose result is bool.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// The result dtype for operands of dtype `operand`.
    pub fn result_dtype(self, operand: DType) -> DType {
        if self.is_comparison() {
            DType::Bool
        } else {
            operand
        }
    }
}

impl UnaryOp {
    /// The 512-bit version of the function in `ndx_runtime::ops::wide_math` (of `f32` and
    /// `f64`), if it has one.
    pub fn wide(self) -> Option<WideFn> {
        use UnaryOp as U;
        Some(match self {
            U::Exp => WideFn::Exp,
            U::Exp2 => WideFn::Exp2,
            U::Expm1 => WideFn::Expm1,
            U::Log => WideFn::Log,
            U::Log2 => WideFn::Log2,
            U::Log10 => WideFn::Log10,
            U::Log1p => WideFn::Log1p,
            U::Sin => WideFn::Sin,
            U::Cos => WideFn::Cos,
            U::Tan => WideFn::Tan,
            U::Arcsin => WideFn::Arcsin,
            U::Arccos => WideFn::Arccos,
            U::Arctan => WideFn::Arctan,
            U::Sinh => WideFn::Sinh,
            U::Cosh => WideFn::Cosh,
            U::Tanh => WideFn::Tanh,
            U::Erf => WideFn::Erf,
            U::Cbrt => WideFn::Cbrt,
            _ => return None,
        })
    }

    /// The result dtype for an operand of dtype `operand`.
    pub fn result_dtype(self, operand: DType) -> DType {
        match self {
            UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite => DType::Bool,
            _ => operand,
        }
    }
}

/// Reductions that may end a kernel.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum in the output's dtype.
    Sum,
    /// Product in the output's dtype.
    Prod,
    /// Minimum; NaN propagates (NumPy `min`).
    Min,
    /// Maximum; NaN propagates (NumPy `max`).
    Max,
    /// Flat index (over the reduced axes, C order) of the first minimum; output is i64.
    /// The first NaN wins, as in NumPy.
    ArgMin,
    /// Flat index of the first maximum; output is i64. The first NaN wins.
    ArgMax,
    /// Logical or over bool values.
    Any,
    /// Logical and over bool values.
    All,
}

/// What a node computes. Two ops are equal (and hash alike) when they are the same
/// operation on the same operands; constants compare by dtype and bits (`-0.0` is not `0.0`,
/// a NaN equals the same NaN), so that equal kernels compute the same bits: [`Kernel`]'s
/// equality is the JIT cache's key.
#[derive(Clone, Debug)]
pub enum Op {
    /// The element of input array `k` at the current iteration point.
    Input(u32),
    /// A constant of the node's dtype.
    Const(Scalar),
    /// An elementwise unary operation.
    Unary(UnaryOp, Handle),
    /// An elementwise binary operation.
    Binary(BinaryOp, Handle, Handle),
    /// `where(cond, a, b)`: `cond` is bool, `a` and `b` have the node's dtype.
    Select(Handle, Handle, Handle),
    /// Conversion to the node's dtype with NumPy `astype` rules (float to int truncates toward
    /// zero; NaN and out-of-range give an unspecified value, never a trap).
    Cast(Handle),
}

impl Op {
    /// The nodes this operation reads, in order.
    pub fn operands(&self) -> impl Iterator<Item = Handle> {
        let (a, b, c) = match *self {
            Op::Input(_) | Op::Const(_) => (None, None, None),
            Op::Unary(_, a) | Op::Cast(a) => (Some(a), None, None),
            Op::Binary(_, a, b) => (Some(a), Some(b), None),
            Op::Select(c, a, b) => (Some(c), Some(a), Some(b)),
        };
        [a, b, c].into_iter().flatten()
    }

    /// A constant's dtype and bits (see [`Op`]'s equality).
    fn const_bits(s: &Scalar) -> (DType, i64) {
        (s.dtype(), s.word())
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        match (self, other) {
            (Op::Input(a), Op::Input(b)) => a == b,
            (Op::Const(a), Op::Const(b)) => Op::const_bits(a) == Op::const_bits(b),
            (Op::Unary(o, a), Op::Unary(p, b)) => o == p && a == b,
            (Op::Binary(o, a, b), Op::Binary(p, c, d)) => o == p && a == c && b == d,
            (Op::Select(a, b, c), Op::Select(d, e, f)) => a == d && b == e && c == f,
            (Op::Cast(a), Op::Cast(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Op {}

impl std::hash::Hash for Op {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Op::Input(a) => a.hash(h),
            Op::Const(s) => Op::const_bits(s).hash(h),
            Op::Unary(o, a) => (o, a).hash(h),
            Op::Binary(o, a, b) => (o, a, b).hash(h),
            Op::Select(a, b, c) => (a, b, c).hash(h),
            Op::Cast(a) => a.hash(h),
        }
    }
}

/// One node: an operation and its result dtype.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// The dtype of its result.
    pub dtype: DType,
}

/// A value the kernel writes to an output array.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Output {
    /// The node whose value is stored (or reduced, then stored).
    pub value: Handle,
    /// The reduction applied over the reduced axes, if any. The output array's dtype is the
    /// value's dtype, except `ArgMin`/`ArgMax` (i64).
    pub reduce: Option<ReduceOp>,
}

impl Output {
    /// The dtype written to the output array.
    pub fn dtype(&self, kernel: &Kernel) -> DType {
        match self.reduce {
            Some(ReduceOp::ArgMin | ReduceOp::ArgMax) => DType::I64,
            _ => kernel.nodes[self.value.index()].dtype,
        }
    }
}

/// A fused group: the unit of compilation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    /// The nodes, in topological order.
    pub nodes: Vec<Node>,
    /// The dtypes of the input arrays, in argument order.
    pub inputs: Vec<DType>,
    /// The values written, in argument order after the inputs.
    pub outputs: Vec<Output>,
}

/// A structural error in a kernel: always a compiler bug, never the user's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("internal error: invalid kernel: {0}")]
pub struct VerifyError(pub String);

impl Kernel {
    /// An empty kernel.
    pub fn new() -> Kernel {
        Kernel {
            nodes: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Appends a node and returns its handle.
    pub fn push(&mut self, op: Op, dtype: DType) -> Handle {
        self.nodes.push(Node { op, dtype });
        Handle((self.nodes.len() - 1) as u32)
    }

    /// The dtype of a node.
    pub fn dtype(&self, h: Handle) -> DType {
        self.nodes[h.index()].dtype
    }

    /// True when the outputs reduce.
    pub fn reduces(&self) -> bool {
        self.outputs.iter().any(|o| o.reduce.is_some())
    }

    /// Checks the invariants listed in the module documentation.
    pub fn verify(&self) -> Result<(), VerifyError> {
        let err = |m: String| Err(VerifyError(m));
        for (i, node) in self.nodes.iter().enumerate() {
            let operand = |h: &Handle| -> Result<DType, VerifyError> {
                if h.index() >= i {
                    return Err(VerifyError(format!("node {i} uses later node {}", h.0)));
                }
                Ok(self.nodes[h.index()].dtype)
            };
            match &node.op {
                Op::Input(k) => match self.inputs.get(*k as usize) {
                    Some(d) if *d == node.dtype => {}
                    Some(d) => {
                        return err(format!(
                            "node {i}: input {k} is {d}, node is {}",
                            node.dtype
                        ))
                    }
                    None => return err(format!("node {i}: no input {k}")),
                },
                Op::Const(s) => {
                    if s.dtype() != node.dtype {
                        return err(format!(
                            "node {i}: constant of {} in {} node",
                            s.dtype(),
                            node.dtype
                        ));
                    }
                }
                Op::Unary(op, a) => {
                    let a = operand(a)?;
                    if op.result_dtype(a) != node.dtype {
                        return err(format!("node {i}: {op:?} of {a} is not {}", node.dtype));
                    }
                }
                Op::Binary(op, a, b) => {
                    let (a, b) = (operand(a)?, operand(b)?);
                    if a != b || op.result_dtype(a) != node.dtype {
                        return err(format!(
                            "node {i}: {op:?} of {a}, {b} is not {}",
                            node.dtype
                        ));
                    }
                }
                Op::Select(c, a, b) => {
                    let (c, a, b) = (operand(c)?, operand(a)?, operand(b)?);
                    if c != DType::Bool || a != node.dtype || b != node.dtype {
                        return err(format!(
                            "node {i}: select({c}, {a}, {b}) in {} node",
                            node.dtype
                        ));
                    }
                }
                Op::Cast(a) => {
                    operand(a)?;
                }
            }
        }
        for (k, out) in self.outputs.iter().enumerate() {
            if out.value.index() >= self.nodes.len() {
                return err(format!("output {k} names a missing node"));
            }
            let d = self.dtype(out.value);
            match out.reduce {
                Some(ReduceOp::Any | ReduceOp::All) if d != DType::Bool => {
                    return err(format!("output {k}: any/all of {d}"));
                }
                _ => {}
            }
        }
        if self.reduces() && self.outputs.iter().any(|o| o.reduce.is_none()) {
            return err("a kernel mixes reduced and elementwise outputs".into());
        }
        Ok(())
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new()
    }
}

impl fmt::Display for Kernel {
    /// The text form: one node per line, `%3 = f32 add %1, %2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ins: Vec<&str> = self.inputs.iter().map(|d| d.name()).collect();
        writeln!(f, "kernel ({}) {{", ins.join(", "))?;
        for (i, n) in self.nodes.iter().enumerate() {
            write!(f, "  %{i} = {} ", n.dtype)?;
            match &n.op {
                Op::Input(k) => writeln!(f, "input {k}")?,
                Op::Const(s) => writeln!(f, "const {s:?}")?,
                Op::Unary(op, a) => writeln!(f, "{op:?} %{}", a.0)?,
                Op::Binary(op, a, b) => writeln!(f, "{op:?} %{}, %{}", a.0, b.0)?,
                Op::Select(c, a, b) => writeln!(f, "select %{}, %{}, %{}", c.0, a.0, b.0)?,
                Op::Cast(a) => writeln!(f, "cast %{}", a.0)?,
            }
        }
        for (k, o) in self.outputs.iter().enumerate() {
            match o.reduce {
                Some(r) => writeln!(f, "  out {k} = {r:?} %{}", o.value.0)?,
                None => writeln!(f, "  out {k} = %{}", o.value.0)?,
            }
        }
        write!(f, "}}")
    }
}
