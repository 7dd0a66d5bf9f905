//! The `ndx` command: a thin shell over the `ndx` crate.
//!
//! - `ndx run FILE`: run a script (exit 0, or exit 1 with a rendered diagnostic);
//! - `ndx check FILE`: parse and type-check only;
//! - `ndx` with no arguments: the REPL (history in `~/.ndx_history`).

use clap::{Parser, Subcommand};
use ndx::repl::{Repl, Reply};
use rustyline::error::ReadlineError;
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

fn repl() -> ExitCode {
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(h);
    }
    println!(
        "ndx {} — :help for help, :quit to leave",
        env!("CARGO_PKG_VERSION")
    );
    let mut repl = Repl::new();
    loop {
        let prompt = if repl.is_continuing() { "... " } else { ">>> " };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match repl.feed(&line) {
                    Reply::More => {}
                    Reply::Output(s) if s.is_empty() => {}
                    Reply::Output(s) => println!("{s}"),
                    Reply::Error(s) => eprintln!("{s}"),
                    Reply::Quit => break,
                }
            }
            Err(ReadlineError::Interrupted) => repl.cancel(),
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
