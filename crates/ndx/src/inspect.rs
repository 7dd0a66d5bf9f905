//! Looking at a session from outside: its variables, what an expression would compute
//! ([`Session::inspect`]) and what a program compiles and runs ([`Session::explain`]).
//!
//! Tracing is on only inside these calls; it is always turned off again, also on error.

use crate::explain::{Explanation, Inspection, StatementPlan};
use crate::value::Val;
use crate::{Error, Session};
use ndx_runtime::DType;
use ndx_syntax::ast::{Stmt, StmtKind};
use std::path::Path;

/// One name bound in a session, as `:vars` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarInfo {
    /// The name.
    pub name: String,
    /// What it is: `array`, `number`, `string`, `tuple`, `dtype`, `fn` or `kernel`.
    pub kind: &'static str,
    /// Element type, for arrays and numbers.
    pub dtype: Option<DType>,
    /// Shape, for arrays (numbers are `()`).
    pub shape: Option<Vec<usize>>,
    /// Bytes of the elements, for arrays.
    pub bytes: usize,
    /// The other name whose memory this array views (`b = a.T` makes `b` a view of `a`).
    pub view_of: Option<String>,
    /// True for a view: the array shares another name's memory, or covers only part of its
    /// buffer (a slice whose base has no name any more).
    pub is_view: bool,
    /// False for read-only memory (a file mapped with `load(..., mmap=true)`).
    pub writable: bool,
}

impl Session {
    /// The names bound at the top level, with their types, sizes and views, sorted by name.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("let a = zeros((3, 4), dtype=f32)\nlet t = a.T").unwrap();
    /// let vars = s.vars();
    /// assert_eq!(vars[0].name, "a");
    /// assert_eq!(vars[0].bytes, 48);
    /// assert_eq!(vars[1].view_of.as_deref(), Some("a"));
    /// ```
    pub fn vars(&self) -> Vec<VarInfo> {
        let Some(globals) = self.interp.scopes.first() else {
            return Vec::new();
        };
        let mut names: Vec<&String> = globals.keys().collect();
        names.sort();
        let mut out = Vec::new();
        for name in &names {
            let Some(v) = globals.get(*name) else {
                continue;
            };
            let mut info = VarInfo {
                name: (*name).clone(),
                kind: "array",
                dtype: None,
                shape: None,
                bytes: 0,
                view_of: None,
                is_view: false,
                writable: true,
            };
            match v {
                Val::Array(a) => {
                    info.dtype = Some(a.dtype());
                    info.shape = Some(a.shape().to_vec());
                    info.bytes = a.nbytes();
                    info.writable = a.is_writable();
                    if a.ndim() == 0 {
                        info.kind = "number";
                    }
                    info.view_of = self.base_of(name, a);
                    info.is_view = info.view_of.is_some() || !a.covers_buffer();
                }
                Val::Lazy(l) => {
                    info.dtype = Some(l.dtype());
                    info.shape = Some(l.shape().to_vec());
                }
                Val::Weak { value, .. } => {
                    info.kind = "number";
                    info.dtype = Some(value.dtype());
                    info.shape = Some(Vec::new());
                }
                Val::Str(_) => info.kind = "string",
                Val::Tuple(_) => info.kind = "tuple",
                Val::DType(_) => info.kind = "dtype",
                Val::None => info.kind = "none",
            }
            out.push(info);
        }
        let mut defs: Vec<VarInfo> = self
            .interp
            .fns
            .keys()
            .map(|n| (n, "fn"))
            .chain(self.interp.kernels.keys().map(|n| (n, "kernel")))
            .map(|(n, kind)| VarInfo {
                name: n.clone(),
                kind,
                dtype: None,
                shape: None,
                bytes: 0,
                view_of: None,
                is_view: false,
                writable: false,
            })
            .collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(defs);
        out
    }

    /// Forgets every value and definition (keeps the compiled-code cache and the thread
    /// count).
    pub fn reset(&mut self) {
        if let Some(g) = self.interp.scopes.first_mut() {
            g.clear();
        }
        self.interp.scopes.truncate(1);
        self.interp.fns.clear();
        self.interp.kernels.clear();
        self.interp.kcache.generation += 1;
        self.interp.bound_order.clear();
    }

    /// The name `a` (bound to `name`) is a view of: the earliest-bound other array over the
    /// same buffer that covers all of it, else (when `a` covers it, the other must be bound
    /// earlier) the earliest-bound one that shares memory with `a`.
    fn base_of(&self, name: &str, a: &ndx_runtime::Array) -> Option<String> {
        let globals = self.interp.scopes.first()?;
        let order = |n: &str| self.interp.bound_order.get(n).copied().unwrap_or(u64::MAX);
        let mine = order(name);
        let mut cands: Vec<(u64, &String, &ndx_runtime::Array)> = globals
            .iter()
            .filter_map(|(n, v)| match v {
                Val::Array(b) if n != name && a.same_buffer(b) => Some((order(n), n, b)),
                _ => None,
            })
            .collect();
        cands.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
        let covers = a.covers_buffer();
        let base = cands
            .iter()
            .find(|(o, _, b)| b.covers_buffer() && (!covers || *o < mine));
        let shared = cands
            .iter()
            .find(|(o, _, b)| !covers && *o < mine && a.shares_memory(b));
        base.or(shared).map(|(_, n, _)| (*n).clone())
    }

