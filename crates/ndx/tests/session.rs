//! The embedding API: values in and out, lent host memory, compiled functions, the kernel
//! cache, and the REPL logic without a terminal.

mod common;

use ndx::repl::{Repl, Reply};
use ndx::{Array, Session, Value};

#[test]
fn set_run_get() {
    let mut s = Session::new();
    s.set("x", Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap());
    s.run("let y = exp(x) / sum(exp(x))").unwrap();
    let y: Vec<f32> = s.get("y").unwrap().to_vec().unwrap();
    let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
    let total: f32 = e.iter().sum();
    for (a, b) in y.iter().zip(&e) {
        assert!((a - b / total).abs() < 1e-6);
    }
    assert!(matches!(
        s.run("1 + 2").unwrap(),
        Some(Value::Scalar(ndx::Scalar::I64(3)))
    ));
    assert!(s.get("nope").is_err());
}

#[test]
fn lent_memory_is_written_in_place_and_revoked() {
    let mut s = Session::new();
    let mut buf = vec![0.0f64; 4];
    {
        let _loan = s.lend("out", &mut buf, &[2, 2]).unwrap();
        s.run("out[:, :] = reshape(arange(4) * 0.5, (2, 2))")
            .unwrap();
        s.run("let v = out[1]").unwrap();
    }
    assert_eq!(buf, vec![0.0, 0.5, 1.0, 1.5]);
    // The loan ended: using the array (or a view of it) is an error, not a dangling read.
    let err = s.run("print(v)").unwrap_err();
    assert!(err.render().contains("loan"), "{}", err.render());
    assert!(s.run("out[0, 0] = 1.0").is_err());
}

#[test]
fn compile_and_call_a_function() {
    let mut s = Session::new();
    let f = s
        .compile("fn axpy(a: f32, x: f32[n], y: f32[n]) -> f32[n] = a * x + y")
        .unwrap();
    let x = Value::Array(Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap());
    let out = f
        .call(
            &mut s,
            &[Value::Scalar(ndx::Scalar::F64(2.0)), x.clone(), x],
        )
        .unwrap();
    assert_eq!(out.to_vec::<f32>().unwrap(), vec![3.0, 6.0]);
    // Shape names must agree.
    let y = Value::Array(Array::from_vec(vec![1.0f32; 3], &[3]).unwrap());
    let z = Value::Array(Array::from_vec(vec![1.0f32; 2], &[2]).unwrap());
    let err = f.call(&mut s, &[Value::from(1.0f32), y, z]).unwrap_err();
    assert!(err.render().contains("size `n`"), "{}", err.render());
}

#[test]
fn a_loop_over_changing_sizes_compiles_each_kernel_once() {
    let mut s = Session::new();
    s.run("for n in range(1, 40) {\n let x = arange(n, dtype=f32)\n let y = 2.5 * x + 1.0\n let t = sum(y * y)\n}").unwrap();
    let (compiled, hits) = s.kernel_stats();
    // arange is not a kernel; the elementwise statement and the reduction are, plus the
    // rank-0 forms used when n == 1.
    assert!(compiled <= 4, "compiled {compiled} kernels");
    assert!(hits >= 70, "only {hits} cache hits");
}

/// The kernel cache tells constants apart by their bits: `x + 0.0` and `x + -0.0` differ at
/// `x = -0.0`, so each has its own kernel; `x + nan` twice shares one.
#[test]
fn the_kernel_cache_tells_signed_zero_constants_apart() {
    let mut s = Session::new();
    s.run("let x = zeros(8) * -1.0").unwrap();
    for (stmt, compiles) in [
        ("let a = x + 0.0", true),
        ("let b = x + -0.0", true),
        ("let c = x * nan", true),
        ("let d = x * nan", false),
    ] {
        let (compiled, hits) = s.kernel_stats();
        s.run(stmt).unwrap();
        let now = s.kernel_stats();
        let want = if compiles {
            (compiled + 1, hits)
        } else {
            (compiled, hits + 1)
        };
        assert_eq!(now, want, "{stmt}");
    }
    let first = |name: &str| -> f64 {
        let v: Vec<f64> = s.get(name).unwrap().to_vec().unwrap();
        v[0]
    };
    assert!(first("a").is_sign_positive() && first("a") == 0.0);
    assert!(first("b").is_sign_negative() && first("b") == 0.0);
    assert!(first("d").is_nan());
}

#[test]
fn tiled_split_and_parallel_reduction_launches_do_not_recompile_over_sizes() {
    // The first (largest) size compiles everything, including the value kernel that combines
    // a parallel argmax; smaller sizes whose blocked sums have the same loop structure, and
    // whose argmax runs on one thread, reuse it.
    let mut s = Session::new();
    let body = "let m = ones((n, n + 3), dtype=f32)\nlet t = ascontiguousarray(m.T)\nlet u = m.T * 2.0 + 1.0\nlet r = (sum(m * m), argmax(m), std(m))";
    s.run(&format!("threads(2)\nlet n = 1100\n{body}")).unwrap();
    let (compiled, _) = s.kernel_stats();
    for n in [900, 700] {
        s.run(&format!("let n = {n}\n{body}")).unwrap();
    }
    assert_eq!(s.kernel_stats().0, compiled, "sizes recompiled a kernel");
}

