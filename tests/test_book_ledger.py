"""Unit tests of kexue_lib.book.ledger: verdicts, their reasons, the rendered table and its record."""

from __future__ import annotations

import pytest

from kexue_lib.book.build import LEDGER_KEY
from kexue_lib.book.ledger import Ledger, badge, stated_tolerance


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
    assert ledger.counts() == {"verified": 1, "qualified": 0, "corrected": 1, "not checked": 0}


def test_ledger_rows_need_their_reasons() -> None:
    ledger = Ledger("9593")
    with pytest.raises(ValueError, match="must name the section"):
        ledger.verified("post (1)", "claim", section="")
    with pytest.raises(ValueError, match="must give the right value"):
        ledger.corrected("post (1)", "claim", section="s", book="")
    with pytest.raises(ValueError, match="must say in book what holds"):
        ledger.qualified("post (1)", "claim", section="s", book=" ")
    with pytest.raises(ValueError, match="must say why"):
        ledger.not_checked("post (1)", "claim", why=" ")
    with pytest.raises(ValueError, match="the ledger is empty"):
        ledger._repr_markdown_()


@pytest.mark.parametrize("item", ["(4)", "(4)–(7)", " (12b)"])
def test_a_bare_equation_number_is_refused(item: str) -> None:
    with pytest.raises(ValueError, match="write an equation of the post as 'post"):
        Ledger("11241").verified(item, "claim", section="s")


def test_ledger_renders_one_table_with_badges_and_references() -> None:
    ledger = Ledger("9593")
    ledger.verified("post (1)", "H ≤ log n", section="sec-bounds")
    ledger.qualified("post, §2", "the conclusion", section="sec-why", book="holds, for another reason")
    ledger.not_checked("post (2)", "a | b", why="outside the chapter")
    text = ledger._repr_markdown_()
    assert (f"| post (1) | H ≤ log n | {badge('verified')} | as stated | {{numref}}`§%s <sec-bounds>` |"
            in text)
    assert 'class="verdict verdict-not-checked">not checked</span>' in text
    assert "a \\| b" in text and "1 verified, 1 qualified, 0 corrected, 1 not checked" in text
    assert "✅" not in text  # no emoji: they render as empty boxes without an emoji font


def test_ledger_publishes_its_rows_in_the_output_metadata() -> None:
    ledger = Ledger("11494")
    ledger.corrected("post (16)", "constant 2", section="sec-tight", book="3/√2")
    data, metadata = ledger._repr_mimebundle_()
    assert data == {"text/markdown": ledger._repr_markdown_()}
    assert metadata[LEDGER_KEY] == {"post": "11494", "rows": [
        {"post": "11494", "item": "post (16)", "claim": "constant 2", "status": "corrected",
         "book": "3/√2", "section": "sec-tight"}]}


def test_repr_is_deterministic_even_when_empty() -> None:
    ledger = Ledger("11241")
    assert repr(ledger) == "Ledger of post 11241: 0 verified, 0 qualified, 0 corrected, 0 not checked"
    ledger.verified("post (1)", "claim", section="s")
    assert repr(ledger).endswith("1 verified, 0 qualified, 0 corrected, 0 not checked")
