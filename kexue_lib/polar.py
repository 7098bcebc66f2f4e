"""The matrix sign ``msign`` (the orthogonal polar factor) and the spectral norm, in JAX.

``msign(M) = U Vᵀ`` for the thin SVD ``M = U Σ Vᵀ``: every nonzero singular value is sent to 1.
It is computed either exactly, by the SVD, or by a Newton–Schulz iteration

    X₀ = M / (s ‖M‖_F),     X_{t+1} = a_t X_t + b_t X_t (X_tᵀX_t) + c_t X_t (X_tᵀX_t)²,

which applies the odd polynomial ``p_t(x) = a_t x + b_t x³ + c_t x⁵`` to every singular value.
The coefficients are data: a :class:`Schedule` names a list of ``(a, b, c)`` triples, the
safety factor ``s`` and how the steps use it. Three schedules are built in (:data:`SCHEDULES`):

* ``"cubic"``: the classic Newton–Schulz iteration ``p(x) = (3x − x³)/2``;
* ``"jordan"``: Keller Jordan's quintic ``(3.4445, −4.7750, 2.0315)`` used in Muon;
* ``"polar_express"``: the eight per-step optimal quintics of Amsel et al. (2025) for
  ``ℓ = 10⁻³``, with their safety factor 1.01; :func:`polar_express_coefficients` re-derives them
  from the greedy interval recursion of the paper.

:func:`sv_error_profile` measures the accuracy of a schedule: the worst singular-value error
``max |1 − p_t∘…∘p_1(x/s)|`` over normalised singular values ``x ∈ [ℓ, 1]`` after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
from jax.typing import ArrayLike

from kexue_lib import validate

__all__ = [
    "METHODS",
    "PRECISIONS",
    "PUBLISHED_POLAR_EXPRESS",
    "SCHEDULES",
    "PowerIteration",
    "Schedule",
    "method_coefficients",
    "msign",
    "newton_schulz",
    "nuclear_norm",
    "optimal_odd_quintic",
    "polar_express_coefficients",
    "power_iteration",
    "schedule_coefficients",
    "sv_error_profile",
    "top_singular_triplet",
]

#: The Polar Express quintics for ℓ = 10⁻³ as published (Amsel et al. 2025, arXiv:2505.16932),
#: one ``(a, b, c)`` per step, before the safety factor is applied.
PUBLISHED_POLAR_EXPRESS: tuple[tuple[float, float, float], ...] = (
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
)


@dataclass(frozen=True)
class Schedule:
    """A Newton–Schulz coefficient schedule.

    ``coeffs`` holds one ``(a, b, c)`` per step; when more steps are asked for than there are
    triples, the last one is repeated. ``safety`` (≥ 1) scales the input by ``1/(safety ‖M‖_F)``
    and replaces ``p(x)`` by ``p(x/safety)`` on every step but the last one of the run, as in
    the Polar Express reference code. ``default_steps`` is the number of steps used when the
    caller gives none.
    """

    name: str
    coeffs: tuple[tuple[float, float, float], ...]
    default_steps: int
    safety: float = 1.0


SCHEDULES: dict[str, Schedule] = {
    "cubic": Schedule("cubic", ((1.5, -0.5, 0.0),), default_steps=24),
    "jordan": Schedule("jordan", ((3.4445, -4.7750, 2.0315),), default_steps=5),
    "polar_express": Schedule("polar_express", PUBLISHED_POLAR_EXPRESS, default_steps=8, safety=1.01),
}


def _schedule(coeffs: Any) -> Schedule:
    """Turn the ``coeffs`` argument (name, :class:`Schedule` or ``(k, 3)`` array) into a Schedule."""
    if coeffs is None:
        return SCHEDULES["polar_express"]
    if isinstance(coeffs, Schedule):
        return coeffs
    if isinstance(coeffs, str):
        return SCHEDULES[validate.choice("coeffs", coeffs, sorted(SCHEDULES))]
    table = np.asarray(coeffs, dtype=np.float64)
    if table.ndim == 1 and table.shape[0] == 3:
        table = table[None, :]
    if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] == 0:
        raise ValueError(f"coeffs must be a (steps, 3) table of (a, b, c), got shape {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError("coeffs must have only finite entries")
    rows = tuple((float(a), float(b), float(c)) for a, b, c in table)
    return Schedule("custom", rows, default_steps=len(rows))


def schedule_coefficients(coeffs: Any = None, steps: int | None = None) -> tuple[np.ndarray, float]:
    """The ``(steps, 3)`` table of coefficients actually applied, safety included, and the safety.

    ``coeffs`` is a schedule name from :data:`SCHEDULES`, a :class:`Schedule`, or a table of
    ``(a, b, c)`` rows (default: ``"polar_express"``). Row ``t`` is ``(a/s, b/s³, c/s⁵)`` for every
    step but the last, and ``(a, b, c)`` for the last.
    """
    sched = _schedule(coeffs)
    steps = sched.default_steps if steps is None else validate.integer("steps", steps, minimum=1)
    rows = [sched.coeffs[min(t, len(sched.coeffs) - 1)] for t in range(steps)]
    s = sched.safety
    table = np.array([(a / s, b / s**3, c / s**5) for a, b, c in rows[:-1]] + [rows[-1]], dtype=np.float64)
    return table, s


METHODS = ("svd", "newton_schulz")


def method_coefficients(
    method: str, steps: int | None = None, coeffs: Any = None
) -> tuple[np.ndarray | None, float]:
    """Check msign's ``method``/``steps``/``coeffs`` arguments; the Newton–Schulz table to apply.

    Returns ``(None, 1.0)`` for ``method="svd"`` (which takes neither ``steps`` nor ``coeffs``) and
    :func:`schedule_coefficients` for ``method="newton_schulz"``.
    """
    validate.choice("method", method, METHODS)
    if method == "svd":
        if steps is not None or coeffs is not None:
            raise ValueError("steps and coeffs apply only to method='newton_schulz'")
        return None, 1.0
    return schedule_coefficients(coeffs, steps)


#: Matrix-product precisions for Newton–Schulz (``jax.lax.Precision`` names).
PRECISIONS = ("highest", "high", "default")


@partial(jax.jit, static_argnames=("transpose", "precision"))
def _newton_schulz(
    m: jax.Array, table: jax.Array, safety: float, transpose: bool, precision: str
) -> jax.Array:
    x = m.T if transpose else m
    norm = jnp.sqrt(jnp.sum(jnp.square(x.astype(jnp.float32 if x.dtype == jnp.bfloat16 else x.dtype))))
    scale = jnp.where(norm > 0, 1.0 / (safety * jnp.where(norm > 0, norm, 1.0)), 0.0)
    x = x * scale.astype(x.dtype)
    table = table.astype(x.dtype)
    dot = partial(jnp.matmul, precision=precision)

    def step(x: ArrayLike, abc: jax.Array) -> tuple[jax.Array, None]:
        a, b, c = abc[0], abc[1], abc[2]
        gram = dot(x.T, x)
        return a * x + dot(x, b * gram + c * dot(gram, gram)), None

    x, _ = jax.lax.scan(step, x, table)
    return x.T if transpose else x


def newton_schulz(
    M: ArrayLike, table: ArrayLike, safety: float = 1.0, *, precision: str = "highest"
) -> jax.Array:
    """The Newton–Schulz iteration with an explicit coefficient table; usable under ``jit``.

    ``X₀ = M/(safety·‖M‖_F)``, then one step ``X ← aX + X(b XᵀX + c (XᵀX)²)`` per row
    ``(a, b, c)`` of the ``(steps, 3)`` ``table`` (the rows as applied: see
    :func:`schedule_coefficients`), in ``M``'s dtype (the norm in float32 for bfloat16). A wide
    ``M`` is iterated transposed, so the Gram matrix is the smaller square. The matrix products
    run at ``precision`` (``"highest"`` by default: full float32 even where the platform would
    use TF32, as JAX does on NVIDIA GPUs). ``table`` may be a traced array; ``safety`` and
    ``precision`` are static.
    """
    M = validate.array("M", M, ndim=2)
    table = validate.array("table", table, ndim=2)
    if table.shape[1] != 3:
        raise ValueError(f"table must be a (steps, 3) table of (a, b, c), got shape {tuple(table.shape)}")
    safety = validate.real("safety", safety, positive=True)
    validate.choice("precision", precision, PRECISIONS)
    return _newton_schulz(M, table, safety, M.shape[0] < M.shape[1], precision)


@jax.jit
def _msign_svd(m: jax.Array) -> jax.Array:
    work = m.astype(jnp.float32) if m.dtype in (jnp.bfloat16, jnp.float16) else m
    u, s, vt = jnp.linalg.svd(work, full_matrices=False)
    # Singular values at the rounding level of the largest count as zero (msign of a zero block is 0).
    keep = s > s[0] * jnp.finfo(work.dtype).eps * max(work.shape)
    return ((u * keep.astype(work.dtype)) @ vt).astype(m.dtype)


def nuclear_norm(M: ArrayLike) -> jax.Array:
    """``‖M‖_*``, the sum of the singular values of a 2-D ``M``.

    Differentiable (JAX differentiates through the SVD) and usable under ``jit``, ``grad`` and
    ``vmap``; the dual objective of the spectral-sphere problem is built from it.
    """
    M = validate.array("M", M, ndim=2)
    return jnp.sum(jnp.linalg.svd(M, compute_uv=False))


def msign(
    M: ArrayLike,
    method: str = "svd",
    steps: int | None = None,
    coeffs: Any = None,
    *,
    precision: str = "highest",
) -> jax.Array:
    """The matrix sign ``U Vᵀ`` of ``M = U Σ Vᵀ`` (the orthogonal polar factor), of ``M``'s shape.

    ``method="svd"`` is exact (bfloat16/float16 input is computed in float32 and cast back);
    singular values below ``σ₁ · eps · max(n, m)`` are treated as zero. ``method="newton_schulz"``
    runs ``steps`` steps of the schedule ``coeffs`` (a name in :data:`SCHEDULES`, a
    :class:`Schedule` or a ``(steps, 3)`` table; default ``"polar_express"``) in the input's
    dtype. A wide matrix (``n < m``) is iterated transposed, so the Gram matrix is the smaller
    ``min(n, m)`` square. The Newton–Schulz result is only as accurate as the schedule allows
    for the matrix's smallest singular value: see :func:`sv_error_profile`. ``precision`` is
    the matrix-product precision of Newton–Schulz (:func:`newton_schulz`).
    """
    M = validate.array("M", M, ndim=2)
    table, safety = method_coefficients(method, steps, coeffs)
    if table is None:
        return _msign_svd(M)
    return newton_schulz(M, table, safety, precision=precision)


def sv_error_profile(
    coeffs: Any = None,
    ell: float = 1e-3,
    steps: int | None = None,
    *,
    points: int = 20001,
) -> np.ndarray:
    """Worst singular-value error of the Newton–Schulz msign after each step, for ``σ/‖M‖_F ≥ ell``.

    Newton–Schulz acts on each singular value separately, so the error of the matrix iteration
    is the error of the scalar map: this returns, for ``t = 1..steps``, the maximum of
    ``|1 − x_t|`` over a log-spaced grid of ``points`` starting values ``x₀ ∈ [ell, 1]`` (the
    singular values after normalising by ``‖M‖_F``, which all lie in ``(0, 1]``), in float64.
    """
    ell = validate.real("ell", ell, positive=True)
    if ell >= 1:
        raise ValueError(f"ell must be < 1 (a singular value relative to ‖M‖_F), got {ell}")
    points = validate.integer("points", points, minimum=2)
    table, safety = schedule_coefficients(coeffs, steps)
    x = np.geomspace(ell, 1.0, points) / safety
    worst = []
    for a, b, c in table:
        x2 = x * x
        x = x * (a + x2 * (b + c * x2))
        worst.append(float(np.max(np.abs(1.0 - x))))
    return np.array(worst)


def optimal_odd_quintic(lo: float, hi: float, *, dps: int = 40) -> tuple[mpmath.mpf, ...]:
    """The odd quintic ``p(x) = a x + b x³ + c x⁵`` minimising ``max_{[lo, hi]} |1 − p(x)|``.

    Remez exchange on the four equioscillation points ``lo < q < r < hi`` (the interior two are
    the critical points of ``p``), in mpmath at ``dps`` digits. Returns ``(a, b, c, E)`` with
    ``E`` the equioscillation error. For ``lo/hi ≥ 1 − 5·10⁻⁶`` the limit
    ``(15/8, −10/8, 3/8)`` (scaled to ``hi``) is returned with ``E = 0``, as in the paper.
    """
    lo = validate.real("lo", lo, positive=True)
    hi = validate.real("hi", hi, positive=True)
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    dps = validate.integer("dps", dps, minimum=20)
    with mpmath.workdps(dps):
        return _remez_quintic(mpmath.mpf(lo), mpmath.mpf(hi), dps)


def _remez_quintic(lo: mpmath.mpf, u: mpmath.mpf, dps: int) -> tuple[mpmath.mpf, ...]:
    """Remez exchange for :func:`optimal_odd_quintic`, on mpmath endpoints at the current precision."""
    if lo / u >= 1 - mpmath.mpf("5e-6"):
        return 15 / (8 * u), -10 / (8 * u**3), 3 / (8 * u**5), mpmath.mpf(0)
    q, r = (3 * lo + u) / 4, (lo + 3 * u) / 4
    previous = None
    for _ in range(200):
        lhs = mpmath.matrix([[x, x**3, x**5, sign] for x, sign in ((lo, 1), (q, -1), (r, 1), (u, -1))])
        a, b, c, err = mpmath.lu_solve(lhs, mpmath.matrix([1, 1, 1, 1]))
        root = mpmath.sqrt(9 * b**2 - 20 * a * c)
        q, r = sorted((mpmath.sqrt((-3 * b - root) / (10 * c)), mpmath.sqrt((-3 * b + root) / (10 * c))))
        if previous is not None and abs(err - previous) < mpmath.mpf(10) ** (5 - dps):
            return a, b, c, err
        previous = err
    raise RuntimeError(f"Remez exchange did not converge on [{lo}, {u}]")  # pragma: no cover


def polar_express_coefficients(
    ell: float = 1e-3,
    steps: int = 8,
    *,
    cushion: float = 0.02407327424182761,
    dps: int = 40,
) -> list[tuple[float, float, float]]:
    """Re-derive the Polar Express schedule by the greedy recursion (Amsel et al. 2025, Thm 4.1).

    Start from ``[ℓ, u] = [ell, 1]``. At each step take the optimal odd quintic on
    ``[max(ℓ, cushion·u), u]``, rescale it so that ``p(ℓ) + p(u) = 2`` (centred on 1 over the true
    interval), and move to ``ℓ ← p(ℓ)``, ``u ← 2 − ℓ``. Computed in mpmath at ``dps`` digits and
    returned as float64 triples, before any safety factor.
    """
    ell = validate.real("ell", ell, positive=True)
    if ell >= 1:
        raise ValueError(f"ell must be < 1, got {ell}")
    steps = validate.integer("steps", steps, minimum=1)
    cushion = validate.real("cushion", cushion, nonnegative=True)
    out = []
    with mpmath.workdps(dps):
        lo, hi = mpmath.mpf(ell), mpmath.mpf(1)
        for _ in range(steps):
            a, b, c, _err = _remez_quintic(max(lo, cushion * hi), hi, dps)

            def p(x: mpmath.mpf, a: mpmath.mpf = a, b: mpmath.mpf = b, c: mpmath.mpf = c) -> mpmath.mpf:
                return a * x + b * x**3 + c * x**5

            k = 2 / (p(lo) + p(hi))
            a, b, c = a * k, b * k, c * k
            out.append((float(a), float(b), float(c)))
            lo = a * lo + b * lo**3 + c * lo**5
            hi = 2 - lo
    return out


class PowerIteration(NamedTuple):
    """Result of :func:`power_iteration`: the top singular triplet and how it was reached."""

    sigma: jax.Array
    u: jax.Array
    v: jax.Array
    iterations: jax.Array
    residual: jax.Array


@partial(jax.jit, static_argnames=("iters",))
def _power(w: jax.Array, v0: jax.Array, iters: int, tol: float) -> PowerIteration:
    def triplet(v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        """σ = ‖Wv‖, u = Wv/σ, Wᵀu and the relative residual ‖Wᵀu − σv‖/σ: two matvecs."""
        wv = w @ v
        sigma = jnp.linalg.norm(wv)
        safe = jnp.where(sigma > 0, sigma, 1.0)
        u = wv / safe
        wtu = u @ w  # Wᵀu without materialising Wᵀ
        return sigma, u, wtu, jnp.linalg.norm(wtu - sigma * v) / safe

    def cond(state: tuple) -> jax.Array:
        k, _v, _wtu, res = state
        return (k < iters) & (res > tol)

    def body(state: tuple) -> tuple:
        k, _v, wtu, _res = state
        norm = jnp.linalg.norm(wtu)
        v = wtu / jnp.where(norm > 0, norm, 1.0)
        _sigma, _u, wtu, res = triplet(v)
        return k + 1, v, wtu, res

    v0 = v0 / jnp.linalg.norm(v0)
    _s0, _u0, wtu0, res0 = triplet(v0)
    k, v, _wtu, _res = jax.lax.while_loop(cond, body, (jnp.asarray(0), v0, wtu0, res0))
    sigma, u, _wtu, res = triplet(v)
    return PowerIteration(sigma, u, v, k, res)


def power_iteration(
    W: ArrayLike,
    iters: int = 1000,
    tol: float = 1e-6,
    *,
    key: jax.Array | None = None,
) -> PowerIteration:
    """Power iteration on ``WᵀW`` for the top singular triplet of ``W`` (jit-compiled).

    Starts from a Gaussian vector drawn with ``key`` (default ``jax.random.key(0)``) and stops
    when the relative residual ``‖Wᵀu − σ v‖/σ`` (with ``u = Wv/σ``) is at most ``tol``, or after
    ``iters`` steps. The residual bounds the error of ``σ`` by ``residual²·σ`` and the angle of
    ``v`` by ``residual·σ₁²/(σ₁² − σ₂²)``; check ``iterations < iters`` to know it converged.
    """
    W = validate.array("W", W, ndim=2)
    iters = validate.integer("iters", iters, minimum=1)
    tol = validate.real("tol", tol, positive=True)
    key = jax.random.key(0) if key is None else validate.prng_key("key", key)
    v0 = jax.random.normal(key, (W.shape[1],), dtype=W.dtype)
    return _power(W, v0, iters, tol)


def top_singular_triplet(
    W: ArrayLike,
    iters: int = 1000,
    tol: float = 1e-6,
    *,
    key: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(σ₁, u₁, v₁)`` of ``W`` by :func:`power_iteration`; ``u₁ v₁ᵀ`` is the gradient of ``‖W‖₂``."""
    result = power_iteration(W, iters, tol, key=key)
    return result.sigma, result.u, result.v
