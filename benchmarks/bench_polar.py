"""Benchmarks for kexue_lib.polar (run by benchmarks/run.py).

Rows, each labelled with the device kind (so CPU and GPU runs can sit in one table):

* msign by Newton–Schulz (Polar Express, 8 steps) against the exact SVD at 1024×1024 and
  4096×1024 in float32: both times, their ratio, and the achieved accuracy side by side
  (worst singular-value error of the result, and its relative Frobenius distance to the SVD's).
* the same Newton–Schulz in bfloat16 at 1024×1024;
* power iteration (100 steps) against one msign: the post's "cheap next to msign".

Gaussian test matrices have singular values down to ~0 (square) or ~√n−√m (tall); Polar Express
is tuned for σ_min/‖M‖_F ≥ 10⁻³, so its worst error on the square case is large by design.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kexue_lib import polar
from kexue_lib.book.benchmark import Row, best_time, row


def _accuracy(out: jax.Array, exact: jax.Array) -> tuple[float, float]:
    """Worst |σ_i − 1| of ``out`` and ‖out − exact‖_F/‖exact‖_F, in float32."""
    out32, exact32 = out.astype(jnp.float32), exact.astype(jnp.float32)
    sv = jnp.linalg.svd(out32, compute_uv=False)
    worst = float(jnp.max(jnp.abs(sv - 1)))
    return worst, float(jnp.linalg.norm(out32 - exact32) / jnp.linalg.norm(exact32))


def benchmarks() -> list[Row]:
    kind = jax.devices()[0].device_kind
    rows: list[Row] = []
    key = jax.random.key(0)
    for n, m in ((1024, 1024), (4096, 1024)):
        a = jax.random.normal(key, (n, m), dtype=jnp.float32)
        t_svd = best_time(lambda a=a: polar.msign(a), repeat=3)
        t_ns = best_time(lambda a=a: polar.msign(a, "newton_schulz"), repeat=3)
        exact, approx = polar.msign(a), polar.msign(a, "newton_schulz")
        svd_worst, _ = _accuracy(exact, exact)
        ns_worst, ns_rel = _accuracy(approx, exact)
        shape = f"{n}x{m} float32 [{kind}]"
        rows += [
            row(f"msign SVD {shape}", t_svd * 1e3, "ms", f"worst |σ-1| {svd_worst:.1e}"),
            row(f"msign Newton-Schulz PE-8 {shape}", t_ns * 1e3, "ms",
                f"worst |σ-1| {ns_worst:.1e}, rel. F-distance to SVD {ns_rel:.1e}"),
            row(f"msign SVD / Newton-Schulz time {shape}", t_svd / t_ns, "x"),
        ]
    a = jax.random.normal(key, (1024, 1024), dtype=jnp.float32)
    b16 = a.astype(jnp.bfloat16)
    t_b16 = best_time(lambda: polar.msign(b16, "newton_schulz"), repeat=3)
    worst, rel = _accuracy(polar.msign(b16, "newton_schulz"), polar.msign(a))
    rows.append(row(f"msign Newton-Schulz PE-8 1024x1024 bfloat16 [{kind}]", t_b16 * 1e3, "ms",
                    f"worst |σ-1| {worst:.1e}, rel. F-distance to SVD {rel:.1e}"))

    # The post: power iteration is cheap next to msign. 100 steps, no early stop.
    w = a / jnp.linalg.norm(a, 2)
    t_ns = best_time(lambda: polar.msign(a, "newton_schulz"), repeat=3)
    t_pow = best_time(lambda: polar.top_singular_triplet(w, iters=100, tol=1e-30), repeat=3)
    rows.append(row(f"power iteration (100 steps) / msign NS 1024x1024 float32 [{kind}]", t_pow / t_ns, "x",
                    f"{t_pow * 1e3:.1f} ms vs {t_ns * 1e3:.1f} ms"))

    return rows
