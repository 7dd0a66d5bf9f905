//! ndx front end: the logos lexer, the lalrpop parser, the AST with spans, and diagnostics.
#![deny(missing_docs)]

pub mod ast;
pub mod diag;
pub mod lexer;
mod parser;
pub mod span;

pub use diag::{Diagnostic, Label, Severity, SourceMap};
pub use lexer::is_incomplete;
pub use parser::parse;
pub use span::{FileId, Span};
