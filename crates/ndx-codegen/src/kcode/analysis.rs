//! Walks over the kernel IR that code generation decides by: which locals a body assigns,
//! which parts of an expression are loop-invariant, and which branches may be speculated.

use super::*;

/// Every local some statement of `stmts` may assign (loop variables and inlined results too).
pub(super) fn assigned_locals(stmts: &[KStmt], out: &mut std::collections::HashSet<u32>) {
    fn e(x: &KExpr, out: &mut std::collections::HashSet<u32>) {
        match &x.kind {
            KExprKind::Inline { body, result } => {
                if let Some(l) = result {
                    out.insert(*l);
                }
                assigned_locals(body, out);
            }
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => e(a, out),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => {
                e(a, out);
                e(b, out);
            }
            KExprKind::Select(c, a, b) => {
                e(c, out);
                e(a, out);
                e(b, out);
            }
            KExprKind::Load(acc) => acc.index.iter().for_each(|i| e(i, out)),
            _ => {}
        }
    }
    for s in stmts {
        match s {
            KStmt::Set(l, x) => {
                out.insert(*l);
                e(x, out);
            }
            KStmt::Store(acc, x) => {
                acc.index.iter().for_each(|i| e(i, out));
                e(x, out);
            }
            KStmt::Eval(x) | KStmt::Return(Some(x)) => e(x, out),
            KStmt::If(c, t, f) => {
                e(c, out);
                assigned_locals(t, out);
                assigned_locals(f, out);
            }
            KStmt::While(c, b) => {
                e(c, out);
                assigned_locals(b, out);
            }
            KStmt::For(f) => {
                out.insert(f.var);
                e(&f.start, out);
                e(&f.stop, out);
                e(&f.step, out);
                assigned_locals(&f.body, out);
            }
            KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
        }
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
        match &x.kind {
            KExprKind::Unary(_, a) | KExprKind::Cast(a) => walk(a, assigned, out),
            KExprKind::Binary(_, a, b)
            | KExprKind::And(a, b)
            | KExprKind::Or(a, b)
            | KExprKind::CheckedDiv { a, b, .. } => {
                walk(a, assigned, out);
                walk(b, assigned, out);
            }
            KExprKind::Select(c, a, b) => {
                walk(c, assigned, out);
                walk(a, assigned, out);
                walk(b, assigned, out);
            }
            KExprKind::Load(acc) => acc.index.iter().for_each(|i| walk(i, assigned, out)),
            KExprKind::Inline { body, .. } => {
                body.iter().for_each(|s| invariant_parts(s, assigned, out))
            }
            _ => {}
        }
    }
    match s {
        KStmt::Set(_, x) | KStmt::Eval(x) | KStmt::Return(Some(x)) => walk(x, assigned, out),
        KStmt::Store(acc, x) => {
            acc.index.iter().for_each(|i| walk(i, assigned, out));
            walk(x, assigned, out);
        }
        KStmt::If(c, t, f) => {
            walk(c, assigned, out);
            t.iter()
                .chain(f)
                .for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::While(c, b) => {
            walk(c, assigned, out);
            b.iter().for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::For(f) => {
            walk(&f.start, assigned, out);
            walk(&f.stop, assigned, out);
            walk(&f.step, assigned, out);
            f.body
                .iter()
                .for_each(|s| invariant_parts(s, assigned, out));
        }
        KStmt::Return(None) | KStmt::Break | KStmt::Continue => {}
    }
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
