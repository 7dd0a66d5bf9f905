//! Host functions that generated code calls: the few integer and float operations whose exact
//! NumPy semantics are easier to get right in Rust than in IR (float floor division and
//! modulo, integer power), and the logarithm and cosine of `randn()`'s Box-Muller transform in
//! kernels. The math functions of array code are Cranelift IR ([`crate::vmath`]); no vector
//! loop calls out.
//!
//! Invariants: every function here is `extern "C"`, total (never panics, never traps, for any
//! input bits) and computes exactly what the reference evaluator in `ndx_ir::eval` computes, so
//! that JIT results match it bit for bit. [`host_functions`] is the one table that both the
//! symbol registration ([`crate::Jit::new`]) and the lowering read.

use cranelift_codegen::ir::{types, Type};
use ndx_ir::eval;

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
    ndx_cos_f64: F64_1 => types::F64,
    ndx_floordiv_f32: F32_2 => types::F32, ndx_floordiv_f64: F64_2 => types::F64,
    ndx_mod_f32: F32_2 => types::F32, ndx_mod_f64: F64_2 => types::F64,
    ndx_ipow_i32: &[types::I32, types::I32] => types::I32,
    ndx_ipow_i64: &[types::I64, types::I64] => types::I64,
}
