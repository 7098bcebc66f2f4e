"""Unit tests of kexue_lib.gaussian_max (post 11390: the maximum of n Gaussians, bf16 duplicates).

Every formula is pinned against an independent value (a closed form, a textbook expression, an
mpmath recomputation at high precision, exact rational arithmetic or a seeded simulation with its
standard error) at a tolerance that a changed constant or operator exceeds: ``make mutate
MODULE=gaussian_max`` measures it (see the README's mutation-testing table).
"""

from __future__ import annotations

import itertools
import math
import re

import jax
import jax.numpy as jnp
import ml_dtypes
import mpmath
import numpy as np
import pytest
from scipy import special

from kexue_lib import gaussian_max as gm

# A warning (an overflow, a log of 0, an invalid cast) is a failure: the kernels raise none.
pytestmark = pytest.mark.filterwarnings("error")

KEY = jax.random.key(11390)

# ----------------------------------------------------------------------------- references


def _normal_quantile(p: mpmath.mpf) -> mpmath.mpf:
    """Phi^{-1}(p) through mpmath's inverse error function (work at enough digits for p near 1)."""
    return mpmath.sqrt(2) * mpmath.erfinv(2 * p - 1)


def _expected_max_by_parts(n: int) -> mpmath.mpf:
    """E[z_max] = int_0^inf (1 - Phi^n) dz - int_-inf^0 Phi^n dz, at 40 digits, own breakpoints."""
    with mpmath.workdps(40):
        root2 = mpmath.sqrt(2)
        peak = mpmath.sqrt(2 * mpmath.log(n))
        points = [0, *(peak + k / peak for k in (-30, -12, -6, -3, -1, 0, 1, 3, 6, 12, 30)
                       if peak + k / peak > 0), mpmath.inf]
        upper = mpmath.quad(lambda z: -mpmath.expm1(n * mpmath.log1p(-mpmath.erfc(z / root2) / 2)),
                            points)
        return upper - mpmath.quad(lambda z: mpmath.ncdf(z) ** n, [-mpmath.inf, 0])


def _bin_sum(n: int, mu: float, sigma: float, lo: float, hi: float) -> tuple[float, float]:
    """sum_k Phi(hi_k)^n - Phi(lo_k)^n - n (Phi(hi_k) - Phi(lo_k)) Phi(lo_k)^(n-1) at 40 digits,
    over the bf16 bins with lower edge in [lo, hi); also Phi(first edge)^n, the mass left out below."""
    _, edges = gm.bf16_bins()
    idx = np.flatnonzero((edges[:-1] >= lo) & (edges[:-1] < hi))
    with mpmath.workdps(40):
        cdf = [mpmath.ncdf((mpmath.mpf(float(edges[i])) - mpmath.mpf(mu)) / mpmath.mpf(sigma))
               for i in range(idx[0], idx[-1] + 2)]
        total = mpmath.fsum(b**n - a**n - n * (b - a) * a ** (n - 1) for a, b in itertools.pairwise(cdf))
        return float(total), float(cdf[0] ** n)


def _attention_by_complement(n: int, sigma: float) -> float:
    """P(z_(n) - z_(n-1) <= c/sigma) = 1 - int n phi(m) Phi(m - c/sigma)^(n-1) dm, at 30 digits."""
    with mpmath.workdps(30):
        t = mpmath.mpf(gm.BF16_ONE_THRESHOLD) / sigma
        peak = mpmath.sqrt(2 * mpmath.log(n))
        points = [-mpmath.inf, *(peak + k / peak for k in (-30, -10, -3, -1, 0, 1, 3, 10, 30)), mpmath.inf]
        return float(1 - mpmath.quad(lambda m: n * mpmath.npdf(m) * mpmath.ncdf(m - t) ** (n - 1), points))


def _gumbel_approx_mp(n: int, binades: range) -> mpmath.mpf:
    """The book's closed form (duplicate_max_gumbel_approx's docstring) summed in mpmath."""
    with mpmath.workdps(30):
        a = _normal_quantile(1 - mpmath.mpf(1) / n)
        b = 1 / (n * mpmath.npdf(a))

        def first(y: mpmath.mpf) -> mpmath.mpf:
            return (1 + y) * mpmath.exp(-y)

        def second(y: mpmath.mpf) -> mpmath.mpf:
            return (y * y + 2 * y + 2) * mpmath.exp(-y)

        total = mpmath.mpf(0)
        for e in binades:
            w = mpmath.mpf(2) ** (e - 7)
            y_lo, y_hi = (mpmath.exp(-(mpmath.mpf(2) ** k - a) / b) for k in (e, e + 1))
            total += w / (2 * b) * (first(y_hi) - first(y_lo))
            total -= w**2 / (6 * b**2) * (second(y_hi) - second(y_lo))
        return total


# ----------------------------------------------------------------------------- expected maximum


@pytest.mark.parametrize(
    ("n", "closed_form"),
    [
        (2, lambda: 1 / mpmath.sqrt(mpmath.pi)),
        (3, lambda: 3 / (2 * mpmath.sqrt(mpmath.pi))),
        # David & Nagaraja, Order Statistics, 3rd ed., section 3.2
        (4, lambda: 3 / mpmath.sqrt(mpmath.pi) * (0.5 + mpmath.asin(mpmath.mpf(1) / 3) / mpmath.pi)),
        (5, lambda: 5 / (4 * mpmath.sqrt(mpmath.pi)) * (1 + 6 / mpmath.pi * mpmath.asin(mpmath.mpf(1) / 3))),
    ],
)
def test_expected_max_matches_closed_forms(n, closed_form) -> None:
    with mpmath.workdps(30):
        assert abs(gm.expected_max(n, dps=30) - closed_form()) < mpmath.mpf(10) ** -28, f"expected_max({n})"


@pytest.mark.parametrize("n", [10**6, 10**70])
def test_expected_max_matches_integration_by_parts(n) -> None:
    exact = _expected_max_by_parts(n)
    assert abs(gm.expected_max(n, dps=30) / exact - 1) < mpmath.mpf(10) ** -29, f"expected_max({n})"


def test_expected_max_of_one_normal_is_zero_and_type_is_mpf() -> None:
    assert gm.expected_max(1) == 0
    assert isinstance(gm.expected_max(7), mpmath.mpf)


