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


def test_inverse_scheme_is_the_posts_first_formula() -> None:
    w, g = pair(seed=14)
    theta = ss.normal_basis(w)[0]
    run = ss.solve_fixed_point(g, theta, 40, solver="inverse")
    # one step by hand: λ⁺ = −tr(ΘᵀGQ⁻¹)/tr(ΘᵀΘQ⁻¹) with Q = (ZᵀZ)^(1/2) from NumPy's eigh
    lam = float(run.lam_history[0, 0])
    z = np.asarray(g + lam * theta)
    e, v = np.linalg.eigh(z.T @ z)
    qinv = (v / np.sqrt(e)) @ v.T
    th = np.asarray(theta)
    expected = -np.trace(th.T @ np.asarray(g) @ qinv) / np.trace(th.T @ th @ qinv)
    assert abs(float(run.lam_history[1, 0]) - expected) < 1e-12
    post = ss.solve_fixed_point(g, theta, 40)
    assert abs(float(run.lam[0]) - float(post.lam[0])) < 1e-10
    assert abs(float(run.tangent[-1, 0])) < 1e-12


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
    # the same run with the loss's data passed as traced arguments
    eye = jnp.eye(w.shape[0])
    with_data = ss.descent(ss.least_squares_loss, w0, jnp.linspace(0.05, 0.0, 60), variant="sphere",
                           data=(eye, target))
    scale = w.shape[0]  # least_squares_loss averages over the rows: loss(x)/n
    run = ss.descent(loss, w0, jnp.linspace(0.05, 0.0, 60), variant="sphere")
    np.testing.assert_allclose(with_data.loss * scale, run.loss, rtol=1e-10, atol=1e-13)


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
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), data=[W]), "tuple"),
        (lambda: ss.normal_basis(W, k=2, rotation=jnp.ones((2, 2))), "orthogonal"),
        (lambda: ss.normal_basis(W, k=2, rotation=jnp.eye(3)), "2 × 2"),
        (lambda: ss.normal_basis(W, "frobenius", rotation=jnp.eye(1)), "rotation"),
        (lambda: ss.random_pair(4, 3, -1), "seed"),
        (lambda: ss.random_pair(4, 3, 0, dtype=jnp.int32), "floating"),
        (lambda: ss.random_tangent(0, W, 3), "PRNG key"),
        (lambda: ss.random_tangent(jax.random.key(0), W, 0), "count"),
        (lambda: ss.least_squares_problem(teacher_norm=0.0), "teacher_norm"),
        (lambda: ss.projected_gradient(ss.least_squares_loss, W, -1.0, 3), "lr"),
        (lambda: ss.relative_gap(jnp.ones((3, 1))), "2 singular values"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 5, 1, 3), "2 singular values"),
        (lambda: ss.minimize_dual(G, W, xtol=0.0), "xtol"),
        (lambda: ss.dual_derivatives(G, W, [1.0, 2.0]), "lam"),
        (lambda: ss.tied_direction(W, G), "repeated exactly twice"),
        (lambda: ss.tied_direction(W.T, G.T), "tall"),
        (lambda: ss.lower_tail_exponent([0.5, 0.6], 0.4), "at least 2"),
        (lambda: ss.lower_tail_exponent([-0.5, 0.6], 0.4), "positive"),
        (lambda: ss.contraction_rate([1.0, 0.5]), "3 steps"),
    ],
)
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_random_pair_is_the_posts_instance() -> None:
    w, g = ss.random_pair(30, 20, seed=3)
    assert w.shape == g.shape == (30, 20) and w.dtype == jnp.float64
    assert abs(float(jnp.linalg.svd(w, compute_uv=False)[0]) - 1) < 1e-15
    # G is the head of one draw of NORMAL_POOL standard normals from the second key, over √m
    _k1, k2 = jax.random.split(jax.random.key(3))
    head = jax.random.normal(k2, (ss.NORMAL_POOL,), dtype=jnp.float64)[:600].reshape(30, 20)
    np.testing.assert_array_equal(g, head / np.sqrt(20))
    w2, g2 = ss.random_pair(30, 20, seed=3)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(g, g2)


def test_float64_instances_need_x64() -> None:
    with jax.enable_x64(False), pytest.raises(ValueError, match="float64"):
        ss.random_pair(4, 3, 0)


def test_random_tangent_directions_are_feasible() -> None:
    w, _g = pair(seed=10)
    thetas = ss.normal_basis(w, "frobenius")
    phis = ss.random_tangent(jax.random.key(4), thetas, 5)
    assert phis.shape == (5, *w.shape)
    np.testing.assert_allclose(jnp.einsum("knm,nm->k", phis, thetas[0]), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.svd(np.asarray(phis), compute_uv=False)[:, 0], 1.0, atol=1e-14)


