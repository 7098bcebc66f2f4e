"""Unit tests of kexue_lib.book.errata and of the build extension that fills book/errata.md."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kexue_lib.book import errata
from kexue_lib.book.build import LEDGER_KEY, find_root


def _row(status: str, item: str = "post (1)", claim: str = "c", book: str = "b", section: str = "s"):
    return {"post": "1", "item": item, "claim": claim, "status": status, "book": book, "section": section}


def test_errata_lists_every_corrected_qualified_and_unchecked_row() -> None:
    a = errata.ChapterLedger("book/a", "Chapter A", "11390", (
        _row("verified"), _row("corrected", "post (3)", "E ≈ 3.63", "3.6261", "sec-a-mc"),
        _row("not checked", "text", "ties per matrix", "depends on the block schedule", "")))
    b = errata.ChapterLedger("book/b", "Chapter B", "9593", (_row("verified"), _row("verified")))
    text = errata.errata_markdown([a, b])
    assert "| {doc}`/book/a` | 11390 | 1 | 0 | 1 | 1 | 3 |" in text
    assert "| {doc}`/book/b` | 9593 | 2 | 0 | 0 | 0 | 2 |" in text
    assert "| **all chapters** |  | 3 | 0 | 1 | 1 | 5 |" in text
    assert "| post (3) | E ≈ 3.63 | 3.6261 | {numref}`§%s <sec-a-mc>` |" in text
    assert "| text | ties per matrix | depends on the block schedule | — |" in text
    assert "### Post 9593" not in text                       # nothing to report for chapter B
    assert 'No row of any ledger is <span class="verdict verdict-qualified">' in text


def test_errata_refuses_an_empty_book_and_an_unknown_verdict() -> None:
    with pytest.raises(ValueError, match="no chapter published a ledger"):
        errata.errata_markdown([])
    with pytest.raises(ValueError, match="unknown status"):
        errata.errata_markdown([errata.ChapterLedger("book/a", "A", "1", (_row("maybe"),))])


def test_ledger_of_reads_the_last_displayed_ledger() -> None:
    record = {"post": "1", "rows": [_row("verified")]}
    nb = {"cells": [{"cell_type": "markdown", "source": ""},
                    {"cell_type": "code", "outputs": [{"metadata": {}}]},
                    {"cell_type": "code", "outputs": [{"metadata": {LEDGER_KEY: record}}]}]}
    assert errata.ledger_of(nb) == record
    assert errata.ledger_of({"cells": []}) is None
    (found,) = errata.chapters_from([("book/x", "X", nb), ("book/y", "Y", {"cells": []})])
    assert found.docname == "book/x" and found.rows == (_row("verified"),)


FRONT = "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n" \
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"

CHAPTER = FRONT + textwrap.dedent("""\
    # A chapter

    (sec-t-summary)=
    ## Summary

    ```{code-cell} ipython3
    from kexue_lib.book.ledger import Ledger
    ledger = Ledger("42")
    ledger.corrected("post (7)", "the constant is 2", section="sec-t-summary", book="BOOK_VALUE")
    ledger
    ```
    """)


def _build_mini_book(root: Path) -> str:
    ext = find_root(Path(__file__).parent) / "book" / "_ext"
    (root / "_config.yml").write_text(textwrap.dedent(f"""\
        title: mini
        execute:
          execute_notebooks: cache
          cache: {root / "_build" / ".jupyter_cache"}
        sphinx:
          local_extensions:
            kexue_pages: {ext}
          config:
            numfig: true
            nb_render_markdown_format: myst
        """))
    done = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(root), "--all"],
                          cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return (root / "_build" / "html" / "book" / "errata.html").read_text(encoding="utf-8")


def test_the_errata_page_follows_a_chapter_ledger(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "- caption: C\n  numbered: true\n  chapters:\n  - file: book/ch\n"
        "- caption: About\n  chapters:\n  - file: book/errata\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "book" / "errata.md").write_text(f"# Errata\n\n{errata.MARKER}\n")
    chapter = tmp_path / "book" / "ch.md"
    chapter.write_text(CHAPTER)
    first = _build_mini_book(tmp_path)
    assert "BOOK_VALUE" in first and "the constant is 2" in first
    assert (tmp_path / "_build" / "html" / "_sources" / "book" / "ch.ipynb").is_file()   # the download
    chapter.write_text(CHAPTER.replace("BOOK_VALUE", "NEW_VALUE"))
    second = _build_mini_book(tmp_path)
    assert "NEW_VALUE" in second and "BOOK_VALUE" not in second
    # A build that takes the chapter from the execution cache (as make build after make test):
    # myst-nb's own copy of it then has no outputs, the page and the download must still have them.
    third = _build_mini_book(tmp_path)
    assert "NEW_VALUE" in third
    download = json.loads((tmp_path / "_build" / "html" / "_sources" / "book" / "ch.ipynb").read_text())
    assert errata.ledger_of(download)["rows"][0]["book"] == "NEW_VALUE"
