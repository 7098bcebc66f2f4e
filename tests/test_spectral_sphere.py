"""Unit tests for kexue_lib.spectral_sphere: the steepest direction on the spectral sphere.

Every formula is pinned against an independent value: NumPy's SVD (msign, nuclear norms,
singular vectors of matrices built from known factors), the post's update and the bracketed and
``Q⁻¹`` schemes written out step by step in NumPy, closed forms of small duals, exact samples for
the estimators, and the seeded draws reproduced from ``jax.random``; tolerances are at the
rounding level, so a changed constant or operator fails them (``make mutate
MODULE=spectral_sphere``; see the README's mutation-testing table).
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from kexue_lib import polar
from kexue_lib import spectral_sphere as ss

pytestmark = pytest.mark.usefixtures("x64")


# ----------------------------------------------------------------------------- references


def pair(n: int = 24, m: int = 12, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, m))
    return jnp.asarray(w / np.linalg.norm(w, 2)), jnp.asarray(rng.standard_normal((n, m)) / np.sqrt(m))


ArrayLikeNp = np.ndarray | jax.Array


def msign(z: ArrayLikeNp) -> np.ndarray:
    """``U Vᵀ`` of a full-rank matrix, by NumPy's SVD."""
    u, _s, vt = np.linalg.svd(np.asarray(z), full_matrices=False)
    return u @ vt


def nuclear(z: ArrayLikeNp) -> float:
    return float(np.linalg.svd(np.asarray(z), compute_uv=False).sum())


