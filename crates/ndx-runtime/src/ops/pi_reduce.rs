//! Payne-Hanek argument reduction: `a = (q + g) * unit` for a large finite `a`, with `q` an
//! integer (known modulo 8) and `g` in [-1/2, 1/2] as a double-double, computed exactly enough
//! for every `f64`: the error is below 2^-136 absolute, and no double comes within 2^-62 of a
//! multiple of pi/2, so `g` keeps more than 70 correct bits.
//!
//! `sin`, `cos` and `tan` reduce small arguments by subtracting `q * pi` in a few parts
//! (Cody-Waite), which stops being exact once `q` has too many bits. Beyond that (|x| > 39000
//! for `f32`, 1e14 for `f64`) the JIT's math library (`ndx_codegen::vmath`) and the 512-bit
//! code of [`super::wide_math`] reduce here instead: `a / pi` is formed as a fixed-point number
//! from `a`'s 53-bit mantissa times a 192-bit window of the bits of `1/pi` ([`INV_PI`]) chosen
//! by `a`'s exponent, in integer arithmetic. Bits of `1/pi` above the window only add multiples
//! of 8 to `q`; the ones below change the result by less than 2^-136.
//!
//! The JIT's vector code calls these functions (through its host functions
//! `ndx_pi_reduce_f32`/`_f64`) for the lanes of a vector that need them, in a cold block; the
//! 512-bit code calls them too, so both give the same bits. Every step of [`reduce`] is an
//! integer operation or an exact float operation (a conversion of a 53-bit integer, a scaling
//! by a power of two, a two-sum).

/// The bits of 1/pi after the binary point, most significant first, behind one word of zeros
/// (so that a window may start before the binary point). 1216 bits: enough for the largest
/// `f64` exponent. Generated with integer arithmetic (Machin's formula for pi to 1500 bits,
/// then floor(2^1216 / pi)); the first words agree with fdlibm's table of 2/pi.
pub const INV_PI: [u64; 20] = [
    0x0000000000000000,
    0x517cc1b727220a94,
    0xfe13abe8fa9a6ee0,
    0x6db14acc9e21c820,
    0xff28b1d5ef5de2b0,
    0xdb92371d2126e970,
    0x0324977504e8c90e,
    0x7f0ef58e5894d39f,
    0x74411afa975da242,
    0x74ce38135a2fbf20,
    0x9cc8eb1cc1a99cfa,
    0x4e422fc5defc941d,
    0x8ffc4bffef02cc07,
    0xf79788c5ad05368f,
    0xb69b3f6793e584db,
    0xa7a31fb34f2ff516,
    0xba93dd63f5f2f8bd,
    0x9e839cfbc5294975,
    0x35fdafd88fc6ae84,
    0x2b0198237e3db5d5,
];

/// The exponent `e` of `a = m 2^e` (`m` the 53-bit mantissa as an integer) is clamped to
/// [E_MIN, E_MAX], which keeps the table reads in bounds for any input bits; arguments with
/// |a| >= 2^-8 have their own exponent in that range.
pub const E_MIN: i64 = -61;
/// See [`E_MIN`]: the exponent of the largest finite `f64`.
pub const E_MAX: i64 = 971;

/// What `q` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Multiples of pi (`sin`): `a = (q + g) pi`.
    Pi,
    /// Odd multiples of pi/2 (`cos`): `a = (q + 1/2 + g) pi`.
    PiOffset,
    /// Multiples of pi/2 (`tan`): `a = (q + g) pi/2`.
    HalfPi,
}

impl Unit {
    /// The unit as a small integer, for generated code that passes it to a host function.
    pub fn code(self) -> i64 {
        match self {
            Unit::Pi => 0,
            Unit::PiOffset => 1,
            Unit::HalfPi => 2,
        }
    }

    /// The unit of [`Unit::code`] (any other integer: `HalfPi`).
    pub fn from_code(code: i64) -> Unit {
        match code {
            0 => Unit::Pi,
            1 => Unit::PiOffset,
            _ => Unit::HalfPi,
        }
    }
}

