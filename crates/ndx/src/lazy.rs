//! Lazy fused expressions: the graph a statement builds before anything is computed.
//!
//! Elementwise and broadcast operations on arrays do not run when they are evaluated: they
//! build a [`Lazy`] DAG whose leaves are materialised arrays (or views) and constants. When a
//! value must exist in memory (a `let` binds it, it is printed, a non-fusible builtin needs it)
//! or a reduction consumes it, the whole DAG becomes one [`Kernel`] and runs once, so
//! intermediates are never allocated.
//!
//! Invariants: every node's `shape` is the broadcast of its children's shapes; operands of a
//! binary node share a dtype (the constructors insert casts), as `ndx_ir::kernel` requires.
//! Views of a lazy value (slices, transposes, `newaxis`) are pushed down to the leaves
//! ([`Lazy::map_leaves`]), so they fold into strided accesses.
//!
//! A keepdims reduction over the last axis (`max(x, axis=-1, keepdims=true)`) may stay lazy
//! too, as a row-reduce node whose shape is its operand's with the last extent 1. Its consumers
//! then run as one row program (`crate::rows`) that reduces and finishes each block of rows
//! while the rows are in cache. Anything else settles the row-reduce nodes first
//! ([`Lazy::replace_reduces`]): no kernel ever contains one.
//!
//! A leaf may also be a [`Pending`] contraction (a GEMM not run yet), so the elementwise work
//! applied to its result can run as the GEMM's epilogue (`crate::epilogue`). Anything that
//! needs its values as an array (a view of it, a kernel that is not its epilogue) forces it;
//! it runs once.

use crate::epilogue::Pending;
use ndx_ir::kernel::{BinaryOp, Handle, Kernel, Node, Op, Output, ReduceOp, UnaryOp};
use ndx_ir::shape::broadcast_strides;
use ndx_runtime::ops::wide_math::WideFn;
use ndx_runtime::{Array, DType, Scalar};
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::sync::Arc;

/// A node with 512-bit code ([`Lazy::wide_nodes`]).
pub(crate) struct WideNode {
    /// The node's identity ([`Lazy::id`]).
    pub id: usize,
    pub op: WideOp,
    /// `f32` or `f64` (the node's and its operands').
    pub dtype: DType,
    /// The operands: one for a function (two for `pow`), numerator and divisor for a
    /// division.
    pub operands: Vec<Lazy>,
}

/// What a [`WideNode`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WideOp {
    Fn(WideFn),
    /// Float division, by a divisor per element or per row.
    Div,
}

/// A lazy elementwise expression.
#[derive(Clone, Debug)]
pub(crate) struct Lazy {
    node: Arc<LNode>,
}

#[derive(Debug)]
struct LNode {
    kind: LKind,
    dtype: DType,
    shape: Vec<usize>,
    /// The longest path to a leaf (0 for a leaf or a constant).
    depth: u32,
    /// The nodes of the expression as a tree, shared ones counted at each use (saturating).
    size: u32,
}

#[derive(Debug)]
enum LKind {
    Leaf(Array),
    Const(Scalar),
    Unary(UnaryOp, Arc<LNode>),
    Binary(BinaryOp, Arc<LNode>, Arc<LNode>),
    Select(Arc<LNode>, Arc<LNode>, Arc<LNode>),
    Cast(Arc<LNode>),
    /// A keepdims reduction over the last axis (`Sum`, `Max` or `Min`).
    RowReduce(ReduceOp, Arc<LNode>),
    Pending(Arc<Pending>),
}

/// What an operand becomes when a node is rebuilt.
type ChildMap<'a, E> = dyn FnMut(&Arc<LNode>) -> Result<Arc<LNode>, E> + 'a;

impl LKind {
    /// Calls `f` on each operand (none for leaves and constants).
    fn for_each_child(&self, f: &mut dyn FnMut(&Arc<LNode>)) {
        match self {
            LKind::Leaf(_) | LKind::Const(_) | LKind::Pending(_) => {}
            LKind::Unary(_, a) | LKind::Cast(a) | LKind::RowReduce(_, a) => f(a),
            LKind::Binary(_, a, b) => {
                f(a);
                f(b);
            }
            LKind::Select(c, a, b) => {
                f(c);
                f(a);
                f(b);
            }
        }
    }
}

