"""Unit tests of kexue_lib.random_matrix against closed forms, published values and independent
computations (mpmath quadrature, a Painlevé II integration, NumPy's SVD).

Every formula is pinned: the entry transforms, Golub–Kahan–Lanczos and the Ritz values written
out in NumPy, the chi bidiagonal model and the full-matrix samplers reproduced draw by draw from
their documented seeding, the Marchenko–Pastur moments as exact integers, the largest-entry
laws by an independent quadrature, and every default and error message; tolerances are at the
rounding level, so a changed constant or operator fails them (``make mutate
MODULE=random_matrix``; see the README's mutation-testing table).
"""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import integrate, optimize, special
from scipy import stats as scipy_stats
from scipy.special import airy

from kexue_lib import random_matrix as rm
from kexue_lib import stats

# Bornemann (2010), Math. Comp. 79, Table 10: mean and variance of TW_1 and TW_2 (13 digits).
TW_PUBLISHED = {1: (-1.2065335745820, 1.6077810345810), 2: (-1.7710868074116, 0.8131947928329)}


def message(text: str) -> str:
    """The whole error message, anchored, for ``pytest.raises(match=...)``."""
    return "^" + re.escape(text) + "$"


def bidiagonal(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """The upper bidiagonal matrix with diagonal ``alpha`` and superdiagonal ``beta``."""
    return np.diag(alpha) + np.diag(beta, 1)


# --- Tracy–Widom ----------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [1, 2])
def test_tracy_widom_moments_match_published_values(beta: int) -> None:
    mean, var = TW_PUBLISHED[beta]
    assert abs(rm.tracy_widom_mean(beta) - mean) < 2e-12
    assert abs(rm.tracy_widom_variance(beta) - var) < 2e-12


@pytest.mark.parametrize("beta", [1, 2])
def test_tracy_widom_moments_converged_in_the_discretisation(beta: int) -> None:
    fine = rm.tracy_widom_moments(beta, nodes=60, points=80)
    assert abs(fine[0] - rm.tracy_widom_mean(beta)) < 1e-12
    assert abs(fine[1] - rm.tracy_widom_variance(beta)) < 1e-12


@pytest.mark.parametrize("beta", [1, 2])
def test_tracy_widom_cdf_has_14_digits_at_40_nodes(beta: int) -> None:
    """The docstring's claim, against 120 nodes on s ∈ [−10, 14] (measured: 9.7e-15 for β = 1,
    6.7e-15 for β = 2; the Airy kernel's interval taken twice as long gives 3.9e-14)."""
    s = np.linspace(-10.0, 14.0, 49)
    assert np.max(np.abs(rm.tracy_widom_cdf(s, beta) - rm.tracy_widom_cdf(s, beta, nodes=120))) < 1.5e-14


def _painleve_cdfs(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F₁, F₂ from the Hastings–McLeod solution of Painlevé II, integrated from s = 8 down.

    ``q'' = sq + 2q³``, ``q ~ Ai`` at +∞; ``F₂ = exp(−∫_s^∞ (x − s) q² dx)`` and
    ``F₁ = exp(−½∫_s^∞ q dx)·√F₂`` (Tracy & Widom 1994, 1996). State (q, q', I, I', J) with
    ``I'' = q²`` and ``J' = −q``; at s₀ the Airy tails give ``I = ∫(x − s₀)Ai²``,
    ``I' = −∫Ai² = −(Ai'² − s₀Ai²)`` and ``J = ∫Ai``, all below 1e-10.
    """
    s0 = 8.0
    ai, aip, _, _ = airy(s0)
    tail_sq = aip**2 - s0 * ai**2
    i0 = (2 * s0**2 * ai**2 - 2 * s0 * aip**2 - ai * aip) / 3
    j0 = integrate.quad(lambda x: airy(x)[0], s0, np.inf)[0]

    def rhs(s: float, y: np.ndarray) -> list[float]:
        q, dq, _i, di, _j = y
        return [dq, s * q + 2 * q**3, di, q * q, -q]

    order = np.argsort(points)[::-1]
    sol = integrate.solve_ivp(rhs, (s0, float(points.min())), [ai, aip, i0, -tail_sq, j0],
                              t_eval=points[order], rtol=1e-13, atol=1e-16, method="DOP853")
    f2 = np.empty_like(points)
    f1 = np.empty_like(points)
    f2[order] = np.exp(-sol.y[2])
    f1[order] = np.exp(-0.5 * sol.y[4]) * np.sqrt(f2[order])
    return f1, f2


def test_tracy_widom_cdf_matches_painleve_ii() -> None:
    s = np.array([-4.0, -2.5, -1.0, 0.0, 1.5, 3.0])
    f1, f2 = _painleve_cdfs(s)
    assert np.max(np.abs(rm.tracy_widom_cdf(s, 1) - f1)) < 1e-8
    assert np.max(np.abs(rm.tracy_widom_cdf(s, 2) - f2)) < 1e-8
    assert rm.tracy_widom_cdf(0.5, 1).shape == ()


@pytest.mark.parametrize("beta", [1, 2])
def test_tracy_widom_defaults_are_40_nodes_and_50_points(beta: int) -> None:
    moments = rm.tracy_widom_moments(beta, nodes=40, points=50)
    assert rm.tracy_widom_moments(beta) == moments
    assert (rm.tracy_widom_mean(beta), rm.tracy_widom_variance(beta)) == moments
    s = np.array([-3.0, 0.5])
    np.testing.assert_array_equal(rm.tracy_widom_cdf(s), rm.tracy_widom_cdf(s, 1, nodes=40))
    assert not np.array_equal(rm.tracy_widom_cdf(s, beta, nodes=12), rm.tracy_widom_cdf(s, beta))
    grid = np.array([[-2.0, 0.0], [1.0, 2.0]])
    assert rm.tracy_widom_cdf(grid, beta).shape == (2, 2)
    # β defaults to 1 (the GOE) in every function
    assert rm.tracy_widom_moments() == rm.tracy_widom_moments(1) != rm.tracy_widom_moments(2)
    assert (rm.tracy_widom_mean(), rm.tracy_widom_variance()) == rm.tracy_widom_moments(1)


def test_tracy_widom_cdf_is_float64_and_quiet_for_any_real_input() -> None:
    """Float32 and integer s are read as the float64 numbers they are (the cut of the interval
    included), and the Airy kernel's diagonal is its own formula, never a 0/0 that warns."""
    s32 = np.array([-3.3, -0.7, 0.0, 2.9], dtype=np.float32)
    for beta in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exact = rm.tracy_widom_cdf(s32.astype(np.float64), beta)
        np.testing.assert_array_equal(rm.tracy_widom_cdf(s32, beta), exact)
        np.testing.assert_array_equal(rm.tracy_widom_cdf([-3, 0, 2], beta),
                                      rm.tracy_widom_cdf(np.array([-3.0, 0.0, 2.0]), beta))


# --- chi means, Gordon's bounds, edges --------------------------------------------------------


def test_chi_mean_closed_forms_and_expansion() -> None:
    assert abs(rm.chi_mean(1) - math.sqrt(2 / math.pi)) < 1e-15
    assert abs(rm.chi_mean(2) - math.sqrt(math.pi / 2)) < 1e-15
    assert abs(rm.chi_mean(3) - 2 * math.sqrt(2 / math.pi)) < 1e-15
    for k in (10**4, 10**6):  # the next term of the expansion is 5/(128 k^{5/2})
        series = math.sqrt(k) - 1 / (4 * math.sqrt(k)) + 1 / (32 * k**1.5)
        assert abs(rm.chi_mean(k) - series) < 5 / (128 * k**2.5) * 1.01 + 1e-12 * math.sqrt(k)


def test_gordon_bounds() -> None:
    low, high = rm.gordon_bounds(50, 200)
    assert (low, high) == rm.gordon_bounds(200, 50)
    assert abs(high - (rm.chi_mean(200) + rm.chi_mean(50))) < 1e-14
    assert abs(low - (rm.chi_mean(200) - rm.chi_mean(50))) < 1e-14
    assert math.sqrt(200) - math.sqrt(50) < low < high < math.sqrt(200) + math.sqrt(50)


def test_edge_prediction_formula() -> None:
    mu = TW_PUBLISHED[1][0]
    a, b = math.sqrt(400 - 0.5), math.sqrt(100 - 0.5)
    assert abs(rm.edge_prediction(400, 100) - (a + b + 0.5 * (1 / a + 1 / b) ** (1 / 3) * mu)) < 1e-11
    assert abs(rm.edge_prediction(100, 400) - rm.edge_prediction(400, 100)) < 1e-12
    smallest = a - b - 0.5 * (1 / b - 1 / a) ** (1 / 3) * mu
    assert abs(rm.edge_prediction(400, 100, edge="smallest") - smallest) < 1e-11
    s, tau = rm.edge_scaling(400, 100, centring="johnstone")
    assert abs(s - (math.sqrt(399) + 10)) < 1e-12 and abs(tau - (1 / math.sqrt(399) + 0.1) ** (1 / 3)) < 1e-12
    assert rm.edge_scaling(400, 100, centring="plain") == (30.0, (0.05 + 0.1) ** (1 / 3))


def test_fourth_cumulant_shift_is_the_fold_of_the_corrected_equations() -> None:
    """Locate the fold of the κ₄-corrected self-consistent equations numerically (independent of
    the closed form) and difference it in κ₄."""
    n, m = 300.0, 75.0

    def fold(eps: float, guess: tuple[float, float, float]) -> float:
        def eqs(x: np.ndarray) -> list[float]:
            z, a, b = x
            f1 = 1 + z * a + m * a * b + eps * m * a * a * b * b
            f2 = 1 + z * b + n * a * b + eps * n * a * a * b * b
            j = [[z + m * b + 2 * eps * m * a * b * b, m * a + 2 * eps * m * a * a * b],
                 [n * b + 2 * eps * n * a * b * b, z + n * a + 2 * eps * n * a * a * b]]
            return [f1, f2, j[0][0] * j[1][1] - j[0][1] * j[1][0]]

        root = optimize.fsolve(eqs, guess, xtol=1e-13)
        assert np.max(np.abs(eqs(root))) < 1e-12
        return float(root[0])

    h = 1e-3
    top = (math.sqrt(n) + math.sqrt(m), -1 / math.sqrt(n), -1 / math.sqrt(m))
    bottom = (math.sqrt(n) - math.sqrt(m), -1 / math.sqrt(n), 1 / math.sqrt(m))
    for edge, guess in (("largest", top), ("smallest", bottom)):
        slope = (fold(h, guess) - fold(-h, guess)) / (2 * h)
        assert abs(slope - rm.fourth_cumulant_shift(300, 75, 1.0, edge=edge)) < 1e-6
    assert rm.fourth_cumulant_shift(75, 300, -2.0) == rm.fourth_cumulant_shift(300, 75, -2.0)


def test_chi_mean_against_the_gamma_ratio_at_40_digits() -> None:
    with mpmath.workdps(40):
        for k in (1, 5, 1000, 10**7):
            exact = mpmath.sqrt(2) * mpmath.gamma(mpmath.mpf(k + 1) / 2) / mpmath.gamma(mpmath.mpf(k) / 2)
            assert abs(rm.chi_mean(k) / float(exact) - 1) < 2e-16


def test_edge_scaling_every_centring_and_edge() -> None:
    mu = TW_PUBLISHED[1][0]
    for centring, (dn, dm) in (("half", (0.5, 0.5)), ("johnstone", (1.0, 0.0)), ("plain", (0.0, 0.0))):
        a, b = math.sqrt(400 - dn), math.sqrt(100 - dm)
        for n, m in ((400, 100), (100, 400)):  # symmetric in the sides: N ≥ M are sorted first
            s, tau = rm.edge_scaling(n, m, centring=centring)
            assert abs(s - (a + b)) < 1e-13 and abs(tau - (1 / a + 1 / b) ** (1 / 3)) < 1e-15
            s, tau = rm.edge_scaling(n, m, edge="smallest", centring=centring)
            assert abs(s - (a - b)) < 1e-13 and abs(tau - (1 / b - 1 / a) ** (1 / 3)) < 1e-15
            top = rm.edge_prediction(n, m, centring=centring)
            assert abs(top - (a + b + (1 / a + 1 / b) ** (1 / 3) / 2 * mu)) < 1e-11
            bottom = rm.edge_prediction(n, m, edge="smallest", centring=centring)
            assert abs(bottom - (a - b - (1 / b - 1 / a) ** (1 / 3) / 2 * mu)) < 1e-11
    assert rm.edge_scaling(400, 100) == rm.edge_scaling(400, 100, edge="largest", centring="half")
    assert rm.edge_scaling(1, 1) == (2 * math.sqrt(0.5), (2 / math.sqrt(0.5)) ** (1 / 3))  # half: 1 − ½ > 0
    assert rm.edge_scaling(2, 1, centring="johnstone") == (2.0, 2.0 ** (1 / 3))  # √1 + √1


def test_fourth_cumulant_shift_closed_form() -> None:
    for n, m in ((300, 75), (75, 300)):
        top = rm.fourth_cumulant_shift(n, m, -1.2)
        assert abs(top - (-0.6) * (1 / math.sqrt(300) + 1 / math.sqrt(75))) < 1e-16
        bottom = rm.fourth_cumulant_shift(n, m, -1.2, edge="smallest")
        assert abs(bottom - (-0.6) * (1 / math.sqrt(300) - 1 / math.sqrt(75))) < 1e-16
    assert rm.fourth_cumulant_shift(300, 75, 1.0) == rm.fourth_cumulant_shift(300, 75, 1.0, edge="largest")
    assert rm.fourth_cumulant_shift(50, 50, 0.0) == 0.0


# --- Marchenko–Pastur moments and power iteration -------------------------------------------


def test_marchenko_pastur_moments_against_the_density() -> None:
    n, m = 40, 10
    y = m / n
    lo, hi = (1 - math.sqrt(y)) ** 2, (1 + math.sqrt(y)) ** 2

    def density(x: mpmath.mpf) -> mpmath.mpf:
        return mpmath.sqrt((hi - x) * (x - lo)) / (2 * mpmath.pi * y * x)

    with mpmath.workdps(30):
        for k in range(0, 7):
            moment = mpmath.quad(lambda x, k=k: x**k * density(x), [lo, hi])
            assert abs(rm.marchenko_pastur_moment(n, m, k) / n**k - moment) < 1e-20
    assert rm.marchenko_pastur_moment(7, 7, 5) == 42 * 7**5  # Catalan number C_5


def test_marchenko_pastur_moments_are_the_narayana_polynomials() -> None:
    n, m = 12345, 678  # exact integers: no rounding hides a wrong coefficient or power
    narayana = {0: [], 1: [1], 2: [1, 1], 3: [1, 3, 1], 4: [1, 6, 6, 1], 5: [1, 10, 20, 10, 1]}
    for k, row in narayana.items():
        expected = sum(c * n ** (k - j) * m**j for j, c in enumerate(row)) if row else 1
        value = rm.marchenko_pastur_moment(n, m, k)
        assert value == expected and isinstance(value, int), k
    assert rm.marchenko_pastur_moment(3, 5, 2) == 9 + 15


def test_power_iteration_prediction() -> None:
    assert rm.power_iteration_prediction(4096, 1024, 0) == 64.0
    n, m = 4096, 1024
    first = math.sqrt((n**3 + 3 * n**2 * m + n * m**2) / (n**2 + n * m))
    assert abs(rm.power_iteration_prediction(n, m, 1) - first) < 1e-12
    m4 = n**4 + 6 * n**3 * m + 6 * n**2 * m**2 + n * m**3
    m5 = n**5 + 10 * n**4 * m + 20 * n**3 * m**2 + 10 * n**2 * m**3 + n * m**4
    assert abs(rm.power_iteration_prediction(n, m, 2) - math.sqrt(Fraction(m5, m4))) < 1e-13
    values = [rm.power_iteration_prediction(n, m, k) for k in (1, 10, 100, 1000)]
    assert values == sorted(values) and values[-1] < 96 and 96 - values[-1] < 0.2


# --- matrices -------------------------------------------------------------------------------


def test_entries_are_transforms_of_one_gaussian(x64) -> None:
    """normal g; Rademacher sign(g); uniform √3·erf(g/√2); t₃/√3 = g/√(h² − 2 log u) with
    h, u from the streams split from fold_in(key, 1), u in (0, 1]."""
    key = jax.random.key(3)
    g = np.asarray(jax.random.normal(key, (40, 30), jnp.float64))
    kh, ku = jax.random.split(jax.random.fold_in(key, 1))
    h = np.asarray(jax.random.normal(kh, (40, 30), jnp.float64))
    u = 1.0 - np.asarray(jax.random.uniform(ku, (40, 30), jnp.float64))
    expected = {"normal": g, "rademacher": np.where(g >= 0, 1.0, -1.0),
                "uniform": math.sqrt(3) * special.erf(g / math.sqrt(2)),
                "student_t3": g / np.sqrt(h * h - 2 * np.log(u))}
    for dist, x in expected.items():
        w = rm.random_matrix(key, 40, 30, dist=dist, dtype=jnp.float64)
        assert w.dtype == jnp.float64 and w.shape == (40, 30)
        np.testing.assert_allclose(w, x, rtol=1e-14, atol=1e-15, err_msg=dist)
    w32 = rm.random_matrix(key, 40, 30)  # default: normal, float32
    assert w32.dtype == jnp.float32
    np.testing.assert_array_equal(w32, jax.random.normal(key, (40, 30), jnp.float32))
    for dist in expected:  # float32 draws, every stream included, are the same under x64
        w32 = rm.random_matrix(key, 40, 30, dist=dist)
        assert w32.dtype == jnp.float32, dist
        with jax.enable_x64(False):
            np.testing.assert_array_equal(w32, rm.random_matrix(key, 40, 30, dist=dist), err_msg=dist)


def test_random_matrix_moments_and_coupling() -> None:
    key = jax.random.key(3)
    n = 1000
    w = {d: np.asarray(rm.random_matrix(key, n, n, dist=d), np.float64) for d in rm.DISTRIBUTIONS}
    for d, x in w.items():
        mean, se = stats.mean_se(x)
        stats.assert_within_se(mean, 0.0, se, what=f"{d} mean")
        if d != "student_t3":  # its variance has no finite standard error (no fourth moment)
            v, v_se = stats.mean_se(x**2)
            stats.assert_within_se(v, 1.0, v_se, what=f"{d} variance")
    np.testing.assert_array_equal(w["rademacher"], np.where(w["normal"] >= 0, 1.0, -1.0))
    assert np.max(np.abs(w["uniform"])) <= math.sqrt(3) + 1e-6
    k4, k4_se = stats.mean_se(w["uniform"] ** 4)
    stats.assert_within_se(k4 - 3, rm.FOURTH_CUMULANT["uniform"], k4_se, what="uniform fourth cumulant")
    # Student t3: the median of |t3|/sqrt(3), a robust check of its law and scale
    frac = np.mean(np.abs(w["student_t3"]) <= scipy_stats.t.ppf(0.75, 3) / math.sqrt(3))
    stats.assert_within_se(frac, 0.5, math.sqrt(0.25 / n**2), what="t3 median")


def _golub_kahan_numpy(w: np.ndarray, v0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Golub–Kahan–Lanczos with full reorthogonalisation (twice), written out in NumPy."""
    us, vs = [], [v0 / np.linalg.norm(v0)]
    alpha, beta = [], []
    for j in range(steps):
        x = w @ vs[j]
        for _ in range(2):
            x = x - sum((u @ x) * u for u in us) if us else x
        alpha.append(np.linalg.norm(x))
        us.append(x / alpha[-1])
        y = w.T @ us[-1]
        for _ in range(2):
            y = y - sum((v @ y) * v for v in vs)
        beta.append(np.linalg.norm(y))
        vs.append(y / beta[-1])
    return np.array(alpha), np.array(beta)


def test_golub_kahan_against_numpy(x64) -> None:
    w = np.asarray(jax.random.normal(jax.random.key(7), (40, 15), jnp.float64))
    key = jax.random.key(2)
    bd = rm.golub_kahan(w, 8, key=key)
    alpha, beta = _golub_kahan_numpy(w, np.asarray(jax.random.normal(key, (15,), jnp.float64)), 8)
    np.testing.assert_allclose(bd.alpha, alpha, rtol=1e-12)
    np.testing.assert_allclose(bd.beta, beta, rtol=1e-12)
    default = rm.golub_kahan(w, 8)  # the start is drawn with jax.random.key(0)
    again = rm.golub_kahan(w, 8, key=jax.random.key(0))
    np.testing.assert_array_equal(default.alpha, again.alpha)
    np.testing.assert_array_equal(default.beta, again.beta)
    # scaled by a power of two, every coefficient scales exactly (norms below 1 normalised too)
    small = rm.golub_kahan(w * 2.0**-12, 8, key=key)
    np.testing.assert_array_equal(small.alpha, bd.alpha * 2.0**-12)
    np.testing.assert_array_equal(small.beta, bd.beta * 2.0**-12)
    # the zero matrix: every vector is exhausted at once, coefficients exactly 0 (no 0/0)
    zero = rm.golub_kahan(np.zeros((5, 3)), 3)
    np.testing.assert_array_equal(zero.alpha, 0.0)
    np.testing.assert_array_equal(zero.beta, 0.0)


def test_draws_and_the_lanczos_start_do_not_depend_on_x64() -> None:
    """The flat entries are drawn in float32 with or without x64, so the samples are the same
    numbers; golub_kahan's start vector has W's dtype, so a float32 W stays float32."""
    key = jax.random.key(5)
    w = rm.random_matrix(key, 30, 12)
    samples = rm.singular_value_samples(key, 5, 3, 20, dist="student_t3", method="svd")
    bd = rm.golub_kahan(w, 6)
    with jax.enable_x64(True):
        np.testing.assert_array_equal(
            rm.singular_value_samples(key, 5, 3, 20, dist="student_t3", method="svd"), samples)
        bd64 = rm.golub_kahan(w, 6)
        ext64 = rm.extreme_singular_values(w, 6)
    assert tuple(map(float, ext64)) == tuple(map(float, rm.extreme_singular_values(w, 6)))
    assert bd64.alpha.dtype == bd64.beta.dtype == jnp.float32
    np.testing.assert_array_equal(bd64.alpha, bd.alpha)
    np.testing.assert_array_equal(bd64.beta, bd.beta)


def test_golub_kahan_and_extremes_against_svd(matrix_with_singular_values) -> None:
    s = np.geomspace(10.0, 0.5, 60)
    w = matrix_with_singular_values(s, 200).astype(jnp.float32)
    bd = rm.golub_kahan(w, 30, key=jax.random.key(1))
    assert bd.alpha.shape == (30,) and bd.beta.shape == (30,)
    top, _ = rm.bidiagonal_extremes(np.asarray(bd.alpha), np.asarray(bd.beta)[:29])
    assert abs(top / 10.0 - 1) < 1e-5
    ext = rm.extreme_singular_values(w, 40, key=jax.random.key(1))
    assert abs(float(ext.sigma_max) / 10.0 - 1) < 1e-5
    exact = rm.extreme_singular_values(w, 60)  # the whole space: the SVD
    assert abs(float(exact.sigma_min) / 0.5 - 1) < 1e-5 and float(exact.change_min) == 0.0


def test_ritz_values_and_their_change_over_the_last_quarter(x64) -> None:
    """σ(B_k) and the relative change since the leading ⌊3k/4⌋ block, by NumPy's SVD."""
    w = jax.random.normal(jax.random.key(8), (60, 20), jnp.float64)
    key = jax.random.key(3)
    for k in (8, 11):
        bd = rm.golub_kahan(w, k, key=key)
        b = bidiagonal(np.asarray(bd.alpha), np.asarray(bd.beta)[: k - 1])
        s = np.linalg.svd(b, compute_uv=False)
        k0 = (3 * k) // 4
        s0 = np.linalg.svd(b[:k0, :k0], compute_uv=False)
        ext = rm.extreme_singular_values(w, k, key=key)
        assert abs(ext.sigma_max / s[0] - 1) < 1e-14 and abs(ext.sigma_min / s[-1] - 1) < 1e-13
        assert abs(ext.change_max / abs(s[0] / s0[0] - 1) - 1) < 1e-9
        assert abs(ext.change_min / abs(s0[-1] / s[-1] - 1) - 1) < 1e-9
        wide = rm.extreme_singular_values(w.T, k, key=key)  # a wide matrix is run transposed
        assert tuple(map(float, wide)) == tuple(map(float, ext))
    # a square matrix is run as it is (W, not Wᵀ: another Krylov space from the same start)
    sq = w[:20]
    bd = rm.golub_kahan(sq, 8, key=key)
    b = bidiagonal(np.asarray(bd.alpha), np.asarray(bd.beta)[:7])
    s = np.linalg.svd(b, compute_uv=False)
    ext = rm.extreme_singular_values(sq, 8, key=key)
    assert ext.sigma_max == s[0] and abs(ext.sigma_min / s[-1] - 1) < 1e-13


def test_extreme_singular_values_defaults_and_the_svd_switch() -> None:
    w = rm.random_matrix(jax.random.key(9), 150, 80)
    default = rm.extreme_singular_values(w)  # 64 steps from jax.random.key(0)
    explicit = rm.extreme_singular_values(w, rm.DEFAULT_STEPS, key=jax.random.key(0))
    assert rm.DEFAULT_STEPS == 64 and tuple(map(float, default)) == tuple(map(float, explicit))
    exact = np.linalg.svd(np.asarray(w), compute_uv=False)
    # steps = min(n, m): the whole Krylov space, so the SVD, with no change
    full = rm.extreme_singular_values(w, 80)
    assert float(full.change_max) == 0.0 and float(full.change_min) == 0.0
    assert full.sigma_max.dtype == full.sigma_min.dtype == np.float64  # of a float32 W too
    assert abs(float(full.sigma_max) / exact[0] - 1) < 1e-6
    assert abs(float(full.sigma_min) / exact[-1] - 1) < 1e-6
    lanczos = rm.extreme_singular_values(w, 79)
    assert float(lanczos.change_max) > 0.0


@pytest.mark.parametrize("shape", [(400, 100), (256, 1024)])
def test_lanczos_change_bounds_the_error(shape: tuple[int, int]) -> None:
    w = rm.random_matrix(jax.random.key(5), *shape)
    exact = np.linalg.svd(np.asarray(w, np.float64), compute_uv=False)
    ext = rm.extreme_singular_values(w)
    err_max = abs(float(ext.sigma_max) / exact[0] - 1)
    err_min = abs(float(ext.sigma_min) / exact[-1] - 1)
    assert err_max <= max(float(ext.change_max), 2e-6) and err_max < 1e-5
    assert err_min <= max(float(ext.change_min), 2e-6) and err_min < 1e-3


def test_bidiagonal_extremes_against_svd() -> None:
    rng = np.random.default_rng(0)
    for k in (1, 2, 9, 70):
        a, b = rng.uniform(0.1, 3.0, (5, k)), rng.uniform(0.0, 3.0, (5, k - 1))
        top, bottom = rm.bidiagonal_extremes(a, b)
        for i in range(5):
            s = np.linalg.svd(bidiagonal(a[i], b[i]), compute_uv=False)
            bound = 50 * np.finfo(float).eps * (s[0] / s[-1]) ** 2  # the documented precision
            assert abs(top[i] / s[0] - 1) < 1e-13 and abs(bottom[i] / s[-1] - 1) < max(bound, 1e-13)
    # the hard edge of a square Gaussian matrix keeps its digits (float64 bisection on B^T B)
    n = 300
    a = np.sqrt(rng.chisquare(np.arange(n, 0, -1.0)))
    b = np.sqrt(rng.chisquare(np.arange(n - 1, 0, -1.0)))
    s = np.linalg.svd(bidiagonal(a, b), compute_uv=False)
    assert abs(rm.bidiagonal_extremes(a, b)[1] / s[-1] - 1) < 1e-8


def test_bidiagonal_extremes_signs_sizes_and_padding() -> None:
    # signs do not matter (σ of B and of |B| agree); one-by-one matrices are |α|
    assert rm.bidiagonal_extremes([-2.0], []) == (2.0, 2.0)
    for empty in (np.zeros((2, 0)), []):  # r one-by-one matrices take any empty beta
        top, bottom = rm.bidiagonal_extremes(np.array([[-2.0], [0.5]]), empty)
        np.testing.assert_array_equal(top, [2.0, 0.5])
        np.testing.assert_array_equal(bottom, [2.0, 0.5])
    a, b = np.array([-3.0, 0.2, 1.5]), np.array([-0.7, 2.0])
    s = np.linalg.svd(bidiagonal(a, b), compute_uv=False)
    top, bottom = rm.bidiagonal_extremes(a, b)
    assert np.shape(top) == () and abs(top / s[0] - 1) < 1e-14 and abs(bottom / s[-1] - 1) < 1e-13
    # sizes 7, 8, 9 and 16, 17 straddle the power-of-two padding; small and large entries stress
    # the padding block (which must never become the answer); 600 rows span several chunks
    rng = np.random.default_rng(1)
    for k, rows in ((7, 3), (8, 3), (9, 3), (16, 2), (17, 600)):
        a = rng.uniform(0.01, 5.0, (rows, k)) * rng.choice([-1, 1], (rows, k))
        b = rng.uniform(0.0, 5.0, (rows, k - 1))
        top, bottom = rm.bidiagonal_extremes(a, b)
        s = np.linalg.svd(np.stack([bidiagonal(x, y) for x, y in zip(a, b, strict=True)]), compute_uv=False)
        np.testing.assert_allclose(top, s[:, 0], rtol=1e-13)
        bound = 50 * np.finfo(float).eps * (s[:, 0] / s[:, -1]) ** 2  # the documented precision
        assert np.all(np.abs(bottom / s[:, -1] - 1) <= np.maximum(bound, 1e-13))
    # float32 and integer entries are read as the float64 numbers they are
    a32, b32 = rng.uniform(0.5, 2.0, 7).astype(np.float32), rng.uniform(0.5, 2.0, 6).astype(np.float32)
    assert rm.bidiagonal_extremes(a32, b32) == rm.bidiagonal_extremes(a32.astype(float), b32.astype(float))
    assert rm.bidiagonal_extremes([3, 1], [2]) == rm.bidiagonal_extremes([3.0, 1.0], [2.0])
    # each row is computed alone: its padding and bisection do not depend on the other rows
    a, b = rng.uniform(0.5, 2.0, (2, 7)), rng.uniform(0.5, 2.0, (2, 6))
    a[1], b[1] = a[1] * 1e6, b[1] * 1e6
    top, bottom = rm.bidiagonal_extremes(a, b)
    for i in range(2):
        assert (top[i], bottom[i]) == rm.bidiagonal_extremes(a[i], b[i])
    # a diagonal matrix whose smallest entry is last, first or in the middle
    for a in ([3.0, 2.0, 0.5], [0.5, 2.0, 3.0], [2.0, 0.5, 3.0]):
        top, bottom = rm.bidiagonal_extremes(a, [0.0, 0.0])
        assert top == 3.0 and abs(bottom - 0.5) < 1e-15


# --- Monte Carlo ------------------------------------------------------------------------------


def _draws(key: jax.Array, count: int, dist: str) -> np.ndarray:
    """The documented stream: chunks of 2^20 float32 entries, chunk c from fold_in(key, c)."""
    chunks = [np.asarray(rm.random_matrix(jax.random.fold_in(key, c), 1, 2**20, dist=dist))[0]
              for c in range(-(-count // 2**20))]
    return np.concatenate(chunks)[:count]


# 262145 × 8: over 2^21 entries, so groups of 1
@pytest.mark.parametrize(("n", "m", "samples"),
                         [(5, 3, 70), (3, 5, 70), (600, 800, 3), (262145, 8, 2)])
def test_svd_samples_are_the_documented_draws(n: int, m: int, samples: int) -> None:
    """Groups of g = min(64, 2^22 // (n m)) matrices (N ≥ M sorted), group i drawn from
    fold_in(key, i) and cut to size; σ from NumPy's SVD of each."""
    key = jax.random.key(12)
    big, small = max(n, m), min(n, m)
    group = max(1, min(64, 2**22 // (big * small)))
    for dist in ("uniform", "student_t3"):
        expected = []
        for i, start in enumerate(range(0, samples, group)):
            w = _draws(jax.random.fold_in(key, i), group * big * small, dist).reshape(group, big, small)
            expected.append(np.linalg.svd(w[: min(group, samples - start)], compute_uv=False))
        s = np.concatenate(expected)
        top = rm.singular_value_samples(key, n, m, samples, dist=dist, method="svd")
        bottom = rm.singular_value_samples(key, n, m, samples, which="min", dist=dist, method="svd")
        assert top.dtype == np.float64 and top.shape == (samples,)
        np.testing.assert_allclose(top, s[:, 0], rtol=2e-5, err_msg=dist)
        np.testing.assert_allclose(bottom, s[:, -1], rtol=2e-4, err_msg=dist)


def test_lanczos_samples_start_from_the_documented_stream() -> None:
    """Group g's start vectors are the normal stream of fold_in(fold_in(key, g), 2^31 − 1): four
    steps, far from converged, so that σ_max depends on the start at the 1e-2 level."""
    key, (n, m, samples, steps) = jax.random.key(21), (30, 20, 3, 4)
    k = jax.random.fold_in(key, 0)  # one group: 64 matrices of 600 entries
    w = _draws(k, 64 * n * m, "uniform").reshape(64, n, m)
    v0 = _draws(jax.random.fold_in(k, 2**31 - 1), 64 * m, "normal").reshape(64, m)
    expected = []
    for i in range(samples):
        alpha, beta = _golub_kahan_numpy(w[i].astype(np.float64), v0[i].astype(np.float64), steps)
        expected.append(np.linalg.svd(bidiagonal(alpha, beta[: steps - 1]), compute_uv=False)[0])
    top = rm.singular_value_samples(key, n, m, samples, dist="uniform", method="lanczos", steps=steps,
                                    rtol=0.5)
    np.testing.assert_allclose(top, expected, rtol=1e-5)


def test_bidiagonal_samples_are_the_documented_chi_model() -> None:
    """Diagonal χ_N, χ_{N−1}, …, χ_{N−M+1}, superdiagonal χ_{M−1}, …, χ₁, drawn (diagonal, then
    superdiagonal) by NumPy's generator seeded with the key's data."""
    for key in (jax.random.key(13), jax.random.PRNGKey(13)):
        data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
        rng = np.random.default_rng([int(x) for x in np.asarray(data).ravel()])
        alpha = np.sqrt(rng.chisquare(np.broadcast_to(np.arange(9.0, 5.0, -1.0), (50, 4))))
        beta = np.sqrt(rng.chisquare(np.broadcast_to(np.arange(3.0, 0.0, -1.0), (50, 3))))
        s = np.linalg.svd(np.stack([bidiagonal(a, b) for a, b in zip(alpha, beta, strict=True)]),
                          compute_uv=False)
        for n, m in ((9, 4), (4, 9)):
            top = rm.singular_value_samples(key, n, m, 50, method="bidiagonal")
            bottom = rm.singular_value_samples(key, n, m, 50, which="min", method="bidiagonal")
            np.testing.assert_allclose(top, s[:, 0], rtol=1e-13)
            np.testing.assert_allclose(bottom, s[:, -1], rtol=1e-12)
    # a single column: χ_N itself
    key = jax.random.key(14)
    rng = np.random.default_rng([int(x) for x in np.asarray(jax.random.key_data(key)).ravel()])
    np.testing.assert_allclose(rm.singular_value_samples(key, 7, 1, 20),
                               np.sqrt(rng.chisquare(np.full((20, 1), 7.0)))[:, 0], rtol=1e-14)
    # 2^20 entries a chunk: 524 matrices of 2000 columns, then one more from the same stream
    x = rm.singular_value_samples(key, 2100, 2000, 525, method="bidiagonal")
    assert x.shape == (525,)
    first = rm.singular_value_samples(key, 2100, 2000, 524, method="bidiagonal")
    np.testing.assert_array_equal(x[:524], first)


def test_methods_defaults_and_the_mc_summaries() -> None:
    key = jax.random.key(15)
    # auto: the chi bidiagonal model for Gaussian entries, Lanczos (64 steps) otherwise
    np.testing.assert_array_equal(rm.singular_value_samples(key, 30, 10, 5),
                                  rm.singular_value_samples(key, 30, 10, 5, which="max", dist="normal",
                                                            method="bidiagonal"))
    lan = rm.singular_value_samples(key, 100, 70, 3, dist="rademacher")
    np.testing.assert_array_equal(lan, rm.singular_value_samples(key, 100, 70, 3, dist="rademacher",
                                                                 method="lanczos", steps=64, rtol=1e-5))
    np.testing.assert_allclose(lan, rm.singular_value_samples(key, 100, 70, 3, dist="rademacher",
                                                              method="svd"), rtol=1e-5)
    x = rm.singular_value_samples(key, 6, 4, 30, which="min")
    assert rm.smallest_singular_mc(key, 6, 4, 30) == tuple(float(v) for v in stats.mean_se(x))
    for which, summary in (("max", rm.spectral_norm_mc), ("min", rm.smallest_singular_mc)):
        x = rm.singular_value_samples(key, 100, 70, 4, which=which, dist="uniform", method="svd")
        expected = tuple(float(v) for v in stats.mean_se(x))
        assert summary(key, 100, 70, 4, dist="uniform", method="svd") == expected
    # steps reach the Lanczos runs of both summaries (24 steps for σ_max, 80 for σ_min: each
    # differs from the default 64 in the last digits)
    args = {"dist": "rademacher", "method": "lanczos"}
    for which, summary, steps in (("max", rm.spectral_norm_mc, 24), ("min", rm.smallest_singular_mc, 80)):
        x = rm.singular_value_samples(key, 300, 100, 3, which=which, steps=steps, **args)
        given = summary(key, 300, 100, 3, steps=steps, **args)
        assert given == tuple(float(v) for v in stats.mean_se(x)) != summary(key, 300, 100, 3, **args)


def test_lanczos_reports_an_unconverged_ritz_value() -> None:
    key = jax.random.key(0)
    hard = (r"^Lanczos with 64 steps has not converged for sigma_min of a 200 x 200 matrix: its Ritz value "
            r"still moved by \S+ \(relative\) over the last quarter of the steps, more than rtol = 1e-05; "
            r"raise steps, or use method='svd' \(the hard edge\)$")
    with pytest.raises(RuntimeError, match=hard):
        rm.singular_value_samples(key, 200, 200, 2, which="min", method="lanczos")
    soft = (r"^Lanczos with 4 steps has not converged for sigma_max of a 300 x 100 matrix: .* rtol = 1e-09; "
            r"raise steps$")
    with pytest.raises(RuntimeError, match=soft):
        rm.singular_value_samples(key, 100, 300, 2, method="lanczos", dist="uniform", steps=4, rtol=1e-9)
    ok = rm.singular_value_samples(key, 100, 300, 2, method="lanczos", dist="uniform", steps=4, rtol=0.5)
    assert ok.shape == (2,)


def _wishart_3x2_means() -> tuple[float, float]:
    """E σ_max, E σ_min of a 3 × 2 Gaussian matrix: the eigenvalues of WᵀW have density
    ∝ |λ₁ − λ₂| e^{−(λ₁+λ₂)/2} (real Wishart, 3 degrees of freedom), integrated with mpmath."""
    with mpmath.workdps(20):
        def integral(f):
            return mpmath.quad(lambda x: mpmath.quad(lambda y: f(x, y) * (x - y) * mpmath.exp(-(x + y) / 2),
                                                     [0, x]), [0, mpmath.inf])
        z = integral(lambda x, y: 1)
        top, bottom = integral(lambda x, y: mpmath.sqrt(x)), integral(lambda x, y: mpmath.sqrt(y))
        return float(top / z), float(bottom / z)


@pytest.mark.parametrize(("method", "samples"), [("bidiagonal", 40_000), ("svd", 6_400)])
def test_mc_against_the_exact_3x2_gaussian(method: str, samples: int) -> None:
    """The law of both samplers against the exact means (the svd path's draws are pinned above;
    for a 3 × 2 matrix Lanczos is the SVD, so it is not run separately)."""
    top, bottom = _wishart_3x2_means()
    key = jax.random.key(11)
    mean, se = rm.spectral_norm_mc(key, 3, 2, samples, method=method)
    stats.assert_within_se(mean, top, se, what=f"E sigma_max, {method}")
    mean, se = rm.smallest_singular_mc(key, 2, 3, samples, method=method)
    stats.assert_within_se(mean, bottom, se, what=f"E sigma_min, {method}")
    assert se < 3e-3 * math.sqrt(40_000 / samples)  # 4 SE is under 1.5 % of E σ_min at 40 000


def test_mc_exact_one_column_cases() -> None:
    key = jax.random.key(2)
    mean, se = rm.spectral_norm_mc(key, 7, 1, 20_000)  # ‖w‖ ~ chi_7
    stats.assert_within_se(mean, rm.chi_mean(7), se, what="chi_7 mean")
    mean, se = rm.spectral_norm_mc(key, 7, 1, 100, dist="rademacher", method="svd")
    assert abs(mean - math.sqrt(7)) < 1e-6 and se < 1e-6  # every column has norm √7
    exact_abs_means = {"uniform": math.sqrt(3) / 2, "student_t3": 2 / math.pi,
                       "normal": math.sqrt(2 / math.pi)}
    for dist, exact in exact_abs_means.items():  # the transforms are pinned exactly above
        mean, se = rm.spectral_norm_mc(key, 1, 1, 6_400, dist=dist, method="svd")
        stats.assert_within_se(mean, exact, se, what=f"E|w|, {dist}")


def test_lanczos_and_svd_see_the_same_matrices() -> None:
    key = jax.random.key(4)
    for which in ("max", "min"):
        lan = rm.singular_value_samples(key, 300, 100, 8, which=which, method="lanczos", dist="uniform")
        svd = rm.singular_value_samples(key, 100, 300, 8, which=which, method="svd", dist="uniform")
        assert lan.dtype == np.float64 and lan.shape == (8,)
        np.testing.assert_allclose(lan, svd, rtol=1e-5)


def test_bidiagonal_model_has_the_law_of_full_matrices() -> None:
    key = jax.random.key(6)
    for which in ("max", "min"):
        a = rm.singular_value_samples(key, 60, 20, 4000, which=which, method="bidiagonal")
        b = rm.singular_value_samples(key, 60, 20, 4000, which=which, method="svd")
        (ma, sa), (mb, sb) = stats.mean_se(a), stats.mean_se(b)
        stats.assert_within_se(ma - mb, 0.0, math.hypot(sa, sb), what=f"bidiagonal vs svd, {which}")
        assert abs(a.std() / b.std() - 1) < 0.1


# --- heavy tails ------------------------------------------------------------------------------


def _abs_t3_cdf_tail(y: float) -> float:
    """P(|t₃|/√3 > y)."""
    return 2 * scipy_stats.t.sf(math.sqrt(3) * y, 3)


def test_largest_entry_mean_against_the_tail_integral() -> None:
    """E a = ∫₀^∞ P(a > y) dy with P(a ≤ y) = (1 − P(|t₃|/√3 > y))^K, K = n·m."""
    assert abs(rm.largest_entry_mean(1, 1) - 2 / math.pi) < 1e-9  # E|t3|/√3
    for n, m in ((2, 3), (8, 8)):
        count = n * m

        def tail(y: float, count: int = count) -> float:
            return -math.expm1(count * math.log1p(-_abs_t3_cdf_tail(y)))

        exact = sum(integrate.quad(tail, lo, hi, limit=200, epsabs=1e-12, epsrel=1e-12)[0]
                    for lo, hi in ((0, 1), (1, 10), (10, np.inf)))
        assert abs(rm.largest_entry_mean(n, m) - exact) < 1e-8 * exact, (n, m)


def test_largest_entry_prediction_against_the_density_integral() -> None:
    """E g(a) = ∫ g(y) K F(y)^{K−1} f(y) dy, split at the spike threshold (nm)^{1/4}, and the
    median g(y½) with F(y½)^K = ½."""
    t3 = scipy_stats.t(3)
    for n, m in ((1, 1), (2, 3), (5, 4)):
        count, threshold, edge = n * m, (n * m) ** 0.25, math.sqrt(n) + math.sqrt(m)

        def spike(a: float, n: int = n, m: int = m, threshold: float = threshold,
                  edge: float = edge) -> float:
            return math.sqrt((a * a + n) * (a * a + m)) / a if a > threshold else edge

        def density(y: float, count: int = count) -> float:  # of the largest of K entries
            f = 2 * math.sqrt(3) * t3.pdf(math.sqrt(3) * y)
            return count * (1 - _abs_t3_cdf_tail(y)) ** (count - 1) * f

        pieces = ((0, threshold), (threshold, 10 * threshold), (10 * threshold, np.inf))
        mean = sum(integrate.quad(lambda y: spike(y) * density(y), lo, hi, limit=200, epsabs=1e-12,
                                  epsrel=1e-12)[0] for lo, hi in pieces)
        assert abs(rm.largest_entry_prediction(n, m) - mean) < 1e-8 * mean, (n, m)
        assert rm.largest_entry_prediction(n, m, statistic="mean") == rm.largest_entry_prediction(n, m)
        median_entry = t3.ppf((1 + 2 ** (-1 / count)) / 2) / math.sqrt(3)
        median = rm.largest_entry_prediction(n, m, statistic="median")
        assert abs(median - spike(median_entry)) < 1e-12 * median, (n, m)
    # below the threshold the prediction is the bulk edge: the median of one entry is 0.44 < 1
    assert rm.largest_entry_prediction(1, 1, statistic="median") == 2.0


def test_largest_entry_mean_against_simulation() -> None:
    rng = np.random.default_rng(0)
    maxima = np.abs(rng.standard_t(3, (20_000, 64))).max(axis=1) / math.sqrt(3)
    mean, se = stats.mean_se(maxima)
    stats.assert_within_se(mean, rm.largest_entry_mean(8, 8), se, what="E max |t3|")


# --- bad input --------------------------------------------------------------------------------

KEY = jax.random.key(0)
KEY_TEXT = "key must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got int"


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: rm.random_matrix(0, 2, 2), KEY_TEXT),
        (lambda: rm.random_matrix(KEY, 0, 2), "n must be >= 1, got 0"),
        (lambda: rm.random_matrix(KEY, 2, 0), "m must be >= 1, got 0"),
        (lambda: rm.random_matrix(KEY, 2, 2, dist="gamma"),
         "dist must be one of 'normal', 'rademacher', 'uniform', 'student_t3', got 'gamma'"),
        (lambda: rm.random_matrix(KEY, 2, 2, dtype=jnp.int32),
         "dtype must be a floating dtype, got <class 'jax.numpy.int32'>"),
        (lambda: rm.golub_kahan(jnp.ones(3), 1), "W must be 2-D, got shape (3,)"),
        (lambda: rm.golub_kahan(jnp.ones((5, 3)), 0), "steps must be >= 1, got 0"),
        (lambda: rm.golub_kahan(jnp.ones((5, 3)), 4), "steps must be <= 3, got 4"),
        (lambda: rm.golub_kahan(jnp.ones((5, 3)), 2, key=0), KEY_TEXT),
        (lambda: rm.bidiagonal_extremes([1.0, 2.0, 3.0], [1.0]),
         "beta must have shape (2,) to match alpha (3,), got (1,)"),
        (lambda: rm.bidiagonal_extremes(np.ones((2, 3)), np.ones((2, 1))),
         "beta must have shape (2, 2) to match alpha (2, 3), got (2, 1)"),
        (lambda: rm.bidiagonal_extremes(np.ones((2, 3)), np.ones(2)),
         "beta must have shape (2, 2) to match alpha (2, 3), got (2,)"),
        (lambda: rm.bidiagonal_extremes(np.ones((2, 3)), np.ones(4)),  # not reshaped: only empty beta
         "beta must have shape (2, 2) to match alpha (2, 3), got (4,)"),
        (lambda: rm.bidiagonal_extremes(np.ones((2, 2, 2)), np.ones((2, 2, 1))),
         "alpha must have shape (k,) or (r, k) with k >= 1, got (2, 2, 2)"),
        (lambda: rm.bidiagonal_extremes(np.ones((2, 0)), np.ones((2, 0))),
         "alpha must have shape (k,) or (r, k) with k >= 1, got (2, 0)"),
        (lambda: rm.bidiagonal_extremes([1.0, np.inf], [1.0]),
         "alpha and beta must have only finite entries"),
        (lambda: rm.bidiagonal_extremes([1.0, 1.0], [np.nan]),
         "alpha and beta must have only finite entries"),
        (lambda: rm.extreme_singular_values(jnp.ones(3)), "W must be 2-D, got shape (3,)"),
        (lambda: rm.extreme_singular_values(jnp.ones((5, 3)), 3), "steps must be >= 4, got 3"),
        (lambda: rm.extreme_singular_values(jnp.ones((5, 3)), 4, key=0), KEY_TEXT),
        (lambda: rm.singular_value_samples(0, 3, 3, 10), KEY_TEXT),
        (lambda: rm.singular_value_samples(KEY, 0, 3, 10), "n must be >= 1, got 0"),
        (lambda: rm.singular_value_samples(KEY, 3, 0, 10), "m must be >= 1, got 0"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 1), "samples must be >= 2, got 1"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, which="median"),
         "which must be one of 'max', 'min', got 'median'"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, dist="cauchy"),
         "dist must be one of 'normal', 'rademacher', 'uniform', 'student_t3', got 'cauchy'"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, method="qr"),
         "method must be one of 'auto', 'bidiagonal', 'lanczos', 'svd', got 'qr'"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, steps=3), "steps must be >= 4, got 3"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, rtol=0.0), "rtol must be > 0, got 0.0"),
        (lambda: rm.singular_value_samples(KEY, 3, 3, 10, dist="uniform", method="bidiagonal"),
         "method 'bidiagonal' holds for Gaussian entries only, not dist='uniform'"),
        (lambda: rm.spectral_norm_mc(KEY, 0, 3, 10), "n must be >= 1, got 0"),
        (lambda: rm.spectral_norm_mc(np.zeros(2), 3, 3, 10),
         "key must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
         "got ndarray with dtype float64 and shape (2,)"),
        (lambda: rm.smallest_singular_mc(KEY, 3, 0, 10), "m must be >= 1, got 0"),
        (lambda: rm.smallest_singular_mc(KEY, 3, 3, 1), "samples must be >= 2, got 1"),
        (lambda: rm.chi_mean(0), "k must be >= 1, got 0"),
        (lambda: rm.gordon_bounds(0, 3), "n must be >= 1, got 0"),
        (lambda: rm.gordon_bounds(3, 0), "m must be >= 1, got 0"),
        (lambda: rm.tracy_widom_cdf(0.0, beta=3), "beta must be one of 1, 2, got 3"),
        (lambda: rm.tracy_widom_cdf(0.0, nodes=3), "nodes must be >= 4, got 3"),
        (lambda: rm.tracy_widom_cdf([0.0, np.nan]), "s must have only finite entries"),
        (lambda: rm.tracy_widom_moments(3), "beta must be one of 1, 2, got 3"),
        (lambda: rm.tracy_widom_moments(1, nodes=3), "nodes must be >= 4, got 3"),
        (lambda: rm.tracy_widom_moments(1, points=3), "points must be >= 4, got 3"),
        (lambda: rm.tracy_widom_mean(4), "beta must be one of 1, 2, got 4"),
        (lambda: rm.tracy_widom_variance(0), "beta must be one of 1, 2, got 0"),
        (lambda: rm.edge_scaling(0, 3), "n must be >= 1, got 0"),
        (lambda: rm.edge_scaling(64, 32, edge="middle"),
         "edge must be one of 'largest', 'smallest', got 'middle'"),
        (lambda: rm.edge_scaling(64, 32, centring="median"),
         "centring must be one of 'half', 'johnstone', 'plain', got 'median'"),
        (lambda: rm.edge_scaling(1, 1, centring="johnstone"),
         "the 'johnstone' centring needs both sides larger than its shift, got 1 x 1"),
        (lambda: rm.edge_prediction(64, 64, edge="smallest"),
         "the smallest singular value of a square matrix lies at the hard edge: "
         "there is no Tracy–Widom soft edge there"),
        (lambda: rm.edge_prediction(64, 32, centring="x"),
         "centring must be one of 'half', 'johnstone', 'plain', got 'x'"),
        (lambda: rm.fourth_cumulant_shift(4, 4, float("nan")), "kappa4 must be finite, got nan"),
        (lambda: rm.fourth_cumulant_shift(4, 4, 1.0, edge="middle"),
         "edge must be one of 'largest', 'smallest', got 'middle'"),
        (lambda: rm.fourth_cumulant_shift(0, 4, 1.0), "n must be >= 1, got 0"),
        (lambda: rm.marchenko_pastur_moment(4, 4, -1), "k must be >= 0, got -1"),
        (lambda: rm.marchenko_pastur_moment(4, 0, 1), "m must be >= 1, got 0"),
        (lambda: rm.power_iteration_prediction(4, 4, -1), "steps must be >= 0, got -1"),
        (lambda: rm.power_iteration_prediction(0, 4, 1), "n must be >= 1, got 0"),
        (lambda: rm.largest_entry_mean(0, 4), "n must be >= 1, got 0"),
        (lambda: rm.largest_entry_prediction(4, 0), "m must be >= 1, got 0"),
        (lambda: rm.largest_entry_prediction(4, 4, statistic="mode"),
         "statistic must be one of 'mean', 'median', got 'mode'"),
    ],
)
def test_bad_input_raises_value_error(call, text: str) -> None:
    with pytest.raises(ValueError, match=message(text)):
        call()


def test_a_legacy_key_is_a_key() -> None:
    assert rm.spectral_norm_mc(jax.random.PRNGKey(0), 3, 2, 10)[0] > 0
