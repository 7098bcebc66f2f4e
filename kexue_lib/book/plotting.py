"""The book's figures: one style, named sizes, one way to show a figure.

Figures are drawn on an opaque white background with dark text, so that they stay readable
when the reader switches the HTML theme to dark, and use the Okabe–Ito colour-blind-safe
palette. Inline figures are SVG (sharp when zoomed) and deterministic: a fixed hash salt for
the element ids and no date in the metadata, so that an unchanged book builds to identical HTML.

A figure cell builds its figure with :func:`figure` and ends with ``fig``; the figure is not
registered with pyplot, so it is shown exactly once, as the cell's value, and the cell's
``mystnb: figure: {caption, name}`` metadata gives it its number and caption::

    fig, ax = plotting.figure("single")
    ax.plot(x, y)
    fig
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure

from kexue_lib import validate

__all__ = ["PALETTE", "SIZES", "figure", "use_book_style"]

#: Okabe & Ito's colour-blind-safe palette (black first for reference curves).
PALETTE: tuple[str, ...] = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442",
)

#: The figure sizes (inches) the book uses, by name.
SIZES: dict[str, tuple[float, float]] = {
    "single": (6.4, 4.0),    # one panel
    "wide": (9.6, 4.0),      # two panels side by side
    "tall": (6.6, 8.0),      # two panels stacked
    "large": (7.0, 5.6),     # one busy panel (many curves, a legend outside)
    "grid": (9.6, 7.4),      # a 2 × 2 grid
}

_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "text.color": "#111111",
    "axes.labelcolor": "#111111",
    "axes.edgecolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.figsize": SIZES["single"],
    "figure.dpi": 110,
    "font.size": 11,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "svg.fonttype": "path",
    "svg.hashsalt": "kexue-book",  # element ids from a fixed salt, not a random one
}
#: Passed to every inline ``savefig``: no creation date in the SVG, so builds are reproducible.
SVG_METADATA = {"Date": None}


def use_book_style() -> None:
    """Apply the book's style to matplotlib, and deterministic SVG output under IPython."""
    mpl.rcParams.update(_RC)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=PALETTE[1:] + PALETTE[:1])
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there in the book's environment
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", metadata=SVG_METADATA)


def figure(size: str = "single", nrows: int = 1, ncols: int = 1, **subplots: Any) -> tuple[Figure, Any]:
    """A new figure of a named size (:data:`SIZES`) with its axes, laid out by constrained layout.

    ``nrows``, ``ncols`` and ``subplots`` (``sharex=True``, …) go to
    :meth:`matplotlib.figure.Figure.subplots`; the axes come back as it returns them (one
    ``Axes``, or an array). The figure is not managed by pyplot: end the cell with it to show it.
    """
    validate.choice("size", size, SIZES)
    fig = Figure(figsize=SIZES[size], layout="constrained")
    return fig, fig.subplots(nrows, ncols, **subplots)
