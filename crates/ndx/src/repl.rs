//! The REPL's logic, independent of any terminal: feed it lines, it answers with text.
//!
//! Input accumulates while brackets or braces are open (or a line ends with a binary
//! operator); then the whole entry runs in the session. An expression's value is printed as
//! `print` would; errors are rendered against the entry typed. Commands start with `:`.

use crate::Session;

/// What the REPL says after a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// More input is needed (show the continuation prompt).
    More,
    /// The entry ran; show this text (possibly empty).
    Output(String),
    /// The entry failed; show this rendered diagnostic.
    Error(String),
    /// The user asked to leave.
    Quit,
}

/// The help text of `:help`.
pub const HELP: &str = "\
ndx REPL: type statements or expressions; an expression's value is printed.
  let x = arange(10, dtype=f32)     bind a value
  sum(x * x)                         evaluate and print
Input continues on the next line while brackets are open.
Commands:
  :help    this text
  :quit    leave (also Ctrl-D)";

/// A REPL over a session.
pub struct Repl {
    session: Session,
    pending: String,
}

impl Default for Repl {
    fn default() -> Self {
        Repl::new()
    }
}

impl Repl {
    /// A REPL with a fresh session whose `print` output is captured into replies.
    pub fn new() -> Repl {
        let mut session = Session::new();
        session.capture_output();
        Repl {
            session,
            pending: String::new(),
        }
    }

    /// The session (to inspect values).
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// True while an entry is incomplete.
    pub fn is_continuing(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Drops a partly typed entry (Ctrl-C).
    pub fn cancel(&mut self) {
        self.pending.clear();
    }

    /// Feeds one line of input.
    pub fn feed(&mut self, line: &str) -> Reply {
        if self.pending.is_empty() {
            let t = line.trim();
            if let Some(cmd) = t.strip_prefix(':') {
                return match cmd.trim() {
                    "help" | "h" | "?" => Reply::Output(HELP.to_string()),
                    "quit" | "q" | "exit" => Reply::Quit,
                    other => Reply::Error(format!("unknown command `:{other}`; type :help")),
                };
            }
            if t.is_empty() {
                return Reply::Output(String::new());
            }
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        if ndx_syntax::is_incomplete(&self.pending) {
            return Reply::More;
        }
        let entry = std::mem::take(&mut self.pending);
        match self.session.run(&entry) {
            Ok(v) => {
                let mut out = self.session.take_output();
                if let Some(v) = v {
                    out.push_str(&v.to_string());
                    out.push('\n');
                }
                Reply::Output(out.trim_end_matches('\n').to_string())
            }
            Err(e) => {
                let printed = self.session.take_output();
                Reply::Error(format!("{printed}{}", e.render()))
            }
        }
    }
}