def factors(n: int, s: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal ``U`` (n × k), ``V`` (k × k) and ``W = U diag(s) Vᵀ`` with known factors."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    v, _ = np.linalg.qr(rng.standard_normal((len(s), len(s))))
    return u, v, (u * s) @ v.T


def random_thetas(count: int, n: int, m: int, seed: int) -> np.ndarray:
    """Independent, neither orthogonal nor normalised constraint matrices (Gram far from I)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, m))
    return np.stack([base + (1 + i) * rng.standard_normal((n, m)) for i in range(count)])


def bracketed_reference(g: np.ndarray, theta: np.ndarray, lam: float, iters: int) -> tuple[np.ndarray, list]:
    """The bracketed solver written out: the post's step ``λ − (‖Z‖_*/m) f'(λ)/‖Θ‖²`` until
    ``f'`` has taken both signs, then Illinois regula falsi (the stale end's value halved when the
    same end moves twice). Returns the multiplier of every msign call and the events."""
    m = g.shape[1]
    lo, flo, hi, fhi, last = -np.inf, -np.inf, np.inf, np.inf, 0
    lams, events = [], []
    for _ in range(iters):
        lams.append(lam)
        z = g + lam * theta
        t = float(np.sum(theta * msign(z)))
        post = lam - nuclear(z) / m * t / float(np.sum(theta * theta))
        if t < 0:
            if last == -1:
                fhi /= 2
                events.append("halve hi")
            lo, flo, last = lam, t, -1
        else:
            if last == 1:
                flo /= 2
                events.append("halve lo")
            hi, fhi, last = lam, t, 1
        if np.isfinite(lo) and np.isfinite(hi) and t != 0:
            lam = (lo * fhi - hi * flo) / (fhi - flo)
            events.append("falsi")
        else:
            lam = post
    return np.array(lams), events


def message(text: str) -> str:
    """The whole error message, anchored, for ``pytest.raises(match=...)``."""
    return "^" + re.escape(text) + "$"


# ----------------------------------------------------------------------------- the sphere and its normals


def test_sphere_norm_is_the_top_singular_value_or_the_frobenius_norm() -> None:
    _u, _v, w = factors(9, np.array([3.0, 2.0, 0.5, 0.25]), seed=1)
    assert abs(float(ss.sphere_norm(w)) - 3.0) < 1e-14
    assert abs(float(ss.sphere_norm(w, "spectral")) - 3.0) < 1e-14
    assert abs(float(ss.sphere_norm(w, "frobenius")) - math.sqrt(9 + 4 + 0.25 + 0.0625)) < 1e-14


def test_normal_basis_against_known_singular_vectors() -> None:
    s = np.array([2.0, 1.5, 1.0, 0.6, 0.3])
    u, v, w = factors(11, s, seed=2)
    # Θ = u₁v₁ᵀ, the gradient of ‖W‖₂ (invariant under the joint sign of u₁, v₁)
    np.testing.assert_allclose(ss.normal_basis(w), np.outer(u[:, 0], v[:, 0])[None], atol=1e-14)
    np.testing.assert_allclose(ss.normal_basis(w, "frobenius"), (w / np.sqrt(np.sum(s**2)))[None],
                               atol=1e-15)
    post = ss.normal_basis(w, k=3)
    np.testing.assert_allclose(post, np.stack([np.outer(u[:, i], v[:, i]) for i in range(3)]), atol=1e-14)
    # the symmetric basis: u_i v_iᵀ, and (u_i v_jᵀ + u_j v_iᵀ)/√2 (up to the pairs' joint signs)
    sym = np.asarray(ss.normal_basis(w, k=3, symmetric=True))
    pairs = [(i, j) for i in range(3) for j in range(i, 3)]
    assert sym.shape == (6, 11, 5)
    for b, (i, j) in zip(sym, pairs, strict=True):
        e = (np.outer(u[:, i], v[:, j]) + np.outer(u[:, j], v[:, i])) / (2.0 if i == j else np.sqrt(2.0))
        assert min(np.abs(b - e).max(), np.abs(b + e).max()) < 1e-14, (i, j)
    np.testing.assert_allclose(np.einsum("inm,jnm->ij", sym, sym), np.eye(6), atol=1e-14)  # orthonormal


def test_normal_basis_rotation_rotates_the_singular_pairs() -> None:
    u, v, w = factors(10, np.array([2.0, 1.5, 1.0, 0.5]), seed=3)
    # the joint sign of each pair in the library's SVD
    pu, _ps, pvt = polar.svd(jnp.asarray(w))
    sign = np.sign(np.sum(np.asarray(pu)[:, :2] * u[:, :2], axis=0))
    assert np.allclose(np.asarray(pvt)[:2].T * sign, v[:, :2], atol=1e-12)
    c, s = np.cos(0.6), np.sin(0.6)
    r = np.array([[c, -s], [s, c]])
    ur, vr = (u[:, :2] * sign) @ r, (v[:, :2] * sign) @ r
    np.testing.assert_allclose(ss.normal_basis(w, k=2, rotation=r),
                               np.stack([np.outer(ur[:, i], vr[:, i]) for i in range(2)]), atol=1e-14)
    off = (np.outer(ur[:, 0], vr[:, 1]) + np.outer(ur[:, 1], vr[:, 0])) / np.sqrt(2.0)
    np.testing.assert_allclose(ss.normal_basis(w, k=2, symmetric=True, rotation=r)[1], off, atol=1e-14)
    # orthogonal to the rounding level (1e3 eps) is accepted, 1e-11 off is not
    ss.normal_basis(w, k=2, rotation=r + 1e-14)
    with pytest.raises(ValueError, match=message("rotation must be orthogonal (RᵀR = I)")):
        ss.normal_basis(w, k=2, rotation=r + 1e-11)
    # float32: the rotation in float32, orthogonal to float32's 1e3 eps (1e-6 off is accepted)
    f32 = ss.normal_basis(w.astype(np.float32), k=2, rotation=r + 1e-6)
    assert f32.dtype == jnp.float32
    np.testing.assert_allclose(f32, ss.normal_basis(w, k=2, rotation=r), atol=1e-5)


def test_power_theta_is_power_iteration_to_sqrt_eps() -> None:
    _u, _v, w = factors(24, np.linspace(1.0, 0.1, 12), seed=4)
    for dtype in (jnp.float64, jnp.float32):
        wd = jnp.asarray(w, dtype)
        tol = float(jnp.finfo(dtype).eps) ** 0.5
        _s, pu, pv = polar.top_singular_triplet(wd, tol=tol)
        np.testing.assert_array_equal(ss.normal_basis(wd, theta="power"), jnp.outer(pu, pv)[None])
    np.testing.assert_allclose(ss.normal_basis(w, theta="power"), ss.normal_basis(w), atol=1e-6)


# ----------------------------------------------------------------------------- the multiplier iterations


def test_fixed_point_start_steps_and_histories_with_several_constraints() -> None:
    """λ₀ is the least-squares projection of G on the Θ_i; each update is the preconditioned
    dual step λ − (‖Z‖_*/m) A⁻¹∇f(λ); every history entry is msign(G + Σλ_iΘ_i) at the λ used."""
    _w, g = pair(10, 5, seed=20)
    thetas = random_thetas(3, 10, 5, seed=21)
    run = ss.solve_fixed_point(g, thetas, 4)
    gn = np.asarray(g)
    flat = thetas.reshape(3, -1)
    gram = flat @ flat.T
    lam0 = np.linalg.lstsq(flat.T, -gn.ravel(), rcond=None)[0]
    lams = np.asarray(run.lam_history)
    np.testing.assert_allclose(lams[0], lam0, rtol=1e-12, atol=1e-14)
    for t in range(4):
        z = gn + np.einsum("i,inm->nm", lams[t], thetas)
        phi = msign(z)
        grad = flat @ phi.ravel()
        np.testing.assert_allclose(run.tangent[t], grad, atol=1e-13)
        assert abs(float(run.objective[t]) - float(np.sum(gn * phi))) < 1e-13
        if t < 3:
            step = lams[t] - nuclear(z) / 5 * np.linalg.solve(gram, grad)
            np.testing.assert_allclose(lams[t + 1], step, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(run.phi, phi, atol=1e-13)
    np.testing.assert_array_equal(run.lam, lams[-1])
    assert run.tangent.shape == (4, 3) and run.objective.shape == (4,) and run.lam_history.shape == (4, 3)


def test_update_is_a_gradient_step_on_the_dual() -> None:
    w, g = pair(seed=2)
    theta = ss.normal_basis(w)[0]
    run = ss.solve_fixed_point(g, theta, 3)
    assert abs(float(run.lam_history[0, 0]) + float(jnp.sum(theta * g))) < 1e-15  # λ₀ = −⟨Θ, G⟩
    lam0, lam1 = float(run.lam_history[0, 0]), float(run.lam_history[1, 0])
    z = g + lam0 * theta
    fprime = float(jnp.sum(theta * msign(z)))
    h = nuclear(z) / g.shape[1]
    assert abs(lam1 - (lam0 - h * fprime)) < 1e-12
    assert run.tangent.shape == (3, 1) and run.objective.shape == (3,)


def test_bracketed_solver_step_by_step() -> None:
    """On a nearly rank-one gradient (h f'' > 2: the post's update overshoots), every multiplier
    of the bracketed solver equals the NumPy write-out of the post's step then Illinois."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 6))
    w /= np.linalg.norm(w, 2)
    g = 3 * np.outer(rng.standard_normal(12), rng.standard_normal(6)) + 0.05 * rng.standard_normal((12, 6))
    theta = np.asarray(ss.normal_basis(w)[0])
    run = ss.solve_fixed_point(g, theta, 12, solver="bracketed")
    expected, events = bracketed_reference(g, theta, float(run.lam_history[0, 0]), 12)
    assert {"halve hi", "halve lo", "falsi"} <= set(events)  # every branch is taken
    np.testing.assert_allclose(run.lam_history[:, 0], expected, rtol=1e-12, atol=1e-14)
    assert abs(float(run.tangent[-1, 0])) < 1e-11
    # the post's own update oscillates there: 12 calls leave it far from tangent
    assert abs(float(ss.solve_fixed_point(g, theta, 12).tangent[-1, 0])) > 1e-3


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


def test_inverse_scheme_with_several_constraints() -> None:
    """Σ_j tr(Θ_iᵀΘ_jQ⁻¹) λ_j = −tr(Θ_iᵀGQ⁻¹) at Q = (ZᵀZ)^(1/2), solved in NumPy."""
    _w, g = pair(10, 5, seed=22)
    thetas = random_thetas(2, 10, 5, seed=23)
    run = ss.solve_fixed_point(g, thetas, 3, solver="inverse")
    for t in range(2):
        z = np.asarray(g) + np.einsum("i,inm->nm", np.asarray(run.lam_history[t]), thetas)
        e, v = np.linalg.eigh(z.T @ z)
        qinv = (v / np.sqrt(e)) @ v.T
        b = np.array([[np.trace(a.T @ c @ qinv) for c in thetas] for a in thetas])
        rhs = -np.array([np.trace(a.T @ np.asarray(g) @ qinv) for a in thetas])
        np.testing.assert_allclose(run.lam_history[t + 1], np.linalg.solve(b, rhs), rtol=1e-11, atol=1e-13)


def test_newton_schulz_inside_the_solver() -> None:
    """Each msign call is polar's Newton–Schulz with the schedule's table and safety factor (5
    steps, padded with identity rows to 8)."""
    w, g = pair(seed=7)
    theta = ss.normal_basis(w)[0]
    run = ss.solve_fixed_point(g, theta, 2, method="newton_schulz", coeffs="polar_express", steps=5)
    for t in range(2):
        z = g + float(run.lam_history[t, 0]) * theta
        direct = polar.msign(z, "newton_schulz", steps=5, coeffs="polar_express")
        if t == 1:
            np.testing.assert_allclose(run.phi, direct, atol=1e-13)
        assert abs(float(run.tangent[t, 0]) - float(jnp.sum(theta * direct))) < 1e-13
    table, safety = ss._ns_table("newton_schulz", 5, "polar_express", jnp.float64)
    assert table.shape == (8, 3) and safety == 1.01
    np.testing.assert_array_equal(table[5:], np.tile([1.0, 0.0, 0.0], (3, 1)))
    assert ss._ns_table("svd", None, None, jnp.float64) == (None, 1.0)
    assert ss._ns_table("newton_schulz", 5, "polar_express", jnp.float32)[0].dtype == jnp.float32
    # float32 in, float32 throughout; a square G is tall enough; 10 msign calls by default
    f32 = ss.solve_fixed_point(g.astype(jnp.float32), theta.astype(jnp.float32), method="newton_schulz")
    assert f32.phi.dtype == f32.lam.dtype == f32.objective.dtype == jnp.float32
    assert f32.objective.shape == (10,)
    np.testing.assert_allclose(f32.phi, ss.solve_fixed_point(g, theta, method="newton_schulz").phi, atol=1e-5)
    square = ss.solve_fixed_point(g[:12], theta[:12], 20)
    assert square.phi.shape == (12, 12)
    assert abs(float(square.tangent[-1, 0])) < 1e-3 * abs(float(square.tangent[0, 0]))
    exact, _ = ss.steepest_direction(w, g, 10)
    approx, _ = ss.steepest_direction(w, g, 10, method="newton_schulz", coeffs="polar_express", steps=8)
    np.testing.assert_allclose(approx, exact, atol=1e-6)
    # a schedule other than the default reaches msign: Jordan's quintic, 5 steps (no safety factor)
    run = ss.solve_fixed_point(g, theta, 2, method="newton_schulz", coeffs="jordan")
    z = g + float(run.lam_history[1, 0]) * theta
    np.testing.assert_allclose(run.phi, polar.msign(z, "newton_schulz", coeffs="jordan"), atol=1e-13)
    jordan, _ = ss.steepest_direction(w, g, 2, method="newton_schulz", coeffs="jordan")
    np.testing.assert_allclose(jordan, run.phi, atol=1e-13)  # w is tall
    assert float(jnp.abs(jordan - ss.steepest_direction(w, g, 2, method="newton_schulz")[0]).max()) > 1e-3


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


def test_steepest_direction_defaults_and_orientation() -> None:
    w, g = pair(24, 12, seed=1)
    phi, lam = ss.steepest_direction(w, g)
    run = ss.solve_fixed_point(g, ss.normal_basis(w), 10)  # iters=10, spectral, SVD, the post's update
    np.testing.assert_array_equal(phi, run.phi)
    assert float(lam) == float(run.lam[0])
    phi_t, lam_t = ss.steepest_direction(w.T, g.T)  # wide: solved transposed
    assert phi_t.shape == (12, 24)
    np.testing.assert_allclose(phi_t, phi.T, atol=1e-14)
    assert abs(float(lam_t) - float(lam)) < 1e-14
    phi_f, lam_f = ss.steepest_direction(w, g, 12, norm="frobenius", solver="bracketed")
    run_f = ss.solve_fixed_point(g, ss.normal_basis(w, "frobenius"), 12, solver="bracketed")
    np.testing.assert_array_equal(phi_f, run_f.phi)
    assert float(lam_f) == float(run_f.lam[0])


def test_frobenius_sphere_direction_is_tangent() -> None:
    w, g = pair(seed=3)
    wf = w / jnp.linalg.norm(w)
    phi, _ = ss.steepest_direction(wf, g, 40, norm="frobenius")
    assert abs(float(jnp.sum(wf * phi))) < 1e-12


def tied_instance() -> tuple[jax.Array, jax.Array]:
    """A 20 × 10 W with σ₁ = σ₂ = 1 and a Gaussian G."""
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.standard_normal((20, 10)))
    v, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    w = jnp.asarray((u * np.r_[1.0, 1.0, np.linspace(0.8, 0.1, 8)]) @ v.T)
    return w, jnp.asarray(rng.standard_normal((20, 10)))


def test_tied_top_singular_value_both_bases() -> None:
    w, g = tied_instance()
    for symmetric, count in ((False, 2), (True, 3)):
        phi, lam = ss.steepest_direction(w, g, 40, k=2, symmetric=symmetric)
        thetas = ss.normal_basis(w, k=2, symmetric=symmetric)
        assert lam.shape == (count,)
        np.testing.assert_allclose(jnp.einsum("inm,nm->i", thetas, phi), 0.0, atol=1e-12)
        assert abs(float(ss.dual_objective(g, thetas, lam)) - float(jnp.sum(g * phi))) < 1e-10
    assert ss.steepest_direction(w, g, 2, k=2)[1].shape == (2,)  # symmetric=False by default
    # the symmetric constraints keep the tied singular values at 1 to first order
    err = [float(ss.sphere_norm(w - e * phi)) - 1 for e in (1e-4, 1e-3)]
    assert 80 < err[1] / err[0] < 120  # quadratic: ×100 for ×10 in η


