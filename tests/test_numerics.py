"""Unit tests of kexue_lib.numerics: the integer search."""

from __future__ import annotations

import math

import pytest

from kexue_lib.numerics import first_true


@pytest.mark.parametrize("target", [1, 2, 3, 17, 1000, 2**40 + 1])
def test_first_true_finds_the_threshold_exactly(target: int) -> None:
    calls = []

    def pred(n: int) -> bool:
        calls.append(n)
        return n >= target

    assert first_true(pred, 0) == target
    assert first_true(pred, 0, 2**41) == target
    assert len(calls) <= 4 * (math.log2(target + 1) + 2) + 45  # logarithmic in both forms


def test_first_true_rejects_a_bad_bracket() -> None:
    with pytest.raises(ValueError, match="false at lo"):
        first_true(lambda n: True, 0)
    with pytest.raises(ValueError, match="true at hi"):
        first_true(lambda n: n > 10, 0, 5)
    with pytest.raises(ValueError, match="hi must be >= 1"):
        first_true(lambda n: n > 10, 0, 0)
    with pytest.raises(ValueError, match="predicate must be a function"):
        first_true(3, 0)
