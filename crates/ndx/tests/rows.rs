//! Row programs (a keepdims reduction over the last axis fused with its consumers, run block
//! of rows by block of rows): bit for bit what the unfused statements compute, close to a
//! reference built from `ndx_ir::eval`'s scalar operations, and visible in `explain`.

use ndx::{Scalar, Session, TextOptions};
use ndx_codegen::row_code_available;
use ndx_ir::eval::{binary, unary};
use ndx_ir::kernel::{BinaryOp, UnaryOp};
use proptest::prelude::*;

const FNS: &str = "
fn softmax(x) {
    let e = exp(x - max(x, axis=-1, keepdims=true))
    e / sum(e, axis=-1, keepdims=true)
}
fn layernorm(x, g, b) {
    let mu = mean(x, axis=-1, keepdims=true)
    let var = mean((x - mu) * (x - mu), axis=-1, keepdims=true)
    (x - mu) / sqrt(var + 1e-5) * g + b
}
";

/// The same values as `FNS`, one materialised statement at a time (nothing to row-fuse).
const UNFUSED: &str = "
let m = max(x, axis=-1, keepdims=true)
let e = exp(x - m)
let s = sum(e, axis=-1, keepdims=true)
let ref_soft = e / s
let mu = mean(x, axis=-1, keepdims=true)
let var = mean((x - mu) * (x - mu), axis=-1, keepdims=true)
let ref_ln = (x - mu) / sqrt(var + 1e-5) * g + b
";

fn bits(s: &Session, name: &str) -> Vec<u32> {
    let v = s.get(name).unwrap().to_vec::<f32>().unwrap();
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs softmax and layernorm on `x` of `shape` (f32) fused and unfused; returns both sessions'
/// values: (fused softmax, unfused softmax, fused layernorm, unfused layernorm).
fn both(shape: &[usize], data: &[f32], threads: usize) -> Session {
    let mut s = Session::new();
    let x = ndx::Array::from_vec(data.to_vec(), shape).unwrap();
    let last = *shape.last().unwrap();
    let g: Vec<f32> = (0..last).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
    let b: Vec<f32> = (0..last).map(|i| (i % 5) as f32 - 2.0).collect();
    s.set("x", x);
    s.set("g", ndx::Array::from_vec(g, &[last]).unwrap());
    s.set("b", ndx::Array::from_vec(b, &[last]).unwrap());
    s.run(&format!("threads({threads})\n{FNS}\nlet soft = softmax(x)\nlet ln = layernorm(x, g, b)\nlet inplace = x + 0.0\ninplace[...] = softmax(inplace)\n{UNFUSED}"))
        .unwrap();
    s
}

/// Softmax of each row of `data` (rows of `n`) with `ndx_ir::eval`'s f32 operations, the
/// sum in f64.
fn reference_softmax(data: &[f32], n: usize) -> Vec<f64> {
    let f = |x: f32| Scalar::F32(x);
    let mut out = Vec::new();
    for row in data.chunks(n) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = row
            .iter()
            .map(|&x| {
                let d = binary(BinaryOp::Sub, f(x), f(m));
                unary(UnaryOp::Exp, d).to_f64()
            })
            .collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    out
}

fn check(shape: &[usize], data: &[f32]) {
    let n = *shape.last().unwrap();
    let s = both(shape, data, 1);
    assert_eq!(bits(&s, "soft"), bits(&s, "ref_soft"), "softmax {shape:?}");
    assert_eq!(
        bits(&s, "inplace"),
        bits(&s, "ref_soft"),
        "in place {shape:?}"
    );
    assert_eq!(bits(&s, "ln"), bits(&s, "ref_ln"), "layernorm {shape:?}");
    let two = both(shape, data, 2);
    assert_eq!(bits(&two, "soft"), bits(&s, "soft"), "2 threads {shape:?}");
    assert_eq!(bits(&two, "ln"), bits(&s, "ln"), "2 threads {shape:?}");
    let soft = s.get("soft").unwrap().to_vec::<f32>().unwrap();
    for (got, want) in soft.iter().zip(reference_softmax(data, n)) {
        let err = (f64::from(*got) - want).abs();
        assert!(err <= 2e-6 * want.abs() + 1e-30, "{got} against {want}");
    }
}

#[test]
fn softmax_and_layernorm_match_the_unfused_statements() {
    // Whole blocks only, a short last block, one row, a 3-D array, long rows.
    for shape in [
        vec![64usize, 256],
        vec![37, 1000],
        vec![1, 50],
        vec![3, 5, 130],
        vec![9, 1024],
        vec![2, 3000],
    ] {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1013) as f32 / 101.3 - 5.0)
            .collect();
        check(&shape, &data);
    }
}

