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
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from kexue_lib import polar, validate

__all__ = [
    "Descent",
    "FixedPoint",
    "descent",
    "dual_objective",
    "muon_normalized_step",
    "normal_basis",
    "retract",
    "solve_fixed_point",
    "spectral_sphere_step",
    "sphere_norm",
    "steepest_direction",
]

NORMS = ("spectral", "frobenius")
#: The multiplier iterations: the post's fixed point, or it followed by a safeguarded root search.
SOLVERS = ("fixed_point", "bracketed")


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
    return jnp.linalg.svd(W, compute_uv=False)[0]


def normal_basis(
    W: ArrayLike,
    norm: str = "spectral",
    *,
    k: int = 1,
    symmetric: bool = False,
    theta: str = "svd",
) -> jax.Array:
    """The normal matrices ``Θ_i`` of the sphere at ``W``, stacked as ``(count, n, m)``.

    ``norm="frobenius"``: the single ``Θ = W/‖W‖_F``. ``norm="spectral"``: ``Θ = u₁v₁ᵀ``, the
    gradient of ``‖W‖₂``, from the SVD (``theta="svd"``) or by power iteration
    (``theta="power"``, :func:`kexue_lib.polar.top_singular_triplet`; accurate only when σ₂ < σ₁ by a
    margin). For a top singular value repeated ``k`` times (``k > 1``, SVD only) there are two
    choices: the post's ``Θ_i = u_i v_iᵀ`` (``k`` matrices), or with ``symmetric=True`` the
    basis of ``{U_k S V_kᵀ : S symmetric}`` (``k(k+1)/2`` matrices, orthonormal in Frobenius),
    which is what keeps every one of the tied singular values at 1 to first order.
    """
    W = validate.array("W", W, ndim=2)
    k = validate.integer("k", k, minimum=1, maximum=min(W.shape))
    validate.choice("theta", theta, ("svd", "power"))
    if _norm_name(norm) == "frobenius":
        if k != 1:
            raise ValueError("k > 1 applies only to norm='spectral'")
        return (W / jnp.linalg.norm(W))[None]
    if theta == "power":
        if k != 1:
            raise ValueError("theta='power' gives only the top singular pair; use theta='svd' for k > 1")
        _s, u, v = polar.top_singular_triplet(W, tol=float(jnp.finfo(W.dtype).eps) ** 0.5)
        return jnp.outer(u, v)[None]
    u, _s, vt = jnp.linalg.svd(W, full_matrices=False)
    if not symmetric:
        return jnp.stack([jnp.outer(u[:, i], vt[i]) for i in range(k)])
    basis = []
    for i in range(k):
        for j in range(i, k):
            if i == j:
                basis.append(jnp.outer(u[:, i], vt[i]))
            else:
                basis.append((jnp.outer(u[:, i], vt[j]) + jnp.outer(u[:, j], vt[i])) / np.sqrt(2.0))
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


@partial(jax.jit, static_argnames=("iters", "safety"))
def _fixed_point(
    g: jax.Array,
    thetas: jax.Array,
    iters: int,
    table: jax.Array | None = None,
    safety: float = 1.0,
    bracketed: jax.Array | bool = False,
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
    ``λ ↦ ⟨Θ, msign(G + λΘ)⟩``, which always converges.
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
    return _fixed_point(G, thetas, iters, table, safety, jnp.asarray(solver == "bracketed"))


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
    G = validate.array("G", G, ndim=2)
    thetas = _check_thetas(G, thetas)
    try:
        lam = jnp.atleast_1d(jnp.asarray(lam, dtype=G.dtype))
    except (TypeError, ValueError):
        raise ValueError(f"lam must be a number or a vector of numbers, got {lam!r}") from None
    lam = validate.array("lam", lam, ndim=1)
    if lam.shape != (thetas.shape[0],):
        raise ValueError(f"lam must have one entry per theta ({thetas.shape[0]}), got shape {lam.shape}")
    return polar.nuclear_norm(G + jnp.einsum("i,inm->nm", lam, thetas))


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


@partial(jax.jit, static_argnames=("loss_fn", "variant", "norm", "iters"))
def _descent(
    loss_fn: Any, w0: jax.Array, etas: jax.Array, variant: str, norm: str, iters: int, bracketed: jax.Array
) -> Descent:
    grad_fn = jax.value_and_grad(loss_fn)

    def measure(w: ArrayLike) -> jax.Array:
        return jnp.linalg.norm(w) if norm == "frobenius" else jnp.linalg.svd(w, compute_uv=False)[0]

    def theta_of(w: ArrayLike) -> jax.Array:
        if norm == "frobenius":
            return w / jnp.linalg.norm(w)
        u, _s, vt = jnp.linalg.svd(w, full_matrices=False)
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
    return Descent(w, jnp.append(losses, loss_fn(w)), jnp.append(norms, measure(w)), tangent, ws)


def descent(
    loss_fn: Any,
    W0: ArrayLike,
    etas: ArrayLike,
    *,
    variant: str = "sphere",
    norm: str = "spectral",
    iters: int = 5,
    solver: str = "fixed_point",
) -> Descent:
    """Minimise ``loss_fn(W)`` on the unit sphere of ``norm``, one step per learning rate in ``etas``.

    ``variant="sphere"``: the steepest direction on the sphere (``iters`` msign calls, SVD), then
    normalisation; ``variant="muon"``: the baseline ``W − η msign(∇L)`` then normalisation;
    ``solver`` as in :func:`solve_fixed_point`. The whole run is one jit-compiled ``lax.scan``;
    ``loss_fn`` must be a JAX-traceable, hashable function of a tall ``W`` (``n ≥ m``). ``W0``
    is normalised onto the sphere first.
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
    w0 = W0 / sphere_norm(W0, norm)
    bracketed = jnp.asarray(solver == "bracketed")
    return _descent(loss_fn, w0, etas.astype(W0.dtype), variant, _norm_name(norm), iters, bracketed)