def test_expected_max_precision_argument() -> None:
    assert gm.expected_max(7) == gm.expected_max(7, dps=30)  # the default, to the last bit
    assert abs(gm.expected_max(2, dps=5) - 1 / mpmath.sqrt(mpmath.pi)) < 1e-5
    with mpmath.workdps(110):  # the largest precision it accepts (beyond ~145, mpmath's erfc overflows)
        assert abs(gm.expected_max(2, dps=100) - 1 / mpmath.sqrt(mpmath.pi)) < mpmath.mpf(10) ** -100
    with pytest.raises(ValueError, match="dps must be >= 5"):
        gm.expected_max(2, dps=4)
    with pytest.raises(ValueError, match="dps must be <= 100"):
        gm.expected_max(1, dps=101)


@pytest.mark.parametrize("n", [100, 10**9, 10**70])
def test_expected_max_15_digits_agree_with_40(n) -> None:
    low, high = gm.expected_max(n, dps=15), gm.expected_max(n, dps=40)
    assert abs(low - high) <= 1e-15 * abs(high)


def test_expected_max_is_below_the_jensen_bound_and_increasing() -> None:
    values = [float(gm.expected_max(n, dps=15)) for n in (2, 10, 100, 1000)]
    assert all(a < b for a, b in itertools.pairwise(values))
    for n, v in zip((2, 10, 100, 1000), values, strict=True):
        assert v < math.sqrt(2 * math.log(n))


@pytest.mark.parametrize(("level", "first_n"), [(0.5, 2), (0.6, 3), (1.0, 4), (1.1, 5)])
def test_expected_max_crossing_on_the_closed_forms(level, first_n) -> None:
    # E = 0, 1/sqrt(pi) = 0.564, 3/(2 sqrt(pi)) = 0.846, 1.029, 1.163 for n = 1..5
    assert gm.expected_max_crossing(level) == first_n


@pytest.mark.parametrize("level", [2, 4])
def test_expected_max_crossing_is_the_first_integer_at_the_level(level) -> None:
    n = gm.expected_max_crossing(level)
    assert gm.expected_max(n - 1, dps=30) < level <= gm.expected_max(n, dps=30)


def test_expected_max_crossing_refuses_an_undecidable_comparison() -> None:
    with mpmath.workdps(40):
        exact = 1 / mpmath.sqrt(mpmath.pi)  # E[z_max] at n = 2; float() is 7.7e-18 off it
    with pytest.raises(ValueError, match=r"E\[z_max\] at n = 2 is within 1.0e-17 of 0.5641"):
        gm.expected_max_crossing(float(exact))  # default dps = 20: the margin is 1e-17
    assert gm.expected_max_crossing(float(exact), dps=21) == 2  # margin 1e-18: decided
    with pytest.raises(ValueError, match="level must be > 0"):
        gm.expected_max_crossing(0.0)


@pytest.mark.parametrize(
    ("n", "offset", "decided"),
    # dps = 8: a comparison must be decided by more than 1e-5 * max(1, level)
    [(2, 0.8e-5, False), (2, 1.5e-5, True), (2, -1.5e-5, True), (5, 1.1e-5, False), (5, 1.3e-5, True)],
)
def test_expected_max_crossing_margin_is_1e_minus_dps_plus_3_times_the_level(n, offset, decided) -> None:
    level = float(gm.expected_max(n, dps=20)) + offset
    if decided:
        assert gm.expected_max_crossing(level, dps=8) == (n + 1 if offset > 0 else n)
    else:
        with pytest.raises(ValueError, match="cannot decide"):
            gm.expected_max_crossing(level, dps=8)


def test_expected_max_crossing_arguments() -> None:
    with pytest.raises(ValueError, match="dps must be >= 8"):
        gm.expected_max_crossing(0.5, dps=7)
    with pytest.raises(ValueError, match="dps must be <= 100"):
        gm.expected_max_crossing(0.5, dps=101)
    with pytest.raises(ValueError, match="level must be a real number"):
        gm.expected_max_crossing("one")


def test_laplace_mode_solves_the_stationarity_equation() -> None:
    assert gm.laplace_mode(1) == 0
    for n in (2, 50, 10**6, 10**70):
        z = gm.laplace_mode(n)  # 30 digits asked, found at 35: the residual is below 1e-33
        with mpmath.workdps(45):
            sides = (n - 1) * mpmath.npdf(z), z * mpmath.ncdf(z)
            assert abs(sides[0] / sides[1] - 1) < mpmath.mpf(10) ** -33, f"laplace_mode({n})"
        assert z < gm.expected_max(n)  # the maximum's law is right-skewed: mean > mode


def test_laplace_mode_precision_argument() -> None:
    assert gm.laplace_mode(50) == gm.laplace_mode(50, dps=30)  # the default, to the last bit
    z = gm.laplace_mode(50, dps=5)
    assert abs(49 * mpmath.npdf(z) - z * mpmath.ncdf(z)) < 1e-5
    assert gm.laplace_mode(1, dps=200) == 0
    with pytest.raises(ValueError, match="dps must be >= 5"):
        gm.laplace_mode(2, dps=4)
    with pytest.raises(ValueError, match="dps must be <= 200"):
        gm.laplace_mode(1, dps=201)


@pytest.mark.parametrize("n", [2, 3, 10, 1000, 10**9, 10**30, 10**300])
def test_gumbel_constants_match_their_defining_expressions(n) -> None:
    # Embrechts, Klueppelberg & Mikosch (1997), Example 3.3.29
    with mpmath.workdps(40):
        root = mpmath.sqrt(2 * mpmath.log(n))
        a = root - (mpmath.log(mpmath.log(n)) + mpmath.log(4 * mpmath.pi)) / (2 * root)
        b = 1 / root
    got_a, got_b = gm.gumbel_constants(n)
    assert got_a == pytest.approx(float(a), rel=1e-12), f"gumbel_constants({n}): a_n"
    assert got_b == pytest.approx(float(b), rel=1e-12), f"gumbel_constants({n}): b_n"


