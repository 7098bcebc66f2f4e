"""Rounding to bfloat16, bit by bit, and the biased rounding of low-precision attention.

Companion module of the chapter ``book/low-precision-attention.md`` (Su Jianlin,
kexue.fm/archives/11371).

Rounding:

* :func:`round_to_bf16` -- float32 to bfloat16 by integer operations on the float32 bits, in
  four modes: ``"nearest_even"`` (IEEE 754's default, bit-identical to ``ml_dtypes`` and
  ``jnp.bfloat16`` casts), ``"nearest_away"`` (the school rule, ties away from zero),
  ``"toward_zero"`` (truncation) and ``"stochastic"`` (round away from zero with probability
  equal to the dropped fraction, seeded). The result is a float32 array, so it survives any
  later XLA simplification of casts.
* :func:`round_rational` -- the same rounding of an exact rational to any number of significant
  bits (no exponent limits): the exact reference for the kernels and the enumerations.
* :func:`bf16_bits`, :func:`f32_bits` -- sign, exponent and mantissa bits, for display;
  :func:`bf16_spacing` -- the distance between consecutive bfloat16 numbers at a value.

The "two big, one small" bias, exactly:

* :func:`tie_rounding_bias` -- the mean error of casting to bfloat16 the float32 sum of a few
  same-sign bfloat16 numbers and a small remainder, over every significand of the big ones.

Low-precision attention (post (1)-(3)):

* :func:`dot_f32` -- :math:`\\sum_i p_iv_i` as a matrix unit forms it before the output cast:
  products exact in float32 (what tensor cores do) or rounded to bfloat16 (the post's first
  reading), accumulated one by one in float32.
* :func:`simulate_attention` -- seeded attention rows,
  :math:`\\bar p = \\mathrm{bf16}(\\exp(s - \\beta s_{\\rm top}))` with a chosen number of
  exact ones and a value column ``v``, and the rounding errors of the numerator
  :math:`\\bar PV`, of the naive output :math:`\\mathrm{bf16}(\\bar PV)/\\mathrm{bf16}(\\bar P1)`
  and of the output normalised in float32 before one cast, in bfloat16 spacings.

The jitted kernels (and the cached enumeration) are plain functions (``_*_impl``) wrapped by
module-level ``jax.jit(...)`` (``lru_cache(...)``) calls rather than decorated: ``make mutate``
(mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from kexue_lib import validate

__all__ = [
    "BF16_SIGNIFICAND_BITS",
    "F32_SIGNIFICAND_BITS",
    "MODES",
    "AttentionErrors",
    "Bits",
    "bf16_bits",
    "bf16_spacing",
    "dot_f32",
    "f32_bits",
    "round_rational",
    "round_to_bf16",
    "simulate_attention",
    "tie_rounding_bias",
]

#: Rounding modes of :func:`round_to_bf16` (the last needs a PRNG key).
MODES: tuple[str, ...] = ("nearest_even", "nearest_away", "toward_zero", "stochastic")
#: Significant bits, the implicit leading one included: bfloat16 keeps 7 mantissa bits, float32 23.
BF16_SIGNIFICAND_BITS = 8
F32_SIGNIFICAND_BITS = 24
_EXACT_MODES = MODES[:3]
_LOW = np.uint32(0xFFFF)  # the 16 float32 bits that bfloat16 drops
_HIGH = np.uint32(0xFFFF0000)
_SIGN = np.uint32(0x80000000)
_NAN = np.uint32(0x7FC00000)  # the canonical quiet NaN, as ml_dtypes and XLA produce it


# --------------------------------------------------------------------------- rounding


def _round_bits(x: jax.Array, code: jax.Array | int, noise: jax.Array | None = None) -> jax.Array:
    """Round float32 ``x`` to bfloat16 by mode number ``code`` (an index into :data:`MODES`).

    ``noise`` (uniform 16-bit integers as uint32, shaped like ``x``) is the stochastic mode's
    carry; ``code`` may be traced, so one compiled kernel serves every mode.
    """
    bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
    even = np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))
    if noise is None:
        noise = jnp.zeros_like(bits)
    carry = jnp.select([code == 0, code == 1, code == 2], [even, np.uint32(0x8000), np.uint32(0)], noise)
    # Sign and magnitude: adding to the bits moves the magnitude up, whatever the sign. An
    # infinity has zero low bits, so no carry reaches its exponent; a NaN becomes the canonical
    # quiet NaN, its sign kept.
    rounded = (bits + carry) & _HIGH
    rounded = jnp.where(jnp.isnan(x), (bits & _SIGN) | _NAN, rounded)
    return jax.lax.bitcast_convert_type(rounded, jnp.float32)


def _noise(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform integers in ``0 .. 2**16 - 1`` as uint32: the stochastic carry."""
    return jax.random.bits(key, shape, jnp.uint16).astype(jnp.uint32)


