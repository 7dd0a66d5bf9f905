//! Static checks of `fn` annotations, and conforming arguments to them. (Kernel bodies are
//! checked by lowering them where they are defined: `crate::kernels::check_definition`.)

use crate::error::{err_at, Diag};
use crate::interp::Interp;
use crate::value::Val;

use ndx_runtime::{DType, Scalar};
use ndx_syntax::ast::{Dim, FnDef, TypeAnn};
use ndx_syntax::Span;
use std::collections::HashMap;

/// The dtype named by an annotation.
pub(crate) fn ann_dtype(ann: &TypeAnn) -> Result<DType, Diag> {
    DType::from_name(&ann.dtype.name).ok_or_else(|| {
        err_at(
            "E0801",
            ann.dtype.span,
            format!("unknown dtype `{}`", ann.dtype.name),
        )
        .with_note("dtypes are bool, i32, i64, f32, f64")
    })
}

/// Checks a `fn` definition's signature.
pub(crate) fn check_fn(f: &FnDef) -> Result<(), Diag> {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for p in &f.params {
        if let Some(prev) = seen.insert(&p.name.name, p.name.span) {
            return Err(err_at(
                "E0802",
                p.name.span,
                format!("parameter `{}` appears twice", p.name.name),
            )
            .with_secondary(prev, "first here"));
        }
        if let Some(a) = &p.ann {
            ann_dtype(a)?;
        }
    }
    if let Some(a) = &f.ret {
        ann_dtype(a)?;
    }
    Ok(())
}

/// Conforms a value to an annotation: weak scalars take the annotated dtype; arrays must have
/// the annotated dtype and a shape that agrees with the named sizes seen so far.
pub(crate) fn conform(
    interp: &mut Interp,
    v: Val,
    ann: &TypeAnn,
    sizes: &mut HashMap<String, usize>,
    span: Span,
) -> Result<Val, Diag> {
    let d = ann_dtype(ann)?;
    let v = match v {
        Val::Weak { value, lit } => {
            let ok = match value {
                Scalar::F64(_) | Scalar::F32(_) => d.is_float(),
                Scalar::I64(_) | Scalar::I32(_) => d != DType::Bool,
                Scalar::Bool(_) => true,
            };
            if !ok {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected {d}, found a {}", Val::Weak { value, lit }.kind()),
                )
                .with_secondary(ann.span, "annotated here"));
            }
            // A weak scalar passed to an annotated parameter takes the parameter's dtype.
            Val::Array(ndx_runtime::Array::scalar(value.cast(d)))
        }
        other => {
            let Some(t) = other.ty() else {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected a {d} value, found a {}", other.kind()),
                ));
            };
            if t.dtype != d {
                return Err(err_at(
                    "E0803",
                    span,
                    format!("expected {d}, found {}", other.kind()),
                )
                .with_secondary(ann.span, "annotated here")
                .with_note(format!("convert explicitly with {d}(...)")));
            }
            other
        }
    };
    if let Some(dims) = &ann.shape {
        let shape = v.shape().unwrap_or_default();
        if shape.len() != dims.len() {
            return Err(err_at(
                "E0804",
                span,
                format!(
                    "expected a {}-dimensional array, found shape {}",
                    dims.len(),
                    ndx_ir::shape::format_shape(&shape)
                ),
            )
            .with_secondary(ann.span, "annotated here"));
        }
        for (dim, &n) in dims.iter().zip(&shape) {
            match dim {
                Dim::Any(_) => {}
                Dim::Fixed(k, ks) => {
                    if *k != n as i64 {
                        return Err(
                            err_at("E0804", span, format!("expected size {k}, found {n}"))
                                .with_secondary(*ks, "required here"),
                        );
                    }
                }
                Dim::Name(id) => match sizes.get(&id.name) {
                    Some(&m) if m != n => {
                        return Err(err_at(
                            "E0804",
                            span,
                            format!("size `{}` is {m} elsewhere but {n} here", id.name),
                        )
                        .with_secondary(id.span, "size named here"));
                    }
                    _ => {
                        sizes.insert(id.name.clone(), n);
                    }
                },
            }
        }
    }
    let _ = interp;
    Ok(v)
}
