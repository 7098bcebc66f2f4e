"""Singular value clipping ``mclip`` through ``msign``, and other functions of the singular values.

``mclip_[α,β](M) = U clip(Σ, α, β) Vᵀ`` for ``M = U Σ Vᵀ``. Su Jianlin's two posts (kexue.fm
11006 and 11059) compute it from a few calls of the matrix sign ``msign(M) = U Vᵀ``
(:func:`kexue_lib.polar.msign`), using ``clip`` written through ``sign`` and
``P msign(R) Q = msign(P R Q)`` for orthogonal ``P``, ``Q``. The formulas (:data:`METHODS`):

* ``"general"``, 11059 (5): ``½{(α+β) S + (αI − M Sᵀ) msign(αS − M) − (βI − M Sᵀ) msign(βS − M)}``
  with ``S = msign(M)``; three msigns, any ``α ≤ β``;
* ``"nested"``, 11059 (6) = 11006 (7): ``½[M + S + (I − M Sᵀ) msign(M − S)]``, two msigns, one
  nested in the other;
* ``"denested"``, 11059 (10): ``½[M + S + (S − M) msign(MᵀM − I)]``, two msigns;
* ``"odd"``, 11059 (12): ``½[(S + M) msign(MᵀM + I) + (S − M) msign(MᵀM − I)]``, three msigns;
* ``"block"``, @leloykun's construction: ``msign`` of ``H = [[I, M], [Mᵀ, I]]``, whose blocks give
  ``mclip(M) = Q + M R`` (``Q`` the off-diagonal block, ``R`` the ``Mᵀ``-side diagonal block);
* ``"svd"``, the exact reference.

The last four are derived for ``[0, 1]`` and reach ``[α ≤ 0, β]`` by scaling,
``mclip_[0,β](M) = β mclip(M/β)``. With the exact (SVD) msign every formula is exact up to
rounding; with a Newton–Schulz msign each one is, in exact arithmetic, a scalar map of the
singular values, :func:`transfer`, which explains how their errors differ.

The same trick gives any polynomial of the singular values (11006):
``U Σ^{2k} Vᵀ = msign(M)(MᵀM)^k`` and ``U Σ^{2k+1} Vᵀ = M(MᵀM)^k``
(:func:`singular_value_polynomial`), and the step ``mstep`` (:func:`mstep`).
:func:`matmul_cost` counts the matrix products of each method in closed form, and
:func:`traced_matmul_cost` counts them in the traced computation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jex_core
from jax.typing import ArrayLike

from kexue_lib import polar, validate

__all__ = [
    "FORMULA_METHODS",
    "METHODS",
    "POST_COEFFICIENTS",
    "UNIT_METHODS",
    "ClipErrors",
    "MatmulCost",
    "clip_errors",
    "formula",
    "matmul_cost",
    "mclip",
    "memoized_msign",
    "mstep",
    "post_schedule",
    "post_spectrum",
    "singular_value_polynomial",
    "spectral_error",
    "traced_matmul_cost",
    "transfer",
    "with_singular_values",
]

METHODS = ("svd", "general", "nested", "denested", "odd", "block")
#: The methods computed from msign calls.
FORMULA_METHODS = METHODS[1:]
#: The methods derived for the interval [0, 1] (other intervals [α ≤ 0, β] by scaling).
UNIT_METHODS = ("nested", "denested", "odd", "block")

#: The Newton–Schulz coefficients of 11059's ``msign`` (from kexue.fm/archives/10996), one
#: ``(a, b, c)`` per step, the last repeated beyond seven steps; the post applies them as
#: ``p(x/1.01)`` on every step, after normalising by the Frobenius norm alone.
POST_COEFFICIENTS: tuple[tuple[float, float, float], ...] = (
    (8.287212018145622, -23.59588651909882, 17.300387312530923),
    (4.107059111542197, -2.9478499167379084, 0.54484310829266),
    (3.9486908534822938, -2.908902115962947, 0.5518191394370131),
    (3.3184196573706055, -2.488488024314878, 0.5100489401237208),
    (2.3006520199548186, -1.6689039845747518, 0.4188073119525678),
    (1.8913014077874002, -1.2679958271945908, 0.37680408948524996),
    (1.875, -1.25, 0.375),
)
_POST_SAFETY = 1.01


def post_schedule(steps: int = 4) -> np.ndarray:
    """The ``(steps, 3)`` Newton–Schulz table of 11059's msign, as applied.

    Row ``t`` is ``(a/1.01, b/1.01³, c/1.01⁵)`` of :data:`POST_COEFFICIENTS` (the last triple
    repeated beyond seven steps), on every step, the last included. Use it with
    ``polar.newton_schulz(M, table, safety=1.0)``: the post normalises ``M`` by ``‖M‖_F`` alone,
    where the Polar Express schedule of :mod:`kexue_lib.polar` divides by ``1.01 ‖M‖_F`` and
    leaves the last step unscaled.
    """
    steps = validate.integer("steps", steps, minimum=1)
    s = _POST_SAFETY
    rows = [POST_COEFFICIENTS[min(t, len(POST_COEFFICIENTS) - 1)] for t in range(steps)]
    return np.array([(a / s, b / s**3, c / s**5) for a, b, c in rows], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# The formulas, written with +, −, scalar ×, @, .T and msign only: they run on JAX arrays and
# on sympy matrices alike (the chapter checks them symbolically on diagonal matrices).


def _general(m: Any, msign: Callable, lo: float, hi: float) -> Any:
    s = msign(m)
    a, b = msign(lo * s - m), msign(hi * s - m)
    # (αI − M Sᵀ) A − (βI − M Sᵀ) B = αA − βB − M (Sᵀ (A − B)): no n × n matrix is formed
    return ((lo + hi) * s + lo * a - hi * b - m @ (s.T @ (a - b))) / 2


def _nested(m: Any, msign: Callable, eye: Any) -> Any:
    s = msign(m)
    s2 = msign(m - s)
    return (m + s + s2 - m @ (s.T @ s2)) / 2


def _denested(m: Any, msign: Callable, eye: Any) -> Any:
    s = msign(m)
    s2 = msign(m.T @ m - eye)
    return (m + s + (s - m) @ s2) / 2


def _odd(m: Any, msign: Callable, eye: Any) -> Any:
    s = msign(m)
    gram = m.T @ m
    plus, minus = msign(gram + eye), msign(gram - eye)
    return ((s + m) @ plus + (s - m) @ minus) / 2


_UNIT_FORMULAS = {"nested": _nested, "denested": _denested, "odd": _odd}


def formula(method: str, M: Any, msign: Callable[[Any], Any], eye: Any, *,
            lo: float = 0.0, hi: float = 1.0) -> Any:
    """The post's formula ``method`` for ``mclip_[lo, hi]``, on any matrix type.

    Written with ``+``, ``−``, scalar ``×``, ``@``, ``.T`` and calls of ``msign`` only, so that ``M``
    may be a JAX array or a sympy matrix (with ``msign`` acting on it, e.g. the sign of the
    diagonal for a diagonal matrix); ``eye`` is the identity with ``M``'s number of columns.
    ``method`` is ``"general"`` (11059 (5), with ``lo``, ``hi``) or one of ``"nested"``,
    ``"denested"``, ``"odd"`` (11059 (6), (10), (12), for ``[0, 1]``: ``lo`` and ``hi`` are not
    used). No validation and no scaling: :func:`mclip` is the checked entry point.
    """
    validate.choice("method", method, ("general", *_UNIT_FORMULAS))
    if method == "general":
        return _general(M, msign, lo, hi)
    return _UNIT_FORMULAS[method](M, msign, eye)


def _block(m: jax.Array, msign: Callable) -> jax.Array:
    """@leloykun: msign(H), H = [[I_n, M], [Mᵀ, I_m]] = [[P, Q], [Qᵀ, R]]; mclip(M) = Q + M R."""
    n, k = m.shape
    h = jnp.block([[jnp.eye(n, dtype=m.dtype), m], [m.T, jnp.eye(k, dtype=m.dtype)]])
    oh = msign(h)
    return oh[:n, n:] + m @ oh[n:, n:]


def _svd_clip(m: jax.Array, lo: float, hi: float) -> jax.Array:
    work = m.astype(jnp.float32) if m.dtype in (jnp.bfloat16, jnp.float16) else m
    u, s, vt = polar.svd(work)
    clipped = jnp.clip(s, max(lo, 0.0), hi)
    if lo > 0:  # the null space stays zero, as the general formula (5) leaves it
        clipped = jnp.where(s > s[0] * jnp.finfo(work.dtype).eps * max(work.shape), clipped, 0.0)
    return ((u * clipped) @ vt).astype(m.dtype)


def _tall(fn: Callable[[jax.Array], jax.Array], m: jax.Array) -> jax.Array:
    """Apply ``fn`` to the tall orientation of ``m`` (every method commutes with transposition)."""
    return fn(m.T).T if m.shape[0] < m.shape[1] else fn(m)


def _unit_interval(m: jax.Array, method: str, msign: Callable) -> jax.Array:
    if method == "block":
        return _block(m, msign)
    return _UNIT_FORMULAS[method](m, msign, jnp.eye(m.shape[1], dtype=m.dtype))


def _mclip_2d(m: jax.Array, method: str, msign: Callable, lo: float, hi: float) -> jax.Array:
    with jax.default_matmul_precision("highest"):
        if method == "svd":
            return _svd_clip(m, lo, hi)
        if method == "general":
            return _tall(lambda x: _general(x, msign, lo, hi), m).astype(m.dtype)
        if hi == 1.0:
            return _tall(lambda x: _unit_interval(x, method, msign), m).astype(m.dtype)
        scale = jnp.asarray(hi, dtype=m.dtype)
        return (scale * _tall(lambda x: _unit_interval(x, method, msign), m / scale)).astype(m.dtype)


def _matrices(name: str, M: ArrayLike) -> jax.Array:
    x = validate.array(name, M)
    if x.ndim < 2:
        raise ValueError(f"{name} must be a 2-D matrix or a batch of them (..., n, m), got shape "
                         f"{tuple(x.shape)}")
    return x


def _msign_arg(msign: Any) -> Callable[[jax.Array], jax.Array]:
    if msign is None:
        return polar.msign
    if not callable(msign):
        raise ValueError(f"msign must be a callable M ↦ msign(M) (or None for the exact SVD msign), "
                         f"got {type(msign).__name__}")
    return msign


def memoized_msign(msign: Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
    """``msign`` computed once per distinct input: for comparisons that run several methods on one matrix.

    Every formula method begins with ``msign(M)``, and two methods may share a later msign too
    (``"denested"`` and ``"odd"`` both take ``msign(MᵀM − I)``). The returned callable stores each
    result under the input's shape, dtype and SHA-256 digest of its bytes, and returns the stored
    array for an input equal to an earlier one bit for bit: the same array ``msign`` would
    return again, since it is deterministic. Inside a traced function (:func:`jax.jit`,
    :func:`jax.vmap`) it calls ``msign`` each time. ``msign`` is as in :func:`mclip` (``None`` for
    the exact SVD msign). The store is never emptied: it keeps every distinct input's result,
    so make a new one for each comparison.
    """
    fn = _msign_arg(msign)
    store: dict[tuple[tuple[int, ...], str, bytes], jax.Array] = {}

    def memoized(m: jax.Array) -> jax.Array:
        if isinstance(m, jax.core.Tracer):
            return fn(m)
        host = np.asarray(m)
        key = (host.shape, host.dtype.name, hashlib.sha256(host.tobytes()).digest())
        if key not in store:
            store[key] = fn(m)
        return store[key]

    return memoized


def _batched(fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """``fn`` on a 2-D matrix, mapped over any leading batch dimensions of ``x``."""
    if x.ndim == 2:
        return fn(x)
    flat = x.reshape((-1, *x.shape[-2:]))
    out = jax.vmap(fn)(flat)
    return out.reshape((*x.shape[:-2], *out.shape[-2:]))


def mclip(
    M: ArrayLike,
    *,
    lo: float = 0.0,
    hi: float = 1.0,
    method: str = "svd",
    msign: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
    """``M`` with its singular values clipped into ``[lo, hi]``: ``U clip(Σ, lo, hi) Vᵀ``.

    ``M`` is a matrix ``(n, m)`` or a batch ``(..., n, m)``; the result has its shape and dtype
    (bfloat16 in, bfloat16 out), and is computed in that dtype, except that ``"svd"`` works on
    a float32 copy of a bfloat16 or float16 ``M`` (and the msign passed keeps its own). For
    ``lo ≤ 0`` this is clipping into ``[0, hi]`` (singular values are ``≥ 0``); for ``lo > 0``
    the nonzero singular values are clipped into ``[lo, hi]`` and the null space stays zero, as
    the general formula does (for "svd", the singular values up to ``σ₁·eps·max(n, m)`` of the
    working precision count as zero). ``hi`` must be ``> 0`` and ``lo ≤ hi``.

    ``method`` (:data:`METHODS`): ``"svd"`` (exact), ``"general"`` (11059 (5), three msigns,
    any ``lo``), ``"nested"`` (11059 (6) = 11006 (7)), ``"denested"`` (11059 (10)), ``"odd"``
    (11059 (12)) or ``"block"`` (@leloykun's); the last four are derived for ``[0, 1]``, apply
    to ``[lo ≤ 0, hi]`` as ``hi · mclip(M/hi)``, and raise ``ValueError`` for ``lo > 0``.
    ``msign`` is a callable ``M ↦ msign(M)`` on 2-D arrays used by the formula methods (default:
    the exact SVD msign :func:`kexue_lib.polar.msign`, so every formula is exact up to rounding);
    pass a Newton–Schulz msign, e.g. ``functools.partial(polar.msign, method="newton_schulz",
    steps=4)``, to see its numerical behaviour. Wide matrices are computed transposed (every
    method commutes with transposition), so that ``MᵀM`` is the smaller Gram matrix; matrix
    products run at full precision (``"highest"``). The function runs eagerly (each step is a
    compiled kernel, cached by shape); it may be wrapped in :func:`jax.jit` as a whole.
    """
    x = _matrices("M", M)
    lo = validate.real("lo", lo)
    hi = validate.real("hi", hi, positive=True)
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    validate.choice("method", method, METHODS)
    if method == "svd":
        if msign is not None:
            raise ValueError("msign applies only to the formula methods, not to method='svd'")
        fn = None
    else:
        fn = _msign_arg(msign)
    if method in UNIT_METHODS and lo > 0:
        raise ValueError(f"method={method!r} is derived for [0, 1] and reaches [lo <= 0, hi] by "
                         f"scaling; for lo > 0 (got {lo}) use method='general' or 'svd'")
    return _batched(lambda m: _mclip_2d(m, method, fn, lo, hi), x)


def _mstep_2d(m: jax.Array, msign: Callable) -> jax.Array:
    with jax.default_matmul_precision("highest"):
        s = msign(m)
        return ((s + msign(m - s)) / 2).astype(m.dtype)


def mstep(M: ArrayLike, *, msign: Callable[[jax.Array], jax.Array] | None = None) -> jax.Array:
    """``U step(Σ) Vᵀ`` with ``step(σ) = ½[sign(σ − 1) + 1]``, by 11006 (10): ``½[S + msign(M − S)]``.

    Singular values above 1 become 1, those below 1 become 0 (exactly 1 gives ½, as
    ``sign(0) = 0``). ``M`` is ``(n, m)`` or ``(..., n, m)``; ``msign`` as in :func:`mclip`.
    """
    x = _matrices("M", M)
    return _batched(lambda m: _mstep_2d(m, _msign_arg(msign)), x)


def _polynomial_2d(m: jax.Array, coefficients: jax.Array, msign: Callable) -> jax.Array:
    with jax.default_matmul_precision("highest"):
        x = m.T if m.shape[0] < m.shape[1] else m
        even, odd = coefficients[0::2], coefficients[1::2]
        gram = x.T @ x
        eye = jnp.eye(x.shape[1], dtype=x.dtype)

        def horner(coeffs: jax.Array) -> jax.Array:
            """c₀ I + c₁ G + c₂ G² + … by Horner's rule in the Gram matrix G."""
            acc = coeffs[-1] * eye
            for c in coeffs[-2::-1]:
                acc = gram @ acc + c * eye
            return acc

        out = jnp.zeros_like(x)
        if even.shape[0]:
            out = out + msign(x) @ horner(even)
        if odd.shape[0]:
            out = out + x @ horner(odd)
        out = out.T if m.shape[0] < m.shape[1] else out
        return out.astype(m.dtype)


def singular_value_polynomial(
    M: ArrayLike,
    coefficients: ArrayLike,
    *,
    msign: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
    """``U f(Σ) Vᵀ`` for ``f(x) = Σ_k coefficients[k] x^k``, from ``M`` and ``msign(M)`` alone.

    11006 (12): the even powers are ``msign(M)(MᵀM)^j`` and the odd ones ``M(MᵀM)^j``, so
    ``U f(Σ) Vᵀ = msign(M) e(MᵀM) + M o(MᵀM)`` with ``f(x) = e(x²) + x o(x²)``, evaluated by
    Horner's rule in the Gram matrix. The sum runs over the nonzero singular values
    (``Σ_{σᵢ>0} f(σᵢ) uᵢ vᵢᵀ``): the null space of ``M`` maps to zero, as for ``msign``, even where
    ``f(0) ≠ 0``. ``M`` is ``(n, m)`` or ``(..., n, m)``; ``coefficients`` a non-empty 1-D array of
    finite reals; ``msign`` as in :func:`mclip`.
    """
    x = _matrices("M", M)
    c = validate.array("coefficients", coefficients, ndim=1, floating=False)
    if not jnp.issubdtype(c.dtype, jnp.floating) and not jnp.issubdtype(c.dtype, jnp.integer):
        raise ValueError(f"coefficients must be real numbers, got dtype {c.dtype}")
    c = c.astype(x.dtype)
    fn = _msign_arg(msign)
    return _batched(lambda m: _polynomial_2d(m, c, fn), x)


# ---------------------------------------------------------------------------------------------
# The scalar model: with a Newton–Schulz msign each method maps every singular value separately.


def _sign_map(x: np.ndarray, norm: float, table: np.ndarray | None, safety: float) -> np.ndarray:
    """msign on the (signed) singular values ``x`` of a matrix of Frobenius norm ``norm``."""
    if table is None:
        return np.sign(x)
    if norm == 0:
        return np.zeros_like(x)
    # polar.newton_schulz on x/(safety·norm): a custom table is applied as given (no safety)
    return polar.singular_value_iterates(table, x / (safety * norm), len(table))[-1]


def transfer(
    method: str,
    s: ArrayLike,
    *,
    lo: float = 0.0,
    hi: float = 1.0,
    table: ArrayLike | None = None,
    safety: float = 1.0,
    rows: int | None = None,
) -> np.ndarray:
    """What ``mclip(M, lo=lo, hi=hi, method=method)`` does to each singular value, in exact arithmetic.

    ``s`` holds all ``min(n, m)`` singular values of ``M`` (zeros included), ``rows`` the larger
    dimension ``max(n, m)`` (default ``len(s)``; only ``"block"`` depends on it). With
    ``table=None`` msign is exact (``sign``); with a Newton–Schulz ``table`` (rows as applied, see
    :func:`kexue_lib.polar.schedule_coefficients` or :func:`post_schedule`) and ``safety``, every
    msign maps a singular value ``x`` of its argument ``X`` as ``polar.newton_schulz`` does,
    ``x/(safety ‖X‖_F)`` through the table (:func:`kexue_lib.polar.singular_value_iterates`).
    Each formula sends ``M = U Σ Vᵀ`` to ``U f(Σ) Vᵀ``; this returns ``f(s)`` in float64, the
    singular-value map that the matrix computation follows up to rounding.
    """
    validate.choice("method", method, METHODS)
    sv = np.asarray(s, dtype=np.float64)
    if sv.ndim != 1 or sv.size == 0 or not np.all(np.isfinite(sv)) or np.any(sv < 0):
        raise ValueError("s must be a non-empty 1-D array of finite singular values >= 0")
    lo = validate.real("lo", lo)
    hi = validate.real("hi", hi, positive=True)
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    if method in UNIT_METHODS and lo > 0:
        raise ValueError(f"method={method!r} is derived for [0, 1]: lo must be <= 0, got {lo}")
    rows = sv.size if rows is None else validate.integer("rows", rows, minimum=sv.size)
    safety = validate.real("safety", safety, positive=True)
    tab = None
    if table is not None:
        tab = np.asarray(table, dtype=np.float64)
        if tab.ndim != 2 or tab.shape[1] < 2 or not np.all(np.isfinite(tab)):
            raise ValueError(f"table must be a finite (steps, k) array, k >= 2, got shape {tab.shape}")
    if method == "svd":
        out = np.clip(sv, max(lo, 0.0), hi)
        return np.where(sv > 0, out, 0.0) if lo > 0 else out

    def sgn(x: np.ndarray) -> np.ndarray:
        return _sign_map(x, float(np.linalg.norm(x)), tab, safety)

    if method == "general":
        p = sgn(sv)
        a, b = sgn(lo * p - sv), sgn(hi * p - sv)
        return ((lo + hi) * p + lo * a - hi * b - sv * p * (a - b)) / 2
    x = sv / hi
    p = sgn(x)
    if method == "nested":
        q = sgn(x - p)
        f = (x + p + q - x * p * q) / 2
    elif method == "denested":
        f = (x + p + (p - x) * sgn(x * x - 1)) / 2
    elif method == "odd":
        f = ((p + x) * sgn(x * x + 1) + (p - x) * sgn(x * x - 1)) / 2
    else:  # block: H has eigenvalues 1 ± σᵢ and (rows − len(s)) more equal to 1
        plus, minus = 1 + x, 1 - x
        norm = float(np.sqrt(np.sum(plus**2) + np.sum(minus**2) + (rows - sv.size)))
        g_plus, g_minus = (_sign_map(h, norm, tab, safety) for h in (plus, minus))
        f = (g_plus - g_minus) / 2 + x * (g_plus + g_minus) / 2
    return hi * f


# ---------------------------------------------------------------------------------------------
# Errors and costs.


class ClipErrors(NamedTuple):
    """The three measures of 11059's comparison, for one computed clip."""

    spectral_norm: float  # ‖result‖₂ (1 for an exact clip into [0, 1] of a matrix with σ₁ ≥ 1)
    mean_sv_error: float  # mean |σᵢ(result) − clip(sᵢ)| over the min(n, m) singular values
    mean_entry_error: float  # mean |result − exact| over the entries


def clip_errors(result: ArrayLike, exact: ArrayLike, clipped: ArrayLike) -> ClipErrors:
    """11059's three error measures of a computed clip ``result`` of one matrix, in float64.

    ``exact`` is the exact clip (same shape) and ``clipped`` its singular values (``min(n, m)``
    of them, in any order). The singular values of ``result`` are the square roots of the
    eigenvalues of its smaller Gram matrix, in float64: for a result stored in bfloat16 or
    float32 (exact in float64) their absolute error is at most about ``1e-8 ‖result‖₂``, far
    below the errors measured, at a fraction of the cost of an SVD.
    """
    with jax.enable_x64(True):
        r = validate.array("result", result, ndim=2).astype(jnp.float64)
        e = validate.array("exact", exact, ndim=2).astype(jnp.float64)
        validate.same_shape("result", r, "exact", e)
        c = validate.array("clipped", clipped, ndim=1).astype(jnp.float64)
        if c.shape[0] != min(r.shape):
            raise ValueError(f"clipped must hold min(n, m) = {min(r.shape)} singular values, "
                             f"got {c.shape[0]}")
        tall = r.T if r.shape[0] < r.shape[1] else r
        gram = jnp.matmul(tall.T, tall, precision="highest")
        sv = jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh(gram), 0.0))[::-1]
        sv_error = jnp.mean(jnp.abs(sv - jnp.sort(c)[::-1]))
        return ClipErrors(float(sv[0]), float(sv_error), float(jnp.mean(jnp.abs(r - e))))


