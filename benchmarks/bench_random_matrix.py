"""Benchmarks of kexue_lib.random_matrix: E‖W‖₂ of a 4096 × 1024 Gaussian matrix, three ways.

The target (issue 15): the mean spectral norm to a standard error of 1e-3 relative. A pilot run
of the chi bidiagonal sampler measures the spread of ‖W‖₂ and so the number of samples that
target needs; each method is then timed on that many samples (compilation excluded by a warm-up
call): the chi bidiagonal model (exact in law for Gaussian entries), Golub–Kahan–Lanczos on
each full matrix, and the baseline, a full SVD of each matrix (timed on a few samples, its rate
extrapolated). Ratios are against the baseline measured in the same run.

Also timed: ``tracy_widom_mean()`` from a cold cache (the issue asks for at most 1 s).
"""

from __future__ import annotations

import math

import jax

from kexue_lib import random_matrix as rm
from kexue_lib import stats
from kexue_lib.book.benchmark import Row, best_time, row

N, M = 4096, 1024


def benchmarks() -> list[Row]:
    key = jax.random.key(0)
    pilot = rm.singular_value_samples(key, N, M, 400)
    mean, se = stats.mean_se(pilot)
    needed = math.ceil(len(pilot) * (se / (1e-3 * mean)) ** 2)  # samples for s.e. = 1e-3 mean
    shape = f"{N}x{M}, {needed} samples (s.e. 1e-3 relative)"
    t_bid = best_time(lambda: rm.singular_value_samples(key, N, M, needed), repeat=3)
    # Lanczos to 1e-4 relative (a tenth of the target standard error), 80 steps
    t_lan = best_time(lambda: rm.singular_value_samples(key, N, M, needed, method="lanczos",
                                                        steps=80, rtol=1e-4), repeat=1)
    few = min(needed, 3)
    t_svd_few = best_time(lambda: rm.singular_value_samples(key, N, M, few, method="svd"),
                          repeat=1)
    t_svd = t_svd_few * needed / few
    rows = [
        row("E||W||_2 pilot spread (sd/mean)", float(se * math.sqrt(len(pilot)) / mean), "",
            "400 chi-bidiagonal samples"),
        row(f"chi bidiagonal, {shape}", t_bid, "s"),
        row(f"Lanczos (80 steps), {shape}", t_lan, "s"),
        row(f"full SVD, {shape}", t_svd, "s", f"extrapolated from {few} samples"),
        row("chi bidiagonal rate", needed / t_bid, "1/s", "samples per second"),
        row("Lanczos rate", needed / t_lan, "1/s", "samples per second"),
        row("full SVD rate", few / t_svd_few, "1/s", "samples per second"),
        row("speed-up chi bidiagonal vs full SVD", t_svd / t_bid, "x"),
        row("speed-up Lanczos vs full SVD", t_svd / t_lan, "x"),
    ]

    def cold_tw_mean() -> float:
        rm._tw_moments.cache_clear()
        return rm.tracy_widom_mean(1)

    rows.append(row("tracy_widom_mean(1), cold cache", best_time(cold_tw_mean, repeat=3,
                                                                 warmup=0), "s",
                    "issue: at most 1 s"))
    return rows