#[test]
fn explain_shows_the_row_program() {
    let mut s = Session::new();
    let ex = s
        .explain(&format!(
            "threads(1)\n{FNS}\nlet x = rand((40, 200), dtype=f32)\nlet y = softmax(x)"
        ))
        .unwrap();
    let text = ex.text(TextOptions { timings: false });
    let tail = &text[text.find("let y = softmax(x)").unwrap()..];
    // max, exp into a block scratch, sum, divide: four steps over blocks of 20 rows (16 KiB or
    // less; 8000 elements, below the 512-bit functions' threshold).
    assert!(tail.contains("kernel 1: fused 0 op(s): max"), "{tail}");
    assert!(
        tail.contains(
            "row-fused: step 1 of 4 over blocks of 20 row(s) (40 rows, 2 whole block(s))"
        ),
        "{tail}"
    );
    assert!(
        tail.contains("writes: f32(20, 200) block scratch, 16000 bytes"),
        "{tail}"
    );
    assert!(tail.contains("kernel 3: fused 0 op(s): sum"), "{tail}");
    assert!(tail.contains("kernel 4: fused 1 op(s): div"), "{tail}");
    assert!(tail.contains("writes: f32(40, 200) materialised"), "{tail}");
    assert!(!tail.contains("kernel 5"), "{tail}");
}

#[test]
fn lazy_row_reductions_settle_where_they_cannot_fuse() {
    let mut s = Session::new();
    s.run(
        "let x = reshape(f32(arange(12)), (3, 4))
let m = max(x, axis=-1, keepdims=true)
let first = max(x, axis=-1, keepdims=true)[0]
let t = sum(x - max(x, axis=-1, keepdims=true))
let k = (x - mean(x, axis=-1, keepdims=true)).T
let w = mean(x, axis=-1, keepdims=true) + zeros((2, 3, 1), dtype=f32)",
    )
    .unwrap();
    let get = |n: &str| s.get(n).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(get("m"), vec![3.0, 7.0, 11.0]);
    assert_eq!(s.get("m").unwrap().to_array().unwrap().shape(), &[3, 1]);
    assert_eq!(get("first"), vec![3.0]);
    assert_eq!(get("t"), vec![-18.0]);
    assert_eq!(
        get("k"),
        vec![-1.5, -1.5, -1.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5]
    );
    assert_eq!(get("w"), vec![1.5, 5.5, 9.5, 1.5, 5.5, 9.5]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn generated_rows_match(
        rows in 1usize..40,
        n in 1usize..1100,
        seed in 0u32..1000,
    ) {
        let data: Vec<f32> = (0..rows * n)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 2000) as f32 / 100.0 - 10.0)
            .collect();
        check(&[rows, n], &data);
    }
}

