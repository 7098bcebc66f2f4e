"""Steepest descent with Muon on the spectral sphere ``‖W‖₂ = 1`` (Su, kexue.fm/archives/11241).

The direction solves, to first order in the step size,

    max_Φ tr(GᵀΦ)   s.t.   ‖Φ‖₂ = 1,   ⟨Θ_i, Φ⟩ = 0   (i = 1..k),

where the ``Θ_i`` span the normal directions of the constraint at ``W``: ``Θ = u₁v₁ᵀ``, the
gradient of ``‖W‖₂`` (spectral sphere), or ``Θ = W/‖W‖_F`` (the Frobenius "hypersphere"). The
solution is ``Φ = msign(G + Σ λ_i Θ_i)``, with multipliers ``λ`` found by the post's fixed-point
iteration (no ``Q⁻¹``): with ``Z = G + Σ λ_j Θ_j``, ``Q = ZᵀΦ``, ``X_i = Θ_iᵀΦ``,

    Σ_j ⟨Θ_i, Θ_j⟩ λ_j⁺ = tr(X_i Q) − tr(X_i) tr(Q)/m − ⟨Θ_i, G⟩.

Since ``tr(X_i Q) = ⟨Θ_i, Z⟩`` exactly, this is the preconditioned gradient step
``λ⁺ = λ − (‖Z‖_*/m) A⁻¹ ∇f(λ)`` on the convex dual ``f(λ) = ‖G + Σ λ_i Θ_i‖_*``
(``A`` the Gram matrix of the ``Θ_i``), whose minimum equals the maximum of the primal problem.

Matrices are ``n × m`` in either orientation; a wide one is solved transposed (the post assumes
``n ≥ m``), so ``m`` above is ``min(n, m)``.

Besides the solver: :func:`minimize_dual` minimises the dual independently (Brent's root finder on
``f'`` for one constraint, BFGS polished by a root finder for several) and
:func:`dual_derivatives` gives ``f``, ``∇f`` and ``∇²f`` by automatic differentiation through the
SVD; :func:`tied_direction` solves the exact first-order problem when the top singular value is
repeated twice; :func:`random_pair`, :func:`random_tangent`, :func:`least_squares_problem` and
:func:`gaussian_top_gaps` generate the seeded random instances the book uses.

The jitted kernels are plain functions (``_*_impl``) compiled by a module-level ``jax.jit(...)``
call rather than decorated: ``make mutate`` (mutmut) does not mutate decorated functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize as so
from jax.typing import ArrayLike

from kexue_lib import polar, validate

__all__ = [
    "Descent",
    "DualMinimum",
    "FixedPoint",
    "LeastSquares",
    "TiedDirection",
    "contraction_rate",
    "descent",
    "dual_derivatives",
    "dual_objective",
    "gaussian_top_gaps",
    "least_squares_loss",
    "least_squares_problem",
    "lower_tail_exponent",
    "minimize_dual",
    "muon_normalized_step",
    "normal_basis",
    "projected_gradient",
    "random_pair",
    "random_tangent",
    "relative_gap",
    "retract",
    "solve_fixed_point",
    "spectral_sphere_step",
    "sphere_norm",
    "steepest_direction",
    "tied_direction",
]

NORMS = ("spectral", "frobenius")
#: The multiplier iterations: the post's Q⁻¹-free fixed point, it followed by a safeguarded root
#: search, or the post's first scheme with Q⁻¹.
SOLVERS = ("fixed_point", "bracketed", "inverse")


class FixedPoint(NamedTuple):
    """Result of :func:`solve_fixed_point`; histories have one entry per msign call."""

    phi: jax.Array  # the direction from the last msign call
    lam: jax.Array  # (k,) multipliers that produced ``phi``
    tangent: jax.Array  # (iters, k) ⟨Θ_i, Φ⟩ after each msign call
    objective: jax.Array  # (iters,) tr(GᵀΦ) after each msign call
    lam_history: jax.Array  # (iters, k) the multipliers used by each msign call


def _norm_name(norm: str) -> str:
    return validate.choice("norm", norm, NORMS)


def sphere_norm(W: ArrayLike, norm: str = "spectral") -> jax.Array:
    """``‖W‖₂`` (exact, by the SVD) or ``‖W‖_F``: the norm whose unit sphere is the manifold."""
    W = validate.array("W", W, ndim=2)
    if _norm_name(norm) == "frobenius":
        return jnp.linalg.norm(W)
    return polar.svd(W, compute_uv=False)[0]


def normal_basis(
    W: ArrayLike,
    norm: str = "spectral",
    *,
    k: int = 1,
    symmetric: bool = False,
    theta: str = "svd",
    rotation: ArrayLike | None = None,
) -> jax.Array:
    """The normal matrices ``Θ_i`` of the sphere at ``W``, stacked as ``(count, n, m)``.

    ``norm="frobenius"``: the single ``Θ = W/‖W‖_F``. ``norm="spectral"``: ``Θ = u₁v₁ᵀ``, the
    gradient of ``‖W‖₂``, from the SVD (``theta="svd"``) or by power iteration
    (``theta="power"``, :func:`kexue_lib.polar.top_singular_triplet`, stopped at the relative
    residual ``√eps`` of ``W``'s dtype; accurate only when σ₂ < σ₁ by a margin). For a top
    singular value repeated ``k`` times (``k > 1``, SVD only) there are two choices: the post's
    ``Θ_i = u_i v_iᵀ`` (``k`` matrices), or with ``symmetric=True`` the basis of
    ``{U_k S V_kᵀ : S symmetric}`` (``k(k+1)/2`` matrices, orthonormal in Frobenius), whose
    constraints ``sym(U_kᵀΦV_k) = 0`` keep every tied singular value at 1 to first order.

    A tied singular value has no preferred basis: ``rotation`` (a ``k × k`` orthogonal matrix
    ``R``) replaces the SVD's ``U_k, V_k`` by ``U_k R, V_k R``, the same pair of subspaces.
    """
    W = validate.array("W", W, ndim=2)
    k = validate.integer("k", k, minimum=1, maximum=min(W.shape))
    validate.choice("theta", theta, ("svd", "power"))
    if _norm_name(norm) == "frobenius":
        if k != 1 or rotation is not None:
            raise ValueError("k > 1 and rotation apply only to norm='spectral'")
        return (W / jnp.linalg.norm(W))[None]
    if theta == "power":
        if k != 1 or rotation is not None:
            raise ValueError("theta='power' gives only the top singular pair; use theta='svd' for k > 1")
        _s, u, v = polar.top_singular_triplet(W, tol=float(jnp.finfo(W.dtype).eps) ** 0.5)
        return jnp.outer(u, v)[None]
    u, _s, vt = polar.svd(W)
    u, v = u[:, :k], vt[:k].T
    if rotation is not None:
        r = validate.array("rotation", rotation, ndim=2).astype(W.dtype)
        if r.shape != (k, k):
            raise ValueError(f"rotation must be a {k} × {k} orthogonal matrix, got shape {tuple(r.shape)}")
        if float(jnp.abs(r.T @ r - jnp.eye(k, dtype=r.dtype)).max()) > 1e3 * float(jnp.finfo(r.dtype).eps):
            raise ValueError("rotation must be orthogonal (RᵀR = I)")
        u, v = u @ r, v @ r
    if not symmetric:
        return jnp.stack([jnp.outer(u[:, i], v[:, i]) for i in range(k)])
    basis = []
    for i in range(k):
        for j in range(i, k):
            if i == j:
                basis.append(jnp.outer(u[:, i], v[:, i]))
            else:
                basis.append((jnp.outer(u[:, i], v[:, j]) + jnp.outer(u[:, j], v[:, i])) / math.sqrt(2.0))
    return jnp.stack(basis)


def _check_thetas(G: jax.Array, thetas: Any) -> jax.Array:
    thetas = validate.array("thetas", thetas)
    if thetas.ndim == 2:
        thetas = thetas[None]
    if thetas.ndim != 3 or tuple(thetas.shape[1:]) != tuple(G.shape):
        raise ValueError(
            f"thetas must be a (count, n, m) stack of matrices shaped like G {tuple(G.shape)}, "
            f"got shape {tuple(thetas.shape)}"
        )
    if isinstance(thetas, jax.core.Tracer):  # abstract inside jit/grad: only the shape is checked
        return thetas
    with jax.ensure_compile_time_eval():
        gram = np.asarray(jnp.einsum("inm,jnm->ij", thetas, thetas), dtype=np.float64)
    if np.linalg.cond(gram) > 1e12:
        raise ValueError("thetas must be linearly independent (their Gram matrix is singular)")
    return thetas


def _fixed_point_impl(
    g: jax.Array,
    thetas: jax.Array,
    iters: int,
    table: jax.Array | None = None,
    safety: float = 1.0,
    bracketed: jax.Array | bool = False,
    inverse: bool = False,
) -> FixedPoint:
    """The jitted solver; ``table`` ``None`` means msign by SVD, else Newton–Schulz with that table."""
    m = g.shape[1]
    gram = jnp.einsum("inm,jnm->ij", thetas, thetas)
    theta_g = jnp.einsum("inm,nm->i", thetas, g)
    lam0 = jnp.linalg.solve(gram, -theta_g)  # the post's start: G projected on the tangent space
    inf = jnp.asarray(jnp.inf, g.dtype)
    # Bracket of the root of f'(λ) = ⟨Θ, msign(G + λΘ)⟩ (nondecreasing, k = 1 only), with the
    # Illinois halving: (lo, f(lo), hi, f(hi), which end moved last).
    bracket0 = (-inf, -inf, inf, inf, jnp.asarray(0))

    def step(carry: tuple, _: None) -> tuple[tuple, tuple]:
        lam, (lo, flo, hi, fhi, last) = carry
        z = g + jnp.einsum("i,inm->nm", lam, thetas)
        phi = polar.msign(z) if table is None else polar.newton_schulz(z, table, safety)
        q = z.T @ phi
        x = jnp.einsum("inm,nk->imk", thetas, phi)  # X_i = Θ_iᵀΦ, (count, m, m)
        tr_x = jnp.trace(x, axis1=1, axis2=2)
        rhs = jnp.einsum("imk,mk->i", x, q) - tr_x * jnp.trace(q) / m - theta_g
        post = jnp.linalg.solve(gram, rhs)
        if inverse:  # the post's first scheme: Σ_j tr(Θ_iᵀΘ_j Q⁻¹) λ_j = −tr(Θ_iᵀ G Q⁻¹)
            # Q = ZᵀΦ is symmetric positive definite (up to rounding, or Newton–Schulz error):
            # its inverse through eigh, which XLA's CPU runs far faster than an LU inverse.
            e, v = jnp.linalg.eigh((q + q.T) / 2)
            qinv = (v / e) @ v.T
            b = jnp.einsum("inm,jnk,km->ij", thetas, thetas, qinv)
            post = jnp.linalg.solve(b, -jnp.einsum("inm,nk,km->i", thetas, g, qinv))
        # The bracket is traced (not a Python branch) so both solvers share one compiled program;
        # with several constraints ``bracketed`` is always False and ``post`` passes through.
        t = tr_x[0]
        below = t < 0
        lo, flo = jnp.where(below, lam[0], lo), jnp.where(below, t, jnp.where(last == 1, flo / 2, flo))
        hi, fhi = jnp.where(below, hi, lam[0]), jnp.where(below, jnp.where(last == -1, fhi / 2, fhi), t)
        last = jnp.where(below, -1, 1)
        both = jnp.isfinite(lo) & jnp.isfinite(hi)
        falsi = (lo * fhi - hi * flo) / jnp.where(both, fhi - flo, 1.0)
        post = jnp.where(bracketed & both & (t != 0), falsi, post)
        return (post, (lo, flo, hi, fhi, last)), (phi, lam, tr_x, jnp.sum(g * phi))

    _, (phis, lams, tangent, objective) = jax.lax.scan(step, (lam0, bracket0), None, length=iters)
    return FixedPoint(phis[-1], lams[-1], tangent, objective, lams)


_fixed_point = jax.jit(_fixed_point_impl, static_argnames=("iters", "safety", "inverse"))


def _ns_table(method: str, steps: int | None, coeffs: Any, dtype: Any) -> tuple[jax.Array | None, float]:
    """The Newton–Schulz table for the solver (``None`` for the SVD), padded to a multiple of 8 rows.

    Padding rows are the identity polynomial ``p(x) = x``, which leaves the iterate exactly
    unchanged; it lets runs with 5 to 8 steps (or 9 to 16, ...) share one compiled solver.
    """
    table, safety = polar.method_coefficients(method, steps, coeffs)
    if table is None:
        return None, 1.0
    pad = -len(table) % 8
    table = np.concatenate([table, np.tile([[1.0, 0.0, 0.0]], (pad, 1))])
    return jnp.asarray(table, dtype=dtype), safety


def solve_fixed_point(
    G: ArrayLike,
    thetas: ArrayLike,
    iters: int = 10,
    *,
    method: str = "svd",
    steps: int | None = None,
    coeffs: Any = None,
    solver: str = "fixed_point",
) -> FixedPoint:
    """Run the post's fixed-point iteration for ``Φ = msign(G + Σ λ_i Θ_i)`` with ``⟨Θ_i, Φ⟩ = 0``.

    ``thetas`` is one ``n × m`` matrix or a ``(count, n, m)`` stack (linearly independent).
    ``iters`` is the number of msign calls (``method``, ``steps``, ``coeffs`` as in
    :func:`kexue_lib.polar.msign`). Starts from the post's ``λ₀``, the least-squares projection of
    ``G`` on the tangent space, and records the tangent error ``⟨Θ_i, Φ⟩`` and the objective
    ``tr(GᵀΦ)`` after every call. ``G`` must be tall (``n ≥ m``); :func:`steepest_direction`
    transposes wide input.

    ``solver="fixed_point"`` is the post's update. It is a gradient step on the dual with step
    ``‖Z‖_*/m``, so it converges at the rate ``|1 − (‖Z‖_*/m) f''(λ*)|`` and fails (a 2-cycle)
    when that exceeds 1. ``solver="bracketed"`` (one constraint only) takes the post's update
    until the sign of ``⟨Θ, Φ⟩`` has changed, then Illinois regula falsi on the monotone
    ``λ ↦ ⟨Θ, msign(G + λΘ)⟩``, which converges wherever the post's update does not oscillate.
    ``solver="inverse"`` is the post's first scheme, the one it discards to avoid ``Q⁻¹``:
    ``λ = −tr(ΘᵀGQ⁻¹)/tr(ΘᵀΘQ⁻¹)`` at the current ``Q = ZᵀΦ`` (for several constraints the
    ``k × k`` system ``Σ_j tr(Θ_iᵀΘ_jQ⁻¹) λ_j = −tr(Θ_iᵀGQ⁻¹)``), with ``Q`` inverted explicitly;
    it is the step ``λ − f'(λ)/tr(ΘᵀΘQ⁻¹)`` on the dual.
    """
    G = validate.array("G", G, ndim=2)
    if G.shape[0] < G.shape[1]:
        raise ValueError(f"G must be tall (n >= m); transpose it (and thetas) first, got {tuple(G.shape)}")
    thetas = _check_thetas(G, thetas).astype(G.dtype)
    iters = validate.integer("iters", iters, minimum=1)
    validate.choice("solver", solver, SOLVERS)
    if solver == "bracketed" and thetas.shape[0] != 1:
        raise ValueError("solver='bracketed' handles one constraint (one theta) only")
    table, safety = _ns_table(method, steps, coeffs, G.dtype)
    return _fixed_point(G, thetas, iters, table, safety, jnp.asarray(solver == "bracketed"),
                        solver == "inverse")


def steepest_direction(
    W: ArrayLike,
    G: ArrayLike,
    iters: int = 10,
    *,
    norm: str = "spectral",
    k: int = 1,
    symmetric: bool = False,
    theta: str = "svd",
    method: str = "svd",
    steps: int | None = None,
    coeffs: Any = None,
    solver: str = "fixed_point",
) -> tuple[jax.Array, jax.Array]:
    """The steepest-descent direction ``Φ`` on the sphere ``‖W‖ = 1`` and its multiplier(s) ``λ``.

    Maximises ``tr(GᵀΦ)`` over ``‖Φ‖₂ = 1`` in the tangent space at ``W`` (the update is
    ``W − ηΦ``) by :func:`solve_fixed_point` with ``iters`` msign calls. ``W`` and ``G`` are
    ``n × m`` in either orientation. ``norm``, ``k``, ``symmetric`` and ``theta`` choose the normal
    matrices (:func:`normal_basis`), ``solver`` the multiplier iteration (:func:`solve_fixed_point`);
    ``lam`` is a scalar for a single constraint, else a vector.
    """
    W = validate.array("W", W, ndim=2)
    G = validate.array("G", G, ndim=2)
    validate.same_shape("W", W, "G", G)
    iters = validate.integer("iters", iters, minimum=1)
    wide = W.shape[0] < W.shape[1]
    w, g = (W.T, G.T) if wide else (W, G)
    thetas = normal_basis(w, norm, k=k, symmetric=symmetric, theta=theta)
    result = solve_fixed_point(g, thetas, iters, method=method, steps=steps, coeffs=coeffs, solver=solver)
    phi = result.phi.T if wide else result.phi
    lam = result.lam[0] if result.lam.shape[0] == 1 else result.lam
    return phi, lam


def dual_objective(G: ArrayLike, thetas: ArrayLike, lam: ArrayLike) -> jax.Array:
    """The dual function ``f(λ) = ‖G + Σ λ_i Θ_i‖_*`` (nuclear norm), an upper bound on ``tr(GᵀΦ)``."""
    G, thetas, lam = _dual_args(G, thetas, lam)
    return polar.nuclear_norm(G + jnp.einsum("i,inm->nm", lam, thetas))


def _dual_derivatives_impl(g: jax.Array, thetas: jax.Array, lam: jax.Array) -> tuple[jax.Array, ...]:
    def f(x: jax.Array) -> jax.Array:
        return polar.nuclear_norm(g + jnp.einsum("i,inm->nm", x, thetas))

    value, grad = jax.value_and_grad(f)(lam)
    return value, grad, jax.hessian(f)(lam)


_dual_derivatives = jax.jit(_dual_derivatives_impl)


def _dual_value_grad_impl(g: jax.Array, thetas: jax.Array, lam: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.value_and_grad(lambda x: polar.nuclear_norm(g + jnp.einsum("i,inm->nm", x, thetas)))(lam)


_dual_value_grad = jax.jit(_dual_value_grad_impl)


def _dual_args(G: ArrayLike, thetas: ArrayLike, lam: ArrayLike) -> tuple[jax.Array, jax.Array, jax.Array]:
    G = validate.array("G", G, ndim=2)
    thetas = _check_thetas(G, thetas).astype(G.dtype)
    try:
        lam = jnp.atleast_1d(jnp.asarray(lam, dtype=G.dtype))
    except (TypeError, ValueError):
        raise ValueError(f"lam must be a number or a vector of numbers, got {lam!r}") from None
    lam = validate.array("lam", lam, ndim=1)
    if lam.shape != (thetas.shape[0],):
        raise ValueError(f"lam must have one entry per theta ({thetas.shape[0]}), got shape {lam.shape}")
    return G, thetas, lam


def dual_derivatives(
    G: ArrayLike, thetas: ArrayLike, lam: ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``f(λ)``, ``∇f(λ)`` and ``∇²f(λ)`` of the dual ``f(λ) = ‖G + Σ λ_i Θ_i‖_*`` (jit-compiled).

    By automatic differentiation through the SVD (exact where the singular values of
    ``G + Σ λ_i Θ_i`` are distinct and nonzero). ``∇f(λ)_i = ⟨Θ_i, msign(G + Σ λ_j Θ_j)⟩`` is the
    tangent error of the direction at ``λ``; ``∇²f`` is the curvature that decides the rate of
    the post's iteration. Shapes ``()``, ``(k,)``, ``(k, k)`` for ``k`` thetas.
    """
    return _dual_derivatives(*_dual_args(G, thetas, lam))


class DualMinimum(NamedTuple):
    """Result of :func:`minimize_dual`."""

    lam: jax.Array  # (k,) the minimiser λ*
    value: jax.Array  # f(λ*) = ‖G + Σ λ*_i Θ_i‖_*
    grad: jax.Array  # (k,) ∇f(λ*), the tangent error left at λ*


def minimize_dual(G: ArrayLike, thetas: ArrayLike, *, xtol: float = 1e-15) -> DualMinimum:
    """Minimise the convex dual ``f(λ) = ‖G + Σ λ_i Θ_i‖_*`` without the post's iteration.

    One constraint: Brent's root finder (:func:`scipy.optimize.brentq`, to ``xtol``) on the
    nondecreasing ``f'(λ) = ⟨Θ, msign(G + λΘ)⟩``, computed by automatic differentiation, on the
    bracket ``|λ| ≤ B = 4‖G‖_*/‖Θ‖_*``: since ``f(λ) ≥ |λ|‖Θ‖_* − ‖G‖_*``, every minimiser has
    ``|λ*| ≤ 2‖G‖_*/‖Θ‖_*``, and convexity then gives ``±f'(±B) ≥ ‖Θ‖_*/3 > 0``. Several
    constraints: BFGS (:func:`scipy.optimize.minimize`) from the post's start, then the root of
    ``∇f`` polished by Powell's hybrid method (:func:`scipy.optimize.root`), since BFGS stalls on
    the flat minimum. Check ``grad`` to know how stationary the result is.
    """
    G = validate.array("G", G, ndim=2)
    thetas = _check_thetas(G, thetas).astype(G.dtype)
    xtol = validate.real("xtol", xtol, positive=True)

    def value_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _dual_value_grad(G, thetas, jnp.asarray(np.atleast_1d(x), dtype=G.dtype))
        return float(value), np.asarray(grad, dtype=np.float64)

    if thetas.shape[0] == 1:
        bound = 4 * float(polar.nuclear_norm(G)) / float(polar.nuclear_norm(thetas[0]))
        if bound == 0:  # G = 0: f(λ) = |λ| ‖Θ‖_*, minimised at 0
            x = np.zeros(1)
        else:
            x = np.array([so.brentq(lambda t: float(value_grad(t)[1][0]), -bound, bound, xtol=xtol)])
    else:
        gram = np.asarray(jnp.einsum("inm,jnm->ij", thetas, thetas), dtype=np.float64)
        start = np.linalg.solve(gram, -np.asarray(jnp.einsum("inm,nm->i", thetas, G)))
        bfgs = so.minimize(value_grad, start, jac=True, method="BFGS", options={"gtol": 1e-12})
        polished = so.root(lambda t: value_grad(t)[1], bfgs.x, tol=1e-14)
        x = polished.x if np.linalg.norm(value_grad(polished.x)[1]) <= np.linalg.norm(
            value_grad(bfgs.x)[1]) else bfgs.x
    lam = jnp.asarray(x, dtype=G.dtype)
    value, grad = _dual_value_grad(G, thetas, lam)
    return DualMinimum(lam, value, grad)


def retract(W: ArrayLike, Phi: ArrayLike, eta: float, norm: str = "spectral") -> jax.Array:
    """``(W − ηΦ)/‖W − ηΦ‖``: step along ``−Φ`` and normalise back onto the unit sphere."""
    W = validate.array("W", W, ndim=2)
    Phi = validate.array("Phi", Phi, ndim=2)
    validate.same_shape("W", W, "Phi", Phi)
    eta = validate.real("eta", eta, nonnegative=True)
    step = W - eta * Phi
    return step / sphere_norm(step, norm)


def spectral_sphere_step(
    W: ArrayLike, G: ArrayLike, eta: float, *, norm: str = "spectral", iters: int = 10, **kwargs: Any
) -> jax.Array:
    """One step of Muon on the sphere: the steepest direction, then :func:`retract`."""
    phi, _lam = steepest_direction(W, G, iters, norm=norm, **kwargs)
    return retract(W, phi, eta, norm)


def muon_normalized_step(W: ArrayLike, G: ArrayLike, eta: float, *, norm: str = "spectral") -> jax.Array:
    """The baseline: plain Muon ``W − η msign(G)`` followed by normalisation onto the sphere."""
    W = validate.array("W", W, ndim=2)
    G = validate.array("G", G, ndim=2)
    validate.same_shape("W", W, "G", G)
    return retract(W, polar.msign(G), eta, norm)


class Descent(NamedTuple):
    """Result of :func:`descent`: the final weights and per-step traces (index 0 = the start)."""

    W: jax.Array
    loss: jax.Array  # (steps + 1,)
    norm: jax.Array  # (steps + 1,) ‖W_t‖ in the sphere's norm
    tangent: jax.Array  # (steps,) ⟨Θ, Φ⟩ of each step's direction
    trajectory: jax.Array  # (steps, n, m) the weights W_t before each step


def _descent_impl(
    loss_fn: Any,
    w0: jax.Array,
    etas: jax.Array,
    variant: str,
    norm: str,
    iters: int,
    bracketed: jax.Array,
    data: tuple,
) -> Descent:
    grad_fn = jax.value_and_grad(lambda w: loss_fn(w, *data))

    def measure(w: ArrayLike) -> jax.Array:
        return jnp.linalg.norm(w) if norm == "frobenius" else polar.svd(w, compute_uv=False)[0]

    def theta_of(w: ArrayLike) -> jax.Array:
        if norm == "frobenius":
            return w / jnp.linalg.norm(w)
        u, _s, vt = polar.svd(w)
        return jnp.outer(u[:, 0], vt[0])

    def step(w: ArrayLike, eta: ArrayLike) -> tuple[jax.Array, tuple]:
        loss, g = grad_fn(w)
        theta = theta_of(w)
        if variant == "sphere":
            phi = _fixed_point(g, theta[None], iters, None, 1.0, bracketed).phi
        else:
            phi = polar.msign(g)
        new = w - eta * phi
        new = new / measure(new)
        return new, (loss, measure(w), jnp.sum(theta * phi), w)

    w, (losses, norms, tangent, ws) = jax.lax.scan(step, w0, etas)
    return Descent(w, jnp.append(losses, loss_fn(w, *data)), jnp.append(norms, measure(w)), tangent, ws)


_descent = jax.jit(_descent_impl, static_argnames=("loss_fn", "variant", "norm", "iters"))


def descent(
    loss_fn: Any,
    W0: ArrayLike,
    etas: ArrayLike,
    *,
    variant: str = "sphere",
    norm: str = "spectral",
    iters: int = 5,
    solver: str = "fixed_point",
    data: tuple = (),
) -> Descent:
    """Minimise ``loss_fn(W, *data)`` on the unit sphere of ``norm``, one step per rate in ``etas``.

    ``variant="sphere"``: the steepest direction on the sphere (``iters`` msign calls, SVD), then
    normalisation; ``variant="muon"``: the baseline ``W − η msign(∇L)`` then normalisation;
    ``solver`` as in :func:`solve_fixed_point`. The whole run is one jit-compiled ``lax.scan``;
    ``loss_fn`` must be a JAX-traceable, hashable function of a tall ``W`` (``n ≥ m``) and of
    the arrays in ``data``, which are traced, so that runs on new data of the same shapes reuse
    the compiled program (:func:`least_squares_loss` is such a function). ``W0`` is normalised
    onto the sphere first.
    """
    W0 = validate.array("W0", W0, ndim=2)
    if W0.shape[0] < W0.shape[1]:
        raise ValueError(f"W0 must be tall (n >= m), got shape {tuple(W0.shape)}")
    etas = validate.array("etas", etas, ndim=1)
    if bool(jnp.any(etas < 0)):
        raise ValueError("etas must be >= 0")
    validate.choice("variant", variant, ("sphere", "muon"))
    iters = validate.integer("iters", iters, minimum=1)
    if not callable(loss_fn):
        raise ValueError("loss_fn must be a function of W")
    validate.choice("solver", solver, SOLVERS)
    if not isinstance(data, tuple):
        raise ValueError(f"data must be a tuple of arrays (the loss's extra arguments), "
                         f"got {type(data).__name__}")
    data = tuple(validate.array(f"data[{i}]", d) for i, d in enumerate(data))
    w0 = W0 / sphere_norm(W0, norm)
    bracketed = jnp.asarray(solver == "bracketed")
    return _descent(loss_fn, w0, etas.astype(W0.dtype), variant, _norm_name(norm), iters, bracketed, data)


# --- Random instances -------------------------------------------------------------------------

#: Matrices of up to this many entries are the head of one fixed-size draw (one compiled sampler).
NORMAL_POOL = 32768


def _normal_pool_impl(key: jax.Array, dtype: Any) -> jax.Array:
    return jax.random.normal(key, (NORMAL_POOL,), dtype=dtype)


_normal_pool = jax.jit(_normal_pool_impl, static_argnames=("dtype",))


def _float_dtype(dtype: Any) -> Any:
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype, got {dtype}")
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:
        raise ValueError(f"dtype {dtype} needs float64 enabled in JAX (jax_enable_x64)")
    return dtype


def _standard_normal(key: jax.Array, shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """Standard normal entries: the first ``prod(shape)`` of one draw of :data:`NORMAL_POOL`."""
    size = math.prod(shape)
    if size <= NORMAL_POOL:
        return _normal_pool(key, dtype)[:size].reshape(shape)
    return jax.random.normal(key, shape, dtype=dtype)


def random_pair(n: int, m: int, seed: int, *, dtype: Any = jnp.float64) -> tuple[jax.Array, jax.Array]:
    """The post's test instance: ``W`` and ``G`` with iid ``N(0, 1/m)`` entries, ``W`` normalised.

    ``W`` is divided by its spectral norm (so it lies on the sphere), ``G`` is left as drawn.
    Seeded by ``seed`` (two keys split from ``jax.random.key(seed)``); float64 by default.
    """
    n = validate.integer("n", n, minimum=1)
    m = validate.integer("m", m, minimum=1)
    seed = validate.integer("seed", seed, minimum=0)
    dtype = _float_dtype(dtype)
    k1, k2 = jax.random.split(jax.random.key(seed))
    w = _standard_normal(k1, (n, m), dtype) / m**0.5
    g = _standard_normal(k2, (n, m), dtype) / m**0.5
    return w / sphere_norm(w), g


def random_tangent(key: jax.Array, thetas: ArrayLike, count: int) -> jax.Array:
    """``count`` random feasible directions: Gaussian, projected on the tangent space, ``‖Φ‖₂ = 1``.

    Each direction is a standard normal matrix minus its least-squares projection on the
    ``Θ_i`` (so ``⟨Θ_i, Φ⟩ = 0``), divided by its spectral norm. Returns ``(count, n, m)``.
    """
    key = validate.prng_key("key", key)
    thetas = validate.array("thetas", thetas)
    if thetas.ndim == 2:
        thetas = thetas[None]
    if thetas.ndim != 3:
        raise ValueError(f"thetas must be one matrix or a (count, n, m) stack, got {tuple(thetas.shape)}")
    count = validate.integer("count", count, minimum=1)
    gram = jnp.einsum("inm,jnm->ij", thetas, thetas)

    def one(k: jax.Array) -> jax.Array:
        phi = jax.random.normal(k, thetas.shape[1:], dtype=thetas.dtype)
        coef = jnp.linalg.solve(gram, jnp.einsum("inm,nm->i", thetas, phi))
        phi = phi - jnp.einsum("i,inm->nm", coef, thetas)
        return phi / polar.svd(phi, compute_uv=False)[0]

    return jax.vmap(one)(jax.random.split(key, count))


class LeastSquares(NamedTuple):
    """A teacher problem ``min ½ mean_i ‖x_iᵀW − y_iᵀ‖²`` (:func:`least_squares_problem`)."""

    X: jax.Array  # (samples, n) inputs
    Y: jax.Array  # (samples, m) targets X W★
    W_star: jax.Array  # (n, m) the teacher, ‖W★‖₂ = teacher_norm
    W0: jax.Array  # (n, m) a Gaussian start (not normalised)


def least_squares_loss(W: ArrayLike, X: ArrayLike, Y: ArrayLike) -> jax.Array:
    """``½ mean_i ‖(XW − Y)_i‖²``, half the mean squared error per sample (a function for :func:`descent`)."""
    return 0.5 * jnp.mean(jnp.sum((X @ W - Y) ** 2, axis=1))


def least_squares_problem(
    seed: int = 7,
    samples: int = 256,
    n: int = 64,
    m: int = 32,
    *,
    teacher_norm: float = 1.0,
    dtype: Any = jnp.float64,
) -> LeastSquares:
    """A seeded least-squares teacher problem: Gaussian ``X``, ``W★`` and start ``W0``, ``Y = X W★``.

    ``W★`` is a Gaussian matrix scaled to spectral norm ``teacher_norm``: at 1 the minimum on the
    unit spectral sphere is 0, at ``W★``; above 1 the teacher lies outside the sphere, and the
    constrained minimum is on it, with its top singular values tied (see the chapter).
    """
    seed = validate.integer("seed", seed, minimum=0)
    samples, n, m = (validate.integer(k, v, minimum=1) for k, v in (("samples", samples), ("n", n), ("m", m)))
    teacher_norm = validate.real("teacher_norm", teacher_norm, positive=True)
    dtype = _float_dtype(dtype)
    kx, kt, kw = jax.random.split(jax.random.key(seed), 3)
    w_star = _standard_normal(kt, (n, m), dtype)
    w_star = teacher_norm * (w_star / sphere_norm(w_star))
    x = _standard_normal(kx, (samples, n), dtype)
    return LeastSquares(x, x @ w_star, w_star, _standard_normal(kw, (n, m), dtype))


def _projected_gradient_impl(
    loss_fn: Any, w0: jax.Array, lr: jax.Array, steps: int, data: tuple
) -> jax.Array:
    grad = jax.grad(lambda w: loss_fn(w, *data))

    def step(w: jax.Array, _: None) -> tuple[jax.Array, None]:
        u, s, vt = polar.svd(w - lr * grad(w))
        return (u * jnp.minimum(s, 1.0)) @ vt, None

    return jax.lax.scan(step, w0, None, length=steps)[0]


_projected_gradient = jax.jit(_projected_gradient_impl, static_argnames=("loss_fn", "steps"))


def projected_gradient(
    loss_fn: Callable[..., jax.Array], W0: ArrayLike, lr: float, steps: int, *, data: tuple = ()
) -> jax.Array:
    """Minimise ``loss_fn(W, *data)`` over the spectral ball ``‖W‖₂ ≤ 1`` by projected gradient.

    Each step is ``W ← P(W − lr ∇L)``, where ``P`` clips the singular values at 1, the Euclidean
    projection onto the ball. For an ``L``-smooth convex loss and ``lr ≤ 1/L`` it converges to
    the constrained minimiser (linearly for a strongly convex one); when the unconstrained
    minimiser lies outside the ball the constrained one lies on its boundary, the sphere.
    """
    W0 = validate.array("W0", W0, ndim=2)
    lr = validate.real("lr", lr, positive=True)
    steps = validate.integer("steps", steps, minimum=1)
    if not callable(loss_fn):
        raise ValueError("loss_fn must be a function of W")
    data = tuple(validate.array(f"data[{i}]", d) for i, d in enumerate(data))
    return _projected_gradient(loss_fn, W0, jnp.asarray(lr, W0.dtype), steps, data)


# --- How often is the top singular value (nearly) tied? ---------------------------------------


def relative_gap(W: ArrayLike) -> jax.Array:
    """``1 − σ₂/σ₁`` of a matrix, or of each matrix of a ``(..., n, m)`` stack."""
    W = validate.array("W", W)
    if W.ndim < 2 or min(W.shape[-2:]) < 2:
        raise ValueError(f"W must be a matrix (or a stack) with at least 2 singular values, got {W.shape}")
    s = polar.svd(W, compute_uv=False)
    return 1 - s[..., 1] / s[..., 0]


def _gaussian_gaps_impl(keys: jax.Array, n: int, m: int, batch: int) -> jax.Array:
    return jax.lax.map(lambda k: relative_gap(jax.random.normal(k, (n, m))), keys, batch_size=batch)


_gaussian_gaps = jax.jit(_gaussian_gaps_impl, static_argnames=("n", "m", "batch"))


def gaussian_top_gaps(key: jax.Array, n: int, m: int, count: int, *, batch: int = 250) -> jax.Array:
    """The relative gaps ``1 − σ₂/σ₁`` of ``count`` independent standard Gaussian ``n × m`` matrices.

    One key per matrix (split from ``key``), computed ``batch`` matrices at a time.
    """
    key = validate.prng_key("key", key)
    n, m, count, batch = (validate.integer(k, v, minimum=1) for k, v in
                          (("n", n), ("m", m), ("count", count), ("batch", batch)))
    if min(n, m) < 2:
        raise ValueError(f"a gap needs at least 2 singular values, got a {n} × {m} matrix")
    return _gaussian_gaps(jax.random.split(key, count), n, m, min(batch, count))


def lower_tail_exponent(samples: ArrayLike, t0: float) -> tuple[float, float]:
    """The exponent β of a lower tail ``P(X < t) ∝ t^β`` (``t ≤ t0``), and its standard error.

    The maximum-likelihood estimate from the ``k`` samples below ``t0``: given ``X < t0``,
    ``X/t0`` has density ``β u^(β−1)`` on ``(0, 1)``, so ``β̂ = k / Σ log(t0/X_i)`` with standard
    error ``β̂/√k``. Needs at least 2 positive samples below ``t0``.
    """
    x = np.asarray(samples, dtype=np.float64)
    t0 = validate.real("t0", t0, positive=True)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError("samples must be a 1-D array of positive finite numbers")
    below = x[x < t0]
    if below.size < 2:
        raise ValueError(f"need at least 2 samples below t0 = {t0:g}, got {below.size}")
    beta = below.size / float(np.sum(np.log(t0 / below)))
    return beta, beta / math.sqrt(below.size)


def contraction_rate(tangent: ArrayLike, *, floor: float = 1e-12, skip: int = 2) -> float:
    """The measured per-step factor ``r`` of a geometrically converging error history ``e_t ∝ r^t``.

    ``|r|`` is ``exp`` of the least-squares slope of ``log|e_t|`` over the steps with
    ``|e_t| > floor`` after the first ``skip`` (transient) ones; its sign is that of the median
    ratio ``e_{t+1}/e_t`` (negative: the error alternates in sign; a zero median counts as
    positive). Needs 3 such steps.
    """
    e = np.asarray(tangent, dtype=np.float64)
    floor = validate.real("floor", floor, positive=True)
    skip = validate.integer("skip", skip, minimum=0)
    if e.ndim != 1 or not np.all(np.isfinite(e)):
        raise ValueError("tangent must be a 1-D array of finite numbers")
    keep = np.flatnonzero(np.abs(e) > floor)[skip:]
    if keep.size < 3:
        raise ValueError(f"need 3 steps above floor {floor:g} after the first {skip}, got {keep.size}")
    rate = float(np.exp(np.polyfit(keep, np.log(np.abs(e[keep])), 1)[0]))
    return math.copysign(rate, float(np.median(e[keep][1:] / e[keep][:-1])))


# --- The exact first-order problem for a twice-repeated top singular value --------------------


def _tied_pair(W: jax.Array, tie_tol: float) -> tuple[jax.Array, jax.Array]:
    """The SVD's bases ``U₂, V₂`` of a top singular value repeated exactly twice (else ValueError)."""
    u, s, vt = polar.svd(W)
    s = np.asarray(s, dtype=np.float64)
    if s[0] - s[1] > tie_tol * s[0] or (s.size > 2 and s[1] - s[2] <= tie_tol * s[0]):
        raise ValueError(f"W's top singular value must be repeated exactly twice (to {tie_tol:g} relative), "
                         f"got σ₁, σ₂, σ₃ = {s[:3]}")
    return u[:, :2], vt[:2].T


def _rotated(u2: jax.Array, v2: jax.Array, angle: jax.Array) -> tuple[jax.Array, ...]:
    z = jnp.stack([jnp.cos(angle), jnp.sin(angle)])
    zp = jnp.stack([-jnp.sin(angle), jnp.cos(angle)])
    return u2 @ z, v2 @ z, u2 @ zp, v2 @ zp


def _angle_solve_impl(g: jax.Array, u2: jax.Array, v2: jax.Array, angle: jax.Array, iters: int) -> tuple:
    """Hold ``U₂z`` at 1 (``zᵀSz = 0``, ``zᵀSz⊥ = 0``): value, ``μ = z⊥ᵀSz⊥``, residual, Φ."""
    uz, vz, up, vp = _rotated(u2, v2, angle)
    thetas = jnp.stack([jnp.outer(uz, vz), (jnp.outer(uz, vp) + jnp.outer(up, vz)) / math.sqrt(2.0)])
    res = _fixed_point(g, thetas, iters)
    mu = jnp.sum(jnp.outer(up, vp) * res.phi)
    return res.objective[-1], mu, jnp.abs(res.tangent[-1]).max(), res.phi


_angle_solve = jax.jit(_angle_solve_impl, static_argnames=("iters",))


def _rank_one_dual_impl(
    g: jax.Array, u2: jax.Array, v2: jax.Array, x: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``‖G + a u_z v_zᵀ‖_*`` at ``x = (a, θ)`` and its gradient: the dual on rank-one ``Λ = a zzᵀ``."""

    def f(x: jax.Array) -> jax.Array:
        uz, vz, _up, _vp = _rotated(u2, v2, x[1])
        return polar.nuclear_norm(g + x[0] * jnp.outer(uz, vz))

    return jax.value_and_grad(f)(x)


_rank_one_dual = jax.jit(_rank_one_dual_impl)


class TiedDirection(NamedTuple):
    """Result of :func:`tied_direction`."""

    phi: jax.Array  # the exact first-order steepest direction
    value: float  # tr(GᵀΦ)
    conservative: float  # the value with S = 0 (every tied singular value held at 1)
    upper: float  # a dual upper bound ‖G + U₂ΛV₂ᵀ‖_* (Λ ⪰ 0) on every feasible value
    #: θ of the tied direction U₂z held at 1; nan where S = 0 is the optimum. θ and Λ refer to the
    #: bases U₂, V₂ of :func:`kexue_lib.polar.svd` of W (a tied pair's are fixed only up to rotation)
    angle: float
    multiplier: jax.Array  # (2, 2) the Λ ⪰ 0 of the bound
    s_eigenvalues: jax.Array  # (2,) eigenvalues of S = sym(U₂ᵀΦV₂), ascending
    tangent: float  # the largest constraint residual of the multiplier iteration


def tied_direction(
    W: ArrayLike, G: ArrayLike, *, iters: int = 30, grid: int = 16, tie_tol: float = 1e-10
) -> TiedDirection:
    """The exact first-order steepest direction when ``σ₁ = σ₂`` (repeated exactly twice).

    With ``S = sym(U₂ᵀΦV₂)``, the tied singular values of ``W − ηΦ`` are ``1 − η eig(S) + O(η²)``,
    so ``‖W − ηΦ‖₂ = 1 + O(η²)`` exactly when ``S ⪰ 0`` with ``λ_min(S) = 0``, that is
    ``S = μ z⊥z⊥ᵀ`` with ``μ ≥ 0`` for a unit ``z = (cos θ, sin θ)``. ``S = 0`` (every tied value
    held at 1) is one feasible choice, the conservative one. For every ``Λ ⪰ 0`` and feasible
    ``Φ``, ``tr(GᵀΦ) ≤ tr(GᵀΦ) + ⟨Λ, S⟩ ≤ ‖G + U₂ΛV₂ᵀ‖_*``: a dual bound, ``upper``. Three cases:

    1. the ``S = 0`` problem (three multipliers, ``iters`` msign calls) has a positive
       semidefinite multiplier matrix ``Λ₀``: its own bound is tight, it is the optimum;
    2. otherwise, if plain Muon's ``msign(G)`` is not feasible for ``S ⪰ 0``, the best ``Λ ⪰ 0``
       has rank one, ``a zzᵀ`` (complementary slackness: a rank-two one forces ``S = 0`` and
       ``Λ = Λ₀``): minimise ``‖G + a u_zv_zᵀ‖_*`` over ``a ≥ 0`` and θ by L-BFGS-B
       (:func:`scipy.optimize.minimize`, JAX gradients) from the top eigenpair of ``Λ₀``, then
       at that θ solve the primal ``zᵀSz = zᵀSz⊥ = 0`` by the multiplier iteration; bound and
       value meet, which certifies the maximum;
    3. otherwise (``msign(G)`` already lowers both tied values, ``S ⪰ 0``) the bound
       ``‖G‖_*`` is not tight: the primal is maximised over θ on ``grid`` angles, refined by
       bounded Brent (:func:`scipy.optimize.minimize_scalar`); the value is exact for its θ, the
       maximum over θ numerical.

    Check ``upper − value`` (rounding level in cases 1 and 2) and
    ``s_eigenvalues[0] ≈ 0 ≤ s_eigenvalues[1]``.
    """
    W = validate.array("W", W, ndim=2)
    G = validate.array("G", G, ndim=2)
    validate.same_shape("W", W, "G", G)
    if W.shape[0] < W.shape[1]:
        raise ValueError(f"W and G must be tall (n >= m), got {tuple(W.shape)}")
    iters = validate.integer("iters", iters, minimum=1)
    grid = validate.integer("grid", grid, minimum=3)
    u2, v2 = _tied_pair(W, validate.real("tie_tol", tie_tol, positive=True))
    g = G.astype(W.dtype)
    r0 = _fixed_point(g, normal_basis(W, k=2, symmetric=True), iters)
    l1, l2, l3 = (float(x) for x in r0.lam)
    lam0 = np.array([[l1, l2 / np.sqrt(2)], [l2 / np.sqrt(2), l3]])
    conservative = float(r0.objective[-1])

    def s_eigs(phi: jax.Array) -> jax.Array:
        block = u2.T @ phi @ v2
        return jnp.linalg.eigvalsh((block + block.T) / 2)

    def at_angle(angle: float, upper: float, lam: np.ndarray) -> TiedDirection:
        value, _mu, resid, phi = _angle_solve(g, u2, v2, jnp.asarray(angle, g.dtype), iters)
        return TiedDirection(phi, float(value), conservative, upper, angle % np.pi,
                             jnp.asarray(lam, g.dtype), s_eigs(phi), float(resid))

    e, q = np.linalg.eigh(lam0)
    if e[0] >= 0:  # case 1
        return TiedDirection(r0.phi, conservative, conservative, conservative, math.nan,
                             jnp.asarray(lam0, g.dtype), s_eigs(r0.phi), float(jnp.abs(r0.tangent[-1]).max()))
    if float(s_eigs(polar.msign(g))[0]) < 0:  # case 2

        def value_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = _rank_one_dual(g, u2, v2, jnp.asarray(x, g.dtype))
            return float(value), np.asarray(grad, dtype=np.float64)

        start = np.array([max(e[1], 0.0), math.atan2(q[1, 1], q[0, 1])])
        opt = so.minimize(value_grad, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)],
                          options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 500})
        z = np.array([math.cos(opt.x[1]), math.sin(opt.x[1])])
        return at_angle(float(opt.x[1]), value_grad(opt.x)[0], float(opt.x[0]) * np.outer(z, z))

    def minus_value(t: float) -> float:  # case 3
        value, mu, _resid, _phi = _angle_solve(g, u2, v2, jnp.asarray(t, g.dtype), iters)
        return -float(value) if float(mu) >= 0 else -conservative

    step = np.pi / grid
    values = [-minus_value(i * step) for i in range(grid)]
    best = int(np.argmax(values))
    opt = so.minimize_scalar(minus_value, bounds=((best - 1) * step, (best + 1) * step), method="bounded",
                             options={"xatol": 1e-10})
    angle = float(opt.x) if -opt.fun >= values[best] else best * step
    if max(-opt.fun, values[best]) <= conservative:  # no angle beats S = 0
        return TiedDirection(r0.phi, conservative, conservative, float(polar.nuclear_norm(g)), math.nan,
                             jnp.zeros((2, 2), g.dtype), s_eigs(r0.phi), float(jnp.abs(r0.tangent[-1]).max()))
    return at_angle(angle, float(polar.nuclear_norm(g)), np.zeros((2, 2)))