impl LNode {
    /// A node of `kind`, its depth and size from its operands'.
    fn new(kind: LKind, dtype: DType, shape: Vec<usize>) -> LNode {
        let (mut depth, mut size) = (0u32, 1u32);
        let mut leaf = true;
        kind.for_each_child(&mut |c| {
            leaf = false;
            depth = depth.max(c.depth);
            size = size.saturating_add(c.size);
        });
        LNode {
            kind,
            dtype,
            shape,
            depth: if leaf { 0 } else { depth + 1 },
            size,
        }
    }

    /// Calls `f` on each operand (none for leaves and constants).
    fn for_each_child(&self, f: &mut dyn FnMut(&Arc<LNode>)) {
        self.kind.for_each_child(f);
    }

    /// This node's operation over the operands `f` maps its operands to, or `None` for
    /// leaves and constants (which have none).
    fn map_children<E>(&self, f: &mut ChildMap<'_, E>) -> Result<Option<LKind>, E> {
        Ok(Some(match &self.kind {
            LKind::Leaf(_) | LKind::Const(_) | LKind::Pending(_) => return Ok(None),
            LKind::Unary(op, a) => LKind::Unary(*op, f(a)?),
            LKind::Cast(a) => LKind::Cast(f(a)?),
            LKind::RowReduce(op, a) => LKind::RowReduce(*op, f(a)?),
            LKind::Binary(op, a, b) => {
                let a = f(a)?;
                LKind::Binary(*op, a, f(b)?)
            }
            LKind::Select(c, a, b) => {
                let c = f(c)?;
                let a = f(a)?;
                LKind::Select(c, a, f(b)?)
            }
        }))
    }
}

impl Lazy {
    /// A leaf reading a materialised array.
    pub(crate) fn leaf(a: Array) -> Lazy {
        let (dtype, shape) = (a.dtype(), a.shape().to_vec());
        Lazy {
            node: Arc::new(LNode::new(LKind::Leaf(a), dtype, shape)),
        }
    }

    /// A constant compiled into the kernel.
    pub(crate) fn constant(s: Scalar) -> Lazy {
        Lazy {
            node: Arc::new(LNode::new(LKind::Const(s), s.dtype(), Vec::new())),
        }
    }

    /// A leaf standing for a contraction that has not run.
    pub(crate) fn pending(p: Arc<Pending>) -> Lazy {
        let (dtype, shape) = (p.dtype(), p.shape().to_vec());
        Lazy {
            node: Arc::new(LNode::new(LKind::Pending(p), dtype, shape)),
        }
    }

