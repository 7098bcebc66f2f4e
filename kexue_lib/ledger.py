"""The ledger that closes every chapter.

Each numbered equation and each stated number of the source post gets one row: what the post
claims, what the book finds, the verdict (*verified*, *corrected* or *not checked*) and the
section of the chapter that decides it. Numeric rows are decided by :meth:`Ledger.compare`,
which compares the post's number with the book's computed value at the precision the post
states, so the verdict is computed, never typed in; the ``expect`` argument makes the row an
assertion as well, so a verdict that changes stops the build.

In a chapter::

    ledger = Ledger("11390")
    ledger.compare("≈ 3.63", "E[z_max] for n = 4096", stated="3.63", computed=exact,
                   section="sec-gmax-mc", expect="verified")
    ledger.verified("(1)", "E[z_max] ≤ √(2 log n)", section="sec-gmax-jensen")
    ledger          # the last expression of the cell renders the table
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from kexue_lib import validate

Status = Literal["verified", "corrected", "not checked"]
STATUSES: tuple[Status, ...] = ("verified", "corrected", "not checked")
_MARK = {"verified": "✅ verified", "corrected": "✏️ corrected", "not checked": "➖ not checked"}


@dataclass(frozen=True)
class Entry:
    """One row of the ledger."""

    item: str
    claim: str
    status: Status
    book: str
    section: str


def stated_tolerance(stated: str) -> float:
    """The uncertainty implied by how a number is written: one unit in its last digit.

    One unit rather than half a unit, because posts often truncate (``0.7944868…``) rather than
    round. ``"3.63"`` gives 0.01, ``"0.4744746"`` gives 1e-7, ``"2e-3"`` gives 1e-3.
    """
    try:
        d = Decimal(stated.strip().rstrip("…").rstrip("."))
    except InvalidOperation:
        raise ValueError(f"stated must be a number written as text, got {stated!r}") from None
    if not d.is_finite():
        raise ValueError(f"stated must be finite, got {stated!r}")
    return float(Decimal(1).scaleb(d.as_tuple().exponent))


def _fmt(x: float, stated: str) -> str:
    """Format the computed value with two more digits than the post gives."""
    exponent = Decimal(stated.strip().rstrip("…").rstrip(".")).as_tuple().exponent
    decimals = max(0, -int(exponent) + 2)
    return f"{x:.{decimals}f}" if abs(x) < 1e6 else f"{x:.6g}"


class Ledger:
    """The verdicts on one post's equations and numbers; renders as a Markdown table."""

    def __init__(self, post: str) -> None:
        if not str(post).strip():
            raise ValueError("post must name the source post, e.g. '11390'")
        self.post = str(post)
        self.entries: list[Entry] = []

    def _add(self, item: str, claim: str, status: Status, book: str, section: str) -> Entry:
        validate.choice("status", status, STATUSES)
        for label, text in (("item", item), ("claim", claim)):
            if not str(text).strip():
                raise ValueError(f"{label} must not be empty")
        if status != "not checked" and not str(section).strip():
            raise ValueError(f"a {status} row must name the section that decides it")
        entry = Entry(str(item), str(claim), status, str(book), str(section))
        self.entries.append(entry)
        return entry

    def verified(self, item: str, claim: str, *, section: str, book: str = "as stated") -> Entry:
        """Record a claim the chapter has checked and found to hold (by an assert in ``section``)."""
        return self._add(item, claim, "verified", book, section)

    def corrected(self, item: str, claim: str, *, section: str, book: str) -> Entry:
        """Record a claim the chapter found wrong or imprecise; ``book`` gives the right version."""
        if not str(book).strip():
            raise ValueError("a corrected row must give the right value or statement in book")
        return self._add(item, claim, "corrected", book, section)

    def not_checked(self, item: str, claim: str, *, why: str) -> Entry:
        """Record a claim the chapter does not decide, and why."""
        if not str(why).strip():
            raise ValueError("a not-checked row must say why")
        return self._add(item, claim, "not checked", why, "")

    def compare(
        self,
        item: str,
        claim: str,
        *,
        stated: str,
        computed: float,
        section: str,
        expect: Status,
        tol: float | None = None,
    ) -> Entry:
        """Decide a numeric claim: *verified* if ``|stated - computed| <= tol``, else *corrected*.

        ``stated`` is the post's number as text, so that its precision is known;
        ``tol`` defaults to :func:`stated_tolerance` (one unit in the last stated digit) and
        should be widened only for a justified reason (the post's own Monte Carlo error, say).
        Raises ``AssertionError`` if the verdict is not ``expect``: the ledger is a check too.
        """
        value = float(computed)
        if not math.isfinite(value):
            raise ValueError(f"computed must be finite, got {computed!r}")
        if expect not in ("verified", "corrected"):
            raise ValueError(f"expect must be 'verified' or 'corrected', got {expect!r}")
        tolerance = stated_tolerance(stated) if tol is None else tol
        if not tolerance > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        status: Status = "verified" if abs(float(stated.rstrip("…")) - value) <= tolerance else "corrected"
        if status != expect:
            raise AssertionError(
                f"ledger row {item!r}: the post states {stated}, the book computes {value!r} "
                f"(tolerance {tolerance:g}), so the verdict is {status!r}, not {expect!r}"
            )
        return self._add(item, claim, status, _fmt(value, stated), section)

    def counts(self) -> dict[Status, int]:
        """How many rows carry each verdict."""
        return {s: sum(e.status == s for e in self.entries) for s in STATUSES}

    def _repr_markdown_(self) -> str:
        if not self.entries:
            raise ValueError("the ledger is empty")
        rows = [
            f"**Ledger of post {self.post}**: "
            + ", ".join(f"{n} {s}" for s, n in self.counts().items()),
            "",
            "| post | claim | verdict | the book | decided in |",
            "|---|---|---|---|---|",
        ]
        for e in self.entries:
            where = f"{{ref}}`{e.section}`" if e.section else "—"
            cells = [e.item, e.claim, _MARK[e.status], e.book, where]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(rows)
