//! The emitter [`M`]: float vector arithmetic, lane masks, integer views of the bits, and the
//! whole-vector branches ([`M::branch`], [`M::unless_rare`]); the Payne-Hanek reduction
//! ([`M::pi_reduce`]) is in `reduce.rs`.

use super::bitcast;
use crate::scalar::Host;
use crate::CodegenError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// The emitter: arithmetic on vectors of one float type (`f64x2` or `f32x4`), with masks
/// (all-ones/all-zeros lanes of the same-width integer vector type) and integer views.
pub(crate) struct M<'a, 'f, 'h, 'm> {
    pub b: &'a mut FunctionBuilder<'f>,
    /// Host functions (the Payne-Hanek reduction of large trigonometric arguments).
    pub host: &'h mut Host<'m>,
    /// The float vector type.
    pub ty: Type,
    /// The integer vector type of the same lane width.
    pub ity: Type,
}

impl<'a, 'f, 'h, 'm> M<'a, 'f, 'h, 'm> {
    pub(super) fn new(b: &'a mut FunctionBuilder<'f>, host: &'h mut Host<'m>, ty: Type) -> Self {
        let ity = if ty == types::F32X4 {
            types::I32X4
        } else {
            types::I64X2
        };
        M { b, host, ty, ity }
    }

    pub(super) fn is_f32(&self) -> bool {
        self.ty == types::F32X4
    }

    /// Mantissa bits of the lane type.
    fn mant_bits(&self) -> i64 {
        if self.is_f32() {
            23
        } else {
            52
        }
    }

