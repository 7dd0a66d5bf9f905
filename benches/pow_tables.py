#!/usr/bin/env python3
"""Prints the tables and polynomials of the `f32` `pow` (crates/ndx-runtime/src/ops/wide_math.rs,
`consts::POW_*`), computed with mpmath at 200 bits and rounded once to f64.

x^y = 2^(y log2 x) in f64 lanes. log2: x = 2^k z with z in [OFF, 2 OFF), OFF = 1 - 1/64, split
into 16 intervals by the top four mantissa bits of bits(x) - bits(OFF); interval i has
invc = 1 / (its midpoint) (1 exactly for the interval around 1, so that log2 is exact in
relative terms there), logc = -log2(invc), and log2 x = k + logc + log2(1 + r), r = z invc - 1,
|r| <= 2^-5, by the Taylor series to r^7 (truncation below 2^-38 of the result). exp2: t =
n/16 + s, |s| <= 1/32, 2^t = 2^(n >> 4) T[n & 15] 2^s, 2^s by the Taylor series to s^5
(truncation below 2^-42).

Run: benches/.venv/bin/python benches/pow_tables.py  (mpmath; not needed by the tests)
"""
import struct

import mpmath

mpmath.mp.prec = 200


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


OFF = 1 - 1 / 64
invc, logc = [], []
for i in range(16):
    lo = from_bits(bits(OFF) + (i << 48))
    hi = from_bits(bits(OFF) + ((i + 1) << 48))
    if lo <= 1.0 < hi:
        ic = 1.0
    else:
        ic = float(1 / ((mpmath.mpf(lo) + mpmath.mpf(hi)) / 2))
    invc.append(ic)
    logc.append(float(-mpmath.log(mpmath.mpf(ic), 2)))
    z = [lo, hi]
    r = max(abs(mpmath.mpf(v) * ic - 1) for v in z)
    assert r <= mpmath.mpf(2) ** -5, (i, lo, hi, r)

log2_poly = [float((-1) ** (k + 1) / (k * mpmath.log(2))) for k in range(7, 0, -1)]
exp2_tab = [float(mpmath.power(2, mpmath.mpf(j) / 16)) for j in range(16)]
exp2_poly = [float(mpmath.log(2) ** k / mpmath.factorial(k)) for k in range(5, -1, -1)]


def show(name, vs):
    print(f"{name} = [")
    for v in vs:
        print(f"    {v!r},")
    print("]")


show("POW_INVC", invc)
show("POW_LOGC", logc)
show("POW_LOG2_POLY", log2_poly)
show("POW_EXP2_TABLE", exp2_tab)
show("POW_EXP2_POLY", exp2_poly)
