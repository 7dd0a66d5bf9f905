//! The Payne-Hanek reduction of large `sin`/`cos`/`tan` arguments as Cranelift IR:
//! `ndx_runtime::ops::pi_reduce::reduce`, step for step, so that the JIT and the 512-bit code
//! (which calls that function) give the same bits. Integer arithmetic on one lane at a time,
//! in a loop over the lanes of a vector, in the cold block that a vector with a large lane
//! enters: no libm call, no trap (table reads are clamped in bounds).

use super::M;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value,
};
use cranelift_frontend::FunctionBuilder;
use ndx_runtime::ops::pi_reduce::{Unit, E_MAX, E_MIN, INV_PI};

/// Flags for the stack slot and table accesses: always in bounds.
fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// `(q mod 8, g_hi, g_lo)` of `pi_reduce::reduce` for the non-negative `f64` scalar `a`.
fn reduce_scalar(b: &mut FunctionBuilder, a: Value, unit: Unit) -> (Value, Value, Value) {
    let i64t = types::I64;
    let k = |b: &mut FunctionBuilder, v: i64| b.ins().iconst(i64t, v);
    let bits = b.ins().bitcast(i64t, MemFlagsData::new(), a);
    let mant = b.ins().band_imm_s(bits, (1i64 << 52) - 1);
    let m = b.ins().bor_imm_s(mant, 1i64 << 52);
    let be = b.ins().ushr_imm_u(bits, 52);
    let be = b.ins().band_imm_s(be, 0x7ff);
    let e = b.ins().iadd_imm_s(be, -1075);
    let lo_e = k(b, E_MIN);
    let hi_e = k(b, E_MAX);
    let e = b.ins().smax(e, lo_e);
    let e = b.ins().smin(e, hi_e);
    let j = b.ins().iadd_imm_s(e, 61);
    let w = b.ins().ushr_imm_u(j, 6);
    let s = b.ins().band_imm_s(j, 63);
    let c63 = k(b, 63);
    let rs = b.ins().isub(c63, s);
    let table = k(b, INV_PI.as_ptr() as i64);
    let off = b.ins().ishl_imm_s(w, 3);
    let base = b.ins().iadd(table, off);
    let t: Vec<Value> = (0..4)
        .map(|i| b.ins().load(i64t, flags().with_readonly(), base, 8 * i))
        .collect();
    let join = |b: &mut FunctionBuilder, hi: Value, lo: Value| {
        let h = b.ins().ishl(hi, s);
        let l = b.ins().ushr_imm_u(lo, 1);
        let l = b.ins().ushr(l, rs);
        b.ins().bor(h, l)
    };
    let a0 = join(b, t[0], t[1]);
    let a1 = join(b, t[1], t[2]);
    let a2 = join(b, t[2], t[3]);
    // U = m * A mod 2^192, binary point at bit 189.
    let r0 = b.ins().imul(m, a2);
    let p2h = b.ins().umulhi(m, a2);
    let p1l = b.ins().imul(m, a1);
    let p1h = b.ins().umulhi(m, a1);
    let r1 = b.ins().iadd(p2h, p1l);
    let carry = b.ins().icmp(IntCC::UnsignedLessThan, r1, p2h);
    let carry = b.ins().uextend(i64t, carry);
    let p0 = b.ins().imul(m, a0);
    let r2 = b.ins().iadd(p1h, p0);
    let r2 = b.ins().iadd(r2, carry);
    let (r2, r1, r0) = match unit {
        Unit::Pi => (r2, r1, r0),
        Unit::PiOffset => (b.ins().iadd_imm_s(r2, -(1i64 << 60)), r1, r0),
        Unit::HalfPi => {
            let shl1 = |b: &mut FunctionBuilder, hi: Value, lo: Value| {
                let h = b.ins().ishl_imm_s(hi, 1);
                let l = b.ins().ushr_imm_u(lo, 63);
                b.ins().bor(h, l)
            };
            (shl1(b, r2, r1), shl1(b, r1, r0), b.ins().ishl_imm_s(r0, 1))
        }
    };
    let q = b.ins().iadd_imm_s(r2, 1i64 << 60);
    let q = b.ins().ushr_imm_u(q, 61);
    let q = b.ins().band_imm_s(q, 7);
    // The fraction as a signed 192-bit number, then its magnitude (one's complement).
    let shl3 = |b: &mut FunctionBuilder, hi: Value, lo: Value| {
        let h = b.ins().ishl_imm_s(hi, 3);
        let l = b.ins().ushr_imm_u(lo, 61);
        b.ins().bor(h, l)
    };
    let v2 = shl3(b, r2, r1);
    let v1 = shl3(b, r1, r0);
    let v0 = b.ins().ishl_imm_s(r0, 3);
    let neg = b.ins().sshr_imm_s(v2, 63);
    let u2 = b.ins().bxor(v2, neg);
    let u1 = b.ins().bxor(v1, neg);
    let u0 = b.ins().bxor(v0, neg);
    // Normalise: drop a zero top word, then shift the leading one to bit 63.
    let top_zero = b.ins().icmp_imm_s(IntCC::Equal, u2, 0);
    let zero = k(b, 0);
    let h2 = b.ins().select(top_zero, u1, u2);
    let h1 = b.ins().select(top_zero, u0, u1);
    let h0 = b.ins().select(top_zero, zero, u0);
    let c64 = k(b, 64);
    let base = b.ins().select(top_zero, c64, zero);
    let lz = b.ins().clz(h2);
    let lz = b.ins().umin(lz, c63);
    let rlz = b.ins().isub(c63, lz);
    let shift = |b: &mut FunctionBuilder, hi: Value, lo: Value| {
        let h = b.ins().ishl(hi, lz);
        let l = b.ins().ushr_imm_u(lo, 1);
        let l = b.ins().ushr(l, rlz);
        b.ins().bor(h, l)
    };
    let n2 = shift(b, h2, h1);
    let n1 = shift(b, h1, h0);
    // 106 bits as two exact 53-bit conversions, scaled by powers of two.
    let ex = k(b, 1023 - 53);
    let ex = b.ins().isub(ex, base);
    let ex = b.ins().isub(ex, lz);
    let ex = b.ins().ishl_imm_s(ex, 52);
    let scale = b.ins().bitcast(types::F64, MemFlagsData::new(), ex);
    let hi = b.ins().ushr_imm_u(n2, 11);
    let hi = b.ins().fcvt_from_uint(types::F64, hi);
    let hi = b.ins().fmul(hi, scale);
    let lo_top = b.ins().band_imm_s(n2, 0x7ff);
    let lo_top = b.ins().ishl_imm_s(lo_top, 42);
    let lo_bot = b.ins().ushr_imm_u(n1, 22);
    let lo = b.ins().bor(lo_top, lo_bot);
    let lo = b.ins().fcvt_from_uint(types::F64, lo);
    let ulp = b.ins().f64const(1.0 / 9007199254740992.0);
    let lscale = b.ins().fmul(scale, ulp);
    let lo = b.ins().fmul(lo, lscale);
    let sum = b.ins().fadd(hi, lo);
    let back = b.ins().fsub(sum, hi);
    let lo = b.ins().fsub(lo, back);
    // Negate both parts when the fraction was negative: flip the sign bits.
    let sign = b.ins().ishl_imm_s(neg, 63);
    let flip = |b: &mut FunctionBuilder, v: Value| {
        let vb = b.ins().bitcast(i64t, MemFlagsData::new(), v);
        let vb = b.ins().bxor(vb, sign);
        b.ins().bitcast(types::F64, MemFlagsData::new(), vb)
    };
    (q, flip(b, sum), flip(b, lo))
}

