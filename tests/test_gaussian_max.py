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
        exact = 1 / mpmath.sqrt(mpmath.pi)  # E[z_max] at n = 2, to far more than 20 digits
    with pytest.raises(ValueError, match="cannot decide"):
        gm.expected_max_crossing(float(exact), dps=20)
    with pytest.raises(ValueError, match="level must be > 0"):
        gm.expected_max_crossing(0.0)


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


def test_duplicate_probability_for_a_general_normal_matches_mpmath() -> None:
    """N(1.5, 0.7**2) at n = 128: a 40-digit sum over the bins from 0.9 to 8 (below 0.9,
    P(all 128 below) = Phi(-0.857)**128 < 1e-13 bounds what is left out)."""
    n, mu, sigma = 128, 1.5, 0.7
    _, edges = gm.bf16_bins()
    idx = np.flatnonzero((edges[:-1] >= 0.9) & (edges[:-1] < 8.0))
    with mpmath.workdps(40):
        cdf = [mpmath.ncdf((mpmath.mpf(float(edges[i])) - mpmath.mpf(mu)) / mpmath.mpf(sigma))
               for i in range(idx[0], idx[-1] + 2)]
        total = mpmath.mpf(0)
        for lo, hi in itertools.pairwise(cdf):
            total += hi**n - lo**n - n * (hi - lo) * lo ** (n - 1)
        left_out = cdf[0] ** n
    assert left_out < 1e-13
    got = gm.duplicate_max_probability(n, mu=mu, sigma=sigma)
    assert got == pytest.approx(float(total), rel=1e-11, abs=float(left_out))


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
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-11)
    got = gm.duplicate_max_probabilities(ns[1:6], mu=-0.5, sigma=1.3)
    want = [gm.duplicate_max_probability(int(n), mu=-0.5, sigma=1.3) for n in ns[1:6]]
    np.testing.assert_allclose(got, want, rtol=1e-11)
    every = gm.duplicate_max_probabilities(np.arange(60, 70))  # consecutive n, one block
    np.testing.assert_allclose(every, [gm.duplicate_max_probability(n) for n in range(60, 70)],
                               rtol=1e-11)
    with pytest.raises(ValueError, match="strictly increasing"):
        gm.duplicate_max_probabilities(np.array([5, 5]))
    with pytest.raises(ValueError, match="array of integers"):
        gm.duplicate_max_probabilities(np.array([2.0, 3.0]))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_probabilities(np.array([2, 3]), sigma=0.0)


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


def test_post_and_book_approximations() -> None:
    assert gm.duplicate_max_post_approx(128) == pytest.approx(0.0219115, abs=1e-7)  # the post's number
    prose = math.sqrt(2 * math.log(127 / math.sqrt(2 * math.pi))) / 128  # nu with n - 1
    assert gm.duplicate_max_post_approx(128, prose=True) == pytest.approx(prose, rel=1e-15)
    for n in (128, 4096, 65536, 2**20):
        assert gm.duplicate_max_gumbel_approx(n) == pytest.approx(gm.duplicate_max_probability(n), rel=0.05)


def test_approximations_take_arrays() -> None:
    ns = np.array([2, 3, 64, 4096, 2**20])
    np.testing.assert_array_equal(gm.duplicate_max_gumbel_approx(ns),
                                  [gm.duplicate_max_gumbel_approx(int(n)) for n in ns])
    np.testing.assert_array_equal(gm.duplicate_max_post_approx(ns[1:]),
                                  [gm.duplicate_max_post_approx(int(n)) for n in ns[1:]])
    # the first-order term alone, at n = 4096, from the Gumbel law's mean (1 + y) e^-y (book's form)
    a = -special.ndtri(1 / 4096)
    b = 1 / (4096 * math.exp(-a * a / 2) / math.sqrt(2 * math.pi))
    first = sum(2.0 ** (e - 8) / b * ((1 + y1) * math.exp(-y1) - (1 + y0) * math.exp(-y0))
                for e in range(-12, 6)
                for y0, y1 in [(math.exp(min(-(2.0**e - a) / b, 700)),
                                math.exp(min(-(2.0 ** (e + 1) - a) / b, 700)))])
    assert 0 < first - gm.duplicate_max_gumbel_approx(4096) < 0.05 * first  # saturation lowers it
    with pytest.raises(ValueError, match="n must be >= 4"):
        gm.duplicate_max_post_approx(3, prose=True)
    with pytest.raises(ValueError, match="array of integers"):
        gm.duplicate_max_gumbel_approx(np.array([[2, 3]]))


