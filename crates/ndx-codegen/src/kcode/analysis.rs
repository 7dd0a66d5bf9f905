//! Walks over the kernel IR that code generation decides by: which locals a body assigns,
//! which parts of an expression are loop-invariant, and which branches may be speculated.

use super::*;

/// Every local some statement of `stmts` may assign (loop variables and inlined results too).
pub(super) fn assigned_locals(stmts: &[KStmt], out: &mut std::collections::HashSet<u32>) {
    fn e(x: &KExpr, out: &mut std::collections::HashSet<u32>) {
        if let KExprKind::Inline { body, result } = &x.kind {
            out.extend(*result);
            assigned_locals(body, out);
        }
        x.for_each_operand(&mut |y| e(y, out));
    }
    for s in stmts {
        match s {
            KStmt::Set(l, _) => {
                out.insert(*l);
            }
            KStmt::For(f) => {
                out.insert(f.var);
            }
            _ => {}
        }
        s.for_each_expr(&mut |x| e(x, out));
        s.for_each_block(&mut |b| assigned_locals(b, out));
    }
}

/// Collects the maximal subexpressions of `s` that are pure, cannot fail, read no memory and
/// no local in `assigned`, and are worth computing once (not a bare constant or local).
pub(super) fn invariant_parts<'k>(
    s: &'k KStmt,
    assigned: &std::collections::HashSet<u32>,
    out: &mut Vec<&'k KExpr>,
) {
    fn pure(x: &KExpr, assigned: &std::collections::HashSet<u32>) -> bool {
        match &x.kind {
            KExprKind::Const(_) | KExprKind::Dim { .. } => true,
            KExprKind::Local(l) => !assigned.contains(l),
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => pure(a, assigned),
            KExprKind::Binary(_, a, b) => pure(a, assigned) && pure(b, assigned),
            KExprKind::Select(c, a, b) => {
                pure(c, assigned) && pure(a, assigned) && pure(b, assigned)
            }
            _ => false,
        }
    }
    fn walk<'k>(x: &'k KExpr, assigned: &std::collections::HashSet<u32>, out: &mut Vec<&'k KExpr>) {
        let trivial = matches!(
            x.kind,
            KExprKind::Const(_) | KExprKind::Local(_) | KExprKind::Dim { .. }
        );
        if !trivial && pure(x, assigned) {
            out.push(x);
            return;
        }
        if let Some(body) = x.inline_body() {
            body.iter().for_each(|s| invariant_parts(s, assigned, out));
        }
        x.for_each_operand(&mut |y| walk(y, assigned, out));
    }
    s.for_each_expr(&mut |x| walk(x, assigned, out));
    s.for_each_block(&mut |b| b.iter().for_each(|s| invariant_parts(s, assigned, out)));
}

/// Whether `stmts` may run unconditionally: at most a few local updates whose values cannot
/// fail, call out or cost much.
pub(super) fn speculable(stmts: &[KStmt]) -> bool {
    fn cheap(e: &KExpr) -> bool {
        use ndx_ir::kernel::UnaryOp as U;
        match &e.kind {
            KExprKind::Const(_) | KExprKind::Local(_) | KExprKind::Dim { .. } => true,
            KExprKind::Cast(x) => cheap(x),
            KExprKind::Unary(op, x) => {
                matches!(
                    op,
                    U::Neg | U::Not | U::Abs | U::IsNan | U::IsInf | U::IsFinite
                ) && cheap(x)
            }
            KExprKind::Binary(op, x, y) => {
                let ok = match op {
                    BinaryOp::Add
                    | BinaryOp::Sub
                    | BinaryOp::Mul
                    | BinaryOp::Min
                    | BinaryOp::Max => true,
                    BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => true,
                    BinaryOp::Div => x.dtype.is_float(),
                    op => op.is_comparison(),
                };
                ok && cheap(x) && cheap(y)
            }
            KExprKind::Select(c, x, y) => cheap(c) && cheap(x) && cheap(y),
            _ => false,
        }
    }
    stmts.len() <= 4
        && stmts
            .iter()
            .all(|s| matches!(s, KStmt::Set(_, e) if cheap(e)))
}
