//! The NumPy contraction functions other than `einsum`: `matmul` / `@`, `dot`, `inner` and
//! `tensordot`, each lowered onto labelled operands by NumPy's shape rules and run by
//! [`Interp::contract2`] (a GEMM's elementwise consumers run as its epilogue: see
//! `crate::epilogue`).

use super::contract::synth;
use crate::error::{err_at, At, Diag};
use crate::interp::Interp;
use crate::value::Val;
use ndx_ir::contract::Label;
use ndx_ir::shape::{broadcast_shapes, format_shape, normalize_axis};
use ndx_runtime::Array;
use ndx_syntax::ast::BinOp;
use ndx_syntax::Span;
use std::collections::BTreeMap;

impl Interp {
    /// `matmul(x, y)` and `x @ y`: NumPy's rules (1-D operands promoted and the added axis
    /// removed, leading dimensions broadcast).
    pub(crate) fn matmul(
        &mut self,
        x: Val,
        xs: Span,
        y: Val,
        ys: Span,
        span: Span,
    ) -> Result<Val, Diag> {
        let (lops, _) = self.promoted_lazy(&[(x, xs), (y, ys)], "matmul")?;
        // An elementwise operand is computed once, into the C-order buffer the GEMM reads:
        // (batch, m, k) on the left, (batch, k, n) on the right.
        let mut ops = Vec::with_capacity(2);
        for (side, (l, s)) in lops.iter().zip([xs, ys]).enumerate() {
            let r = l.shape().len();
            let core: &[Label] = match (side, r) {
                (_, 0 | 1) => &['k'],
                (0, _) => &['m', 'k'],
                _ => &['k', 'n'],
            };
            let mut labels: Vec<Label> = (0..r.saturating_sub(core.len())).map(synth).collect();
            labels.extend(core.iter().take(r));
            let what = format!("matmul operand {side}");
            ops.push(self.pack(l, &labels, &labels, &what, s)?);
        }
        let (a, b) = (&ops[0], &ops[1]);
        for (k, (arr, s)) in [(a, xs), (b, ys)].into_iter().enumerate() {
            if arr.ndim() == 0 {
                return Err(err_at(
                    "E0253",
                    s,
                    format!(
                        "matmul: operand {k} is a scalar; matmul needs at least one dimension (use * to scale)"
                    ),
                ));
            }
        }
        let (sa, sb) = (a.shape(), b.shape());
        let ka = sa[sa.len() - 1];
        let kb = if sb.len() >= 2 {
            sb[sb.len() - 2]
        } else {
            sb[0]
        };
        if ka != kb {
            return Err(err_at(
                "E0251",
                span,
                format!(
                    "matmul: shapes {} and {} do not align: {ka} (last dimension of the first) != {kb} ({} of the second)",
                    format_shape(sa),
                    format_shape(sb),
                    if sb.len() >= 2 { "second-to-last dimension" } else { "dimension" }
                ),
            ));
        }
        let ba = &sa[..sa.len().saturating_sub(2)];
        let bb = &sb[..sb.len().saturating_sub(2)];
        let batch = broadcast_shapes(ba, bb).map_err(|_| {
            err_at(
                "E0251",
                span,
                format!(
                    "matmul: the batch dimensions of shapes {} and {} do not broadcast",
                    format_shape(sa),
                    format_shape(sb)
                ),
            )
        })?;
        let nb = batch.len();
        let mut sizes: BTreeMap<Label, usize> = BTreeMap::new();
        let bl: Vec<Label> = (0..nb).map(synth).collect();
        for (l, &n) in bl.iter().zip(&batch) {
            sizes.insert(*l, n);
        }
        let (m, n, k) = ('m', 'n', 'k');
        sizes.insert(k, ka);
        // Every operand gets the full batch (stride 0 where broadcast), so each batch element
        // is one GEMM call.
        let full = |arr: &Array, core: &[usize]| -> Result<Array, Diag> {
            let mut shape = batch.clone();
            shape.extend_from_slice(core);
            arr.broadcast_to(&shape).at(span)
        };
        let mut la = bl.clone();
        let a2 = if sa.len() >= 2 {
            sizes.insert(m, sa[sa.len() - 2]);
            la.extend([m, k]);
            full(a, &sa[sa.len() - 2..])?
        } else {
            la.push(k);
            full(a, sa)?
        };
        let mut lb = bl.clone();
        let b2 = if sb.len() >= 2 {
            sizes.insert(n, sb[sb.len() - 1]);
            lb.extend([k, n]);
            full(b, &sb[sb.len() - 2..])?
        } else {
            lb.push(k);
            full(b, sb)?
        };
        let mut out = bl;
        if sa.len() >= 2 {
            out.push(m);
        }
        if sb.len() >= 2 {
            out.push(n);
        }
        self.contract2((&a2, &la), (&b2, &lb), &out, &sizes, span)
    }