def _round_mode_impl(x: jax.Array, mode: str, key: jax.Array | None) -> jax.Array:
    noise = _noise(key, x.shape) if mode == "stochastic" else None
    return _round_bits(x, MODES.index(mode), noise)


_round_mode = jax.jit(_round_mode_impl, static_argnames=("mode",))


def round_to_bf16(x: ArrayLike, mode: str = "nearest_even", *, key: jax.Array | None = None) -> jax.Array:
    """Round to bfloat16, returning float32 values that bfloat16 represents exactly.

    ``x`` must have a floating dtype; it is first converted to float32 (exact for bfloat16,
    float16 and float32 input; float64 input is rounded to float32 to nearest, even, first).
    The rounding keeps the top 16 of the 32 bits, adding to the bits (sign and magnitude) before
    clearing the low 16:

    * ``"nearest_even"``: IEEE 754 round to nearest, ties to even, bit-identical to
      ``x.astype(ml_dtypes.bfloat16)`` and to ``jnp.asarray(x).astype(jnp.bfloat16)``,
      infinities, overflow to infinity and NaN included;
    * ``"nearest_away"``: round to nearest, ties away from zero (the school rule, 四舍五入);
    * ``"toward_zero"``: drop the low bits (truncation, never overflows);
    * ``"stochastic"``: away from zero with probability (dropped part)/(spacing), towards zero
      otherwise, from the seeded ``key`` (required for this mode and refused for the others), so
      that the expected result is ``x`` exactly.

    A NaN becomes the canonical quiet NaN with its sign, as in those casts. Works under
    ``jit`` and ``vmap``.
    """
    validate.choice("mode", mode, MODES)
    if mode == "stochastic":
        if key is None:
            raise ValueError("mode 'stochastic' needs a PRNG key: round_to_bf16(x, 'stochastic', key=key)")
        key = validate.prng_key("key", key)
    elif key is not None:
        raise ValueError(f"mode {mode!r} is deterministic and takes no key; only 'stochastic' does")
    x = validate.array("x", x, finite=False).astype(jnp.float32)
    return _round_mode(x, mode, key)


def _round_quotient(num: int, den: int, mode: str) -> int:
    """``num / den`` (``num >= 0``, ``den > 0``) rounded to an integer by ``mode``."""
    q, r = divmod(num, den)
    if mode == "nearest_even":
        return q + (2 * r > den or (2 * r == den and q & 1))
    if mode == "nearest_away":
        return q + (2 * r >= den)
    return q  # toward_zero


