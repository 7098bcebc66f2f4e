"""Benchmarks for kexue_lib.polar (run by benchmarks/run.py).

Rows, each labelled with the device kind (so CPU and GPU runs can sit in one table):

* msign of a 4096×1024 float32 Gaussian matrix by the SVD, by five Polar Express steps, by
  five steps of Jordan's quintic, and by optax's Newton–Schulz (``optax.contrib`` Muon's
  ``orthogonalize_via_newton_schulz``, Jordan's coefficients, five steps): each time, its ratio
  to the SVD's, and its error against the float64 SVD (worst ``|σ − 1|`` of the result and its
  relative Frobenius distance to the exact polar factor). Jordan's quintic is not meant to
  converge (its singular values end in a band around 1), so its error is large by design;
* msign by Newton–Schulz (Polar Express, 8 steps) against the exact SVD at 1024×1024 in
  float32 and in bfloat16;
* power iteration (100 steps) against one msign: the Muon post's "cheap next to msign";
* ``optimal_odd_polynomial(9, 1e-3, 1)`` (the Remez exchange, 40 digits; the Newton–Schulz
  chapter asks for at most 1 s) and the whole Polar Express recursion (8 quintic steps).

Gaussian test matrices have singular values down to ~0 (square) or ~√n − √m (tall); Polar
Express is tuned for σ_min/‖M‖_F ≥ 10⁻³, so its worst error on the square case is large by
design.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from optax.contrib import _muon as optax_muon

from kexue_lib import minimax, polar
from kexue_lib.book.benchmark import Row, best_time, row


def _accuracy(out: jax.Array, exact64: np.ndarray) -> tuple[float, float]:
    """Worst |σ_i − 1| of ``out`` and ‖out − exact‖_F/‖exact‖_F, both in float64 (NumPy)."""
    out64 = np.asarray(out.astype(jnp.float32), dtype=np.float64)
    sv = np.linalg.svd(out64, compute_uv=False)
    return float(np.max(np.abs(sv - 1))), float(np.linalg.norm(out64 - exact64) / np.linalg.norm(exact64))


def _exact_polar(a: jax.Array) -> np.ndarray:
    """The polar factor of ``a`` by a float64 SVD (NumPy)."""
    u, _s, vt = np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)
    return u @ vt


def _wall(fn: Callable[[], object]) -> float:
    """Seconds of one call (Python, no JAX): best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def benchmarks() -> list[Row]:
    kind = jax.devices()[0].device_kind
    rows: list[Row] = []
    key = jax.random.key(0)

    # msign of a 4096×1024 float32 matrix: SVD, Polar Express (5), Jordan (5), optax (5)
    n, m = 4096, 1024
    a = jax.random.normal(key, (n, m), dtype=jnp.float32)
    exact64 = _exact_polar(a)
    jordan = jnp.asarray(polar.SCHEDULES["jordan"].coeffs[0], dtype=jnp.float32)
    optax_ns = jax.jit(functools.partial(optax_muon.orthogonalize_via_newton_schulz, ns_coeffs=jordan,
                                         ns_steps=5, preconditioning="frobenius"))
    candidates = {
        "SVD (float32)": lambda: polar.msign(a),
        "Polar Express, 5 steps": lambda: polar.msign(a, "newton_schulz", 5, "polar_express"),
        "Jordan, 5 steps": lambda: polar.msign(a, "newton_schulz", 5, "jordan"),
        "optax Newton-Schulz (Jordan), 5 steps, jitted": lambda: optax_ns(a),
    }
    shape = f"{n}x{m} float32 [{kind}]"
    times = {}
    for label, fn in candidates.items():
        times[label] = best_time(fn, repeat=3)
        worst, rel = _accuracy(fn(), exact64)
        rows.append(row(f"msign {label} {shape}", times[label] * 1e3, "ms",
                        f"vs float64 SVD: worst |σ-1| {worst:.1e}, rel. F-distance {rel:.1e}"))
    for label in list(candidates)[1:]:
        rows.append(row(f"msign SVD time / {label} time {shape}", times["SVD (float32)"] / times[label],
                        "x"))

    # Polar Express, 8 steps, against the SVD at 1024×1024 (float32 and bfloat16)
    b = jax.random.normal(key, (1024, 1024), dtype=jnp.float32)
    exact_b = _exact_polar(b)
    t_svd = best_time(lambda: polar.msign(b), repeat=3)
    for dtype in (jnp.float32, jnp.bfloat16):
        x = b.astype(dtype)
        t_ns = best_time(lambda x=x: polar.msign(x, "newton_schulz"), repeat=3)
        worst, rel = _accuracy(polar.msign(x, "newton_schulz"), exact_b)
        label = f"1024x1024 {jnp.dtype(dtype).name} [{kind}]"
        rows.append(row(f"msign Newton-Schulz PE-8 {label}", t_ns * 1e3, "ms",
                        f"worst |σ-1| {worst:.1e}, rel. F-distance to SVD {rel:.1e}"))
        rows.append(row(f"msign SVD (float32) / Newton-Schulz PE-8 time {label}", t_svd / t_ns, "x"))

    # The Muon post: power iteration is cheap next to msign. 100 steps, no early stop.
    w = b / jnp.linalg.norm(b, 2)
    t_ns = best_time(lambda: polar.msign(b, "newton_schulz"), repeat=3)
    t_pow = best_time(lambda: polar.top_singular_triplet(w, iters=100, tol=1e-30), repeat=3)
    rows.append(row(f"power iteration (100 steps) / msign NS 1024x1024 float32 [{kind}]", t_pow / t_ns, "x",
                    f"{t_pow * 1e3:.1f} ms vs {t_ns * 1e3:.1f} ms"))

    # The Remez solver behind the schedules (mpmath, CPU)
    run = minimax.remez(lambda x: 1, 9, "0.001", 1, parity="odd", dps=40)
    t_deg9 = _wall(lambda: polar.optimal_odd_polynomial(9, 1e-3, 1))
    rows.append(row("optimal_odd_polynomial(9, 1e-3, 1), 40 digits", t_deg9 * 1e3, "ms",
                    f"{run.iterations} exchanges; the chapter asks for at most 1000 ms"))
    t_pe = _wall(lambda: polar.polar_express_schedule(1e-3, 8))
    rows.append(row("polar_express_schedule(1e-3, 8), quintics, 40 digits", t_pe * 1e3, "ms",
                    "8 Remez solves and recentrings"))
    return rows
