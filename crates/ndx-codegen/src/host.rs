//! Host functions that generated code calls: the few integer and float operations whose exact
//! NumPy semantics are easier to get right in Rust than in IR (float floor division and
//! modulo, integer power), the Payne-Hanek reduction of large trigonometric arguments (cold
//! blocks of [`crate::vmath`], which is otherwise Cranelift IR and calls no libm), and the
//! logarithm and cosine of `randn()`'s Box-Muller transform in kernels.
//!
//! Invariants: every function here is `extern "C"`, total (never panics, never traps, for any
//! input bits) and computes exactly what the reference evaluator in `ndx_ir::eval` computes, so
//! that JIT results match it bit for bit. [`host_functions`] is the one table that both the
//! symbol registration ([`crate::Jit::new`]) and the lowering read.

use cranelift_codegen::ir::{types, Type};
use ndx_ir::eval;
use ndx_runtime::ops::pi_reduce;

/// One host function: its symbol name, address, parameter types and result type.
pub(crate) struct HostFn {
    /// Symbol name, unique in the JIT module.
    pub name: &'static str,
    /// The function's address.
    pub addr: *const u8,
    /// Parameter types.
    pub params: &'static [Type],
    /// Result type.
    pub ret: Type,
}

// `randn()` in kernels: Box-Muller's logarithm and cosine (scalar code, once per draw).
extern "C" fn ndx_log_f64(x: f64) -> f64 {
    x.ln()
}
extern "C" fn ndx_cos_f64(x: f64) -> f64 {
    x.cos()
}

// Payne-Hanek reduction of large `sin`/`cos`/`tan` arguments, for the lanes of one vector
// (`vmath::reduce`). `frame` is the 64-byte stack slot of that code: the argument vector at
// offset 0; the results at 16 (q), 32 (d, or the high part) and 48 (the low part, f64).
// `unit`: `pi_reduce::Unit::code`. Returns 0.

extern "C" fn ndx_pi_reduce_f32(frame: *mut u8, unit: i64) -> i64 {
    let unit = pi_reduce::Unit::from_code(unit);
    for lane in 0..4 {
        // SAFETY: `frame` is the caller's 64-byte, 16-aligned stack slot (see above).
        unsafe {
            let x = frame.cast::<f32>().add(lane).read();
            let (d, q) = pi_reduce::trig_f32(x, unit);
            frame.add(16).cast::<i32>().add(lane).write(q);
            frame.add(32).cast::<f32>().add(lane).write(d);
        }
    }
    0
}

extern "C" fn ndx_pi_reduce_f64(frame: *mut u8, unit: i64) -> i64 {
    let unit = pi_reduce::Unit::from_code(unit);
    for lane in 0..2 {
        // SAFETY: as in `ndx_pi_reduce_f32`.
        unsafe {
            let x = frame.cast::<f64>().add(lane).read();
            let (hi, lo, q) = pi_reduce::trig_f64(x, unit);
            frame.add(16).cast::<f64>().add(lane).write(q);
            frame.add(32).cast::<f64>().add(lane).write(hi);
            frame.add(48).cast::<f64>().add(lane).write(lo);
        }
    }
    0
}

extern "C" fn ndx_floordiv_f32(a: f32, b: f32) -> f32 {
    eval::float_divmod32(a, b).0
}
extern "C" fn ndx_floordiv_f64(a: f64, b: f64) -> f64 {
    eval::float_divmod(a, b).0
}
extern "C" fn ndx_mod_f32(a: f32, b: f32) -> f32 {
    eval::float_divmod32(a, b).1
}
extern "C" fn ndx_mod_f64(a: f64, b: f64) -> f64 {
    eval::float_divmod(a, b).1
}

extern "C" fn ndx_ipow_i32(a: i32, b: i32) -> i32 {
    // Wrapping products modulo 2^64 truncate to the products modulo 2^32.
    eval::ipow(i64::from(a), i64::from(b)) as i32
}
extern "C" fn ndx_ipow_i64(a: i64, b: i64) -> i64 {
    eval::ipow(a, b)
}

const F64_1: &[Type] = &[types::F64];
const F32_2: &[Type] = &[types::F32, types::F32];
const F64_2: &[Type] = &[types::F64, types::F64];

macro_rules! table {
    ($($name:ident: $params:expr => $ret:expr),* $(,)?) => {
        /// Every host function, registered as a JIT symbol under its Rust name.
        pub(crate) fn host_functions() -> Vec<HostFn> {
            vec![$(HostFn {
                name: stringify!($name),
                addr: $name as *const u8,
                params: $params,
                ret: $ret,
            }),*]
        }
    };
}

table! {
    ndx_log_f64: F64_1 => types::F64,
    ndx_pi_reduce_f32: &[types::I64, types::I64] => types::I64,
    ndx_pi_reduce_f64: &[types::I64, types::I64] => types::I64,
    ndx_cos_f64: F64_1 => types::F64,
    ndx_floordiv_f32: F32_2 => types::F32, ndx_floordiv_f64: F64_2 => types::F64,
    ndx_mod_f32: F32_2 => types::F32, ndx_mod_f64: F64_2 => types::F64,
    ndx_ipow_i32: &[types::I32, types::I32] => types::I32,
    ndx_ipow_i64: &[types::I64, types::I64] => types::I64,
}