def test_gumbel_constants_approximate_the_mean() -> None:
    a, b = gm.gumbel_constants(10**9)
    exact = float(gm.expected_max(10**9, dps=15))
    assert abs(a + 0.5772156649 * b - exact) / exact < 0.01
    with pytest.raises(ValueError, match="n must be >= 2"):
        gm.gumbel_constants(1)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 4096, 10**9, 10**30])
def test_inverse_cdf_approx_is_the_normal_quantile(n) -> None:
    with mpmath.workdps(80):
        want = _normal_quantile(mpmath.mpf(n) / (n + 1))
    assert gm.inverse_cdf_approx(n) == pytest.approx(float(want), rel=1e-14, abs=1e-15), n


# ----------------------------------------------------------------------------- bfloat16 bins


def test_bf16_bins_are_every_finite_bfloat16() -> None:
    values, edges = gm.bf16_bins()
    bits = np.arange(2**16, dtype=np.uint16)
    bits = bits[bits & 0x7F80 != 0x7F80]  # exponent all ones: infinities and NaNs
    finite = np.unique(bits.view(ml_dtypes.bfloat16).astype(np.float64))  # -0 and +0 merge
    assert values.size == 2 * 0x7F80 - 1
    np.testing.assert_array_equal(values, finite)
    assert edges.size == values.size + 1 and edges[0] == -np.inf and edges[-1] == np.inf
    assert np.all(np.diff(edges) > 0)


def test_bf16_bins_agree_with_the_double_rounding_of_every_edge() -> None:
    """Each interior edge lies halfway between two adjacent float32 numbers: the one below rounds
    to the bin below, the one above to the bin above (ml_dtypes' float32 -> bfloat16, RNE)."""
    values, edges = gm.bf16_bins()
    inner = edges[1:-1]
    half = np.spacing(np.abs(inner).astype(np.float32)).astype(np.float64) / 2
    below = (inner - half).astype(np.float32)
    above = (inner + half).astype(np.float32)
    np.testing.assert_array_equal(below.astype(np.float64) + half, inner)  # both exact float32
    np.testing.assert_array_equal(above.astype(np.float64) - half, inner)
    np.testing.assert_array_equal(below.astype(ml_dtypes.bfloat16).astype(np.float64), values[:-1])
    np.testing.assert_array_equal(above.astype(ml_dtypes.bfloat16).astype(np.float64), values[1:])


def test_bf16_bins_agree_with_xla_cast() -> None:
    values, edges = gm.bf16_bins()
    inner = edges[1:-1]
    pick = np.flatnonzero((np.abs(inner) > 1e-30) & (np.abs(inner) < 1e30))[::7]
    half = np.spacing(np.abs(inner[pick]).astype(np.float32)).astype(np.float64) / 2
    below = jnp.asarray((inner[pick] - half).astype(np.float32))
    above = jnp.asarray((inner[pick] + half).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(below.astype(jnp.bfloat16), np.float64), values[pick])
    np.testing.assert_array_equal(np.asarray(above.astype(jnp.bfloat16), np.float64), values[pick + 1])


def test_standard_normal_bins_are_computed_once() -> None:
    first = gm._bins(0.0, 1.0)
    assert gm._bins(0.0, 1.0) is first
    assert gm._bins(0.0, 2.0) is not first


# ----------------------------------------------------------------------------- exact probabilities


def test_log_excess_matches_mpmath() -> None:
    """log((1 + r)^n - 1 - n r) on every branch: binomial series (n r < 0.1), expm1, huge s.

    r up to 1e15, so that at n = 2 the huge-s branch's correction -(1 + n r) e^{-s}, about
    2/r, is above float64's resolution of s (at r = 1e12 it moves the result by 7e-14 relative).
    """
    log_r = np.log(np.geomspace(1e-12, 1e15, 82))
    for n in (2, 3, 100, 10**6):
        got = gm._log_excess(n, log_r)
        with mpmath.workdps(60):
            r = [mpmath.exp(mpmath.mpf(float(x))) for x in log_r]
            want = [float(mpmath.log((1 + x) ** n - 1 - n * x)) for x in r]
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-12, err_msg=f"_log_excess(n={n})")


def test_duplicate_probability_small_n_closed_forms() -> None:
    assert gm.duplicate_max_probability(1) == 0.0
    _, edges = gm.bf16_bins()
    mass = special.ndtr(edges[1:]) - special.ndtr(edges[:-1])
    # n = 2: the two numbers share a bin
    assert gm.duplicate_max_probability(2) == pytest.approx(np.sum(mass**2), rel=1e-12)


def test_duplicate_probability_matches_mpmath_for_n_128() -> None:
    """Direct high-precision sum over the bins above 0.25; below, Phi(0.25)**128 < 1e-28."""
    total, left_out = _bin_sum(128, 0.0, 1.0, 0.25, 8.0)
    assert left_out < 1e-28
    assert gm.duplicate_max_probability(128) == pytest.approx(total, rel=1e-12)
    assert gm.duplicate_max_probability(128) == gm.duplicate_max_probability(128, mu=0.0, sigma=1.0)
    # the default sigma is 1 (sigma = 2 would give the same answer at mu = 0: the grids scale by 2)
    assert gm.duplicate_max_probability(128, mu=0.5) == gm.duplicate_max_probability(128, mu=0.5, sigma=1.0)


@pytest.mark.parametrize(
    ("n", "mu", "sigma", "lo", "hi", "rel"),
    [
        # N(1.5, 0.7^2): below 0.9, P(all 128 below) = Phi(-0.857)^128 < 1e-13
        (128, 1.5, 0.7, 0.9, 8.0, 1e-11),
        # a narrow normal over a few bins: the expm1 and huge-s branches of the log-space sum
        (2, 1.0, 0.002, 0.976, 1.024, 1e-12),
        (64, 1.0, 0.002, 0.976, 1.024, 1e-12),
        (4096, 1.0, 0.002, 0.976, 1.024, 1e-12),
        (100, -3.0, 0.01, -3.12, -2.88, 1e-12),
    ],
)
def test_duplicate_probability_for_a_general_normal_matches_mpmath(n, mu, sigma, lo, hi, rel) -> None:
    total, left_out = _bin_sum(n, mu, sigma, lo, hi)
    assert left_out < 1e-13
    got = gm.duplicate_max_probability(n, mu=mu, sigma=sigma)
    assert got == pytest.approx(total, rel=rel, abs=left_out), (n, mu, sigma)