def round_rational(
    x: Fraction | int | float | str, *, significand_bits: int = BF16_SIGNIFICAND_BITS,
    mode: str = "nearest_even",
) -> Fraction:
    """Round an exact rational to ``significand_bits`` significant binary digits.

    The binary format has no exponent limits (no overflow, underflow or subnormals), so this is
    the textbook rounding of :math:`x = \\pm q\\,2^{e}` with :math:`2^{p-1} \\le q < 2^p`, exactly,
    in integer arithmetic. ``mode`` is ``"nearest_even"``, ``"nearest_away"`` or
    ``"toward_zero"``. With ``significand_bits=8`` it is bfloat16's rounding of every value in
    its normal range; with 24, float32's.
    """
    validate.choice("mode", mode, _EXACT_MODES)
    p = validate.integer("significand_bits", significand_bits, minimum=1, maximum=1024)
    if isinstance(x, bool):
        raise ValueError(f"x must be a number, got {x!r}")
    try:
        x = Fraction(x)
    except (TypeError, ValueError):
        raise ValueError(f"x must be a rational number (or a finite float), got {x!r}") from None
    if x == 0:
        return Fraction(0)
    a, b = abs(x.numerator), x.denominator
    e = a.bit_length() - b.bit_length()  # floor(log2 |x|) is e or e - 1
    if (a << max(0, -e)) < (b << max(0, e)):
        e -= 1
    shift = p - 1 - e  # |x| * 2**shift lies in [2**(p-1), 2**p)
    q = _round_quotient(a << shift, b, mode) if shift >= 0 else _round_quotient(a, b << -shift, mode)
    magnitude = Fraction(q, 1 << shift) if shift >= 0 else Fraction(q << -shift)
    return magnitude if x > 0 else -magnitude


def _round_integer(x: int, p: int, mode: str) -> int:
    """A positive integer rounded to ``p`` significant bits (an integer again)."""
    shift = x.bit_length() - p
    return x if shift <= 0 else _round_quotient(x, 1 << shift, mode) << shift


class Bits(NamedTuple):
    """The fields of a floating-point number, as strings of binary digits."""

    sign: str
    exponent: str
    mantissa: str


def _fields(word: int, width: int, exponent_bits: int) -> Bits:
    digits = format(word, f"0{width}b")
    return Bits(digits[0], digits[1:1 + exponent_bits], digits[1 + exponent_bits:])


