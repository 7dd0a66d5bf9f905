//! `cumsum` and `cumprod`: the argument's lazy expression and the running accumulation
//! compile into one kernel function ([`ndx_ir::scan`]), so the expression is never
//! materialised. Compiled scans are cached by the text of their kernel IR, which names the
//! structure, dtypes, rank and axis but no size.

use crate::args::Bound;
use crate::error::{axis_at, runtime_err, At, Diag};
use crate::exec::Exec;
use crate::explain::{ArrayDesc, KernelStep, NativeStep, Step};
use crate::interp::Interp;
use crate::lazy::{self, Lazy};
use crate::value::Val;
use ndx_codegen::KernelOptions;
use ndx_ir::kir::KFunc;
use ndx_ir::scan::{outer_reduce_func, scan_func, ScanBuildError, ScanOp, ScanSpec};
use ndx_ir::ReduceOp;
use ndx_runtime::{Array, DType, Scalar};
use ndx_syntax::Diagnostic;

impl Interp {
    /// `cumsum(a, axis=None)` / `cumprod(a, axis=None)`.
    pub(crate) fn cumulative(&mut self, name: &str, b: &Bound) -> Result<Val, Diag> {
        let (v, vs) = b.req(0)?;
        let x = self.lazy_of(&v, vs, name)?;
        let axis = match b.opt(1) {
            None => None,
            Some((a, asp)) => {
                let k = self.as_int(&a, asp)?;
                // A 0-d value scans as shape (1,), as in NumPy.
                let ndim = x.shape().len().max(1);
                let n = axis_at(k, ndim, asp)?;
                Some(n)
            }
        };
        let op = if name == "cumprod" {
            ScanOp::Prod
        } else {
            ScanOp::Sum
        };
        Ok(Val::Array(self.exec.scan(&x, axis, op).at(b.span())?))
    }
}

