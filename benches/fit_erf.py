#!/usr/bin/env python3
"""Fits the two polynomials of the native f32 `erf` (crates/ndx-codegen/src/vmath/f32_ext.rs).

erf(x) = x (c0 + t P(t)), t = x^2, on |x| < 0.75 (ERF_SMALL, degree 4), and
erf(x) = 1 - exp(Q(x)) on [0.75, 3.92] (ERF_LARGE, degree 8: Q fits ln(erfc(x)) weighted by
erfc(x), the error it makes in erf, refined by a few Lawson reweightings). Weighted least
squares on Chebyshev nodes with NumPy; the reference is Python's math.erf/erfc (double). The
script also simulates the f32 evaluation (each step rounded to f32) and prints the largest
error in f32 ULP; the exhaustive check (`exhaustive_f32 -- erf`) is the real test.

Run: benches/.venv/bin/python benches/fit_erf.py  (NumPy only; not needed by the tests)
"""
import math

import numpy as np

F32 = np.float32


def r32(v):
    return np.asarray(v, dtype=np.float64).astype(F32).astype(np.float64)


def fma32(a, b, c):
    return r32(np.asarray(a) * np.asarray(b) + np.asarray(c))


def fit(xs, ys, ws, deg):
    v = np.vander(xs, deg + 1)
    c, *_ = np.linalg.lstsq(v * ws[:, None], ys * ws, rcond=None)
    return c


def horner32(c, t):
    u = np.full_like(t, float(F32(c[0])))
    for ci in c[1:]:
        u = fma32(u, t, float(F32(ci)))
    return u


def ulp32(v):
    return np.spacing(np.abs(v).astype(F32)).astype(np.float64)


def cheb(lo, hi, n=20000):
    return np.cos(np.linspace(0, math.pi, n)) * (hi - lo) / 2 + (hi + lo) / 2


SPLIT, TOP = 0.75, 3.92
C0 = 2 / math.sqrt(math.pi)
C0_HI = float(F32(C0))


def small():
    x = cheb(0, SPLIT)
    x = x[x > 1e-3]
    t = x * x
    y = np.array([(math.erf(v) / v - C0) / (v * v) for v in x])
    c = fit(t, y, np.abs(t / y), 4)
    xs = r32(np.linspace(1e-4, SPLIT, 400001))
    ts = r32(xs * xs)
    s = fma32(xs, r32(ts * horner32(c, ts)), r32(xs * (C0 - C0_HI)))
    r = fma32(xs, C0_HI, s)
    ref = np.array([math.erf(v) for v in xs])
    return c, np.max(np.abs(r - ref) / ulp32(ref))


def large():
    x = cheb(SPLIT, TOP)
    y = np.array([math.log(math.erfc(v)) for v in x])
    e = np.array([math.erfc(v) for v in x])
    w = e.copy()
    for _ in range(30):
        c = fit(x, y, w, 8)
        res = np.abs(np.polyval(c, x) - y) * e
        w = w * (res / res.max() + 1e-3) ** 0.5
    xs = r32(np.linspace(SPLIT, TOP, 400001))
    r = r32(1 - r32(np.exp(horner32(c, xs))))
    ref = np.array([math.erf(v) for v in xs])
    return c, np.max(np.abs(r - ref) / ulp32(ref))


for name, (c, err) in (("ERF_SMALL", small()), ("ERF_LARGE", large())):
    print(f"{name} (simulated max {err:.2f} ULP):")
    for v in c:
        print(f"    {float(F32(v))!r},")