def test_duplicate_probability_is_invariant_under_powers_of_two_only() -> None:
    # bfloat16 and float32 grids scale exactly by 2: so do the bins and their half-ulp shifts
    for n in (128, 4096):
        p = gm.duplicate_max_probability(n)
        for sigma in (0.25, 2.0, 8.0):
            assert gm.duplicate_max_probability(n, sigma=sigma) == pytest.approx(p, rel=1e-12)
        # within an octave the grid is not scale-invariant, nor under a shift
        assert abs(gm.duplicate_max_probability(n, sigma=1.5) / p - 1) > 0.05
        assert abs(gm.duplicate_max_probability(n, mu=1.0) / p - 1) > 0.05


def test_vectorised_probabilities_match_the_log_space_sum() -> None:
    ns = np.array([1, 2, 3, 7, 64, 65, 1000, 4096, 65536, 2**20 - 1, 2**20])
    got = gm.duplicate_max_probabilities(ns)
    want = np.array([gm.duplicate_max_probability(int(n)) for n in ns])
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-11, atol=1e-14)
    got = gm.duplicate_max_probabilities(ns[1:6], mu=-0.5, sigma=1.3)
    want = [gm.duplicate_max_probability(int(n), mu=-0.5, sigma=1.3) for n in ns[1:6]]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)
    every = gm.duplicate_max_probabilities(np.arange(60, 70))  # consecutive n, one block
    np.testing.assert_allclose(every, [gm.duplicate_max_probability(n) for n in range(60, 70)],
                               rtol=1e-11, atol=1e-14)
    np.testing.assert_array_equal(gm.duplicate_max_probabilities(ns[1:3]),
                                  gm.duplicate_max_probabilities(ns[1:3], mu=0.0, sigma=1.0))
    np.testing.assert_array_equal(gm.duplicate_max_probabilities(ns[1:3], mu=0.5),
                                  gm.duplicate_max_probabilities(ns[1:3], mu=0.5, sigma=1.0))
    # a long run of consecutive n is cut into several blocks
    run = np.arange(100, 400)
    np.testing.assert_allclose(gm.duplicate_max_probabilities(run)[::37],
                               [gm.duplicate_max_probability(int(n)) for n in run[::37]], rtol=1e-11)
    np.testing.assert_array_equal(gm.duplicate_max_probabilities(np.array([1])), [0.0])
    np.testing.assert_allclose(gm.duplicate_max_probabilities(5), [gm.duplicate_max_probability(5)],
                               rtol=1e-11)


def test_vectorised_probabilities_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^n must be strictly increasing$"):
        gm.duplicate_max_probabilities(np.array([5, 5]))
    with pytest.raises(ValueError, match=r"^n must be strictly increasing$"):
        gm.duplicate_max_probabilities(np.array([6, 5]))
    with pytest.raises(ValueError, match="n must be an integer or a non-empty 1-D array of integers"):
        gm.duplicate_max_probabilities(np.array([2.0, 3.0]))
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        gm.duplicate_max_probabilities(np.array([0, 3]))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_probabilities(np.array([2, 3]), sigma=0.0)
    with pytest.raises(ValueError, match="mu must be finite"):
        gm.duplicate_max_probabilities(np.array([2, 3]), mu=math.nan)


def test_duplicate_probability_is_stable_up_to_2_pow_20() -> None:
    ps = [gm.duplicate_max_probability(2**k) for k in range(1, 21)]
    assert all(0 < p < 0.1 and math.isfinite(p) for p in ps)


def test_attention_probability_is_below_the_cast_probability() -> None:
    assert gm.attention_duplicate_one_probability(1) == 0.0
    for n in (128, 4096):
        p = gm.attention_duplicate_one_probability(n)
        assert 0 < p < gm.duplicate_max_probability(n) / 3


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_attention_probability_for_two_numbers_is_a_closed_form(sigma) -> None:
    # n = 2: P(|z1 - z2| <= c/sigma) with z1 - z2 ~ N(0, 2)
    want = 2 * special.ndtr(gm.BF16_ONE_THRESHOLD / (sigma * math.sqrt(2))) - 1
    got = gm.attention_duplicate_one_probability(2, sigma=sigma)
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("n", "sigma"), [(3, 2.0), (4096, 1.0), (10**6, 0.5)])
def test_attention_probability_matches_the_complement_integral(n, sigma) -> None:
    got = gm.attention_duplicate_one_probability(n, sigma=sigma)
    assert got == pytest.approx(_attention_by_complement(n, sigma), rel=1e-12), (n, sigma)


def test_attention_probability_arguments() -> None:
    assert gm.attention_duplicate_one_probability(64) == gm.attention_duplicate_one_probability(64, sigma=1.0)
    assert gm.attention_duplicate_one_probability(64, dps=5) == pytest.approx(
        gm.attention_duplicate_one_probability(64), rel=1e-5)
    assert gm.attention_duplicate_one_probability(1, dps=100) == 0.0
    with pytest.raises(ValueError, match="dps must be >= 5"):
        gm.attention_duplicate_one_probability(2, dps=4)
    with pytest.raises(ValueError, match="dps must be <= 100"):
        gm.attention_duplicate_one_probability(1, dps=101)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.attention_duplicate_one_probability(10, sigma=-1.0)
    with pytest.raises(ValueError, match="sigma must be a real number"):
        gm.attention_duplicate_one_probability(10, sigma="one")


def test_attention_threshold_is_where_exp_rounds_to_one() -> None:
    c = gm.BF16_ONE_THRESHOLD  # exp(-c) = 1 - 2^-9, the midpoint below 1
    assert math.exp(-c) == pytest.approx(1 - 2.0**-9, rel=1e-15)
    gaps = np.array([c * (1 - 1e-4), c * (1 + 1e-4)], dtype=np.float32)
    ones = np.exp(-gaps).astype(ml_dtypes.bfloat16).astype(np.float32)
    np.testing.assert_array_equal(ones, [1.0, 1 - 2.0**-8])


# ----------------------------------------------------------------------------- approximations