    /// `dot` and `inner` (NumPy's N-D rules); a scalar operand multiplies.
    pub(super) fn dot_inner(
        &mut self,
        name: &str,
        x: Val,
        xs: Span,
        y: Val,
        ys: Span,
        span: Span,
    ) -> Result<Val, Diag> {
        self.numeric(&x, xs, name)?;
        self.numeric(&y, ys, name)?;
        let scalar = |v: &Val| v.shape().is_some_and(|s| s.is_empty());
        if scalar(&x) || scalar(&y) {
            return self.binary(BinOp::Mul, x, y, span);
        }
        let (ops, _) = self.promoted(&[(x, xs), (y, ys)], name)?;
        let (a, b) = (&ops[0], &ops[1]);
        let (sa, sb) = (a.shape(), b.shape());
        // The contracted axis of each: the last of `a`; the last of `b` for inner and for a
        // 1-D `b`, else its second-to-last.
        let ax_a = sa.len() - 1;
        let ax_b = if name == "inner" || sb.len() == 1 {
            sb.len() - 1
        } else {
            sb.len() - 2
        };
        if sa[ax_a] != sb[ax_b] {
            return Err(err_at(
                "E0251",
                span,
                format!(
                    "shapes {} and {} not aligned: {} (dim {ax_a}) != {} (dim {ax_b})",
                    format_shape(sa),
                    format_shape(sb),
                    sa[ax_a],
                    sb[ax_b]
                ),
            ));
        }
        let mut sizes = BTreeMap::new();
        let k = synth(0);
        sizes.insert(k, sa[ax_a]);
        let mut next = 1;
        let mut label = |n: usize, sizes: &mut BTreeMap<Label, usize>| {
            let l = synth(next);
            next += 1;
            sizes.insert(l, n);
            l
        };
        let mut out = Vec::new();
        let mut la = Vec::with_capacity(sa.len());
        for (i, &n) in sa.iter().enumerate() {
            if i == ax_a {
                la.push(k);
            } else {
                let l = label(n, &mut sizes);
                la.push(l);
                out.push(l);
            }
        }
        let mut lb = Vec::with_capacity(sb.len());
        for (i, &n) in sb.iter().enumerate() {
            if i == ax_b {
                lb.push(k);
            } else {
                let l = label(n, &mut sizes);
                lb.push(l);
                out.push(l);
            }
        }
        self.contract2((a, &la), (b, &lb), &out, &sizes, span)
    }

    /// An axis list: an int, a tuple of ints, or a 1-D integer array.
    fn axis_list(&mut self, v: &Val, span: Span) -> Result<Vec<i64>, Diag> {
        match v {
            Val::Array(a) if a.ndim() == 1 && (a.dtype().is_int() || a.size() == 0) => Ok(a
                .to_scalars()
                .at(span)?
                .iter()
                .map(|s| s.to_i64())
                .collect()),
            Val::Lazy(l) if l.shape().len() == 1 && l.dtype().is_int() => {
                let a = self.exec.materialize(l).at(span)?;
                self.axis_list(&Val::Array(a), span)
            }
            other => self.as_axes(other, span),
        }
    }

