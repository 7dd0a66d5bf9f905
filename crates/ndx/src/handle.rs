//! Compiled kernels detached from their session, and calls that write host memory.
//!
//! - [`Kernel`] is a compiled `kernel` block: `Send + Sync`, cheap to clone, callable from
//!   several threads at once ([`Kernel::call`] takes the arguments by `&mut`, so two calls can
//!   never write the same host buffer). Its code lives as long as the process (the JIT never
//!   frees code), so it stays valid after its session is dropped.
//! - [`Session::call_into`] evaluates a `fn` straight into a host buffer.
//!
//! Arguments are checked as a call from a script checks them (dtype, rank, named and fixed
//! sizes, writes only through [`ArrayMut`]) before any pointer reaches compiled code.

use crate::error::{arity_error, Diag};
use crate::host::{ArrayMut, ArrayRef};
use crate::kernels::{fault_diag, CompiledEntry, ParamInfo};
use crate::{Error, Session};
use ndx_runtime::{DType, Scalar};
use ndx_syntax::{Diagnostic, SourceMap};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// One argument of [`Kernel::call`].
///
/// ```
/// use ndx::Arg;
/// let data = [1i32, 2, 3];
/// let args: [Arg; 3] = [
///     2.5f64.into(),                                  // a number
///     ndx::ArrayRef::new(&data, &[3]).unwrap().into(), // a read-only array
///     Arg::Scalar(ndx::Scalar::Bool(true)),
/// ];
/// assert!(matches!(args[1], Arg::Array(_)));
/// ```
#[derive(Debug)]
pub enum Arg<'a> {
    /// A number (converted to the parameter's dtype when that widens it).
    Scalar(Scalar),
    /// An array the kernel only reads.
    Array(ArrayRef<'a>),
    /// An array the kernel may write.
    ArrayMut(ArrayMut<'a>),
}

impl<'a> From<ArrayRef<'a>> for Arg<'a> {
    fn from(a: ArrayRef<'a>) -> Arg<'a> {
        Arg::Array(a)
    }
}

impl<'a> From<ArrayMut<'a>> for Arg<'a> {
    fn from(a: ArrayMut<'a>) -> Arg<'a> {
        Arg::ArrayMut(a)
    }
}

macro_rules! scalar_args {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(x: $t) -> Self {
                Arg::Scalar(Scalar::$v(x))
            }
        }
    )*};
}
scalar_args!(f64 => F64, f32 => F32, i64 => I64, i32 => I32, bool => Bool);

struct KernelInner {
    entry: Arc<CompiledEntry>,
    /// Keeps the session's JIT code mapped while this handle lives, even past the session.
    _code: Arc<()>,
    sources: SourceMap,
    threads: usize,
    pool: OnceLock<Option<rayon::ThreadPool>>,
    seed: AtomicU64,
}

/// A compiled `kernel` block, detached from its session: `Send + Sync`, cheap to clone, and
/// callable from several threads at once on different buffers.
///
/// Get one with [`Session::kernel`]. Calls take host memory directly ([`ArrayRef`],
/// [`ArrayMut`]) with the same checks as a call from a script (dtype, rank, named sizes,
/// writes only through `ArrayMut`) and return the kernel's scalar result, if it has one.
///
/// ```
/// use ndx::{Arg, ArrayMut, ArrayRef, Session};
/// let mut s = Session::new();
/// s.run("kernel axpy(a: f32, x: f32[n], y: f32[n]) { for i in range(n) { y[i] += a * x[i] } }")
///     .unwrap();
/// let k = s.kernel("axpy").unwrap();
/// let x = vec![1.0f32, 2.0, 3.0];
/// let mut y = vec![10.0f32; 3];
/// k.call(&mut [
///     Arg::from(2.0f32),
///     ArrayRef::new(&x, &[3]).unwrap().into(),
///     ArrayMut::new(&mut y, &[3]).unwrap().into(),
/// ])
/// .unwrap();
/// assert_eq!(y, [12.0, 14.0, 16.0]);
///
/// // From several threads at once, each on its own buffers:
/// std::thread::scope(|sc| {
///     for t in 0..4 {
///         let (k, x) = (k.clone(), &x);
///         sc.spawn(move || {
///             let mut y = vec![t as f32; 3];
///             let args = &mut [
///                 Arg::from(1.0f32),
///                 ArrayRef::new(x, &[3]).unwrap().into(),
///                 ArrayMut::new(&mut y, &[3]).unwrap().into(),
///             ];
///             k.call(args).unwrap();
///             assert_eq!(y[2], t as f32 + 3.0);
///         });
///     }
/// });
/// ```
#[derive(Clone)]
pub struct Kernel {
    inner: Arc<KernelInner>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Kernel {
    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.inner.entry.func.name
    }

