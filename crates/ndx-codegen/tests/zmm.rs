//! The 512-bit row code (`src/zmm.rs`) against the Cranelift code of the same nest and against
//! the reference evaluator: random float arithmetic kernels on rows of many lengths (partial
//! last vectors included), with inputs contiguous or broadcast along the row and values that
//! include zeros, infinities, NaNs and subnormals, bit for bit (a NaN's payload and sign
//! aside).

mod common;
mod reference;

use common::*;
use ndx_codegen::{row_code_available, RawArray};
use ndx_ir::kernel::{BinaryOp as B, Handle, ReduceOp as R, UnaryOp as U};
use ndx_ir::loops::{schedule, ArrayLayout};
use ndx_runtime::{DType, Scalar};

/// A small deterministic generator (the cases must be the same on every run).
struct Rng(u64);
impl Rng {
    /// A value: mostly ordinary, one in 8 special.
    fn value(&mut self) -> f64 {
        self.value_1_in(8)
    }
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
    /// A shape of rank 1 to 3: rows of one of `rows`' lengths, 1 to 4 of them per outer axis.
    fn shape(&mut self, rows: &[usize]) -> Vec<usize> {
        let rank = 1 + self.pick(3);
        let mut shape: Vec<usize> = (0..rank - 1).map(|_| 1 + self.pick(4)).collect();
        shape.push(rows[self.pick(rows.len())]);
        shape
    }
    /// How each of `n` inputs is laid out: full twice as often as each other way.
    fn layouts(&mut self, n: usize) -> Vec<Layout> {
        let ways = [
            Layout::Full,
            Layout::Full,
            Layout::PerRow,
            Layout::PerColumn,
            Layout::Scalar,
        ];
        (0..n).map(|_| ways[self.pick(ways.len())]).collect()
    }
    /// A value: mostly ordinary, one in `rare` special.
    fn value_1_in(&mut self, rare: usize) -> f64 {
        const SPECIAL: &[f64] = SPECIALS.split_at(10).0;
        match self.pick(rare) {
            0 => SPECIAL[self.pick(SPECIAL.len())],
            _ => (self.next() as f64 / (1u64 << 31) as f64 - 0.5) * 8.0,
        }
    }
}

/// How an input is laid out over the iteration space (rows along the last axis).
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// One element per point.
    Full,
    /// One element per row: broadcast along the row.
    PerRow,
    /// One element per column: broadcast over the rows.
    PerColumn,
    /// One element.
    Scalar,
}

/// Element strides of `layout` over `shape`.
fn strides(layout: Layout, shape: &[usize]) -> Vec<isize> {
    let r = shape.len();
    let mut s = c_strides(shape);
    match layout {
        Layout::Full => {}
        Layout::PerRow => {
            s = c_strides(&shape[..r - 1]);
            s.push(0);
        }
        Layout::PerColumn => {
            s = vec![0; r];
            s[r - 1] = 1;
        }
        Layout::Scalar => s = vec![0; r],
    }
    s
}

/// Elements `layout` needs over `shape`.
fn len(layout: Layout, shape: &[usize]) -> usize {
    let r = shape.len();
    match layout {
        Layout::Full => shape.iter().product(),
        Layout::PerRow => shape[..r - 1].iter().product(),
        Layout::PerColumn => shape[r - 1],
        Layout::Scalar => 1,
    }
}

/// A random kernel of arithmetic on `inputs` inputs of dtype `d`, with one or two outputs,
/// each reduced over the last axis by `reduce`, if any.
/// The comparisons.
const CMP: [B; 6] = [B::Eq, B::Ne, B::Lt, B::Le, B::Gt, B::Ge];

/// A random kernel of `inputs` inputs of dtype `d`, its outputs reduced by `reduce`; with
/// `count`, each output is `sum(i64(mask))` of a mask of its value (NumPy's `sum(x > t)`).
fn kernel(rng: &mut Rng, d: DType, inputs: usize, reduce: Option<R>, count: bool) -> K {
    let mut k = K::new();
    let mut vals: Vec<Handle> = (0..inputs).map(|_| k.input(d)).collect();
    let c = |v: f64| match d {
        DType::F32 => Scalar::F32(v as f32),
        _ => Scalar::F64(v),
    };
    for _ in 0..1 + rng.pick(8) {
        let a = vals[rng.pick(vals.len())];
        let b = vals[rng.pick(vals.len())];
        let h = match rng.pick(13) {
            0 => k.un(U::Neg, a),
            1 => k.un(U::Abs, a),
            2 => k.un(U::Sqrt, a),
            3 => {
                let v = rng.value();
                k.c(c(v))
            }
            4 => k.bin(B::Add, a, b),
            8 => k.bin(B::Min, a, b),
            11 => {
                // `where` of a comparison, perhaps combined with another or negated.
                let m = k.bin(CMP[rng.pick(6)], a, b);
                let m = match rng.pick(4) {
                    0 => k.un(U::Not, m),
                    1 => {
                        let m2 = k.bin(CMP[rng.pick(6)], b, a);
                        k.bin(B::BitAnd, m, m2)
                    }
                    2 => {
                        let m2 = k.bin(CMP[rng.pick(6)], a, a);
                        k.bin([B::BitOr, B::BitXor][rng.pick(2)], m, m2)
                    }
                    _ => m,
                };
                let x = vals[rng.pick(vals.len())];
                let y = vals[rng.pick(vals.len())];
                k.select(m, x, y)
            }
            10 => {
                // A power the code multiplies out (and 2.5, which it does not).
                let e = [0.0, 1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 2.5][rng.pick(8)];
                let e = k.c(c(e));
                k.bin(B::Pow, a, e)
            }
            9 => k.bin(B::Max, a, b),
            5 => k.bin(B::Sub, a, b),
            6 => k.bin(B::Mul, a, b),
            _ => k.bin(B::Div, a, b),
        };
        vals.push(h);
    }
    let out = |k: &mut K, rng: &mut Rng, v| match reduce {
        Some(R::Sum) if count => {
            let t = k.c(c(rng.value()));
            let m = k.bin(CMP[rng.pick(6)], v, t);
            let n = k.cast(m, DType::I64);
            k.reduce(n, R::Sum)
        }
        Some(r @ (R::Any | R::All)) => {
            // A mask: the value compared with a constant.
            let t = k.c(c(rng.value()));
            let m = k.bin(CMP[rng.pick(6)], v, t);
            k.reduce(m, r)
        }
        Some(r) => k.reduce(v, r),
        None => k.out(v),
    };
    let last = *vals.last().expect("a value");
    out(&mut k, rng, last);
    if rng.pick(3) == 0 {
        let v = vals[rng.pick(vals.len())];
        out(&mut k, rng, v);
    }
    k
}

