//! Large kernels split over threads give the same results as on one thread, bit for bit
//! (each output element is computed by one thread in the same order).

mod common;

use ndx::Session;

fn run(threads: usize) -> (Vec<f32>, Vec<f32>, Vec<f64>, Vec<f32>) {
    let mut s = Session::new();
    // `w` and `c` are outer-axis reductions of 4M points, split over threads along their
    // first axis (`w`) or their last (`c`, reduced along axis 0).
    s.run(&format!(
        "threads({threads})\nseed(3)\nlet x = rand((1100, 1000), dtype=f32)\nlet y = 2.5 * x + sqrt(x)\nlet m = mean(x, axis=1)\nlet t = sum(f64(x), axis=0)\nlet z = rand((4, 1024, 1024), dtype=f32)\nlet w = sum(z * 3 - 1, axis=1)\nlet c = max(reshape(z * z - z, (4096, 1024)), axis=0)"
    ))
    .unwrap();
    let get32 = |s: &Session, n: &str| s.get(n).unwrap().to_vec::<f32>().unwrap();
    let mut wc = get32(&s, "w");
    wc.extend(get32(&s, "c"));
    (
        get32(&s, "y"),
        get32(&s, "m"),
        s.get("t").unwrap().to_vec::<f64>().unwrap(),
        wc,
    )
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = run(1);
    let two = run(2);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0), bits(&two.0));
    assert_eq!(bits(&one.1), bits(&two.1));
    assert_eq!(bits(&one.3), bits(&two.3));
    assert_eq!(
        one.2.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        two.2.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert!(ndx::Session::new().run("threads(0)").is_err());
    // The split is visible, and happens at launch time: the same compiled code serves both.
    let mut s = Session::new();
    let text = common::explain_text(
        &mut s,
        "threads(2)\nlet x = ones((4, 1024, 1024), dtype=f32)\nlet w = sum(x, axis=1)",
    );
    assert!(text.contains("kernel 1: `sum`"), "{text}");
    assert!(
        text.contains("threads: split into 2 parts over 2 threads"),
        "{text}"
    );
}

/// Contractions on 1 and 2 threads: a GEMM split over the workers, batched GEMMs spread over
/// them, and a fused loop step.
fn contractions(threads: usize) -> Vec<Vec<f32>> {
    let mut s = Session::new();
    s.run(&format!(
        "threads({threads})\nseed(5)\nlet a = rand((300, 700), dtype=f32)\nlet b = rand((700, 500), dtype=f32)\nlet c = a @ b\nlet q = rand((4, 6, 64, 32), dtype=f32)\nlet d = einsum(\"bhtd,bhkd->bhtk\", q, q)\nlet e = einsum(\"ij,ij->i\", a, a)"
    ))
    .unwrap();
    ["c", "d", "e"]
        .iter()
        .map(|n| s.get(n).unwrap().to_vec::<f32>().unwrap())
        .collect()
}

#[test]
fn contractions_do_not_depend_on_the_thread_count() {
    let (one, two) = (contractions(1), contractions(2));
    for (x, y) in one.iter().zip(&two) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y));
    }
}

/// Full reductions (every axis reduced, fused or not) over 3 million points: the values of
/// the names in [`FULL`] on `threads` threads.
fn full_reductions(threads: usize) -> Vec<f64> {
    let mut s = Session::new();
    s.run(&format!(
        "threads({threads})\nseed(7)\nlet x = rand(3000000, dtype=f32) - 0.5\nx[1234567] = 5.0\nx[2345678] = -3.0\nx[2999999] = 5.0\nlet m = reshape(x, (1000, 3000))\nlet w = x * 1.0\nw[2500000] = nan\nlet i = i64(x * 100.0)\nlet a = rand(2000, dtype=f32)\nlet b = rand(2000, dtype=f32)\n\
         let r = (sum(x), mean(x), std(x), var(x), min(x), max(x), argmin(x), argmax(x), argmax(m), argmin(m.T), any(x > 4.9), all(x < 4.9), prod(x * 0.0 + 1.0), sum(m.T * 2.0), sum(a[:, newaxis] * b[newaxis, :]), sum(i), min(i), argmax(i), max(w), argmax(w), argmin(w), sum(f64(x)))"
    ))
    .unwrap();
    let r = s.get("r").unwrap();
    let ndx::Value::Tuple(items) = r else {
        panic!("not a tuple: {r:?}")
    };
    items
        .iter()
        .map(|v| v.to_array().unwrap().item().unwrap().to_f64())
        .collect()
}

#[test]
fn full_reductions_are_reproducible_and_agree_across_thread_counts() {
    let one = full_reductions(1);
    // The exact values: argmin/argmax find the first extreme (x[2999999] ties x[1234567]),
    // a NaN wins min, max and the arg reductions.
    assert_eq!((one[4], one[5]), (-3.0, 5.0));
    assert_eq!(
        (one[6], one[7], one[8], one[9]),
        (2345678.0, 1234567.0, 1234567.0, 2678781.0)
    );
    assert_eq!((one[10], one[11], one[12]), (1.0, 0.0, 1.0));
    assert!(one[18].is_nan());
    assert_eq!((one[19], one[20]), (2500000.0, 2500000.0));
    for threads in [2, 3] {
        let a = full_reductions(threads);
        let b = full_reductions(threads);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{threads} threads: not reproducible");
        for (k, (x, y)) in one.iter().zip(&a).enumerate() {
            // Summation order may differ (LANGUAGE.md section 6): floats agree to f32
            // accuracy, everything else exactly.
            let close = x.to_bits() == y.to_bits() || (x - y).abs() <= 1e-5 * x.abs().max(1.0);
            assert!(
                close,
                "{threads} threads, value {k}: {y} vs {x} on one thread"
            );
        }
    }
}
