//! The lexer: logos turns text into tokens, then [`tokenize`] decides which newlines end a
//! statement (LANGUAGE.md section 1).
//!
//! A newline is a statement separator except inside `( )` and `[ ]`, after a token that
//! cannot end an expression (a binary operator, a comma, `=`, `(`), directly after `{` or
//! before `}`, and before `else`. Runs of separators (`\n` and `;`) collapse into one
//! [`Tok::Sep`]. Leading and trailing separators are dropped.
//!
//! Error codes: E0110 unexpected character, E0111 unterminated string, E0112 bad escape,
//! E0113 integer literal too large, E0114 malformed number, E0115 nesting too deep.
//!
//! Nesting is bounded ([`MAX_DEPTH`] brackets and braces, [`MAX_OPERATORS`] operators in one
//! statement) so that no later stage, all of which walk the tree recursively, can exhaust the
//! stack: a program past the bound is a located error, not a crash.

use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
use logos::Logos;

/// A token.
#[allow(missing_docs)]
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
#[logos(skip r"\\\r?\n")]
pub enum Tok {
    #[token("\n")]
    #[token(";")]
    Sep,
    #[token("let")]
    Let,
    #[token("fn")]
    Fn,
    #[token("kernel")]
    Kernel,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("while")]
    While,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("return")]
    Return,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("newaxis")]
    Newaxis,
    #[token("include")]
    Include,
    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    /// The literal's text; its value is checked by [`tokenize`].
    #[regex("[0-9][0-9_]*", |lex| lex.slice().to_string())]
    IntText(String),
    #[regex(r"[0-9][0-9_]*\.[0-9_]*([eE][+-]?[0-9]+)?", |lex| lex.slice().to_string())]
    #[regex(r"\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", |lex| lex.slice().to_string())]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9]+", |lex| lex.slice().to_string())]
    FloatText(String),
    /// The literal with its quotes; unescaped by [`tokenize`].
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, |lex| lex.slice().to_string())]
    StrText(String),
    /// Produced by [`tokenize`] from `IntText`.
    Int(i64),
    /// Produced by [`tokenize`] from `FloatText`.
    Float(f64),
    /// Produced by [`tokenize`] from `StrText`.
    Str(String),
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("//")]
    SlashSlash,
    #[token("%")]
    Percent,
    #[token("@")]
    At,
    #[token("**")]
    StarStar,
    #[token("&")]
    Amp,
    #[token("^")]
    Caret,
    #[token("|")]
    Pipe,
    #[token("~")]
    Tilde,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("=")]
    Assign,
    #[token("+=")]
    PlusEq,
    #[token("-=")]
    MinusEq,
    #[token("*=")]
    StarEq,
    #[token("/=")]
    SlashEq,
    #[token("->")]
    Arrow,
    #[token(":")]
    Colon,
    #[token(",")]
    Comma,
    #[token(".")]
    Dot,
    #[token("...")]
    Ellipsis,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
}

impl Tok {
    /// True when a statement cannot end after this token, so a following newline continues it.
    fn continues(&self) -> bool {
        use Tok::*;
        matches!(
            self,
            Plus | Minus
                | Star
                | Slash
                | SlashSlash
                | Percent
                | At
                | StarStar
                | Amp
                | Caret
                | Pipe
                | Tilde
                | EqEq
                | Ne
                | Lt
                | Le
                | Gt
                | Ge
                | Assign
                | PlusEq
                | MinusEq
                | StarEq
                | SlashEq
                | Arrow
                | Colon
                | Comma
                | Dot
                | And
                | Or
                | Not
                | LParen
                | LBracket
                | LBrace
                | Sep
        )
    }
}

/// Deepest bracket and brace nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// Most operators accepted in one statement (each may add a level to the syntax tree).
pub const MAX_OPERATORS: usize = 256;

/// A token with its byte range.
pub type Spanned = (usize, Tok, usize);