/// The values of a `d` buffer, as raw bits (NaNs compare by their bits too).
fn bits(v: &[f64], d: DType) -> Vec<u64> {
    match d {
        DType::F32 => v.iter().map(|x| u64::from((*x as f32).to_bits())).collect(),
        DType::I64 | DType::Bool => v.iter().map(|x| *x as i64 as u64).collect(),
        _ => v.iter().map(|x| x.to_bits()).collect(),
    }
}

/// A buffer of `n` values of dtype `d` (f32 stored as f32; i64 for the indices of `argmax`).
enum Buf {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

impl Buf {
    fn new(d: DType, vals: Vec<f64>) -> Buf {
        match d {
            DType::F32 => Buf::F32(vals.iter().map(|&v| v as f32).collect()),
            DType::I64 => Buf::I64(vals.iter().map(|&v| v as i64).collect()),
            DType::Bool => Buf::Bool(vals.iter().map(|&v| v != 0.0).collect()),
            _ => Buf::F64(vals),
        }
    }
    fn raw(&mut self, d: DType, s: &[isize]) -> RawArray {
        match self {
            Buf::F32(v) => raw_mut(v, d, s),
            Buf::F64(v) => raw_mut(v, d, s),
            Buf::I64(v) => raw_mut(v, d, s),
            Buf::Bool(v) => raw_mut(v, d, s),
        }
    }
    /// The index of the first element at a 64-byte boundary.
    fn aligned_at(&self) -> usize {
        match self {
            Buf::F32(v) => v.as_ptr().align_offset(64),
            Buf::F64(v) => v.as_ptr().align_offset(64),
            Buf::I64(v) => v.as_ptr().align_offset(64),
            Buf::Bool(v) => v.as_ptr().align_offset(64),
        }
    }
    fn values(&self) -> Vec<f64> {
        match self {
            Buf::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Buf::F64(v) => v.clone(),
            Buf::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Buf::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        }
    }
}

/// The scheduler's view of `arrays`.
fn layout(arrays: &[RawArray]) -> Vec<ArrayLayout<'_>> {
    arrays
        .iter()
        .map(|a| ArrayLayout {
            ptr: a.ptr,
            strides: &a.strides,
            itemsize: a.dtype.size(),
        })
        .collect()
}

fn scalar_bits(s: Scalar) -> u64 {
    match s {
        Scalar::F32(v) => u64::from(v.to_bits()),
        Scalar::F64(v) => v.to_bits(),
        Scalar::I64(v) => v as u64,
        Scalar::Bool(v) => u64::from(v),
        other => panic!("not a float, an index or a bool: {other:?}"),
    }
}

