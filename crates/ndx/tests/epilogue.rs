//! Contraction epilogues (issue 4): elementwise work on a GEMM's result runs block by block in
//! the GEMM's pass, with the same values as the unfused two-pass computation.

use ndx::{Session, TextOptions};

fn f32s(s: &Session, name: &str) -> Vec<f32> {
    s.get(name).unwrap().to_vec::<f32>().unwrap()
}

const SETUP: &str = "let x = rand((1500, 200), dtype=f32) - 0.5
let w = rand((200, 700), dtype=f32) - 0.5
let b = rand(700, dtype=f32) - 0.5
";

#[test]
fn fused_epilogue_equals_the_unfused_passes_bit_for_bit() {
    // 700 f32 columns: 374 rows per 1 MiB block, so 5 blocks with a short last one.
    let mut s = Session::new();
    s.run(SETUP).unwrap();
    s.run("let y = maximum(x @ w + b, 0.0)\nlet t = tanh(x @ w) * 2.0 - b")
        .unwrap();
    s.run("let q = x @ w\nlet y2 = maximum(q + b, 0.0)\nlet t2 = tanh(q) * 2.0 - b")
        .unwrap();
    let (y, y2) = (f32s(&s, "y"), f32s(&s, "y2"));
    assert_eq!(y.len(), 1500 * 700);
    assert!(y.iter().any(|&v| v > 0.0) && y.contains(&0.0));
    assert!(y.iter().zip(&y2).all(|(a, b)| a.to_bits() == b.to_bits()));
    let (t, t2) = (f32s(&s, "t"), f32s(&s, "t2"));
    assert!(t.iter().zip(&t2).all(|(a, b)| a.to_bits() == b.to_bits()));
    // The product itself, checked against a plain f64 dot product on a few entries.
    let (x, w, q) = (f32s(&s, "x"), f32s(&s, "w"), f32s(&s, "q"));
    for &(i, j) in &[(0usize, 0usize), (777, 333), (1499, 699)] {
        let d: f64 = (0..200)
            .map(|k| x[i * 200 + k] as f64 * w[k * 700 + j] as f64)
            .sum();
        assert!(
            (q[i * 700 + j] as f64 - d).abs() < 1e-4,
            "{} vs {d}",
            q[i * 700 + j]
        );
    }
}

#[test]
fn explain_shows_the_epilogue_inside_the_gemm_pass() {
    let mut s = Session::new();
    s.run(SETUP).unwrap();
    let ex = s.explain("let y = maximum(x @ w + b, 0.0)").unwrap();
    let text = ex.text(TextOptions { timings: false });
    assert!(
        text.contains("GEMM with a fused epilogue: the f32 result (1500, 700) is produced in 5 block(s) of up to 374 row(s)"),
        "{text}"
    );
    assert!(
        text.contains("fused 2 op(s): add, max (x4 calls)"),
        "{text}"
    );
    assert!(text.contains("written as the GEMM's epilogue"), "{text}");
    // Bound first, the product is materialised and the epilogue is a separate pass.
    let ex = s
        .explain("let q = x @ w\nlet y2 = maximum(q + b, 0.0)")
        .unwrap();
    let text = ex.text(TextOptions { timings: false });
    assert!(!text.contains("fused epilogue"), "{text}");
}

#[test]
fn destinations_that_overlap_an_operand_take_the_unfused_path() {
    let mut s = Session::new();
    s.run("let a = rand((300, 300)) - 0.5\nlet a0 = a * 1.0\na[:, :] = maximum(a @ a.T, 0.1)")
        .unwrap();
    s.run("let want = maximum(a0 @ a0.T, 0.1)").unwrap();
    let (a, want) = (
        s.get("a").unwrap().to_vec::<f64>().unwrap(),
        s.get("want").unwrap().to_vec::<f64>().unwrap(),
    );
    assert!(a.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()));
    let ex = s.explain("a[:, :] = maximum(a @ a.T, 0.1)").unwrap();
    assert!(!ex
        .text(TextOptions { timings: false })
        .contains("fused epilogue"));
    // A fresh destination is written block by block.
    let ex = s
        .explain("let z = zeros((300, 300))\nz[:, :] = maximum(a @ a.T, 0.1)")
        .unwrap();
    assert!(ex
        .text(TextOptions { timings: false })
        .contains("fused epilogue"));
}

#[test]
fn elementwise_operands_are_computed_into_the_gemm_layout() {
    let mut s = Session::new();
    s.run("let t = rand((16, 40, 64)) - 0.5\nlet w = rand((40, 30)) - 0.5")
        .unwrap();
    // `k` sits between the output axes of the first operand: the GEMM needs (i, j, k) order,
    // and the producer writes that order directly.
    let src = "let r = einsum(\"ikj,kl->ijl\", t * 2.0, w)";
    let text = s.explain(src).unwrap().text(TextOptions { timings: false });
    assert!(
        text.contains(
            "writes the f64 operand 'ikj' straight into the buffer the GEMM reads, in 'ijk' order"
        ),
        "{text}"
    );
    assert!(text.contains("GEMM operand buffer"), "{text}");
    s.run("let d = t * 2.0\nlet want = einsum(\"ikj,kl->ijl\", d, w)")
        .unwrap();
    let (r, want) = (
        s.get("r").unwrap().to_vec::<f64>().unwrap(),
        s.get("want").unwrap().to_vec::<f64>().unwrap(),
    );
    assert_eq!(r.len(), 16 * 64 * 30);
    assert!(r.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
    let text = s
        .explain("let m = exp(w.T) @ w")
        .unwrap()
        .text(TextOptions { timings: false });
    assert!(text.contains("matmul operand 0"), "{text}");
}
