//! Large kernels split over threads give the same results as on one thread, bit for bit
//! (each output element is computed by one thread in the same order).

use ndx::Session;

fn run(threads: usize) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
    let mut s = Session::new();
    s.run(&format!(
        "threads({threads})\nseed(3)\nlet x = rand((1100, 1000), dtype=f32)\nlet y = 2.5 * x + sqrt(x)\nlet m = mean(x, axis=1)\nlet t = sum(f64(x), axis=0)"
    ))
    .unwrap();
    let get32 = |s: &Session, n: &str| s.get(n).unwrap().to_vec::<f32>().unwrap();
    (
        get32(&s, "y"),
        get32(&s, "m"),
        s.get("t").unwrap().to_vec::<f64>().unwrap(),
    )
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = run(1);
    let two = run(2);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0), bits(&two.0));
    assert_eq!(bits(&one.1), bits(&two.1));
    assert_eq!(
        one.2.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        two.2.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert!(ndx::Session::new().run("threads(0)").is_err());
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
