"""The maximum of n standard normals, and duplicate maxima after rounding to bfloat16.

Companion module of the chapter ``book/gaussian-max.md`` (Su Jianlin, kexue.fm/archives/11390).

Exact values:

* :func:`expected_max` -- :math:`\\mathbb E[z_{\\max}]` by mpmath quadrature of
  :math:`\\int z\\,n\\Phi(z)^{n-1}\\varphi(z)\\,dz`, for any integer ``n`` (``10**70`` included);
  :func:`expected_max_crossing`, the first ``n`` at which it reaches a level (exact integer search).
* :func:`laplace_mode` -- the mode of the density of the maximum (the Laplace approximation's centre).
* :func:`duplicate_max_probability` -- the probability that the largest of ``n`` iid
  :math:`\\mathcal N(\\mu,\\sigma^2)` numbers is not unique after float32 -> bfloat16
  round-to-nearest-even, as a sum over every finite bfloat16 value, in log space;
  :func:`duplicate_max_probabilities`, the same for every ``n`` of an array at once.
* :func:`attention_duplicate_one_probability` -- the same question after ``exp(z - max)``:
  the probability that a row has two or more exact bfloat16 ones.

The sampler the post's simulations used (``jax.random.normal`` in float32, a discrete law):

* :func:`jax_normal_float32` -- JAX's own bits -> normal transform, applied to given bits;
  :func:`jax_normal_float32_outputs`, every value it can return (``2**23``, equally likely);
* :func:`duplicate_max_probability_jax` and :func:`expected_max_jax` -- the exact tie probability
  and expected maximum under that sampler (what the post's and the book's whole-row simulations
  estimate).

Monte Carlo (JAX):

* :func:`duplicate_max_mc` / :func:`attention_duplicate_one_mc` -- samplers whose cost per row does
  not grow with ``n``: the top two order statistics are drawn directly
  (:math:`\\Phi(z_{(n)}) = U^{1/n}`, :math:`\\Phi(z_{(n-1)}) = \\Phi(z_{(n)})V^{1/(n-1)}`), and the
  event is decided by XLA's own float32 -> bfloat16 cast.
* :func:`duplicate_max_bruteforce` -- the post's experiment (draw whole rows), jitted and chunked.
* :func:`row_maxima` -- the post's NumPy experiment (row maxima of whole rows), jitted and chunked.

Also :func:`max_density`, the density :math:`n\\Phi^{n-1}\\varphi` of the maximum, in float64.

Closed-form approximations: :func:`gumbel_constants`, :func:`inverse_cdf_approx`,
:func:`duplicate_max_post_approx` (the post's :math:`\\nu/128`) and
:func:`duplicate_max_gumbel_approx` (the book's binade-aware formula); the last two take an
integer or an array of integers.

The jitted kernels are plain functions (``_*_impl``) compiled by a module-level ``jax.jit(...)``
call rather than decorated: ``make mutate`` (mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
from jax import lax
from jax.scipy.special import ndtri
from jax.typing import ArrayLike
from scipy import special

from kexue_lib import numerics, validate

__all__ = [
    "BF16_ONE_THRESHOLD",
    "JAX_NORMAL_ATOMS",
    "attention_duplicate_one_mc",
    "attention_duplicate_one_probability",
    "bf16_bins",
    "duplicate_max_bruteforce",
    "duplicate_max_gumbel_approx",
    "duplicate_max_mc",
    "duplicate_max_post_approx",
    "duplicate_max_probabilities",
    "duplicate_max_probability",
    "duplicate_max_probability_jax",
    "expected_max",
    "expected_max_crossing",
    "expected_max_jax",
    "gumbel_constants",
    "inverse_cdf_approx",
    "jax_normal_float32",
    "jax_normal_float32_outputs",
    "laplace_mode",
    "max_density",
    "row_maxima",
]

#: Largest gap ``c`` with ``bf16(exp(-c)) == 1``: ``exp(-c)`` must reach the midpoint ``1 - 2**-9``
#: between 1 and the bfloat16 number below it (the tie goes to 1, whose mantissa is even).
BF16_ONE_THRESHOLD: float = -math.log1p(-(2.0**-9))

#: How many values ``jax.random.normal`` can return in float32: its uniform keeps 23 random bits.
JAX_NORMAL_ATOMS: int = 2**23

_CHUNK = 1 << 17  # rows per Monte Carlo chunk: a few MiB of float32 per array


# --------------------------------------------------------------------------- argument checks


def _check_n(n: object) -> int:
    return validate.integer("n", n, minimum=1)


def _check_normal(mu: object, sigma: object) -> tuple[float, float]:
    return validate.real("mu", mu), validate.real("sigma", sigma, positive=True)


def _integers(name: str, value: object, minimum: int) -> tuple[np.ndarray, bool]:
    """``value`` as a 1-D int64 array (and whether it was a scalar): integers ``>= minimum``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return np.array([validate.integer(name, value, minimum=minimum)], dtype=np.int64), True
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer or a non-empty 1-D array of integers, "
                         f"got {type(value).__name__}" + (f" of dtype {arr.dtype}" if arr.ndim else ""))
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {int(arr.min())}")
    return arr.astype(np.int64), False


