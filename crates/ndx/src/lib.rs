//! ndx: compile NumPy-style array programs to native code, and embed the JIT in a host.
//!
//! A [`Session`] holds named values and runs `.ndx` source: each statement's elementwise and
//! broadcast work (plus a trailing reduction) fuses into one kernel compiled with Cranelift and
//! cached by structure, so intermediates are never allocated.
//!
//! ```
//! let mut s = ndx::Session::new();
//! s.set("x", ndx::Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap());
//! s.run("let y = exp(x) / sum(exp(x))").unwrap();
//! let y: Vec<f32> = s.get("y").unwrap().to_vec().unwrap();
//! assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```
#![deny(missing_docs)]

mod args;
mod builtins;
mod check;
mod epilogue;
mod error;
mod errors;
mod eval;
mod exec;
pub mod explain;
mod handle;
mod host;
mod index;
mod inspect;
mod interp;
mod kernels;
mod lazy;
mod reduce;
pub mod repl;
mod resolve;
mod rows;
mod scan;
mod value;

pub use builtins::builtin_names;
pub use errors::{Error, ErrorKind, ErrorLabel};
pub use explain::{Explanation, Inspection, Stage, TextOptions};
pub use handle::{Arg, Kernel};
pub use host::{ArrayMut, ArrayRef};
pub use inspect::VarInfo;
pub use ndx_runtime::{Array, DType, Element, Scalar};
pub use ndx_syntax::{Diagnostic, SourceMap};

use interp::{Interp, Sink};
use ndx_syntax::ast::StmtKind;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use value::Val;

/// A value bound to a name in a session, as a host sees it.
#[derive(Clone, Debug)]
pub enum Value {
    /// An array (0-d arrays are strong scalars, such as the result of `sum(x)`).
    Array(Array),
    /// A plain number: a literal, a shape entry, a loop counter (NEP 50 "weak" scalars).
    Scalar(Scalar),
    /// A string.
    Str(String),
    /// A tuple (shapes, axis lists).
    Tuple(Vec<Value>),
    /// A dtype.
    DType(DType),
    /// No value (the result of `print(...)`).
    None,
}

impl Value {
    /// The value as an array (plain numbers become 0-d arrays).
    pub fn to_array(&self) -> Option<Array> {
        match self {
            Value::Array(a) => Some(a.clone()),
            Value::Scalar(s) => Some(Array::scalar(*s)),
            _ => None,
        }
    }

    /// The elements in C order, when this is an array or number of element type `T`.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, Error> {
        let a = self
            .to_array()
            .ok_or_else(|| Error::plain("E0001", "value is not an array"))?;
        a.to_vec::<T>()
            .map_err(|e| Error::plain("E0300", &e.to_string()))
    }

    fn from_val(v: Val) -> Value {
        match v {
            Val::Array(a) => Value::Array(a),
            Val::Weak { value, .. } => Value::Scalar(value),
            Val::Str(s) => Value::Str(s),
            Val::Tuple(items) => Value::Tuple(items.into_iter().map(Value::from_val).collect()),
            Val::DType(d) => Value::DType(d),
            Val::None | Val::Lazy(_) => Value::None,
        }
    }

    fn into_val(self) -> Val {
        match self {
            Value::Array(a) => Val::Array(a),
            Value::Scalar(s) => Val::Weak {
                value: s,
                lit: false,
            },
            Value::Str(s) => Val::Str(s),
            Value::Tuple(items) => Val::Tuple(items.into_iter().map(Value::into_val).collect()),
            Value::DType(d) => Val::DType(d),
            Value::None => Val::None,
        }
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Value {
        Value::Array(a)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Scalar(Scalar::F64(v))
    }
}

impl From<f32> for Value {
    /// An `f32` from a host is a strong 0-d array, as NumPy's `np.float32`.
    fn from(v: f32) -> Value {
        Value::Array(Array::scalar(Scalar::F32(v)))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Scalar(Scalar::I64(v))
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Array(a) if a.ndim() == 0 => match a.item() {
                Ok(s) => f.write_str(&ndx_runtime::format_scalar(s)),
                Err(e) => write!(f, "<{e}>"),
            },
            Value::Array(a) => write!(f, "{a}"),
            Value::Scalar(s) => f.write_str(&ndx_runtime::format_scalar(*s)),
            Value::Str(s) => f.write_str(s),
            Value::Tuple(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                if parts.len() == 1 {
                    write!(f, "({},)", parts[0])
                } else {
                    write!(f, "({})", parts.join(", "))
                }
            }
            Value::DType(d) => f.write_str(d.name()),
            Value::None => f.write_str("None"),
        }
    }
}

