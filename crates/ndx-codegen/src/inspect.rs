//! Looking inside the JIT: the Cranelift IR and machine-code listing of compiled functions,
//! and a record of how each launch was scheduled and run.
//!
//! Both are off by default and cost nothing then. [`Jit::set_listings`] makes every function
//! compiled afterwards record its CLIF text (before Cranelift's optimisations, as the lowering
//! wrote it) and Cranelift's own listing of the machine code it emitted (`vcode`, the
//! register-allocated instructions; no disassembler is involved). [`Jit::set_reports`] makes
//! every launch record a [`LaunchReport`]: the loop nest, the runtime extents, whether the
//! code came from the cache and how long compiling took, the vector shape of the inner loop,
//! tiling and the thread split. These are what the REPL's `:clif`, `:asm`, `:loops` and
//! `:explain` show; nothing here parses stderr.
//!
//! ```
//! use ndx_codegen::{Jit, RawArray};
//! use ndx_ir::kernel::{BinaryOp, Kernel, Op, Output};
//! use ndx_runtime::{DType, Scalar};
//! let mut k = Kernel::new();
//! k.inputs.push(DType::F32);
//! let x = k.push(Op::Input(0), DType::F32);
//! let c = k.push(Op::Const(Scalar::F32(2.0)), DType::F32);
//! let y = k.push(Op::Binary(BinaryOp::Mul, x, c), DType::F32);
//! k.outputs.push(Output { value: y, reduce: None });
//! let (input, output) = (vec![1.0f32; 8], vec![0.0f32; 8]);
//! let arrays = [
//!     RawArray { ptr: input.as_ptr() as usize, strides: vec![4], dtype: DType::F32 },
//!     RawArray { ptr: output.as_ptr() as usize, strides: vec![4], dtype: DType::F32 },
//! ];
//! let mut jit = Jit::new().unwrap();
//! jit.set_listings(true);
//! jit.set_reports(true);
//! jit.prepare(&k, &[8], &[false], &arrays).unwrap(); // compiled, not called
//! let r = &jit.take_reports()[0];
//! assert!(!r.ran && !r.cached() && r.vector.is_some());
//! let l = r.listing.as_ref().unwrap();
//! assert!(l.clif.contains("fmul") && !l.asm.is_empty());
//! assert_eq!(output, vec![0.0; 8]);
//! ```

use crate::lower;
use crate::scalar::Host;
use crate::simd::Plan;
use crate::{CodegenError, Jit};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{types, AbiParam};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{FuncId, Module};
use ndx_ir::loops::Nest;
use std::fmt;
use std::time::Duration;

/// The code of one compiled function, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The Cranelift IR the lowering produced (before optimisation).
    pub clif: String,
    /// Cranelift's listing of the machine code (`CompiledCode::vcode`), when it gave one.
    pub asm: String,
}

impl Listing {
    /// Appends `code` (more machine code, such as ndx's own 512-bit row code) to the
    /// listing of the machine code, on a line of its own.
    pub fn append_asm(&mut self, code: &str) {
        if !self.asm.is_empty() && !self.asm.ends_with('\n') {
            self.asm.push('\n');
        }
        self.asm.push_str(code);
    }

    /// Appends the listing of `nest`'s 512-bit row code, when it has some.
    pub(crate) fn add_row_code(&mut self, nest: &Nest) {
        if let Some(rows) = crate::zmm::listing(nest) {
            self.append_asm(&rows);
        }
    }
}

/// The shape of a vectorised inner loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VectorInfo {
    /// Lanes per 128-bit vector (4 for 32-bit elements, 2 for 64-bit ones).
    pub lanes: u8,
    /// Bits per lane.
    pub lane_bits: u8,
    /// Vectors per loop iteration.
    pub unroll: u8,
}

impl VectorInfo {
    pub(crate) fn of(p: &Plan) -> VectorInfo {
        VectorInfo {
            lanes: p.lanes,
            lane_bits: p.width.saturating_mul(8),
            unroll: p.unroll,
        }
    }
}

impl fmt::Display for VectorInfo {
    /// `4 x 32-bit lanes, unrolled x2, scalar tail`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} x {}-bit lanes, unrolled x{}, scalar tail",
            self.lanes, self.lane_bits, self.unroll
        )
    }
}