    /// The pending contraction, when this expression is just its result.
    pub(crate) fn as_pending(&self) -> Option<&Arc<Pending>> {
        match &self.node.kind {
            LKind::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The distinct pending contractions among the leaves.
    pub(crate) fn pending_leaves(&self) -> Vec<Arc<Pending>> {
        let mut found: Vec<Arc<Pending>> = Vec::new();
        visit_nodes(&self.node, &mut |n| {
            if let LKind::Pending(p) = &n.kind {
                if !found.iter().any(|q| Arc::ptr_eq(p, q)) {
                    found.push(p.clone());
                }
            }
        });
        found
    }

    /// This expression on rows `r0..r1` of its first axis, with the pending contraction `p`
    /// read from `block` (those rows of its result) and every other leaf sliced to the rows.
    /// Only for expressions of `p`'s shape.
    pub(crate) fn rows_with(
        &self,
        p: &Arc<Pending>,
        block: &Array,
        r0: usize,
        r1: usize,
    ) -> Result<Lazy, ndx_runtime::RuntimeError> {
        let full = self.node.shape.clone();
        let mut shape = full.clone();
        if let Some(n) = shape.first_mut() {
            *n = r1 - r0;
        }
        let mut memo = node_map();
        let node = replace_leaves(
            &self.node,
            &mut |n| match &n.kind {
                LKind::Pending(q) if Arc::ptr_eq(p, q) => Ok(Some(Lazy::leaf(block.clone()).node)),
                LKind::Pending(q) => Ok(Some(
                    Lazy::leaf(crate::epilogue::rows(
                        &q.force()?.broadcast_to(&full)?,
                        r0,
                        r1,
                    )?)
                    .node,
                )),
                // A leaf without the row axis (a bias) reads the same for every block.
                LKind::Leaf(a) if a.ndim() < full.len() || a.shape().first() == Some(&1) => {
                    Ok(None)
                }
                LKind::Leaf(a) => Ok(Some(
                    Lazy::leaf(crate::epilogue::rows(&a.broadcast_to(&full)?, r0, r1)?).node,
                )),
                _ => Ok(None),
            },
            &mut memo,
        )?;
        Ok(Lazy {
            node: with_shape(&node, &shape, &mut node_map()),
        })
    }

    /// The result dtype.
    pub(crate) fn dtype(&self) -> DType {
        self.node.dtype
    }

    /// The result shape.
    pub(crate) fn shape(&self) -> &[usize] {
        &self.node.shape
    }

    /// The leaf array, when this expression is just a read of one array.
    pub(crate) fn as_leaf(&self) -> Option<&Array> {
        match &self.node.kind {
            LKind::Leaf(a) => Some(a),
            _ => None,
        }
    }

    /// Conversion to `dtype` (a no-op when already of that dtype).
    pub(crate) fn cast(&self, dtype: DType) -> Lazy {
        if self.dtype() == dtype {
            return self.clone();
        }
        if let LKind::Const(s) = self.node.kind {
            return Lazy::constant(s.cast(dtype));
        }
        let shape = self.node.shape.clone();
        Lazy {
            node: Arc::new(LNode::new(LKind::Cast(self.node.clone()), dtype, shape)),
        }
    }

    /// An elementwise unary operation (the operand already has the right dtype).
    pub(crate) fn unary(op: UnaryOp, a: &Lazy) -> Lazy {
        let dtype = op.result_dtype(a.dtype());
        let shape = a.node.shape.clone();
        Lazy {
            node: Arc::new(LNode::new(LKind::Unary(op, a.node.clone()), dtype, shape)),
        }
    }

    /// An elementwise binary operation on operands of one dtype, with a broadcast `shape`.
    pub(crate) fn binary(op: BinaryOp, a: &Lazy, b: &Lazy, shape: Vec<usize>) -> Lazy {
        let dtype = op.result_dtype(a.dtype());
        let kind = LKind::Binary(op, a.node.clone(), b.node.clone());
        Lazy {
            node: Arc::new(LNode::new(kind, dtype, shape)),
        }
    }

    /// `where(c, a, b)` with `c` bool and `a`, `b` of one dtype, with a broadcast `shape`.
    pub(crate) fn select(c: &Lazy, a: &Lazy, b: &Lazy, shape: Vec<usize>) -> Lazy {
        let dtype = a.dtype();
        let kind = LKind::Select(c.node.clone(), a.node.clone(), b.node.clone());
        Lazy {
            node: Arc::new(LNode::new(kind, dtype, shape)),
        }
    }

    /// The keepdims reduction `op` of `a` over its last axis, left lazy (see the module doc).
    pub(crate) fn row_reduce(op: ReduceOp, a: &Lazy) -> Lazy {
        let mut shape = a.node.shape.clone();
        if let Some(last) = shape.last_mut() {
            *last = 1;
        }
        Lazy {
            node: Arc::new(LNode::new(
                LKind::RowReduce(op, a.node.clone()),
                a.dtype(),
                shape,
            )),
        }
    }

    /// The expression with each subexpression that it computes more than once made one node:
    /// the same operation of the same operands, down to leaves reading the same view and
    /// constants of the same bits. `exp(x - max(x, axis=-1, keepdims=true)) / sum(exp(x -
    /// max(x, axis=-1, keepdims=true)), axis=-1, keepdims=true)` then takes each row's maximum
    /// and the `exp` once, as the same softmax written in two statements does (the row
    /// planner and the 512-bit steps match nodes by identity). The values are the same.
    pub(crate) fn shared(&self) -> Lazy {
        let mut memo = node_map();
        let mut table = HashMap::default();
        Lazy {
            node: share_node(&self.node, &mut memo, &mut table),
        }
    }

    /// True when the expression is too deep or too large to stay lazy: the interpreter
    /// computes it then ([`MAX_DEPTH`], [`MAX_SIZE`]), so that the walks over it (recursive)
    /// and its kernel stay small.
    pub(crate) fn is_large(&self) -> bool {
        self.node.depth > MAX_DEPTH || self.node.size > MAX_SIZE
    }

    /// True when the expression contains a lazy row reduction.
    pub(crate) fn has_row_reduce(&self) -> bool {
        holds_reduce(&self.node)
    }

    /// The expression with every row-reduce node replaced, innermost first, by a leaf holding
    /// `f(op, operand)` (an array of the node's shape); the operand passed to `f` has no
    /// row-reduce nodes left. Shared subexpressions are replaced once.
    pub(crate) fn replace_reduces<E>(
        &self,
        f: &mut dyn FnMut(ReduceOp, &Lazy) -> Result<Array, E>,
    ) -> Result<Lazy, E> {
        let mut memo = node_map();
        Ok(Lazy {
            node: replace_node(&self.node, f, &mut memo)?,
        })
    }

    /// The operands of the row-reduce nodes, innermost first (each once), and the node
    /// identities the row planner uses to match them.
    pub(crate) fn row_reduces(&self) -> Vec<(usize, ReduceOp, Lazy)> {
        fn walk(
            n: &Arc<LNode>,
            seen: &mut FxHashSet<*const LNode>,
            out: &mut Vec<(usize, ReduceOp, Lazy)>,
        ) {
            if !seen.insert(Arc::as_ptr(n)) {
                return;
            }
            n.for_each_child(&mut |a| walk(a, seen, out));
            if let LKind::RowReduce(op, a) = &n.kind {
                let operand = Lazy { node: a.clone() };
                out.push((Arc::as_ptr(n) as usize, *op, operand));
            }
        }
        let mut out = Vec::new();
        walk(&self.node, &mut node_set(), &mut out);
        out
    }

    /// The float nodes of the expression's own shape that have 512-bit code
    /// (`ndx_runtime::ops::wide_math`: every math function of `f32` and `f64`), innermost first (each once): the functions
    /// with 512-bit code of the node's dtype, and divisions of an operand of that shape by one
    /// of that shape or with the last extent 1
    /// (a divisor per row). Row-reduce operands are not searched (a row program takes them
    /// apart first).
    pub(crate) fn wide_nodes(&self) -> Vec<WideNode> {
        fn walk(
            n: &Arc<LNode>,
            shape: &[usize],
            seen: &mut FxHashSet<*const LNode>,
            out: &mut Vec<WideNode>,
        ) {
            if !seen.insert(Arc::as_ptr(n)) || matches!(n.kind, LKind::RowReduce(..)) {
                return;
            }
            n.for_each_child(&mut |a| walk(a, shape, seen, out));
            if !matches!(n.dtype, DType::F32 | DType::F64) || n.shape != shape {
                return;
            }
            let lazy = |a: &Arc<LNode>| Lazy { node: a.clone() };
            let (op, operands) = match &n.kind {
                LKind::Unary(op, a) => {
                    let Some(f) = op.wide() else {
                        return;
                    };
                    (WideOp::Fn(f), vec![lazy(a)])
                }
                // Two operands, each of the node's shape or a constant (a block program maps
                // the leaves of an operand to block views of its own shape). `x ** c` with a
                // small constant `c` is multiplied out by the JIT (`vmath::small_exponent`),
                // so it keeps the JIT's bits without the call.
                LKind::Binary(op, a, b)
                    if op.wide().is_some()
                        && [a, b].iter().all(|o| {
                            o.dtype == n.dtype
                                && (o.shape == *shape || matches!(o.kind, LKind::Const(_)))
                        })
                        && !(*op == BinaryOp::Pow && small_exponent(b)) =>
                {
                    let Some(f) = op.wide() else {
                        return;
                    };
                    (WideOp::Fn(f), vec![lazy(a), lazy(b)])
                }
                LKind::Binary(BinaryOp::Div, a, b) if a.shape == shape => {
                    let per_row = shape.len() >= 2
                        && b.shape.len() == shape.len()
                        && b.shape[..shape.len() - 1] == shape[..shape.len() - 1]
                        && b.shape.last() == Some(&1);
                    if b.shape != shape && !per_row {
                        return;
                    }
                    (WideOp::Div, vec![lazy(a), lazy(b)])
                }
                _ => return,
            };
            out.push(WideNode {
                id: Arc::as_ptr(n) as usize,
                op,
                dtype: n.dtype,
                operands,
            });
        }
        let mut out = Vec::new();
        walk(&self.node, &self.node.shape, &mut node_set(), &mut out);
        out
    }

    /// The identity of the root node (what [`Lazy::row_reduces`] reports for a node).
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.node) as usize
    }

