"""Benchmarks for kexue_lib.mclip (run by benchmarks/run.py).

Rows, each labelled with the device kind (so CPU and GPU runs can sit in one table):

* mclip of a 4096×1024 float32 matrix by the odd formula (11059 (12)) with 5 Polar Express
  Newton–Schulz steps per msign, against the exact SVD clip: both times and their ratio, with
  the matrix products each uses (``mclip.matmul_cost``) and the accuracy of the formula (the
  spectral-norm distance to the SVD clip);
* the same for the de-nested formula (11059 (10)), whose second msign acts on the 1024×1024
  Gram matrix.

The test matrix is Gaussian, scaled to spectral norm about 2, so that its singular values lie
on both sides of 1 (from about 0.67 to 2).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from kexue_lib import mclip, polar
from kexue_lib.book.benchmark import Row, best_time, row


def benchmarks() -> list[Row]:
    kind = jax.devices()[0].device_kind
    n, m, steps = 4096, 1024, 5
    a = jax.random.normal(jax.random.key(0), (n, m), dtype=jnp.float32) * (2.0 / (n**0.5 + m**0.5))
    ns = functools.partial(polar.msign, method="newton_schulz", steps=steps, coeffs="polar_express")
    exact = mclip.mclip(a)
    t_svd = best_time(lambda: mclip.mclip(a), repeat=3)
    svd_cost = mclip.matmul_cost("svd", n, m)
    shape = f"{n}x{m} float32 [{kind}]"
    rows = [row(f"mclip SVD {shape}", t_svd * 1e3, "ms",
                f"one SVD + {svd_cost.products} product ({svd_cost.flops / 1e9:.1f} Gflop)")]
    for method, label in (("odd", "(12) odd"), ("denested", "(10) de-nested")):
        t = best_time(lambda method=method: mclip.mclip(a, method=method, msign=ns), repeat=3)
        cost = mclip.matmul_cost(method, n, m, steps)
        err = float(mclip.spectral_error(mclip.mclip(a, method=method, msign=ns), exact))
        rows += [
            row(f"mclip {label}, PE-{steps} {shape}", t * 1e3, "ms",
                f"{cost.products} products ({cost.flops / 1e9:.1f} Gflop), "
                f"‖· − SVD clip‖₂ {err:.1e}"),
            row(f"mclip SVD / {label} PE-{steps} time {shape}", t_svd / t, "x"),
        ]
    return rows
