//! `.npy` files (format versions 1.0, 2.0 and 3.0; C and Fortran order) and raw memory maps.
//!
//! The reader never trusts the header: every field is parsed defensively and the data length
//! is checked against the shape, so a malformed file is an error, never a panic.

use crate::array::{c_strides, checked_size, f_strides, Array};
use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::error::{Result, RuntimeError};
use std::path::Path;
use std::sync::Arc;

/// How `memmap` opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapMode {
    /// `"r"`: read-only.
    ReadOnly,
    /// `"r+"`: read and write an existing file.
    ReadWrite,
    /// `"w+"`: create (or extend) the file, read and write.
    Create,
}

const MAGIC: &[u8] = b"\x93NUMPY";

fn bad(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::NpyHeader(msg.into())
}

fn io(path: &Path, e: std::io::Error) -> RuntimeError {
    RuntimeError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// The parsed header: dtype, Fortran order, shape, and where the data starts.
struct Header {
    dtype: DType,
    fortran: bool,
    shape: Vec<usize>,
    data_start: usize,
}

fn parse_header(bytes: &[u8]) -> Result<Header> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (missing the \\x93NUMPY magic)"));
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("truncated header"))?;
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| bad("header is not text"))?;
    let descr = dict_value(text, "descr").ok_or_else(|| bad("no 'descr' field"))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let dtype = match descr {
        "|b1" | "<b1" | "b1" | "?" => DType::Bool,
        "<i4" | "i4" => DType::I32,
        "<i8" | "i8" => DType::I64,
        "<f4" | "f4" => DType::F32,
        "<f8" | "f8" => DType::F64,
        other => {
            return Err(RuntimeError::Invalid(format!(
                "unsupported dtype '{other}' in .npy file"
            )))
        }
    };
    let fortran = match dict_value(text, "fortran_order").map(str::trim) {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(bad("no valid 'fortran_order' field")),
    };
    let shape_text = dict_value(text, "shape").ok_or_else(|| bad("no 'shape' field"))?;
    let inner = shape_text
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad(format!("shape is not a tuple: {shape_text}")))?;
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(
            part.parse::<usize>()
                .map_err(|_| bad(format!("bad dimension '{part}'")))?,
        );
    }
    Ok(Header {
        dtype,
        fortran,
        shape,
        data_start: end,
    })
}

/// The text of a value in the header's Python dict literal (up to the next top-level comma).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}'");
    let k2 = format!("\"{key}\"");
    let at = text
        .find(&k1)
        .map(|i| i + k1.len())
        .or_else(|| text.find(&k2).map(|i| i + k2.len()))?;
    let rest = text[at..].trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// An array from the bytes of a `.npy` file (copied into a new buffer).
pub fn read_npy(bytes: &[u8]) -> Result<Array> {
    let h = parse_header(bytes)?;
    let n = checked_size(&h.shape, h.dtype.size())?;
    let need = n * h.dtype.size();
    let data = bytes.get(h.data_start..).unwrap_or(&[]);
    if data.len() < need {
        return Err(bad(format!(
            "the file holds {} data bytes but shape {:?} needs {need}",
            data.len(),
            h.shape
        )));
    }
    let mut a = Array::zeros(h.dtype, &h.shape)?;
    if h.fortran {
        a.strides = f_strides(&h.shape, h.dtype.size());
    }
    if need > 0 {
        let dst = a.ptr()?;
        // SAFETY: `a` is a new buffer of exactly `need` bytes; `data` has at least `need`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, need) };
    }
    if h.dtype == DType::Bool {
        // Normalise any non-zero byte to 1, as NumPy reads bools.
        a.for_each_offset(|o| {
            let v = a.read(o);
            a.write(o, v);
        });
    }
    Ok(a)
}

/// Loads a `.npy` file; with `mmap`, a read-only memory-mapped view (no copy).
pub fn load_npy(path: &Path, mmap: bool) -> Result<Array> {
    if !mmap {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        return read_npy(&bytes);
    }
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    // SAFETY: the map is read-only; like NumPy, ndx does not defend against another process
    // truncating the file while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(path, e))?;
    let h = parse_header(&map)?;
    let n = checked_size(&h.shape, h.dtype.size())?;
    if map.len() < h.data_start + n * h.dtype.size() {
        return Err(bad("the file is shorter than its shape needs"));
    }
    let strides = if h.fortran {
        f_strides(&h.shape, h.dtype.size())
    } else {
        c_strides(&h.shape, h.dtype.size())
    };
    let a = Array {
        buffer: Arc::new(Buffer::mapped(map)),
        dtype: h.dtype,
        shape: h.shape,
        strides,
        offset: h.data_start,
    };
    a.check_extent()?;
    Ok(a)
}

/// Saves an array as a version 1.0 `.npy` file (C order, or Fortran order for an array that
/// is Fortran- but not C-contiguous).
pub fn save_npy(path: &Path, a: &Array) -> Result<()> {
    let fortran = a.is_f_contiguous() && !a.is_c_contiguous() && a.ndim() > 1;
    let shape = match a.shape() {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
        a.dtype().npy_descr(),
        if fortran { "True" } else { "False" },
        shape
    );
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + pad + 1;
    let mut out = Vec::with_capacity(unpadded + pad + a.nbytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    let data = if fortran {
        a.transpose(None)?
    } else {
        a.clone()
    };
    let n = a.itemsize();
    let mut buf = [0u8; 8];
    for v in data.to_scalars()? {
        v.write_le(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
    std::fs::write(path, out).map_err(|e| io(path, e))
}

/// A raw binary file as an array (like `np.memmap`), C order from byte 0.
pub fn memmap(path: &Path, dtype: DType, shape: &[usize], mode: MapMode) -> Result<Array> {
    let n = checked_size(shape, dtype.size())?;
    let bytes = n * dtype.size();
    let strides = c_strides(shape, dtype.size());
    let buffer = match mode {
        MapMode::ReadOnly => {
            let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
            let len = file.metadata().map_err(|e| io(path, e))?.len() as usize;
            if len < bytes {
                return Err(RuntimeError::Invalid(format!(
                    "{}: the file has {len} bytes but shape {shape:?} of {dtype} needs {bytes}",
                    path.display()
                )));
            }
            // SAFETY: read-only map; see `load_npy`.
            Buffer::mapped(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(path, e))?)
        }
        MapMode::ReadWrite | MapMode::Create => {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(mode == MapMode::Create)
                .truncate(false)
                .open(path)
                .map_err(|e| io(path, e))?;
            let len = file.metadata().map_err(|e| io(path, e))?.len() as usize;
            if len < bytes {
                if mode == MapMode::ReadWrite {
                    return Err(RuntimeError::Invalid(format!(
                        "{}: the file has {len} bytes but shape {shape:?} of {dtype} needs {bytes}",
                        path.display()
                    )));
                }
                file.set_len(bytes as u64).map_err(|e| io(path, e))?;
            }
            if bytes == 0 {
                return Array::zeros(dtype, shape);
            }
            // SAFETY: a shared writable map of a file ndx opened; see `load_npy`.
            Buffer::mapped_mut(
                unsafe { memmap2::MmapMut::map_mut(&file) }.map_err(|e| io(path, e))?,
            )
        }
    };
    let a = Array {
        buffer: Arc::new(buffer),
        dtype,
        shape: shape.to_vec(),
        strides,
        offset: 0,
    };
    a.check_extent()?;
    Ok(a)
}