impl Exec {
    /// Scans `v` along `axis` (or flattened, in C order) into a new array.
    pub(crate) fn scan(
        &mut self,
        v: &Lazy,
        axis: Option<usize>,
        op: ScanOp,
    ) -> Result<Array, Diag> {
        self.check_interrupt()?;
        let shape = v.shape().to_vec();
        // A 0-d value has one element: every form of its scan is the flat one.
        let axis = axis.filter(|_| !shape.is_empty());
        let total = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&n| i64::try_from(n).is_ok())
            .ok_or_else(|| {
                Diagnostic::error(
                    "E0243",
                    format!(
                        "`{}` over shape {} would visit more than 2**63 elements",
                        op.name(),
                        ndx_ir::shape::format_shape(&shape)
                    ),
                )
            })?;
        let out_shape = if axis.is_some() {
            shape.clone()
        } else {
            vec![total]
        };
        let dtype = ScanOp::result_dtype(v.dtype());
        let out = Array::empty(dtype, &out_shape).map_err(runtime_err)?;
        // Row reductions inside the argument (`x - max(x, axis=-1, keepdims=true)`) run first.
        let v = &self.settle(v)?;
        let built = lazy::build(&[(v, None)]).map_err(crate::error::runtime_err)?;
        let func = match scan_func(ScanSpec {
            kernel: &built.kernel,
            rank: shape.len(),
            axis,
            op,
        }) {
            Ok(f) => f,
            Err(ScanBuildError::TooLarge) => {
                let m = self.materialize(v)?;
                return self.scan(&Lazy::leaf(m), axis, op);
            }
            Err(e @ ScanBuildError::Bad(_)) => return Err(Diagnostic::bug(e.to_string())),
        };
        self.run_loop_func(op.name(), &func, &built.inputs, &out, &shape, None)?;
        Ok(out)
    }

    /// A reduction of `v` over `reduced`, whose only axis longer than 1 is the outer axis
    /// `axis` (see [`outer_axis`]), as one
    /// kernel function that combines each input row into the output row in place
    /// ([`outer_reduce_func`]), or `None` when the expression is too large to inline (the
    /// caller then runs the plain reduction).
    pub(crate) fn reduce_outer(
        &mut self,
        v: &Lazy,
        op: ReduceOp,
        reduced: &[bool],
        axis: usize,
    ) -> Result<Option<Array>, Diag> {
        self.check_interrupt()?;
        let shape = v.shape().to_vec();
        let v = &self.settle(v)?;
        let built = lazy::build(&[(v, None)]).map_err(crate::error::runtime_err)?;
        let jit = self.jit()?;
        let points = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let from = jit.parallel_threshold().saturating_mul(OUTER_SPLIT);
        let threads = jit.threads() > 1 && points.is_none_or(|n| n >= from);
        if !threads {
            if let Some(out) = self.reduce_outer_rows(&built, &shape, reduced, axis, op)? {
                return Ok(Some(out));
            }
        }
        let func = match outer_reduce_func(&built.kernel, shape.len(), axis, op) {
            Ok(f) => f,
            Err(ScanBuildError::TooLarge) => return Ok(None),
            Err(e @ ScanBuildError::Bad(_)) => return Err(Diagnostic::bug(e.to_string())),
        };
        let out = Array::empty(v.dtype(), &kept_shape(&shape, reduced)).map_err(runtime_err)?;
        let rows = over_rows(&out, &shape, reduced)?;
        // Large reductions split over threads at launch time, along an axis whose pieces
        // write disjoint output elements: the first (kept) axis when the reduced one is not
        // first, else the last. Each element is still combined in the same order by one
        // thread, so the result does not depend on the thread count, and the compiled code
        // does not depend on the size. These loops do little per point, so the split waits
        // for OUTER_SPLIT times the elementwise threshold (BENCHMARKS.md).
        let split = threads.then_some(if axis > 0 { 0 } else { shape.len() - 1 });
        let name = func.name.clone();
        self.run_loop_func(&name, &func, &built.inputs, &rows, &shape, split)?;
        Ok(Some(out))
    }

    /// [`Exec::reduce_outer`] of `max` or `min` by the 512-bit row code, on one thread: the
    /// output starts at the identity (`-inf`, `+inf`), and an elementwise kernel
    /// `out = maximum(out, value)` runs over the whole iteration space in C order, with the
    /// output both read and written through a view of stride 0 along the reduced axis. Each
    /// output element is thus combined with the values along the axis one after the other: the
    /// value of the Cranelift kernel function of [`outer_reduce_func`], which combines four rows
    /// at a time (which of two NaNs, or of `0.0` and `-0.0`, may differ). `max(x, axis=0)` of
    /// (4096, 1024) `f32`: 0.29-0.43 ms against 0.50-0.66 ms (BENCHMARKS.md, issue 3). The nest
    /// is built here, not by `schedule`, which would move the stride-0 axis innermost. `None`
    /// (nothing done) unless the CPU has the row code, the value is float arithmetic the row
    /// code takes, the rows (the last axis) are long enough and contiguous, and the output's
    /// block after the axis fits [`OUTER_ROWS_BYTES`].
    fn reduce_outer_rows(
        &mut self,
        built: &lazy::Built,
        shape: &[usize],
        reduced: &[bool],
        axis: usize,
        op: ReduceOp,
    ) -> Result<Option<Array>, Diag> {
        use ndx_ir::kernel::{BinaryOp, Op, Output};
        use ndx_ir::loops::{Inner, Launch, Nest};
        let rank = shape.len();
        let k = &built.kernel;
        let [value] = k.outputs.as_slice() else {
            return Ok(None);
        };
        let dtype = k.dtype(value.value);
        // (Sums and products measured slower this way: the kernel function combines four
        // input rows per pass over the output row, with one addition each.)
        let (combine, identity) = match op {
            ReduceOp::Max => (BinaryOp::Max, f64::NEG_INFINITY),
            ReduceOp::Min => (BinaryOp::Min, f64::INFINITY),
            _ => return Ok(None),
        };
        if !ndx_codegen::row_code_available()
            || !matches!(dtype, DType::F32 | DType::F64)
            || value.reduce.is_some()
            || rank < 2
            || axis + 1 >= rank
            || shape[rank - 1] < ndx_codegen::ROW_MIN_512
        {
            return Ok(None);
        }
        // What each step along the axis reads and writes again: the output's block after it.
        let block: usize = shape[axis + 1..].iter().product();
        if block.saturating_mul(dtype.size()) > OUTER_ROWS_BYTES {
            return Ok(None);
        }
        let identity = Scalar::F64(identity).cast(dtype);
        let out = Array::full(&kept_shape(shape, reduced), identity).map_err(runtime_err)?;
        let acc = over_rows(&out, shape, reduced)?;
        // `out = out . value`: the producer's nodes, then the output read as one more input.
        let mut kernel = k.clone();
        let n_in = kernel.inputs.len() as u32;
        kernel.inputs.push(dtype);
        let old = kernel.push(Op::Input(n_in), dtype);
        let new = kernel.push(Op::Binary(combine, old, value.value), dtype);
        kernel.outputs = vec![Output {
            value: new,
            reduce: None,
        }];
        let mut arrays = Vec::with_capacity(built.inputs.len() + 2);
        for a in &built.inputs {
            arrays.push(a.broadcast_to(shape).map_err(runtime_err)?);
        }
        arrays.push(acc.clone());
        arrays.push(acc);
        let mut inner = Vec::with_capacity(arrays.len());
        for a in &arrays {
            match Inner::of_stride(a.strides()[rank - 1], a.dtype().size()) {
                Inner::Strided => return Ok(None),
                class => inner.push(class),
            }
        }
        let nest = Nest {
            kernel,
            rank,
            reduce_from: rank,
            inner,
        };
        let launch = Launch {
            shape: shape.to_vec(),
            ptrs: arrays
                .iter()
                .map(|a| a.ptr().map(|p| p as usize))
                .collect::<Result<_, _>>()
                .map_err(runtime_err)?,
            strides: arrays.iter().map(|a| a.strides().to_vec()).collect(),
        };
        let compiled = self
            .jit()?
            .compile(&nest)
            .map_err(|e| Diagnostic::bug(format!("compiling an outer reduction: {e}")))?;
        let Some(lanes) = compiled.row_lanes() else {
            return Ok(None);
        };
        // SAFETY: the words describe `arrays`, alive until after the call, every one of the
        // iteration shape; the output is read and written only at the element it is computed
        // for, by one thread, in C order.
        let code = unsafe { compiled.call(&launch.words()) };
        drop(arrays);
        if code != 0 {
            return Err(Diagnostic::bug(format!(
                "outer reduction kernel failed with code {code}"
            )));
        }
        if self.trace.is_some() {
            self.record(Step::Native(NativeStep {
                precompiled: false,
                name: format!(
                    "{} along axis {axis}",
                    if op == ReduceOp::Max { "max" } else { "min" }
                ),
                input: ArrayDesc {
                    dtype,
                    shape: shape.to_vec(),
                },
                how: format!(
                    "512-bit row code ({lanes} lanes, AVX-512), each input row combined into \
                     the output row in place, in the axis's order"
                ),
                calls: 1,
            }));
        }
        Ok(Some(out))
    }

    /// Compiles (once per IR text) and calls a kernel function built by [`ndx_ir::scan`]:
    /// `inputs` broadcast to `shape`, then `out`, then the extents of `shape`. With `split`,
    /// the call is cut into one piece per thread along that axis (the caller vouches that
    /// the pieces write disjoint memory).
    fn run_loop_func(
        &mut self,
        name: &str,
        func: &KFunc,
        inputs: &[Array],
        out: &Array,
        shape: &[usize],
        split: Option<usize>,
    ) -> Result<(), Diag> {
        let mut words: Vec<i64> = Vec::new();
        let mut keep = Vec::with_capacity(inputs.len());
        for a in inputs {
            let a = a.broadcast_to(shape).map_err(runtime_err)?;
            push_array(&mut words, &a)?;
            keep.push(a);
        }
        push_array(&mut words, out)?;
        words.extend(
            shape
                .iter()
                .map(|&n| ndx_codegen::scalar_bits(Scalar::I64(n as i64))),
        );
        let opts = KernelOptions {
            bounds_checks: false,
        };
        let key = func.to_string();
        let mut compile_time = None;
        if !self.scans.contains_key(&key) {
            let start = std::time::Instant::now();
            let code = self
                .jit()?
                .compile_kernel(func, opts)
                .map_err(|e| Diagnostic::bug(format!("compiling `{name}`: {e}")))?;
            compile_time = Some(start.elapsed());
            self.scans.insert(key.clone(), code);
        }
        let code = self
            .scans
            .get(&key)
            .cloned()
            .ok_or_else(|| Diagnostic::bug("scan cache lost an entry"))?;
        let jit = self.jit()?;
        let parts = split_words(&words, inputs.len() + 1, shape, split, jit.threads());
        // SAFETY: the words describe `keep`'s arrays and `out`, alive until after the call,
        // of the dtypes and ranks `func` was built for; every index is a loop variable within
        // its extent (or one row back, from row 1 on), so no access leaves the arrays; a
        // piece of a split covers a sub-range of one axis of every array, and the pieces
        // write disjoint output elements (the caller's word).
        let r = unsafe { jit.run_kernel_parts(&code, &parts) }
            .map_err(|e| Diagnostic::bug(format!("running `{name}`: {e}")))?;
        drop(keep);
        if let Err(f) = r {
            return Err(Diagnostic::bug(format!(
                "`{name}` stopped at a fault it cannot have: {f:?}"
            )));
        }
        if self.trace.is_some() {
            let jit = self.jit()?;
            let listings = jit.take_listings();
            let step = KernelStep {
                name: name.to_string(),
                compile_time,
                parallel_loops: 0,
                threads: jit.threads(),
                parts: parts.len(),
                vector_loops: ndx_codegen::vector_loops(func, opts),
                ir: key,
                listings,
                calls: 1,
            };
            self.record(Step::Kernel(step));
        }
        Ok(())
    }
}

