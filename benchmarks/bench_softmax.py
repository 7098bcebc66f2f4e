"""Benchmarks for kexue_lib.softmax: entropy kernel throughput, the closed-form optimum, vertices.

Run with ``python benchmarks/run.py softmax``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath

from kexue_lib import softmax as smx
from kexue_lib.book.benchmark import Row, best_time, row


def benchmarks() -> list[Row]:
    rows: list[Row] = []
    for dtype in (jnp.float32, jnp.bfloat16):
        batch, n = 4096, 1024
        logits = jax.random.normal(jax.random.key(0), (batch, n), dtype) * 3
        seconds = best_time(lambda x=logits: smx.entropy(x))
        rows.append(row(f"entropy, {batch} x {n} logits, {jnp.dtype(dtype).name}", batch * n / seconds / 1e6,
                        "M/s", f"{seconds * 1e3:.2f} ms per call, incl. validation"))
    # the jitted kernel alone (what a caller inside jit pays), float32
    logits = jax.random.normal(jax.random.key(1), (4096, 1024), jnp.float32)
    seconds = best_time(lambda: smx._entropy_jit(logits))
    rows.append(row("entropy kernel only (jitted), 4096 x 1024 float32", 4096 * 1024 / seconds / 1e6, "M/s",
                    f"{seconds * 1e3:.2f} ms per call; the difference is the finiteness check"))
    for dps in (15, 50):
        with mpmath.workdps(dps):
            seconds = best_time(lambda: smx.min_entropy_gap(1), repeat=20)
        rows.append(row(f"min_entropy_gap(1) at {dps} digits", seconds * 1e6, "us"))
    for n in (10, 10**6, 10**12):
        seconds = best_time(lambda n=n: smx.min_entropy_vertex(n, 1.0), repeat=20)
        rows.append(row(f"min_entropy_vertex(n = {n:.0e}, beta = 1)", seconds * 1e6, "us",
                        "O(1) in n: only the integers next to n (1 - t*) are evaluated"))
    seconds = best_time(lambda: smx.beta_for_entropy_floor(4096, 0.1 * float(mpmath.log(4096))), repeat=5)
    rows.append(row("beta_for_entropy_floor(4096, 0.1 log n), Brent to rtol 1e-12", seconds * 1e3, "ms"))
    ns = [2**k for k in range(4, 15)]
    seconds = best_time(lambda: smx.noisy_attention_errors(jax.random.key(2), ns, d=2, trials=256), repeat=3)
    rows.append(row("noisy_attention_errors, 256 trials, n = 16 ... 16384, d = 2", seconds * 1e3, "ms",
                    "one configuration of the chapter's Monte Carlo (trials in chunks of 8)"))
    err, spread = smx.noisy_attention_errors(jax.random.key(3), ns, d=2, trials=256)
    seconds = best_time(lambda: smx.error_exponent(ns, err, window=(1024, 16384), reference=spread))
    rows.append(row("error_exponent, 256 trials x 5 lengths, with a reference", seconds * 1e6, "us",
                    "delta-method standard error"))
    seconds = best_time(lambda: smx.projected_gradient_min_entropy(jax.random.key(3), 8, 1.0, starts=512,
                                                                   steps=300), repeat=3)
    rows.append(row("projected_gradient_min_entropy, 512 starts x 300 steps, n = 8", seconds * 1e3, "ms"))
    return rows
