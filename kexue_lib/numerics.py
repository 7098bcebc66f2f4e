"""Small numerical helpers shared by the chapters' kernels (searches over the integers)."""

from __future__ import annotations

from collections.abc import Callable

from kexue_lib import validate

__all__ = ["first_true"]


def first_true(predicate: Callable[[int], bool], lo: int, hi: int | None = None) -> int:
    """The smallest integer ``n > lo`` with ``predicate(n)`` true, for a monotone ``predicate``.

    ``predicate`` must be false at ``lo`` and, once true, stay true (false … false true … true).
    With ``hi`` given, ``predicate(hi)`` must be true and the answer lies in ``(lo, hi]``; without
    it, ``hi`` is found by doubling the distance from ``lo``. Exact bisection over the integers:
    about ``log₂(hi − lo)`` evaluations, each decided by ``predicate`` alone (so its precision
    decides the answer). Raises ``ValueError`` when the bracket is not one (``predicate(lo)``
    true, ``predicate(hi)`` false, or no true value within ``2²⁵⁶`` of ``lo``).
    """
    if not callable(predicate):
        raise ValueError("predicate must be a function of an integer")
    lo = validate.integer("lo", lo)
    if predicate(lo):
        raise ValueError(f"predicate must be false at lo = {lo}")
    if hi is None:
        step, hi = 1, lo + 1
        while not predicate(hi):
            if step > 2**256:
                raise ValueError(f"predicate is still false at {hi}: no bracket found by doubling")
            lo, step = hi, 2 * step
            hi = lo + step
    else:
        hi = validate.integer("hi", hi, minimum=lo + 1)
        if not predicate(hi):
            raise ValueError(f"predicate must be true at hi = {hi}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if predicate(mid) else (mid, hi)
    return hi
