"""Unit tests of kexue_lib.book.build: discovery, fresh execution, structure checks, the cache guard."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from kexue_lib.book import build as book
from kexue_lib.book.build import LEDGER_KEY

FRONT = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def _mini_book(tmp_path: Path, body: str, extra_page: bool = False) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: book/ch\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    (tmp_path / "book" / "ch.md").write_text(FRONT + textwrap.dedent(body))
    if extra_page:
        (tmp_path / "book" / "stray.md").write_text("# Not listed\n")
    return tmp_path


def test_discovery_finds_notebooks_and_pages_outside_the_toc(tmp_path: Path) -> None:
    root = _mini_book(tmp_path, "# Ch\n```{code-cell} ipython3\n1 + 1\n```\n", extra_page=True)
    assert book.find_root(root / "book") == root
    assert [p.name for p in book.toc_files(root)] == ["intro.md", "ch.md"]
    assert [p.name for p in book.chapters(root)] == ["ch.md"]
    assert [p.name for p in book.pages_outside_toc(root)] == ["stray.md"]


def test_execute_names_the_chapter_and_the_failing_cell(tmp_path: Path) -> None:
    body = (
        "# Ch\n```{code-cell} ipython3\nx = 1\n```\n"
        "```{code-cell} ipython3\nassert x == 2, 'x is not 2'\n```\n"
    )
    root = _mini_book(tmp_path, body)
    with pytest.raises(book.ChapterError) as err:
        book.execute(root / "book" / "ch.md", timeout=120)
    message = str(err.value)
    assert "ch.md: code cell" in message and "assert x == 2" in message and "x is not 2" in message


def test_execute_rejects_stderr(tmp_path: Path) -> None:
    body = "# Ch\n```{code-cell} ipython3\nimport sys\nprint('oops', file=sys.stderr)\n```\n"
    root = _mini_book(tmp_path, body)
    with pytest.raises(book.ChapterError, match="wrote to stderr"):
        book.execute(root / "book" / "ch.md", timeout=120)


def test_fingerprint_changes_with_the_library(tmp_path: Path) -> None:
    root = _mini_book(tmp_path, "# Ch\n")
    (root / "kexue_lib").mkdir()
    (root / "kexue_lib" / "m.py").write_text("X = 1\n")
    (root / "_build" / ".jupyter_cache").mkdir(parents=True)
    assert book.invalidate_stale_cache(root) is True          # no stamp yet: cleared
    (root / "_build" / ".jupyter_cache").mkdir()
    assert book.invalidate_stale_cache(root) is False         # nothing changed: kept
    assert (root / "_build" / ".jupyter_cache").is_dir()
    (root / "kexue_lib" / "m.py").write_text("X = 2\n")
    assert book.invalidate_stale_cache(root) is True          # library changed: cleared
    assert not (root / "_build" / ".jupyter_cache").exists()


# --- structure: the five beats and the conventions a reader sees --------------------------

GOOD = """\
(ch-x)=
# A chapter