@pytest.mark.parametrize("n", [3, 4, 128, 4096, 10**9])
def test_post_approximation_is_nu_over_128(n) -> None:
    with mpmath.workdps(30):
        code = mpmath.sqrt(2 * mpmath.log(n / mpmath.sqrt(2 * mpmath.pi))) / 128
        prose = mpmath.sqrt(2 * mpmath.log((n - 1) / mpmath.sqrt(2 * mpmath.pi))) / 128 if n > 3 else None
    assert gm.duplicate_max_post_approx(n) == pytest.approx(float(code), rel=1e-13), n
    assert gm.duplicate_max_post_approx(n, prose=False) == gm.duplicate_max_post_approx(n)
    if prose is not None:
        assert gm.duplicate_max_post_approx(n, prose=True) == pytest.approx(float(prose), rel=1e-13), n


def test_post_approximation_matches_the_posts_number_and_domain() -> None:
    assert gm.duplicate_max_post_approx(128) == pytest.approx(0.0219115, abs=1e-7)  # the post's number
    assert isinstance(gm.duplicate_max_post_approx(128), float)
    with pytest.raises(ValueError, match="n must be >= 3, got 2"):
        gm.duplicate_max_post_approx(2)
    with pytest.raises(ValueError, match="n must be >= 4, got 3"):
        gm.duplicate_max_post_approx(3, prose=True)
    with pytest.raises(ValueError, match="n must be >= 3, got 2"):
        gm.duplicate_max_post_approx(np.array([2, 5]))


@pytest.mark.parametrize("n", [2, 3, 64, 4096, 2**20, 10**9])
def test_gumbel_approximation_matches_its_closed_form_in_mpmath(n) -> None:
    want = _gumbel_approx_mp(n, range(-12, 6))
    assert gm.duplicate_max_gumbel_approx(n) == pytest.approx(float(want), rel=1e-12), n
    # the binades left out (below 2^-12, from 64 up) add less than 1e-7 of it
    assert abs(_gumbel_approx_mp(n, range(-40, -12)) + _gumbel_approx_mp(n, range(6, 9))) < 1e-7 * want


def test_gumbel_approximation_is_close_to_the_exact_probability() -> None:
    for n in (128, 4096, 65536, 2**20):
        assert gm.duplicate_max_gumbel_approx(n) == pytest.approx(gm.duplicate_max_probability(n), rel=0.05)
    # the first-order term alone, at n = 4096, from the Gumbel law's mean (1 + y) e^-y (book's form)
    a = -special.ndtri(1 / 4096)
    b = 1 / (4096 * math.exp(-a * a / 2) / math.sqrt(2 * math.pi))
    first = sum(2.0 ** (e - 8) / b * ((1 + y1) * math.exp(-y1) - (1 + y0) * math.exp(-y0))
                for e in range(-12, 6)
                for y0, y1 in [(math.exp(min(-(2.0**e - a) / b, 700)),
                                math.exp(min(-(2.0 ** (e + 1) - a) / b, 700)))])
    assert 0 < first - gm.duplicate_max_gumbel_approx(4096) < 0.05 * first  # saturation lowers it


def test_approximations_take_arrays() -> None:
    ns = np.array([2, 3, 64, 4096, 2**20])
    np.testing.assert_array_equal(gm.duplicate_max_gumbel_approx(ns),
                                  [gm.duplicate_max_gumbel_approx(int(n)) for n in ns])
    np.testing.assert_array_equal(gm.duplicate_max_post_approx(ns[1:]),
                                  [gm.duplicate_max_post_approx(int(n)) for n in ns[1:]])
    np.testing.assert_array_equal(gm.duplicate_max_post_approx(ns[2:], prose=True),
                                  [gm.duplicate_max_post_approx(int(n), prose=True) for n in ns[2:]])
    assert isinstance(gm.duplicate_max_gumbel_approx(64), float)
    assert isinstance(gm.duplicate_max_gumbel_approx(np.array([64])), np.ndarray)
    with pytest.raises(ValueError, match="n must be >= 2, got 1"):
        gm.duplicate_max_gumbel_approx(np.array([1, 2]))


def test_integer_arguments_are_checked() -> None:
    ns, scalar = gm._integers("n", np.array([2**60, 2**60 + 1], dtype=np.uint64), minimum=1)
    assert ns.dtype == np.int64 and not scalar
    np.testing.assert_array_equal(ns - 2**60, [0, 1])  # exact beyond 2**53
    ns, scalar = gm._integers("n", np.int32(7), minimum=7)
    assert scalar and ns.dtype == np.int64 and ns.tolist() == [7]
    with pytest.raises(ValueError, match=r"^n must be an integer or a non-empty 1-D array of integers, "
                                         r"got float$"):
        gm._integers("n", 2.5, minimum=1)
    with pytest.raises(ValueError, match=r"^n must be an integer or a non-empty 1-D array of integers, "
                                         r"got bool$"):
        gm._integers("n", True, minimum=1)
    with pytest.raises(ValueError, match=r"got ndarray of dtype int64$"):
        gm._integers("n", np.array([[2, 3]]), minimum=1)
    with pytest.raises(ValueError, match=r"got ndarray of dtype int64$"):
        gm._integers("n", np.array([], dtype=np.int64), minimum=1)
    with pytest.raises(ValueError, match=r"got ndarray of dtype float64$"):
        gm._integers("n", np.array([2.0]), minimum=1)
    with pytest.raises(ValueError, match=r"^n must be >= 3, got 2$"):
        gm._integers("n", np.array([5, 2]), minimum=3)
    with pytest.raises(ValueError, match=r"^n must be >= 3, got 2$"):
        gm._integers("n", 2, minimum=3)


# ----------------------------------------------------------------------------- JAX's float32 sampler


@pytest.mark.parametrize("x64", [False, True])
def test_jax_normal_float32_reproduces_jax_random_normal(x64) -> None:
    with jax.enable_x64(x64):
        bits = jax.random.bits(KEY, (200_000,), jnp.uint32)
        ours = gm.jax_normal_float32(bits)
        theirs = jax.random.normal(KEY, (200_000,), jnp.float32)
        assert ours.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    with pytest.raises(ValueError, match="bits must be a uint32 array, got dtype int32"):
        gm.jax_normal_float32(np.arange(4, dtype=np.int32))


