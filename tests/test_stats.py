"""Unit tests of kexue_lib.stats: standard errors, the k-standard-error check, power-law slopes."""

from __future__ import annotations

import numpy as np
import pytest

from kexue_lib.stats import assert_within_se, loglog_slope, mean_se


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


def test_mean_se_uses_the_unbiased_variance() -> None:
    x = np.array([1.0, 2.0, 3.0, 6.0])
    mean, se = mean_se(x)
    assert mean == pytest.approx(3.0)
    assert se == pytest.approx(np.sqrt(((x - 3.0) ** 2).sum() / 3) / 2, rel=1e-14)  # ddof = 1, √N = 2
    means, ses = mean_se(np.stack([x, 2 * x]), axis=1)
    np.testing.assert_allclose(means, [3.0, 6.0])
    np.testing.assert_allclose(ses, [se, 2 * se])


def test_mean_se_matches_the_scatter_of_repeated_runs() -> None:
    rng = np.random.default_rng(0)
    runs = rng.exponential(size=(4000, 50))     # 4000 repeats of a 50-sample mean; Var = 1
    means, ses = mean_se(runs, axis=1)
    # The spread of the means is 1/√50; the average standard error agrees to its own ~1 %.
    assert means.std(ddof=1) == pytest.approx(1 / np.sqrt(50), rel=0.04)
    assert ses.mean() == pytest.approx(1 / np.sqrt(50), rel=0.04)


@pytest.mark.parametrize(("samples", "message"), [([1.0], "at least 2"), (3.0, "scalar"),
                                                  ([1.0, np.inf], "finite")])
def test_mean_se_rejects_bad_input(samples, message) -> None:
    with pytest.raises(ValueError, match=message):
        mean_se(samples)


def test_assert_within_se() -> None:
    assert_within_se(1.03, 1.0, 0.01)                       # 3 s.e.: passes at k = 4
    with pytest.raises(AssertionError, match=r"P\(tie\): \|value − expected\| = 0.05 exceeds 4 standard"):
        assert_within_se(1.05, 1.0, 0.01, what="P(tie)")
    assert_within_se(0.5, 1.0, 0.01, side="below")          # far below a bound: fine
    with pytest.raises(AssertionError, match="value − expected"):
        assert_within_se(1.05, 1.0, 0.01, side="below")
    with pytest.raises(AssertionError, match="expected − value"):
        assert_within_se(0.95, 1.0, 0.01, side="above")
    with pytest.raises(AssertionError, match="at index \\(1,\\)"):
        assert_within_se([1.0, 2.0], [1.0, 1.0], [0.1, 0.1])
    with pytest.raises(ValueError, match="se must be finite"):
        assert_within_se(1.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="side must be one of"):
        assert_within_se(1.0, 1.0, 0.1, side="left")
