"""Learning-rate schedules and the last-iterate bound of SGD (Scientific Spaces, post 11494).

For SGD on a convex loss whose stochastic gradients satisfy ``E||g||² <= G²``, started at
distance ``D`` from a minimiser, the last iterate obeys (post 11494, eq. (10))

    E[L(θ_T) - L(θ*)] <= D² / (2 η_{1:T}) + (G²/2) Σ_t η_t² / η_{min(t+1,T):T},

with ``η_{k:T} = η_k + ... + η_T``. This module evaluates that bound for any schedule in O(T),
its exact gradient (JAX), the best scale of a schedule, and the schedule that minimises the
bound exactly (a closed-form backward recursion, :func:`optimal_schedule`). It also holds the
weighted identity (2) behind the bound, for any number type, and a simulator of SGD on a
sharp one-dimensional absolute-value problem with a known optimum.

Every numerical kernel runs in float64 (inside ``jax.enable_x64``) whatever the global JAX
setting, and returns NumPy arrays or Python floats. The jitted kernels are plain functions
compiled by a module-level ``jax.jit(...)`` call rather than decorated: ``make mutate`` (mutmut)
does not mutate decorated functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.typing import ArrayLike

from kexue_lib import validate

__all__ = [
    "BOUNDS",
    "FAMILIES",
    "SGDRun",
    "average_loss_bound",
    "bound_value_and_grad",
    "constant_schedule",
    "cosine_decay",
    "inverse_sqrt_schedule",
    "inverse_t_schedule",
    "last_iterate_bound",
    "linear_decay",
    "minimise_bound_numerically",
    "optimal_bound",
    "optimal_schedule",
    "optimal_tail_values",
    "previous_last_iterate_bound",
    "simulate_sgd_abs",
    "tune_scale",
    "tuned_bound_curve",
    "weighted_identity_rhs",
]


# --- schedules ------------------------------------------------------------------------------


def linear_decay(T: int, alpha: float = 1.0) -> np.ndarray:
    """Linear decay, eq. (11): ``η_t = α (1 - t/(T+1))`` for ``t = 1..T`` (float64, length T)."""
    T = validate.integer("T", T, minimum=1)
    alpha = validate.real("alpha", alpha, positive=True)
    t = np.arange(1, T + 1, dtype=np.float64)
    return alpha * (1.0 - t / (T + 1))


def constant_schedule(T: int, alpha: float = 1.0) -> np.ndarray:
    """The constant schedule ``η_t = α`` for ``t = 1..T`` (float64, length T)."""
    T = validate.integer("T", T, minimum=1)
    alpha = validate.real("alpha", alpha, positive=True)
    return np.full(T, alpha, dtype=np.float64)


def inverse_sqrt_schedule(T: int, alpha: float = 1.0) -> np.ndarray:
    """The anytime schedule ``η_t = α/√t`` for ``t = 1..T`` (float64, length T)."""
    T = validate.integer("T", T, minimum=1)
    alpha = validate.real("alpha", alpha, positive=True)
    return alpha / np.sqrt(np.arange(1, T + 1, dtype=np.float64))


def inverse_t_schedule(T: int, alpha: float = 1.0) -> np.ndarray:
    """The anytime schedule ``η_t = α/t`` for ``t = 1..T`` (float64, length T)."""
    T = validate.integer("T", T, minimum=1)
    alpha = validate.real("alpha", alpha, positive=True)
    return alpha / np.arange(1, T + 1, dtype=np.float64)


def cosine_decay(T: int, alpha: float = 1.0) -> np.ndarray:
    """Cosine decay ``η_t = α (1 + cos(π t/(T+1)))/2`` for ``t = 1..T`` (float64, length T).

    Shifted to ``T + 1`` as the post shifts linear decay (11), so that ``η_T > 0`` and the
    bound (10) stays finite; the usual ``cos(π t/T)`` form ends at zero, which (10) cannot
    accept (:func:`last_iterate_bound` returns ``inf``).
    """
    T = validate.integer("T", T, minimum=1)
    alpha = validate.real("alpha", alpha, positive=True)
    t = np.arange(1, T + 1, dtype=np.float64)
    return alpha * 0.5 * (1.0 + np.cos(np.pi * t / (T + 1)))


# --- the bound (10) -------------------------------------------------------------------------


def _bound_terms(eta: Any, xp: Any = np) -> tuple[Any, Any]:
    """``(η_{1:T}, Σ_t η_t²/η_{min(t+1,T):T})`` in O(T), with ``0²/0 = 0`` and ``x²/0 = ∞``.

    ``xp`` is the array module: NumPy for values (no compilation per length, so scans over many
    T stay fast), ``jax.numpy`` inside the jitted gradient. The tail sums are accumulated from
    the end (a reversed cumulative sum), so the small tails near ``t = T`` carry no cancellation
    error, unlike ``η_{1:T} - η_{1:t}``.
    """
    tail = xp.cumsum(eta[::-1])[::-1]  # tail[i] = η_{i+1:T} (0-based i)
    denom = xp.concatenate([tail[1:], eta[-1:]])  # η_{min(t+1,T):T}
    positive = denom > 0
    ratio = eta**2 / xp.where(positive, denom, 1.0)
    terms = xp.where(eta > 0, xp.where(positive, ratio, xp.inf), 0.0)
    return tail[0], xp.sum(terms)


def _bound(eta: jax.Array, D: jax.Array, G: jax.Array) -> jax.Array:
    total, quad = _bound_terms(eta, jnp)
    return D**2 / (2.0 * total) + 0.5 * G**2 * quad


_bound_value_and_grad = jax.jit(jax.value_and_grad(_bound))


def _check_schedule(eta: Any, name: str = "eta") -> np.ndarray:
    """Validate a schedule: 1-D, finite, floating, >= 0, not all zero; returned as float64 NumPy."""
    with jax.enable_x64(True):  # so that float64 input is not rounded to float32 on the way
        eta = np.asarray(validate.array(name, eta, ndim=1), dtype=np.float64)
    if np.any(eta < 0):
        raise ValueError(f"{name} must be >= 0 (a learning rate cannot be negative), got min {eta.min()}")
    if not np.any(eta > 0):
        raise ValueError(f"{name} must not be all zero (the bound D²/(2 η_{{1:T}}) would be infinite)")
    return eta


def _check_scales(D: Any, G: Any) -> tuple[float, float]:
    return validate.real("D", D, positive=True), validate.real("G", G, positive=True)


def last_iterate_bound(eta: ArrayLike, D: float = 1.0, G: float = 1.0) -> float:
    """The right-hand side of eq. (10) for the schedule ``eta = (η_1, ..., η_T)``.

    ``D²/(2 η_{1:T}) + (G²/2) Σ_t η_t²/η_{min(t+1,T):T}``, computed in O(T) with reversed
    cumulative sums in float64. A schedule whose tail vanishes while an earlier rate is positive
    (``η_{t+1:T} = 0 < η_t``) makes the bound vacuous: the result is ``inf``.

    Raises ``ValueError`` for a non-1-D, non-finite, negative or all-zero ``eta``, or for
    ``D <= 0`` or ``G <= 0``.
    """
    D, G = _check_scales(D, G)
    eta = _check_schedule(eta)
    total, quad = _bound_terms(eta)
    return float(D**2 / (2 * total) + G**2 / 2 * quad)


def bound_value_and_grad(eta: ArrayLike, D: float = 1.0, G: float = 1.0) -> tuple[float, np.ndarray]:
    """The bound (10) and its exact gradient with respect to every ``η_t`` (JAX autodiff, float64)."""
    D, G = _check_scales(D, G)
    eta = _check_schedule(eta)
    with jax.enable_x64(True):
        value, grad = _bound_value_and_grad(jnp.asarray(eta), jnp.float64(D), jnp.float64(G))
        return float(value), np.asarray(grad)


#: The bounds :func:`tune_scale` can tune: (10), the average-iterate bound from (6), and the
#: last-iterate bound of the previous post (11480), which needs a non-increasing schedule.
BOUNDS: tuple[str, ...] = ("last_iterate", "average", "previous")


def _parts(shape: np.ndarray, bound: str) -> tuple[float, float]:
    """``(A, B)`` with the bound of ``α·shape`` equal to ``D² A/α + G² B α`` (bound at α = 1)."""
    if bound == "last_iterate":
        total, quad = (float(x) for x in _bound_terms(shape))
        if not math.isfinite(quad):
            raise ValueError("shape has a vanishing tail after a positive rate: its bound is "
                             "infinite")
        return 1 / (2 * total), quad / 2
    if bound == "average":
        total = float(np.sum(shape))
        return 1 / (2 * total), float(np.sum(shape**2)) / (2 * total)
    if np.any(np.diff(shape) > 0) or not shape[-1] > 0:
        raise ValueError("the previous post's bound needs a non-increasing schedule with "
                         "η_T > 0")
    T = shape.size
    m = np.maximum(1, T - np.arange(1, T + 1))  # max(1, T - t)
    return 1 / (2 * T * shape[-1]), float(np.sum(shape**2 / (m * shape[-1]))) / 2


def _tune(shape: np.ndarray, D: float, G: float, bound: str = "last_iterate") -> tuple[float, float]:
    A, B = _parts(shape, bound)
    a, b = D**2 * A, G**2 * B
    return math.sqrt(a / b), 2 * math.sqrt(a * b)


def tune_scale(
    shape: Any, D: float = 1.0, G: float = 1.0, *, bound: str = "last_iterate"
) -> tuple[float, float]:
    """The scale ``α`` minimising a bound of ``α·shape``, and that minimal bound.

    Each bound of ``α·shape`` is ``a/α + b·α``, so the best ``α = √(a/b)`` and the bound there
    is ``2√(ab)``. ``bound`` chooses which:

    - ``"last_iterate"``, eq. (10): ``a = D²/(2 shape_{1:T})``,
      ``b = (G²/2) Σ shape_t²/shape_{min(t+1,T):T}``;
    - ``"average"``, eq. (6) with ``φ = θ*`` divided by ``η_{1:T}`` (the weighted average of
      the iterates' losses): ``a = D²/(2 shape_{1:T})``, ``b = (G²/2) Σ shape_t²/shape_{1:T}``;
    - ``"previous"``, the previous post's last-iterate bound (10) with ``η_{1:T}`` and
      ``η_{min(t+1,T):T}`` replaced by ``T η_T`` and ``max(1, T-t) η_T`` (non-increasing
      schedules only): ``a = D²/(2 T shape_T)``,
      ``b = (G²/2) Σ shape_t²/(max(1, T-t) shape_T)``.

    Returns ``(α, bound)``. Raises ``ValueError`` for an unknown ``bound``, a bad shape, or a
    shape the chosen bound does not accept.
    """
    D, G = _check_scales(D, G)
    validate.choice("bound", bound, BOUNDS)
    return _tune(_check_schedule(shape, "shape"), D, G, bound)


def average_loss_bound(eta: ArrayLike, D: float = 1.0, G: float = 1.0) -> float:
    """The bound on the ``η``-weighted average excess loss from (6) with ``φ = θ*``.

    ``Σ_t η_t E[L(θ_t) - L(θ*)] / η_{1:T} <= (D²/2 + (G²/2) Σ_t η_t²) / η_{1:T}``; by
    Cauchy–Schwarz it is least, for a given ``η_{1:T}``, at a constant schedule, and its best
    value is ``D·G/√T`` at ``η_t = D/(G√T)``.
    """
    D, G = _check_scales(D, G)
    eta = _check_schedule(eta)
    return float((D**2 / 2 + G**2 / 2 * np.sum(eta**2)) / np.sum(eta))


def previous_last_iterate_bound(eta: ArrayLike, D: float = 1.0, G: float = 1.0) -> float:
    """The last-iterate bound of the previous post (11480), for a non-increasing schedule.

    ``D²/(2 T η_T) + (G²/2) Σ_t η_t²/(max(1, T-t) η_T)``: eq. (10) with ``η_{1:T}`` and
    ``η_{min(t+1,T):T}`` replaced by the smaller ``T η_T`` and ``max(1, T-t) η_T``. Raises
    ``ValueError`` unless ``eta`` is non-increasing with ``η_T > 0``.
    """
    D, G = _check_scales(D, G)
    eta = _check_schedule(eta)
    A, B = _parts(eta, "previous")
    return float(D**2 * A + G**2 * B)


#: The schedule families :func:`tuned_bound_curve` knows, as functions of T (with α = 1).
FAMILIES = {
    "constant": lambda T: constant_schedule(T),
    "inverse_sqrt": lambda T: inverse_sqrt_schedule(T),
    "inverse_t": lambda T: inverse_t_schedule(T),
    "cosine": lambda T: cosine_decay(T),
    "linear_decay": lambda T: linear_decay(T),
    "optimal": lambda T: optimal_schedule(T),
}


def tuned_bound_curve(family: str, Ts: ArrayLike, D: float = 1.0, G: float = 1.0) -> np.ndarray:
    """The bound (10) of a schedule family at its best scale (:func:`tune_scale`), for each T in Ts.

    ``family`` is one of ``"constant"`` (α), ``"inverse_sqrt"`` (α/√t), ``"inverse_t"`` (α/t),
    ``"cosine"`` (:func:`cosine_decay`), ``"linear_decay"`` (α(1 - t/(T+1))) or ``"optimal"``
    (:func:`optimal_schedule`, whose bound is ``D·G·√V_1``).
    """
    validate.choice("family", family, sorted(FAMILIES))
    D, G = _check_scales(D, G)
    Ts = [validate.integer("T", T, minimum=1) for T in np.atleast_1d(np.asarray(Ts, dtype=object))]
    if family == "optimal":
        v = _universal_tail_values(max(Ts))
        return D * G * np.sqrt(v[np.asarray(Ts) - 1])
    return np.array([_tune(FAMILIES[family](T), D, G)[1] for T in Ts])


# --- the exact minimiser of (10) --------------------------------------------------------------


def _tail_recursion_impl(n: jax.Array, buffer: jax.Array) -> jax.Array:
    """``v_0 = 1``, ``v_{j+1} = 2(√(1+v_j) - 1)``, written without cancellation, into ``buffer[:n]``."""

    def step(j: jax.Array, vs: jax.Array) -> jax.Array:
        v = vs[j - 1]
        return vs.at[j].set(2.0 * v / (jnp.sqrt(1.0 + v) + 1.0))

    return jax.lax.fori_loop(1, n, step, buffer.at[0].set(1.0))


_tail_recursion = jax.jit(_tail_recursion_impl)


_TAIL_CACHE: dict[int, np.ndarray] = {}


def _universal_tail_values(T: int) -> np.ndarray:
    """``v_0, v_1, ...`` (at least T of them): ``V_k`` of horizon T is ``v_{T-k}``, for every T at once.

    Computed once per power-of-two length (one compilation each) and cached.
    """
    size = max(1024, 1 << (T - 1).bit_length())
    if size not in _TAIL_CACHE:
        with jax.enable_x64(True):
            _TAIL_CACHE[size] = np.asarray(_tail_recursion(jnp.int32(size), jnp.zeros(size, jnp.float64)))
    return _TAIL_CACHE[size]


def optimal_tail_values(T: int) -> np.ndarray:
    """``V_1, ..., V_T``: the least value of the tail of the bound per unit of tail mass.

    ``V_k = min Σ_{t=k}^{T-1} η_t²/η_{t+1:T} + η_T`` over schedules with ``η_{k:T} = 1``. They
    obey ``V_T = 1`` and ``V_k = 2√(1 + V_{k+1}) - 2``, the minimum over the ratio
    ``r = η_{k+1:T}/η_{k:T}`` of ``(1-r)²/r + r V_{k+1}``, reached at ``r = 1/√(1 + V_{k+1})``.
    """
    T = validate.integer("T", T, minimum=1)
    return _universal_tail_values(T)[:T][::-1].copy()


def optimal_bound(T: int, D: float = 1.0, G: float = 1.0) -> float:
    """The least value of the bound (10) over all schedules of length T: ``D·G·√V_1``."""
    D, G = _check_scales(D, G)
    return D * G * math.sqrt(float(optimal_tail_values(T)[0]))


def optimal_schedule(T: int, D: float = 1.0, G: float = 1.0) -> np.ndarray:
    """The schedule of length T that minimises :func:`last_iterate_bound` exactly, in O(T).

    With tail sums ``S_k = η_{k:T}`` and ratios ``r_k = S_{k+1}/S_k``, the bound is
    ``D²/(2 S_1) + (G²/2) S_1 (Σ_{k<T} (S_k/S_1) (1-r_k)²/r_k + S_T/S_1)``; dynamic programming
    over ``k`` (see :func:`optimal_tail_values`) gives every optimal ratio in closed form, and the
    total mass is ``S_1 = D/(G √V_1)``. Then ``η_k = S_k (1 - r_k)`` for ``k < T`` and ``η_T = S_T``.
    """
    T = validate.integer("T", T, minimum=1)
    D, G = _check_scales(D, G)
    v = optimal_tail_values(T)
    s1 = D / (G * math.sqrt(v[0]))
    v_next = v[1:]  # V_{k+1} for k = 1..T-1
    root = np.sqrt(1.0 + v_next)
    one_minus_r = v_next / (root * (root + 1.0))  # 1 - 1/√(1+V), without cancellation
    log_s = math.log(s1) - 0.5 * np.concatenate([[0.0], np.cumsum(np.log1p(v_next))])
    s = np.exp(log_s)  # S_1, ..., S_T
    return np.concatenate([s[:-1] * one_minus_r, s[-1:]])


def minimise_bound_numerically(
    T: int, D: float = 1.0, G: float = 1.0, *, tol: float = 1e-13, max_iter: int = 20_000
) -> np.ndarray:
    """An independent check of :func:`optimal_schedule`: L-BFGS-B on the bound, JAX gradients.

    The bound is convex in ``η`` on the positive orthant (each ``η_t²/η_{t+1:T}`` is the
    perspective of a square, ``1/η_{1:T}`` is convex), so any stationary point is the global
    minimum. The search runs over ``u = log η`` (which keeps ``η > 0`` and evens out the scales
    of early and late rates), starting from the linear decay tuned by :func:`tune_scale`.
    """
    T = validate.integer("T", T, minimum=1)
    D, G = _check_scales(D, G)
    max_iter = validate.integer("max_iter", max_iter, minimum=1)
    tol = validate.real("tol", tol, positive=True)
    shape = linear_decay(T)
    alpha, _ = _tune(shape, D, G)
    u0 = np.log(alpha * shape)

    with jax.enable_x64(True):
        d64, g64 = jnp.float64(D), jnp.float64(G)

        def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = _log_value_and_grad(jnp.asarray(u), d64, g64)
            return float(value), np.asarray(grad)

        result = scipy.optimize.minimize(
            fun, u0, jac=True, method="L-BFGS-B",
            options={"maxiter": max_iter, "ftol": tol, "gtol": tol, "maxcor": 30},
        )
    return np.exp(result.x)


def _log_value_and_grad_impl(u: jax.Array, D: jax.Array, G: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.value_and_grad(lambda x: _bound(jnp.exp(x), D, G))(u)


_log_value_and_grad = jax.jit(_log_value_and_grad_impl)


# --- the weighted identity (2) ----------------------------------------------------------------


def weighted_identity_rhs(w: Sequence[Any], q: Sequence[Any]) -> Any:
    """The right-hand side of eq. (2), in O(T), for numbers of any type (float, Fraction, sympy).

    ``Σ_t w_t q_t / w_{1:T} + Σ_{k=1}^{T-1} (1/w_{k+1:T} - 1/w_{k:T}) Σ_{t=k}^T w_t (q_t - q_k)``;
    the identity says it equals ``q_T``. The inner sums use ``Σ_{t≥k} w_t (q_t - q_k) =
    Σ_{t≥k} w_t q_t - q_k w_{k:T}`` with tail sums accumulated from the end. The tail sums of
    ``w`` must be nonzero (they are divided by).
    """
    w, q = list(w), list(q)
    if len(w) != len(q):
        raise ValueError(f"w and q must have the same length, got {len(w)} and {len(q)}")
    T = validate.integer("len(w)", len(w), minimum=1)
    tail_w: list[Any] = [0] * (T + 1)
    tail_wq: list[Any] = [0] * (T + 1)
    for k in range(T - 1, -1, -1):
        tail_w[k] = tail_w[k + 1] + w[k]
        tail_wq[k] = tail_wq[k + 1] + w[k] * q[k]
    if any(x == 0 for x in tail_w[:T]):
        raise ValueError("every tail sum w_{k:T} must be nonzero (the identity divides by it)")
    rhs = tail_wq[0] / tail_w[0]
    for k in range(T - 1):
        rhs += (1 / tail_w[k + 1] - 1 / tail_w[k]) * (tail_wq[k] - q[k] * tail_w[k])
    return rhs


# --- SGD on a sharp absolute-value problem ----------------------------------------------------


class SGDRun(NamedTuple):
    """Per-path results of :func:`simulate_sgd_abs`: ``(n_paths,)``, or ``(m, n_paths)`` for m schedules."""

    final_excess: np.ndarray  #: L(θ_T) - L(θ*) on each path
    weighted_excess: np.ndarray  #: Σ_{t=1}^T η_t (L(θ_t) - L(θ*)) on each path: the left side of (6)
    #: with ``record=True``: L(θ_t) - L(θ*) for t = 1..T on each path, one more trailing axis of length T
    path_excess: np.ndarray | None = None


def _abs_excess(theta: jax.Array, p: jax.Array) -> jax.Array:
    """``L(θ) - L(θ*)`` for ``L(θ) = E|θ - ξ|``, ``ξ = +1`` w.p. ``p`` and ``-1`` otherwise (p < 1/2)."""
    x = theta + 1.0  # θ* = -1 is the median of ξ
    return jnp.where(x >= 0, (1.0 - 2.0 * p) * x, -x)


def _one_path(
    key: jax.Array, eta: jax.Array, steps: jax.Array, p: jax.Array, theta1: jax.Array, *, record: bool
) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """One noise path driving every schedule (rows of the zero-padded ``eta``) for ``steps = T-1`` steps.

    The trip count is traced (a while loop), so runs of different T share one compilation. With
    ``record`` the excess loss of every iterate is kept (an array shaped like ``eta``).
    """

    def body(t: jax.Array, carry: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
        theta, acc, *hist = carry
        lr = eta[:, t]
        excess = _abs_excess(theta, p)
        acc = acc + lr * excess
        hist = [h.at[:, t].set(excess) for h in hist]
        xi = jnp.where(jax.random.uniform(jax.random.fold_in(key, t)) < p, 1.0, -1.0)
        theta = theta - lr * jnp.sign(theta - xi)  # a stochastic subgradient, |g| <= 1
        return (theta, acc, *hist)

    start = jnp.full(eta.shape[0], theta1)
    init = (start, jnp.zeros_like(start), *([jnp.zeros_like(eta)] if record else []))
    # T-1 steps reach θ_T; the last rate η_T would move θ_T to θ_{T+1}, which the bound never uses.
    theta, acc, *hist = jax.lax.fori_loop(0, steps, body, init)
    final = _abs_excess(theta, p)
    acc = acc + eta[:, steps] * final
    return final, acc, (hist[0].at[:, steps].set(final) if record else None)


_PATHS = {
    record: jax.jit(jax.vmap(partial(_one_path, record=record), in_axes=(0, *[None] * 4), out_axes=1))
    for record in (False, True)
}


def simulate_sgd_abs(
    key: jax.Array,
    eta: ArrayLike,
    *,
    n_paths: int = 1000,
    p: float = 0.25,
    theta1: float = 1.0,
    record: bool = False,
) -> SGDRun:
    """Run SGD with schedule ``eta`` on ``L(θ) = E|θ - ξ|`` along ``n_paths`` independent paths.

    ``ξ = +1`` with probability ``p < 1/2`` and ``-1`` otherwise, so ``θ* = -1``, ``L(θ*) = 2p``
    and the excess loss is ``(1-2p)(θ+1)`` to the right of ``θ*`` and ``|θ+1|`` to its left: a
    sharp (non-smooth) minimum. The stochastic subgradient ``sign(θ - ξ)`` has ``|g| <= 1``, so
    ``G = 1``, and ``D = |θ_1 + 1|``. Iterates ``θ_{t+1} = θ_t - η_t g_t`` for ``t < T``.

    ``eta`` is one schedule (shape ``(T,)``) or m schedules of the same length (shape ``(m, T)``);
    all schedules see the same noise on a path (common random numbers, so their differences
    are measured with less noise). Paths run in parallel under ``jax.vmap``, each with its own
    key split from ``key``. With ``record=True`` the excess loss of every iterate
    ``θ_1, ..., θ_T`` is returned too (``path_excess``), e.g. to check inequality (7).
    """
    key = validate.prng_key("key", key)
    n_paths = validate.integer("n_paths", n_paths, minimum=1)
    p = validate.real("p", p, nonnegative=True)
    if not p < 0.5:
        raise ValueError(f"p must be < 0.5 (so that the minimiser is θ* = -1), got {p}")
    theta1 = validate.real("theta1", theta1)
    if not isinstance(record, bool):
        raise ValueError(f"record must be True or False, got {record!r}")
    with jax.enable_x64(True):
        rows = np.asarray(validate.array("eta", eta), dtype=np.float64)
    if rows.ndim not in (1, 2):
        raise ValueError(f"eta must be 1-D (one schedule) or 2-D (one per row), got shape {rows.shape}")
    rows = np.stack([_check_schedule(r) for r in np.atleast_2d(rows)])
    T = rows.shape[1]
    with jax.enable_x64(True):
        # Zero-pad to a power of two (at least 1024), so that runs of different T share one compilation.
        padded = np.zeros((rows.shape[0], max(1024, 1 << T.bit_length())))
        padded[:, :T] = rows
        keys = jax.random.split(key, n_paths)
        final, acc, hist = _PATHS[bool(record)](
            keys, padded, jnp.int32(T - 1), jnp.float64(p), jnp.float64(theta1)
        )
        final, acc = np.asarray(final), np.asarray(acc)
        hist = None if hist is None else np.asarray(hist)[..., :T]
    if np.ndim(eta) == 1:
        return SGDRun(final[0], acc[0], None if hist is None else hist[0])
    return SGDRun(final, acc, hist)