def test_jax_normal_outputs_are_every_possible_draw() -> None:
    out = gm.jax_normal_float32_outputs()
    assert out.shape == (gm.JAX_NORMAL_ATOMS,) and out.dtype == np.float32
    assert np.all(np.diff(out) > 0)  # 2**23 distinct values
    assert not out.flags.writeable
    assert gm.jax_normal_float32_outputs() is out  # computed once
    ends = gm.jax_normal_float32(jnp.array([0, 2**32 - 1], dtype=jnp.uint32))
    np.testing.assert_array_equal(np.asarray(ends), out[[0, -1]])
    # the map from j to the output for bits j << 9 is increasing: every 61st j, in order
    j = np.arange(0, gm.JAX_NORMAL_ATOMS, 61, dtype=np.uint32)
    np.testing.assert_array_equal(np.asarray(gm.jax_normal_float32(jnp.asarray(j << 9))), out[j])
    # the largest draw solves Phi(z) = (1 + u)/2 with u = 1 - 3 * 2**-24, to float32 accuracy
    assert float(out[-1]) == pytest.approx(-special.ndtri(1.5 * 2.0**-24), rel=1e-6)
    draws = np.asarray(jax.random.normal(jax.random.key(1), (100_000,), jnp.float32))
    assert np.all(out[np.searchsorted(out, draws)] == draws)


def _sampler_histogram() -> tuple[list[int], list[int]]:
    """Counts per bfloat16 value of the 2**23 outputs, and counts below each (np.unique route)."""
    cast = np.asarray(jnp.asarray(gm.jax_normal_float32_outputs()).astype(jnp.bfloat16), np.float32)
    _, counts = np.unique(cast, return_counts=True)
    below = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return [int(c) for c in counts], [int(b) for b in below]


@pytest.mark.parametrize("n", [2, 3, 128, 1000])
def test_jax_sampler_probability_is_exact_rational_arithmetic(n) -> None:
    counts, below = _sampler_histogram()
    total = gm.JAX_NORMAL_ATOMS
    exact = sum((b + c) ** n - b**n - n * c * b ** (n - 1) for c, b in zip(counts, below, strict=True))
    assert gm.duplicate_max_probability_jax(n) == pytest.approx(exact / total**n, rel=1e-12), n
    assert gm.duplicate_max_probability_jax(1) == 0.0
    assert gm._jax_bins() is gm._jax_bins()  # the sampler's law is tabulated once


def test_jax_sampler_bias_is_what_the_bruteforce_docstring_states() -> None:
    # duplicate_max_bruteforce documents a relative excess of 5e-6, 2e-4 and 6e-3
    for n, lo, hi in ((128, 4e-6, 6e-6), (4096, 1.5e-4, 2.5e-4), (65536, 5e-3, 7e-3)):
        excess = gm.duplicate_max_probability_jax(n) / gm.duplicate_max_probability(n) - 1
        assert lo < excess < hi, n


def test_jax_sampler_expected_max_by_summation_by_parts() -> None:
    v = gm.jax_normal_float32_outputs().astype(np.float64)
    assert gm.expected_max_jax(1) == pytest.approx(np.mean(v), abs=1e-15)
    for n in (3, 4096):
        f = np.arange(1, gm.JAX_NORMAL_ATOMS, dtype=np.float64) / gm.JAX_NORMAL_ATOMS  # F_0..F_{N-2}
        parts = v[0] + np.sum(np.diff(v) * -np.expm1(n * np.log(f)))  # E = v_0 + sum dv (1 - F^n)
        assert gm.expected_max_jax(n) == pytest.approx(parts, rel=1e-12), n
    # the discrete, bounded sampler sits a little below the continuous value
    assert -1e-3 < gm.expected_max_jax(4096) - float(gm.expected_max(4096)) < 0


# ----------------------------------------------------------------------------- Monte Carlo


def _assert_binomial_se(what: str, est: float, se: float, rows: int) -> None:
    """The standard error a sampler returns is the binomial sqrt(p (1 - p) / rows) of its estimate."""
    assert se == pytest.approx(math.sqrt(est * (1 - est) / rows), rel=1e-12), f"{what}'s standard error"


def test_order_statistics_sampler_matches_exact_probability() -> None:
    for n, seed in ((4096, 0), (65536, 1)):
        est, se = gm.duplicate_max_mc(jax.random.key(seed), n, 300_000)
        assert se > 0 and abs(est - gm.duplicate_max_probability(n)) < 5 * se, n  # 5 standard errors
        assert est * 300_000 == round(est * 300_000)  # a count of rows
        _assert_binomial_se("duplicate_max_mc", est, se, 300_000)


@pytest.mark.parametrize(("n", "mu", "sigma"), [(2, 0.0, 1.0), (3, 0.0, 1.0), (2, 0.3, 3.0)])
def test_order_statistics_sampler_is_exact_for_few_numbers(n, mu, sigma) -> None:
    """For n = 2, 3 the runner-up's law and the maximum's negative half (ndtri branch) matter."""
    est, se = gm.duplicate_max_mc(jax.random.key(n), n, 2**20, mu=mu, sigma=sigma)
    assert abs(est - gm.duplicate_max_probability(n, mu=mu, sigma=sigma)) < 5 * se, (n, mu, sigma)


def test_samplers_count_from_zero_and_only_the_rows_asked_for() -> None:
    """One row per call, fewer than a chunk: each estimate is 0 or 1 and their mean is the
    probability within 5 standard errors. A count started at 1 puts every estimate at 1 or more;
    a lane past ``rows`` counted (one kernel serves both order-statistics samplers) doubles the
    mean: 7.5 standard errors at 1000 calls and n = 2**16."""
    cases = (
        ("duplicate_max_mc", lambda k: gm.duplicate_max_mc(k, 2**16, 1),
         gm.duplicate_max_probability(2**16), 1000),
        ("attention_duplicate_one_mc", lambda k: gm.attention_duplicate_one_mc(k, 2**16, 1),
         gm.attention_duplicate_one_probability(2**16), 200),
        ("duplicate_max_bruteforce", lambda k: gm.duplicate_max_bruteforce(k, 4096, 1, chunk_rows=1),
         gm.duplicate_max_probability_jax(4096), 200),
    )
    for what, sample, p, calls in cases:
        hits = [sample(jax.random.key(seed))[0] for seed in range(calls)]
        assert set(hits) <= {0.0, 1.0}, f"{what}: an estimate from one row is 0 or 1"
        se = math.sqrt(p * (1 - p) / calls)
        assert abs(np.mean(hits) - p) < 5 * se, f"{what}: {np.mean(hits)} against {p}"


