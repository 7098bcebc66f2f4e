"""Unit tests of kexue_lib.schedules: schedules, the last-iterate bound (10), its exact minimiser,
the weighted identity (2) and the SGD simulator."""

from __future__ import annotations

import itertools
import math
import random
import warnings
from fractions import Fraction

import jax
import mpmath
import numpy as np
import pytest
import sympy as sp

from kexue_lib import schedules as sch
from kexue_lib import stats


def bound_eq8(eta: list[Fraction], D: Fraction, G: Fraction) -> Fraction:
    """Eq. (8) of the post, before the exchange of sums (9): an O(T²) oracle, exact in rationals."""
    T = len(eta)
    tail = [sum(eta[k:], Fraction(0)) for k in range(T)]
    value = D**2 / (2 * tail[0]) + G**2 / (2 * tail[0]) * sum(e**2 for e in eta)
    for k in range(T - 1):
        value += G**2 / 2 * (1 / tail[k + 1] - 1 / tail[k]) * sum(e**2 for e in eta[k:])
    return value


# --- schedules ------------------------------------------------------------------------------


def test_linear_decay_values() -> None:
    np.testing.assert_allclose(sch.linear_decay(4, 2.0), [1.6, 1.2, 0.8, 0.4], rtol=1e-15)
    assert sch.linear_decay(1).shape == (1,) and sch.linear_decay(1)[0] == 0.5


def test_schedules_default_to_alpha_one() -> None:
    r = math.sqrt(2) / 2
    np.testing.assert_allclose(sch.linear_decay(3), [0.75, 0.5, 0.25], rtol=1e-15)
    np.testing.assert_array_equal(sch.constant_schedule(2), [1.0, 1.0])
    np.testing.assert_allclose(sch.inverse_sqrt_schedule(2), [1.0, r], rtol=1e-15)
    np.testing.assert_allclose(sch.inverse_t_schedule(3), [1.0, 0.5, 1 / 3], rtol=1e-15)
    np.testing.assert_allclose(sch.cosine_decay(3), [(1 + r) / 2, 0.5, (1 - r) / 2], rtol=1e-15)