# --------------------------------------------------------------------------- expected maximum


def _quad_points(n: int) -> list[mpmath.mpf]:
    """Breakpoints for an integral against the density of the maximum of ``n >= 2`` normals.

    ``±inf`` and five points around ``sqrt(2 log n)`` (at least 1.18), near the peak, spaced by
    the peak's width, which shrinks like ``1/sqrt(2 log n)``.
    """
    peak = mpmath.sqrt(2 * mpmath.log(n))
    return [-mpmath.inf, *(peak + k / peak for k in (-10, -3, 0, 3, 10)), mpmath.inf]


def expected_max(n: int, dps: int = 30) -> mpmath.mpf:
    """Exact :math:`\\mathbb E[\\max(z_1,\\dots,z_n)]` for iid standard normals, to ``dps`` digits.

    Tanh-sinh quadrature of :math:`\\int z\\,n\\Phi(z)^{n-1}\\varphi(z)\\,dz`, with
    :math:`\\Phi^{n-1}` evaluated as ``exp((n-1) log1p(-Q))`` (``Q`` the upper tail) so that huge
    ``n`` (any Python integer) loses nothing, and breakpoints around the peak, whose width shrinks
    like :math:`1/\\sqrt{2\\log n}`. Works at ``dps + 5`` digits; the returned ``mpf`` keeps them
    (it is not rounded to the caller's context), and its first ``dps`` digits are correct.
    ``dps`` is at most 100 (beyond about 145 digits mpmath's ``erfc`` overflows at the quadrature's
    outermost nodes).

    >>> float(expected_max(2))  # 1/sqrt(pi)
    0.5641895835477563
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=100)
    if n == 1:
        return mpmath.mpf(0)
    with mpmath.workdps(dps + 5):
        nn = mpmath.mpf(n)
        c = nn / mpmath.sqrt(2 * mpmath.pi)
        root2 = mpmath.sqrt(2)

        def integrand(z: mpmath.mpf) -> mpmath.mpf:
            q = mpmath.erfc(z / root2) / 2
            return z * c * mpmath.exp((nn - 1) * mpmath.log1p(-q) - z * z / 2)

        return mpmath.quad(integrand, _quad_points(n))


def expected_max_crossing(level: float, *, dps: int = 20) -> int:
    """The smallest ``n`` with :math:`\\mathbb E[z_{\\max}] \\ge` ``level`` (exact, over all integers).

    :math:`\\mathbb E[z_{\\max}]` increases strictly with ``n`` (one more number can only raise the
    maximum), so the answer is found by :func:`kexue_lib.numerics.first_true`. The search starts
    from the Jensen bound :math:`\\mathbb E[z_{\\max}] < \\sqrt{2\\log n}`, which rules out every
    ``n <= exp(level**2 / 2)``, and doubles until the level is reached. Each comparison uses
    :func:`expected_max` at ``dps`` digits (8 to 100) and must be decided by more than
    ``10**-(dps - 3) * max(1, level)``; a value closer to ``level`` than that raises
    ``ValueError`` (ask for more digits).
    """
    level = validate.real("level", level, positive=True)
    dps = validate.integer("dps", dps, minimum=8, maximum=100)
    margin = mpmath.mpf(10) ** (3 - dps) * max(1.0, level)

    def reaches(n: int) -> bool:
        gap = expected_max(n, dps=dps) - mpmath.mpf(level)
        if abs(gap) <= margin:
            raise ValueError(f"E[z_max] at n = {n} is within {float(margin):.1e} of {level}: "
                             f"dps = {dps} cannot decide the comparison")
        return bool(gap > 0)

    lo = max(1, math.floor(math.exp(min(level * level / 2, 700.0))))  # E[z_max](lo) < level
    hi = 2 * lo
    while not reaches(hi):
        lo, hi = hi, 2 * hi
    return numerics.first_true(reaches, lo, hi)


def laplace_mode(n: int, dps: int = 30) -> mpmath.mpf:
    """The mode :math:`z_*` of the density :math:`n\\Phi^{n-1}\\varphi` of the maximum.

    The root of the stationarity equation :math:`(n-1)\\varphi(z) = z\\,\\Phi(z)`; for ``n >= 2`` the
    left side minus the right is strictly decreasing, so the root is unique and lies in
    ``(0.001, sqrt(2 log n) + 1)``, where mpmath's Illinois method (a bracketing regula falsi) finds
    it on the logarithm of both sides, at ``dps + 5`` digits. ``n = 1``: 0.
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=200)
    if n == 1:
        return mpmath.mpf(0)
    with mpmath.workdps(dps + 5):
        def h(z: mpmath.mpf) -> mpmath.mpf:  # log of the two sides: smooth and decreasing in z
            return mpmath.log(n - 1) + mpmath.log(mpmath.npdf(z)) - mpmath.log(z * mpmath.ncdf(z))

        bracket = (mpmath.mpf("1e-3"), mpmath.sqrt(2 * mpmath.log(n)) + 1)
        return mpmath.findroot(h, bracket, solver="illinois")