#[test]
fn row_code_gives_the_cranelift_codes_bits() {
    // (The row code runs from rows of 1 here: `Compiled::rows_from`.)
    const ROWS: [usize; 12] = [3, 8, 9, 15, 17, 33, 64, 65, 100, 129, 255, 1000];
    let mut jit = jit();
    let mut rng = Rng(7);
    let (mut with_rows, mut cases, mut sums_with_rows, mut finite_sums) = (0, 0, 0, 0);
    let (mut args_with_rows, mut bools_with_rows, mut counts_with_rows) = (0, 0, 0);
    let mut streamed_cases = 0;
    for case in 0..400 {
        let d = if case % 2 == 0 {
            DType::F32
        } else {
            DType::F64
        };
        let shape = rng.shape(&ROWS);
        let rank = shape.len();
        let ninputs = 1 + rng.pick(4);
        // A third of the cases reduce each row (the inner axis): sum, max, min, argmax or
        // argmin.
        let sums = case % 3 == 2;
        let reduce = sums.then(|| {
            [
                R::Sum,
                R::Sum,
                R::Max,
                R::Min,
                R::ArgMax,
                R::ArgMin,
                R::Any,
                R::All,
                R::Sum,
            ][rng.pick(9)]
        });
        // (The last `Sum` of the list: a count of a mask.)
        let count = sums && reduce == Some(R::Sum) && rng.pick(3) == 0;
        let arg = matches!(reduce, Some(R::ArgMax | R::ArgMin));
        let bools = matches!(reduce, Some(R::Any | R::All));
        let minmax = matches!(reduce, Some(R::Max | R::Min));
        // (The outputs' dtype: indices for `argmax` and `argmin`.)
        let od = match reduce {
            Some(R::ArgMax | R::ArgMin) => DType::I64,
            Some(R::Sum) if count => DType::I64,
            Some(R::Any | R::All) => DType::Bool,
            _ => d,
        };
        let k = kernel(&mut rng, d, ninputs, reduce, count);
        let has = |ops: &[B]| {
            k.0.nodes
                .iter()
                .any(|n| matches!(n.op, ndx_ir::kernel::Op::Binary(op, ..) if ops.contains(&op)))
        };
        // (Powers: multiplied out, or the math library's `pow`, against libm's in the
        // evaluator; `tests/vmath.rs` checks their accuracy.)
        // (An index is exact, whatever order the values are compared in.)
        let exact = (!sums || arg || bools || count) && !has(&[B::Pow]);
        let layouts = rng.layouts(ninputs);
        let mut ins: Vec<Buf> = layouts
            .iter()
            .map(|&l| {
                // (Sums of rows with a special value would mostly be NaN or infinite.)
                let rare = if sums && !arg && !minmax && !bools && !count {
                    2000
                } else {
                    8
                };
                Buf::new(
                    d,
                    (0..len(l, &shape)).map(|_| rng.value_1_in(rare)).collect(),
                )
            })
            .collect();
        let cols = shape[rank - 1];
        let n: usize = shape.iter().product::<usize>() / if sums { cols } else { 1 };
        let nout = k.0.outputs.len();
        let mut arrays: Vec<RawArray> = ins
            .iter_mut()
            .zip(&layouts)
            .map(|(b, &l)| b.raw(d, &strides(l, &shape)))
            .collect();
        let mut outs: Vec<[Buf; 2]> = (0..nout)
            .map(|_| [Buf::new(od, vec![7.0; n]), Buf::new(od, vec![7.0; n])])
            .collect();
        let full = if sums {
            strides(Layout::PerRow, &shape)
        } else {
            c_strides(&shape)
        };
        for o in outs.iter_mut() {
            arrays.push(o[0].raw(od, &full));
        }
        let layout = layout(&arrays);
        let mut reduced = vec![false; rank];
        reduced[rank - 1] = sums;
        let (nest, mut launch) = schedule(&k.0, &shape, &reduced, &layout).expect("schedule");
        let compiled = jit.compile(&nest).expect("compile").rows_from(1);
        cases += 1;
        let rows_run = compiled.row_lanes().is_some();
        with_rows += usize::from(rows_run);
        sums_with_rows += usize::from(rows_run && sums);
        // SAFETY (both calls): the launch's pointers and strides address the buffers above.
        assert_eq!(unsafe { compiled.call(&launch.words()) }, 0);
        for (o, bufs) in outs.iter_mut().enumerate() {
            let r = bufs[1].raw(od, &full);
            launch.ptrs[ninputs + o] = r.ptr;
        }
        assert_eq!(unsafe { compiled.without_rows().call(&launch.words()) }, 0);
        // Elementwise: once more with streaming stores (`Compiled::streams_from`), into
        // outputs that start 64-byte aligned; the launch takes them where its rows are
        // aligned too, and gives the plain row code's bits.
        let mut streamed: Vec<(Buf, usize)> = Vec::new();
        if !sums && rows_run {
            let compiled = compiled.streams_from(1);
            for o in 0..nout {
                let mut b = Buf::new(od, vec![7.0; n + 16]);
                let at = b.aligned_at();
                launch.ptrs[ninputs + o] = b.raw(od, &full).ptr + at * od.size();
                streamed.push((b, at));
            }
            let words = launch.words();
            streamed_cases += usize::from(compiled.streams(&words));
            // SAFETY: the launch addresses the buffers above.
            assert_eq!(unsafe { compiled.call(&words) }, 0);
        }
        let expected = reference::evaluate(&k.0, &shape, &reduced, &arrays[..ninputs + nout]);
        for (o, bufs) in outs.iter().enumerate() {
            if sums && !arg && rows_run {
                finite_sums += bufs[0].values().iter().filter(|v| v.is_finite()).count();
            }
            args_with_rows += usize::from(arg && rows_run);
            bools_with_rows += usize::from(bools && rows_run);
            counts_with_rows += usize::from(count && rows_run);
            let (a, b) = (bits(&bufs[0].values(), od), bits(&bufs[1].values(), od));
            if let Some((buf, at)) = streamed.get(o) {
                let c = bits(&buf.values(), od);
                let untouched = bits(&[7.0], od)[0];
                for (i, &x) in c.iter().enumerate() {
                    let want = if (*at..at + n).contains(&i) {
                        a[i - at]
                    } else {
                        untouched
                    };
                    assert_eq!(
                        x, want,
                        "case {case}: output {o} at {i} (from {at}), streamed; {:?} over {shape:?}",
                        k.0
                    );
                }
            }
            let want: Vec<u64> = expected[o].iter().map(|&s| scalar_bits(s)).collect();
            let is_nan = |x: u64| match od {
                DType::F32 => f32::from_bits(x as u32).is_nan(),
                DType::I64 | DType::Bool => false,
                _ => f64::from_bits(x).is_nan(),
            };
            for i in 0..n {
                // Against the Cranelift code, every bit (a NaN's sign too); against the
                // evaluator, NaN for NaN (the evaluator's scalar NaNs may differ in sign).
                // (Sums: the evaluator adds in another order; `tests/differential.rs`
                // compares the Cranelift code with it. Powers: see above.)
                // NaN for NaN: which payload and sign a NaN has is not part of the contract,
                // and it differs where the Cranelift code's scalar tail meets two NaNs in
                // `minimum`/`maximum` (its vectors keep the second's, the tail the first's)
                // and where its optimiser rewrites `-x * -x` as `x * x`.
                // `max` and `min` of a row combine four vectors' accumulators at the end of
                // the row code: which of `0.0` and `-0.0` wins may differ too.
                let zeros = |x: u64| bits(&[0.0], od)[0] == x || bits(&[-0.0], od)[0] == x;
                let either_zero = minmax && zeros(a[i]) && zeros(b[i]);
                let same = a[i] == b[i] || is_nan(a[i]) && is_nan(b[i]) || either_zero;
                assert!(
                    same && (!exact || a[i] == want[i] || is_nan(a[i]) && is_nan(want[i])),
                    "case {case}: output {o} at {i}: row code {:#x}, Cranelift {:#x}, \
                     evaluator {:#x}; {:?} over {shape:?}, inputs {layouts:?}",
                    a[i],
                    b[i],
                    want[i],
                    k.0
                );
            }
        }
    }
    // Every nest the row code takes assembles (a failure would fall back to Cranelift
    // silently: the sixth session's row ends failed so for scalars in xmm16-31).
    assert_eq!(jit.stats().row_code_errors, 0);
    if row_code_available() {
        // Most cases must have run the row code, or this test checks nothing.
        assert!(
            with_rows * 10 >= cases * 9,
            "{with_rows} of {cases} cases ran the 512-bit row code"
        );
        assert!(
            sums_with_rows * 10 >= cases * 9 / 3 && finite_sums >= 200,
            "{sums_with_rows} cases summed rows with the row code, {finite_sums} finite sums"
        );
        assert!(
            args_with_rows >= 20,
            "{args_with_rows} outputs of argmax or argmin came from the row code"
        );
        assert!(
            bools_with_rows >= 20,
            "{bools_with_rows} outputs of any or all came from the row code"
        );
        assert!(
            counts_with_rows >= 8,
            "{counts_with_rows} counts of masks came from the row code"
        );
        assert!(
            streamed_cases >= 100,
            "{streamed_cases} elementwise cases took the streaming stores"
        );
    }
}

