//! ndx IR: the typed fused-kernel graph, scheduling onto loop nests, type promotion and
//! broadcasting rules, einsum spec parsing and contraction planning, and a reference
//! evaluator that defines what every operation means.
#![deny(missing_docs)]

pub mod contract;
pub mod eval;
pub mod kernel;
pub mod kir;
pub mod loops;
pub mod promote;
pub mod scan;
pub mod shape;

pub use kernel::{BinaryOp, Handle, Kernel, Node, Op, Output, ReduceOp, UnaryOp, VerifyError};
