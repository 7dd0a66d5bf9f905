//! Every f32 input of every f32 math function against the reference (the f64 libm result
//! rounded to f32): prints the largest ULP distance, where it occurs, and how many inputs are
//! more than 4 ULP off (or break a special-value rule: NaN for NaN, signed zeros and
//! infinities exactly). Not part of `cargo test`: it takes minutes.
//!
//!     cargo run --release -p ndx-codegen --example exhaustive_f32 -- [fn...] [--threads N] [--wide]
//!
//! Function names as in ndx (`exp`, `log1p`, `arcsin`, ...); all of them when none is given.
//! With `--wide`, every input of every function also goes through the 512-bit code of
//! `ndx_runtime::ops::wide_math` (on a CPU with AVX-512F), and a last column counts the inputs
//! where its bits differ from the JIT's (NaN results compare equal whatever their payload).

use ndx_codegen::{Jit, RawArray};
use ndx_ir::kernel::{Kernel, Op, Output, UnaryOp as U};
use ndx_runtime::ops::wide_math;
use ndx_runtime::DType;
use std::time::Instant;

extern "C" {
    fn erf(x: f64) -> f64;
}

/// A function's ndx name, its op and its f64 reference.
type Entry = (&'static str, U, fn(f64) -> f64);

const FUNCTIONS: [Entry; 18] = [
    ("exp", U::Exp, f64::exp),
    ("exp2", U::Exp2, f64::exp2),
    ("expm1", U::Expm1, f64::exp_m1),
    ("log", U::Log, f64::ln),
    ("log2", U::Log2, f64::log2),
    ("log10", U::Log10, f64::log10),
    ("log1p", U::Log1p, f64::ln_1p),
    ("sin", U::Sin, f64::sin),
    ("cos", U::Cos, f64::cos),
    ("tan", U::Tan, f64::tan),
    ("arcsin", U::Arcsin, f64::asin),
    ("arccos", U::Arccos, f64::acos),
    ("arctan", U::Arctan, f64::atan),
    ("sinh", U::Sinh, f64::sinh),
    ("cosh", U::Cosh, f64::cosh),
    ("tanh", U::Tanh, f64::tanh),
    // SAFETY: glibc's erf is a pure function of its argument.
    ("erf", U::Erf, |x| unsafe { erf(x) }),
    ("cbrt", U::Cbrt, f64::cbrt),
];

/// ULP distance, or `u64::MAX` when a special-value rule is broken.
fn ulps(got: f32, want: f32) -> u64 {
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    if (want == 0.0 && got == 0.0) || want.is_infinite() || got.is_infinite() {
        return if want.to_bits() == got.to_bits() {
            0
        } else {
            u64::MAX
        };
    }
    let ord = |x: f32| {
        let i = x.to_bits() as i32 as i64;
        if i < 0 {
            -(i & 0x7fff_ffff)
        } else {
            i
        }
    };
    (ord(got) - ord(want)).unsigned_abs()
}

#[derive(Clone, Copy, Default)]
struct Stats {
    max: u64,
    at: u32,
    over4: u64,
    /// Inputs where the 512-bit code's bits differ from the JIT's.
    wide_diff: u64,
}

fn kernel(op: U) -> Kernel {
    let mut k = Kernel::new();
    k.inputs = vec![DType::F32];
    let x = k.push(Op::Input(0), DType::F32);
    let y = k.push(Op::Unary(op, x), DType::F32);
    k.outputs.push(Output {
        value: y,
        reduce: None,
    });
    k
}

/// Checks the inputs with bit patterns in `lo..hi`.
fn check(op: U, f: fn(f64) -> f64, lo: u64, hi: u64, wide: bool) -> Result<Stats, String> {
    const CHUNK: u64 = 1 << 20;
    let mut jit = Jit::new().map_err(|e| e.to_string())?;
    let k = kernel(op);
    let mut st = Stats::default();
    let mut xs = vec![0f32; CHUNK as usize];
    let mut out = vec![0f32; CHUNK as usize];
    let mut wide_out = Vec::new();
    let wide = wide.then(|| op.wide()).flatten();
    let mut start = lo;
    while start < hi {
        let n = (hi - start).min(CHUNK) as usize;
        for (i, x) in xs[..n].iter_mut().enumerate() {
            *x = f32::from_bits((start + i as u64) as u32);
        }
        let arrays = [
            RawArray {
                ptr: xs.as_ptr() as usize,
                strides: vec![4],
                dtype: DType::F32,
            },
            RawArray {
                ptr: out.as_mut_ptr() as usize,
                strides: vec![4],
                dtype: DType::F32,
            },
        ];
        jit.execute(&k, &[n], &[false], &arrays)
            .map_err(|e| e.to_string())?;
        if let Some(w) = wide {
            wide_out.clear();
            wide_out.extend_from_slice(&xs[..n]);
            if !wide_math::apply(w, &mut wide_out) {
                return Err("this CPU has no AVX-512F".into());
            }
            st.wide_diff += wide_out
                .iter()
                .zip(&out[..n])
                .filter(|(a, b)| a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()))
                .count() as u64;
        }
        for i in 0..n {
            let want = f(f64::from(xs[i])) as f32;
            let u = ulps(out[i], want);
            if u > 4 {
                st.over4 += 1;
            }
            if u > st.max {
                st.max = u;
                st.at = xs[i].to_bits();
            }
        }
        start += n as u64;
    }
    Ok(st)
}

