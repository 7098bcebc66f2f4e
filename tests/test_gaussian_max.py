"""Unit tests of kexue_lib.gaussian_max (post 11390: the maximum of n Gaussians, bf16 duplicates)."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import special

from kexue_lib import gaussian_max as gm

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
        assert abs(gm.expected_max(n, dps=30) - closed_form()) < mpmath.mpf(10) ** -28


def test_expected_max_of_one_normal_is_zero_and_type_is_mpf() -> None:
    assert gm.expected_max(1) == 0
    assert isinstance(gm.expected_max(7), mpmath.mpf)


@pytest.mark.parametrize("n", [100, 10**9, 10**70])
def test_expected_max_15_digits_agree_with_40(n) -> None:
    low, high = gm.expected_max(n, dps=15), gm.expected_max(n, dps=40)
    assert abs(low - high) <= 1e-15 * abs(high)


def test_expected_max_is_below_the_jensen_bound_and_increasing() -> None:
    values = [float(gm.expected_max(n, dps=15)) for n in (2, 10, 100, 1000)]
    assert all(a < b for a, b in itertools.pairwise(values))
    for n, v in zip((2, 10, 100, 1000), values, strict=True):
        assert v < math.sqrt(2 * math.log(n))


def test_laplace_mode_solves_the_stationarity_equation() -> None:
    assert gm.laplace_mode(1) == 0
    for n in (2, 50, 10**6):
        z = gm.laplace_mode(n)
        with mpmath.workdps(30):
            assert abs((n - 1) * mpmath.npdf(z) - z * mpmath.ncdf(z)) < mpmath.mpf(10) ** -25
        assert z < gm.expected_max(n)  # the maximum's law is right-skewed: mean > mode


def test_gumbel_and_inverse_cdf_approximations() -> None:
    a, b = gm.gumbel_constants(10**9)
    exact = float(gm.expected_max(10**9, dps=15))
    assert abs(a + 0.5772156649 * b - exact) / exact < 0.01
    assert gm.inverse_cdf_approx(1) == pytest.approx(0.0, abs=1e-15)
    assert gm.inverse_cdf_approx(10**30) == pytest.approx(-special.ndtri(1e-30), rel=1e-12)


# ----------------------------------------------------------------------------- bfloat16 bins


def test_bf16_bins_agree_with_xla_cast() -> None:
    values, edges = gm.bf16_bins()
    assert len(edges) == len(values) + 1 and np.all(np.diff(values) > 0) and np.all(np.diff(edges) > 0)
    # each interior edge lies halfway between two float32 numbers: cast both and compare bins
    inner = edges[1:-1]
    pick = np.flatnonzero((np.abs(inner) > 1e-30) & (np.abs(inner) < 1e30))[::7]
    half = np.spacing(np.abs(inner[pick]).astype(np.float32)).astype(np.float64) / 2
    below = (inner[pick] - half).astype(np.float32)
    above = (inner[pick] + half).astype(np.float32)
    assert np.all(below.astype(np.float64) + half == inner[pick])  # both are exact float32 numbers
    cast_below = np.asarray(jnp.asarray(below).astype(jnp.bfloat16).astype(jnp.float32), np.float64)
    cast_above = np.asarray(jnp.asarray(above).astype(jnp.bfloat16).astype(jnp.float32), np.float64)
    np.testing.assert_array_equal(cast_below, values[pick])
    np.testing.assert_array_equal(cast_above, values[pick + 1])


# ----------------------------------------------------------------------------- exact probabilities


def test_duplicate_probability_small_n_closed_forms() -> None:
    assert gm.duplicate_max_probability(1) == 0.0
    _, edges = gm.bf16_bins()
    mass = special.ndtr(edges[1:]) - special.ndtr(edges[:-1])
    # n = 2: the two numbers share a bin
    assert gm.duplicate_max_probability(2) == pytest.approx(np.sum(mass**2), rel=1e-10)


def test_duplicate_probability_matches_mpmath_for_n_128() -> None:
    """Direct high-precision sum over the bins above 0.25; below, Phi(0.25)**128 < 1e-28."""
    n = 128
    _, edges = gm.bf16_bins()
    lo_all = edges[:-1]
    idx = np.flatnonzero((lo_all >= 0.25) & (lo_all < 8.0))
    with mpmath.workdps(40):
        cdf = [mpmath.ncdf(mpmath.mpf(float(edges[i]))) for i in range(idx[0], idx[-1] + 2)]
        total = mpmath.mpf(0)
        for lo, hi in itertools.pairwise(cdf):
            total += hi**n - lo**n - n * (hi - lo) * lo ** (n - 1)
    assert gm.duplicate_max_probability(n) == pytest.approx(float(total), rel=1e-12)


def test_duplicate_probability_is_stable_up_to_2_pow_20() -> None:
    ps = [gm.duplicate_max_probability(2**k) for k in range(1, 21)]
    assert all(0 < p < 0.1 and math.isfinite(p) for p in ps)


def test_attention_probability_is_below_the_cast_probability() -> None:
    assert gm.attention_duplicate_one_probability(1) == 0.0
    for n in (128, 4096):
        p = gm.attention_duplicate_one_probability(n)
        assert 0 < p < gm.duplicate_max_probability(n) / 3


def test_post_and_book_approximations() -> None:
    assert gm.duplicate_max_post_approx(128) == pytest.approx(0.0219115, abs=1e-7)  # the post's number
    for n in (128, 4096, 65536, 2**20):
        assert gm.duplicate_max_gumbel_approx(n) == pytest.approx(gm.duplicate_max_probability(n), rel=0.05)


# ----------------------------------------------------------------------------- Monte Carlo


def test_order_statistics_sampler_matches_exact_probability() -> None:
    for n, seed in ((4096, 0), (65536, 1)):
        est, se = gm.duplicate_max_mc(jax.random.key(seed), n, 300_000)
        assert se > 0 and abs(est - gm.duplicate_max_probability(n)) < 5 * se  # 5 standard errors


def test_attention_sampler_matches_exact_probability() -> None:
    est, se = gm.attention_duplicate_one_mc(jax.random.key(2), 4096, 300_000)
    assert abs(est - gm.attention_duplicate_one_probability(4096)) < 5 * se


def test_bruteforce_matches_exact_probability() -> None:
    est, se = gm.duplicate_max_bruteforce(jax.random.key(3), 64, 40_000, chunk_rows=10_000)
    assert abs(est - gm.duplicate_max_probability(64)) < 5 * se


def test_monte_carlo_is_reproducible_and_handles_n_1() -> None:
    a = gm.duplicate_max_mc(jax.random.key(5), 100, 1000)
    assert a == gm.duplicate_max_mc(jax.random.key(5), 100, 1000)
    assert gm.duplicate_max_mc(jax.random.key(5), 1, 10) == (0.0, 0.0)
    assert gm.duplicate_max_mc(jax.random.PRNGKey(5), 100, 1000)[0] >= 0  # legacy keys work too


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0, -3, 2.5, 3.0, "8", True, None])
@pytest.mark.parametrize(
    "fn", [gm.expected_max, gm.laplace_mode, gm.duplicate_max_probability, gm.inverse_cdf_approx,
           gm.attention_duplicate_one_probability],
)
def test_bad_n_raises(fn, bad) -> None:
    with pytest.raises(ValueError, match="n must"):
        fn(bad)


def test_bad_arguments_raise_value_error() -> None:
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n must"):
        gm.duplicate_max_mc(key, 0, 10)
    with pytest.raises(ValueError, match="n must"):
        gm.duplicate_max_mc(key, 10.0, 10)
    with pytest.raises(ValueError, match="rows must"):
        gm.duplicate_max_mc(key, 10, 0)
    with pytest.raises(ValueError, match="rows must"):
        gm.attention_duplicate_one_mc(key, 10, 1.5)
    with pytest.raises(ValueError, match="key must"):
        gm.duplicate_max_mc(42, 10, 10)
    with pytest.raises(ValueError, match="key must"):
        gm.duplicate_max_mc(jax.random.split(key, 2), 10, 10)
    with pytest.raises(ValueError, match="key must"):
        gm.duplicate_max_bruteforce(np.zeros(2, np.uint32), 10, 10)
    with pytest.raises(ValueError, match="dps must"):
        gm.expected_max(10, dps=2)
    with pytest.raises(ValueError, match="n must"):
        gm.gumbel_constants(1)
    with pytest.raises(ValueError, match="n must"):
        gm.duplicate_max_post_approx(2)


def test_max_density_integrates_to_one_and_gives_the_mean() -> None:
    z = np.linspace(-8.0, 10.0, 180_001)
    dz = z[1] - z[0]
    for n in (1, 7, 1000):
        p = gm.max_density(z, n)
        assert np.sum(p) * dz == pytest.approx(1.0, abs=1e-8)
        assert np.sum(z * p) * dz == pytest.approx(float(gm.expected_max(n, dps=15)), abs=1e-8)
    with pytest.raises(ValueError, match="z must"):
        gm.max_density([np.nan], 5)
    with pytest.raises(ValueError, match="n must"):
        gm.max_density([0.0], 0)


def test_row_maxima_mean_and_bad_input() -> None:
    maxima = gm.row_maxima(jax.random.key(4), 64, 4000, chunk_rows=1000)
    assert maxima.shape == (4000,)
    se = float(maxima.std()) / math.sqrt(maxima.size)
    assert abs(float(maxima.mean()) - float(gm.expected_max(64, dps=15))) < 5 * se
    with pytest.raises(ValueError, match="multiple of chunk_rows"):
        gm.row_maxima(jax.random.key(4), 64, 1500, chunk_rows=1000)
    with pytest.raises(ValueError, match="dtype must"):
        gm.row_maxima(jax.random.key(4), 64, 1000, chunk_rows=1000, dtype="float16")
    with pytest.raises(ValueError, match="key must"):
        gm.row_maxima(0, 64, 1000)
