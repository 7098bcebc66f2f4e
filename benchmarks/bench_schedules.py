"""Benchmarks of kexue_lib.schedules: the bound (10) at T = 10⁶ and the exact minimiser at T = 1000."""

from __future__ import annotations

import jax
import numpy as np

from kexue_lib import schedules as sch
from kexue_lib.book.benchmark import Row, best_time, row


def benchmarks() -> list[Row]:
    eta = np.random.default_rng(0).uniform(0.0, 1.0, 1_000_000)
    big = sch.linear_decay(1_000_000)
    rows = [
        row("schedules: last_iterate_bound, T = 10⁶", best_time(lambda: sch.last_iterate_bound(eta)), "s",
            "O(T) reversed cumulative sums, float64, validation included"),
        row("schedules: bound_value_and_grad, T = 10⁶", best_time(lambda: sch.bound_value_and_grad(big)), "s",
            "value and exact gradient (JAX autodiff)"),
        row("schedules: optimal_schedule(1000)", best_time(lambda: sch.optimal_schedule(1000)), "s",
            "exact: closed-form backward recursion (issue asks <= 10 s)"),
        row("schedules: optimal_schedule(10⁶)", best_time(lambda: sch.optimal_schedule(1_000_000)), "s",
            "exact, O(T)"),
        row("schedules: minimise_bound_numerically(1000)",
            best_time(lambda: sch.minimise_bound_numerically(1000), repeat=2), "s",
            "independent check: L-BFGS-B over log η with JAX gradients"),
    ]
    key = jax.random.key(0)
    etas = np.stack([sch.linear_decay(3000, 0.03), sch.constant_schedule(3000, 0.03)])
    rows.append(row("schedules: simulate_sgd_abs, 2 schedules × 2000 paths × T = 3000",
                    best_time(lambda: sch.simulate_sgd_abs(key, etas, n_paths=2000), repeat=2), "s",
                    "vmap over paths, while loop over steps"))
    return rows