/// The largest output block (the output's part after the reduced axis, which every step
/// along the axis reads and writes again) of a reduction that [`Exec::reduce_outer_rows`]
/// takes: it must stay in L1. `max(x, axis=0)` of 4M `f32`, `threads(1)`, row code against
/// the kernel function: rows of 1 KiB 0.25-0.28 / 0.87-0.91 ms, 4 KiB 0.33-0.44 / 0.50-0.52,
/// 16 KiB 0.52-0.58 / 0.44-0.49, 64 KiB 0.62-0.99 / 0.43-0.45 (BENCHMARKS.md, issue 3).
const OUTER_ROWS_BYTES: usize = 8 * 1024;

/// The shape of a reduction's result over the iteration space `shape`: every reduced axis
/// leaves it (the others have extent 1).
fn kept_shape(shape: &[usize], reduced: &[bool]) -> Vec<usize> {
    shape
        .iter()
        .zip(reduced)
        .filter(|(_, r)| !**r)
        .map(|(d, _)| *d)
        .collect()
}

/// A reduction's result `out` seen over the whole iteration space `shape`: stride 0 along the
/// reduced axes, so that every input row is combined into the same output row.
fn over_rows(out: &Array, shape: &[usize], reduced: &[bool]) -> Result<Array, Diag> {
    let keepdims: Vec<i64> = shape
        .iter()
        .zip(reduced)
        .map(|(&d, r)| if *r { 1 } else { d as i64 })
        .collect();
    out.reshape(&keepdims)
        .and_then(|o| o.broadcast_to(shape))
        .map_err(runtime_err)
}

