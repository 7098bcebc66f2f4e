"""Unit tests of kexue_lib.book.display and kexue_lib.book.plotting."""

from __future__ import annotations

import io

import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from kexue_lib.book import display, plotting


def test_markdown_table_formats_columns_and_escapes() -> None:
    text = display.markdown_table(["$n$", "p", "note"], [[128, 0.0182391, "a | b"], [4096, None, "$x$"]],
                                  formats=["d", ".4f", None])
    assert text.splitlines() == [
        "| $n$ | p | note |",
        "|---:|---:|:---|",
        "| 128 | 0.0182 | a \\| b |",
        "| 4096 | — | $x$ |",
    ]


def test_table_renders_with_a_title() -> None:
    table = display.Table(["a"], [[1.5]], formats=[".1f"], title="Ratios")
    assert table._repr_markdown_() == "**Ratios**\n\n| a |\n|---:|\n| 1.5 |"
    assert repr(table) == table._repr_markdown_()  # text/plain without a memory address


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"headers": [], "rows": []}, "at least one column"),
     ({"headers": ["a", "b"], "rows": [[1]]}, "row 0 has 1 cells"),
     ({"headers": ["a"], "rows": [[1]], "formats": [".1f", "d"]}, "one entry per column"),
     ({"headers": ["a"], "rows": [[1]], "align": ["x"]}, "align must be one of")],
)
def test_markdown_table_rejects_bad_shapes(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        display.markdown_table(**kwargs)


def test_glue_values_become_python_numbers(monkeypatch) -> None:
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: glued.update({name: value}))
    display.glue({"a": np.float32(0.5), "b": mpmath.mpf("0.25"), "c": jnp.asarray(3), "d": np.int64(7),
                  "e": "text"})
    assert glued == {"a": 0.5, "b": 0.25, "c": 3, "d": 7, "e": "text"}
    assert all(type(v) in (int, float, str) for v in glued.values())
    with pytest.raises(ValueError, match="must be finite"):
        display.glue({"x": float("nan")})
    with pytest.raises(ValueError, match="without spaces"):
        display.glue({"a b": 1})
    with pytest.raises(ValueError, match="non-empty mapping"):
        display.glue({})
    with pytest.raises(ValueError, match="number or a string"):
        display.glue({"x": [1, 2]})


def _svg_of_a_new_figure() -> bytes:
    fig, axes = plotting.figure("wide", 1, 2)
    assert tuple(fig.get_size_inches()) == plotting.SIZES["wide"] and len(axes) == 2
    axes[0].plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata=plotting.SVG_METADATA)
    return buf.getvalue()


def test_figure_sizes_and_deterministic_svg() -> None:
    plotting.use_book_style()
    first, second = _svg_of_a_new_figure(), _svg_of_a_new_figure()   # as two builds would draw it
    assert first == second and b"<dc:date>" not in first
    with pytest.raises(ValueError, match="size must be one of"):
        plotting.figure("huge")
