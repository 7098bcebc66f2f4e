"""The matrix sign ``msign`` (the orthogonal polar factor) and the spectral norm, in JAX.

``msign(M) = U Vᵀ`` for the thin SVD ``M = U Σ Vᵀ``: every nonzero singular value is sent to 1.
It is computed either exactly, by the SVD, or by a Newton–Schulz iteration

    X₀ = M / (s ‖M‖_F),     X_{t+1} = X_t q_t(X_tᵀX_t),   q_t(y) = c₁ + c₃ y + c₅ y² + …,

which applies the odd polynomial ``p_t(x) = x q_t(x²) = c₁x + c₃x³ + c₅x⁵ + …`` to every
singular value. The coefficients are data: a :class:`Schedule` names a list of rows
``(c₁, c₃, c₅, …)`` (``(a, b, c)`` for the quintics that Muon uses), the safety factor ``s`` and
how the steps use it. The built-in schedules (:data:`SCHEDULES`):

* ``"cubic"``: the classic Newton–Schulz iteration ``p(x) = (3x − x³)/2``;
* ``"jordan"``: Keller Jordan's quintic ``(3.4445, −4.7750, 2.0315)`` used in Muon;
* the coefficient sets of Su's post on Newton–Schulz (kexue.fm/archives/10922) and its
  comments: ``"su_adam"`` (one quintic fitted by Adam), YouJiacheng's six per-step quintics
  ``"youjiacheng"``, Su's per-step fits ``"su_x"``, ``"su_x2"``, ``"su_x3"`` and Zhang Ruichong's
  five ``"zhang_ruichong"``;
* ``"polar_express"``: the eight per-step optimal quintics of Amsel et al. (2025) for
  ``ℓ = 10⁻³``, with their safety factor 1.01. :func:`polar_express_schedule` re-derives them
  from the greedy interval recursion of the paper, for any odd degree, on top of the best
  odd polynomials :func:`optimal_odd_polynomial` (the Remez solver of :mod:`kexue_lib.minimax`).

:func:`sv_error_profile` measures the accuracy of a schedule: the worst singular-value error
``max |1 − p_t∘…∘p_1(x/s)|`` over normalised singular values ``x ∈ [ℓ, 1]`` after every step;
:func:`singular_value_iterates` gives the whole scalar map, :func:`schedule_headroom` how far
above 1 a normalised singular value may start, and :func:`fit_coefficients` re-runs the
post's Adam fit of the coefficients (with optax).

The jitted kernels are plain functions (``_*_impl``) compiled by a module-level ``jax.jit(...)``
call rather than decorated: ``make mutate`` (mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import scipy.optimize
from jax.typing import ArrayLike

from kexue_lib import minimax, validate

__all__ = [
    "FLAT_WIDTH",
    "METHODS",
    "NORMALIZATIONS",
    "PAPER_CUSHION",
    "PAPER_FLAT",
    "PRECISIONS",
    "PUBLISHED_POLAR_EXPRESS",
    "SCHEDULES",
    "CoefficientFit",
    "PolarExpressSchedule",
    "PowerIteration",
    "Schedule",
    "fit_coefficients",
    "flat_odd_polynomial",
    "method_coefficients",
    "msign",
    "newton_schulz",
    "nuclear_norm",
    "optimal_odd_polynomial",
    "optimal_odd_quintic",
    "polar_express_coefficients",
    "polar_express_schedule",
    "power_iteration",
    "schedule_coefficients",
    "schedule_headroom",
    "singular_value_iterates",
    "sv_error_profile",
    "svd",
    "top_singular_triplet",
    "topk_loss",
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

#: The cushion λ of the Polar Express code: each step is fitted on ``[max(ℓ, λu), u]``.
PAPER_CUSHION = 0.02407327424182761
#: The paper's code takes the limit polynomial once ``ℓ/u ≥ 1 − PAPER_FLAT``.
PAPER_FLAT = 5e-6
#: Relative width ``(hi − lo)/hi`` below which :func:`optimal_odd_polynomial` returns the flat
#: limit instead of solving (the interval is then a point to float64 resolution).
FLAT_WIDTH = 1e-14


def _per_1024(rows: tuple[tuple[int, ...], ...]) -> tuple[tuple[float, ...], ...]:
    """Coefficients written as multiples of 1/1024 (exact in binary floating point)."""
    return tuple(tuple(v / 1024 for v in row) for row in rows)


@dataclass(frozen=True)
class Schedule:
    """A Newton–Schulz coefficient schedule.

    ``coeffs`` holds one row of odd coefficients ``(c₁, c₃, c₅, …)`` per step (``(a, b, c)`` for
    a quintic; every row of one length, at least 2); when more steps are asked for than there
    are rows, the last one is repeated. ``safety`` (≥ 1) scales the input by
    ``1/(safety ‖M‖_F)`` and replaces ``p(x)`` by ``p(x/safety)`` on every step but the last one
    of the run, as in the Polar Express reference code. ``default_steps`` is the number of steps
    used when the caller gives none.
    """

    name: str
    coeffs: tuple[tuple[float, ...], ...]
    default_steps: int
    safety: float = 1.0

    def __post_init__(self) -> None:
        widths = {len(row) for row in self.coeffs}
        if not self.coeffs or len(widths) != 1 or min(widths) < 2:
            raise ValueError(f"schedule {self.name!r}: coeffs must be rows of one length >= 2 "
                             f"(c1, c3, c5, ...), got row lengths {sorted(widths)}")
        if not all(math.isfinite(v) for row in self.coeffs for v in row):
            raise ValueError(f"schedule {self.name!r}: coeffs must have only finite entries")
        validate.integer("default_steps", self.default_steps, minimum=1)
        if not validate.real("safety", self.safety) >= 1:
            raise ValueError(f"schedule {self.name!r}: safety must be >= 1, got {self.safety}")

    @property
    def degree(self) -> int:
        """The degree ``2k − 1`` of the odd polynomials (``k`` coefficients per row)."""
        return 2 * len(self.coeffs[0]) - 1


SCHEDULES: dict[str, Schedule] = {
    "cubic": Schedule("cubic", ((1.5, -0.5, 0.0),), default_steps=24),
    "jordan": Schedule("jordan", ((3.4445, -4.7750, 2.0315),), default_steps=5),
    # Su, kexue.fm/archives/10922: one quintic fitted by Adam for 5 steps, post eq. (12).
    "su_adam": Schedule("su_adam", ((3.3748, -4.6969, 2.1433),), default_steps=5),
    # YouJiacheng's six per-step quintics, quoted by the post (in units of 1/1024).
    "youjiacheng": Schedule("youjiacheng", _per_1024((
        (3955, -8306, 5008), (3735, -6681, 3463), (3799, -6499, 3211),
        (4019, -6385, 2906), (2677, -3029, 1162), (2172, -1833, 682),
    )), default_steps=6),
    # Su's per-step fits from YouJiacheng's start: "Ours-X" (k = 50) and "Ours-X2" (k = 200).
    "su_x": Schedule("su_x", _per_1024((
        (4140, -7553, 3571), (3892, -6637, 2973), (3668, -6456, 3021),
        (3248, -6211, 3292), (2792, -5759, 3796), (3176, -5507, 4048),
    )), default_steps=6),
    "su_x2": Schedule("su_x2", _per_1024((
        (4059, -7178, 3279), (3809, -6501, 2925), (3488, -6308, 3063),
        (2924, -5982, 3514), (2439, -5439, 4261), (3148, -5464, 4095),
    )), default_steps=6),
    # "Ours-X3", the post's five-step set.
    "su_x3": Schedule("su_x3", (
        (4.6182, -12.9582, 9.3299), (3.8496, -7.9585, 4.3052), (3.5204, -7.2918, 4.0606),
        (3.2067, -6.8243, 4.2802), (3.2978, -5.7848, 3.8917),
    ), default_steps=5),
    # Zhang Ruichong's five per-step quintics, from the post's comments.
    "zhang_ruichong": Schedule("zhang_ruichong", (
        (4.01, -9.22, 5.80), (3.49, -6.38, 3.23), (3.34, -6.21, 3.20),
        (3.64, -7.48, 4.43), (3.46, -5.35, 2.85),
    ), default_steps=5),
    "polar_express": Schedule("polar_express", PUBLISHED_POLAR_EXPRESS, default_steps=8, safety=1.01),
}


def _schedule(coeffs: Any) -> Schedule:
    """Turn the ``coeffs`` argument (name, :class:`Schedule` or ``(k, w)`` array) into a Schedule."""
    if coeffs is None:
        return SCHEDULES["polar_express"]
    if isinstance(coeffs, Schedule):
        return coeffs
    if isinstance(coeffs, str):
        return SCHEDULES[validate.choice("coeffs", coeffs, sorted(SCHEDULES))]
    try:
        table = np.asarray(coeffs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("coeffs must be a schedule name, a Schedule or a (steps, k) table of "
                         "odd coefficients (c1, c3, c5, ...)") from None
    if table.ndim == 1 and table.shape[0] >= 2:
        table = table[None, :]
    if table.ndim != 2 or table.shape[1] < 2 or table.shape[0] == 0:
        raise ValueError("coeffs must be a (steps, k) table of odd coefficients (c1, c3, c5, ...) "
                         f"with k >= 2, got shape {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError("coeffs must have only finite entries")
    rows = tuple(tuple(float(v) for v in row) for row in table)
    return Schedule("custom", rows, default_steps=len(rows))


def schedule_coefficients(coeffs: Any = None, steps: int | None = None) -> tuple[np.ndarray, float]:
    """The ``(steps, k)`` table of coefficients actually applied, safety included, and the safety.

    ``coeffs`` is a schedule name from :data:`SCHEDULES`, a :class:`Schedule`, or a table of
    rows ``(c₁, c₃, …)`` (default: ``"polar_express"``). Row ``t`` is
    ``(c₁/s, c₃/s³, c₅/s⁵, …)`` for every step but the last, and ``(c₁, c₃, c₅, …)`` for the last.
    """
    sched = _schedule(coeffs)
    steps = sched.default_steps if steps is None else validate.integer("steps", steps, minimum=1)
    rows = np.array([sched.coeffs[min(t, len(sched.coeffs) - 1)] for t in range(steps)],
                    dtype=np.float64)
    s = sched.safety
    scale = s ** -(2.0 * np.arange(rows.shape[1]) + 1)
    rows[:-1] *= scale
    return rows, s


METHODS = ("svd", "newton_schulz")
#: How Newton–Schulz normalises its input: by ``‖M‖_F = ‖σ‖₂``, or (post 10922, its code 4.4)
#: by the tighter Schatten norms ``‖σ‖₄ = ‖MᵀM‖_F^{1/2}`` or ``‖σ‖₈ = ‖(MᵀM)²‖_F^{1/4}``, read
#: off the Gram matrices of the first step.
NORMALIZATIONS = ("frobenius", "schatten4", "schatten8")


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


def _power_of_two(k: jax.Array, dtype: Any) -> jax.Array:
    """``2**k`` exactly in the float32 or float64 ``dtype``, for integers ``|k| <`` its ``-minexp``."""
    info = jnp.finfo(dtype)
    bits = (k.astype(jnp.int64 if info.bits == 64 else jnp.int32) - info.minexp + 1) << info.nmant
    return jax.lax.bitcast_convert_type(bits, dtype)


def _normalized(x: jax.Array, wide: Any, safety: float) -> jax.Array:
    """``x/(safety·‖x‖_F)`` in ``x``'s dtype, the norm in ``wide`` (float32 or float64); a zero
    ``x`` stays zero.

    ``x`` is first scaled by a power of two that brings its largest entry into ``[½, 1)`` (this
    is exact), its sum of squares is taken there, and the scaled ``x`` is multiplied by the
    reciprocal of that norm, which lies in ``[1/(safety·√n), 2/safety]``: so no square overflows
    or underflows and no factor is subnormal (a float32 matrix with entries of 1e30, 1e-30 or
    2^127 is normalised right, as is a float16 one with entries of 2^15). Wherever the direct
    ``x · (1/(safety·‖x‖_F))``, its reciprocal rounded to ``x``'s dtype, has a normal reciprocal
    the result is the same to the bit, as scaling by a power of two commutes with rounding.
    """
    info = jnp.finfo(wide)
    xw = x.astype(wide)
    _, e = jnp.frexp(jnp.max(jnp.abs(xw)))
    e = jnp.clip(e, info.minexp + 1, -info.minexp - 1)  # 2^-e a normal number
    scaled = xw * _power_of_two(-e, wide)
    norm = jnp.sqrt(jnp.sum(jnp.square(scaled)))
    inverse = 1.0 / (safety * jnp.where(norm > 0, norm, 1.0))
    # one rounding into x's dtype, of a product that is exact in ``wide`` (the reciprocal as
    # x's dtype rounds it, times the scaled entries: at most 2·11 significant bits for float16)
    return (scaled * inverse.astype(x.dtype).astype(wide)).astype(x.dtype)


def _newton_schulz_impl(
    m: jax.Array, table: jax.Array, safety: float, transpose: bool, precision: str, normalize: str
) -> jax.Array:
    x = m.T if transpose else m
    # norms in float32 for bfloat16 and float16
    wide = jnp.float32 if x.dtype in (jnp.bfloat16, jnp.float16) else x.dtype
    table = table.astype(x.dtype)
    dot = partial(jnp.matmul, precision=precision)

    def powers(gram: jax.Array, count: int) -> list[jax.Array]:
        """``[G, G², …, G^count]``."""
        out = [gram]
        for _ in range(count - 1):
            out.append(dot(out[-1], gram))
        return out

    def apply(x: jax.Array, coef: jax.Array, gram_powers: list[jax.Array]) -> jax.Array:
        """``X q(XᵀX) = c₁X + X(c₃G + c₅G² + …)``."""
        inner = coef[1] * gram_powers[0]
        for j in range(2, coef.shape[0]):
            inner = inner + coef[j] * gram_powers[j - 1]
        return coef[0] * x + dot(x, inner)

    def step(x: jax.Array, coef: jax.Array) -> tuple[jax.Array, None]:
        return apply(x, coef, powers(dot(x.T, x), table.shape[1] - 1)), None

    if normalize == "frobenius":
        # a zero matrix stays zero (its norm is replaced by 1)
        x, _ = jax.lax.scan(step, _normalized(x, wide, safety), table)
    else:
        # F-normalise first (keeps bfloat16 in range), then divide by the Schatten-p norm read off
        # the first step's Gram powers, which are rescaled instead of recomputed.
        x = _normalized(x, wide, 1.0)
        gram_powers = powers(dot(x.T, x), max(table.shape[1] - 1, 2 if normalize == "schatten8" else 1))
        probe = gram_powers[0 if normalize == "schatten4" else 1].astype(wide)
        root = 2.0 if normalize == "schatten4" else 4.0
        nu = jnp.sum(jnp.square(probe)) ** (0.5 / root)
        r = 1.0 / (safety * jnp.where(nu > 0, nu, 1.0))
        gram_powers = [g * (r ** (2 * (j + 1))).astype(x.dtype) for j, g in enumerate(gram_powers)]
        x = apply(x * r.astype(x.dtype), table[0], gram_powers)
        x, _ = jax.lax.scan(step, x, table[1:])
    return x.T if transpose else x


_newton_schulz = jax.jit(_newton_schulz_impl, static_argnames=("transpose", "precision", "normalize"))


def newton_schulz(
    M: ArrayLike,
    table: ArrayLike,
    safety: float = 1.0,
    *,
    precision: str = "highest",
    normalize: str = "frobenius",
) -> jax.Array:
    """The Newton–Schulz iteration with an explicit coefficient table; usable under ``jit``.

    ``X₀ = M/(safety·‖M‖_F)``, then one step ``X ← X(c₁I + c₃XᵀX + c₅(XᵀX)² + …)`` per row
    ``(c₁, c₃, c₅, …)`` of the ``(steps, k)`` ``table`` (the rows as applied: see
    :func:`schedule_coefficients`; ``k = 3`` for quintics ``(a, b, c)``), in ``M``'s dtype (the
    norm in float32 for bfloat16 and float16). The norm is taken of ``M`` scaled by a power of
    two, so it neither overflows nor underflows: a float32 ``M`` with entries of 1e30 or 1e-30
    gives the msign it gives at 1. A wide ``M`` is iterated transposed, so the Gram matrix is the
    smaller square. ``normalize="schatten4"`` or ``"schatten8"`` divides by the tighter norm
    ``‖σ‖₄`` or ``‖σ‖₈`` instead of ``‖σ‖₂ = ‖M‖_F`` (see :data:`NORMALIZATIONS`), computed from
    the Gram powers of the first step at no extra matrix product for ``k ≥ 3``. The matrix
    products run at ``precision`` (``"highest"`` by default: full float32 even where the
    platform would use TF32, as JAX does on NVIDIA GPUs). ``table`` may be a traced array;
    ``safety``, ``precision`` and ``normalize`` are static.
    """
    M = validate.array("M", M, ndim=2)
    table = validate.array("table", table, ndim=2)
    if table.shape[1] < 2:
        raise ValueError("table must be a (steps, k) table of odd coefficients (c1, c3, ...) with "
                         f"k >= 2, got shape {tuple(table.shape)}")
    safety = validate.real("safety", safety, positive=True)
    validate.choice("precision", precision, PRECISIONS)
    validate.choice("normalize", normalize, NORMALIZATIONS)
    return _newton_schulz(M, table, safety, M.shape[0] < M.shape[1], precision, normalize)


QR_SVD_MAX_SIDE = 256
"""The largest shorter side for which :func:`svd` uses LAPACK's QR driver on the CPU."""


