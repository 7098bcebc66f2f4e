"""The book's own pages and buttons: executed notebooks to download, and the errata page.

- Every chapter page offers its executed notebook (``.ipynb``, with outputs) in the theme's
  download menu, beside the ``.md`` source: this extension writes it (with deterministic cell
  ids, so that two builds give the same file) to ``_sources/`` of the HTML output and tells the
  theme. The outputs come from the build's execution cache, where every chapter that executed
  (in this build, or in ``make test``) is stored: the copy myst-nb writes to
  ``_build/jupyter_execute`` has no outputs when the chapter was taken from the cache.
- ``book/errata.md`` is generated at build time: it is read after every chapter, and its
  ``{errata}`` block is replaced by :func:`kexue_lib.book.errata.errata_markdown` of the ledgers
  that the executed chapters display, so it can never disagree with them.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util import logging

from kexue_lib.book import build, errata

ERRATA_DOC = "book/errata"
logger = logging.getLogger(__name__)


def _executed(app: Sphinx, docname: str) -> dict | None:
    """The executed notebook of chapter ``docname``, outputs included, from the execution cache."""
    cache = Path(app.env.mystnb_config.execution_cache_path)
    nb = build.cached_notebook(Path(app.srcdir) / cache, Path(app.srcdir) / f"{docname}.md")
    return None if nb is None else json.loads(nbformat.writes(nb))


def _chapter_docnames(app: Sphinx) -> list[str]:
    root = Path(app.srcdir)
    return [p.relative_to(root).with_suffix("").as_posix() for p in build.chapters(root)]


def _read_errata_last(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if ERRATA_DOC in docnames:
        docnames.remove(ERRATA_DOC)
        docnames.append(ERRATA_DOC)


def _errata_always_outdated(app: Sphinx, env: BuildEnvironment, added: set, changed: set,
                            removed: set) -> list[str]:
    return [ERRATA_DOC] if ERRATA_DOC in env.found_docs else []


def _fill_errata(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != ERRATA_DOC:
        return
    if errata.MARKER not in source[0]:
        raise ExtensionError(f"{ERRATA_DOC}.md must contain the block {errata.MARKER!r}")
    notebooks = []
    for doc in _chapter_docnames(app):
        nb = _executed(app, doc)
        if nb is None:
            logger.warning(f"errata: no executed notebook for {doc} (did it fail?)", location=docname)
            continue
        title = app.env.titles[doc].astext() if doc in app.env.titles else doc
        notebooks.append((doc, title, nb))
    source[0] = source[0].replace(errata.MARKER, errata.errata_markdown(errata.chapters_from(notebooks)))


def _offer_notebook(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    if pagename in _chapter_docnames(app) and (Path(app.outdir) / "_sources" / f"{pagename}.ipynb").is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def _write_notebooks(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """After reading, before writing: each chapter's executed notebook into ``_sources/``."""
    if app.builder.format != "html":
        return []
    for doc in _chapter_docnames(app):
        nb = _executed(app, doc)
        if nb is None:
            continue
        for key in ("source_map", "jupytext"):  # build bookkeeping, not part of the notebook
            nb["metadata"].pop(key, None)
        for i, cell in enumerate(nb["cells"]):
            cell["id"] = f"cell-{i}"  # nbformat's are random: the download would differ per build
        target = Path(app.outdir) / "_sources" / f"{doc}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return []


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("env-before-read-docs", _read_errata_last)
    app.connect("env-get-outdated", _errata_always_outdated)
    app.connect("source-read", _fill_errata)
    app.connect("html-page-context", _offer_notebook)
    app.connect("env-updated", _write_notebooks)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