#[test]
fn fused_outer_product_sum_allocates_no_temporary() {
    // 20000 x 20000 f32 would be 1.6 GB if materialised; the fused kernel needs none of it.
    let mut s = Session::new();
    s.run("let a = ones(20000, dtype=f32)\nlet b = ones(20000, dtype=f32) * 0.5\nlet r = sum(a[:, newaxis] * b[newaxis, :])").unwrap();
    let r = s
        .get("r")
        .unwrap()
        .to_array()
        .unwrap()
        .item()
        .unwrap()
        .to_f64();
    assert!((r - 2.0e8).abs() / 2.0e8 < 1e-3, "{r}");
}

#[test]
fn repl_logic() {
    let mut r = Repl::new();
    assert_eq!(r.feed("let x = arange(3)"), Reply::Output(String::new()));
    assert_eq!(r.feed("x * 2"), Reply::Output("[0 2 4]".into()));
    assert_eq!(r.feed("fn f(a) {"), Reply::More);
    assert_eq!(r.feed("  a + 1"), Reply::More);
    assert_eq!(r.feed("}"), Reply::Output(String::new()));
    assert_eq!(r.feed("f(x)"), Reply::Output("[1 2 3]".into()));
    assert_eq!(
        r.feed("print(1, 2.5, true)"),
        Reply::Output("1 2.5 true".into())
    );
    match r.feed("x + [1, 2]") {
        Reply::Error(e) => assert!(e.contains("<input>:1:1") && e.contains("E0201"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(r.feed(":help"), Reply::Output(h) if h.contains(":quit")));
    assert_eq!(r.feed(":quit"), Reply::Quit);
}

#[test]
fn long_float_sums_stay_accurate() {
    // Sequential f32 accumulation of 0.1 stalls far below the true sum; blocked summation
    // must land within a few ULP-scale relative error, as NumPy's pairwise sum does.
    let mut s = Session::new();
    s.run("let x = full(3000001, 0.1, dtype=f32)\nlet t = sum(x)\nlet m = mean(reshape(x[1:], (1000, 3000)))\nlet u = std(x)").unwrap();
    let t = s.get("t").unwrap().to_vec::<f32>().unwrap()[0] as f64;
    assert!((t - 300000.1).abs() / 300000.1 < 2e-6, "{t}");
    let m = s.get("m").unwrap().to_vec::<f32>().unwrap()[0] as f64;
    assert!((m - 0.1).abs() < 1e-6, "{m}");
    let u = s.get("u").unwrap().to_vec::<f32>().unwrap()[0] as f64;
    assert!(u.abs() < 1e-6, "{u}");
}

#[test]
fn transposed_copies_are_tiled_and_exact() {
    for threads in [1, 2] {
        let mut s = Session::new();
        s.run(&format!("threads({threads})\nlet a = reshape(f32(arange(300 * 257)), (300, 257))\nlet t = ascontiguousarray(a.T)\nlet u = a.T * 2.0 + 1.0\nlet f = asfortranarray(a)")).unwrap();
        let t = s.get("t").unwrap().to_vec::<f32>().unwrap();
        let u = s.get("u").unwrap().to_vec::<f32>().unwrap();
        for i in 0..257 {
            for j in 0..300 {
                let v = (j * 257 + i) as f32;
                assert_eq!(t[i * 300 + j], v);
                assert_eq!(u[i * 300 + j], v * 2.0 + 1.0);
            }
        }
        let f = s.get("f").unwrap().to_array().unwrap();
        assert!(f.is_f_contiguous());
        assert_eq!(
            f.get(&[299, 256]).unwrap(),
            ndx::Scalar::F32((299 * 257 + 256) as f32)
        );
    }
}

#[test]
fn batched_transposes_are_tiled_and_exact() {
    // Swapping the last two axes of a 3-D or 4-D array tiles each matrix of the batch; the
    // copies, an elementwise expression and both element sizes must equal the index
    // arithmetic, on one thread and on two.
    for (threads, dtype) in [(1, "f32"), (2, "f32"), (1, "f64"), (2, "i64")] {
        let mut s = Session::new();
        let src = format!(
            "threads({threads})\n\
             let a = {dtype}(reshape(arange(3 * 130 * 201), (3, 130, 201)))\n\
             let t = ascontiguousarray(transpose(a, (0, 2, 1)))\n\
             let u = transpose(a, (0, 2, 1)) * 2 + 1\n\
             let q = ascontiguousarray(transpose(reshape(a, (1, 3, 130, 201)), (0, 1, 3, 2)))"
        );
        s.run(&src).unwrap_or_else(|e| panic!("{}", e.render()));
        let get = |n: &str| -> Vec<f64> {
            let a = s.get(n).unwrap().to_array().unwrap();
            assert_eq!(a.size(), 3 * 201 * 130, "{n}");
            a.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect()
        };
        let (t, u, q) = (get("t"), get("u"), get("q"));
        for b in 0..3 {
            for i in 0..201 {
                for j in 0..130 {
                    let at = (b * 201 + i) * 130 + j;
                    let v = ((b * 130 + j) * 201 + i) as f64;
                    assert_eq!(t[at], v, "{dtype} t[{b}, {i}, {j}]");
                    assert_eq!(u[at], v * 2.0 + 1.0, "{dtype} u[{b}, {i}, {j}]");
                    assert_eq!(q[at], v, "{dtype} q[0, {b}, {i}, {j}]");
                }
            }
        }
        let text =
            common::explain_text(&mut s, "let t = ascontiguousarray(transpose(a, (0, 2, 1)))");
        assert!(text.contains("tiles"), "{text}");
    }
}

#[test]
fn transposing_copies_of_every_element_size_are_exact() {
    // 4- and 8-byte elements move in register blocks; bool (1 byte), reversed inputs and odd
    // edges take the compiled nest. Every case must equal the index arithmetic.
    for dtype in ["f32", "f64", "i32", "i64", "bool"] {
        let mut s = Session::new();
        let src = format!(
            "let a = {dtype}(reshape(arange(301 * 259), (301, 259)) % 1000)\n\
             let t = ascontiguousarray(a.T)\n\
             let b = zeros((259, 301), dtype={dtype})\n\
             b[:, :] = a.T\n\
             let r = ascontiguousarray(a.T[::-1, :])"
        );
        s.run(&src).unwrap_or_else(|e| panic!("{}", e.render()));
        let get = |n: &str| -> Vec<f64> {
            let a = s.get(n).unwrap().to_array().unwrap();
            assert_eq!(a.shape(), &[259, 301]);
            a.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect()
        };
        let (t, b, r) = (get("t"), get("b"), get("r"));
        let want = |i: usize, j: usize| {
            let v = ((j * 259 + i) % 1000) as f64;
            if dtype == "bool" {
                f64::from(v != 0.0)
            } else {
                v
            }
        };
        for i in 0..259 {
            for j in 0..301 {
                assert_eq!(t[i * 301 + j], want(i, j), "{dtype} t[{i}, {j}]");
                assert_eq!(b[i * 301 + j], want(i, j), "{dtype} b[{i}, {j}]");
                assert_eq!(r[i * 301 + j], want(258 - i, j), "{dtype} r[{i}, {j}]");
            }
        }
    }
}

#[test]
fn maximum_and_minimum_keep_numpys_nan_and_tie_rules_in_vector_code() {
    // NumPy: `maximum(x, y)` is x where x >= y or x is NaN, else y; ties of signed zeros give
    // the first operand. 37 elements run as vectors plus a scalar tail: both must agree.
    for dtype in ["f32", "f64"] {
        let mut s = Session::new();
        let src = format!(
            "let i = arange(37)\n\
             let x = {dtype}(where(i % 4 == 0, nan, where(i % 4 == 1, 0.0, where(i % 4 == 2, -0.0, i))))\n\
             let y = {dtype}(where(i % 3 == 0, nan, where(i % 3 == 1, -0.0, 0.0)))\n\
             let hi = maximum(x, y)\n\
             let lo = minimum(x, y)\n\
             let m0 = max(reshape(concatenate([x, y]), (2, 37)), axis=0)"
        );
        s.run(&src).unwrap_or_else(|e| panic!("{}", e.render()));
        let get = |n: &str| -> Vec<f64> {
            let a = s.get(n).unwrap().to_array().unwrap();
            a.to_scalars().unwrap().iter().map(|v| v.to_f64()).collect()
        };
        let (x, y, hi, lo) = (get("x"), get("y"), get("hi"), get("lo"));
        let m0 = get("m0");
        for k in 0..37 {
            let want_hi = if x[k] >= y[k] || x[k].is_nan() {
                x[k]
            } else {
                y[k]
            };
            let want_lo = if x[k] <= y[k] || x[k].is_nan() {
                x[k]
            } else {
                y[k]
            };
            let same = |g: f64, w: f64| (g.is_nan() && w.is_nan()) || g.to_bits() == w.to_bits();
            assert!(
                same(hi[k], want_hi),
                "{dtype} maximum at {k}: {} {}",
                hi[k],
                want_hi
            );
            assert!(
                same(lo[k], want_lo),
                "{dtype} minimum at {k}: {} {}",
                lo[k],
                want_lo
            );
            assert!(
                same(m0[k], want_hi),
                "{dtype} max(axis=0) at {k}: {} {}",
                m0[k],
                want_hi
            );
        }
    }
}
