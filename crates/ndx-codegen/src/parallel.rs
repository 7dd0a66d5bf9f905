//! Splitting a launch's outermost loop over worker threads.
//!
//! Only the outermost axis is split. When it is not reduced ([`split`]), every output element
//! is computed by exactly one thread in the same order as on one thread: results are identical
//! for any thread count. A full reduction (every loop reduced, [`reduce_split`]) is split into
//! one part per thread along axis 0; each part reduces into its own partial-result slot, and
//! the partials are combined on the calling thread in part order ([`combine`]), so a result is
//! identical run to run for a given thread count (and differs from the one-thread result only
//! by the order of float additions and multiplications).

use crate::{CodegenError, Compiled, Jit};
use ndx_ir::kernel::{Kernel, ReduceOp};
use ndx_ir::loops::{Inner, Launch, Nest};
use ndx_runtime::{DType, Scalar};

impl Jit {
    /// Runs the parts of a full reduction ([`reduce_split`]) on the worker pool, each into its
    /// own partial-result slots, and combines the partials in part order into the outputs.
    pub(crate) fn run_reduction(
        &mut self,
        nest: &Nest,
        compiled: Compiled,
        parts: &[Launch],
    ) -> Result<(), CodegenError> {
        let k = &nest.kernel;
        let (ni, no) = (k.inputs.len(), k.outputs.len());
        // One 8-byte slot per part and output (every dtype fits and is aligned in one).
        let mut slots = vec![0u64; parts.len() * no];
        let base = slots.as_mut_ptr() as usize;
        let slot = |p: usize, o: usize| base + 8 * (p * no + o);
        let words: Vec<Vec<i64>> = parts
            .iter()
            .enumerate()
            .map(|(p, l)| {
                let mut l = l.clone();
                for o in 0..no {
                    l.ptrs[ni + o] = slot(p, o);
                }
                l.words()
            })
            .collect();
        let codes: Vec<i32> = match self.pool() {
            Some(pool) => pool.install(|| {
                use rayon::prelude::*;
                words
                    .par_iter()
                    // SAFETY: each part reads a disjoint range of axis 0 of the caller's arrays
                    // (vouched for in `Jit::execute`) and writes only its own slots.
                    .map(|w| unsafe { compiled.call(w) })
                    .collect()
            }),
            // SAFETY: as above.
            None => words.iter().map(|w| unsafe { compiled.call(w) }).collect(),
        };
        if let Some(c) = codes.into_iter().find(|c| *c != 0) {
            return Err(CodegenError::Kernel(c));
        }
        // The values at each part's best index, for arg reductions.
        let mut values = vec![0u64; parts.len() * no];
        if let Some(vn) = arg_values(k) {
            let vc = self.compile(&vn)?;
            let vbase = values.as_mut_ptr() as usize;
            for (p, part) in parts.iter().enumerate() {
                for (o, out) in k.outputs.iter().enumerate() {
                    if !matches!(out.reduce, Some(ReduceOp::ArgMin | ReduceOp::ArgMax)) {
                        continue;
                    }
                    let flat = slots[p * no + o] as usize;
                    let vslots: Vec<usize> = (0..no).map(|q| vbase + 8 * (p * no + q)).collect();
                    let w = point_words(part, ni, flat, &vslots);
                    // SAFETY: `flat` is an index the part reduced over, so the point is inside
                    // the arrays; the outputs are this part's value slots.
                    let code = unsafe { vc.call(&w) };
                    if code != 0 {
                        return Err(CodegenError::Kernel(code));
                    }
                }
            }
        }
        for (o, out) in k.outputs.iter().enumerate() {
            let Some(op) = out.reduce else { continue };
            let vd = k.dtype(out.value);
            let result = match op {
                ReduceOp::ArgMin | ReduceOp::ArgMax => {
                    let max = op == ReduceOp::ArgMax;
                    let (mut best, mut best_v, mut start) = (0usize, None, 0usize);
                    for (p, part) in parts.iter().enumerate() {
                        let inner: usize = part.shape[1..].iter().product();
                        let at = start * inner + slots[p * no + o] as usize;
                        let v = read_slot(&values[p * no + o], vd);
                        if best_v.is_none_or(|b| arg_better(max, v, b)) {
                            (best, best_v) = (at, Some(v));
                        }
                        start += part.shape[0];
                    }
                    Scalar::I64(best as i64)
                }
                _ => slots[o..]
                    .iter()
                    .step_by(no)
                    .map(|s| read_slot(s, vd))
                    .reduce(|a, v| combine(op, a, v))
                    .ok_or_else(|| CodegenError::Internal("a reduction with no parts".into()))?,
            };
            // SAFETY: the output pointer of every part is the caller's output element.
            unsafe { write_scalar(parts[0].ptrs[ni + o], result) };
        }
        Ok(())
    }
}

