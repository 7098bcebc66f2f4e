"""The maximum of n standard normals, and duplicate maxima after rounding to bfloat16.

Companion module of the chapter ``book/gaussian-max.md`` (Su Jianlin, kexue.fm/archives/11390).

Exact values:

* :func:`expected_max` -- :math:`\\mathbb E[z_{\\max}]` by mpmath quadrature of
  :math:`\\int z\\,n\\Phi(z)^{n-1}\\varphi(z)\\,dz`, for any integer ``n`` (``10**70`` included).
* :func:`laplace_mode` -- the mode of the density of the maximum (the Laplace approximation's centre).
* :func:`duplicate_max_probability` -- the probability that the largest of ``n`` iid
  :math:`\\mathcal N(0,1)` numbers is not unique after float32 -> bfloat16 round-to-nearest-even,
  as a sum over every finite bfloat16 value, in log space.
* :func:`attention_duplicate_one_probability` -- the same question after ``exp(z - max)``:
  the probability that a row has two or more exact bfloat16 ones.

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
:func:`duplicate_max_gumbel_approx` (the book's binade-aware formula).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
from jax.scipy.special import ndtri
from scipy import special

from kexue_lib import validate

__all__ = [
    "BF16_ONE_THRESHOLD",
    "attention_duplicate_one_mc",
    "attention_duplicate_one_probability",
    "bf16_bins",
    "duplicate_max_bruteforce",
    "duplicate_max_gumbel_approx",
    "duplicate_max_mc",
    "duplicate_max_post_approx",
    "duplicate_max_probability",
    "expected_max",
    "gumbel_constants",
    "inverse_cdf_approx",
    "laplace_mode",
    "max_density",
    "row_maxima",
]

#: Largest gap ``c`` with ``bf16(exp(-c)) == 1``: ``exp(-c)`` must reach the midpoint ``1 - 2**-9``
#: between 1 and the bfloat16 number below it (the tie goes to 1, whose mantissa is even).
BF16_ONE_THRESHOLD: float = -math.log1p(-(2.0**-9))

_CHUNK = 1 << 17  # rows per Monte Carlo chunk: a few MiB of float32 per array


# --------------------------------------------------------------------------- expected maximum


def _check_n(n: object) -> int:
    return validate.integer("n", n, minimum=1)


def _max_location(n: int) -> mpmath.mpf:
    """A point near the peak of the density of the maximum (``sqrt(2 log n)``, 0 for n = 1)."""
    return mpmath.sqrt(2 * mpmath.log(n)) if n > 1 else mpmath.mpf(0)


def expected_max(n: int, dps: int = 30) -> mpmath.mpf:
    """Exact :math:`\\mathbb E[\\max(z_1,\\dots,z_n)]` for iid standard normals, to ``dps`` digits.

    Tanh-sinh quadrature of :math:`\\int z\\,n\\Phi(z)^{n-1}\\varphi(z)\\,dz`, with
    :math:`\\Phi^{n-1}` evaluated as ``exp((n-1) log1p(-Q))`` (``Q`` the upper tail) so that huge
    ``n`` (any Python integer) loses nothing, and breakpoints around the peak, whose width shrinks
    like :math:`1/\\sqrt{2\\log n}`. Works at ``dps + 5`` digits; the returned ``mpf`` keeps them
    (it is not rounded to the caller's context), and its first ``dps`` digits are correct.

    >>> float(expected_max(2))  # 1/sqrt(pi)
    0.5641895835477563
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=200)
    if n == 1:
        return mpmath.mpf(0)
    with mpmath.workdps(dps + 5):
        nn = mpmath.mpf(n)
        c = nn / mpmath.sqrt(2 * mpmath.pi)
        root2 = mpmath.sqrt(2)

        def integrand(z: mpmath.mpf) -> mpmath.mpf:
            q = mpmath.erfc(z / root2) / 2
            return z * c * mpmath.exp((nn - 1) * mpmath.log1p(-q) - z * z / 2)

        peak = _max_location(n)
        width = 1 / max(peak, mpmath.mpf(1))
        points = [-mpmath.inf, *(peak + k * width for k in (-10, -3, 0, 3, 10)), mpmath.inf]
        return mpmath.quad(integrand, points)


