//! The cache of compiled kernels and calling them from scripts: argument checks against the
//! annotations, the argument words, tracing, and located fault diagnostics.

use super::*;

/// The cache of compiled kernels, by name.
pub(crate) struct KernelCache {
    entries: HashMap<String, Arc<CompiledEntry>>,
    /// Bumped whenever a `fn` or kernel is defined.
    pub generation: u64,
    /// Whether new compilations check element accesses.
    pub bounds_checks: bool,
    /// The compile time of the last kernel compiled (taken by the tracer).
    pub last_compile: Option<std::time::Duration>,
}

impl KernelCache {
    pub(crate) fn new() -> KernelCache {
        KernelCache {
            entries: HashMap::new(),
            generation: 0,
            bounds_checks: true,
            last_compile: None,
        }
    }
}

impl Interp {
    /// The compiled form of kernel `def`, compiling it on first use.
    pub(crate) fn compiled_kernel(
        &mut self,
        def: &Arc<KernelDef>,
    ) -> Result<Arc<CompiledEntry>, Diag> {
        let name = &def.name.name;
        if let Some(e) = self.kcache.entries.get(name) {
            if Arc::ptr_eq(&e.def, def)
                && e.generation == self.kcache.generation
                && e.checks == self.kcache.bounds_checks
            {
                return Ok(e.clone());
            }
        }
        let (func, sites, params, array_names) = lower_kernel(def, &self.fns, &self.kernels)?;
        let opts = KernelOptions {
            bounds_checks: self.kcache.bounds_checks,
        };
        let start = std::time::Instant::now();
        let code =
            self.exec.jit()?.compile_kernel(&func, opts).map_err(|e| {
                ndx_syntax::Diagnostic::bug(format!("compiling kernel `{name}`: {e}"))
            })?;
        self.kcache.last_compile = Some(start.elapsed());
        let entry = Arc::new(CompiledEntry {
            def: def.clone(),
            generation: self.kcache.generation,
            checks: opts.bounds_checks,
            code,
            sites,
            params,
            array_names,
            func,
        });
        self.kcache.entries.insert(name.clone(), entry.clone());
        Ok(entry)
    }

    /// Calls kernel `def` with evaluated arguments.
    pub(crate) fn call_kernel(&mut self, def: &Arc<KernelDef>, a: Args) -> Result<Val, Diag> {
        let name = def.name.name.clone();
        if let Some((k, ks, _, _)) = a.kw.first() {
            return Err(err_at(
                "E0702",
                *ks,
                format!("kernel `{name}` takes no keyword arguments (got `{k}`)"),
            ));
        }
        let what = format!("kernel `{name}`");
        check_arity(&what, def.params.len(), a.pos.len(), a.span, def.name.span)?;
        self.kcache.last_compile = None;
        let entry = self.compiled_kernel(def)?;
        if self.exec.trace.is_some() {
            self.trace_kernel(&entry)?;
        }
        let mut words: Vec<i64> = Vec::new();
        let mut keep: Vec<Array> = Vec::new();
        let mut sizes: HashMap<&str, usize> = HashMap::new();
        for ((info, p), (v, vspan)) in entry.params.iter().zip(&def.params).zip(a.pos) {
            let pname = &p.name.name;
            match info {
                ParamInfo::Array {
                    dtype,
                    dims,
                    written,
                    ..
                } => {
                    let arr = match v {
                        Val::Array(arr) => arr,
                        Val::Lazy(l) if !written => self.exec.materialize(&l)?,
                        other => {
                            return Err(err_at(
                                "E0827",
                                vspan,
                                format!(
                                    "parameter `{pname}` of kernel `{name}` is an array ({dtype}[...]) but the argument is {}",
                                    other.kind()
                                ),
                            )
                            .with_note(if matches!(other, Val::Lazy(_)) {
                                "the kernel writes this parameter, so pass a named array (an expression would be a temporary)"
                            } else {
                                "pass an array of the declared dtype and rank"
                            }))
                        }
                    };
                    if arr.dtype() != *dtype || arr.ndim() != dims.len() {
                        return Err(err_at(
                            "E0827",
                            vspan,
                            format!(
                                "parameter `{pname}` of kernel `{name}` is {dtype} with {} dimension(s), but the argument is {} with shape {}",
                                dims.len(),
                                arr.dtype(),
                                ndx_ir::shape::format_shape(arr.shape())
                            ),
                        )
                        .with_note(format!("convert it first, e.g. `astype(x, {dtype})`")));
                    }
                    for (axis, (ann, &size)) in dims.iter().zip(arr.shape()).enumerate() {
                        let bad = ann.mismatch(size, &mut sizes);
                        if let Some(want) = bad {
                            return Err(err_at(
                                "E0828",
                                vspan,
                                format!(
                                    "axis {axis} of `{pname}` has length {size}, but kernel `{name}` needs {want}"
                                ),
                            ));
                        }
                    }
                    if *written && !arr.is_writable() {
                        return Err(err_at(
                            "E0310",
                            vspan,
                            format!(
                                "kernel `{name}` writes `{pname}`, but the argument is read-only"
                            ),
                        ));
                    }
                    words.push(arr.ptr().map_err(crate::error::runtime_err)? as i64);
                    words.extend(arr.shape().iter().map(|&s| s as i64));
                    words.extend(arr.strides().iter().map(|&s| s as i64));
                    keep.push(arr);
                }
                ParamInfo::Scalar(d) => {
                    let (s, weak) = match &v {
                        Val::Weak { value, .. } => (*value, true),
                        Val::Array(arr) if arr.ndim() == 0 => {
                            (arr.item().map_err(crate::error::runtime_err)?, false)
                        }
                        other => {
                            return Err(err_at(
                                "E0827",
                                vspan,
                                format!(
                                    "parameter `{pname}` of kernel `{name}` is a {d} scalar but the argument is {}",
                                    other.kind()
                                ),
                            ))
                        }
                    };
                    let fits = kind_rank(s.dtype()) < kind_rank(*d)
                        || (kind_rank(s.dtype()) == kind_rank(*d)
                            && (weak || s.dtype().size() <= d.size()));
                    if !fits {
                        return Err(err_at(
                            "E0827",
                            vspan,
                            format!("parameter `{pname}` of kernel `{name}` is {d} but the argument is {}", s.dtype()),
                        )
                        .with_note(format!("convert it explicitly: `{d}(x)`")));
                    }
                    words.push(ndx_codegen::scalar_bits(s.cast(*d)));
                }
            }
        }
        let seed = self.rng.next_u64();
        let jit = self.exec.jit()?;
        // SAFETY: every array word set describes a live array (kept alive in `keep`) of the
        // dtype and rank the kernel was compiled for; element accesses are bounds-checked
        // unless the user turned checks off.
        let r = unsafe { jit.run_kernel(&entry.code, &words, seed) }
            .map_err(|e| ndx_syntax::Diagnostic::bug(format!("running kernel `{name}`: {e}")))?;
        drop(keep);
        match r {
            Ok(Some(s)) => Ok(Val::Array(Array::scalar(s))),
            Ok(None) => Ok(Val::None),
            Err(f) => Err(fault_diag(&entry, &name, f, &words)),
        }
    }

