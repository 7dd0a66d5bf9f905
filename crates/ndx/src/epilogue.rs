//! Contraction epilogues: elementwise work on a GEMM's result runs in the GEMM's pass.
//!
//! A GEMM step that produces a statement's value (`x @ w`, `dot`, `tensordot`, an einsum's
//! last pairwise step) does not run when it is evaluated: it becomes a [`Pending`] leaf of the
//! statement's lazy expression. When that expression is materialised or written into a view
//! and the pending product is its only contraction and has its shape (`relu(x @ w + b)`,
//! `tanh(a @ b) * s`, `x @ w + b`), [`Exec::epilogue`] runs the GEMM over blocks of output rows
//! small enough to stay in the L2 cache and applies the statement's fused kernel to each block
//! right after the GEMM writes it, reading the block and the other operands' rows and writing
//! the final rows. The whole product is never written to memory and read back.
//!
//! Anything else that needs the product (a reduction, a view, a second contraction, a
//! broadcast of it to a larger shape) forces it: the GEMM runs once over the whole output and
//! the result is read as an ordinary array.
//!
//! Invariants: a pending product owns views of its operands taken when it was created; its
//! result, forced or per block, is fresh memory, so no destination can overlap it (a
//! destination that overlaps an operand or another leaf takes the forced path).

use crate::error::{runtime_err, Diag};
use crate::exec::Exec;
use crate::explain::{Dest, EinsumStep, Step};
use crate::lazy::Lazy;
use ndx_ir::contract::Label;
use ndx_runtime::ops::contract_pair;
use ndx_runtime::{Array, DType, IndexSpec, RuntimeError};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The output bytes one epilogue block aims at, so the GEMM's block is still in cache (L2 or
/// L3) when the kernel reads it back. Blocks also have at least `k` rows (see
/// [`Exec::epilogue`]).
const BLOCK_BYTES: usize = 1 << 20;

/// A two-operand GEMM contraction that has not run (operands already label views of one
/// dtype, every label distinct within an operand).
#[derive(Debug)]
pub(crate) struct Pending {
    a: (Array, Vec<Label>),
    b: (Array, Vec<Label>),
    out: Vec<Label>,
    sizes: BTreeMap<Label, usize>,
    threads: usize,
    shape: Vec<usize>,
    done: OnceLock<Array>,
}

impl Pending {
    /// A product of `a` and `b` with result labels `out`.
    pub(crate) fn new(
        a: (Array, Vec<Label>),
        b: (Array, Vec<Label>),
        out: &[Label],
        sizes: &BTreeMap<Label, usize>,
        threads: usize,
    ) -> Pending {
        let shape = out
            .iter()
            .map(|l| sizes.get(l).copied().unwrap_or(1))
            .collect();
        Pending {
            a,
            b,
            out: out.to_vec(),
            sizes: sizes.clone(),
            threads,
            shape,
            done: OnceLock::new(),
        }
    }

    /// The result dtype.
    pub(crate) fn dtype(&self) -> DType {
        self.a.0.dtype()
    }

    /// The result shape.
    pub(crate) fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The whole result (computed on first use).
    pub(crate) fn force(&self) -> Result<Array, RuntimeError> {
        if let Some(r) = self.done.get() {
            return Ok(r.clone());
        }
        let (a, b) = (&self.a, &self.b);
        let r = contract_pair(
            (&a.0, &a.1),
            (&b.0, &b.1),
            &self.out,
            &self.sizes,
            self.threads,
        )?;
        Ok(self.done.get_or_init(|| r).clone())
    }

    /// Rows `r0..r1` of the result's first axis, computed from those rows of the operands.
    fn rows(&self, r0: usize, r1: usize) -> Result<Array, RuntimeError> {
        let Some(&first) = self.out.first() else {
            return self.force();
        };
        let slice = |(arr, ls): &(Array, Vec<Label>)| -> Result<Array, RuntimeError> {
            match ls.iter().position(|&l| l == first) {
                Some(p) => rows_of(arr, p, r0, r1),
                None => Ok(arr.clone()),
            }
        };
        let (a, b) = (slice(&self.a)?, slice(&self.b)?);
        let mut sizes = self.sizes.clone();
        sizes.insert(first, r1 - r0);
        contract_pair(
            (&a, &self.a.1),
            (&b, &self.b.1),
            &self.out,
            &sizes,
            self.threads,
        )
    }

