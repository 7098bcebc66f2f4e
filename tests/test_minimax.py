"""Tests for kexue_lib.minimax: the Remez solver against closed forms and independent checks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import mpmath
import numpy as np
import pytest
import scipy.optimize
import sympy as sp

from kexue_lib import minimax as mm

DPS = 50  # precision of the reference values computed here


def _close(x: object, y: object, tol: float) -> bool:
    with mpmath.workdps(DPS):
        return abs(mpmath.mpf(x) - mpmath.mpf(y)) <= tol


def _recorded(f: Callable) -> tuple[Callable, list]:
    """``f`` wrapped to record every point it is called at, and the list of those points."""
    calls: list = []

    def wrapped(x: mpmath.mpf) -> mpmath.mpf:
        calls.append(x)
        return f(x)

    return wrapped, calls


def _error_at(f: object, coefficients: tuple, x: object) -> mpmath.mpf:
    with mpmath.workdps(DPS):
        return mm.evaluate(coefficients, x) - mpmath.mpf(f(mpmath.mpf(x)))


def _dense_max(f: object, coefficients: tuple, a: object, b: object, n: int = 4000) -> mpmath.mpf:
    with mpmath.workdps(DPS):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        return max(abs(_error_at(f, coefficients, a + (b - a) * k / n)) for k in range(n + 1))


@pytest.mark.parametrize("n", [1, 3, 6, 10])
def test_monomial_minus_scaled_chebyshev(n: int) -> None:
    """The best degree-n approximation of x^(n+1) on [-1, 1] is x^(n+1) - T_{n+1}/2^n."""
    x = sp.symbols("x")
    exact = sp.Poly(x ** (n + 1) - sp.chebyshevt(n + 1, x) / 2**n, x).all_coeffs()[::-1]
    exact += [0] * (n + 1 - len(exact))
    result = mm.best_polynomial(lambda t: t ** (n + 1), n, -1, 1)
    assert len(result.coefficients) == n + 1
    for got, want in zip(result.coefficients, exact, strict=True):
        assert _close(got, sp.Rational(want).p / mpmath.mpf(sp.Rational(want).q), 1e-26)
    assert _close(result.error, mpmath.mpf(2) ** -n, 1e-26 * 2.0**-n)
    # alternation points: the n + 2 extrema cos(kπ/(n+1)) of T_{n+1}, increasing
    with mpmath.workdps(DPS):
        want_points = sorted(mpmath.cospi(mpmath.mpf(k) / (n + 1)) for k in range(n + 2))
    assert len(result.points) == n + 2
    for got, want in zip(result.points, want_points, strict=True):
        assert _close(got, want, 1e-12)


@pytest.mark.parametrize(
    ("g", "dg_inverse", "a", "b"),
    [
        (mpmath.exp, mpmath.log, 0, 1),
        (lambda t: 1 / t, lambda m: 1 / mpmath.sqrt(-m), 1, 3),
        (lambda t: t**4, lambda m: mpmath.cbrt(m / 4), "0.5", 2),
    ],
)
def test_best_line_of_a_convex_function(g: object, dg_inverse: object, a: object, b: object) -> None:
    """Convex g: slope m = (g(b) - g(a))/(b - a), tangency at g'(ξ) = m, error half the gap."""
    with mpmath.workdps(DPS):
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        m = (g(hi) - g(lo)) / (hi - lo)
        xi = dg_inverse(m)
        c = (g(lo) + g(xi) - m * (lo + xi)) / 2
        e = g(lo) - (m * lo + c)
    result = mm.best_polynomial(g, 1, a, b)
    assert _close(result.coefficients[1], m, 1e-26)
    assert _close(result.coefficients[0], c, 1e-26)
    assert _close(result.error, e, 1e-26 * e)
    assert _close(result.points[0], lo, 0) and _close(result.points[2], hi, 0)
    assert _close(result.points[1], xi, 1e-12)


def test_best_constant_is_the_midrange() -> None:
    result = mm.best_polynomial(mpmath.exp, 0, 0, 1)
    with mpmath.workdps(DPS):
        assert _close(result.coefficients[0], (mpmath.e + 1) / 2, 1e-27)
        assert _close(result.error, (mpmath.e - 1) / 2, 1e-27)
    assert [float(p) for p in result.points] == [0.0, 1.0]


@pytest.mark.parametrize("ell", ["1e-3", "0.1", "0.9"])
def test_odd_line_and_cubic_for_one_have_closed_forms(ell: str) -> None:
    """Odd fits of f = 1 on [ℓ, 1]: c·x with c = 2/(1+ℓ), and a·x + b·x³ solved by hand.

    Cubic: p(ℓ) = p(1) gives a = −b(1+ℓ+ℓ²); p'(q) = 0 gives q² = (1+ℓ+ℓ²)/3; p(q) + p(1) = 2
    gives a (2q/3 + 1 − 1/(1+ℓ+ℓ²)) = 2, and E = 1 − p(1).
    """
    with mpmath.workdps(DPS):
        lo = mpmath.mpf(ell)
        s = 1 + lo + lo**2
        q = mpmath.sqrt(s / 3)
        a = 2 / (2 * q / 3 + 1 - 1 / s)
        b = -a / s
        cubic_error = 1 - (a + b)
        c_line, e_line = 2 / (1 + lo), (1 - lo) / (1 + lo)
    line = mm.best_polynomial(lambda x: 1, 1, ell, 1, parity="odd")
    assert _close(line.coefficients[1], c_line, 1e-26)
    assert _close(line.error, e_line, 1e-26)
    cubic = mm.best_polynomial(lambda x: 1, 3, ell, 1, parity="odd")
    assert cubic.coefficients[0] == 0 and cubic.coefficients[2] == 0
    assert _close(cubic.coefficients[1], a, 1e-25 * abs(a))
    assert _close(cubic.coefficients[3], b, 1e-25 * abs(b))
    assert _close(cubic.error, cubic_error, 1e-26)
    assert _close(cubic.points[0], lo, 1e-40) and _close(cubic.points[2], 1, 0)
    assert _close(cubic.points[1], q, 1e-12)


@pytest.mark.parametrize(("degree", "ell"), [(5, "1e-3"), (9, "1e-3"), (5, "0.02"), (7, "0.99")])
def test_odd_fit_of_one_satisfies_the_equioscillation_theorem(degree: int, ell: str) -> None:
    """An independent certificate of optimality (the theorem's sufficiency) for f = 1, odd p.

    Alternation: p − 1 = ±E with alternating signs at (degree+1)/2 + 1 points, the ends ℓ and
    1 among them and the interior ones critical points of p; and |p − 1| ≤ E on a dense grid.
    """
    result = mm.best_polynomial(lambda x: 1, degree, ell, 1, parity="odd")
    count = (degree + 1) // 2 + 1
    assert len(result.points) == count
    assert all(result.coefficients[k] == 0 for k in range(0, degree + 1, 2))
    with mpmath.workdps(DPS):
        errors = [_error_at(lambda x: 1, result.coefficients, x) for x in result.points]
        for k, e in enumerate(errors):
            assert abs(abs(e) - result.error) <= 1e-25 * result.error
            assert (e > 0) == ((errors[0] > 0) == (k % 2 == 0))
        derivative = [k * c for k, c in enumerate(result.coefficients)][1:]
        for x in result.points[1:-1]:
            assert abs(mm.evaluate(derivative, x)) < 1e-10 * max(map(abs, derivative))
    assert _close(result.points[0], ell, 1e-40) and _close(result.points[-1], 1, 0)
    assert _dense_max(lambda x: 1, result.coefficients, ell, 1) <= result.error * (1 + 1e-25)