    /// How many times each node is used as an operand within the expression (by identity).
    pub(crate) fn use_counts(&self) -> HashMap<usize, usize> {
        fn walk(n: &Arc<LNode>, counts: &mut HashMap<usize, usize>) {
            let c = counts.entry(Arc::as_ptr(n) as usize).or_insert(0);
            *c += 1;
            if *c > 1 {
                return;
            }
            n.for_each_child(&mut |a| walk(a, counts));
        }
        let mut counts = node_map();
        walk(&self.node, &mut counts);
        counts
    }

    /// True when the expression computes a transcendental function (worth computing once).
    pub(crate) fn is_costly(&self) -> bool {
        fn walk(n: &LNode) -> bool {
            match &n.kind {
                LKind::Leaf(_) | LKind::Const(_) | LKind::Pending(_) | LKind::RowReduce(..) => {
                    false
                }
                LKind::Unary(op, a) => {
                    !matches!(
                        op,
                        UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Not | UnaryOp::Sign
                    ) || walk(a)
                }
                LKind::Cast(a) => walk(a),
                LKind::Binary(op, a, b) => {
                    matches!(op, BinaryOp::Pow | BinaryOp::Arctan2) || walk(a) || walk(b)
                }
                LKind::Select(c, a, b) => walk(c) || walk(a) || walk(b),
            }
        }
        walk(&self.node)
    }