def _float_array(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a NumPy array of a floating dtype (bfloat16 included), without changing its values."""
    arr = np.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise ValueError(f"{name} must have a floating dtype, got {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def f32_bits(x: ArrayLike) -> list[Bits]:
    """The sign (1), exponent (8) and mantissa (23) bits of float32 values, one :class:`Bits` each.

    ``x`` is flattened; values that float32 does not represent exactly (float64 ones) are
    refused rather than rounded silently.
    """
    arr = _float_array("x", x)
    # Casts of bfloat16 NaNs (ml_dtypes) warn, and a float64 beyond float32's range overflows to
    # inf: both quietly, since the comparison below decides.
    with np.errstate(invalid="ignore", over="ignore"):
        f32 = arr.astype(np.float32)
        exact = (f32.astype(np.float64) == arr.astype(np.float64)) | np.isnan(f32)
    if not np.all(exact):
        raise ValueError("x holds values that float32 does not represent exactly; round them first")
    return [_fields(int(w), 32, 8) for w in f32.reshape(-1).view(np.uint32)]


def bf16_bits(x: ArrayLike) -> list[Bits]:
    """The sign (1), exponent (8) and mantissa (7) bits of bfloat16 values, one :class:`Bits` each.

    ``x`` (flattened) must hold values that bfloat16 represents exactly (the output of
    :func:`round_to_bf16`, say); others are refused, since their bits are not bfloat16's.
    """
    arr = _float_array("x", x)
    with np.errstate(invalid="ignore", over="ignore"):  # as in f32_bits
        f32 = arr.astype(np.float32).reshape(-1)
        exact = f32.astype(np.float64) == arr.reshape(-1).astype(np.float64)
    words = f32.view(np.uint32)
    if np.any(((words & _LOW) != 0) | ~(exact | np.isnan(f32))):
        raise ValueError("x holds values that bfloat16 does not represent exactly; use round_to_bf16 first")
    return [_fields(int(w) >> 16, 16, 8) for w in words]


def bf16_spacing(x: ArrayLike) -> np.ndarray:
    """The bfloat16 spacing at ``|x|``: :math:`2^{\\lfloor\\log_2|x|\\rfloor-7}`, in NumPy float64.

    The gap from the largest bfloat16 number at or below ``|x|`` to the next one up, the unit in
    which the book measures rounding errors. Below the normal range (``|x| < 2**-126``, zero
    included) it is the subnormal spacing ``2**-133``. Computed in NumPy float64, so that it
    applies to exact float64 reference values whatever JAX's precision setting.
    """
    arr = np.asarray(x)
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise ValueError(f"x must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("x must have only finite entries")
    _, exponent = np.frexp(np.abs(arr))  # |x| = m 2**exponent with m in [0.5, 1); 0 for x = 0
    exponent = np.where(arr == 0, -126, np.maximum(exponent - 1, -126))
    return np.ldexp(1.0, exponent - 7)


# --------------------------------------------------------------------------- exact enumeration


def _significand_sums_impl(offsets: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """How many ways ``sum_i m_i 2**offsets[i]`` takes each value, each ``m_i`` in ``128..255``.

    A convolution of the terms' distributions, in int64 (at most ``128**8 < 2**63`` ways).
    """
    counts = np.ones(1, dtype=np.int64)
    for d in offsets:
        term = np.zeros(256 << d, dtype=np.int64)
        term[np.arange(128, 256) << d] = 1
        counts = np.convolve(counts, term)
    values = np.flatnonzero(counts)
    return tuple(zip(values.tolist(), counts[values].tolist(), strict=True))


_significand_sums = lru_cache(maxsize=64)(_significand_sums_impl)


def tie_rounding_bias(
    exponents: Sequence[int], remainder: Fraction | int | float | str = 0, *, mode: str = "nearest_even"
) -> Fraction:
    """Exact mean error of casting a float32 sum of big same-sign bfloat16 numbers to bfloat16.

    Main term ``i`` is a bfloat16 number uniform over the 128 values of the binade
    :math:`[2^{e_i}, 2^{e_i+1})`, ``e_i = exponents[i]``, independently. Their exact sum (float32
    holds it exactly: at most 24 significant bits) plus ``remainder`` (the small terms, already
    summed) is rounded once to float32, to nearest even, then to bfloat16 with ``mode``. The
    error, rounded minus exact (remainder included), is measured in bfloat16 spacings
    (:func:`bf16_spacing`) of the exact value and averaged over every combination of the main
    terms' significands. Exact rational arithmetic throughout.

    Between one and eight main terms; their exponents within 8 of each other; ``remainder`` a
    dyadic rational (any float) of magnitude below half the smallest main term. A positive
    remainder too small to move any float32 sum's bfloat16 rounding except at a tie makes
    nearest-even behave as ``"nearest_away"`` does without it: that limit is
    ``tie_rounding_bias(exponents, 0, mode="nearest_away")`` (the error then excludes the
    vanishing remainder).
    """
    validate.choice("mode", mode, _EXACT_MODES)
    exponents = [validate.integer("exponents[i]", e, minimum=-100, maximum=100) for e in exponents]
    if not 1 <= len(exponents) <= 8:
        raise ValueError(f"between 1 and 8 main terms, got {len(exponents)}")
    low = min(exponents)
    if max(exponents) - low > 8:
        raise ValueError(f"the main terms' exponents must lie within 8 of each other, got {exponents}")
    try:
        rest = Fraction(remainder)
    except (TypeError, ValueError):
        raise ValueError(f"remainder must be a rational number, got {remainder!r}") from None
    if rest.denominator & (rest.denominator - 1):
        raise ValueError(f"remainder must be a dyadic rational (a float is one), got {rest}")
    if abs(rest) >= Fraction(2) ** (low - 1):
        raise ValueError(f"|remainder| must be below half the smallest main term (2**{low - 1})")
    # Integers in units of 2**-scale: the main terms' unit 2**(low - 7) and the remainder's.
    scale = max(7 - low, rest.denominator.bit_length() - 1, 0)
    rest_units = rest.numerator << (scale - rest.denominator.bit_length() + 1)
    errors: list[tuple[int, int, int]] = []  # (ways, error, log2 of the spacing), in units
    for significands, ways in _significand_sums(tuple(sorted(e - low for e in exponents))):
        exact = (significands << (scale + low - 7)) + rest_units
        f32 = _round_integer(exact, F32_SIGNIFICAND_BITS, "nearest_even")
        rounded = _round_integer(f32, BF16_SIGNIFICAND_BITS, mode)
        errors.append((ways, rounded - exact, exact.bit_length() - BF16_SIGNIFICAND_BITS))
    top = max(log_spacing for _, _, log_spacing in errors)
    total = sum(ways * error << (top - log_spacing) for ways, error, log_spacing in errors)
    return Fraction(total, sum(ways for ways, _, _ in errors) << top)


# --------------------------------------------------------------------------- attention


def _check_bf16_values(name: str, x: jax.Array) -> None:
    """Refuse concrete float32 values that bfloat16 does not represent (traced ones pass)."""
    if isinstance(x, jax.core.Tracer):
        return
    with jax.ensure_compile_time_eval():
        ok = bool(jnp.all((jax.lax.bitcast_convert_type(x, jnp.uint32) & _LOW) == 0))
    if not ok:
        raise ValueError(f"{name} must hold bfloat16 values (use round_to_bf16 first)")


def _dot_f32_impl(p: jax.Array, v: jax.Array, round_products: jax.Array | bool) -> jax.Array:
    def step(acc: jax.Array, pv: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, None]:
        term = pv[0] * pv[1]  # exact in float32: 8 + 8 significant bits
        term = jnp.where(round_products, _round_bits(term, 0), term)
        return acc + term, None

    columns = (jnp.moveaxis(p, -1, 0), jnp.moveaxis(v, -1, 0))
    acc, _ = jax.lax.scan(step, jnp.zeros(p.shape[:-1], jnp.float32), columns)
    return acc


_dot_f32 = jax.jit(_dot_f32_impl)


def dot_f32(p: ArrayLike, v: ArrayLike, *, products: str = "exact") -> jax.Array:
    """:math:`\\sum_i p_iv_i` over the last axis, as a bfloat16 matrix unit accumulates it.

    ``p`` and ``v`` (same shape, float dtype) must hold bfloat16 values. Each product is formed
    in float32, where it is exact (two 8-bit significands give at most 16 bits), and with
    ``products="bf16"`` rounded to bfloat16 (nearest even) before it is added: the two readings
    of the comment thread under the post. The terms are added one at a time, in index order, to
    a float32 accumulator (nearest even), and the float32 sum is returned, before any output
    cast.
    """
    validate.choice("products", products, ("exact", "bf16"))
    p = validate.array("p", p).astype(jnp.float32)
    v = validate.array("v", v).astype(jnp.float32)
    validate.same_shape("p", p, "v", v)
    _check_bf16_values("p", p)
    _check_bf16_values("v", v)
    return _dot_f32(p, v, products == "bf16")


class AttentionErrors(NamedTuple):
    """Per-row results of :func:`simulate_attention`: NumPy float64, in bfloat16 spacings.

    ``numerator``: error of :math:`\\mathrm{bf16}(\\sum_i\\bar p_iv_i)`, post (2);
    ``output``: error of the naive output :math:`\\mathrm{bf16}(\\mathrm{bf16}(\\bar PV)/
    \\mathrm{bf16}(\\bar P1))`, post (1); ``fused``: error of the output normalised in float32
    and cast once, :math:`\\mathrm{bf16}(\\mathrm{acc}_{\\bar PV}/\\mathrm{acc}_{\\bar P1})`;
    ``remainder``: the exact sum of the non-main terms :math:`\\sum_j\\bar p_jv_j`. Errors are
    rounded minus exact, the exact values being those of the bfloat16 inputs
    :math:`\\bar p, v` (float64: no rounding but the ones under study), each divided by the
    bfloat16 spacing (:func:`bf16_spacing`) of its own exact value (the remainder by the
    numerator's), or by a fixed unit. When the exact values of a sample spread over several
    binades, that spacing varies from row to row and may correlate with the error: keep ``v``
    within one binade (mean 1.5 and standard deviation 0.15, the default, puts all but 0.1 %
    of it in [1, 2)) for means that are biases of the rounding alone.
    """

    numerator: np.ndarray
    output: np.ndarray
    fused: np.ndarray
    remainder: np.ndarray


#: At most this many main terms per simulated row (ties + near).
MAX_MAIN = 4


def _attention_chunk_impl(
    key: jax.Array, shape: tuple[int, int], ties: jax.Array, near: jax.Array, v_mean: jax.Array,
    v_std: jax.Array, gap: jax.Array, near_gap: jax.Array, top: jax.Array, beta: jax.Array,
    round_products: jax.Array, cast: jax.Array,
) -> tuple[jax.Array, ...]:
    k_gap, k_pos, k_v, k_cast, k_top = jax.random.split(key, 5)
    rows, n = shape
    (top_lo, top_hi), (gap_lo, gap_hi), (near_lo, near_hi) = top, gap, near_gap  # (lo, hi) pairs
    top = jax.random.uniform(k_top, (rows, 1), jnp.float32, top_lo, top_hi)  # one per row
    # The main terms sit at the positions of the ties + near largest of `score` (random
    # positions), picked one at a time: a few argmax passes cost less than a sort or top_k.
    score = jax.random.uniform(k_pos, shape, jnp.float32)
    is_tie = is_main = jnp.zeros(shape, bool)
    for j in range(MAX_MAIN):
        pick = jnp.argmax(jnp.where(is_main, -jnp.inf, score), axis=1)
        hit = (jnp.arange(n) == pick[:, None]) & (j < ties + near)
        is_tie, is_main = is_tie | (hit & (j < ties)), is_main | hit
    u = jax.random.uniform(k_gap, shape, jnp.float32)  # one draw per position, whatever its role
    lo, hi = jnp.where(is_main, near_lo, gap_lo), jnp.where(is_main, near_hi, gap_hi)
    gaps = jnp.where(is_tie, 0.0, lo + u * (hi - lo))
    p = _round_bits(jnp.exp((top - gaps) - beta * top), 0)
    v = _round_bits(v_mean + v_std * jax.random.normal(k_v, shape, jnp.float32), 0)
    num = _dot_f32(p, v, round_products)
    den = _dot_f32(p, jnp.ones_like(p), round_products)
    noise_num, noise_den, noise_out, noise_fused = _noise(k_cast, (4, rows))
    num16, den16 = _round_bits(num, cast, noise_num), _round_bits(den, cast, noise_den)
    output = _round_bits(num16 / den16, cast, noise_out)
    fused = _round_bits(num / den, cast, noise_fused)
    return p, v, is_main, num16, output, fused


_attention_chunk = jax.jit(_attention_chunk_impl, static_argnames=("shape",))


def simulate_attention(
    key: jax.Array,
    *,
    rows: int,
    n: int,
    ties: int,
    near: int = 0,
    v_mean: float = 1.5,
    v_std: float = 0.15,
    gap: tuple[float, float] = (10.0, 16.0),
    near_gap: tuple[float, float] = (0.05, 0.65),
    top: float | tuple[float, float] = 0.0,
    beta: float = 1.0,
    products: str = "exact",
    cast: str = "nearest_even",
    unit: float | None = None,
    chunk_rows: int = 8192,
) -> AttentionErrors:
    """Seeded rows of low-precision attention and the rounding errors of their outputs.

    Each of ``rows`` rows has ``n`` logits: ``ties`` equal to the row's top value (the main
    terms with :math:`\\bar p = 1`), ``near`` at ``top - U(near_gap)`` (main terms close to, not
    at, the top) and the rest at ``top - U(gap)`` (the small remainder), in random positions;
    ``top`` is a number or an interval ``(lo, hi)`` from which each row draws its own. Then

    * :math:`\\bar p = \\mathrm{bf16}(\\exp(s - \\beta\\,\\mathrm{top}))` (float32 ``exp``;
      ``beta = 2`` is the paper's fix, post (3));
    * :math:`v = \\mathrm{bf16}(\\mathcal N(v_{\\rm mean}, v_{\\rm std}^2))`, one value column;
    * numerator :math:`\\sum\\bar p_iv_i` and denominator :math:`\\sum\\bar p_i` by
      :func:`dot_f32` with ``products``, and the outputs of :class:`AttentionErrors`, every cast
      to bfloat16 by ``cast`` (a mode of :func:`round_to_bf16`; ``"stochastic"`` draws from
      ``key``).

    Errors are in bfloat16 spacings of each exact value, or with ``unit`` in that fixed unit
    (for values of both signs, whose exact sums may cancel to nearly nothing, where a spacing
    is no scale). ``n`` is at least 5 and ``ties + near`` at most :data:`MAX_MAIN`. Rows are
    simulated ``chunk_rows`` at a time (``rows`` must be a multiple of it); one compiled kernel
    serves every argument but ``n`` and ``chunk_rows``.
    """
    key = validate.prng_key("key", key)
    n = validate.integer("n", n, minimum=MAX_MAIN + 1)
    ties = validate.integer("ties", ties, minimum=0, maximum=MAX_MAIN)
    near = validate.integer("near", near, minimum=0, maximum=MAX_MAIN - ties)
    if ties + near == 0:
        raise ValueError("a row needs at least one main term (ties + near >= 1)")
    chunk_rows = validate.integer("chunk_rows", chunk_rows, minimum=2)
    rows = validate.integer("rows", rows, minimum=chunk_rows)
    if rows % chunk_rows:
        raise ValueError(f"rows must be a multiple of chunk_rows={chunk_rows}, got {rows}")
    validate.choice("products", products, ("exact", "bf16"))
    validate.choice("cast", cast, MODES)
    v_mean = validate.real("v_mean", v_mean)
    v_std = validate.real("v_std", v_std, positive=True)
    if isinstance(top, tuple | list):
        if len(top) != 2:
            raise ValueError(f"top must be a number or an interval (lo, hi), got {top!r}")
        top_lo, top_hi = validate.real("top[0]", top[0]), validate.real("top[1]", top[1])
        if not top_lo <= top_hi:
            raise ValueError(f"top must be an interval with lo <= hi, got {top!r}")
    else:
        top_lo = top_hi = validate.real("top", top)
    beta = validate.real("beta", beta, positive=True)
    if unit is not None:
        unit = validate.real("unit", unit, positive=True)
    intervals = {}
    for name, (lo, hi) in (("gap", gap), ("near_gap", near_gap)):
        lo, hi = validate.real(f"{name}[0]", lo, nonnegative=True), validate.real(f"{name}[1]", hi)
        if not lo < hi:
            raise ValueError(f"{name} must be an interval (lo, hi) with 0 <= lo < hi, got {(lo, hi)}")
        intervals[name] = jnp.array([lo, hi], jnp.float32)
    parts = []
    for i in range(rows // chunk_rows):
        p, v, is_main, num16, out16, fused16 = _attention_chunk(
            jax.random.fold_in(key, i), (chunk_rows, n), jnp.int32(ties), jnp.int32(near),
            jnp.float32(v_mean), jnp.float32(v_std), intervals["gap"], intervals["near_gap"],
            jnp.array([top_lo, top_hi], jnp.float32), jnp.float32(beta), jnp.bool_(products == "bf16"),
            jnp.int32(MODES.index(cast)),
        )
        p64, v64 = np.asarray(p, np.float64), np.asarray(v, np.float64)
        terms = p64 * v64  # exact in float64
        num = np.sum(terms, axis=1)  # pairwise summation: relative error ~1e-16, far below 2**-8
        out = num / np.sum(p64, axis=1)
        spacing_num, spacing_out = ((bf16_spacing(num), bf16_spacing(out)) if unit is None
                                    else (unit, unit))
        parts.append((
            (np.asarray(num16, np.float64) - num) / spacing_num,
            (np.asarray(out16, np.float64) - out) / spacing_out,
            (np.asarray(fused16, np.float64) - out) / spacing_out,
            np.sum(np.where(np.asarray(is_main), 0.0, terms), axis=1) / spacing_num,
        ))
    return AttentionErrors(*(np.concatenate(column) for column in zip(*parts, strict=True)))
