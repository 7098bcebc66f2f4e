"""Softmax attention: robustness of the output to iid logit noise, and the entropy bounds.

Kernels and helpers for the chapter on Su Jianlin's post 9593 (kexue.fm/archives/9593) and its
comment thread.

Entropy. For logits :math:`x\\in\\mathbb R^n` and :math:`p=\\operatorname{softmax}(x)` the entropy is
:math:`H=\\log Z-\\sum_i p_i x_i` with :math:`Z=\\sum_i e^{x_i}`. With every logit in
:math:`[-\\beta,\\beta]` the entropy is at least :math:`\\log n-g^*(\\beta)`, where a fraction
:math:`t` of the logits sits at :math:`-\\beta` and :math:`1-t` at :math:`+\\beta` and

.. math::  t^*(\\beta)=\\frac{1+\\coth\\beta}{2}-\\frac{\\beta}{2\\sinh^2\\beta},\\qquad
           g^*(\\beta)=\\beta\\coth\\beta-1+\\log\\frac{\\sinh\\beta}{\\beta}.

Robustness. :func:`noisy_attention_errors` measures :math:`\\|\\tilde o-o\\|/\\|o\\|` for the
attention output with and without iid noise on the logits, for many sequence lengths at once
(prefix sums of one long draw), together with the delta-method scale
:math:`\\sqrt{\\sum_i p_i^2\\|v_i-o\\|^2}/\\|o\\|`; multiplied by :math:`\\sqrt\\kappa`
(:func:`noise_kappa`) it predicts the root-mean-square error. :func:`rms_ratio` and
:func:`error_exponent` read a Monte Carlo run: the measured error over that law, and the power
of ``n`` at which the error falls, each with its standard error.

The jitted kernels are plain functions (``_*_impl``) compiled by a module-level ``jax.jit(...)``
call rather than decorated: ``make mutate`` (mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import scipy.optimize
from jax.typing import ArrayLike

from kexue_lib import numerics, stats, validate

Noise = Literal["gaussian", "laplace"]
NOISES: tuple[str, ...] = ("gaussian", "laplace")

__all__ = [
    "attention",
    "beta_for_entropy_floor",
    "entropy",
    "error_exponent",
    "first_n_with_vertex_count",
    "jacobian_norms",
    "min_entropy_gap",
    "min_entropy_vertex",
    "noise_kappa",
    "noisy_attention_errors",
    "projected_gradient_min_entropy",
    "rms",
    "rms_ratio",
    "two_level_gap",
]


# --------------------------------------------------------------------------------------------
# Entropy of a softmax
# --------------------------------------------------------------------------------------------


def _entropy(logits: jax.Array, axis: int = -1) -> jax.Array:
    """Entropy of softmax(logits) along ``axis``, traceable (no validation)."""
    logp = jax.nn.log_softmax(logits, axis=axis)
    # p log p with p = 0 (a logit ~ 700 below the largest) is 0: exp(logp) underflows to 0 and
    # logp stays finite, so the product is 0, never nan.
    return -jnp.sum(jnp.exp(logp) * logp, axis=axis)


_entropy_jit = jax.jit(_entropy, static_argnames="axis")


def entropy(logits: ArrayLike, axis: int = -1) -> jax.Array:
    """Entropy (nats) of ``softmax(logits)`` along ``axis``, stable for large logits.

    Computed as :math:`-\\sum_i p_i\\log p_i` from ``log_softmax``, which subtracts the largest
    logit first, so logits of size 1e4 (or a one-hot limit) give the right entropy instead of
    overflowing. The result is in ``[0, log n]`` up to rounding.

    Raises ``ValueError`` for a non-floating, empty or non-finite ``logits`` or an ``axis``
    outside the array's dimensions.
    """
    x = validate.array("logits", logits)
    if x.ndim == 0:
        raise ValueError("logits must have at least one dimension, got a scalar")
    axis = validate.integer("axis", axis, minimum=-x.ndim, maximum=x.ndim - 1)
    return _entropy_jit(x, axis=axis % x.ndim)


# --------------------------------------------------------------------------------------------
# Two-level logits: the minimum entropy over [-beta, beta]^n
# --------------------------------------------------------------------------------------------


def _mp_beta(beta: object) -> mpmath.mpf:
    validate.real("beta", beta, positive=True)
    return mpmath.mpf(beta) if not isinstance(beta, mpmath.mpf) else beta


def _guard_digits(beta: mpmath.mpf) -> int:
    """Extra decimal digits lost to cancellation for small beta (t* and g* are O(1) - O(1/beta))."""
    return 10 + max(0, int(2 * -mpmath.log10(beta)) + 1)


def two_level_gap(t: object, beta: object) -> mpmath.mpf:
    """The entropy deficit ``log n - H`` of logits with a fraction ``t`` at -beta, ``1 - t`` at +beta.

    .. math:: g(t)=\\beta\\,\\frac{(1-t)e^{\\beta}-te^{-\\beta}}{D}-\\log D,\\qquad
              D=te^{-\\beta}+(1-t)e^{\\beta}.

    It does not depend on ``n`` (when ``t n`` is an integer). Evaluated with mpmath at the current
    ``mpmath.mp`` precision. ``t`` must lie in ``[0, 1]`` and ``beta`` be positive.
    """
    tf = validate.real("t", t, nonnegative=True)
    if tf > 1:
        raise ValueError(f"t must be <= 1, got {tf}")
    b = _mp_beta(beta)
    t = mpmath.mpf(t) if not isinstance(t, mpmath.mpf) else t
    # Scaled by e^{-beta} so that large beta does not matter: D' = t e^{-2b} + (1 - t).
    q = mpmath.exp(-2 * b)
    d = t * q + (1 - t)
    return b * ((1 - t) - t * q) / d - (mpmath.log(d) + b)


def min_entropy_gap(beta: object) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The optimal two-level fraction ``t*`` at -beta and the largest entropy deficit ``g*``.

    Closed form (derived with sympy in the chapter):
    ``t* = (1 + coth b)/2 - b/(2 sinh(b)^2)`` and ``g* = b coth b - 1 + log(sinh(b)/b)``;
    at ``b = 1``, ``t* = (e^4 - 3e^2)/(1 - 2e^2 + e^4)``. Every softmax of ``n`` logits in
    ``[-b, b]`` has entropy ``>= log n - g*``. Both values are ``mpmath.mpf`` correct to the
    current ``mpmath.mp.dps`` (guard digits are added for small ``b``, where the closed forms
    cancel). Raises ``ValueError`` unless ``beta > 0`` and finite.
    """
    b = _mp_beta(beta)
    dps = mpmath.mp.dps
    with mpmath.workdps(dps + _guard_digits(b)):
        b = mpmath.mpf(b)
        coth, sinh = mpmath.coth(b), mpmath.sinh(b)
        t_star = (1 + coth) / 2 - b / (2 * sinh**2)
        gap = b * coth - 1 + mpmath.log(sinh / b)
    return +t_star, +gap