def test_least_squares_problem_and_loss() -> None:
    prob = ss.least_squares_problem(seed=1, samples=40, n=8, m=5, teacher_norm=1.5)
    assert abs(float(jnp.linalg.svd(prob.W_star, compute_uv=False)[0]) - 1.5) < 1e-14
    np.testing.assert_allclose(prob.Y, prob.X @ prob.W_star, atol=1e-14)
    assert float(ss.least_squares_loss(prob.W_star, prob.X, prob.Y)) == 0.0
    r = np.asarray(prob.X @ prob.W0 - prob.Y)
    expected = 0.5 * np.sum(r**2) / 40
    assert abs(float(ss.least_squares_loss(prob.W0, prob.X, prob.Y)) - expected) < 1e-12 * expected


def test_projected_gradient_reaches_the_clipped_teacher(matrix_with_singular_values) -> None:
    # With X = I the loss is ‖W − Y‖²_F/(2n): its minimiser on the ball ‖W‖₂ ≤ 1 is Y with its
    # singular values clipped at 1 (the projection onto the ball), and lr = n is the step 1/L.
    y = matrix_with_singular_values(np.array([2.0, 1.5, 0.7, 0.2]), 6, seed=2)
    clipped = matrix_with_singular_values(np.array([1.0, 1.0, 0.7, 0.2]), 6, seed=2)
    w = ss.projected_gradient(ss.least_squares_loss, jnp.zeros((6, 4)), 6.0, 3,
                              data=(jnp.eye(6), y))
    np.testing.assert_allclose(w, clipped, atol=1e-13)
    # a smaller step converges to the same point
    w = ss.projected_gradient(ss.least_squares_loss, jnp.zeros((6, 4)), 3.0, 60, data=(jnp.eye(6), y))
    np.testing.assert_allclose(w, clipped, atol=1e-13)


def test_relative_gap_and_gaussian_gaps(matrix_with_singular_values) -> None:
    w = matrix_with_singular_values(np.array([2.0, 1.5, 0.5]), 5)
    assert abs(float(ss.relative_gap(w)) - 0.25) < 1e-15
    np.testing.assert_allclose(ss.relative_gap(jnp.stack([w, 2 * w])), [0.25, 0.25], atol=1e-15)
    key = jax.random.key(5)
    gaps = ss.gaussian_top_gaps(key, 12, 6, 7, batch=3)
    # the same matrices, drawn one key each, with NumPy's SVD
    mats = [np.asarray(jax.random.normal(k, (12, 6))) for k in jax.random.split(key, 7)]
    expected = [1 - s[1] / s[0] for s in (np.linalg.svd(a, compute_uv=False) for a in mats)]
    np.testing.assert_allclose(gaps, expected, atol=1e-13)


def _two_by_two(a: float, b: float, c: float, d: float) -> jax.Array:
    """A tall 3 × 2 matrix whose singular values are those of [[a, b], [c, d]]."""
    return jnp.array([[a, b], [c, d], [0.0, 0.0]])


def test_minimize_dual_one_constraint_closed_form() -> None:
    # For M = [[x, b], [c, d]], ‖M‖_*² = ‖M‖_F² + 2|det M|. With b = 2, c = −3, d = 1 and
    # x = a + λ, f² = x² + 2|x − (−6)| + 14 is minimised at x = −d = −1 (det = 5 > 0 there), f = 5.
    a = 0.7
    g = _two_by_two(a, 2.0, -3.0, 1.0)
    theta = jnp.zeros((3, 2)).at[0, 0].set(1.0)
    res = ss.minimize_dual(g, theta)
    assert abs(float(res.lam[0]) - (-1.0 - a)) < 1e-12
    assert abs(float(res.value) - 5.0) < 1e-13 and abs(float(res.grad[0])) < 1e-13
    # f = √F with F = x² + 2(x d − b c) + b² + c² + d², so f' = (x + d)/f, f'' = 1/f − (x + d)²/f³
    x = 0.4
    f, fp, fpp = ss.dual_derivatives(g, theta, x - a)
    big_f = np.sqrt(x**2 + 2 * (x + 6) + 14)
    assert abs(float(f) - big_f) < 1e-13
    assert abs(float(fp[0]) - (x + 1) / big_f) < 1e-13
    assert abs(float(fpp[0, 0]) - (1 / big_f - (x + 1) ** 2 / big_f**3)) < 1e-12


def test_minimize_dual_several_constraints_closed_form() -> None:
    # min over the diagonal of ‖[[x, b], [c, y]]‖_* is |b| + |c| (at x = y = 0; ‖M‖_* ≥ |tr(MP)|
    # for the swap P), whatever the diagonal of G.
    g = _two_by_two(0.3, 2.0, -0.5, -1.2)
    thetas = jnp.zeros((2, 3, 2)).at[0, 0, 0].set(1.0).at[1, 1, 1].set(1.0)
    res = ss.minimize_dual(g, thetas)
    assert abs(float(res.value) - 2.5) < 1e-10
    assert float(jnp.linalg.norm(res.grad)) < 1e-8