def test_order_statistics_sampler_defaults_to_the_standard_normal() -> None:
    # mu != 0 with sigma left out: sigma = 2 would change the answer (at mu = 0 it would not)
    est, se = gm.duplicate_max_mc(jax.random.key(9), 4096, 300_000, mu=1.0)
    assert abs(est - gm.duplicate_max_probability(4096, mu=1.0)) < 5 * se
    assert abs(gm.duplicate_max_probability(4096, mu=1.0, sigma=2.0)
               - gm.duplicate_max_probability(4096, mu=1.0)) > 20 * se


def test_attention_sampler_matches_exact_probability() -> None:
    rows = 300_000
    est, se = gm.attention_duplicate_one_mc(jax.random.key(2), 4096, rows)
    assert abs(est - gm.attention_duplicate_one_probability(4096)) < 5 * se
    _assert_binomial_se("attention_duplicate_one_mc", est, se, rows)
    est, se = gm.attention_duplicate_one_mc(jax.random.key(3), 2, 2**20, sigma=0.5)
    assert abs(est - gm.attention_duplicate_one_probability(2, sigma=0.5)) < 5 * se


def test_general_normal_samplers_match_exact_probabilities() -> None:
    est, se = gm.duplicate_max_mc(jax.random.key(6), 4096, 300_000, mu=1.0, sigma=0.7)
    assert abs(est - gm.duplicate_max_probability(4096, mu=1.0, sigma=0.7)) < 5 * se
    est, se = gm.attention_duplicate_one_mc(jax.random.key(7), 1024, 300_000, sigma=0.5)
    assert abs(est - gm.attention_duplicate_one_probability(1024, sigma=0.5)) < 5 * se


def test_samplers_count_every_row_of_a_certain_event_once() -> None:
    """sigma = 1e-6 around 1: every row rounds to bf16(1) twice, so p = 1 exactly, over two chunks."""
    rows = gm._CHUNK + 1
    assert gm.duplicate_max_mc(KEY, 2, rows, mu=1.0, sigma=1e-6) == (1.0, 0.0)
    assert gm.attention_duplicate_one_mc(KEY, 5, rows, sigma=1e-6) == (1.0, 0.0)
    assert gm.duplicate_max_mc(KEY, 2, 1, mu=1.0, sigma=1e-6) == (1.0, 0.0)


def test_samplers_draw_float32_whatever_the_default_precision() -> None:
    cast = gm.duplicate_max_mc(KEY, 64, 5000, mu=0.5, sigma=1.5)
    attention = gm.attention_duplicate_one_mc(KEY, 64, 5000, sigma=0.5)
    assert cast[0] > 0 and attention[0] > 0
    with jax.enable_x64(True):  # the chapters run with float64 enabled
        assert gm.duplicate_max_mc(KEY, 64, 5000, mu=0.5, sigma=1.5) == cast
        assert gm.attention_duplicate_one_mc(KEY, 64, 5000, sigma=0.5) == attention


def test_bruteforce_matches_the_exact_probability_of_its_sampler() -> None:
    est, se = gm.duplicate_max_bruteforce(jax.random.key(3), 64, 40_000, chunk_rows=10_000)
    assert abs(est - gm.duplicate_max_probability_jax(64)) < 5 * se
    _assert_binomial_se("duplicate_max_bruteforce", est, se, 40_000)
    # 400 000 rows: a shift by +max instead of -max moves the estimate by 16 standard errors
    est, se = gm.duplicate_max_bruteforce(jax.random.key(4), 64, 400_000, chunk_rows=50_000, attention=True)
    assert abs(est - gm.attention_duplicate_one_probability(64)) < 5 * se


def test_bruteforce_draws_whole_chunks_in_float32() -> None:
    est, se = gm.duplicate_max_bruteforce(KEY, 128, 1500)  # default chunk_rows = 1000: 2000 rows
    assert est > 0 and est * 2000 == round(est * 2000)
    _assert_binomial_se("duplicate_max_bruteforce", est, se, 2000)
    assert (est, se) == gm.duplicate_max_bruteforce(KEY, 128, 1500, chunk_rows=1000, attention=False)
    with jax.enable_x64(True):  # like the post, it draws float32 whatever JAX's default precision
        assert (est, se) == gm.duplicate_max_bruteforce(KEY, 128, 1500)


def test_monte_carlo_is_reproducible_and_handles_n_1() -> None:
    a = gm.duplicate_max_mc(jax.random.key(5), 100, 1000)
    assert a == gm.duplicate_max_mc(jax.random.key(5), 100, 1000, mu=0.0, sigma=1.0)
    c = gm.duplicate_max_mc(jax.random.key(5), 100, 1000, mu=0.5)
    assert c == gm.duplicate_max_mc(jax.random.key(5), 100, 1000, mu=0.5, sigma=1.0)
    b = gm.attention_duplicate_one_mc(jax.random.key(5), 100, 1000)
    assert b == gm.attention_duplicate_one_mc(jax.random.key(5), 100, 1000, sigma=1.0)
    assert gm.duplicate_max_mc(jax.random.key(5), 1, 10) == (0.0, 0.0)
    assert gm.duplicate_max_mc(jax.random.PRNGKey(5), 100, 1000)[0] >= 0  # legacy keys work too
    assert gm.duplicate_max_mc(KEY, 1, 2**31 - 1) == (0.0, 0.0)  # the largest rows it accepts
    assert gm.attention_duplicate_one_mc(KEY, 1, 2**31 - 1) == (0.0, 0.0)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0, -3, 2.5, 3.0, "8", True, None])