def _vertex_entropy(n: int, k: int, b: mpmath.mpf) -> mpmath.mpf:
    """Entropy of k logits at +b and n - k at -b (mpmath, scaled so large b cannot overflow)."""
    q = mpmath.exp(-2 * b)
    z = k + (n - k) * q  # Z e^{-b}
    mean = b * (k - (n - k) * q) / z
    return mpmath.log(z) + b - mean


def min_entropy_vertex(n: int, beta: object) -> tuple[int, mpmath.mpf]:
    """The entropy-minimising vertex of ``[-beta, beta]^n``: ``(k, H)`` with ``k`` logits at +beta.

    ``H`` is that minimal entropy (``mpmath.mpf`` at the current precision). Ties go to the
    smaller ``k``; ``n = 1`` gives ``(0, 0)``. Because the two-level deficit is unimodal in the
    fraction, only the integers next to ``n (1 - t*)`` need checking, so the cost does not grow
    with ``n``. Raises ``ValueError`` for a non-integer or ``n < 1``, or ``beta <= 0``.
    """
    n = validate.integer("n", n, minimum=1)
    b = _mp_beta(beta)
    if n == 1:
        return 0, mpmath.mpf(0)
    # Neighbouring vertices differ in entropy by O(1/n^2): compare them with 2 digits(n) extra digits.
    with mpmath.workdps(mpmath.mp.dps + 2 * len(str(n)) + 5):
        t_star, _ = min_entropy_gap(b)
        centre = n * (1 - t_star)
        lo, hi = int(mpmath.floor(centre)) - 1, int(mpmath.ceil(centre)) + 1
        best_k, best_h = 0, mpmath.log(n)  # k = 0 (all equal) is the maximum, log n
        for k in range(max(1, lo), min(n - 1, hi) + 1):
            h = _vertex_entropy(n, k, b)
            if h < best_h:
                best_k, best_h = k, h
    return best_k, +best_h


