"""Fixtures shared by the unit tests.

- ``x64``: run a test with float64 enabled in JAX (kernels compared with mpmath or NumPy float64);
  a module opts in with ``pytestmark = pytest.mark.usefixtures("x64")``.
- ``matrix_with_singular_values``: a factory of float64 test matrices with prescribed singular
  values and seeded random singular vectors.
- ``jaxpr_equations``: the generator of every equation of a jaxpr, nested ones included (to
  read the dtypes, precisions and primitives of what a function traces).
- ``traced_floats``: ``traced_floats(fn, *args)``, the floating dtypes of every value that
  ``fn(*args)`` computes, nested jaxprs included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest


@pytest.fixture
def x64() -> Iterator[None]:
    with jax.enable_x64(True):
        yield


def _matrix_with_singular_values(s: np.ndarray, n: int, seed: int = 0) -> jax.Array:
    """An ``n × len(s)`` matrix with singular values ``s`` and seeded random singular vectors."""
    s = np.asarray(s, dtype=np.float64)
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((len(s), len(s))))
    return jnp.asarray((u * s) @ v.T)


@pytest.fixture
def matrix_with_singular_values() -> Callable[..., jax.Array]:
    return _matrix_with_singular_values


def _jaxpr_equations(jaxpr: jax.extend.core.Jaxpr) -> Iterator[jax.extend.core.JaxprEqn]:
    """Every equation of a jaxpr, those of nested jaxprs (jit, scan, custom_jvp) included."""
    for eqn in jaxpr.eqns:
        yield eqn
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                if isinstance(sub, jax.extend.core.ClosedJaxpr):
                    yield from _jaxpr_equations(sub.jaxpr)
                elif isinstance(sub, jax.extend.core.Jaxpr):
                    yield from _jaxpr_equations(sub)


@pytest.fixture
def jaxpr_equations() -> Callable[[jax.extend.core.Jaxpr], Iterator[jax.extend.core.JaxprEqn]]:
    return _jaxpr_equations


@pytest.fixture
def traced_floats() -> Callable[..., set[np.dtype]]:
    def floats(fn: Callable, *args: object) -> set[np.dtype]:
        jaxpr = jax.make_jaxpr(fn)(*args).jaxpr
        return {v.aval.dtype for e in _jaxpr_equations(jaxpr) for v in e.outvars
                if jnp.issubdtype(v.aval.dtype, jnp.floating)}
    return floats