/// The special values of the tests below (the first ten are also [`Rng::value`]'s).
const SPECIALS: [f64; 12] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1e-310,
    -1e-40,
    3.0e38,
    -1.0,
    1.0,
    -2.5,
    0.75,
];

/// Runs `k` (two inputs of dtype `d`, C-contiguous over `shape`; one output of `n_out`
/// elements at element strides `out`) with the row code and with the Cranelift code alone,
/// and asserts that both give the same bits (NaN for NaN); `what(i)` names element `i`.
#[allow(clippy::too_many_arguments)]
fn same_both_ways(
    jit: &mut ndx_codegen::Jit,
    k: &K,
    d: DType,
    shape: &[usize],
    reduced: &[bool],
    ins: [&[f64]; 2],
    out: &[isize],
    n_out: usize,
    what: &dyn Fn(usize) -> String,
) {
    let s = c_strides(shape);
    let od = k.0.outputs[0].dtype(&k.0);
    let mut ins = ins.map(|v| Buf::new(d, v.to_vec()));
    let mut outs = [
        Buf::new(od, vec![7.0; n_out]),
        Buf::new(od, vec![7.0; n_out]),
    ];
    let mut arrays: Vec<RawArray> = ins.iter_mut().map(|b| b.raw(d, &s)).collect();
    arrays.push(outs[0].raw(od, out));
    let layout = layout(&arrays);
    let (nest, mut launch) = schedule(&k.0, shape, reduced, &layout).expect("schedule");
    let compiled = jit.compile(&nest).expect("compile").rows_from(1);
    assert_eq!(jit.stats().row_code_errors, 0, "{d}: {:?}", k.0);
    assert!(
        compiled.row_lanes().is_some() || !row_code_available(),
        "{d}: no row code for {:?}",
        k.0
    );
    // SAFETY (both calls): the launch addresses the buffers above.
    assert_eq!(unsafe { compiled.call(&launch.words()) }, 0);
    launch.ptrs[2] = outs[1].raw(od, out).ptr;
    assert_eq!(unsafe { compiled.without_rows().call(&launch.words()) }, 0);
    let (av, bv) = (outs[0].values(), outs[1].values());
    let (a, b) = (bits(&av, od), bits(&bv, od));
    // (`max` and `min` of rows long enough for steps of four vectors: which zero wins may
    // differ, see above.)
    let minmax = matches!(k.0.outputs[0].reduce, Some(R::Max | R::Min)) && shape[1] >= 64;
    for i in 0..n_out {
        assert!(
            a[i] == b[i]
                || av[i].is_nan() && bv[i].is_nan()
                || minmax && av[i] == 0.0 && bv[i] == 0.0,
            "{d}: {}: row code {:#x}, Cranelift {:#x}",
            what(i),
            a[i],
            b[i]
        );
    }
}

/// Each power the code multiplies out, and each operation, on every pair of special values,
/// row code against Cranelift code (the random kernels above meet a given special rarely).
#[test]
fn special_values_through_each_operation() {
    // Every pair of specials, as two rows of 72.
    let x: Vec<f64> = SPECIALS
        .iter()
        .flat_map(|&a| SPECIALS.iter().map(move |_| a))
        .collect();
    let y: Vec<f64> = SPECIALS
        .iter()
        .flat_map(|_| SPECIALS.iter().copied())
        .collect();
    let mut jit = jit();
    for d in [DType::F32, DType::F64] {
        let c = |v: f64| match d {
            DType::F32 => Scalar::F32(v as f32),
            _ => Scalar::F64(v),
        };
        let mut kernels: Vec<K> = Vec::new();
        let mut add = |f: &dyn Fn(&mut K, Handle, Handle) -> Handle| {
            let mut k = K::new();
            let a = k.input(d);
            let b = k.input(d);
            let v = f(&mut k, a, b);
            k.out(v);
            kernels.push(k);
        };
        for e in [0.0, 1.0, 2.0, 3.0, 4.0, -1.0, 0.5] {
            add(&|k, a, _| {
                let e = k.c(c(e));
                k.bin(B::Pow, a, e)
            });
        }
        for op in [B::Add, B::Sub, B::Mul, B::Div, B::Min, B::Max] {
            add(&|k, a, b| k.bin(op, a, b));
        }
        for op in [B::Eq, B::Ne, B::Lt, B::Le, B::Gt, B::Ge] {
            add(&|k, a, b| {
                let m = k.bin(op, a, b);
                k.select(m, a, b)
            });
        }
        for op in [U::Neg, U::Abs, U::Sqrt] {
            add(&|k, a, _| k.un(op, a));
        }
        let n = x.len();
        for k in &kernels {
            let what = |i: usize| format!("{:?} of ({}, {})", k.0.nodes.last(), x[i], y[i]);
            same_both_ways(
                &mut jit,
                k,
                d,
                &[2, n / 2],
                &[false, false],
                [&x, &y],
                &[(n / 2) as isize, 1],
                n,
                &what,
            );
        }
    }
}

/// [`same_both_ways`] for `k` reducing each of `rows` rows of `cols` elements.
fn same_for_rows(
    jit: &mut ndx_codegen::Jit,
    k: &K,
    d: DType,
    rows: usize,
    cols: usize,
    ins: [&[f64]; 2],
) {
    let what = |i: usize| format!("{:?} of row {i}", k.0.outputs[0].reduce);
    same_both_ways(
        jit,
        k,
        d,
        &[rows, cols],
        &[false, true],
        ins,
        &[1, 0],
        rows,
        &what,
    );
}

/// The kernel `r` of `x * y` (two inputs of dtype `d`) over the reduced axes.
fn reduce_product(d: DType, r: R) -> K {
    let mut k = K::new();
    let a = k.input(d);
    let b = k.input(d);
    let v = k.bin(B::Mul, a, b);
    k.reduce(v, r);
    k
}