def first_n_with_vertex_count(beta: object, k: int = 2) -> int:
    """The smallest ``n`` whose entropy-minimising vertex has at least ``k`` logits at ``+beta``.

    The count ``k(n)`` of :func:`min_entropy_vertex` never decreases with ``n`` (it is the
    better of ``floor`` and ``ceil`` of ``n (1 - t*)``, and a step from ``n`` to ``n + 1`` moves
    both candidate fractions the way that keeps the larger one ahead), so the answer is an exact
    integer search (:func:`kexue_lib.numerics.first_true`) over ``k(n) >= k``. Every ``n`` below
    it has fewer than ``k`` logits at ``+beta``. Raises ``ValueError`` for ``beta <= 0`` or
    ``k < 1``.
    """
    b = _mp_beta(beta)
    k = validate.integer("k", k, minimum=1)
    return numerics.first_true(lambda n: min_entropy_vertex(n, b)[0] >= k, 1)


def beta_for_entropy_floor(n: int, target: object, *, rtol: float = 1e-12) -> float:
    """The ``beta`` at which the minimum entropy over ``[-beta, beta]^n`` equals ``target``.

    The minimum (:func:`min_entropy_vertex`) is continuous in ``beta`` and strictly decreasing
    (each vertex entropy is, with ``dH/dbeta = -beta Var_p(x/beta)``), from ``log n`` at
    ``beta -> 0`` to 0 as ``beta -> inf``, so the crossing is unique: it is bracketed by
    doubling and found by Brent's method (:func:`scipy.optimize.brentq`) to relative
    accuracy ``rtol``. The temperature is ``1 / beta``. ``target`` must be in ``(0, log n)``;
    ``n >= 2``.
    """
    n = validate.integer("n", n, minimum=2)
    target = validate.real("target", target, positive=True)
    rtol = validate.real("rtol", rtol, positive=True)
    if target >= math.log(n):
        raise ValueError(f"target must be < log n = {math.log(n):.6g}, got {target}")

    def excess(b: float) -> float:
        return float(min_entropy_vertex(n, b)[1]) - target

    lo, hi = 0.5, 1.0
    while excess(hi) > 0:
        lo, hi = hi, 2 * hi
    while lo > 1e-300 and excess(lo) < 0:
        lo /= 2
    return float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=max(rtol, 4e-16)))


def _jacobian_norms_impl(logits: jax.Array) -> tuple[jax.Array, jax.Array]:
    jac = jax.vmap(jax.jacfwd(jax.nn.softmax))(logits)
    p = jax.nn.softmax(logits)
    return jnp.linalg.norm(jac, ord=2, axis=(1, 2)), 2 * jnp.max(p * (1 - p), axis=1)


_jacobian_norms = jax.jit(_jacobian_norms_impl)