    /// Applies a view operation to the whole expression by applying it to every leaf after
    /// broadcasting the leaf to the expression's shape. `f` maps an array of this expression's
    /// shape to the viewed array; `shape` is the viewed shape. Row-reduce nodes must have been
    /// settled (an error otherwise).
    pub(crate) fn map_leaves<E>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<Array, E>,
        shape: &[usize],
        to_err: &dyn Fn(ndx_runtime::RuntimeError) -> E,
    ) -> Result<Lazy, E> {
        self.map_subst(&HashMap::default(), f, shape, to_err)
    }

    /// [`Lazy::map_leaves`] that also replaces the nodes whose identity ([`Lazy::id`],
    /// [`Lazy::row_reduces`]) is a key of `subst` by a leaf reading the given array (of the
    /// viewed shape, or broadcasting to it), without applying `f` to it.
    pub(crate) fn map_subst<E>(
        &self,
        subst: &HashMap<usize, Array>,
        f: &mut dyn FnMut(&Array) -> Result<Array, E>,
        shape: &[usize],
        to_err: &dyn Fn(ndx_runtime::RuntimeError) -> E,
    ) -> Result<Lazy, E> {
        let mut memo: HashMap<*const LNode, Arc<LNode>> = node_map();
        let full = self.node.shape.clone();
        let mut m = Mapper {
            full: &full,
            shape,
            f,
            to_err,
            subst,
            memo: &mut memo,
        };
        let node = m.node(&self.node)?;
        Ok(Lazy { node })
    }

    /// True when some leaf shares memory with `a`.
    pub(crate) fn reads_memory_of(&self, a: &Array) -> bool {
        let mut found = false;
        visit_leaves(&self.node, &mut |l| found |= l.shares_memory(a));
        found
    }

    /// True when every leaf that shares memory with `out` reads it at exactly the positions
    /// `out` is written (same start and same strides after broadcasting), so computing in
    /// place is safe.
    pub(crate) fn safe_in_place(&self, out: &Array) -> bool {
        let mut safe = true;
        let shape = out.shape().to_vec();
        visit_leaves(&self.node, &mut |l| {
            if l.shares_memory(out) {
                let same_ptr = matches!((l.ptr(), out.ptr()), (Ok(p), Ok(q)) if p == q);
                let strides = broadcast_strides(l.shape(), l.strides(), &shape);
                safe &= same_ptr
                    && l.dtype() == out.dtype()
                    && strides.as_deref() == Some(out.strides());
            }
        });
        safe
    }
}

/// True when `e` is a constant (perhaps cast) that the JIT raises to by multiplying or by a
/// square root: an integer in -1..=4, or 0.5 (`ndx_codegen`'s `vmath::small_exponent`).
fn small_exponent(e: &LNode) -> bool {
    let c = match &e.kind {
        LKind::Const(s) => s,
        LKind::Cast(a) => match &a.kind {
            LKind::Const(s) => s,
            _ => return false,
        },
        _ => return false,
    };
    let v = c.to_f64();
    v == 0.5 || (v.fract() == 0.0 && (-1.0..=4.0).contains(&v))
}

fn holds_reduce(n: &LNode) -> bool {
    let mut found = matches!(n.kind, LKind::RowReduce(..));
    n.for_each_child(&mut |c| found = found || holds_reduce(c));
    found
}

