//! Element types and scalar values.
//!
//! [`DType`] is the closed set of element types of LANGUAGE.md section 2. [`Scalar`] is one value
//! of one of those types; it is what constants in the IR and 0-d reads hold. Promotion rules
//! (NEP 50) live in `ndx-ir`, not here: the runtime only stores and converts.

use std::fmt;

/// An array element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// One byte, 0 or 1.
    Bool,
    /// 32-bit two's complement.
    I32,
    /// 64-bit two's complement.
    I64,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

impl DType {
    /// All dtypes, narrowest kind first.
    pub const ALL: [DType; 5] = [DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The name used in ndx source (`f32`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Parses a dtype name as written in ndx source (`f32`, `i64`, `bool`, ...).
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "bool" => DType::Bool,
            "i32" => DType::I32,
            "i64" => DType::I64,
            "f32" => DType::F32,
            "f64" => DType::F64,
            _ => return None,
        })
    }

    /// True for `f32` and `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// True for `i32` and `i64`.
    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64)
    }

    /// The NumPy `.npy` type string for little-endian storage (`<f4`, `|b1`, ...).
    pub fn npy_descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of one [`DType`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
}

impl Scalar {
    /// The dtype of this value.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }

    /// The word holding the value: ints sign-extended, bools 0 and 1, floats as their IEEE
    /// bits (so that `-0.0` and `0.0` differ, and a NaN equals itself).
    pub fn word(self) -> i64 {
        match self {
            Scalar::Bool(v) => i64::from(v),
            Scalar::I32(v) => i64::from(v),
            Scalar::I64(v) => v,
            Scalar::F32(v) => i64::from(v.to_bits()),
            Scalar::F64(v) => v.to_bits() as i64,
        }
    }

    /// The value as `f64` (bools are 0 and 1).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => f64::from(u8::from(b)),
            Scalar::I32(v) => f64::from(v),
            Scalar::I64(v) => v as f64,
            Scalar::F32(v) => f64::from(v),
            Scalar::F64(v) => v,
        }
    }

    /// The value as `i64`; floats truncate toward zero and saturate, NaN gives 0.
    pub fn to_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => i64::from(b),
            Scalar::I32(v) => i64::from(v),
            Scalar::I64(v) => v,
            Scalar::F32(v) => v as i64,
            Scalar::F64(v) => v as i64,
        }
    }

    /// True when the value is non-zero (NaN is true, as in NumPy).
    pub fn to_bool(self) -> bool {
        match self {
            Scalar::Bool(b) => b,
            Scalar::I32(v) => v != 0,
            Scalar::I64(v) => v != 0,
            Scalar::F32(v) => v != 0.0,
            Scalar::F64(v) => v != 0.0,
        }
    }

    /// Converts to `dtype` with NumPy's `astype` rules (float to int truncates toward zero and
    /// saturates; NaN gives 0; int to narrower int wraps).
    pub fn cast(self, dtype: DType) -> Scalar {
        match dtype {
            DType::Bool => Scalar::Bool(self.to_bool()),
            DType::I32 => Scalar::I32(match self {
                Scalar::F32(v) => v as i32,
                Scalar::F64(v) => v as i32,
                other => other.to_i64() as i32,
            }),
            DType::I64 => Scalar::I64(self.to_i64()),
            DType::F32 => Scalar::F32(match self {
                Scalar::F64(v) => v as f32,
                Scalar::I64(v) => v as f32,
                other => other.to_f64() as f32,
            }),
            DType::F64 => Scalar::F64(self.to_f64()),
        }
    }

    /// Writes the value's little-endian bytes to the start of `out` (which must hold
    /// `dtype().size()` bytes).
    pub fn write_le(self, out: &mut [u8]) {
        match self {
            Scalar::Bool(b) => out[0] = u8::from(b),
            Scalar::I32(v) => out[..4].copy_from_slice(&v.to_le_bytes()),
            Scalar::I64(v) => out[..8].copy_from_slice(&v.to_le_bytes()),
            Scalar::F32(v) => out[..4].copy_from_slice(&v.to_le_bytes()),
            Scalar::F64(v) => out[..8].copy_from_slice(&v.to_le_bytes()),
        }
    }

    /// Reads a value of `dtype` from the start of `bytes` (little-endian).
    pub fn read_le(dtype: DType, bytes: &[u8]) -> Scalar {
        let mut b8 = [0u8; 8];
        let n = dtype.size();
        b8[..n].copy_from_slice(&bytes[..n]);
        match dtype {
            DType::Bool => Scalar::Bool(b8[0] != 0),
            DType::I32 => Scalar::I32(i32::from_le_bytes([b8[0], b8[1], b8[2], b8[3]])),
            DType::I64 => Scalar::I64(i64::from_le_bytes(b8)),
            DType::F32 => Scalar::F32(f32::from_le_bytes([b8[0], b8[1], b8[2], b8[3]])),
            DType::F64 => Scalar::F64(f64::from_le_bytes(b8)),
        }
    }
}