    /// Calls the kernel on host memory. `args` are in parameter order; an array the kernel
    /// writes must be an [`Arg::ArrayMut`]. Returns the kernel's scalar result, if any.
    pub fn call(&self, args: &mut [Arg<'_>]) -> Result<Option<Scalar>, Error> {
        let inner = &*self.inner;
        let entry = &*inner.entry;
        let name = entry.func.name.as_str();
        let words = marshal(entry, name, args).map_err(|d| Error::new(d, &inner.sources))?;
        let seed = mix(inner.seed.fetch_add(1, Ordering::Relaxed));
        let pool = if inner.threads > 1 && entry.func_has_prange() {
            inner
                .pool
                .get_or_init(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(inner.threads)
                        .build()
                        .ok()
                })
                .as_ref()
        } else {
            None
        };
        // SAFETY: `marshal` checked every array against the kernel's dtypes, ranks and size
        // annotations and took its pointer, dims and strides from an ArrayRef/ArrayMut,
        // whose construction proved every addressed element inside a slice borrowed for the
        // duration of this call; written arrays come only from ArrayMut (exclusive borrows,
        // and `args` is `&mut`, so no other call can use them meanwhile).
        let r = unsafe { entry.code.run(&words, seed, inner.threads, pool) };
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(Error::new(
                fault_diag(entry, name, f, &words),
                &inner.sources,
            )),
            Err(e) => Err(Error::new(
                Diagnostic::bug(format!("running kernel `{name}`: {e}")),
                &inner.sources,
            )),
        }
    }
}

/// SplitMix64's finaliser: per-call seeds from a counter.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn kind_rank(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::I32 | DType::I64 => 1,
        DType::F32 | DType::F64 => 2,
    }
}

