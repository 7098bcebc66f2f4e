"""Benchmarks of kexue_lib.rounding: bfloat16 rounding by bit operations against XLA's own cast.

``rd.round_to_bf16`` rounds float32 values by integer operations on their bits and returns
float32 (so that no later cast can undo it); the baseline is the plain, jitted
``x.astype(jnp.bfloat16)``, which returns bfloat16 and writes half the bytes; a second baseline,
``x.astype(jnp.bfloat16).astype(jnp.float32)``, moves the same bytes as the kernel. Each mode is
timed on the same 10**7 float32 values and reported as a time and as ratios to both baselines,
measured in the same run. The stochastic mode also draws 10**7 random 16-bit integers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kexue_lib import rounding as rd
from kexue_lib.book.benchmark import Row, best_time, row

SIZE = 10**7


def benchmarks() -> list[Row]:
    x = jax.random.normal(jax.random.key(0), (SIZE,), jnp.float32)
    key = jax.random.key(1)
    cast = jax.jit(lambda v: v.astype(jnp.bfloat16))
    round_trip = jax.jit(lambda v: v.astype(jnp.bfloat16).astype(jnp.float32))
    t_cast = best_time(lambda: cast(x))
    t_trip = best_time(lambda: round_trip(x))
    rows = [row("astype(jnp.bfloat16), 1e7 float32 values", t_cast * 1e3, "ms", "baseline"),
            row("astype(jnp.bfloat16).astype(jnp.float32), 1e7 values", t_trip * 1e3, "ms",
                "baseline with float32 out")]
    for mode in rd.MODES:
        k = key if mode == "stochastic" else None
        t_mode = best_time(lambda mode=mode, k=k: rd.round_to_bf16(x, mode, key=k))
        rows += [
            row(f"round_to_bf16 {mode}, 1e7 float32 values", t_mode * 1e3, "ms"),
            row(f"round_to_bf16 {mode} / astype(jnp.bfloat16)", t_mode / t_cast, "x",
                "float32 out: twice the bytes written"),
            row(f"round_to_bf16 {mode} / cast and back to float32", t_mode / t_trip, "x",
                "the same bytes"),
        ]
    return rows
