//! Running lazy expressions: turning a [`Lazy`] into a kernel, compiling it (cached by
//! structure) and calling it on the arrays it reads and writes.
//!
//! This is where fusion pays off: `materialize` allocates only the final value, `write_into`
//! writes straight into a destination view, and `reduce` computes a map-reduce in one pass.

use crate::error::{runtime_err, Diag};
use crate::explain::{self, ArrayDesc, Dest, FusedStep, Step};
use crate::lazy::{self, Lazy};
use crate::rows;
use ndx_codegen::{Jit, RawArray};
use ndx_ir::kernel::ReduceOp;
use ndx_ir::shape::broadcast_strides;
use ndx_runtime::{Array, DType};
use ndx_syntax::Diagnostic;

/// Owns the JIT and its kernel cache.
#[derive(Default)]
pub(crate) struct Exec {
    jit: Option<Jit>,
    pub(crate) threads: usize,
    /// While tracing: what the current statement compiled and ran.
    pub(crate) trace: Option<Vec<Step>>,
    /// While tracing: whether CLIF and machine-code listings are recorded.
    pub(crate) listings: bool,
    /// The session's interrupt flag: checked before every launch, so a long statement stops
    /// between two kernels.
    pub(crate) interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Compiled scans (`cumsum`, `cumprod`), by the text of their kernel IR.
    pub(crate) scans: std::collections::HashMap<String, ndx_codegen::CompiledKernel>,
}

impl Exec {
    pub(crate) fn jit(&mut self) -> Result<&mut Jit, Diag> {
        if self.jit.is_none() {
            let mut jit =
                Jit::new().map_err(|e| Diagnostic::bug(format!("cannot start the JIT: {e}")))?;
            jit.set_threads(self.threads);
            self.jit = Some(jit);
        }
        self.jit
            .as_mut()
            .ok_or_else(|| Diagnostic::bug("JIT missing"))
    }

    /// Sets the worker count for large kernels.
    pub(crate) fn set_threads(&mut self, n: usize) {
        self.threads = n.max(1);
        if let Some(j) = &mut self.jit {
            j.set_threads(self.threads);
        }
    }

    /// The JIT's worker pool, for row programs and precompiled sums, when more than one thread
    /// is set.
    pub(crate) fn row_pool(&mut self) -> Option<&rayon::ThreadPool> {
        if self.threads < 2 {
            return None;
        }
        self.jit().ok()?.pool()
    }

    /// Starts recording steps (and, with `listings`, the code of every function compiled).
    pub(crate) fn start_trace(&mut self, listings: bool) -> Result<(), Diag> {
        let jit = self.jit()?;
        jit.set_reports(true);
        jit.set_listings(listings);
        self.trace = Some(Vec::new());
        self.listings = listings;
        Ok(())
    }

    /// Takes the steps recorded so far, and keeps recording.
    pub(crate) fn take_trace(&mut self) -> Vec<Step> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Stops recording.
    pub(crate) fn stop_trace(&mut self) {
        self.trace = None;
        self.listings = false;
        if let Some(j) = &mut self.jit {
            j.set_reports(false);
            j.set_listings(false);
        }
    }

    /// Records a step when tracing.
    pub(crate) fn record(&mut self, step: Step) {
        if let Some(t) = &mut self.trace {
            explain::record(t, step);
        }
    }

    /// Compilation statistics of the kernel cache.
    pub(crate) fn stats(&self) -> Option<ndx_codegen::Stats> {
        self.jit.as_ref().map(|j| j.stats())
    }

    /// Computes `v` into a new C-contiguous array.
    pub(crate) fn materialize(&mut self, v: &Lazy) -> Result<Array, Diag> {
        if let Some(a) = v.as_leaf() {
            return Ok(a.clone());
        }
        if let Some(p) = v.as_pending() {
            return p.force().map_err(runtime_err);
        }
        if let Some(out) = self.epilogue(v, None)? {
            return Ok(out);
        }
        let out = Array::empty(v.dtype(), v.shape()).map_err(runtime_err)?;
        self.run(
            &[(v, None)],
            v.shape(),
            &[],
            std::slice::from_ref(&out),
            Dest::New,
        )?;
        Ok(out)
    }

