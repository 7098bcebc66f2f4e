"""Argument checks shared by the kernels.

Every public function of :mod:`kexue_lib` validates its input with these helpers, so that a
wrong shape, dtype or range fails early with a ``ValueError`` that names the argument and says
what was expected, instead of a shape error deep inside a jitted function.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python ``int``, checking it is an integer within ``[minimum, maximum]``.

    Booleans and floats (even integral ones such as ``3.0``) are rejected: a float where a count
    is expected is usually a bug at the call site.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a Python ``float``, checking it is a real number (finite by default).

    ``positive`` requires ``value > 0``, ``nonnegative`` requires ``value >= 0``. Accepts Python
    numbers, NumPy/JAX scalars and 0-d arrays, and ``mpmath.mpf`` (converted to ``float``).
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if finite and not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    return x


def choice(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Return ``value``, checking it is one of ``options`` (for string-valued mode arguments)."""
    options = tuple(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    finite: bool = True,
    floating: bool = True,
) -> jax.Array:
    """Return ``value`` as a JAX array, checking its number of dimensions and finiteness.

    With ``floating`` (the default) the dtype must be a real floating type (bfloat16, float16,
    float32, float64); integer input is rejected rather than silently promoted. Python lists and
    NumPy arrays are converted with :func:`jax.numpy.asarray`. Traced values (inside ``jit`` or
    ``vmap``) are accepted: their shape and dtype are checked, their finiteness is not.
    """
    try:
        x = jnp.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(x.shape)}")
    if floating and not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{name} must have a floating dtype, got {x.dtype}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    # Traced values (arguments of a jit/vmap/grad) are abstract: their finiteness cannot be checked.
    # A concrete array is checked on the host, in NumPy (ml_dtypes gives bfloat16 its isfinite):
    # checked by JAX, every new shape and dtype would compile two small programs first.
    if finite and not isinstance(x, jax.core.Tracer):
        if not np.isfinite(np.asarray(x)).all():
            raise ValueError(f"{name} must have only finite entries")
    return x


def same_shape(name_a: str, a: jax.Array | np.ndarray, name_b: str, b: jax.Array | np.ndarray) -> None:
    """Check that two arrays have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def prng_key(name: str, value: Any) -> jax.Array:
    """Check that ``value`` is a JAX PRNG key (new-style typed key or legacy ``uint32[2]``)."""
    if isinstance(value, jax.Array):
        if jnp.issubdtype(value.dtype, jax.dtypes.prng_key) and value.ndim == 0:
            return value
        if value.dtype == jnp.uint32 and value.shape == (2,):
            return value
    raise ValueError(
        f"{name} must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
        f"got {type(value).__name__}"
        + (f" with dtype {value.dtype} and shape {tuple(value.shape)}" if hasattr(value, "shape") else "")
    )
