"""Each chapter of the book: its structure, its form, and its execution against the current kexue_lib.

One test of each kind per chapter listed in _toc.yml:

- the structure (the five beats, visible imports, the ledger last, ...; :func:`check_structure`);
- the form Jupyter saves: a chapter round-trips through jupytext (.md → .ipynb → .md) unchanged;
- a fresh execution (no cache): a failing assert fails the test, and the report names the
  chapter, the failing cell's source and the traceback; the executed chapter must caption its
  figures and display its ledger (:func:`check_outputs`). Each execution is stored in the
  build's execution cache, so a ``make build`` after ``make test`` renders without executing.
"""

from __future__ import annotations

import pytest

from kexue_lib.book.build import (
    cache_execution,
    chapters,
    check_outputs,
    check_structure,
    execute,
    find_root,
    invalidate_stale_cache,
    pages_outside_toc,
    round_trip,
)

ROOT = find_root()
CHAPTERS = chapters(ROOT)
IDS = [p.stem for p in CHAPTERS]


@pytest.fixture(scope="session")
def build_cache() -> None:
    """The build's cache, cleared first if the library changed since it was filled."""
    invalidate_stale_cache(ROOT)


def test_every_page_is_in_the_table_of_contents() -> None:
    assert pages_outside_toc(ROOT) == [], "pages missing from _toc.yml would never execute"


def test_the_book_has_chapters() -> None:
    assert CHAPTERS, "no executable chapter found in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_chapter_structure(chapter) -> None:
    problems = check_structure(chapter)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_chapter_round_trips_through_jupytext(chapter) -> None:
    text = chapter.read_text(encoding="utf-8")
    assert round_trip(text) == text, f"run: python -m kexue_lib.book format {chapter}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_chapter_executes(chapter, build_cache) -> None:
    run = execute(chapter)
    problems = check_outputs(chapter, run.notebook)
    assert not problems, "\n".join(problems)
    cache_execution(ROOT, run)
