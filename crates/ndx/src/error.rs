//! Error plumbing inside the interpreter.
//!
//! Internally every failure is a [`Diagnostic`] (`Diag`). Errors raised far from source (the
//! runtime, the JIT) carry no location; [`At::at`] attaches the span of the expression being
//! evaluated when the diagnostic has none yet, so every error that came from source points at
//! it. The public [`crate::Error`] renders the diagnostic against the session's sources.

use ndx_runtime::RuntimeError;
use ndx_syntax::{Diagnostic, Span};

/// The interpreter's internal error.
pub(crate) type Diag = Diagnostic;

/// Converts a runtime error into a diagnostic without a location.
pub(crate) fn runtime_err(e: RuntimeError) -> Diag {
    Diagnostic::error("E0300", e.to_string())
}

/// A located error.
pub(crate) fn err_at(code: &str, span: Span, message: impl Into<String>) -> Diag {
    Diagnostic::error(code, message).with_primary(span, "")
}

/// E0601: `what` (such as "`f`" or "kernel `k`") called with `got` arguments instead of
/// `want`.
pub(crate) fn arity_error(what: &str, want: usize, got: usize) -> Diag {
    Diagnostic::error(
        "E0601",
        format!("{what} takes {want} argument(s) but {got} were given"),
    )
}

/// [`arity_error`] unless `got == want`, located at the call and pointing at the definition.
pub(crate) fn check_arity(
    what: &str,
    want: usize,
    got: usize,
    call: Span,
    def: Span,
) -> Result<(), Diag> {
    if got == want {
        return Ok(());
    }
    Err(arity_error(what, want, got)
        .with_primary(call, "")
        .with_secondary(def, "defined here"))
}

/// Axis `k` (negative counts from the end) of an array of `ndim` dimensions, or E0232 at
/// `span`.
pub(crate) fn axis_at(k: i64, ndim: usize, span: Span) -> Result<usize, Diag> {
    ndx_ir::shape::normalize_axis(k, ndim).ok_or_else(|| {
        err_at(
            "E0232",
            span,
            format!("axis {k} is out of bounds for an array of dimension {ndim}"),
        )
    })
}

/// Attaching a location to errors that have none.
pub(crate) trait At<T> {
    /// Labels the error with `span` unless it already points somewhere.
    fn at(self, span: Span) -> Result<T, Diag>;
}

impl<T> At<T> for Result<T, Diag> {
    fn at(self, span: Span) -> Result<T, Diag> {
        self.map_err(|d| {
            if d.labels.is_empty() {
                d.with_primary(span, "")
            } else {
                d
            }
        })
    }
}

impl<T> At<T> for Result<T, RuntimeError> {
    fn at(self, span: Span) -> Result<T, Diag> {
        self.map_err(|e| runtime_err(e).with_primary(span, ""))
    }
}
