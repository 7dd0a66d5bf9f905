//! Host functions that generated code calls: the libm functions Cranelift has no instruction
//! for, and the few integer and float operations whose exact NumPy semantics are easier to get
//! right in Rust than in IR (float floor division and modulo, integer power).
//!
//! Invariants: every function here is `extern "C"`, total (never panics, never traps, for any
//! input bits) and computes exactly what the reference evaluator in `ndx_ir::eval` computes, so
//! that JIT results match it bit for bit. [`HOST_FUNCTIONS`] is the one table that both the
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

macro_rules! unary_fns {
    ($($name32:ident, $name64:ident, $body:expr;)*) => {
        $(
            extern "C" fn $name32(x: f32) -> f32 {
                let f: fn(f32) -> f32 = $body;
                f(x)
            }
            extern "C" fn $name64(x: f64) -> f64 {
                let f: fn(f64) -> f64 = $body;
                f(x)
            }
        )*
    };
}

unary_fns! {
    ndx_cbrt_f32, ndx_cbrt_f64, |x| x.cbrt();
    ndx_exp_f32, ndx_exp_f64, |x| x.exp();
    ndx_exp2_f32, ndx_exp2_f64, |x| x.exp2();
    ndx_expm1_f32, ndx_expm1_f64, |x| x.exp_m1();
    ndx_log_f32, ndx_log_f64, |x| x.ln();
    ndx_log2_f32, ndx_log2_f64, |x| x.log2();
    ndx_log10_f32, ndx_log10_f64, |x| x.log10();
    ndx_log1p_f32, ndx_log1p_f64, |x| x.ln_1p();
    ndx_sin_f32, ndx_sin_f64, |x| x.sin();
    ndx_cos_f32, ndx_cos_f64, |x| x.cos();
    ndx_tan_f32, ndx_tan_f64, |x| x.tan();
    ndx_asin_f32, ndx_asin_f64, |x| x.asin();
    ndx_acos_f32, ndx_acos_f64, |x| x.acos();
    ndx_atan_f32, ndx_atan_f64, |x| x.atan();
    ndx_sinh_f32, ndx_sinh_f64, |x| x.sinh();
    ndx_cosh_f32, ndx_cosh_f64, |x| x.cosh();
    ndx_tanh_f32, ndx_tanh_f64, |x| x.tanh();
    ndx_erf_f32, ndx_erf_f64, |x| erf(x);
}

/// `erf` for both float widths, as the reference evaluator defines it.
trait Erf {
    fn erf_value(self) -> Self;
}
impl Erf for f32 {
    fn erf_value(self) -> f32 {
        eval::erf_f32(self)
    }
}
impl Erf for f64 {
    fn erf_value(self) -> f64 {
        eval::erf_f64(self)
    }
}
fn erf<T: Erf>(x: T) -> T {
    x.erf_value()
}

extern "C" fn ndx_atan2_f32(a: f32, b: f32) -> f32 {
    a.atan2(b)
}
extern "C" fn ndx_atan2_f64(a: f64, b: f64) -> f64 {
    a.atan2(b)
}
extern "C" fn ndx_pow_f32(a: f32, b: f32) -> f32 {
    a.powf(b)
}
extern "C" fn ndx_pow_f64(a: f64, b: f64) -> f64 {
    a.powf(b)
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

const F32_1: &[Type] = &[types::F32];
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
    ndx_cbrt_f32: F32_1 => types::F32, ndx_cbrt_f64: F64_1 => types::F64,
    ndx_exp_f32: F32_1 => types::F32, ndx_exp_f64: F64_1 => types::F64,
    ndx_exp2_f32: F32_1 => types::F32, ndx_exp2_f64: F64_1 => types::F64,
    ndx_expm1_f32: F32_1 => types::F32, ndx_expm1_f64: F64_1 => types::F64,
    ndx_log_f32: F32_1 => types::F32, ndx_log_f64: F64_1 => types::F64,
    ndx_log2_f32: F32_1 => types::F32, ndx_log2_f64: F64_1 => types::F64,
    ndx_log10_f32: F32_1 => types::F32, ndx_log10_f64: F64_1 => types::F64,
    ndx_log1p_f32: F32_1 => types::F32, ndx_log1p_f64: F64_1 => types::F64,
    ndx_sin_f32: F32_1 => types::F32, ndx_sin_f64: F64_1 => types::F64,
    ndx_cos_f32: F32_1 => types::F32, ndx_cos_f64: F64_1 => types::F64,
    ndx_tan_f32: F32_1 => types::F32, ndx_tan_f64: F64_1 => types::F64,
    ndx_asin_f32: F32_1 => types::F32, ndx_asin_f64: F64_1 => types::F64,
    ndx_acos_f32: F32_1 => types::F32, ndx_acos_f64: F64_1 => types::F64,
    ndx_atan_f32: F32_1 => types::F32, ndx_atan_f64: F64_1 => types::F64,
    ndx_sinh_f32: F32_1 => types::F32, ndx_sinh_f64: F64_1 => types::F64,
    ndx_cosh_f32: F32_1 => types::F32, ndx_cosh_f64: F64_1 => types::F64,
    ndx_tanh_f32: F32_1 => types::F32, ndx_tanh_f64: F64_1 => types::F64,
    ndx_erf_f32: F32_1 => types::F32, ndx_erf_f64: F64_1 => types::F64,
    ndx_atan2_f32: F32_2 => types::F32, ndx_atan2_f64: F64_2 => types::F64,
    ndx_pow_f32: F32_2 => types::F32, ndx_pow_f64: F64_2 => types::F64,
    ndx_floordiv_f32: F32_2 => types::F32, ndx_floordiv_f64: F64_2 => types::F64,
    ndx_mod_f32: F32_2 => types::F32, ndx_mod_f64: F64_2 => types::F64,
    ndx_ipow_i32: &[types::I32, types::I32] => types::I32,
    ndx_ipow_i64: &[types::I64, types::I64] => types::I64,
}
