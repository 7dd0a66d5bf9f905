//! Scheduling a [`Kernel`] onto a loop nest, and the calling convention of compiled nests.
//!
//! A [`Nest`] is what codegen compiles: the kernel plus everything about the layout that the
//! generated code specialises on (rank after coalescing, which axes reduce, and the class of
//! each array's innermost stride). It never contains sizes or strides: those are runtime
//! arguments, so one compiled nest serves every size ([`Nest`]'s equality is the cache key).
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
//!
//! ## Scheduling
//! [`schedule`] drops extent-1 axes, orders the kept axes so the first output's smallest
//! stride is innermost, puts the reduced axes innermost in their source order (so the flat
//! index of `argmin`/`argmax` is the C-order index over them), and merges adjacent axes that
//! every array walks as one (`stride[i] == stride[i+1] * shape[i+1]`), so a contiguous
//! elementwise statement of any rank becomes a single loop.

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

impl Inner {
    /// The class of an innermost byte `stride` of elements of `itemsize` bytes.
    pub fn of_stride(stride: isize, itemsize: usize) -> Inner {
        match stride {
            0 => Inner::Broadcast,
            s if s == itemsize as isize => Inner::Contiguous,
            _ => Inner::Strided,
        }
    }
}

/// A kernel scheduled onto a loop nest: the unit codegen compiles and caches. Its equality
/// and hash are the cache key: the kernel's structure and the layout class, never sizes or
/// strides.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// The layout of one array for [`schedule`]: where element 0 is, and its byte strides over
/// the full iteration space.
#[derive(Clone, Copy, Debug)]
pub struct ArrayLayout<'a> {
    /// Address of the element at index 0 of every axis.
    pub ptr: usize,
    /// One byte stride per iteration axis (0 where the array broadcasts or, for an output,
    /// along a reduced axis).
    pub strides: &'a [isize],
    /// Element size in bytes.
    pub itemsize: usize,
}

/// Arguments that do not describe one iteration space: always a caller bug.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("internal error: bad schedule arguments: {0}")]
pub struct ScheduleError(pub String);

