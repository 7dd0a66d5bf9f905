//! Rust element types that map onto ndx dtypes.

use crate::dtype::{DType, Scalar};

/// A Rust type stored in arrays of one dtype.
pub trait Element: Copy + Send + Sync + 'static {
    /// The matching dtype.
    const DTYPE: DType;
    /// The value as a scalar.
    fn to_scalar(self) -> Scalar;
    /// The scalar converted to this type (NumPy cast rules).
    fn from_scalar(s: Scalar) -> Self;
}

macro_rules! element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn to_scalar(self) -> Scalar {
                Scalar::$d(self)
            }
            fn from_scalar(s: Scalar) -> Self {
                match s.cast(DType::$d) {
                    Scalar::$d(v) => v,
                    _ => <$t>::default(),
                }
            }
        }
    };
}
element!(bool, Bool);
element!(i32, I32);
element!(i64, I64);
element!(f32, F32);
element!(f64, F64);
