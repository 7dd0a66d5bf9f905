//! Scans (`cumsum`, `cumprod`): a fused elementwise [`Kernel`] whose single output is
//! accumulated along one axis, written as a [`KFunc`] so the kernel compiler (loops,
//! vectorisation of unit-stride rows) compiles it.
//!
//! The producer expression is evaluated inside the scan's loops, so `cumsum(x * w)` never
//! allocates `x * w`. Two loop shapes are used, both visiting every element once in C order of
//! the iteration space:
//! - along the last axis (and for the flattened `axis=None` form) a scalar accumulator runs
//!   along the innermost loop, as NumPy's sequential scan does;
//! - along an outer axis `s`, row `j` of each block is row `j - 1` of the output combined with
//!   the producer's row `j`. The innermost loop is then a straight-line store over unit-stride
//!   rows, which the kernel compiler vectorises; the order of operations per element is the
//!   same as the sequential scan's, so results are identical.
//!
//! Calling convention of the [`KFunc`] (the `words` of a kernel call): the inputs, each of the
//! full iteration shape (broadcast by the caller), then the output array (C-contiguous, of the
//! iteration shape, or 1-D of its size for `axis=None`), then the `rank` extents as i64
//! scalars.
//!
//! ## Reductions along an outer axis
//! [`outer_reduce_func`] builds the outer-axis form for a reduction (`sum(x, axis=0)` of a
//! matrix): the caller passes the reduced output as an array of the iteration shape with
//! stride 0 along the reduced axis, so "row `j - 1` of the output" and "row `j`" are the same
//! memory and each row of the input is combined into it in place. The input is read once, in
//! C order, with unit-stride vector rows, where the loop nest of a plain reduction would walk
//! the reduced axis innermost with a large stride. The order of operations per output element
//! is the reduced axis's order, as in that nest.

use crate::kernel::{BinaryOp, Kernel, Op, ReduceOp};
use crate::kir::{Access, KArray, KExpr, KExprKind, KFor, KFunc, KParam, KStmt, Local};
use ndx_runtime::{DType, Scalar};

/// The accumulation of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanOp {
    /// Running sum.
    Sum,
    /// Running product.
    Prod,
}

impl ScanOp {
    /// The function's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            ScanOp::Sum => "cumsum",
            ScanOp::Prod => "cumprod",
        }
    }

    /// The accumulator dtype for a producer of dtype `d`: NumPy's, i64 for bool and ints.
    pub fn result_dtype(d: DType) -> DType {
        match d {
            DType::F32 | DType::F64 => d,
            DType::Bool | DType::I32 | DType::I64 => DType::I64,
        }
    }

    fn binary(self) -> BinaryOp {
        match self {
            ScanOp::Sum => BinaryOp::Add,
            ScanOp::Prod => BinaryOp::Mul,
        }
    }
}

/// The largest expression tree (in nodes) a scan inlines. A kernel whose graph shares values
/// so much that its tree form is bigger is materialised first by the caller.
pub const MAX_TREE: usize = 4096;

/// A scan to build: the producer, its iteration rank and the axis.
#[derive(Clone, Copy, Debug)]
pub struct ScanSpec<'k> {
    /// The producer: a kernel with exactly one unreduced output.
    pub kernel: &'k Kernel,
    /// Rank of the iteration space (every input has this rank).
    pub rank: usize,
    /// The scanned axis, or `None` for the flattened scan.
    pub axis: Option<usize>,
    /// The accumulation.
    pub op: ScanOp,
}

/// Why a scan cannot be built as one function.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanBuildError {
    /// The producer's tree form is larger than [`MAX_TREE`].
    #[error("the expression is too large to inline into a scan")]
    TooLarge,
    /// The kernel or axis does not describe one scan: a caller bug.
    #[error("internal error: bad scan: {0}")]
    Bad(String),
}