/// `(q mod 8, g_hi, g_lo)` with `a = (q + g) * unit` ([`Unit`]), `g = g_hi + g_lo` in
/// [-1/2, 1/2] rounded to nearest `q`. For finite `a >= 2^-8`; other inputs give some
/// finite garbage, never a panic.
pub fn reduce(a: f64, unit: Unit) -> (u64, f64, f64) {
    let bits = a.to_bits();
    let m = (bits & ((1 << 52) - 1)) | (1 << 52);
    let e = (((bits >> 52) & 0x7ff) as i64 - 1075).clamp(E_MIN, E_MAX);
    // The window's first bit has weight 2^(e - 2) in 2^e / pi; it is bit `e + 61` of INV_PI.
    let j = (e + 61) as u64;
    let (w, s) = ((j >> 6) as usize, (j & 63) as u32);
    let t = |i: usize| INV_PI.get(w + i).copied().unwrap_or(0);
    let join = |hi: u64, lo: u64| (hi << s) | ((lo >> 1) >> (63 - s));
    let (a0, a1, a2) = (join(t(0), t(1)), join(t(1), t(2)), join(t(2), t(3)));
    // U = m * A mod 2^192: a / pi mod 8 with the binary point at bit 189.
    let p2 = u128::from(m) * u128::from(a2);
    let p1 = u128::from(m) * u128::from(a1);
    let r0 = p2 as u64;
    let (r1, c) = ((p2 >> 64) as u64).overflowing_add(p1 as u64);
    let mut r2 = ((p1 >> 64) as u64)
        .wrapping_add(m.wrapping_mul(a0))
        .wrapping_add(u64::from(c));
    let (mut r1, mut r0) = (r1, r0);
    match unit {
        Unit::Pi => {}
        Unit::PiOffset => r2 = r2.wrapping_sub(1 << 60),
        Unit::HalfPi => {
            r2 = (r2 << 1) | (r1 >> 63);
            r1 = (r1 << 1) | (r0 >> 63);
            r0 <<= 1;
        }
    }
    let q = (r2.wrapping_add(1 << 60) >> 61) & 7;
    // The fraction as a signed 192-bit number in units of 2^-192, then its magnitude (one's
    // complement: 2^-192 off, far below the window's error).
    let v2 = (r2 << 3) | (r1 >> 61);
    let v1 = (r1 << 3) | (r0 >> 61);
    let v0 = r0 << 3;
    let neg = ((v2 as i64) >> 63) as u64;
    let (u2, u1, u0) = (v2 ^ neg, v1 ^ neg, v0 ^ neg);
    // Normalise: drop a zero top word, then shift the leading one to bit 63.
    let top_zero = u2 == 0;
    let (h2, h1, h0) = if top_zero { (u1, u0, 0) } else { (u2, u1, u0) };
    let base: u64 = if top_zero { 64 } else { 0 };
    let lz = h2.leading_zeros().min(63);
    let n2 = (h2 << lz) | ((h1 >> 1) >> (63 - lz));
    let n1 = (h1 << lz) | ((h0 >> 1) >> (63 - lz));
    // 106 bits as two exact 53-bit conversions, scaled by powers of two.
    let scale = f64::from_bits((1023 - 53 - base - u64::from(lz)) << 52);
    let hi = (n2 >> 11) as f64 * scale;
    let lo = (((n2 & 0x7ff) << 42) | (n1 >> 22)) as f64 * (scale * (1.0 / 9007199254740992.0));
    let sum = hi + lo;
    let lo = lo - (sum - hi);
    if neg != 0 {
        (q, -sum, -lo)
    } else {
        (q, sum, lo)
    }
}

/// The `f32` reduced argument and quadrant integer for `sin` (`cos` with `cos`) of a large
/// `x`: `(d, q)` with `x = q pi + d` (`cos`: `q` odd, `x = q pi/2 + d`) and the low bits of
/// `q` exact, as `vmath::f32::sin_cos`'s Cody-Waite reduction gives for small `x`. Infinite and
/// NaN `x` give a NaN `d`.
pub fn sin_cos_f32(x: f32, cos: bool) -> (f32, i32) {
    let a = f64::from(x.abs());
    let unit = if cos { Unit::PiOffset } else { Unit::Pi };
    let (q, g, _) = reduce(a, unit);
    let d = (g * std::f64::consts::PI) as f32;
    let q = q as i32;
    if cos {
        (finite_or_nan(x, d), 2 * q + 1)
    } else {
        (finite_or_nan(x, with_sign_of(d, x)), q)
    }
}

/// [`sin_cos_f32`] for `Unit::Pi` (`sin`) and `Unit::PiOffset` (`cos`), [`tan_f32`] for
/// `Unit::HalfPi`.
pub fn trig_f32(x: f32, unit: Unit) -> (f32, i32) {
    match unit {
        Unit::HalfPi => tan_f32(x),
        _ => sin_cos_f32(x, unit == Unit::PiOffset),
    }
}

/// The `f32` reduced argument and quadrant integer for `tan` of a large `x`: `(d, q)` with
/// `x = q pi/2 + d` (see [`sin_cos_f32`]).
pub fn tan_f32(x: f32) -> (f32, i32) {
    let (q, g, _) = reduce(f64::from(x.abs()), Unit::HalfPi);
    let d = (g * std::f64::consts::FRAC_PI_2) as f32;
    (finite_or_nan(x, with_sign_of(d, x)), q as i32)
}