fn replace_node<E>(
    n: &Arc<LNode>,
    f: &mut dyn FnMut(ReduceOp, &Lazy) -> Result<Array, E>,
    memo: &mut HashMap<*const LNode, Arc<LNode>>,
) -> Result<Arc<LNode>, E> {
    if let Some(done) = memo.get(&Arc::as_ptr(n)) {
        return Ok(done.clone());
    }
    let kind = match &n.kind {
        LKind::RowReduce(op, a) => {
            let a = replace_node(a, f, memo)?;
            LKind::Leaf(f(*op, &Lazy { node: a })?)
        }
        _ => match n.map_children(&mut |c| replace_node(c, f, memo))? {
            Some(k) => k,
            None => return Ok(n.clone()),
        },
    };
    Ok(remember(n, kind, n.shape.clone(), memo))
}

/// A rebuilt `n` (same dtype) with `kind` and `shape`, recorded in `memo` as `n`'s image.
fn remember(
    n: &Arc<LNode>,
    kind: LKind,
    shape: Vec<usize>,
    memo: &mut HashMap<*const LNode, Arc<LNode>>,
) -> Arc<LNode> {
    let out = Arc::new(LNode::new(kind, n.dtype, shape));
    memo.insert(Arc::as_ptr(n), out.clone());
    out
}

fn visit_leaves(n: &Arc<LNode>, f: &mut dyn FnMut(&Array)) {
    // A pending contraction has not run: its result will be fresh memory.
    if let LKind::Leaf(a) = &n.kind {
        f(a);
    }
    n.for_each_child(&mut |c| visit_leaves(c, f));
}

fn visit_nodes(n: &Arc<LNode>, f: &mut dyn FnMut(&LNode)) {
    f(n);
    n.for_each_child(&mut |c| visit_nodes(c, f));
}

/// What replaces a leaf: `Some(node)`, or `None` to keep it.
type LeafMap<'a, E> = dyn FnMut(&LNode) -> Result<Option<Arc<LNode>>, E> + 'a;

/// `n` with the leaves `f` replaces (returning `Some`) swapped, sharing unchanged subtrees.
fn replace_leaves<E>(
    n: &Arc<LNode>,
    f: &mut LeafMap<'_, E>,
    memo: &mut HashMap<*const LNode, Arc<LNode>>,
) -> Result<Arc<LNode>, E> {
    if let Some(done) = memo.get(&Arc::as_ptr(n)) {
        return Ok(done.clone());
    }
    let kind = match n.map_children(&mut |c| replace_leaves(c, f, memo))? {
        Some(k) => k,
        None => match f(n)? {
            Some(r) => {
                memo.insert(Arc::as_ptr(n), r.clone());
                return Ok(r);
            }
            None => return Ok(n.clone()),
        },
    };
    Ok(remember(n, kind, n.shape.clone(), memo))
}

/// `n` with every inner node's shape set to `shape` (its leaves already have it, or
/// broadcast to it).
fn with_shape(
    n: &Arc<LNode>,
    shape: &[usize],
    memo: &mut HashMap<*const LNode, Arc<LNode>>,
) -> Arc<LNode> {
    if let Some(done) = memo.get(&Arc::as_ptr(n)) {
        return done.clone();
    }
    let mapped: Result<_, std::convert::Infallible> =
        n.map_children(&mut |c| Ok(with_shape(c, shape, memo)));
    let Ok(Some(kind)) = mapped else {
        return n.clone();
    };
    // A row reduction keeps its operand's shape with the last extent 1.
    let mut own = shape.to_vec();
    if let (LKind::RowReduce(..), Some(last)) = (&kind, own.last_mut()) {
        *last = 1;
    }
    remember(n, kind, own, memo)
}

struct Mapper<'a, E> {
    full: &'a [usize],
    shape: &'a [usize],
    f: &'a mut dyn FnMut(&Array) -> Result<Array, E>,
    to_err: &'a dyn Fn(ndx_runtime::RuntimeError) -> E,
    subst: &'a HashMap<usize, Array>,
    memo: &'a mut HashMap<*const LNode, Arc<LNode>>,
}