fn main() {
    let mut names = Vec::new();
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut wide = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--wide" {
            wide = true;
        } else if a == "--threads" {
            threads = args
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(threads)
                .max(1);
        } else {
            names.push(a);
        }
    }
    let selected: Vec<_> = FUNCTIONS
        .iter()
        .filter(|(n, _, _)| names.is_empty() || names.iter().any(|m| m == n))
        .collect();
    if selected.is_empty() {
        eprintln!("no such function; choose from:");
        for (n, _, _) in FUNCTIONS {
            eprintln!("  {n}");
        }
        std::process::exit(2);
    }
    if wide {
        println!("| function | max ULP | at x | inputs > 4 ULP | seconds | 512-bit != JIT |");
        println!("|---|---|---|---|---|---|");
    } else {
        println!("| function | max ULP | at x | inputs > 4 ULP | seconds |");
        println!("|---|---|---|---|---|");
    }
    let total = Instant::now();
    for (name, op, f) in selected {
        let t0 = Instant::now();
        let span = (1u64 << 32) / threads as u64;
        let results: Vec<Result<Stats, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let lo = t * span;
                    let hi = if t + 1 == threads as u64 {
                        1 << 32
                    } else {
                        lo + span
                    };
                    s.spawn(move || check(*op, *f, lo, hi, wide))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
                .collect()
        });
        let mut st = Stats::default();
        for r in results {
            match r {
                Ok(s) => {
                    st.over4 += s.over4;
                    st.wide_diff += s.wide_diff;
                    if s.max > st.max {
                        st.max = s.max;
                        st.at = s.at;
                    }
                }
                Err(e) => {
                    eprintln!("{name}: {e}");
                    std::process::exit(1);
                }
            }
        }
        let max = if st.max == u64::MAX {
            "special".to_string()
        } else {
            st.max.to_string()
        };
        let diff = match (wide, op.wide()) {
            (true, Some(_)) => format!(" {} |", st.wide_diff),
            (true, None) => " - |".to_string(),
            (false, _) => String::new(),
        };
        println!(
            "| {name} | {max} | {:e} ({:#010x}) | {} | {:.0} |{diff}",
            f32::from_bits(st.at),
            st.at,
            st.over4,
            t0.elapsed().as_secs_f64()
        );
    }
    println!("total {:.0} s", total.elapsed().as_secs_f64());
}
