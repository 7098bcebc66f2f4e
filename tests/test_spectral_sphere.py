"""Unit tests for kexue_lib.spectral_sphere: the steepest direction on the spectral sphere."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from kexue_lib import polar
from kexue_lib import spectral_sphere as ss

pytestmark = pytest.mark.usefixtures("x64")


def pair(n: int = 24, m: int = 12, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, m))
    return jnp.asarray(w / np.linalg.norm(w, 2)), jnp.asarray(rng.standard_normal((n, m)) / np.sqrt(m))


def test_direction_is_tangent_unit_and_optimal() -> None:
    w, g = pair()
    phi, lam = ss.steepest_direction(w, g, 40)
    theta = ss.normal_basis(w)[0]
    assert phi.shape == w.shape and jnp.ndim(lam) == 0
    assert abs(float(jnp.sum(theta * phi))) < 1e-12
    np.testing.assert_allclose(np.linalg.svd(np.asarray(phi), compute_uv=False), 1.0, atol=1e-12)
    # λ minimises the dual f(λ) = ‖G + λΘ‖_*, found independently by Brent's method
    res = so.minimize_scalar(lambda x: float(ss.dual_objective(g, theta, x)), bracket=(-1.0, 1.0), tol=1e-10)
    assert abs(float(lam) - res.x) < 1e-6  # Brent on a flat minimum: λ to ~sqrt(eps)
    assert abs(float(jnp.sum(g * phi)) - res.fun) < 1e-12 * res.fun


def test_dual_objective_is_differentiable_under_jit() -> None:
    w, g = pair()
    thetas = ss.normal_basis(w)
    grad = jax.jit(jax.grad(lambda x: ss.dual_objective(g, thetas, x)))
    lam = jnp.array([0.3])
    # f'(λ) = ⟨Θ, msign(G + λΘ)⟩, the tangent error of the direction at λ
    expected = jnp.sum(thetas[0] * polar.msign(g + lam[0] * thetas[0]))
    np.testing.assert_allclose(grad(lam), [expected], rtol=1e-10)


def test_wide_matrix_is_solved_transposed() -> None:
    w, g = pair(24, 12, seed=1)
    phi_t, lam_t = ss.steepest_direction(w.T, g.T, 30)
    phi, lam = ss.steepest_direction(w, g, 30)
    assert phi_t.shape == (12, 24)
    np.testing.assert_allclose(phi_t, phi.T, atol=1e-12)
    assert abs(float(lam_t) - float(lam)) < 1e-12


def test_update_is_a_gradient_step_on_the_dual() -> None:
    w, g = pair(seed=2)
    theta = ss.normal_basis(w)[0]
    run = ss.solve_fixed_point(g, theta, 3)
    lam0, lam1 = float(run.lam_history[0, 0]), float(run.lam_history[1, 0])
    z = g + lam0 * theta
    fprime = float(jnp.sum(theta * polar.msign(z)))
    h = float(jnp.sum(jnp.linalg.svd(z, compute_uv=False))) / g.shape[1]
    assert abs(lam1 - (lam0 - h * fprime)) < 1e-12
    assert run.tangent.shape == (3, 1) and run.objective.shape == (3,)


def test_frobenius_sphere_and_power_theta() -> None:
    w, g = pair(seed=3)
    wf = w / jnp.linalg.norm(w)
    phi, _ = ss.steepest_direction(wf, g, 40, norm="frobenius")
    assert abs(float(jnp.sum(wf * phi))) < 1e-12
    rng = np.random.default_rng(4)
    u, _ = np.linalg.qr(rng.standard_normal((24, 12)))
    v, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    gapped = jnp.asarray((u * np.linspace(1.0, 0.1, 12)) @ v.T)
    np.testing.assert_allclose(ss.normal_basis(gapped, theta="power"), ss.normal_basis(gapped), atol=1e-6)


def test_tied_top_singular_value_both_bases() -> None:
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.standard_normal((20, 10)))
    v, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    w = jnp.asarray((u * np.r_[1.0, 1.0, np.linspace(0.8, 0.1, 8)]) @ v.T)
    g = jnp.asarray(rng.standard_normal((20, 10)))
    for symmetric, count in ((False, 2), (True, 3)):
        phi, lam = ss.steepest_direction(w, g, 40, k=2, symmetric=symmetric)
        thetas = ss.normal_basis(w, k=2, symmetric=symmetric)
        assert lam.shape == (count,)
        np.testing.assert_allclose(jnp.einsum("inm,nm->i", thetas, phi), 0.0, atol=1e-12)
        assert abs(float(ss.dual_objective(g, thetas, lam)) - float(jnp.sum(g * phi))) < 1e-10
    # the symmetric constraints keep the tied singular values at 1 to first order
    phi, _ = ss.steepest_direction(w, g, 40, k=2, symmetric=True)
    err = [float(ss.sphere_norm(w - e * phi)) - 1 for e in (1e-4, 1e-3)]
    assert 80 < err[1] / err[0] < 120  # quadratic: ×100 for ×10 in η


def test_bracketed_solver_agrees_and_converges() -> None:
    w, g = pair(seed=6)
    theta = ss.normal_basis(w)[0]
    post = ss.solve_fixed_point(g, theta, 30)
    bracketed = ss.solve_fixed_point(g, theta, 30, solver="bracketed")
    assert abs(float(post.lam[0]) - float(bracketed.lam[0])) < 1e-10
    assert abs(float(bracketed.tangent[-1, 0])) < 1e-12


def test_newton_schulz_inside_the_solver() -> None:
    w, g = pair(seed=7)
    exact, _ = ss.steepest_direction(w, g, 10)
    approx, _ = ss.steepest_direction(w, g, 10, method="newton_schulz", coeffs="polar_express", steps=8)
    np.testing.assert_allclose(approx, exact, atol=1e-6)


def test_retract_and_descent_stay_on_the_sphere() -> None:
    w, g = pair(seed=8)
    phi, _ = ss.steepest_direction(w, g)
    assert abs(float(ss.sphere_norm(ss.retract(w, phi, 0.1))) - 1) < 1e-13
    assert abs(float(ss.sphere_norm(ss.spectral_sphere_step(w, g, 0.1))) - 1) < 1e-13
    assert abs(float(ss.sphere_norm(ss.muon_normalized_step(w, g, 0.1))) - 1) < 1e-13
    target = w

    def loss(x):
        return 0.5 * jnp.sum((x - target) ** 2)

    w0 = jnp.asarray(np.random.default_rng(9).standard_normal(w.shape))
    for variant in ("sphere", "muon"):
        run = ss.descent(loss, w0, jnp.linspace(0.05, 0.0, 60), variant=variant)
        assert float(jnp.abs(run.norm - 1).max()) < 1e-13
        assert float(run.loss[-1]) < 0.05 * float(run.loss[0])
        assert run.trajectory.shape == (60, *w.shape)


W, G = jnp.ones((4, 3)), jnp.ones((4, 3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ss.steepest_direction(jnp.ones(3), jnp.ones(3)), "2-D"),
        (lambda: ss.steepest_direction(W, jnp.ones((3, 4))), "same shape"),
        (lambda: ss.steepest_direction(W, G.at[0, 0].set(jnp.nan)), "finite"),
        (lambda: ss.steepest_direction(W, G, 0), "iters"),
        (lambda: ss.steepest_direction(W, G, norm="nuclear"), "norm"),
        (lambda: ss.steepest_direction(W, G, solver="newton"), "solver"),
        (lambda: ss.steepest_direction(W, G, k=2, solver="bracketed"), "one constraint"),
        (lambda: ss.steepest_direction(W, G, k=5), "k"),
        (lambda: ss.steepest_direction(W, G, k=2, theta="power"), "power"),
        (lambda: ss.steepest_direction(W, G, method="svd", steps=3), "newton_schulz"),
        (lambda: ss.solve_fixed_point(G.T, W.T, 3), "tall"),
        (lambda: ss.solve_fixed_point(G, jnp.ones((2, 3, 3)), 3), "thetas"),
        (lambda: ss.solve_fixed_point(G, jnp.stack([W, 2 * W]), 3), "independent"),
        (lambda: ss.dual_objective(G, W, [1.0, 2.0]), "lam"),
        (lambda: ss.retract(W, G, -0.1), "eta"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), variant="adam"), "variant"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W.T, jnp.ones(3)), "tall"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, -jnp.ones(3)), "etas"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