    pub(super) fn tensordot(
        &mut self,
        x: Val,
        xs: Span,
        y: Val,
        ys: Span,
        axes: Option<(Val, Span)>,
        span: Span,
    ) -> Result<Val, Diag> {
        let (ops, _) = self.promoted(&[(x, xs), (y, ys)], "tensordot")?;
        let (a, b) = (&ops[0], &ops[1]);
        let (na, nb) = (a.ndim(), b.ndim());
        let axes_span = axes.as_ref().map_or(span, |(_, s)| *s);
        let bad = |msg: String| err_at("E0252", axes_span, msg);
        let (ia, ib): (Vec<i64>, Vec<i64>) = match &axes {
            Some((Val::Tuple(items), s)) if items.len() == 2 => (
                self.axis_list(&items[0], *s)?,
                self.axis_list(&items[1], *s)?,
            ),
            Some((Val::Array(arr), s)) if arr.ndim() == 1 => {
                let l = self.axis_list(&Val::Array(arr.clone()), *s)?;
                match l[..] {
                    [p, q] => (vec![p], vec![q]),
                    _ => {
                        return Err(bad(
                            "tensordot: axes must be an int or a pair of axis lists".into(),
                        ))
                    }
                }
            }
            Some((Val::Tuple(_), _)) => {
                return Err(bad(
                    "tensordot: axes must be an int or a pair of axis lists".into(),
                ))
            }
            other => {
                let n = match other {
                    Some((v, s)) => self.as_int(v, *s)?,
                    None => 2,
                };
                if n < 0 || n as u64 > na.min(nb) as u64 {
                    return Err(bad(format!(
                        "tensordot: cannot sum over {n} axes of arrays of {na} and {nb} dimensions"
                    )));
                }
                let n = n as usize;
                (
                    (na - n..na).map(|i| i as i64).collect(),
                    (0..n).map(|i| i as i64).collect(),
                )
            }
        };
        if ia.len() != ib.len() {
            return Err(bad(format!(
                "tensordot: {} axes of the first array against {} of the second",
                ia.len(),
                ib.len()
            )));
        }
        let norm = |list: &[i64], nd: usize, which: &str| -> Result<Vec<usize>, Diag> {
            let mut out: Vec<usize> = Vec::with_capacity(list.len());
            for &k in list {
                let ax = normalize_axis(k, nd).ok_or_else(|| {
                    err_at(
                        "E0252",
                        axes_span,
                        format!(
                            "tensordot: axis {k} is out of bounds for the {which} array of dimension {nd}"
                        ),
                    )
                })?;
                if out.contains(&ax) {
                    return Err(err_at(
                        "E0252",
                        axes_span,
                        format!("tensordot: axis {k} of the {which} array is repeated"),
                    ));
                }
                out.push(ax);
            }
            Ok(out)
        };
        let ia = norm(&ia, na, "first")?;
        let ib = norm(&ib, nb, "second")?;
        let mut sizes = BTreeMap::new();
        let mut la: Vec<Label> = (0..na).map(|i| synth(i + 1000)).collect();
        let mut lb: Vec<Label> = (0..nb).map(|i| synth(i + 2000)).collect();
        for (j, (&p, &q)) in ia.iter().zip(&ib).enumerate() {
            let (np, nq) = (a.shape()[p], b.shape()[q]);
            if np != nq {
                return Err(err_at(
                    "E0251",
                    span,
                    format!(
                        "tensordot: shapes {} and {} do not match on the summed axes: {np} (axis {p} of the first) != {nq} (axis {q} of the second)",
                        format_shape(a.shape()),
                        format_shape(b.shape())
                    ),
                ));
            }
            la[p] = synth(j);
            lb[q] = synth(j);
        }
        for (l, &n) in la.iter().zip(a.shape()).chain(lb.iter().zip(b.shape())) {
            sizes.insert(*l, n);
        }
        let out: Vec<Label> = la
            .iter()
            .enumerate()
            .filter(|(i, _)| !ia.contains(i))
            .map(|(_, l)| *l)
            .chain(
                lb.iter()
                    .enumerate()
                    .filter(|(i, _)| !ib.contains(i))
                    .map(|(_, l)| *l),
            )
            .collect();
        self.contract2((a, &la), (b, &lb), &out, &sizes, span)
    }
}
