"""Unit tests for kexue_lib.polar: msign (SVD and Newton–Schulz), schedules, the scalar map, the
Adam fit, optimal odd polynomials and the Polar Express recursion, power iteration."""

from __future__ import annotations

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath
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
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=[[1.0]]), "coeffs"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=np.ones((2, 3, 1))), "coeffs"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=[["a", "b"]]), "coeffs"),
        (lambda: polar.msign(jnp.ones((2, 2)), normalize="schatten8"), "normalize"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", normalize="l1"), "normalize"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones((3, 1))), "table"),
        (lambda: polar.Schedule("s", ((1.0, 2.0), (1.0, 2.0, 3.0)), default_steps=2), "length"),
        (lambda: polar.Schedule("s", ((1.0, 2.0),), default_steps=1, safety=0.5), "safety"),
        (lambda: polar.Schedule("s", ((1.0, math.nan),), default_steps=1), "finite"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", coeffs=[[1.0, 2.0, np.inf]]), "finite"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", steps=0), "steps"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), iters=0), "iters"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), tol=-1.0), "tol"),
        (lambda: polar.top_singular_triplet(jnp.ones((2, 2)), key=0), "key"),
        (lambda: polar.top_singular_triplet(jnp.ones(4)), "2-D"),
        (lambda: polar.sv_error_profile("cubic", 1.5), "ell"),
        (lambda: polar.optimal_odd_quintic(1.0, 0.5), "lo"),
        (lambda: polar.polar_express_coefficients(1e-3, 0), "steps"),
        (lambda: polar.polar_express_coefficients(1.0, 3), "ell"),
        (lambda: polar.polar_express_coefficients(1e-3, 3, degree=4), "odd"),
        (lambda: polar.polar_express_coefficients(1e-3, 3, cushion=1.0), "cushion"),
        (lambda: polar.polar_express_coefficients(1e-3, 3, cushion=-0.1), "cushion"),
        (lambda: polar.optimal_odd_polynomial(4, 0.1, 1.0), "odd"),
        (lambda: polar.optimal_odd_polynomial(-1, 0.1, 1.0), "degree"),
        (lambda: polar.optimal_odd_polynomial(3.0, 0.1, 1.0), "degree"),
        (lambda: polar.optimal_odd_polynomial(5, 0.0, 1.0), "lo"),
        (lambda: polar.optimal_odd_polynomial(5, -0.1, 1.0), "lo"),
        (lambda: polar.optimal_odd_polynomial(5, 0.5, 0.5), "lo"),
        (lambda: polar.optimal_odd_polynomial(5, 0.6, 0.5), "lo"),
        (lambda: polar.flat_odd_polynomial(2), "odd"),
        (lambda: polar.schedule_headroom("jordan", upto=1.0), "upto"),
        (lambda: polar.singular_value_iterates("jordan", [np.inf]), "finite"),
        (lambda: polar.topk_loss(jnp.ones((2, 3)), jnp.ones(5), 6), "k"),
        (lambda: polar.topk_loss(jnp.ones(3), jnp.ones(5), 2), "table"),
        (lambda: polar.fit_coefficients(np.ones((2, 2, 3))), "init"),
        (lambda: polar.fit_coefficients(np.ones((4, 3)), steps=5), "steps"),
        (lambda: polar.fit_coefficients([1.0, 0.0, 0.0], k=0), "k"),
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


# ---------------------------------------------------------------------------------------------
# The post's coefficient sets, the scalar map, normalisations and the peers


def test_post_coefficient_sets_as_data() -> None:
    expect = {"jordan": (1, 5), "su_adam": (1, 5), "youjiacheng": (6, 6), "su_x": (6, 6),
              "su_x2": (6, 6), "su_x3": (5, 5), "zhang_ruichong": (5, 5)}
    for name, (rows, steps) in expect.items():
        sched = polar.SCHEDULES[name]
        assert len(sched.coeffs) == rows and sched.default_steps == steps and sched.safety == 1.0
        assert sched.degree == 5
    assert polar.SCHEDULES["youjiacheng"].coeffs[0] == (3955 / 1024, -8306 / 1024, 5008 / 1024)
    assert polar.SCHEDULES["su_x2"].coeffs[-1] == (3148 / 1024, -5464 / 1024, 4095 / 1024)
    assert polar.SCHEDULES["su_x3"].coeffs[0] == (4.6182, -12.9582, 9.3299)
    assert polar.SCHEDULES["zhang_ruichong"].coeffs[3] == (3.64, -7.48, 4.43)
    assert polar.SCHEDULES["su_adam"].coeffs == ((3.3748, -4.6969, 2.1433),)


