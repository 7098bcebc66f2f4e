"""Unit tests of kexue_lib.validate: the argument checks every kernel uses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from kexue_lib import validate


def test_integer_accepts_integers_and_numpy_integers() -> None:
    assert validate.integer("n", 5, minimum=1) == 5
    assert validate.integer("n", np.int64(7)) == 7


@pytest.mark.parametrize("bad", [2.0, "3", True, None])
def test_integer_rejects_non_integers(bad) -> None:
    with pytest.raises(ValueError, match="n must be an integer"):
        validate.integer("n", bad)


def test_integer_range() -> None:
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        validate.integer("n", 0, minimum=1)
    with pytest.raises(ValueError, match="n must be <= 3, got 4"):
        validate.integer("n", 4, maximum=3)


def test_real() -> None:
    assert validate.real("beta", mpmath.mpf("0.5"), positive=True) == 0.5
    with pytest.raises(ValueError, match="beta must be > 0"):
        validate.real("beta", 0.0, positive=True)
    with pytest.raises(ValueError, match="must be finite"):
        validate.real("beta", float("nan"))
    with pytest.raises(ValueError, match=">= 0"):
        validate.real("x", -1, nonnegative=True)
    with pytest.raises(ValueError, match="real number"):
        validate.real("x", "abc")


def test_choice() -> None:
    assert validate.choice("method", "svd", ("svd", "newton_schulz")) == "svd"
    with pytest.raises(ValueError, match="method must be one of 'svd', 'newton_schulz', got 'qr'"):
        validate.choice("method", "qr", ("svd", "newton_schulz"))


def test_array_checks_ndim_dtype_and_finiteness() -> None:
    x = validate.array("W", np.ones((2, 3), np.float32), ndim=2)
    assert isinstance(x, jax.Array) and x.shape == (2, 3)
    with pytest.raises(ValueError, match="W must be 2-D, got shape"):
        validate.array("W", np.ones(3, np.float32), ndim=2)
    with pytest.raises(ValueError, match="floating dtype"):
        validate.array("W", np.ones((2, 2), np.int32))
    with pytest.raises(ValueError, match="finite"):
        validate.array("W", np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="empty"):
        validate.array("W", np.zeros((0, 2)))


def test_array_works_under_jit_and_vmap() -> None:
    def total(x):
        return validate.array("x", x, ndim=1).sum()

    assert float(jax.jit(total)(jnp.arange(3.0))) == 3.0
    assert jax.vmap(total)(jnp.ones((4, 2))).shape == (4,)
    with pytest.raises(ValueError, match="x must be 1-D"):
        jax.jit(total)(jnp.ones((2, 2)))


def test_array_checks_concrete_constants_inside_a_traced_function() -> None:
    good, bad = jnp.ones(3), jnp.array([1.0, jnp.nan, 0.0])
    assert float(jax.jit(lambda s: s * validate.array("c", good).sum())(2.0)) == 6.0
    with pytest.raises(ValueError, match="c must have only finite entries"):
        jax.jit(lambda s: s * validate.array("c", bad).sum())(2.0)


def test_same_shape() -> None:
    validate.same_shape("W", jnp.ones((2, 3)), "G", jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="W and G must have the same shape"):
        validate.same_shape("W", jnp.ones((2, 3)), "G", jnp.ones((3, 2)))


def test_prng_key() -> None:
    validate.prng_key("key", jax.random.key(0))
    validate.prng_key("key", jax.random.PRNGKey(0))
    for bad in (0, np.zeros(2, np.uint32), jax.random.split(jax.random.key(0), 2)):
        with pytest.raises(ValueError, match="key must be a single JAX PRNG key"):
            validate.prng_key("key", bad)


