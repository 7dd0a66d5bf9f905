"""Errors of ndx's f64 math functions in ULPs against a 120-bit reference (mpmath).

    benches/.venv/bin/python benches/ulp_reference.py [--points N] [fn ...]

Runs `target/release/ndx` (build it first: `cargo build --release`) on N arguments (half
uniform in [-1.5, 1.5], half in [-40, 40]; for `arcsin` and `arccos` uniform in [-1, 1]; for
the logarithms their absolute values), once on whole arrays (the 512-bit code) and once in statements of
500 elements (the JIT's f64x2 code), checks that both give the same bits, and prints per
function the largest error in ULPs of the correctly rounded result and a histogram in half-ULP
bins. `tests/vmath.rs` compares against the system's libm, which is itself up to 1-2 ULP off
for some of these (glibc's `tanh`); this script does not depend on it. Runs in the virtual
environment `benches/compare.py` creates (NumPy), and installs mpmath there when missing.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

try:
    import mpmath
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "mpmath"])
    import mpmath

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
mpmath.mp.prec = 120
MP = {
    "arcsin": mpmath.asin,
    "arccos": mpmath.acos,
    "arctan": mpmath.atan,
    "log2": lambda v: mpmath.log(v, 2),
    "exp2": lambda v: mpmath.power(2, v),
    "cbrt": lambda v: mpmath.sign(v) * mpmath.cbrt(abs(v)),
}
POSITIVE = ["log", "log2", "log10", "log1p"]
ARG = {**{f: "xl" for f in POSITIVE}, "arcsin": "xu", "arccos": "xu"}


def exact(name, x):
    return MP.get(name, getattr(mpmath, name, None))(mpmath.mpf(float(x)))


def script(fns, chunked):
    lines = ['let x = load("x.npy")', 'let xu = load("u.npy")', "let xl = abs(x) + 1e-300"]
    for f in fns:
        arg = ARG.get(f, "x")
        if chunked:
            lines.append(f"let y_{f} = zeros(x.size)")
            lines.append("for i in range(x.size // 500) {")
            lines.append("    let lo = i * 500")
            lines.append(f"    y_{f}[lo:lo + 500] = {f}({arg}[lo:lo + 500])")
            lines.append("}")
        else:
            lines.append(f"let y_{f} = {f}({arg})")
        lines.append(f'save("{f}_{int(chunked)}.npy", y_{f})')
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200_000)
    default = ["expm1", "sinh", "tanh", "exp", "cosh", "log", "arcsin", "arccos"]
    # Also: log2 log10 log1p arctan cbrt sin cos tan exp2.
    ap.add_argument("fns", nargs="*", default=default)
    a = ap.parse_args()
    n = a.points // 1000 * 1000
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-1.5, 1.5, n // 2), rng.uniform(-40, 40, n // 2)])
    u = rng.uniform(-1, 1, n)
    ndx = os.path.join(ROOT, "target", "release", "ndx")
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "u.npy"), u)
        for chunked in (False, True):
            path = os.path.join(d, f"run{int(chunked)}.ndx")
            with open(path, "w") as f:
                f.write(script(a.fns, chunked))
            subprocess.run([ndx, "run", path], check=True)
        for f in a.fns:
            wide = np.load(os.path.join(d, f"{f}_0.npy"))
            jit = np.load(os.path.join(d, f"{f}_1.npy"))
            differ = int((wide.view(np.int64) != jit.view(np.int64)).sum())
            arg = {"xl": np.abs(x) + 1e-300, "xu": u}.get(ARG.get(f), x)
            worst, at, hist = 0.0, 0.0, {}
            for xv, yv in zip(arg, wide):
                t = exact(f, xv)
                ulp = math.ulp(float(t))
                err = float(abs(mpmath.mpf(float(yv)) - t)) / ulp
                hist[int(err * 2) / 2] = hist.get(int(err * 2) / 2, 0) + 1
                if err > worst:
                    worst, at = err, xv
            bins = ", ".join(f"[{k}, {k + 0.5}): {v}" for k, v in sorted(hist.items()))
            print(f"{f}: max {worst:.3f} ULP at {at!r}; JIT/512-bit bits differ at {differ}; {bins}")


if __name__ == "__main__":
    sys.exit(main())
