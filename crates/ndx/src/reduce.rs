//! Reductions (`sum prod mean var std min max argmin argmax any all`) with `axis=` and
//! `keepdims=`, each fused with the elementwise expression it consumes.
//!
//! Result dtypes are NumPy's (LANGUAGE.md section 2): `sum`/`prod` of bool and narrow ints are
//! i64; `mean`/`var`/`std` of ints are f64. `mean` is a fused sum followed by a scale; `var` is
//! two fused passes (the mean, then the sum of squared deviations), so no temporary of the
//! input's size is ever allocated.

use crate::args::Bound;
use crate::error::{axis_at, err_at, At, Diag};
use crate::explain::{ArrayDesc, NativeStep, Step};
use crate::interp::Interp;
use crate::lazy::Lazy;
use crate::value::Val;
use ndx_ir::kernel::{BinaryOp, ReduceOp, UnaryOp};
use ndx_runtime::{Array, DType, IndexSpec, Scalar};
use ndx_syntax::Span;

impl Interp {
    /// A reduction without `ddof`.
    pub(crate) fn reduction(
        &mut self,
        name: &str,
        b: &Bound,
        _unused: Option<f64>,
    ) -> Result<Val, Diag> {
        self.reduce_impl(name, b, 2, 0.0)
    }

    /// `var` or `std` with `ddof`.
    pub(crate) fn reduction_with_ddof(
        &mut self,
        name: &str,
        b: &Bound,
        ddof: f64,
    ) -> Result<Val, Diag> {
        self.reduce_impl(name, b, 3, ddof)
    }

    fn reduce_impl(
        &mut self,
        name: &str,
        b: &Bound,
        keep_slot: usize,
        ddof: f64,
    ) -> Result<Val, Diag> {
        let span = b.span();
        let (v, vs) = b.req(0)?;
        let x = self.lazy_of(&v, vs, name)?;
        // A broadcast expression can describe more elements than any loop can visit; every
        // element count below is at most this product, so none of them overflows.
        let fits = x
            .shape()
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_some_and(|n| i64::try_from(n).is_ok());
        if !fits {
            return Err(err_at(
                "E0243",
                vs,
                format!(
                    "`{name}` over shape {} would visit more than 2**63 elements",
                    ndx_ir::shape::format_shape(x.shape())
                ),
            ));
        }
        let ndim = x.shape().len();
        let mut reduced = vec![false; ndim];
        match b.opt(1) {
            None => reduced.iter_mut().for_each(|r| *r = true),
            Some((a, asp)) => {
                if matches!(a, Val::Tuple(_)) && matches!(name, "argmin" | "argmax") {
                    return Err(err_at(
                        "E0240",
                        asp,
                        format!("`{name}` takes a single axis"),
                    ));
                }
                for k in self.as_axes(&a, asp)? {
                    let n = axis_at(k, ndim, asp)?;
                    if reduced[n] {
                        return Err(err_at("E0241", asp, format!("axis {k} is repeated")));
                    }
                    reduced[n] = true;
                }
            }
        }
        let keepdims = match b.opt(keep_slot) {
            Some((k, ks)) => self.truth(k, ks)?,
            None => false,
        };
        let count: usize = x
            .shape()
            .iter()
            .zip(&reduced)
            .filter(|(_, r)| **r)
            .map(|(s, _)| *s)
            .product();
        let kept_shape: Vec<usize> = x
            .shape()
            .iter()
            .zip(&reduced)
            .map(|(s, r)| if *r { 1 } else { *s })
            .collect();
        let shape_out = |a: Array| -> Result<Array, Diag> {
            if keepdims {
                let dims: Vec<i64> = kept_shape.iter().map(|&s| s as i64).collect();
                a.reshape(&dims).at(span)
            } else {
                Ok(a)
            }
        };
        let op = match name {
            "sum" => ReduceOp::Sum,
            "prod" => ReduceOp::Prod,
            "min" => ReduceOp::Min,
            "max" => ReduceOp::Max,
            "argmin" => ReduceOp::ArgMin,
            "argmax" => ReduceOp::ArgMax,
            "any" => ReduceOp::Any,
            "all" => ReduceOp::All,
            _ => {
                return self.moments(name, &x, &reduced, keepdims, count, ddof, shape_out, span);
            }
        };
        if count == 0
            && matches!(
                op,
                ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMin | ReduceOp::ArgMax
            )
        {
            return Err(err_at(
                "E0242",
                span,
                format!("`{name}` of an empty array has no identity"),
            ));
        }
        let x = match op {
            ReduceOp::Sum | ReduceOp::Prod => x.cast(sum_dtype(x.dtype())),
            ReduceOp::Any | ReduceOp::All => x.cast(DType::Bool),
            _ => x,
        };
        if keepdims && row_fusable(&x, op, &reduced) {
            return self.lazy_val(Lazy::row_reduce(op, &x));
        }
        let r = if op == ReduceOp::Sum {
            self.sum(&x, &reduced, span)?
        } else {
            self.exec.reduce(&x, op, &reduced).at(span)?
        };
        Ok(Val::Array(shape_out(r)?))
    }