impl<E> Mapper<'_, E> {
    fn node(&mut self, n: &Arc<LNode>) -> Result<Arc<LNode>, E> {
        if let Some(done) = self.memo.get(&Arc::as_ptr(n)) {
            return Ok(done.clone());
        }
        let kind = if let Some(a) = self.subst.get(&(Arc::as_ptr(n) as usize)) {
            LKind::Leaf(a.clone())
        } else {
            match &n.kind {
                LKind::Const(_) => return Ok(n.clone()),
                // A view of a contraction's result reads the result.
                LKind::Pending(p) => {
                    let a = p.force().map_err(self.to_err)?;
                    let b = a.broadcast_to(self.full).map_err(self.to_err)?;
                    LKind::Leaf((self.f)(&b)?)
                }
                LKind::RowReduce(..) => {
                    return Err((self.to_err)(ndx_runtime::RuntimeError::Invalid(
                        "internal error: a view of an unsettled row reduction".into(),
                    )))
                }
                LKind::Leaf(a) => {
                    let b = a.broadcast_to(self.full).map_err(self.to_err)?;
                    LKind::Leaf((self.f)(&b)?)
                }
                _ => match n.map_children(&mut |c| self.node(c))? {
                    Some(k) => k,
                    None => return Ok(n.clone()),
                },
            }
        };
        Ok(remember(n, kind, self.shape.to_vec(), self.memo))
    }
}

/// What a node computes, its operands by their shared node ([`Lazy::shared`]).
#[derive(PartialEq, Eq, Hash)]
enum ShareKey {
    /// A leaf: the view's address, dtype, shape and strides.
    View(usize, DType, Vec<usize>, Vec<isize>),
    /// A constant: its dtype and bits ([`Scalar::word`]).
    Const(DType, i64),
    /// A node shared only with itself (a pending contraction, a leaf without memory).
    Itself(usize),
    /// An operation: its kind, its operands' nodes, its dtype and shape.
    Op(OpKey, DType, Vec<usize>),
}

/// The operation of a [`ShareKey::Op`].
#[derive(PartialEq, Eq, Hash)]
enum OpKey {
    Unary(UnaryOp, usize),
    Binary(BinaryOp, usize, usize),
    Select(usize, usize, usize),
    Cast(usize),
    RowReduce(ReduceOp, usize),
}

/// [`Lazy::shared`] of node `n`: `memo` maps the nodes seen to their shared nodes, `table`
/// what each shared node computes to it.
fn share_node(
    n: &Arc<LNode>,
    memo: &mut HashMap<*const LNode, Arc<LNode>>,
    table: &mut HashMap<ShareKey, Arc<LNode>>,
) -> Arc<LNode> {
    if let Some(s) = memo.get(&Arc::as_ptr(n)) {
        return s.clone();
    }
    // Whether an operand's shared node is another node than the operand.
    let mut moved = false;
    let mut child = |c: &Arc<LNode>| -> Result<Arc<LNode>, std::convert::Infallible> {
        let s = share_node(c, memo, table);
        moved |= !Arc::ptr_eq(&s, c);
        Ok(s)
    };
    let kind = match n.map_children(&mut child) {
        Ok(k) => k,
        Err(never) => match never {},
    };
    let id = |c: &Arc<LNode>| Arc::as_ptr(c) as usize;
    let op = |o: OpKey| ShareKey::Op(o, n.dtype, n.shape.clone());
    let key = match (&kind, &n.kind) {
        (Some(LKind::Unary(o, a)), _) => op(OpKey::Unary(*o, id(a))),
        (Some(LKind::Binary(o, a, b)), _) => op(OpKey::Binary(*o, id(a), id(b))),
        (Some(LKind::Select(c, a, b)), _) => op(OpKey::Select(id(c), id(a), id(b))),
        (Some(LKind::Cast(a)), _) => op(OpKey::Cast(id(a))),
        (Some(LKind::RowReduce(o, a)), _) => op(OpKey::RowReduce(*o, id(a))),
        (_, LKind::Leaf(a)) => match a.ptr() {
            Ok(p) => ShareKey::View(
                p as usize,
                a.dtype(),
                a.shape().to_vec(),
                a.strides().to_vec(),
            ),
            Err(_) => ShareKey::Itself(id(n)),
        },
        (_, LKind::Const(c)) => ShareKey::Const(c.dtype(), c.word()),
        _ => ShareKey::Itself(id(n)),
    };
    let shared = match table.get(&key) {
        Some(s) => s.clone(),
        None => {
            // The node itself when its operands are already shared ones (no new node).
            let s = match kind {
                Some(k) if moved => Arc::new(LNode::new(k, n.dtype, n.shape.clone())),
                _ => n.clone(),
            };
            table.insert(key, s.clone());
            s
        }
    };
    memo.insert(Arc::as_ptr(n), shared.clone());
    shared
}

/// The depth from which a lazy expression is computed ([`Lazy::is_large`]): a loop in a `fn`
/// body that adds to a value 200 000 times made the walks over the expression overflow the
/// stack. Far deeper than any formula written out (gelu is 12 deep).
pub(crate) const MAX_DEPTH: u32 = 128;

