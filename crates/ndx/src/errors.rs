//! The public error type: a diagnostic as plain data (code, kind, message, located labels,
//! notes) plus its rendering, so a host can show errors its own way or print ndx's.

use ndx_syntax::diag::Severity;
use ndx_syntax::{Diagnostic, SourceMap};

/// What kind of mistake an error is, from its code. Every code belongs to one kind; a code's
/// kind never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text does not parse (E011x, E012x).
    Syntax,
    /// An unknown or unbound name (E010x).
    Name,
    /// Array operations: broadcasting, indexing, operand types, einsum specs (E02xx).
    Array,
    /// Memory and values at run time: allocation, read-only arrays, conversions (E03xx).
    Runtime,
    /// `break`, `continue`, `return` or `for` used where they cannot be (E04xx).
    ControlFlow,
    /// Files: `include`, `load`, `save`, scripts (E05xx).
    Io,
    /// Calls of `fn`s and builtins: argument counts, types and keywords (E06xx, E07xx).
    Call,
    /// A `kernel` block that does not type-check (E08xx).
    Kernel,
    /// A compiled kernel stopped at run time: an index out of bounds, a division by zero
    /// (E09xx).
    KernelFault,
    /// A bug in ndx: the message asks for a report.
    Bug,
    /// Any other code (host API misuse such as a missing name).
    Other,
}

impl ErrorKind {
    /// The kind of an error code.
    ///
    /// ```
    /// use ndx::ErrorKind;
    /// assert_eq!(ErrorKind::of_code("E0201"), ErrorKind::Array);
    /// assert_eq!(ErrorKind::of_code("E0905"), ErrorKind::KernelFault);
    /// ```
    pub fn of_code(code: &str) -> ErrorKind {
        let n: u32 = code
            .strip_prefix('E')
            .and_then(|d| d.parse().ok())
            .unwrap_or(u32::MAX);
        match n {
            100..=109 => ErrorKind::Name,
            110..=199 => ErrorKind::Syntax,
            200..=299 => ErrorKind::Array,
            300..=399 => ErrorKind::Runtime,
            400..=499 => ErrorKind::ControlFlow,
            500..=599 => ErrorKind::Io,
            600..=799 => ErrorKind::Call,
            800..=899 => ErrorKind::Kernel,
            900..=999 => ErrorKind::KernelFault,
            _ => ErrorKind::Other,
        }
    }
}

/// A located part of an error, resolved to lines and columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorLabel {
    /// The file's display name (`<input>` for [`crate::Session::run`] text).
    pub file: String,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub column: usize,
    /// 1-based line of the last character.
    pub end_line: usize,
    /// 1-based column just past the last character.
    pub end_column: usize,
    /// Byte range in the file's text.
    pub bytes: std::ops::Range<usize>,
    /// The source text the label covers.
    pub text: String,
    /// What to say there (may be empty).
    pub message: String,
    /// The label the caret points at (the others add context).
    pub primary: bool,
}

/// An error with its diagnostic data and its rendering against the source it came from.
///
/// ```
/// let mut s = ndx::Session::new();
/// let e = s.run("let x = [1.0, 2.0]\nlet y = x + [1, 2, 3]").unwrap_err();
/// assert_eq!(e.code(), "E0201");
/// assert_eq!(e.kind(), ndx::ErrorKind::Array);
/// let l = &e.labels()[0];
/// assert_eq!((l.line, l.column, l.text.as_str()), (2, 9, "x + [1, 2, 3]"));
/// assert!(e.render().contains("2 │ let y = x + [1, 2, 3]"));
/// ```
#[derive(Clone, Debug)]
pub struct Error {
    diagnostic: Box<Diagnostic>,
    labels: Vec<ErrorLabel>,
    rendered: String,
}

impl Error {
    pub(crate) fn new(d: Diagnostic, sources: &SourceMap) -> Error {
        let labels = d
            .labels
            .iter()
            .map(|l| {
                let text = sources.text(l.span.file);
                let (line, column) = sources.line_col(l.span.file, l.span.start);
                let (end_line, end_column) = sources.line_col(l.span.file, l.span.end);
                let (s, e) = (l.span.start as usize, l.span.end as usize);
                ErrorLabel {
                    file: sources.name(l.span.file).to_string(),
                    line,
                    column,
                    end_line,
                    end_column,
                    bytes: s..e,
                    text: text.get(s..e).unwrap_or("").to_string(),
                    message: l.message.clone(),
                    primary: l.primary,
                }
            })
            .collect();
        let rendered = sources.render(&d);
        Error {
            diagnostic: Box::new(d),
            labels,
            rendered,
        }
    }

    pub(crate) fn plain(code: &str, message: &str) -> Error {
        Error::new(Diagnostic::error(code, message), &SourceMap::new())
    }

    /// The stable code, such as `E0201` (`B0000` for bugs).
    pub fn code(&self) -> &str {
        &self.diagnostic.code
    }

    /// The kind of mistake.
    pub fn kind(&self) -> ErrorKind {
        if self.is_bug() {
            ErrorKind::Bug
        } else {
            ErrorKind::of_code(&self.diagnostic.code)
        }
    }

    /// True for a bug in ndx rather than a mistake in the program.
    pub fn is_bug(&self) -> bool {
        self.diagnostic.severity == Severity::Bug
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.diagnostic.message
    }

    /// Where the error is, primary label first (empty when no source is involved).
    pub fn labels(&self) -> &[ErrorLabel] {
        &self.labels
    }

    /// Extra lines of explanation.
    pub fn notes(&self) -> &[String] {
        &self.diagnostic.notes
    }

    /// The underlying diagnostic (spans as byte offsets).
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

impl From<ndx_runtime::RuntimeError> for Error {
    /// A runtime error from building arrays on the host side (`Array::from_vec` and the
    /// like), as error E0300, so `?` works in host code.
    fn from(e: ndx_runtime::RuntimeError) -> Error {
        Error::plain("E0300", &e.to_string())
    }
}
