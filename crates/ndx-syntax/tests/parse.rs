//! Parser tests: the constructs of LANGUAGE.md, precedence, newline rules, and rendered
//! syntax errors.

use ndx_syntax::ast::*;
use ndx_syntax::{is_incomplete, parse, Diagnostic, FileId, SourceMap};

fn ok(src: &str) -> Program {
    match parse(FileId(0), src) {
        Ok(p) => p,
        Err(d) => {
            let mut m = SourceMap::new();
            m.add("t.ndx", src);
            panic!("parse failed:\n{}", m.render(&d));
        }
    }
}

fn err(src: &str) -> String {
    let mut m = SourceMap::new();
    let f = m.add("file.ndx", src);
    let d: Diagnostic = parse(f, src).expect_err("expected a syntax error");
    m.render(&d)
}

/// A compact s-expression of an expression, for precedence checks.
fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Newaxis => "newaxis".into(),
        ExprKind::Unary(op, a) => format!("({op:?} {})", sx(a)),
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sx(a), sx(b)),
        ExprKind::Call { callee, args } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, sx(&a.value)),
                    None => sx(&a.value),
                })
                .collect();
            format!("{}({})", sx(callee), a.join(", "))
        }
        ExprKind::Index { base, items } => {
            let it: Vec<String> = items
                .iter()
                .map(|i| match i {
                    IndexItem::Expr(e) => sx(e),
                    IndexItem::Ellipsis(_) => "...".into(),
                    IndexItem::Slice {
                        start, stop, step, ..
                    } => {
                        let p = |o: &Option<Expr>| o.as_ref().map(sx).unwrap_or_default();
                        format!("{}:{}:{}", p(start), p(stop), p(step))
                    }
                })
                .collect();
            format!("{}[{}]", sx(base), it.join(", "))
        }
        ExprKind::Attr { base, name } => format!("{}.{}", sx(base), name.name),
        ExprKind::Tuple(v) => format!("tuple({})", v.iter().map(sx).collect::<Vec<_>>().join(", ")),
        ExprKind::List(v) => format!("[{}]", v.iter().map(sx).collect::<Vec<_>>().join(", ")),
    }
}

fn expr(src: &str) -> String {
    let p = ok(src);
    match &p.stmts[..] {
        [Stmt {
            kind: StmtKind::Expr(e),
            ..
        }] => sx(e),
        other => panic!("expected one expression statement, got {other:?}"),
    }
}

#[test]
fn precedence_follows_python() {
    assert_eq!(expr("-x**2"), "(Neg (** x 2))");
    assert_eq!(expr("2**-1"), "(** 2 (Neg 1))");
    assert_eq!(expr("a ** b ** c"), "(** a (** b c))");
    assert_eq!(expr("a + b * c"), "(+ a (* b c))");
    assert_eq!(expr("a - b - c"), "(- (- a b) c)");
    assert_eq!(expr("a < b and not c"), "(and (< a b) (Not c))");
    assert_eq!(expr("a or b and c"), "(or a (and b c))");
    assert_eq!(expr("a & b | c ^ d"), "(| (& a b) (^ c d))");
    assert_eq!(expr("a + b == c * d"), "(== (+ a b) (* c d))");
    assert_eq!(expr("x @ w + b"), "(+ (@ x w) b)");
    assert_eq!(expr("~a // 2 % 3"), "(% (// (Invert a) 2) 3)");
}

#[test]
fn postfix_forms() {
    assert_eq!(
        expr("x[1:, ::-1, newaxis, ...]"),
        "x[1::, ::(Neg 1), newaxis, ...]"
    );
    assert_eq!(expr("f(a, k=1)"), "f(a, k=1)");
    assert_eq!(expr("f(a, k=1,)"), "f(a, k=1)");
    assert_eq!(expr("(a,)"), "tuple(a)");
    assert_eq!(expr("()"), "tuple()");
    assert_eq!(expr("(a, b)"), "tuple(a, b)");
    assert_eq!(expr("(a)"), "a");
    assert_eq!(expr("a.T.shape[0]"), "a.T.shape[0]");
    assert_eq!(expr("[[1, 2], [3, 4]]"), "[[1, 2], [3, 4]]");
    assert_eq!(expr("x[:]"), "x[::]");
    assert_eq!(expr("x[a:b:c]"), "x[a:b:c]");
    assert_eq!(
        expr("1_000_000 + .5 + 1. + 1e-3 + 2.5E+8"),
        "(+ (+ (+ (+ 1000000 0.5) 1.0) 0.001) 250000000.0)"
    );
    assert_eq!(expr(r#""a\"b\\n\n""#), "\"a\\\"b\\\\n\\n\"");
}

#[test]
fn newlines_continue_inside_brackets_and_after_operators() {
    assert_eq!(expr("f(a,\n  b)"), "f(a, b)");
    assert_eq!(expr("a +\n b"), "(+ a b)");
    assert_eq!(expr("[1,\n 2,\n]"), "[1, 2]");
    let p = ok("let a = 1; let b = 2\n\n# comment\nprint(a)\n");
    assert_eq!(p.stmts.len(), 3);
}

#[test]
fn statements_of_the_language_page() {
    let src = r#"
let y = gelu(x) * 2.0          # new binding (shadowing allowed)
y = y + 1.0                    # rebind
y[0, :] = 0.0                  # write through a view
y += 1.0
print(y, sum(y))               # print values
include "lib/nn.ndx"

fn gelu(x) = 0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * x**3)))

