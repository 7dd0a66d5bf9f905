#!/usr/bin/env python3
"""Side-by-side timings of ndx against NumPy, numexpr and Numba on the same workloads, in the
same run, single-threaded. Writes a markdown table of medians and ratios to
benches/results.md, or benches/results_<sections>.md when sections are named (copy the
table into BENCHMARKS.md when recording numbers).

    python3 benches/compare.py            # builds nothing: run `cargo build --release -p ndx-cli` first
    python3 benches/compare.py fused      # only the fused elementwise/reduction workloads
    python3 benches/compare.py kernels    # only the kernel workloads (issue 5): loops vs Numba
    python3 benches/compare.py contract   # only the contraction workloads (matmul, einsum)
    python3 benches/compare.py scan       # only the scans (cumsum) of issue 2
    python3 benches/compare.py axes       # reductions along outer axes and over matrices
    python3 benches/compare.py math       # each math function over 1M f32 and f64 (mathfns.ndx)

Creates benches/.venv (numpy, numexpr, numba) on first use and re-runs itself inside it.
"""

import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")

THREAD_VARS = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"]


def ensure_venv():
    if os.environ.get("NDX_BENCH_CHILD") == "1":
        return
    if not os.path.exists(PY):
        print("creating", VENV, flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([PY, "-m", "pip", "install", "-q", "numpy", "numexpr", "numba", "threadpoolctl"])
    env = dict(os.environ, NDX_BENCH_CHILD="1")
    for v in THREAD_VARS:
        env[v] = "1"
    # Numba runs single-threaded (numba.set_num_threads(1)) except in the 2-thread prange rows.
    env["NUMBA_NUM_THREADS"] = "2"
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
    def nb_gelu_erf(x, out):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = f32(0.5) * v * (f32(1.0) + math.erf(v * f32(0.70710678)))

    @numba.njit
    def nb_exp(x, out):
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i])

    @numba.njit
    def nb_softmax(x, out):
        for i in range(x.shape[0]):
            m = x[i, 0]
            for j in range(x.shape[1]):
                m = max(m, x[i, j])
            s = f32(0.0)
            for j in range(x.shape[1]):
                e = np.exp(x[i, j] - m)
                out[i, j] = e
                s += e
            for j in range(x.shape[1]):
                out[i, j] = out[i, j] / s

    @numba.njit(fastmath=True)
    def nb_layernorm(x, g, b, out):
        n = x.shape[1]
        for i in range(x.shape[0]):
            s = f32(0.0)
            for j in range(n):
                s += x[i, j]
            mu = s / f32(n)
            v = f32(0.0)
            for j in range(n):
                d = x[i, j] - mu
                v += d * d
            var = v / f32(n)
            for j in range(n):
                out[i, j] = (x[i, j] - mu) / np.sqrt(var + f32(1e-5)) * g[j] + b[j]

    @numba.njit(fastmath=True)
    def nb_rmsnorm(x, g, out):
        n = x.shape[1]
        for i in range(x.shape[0]):
            s = f32(0.0)
            for j in range(n):
                s += x[i, j] * x[i, j]
            r = np.sqrt(s / f32(n) + f32(1e-6))
            for j in range(n):
                out[i, j] = x[i, j] / r * g[j]

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

    def rmsnorm(v, g):
        return v / np.sqrt((v * v).mean(axis=-1, keepdims=True) + f32(1e-6)) * g

    compile_times = {}

    def first_call(name, f):
        t0 = time.perf_counter()
        f()
        compile_times[name] = time.perf_counter() - t0

    first_call("axpy", lambda: nb_axpy(x, y2, y))
    first_call("sum", lambda: nb_sum(x))
    first_call("gelu", lambda: nb_gelu(x, y))
    first_call("gelu_pow", lambda: nb_gelu_pow(x, y))
    first_call("gelu_erf", lambda: nb_gelu_erf(x, y))
    first_call("exp", lambda: nb_exp(x, y))
    ys = np.empty_like(xs)
    yl = np.empty_like(xl)
    first_call("softmax", lambda: nb_softmax(xs, ys))
    first_call("layernorm", lambda: nb_layernorm(xl, gl, bl, yl))
    first_call("rmsnorm", lambda: nb_rmsnorm(xl, gl, yl))

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
    # gelu's erf form (PyTorch's default): NumPy and numexpr have no erf.
    res["gelu_erf"] = {"Numba": median_time(lambda: nb_gelu_erf(x, y), 5)}
    res["exp"] = {
        "NumPy": median_time(lambda: np.exp(x, out=y), 10),
        "numexpr": median_time(lambda: ne.evaluate("exp(x)", local_dict={"x": x}, out=y, casting="same_kind"), 10),
        "Numba": median_time(lambda: nb_exp(x, y), 10),
    }
    # The same in f64 (NumPy's default dtype).
    x64 = x.astype(np.float64)
    y64 = np.empty_like(x64)
    first_call("exp_f64", lambda: nb_exp(x64, y64))
    res["exp_f64"] = {
        "NumPy": median_time(lambda: np.exp(x64, out=y64), 10),
        "numexpr": median_time(lambda: ne.evaluate("exp(x)", local_dict={"x": x64}, out=y64, casting="same_kind"), 10),
        "Numba": median_time(lambda: nb_exp(x64, y64), 10),
    }
    res["softmax"] = {"NumPy": median_time(lambda: softmax(xs), 5), "Numba": median_time(lambda: nb_softmax(xs, ys), 5)}
    # Numba's layernorm with fastmath (issue 3's peer): one row at a time, three loops.
    res["layernorm"] = {
        "NumPy": median_time(lambda: layernorm(xl, gl, bl), 5),
        "Numba": median_time(lambda: nb_layernorm(xl, gl, bl, yl), 10),
    }
    # RMSNorm: not an issue target; Numba with fastmath as for layernorm.
    res["rmsnorm"] = {
        "NumPy": median_time(lambda: rmsnorm(xl, gl), 5),
        "Numba": median_time(lambda: nb_rmsnorm(xl, gl, yl), 10),
    }
    res["sum"] = {"NumPy": median_time(lambda: np.sum(x), 20), "Numba": median_time(lambda: nb_sum(x), 20)}
    res["std"] = {"NumPy": median_time(lambda: np.std(x), 10), "Numba": median_time(lambda: nb_std(x), 10)}
    res["transpose"] = {
        "NumPy": median_time(lambda: np.ascontiguousarray(at.T), 5),
        "Numba": median_time(lambda: nb_transpose(at, ot), 5),
    }
    return res, compile_times