    /// `mean`, `var` and `std`.
    #[allow(clippy::too_many_arguments)]
    fn moments(
        &mut self,
        name: &str,
        x: &Lazy,
        reduced: &[bool],
        keepdims: bool,
        count: usize,
        ddof: f64,
        shape_out: impl Fn(Array) -> Result<Array, Diag>,
        span: Span,
    ) -> Result<Val, Diag> {
        let dt = if x.dtype().is_float() {
            x.dtype()
        } else {
            DType::F64
        };
        let x = x.cast(dt);
        // The count is a 0-d input, not a constant: a constant would be part of the kernel's
        // cache key, and every size would compile its own division.
        let n = Lazy::leaf(Array::scalar(Scalar::F64(count as f64).cast(dt)));
        if name == "mean" && keepdims && row_fusable(&x, ReduceOp::Sum, reduced) {
            let s = Lazy::row_reduce(ReduceOp::Sum, &x);
            let shape = s.shape().to_vec();
            return self.lazy_val(Lazy::binary(BinaryOp::Div, &s, &n, shape));
        }
        let sum = self.sum(&x, reduced, span)?;
        let mean = Lazy::binary(
            BinaryOp::Div,
            &Lazy::leaf(sum.clone()),
            &n,
            sum.shape().to_vec(),
        );
        if name == "mean" {
            let m = self.exec.materialize(&mean).at(span)?;
            return Ok(Val::Array(shape_out(m)?));
        }
        // Deviations from a keepdims mean broadcast against the input.
        let keep: Vec<i64> = x
            .shape()
            .iter()
            .zip(reduced)
            .map(|(s, r)| if *r { 1 } else { *s as i64 })
            .collect();
        let m = self
            .exec
            .materialize(&mean)
            .at(span)?
            .reshape(&keep)
            .at(span)?;
        let d = Lazy::binary(BinaryOp::Sub, &x, &Lazy::leaf(m), x.shape().to_vec());
        let sq = Lazy::binary(BinaryOp::Mul, &d, &d, x.shape().to_vec());
        let ss = self.sum(&sq, reduced, span)?;
        let denom = Lazy::leaf(Array::scalar(Scalar::F64(count as f64 - ddof).cast(dt)));
        let mut var = Lazy::binary(
            BinaryOp::Div,
            &Lazy::leaf(ss.clone()),
            &denom,
            ss.shape().to_vec(),
        );
        if name == "std" {
            var = Lazy::unary(UnaryOp::Sqrt, &var);
        }
        let r = self.exec.materialize(&var).at(span)?;
        Ok(Val::Array(shape_out(r)?))
    }
}

// Float sums over more than `4 * BLOCK` elements are blocked (see [`Interp::sum`]); an array
// of partial sums holds at most `PARTIAL_CAP` elements (so blocked sums need O(1) extra
// memory). They live beside the precompiled sum that reproduces this blocking.
use ndx_runtime::ops::wide_sum::{BLOCK, PARTIAL_CAP};

