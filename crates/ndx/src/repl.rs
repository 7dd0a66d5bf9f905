//! The REPL's logic, independent of any terminal: feed it lines, it answers with text.
//!
//! Input accumulates while brackets or braces are open (or a line ends with a binary
//! operator); then the whole entry runs in the session. An expression's value is printed as
//! `print` would; errors are rendered against the entry typed. Commands start with `:` (see
//! [`HELP`]). Completion of names ([`Repl::complete`]) is here too, so the line editor in the
//! binary only forwards keys.
//!
//! Invariant: no input makes [`Repl::feed`] panic; every failure is a [`Reply::Error`].

use crate::explain::{steps_stage_text, Stage, TextOptions};
use crate::Session;
use std::time::{Duration, Instant};

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
Input continues on the next line while brackets are open; Ctrl-C drops it, and
stops a running statement at its next statement boundary (twice: leave).
Commands:
  :help            this text
  :quit            leave (also Ctrl-D)
  :vars            names with dtype, shape, bytes, and which are views of others
  :type EXPR       dtype and shape (the expression's own fused work is not run)
  :time EXPR       run it repeatedly: the first (compiling) run, then median and spread
  :ir EXPR         the fused kernel graph(s)
  :loops EXPR      the scheduled loop nest(s)
  :clif EXPR       Cranelift IR
  :asm EXPR        machine code (Cranelift's listing)
  :explain EXPR    fusion groups, memory, loops, vectors, threads, cache, einsum paths
  :load FILE       run a script in this session
  :reset           forget every name and definition";

/// The commands, for completion.
const COMMANDS: &[&str] = &[
    ":help", ":quit", ":vars", ":type", ":time", ":ir", ":loops", ":clif", ":asm", ":explain",
    ":load", ":reset",
];

/// How long `:time` keeps repeating, and the most and fewest runs it makes.
const TIME_BUDGET: Duration = Duration::from_millis(500);
const TIME_MAX_RUNS: usize = 10_000;
const TIME_MIN_RUNS: usize = 5;

/// A REPL over a session.
pub struct Repl {
    session: Session,
    pending: String,
    timings: bool,
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
            timings: true,
        }
    }

    /// The session (to inspect values).
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Shows or hides compile times in `:explain` (hidden, the text is the same every run:
    /// for tests).
    pub fn set_timings(&mut self, on: bool) {
        self.timings = on;
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
    ///
    /// ```
    /// use ndx::repl::{Repl, Reply};
    /// let mut r = Repl::new();
    /// assert_eq!(r.feed("let x = arange(4, dtype=f32)"), Reply::Output(String::new()));
    /// assert_eq!(r.feed("sum(x * x)"), Reply::Output("14.0".into()));
    /// assert_eq!(r.feed(":type x[1:] + 1"), Reply::Output("f32 (3,)  (not computed)".into()));
    /// assert_eq!(r.feed("[1,"), Reply::More);
    /// ```
    pub fn feed(&mut self, line: &str) -> Reply {
        if self.pending.is_empty() {
            let t = line.trim();
            if let Some(cmd) = t.strip_prefix(':') {
                return self.command(cmd.trim());
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
            Err(e) => self.failed(e),
        }
    }

    fn failed(&mut self, e: crate::Error) -> Reply {
        let printed = self.session.take_output();
        Reply::Error(format!("{printed}{}", e.render()))
    }

    fn command(&mut self, cmd: &str) -> Reply {
        let (name, arg) = match cmd.find(char::is_whitespace) {
            Some(i) => (&cmd[..i], cmd[i..].trim()),
            None => (cmd, ""),
        };
        let needs_arg = |what: &str| Reply::Error(format!("usage: :{name} {what}"));
        match name {
            "help" | "h" | "?" => Reply::Output(HELP.to_string()),
            "quit" | "q" | "exit" => Reply::Quit,
            "vars" => Reply::Output(self.vars_text()),
            "reset" => {
                self.session.reset();
                Reply::Output("session reset".to_string())
            }
            "load" if arg.is_empty() => needs_arg("FILE"),
            "load" => {
                let path = std::path::Path::new(arg);
                match self.session.run_file(path) {
                    Ok(()) => {
                        let out = self.session.take_output();
                        Reply::Output(out.trim_end_matches('\n').to_string())
                    }
                    Err(e) => self.failed(e),
                }
            }
            "type" | "time" | "ir" | "loops" | "clif" | "asm" | "explain" if arg.is_empty() => {
                needs_arg("EXPR")
            }
            "type" => match self.session.type_of(arg) {
                Ok(i) => Reply::Output(i.type_text()),
                Err(e) => self.failed(e),
            },
            "time" => self.time(arg),
            "ir" => self.stage(arg, Stage::Ir),
            "loops" => self.stage(arg, Stage::Loops),
            "clif" => self.stage(arg, Stage::Clif),
            "asm" => self.stage(arg, Stage::Asm),
            "explain" => match self.session.inspect(arg, false) {
                Ok(i) => {
                    let o = TextOptions {
                        timings: self.timings,
                    };
                    let mut s = format!("type: {}\n", i.type_text());
                    if i.steps.is_empty() {
                        s.push_str("no kernels: nothing to compute\n");
                    }
                    for (k, step) in i.steps.iter().enumerate() {
                        s.push_str(&step.explain_text(k + 1, o));
                    }
                    let _ = self.session.take_output();
                    Reply::Output(s.trim_end().to_string())
                }
                Err(e) => self.failed(e),
            },
            other => Reply::Error(format!("unknown command `:{other}`; type :help")),
        }
    }

    fn stage(&mut self, src: &str, stage: Stage) -> Reply {
        let listings = matches!(stage, Stage::Clif | Stage::Asm);
        match self.session.inspect(src, listings) {
            Ok(i) => {
                let _ = self.session.take_output();
                Reply::Output(steps_stage_text(&i.steps, stage).trim_end().to_string())
            }
            Err(e) => self.failed(e),
        }
    }

    fn time(&mut self, src: &str) -> Reply {
        match self
            .session
            .time(src, TIME_BUDGET, TIME_MIN_RUNS, TIME_MAX_RUNS)
        {
            Ok(t) => {
                let _ = self.session.take_output();
                Reply::Output(t.to_string())
            }
            Err(e) => self.failed(e),
        }
    }

    fn vars_text(&self) -> String {
        let vars = self.session.vars();
        if vars.is_empty() {
            return "no names bound".to_string();
        }
        let rows: Vec<[String; 5]> = vars
            .iter()
            .map(|v| {
                let dtype = v.dtype.map(|d| d.name().to_string()).unwrap_or_default();
                let shape = v
                    .shape
                    .as_ref()
                    .map(|s| ndx_ir::shape::format_shape(s))
                    .unwrap_or_default();
                let bytes = if v.kind == "array" || v.kind == "number" && v.bytes > 0 {
                    v.bytes.to_string()
                } else {
                    String::new()
                };
                let mut note = match &v.view_of {
                    Some(b) => format!("view of {b}"),
                    None if v.is_view => "view".to_string(),
                    None if v.kind == "array" || v.kind == "number" => String::new(),
                    None => v.kind.to_string(),
                };
                if !v.writable && v.kind != "fn" && v.kind != "kernel" {
                    note.push_str(if note.is_empty() {
                        "read-only"
                    } else {
                        ", read-only"
                    });
                }
                [v.name.clone(), dtype, shape, bytes, note]
            })
            .collect();
        let header = ["name", "dtype", "shape", "bytes", ""];
        let mut width = [0usize; 5];
        for r in rows
            .iter()
            .chain(std::iter::once(&header.map(String::from)))
        {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |r: &[String; 5]| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2],
                w3 = width[3]
            )
            .trim_end()
            .to_string()
        };
        let mut out = vec![line(&header.map(String::from))];
        out.extend(rows.iter().map(line));
        out.join("\n")
    }

    /// Completions for the word ending at byte `pos` of `line`: the byte where the word
    /// starts, and the candidates (session names, builtins, keywords, and `:` commands at the
    /// start of a line), sorted.
    ///
    /// ```
    /// let mut r = ndx::repl::Repl::new();
    /// r.feed("let signal = arange(3)");
    /// let (start, c) = r.complete("print(sig", 9);
    /// assert_eq!(start, 6);
    /// assert!(c.contains(&"signal".to_string()) && c.contains(&"sign".to_string()));
    /// ```
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        complete_from(&self.completion_names(), line, pos)
    }

    /// Every name completion offers: session names, kernels, builtins and keywords, sorted
    /// (a line editor can keep this list between entries and call [`complete_from`]).
    pub fn completion_names(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .session
            .names()
            .into_iter()
            .chain(self.session.kernel_names())
            .chain(crate::builtin_names().into_iter().map(String::from))
            .chain(KEYWORDS.iter().map(|k| k.to_string()))
            .collect();
        c.sort();
        c.dedup();
        c
    }
}

