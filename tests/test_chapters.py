"""Each chapter of the book, executed fresh (no cache) against the current kexue_lib.

One test per chapter listed in _toc.yml: a failing assert in a chapter fails its test, and the
report names the chapter, the failing cell's source and the traceback.
"""

from __future__ import annotations

import pytest

from kexue_lib.book.build import chapters, execute, find_root, pages_outside_toc

ROOT = find_root()
CHAPTERS = chapters(ROOT)


def test_every_page_is_in_the_table_of_contents() -> None:
    assert pages_outside_toc(ROOT) == [], "pages missing from _toc.yml would never execute"


def test_the_book_has_chapters() -> None:
    assert CHAPTERS, "no executable chapter found in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_executes(chapter) -> None:
    execute(chapter)
