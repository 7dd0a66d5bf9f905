//! Values as the interpreter sees them while it evaluates a statement.
//!
//! A [`Val`] is either materialised (an [`Array`], possibly a view), a lazy fused expression
//! ([`Lazy`]: nothing allocated yet), a weak scalar (a plain number as Python holds it, NEP 50),
//! or one of the non-array values a script can name: strings, tuples, dtypes.
//! The public [`crate::Value`] is the materialised subset that crosses the embedding API.

use crate::lazy::Lazy;
use ndx_ir::promote::Ty;
use ndx_runtime::{Array, DType, Scalar};

/// An interpreter value.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    /// A materialised array or view (0-d arrays are strong scalars).
    Array(Array),
    /// A fused elementwise expression that has not been computed.
    Lazy(Lazy),
    /// A weak scalar: a literal, a shape entry, a loop counter, arithmetic among those.
    /// `lit` is true when the value is a source literal (it may be compiled in as a constant;
    /// other weak scalars are passed at run time so a loop does not recompile).
    Weak { value: Scalar, lit: bool },
    /// A string.
    Str(String),
    /// A tuple.
    Tuple(Vec<Val>),
    /// A dtype name used as a value (`dtype=f32`).
    DType(DType),
    /// The result of a statement-like call (`print`, `save`).
    None,
}

impl Val {
    /// A non-literal weak integer.
    pub(crate) fn int(v: i64) -> Val {
        Val::Weak {
            value: Scalar::I64(v),
            lit: false,
        }
    }

    /// A non-literal weak float.
    pub(crate) fn float(v: f64) -> Val {
        Val::Weak {
            value: Scalar::F64(v),
            lit: false,
        }
    }

    /// A non-literal weak bool.
    pub(crate) fn bool(v: bool) -> Val {
        Val::Weak {
            value: Scalar::Bool(v),
            lit: false,
        }
    }

    /// What kind of value this is, for error messages.
    pub(crate) fn kind(&self) -> String {
        match self {
            Val::Array(a) if a.ndim() == 0 => format!("{} scalar", a.dtype()),
            Val::Array(a) => format!("{} array", a.dtype()),
            Val::Lazy(l) => format!("{} array", l.dtype()),
            Val::Weak { value, .. } => match value {
                Scalar::Bool(_) => "bool".into(),
                Scalar::F32(_) | Scalar::F64(_) => "float".into(),
                _ => "int".into(),
            },
            Val::Str(_) => "string".into(),
            Val::Tuple(_) => "tuple".into(),
            Val::DType(_) => "dtype".into(),
            Val::None => "nothing".into(),
        }
    }

    /// The array type (dtype and weakness) for promotion, when this is array-like.
    pub(crate) fn ty(&self) -> Option<Ty> {
        match self {
            Val::Array(a) => Some(Ty {
                dtype: a.dtype(),
                weak: false,
            }),
            Val::Lazy(l) => Some(Ty {
                dtype: l.dtype(),
                weak: false,
            }),
            Val::Weak { value, .. } => Some(Ty {
                dtype: value.dtype(),
                weak: true,
            }),
            _ => None,
        }
    }

    /// The shape, when this is array-like (weak scalars are 0-d).
    pub(crate) fn shape(&self) -> Option<Vec<usize>> {
        match self {
            Val::Array(a) => Some(a.shape().to_vec()),
            Val::Lazy(l) => Some(l.shape().to_vec()),
            Val::Weak { .. } => Some(Vec::new()),
            _ => None,
        }
    }

    /// True for arrays, lazy expressions and weak scalars.
    pub(crate) fn is_arraylike(&self) -> bool {
        matches!(self, Val::Array(_) | Val::Lazy(_) | Val::Weak { .. })
    }
}