    /// Runs `f` with the emitter on `f64x2` lanes, then returns it to its own type: for the
    /// `f32` functions that evaluate in `f64` ([`M::widen`], [`M::narrow`]).
    pub fn in_f64<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let (ty, ity) = (self.ty, self.ity);
        (self.ty, self.ity) = (types::F64X2, types::I64X2);
        let r = f(self);
        (self.ty, self.ity) = (ty, ity);
        r
    }

    /// The `f32x4` `x` as two `f64x2` (its lanes 0-1, then 2-3), exactly.
    pub fn widen(&mut self, x: Value) -> (Value, Value) {
        let lo = self.b.ins().fvpromote_low(x);
        let high = self.shuffle(types::F32X4, x, x, &[2, 3, 2, 3]);
        let hi = self.b.ins().fvpromote_low(high);
        (lo, hi)
    }

    /// Two `f64x2` rounded to `f32` into one `f32x4` (the lanes of `lo`, then of `hi`).
    pub fn narrow(&mut self, lo: Value, hi: Value) -> Value {
        let lo = self.b.ins().fvdemote(lo);
        let hi = self.b.ins().fvdemote(hi);
        self.shuffle(types::F32X4, lo, hi, &[0, 1, 4, 5])
    }

    /// The lanes `lanes` of `x` and `y` (`x`'s first, then `y`'s), as a vector of type `ty`
    /// (`f32x4`: four lanes, `f64x2`: two).
    fn shuffle(&mut self, ty: Type, x: Value, y: Value, lanes: &[u8]) -> Value {
        let w = (16 / lanes.len()) as u8;
        let bytes: Vec<u8> = lanes.iter().flat_map(|&l| w * l..w * l + w).collect();
        let mask = self.b.func.dfg.immediates.push(ConstantData::from(bytes));
        let x = bitcast(self.b, types::I8X16, x);
        let y = bitcast(self.b, types::I8X16, y);
        let r = self.b.ins().shuffle(x, y, mask);
        bitcast(self.b, ty, r)
    }

    /// The pairs `table[i]` at the `i64x2` indices `i` (each below `table.len()`), as two
    /// `f64x2`: the first elements, the second elements. The table's address is embedded in
    /// the code, which runs in this process only.
    pub fn table_pairs(&mut self, i: Value, table: &'static [[f64; 2]]) -> (Value, Value) {
        let base = self.b.ins().iconst(types::I64, table.as_ptr() as i64);
        let r0 = self.table_load(i, 0, base, types::F64X2);
        let r1 = self.table_load(i, 1, base, types::F64X2);
        let first = self.shuffle(types::F64X2, r0, r1, &[0, 2]);
        let second = self.shuffle(types::F64X2, r0, r1, &[1, 3]);
        (first, second)
    }

    /// `table[i]` at the `i64x2` indices `i` (each below `table.len()`), as an `f64x2`; the
    /// table's address is embedded as in [`M::table_pairs`].
    pub fn table(&mut self, i: Value, table: &'static [f64]) -> Value {
        let base = self.b.ins().iconst(types::I64, table.as_ptr() as i64);
        let e0 = self.table_load(i, 0, base, types::F64);
        let e1 = self.table_load(i, 1, base, types::F64);
        let v = self.b.ins().splat(types::F64X2, e0);
        self.b.ins().insertlane(v, e1, 1)
    }

    /// The element of type `ty` at index `i[lane]` of the table at `base` (elements of
    /// `ty`'s size); the load cannot trap (the caller keeps the index in the table).
    fn table_load(&mut self, i: Value, lane: u8, base: Value, ty: Type) -> Value {
        let k = self.b.ins().extractlane(i, lane);
        let shift = i64::from(ty.bytes().trailing_zeros());
        let off = self.b.ins().ishl_imm_s(k, shift);
        let a = self.b.ins().iadd(base, off);
        let flags = MemFlagsData::new().with_notrap().with_readonly();
        self.b.ins().load(ty, flags, a, 0)
    }

    /// Integer lanes shifted left by `k` bits.
    pub fn ishl(&mut self, i: Value, k: i64) -> Value {
        self.b.ins().ishl_imm_s(i, k)
    }
    /// Integer lanes shifted right by `k` bits, filling with zeros.
    pub fn ushr(&mut self, i: Value, k: i64) -> Value {
        self.b.ins().ushr_imm_s(i, k)
    }
    /// Integer lanes shifted right by `k` bits, filling with the sign.
    pub fn sshr(&mut self, i: Value, k: i64) -> Value {
        self.b.ins().sshr_imm_s(i, k)
    }
    pub fn iadd(&mut self, i: Value, j: Value) -> Value {
        self.b.ins().iadd(i, j)
    }
    pub fn isub(&mut self, i: Value, j: Value) -> Value {
        self.b.ins().isub(i, j)
    }

    /// A splatted float constant.
    pub fn c(&mut self, v: f64) -> Value {
        let s = if self.is_f32() {
            self.b.ins().f32const(v as f32)
        } else {
            self.b.ins().f64const(v)
        };
        self.b.ins().splat(self.ty, s)
    }

    /// A splatted integer constant of the lane width.
    pub fn ci(&mut self, v: i64) -> Value {
        let lane = self.ity.lane_type();
        let s = crate::scalar::iconst(self.b, lane, v);
        self.b.ins().splat(self.ity, s)
    }

    pub fn add(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fadd(x, y)
    }
    pub fn sub(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fsub(x, y)
    }
    pub fn mul(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fmul(x, y)
    }
    pub fn div(&mut self, x: Value, y: Value) -> Value {
        self.b.ins().fdiv(x, y)
    }
    /// `x * y + z`, rounded once.
    pub fn fma(&mut self, x: Value, y: Value, z: Value) -> Value {
        self.b.ins().fma(x, y, z)
    }
    /// `x * y - z`, rounded once.
    pub fn fmapn(&mut self, x: Value, y: Value, z: Value) -> Value {
        let nz = self.neg(z);
        self.fma(x, y, nz)
    }
    /// `z - x * y`, rounded once.
    pub fn fmanp(&mut self, x: Value, y: Value, z: Value) -> Value {
        let nx = self.neg(x);
        self.fma(nx, y, z)
    }
    pub fn neg(&mut self, x: Value) -> Value {
        self.b.ins().fneg(x)
    }
    /// |x|: the sign bit cleared with a mask constant (hoisted out of loops), where `fabs`
    /// would rebuild the mask at every use.
    pub fn abs(&mut self, x: Value) -> Value {
        let m = self.ci(if self.is_f32() {
            0x7fff_ffff
        } else {
            0x7fff_ffff_ffff_ffff
        });
        let xb = self.bits(x);
        let r = self.and(xb, m);
        self.as_float(r)
    }
    pub fn sqrt(&mut self, x: Value) -> Value {
        self.b.ins().sqrt(x)
    }
    /// Round to nearest, ties to even.
    pub fn rint(&mut self, x: Value) -> Value {
        self.b.ins().nearest(x)
    }
    pub fn trunc(&mut self, x: Value) -> Value {
        self.b.ins().trunc(x)
    }
    pub fn floor(&mut self, x: Value) -> Value {
        self.b.ins().floor(x)
    }
    /// `x * k + c` with constants.
    pub fn mla_c(&mut self, x: Value, k: Value, c: f64) -> Value {
        let c = self.c(c);
        self.fma(x, k, c)
    }
    pub fn mul_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.mul(x, c)
    }
    pub fn add_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.add(x, c)
    }
    /// Horner's scheme: `((c[0] x + c[1]) x + ...) x + c[n-1]`.
    pub fn poly(&mut self, x: Value, cs: &[f64]) -> Value {
        let Some((first, rest)) = cs.split_first() else {
            return self.c(0.0);
        };
        let mut u = self.c(*first);
        for c in rest {
            u = self.mla_c(u, x, *c);
        }
        u
    }

    fn cmp(&mut self, cc: FloatCC, x: Value, y: Value) -> Value {
        self.b.ins().fcmp(cc, x, y)
    }
    pub fn lt(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::LessThan, x, y)
    }
    pub fn le(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::LessThanOrEqual, x, y)
    }
    pub fn gt(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::GreaterThan, x, y)
    }
    pub fn ge(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::GreaterThanOrEqual, x, y)
    }
    pub fn eq(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::Equal, x, y)
    }
    pub fn ne(&mut self, x: Value, y: Value) -> Value {
        self.cmp(FloatCC::NotEqual, x, y)
    }
    pub fn lt_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.lt(x, c)
    }
    pub fn le_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.le(x, c)
    }
    pub fn gt_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.gt(x, c)
    }
    pub fn ge_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.ge(x, c)
    }
    pub fn eq_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.eq(x, c)
    }
    /// `!(x <= c)`: greater, or NaN.
    pub fn ugt_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        self.cmp(FloatCC::UnorderedOrGreaterThan, x, c)
    }
    pub fn isnan(&mut self, x: Value) -> Value {
        self.cmp(FloatCC::Unordered, x, x)
    }
    pub fn isinf(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        self.eq_c(a, f64::INFINITY)
    }
    /// x == -0.0 (bit pattern).
    pub fn isnegzero(&mut self, x: Value) -> Value {
        let bits = self.bits(x);
        let nz = self.c(-0.0);
        let nz = self.bits(nz);
        self.b.ins().icmp(IntCC::Equal, bits, nz)
    }
    /// Sign bit set (including -0 and NaNs with the sign bit).
    pub fn signbit(&mut self, x: Value) -> Value {
        let bits = self.bits(x);
        let z = self.ci(0);
        self.b.ins().icmp(IntCC::SignedLessThan, bits, z)
    }
    pub fn and(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().band(m, n)
    }
    pub fn or(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().bor(m, n)
    }
    pub fn xor(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().bxor(m, n)
    }
    /// `!m & n`.
    pub fn andnot(&mut self, m: Value, n: Value) -> Value {
        self.b.ins().band_not(n, m)
    }

    /// `m ? x : y` lane by lane (floats or integers of the lane width).
    pub fn sel(&mut self, m: Value, x: Value, y: Value) -> Value {
        let ty = self.b.func.dfg.value_type(x);
        let m = bitcast(self.b, ty, m);
        self.b.ins().bitselect(m, x, y)
    }
    pub fn sel_c(&mut self, m: Value, x: f64, y: f64) -> Value {
        let x = self.c(x);
        let y = self.c(y);
        self.sel(m, x, y)
    }

    /// The bits of float lanes as integers.
    pub fn bits(&mut self, x: Value) -> Value {
        bitcast(self.b, self.ity, x)
    }
    /// Integer lanes reinterpreted as floats.
    pub fn as_float(&mut self, i: Value) -> Value {
        bitcast(self.b, self.ty, i)
    }
    /// `x` with the lanes where `m` holds replaced by NaN.
    pub fn or_nan(&mut self, m: Value, x: Value) -> Value {
        let bits = self.bits(x);
        let m = bitcast(self.b, self.ity, m);
        let r = self.or(m, bits);
        self.as_float(r)
    }
    /// `x` with the lanes where `m` holds replaced by +0.
    pub fn zero_if(&mut self, m: Value, x: Value) -> Value {
        let bits = self.bits(x);
        let m = bitcast(self.b, self.ity, m);
        let r = self.andnot(m, bits);
        self.as_float(r)
    }
    /// `x` with its sign flipped where `y` is negative (sign bit).
    pub fn mulsign(&mut self, x: Value, y: Value) -> Value {
        let sign = self.sign_mask(y);
        let xb = self.bits(x);
        let r = self.xor(xb, sign);
        self.as_float(r)
    }
    /// Only the sign bits of `y`.
    fn sign_mask(&mut self, y: Value) -> Value {
        let yb = self.bits(y);
        let s = self.c(-0.0);
        let s = self.bits(s);
        self.and(yb, s)
    }

    /// The integer lanes of the integer-valued floats `q` (|q| < 2^22 for f32, 2^51 f64).
    pub fn int_of(&mut self, q: Value) -> Value {
        let shifter = self.shifter();
        let t = self.add(q, shifter);
        let tb = self.bits(t);
        let sb = self.bits(shifter);
        self.b.ins().isub(tb, sb)
    }
    /// The integer lanes `i` as floats (|i| < 2^22 for f32, 2^51 for f64).
    pub fn float_of(&mut self, i: Value) -> Value {
        let shifter = self.shifter();
        let sb = self.bits(shifter);
        let t = self.b.ins().iadd(i, sb);
        let t = self.as_float(t);
        self.sub(t, shifter)
    }
    fn shifter(&mut self) -> Value {
        self.c(1.5 * 2f64.powi(self.mant_bits() as i32))
    }
    /// `2^q` for integer-valued `q` in the normal exponent range.
    pub fn pow2i(&mut self, q: Value) -> Value {
        let i = self.int_of(q);
        let mb = self.mant_bits();
        let e = self.b.ins().ishl_imm_s(i, mb);
        let one = self.c(1.0);
        let one = self.bits(one);
        let r = self.b.ins().iadd(e, one);
        self.as_float(r)
    }
    /// `x * 2^q` in two steps, so that `q` may reach twice the exponent range (subnormal and
    /// overflowing results round once).
    pub fn ldexp2(&mut self, x: Value, q: Value) -> Value {
        let h = self.mul_c(q, 0.5);
        let h = self.floor(h);
        let l = self.sub(q, h);
        let ph = self.pow2i(h);
        let pl = self.pow2i(l);
        let r = self.mul(x, ph);
        self.mul(r, pl)
    }
    /// `x * 2^q` by adding to the exponent field (no range checks: the caller keeps the result
    /// normal).
    pub fn ldexp3(&mut self, x: Value, q: Value) -> Value {
        let i = self.int_of(q);
        let mb = self.mant_bits();
        let e = self.b.ins().ishl_imm_s(i, mb);
        let xb = self.bits(x);
        let r = self.b.ins().iadd(xb, e);
        self.as_float(r)
    }
    /// The unbiased exponent field of `d` (normal positive `d`), as a float.
    pub fn ilogb2k(&mut self, d: Value) -> Value {
        let mb = self.mant_bits();
        let bits = self.bits(d);
        let e = self.b.ins().ushr_imm_s(bits, mb);
        let mask = self.ci(if self.is_f32() { 0xff } else { 0x7ff });
        let e = self.and(e, mask);
        let e = self.float_of(e);
        let bias = if self.is_f32() { 127.0 } else { 1023.0 };
        self.add_c(e, -bias)
    }
    /// `(e, m)` with `d = 2^e m`, `m` in [0.75, 1.5), for positive finite `d` (garbage
    /// elsewhere, for the caller's selects); `d` below `tiny` (the smallest normal) is scaled
    /// by 2^64 first. The logarithms' reduction (SLEEF's `xlog`/`xlogf`).
    pub fn split_exponent(&mut self, d: Value, tiny: f64) -> (Value, Value) {
        self.split_exponent_at(d, tiny, 0.75)
    }
    /// [`M::split_exponent`] with `m` in [lo, 2 lo).
    pub fn split_exponent_at(&mut self, d: Value, tiny: f64, lo: f64) -> (Value, Value) {
        let o = self.lt_c(d, tiny);
        let scaled = self.mul_c(d, 2f64.powi(64));
        let d = self.sel(o, scaled, d);
        let t = self.mul_c(d, 1.0 / lo);
        let e = self.ilogb2k(t);
        let ne = self.neg(e);
        let mm = self.ldexp3(d, ne);
        let adj = self.sel_c(o, 64.0, 0.0);
        (self.sub(e, adj), mm)
    }
    /// `floor(log2(d))` for positive finite `d`, subnormals included, as a float.
    pub fn ilogbk(&mut self, d: Value) -> Value {
        let (tiny, big, k) = if self.is_f32() {
            (5.421010862427522E-20, 1.8446744073709552E19, 64.0)
        } else {
            (4.9090934652977266E-91, 2.037035976334486E90, 300.0)
        };
        let o = self.lt_c(d, tiny);
        let scaled = self.mul_c(d, big);
        let d = self.sel(o, scaled, d);
        let e = self.ilogb2k(d);
        let adj = self.sel_c(o, k, 0.0);
        self.sub(e, adj)
    }
    /// `v` is an integer (false for NaN and infinities).
    pub fn isint(&mut self, v: Value) -> Value {
        let t = self.trunc(v);
        self.eq(t, v)
    }
    /// `v` is an odd integer.
    pub fn isodd(&mut self, v: Value) -> Value {
        let h = self.mul_c(v, 0.5);
        let t = self.trunc(h);
        let hint = self.ne(t, h);
        let vint = self.isint(v);
        self.and(hint, vint)
    }

    /// `fast`, unless a lane of `rare` is set: then `general` (right for every lane), in a cold
    /// block off the common path. One `vany_true` test per vector.
    pub fn unless_rare<G>(&mut self, rare: Value, fast: Value, general: G) -> Value
    where
        G: FnOnce(&mut Self) -> Value,
    {
        let r: Result<_, CodegenError> = self.try_unless_rare(rare, [fast], |m| Ok([general(m)]));
        r.map_or(fast, |[v]| v)
    }

    /// [`M::unless_rare`] for several values (of any types), with a `general` path that may
    /// fail (its error is returned; the blocks are still closed).
    pub fn try_unless_rare<const N: usize, G>(
        &mut self,
        rare: Value,
        fast: [Value; N],
        general: G,
    ) -> Result<[Value; N], CodegenError>
    where
        G: FnOnce(&mut Self) -> Result<[Value; N], CodegenError>,
    {
        let any = self.b.ins().vany_true(rare);
        let slow = self.b.create_block();
        let join = self.b.create_block();
        let res = fast.map(|v| {
            let ty = self.b.func.dfg.value_type(v);
            self.b.append_block_param(join, ty)
        });
        self.b.set_cold_block(slow);
        let args = fast.map(|v| v.into());
        self.b.ins().brif(any, slow, &[], join, &args);
        self.b.switch_to_block(slow);
        let r = general(self);
        let args = r.as_ref().unwrap_or(&fast).map(|v| v.into());
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(join);
        r.map(|_| res)
    }

    /// `min(c, x)` for a constant `c`, keeping NaN lanes of `x` (one `minps`/`minpd`).
    pub fn min_c(&mut self, x: Value, c: f64) -> Value {
        let c = self.c(c);
        let l = self.lt(c, x);
        self.sel(l, c, x)
    }

    /// The integer-valued float nearest `x * k` (ties to even), and the bits of
    /// `x * k + 1.5 * 2^mant` whose low bits hold that integer: shifted left by the mantissa
    /// width they are the exponent field of `2^q` ([`M::scale_bits`]). Needs |x k| < 2^22.
    pub fn round_shifted(&mut self, x: Value, k: f64) -> (Value, Value) {
        let k = self.c(k);
        let shifter = self.shifter();
        let t = self.fma(x, k, shifter);
        let q = self.sub(t, shifter);
        (q, self.bits(t))
    }

    /// `u * 2^q` for the shifted bits of [`M::round_shifted`], by adding to the exponent field
    /// (the caller keeps the result normal).
    pub fn scale_bits(&mut self, u: Value, tbits: Value) -> Value {
        let mb = self.mant_bits();
        let e = self.b.ins().ishl_imm_s(tbits, mb);
        let ub = self.bits(u);
        let r = self.b.ins().iadd(ub, e);
        self.as_float(r)
    }

    /// Evaluates `fast` when every lane of `all` is set, `general` otherwise; both produce the
    /// same number of float vectors (`general` must be right for every lane, `fast` for the
    /// lanes it gets).
    pub fn branch<F, G>(&mut self, all: Value, fast: F, general: G) -> Vec<Value>
    where
        F: FnOnce(&mut Self) -> Vec<Value>,
        G: FnOnce(&mut Self) -> Vec<Value>,
    {
        let every = self.b.ins().vall_true(all);
        let fb = self.b.create_block();
        let gb = self.b.create_block();
        let join = self.b.create_block();
        self.b.ins().brif(every, fb, &[], gb, &[]);
        self.b.switch_to_block(fb);
        let r = fast(self);
        let params: Vec<Value> = r
            .iter()
            .map(|_| self.b.append_block_param(join, self.ty))
            .collect();
        let args: Vec<_> = r.iter().map(|v| (*v).into()).collect();
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(gb);
        let r = general(self);
        let args: Vec<_> = r.iter().map(|v| (*v).into()).collect();
        self.b.ins().jump(join, &args);
        self.b.switch_to_block(join);
        params
    }
}