@pytest.mark.parametrize(("degree", "parity"), [(6, "odd"), (5, "even")])
def test_coefficients_run_to_the_degree_asked_for(degree: int, parity: str) -> None:
    """degree + 1 coefficients whatever the parity: an odd fit of even degree ends in a zero."""
    fit = mm.best_polynomial(mpmath.exp, degree, "0.5", 2, parity=parity)
    lower = mm.best_polynomial(mpmath.exp, degree - 1, "0.5", 2, parity=parity)
    assert len(fit.coefficients) == degree + 1 and fit.coefficients[-1] == 0
    assert fit.coefficients[:-1] == lower.coefficients and fit.error == lower.error


def test_odd_function_full_basis_equals_odd_basis_on_half() -> None:
    """sin is odd: its best degree-7 fit on [−1, 1] is odd and is the odd fit on [0, 1]."""
    full = mm.best_polynomial(mpmath.sin, 7, -1, 1)
    half = mm.best_polynomial(mpmath.sin, 7, 0, 1, parity="odd")
    for c_full, c_half in zip(full.coefficients, half.coefficients, strict=True):
        assert _close(c_full, c_half, 1e-24)
    assert _close(full.error, half.error, 1e-24 * half.error)
    assert len(full.points) == 9 and len(half.points) == 5


@pytest.mark.parametrize("parity", [None, "even"])
def test_best_quadratic_for_abs_is_x2_plus_one_eighth(parity: str | None) -> None:
    a = -1 if parity is None else 0
    result = mm.best_polynomial(abs, 2, a, 1, parity=parity)
    for got, want in zip(result.coefficients, (mpmath.mpf(1) / 8, 0, 1), strict=True):
        assert _close(got, want, 1e-26)
    assert _close(result.error, mpmath.mpf(1) / 8, 1e-27)


def test_even_function_same_error_at_even_degree_and_next() -> None:
    """Runge's function is even: E_12 = E_13, and the symmetric start (levelled error 0) recovers."""
    runge = lambda x: 1 / (1 + 25 * x**2)  # noqa: E731
    e12 = mm.best_polynomial(runge, 12, -1, 1)
    e13 = mm.best_polynomial(runge, 13, -1, 1)
    assert _close(e12.error, e13.error, 1e-25 * e13.error)
    assert len(e12.points) == 14 and len(e13.points) == 15
    assert _dense_max(runge, e12.coefficients, -1, 1, 2000) <= e12.error * (1 + 1e-25)


def test_abs_full_basis_matches_even_basis() -> None:
    """|x| on [−1, 1] (a corner inside the interval) and on [0, 1] with even powers agree."""
    full = mm.best_polynomial(abs, 8, -1, 1)
    even = mm.best_polynomial(abs, 8, 0, 1, parity="even")
    assert _close(full.error, even.error, 1e-24 * even.error)
    for c_full, c_even in zip(full.coefficients, even.coefficients, strict=True):
        assert _close(c_full, c_even, 1e-20)


def test_power_family_t3_r1_equioscillates_at_n_plus_2_points() -> None:
    """x·q(x³), deg q ≤ 2, against cos on [0.1, 2]: 4 alternating points, and nothing larger."""
    run = mm.remez_family(mpmath.cos, 2, "0.1", 2, t=3, r=1)
    assert len(run.coefficients) == 8
    assert [k for k, c in enumerate(run.coefficients) if c != 0] == [1, 4, 7]
    assert len(run.points) == 4
    errors = [_error_at(mpmath.cos, run.coefficients, x) for x in run.points]
    assert all(e0 * e1 < 0 for e0, e1 in itertools.pairwise(errors))
    with mpmath.workdps(DPS):
        assert all(abs(abs(e) - run.error) <= 1e-25 * run.error for e in errors)
    assert _dense_max(mpmath.cos, run.coefficients, "0.1", 2) <= run.error * (1 + 1e-25)


def test_power_family_contains_the_parity_bases() -> None:
    odd = mm.remez_family(mpmath.exp, 2, "0.5", 2, t=2, r=1)
    assert odd[:3] == mm.remez(mpmath.exp, 5, "0.5", 2, parity="odd")[:3]
    full = mm.remez_family(mpmath.exp, 3, -1, 1, t=1, r=0)
    assert full[:3] == mm.remez(mpmath.exp, 3, -1, 1)[:3]
    with pytest.raises(ValueError, match=r"^t must be >= 1"):
        mm.remez_family(mpmath.exp, 2, 1, 2, t=0, r=1)
    with pytest.raises(ValueError, match="inside"):
        mm.remez_family(mpmath.exp, 2, -1, 2, t=2, r=0)
    with pytest.raises(ValueError, match=r"^r must be >= 0"):
        mm.remez_family(mpmath.exp, 2, 1, 2, t=1, r=-1)
    with pytest.raises(ValueError, match=r"^n must be >= 0"):
        mm.remez_family(mpmath.exp, -1, 1, 2, t=1, r=0)


def test_polynomial_in_the_span_is_reproduced() -> None:
    result = mm.best_polynomial(lambda x: x**2 - 3 * x, 4, -1, 2)
    for got, want in zip(result.coefficients, (0, -3, 1, 0, 0), strict=True):
        assert _close(got, want, 1e-40)
    assert result.error < mpmath.mpf(10) ** -40


def test_an_even_function_restarts_from_an_asymmetric_reference() -> None:
    """The best constant for x² on [−1, 1] is 1/2: on the symmetric start {−1, 1} the levelled
    error is 0 and the error x² − c has one extremum too few, so the iteration starts again from
    the shifted reference and then alternates at 0 and an end."""
    run = mm.remez(lambda x: x**2, 0, -1, 1)
    assert run.iterations == 2 and len(run.history) == 2 and run.history[0][0] < 1e-30
    assert _close(run.coefficients[0], 0.5, 1e-28) and _close(run.error, 0.5, 1e-28)
    assert sorted(abs(x) for x in run.points) == [0, 1]  # 0 and one end (here −1)


def test_error_to_the_stated_precision_far_below_the_coefficients() -> None:
    """exp, degree 10 on [−1, 1]: E ≈ 1.1e-11 against coefficients of order 1; the dps = 30
    answer's error and bracket agree with a dps = 60 run to 10^(5 − 30) relative."""
    run, reference = mm.remez(mpmath.exp, 10, -1, 1), mm.remez(mpmath.exp, 10, -1, 1, dps=60)
    assert 1e-12 < reference.error < 1e-10
    for value in (run.error, run.lower):
        assert abs(value - reference.error) <= 1e-25 * reference.error


def test_tiny_error_raises_the_working_precision() -> None:
    """exp, degree 14: E ≈ 1.7e-17, below 10^-dps at dps = 15; still 10 digits of E."""
    run = mm.remez(mpmath.exp, 14, -1, 1, dps=15)
    reference = mm.remez(mpmath.exp, 14, -1, 1, dps=30)
    assert run.dps > 15 + 17
    assert _close(run.error, reference.error, 1e-10 * reference.error)
    assert reference.error < 1e-16


def test_chebyshev_reference_is_the_extrema_mapped_to_the_interval() -> None:
    """x_i = (a+b)/2 − (b−a)/2 · cos(iπ/(m−1)), ends exact; shifted: the first m of m + 1."""
    with mpmath.workdps(DPS):
        a, b = mpmath.mpf(1), mpmath.mpf(3)
        for count, shifted in ((5, False), (4, True), (2, False), (1, True)):
            total = count + shifted
            want = [2 - mpmath.cos(i * mpmath.pi / (total - 1)) for i in range(count)]
            got = mm._chebyshev_reference(a, b, count, shifted=shifted)
            assert len(got) == count and got[0] == a
            assert all(abs(g - w) < 1e-45 for g, w in zip(got, want, strict=True))
        assert mm._chebyshev_reference(a, b, 1) == [2]  # a single point: the midpoint
        assert mm._chebyshev_reference(a, b, 3)[-1] == b


