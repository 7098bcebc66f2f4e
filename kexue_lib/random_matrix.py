"""Extreme singular values of random matrices: samplers, Gordon's bounds, Tracy–Widom edges.

The kernels of the chapter on post 11335 (kexue.fm/archives/11335), which estimates
``E‖W‖₂ ≈ √n + √m`` for an ``n × m`` matrix ``W`` of iid zero-mean, unit-variance entries.

Sampling the extreme singular values ``σ_max = ‖W‖₂`` and ``σ_min`` (the ``min(n, m)``-th):

- :func:`random_matrix` draws ``W`` for one of :data:`DISTRIBUTIONS`. Every distribution is a
  fixed transform of one Gaussian stream, so one key gives *coupled* matrices (common random
  numbers): the difference of two distributions' samples has a smaller variance than either.
- :func:`golub_kahan` runs ``steps`` steps of Golub–Kahan–Lanczos bidiagonalisation with full
  reorthogonalisation; :func:`bidiagonal_extremes` gives the extreme singular values of an upper
  bidiagonal matrix (bisection on its Golub–Kahan tridiagonal form), and
  :func:`extreme_singular_values` puts the two together, with a convergence diagnostic.
- :func:`singular_value_samples` draws many seeded samples of ``σ_max`` or ``σ_min`` by one of
  three methods: ``"svd"`` (the full SVD of each matrix, the baseline), ``"lanczos"`` (the above,
  any distribution) and ``"bidiagonal"`` (Gaussian entries only: the singular values of ``W``
  have exactly the law of those of a bidiagonal matrix of independent chi variables, Dumitriu &
  Edelman 2002, so a sample costs ``O(m)`` random numbers instead of ``n·m``).
  :func:`spectral_norm_mc` and :func:`smallest_singular_mc` return mean and standard error.

The theory the samples are compared with:

- :func:`chi_mean` (``E‖g‖`` for ``g ~ N(0, I_k)``) and :func:`gordon_bounds`, Gordon's
  ``c_n − c_m ≤ E σ_min ≤ E σ_max ≤ c_n + c_m`` for Gaussian entries, ``c_k = E χ_k``;
- :func:`tracy_widom_cdf`, :func:`tracy_widom_mean`, :func:`tracy_widom_variance`
  (:func:`tracy_widom_moments` for both at a chosen resolution): the
  Tracy–Widom laws (β = 1, 2) from their Fredholm determinants, by Gauss–Legendre Nyström
  discretisation (Bornemann 2010);
- :func:`edge_scaling` and :func:`edge_prediction`: the soft-edge centring and scale of ``σ_max``
  (and of ``σ_min`` when ``n ≠ m``) and the Tracy–Widom-corrected ``E σ``;
- :func:`fourth_cumulant_shift`: the first-order move of the spectral edges with the entries'
  fourth cumulant ``κ₄`` (:data:`FOURTH_CUMULANT`);
- :func:`largest_entry_mean` and :func:`largest_entry_prediction`: for Student t₃ entries (no
  fourth moment) the largest entry acts as a rank-one spike and sets ``‖W‖₂``;
- :func:`marchenko_pastur_moment` and :func:`power_iteration_prediction`: what ``k`` steps of
  power iteration from a random start return, from the moments of the Marchenko–Pastur law.

The jitted kernels (and the cached Tracy–Widom moments) are plain functions (``_*_impl``) wrapped
by module-level ``jax.jit(...)`` (``cache(...)``) calls rather than decorated: ``make mutate``
(mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import mpmath
import numpy as np
from jax.typing import ArrayLike
from scipy import integrate
from scipy import stats as scipy_stats
from scipy.special import airy, roots_legendre

from kexue_lib import stats, validate

__all__ = [
    "DISTRIBUTIONS",
    "FOURTH_CUMULANT",
    "Bidiagonal",
    "Extremes",
    "bidiagonal_extremes",
    "chi_mean",
    "edge_prediction",
    "edge_scaling",
    "extreme_singular_values",
    "fourth_cumulant_shift",
    "golub_kahan",
    "gordon_bounds",
    "largest_entry_mean",
    "largest_entry_prediction",
    "marchenko_pastur_moment",
    "power_iteration_prediction",
    "random_matrix",
    "singular_value_samples",
    "smallest_singular_mc",
    "spectral_norm_mc",
    "tracy_widom_cdf",
    "tracy_widom_mean",
    "tracy_widom_moments",
    "tracy_widom_variance",
]

#: The entry distributions, each with zero mean and unit variance.
DISTRIBUTIONS: tuple[str, ...] = ("normal", "rademacher", "uniform", "student_t3")
#: The fourth cumulant ``E x⁴ − 3`` of each distribution (Student t with 3 degrees of freedom has
#: no fourth moment).
FOURTH_CUMULANT: dict[str, float] = {
    "normal": 0.0, "rademacher": -2.0, "uniform": -1.2, "student_t3": math.inf,
}
METHODS: tuple[str, ...] = ("auto", "bidiagonal", "lanczos", "svd")
EDGES: tuple[str, ...] = ("largest", "smallest")
CENTRINGS: tuple[str, ...] = ("half", "johnstone", "plain")
#: Steps of Golub–Kahan–Lanczos when none are given (capped at ``min(n, m)``).
DEFAULT_STEPS = 64
# Entries per batch of full matrices (float32: 16 MiB), and per chunk of bidiagonal samples.
_BATCH_ENTRIES = 2**22
_BATCH_MATRICES = 64
_FLAT = 2**20  # entries per call of the compiled random number generator
_CHUNK_ENTRIES = 2**20


# ---------------------------------------------------------------------------------------------
# Matrices


def _check_shape(n: int, m: int) -> tuple[int, int]:
    return validate.integer("n", n, minimum=1), validate.integer("m", m, minimum=1)


def _entries(key: jax.Array, shape: tuple[int, ...], dist: str, dtype: jnp.dtype) -> jax.Array:
    """iid zero-mean, unit-variance entries, every distribution a transform of one Gaussian ``g``.

    Rademacher ``sign(g)``; uniform on ``[−√3, √3]`` as ``√3·erf(g/√2)`` (``2Φ(g) − 1`` is uniform);
    Student t₃ scaled to unit variance, ``t₃/√3 = g/√V`` with ``V = h² − 2 log u ~ χ²₃``
    (``−2 log u ~ χ²₂``), ``h`` and ``u`` from a second stream.
    """
    g = jax.random.normal(key, shape, dtype)
    if dist == "normal":
        return g
    if dist == "rademacher":
        return jnp.where(g >= 0, 1.0, -1.0).astype(dtype)
    if dist == "uniform":
        return (math.sqrt(3.0) * jax.scipy.special.erf(g / math.sqrt(2.0))).astype(dtype)
    kh, ku = jax.random.split(jax.random.fold_in(key, 1))
    h = jax.random.normal(kh, shape, dtype)
    u = 1.0 - jax.random.uniform(ku, shape, dtype)  # in (0, 1]
    return g / jnp.sqrt(h * h - 2.0 * jnp.log(u))


def random_matrix(
    key: jax.Array, n: int, m: int, *, dist: str = "normal", dtype: jnp.dtype = jnp.float32
) -> jax.Array:
    """An ``n × m`` matrix of iid zero-mean, unit-variance entries drawn from ``dist``.

    ``dist`` is one of :data:`DISTRIBUTIONS`. Every distribution is a transform of the same
    standard normal stream drawn with ``key`` (``"student_t3"`` uses a second stream as well), so
    the same key gives coupled matrices: ``sign(W_normal) = W_rademacher``.
    """
    key = validate.prng_key("key", key)
    n, m = _check_shape(n, m)
    validate.choice("dist", dist, DISTRIBUTIONS)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    return _entries(key, (n, m), dist, jnp.dtype(dtype))


# ---------------------------------------------------------------------------------------------
# Golub–Kahan–Lanczos and bidiagonal matrices


class Bidiagonal(NamedTuple):
    """Coefficients of ``k`` Golub–Kahan–Lanczos steps: ``W V_k = U_k B_k``.

    ``B_k`` is upper bidiagonal with diagonal ``alpha`` (length ``k``) and superdiagonal
    ``beta[:k-1]``; ``beta[k-1]`` is the coefficient of the next, unused, right vector, the one
    that sets the residual of every Ritz triplet.
    """

    alpha: jax.Array
    beta: jax.Array


def _safe_normalise(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    norm = jnp.linalg.norm(x)
    return x / jnp.where(norm > 0, norm, 1.0), norm


def _golub_kahan_impl(w: jax.Array, v0: jax.Array, steps: int) -> Bidiagonal:
    n, m = w.shape
    dtype = w.dtype

    def orthogonalise(basis: jax.Array, x: jax.Array) -> jax.Array:
        """Remove from ``x`` its components along the rows of ``basis`` (twice is enough)."""
        x = x - basis.T @ (basis @ x)
        return x - basis.T @ (basis @ x)

    def step(j: int, state: tuple) -> tuple:
        us, vs, alpha, beta = state
        u, a = _safe_normalise(orthogonalise(us, w @ vs[j]))
        v, b = _safe_normalise(orthogonalise(vs, u @ w))  # Wᵀu without forming Wᵀ
        return us.at[j].set(u), vs.at[j + 1].set(v), alpha.at[j].set(a), beta.at[j].set(b)

    v1, _ = _safe_normalise(v0)
    state = (jnp.zeros((steps, n), dtype), jnp.zeros((steps + 1, m), dtype).at[0].set(v1),
             jnp.zeros(steps, dtype), jnp.zeros(steps, dtype))
    _us, _vs, alpha, beta = jax.lax.fori_loop(0, steps, step, state)
    return Bidiagonal(alpha, beta)


_golub_kahan = jax.jit(_golub_kahan_impl, static_argnames=("steps",))


def golub_kahan(W: ArrayLike, steps: int, *, key: jax.Array | None = None) -> Bidiagonal:
    """``steps`` steps of Golub–Kahan–Lanczos bidiagonalisation of ``W`` (jit-compiled).

    Starts from a Gaussian right vector drawn with ``key`` (default ``jax.random.key(0)``) and
    reorthogonalises every new vector against all previous ones (twice), so the Ritz values are
    those of the exact Krylov space: the singular values of ``B_k`` approach ``σ_max`` from below
    and, for ``n ≠ m``, ``σ_min`` from above. ``steps`` must not exceed ``min(n, m)``; use
    ``W.T`` for a wide matrix, or not: the singular values are the same.
    """
    W = validate.array("W", W, ndim=2)
    steps = validate.integer("steps", steps, minimum=1, maximum=min(W.shape))
    key = jax.random.key(0) if key is None else validate.prng_key("key", key)
    return _golub_kahan(W, jax.random.normal(key, (W.shape[1],), W.dtype), steps)


def _bucket(k: int) -> int:
    """The padded size for a batch of ``k × k`` problems: a power of two (fewer compilations)."""
    return max(8, 1 << (k - 1).bit_length())


def _lowest_eigenvalues_impl(diag: jax.Array, off: jax.Array) -> jax.Array:
    """The smallest eigenvalue of each symmetric tridiagonal matrix (rows), by bisection."""

    def one(d: jax.Array, e: jax.Array) -> jax.Array:
        return jsl.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(0, 0))[0]

    return jax.vmap(one)(diag, off)


_lowest_eigenvalues = jax.jit(_lowest_eigenvalues_impl)


def _bidiagonal_extreme(alpha: np.ndarray, beta: np.ndarray, which: str) -> np.ndarray:
    """``σ_max`` or ``σ_min`` of upper bidiagonal matrices, rows of ``alpha`` (r, k), ``beta`` (r, k−1).

    Both are a *smallest* eigenvalue of a tridiagonal matrix, so one compiled bisection serves
    both: ``σ_min² = λ_min(BᵀB)`` and ``σ_max² = −λ_min(−BᵀB)``. ``BᵀB`` has diagonal
    ``α_j² + β_{j−1}²`` and off-diagonal ``α_j β_j``. Rows are padded to a power-of-two size with
    a decoupled diagonal block that cannot become the answer (the Gershgorin bound of ``BᵀB``
    for ``σ_min``, zero for ``σ_max``), and computed in float64: bisection finds ``λ`` to
    ``ε·λ_max``, so ``σ_min`` keeps a relative error of ``ε·σ_max²/σ_min²`` (1e-9 for a square
    1024 × 1024 Gaussian matrix at the hard edge).
    """
    rows, k = alpha.shape
    if k == 1:
        return np.abs(alpha[:, 0])
    d = alpha**2
    d[:, 1:] += beta**2
    e = alpha[:, :-1] * beta
    size = _bucket(k)
    if which == "min":
        gersh = np.max(d + np.pad(np.abs(e), ((0, 0), (1, 0))) + np.pad(np.abs(e), ((0, 0), (0, 1))),
                       axis=1, keepdims=True)
        pad_d, sign = np.broadcast_to(gersh, (rows, size - k)), 1.0
    else:
        pad_d, sign = np.zeros((rows, size - k)), -1.0
    diag = np.concatenate([sign * d, pad_d], axis=1)
    off = np.pad(e, ((0, 0), (0, size - k)))  # a zero couples the pad to nothing
    chunk = max(1, 2**18 // size)  # one shape per size: one compilation
    out = np.empty(rows)
    with jax.enable_x64(True):
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            d_c = np.zeros((chunk, size))
            e_c = np.zeros((chunk, size - 1))
            d_c[: stop - start], e_c[: stop - start] = diag[start:stop], off[start:stop]
            lam = np.asarray(_lowest_eigenvalues(jnp.asarray(d_c), jnp.asarray(e_c)))
            out[start:stop] = lam[: stop - start]
    return np.sqrt(np.maximum(sign * out, 0.0))


def bidiagonal_extremes(alpha: ArrayLike, beta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(σ_max, σ_min)`` of upper bidiagonal matrices with diagonal ``alpha`` and superdiagonal ``beta``.

    ``alpha`` has shape ``(k,)`` or ``(r, k)`` (``r`` matrices) and ``beta`` ``(k − 1,)`` or
    ``(r, k − 1)``. Bisection (:func:`jax.scipy.linalg.eigh_tridiagonal`) for just the two
    eigenvalues needed, in float64; NumPy float64 results of shape ``()`` or ``(r,)``.
    """
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    if a.ndim not in (1, 2) or a.shape[-1] < 1:
        raise ValueError(f"alpha must have shape (k,) or (r, k) with k >= 1, got {a.shape}")
    single = a.ndim == 1
    a = a[None] if single else a
    b = b.reshape(a.shape[0], -1) if b.size == 0 else (b[None] if single else b)
    if b.shape != (a.shape[0], a.shape[1] - 1):
        want = (a.shape[1] - 1,) if single else (a.shape[0], a.shape[1] - 1)
        raise ValueError(f"beta must have shape {want} to match alpha {np.shape(alpha)}, "
                         f"got {np.shape(beta)}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("alpha and beta must have only finite entries")
    top, bottom = _bidiagonal_extreme(a, b, "max"), _bidiagonal_extreme(a, b, "min")
    return (top[0], bottom[0]) if single else (top, bottom)


class Extremes(NamedTuple):
    """Result of :func:`extreme_singular_values` (NumPy float64 scalars, or arrays for a batch).

    ``change_max`` and ``change_min`` are the relative changes of the two Ritz values over the
    last quarter of the steps (from ``⌊3k/4⌋`` to ``k``): Lanczos converges faster than
    geometrically at the edges, so the change bounds the remaining error in practice (the unit
    tests check it against the SVD). Without any Lanczos (``steps ≥ min(n, m)``) both are 0.
    """

    sigma_max: np.ndarray
    sigma_min: np.ndarray
    change_max: np.ndarray
    change_min: np.ndarray


def _ritz(alpha: np.ndarray, beta: np.ndarray) -> Extremes:
    """Extreme Ritz values of ``B_k`` (rows of ``alpha``, ``beta``) and their change since ``B_{⌊3k/4⌋}``.

    ``B_{⌊3k/4⌋}`` is the leading block of ``B_k``; both are small (``k ≤`` a few hundred), so
    LAPACK's dense SVD (NumPy) does them at once.
    """
    alpha, beta = np.asarray(alpha, np.float64), np.asarray(beta, np.float64)
    k = alpha.shape[-1]
    b = np.zeros((*alpha.shape, k))
    i = np.arange(k)
    b[..., i, i] = alpha
    b[..., i[:-1], i[1:]] = beta[..., : k - 1]
    k0 = (3 * k) // 4
    s = np.linalg.svd(b, compute_uv=False)
    s0 = np.linalg.svd(b[..., :k0, :k0], compute_uv=False)
    top, bottom, top0, bottom0 = s[..., 0], s[..., -1], s0[..., 0], s0[..., -1]
    return Extremes(top, bottom, np.abs(top / top0 - 1), np.abs(bottom0 / bottom - 1))


def _svd_extremes(w: np.ndarray) -> Extremes:
    """Extremes of each matrix of a stack by LAPACK's SVD (NumPy); changes are zero."""
    s = np.linalg.svd(np.asarray(w), compute_uv=False).astype(np.float64)
    zero = np.zeros_like(s[..., 0])
    return Extremes(s[..., 0], s[..., -1], zero, zero)


def extreme_singular_values(
    W: ArrayLike, steps: int | None = None, *, key: jax.Array | None = None
) -> Extremes:
    """``σ_max``, ``σ_min`` of ``W`` by ``steps`` Golub–Kahan–Lanczos steps, with a convergence check.

    ``steps`` defaults to :data:`DEFAULT_STEPS`; when it reaches ``min(n, m)`` the Krylov space
    is the whole space and the full SVD is used instead (exact, and cheaper at that size).
    ``σ_min`` of a square or nearly square matrix lies at the *hard edge* of the spectrum, where
    Lanczos converges very slowly: its ``change_min`` then stays large, which is the sign to use
    the SVD.
    """
    W = validate.array("W", W, ndim=2)
    steps = DEFAULT_STEPS if steps is None else validate.integer("steps", steps, minimum=4)
    key = jax.random.key(0) if key is None else validate.prng_key("key", key)
    if W.shape[0] < W.shape[1]:
        W = W.T
    if steps >= W.shape[1]:
        return _svd_extremes(W)
    return _ritz(*_golub_kahan(W, jax.random.normal(key, (W.shape[1],), W.dtype), steps))


# ---------------------------------------------------------------------------------------------
# Monte Carlo samples of the extreme singular values


def _flat_entries_impl(key: jax.Array, dist_index: jax.Array) -> jax.Array:
    """:data:`_FLAT` iid entries of the distribution ``DISTRIBUTIONS[dist_index]``, float32.

    One fixed size and a traced switch over the distributions: a single compilation serves
    every shape and distribution (compiling the random number generator is the slow part).
    """
    f32 = jnp.dtype(jnp.float32)
    branches = [partial(_entries, shape=(_FLAT,), dist=d, dtype=f32) for d in DISTRIBUTIONS]
    return jax.lax.switch(dist_index, branches, key)


_flat_entries = jax.jit(_flat_entries_impl)


def _draw(key: jax.Array, count: int, dist: str) -> np.ndarray:
    """``count`` entries of ``dist`` (NumPy float32), from :data:`_FLAT`-sized chunks of ``key``."""
    index = jnp.asarray(DISTRIBUTIONS.index(dist))
    chunks = [np.asarray(_flat_entries(jax.random.fold_in(key, c), index))
              for c in range(-(-count // _FLAT))]
    return np.concatenate(chunks)[:count]


def _lanczos_batch_impl(w: jax.Array, v0: jax.Array, steps: int) -> Bidiagonal:
    """Golub–Kahan–Lanczos coefficients of each matrix of a stack ``w`` (g, n, m), start ``v0``."""
    return jax.vmap(lambda a, b: _golub_kahan(a, b, steps))(w, v0)


_lanczos_batch = jax.jit(_lanczos_batch_impl, static_argnames=("steps",))


def _matrix_samples(key: jax.Array, n: int, m: int, samples: int, dist: str, steps: int) -> Extremes:
    """Extremes of ``samples`` seeded ``n × m`` matrices (``n ≥ m``), in groups of a fixed size.

    Group ``g`` draws its matrices from ``fold_in(key, g)`` (so the draws depend on ``key``,
    the shape and ``dist`` only, and one key gives coupled matrices for every distribution).
    ``steps ≥ m``: LAPACK's SVD of each matrix (NumPy); otherwise ``steps`` Lanczos steps from a
    Gaussian start drawn from a second stream. The last group is cut to size.
    """
    group = max(1, min(_BATCH_MATRICES, _BATCH_ENTRIES // (n * m)))
    parts = []
    for g, start in enumerate(range(0, samples, group)):
        rows = min(group, samples - start)
        k = jax.random.fold_in(key, g)
        w = _draw(k, group * n * m, dist).reshape(group, n, m)
        if steps >= m:
            parts.append(_svd_extremes(w[:rows]))
        else:
            v0 = _draw(jax.random.fold_in(k, 2**31 - 1), group * m, "normal").reshape(group, m)
            bd = _lanczos_batch(jnp.asarray(w), jnp.asarray(v0), steps)
            parts.append(_ritz(np.asarray(bd.alpha)[:rows], np.asarray(bd.beta)[:rows]))
    return Extremes(*(np.concatenate([p[j] for p in parts]) for j in range(4)))


def _numpy_rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded by the key's bits (new-style or legacy ``uint32[2]`` key)."""
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return np.random.default_rng([int(x) for x in np.asarray(data).ravel()])


def _bidiagonal_samples(key: jax.Array, n: int, m: int, samples: int, which: str) -> np.ndarray:
    """σ of Gaussian ``n × m`` (``n ≥ m``) matrices, from the chi bidiagonal model.

    ``W = U B Vᵀ`` by Householder reflections from alternating sides, and for Gaussian ``W`` each
    reflection leaves the untouched block iid Gaussian, so ``B`` has independent entries:
    diagonal ``χ_n, χ_{n−1}, …, χ_{n−m+1}``, superdiagonal ``χ_{m−1}, …, χ₁`` (Silverstein 1985;
    Dumitriu & Edelman 2002). The chi variables come from NumPy's generator seeded by ``key``
    (its gamma sampler is far faster on a CPU than a rejection loop under ``jit``).
    """
    rng = _numpy_rng(key)
    df_alpha, df_beta = np.arange(n, n - m, -1.0), np.arange(m - 1, 0, -1.0)
    chunk = max(1, _CHUNK_ENTRIES // m)
    out = []
    for start in range(0, samples, chunk):
        rows = min(chunk, samples - start)
        alpha = np.sqrt(rng.chisquare(np.broadcast_to(df_alpha, (rows, m))))
        beta = np.sqrt(rng.chisquare(np.broadcast_to(df_beta, (rows, m - 1))))
        out.append(_bidiagonal_extreme(alpha, beta, which))
    return np.concatenate(out)


def singular_value_samples(
    key: jax.Array,
    n: int,
    m: int,
    samples: int,
    *,
    which: str = "max",
    dist: str = "normal",
    method: str = "auto",
    steps: int | None = None,
    rtol: float = 1e-5,
) -> np.ndarray:
    """``samples`` seeded draws of ``σ_max`` (``which="max"``) or ``σ_min`` of an ``n × m`` matrix.

    Entries iid from ``dist`` (:data:`DISTRIBUTIONS`, zero mean, unit variance). ``method``:

    - ``"svd"``: draw each matrix (float32) and take its full SVD (the baseline);
    - ``"lanczos"``: draw each matrix and run ``steps`` (default :data:`DEFAULT_STEPS`)
      Golub–Kahan–Lanczos steps; raises ``RuntimeError`` if the requested Ritz value still moved
      by more than ``rtol`` (relative) over the last quarter of the steps in some sample (raise
      ``steps``, or use ``"svd"`` for ``σ_min`` of a nearly square matrix, the hard edge);
    - ``"bidiagonal"``: Gaussian entries only, exact in law, ``O(m)`` random numbers a sample
      (see :func:`_bidiagonal_samples`); these are not the same draws as the other methods';
    - ``"auto"`` (default): ``"bidiagonal"`` for ``"normal"``, ``"lanczos"`` otherwise.

    The same ``key`` gives the same matrices for every ``dist`` under ``"svd"`` and
    ``"lanczos"`` (see :func:`random_matrix`), so differences between distributions can be taken
    sample by sample. The result does not depend on the orientation: ``n × m`` and ``m × n``
    give the same draws. Returns a NumPy float64 array of ``samples`` values (the full-matrix
    methods compute in float32, whose rounding is far below any Monte Carlo error here).
    """
    key = validate.prng_key("key", key)
    n, m = _check_shape(n, m)
    samples = validate.integer("samples", samples, minimum=2)
    validate.choice("which", which, ("max", "min"))
    validate.choice("dist", dist, DISTRIBUTIONS)
    validate.choice("method", method, METHODS)
    steps = DEFAULT_STEPS if steps is None else validate.integer("steps", steps, minimum=4)
    rtol = validate.real("rtol", rtol, positive=True)
    if method == "auto":
        method = "bidiagonal" if dist == "normal" else "lanczos"
    if method == "bidiagonal" and dist != "normal":
        raise ValueError(f"method 'bidiagonal' holds for Gaussian entries only, not dist={dist!r}")
    n, m = max(n, m), min(n, m)
    if method == "bidiagonal":
        return _bidiagonal_samples(key, n, m, samples, which)
    result = _matrix_samples(key, n, m, samples, dist, m if method == "svd" else min(steps, m))
    sigma, change = ((result.sigma_max, result.change_max) if which == "max"
                     else (result.sigma_min, result.change_min))
    worst = float(np.max(change))
    if worst > rtol:
        raise RuntimeError(
            f"Lanczos with {steps} steps has not converged for sigma_{which} of a {n} x {m} matrix: "
            f"its Ritz value still moved by {worst:.2g} (relative) over the last quarter of the "
            f"steps, more than rtol = {rtol:g}; raise steps"
            + (", or use method='svd' (the hard edge)" if which == "min" else ""))
    return sigma.astype(np.float64)


def spectral_norm_mc(
    key: jax.Array,
    n: int,
    m: int,
    samples: int,
    *,
    dist: str = "normal",
    method: str = "auto",
    steps: int | None = None,
) -> tuple[float, float]:
    """``(mean, standard error)`` of ``‖W‖₂`` over ``samples`` seeded ``n × m`` matrices.

    See :func:`singular_value_samples` for ``dist``, ``method`` and ``steps``; the standard
    error is :func:`kexue_lib.stats.mean_se`'s ``std(ddof=1)/√samples``.
    """
    x = singular_value_samples(key, n, m, samples, which="max", dist=dist, method=method, steps=steps)
    mean, se = stats.mean_se(x)
    return float(mean), float(se)


def smallest_singular_mc(
    key: jax.Array,
    n: int,
    m: int,
    samples: int,
    *,
    dist: str = "normal",
    method: str = "auto",
    steps: int | None = None,
) -> tuple[float, float]:
    """``(mean, standard error)`` of ``σ_min(W)``, the ``min(n, m)``-th singular value; see
    :func:`spectral_norm_mc`."""
    x = singular_value_samples(key, n, m, samples, which="min", dist=dist, method=method, steps=steps)
    mean, se = stats.mean_se(x)
    return float(mean), float(se)


# ---------------------------------------------------------------------------------------------
# Gordon's bounds


def chi_mean(k: int) -> float:
    """``E χ_k = √2 Γ((k+1)/2)/Γ(k/2)``, the mean length of a standard Gaussian vector in ℝᵏ.

    Computed with mpmath's log-gamma at 30 digits, so it is exact to float precision for every
    ``k``.
    """
    k = validate.integer("k", k, minimum=1)
    with mpmath.workdps(30):
        return float(mpmath.sqrt(2) * mpmath.exp(mpmath.loggamma(mpmath.mpf(k + 1) / 2)
                                                 - mpmath.loggamma(mpmath.mpf(k) / 2)))


def gordon_bounds(n: int, m: int) -> tuple[float, float]:
    """Gordon's bounds ``(c_N − c_M, c_N + c_M)`` for Gaussian ``n × m``, ``N ≥ M`` its sides.

    ``E σ_min ≥ c_N − c_M`` and ``E σ_max ≤ c_N + c_M`` with ``c_k`` = :func:`chi_mean`; both are
    sharper than the post's ``√N ∓ √M`` (``c_k < √k``, and ``√k − c_k`` decreases in ``k``).
    """
    n, m = _check_shape(n, m)
    big, small = chi_mean(max(n, m)), chi_mean(min(n, m))
    return big - small, big + small


# ---------------------------------------------------------------------------------------------
# Tracy–Widom distributions

_TW_LAMBDA = 12.0  # Ai(12) ≈ 1e-13: where the Airy kernels are negligible
_TW_RANGE = (-10.0, 14.0)  # F₁(−10) < 1e-18, 1 − F₁(14) < 1e-15 (and tighter for β = 2)


def _fredholm(s: np.ndarray, beta: int, nodes: int) -> np.ndarray:
    """``det(I − K_s)`` on ``L²(0, ∞)`` by Gauss–Legendre Nyström on ``(0, L(s))``, one per ``s``.

    β = 1: Ferrari–Spohn, ``K_s(x, y) = ½ Ai(s + (x + y)/2)``; β = 2: the Airy kernel
    ``K(s + x, s + y)``, ``K(x, y) = (Ai(x)Ai'(y) − Ai'(x)Ai(y))/(x − y)``, with its diagonal
    ``Ai'(x)² − x Ai(x)²``. The interval is cut where the kernel has decayed below 1e-13.
    """
    length = (2.0 if beta == 1 else 1.0) * (_TW_LAMBDA - np.minimum(s, 0.0))
    t, w = roots_legendre(nodes)
    x = (t + 1)[None, :] * length[:, None] / 2  # (len(s), nodes)
    root_w = np.sqrt(w[None, :] * length[:, None] / 2)
    if beta == 1:
        i, j = np.triu_indices(nodes)
        upper = 0.5 * airy(s[:, None] + (x[:, i] + x[:, j]) / 2)[0]
        kernel = np.empty((len(s), nodes, nodes))
        kernel[:, i, j] = upper
        kernel[:, j, i] = upper
    else:
        ai, aip, _, _ = airy(s[:, None] + x)
        diff = x[:, :, None] - x[:, None, :]
        eye = np.eye(nodes, dtype=bool)
        num = ai[:, :, None] * aip[:, None, :] - aip[:, :, None] * ai[:, None, :]
        kernel = np.where(eye, (aip**2 - (s[:, None] + x) * ai**2)[:, :, None],
                          num / np.where(eye, 1.0, diff))
    return np.linalg.det(np.eye(nodes) - root_w[:, :, None] * kernel * root_w[:, None, :])


def tracy_widom_cdf(s: ArrayLike, beta: int = 1, *, nodes: int = 40) -> np.ndarray:
    """The Tracy–Widom distribution function ``F_β(s)``, β ∈ {1, 2}, as a Fredholm determinant.

    Gauss–Legendre Nyström with ``nodes`` points (Bornemann 2010), which converges
    exponentially: 40 nodes give about 14 digits on ``s ∈ [−10, 14]``. Float64, NumPy/SciPy.
    """
    validate.choice("beta", beta, (1, 2))
    nodes = validate.integer("nodes", nodes, minimum=4)
    x = np.asarray(s, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("s must have only finite entries")
    return _fredholm(np.atleast_1d(x).ravel(), beta, nodes).reshape(x.shape)


def _tw_moments_impl(beta: int, nodes: int, points: int) -> tuple[float, float]:
    """Mean and variance of TW_β from ``∫ (1 − F)`` and ``∫ F`` on the two half-lines.

    ``E X = ∫₀^∞ (1 − F) − ∫_{−∞}^0 F`` and ``E X² = ∫₀^∞ 2s(1 − F) + ∫_{−∞}^0 2|s| F``, each
    half-line cut to :data:`_TW_RANGE` (the tails beyond are below 1e-15) and integrated by
    Gauss–Legendre with ``points`` nodes.
    """
    t, w = roots_legendre(points)
    lo, hi = _TW_RANGE
    s_neg, w_neg = (t + 1) * (-lo) / 2 + lo, w * (-lo) / 2
    s_pos, w_pos = (t + 1) * hi / 2, w * hi / 2
    f_neg = _fredholm(s_neg, beta, nodes)
    tail_pos = 1.0 - _fredholm(s_pos, beta, nodes)
    mean = w_pos @ tail_pos - w_neg @ f_neg
    second = w_pos @ (2 * s_pos * tail_pos) + w_neg @ (-2 * s_neg * f_neg)
    return float(mean), float(second - mean**2)


_tw_moments = cache(_tw_moments_impl)


def tracy_widom_moments(beta: int = 1, *, nodes: int = 40, points: int = 50) -> tuple[float, float]:
    """``(mean, variance)`` of TW_β, β ∈ {1, 2}, with ``nodes`` Nyström nodes for each ``F_β(s)``
    and ``points`` Gauss–Legendre points on each half-line (cached). The defaults are those of
    :func:`tracy_widom_mean`; larger values check its convergence."""
    validate.choice("beta", beta, (1, 2))
    nodes = validate.integer("nodes", nodes, minimum=4)
    points = validate.integer("points", points, minimum=4)
    return _tw_moments(beta, nodes, points)


def tracy_widom_mean(beta: int = 1) -> float:
    """The mean of the Tracy–Widom distribution TW_β, β ∈ {1, 2}, computed (not typed in).

    From :func:`tracy_widom_cdf` with 40 Nyström nodes and 50 Gauss–Legendre points on each
    half-line; accurate to about 12 digits (the unit tests compare with Bornemann's 13-digit
    values and with a finer discretisation). Cached after the first call.
    """
    validate.choice("beta", beta, (1, 2))
    return _tw_moments(beta, 40, 50)[0]


def tracy_widom_variance(beta: int = 1) -> float:
    """The variance of TW_β, β ∈ {1, 2}; computed with :func:`tracy_widom_mean`'s quadrature."""
    validate.choice("beta", beta, (1, 2))
    return _tw_moments(beta, 40, 50)[1]


# ---------------------------------------------------------------------------------------------
# Soft edges


def edge_scaling(n: int, m: int, *, edge: str = "largest", centring: str = "half") -> tuple[float, float]:
    """``(s, τ)`` with ``σ ≈ s + (τ/2)·X`` at the largest edge and ``σ ≈ s − (τ/2)·X`` at the smallest.

    ``X ~ TW₁``. At the largest edge of ``WᵀW`` (``N ≥ M`` the two sides),
    ``(λ_max − s²)/(s·τ) → TW₁`` with ``s = √N' + √M'`` and ``τ = (1/√N' + 1/√M')^{1/3}``, and
    ``σ_max = √λ_max ≈ s + (τ/2)X``. ``centring`` chooses ``N', M'``: ``"half"``
    (``N − ½, M − ½``, Ma 2012: symmetric in the two sides, as ``‖W‖₂ = ‖Wᵀ‖₂`` is, and accurate
    to ``O(M^{-2/3})`` on the Tracy–Widom scale), ``"johnstone"`` (``N − 1, M``, Johnstone 2001),
    ``"plain"`` (``N, M``). At the smallest edge (``N > M`` only; a square matrix has a hard edge
    there) ``s = √N' − √M'``, ``τ = (1/√M' − 1/√N')^{1/3}`` and ``λ_min`` fluctuates as ``−TW₁``.
    """
    n, m = _check_shape(n, m)
    validate.choice("edge", edge, EDGES)
    validate.choice("centring", centring, CENTRINGS)
    big, small = max(n, m), min(n, m)
    shift = {"half": (0.5, 0.5), "johnstone": (1.0, 0.0), "plain": (0.0, 0.0)}[centring]
    a, b = math.sqrt(big - shift[0]), math.sqrt(small - shift[1])
    if min(a, b) <= 0:
        raise ValueError(f"the {centring!r} centring needs both sides larger than its shift, got {n} x {m}")
    if edge == "largest":
        return a + b, (1 / a + 1 / b) ** (1 / 3)
    if big == small:
        raise ValueError("the smallest singular value of a square matrix lies at the hard edge: "
                         "there is no Tracy–Widom soft edge there")
    return a - b, (1 / b - 1 / a) ** (1 / 3)


def edge_prediction(n: int, m: int, *, edge: str = "largest", centring: str = "half") -> float:
    """The Tracy–Widom-corrected prediction of ``E σ_max`` (or, ``edge="smallest"``, ``E σ_min``).

    ``s + (τ/2)·E[TW₁]`` at the largest edge and ``s − (τ/2)·E[TW₁]`` at the smallest, with
    ``(s, τ)`` from :func:`edge_scaling` and ``E[TW₁]`` from :func:`tracy_widom_mean`. First order
    in ``τ/s``: the next term, ``−(τ²/8s)·E[X²]``, is of the same order as the error of the
    Tracy–Widom approximation itself.
    """
    s, tau = edge_scaling(n, m, edge=edge, centring=centring)
    sign = 1.0 if edge == "largest" else -1.0
    return s + sign * tau / 2 * tracy_widom_mean(1)


def fourth_cumulant_shift(n: int, m: int, kappa4: float, *, edge: str = "largest") -> float:
    """First-order shift of the edge of ``σ`` when the entries have fourth cumulant ``kappa4``.

    ``(κ₄/2)(1/√N + 1/√M)`` at the largest edge and ``(κ₄/2)(1/√N − 1/√M)`` at the smallest
    (``N ≥ M`` the sides). From the cumulant expansion of the resolvent of the Hermitian
    dilation ``[[0, W], [Wᵀ, 0]]``: the fourth cumulant adds ``κ₄·m·m₁²m₂²`` (and ``κ₄·n·m₁²m₂²``)
    to the two self-consistent equations, and the fold of their solution moves by this much.
    It vanishes for Gaussian entries and shrinks like ``1/√M``, against the ``M^{-1/6}``
    Tracy–Widom gap.
    """
    n, m = _check_shape(n, m)
    validate.choice("edge", edge, EDGES)
    kappa4 = validate.real("kappa4", kappa4)
    big, small = max(n, m), min(n, m)
    sign = 1.0 if edge == "largest" else -1.0
    return kappa4 / 2 * (1 / math.sqrt(big) + sign / math.sqrt(small))


# ---------------------------------------------------------------------------------------------
# Power iteration from a random start


def marchenko_pastur_moment(n: int, m: int, k: int) -> int:
    """``Σ_j N(k, j) n^{k−j+1} m^{j−1}``: the leading term of ``E tr (WᵀW)^k / m``, exactly.

    ``N(k, j) = C(k, j)C(k, j−1)/k`` are the Narayana numbers; ``k = 0`` gives 1. For ``n = m``
    the sum is the Catalan number times ``n^k``. An exact integer.
    """
    n, m = _check_shape(n, m)
    k = validate.integer("k", k, minimum=0)
    if k == 0:
        return 1
    return sum(math.comb(k, j) * math.comb(k, j - 1) // k * n ** (k - j + 1) * m ** (j - 1)
               for j in range(1, k + 1))


def power_iteration_prediction(n: int, m: int, steps: int) -> float:
    """What ``‖W v_k‖`` is after ``k = steps`` power steps ``v ← WᵀWv/‖WᵀWv‖`` from a random ``v₀``.

    ``‖W v_k‖² = v₀ᵀ(WᵀW)^{2k+1}v₀ / v₀ᵀ(WᵀW)^{2k}v₀``, and for a random start
    ``v₀ᵀ(WᵀW)^j v₀/‖v₀‖² ≈ tr (WᵀW)^j / m``: the prediction is
    ``√(M_{2k+1}/M_{2k})`` with :func:`marchenko_pastur_moment`. ``k = 0`` gives ``√n``, the
    post's ``‖Wv‖``. Valid while ``k`` is well below ``M^{2/3}``, before the iteration resolves the
    finite matrix's own top singular value.
    """
    n, m = _check_shape(n, m)
    steps = validate.integer("steps", steps, minimum=0)
    ratio = Fraction(marchenko_pastur_moment(n, m, 2 * steps + 1), marchenko_pastur_moment(n, m, 2 * steps))
    return math.sqrt(ratio)


# ---------------------------------------------------------------------------------------------
# Heavy tails: the largest entry as a spike


def _largest_entry_expectation(n: int, m: int, h: object, kink: float | None = None) -> float:
    """``E h(a)`` for ``a`` the largest ``|w_ij|`` of ``n·m`` iid unit-variance Student t₃ entries.

    ``a`` has distribution function ``F(y)^K`` (``K = n·m``, ``F`` that of ``|t₃|/√3``), so
    ``E h(a) = ∫₀¹ h(Q(u^{1/K})) du`` with ``Q`` the quantile of ``|t₃|/√3``; ``1 − u^{1/K}`` is
    formed with ``expm1`` so that no precision is lost for large ``K``. SciPy's ``quad``, on two
    pieces split where ``a`` crosses ``kink`` (where ``h`` has a corner), if given, each to an
    estimated error of 1e-9, absolute or relative.
    """
    count = n * m

    def integrand(u: float) -> float:
        tail = -math.expm1(math.log(u) / count)  # P(|Y| > a) at the u-quantile of the maximum
        return h(scipy_stats.t.isf(tail / 2, 3) / math.sqrt(3.0))

    cuts = [0.0, 1.0]
    if kink is not None:  # P(a ≤ kink) = (1 − P(|Y| > kink))^K
        tail = 2 * scipy_stats.t.sf(math.sqrt(3.0) * kink, 3)
        cuts.insert(1, math.exp(count * math.log1p(-tail)))
    return float(sum(integrate.quad(integrand, lo, hi, limit=200, epsabs=1e-9, epsrel=1e-9)[0]
                     for lo, hi in itertools.pairwise(cuts) if hi > lo))


def largest_entry_mean(n: int, m: int) -> float:
    """``E max |w_ij|`` over an ``n × m`` matrix of iid Student t₃ entries scaled to unit variance.

    The tail ``P(|w| > y) ≈ 0.42/y³`` makes it grow like ``(n·m)^{1/3}``, faster than
    ``√n + √m``: the reason the spectral norm of such a matrix outgrows the Gaussian one.
    An integral over the law of the maximum, by SciPy's ``quad`` to about 1e-9.
    """
    n, m = _check_shape(n, m)
    return _largest_entry_expectation(n, m, lambda a: a)


def largest_entry_prediction(n: int, m: int, *, statistic: str = "mean") -> float:
    """``E σ_max`` (or its median) for Student t₃ entries, the largest entry ``a`` as a rank-one spike.

    A single entry ``a`` added to an ``n × m`` matrix of unit-variance noise moves the top
    singular value to ``g(a) = √((a² + n)(a² + m))/a`` once ``a > (nm)^{1/4}`` and leaves it at
    the bulk edge ``√n + √m`` below (Benaych-Georges & Nadakuditi 2012). ``statistic="mean"``
    averages ``g`` over the law of the largest entry (:func:`largest_entry_mean`);
    ``"median"`` is ``g`` at the median of the largest entry (``g`` does not decrease), the
    robust version: ``σ_max`` of t₃ entries has no fourth moment, so Monte Carlo standard
    errors of its mean are unreliable, while order statistics give intervals for its median.
    The mean is an integral by SciPy's ``quad`` to about 1e-9, the median a closed form.
    """
    n, m = _check_shape(n, m)
    validate.choice("statistic", statistic, ("mean", "median"))
    threshold, edge = (n * m) ** 0.25, math.sqrt(n) + math.sqrt(m)

    def spike(a: float) -> float:
        return math.sqrt((a * a + n) * (a * a + m)) / a if a > threshold else edge

    if statistic == "median":  # the largest of K entries has median Q(2^{-1/K})
        tail = -math.expm1(-math.log(2.0) / (n * m))
        return spike(scipy_stats.t.isf(tail / 2, 3) / math.sqrt(3.0))
    return _largest_entry_expectation(n, m, spike, kink=threshold)
