//! The abstract syntax tree: what was written, nothing more.
//!
//! Every node carries a [`Span`]. No name is resolved and no type is known here; that is the
//! job of later stages.

use crate::span::Span;

/// A parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Top-level statements in source order.
    pub stmts: Vec<Stmt>,
}

/// A name with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The identifier text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A statement with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// From its first to its last token.
    pub span: Span,
}

/// The statement forms of LANGUAGE.md section 4.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let name = value`
    Let {
        /// The bound name.
        name: Ident,
        /// Its value.
        value: Expr,
    },
    /// `target = value`, or `target op= value` when `op` is set (`+= -= *= /=`). The target
    /// is a name or an index expression `a[...]`.
    Assign {
        /// A name or an index expression.
        target: Expr,
        /// The operator of a compound assignment.
        op: Option<BinOp>,
        /// The right-hand side.
        value: Expr,
    },
    /// An expression evaluated for its effect or value (the last one in a `fn` body is its
    /// result; at the REPL, its value is printed).
    Expr(Expr),
    /// `if cond { ... } else if ... else { ... }`
    If {
        /// The condition.
        cond: Expr,
        /// The block run when it holds.
        then: Block,
        /// An `else` block; `else if` is an `else` block holding one `If` statement.
        els: Option<Block>,
    },
    /// `while cond { ... }`
    While {
        /// The condition.
        cond: Expr,
        /// The body.
        body: Block,
    },
    /// `for var in iter { ... }` where `iter` is a call of `range` or `prange`.
    For {
        /// The loop variable.
        var: Ident,
        /// The iterable expression (`range(...)` or `prange(...)`).
        iter: Expr,
        /// The body.
        body: Block,
    },
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `return` or `return expr`
    Return(Option<Expr>),
    /// A function definition.
    Fn(FnDef),
    /// A kernel definition.
    Kernel(KernelDef),
    /// `include "path"`: the path as written, unescaped.
    Include(String),
}

/// A `{ ... }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// `fn name(params) -> ret = expr` or `fn name(params) -> ret { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDef {
    /// The function's name.
    pub name: Ident,
    /// Its parameters.
    pub params: Vec<Param>,
    /// The declared result type, if any.
    pub ret: Option<TypeAnn>,
    /// The body.
    pub body: FnBody,
    /// The whole definition.
    pub span: Span,
}

/// The body of a `fn`.
#[derive(Clone, Debug, PartialEq)]
pub enum FnBody {
    /// `= expr`
    Expr(Expr),
    /// `{ ... }`: the last statement, when it is an expression, is the result.
    Block(Block),
}

/// `kernel name(params) -> ret { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelDef {
    /// The kernel's name.
    pub name: Ident,
    /// Its parameters.
    pub params: Vec<Param>,
    /// The declared scalar result dtype, if any.
    pub ret: Option<TypeAnn>,
    /// The body.
    pub body: Block,
    /// The whole definition.
    pub span: Span,
}

/// A parameter, optionally annotated.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter name.
    pub name: Ident,
    /// Its annotation.
    pub ann: Option<TypeAnn>,
}

/// A type annotation: `f32`, or `f32[n, d]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeAnn {
    /// The dtype name as written (checked by later stages).
    pub dtype: Ident,
    /// The shape, when brackets were written (`f32[]` is a 0-d array).
    pub shape: Option<Vec<Dim>>,
    /// The whole annotation.
    pub span: Span,
}

/// One dimension of an annotated shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    /// A size variable (`n`), which must agree across parameters.
    Name(Ident),
    /// `_`: any size.
    Any(Span),
    /// An exact size.
    Fixed(i64, Span),
}

/// An expression with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// From its first to its last token.
    pub span: Span,
}

/// The expression forms of LANGUAGE.md section 3.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A string literal, unescaped.
    Str(String),
    /// A name.
    Name(String),
    /// `newaxis`
    Newaxis,
    /// A unary operation.
    Unary(UnOp, Box<Expr>),
    /// A binary operation (including `and`/`or` and comparisons).
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A call `callee(args)`.
    Call {
        /// The called expression (a name in every valid program).
        callee: Box<Expr>,
        /// Positional and keyword arguments in source order.
        args: Vec<Arg>,
    },
    /// An index `base[items]`.
    Index {
        /// The indexed expression.
        base: Box<Expr>,
        /// The comma-separated index items.
        items: Vec<IndexItem>,
    },
    /// An attribute `base.name` (`T shape ndim dtype size strides`).
    Attr {
        /// The expression before the dot.
        base: Box<Expr>,
        /// The attribute name.
        name: Ident,
    },
    /// A parenthesised tuple: `()`, `(a,)`, `(a, b)`.
    Tuple(Vec<Expr>),
    /// A bracketed list `[a, b, ...]`.
    List(Vec<Expr>),
}

/// A call argument.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The keyword, for `k=v`.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// One item inside `[...]` of an index expression.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexItem {
    /// An expression: an integer, an index array, a mask, or `newaxis`.
    Expr(Expr),
    /// `start:stop:step`, each part optional.
    Slice {
        /// The start.
        start: Option<Expr>,
        /// The stop.
        stop: Option<Expr>,
        /// The step.
        step: Option<Expr>,
        /// The whole slice.
        span: Span,
    },
    /// `...`
    Ellipsis(Span),
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x`
    Pos,
    /// `~x`
    Invert,
    /// `not x`
    Not,
}

/// Binary operators.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    MatMul,
    Pow,
    BitAnd,
    BitXor,
    BitOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::MatMul => "@",
            BinOp::Pow => "**",
            BinOp::BitAnd => "&",
            BinOp::BitXor => "^",
            BinOp::BitOr => "|",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}