/// `max`, `min`, `sum`, `argmax` and `argmin` of each row of `x * y` over every pair of special values (rows of 12:
/// one whole vector of `f64`, or a partial one of `f32`, then a tail), of rows holding one
/// special among ordinary values, and of rows of signed zeros, row code against Cranelift code.
#[test]
fn reductions_of_special_values() {
    let cols = 12;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for &a in &SPECIALS {
        x.extend(std::iter::repeat_n(a, cols));
        y.extend(SPECIALS);
    }
    // One special at each position of a row of ordinary values.
    for &sp in &SPECIALS {
        for pos in 0..=cols {
            for j in 0..cols {
                x.push(if j == pos { sp } else { 0.5 + j as f64 });
                y.push(if j % 3 == 0 { -1.0 } else { 1.0 });
            }
        }
    }
    // Rows of +0.0 and -0.0 only: which zero `max` and `min` give depends on the order of the
    // comparisons.
    for p in (0..4096).step_by(37) {
        for j in 0..cols {
            x.push(if p >> j & 1 == 1 { -0.0 } else { 0.0 });
            y.push(1.0);
        }
    }
    let rows = x.len() / cols;
    let mut jit = jit();
    for d in [DType::F32, DType::F64] {
        for r in [R::Max, R::Min, R::Sum, R::ArgMax, R::ArgMin] {
            let k = reduce_product(d, r);
            same_for_rows(&mut jit, &k, d, rows, cols, [&x, &y]);
        }
    }
}

/// `argmax` and `argmin` of rows long enough for every path of the row code (steps of four
/// vectors, single vectors, a partial one), each row holding ties, NaNs or infinities at two
/// positions among ordinary values: the row code and the Cranelift code both give NumPy's
/// index (the first best value; the first NaN, if any), computed here directly.
#[test]
fn argmax_and_argmin_give_the_first_best_index() {
    let cols = 203;
    let mut jit = jit();
    let positions = [0, 1, 16, 64, 127, 192, 202];
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        9.0,
        -9.0,
    ];
    let mut x = Vec::new();
    // Ordinary values in (-1, 1), (-4, -2) or (2, 4): 9 and -9 are the best, and so are the
    // zeros in rows of one sign (which the lanes past a row's end, zero, must not beat).
    for shift in [0.0, -3.0, 3.0] {
        for &a in &specials {
            for &b in &specials {
                for &p in &positions {
                    for &q in &positions {
                        for j in 0..cols {
                            let v = shift + ((j * 37 % 101) as f64 - 50.0) / 51.0;
                            x.push(if j == p {
                                a
                            } else if j == q {
                                b
                            } else {
                                v
                            });
                        }
                    }
                }
            }
        }
    }
    let rows = x.len() / cols;
    let ones = vec![1.0; x.len()];
    for d in [DType::F32, DType::F64] {
        for r in [R::ArgMax, R::ArgMin] {
            let k = reduce_product(d, r);
            same_for_rows(&mut jit, &k, d, rows, cols, [&x, &ones]);
            // The Cranelift code against NumPy's rule, row by row.
            let mut ins = [Buf::new(d, x.clone()), Buf::new(d, ones.clone())];
            let mut out = Buf::new(DType::I64, vec![-1.0; rows]);
            let s = c_strides(&[rows, cols]);
            let mut arrays: Vec<RawArray> = ins.iter_mut().map(|b| b.raw(d, &s)).collect();
            arrays.push(out.raw(DType::I64, &[1, 0]));
            let (nest, launch) =
                schedule(&k.0, &[rows, cols], &[false, true], &layout(&arrays)).expect("schedule");
            let compiled = jit.compile(&nest).expect("compile");
            // SAFETY: the launch addresses the buffers above.
            assert_eq!(unsafe { compiled.call(&launch.words()) }, 0);
            let got = out.values();
            let vals = ins[0].values();
            for (i, row) in vals.chunks(cols).enumerate() {
                let want = match row.iter().position(|v| v.is_nan()) {
                    Some(p) => p,
                    None => {
                        let better = |v: f64, w: f64| if r == R::ArgMax { v > w } else { v < w };
                        let mut best = 0;
                        for (j, &v) in row.iter().enumerate() {
                            if better(v, row[best]) {
                                best = j;
                            }
                        }
                        best
                    }
                };
                assert_eq!(got[i], want as f64, "{d}: {r:?} of row {i}: {row:?}");
            }
        }
    }
}

/// `any`, `all` and counts (`sum(x > t)`) of rows whose last vector is partial: the lanes past a row's end (whose
/// inputs read as zero) must not count. `any(x * y > -1)` of rows of -2 is false, though
/// `0 > -1`; `all(x * y != 0)` of rows of 1 is true, though `0 != 0` is not. Then each lane
/// of the last vector counts: rows whose one differing element is at each position.
#[test]
fn any_and_all_ignore_the_lanes_past_a_row() {
    let mut jit = jit();
    for cols in 2..=40 {
        let rows = cols;
        for d in [DType::F32, DType::F64] {
            let c = |v: f64| match d {
                DType::F32 => Scalar::F32(v as f32),
                _ => Scalar::F64(v),
            };
            for (r, cmp, t, fill, flip) in [
                (R::Any, B::Gt, -1.0, -2.0, 8.0),
                (R::All, B::Ne, 0.0, 1.0, 0.0),
                // (A count: `sum(i64(x * y > -1))`.)
                (R::Sum, B::Gt, -1.0, -2.0, 8.0),
            ] {
                let mut k = K::new();
                let a = k.input(d);
                let b = k.input(d);
                let v = k.bin(B::Mul, a, b);
                let t = k.c(c(t));
                let m = k.bin(cmp, v, t);
                if r == R::Sum {
                    let n = k.cast(m, DType::I64);
                    k.reduce(n, r);
                } else {
                    k.reduce(m, r);
                }
                let x = vec![fill; rows * cols];
                let y = vec![1.0; rows * cols];
                same_for_rows(&mut jit, &k, d, rows, cols, [&x, &y]);
                // Row `i`'s element `i` differs (8 > -1; 0 == 0): every row's answer flips.
                let x: Vec<f64> = (0..rows * cols)
                    .map(|e| if e / cols == e % cols { flip } else { fill })
                    .collect();
                same_for_rows(&mut jit, &k, d, rows, cols, [&x, &y]);
            }
        }
    }
}

