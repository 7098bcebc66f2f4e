"""Best uniform (minimax) polynomial approximation: the Remez exchange algorithm, in mpmath.

For a continuous ``f`` on ``[a, b]`` and a space of polynomials spanned by the monomials
``x^k``, ``k`` in :func:`powers` (all powers up to the degree, only the odd ones, or only the
even ones), :func:`best_polynomial` finds the ``p`` that minimises ``max_{[a, b]} |p − f|``. The
equioscillation theorem characterises it: with ``m`` basis functions, ``p − f`` attains
``±max |p − f|`` with alternating signs at ``m + 1`` points. (For odd or even polynomials the
interval must lie in ``[0, ∞)``: there ``x^r q(x²)`` has at most ``deg q`` positive zeros, which is
what the theorem needs. An odd ``p`` vanishes at 0, so on ``[0, b]`` the theorem holds for odd
fits when ``|f(0)|`` is below the best error; for ``f = 1`` on ``[0, 1]`` every odd ``p`` with
``0 ≤ p ≤ 2`` is best.) :func:`remez_family`
takes the post's general family ``x^r q(x^t)``.

The Remez algorithm turns the theorem into an iteration:

1. on a *reference* of ``m + 1`` points ``x_0 < … < x_m`` (Chebyshev extrema to start), solve the
   linear system ``p(x_i) − f(x_i) = (−1)^i h`` for the coefficients of ``p`` and the levelled
   error ``h``;
2. *exchange*: find the local extrema of ``e = p − f`` on ``[a, b]`` (a grid between the reference
   points, each maximum refined by Brent's method), keep one per run of equal sign, and take
   ``m + 1`` consecutive alternating ones that include the global maximum as the new reference.

By de la Vallée Poussin's theorem the best error ``E*`` lies between the smallest ``|e|`` on an
alternating reference and the largest ``|e|`` on ``[a, b]``; the iteration stops when the two agree
to the relative tolerance ``tol`` (default ``10^(5 − dps)``). That bracket is measured on the
polynomial actually returned, so an answer cannot be wrong silently (as far as the grid between
reference points resolves ``p − f``): either the bracket closes, or :class:`ConvergenceError`
says that it did not and by how much. The working precision is
``dps`` digits plus guard digits plus as many as the cancellation in ``p − f`` costs (an error
of ``10⁻²⁶`` beside values of order 1 costs 26 digits), so that ``e`` is always known to about
``dps`` significant digits.

:func:`best_polynomial` is the stable interface; :func:`remez` returns the same answer with the
iteration's record (the bracket after each exchange). :func:`error_extrema` and
:func:`sign_separator` expose the two ingredients of the theorem's proof: the signed extrema of
an error curve, and the polynomial that has the opposite sign at given points (the descent
direction of Kolmogorov's criterion). Two linear programs (scipy's HiGHS, float64) check an
answer independently: :func:`wrong_sign_direction` looks for a combination of the basis with
the opposite sign at given points (there is none at ``m + 1`` alternation points), and
:func:`discrete_minimax` solves the minimax problem on a finite set of points.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import mpmath
import numpy as np
import scipy.optimize
from jax.typing import ArrayLike

from kexue_lib import validate

__all__ = [
    "PARITIES",
    "ConvergenceError",
    "Extremum",
    "Minimax",
    "Remez",
    "best_polynomial",
    "discrete_minimax",
    "error_extrema",
    "evaluate",
    "powers",
    "remez",
    "remez_family",
    "sign_separator",
    "wrong_sign_direction",
]

#: The bases :func:`best_polynomial` knows: all powers (None), odd powers only, even powers only.
PARITIES = (None, "odd", "even")
#: Digits carried beyond ``dps`` (and beyond what the cancellation in ``p − f`` costs).
GUARD_DIGITS = 10
#: The working precision may grow to this many times ``dps + GUARD_DIGITS`` to resolve a tiny
#: levelled error; below that, ``f`` counts as lying in the span.
MAX_PRECISION_FACTOR = 4
#: Grid points put between consecutive reference points when looking for the extrema of ``p − f``.
GRID_PER_GAP = 8


class ConvergenceError(RuntimeError):
    """The Remez iteration stopped before its de la Vallée Poussin bracket closed to ``tol``."""


class Minimax(NamedTuple):
    """A best uniform approximation.

    ``coefficients[k]`` is the coefficient of ``x^k`` (mpmath numbers, ``degree + 1`` of them,
    zero where the parity excludes the power); ``error`` is ``max_{[a, b]} |p − f|``; ``points``
    are the alternation points, increasing, where ``p − f`` is ``±error`` with alternating signs.
    """

    coefficients: tuple[mpmath.mpf, ...]
    error: mpmath.mpf
    points: tuple[mpmath.mpf, ...]


class Remez(NamedTuple):
    """:func:`remez`'s answer: a :class:`Minimax` with the record of the iteration.

    ``lower`` is the smallest ``|p − f|`` over ``points`` (a lower bound on the best error, by
    de la Vallée Poussin's theorem; ``error`` is the upper one). ``history`` holds, for each
    iteration, the pair (levelled error ``|h|`` on the reference, ``max |p − f|`` on ``[a, b]``).
    ``dps`` is the working precision the iteration ended at.
    """

    coefficients: tuple[mpmath.mpf, ...]
    error: mpmath.mpf
    points: tuple[mpmath.mpf, ...]
    lower: mpmath.mpf
    iterations: int
    history: tuple[tuple[mpmath.mpf, mpmath.mpf], ...]
    dps: int


class Extremum(NamedTuple):
    """A local extremum of an error curve: where it is, its value, and the value's sign (±1)."""

    x: mpmath.mpf
    value: mpmath.mpf
    sign: int


def powers(degree: int, parity: str | None = None) -> tuple[int, ...]:
    """The exponents spanning the polynomials of degree ≤ ``degree`` of the given parity.

    ``parity=None``: ``0, 1, …, degree``; ``"odd"``: ``1, 3, …``; ``"even"``: ``0, 2, …``.
    """
    degree = validate.integer("degree", degree, minimum=0)
    validate.choice("parity", parity, PARITIES)
    if parity is None:
        return tuple(range(degree + 1))
    return tuple(range(1 if parity == "odd" else 0, degree + 1, 2))


def evaluate(coefficients: Sequence[Any], x: Any) -> mpmath.mpf:
    """``Σ_k coefficients[k] x^k`` by Horner's rule, at mpmath's current precision."""
    if len(coefficients) == 0:
        raise ValueError("coefficients must not be empty")
    x = mpmath.mpf(x)
    total = mpmath.mpf(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        total = total * x + c
    return total


# ---------------------------------------------------------------------------------------------
# Input checks


def _check_f(f: Any) -> Callable[[mpmath.mpf], mpmath.mpf]:
    if not callable(f):
        raise ValueError(f"f must be a callable taking and returning mpmath numbers, got "
                         f"{type(f).__name__}")
    return f


def _check_interval(a: Any, b: Any, *, nonnegative: str | None = None) -> None:
    validate.real("a", a)
    validate.real("b", b)
    # compared as mpmath numbers: endpoints closer than float64 resolves are still an interval
    lo, hi = mpmath.mpf(a), mpmath.mpf(b)
    if not lo < hi:
        raise ValueError(f"the interval needs a < b, got a = {a}, b = {b}")
    if nonnegative is not None and lo < 0:
        raise ValueError(f"an {nonnegative} approximation is taken on [a, b] inside [0, inf) "
                         f"(where the equioscillation theorem holds for it); got a = {a} < 0")


def _value(f: Callable, x: mpmath.mpf) -> mpmath.mpf:
    """``f(x)`` as a finite mpmath real, or a ValueError saying what f returned."""
    y = f(x)
    try:
        y = mpmath.mpf(y)
    except (TypeError, ValueError):
        raise ValueError(f"f must return a real number; f({mpmath.nstr(x, 8)}) = {y!r}") from None
    if not mpmath.isfinite(y):
        raise ValueError(f"f must be finite on [a, b]; f({mpmath.nstr(x, 8)}) = {y}")
    return y


# ---------------------------------------------------------------------------------------------
# The pieces of the iteration


def _poly(basis_coef: Sequence[mpmath.mpf], basis: tuple[int, ...], x: mpmath.mpf,
          *, size: bool = False) -> mpmath.mpf:
    """``p(x)`` in the basis ``x^k``, ``k`` in ``basis`` (an arithmetic progression), by Horner.

    With ``size``, ``Σ_j |c_j x^{k_j}|`` instead: the size of the terms, which measures how many
    digits the sum loses to cancellation.
    """
    step = basis[1] - basis[0] if len(basis) > 1 else 1
    y = x**step
    if size:
        basis_coef, y = [abs(c) for c in basis_coef], abs(y)
    total = mpmath.mpf(0)
    for c in reversed(basis_coef):
        total = total * y + c
    lead = x ** basis[0]
    return total * (abs(lead) if size else lead)


def _solve(basis: tuple[int, ...], ref: Sequence[mpmath.mpf], fx: Sequence[mpmath.mpf]
           ) -> tuple[list[mpmath.mpf], mpmath.mpf]:
    """The levelled system ``Σ_j c_j x_i^{k_j} + (−1)^i h = f(x_i)``: coefficients and ``h``."""
    rows = [[x**k for k in basis] + [mpmath.mpf(-1) ** i] for i, x in enumerate(ref)]
    try:
        sol = mpmath.lu_solve(mpmath.matrix(rows), mpmath.matrix(list(fx)))
    except ZeroDivisionError:
        raise ConvergenceError("the levelled system on the reference is singular (two reference "
                               "points coincide at the working precision)") from None
    return [sol[j] for j in range(len(basis))], sol[len(basis)]


def _chebyshev_reference(a: mpmath.mpf, b: mpmath.mpf, count: int, *, shifted: bool = False
                         ) -> list[mpmath.mpf]:
    """``count`` Chebyshev extrema mapped to ``[a, b]``, increasing (both ends included).

    With ``shifted``, the first ``count`` of ``count + 1`` extrema instead (``b`` left out): a
    reference that is not symmetric about the midpoint, for an ``f`` that is even or odd about
    it, on which a symmetric reference levels the error to zero.
    """
    total = count + 1 if shifted else count
    if total == 1:
        return [(a + b) / 2]
    mid, half = (a + b) / 2, (b - a) / 2
    pts = [mid - half * mpmath.cospi(mpmath.mpf(i) / (total - 1)) for i in range(total)]
    pts[0], pts[-1] = a, b
    return pts[:count]


_GOLDEN = (3 - mpmath.sqrt(5)) / 2


def _brent_max(g: Callable, bracket: tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf],
               values: tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf], rel: mpmath.mpf,
               scale: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """Maximise ``g`` on ``[lo, hi]`` from ``lo ≤ x0 ≤ hi`` by Brent's method.

    Brent's bounded minimiser (as in ``scipy.optimize.fminbound``: parabolic steps, golden
    sections where they fail), in mpmath, on ``−g``, to the position tolerance
    ``rel·(|x| + scale)``. ``bracket = (lo, x0, hi)`` and their known ``values`` seed the first
    parabola. Returns the best point and its value.
    """
    (a, x, b), (glo, g0, ghi) = bracket, values
    w, v = a, b
    fx, fw, fv = -g0, -glo, -ghi
    d, e = mpmath.mpf(0), b - a
    for _ in range(400):
        xm = (a + b) / 2
        tol1 = rel * (abs(x) + scale)
        tol2 = 2 * tol1
        if abs(x - xm) <= tol2 - (b - a) / 2:
            break
        golden = True
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2 * (q - r)
            if q > 0:
                p = -p
            q = abs(q)
            r, e = e, d
            if abs(p) < abs(q * r / 2) and q * (a - x) < p < q * (b - x):
                d = p / q
                u = x + d
                if u - a < tol2 or b - u < tol2:
                    d = tol1 if xm >= x else -tol1
                golden = False
        if golden:
            e = (a - x) if x >= xm else (b - x)
            d = _GOLDEN * e
        u = x + (d if abs(d) >= tol1 else (tol1 if d >= 0 else -tol1))
        fu = -g(u)
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x, -fx


def _refine(g: Callable, lo: mpmath.mpf, x0: mpmath.mpf, hi: mpmath.mpf,
            values: tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf], vtol: mpmath.mpf, rel: mpmath.mpf,
            ends: tuple[mpmath.mpf, mpmath.mpf]) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The maximum of ``g`` on ``[lo, hi]`` near the grid maximum ``x0``, to ``vtol`` in value.

    ``values`` are ``g`` at ``lo``, ``x0`` and ``hi``.

    Brent's method locates the maximum to ``rel`` (relative to the interval ``ends``), enough
    for a smooth peak. At a corner (``−|x|`` at 0) the value still falls linearly beside the
    point found; a golden-section search then shrinks a bracket ``left < x < right`` until the
    chords through ``x`` bound the rise of a concave peak by ``vtol``:
    ``max((g(x) − g(left))·(right − x)/(x − left), (g(x) − g(right))·(x − left)/(right − x))``.
    A maximum at an end of the interval ``ends`` is taken as it is.
    """
    scale = ends[1] - ends[0]
    floor = scale * mpmath.mpf(10) ** (5 - mpmath.mp.dps)
    if x0 in ends:  # a maximum at an end of the interval, if g falls at once going inwards
        inward = x0 + rel * scale if x0 == ends[0] else x0 - rel * scale
        if g(inward) <= values[1]:
            return x0, values[1]
    x, gx = _brent_max(g, (lo, x0, hi), values, rel, scale)
    delta = 2 * rel * (abs(x) + scale)
    for _ in range(100):  # move to a better neighbour, if there is one (a corner beside x)
        left, right = max(ends[0], x - delta), min(ends[1], x + delta)
        gl = g(left) if left < x else gx
        gr = g(right) if right > x else gx
        if gl <= gx and gr <= gx:
            break
        x, gx = (left, gl) if gl >= gr else (right, gr)
    for _ in range(2000):
        if x in ends or right - left <= floor:
            break
        rise = max((gx - gl) * (right - x) / (x - left), (gx - gr) * (x - left) / (right - x))
        if rise <= vtol:
            break
        if x - left >= right - x:
            u = x - _GOLDEN * (x - left)
            gu = g(u)
            if gu > gx:
                right, gr, x, gx = x, gx, u, gu
            else:
                left, gl = u, gu
        else:
            u = x + _GOLDEN * (right - x)
            gu = g(u)
            if gu > gx:
                left, gl, x, gx = x, gx, u, gu
            else:
                right, gr = u, gu
    return x, gx


def _signed_extrema(err: Callable, a: mpmath.mpf, b: mpmath.mpf, ref: Sequence[mpmath.mpf],
                    vtol: mpmath.mpf, rel: mpmath.mpf, per_gap: int) -> list[Extremum]:
    """One refined maximum of ``|err|`` per run of equal sign on a grid built around ``ref``."""
    knots = sorted({a, b, *ref})
    grid: list[mpmath.mpf] = []
    for u, v in itertools.pairwise(knots):
        grid.append(u)
        grid += [u + (v - u) * (1 - mpmath.cospi(mpmath.mpf(k) / (per_gap + 1))) / 2
                 for k in range(1, per_gap + 1)]
    grid.append(knots[-1])
    vals = [err(x) for x in grid]
    out: list[Extremum] = []
    i = 0
    while i < len(grid):
        s = 1 if vals[i] >= 0 else -1
        j, best = i, i
        while j < len(grid) and (vals[j] >= 0) == (s > 0):
            if abs(vals[j]) > abs(vals[best]):
                best = j
            j += 1
        left, right = max(best - 1, 0), min(best + 1, len(grid) - 1)

        def g(x: mpmath.mpf, s: int = s) -> mpmath.mpf:
            return s * err(x)

        values = (s * vals[left], s * vals[best], s * vals[right])
        x, gx = _refine(g, grid[left], grid[best], grid[right], values, vtol, rel, (a, b))
        out.append(Extremum(x, s * gx, s))
        i = j
    return out


def _exchange(extrema: list[Extremum], count: int, threshold: mpmath.mpf) -> list[Extremum]:
    """``count`` consecutive alternating extrema containing the largest, each ``|e| ≥ threshold``."""
    kept: list[Extremum] = []
    for ext in (e for e in extrema if abs(e.value) >= threshold):
        if kept and kept[-1].sign == ext.sign:
            if abs(ext.value) > abs(kept[-1].value):
                kept[-1] = ext
        else:
            kept.append(ext)
    while len(kept) > count:
        kept.pop(0 if abs(kept[0].value) < abs(kept[-1].value) else -1)
    return kept


def _full_coefficients(basis_coef: Sequence[mpmath.mpf], basis: tuple[int, ...], degree: int
                       ) -> tuple[mpmath.mpf, ...]:
    full = [mpmath.mpf(0)] * (degree + 1)
    for c, k in zip(basis_coef, basis, strict=True):
        full[k] = c
    return tuple(full)


def _digits(x: mpmath.mpf) -> int:
    """``⌈log₁₀ x⌉`` for ``x > 0``, as an int (0 for ``x ≤ 1``)."""
    return max(0, math.ceil(float(mpmath.log10(x))))


# ---------------------------------------------------------------------------------------------
# Public interface


def remez(
    f: Callable[[mpmath.mpf], mpmath.mpf],
    degree: int,
    a: Any,
    b: Any,
    *,
    parity: str | None = None,
    dps: int = 30,
    tol: Any = None,
    max_iterations: int = 60,
) -> Remez:
    """The Remez exchange algorithm for ``min_p max_{[a, b]} |p − f|``, with its record.

    Arguments as in :func:`best_polynomial`. ``tol`` (default ``10^(5 − dps)``) is the relative
    width at which the de la Vallée Poussin bracket ``[lower, error]`` counts as closed;
    ``max_iterations`` bounds the number of exchanges. Raises :class:`ConvergenceError` if the
    bracket has not closed after ``max_iterations`` exchanges, if the levelled error stops
    growing (the exchange has lost the alternation), or if the levelled system is singular.
    """
    _check_f(f)
    basis = powers(degree, parity)  # checks degree and parity
    _check_interval(a, b, nonnegative=parity)
    if not basis:
        raise ValueError("an odd polynomial of degree 0 is zero: there is nothing to fit "
                         "(use degree >= 1)")
    return _remez(f, basis, int(degree), a, b, dps, tol, max_iterations)


def remez_family(
    f: Callable[[mpmath.mpf], mpmath.mpf],
    n: int,
    a: Any,
    b: Any,
    *,
    t: int,
    r: int,
    dps: int = 30,
    tol: Any = None,
    max_iterations: int = 60,
) -> Remez:
    """:func:`remez` for ``x^r q(x^t)`` with ``deg q ≤ n``: the powers ``r, r + t, …, r + nt``.

    The post's "(n, t, r)" variant: on ``(0, ∞)`` such a function has at most ``n`` zeros
    (Descartes' rule of signs), so its best approximation equioscillates at ``n + 2`` points.
    ``t ≥ 1`` and ``r ≥ 0`` are integers; unless ``(t, r) = (1, 0)`` (all powers), ``[a, b]``
    must lie in ``[0, ∞)``. ``coefficients`` has ``r + nt + 1`` entries, ``x^k`` at index ``k``.
    """
    _check_f(f)
    n = validate.integer("n", n, minimum=0)
    t = validate.integer("t", t, minimum=1)
    r = validate.integer("r", r, minimum=0)
    _check_interval(a, b, nonnegative=None if (t, r) == (1, 0) else f"(n, t, r) = ({n}, {t}, {r})")
    return _remez(f, tuple(r + t * k for k in range(n + 1)), r + t * n, a, b, dps, tol, max_iterations)


def _remez(f: Callable, basis: tuple[int, ...], degree: int, a: Any, b: Any, dps: Any, tol: Any,
           max_iterations: Any) -> Remez:
    """The iteration of :func:`remez` for the monomials ``x^k``, ``k`` in ``basis``.

    ``degree`` (at least ``basis[-1]``) sets the length of the returned coefficients.
    """
    dps = validate.integer("dps", dps, minimum=15)
    max_iterations = validate.integer("max_iterations", max_iterations, minimum=1)
    tol = mpmath.mpf(10) ** (5 - dps) if tol is None else mpmath.mpf(validate.real("tol", tol,
                                                                                      positive=True))
    if not tol < 1:
        raise ValueError(f"tol must be < 1 (a relative width), got {tol}")
    count = len(basis) + 1
    work = dps + GUARD_DIGITS
    with mpmath.workdps(work):
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        ref = _chebyshev_reference(lo, hi, count)
    history: list[tuple[mpmath.mpf, mpmath.mpf]] = []
    previous = None
    iteration, restarted = 0, False
    while iteration < max_iterations:
        with mpmath.workdps(work):
            lo, hi = mpmath.mpf(a), mpmath.mpf(b)
            fx = [_value(f, x) for x in ref]
            coef, h = _solve(basis, ref, fx)
            size = max(max(_poly(coef, basis, x, size=True) for x in ref), max(map(abs, fx)))
            noise = size * mpmath.mpf(10) ** (5 - work)
            if abs(h) > noise:
                need = dps + GUARD_DIGITS + _digits(size / abs(h))
                if need > work:  # p − f cancels more digits than the guard covers: go higher
                    work = need + 2
                    continue
            elif work < MAX_PRECISION_FACTOR * (dps + GUARD_DIGITS):
                work *= 2  # h at rounding level: f in the span, or an error below the precision
                continue
            iteration += 1

            def err(x: mpmath.mpf, coef: list = coef) -> mpmath.mpf:
                return _poly(coef, basis, x) - _value(f, x)

            level = abs(h) if abs(h) > noise else size
            vtol = max(tol * level / 100, noise)
            # positions to rel·width: a peak e·(1 − (count·δ/width)²) is then vtol-exact
            rel = mpmath.sqrt(vtol / level) / (10 * count)
            extrema = _signed_extrema(err, lo, hi, ref, vtol, rel, GRID_PER_GAP)
            upper = max(abs(e.value) for e in extrema)
            history.append((abs(h), upper))
            full = _full_coefficients(coef, basis, degree)
            if upper <= noise:  # f is in the span, to the working precision
                return Remez(full, upper, tuple(ref), abs(h), iteration, tuple(history), work)
            new = _exchange(extrema, count, abs(h) - noise)
            if len(new) < count and not restarted:
                # Too few alternating extrema: typically a symmetric reference on which the error
                # of an even or odd f levels to zero. Start again from an asymmetric one.
                restarted, previous = True, None
                ref = _chebyshev_reference(lo, hi, count, shifted=True)
                continue
            if len(new) < count:
                raise ConvergenceError(
                    f"iteration {iteration}: the error curve has only {len(new)} alternating "
                    f"extrema above the levelled error, {count} are needed (is f continuous "
                    "on [a, b]?)")
            lower = min(abs(e.value) for e in new)
            if upper - lower <= tol * upper:
                return Remez(full, upper, tuple(e.x for e in new), lower, iteration,
                             tuple(history), work)
            if previous is not None and abs(h) < previous * (1 - mpmath.mpf(10) ** (2 - dps)):
                raise ConvergenceError(
                    f"iteration {iteration}: the levelled error fell from "
                    f"{mpmath.nstr(previous, 8)} to {mpmath.nstr(abs(h), 8)}; the exchange has "
                    "lost the alternation (is f continuous on [a, b]?)")
            previous = abs(h)
            ref = [e.x for e in new]
    lower_, upper_ = history[-1]
    raise ConvergenceError(
        f"no convergence in {max_iterations} exchanges: the best error is bracketed by "
        f"[{mpmath.nstr(lower_, 8)}, {mpmath.nstr(upper_, 8)}], relative width "
        f"{mpmath.nstr((upper_ - lower_) / upper_, 3)} > tol = {mpmath.nstr(tol, 3)}")


def best_polynomial(
    f: Callable[[mpmath.mpf], mpmath.mpf],
    degree: int,
    a: Any,
    b: Any,
    *,
    parity: str | None = None,
    dps: int = 30,
) -> Minimax:
    """The polynomial of degree ≤ ``degree`` closest to ``f`` in the max norm on ``[a, b]``.

    ``f`` takes and returns mpmath numbers (a Python int or float result is accepted); it must
    be continuous on ``[a, b]`` and evaluate at mpmath's current precision. ``parity`` restricts
    the polynomial to odd (``"odd"``) or even (``"even"``) powers, on an ``[a, b]`` inside
    ``[0, ∞)``. ``a`` and ``b`` may be mpmath numbers or decimal strings (taken at the working
    precision). The Remez iteration (:func:`remez`) runs at ``dps`` digits plus guard digits
    until ``max |p − f|`` and the de la Vallée Poussin lower bound agree to ``10^(5 − dps)``
    relative.

    Returns ``Minimax(coefficients, error, points)``: ``coefficients[k]`` multiplies ``x^k``
    (``degree + 1`` mpmath numbers, zero for powers the parity excludes), ``error`` is
    ``max_{[a, b]} |p − f|`` and ``points`` the ``m + 1`` alternation points (``m`` basis
    functions), increasing. If ``f`` is itself in the space, ``error`` is at rounding level and
    ``points`` is the last reference.

    Raises ``ValueError`` for a degree that is not an integer ≥ 0 (or 0 with ``"odd"``), ``a ≥ b``,
    ``a < 0`` with a parity, an unknown parity, a non-callable ``f`` (or one returning something
    other than a finite real) and ``dps < 15``; :class:`ConvergenceError` if the iteration fails.
    """
    run = remez(f, degree, a, b, parity=parity, dps=dps)
    return Minimax(run.coefficients, run.error, run.points)


def error_extrema(
    f: Callable[[mpmath.mpf], mpmath.mpf],
    coefficients: Sequence[Any],
    a: Any,
    b: Any,
    *,
    grid: int = 200,
    dps: int = 30,
) -> list[Extremum]:
    """The signed local extrema of ``e = p − f`` on ``[a, b]``, one per run of equal sign.

    ``p`` has the monomial ``coefficients`` (``coefficients[k]`` multiplies ``x^k``). ``e`` is
    sampled at ``grid + 1`` Chebyshev-spaced points of ``[a, b]`` and the largest ``|e|`` of each
    run of equal sign is refined by Brent's method to about ``dps/2`` digits in position. The
    alternation of ``p`` is read off the result: how many signs alternate at ``max |e|``.
    """
    _check_f(f)
    if len(coefficients) == 0:
        raise ValueError("coefficients must not be empty")
    _check_interval(a, b)
    grid = validate.integer("grid", grid, minimum=2)
    dps = validate.integer("dps", dps, minimum=15)
    with mpmath.workdps(dps):
        coef = [mpmath.mpf(c) for c in coefficients]
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)

        def err(x: mpmath.mpf) -> mpmath.mpf:
            return evaluate(coef, x) - _value(f, x)

        noise = mpmath.mpf(10) ** (3 - dps) * (1 + max(abs(c) for c in coef))
        rel = mpmath.mpf(10) ** (-(dps // 2))
        return _signed_extrema(err, lo, hi, [lo, hi], noise, rel, grid - 1)


def sign_separator(
    points: Sequence[Any], signs: Sequence[int], *, parity: str | None = None
) -> tuple[mpmath.mpf, ...]:
    """The polynomial ``h`` with ``sign(h(x_i)) = −signs[i]``, of the lowest degree the proof needs.

    The points (increasing) fall into ``r`` runs of equal sign. ``h`` has one simple zero
    between consecutive runs, at the midpoint ``z_j`` of the gap: ``h(x) = ±∏_j (x − z_j)`` of
    degree ``r − 1`` (the necessity part of the equioscillation theorem); with ``parity="odd"``
    or ``"even"`` (points in ``(0, ∞)``), ``h(x) = ±x^ρ ∏_j (x² − z_j²)`` with ``ρ = 1`` or ``0``,
    of degree ``2(r − 1) + ρ``, odd or even and with the same positive zeros. Returns the
    monomial coefficients, lowest power first, at mpmath's current precision.
    """
    validate.choice("parity", parity, PARITIES)
    xs = [mpmath.mpf(x) for x in points]
    if not xs or len(xs) != len(signs):
        raise ValueError(f"points and signs must be non-empty and of equal length, got "
                         f"{len(xs)} and {len(signs)}")
    if any(s not in (1, -1) for s in signs):
        raise ValueError(f"signs must be +1 or -1, got {list(signs)!r}")
    if any(u >= v for u, v in itertools.pairwise(xs)):
        raise ValueError("points must be strictly increasing")
    if parity is not None and xs[0] <= 0:
        raise ValueError(f"an {parity} separator needs points in (0, inf), got {xs[0]}")
    zeros = [(xs[i] + xs[i + 1]) / 2 for i in range(len(xs) - 1) if signs[i] != signs[i + 1]]
    poly = [mpmath.mpf(1)]  # coefficients, lowest power first
    for z in zeros:
        root, step = (z, 1) if parity is None else (z * z, 2)
        shifted = [mpmath.mpf(0)] * step + poly  # x^step · poly
        poly = [s - root * (poly[k] if k < len(poly) else 0) for k, s in enumerate(shifted)]
    if parity == "odd":
        poly = [mpmath.mpf(0), *poly]
    sign_at_first = 1 if evaluate(poly, xs[0]) > 0 else -1
    flip = -signs[0] * sign_at_first
    return tuple(flip * c for c in poly)


def _lp_basis(points: ArrayLike, exponents: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Points as float64 (mpmath numbers accepted) and the matrix ``x_j^{k}``, ``k`` in exponents."""
    x = np.array([float(v) for v in np.ravel(np.asarray(points, dtype=object))], dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("points must be a non-empty list of finite numbers")
    exps = [validate.integer("exponent", k, minimum=0) for k in exponents]
    if not exps:
        raise ValueError("exponents must not be empty")
    return x, x[:, None] ** np.array(exps, dtype=np.float64)[None, :]


def wrong_sign_direction(
    points: ArrayLike, signs: Sequence[int], exponents: Sequence[int]
) -> np.ndarray | None:
    """Coefficients ``c`` with ``signs[i] · Σ_k c_k x_i^{k} ≤ −1`` at every point, or None.

    The feasibility question behind the theorem: is there an ``h`` in the span of ``x^k``
    (``k`` in ``exponents``) with the opposite sign of ``signs`` at every point? Solved as a
    linear program by ``scipy.optimize.linprog`` (HiGHS) in float64. ``None`` (infeasible)
    certifies that no such ``h`` exists: at ``len(exponents) + 1`` points where ``p − f``
    alternates, that is Kolmogorov's criterion, so ``p`` is best.
    """
    x, v = _lp_basis(points, exponents)
    if len(signs) != x.size or any(s not in (1, -1) for s in signs):
        raise ValueError(f"signs must be +1 or -1, one per point ({x.size}), got {list(signs)!r}")
    m = v.shape[1]
    res = scipy.optimize.linprog(np.zeros(m), A_ub=np.asarray(signs, dtype=np.float64)[:, None] * v,
                                 b_ub=-np.ones(x.size), bounds=[(None, None)] * m, method="highs")
    if res.status == 2:
        return None
    if res.status != 0:  # pragma: no cover - HiGHS reports an unexpected failure
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.x


def discrete_minimax(
    points: ArrayLike, values: ArrayLike, exponents: Sequence[int]
) -> tuple[float, np.ndarray]:
    """``min_δ max_j |values_j + Σ_k δ_k x_j^{k}|`` over the points, by linear programming.

    The best uniform correction of ``values`` (an error curve sampled at ``points``) by the span
    of ``x^k``, ``k`` in ``exponents``: minimise ``t`` subject to ``±(values + Vδ) ≤ t``, with
    ``scipy.optimize.linprog`` (HiGHS) in float64, whose default feasibility tolerance is
    ``10⁻⁷``: scale ``values`` to order 1. Returns the optimum ``t`` and the correction ``δ``.
    For the error of a best approximation sampled on a set containing its alternation points,
    ``t`` is the error itself and ``δ = 0``: no correction helps.
    """
    x, v = _lp_basis(points, exponents)
    e = np.asarray(values, dtype=np.float64).ravel()
    if e.shape != x.shape or not np.all(np.isfinite(e)):
        raise ValueError(f"values must be {x.size} finite numbers, one per point, got shape "
                         f"{e.shape}")
    m = v.shape[1]
    ones = np.ones((x.size, 1))
    cost = np.zeros(m + 1)
    cost[-1] = 1.0
    res = scipy.optimize.linprog(cost, A_ub=np.block([[v, -ones], [-v, -ones]]),
                                 b_ub=np.concatenate([-e, e]), bounds=[(None, None)] * (m + 1),
                                 method="highs")
    if res.status != 0:  # pragma: no cover - the problem is always feasible and bounded
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(res.fun), res.x[:-1]