@pytest.mark.parametrize("n", [1, 3, 6, 10])
def test_chebyshev_start_is_exact_for_a_scaled_chebyshev_error(n: int) -> None:
    """On [a, b] = [1, 3], f = u^(n+1) with u = x − 2: the first reference (the mapped Chebyshev
    extrema) is already the alternation set, so one exchange closes the bracket at 2^−n.

    The working precision: dps + 10 guard digits + the digits that p − f cancels on that
    reference, ⌈log₁₀(size/2^−n)⌉ with size the largest Σ|c_k x^k| or |f|, plus 2.
    """
    x = sp.symbols("x")
    poly = sp.Poly(sp.expand((x - 2) ** (n + 1) - sp.chebyshevt(n + 1, x - 2) / 2**n), x)
    coefficients = [sp.Rational(c) for c in poly.all_coeffs()[::-1]]
    coefficients += [sp.Rational(0)] * (n + 1 - len(coefficients))
    run = mm.remez(lambda t: (t - 2) ** (n + 1), n, 1, 3)
    assert run.iterations == 1 and len(run.history) == 1
    assert _close(run.history[0][0], mpmath.mpf(2) ** -n, 1e-30 * 2.0**-n)
    for got, want in zip(run.coefficients, coefficients, strict=True):
        assert _close(got, mpmath.mpf(want.p) / want.q, 1e-24)
    with mpmath.workdps(DPS):
        ref = [2 - mpmath.cospi(mpmath.mpf(i) / (n + 1)) for i in range(n + 2)]
        size = max(max(sum(abs(mpmath.mpf(c.p) / c.q) * r**k for k, c in enumerate(coefficients))
                       for r in ref), max(abs(r - 2) ** (n + 1) for r in ref))
        digits = math.ceil(mpmath.log10(size * 2**n))
    assert digits >= 1 and run.dps == 30 + 10 + digits + 2


def test_working_precision_doubles_for_a_function_in_the_span() -> None:
    """h at rounding level: the precision doubles, 40 → 80 → 160 = 4·(dps + 10), then stops; the
    answer's record is that of the one iteration, on the starting (Chebyshev) reference."""
    run = mm.remez(lambda x: x**2 - 3 * x, 4, -1, 2)
    assert run.dps == 160 and run.iterations == 1
    with mpmath.workdps(DPS):
        start = mm._chebyshev_reference(mpmath.mpf(-1), mpmath.mpf(2), 6)
    assert len(run.points) == 6 and all(_close(x, y, 1e-38) for x, y in zip(run.points, start, strict=True))
    assert run.lower < mpmath.mpf(10) ** -100 and run.history == ((run.lower, run.error),)
    assert mm.remez(lambda x: x**2 - 3 * x, 4, -1, 2, dps=20).dps == 120


def test_best_polynomial_passes_dps_on() -> None:
    """The best line of exp on [0, 1] at dps = 45: to 1e-41, beyond what dps = 30 resolves."""
    with mpmath.workdps(60):
        m = mpmath.e - 1
        c = (1 + m - m * mpmath.log(m)) / 2
        e = 1 - c
    line = mm.best_polynomial(mpmath.exp, 1, 0, 1, dps=45)
    with mpmath.workdps(60):
        assert abs(line.coefficients[1] - m) < 1e-41 and abs(line.coefficients[0] - c) < 1e-41
        assert abs(line.error - e) < 1e-41 * e
    assert not _close(mm.best_polynomial(mpmath.exp, 1, 0, 1).error, e, 1e-41 * e)


def test_defaults_are_the_documented_ones() -> None:
    """dps = 30 (and tol = 10^(5 − dps)) by default, in every entry point: the same answer as
    with the values passed, a different one at dps = 31."""
    args = (mpmath.cos, 3, 0, 2)
    assert mm.best_polynomial(*args) == mm.best_polynomial(*args, parity=None, dps=30)
    assert mm.best_polynomial(*args) != mm.best_polynomial(*args, dps=31)
    assert mm.remez(*args) == mm.remez(*args, parity=None, dps=30, tol=1e-25, max_iterations=60)
    assert mm.remez(*args) != mm.remez(*args, dps=31)
    family = mm.remez_family(mpmath.cos, 3, 0, 2, t=1, r=0)
    assert family == mm.remez(*args)
    assert family == mm.remez_family(mpmath.cos, 3, 0, 2, t=1, r=0, dps=30, tol=1e-25, max_iterations=60)
    assert family != mm.remez_family(mpmath.cos, 3, 0, 2, t=1, r=0, dps=31)


def test_remez_record() -> None:
    run = mm.remez(mpmath.exp, 6, -1, 1)
    levels = [h for h, _ in run.history]
    assert all(h0 <= h1 for h0, h1 in itertools.pairwise(levels))  # monotone
    assert all(h <= upper for h, upper in run.history)  # de la Vallée Poussin
    assert run.lower <= run.error and run.error - run.lower <= mpmath.mpf(10) ** -25 * run.error
    assert run.iterations == len(run.history) >= 2
    assert mm.best_polynomial(mpmath.exp, 6, -1, 1) == run[:3]


def test_convergence_error_states_the_bracket() -> None:
    """After one exchange the bracket is the first (levelled error, max error) of the history."""
    h, upper = mm.remez(mpmath.exp, 8, -1, 1).history[0]
    message = (f"no convergence in 1 exchanges: the best error is bracketed by [{mpmath.nstr(h, 8)}, "
               f"{mpmath.nstr(upper, 8)}], relative width {mpmath.nstr((upper - h) / upper, 3)} > "
               "tol = 1.0e-25")
    with pytest.raises(mm.ConvergenceError) as caught:
        mm.remez(mpmath.exp, 8, -1, 1, max_iterations=1)
    assert str(caught.value) == message


def test_convergence_error_when_iterations_run_out() -> None:
    # the message states the default tolerance, 10^(5 − dps) = 1e-25 at dps = 30
    with pytest.raises(mm.ConvergenceError, match=r"no convergence in 1 exchanges: .* tol = 1.0e-25"):
        mm.remez(mpmath.exp, 8, -1, 1, max_iterations=1)
    with pytest.raises(mm.ConvergenceError, match=r"tol = 1.0e-15"):
        mm.remez(mpmath.exp, 8, -1, 1, max_iterations=1, dps=20)
    with pytest.raises(mm.ConvergenceError, match=r"tol = 0.001"):
        mm.remez(mpmath.exp, 8, -1, 1, max_iterations=1, tol=1e-3)
    with pytest.raises(mm.ConvergenceError, match=r"no convergence in 1 exchanges: .* tol = 0.001"):
        mm.remez_family(mpmath.exp, 8, -1, 1, t=1, r=0, max_iterations=1, tol=1e-3)
    with pytest.raises(mm.ConvergenceError, match=r"tol = 1.0e-15"):
        mm.remez_family(mpmath.exp, 8, -1, 1, t=1, r=0, max_iterations=1, dps=20)


