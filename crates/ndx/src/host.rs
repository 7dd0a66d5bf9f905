//! Host memory and compiled kernels for embedding: borrow a host's buffers without copying
//! and call compiled `kernel` blocks from any thread.
//!
//! - [`ArrayRef`] and [`ArrayMut`] describe host memory (a slice with a shape, and optional
//!   strides) borrowed for a lifetime `'a`: the borrow checker, not a run-time flag, keeps
//!   the memory alive and unaliased while ndx reads or writes it.
//! - [`Kernel`] is a compiled `kernel` block detached from its session: `Send + Sync`,
//!   cheap to clone, callable from several threads at once ([`Kernel::call`] takes the
//!   arguments by `&mut`, so two calls can never write the same host buffer).
//! - [`crate::Session::call_into`] evaluates a `fn` straight into a host buffer.
//!
//! Misuse does not compile. Host memory cannot be dropped while ndx may use it:
//!
//! ```compile_fail
//! let view = {
//!     let data = vec![1.0f32; 4];
//!     ndx::ArrayRef::new(&data, &[4]).unwrap()
//! }; // error: `data` does not live long enough
//! drop(view);
//! ```
//!
//! and a buffer lent for writing cannot be read or lent again meanwhile:
//!
//! ```compile_fail
//! let mut data = vec![0.0f32; 4];
//! let out = ndx::ArrayMut::new(&mut data, &[4]).unwrap();
//! let input = ndx::ArrayRef::new(&data, &[4]).unwrap(); // error: `data` is mutably borrowed
//! drop((out, input));
//! ```
//!
//! Invariants: an `ArrayRef`/`ArrayMut` only exists when every element its shape and strides
//! address lies inside the borrowed slice (checked at construction); a `Kernel` holds code
//! that lives as long as the process (the JIT never frees code), so it stays valid after its
//! session is dropped.

use crate::error::Diag;
use crate::kernels::{fault_diag, CompiledEntry, DimAnn, ParamInfo};
use crate::{Error, Session};
use ndx_runtime::{DType, Element, Scalar};
use ndx_syntax::{Diagnostic, SourceMap};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Element strides and the smallest and largest element offsets they reach, or an error.
fn layout(
    len: usize,
    shape: &[usize],
    strides: Option<&[isize]>,
    offset: usize,
) -> Result<Vec<isize>, Error> {
    let strides: Vec<isize> = match strides {
        Some(s) if s.len() != shape.len() => {
            return Err(Error::plain(
                "E0300",
                &format!(
                    "{} strides given for a shape of {} dimensions",
                    s.len(),
                    shape.len()
                ),
            ))
        }
        Some(s) => s.to_vec(),
        None => {
            let mut st = vec![0isize; shape.len()];
            let mut acc: isize = 1;
            for (s, &n) in st.iter_mut().zip(shape).rev() {
                *s = acc;
                acc = acc.saturating_mul(n as isize);
            }
            st
        }
    };
    let n: usize = shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| Error::plain("E0300", "the shape has more elements than memory can hold"))?;
    if strides.is_empty() || n == 0 {
        if n > 0 && offset >= len {
            return Err(Error::plain("E0300", "the offset is outside the slice"));
        }
        if strides.is_empty() && n == 1 && len == 0 {
            return Err(Error::plain("E0300", "an empty slice has no element"));
        }
        return Ok(strides);
    }
    let (mut lo, mut hi) = (offset as i128, offset as i128);
    for (&d, &s) in shape.iter().zip(&strides) {
        let span = i128::from(s as i64) * (d as i128 - 1);
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi >= len as i128 {
        return Err(Error::plain(
            "E0300",
            &format!(
                "shape {} with strides {strides:?} reaches outside a slice of {len} elements",
                ndx_ir::shape::format_shape(shape)
            ),
        ));
    }
    Ok(strides)
}

/// A host array ndx may read: a borrowed slice with a shape (and strides), no copy.
///
/// ```
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = ndx::ArrayRef::new(&data, &[2, 3]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// // Every other element of the first row, by element strides and an offset:
/// let b = ndx::ArrayRef::strided(&data, &[2], &[2], 0).unwrap();
/// assert_eq!(b.shape(), &[2]);
/// assert!(ndx::ArrayRef::new(&data, &[4, 2]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct ArrayRef<'a> {
    ptr: *const u8,
    dtype: DType,
    shape: Vec<usize>,
    /// Byte strides.
    strides: Vec<isize>,
    _borrow: PhantomData<&'a [u8]>,
}

// SAFETY: an ArrayRef is a shared borrow of plain element memory, like `&'a [T]` for the
// `Element` types (all `Send + Sync`).
unsafe impl Send for ArrayRef<'_> {}
// SAFETY: as above.
unsafe impl Sync for ArrayRef<'_> {}

