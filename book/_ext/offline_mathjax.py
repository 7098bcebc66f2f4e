"""Serve MathJax from the build itself, so that the book's math renders with no network.

Sphinx's default HTML loads MathJax 3 from a CDN. The PyPI package ``django-static-mathjax``
(pinned in requirements.txt) ships the MathJax 3 distribution; this extension copies its
``es5`` folder into ``_static/mathjax`` of the HTML output and points ``mathjax_path`` at it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

_TARGET = "mathjax"
_ENTRY = "tex-chtml.js"
_RUNTIME_FOLDERS = ("output/chtml/fonts/woff-v2", "input/tex/extensions", "ui")


def mathjax_source() -> Path:
    """The folder of the installed MathJax ``es5`` distribution."""
    import mathjax  # the import package of django-static-mathjax

    root = Path(next(iter(mathjax.__path__))) / "static" / "mathjax" / "es5"
    if not (root / _ENTRY).is_file():
        raise RuntimeError(f"MathJax not found at {root}: is django-static-mathjax installed?")
    return root


def _set_path(app: Sphinx, config: Config) -> None:
    config.mathjax_path = f"{_TARGET}/{_ENTRY}"


def _copy(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src, dest = mathjax_source(), Path(app.outdir) / "_static" / _TARGET
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / _ENTRY, dest / _ENTRY)
    # tex-chtml loads its fonts and the TeX extensions it autoloads (boldsymbol, cancel, ...)
    # from these folders at run time; the rest of the distribution is not needed.
    for sub in _RUNTIME_FOLDERS:
        shutil.copytree(src / sub, dest / sub, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _set_path)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