def svd(M: ArrayLike, *, compute_uv: bool = True) -> jax.Array | tuple[jax.Array, jax.Array, jax.Array]:
    """The thin SVD ``U Σ Vᵀ`` of a 2-D (or batched) ``M``: ``(u, s, vt)``, or ``s`` alone.

    The factorisation of ``jnp.linalg.svd(M, full_matrices=False)`` with the library's input
    checks. On the CPU, a matrix at most :data:`QR_SVD_MAX_SIDE` on its shorter side goes to
    LAPACK's QR-iteration driver (gesvd), whose singular vectors are the more accurate: on six
    seeded 256×64 float64 matrices with σ₁ = 1000 (the mclip chapter's test), the SVD clip errs
    by 0.8–0.9 εσ₁ against 1.3–3.8 with the divide-and-conquer driver (gesdd, JAX's default),
    and formula (7) of post 11006 built on the SVD msign by 4.3–9.3 εσ₁ against 15.7–39.0
    (``tests/test_mclip.py`` holds both comparisons). Larger matrices, and every other backend,
    get JAX's default: gesvd is slower at every size (jitted, float64: 4.2 against 3.7 ms at
    256×64, 85 against 20 ms at 256², 1.43 s against 76 ms at 512²; float32 4096×1024: 13.1 s
    against 0.62 s). Singular values come in decreasing order; differentiable and usable under
    ``jit``, ``vmap``, ``grad``. Every kernel of the library takes its SVDs from here.
    """
    M = validate.array("M", M)
    if M.ndim < 2:
        raise ValueError(f"M must be a matrix (or a batch of them), got shape {tuple(M.shape)}")
    small = min(M.shape[-2:]) <= QR_SVD_MAX_SIDE
    algorithm = (jax.lax.linalg.SvdAlgorithm.QR if small and jax.default_backend() == "cpu"
                 else jax.lax.linalg.SvdAlgorithm.DEFAULT)
    result = jax.lax.linalg.svd(M, full_matrices=False, compute_uv=compute_uv, algorithm=algorithm)
    return tuple(result) if compute_uv else result


