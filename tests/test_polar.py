"""Unit tests for kexue_lib.polar: msign (SVD and Newton–Schulz), schedules, power iteration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kexue_lib import polar

pytestmark = pytest.mark.usefixtures("x64")


def test_msign_svd_is_the_polar_factor() -> None:
    m = jax.random.normal(jax.random.key(0), (30, 12), dtype=jnp.float64)
    q = polar.msign(m)
    assert q.shape == m.shape
    np.testing.assert_allclose(q.T @ q, np.eye(12), atol=1e-12)
    # msign(M)ᵀ M = (MᵀM)^{1/2} is symmetric positive definite
    p = np.asarray(q.T @ m)
    np.testing.assert_allclose(p, p.T, atol=1e-12)
    assert np.linalg.eigvalsh(p).min() > 0


def test_msign_svd_wide_and_zero_and_bfloat16() -> None:
    m = jax.random.normal(jax.random.key(1), (8, 20), dtype=jnp.float64)
    np.testing.assert_allclose(polar.msign(m), polar.msign(m.T).T, atol=1e-12)
    np.testing.assert_array_equal(polar.msign(jnp.zeros((4, 3))), np.zeros((4, 3)))
    out = polar.msign(m.astype(jnp.bfloat16))
    assert out.dtype == jnp.bfloat16


@pytest.mark.parametrize("shape", [(40, 16), (16, 40)])
def test_newton_schulz_polar_express_matches_svd(shape: tuple[int, int], matrix_with_singular_values) -> None:
    s = np.geomspace(0.05, 1.0, min(shape))
    m = matrix_with_singular_values(s, max(shape))
    m = m if shape[0] >= shape[1] else m.T
    ns = polar.msign(m, "newton_schulz")
    assert ns.shape == shape
    np.testing.assert_allclose(ns, polar.msign(m), atol=1e-12)


def test_matrix_iteration_equals_scalar_map(matrix_with_singular_values) -> None:
    s = np.geomspace(1e-3, 1.0, 20)
    m = matrix_with_singular_values(s, 30, seed=3)
    table, safety = polar.schedule_coefficients("jordan", 5)
    x = s / np.linalg.norm(s) / safety
    for a, b, c in table:
        x = x * (a + b * x**2 + c * x**4)
    out = polar.msign(m, "newton_schulz", coeffs="jordan")
    sv = np.linalg.svd(np.asarray(out), compute_uv=False)
    np.testing.assert_allclose(np.sort(sv), np.sort(x), atol=1e-12)


def test_schedule_coefficients_safety_and_repeat() -> None:
    table, safety = polar.schedule_coefficients("polar_express", 10)
    assert safety == 1.01 and table.shape == (10, 3)
    a, b, c = polar.PUBLISHED_POLAR_EXPRESS[0]
    np.testing.assert_allclose(table[0], [a / 1.01, b / 1.01**3, c / 1.01**5])
    np.testing.assert_allclose(table[-1], polar.PUBLISHED_POLAR_EXPRESS[-1])  # last: no safety
    last = np.array(polar.PUBLISHED_POLAR_EXPRESS[-1])
    np.testing.assert_allclose(table[8], last / [1.01, 1.01**3, 1.01**5])  # repeated, with safety
    custom, s = polar.schedule_coefficients([[1.5, -0.5, 0.0]], 3)
    assert s == 1.0 and custom.shape == (3, 3)


def test_custom_table_equals_named_cubic() -> None:
    m = jax.random.normal(jax.random.key(2), (12, 6), dtype=jnp.float64)
    a = polar.msign(m, "newton_schulz", steps=12, coeffs="cubic")
    b = polar.msign(m, "newton_schulz", steps=12, coeffs=np.array([[1.5, -0.5, 0.0]]))
    np.testing.assert_allclose(a, b, atol=1e-15)


def test_sv_error_profile() -> None:
    pe = polar.sv_error_profile("polar_express", 1e-3)
    assert pe.shape == (8,) and pe[-1] < 1e-12 and np.all(np.diff(pe) < 0)
    cubic = polar.sv_error_profile("cubic", 1e-3, 30)
    assert cubic[-1] < 1e-12 and cubic[10] > 0.5  # slow start: 1e-3 grows by 1.5x per step
    jordan = polar.sv_error_profile("jordan", 0.1, 20)
    assert jordan[-1] > 0.2  # Jordan's quintic does not converge to 1


def test_polar_express_recursion_reproduces_published() -> None:
    ours = np.array(polar.polar_express_coefficients(1e-3, 8))
    pub = np.array(polar.PUBLISHED_POLAR_EXPRESS)
    np.testing.assert_allclose(ours[:6], pub[:6], rtol=1e-13)
    np.testing.assert_allclose(ours[6:], pub[6:], rtol=1e-8)


def test_optimal_odd_quintic_equioscillates() -> None:
    a, b, c, err = (float(v) for v in polar.optimal_odd_quintic(0.1, 1.0))
    x = np.linspace(0.1, 1.0, 200001)
    dev = 1 - (a * x + b * x**3 + c * x**5)
    assert abs(np.abs(dev).max() - abs(err)) < 1e-9
    assert abs(dev[0] - err) < 1e-12 and abs(dev[-1] + err) < 1e-12  # alternation at the ends


def test_top_singular_triplet_by_power_iteration(matrix_with_singular_values) -> None:
    s = np.array([2.0, 1.0, 0.5, 0.1])
    w = matrix_with_singular_values(s, 10, seed=5)
    sigma, u, v = polar.top_singular_triplet(w, tol=1e-12)
    assert abs(float(sigma) - 2.0) < 1e-12
    grad = jax.grad(lambda x: jnp.linalg.svd(x, compute_uv=False)[0])(w)
    np.testing.assert_allclose(jnp.outer(u, v), grad, atol=1e-10)
    res = polar.power_iteration(w, iters=5, tol=1e-15)
    assert int(res.iterations) == 5 and float(res.residual) > 1e-15  # stopped by the budget


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: polar.msign(jnp.ones(3)), "2-D"),
        (lambda: polar.msign(jnp.ones((2, 2, 2))), "2-D"),
        (lambda: polar.msign(jnp.array([[1.0, jnp.nan]])), "finite"),
        (lambda: polar.msign(jnp.ones((2, 2), dtype=jnp.int32)), "floating"),
        (lambda: polar.msign(jnp.ones((2, 2)), method="qr"), "method"),
        (lambda: polar.msign(jnp.ones((2, 2)), steps=3), "newton_schulz"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs="nope"), "coeffs"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=[[1.0, 2.0]]), "coeffs"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=[[1.0, 2.0, np.inf]]), "finite"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", steps=0), "steps"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), iters=0), "iters"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), tol=-1.0), "tol"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), key=0), "key"),
        (lambda: polar.top_singular_triplet(jnp.ones(4)), "2-D"),
        (lambda: polar.sv_error_profile("cubic", 1.5), "ell"),
        (lambda: polar.optimal_odd_quintic(1.0, 0.5), "lo"),
        (lambda: polar.polar_express_coefficients(1e-3, 0), "steps"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_nuclear_norm_is_the_sum_of_singular_values_and_differentiable() -> None:
    m = jnp.array([[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]])
    assert float(polar.nuclear_norm(m)) == pytest.approx(7.0, rel=1e-6)
    # d‖M‖_*/dM = msign(M) for full-rank M
    grad = jax.grad(polar.nuclear_norm)(m)
    np.testing.assert_allclose(grad, polar.msign(m), atol=1e-6)
    with pytest.raises(ValueError, match="M must be 2-D"):
        polar.nuclear_norm(jnp.ones(3))
