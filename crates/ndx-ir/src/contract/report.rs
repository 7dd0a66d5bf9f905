//! The `einsum_path` report, in the style of `numpy.einsum_path`.

use super::plan::distinct;
use super::{Label, Plan, StepKind};
use std::fmt;

/// NumPy's `%.3e`: `2.000e+10`.
pub(super) fn sci(v: u128) -> String {
    let s = format!("{:.3e}", v as f64);
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn term_text(t: &[Label]) -> String {
    t.iter().collect()
}

impl Plan {
    /// The path in NumPy's form: `[(0, 1), (0, 1)]`.
    pub fn path_text(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                let p: Vec<String> = s.operands.iter().map(|p| p.to_string()).collect();
                if p.len() == 1 {
                    format!("({},)", p[0])
                } else {
                    format!("({})", p.join(", "))
                }
            })
            .collect();
        format!("[{}]", steps.join(", "))
    }
}

impl fmt::Display for Plan {
    /// A report in the style of `numpy.einsum_path`, plus how each step runs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let speedup = if self.opt_flops == 0 {
            1.0
        } else {
            self.naive_flops as f64 / self.opt_flops as f64
        };
        writeln!(f, "  Complete contraction:  {}", self.spec.text())?;
        writeln!(f, "                  Path:  {}", self.path_text())?;
        writeln!(f, "         Naive scaling:  {}", self.naive_scaling)?;
        writeln!(f, "     Optimized scaling:  {}", self.opt_scaling)?;
        writeln!(f, "      Naive FLOP count:  {}", sci(self.naive_flops))?;
        writeln!(f, "  Optimized FLOP count:  {}", sci(self.opt_flops))?;
        writeln!(f, "   Theoretical speedup:  {speedup:.3}")?;
        let largest = if self.steps.len() > 1 {
            format!("{} elements", sci(self.largest))
        } else {
            "none".to_string()
        };
        writeln!(
            f,
            "  Largest intermediate:  {largest} (limit {} elements)",
            sci(self.memory_limit)
        )?;
        let rule = "-".repeat(78);
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:<8} {:<10} {:<22} {:<22} run as",
            "scaling", "FLOPs", "current", "remaining"
        )?;
        writeln!(f, "{rule}")?;
        let mut cur: Vec<Vec<Label>> = self.spec.inputs.iter().map(|t| distinct(t)).collect();
        let out = term_text(&self.spec.output);
        for (i, s) in self.steps.iter().enumerate() {
            let ins: Vec<String> = s.inputs.iter().map(|t| term_text(t)).collect();
            let current = format!("{}->{}", ins.join(","), term_text(&s.result));
            cur = cur
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !s.operands.contains(i))
                .map(|(_, t)| t)
                .collect();
            cur.push(s.result.clone());
            let rem: Vec<String> = cur.iter().map(|t| term_text(t)).collect();
            let remaining = format!("{}->{out}", rem.join(","));
            let how = match s.kind {
                StepKind::Gemm { batch, m, n, k } => {
                    format!("GEMM {batch}x({m}x{k} @ {k}x{n})")
                }
                StepKind::Loop => "loop".to_string(),
            };
            let sep = if i + 1 == self.steps.len() { "" } else { "\n" };
            write!(
                f,
                "{:>4}     {:<10} {:<22} {:<22} {how}{sep}",
                s.scaling,
                sci(s.flops),
                current,
                remaining
            )?;
        }
        Ok(())
    }
}