def _msign_svd_impl(m: jax.Array) -> jax.Array:
    work = m.astype(jnp.float32) if m.dtype in (jnp.bfloat16, jnp.float16) else m
    u, s, vt = svd(work)
    # Singular values at the rounding level of the largest count as zero (msign of a zero block is 0).
    keep = s > s[0] * jnp.finfo(work.dtype).eps * max(work.shape)
    return ((u * keep.astype(work.dtype)) @ vt).astype(m.dtype)


_msign_svd = jax.jit(_msign_svd_impl)


def nuclear_norm(M: ArrayLike) -> jax.Array:
    """``‖M‖_*``, the sum of the singular values of a 2-D ``M``.

    Differentiable (JAX differentiates through the SVD) and usable under ``jit``, ``grad`` and
    ``vmap``; the dual objective of the spectral-sphere problem is built from it.
    """
    M = validate.array("M", M, ndim=2)
    return jnp.sum(svd(M, compute_uv=False))


def msign(
    M: ArrayLike,
    method: str = "svd",
    steps: int | None = None,
    coeffs: Any = None,
    *,
    precision: str = "highest",
    normalize: str | None = None,
) -> jax.Array:
    """The matrix sign ``U Vᵀ`` of ``M = U Σ Vᵀ`` (the orthogonal polar factor), of ``M``'s shape.

    ``method="svd"`` is exact (bfloat16/float16 input is computed in float32 and cast back);
    singular values below ``σ₁ · eps · max(n, m)`` are treated as zero. ``method="newton_schulz"``
    runs ``steps`` steps of the schedule ``coeffs`` (a name in :data:`SCHEDULES`, a
    :class:`Schedule` or a ``(steps, k)`` table; default ``"polar_express"``) in the input's
    dtype. A wide matrix (``n < m``) is iterated transposed, so the Gram matrix is the smaller
    ``min(n, m)`` square. The Newton–Schulz result is only as accurate as the schedule allows
    for the matrix's smallest singular value: see :func:`sv_error_profile`. ``precision`` and
    ``normalize`` (default ``"frobenius"``) are those of :func:`newton_schulz`.
    """
    M = validate.array("M", M, ndim=2)
    table, safety = method_coefficients(method, steps, coeffs)
    if table is None:
        if normalize is not None:
            raise ValueError("normalize applies only to method='newton_schulz'")
        return _msign_svd(M)
    return newton_schulz(M, table, safety, precision=precision, normalize=normalize or "frobenius")