MANDEL = (-2.0, 1.0, -1.5, 1.5, 100)


def kernel_peers():
    """Issue 5's workloads: explicit loops against Numba's @njit, and NumPy's vectorised form."""
    import numpy as np
    import numba

    numba.set_num_threads(1)

    @numba.njit
    def nb_mandel(out, x0, x1, y0, y1, max_iter):
        h, w = out.shape
        for i in range(h):
            for j in range(w):
                cx = x0 + (x1 - x0) * j / w
                cy = y0 + (y1 - y0) * i / h
                zx = 0.0
                zy = 0.0
                n = 0
                while n < max_iter and zx * zx + zy * zy <= 4.0:
                    t = zx * zx - zy * zy + cx
                    zy = 2.0 * zx * zy + cy
                    zx = t
                    n += 1
                out[i, j] = n

    @numba.njit(parallel=True)
    def nb_mandel_par(out, x0, x1, y0, y1, max_iter):
        h, w = out.shape
        for i in numba.prange(h):
            for j in range(w):
                cx = x0 + (x1 - x0) * j / w
                cy = y0 + (y1 - y0) * i / h
                zx = 0.0
                zy = 0.0
                n = 0
                while n < max_iter and zx * zx + zy * zy <= 4.0:
                    t = zx * zx - zy * zy + cx
                    zy = 2.0 * zx * zy + cy
                    zx = t
                    n += 1
                out[i, j] = n

    def np_mandel(h, w, x0, x1, y0, y1, max_iter):
        cx = (x0 + (x1 - x0) * np.arange(w) / w)[None, :]
        cy = (y0 + (y1 - y0) * np.arange(h) / h)[:, None]
        c = cx + 1j * cy
        z = np.zeros((h, w), dtype=complex)
        n = np.zeros((h, w), dtype=np.int32)
        for _ in range(max_iter):
            live = np.abs(z) <= 2.0
            z[live] = z[live] * z[live] + c[live]
            n += live
        return n

    @numba.njit
    def nb_pi(n):
        inside = 0
        for _ in range(n):
            x = np.random.random()
            y = np.random.random()
            if x * x + y * y <= 1.0:
                inside += 1
        return 4.0 * inside / n

    rng = np.random.default_rng(0)

    def np_pi(n):
        x = rng.random(n)
        y = rng.random(n)
        return 4.0 * np.count_nonzero(x * x + y * y <= 1.0) / n

    img = np.zeros((1000, 1000), dtype=np.int32)
    compile_times = {}
    t0 = time.perf_counter()
    nb_mandel(img, *MANDEL)
    compile_times["mandelbrot"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nb_pi(10)
    compile_times["mc_pi"] = time.perf_counter() - t0
    res = {}
    mandel = median_time(lambda: nb_mandel(img, *MANDEL), 7)
    res["mandelbrot"] = {"NumPy": median_time(lambda: np_mandel(1000, 1000, *MANDEL), 3), "Numba": mandel}
    res["mandelbrot_nocheck"] = {"Numba": mandel}
    numba.set_num_threads(2)
    nb_mandel_par(img, *MANDEL)
    res["mandelbrot_2threads"] = {"Numba": median_time(lambda: nb_mandel_par(img, *MANDEL), 7)}
    numba.set_num_threads(1)
    res["mc_pi"] = {"NumPy": median_time(lambda: np_pi(10_000_000), 5), "Numba": median_time(lambda: nb_pi(10_000_000), 5)}
    res["kernel_compile"] = {"Numba": compile_times["mandelbrot"]}
    res["cold_start"] = cold_starts()
    return res, compile_times


def wall(cmd, reps=7):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def cold_starts():
    """Whole-process time of a 100x100 mandelbrot: Python importing NumPy and running the
    vectorised version, and Python with Numba compiling and running the loop (ndx's own row
    times `ndx run benches/ndx/mandelbrot_cold.ndx`)."""
    np_src = "import numpy as np\nz=np.zeros((100,100),complex)\nc=(np.linspace(-2,1,100)[None,:]+1j*np.linspace(-1.5,1.5,100)[:,None])\nn=np.zeros((100,100),np.int32)\nfor _ in range(100):\n    m=np.abs(z)<=2\n    z[m]=z[m]*z[m]+c[m]\n    n+=m\nprint(n.sum())"
    nb_src = (
        "import numba, numpy as np\n@numba.njit\ndef f(out):\n    for i in range(100):\n        for j in range(100):\n"
        "            cx=-2.0+3.0*j/100; cy=-1.5+3.0*i/100; zx=0.0; zy=0.0; n=0\n"
        "            while n<100 and zx*zx+zy*zy<=4.0:\n                t=zx*zx-zy*zy+cx; zy=2.0*zx*zy+cy; zx=t; n+=1\n"
        "            out[i,j]=n\no=np.zeros((100,100),np.int32)\nf(o)\nprint(o.sum())"
    )
    return {"NumPy": wall([sys.executable, "-c", np_src]), "Numba": wall([sys.executable, "-c", nb_src], 3)}
def contract_peers():
    """NumPy's side of the contraction workloads: matmul through its BLAS (one thread, and two
    through threadpoolctl), einsum with optimize=True (its BLAS-backed path)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    f32, f64 = np.float32, np.float64
    res = {}
    for dt, tag in [(f32, "f32"), (f64, "f64")]:
        a = rng.random((1024, 1024)).astype(dt)
        b = rng.random((1024, 1024)).astype(dt)
        for t in (1, 2):
            with threadpool_limits(limits=t, user_api="blas"):
                res[f"matmul_{tag}_{t}t"] = {"NumPy": median_time(lambda: a @ b, 10)}
    x = rng.random((64, 128, 256), dtype=f32)
    y = rng.random((256, 64), dtype=f32)
    res["einsum_ijk_kl"] = {"NumPy": median_time(lambda: np.einsum("ijk,kl->ijl", x, y, optimize=True), 10)}
    q = rng.random((8, 12, 128, 64), dtype=f32)
    k = rng.random((8, 12, 128, 64), dtype=f32)
    res["einsum_attn"] = {"NumPy": median_time(lambda: np.einsum("bhtd,bhkd->bhtk", q, k, optimize=True), 10)}
    c1 = rng.random((1000, 10), dtype=f32)
    c2 = rng.random((10, 1000), dtype=f32)
    c3 = rng.random((1000, 1000), dtype=f32)
    res["einsum_chain"] = {"NumPy": median_time(lambda: np.einsum("ij,jk,kl->il", c1, c2, c3, optimize=True), 10)}
    res["einsum_ijk_kl_il"] = {"NumPy": median_time(lambda: np.einsum("ijk,kl->il", x, y, optimize=True), 10)}
    # Epilogue fusion (issue 4): NumPy makes three passes over the (4096, 512) result.
    xr = rng.random((4096, 768), dtype=f32)
    wr = rng.random((768, 512), dtype=f32) - f32(0.5)
    br = rng.random(512, dtype=f32) - f32(0.5)
    with threadpool_limits(limits=1, user_api="blas"):
        t = median_time(lambda: np.maximum(xr @ wr + br, 0), 10)
    res["matmul_relu"] = {"NumPy": t}
    res["matmul_relu_unfused"] = {"NumPy": t}
    t1 = rng.random((3, 3))
    t2 = rng.random((3, 3))
    res["einsum_tiny"] = {"NumPy": median_time(lambda: np.einsum("ij,jk->ik", t1, t2, optimize=True), 2000)}
    return res


def scan_peers():
    """The scan workloads (`cumsum`, issue 2): NumPy's `cumsum` (an `add.accumulate`) on a
    flat vector and down the rows of a matrix, and the same as a Numba loop."""
    import numpy as np
    import numba

    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.random(10_000_000, dtype=f32)
    m = rng.random((4096, 1024), dtype=f32)

    @numba.njit
    def nb_cumsum(x, out):
        acc = f32(0.0)
        for i in range(x.shape[0]):
            acc += x[i]
            out[i] = acc

    @numba.njit
    def nb_cumsum0(m, out):
        for j in range(m.shape[1]):
            out[0, j] = m[0, j] * f32(2.0)
        for i in range(1, m.shape[0]):
            for j in range(m.shape[1]):
                out[i, j] = out[i - 1, j] + m[i, j] * f32(2.0)

    ox = np.empty_like(x)
    om = np.empty_like(m)
    nb_cumsum(x, ox)
    nb_cumsum0(m, om)
    return {
        "cumsum": {"NumPy": median_time(lambda: np.cumsum(x), 10), "Numba": median_time(lambda: nb_cumsum(x, ox), 10)},
        "cumsum_axis0": {
            "NumPy": median_time(lambda: np.cumsum(m * f32(2.0), axis=0), 10),
            "Numba": median_time(lambda: nb_cumsum0(m, om), 10),
        },
    }


def axes_peers():
    """Reductions along outer axes and over whole matrices (NumPy's reductions, and Numba
    loops that add or compare each row into the output row), a batched transpose, and the
    index of each row's maximum (a classifier's prediction)."""
    import numpy as np
    import numba

    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    f32 = np.float32
    m = rng.random((4096, 1024), dtype=f32)
    c = rng.random((64, 128, 256), dtype=f32)
    tb = rng.random((64, 512, 512), dtype=f32)

    @numba.njit
    def nb_sum0(m, out):
        out[:] = m[0]
        for i in range(1, m.shape[0]):
            for j in range(m.shape[1]):
                out[j] += m[i, j]

    @numba.njit
    def nb_max0(m, out):
        out[:] = m[0]
        for i in range(1, m.shape[0]):
            for j in range(m.shape[1]):
                out[j] = max(out[j], m[i, j])

    @numba.njit
    def nb_sum_all(m):
        s = f32(0.0)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                s += m[i, j]
        return s

    @numba.njit
    def nb_mean1(c, out):
        for a in range(c.shape[0]):
            out[a, :] = c[a, 0]
            for i in range(1, c.shape[1]):
                for j in range(c.shape[2]):
                    out[a, j] += c[a, i, j]
            for j in range(c.shape[2]):
                out[a, j] /= c.shape[1]

    @numba.njit
    def nb_argmax1(m, out):
        for i in range(m.shape[0]):
            best = 0
            for j in range(1, m.shape[1]):
                if m[i, j] > m[i, best]:
                    best = j
            out[i] = best

    o0 = np.empty(1024, dtype=f32)
    o1 = np.empty((64, 256), dtype=f32)
    oa = np.empty(4096, dtype=np.int64)
    nb_sum0(m, o0)
    nb_max0(m, o0)
    nb_sum_all(m)
    nb_mean1(c, o1)
    nb_argmax1(m, oa)
    return {
        "sum_axis0": {"NumPy": median_time(lambda: m.sum(axis=0), 20), "Numba": median_time(lambda: nb_sum0(m, o0), 20)},
        "max_axis0": {"NumPy": median_time(lambda: m.max(axis=0), 20), "Numba": median_time(lambda: nb_max0(m, o0), 20)},
        "sum_2d": {"NumPy": median_time(lambda: m.sum(), 20), "Numba": median_time(lambda: nb_sum_all(m), 20)},
        "mean_axis1_3d": {"NumPy": median_time(lambda: c.mean(axis=1), 20), "Numba": median_time(lambda: nb_mean1(c, o1), 20)},
        "transpose_batch": {"NumPy": median_time(lambda: np.ascontiguousarray(tb.transpose(0, 2, 1)), 5)},
        "argmax_rows": {"NumPy": median_time(lambda: m.argmax(axis=1), 20), "Numba": median_time(lambda: nb_argmax1(m, oa), 20)},
    }


# The math functions of benches/ndx/mathfns.ndx, with the argument each one takes there.
MATH_ARGS = [
    ("exp", "a"), ("exp2", "a"), ("expm1", "a"), ("log", "p"), ("log2", "p"), ("log10", "p"),
    ("log1p", "p"), ("sin", "w"), ("cos", "w"), ("tan", "w"), ("arcsin", "u"), ("arccos", "u"),
    ("arctan", "w"), ("sinh", "a"), ("cosh", "a"), ("tanh", "a"), ("erf", "a"), ("cbrt", "w"),
    ("pow", "pa"), ("arctan2", "ap"),
]


def math_peers():
    """NumPy's time for each function of mathfns.ndx, on arrays drawn as there (1M elements),
    into a preallocated output. NumPy has no erf."""
    import numpy as np

    n = 1_000_000
    rng = np.random.default_rng(1)
    out = {}
    for dt in ("f32", "f64"):
        t = np.float32 if dt == "f32" else np.float64
        v = {
            "a": (rng.random(n) * 4 - 2).astype(t),
            "p": (rng.random(n) * 4 + 0.01).astype(t),
            "u": (rng.random(n) * 2 - 1).astype(t),
            "w": (rng.random(n) * 200 - 100).astype(t),
        }
        y = np.empty(n, dtype=t)
        for fn, arg in MATH_ARGS:
            if fn == "pow":
                f = lambda: np.power(v["p"], v["a"], out=y)
            elif fn == "arctan2":
                f = lambda: np.arctan2(v["a"], v["p"], out=y)
            elif hasattr(np, fn):
                g, x = getattr(np, fn), v[arg]
                f = lambda g=g, x=x: g(x, out=y)
            else:
                out[f"{fn}_{dt}"] = {}
                continue
            out[f"{fn}_{dt}"] = {"NumPy": median_time(f, 10)}
    return out


def math_ndx():
    """ndx's time for each function of mathfns.ndx (one run of the script; it prints
    nanoseconds per element over 1M elements)."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    exe = os.path.join(target, "release", "ndx")
    p = subprocess.run([exe, "run", os.path.join(HERE, "ndx", "mathfns.ndx")], capture_output=True, text=True)
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "FN":
            out[f"{parts[1]}_{parts[2]}"] = float(parts[3]) * 1e-3
    return out


