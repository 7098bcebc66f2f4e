"""Benchmarks for kexue_lib.minimax (run by benchmarks/run.py).

Rows:

* ``best_polynomial(exp, 20, -1, 1)`` at 30 digits (target: at most 2 s on two cores), with the
  number of exchanges and the working precision it needed (the error is 1.9e-26 beside values
  of order 1, so the solver carries about 70 digits);
* the odd quintic for ``f = 1`` on ``[1e-3, 1]`` (the Newton–Schulz problem), against the
  book's specialised four-point quintic solver ``polar.optimal_odd_quintic`` on the same
  interval, the baseline (once that function is rebuilt on ``best_polynomial`` the ratio
  measures only its wrapper);
* ``best_polynomial(exp, 5, -1, 1)`` at 30 digits against ``baryrat.brasil`` (float64, its
  default tolerance 1e-4) on the same problem, with both errors.
"""

from __future__ import annotations

import contextlib
import io

import baryrat
import mpmath
import numpy as np

from kexue_lib import minimax as mm
from kexue_lib import polar
from kexue_lib.book.benchmark import Row, best_time, row


def benchmarks() -> list[Row]:
    rows: list[Row] = []

    t_exp = best_time(lambda: mm.best_polynomial(mpmath.exp, 20, -1, 1), repeat=3)
    run = mm.remez(mpmath.exp, 20, -1, 1)
    rows.append(row("minimax best_polynomial exp, degree 20, [-1, 1], dps 30", t_exp, "s",
                    f"{run.iterations} exchanges at {run.dps} digits, error "
                    f"{mpmath.nstr(run.error, 6)}"))

    def quintic() -> mm.Minimax:
        return mm.best_polynomial(lambda x: 1, 5, 1e-3, 1, parity="odd")

    t_odd = best_time(quintic, repeat=3)
    t_base = best_time(lambda: polar.optimal_odd_quintic(1e-3, 1.0, dps=30), repeat=3)
    run = mm.remez(lambda x: 1, 5, 1e-3, 1, parity="odd")
    rows += [
        row("minimax best_polynomial odd degree 5, f = 1, [1e-3, 1], dps 30", t_odd, "s",
            f"{run.iterations} exchanges at {run.dps} digits, error {mpmath.nstr(run.error, 8)}"),
        row("minimax odd quintic / polar.optimal_odd_quintic time", t_odd / t_base, "x",
            f"{t_odd * 1e3:.1f} ms vs {t_base * 1e3:.1f} ms"),
    ]

    dense = np.linspace(-1, 1, 200_001)

    def brasil() -> object:
        with contextlib.redirect_stdout(io.StringIO()):
            return baryrat.brasil(np.exp, (-1, 1), (5, 0))

    t_ours = best_time(lambda: mm.best_polynomial(mpmath.exp, 5, -1, 1), repeat=3)
    t_bary = best_time(brasil, repeat=3)
    ours = mm.best_polynomial(mpmath.exp, 5, -1, 1)
    bary_err = float(np.max(np.abs(brasil()(dense) - np.exp(dense))))
    rows.append(row("minimax best_polynomial (dps 30) / baryrat.brasil (float64) time, exp deg 5",
                    t_ours / t_bary, "x",
                    f"{t_ours * 1e3:.0f} ms vs {t_bary * 1e3:.0f} ms; errors "
                    f"{float(ours.error):.10e} vs {bary_err:.10e}"))
    return rows