def spectral_error(result: ArrayLike, exact: ArrayLike) -> np.ndarray:
    """``‖result − exact‖₂`` of a matrix ``(n, m)`` or of each matrix of a batch ``(..., n, m)``.

    Computed in float64 (whatever JAX's default) as the square root of the largest eigenvalue
    of the smaller Gram matrix of the difference, exact in float64 to about ``1e-8`` relative,
    far cheaper than an SVD. Returns a NumPy float64 array of the batch shape (a 0-d array for
    one matrix).
    """
    with jax.enable_x64(True):
        r = _matrices("result", result).astype(jnp.float64)
        e = _matrices("exact", exact).astype(jnp.float64)
        validate.same_shape("result", r, "exact", e)
        diff = r - e
        if diff.shape[-2] < diff.shape[-1]:
            diff = jnp.swapaxes(diff, -2, -1)
        gram = jnp.matmul(jnp.swapaxes(diff, -2, -1), diff, precision="highest")
        return np.sqrt(np.clip(np.asarray(jnp.linalg.eigvalsh(gram)[..., -1]), 0.0, None))


def post_spectrum(m: int = 1024, top: int = 128, sigma_max: float = 1000.0) -> np.ndarray:
    """11059's test spectrum: ``top`` values ``linspace(1, sigma_max)`` and ``m − top`` values
    ``linspace(0, 1)``, in descending order (float64). The post uses ``m = 1024``, ``top = 128``."""
    m = validate.integer("m", m, minimum=2)
    top = validate.integer("top", top, minimum=1, maximum=m - 1)
    sigma_max = validate.real("sigma_max", sigma_max, positive=True)
    s = np.concatenate([np.linspace(1.0, sigma_max, top), np.linspace(0.0, 1.0, m - top)])
    return np.sort(s)[::-1]


