//! The Payne-Hanek reduction of large `sin`/`cos`/`tan` arguments, for the cold block that a
//! vector with such a lane enters: the vector goes to a stack slot, the host function
//! `ndx_pi_reduce_f32`/`_f64` (`ndx_runtime::ops::pi_reduce`, integer arithmetic against the
//! bits of 1/pi) reduces every lane, and the results come back as vectors. The 512-bit code
//! calls the same Rust functions, so both give the same bits. Emitting the reduction as IR
//! instead measured twice the compile time of a kernel with `sin` (it is emitted once per
//! unrolled copy of the loop body), for code that runs only on such rare arguments.

use super::M;
use crate::CodegenError;
use cranelift_codegen::ir::{
    types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value,
};
use ndx_runtime::ops::pi_reduce::Unit;

/// The results of [`M::pi_reduce`].
pub(crate) struct Reduced {
    /// `q`: `i32x4` for `f32` (`pi_reduce::sin_cos_f32`/`tan_f32`), `f64x2` for `f64`
    /// (`pi_reduce::trig_f64`).
    pub q: Value,
    /// The reduced argument (`f32x4`), or its high part (`f64x2`).
    pub hi: Value,
    /// The low part of the reduced argument (`f64x2`; the high part again for `f32`).
    pub lo: Value,
}

impl M<'_, '_, '_, '_> {
    /// The Payne-Hanek reduction of every lane of `x` for `sin` ([`Unit::Pi`]), `cos`
    /// ([`Unit::PiOffset`]) or `tan` ([`Unit::HalfPi`]), through the host function.
    pub fn pi_reduce(&mut self, x: Value, unit: Unit) -> Result<Reduced, CodegenError> {
        let flags = MemFlagsData::new().with_notrap();
        let slot =
            self.b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 64, 4));
        let frame = self.b.ins().stack_addr(types::I64, slot, 0);
        self.b.ins().store(flags, x, frame, 0);
        let code = self.b.ins().iconst(types::I64, unit.code());
        let name = if self.is_f32() {
            "ndx_pi_reduce_f32"
        } else {
            "ndx_pi_reduce_f64"
        };
        self.host.call(self.b, name, &[frame, code])?;
        let q = if self.is_f32() { self.ity } else { self.ty };
        let q = self.b.ins().load(q, flags, frame, 16);
        let hi = self.b.ins().load(self.ty, flags, frame, 32);
        let lo = if self.is_f32() {
            hi
        } else {
            self.b.ins().load(self.ty, flags, frame, 48)
        };
        Ok(Reduced { q, hi, lo })
    }
}
