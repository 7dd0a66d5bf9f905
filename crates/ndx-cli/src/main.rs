//! The `ndx` command: a thin shell over the `ndx` crate.
//!
//! - `ndx run FILE`: run a script (exit 0, or exit 1 with a rendered diagnostic);
//! - `ndx check FILE`: parse and type-check only;
//! - `ndx explain FILE`: run a script and print, per statement, what it compiled and ran;
//! - `ndx emit --ir|--loops|--clif|--asm FILE`: run a script and print one stage's text for
//!   every kernel it compiled;
//! - `ndx` with no arguments: the REPL (history in `~/.ndx_history`, tab completion of names,
//!   Ctrl-C drops the current input). All REPL logic is `ndx::repl`; this file only reads
//!   lines and prints replies.

use clap::{Args, Parser, Subcommand};
use ndx::repl::{complete_from, Repl, Reply};
use ndx::{Stage, TextOptions};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Editor, Helper};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ndx",
    version,
    about = "Compile and run NumPy-style array programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a script.
    Run {
        /// The `.ndx` file.
        file: PathBuf,
        /// Compile `kernel` element accesses without bounds checks (an out-of-range index is
        /// then undefined behaviour).
        #[arg(long)]
        no_bounds_checks: bool,
    },
    /// Parse and type-check a script without running it.
    Check {
        /// The `.ndx` file.
        file: PathBuf,
    },
    /// Run a script and show, per statement, its fusion groups, materialised values, loop
    /// nests, vector width, thread split, cache hits, compile times and einsum paths.
    Explain {
        /// The `.ndx` file.
        file: PathBuf,
        /// Leave compile times out (the text is then the same on every run).
        #[arg(long)]
        no_timings: bool,
    },
    /// Run a script and write one compilation stage for every kernel it compiled.
    Emit {
        #[command(flatten)]
        stage: StageArg,
        /// The `.ndx` file.
        file: PathBuf,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct StageArg {
    /// The fused kernel graphs (kernel IR for `kernel` blocks).
    #[arg(long)]
    ir: bool,
    /// The scheduled loop nests.
    #[arg(long)]
    loops: bool,
    /// Cranelift IR.
    #[arg(long)]
    clif: bool,
    /// Machine code, as Cranelift lists it.
    #[arg(long)]
    asm: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run {
            file,
            no_bounds_checks,
        }) => {
            let mut s = ndx::Session::new();
            s.set_bounds_checks(!no_bounds_checks);
            finish(s.run_file(&file))
        }
        Some(Command::Check { file }) => finish(ndx::Session::new().check_file(&file)),
        Some(Command::Explain { file, no_timings }) => {
            let mut s = ndx::Session::new();
            s.capture_output();
            let o = TextOptions {
                timings: !no_timings,
            };
            finish(
                s.explain_file(&file, false)
                    .map(|ex| print!("{}", ex.text(o))),
            )
        }
        Some(Command::Emit { stage, file }) => {
            let stage = if stage.ir {
                Stage::Ir
            } else if stage.loops {
                Stage::Loops
            } else if stage.clif {
                Stage::Clif
            } else {
                Stage::Asm
            };
            let mut s = ndx::Session::new();
            s.capture_output();
            let listings = matches!(stage, Stage::Clif | Stage::Asm);
            finish(
                s.explain_file(&file, listings)
                    .map(|ex| print!("{}", ex.stage_text(stage))),
            )
        }
        None => repl(),
    }
}

fn finish(r: Result<(), ndx::Error>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.render());
            ExitCode::FAILURE
        }
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ndx_history"))
}

/// The line editor's helper: completion from the names the REPL last reported.
struct Names {
    names: Vec<String>,
}

impl Helper for Names {}
impl Highlighter for Names {}
impl Validator for Names {}
impl Hinter for Names {
    type Hint = String;
}

impl Completer for Names {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete_from(&self.names, line, pos))
    }
}

/// The interrupt of the REPL's session, for the SIGINT handler.
static STOP: std::sync::OnceLock<ndx::Interrupt> = std::sync::OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(stop) = STOP.get() {
        if stop.trigger() {
            // A second Ctrl-C before the program reached a statement boundary: it is inside
            // one long kernel, which cannot be stopped; leave as the default action would.
            // SAFETY: `_exit` is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
    }
}

/// Ctrl-C while a statement runs (the line editor is not reading, so the terminal sends
/// SIGINT) stops it at its next statement; at the prompt, the line editor sees the key.
fn install_sigint(stop: ndx::Interrupt) {
    if STOP.set(stop).is_ok() {
        // SAFETY: the handler only reads a OnceLock that is already set and swaps an atomic,
        // both async-signal-safe, or calls `_exit`.
        unsafe {
            libc::signal(
                libc::SIGINT,
                on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

fn repl() -> ExitCode {
    let mut editor: Editor<Names, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut repl = Repl::new();
    install_sigint(repl.session().interrupt_handle());
    editor.set_helper(Some(Names {
        names: repl.completion_names(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(h);
    }
    println!(
        "ndx {} — :help for help, :quit to leave",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        let prompt = if repl.is_continuing() { "... " } else { ">>> " };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let reply = repl.feed(&line);
                if let Some(h) = editor.helper_mut() {
                    h.names = repl.completion_names();
                }
                match reply {
                    Reply::More => {}
                    Reply::Output(s) if s.is_empty() => {}
                    Reply::Output(s) => println!("{s}"),
                    Reply::Error(s) => eprintln!("{s}"),
                    Reply::Quit => break,
                }
            }
            Err(ReadlineError::Interrupted) => {
                if repl.is_continuing() {
                    println!("(input dropped)");
                }
                repl.cancel();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    ExitCode::SUCCESS
}