# ----------------------------------------------------------------------------- the dual


def test_dual_objective_is_the_nuclear_norm() -> None:
    _w, g = pair(10, 5, seed=24)
    thetas = random_thetas(2, 10, 5, seed=25)
    lam = np.array([0.3, -0.7])
    expected = nuclear(np.asarray(g) + 0.3 * thetas[0] - 0.7 * thetas[1])
    assert abs(float(ss.dual_objective(g, thetas, lam)) - expected) < 1e-13 * expected
    one = nuclear(np.asarray(g) + 0.3 * thetas[0])
    assert abs(float(ss.dual_objective(g, thetas[0], 0.3)) - one) < 1e-13 * one


def test_dual_functions_keep_float32() -> None:
    """float32 G and Θ with a Python λ: f, ∇f and ∇²f in float32, to float32's precision."""
    w, g = pair(8, 4, seed=4)
    theta = ss.normal_basis(w)
    g32, t32 = g.astype(jnp.float32), theta.astype(jnp.float32)
    value = ss.dual_objective(g32, t32, 0.3)
    assert value.dtype == jnp.float32
    assert abs(float(value) - float(ss.dual_objective(g, theta, 0.3))) < 1e-5 * float(value)
    for got, want in zip(ss.dual_derivatives(g32, t32, 0.3), ss.dual_derivatives(g, theta, 0.3), strict=True):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_dual_objective_is_differentiable_under_jit() -> None:
    w, g = pair()
    thetas = ss.normal_basis(w)
    grad = jax.jit(jax.grad(lambda x: ss.dual_objective(g, thetas, x)))
    lam = jnp.array([0.3])
    # f'(λ) = ⟨Θ, msign(G + λΘ)⟩, the tangent error of the direction at λ
    expected = jnp.sum(thetas[0] * msign(g + lam[0] * thetas[0]))
    np.testing.assert_allclose(grad(lam), [expected], rtol=1e-10)


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
    # G = 0: f(λ) = |λ| ‖Θ‖_*, minimised at λ = 0
    zero = ss.minimize_dual(jnp.zeros((3, 2)), theta)
    assert zero.lam.shape == zero.grad.shape == (1,)
    assert float(zero.lam[0]) == 0.0 and float(zero.value) == 0.0


def test_minimize_dual_one_constraint_is_brentq_on_the_bracket() -> None:
    """One constraint: Brent's method on f' over |λ| ≤ 4‖G‖_*/‖Θ‖_*, to the xtol given (a coarse
    one, so that the bracket, the tolerance and the method all show in the answer)."""
    w, g = pair(seed=5)
    theta = ss.normal_basis(w)
    bound = 4 * nuclear(g) / nuclear(theta[0])
    for xtol in (1e-2, 1e-15):
        want = so.brentq(lambda t: float(ss.dual_derivatives(g, theta, t)[1][0]), -bound, bound, xtol=xtol)
        res = ss.minimize_dual(g, theta, xtol=xtol)
        assert res.lam.shape == res.grad.shape == (1,)
        assert abs(float(res.lam[0]) - want) < 1e-12 * abs(want)
    assert abs(ss.minimize_dual(g, theta, xtol=1e-2).lam[0] - want) > 1e-6 * abs(want)  # xtol mattered


def test_minimize_dual_one_constraint_far_root() -> None:
    """A root near the edge of the bracket |λ| ≤ 4‖G‖_*/‖Θ‖_*: Θ = εI-like (tiny ‖Θ‖_*)."""
    g = _two_by_two(0.7, 2.0, -3.0, 1.0)
    theta = jnp.zeros((3, 2)).at[0, 0].set(0.05)
    res = ss.minimize_dual(g, theta)
    assert abs(float(res.lam[0]) * 0.05 - (-1.7)) < 1e-12  # the same minimiser x = −1, λ = −1.7/0.05
    assert abs(float(res.value) - 5.0) < 1e-13


def test_minimize_dual_several_constraints_closed_form() -> None:
    # min over the diagonal of ‖[[x, b], [c, y]]‖_* is |b| + |c| (at x = y = 0; ‖M‖_* ≥ |tr(MP)|
    # for the swap P), whatever the diagonal of G.
    g = _two_by_two(0.3, 2.0, -0.5, -1.2)
    thetas = jnp.zeros((2, 3, 2)).at[0, 0, 0].set(1.0).at[1, 1, 1].set(1.0)
    res = ss.minimize_dual(g, thetas)
    assert res.lam.shape == res.grad.shape == (2,)
    assert abs(float(res.value) - 2.5) < 1e-10
    assert float(jnp.linalg.norm(res.grad)) < 1e-8
    # the minimisers: x + y = 0 with |x| ≤ 1 (f² = (x + y)² + 6.25 where xy ≥ −1)
    x, y = 0.3 + float(res.lam[0]), -1.2 + float(res.lam[1])
    assert abs(x + y) < 1e-4 and abs(x) <= 1


def test_minimize_dual_matches_the_fixed_point() -> None:
    w, g = pair(seed=11)
    for norm in ("spectral", "frobenius"):
        theta = ss.normal_basis(w / ss.sphere_norm(w, norm), norm)
        res = ss.minimize_dual(g, theta)
        run = ss.solve_fixed_point(g, theta, 40)
        assert abs(float(res.lam[0]) - float(run.lam[0])) < 1e-10
        assert abs(float(res.value) - float(run.objective[-1])) < 1e-12 * float(res.value)


def test_minimize_dual_keeps_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    """A float32 problem is solved in float32: every evaluation of the dual, in the search and
    after it, and the result, to float32's precision."""
    seen = []
    value_grad = ss._dual_value_grad

    def spy(g: jax.Array, thetas: jax.Array, lam: jax.Array) -> tuple[jax.Array, jax.Array]:
        seen.append((g.dtype, thetas.dtype, lam.dtype))
        return value_grad(g, thetas, lam)

    w, g = pair(seed=11)
    theta = ss.normal_basis(w)
    exact = ss.minimize_dual(g, theta)
    monkeypatch.setattr(ss, "_dual_value_grad", spy)
    res = ss.minimize_dual(g.astype(jnp.float32), theta.astype(jnp.float32), xtol=1e-7)
    ss.minimize_dual(g.astype(jnp.float32), ss.normal_basis(w, k=2))
    assert len(seen) > 10 and set(seen) == {(np.dtype(np.float32),) * 3}
    assert res.lam.dtype == res.value.dtype == res.grad.dtype == jnp.float32
    assert abs(float(res.lam[0]) - float(exact.lam[0])) < 1e-4 * abs(float(exact.lam[0]))
    assert abs(float(res.value) - float(exact.value)) < 1e-5 * float(exact.value)


def test_minimize_dual_several_constraints_is_stationary() -> None:
    """Three constraints (the symmetric basis of a tie): the polished root of ∇f, to 1e-13."""
    w, g = tied_instance()
    thetas = ss.normal_basis(w, k=2, symmetric=True)
    res = ss.minimize_dual(g, thetas)
    run = ss.solve_fixed_point(g, thetas, 40)
    assert float(jnp.abs(res.grad).max()) < 1e-13
    np.testing.assert_allclose(res.lam, run.lam, atol=1e-10)
    assert abs(float(res.value) - float(run.objective[-1])) < 1e-13 * float(res.value)
    np.testing.assert_allclose(res.grad, jnp.einsum("inm,nm->i", thetas, msign(g + jnp.einsum(
        "i,inm->nm", res.lam, thetas))), atol=1e-14)