def ndx_times(names):
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    exe = os.path.join(target, "release", "ndx")
    out = {}
    for name in names:
        script = os.path.join(HERE, "ndx", name + ".ndx")
        if not os.path.exists(exe):
            out[name] = "not built"
            continue
        if not os.path.exists(script) and name != "cold_start":
            out[name] = "no script"
            continue
        if name == "cold_start":
            out[name] = wall([exe, "run", os.path.join(HERE, "ndx", "mandelbrot_cold.ndx")])
            continue
        with open(script) as f:
            first = f.readline()
        flags = first.split(":", 1)[1].split() if first.startswith("# ndx-flags:") else []
        p = subprocess.run([exe, "run"] + flags + [script], capture_output=True, text=True)
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
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
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

    sections = sys.argv[1:] or ["fused", "scan", "contract", "axes", "kernels", "math"]
    res, compile_times = {}, {}
    if "fused" in sections:
        r, c = peers()
        res.update(r)
        compile_times.update(c)
    if "contract" in sections:
        res.update(contract_peers())
    if "scan" in sections:
        res.update(scan_peers())
    if "axes" in sections:
        res.update(axes_peers())
    if "kernels" in sections:
        r, c = kernel_peers()
        res.update(r)
        compile_times.update(c)
    math = {}
    if "math" in sections:
        math = math_peers()
    nd = ndx_times(list(res))
    if math:
        res.update(math)
        nd.update(math_ndx())
    cols = ["NumPy", "numexpr", "Numba"]
    lines = [
        f"Machine: {machine()}; NumPy {np.__version__}; single thread unless the name says `2t`; medians.",
        f"Command: `python3 benches/compare.py{''.join(' ' + x for x in sys.argv[1:])}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
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
    if compile_times:
        lines.append("")
        lines.append("Numba first-call (compile) times: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in compile_times.items()))
    text = "\n".join(lines)
    print(text)
    out_name = "results.md" if not sys.argv[1:] else "results_" + "_".join(sys.argv[1:]) + ".md"
    with open(os.path.join(HERE, out_name), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