/// Tokenises `src` fully: literal values checked, newlines filtered as described above.
pub fn tokenize(file: FileId, src: &str) -> Result<Vec<Spanned>, Diagnostic> {
    let mut raw: Vec<Spanned> = Vec::new();
    let mut lex = Tok::lexer(src);
    while let Some(t) = lex.next() {
        let r = lex.span();
        let span = Span::new(file, r.start, r.end);
        let tok = match t {
            Ok(Tok::IntText(s)) => {
                let digits: String = s.chars().filter(|c| *c != '_').collect();
                match digits.parse::<i64>() {
                    Ok(v) => Tok::Int(v),
                    Err(_) => {
                        return Err(Diagnostic::error(
                            "E0113",
                            format!("integer literal `{s}` does not fit in i64"),
                        )
                        .with_primary(span, "too large")
                        .with_note("write it as a float (with a `.`) if you need a larger value"));
                    }
                }
            }
            Ok(Tok::FloatText(s)) => {
                let digits: String = s.chars().filter(|c| *c != '_').collect();
                match digits.parse::<f64>() {
                    Ok(v) => Tok::Float(v),
                    Err(_) => {
                        return Err(
                            Diagnostic::error("E0114", format!("malformed number `{s}`"))
                                .with_primary(span, ""),
                        );
                    }
                }
            }
            Ok(Tok::StrText(s)) => Tok::Str(unescape(&s, file, r.start)?),
            Ok(t) => t,
            Err(()) => {
                let rest = &src[r.start..];
                if rest.starts_with('"') {
                    let end = rest.find('\n').map_or(src.len(), |n| r.start + n);
                    return Err(Diagnostic::error("E0111", "unterminated string literal")
                        .with_primary(
                            Span::new(file, r.start, end),
                            "the string starts here and never ends",
                        ));
                }
                let ch = rest.chars().next().unwrap_or(' ');
                return Err(Diagnostic::error(
                    "E0110",
                    format!("unexpected character `{}`", ch.escape_default()),
                )
                .with_primary(Span::new(file, r.start, r.start + ch.len_utf8()), ""));
            }
        };
        raw.push((r.start, tok, r.end));
    }
    let toks = filter_newlines(raw);
    check_nesting(file, &toks)?;
    Ok(toks)
}

/// Rejects programs nested deeper than the limits above.
fn check_nesting(file: FileId, toks: &[Spanned]) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    let mut ops = 0usize;
    for (l, t, r) in toks {
        match t {
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                depth += 1;
                if *t == Tok::LBrace {
                    ops = 0;
                }
                if depth > MAX_DEPTH {
                    return Err(Diagnostic::error(
                        "E0115",
                        format!("brackets nested more than {MAX_DEPTH} deep"),
                    )
                    .with_primary(Span::new(file, *l, *r), "too deep")
                    .with_note("split the expression with `let` bindings"));
                }
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => depth = depth.saturating_sub(1),
            Tok::Sep => ops = 0,
            t if t.continues() && !matches!(t, Tok::Comma | Tok::Colon) => {
                ops += 1;
                if ops > MAX_OPERATORS {
                    return Err(Diagnostic::error(
                        "E0115",
                        format!("more than {MAX_OPERATORS} operators in one statement"),
                    )
                    .with_primary(Span::new(file, *l, *r), "too long")
                    .with_note("split the expression with `let` bindings"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Keeps only the separators that end statements.
fn filter_newlines(raw: Vec<Spanned>) -> Vec<Spanned> {
    let mut out: Vec<Spanned> = Vec::with_capacity(raw.len());
    let mut depth: Vec<Tok> = Vec::new();
    for (i, (l, tok, r)) in raw.iter().enumerate() {
        match tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace => depth.push(tok.clone()),
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                depth.pop();
            }
            _ => {}
        }
        if *tok == Tok::Sep {
            let in_brackets = matches!(depth.last(), Some(Tok::LParen | Tok::LBracket));
            let after_continuing = out.last().is_none_or(|(_, t, _)| t.continues());
            let next = raw[i + 1..]
                .iter()
                .find(|(_, t, _)| *t != Tok::Sep)
                .map(|(_, t, _)| t);
            let before_close = matches!(next, Some(Tok::RBrace | Tok::Else) | None);
            if in_brackets || after_continuing || before_close {
                continue;
            }
        }
        out.push((*l, tok.clone(), *r));
    }
    out
}

/// Unescapes a string literal (with its quotes) starting at byte `at`.
fn unescape(lit: &str, file: FileId, at: usize) -> Result<String, Diagnostic> {
    let body = &lit[1..lit.len() - 1];
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 't')) => out.push('\t'),
            Some((j, other)) => {
                let start = at + 1 + i;
                return Err(Diagnostic::error(
                    "E0112",
                    format!("unknown escape `\\{other}` in a string"),
                )
                .with_primary(Span::new(file, start, at + 1 + j + other.len_utf8()), "")
                .with_note("strings support \\\", \\\\, \\n and \\t"));
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// True when `src` ends inside brackets, braces or a string, or after a token that cannot
/// end a statement: the REPL reads another line.
pub fn is_incomplete(src: &str) -> bool {
    let mut depth: i64 = 0;
    let mut last: Option<Tok> = None;
    let mut lex = Tok::lexer(src);
    while let Some(t) = lex.next() {
        match t {
            Ok(Tok::Sep) => {
                if let Some(l) = &last {
                    if *l != Tok::Sep && !l.continues() {
                        last = Some(Tok::Sep);
                    }
                }
            }
            Ok(t) => {
                match t {
                    Tok::LParen | Tok::LBracket | Tok::LBrace => depth += 1,
                    Tok::RParen | Tok::RBracket | Tok::RBrace => depth -= 1,
                    _ => {}
                }
                last = Some(t);
            }
            Err(()) => {
                // An unterminated string continues on the next line only inside brackets;
                // anything else is an error the parser will report.
                return src[lex.span().start..].starts_with('"') && depth > 0;
            }
        }
    }
    depth > 0
        || last
            .as_ref()
            .is_some_and(|t| *t != Tok::Sep && t.continues())
}
