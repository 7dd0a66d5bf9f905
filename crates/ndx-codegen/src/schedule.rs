//! A minimal scheduler used until `ndx_ir::loops::schedule` lands: kept axes first, reduced
//! axes last (both in their original order), no coalescing.
//!
//! Invariants: the nest's rank equals `shape.len()`; `reduce_from` is the number of kept axes;
//! the flat index over reduced axes is C order over them, as arg reductions require.

use crate::{CodegenError, RawArray};
use ndx_ir::kernel::Kernel;
use ndx_ir::loops::{Inner, Launch, Nest};

/// The cache key of a nest.
pub(crate) fn key(nest: &Nest) -> String {
    format!("{nest:?}")
}

/// Schedules `kernel` over `shape` with `reduced` axes on `arrays`.
pub(crate) fn schedule(
    kernel: &Kernel,
    shape: &[usize],
    reduced: &[bool],
    arrays: &[RawArray],
) -> Result<(Nest, Launch), CodegenError> {
    let mut order: Vec<usize> = (0..shape.len()).filter(|&a| !reduced[a]).collect();
    let reduce_from = if kernel.reduces() {
        order.len()
    } else {
        shape.len()
    };
    if !kernel.reduces() && reduced.iter().any(|r| *r) {
        return Err(CodegenError::Arguments(
            "reduced axes given for a kernel that does not reduce".into(),
        ));
    }
    order.extend((0..shape.len()).filter(|&a| reduced[a]));
    let rank = shape.len();
    let inner = arrays
        .iter()
        .map(|a| match order.last().map(|&ax| a.strides[ax]) {
            None => Inner::Contiguous,
            Some(0) => Inner::Broadcast,
            Some(s) if s == a.dtype.size() as isize => Inner::Contiguous,
            Some(_) => Inner::Strided,
        })
        .collect();
    let nest = Nest {
        kernel: kernel.clone(),
        rank,
        reduce_from,
        inner,
    };
    let launch = Launch {
        shape: order.iter().map(|&a| shape[a]).collect(),
        ptrs: arrays.iter().map(|a| a.ptr).collect(),
        strides: arrays
            .iter()
            .map(|a| order.iter().map(|&ax| a.strides[ax]).collect())
            .collect(),
    };
    Ok((nest, launch))
}
