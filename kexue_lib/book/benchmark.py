"""Timing helpers for ``make bench`` (speed claims live in benchmarks, never in tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypedDict

import jax

from kexue_lib import validate


class Row(TypedDict):
    """One line of the benchmark table."""

    benchmark: str
    value: float
    unit: str
    note: str


def row(benchmark: str, value: float, unit: str, note: str = "") -> Row:
    """A benchmark row; ``value`` is a time in ``unit`` or a ratio (unit ``"x"``)."""
    return Row(benchmark=benchmark, value=float(value), unit=unit, note=note)


def best_time(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1) -> float:
    """Best wall time in seconds of ``fn()`` over ``repeat`` runs, after ``warmup`` untimed runs.

    JAX results are waited for (:func:`jax.block_until_ready`), so asynchronous dispatch does not
    hide the work; the first call (compilation) is excluded by ``warmup``.
    """
    repeat = validate.integer("repeat", repeat, minimum=1)
    warmup = validate.integer("warmup", warmup, minimum=0)
    for _ in range(warmup):
        jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best
