//! Type promotion: NumPy 2's rules with NEP 50 weak scalars (LANGUAGE.md section 2).
//!
//! A [`Ty`] is a dtype plus a weakness flag. Strong with strong follows NumPy's
//! `result_type`; a weak scalar takes the other operand's kind where it fits (a weak int with
//! an integer or float array keeps the array's dtype, a weak float with a float array keeps
//! it), and weak with weak stays weak at the higher kind.

use ndx_runtime::DType;

/// A dtype with NEP 50 weakness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ty {
    /// The dtype (weak scalars are `bool`, `i64` or `f64`).
    pub dtype: DType,
    /// True for Python-like scalars: literals, shape entries, loop counters.
    pub weak: bool,
}

/// Kind order: bool < int < float.
fn kind(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::I32 | DType::I64 => 1,
        DType::F32 | DType::F64 => 2,
    }
}

/// NumPy's `result_type` of two strong dtypes.
pub fn strong(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    match (a, b) {
        (Bool, x) | (x, Bool) => x,
        (I32, I64) | (I64, I32) => I64,
        (I32 | I64, F32) | (F32, I32 | I64) => F64,
        (F64, _) | (_, F64) => F64,
        _ => F64,
    }
}

/// Promotes two operand types.
pub fn promote(a: Ty, b: Ty) -> Ty {
    match (a.weak, b.weak) {
        (false, false) => Ty {
            dtype: strong(a.dtype, b.dtype),
            weak: false,
        },
        (true, true) => Ty {
            dtype: if kind(a.dtype) >= kind(b.dtype) {
                a.dtype
            } else {
                b.dtype
            },
            weak: true,
        },
        (true, false) => Ty {
            dtype: weak_with(a.dtype, b.dtype),
            weak: false,
        },
        (false, true) => Ty {
            dtype: weak_with(b.dtype, a.dtype),
            weak: false,
        },
    }
}

/// The dtype of a weak scalar of dtype `w` combined with a strong `s`.
fn weak_with(w: DType, s: DType) -> DType {
    match (kind(w), kind(s)) {
        (wk, sk) if wk <= sk => s,
        // A weak int with a bool array.
        (1, 0) => DType::I64,
        // A weak float with a bool or int array.
        _ => DType::F64,
    }
}

/// The type of true division `/`: ints and bools divide in `f64`.
pub fn true_divide_type(t: Ty) -> Ty {
    if t.dtype.is_float() {
        t
    } else {
        Ty {
            dtype: DType::F64,
            weak: t.weak,
        }
    }
}

/// Promotes any number of types (`None` for an empty list).
pub fn result_type(tys: &[Ty]) -> Option<Ty> {
    let (first, rest) = tys.split_first()?;
    Some(rest.iter().fold(*first, |acc, t| promote(acc, *t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    fn s(d: DType) -> Ty {
        Ty {
            dtype: d,
            weak: false,
        }
    }
    fn w(d: DType) -> Ty {
        Ty {
            dtype: d,
            weak: true,
        }
    }

    #[test]
    fn strong_table_matches_numpy() {
        // Rows and columns in the order bool, i32, i64, f32, f64 (np.result_type).
        let table = [
            [Bool, I32, I64, F32, F64],
            [I32, I32, I64, F64, F64],
            [I64, I64, I64, F64, F64],
            [F32, F64, F64, F32, F64],
            [F64, F64, F64, F64, F64],
        ];
        for (i, a) in DType::ALL.iter().enumerate() {
            for (j, b) in DType::ALL.iter().enumerate() {
                assert_eq!(promote(s(*a), s(*b)).dtype, table[i][j], "{a} + {b}");
                assert!(!promote(s(*a), s(*b)).weak);
            }
        }
    }

    #[test]
    fn weak_scalars_follow_nep50() {
        assert_eq!(promote(s(F32), w(F64)), s(F32));
        assert_eq!(promote(s(I32), w(I64)), s(I32));
        assert_eq!(promote(s(I32), w(F64)), s(F64));
        assert_eq!(promote(s(Bool), w(I64)), s(I64));
        assert_eq!(promote(s(Bool), w(F64)), s(F64));
        assert_eq!(promote(w(Bool), s(I32)), s(I32));
        assert_eq!(promote(w(I64), s(F32)), s(F32));
        assert_eq!(promote(w(I64), w(F64)), w(F64));
        assert_eq!(promote(w(Bool), w(I64)), w(I64));
        assert_eq!(true_divide_type(s(I32)), s(F64));
        assert_eq!(true_divide_type(s(F32)), s(F32));
        assert_eq!(result_type(&[s(I32), w(F64), s(F32)]), Some(s(F64)));
    }
}
