//! The memory-bandwidth ceiling of `axpy` on this machine, next to ndx's own `axpy`, in one
//! process, interleaved (the machine is shared and noisy: only same-run ratios mean anything).
//!
//!     cargo run --release -p ndx --example bandwidth
//!
//! For 10M `f32`, `y[:] = 2.5 * x + y2` moves 120 MB (two arrays read, one written). A plain
//! Rust loop on one thread and on two (each half of the arrays) shows how much a second
//! thread can add at all; ndx with `threads(1)` and `threads(2)` runs the same statement.
//! Prints the medians of 15 repetitions, three rounds.

use ndx::{Array, Session};
use std::time::Instant;

const N: usize = 10_000_000;

fn axpy(x: &[f32], y2: &[f32], y: &mut [f32]) {
    for ((o, a), b) in y.iter_mut().zip(x).zip(y2) {
        *o = 2.5 * a + b;
    }
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2] * 1e3
}

fn session(threads: usize, x: &[f32], y2: &[f32]) -> Session {
    let mut s = Session::new();
    s.run(&format!("threads({threads})")).expect("threads");
    s.set("x", Array::from_vec(x.to_vec(), &[N]).expect("x"));
    s.set("y2", Array::from_vec(y2.to_vec(), &[N]).expect("y2"));
    s.run("let y = zeros(10000000, dtype=f32)\ny[:] = 2.5 * x + y2")
        .expect("warm-up");
    s
}

fn main() {
    let x: Vec<f32> = (0..N).map(|i| (i % 1000) as f32).collect();
    let y2: Vec<f32> = (0..N).map(|i| (i % 7) as f32).collect();
    let mut y = x.clone();
    let mut s1 = session(1, &x, &y2);
    let mut s2 = session(2, &x, &y2);
    println!("| round | Rust 1 thread | Rust 2 threads | ndx threads(1) | ndx threads(2) | Rust 2t/1t | ndx 2t/1t |");
    println!("|---|---|---|---|---|---|---|");
    for round in 1..=3 {
        let (mut r1, mut r2, mut n1, mut n2) = (vec![], vec![], vec![], vec![]);
        for _ in 0..15 {
            let t = Instant::now();
            axpy(&x, &y2, &mut y);
            r1.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let (ya, yb) = y.split_at_mut(N / 2);
            std::thread::scope(|sc| {
                sc.spawn(|| axpy(&x[..N / 2], &y2[..N / 2], ya));
                axpy(&x[N / 2..], &y2[N / 2..], yb);
            });
            r2.push(t.elapsed().as_secs_f64());
            for (s, out) in [(&mut s1, &mut n1), (&mut s2, &mut n2)] {
                let t = Instant::now();
                s.run("y[:] = 2.5 * x + y2").expect("axpy");
                out.push(t.elapsed().as_secs_f64());
            }
        }
        let (r1, r2, n1, n2) = (median(r1), median(r2), median(n1), median(n2));
        println!(
            "| {round} | {r1:.2} ms | {r2:.2} ms | {n1:.2} ms | {n2:.2} ms | {:.2}x | {:.2}x |",
            r1 / r2,
            n1 / n2
        );
    }
}