def laplace_mode(n: int, dps: int = 30) -> mpmath.mpf:
    """The mode :math:`z_*` of the density :math:`n\\Phi^{n-1}\\varphi` of the maximum.

    The root of the stationarity equation :math:`(n-1)\\varphi(z) = z\\,\\Phi(z)`; for ``n >= 2`` the
    left side minus the right is strictly decreasing, so the root is unique and lies in
    ``(0.001, sqrt(2 log n) + 1)``, where bisection on the logarithm of both sides, then the secant
    method, find it. ``n = 1``: 0.
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=200)
    if n == 1:
        return mpmath.mpf(0)
    with mpmath.workdps(dps + 5):
        def h(z: mpmath.mpf) -> mpmath.mpf:  # log of the two sides: smooth and decreasing in z
            return mpmath.log(n - 1) + mpmath.log(mpmath.npdf(z)) - mpmath.log(z * mpmath.ncdf(z))

        lo, hi = mpmath.mpf("1e-3"), _max_location(n) + 1
        for _ in range(30):  # bisection to ~1e-9, then the secant method polishes to dps digits
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if h(mid) > 0 else (lo, mid)
        return mpmath.findroot(h, (lo, hi), solver="secant")


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
    bits = np.arange(0, 0x7F80, dtype=np.uint32)  # +0 ... largest finite; 0x7F80 is +inf
    positive = (bits << 16).view(np.float32).astype(np.float64)
    mid = (positive[:-1] + positive[1:]) / 2  # exact in float32: 8 significant bits + 1
    half_ulp = np.spacing(mid.astype(np.float32)).astype(np.float64) / 2
    lower_is_even = (bits[:-1] & 1) == 0
    upper_edges = np.where(lower_is_even, mid + half_ulp, mid - half_ulp)  # between k and k+1
    values = np.concatenate([-positive[:0:-1], positive])
    edges = np.concatenate([[-np.inf], -upper_edges[::-1], upper_edges, [np.inf]])
    return values, edges


_BINS: tuple[np.ndarray, np.ndarray] | None = None


def _bins() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the bins with positive mass: lower edge, log Phi(lower), log of the mass."""
    global _BINS
    if _BINS is None:
        _, edges = bf16_bins()
        lo, hi = edges[:-1], edges[1:]
        with np.errstate(divide="ignore"):
            # the mass of each bin as a difference of the smaller tail: no cancellation
            mass = np.where(hi <= 0, special.ndtr(hi) - special.ndtr(lo),
                            special.ndtr(-lo) - special.ndtr(-hi))
            keep = (mass > 0) & np.isfinite(lo)  # the lowest bin (lo = -inf) has mass 0 anyway
            _BINS = (lo[keep], special.log_ndtr(lo[keep]), np.log(mass[keep]))
    lo, log_cdf_lo, log_mass = _BINS
    return lo, log_cdf_lo, log_mass, log_mass - log_cdf_lo


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


def duplicate_max_probability(n: int) -> float:
    """Exact P(the maximum of ``n`` iid N(0,1) is not unique after float32 -> bfloat16 rounding).

    Rounding is monotone, so the maximum is duplicated iff at least two of the ``n`` numbers fall
    in the bin of the largest. Summing over the bins ``k`` (edges ``lo < hi``, :func:`bf16_bins`),

    .. math:: P = \\sum_k \\Phi(lo)^n \\left[(1+r_k)^n - 1 - n r_k\\right],\\qquad
              r_k = \\frac{\\Phi(hi) - \\Phi(lo)}{\\Phi(lo)},

    every term positive, evaluated in log space (``log_ndtr``, a binomial series for small
    ``n r_k``), so nothing cancels or underflows for any ``n`` (``2**20`` takes milliseconds).
    """
    n = _check_n(n)
    if n == 1:
        return 0.0
    _, log_cdf_lo, _, log_r = _bins()
    return float(np.sum(np.exp(n * log_cdf_lo + _log_excess(n, log_r))))


