//! `cumsum` and `cumprod`: the argument's lazy expression and the running accumulation
//! compile into one kernel function ([`ndx_ir::scan`]), so the expression is never
//! materialised. Compiled scans are cached by the text of their kernel IR, which names the
//! structure, dtypes, rank and axis but no size.

use crate::args::Bound;
use crate::error::{axis_at, runtime_err, At, Diag};
use crate::exec::Exec;
use crate::explain::{KernelStep, Step};
use crate::interp::Interp;
use crate::lazy::{self, Lazy};
use crate::value::Val;
use ndx_codegen::KernelOptions;
use ndx_ir::scan::{scan_func, ScanBuildError, ScanOp, ScanSpec};
use ndx_runtime::{Array, Scalar};
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
        let mut words: Vec<i64> = Vec::new();
        let mut keep = Vec::with_capacity(built.inputs.len());
        for a in &built.inputs {
            let a = a.broadcast_to(&shape).map_err(runtime_err)?;
            push_array(&mut words, &a)?;
            keep.push(a);
        }
        push_array(&mut words, &out)?;
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
                .compile_kernel(&func, opts)
                .map_err(|e| Diagnostic::bug(format!("compiling `{}`: {e}", op.name())))?;
            compile_time = Some(start.elapsed());
            self.scans.insert(key.clone(), code);
        }
        let code = self
            .scans
            .get(&key)
            .cloned()
            .ok_or_else(|| Diagnostic::bug("scan cache lost an entry"))?;
        let jit = self.jit()?;
        // SAFETY: the words describe `keep`'s arrays and `out`, alive until after the call,
        // of the dtypes and ranks `func` was built for; every index is a loop variable within
        // its extent (or one row back, from row 1 on), so no access leaves the arrays.
        let r = unsafe { jit.run_kernel(&code, &words, 0) }
            .map_err(|e| Diagnostic::bug(format!("running `{}`: {e}", op.name())))?;
        drop(keep);
        if let Err(f) = r {
            return Err(Diagnostic::bug(format!(
                "`{}` stopped at a fault it cannot have: {f:?}",
                op.name()
            )));
        }
        if self.trace.is_some() {
            let jit = self.jit()?;
            let listings = jit.take_listings();
            let step = KernelStep {
                name: op.name().to_string(),
                compile_time,
                parallel_loops: 0,
                threads: jit.threads(),
                vector_loops: ndx_codegen::vector_loops(&func, opts),
                ir: key,
                listings,
                calls: 1,
            };
            self.record(Step::Kernel(step));
        }
        Ok(out)
    }
}

/// Appends an array's kernel words: its data pointer, shape and byte strides.
fn push_array(words: &mut Vec<i64>, a: &Array) -> Result<(), Diag> {
    words.push(a.ptr().map_err(runtime_err)? as i64);
    words.extend(a.shape().iter().map(|&s| s as i64));
    words.extend(a.strides().iter().map(|&s| s as i64));
    Ok(())
}