def test_minimize_dual_matches_the_fixed_point() -> None:
    w, g = pair(seed=11)
    for norm in ("spectral", "frobenius"):
        theta = ss.normal_basis(w / ss.sphere_norm(w, norm), norm)
        res = ss.minimize_dual(g, theta)
        run = ss.solve_fixed_point(g, theta, 40)
        assert abs(float(res.lam[0]) - float(run.lam[0])) < 1e-10
        assert abs(float(res.value) - float(run.objective[-1])) < 1e-12 * float(res.value)


def test_rotated_bases_span_the_same_tied_subspace(matrix_with_singular_values) -> None:
    w = matrix_with_singular_values(np.r_[1.0, 1.0, np.linspace(0.8, 0.1, 6)], 16, seed=12)
    c, s = np.cos(0.6), np.sin(0.6)
    r = jnp.array([[c, -s], [s, c]])
    sym, sym_r = ss.normal_basis(w, k=2, symmetric=True), ss.normal_basis(w, k=2, symmetric=True, rotation=r)

    def projector(b: jax.Array) -> np.ndarray:
        flat = np.asarray(b).reshape(b.shape[0], -1)
        return flat.T @ np.linalg.solve(flat @ flat.T, flat)

    np.testing.assert_allclose(projector(sym_r), projector(sym), atol=1e-13)
    post, post_r = ss.normal_basis(w, k=2), ss.normal_basis(w, k=2, rotation=r)
    assert np.abs(projector(post_r) - projector(post)).max() > 0.1  # the post's pair is not invariant


def test_tied_direction_is_feasible_and_optimal(matrix_with_singular_values) -> None:
    cases = set()
    for seed in range(6):
        w = matrix_with_singular_values(np.r_[1.0, 1.0, np.linspace(0.8, 0.1, 8)], 20, seed=seed)
        g = jnp.asarray(np.random.default_rng(100 + seed).standard_normal((20, 10)))
        res = ss.tied_direction(w, g)
        np.testing.assert_allclose(np.linalg.svd(np.asarray(res.phi), compute_uv=False), 1.0, atol=1e-12)
        assert abs(float(jnp.sum(g * res.phi)) - res.value) < 1e-12 * abs(res.value)
        assert res.tangent < 1e-12
        lo, hi = (float(x) for x in res.s_eigenvalues)
        assert abs(lo) < 1e-12 and hi >= -1e-12  # S ⪰ 0 with λ_min(S) = 0
        assert np.linalg.eigvalsh(np.asarray(res.multiplier))[0] >= -1e-14  # Λ ⪰ 0
        # value ≤ exact ≤ upper, and the upper bound is a value of the dual at that Λ
        u2, v2 = _top_pair(w)
        bound = float(polar.nuclear_norm(g + u2 @ res.multiplier @ v2.T))
        assert abs(bound - res.upper) < 1e-12 * bound and res.value <= res.upper + 1e-12
        assert res.conservative <= res.value + 1e-12 <= float(polar.nuclear_norm(g)) + 1e-12
        # the step keeps the norm at 1 to second order: ×100 for ×10 in η
        err = [float(ss.sphere_norm(w - e * res.phi)) - 1 for e in (1e-4, 1e-3)]
        assert 80 < err[1] / err[0] < 120
        # no angle of a grid does better
        grid = [ss._angle_solve(g, u2, v2, jnp.asarray(t), 40)[:2] for t in np.linspace(0, np.pi, 24)]
        assert max((float(v) for v, mu in grid if float(mu) >= 0), default=-np.inf) <= res.value + 1e-12
        if np.linalg.eigvalsh(np.asarray(res.multiplier))[0] > 0:
            cases.add("S = 0")
        elif float(jnp.abs(res.multiplier).max()) > 0:
            cases.add("rank one")
            assert abs(res.upper - res.value) < 1e-11 * res.value  # certified optimal
        else:
            cases.add("Muon shrinks both")
    assert cases == {"S = 0", "rank one", "Muon shrinks both"}  # every branch is exercised


def _top_pair(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    u, _s, vt = jnp.linalg.svd(w, full_matrices=False)
    return u[:, :2], vt[:2].T


def test_lower_tail_exponent_recovers_a_power_law() -> None:
    # U^(1/β) for uniform U has P(X < t) = t^β on [0, 1]
    u = np.random.default_rng(13).uniform(size=20000)
    for beta in (1.0, 2.0):
        est, se = ss.lower_tail_exponent(u ** (1 / beta), 0.5)
        assert abs(est - beta) < 4 * se and se < 0.05 * beta


def test_contraction_rate_of_geometric_histories() -> None:
    k = np.arange(30)
    assert abs(ss.contraction_rate(0.3 * 0.4**k) - 0.4) < 1e-12
    assert abs(ss.contraction_rate(0.3 * (-0.7) ** k) + 0.7) < 1e-12
    # the floor cuts the rounding plateau off
    history = np.maximum(0.5**k, 1e-16)
    assert abs(ss.contraction_rate(history) - 0.5) < 1e-12
