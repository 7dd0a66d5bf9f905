//! The f64 functions (`f64x2`), ported from SLEEF's 1-ULP (`_u1`/`u10`) double-precision
//! code, and its 3.5-ULP plain-double code for `log`, `arctan`, `arctan2` and `cbrt`
//! ([`fast`]), and `arcsin` and `arccos` ([`trig`]); `expm1`,
//! `sinh` and `tanh` are plain-double code of ndx's own ([`exp`]: Taylor polynomials, and
//! `exp` with an exact scaling), at most 1.6 ULP against a 40-digit reference. Every
//! function clamps its argument before any exponent arithmetic: integer views never see a
//! value out of their range.

pub(in crate::vmath) use super::{D2, M};
pub(in crate::vmath) use crate::CodegenError;
pub(in crate::vmath) use cranelift_codegen::ir::Value;

// Shared with the 512-bit `exp` that block programs call instead (same constants, same bits).
pub(in crate::vmath) use ndx_runtime::ops::wide_math::consts64::{
    ASIN_POLY as ASIN, ATAN2_TINY, ATAN_U35_POLY, CBRT_2_1_3, CBRT_2_2_3, CBRT_POLY, ERF_A,
    ERF_A_DD, ERF_B, ERF_B_DD, EXP2_POLY, EXPK_POLY, EXPM1_OVER, EXPM1_TAYLOR, EXPM1_UNDER, EXP_HI,
    EXP_LO, EXP_POLY, FRAC_2_PI_DD, L2L, L2U, LN2_DD, LOG10_2_DD, LOG10_K, LOG10_POLY, LOG2_K,
    LOG2_POLY, LOGK_C3, LOGK_POLY, LOG_DBL_MAX, LOG_U1, PI_A, PI_B, PI_B2, PI_C, PI_D, R_LN2,
    SINCOS_C3, SINCOS_POLY, SINH_TAYLOR, TAN_PLAIN_MAX, TAN_POLY,
};
pub(in crate::vmath) const DBL_MIN: f64 = f64::MIN_POSITIVE;
pub(in crate::vmath) const M_1_PI: f64 = std::f64::consts::FRAC_1_PI;
pub(in crate::vmath) const PI_A2: f64 = std::f64::consts::PI;
/// Below this, the two-constant reduction of sin/cos/tan is exact enough.
pub(in crate::vmath) const TRIG_SMALL: f64 = 15.0;
/// From this on, sin/cos/tan reduce by Payne-Hanek ([`M::pi_reduce`]).
pub(in crate::vmath) const TRIG_MAX: f64 = 1e14;
pub(in crate::vmath) const P2_24: f64 = 16_777_216.0;

mod exp;
mod fast;
mod log;
mod special;
mod trig;

pub(in crate::vmath) use exp::*;
pub(in crate::vmath) use fast::*;
pub(in crate::vmath) use log::*;
pub(in crate::vmath) use special::*;
pub(in crate::vmath) use trig::*;