def attention_duplicate_one_probability(n: int, dps: int = 20) -> float:
    """Exact P(a row of ``exp(z - max z)`` cast to bfloat16 holds two or more exact ones).

    ``bf16(exp(z_i - m)) == 1`` iff ``m - z_i <= c`` with ``c =`` :data:`BF16_ONE_THRESHOLD`
    (real arithmetic; float32 rounding of ``exp`` moves ``c`` by ~1e-7 relative). So the event is
    "the top two order statistics are closer than ``c``":

    .. math:: P = \\int n\\varphi(m)\\left[\\Phi(m)^{n-1} - \\Phi(m-c)^{n-1}\\right] dm,

    by mpmath quadrature at ``dps`` digits.
    """
    n = _check_n(n)
    dps = validate.integer("dps", dps, minimum=5, maximum=100)
    if n == 1:
        return 0.0
    with mpmath.workdps(dps + 5):
        c = mpmath.mpf(BF16_ONE_THRESHOLD)
        nn = mpmath.mpf(n)
        root2 = mpmath.sqrt(2)

        def log_cdf(z: mpmath.mpf) -> mpmath.mpf:
            return mpmath.log1p(-mpmath.erfc(z / root2) / 2)

        def integrand(m: mpmath.mpf) -> mpmath.mpf:
            a = (nn - 1) * log_cdf(m)
            b = (nn - 1) * log_cdf(m - c)
            if not mpmath.isfinite(b):  # far left tail: Phi(m - c) = 0 at this precision
                return nn * mpmath.npdf(m) * mpmath.exp(a) if mpmath.isfinite(a) else mpmath.mpf(0)
            return nn * mpmath.npdf(m) * mpmath.exp(a) * -mpmath.expm1(b - a)

        peak = _max_location(n)
        width = 1 / max(peak, mpmath.mpf(1))
        points = [-mpmath.inf, *(peak + k * width for k in (-10, -3, 0, 3, 10)), mpmath.inf]
        return float(mpmath.quad(integrand, points))


# --------------------------------------------------------------------------- approximations


def duplicate_max_post_approx(n: int) -> float:
    """The post's estimate :math:`\\nu/128` with :math:`\\nu = \\sqrt{2\\log(n/\\sqrt{2\\pi})}`.

    (The post's code uses ``n``; its prose uses ``n - 1``.) Needs ``n >= 3`` for a real ``nu``.
    """
    n = validate.integer("n", n, minimum=3)
    return math.sqrt(2 * math.log(n / math.sqrt(2 * math.pi))) / 128