# ----------------------------------------------------------------------------- JAX's float32 sampler


@pytest.mark.parametrize("x64", [False, True])
def test_jax_normal_float32_reproduces_jax_random_normal(x64) -> None:
    with jax.enable_x64(x64):
        key = jax.random.key(11390)
        bits = jax.random.bits(key, (200_000,), jnp.uint32)
        ours = gm.jax_normal_float32(bits)
        theirs = jax.random.normal(key, (200_000,), jnp.float32)
        assert ours.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    with pytest.raises(ValueError, match="uint32"):
        gm.jax_normal_float32(np.arange(4))


def test_jax_normal_outputs_are_every_possible_draw() -> None:
    out = gm.jax_normal_float32_outputs()
    assert out.shape == (gm.JAX_NORMAL_ATOMS,) and out.dtype == np.float32
    assert np.all(np.diff(out) > 0)  # 2**23 distinct values
    ends = gm.jax_normal_float32(jnp.array([0, 2**32 - 1], dtype=jnp.uint32))
    np.testing.assert_array_equal(np.asarray(ends), out[[0, -1]])
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
    assert gm.duplicate_max_probability_jax(n) == pytest.approx(exact / total**n, rel=1e-12)
    assert gm.duplicate_max_probability_jax(1) == 0.0


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
        assert gm.expected_max_jax(n) == pytest.approx(parts, rel=1e-12)
    # the discrete, bounded sampler sits a little below the continuous value
    assert -1e-3 < gm.expected_max_jax(4096) - float(gm.expected_max(4096)) < 0


# ----------------------------------------------------------------------------- Monte Carlo


def test_order_statistics_sampler_matches_exact_probability() -> None:
    for n, seed in ((4096, 0), (65536, 1)):
        est, se = gm.duplicate_max_mc(jax.random.key(seed), n, 300_000)
        assert se > 0 and abs(est - gm.duplicate_max_probability(n)) < 5 * se  # 5 standard errors


def test_attention_sampler_matches_exact_probability() -> None:
    est, se = gm.attention_duplicate_one_mc(jax.random.key(2), 4096, 300_000)
    assert abs(est - gm.attention_duplicate_one_probability(4096)) < 5 * se


def test_general_normal_samplers_match_exact_probabilities() -> None:
    est, se = gm.duplicate_max_mc(jax.random.key(6), 4096, 300_000, mu=1.0, sigma=0.7)
    assert abs(est - gm.duplicate_max_probability(4096, mu=1.0, sigma=0.7)) < 5 * se
    est, se = gm.attention_duplicate_one_mc(jax.random.key(7), 1024, 300_000, sigma=0.5)
    assert abs(est - gm.attention_duplicate_one_probability(1024, sigma=0.5)) < 5 * se


def test_bruteforce_matches_the_exact_probability_of_its_sampler() -> None:
    est, se = gm.duplicate_max_bruteforce(jax.random.key(3), 64, 40_000, chunk_rows=10_000)
    assert abs(est - gm.duplicate_max_probability_jax(64)) < 5 * se


def test_monte_carlo_is_reproducible_and_handles_n_1() -> None:
    a = gm.duplicate_max_mc(jax.random.key(5), 100, 1000)
    assert a == gm.duplicate_max_mc(jax.random.key(5), 100, 1000)
    assert gm.duplicate_max_mc(jax.random.key(5), 1, 10) == (0.0, 0.0)
    assert gm.duplicate_max_mc(jax.random.PRNGKey(5), 100, 1000)[0] >= 0  # legacy keys work too


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
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_probability(10, sigma=-1.0)
    with pytest.raises(ValueError, match="mu must be finite"):
        gm.duplicate_max_probability(10, mu=math.inf)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.duplicate_max_mc(key, 10, 10, sigma=0.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gm.attention_duplicate_one_probability(10, sigma=0.0)


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