@pytest.mark.parametrize("family", [False, True])
def test_remez_stops_after_max_iterations_when_the_bracket_never_closes(monkeypatch, family: bool) -> None:
    """With an exchange that keeps the first reference, the default cap of 60 is reached."""
    real, first = mm._exchange, []

    def keep(extrema: list, count: int, threshold: object) -> list:
        if not first:
            first.extend(real(extrema, count, threshold))
        return list(first)

    monkeypatch.setattr(mm, "_exchange", keep)
    with pytest.raises(mm.ConvergenceError, match="no convergence in 60 exchanges"):
        if family:
            mm.remez_family(mpmath.exp, 1, 0, 1, t=1, r=0)
        else:
            mm.remez(mpmath.exp, 1, 0, 1)


@pytest.mark.parametrize(("fall", "match"), [("3e-28", "the levelled error fell"),
                                             ("0.5e-28", "no convergence in 60 exchanges")])
def test_levelled_error_may_wobble_at_rounding_level_only(monkeypatch, fall: str, match: str) -> None:
    """A fall of h between exchanges is tolerated up to 10^(2 − dps) relative (1e-28 at dps 30).

    The exchange is held at its first reference and h, at the final working precision, is made
    to fall by ``fall`` (relative) at each exchange: above the tolerance the guard raises, below
    it the iteration runs on to the cap. The message names the last two levelled errors.
    """
    real_exchange, real_solve, first, seen, levels = mm._exchange, mm._solve, [], [], []

    def keep(extrema: list, count: int, threshold: object) -> list:
        if not first:
            first.extend(real_exchange(extrema, count, threshold))
        return list(first)

    def falling(basis: tuple, ref: list, fx: list) -> tuple:
        coef, h = real_solve(basis, ref, fx)
        times = seen.count(mpmath.mp.dps)
        seen.append(mpmath.mp.dps)
        levels.append(abs(h) * (1 - mpmath.mpf(fall)) ** times)
        return coef, h * (1 - mpmath.mpf(fall)) ** times

    monkeypatch.setattr(mm, "_exchange", keep)
    monkeypatch.setattr(mm, "_solve", falling)
    with pytest.raises(mm.ConvergenceError, match=match) as caught:
        mm.remez(mpmath.exp, 1, 0, 1)
    if match == "the levelled error fell":
        assert f"fell from {mpmath.nstr(levels[-2], 8)} to {mpmath.nstr(levels[-1], 8)};" in str(caught.value)


def test_remez_refuses_an_exchange_that_loses_the_alternation(monkeypatch) -> None:
    real, calls = mm._exchange, []

    def worse(extrema: list, count: int, threshold: object) -> list:
        new = real(extrema, count, threshold)
        calls.append(1)
        if len(calls) == 1:
            return new
        # every reference point moved halfway to the next: the levelled error falls
        return [e._replace(x=(e.x + nxt.x) / 2) for e, nxt in itertools.pairwise(new)] + new[-1:]

    monkeypatch.setattr(mm, "_exchange", worse)
    with pytest.raises(mm.ConvergenceError, match=r"the levelled error fell from .* lost the alternation "
                       r"\(is f continuous on \[a, b\]\?\)$"):
        mm.remez(mpmath.exp, 3, -1, 1)

    def too_few(extrema: list, count: int, threshold: object) -> list:
        return real(extrema, count, threshold)[:-1]

    monkeypatch.setattr(mm, "_exchange", too_few)
    with pytest.raises(mm.ConvergenceError, match=r"only 4 alternating extrema .* 5 are needed "
                       r"\(is f continuous on \[a, b\]\?\)$"):
        mm.remez(mpmath.exp, 3, -1, 1)


def test_exchange_keeps_the_largest_of_each_run_and_the_global_maximum() -> None:
    def ext(*values: float) -> list:
        return [mm.Extremum(mpmath.mpf(k), mpmath.mpf(v), 1 if v > 0 else -1)
                for k, v in enumerate(values)]

    # runs (+1, +3), (−2), (+1), (−5), (+0.5); the threshold 0.6 drops the 0.5
    kept = mm._exchange(ext(1, 3, -2, 1, -5, 0.5), 4, mpmath.mpf("0.6"))
    assert [float(e.value) for e in kept] == [3, -2, 1, -5]
    # too many: drop the smaller end, one at a time, never the global maximum
    kept = mm._exchange(ext(1, -4, 2, -1, 3, -9), 3, mpmath.mpf(0))
    assert [float(e.value) for e in kept] == [-1, 3, -9]
    kept = mm._exchange(ext(9, -1, 2, -1, 1, -2), 5, mpmath.mpf(1))
    assert [float(e.value) for e in kept] == [9, -1, 2, -1, 1]
    # a value exactly at the threshold is kept
    kept = mm._exchange(ext(2, -1, 2), 3, mpmath.mpf(1))
    assert [float(e.value) for e in kept] == [2, -1, 2]
    # within a run, the first of equal values stays; between equal ends, the last one goes
    assert [int(e.x) for e in mm._exchange(ext(2, 2, -1, 1), 3, mpmath.mpf(0))] == [0, 2, 3]
    assert [float(e.value) for e in mm._exchange(ext(3, -1, 2, -3), 3, mpmath.mpf(0))] == [3, -1, 2]
    # the ends compared are the first and the last
    assert [float(e.value) for e in mm._exchange(ext(1, -9, 2, -3), 3, mpmath.mpf(0))] == [-9, 2, -3]


def test_brent_maximiser_steps() -> None:
    """Brent's method (as in scipy's fminbound) from the bracket (0, 0.25, 1), rel = 1e-15.

    Its first step is the vertex of the parabola through the three points; on a parabola that
    is the maximum c, and the rest is textbook: a golden-section step (the last step was not
    a parabolic one), c + 0.381966·(1 − c), then the two probes c ± tol1 with
    tol1 = rel·(|c| + 1), and it stops. On a cosine peak: superlinear, 8 evaluations to 1e-15.
    """
    golden = (3 - mpmath.sqrt(5)) / 2
    with mpmath.workdps(40):
        c, rel = mpmath.mpf("0.3"), mpmath.mpf(10) ** -15
        lo, x0, hi = mpmath.mpf(0), mpmath.mpf("0.25"), mpmath.mpf(1)
        for peak, count in ((lambda x: 1 - 3 * (x - c) ** 2, 4), (lambda x: mpmath.cos(x - c), 8)):
            g, calls = _recorded(peak)
            gl, g0, gh = peak(lo), peak(x0), peak(hi)
            vertex = x0 - ((x0 - lo) ** 2 * (g0 - gh) - (x0 - hi) ** 2 * (g0 - gl)) / (
                2 * ((x0 - lo) * (g0 - gh) - (x0 - hi) * (g0 - gl)))
            x, gx = mm._brent_max(g, (lo, x0, hi), (gl, g0, gh), rel, mpmath.mpf(1))
            assert abs(calls[0] - vertex) < 1e-38
            assert abs(calls[1] - (vertex + golden * (hi - vertex))) < 1e-38
            assert len(calls) == count and abs(x - c) <= 2 * rel * (abs(x) + 1) and gx == peak(x)
            if count == 4:  # the parabola: c found at once, then confirmed by c ± tol1
                tol1 = rel * (c + 1)
                assert abs(calls[2] - (c + tol1)) < 1e-38 and abs(calls[3] - (c - tol1)) < 1e-38


