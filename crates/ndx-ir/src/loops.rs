//! Scheduling a [`Kernel`] onto a loop nest, and the calling convention of compiled nests.
//!
//! A [`Nest`] is what codegen compiles: the kernel plus everything about the layout that the
//! generated code specialises on (rank after coalescing, which axes reduce, and the class of
//! each array's innermost stride). It never contains sizes or strides: those are runtime
//! arguments, so one compiled nest serves every size ([`Nest::key`] is the cache key).
//!
//! ## Calling convention
//! A compiled nest is `unsafe extern "C" fn(words: *const i64) -> i32`. `words` holds
//! `shape[0..rank]`, then for every array (inputs in order, then outputs) its data pointer
//! (pointing at the element at index 0 of every axis, cast to i64) followed by its `rank` byte
//! strides ([`Launch::words`] builds it). Axis `rank - 1` is the innermost loop. Axes
//! `reduce_from..rank` are reduced: every output's stride on them is 0, and each output is
//! written once per point of the outer axes, after its reduced loops finish (so outputs need
//! no initialisation; an empty reduced extent stores the reduction's identity). The function
//! returns 0 on success; any other value is an error code.
//!
//! `rank` may be 0 (a scalar computation): then `words` holds only the array pointers.

use crate::kernel::Kernel;

/// The class of an array's stride along the innermost axis: codegen vectorises contiguous and
/// broadcast accesses and falls back to scalar code for the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inner {
    /// The stride equals the element size.
    Contiguous,
    /// The stride is 0 (broadcast along the inner axis).
    Broadcast,
    /// Any other stride (negative, gapped).
    Strided,
}

/// A kernel scheduled onto a loop nest: the unit codegen compiles and caches.
#[derive(Clone, Debug, PartialEq)]
pub struct Nest {
    /// The fused computation.
    pub kernel: Kernel,
    /// Number of loops.
    pub rank: usize,
    /// Axes `reduce_from..rank` are reduced (`rank` when nothing reduces).
    pub reduce_from: usize,
    /// The innermost-stride class of each array, inputs then outputs (all `Contiguous` when
    /// `rank` is 0).
    pub inner: Vec<Inner>,
}

/// Runtime arguments for one call of a compiled [`Nest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Launch {
    /// Loop extents, outermost first.
    pub shape: Vec<usize>,
    /// Per array (inputs then outputs): the data pointer of the element at index 0.
    pub ptrs: Vec<usize>,
    /// Per array: byte strides, one per loop.
    pub strides: Vec<Vec<isize>>,
}

impl Launch {
    /// The argument words of the calling convention above.
    pub fn words(&self) -> Vec<i64> {
        let mut w = Vec::with_capacity(self.shape.len() + self.ptrs.len() * (1 + self.shape.len()));
        w.extend(self.shape.iter().map(|&s| s as i64));
        for (p, s) in self.ptrs.iter().zip(&self.strides) {
            w.push(*p as i64);
            w.extend(s.iter().map(|&s| s as i64));
        }
        w
    }
}