/// The argument words of a call, after checking every argument against the kernel.
fn marshal(entry: &CompiledEntry, name: &str, args: &[Arg<'_>]) -> Result<Vec<i64>, Diag> {
    if args.len() != entry.params.len() {
        let what = format!("kernel `{name}`");
        return Err(arity_error(&what, entry.params.len(), args.len()));
    }
    let mut words = Vec::with_capacity(args.len() * 3);
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for (k, (info, arg)) in entry.params.iter().zip(args).enumerate() {
        match info {
            ParamInfo::Array {
                dtype,
                dims,
                written,
                ..
            } => {
                let (ptr, adtype, shape, strides) = match arg {
                    Arg::Array(a) if !written => (a.ptr as i64, a.dtype, &a.shape, &a.strides),
                    Arg::ArrayMut(a) => (a.ptr as i64, a.dtype, &a.shape, &a.strides),
                    Arg::Array(_) => {
                        return Err(Diagnostic::error(
                            "E0310",
                            format!(
                                "kernel `{name}` writes argument {k}, but it was lent read-only"
                            ),
                        )
                        .with_note("pass it as an ArrayMut"))
                    }
                    Arg::Scalar(_) => {
                        return Err(Diagnostic::error(
                            "E0827",
                            format!(
                            "argument {k} of kernel `{name}` must be a {dtype} array, not a number"
                        ),
                        ))
                    }
                };
                if adtype != *dtype || shape.len() != dims.len() {
                    return Err(Diagnostic::error(
                        "E0827",
                        format!(
                            "argument {k} of kernel `{name}` must be {dtype} with {} dimension(s), but it is {adtype} with shape {}",
                            dims.len(),
                            ndx_ir::shape::format_shape(shape)
                        ),
                    ));
                }
                for (axis, (ann, &size)) in dims.iter().zip(shape.iter()).enumerate() {
                    let bad = ann.mismatch(size, &mut sizes);
                    if let Some(want) = bad {
                        return Err(Diagnostic::error(
                            "E0828",
                            format!(
                                "axis {axis} of argument {k} has length {size}, but kernel `{name}` needs {want}"
                            ),
                        ));
                    }
                }
                words.push(ptr);
                words.extend(shape.iter().map(|&s| s as i64));
                words.extend(strides.iter().map(|&s| s as i64));
            }
            ParamInfo::Scalar(d) => {
                let Arg::Scalar(s) = arg else {
                    return Err(Diagnostic::error(
                        "E0827",
                        format!("argument {k} of kernel `{name}` must be a {d} number"),
                    ));
                };
                let fits = kind_rank(s.dtype()) < kind_rank(*d)
                    || (kind_rank(s.dtype()) == kind_rank(*d) && s.dtype().size() <= d.size());
                if !fits {
                    return Err(Diagnostic::error(
                        "E0827",
                        format!(
                            "argument {k} of kernel `{name}` is {d} but the number is {}",
                            s.dtype()
                        ),
                    )
                    .with_note(format!("convert it on the host side to {d}")));
                }
                words.push(ndx_codegen::scalar_bits(s.cast(*d)));
            }
        }
    }
    Ok(words)
}

impl Session {
    /// A handle to the compiled `kernel` block `name` (compiled now if it was not yet),
    /// usable from any thread and after the session is gone. It keeps the session's thread
    /// count for `prange` loops and the definitions in force now (a later redefinition of the
    /// kernel or of a `fn` it calls does not change it).
    ///
    /// ```
    /// let mut s = ndx::Session::new();
    /// s.run("kernel sq(x: f64) -> f64 { return x * x }").unwrap();
    /// let k = s.kernel("sq").unwrap();
    /// assert_eq!(k.call(&mut [3.0f64.into()]).unwrap(), Some(ndx::Scalar::F64(9.0)));
    /// assert_eq!(s.kernel("nope").unwrap_err().code(), "E0101");
    /// ```
    pub fn kernel(&mut self, name: &str) -> Result<Kernel, Error> {
        let Some(def) = self.interp.kernels.get(name).cloned() else {
            return Err(Error::plain("E0101", &format!("unknown kernel `{name}`")));
        };
        let entry = self
            .interp
            .compiled_kernel(&def)
            .map_err(|d| self.error(d))?;
        let code = match self.interp.exec.jit() {
            Ok(jit) => jit.code_token(),
            Err(d) => return Err(self.error(d)),
        };
        Ok(Kernel {
            inner: Arc::new(KernelInner {
                entry,
                _code: code,
                sources: self.interp.sources.clone(),
                threads: self.interp.threads.max(1),
                pool: OnceLock::new(),
                seed: AtomicU64::new(self.interp.rng.next_u64()),
            }),
        })
    }

    /// Calls the `fn` `name` with host values and writes its result straight into `out`
    /// (broadcast to `out`'s shape and cast to its dtype, as `out[...] = f(...)` would): the
    /// result is never allocated, and the whole body fuses into one kernel that writes host
    /// memory.
    ///
    /// ```
    /// use ndx::{ArrayMut, Array, Session, Value};
    /// let mut s = Session::new();
    /// s.run("fn scaled(x) = 2.0 * x + 1.0").unwrap();
    /// let x = Value::from(Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap());
    /// let mut out = [0.0f64; 3];
    /// s.call_into("scaled", &[x], ArrayMut::new(&mut out, &[3]).unwrap()).unwrap();
    /// assert_eq!(out, [3.0, 5.0, 7.0]);
    /// ```
    pub fn call_into(
        &mut self,
        name: &str,
        args: &[crate::Value],
        out: ArrayMut<'_>,
    ) -> Result<(), Error> {
        let Some(f) = self.interp.fns.get(name).cloned() else {
            return Err(Error::plain("E0101", &format!("unknown function `{name}`")));
        };
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let bytes = out.dtype.size();
        // The extent of `out` in bytes from its lowest element, for the lent buffer.
        let (mut lo, mut hi) = (0isize, 0isize);
        for (&n, &s) in out.shape.iter().zip(&out.strides) {
            if n == 0 {
                (lo, hi) = (0, 0);
                break;
            }
            let span = s * (n as isize - 1);
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        let len = (hi - lo) as usize + bytes;
        let base = out.ptr.wrapping_offset(lo);
        // SAFETY: `out` borrows `[base, base + len)` exclusively for this call (ArrayMut's
        // construction checked it lies in the host slice); the array below is revoked
        // (`alive` cleared) before this function returns, whatever happens.
        let dest = unsafe {
            ndx_runtime::Array::from_raw_parts_at(
                base,
                len,
                out.dtype,
                (-lo) as usize,
                &out.shape,
                &out.strides,
                true,
                alive.clone(),
            )
        };
        let dest = match dest {
            Ok(d) => d,
            Err(e) => {
                alive.store(false, Ordering::SeqCst);
                return Err(Error::plain("E0300", &e.to_string()));
            }
        };
        let span = f.name.span;
        let vals = args.iter().map(|v| (v.clone().into_val(), span)).collect();
        let r = self.interp.call_fn(&f, vals, span).and_then(|v| {
            let dtype = dest.dtype();
            match v.ty() {
                Some(_) => {
                    let l = self.interp.to_lazy(&v, dtype);
                    self.interp.exec.write_into(&l, &dest)
                }
                None => Err(Diagnostic::error(
                    "E0208",
                    format!("`{name}` returned a {}, not an array", v.kind()),
                )),
            }
        });
        alive.store(false, Ordering::SeqCst);
        r.map_err(|d| self.error(d))
    }
}

impl CompiledEntry {
    fn func_has_prange(&self) -> bool {
        fn any(ss: &[ndx_ir::kir::KStmt]) -> bool {
            use ndx_ir::kir::KStmt;
            ss.iter().any(|s| match s {
                KStmt::For(f) => f.parallel.is_some() || any(&f.body),
                KStmt::If(_, t, e) => any(t) || any(e),
                KStmt::While(_, b) => any(b),
                _ => false,
            })
        }
        any(&self.func.body)
    }
}

/// Compile-time checks that the embedding types can cross threads.
#[allow(dead_code)]
fn assert_thread_safety() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Session>();
    send::<Kernel>();
    sync::<Kernel>();
    send::<ArrayRef<'static>>();
    send::<ArrayMut<'static>>();
    send::<Error>();
    sync::<Error>();
}
