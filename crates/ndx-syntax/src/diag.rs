//! Diagnostics: the one error shape every stage converts into at its edge, and its rendering.
//!
//! A [`Diagnostic`] is plain data (code, message, labelled spans, notes) so an embedding host
//! can show it its own way; [`SourceMap::render`] draws it for a person, with the file name,
//! line, column, the source line and a caret.

use crate::span::{FileId, Span};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The program cannot run.
    Error,
    /// A compiler bug: the message asks the user to report it.
    Bug,
}

/// A span with a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
    /// The primary label is the one the caret points at.
    pub primary: bool,
}

/// An error report.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or bug.
    pub severity: Severity,
    /// A stable code such as `E0001`.
    pub code: String,
    /// One line saying what went wrong.
    pub message: String,
    /// Locations, primary first. May be empty when no source is involved.
    pub labels: Vec<Label>,
    /// Extra lines of explanation.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error with a code and a message, and no location yet.
    pub fn error(code: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A compiler bug.
    pub fn bug(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Bug,
            code: "B0000".to_string(),
            message: message.into(),
            labels: Vec::new(),
            notes: vec!["this is a bug in ndx: please report it".to_string()],
        }
    }

    /// Adds the primary label.
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.insert(
            0,
            Label {
                span,
                message: message.into(),
                primary: true,
            },
        );
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// The primary span, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }
}

/// The source texts that spans point into.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<(String, String)>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a source text under a display name and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push((name.into(), text.into()));
        FileId((self.files.len() - 1) as u32)
    }

    /// The display name of a file.
    pub fn name(&self, id: FileId) -> &str {
        self.files
            .get(id.0 as usize)
            .map_or("<unknown>", |f| f.0.as_str())
    }

    /// The text of a file.
    pub fn text(&self, id: FileId) -> &str {
        self.files.get(id.0 as usize).map_or("", |f| f.1.as_str())
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, id: FileId, offset: u32) -> (usize, usize) {
        let text = self.text(id);
        let offset = (offset as usize).min(text.len());
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

impl SourceMap {
    /// Draws a diagnostic for a person: `error[CODE]: message`, then `file:line:col`, the
    /// source line with carets under the span, labels and notes. Never fails: spans outside
    /// the known sources are clamped or dropped.
    pub fn render(&self, d: &Diagnostic) -> String {
        use codespan_reporting::diagnostic as cs;
        use codespan_reporting::files::SimpleFiles;
        use codespan_reporting::term::{self, termcolor::NoColor};

        let mut files = SimpleFiles::new();
        for (name, text) in &self.files {
            files.add(name.as_str(), text.as_str());
        }
        let labels = d
            .labels
            .iter()
            .filter_map(|l| {
                let (name, text) = self.files.get(l.span.file.0 as usize)?;
                let _ = name;
                let len = text.len();
                let mut start = (l.span.start as usize).min(len);
                let mut end = (l.span.end as usize).clamp(start, len);
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                let style = if l.primary {
                    cs::LabelStyle::Primary
                } else {
                    cs::LabelStyle::Secondary
                };
                Some(
                    cs::Label::new(style, l.span.file.0 as usize, start..end)
                        .with_message(l.message.clone()),
                )
            })
            .collect();
        let (severity, message) = match d.severity {
            Severity::Error => (cs::Severity::Error, d.message.clone()),
            Severity::Bug => (
                cs::Severity::Bug,
                format!("internal compiler error: {}", d.message),
            ),
        };
        let diag = cs::Diagnostic::new(severity)
            .with_code(d.code.clone())
            .with_message(message)
            .with_labels(labels)
            .with_notes(d.notes.clone());
        let mut out = NoColor::new(Vec::<u8>::new());
        let config = term::Config::default();
        if term::emit(&mut out, &config, &files, &diag).is_err() {
            let mut s = format!("error[{}]: {}", d.code, d.message);
            for n in &d.notes {
                s.push_str("\n  = ");
                s.push_str(n);
            }
            return s;
        }
        String::from_utf8_lossy(&out.into_inner())
            .trim_end()
            .to_string()
    }
}