    /// Compiles what [`Exec::materialize`] would run for `v`, without running it (the
    /// result array is allocated for its layout but never written or returned).
    pub(crate) fn prepare(&mut self, v: &Lazy) -> Result<(), Diag> {
        if v.as_leaf().is_some() || v.as_pending().is_some() {
            return Ok(());
        }
        // A pending contraction is not run either: an unwritten array of its layout stands
        // in for it, so the kernel compiled is the one its epilogue would use.
        let v = crate::epilogue::stand_in(v).map_err(runtime_err)?;
        let out = Array::empty(v.dtype(), v.shape()).map_err(runtime_err)?;
        self.run(
            &[(&v, None)],
            v.shape(),
            &[],
            std::slice::from_ref(&out),
            Dest::NotRun,
        )
    }

    /// Writes `v` (broadcast to `out`'s shape, cast to its dtype) into the view `out`.
    pub(crate) fn write_into(&mut self, v: &Lazy, out: &Array) -> Result<(), Diag> {
        if !out.is_writable() {
            return Err(Diagnostic::error(
                "E0310",
                "assignment destination is read-only",
            ));
        }
        let shape = out.shape().to_vec();
        if broadcast_strides(v.shape(), &vec![0; v.shape().len()], &shape).is_none() {
            return Err(Diagnostic::error(
                "E0203",
                format!(
                    "could not broadcast a value of shape {} into a destination of shape {}",
                    ndx_ir::shape::format_shape(v.shape()),
                    ndx_ir::shape::format_shape(&shape)
                ),
            ));
        }
        if self.epilogue(v, Some(out))?.is_some() {
            return Ok(());
        }
        let v = v.cast(out.dtype());
        if v.reads_memory_of(out) && !v.safe_in_place(out) {
            // An overlapping, shifted read (`a[1:] = a[:-1]`): compute into a temporary first.
            let tmp = Array::empty(v.dtype(), v.shape()).map_err(runtime_err)?;
            self.run(
                &[(&v, None)],
                v.shape(),
                &[],
                std::slice::from_ref(&tmp),
                Dest::New,
            )?;
            return out.assign(&tmp).map_err(runtime_err);
        }
        self.run(
            &[(&v, None)],
            &shape,
            &[],
            std::slice::from_ref(out),
            Dest::Existing,
        )
    }

    /// Reduces `v` over the axes where `reduced` is true with `op`, into a new array whose
    /// shape drops those axes. The dtype is the value's (i64 for argmin/argmax).
    pub(crate) fn reduce(
        &mut self,
        v: &Lazy,
        op: ReduceOp,
        reduced: &[bool],
    ) -> Result<Array, Diag> {
        let kept: Vec<usize> = v
            .shape()
            .iter()
            .zip(reduced)
            .filter(|(_, r)| !**r)
            .map(|(s, _)| *s)
            .collect();
        if let Some(axis) = crate::scan::outer_axis(v.shape(), reduced, op, v.dtype()) {
            if let Some(out) = self.reduce_outer(v, op, reduced, axis)? {
                return Ok(out);
            }
        }
        let dtype = match op {
            ReduceOp::ArgMin | ReduceOp::ArgMax => DType::I64,
            _ => v.dtype(),
        };
        let out = Array::empty(dtype, &kept).map_err(runtime_err)?;
        self.run(
            &[(v, Some(op))],
            v.shape(),
            reduced,
            std::slice::from_ref(&out),
            Dest::New,
        )?;
        Ok(out)
    }