def test_singular_value_iterates_is_the_composition_with_safety() -> None:
    x0 = np.array([1e-3, 0.3, 1.0, -0.5])
    out = polar.singular_value_iterates("polar_express", x0, 9)
    x = x0 / 1.01
    for t in range(9):
        a, b, c = polar.PUBLISHED_POLAR_EXPRESS[min(t, 7)]
        s = 1.01 if t < 8 else 1.0
        x = a / s * x + b / s**3 * x**3 + c / s**5 * x**5
        np.testing.assert_allclose(out[t], x, rtol=1e-12)  # roundings, amplified by p_t'
    # degree 9 rows (c1, c3, c5, c7, c9) and a diverging value (inf, no warning, no nan)
    row = np.array([[2.0, -1.0, 0.5, -0.25, 0.125]])
    got = polar.singular_value_iterates(row, [0.7, 1e200])[0]
    assert got[0] == pytest.approx(sum(c * 0.7 ** (2 * j + 1) for j, c in enumerate(row[0])), rel=1e-15)
    assert got[1] == math.inf
    cubic = polar.singular_value_iterates("cubic", [1e200], 2)
    assert np.all(np.isinf(cubic)) and not np.any(np.isnan(cubic))


def test_schedule_headroom_closed_forms() -> None:
    # the identity map: error 1 - ell on [ell, 1], so x0 may go up to 2 - ell
    assert polar.schedule_headroom([[1.0, 0.0]], ell=0.25) == pytest.approx(1.75, abs=1e-12)
    # many steps of Jordan's quintic: the escape point is its largest fixed point, where
    # c x^4 + b x^2 + (a - 1) = 0
    a, b, c = polar.SCHEDULES["jordan"].coeffs[0]
    fixed = math.sqrt((-b + math.sqrt(b * b - 4 * c * (a - 1))) / (2 * c))
    assert polar.schedule_headroom("jordan", 60) == pytest.approx(fixed, abs=1e-9)
    # a map with no crossing below `upto`
    assert polar.schedule_headroom([[1.0, 0.0]], ell=0.25, upto=1.5) == math.inf


@pytest.mark.parametrize("normalize", ["schatten4", "schatten8"])
@pytest.mark.parametrize("shape", [(30, 12), (12, 30)])
def test_newton_schulz_schatten_normalisation_is_the_scalar_map(
    normalize: str, shape: tuple[int, int], matrix_with_singular_values
) -> None:
    s = np.geomspace(1e-2, 3.0, 12)
    m = matrix_with_singular_values(s, 30, seed=4)
    m = m if shape[0] >= shape[1] else m.T
    p = 4 if normalize == "schatten4" else 8
    x0 = s / np.sum(s**p) ** (1 / p)
    for coeffs in ("jordan", "polar_express"):
        out = polar.msign(m, "newton_schulz", coeffs=coeffs, normalize=normalize)
        table, _ = polar.schedule_coefficients(coeffs)
        expected = polar.singular_value_iterates(coeffs, x0, len(table))[-1]
        sv = np.linalg.svd(np.asarray(out), compute_uv=False)
        np.testing.assert_allclose(np.sort(sv), np.sort(expected), rtol=1e-11)


def test_newton_schulz_wide_rows_degree_9(matrix_with_singular_values) -> None:
    s = np.geomspace(0.05, 1.0, 10)
    m = matrix_with_singular_values(s, 16, seed=6)
    rows = polar.polar_express_coefficients(1e-2, 5, degree=9, cushion=0.0)
    out = polar.msign(m, "newton_schulz", coeffs=rows)
    expected = polar.singular_value_iterates(rows, s / np.linalg.norm(s))[-1]
    np.testing.assert_allclose(np.sort(np.linalg.svd(np.asarray(out), compute_uv=False)),
                               np.sort(expected), rtol=1e-11)
    np.testing.assert_allclose(out, polar.msign(m), atol=1e-10)