[原文](https://kexue.fm/archives/1) {cite}`x`

```{code-cell} ipython3
import math
```

(sec-x-claim)=
## The claim
(sec-x-derivation)=
## The derivation

```{code-cell} ipython3
:tags: [remove-cell]
x = 1
```

(sec-x-check)=
## The numerical check
(sec-x-beyond)=
## Beyond the post
(sec-x-summary)=
## Summary

```{code-cell} ipython3
:tags: [remove-input]
ledger
```
"""


def _chapter(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ch.md"
    path.write_text(book.round_trip(FRONT + body))  # as Jupyter would save it
    return path


def test_a_chapter_with_the_five_beats_passes(tmp_path: Path) -> None:
    assert book.check_structure(_chapter(tmp_path, GOOD)) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("(sec-x-check)=\n", ""), "the beat 'check' needs exactly one section"),
        (lambda s: s.replace("(sec-x-beyond)=\n", "(sec-x-beyond)=\n(sec-y-beyond)=\n"),
         "the beat 'beyond' needs exactly one section"),
        (lambda s: s.replace("(sec-x-summary)=", "(sec-y-summary)="), "share one slug"),
        (lambda s: s.replace("(sec-x-derivation)=", "(sec-x-tmp)=")
         .replace("(sec-x-check)=", "(sec-x-derivation)=").replace("(sec-x-tmp)=", "(sec-x-check)="),
         "must come in the order"),
        (lambda s: s.replace("https://kexue.fm/archives/1", "https://example.org"), "link its source post"),
        (lambda s: s.replace("ipython3\nimport math", "ipython3\n:tags: [remove-cell]\nimport math"),
         "visible import cell"),
        (lambda s: s.replace("x = 1", "def f():\n    return 1"),
         "hidden (remove-cell) but defines a function"),
        (lambda s: s.replace("x = 1", "f = lambda: 1"), "defines a function"),
        (lambda s: s.replace("x = 1", "x = " + "1 + " * 40 + "1"), "characters (at most"),
        (lambda s: s.replace(":tags: [remove-input]\n", ""), "must hide its input"),
        (lambda s: s.replace("(sec-x-summary)=\n## Summary\n", "") + "(sec-x-summary)=\n## Summary\n",
         "must lie in the summary"),
    ],
)
def test_structure_problems_name_the_chapter_and_the_rule(tmp_path: Path, edit, message: str) -> None:
    problems = book.check_structure(_chapter(tmp_path, edit(GOOD)))
    assert any(message in p for p in problems), problems
    assert all(p.startswith("ch.md: ") for p in problems)


def test_a_chapter_jupyter_would_rewrite_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ch.md"
    path.write_text(FRONT + GOOD)   # no blank line after the cell options: jupytext adds one
    assert any("not in the form Jupyter saves" in p for p in book.check_structure(path))
    assert book.check_structure(_chapter(tmp_path, GOOD)) == []


def _notebook(cells: list[tuple[dict, list[dict]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for metadata, outputs in cells:
        cell = nbformat.v4.new_code_cell("x", metadata=metadata)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


SVG = {"output_type": "display_data", "data": {"image/svg+xml": "<svg/>"}, "metadata": {}}
LEDGER = {"output_type": "execute_result", "execution_count": 1,
          "metadata": {LEDGER_KEY: {"post": "1", "rows": []}}, "data": {"text/markdown": "|a|"}}
CAPTION = {"mystnb": {"figure": {"caption": "A curve.", "name": "fig-x-curve"}}}


def test_executed_chapter_needs_captioned_figures_and_a_ledger() -> None:
    assert book.check_outputs("ch.md", _notebook([(CAPTION, [SVG]), ({}, [LEDGER])])) == []
    problems = book.check_outputs("ch.md", _notebook([({}, [SVG]), ({}, [])]))
    assert any("figure without a caption" in p for p in problems)
    assert any("must display the chapter's Ledger" in p for p in problems)
    two = book.check_outputs("ch.md", _notebook([(CAPTION, [SVG, SVG]), ({}, [LEDGER])]))
    assert any("shows 2 figures" in p for p in two)


def test_a_fresh_execution_is_found_in_the_build_cache(tmp_path: Path) -> None:
    from jupyter_cache import get_cache

    root = _mini_book(tmp_path, "# Ch\n```{code-cell} ipython3\n:tags: [remove-input]\nx = 2 * 21\nx\n```\n")
    chapter = root / "book" / "ch.md"
    run = book.execute(chapter, timeout=120)
    book.cache_execution(root, run)
    record = get_cache(str(root / book.CACHE_DIR)).match_cache_notebook(book.read_notebook(chapter))
    assert record.data["execution_seconds"] == pytest.approx(run.seconds)
    chapter.write_text(chapter.read_text().replace("21", "22"))  # a changed cell is a new notebook
    with pytest.raises(KeyError):
        get_cache(str(root / book.CACHE_DIR)).match_cache_notebook(book.read_notebook(chapter))


def test_cached_notebook_returns_the_stored_outputs_of_the_current_code(tmp_path: Path) -> None:
    chapter = tmp_path / "ch.md"
    chapter.write_text(FRONT + "# Ch\n```{code-cell} ipython3\n1 + 1\n```\n")
    nb = book.read_notebook(chapter)
    nb.cells[-1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                                   execution_count=1)]
    book.cache_execution(tmp_path, book.Execution(chapter, 0.1, nb))
    found = book.cached_notebook(tmp_path / book.CACHE_DIR, chapter)
    assert found.cells[-1].outputs[0]["data"]["text/plain"] == "2"
    chapter.write_text(FRONT + "# Ch\n```{code-cell} ipython3\n1 + 2\n```\n")  # new code: no hit
    assert book.cached_notebook(tmp_path / book.CACHE_DIR, chapter) is None