/// Arithmetic on rows of 64 or more elements runs the 512-bit row code where the CPU has
/// AVX-512F (`ndx_codegen::zmm`), with the bits of IEEE scalar arithmetic; `explain` says so.
#[test]
fn long_rows_of_arithmetic_run_the_512_bit_row_code() {
    for cols in [50usize, 64, 300, 1001] {
        let mut s = Session::new();
        let data: Vec<f32> = (0..8 * cols)
            .map(|i| ((i * 7919) % 1013) as f32 / 101.3 - 5.0)
            .collect();
        s.set("x", ndx::Array::from_vec(data.clone(), &[8, cols]).unwrap());
        let src =
            "let m = mean(x, axis=-1, keepdims=true)\nlet y = -(x - m) / sqrt(abs(x) + 2.0) * 0.5";
        let ex = s.explain(src).unwrap();
        let text = ex.text(TextOptions { timings: false });
        let wide = ndx_codegen::row_code_available() && cols >= ndx_codegen::ROW_MIN_512;
        let line = if wide {
            "vector: 16 x 32-bit lanes (AVX-512), the row code walking the rows, masked tail"
        } else {
            "vector: 4 x 32-bit lanes"
        };
        let tail = &text[text.find("let y").unwrap()..];
        assert!(tail.contains(line), "{cols} columns: {tail}");
        // `ndx emit --asm` lists the row code after the Cranelift code.
        let file =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rows_{cols}.ndx"));
        std::fs::write(&file, src).unwrap();
        let asm = s
            .explain_file(&file, true)
            .unwrap()
            .stage_text(ndx::Stage::Asm);
        assert_eq!(
            asm.contains("; 512-bit row code (AVX-512F)") && asm.contains("vdivps zmm"),
            ndx_codegen::row_code_available(),
            "{cols} columns: {asm}"
        );
        s.run(src).unwrap();
        let m = s.get("m").unwrap().to_vec::<f32>().unwrap();
        let y = s.get("y").unwrap().to_vec::<f32>().unwrap();
        for (i, (&got, &x)) in y.iter().zip(&data).enumerate() {
            let want = -(x - m[i / cols]) / (x.abs() + 2.0).sqrt() * 0.5;
            assert_eq!(got.to_bits(), want.to_bits(), "{cols} columns, element {i}");
        }
    }
}

/// `argmax` and `argmin` along rows of 4 elements or more take the 512-bit row code (where
/// the CPU has it), and give the first best index, the first NaN's when a row has one.
#[test]
fn argmax_of_rows_runs_the_512_bit_row_code() {
    for cols in [3usize, 4, 50, 1001] {
        let mut s = Session::new();
        let mut data: Vec<f32> = (0..6 * cols).map(|i| ((i * 37) % 11) as f32).collect();
        data[cols + cols / 2] = f32::NAN;
        data[2 * cols + cols - 1] = 100.0;
        s.set("x", ndx::Array::from_vec(data.clone(), &[6, cols]).unwrap());
        let src = "let a = argmax(x, axis=-1)\nlet b = argmin(-x, axis=1)";
        let text = s.explain(src).unwrap().text(TextOptions { timings: false });
        let wide = ndx_codegen::row_code_available() && cols >= ndx_codegen::ROW_MIN_512_ARG;
        assert_eq!(
            text.contains("vector: 16 x 32-bit lanes (AVX-512), the row code walking the rows"),
            wide,
            "{cols} columns: {text}"
        );
        s.run(src).unwrap();
        for name in ["a", "b"] {
            let got = s.get(name).unwrap().to_vec::<i64>().unwrap();
            for (r, row) in data.chunks(cols).enumerate() {
                let want = row.iter().position(|v| v.is_nan()).unwrap_or_else(|| {
                    let best = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    row.iter().position(|&v| v == best).unwrap()
                });
                assert_eq!(got[r], want as i64, "{name}, {cols} columns, row {r}");
            }
        }
    }
}

/// A statement that writes at least `STREAM_MIN` bytes of contiguous output stores it with
/// streaming stores where the CPU has the row code, on one thread and split over two (the
/// split of a row falls on whole 64-byte lines), and `explain` says so; the same statement
/// into a view one element off a 64-byte boundary stores as usual, as does one that writes
/// over an operand. All give the IEEE values.
#[test]
fn large_outputs_take_streaming_stores() {
    let n = ndx_codegen::STREAM_MIN / 4 * 2 + 1001;
    let mut s = Session::new();
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32 / 7.0).collect();
    let y2: Vec<f32> = (0..n).map(|i| ((i * 31) % 97) as f32 - 48.5).collect();
    s.set("x", ndx::Array::from_vec(x.clone(), &[n]).unwrap());
    s.set("y2", ndx::Array::from_vec(y2.clone(), &[n]).unwrap());
    s.run(&format!(
        "let y = zeros({n}, dtype=f32)\nlet z = zeros({}, dtype=f32)\nlet w = zeros({n}, dtype=f32)\nw[:] = y2",
        n + 1
    ))
    .unwrap();
    for threads in [1, 2] {
        s.run(&format!("threads({threads})")).unwrap();
        for (src, streams) in [
            ("y[:] = 2.5 * x + y2", row_code_available()),
            ("z[1:] = 2.5 * x + y2", false),
            ("w[:] = 2.5 * x + w", false),
        ] {
            let dest = &src[..src.find(" =").unwrap()];
            let text = s.explain(src).unwrap().text(TextOptions { timings: false });
            assert_eq!(
                text.contains("streaming stores"),
                streams,
                "{threads} threads, {dest}: {text}"
            );
            assert_eq!(
                text.contains("split into 2 parts"),
                threads == 2,
                "{threads} threads, {dest}: {text}"
            );
            // (`explain` ran the statement: `w` starts over.)
            s.run("w[:] = y2").unwrap();
            s.run(src).unwrap();
        }
        let y = s.get("y").unwrap().to_vec::<f32>().unwrap();
        let z = s.get("z").unwrap().to_vec::<f32>().unwrap();
        let w = s.get("w").unwrap().to_vec::<f32>().unwrap();
        for i in 0..n {
            let want = (2.5 * x[i] + y2[i]).to_bits();
            assert_eq!(y[i].to_bits(), want, "{threads} threads, y[{i}]");
            assert_eq!(z[i + 1].to_bits(), want, "{threads} threads, z[{}]", i + 1);
            assert_eq!(w[i].to_bits(), want, "{threads} threads, w[{i}]");
        }
        s.run("y[:] = 0.0\nz[:] = 0.0\nw[:] = y2").unwrap();
    }
}