impl M<'_, '_> {
    /// Runs [`reduce_scalar`] on |x| for every lane of `x`, in a loop over the lanes: for an
    /// `f32x4` `x`, `(q as i32x4, g_hi * scale rounded to f32x4)`; for `f64x2`,
    /// `(q as i64x2, g_hi, g_lo)` as `f64x2` (the last element `None` for `f32`).
    pub fn pi_reduce(&mut self, x: Value, unit: Unit, scale: f64) -> (Value, Value, Option<Value>) {
        let f32 = self.is_f32();
        let (lane_ty, lanes) = (self.ty.lane_type(), i64::from(self.ty.lane_count()));
        let w = i64::from(lane_ty.bytes());
        let slot =
            self.b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 64, 4));
        let frame = self.b.ins().stack_addr(types::I64, slot, 0);
        self.b.ins().store(flags(), x, frame, 0);
        let [head, body, done] = [(); 3].map(|_| {
            let blk = self.b.create_block();
            self.b.set_cold_block(blk);
            blk
        });
        let i = self.b.append_block_param(head, types::I64);
        let start = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(head, &[start.into()]);
        self.b.switch_to_block(head);
        let more = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, i, lanes);
        self.b.ins().brif(more, body, &[], done, &[]);

        self.b.switch_to_block(body);
        let off = self.b.ins().imul_imm_s(i, w);
        let at = self.b.ins().iadd(frame, off);
        let xi = self.b.ins().load(lane_ty, flags(), at, 0);
        let xi = if f32 {
            self.b.ins().fpromote(types::F64, xi)
        } else {
            xi
        };
        let a = self.b.ins().fabs(xi);
        let (q, hi, lo) = reduce_scalar(self.b, a, unit);
        if f32 {
            let q = self.b.ins().ireduce(types::I32, q);
            self.b.ins().store(flags(), q, at, 16);
            let k = self.b.ins().f64const(scale);
            let d = self.b.ins().fmul(hi, k);
            let d = self.b.ins().fdemote(types::F32, d);
            self.b.ins().store(flags(), d, at, 32);
        } else {
            self.b.ins().store(flags(), q, at, 16);
            self.b.ins().store(flags(), hi, at, 32);
            self.b.ins().store(flags(), lo, at, 48);
        }
        let next = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(head, &[next.into()]);

        self.b.switch_to_block(done);
        let q = self.b.ins().load(self.ity, flags(), frame, 16);
        let hi = self.b.ins().load(self.ty, flags(), frame, 32);
        let lo = (!f32).then(|| self.b.ins().load(self.ty, flags(), frame, 48));
        (q, hi, lo)
    }
}