def test_newton_schulz_matches_optax(matrix_with_singular_values) -> None:
    muon = pytest.importorskip("optax.contrib._muon")
    m = matrix_with_singular_values(np.geomspace(1e-2, 1.0, 12), 20, seed=7)
    coeffs = jnp.asarray(polar.SCHEDULES["jordan"].coeffs[0])
    for ours, theirs in (("frobenius", "frobenius"), ("schatten4", "schatten")):
        ref = muon.orthogonalize_via_newton_schulz(m, coeffs, 5, theirs, eps=1e-30)
        out = polar.msign(m, "newton_schulz", coeffs="jordan", normalize=ours)
        np.testing.assert_allclose(out, ref, atol=1e-12)


def test_topk_loss_is_the_mean_of_the_largest_errors() -> None:
    x0 = np.linspace(0, 1, 1001)[1:]
    table = np.array([[3.4445, -4.7750, 2.0315]] * 5)
    xt = polar.singular_value_iterates(table, x0)[-1]
    expected = np.sort(np.abs(xt - 1))[-37:].mean()
    assert float(polar.topk_loss(table, x0, 37)) == pytest.approx(expected, rel=1e-13)


def test_fit_coefficients_is_the_posts_adam() -> None:
    """Thirty steps of the post's loop, written out in NumPy (gradients from JAX)."""
    iters, k, points, lr, tol = 30, 20, 500, 1e-2, 0.1
    grid = jnp.linspace(0, 1, points + 1, dtype=jnp.float32)[1:]

    def g_of(w: np.ndarray) -> np.ndarray:
        g = np.asarray(jax.grad(lambda w: polar.topk_loss(jnp.broadcast_to(w, (5, 3)), grid, k))(
            jnp.asarray(w, dtype=jnp.float32)), dtype=np.float64)
        return g / max(np.linalg.norm(g), 1.0)

    w = np.array([1.5, -0.5, 0.0])
    m = v = np.zeros(3)
    for i in range(iters):
        g = 0.6 * g_of(w) + 0.2 * (g_of(w + tol / 2) + g_of(w - tol / 2))
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        w = w - (lr if i <= 10 else lr * 0.1) * m / np.sqrt(v + 1e-20)
    fit = polar.fit_coefficients([1.5, -0.5, 0.0], k=k, points=points, iters=iters, lr=lr,
                                 decay_step=10, tol=tol)
    assert fit.coefficients.shape == (5, 3) and fit.path.shape == (iters, 3)
    np.testing.assert_allclose(fit.coefficients[0], w, rtol=2e-5)  # float32 against float64
    np.testing.assert_allclose(fit.path[-1], w, rtol=2e-5)
    per_step = polar.fit_coefficients(np.tile([1.5, -0.5, 0.0], (3, 1)), iters=3, points=200, k=5)
    assert per_step.coefficients.shape == (3, 3) and per_step.path.shape == (3, 3, 3)


# ---------------------------------------------------------------------------------------------
# Optimal odd polynomials and the greedy recursion


def test_flat_odd_polynomial_closed_forms() -> None:
    assert polar.flat_odd_polynomial(1) == (Fraction(1),)
    assert polar.flat_odd_polynomial(3) == (Fraction(3, 2), Fraction(-1, 2))
    assert polar.flat_odd_polynomial(5) == (Fraction(15, 8), Fraction(-10, 8), Fraction(3, 8))
    assert polar.flat_odd_polynomial(7) == tuple(Fraction(v, 16) for v in (35, -35, 21, -5))
    for degree in (9, 11):
        c = polar.flat_odd_polynomial(degree)
        assert sum(c) == 1  # p(1) = 1
        derivative = [(2 * j + 1) * cj for j, cj in enumerate(c)]  # p'(x) = k (1 - x²)^n
        n = (degree - 1) // 2
        assert derivative == [derivative[0] * math.comb(n, j) * (-1) ** j for j in range(n + 1)]


