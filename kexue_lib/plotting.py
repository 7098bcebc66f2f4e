"""The book's figure style.

Figures are drawn on an opaque white background with dark text, so that they stay readable
when the reader switches the HTML theme to dark, and use the Okabe–Ito colour-blind-safe
palette. Inline figures are SVG, so they stay sharp when zoomed.
"""

from __future__ import annotations

import matplotlib as mpl

#: Okabe & Ito's colour-blind-safe palette (black first for reference curves).
PALETTE: tuple[str, ...] = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442",
)

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
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 110,
    "font.size": 11,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "svg.fonttype": "path",
}


def use_book_style() -> None:
    """Apply the book's style to matplotlib, and SVG output when running under IPython."""
    mpl.rcParams.update(_RC)
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=PALETTE[1:] + PALETTE[:1])
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there in the book's environment
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")