/// The number of nodes of `kernel`'s output in tree form (shared values counted at every
/// use), saturating above [`MAX_TREE`].
fn tree_size(kernel: &Kernel, h: usize, memo: &mut Vec<Option<usize>>) -> usize {
    if let Some(Some(n)) = memo.get(h) {
        return *n;
    }
    let mut size = |c: &crate::kernel::Handle| tree_size(kernel, c.index(), memo);
    let n = match &kernel.nodes[h].op {
        Op::Input(_) | Op::Const(_) => 1,
        Op::Unary(_, a) | Op::Cast(a) => 1 + size(a),
        Op::Binary(_, a, b) => 1 + size(a) + size(b),
        Op::Select(c, a, b) => 1 + size(c) + size(a) + size(b),
    }
    .min(MAX_TREE + 1);
    memo[h] = Some(n);
    n
}

/// Builds the kernel function of a scan (calling convention in the module documentation).
pub fn scan_func(spec: ScanSpec) -> Result<KFunc, ScanBuildError> {
    let ScanSpec {
        kernel,
        rank,
        axis,
        op,
    } = spec;
    let [out] = kernel.outputs.as_slice() else {
        return Err(ScanBuildError::Bad("a scan has one output".into()));
    };
    if out.reduce.is_some() || out.value.index() >= kernel.nodes.len() {
        return Err(ScanBuildError::Bad("the output must be elementwise".into()));
    }
    if axis.is_some_and(|a| a >= rank) {
        return Err(ScanBuildError::Bad(format!("axis {axis:?} of rank {rank}")));
    }
    let mut memo = vec![None; kernel.nodes.len()];
    if tree_size(kernel, out.value.index(), &mut memo) > MAX_TREE {
        return Err(ScanBuildError::TooLarge);
    }
    let acc_dtype = ScanOp::result_dtype(kernel.dtype(out.value));
    let unit = match op {
        ScanOp::Sum => 0,
        ScanOp::Prod => 1,
    };
    let b = Builder {
        kernel,
        rank,
        out_array: kernel.inputs.len() as u32,
        acc_dtype,
        combine: op.binary(),
        identity: Scalar::I64(unit).cast(acc_dtype),
    };
    let body = match axis {
        None => b.flat(),
        Some(s) if s + 1 == rank => b.along_last(),
        Some(s) => b.along_outer(s),
    };
    Ok(b.func(op.name(), axis.is_some(), body))
}

/// Builds the kernel function of a reduction of `kernel`'s single output along the outer
/// axis `axis` of a `rank`-dimensional iteration space (see the module documentation; the
/// output array has the iteration shape, with stride 0 along `axis`). `op` is `Sum`, `Prod`,
/// `Min`, `Max` (in the value's dtype), `Any` or `All` (of bool values); the arg reductions
/// have no such form.
pub fn outer_reduce_func(
    kernel: &Kernel,
    rank: usize,
    axis: usize,
    op: ReduceOp,
) -> Result<KFunc, ScanBuildError> {
    let [out] = kernel.outputs.as_slice() else {
        return Err(ScanBuildError::Bad("a reduction has one output".into()));
    };
    if out.reduce.is_some() || out.value.index() >= kernel.nodes.len() {
        return Err(ScanBuildError::Bad(
            "the reduced value must be elementwise".into(),
        ));
    }
    if axis + 1 >= rank {
        return Err(ScanBuildError::Bad(format!(
            "axis {axis} is not an outer axis of rank {rank}"
        )));
    }
    let combine = match op {
        ReduceOp::Sum => BinaryOp::Add,
        ReduceOp::Prod => BinaryOp::Mul,
        ReduceOp::Min => BinaryOp::Min,
        ReduceOp::Max => BinaryOp::Max,
        ReduceOp::Any => BinaryOp::BitOr,
        ReduceOp::All => BinaryOp::BitAnd,
        ReduceOp::ArgMin | ReduceOp::ArgMax => {
            return Err(ScanBuildError::Bad(format!(
                "{op:?} has no outer-axis form"
            )))
        }
    };
    let mut memo = vec![None; kernel.nodes.len()];
    let size = tree_size(kernel, out.value.index(), &mut memo);
    if size > MAX_TREE {
        return Err(ScanBuildError::TooLarge);
    }
    let acc_dtype = kernel.dtype(out.value);
    let b = Builder {
        kernel,
        rank,
        out_array: kernel.inputs.len() as u32,
        acc_dtype,
        combine,
        identity: Scalar::I64(0).cast(acc_dtype),
    };
    // Small values are inlined PASS times, so each pass over the output row reads and writes
    // it once for PASS input rows; larger ones keep one copy (compile time).
    let body = if size <= PASS_TREE {
        b.along_outer_in_passes(axis)
    } else {
        b.along_outer(axis)
    };
    let name = format!("{op:?}").to_lowercase();
    Ok(b.func(&name, true, body))
}

