"""Small statistics helpers shared by the chapters."""

from __future__ import annotations

from typing import Any

import numpy as np

from kexue_lib import validate


def loglog_slope(x: Any, y: Any) -> float:
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
