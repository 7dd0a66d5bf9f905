#!/usr/bin/env python3
"""Per-kernel compile times of the fused kernels of the benchmark scripts (issue 3, item 4).

Runs `ndx explain` on every fused-workload script in benches/ndx/ (each in its own process, so
each includes the first, colder compile of a process) and collects the `code: compiled in X ms`
line of every fused kernel it compiled; prints each script's times, then the count, median,
90th percentile and maximum. The target is a median under 1 ms.

    cargo build --release -p ndx-cli && python3 benches/compile_times.py

The binary is $CARGO_TARGET_DIR/release/ndx (default: target/release/ndx).
"""

import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCRIPTS = [
    "memcpy", "axpy", "axpy_alloc", "axpy_2threads", "bias_add", "outer_sum", "gelu", "gelu_pow",
    "exp", "softmax", "layernorm", "sum", "std", "transpose", "mathfns",
]
FUSED = re.compile(r"^kernel \d+: fused")
COMPILED = re.compile(r"code: compiled in ([0-9.]+) ms")


def fused_compile_times(exe, script):
    """Compile times in ms of the fused kernels `ndx explain` reports for one script."""
    out = subprocess.run([exe, "explain", script], capture_output=True, text=True, check=True).stdout
    times, fused = [], False
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("kernel "):
            fused = bool(FUSED.match(line))
        m = COMPILED.search(line)
        if m and fused:
            times.append(float(m.group(1)))
    return times


def main():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    exe = os.path.join(target, "release", "ndx")
    if not os.path.exists(exe):
        sys.exit(f"{exe} not found: run `cargo build --release -p ndx-cli` first")
    every = []
    for name in SCRIPTS:
        script = os.path.join(HERE, "ndx", name + ".ndx")
        if not os.path.exists(script):
            continue
        t = fused_compile_times(exe, script)
        every += t
        print(f"{name:14} {len(t):3} kernels: " + ", ".join(f"{x:.2f}" for x in t) + " ms")
    every.sort()
    if not every:
        sys.exit("no fused kernel was compiled")
    p90 = every[min(len(every) - 1, int(0.9 * len(every)))]
    print(
        f"fused kernels: {len(every)}; compile time median {statistics.median(every):.2f} ms, "
        f"90th percentile {p90:.2f} ms, max {every[-1]:.2f} ms (target: median < 1 ms)"
    )


if __name__ == "__main__":
    main()