def test_other_schedules() -> None:
    np.testing.assert_array_equal(sch.constant_schedule(3, 0.5), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(sch.inverse_sqrt_schedule(4), [1, 1 / math.sqrt(2), 1 / math.sqrt(3), 0.5])


def test_inverse_t_and_cosine_values() -> None:
    np.testing.assert_allclose(sch.inverse_t_schedule(4, 2.0), [2.0, 1.0, 2 / 3, 0.5], rtol=1e-15)
    # T = 3: cos(π/4), cos(π/2), cos(3π/4) -> (1 ± √2/2)/2 and 1/2
    r = math.sqrt(2) / 2
    np.testing.assert_allclose(sch.cosine_decay(3, 2.0), [1 + r, 1.0, 1 - r], rtol=1e-15)
    eta = sch.cosine_decay(1000)
    assert np.all(np.diff(eta) < 0) and eta[-1] > 0 and math.isfinite(sch.last_iterate_bound(eta))


@pytest.mark.parametrize("fn", [sch.linear_decay, sch.constant_schedule, sch.inverse_sqrt_schedule,
                                sch.inverse_t_schedule, sch.cosine_decay])
def test_schedules_reject_bad_input(fn) -> None:
    with pytest.raises(ValueError, match="T must be >= 1"):
        fn(0)
    with pytest.raises(ValueError, match="T must be an integer"):
        fn(10.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        fn(10, -1.0)
    with pytest.raises(ValueError, match="alpha must be finite"):
        fn(10, float("inf"))


# --- the bound ------------------------------------------------------------------------------


def test_bound_matches_eq8_exactly_in_rationals() -> None:
    rng = random.Random(1)
    for T in (1, 2, 3, 7, 25):
        eta = [Fraction(rng.randint(1, 50), rng.randint(1, 50)) for _ in range(T)]
        D, G = Fraction(3, 2), Fraction(2, 3)
        exact = bound_eq8(eta, D, G)
        got = sch.last_iterate_bound(np.array([float(e) for e in eta]), float(D), float(G))
        assert got == pytest.approx(float(exact), rel=1e-13)


def test_bound_hand_example_and_conventions() -> None:
    # T = 2, η = (2/3, 1/3): 1/2 + (1/2)(4/9 ÷ 1/3 + 1/3) = 4/3.
    assert sch.last_iterate_bound([2 / 3, 1 / 3]) == pytest.approx(4 / 3, rel=1e-15)
    # A zero rate in the middle contributes nothing (0²/x = 0) ...
    assert sch.last_iterate_bound([1.0, 0.0, 1.0]) == pytest.approx(0.5 / 2 + 0.5 * (1 + 0 + 1))
    # ... a vanishing tail after a positive rate makes the bound vacuous, with no division by zero
    # on the way (the placeholder denominator of a zero tail is never divided by)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sch.last_iterate_bound([1.0, 1.0, 0.0]) == math.inf
        assert sch.last_iterate_bound(sch.linear_decay(5) - sch.linear_decay(5)[-1]) == math.inf


def test_bound_accepts_float32_and_is_computed_in_float64() -> None:
    eta = sch.linear_decay(1000)
    eta32 = eta.astype(np.float32)
    assert sch.last_iterate_bound(eta32) == pytest.approx(sch.last_iterate_bound(eta), rel=1e-6)
    # float32 input is widened, not summed in float32 (whose 1000-term tail sums err by ~1e-5)
    assert sch.last_iterate_bound(eta32) == pytest.approx(
        sch.last_iterate_bound(eta32.astype(np.float64)), rel=1e-15
    )


def test_bound_scaling_in_D_and_G() -> None:
    eta = sch.inverse_sqrt_schedule(50, 0.1)
    base = sch.last_iterate_bound(eta, 1.0, 1.0)
    total, quad = eta.sum(), base - 0.5 / eta.sum()
    assert sch.last_iterate_bound(eta, 2.0, 3.0) == pytest.approx(4 / (2 * total) + 9 * quad, rel=1e-12)


@pytest.mark.parametrize(
    ("eta", "message"),
    [
        ([1.0, -0.1], r"^eta must be >= 0"),
        ([0.0, 0.0], r"^eta must not be all zero"),
        ([1.0, float("nan")], r"^eta must have only finite entries"),
        ([1.0, float("inf")], r"^eta must have only finite entries"),
        ([[1.0, 1.0]], r"^eta must be 1-D"),
        ([], r"^eta must not be empty"),
        ([1, 2], r"^eta must have a floating dtype"),
    ],
)
def test_bound_rejects_bad_schedules(eta, message) -> None:
    with pytest.raises(ValueError, match=message):
        sch.last_iterate_bound(np.asarray(eta) if eta else np.zeros(0))


@pytest.mark.parametrize(("D", "G", "message"), [(0.0, 1.0, "D must be > 0"), (1.0, -1.0, "G must be > 0"),
                                                 (float("nan"), 1.0, "D must be finite")])
def test_bound_rejects_bad_scales(D, G, message) -> None:
    with pytest.raises(ValueError, match=message):
        sch.last_iterate_bound([1.0], D, G)
    with pytest.raises(ValueError, match=message):
        sch.optimal_schedule(5, D, G)


def test_gradient_matches_sympy_exactly() -> None:
    # The bound (10) for T = 4 written out term by term and differentiated by sympy: value and
    # gradient at a rational schedule, to 1e-14 relative (float64 rounding only).
    e = sp.symbols("e1:5", positive=True)
    D, G = sp.symbols("D G", positive=True)
    tails = [sum(e[k:]) for k in range(4)]
    bound = D**2 / (2 * tails[0]) + G**2 / 2 * (sum(e[t] ** 2 / tails[t + 1] for t in range(3)) + e[3])
    point = dict(zip(e, (sp.Rational(3, 10), sp.Rational(1, 4), sp.Rational(1, 8), sp.Rational(1, 20)),
                     strict=True))
    eta = np.array([float(point[x]) for x in e])
    for d, g in ((sp.Rational(3, 2), sp.Rational(7, 10)), (1, 1)):
        at = {**point, D: d, G: g}
        args = (float(d), float(g)) if d != 1 else ()  # (1, 1): the defaults D = G = 1
        value, grad = sch.bound_value_and_grad(eta, *args)
        assert value == pytest.approx(float(bound.subs(at)), rel=1e-14)
        np.testing.assert_allclose(grad, [float(sp.diff(bound, x).subs(at)) for x in e], rtol=1e-14)


def test_gradient_matches_finite_differences() -> None:
    eta = sch.linear_decay(12, 0.3) + 0.01
    value, grad = sch.bound_value_and_grad(eta, 1.5, 0.7)
    assert value == pytest.approx(sch.last_iterate_bound(eta, 1.5, 0.7), rel=1e-15)
    h = 1e-6
    for i in (0, 5, 11):
        up, down = eta.copy(), eta.copy()
        up[i] += h
        down[i] -= h
        fd = (sch.last_iterate_bound(up, 1.5, 0.7) - sch.last_iterate_bound(down, 1.5, 0.7)) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-9)  # central differences: O(h²) + rounding/h


def test_tune_scale_is_the_best_scale() -> None:
    shape = sch.inverse_sqrt_schedule(40)
    alpha, best = sch.tune_scale(shape, 2.0, 0.5)
    assert sch.last_iterate_bound(alpha * shape, 2.0, 0.5) == pytest.approx(best, rel=1e-13)
    for factor in (0.99, 1.01):
        assert sch.last_iterate_bound(factor * alpha * shape, 2.0, 0.5) > best
    with pytest.raises(ValueError, match="bound is infinite"):
        sch.tune_scale([1.0, 0.0])
    with pytest.raises(ValueError, match="shape must be >= 0"):
        sch.tune_scale([1.0, -1.0])


@pytest.mark.parametrize("T", [1, 2, 9, 100])
def test_tuned_constant_schedule_closed_form(T) -> None:
    # constant α: η_{1:T} = αT, the tail terms α²/(α(T - t)) for t < T and α for t = T, so the
    # bound is D²/(2αT) + (G²α/2)(1 + H_{T-1}) (H the harmonic numbers): best at
    # α = (D/G)/√(T(1 + H_{T-1})), where it is D·G·√((1 + H_{T-1})/T)
    h = float(mpmath.harmonic(T - 1))
    alpha, best = sch.tune_scale(sch.constant_schedule(T))  # the defaults: D = G = 1
    assert alpha == pytest.approx(1 / math.sqrt(T * (1 + h)), rel=1e-14)
    assert best == pytest.approx(math.sqrt((1 + h) / T), rel=1e-14)
    alpha, best = sch.tune_scale(sch.constant_schedule(T), 3.0, 0.4)
    assert alpha == pytest.approx(7.5 / math.sqrt(T * (1 + h)), rel=1e-14)
    assert best == pytest.approx(1.2 * math.sqrt((1 + h) / T), rel=1e-14)


# --- the exact minimiser ----------------------------------------------------------------------


def test_tail_values_against_mpmath_recursion_past_a_cache_boundary() -> None:
    # V_T = 1, V_k = 2√(1 + V_{k+1}) - 2, at 30 digits; T = 1025 needs the second cache size (2048)
    T = 1025
    v = [mpmath.mpf(1)]
    with mpmath.workdps(30):
        for _ in range(T - 1):
            v.append(2 * mpmath.sqrt(1 + v[-1]) - 2)
    got = sch.optimal_tail_values(T)
    assert got.shape == (T,)
    np.testing.assert_allclose(got, [float(x) for x in v[::-1]], rtol=1e-14)
    assert sch.optimal_bound(T, 2.0, 0.5) == pytest.approx(math.sqrt(float(v[-1])), rel=1e-14)
    np.testing.assert_allclose(sch.tuned_bound_curve("optimal", [1, 1024, 1025], 2.0, 0.5),
                               [1.0, math.sqrt(float(v[-2])), math.sqrt(float(v[-1]))], rtol=1e-14)


def test_tail_values_recursion() -> None:
    v = sch.optimal_tail_values(4)
    assert v[-1] == 1.0
    for k in range(3):
        assert v[k] == pytest.approx(2 * math.sqrt(1 + v[k + 1]) - 2, rel=1e-15)
    assert sch.optimal_tail_values(2)[0] == pytest.approx(2 * math.sqrt(2) - 2, rel=1e-15)


def test_optimal_schedule_T2_matches_sympy() -> None:
    # With η_1 + η_2 = 1, the bound's quadratic part is x²/(1-x) + (1-x); minimise it exactly.
    x = sp.symbols("x", positive=True)
    q = x**2 / (1 - x) + (1 - x)
    roots = [r for r in sp.solve(sp.diff(q, x), x) if 0 < r < 1]
    assert len(roots) == 1
    eta = sch.optimal_schedule(2)
    assert eta[0] / eta.sum() == pytest.approx(float(roots[0]), rel=1e-14)
    assert sch.optimal_bound(2) == pytest.approx(float(sp.sqrt(q.subs(x, roots[0]))), rel=1e-14)


@pytest.mark.parametrize("T", [1, 2, 10, 300])
def test_optimal_schedule_is_stationary_and_attains_optimal_bound(T) -> None:
    eta = sch.optimal_schedule(T, 2.0, 3.0)
    assert eta.shape == (T,) and np.all(eta > 0)
    value, grad = sch.bound_value_and_grad(eta, 2.0, 3.0)
    assert value == pytest.approx(sch.optimal_bound(T, 2.0, 3.0), rel=1e-12)
    # The bound is convex, so a zero gradient certifies the global minimum; the gradient's scale is
    # value/η (the bound is a sum of terms homogeneous of degree ±1 in η).
    assert np.max(np.abs(grad * eta)) < 1e-12 * value


def test_optimal_schedule_T1_and_scaling() -> None:
    # T = 1: the bound is D²/(2η) + G²η/2, least at η = D/G, where it is D·G
    np.testing.assert_allclose(sch.optimal_schedule(1, 2.0, 4.0), [0.5], rtol=1e-15)
    np.testing.assert_allclose(sch.optimal_schedule(1), [1.0], rtol=1e-15)
    assert sch.optimal_bound(1, 2.0, 4.0) == pytest.approx(8.0, rel=1e-15)
    assert sch.optimal_bound(1) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(sch.optimal_schedule(50, 3.0, 2.0), 1.5 * sch.optimal_schedule(50), rtol=1e-14)


def test_optimal_schedule_beats_other_schedules() -> None:
    T = 60
    best = sch.optimal_bound(T)
    rng = np.random.default_rng(0)
    shapes = [sch.linear_decay(T), sch.constant_schedule(T), *rng.uniform(0.01, 1.0, (20, T))]
    assert all(sch.tune_scale(s)[1] > best for s in shapes)


def test_numerical_minimiser_agrees() -> None:
    T = 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. scipy's OptimizeWarning for an unknown option
        eta = sch.minimise_bound_numerically(T)
        scaled = sch.minimise_bound_numerically(T, 2.0, 0.5)
    assert sch.last_iterate_bound(eta) == pytest.approx(sch.optimal_bound(T), rel=1e-12)
    np.testing.assert_allclose(eta, sch.optimal_schedule(T), rtol=1e-5)
    np.testing.assert_allclose(scaled, sch.optimal_schedule(T, 2.0, 0.5), rtol=1e-5)
    with pytest.raises(ValueError, match="tol must be > 0"):
        sch.minimise_bound_numerically(T, tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        sch.minimise_bound_numerically(T, max_iter=0)
    with pytest.raises(ValueError, match="T must be >= 1"):
        sch.minimise_bound_numerically(0)
    with pytest.raises(ValueError, match="T must be >= 1"):  # T is checked before D
        sch.minimise_bound_numerically(0, -1.0)


def test_optimal_schedule_rejects_bad_T() -> None:
    with pytest.raises(ValueError, match="T must be >= 1"):
        sch.optimal_schedule(0)
    with pytest.raises(ValueError, match="T must be >= 1"):  # T is checked before D
        sch.optimal_schedule(0, -1.0)
    with pytest.raises(ValueError, match="T must be >= 1"):
        sch.optimal_tail_values(0)
    with pytest.raises(ValueError, match="T must be an integer"):
        sch.optimal_bound(2.5)


# --- the identity -----------------------------------------------------------------------------


def test_identity_exact_in_rationals() -> None:
    rng = random.Random(7)
    T = 60
    w = [Fraction(rng.randint(1, 99), rng.randint(1, 99)) for _ in range(T)]
    q = [Fraction(rng.randint(-99, 99), rng.randint(1, 99)) for _ in range(T)]
    assert sch.weighted_identity_rhs(w, q) == q[-1]


def test_identity_symbolic_small_T() -> None:
    w, q = sp.symbols("w1:5", positive=True), sp.symbols("q1:5")
    assert sp.simplify(sch.weighted_identity_rhs(w, q) - q[-1]) == 0


def test_identity_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^w and q must have the same length, got 2 and 1"):
        sch.weighted_identity_rhs([1, 2], [1])
    with pytest.raises(ValueError, match=r"^len\(w\) must be >= 1"):
        sch.weighted_identity_rhs([], [])
    with pytest.raises(ValueError, match=r"^every tail sum w_\{k:T\} must be nonzero"):
        sch.weighted_identity_rhs([1, -1, 0], [1, 2, 3])


# --- SGD --------------------------------------------------------------------------------------


def test_sgd_deterministic_case() -> None:
    # p = 0: ξ = -1 always; from θ_1 = 1 the iterate walks down by η_t until it reaches θ* = -1.
    run = sch.simulate_sgd_abs(jax.random.key(0), [0.5, 0.5, 0.25, 1.0], n_paths=3, p=0.0)
    np.testing.assert_allclose(run.final_excess, [0.75] * 3)  # θ_4 = 1 - 1.25 = -0.25
    np.testing.assert_allclose(run.weighted_excess, [0.5 * 2 + 0.5 * 1.5 + 0.25 * 1 + 0.75] * 3)


def test_sgd_long_schedule_past_the_padding() -> None:
    # T = 1500 > 1024: the rates are zero-padded to 2048. p = 0: θ_T = 1 - 1499·η, excess θ_T + 1
    eta = np.full(1500, 1e-4)
    run = sch.simulate_sgd_abs(jax.random.key(0), eta, n_paths=2, p=0.0)
    np.testing.assert_allclose(run.final_excess, [2 - 1499e-4] * 2, rtol=1e-12)
    weighted = 1e-4 * sum(2 - t * 1e-4 for t in range(1500))  # θ_t + 1 = 2 - (t - 1)·η
    np.testing.assert_allclose(run.weighted_excess, [weighted] * 2, rtol=1e-12)


def test_sgd_left_of_the_minimiser() -> None:
    # p = 0, θ_1 = 1, η_1 = 3: θ_2 = -2, one unit left of θ* = -1, where the excess loss is |θ + 1|
    run = sch.simulate_sgd_abs(jax.random.key(0), [3.0, 0.25], n_paths=2, p=0.0, record=True)
    np.testing.assert_allclose(run.path_excess, [[2.0, 1.0]] * 2, rtol=1e-15)
    np.testing.assert_allclose(run.weighted_excess, [3.0 * 2.0 + 0.25 * 1.0] * 2, rtol=1e-15)


def _sgd_expectations(eta, p, theta1):
    """E[L(θ_T) - L*] and E[Σ_t η_t (L(θ_t) - L*)] by enumerating the 2^(T-1) noise sequences."""
    def excess(theta):
        x = theta + 1
        return (1 - 2 * p) * x if x >= 0 else -x

    final = weighted = 0.0
    for xis in itertools.product((1.0, -1.0), repeat=len(eta) - 1):
        prob, theta, acc = 1.0, theta1, 0.0
        for lr, xi in zip(eta, xis, strict=False):
            prob *= p if xi > 0 else 1 - p
            acc += lr * excess(theta)
            theta -= lr * np.sign(theta - xi)
        final += prob * excess(theta)
        weighted += prob * (acc + eta[-1] * excess(theta))
    return final, weighted


def test_sgd_defaults_and_law_against_enumeration() -> None:
    # The defaults: 1000 paths, p = 1/4, θ_1 = 1. The schedule visits both sides of θ* = -1 and the
    # kink ξ = θ (sign 0: no move); the path means must match the exact expectations within 4 SE.
    eta = [1.5, 1.0, 0.5, 0.3]
    run = sch.simulate_sgd_abs(jax.random.key(8), eta)
    assert run.final_excess.shape == (1000,) and run.path_excess is None
    for got, exact, what in zip((run.final_excess, run.weighted_excess),
                                _sgd_expectations(eta, 0.25, 1.0), ("final", "weighted"), strict=True):
        mean, se = stats.mean_se(got)
        stats.assert_within_se(mean, exact, se, what=f"simulate_sgd_abs {what} excess")
    explicit = sch.simulate_sgd_abs(jax.random.key(8), eta, n_paths=1000, p=0.25, theta1=1.0)
    np.testing.assert_array_equal(explicit.final_excess, run.final_excess)


def test_sgd_shapes_seeds_and_bound() -> None:
    key = jax.random.key(3)
    T, D, G = 200, 2.0, 1.0
    etas = np.stack([sch.tune_scale(s, D, G)[0] * s for s in (sch.linear_decay(T), sch.constant_schedule(T))])
    run = sch.simulate_sgd_abs(key, etas, n_paths=500, p=0.3)
    assert run.final_excess.shape == (2, 500) and np.all(run.final_excess >= 0)
    again = sch.simulate_sgd_abs(key, etas[0], n_paths=500, p=0.3)
    np.testing.assert_array_equal(again.final_excess, run.final_excess[0])  # same key, same paths
    for eta, final in zip(etas, run.final_excess, strict=True):
        stderr = final.std() / math.sqrt(final.size)
        assert final.mean() - 4 * stderr <= sch.last_iterate_bound(eta, D, G)


def test_sgd_rejects_bad_input() -> None:
    key = jax.random.key(0)
    with pytest.raises(ValueError, match=r"p must be < 0\.5"):
        sch.simulate_sgd_abs(key, [0.1, 0.1], p=0.5)
    with pytest.raises(ValueError, match="key must be a single JAX PRNG key"):
        sch.simulate_sgd_abs(0, [0.1, 0.1])
    with pytest.raises(ValueError, match="n_paths must be >= 1"):
        sch.simulate_sgd_abs(key, [0.1, 0.1], n_paths=0)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        sch.simulate_sgd_abs(key, [0.1, -0.1])
    with pytest.raises(ValueError, match=r"eta must be 1-D \(one schedule\) or 2-D"):
        sch.simulate_sgd_abs(key, np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="p must be >= 0"):
        sch.simulate_sgd_abs(key, [0.1, 0.1], p=-0.1)
    with pytest.raises(ValueError, match="theta1 must be finite"):
        sch.simulate_sgd_abs(key, [0.1, 0.1], theta1=float("nan"))
    with pytest.raises(ValueError, match="eta must have a floating dtype"):
        sch.simulate_sgd_abs(key, [1, 1])


def test_tuned_bound_curve_matches_single_calls() -> None:
    Ts = [1, 7, 40]
    for family, make in sch.FAMILIES.items():
        curve = sch.tuned_bound_curve(family, Ts, 2.0, 0.5)
        expected = [sch.tune_scale(make(T), 2.0, 0.5)[1] for T in Ts]
        np.testing.assert_allclose(curve, expected, rtol=1e-12)
    np.testing.assert_allclose(sch.tuned_bound_curve("optimal", [3, 5000]),
                               [sch.optimal_bound(3), sch.optimal_bound(5000)], rtol=1e-15)
    np.testing.assert_allclose(sch.tuned_bound_curve("optimal", [3, 5000], 2.0, 0.7),
                               [sch.optimal_bound(3, 2.0, 0.7), sch.optimal_bound(5000, 2.0, 0.7)],
                               rtol=1e-15)


@pytest.mark.parametrize("family", ["constant", "inverse_sqrt", "inverse_t", "cosine", "linear_decay"])
def test_tuned_bound_curve_against_eq8_in_rationals(family) -> None:
    # The bound of α·shape is D²A/α + G²Bα with A = 1/(2 shape_{1:T}) and B the G-part of eq. (8)
    # at α = 1 (the O(T²) rational oracle above, with D = 0): tuned, 2·D·G·√(AB).
    D, G = 2.0, 0.5
    Ts = [1, 7, 40]
    curve = sch.tuned_bound_curve(family, Ts, D, G)
    shapes = {"constant": lambda t: np.ones(t), "inverse_sqrt": lambda t: 1 / np.sqrt(np.arange(1, t + 1)),
              "inverse_t": lambda t: 1 / np.arange(1, t + 1),
              "cosine": lambda t: (1 + np.cos(np.pi * np.arange(1, t + 1) / (t + 1))) / 2,
              "linear_decay": lambda t: 1 - np.arange(1, t + 1) / (t + 1)}
    for T, got in zip(Ts, curve, strict=True):
        eta = [Fraction(float(x)) for x in shapes[family](T)]
        a, b = 1 / (2 * sum(eta)), bound_eq8(eta, Fraction(0), Fraction(1))
        assert got == pytest.approx(2 * D * G * math.sqrt(a * b), rel=1e-13), (family, T)


def test_tuned_bound_curve_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="family must be one of"):
        sch.tuned_bound_curve("step_decay", [10])
    with pytest.raises(ValueError, match="T must be >= 1"):
        sch.tuned_bound_curve("constant", [10, 0])
    with pytest.raises(ValueError, match="T must be >= 1"):  # "optimal" builds no schedule to check T
        sch.tuned_bound_curve("optimal", [10, 0])
    with pytest.raises(ValueError, match="T must be an integer"):
        sch.tuned_bound_curve("constant", [2.5])


def test_sgd_record_path_losses() -> None:
    etas = np.stack([sch.linear_decay(50, 0.2), sch.constant_schedule(50, 0.05)])
    run = sch.simulate_sgd_abs(jax.random.key(5), etas, n_paths=64, p=0.2, record=True)
    assert run.path_excess.shape == (2, 64, 50)
    np.testing.assert_array_equal(run.path_excess[..., -1], run.final_excess)
    np.testing.assert_allclose(run.path_excess[..., 0], 0.6 * 2)  # θ_1 = 1: (1 - 2p)(θ_1 + 1)
    weighted = np.einsum("mt,mnt->mn", etas, run.path_excess)
    np.testing.assert_allclose(weighted, run.weighted_excess, rtol=1e-13)
    plain = sch.simulate_sgd_abs(jax.random.key(5), etas, n_paths=64, p=0.2)
    np.testing.assert_array_equal(plain.final_excess, run.final_excess)
    assert plain.path_excess is None
    one = sch.simulate_sgd_abs(jax.random.key(5), etas[0], n_paths=64, p=0.2, record=True)
    np.testing.assert_array_equal(one.path_excess, run.path_excess[0])
    with pytest.raises(ValueError, match="record must be True or False"):
        sch.simulate_sgd_abs(jax.random.key(5), etas[0], record=1)


@pytest.mark.parametrize("T", [2, 3, 10, 1000])
def test_optimal_schedule_last_step_ratio(T) -> None:
    # V_T = 1, so the last ratio r = S_T / S_{T-1} = 1/√2 and η_T / η_{T-1} = r / (1 - r) = 1 + √2
    eta = sch.optimal_schedule(T, 3.0, 0.7)
    assert abs(eta[-1] / eta[-2] - (1 + math.sqrt(2))) < 1e-12


def test_cosine_bound_tends_to_its_continuum_constant() -> None:
    # √T · bound / (D G) → √(Q/m) with m = ∫ f = 1/2 and Q = ∫ f(x)² / ∫_x^1 f for
    # f = (1 + cos πx)/2 (a Riemann sum of the bound's terms); the discrete sum differs by O(1/T)
    import scipy.integrate

    def integrand(x: float) -> float:
        f = 0.5 * (1 + math.cos(math.pi * x))
        tail = 0.5 * (1 - x) - math.sin(math.pi * x) / (2 * math.pi)
        return f * f / tail

    Q = scipy.integrate.quad(integrand, 0, 1 - 1e-9, limit=200, epsabs=1e-13)[0]
    limit = math.sqrt(Q / 0.5)
    T = 100_000
    got = math.sqrt(T) * float(sch.tuned_bound_curve("cosine", [T])[0])
    assert abs(got / limit - 1) < 1e-4


def test_average_loss_bound_and_its_tuned_constant() -> None:
    # η = (1, 2): (D²/2 + G²/2 · 5) / 3 with D = 2, G = 1 -> (2 + 2.5) / 3 = 1.5
    assert sch.average_loss_bound([1.0, 2.0], 2.0, 1.0) == pytest.approx(1.5, rel=1e-15)
    assert sch.average_loss_bound([1.0, 2.0]) == pytest.approx(1.0, rel=1e-15)  # D = G = 1
    assert sch.average_loss_bound([1.0, 2.0], 1.0, 3.0) == pytest.approx(23 / 3, rel=1e-15)
    T, D, G = 400, 3.0, 0.5
    alpha, best = sch.tune_scale(sch.constant_schedule(T), D, G, bound="average")
    assert alpha == pytest.approx(D / (G * math.sqrt(T)), rel=1e-14)
    assert best == pytest.approx(D * G / math.sqrt(T), rel=1e-14)
    assert sch.average_loss_bound(sch.constant_schedule(T, alpha), D, G) == pytest.approx(best, rel=1e-14)
    # Cauchy–Schwarz: no schedule of the same length does better at its own best scale
    rng = np.random.default_rng(2)
    for _ in range(20):
        shape = rng.uniform(0.01, 1.0, T)
        assert sch.tune_scale(shape, D, G, bound="average")[1] >= best * (1 - 1e-12)


def test_previous_last_iterate_bound() -> None:
    eta = np.array([0.5, 0.3, 0.2])  # T = 3: 1/(2·3·0.2) + (0.25/2 + 0.09/1 + 0.04/1)/(2·0.2)
    expected = 1 / 1.2 + (0.25 / 2 + 0.09 + 0.04) / 0.4
    assert sch.previous_last_iterate_bound(eta) == pytest.approx(expected, rel=1e-14)
    # a constant schedule: the two bounds coincide; a decreasing one: the previous is larger
    const = sch.constant_schedule(50, 0.1)
    assert sch.previous_last_iterate_bound(const) == pytest.approx(sch.last_iterate_bound(const), rel=1e-13)
    lin = sch.linear_decay(50, 0.1)
    assert sch.previous_last_iterate_bound(lin) > sch.last_iterate_bound(lin)
    alpha, best = sch.tune_scale(lin, bound="previous")
    assert sch.previous_last_iterate_bound(alpha * lin) == pytest.approx(best, rel=1e-14)
    # with D = 2, G = 3: 4 · 1/1.2 + 9 · (0.25/2 + 0.09 + 0.04)/0.4
    assert sch.previous_last_iterate_bound(eta, 2.0, 3.0) == pytest.approx(4 / 1.2 + 9 * 0.255 / 0.4,
                                                                             rel=1e-14)
    with pytest.raises(ValueError, match="non-increasing"):
        sch.previous_last_iterate_bound([0.1, 0.2])
    with pytest.raises(ValueError, match="with η_T > 0"):
        sch.previous_last_iterate_bound([0.1, 0.0])
    with pytest.raises(ValueError, match="with η_T > 0"):  # η_T, not η_2, at T = 3
        sch.previous_last_iterate_bound([0.3, 0.2, 0.0])
    with pytest.raises(ValueError, match="bound must be one of"):
        sch.tune_scale(lin, bound="cosine")