def test_optimal_odd_cubic_is_the_closed_form() -> None:
    """Post 10996, eq. (11): x1² = (l² + lu + u²)/3, k = −6/(l²u + lu² + 2x1³), p' = k(x² − x1²)."""
    with mpmath.workdps(40):
        for lo, hi in (("0.001", "1"), ("0.3", "0.9"), ("0.99", "1")):
            v, u = mpmath.mpf(lo), mpmath.mpf(hi)
            x1 = mpmath.sqrt((v * v + v * u + u * u) / 3)
            k = -6 / (v * v * u + v * u * u + 2 * x1**3)
            c1, c3, err = polar.optimal_odd_polynomial(3, lo, hi)
            assert abs(c1 - (-k * x1 * x1)) < mpmath.mpf(10) ** -33
            assert abs(c3 - k / 3) < mpmath.mpf(10) ** -33
            assert abs(err - (1 - (c1 * v + c3 * v**3))) < mpmath.mpf(10) ** -33


def test_optimal_odd_quintic_is_degree_5_and_reproduces_the_post() -> None:
    a, b, c, err = polar.optimal_odd_quintic(1e-3, 1.0)
    assert (a, b, c, err) == polar.optimal_odd_polynomial(5, 1e-3, 1.0)
    # post 10996, eq. (12): 8.4703 x − 25.1081 x³ + 18.6293 x⁵, E = 0.9915
    for got, want in ((a, 8.4703), (b, -25.1081), (c, 18.6293), (err, 0.9915)):
        assert abs(float(got) - want) < 1e-4
    a1, b1, c1, e1 = polar.optimal_odd_quintic(0.7, 0.7)  # a point: the flat limit, E = 0
    assert e1 == 0 and abs(a1 * 0.7 + b1 * 0.7**3 + c1 * 0.7**5 - 1) < 1e-30


@pytest.mark.parametrize("degree", [3, 5, 7, 9])
def test_optimal_odd_polynomial_equioscillates_and_is_scale_invariant(degree: int) -> None:
    *odd, err = polar.optimal_odd_polynomial(degree, "0.01", "1")
    x = np.linspace(0.01, 1.0, 400001)
    p = sum(float(c) * x ** (2 * j + 1) for j, c in enumerate(odd))
    dev = 1 - p
    assert abs(np.abs(dev).max() - float(err)) < 1e-9
    assert abs(dev[0] - float(err)) < 1e-12  # a minimum of p at lo (σ = 1 in the theorem)
    n = (degree - 1) // 2
    assert abs(dev[-1] + (-1) ** n * float(err)) < 1e-12  # p(hi) = 1 + (−1)^n E
    # post 10996, eqs. (16)–(17): [a, b] and [a/b, 1] have the same error, c_k scaled by b^k
    *odd_b, err_b = polar.optimal_odd_polynomial(degree, "0.005", "0.5")
    with mpmath.workdps(40):
        assert abs(err_b - err) < mpmath.mpf(10) ** -30
        for j, (cb, c) in enumerate(zip(odd_b, odd, strict=True)):
            assert abs(cb * mpmath.mpf("0.5") ** (2 * j + 1) - c) < mpmath.mpf(10) ** -30 * abs(c)


def test_optimal_odd_polynomial_on_a_narrow_interval_tends_to_the_flat_limit() -> None:
    flat = [float(c) for c in polar.flat_odd_polynomial(7)]
    *odd, err = polar.optimal_odd_polynomial(7, 1 - 1e-6, 1.0)
    np.testing.assert_allclose([float(c) for c in odd], flat, rtol=1e-5)
    assert 0 < err < 1e-24
    *odd0, err0 = polar.optimal_odd_polynomial(7, "0.99999999999999999999", 1)
    assert [float(c) for c in odd0] == pytest.approx(flat, rel=1e-15) and 0 <= err0 < 1e-70