/// The float dtypes of the chain test: IEEE arithmetic, a correctly rounded square root.
trait Float:
    Copy
    + Default
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + ndx::Element
{
    /// Lanes of the 512-bit row code.
    const LANES: usize;
    fn of(v: f64) -> Self;
    fn sqrt(self) -> Self;
    fn wide(self) -> f64;
    fn bits(self) -> u64;
}

impl Float for f32 {
    const LANES: usize = 16;
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Float for f64 {
    const LANES: usize = 8;
    fn of(v: f64) -> f64 {
        v
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn wide(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

/// Layernorm of each row of `data` (rows of `n`) as a chain of row code computes it: its two
/// sums in `ndx_codegen::chain_sum`'s order, every other operation the same IEEE operation as
/// the kernels' (no fused multiply-add).
fn chained_layernorm<T: Float>(data: &[T], n: usize, g: &[T], b: &[T]) -> Vec<T> {
    let count = T::of(n as f64);
    let mut out = Vec::with_capacity(data.len());
    for row in data.chunks(n) {
        let mu = ndx_codegen::chain_sum(row, T::LANES) / count;
        let d: Vec<T> = row.iter().map(|&x| x - mu).collect();
        let sq: Vec<T> = d.iter().map(|&v| v * v).collect();
        let s = (ndx_codegen::chain_sum(&sq, T::LANES) / count + T::of(1e-5)).sqrt();
        out.extend(d.iter().zip(g).zip(b).map(|((&d, &g), &b)| d / s * g + b));
    }
    out
}

/// Layernorm of each row in f64 from the exact (f64) row sums: the values a chain must come
/// close to.
fn exact_layernorm<T: Float>(data: &[T], n: usize, g: &[T], b: &[T]) -> Vec<f64> {
    let mut out = Vec::with_capacity(data.len());
    for row in data.chunks(n) {
        let mu = row.iter().map(|x| x.wide()).sum::<f64>() / n as f64;
        let var = row.iter().map(|x| (x.wide() - mu).powi(2)).sum::<f64>() / n as f64;
        let s = (var + 1e-5).sqrt();
        out.extend(
            row.iter()
                .zip(g)
                .zip(b)
                .map(|((x, g), b)| (x.wide() - mu) / s * g.wide() + b.wide()),
        );
    }
    out
}

/// Runs layernorm of `x` (`shape`, rows of at least 128 elements, 4 MiB or more)
/// fused, in place and unfused, with `threads` threads; checks the fused values against the
/// chain's order (on CPUs with the row code: else the unfused values) and against exact sums.
fn check_chain<T: Float>(shape: &[usize], threads: usize) -> Vec<u64> {
    let size: usize = shape.iter().product();
    let n = *shape.last().unwrap();
    let data: Vec<T> = (0..size)
        .map(|i| T::of(((i * 7919) % 1013) as f64 / 101.3 - 5.0 + (i / n) as f64 * 0.01))
        .collect();
    let g: Vec<T> = (0..n).map(|i| T::of(0.5 + (i % 7) as f64 * 0.25)).collect();
    let b: Vec<T> = (0..n).map(|i| T::of((i % 5) as f64 - 2.0)).collect();
    let mut s = Session::new();
    s.set("x", ndx::Array::from_vec(data.clone(), shape).unwrap());
    s.set("g", ndx::Array::from_vec(g.clone(), &[n]).unwrap());
    s.set("b", ndx::Array::from_vec(b.clone(), &[n]).unwrap());
    s.run(&format!(
        "threads({threads})\n{FNS}\nlet ln = layernorm(x, g, b)\nlet inplace = x + 0.0\ninplace[...] = layernorm(inplace, g, b)\n{UNFUSED}"
    ))
    .unwrap();
    let get = |name: &str| -> Vec<u64> {
        let v = s.get(name).unwrap().to_vec::<T>().unwrap();
        v.iter().map(|x| x.bits()).collect()
    };
    let want: Vec<u64> = if row_code_available() {
        let want = chained_layernorm(&data, n, &g, &b);
        want.into_iter().map(Float::bits).collect()
    } else {
        get("ref_ln")
    };
    let ln = get("ln");
    assert_eq!(ln.len(), want.len());
    if let Some(i) = (0..ln.len()).find(|&i| ln[i] != want[i]) {
        panic!(
            "{shape:?}, {threads} thread(s): element {i} differs: {:#x} against {:#x}",
            ln[i], want[i]
        );
    }
    assert!(get("inplace") == want, "in place {shape:?}");
    let got = s.get("ln").unwrap().to_vec::<T>().unwrap();
    for (x, w) in got.iter().zip(exact_layernorm(&data, n, &g, &b)) {
        let err = (x.wide() - w).abs();
        assert!(err <= 2e-5 * w.abs() + 2e-5, "{shape:?}: {x:?} against {w}");
    }
    ln
}

#[test]
fn layernorm_runs_as_a_chain_with_its_sums_in_the_chain_order() {
    // Rows of whole steps of 4 vectors, with whole vectors left over, with a partial vector;
    // a 3-D array; f64 (8 lanes).
    for shape in [
        vec![8200usize, 128],
        vec![7000, 151],
        vec![1100, 1000],
        vec![2, 1800, 300],
    ] {
        let one = check_chain::<f32>(&shape, 1);
        assert_eq!(check_chain::<f32>(&shape, 2), one, "2 threads {shape:?}");
    }
    for shape in [vec![3usize, 1400, 130], vec![2100, 250]] {
        let one = check_chain::<f64>(&shape, 1);
        assert_eq!(check_chain::<f64>(&shape, 2), one, "2 threads {shape:?}");
    }
}

/// Layernorm of views `big[:, :k, :]` of `big` (3-D, `k` of its 2-5 rows per block), whose
/// axes do not merge: the row code gets blocks of `k` rows, fewer than, as many as and more than
/// the chain's three steps (pipelined over a block of three rows or more, else one row after
/// another). The values are the chain's, as for whole arrays.
#[test]
fn a_chain_over_blocks_of_few_rows_keeps_its_values() {
    let (outer, n) = (5500usize, 200usize);
    for (inner, k) in [(3usize, 1usize), (3, 2), (4, 3), (5, 4)] {
        let size = outer * inner * n;
        let data: Vec<f32> = (0..size)
            .map(|i| ((i * 7919) % 1013) as f32 / 101.3 - 5.0 + (i / n) as f32 * 0.01)
            .collect();
        let g: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        let b: Vec<f32> = (0..n).map(|i| (i % 5) as f32 - 2.0).collect();
        let view: Vec<f32> = data
            .chunks(inner * n)
            .flat_map(|block| &block[..k * n])
            .copied()
            .collect();
        let mut s = Session::new();
        s.set(
            "big",
            ndx::Array::from_vec(data, &[outer, inner, n]).unwrap(),
        );
        s.set("g", ndx::Array::from_vec(g.clone(), &[n]).unwrap());
        s.set("b", ndx::Array::from_vec(b.clone(), &[n]).unwrap());
        s.run(&format!(
            "threads(1)\n{FNS}\nlet x = big[:, :{k}, :]\nlet ln = layernorm(x, g, b)"
        ))
        .unwrap();
        let got = bits(&s, "ln");
        let want: Vec<u32> = if row_code_available() {
            chained_layernorm(&view, n, &g, &b)
                .iter()
                .map(|v| v.to_bits())
                .collect()
        } else {
            s.run(UNFUSED).unwrap();
            bits(&s, "ref_ln")
        };
        assert_eq!(got.len(), want.len());
        if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "blocks of {k} rows: element {i} differs: {:#x} against {:#x}",
                got[i], want[i]
            );
        }
    }
}

/// A row reduction or a math function written twice in one statement is computed once: the
/// one-line softmax takes the steps of the two-statement one (`max`, `x - m`, `exp`, `sum`,
/// the division) and gives its bits.
#[test]
fn a_subexpression_written_twice_runs_once() {
    let mut s = Session::new();
    let src = "threads(1)\nlet x = rand((300, 200), dtype=f32)\nlet e = exp(x - max(x, axis=-1, keepdims=true))\nlet two = e / sum(e, axis=-1, keepdims=true)";
    s.run(src).unwrap();
    let one = "let one = exp(x - max(x, axis=-1, keepdims=true)) / sum(exp(x - max(x, axis=-1, keepdims=true)), axis=-1, keepdims=true)";
    let text = s.explain(one).unwrap().text(TextOptions { timings: false });
    let kernels = |what: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with("kernel ") && l.contains(what))
            .count()
    };
    // (`explain` lists a kernel run twice once, "(x2 calls)".)
    assert_eq!(kernels("max"), 1, "{text}");
    assert_eq!(kernels("exp"), 1, "{text}");
    assert!(!text.contains("calls)"), "{text}");
    s.run(one).unwrap();
    assert_eq!(bits(&s, "one"), bits(&s, "two"));
}