/// Input rows an outer-axis reduction combines into the output row per pass.
const PASS: i64 = 4;

/// The largest value (in tree nodes) inlined [`PASS`] times.
const PASS_TREE: usize = 16;

struct Builder<'k> {
    kernel: &'k Kernel,
    rank: usize,
    out_array: u32,
    acc_dtype: DType,
    /// How a value joins the accumulation.
    combine: BinaryOp,
    /// The accumulation's identity, in the accumulator's dtype.
    identity: Scalar,
}

impl Builder<'_> {
    /// The function: the inputs, the output (of the iteration rank when `full_rank`, else
    /// 1-D), the extents, and `body`.
    fn func(&self, name: &str, full_rank: bool, body: Vec<KStmt>) -> KFunc {
        let rank = self.rank;
        let mut arrays: Vec<KArray> = self
            .kernel
            .inputs
            .iter()
            .map(|&dtype| KArray { dtype, rank })
            .collect();
        arrays.push(KArray {
            dtype: self.acc_dtype,
            rank: if full_rank { rank } else { 1 },
        });
        let mut params: Vec<KParam> = (0..arrays.len() as u32).map(KParam::Array).collect();
        params.extend((0..rank).map(|d| KParam::Scalar(self.extent(d))));
        let mut locals = vec![DType::I64; 2 * rank];
        locals.push(self.acc_dtype);
        locals.push(DType::I64);
        locals.push(DType::I64);
        KFunc {
            name: name.to_string(),
            params,
            arrays,
            locals,
            ret: None,
            body,
        }
    }

    /// The loop variable of axis `d`.
    fn var(&self, d: usize) -> Local {
        d as Local
    }

    /// The local holding the extent of axis `d`.
    fn extent(&self, d: usize) -> Local {
        (self.rank + d) as Local
    }

    fn acc(&self) -> Local {
        (2 * self.rank) as Local
    }

    /// The first row an outer-axis reduction combines one at a time.
    fn row_stop(&self) -> Local {
        (2 * self.rank + 2) as Local
    }

    /// The flat output position of the `axis=None` scan.
    fn flat_pos(&self) -> Local {
        (2 * self.rank + 1) as Local
    }

    fn local(l: Local, dtype: DType) -> KExpr {
        KExpr {
            kind: KExprKind::Local(l),
            dtype,
        }
    }

    fn i64(v: i64) -> KExpr {
        KExpr::constant(Scalar::I64(v))
    }

    /// The identity of the accumulation, in the accumulator's dtype.
    fn identity(&self) -> KExpr {
        KExpr::constant(self.identity)
    }

    /// The index of the current point: every loop variable, with `shift = (axis, by)` (if
    /// any) moving one axis by a constant.
    fn index(&self, shift: Option<(usize, i64)>) -> Vec<KExpr> {
        (0..self.rank)
            .map(|d| {
                let v = Self::local(self.var(d), DType::I64);
                match shift {
                    Some((a, by)) if a == d && by < 0 => binary(BinaryOp::Sub, v, Self::i64(-by)),
                    Some((a, by)) if a == d && by > 0 => binary(BinaryOp::Add, v, Self::i64(by)),
                    _ => v,
                }
            })
            .collect()
    }

    fn access(&self, array: u32, index: Vec<KExpr>) -> Access {
        Access {
            array,
            checked: vec![false; index.len()],
            index,
            site: 0,
        }
    }

    /// The producer's value at the current point, cast to the accumulator's dtype.
    fn value(&self) -> KExpr {
        self.value_at(None)
    }

    /// The producer's value at the current point moved by `shift` (see [`Builder::index`]).
    fn value_at(&self, shift: Option<(usize, i64)>) -> KExpr {
        let out = self.kernel.outputs[0].value.index();
        self.node(out, shift).cast(self.acc_dtype)
    }

    fn node(&self, h: usize, shift: Option<(usize, i64)>) -> KExpr {
        let n = &self.kernel.nodes[h];
        let kind = match &n.op {
            Op::Input(k) => KExprKind::Load(self.access(*k, self.index(shift))),
            Op::Const(s) => KExprKind::Const(*s),
            Op::Unary(u, a) => KExprKind::Unary(*u, Box::new(self.node(a.index(), shift))),
            Op::Cast(a) => KExprKind::Cast(Box::new(self.node(a.index(), shift))),
            Op::Binary(o, a, c) => KExprKind::Binary(
                *o,
                Box::new(self.node(a.index(), shift)),
                Box::new(self.node(c.index(), shift)),
            ),
            Op::Select(c, a, e) => KExprKind::Select(
                Box::new(self.node(c.index(), shift)),
                Box::new(self.node(a.index(), shift)),
                Box::new(self.node(e.index(), shift)),
            ),
        };
        KExpr {
            kind,
            dtype: n.dtype,
        }
    }

    /// `for` loops over `axes`, outermost first, around `body`.
    fn loops(&self, axes: std::ops::Range<usize>, from: i64, body: Vec<KStmt>) -> Vec<KStmt> {
        let first = axes.start;
        axes.rev().fold(body, |inner, d| {
            let start = if d == first { from } else { 0 };
            vec![KStmt::For(Box::new(KFor {
                var: self.var(d),
                start: Self::i64(start),
                stop: Self::local(self.extent(d), DType::I64),
                step: Self::i64(1),
                body: inner,
                parallel: None,
                site: 0,
            }))]
        })
    }

    /// `acc = acc op value`.
    fn accumulate(&self) -> KStmt {
        let acc = Self::local(self.acc(), self.acc_dtype);
        KStmt::Set(self.acc(), binary(self.combine, acc, self.value()))
    }

    /// The flattened scan: one accumulator over the whole space in C order.
    fn flat(&self) -> Vec<KStmt> {
        let pos = Self::local(self.flat_pos(), DType::I64);
        let store = KStmt::Store(
            self.access(self.out_array, vec![pos.clone()]),
            Self::local(self.acc(), self.acc_dtype),
        );
        let step = KStmt::Set(self.flat_pos(), binary(BinaryOp::Add, pos, Self::i64(1)));
        let mut body = vec![
            KStmt::Set(self.acc(), self.identity()),
            KStmt::Set(self.flat_pos(), Self::i64(0)),
        ];
        body.extend(self.loops(0..self.rank, 0, vec![self.accumulate(), store, step]));
        body
    }

    /// A scan along the last axis: an accumulator per row.
    fn along_last(&self) -> Vec<KStmt> {
        let last = self.rank - 1;
        let store = KStmt::Store(
            self.access(self.out_array, self.index(None)),
            Self::local(self.acc(), self.acc_dtype),
        );
        let row = self.loops(last..self.rank, 0, vec![self.accumulate(), store]);
        let mut per_row = vec![KStmt::Set(self.acc(), self.identity())];
        per_row.extend(row);
        self.loops(0..last, 0, per_row)
    }

    /// A scan along outer axis `s`: row `j` is row `j - 1` combined with the value.
    fn along_outer(&self, s: usize) -> Vec<KStmt> {
        let here = self.access(self.out_array, self.index(None));
        let first_row = self.loops(
            s + 1..self.rank,
            0,
            vec![KStmt::Store(here.clone(), self.value())],
        );
        let prev = KExpr {
            kind: KExprKind::Load(self.access(self.out_array, self.index(Some((s, -1))))),
            dtype: self.acc_dtype,
        };
        let next_rows = self.loops(
            s..self.rank,
            1,
            vec![KStmt::Store(here, binary(self.combine, prev, self.value()))],
        );
        let nonempty = binary(
            BinaryOp::Gt,
            Self::local(self.extent(s), DType::I64),
            Self::i64(0),
        );
        let mut first = vec![KStmt::Set(self.var(s), Self::i64(0))];
        first.extend(first_row);
        let mut block = vec![KStmt::If(nonempty, first, Vec::new())];
        block.extend(next_rows);
        self.loops(0..s, 0, block)
    }

    /// An outer-axis reduction into an output with stride 0 along axis `s`, [`PASS`] input
    /// rows per pass over the output row: row `j + PASS - 1` of the output is row `j - 1`
    /// combined with the values of rows `j..j + PASS` in turn, so each element still
    /// accumulates in the axis's order. The rows left over after the last whole pass are
    /// combined one at a time.
    fn along_outer_in_passes(&self, s: usize) -> Vec<KStmt> {
        let n = Self::local(self.extent(s), DType::I64);
        let at = |shift: i64| self.access(self.out_array, self.index(Some((s, shift))));
        let load = |shift: i64| KExpr {
            kind: KExprKind::Load(at(shift)),
            dtype: self.acc_dtype,
        };
        let row = |from: KExpr, stop: KExpr, step: i64, body: Vec<KStmt>| {
            KStmt::For(Box::new(KFor {
                var: self.var(s),
                start: from,
                stop,
                step: Self::i64(step),
                body: self.loops(s + 1..self.rank, 0, body),
                parallel: None,
                site: 0,
            }))
        };
        let rows: Vec<KExpr> = (0..PASS).map(|t| self.value_at(Some((s, t)))).collect();
        let acc = if matches!(self.combine, BinaryOp::Add | BinaryOp::Mul) {
            // Sums and products in the axis's order.
            rows.into_iter()
                .fold(load(-1), |acc, v| binary(self.combine, acc, v))
        } else {
            // min/max/and/or do not depend on the order: a pairwise tree is a shorter chain.
            let mut level = rows;
            while level.len() > 1 {
                let mut next = Vec::new();
                let mut it = level.into_iter();
                while let Some(a) = it.next() {
                    next.push(match it.next() {
                        Some(b) => binary(self.combine, a, b),
                        None => a,
                    });
                }
                level = next;
            }
            let tree = level.pop().unwrap_or_else(|| load(-1));
            binary(self.combine, load(-1), tree)
        };
        let stop = Self::local(self.row_stop(), DType::I64);
        // row_stop = (n - 1) / PASS * PASS + 1, the row after the last whole pass.
        let whole = binary(
            BinaryOp::FloorDiv,
            binary(BinaryOp::Sub, n.clone(), Self::i64(1)),
            Self::i64(PASS),
        );
        let whole = binary(BinaryOp::Mul, whole, Self::i64(PASS));
        let single = binary(self.combine, load(-1), self.value());
        let body = vec![
            row(
                Self::i64(0),
                Self::i64(1),
                1,
                vec![KStmt::Store(at(0), self.value())],
            ),
            KStmt::Set(self.row_stop(), binary(BinaryOp::Add, whole, Self::i64(1))),
            row(
                Self::i64(1),
                stop.clone(),
                PASS,
                vec![KStmt::Store(at(PASS - 1), acc)],
            ),
            row(stop, n.clone(), 1, vec![KStmt::Store(at(0), single)]),
        ];
        let nonempty = binary(BinaryOp::Gt, n, Self::i64(0));
        self.loops(0..s, 0, vec![KStmt::If(nonempty, body, Vec::new())])
    }
}

