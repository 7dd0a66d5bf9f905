//! Helpers shared by the integration tests: building kernels and running them on `Vec`s.
#![allow(dead_code)]

use ndx_codegen::{Jit, RawArray};
use ndx_ir::kernel::{BinaryOp, Handle, Kernel, Op, Output, ReduceOp, UnaryOp};
use ndx_runtime::{DType, Scalar};

/// A kernel under construction.
pub struct K(pub Kernel);

impl K {
    pub fn new() -> K {
        K(Kernel::new())
    }
    pub fn input(&mut self, d: DType) -> Handle {
        let k = self.0.inputs.len() as u32;
        self.0.inputs.push(d);
        self.0.push(Op::Input(k), d)
    }
    pub fn c(&mut self, s: Scalar) -> Handle {
        self.0.push(Op::Const(s), s.dtype())
    }
    pub fn un(&mut self, op: UnaryOp, a: Handle) -> Handle {
        let d = op.result_dtype(self.0.dtype(a));
        self.0.push(Op::Unary(op, a), d)
    }
    pub fn bin(&mut self, op: BinaryOp, a: Handle, b: Handle) -> Handle {
        let d = op.result_dtype(self.0.dtype(a));
        self.0.push(Op::Binary(op, a, b), d)
    }
    pub fn cast(&mut self, a: Handle, d: DType) -> Handle {
        self.0.push(Op::Cast(a), d)
    }
    pub fn select(&mut self, c: Handle, a: Handle, b: Handle) -> Handle {
        let d = self.0.dtype(a);
        self.0.push(Op::Select(c, a, b), d)
    }
    pub fn out(&mut self, v: Handle) {
        self.0.outputs.push(Output {
            value: v,
            reduce: None,
        });
    }
    pub fn reduce(&mut self, v: Handle, r: ReduceOp) {
        self.0.outputs.push(Output {
            value: v,
            reduce: Some(r),
        });
    }
}

/// A raw array over a slice with element strides.
pub fn raw<T>(v: &[T], d: DType, elem_strides: &[isize]) -> RawArray {
    let size = std::mem::size_of::<T>() as isize;
    RawArray {
        ptr: v.as_ptr() as usize,
        strides: elem_strides.iter().map(|s| s * size).collect(),
        dtype: d,
    }
}

/// A raw array over a mutable slice (an output).
pub fn raw_mut<T>(v: &mut [T], d: DType, elem_strides: &[isize]) -> RawArray {
    let size = std::mem::size_of::<T>() as isize;
    RawArray {
        ptr: v.as_mut_ptr() as usize,
        strides: elem_strides.iter().map(|s| s * size).collect(),
        dtype: d,
    }
}

/// A raw array whose element 0 is at `v[offset]`.
pub fn raw_at<T>(v: &[T], offset: usize, d: DType, elem_strides: &[isize]) -> RawArray {
    let mut r = raw(v, d, elem_strides);
    r.ptr += offset * std::mem::size_of::<T>();
    r
}

/// C-order element strides of `shape`.
pub fn c_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc *= shape[i] as isize;
    }
    s
}

pub fn jit() -> Jit {
    Jit::new().expect("JIT for the host")
}

/// A mutable raw array whose element 0 is at `v[offset]`.
pub fn raw_at_mut<T>(v: &mut [T], offset: usize, d: DType, elem_strides: &[isize]) -> RawArray {
    let mut r = raw_mut(v, d, elem_strides);
    r.ptr += offset * std::mem::size_of::<T>();
    r
}