def test_brent_maximiser_path_lengths() -> None:
    """Brent's path, pinned by its length: the evaluations it takes on seven peaks, from up to
    seven seeded brackets each (some seeded at an end, one wider than 1), at rel = 1e-15 and 1e-8 (scale 2).

    There is no independent count to compare with (scipy's fminbound starts from a golden
    section, not from a seeded parabola), so the counts are this implementation's own. They
    fail any change to which parabolic steps are accepted, which old points are kept or when it
    stops, changes that leave the answer within tolerance and so pass every other test
    (mutation testing found 15). Each answer is checked against the peak's closed-form
    maximiser c to the stated 2·rel·(|x| + scale).
    """
    brackets = (("0", "0.25", "1"), ("-1", "0.2", "1"), ("-0.5", "0.3", "0.5"), ("0.1", "0.35", "0.4"),
                ("-0.3", "0.28", "0.3"), ("0.2", "0.5", "0.5"), ("0.3", "0.3", "0.6"), ("-1", "-1", "1"),
                ("0.1", "0.1", "0.4"), ("-1", "-0.9", "3"))
    mp = mpmath.mpf
    peaks = (  # (peak, c, {bracket: (evaluations at rel 1e-15, at rel 1e-8)})
        (lambda x: 1 - 3 * (x - mp("0.3")) ** 2, mp("0.3"),
         {0: (4, 4), 1: (4, 4), 2: (3, 3), 3: (4, 4), 9: (4, 4)}),
        (lambda x: mpmath.cos(x - mp("0.3")), mp("0.3"),
         {0: (8, 7), 1: (9, 7), 2: (6, 5), 3: (7, 6), 9: (10, 8)}),
        (lambda x: -(x - mp("0.37")) ** 2 + (x - mp("0.37")) ** 3 - 5 * (x - mp("0.37")) ** 4, mp("0.37"),
         {0: (12, 9), 1: (12, 10), 2: (11, 9), 3: (10, 8), 5: (11, 8), 6: (12, 10)}),
        (lambda x: (x + 1) * mpmath.exp(-3 * (x + 1)), mp(-2) / 3, {1: (15, 13), 9: (14, 12)}),
        (lambda x: mpmath.sinc(7 * (x - mp("0.11"))), mp("0.11"),
         {1: (10, 9), 2: (10, 8), 4: (9, 8), 7: (12, 11), 8: (9, 8)}),
        (lambda x: -abs(x - mp("0.2")), mp("0.2"), {0: (42, 20), 1: (35, 19), 2: (50, 26), 4: (43, 22)}),
        (lambda x: -(x - mp("0.41")) ** 4, mp("0.41"), {0: (43, 35), 1: (22, 17), 5: (15, 11), 6: (36, 30)}),
    )
    with mpmath.workdps(40):
        for peak, c, counts in peaks:
            for k, expected in counts.items():
                lo, x0, hi = map(mp, brackets[k])
                for rel, count in zip((mp(10) ** -15, mp(10) ** -8), expected, strict=True):
                    g, calls = _recorded(peak)
                    x, gx = mm._brent_max(g, (lo, x0, hi), (peak(lo), peak(x0), peak(hi)), rel, mp(2))
                    assert (len(calls), gx) == (count, peak(x)), (brackets[k], rel)
                    assert abs(x - c) <= 2 * rel * (abs(x) + 2) and all(lo < u < hi for u in calls)


def test_refine_at_corners_and_at_the_ends() -> None:
    """_refine: a corner peak to vtol in value (the chords' bound), from a coarse Brent (rel =
    1e-8); a maximum at an end of the interval, where g falls inwards, taken as it is after one
    probe at rel·width inside; an end where g rises inwards refined like any other peak."""
    with mpmath.workdps(40):
        ends, rel, vtol = (mpmath.mpf(-1), mpmath.mpf(1)), mpmath.mpf(10) ** -8, mpmath.mpf(10) ** -22
        c = mpmath.mpf("0.1234567")
        for right_slope, left_slope in ((3, 1), (1, 20)):
            def corner(x: mpmath.mpf, r: int = right_slope, s: int = left_slope) -> mpmath.mpf:
                return -(r * (x - c) if x > c else s * (c - x))

            lo, x0, hi = mpmath.mpf("0.1"), mpmath.mpf("0.12"), mpmath.mpf("0.15")
            x, gx = mm._refine(corner, lo, x0, hi, (corner(lo), corner(x0), corner(hi)), vtol, rel, ends)
            assert -vtol <= gx <= 0 and gx == corner(x)
        for end, slope in ((ends[0], -1), (ends[1], 1)):
            line, calls = _recorded(lambda x, slope=slope: slope * x)
            inner = end - slope * mpmath.mpf("0.1")
            x, gx = mm._refine(line, min(end, inner), end, max(end, inner),
                               (line(min(end, inner)), line(end), line(max(end, inner))), vtol, rel, ends)
            assert (x, gx) == (end, 1) and calls[3:] == [end - slope * 2 * rel]
        peak = ends[0] + mpmath.mpf("1e-3")  # the grid's maximum at the end, the peak just inside

        def bump(x: mpmath.mpf) -> mpmath.mpf:
            return -((x - peak) ** 2)

        lo, hi = ends[0], ends[0] + mpmath.mpf("0.1")
        x, gx = mm._refine(bump, lo, lo, hi, (bump(lo), bump(lo), bump(hi)), vtol, rel, ends)
        assert abs(x - peak) < 1e-7 and gx >= -1e-14


def test_refine_walks_to_a_better_neighbour() -> None:
    """After Brent's method, _refine probes x ∓ δ, δ = 2·rel·(|x| + scale), and walks to the
    higher neighbour while there is one. Brent's final bracket lies within δ of x, so on a
    unimodal g nothing is higher; rounding noise on a flat peak makes the walk happen (the
    equioscillation chapter hits it once). Here g is a parabola with a shelf on one side, rising
    on (1.5·t, 5·t) from c, t = rel·(|c| + scale) (Brent's tol1): Brent ends at c with its probes
    c ± t, the probe c ± 2t lands on the shelf, and the walk takes x to c ± 4t before the
    golden-section search runs on [c ± 2t, c ± 6t]."""
    mp = mpmath.mpf
    with mpmath.workdps(40):
        ends, rel, vtol, c = (mp(-1), mp(1)), mp(10) ** -8, mp(10) ** -22, mp("0.3")
        t = rel * (c + 2)
        for side in (1, -1):
            def shelf(x: mpmath.mpf, side: int = side) -> mpmath.mpf:
                d = side * (x - c)
                return mp(10) ** -12 + d / 1000 if 1.5 * t < d < 5 * t else -((x - c) ** 2)

            g, calls = _recorded(shelf)
            lo, x0, hi = c - mp("0.05"), c + mp("0.01"), c + mp("0.04")
            x, gx = mm._refine(g, lo, x0, hi, (shelf(lo), shelf(x0), shelf(hi)), vtol, rel, ends)
            # Brent: c, a golden step, c ± t; then the walk, left probe first (to 1e-6·t: δ grows
            # with |x|)
            walk = [1, -1, -2, 2, 0, 4, 2, 6] if side == 1 else [1, -1, -2, 2, -4, 0, -6, -2]
            steps = [(u - c) / t for u in calls[2:10]]
            assert calls[0] == c and all(abs(u - k) < 1e-6 for u, k in zip(steps, walk, strict=True))
            assert 4 * t <= side * (x - c) < 5 * t and gx == shelf(x) >= shelf(c + side * 4 * t)


