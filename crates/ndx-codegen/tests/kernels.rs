//! Compiled kernels (`ndx_ir::kir`) at the codegen boundary: a hand-built kernel IR runs on raw
//! argument words, its loop takes the vector form, and faults come back as data.

use ndx_codegen::{scalar_bits, Jit, KernelFault, KernelOptions};
use ndx_ir::kernel::BinaryOp;
use ndx_ir::kir::{Access, FaultKind, KArray, KExpr, KExprKind, KFor, KFunc, KParam, KStmt};
use ndx_runtime::{DType, Scalar};

fn local(l: u32, dtype: DType) -> KExpr {
    KExpr {
        kind: KExprKind::Local(l),
        dtype,
    }
}

fn bin(op: BinaryOp, a: KExpr, b: KExpr) -> KExpr {
    let dtype = a.dtype;
    KExpr {
        kind: KExprKind::Binary(op, Box::new(a), Box::new(b)),
        dtype,
    }
}

fn at(array: u32, i: KExpr, checked: bool, site: u32) -> Access {
    Access {
        array,
        index: vec![i],
        checked: vec![checked],
        site,
    }
}

/// `kernel axpy(out: f32[n], a: f32, x: f32[n], y: f32[n]) { for i in range(lo, hi) { out[i] = a * x[i] + y[i] } }`
/// with `lo`, `hi` as scalar parameters too; `checked` decides whether accesses are checked.
fn axpy(checked: bool) -> KFunc {
    let i = local(3, DType::I64);
    let load = |k| KExpr {
        kind: KExprKind::Load(at(k, i.clone(), checked, k)),
        dtype: DType::F32,
    };
    let value = bin(
        BinaryOp::Add,
        bin(BinaryOp::Mul, local(0, DType::F32), load(1)),
        load(2),
    );
    KFunc {
        name: "axpy".into(),
        params: vec![
            KParam::Array(0),
            KParam::Scalar(0),
            KParam::Array(1),
            KParam::Array(2),
            KParam::Scalar(1),
            KParam::Scalar(2),
        ],
        arrays: vec![
            KArray {
                dtype: DType::F32,
                rank: 1,
            };
            3
        ],
        locals: vec![DType::F32, DType::I64, DType::I64, DType::I64],
        ret: None,
        body: vec![KStmt::For(Box::new(KFor {
            var: 3,
            start: local(1, DType::I64),
            stop: local(2, DType::I64),
            step: KExpr::constant(Scalar::I64(1)),
            body: vec![KStmt::Store(at(0, i.clone(), checked, 0), value)],
            parallel: None,
            site: 9,
        }))],
    }
}

fn words(out: &mut [f32], a: f32, x: &[f32], y: &[f32], lo: i64, hi: i64) -> Vec<i64> {
    let arr = |p: *const f32, n: usize| [p as i64, n as i64, 4];
    let mut w = Vec::new();
    w.extend(arr(out.as_mut_ptr(), out.len()));
    w.push(scalar_bits(Scalar::F32(a)));
    w.extend(arr(x.as_ptr(), x.len()));
    w.extend(arr(y.as_ptr(), y.len()));
    w.push(lo);
    w.push(hi);
    w
}

#[test]
fn an_unchecked_unit_stride_loop_vectorises_and_computes_the_scalar_result() {
    let mut jit = Jit::new().unwrap();
    let k = jit
        .compile_kernel(&axpy(false), KernelOptions::default())
        .unwrap();
    assert_eq!(k.vector_loops(), 1);
    for n in [0usize, 1, 3, 4, 5, 8, 19] {
        let x: Vec<f32> = (0..n).map(|v| v as f32 * 0.5).collect();
        let y: Vec<f32> = (0..n).map(|v| 1.0 - v as f32).collect();
        let mut out = vec![f32::NAN; n];
        let w = words(&mut out, 3.0, &x, &y, 0, n as i64);
        // SAFETY: the words describe the three live vectors above.
        let r = unsafe { jit.run_kernel(&k, &w, 0) }.unwrap();
        assert_eq!(r, Ok(None));
        for j in 0..n {
            assert_eq!(out[j], 3.0 * x[j] + y[j], "n = {n}, j = {j}");
        }
    }
}

#[test]
fn a_checked_access_reports_its_site_index_and_axis() {
    let mut jit = Jit::new().unwrap();
    let k = jit
        .compile_kernel(&axpy(true), KernelOptions::default())
        .unwrap();
    // checked accesses keep the loop scalar
    assert_eq!(k.vector_loops(), 0);
    let x = vec![1.0f32; 4];
    let y = vec![2.0f32; 4];
    let mut out = vec![0.0f32; 4];
    let w = words(&mut out, 1.0, &x, &y, 0, 6);
    // SAFETY: the words describe live vectors; the kernel checks every index against them.
    let r = unsafe { jit.run_kernel(&k, &w, 0) }.unwrap();
    assert_eq!(
        r,
        Err(KernelFault {
            kind: FaultKind::Bounds,
            site: 1,
            index: 4,
            axis: 0,
        })
    );
    // the elements before the fault were written
    assert_eq!(out, vec![3.0; 4]);
    // negative indices wrap: range(-4, 0) covers the whole vector
    let mut out = vec![0.0f32; 4];
    let w = words(&mut out, 2.0, &x, &y, -4, 0);
    // SAFETY: as above.
    let r = unsafe { jit.run_kernel(&k, &w, 0) }.unwrap();
    assert_eq!(r, Ok(None));
    assert_eq!(out, vec![4.0; 4]);
    // a wrong number of argument words is refused before any code runs
    // SAFETY: refused before the call.
    assert!(unsafe { jit.run_kernel(&k, &w[1..], 0) }.is_err());
}