/// The size (nodes counted as a tree, [`LNode::size`]) from which a lazy expression is
/// computed ([`Lazy::is_large`]): an expression that doubles by sharing (`y = y * y` in a
/// loop) stays shallow but grows its kernel.
pub(crate) const MAX_SIZE: u32 = 4096;

/// A kernel built from lazy expressions, with the arrays it reads.
pub(crate) struct Built {
    /// The fused kernel.
    pub kernel: Kernel,
    /// The input arrays, in kernel input order (each of its own shape: broadcast by the caller).
    pub inputs: Vec<Array>,
}

/// Builds one kernel computing `outputs` (each optionally reduced). Pending contractions
/// among the leaves run here (their results are read as inputs). The expressions must hold no
/// row-reduce node (settle them first): that is an internal error.
pub(crate) fn build(
    outputs: &[(&Lazy, Option<ReduceOp>)],
) -> Result<Built, ndx_runtime::RuntimeError> {
    let mut b = Builder {
        kernel: Kernel::new(),
        inputs: Vec::new(),
        memo: node_map(),
        values: HashMap::default(),
    };
    for (lazy, reduce) in outputs {
        let value = b.node(&lazy.node)?;
        b.kernel.outputs.push(Output {
            value,
            reduce: *reduce,
        });
    }
    Ok(Built {
        kernel: b.kernel,
        inputs: b.inputs,
    })
}

struct Builder {
    kernel: Kernel,
    inputs: Vec<Array>,
    memo: HashMap<*const LNode, Handle>,
    /// Each node of the kernel by what it computes: the same operation on the same operands
    /// (`(x - mu) * (x - mu)`, its two sides built apart) is one node, computed once.
    values: HashMap<Node, Handle>,
}

impl Builder {
    fn node(&mut self, n: &Arc<LNode>) -> Result<Handle, ndx_runtime::RuntimeError> {
        if let Some(h) = self.memo.get(&Arc::as_ptr(n)) {
            return Ok(*h);
        }
        let op = match &n.kind {
            LKind::Leaf(a) => {
                let k = self.input(a);
                Op::Input(k)
            }
            LKind::Const(s) => Op::Const(*s),
            LKind::Unary(op, a) => Op::Unary(*op, self.node(a)?),
            LKind::Cast(a) => Op::Cast(self.node(a)?),
            LKind::Binary(op, a, b) => {
                let a = self.node(a)?;
                Op::Binary(*op, a, self.node(b)?)
            }
            LKind::Select(c, a, b) => {
                let c = self.node(c)?;
                let a = self.node(a)?;
                Op::Select(c, a, self.node(b)?)
            }
            LKind::Pending(p) => Op::Input(self.input(&p.force()?)),
            LKind::RowReduce(..) => {
                return Err(ndx_runtime::RuntimeError::Invalid(
                    "internal error: a kernel still holds a row reduction".into(),
                ))
            }
        };
        let node = Node { op, dtype: n.dtype };
        let h = match self.values.get(&node) {
            Some(&h) => h,
            None => {
                let h = self.kernel.push(node.op.clone(), node.dtype);
                self.values.insert(node, h);
                h
            }
        };
        self.memo.insert(Arc::as_ptr(n), h);
        Ok(h)
    }

    /// The input index of a leaf, reusing one input for the same view read twice.
    fn input(&mut self, a: &Array) -> u32 {
        let same = |b: &Array| {
            b.dtype() == a.dtype()
                && b.shape() == a.shape()
                && b.strides() == a.strides()
                && matches!((a.ptr(), b.ptr()), (Ok(p), Ok(q)) if p == q)
        };
        if let Some(k) = self.inputs.iter().position(same) {
            return k as u32;
        }
        self.inputs.push(a.clone());
        self.kernel.inputs.push(a.dtype());
        (self.inputs.len() - 1) as u32
    }
}

/// Nodes a walk's table holds without growing: more than most statements have (a statement's
/// walks run on every execution, and growing a table rehashes it).
const WALK_NODES: usize = 64;

/// An empty map keyed by node, for one walk over an expression.
fn node_map<K, V>() -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(WALK_NODES, Default::default())
}

/// An empty set of nodes, for one walk over an expression.
fn node_set<K>() -> FxHashSet<K> {
    FxHashSet::with_capacity_and_hasher(WALK_NODES, Default::default())
}