/// Seconds on a monotonic clock (the origin is the first call in the process).
pub(crate) fn clock_seconds() -> f64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// An interpreter and JIT for ndx programs, holding named values.
pub struct Session {
    interp: Interp,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// A host buffer lent to a session: while it lives, the session reads and writes the host's
/// memory directly; when it is dropped, every view of it in the session stops working (using
/// one is an error, never a dangling read).
pub struct Loan<'a> {
    alive: Arc<AtomicBool>,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

impl Session {
    /// A new session with no values.
    pub fn new() -> Session {
        Session {
            interp: Interp::new(),
        }
    }

    fn error(&self, d: Diagnostic) -> Error {
        Error::new(d, &self.interp.sources)
    }

    /// Binds a value to a name in the global scope.
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.interp.note_global(name);
        if let Some(g) = self.interp.scopes.first_mut() {
            g.insert(name.to_string(), value.into().into_val());
        }
    }

    /// The value bound to a name in the global scope.
    pub fn get(&self, name: &str) -> Result<Value, Error> {
        match self.interp.scopes.first().and_then(|g| g.get(name)) {
            Some(v) => Ok(Value::from_val(v.clone())),
            None => Err(Error::plain("E0101", &format!("unknown name `{name}`"))),
        }
    }

    /// The names bound in the global scope, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .interp
            .scopes
            .first()
            .map(|g| g.keys().cloned().collect())
            .unwrap_or_default();
        v.extend(self.interp.fns.keys().cloned());
        v.sort();
        v
    }

    /// Lends a host slice to the session as an array named `name`, without a copy. Writes in
    /// the script go to the host's memory. The loan ends when the returned [`Loan`] drops;
    /// after that, using the array (or a view of it) in the session is an error.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// let mut buf = vec![0.0f64; 4];
    /// let loan = s.lend("out", &mut buf, &[4]).unwrap();
    /// s.run("out[:] = arange(4) * 0.5").unwrap();
    /// drop(loan);
    /// assert_eq!(buf, [0.0, 0.5, 1.0, 1.5]);
    /// assert!(s.run("print(out)").is_err());
    /// ```
    pub fn lend<'a, T: Element>(
        &mut self,
        name: &str,
        data: &'a mut [T],
        shape: &[usize],
    ) -> Result<Loan<'a>, Error> {
        let alive = Arc::new(AtomicBool::new(true));
        let itemsize = std::mem::size_of::<T>() as isize;
        let mut strides = vec![0isize; shape.len()];
        let mut acc = itemsize;
        for (s, n) in strides.iter_mut().zip(shape).rev() {
            *s = acc;
            acc = acc.saturating_mul(*n as isize);
        }
        let len = std::mem::size_of_val(data);
        // SAFETY: the slice is borrowed mutably for 'a by the returned Loan, which revokes the
        // array (the `alive` flag) before the borrow ends; the runtime checks the flag on every
        // access and validates that all elements lie inside `len` bytes.
        let a = unsafe {
            Array::from_raw_parts(
                data.as_mut_ptr().cast::<u8>(),
                len,
                T::DTYPE,
                shape,
                &strides,
                true,
                alive.clone(),
            )
        }
        .map_err(|e| Error::plain("E0300", &e.to_string()))?;
        self.set(name, a);
        Ok(Loan {
            alive,
            _borrow: PhantomData,
        })
    }

    /// Lends a read-only host slice to the session as an array named `name`, without a copy.
    /// Writing to it in the script is an error (E0310). The loan ends when the returned
    /// [`Loan`] drops, as for [`Session::lend`].
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// let data = [1.0f32, 2.0, 3.0, 4.0];
    /// let loan = s.lend_ref("x", &data, &[2, 2]).unwrap();
    /// assert_eq!(s.run("sum(x)").unwrap().unwrap().to_vec::<f32>().unwrap(), [10.0]);
    /// assert!(s.run("x[0, 0] = 5").is_err());
    /// drop(loan);
    /// ```
    pub fn lend_ref<'a, T: Element>(
        &mut self,
        name: &str,
        data: &'a [T],
        shape: &[usize],
    ) -> Result<Loan<'a>, Error> {
        let alive = Arc::new(AtomicBool::new(true));
        let itemsize = std::mem::size_of::<T>() as isize;
        let mut strides = vec![0isize; shape.len()];
        let mut acc = itemsize;
        for (s, n) in strides.iter_mut().zip(shape).rev() {
            *s = acc;
            acc = acc.saturating_mul(*n as isize);
        }
        let len = std::mem::size_of_val(data);
        // SAFETY: the slice is borrowed for 'a by the returned Loan, which revokes the array
        // before the borrow ends; the array is not writable, so the shared borrow is never
        // written through; the runtime checks that all elements lie inside `len` bytes.
        let a = unsafe {
            Array::from_raw_parts(
                data.as_ptr().cast_mut().cast::<u8>(),
                len,
                T::DTYPE,
                shape,
                &strides,
                false,
                alive.clone(),
            )
        }
        .map_err(|e| Error::plain("E0300", &e.to_string()))?;
        self.set(name, a);
        Ok(Loan {
            alive,
            _borrow: PhantomData,
        })
    }

    /// A handle that stops this session's running program before its next statement or
    /// kernel launch (between kernel calls, never inside one) with error E0405. `Send + Sync`; its `trigger` only
    /// stores to an atomic, so a signal handler may call it. A trigger while nothing runs is
    /// forgotten when the next `run` starts.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// let stop = s.interrupt_handle();
    /// let t = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     stop.trigger();
    /// });
    /// let e = s.run("let i = 0\nwhile true { i = i + 1 }").unwrap_err();
    /// t.join().unwrap();
    /// assert_eq!(e.code(), "E0405");
    /// ```
    pub fn interrupt_handle(&self) -> Interrupt {
        Interrupt(self.interp.interrupt.clone())
    }

    /// Runs source text; returns the value of a trailing expression statement, if any.
    pub fn run(&mut self, src: &str) -> Result<Option<Value>, Error> {
        self.interp.interrupt.store(false, Ordering::Relaxed);
        let file = self.interp.sources.add("<input>", src);
        let program = ndx_syntax::parse(file, src).map_err(|d| self.error(d))?;
        let r = self.interp.run_program(&program.stmts);
        r.map(|v| v.map(Value::from_val)).map_err(|d| self.error(d))
    }

    /// Runs a script file (`include` paths are relative to it).
    pub fn run_file(&mut self, path: &Path) -> Result<(), Error> {
        self.interp.interrupt.store(false, Ordering::Relaxed);
        let (file, program) = self.load(path)?;
        let _ = file;
        let r = self.interp.run_program(&program.stmts);
        r.map(|_| ()).map_err(|d| self.error(d))
    }

    fn load(
        &mut self,
        path: &Path,
    ) -> Result<(ndx_syntax::FileId, ndx_syntax::ast::Program), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::plain("E0502", &format!("cannot read `{}`: {e}", path.display()))
        })?;
        let file = self
            .interp
            .sources
            .add(path.display().to_string(), text.clone());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.interp.dirs.insert(file, dir);
        let program = ndx_syntax::parse(file, &text).map_err(|d| self.error(d))?;
        Ok((file, program))
    }

    /// Parses and checks a file without running it: syntax, that every name is bound before
    /// use, `fn` signatures and `kernel` bodies (array shapes and dtypes of script values are
    /// only known when the script runs).
    pub fn check_file(&mut self, path: &Path) -> Result<(), Error> {
        let (_, program) = self.load(path)?;
        resolve::check_program(&program.stmts).map_err(|d| self.error(d))?;
        Ok(())
    }

    /// Defines the functions in `src` and returns a handle to the last one.
    ///
    /// ```
    /// use ndx::{Array, Session, Value};
    /// let mut s = Session::new();
    /// let f = s.compile("fn axpy(a: f32, x: f32[n], y: f32[n]) -> f32[n] = a * x + y").unwrap();
    /// let x = Value::from(Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap());
    /// let out = f.call(&mut s, &[Value::from(2.0f32), x.clone(), x]).unwrap();
    /// assert_eq!(out.to_vec::<f32>().unwrap(), vec![3.0, 6.0]);
    /// ```
    pub fn compile(&mut self, src: &str) -> Result<Function, Error> {
        let file = self.interp.sources.add("<compile>", src);
        let program = ndx_syntax::parse(file, src).map_err(|d| self.error(d))?;
        let name = program.stmts.iter().rev().find_map(|s| match &s.kind {
            StmtKind::Fn(f) => Some(f.name.name.clone()),
            StmtKind::Kernel(k) => Some(k.name.name.clone()),
            _ => None,
        });
        let Some(name) = name else {
            return Err(Error::plain(
                "E0604",
                "compile() expects source defining a `fn` or a `kernel`",
            ));
        };
        self.interp
            .run_program(&program.stmts)
            .map_err(|d| self.error(d))?;
        if let Some(k) = self.interp.kernels.get(&name).cloned() {
            // Compile now, so type errors surface here rather than at the first call.
            self.interp.compiled_kernel(&k).map_err(|d| self.error(d))?;
        }
        Ok(Function { name })
    }

    /// Calls a defined `fn` or kernel with host values and returns its materialised result
    /// (a kernel that returns nothing gives an empty `Value::None`). A kernel writes its array
    /// arguments in place: arrays share memory with the host's values.
    ///
    /// ```
    /// use ndx::{Array, Session, Value};
    /// let mut s = Session::new();
    /// s.run("kernel scale(a: f64[n], k: f64) { for i in range(n) { a[i] = a[i] * k } }").unwrap();
    /// let a = Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap();
    /// s.call("scale", &[Value::from(a.clone()), Value::from(10.0f64)]).unwrap();
    /// assert_eq!(a.to_vec::<f64>().unwrap(), vec![10.0, 20.0, 30.0]);
    /// ```
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, Error> {
        if let Some(k) = self.interp.kernels.get(name).cloned() {
            let span = k.name.span;
            let a = crate::args::Args {
                name: name.to_string(),
                span,
                pos: args.iter().map(|v| (v.clone().into_val(), span)).collect(),
                kw: Vec::new(),
            };
            let r = self
                .interp
                .call_kernel(&k, a)
                .and_then(|v| self.interp.settle(v));
            return r.map(Value::from_val).map_err(|d| self.error(d));
        }
        let Some(f) = self.interp.fns.get(name).cloned() else {
            return Err(Error::plain("E0101", &format!("unknown function `{name}`")));
        };
        let span = f.name.span;
        let vals = args.iter().map(|v| (v.clone().into_val(), span)).collect();
        let r = self
            .interp
            .call_fn(&f, vals, span)
            .and_then(|v| self.interp.settle(v));
        r.map(Value::from_val).map_err(|d| self.error(d))
    }

    /// Sends `print` output to an internal buffer instead of stdout (for tests and hosts).
    pub fn capture_output(&mut self) {
        self.interp.sink = Sink::Buffer(String::new());
    }

    /// Takes what `print` wrote since capture began.
    pub fn take_output(&mut self) -> String {
        match &mut self.interp.sink {
            Sink::Buffer(b) => std::mem::take(b),
            Sink::Stdout => String::new(),
        }
    }

    /// The kernel IR (text form of `ndx_ir::kir::KFunc`) of kernel `name`, as its next call
    /// would compile it: locals `lN`, arrays `aN`, `?` on indices that keep a bounds check,
    /// `@N` the failure site of an access.
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("kernel fill(a: f64[n]) { for i in range(n) { a[i] = 1.0 } }").unwrap();
    /// let ir = s.kernel_ir("fill").unwrap();
    /// assert!(ir.contains("a0[l0]@1 = 1.0:f64"), "{ir}");
    /// ```
    pub fn kernel_ir(&mut self, name: &str) -> Result<String, Error> {
        let Some(k) = self.interp.kernels.get(name).cloned() else {
            return Err(Error::plain("E0101", &format!("unknown kernel `{name}`")));
        };
        match self.interp.compiled_kernel(&k) {
            Ok(entry) => Ok(entry.func.to_string()),
            Err(d) => Err(self.error(d)),
        }
    }

    /// Turns the bounds checks of `kernel` element accesses on (the default) or off. With
    /// checks off an out-of-range index is undefined behaviour, as in Numba's default mode:
    /// use it only for code whose indices are known good, to measure or to squeeze the last
    /// few percent. Kernels compiled earlier are recompiled at their next call.
    pub fn set_bounds_checks(&mut self, on: bool) {
        self.interp.kcache.bounds_checks = on;
    }

    /// How many kernels were compiled, and how many calls hit the cache.
    pub fn kernel_stats(&self) -> (usize, usize) {
        self.interp
            .exec
            .stats()
            .map_or((0, 0), |s| (s.compiled, s.hits))
    }
}

/// Stops a session's running program before its next statement or kernel launch
/// ([`Session::interrupt_handle`]).
#[derive(Clone, Debug)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Asks the running program to stop. Returns true when a request was already pending
    /// (the program has not reached a statement boundary since: it is inside one long kernel).
    pub fn trigger(&self) -> bool {
        self.0.swap(true, Ordering::Relaxed)
    }
}

/// A defined `fn` or `kernel`, callable from the host through its session.
///
/// A `Function` is only a name: it is `Send + Sync`, but calling it needs the session
/// (`&mut Session`), because a `fn` is inlined into the fused graph of each call and compiled
/// for the layout of the arguments it gets, in that session's JIT. What can run on several
/// threads at once:
/// - a `kernel` block, through a [`Kernel`] handle ([`Session::kernel`]): `Send + Sync`, many
///   concurrent calls, each on its own host buffers;
/// - a `fn`, through one [`Session`] per thread (a session is `Send`), each compiling its own
///   code once per layout.
#[derive(Clone, Debug)]
pub struct Function {
    name: String,
}

impl Function {
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls the function in `session` with host values.
    pub fn call(&self, session: &mut Session, args: &[Value]) -> Result<Value, Error> {
        session.call(&self.name, args)
    }
}
