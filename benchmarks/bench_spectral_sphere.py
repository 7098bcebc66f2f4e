"""Benchmarks for kexue_lib.spectral_sphere (run by benchmarks/run.py).

One ``steepest_direction`` (10 multiplier updates) in units of one msign call, with msign by
Newton–Schulz (1024×1024) and by the SVD (512×256), float32, labelled with the device kind; and
the post's "spectral normalisation by power iteration is cheap next to msign": the normalisation
of one sphere step, ``‖W − ηΦ‖₂`` by power iteration to the relative residual ``√eps`` of float32,
in units of one Newton–Schulz msign, with the number of power steps it took (it grows as the gap
``1 − σ₂/σ₁`` shrinks, and Gaussian matrices have small gaps).
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
    w = jax.random.normal(k1, (1024, 1024), dtype=jnp.float32)
    w = w / jnp.linalg.norm(w, 2)
    g = jax.random.normal(k2, (1024, 1024), dtype=jnp.float32)
    phi = polar.msign(g, "newton_schulz")
    step = w - 1e-2 * phi
    tol = float(jnp.finfo(jnp.float32).eps) ** 0.5
    t_power = best_time(lambda: polar.power_iteration(step, 5000, tol).sigma, repeat=3)
    t_msign = best_time(lambda: polar.msign(g, "newton_schulz"), repeat=3)
    power = polar.power_iteration(step, 5000, tol)
    rows.append(row(f"spectral normalisation by power iteration / one msign 1024x1024 float32 [{kind}]",
                    t_power / t_msign, "msign",
                    f"{int(power.iterations)} power steps to residual {tol:.1e}; "
                    f"{t_power * 1e3:.1f} ms vs {t_msign * 1e3:.1f} ms"))
    return rows
