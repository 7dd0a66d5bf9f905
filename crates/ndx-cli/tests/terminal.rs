//! The REPL as a person sees it: the real binary runs in a pseudo-terminal (a tmux pane), keys
//! are typed with `send-keys` and the screen is read with `capture-pane`. Checks values,
//! continuation prompts, Ctrl-C dropping an entry without leaving, tab completion, a command
//! and history written on exit. Skipped (with a message) where tmux is not installed.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    home: PathBuf,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-L").arg(&self.socket);
        c
    }

    fn keys(&self, keys: &[&str]) {
        let st = self
            .cmd()
            .args(["send-keys", "-t", "ndx"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(st.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "ndx"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen contains `text` (the REPL answers asynchronously).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("screen never showed {text:?}; it shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tmux {
    /// Waits until the REPL shows an empty prompt (`>>> ` or `... `) on its last line: it is
    /// reading again, so typed keys are not flushed away when it enters raw mode.
    fn wait_prompt(&self, prompt: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            let last = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            if last.trim_end() == prompt.trim_end() {
                // Let the line editor finish switching the terminal to raw mode.
                std::thread::sleep(Duration::from_millis(100));
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("no {prompt:?} prompt; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types a line and Enter at a fresh prompt.
    fn line(&self, text: &str) {
        self.wait_prompt(">>>");
        self.keys(&[text, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[test]
fn repl_in_a_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: terminal test skipped");
        return;
    }
    let home = std::env::temp_dir().join(format!("ndx-tty-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("temp home");
    let t = Tmux {
        socket: format!("ndx-test-{}", std::process::id()),
        home: home.clone(),
    };
    let ndx = env!("CARGO_BIN_EXE_ndx");
    let st = t
        .cmd()
        .args(["new-session", "-d", "-s", "ndx", "-x", "100", "-y", "40"])
        .arg(format!("env HOME={} TERM=xterm {ndx}", home.display()))
        .status()
        .expect("tmux new-session");
    assert!(st.success(), "tmux could not start a session");
    t.wait_for(":help for help, :quit to leave");

    t.line("let zebra_count = arange(5, dtype=f32)");
    t.line("zebra_count * 2");
    t.wait_for("[0. 2. 4. 6. 8.]");

    // An open bracket continues; Ctrl-C drops the entry and the REPL stays.
    t.line("let pending = [1,");
    t.wait_prompt("...");
    t.keys(&["C-c"]);
    t.wait_for("(input dropped)");
    t.line("1 + 41");
    t.wait_for("42");

    // Ctrl-C stops a running loop between statements; the REPL stays.
    t.line("let spin = 0");
    t.line("while true { spin = spin + 1 }");
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-c"]);
    t.wait_for("error[E0405]: interrupted");
    t.line("spin > 0");
    t.wait_for("true");

    // Tab completes a session name.
    t.wait_prompt(">>>");
    t.keys(&["sum(zebra_c", "Tab"]);
    t.wait_for("sum(zebra_count");
    t.keys(&[")", "Enter"]);
    t.wait_for("10.0");

    // A command, and an error drawn against the line typed.
    t.line(":type zebra_count[1:] + 1");
    t.wait_for("f32 (4,)  (not computed)");
    t.line("zebra_count + [1.0, 2.0]");
    let s = t.wait_for("error[E0201]");
    assert!(s.contains("│ zebra_count + [1.0, 2.0]"), "{s}");

    t.line(":quit");
    // The line editor creates the file before it writes the entries, so wait for the content,
    // not for the file.
    let history = home.join(".ndx_history");
    let start = Instant::now();
    let mut h = String::new();
    while !h.contains("zebra_count * 2") && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
        h = std::fs::read_to_string(&history).unwrap_or_default();
    }
    assert!(h.contains("zebra_count * 2"), "history: {h}");
}
