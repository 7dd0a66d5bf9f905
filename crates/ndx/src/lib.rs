//! ndx: compile NumPy-style array programs to native code, and embed the JIT in a host.
//!
//! API SKETCH (being implemented): the signatures below are the contract other parts of the
//! project code against.
#![deny(missing_docs)]

pub use ndx_runtime::{DType, Scalar};
pub use ndx_syntax::{Diagnostic, SourceMap};

use std::path::Path;

/// A value bound to a name in a session.
#[derive(Clone, Debug)]
pub enum Value {
    /// A scalar (weak scalars, such as literals and shape entries, are plain numbers too).
    Scalar(Scalar),
    /// A string.
    Str(String),
    /// A tuple of values (shapes, axis lists).
    Tuple(Vec<Value>),
}

/// An error with its diagnostic, rendered against the source it came from.
#[derive(Clone, Debug)]
pub struct Error {
    diagnostic: Diagnostic,
    rendered: String,
}

impl Error {
    /// The diagnostic data (code, message, labels, notes).
    pub fn diagnostic(&self) -> &Diagnostic {
        &self.diagnostic
    }

    /// The diagnostic drawn for a person: file, line, column, the source line and a caret.
    pub fn render(&self) -> String {
        self.rendered.clone()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for Error {}

/// An interpreter and JIT for ndx programs, holding named values.
#[derive(Default)]
pub struct Session {}

impl Session {
    /// A new session with no values.
    pub fn new() -> Session {
        Session {}
    }

    /// Runs source text; returns the value of a trailing expression statement, if any.
    pub fn run(&mut self, _src: &str) -> Result<Option<Value>, Error> {
        Err(Error { diagnostic: Diagnostic::bug("not yet"), rendered: "not yet".into() })
    }

    /// Runs a script file (`include` paths are relative to it).
    pub fn run_file(&mut self, _path: &Path) -> Result<(), Error> {
        Err(Error { diagnostic: Diagnostic::bug("not yet"), rendered: "not yet".into() })
    }

    /// Parses and type-checks a file without running it.
    pub fn check_file(&mut self, _path: &Path) -> Result<(), Error> {
        Err(Error { diagnostic: Diagnostic::bug("not yet"), rendered: "not yet".into() })
    }

    /// Sends `print` output to an internal buffer instead of stdout (for tests and hosts).
    pub fn capture_output(&mut self) {}

    /// Takes what `print` wrote since capture began.
    pub fn take_output(&mut self) -> String {
        String::new()
    }
}