def jacobian_norms(logits: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """The spectral norm of the softmax Jacobian at each row of ``logits``, and its bound.

    The Jacobian of ``softmax`` at ``x`` is ``diag(p) - p pᵀ`` (forward-mode autodiff here,
    not the formula); its spectral norm is at most ``2 max_i p_i (1 - p_i) <= 1/2``. ``logits``
    has shape ``(batch, n)``; returns ``(norm, bound)``, each of shape ``(batch,)``.
    """
    x = validate.array("logits", logits, ndim=2)
    return _jacobian_norms(x)


def _pgd_impl(x0: jax.Array, beta: jax.Array, lr: jax.Array, steps: int) -> jax.Array:
    grad = jax.vmap(jax.grad(_entropy))

    def step(_: int, x: ArrayLike) -> jax.Array:
        return jnp.clip(x - lr * grad(x), -beta, beta)

    return jax.lax.fori_loop(0, steps, step, x0)


_pgd = jax.jit(_pgd_impl, static_argnames=("steps",))


def projected_gradient_min_entropy(
    key: jax.Array, n: int, beta: float, *, starts: int = 256, steps: int = 500, lr: float | None = None
) -> tuple[jax.Array, jax.Array]:
    """Minimise the softmax entropy over the box ``[-beta, beta]^n`` by projected gradient descent.

    ``starts`` runs from points drawn uniformly in the box; each takes ``steps`` steps
    ``x <- clip(x - lr * grad H(x), -beta, beta)``. The gradient is ``-p_i (x_i - E_p x)``, of size
    about ``beta / n``, so the default ``lr = n`` moves a coordinate by O(beta) per step. Returns
    the final points ``(starts, n)`` and their entropies ``(starts,)``.
    """
    key = validate.prng_key("key", key)
    n = validate.integer("n", n, minimum=1)
    beta = validate.real("beta", beta, positive=True)
    starts = validate.integer("starts", starts, minimum=1)
    steps = validate.integer("steps", steps, minimum=1)
    lr = float(n) if lr is None else validate.real("lr", lr, positive=True)
    x0 = jax.random.uniform(key, (starts, n), minval=-beta, maxval=beta)
    x = _pgd(x0, jnp.asarray(beta, x0.dtype), jnp.asarray(lr, x0.dtype), steps)
    return x, _entropy_jit(x)


# --------------------------------------------------------------------------------------------
# Robustness of attention to iid logit noise
# --------------------------------------------------------------------------------------------


def attention(scores: ArrayLike, values: ArrayLike) -> jax.Array:
    """The attention output ``sum_i softmax(scores)_i values_i``.

    ``scores`` has shape ``(..., n)`` and ``values`` ``(..., n, d)``.

    Stable for large scores (softmax subtracts the maximum). Raises ``ValueError`` if the shapes
    do not match or an input is not a finite floating array.
    """
    s = validate.array("scores", scores)
    v = validate.array("values", values)
    if v.ndim < 2 or s.ndim != v.ndim - 1:
        raise ValueError(
            "values must have one more dimension than scores, "
            f"got shapes {tuple(s.shape)} and {tuple(v.shape)}"
        )
    validate.same_shape("scores", s, "values[..., 0]", v[..., 0])
    return jnp.einsum("...n,...nd->...d", jax.nn.softmax(s, axis=-1), v)


def noise_kappa(noise: str, scale: object) -> float:
    """``Var(e^eps) / E[e^eps]^2`` for the noise law; ``inf`` when ``E[e^{2 eps}]`` diverges.

    Gaussian with standard deviation ``scale``: ``e^{scale^2} - 1``. Laplace with scale ``b``:
    ``E[e^{t eps}] = 1/(1 - b^2 t^2)`` for ``|t| < 1/b``, so ``kappa = (1 - b^2)^2/(1 - 4b^2) - 1``
    for ``b < 1/2`` and infinite otherwise.
    """
    validate.choice("noise", noise, NOISES)
    s = validate.real("scale", scale, nonnegative=True)
    if noise == "gaussian":
        return math.expm1(s * s)
    if 2 * s >= 1:
        return math.inf
    return (1 - s * s) ** 2 / (1 - 4 * s * s) - 1


#: Trials per step of the Monte Carlo loop (at most; the largest divisor of ``trials`` up to it).
_CHUNK = 8


def _noisy_errors_impl(keys, idx, n_max, d, chunk, laplace, scale, coupling, logit_scale):
    dtype = jnp.result_type(float)
    mu = jnp.full((d,), 1 / math.sqrt(d), dtype)  # |mu| = 1
    # Position i (0-based) belongs to segment j = #{ns below i + 1}; summing each segment and then
    # accumulating over the few segments gives the prefix sums at every n in ns in O(n_max) work
    # per trial.
    seg = jnp.searchsorted(idx, jnp.arange(n_max), side="left")
    segments = idx.shape[0]
    # columns w v, w (first power of the weights), then w² v, w², w² |v|² (second power)
    power = jnp.concatenate([jnp.ones(d + 1, dtype), jnp.full(d + 2, 2.0, dtype)])

    def accumulate(carry, part):
        # prefix sums rescaled to the running largest score, as online softmax does: a prefix
        # whose scores all lie far below a later one neither underflows nor divides 0 by 0
        total, top = carry
        sums, m = part
        new = jnp.maximum(top, m)
        total = total * jnp.exp(power * (top - new)) + sums * jnp.exp(power * (m - new))
        return (total, new), total

    def prefix_means(logits, v):
        m = jax.ops.segment_max(logits, seg, num_segments=segments)  # each segment's top score
        w = jnp.exp(logits - m[seg])
        w2 = w * w
        stacked = jnp.concatenate(
            [w[:, None] * v, w[:, None], w2[:, None] * v, w2[:, None],
             (w2 * jnp.sum(v * v, axis=-1))[:, None]], axis=-1)
        init = (jnp.zeros(2 * d + 3, dtype), jnp.asarray(-jnp.inf, dtype))
        _, sums = jax.lax.scan(
            accumulate, init, (jax.ops.segment_sum(stacked, seg, num_segments=segments), m))
        num, den = sums[:, :d], sums[:, d]
        w2v, w2s, w2vv = sums[:, d + 1:2 * d + 1], sums[:, 2 * d + 1], sums[:, 2 * d + 2]
        return num / den[:, None], den, w2s, w2v, w2vv

    def one_trial(key):
        ks, kz, ke = jax.random.split(key, 3)
        s = logit_scale * jax.random.normal(ks, (n_max,), dtype)
        z = jax.random.normal(kz, (n_max, d), dtype)
        v = mu + z
        # both laws are drawn (cheap next to the values) so that one compilation serves both
        xi = jnp.where(laplace, jax.random.laplace(ke, (n_max,), dtype),
                       jax.random.normal(ke, (n_max,), dtype))
        eps = scale * xi + coupling * z[:, 0]
        o, den, w2, w2v, w2vv = prefix_means(s, v)
        o_noisy = prefix_means(s + eps, v)[0]
        o_norm = jnp.linalg.norm(o, axis=-1)
        err = jnp.linalg.norm(o_noisy - o, axis=-1) / o_norm
        # sum_i p_i^2 |v_i - o|^2 with p_i = w_i / den, expanded so that prefix sums give every n.
        spread2 = (w2vv - 2 * jnp.sum(o * w2v, axis=-1) + w2 * jnp.sum(o * o, axis=-1)) / den**2
        return err, jnp.sqrt(jnp.maximum(spread2, 0)) / o_norm

    # chunks of trials in sequence (lax.map), the trials of a chunk vectorised: memory O(chunk n)
    err, spread = jax.lax.map(jax.vmap(one_trial), keys.reshape(-1, chunk, *keys.shape[1:]))
    return err.reshape(-1, segments), spread.reshape(-1, segments)


_noisy_errors = jax.jit(_noisy_errors_impl, static_argnames=("n_max", "d", "chunk"))


def noisy_attention_errors(
    key: jax.Array,
    ns: object,
    *,
    d: int = 8,
    trials: int = 256,
    noise: str = "gaussian",
    scale: float = 1.0,
    coupling: float = 0.0,
    logit_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Relative error ``|o~ - o| / |o|`` of attention under logit noise, for every length in ``ns``.

    Each trial draws scores ``s_i ~ N(0, logit_scale^2)``, values ``v_i = mu + z_i`` with
    ``z_i ~ N(0, I_d)`` and ``|mu| = 1``, and noise ``eps_i = scale * xi_i + coupling * z_i[0]`` with
    ``xi_i`` iid standard ``noise`` (Gaussian or Laplace). ``coupling = 0`` is the post's setting
    (noise independent of the values); ``coupling != 0`` correlates the noise with the values.
    The outputs with the first ``n`` tokens, for each ``n`` in ``ns``, come from prefix sums of
    one draw of ``max(ns)`` tokens, so the curves over ``n`` are nested.

    Trial ``j`` draws from ``jax.random.split(key, trials)[j]`` (split in three: scores, values,
    noise), so a trial's numbers do not depend on how many trials run; the trials run in chunks
    of up to 8, so memory grows with ``8 max(ns)``, not with ``trials max(ns)``. The prefix sums
    are rescaled to the running largest score (as online softmax does), so scores of any size
    are safe, however far the first tokens' scores lie below a later one's.

    Returns ``(err, spread)``, arrays ``(trials, len(ns))``: the relative error, and the
    delta-method scale ``sqrt(sum_i p_i^2 |v_i - o|^2) / |o|``; for independent noise with
    finite :func:`noise_kappa` the error's root mean square is ``sqrt(kappa) * spread`` to
    leading order in ``1/n``.
    """
    key = validate.prng_key("key", key)
    ns_list = _lengths(ns)
    d = validate.integer("d", d, minimum=1)
    trials = validate.integer("trials", trials, minimum=1)
    validate.choice("noise", noise, NOISES)
    scale = validate.real("scale", scale, nonnegative=True)
    coupling = validate.real("coupling", coupling)
    logit_scale = validate.real("logit_scale", logit_scale, nonnegative=True)
    chunk = max(c for c in range(1, _CHUNK + 1) if trials % c == 0)
    idx = jnp.asarray(np.asarray(ns_list) - 1)
    err, spread = _noisy_errors(jax.random.split(key, trials), idx, max(ns_list), d, chunk,
                                noise == "laplace", scale, coupling, logit_scale)
    return np.asarray(err), np.asarray(spread)


def _lengths(ns: object) -> list[int]:
    """``ns`` checked: a non-empty, strictly increasing 1-D sequence of positive integers."""
    ns_arr = np.asarray(ns)
    if ns_arr.ndim != 1 or ns_arr.size == 0 or not np.issubdtype(ns_arr.dtype, np.integer):
        raise ValueError(f"ns must be a non-empty 1-D sequence of integers, got {ns!r}")
    ns_list = [validate.integer("ns[i]", int(m), minimum=1) for m in ns_arr]
    if any(b <= a for a, b in itertools.pairwise(ns_list)):
        raise ValueError(f"ns must be strictly increasing, got {ns_list}")
    return ns_list


# --------------------------------------------------------------------------------------------
# Reading a Monte Carlo run: the law, and the rate, with standard errors
# --------------------------------------------------------------------------------------------


def _trials_by_lengths(name: str, x: ArrayLike, positive: bool = False) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(f"{name} must be 2-D (trials, lengths) with at least 2 trials, got shape "
                         f"{a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must have only finite entries")
    if positive and not np.all(a > 0):
        raise ValueError(f"{name} must be positive (its logarithm is taken)")
    return a


def rms(err: ArrayLike) -> np.ndarray:
    """The root mean square over trials (axis 0) of a ``(trials, lengths)`` array, per length."""
    e = _trials_by_lengths("err", err)
    return np.sqrt(np.mean(e**2, axis=0))


def rms_ratio(err: ArrayLike, spread: ArrayLike, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """The measured RMS error over the leading-order law, per length, with standard errors.

    ``R = sqrt(mean(err²) / (kappa mean(spread²)))`` over the trials (axis 0) of the two
    ``(trials, lengths)`` outputs of :func:`noisy_attention_errors` (paired: the same trials).
    Its standard error is the delta method's: ``log R`` is to first order the mean of the iid
    per-trial terms ``(err²/mean(err²) - spread²/mean(spread²)) / 2``, so
    ``se(R) = R · se`` of that mean (:func:`kexue_lib.stats.mean_se`). Returns ``(R, se)``.
    """
    e = _trials_by_lengths("err", err)
    s = _trials_by_lengths("spread", spread, positive=True)
    validate.same_shape("err", e, "spread", s)
    kappa = validate.real("kappa", kappa, positive=True)
    me, ms = np.mean(e**2, axis=0), np.mean(s**2, axis=0)
    _, se_log = stats.mean_se(0.5 * (e**2 / me - s**2 / ms), axis=0)
    ratio = np.sqrt(me / (kappa * ms))
    return ratio, ratio * se_log


STATISTICS: tuple[str, ...] = ("rms", "geometric")


def error_exponent(
    ns: object,
    err: ArrayLike,
    *,
    window: tuple[int, int],
    statistic: str = "rms",
    reference: ArrayLike | None = None,
) -> tuple[float, float]:
    """The power ``p`` in ``error ∝ n^p`` over ``window = (lo, hi)``, with its standard error.

    ``err`` is ``(trials, len(ns))`` (the nested curves of :func:`noisy_attention_errors`); the
    fit is least squares of a log statistic on ``log n`` over the lengths in ``[lo, hi]`` (at
    least two). The statistic:

    - ``"rms"``: ``log`` of the root mean square over trials, or, with ``reference`` (paired,
      same shape), of the ratio ``rms(err)/rms(reference)``. The slope is
      ``Σ_j c_j log rms_j`` (``c_j`` the least-squares weights), and its standard error is the
      delta method's: to first order the slope is the mean of iid per-trial terms
      ``Σ_j c_j (err_j²/mean(err_j²) - ref_j²/mean(ref_j²)) / 2``.
    - ``"geometric"``: the mean over trials of each trial's own slope of ``log err`` (the
      slope of the geometric mean), whose standard error is that of a mean of iid numbers.
      It needs no finite moment of ``err``: the one to use when the mean square is infinite.

    Returns ``(slope, standard error)``; the standard error is ``std(ddof=1)/√trials`` of the
    per-trial terms (:func:`kexue_lib.stats.mean_se`).
    """
    ns_list = _lengths(ns)
    validate.choice("statistic", statistic, STATISTICS)
    e = _trials_by_lengths("err", err, positive=True)
    if e.shape[1] != len(ns_list):
        raise ValueError(f"err must have one column per length ({len(ns_list)}), got {e.shape[1]}")
    lo, hi = (validate.integer(name, v, minimum=1) for name, v in zip(("lo", "hi"), window,
                                                                     strict=True))
    cols = np.flatnonzero((np.asarray(ns_list) >= lo) & (np.asarray(ns_list) <= hi))
    if cols.size < 2:
        raise ValueError(f"window {window} must hold at least 2 of the lengths {ns_list}")
    x = np.log(np.asarray(ns_list, dtype=np.float64)[cols])
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)  # slope = Σ c_j y_j
    e = e[:, cols]
    if statistic == "geometric":
        if reference is not None:
            raise ValueError("reference is only used with statistic='rms'")
        slopes = np.log(e) @ c
        slope, se = stats.mean_se(slopes)
        return float(slope), float(se)
    me = np.mean(e**2, axis=0)
    terms = 0.5 * (e**2 / me)
    y = 0.5 * np.log(me)
    if reference is not None:
        r = _trials_by_lengths("reference", reference, positive=True)
        validate.same_shape("err", np.asarray(err), "reference", r)
        r = r[:, cols]
        mr = np.mean(r**2, axis=0)
        terms = terms - 0.5 * (r**2 / mr)
        y = y - 0.5 * np.log(mr)
    _, se = stats.mean_se(terms @ c)
    return float(y @ c), float(se)
