"""Unit tests of the book's frame: argument checks, the ledger, chapter discovery and execution."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from kexue_lib import book, validate
from kexue_lib.ledger import Ledger, stated_tolerance

# --- validate -----------------------------------------------------------------------------


def test_integer_accepts_integers_and_numpy_integers() -> None:
    assert validate.integer("n", 5, minimum=1) == 5
    assert validate.integer("n", np.int64(7)) == 7


@pytest.mark.parametrize("bad", [2.0, "3", True, None])
def test_integer_rejects_non_integers(bad) -> None:
    with pytest.raises(ValueError, match="n must be an integer"):
        validate.integer("n", bad)


def test_integer_range() -> None:
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        validate.integer("n", 0, minimum=1)
    with pytest.raises(ValueError, match="n must be <= 3, got 4"):
        validate.integer("n", 4, maximum=3)


def test_real() -> None:
    assert validate.real("beta", mpmath.mpf("0.5"), positive=True) == 0.5
    with pytest.raises(ValueError, match="beta must be > 0"):
        validate.real("beta", 0.0, positive=True)
    with pytest.raises(ValueError, match="must be finite"):
        validate.real("beta", float("nan"))
    with pytest.raises(ValueError, match=">= 0"):
        validate.real("x", -1, nonnegative=True)
    with pytest.raises(ValueError, match="real number"):
        validate.real("x", "abc")


def test_choice() -> None:
    assert validate.choice("method", "svd", ("svd", "newton_schulz")) == "svd"
    with pytest.raises(ValueError, match="method must be one of 'svd', 'newton_schulz', got 'qr'"):
        validate.choice("method", "qr", ("svd", "newton_schulz"))


def test_array_checks_ndim_dtype_and_finiteness() -> None:
    x = validate.array("W", np.ones((2, 3), np.float32), ndim=2)
    assert isinstance(x, jax.Array) and x.shape == (2, 3)
    with pytest.raises(ValueError, match="W must be 2-D, got shape"):
        validate.array("W", np.ones(3, np.float32), ndim=2)
    with pytest.raises(ValueError, match="floating dtype"):
        validate.array("W", np.ones((2, 2), np.int32))
    with pytest.raises(ValueError, match="finite"):
        validate.array("W", np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="empty"):
        validate.array("W", np.zeros((0, 2)))


def test_array_works_under_jit_and_vmap() -> None:
    def total(x):
        return validate.array("x", x, ndim=1).sum()

    assert float(jax.jit(total)(jnp.arange(3.0))) == 3.0
    assert jax.vmap(total)(jnp.ones((4, 2))).shape == (4,)
    with pytest.raises(ValueError, match="x must be 1-D"):
        jax.jit(total)(jnp.ones((2, 2)))


def test_array_checks_concrete_constants_inside_a_traced_function() -> None:
    good, bad = jnp.ones(3), jnp.array([1.0, jnp.nan, 0.0])
    assert float(jax.jit(lambda s: s * validate.array("c", good).sum())(2.0)) == 6.0
    with pytest.raises(ValueError, match="c must have only finite entries"):
        jax.jit(lambda s: s * validate.array("c", bad).sum())(2.0)


def test_same_shape() -> None:
    validate.same_shape("W", jnp.ones((2, 3)), "G", jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="W and G must have the same shape"):
        validate.same_shape("W", jnp.ones((2, 3)), "G", jnp.ones((3, 2)))


def test_prng_key() -> None:
    validate.prng_key("key", jax.random.key(0))
    validate.prng_key("key", jax.random.PRNGKey(0))
    for bad in (0, np.zeros(2, np.uint32), jax.random.split(jax.random.key(0), 2)):
        with pytest.raises(ValueError, match="key must be a single JAX PRNG key"):
            validate.prng_key("key", bad)


# --- ledger -------------------------------------------------------------------------------


def test_stated_tolerance_is_one_unit_in_the_last_digit() -> None:
    assert stated_tolerance("3.63") == pytest.approx(0.01)
    assert stated_tolerance("0.4744746…") == pytest.approx(1e-7)
    assert stated_tolerance("2e-3") == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="number written as text"):
        stated_tolerance("about three")


def test_compare_decides_and_asserts_the_verdict() -> None:
    ledger = Ledger("11390")
    ok = ledger.compare("a", "x", stated="3.63", computed=3.6342, section="s", expect="verified")
    assert ok.status == "verified" and ok.book == "3.6342"
    fixed = ledger.compare("b", "y", stated="0.018", computed=0.0215, section="s", expect="corrected")
    assert fixed.status == "corrected"
    with pytest.raises(AssertionError, match="verdict is 'corrected', not 'verified'"):
        ledger.compare("c", "z", stated="1.5", computed=1.7, section="s", expect="verified")
    assert ledger.counts() == {"verified": 1, "corrected": 1, "not checked": 0}


def test_ledger_rows_need_their_reasons() -> None:
    ledger = Ledger("9593")
    with pytest.raises(ValueError, match="must name the section"):
        ledger.verified("(1)", "claim", section="")
    with pytest.raises(ValueError, match="must give the right value"):
        ledger.corrected("(1)", "claim", section="s", book="")
    with pytest.raises(ValueError, match="must say why"):
        ledger.not_checked("(1)", "claim", why=" ")
    with pytest.raises(ValueError, match="the ledger is empty"):
        ledger._repr_markdown_()


def test_ledger_renders_a_markdown_table_with_references() -> None:
    ledger = Ledger("9593")
    ledger.verified("(1)", "H ≤ log n", section="sec-bounds")
    ledger.not_checked("(2)", "a | b", why="outside the chapter")
    text = ledger._repr_markdown_()
    assert "| (1) | H ≤ log n | ✅ verified | as stated | {ref}`sec-bounds` |" in text
    assert "a \\| b" in text and "1 verified, 0 corrected, 1 not checked" in text


# --- book: discovery and execution --------------------------------------------------------

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
