//! The memory-bandwidth ceiling of `axpy` on this machine, next to ndx's own `axpy`, in one
//! process, interleaved (the machine is shared and noisy: only same-run ratios mean anything).
//!
//!     cargo run --release -p ndx --example bandwidth
//!
//! For 10M `f32`, `y[:] = 2.5 * x + y2` moves 120 MB (two arrays read, one written). A plain
//! Rust loop on one thread and on two (each half of the arrays) shows how much a second
//! thread can add at all, with plain stores and with streaming (non-temporal) stores as
//! ndx's row code uses for large outputs; ndx with `threads(1)` and `threads(2)` runs the
//! same statement.
//! Prints the medians of 15 repetitions, three rounds.

use ndx::{Array, Session};
use std::time::Instant;

const N: usize = 10_000_000;

fn axpy(x: &[f32], y2: &[f32], y: &mut [f32]) {
    for ((o, a), b) in y.iter_mut().zip(x).zip(y2) {
        *o = 2.5 * a + b;
    }
}

/// `axpy` with streaming (non-temporal) stores of whole 64-byte lines, as ndx's row code
/// stores large outputs (plain stores before the first 64-byte boundary and after the last
/// whole vector, or without AVX-512F).
fn axpy_stream(x: &[f32], y2: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        use std::arch::x86_64::*;
        /// Caller: the CPU has AVX-512F; `x`, `y2` and `y` hold `n` elements (a multiple of
        /// 16), `y` 64-byte aligned.
        #[target_feature(enable = "avx512f")]
        unsafe fn run(x: *const f32, y2: *const f32, y: *mut f32, n: usize) {
            let a = _mm512_set1_ps(2.5);
            for i in (0..n).step_by(16) {
                // SAFETY: the caller's: `i + 16 <= n`.
                unsafe {
                    let v =
                        _mm512_fmadd_ps(a, _mm512_loadu_ps(x.add(i)), _mm512_loadu_ps(y2.add(i)));
                    _mm512_stream_ps(y.add(i), v);
                }
            }
            _mm_sfence();
        }
        let head = y.as_ptr().align_offset(64).min(y.len());
        axpy(&x[..head], &y2[..head], &mut y[..head]);
        let n = (y.len() - head) / 16 * 16;
        let done = head + n;
        // SAFETY: the CPU has AVX-512F; the three slices from `head` hold `n` elements, and
        // `y[head..]` starts 64-byte aligned.
        unsafe {
            run(
                x[head..done].as_ptr(),
                y2[head..done].as_ptr(),
                y[head..done].as_mut_ptr(),
                n,
            )
        };
        axpy(&x[done..], &y2[done..], &mut y[done..]);
        return;
    }
    axpy(x, y2, y);
}

/// Times `f` over the whole arrays on this thread, then over each half on two threads,
/// pushing the seconds to `times.0` and `times.1`.
fn one_and_two(
    f: fn(&[f32], &[f32], &mut [f32]),
    x: &[f32],
    y2: &[f32],
    y: &mut [f32],
    times: (&mut Vec<f64>, &mut Vec<f64>),
) {
    let t = Instant::now();
    f(x, y2, y);
    times.0.push(t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (ya, yb) = y.split_at_mut(N / 2);
    std::thread::scope(|sc| {
        sc.spawn(|| f(&x[..N / 2], &y2[..N / 2], ya));
        f(&x[N / 2..], &y2[N / 2..], yb);
    });
    times.1.push(t.elapsed().as_secs_f64());
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
    println!("| round | Rust 1 thread | Rust 2 threads | Rust streaming, 1 thread | Rust streaming, 2 threads | ndx threads(1) | ndx threads(2) | Rust 2t/1t | Rust streaming 2t/1t | ndx 2t/1t |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for round in 1..=3 {
        let (mut r1, mut r2, mut n1, mut n2) = (vec![], vec![], vec![], vec![]);
        let (mut t1, mut t2) = (vec![], vec![]);
        for _ in 0..15 {
            one_and_two(axpy, &x, &y2, &mut y, (&mut r1, &mut r2));
            one_and_two(axpy_stream, &x, &y2, &mut y, (&mut t1, &mut t2));
            for (s, out) in [(&mut s1, &mut n1), (&mut s2, &mut n2)] {
                let t = Instant::now();
                s.run("y[:] = 2.5 * x + y2").expect("axpy");
                out.push(t.elapsed().as_secs_f64());
            }
        }
        let (r1, r2, n1, n2) = (median(r1), median(r2), median(n1), median(n2));
        let (t1, t2) = (median(t1), median(t2));
        println!(
            "| {round} | {r1:.2} ms | {r2:.2} ms | {t1:.2} ms | {t2:.2} ms | {n1:.2} ms | {n2:.2} ms | {:.2}x | {:.2}x | {:.2}x |",
            r1 / r2,
            t1 / t2,
            n1 / n2
        );
    }
}