    /// Evaluates the expression `src` as far as its type needs: nested reductions,
    /// contractions and kernel calls run, but the expression's own fused work is only
    /// compiled, not run. Returns the result's dtype and shape and every step, the last one
    /// being the expression's own kernel. With `listings`, steps carry their CLIF and machine
    /// code. Source that is not a single expression is run as by [`Session::explain`].
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("let x = arange(1000, dtype=f32)").unwrap();
    /// let i = s.inspect("x * 2.0 + 1.0", false).unwrap();
    /// assert_eq!(i.type_text(), "f32 (1000,)  (not computed)");
    /// assert_eq!(i.steps.len(), 1);
    /// ```
    pub fn inspect(&mut self, src: &str, listings: bool) -> Result<Inspection, Error> {
        self.inspect_with(src, listings, true)
    }

    /// The dtype and shape of the expression `src`, as [`Session::inspect`] finds them but
    /// without compiling the expression's own kernel (so a result too large to allocate still
    /// has a type).
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("let x = ones(10)").unwrap();
    /// assert_eq!(s.type_of("x[:, newaxis] * x").unwrap().type_text(), "f64 (10, 10)  (not computed)");
    /// ```
    pub fn type_of(&mut self, src: &str) -> Result<Inspection, Error> {
        self.inspect_with(src, false, false)
    }

    fn inspect_with(
        &mut self,
        src: &str,
        listings: bool,
        prepare: bool,
    ) -> Result<Inspection, Error> {
        let file = self.interp.sources.add("<input>", src);
        let program = ndx_syntax::parse(file, src).map_err(|d| self.error(d))?;
        let [Stmt {
            kind: StmtKind::Expr(e),
            ..
        }] = program.stmts.as_slice()
        else {
            let ex = self.explain_stmts(&program.stmts, listings)?;
            return Ok(Inspection {
                dtype: None,
                shape: None,
                kind: "statement".to_string(),
                deferred: false,
                steps: ex.statements.into_iter().flat_map(|s| s.steps).collect(),
            });
        };
        self.interp
            .exec
            .start_trace(listings)
            .map_err(|d| self.error(d))?;
        let r = self.interp.eval(e).and_then(|v| match v {
            Val::Lazy(l) if prepare => self.interp.exec.prepare(&l).map(|()| (Val::Lazy(l), true)),
            Val::Lazy(l) => Ok((Val::Lazy(l), true)),
            other => Ok((other, false)),
        });
        let steps = self.interp.exec.take_trace();
        self.interp.exec.stop_trace();
        let (v, deferred) = r.map_err(|d| self.error(d))?;
        Ok(Inspection {
            dtype: v.ty().map(|t| match v {
                Val::Weak { .. } => crate::eval::weak_default(t),
                _ => t.dtype,
            }),
            shape: v.shape(),
            kind: v.kind(),
            deferred,
            steps,
        })
    }

    /// Runs `src` statement by statement and returns what each top-level statement
    /// compiled and ran: fusion groups, materialised values, loop nests, vector width,
    /// thread split, cache hits and compile times, einsum paths.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// let ex = s.explain("let x = arange(8, dtype=f64)\nlet y = sum(x * x)").unwrap();
    /// assert_eq!(ex.statements.len(), 2);
    /// let text = ex.text(ndx::explain::TextOptions { timings: false });
    /// assert!(text.contains("line 2: let y = sum(x * x)"));
    /// assert!(text.contains("mul, sum"));
    /// ```
    pub fn explain(&mut self, src: &str) -> Result<Explanation, Error> {
        let file = self.interp.sources.add("<input>", src);
        let program = ndx_syntax::parse(file, src).map_err(|d| self.error(d))?;
        self.explain_stmts(&program.stmts, false)
    }

    /// [`Session::explain`] for a script file; with `listings`, every step carries its CLIF
    /// and machine code (what `ndx emit --clif` and `--asm` print).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ndx-doc-{}.ndx", std::process::id()));
    /// std::fs::write(&path, "let a = ones((4, 4))\nlet b = sum(a * a.T, axis=0)\n").unwrap();
    /// let mut s = ndx::Session::new();
    /// let ex = s.explain_file(&path, true).unwrap();
    /// assert!(ex.stage_text(ndx::Stage::Clif).contains(";; line 2: let b = sum(a * a.T, axis=0)"));
    /// assert!(ex.stage_text(ndx::Stage::Asm).contains("ret"));
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn explain_file(&mut self, path: &Path, listings: bool) -> Result<Explanation, Error> {
        let (_, program) = self.load(path)?;
        self.explain_stmts(&program.stmts, listings)
    }

    fn explain_stmts(&mut self, stmts: &[Stmt], listings: bool) -> Result<Explanation, Error> {
        self.interp
            .exec
            .start_trace(listings)
            .map_err(|d| self.error(d))?;
        let mut out = Explanation::default();
        for s in stmts {
            let t0 = std::time::Instant::now();
            let r = self.interp.run_program(std::slice::from_ref(s));
            let time = t0.elapsed();
            let steps = self.interp.exec.take_trace();
            let (line, _) = self.interp.sources.line_col(s.span.file, s.span.start);
            let text = self.interp.sources.text(s.span.file);
            let source = text
                .get(s.span.start as usize..s.span.end as usize)
                .and_then(|t| t.lines().next())
                .unwrap_or("")
                .trim()
                .to_string();
            out.statements.push(StatementPlan {
                line,
                time,
                source,
                steps,
            });
            if let Err(d) = r {
                self.interp.exec.stop_trace();
                return Err(self.error(d));
            }
        }
        self.interp.exec.stop_trace();
        Ok(out)
    }
}
