//! The host side of parallel loops: splitting a `prange` into chunks, running them on rayon
//! workers, and combining partial reductions in chunk order.

use super::*;

/// Combines two partial results of a parallel reduction, as the reference evaluator does.
pub(super) fn combine(op: ReduceOp, a: Scalar, b: Scalar) -> Scalar {
    let bin = match op {
        ReduceOp::Prod => BinaryOp::Mul,
        ReduceOp::Min => BinaryOp::Min,
        ReduceOp::Max => BinaryOp::Max,
        _ => BinaryOp::Add,
    };
    ndx_ir::eval::binary(bin, a, b)
}

/// A seed for chunk `c` derived from the kernel's seed (SplitMix64 of the pair).
pub(super) fn chunk_seed(seed: i64, c: usize) -> i64 {
    let x = (seed as u64) ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    mix64(x) as i64
}

pub(super) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many chunks a parallel loop of `n` iterations is split into on `threads` workers.
/// Several per worker balance uneven iterations (a mandelbrot row); the count depends only on
/// `n` and `threads`, so results are reproducible for a thread count.
pub(super) fn chunk_count(n: i64, threads: usize) -> usize {
    if threads <= 1 || n <= 1 {
        return 1;
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    n.min(threads.saturating_mul(8))
}

/// Runs parallel loop `id` of the kernel whose context is `ctx`: `n` iterations over the
/// locals spilled in `frame` (followed by the loop's start and step).
///
/// # Safety
/// Called only by compiled kernels, with the context and frame they own.
pub(crate) unsafe extern "C" fn ndx_prange(ctx: *mut i64, id: i64, frame: *mut i64, n: i64) -> i32 {
    // SAFETY: compiled kernels pass their own CTX_LEN-word context.
    let ctx = unsafe { &mut *(ctx as *mut [i64; CTX_LEN]) };
    // SAFETY: CTX_RT was set by `CompiledKernel::run` to a Runtime that outlives the call.
    let rt = unsafe { &*(ctx[CTX_RT] as *const Runtime) };
    let Some(pl) = usize::try_from(id)
        .ok()
        .and_then(|i| rt.kernel.loops.get(i))
    else {
        return FAULT;
    };
    let words = rt.kernel.nlocals + 2;
    // SAFETY: the kernel's frame holds its locals plus the start and step words.
    let base = unsafe { std::slice::from_raw_parts_mut(frame, words) };
    let args = ctx[CTX_ARGS] as usize;
    let chunks = chunk_count(n, rt.threads);
    let mut frames: Vec<Vec<i64>> = Vec::with_capacity(chunks);
    let mut ctxs: Vec<[i64; CTX_LEN]> = Vec::with_capacity(chunks);
    for c in 0..chunks {
        let mut f = base.to_vec();
        for &(local, op, d) in &pl.reductions {
            if let Some(w) = f.get_mut(local) {
                *w = scalar_bits(ndx_ir::eval::identity(op, d));
            }
        }
        frames.push(f);
        let mut cx = *ctx;
        cx[CTX_SEED] = chunk_seed(ctx[CTX_SEED], c);
        ctxs.push(cx);
    }
    let bounds = |c: usize| {
        let lo = (i128::from(n) * c as i128 / chunks as i128) as i64;
        let hi = (i128::from(n) * (c as i128 + 1) / chunks as i128) as i64;
        (lo, hi)
    };
    let func = pl.func;
    let run_chunk = |(c, (f, cx)): (usize, (&mut Vec<i64>, &mut [i64; CTX_LEN]))| {
        let (lo, hi) = bounds(c);
        // SAFETY: as for the kernel itself; chunks run disjoint iterations on private frames.
        unsafe { func(args as *const i64, cx.as_mut_ptr(), f.as_mut_ptr(), lo, hi) }
    };
    let codes: Vec<i32> = match rt.pool {
        Some(pool) if chunks > 1 => pool.install(|| {
            use rayon::prelude::*;
            frames
                .par_iter_mut()
                .zip(ctxs.par_iter_mut())
                .enumerate()
                .map(run_chunk)
                .collect()
        }),
        _ => frames
            .iter_mut()
            .zip(ctxs.iter_mut())
            .enumerate()
            .map(run_chunk)
            .collect(),
    };
    if let Some(c) = codes.iter().position(|&c| c != 0) {
        if let Some(cx) = ctxs.get(c) {
            ctx[..CTX_RET].copy_from_slice(&cx[..CTX_RET]);
        }
        return FAULT;
    }
    for &(local, op, d) in &pl.reductions {
        let Some(&w) = base.get(local) else { continue };
        let mut acc = scalar_of_bits(d, w);
        for f in &frames {
            if let Some(&p) = f.get(local) {
                acc = combine(op, acc, scalar_of_bits(d, p));
            }
        }
        base[local] = scalar_bits(acc);
    }
    0
}