@pytest.mark.parametrize(
    "fn", [gm.expected_max, gm.laplace_mode, gm.duplicate_max_probability, gm.inverse_cdf_approx,
           gm.attention_duplicate_one_probability, gm.duplicate_max_probabilities,
           gm.duplicate_max_probability_jax, gm.expected_max_jax, gm.duplicate_max_gumbel_approx],
)
def test_bad_n_raises(fn, bad) -> None:
    with pytest.raises(ValueError, match="n must"):
        fn(bad)


def test_bad_arguments_raise_value_error() -> None:
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        gm.duplicate_max_mc(key, 0, 10)
    with pytest.raises(ValueError, match="n must be an integer"):
        gm.duplicate_max_mc(key, 10.0, 10)
    with pytest.raises(ValueError, match="rows must be >= 1"):
        gm.duplicate_max_mc(key, 10, 0)
    with pytest.raises(ValueError, match="rows must be an integer"):
        gm.attention_duplicate_one_mc(key, 10, 1.5)
    with pytest.raises(ValueError, match="rows must be <= 2147483647"):
        gm.duplicate_max_mc(key, 1, 2**31)
    with pytest.raises(ValueError, match="key must"):
        gm.duplicate_max_mc(42, 10, 10)
    with pytest.raises(ValueError, match="key must"):
        gm.attention_duplicate_one_mc(jax.random.split(key, 2), 10, 10)
    with pytest.raises(ValueError, match="key must"):
        gm.duplicate_max_bruteforce(np.zeros(2, np.uint32), 10, 10)
    with pytest.raises(ValueError, match="n must be >= 1"):
        gm.duplicate_max_bruteforce(key, 0, 10)
    with pytest.raises(ValueError, match="rows must be >= 1"):
        gm.duplicate_max_bruteforce(key, 10, 0)
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        gm.duplicate_max_bruteforce(key, 10, 10, chunk_rows=0)
    with pytest.raises(ValueError, match="dps must"):
        gm.expected_max(10, dps=2)
    with pytest.raises(ValueError, match="n must"):
        gm.duplicate_max_post_approx(2)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_probability(10, sigma=-1.0)
    with pytest.raises(ValueError, match="mu must be finite"):
        gm.duplicate_max_probability(10, mu=math.inf)
    with pytest.raises(ValueError, match="mu must be a real number"):
        gm.duplicate_max_probability(10, mu="zero")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_mc(key, 10, 10, sigma=0.0)
    with pytest.raises(ValueError, match="mu must be finite"):
        gm.duplicate_max_mc(key, 10, 10, mu=math.nan)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.attention_duplicate_one_mc(key, 10, 10, sigma=0.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.attention_duplicate_one_probability(10, sigma=0.0)


# ----------------------------------------------------------------------------- density and row maxima


def test_max_density_matches_mpmath() -> None:
    z = np.array([-3.0, -1.0, 0.0, 0.5, 1.1, 2.0, 3.7, 6.0])
    for n in (1, 2, 7, 1000, 10**6):
        with mpmath.workdps(30):
            want = [float(n * mpmath.ncdf(x) ** (n - 1) * mpmath.npdf(x)) for x in z]
        np.testing.assert_allclose(gm.max_density(z, n), want, rtol=1e-12, atol=1e-300,
                                   err_msg=f"max_density(n={n})")
    single = np.array([1.1], dtype=np.float32)  # computed in float64 from the float32 input
    np.testing.assert_allclose(gm.max_density(single, 3), gm.max_density(single.astype(np.float64), 3),
                               rtol=1e-15)
    assert gm.max_density(single, 3).dtype == np.float64


def test_max_density_integrates_to_one_and_gives_the_mean() -> None:
    z = np.linspace(-8.0, 10.0, 180_001)
    dz = z[1] - z[0]
    for n in (1, 7, 1000):
        p = gm.max_density(z, n)
        assert np.sum(p) * dz == pytest.approx(1.0, abs=1e-8)
        assert np.sum(z * p) * dz == pytest.approx(float(gm.expected_max(n, dps=15)), abs=1e-8)
    with pytest.raises(ValueError, match="z must have only finite entries"):
        gm.max_density([np.nan], 5)
    with pytest.raises(ValueError, match="n must"):
        gm.max_density([0.0], 0)


def test_row_maxima_mean_and_bad_input() -> None:
    maxima = gm.row_maxima(jax.random.key(4), 64, 4000, chunk_rows=1000)
    assert maxima.shape == (4000,) and maxima.dtype == jnp.float32
    se = float(maxima.std()) / math.sqrt(maxima.size)
    assert abs(float(maxima.mean()) - float(gm.expected_max(64, dps=15))) < 5 * se
    # each entry is a maximum of 64 numbers: P(max <= 1.5) = Phi(1.5)^64
    p = special.ndtr(1.5) ** 64
    frac = float(jnp.mean(maxima <= 1.5))
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / maxima.size)
    with pytest.raises(ValueError, match="rows must be a multiple of chunk_rows=1000, got 1500"):
        gm.row_maxima(jax.random.key(4), 64, 1500, chunk_rows=1000)
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'"):
        gm.row_maxima(jax.random.key(4), 64, 1000, chunk_rows=1000, dtype="float16")
    with pytest.raises(ValueError, match="key must"):
        gm.row_maxima(0, 64, 1000)
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        gm.row_maxima(KEY, 64, 1000, chunk_rows=0)
    with pytest.raises(ValueError, match="rows must be >= 1"):
        gm.row_maxima(KEY, 64, 0)
    message = "dtype 'float64' needs jax.config.update('jax_enable_x64', True)"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        gm.row_maxima(KEY, 64, 1000, dtype="float64")


def test_row_maxima_default_chunks_and_precision() -> None:
    maxima = gm.row_maxima(KEY, 16, 1000)  # default chunk_rows = 500
    np.testing.assert_array_equal(maxima, gm.row_maxima(KEY, 16, 1000, chunk_rows=500, dtype="float32"))
    with jax.enable_x64(True):
        np.testing.assert_array_equal(maxima, gm.row_maxima(KEY, 16, 1000))  # still float32 draws
        wide = gm.row_maxima(KEY, 16, 1000, dtype="float64")
    assert wide.dtype == jnp.float64 and wide.shape == (1000,)