impl Interp {
    /// A sum over the `reduced` axes. Float sums over long extents are blocked so their error
    /// stays near NumPy's pairwise summation: the longest reduced axis is split into blocks
    /// of [`BLOCK`] elements (recursively, until a block is small; longer blocks when the partial
    /// sums would exceed [`PARTIAL_CAP`] elements), each block is summed in the value's dtype
    /// (vectorised), and the
    /// block sums (and the remainder) are added in `f64`. Integer sums are exact as they are.
    ///
    /// A materialised, contiguous float vector is summed by the precompiled AVX-512 loop of
    /// `ndx_runtime::ops::wide_sum` when the CPU has it: same order, same bits, wider loads.
    pub(crate) fn sum(&mut self, x: &Lazy, reduced: &[bool], span: Span) -> Result<Array, Diag> {
        if let Some(r) = self.wide_sum(x, reduced, span)? {
            return Ok(r);
        }
        let count: usize = x
            .shape()
            .iter()
            .zip(reduced)
            .filter(|(_, r)| **r)
            .map(|(s, _)| *s)
            .product();
        let longest = (0..reduced.len())
            .filter(|&a| reduced[a])
            .max_by_key(|&a| x.shape()[a]);
        let (Some(ax), true) = (longest, x.dtype().is_float() && count > 4 * BLOCK) else {
            return self.exec.reduce(x, ReduceOp::Sum, reduced).at(span);
        };
        let n = x.shape()[ax];
        let kept: usize = x
            .shape()
            .iter()
            .zip(reduced)
            .filter(|(_, r)| !**r)
            .map(|(s, _)| *s)
            .product();
        // The block axis sits among the kept axes at the position of the kept axes before it.
        let pos = (0..ax).filter(|&a| !reduced[a]).count();
        // Blocks are BLOCK long unless that would make the array of partial sums larger than
        // PARTIAL_CAP: extra memory stays bounded by a constant, whatever the input size.
        let block = BLOCK.max((kept.saturating_mul(n)).div_ceil(PARTIAL_CAP));
        if n <= block {
            if kept.saturating_mul(n) > PARTIAL_CAP {
                return self.exec.reduce(x, ReduceOp::Sum, reduced).at(span);
            }
            // Short axis: keep it whole in the first stage (sum the other reduced axes), then
            // add its `n` partial sums in f64.
            let mut mask = reduced.to_vec();
            mask[ax] = false;
            let partial = self.sum(x, &mask, span)?;
            let mut m2 = vec![false; partial.ndim()];
            m2[pos] = true;
            let total = self
                .exec
                .reduce(&Lazy::leaf(partial).cast(DType::F64), ReduceOp::Sum, &m2)
                .at(span)?;
            return self
                .exec
                .materialize(&Lazy::leaf(total).cast(x.dtype()))
                .at(span);
        }
        let (nb, tail) = (n / block, n % block);
        let full = |start: Option<i64>, stop: Option<i64>| {
            let mut items = vec![
                IndexSpec::Slice {
                    start: None,
                    stop: None,
                    step: None
                };
                reduced.len()
            ];
            items[ax] = IndexSpec::Slice {
                start,
                stop,
                step: None,
            };
            items
        };
        // Blocks: [.., nb * block, ..] viewed as [.., nb, block, ..]; the block axis is kept.
        let head = full(None, Some((nb * block) as i64));
        let mut split: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
        split[ax] = nb as i64;
        split.insert(ax + 1, block as i64);
        let blocks = self.view_op(Val::Lazy(x.clone()), span, &mut |a| {
            a.index(&head)?.reshape(&split)
        })?;
        let Val::Lazy(blocks) = blocks else {
            return self.exec.reduce(x, ReduceOp::Sum, reduced).at(span);
        };
        let mut mask = reduced.to_vec();
        mask[ax] = false;
        mask.insert(ax + 1, true);
        // Recursion splits another reduced axis while a block still holds too many elements.
        let partial = self.sum(&blocks, &mask, span)?;
        let mut m2 = vec![false; partial.ndim()];
        m2[pos] = true;
        let mut total = self
            .exec
            .reduce(&Lazy::leaf(partial).cast(DType::F64), ReduceOp::Sum, &m2)
            .at(span)?;
        if tail > 0 {
            let rest = full(Some((nb * block) as i64), None);
            if let Val::Lazy(t) =
                self.view_op(Val::Lazy(x.clone()), span, &mut |a| a.index(&rest))?
            {
                let t = self.sum(&t, reduced, span)?;
                let shape = total.shape().to_vec();
                let both = Lazy::binary(
                    BinaryOp::Add,
                    &Lazy::leaf(total),
                    &Lazy::leaf(t).cast(DType::F64),
                    shape,
                );
                total = self.exec.materialize(&both).at(span)?;
            }
        }
        self.exec
            .materialize(&Lazy::leaf(total).cast(x.dtype()))
            .at(span)
    }
}

impl Interp {
    /// The sum of the 1-D `x` by the precompiled loop, when `x` is an array it takes (see
    /// `ndx_runtime::ops::wide_sum::wide_sum`) and its axis is reduced. Like a kernel launch,
    /// it first stops with E0405 if the session was interrupted.
    fn wide_sum(&mut self, x: &Lazy, reduced: &[bool], span: Span) -> Result<Option<Array>, Diag> {
        let Some(a) = x.as_leaf().filter(|_| reduced == [true]) else {
            return Ok(None);
        };
        self.exec.check_interrupt().at(span)?;
        let pool = self.exec.row_pool();
        let Some(total) = ndx_runtime::ops::wide_sum::wide_sum(a, pool) else {
            return Ok(None);
        };
        // The explain step only when tracing: this runs for every sum of a vector.
        if self.exec.trace.is_some() {
            self.exec.record(Step::Native(NativeStep {
                precompiled: true,
                name: "sum".to_string(),
                input: ArrayDesc {
                    dtype: a.dtype(),
                    shape: a.shape().to_vec(),
                },
                how: "AVX-512 loop, four 512-bit accumulators over four blocks at a time, in the \
                      order of the blocked JIT sum (the same bits)"
                    .to_string(),
                calls: 1,
            }));
        }
        Ok(Some(Array::scalar(total)))
    }
}

/// True when the reduction `op` of `x` over `reduced`, kept as a keepdims axis, may stay a lazy
/// row reduction (see `crate::rows`): a float `Sum`, `Max` or `Min` over exactly the last axis
/// of an array of rank 2 or more, with rows short enough that [`Interp::sum`] would sum them in
/// one block (so the row program sums exactly as the unfused statement does).
fn row_fusable(x: &Lazy, op: ReduceOp, reduced: &[bool]) -> bool {
    let nd = x.shape().len();
    nd >= 2
        && x.dtype().is_float()
        && reduced.iter().enumerate().all(|(a, r)| *r == (a == nd - 1))
        && match op {
            ReduceOp::Sum => x.shape()[nd - 1] <= 4 * BLOCK,
            ReduceOp::Max | ReduceOp::Min => true,
            _ => false,
        }
}

/// The accumulator dtype of `sum`/`prod`: i64 for bool and narrow ints.
fn sum_dtype(d: DType) -> DType {
    match d {
        DType::Bool | DType::I32 => DType::I64,
        other => other,
    }
}