/// The reduced argument and quadrant of `f64` `sin` (`Unit::Pi`), `cos` (`PiOffset`) or `tan`
/// (`HalfPi`) of a large finite `x`: `(r_hi, r_lo, q)` with `r = g * pi` (`g * pi/2` for
/// `tan`) as a double-double with the sign of `x` for `sin`/`tan`, and `q` as a float, odd
/// (`2q + 1`) for `cos`: what the Cody-Waite reductions of `vmath::f64` give for small `x`.
pub fn trig_f64(x: f64, unit: Unit) -> (f64, f64, f64) {
    use std::f64::consts::PI;
    const PI_LO: f64 = 1.2246467991473532e-16;
    let (q, hi, lo) = reduce(x.abs(), unit);
    let k = if unit == Unit::HalfPi { 0.5 } else { 1.0 };
    let (ph, pl) = (PI * k, PI_LO * k);
    let p = hi * ph;
    let err = hi.mul_add(ph, -p);
    let l = err + hi.mul_add(pl, lo * ph);
    let s = p + l;
    let t = l - (s - p);
    if unit == Unit::PiOffset {
        (s, t, (2 * q + 1) as f64)
    } else if x < 0.0 {
        (-s, -t, q as f64)
    } else {
        (s, t, q as f64)
    }
}

/// `d`, or NaN when `x` is infinite or NaN: `x * 0 + d`, as the vector code does.
fn finite_or_nan(x: f32, d: f32) -> f32 {
    x.mul_add(0.0, d)
}

/// `d`, negated when `x` is negative (`sin` and `tan` are odd; only the parity of `q` is
/// used, which negation keeps).
fn with_sign_of(d: f32, x: f32) -> f32 {
    f32::from_bits(d.to_bits() ^ (x.to_bits() & 0x8000_0000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Distance in units in the last place between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    /// `(g_hi + g_lo) * pi` to about 100 bits, rounded to `f64`.
    fn times_pi(hi: f64, lo: f64) -> f64 {
        const PI_LO: f64 = 1.2246467991473532e-16;
        let p = hi * PI;
        let err = hi.mul_add(PI, -p);
        p + (err + hi * PI_LO + lo * PI)
    }

    fn xorshift(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// Over every exponent from 2^-8 to the largest `f64`, random mantissas: the reduction
    /// reproduces libm's sin, cos and tan within 1 ULP (libm is within 1 ULP of the true
    /// value, and the reduced argument here is good to about 100 bits).
    #[test]
    fn reduction_agrees_with_libm_over_every_exponent() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for be in 1015..2047u64 {
            for _ in 0..64 {
                let a = f64::from_bits((be << 52) | (xorshift(&mut s) >> 12));
                let (q, hi, lo) = reduce(a, Unit::Pi);
                assert!(hi.abs() <= 0.5, "{a:e}: g = {hi}");
                let r = times_pi(hi, lo);
                let want = if q & 1 == 0 { r.sin() } else { -r.sin() };
                assert!(ulps(a.sin(), want) <= 1, "sin {a:e}: {} vs {want}", a.sin());

                let (q, hi, lo) = reduce(a, Unit::PiOffset);
                let r = times_pi(hi, lo);
                // cos((q + 1/2) pi + r) = -sin(r) for even q, sin(r) for odd.
                let want = if q & 1 == 0 { -r.sin() } else { r.sin() };
                assert!(ulps(a.cos(), want) <= 1, "cos {a:e}: {} vs {want}", a.cos());

                let (q, hi, lo) = reduce(a, Unit::HalfPi);
                let r = times_pi(hi, lo) * 0.5;
                let want = if q & 1 == 0 { r.tan() } else { -1.0 / r.tan() };
                assert!(ulps(a.tan(), want) <= 2, "tan {a:e}: {} vs {want}", a.tan());
            }
        }
    }

    /// The double closest to a multiple of pi/2 (6381956970095103 * 2^797, a cancellation of
    /// 61 bits): q and the reduced argument against exact rational arithmetic (Python's
    /// `fractions` with pi to 4000 bits): q = 5 mod 8, r = 4.6871659242546276111e-19, whose
    /// nearest double is 4.687165924254628e-19.
    #[test]
    fn worst_case_double() {
        let a = 6381956970095103.0 * 2f64.powi(797);
        let (q, hi, lo) = reduce(a, Unit::HalfPi);
        assert_eq!(q, 5);
        let r = times_pi(hi, lo) * 0.5;
        assert!(ulps(r, 4.687165924254628e-19) <= 1, "{r:e}");
    }

    /// Any input bits give an answer without a panic (the table reads are clamped).
    #[test]
    fn total_over_odd_inputs() {
        for a in [
            0.0,
            -0.0,
            1e-300,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
            -1.0,
        ] {
            for unit in [Unit::Pi, Unit::PiOffset, Unit::HalfPi] {
                let (q, _, _) = reduce(a, unit);
                assert!(q < 8);
            }
        }
    }
}