    /// Records a call of a compiled kernel in the trace.
    fn trace_kernel(&mut self, entry: &CompiledEntry) -> Result<(), Diag> {
        let compile_time = self.kcache.last_compile.take();
        let want_listings = self.exec.listings;
        let jit = self.exec.jit()?;
        let mut listings = jit.take_listings();
        if want_listings && listings.is_empty() {
            // From the cache: compile it again just for the listing.
            let opts = KernelOptions {
                bounds_checks: entry.checks,
            };
            jit.compile_kernel(&entry.func, opts)
                .map_err(|e| ndx_syntax::Diagnostic::bug(format!("listing a kernel: {e}")))?;
            listings = jit.take_listings();
        }
        let threads = jit.threads();
        let step = crate::explain::KernelStep {
            name: entry.func.name.clone(),
            compile_time,
            parallel_loops: count_parallel(&entry.func.body),
            threads,
            parts: 1,
            vector_loops: ndx_codegen::vector_loops(
                &entry.func,
                KernelOptions {
                    bounds_checks: entry.checks,
                },
            ),
            ir: entry.func.to_string(),
            listings,
            calls: 1,
        };
        self.exec.record(crate::explain::Step::Kernel(step));
        Ok(())
    }
}

/// The diagnostic of a kernel fault: the kernel, the line, and for bounds faults the index,
/// the axis and the shape.
pub(crate) fn fault_diag(
    entry: &CompiledEntry,
    name: &str,
    f: ndx_codegen::KernelFault,
    words: &[i64],
) -> Diag {
    let site = entry.sites.get(f.site as usize);
    let span = site.map(|s| s.span);
    let msg = match (f.kind, site.map(|s| &s.kind)) {
        (FaultKind::Bounds, Some(SiteKind::Access(k))) => {
            let shape = array_shape(entry, *k, words);
            let arr = entry
                .array_names
                .get(*k as usize)
                .cloned()
                .unwrap_or_default();
            let len = shape.get(f.axis).copied().unwrap_or(0);
            format!(
                "in kernel `{name}`: index {} is out of bounds for axis {} of `{arr}` with size {len} (shape {})",
                f.index,
                f.axis,
                ndx_ir::shape::format_shape(&shape)
            )
        }
        (FaultKind::DivByZero, _) => {
            format!("in kernel `{name}`: integer division or modulo by zero")
        }
        (FaultKind::ZeroStep, _) => {
            format!("in kernel `{name}`: range() step must not be zero")
        }
        _ => format!("kernel `{name}` failed"),
    };
    let d = ndx_syntax::Diagnostic::error("E0905", msg);
    match span {
        Some(s) => d.with_primary(s, ""),
        None => d,
    }
}

/// The shape of array number `k` as passed in `words`.
fn array_shape(entry: &CompiledEntry, k: u32, words: &[i64]) -> Vec<usize> {
    let mut w = 0usize;
    for p in &entry.func.params {
        match *p {
            KParam::Array(j) => {
                let rank = entry.func.arrays.get(j as usize).map_or(0, |a| a.rank);
                if j == k {
                    return words
                        .get(w + 1..w + 1 + rank)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&s| s as usize)
                        .collect();
                }
                w += 1 + 2 * rank;
            }
            KParam::Scalar(_) => w += 1,
        }
    }
    Vec::new()
}