/// Row chains of two, three and four steps (`max`, `min`, `sum` and the result), `f32` and
/// `f64`, rows with a partial vector: the values of a Rust oracle of the chain's order (its
/// sums by `chain_sum`, `max` and `min` exact), on one thread and two.
#[test]
fn chains_of_two_to_four_steps_give_the_chain_values() {
    fn check<T: Float + PartialOrd>(rows: usize, n: usize) {
        let data: Vec<T> = (0..rows * n)
            .map(|i| T::of(((i * 7919) % 1013) as f64 / 101.3 - 5.0 + (i / n % 7) as f64))
            .collect();
        let mut want: Vec<[T; 3]> = Vec::with_capacity(data.len());
        for row in data.chunks(n) {
            let (mut mx, mut mn) = (row[0], row[0]);
            for &v in row {
                if v > mx {
                    mx = v;
                }
                if v < mn {
                    mn = v;
                }
            }
            let sum = if row_code_available() {
                ndx_codegen::chain_sum(row, T::LANES)
            } else {
                T::default()
            };
            want.extend(
                row.iter()
                    .map(|&v| [v - mx, v / sum, (v - mx) * (mn + sum)]),
            );
        }
        for threads in [1, 2] {
            let mut s = Session::new();
            s.set("x", ndx::Array::from_vec(data.clone(), &[rows, n]).unwrap());
            s.run(&format!(
                "threads({threads})
let a = x - max(x, axis=-1, keepdims=true)
let b = x / sum(x, axis=-1, keepdims=true)
let c = (x - max(x, axis=-1, keepdims=true)) * (min(x, axis=-1, keepdims=true) + sum(x, axis=-1, keepdims=true))
let m = max(x, axis=-1, keepdims=true)
let aref = x - m"
            ))
            .unwrap();
            let get = |name: &str| -> Vec<u64> {
                let v = s.get(name).unwrap().to_vec::<T>().unwrap();
                v.iter().map(|x| x.bits()).collect()
            };
            let what = format!("{rows} x {n}, {threads} thread(s)");
            assert!(get("a") == get("aref"), "x - max: {what}");
            if !row_code_available() {
                continue;
            }
            for (k, name) in ["a", "b", "c"].iter().enumerate() {
                let got = get(name);
                if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i][k].bits()) {
                    panic!(
                        "{name}, {what}: element {i} is {:#x}, the oracle {:#x}",
                        got[i],
                        want[i][k].bits()
                    );
                }
            }
        }
    }
    check::<f32>(9000, 130);
    check::<f64>(3000, 400);
}