fn binary(op: BinaryOp, a: KExpr, b: KExpr) -> KExpr {
    let dtype = op.result_dtype(a.dtype);
    KExpr {
        kind: KExprKind::Binary(op, Box::new(a), Box::new(b)),
        dtype,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Op, Output};

    fn square_kernel(d: DType) -> Kernel {
        let mut k = Kernel::new();
        k.inputs.push(d);
        let x = k.push(Op::Input(0), d);
        let y = k.push(Op::Binary(BinaryOp::Mul, x, x), d);
        k.outputs.push(Output {
            value: y,
            reduce: None,
        });
        k
    }

    #[test]
    fn every_shape_verifies() {
        for d in [DType::F32, DType::I32, DType::Bool] {
            let k = square_kernel(d);
            for rank in 0..4 {
                let axes = std::iter::once(None).chain((0..rank).map(Some));
                for axis in axes {
                    for op in [ScanOp::Sum, ScanOp::Prod] {
                        let f = scan_func(ScanSpec {
                            kernel: &k,
                            rank,
                            axis,
                            op,
                        })
                        .unwrap_or_else(|e| panic!("{e}"));
                        f.verify().unwrap_or_else(|e| panic!("{e}\n{f}"));
                        assert_eq!(f.arrays[1].dtype, ScanOp::result_dtype(d));
                    }
                }
            }
        }
    }

    #[test]
    fn outer_axis_reads_the_previous_row() {
        let k = square_kernel(DType::F64);
        let f = scan_func(ScanSpec {
            kernel: &k,
            rank: 2,
            axis: Some(0),
            op: ScanOp::Sum,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let text = f.to_string();
        assert!(text.contains("a1[(l0 Sub 1:i64), l1]"), "{text}");
    }

    #[test]
    fn outer_reductions_verify_and_combine_into_the_previous_row() {
        for (d, ops) in [
            (
                DType::F32,
                &[ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Min, ReduceOp::Max][..],
            ),
            (DType::I64, &[ReduceOp::Sum, ReduceOp::Max][..]),
            (DType::Bool, &[ReduceOp::Any, ReduceOp::All][..]),
        ] {
            let k = square_kernel(d);
            for &op in ops {
                for (rank, axis) in [(2, 0), (3, 0), (3, 1), (4, 2)] {
                    let f = outer_reduce_func(&k, rank, axis, op).unwrap_or_else(|e| panic!("{e}"));
                    f.verify().unwrap_or_else(|e| panic!("{e}\n{f}"));
                    assert_eq!(f.arrays[1].dtype, d);
                }
            }
        }
        let f = outer_reduce_func(&square_kernel(DType::F64), 2, 0, ReduceOp::Max).unwrap();
        assert!(
            f.to_string().contains("(a1[(l0 Sub 1:i64), l1]@0 Max"),
            "{f}"
        );
    }

    #[test]
    fn outer_reductions_need_an_outer_axis_and_a_combining_op() {
        let k = square_kernel(DType::F64);
        for (axis, op) in [
            (1, ReduceOp::Sum),
            (0, ReduceOp::ArgMax),
            (0, ReduceOp::ArgMin),
        ] {
            let r = outer_reduce_func(&k, 2, axis, op);
            assert!(matches!(r, Err(ScanBuildError::Bad(_))), "{r:?}");
        }
    }

    #[test]
    fn a_huge_shared_graph_is_refused() {
        let mut k = Kernel::new();
        k.inputs.push(DType::F64);
        let mut h = k.push(Op::Input(0), DType::F64);
        for _ in 0..20 {
            h = k.push(Op::Binary(BinaryOp::Add, h, h), DType::F64);
        }
        k.outputs.push(Output {
            value: h,
            reduce: None,
        });
        let r = scan_func(ScanSpec {
            kernel: &k,
            rank: 1,
            axis: Some(0),
            op: ScanOp::Sum,
        });
        assert_eq!(r, Err(ScanBuildError::TooLarge));
    }

    #[test]
    fn bad_axes_are_errors() {
        let k = square_kernel(DType::F64);
        let r = scan_func(ScanSpec {
            kernel: &k,
            rank: 2,
            axis: Some(2),
            op: ScanOp::Sum,
        });
        assert!(matches!(r, Err(ScanBuildError::Bad(_))));
    }
}