def test_minimize_dual_several_constraints_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stage alone: BFGS from the post's start to its gtol 1e-12 (which leaves ∇f ≈ 2e-9 on
    this flat minimum; scipy's default 1e-5 leaves 1e-5), and Powell's polish to its tol 1e-14
    (3e-16 from the start, where the default leaves 3e-14); a polish that makes ∇f worse is
    discarded."""
    w, g = tied_instance()
    thetas = ss.normal_basis(w, k=2, symmetric=True)
    gram = np.einsum("inm,jnm->ij", thetas, thetas)
    post_start = np.linalg.solve(gram, -np.einsum("inm,nm->i", thetas, g))
    minimize, root, starts = so.minimize, so.root, []

    def bfgs(fun: object, x0: np.ndarray, **kwargs: object) -> so.OptimizeResult:
        starts.append(np.array(x0))
        return minimize(fun, x0, **kwargs)

    def stay(fun: object, x0: np.ndarray, **kwargs: object) -> types.SimpleNamespace:
        return types.SimpleNamespace(x=np.array(x0))

    def worse(fun: object, x0: np.ndarray, **kwargs: object) -> types.SimpleNamespace:
        return types.SimpleNamespace(x=np.array(x0) + 1.0)

    monkeypatch.setattr(ss.so, "minimize", bfgs)
    for polish in (stay, worse):
        monkeypatch.setattr(ss.so, "root", polish)
        res = ss.minimize_dual(g, thetas)
        assert 1e-12 < float(jnp.abs(res.grad).max()) < 1e-7
    np.testing.assert_allclose(starts, [post_start, post_start], rtol=1e-14)
    monkeypatch.setattr(ss.so, "minimize", stay)
    monkeypatch.setattr(ss.so, "root", root)
    assert float(jnp.abs(ss.minimize_dual(g, thetas).grad).max()) < 5e-15


# ----------------------------------------------------------------------------- steps and descent


def test_retract_and_the_normalised_muon_step_are_their_formulas() -> None:
    w, g = pair(8, 4, seed=8)
    phi = np.asarray(ss.random_tangent(jax.random.key(1), ss.normal_basis(w), 1)[0])
    wn = np.asarray(w)
    for norm, measure in (("spectral", lambda a: np.linalg.norm(a, 2)), ("frobenius", np.linalg.norm)):
        step = wn - 0.3 * phi
        np.testing.assert_allclose(ss.retract(w, phi, 0.3, norm), step / measure(step), atol=1e-15)
        muon = wn - 0.3 * msign(g)
        np.testing.assert_allclose(ss.muon_normalized_step(w, g, 0.3, norm=norm), muon / measure(muon),
                                   atol=1e-15)
    np.testing.assert_allclose(ss.retract(w, phi, 0.0), wn / np.linalg.norm(wn, 2), atol=1e-15)
    np.testing.assert_array_equal(ss.muon_normalized_step(w, g, 0.3), ss.retract(w, polar.msign(g), 0.3))


def test_spectral_sphere_step_is_the_direction_then_the_retraction() -> None:
    w, g = pair(8, 4, seed=9)
    phi, _ = ss.steepest_direction(w, g)  # iters=10
    np.testing.assert_array_equal(ss.spectral_sphere_step(w, g, 0.2), ss.retract(w, phi, 0.2))
    wf = w / jnp.linalg.norm(w)
    phi, _ = ss.steepest_direction(wf, g, 7, norm="frobenius", solver="bracketed")
    np.testing.assert_array_equal(
        ss.spectral_sphere_step(wf, g, 0.2, norm="frobenius", iters=7, solver="bracketed"),
        ss.retract(wf, phi, 0.2, "frobenius"))
    # every other keyword reaches steepest_direction: Newton–Schulz's direction is not the SVD's
    ns = {"method": "newton_schulz", "coeffs": "polar_express", "steps": 5}
    phi, _ = ss.steepest_direction(w, g, 3, **ns)
    np.testing.assert_array_equal(ss.spectral_sphere_step(w, g, 0.2, iters=3, **ns), ss.retract(w, phi, 0.2))
    assert float(jnp.abs(phi - ss.steepest_direction(w, g, 3)[0]).max()) > 1e-6


def test_descent_is_the_loop_of_its_steps() -> None:
    """Every trace of the scanned run against a Python loop of the documented step."""
    prob = ss.least_squares_problem(seed=3, samples=16, n=8, m=4)
    data = (prob.X, prob.Y)
    etas = jnp.array([0.3, 0.1, 0.0, 0.05])

    def loss(w: jax.Array) -> jax.Array:
        return ss.least_squares_loss(w, *data)

    for variant, norm, solver, iters in (("sphere", "spectral", "fixed_point", 5),
                                         ("sphere", "frobenius", "bracketed", 6),
                                         ("muon", "spectral", "fixed_point", 5)):
        run = ss.descent(ss.least_squares_loss, prob.W0, etas, variant=variant, norm=norm, iters=iters,
                         solver=solver, data=data)
        measure = (lambda a: float(np.linalg.norm(a, 2))) if norm == "spectral" else np.linalg.norm
        w = np.asarray(prob.W0) / measure(np.asarray(prob.W0))
        for t, eta in enumerate(np.asarray(etas)):
            value, grad = jax.value_and_grad(loss)(jnp.asarray(w))
            theta = np.asarray(ss.normal_basis(w, norm)[0])
            if variant == "sphere":
                phi = np.asarray(ss.steepest_direction(w, grad, iters, norm=norm, solver=solver)[0])
            else:
                phi = msign(grad)
            np.testing.assert_allclose(run.trajectory[t], w, atol=1e-13)
            assert abs(float(run.loss[t]) - float(value)) < 1e-12 * float(value)
            assert abs(float(run.norm[t]) - measure(w)) < 1e-14
            assert abs(float(run.tangent[t]) - float(np.sum(theta * phi))) < 1e-12
            w = (w - eta * phi) / measure(w - eta * phi)
        np.testing.assert_allclose(run.W, w, atol=1e-13)
        assert abs(float(run.loss[-1]) - float(loss(jnp.asarray(w)))) < 1e-12 * float(run.loss[-1])
        assert abs(float(run.norm[-1]) - 1) < 1e-14 and run.trajectory.shape == (4, 8, 4)


def test_descent_converges_on_the_sphere() -> None:
    w, _g = pair(seed=8)
    target = w

    def loss(x):
        return 0.5 * jnp.sum((x - target) ** 2)

    w0 = jnp.asarray(np.random.default_rng(9).standard_normal(w.shape))
    run = ss.descent(loss, w0, jnp.linspace(0.05, 0.0, 60))  # defaults: sphere, spectral, 5 calls
    assert float(jnp.abs(run.norm - 1).max()) < 1e-13
    assert float(run.loss[-1]) < 0.05 * float(run.loss[0])
    explicit = ss.descent(loss, w0, jnp.linspace(0.05, 0.0, 60), variant="sphere", norm="spectral",
                          iters=5, solver="fixed_point")
    np.testing.assert_array_equal(run.W, explicit.W)
    # a square start is tall enough (n = m); one step is the documented step
    def square_loss(x):
        return 0.5 * jnp.sum((x - target[:12]) ** 2)

    sq = w0[:12] / ss.sphere_norm(w0[:12])
    one = ss.descent(square_loss, sq, jnp.array([0.1]))
    np.testing.assert_allclose(one.W, ss.spectral_sphere_step(sq, jax.grad(square_loss)(sq), 0.1, iters=5),
                               atol=1e-14)
    # a float32 start runs in float32, whatever the rates' dtype
    f32 = ss.descent(square_loss, sq.astype(jnp.float32), jnp.array([0.1]))
    assert f32.W.dtype == f32.norm.dtype == f32.trajectory.dtype == jnp.float32
    np.testing.assert_allclose(f32.W, one.W, atol=1e-5)


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
    # one step of lr = 3 from 0 is the projection of Y/2: singular values 1.5 → 1, 0.75, 0.35, 0.1
    big = matrix_with_singular_values(np.array([3.0, 1.5, 0.7, 0.2]), 6, seed=2)
    half = matrix_with_singular_values(np.array([1.0, 0.75, 0.35, 0.1]), 6, seed=2)
    w = ss.projected_gradient(ss.least_squares_loss, jnp.zeros((6, 4)), 3.0, 1, data=(jnp.eye(6), big))
    np.testing.assert_allclose(w, half, atol=1e-14)


# ----------------------------------------------------------------------------- random instances


def test_random_pair_is_the_posts_instance() -> None:
    w, g = ss.random_pair(30, 20, seed=3)
    assert w.shape == g.shape == (30, 20) and w.dtype == jnp.float64
    # W and G are the heads of one draw of NORMAL_POOL standard normals from two keys, over √m,
    # and W is normalised to spectral norm 1
    k1, k2 = jax.random.split(jax.random.key(3))
    heads = [jax.random.normal(k, (ss.NORMAL_POOL,), dtype=jnp.float64)[:600].reshape(30, 20)
             for k in (k1, k2)]
    np.testing.assert_array_equal(g, heads[1] / np.sqrt(20))
    np.testing.assert_allclose(w, heads[0] / np.linalg.norm(np.asarray(heads[0]), 2), rtol=1e-14, atol=1e-16)
    w2, g2 = ss.random_pair(30, 20, seed=3)
    np.testing.assert_array_equal(w, w2)
    np.testing.assert_array_equal(g, g2)
    # above NORMAL_POOL entries, one direct draw of the matrix's shape
    _w, g = ss.random_pair(200, 200, seed=4)
    _k1, k2 = jax.random.split(jax.random.key(4))
    np.testing.assert_array_equal(g, jax.random.normal(k2, (200, 200), dtype=jnp.float64) / np.sqrt(200))
    w32, g32 = ss.random_pair(6, 4, seed=0, dtype=jnp.float32)
    assert w32.dtype == g32.dtype == jnp.float32
    _w, g32 = ss.random_pair(200, 200, seed=4, dtype=jnp.float32)  # the direct draw in float32 too
    np.testing.assert_array_equal(g32, jax.random.normal(k2, (200, 200), dtype=jnp.float32) / math.sqrt(200))


def test_float64_instances_need_x64() -> None:
    with jax.enable_x64(False), pytest.raises(ValueError, match=message(
            "dtype float64 needs float64 enabled in JAX (jax_enable_x64)")):
        ss.random_pair(4, 3, 0)


def test_random_tangent_is_a_projected_normalised_gaussian() -> None:
    thetas = random_thetas(2, 10, 5, seed=26)
    key = jax.random.key(4)
    phis = ss.random_tangent(key, thetas, 3)
    assert phis.shape == (3, 10, 5)
    flat = thetas.reshape(2, -1)
    for phi, k in zip(np.asarray(phis), jax.random.split(key, 3), strict=True):
        x = np.asarray(jax.random.normal(k, (10, 5), dtype=jnp.float64))
        x = x - np.einsum("i,inm->nm", np.linalg.lstsq(flat.T, x.ravel(), rcond=None)[0], thetas)
        np.testing.assert_allclose(phi, x / np.linalg.norm(x, 2), atol=1e-14)
    np.testing.assert_allclose(np.einsum("knm,inm->ki", phis, thetas), 0.0, atol=1e-13)
    one = ss.random_tangent(key, thetas[0], 2)  # a single matrix is one constraint
    assert one.shape == (2, 10, 5)
    np.testing.assert_allclose(np.einsum("knm,nm->k", one, thetas[0]), 0.0, atol=1e-13)
    f32 = ss.random_tangent(key, thetas.astype(np.float32), 3)  # drawn and projected in float32
    assert f32.dtype == jnp.float32
    x = np.asarray(jax.random.normal(jax.random.split(key, 3)[0], (10, 5), dtype=jnp.float32), np.float64)
    x = x - np.einsum("i,inm->nm", np.linalg.lstsq(flat.T, x.ravel(), rcond=None)[0], thetas)
    np.testing.assert_allclose(f32[0], x / np.linalg.norm(x, 2), atol=1e-5)


def test_least_squares_problem_and_loss() -> None:
    prob = ss.least_squares_problem(seed=1, samples=40, n=8, m=5, teacher_norm=1.5)
    kx, kt, kw = jax.random.split(jax.random.key(1), 3)

    def head(k: jax.Array, shape: tuple[int, int]) -> np.ndarray:
        return np.asarray(jax.random.normal(k, (ss.NORMAL_POOL,), dtype=jnp.float64)[: math.prod(shape)]
                          ).reshape(shape)

    np.testing.assert_array_equal(prob.X, head(kx, (40, 8)))
    np.testing.assert_array_equal(prob.W0, head(kw, (8, 5)))
    teacher = head(kt, (8, 5))
    np.testing.assert_allclose(prob.W_star, 1.5 * teacher / np.linalg.norm(teacher, 2),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(prob.Y, prob.X @ prob.W_star, atol=1e-14)
    assert float(ss.least_squares_loss(prob.W_star, prob.X, prob.Y)) == 0.0
    r = np.asarray(prob.X @ prob.W0 - prob.Y)
    expected = 0.5 * np.sum(r**2) / 40
    assert abs(float(ss.least_squares_loss(prob.W0, prob.X, prob.Y)) - expected) < 1e-12 * expected
    default = ss.least_squares_problem()  # seed 7, 256 samples, 64 × 32, ‖W★‖₂ = 1, float64
    assert default.X.shape == (256, 64) and default.W_star.shape == (64, 32)
    assert default.X.dtype == jnp.float64
    assert abs(float(ss.sphere_norm(default.W_star)) - 1) < 1e-14
    np.testing.assert_array_equal(default.W0, ss.least_squares_problem(7, 256, 64, 32).W0)
    f32 = ss.least_squares_problem(seed=1, samples=40, n=8, m=5, teacher_norm=1.5, dtype=jnp.float32)
    assert {f32.X.dtype, f32.Y.dtype, f32.W_star.dtype, f32.W0.dtype} == {np.dtype(np.float32)}
    teacher = np.asarray(jax.random.normal(kt, (ss.NORMAL_POOL,), dtype=jnp.float32)[:40], np.float64)
    teacher = teacher.reshape(8, 5)
    np.testing.assert_allclose(f32.W_star, 1.5 * teacher / np.linalg.norm(teacher, 2), rtol=1e-5, atol=1e-6)


def test_relative_gap_and_gaussian_gaps(matrix_with_singular_values) -> None:
    w = matrix_with_singular_values(np.array([2.0, 1.5, 0.5]), 5)
    assert abs(float(ss.relative_gap(w)) - 0.25) < 1e-15
    np.testing.assert_allclose(ss.relative_gap(jnp.stack([w, 2 * w])), [0.25, 0.25], atol=1e-15)
    assert abs(float(ss.relative_gap(matrix_with_singular_values(np.array([4.0, 1.0]), 2))) - 0.75) < 1e-15
    key = jax.random.key(5)
    gaps = ss.gaussian_top_gaps(key, 12, 6, 7, batch=3)
    # the same matrices, drawn one key each, with NumPy's SVD
    mats = [np.asarray(jax.random.normal(k, (12, 6))) for k in jax.random.split(key, 7)]
    expected = [1 - s[1] / s[0] for s in (np.linalg.svd(a, compute_uv=False) for a in mats)]
    np.testing.assert_allclose(gaps, expected, atol=1e-13)
    np.testing.assert_array_equal(ss.gaussian_top_gaps(key, 12, 6, 7), gaps)  # batch: memory only
    # the smallest sizes accepted: a stack of one matrix, two singular values
    np.testing.assert_allclose(ss.relative_gap(w[None]), [0.25], atol=1e-15)
    small = ss.gaussian_top_gaps(key, 2, 3, 2)
    s = [np.linalg.svd(np.asarray(jax.random.normal(k, (2, 3))), compute_uv=False)
         for k in jax.random.split(key, 2)]
    np.testing.assert_allclose(small, [1 - v[1] / v[0] for v in s], atol=1e-14)


# ----------------------------------------------------------------------------- the tied first-order problem


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


def _tied(build: Callable[..., jax.Array], seed: int, n: int = 20) -> tuple[jax.Array, jax.Array]:
    """A tied n × 10 W (σ₁ = σ₂ = 1, then 0.8 to 0.1) from the ``matrix_with_singular_values``
    fixture, and a Gaussian G: seed 3 is case 1, seed 2 case 2, seed 0 case 3."""
    w = build(np.r_[1.0, 1.0, np.linspace(0.8, 0.1, 8)], n, seed=seed)
    return w, jnp.asarray(np.random.default_rng(100 + seed).standard_normal((n, 10)))


def test_tied_direction_is_feasible_and_optimal(matrix_with_singular_values) -> None:
    cases = set()
    for seed in range(6):
        w, g = _tied(matrix_with_singular_values, seed)
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
        if math.isnan(res.angle) and float(jnp.abs(res.multiplier).max()) > 0:  # case 1 (Λ₀ ⪰ 0)
            cases.add("S = 0")
        elif float(jnp.abs(res.multiplier).max()) > 0:
            cases.add("rank one")
            # certified optimal (L-BFGS-B's gtol 1e-13 and ftol 1e-16: at scipy's defaults, 2e-11)
            assert abs(res.upper - res.value) < 1e-14 * res.value
        else:
            cases.add("Muon shrinks both")
    assert cases == {"S = 0", "rank one", "Muon shrinks both"}  # every branch is exercised


def test_rotated_bases() -> None:
    u2, v2 = (jnp.asarray(np.linalg.qr(np.random.default_rng(s).standard_normal((5, 2)))[0]) for s in (1, 2))
    c, s = math.cos(0.3), math.sin(0.3)
    want = (u2 @ np.array([c, s]), v2 @ np.array([c, s]), u2 @ np.array([-s, c]), v2 @ np.array([-s, c]))
    for got, exp in zip(ss._rotated(u2, v2, jnp.asarray(0.3)), want, strict=True):
        np.testing.assert_allclose(got, exp, atol=1e-15)


def test_tied_direction_reports_its_last_iterate(matrix_with_singular_values) -> None:
    """With 3 msign calls (far from converged): value and residual are those of the Φ returned,
    the residual that of the unit constraints u_z v_zᵀ and (u_z v_⊥ᵀ + u_⊥ v_zᵀ)/√2 at θ."""
    for seed in (2, 0, 3):  # case 2, case 3, case 1
        w, g = _tied(matrix_with_singular_values, seed)
        res = ss.tied_direction(w, g, iters=3)
        phi = np.asarray(res.phi)
        assert abs(float(np.sum(np.asarray(g) * phi)) - res.value) < 1e-13 * abs(res.value)
        u2, v2 = (np.asarray(a) for a in _top_pair(w))
        block = u2.T @ phi @ v2
        np.testing.assert_allclose(res.s_eigenvalues, np.linalg.eigvalsh((block + block.T) / 2), atol=1e-13)
        if seed == 3:  # S = 0 is optimal: the value is the conservative one, the residual that of S = 0
            assert math.isnan(res.angle) and res.value == res.conservative == res.upper
            thetas = np.asarray(ss.normal_basis(w, k=2, symmetric=True))
            resid = float(np.abs(np.einsum("inm,nm->i", thetas, phi)).max())
            assert 1e-6 < res.tangent and abs(res.tangent - resid) < 1e-9 * resid
            continue
        z, zp = np.array([math.cos(res.angle), math.sin(res.angle)]), np.array([-math.sin(res.angle),
                                                                                 math.cos(res.angle)])
        uz, vz, up, vp = u2 @ z, v2 @ z, u2 @ zp, v2 @ zp
        resid = max(abs(uz @ phi @ vz), abs(uz @ phi @ vp + up @ phi @ vz) / math.sqrt(2))
        assert 1e-6 < res.tangent and abs(res.tangent - resid) < 1e-9 * resid


def test_tied_direction_rank_one_search(matrix_with_singular_values, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 2's search starts from the top eigenpair of the S = 0 multiplier Λ₀ (a = its eigenvalue,
    θ its eigenvector's angle) with a ≥ 0; in float32, every kernel call is in float32."""
    w, g = _tied(matrix_with_singular_values, 2)
    lam = np.asarray(ss.solve_fixed_point(g, ss.normal_basis(w, k=2, symmetric=True), 30).lam)
    e, q = np.linalg.eigh([[lam[0], lam[1] / math.sqrt(2)], [lam[1] / math.sqrt(2), lam[2]]])
    minimize, calls, dtypes = so.minimize, [], set()

    def lbfgsb(fun: object, x0: np.ndarray, **kwargs: object) -> so.OptimizeResult:
        calls.append((np.array(x0), kwargs["bounds"]))
        return minimize(fun, x0, **kwargs)

    def spy(kernel: object) -> object:
        def call(*args: jax.Array, **kwargs: object) -> object:
            dtypes.update(a.dtype for a in args if isinstance(a, jax.Array))
            return kernel(*args, **kwargs)
        return call

    monkeypatch.setattr(ss.so, "minimize", lbfgsb)
    ss.tied_direction(w, g)
    (x0, bounds), = calls
    np.testing.assert_allclose(x0, [e[1], math.atan2(q[1, 1], q[0, 1])], rtol=1e-10)
    assert [tuple(b) for b in bounds] == [(0.0, None), (None, None)]
    for name in ("_rank_one_dual", "_angle_solve", "_fixed_point"):
        monkeypatch.setattr(ss, name, spy(getattr(ss, name)))
    res = ss.tied_direction(w.astype(jnp.float32), g.astype(jnp.float32), tie_tol=1e-6)
    assert len(calls) == 2 and dtypes == {np.dtype(np.float32)} and float(jnp.abs(res.multiplier).max()) > 0