/// Elementwise launches that write at least `STREAM_MIN` bytes store whole vectors with
/// streaming (non-temporal) stores where every output row starts 64-byte aligned, and with
/// plain stores where one does not (a streaming store there would fault). Either way each
/// element is `a * 2.5 + b` as IEEE arithmetic of the dtype gives it, and nothing past a row
/// is written.
#[test]
fn large_outputs_stream_where_their_rows_are_aligned() {
    streams_as_expected::<f32>(
        DType::F32,
        |v| v as f32,
        |a, b| a * 2.5 + b,
        |v| u64::from(v.to_bits()),
    );
    streams_as_expected::<f64>(DType::F64, |v| v, |a, b| a * 2.5 + b, f64::to_bits);
}

fn streams_as_expected<T: Copy>(d: DType, of: fn(f64) -> T, f: fn(T, T) -> T, bits: fn(T) -> u64) {
    let size = std::mem::size_of::<T>();
    let line = 64 / size;
    let n = ndx_codegen::STREAM_MIN / size + 37;
    // Rows of 4 KiB (a multiple of 64 bytes), as many as make `STREAM_MIN` bytes, and 16 more.
    let cols = 4096 / size;
    let rows = ndx_codegen::STREAM_MIN / 4096 + 16;
    let mut rng = Rng(11);
    let len = n.max(rows * cols);
    let a: Vec<T> = (0..len).map(|_| of(rng.value_1_in(50))).collect();
    let b: Vec<T> = (0..len).map(|_| of(rng.value_1_in(50))).collect();
    let mut k = K::new();
    let x = k.input(d);
    let y = k.input(d);
    let c = k.c(match d {
        DType::F32 => Scalar::F32(2.5),
        _ => Scalar::F64(2.5),
    });
    let m = k.bin(B::Mul, x, c);
    let s = k.bin(B::Add, m, y);
    k.out(s);
    let mut jit = jit();
    // (shape, the output's element strides, its offset past a 64-byte boundary, streams)
    let cases: [(Vec<usize>, Vec<isize>, usize, bool); 6] = [
        (vec![n], vec![1], 0, true),
        (vec![n], vec![1], 1, false),
        (vec![n / 2], vec![1], 0, false),
        (vec![rows, cols], vec![cols as isize, 1], 0, true),
        // Padded rows: each starts aligned, three elements short of the next.
        (vec![rows, cols - 3], vec![cols as isize, 1], 0, true),
        // Padded rows that start one element short of a 64-byte multiple apart (a
        // contiguous output would be one long row).
        (vec![rows, cols - 3], vec![cols as isize - 2, 1], 0, false),
    ];
    for (shape, strides, off, streams) in cases {
        let mut out: Vec<T> = vec![of(7.0); len + 2 * line];
        let start = out.as_ptr().align_offset(64) + off;
        let ins = c_strides(&shape);
        let arrays = vec![
            raw(&a, d, &ins),
            raw(&b, d, &ins),
            raw_at_mut(&mut out, start, d, &strides),
        ];
        let layout = layout(&arrays);
        let reduced = vec![false; shape.len()];
        let (nest, launch) = schedule(&k.0, &shape, &reduced, &layout).expect("schedule");
        let compiled = jit.compile(&nest).expect("compile");
        let words = launch.words();
        assert_eq!(
            compiled.streams(&words),
            streams && row_code_available(),
            "{d} {shape:?} at strides {strides:?}, offset {off}"
        );
        // SAFETY: the launch addresses the buffers above.
        assert_eq!(unsafe { compiled.call(&words) }, 0);
        let (r, w) = match shape[..] {
            [n] => (1, n),
            [r, w] => (r, w),
            _ => unreachable!(),
        };
        let mut written = vec![false; out.len()];
        for i in 0..r {
            for j in 0..w {
                let at = start + i * strides[0] as usize * (shape.len() - 1) + j;
                let (got, want) = (out[at], f(a[i * w + j], b[i * w + j]));
                let nan = |v: T| {
                    let b = bits(v);
                    if size == 4 {
                        b & 0x7fff_ffff > 0x7f80_0000
                    } else {
                        b & (u64::MAX >> 1) > 0x7ff0_0000_0000_0000
                    }
                };
                assert!(
                    bits(got) == bits(want) || nan(got) && nan(want),
                    "{d} {shape:?}, offset {off}: element ({i}, {j}) {:#x}, want {:#x}",
                    bits(got),
                    bits(want)
                );
                written[at] = true;
            }
        }
        let untouched = bits(of(7.0));
        for (at, v) in out.iter().enumerate() {
            assert!(
                written[at] || bits(*v) == untouched,
                "{d} {shape:?}, offset {off}: element {at} was written"
            );
        }
    }
}

/// A random kernel of `i32` or `i64` arithmetic (wrapping `+ - *`, `minimum`, `maximum`,
/// `-x`, `abs`, `& | ^`) and `where` of comparisons, on `inputs` inputs; its outputs reduce
/// the rows by `reduce`, if any.
fn int_kernel(rng: &mut Rng, d: DType, inputs: usize, reduce: Option<R>) -> K {
    let mut k = K::new();
    let mut vals: Vec<Handle> = (0..inputs).map(|_| k.input(d)).collect();
    for _ in 0..1 + rng.pick(8) {
        let a = vals[rng.pick(vals.len())];
        let b = vals[rng.pick(vals.len())];
        let h = match rng.pick(12) {
            0 => k.un(U::Neg, a),
            1 => k.un(U::Abs, a),
            2 => {
                let v = int_value(rng) as i64;
                k.c(match d {
                    DType::I32 => Scalar::I32(v as i32),
                    _ => Scalar::I64(v),
                })
            }
            3 => k.bin(B::Add, a, b),
            4 => k.bin(B::Sub, a, b),
            5 => k.bin(B::Mul, a, b),
            6 => k.bin(B::Min, a, b),
            7 => k.bin(B::Max, a, b),
            8 => k.bin([B::BitAnd, B::BitOr, B::BitXor][rng.pick(3)], a, b),
            _ => {
                let m = k.bin(CMP[rng.pick(6)], a, b);
                let m = match rng.pick(3) {
                    0 => k.un(U::Not, m),
                    1 => {
                        let m2 = k.bin(CMP[rng.pick(6)], b, a);
                        k.bin([B::BitAnd, B::BitOr, B::BitXor][rng.pick(3)], m, m2)
                    }
                    _ => m,
                };
                let x = vals[rng.pick(vals.len())];
                let y = vals[rng.pick(vals.len())];
                k.select(m, x, y)
            }
        };
        vals.push(h);
    }
    let out = |k: &mut K, v| match reduce {
        Some(r) => k.reduce(v, r),
        None => k.out(v),
    };
    let last = *vals.last().expect("a value");
    out(&mut k, last);
    if rng.pick(3) == 0 {
        let v = vals[rng.pick(vals.len())];
        out(&mut k, v);
    }
    k
}

