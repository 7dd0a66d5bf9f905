//! Einsum specs and contraction planning (LANGUAGE.md section 5; DESIGN.md, "Einsum planning").
//!
//! Everything here is a pure function of the spec text and the operand shapes:
//! - [`parse`] checks a spec against the shapes, expands `...` and fills in the implicit output;
//!   every mistake is a [`SpecError`] that names the offending letter or operand.
//! - [`plan`] picks a pairwise contraction order that minimises FLOPs as opt_einsum counts them:
//!   exhaustive search up to [`OPTIMAL_MAX`] operands, greedy beyond, and no search at all for
//!   one or two operands. No intermediate (a step result other than the final output) holds
//!   more elements than the memory limit; when no pairwise order fits, the remaining operands
//!   are contracted in one direct loop, as NumPy does.
//!
//! Invariants of a [`Plan`]: applying its steps in order to the operand list (each step removes
//! the operands at its positions and appends its result) leaves exactly one term whose labels
//! are the spec's output in order; every step's result labels are distinct and each appears in
//! one of its inputs; FLOP counts and sizes saturate instead of overflowing.
//!
//! Submodules: `spec` (parsing), `plan` (the search and the step layout), `report` (the
//! `einsum_path` text).

mod plan;
mod report;
mod spec;

pub use plan::{
    distinct, gemm_groups, plan, Plan, PlanOptions, Step, StepKind, DEFAULT_MEMORY_FLOOR, GEMM_MIN,
    OPTIMAL_MAX,
};
pub use spec::{parse, Spec, SpecError};

/// An index label: the letter itself, or for a dimension under `...`, an unused ASCII letter
/// (Greek letters once those run out).
pub type Label = char;

#[cfg(test)]
mod tests;
