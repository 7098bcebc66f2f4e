"""The book-wide errata page: every chapter's ledger, gathered from the executed chapters.

Each chapter's last cell displays its :class:`~kexue_lib.book.ledger.Ledger`, which publishes its
rows in the output's metadata (:data:`~kexue_lib.book.build.LEDGER_KEY`). At build time the
extension ``book/_ext/kexue_pages.py`` reads them from the executed notebooks and replaces the
``{errata}`` block of ``book/errata.md`` with the Markdown that :func:`errata_markdown` writes:
the verdict counts per chapter and in total, then every *corrected*, *qualified* and *not
checked* row of every post, with the post's statement, the book's finding and a link to the
section that decides it. Nothing on the page is typed by hand, so a new correction in any
chapter appears there with no edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kexue_lib.book.build import LEDGER_KEY
from kexue_lib.book.display import markdown_table
from kexue_lib.book.ledger import STATUSES, badge, section_link

__all__ = ["MARKER", "ChapterLedger", "chapters_from", "errata_markdown", "ledger_of"]

#: The block of ``book/errata.md`` that the generated Markdown replaces.
MARKER = "```{errata}\n```"

_SECTIONS = (
    ("corrected", "What the posts got wrong",
     "Each statement below is wrong or imprecise as the post makes it; the book gives the right "
     "value or statement, and the linked section computes it."),
    ("qualified", "Right conclusions, qualified",
     "The conclusion holds, but not as stated: a wrong reason, a narrower range, a missing "
     "condition. The book says what holds."),
    ("not checked", "What the book does not check, and why",
     "Claims the chapters do not decide, each with its reason."),
)


@dataclass(frozen=True)
class ChapterLedger:
    """One chapter's ledger as published: its document name, title, post and rows."""

    docname: str
    title: str
    post: str
    rows: tuple[dict[str, str], ...]

    def count(self, status: str) -> int:
        return sum(row["status"] == status for row in self.rows)


def ledger_of(notebook: Any) -> dict[str, Any] | None:
    """The ledger record an executed chapter displays (its last one), or ``None`` if it has none."""
    found = None
    for cell in notebook.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = out.get("metadata", {}).get(LEDGER_KEY)
            if record is not None:
                found = record
    return found


def _doc_link(docname: str) -> str:
    return f"{{doc}}`/{docname}`"


def errata_markdown(chapters: Sequence[ChapterLedger]) -> str:
    """The errata page's body (MyST Markdown) for the chapters' ledgers, in reading order."""
    if not chapters:
        raise ValueError("no chapter published a ledger: the errata page would be empty")
    for chapter in chapters:
        for row in chapter.rows:
            if row.get("status") not in STATUSES:
                raise ValueError(f"{chapter.docname}: a ledger row has an unknown status {row!r}")
    counts = [[_doc_link(c.docname), c.post, *(c.count(s) for s in STATUSES), len(c.rows)]
              for c in chapters]
    totals = ["**all chapters**", "", *(sum(c.count(s) for c in chapters) for s in STATUSES),
              sum(len(c.rows) for c in chapters)]
    out = [
        "## The verdicts, chapter by chapter",
        "",
        markdown_table(["chapter", "post", *(badge(s) for s in STATUSES), "rows"], [*counts, totals],
                       align=["l", "l", "r", "r", "r", "r", "r"]),
    ]
    for status, heading, blurb in _SECTIONS:
        out += ["", f"## {heading}", "", blurb]
        listed = [c for c in chapters if c.count(status)]
        if not listed:
            out += ["", f"No row of any ledger is {badge(status)}."]
        for chapter in listed:
            header = "the reason" if status == "not checked" else "the book"
            rows = [[row["item"], row["claim"], row["book"],
                     section_link(row["section"])]
                    for row in chapter.rows if row["status"] == status]
            out += ["", f"### Post {chapter.post}: {chapter.title}", "",
                    f"From the chapter {_doc_link(chapter.docname)}.", "",
                    markdown_table(["post", "the post says", header, "decided in"], rows)]
    return "\n".join(out) + "\n"


def chapters_from(notebooks: Iterable[tuple[str, str, Any]]) -> list[ChapterLedger]:
    """``ChapterLedger`` for each ``(docname, title, executed notebook)`` that displays a ledger."""
    found = []
    for docname, title, notebook in notebooks:
        record = ledger_of(notebook)
        if record is not None:
            found.append(ChapterLedger(docname, title, str(record["post"]), tuple(record["rows"])))
    return found
