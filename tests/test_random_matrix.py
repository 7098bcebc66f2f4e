"""Unit tests of kexue_lib.random_matrix against closed forms, published values and independent
computations (mpmath quadrature, a Painlevé II integration, NumPy's SVD)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import integrate, optimize
from scipy import stats as scipy_stats
from scipy.special import airy

from kexue_lib import random_matrix as rm
from kexue_lib import stats

# Bornemann (2010), Math. Comp. 79, Table 10: mean and variance of TW_1 and TW_2 (13 digits).
TW_PUBLISHED = {1: (-1.2065335745820, 1.6077810345810), 2: (-1.7710868074116, 0.8131947928329)}


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


def test_tracy_widom_bad_input() -> None:
    with pytest.raises(ValueError, match="beta"):
        rm.tracy_widom_mean(4)
    with pytest.raises(ValueError, match="beta"):
        rm.tracy_widom_cdf(0.0, beta=3)
    with pytest.raises(ValueError, match="finite"):
        rm.tracy_widom_cdf([0.0, np.nan])


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


def test_edge_bad_input() -> None:
    with pytest.raises(ValueError, match="hard edge"):
        rm.edge_prediction(64, 64, edge="smallest")
    with pytest.raises(ValueError, match="edge"):
        rm.edge_scaling(64, 32, edge="middle")
    with pytest.raises(ValueError, match="centring"):
        rm.edge_scaling(64, 32, centring="median")
    with pytest.raises(ValueError, match="n must be"):
        rm.edge_prediction(0, 3)


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


def test_power_iteration_prediction() -> None:
    assert rm.power_iteration_prediction(4096, 1024, 0) == 64.0
    n, m = 4096, 1024
    first = math.sqrt((n**3 + 3 * n**2 * m + n * m**2) / (n**2 + n * m))
    assert abs(rm.power_iteration_prediction(n, m, 1) - first) < 1e-12
    values = [rm.power_iteration_prediction(n, m, k) for k in (1, 10, 100, 1000)]
    assert values == sorted(values) and values[-1] < 96 and 96 - values[-1] < 0.2


# --- matrices -------------------------------------------------------------------------------


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
            s = np.linalg.svd(np.diag(a[i]) + np.diag(b[i], 1), compute_uv=False)
            bound = 50 * np.finfo(float).eps * (s[0] / s[-1]) ** 2  # the documented precision
            assert abs(top[i] / s[0] - 1) < 1e-13 and abs(bottom[i] / s[-1] - 1) < max(bound, 1e-13)
    # the hard edge of a square Gaussian matrix keeps its digits (float64 bisection on B^T B)
    n = 300
    a = np.sqrt(rng.chisquare(np.arange(n, 0, -1.0)))
    b = np.sqrt(rng.chisquare(np.arange(n - 1, 0, -1.0)))
    s = np.linalg.svd(np.diag(a) + np.diag(b, 1), compute_uv=False)
    assert abs(rm.bidiagonal_extremes(a, b)[1] / s[-1] - 1) < 1e-8


def test_bidiagonal_extremes_bad_input() -> None:
    with pytest.raises(ValueError, match="beta must have shape"):
        rm.bidiagonal_extremes([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(ValueError, match="alpha must have shape"):
        rm.bidiagonal_extremes(np.ones((2, 2, 2)), np.ones((2, 2, 1)))
    with pytest.raises(ValueError, match="finite"):
        rm.bidiagonal_extremes([1.0, np.inf], [1.0])


# --- Monte Carlo ------------------------------------------------------------------------------


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


@pytest.mark.parametrize("method", ["bidiagonal", "svd", "lanczos"])
def test_mc_against_the_exact_3x2_gaussian(method: str) -> None:
    top, bottom = _wishart_3x2_means()
    key = jax.random.key(11)
    mean, se = rm.spectral_norm_mc(key, 3, 2, 40_000, method=method)
    stats.assert_within_se(mean, top, se, what=f"E sigma_max, {method}")
    mean, se = rm.smallest_singular_mc(key, 2, 3, 40_000, method=method)
    stats.assert_within_se(mean, bottom, se, what=f"E sigma_min, {method}")
    assert se < 3e-3  # 4 SE is under 1.5 % of E σ_min: a wrong constant or degree of freedom shows


def test_mc_exact_one_column_cases() -> None:
    key = jax.random.key(2)
    mean, se = rm.spectral_norm_mc(key, 7, 1, 20_000)  # ‖w‖ ~ chi_7
    stats.assert_within_se(mean, rm.chi_mean(7), se, what="chi_7 mean")
    mean, se = rm.spectral_norm_mc(key, 7, 1, 100, dist="rademacher", method="svd")
    assert abs(mean - math.sqrt(7)) < 1e-6 and se < 1e-6  # every column has norm √7
    exact_abs_means = {"uniform": math.sqrt(3) / 2, "student_t3": 2 / math.pi,
                       "normal": math.sqrt(2 / math.pi)}
    for dist, exact in exact_abs_means.items():
        mean, se = rm.spectral_norm_mc(key, 1, 1, 40_000, dist=dist, method="svd")
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


def test_lanczos_refuses_the_hard_edge() -> None:
    with pytest.raises(RuntimeError, match="hard edge"):
        rm.singular_value_samples(jax.random.key(0), 200, 200, 2, which="min", method="lanczos")


def test_largest_entry() -> None:
    assert abs(rm.largest_entry_mean(1, 1) - 2 / math.pi) < 1e-9  # E|t3|/√3
    t3 = scipy_stats.t(3)

    def spike(a: float) -> float:  # n = m = 1: threshold 1, spike a + 1/a, edge 2
        return a + 1 / a if a > 1 else 2.0

    pdf = 2 * math.sqrt(3)  # density of |t3|/√3 at y: 2√3·t3.pdf(√3 y)
    direct = integrate.quad(lambda y: spike(y) * pdf * t3.pdf(math.sqrt(3) * y), 0, 1)[0] + integrate.quad(
        lambda y: spike(y) * pdf * t3.pdf(math.sqrt(3) * y), 1, np.inf)[0]
    assert abs(rm.largest_entry_prediction(1, 1) - direct) < 1e-8
    # the median: g at the median of the largest entry, here of one |t3|/√3 entry
    median_entry = t3.ppf(0.75) / math.sqrt(3)
    assert abs(rm.largest_entry_prediction(1, 1, statistic="median") - spike(median_entry)) < 1e-12
    rng = np.random.default_rng(0)
    maxima = np.abs(rng.standard_t(3, (20_000, 64))).max(axis=1) / math.sqrt(3)
    mean, se = stats.mean_se(maxima)
    stats.assert_within_se(mean, rm.largest_entry_mean(8, 8), se, what="E max |t3|")


def test_bad_input() -> None:
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n must be"):
        rm.spectral_norm_mc(key, 0, 3, 10)
    with pytest.raises(ValueError, match="m must be"):
        rm.smallest_singular_mc(key, 3, 0, 10)
    with pytest.raises(ValueError, match="samples must be"):
        rm.spectral_norm_mc(key, 3, 3, 1)
    with pytest.raises(ValueError, match="dist must be"):
        rm.spectral_norm_mc(key, 3, 3, 10, dist="cauchy")
    with pytest.raises(ValueError, match="PRNG key"):
        rm.spectral_norm_mc(0, 3, 3, 10)
    with pytest.raises(ValueError, match="PRNG key"):
        rm.smallest_singular_mc(np.zeros(2), 3, 3, 10)
    with pytest.raises(ValueError, match="method must be"):
        rm.spectral_norm_mc(key, 3, 3, 10, method="qr")
    with pytest.raises(ValueError, match="Gaussian entries only"):
        rm.spectral_norm_mc(key, 3, 3, 10, dist="uniform", method="bidiagonal")
    with pytest.raises(ValueError, match="which must be"):
        rm.singular_value_samples(key, 3, 3, 10, which="median")
    with pytest.raises(ValueError, match="steps must be"):
        rm.golub_kahan(jnp.ones((5, 3)), 4)
    with pytest.raises(ValueError, match="dist must be"):
        rm.random_matrix(key, 2, 2, dist="gamma")
    with pytest.raises(ValueError, match="statistic must be"):
        rm.largest_entry_prediction(4, 4, statistic="mode")
    assert rm.spectral_norm_mc(jax.random.PRNGKey(0), 3, 2, 10)[0] > 0  # a legacy key is a key
