//! Buffers: the memory arrays view. Owned buffers are 64-byte aligned and zeroed; a buffer may
//! also be a memory-mapped file or memory lent by a host.
//!
//! Invariant: `ptr..ptr+len` stays valid for the buffer's lifetime, except for lent memory,
//! whose validity is the `alive` flag (checked by [`Buffer::base`]).
//!
//! Large anonymous buffers return to a small pool when dropped, keyed by their exact page
//! count and capped at [`POOL_CAP`] bytes, so a statement repeated in a loop reuses memory
//! instead of mapping (and faulting in) fresh pages each time. Only [`Buffer::dirty`] takes
//! from the pool: its contents are whatever the last user left, which is sound for outputs
//! that a kernel overwrites completely; [`Buffer::zeroed`] always maps fresh zero pages.

use crate::error::{Result, RuntimeError};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Alignment of owned buffers, in bytes.
pub const ALIGN: usize = 64;

/// Buffers from this size up are anonymous memory maps.
const LARGE: usize = 1 << 20;

/// Most bytes the pool of freed large buffers keeps; beyond it, memory returns to the OS.
pub const POOL_CAP: usize = 512 << 20;

static POOL: Mutex<Vec<memmap2::MmapMut>> = Mutex::new(Vec::new());

/// How many large buffers were mapped fresh from the OS (for tests and diagnostics).
static FRESH_MAPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn pages(len: usize) -> usize {
    len.div_ceil(4096)
}

/// Largest buffer ndx allocates (16 GiB): past it, an allocation is an error, not an abort.
pub const MAX_BYTES: usize = 16 << 30;

/// Storage shared by arrays.
pub struct Buffer {
    ptr: *mut u8,
    len: usize,
    kind: Kind,
}

enum Kind {
    Owned(Layout),
    MappedRo(#[allow(dead_code)] memmap2::Mmap),
    MappedRw(#[allow(dead_code)] memmap2::MmapMut),
    /// An anonymous map owned by ndx; `None` only while being returned to the pool.
    Anon(Option<memmap2::MmapMut>),
    Lent {
        writable: bool,
        alive: Arc<AtomicBool>,
    },
}

// SAFETY: a buffer is plain memory; ndx, like NumPy, lets views write through raw pointers and
// leaves ordering of concurrent writes to the program (fused kernels run on one thread).
unsafe impl Send for Buffer {}
// SAFETY: as above.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// A zeroed, 64-byte-aligned buffer of `len` bytes.
    ///
    /// Large buffers are anonymous memory maps (page-aligned, zeroed lazily by the kernel, with
    /// transparent huge pages requested as NumPy does): the allocator's aligned path would
    /// `memset` the whole buffer up front.
    pub fn zeroed(len: usize) -> Result<Buffer> {
        if len > MAX_BYTES {
            return Err(RuntimeError::TooLarge(format!(
                "{len} bytes requested, the limit is {MAX_BYTES}"
            )));
        }
        if len >= LARGE {
            FRESH_MAPS.fetch_add(1, Ordering::Relaxed);
            let map = memmap2::MmapMut::map_anon(len)
                .map_err(|e| RuntimeError::TooLarge(format!("cannot map {len} bytes: {e}")))?;
            #[cfg(target_os = "linux")]
            {
                // Only a hint: fewer TLB misses and page faults on big arrays.
                let _ = map.advise(memmap2::Advice::HugePage);
            }
            let ptr = map.as_ptr().cast_mut();
            return Ok(Buffer {
                ptr,
                len,
                kind: Kind::Anon(Some(map)),
            });
        }
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN)
            .map_err(|e| RuntimeError::TooLarge(e.to_string()))?;
        // SAFETY: the layout has non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(RuntimeError::TooLarge(format!(
                "out of memory allocating {len} bytes"
            )));
        }
        Ok(Buffer {
            ptr,
            len,
            kind: Kind::Owned(layout),
        })
    }

    /// A buffer of `len` bytes whose contents are unspecified (but initialised): a recycled
    /// large buffer when the pool has one of the same page count, else a zeroed one. For
    /// outputs that are written completely before they are read.
    pub fn dirty(len: usize) -> Result<Buffer> {
        if len >= LARGE {
            let reused = POOL.lock().ok().and_then(|mut pool| {
                let i = pool.iter().position(|m| pages(m.len()) == pages(len))?;
                Some(pool.swap_remove(i))
            });
            if let Some(map) = reused {
                let ptr = map.as_ptr().cast_mut();
                return Ok(Buffer {
                    ptr,
                    len,
                    kind: Kind::Anon(Some(map)),
                });
            }
        }
        Buffer::zeroed(len)
    }

    /// How many large buffers have been mapped fresh from the OS so far in this process.
    pub fn fresh_maps() -> usize {
        FRESH_MAPS.load(Ordering::Relaxed)
    }

    /// How many bytes the pool of freed buffers holds now.
    pub fn pooled_bytes() -> usize {
        POOL.lock()
            .map(|p| p.iter().map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// A read-only memory map.
    pub fn mapped(map: memmap2::Mmap) -> Buffer {
        let ptr = map.as_ptr().cast_mut();
        let len = map.len();
        Buffer {
            ptr,
            len,
            kind: Kind::MappedRo(map),
        }
    }

    /// A writable memory map.
    pub fn mapped_mut(mut map: memmap2::MmapMut) -> Buffer {
        let ptr = map.as_mut_ptr();
        let len = map.len();
        Buffer {
            ptr,
            len,
            kind: Kind::MappedRw(map),
        }
    }

    /// Memory lent by a host.
    ///
    /// # Safety
    /// `ptr..ptr+len` must stay valid while `alive` is true.
    pub unsafe fn lent(ptr: *mut u8, len: usize, writable: bool, alive: Arc<AtomicBool>) -> Buffer {
        Buffer {
            ptr,
            len,
            kind: Kind::Lent { writable, alive },
        }
    }

    /// The start of the memory, or an error if a loan ended.
    pub fn base(&self) -> Result<*mut u8> {
        match &self.kind {
            Kind::Lent { alive, .. } if !alive.load(Ordering::SeqCst) => {
                Err(RuntimeError::LoanEnded)
            }
            _ => Ok(self.ptr),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether writes are allowed.
    pub fn writable(&self) -> bool {
        match &self.kind {
            Kind::Owned(_) | Kind::MappedRw(_) | Kind::Anon(_) => true,
            Kind::MappedRo(_) => false,
            Kind::Lent { writable, .. } => *writable,
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        match &mut self.kind {
            Kind::Owned(layout) => {
                // SAFETY: allocated in `zeroed` with this layout.
                unsafe { dealloc(self.ptr, *layout) };
            }
            Kind::Anon(map) => {
                if let (Some(map), Ok(mut pool)) = (map.take(), POOL.lock()) {
                    let held: usize = pool.iter().map(|m| m.len()).sum();
                    if held + map.len() <= POOL_CAP {
                        pool.push(map);
                    }
                }
            }
            _ => {}
        }
    }
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer({} bytes)", self.len)
    }
}
