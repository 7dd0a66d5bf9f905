//! Differential tests: generated ndx expressions over generated arrays (dtypes, broadcast
//! shapes, strided and reversed views) run through the whole pipeline (parser, interpreter,
//! fusion, Cranelift) and are compared element by element with a reference computed here from
//! `ndx_ir::eval`'s scalar semantics and NEP 50 promotion.

use ndx::{Array, DType, Scalar, Session};
use ndx_ir::kernel::BinaryOp;
use ndx_ir::promote::{promote, true_divide_type, Ty};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum E {
    Var(usize),
    Int(i64),
    Float(f64),
    Bin(&'static str, Box<E>, Box<E>),
    Where(Box<E>, Box<E>, Box<E>),
}

const OPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "minimum", "maximum", "<", "==", ">=",
];

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        4 => (0usize..3).prop_map(E::Var),
        1 => (-3i64..4).prop_map(E::Int),
        1 => (-2.5f64..2.5).prop_map(|f| E::Float((f * 4.0).round() / 4.0)),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            4 => (prop::sample::select(OPS), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            1 => (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| E::Where(Box::new(c), Box::new(a), Box::new(b))),
        ]
    })
}

fn source(e: &E) -> String {
    match e {
        E::Var(k) => ["a", "b", "c"][*k].to_string(),
        E::Int(v) => format!("({v})"),
        E::Float(v) => format!("({v:?})"),
        E::Bin(op, a, b) if op.chars().all(|c| c.is_alphabetic()) => {
            format!("{op}({}, {})", source(a), source(b))
        }
        E::Bin(op, a, b) => format!("({} {op} {})", source(a), source(b)),
        E::Where(c, a, b) => format!("where({} > 0, {}, {})", source(c), source(a), source(b)),
    }
}

/// One input: dtype, its own shape, and how it is viewed.
#[derive(Clone, Debug)]
struct Input {
    dtype: DType,
    shape: Vec<usize>,
    view: u8,
    data: Vec<i64>,
}

fn dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(vec![
        DType::Bool,
        DType::I32,
        DType::I64,
        DType::F32,
        DType::F64,
    ])
}

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<Input>, E)> {
    prop::collection::vec(1usize..5, 0..4).prop_flat_map(|out| {
        let input = {
            let out = out.clone();
            (
                dtype(),
                prop::collection::vec(any::<bool>(), out.len()),
                0usize..=out.len(),
                0u8..3,
            )
                .prop_flat_map(move |(d, ones, drop, view)| {
                    // A suffix of the output shape, with some dims set to 1 (broadcast).
                    let shape: Vec<usize> = out[drop..]
                        .iter()
                        .zip(&ones[drop..])
                        .map(|(&s, &one)| if one { 1 } else { s })
                        .collect();
                    let n: usize = shape.iter().product();
                    prop::collection::vec(-4i64..5, n).prop_map(move |data| Input {
                        dtype: d,
                        shape: shape.clone(),
                        view,
                        data,
                    })
                })
        };
        (Just(out), prop::collection::vec(input, 3), expr())
    })
}

/// The array as the script sees it, built through a view: plain, every other element of a
/// wider buffer, or a reversed copy read backwards.
fn make(s: &mut Session, name: &str, inp: &Input) -> Result<(), String> {
    let scalars: Vec<Scalar> = inp
        .data
        .iter()
        .map(|&v| Scalar::I64(v).cast(inp.dtype))
        .collect();
    let plain = Array::from_scalars(inp.dtype, &scalars, &inp.shape).map_err(|e| e.to_string())?;
    s.set(&format!("{name}_base"), plain);
    let view = match (inp.view, inp.shape.is_empty()) {
        (0, _) | (_, true) => format!("let {name} = {name}_base"),
        (1, false) => {
            // Interleave two copies along a new last axis, then read one: a gapped stride.
            format!("let {name}_w = stack([{name}_base, {name}_base], axis=-1)\nlet {name} = {name}_w[..., 0]")
        }
        _ => {
            format!("let {name}_r = copy({name}_base[..., ::-1])\nlet {name} = {name}_r[..., ::-1]")
        }
    };
    s.run(&view).map(|_| ()).map_err(|e| e.render())
}

fn binop(op: &str) -> BinaryOp {
    match op {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "//" => BinaryOp::FloorDiv,
        "%" => BinaryOp::Mod,
        "minimum" => BinaryOp::Min,
        "maximum" => BinaryOp::Max,
        "<" => BinaryOp::Lt,
        "==" => BinaryOp::Eq,
        _ => BinaryOp::Ge,
    }
}

