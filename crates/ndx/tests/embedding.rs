//! The embedding API: thread-safety of the types (checked at compile time), kernels called
//! from several threads on host memory, strided and reversed host views, results written
//! into host buffers, and errors as data.

use ndx::{Arg, ArrayMut, ArrayRef, ErrorKind, Function, Kernel, Session, Value};

/// Compile-time assertions: these fail to build, not at run time.
const _: () = {
    const fn send<T: Send>() {}
    const fn sync<T: Sync>() {}
    send::<Session>();
    send::<Kernel>();
    sync::<Kernel>();
    send::<Function>();
    sync::<Function>();
    send::<ndx::Error>();
    sync::<ndx::Error>();
    send::<ArrayRef<'static>>();
    sync::<ArrayRef<'static>>();
    send::<ArrayMut<'static>>();
};

const KERNELS: &str = "
kernel axpy(a: f32, x: f32[n], y: f32[n]) {
    for i in range(n) { y[i] += a * x[i] }
}
kernel dot(x: f64[n], y: f64[n]) -> f64 {
    let s = 0.0
    for i in prange(n) { s += x[i] * y[i] }
    return s
}
kernel pick(x: f64[n], i: i64) -> f64 {
    return x[i]
}
";

#[test]
fn a_session_moves_to_another_thread() {
    let mut s = Session::new();
    s.run("let x = arange(4, dtype=f64)").unwrap();
    let v = std::thread::spawn(move || {
        s.run("let y = x * 2.0").unwrap();
        s.get("y").unwrap().to_vec::<f64>().unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(v, [0.0, 2.0, 4.0, 6.0]);
}

#[test]
fn kernels_run_on_many_threads_at_once_and_outlive_the_session() {
    let mut s = Session::new();
    s.run(KERNELS).unwrap();
    let axpy = s.kernel("axpy").unwrap();
    let dot = s.kernel("dot").unwrap();
    drop(s);
    let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    std::thread::scope(|sc| {
        for t in 0..4 {
            let (axpy, dot, x) = (axpy.clone(), dot.clone(), &x);
            sc.spawn(move || {
                let mut y = vec![t as f32; 1000];
                for _ in 0..100 {
                    axpy.call(&mut [
                        Arg::from(0.5f32),
                        ArrayRef::new(x, &[1000]).unwrap().into(),
                        ArrayMut::new(&mut y, &[1000]).unwrap().into(),
                    ])
                    .unwrap();
                }
                assert_eq!(y[10], t as f32 + 100.0 * 5.0);
                let a = vec![1.5f64; 64];
                let r = dot
                    .call(&mut [
                        ArrayRef::new(&a, &[64]).unwrap().into(),
                        ArrayRef::new(&a, &[64]).unwrap().into(),
                    ])
                    .unwrap();
                assert_eq!(r, Some(ndx::Scalar::F64(64.0 * 2.25)));
            });
        }
    });
}

#[test]
fn strided_and_reversed_host_views() {
    let mut s = Session::new();
    s.run(KERNELS).unwrap();
    let axpy = s.kernel("axpy").unwrap();
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut y = [0.0f32; 6];
    // x reversed, every other element; y every other element from index 1.
    axpy.call(&mut [
        Arg::from(1.0f32),
        ArrayRef::strided(&x, &[3], &[-2], 5).unwrap().into(),
        ArrayMut::strided(&mut y, &[3], &[2], 1).unwrap().into(),
    ])
    .unwrap();
    assert_eq!(y, [0.0, 6.0, 0.0, 4.0, 0.0, 2.0]);
    assert!(ArrayRef::strided(&x, &[4], &[-2], 5).is_err());
    assert!(ArrayMut::strided(&mut y, &[3], &[0], 0).is_err());
}

#[test]
fn argument_errors_are_diagnostics() {
    let mut s = Session::new();
    s.run(KERNELS).unwrap();
    let axpy = s.kernel("axpy").unwrap();
    let x = [1.0f32; 4];
    let mut y = [0.0f32; 3];
    let mut y64 = [0.0f64; 4];
    let e = axpy
        .call(&mut [
            Arg::from(1.0f32),
            ArrayRef::new(&x, &[4]).unwrap().into(),
            ArrayMut::new(&mut y, &[3]).unwrap().into(),
        ])
        .unwrap_err();
    assert_eq!(e.code(), "E0828");
    assert!(e.message().contains("needs `n` = 4"), "{}", e.message());
    let e = axpy
        .call(&mut [
            Arg::from(1.0f32),
            ArrayRef::new(&x, &[4]).unwrap().into(),
            ArrayRef::new(&x, &[4]).unwrap().into(),
        ])
        .unwrap_err();
    assert_eq!((e.code(), e.kind()), ("E0310", ErrorKind::Runtime));
    let e = axpy
        .call(&mut [
            Arg::from(1.0f32),
            ArrayRef::new(&x, &[4]).unwrap().into(),
            ArrayMut::new(&mut y64, &[4]).unwrap().into(),
        ])
        .unwrap_err();
    assert_eq!(e.code(), "E0827");
    let e = axpy.call(&mut [Arg::from(1.0f64)]).unwrap_err();
    assert_eq!(e.code(), "E0601");
}

#[test]
fn kernel_faults_point_at_the_source_line() {
    let mut s = Session::new();
    s.run(KERNELS).unwrap();
    let pick = s.kernel("pick").unwrap();
    let x = [1.0f64, 2.0];
    let r = pick.call(&mut [ArrayRef::new(&x, &[2]).unwrap().into(), Arg::from(-1i64)]);
    assert_eq!(r.unwrap(), Some(ndx::Scalar::F64(2.0)));
    let e = pick
        .call(&mut [ArrayRef::new(&x, &[2]).unwrap().into(), Arg::from(5i64)])
        .unwrap_err();
    assert_eq!((e.code(), e.kind()), ("E0905", ErrorKind::KernelFault));
    let l = &e.labels()[0];
    assert_eq!((l.line, l.text.as_str()), (11, "x[i]"));
    assert!(
        e.render().contains("index 5 is out of bounds"),
        "{}",
        e.render()
    );
}

#[test]
fn call_into_writes_host_memory_without_a_result_array() {
    let mut s = Session::new();
    s.run("fn norm(x, m, sd) = (x - m) / sd").unwrap();
    let x = Value::from(ndx::Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    let mut out = vec![0.0f32; 4];
    // Into a transposed view of the host buffer.
    let dest = ArrayMut::strided(&mut out, &[2, 2], &[1, 2], 0).unwrap();
    s.call_into("norm", &[x, Value::from(1.0f64), Value::from(2.0f64)], dest)
        .unwrap();
    assert_eq!(out, [0.0, 1.0, 0.5, 1.5]);
    let mut small = vec![0.0f32; 3];
    let e = s
        .call_into(
            "norm",
            &[
                Value::from(1.0f64),
                Value::from(0.0f64),
                Value::from(1.0f64),
            ],
            ArrayMut::new(&mut small, &[3]).unwrap(),
        )
        .map(|()| small.clone());
    assert_eq!(e.unwrap(), vec![1.0, 1.0, 1.0]);
    assert_eq!(
        s.call_into("nope", &[], ArrayMut::new(&mut small, &[3]).unwrap())
            .unwrap_err()
            .code(),
        "E0101"
    );
}

#[test]
fn errors_carry_located_labels_and_notes() {
    let mut s = Session::new();
    let e = s.run("let a = 1\nb = 2").unwrap_err();
    assert_eq!((e.code(), e.kind()), ("E0102", ErrorKind::Name));
    assert_eq!(e.notes(), ["use `let` to introduce a new name"]);
    let l = &e.labels()[0];
    assert_eq!(
        (l.file.as_str(), l.line, l.column, l.end_line, l.end_column),
        ("<input>", 2, 1, 2, 2)
    );
    assert!(l.primary);
    let e = s.run("let = 3").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Syntax);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_of_any_strides() {
    use ndarray::{s, Array2};
    let mut s = Session::new();
    s.run("kernel add1(x: f64[n, m], y: f64[n, m]) { for i in range(n) { for j in range(m) { y[i, j] = x[i, j] + 1.0 } } }")
        .unwrap();
    let k = s.kernel("add1").unwrap();
    let x = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
    let mut y = Array2::<f64>::zeros((4, 3));
    let xv = x.slice(s![.., ..;-1]);
    k.call(&mut [
        ArrayRef::try_from(xv.t()).unwrap().into(),
        ArrayMut::try_from(y.view_mut()).unwrap().into(),
    ])
    .unwrap();
    assert_eq!(y[[0, 0]], 4.0);
    assert_eq!(y[[3, 2]], 9.0);
}

/// The README's embedding example, verbatim, so the README stays true.
#[test]
fn readme_embedding_example() -> Result<(), ndx::Error> {
    let mut s = ndx::Session::new();
    s.set("x", ndx::Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?);
    s.run("let y = exp(x) / sum(exp(x))")?;
    let y: Vec<f32> = s.get("y")?.to_vec()?;
    assert_eq!(y.len(), 3);

    // Lend host memory without a copy; the loan ends when `loan` drops.
    let mut buf = vec![0.0f64; 4];
    let loan = s.lend("out", &mut buf, &[4])?;
    s.run("out[:] = arange(4) * 0.5")?;
    drop(loan);

    // A compiled kernel, callable from any thread, on the host's own buffers.
    s.run("kernel axpy(a: f32, x: f32[n], y: f32[n]) { for i in range(n) { y[i] += a * x[i] } }")?;
    let k = s.kernel("axpy")?; // Send + Sync, outlives the session
    let (x, mut y) = (vec![1.0f32; 8], vec![0.0f32; 8]);
    k.call(&mut [
        2.0f32.into(),
        ndx::ArrayRef::new(&x, &[8])?.into(),
        ndx::ArrayMut::new(&mut y, &[8])?.into(),
    ])?;

    // A `fn` evaluated straight into a host buffer (no result array is allocated).
    s.run("fn scaled(v) = 2.0 * v + 1.0")?;
    let arg = s.get("x")?;
    s.call_into("scaled", &[arg], ndx::ArrayMut::new(&mut y[..3], &[3])?)?;
    assert_eq!(buf, [0.0, 0.5, 1.0, 1.5]);
    assert_eq!(y, [3.0, 5.0, 7.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
    Ok(())
}