/// Schedules `kernel` over the iteration space `shape`, where `reduced` marks the reduced
/// axes and `arrays` are the inputs then the outputs.
pub fn schedule(
    kernel: &Kernel,
    shape: &[usize],
    reduced: &[bool],
    arrays: &[ArrayLayout],
) -> Result<(Nest, Launch), ScheduleError> {
    let n = shape.len();
    if reduced.len() != n || arrays.iter().any(|a| a.strides.len() != n) {
        return Err(ScheduleError(format!(
            "rank {n} with {} reduce flags",
            reduced.len()
        )));
    }
    if arrays.len() != kernel.inputs.len() + kernel.outputs.len() {
        return Err(ScheduleError(format!(
            "{} arrays for {} inputs and {} outputs",
            arrays.len(),
            kernel.inputs.len(),
            kernel.outputs.len()
        )));
    }
    if !kernel.reduces() && reduced.iter().any(|r| *r) {
        return Err(ScheduleError(
            "reduced axes for a kernel that does not reduce".into(),
        ));
    }
    let first_out = kernel.inputs.len();
    let out_stride = |ax: usize| {
        arrays
            .get(first_out)
            .map_or(0, |a| a.strides[ax].unsigned_abs())
    };
    let live: Vec<usize> = (0..n).filter(|&a| shape[a] != 1).collect();
    let mut kept: Vec<usize> = live.iter().copied().filter(|&a| !reduced[a]).collect();
    kept.sort_by_key(|&a| std::cmp::Reverse(out_stride(a)));
    let red: Vec<usize> = live.iter().copied().filter(|&a| reduced[a]).collect();

    // Merge runs of axes (in loop order) that every array walks as one.
    let mut axes: Vec<(usize, Vec<isize>, bool)> = Vec::new();
    for (&ax, is_red) in kept
        .iter()
        .map(|a| (a, false))
        .chain(red.iter().map(|a| (a, true)))
    {
        let strides: Vec<isize> = arrays.iter().map(|a| a.strides[ax]).collect();
        if let Some((ext, prev, prev_red)) = axes.last_mut() {
            let merges = *prev_red == is_red
                && prev
                    .iter()
                    .zip(&strides)
                    .all(|(p, s)| *p == s * shape[ax] as isize);
            if merges {
                *ext *= shape[ax];
                *prev = strides;
                continue;
            }
        }
        axes.push((shape[ax], strides, is_red));
    }
    let rank = axes.len();
    let reduce_from = if kernel.reduces() {
        axes.iter().take_while(|a| !a.2).count()
    } else {
        rank
    };
    let inner = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| match axes.last() {
            None => Inner::Contiguous,
            Some((_, s, _)) => Inner::of_stride(s[i], a.itemsize),
        })
        .collect();
    let launch = Launch {
        shape: axes.iter().map(|a| a.0).collect(),
        ptrs: arrays.iter().map(|a| a.ptr).collect(),
        strides: (0..arrays.len())
            .map(|i| axes.iter().map(|a| a.1[i]).collect())
            .collect(),
    };
    Ok((
        Nest {
            kernel: kernel.clone(),
            rank,
            reduce_from,
            inner,
        },
        launch,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{BinaryOp, Op, Output, ReduceOp};
    use ndx_runtime::{DType, Scalar};

    fn axpy() -> Kernel {
        let mut k = Kernel::new();
        k.inputs = vec![DType::F32, DType::F32];
        let x = k.push(Op::Input(0), DType::F32);
        let y = k.push(Op::Input(1), DType::F32);
        let c = k.push(Op::Const(Scalar::F32(2.5)), DType::F32);
        let m = k.push(Op::Binary(BinaryOp::Mul, c, x), DType::F32);
        let s = k.push(Op::Binary(BinaryOp::Add, m, y), DType::F32);
        k.outputs.push(Output {
            value: s,
            reduce: None,
        });
        k
    }

    fn lay(strides: &[isize]) -> ArrayLayout<'_> {
        ArrayLayout {
            ptr: 64,
            strides,
            itemsize: 4,
        }
    }

    #[test]
    fn contiguous_elementwise_coalesces_to_one_loop() {
        let c = [48, 12, 4];
        let (nest, launch) = schedule(
            &axpy(),
            &[10, 4, 3],
            &[false; 3],
            &[lay(&c), lay(&c), lay(&c)],
        )
        .unwrap();
        assert_eq!(nest.rank, 1);
        assert_eq!(launch.shape, vec![120]);
        assert_eq!(nest.inner, vec![Inner::Contiguous; 3]);
    }

    #[test]
    fn bias_add_keeps_two_loops_and_transposes_are_strided() {
        let (x, b, o) = ([3072isize, 4], [0isize, 4], [3072isize, 4]);
        let (nest, launch) = schedule(
            &axpy(),
            &[4096, 768],
            &[false, false],
            &[lay(&x), lay(&b), lay(&o)],
        )
        .unwrap();
        assert_eq!(nest.rank, 2);
        assert_eq!(launch.strides[1], vec![0, 4]);
        let t = [4isize, 3072];
        let (nest, _) = schedule(
            &axpy(),
            &[768, 4096],
            &[false, false],
            &[lay(&t), lay(&t), lay(&[16384, 4])],
        )
        .unwrap();
        assert_eq!(
            nest.inner,
            vec![Inner::Strided, Inner::Strided, Inner::Contiguous]
        );
        // The same structure at other sizes has the same key.
        let (n2, _) = schedule(
            &axpy(),
            &[8, 3],
            &[false, false],
            &[lay(&[12, 4]), lay(&[0, 4]), lay(&[12, 4])],
        )
        .unwrap();
        let (n3, _) = schedule(
            &axpy(),
            &[4096, 768],
            &[false, false],
            &[lay(&x), lay(&b), lay(&o)],
        )
        .unwrap();
        assert_eq!(n2, n3);
    }

    #[test]
    fn reductions_put_reduced_axes_innermost() {
        let mut k = Kernel::new();
        k.inputs = vec![DType::F32];
        let x = k.push(Op::Input(0), DType::F32);
        k.outputs.push(Output {
            value: x,
            reduce: Some(ReduceOp::Sum),
        });
        // Sum over axis 0 of a (5, 7) C matrix: axis 0 moves inside.
        let (nest, launch) =
            schedule(&k, &[5, 7], &[true, false], &[lay(&[28, 4]), lay(&[0, 4])]).unwrap();
        assert_eq!((nest.rank, nest.reduce_from), (2, 1));
        assert_eq!(launch.shape, vec![7, 5]);
        // Sum over everything of a contiguous 3-D array: one reduced loop.
        let (nest, launch) = schedule(
            &k,
            &[2, 3, 4],
            &[true; 3],
            &[lay(&[48, 16, 4]), lay(&[0, 0, 0])],
        )
        .unwrap();
        assert_eq!((nest.rank, nest.reduce_from), (1, 0));
        assert_eq!(launch.shape, vec![24]);
    }
}