/// Completions of the word ending at byte `pos` of `line` among `names` (and the `:`
/// commands at the start of a line): the byte where the word starts, and the candidates.
///
/// ```
/// use ndx::repl::complete_from;
/// let names = vec!["signal".to_string(), "sin".to_string(), "sum".to_string()];
/// assert_eq!(complete_from(&names, "x + si", 6), (4, vec!["signal".into(), "sin".into()]));
/// assert_eq!(complete_from(&names, ":lo", 3), (0, vec![":load".into(), ":loops".into()]));
/// ```
pub fn complete_from(names: &[String], line: &str, pos: usize) -> (usize, Vec<String>) {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &line[..pos];
    let trimmed = before.trim_start();
    if trimmed.starts_with(':') && !trimmed.contains(char::is_whitespace) {
        let at = pos - trimmed.len();
        let mut c: Vec<String> = COMMANDS
            .iter()
            .filter(|c| c.starts_with(trimmed))
            .map(|c| c.to_string())
            .collect();
        c.sort();
        return (at, c);
    }
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
        return (pos, Vec::new());
    }
    let c = names
        .iter()
        .filter(|n| n.starts_with(word))
        .cloned()
        .collect();
    (start, c)
}

const KEYWORDS: &[&str] = &[
    "let", "fn", "kernel", "if", "else", "for", "while", "in", "range", "prange", "return",
    "break", "continue", "include", "print", "true", "false", "and", "or", "not", "newaxis",
];