fn layernorm(x: f32[n, d], g: f32[d], b: f32[d], eps: f32) -> f32[n, d] {
    let mu = mean(x, axis=-1, keepdims=true)
    let var = mean((x - mu)**2, axis=-1, keepdims=true)
    (x - mu) / sqrt(var + eps) * g + b       # last expression is the result
}

kernel mandelbrot(out: i32[h, w], x0: f64, x1: f64, y0: f64, y1: f64, max_iter: i32) {
    for i in prange(h) {
        for j in range(w) {
            let cx = x0 + (x1 - x0) * f64(j) / f64(w)
            let n = 0
            while n < max_iter and cx * cx <= 4.0 {
                n += 1
                if n > 3 {
                    break
                } else if n == 2 {
                    continue
                }
                else {
                    n = n
                }
            }
            out[i, j] = n
        }
    }
}

kernel k(a: f64[_, 3], s: f32[]) -> f64 {
    return a[0, 0]
}
"#;
    let p = ok(src);
    assert_eq!(p.stmts.len(), 10);
    assert!(matches!(&p.stmts[0].kind, StmtKind::Let { name, .. } if name.name == "y"));
    assert!(matches!(
        &p.stmts[2].kind,
        StmtKind::Assign {
            target: Expr {
                kind: ExprKind::Index { .. },
                ..
            },
            op: None,
            ..
        }
    ));
    assert!(matches!(
        &p.stmts[3].kind,
        StmtKind::Assign {
            op: Some(BinOp::Add),
            ..
        }
    ));
    assert!(matches!(&p.stmts[5].kind, StmtKind::Include(s) if s == "lib/nn.ndx"));
    let StmtKind::Fn(ln) = &p.stmts[7].kind else {
        panic!("fn expected")
    };
    assert_eq!(ln.params.len(), 4);
    assert!(matches!(&ln.body, FnBody::Block(b) if b.stmts.len() == 3));
    assert!(matches!(&ln.params[0].ann, Some(TypeAnn { shape: Some(d), .. }) if d.len() == 2));
    let StmtKind::Kernel(k) = &p.stmts[8].kind else {
        panic!("kernel expected")
    };
    assert_eq!(k.name.name, "mandelbrot");
    // Spans cover the statement text.
    let s = &p.stmts[1];
    assert_eq!(
        &src[s.span.start as usize..s.span.end as usize],
        "y = y + 1.0"
    );
}

#[test]
fn syntax_errors_are_located_and_say_what_was_expected() {
    let r = err("let x = 1 +* 2\n");
    assert!(r.contains("error[E0120]: unexpected `*`"), "{r}");
    assert!(r.contains("file.ndx:1:12"), "{r}");
    assert!(r.contains("let x = 1 +* 2"), "{r}");
    assert!(r.contains('^'), "{r}");
    assert!(r.contains("expected an expression"), "{r}");

    let r = err("let x = (1.0 +\n");
    assert!(r.contains("unexpected end of input"), "{r}");

    let r = err("let = 3");
    assert!(
        r.contains("file.ndx:1:5") && r.contains("identifier"),
        "{r}"
    );

    let r = err("print(\"abc)\n");
    assert!(r.contains("E0111") && r.contains("unterminated"), "{r}");

    let r = err("let x = 99999999999999999999");
    assert!(r.contains("E0113") && r.contains("does not fit"), "{r}");

    let r = err("let s = \"a\\qb\"");
    assert!(r.contains("E0112") && r.contains("\\q"), "{r}");

    let r = err("let a = 1 $ 2");
    assert!(r.contains("E0110") && r.contains("file.ndx:1:11"), "{r}");
}

#[test]
fn incomplete_input() {
    assert!(is_incomplete("f(1,\n"));
    assert!(is_incomplete("fn f(x) {\n let y = x\n"));
    assert!(is_incomplete("let a = 1 +"));
    assert!(is_incomplete("[1, 2"));
    assert!(!is_incomplete("let a = 1\n"));
    assert!(!is_incomplete("f(1))"));
    assert!(!is_incomplete(""));
    assert!(!is_incomplete("fn f(x) { x }\n"));
}
