"""Benchmarks of kexue_lib.gaussian_max: the post's JAX snippet against the book's kernels.

The post (kexue.fm/archives/11390) estimates the bfloat16 duplicate-maximum probability with a
Python loop over batches of 10000 rows, drawing all ``n`` normals of every row. The book has two
kernels for the same event: ``duplicate_max_bruteforce`` (the same whole-row experiment, jitted
and chunked) and ``duplicate_max_mc`` (only the top two order statistics per row, cost
independent of ``n``). Every estimator here is a mean of one Bernoulli indicator per row, so equal
rows means equal statistical precision and the time ratios below compare like with like. The
snippet runs only on sizes where it finishes in seconds; its time for the issue's target
(n = 65536, 10**6 rows) is extrapolated from its measured rate.

Also timed: ``expected_max`` to 15 digits and ``duplicate_max_probability``, both at n = 2**20
(the issue asks for under one second each); ``duplicate_max_probabilities`` over every n from 2 to
2**20 in one call, against the log-space ``duplicate_max_probability`` called once per n (its
per-call time measured on a sample of n and multiplied by the 2**20 - 1 calls); the exact
integer crossing ``expected_max_crossing(4)``; and the enumeration of every output of
``jax.random.normal`` in float32 behind ``duplicate_max_probability_jax``.
"""

from __future__ import annotations

import jax
import numpy as np

from kexue_lib import gaussian_max as gm
from kexue_lib.book.benchmark import Row, best_time, row


def post_snippet(n: int, T: int = 100, seed: int = 42) -> jax.Array:
    """The post's ``proba_of_multi_max``, as published (batches of 10000 rows, eager JAX)."""
    p, key = 0, jax.random.key(seed)
    for _ in range(T):
        key, subkey = jax.random.split(key)
        logits = jax.random.normal(subkey, (10000, n)).astype("bfloat16")
        p += ((logits == logits.max(axis=1, keepdims=True)).sum(axis=1) > 1).mean()
    return p / T


def benchmarks() -> list[Row]:
    rows: list[Row] = []
    key = jax.random.key(0)
    rate = float("nan")  # the snippet's normals per second, measured at n = 4096
    # (n, batches of 10000 rows): sizes where the snippet takes about a second
    for n, batches in ((128, 10), (4096, 1)):
        n_rows = 10_000 * batches
        t_post = best_time(lambda n=n, b=batches: post_snippet(n, b), repeat=2)
        t_brute = best_time(lambda n=n, r=n_rows: gm.duplicate_max_bruteforce(key, n, r, chunk_rows=2000),
                            repeat=2)
        t_order = best_time(lambda n=n, r=n_rows: gm.duplicate_max_mc(key, n, r), repeat=3)
        tag = f"n={n}, {n_rows} rows"
        rows += [
            row(f"post snippet, {tag}", t_post, "s", "eager loop over 10000-row batches"),
            row(f"book brute force (jit), {tag}", t_brute, "s", "same whole-row experiment"),
            row(f"book order statistics, {tag}", t_order, "s", "top two per row"),
            row(f"speed-up brute force vs post, {tag}", t_post / t_brute, "x"),
            row(f"speed-up order statistics vs post, {tag}", t_post / t_order, "x"),
        ]
        if n == 4096:
            rate = n * n_rows / t_post
            rows.append(row("post snippet rate", rate / 1e6, "M/s", "normals per second, n=4096"))
    t_post_target = 65536 * 1e6 / rate
    t_target = best_time(lambda: gm.duplicate_max_mc(key, 65536, 1_000_000), repeat=3)
    rows += [
        row("post snippet, n=65536, 1e6 rows (extrapolated)", t_post_target, "s", "from its measured rate"),
        row("book order statistics, n=65536, 1e6 rows", t_target, "s", "issue: at most 10 s"),
        row("speed-up order statistics vs post, n=65536, 1e6 rows", t_post_target / t_target, "x",
            "post extrapolated"),
    ]
    t_attention = best_time(lambda: gm.attention_duplicate_one_mc(key, 65536, 1_000_000), repeat=3)
    rows.append(row("book attention sampler, n=65536, 1e6 rows", t_attention, "s"))

    # exact quantities: the first call of duplicate_max_probability also builds the bf16 bin table
    gm._BINS = None
    t_cold = best_time(lambda: gm.duplicate_max_probability(2**20), repeat=1, warmup=0)
    rows.append(row("duplicate_max_probability(2^20), first call", t_cold, "s", "issue: under 1 s"))
    rows.append(row("duplicate_max_probability(2^20)", best_time(lambda: gm.duplicate_max_probability(2**20)),
                    "s", "bin table cached"))
    for n in (2, 4096, 2**20):
        t_e = best_time(lambda n=n: gm.expected_max(n, dps=15), repeat=3)
        rows.append(row(f"expected_max({n}, dps=15)", t_e, "s", "issue: under 1 s"))
    t_att_exact = best_time(lambda: gm.attention_duplicate_one_probability(2**20), repeat=3)
    rows.append(row("attention_duplicate_one_probability(2^20)", t_att_exact, "s"))

    # every n at once, against one log-space sum per n (baseline timed on a sample of n)
    every = np.arange(2, 2**20 + 1)
    t_all = best_time(lambda: gm.duplicate_max_probabilities(every), repeat=2)
    sample = [int(k) for k in np.unique(np.geomspace(2, 2**20, 64).astype(int))]
    t_one = best_time(lambda: [gm.duplicate_max_probability(k) for k in sample], repeat=2) / len(sample)
    t_loop = t_one * every.size
    rows += [
        row("duplicate_max_probabilities, every n in [2, 2^20]", t_all, "s", "one call"),
        row("duplicate_max_probability once per n (extrapolated)", t_loop, "s",
            f"{len(sample)} n timed, times {every.size}"),
        row("speed-up every-n vs per-n", t_loop / t_all, "x", "baseline extrapolated"),
        row("expected_max_crossing(4)", best_time(lambda: gm.expected_max_crossing(4), repeat=1),
            "s", "exact integer search, 20 digits"),
    ]
    gm._JAX_OUTPUTS = gm._JAX_BINS = None
    t_enum = best_time(lambda: gm.duplicate_max_probability_jax(4096), repeat=1, warmup=0)
    rows += [
        row("duplicate_max_probability_jax(4096), first call", t_enum, "s",
            "enumerates 2^23 float32 normals"),
        row("duplicate_max_probability_jax(2^20)", best_time(lambda: gm.duplicate_max_probability_jax(2**20)),
            "s", "sampler's law cached"),
    ]
    return rows