def gumbel_constants(n: int) -> tuple[float, float]:
    """The classical normalising constants :math:`(a_n, b_n)` of the normal maximum.

    :math:`(z_{\\max} - a_n)/b_n` tends to the standard Gumbel law with
    :math:`b_n = 1/\\sqrt{2\\log n}` and
    :math:`a_n = \\sqrt{2\\log n} - (\\log\\log n + \\log 4\\pi)/(2\\sqrt{2\\log n})`
    (Embrechts, Klüppelberg & Mikosch 1997, Example 3.3.29), so
    :math:`\\mathbb E[z_{\\max}] \\approx a_n + \\gamma b_n`. Needs ``n >= 2``.
    """
    n = validate.integer("n", n, minimum=2)
    root = math.sqrt(2 * math.log(n))
    return root - (math.log(math.log(n)) + math.log(4 * math.pi)) / (2 * root), 1 / root


def inverse_cdf_approx(n: int) -> float:
    """The post's inverse-CDF estimate :math:`\\Phi^{-1}(n/(n+1))` of :math:`\\mathbb E[z_{\\max}]`.

    Evaluated as ``-ndtri(1/(n+1))`` so that it stays accurate for ``n`` far beyond ``2**53``.
    """
    n = _check_n(n)
    return float(-special.ndtri(1.0 / (n + 1.0)))


# --------------------------------------------------------------------------- bfloat16 bins


def bf16_bins() -> tuple[np.ndarray, np.ndarray]:
    """Every finite bfloat16 value and the real interval that float32 -> bfloat16 maps onto it.

    Returns ``(values, edges)``: ``values`` (length ``K``, ascending, ``+0`` and ``-0`` merged) and
    ``edges`` (length ``K + 1``, ``-inf`` first and ``+inf`` last): a real number in
    ``(edges[k], edges[k + 1])`` becomes ``values[k]`` after rounding to float32 and then to
    bfloat16, both round-to-nearest-even. The double rounding moves each edge off the midpoint
    of the two bfloat16 neighbours by half a float32 ulp, towards the odd neighbour: the
    midpoint itself is a float32 number and its tie goes to the even neighbour. (Which side an
    edge itself goes to does not matter for a continuous distribution.)
    """
    bits = np.arange(0x7F80, dtype=np.uint32)  # +0 ... largest finite; 0x7F80 is +inf
    positive = (bits << 16).view(np.float32).astype(np.float64)
    mid = (positive[:-1] + positive[1:]) / 2  # exact in float32: 8 significant bits + 1
    half_ulp = np.spacing(mid.astype(np.float32)).astype(np.float64) / 2
    lower_is_even = (bits[:-1] & 1) == 0
    upper_edges = np.where(lower_is_even, mid + half_ulp, mid - half_ulp)  # between k and k+1
    values = np.concatenate([-positive[:0:-1], positive])
    edges = np.concatenate([[-np.inf], -upper_edges[::-1], upper_edges, [np.inf]])
    return values, edges


_BINS: tuple[np.ndarray, np.ndarray] | None = None