/// How many times the elementwise parallel threshold of points an outer-axis reduction needs
/// before it is split over threads: on two threads, (4096, 1024) f32 sums ran 1.7-1.9x faster
/// split, while (64, 128, 256) (2M points) ran slower (0.2 against 0.3 ms).
const OUTER_SPLIT: usize = 8;

/// The axis of a reduction that runs best as [`Exec::reduce_outer`]: exactly one reduced axis
/// longer than 1, followed by at least 8 elements of kept axes (the unit-stride rows), for
/// `sum`/`prod`/`min`/`max` of numbers or `any`/`all` of bools.
pub(crate) fn outer_axis(
    shape: &[usize],
    reduced: &[bool],
    op: ReduceOp,
    dtype: DType,
) -> Option<usize> {
    let fits = match op {
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max => dtype != DType::Bool,
        ReduceOp::Any | ReduceOp::All => dtype == DType::Bool,
        ReduceOp::ArgMin | ReduceOp::ArgMax => false,
    };
    let mut live = (0..shape.len()).filter(|&a| reduced[a] && shape[a] > 1);
    let axis = live.next()?;
    let row: usize = shape[axis + 1..].iter().product();
    (fits && live.next().is_none() && row >= 8).then_some(axis)
}

/// The argument words of `threads` pieces of one call along axis `split` (or the call
/// itself): `arrays` arrays of `shape`'s rank (pointer, shape, strides each), then the
/// extents. A piece moves every pointer to the first index of its range and shortens that
/// axis in every shape and in the extents.
fn split_words(
    words: &[i64],
    arrays: usize,
    shape: &[usize],
    split: Option<usize>,
    threads: usize,
) -> Vec<Vec<i64>> {
    let rank = shape.len();
    let Some(ax) = split.filter(|&a| a < rank && shape[a] > 1 && threads > 1) else {
        return vec![words.to_vec()];
    };
    let n = shape[ax];
    let pieces = threads.min(n);
    let per = 1 + 2 * rank;
    (0..pieces)
        .map(|p| {
            let (lo, hi) = (n * p / pieces, n * (p + 1) / pieces);
            let mut w = words.to_vec();
            for a in 0..arrays {
                let base = a * per;
                let stride = w[base + 1 + rank + ax];
                w[base] = w[base].wrapping_add((lo as i64).wrapping_mul(stride));
                w[base + 1 + ax] = (hi - lo) as i64;
            }
            w[arrays * per + ax] = ndx_codegen::scalar_bits(Scalar::I64((hi - lo) as i64));
            w
        })
        .collect()
}

/// Appends an array's kernel words: its data pointer, shape and byte strides.
fn push_array(words: &mut Vec<i64>, a: &Array) -> Result<(), Diag> {
    words.push(a.ptr().map_err(runtime_err)? as i64);
    words.extend(a.shape().iter().map(|&s| s as i64));
    words.extend(a.strides().iter().map(|&s| s as i64));
    Ok(())
}