/// Below this many iteration points a launch stays on the calling thread. Measured with axpy
/// on f32 (BENCHMARKS.md): waking the workers costs about 20 us, so two threads lose up to
/// 2^18 points (97 us on one thread, 111 us on two) and win from 2^19 (214 us vs 147 us).
pub const MIN_PARALLEL: usize = 1 << 19;

/// The launch split into at most `parts` launches along axis 0, or `None` when it should run
/// whole.
pub(crate) fn split(
    nest: &Nest,
    launch: &Launch,
    parts: usize,
    min: Option<usize>,
) -> Option<Vec<Launch>> {
    if nest.rank == 0 || (nest.kernel.reduces() && nest.reduce_from == 0) {
        return None;
    }
    chunks(launch, parts, min.unwrap_or(MIN_PARALLEL))
}

/// Below this many points a full reduction stays on the calling thread. The combine of the
/// partial results is negligible, so the break-even is the cost of waking the workers (about
/// 20 us, as for [`MIN_PARALLEL`]) against the time of half the work: `max` of f32 takes 41 us
/// on one thread at 2^18 points and 78 us at 2^19 (BENCHMARKS.md, issue 3).
pub(crate) const MIN_PARALLEL_REDUCE: usize = 1 << 19;

/// A full reduction (every loop reduced) split into at most `parts` launches along axis 0, or
/// `None` when it should run whole. Each part's outputs still point at the real outputs: the
/// caller redirects them to partial-result slots.
pub(crate) fn reduce_split(
    nest: &Nest,
    launch: &Launch,
    parts: usize,
    min: Option<usize>,
) -> Option<Vec<Launch>> {
    if nest.rank == 0 || !nest.kernel.reduces() || nest.reduce_from != 0 {
        return None;
    }
    chunks(launch, parts, min.unwrap_or(MIN_PARALLEL_REDUCE))
}

/// `launch` cut into at most `parts` consecutive, non-empty ranges of axis 0, or `None` when
/// there is nothing to split or it has fewer than `min` points.
fn chunks(launch: &Launch, parts: usize, min: usize) -> Option<Vec<Launch>> {
    let n0 = *launch.shape.first()?;
    let total = launch
        .shape
        .iter()
        .fold(1usize, |a, &d| a.saturating_mul(d));
    if parts < 2 || n0 < 2 || total < min {
        return None;
    }
    let parts = parts.min(n0);
    let mut chunk = n0.div_ceil(parts);
    if launch.shape.len() == 1 {
        // A 1-D launch splits its row: at whole 64-byte lines (of 16 elements or more), so
        // every part of an aligned array starts aligned, as streaming stores need
        // (`zmm::RowFn::streams`), and no vector straddles two parts.
        chunk = chunk.next_multiple_of(16).min(n0);
    }
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    while start < n0 {
        let len = chunk.min(n0 - start);
        let mut l = launch.clone();
        l.shape[0] = len;
        for (p, s) in l.ptrs.iter_mut().zip(&launch.strides) {
            *p = (*p as isize + start as isize * s[0]) as usize;
        }
        out.push(l);
        start += len;
    }
    Some(out)
}

