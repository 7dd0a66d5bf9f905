//! The parser: the lalrpop-generated LR parser over the filtered token stream, with its
//! errors turned into diagnostics that say what was found and what was expected.
//!
//! Error codes: E0120 unexpected token, E0121 unexpected end of input.

use crate::ast::Program;
use crate::diag::Diagnostic;
use crate::lexer::{tokenize, Tok};
use crate::span::{FileId, Span};
use lalrpop_util::ParseError;

/// The parser's user error type: the lexer reports its errors before parsing starts.
#[derive(Clone, Debug, PartialEq)]
pub enum NoError {}

#[allow(
    clippy::all,
    clippy::pedantic,
    unused,
    missing_docs,
    unused_qualifications
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/ndx.rs"));
}

/// Parses a whole file.
pub fn parse(file: FileId, src: &str) -> Result<Program, Diagnostic> {
    let tokens = tokenize(file, src)?;
    let parser = generated::ProgramParser::new();
    parser
        .parse(file, tokens.into_iter().map(Ok::<_, NoError>))
        .map_err(|e| convert(e, file, src))
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Sep => "end of line".into(),
        Tok::Ident(n) => format!("identifier `{n}`"),
        Tok::Int(v) => format!("integer `{v}`"),
        Tok::Float(v) => format!("number `{v}`"),
        Tok::Str(_) | Tok::StrText(_) => "a string".into(),
        other => {
            let d = format!("{other:?}");
            format!("`{}`", symbol(&d).unwrap_or(&d))
        }
    }
}

/// The source text of a fixed token, from its variant name.
fn symbol(variant: &str) -> Option<&'static str> {
    Some(match variant {
        "Let" => "let",
        "Fn" => "fn",
        "Kernel" => "kernel",
        "For" => "for",
        "In" => "in",
        "While" => "while",
        "If" => "if",
        "Else" => "else",
        "Return" => "return",
        "Break" => "break",
        "Continue" => "continue",
        "True" => "true",
        "False" => "false",
        "And" => "and",
        "Or" => "or",
        "Not" => "not",
        "Newaxis" => "newaxis",
        "Include" => "include",
        "Plus" => "+",
        "Minus" => "-",
        "Star" => "*",
        "Slash" => "/",
        "SlashSlash" => "//",
        "Percent" => "%",
        "At" => "@",
        "StarStar" => "**",
        "Amp" => "&",
        "Caret" => "^",
        "Pipe" => "|",
        "Tilde" => "~",
        "EqEq" => "==",
        "Ne" => "!=",
        "Lt" => "<",
        "Le" => "<=",
        "Gt" => ">",
        "Ge" => ">=",
        "Assign" => "=",
        "PlusEq" => "+=",
        "MinusEq" => "-=",
        "StarEq" => "*=",
        "SlashEq" => "/=",
        "Arrow" => "->",
        "Colon" => ":",
        "Comma" => ",",
        "Dot" => ".",
        "Ellipsis" => "...",
        "LParen" => "(",
        "RParen" => ")",
        "LBracket" => "[",
        "RBracket" => "]",
        "LBrace" => "{",
        "RBrace" => "}",
        _ => return None,
    })
}

/// A readable list of what the parser expected.
fn expected_text(expected: &[String]) -> String {
    let clean: Vec<String> = expected
        .iter()
        .map(|e| match e.trim_matches('"') {
            "SEP" => "end of line".to_string(),
            "identifier" | "integer" | "float" | "string" => e.trim_matches('"').to_string(),
            other => format!("\"{}\"", other.replace("\\\"", "\"")),
        })
        .collect();
    let starts_expr = ["identifier", "integer", "(", "["]
        .iter()
        .all(|k| clean.iter().any(|c| c.trim_matches('"') == *k));
    if clean.len() > 8 && starts_expr {
        let mut extra: Vec<String> = clean
            .iter()
            .filter(|c| {
                let t = c.trim_matches('"');
                ["end of line", "}", ")", "]", ",", "="].contains(&t)
            })
            .cloned()
            .collect();
        extra.sort();
        extra.dedup();
        if extra.is_empty() {
            return "an expression".into();
        }
        return format!("an expression or one of: {}", extra.join(", "));
    }
    if clean.len() > 12 {
        return "an operator or the end of the statement".into();
    }
    format!("one of: {}", clean.join(", "))
}

fn convert(e: ParseError<usize, Tok, NoError>, file: FileId, src: &str) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => Diagnostic::error("E0120", format!("unexpected {}", describe(&tok))).with_primary(
            Span::new(file, l, r),
            format!("expected {}", expected_text(&expected)),
        ),
        ParseError::UnrecognizedEof { location, expected } => {
            let at = location.min(src.len());
            Diagnostic::error("E0121", "unexpected end of input").with_primary(
                Span::new(file, at, at),
                format!("expected {}", expected_text(&expected)),
            )
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error("E0120", format!("unexpected {}", describe(&tok)))
                .with_primary(Span::new(file, l, r), "")
        }
        ParseError::InvalidToken { location } => Diagnostic::error("E0110", "invalid token")
            .with_primary(Span::new(file, location, location + 1), ""),
        ParseError::User { error } => match error {},
    }
}