/// How one launch of a fused kernel was scheduled and run.
#[derive(Clone, Debug)]
pub struct LaunchReport {
    /// The scheduled nest (loop order, reduced loops, innermost-stride classes).
    pub nest: Nest,
    /// Loop extents, outermost first, after dropping unit axes and merging axes.
    pub shape: Vec<usize>,
    /// Byte strides per array (inputs then outputs), one per loop.
    pub strides: Vec<Vec<isize>>,
    /// How long compiling took, or `None` when the code came from the cache.
    pub compile_time: Option<Duration>,
    /// The vector inner loop, or `None` for scalar code.
    pub vector: Option<VectorInfo>,
    /// Lanes of the 512-bit row code, when the nest has it (`Compiled::row_lanes`); it runs
    /// when the rows have at least `row_min` elements ([`LaunchReport::rows_512`]).
    pub row_lanes: Option<u8>,
    /// The shortest rows that run the row code (`Compiled::row_min`).
    pub row_min: Option<usize>,
    /// True when the row code stores with streaming (non-temporal) stores
    /// (`Compiled::streams`; for a split launch, in every part).
    pub streams: bool,
    /// Tiling of a transposing copy: the tile edge in elements and the number of tiles.
    pub tiles: Option<(usize, usize)>,
    /// Pieces the outermost loop was split into for worker threads (1: the calling thread).
    pub parts: usize,
    /// The JIT's thread count at the time.
    pub threads: usize,
    /// False when the kernel was only prepared ([`Jit::prepare`]), not called.
    pub ran: bool,
    /// The code, when listings were on.
    pub listing: Option<Listing>,
}

impl LaunchReport {
    /// True when the code came from the cache.
    pub fn cached(&self) -> bool {
        self.compile_time.is_none()
    }

    /// True when the launch runs the 512-bit row code: the nest has it, and the rows (the
    /// inner extent) are long enough.
    pub fn rows_512(&self) -> bool {
        self.row_lanes.is_some()
            && self
                .shape
                .last()
                .zip(self.row_min)
                .is_some_and(|(&e, min)| e >= min)
    }

    /// Total iteration points.
    pub fn points(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Jit {
    /// Turns recording of CLIF and machine-code listings on or off (off drops what was
    /// recorded).
    pub fn set_listings(&mut self, on: bool) {
        self.listings = on.then(Vec::new);
    }

    /// Takes the listings recorded since the last call, oldest first.
    pub fn take_listings(&mut self) -> Vec<Listing> {
        self.listings
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Turns launch reports on or off (off drops what was recorded).
    pub fn set_reports(&mut self, on: bool) {
        self.reports = on.then(Vec::new);
    }

    /// Takes the launch reports recorded since the last call, oldest first.
    pub fn take_reports(&mut self) -> Vec<LaunchReport> {
        self.reports
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Defines the function in `self.ctx` as `id`, recording its listing when listings are
    /// on (and printing it when `NDX_DUMP_CLIF` is set). Clears the context.
    pub(crate) fn define_listed(&mut self, id: FuncId) -> Result<(), CodegenError> {
        let dump = std::env::var_os("NDX_DUMP_CLIF").is_some();
        let listing = dump || self.listings.is_some();
        let clif = if listing {
            self.ctx.set_disasm(true);
            self.ctx.func.display().to_string()
        } else {
            String::new()
        };
        if dump {
            eprintln!("{clif}");
        }
        let r = self.module.define_function(id, &mut self.ctx);
        if listing {
            let asm = self
                .ctx
                .compiled_code()
                .and_then(|c| c.vcode.clone())
                .unwrap_or_default();
            if dump {
                eprintln!("{asm}");
            }
            if let Some(l) = self.listings.as_mut() {
                l.push(Listing { clif, asm });
            }
        }
        self.ctx.set_disasm(false);
        self.module.clear_context(&mut self.ctx);
        r?;
        Ok(())
    }

    /// The listing of `nest`'s code, compiled afresh but not added to the module (so asking
    /// for the code of a cached kernel costs a compile, not memory).
    pub fn listing(&mut self, nest: &Nest) -> Result<Listing, CodegenError> {
        let mut sig = self.module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I32));
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig;
        let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
        let host = Host::new(&mut self.module, &self.host_ids);
        let mut l = lower::Lowering::new(b, host, nest, None);
        l.plan = crate::simd::plan(nest, &l.needed);
        if let Err(e) = l.run() {
            self.module.clear_context(&mut self.ctx);
            self.fctx = cranelift_frontend::FunctionBuilderContext::new();
            return Err(e);
        }
        let clif = self.ctx.func.display().to_string();
        self.ctx.set_disasm(true);
        let asm = match self
            .ctx
            .compile(self.module.isa(), &mut ControlPlane::default())
        {
            Ok(code) => code.vcode.clone().unwrap_or_default(),
            Err(e) => {
                let msg = format!("{:?}", e.inner);
                self.ctx.set_disasm(false);
                self.module.clear_context(&mut self.ctx);
                return Err(CodegenError::Internal(msg));
            }
        };
        self.ctx.set_disasm(false);
        self.module.clear_context(&mut self.ctx);
        let mut listing = Listing { clif, asm };
        listing.add_row_code(nest);
        Ok(listing)
    }
}