def _bins(mu: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The bins of positive mass under N(mu, sigma**2): ``log Phi(lower edge)`` and ``log mass``.

    The lowest bin (lower edge ``-inf``) is left out: it holds the maximum of ``n >= 2`` numbers
    only if all of them are in it, and its mass (the normal tail below about ``-3.4e38``) is 0
    in float64 unless ``sigma`` is near ``1e37``. Cached for the standard normal.
    """
    global _BINS
    standard = mu == 0.0 and sigma == 1.0
    if standard and _BINS is not None:
        return _BINS
    _, edges = bf16_bins()
    lo, hi = (edges[:-1] - mu) / sigma, (edges[1:] - mu) / sigma
    # the mass of each bin as a difference of the smaller tail: no cancellation
    mass = np.where(hi <= 0, special.ndtr(hi) - special.ndtr(lo), special.ndtr(-lo) - special.ndtr(-hi))
    keep = (mass > 0) & np.isfinite(lo)
    bins = (special.log_ndtr(lo[keep]), np.log(mass[keep]))
    if standard:
        _BINS = bins
    return bins


def _log_excess(n: int, log_r: np.ndarray) -> np.ndarray:
    """``log((1+r)**n - 1 - n*r)`` for ``r = exp(log_r) >= 0``, accurate for tiny and huge ``n*r``."""
    out = np.empty_like(log_r)
    nr_log = math.log(n) + log_r
    small = nr_log < math.log(0.1)
    # small n*r: the binomial series sum_{j>=2} C(n, j) r**j, ratio of terms <= n*r/3 < 0.034
    r = np.exp(log_r[small])
    term = 0.5 * n * (n - 1) * r * r
    total = term.copy()
    for j in range(3, 20):
        term = term * (n - j + 1) / j * r
        total += term
    with np.errstate(divide="ignore"):  # r = 0 (a bin of zero mass) gives log 0 = -inf: term 0
        out[small] = np.log(total)
    big = ~small
    s = n * np.log1p(np.exp(log_r[big]))
    moderate = s < 50
    values = np.empty_like(s)
    values[moderate] = np.log(np.expm1(s[moderate]) - np.exp(nr_log[big][moderate]))
    # huge s: (1+r)**n dwarfs 1 + n*r, log g = s + log1p(-(1 + n*r) * exp(-s))
    s_huge, log_1p_nr = s[~moderate], np.logaddexp(0.0, nr_log[big][~moderate])
    values[~moderate] = s_huge + np.log1p(-np.exp(log_1p_nr - s_huge))
    out[big] = values
    return out


def _tie_sum(n: int, log_cdf_lo: np.ndarray, log_mass: np.ndarray) -> float:
    """``sum_k L_k**n [(1 + r_k)**n - 1 - n r_k]``, ``r_k = mass_k / L_k``, every term in log space."""
    return float(np.sum(np.exp(n * log_cdf_lo + _log_excess(n, log_mass - log_cdf_lo))))


def duplicate_max_probability(n: int, *, mu: float = 0.0, sigma: float = 1.0) -> float:
    """Exact P(the maximum of ``n`` iid N(mu, sigma**2) is not unique after float32 -> bfloat16).

    Rounding is monotone, so the maximum is duplicated iff at least two of the ``n`` numbers fall
    in the bin of the largest. Summing over the bins ``k`` (edges ``lo < hi``, :func:`bf16_bins`,
    standardised by ``mu`` and ``sigma``),

    .. math:: P = \\sum_k \\Phi(lo)^n \\left[(1+r_k)^n - 1 - n r_k\\right],\\qquad
              r_k = \\frac{\\Phi(hi) - \\Phi(lo)}{\\Phi(lo)},

    every term positive, evaluated in log space (``log_ndtr``, a binomial series for small
    ``n r_k``), so nothing cancels or underflows (``n = 2**20`` takes milliseconds). The bfloat16
    grid is not invariant under scaling by other than powers of two, nor under shifts, so the
    answer depends on ``mu`` and ``sigma``; the defaults are the standard normal.
    """
    n = _check_n(n)
    mu, sigma = _check_normal(mu, sigma)
    if n == 1:
        return 0.0
    return _tie_sum(n, *_bins(mu, sigma))


def duplicate_max_probabilities(n: ArrayLike, *, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """:func:`duplicate_max_probability` for every entry of an increasing integer array ``n``.

    Vectorised through the complement: the maximum is unique iff exactly one number is in its
    bin and the rest are below, so :math:`P = 1 - n\\sum_k m_k\\,\\Phi(lo_k)^{n-1}` (``m_k`` the
    bins' masses). The sum runs over the bins whose term can exceed ``1e-22`` for some ``n`` of a
    block of nearby ``n`` (the rest add less than ``1e-17``), so all of ``n = 2 .. 2**20`` takes
    about a second. The complement costs relative precision where ``P`` is tiny: the absolute
    error is below ``1e-14``, so for ``P`` much below ``1e-6`` use
    :func:`duplicate_max_probability`. Returns float64 values, 0 for ``n = 1``.
    """
    ns, _ = _integers("n", n, minimum=1)
    if np.any(np.diff(ns) <= 0):
        raise ValueError("n must be strictly increasing")
    mu, sigma = _check_normal(mu, sigma)
    log_cdf_lo, log_mass = _bins(mu, sigma)
    out = np.zeros(ns.size)
    s = int(np.searchsorted(ns, 2))
    while s < ns.size:
        n0 = int(ns[s])
        # a block of nearby n: at most 4096 of them, none beyond 2 n0 (so the bins kept are few)
        e = min(ns.size, s + min(max(16, n0 // 2), 4096), int(np.searchsorted(ns, 2 * n0 + 16)))
        block = ns[s:e]
        keep = (n0 - 1) * log_cdf_lo + log_mass + math.log(block[-1]) > math.log(1e-22)
        log_terms = (np.log(block)[:, None] + log_mass[keep][None, :]
                     + (block[:, None] - 1) * log_cdf_lo[keep][None, :])
        out[s:e] = 1.0 - np.sum(np.exp(log_terms), axis=1)
        s = e
    return out


def attention_duplicate_one_probability(n: int, dps: int = 20, *, sigma: float = 1.0) -> float:
    """Exact P(a row of ``exp(z - max z)`` cast to bfloat16 holds two or more exact ones).

    ``bf16(exp(z_i - m)) == 1`` iff ``m - z_i <= c`` with ``c =`` :data:`BF16_ONE_THRESHOLD`
    (real arithmetic; float32 rounding of ``exp`` moves ``c`` by ~1e-7 relative). So the event is
    "the top two order statistics are closer than ``c``"; for logits ``N(mu, sigma**2)`` the mean
    cancels and the gap of the standard normals must be below ``c / sigma``:

    .. math:: P = \\int n\\varphi(m)\\left[\\Phi(m)^{n-1} - \\Phi(m-c/\\sigma)^{n-1}\\right] dm,

    by mpmath quadrature at ``dps`` digits.
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=100)
    sigma = validate.real("sigma", sigma, positive=True)
    if n == 1:
        return 0.0
    with mpmath.workdps(dps + 5):
        c = mpmath.mpf(BF16_ONE_THRESHOLD) / mpmath.mpf(sigma)
        nn = mpmath.mpf(n)
        root2 = mpmath.sqrt(2)

        def log_cdf(z: mpmath.mpf) -> mpmath.mpf:
            return mpmath.log1p(-mpmath.erfc(z / root2) / 2)

        def integrand(m: mpmath.mpf) -> mpmath.mpf:
            a = (nn - 1) * log_cdf(m)
            if not mpmath.isfinite(a):  # far left tail: Phi(m) = 0 at this precision, so is Phi(m - c)
                return mpmath.mpf(0)
            return nn * mpmath.npdf(m) * mpmath.exp(a) * -mpmath.expm1((nn - 1) * log_cdf(m - c) - a)

        return float(mpmath.quad(integrand, _quad_points(n)))


# --------------------------------------------------------------------------- JAX's float32 sampler

_SQRT2_F32 = np.float32(np.sqrt(2))
_UNIFORM_LO = np.nextafter(np.float32(-1), np.float32(0))  # jax.random.normal's minval


def _jax_normal_float32_impl(bits: jax.Array) -> jax.Array:
    # jax._src.random: _uniform keeps the top 23 bits as the mantissa of a float in [1, 2), minus 1,
    # scaled to [lo, 1) and clipped below at lo; _normal_real returns sqrt(2) * erf_inv of it.
    mantissa = lax.shift_right_logical(bits, jnp.uint32(9)) | jnp.uint32(0x3F800000)
    floats = lax.bitcast_convert_type(mantissa, jnp.float32) - jnp.float32(1)
    scale = np.float32(1) - _UNIFORM_LO  # 2 - 2**-24 rounds to 2 in float32
    u = lax.max(jnp.float32(_UNIFORM_LO), floats * scale + _UNIFORM_LO)
    return _SQRT2_F32 * lax.erf_inv(u)


_jax_normal_float32 = jax.jit(_jax_normal_float32_impl)


def jax_normal_float32(bits: ArrayLike) -> jax.Array:
    """JAX's float32 normal sampler applied to given raw bits: ``jax.random.normal`` without the key.

    ``jax.random.normal(key, shape, jnp.float32)`` draws 32 random bits per number, keeps the top
    23 as a uniform on ``[-1 + 2**-24, 1)`` and returns ``sqrt(2) * erf_inv(u)`` in float32; this
    function does the same to ``bits`` (uint32), so
    ``jax_normal_float32(jax.random.bits(key, shape)) == jax.random.normal(key, shape, jnp.float32)``
    exactly (the unit tests check it on this JAX). The low 9 bits are ignored: the sampler has
    :data:`JAX_NORMAL_ATOMS` possible outputs.
    """
    x = jnp.asarray(bits)
    if x.dtype != jnp.uint32:
        raise ValueError(f"bits must be a uint32 array, got dtype {x.dtype}")
    return _jax_normal_float32(x)


_JAX_OUTPUTS: np.ndarray | None = None
_JAX_BINS: tuple[np.ndarray, np.ndarray] | None = None


def jax_normal_float32_outputs() -> np.ndarray:
    """Every value ``jax.random.normal`` can return in float32, ascending, each with probability 2**-23.

    :func:`jax_normal_float32` of the :data:`JAX_NORMAL_ATOMS` bit patterns ``j << 9``, sorted (the
    map is increasing in ``j`` on this JAX, which the unit tests check). The largest is about 5.22
    and the smallest about -5.42: the sampler never exceeds them. Cached (32 MiB); a read-only
    float32 array.
    """
    global _JAX_OUTPUTS
    if _JAX_OUTPUTS is None:
        bits = jnp.arange(JAX_NORMAL_ATOMS, dtype=jnp.uint32) << 9
        outputs = np.sort(np.asarray(_jax_normal_float32(bits)))
        outputs.flags.writeable = False
        _JAX_OUTPUTS = outputs
    return _JAX_OUTPUTS


def _jax_bins() -> tuple[np.ndarray, np.ndarray]:
    """The sampler's law on the bfloat16 values: counts (of 2**23) per value and counts below it."""
    global _JAX_BINS
    if _JAX_BINS is None:
        cast = jnp.asarray(jax_normal_float32_outputs()).astype(jnp.bfloat16).astype(jnp.float32)
        cast = np.asarray(cast)  # ascending: a new value starts wherever it changes (-0 == +0)
        starts = np.concatenate([[0], np.flatnonzero(cast[1:] != cast[:-1]) + 1])
        _JAX_BINS = (np.diff(np.append(starts, cast.size)), starts)  # the count below is where it starts
    return _JAX_BINS


def duplicate_max_probability_jax(n: int) -> float:
    """Exact P(duplicated maximum) for ``n`` draws of ``jax.random.normal`` (float32) cast to bfloat16.

    The law the post's simulations (and :func:`duplicate_max_bruteforce`) actually sample: each
    number is one of :data:`JAX_NORMAL_ATOMS` equally likely float32 values
    (:func:`jax_normal_float32_outputs`). Counting them per bfloat16 value gives exact bin masses
    ``m_k`` and lower cumulative masses ``L_k``, and the formula of
    :func:`duplicate_max_probability` applies unchanged to this discrete law (the lowest bin,
    ``L = 0``, adds ``m**n``). It differs from the continuous answer because the sampler is
    bounded (about 5.22) and its values near the top are sparser than the bfloat16 grid.
    """
    n = _check_n(n)
    if n == 1:
        return 0.0
    counts, below = _jax_bins()
    log_mass = np.log(counts / JAX_NORMAL_ATOMS)
    inner = below > 0
    lowest = float(np.exp(n * log_mass[~inner]).sum())
    return lowest + _tie_sum(n, np.log(below[inner] / JAX_NORMAL_ATOMS), log_mass[inner])


def expected_max_jax(n: int) -> float:
    """Exact expected maximum of ``n`` draws of ``jax.random.normal`` in float32 (float64 sum).

    With the sorted outputs ``v_j`` (:func:`jax_normal_float32_outputs`) and ``F_j = (j+1)/2**23``,
    :math:`\\mathbb E = \\sum_j v_j (F_j^n - F_{j-1}^n)`, each difference evaluated as
    ``F_j**n * -expm1(n log(j/(j+1)))`` so that nothing cancels; atoms with ``F_j**n`` below
    ``exp(-800)`` (0 in float64) are skipped. What :func:`row_maxima` estimates.
    """
    n = _check_n(n)
    first = max(1, math.floor(JAX_NORMAL_ATOMS * math.exp(-800.0 / n)))  # F_j**n < e**-800 below
    v = jax_normal_float32_outputs()[first - 1:].astype(np.float64)
    j = np.arange(first, JAX_NORMAL_ATOMS + 1)  # j + 1 in the formula
    with np.errstate(divide="ignore"):  # j = 1: log1p(-1) = -inf, the lowest atom's weight F_0**n
        step = -np.expm1(n * np.log1p(-1.0 / j))
    return float(np.sum(v * np.exp(n * np.log(j / JAX_NORMAL_ATOMS)) * step))


# --------------------------------------------------------------------------- approximations


def duplicate_max_post_approx(n: ArrayLike, *, prose: bool = False) -> float | np.ndarray:
    """The post's estimate :math:`\\nu/128` with :math:`\\nu = \\sqrt{2\\log(n/\\sqrt{2\\pi})}`.

    The post's code uses ``n`` (the default); its prose uses ``n - 1`` (``prose=True``). Needs
    ``n >= 3`` (``n >= 4`` with ``prose``) for a real ``nu``. ``n`` is an integer (returns a
    float) or a 1-D integer array (returns an array).
    """
    ns, scalar = _integers("n", n, minimum=4 if prose else 3)
    value = np.sqrt(2 * np.log((ns - int(bool(prose))) / math.sqrt(2 * math.pi))) / 128
    return float(value[0]) if scalar else value


def duplicate_max_gumbel_approx(n: ArrayLike) -> float | np.ndarray:
    r"""The book's closed form for the bfloat16 duplicate-maximum probability (``n >= 2``).

    Given the maximum ``m`` in binade :math:`[2^e, 2^{e+1})`, the runner-up duplicates it iff it
    falls in :math:`[lo(m), m]`, whose length :math:`\delta` is close to uniform on
    :math:`(0, w)`, :math:`w = 2^{e-7}` (one bfloat16 ulp), while the other points near ``m``
    arrive at rate :math:`\lambda = (n-1)\varphi(m)/\Phi(m)`. So
    :math:`P(\text{dup}\mid m) \approx \lambda w/2 - (\lambda w)^2/6`. In the Gumbel limit,
    :math:`x = (m-a_n)/b_n`, :math:`y = e^{-x}`, the maximum has density
    :math:`y e^{-y}` in ``x`` and :math:`\lambda \approx y/b_n`; both terms integrate in closed form
    over each binade:

    .. math:: P \approx \sum_e \Big[\frac{w_e}{2b_n}(1+y)e^{-y}
              - \frac{w_e^2}{6b_n^2}(y^2+2y+2)e^{-y}\Big]_{y=y(2^{e})}^{y=y(2^{e+1})},
              \qquad y(m) = e^{-(m-a_n)/b_n},

    with :math:`a_n = \Phi^{-1}(1-1/n)` and :math:`b_n = 1/(n\varphi(a_n))`. ``n`` is an integer
    (returns a float) or a 1-D integer array (returns an array).
    """
    ns, scalar = _integers("n", n, minimum=2)
    nf = np.asarray(ns, dtype=np.float64)
    a = -special.ndtri(1.0 / nf)
    b = 1.0 / (nf * np.exp(-a * a / 2) / math.sqrt(2 * math.pi))

    def first(y: np.ndarray) -> np.ndarray:
        return (1 + y) * np.exp(-y)

    def second(y: np.ndarray) -> np.ndarray:
        return (y * y + 2 * y + 2) * np.exp(-y)

    total = np.zeros_like(nf)
    for e in range(-12, 6):  # binades [2**e, 2**(e+1)) from 2**-12 to 64 cover every n >= 2
        w = 2.0 ** (e - 7)
        # y beyond 800 contributes exp(-800) = 0 to both terms: clip it there (no inf * 0)
        y_lo, y_hi = (np.exp(np.minimum(-(2.0**k - a) / b, math.log(800.0))) for k in (e, e + 1))
        total += w / (2 * b) * (first(y_hi) - first(y_lo))
        total -= w * w / (6 * b * b) * (second(y_hi) - second(y_lo))
    return float(total[0]) if scalar else total


# --------------------------------------------------------------------------- Monte Carlo


def _top_two(key: jax.Array, n: jax.Array, rows: int) -> tuple[jax.Array, jax.Array]:
    """The two largest of ``n`` iid N(0,1), ``rows`` times, in float32, at a cost independent of n.

    :math:`\\Phi(z_{(n)}) = U^{1/n}`; given it, the other ``n - 1`` are iid N(0,1) conditioned
    below :math:`z_{(n)}`, so :math:`\\Phi(z_{(n-1)}) = \\Phi(z_{(n)})V^{1/(n-1)}`. Both are
    inverted through the smaller tail (``-ndtri(Q)`` for ``Q < 1/2``) to keep full relative
    precision where the maximum lives.
    """
    ku, kv = jax.random.split(key)
    tiny = jnp.finfo(jnp.float32).tiny  # U and V in [tiny, 1): their logarithms are finite
    u = jax.random.uniform(ku, (rows,), jnp.float32, minval=tiny)
    v = jax.random.uniform(kv, (rows,), jnp.float32, minval=tiny)

    def invert(log_cdf: jax.Array) -> jax.Array:
        tail = -jnp.expm1(log_cdf)
        return jnp.where(tail < 0.5, -ndtri(tail), ndtri(jnp.exp(log_cdf)))

    log_cdf_1 = jnp.log(u) / n
    log_cdf_2 = log_cdf_1 + jnp.log(v) / (n - 1)
    return invert(log_cdf_1), invert(log_cdf_2)


def _count_top_two_impl(
    key: jax.Array, n: jax.Array, rows: jax.Array, chunks: jax.Array, sigma: jax.Array,
    mu: jax.Array | None,
) -> jax.Array:
    def body(i: jax.Array, count: jax.Array) -> jax.Array:
        z1, z2 = _top_two(jax.random.fold_in(key, i), n, _CHUNK)
        if mu is None:  # attention: exp(x - max) cast to bfloat16, is the runner-up an exact 1?
            hit = jnp.exp(sigma * (z2 - z1)).astype(jnp.bfloat16) == jnp.bfloat16(1)
        else:  # the logits mu + sigma z themselves cast to bfloat16
            hit = (mu + sigma * z1).astype(jnp.bfloat16) == (mu + sigma * z2).astype(jnp.bfloat16)
        valid = i * _CHUNK + jnp.arange(_CHUNK) < rows
        return count + jnp.sum(hit & valid, dtype=jnp.int32)

    return jax.lax.fori_loop(0, chunks, body, jnp.int32(0))


_count_top_two = jax.jit(_count_top_two_impl)


def _mc(key: object, n: object, rows: object, sigma: object, mu: object | None) -> tuple[float, float]:
    """Both samplers: the logits' bfloat16 cast, or with ``mu=None`` the attention event."""
    key = validate.prng_key("key", key)
    n = _check_n(n)
    rows = validate.integer("rows", rows, minimum=1, maximum=2**31 - 1)
    sigma = validate.real("sigma", sigma, positive=True)
    if mu is not None:
        mu = jnp.float32(validate.real("mu", mu))
    if n == 1:
        return 0.0, 0.0
    chunks = -(-rows // _CHUNK)
    count = int(_count_top_two(key, jnp.float32(n), jnp.int32(rows), jnp.int32(chunks),
                               jnp.float32(sigma), mu))
    p = count / rows
    return p, math.sqrt(p * (1 - p) / rows)


def duplicate_max_mc(
    key: jax.Array, n: int, rows: int, *, mu: float = 0.0, sigma: float = 1.0
) -> tuple[float, float]:
    """Monte Carlo of :func:`duplicate_max_probability`: ``(estimate, standard error)``.

    Each row draws only its top two order statistics (:func:`_top_two`, cost independent of
    ``n``), maps them to ``mu + sigma * z`` in float32, and asks XLA's float32 -> bfloat16 cast
    whether they land on the same value, which is exactly when the row's maximum is duplicated
    (rounding is monotone). The standard error is the binomial
    :math:`\\sqrt{\\hat p(1-\\hat p)/\\text{rows}}`.
    """
    return _mc(key, n, rows, sigma, mu)


def attention_duplicate_one_mc(
    key: jax.Array, n: int, rows: int, *, sigma: float = 1.0
) -> tuple[float, float]:
    """Monte Carlo of :func:`attention_duplicate_one_probability`: ``(estimate, standard error)``.

    As :func:`duplicate_max_mc`, but the event is ``bf16(exp(sigma (z_(n-1) - z_(n)))) == 1``: the
    row, shifted by its maximum and exponentiated in float32, has at least two exact bfloat16 ones
    (the mean of the logits cancels in the shift).
    """
    return _mc(key, n, rows, sigma, None)


def _bruteforce_impl(key: jax.Array, n: int, chunk_rows: int, chunks: int, attention: bool) -> jax.Array:
    def body(i: jax.Array, count: jax.Array) -> jax.Array:
        z = jax.random.normal(jax.random.fold_in(key, i), (chunk_rows, n), jnp.float32)
        if attention:
            x = jnp.exp(z - z.max(axis=1, keepdims=True)).astype(jnp.bfloat16)
        else:
            x = z.astype(jnp.bfloat16)
        ties = jnp.sum(x == x.max(axis=1, keepdims=True), axis=1)
        return count + jnp.sum(ties > 1, dtype=jnp.int32)

    return jax.lax.fori_loop(0, chunks, body, jnp.int32(0))


_bruteforce = jax.jit(_bruteforce_impl, static_argnames=("n", "chunk_rows", "chunks", "attention"))


def duplicate_max_bruteforce(
    key: jax.Array, n: int, rows: int, *, chunk_rows: int = 1000, attention: bool = False
) -> tuple[float, float]:
    """The post's experiment, jitted: draw ``rows`` full rows of ``n`` float32 normals.

    Cast each row to bfloat16 (or, with ``attention``, take ``exp(z - max z)`` first) and count
    the rows whose maximum occurs more than once. ``rows`` is rounded up to a multiple of
    ``chunk_rows``; returns ``(estimate, standard error)`` over the rows actually drawn. Cost
    grows like ``n * rows``. Like the post's code it draws with ``jax.random.normal`` in float32,
    a discrete law: without ``attention`` its expectation is :func:`duplicate_max_probability_jax`,
    which exceeds the continuous :func:`duplicate_max_probability` by a relative 5e-6 at
    ``n = 128``, 2e-4 at 4096 and 6e-3 at 65536 (the chapter tabulates it).
    """
    key = validate.prng_key("key", key)
    n = _check_n(n)
    rows = validate.integer("rows", rows, minimum=1)
    chunk_rows = validate.integer("chunk_rows", chunk_rows, minimum=1)
    chunks = -(-rows // chunk_rows)
    count = int(_bruteforce(key, n, chunk_rows, chunks, bool(attention)))
    total = chunks * chunk_rows
    p = count / total
    return p, math.sqrt(p * (1 - p) / total)


def _row_maxima_impl(key: jax.Array, n: int, chunk_rows: int, chunks: int, dtype: jnp.dtype) -> jax.Array:
    def one(i: jax.Array) -> jax.Array:
        return jax.random.normal(jax.random.fold_in(key, i), (chunk_rows, n), dtype).max(axis=1)

    return jax.lax.map(one, jnp.arange(chunks)).reshape(-1)


_row_maxima = jax.jit(_row_maxima_impl, static_argnames=("n", "chunk_rows", "chunks", "dtype"))


def row_maxima(
    key: jax.Array, n: int, rows: int, *, chunk_rows: int = 500, dtype: str = "float32"
) -> jax.Array:
    """The post's NumPy experiment in JAX: the maxima of ``rows`` rows of ``n`` iid N(0,1).

    Rows are drawn ``chunk_rows`` at a time (``rows`` must be a multiple of it) under
    ``jax.lax.map``, so memory stays at ``chunk_rows * n`` numbers. ``dtype`` is ``"float32"``
    or ``"float64"`` (the latter needs ``jax_enable_x64``). In float32 the draws come from a
    discrete law whose exact expected maximum is :func:`expected_max_jax`.
    """
    key = validate.prng_key("key", key)
    n = _check_n(n)
    rows = validate.integer("rows", rows, minimum=1)
    chunk_rows = validate.integer("chunk_rows", chunk_rows, minimum=1)
    chunks, extra = divmod(rows, chunk_rows)
    if extra:
        raise ValueError(f"rows must be a multiple of chunk_rows={chunk_rows}, got {rows}")
    validate.choice("dtype", dtype, ("float32", "float64"))
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("dtype 'float64' needs jax.config.update('jax_enable_x64', True)")
    return _row_maxima(key, n, chunk_rows, chunks, jnp.dtype(dtype))


def max_density(z: ArrayLike, n: int) -> np.ndarray:
    """The density :math:`n\\Phi(z)^{n-1}\\varphi(z)` of the maximum of ``n`` iid N(0,1), in float64.

    Evaluated as ``exp(log n + (n-1) log_ndtr(z) + log phi(z))`` so that no power underflows
    before the product does.
    """
    n = _check_n(n)
    validate.array("z", z)  # finite entries of a floating dtype
    x = np.asarray(z, dtype=np.float64)  # z itself: validate.array may hold it in float32
    return np.exp(math.log(n) + (n - 1) * special.log_ndtr(x) - x * x / 2 - 0.5 * math.log(2 * math.pi))
