//! A host program embedding ndx: it loads `smooth.ndx`, gets handles to its compiled kernels,
//! and runs a simulation on its own buffers, which ndx reads and writes in place (no copies).
//!
//! Usage: `ndx-host-app [STEPS]` (default 200). Prints the energy every 50 steps and the time
//! per kernel call.

use ndx::{Arg, ArrayMut, ArrayRef, Session};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error is data: a host could show it its own way; here, ndx's rendering.
            eprintln!("{}", e.render());
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), ndx::Error> {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("smooth.ndx");
    let mut session = Session::new();
    session.run_file(&script)?;
    // Handles are Send + Sync and outlive the session.
    let relax = session.kernel("relax")?;
    let energy = session.kernel("energy")?;
    drop(session);

    // The host's own buffers: a spike in the middle of a rod.
    let n = 1001;
    let mut u = vec![0.0f64; n];
    u[n / 2] = 1.0;
    let mut next = vec![0.0f64; n];

    let start = Instant::now();
    for step in 0..steps {
        relax.call(&mut [
            ArrayRef::new(&u, &[n])?.into(),
            ArrayMut::new(&mut next, &[n])?.into(),
            Arg::from(0.25f64),
        ])?;
        std::mem::swap(&mut u, &mut next);
        if (step + 1) % 50 == 0 {
            let e = energy.call(&mut [ArrayRef::new(&u, &[n])?.into()])?;
            if let Some(ndx::Scalar::F64(e)) = e {
                println!("step {:>4}: energy {e:.6}", step + 1);
            }
        }
    }
    let per_call = start.elapsed().as_secs_f64() / steps.max(1) as f64;

    // An ndarray view works the same way: the middle of the rod, read through a strided view.
    let arr = ndarray::Array1::from(u.clone());
    let middle = arr.slice(ndarray::s![n / 2 - 2..=n / 2 + 2]);
    let e = energy.call(&mut [ArrayRef::try_from(middle)?.into()])?;
    if let Some(ndx::Scalar::F64(e)) = e {
        println!("energy of the middle 5 points: {e:.6}");
    }
    let total: f64 = u.iter().sum();
    println!("heat conserved: {total:.6}");
    eprintln!("{:.2} us per step", per_call * 1e6);
    Ok(())
}