/// Reference evaluation at one output index.
fn reference(e: &E, ins: &[Input], out: &[usize], idx: &[usize]) -> (Scalar, Ty) {
    match e {
        E::Var(k) => {
            let inp = &ins[*k];
            let off = out.len() - inp.shape.len();
            let mut flat = 0;
            for (d, &s) in inp.shape.iter().enumerate() {
                let i = if s == 1 { 0 } else { idx[off + d] };
                flat = flat * s + i;
            }
            (
                Scalar::I64(inp.data[flat]).cast(inp.dtype),
                Ty {
                    dtype: inp.dtype,
                    weak: false,
                },
            )
        }
        E::Int(v) => (
            Scalar::I64(*v),
            Ty {
                dtype: DType::I64,
                weak: true,
            },
        ),
        E::Float(v) => (
            Scalar::F64(*v),
            Ty {
                dtype: DType::F64,
                weak: true,
            },
        ),
        E::Bin(op, a, b) => {
            let (x, tx) = reference(a, ins, out, idx);
            let (y, ty) = reference(b, ins, out, idx);
            let op = binop(op);
            let mut t = promote(tx, ty);
            if op == BinaryOp::Div {
                t = true_divide_type(t);
            }
            if t.dtype == DType::Bool && matches!(op, BinaryOp::FloorDiv | BinaryOp::Mod) {
                t = Ty {
                    dtype: DType::I64,
                    weak: t.weak,
                };
            }
            let r = ndx_ir::eval::binary(op, x.cast(t.dtype), y.cast(t.dtype));
            let rt = Ty {
                dtype: op.result_dtype(t.dtype),
                weak: t.weak,
            };
            (r, rt)
        }
        E::Where(c, a, b) => {
            let (cv, ct) = reference(c, ins, out, idx);
            let ct2 = promote(
                ct,
                Ty {
                    dtype: DType::I64,
                    weak: true,
                },
            );
            let cond = ndx_ir::eval::binary(
                BinaryOp::Gt,
                cv.cast(ct2.dtype),
                Scalar::I64(0).cast(ct2.dtype),
            );
            let (x, tx) = reference(a, ins, out, idx);
            let (y, ty) = reference(b, ins, out, idx);
            let t = promote(tx, ty);
            let v = if cond.to_bool() { x } else { y };
            (
                v.cast(t.dtype),
                Ty {
                    dtype: t.dtype,
                    weak: false,
                },
            )
        }
    }
}

fn same(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::F64(x), Scalar::F64(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Scalar::F32(x), Scalar::F32(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

fn out_shape(e: &E, ins: &[Input]) -> Vec<usize> {
    let mut shape: Vec<usize> = Vec::new();
    fn walk(e: &E, ins: &[Input], shape: &mut Vec<usize>) {
        match e {
            E::Var(k) => {
                let s = &ins[*k].shape;
                if s.len() > shape.len() {
                    let mut n = s.clone();
                    let off = s.len() - shape.len();
                    for (i, v) in shape.iter().enumerate() {
                        n[off + i] = n[off + i].max(*v);
                    }
                    *shape = n;
                } else {
                    let off = shape.len() - s.len();
                    for (i, v) in s.iter().enumerate() {
                        shape[off + i] = shape[off + i].max(*v);
                    }
                }
            }
            E::Int(_) | E::Float(_) => {}
            E::Bin(_, a, b) => {
                walk(a, ins, shape);
                walk(b, ins, shape);
            }
            E::Where(c, a, b) => {
                walk(c, ins, shape);
                walk(a, ins, shape);
                walk(b, ins, shape);
            }
        }
    }
    walk(e, ins, &mut shape);
    shape
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn jit_matches_reference((_out, ins, e) in case()) {
        let mut s = Session::new();
        for (k, inp) in ins.iter().enumerate() {
            make(&mut s, ["a", "b", "c"][k], inp).map_err(TestCaseError::fail)?;
        }
        let src = format!("let r = {}", source(&e));
        if let Err(err) = s.run(&src) {
            // Bool subtraction is an error in NumPy and in ndx; anything else is a failure.
            if err.diagnostic().code == "E0209" {
                return Err(TestCaseError::reject("bool subtraction"));
            }
            return Err(TestCaseError::fail(format!("{src}\n{}", err.render())));
        }
        let r = s.get("r").ok().and_then(|v| v.to_array()).ok_or_else(|| TestCaseError::fail("no r"))?;
        let shape = out_shape(&e, &ins);
        prop_assert_eq!(r.shape(), &shape[..], "{}", src);
        let got = r.to_scalars().map_err(|err| TestCaseError::fail(err.to_string()))?;
        let mut k = 0;
        let mut bad = None;
        Array::for_each_index(&shape, |idx| {
            let (want, t) = reference(&e, &ins, &shape, idx);
            if bad.is_none() {
                let w = want.cast(t.dtype);
                if got[k].dtype() != t.dtype || !same(got[k], w) {
                    bad = Some(format!("at {idx:?}: got {:?}, want {w:?}", got[k]));
                }
            }
            k += 1;
        });
        if let Some(b) = bad {
            return Err(TestCaseError::fail(format!("{src}: {b}")));
        }
    }
}