/// The kernel that evaluates, at one point, the value an arg reduction compares: `kernel` with
/// `ArgMin`/`ArgMax` outputs turned into `Min`/`Max` (whose identity makes a one-point
/// reduction the value itself, NaN included).
pub(crate) fn arg_values(kernel: &Kernel) -> Option<Nest> {
    let is_arg = |r: Option<ReduceOp>| matches!(r, Some(ReduceOp::ArgMin | ReduceOp::ArgMax));
    if !kernel.outputs.iter().any(|o| is_arg(o.reduce)) {
        return None;
    }
    let mut k = kernel.clone();
    for o in &mut k.outputs {
        o.reduce = match o.reduce {
            Some(ReduceOp::ArgMin) => Some(ReduceOp::Min),
            Some(ReduceOp::ArgMax) => Some(ReduceOp::Max),
            r => r,
        };
    }
    let n = k.inputs.len() + k.outputs.len();
    Some(Nest {
        kernel: k,
        rank: 0,
        reduce_from: 0,
        inner: vec![Inner::Contiguous; n],
    })
}

/// The words of a rank-0 launch of [`arg_values`] at flat point `flat` (C order over the loop
/// axes) of `part`, writing its outputs to `slots`.
pub(crate) fn point_words(part: &Launch, ninputs: usize, flat: usize, slots: &[usize]) -> Vec<i64> {
    let mut idx = vec![0usize; part.shape.len()];
    let mut rest = flat;
    for (d, &n) in part.shape.iter().enumerate().rev() {
        idx[d] = rest % n.max(1);
        rest /= n.max(1);
    }
    let mut words: Vec<i64> = part.ptrs[..ninputs]
        .iter()
        .zip(&part.strides)
        .map(|(&p, s)| {
            let off: isize = idx.iter().zip(s).map(|(&i, &s)| i as isize * s).sum();
            (p as isize + off) as i64
        })
        .collect();
    words.extend(slots.iter().map(|&s| s as i64));
    words
}

/// Reads a value of dtype `d` from a partial-result slot.
pub(crate) fn read_slot(slot: &u64, d: DType) -> Scalar {
    let p: *const u64 = slot;
    // SAFETY: the slot is 8 bytes, aligned for every dtype; the kernel stored a value of `d`
    // at its start (the slots start zeroed, so every byte is initialised).
    unsafe {
        match d {
            DType::Bool => Scalar::Bool(p.cast::<u8>().read() != 0),
            DType::I32 => Scalar::I32(p.cast::<i32>().read()),
            DType::I64 => Scalar::I64(p.cast::<i64>().read()),
            DType::F32 => Scalar::F32(p.cast::<f32>().read()),
            DType::F64 => Scalar::F64(p.cast::<f64>().read()),
        }
    }
}

/// Writes `v` to the element at address `ptr`.
///
/// # Safety
/// `ptr` must be valid for a write of `v`'s dtype.
pub(crate) unsafe fn write_scalar(ptr: usize, v: Scalar) {
    // SAFETY: the caller vouches for the address (the reduction's output element).
    unsafe {
        match v {
            Scalar::Bool(b) => (ptr as *mut u8).write_unaligned(u8::from(b)),
            Scalar::I32(x) => (ptr as *mut i32).write_unaligned(x),
            Scalar::I64(x) => (ptr as *mut i64).write_unaligned(x),
            Scalar::F32(x) => (ptr as *mut f32).write_unaligned(x),
            Scalar::F64(x) => (ptr as *mut f64).write_unaligned(x),
        }
    }
}

/// `acc op v` for the partial results of a non-arg reduction, as the generated code combines
/// values ([`crate::lower::combine_values`]): floats in their own precision, NaN propagating
/// through min/max, integers wrapping, bools as or/and.
pub(crate) fn combine(op: ReduceOp, acc: Scalar, v: Scalar) -> Scalar {
    use ReduceOp as R;
    use Scalar as S;
    fn fminmax<T: PartialOrd + Copy>(max: bool, x: T, y: T, x_nan: bool) -> T {
        let pick_x = if max { x >= y } else { x <= y };
        if pick_x || x_nan {
            x
        } else {
            y
        }
    }
    fn int(op: ReduceOp, a: i64, b: i64) -> i64 {
        match op {
            R::Sum => a.wrapping_add(b),
            R::Prod => a.wrapping_mul(b),
            R::Min => a.min(b),
            R::Max => a.max(b),
            R::Any => a | b,
            _ => a & b,
        }
    }
    match (acc, v) {
        (S::F32(a), S::F32(b)) => S::F32(match op {
            R::Sum => a + b,
            R::Prod => a * b,
            _ => fminmax(op == R::Max, a, b, a.is_nan()),
        }),
        (S::F64(a), S::F64(b)) => S::F64(match op {
            R::Sum => a + b,
            R::Prod => a * b,
            _ => fminmax(op == R::Max, a, b, a.is_nan()),
        }),
        // i32 through i64: the low 32 bits of a wrapping i64 sum or product are the wrapping
        // i32 ones.
        (S::I32(a), S::I32(b)) => S::I32(int(op, a.into(), b.into()) as i32),
        (S::I64(a), S::I64(b)) => S::I64(int(op, a, b)),
        (S::Bool(a), S::Bool(b)) => S::Bool(match op {
            R::Sum | R::Any | R::Max => a | b,
            _ => a & b,
        }),
        _ => acc,
    }
}