#[test]
fn chains_of_max_and_min_give_the_unfused_bits() {
    // `max` and `min` keep their value in any order: a chain's rows (8192 rows of 200 and of
    // 131 elements) give the bits of the materialised reductions.
    for cols in [200usize, 131] {
        let mut s = Session::new();
        let rows = 8192;
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1013) as f32 / 101.3 - 5.0)
            .collect();
        s.set("x", ndx::Array::from_vec(data, &[rows, cols]).unwrap());
        s.run(
            "threads(1)
let c = (x - max(x, axis=-1, keepdims=true)) / (max(x, axis=-1, keepdims=true) - min(x, axis=-1, keepdims=true))
let hi = max(x, axis=-1, keepdims=true)
let lo = min(x, axis=-1, keepdims=true)
let cref = (x - hi) / (hi - lo)",
        )
        .unwrap();
        assert_eq!(bits(&s, "c"), bits(&s, "cref"), "rows of {cols}");
        let c = s.get("c").unwrap().to_vec::<f32>().unwrap();
        assert!(c.iter().all(|v| (-1.0..=0.0).contains(v)), "rows of {cols}");
    }
}

#[test]
fn explain_shows_the_chain() {
    let mut s = Session::new();
    let ex = s
        .explain(&format!(
            "threads(1)\n{FNS}\nlet x = rand((4096, 256), dtype=f32)\nlet g = rand(256, dtype=f32)\nlet b = rand(256, dtype=f32)\nlet y = layernorm(x, g, b)"
        ))
        .unwrap();
    let text = ex.text(TextOptions { timings: false });
    let tail = &text[text.find("let y = layernorm").unwrap()..];
    if row_code_available() {
        // The row sums, the sums of squared deviations (`x - mu` computed once), the result.
        assert!(tail.contains("kernel 1: fused 0 op(s): sum"), "{tail}");
        assert!(
            tail.contains("kernel 2: fused 3 op(s): div, sub, mul, sum"),
            "{tail}"
        );
        assert!(
            tail.contains("row-fused: step 3 of 3, all steps chained in one 512-bit function software-pipelined over the rows (step j on row t - j, all in one loop) (4096 rows, 1 block(s) of 4096 row(s))"),
            "{tail}"
        );
        assert!(
            tail.contains("writes: f32(4096, 256) materialised"),
            "{tail}"
        );
        assert!(
            tail.contains("code: compiled; the chain of the steps compiled\n"),
            "{tail}"
        );
        assert!(!tail.contains("kernel 4"), "{tail}");
    } else {
        assert!(!tail.contains("chained"), "{tail}");
    }
    // `ndx emit --asm` ends the last step's code with the chain's, which runs in its place:
    // the three steps' loops in one, called for the rows that start and end the pipeline.
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chain_asm.ndx");
    std::fs::write(
        &file,
        format!("threads(1)\n{FNS}\nlet x = rand((4096, 256), dtype=f32)\nlet g = rand(256, dtype=f32)\nlet b = rand(256, dtype=f32)\nlet y = layernorm(x, g, b)"),
    )
    .unwrap();
    let asm = Session::new()
        .explain_file(&file, true)
        .unwrap()
        .stage_text(ndx::Stage::Asm);
    let chain = asm.find("; the chain of the 3 steps, software-pipelined");
    assert_eq!(chain.is_some(), row_code_available(), "{asm}");
    if let Some(at) = chain {
        let code = &asm[at..];
        assert!(
            code.contains("vsqrtps zmm") && code.contains("vdivps zmm") && code.contains("call "),
            "{code}"
        );
    }
}

#[test]
fn a_chain_compiles_once_over_changing_row_counts() {
    let mut s = Session::new();
    s.run(&format!("threads(1)\n{FNS}\nlet g = rand(256, dtype=f32)\nlet b = rand(256, dtype=f32)\nlet y = layernorm(rand((4100, 256), dtype=f32), g, b)"))
        .unwrap();
    let (before, _) = s.kernel_stats();
    for rows in [4200, 5017, 6000] {
        s.run(&format!(
            "let x = rand(({rows}, 256), dtype=f32)\nlet y = layernorm(x, g, b)"
        ))
        .unwrap();
    }
    // `rand` and the three steps (and the chain) came from the cache each time.
    assert_eq!(s.kernel_stats().0, before);
}
