"""Small statistics helpers shared by the chapters: Monte Carlo means and their checks, power laws.

Every Monte Carlo claim in the book is a mean with its standard error, :func:`mean_se`, and an
assertion that it lies within ``k`` standard errors of what it should be,
:func:`assert_within_se`. The standard error is always ``std(ddof=1)/√N`` (the unbiased sample
variance), and ``k = 4`` by default: a correct claim then fails with probability 6·10⁻⁵
(two-sided, normal), so a failure means the claim, not bad luck.
"""

from __future__ import annotations

import math

import numpy as np
from jax.typing import ArrayLike

from kexue_lib import validate

__all__ = ["assert_within_se", "loglog_slope", "mean_se"]

SIDES = ("both", "below", "above")


def mean_se(samples: ArrayLike, axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The sample mean and its standard error ``std(ddof=1)/√N`` along ``axis`` (all entries: None).

    Computed in float64 with NumPy. Needs at least two samples along ``axis``, all finite.
    Returns NumPy scalars (``axis=None``) or arrays.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("samples must be an array of at least 2 values, got a scalar")
    if axis is not None:
        axis = validate.integer("axis", axis, minimum=-x.ndim, maximum=x.ndim - 1)
    count = x.size if axis is None else x.shape[axis]
    if count < 2:
        raise ValueError(f"a standard error needs at least 2 samples, got {count}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must have only finite entries")
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / math.sqrt(count)


def assert_within_se(
    value: ArrayLike,
    expected: ArrayLike,
    se: ArrayLike,
    *,
    k: float = 4.0,
    side: str = "both",
    what: str = "Monte Carlo estimate",
) -> None:
    """Assert that ``value`` lies within ``k`` standard errors ``se`` of ``expected`` (elementwise).

    ``side="both"``: ``|value − expected| ≤ k·se``; ``"below"``: ``value ≤ expected + k·se`` (a
    bound that the estimate must not exceed); ``"above"``: ``value ≥ expected − k·se``. Arrays
    broadcast. Raises ``AssertionError`` naming ``what``, the worst entry and its distance in
    standard errors; ``ValueError`` for a negative or non-finite ``se`` or ``k``.
    """
    k = validate.real("k", k, positive=True)
    validate.choice("side", side, SIDES)
    v, e, s = (np.asarray(a, dtype=np.float64) for a in (value, expected, se))
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("se must be finite and >= 0")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(e))):
        raise AssertionError(f"{what}: value or expected is not finite ({v!r} vs {e!r})")
    diff = v - e
    excess = {"both": np.abs(diff), "below": diff, "above": -diff}[side]
    bad = excess > k * s
    if np.any(bad):
        v_b, e_b, s_b, d_b = np.broadcast_arrays(v, e, s, excess)
        i = np.unravel_index(np.argmax(np.where(s_b > 0, d_b / np.where(s_b > 0, s_b, 1), np.inf)), d_b.shape)
        rule = {"both": "|value − expected|", "below": "value − expected", "above": "expected − value"}[side]
        where = f" at index {tuple(int(j) for j in i)}" if v_b.ndim else ""
        raise AssertionError(
            f"{what}{where}: {rule} = {float(d_b[i]):.6g} exceeds {k:g} standard errors "
            f"({k:g} × {float(s_b[i]):.6g}); value {float(v_b[i]):.8g}, expected {float(e_b[i]):.8g}"
        )


def loglog_slope(x: ArrayLike, y: ArrayLike) -> float:
    """The least-squares slope of ``log y`` against ``log x``: the exponent ``p`` in ``y ∝ x^p``.

    Both must be 1-D, of the same length (at least 2), positive and finite.
    """
    # NumPy float64 throughout (validate.array would go through JAX, float32 without x64).
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or ys.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {xs.shape} and {ys.shape}")
    validate.same_shape("x", xs, "y", ys)
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("x and y must have only finite entries")
    if xs.size < 2:
        raise ValueError(f"x and y need at least 2 points, got {xs.size}")
    if np.any(xs <= 0) or np.any(ys <= 0):
        raise ValueError("x and y must be positive (their logarithms are fitted)")
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])