/// An integer: mostly small, one in 6 an extreme (the minimum and maximum of `i64`, which
/// `i32` truncates to 0 and -1, of `i32`, 0, 1, -1).
fn int_value(rng: &mut Rng) -> i128 {
    const EXTREME: [i128; 7] = [
        i64::MIN as i128,
        i64::MAX as i128,
        i32::MIN as i128,
        i32::MAX as i128,
        0,
        1,
        -1,
    ];
    match rng.pick(6) {
        0 => EXTREME[rng.pick(EXTREME.len())],
        1 => (rng.next() as i128) << 31 ^ rng.next() as i128,
        _ => rng.pick(2001) as i128 - 1000,
    }
}

/// Integer kernels (`i32` and `i64`, wrapping arithmetic), elementwise or reducing each row by
/// `sum`, `max` or `min`, take the row code and give the Cranelift code's values and the
/// evaluator's, exactly, on rows of many lengths with inputs full, per row, per column or
/// scalar.
#[test]
fn integer_row_code_gives_the_cranelift_codes_values() {
    const ROWS: [usize; 8] = [3, 8, 9, 17, 64, 65, 129, 1000];
    let mut jit = jit();
    let mut rng = Rng(17);
    let (mut cases, mut with_rows, mut reduced_with_rows) = (0, 0, 0);
    for case in 0..450 {
        let d = [DType::I32, DType::I64][case % 2];
        let shape = rng.shape(&ROWS);
        let rank = shape.len();
        let ninputs = 1 + rng.pick(4);
        // A third of the cases reduce each row.
        let reduce = (case % 3 == 2).then(|| [R::Sum, R::Max, R::Min][rng.pick(3)]);
        let k = int_kernel(&mut rng, d, ninputs, reduce);
        let layouts = rng.layouts(ninputs);
        let cols = shape[rank - 1];
        let n: usize = shape.iter().product::<usize>() / if reduce.is_some() { cols } else { 1 };
        let nout = k.0.outputs.len();
        // The values drawn as `i64`; the `i32` arrays hold them wrapped.
        let ins: Vec<Vec<i64>> = layouts
            .iter()
            .map(|&l| {
                (0..len(l, &shape))
                    .map(|_| int_value(&mut rng) as i64)
                    .collect()
            })
            .collect();
        let ins32: Vec<Vec<i32>> = ins
            .iter()
            .map(|v| v.iter().map(|&x| x as i32).collect())
            .collect();
        let mut outs64: Vec<[Vec<i64>; 2]> = (0..nout).map(|_| [vec![7; n], vec![7; n]]).collect();
        let mut outs32: Vec<[Vec<i32>; 2]> = (0..nout).map(|_| [vec![7; n], vec![7; n]]).collect();
        let full = if reduce.is_some() {
            strides(Layout::PerRow, &shape)
        } else {
            c_strides(&shape)
        };
        let mut arrays: Vec<RawArray> = layouts
            .iter()
            .enumerate()
            .map(|(i, &l)| match d {
                DType::I32 => raw(&ins32[i], d, &strides(l, &shape)),
                _ => raw(&ins[i], d, &strides(l, &shape)),
            })
            .collect();
        for o in 0..nout {
            arrays.push(match d {
                DType::I32 => raw_mut(&mut outs32[o][0], d, &full),
                _ => raw_mut(&mut outs64[o][0], d, &full),
            });
        }
        let mut reduced = vec![false; rank];
        reduced[rank - 1] = reduce.is_some();
        let (nest, mut launch) =
            schedule(&k.0, &shape, &reduced, &layout(&arrays)).expect("schedule");
        let compiled = jit.compile(&nest).expect("compile").rows_from(1);
        cases += 1;
        with_rows += usize::from(compiled.row_lanes().is_some());
        reduced_with_rows += usize::from(compiled.row_lanes().is_some() && reduce.is_some());
        // SAFETY (both calls): the launch's pointers and strides address the buffers above.
        assert_eq!(unsafe { compiled.call(&launch.words()) }, 0);
        for o in 0..nout {
            launch.ptrs[ninputs + o] = match d {
                DType::I32 => outs32[o][1].as_mut_ptr() as usize,
                _ => outs64[o][1].as_mut_ptr() as usize,
            };
        }
        assert_eq!(unsafe { compiled.without_rows().call(&launch.words()) }, 0);
        let expected = reference::evaluate(&k.0, &shape, &reduced, &arrays);
        for o in 0..nout {
            let (a, b): (Vec<i64>, Vec<i64>) = match d {
                DType::I32 => (
                    outs32[o][0].iter().map(|&x| i64::from(x)).collect(),
                    outs32[o][1].iter().map(|&x| i64::from(x)).collect(),
                ),
                _ => (outs64[o][0].clone(), outs64[o][1].clone()),
            };
            for i in 0..n {
                let want = match expected[o][i] {
                    Scalar::I32(v) => i64::from(v),
                    Scalar::I64(v) => v,
                    s => panic!("case {case}: an integer kernel gave {s:?}"),
                };
                assert!(
                    a[i] == b[i] && a[i] == want,
                    "case {case}: output {o} at {i}: row code {}, Cranelift {}, evaluator {want}; \
                     {:?} over {shape:?}, inputs {layouts:?}",
                    a[i],
                    b[i],
                    k.0
                );
            }
        }
    }
    assert_eq!(jit.stats().row_code_errors, 0);
    if row_code_available() {
        // (`i64` products need AVX-512DQ.)
        assert!(
            with_rows * 10 >= cases * 7,
            "{with_rows} of {cases} integer cases ran the 512-bit row code"
        );
        assert!(
            reduced_with_rows * 10 >= cases * 2,
            "{reduced_with_rows} of {cases} integer cases reduced rows in the row code"
        );
    }
}

