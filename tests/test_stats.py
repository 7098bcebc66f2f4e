"""Unit tests of kexue_lib.stats."""

from __future__ import annotations

import numpy as np
import pytest

from kexue_lib.stats import loglog_slope


def test_loglog_slope_recovers_a_power_law() -> None:
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    assert loglog_slope(x, 3.0 * x**-0.5) == pytest.approx(-0.5, abs=1e-12)
    assert loglog_slope([1, 2, 4], [5, 20, 80]) == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1.0, 2.0], [1.0], "same shape"),
        ([1.0], [1.0], "at least 2 points"),
        ([1.0, -2.0], [1.0, 2.0], "must be positive"),
        ([1.0, 2.0], [1.0, np.nan], "finite"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
    ],
)
def test_loglog_slope_rejects_bad_input(x, y, message) -> None:
    with pytest.raises(ValueError, match=message):
        loglog_slope(x, y)