    /// The number of multiply-adds per output element (the product of the summed sizes).
    fn k(&self) -> usize {
        self.sizes
            .iter()
            .filter(|(l, _)| self.a.1.contains(l) && self.b.1.contains(l) && !self.out.contains(l))
            .fold(1usize, |acc, (_, &n)| acc.saturating_mul(n))
    }

    /// The spec text (`mk,kn->mn`) for explain output.
    fn spec(&self) -> String {
        let t = |ls: &[Label]| ls.iter().collect::<String>();
        format!("{},{}->{}", t(&self.a.1), t(&self.b.1), t(&self.out))
    }

    /// True when `x` shares memory with an operand.
    fn reads(&self, x: &Array) -> bool {
        self.a.0.shares_memory(x) || self.b.0.shares_memory(x)
    }
}

/// `v` with its pending contraction (when it has exactly one, of its shape, not yet run)
/// read from a new, unwritten array of the result's layout: for compiling `v`'s kernel
/// without running the GEMM.
pub(crate) fn stand_in(v: &Lazy) -> Result<Lazy, RuntimeError> {
    match &v.pending_leaves()[..] {
        [p] if p.done.get().is_none() && p.shape() == v.shape() && !v.shape().is_empty() => {
            let blank = Array::empty(p.dtype(), p.shape())?;
            v.rows_with(p, &blank, 0, v.shape()[0])
        }
        _ => Ok(v.clone()),
    }
}

/// Rows `r0..r1` of axis `axis` of `a`, a view.
fn rows_of(a: &Array, axis: usize, r0: usize, r1: usize) -> Result<Array, RuntimeError> {
    let all = IndexSpec::Slice {
        start: None,
        stop: None,
        step: None,
    };
    let mut items = vec![all; axis];
    items.push(IndexSpec::Slice {
        start: Some(r0 as i64),
        stop: Some(r1 as i64),
        step: None,
    });
    a.index(&items)
}

/// Rows `r0..r1` of the first axis of `a`, a view.
pub(crate) fn rows(a: &Array, r0: usize, r1: usize) -> Result<Array, RuntimeError> {
    rows_of(a, 0, r0, r1)
}

impl Exec {
    /// Computes `v` (into `dest`, or a new array) with its pending contraction's GEMM and the
    /// rest of `v` as that GEMM's epilogue, block by block. `None` when `v` does not qualify
    /// (see the module doc); the caller then runs it the ordinary way.
    pub(crate) fn epilogue(
        &mut self,
        v: &Lazy,
        dest: Option<&Array>,
    ) -> Result<Option<Array>, Diag> {
        let pending = v.pending_leaves();
        let [p] = &pending[..] else {
            return Ok(None);
        };
        if p.done.get().is_some() || p.shape() != v.shape() || v.shape().is_empty() {
            return Ok(None);
        }
        if let Some(o) = dest {
            if o.shape() != v.shape() || p.reads(o) || v.reads_memory_of(o) {
                return Ok(None);
            }
        }
        let out = match dest {
            Some(o) => o.clone(),
            None => Array::empty(v.dtype(), v.shape()).map_err(runtime_err)?,
        };
        let v = v.cast(out.dtype());
        let total = v.shape()[0];
        let row_bytes = v.shape()[1..]
            .iter()
            .product::<usize>()
            .saturating_mul(p.dtype().size().max(out.dtype().size()));
        // The GEMM packs the right operand (k x n) again for every block: at least `k` rows per
        // block keep that repacking below the pass over the result it saves.
        let block = (BLOCK_BYTES / row_bytes.max(1))
            .max(p.k())
            .clamp(1, total.max(1));
        if self.trace.is_some() {
            let step = EinsumStep {
                spec: p.spec(),
                report: format!(
                    "GEMM with a fused epilogue: the {} result {} is produced in {} block(s) of up to {block} row(s); the fused kernel below runs on each block right after the GEMM writes it (no second pass over the result)",
                    p.dtype(),
                    ndx_ir::shape::format_shape(p.shape()),
                    total.div_ceil(block),
                ),
                calls: 1,
            };
            self.record(Step::Einsum(step));
        }
        let mut r0 = 0;
        while r0 < total {
            let r1 = (r0 + block).min(total);
            let prod = p.rows(r0, r1).map_err(runtime_err)?;
            let part = v.rows_with(p, &prod, r0, r1).map_err(runtime_err)?;
            let o = rows(&out, r0, r1).map_err(runtime_err)?;
            let shape = part.shape().to_vec();
            self.run(
                &[(&part, None)],
                &shape,
                &[],
                std::slice::from_ref(&o),
                Dest::Epilogue,
            )?;
            r0 = r1;
        }
        Ok(Some(out))
    }
}