impl<'a> ArrayRef<'a> {
    /// A C-ordered array of `shape` over all of `data` (its length must be the shape's size).
    pub fn new<T: Element>(data: &'a [T], shape: &[usize]) -> Result<ArrayRef<'a>, Error> {
        check_len(data.len(), shape)?;
        ArrayRef::strided(data, shape, &c_elem_strides(shape), 0)
    }

    /// An array of `shape` whose element `i` is `data[offset + sum(i[k] * strides[k])]`
    /// (strides in elements; negative and zero strides are allowed).
    pub fn strided<T: Element>(
        data: &'a [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<ArrayRef<'a>, Error> {
        let st = layout(data.len(), shape, Some(strides), offset)?;
        let size = std::mem::size_of::<T>() as isize;
        Ok(ArrayRef {
            // `wrapping_add`: an empty array's offset may be one past the end.
            ptr: data.as_ptr().wrapping_add(offset).cast::<u8>(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            strides: st.iter().map(|s| s * size).collect(),
            _borrow: PhantomData,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}

/// A host array ndx may read and write: a borrowed mutable slice with a shape (and
/// strides), no copy.
///
/// ```
/// let mut out = vec![0.0f64; 6];
/// let a = ndx::ArrayMut::new(&mut out, &[2, 3]).unwrap();
/// assert_eq!(a.shape(), &[2, 3]);
/// ```
#[derive(Debug)]
pub struct ArrayMut<'a> {
    ptr: *mut u8,
    dtype: DType,
    shape: Vec<usize>,
    /// Byte strides.
    strides: Vec<isize>,
    _borrow: PhantomData<&'a mut [u8]>,
}

// SAFETY: an ArrayMut is an exclusive borrow of plain element memory, like `&'a mut [T]`.
unsafe impl Send for ArrayMut<'_> {}
// SAFETY: as above: shared access to an ArrayMut gives no way to write through it (calls
// take `&mut`).
unsafe impl Sync for ArrayMut<'_> {}

impl<'a> ArrayMut<'a> {
    /// A C-ordered array of `shape` over all of `data`.
    pub fn new<T: Element>(data: &'a mut [T], shape: &[usize]) -> Result<ArrayMut<'a>, Error> {
        check_len(data.len(), shape)?;
        ArrayMut::strided(data, shape, &c_elem_strides(shape), 0)
    }

    /// An array of `shape` whose element `i` is `data[offset + sum(i[k] * strides[k])]`
    /// (strides in elements). Zero strides are refused: a written array must not alias
    /// itself.
    pub fn strided<T: Element>(
        data: &'a mut [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<ArrayMut<'a>, Error> {
        let st = layout(data.len(), shape, Some(strides), offset)?;
        if shape.iter().zip(&st).any(|(&n, &s)| n > 1 && s == 0) {
            return Err(Error::plain(
                "E0300",
                "a writable array cannot have a zero stride (its elements would alias)",
            ));
        }
        let size = std::mem::size_of::<T>() as isize;
        Ok(ArrayMut {
            ptr: data.as_mut_ptr().wrapping_add(offset).cast::<u8>(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            strides: st.iter().map(|s| s * size).collect(),
            _borrow: PhantomData,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}

fn check_len(len: usize, shape: &[usize]) -> Result<(), Error> {
    let n = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    if n != Some(len) {
        return Err(Error::plain(
            "E0300",
            &format!(
                "a slice of {len} elements cannot have shape {}",
                ndx_ir::shape::format_shape(shape)
            ),
        ));
    }
    Ok(())
}

fn c_elem_strides(shape: &[usize]) -> Vec<isize> {
    let mut st = vec![0isize; shape.len()];
    let mut acc: isize = 1;
    for (s, &n) in st.iter_mut().zip(shape).rev() {
        *s = acc;
        acc = acc.saturating_mul(n as isize);
    }
    st
}

#[cfg(feature = "ndarray")]
mod nd {
    use super::{ArrayMut, ArrayRef};
    use crate::Error;
    use ndx_runtime::Element;
    use std::marker::PhantomData;

    impl<'a, T: Element, D: ndarray::Dimension> TryFrom<ndarray::ArrayView<'a, T, D>> for ArrayRef<'a> {
        type Error = Error;

        /// Borrows an `ndarray` view of any strides (negative ones included) without a copy.
        fn try_from(v: ndarray::ArrayView<'a, T, D>) -> Result<ArrayRef<'a>, Error> {
            let size = std::mem::size_of::<T>() as isize;
            Ok(ArrayRef {
                ptr: v.as_ptr().cast::<u8>(),
                dtype: T::DTYPE,
                shape: v.shape().to_vec(),
                strides: v.strides().iter().map(|s| s * size).collect(),
                _borrow: PhantomData,
            })
        }
    }

    impl<'a, T: Element, D: ndarray::Dimension> TryFrom<ndarray::ArrayViewMut<'a, T, D>>
        for ArrayMut<'a>
    {
        type Error = Error;

        /// Borrows a mutable `ndarray` view of any strides without a copy.
        fn try_from(mut v: ndarray::ArrayViewMut<'a, T, D>) -> Result<ArrayMut<'a>, Error> {
            let size = std::mem::size_of::<T>() as isize;
            let shape = v.shape().to_vec();
            let strides: Vec<isize> = v.strides().iter().map(|s| s * size).collect();
            if shape.iter().zip(&strides).any(|(&n, &s)| n > 1 && s == 0) {
                return Err(Error::plain(
                    "E0300",
                    "a writable array cannot have a zero stride (its elements would alias)",
                ));
            }
            Ok(ArrayMut {
                ptr: v.as_mut_ptr().cast::<u8>(),
                dtype: T::DTYPE,
                shape,
                strides,
                _borrow: PhantomData,
            })
        }
    }
}

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
        return Err(Diagnostic::error(
            "E0601",
            format!(
                "kernel `{name}` takes {} argument(s) but {} were given",
                entry.params.len(),
                args.len()
            ),
        ));
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
                    let bad = match ann {
                        DimAnn::Any => None,
                        DimAnn::Fixed(n) => (*n != size as i64).then(|| format!("{n}")),
                        DimAnn::Name(s) => match sizes.get(s.as_str()) {
                            Some(&prev) if prev != size => Some(format!("`{s}` = {prev}")),
                            Some(_) => None,
                            None => {
                                sizes.insert(s.as_str(), size);
                                None
                            }
                        },
                    };
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
        Ok(Kernel {
            inner: Arc::new(KernelInner {
                entry,
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