def test_tied_direction_angle_search(matrix_with_singular_values, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 3: the value on 16 angles kπ/16, Brent's bounded search on the two cells around the
    best to xatol 1e-10 (a stationary value), the grid's angle kept where Brent does worse, and
    S = 0 where no angle beats it (angles where μ < 0 count as S = 0's value)."""
    w, g = _tied(matrix_with_singular_values, 0)
    step = math.pi / 16
    angle_solve, angles = ss._angle_solve, []

    def record(g: jax.Array, u2: jax.Array, v2: jax.Array, angle: jax.Array, iters: int) -> tuple:
        angles.append(float(angle))
        return angle_solve(g, u2, v2, angle, iters)

    monkeypatch.setattr(ss, "_angle_solve", record)
    res = ss.tied_direction(w, g)
    np.testing.assert_allclose(angles[:16], np.arange(16) * step, atol=1e-15)
    u2, v2 = _top_pair(w)
    best = int(np.argmax([float(angle_solve(g, u2, v2, jnp.asarray(a), 30)[0]) for a in angles[:16]]))
    assert all((best - 1) * step <= a <= (best + 1) * step for a in angles[16:])
    near = [float(angle_solve(g, u2, v2, jnp.asarray(res.angle + h), 30)[0]) for h in (-1e-5, 1e-5)]
    assert abs(near[1] - near[0]) < 1e-11 < res.value - res.conservative  # stationary, and better than S = 0

    def infeasible_on(on_grid_only: bool) -> object:
        def solve(g: jax.Array, u2: jax.Array, v2: jax.Array, angle: jax.Array, iters: int) -> tuple:
            value, mu, resid, phi = angle_solve(g, u2, v2, angle, iters)
            k = float(angle) / step
            return value, (-1.0 if abs(k - round(k)) < 1e-9 or not on_grid_only else mu), resid, phi
        return solve

    monkeypatch.setattr(ss, "_angle_solve", infeasible_on(True))  # only Brent's angles are feasible
    brent = ss.tied_direction(w, g)
    assert not math.isnan(brent.angle) and brent.value > brent.conservative
    monkeypatch.setattr(ss, "_angle_solve", infeasible_on(False))  # no angle is feasible: S = 0
    zero = ss.tied_direction(w, g, iters=3)  # unconverged, so that the last iterate shows
    s0 = ss.solve_fixed_point(g, ss.normal_basis(w, k=2, symmetric=True), 3)
    assert ss.tied_direction(w.astype(jnp.float32), g, tie_tol=1e-6).multiplier.dtype == jnp.float32
    np.testing.assert_allclose(zero.phi, s0.phi, atol=1e-14)
    assert zero.value == zero.conservative and abs(zero.value - float(s0.objective[-1])) < 1e-13 * zero.value
    assert abs(zero.upper - nuclear(g)) < 1e-13 * zero.upper and math.isnan(zero.angle)
    assert zero.multiplier.shape == (2, 2) and zero.multiplier.dtype == g.dtype and not zero.multiplier.any()
    block = np.asarray(u2).T @ np.asarray(zero.phi) @ np.asarray(v2)
    np.testing.assert_allclose(zero.s_eigenvalues, np.linalg.eigvalsh((block + block.T) / 2), atol=1e-13)
    assert abs(zero.tangent - float(jnp.abs(s0.tangent[-1]).max())) < 1e-12 * zero.tangent
    monkeypatch.setattr(ss, "_angle_solve", angle_solve)
    monkeypatch.setattr(ss.so, "minimize_scalar", lambda fun, bounds, **kw: types.SimpleNamespace(
        x=bounds[0], fun=fun(bounds[0])))  # Brent "finds" the cell's edge, worse than the grid
    assert abs(ss.tied_direction(w, g).angle - best * step) < 1e-15


def test_tied_direction_defaults_square_and_float32(matrix_with_singular_values) -> None:
    w, g = _tied(matrix_with_singular_values, 0)  # case 3, where the grid is used
    default = ss.tied_direction(w, g)
    np.testing.assert_array_equal(default.phi, ss.tied_direction(w, g, iters=30, grid=16, tie_tol=1e-10).phi)
    assert ss.tied_direction(w, g, iters=31).value != default.value
    assert ss.tied_direction(w, g, grid=17).value != default.value
    sq, gs = _tied(matrix_with_singular_values, 0, n=10)
    res = ss.tied_direction(sq, gs)
    assert res.tangent < 1e-10 and res.conservative <= res.value <= res.upper * (1 + 1e-12)
    w, g = _tied(matrix_with_singular_values, 1)
    exact = ss.tied_direction(w, g)
    f32 = ss.tied_direction(w.astype(jnp.float32), g, tie_tol=1e-6)
    assert f32.phi.dtype == f32.multiplier.dtype == jnp.float32
    assert abs(f32.value - exact.value) < 1e-5 * exact.value
    assert ss.normal_basis(w.astype(jnp.float32), k=2, symmetric=True).dtype == jnp.float32


def _top_pair(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The tied bases U₂, V₂ in which tied_direction expresses Λ and θ: those of polar.svd. A tied
    pair's bases are fixed only up to a common rotation, which another SVD driver may choose
    differently (LAPACK's gesdd and gesvd do, on some CPUs)."""
    u, _s, vt = polar.svd(w)
    return u[:, :2], vt[:2].T


# ----------------------------------------------------------------------------- estimators


def test_lower_tail_exponent_is_the_maximum_likelihood_formula() -> None:
    # x = t0·e^(−c) below t0: β̂ = k/Σc = 3/6, s.e. β̂/√3; a sample at t0 and one above are left out
    t0 = 0.5
    x = np.r_[t0 * np.exp(-np.array([1.0, 2.0, 3.0])), t0, 2 * t0]
    beta, se = ss.lower_tail_exponent(x, t0)
    assert abs(beta - 0.5) < 1e-15 and abs(se - 0.5 / math.sqrt(3)) < 1e-15
    beta, se = ss.lower_tail_exponent([t0 * math.exp(-1.0), t0 * math.exp(-3.0)], t0)  # two suffice
    assert abs(beta - 0.5) < 1e-15 and abs(se - 0.5 / math.sqrt(2)) < 1e-15
    # float32 samples are computed in float64, as exactly as the same numbers given in float64
    x32 = np.float32(t0) * np.exp(-np.array([1.0, 2.0, 3.0, 0.1], dtype=np.float32))
    beta, se = ss.lower_tail_exponent(x32, t0)
    want = 4 / np.sum(np.log(t0 / x32.astype(np.float64)))
    assert abs(beta - want) < 1e-15 * want and abs(se - want / 2) < 1e-15 * want


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


def test_contraction_rate_skip_floor_and_sign() -> None:
    # the first two steps (a transient) are skipped by default; three steps are enough
    assert abs(ss.contraction_rate([9.0, -7.0, 0.5, 0.25, 0.125]) - 0.5) < 1e-14
    assert abs(ss.contraction_rate([9.0, -7.0, 0.5, -0.25, 0.125]) + 0.5) < 1e-14
    assert abs(ss.contraction_rate([9.0, 0.5, 0.25, 0.125], skip=1) - 0.5) < 1e-14
    # steps at or below the floor are dropped (1e-12 by default), steps above it kept
    assert abs(ss.contraction_rate([9.0, -7.0, 0.5, 0.25, 0.125, 1e-12, 1e-12]) - 0.5) < 1e-14
    assert abs(ss.contraction_rate([9.0, -7.0, 0.5, 0.25, 0.125, 0.01, 0.01], floor=0.01) - 0.5) < 1e-14
    # the sign is that of the median ratio e_{t+1}/e_t: −2 here (ratios −2, 1/2, median −3/4; the
    # products e_{t+1}e_t, −2 and 2, have median 0), and alternating where ratios to the first
    # step would not be (−2, 4, −8, 16: median 1)
    assert abs(ss.contraction_rate([1.0, -2.0, -1.0], skip=0) + 1.0) < 1e-15
    assert abs(ss.contraction_rate([1.0, -2.0, 4.0, -8.0, 16.0], skip=0) + 2.0) < 1e-14
    # a zero median (ratios −1/2 and 1/2) counts as not alternating
    assert abs(ss.contraction_rate([1.0, -0.5, -0.25], skip=0) - 0.5) < 1e-15
    # float32 histories are fitted in float64
    e32 = np.float32(0.3) * np.float32(0.7) ** np.arange(12, dtype=np.float32)
    slope = np.polyfit(np.arange(2, 12), np.log(e32[2:].astype(np.float64)), 1)[0]
    assert abs(ss.contraction_rate(e32) - math.exp(slope)) < 1e-15
    history = [9.0, -7.0, 0.5, 0.25, 0.125, 0.0625]
    assert abs(ss.contraction_rate(history, floor=0.1) - 0.5) < 1e-14
    assert abs(ss.contraction_rate(history) - 0.5) < 1e-14
    with pytest.raises(ValueError, match=message("need 3 steps above floor 0.1 after the first 2, got 2")):
        ss.contraction_rate([9.0, -7.0, 0.5, 0.25, 0.01], floor=0.1)
    with pytest.raises(ValueError, match=message("need 3 steps above floor 1e-12 after the first 3, got 2")):
        ss.contraction_rate([9.0, -7.0, 0.5, 0.25, 0.125], skip=3)


# ----------------------------------------------------------------------------- bad input


W, G = jnp.ones((4, 3)), jnp.ones((4, 3))


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: ss.steepest_direction(jnp.ones(3), jnp.ones(3)), "W must be 2-D, got shape (3,)"),
        (lambda: ss.steepest_direction(W, jnp.ones(3)), "G must be 2-D, got shape (3,)"),
        (lambda: ss.steepest_direction(W, jnp.ones((3, 4))),
         "W and G must have the same shape, got (4, 3) and (3, 4)"),
        (lambda: ss.steepest_direction(W, G.at[0, 0].set(jnp.nan)), "G must have only finite entries"),
        (lambda: ss.steepest_direction(W, G, 0), "iters must be >= 1, got 0"),
        (lambda: ss.steepest_direction(W, G, norm="nuclear"),
         "norm must be one of 'spectral', 'frobenius', got 'nuclear'"),
        (lambda: ss.steepest_direction(W, G, solver="newton"),
         "solver must be one of 'fixed_point', 'bracketed', 'inverse', got 'newton'"),
        (lambda: ss.steepest_direction(W, G, k=2, solver="bracketed"),
         "solver='bracketed' handles one constraint (one theta) only"),
        (lambda: ss.steepest_direction(W, G, k=5), "k must be <= 3, got 5"),
        (lambda: ss.steepest_direction(W, G, k=0), "k must be >= 1, got 0"),
        (lambda: ss.steepest_direction(W, G, theta="lanczos"),
         "theta must be one of 'svd', 'power', got 'lanczos'"),
        (lambda: ss.steepest_direction(W, G, k=2, theta="power"),
         "theta='power' gives only the top singular pair; use theta='svd' for k > 1"),
        (lambda: ss.steepest_direction(W, G, method="svd", steps=3),
         "steps and coeffs apply only to method='newton_schulz'"),
        (lambda: ss.solve_fixed_point(G.T, W.T, 3),
         "G must be tall (n >= m); transpose it (and thetas) first, got (3, 4)"),
        (lambda: ss.solve_fixed_point(jnp.ones(3), W, 3), "G must be 2-D, got shape (3,)"),
        (lambda: ss.solve_fixed_point(G, jnp.ones((2, 3, 3)), 3),
         "thetas must be a (count, n, m) stack of matrices shaped like G (4, 3), got shape (2, 3, 3)"),
        (lambda: ss.solve_fixed_point(G, jnp.ones((1, 1, 4, 3)), 3),
         "thetas must be a (count, n, m) stack of matrices shaped like G (4, 3), got shape (1, 1, 4, 3)"),
        (lambda: ss.solve_fixed_point(G, jnp.ones(12), 3),
         "thetas must be a (count, n, m) stack of matrices shaped like G (4, 3), got shape (12,)"),
        (lambda: ss.solve_fixed_point(G, jnp.stack([W, 2 * W]), 3),
         "thetas must be linearly independent (their Gram matrix is singular)"),
        (lambda: ss.solve_fixed_point(G, W, 0), "iters must be >= 1, got 0"),
        (lambda: ss.solve_fixed_point(G, W, 3, solver="adam"),
         "solver must be one of 'fixed_point', 'bracketed', 'inverse', got 'adam'"),
        (lambda: ss.solve_fixed_point(G, jnp.stack([W, W.at[0, 0].set(2.0)]), 3, solver="bracketed"),
         "solver='bracketed' handles one constraint (one theta) only"),
        (lambda: ss.dual_objective(G, W, [1.0, 2.0]),
         "lam must have one entry per theta (1), got shape (2,)"),
        (lambda: ss.dual_objective(G, W, "one"), "lam must be a number or a vector of numbers, got 'one'"),
        (lambda: ss.dual_objective(G, W, [[1.0]]), "lam must be 1-D, got shape (1, 1)"),
        (lambda: ss.dual_objective(jnp.ones(3), W, 1.0), "G must be 2-D, got shape (3,)"),
        (lambda: ss.dual_derivatives(G, W, [1.0, 2.0]),
         "lam must have one entry per theta (1), got shape (2,)"),
        (lambda: ss.minimize_dual(G, W, xtol=0.0), "xtol must be > 0, got 0.0"),
        (lambda: ss.minimize_dual(jnp.ones(3), W), "G must be 2-D, got shape (3,)"),
        (lambda: ss.retract(W, G, -0.1), "eta must be >= 0, got -0.1"),
        (lambda: ss.retract(jnp.ones(3), G, 0.1), "W must be 2-D, got shape (3,)"),
        (lambda: ss.retract(W, jnp.ones(3), 0.1), "Phi must be 2-D, got shape (3,)"),
        (lambda: ss.retract(W, G.T, 0.1), "W and Phi must have the same shape, got (4, 3) and (3, 4)"),
        (lambda: ss.muon_normalized_step(jnp.ones(3), G, 0.1), "W must be 2-D, got shape (3,)"),
        (lambda: ss.muon_normalized_step(W, jnp.ones(3), 0.1), "G must be 2-D, got shape (3,)"),
        (lambda: ss.muon_normalized_step(W, G.T, 0.1),
         "W and G must have the same shape, got (4, 3) and (3, 4)"),
        (lambda: ss.sphere_norm(jnp.ones(3)), "W must be 2-D, got shape (3,)"),
        (lambda: ss.sphere_norm(W, "nuclear"), "norm must be one of 'spectral', 'frobenius', got 'nuclear'"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), variant="adam"),
         "variant must be one of 'sphere', 'muon', got 'adam'"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W.T, jnp.ones(3)),
         "W0 must be tall (n >= m), got shape (3, 4)"),
        (lambda: ss.descent(lambda x: jnp.sum(x), jnp.ones(3), jnp.ones(3)),
         "W0 must be 2-D, got shape (3,)"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones((3, 1))), "etas must be 1-D, got shape (3, 1)"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, -jnp.ones(3)), "etas must be >= 0"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), iters=0), "iters must be >= 1, got 0"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), solver="newton"),
         "solver must be one of 'fixed_point', 'bracketed', 'inverse', got 'newton'"),
        (lambda: ss.descent(None, W, jnp.ones(3)), "loss_fn must be a function of W"),
        (lambda: ss.descent(lambda x: jnp.sum(x), W, jnp.ones(3), data=[W]),
         "data must be a tuple of arrays (the loss's extra arguments), got list"),
        (lambda: ss.descent(lambda x, y: jnp.sum(x), W, jnp.ones(3), data=("x",)),
         "data[0] must be an array of numbers, got str"),
        (lambda: ss.normal_basis(jnp.ones(3)), "W must be 2-D, got shape (3,)"),
        (lambda: ss.normal_basis(W, k=2, rotation=jnp.ones((2, 2))), "rotation must be orthogonal (RᵀR = I)"),
        (lambda: ss.normal_basis(W, k=2, rotation=jnp.eye(3)),
         "rotation must be a 2 × 2 orthogonal matrix, got shape (3, 3)"),
        (lambda: ss.normal_basis(W, k=2, rotation=jnp.ones(2)), "rotation must be 2-D, got shape (2,)"),
        (lambda: ss.normal_basis(W, "frobenius", rotation=jnp.eye(1)),
         "k > 1 and rotation apply only to norm='spectral'"),
        (lambda: ss.normal_basis(W, "frobenius", k=2), "k > 1 and rotation apply only to norm='spectral'"),
        (lambda: ss.normal_basis(W, theta="power", rotation=jnp.eye(1)),
         "theta='power' gives only the top singular pair; use theta='svd' for k > 1"),
        (lambda: ss.random_pair(4, 3, -1), "seed must be >= 0, got -1"),
        (lambda: ss.random_pair(0, 3, 1), "n must be >= 1, got 0"),
        (lambda: ss.random_pair(4, 0, 1), "m must be >= 1, got 0"),
        (lambda: ss.random_pair(4, 3, 0, dtype=jnp.int32), "dtype must be a floating dtype, got int32"),
        (lambda: ss.random_tangent(0, W, 3),
         "key must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got int"),
        (lambda: ss.random_tangent(jax.random.key(0), W, 0), "count must be >= 1, got 0"),
        (lambda: ss.random_tangent(jax.random.key(0), "W", 1), "thetas must be an array of numbers, got str"),
        (lambda: ss.solve_fixed_point(G, "W"), "thetas must be an array of numbers, got str"),
        (lambda: ss.random_tangent(jax.random.key(0), jnp.ones(3), 1),
         "thetas must be one matrix or a (count, n, m) stack, got (3,)"),
        (lambda: ss.least_squares_problem(teacher_norm=0.0), "teacher_norm must be > 0, got 0.0"),
        (lambda: ss.least_squares_problem(seed=-1), "seed must be >= 0, got -1"),
        (lambda: ss.least_squares_problem(samples=0), "samples must be >= 1, got 0"),
        (lambda: ss.least_squares_problem(n=0), "n must be >= 1, got 0"),
        (lambda: ss.least_squares_problem(m=0), "m must be >= 1, got 0"),
        (lambda: ss.least_squares_problem(dtype=jnp.int32), "dtype must be a floating dtype, got int32"),
        (lambda: ss.projected_gradient(ss.least_squares_loss, W, -1.0, 3), "lr must be > 0, got -1.0"),
        (lambda: ss.projected_gradient(ss.least_squares_loss, W, 1.0, 0), "steps must be >= 1, got 0"),
        (lambda: ss.projected_gradient(ss.least_squares_loss, jnp.ones(3), 1.0, 3),
         "W0 must be 2-D, got shape (3,)"),
        (lambda: ss.projected_gradient(None, W, 1.0, 3), "loss_fn must be a function of W"),
        (lambda: ss.projected_gradient(ss.least_squares_loss, W, 1.0, 3, data=("x",)),
         "data[0] must be an array of numbers, got str"),
        (lambda: ss.relative_gap(jnp.ones((3, 1))),
         "W must be a matrix (or a stack) with at least 2 singular values, got (3, 1)"),
        (lambda: ss.relative_gap("W"), "W must be an array of numbers, got str"),
        (lambda: ss.relative_gap(jnp.ones(3)),
         "W must be a matrix (or a stack) with at least 2 singular values, got (3,)"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 5, 1, 3),
         "a gap needs at least 2 singular values, got a 5 × 1 matrix"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 0, 3, 3), "n must be >= 1, got 0"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 3, 0, 3), "m must be >= 1, got 0"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 3, 3, 0), "count must be >= 1, got 0"),
        (lambda: ss.gaussian_top_gaps(jax.random.key(0), 3, 3, 3, batch=0), "batch must be >= 1, got 0"),
        (lambda: ss.gaussian_top_gaps(0, 3, 3, 3),
         "key must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got int"),
        (lambda: ss.tied_direction(W.T, G.T), "W and G must be tall (n >= m), got (3, 4)"),
        (lambda: ss.tied_direction(jnp.ones(3), G), "W must be 2-D, got shape (3,)"),
        (lambda: ss.tied_direction(W, jnp.ones(3)), "G must be 2-D, got shape (3,)"),
        (lambda: ss.tied_direction(W, G.T), "W and G must have the same shape, got (4, 3) and (3, 4)"),
        (lambda: ss.tied_direction(W, G, iters=0), "iters must be >= 1, got 0"),
        (lambda: ss.tied_direction(W, G, grid=2), "grid must be >= 3, got 2"),
        (lambda: ss.tied_direction(W, G, tie_tol=0.0), "tie_tol must be > 0, got 0.0"),
        (lambda: ss.lower_tail_exponent([0.5, 0.6], 0.4), "need at least 2 samples below t0 = 0.4, got 0"),
        (lambda: ss.lower_tail_exponent([0.1, 0.6], 0.4), "need at least 2 samples below t0 = 0.4, got 1"),
        (lambda: ss.lower_tail_exponent([-0.5, 0.6], 0.4),
         "samples must be a 1-D array of positive finite numbers"),
        (lambda: ss.lower_tail_exponent([0.0, 0.1, 0.2], 0.4),
         "samples must be a 1-D array of positive finite numbers"),
        (lambda: ss.lower_tail_exponent([np.inf, 0.1, 0.2], 0.4),
         "samples must be a 1-D array of positive finite numbers"),
        (lambda: ss.lower_tail_exponent([[0.1, 0.2]], 0.4),
         "samples must be a 1-D array of positive finite numbers"),
        (lambda: ss.lower_tail_exponent([0.1, 0.2], 0.0), "t0 must be > 0, got 0.0"),
        (lambda: ss.contraction_rate([1.0, 0.5]), "need 3 steps above floor 1e-12 after the first 2, got 0"),
        (lambda: ss.contraction_rate([1.0, 0.5, np.nan]), "tangent must be a 1-D array of finite numbers"),
        (lambda: ss.contraction_rate([[1.0, 0.5, 0.25]]), "tangent must be a 1-D array of finite numbers"),
        (lambda: ss.contraction_rate([1.0, 0.5, 0.25], floor=0.0), "floor must be > 0, got 0.0"),
        (lambda: ss.contraction_rate([1.0, 0.5, 0.25], skip=-1), "skip must be >= 0, got -1"),
    ],
)
def test_bad_input_raises_value_error(call, text: str) -> None:
    with pytest.raises(ValueError, match=message(text)):
        call()


