//! Indexing: basic indexing makes views (pushed into lazy expressions), advanced indexing with
//! an integer array or a boolean mask makes copies; assignment through an index writes in
//! place.
//!
//! Supported advanced forms: one integer index array, optionally after slices, integers and
//! `newaxis` (`a[idx]`, `a[:, idx]`), and one boolean mask of the indexed array's shape
//! (`a[mask]`). Other combinations are a clear error.

use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::value::Val;
use ndx_runtime::{ops, Array, DType, IndexSpec};
use ndx_syntax::ast::{ExprKind, IndexItem};
use ndx_syntax::Span;

/// An evaluated index item.
enum Item {
    Basic(IndexSpec),
    Ints(Array, Span),
    Mask(Array, Span),
}

impl Interp {
    fn index_items(&mut self, items: &[IndexItem]) -> Result<Vec<Item>, Diag> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            out.push(match it {
                IndexItem::Ellipsis(_) => Item::Basic(IndexSpec::Ellipsis),
                IndexItem::Slice { start, stop, step, .. } => {
                    let mut part = |e: &Option<ndx_syntax::ast::Expr>| -> Result<Option<i64>, Diag> {
                        match e {
                            None => Ok(None),
                            Some(e) => {
                                let v = self.eval(e)?;
                                Ok(Some(self.as_int(&v, e.span)?))
                            }
                        }
                    };
                    let (start, stop, step) = (part(start)?, part(stop)?, part(step)?);
                    Item::Basic(IndexSpec::Slice { start, stop, step })
                }
                IndexItem::Expr(e) if matches!(e.kind, ExprKind::Newaxis) => Item::Basic(IndexSpec::NewAxis),
                IndexItem::Expr(e) => {
                    let v = self.eval(e)?;
                    let is_scalar = v.shape().is_some_and(|s| s.is_empty());
                    match v.ty() {
                        Some(t) if is_scalar && (t.dtype.is_int()) => Item::Basic(IndexSpec::Int(self.as_int(&v, e.span)?)),
                        Some(t) if t.dtype.is_int() => Item::Ints(self.as_array(&v, e.span)?, e.span),
                        Some(t) if t.dtype == DType::Bool && !is_scalar => Item::Mask(self.as_array(&v, e.span)?, e.span),
                        _ => {
                            return Err(err_at(
                                "E0220",
                                e.span,
                                format!("an index must be an integer, a slice, an integer array or a bool mask, not a {}", v.kind()),
                            ));
                        }
                    }
                }
            });
        }
        Ok(out)
    }

    /// `base[items]`.
    pub(crate) fn index(
        &mut self,
        base: Val,
        items: &[IndexItem],
        span: Span,
    ) -> Result<Val, Diag> {
        if let Val::Tuple(vs) = &base {
            let [IndexItem::Expr(e)] = items else {
                return Err(err_at("E0221", span, "a tuple takes one integer index"));
            };
            let v = self.eval(e)?;
            let i = self.as_int(&v, e.span)?;
            let n = vs.len() as i64;
            let k = if i < 0 { i + n } else { i };
            return match usize::try_from(k).ok().and_then(|k| vs.get(k)) {
                Some(v) => Ok(v.clone()),
                None => Err(err_at(
                    "E0222",
                    e.span,
                    format!("tuple index {i} is out of range for a tuple of length {n}"),
                )),
            };
        }
        let items = self.index_items(items)?;
        match split_advanced(items, span)? {
            Split::Basic(specs) => self.view_op(base, span, &mut |a| a.index(&specs)),
            Split::Ints { before, idx } => {
                let a = self.as_array(&base, span)?;
                let axis = advanced_axis(&before);
                let v = a.index(&before).at(span)?;
                Ok(Val::Array(ops::take(&v, &idx.0, axis).at(idx.1)?))
            }
            Split::Mask(mask) => {
                let a = self.as_array(&base, span)?;
                Ok(Val::Array(ops::mask_select(&a, &mask.0).at(mask.1)?))
            }
        }
    }

    /// `dest[items] = rhs`.
    pub(crate) fn assign_index(
        &mut self,
        dest: &Array,
        items: &[IndexItem],
        rhs: Val,
        span: Span,
    ) -> Result<(), Diag> {
        if !rhs.is_arraylike() {
            return Err(err_at(
                "E0223",
                span,
                format!("cannot assign a {} into an array", rhs.kind()),
            ));
        }
        if !dest.is_writable() {
            return Err(err_at("E0310", span, "assignment destination is read-only"));
        }
        let items = self.index_items(items)?;
        match split_advanced(items, span)? {
            Split::Basic(specs) => {
                let view = dest.index(&specs).at(span)?;
                let l = self.to_lazy(&rhs, view.dtype());
                self.exec.write_into(&l, &view).at(span)
            }
            Split::Ints { before, idx } => {
                let view = dest.index(&before).at(span)?;
                let axis = advanced_axis(&before);
                let src = self.as_array(&rhs, span)?;
                ops::take_assign(&view, &idx.0, axis, &src).at(span)
            }
            Split::Mask(mask) => {
                let src = self.as_array(&rhs, span)?;
                ops::mask_assign(dest, &mask.0, &src).at(span)
            }
        }
    }
}

enum Split {
    Basic(Vec<IndexSpec>),
    Ints {
        before: Vec<IndexSpec>,
        idx: (Array, Span),
    },
    Mask((Array, Span)),
}

fn split_advanced(items: Vec<Item>, span: Span) -> Result<Split, Diag> {
    let n_adv = items
        .iter()
        .filter(|i| !matches!(i, Item::Basic(_)))
        .count();
    if n_adv == 0 {
        let specs = items
            .into_iter()
            .filter_map(|i| {
                if let Item::Basic(s) = i {
                    Some(s)
                } else {
                    None
                }
            })
            .collect();
        return Ok(Split::Basic(specs));
    }
    if n_adv > 1 {
        return Err(err_at(
            "E0224",
            span,
            "only one index array or mask per indexing expression is supported",
        ));
    }
    let n = items.len();
    let mut before = Vec::new();
    for (k, it) in items.into_iter().enumerate() {
        match it {
            Item::Basic(IndexSpec::Ellipsis) => {
                return Err(err_at(
                    "E0224",
                    span,
                    "`...` cannot be combined with an index array or mask",
                ));
            }
            Item::Basic(s) => before.push(s),
            Item::Mask(m, sp) => {
                if n != 1 {
                    return Err(err_at("E0224", sp, "a bool mask must be the only index"));
                }
                return Ok(Split::Mask((m, sp)));
            }
            Item::Ints(a, sp) => {
                if k + 1 != n {
                    return Err(err_at("E0224", sp, "an index array must be the last index"));
                }
                return Ok(Split::Ints {
                    before,
                    idx: (a, sp),
                });
            }
        }
    }
    Err(err_at("E0224", span, "unsupported index"))
}

/// The axis of the basic-indexed view that an index array following `before` selects along.
fn advanced_axis(before: &[IndexSpec]) -> usize {
    before
        .iter()
        .filter(|s| !matches!(s, IndexSpec::Int(_)))
        .count()
}