def test_greedy_cubic_recursion_is_the_closed_form_step_by_step() -> None:
    """cushion = 0, degree 3: each step is (11) on [ℓ, u]; p(ℓ) = p(u) is the minimum."""
    sched = polar.polar_express_schedule(1e-2, 6, degree=3, cushion=0.0, flat=0.0)
    with mpmath.workdps(40):
        v, u = mpmath.mpf(1e-2), mpmath.mpf(1)
        for t in range(6):
            x1 = mpmath.sqrt((v * v + v * u + u * u) / 3)
            k = -6 / (v * v * u + v * u * u + 2 * x1**3)
            c1, c3 = -k * x1 * x1, k / 3
            low, high = c1 * v + c3 * v**3, c1 * x1 + c3 * x1**3
            gamma = 2 / (low + high)
            for got, want in zip(sched.coefficients[t], (gamma * c1, gamma * c3), strict=True):
                assert abs(got - want) < mpmath.mpf(10) ** -30
            v, u = gamma * low, gamma * high
            assert abs(sched.lower[t + 1] - v) < mpmath.mpf(10) ** -30
            assert abs(sched.upper[t + 1] - (2 - v)) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize("degree", [5, 7])
def test_greedy_recursion_ranges(degree: int) -> None:
    sched = polar.polar_express_schedule(1e-3, 4, degree=degree, cushion=0.0, flat=0.0)
    for t, row in enumerate(sched.coefficients):
        lo, hi = float(sched.lower[t]), float(sched.upper[t])
        x = np.linspace(lo, hi, 200001)
        p = sum(float(c) * x ** (2 * j + 1) for j, c in enumerate(row))
        assert abs(p.min() - float(sched.lower[t + 1])) < 1e-9
        assert abs(p.max() - float(sched.upper[t + 1])) < 1e-9
        assert abs(p.min() + p.max() - 2) < 1e-9
    # the recursion's error 1 − ℓ_T is the scalar map's worst error on [ℓ, 1]
    rows = [tuple(float(c) for c in row) for row in sched.coefficients]
    worst = polar.sv_error_profile(rows, 1e-3, points=200001)
    np.testing.assert_allclose(worst, [1 - float(v) for v in sched.lower[1:]], rtol=1e-6)


def test_flat_default_follows_the_cushion() -> None:
    """No cushion: every step exact (flat = 0); with one: the paper's limit shortcut."""
    exact = polar.polar_express_schedule(1e-3, 9, cushion=0.0)
    assert exact.coefficients == polar.polar_express_schedule(1e-3, 9, cushion=0.0,
                                                              flat=0.0).coefficients
    paper = polar.polar_express_schedule(1e-3, 8)
    assert paper.coefficients == polar.polar_express_schedule(1e-3, 8,
                                                              flat=polar.PAPER_FLAT).coefficients
    # the paper's shortcut is visible in the last step, the exact step is not the limit
    flat5 = [float(c) for c in polar.flat_odd_polynomial(5)]
    assert max(abs(float(a) - b) for a, b in zip(paper.coefficients[-1], flat5, strict=True)) < 1e-8
    assert exact.coefficients[6] != paper.coefficients[6]


@pytest.mark.parametrize("shape", [(7, 4), (4, 7), (3, 6, 4)])
def test_svd_is_the_thin_svd_and_differentiable(shape: tuple[int, ...]) -> None:
    m = jax.random.normal(jax.random.key(3), shape, dtype=jnp.float64)
    u, s, vt = polar.svd(m)
    k = min(shape[-2:])
    assert u.shape == (*shape[:-1], k) and vt.shape == (*shape[:-2], k, shape[-1])
    np.testing.assert_allclose((u * s[..., None, :]) @ vt, m, atol=1e-13)
    np.testing.assert_allclose(s, np.linalg.svd(np.asarray(m), compute_uv=False), rtol=1e-13)
    assert bool(jnp.all(s[..., :-1] >= s[..., 1:]))
    np.testing.assert_allclose(polar.svd(m, compute_uv=False), s, rtol=1e-14)
    if len(shape) == 2:  # d‖M‖_*/dM = U Vᵀ
        np.testing.assert_allclose(jax.grad(polar.nuclear_norm)(m), u @ vt, atol=1e-12)
    with pytest.raises(ValueError, match="M must be a matrix"):
        polar.svd(jnp.ones(3))