/// True when `v` replaces `best` in an arg reduction: strictly better, or the first NaN (as
/// the generated code decides, so the combined index is the first best over the whole array).
pub(crate) fn arg_better(max: bool, v: Scalar, best: Scalar) -> bool {
    use Scalar as S;
    fn f<T: PartialOrd>(max: bool, v: T, best: T, v_nan: bool, best_nan: bool) -> bool {
        (if max { v > best } else { v < best }) || (v_nan && !best_nan)
    }
    match (v, best) {
        (S::F32(v), S::F32(b)) => f(max, v, b, v.is_nan(), b.is_nan()),
        (S::F64(v), S::F64(b)) => f(max, v, b, v.is_nan(), b.is_nan()),
        (S::I32(v), S::I32(b)) => f(max, v, b, false, false),
        (S::I64(v), S::I64(b)) => f(max, v, b, false, false),
        (S::Bool(v), S::Bool(b)) => f(max, v, b, false, false),
        _ => false,
    }
}

/// Edge of a square tile for transposing copies, in elements.
pub(crate) const TILE: usize = 64;

/// Tiles of an elementwise launch in which some input walks its memory along the
/// second-to-last loop (a transpose of the last two axes; any axes before them are a batch):
/// run tile by tile, both the strided reads and the contiguous writes stay within a few cache
/// lines and pages at a time, instead of one stride-sized jump per element. Each tile has the
/// nest's rank, with extent 1 on the batch axes. `None` when the launch is not of that kind
/// or too small to gain.
pub(crate) fn tiles(nest: &Nest, launch: &Launch) -> Option<Vec<Launch>> {
    use ndx_ir::loops::Inner;
    let r = nest.rank;
    if r < 2 || nest.kernel.reduces() {
        return None;
    }
    let (a0, a1) = (r - 2, r - 1);
    let (n0, n1) = (launch.shape[a0], launch.shape[a1]);
    if n0 < 2 * TILE || n1 < 2 * TILE {
        return None;
    }
    let ni = nest.kernel.inputs.len();
    let transposed = (0..ni).any(|a| {
        let size = nest.kernel.inputs[a].size() as isize;
        nest.inner[a] == Inner::Strided && launch.strides[a][a0].abs() == size
    });
    if !transposed {
        return None;
    }
    let batch: usize = launch.shape[..a0].iter().product();
    let per = n0.div_ceil(TILE) * n1.div_ceil(TILE);
    let mut out = Vec::with_capacity(batch.saturating_mul(per));
    for b in 0..batch {
        // The batch point `b` in C order over the leading axes, as byte offsets per array.
        let mut offs = vec![0isize; launch.ptrs.len()];
        let mut rest = b;
        for ax in (0..a0).rev() {
            let i = (rest % launch.shape[ax]) as isize;
            rest /= launch.shape[ax];
            for (o, s) in offs.iter_mut().zip(&launch.strides) {
                *o += i * s[ax];
            }
        }
        for i0 in (0..n0).step_by(TILE) {
            for j0 in (0..n1).step_by(TILE) {
                let mut l = launch.clone();
                l.shape = vec![1; r];
                l.shape[a0] = TILE.min(n0 - i0);
                l.shape[a1] = TILE.min(n1 - j0);
                for ((p, s), o) in l.ptrs.iter_mut().zip(&launch.strides).zip(&offs) {
                    *p = (*p as isize + o + i0 as isize * s[a0] + j0 as isize * s[a1]) as usize;
                }
                out.push(l);
            }
        }
    }
    Some(out)
}