def singular_value_iterates(
    coeffs: Any = None, x0: ArrayLike = 1.0, steps: int | None = None
) -> np.ndarray:
    """The scalar Newton–Schulz map: ``x_t = p_t(… p_1(x₀/s))`` for ``t = 1..steps``, in float64.

    ``x0`` are normalised singular values ``σ/‖M‖_F`` (any shape, any sign); the schedule
    ``coeffs`` and ``steps`` are as in :func:`schedule_coefficients` (safety ``s`` included, as
    the matrix iteration applies it). Returns an array of shape ``(steps, *x0.shape)``: row
    ``t − 1`` holds the singular values after ``t`` steps, which is exactly what the matrix
    iteration does to each singular value (it keeps the singular vectors).
    """
    x = np.asarray(x0, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must have only finite entries")
    table, safety = schedule_coefficients(coeffs, steps)
    while table.shape[1] > 1 and not np.any(table[:, -1]):  # (1.5, −0.5, 0): no 0·inf below
        table = table[:, :-1]
    x = x / safety
    out = []
    with np.errstate(over="ignore"):  # a diverging singular value becomes ±inf, as it should
        for row in table:
            x2 = x * x
            inner = np.full_like(x, row[-1])
            for c in row[-2::-1]:
                inner = c + x2 * inner
            x = x * inner
            out.append(x)
    return np.array(out)


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
    x = singular_value_iterates(coeffs, np.geomspace(ell, 1.0, points), steps)
    return np.max(np.abs(1.0 - x), axis=1)


def schedule_headroom(
    coeffs: Any = None,
    steps: int | None = None,
    *,
    ell: float = 1e-3,
    upto: float = 4.0,
    points: int = 30001,
) -> float:
    """How far above 1 a normalised singular value may start and still end within the schedule's band.

    With ``E`` the worst error after ``steps`` steps on ``[ell, 1]`` (:func:`sv_error_profile`),
    returns the largest ``x̄ ≥ 1`` such that ``|1 − x_T(x₀)| ≤ E`` for every ``x₀ ∈ [1, x̄]``: the
    first crossing of ``E`` on a grid of ``points`` values in ``[1, upto]``, refined by Brent's
    method (to 10⁻¹⁵). ``math.inf`` when there is no crossing up to ``upto``.
    """
    upto = validate.real("upto", upto)
    if not upto > 1:
        raise ValueError(f"upto must be > 1, got {upto}")
    points = validate.integer("points", points, minimum=2)
    worst = float(sv_error_profile(coeffs, ell, steps)[-1])
    grid = np.linspace(1.0, upto, points)
    excess = np.abs(1.0 - singular_value_iterates(coeffs, grid, steps)[-1]) - worst
    bad = np.flatnonzero(excess > 0)
    if bad.size == 0:
        return math.inf
    i = int(bad[0])  # >= 1: x₀ = 1 lies on the profile's grid too, so its excess is <= 0

    def gap(x: float) -> float:
        return float(abs(1.0 - singular_value_iterates(coeffs, x, steps)[-1]) - worst)

    return float(scipy.optimize.brentq(gap, grid[i - 1], grid[i], xtol=1e-15))


def topk_loss(table: ArrayLike, x0: ArrayLike, k: int) -> jax.Array:
    """The post's loss: the mean of the ``k`` largest ``|x_T − 1|`` over the grid ``x0``.

    ``table`` is a ``(T, w)`` table of odd coefficients (traced or not: this is what
    :func:`fit_coefficients` differentiates); ``x0`` a 1-D grid of starting values. The ``k``
    largest are taken with :func:`jax.lax.top_k` (the post sorts; the gradient is the same).
    """
    table = validate.array("table", table, ndim=2)
    x = validate.array("x0", x0, ndim=1)
    k = validate.integer("k", k, minimum=1, maximum=x.shape[0])
    for t in range(table.shape[0]):  # the post's form: a x + b x³ + c x⁵ (+ …)
        x = sum(table[t, j] * x ** (2 * j + 1) for j in range(table.shape[1]))
    return jnp.mean(jax.lax.top_k(jnp.abs(x - 1), k)[0])


class CoefficientFit(NamedTuple):
    """Result of :func:`fit_coefficients`.

    ``coefficients`` has one row per step (a shared fit repeats its row), ``loss`` is their
    :func:`topk_loss`, and ``path`` holds the parameters after every Adam step (shape
    ``(iters, *init.shape)``), to read how much the last iterates still move.
    """

    coefficients: np.ndarray
    loss: float
    path: np.ndarray


def _fit_impl(w0: jax.Array, lr: jax.Array, decay_step: jax.Array, decay: jax.Array, tol: jax.Array,
              steps: int, k: int, points: int, iters: int,
              bias_correction: bool) -> tuple[jax.Array, jax.Array, jax.Array]:
    import optax

    grid = jnp.linspace(0, 1, points + 1, dtype=jnp.float32)[1:]  # a constant: XLA folds it

    def table(w: jax.Array) -> jax.Array:
        """One row per step: a shared ``(w,)`` row repeated, a ``(steps, w)`` table as it is."""
        return jnp.broadcast_to(w, (steps, w.shape[-1]))

    def clipped_grad(w: jax.Array) -> jax.Array:
        g = jax.grad(lambda w: topk_loss(table(w), grid, k))(w)
        return g / jnp.fmax(jnp.linalg.norm(g), 1)

    def mixed_grad(w: jax.Array) -> jax.Array:
        return 0.6 * clipped_grad(w) + 0.2 * (clipped_grad(w + tol / 2) + clipped_grad(w - tol / 2))

    b1, b2 = 0.9, 0.999

    def rate(count: jax.Array) -> jax.Array:
        base = jnp.where(count <= decay_step, lr, lr * decay)
        if bias_correction:
            return base
        t = count + 1  # optax's bias correction undone: the post's Adam has none
        return (base * (1 - b1**t) / jnp.sqrt(1 - b2**t)).astype(jnp.float32)

    def eps_root(count: jax.Array) -> jax.Array:
        # optax adds eps_root to the bias-corrected v/(1 − β₂ᵗ); undoing the correction through the
        # rate leaves v + eps_root·(1 − β₂ᵗ) under the root, so this gives the post's v + 10⁻²⁰
        if bias_correction:
            return jnp.float32(1e-20)
        return (1e-20 / (1 - b2 ** (count + 1))).astype(jnp.float32)

    opt = optax.inject_hyperparams(optax.adam, static_args=("b1", "b2"))(
        rate, b1=b1, b2=b2, eps=0.0, eps_root=eps_root)

    def body(carry: tuple, _: None) -> tuple[tuple, jax.Array]:
        w, state = carry
        updates, state = opt.update(mixed_grad(w), state, w)
        w = optax.apply_updates(w, updates)
        return (w, state), w

    (w, _), path = jax.lax.scan(body, (w0, opt.init(w0)), None, length=iters)
    return table(w), topk_loss(table(w), grid, k), path


_fit = jax.jit(_fit_impl, static_argnames=("steps", "k", "points", "iters", "bias_correction"))


def fit_coefficients(
    init: ArrayLike,
    steps: int | None = None,
    *,
    k: int = 50,
    points: int = 10000,
    iters: int = 20000,
    lr: float = 1e-3,
    decay_step: int = 10000,
    decay: float = 0.1,
    tol: float = 0.1,
    bias_correction: bool = False,
) -> CoefficientFit:
    """Fit Newton–Schulz coefficients by Adam on the post's loss (kexue.fm/archives/10922).

    Minimises :func:`topk_loss` (the mean of the ``k`` largest ``|x_T − 1|``) on the grid
    ``x₀ = 1/points, 2/points, …, 1`` with the post's recipe: each gradient is clipped to norm
    ≤ 1 and mixed as ``0.6 G(w) + 0.2 (G(w + tol/2) + G(w − tol/2))``; Adam (optax,
    ``β = (0.9, 0.999)``, ``ε = 10⁻²⁰`` under the square root) runs ``iters`` steps at rate
    ``lr``, times ``decay`` after step ``decay_step``. The post's Adam has no bias correction;
    with ``bias_correction=False`` (default) optax's is undone through the learning rate, which
    reproduces the post's update exactly. ``init`` of shape ``(w,)`` is one polynomial shared by
    ``steps`` steps (default 5); of shape ``(T, w)``, one per step (``steps`` must then be
    ``None`` or ``T``). Runs in float32, as the post's script does; jit-compiled, one
    ``lax.scan``.
    """
    w0 = np.asarray(init, dtype=np.float64)
    if w0.ndim not in (1, 2) or w0.shape[-1] < 2 or w0.size == 0 or not np.all(np.isfinite(w0)):
        raise ValueError(f"init must be a finite (w,) or (T, w) table with w >= 2, got shape {w0.shape}")
    if w0.ndim == 1:
        steps = 5 if steps is None else validate.integer("steps", steps, minimum=1)
    elif steps is not None and validate.integer("steps", steps, minimum=1) != w0.shape[0]:
        raise ValueError(f"steps = {steps} but init has {w0.shape[0]} rows (one per step)")
    else:
        steps = w0.shape[0]
    points = validate.integer("points", points, minimum=2)
    k = validate.integer("k", k, minimum=1, maximum=points)
    iters = validate.integer("iters", iters, minimum=1)
    decay_step = validate.integer("decay_step", decay_step, minimum=0)
    lr = validate.real("lr", lr, positive=True)
    decay = validate.real("decay", decay, positive=True)
    tol = validate.real("tol", tol, nonnegative=True)
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    table, loss, path = _fit(f32(w0), f32(lr), jnp.asarray(decay_step), f32(decay), f32(tol),
                             steps, k, points, iters, bool(bias_correction))
    return CoefficientFit(np.asarray(table, dtype=np.float64), float(loss),
                          np.asarray(path, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
# Optimal odd polynomials and the Polar Express recursion


def _odd_degree(degree: Any) -> int:
    degree = validate.integer("degree", degree, minimum=1)
    if degree % 2 == 0:
        raise ValueError(f"degree must be odd (the polynomial is odd), got {degree}")
    return degree


def flat_odd_polynomial(degree: int) -> tuple[Fraction, ...]:
    """The odd polynomial of ``degree = 2n + 1`` with ``p(1) = 1`` and ``p'`` vanishing ``n``-fold at ±1.

    ``p(x) = ∫₀ˣ (1 − t²)ⁿ dt / ∫₀¹ (1 − t²)ⁿ dt``: the limit of the optimal odd polynomial on
    ``[lo, 1]`` as ``lo → 1`` (all equioscillation points merge at 1), and the classical
    higher-order Newton–Schulz map: ``(3x − x³)/2`` for the cubic, ``(15x − 10x³ + 3x⁵)/8`` for
    the quintic. Returns the odd coefficients ``(c₁, c₃, …, c_degree)`` as exact fractions.
    """
    n = (_odd_degree(degree) - 1) // 2
    terms = [Fraction(math.comb(n, j) * (-1) ** j, 2 * j + 1) for j in range(n + 1)]
    total = sum(terms, Fraction(0))
    return tuple(t / total for t in terms)


def _optimal_odd(degree: int, a: mpmath.mpf, b: mpmath.mpf, dps: int
                 ) -> tuple[tuple[mpmath.mpf, ...], mpmath.mpf, tuple[mpmath.mpf, ...]]:
    """Odd coefficients, error and critical points in ``(a, b)`` of the best odd approximation of 1.

    The critical points are the interior alternation points (all ``n`` positive zeros of ``p'``
    for ``degree = 2n + 1``). Solved on ``[a/b, 1]`` and scaled back, ``c_k → c_k/b^k`` (post
    10996, eqs. (16)–(17)), so that the levelled system stays well scaled at any ``b``. When ``a``
    and ``b`` agree to :data:`FLAT_WIDTH` (relative): the flat limit scaled to ``b``, which
    increases on ``[0, b]`` (no interior critical point).
    """
    if (b - a) / b < FLAT_WIDTH:
        return _flat_scaled(degree, a, b)
    best = minimax.best_polynomial(lambda x: mpmath.mpf(1), degree, a / b, 1, parity="odd", dps=dps)
    odd = tuple(c / b ** (2 * j + 1) for j, c in enumerate(best.coefficients[1::2]))
    return odd, best.error, tuple(b * x for x in best.points[1:-1])


def _flat_scaled(degree: int, a: mpmath.mpf, b: mpmath.mpf
                 ) -> tuple[tuple[mpmath.mpf, ...], mpmath.mpf, tuple[mpmath.mpf, ...]]:
    """:func:`flat_odd_polynomial` scaled to ``p(b) = 1``, its error ``1 − p(a)`` on ``[a, b]``."""
    odd = tuple(mpmath.mpf(c.numerator) / c.denominator / b ** (2 * j + 1)
                for j, c in enumerate(flat_odd_polynomial(degree)))
    return odd, 1 - _odd_value(odd, a), ()


def _odd_value(odd: tuple[mpmath.mpf, ...], x: mpmath.mpf) -> mpmath.mpf:
    """``Σ_j odd[j] x^{2j+1}``."""
    return sum(c * x ** (2 * j + 1) for j, c in enumerate(odd))


def optimal_odd_polynomial(degree: int, lo: float, hi: float, *, dps: int = 40) -> tuple[mpmath.mpf, ...]:
    """The odd polynomial ``p = Σ c_k x^k`` of ``degree`` minimising ``max_{[lo, hi]} |1 − p(x)|``.

    Solved by the Remez exchange of :func:`kexue_lib.minimax.best_polynomial` (odd basis, target
    1) at ``dps`` digits; ``lo`` and ``hi`` may be floats, mpmath numbers or decimal strings.
    Returns ``(c₁, c₃, …, c_degree, E)`` with ``E`` the minimal error, as mpmath numbers. When
    ``lo`` and ``hi`` agree to 14 digits (:data:`FLAT_WIDTH`, below the float64 resolution that
    the Remez solver's interval check works at), the limit :func:`flat_odd_polynomial` scaled to
    ``hi`` is returned, with its own error ``1 − p(lo)``, below ``10⁻²⁸`` there.
    """
    degree = _odd_degree(degree)
    dps = validate.integer("dps", dps, minimum=20)
    validate.real("lo", lo, positive=True)
    validate.real("hi", hi, positive=True)
    with mpmath.workdps(dps):
        a, b = mpmath.mpf(lo), mpmath.mpf(hi)
        if not a < b:
            raise ValueError(f"lo must be < hi, got lo = {lo}, hi = {hi}")
        odd, error, _critical = _optimal_odd(degree, a, b, dps)
        return (*odd, error)


def optimal_odd_quintic(lo: float, hi: float, *, dps: int = 40) -> tuple[mpmath.mpf, ...]:
    """The odd quintic ``p(x) = a x + b x³ + c x⁵`` minimising ``max_{[lo, hi]} |1 − p(x)|``.

    :func:`optimal_odd_polynomial` of degree 5: returns ``(a, b, c, E)``. ``lo = hi`` is allowed
    here (the interval is a point): the limit ``(15/8, −10/8, 3/8)`` scaled to ``hi``, ``E = 0``.
    """
    lo = validate.real("lo", lo, positive=True)
    hi = validate.real("hi", hi, positive=True)
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    if lo == hi:
        with mpmath.workdps(dps):
            u = mpmath.mpf(hi)
            return 15 / (8 * u), -10 / (8 * u**3), 3 / (8 * u**5), mpmath.mpf(0)
    return optimal_odd_polynomial(5, lo, hi, dps=dps)


class PolarExpressSchedule(NamedTuple):
    """The greedy recursion of :func:`polar_express_schedule`, in mpmath.

    ``coefficients[t]`` are the odd coefficients ``(c₁, c₃, …)`` of step ``t + 1`` (recentred,
    before any safety factor); ``lower[t]``, ``upper[t]`` the interval ``[ℓ_t, u_t]`` that step
    ``t + 1`` maps (``lower[0] = ell``, ``upper[0] = 1``) and ``lower[T]``, ``upper[T]`` where
    the last step lands. After ``t`` steps every singular value in ``[ell, 1]`` lies in
    ``[lower[t], upper[t]]``, and ``upper[t] = 2 − lower[t]``: the worst error is
    ``1 − lower[t]``.
    """

    coefficients: tuple[tuple[mpmath.mpf, ...], ...]
    lower: tuple[mpmath.mpf, ...]
    upper: tuple[mpmath.mpf, ...]


def polar_express_schedule(
    ell: float = 1e-3,
    steps: int = 8,
    *,
    degree: int = 5,
    cushion: float = PAPER_CUSHION,
    flat: float | None = None,
    dps: int = 40,
) -> PolarExpressSchedule:
    """The Polar Express greedy recursion (Amsel et al. 2025, Thm 4.1; post 10996, eq. (4)).

    Start from ``[ℓ, u] = [ell, 1]``. At each step take the optimal odd polynomial of ``degree``
    (:func:`optimal_odd_polynomial`) on ``[max(ℓ, cushion·u), u]`` (or, once
    ``ℓ/u ≥ 1 − flat``, the limit :func:`flat_odd_polynomial` scaled to ``u``, as the paper's code
    does), rescale it so that ``min p + max p = 2`` over the true interval ``[ℓ, u]`` (for
    degrees 5, 9, … this is the paper's ``p(ℓ) + p(u) = 2``; for degrees 3, 7, … ``p(u)`` is a
    minimum, not the maximum), then ``ℓ ← min p``, ``u ← max p``. ``flat`` defaults to the
    paper's :data:`PAPER_FLAT` when there is a cushion and to 0 without one, so that with
    ``cushion = 0`` every step is the exact minimax step of the greedy recursion, whose
    composition is optimal among all compositions of ``steps`` odd polynomials of ``degree``
    (the theorem proved in the post). In mpmath at ``dps`` digits.
    """
    ell = validate.real("ell", ell, positive=True)
    if ell >= 1:
        raise ValueError(f"ell must be < 1, got {ell}")
    steps = validate.integer("steps", steps, minimum=1)
    degree = _odd_degree(degree)
    cushion = validate.real("cushion", cushion, nonnegative=True)
    if cushion >= 1:
        raise ValueError(f"cushion must be < 1, got {cushion}")
    flat = (PAPER_FLAT if cushion > 0 else 0.0) if flat is None else validate.real(
        "flat", flat, nonnegative=True)
    dps = validate.integer("dps", dps, minimum=20)
    coefficients, lower, upper = [], [], []
    with mpmath.workdps(dps):
        lo, hi = mpmath.mpf(ell), mpmath.mpf(1)
        for _ in range(steps):
            lower.append(lo)
            upper.append(hi)
            fit_lo = max(lo, cushion * hi)
            if fit_lo / hi >= 1 - mpmath.mpf(flat):
                odd, _err, critical = _flat_scaled(degree, fit_lo, hi)
            else:
                odd, _err, critical = _optimal_odd(degree, fit_lo, hi, dps)
            # p increases on [0, first critical point], so over [lo, hi] its extreme values are
            # at the ends and the critical points (the interior alternation points)
            values = [_odd_value(odd, x) for x in (lo, *critical, hi)]
            low, high = min(values), max(values)
            gamma = 2 / (low + high)
            coefficients.append(tuple(gamma * c for c in odd))
            lo, hi = gamma * low, gamma * high
        lower.append(lo)
        upper.append(hi)
    return PolarExpressSchedule(tuple(coefficients), tuple(lower), tuple(upper))


def polar_express_coefficients(
    ell: float = 1e-3,
    steps: int = 8,
    *,
    degree: int = 5,
    cushion: float = PAPER_CUSHION,
    flat: float | None = None,
    dps: int = 40,
) -> list[tuple[float, ...]]:
    """The Polar Express schedule (:func:`polar_express_schedule`) as float64 rows, before any safety.

    With the defaults this re-derives :data:`PUBLISHED_POLAR_EXPRESS` (one ``(a, b, c)`` per
    step). Other odd ``degree``\\ s give rows ``(c₁, c₃, …, c_degree)``, usable as a schedule
    table (:func:`schedule_coefficients`, :func:`msign`).
    """
    sched = polar_express_schedule(ell, steps, degree=degree, cushion=cushion, flat=flat, dps=dps)
    return [tuple(float(c) for c in row) for row in sched.coefficients]


class PowerIteration(NamedTuple):
    """Result of :func:`power_iteration`: the top singular triplet and how it was reached."""

    sigma: jax.Array
    u: jax.Array
    v: jax.Array
    iterations: jax.Array
    residual: jax.Array


def _power_impl(w: jax.Array, v0: jax.Array, iters: int, tol: float) -> PowerIteration:
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
        v = wtu / jnp.linalg.norm(wtu)  # nonzero: the loop runs only while σ > 0, and uᵀWv = σ
        _sigma, _u, wtu, res = triplet(v)
        return k + 1, v, wtu, res

    v0 = v0 / jnp.linalg.norm(v0)
    _s0, _u0, wtu0, res0 = triplet(v0)
    k, v, _wtu, _res = jax.lax.while_loop(cond, body, (jnp.asarray(0), v0, wtu0, res0))
    sigma, u, _wtu, res = triplet(v)
    return PowerIteration(sigma, u, v, k, res)


_power = jax.jit(_power_impl, static_argnames=("iters",))


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
