"""Benchmarks for kexue_lib.spectral_sphere (run by benchmarks/run.py).

One ``steepest_direction`` (10 multiplier updates) in units of one msign call, with msign by
Newton–Schulz (1024×1024) and by the SVD (512×256), float32, labelled with the device kind.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kexue_lib import polar
from kexue_lib import spectral_sphere as ss
from kexue_lib.book.benchmark import Row, best_time, row


def benchmarks() -> list[Row]:
    kind = jax.devices()[0].device_kind
    rows: list[Row] = []
    key = jax.random.key(0)
    k1, k2 = jax.random.split(key)
    for n, m, method in ((1024, 1024, "newton_schulz"), (512, 256, "svd")):
        w = jax.random.normal(k1, (n, m), dtype=jnp.float32)
        w = w / jnp.linalg.norm(w, 2)
        g = jax.random.normal(k2, (n, m), dtype=jnp.float32)
        theta = ss.normal_basis(w)
        kwargs = {"method": method, "coeffs": "polar_express"} if method == "newton_schulz" else {}
        t_dir = best_time(lambda w=w, g=g, theta=theta, kwargs=kwargs:
                          ss.solve_fixed_point(g, theta, 10, **kwargs).phi, repeat=3)
        one = (lambda g=g: polar.msign(g, "newton_schulz")) if method == "newton_schulz" else (
            lambda g=g: polar.msign(g))
        t_one = best_time(one, repeat=3)
        rows.append(row(f"steepest_direction (10 updates, {method}) {n}x{m} float32 [{kind}]",
                        t_dir / t_one, "msign", f"{t_dir * 1e3:.1f} ms; one msign {t_one * 1e3:.1f} ms"))
    return rows