/// The result of [`Session::time`]: a first run (which compiles) and repeated runs.
#[derive(Clone, Debug)]
pub struct Timing {
    /// The first run, which compiles what is not cached yet.
    pub first: Duration,
    /// Kernels compiled during the first run.
    pub compiled: usize,
    /// Every later run, sorted from fastest to slowest.
    pub runs: Vec<Duration>,
}

impl Timing {
    fn quantile(&self, q: f64) -> Duration {
        if self.runs.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.runs.len() - 1) as f64 * q).round() as usize;
        self.runs[i.min(self.runs.len() - 1)]
    }

    /// The median of the repeated runs.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 10th and 90th percentiles of the repeated runs.
    pub fn spread(&self) -> (Duration, Duration) {
        (self.quantile(0.1), self.quantile(0.9))
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} us", s * 1e6)
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self.spread();
        let first = match self.compiled {
            0 => "nothing compiled".to_string(),
            1 => "compiled 1 kernel".to_string(),
            n => format!("compiled {n} kernels"),
        };
        writeln!(f, "first run: {} ({first})", human(self.first))?;
        write!(
            f,
            "{} runs: median {}, spread {} .. {} (10th-90th percentile), min {}",
            self.runs.len(),
            human(self.median()),
            human(lo),
            human(hi),
            human(self.runs.first().copied().unwrap_or_default())
        )
    }
}

impl Session {
    /// Runs `src` once (reported apart: it compiles what is not cached), then repeatedly
    /// for about `budget` (at least `min_runs`, at most `max_runs` times). Statements with
    /// effects repeat their effects.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("let x = arange(1000, dtype=f32)").unwrap();
    /// let t = s.time("x * 2.0", std::time::Duration::from_millis(20), 5, 100).unwrap();
    /// assert!(t.runs.len() >= 5 && t.median() <= t.spread().1);
    /// ```
    pub fn time(
        &mut self,
        src: &str,
        budget: Duration,
        min_runs: usize,
        max_runs: usize,
    ) -> Result<Timing, crate::Error> {
        let file = self.interp.sources.add("<input>", src);
        let program = ndx_syntax::parse(file, src).map_err(|d| self.error(d))?;
        let before = self.kernel_stats().0;
        let t0 = Instant::now();
        let r = self.interp.run_program(&program.stmts);
        let first = t0.elapsed();
        r.map_err(|d| self.error(d))?;
        let compiled = self.kernel_stats().0 - before;
        let mut runs = Vec::new();
        let start = Instant::now();
        while runs.len() < max_runs.max(1) && (runs.len() < min_runs || start.elapsed() < budget) {
            let t = Instant::now();
            let r = self.interp.run_program(&program.stmts);
            runs.push(t.elapsed());
            r.map_err(|d| self.error(d))?;
        }
        runs.sort();
        Ok(Timing {
            first,
            compiled,
            runs,
        })
    }

    /// The names of the defined `kernel` blocks.
    pub fn kernel_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.interp.kernels.keys().cloned().collect();
        v.sort();
        v
    }
}