def duplicate_max_gumbel_approx(n: int) -> float:
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

    with :math:`a_n = \Phi^{-1}(1-1/n)` and :math:`b_n = 1/(n\varphi(a_n))`.
    """
    n = validate.integer("n", n, minimum=2)
    a = float(-special.ndtri(1.0 / n))
    b = 1.0 / (n * math.exp(-a * a / 2) / math.sqrt(2 * math.pi))

    def first(y: float) -> float:
        return (1 + y) * math.exp(-y)

    def second(y: float) -> float:
        return (y * y + 2 * y + 2) * math.exp(-y)

    total = 0.0
    for e in range(-12, 6):  # binades [2**e, 2**(e+1)) from 2**-12 to 64 cover every n >= 2
        w = 2.0 ** (e - 7)
        y_lo, y_hi = (math.exp(min(-(2.0**k - a) / b, 700.0)) for k in (e, e + 1))
        total += w / (2 * b) * (first(y_hi) - first(y_lo))
        total -= w * w / (6 * b * b) * (second(y_hi) - second(y_lo))
    return total


# --------------------------------------------------------------------------- Monte Carlo


def _top_two(key: jax.Array, n: jax.Array, rows: int) -> tuple[jax.Array, jax.Array]:
    """The two largest of ``n`` iid N(0,1), ``rows`` times, in float32, at a cost independent of n.

    :math:`\\Phi(z_{(n)}) = U^{1/n}`; given it, the other ``n - 1`` are iid N(0,1) conditioned
    below :math:`z_{(n)}`, so :math:`\\Phi(z_{(n-1)}) = \\Phi(z_{(n)})V^{1/(n-1)}`. Both are
    inverted through the smaller tail (``-ndtri(Q)`` for ``Q < 1/2``) to keep full relative
    precision where the maximum lives.
    """
    ku, kv = jax.random.split(key)
    tiny = jnp.finfo(jnp.float32).tiny
    u = jax.random.uniform(ku, (rows,), jnp.float32, minval=tiny, maxval=1.0)
    v = jax.random.uniform(kv, (rows,), jnp.float32, minval=tiny, maxval=1.0)

    def invert(log_cdf: jax.Array) -> jax.Array:
        tail = -jnp.expm1(log_cdf)
        return jnp.where(tail < 0.5, -ndtri(jnp.minimum(tail, 0.5)), ndtri(jnp.exp(log_cdf)))

    log_cdf_1 = jnp.log(u) / n
    log_cdf_2 = log_cdf_1 + jnp.log(v) / (n - 1)
    return invert(log_cdf_1), invert(log_cdf_2)


@partial(jax.jit, static_argnames=("event",))
def _count_top_two(key: jax.Array, n: jax.Array, rows: jax.Array, event: str, chunks: jax.Array) -> jax.Array:
    def body(i: jax.Array, count: jax.Array) -> jax.Array:
        z1, z2 = _top_two(jax.random.fold_in(key, i), n, _CHUNK)
        if event == "cast":
            hit = z1.astype(jnp.bfloat16) == z2.astype(jnp.bfloat16)
        else:  # "attention": exp(z - max) cast to bfloat16, is the runner-up an exact 1?
            hit = jnp.exp(z2 - z1).astype(jnp.bfloat16) == jnp.bfloat16(1)
        valid = i * _CHUNK + jnp.arange(_CHUNK) < rows
        return count + jnp.sum(hit & valid, dtype=jnp.int32)

    return jax.lax.fori_loop(0, chunks, body, jnp.int32(0))


def _mc(key: object, n: object, rows: object, event: str) -> tuple[float, float]:
    key = validate.prng_key("key", key)
    n = _check_n(n)
    rows = validate.integer("rows", rows, minimum=1, maximum=2**31 - 1)
    if n == 1:
        return 0.0, 0.0
    chunks = -(-rows // _CHUNK)
    count = int(_count_top_two(key, jnp.float32(n), jnp.int32(rows), event, jnp.int32(chunks)))
    p = count / rows
    return p, math.sqrt(p * (1 - p) / rows)


def duplicate_max_mc(key: jax.Array, n: int, rows: int) -> tuple[float, float]:
    """Monte Carlo of :func:`duplicate_max_probability`: ``(estimate, standard error)``.

    Each row draws only its top two order statistics (:func:`_top_two`, cost independent of
    ``n``) and asks XLA's float32 -> bfloat16 cast whether they land on the same value, which is
    exactly when the row's maximum is duplicated (rounding is monotone). The standard error is
    the binomial :math:`\\sqrt{\\hat p(1-\\hat p)/\\text{rows}}`.
    """
    return _mc(key, n, rows, "cast")


def attention_duplicate_one_mc(key: jax.Array, n: int, rows: int) -> tuple[float, float]:
    """Monte Carlo of :func:`attention_duplicate_one_probability`: ``(estimate, standard error)``.

    As :func:`duplicate_max_mc`, but the event is ``bf16(exp(z_(n-1) - z_(n))) == 1``: the row,
    shifted by its maximum and exponentiated in float32, has at least two exact bfloat16 ones.
    """
    return _mc(key, n, rows, "attention")


@partial(jax.jit, static_argnames=("n", "chunk_rows", "chunks", "attention"))
def _bruteforce(key: jax.Array, n: int, chunk_rows: int, chunks: int, attention: bool) -> jax.Array:
    def body(i: jax.Array, count: jax.Array) -> jax.Array:
        z = jax.random.normal(jax.random.fold_in(key, i), (chunk_rows, n), jnp.float32)
        if attention:
            x = jnp.exp(z - z.max(axis=1, keepdims=True)).astype(jnp.bfloat16)
        else:
            x = z.astype(jnp.bfloat16)
        ties = jnp.sum(x == x.max(axis=1, keepdims=True), axis=1)
        return count + jnp.sum(ties > 1, dtype=jnp.int32)

    return jax.lax.fori_loop(0, chunks, body, jnp.int32(0))


def duplicate_max_bruteforce(
    key: jax.Array, n: int, rows: int, *, chunk_rows: int = 1000, attention: bool = False
) -> tuple[float, float]:
    """The post's experiment, jitted: draw ``rows`` full rows of ``n`` float32 normals.

    Cast each row to bfloat16 (or, with ``attention``, take ``exp(z - max z)`` first) and count
    the rows whose maximum occurs more than once. ``rows`` is rounded up to a multiple of
    ``chunk_rows``; returns ``(estimate, standard error)`` over the rows actually drawn. Cost
    grows like ``n * rows``: this is the reference the order-statistics sampler is checked against.
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