/// Inputs of the half-width dtype that a nest only widens (`f64(x)` of `f32`, `i64(x)` of
/// `i32`) load 8 elements at a time and convert as they load: elementwise kernels of both
/// kinds, and integer sums, maxima and minima along rows, give the Cranelift code's values
/// and the evaluator's exactly, on rows of many lengths, the narrow input full, per row or
/// scalar.
#[test]
fn widened_inputs_convert_as_they_load() {
    const ROWS: [usize; 7] = [3, 8, 9, 17, 64, 129, 1000];
    let mut jit = jit();
    let mut rng = Rng(23);
    let mut with_rows = 0;
    let mut cases = 0;
    for case in 0..120 {
        let (wide, half) = [(DType::F64, DType::F32), (DType::I64, DType::I32)][case % 2];
        let reduce = match (wide, case % 3) {
            (DType::I64, 2) => Some([R::Sum, R::Max, R::Min][rng.pick(3)]),
            _ => None,
        };
        let mut k = K::new();
        let a = k.input(half);
        let b = k.input(wide);
        let wa = k.cast(a, wide);
        let v = match rng.pick(3) {
            0 => k.bin(B::Mul, wa, b),
            1 => {
                let s = k.bin(B::Sub, b, wa);
                k.bin(B::Max, s, wa)
            }
            _ => {
                let m = k.bin(B::Lt, wa, b);
                k.select(m, wa, b)
            }
        };
        match reduce {
            Some(r) => k.reduce(v, r),
            None => k.out(v),
        }
        let shape = rng.shape(&ROWS);
        let rank = shape.len();
        let la = [Layout::Full, Layout::PerRow, Layout::Scalar][rng.pick(3)];
        let lb = [Layout::Full, Layout::PerColumn][rng.pick(2)];
        let int = wide == DType::I64;
        let draw = |rng: &mut Rng| {
            if int {
                int_value(rng) as i64 as f64
            } else {
                rng.value()
            }
        };
        let av: Vec<f64> = (0..len(la, &shape)).map(|_| draw(&mut rng)).collect();
        let bv: Vec<f64> = (0..len(lb, &shape)).map(|_| draw(&mut rng)).collect();
        // (The values travel as `f64`; the buffers hold them converted, and the evaluator
        // reads the buffers.)
        let a32f: Vec<f32> = av.iter().map(|&x| x as f32).collect();
        let a32i: Vec<i32> = av.iter().map(|&x| x as i64 as i32).collect();
        let b64f = bv.clone();
        let b64i: Vec<i64> = bv.iter().map(|&x| x as i64).collect();
        let cols = shape[rank - 1];
        let n: usize = shape.iter().product::<usize>() / if reduce.is_some() { cols } else { 1 };
        let full = if reduce.is_some() {
            strides(Layout::PerRow, &shape)
        } else {
            c_strides(&shape)
        };
        let mut outf = [vec![7f64; n], vec![7f64; n]];
        let mut outi = [vec![7i64; n], vec![7i64; n]];
        let (sa, sb) = (strides(la, &shape), strides(lb, &shape));
        let mut arrays = if int {
            vec![raw(&a32i, half, &sa), raw(&b64i, wide, &sb)]
        } else {
            vec![raw(&a32f, half, &sa), raw(&b64f, wide, &sb)]
        };
        arrays.push(if int {
            raw_mut(&mut outi[0], wide, &full)
        } else {
            raw_mut(&mut outf[0], wide, &full)
        });
        let mut reduced = vec![false; rank];
        reduced[rank - 1] = reduce.is_some();
        let (nest, mut launch) =
            schedule(&k.0, &shape, &reduced, &layout(&arrays)).expect("schedule");
        let compiled = jit.compile(&nest).expect("compile").rows_from(1);
        cases += 1;
        with_rows += usize::from(compiled.row_lanes().is_some());
        // SAFETY (both calls): the launch addresses the buffers above.
        assert_eq!(unsafe { compiled.call(&launch.words()) }, 0);
        launch.ptrs[2] = if int {
            outi[1].as_mut_ptr() as usize
        } else {
            outf[1].as_mut_ptr() as usize
        };
        assert_eq!(unsafe { compiled.without_rows().call(&launch.words()) }, 0);
        let expected = reference::evaluate(&k.0, &shape, &reduced, &arrays);
        for i in 0..n {
            let (got, cranelift, want) = if int {
                let want = match expected[0][i] {
                    Scalar::I64(v) => v as u64,
                    s => panic!("case {case}: {s:?}"),
                };
                (outi[0][i] as u64, outi[1][i] as u64, want)
            } else {
                (
                    outf[0][i].to_bits(),
                    outf[1][i].to_bits(),
                    scalar_bits(expected[0][i]),
                )
            };
            let nan = |x: u64| !int && f64::from_bits(x).is_nan();
            // (For floats the Cranelift code of a nest with a conversion is scalar: where two
            // NaNs meet in `maximum` its NaN may be the other one.)
            assert!(
                (got == cranelift || nan(got) && nan(cranelift))
                    && (got == want || nan(got) && nan(want)),
                "case {case}: at {i}: row code {got:#x}, Cranelift {cranelift:#x}, evaluator \
                 {want:#x}; {:?} over {shape:?}, a {la:?}, b {lb:?}",
                k.0
            );
        }
    }
    assert_eq!(jit.stats().row_code_errors, 0);
    if row_code_available() {
        assert!(
            with_rows * 10 >= cases * 9,
            "{with_rows} of {cases} cases with a widened input ran the row code"
        );
    }
}
