"""The ledger that closes every chapter.

Each numbered equation and each stated number of the source post gets one row: what the post
claims, what the book finds, the verdict and the section of the chapter that decides it. The
verdicts:

- *verified* — the claim holds, checked by an assert in the deciding section;
- *qualified* — the conclusion holds but not as stated (a wrong reason, a narrower range, a
  missing condition); the book column says what is right;
- *corrected* — the claim is wrong or imprecise; the book column gives the right value;
- *not checked* — the chapter does not decide it, and says why.

Numeric rows are decided by :meth:`Ledger.compare`, which compares the post's number with the
book's computed value at the precision the post states, so the verdict is computed, never typed
in; the ``expect`` argument makes the row an assertion as well, so a verdict that changes stops
the build.

Rows name their source unambiguously: an equation of the post is ``"post (4)"``, never a bare
``"(4)"``, which the reader would take for the page's own equation (4); the page's equations are
cited with ``{eq}`` links in the claim or book columns.

In a chapter (the cell's input hidden, ``tags: [remove-input]``)::

    ledger = Ledger("11390")
    ledger.compare("post, n = 4096", "E[z_max] ≈ 3.63", stated="3.63", computed=exact,
                   section="sec-gmax-mc", expect="verified")
    ledger.verified("post (1)", "E[z_max] ≤ √(2 log n)", section="sec-gmax-jensen")
    ledger          # the last expression of the cell renders the table

Besides its Markdown table, a displayed ledger publishes its rows in the output's metadata under
:data:`kexue_lib.book.build.LEDGER_KEY`, for pages that gather the ledgers of every chapter.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from kexue_lib import validate
from kexue_lib.book.build import LEDGER_KEY
from kexue_lib.book.display import markdown_table

Status = Literal["verified", "qualified", "corrected", "not checked"]
STATUSES: tuple[Status, ...] = ("verified", "qualified", "corrected", "not checked")
# A bare equation number, "(4)" or "(4)–(7)": ambiguous next to the page's own equation numbers.
_BARE_EQUATION = re.compile(r"^\(\d+[a-z]?\)")


def badge(status: Status) -> str:
    """The verdict as a text badge (HTML with a CSS class; readable without any emoji font)."""
    validate.choice("status", status, STATUSES)
    return f'<span class="verdict verdict-{status.replace(" ", "-")}">{status}</span>'


def section_link(label: str) -> str:
    """A link to a section by its number (``§1.3.2``), which survives math in the section's title."""
    return f"{{numref}}`§%s <{label}>`" if str(label).strip() else "—"


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
        if _BARE_EQUATION.match(str(item).strip()):
            raise ValueError(f"item {item!r}: write an equation of the post as 'post {item.strip()}', "
                             "so that it cannot be taken for the page's own equation number")
        if status != "not checked" and not str(section).strip():
            raise ValueError(f"a {status} row must name the section that decides it")
        entry = Entry(str(item), str(claim), status, str(book), str(section))
        self.entries.append(entry)
        return entry

    def verified(self, item: str, claim: str, *, section: str, book: str = "as stated") -> Entry:
        """Record a claim the chapter has checked and found to hold (by an assert in ``section``)."""
        return self._add(item, claim, "verified", book, section)

    def qualified(self, item: str, claim: str, *, section: str, book: str) -> Entry:
        """Record a claim whose conclusion holds but not as stated; ``book`` says what is right."""
        if not str(book).strip():
            raise ValueError("a qualified row must say in book what holds and what does not")
        return self._add(item, claim, "qualified", book, section)

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

    def records(self) -> list[dict[str, str]]:
        """The rows as plain dictionaries (item, claim, status, book, section), post included."""
        return [{"post": self.post, **dataclasses.asdict(e)} for e in self.entries]

    def _repr_markdown_(self) -> str:
        if not self.entries:
            raise ValueError("the ledger is empty")
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        rows = [
            [e.item, e.claim, badge(e.status), e.book, section_link(e.section)]
            for e in self.entries
        ]
        table = markdown_table(["post", "claim", "verdict", "the book", "decided in"], rows)
        return f"**Ledger of post {self.post}**: {counts}\n\n{table}"

    def __repr__(self) -> str:
        # the notebook's text/plain fallback: deterministic (no memory address), even when empty
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return f"Ledger of post {self.post}: {counts}"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """The Markdown table, with the rows as JSON in the output's metadata."""
        return ({"text/markdown": self._repr_markdown_()},
                {LEDGER_KEY: {"post": self.post, "rows": self.records()}})