@partial(jax.jit, static_argnames=("n", "chunk_rows", "chunks", "dtype"))
def _row_maxima(key: jax.Array, n: int, chunk_rows: int, chunks: int, dtype: jnp.dtype) -> jax.Array:
    def one(i: jax.Array) -> jax.Array:
        return jax.random.normal(jax.random.fold_in(key, i), (chunk_rows, n), dtype).max(axis=1)

    return jax.lax.map(one, jnp.arange(chunks)).reshape(-1)


def row_maxima(
    key: jax.Array, n: int, rows: int, *, chunk_rows: int = 500, dtype: str = "float32"
) -> jax.Array:
    """The post's NumPy experiment in JAX: the maxima of ``rows`` rows of ``n`` iid N(0,1).

    Rows are drawn ``chunk_rows`` at a time (``rows`` must be a multiple of it) under
    ``jax.lax.map``, so memory stays at ``chunk_rows * n`` numbers. ``dtype`` is ``"float32"``
    or ``"float64"`` (the latter needs ``jax_enable_x64``).
    """
    key = validate.prng_key("key", key)
    n = _check_n(n)
    rows = validate.integer("rows", rows, minimum=1)
    chunk_rows = validate.integer("chunk_rows", chunk_rows, minimum=1)
    if rows % chunk_rows:
        raise ValueError(f"rows must be a multiple of chunk_rows={chunk_rows}, got {rows}")
    validate.choice("dtype", dtype, ("float32", "float64"))
    if dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("dtype 'float64' needs jax.config.update('jax_enable_x64', True)")
    return _row_maxima(key, n, chunk_rows, rows // chunk_rows, jnp.dtype(dtype))


def max_density(z: object, n: int) -> np.ndarray:
    """The density :math:`n\\Phi(z)^{n-1}\\varphi(z)` of the maximum of ``n`` iid N(0,1), in float64.

    Evaluated as ``exp(log n + (n-1) log_ndtr(z) + log phi(z))`` so that no power underflows
    before the product does.
    """
    n = _check_n(n)
    x = np.asarray(validate.array("z", z, finite=True), dtype=np.float64)
    return np.exp(math.log(n) + (n - 1) * special.log_ndtr(x) - x * x / 2 - 0.5 * math.log(2 * math.pi))
