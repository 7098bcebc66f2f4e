"""Unit tests of kexue_lib.rounding (post 11371: biased rounding in low-precision attention)."""

from __future__ import annotations

import collections
import itertools
import math
import re
import warnings
from fractions import Fraction

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from kexue_lib import rounding as rd

F = Fraction


def words(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Every float32 bit pattern with the given upper and lower 16-bit halves, as float32."""
    grid = (upper.astype(np.uint32)[:, None] << 16) | lower.astype(np.uint32)[None, :]
    return grid.reshape(-1).view(np.float32)


ALL_UPPER = np.arange(2**16, dtype=np.uint32)
# the low halves where the modes differ: zero, just above zero, below/at/above the midpoint, all ones
LOW_HALVES = np.array([0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFFFF], dtype=np.uint32)


def upper16(x: jax.Array | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.uint32) >> 16


# ----------------------------------------------------------------------------- round_to_bf16


def test_nearest_even_is_bit_identical_to_ml_dtypes_and_jax_casts() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([words(ALL_UPPER, LOW_HALVES),
                        rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)])
    ours = upper16(rd.round_to_bf16(x))
    with np.errstate(invalid="ignore"):  # ml_dtypes warns on NaN input
        peer = x.astype(ml_dtypes.bfloat16).view(np.uint16)
    cast = np.asarray(jnp.asarray(x).astype(jnp.bfloat16)).view(np.uint16)
    np.testing.assert_array_equal(ours, peer)  # NaN payloads, infinities, subnormals included
    np.testing.assert_array_equal(ours, cast)


@pytest.mark.parametrize("mode", ["nearest_even", "nearest_away", "toward_zero"])
def test_deterministic_modes_match_exact_rational_rounding(mode) -> None:
    # every upper half whose values, and whose rounded values, lie in the normal range
    upper = ALL_UPPER[((ALL_UPPER & 0x7F80) >= 0x0080) & ((ALL_UPPER & 0x7F80) < 0x7F00)]
    x = words(upper, LOW_HALVES)
    ours = np.asarray(rd.round_to_bf16(x, mode), dtype=np.float64)
    exact = [float(rd.round_rational(float(v), significand_bits=8, mode=mode)) for v in x[::5]]
    np.testing.assert_array_equal(ours[::5], exact)


def test_modes_on_hand_made_ties_and_signs() -> None:
    # 1 + 2**-8 is the midpoint of 1 and 1 + 2**-7 (even and odd mantissas); 1 + 3 * 2**-8 of
    # 1 + 2**-7 and 1 + 2**-6 (odd and even)
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 1 + 2**-8 + 2**-20], dtype=np.float32)
    expect = {
        "nearest_even": [1.0, 1 + 2**-6, -1.0, 1 + 2**-7],
        "nearest_away": [1 + 2**-7, 1 + 2**-6, -(1 + 2**-7), 1 + 2**-7],
        "toward_zero": [1.0, 1 + 2**-7, -1.0, 1.0],
    }
    for mode, values in expect.items():
        np.testing.assert_array_equal(np.asarray(rd.round_to_bf16(x, mode)), np.float32(values))


def test_special_values_in_every_mode() -> None:
    big = np.array([0x7F7FFFFF], dtype=np.uint32).view(np.float32)  # largest float32
    special = np.array([np.inf, -np.inf, -0.0, np.nan, big[0]], dtype=np.float32)
    key = jax.random.key(0)
    for mode in rd.MODES:
        out = np.asarray(rd.round_to_bf16(special, mode, key=key if mode == "stochastic" else None))
        assert out[0] == np.inf and out[1] == -np.inf
        assert out[2] == 0 and np.signbit(out[2])
        assert np.isnan(out[3])
        if mode in ("nearest_even", "nearest_away"):
            assert out[4] == np.inf  # above the largest bfloat16 plus half a spacing
        elif mode == "toward_zero":
            assert upper16(out[4:])[0] == 0x7F7F
    # subnormals are rounded as the fixed-point numbers they are (spacing 2**-133)
    sub = np.array([0x00018000, 0x00010001], dtype=np.uint32).view(np.float32)
    assert list(upper16(rd.round_to_bf16(sub, "toward_zero"))) == [0x0001, 0x0001]
    assert list(upper16(rd.round_to_bf16(sub, "nearest_away"))) == [0x0002, 0x0001]


def test_stochastic_rounding_probabilities_and_neighbours() -> None:
    # 1 + f * 2**-7 with f = low / 2**16 rounds up with probability f
    lows = np.array([0x0001, 0x4000, 0x8000, 0xC000, 0xFFFF], dtype=np.uint32)
    x = words(np.array([0x3F80], dtype=np.uint32), lows)  # 0x3F80 is 1.0
    draws = 2**16
    xs = jnp.broadcast_to(jnp.asarray(x), (draws, x.size))
    out = np.asarray(rd.round_to_bf16(xs, "stochastic", key=jax.random.key(7)))
    assert set(np.unique(out)) <= {np.float32(1.0), np.float32(1 + 2**-7)}
    up = (out == np.float32(1 + 2**-7)).mean(axis=0)
    f = lows / 2**16
    se = np.sqrt(f * (1 - f) / draws)
    assert np.all(np.abs(up - f) <= 4 * se + 1e-12)
    # the mean is x itself (unbiased), to within four binomial standard errors of a spacing
    mean = out.mean(axis=0, dtype=np.float64)
    assert np.all(np.abs(mean - x.astype(np.float64)) <= 4 * 2**-7 * se + 2**-7 / draws)
    # negative values: the same magnitudes, mirrored; the same key gives the same result
    neg = np.asarray(rd.round_to_bf16(-xs, "stochastic", key=jax.random.key(7)))
    np.testing.assert_array_equal(neg, -out)
    other = np.asarray(rd.round_to_bf16(xs, "stochastic", key=jax.random.key(8)))
    assert np.any(other != out)


def test_stochastic_is_exact_on_representable_values_and_traces_under_jit() -> None:
    grid = np.asarray(rd.round_to_bf16(np.linspace(-3, 3, 101, dtype=np.float32)))
    out = rd.round_to_bf16(grid, "stochastic", key=jax.random.key(1))
    np.testing.assert_array_equal(np.asarray(out), grid)
    jitted = jax.jit(lambda v, k: rd.round_to_bf16(v, "stochastic", key=k))
    np.testing.assert_array_equal(np.asarray(jitted(grid, jax.random.key(1))), grid)
    assert rd.round_to_bf16(np.float64(1 / 3)).dtype == jnp.float32


def test_input_is_first_rounded_to_float32() -> None:
    # float64 1 + 2**-8 + 2**-30 is above the bfloat16 midpoint 1 + 2**-8, but float32 rounds it
    # to that midpoint first, which nearest-even then rounds down to 1: the documented double rounding
    x = np.float64(1 + 2**-8 + 2**-30)
    assert float(rd.round_to_bf16(x)) == 1.0
    with jax.enable_x64(True):  # float32 first whatever JAX's default precision
        assert rd.round_to_bf16(x).dtype == jnp.float32 and float(rd.round_to_bf16(x)) == 1.0
    assert float(rd.round_rational(float(x))) == 1 + 2**-7  # the single rounding of the float64
    # bfloat16 and float16 input is exact in float32, and bfloat16 input comes back unchanged
    words16 = np.arange(0, 2**16, 61, dtype=np.uint16)
    nan = ((words16 & 0x7F80) == 0x7F80) & ((words16 & 0x7F) != 0)
    canonical = np.where(nan, (words16 & 0x8000) | 0x7FC0, words16)  # NaNs: the quiet NaN, signed
    np.testing.assert_array_equal(upper16(rd.round_to_bf16(words16.view(ml_dtypes.bfloat16))), canonical)
    half = words16[(words16 & 0x7C00) != 0x7C00].view(np.float16)  # finite float16 values
    np.testing.assert_array_equal(np.asarray(rd.round_to_bf16(half)),
                                  half.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float32))


def test_round_to_bf16_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        rd.round_to_bf16(np.ones(3, np.float32), "half_up")
    with pytest.raises(ValueError, match=re.escape(
            "mode 'stochastic' needs a PRNG key: round_to_bf16(x, 'stochastic', key=key)") + "$"):
        rd.round_to_bf16(np.ones(3, np.float32), "stochastic")
    with pytest.raises(ValueError, match="takes no key"):
        rd.round_to_bf16(np.ones(3, np.float32), "nearest_even", key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"^x must have a floating dtype"):
        rd.round_to_bf16(np.arange(3))
    with pytest.raises(ValueError, match=r"^key must be a single JAX PRNG key"):
        rd.round_to_bf16(np.ones(3, np.float32), "stochastic", key=3)


# ----------------------------------------------------------------------------- exact rounding


def test_round_rational_on_hand_examples() -> None:
    assert rd.round_rational(F(5, 2), significand_bits=2) == 2  # 10.1 -> 10 (even)
    assert rd.round_rational(F(7, 2), significand_bits=2) == 4  # 11.1 -> 100 (even)
    assert rd.round_rational(F(5, 2), significand_bits=2, mode="nearest_away") == 3
    assert rd.round_rational(F(-5, 2), significand_bits=2, mode="nearest_away") == -3
    assert rd.round_rational(F(7, 2), significand_bits=2, mode="toward_zero") == 3
    assert rd.round_rational(F(1, 3)) == F(171, 512)  # 0.0101010101..., the 9th bit and beyond > 1/2
    assert rd.round_rational(0) == 0 and rd.round_rational(1) == 1 and rd.round_rational(-2.0) == -2
    assert rd.round_rational("1e-50", significand_bits=1, mode="toward_zero") == F(1, 2**167)


def test_round_rational_matches_float32_and_float64_conversions() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2000) * np.exp(rng.uniform(-40, 40, 2000))
    for value in x:
        assert rd.round_rational(float(value), significand_bits=24) == F(float(np.float32(value)))
    for _ in range(2000):  # Fraction -> float is correctly rounded (nearest even)
        q = F(int(rng.integers(1, 10**18)), int(rng.integers(1, 10**18)))
        assert rd.round_rational(q, significand_bits=53) == F(float(q))


def test_round_rational_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        rd.round_rational(1, mode="stochastic")
    with pytest.raises(ValueError, match="rational"):
        rd.round_rational(float("nan"))
    with pytest.raises(ValueError, match=r"^significand_bits must be >= 1"):
        rd.round_rational(1, significand_bits=0)
    with pytest.raises(ValueError, match=r"^significand_bits must be <= 1024"):
        rd.round_rational(1, significand_bits=1025)
    # 1/3 = 0.0101...b: 1024 significant bits (2**-2 to 2**-1025) end in a 0, and the dropped
    # 0.1010...b = 2/3 of the last unit rounds up, to (2**1025 + 1)/3 units of 2**-1025
    assert rd.round_rational(F(1, 3), significand_bits=1024) == F((2**1025 + 1) // 3, 2**1025)
    with pytest.raises(ValueError, match="x must be a number, got True"):
        rd.round_rational(True)
    with pytest.raises(ValueError, match="rational number"):
        rd.round_rational("one")


# ----------------------------------------------------------------------------- bits and spacing


def test_bits_of_hand_picked_values() -> None:
    assert rd.bf16_bits([1.0]) == [rd.Bits("0", "01111111", "0000000")]
    assert rd.bf16_bits(np.float32([-2.0, 1 + 2**-7])) == [
        rd.Bits("1", "10000000", "0000000"), rd.Bits("0", "01111111", "0000001")]
    tiny = np.array([1], dtype=np.uint16).view(ml_dtypes.bfloat16)  # smallest subnormal, 2**-133
    assert rd.bf16_bits(tiny) == [rd.Bits("0", "00000000", "0000001")]
    assert rd.f32_bits(np.float32([1 + 2**-23])) == [rd.Bits("0", "01111111", "0" * 22 + "1")]
    assert len(rd.f32_bits(np.zeros((2, 3), np.float32))) == 6
    grid = np.float32([[1.0, -2.0, 0.5], [3.0, 1 + 2**-7, 0.0]])  # arrays are flattened, row-major
    assert rd.bf16_bits(grid) == rd.bf16_bits(grid.reshape(-1))
    assert rd.f32_bits(grid) == rd.f32_bits(grid.reshape(-1))


@pytest.mark.filterwarnings("error")  # the casts of NaN payloads and the like stay quiet
def test_bits_of_every_bfloat16_number_and_of_random_float32_words() -> None:
    words16 = np.arange(2**16, dtype=np.uint16)  # NaNs and infinities included
    assert rd.f32_bits(words16.view(ml_dtypes.bfloat16))[0] == rd.Bits("0", "0" * 8, "0" * 23)
    got = rd.bf16_bits(words16.view(ml_dtypes.bfloat16))
    assert ["".join(b) for b in got] == [format(w, "016b") for w in words16.tolist()]
    assert all(len(b.exponent) == 8 and len(b.mantissa) == 7 for b in got)
    words32 = np.random.default_rng(2).integers(0, 2**32, 5000, dtype=np.uint64).astype(np.uint32)
    got = rd.f32_bits(words32.view(np.float32))
    assert ["".join(b) for b in got] == [format(w, "032b") for w in words32.tolist()]
    assert all(len(b.exponent) == 8 and len(b.mantissa) == 23 for b in got)
    # float32 values of bfloat16 numbers: the same bits (NaN and infinity included)
    special = np.float32([np.nan, -np.inf, 2.0**-133])
    assert rd.bf16_bits(special) == [rd.Bits("0", "11111111", "1000000"),
                                     rd.Bits("1", "11111111", "0000000"),
                                     rd.Bits("0", "00000000", "0000001")]


def test_bits_refuse_values_of_another_format() -> None:
    with pytest.raises(ValueError, match=r"^x holds values that bfloat16 does not represent exactly; "
                       r"use round_to_bf16 first$"):
        rd.bf16_bits(np.float32([1 + 2**-9]))
    with pytest.raises(ValueError, match=r"^x holds values that float32 does not represent exactly; "
                       r"round them first$"):
        rd.f32_bits(np.float64([1 + 2**-30]))
    with pytest.raises(ValueError, match=r"^x must have a floating dtype"):
        rd.bf16_bits(np.arange(3))
    with pytest.raises(ValueError, match=r"^x must have a floating dtype"):
        rd.f32_bits(np.arange(3))
    with pytest.raises(ValueError, match=r"^x must not be empty"):
        rd.f32_bits(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r"^x must not be empty"):
        rd.bf16_bits(np.zeros(0, np.float32))
    assert rd.f32_bits(np.float64([np.nan]))[0].exponent == "11111111"  # a NaN is accepted
    # a float64 beyond float32's range is refused without a warning from the cast
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bits in (rd.f32_bits, rd.bf16_bits):
            with pytest.raises(ValueError, match=r"^x holds values that"):
                bits(np.float64([1e300]))


def test_bf16_spacing_is_the_gap_to_the_next_bfloat16_number() -> None:
    words16 = np.arange(0x0080, 0x7F7F, 37, dtype=np.uint16)  # positive normal bfloat16 numbers
    grid = words16.view(ml_dtypes.bfloat16)
    gap = (np.nextafter(grid, ml_dtypes.bfloat16(np.inf)).astype(np.float64) - grid.astype(np.float64))
    np.testing.assert_array_equal(rd.bf16_spacing(grid.astype(np.float64)), gap)
    for values in (grid, grid.astype(np.float32), jnp.asarray(grid)):  # any floating dtype
        np.testing.assert_array_equal(rd.bf16_spacing(values), gap, err_msg=str(values.dtype))
    np.testing.assert_array_equal(rd.bf16_spacing(np.float16([1.5, -6.0])), [2.0**-7, 2.0**-5])
    inside = grid.astype(np.float64) + 0.3 * gap  # between two bfloat16 numbers: the lower one's gap
    np.testing.assert_array_equal(rd.bf16_spacing(-inside), gap)
    np.testing.assert_array_equal(rd.bf16_spacing([0.0, 1e-40]), [2.0**-133, 2.0**-133])
    # integers are real numbers too: 2**k + j (0 <= j < 2**k) has spacing 2**(k - 7)
    np.testing.assert_array_equal(rd.bf16_spacing(np.array([1, 255, 256, -3000])),
                                  [2.0**-7, 2.0**0, 2.0**1, 2.0**4])
    with pytest.raises(ValueError, match=r"^x must have only finite entries$"):
        rd.bf16_spacing([np.inf])
    with pytest.raises(ValueError, match=r"^x must be an array of real numbers, got dtype bool$"):
        rd.bf16_spacing(np.array([True]))


# ----------------------------------------------------------------------------- tie_rounding_bias


@pytest.mark.parametrize("dropped", [0, 1, 2, 3])
def test_tie_bias_of_powers_of_two_terms_is_two_to_minus_bits_plus_one(dropped) -> None:
    k = 2**dropped  # k terms of one binade: the sum keeps its 8 bits and drops log2 k more
    assert rd.tie_rounding_bias([0] * k) == 0  # nearest even, no remainder: unbiased
    expected = F(1, 2 ** (dropped + 1)) if dropped else F(0)
    assert rd.tie_rounding_bias([3] * k, 0, mode="nearest_away") == expected  # exponent-free


def test_tie_bias_matches_a_direct_enumeration() -> None:
    def direct(exponents, remainder, mode):
        total = F(0)
        grids = [[F(m, 128) * F(2) ** e for m in range(128, 256)] for e in exponents]
        pairs = list(itertools.product(*grids))
        for terms in pairs:
            exact = sum(terms) + remainder
            f32 = rd.round_rational(exact, significand_bits=24)
            rounded = rd.round_rational(f32, significand_bits=8, mode=mode)
            spacing = F(2) ** (math.floor(math.log2(exact)) - 7)
            total += (rounded - exact) / spacing
        return total / len(pairs)

    for exponents, remainder, modes in (([0, 1], F(0), ("nearest_even", "nearest_away")),
                                        ([-2, 0], F(3, 2**12), ("nearest_even", "nearest_away")),
                                        ([8, 0], F(0), ("nearest_even",))):  # exponents 8 apart
        for mode in modes:
            assert rd.tie_rounding_bias(exponents, remainder, mode=mode) == direct(exponents, remainder, mode)
    # one main term (128 cases): every mode, remainders of both signs and in the float32 bits
    for exponents, remainder in (([5], F(-3, 2**12)), ([-3], F(5, 2**14)), ([100], F(0)),
                                 ([-100], -F(1, 2**112)), ([0], -(F(1, 4) + F(1, 2**30))),
                                 ([0], F(3, 8) - F(1, 2**30)),  # above 1/3, below the bound 1/2
                                 ([-3], F(0)),
                                 # remainders coarser than the main terms' unit 2**(low - 7)
                                 ([0], F(1, 4)), ([-3], -F(1, 32))):
        for mode in ("nearest_even", "nearest_away", "toward_zero"):
            assert rd.tie_rounding_bias(exponents, remainder, mode=mode) == direct(exponents, remainder, mode)


def test_significand_sums_count_the_ways() -> None:
    """The convolution against a direct count: one term, each of 128..255 once; two at offsets
    (0, 0), the triangle min(s − 255, 511 − s); at (0, 1) and (0, 3), every combination."""
    assert rd._significand_sums((0,)) == tuple((m, 1) for m in range(128, 256))
    two = dict(rd._significand_sums((0, 0)))
    assert two == {s: min(s - 255, 511 - s) for s in range(256, 511)}
    m = range(128, 256)
    for offsets in ((0, 1), (0, 3)):
        direct = collections.Counter(sum(mi << d for mi, d in zip(ms, offsets, strict=True))
                                     for ms in itertools.product(m, repeat=len(offsets)))
        assert rd._significand_sums(offsets) == tuple(sorted(direct.items()))


def test_tie_bias_of_the_posts_example_and_of_a_remainder_float32_drops() -> None:
    # two terms of [1, 2) and the post's tiny 2**-10: a tie half the time (+1/2), minus 2**-10
    # in spacings of the sum (2**-6), i.e. 1/4 - 1/16
    assert rd.tie_rounding_bias([0, 0], F(1, 1024)) == F(3, 16)
    # 2**-24 is a quarter of the float32 spacing on [2, 4): float32 drops it, nearest even is
    # unbiased again and the error is the lost remainder, 2**-24 / 2**-6
    assert rd.tie_rounding_bias([0, 0], F(1, 2**24)) == -F(1, 2**18)


def test_tie_bias_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="between 1 and 8"):
        rd.tie_rounding_bias([])
    with pytest.raises(ValueError, match="between 1 and 8"):
        rd.tie_rounding_bias([0] * 9)
    with pytest.raises(ValueError, match="within 8"):
        rd.tie_rounding_bias([0, 9])
    with pytest.raises(ValueError, match=r"^exponents\[i\] must be <= 100"):
        rd.tie_rounding_bias([101])
    with pytest.raises(ValueError, match=r"^exponents\[i\] must be >= -100"):
        rd.tie_rounding_bias([-101])
    with pytest.raises(ValueError, match="dyadic rational"):
        rd.tie_rounding_bias([0, 0], F(1, 3))
    with pytest.raises(ValueError, match="remainder must be a rational number"):
        rd.tie_rounding_bias([0, 0], "small")
    with pytest.raises(ValueError, match=r"half the smallest main term \(2\*\*-3\)"):
        rd.tie_rounding_bias([-2, 0], -0.125)
    with pytest.raises(ValueError, match="half the smallest"):
        rd.tie_rounding_bias([0, 0], 0.5)
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        rd.tie_rounding_bias([0, 0], mode="stochastic")


# ----------------------------------------------------------------------------- dot_f32


def test_dot_f32_is_sequential_float32_accumulation() -> None:
    rng = np.random.default_rng(5)
    p = np.asarray(rd.round_to_bf16(np.exp(-rng.uniform(0, 12, (40, 9)).astype(np.float32))))
    v = np.asarray(rd.round_to_bf16(rng.normal(1, 0.5, (40, 9)).astype(np.float32)))
    for products in ("exact", "bf16"):
        ours = np.asarray(rd.dot_f32(p, v, products=products), dtype=np.float64)
        for row in range(p.shape[0]):
            acc = F(0)
            for a, b in zip(p[row], v[row], strict=True):
                term = F(float(a)) * F(float(b))
                if products == "bf16":
                    term = rd.round_rational(term, significand_bits=8)
                acc = rd.round_rational(acc + term, significand_bits=24)
            assert ours[row] == acc


def test_dot_f32_products_of_bfloat16_numbers_are_exact_in_float32() -> None:
    m = np.arange(128, 256, dtype=np.float32) / 128  # every significand of [1, 2)
    a, b = np.meshgrid(m, m)
    exact = a.astype(np.float64) * b.astype(np.float64)
    ours = np.asarray(rd.dot_f32(a[..., None], b[..., None]), dtype=np.float64)
    np.testing.assert_array_equal(ours, exact)


def test_dot_f32_under_jit_skips_the_value_check_and_matches_the_eager_result() -> None:
    rng = np.random.default_rng(6)
    p = np.asarray(rd.round_to_bf16(rng.uniform(0, 1, (8, 5)).astype(np.float32)))
    v = np.asarray(rd.round_to_bf16(rng.normal(0, 1, (8, 5)).astype(np.float32)))
    jitted = jax.jit(lambda a, b: rd.dot_f32(a, b, products="bf16"))
    np.testing.assert_array_equal(np.asarray(jitted(p, v)), np.asarray(rd.dot_f32(p, v, products="bf16")))
    # more axes: the sum runs over the last one only, each row as in the 2-D case
    p3, v3 = p.reshape(2, 4, 5), v.reshape(2, 4, 5)
    np.testing.assert_array_equal(np.asarray(rd.dot_f32(p3, v3)).reshape(-1), np.asarray(rd.dot_f32(p, v)))


def test_dot_f32_accumulates_in_float32_under_x64() -> None:
    rng = np.random.default_rng(7)
    p = np.asarray(rd.round_to_bf16(rng.uniform(0, 1, (6, 300)).astype(np.float32)))
    v = np.asarray(rd.round_to_bf16(rng.normal(0, 1, (6, 300)).astype(np.float32)))
    expected = np.asarray(rd.dot_f32(p, v))
    with jax.enable_x64(True):  # float64 inputs and JAX's float64 default change nothing
        for products in ("exact", "bf16"):
            ours = rd.dot_f32(p.astype(np.float64), v.astype(np.float64), products=products)
            assert ours.dtype == jnp.float32
            if products == "exact":
                np.testing.assert_array_equal(np.asarray(ours), expected)


def test_dot_f32_rejects_bad_input() -> None:
    ones = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"^p must hold bfloat16 values"):
        rd.dot_f32(ones * (1 + 2**-9), ones)
    with pytest.raises(ValueError, match=r"^v must hold bfloat16 values"):
        rd.dot_f32(ones, ones * (1 + 2**-9))
    with pytest.raises(ValueError, match=r"^p and v must have the same shape"):
        rd.dot_f32(ones, np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"^products must be one of"):
        rd.dot_f32(ones, ones, products="fp8")
    with pytest.raises(ValueError, match=r"^p must have only finite entries"):
        rd.dot_f32(ones * np.inf, ones)
    with pytest.raises(ValueError, match=r"^v must have a floating dtype"):
        rd.dot_f32(ones, np.ones((2, 3), np.int32))


# ----------------------------------------------------------------------------- simulate_attention


def _cast(x: np.ndarray, mode: str, noise: np.ndarray | None = None) -> np.ndarray:
    """float32 to bfloat16 (as float32): ml_dtypes, exact rationals, or the stochastic carry."""
    x = np.asarray(x, np.float32)
    if mode == "nearest_even":
        return x.astype(ml_dtypes.bfloat16).astype(np.float32)
    if mode == "stochastic":  # add the 16 random bits, keep the top 16
        return ((x.view(np.uint32) + noise) & np.uint32(0xFFFF0000)).view(np.float32)
    return np.array([float(rd.round_rational(float(y), mode=mode)) for y in x], np.float32)


def _spacing(x: np.ndarray) -> np.ndarray:
    """2**(floor(log2|x|) - 7) by math.frexp (|x| = m 2**e, 1/2 <= m < 1): normal values only."""
    return np.array([math.ldexp(1.0, math.frexp(abs(y))[1] - 8) for y in x])


def _attention_model(key, *, rows, chunk_rows, n, ties, near, top, beta, products, cast, unit=None,
                     v_mean=1.5, v_std=0.15):
    """simulate_attention's rows written out from its docstring, on the same random draws.

    The draws per chunk: fold_in(key, chunk), split in five (gaps, positions, v, cast noise,
    top). Main terms: the ties + near largest scores, ties first. The defaults: v ~ N(1.5,
    0.15²), gap U(10, 16), near_gap U(0.05, 0.65). Sums in NumPy float32 one term at a time, exact
    values by math.fsum, spacings by frexp.
    """
    parts = []
    for i in range(rows // chunk_rows):
        k_gap, k_pos, k_v, k_cast, k_top = jax.random.split(jax.random.fold_in(key, i), 5)
        shape = (chunk_rows, n)
        t = np.asarray(jax.random.uniform(k_top, (chunk_rows, 1), jnp.float32, top[0], top[1]))
        score = np.asarray(jax.random.uniform(k_pos, shape, jnp.float32))
        rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
        tie, main = rank < ties, rank < ties + near
        u = np.asarray(jax.random.uniform(k_gap, shape, jnp.float32))
        lo = np.where(main, np.float32(0.05), np.float32(10.0))
        hi = np.where(main, np.float32(0.65), np.float32(16.0))
        gaps = np.where(tie, np.float32(0), lo + u * (hi - lo))
        p = _cast(np.asarray(jnp.exp(jnp.asarray((t - gaps) - np.float32(beta) * t))), "nearest_even")
        z = np.asarray(jax.random.normal(k_v, shape, jnp.float32))
        v = _cast(np.float32(v_mean) + np.float32(v_std) * z, "nearest_even")
        terms = _cast(p * v, "nearest_even") if products == "bf16" else p * v
        num = den = np.zeros(chunk_rows, np.float32)
        for j in range(n):
            num, den = num + terms[:, j], den + p[:, j]
        noise = np.asarray(jax.random.bits(k_cast, (4, chunk_rows), jnp.uint16)).astype(np.uint32)
        num16, den16 = _cast(num, cast, noise[0]), _cast(den, cast, noise[1])
        out16, fused16 = _cast(num16 / den16, cast, noise[2]), _cast(num / den, cast, noise[3])
        exact = p.astype(np.float64) * v.astype(np.float64)
        num_x = np.array([math.fsum(r) for r in exact])
        out_x = num_x / np.array([math.fsum(r) for r in p.astype(np.float64)])
        rest = np.array([math.fsum(r) for r in np.where(main, 0.0, exact)])
        s_num, s_out = (_spacing(num_x), _spacing(out_x)) if unit is None else (unit, unit)
        parts.append(((num16 - num_x) / s_num, (out16 - out_x) / s_out, (fused16 - out_x) / s_out,
                      rest / s_num))
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


@pytest.mark.parametrize("cast", rd.MODES)
def test_simulated_rows_match_the_model_written_out(cast) -> None:
    """Every row, every output, both product models, a random top and beta != 1: exactly the model."""
    key = jax.random.key(17)
    for products, ties, near, unit in (("exact", 1, 2, None), ("bf16", 0, 3, None), ("exact", 2, 1, 2.0**-9)):
        kw = dict(rows=1024, chunk_rows=512, n=16, ties=ties, near=near, products=products, cast=cast,
                  unit=unit)
        got = rd.simulate_attention(key, top=(0.5, 3.0), beta=1.25, **kw)
        want = _attention_model(key, top=(0.5, 3.0), beta=1.25, **kw)
        for name, g, w in zip(rd.AttentionErrors._fields, got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-9, err_msg=f"{name}, {products} products")
    assert np.any(got.numerator != 0) and np.any(got.remainder != 0)



def test_simulated_rows_follow_the_tie_mechanism_row_by_row() -> None:
    key = jax.random.key(11371)
    kw = dict(rows=2048, n=16, v_mean=1.5, v_std=0.15, chunk_rows=512)
    one = rd.simulate_attention(key, ties=1, **kw)
    two = rd.simulate_attention(key, ties=2, **kw)
    four = rd.simulate_attention(key, ties=4, **kw)
    # a sum whose main part is on the grid, plus a remainder below half a spacing: the cast
    # rounds the main part as ties-away would, so error + remainder is that rounding's error
    assert np.all(one.remainder < 0.5) and np.all(two.remainder < 0.5)
    np.testing.assert_allclose(one.numerator + one.remainder, 0, atol=1e-9)
    values, counts = np.unique(np.round(two.numerator + two.remainder, 9), return_counts=True)
    assert set(values) <= {-0.25, 0.0, 0.25, 0.5} and counts[list(values).index(0.5)] > 900
    assert set(np.round(four.numerator + four.remainder, 9)) <= {i / 8 for i in range(-4, 5)}
    for e in (one, two, four):
        assert all(np.all(np.isfinite(x)) and x.shape == (2048,) for x in e)


def test_simulation_models_and_casts() -> None:
    key = jax.random.key(3)
    kw = dict(rows=1024, n=16, chunk_rows=512)
    # exact ones: products by 1 are bfloat16 already, so both product models agree
    a = rd.simulate_attention(key, ties=2, products="exact", **kw)
    b = rd.simulate_attention(key, ties=2, products="bf16", **kw)
    np.testing.assert_array_equal(a.numerator, b.numerator)
    # main terms below 1: rounding the products to bfloat16 changes the numerator
    c = rd.simulate_attention(key, ties=0, near=2, products="exact", **kw)
    d = rd.simulate_attention(key, ties=0, near=2, products="bf16", **kw)
    assert np.any(c.numerator != d.numerator)
    # ties == near: a valid row (the check is on their sum)
    assert np.all(np.isfinite(rd.simulate_attention(key, ties=1, near=1, **kw).output))
    s1 = rd.simulate_attention(key, ties=2, cast="stochastic", **kw)
    s2 = rd.simulate_attention(key, ties=2, cast="stochastic", **kw)
    np.testing.assert_array_equal(s1.output, s2.output)  # seeded
    assert np.any(s1.output != a.output)
    # beta = 2 with a top of 84: the remainder underflows (exp(-94) < 2**-134) and is exactly 0
    u = rd.simulate_attention(key, ties=2, top=84.0, beta=2.0, **kw)
    assert np.all(u.remainder == 0)


def test_simulation_in_a_fixed_unit_and_under_x64() -> None:
    key = jax.random.key(4)
    kw = dict(rows=1024, n=16, chunk_rows=512, ties=1)
    per_spacing = rd.simulate_attention(key, **kw)
    fixed = rd.simulate_attention(key, unit=2.0**-7, **kw)
    # values in [1, 2), where the spacing is 2**-7: the same numbers (all but rare rows)
    assert np.mean(per_spacing.numerator == fixed.numerator) > 0.99
    halved = rd.simulate_attention(key, unit=2.0**-8, **kw)
    np.testing.assert_allclose(halved.output, 2 * fixed.output, rtol=1e-12)
    with jax.enable_x64(True):  # float32 throughout, whatever JAX's default precision
        wide = rd.simulate_attention(key, unit=2.0**-7, **kw)
    np.testing.assert_array_equal(wide.output, fixed.output)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ties": 0}, r"^a row needs at least one main term \(ties \+ near >= 1\)$"),
        ({"ties": 5}, r"^ties must be <= 4"),
        ({"ties": -1, "near": 2}, r"^ties must be >= 0"),
        ({"ties": 2, "near": -1}, r"^near must be >= 0, got -1$"),
        ({"ties": 2, "near": 3}, r"^near must be <= 2"),  # ties + near <= MAX_MAIN
        ({"rows": 65}, r"^rows must be a multiple of chunk_rows=32, got 65$"),
        ({"rows": 16}, r"^rows must be >= 32"),
        ({"chunk_rows": 1}, r"^chunk_rows must be >= 2"),
        ({"chunk_rows": None, "rows": 4096}, r"^rows must be >= 8192"),  # the default chunk_rows
        ({"n": 4}, r"^n must be >= 5"),  # MAX_MAIN + 1
        ({"key": 0}, r"^key must be a single JAX PRNG key"),
        ({"products": "fp8"}, r"^products must be one of"),
        ({"cast": "half_up"}, r"^cast must be one of"),
        ({"v_mean": float("nan")}, r"^v_mean must be finite"),
        ({"v_std": 0.0}, r"^v_std must be > 0"),
        ({"beta": 0.0}, r"^beta must be > 0"),
        ({"unit": -1.0}, r"^unit must be > 0"),
        ({"top": float("inf")}, r"^top must be finite"),
        ({"top": (float("nan"), 1.0)}, r"^top\[0\] must be finite"),
        ({"top": (0.0, float("nan"))}, r"^top\[1\] must be finite"),
        ({"top": (2.0, 1.0)}, r"^top must be an interval with lo <= hi"),
        ({"top": (1.0, 2.0, 3.0)}, r"^top must be a number or an interval \(lo, hi\)"),
        ({"gap": (-1.0, 3.0)}, r"^gap\[0\] must be >= 0"),
        ({"gap": (5.0, 3.0)}, r"^gap must be an interval \(lo, hi\) with 0 <= lo < hi"),
        ({"near_gap": (0.5, 0.5)}, r"^near_gap must be an interval"),
        ({"near_gap": (0.1, float("inf"))}, r"^near_gap\[1\] must be finite"),
    ],
)
def test_simulate_attention_rejects_bad_input(kwargs: dict, match: str) -> None:
    args = {"key": jax.random.key(0), "rows": 64, "n": 16, "ties": 1, "chunk_rows": 32} | kwargs
    if args["chunk_rows"] is None:
        del args["chunk_rows"]
    with pytest.raises(ValueError, match=match):
        rd.simulate_attention(args.pop("key"), **args)


def test_simulated_rows_round_exact_ties_to_even() -> None:
    """A top whose exp(−top) is a bfloat16 midpoint in float32, and values on a midpoint (v_std
    far below float32's spacing): every main term and every value is a tie, settled to even."""
    t = np.float32(0.5) + np.arange(2**17, dtype=np.float32) * np.float32(2**-24)
    words = np.asarray(jnp.exp(jnp.asarray(-t))).view(np.uint32)
    t0 = float(t[np.flatnonzero((words & 0xFFFF) == 0x8000)[0]])
    key = jax.random.key(23)
    kw = dict(rows=1024, chunk_rows=512, n=16, ties=2, near=0, top=(t0, t0), beta=2.0, products="exact",
              cast="nearest_even", v_mean=1 + 2**-8, v_std=1e-12)
    got, want = rd.simulate_attention(key, **kw), _attention_model(key, **kw)
    for name, g, w in zip(rd.AttentionErrors._fields, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-9, err_msg=name)


def test_simulate_attention_defaults() -> None:
    """top = 0 and beta = 1 by default: with beta = 2, top = 0 is what the default gives (top = 1
    scales every p by 1/e); with top = 1, beta = 1 is."""
    key = jax.random.key(9)
    kw = dict(rows=1024, n=16, chunk_rows=512, ties=1, near=2)
    for default, explicit, other in (({"beta": 2.0}, {"beta": 2.0, "top": 0.0}, {"beta": 2.0, "top": 1.0}),
                                     ({"top": 1.0}, {"top": 1.0, "beta": 1.0}, {"top": 1.0, "beta": 2.0})):
        got = rd.simulate_attention(key, **default, **kw)
        assert all(np.array_equal(a, b) for a, b in
                   zip(got, rd.simulate_attention(key, **explicit, **kw), strict=True))
        assert not np.array_equal(got.numerator, rd.simulate_attention(key, **other, **kw).numerator)


def test_simulate_attention_accepts_the_edges_of_its_ranges() -> None:
    key = jax.random.key(5)
    kw = dict(rows=1024, n=16, chunk_rows=512)
    # a list for top, an interval of zero width: the same rows as the number
    fixed = rd.simulate_attention(key, ties=1, near=3, top=1.0, **kw)
    for top in ([1.0, 1.0], (1.0, 1.0)):
        np.testing.assert_array_equal(rd.simulate_attention(key, ties=1, near=3, top=top, **kw).output,
                                      fixed.output)
    four = rd.simulate_attention(key, ties=4, gap=(0.0, 16.0), **kw)  # MAX_MAIN ties, gaps from 0
    assert all(x.shape == (1024,) and np.all(np.isfinite(x)) for x in four)