def test_refine_path_lengths() -> None:
    """_refine's path, pinned by its length (no independent count exists, as for Brent's): the
    evaluations on corners of slopes (3, 1), (1, 20), (1, 1), a cosine and a parabola beside
    an end, at vtol 1e-22, 1e-30 and 0 (unreachable: the search stops when its bracket is
    below the floor 10^(5 − dps)·scale). A change to the chords' bound, the floor or the
    golden-section side changes them. Each answer is also checked: its value to vtol, or, at
    vtol = 0, to the floor times the steepest slope (20)."""
    mp = mpmath.mpf
    with mpmath.workdps(40):
        ends, rel = (mp(-1), mp(1)), mp(10) ** -8
        floor = 2 * mp(10) ** -35

        def corner(c: mpmath.mpf, r: int, s: int) -> Callable:
            return lambda x: -(r * (x - c) if x > c else s * (c - x))

        cases = (  # (peak, c, bracket, evaluations at vtol 1e-22, 1e-30, 0)
            (corner(mp("0.1234567"), 3, 1), mp("0.1234567"), ("0.1", "0.12", "0.15"), (101, 138, 161)),
            (corner(mp("0.1234567"), 1, 20), mp("0.1234567"), ("0", "0.125", "0.3"), (108, 144, 166)),
            (corner(mp("0.3"), 1, 1), mp("0.3"), ("0.25", "0.3", "0.35"), (86, 124, 147)),
            (lambda x: mpmath.cos(x - mp("0.13")), mp("0.13"), ("0.1", "0.12", "0.15"), (25, 44, 71)),
            (lambda x: -((x - mp("-0.99")) ** 2), mp("-0.99"), ("-1", "-1", "-0.9"), (27, 46, 142)),
        )
        for peak, c, bracket, counts in cases:
            lo, x0, hi = map(mp, bracket)
            for vtol, count in zip((mp(10) ** -22, mp(10) ** -30, mp(0)), counts, strict=True):
                g, calls = _recorded(peak)
                x, gx = mm._refine(g, lo, x0, hi, (peak(lo), peak(x0), peak(hi)), vtol, rel, ends)
                assert (len(calls), gx) == (count, peak(x)), (bracket, vtol)
                assert 0 <= peak(c) - gx <= (vtol or 20 * floor)


def test_signed_extrema_brackets_at_the_ends_and_inside() -> None:
    """_signed_extrema on [−1, 1] with the knot 0 and 3 grid points per gap: one extremum per
    sign run, each refined from the bracket of its grid maximum's two neighbours (one of them
    the point itself at an end of the interval).

    ``step`` has its peaks at ±0.97, inside the grid's first and last cells, where the grid's
    maximum is the end itself; ``wave`` = sin(5x + 0.5) has three inner extrema,
    x = (kπ − π/2 − 0.5)/5, and a maximum at the end −1. Positions to 1e-12, values to vtol;
    the evaluations (pinned, as for Brent's) fail a bracket one grid point wider."""
    mp = mpmath.mpf
    with mpmath.workdps(40):
        def step(x: mpmath.mpf) -> mpmath.mpf:
            return -mpmath.tanh(50 * x) * (1 + mpmath.exp(-1000 * (abs(x) - mp("0.97")) ** 2) / 2)

        def wave(x: mpmath.mpf) -> mpmath.mpf:
            return mpmath.sin(5 * x + mp("0.5"))

        inner = [(k * mpmath.pi - mpmath.pi / 2 - mp("0.5")) / 5 for k in (0, 1, 2)]
        for err, where, signs, count in ((step, [mp("-0.97"), mp("0.97")], [1, -1], 89),
                                         (wave, [mp(-1), *inner], [1, -1, 1, -1], 103)):
            g, calls = _recorded(err)
            out = mm._signed_extrema(g, mp(-1), mp(1), [mp(0)], mp(10) ** -30, mp(10) ** -12, 3)
            assert [e.sign for e in out] == signs and len(calls) == count
            assert all(abs(e.x - x) < 1e-12 and e.value == err(e.x) for e, x in zip(out, where, strict=True))
        assert all(abs(abs(e.value) - 1) < 1e-30 for e in out[1:])