    /// Fails with E0405 when the session was interrupted (clearing the flag).
    pub(crate) fn check_interrupt(&self) -> Result<(), Diag> {
        if let Some(flag) = &self.interrupt {
            // A load first: the common case writes nothing to the shared cache line.
            if flag.load(std::sync::atomic::Ordering::Relaxed)
                && flag.swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                return Err(Diagnostic::error("E0405", "interrupted"));
            }
        }
        Ok(())
    }

    /// `v` with every lazy row reduction computed (each a fused reduction kernel of its own).
    pub(crate) fn settle(&mut self, v: &Lazy) -> Result<Lazy, Diag> {
        if !v.has_row_reduce() {
            return Ok(v.clone());
        }
        v.replace_reduces(&mut |op, operand: &Lazy| {
            let nd = operand.shape().len();
            let mut reduced = vec![false; nd];
            reduced[nd - 1] = true;
            let r = self.reduce(operand, op, &reduced)?;
            let mut keep: Vec<i64> = operand.shape().iter().map(|&d| d as i64).collect();
            keep[nd - 1] = 1;
            r.reshape(&keep).map_err(runtime_err)
        })
    }

    /// Builds, compiles and calls one kernel over the iteration space `shape`. Each output's
    /// shape is `shape` without the reduced axes.
    pub(crate) fn run(
        &mut self,
        outputs: &[(&Lazy, Option<ReduceOp>)],
        shape: &[usize],
        reduced: &[bool],
        outs: &[Array],
        dest: Dest,
    ) -> Result<(), Diag> {
        self.check_interrupt()?;
        // A subexpression written twice is computed once, where the row planner or the
        // 512-bit steps would otherwise compute it twice (they match nodes by identity; a
        // kernel's own nodes are shared as it is built).
        let shared;
        let single;
        let outputs = match outputs {
            [(v, r)]
                if v.has_row_reduce() || v.shape().iter().product::<usize>() >= rows::WIDE_MIN =>
            {
                shared = v.shared();
                single = [(&shared, *r)];
                &single[..]
            }
            _ => outputs,
        };
        if let ([(v, None)], [out]) = (outputs, outs) {
            let rows = dest != Dest::NotRun
                && v.shape() == shape
                && out.shape() == shape
                && rows::applies(v, out);
            if rows {
                return self.run_rows(v, out, dest);
            }
        }
        if outputs.iter().any(|(l, _)| l.has_row_reduce()) {
            let settled = outputs
                .iter()
                .map(|(l, r)| Ok((self.settle(l)?, *r)))
                .collect::<Result<Vec<_>, Diag>>()?;
            let refs: Vec<(&Lazy, Option<ReduceOp>)> =
                settled.iter().map(|(l, r)| (l, *r)).collect();
            return self.run(&refs, shape, reduced, outs, dest);
        }
        let built = lazy::build(outputs).map_err(runtime_err)?;
        let raw = raw_arrays(&built.inputs, outs, shape, reduced)?;
        let reduced_full: Vec<bool> = (0..shape.len())
            .map(|i| reduced.get(i).copied().unwrap_or(false))
            .collect();
        let jit = self.jit()?;
        let r = if dest == Dest::NotRun {
            jit.prepare(&built.kernel, shape, &reduced_full, &raw)
        } else {
            jit.execute(&built.kernel, shape, &reduced_full, &raw)
        };
        r.map_err(|e| Diagnostic::bug(format!("kernel failed: {e}")))?;
        if self.trace.is_some() {
            let reports = self.jit()?.take_reports();
            let desc = |a: &Array| ArrayDesc {
                dtype: a.dtype(),
                shape: a.shape().to_vec(),
            };
            if let Some(launch) = reports.into_iter().next() {
                let step = FusedStep {
                    kernel: built.kernel,
                    inputs: built.inputs.iter().map(desc).collect(),
                    outputs: outs.iter().map(desc).collect(),
                    dest,
                    launch,
                    calls: 1,
                    later_hits: 0,
                    rows: None,
                };
                self.record(Step::Fused(Box::new(step)));
            }
        }
        Ok(())
    }
}

/// The kernel arguments for `inputs` (each broadcast to `shape`) and `outs` (each of `shape`
/// without the `reduced` axes, stride 0 along them).
pub(crate) fn raw_arrays(
    inputs: &[Array],
    outs: &[Array],
    shape: &[usize],
    reduced: &[bool],
) -> Result<Vec<RawArray>, Diag> {
    let mut raw = Vec::with_capacity(inputs.len() + outs.len());
    for a in inputs {
        let strides = broadcast_strides(a.shape(), a.strides(), shape).ok_or_else(|| {
            Diagnostic::bug(format!(
                "input of shape {:?} does not broadcast to {shape:?}",
                a.shape()
            ))
        })?;
        raw.push(RawArray {
            ptr: a.ptr().map_err(runtime_err)? as usize,
            strides,
            dtype: a.dtype(),
        });
    }
    for o in outs {
        let mut strides = Vec::with_capacity(shape.len());
        let mut k = 0;
        for axis in 0..shape.len() {
            if reduced.get(axis).copied().unwrap_or(false) {
                strides.push(0);
            } else {
                strides.push(o.strides().get(k).copied().unwrap_or(0));
                k += 1;
            }
        }
        raw.push(RawArray {
            ptr: o.ptr().map_err(runtime_err)? as usize,
            strides,
            dtype: o.dtype(),
        });
    }
    Ok(raw)
}