def _cholesky_qr(g: jax.Array) -> jax.Array:
    """The ``Q`` of ``g = QR`` (``R`` with a positive diagonal) by two passes of Cholesky QR."""
    q = g
    for _ in range(2):
        chol = jnp.linalg.cholesky(jnp.matmul(q.T, q, precision="highest"))
        q = jax.scipy.linalg.solve_triangular(chol, q.T, lower=True).T
    return q


def with_singular_values(
    key: jax.Array, s: ArrayLike, rows: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(M, U, V)``: ``M = U diag(s) Vᵀ`` of shape ``(rows, k)`` with Haar-random ``U`` (``rows × k``,
    orthonormal columns) and ``V`` (``k × k``, orthogonal), in float64.

    ``s`` is ``(k,)`` or a batch ``(..., k)`` of spectra, which share ``U`` and ``V`` (so that a
    sweep over spectra changes nothing else). ``U``, ``V`` are the ``Q`` factors, with ``R``'s
    diagonal positive, of Gaussian matrices drawn with ``key``: Haar-distributed, as the post's
    ``u, vh`` from the SVD of a Gaussian matrix are. ``Q`` is computed by Cholesky QR, twice
    (``G = QR`` with ``R`` the Cholesky factor of ``GᵀG``; the second pass makes ``Q``
    orthonormal to rounding), a few times cheaper than Householder QR for the tall, well
    conditioned Gaussian matrices used here.
    """
    key = validate.prng_key("key", key)
    with jax.enable_x64(True):
        sv = validate.array("s", s).astype(jnp.float64)
        if sv.ndim < 1:
            raise ValueError("s must be a 1-D spectrum or a batch of them")
        k = sv.shape[-1]
        rows = validate.integer("rows", rows, minimum=k)
        ku, kv = jax.random.split(key)
        u, v = (_cholesky_qr(jax.random.normal(sub, shape, dtype=jnp.float64))
                for sub, shape in ((ku, (rows, k)), (kv, (k, k))))
        m = jnp.matmul(u * sv[..., None, :], v.T, precision="highest")
        return m, u, v


class MatmulCost(NamedTuple):
    """The matrix products of one computation: how many, their flops, and the msign calls."""

    products: int  # matrix products (dot_general), each a × b times b × c counted once
    flops: int  # 2abc for each such product
    msigns: tuple[tuple[int, int], ...]  # the shapes (tall orientation) msign is applied to


def _product(a: int, b: int, c: int) -> tuple[int, int]:
    return 1, 2 * a * b * c


def _msign_cost(a: int, b: int, steps: int | None) -> tuple[int, int]:
    """One msign of an a × b matrix (a ≥ b): Newton–Schulz steps, or the SVD's one product."""
    if steps is None:  # polar.msign by SVD: (U · mask) @ Vᵀ, the SVD itself is not a product
        return _product(a, b, b)
    # per step: XᵀX (b × a × b), G·G (b³), X·(bG + cG²) (a × b × b)
    return 3 * steps, steps * (4 * a * b * b + 2 * b**3)


def matmul_cost(method: str, n: int, m: int, steps: int | None = None) -> MatmulCost:
    """The matrix products :func:`mclip` makes for an ``n × m`` matrix, in closed form.

    ``steps`` is the number of quintic Newton–Schulz steps of each msign (as
    :func:`polar.newton_schulz` computes them: three products a step) or ``None`` for the SVD
    msign (one product each, the reconstruction; the SVD's own work is not a matrix product).
    With ``a = max(n, m)``, ``b = min(n, m)`` (every method works on the tall orientation), one
    Newton–Schulz step on an ``a × b`` matrix costs ``4ab² + 2b³`` flops. For ``method="svd"``
    the count is the one reconstruction product. Other intervals than ``[0, 1]`` add no product.
    """
    validate.choice("method", method, METHODS)
    n = validate.integer("n", n, minimum=1)
    m = validate.integer("m", m, minimum=1)
    steps = None if steps is None else validate.integer("steps", steps, minimum=1)
    a, b = max(n, m), min(n, m)
    tall, square, block = (a, b), (b, b), (a + b, a + b)
    msigns: tuple[tuple[int, int], ...]
    if method == "svd":
        msigns, extra = (), [_product(a, b, b)]
    elif method in ("general", "nested"):
        count = 3 if method == "general" else 2
        msigns, extra = (tall,) * count, [_product(b, a, b), _product(a, b, b)]
    elif method == "denested":
        msigns, extra = (tall, square), [_product(b, a, b), _product(a, b, b)]
    elif method == "odd":
        msigns, extra = (tall, square, square), [_product(b, a, b), _product(a, b, b), _product(a, b, b)]
    else:
        msigns, extra = (block,), [_product(a, b, b)]
    parts = [_msign_cost(x, y, steps) for x, y in msigns] + extra
    return MatmulCost(sum(p for p, _ in parts), sum(f for _, f in parts), msigns)


def _jaxpr_cost(jaxpr: Any) -> tuple[int, int]:
    products = flops = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            (lhs_contract, _), _batch = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            inner = int(np.prod([lhs[d] for d in lhs_contract], dtype=np.int64))
            products += 1
            flops += 2 * int(np.prod(eqn.outvars[0].aval.shape, dtype=np.int64)) * inner
            continue
        if name in ("while", "cond"):
            raise ValueError(f"cannot count the products of a {name!r} (data-dependent control flow)")
        times = int(eqn.params["length"]) if name == "scan" else 1
        for sub in jex_core.jaxprs_in_params(eqn.params):
            p, f = _jaxpr_cost(sub)
            products, flops = products + times * p, flops + times * f
    return products, flops


def traced_matmul_cost(fn: Callable[..., Any], *args: Any) -> tuple[int, int]:
    """``(products, flops)`` of the matrix products ``fn(*args)`` executes, read from its jaxpr.

    Traces ``fn`` with :func:`jax.make_jaxpr` and counts every ``dot_general``, with
    ``2 · (output size) · (contracted size)`` flops, inside jitted calls and ``scan`` loops (times
    their length). Data-dependent loops (``while``, ``cond``) raise ``ValueError``. A batched
    product counts once, with the flops of the whole batch.
    """
    if not callable(fn):
        raise ValueError("fn must be a callable")
    return _jaxpr_cost(jax.make_jaxpr(fn)(*args).jaxpr)
