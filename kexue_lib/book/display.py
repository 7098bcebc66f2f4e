"""What a chapter shows the reader: its set-up, its tables, its glued numbers.

One way to do each thing, so that every chapter looks the same:

- :func:`setup` — the first call of every chapter: the figure style (:mod:`.plotting`), sympy
  results typeset as LaTeX, NumPy printing, and float64 JAX where the chapter compares with mpmath;
- :class:`Table` — every table a chapter shows (the ledger's included) is a Markdown table built
  by :func:`markdown_table`, so all render alike and may hold math (``$…$``) and MyST roles;
- :func:`glue` — several prose numbers glued in one call, each checked to be a finite number.

In a chapter::

    from kexue_lib.book import display
    display.setup(x64=True)
    display.glue({"gmax-ratio-1e9": ratio, "gmax-k99": k99})
    display.Table(["$n$", "exact", "post"], rows, formats=["d", ".6f", ".6f"])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kexue_lib import validate
from kexue_lib.book import plotting

__all__ = ["Table", "glue", "markdown_table", "setup"]


def setup(*, x64: bool = False, dps: int | None = None) -> None:
    """Prepare the chapter's kernel: call once, in the visible import cell.

    Applies the book's figure style (:func:`kexue_lib.book.plotting.use_book_style`), makes
    IPython typeset sympy results as LaTeX (``sympy.init_printing``), prints NumPy arrays with
    6 significant digits, and with ``x64`` enables float64 in JAX (every chapter that compares
    with mpmath needs it). ``dps`` sets mpmath's working precision.
    """
    import jax
    import mpmath
    import sympy

    plotting.use_book_style()
    sympy.init_printing(use_latex="mathjax")
    np.set_printoptions(precision=6, suppress=False, linewidth=88)
    if x64:
        jax.config.update("jax_enable_x64", True)
    if dps is not None:
        mpmath.mp.dps = validate.integer("dps", dps, minimum=5)


def _scalar(name: str, value: Any) -> int | float | str:
    """A glued value as a plain Python number (or string); non-finite numbers are rejected."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"glue value {name!r} is a bool; glue a number or a string")
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        x = float(value)  # Python/NumPy/JAX scalars, 0-d arrays, mpmath.mpf
    except (TypeError, ValueError):
        raise ValueError(f"glue value {name!r} must be a number or a string, got "
                         f"{type(value).__name__}") from None
    if hasattr(value, "dtype") and np.issubdtype(np.asarray(value).dtype, np.integer):
        return int(value)
    if not math.isfinite(x):
        raise ValueError(f"glue value {name!r} is {x}: a number in the prose must be finite")
    return x


def glue(values: Mapping[str, Any]) -> None:
    """Glue each ``name: value`` for ``{glue:text}`name:fmt``` in the prose, without displaying it.

    Values become Python ``int``/``float`` (NumPy, JAX and mpmath scalars are converted, so the
    format spec in the prose applies) or stay strings; NaN and infinity are refused, since a
    prose number that is not finite is a bug.
    """
    from myst_nb import glue as myst_glue

    if not isinstance(values, Mapping) or not values:
        raise ValueError("glue takes a non-empty mapping of names to values")
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip() or " " in name:
            raise ValueError(f"glue names must be non-empty strings without spaces, got {name!r}")
        myst_glue(name, _scalar(name, value), display=False)


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return "—"
    if fmt and not isinstance(value, str):
        value = format(float(value) if fmt[-1] in "eEfFgG%" else value, fmt)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    formats: Sequence[str | None] | None = None,
    align: Sequence[str] | None = None,
) -> str:
    """A Markdown table: ``headers``, then ``rows`` formatted column by column.

    ``formats[j]`` is a format spec for column ``j`` (``".4f"``, ``".2e"``, ``"d"``, ``None`` for
    ``str``); strings are never formatted, so a column may mix numbers and text. ``align[j]`` is
    ``"l"``, ``"r"`` or ``"c"`` (numbers right-aligned by default). ``None`` shows as a dash and
    ``|`` is escaped, so cells may hold math and MyST roles.
    """
    headers = [str(h) for h in headers]
    if not headers:
        raise ValueError("a table needs at least one column")
    width = len(headers)
    formats = list(formats) if formats is not None else [None] * width
    if len(formats) != width:
        raise ValueError(f"formats must give one entry per column ({width}), got {len(formats)}")
    body = []
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != width:
            raise ValueError(f"row {i} has {len(row)} cells, the table has {width} columns")
        body.append([_cell(v, f) for v, f in zip(row, formats, strict=True)])
    if align is None:
        align = ["r" if f and f[-1] in "dfFeEgG%" else "l" for f in formats]
    if len(align) != width or any(a not in ("l", "r", "c") for a in align):
        raise ValueError(f"align must be one of 'l', 'r', 'c' per column ({width}), got {align!r}")
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |",
             "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


class Table:
    """A table a chapter shows: the last expression of a cell renders it (Markdown).

    ``title`` (optional) is a bold line above the table. Arguments as in :func:`markdown_table`.
    """

    def __init__(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        formats: Sequence[str | None] | None = None,
        align: Sequence[str] | None = None,
        title: str | None = None,
    ) -> None:
        self.markdown = markdown_table(headers, rows, formats=formats, align=align)
        self.title = title

    def _repr_markdown_(self) -> str:
        return (f"**{self.title}**\n\n" if self.title else "") + self.markdown

    def __repr__(self) -> str:
        # the notebook's text/plain fallback: the Markdown itself, never a memory address (which
        # would make the executed notebook differ from build to build)
        return self._repr_markdown_()
