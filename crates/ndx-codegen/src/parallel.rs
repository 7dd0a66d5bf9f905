//! Splitting a launch's outermost loop over worker threads.
//!
//! Only the outermost axis is split, and only when it is not reduced, so every output element
//! is computed by exactly one thread in the same order as on one thread: results are identical
//! for any thread count. Full reductions (nothing kept) stay on the calling thread for now.

use ndx_ir::loops::{Launch, Nest};

/// Below this many iteration points a launch stays on the calling thread. Measured with axpy
/// on f32 (BENCHMARKS.md): waking the workers costs about 20 us, so two threads lose up to
/// 2^18 points (97 us on one thread, 111 us on two) and win from 2^19 (214 us vs 147 us).
pub(crate) const MIN_PARALLEL: usize = 1 << 19;

/// The launch split into at most `parts` launches along axis 0, or `None` when it should run
/// whole.
pub(crate) fn split(nest: &Nest, launch: &Launch, parts: usize) -> Option<Vec<Launch>> {
    if parts < 2 || nest.rank == 0 || (nest.kernel.reduces() && nest.reduce_from == 0) {
        return None;
    }
    let n0 = *launch.shape.first()?;
    let total = launch
        .shape
        .iter()
        .fold(1usize, |a, &d| a.saturating_mul(d));
    if n0 < 2 || total < MIN_PARALLEL {
        return None;
    }
    let parts = parts.min(n0);
    let chunk = n0.div_ceil(parts);
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

/// Edge of a square tile for transposing copies, in elements.
pub(crate) const TILE: usize = 64;

/// Tiles of a rank-2 elementwise launch in which some input walks its memory along the outer
/// loop (a transpose): run tile by tile, both the strided reads and the contiguous writes stay
/// within a few cache lines and pages at a time, instead of one stride-sized jump per element.
/// `None` when the launch is not of that kind or too small to gain.
pub(crate) fn tiles(nest: &Nest, launch: &Launch) -> Option<Vec<Launch>> {
    use ndx_ir::loops::Inner;
    if nest.rank != 2 || nest.kernel.reduces() {
        return None;
    }
    let (n0, n1) = (launch.shape[0], launch.shape[1]);
    if n0 < 2 * TILE || n1 < 2 * TILE {
        return None;
    }
    let ni = nest.kernel.inputs.len();
    let transposed = (0..ni).any(|a| {
        let size = nest.kernel.inputs[a].size() as isize;
        nest.inner[a] == Inner::Strided && launch.strides[a][0].abs() == size
    });
    if !transposed {
        return None;
    }
    let mut out = Vec::with_capacity(n0.div_ceil(TILE) * n1.div_ceil(TILE));
    for i0 in (0..n0).step_by(TILE) {
        for j0 in (0..n1).step_by(TILE) {
            let mut l = launch.clone();
            l.shape = vec![TILE.min(n0 - i0), TILE.min(n1 - j0)];
            for (p, s) in l.ptrs.iter_mut().zip(&launch.strides) {
                *p = (*p as isize + i0 as isize * s[0] + j0 as isize * s[1]) as usize;
            }
            out.push(l);
        }
    }
    Some(out)
}