def test_tied_direction_refuses_an_untied_matrix(matrix_with_singular_values) -> None:
    with pytest.raises(ValueError, match=r"^W's top singular value must be repeated exactly twice \(to 1e-10 "
                                         r"relative\), got σ₁, σ₂, σ₃ = \[3\.4641\d+e\+00 "):
        ss.tied_direction(W, G)
    thrice = matrix_with_singular_values(np.array([1.0, 1.0, 1.0, 0.5]), 6)
    with pytest.raises(ValueError, match=r"^W's top singular value must be repeated exactly twice"):
        ss.tied_direction(thrice, thrice)
    nearly = matrix_with_singular_values(np.array([1.0, 1.0 - 1e-6, 0.5]), 6)
    with pytest.raises(ValueError, match=r"\(to 1e-07 relative\)"):
        ss.tied_direction(nearly, nearly, tie_tol=1e-7)
    g = jnp.asarray(np.random.default_rng(1).standard_normal((6, 3)))
    assert ss.tied_direction(nearly, g, tie_tol=2e-6).tangent < 1e-10  # tied within the tolerance


def test_tied_pair_tolerances_at_their_edges() -> None:
    """σ₁ − σ₂ ≤ τσ₁ is a tie, σ₂ − σ₃ ≤ τσ₁ a third tied value: both edges exactly (diagonal
    matrices, whose singular values the SVD returns exactly), at σ₁ = 2 so that τσ₁ ≠ τ/σ₁."""

    def diag(*s: float, dtype: type = jnp.float64) -> jax.Array:
        return jnp.zeros((len(s) + 1, len(s)), dtype).at[np.arange(len(s)), np.arange(len(s))].set(
            jnp.asarray(s, dtype))

    assert ss._tied_pair(diag(2.0, 1.5, 0.5), 0.25)[0].shape == (4, 2)  # σ₁ − σ₂ = τσ₁: tied
    three = np.array([2.0, 1.75, 1.25])  # σ₂ − σ₃ = τσ₁: a third tied value; the message shows σ₁..σ₃
    with pytest.raises(ValueError, match=message(f"W's top singular value must be repeated exactly twice "
                                                 f"(to 0.25 relative), got σ₁, σ₂, σ₃ = {three}")):
        ss._tied_pair(diag(*three, 0.5), 0.25)
    assert ss._tied_pair(diag(2.0, 1.75, 1.2), 0.25)[0].shape == (4, 2)
    u, v = ss._tied_pair(diag(1.0, 1.0), 1e-10)  # two singular values in all
    np.testing.assert_array_equal(np.abs(u), np.eye(3, 2))
    np.testing.assert_array_equal(np.abs(v), np.eye(2))
    with pytest.raises(ValueError, match="repeated exactly twice"):
        ss._tied_pair(diag(1.0, 1.0, 1.0), 1e-10)
    # the tolerance is applied in float64 to a float32 matrix: σ₁ − σ₂ = 2⁻¹⁰ exceeds τ = 2⁻¹⁰ − 2⁻⁴⁰
    # (in float32, τ would round to 2⁻¹⁰)
    with pytest.raises(ValueError, match="repeated exactly twice"):
        ss._tied_pair(diag(1.0, 1 - 2.0**-10, 0.5, dtype=jnp.float32), 2.0**-10 - 2.0**-40)