def test_digits() -> None:
    values = ("0.5", "1", "1.5", "10", "10.5", "1.7e26")
    assert [mm._digits(mpmath.mpf(v)) for v in values] == [0, 0, 1, 1, 2, 27]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"degree": -1}, "^degree must be >= 0"),
        ({"degree": 2.0}, "^degree must be an integer"),
        ({"degree": True}, "^degree must be an integer"),
        ({"a": 1, "b": 1}, "a < b"),
        ({"a": 2, "b": 1}, "a < b"),
        ({"a": -1, "b": 1, "parity": "odd"}, "a = -1 < 0"),
        ({"parity": "Odd"}, "^parity must be one of"),
        ({"parity": "even", "a": "nan"}, "^a must be finite"),
        ({"b": "inf"}, "^b must be finite"),
        ({"a": "zero"}, "^a must be a real number"),
        ({"f": 3.0}, r"^f must be a callable taking and returning mpmath numbers, got float$"),
        ({"f": lambda x: mpmath.mpc(1, 1)}, "real number"),
        ({"f": lambda x: mpmath.inf}, "finite"),
        # the point where f fails, to 8 digits (the first reference point is a)
        ({"f": lambda x: mpmath.inf, "a": 1 / 3}, r"^f must be finite on \[a, b\]; f\(0\.33333333\) = \+inf"),
        ({"f": lambda x: mpmath.mpc(0, 1), "a": 1 / 3}, r"; f\(0\.33333333\) = mpc\("),
        ({"dps": 14}, "^dps must be >= 15"),
        ({"degree": 0, "parity": "odd", "a": 0},
         r"^an odd polynomial of degree 0 is zero: there is nothing to fit \(use degree >= 1\)$"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    args = {"f": mpmath.exp, "degree": 3, "a": 0, "b": 1} | kwargs
    f, degree, a, b = (args.pop(k) for k in ("f", "degree", "a", "b"))
    with pytest.raises(ValueError, match=match):
        mm.best_polynomial(f, degree, a, b, **args)


def test_remez_bad_tolerances() -> None:
    with pytest.raises(ValueError, match=r"^tol must be > 0"):
        mm.remez(mpmath.exp, 3, 0, 1, tol=0)
    with pytest.raises(ValueError, match=r"^tol must be < 1"):
        mm.remez(mpmath.exp, 3, 0, 1, tol=1)
    with pytest.raises(ValueError, match=r"^max_iterations must be >= 1"):
        mm.remez(mpmath.exp, 3, 0, 1, max_iterations=0)


def test_powers() -> None:
    assert mm.powers(0) == (0,) and mm.powers(0, "even") == (0,) and mm.powers(0, "odd") == ()
    assert mm.powers(5) == (0, 1, 2, 3, 4, 5)
    assert mm.powers(5, "odd") == (1, 3, 5)
    assert mm.powers(6, "odd") == (1, 3, 5)
    assert mm.powers(5, "even") == (0, 2, 4)
    with pytest.raises(ValueError, match=r"^parity must be one of"):
        mm.powers(3, "odd ")
    with pytest.raises(ValueError, match=r"^degree must be >= 0"):
        mm.powers(-1)


def test_evaluate_matches_mpmath_polyval() -> None:
    coefficients = [mpmath.mpf(k) / 7 - 1 for k in range(9)]
    for x in ("-1.5", "0.3", "2"):
        with mpmath.workdps(DPS):
            want = mpmath.polyval(coefficients[::-1], mpmath.mpf(x))
            assert _close(mm.evaluate(coefficients, mpmath.mpf(x)), want, 1e-45)
    with pytest.raises(ValueError, match=r"^coefficients must not be empty$"):
        mm.evaluate([], 1)


def test_error_extrema_samples_the_documented_grid_and_defaults() -> None:
    """e is sampled first at the grid + 1 points (a+b)/2 − (b−a)/2·cos(kπ/grid), in order;
    grid = 200 and dps = 30 are the defaults."""
    f, calls = _recorded(lambda t: mpmath.sin(3 * t))
    a, b = mpmath.mpf("-0.5"), mpmath.mpf(2)
    for grid in (200, 37):
        calls.clear()
        mm.error_extrema(f, [0, 1], a, b, grid=grid)
        with mpmath.workdps(DPS):
            want = [(a + b) / 2 - (b - a) / 2 * mpmath.cospi(mpmath.mpf(k) / grid) for k in range(grid + 1)]
        assert all(abs(c - w) < 1e-29 for c, w in zip(calls[: grid + 1], want, strict=True))
        assert calls[0] == a and calls[grid] == b and len(calls) > grid + 1  # then the refinements
    default = mm.error_extrema(f, [0, 1], a, b)
    assert len(default) == 3 and default == mm.error_extrema(f, [0, 1], a, b, grid=200, dps=30)
    assert default != mm.error_extrema(f, [0, 1], a, b, dps=31)
    assert default != mm.error_extrema(f, [0, 1], a, b, grid=201)


@pytest.mark.parametrize("dps", [30, 40])
def test_error_extrema_positions_to_half_the_digits_and_values_to_all(dps: int) -> None:
    """A grid that misses the extrema cos(kπ/5) of T_5/16 (47 points): each is refined to
    2·10^(−⌊dps/2⌋) in position, so to about 10^(−dps) in value (the peaks are parabolic)."""
    x = sp.symbols("x")
    coefficients = [sp.Rational(c) for c in sp.Poly(x**5 - sp.chebyshevt(5, x) / 16, x).all_coeffs()[::-1]]
    with mpmath.workdps(dps):
        coef = [mpmath.mpf(c.p) / c.q for c in coefficients]
    extrema = mm.error_extrema(lambda t: t**5, coef, -1, 1, grid=46, dps=dps)
    with mpmath.workdps(DPS):
        want = sorted(mpmath.cospi(mpmath.mpf(k) / 5) for k in range(6))
        assert max(abs(e.x - w) for e, w in zip(extrema, want, strict=True)) < 2 * 10.0 ** -(dps // 2)
        assert max(abs(abs(e.value) - mpmath.mpf(1) / 16) for e in extrema) < 10.0 ** (1 - dps)


def test_error_extrema_at_an_end_never_leaves_the_interval() -> None:
    """e = x² on [0, 1] peaks at the end x = 1, which is taken as it is once e falls just inside
    it (at 1 − 10^(−⌊dps/2⌋)); f, which need not exist outside [a, b], is never evaluated there."""
    f, calls = _recorded(lambda t: -(t**2))
    assert mm.error_extrema(f, [0], 0, 1) == [mm.Extremum(1, 1, 1)]
    assert all(0 <= c <= 1 for c in calls)
    with mpmath.workdps(30):  # error_extrema's working precision
        inward = 1 - mpmath.mpf(10) ** -15
    assert inward in calls


def test_error_extrema_of_a_constant_error_is_its_first_point() -> None:
    """e = 1 on [0, 1]: one run, every sample as large as the next; the first one is kept."""
    assert mm.error_extrema(lambda x: -1, [0], 0, 1) == [mm.Extremum(0, 1, 1)]
    assert mm.error_extrema(lambda x: 1, [0], 0, 1) == [mm.Extremum(0, -1, -1)]


def test_error_extrema_at_a_corner() -> None:
    """e = 1/8 − (3u if u > 0 else −u) − u²/3, u = x − c: the peak 1/8 at the corner c, off the
    grid, to the bracket floor 10^(5 − dps) of the interval times the slope."""
    c = mpmath.mpf("0.1234567")

    def f(t: mpmath.mpf) -> mpmath.mpf:  # p = 0: e = −f
        u = t - c
        return (3 * u if u > 0 else -u) + u * u / 3 - mpmath.mpf(1) / 8

    extrema = mm.error_extrema(f, [0], -1, 1, grid=45)
    peak = max(extrema, key=lambda e: e.value)
    assert abs(peak.value - mpmath.mpf(1) / 8) < 1e-24 and abs(peak.x - c) < 1e-24
    assert [e.sign for e in extrema] == [-1, 1, -1]


def test_error_extrema_of_a_chebyshev_error_curve() -> None:
    """p = x^5 − T_5/16 against x^5: extrema ±1/16 at cos(kπ/5), signs alternating."""
    x = sp.symbols("x")
    coefficients = [float(c) for c in sp.Poly(x**5 - sp.chebyshevt(5, x) / 16, x).all_coeffs()[::-1]]
    extrema = mm.error_extrema(lambda t: t**5, coefficients, -1, 1)
    assert len(extrema) == 6
    with mpmath.workdps(DPS):
        want = sorted(mpmath.cospi(mpmath.mpf(k) / 5) for k in range(6))
    for ext, w in zip(extrema, want, strict=True):
        assert _close(ext.x, w, 1e-10)
        assert _close(abs(ext.value), mpmath.mpf(1) / 16, 1e-20)
    assert [e.sign for e in extrema] == [1, -1, 1, -1, 1, -1]
    with pytest.raises(ValueError, match="a < b"):
        mm.error_extrema(abs, [0, 1], 1, 1)
    with pytest.raises(ValueError, match="callable"):
        mm.error_extrema("abs", [0, 1], 0, 1)
    with pytest.raises(ValueError, match=r"^coefficients must not be empty$"):
        mm.error_extrema(abs, [], 0, 1)
    with pytest.raises(ValueError, match=r"^grid must be >= 2"):
        mm.error_extrema(abs, [0, 1], 0, 1, grid=1)
    with pytest.raises(ValueError, match=r"^dps must be >= 15"):
        mm.error_extrema(abs, [0, 1], 0, 1, dps=14)


@pytest.mark.parametrize("parity", [None, "odd", "even"])
def test_sign_separator(parity: str | None) -> None:
    points = [mpmath.mpf(x) for x in ("0.1", "0.2", "0.45", "0.5", "0.7", "0.9")]
    signs = [1, 1, -1, 1, 1, -1]  # four runs: three separators
    h = mm.sign_separator(points, signs, parity=parity)
    assert len(h) == {None: 4, "odd": 8, "even": 7}[parity]
    for x, s in zip(points, signs, strict=True):
        assert s * mm.evaluate(h, x) < 0
    for z in ("0.325", "0.475", "0.8"):  # the midpoints of the sign changes are its zeros
        assert abs(mm.evaluate(h, mpmath.mpf(z))) < 1e-14
    if parity is not None:
        start = 0 if parity == "odd" else 1
        assert all(c == 0 for c in h[start::2])


@pytest.mark.parametrize("parity", [None, "odd", "even"])
def test_sign_separator_coefficients_are_the_product_of_its_factors(parity: str | None) -> None:
    """Dyadic points: h = ±x^ρ ∏ (x^t − z_j^t) exactly, z_j the midpoints, the sign from x_0.

    x_0 lies below every z_j, so ∏ (x_0^t − z_j^t) has the sign (−1)^r of the r factors, and
    h(x_0) must have the sign −signs[0].
    """
    x = sp.symbols("x")
    points = [sp.Rational(k, 16) for k in (1, 3, 4, 7, 9, 12, 15)]
    for signs in ([1, -1, -1, 1, -1, 1, 1], [-1, -1, 1, 1, 1, -1, -1], [1] * 7,
                  [1, 1, -1, -1, -1, -1, -1], [-1, 1, 1, -1, -1, 1, 1]):  # r = 4, 2, 0, 1, 3
        zeros = [(u + v) / 2 for u, v, s, t in zip(points, points[1:], signs, signs[1:], strict=False)
                 if s != t]
        t, rho = (1, 0) if parity is None else (2, 1 if parity == "odd" else 0)
        product = -signs[0] * (-1) ** len(zeros) * x**rho * sp.prod([x**t - z**t for z in zeros])
        want = sp.Poly(product, x).all_coeffs()[::-1]
        got = mm.sign_separator([mpmath.mpf(float(u)) for u in points], signs, parity=parity)
        assert len(got) == len(want)
        assert all(mpmath.mpf(g) == mpmath.mpf(float(w)) for g, w in zip(got, want, strict=True))


def test_sign_separator_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty and of equal length, got 2 and 1"):
        mm.sign_separator([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="got 0 and 0"):
        mm.sign_separator([], [])
    with pytest.raises(ValueError, match=r"^parity must be one of"):
        mm.sign_separator([0.1, 0.2], [1, -1], parity="Even")
    with pytest.raises(ValueError, match=r"^points must be strictly increasing$"):
        mm.sign_separator([0.2, 0.1], [1, -1])
    with pytest.raises(ValueError, match="signs"):
        mm.sign_separator([0.1, 0.2], [1, 0])
    with pytest.raises(ValueError, match=r"an odd separator needs points in \(0, inf\)"):
        mm.sign_separator([-0.1, 0.2], [1, -1], parity="odd")
    with pytest.raises(ValueError, match=r"\(0, inf\), got 0.0"):
        mm.sign_separator([0, 0.2], [1, -1], parity="even")
    with pytest.raises(ValueError, match=r"^points must be strictly increasing$"):
        mm.sign_separator([0.1, 0.1], [1, -1])


def test_wrong_sign_direction_certifies_alternation() -> None:
    """At n + 2 alternating points no degree-n h has the opposite signs; at n + 1 one does."""
    n = 4
    points = [float(mpmath.cospi(mpmath.mpf(n + 1 - k) / (n + 1))) for k in range(n + 2)]
    signs = [(-1) ** k for k in range(n + 2)]
    assert mm.wrong_sign_direction(points, signs, range(n + 1)) is None
    h = mm.wrong_sign_direction(points[:-1], signs[:-1], range(n + 1))
    assert h is not None
    values = np.polynomial.polynomial.polyval(points[:-1], h)
    assert np.all(np.array(signs[:-1]) * values <= -1 + 1e-9)
    # same signs everywhere: a constant does it
    assert mm.wrong_sign_direction(points, [1] * (n + 2), [0]) is not None
    with pytest.raises(ValueError, match="signs"):
        mm.wrong_sign_direction(points, signs[:-1], range(n + 1))
    with pytest.raises(ValueError, match=r"^exponents must not be empty$"):
        mm.wrong_sign_direction(points, signs, [])
    with pytest.raises(ValueError, match=r"^exponent must be >= 0"):
        mm.wrong_sign_direction(points, signs, [0, -1])
    with pytest.raises(ValueError, match=r"^points must be a non-empty list of finite numbers$"):
        mm.wrong_sign_direction([0.0, np.nan], [1, -1], [0])


def test_discrete_minimax_of_a_chebyshev_error() -> None:
    """x^3 sampled on a grid with the T_3 extrema: the best quadratic correction is x^3 − T_3/4.

    The error x^3 − (x^3 − T_3/4) = T_3/4 sampled on the grid cannot be lowered (t = 1/4,
    δ = 0); x^3 itself is lowered to 1/4 by δ = −(3/4)x.
    """
    grid = np.union1d(np.linspace(-1, 1, 201), np.cos(np.pi * np.arange(4) / 3))
    t3 = 4 * grid**3 - 3 * grid
    opt, delta = mm.discrete_minimax(grid, t3 / 4, range(3))
    assert abs(opt - 0.25) < 1e-9 and np.max(np.abs(delta)) < 1e-8
    opt, delta = mm.discrete_minimax(grid, grid**3, range(3))
    assert abs(opt - 0.25) < 1e-9
    np.testing.assert_allclose(delta, [0, -0.75, 0], atol=1e-8)
    # an error curve sampled in mpmath is taken as it is, in float64
    opt_mp, delta_mp = mm.discrete_minimax(grid, [mpmath.mpf(float(v)) / 4 for v in t3], range(3))
    assert opt_mp == mm.discrete_minimax(grid, t3 / 4, range(3))[0] and np.max(np.abs(delta_mp)) < 1e-8
    with pytest.raises(ValueError, match=r"^values must be 203 finite numbers, one per point, "
                       r"got shape \(202,\)$"):
        mm.discrete_minimax(grid, grid[:-1], range(3))
    with pytest.raises(ValueError, match=r"^values must be 203 finite numbers"):
        mm.discrete_minimax(grid, np.where(grid > 0.5, np.inf, grid), range(3))
    with pytest.raises(ValueError, match=r"^points must be a non-empty list of finite numbers$"):
        mm.discrete_minimax([], [], range(3))


def test_levelled_system_and_polynomial_helpers() -> None:
    """_solve: p(x_i) + (−1)^i h = f(x_i) for a line on three points, exactly; a point repeated
    two places on (x_0 = x_2: equal rows) makes it singular. _poly: Horner in x^step times
    x^first; with size, Σ|c_j x^k_j|."""
    with mpmath.workdps(DPS):
        ref = [mpmath.mpf(v) for v in (0, "0.5", 1)]
        coef, h = mm._solve((0, 1), ref, [mpmath.mpf(v) for v in (0, "0.25", 1)])  # f = x² on 0, ½, 1
        assert _close(coef[0], mpmath.mpf(-1) / 8, 1e-45) and _close(coef[1], 1, 1e-45)
        assert _close(h, mpmath.mpf(1) / 8, 1e-45)
        c = [mpmath.mpf(v) for v in ("0.5", "-2", "0.25")]
        x = mpmath.mpf("-1.5")
        assert _close(mm._poly(c, (1, 3, 5), x), sum(ck * x ** (2 * k + 1) for k, ck in enumerate(c)), 1e-45)
        assert _close(mm._poly(c, (1, 3, 5), x, size=True),
                      sum(abs(ck) * abs(x) ** (2 * k + 1) for k, ck in enumerate(c)), 1e-45)
        assert _close(mm._poly(c[:1], (2,), x), c[0] * x**2, 1e-45)
    with pytest.raises(mm.ConvergenceError, match=r"^the levelled system on the reference is singular "
                       r"\(two reference points coincide at the working precision\)$"):
        mm._solve((0, 1), [mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(0)], [0, 1, 0])


def test_linear_programs_report_a_solver_failure(monkeypatch) -> None:
    """A HiGHS status other than optimal (0) or infeasible (2) is an error, with its message."""

    def failing(*args: object, **kwargs: object) -> object:
        return scipy.optimize.OptimizeResult(status=4, message="numerical difficulties", x=None, fun=None)

    monkeypatch.setattr(mm.scipy.optimize, "linprog", failing)
    with pytest.raises(RuntimeError, match=r"^linprog failed: numerical difficulties$"):
        mm.wrong_sign_direction([0.0, 1.0], [1, -1], [0, 1])
    with pytest.raises(RuntimeError, match=r"^linprog failed: numerical difficulties$"):
        mm.discrete_minimax([0.0, 1.0], [0.0, 1.0], [0])


def test_interval_check_compares_endpoints_in_mpmath() -> None:
    with mpmath.workdps(50):
        a = mpmath.mpf(1)
        mm._check_interval(a, a + mpmath.mpf(10) ** -30)  # equal as float64, still a < b
        with pytest.raises(ValueError, match="a < b"):
            mm._check_interval(a + mpmath.mpf(10) ** -30, a)
