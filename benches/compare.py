#!/usr/bin/env python3
"""Side-by-side timings of ndx against NumPy, numexpr and Numba on the same workloads, in the
same run, single-threaded. Writes a markdown table of medians and ratios to
benches/results.md (copy the table into BENCHMARKS.md when recording numbers).

    python3 benches/compare.py            # builds nothing: run `cargo build --release -p ndx-cli` first

Creates benches/.venv (numpy, numexpr, numba) on first use and re-runs itself inside it.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")

THREAD_VARS = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"]


def ensure_venv():
    if os.environ.get("NDX_BENCH_CHILD") == "1":
        return
    if not os.path.exists(PY):
        print("creating", VENV, flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([PY, "-m", "pip", "install", "-q", "numpy", "numexpr", "numba"])
    env = dict(os.environ, NDX_BENCH_CHILD="1")
    for v in THREAD_VARS:
        env[v] = "1"
    # Older OpenBLAS builds need these on some CPUs; they slow a current NumPy, so the
    # benchmark child runs without them (tests and CI keep them).
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    sys.exit(subprocess.call([PY, os.path.abspath(__file__)] + sys.argv[1:], env=env))


def median_time(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def peers():
    import numpy as np
    import numexpr as ne
    import numba

    ne.set_num_threads(1)
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    f32 = np.float32
    n = 10_000_000
    x = rng.random(n, dtype=f32)
    y2 = rng.random(n, dtype=f32)
    y = np.empty_like(x)

    @numba.njit
    def nb_axpy(x, y2, out):
        for i in range(x.shape[0]):
            out[i] = f32(2.5) * x[i] + y2[i]

    @numba.njit(fastmath=True)
    def nb_sum(x):
        s = f32(0.0)
        for i in range(x.shape[0]):
            s += x[i]
        return s

    @numba.njit(fastmath=True)
    def nb_std(x):
        m = x.mean()
        s = 0.0
        for i in range(x.shape[0]):
            d = x[i] - m
            s += d * d
        return np.sqrt(s / x.shape[0])

    @numba.njit
    def nb_gelu(x, out):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = f32(0.5) * v * (f32(1.0) + np.tanh(f32(0.7978845608) * (v + f32(0.044715) * v * v * v)))

    @numba.njit
    def nb_gelu_pow(x, out):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = f32(0.5) * v * (f32(1.0) + np.tanh(f32(0.7978845608) * (v + f32(0.044715) * v**3)))

    @numba.njit
    def nb_exp(x, out):
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i])

    @numba.njit(fastmath=True)
    def nb_outer(a, b):
        s = f32(0.0)
        for i in range(a.shape[0]):
            for j in range(b.shape[0]):
                s += a[i] * b[j]
        return s

    @numba.njit
    def nb_transpose(a, out):
        n = a.shape[0]
        bs = 64
        for i0 in range(0, n, bs):
            for j0 in range(0, n, bs):
                for i in range(i0, min(i0 + bs, n)):
                    for j in range(j0, min(j0 + bs, n)):
                        out[j, i] = a[i, j]

    xb = rng.random((4096, 768), dtype=f32)
    bb = rng.random(768, dtype=f32)
    yb = np.empty_like(xb)
    a1 = rng.random(10_000, dtype=f32)
    b1 = rng.random(10_000, dtype=f32)
    xs = rng.random((4096, 1024), dtype=f32)
    xl = rng.random((4096, 768), dtype=f32)
    gl = rng.random(768, dtype=f32)
    bl = rng.random(768, dtype=f32)
    at = rng.random((4096, 4096), dtype=f32)
    ot = np.empty_like(at)

    def softmax(v):
        e = np.exp(v - v.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def layernorm(v, g, b):
        mu = v.mean(axis=-1, keepdims=True)
        var = ((v - mu) ** 2).mean(axis=-1, keepdims=True)
        return (v - mu) / np.sqrt(var + f32(1e-5)) * g + b

    compile_times = {}

    def first_call(name, f):
        t0 = time.perf_counter()
        f()
        compile_times[name] = time.perf_counter() - t0

    first_call("axpy", lambda: nb_axpy(x, y2, y))
    first_call("sum", lambda: nb_sum(x))
    first_call("gelu", lambda: nb_gelu(x, y))
    first_call("gelu_pow", lambda: nb_gelu_pow(x, y))
    first_call("exp", lambda: nb_exp(x, y))

    res = {}
    res["memcpy"] = {"NumPy": median_time(lambda: np.copyto(y, x), 20)}
    res["axpy"] = {
        "NumPy": median_time(lambda: np.add(np.multiply(f32(2.5), x, out=y), y2, out=y), 20),
        "numexpr": median_time(lambda: ne.evaluate("2.5 * x + y2", local_dict={"x": x, "y2": y2}, out=y, casting="same_kind"), 20),
        "Numba": median_time(lambda: nb_axpy(x, y2, y), 20),
    }
    res["axpy_alloc"] = {"NumPy": median_time(lambda: 2.5 * x + y2, 20)}
    # ndx on two threads against the same single-threaded peers (issue 3's scaling target).
    res["axpy_2threads"] = dict(res["axpy"])
    res["bias_add"] = {"NumPy": median_time(lambda: np.add(xb, bb, out=yb), 20)}
    res["outer_sum"] = {
        "NumPy": median_time(lambda: np.sum(a1[:, None] * b1[None, :]), 5),
        "numexpr": median_time(lambda: ne.evaluate("sum(a * b)", local_dict={"a": a1[:, None], "b": b1[None, :]}), 5),
        "Numba": median_time(lambda: nb_outer(a1, b1), 5),
    }
    res["gelu"] = {
        "NumPy": median_time(lambda: 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x))), 5),
        "numexpr": median_time(lambda: ne.evaluate("0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * x * x * x)))", local_dict={"x": x}), 5),
        "Numba": median_time(lambda: nb_gelu(x, y), 5),
    }
    res["gelu_pow"] = {
        "NumPy": median_time(lambda: 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))), 5),
        "numexpr": median_time(lambda: ne.evaluate("0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * x**3)))", local_dict={"x": x}), 5),
        "Numba": median_time(lambda: nb_gelu_pow(x, y), 5),
    }
    res["exp"] = {
        "NumPy": median_time(lambda: np.exp(x, out=y), 10),
        "numexpr": median_time(lambda: ne.evaluate("exp(x)", local_dict={"x": x}, out=y, casting="same_kind"), 10),
        "Numba": median_time(lambda: nb_exp(x, y), 10),
    }
    res["softmax"] = {"NumPy": median_time(lambda: softmax(xs), 5)}
    res["layernorm"] = {"NumPy": median_time(lambda: layernorm(xl, gl, bl), 5)}
    res["sum"] = {"NumPy": median_time(lambda: np.sum(x), 20), "Numba": median_time(lambda: nb_sum(x), 20)}
    res["std"] = {"NumPy": median_time(lambda: np.std(x), 10), "Numba": median_time(lambda: nb_std(x), 10)}
    res["transpose"] = {
        "NumPy": median_time(lambda: np.ascontiguousarray(at.T), 5),
        "Numba": median_time(lambda: nb_transpose(at, ot), 5),
    }
    return res, compile_times


def ndx_times(names):
    exe = os.path.join(ROOT, "target", "release", "ndx")
    out = {}
    for name in names:
        script = os.path.join(HERE, "ndx", name + ".ndx")
        if not os.path.exists(exe):
            out[name] = "not built"
            continue
        if not os.path.exists(script):
            out[name] = "no script"
            continue
        p = subprocess.run([exe, "run", script], capture_output=True, text=True)
        value = None
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "RESULT" and parts[1] == name:
                value = float(parts[2])
        out[name] = value if (p.returncode == 0 and value is not None) else "failed: " + p.stderr.strip()[:200]
    return out


def fmt(t):
    if isinstance(t, str) or t is None:
        return t or "-"
    return f"{t * 1e3:.2f} ms"


def machine():
    model, cores = "unknown CPU", os.cpu_count()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {cores} cores"


def main():
    ensure_venv()
    import numpy as np

    res, compile_times = peers()
    nd = ndx_times(list(res))
    cols = ["NumPy", "numexpr", "Numba"]
    lines = [
        f"Machine: {machine()}; NumPy {np.__version__}; single thread; medians.",
        f"Command: `python3 benches/compare.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        "| workload | ndx | NumPy | numexpr | Numba | NumPy/ndx | numexpr/ndx | Numba/ndx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, peers_t in res.items():
        n = nd.get(name)
        row = [name, fmt(n)] + [fmt(peers_t.get(c)) for c in cols]
        for c in cols:
            p = peers_t.get(c)
            row.append(f"{p / n:.2f}x" if isinstance(n, float) and p else "-")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Numba first-call (compile) times: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in compile_times.items()))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
