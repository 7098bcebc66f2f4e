"""Unit tests for kexue_lib.polar: msign (SVD and Newton–Schulz), schedules, the scalar map, the
Adam fit, optimal odd polynomials and the Polar Express recursion, power iteration.

Every formula is pinned against an independent value (a closed form, the scalar map written out,
an mpmath recomputation, NumPy's SVD, the algorithm written out in NumPy on the same draws, or the
lowered program itself for what only shows there: the SVD driver, the matrix-product precision,
the count and size of the products) at a tolerance that a changed constant or operator exceeds:
``make mutate MODULE=polar`` measures it (see the README's mutation-testing table).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from fractions import Fraction
from functools import partial

import jax
import jax.extend
import jax.numpy as jnp
import ml_dtypes
import mpmath
import numpy as np
import pytest

from kexue_lib import polar

pytestmark = pytest.mark.usefixtures("x64")

PRECISION = {"highest": jax.lax.Precision.HIGHEST, "high": jax.lax.Precision.HIGH,
             "default": jax.lax.Precision.DEFAULT}


@pytest.fixture
def primitives(jaxpr_equations: Callable) -> Callable[..., list[jax.extend.core.JaxprEqn]]:
    """``primitives(fn, *args, name=…)``: the equations of primitive ``name`` that ``fn(*args)``
    traces."""
    def find(fn: Callable, *args, name: str) -> list[jax.extend.core.JaxprEqn]:
        return [e for e in jaxpr_equations(jax.make_jaxpr(fn)(*args).jaxpr) if e.primitive.name == name]
    return find


def _raises(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


# ---------------------------------------------------------------------------------------------
# Schedules as data


def test_schedule_accepts_the_smallest_table_and_reports_its_degree() -> None:
    two = polar.Schedule("two", ((1.0, 0.0),), default_steps=1)  # k = 2, one step, default safety
    assert two.safety == 1.0 and two.degree == 3
    assert polar.Schedule("nine", ((1.0, 0.0, 0.0, 0.0, 0.0),), 2, safety=1.0).degree == 9
    assert polar.SCHEDULES["polar_express"].degree == 5


def test_post_coefficient_sets_as_data() -> None:
    expect = {"jordan": (1, 5), "su_adam": (1, 5), "youjiacheng": (6, 6), "su_x": (6, 6),
              "su_x2": (6, 6), "su_x3": (5, 5), "zhang_ruichong": (5, 5)}
    for name, (rows, steps) in expect.items():
        sched = polar.SCHEDULES[name]
        assert len(sched.coeffs) == rows and sched.default_steps == steps and sched.safety == 1.0
        assert sched.degree == 5
    assert polar.SCHEDULES["youjiacheng"].coeffs[0] == (3955 / 1024, -8306 / 1024, 5008 / 1024)
    assert polar.SCHEDULES["su_x2"].coeffs[-1] == (3148 / 1024, -5464 / 1024, 4095 / 1024)
    assert polar.SCHEDULES["su_x3"].coeffs[0] == (4.6182, -12.9582, 9.3299)
    assert polar.SCHEDULES["zhang_ruichong"].coeffs[3] == (3.64, -7.48, 4.43)
    assert polar.SCHEDULES["su_adam"].coeffs == ((3.3748, -4.6969, 2.1433),)
    pe = polar.SCHEDULES["polar_express"]
    assert pe.coeffs == polar.PUBLISHED_POLAR_EXPRESS and pe.default_steps == 8 and pe.safety == 1.01


def test_coefficient_arguments_are_read_as_documented() -> None:
    assert polar._schedule(None) is polar.SCHEDULES["polar_express"]
    assert polar._schedule("jordan") is polar.SCHEDULES["jordan"]
    assert polar._schedule(polar.SCHEDULES["cubic"]) is polar.SCHEDULES["cubic"]
    rows = ((2.0, -1.0, 0.25), (1.5, -0.5, 0.0))
    assert polar._schedule(np.array(rows)) == polar.Schedule("custom", rows, default_steps=2)
    assert polar._schedule([2.0, -1.0]) == polar.Schedule("custom", ((2.0, -1.0),), default_steps=1)


def test_schedule_coefficients_safety_and_repeat() -> None:
    table, safety = polar.schedule_coefficients("polar_express", 10)
    assert safety == 1.01 and table.shape == (10, 3)
    scale = np.array([1.01, 1.01**3, 1.01**5])
    np.testing.assert_allclose(table[0], np.array(polar.PUBLISHED_POLAR_EXPRESS[0]) / scale, rtol=1e-15)
    np.testing.assert_array_equal(table[-1], polar.PUBLISHED_POLAR_EXPRESS[-1])  # last: no safety
    last = np.array(polar.PUBLISHED_POLAR_EXPRESS[-1])
    np.testing.assert_allclose(table[8], last / scale, rtol=1e-15)  # repeated, with safety
    default, s = polar.schedule_coefficients()  # polar_express, its 8 steps
    assert s == 1.01
    np.testing.assert_array_equal(default, polar.schedule_coefficients("polar_express", 8)[0])
    one, s1 = polar.schedule_coefficients("polar_express", 1)  # the only step is the last
    assert s1 == 1.01 and one.tolist() == [list(polar.PUBLISHED_POLAR_EXPRESS[0])]
    rows = [[2.0, -1.0, 0.25], [1.5, -0.5, 0.0]]
    custom, s = polar.schedule_coefficients(rows)
    assert s == 1.0 and custom.tolist() == rows
    assert polar.schedule_coefficients(rows, 3)[0].tolist() == [*rows, rows[-1]]
    ints = polar.Schedule("ints", ((3, -1),), default_steps=2, safety=2.0)  # integer rows work too
    assert polar.schedule_coefficients(ints)[0].tolist() == [[1.5, -0.125], [3.0, -1.0]]


def test_method_coefficients() -> None:
    assert polar.method_coefficients("svd") == (None, 1.0)
    for args, schedule in (((3, "jordan"), ("jordan", 3)), ((), ())):
        table, safety = polar.method_coefficients("newton_schulz", *args)
        ref, ref_safety = polar.schedule_coefficients(*schedule)
        np.testing.assert_array_equal(table, ref)
        assert safety == ref_safety


# ---------------------------------------------------------------------------------------------
# msign by the SVD


def test_msign_svd_is_the_polar_factor() -> None:
    m = jax.random.normal(jax.random.key(0), (30, 12), dtype=jnp.float64)
    q = polar.msign(m)
    assert q.shape == m.shape
    np.testing.assert_allclose(q.T @ q, np.eye(12), atol=1e-12)
    # msign(M)ᵀ M = (MᵀM)^{1/2} is symmetric positive definite
    p = np.asarray(q.T @ m)
    np.testing.assert_allclose(p, p.T, atol=1e-12)
    assert np.linalg.eigvalsh(p).min() > 0
    u, _, vt = np.linalg.svd(np.asarray(m), full_matrices=False)
    np.testing.assert_allclose(q, u @ vt, atol=1e-13)
    np.testing.assert_array_equal(polar.msign(m), polar.msign(m, "svd"))  # the default method


def test_msign_svd_wide_zero_and_low_precision() -> None:
    m = jax.random.normal(jax.random.key(1), (8, 20), dtype=jnp.float64)
    np.testing.assert_allclose(polar.msign(m), polar.msign(m.T).T, atol=1e-12)
    np.testing.assert_array_equal(polar.msign(jnp.zeros((4, 3))), np.zeros((4, 3)))
    for dtype in (jnp.bfloat16, jnp.float16):  # computed in float32, cast back
        x = m.astype(dtype)
        out = polar.msign(x)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, polar.msign(x.astype(jnp.float32)).astype(dtype))
    # float32 stays float32 throughout: U Vᵀ of the float32 SVD, bit for bit
    single = m.astype(jnp.float32)
    u, _, vt = polar.svd(single)
    np.testing.assert_array_equal(polar.msign(single), u @ vt)


def test_msign_svd_drops_singular_values_at_the_rounding_level(matrix_with_singular_values) -> None:
    """Kept: σ > σ₁ · eps · max(n, m); here max(n, m) = 30 and σ₂ = σ₁/100. (The singular vectors
    of σ₄ ~ 10 eps are only determined to ~eps/σ₄: the rank, not the kept term, is compared.)"""
    cut = np.finfo(np.float64).eps * 30
    for tiny, kept in ((0.25 * cut, 3), (4 * cut, 4)):
        m = np.asarray(matrix_with_singular_values(np.array([1.0, 1e-2, 5e-3, tiny]), 30, seed=8))
        u, _, vt = np.linalg.svd(m, full_matrices=False)
        for x in (m, m.T):
            np.testing.assert_allclose(_sorted_sv(polar.msign(x)), [0] * (4 - kept) + [1] * kept,
                                       atol=1e-12)
        np.testing.assert_allclose(polar.msign(m) @ vt[:3].T, u[:, :3], atol=1e-12)


@pytest.mark.parametrize("shape", [(7, 4), (4, 7), (3, 6, 4)])
def test_svd_is_the_thin_svd_and_differentiable(shape: tuple[int, ...]) -> None:
    m = jax.random.normal(jax.random.key(3), shape, dtype=jnp.float64)
    u, s, vt = polar.svd(m)
    k = min(shape[-2:])
    assert u.shape == (*shape[:-1], k) and vt.shape == (*shape[:-2], k, shape[-1])
    np.testing.assert_allclose((u * s[..., None, :]) @ vt, m, atol=1e-13)
    np.testing.assert_allclose(s, np.linalg.svd(np.asarray(m), compute_uv=False), rtol=1e-13)
    assert bool(jnp.all(s[..., :-1] >= s[..., 1:]))
    np.testing.assert_allclose(polar.svd(m, compute_uv=False), s, rtol=1e-14)
    assert isinstance(polar.svd(m), tuple) and isinstance(polar.svd(m, compute_uv=False), jax.Array)
    if len(shape) == 2:  # d‖M‖_*/dM = U Vᵀ
        np.testing.assert_allclose(jax.grad(polar.nuclear_norm)(m), u @ vt, atol=1e-12)


@pytest.mark.parametrize(("shape", "qr"), [((5, 3), True), ((3, 5), True), ((2, 300, 256), True),
                                          ((257, 300), False), ((400, 257), False),
                                          ((2, 300, 257), False)])
def test_svd_uses_lapacks_qr_driver_for_small_matrices_on_the_cpu(
        shape: tuple[int, ...], qr: bool, primitives: Callable) -> None:
    assert polar.QR_SVD_MAX_SIDE == 256
    cpu = jax.default_backend() == "cpu"
    expected = (jax.lax.linalg.SvdAlgorithm.QR if qr and cpu
                else jax.lax.linalg.SvdAlgorithm.DEFAULT)
    for compute_uv in (True, False):
        (eqn,) = primitives(lambda m, c=compute_uv: polar.svd(m, compute_uv=c), jnp.ones(shape),
                             name="svd")
        assert eqn.params["algorithm"] == expected
        assert eqn.params["full_matrices"] is False and eqn.params["compute_uv"] is compute_uv


def test_nuclear_norm_is_the_sum_of_singular_values_and_differentiable() -> None:
    m = jnp.array([[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]])
    assert float(polar.nuclear_norm(m)) == pytest.approx(7.0, rel=1e-15)
    r = jax.random.normal(jax.random.key(4), (9, 5), dtype=jnp.float64)
    expected = np.linalg.svd(np.asarray(r), compute_uv=False).sum()
    assert float(polar.nuclear_norm(r)) == pytest.approx(expected, rel=1e-14)
    # d‖M‖_*/dM = msign(M) for full-rank M
    np.testing.assert_allclose(jax.grad(polar.nuclear_norm)(m), polar.msign(m), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Newton–Schulz: the matrix iteration is the scalar map on the singular values


def _sorted_sv(x: jax.Array) -> np.ndarray:
    return np.sort(np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False))


@pytest.mark.parametrize("shape", [(40, 16), (16, 40)])
def test_newton_schulz_polar_express_matches_svd(shape: tuple[int, int], matrix_with_singular_values) -> None:
    s = np.geomspace(0.05, 1.0, min(shape))
    m = matrix_with_singular_values(s, max(shape))
    m = m if shape[0] >= shape[1] else m.T
    ns = polar.msign(m, "newton_schulz")
    assert ns.shape == shape
    np.testing.assert_allclose(ns, polar.msign(m), atol=1e-12)


def test_matrix_iteration_equals_scalar_map(matrix_with_singular_values) -> None:
    s = np.geomspace(1e-3, 1.0, 20)
    m = matrix_with_singular_values(s, 30, seed=3)
    table, safety = polar.schedule_coefficients("jordan", 5)
    x = s / np.linalg.norm(s) / safety
    for a, b, c in table:
        x = x * (a + b * x**2 + c * x**4)
    out = polar.msign(m, "newton_schulz", coeffs="jordan")
    np.testing.assert_allclose(_sorted_sv(out), np.sort(x), atol=1e-12)
    # the norm is divided out: 10⁻³ M (‖M‖_F < 1) gives the same result
    np.testing.assert_allclose(polar.msign(m * 1e-3, "newton_schulz", coeffs="jordan"), out, atol=1e-12)


@pytest.mark.parametrize("normalize", ["frobenius", "schatten4", "schatten8"])
def test_newton_schulz_cubic_rows_and_safety_are_the_scalar_map(
    normalize: str, matrix_with_singular_values
) -> None:
    """Rows (c₁, c₃) (k = 2): X ← c₁X + c₃XXᵀX; X₀ = M/(safety ‖σ‖_p) with p = 2, 4 or 8."""
    s = np.geomspace(0.02, 2.0, 10)
    m = matrix_with_singular_values(s, 14, seed=9) * 1e-2
    p = {"frobenius": 2, "schatten4": 4, "schatten8": 8}[normalize]
    rows = np.array([[1.5, -0.5], [1.7, -0.6], [1.5, -0.5]])
    out = polar.newton_schulz(m, rows, 1.1, normalize=normalize)
    x0 = s / np.sum(s**p) ** (1 / p) / 1.1
    expected = polar.singular_value_iterates(rows, x0)[-1]
    np.testing.assert_allclose(_sorted_sv(out), np.sort(expected), rtol=1e-12)
    # a zero third column is the same iteration; safety 1 is the default
    padded = np.concatenate([rows, np.zeros((3, 1))], axis=1)
    np.testing.assert_allclose(polar.newton_schulz(m, padded, 1.1, normalize=normalize), out, atol=1e-14)
    np.testing.assert_array_equal(polar.newton_schulz(m, rows, normalize=normalize),
                                  polar.newton_schulz(m, rows, 1.0, normalize=normalize))


@pytest.mark.parametrize("normalize", ["schatten4", "schatten8"])
@pytest.mark.parametrize("shape", [(30, 12), (12, 30)])
def test_newton_schulz_schatten_normalisation_is_the_scalar_map(
    normalize: str, shape: tuple[int, int], matrix_with_singular_values
) -> None:
    s = np.geomspace(1e-2, 3.0, 12)
    m = matrix_with_singular_values(s, 30, seed=4)
    m = m if shape[0] >= shape[1] else m.T
    p = 4 if normalize == "schatten4" else 8
    x0 = s / np.sum(s**p) ** (1 / p)
    for coeffs in ("jordan", "polar_express"):
        out = polar.msign(m, "newton_schulz", coeffs=coeffs, normalize=normalize)
        assert out.shape == shape
        table, _ = polar.schedule_coefficients(coeffs)
        expected = polar.singular_value_iterates(coeffs, x0, len(table))[-1]
        np.testing.assert_allclose(_sorted_sv(out), np.sort(expected), rtol=1e-11)


def test_newton_schulz_wide_rows_degree_9(matrix_with_singular_values) -> None:
    s = np.geomspace(0.05, 1.0, 10)
    m = matrix_with_singular_values(s, 16, seed=6)
    rows = polar.polar_express_coefficients(1e-2, 5, degree=9, cushion=0.0)
    out = polar.msign(m, "newton_schulz", coeffs=rows)
    expected = polar.singular_value_iterates(rows, s / np.linalg.norm(s))[-1]
    np.testing.assert_allclose(_sorted_sv(out), np.sort(expected), rtol=1e-11)
    np.testing.assert_allclose(out, polar.msign(m), atol=1e-10)
    np.testing.assert_allclose(polar.msign(m.T, "newton_schulz", coeffs=rows), out.T, atol=1e-14)


@pytest.mark.parametrize("normalize", ["frobenius", "schatten4", "schatten8"])
def test_newton_schulz_of_a_zero_matrix_is_zero(normalize: str) -> None:
    for shape in ((5, 3), (3, 5)):
        out = polar.msign(jnp.zeros(shape), "newton_schulz", normalize=normalize)
        np.testing.assert_array_equal(out, np.zeros(shape))


@pytest.mark.parametrize("normalize", ["frobenius", "schatten4", "schatten8"])
@pytest.mark.parametrize(("dtype", "powers"), [
    # 2^±100 ≈ 1e±30: squares out of range; at 2^-120 the smallest entries would be subnormal;
    # at 2^126 and 2^127 the reciprocal of the norm is subnormal (XLA's CPU flushes it to zero);
    # at 2^128 and 2^129 the largest entry (0.37 · 2^129 ≈ 2.5e38, float32's largest is 3.4e38)
    # is 2^e/2 or more with e = 127, 128, and 2^-e is not a normal number: the scaling clips e
    (jnp.float32, (-100, -80, 70, 100, 120, 126, 127, 128, 129)),
    (jnp.bfloat16, (-100, -80, 70, 100, 120, 126, 127, 128, 129)),
    # float16 overflows at 65504 (entries of 300 have squares 1e5), and at 2^13 and 2^15 the
    # reciprocal of the norm is below its smallest normal 6e-5; below 6e-5 its entries are
    # subnormal, so a scale of 2^-4 would already round some of them
    (jnp.float16, (-2, 10, 13, 15)),
])
def test_newton_schulz_norm_neither_overflows_nor_underflows(
    normalize: str, dtype: type, powers: tuple[int, ...], matrix_with_singular_values
) -> None:
    """M scaled by 2^j (exact) gives the same iterates to the bit: the norm is scale-free."""
    m = matrix_with_singular_values(np.geomspace(0.05, 1.0, 8), 12, seed=3).astype(dtype)
    table = polar.schedule_coefficients("polar_express", 5)[0]
    ref = polar.newton_schulz(m, table, 1.01, normalize=normalize)
    assert float(jnp.abs(ref.astype(jnp.float32)).max()) > 0.1
    for j in powers:
        # by 2^j in two factors, each a normal number of the dtype
        scaled = m * jnp.asarray(2.0 ** (j // 2), dtype=dtype) * jnp.asarray(2.0 ** (j - j // 2), dtype=dtype)
        # exact (checked in float64: XLA would divide by 2^127 as a product with 2^-127, subnormal)
        np.testing.assert_array_equal(np.asarray(scaled.astype(jnp.float32), np.float64) / 2.0**j,
                                      np.asarray(m.astype(jnp.float32), np.float64))
        out = polar.newton_schulz(scaled, table, 1.01, normalize=normalize)
        np.testing.assert_array_equal(np.asarray(out.astype(jnp.float32)),
                                      np.asarray(ref.astype(jnp.float32)), err_msg=f"2^{j}")


@pytest.mark.usefixtures("x64")
def test_power_of_two_is_exact_over_the_normal_range() -> None:
    for dtype, top in ((jnp.float32, 125), (jnp.float64, 1021)):
        k = jnp.arange(-top, top + 1)
        out = polar._power_of_two(k, dtype)
        assert out.dtype == dtype
        np.testing.assert_array_equal(np.asarray(out, dtype=np.float64), np.ldexp(1.0, np.asarray(k)))


def test_newton_schulz_keeps_the_dtype_and_takes_bfloat16_norms_in_float32() -> None:
    m = jax.random.normal(jax.random.key(5), (6, 4), dtype=jnp.float32)
    assert polar.msign(m, "newton_schulz").dtype == jnp.float32
    assert polar.msign(m.astype(jnp.bfloat16), "newton_schulz").dtype == jnp.bfloat16
    # One identity step (c₁, c₃) = (1, 0) returns X₀ = M · bf16(1/‖M‖_F) with the norm in float32:
    # ‖M‖_F² = 11, whose float32 reciprocal root rounds to another bfloat16 than the bfloat16 root.
    ints = np.array([[3.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    scale = (np.float32(1) / np.sqrt(np.float32(11))).astype(ml_dtypes.bfloat16)
    expected = (ints * np.float32(scale)).astype(ml_dtypes.bfloat16)
    out = polar.newton_schulz(jnp.asarray(ints, dtype=jnp.bfloat16), jnp.array([[1.0, 0.0]]))
    np.testing.assert_array_equal(np.asarray(out), expected)


@pytest.mark.parametrize("shape", [(12, 7), (7, 12)])
def test_newton_schulz_products_count_size_and_precision(shape: tuple[int, int],
                                                        primitives: Callable) -> None:
    """k products per step of k coefficients (G, G², …, G^{k-2}·G, X·q), the Gram the smaller
    square, at the requested precision; the Schatten first step adds G² for schatten8."""
    small, large = min(shape), max(shape)
    m = jnp.ones(shape)
    expected = {("frobenius", 2): 2, ("frobenius", 3): 3, ("frobenius", 5): 5,
                ("schatten4", 2): 4, ("schatten4", 3): 6, ("schatten8", 2): 5, ("schatten8", 3): 6}
    for (normalize, k), count in expected.items():
        table = jnp.ones((3, k))
        dots = primitives(lambda m, t=table, n=normalize: polar.newton_schulz(m, t, normalize=n), m,
                           name="dot_general")
        assert len(dots) == count, (normalize, k)
        assert {e.outvars[0].aval.shape for e in dots} <= {(small, small), (large, small)}
    for precision in polar.PRECISIONS:
        for fn in (lambda m, p=precision: polar.newton_schulz(m, jnp.ones((2, 3)), precision=p),
                   lambda m, p=precision: polar.msign(m, "newton_schulz", precision=p),
                   lambda m, p=precision: polar.msign(m, "newton_schulz", precision=p,
                                                      normalize="schatten8")):
            dots = primitives(fn, m, name="dot_general")
            assert dots and all(e.params["precision"] == (PRECISION[precision],) * 2 for e in dots)
    dots = primitives(lambda m: polar.msign(m, "newton_schulz"), m, name="dot_general")
    assert all(e.params["precision"] == (PRECISION["highest"],) * 2 for e in dots)


def test_msign_newton_schulz_is_newton_schulz_with_the_schedule() -> None:
    m = jax.random.normal(jax.random.key(6), (9, 5), dtype=jnp.float64)
    table, safety = polar.schedule_coefficients("polar_express")
    np.testing.assert_array_equal(polar.msign(m, "newton_schulz"), polar.newton_schulz(m, table, safety))
    np.testing.assert_array_equal(polar.msign(m, "newton_schulz", normalize="schatten4"),
                                  polar.newton_schulz(m, table, safety, normalize="schatten4"))
    table, safety = polar.schedule_coefficients("jordan", 3)
    np.testing.assert_array_equal(polar.msign(m, "newton_schulz", 3, "jordan"),
                                  polar.newton_schulz(m, table, safety))


def test_custom_table_equals_named_cubic() -> None:
    m = jax.random.normal(jax.random.key(2), (12, 6), dtype=jnp.float64)
    a = polar.msign(m, "newton_schulz", steps=12, coeffs="cubic")
    b = polar.msign(m, "newton_schulz", steps=12, coeffs=np.array([[1.5, -0.5, 0.0]]))
    np.testing.assert_allclose(a, b, atol=1e-15)


def test_newton_schulz_matches_optax(matrix_with_singular_values) -> None:
    muon = pytest.importorskip("optax.contrib._muon")
    m = matrix_with_singular_values(np.geomspace(1e-2, 1.0, 12), 20, seed=7)
    coeffs = jnp.asarray(polar.SCHEDULES["jordan"].coeffs[0])
    for ours, theirs in (("frobenius", "frobenius"), ("schatten4", "schatten")):
        ref = muon.orthogonalize_via_newton_schulz(m, coeffs, 5, theirs, eps=1e-30)
        out = polar.msign(m, "newton_schulz", coeffs="jordan", normalize=ours)
        np.testing.assert_allclose(out, ref, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# The scalar map, the error profile and the headroom


def _cubic(x: float) -> float:
    return 1.5 * x - 0.5 * x**3


def test_singular_value_iterates_is_the_composition_with_safety() -> None:
    x0 = np.array([1e-3, 0.3, 1.0, -0.5])
    out = polar.singular_value_iterates("polar_express", x0, 9)
    assert out.shape == (9, 4)
    x = x0 / 1.01
    for t in range(9):
        a, b, c = polar.PUBLISHED_POLAR_EXPRESS[min(t, 7)]
        s = 1.01 if t < 8 else 1.0
        x = a / s * x + b / s**3 * x**3 + c / s**5 * x**5
        np.testing.assert_allclose(out[t], x, rtol=1e-12)  # roundings, amplified by p_t'
    # degree 9 rows (c1, c3, c5, c7, c9) and a diverging value (inf, no warning, no nan)
    row = np.array([[2.0, -1.0, 0.5, -0.25, 0.125]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = polar.singular_value_iterates(row, [0.7, 1e200])[0]
        cubic = polar.singular_value_iterates("cubic", [1e200], 2)
    assert got[0] == pytest.approx(sum(c * 0.7 ** (2 * j + 1) for j, c in enumerate(row[0])), rel=1e-15)
    assert got[1] == math.inf
    assert np.all(np.isinf(cubic)) and not np.any(np.isnan(cubic))
    # defaults: x0 = 1 and the schedule's own steps; x0 keeps its shape; an all-zero row maps to 0
    np.testing.assert_array_equal(polar.singular_value_iterates("jordan"),
                                  polar.singular_value_iterates("jordan", 1.0, 5))
    assert polar.singular_value_iterates("jordan", np.ones((2, 3)), 4).shape == (4, 2, 3)
    np.testing.assert_array_equal(polar.singular_value_iterates([[0.0, 0.0]], [0.5, -2.0], 2),
                                  np.zeros((2, 2)))


def test_sv_error_profile_is_the_worst_error_on_the_log_grid() -> None:
    # the cubic p(x) = (3x − x³)/2 increases on [0, 1] with p ≥ x there: the worst error after t
    # steps is 1 − p^t(ell), at the grid's first point
    with mpmath.workdps(30):
        x, closed = mpmath.mpf("0.01"), []
        for _ in range(12):
            x = _cubic(x)
            closed.append(float(1 - x))
    np.testing.assert_allclose(polar.sv_error_profile("cubic", 0.01, 12), closed, rtol=1e-13, atol=1e-15)
    x = mpmath.mpf(1e-3)
    for got in polar.sv_error_profile("cubic", steps=3):  # ell = 1e-3 by default
        x = _cubic(x)
        assert got == pytest.approx(float(1 - x), rel=1e-14)
    # five points: x₀ = ell^(j/4), j = 4, 3, 2, 1, 0, through Jordan's quintic written out
    a, b, c = polar.SCHEDULES["jordan"].coeffs[0]
    x = np.array([0.1 ** (j / 4) for j in (4, 3, 2, 1, 0)])
    worst = []
    for _ in range(5):
        x = a * x + b * x**3 + c * x**5
        worst.append(np.max(np.abs(1 - x)))
    np.testing.assert_allclose(polar.sv_error_profile("jordan", 0.1, points=5), worst, rtol=1e-14)
    assert polar.sv_error_profile("jordan", 0.1, points=2).shape == (5,)  # the two ends only
    # defaults: Polar Express, ell = 1e-3, 20001 points (Jordan's band peaks between grid points)
    np.testing.assert_array_equal(polar.sv_error_profile(),
                                  polar.sv_error_profile("polar_express", 1e-3, 8, points=20001))
    fine = polar.sv_error_profile("jordan", 0.1)
    np.testing.assert_array_equal(fine, polar.sv_error_profile("jordan", 0.1, points=20001))
    assert not np.array_equal(fine, polar.sv_error_profile("jordan", 0.1, points=20002))


def test_sv_error_profile_of_polar_express_and_the_cubic() -> None:
    pe = polar.sv_error_profile("polar_express", 1e-3)
    assert pe.shape == (8,) and pe[-1] < 1e-12 and np.all(np.diff(pe) < 0)
    cubic = polar.sv_error_profile("cubic", 1e-3, 30)
    assert cubic[-1] < 1e-12 and cubic[10] > 0.5  # slow start: 1e-3 grows by 1.5x per step
    jordan = polar.sv_error_profile("jordan", 0.1, 20)
    assert jordan[-1] > 0.2  # Jordan's quintic does not converge to 1


def test_schedule_headroom_closed_forms() -> None:
    # the identity map: error 1 - ell on [ell, 1], so x0 may go up to 2 - ell
    assert polar.schedule_headroom([[1.0, 0.0]], ell=0.25) == pytest.approx(1.75, abs=1e-12)
    # x ↦ 0.4x: worst error 1 − 0.4 ell, reached again at x₀ = 5 − ell, beyond the default upto = 4
    assert polar.schedule_headroom([[0.4, 0.0]]) == math.inf
    assert polar.schedule_headroom([[0.4, 0.0]], upto=6) == pytest.approx(5 - 1e-3, abs=1e-13)
    # the cubic, T steps: x₀ ∈ [1, x̄] ends within the band iff p(x₀) ≥ p(ell), so x̄ is the root
    # in (1, √3) of x³ − 3x + 2p(ell) = 0, x̄ = 2 cos(arccos(−p(ell))/3), for every T
    ell = 0.1
    xbar = 2 * math.cos(math.acos(-_cubic(ell)) / 3)
    for steps, points in ((1, 30001), (3, 30001), (3, 2)):
        assert polar.schedule_headroom("cubic", steps, ell=ell, points=points) == pytest.approx(
            xbar, abs=1e-14)
    # many steps of Jordan's quintic: the escape point is its largest fixed point, where
    # c x^4 + b x^2 + (a - 1) = 0
    a, b, c = polar.SCHEDULES["jordan"].coeffs[0]
    fixed = math.sqrt((-b + math.sqrt(b * b - 4 * c * (a - 1))) / (2 * c))
    assert polar.schedule_headroom("jordan", 60) == pytest.approx(fixed, abs=1e-9)
    # a map with no crossing below `upto`
    assert polar.schedule_headroom([[1.0, 0.0]], ell=0.25, upto=1.5) == math.inf


def test_schedule_headroom_is_the_first_crossing_on_its_grid() -> None:
    """x ↦ 3x − x³ peaks at x₀ = 1 with error 1, the worst on [ell, 1]: that touch is no crossing,
    the crossing is at √3. And a quintic whose error rises just above the band on a window
    ~0.01 wide near x₀ = 1.5 and again beyond 2.5: a grid of `points` finds the window (the
    default) or steps over it (50 points)."""
    assert polar.schedule_headroom([[3.0, -1.0]], ell=0.1) == pytest.approx(math.sqrt(3), abs=1e-14)
    m, n = 1.5, 2.5  # p' = 5c(x² − m²)(x² − n²), p(1) = 1
    c = 1 / (1 - 5 / 3 * (m * m + n * n) + 5 * m * m * n * n)
    row = (5 * m * m * n * n * c, -5 / 3 * (m * m + n * n) * c, c)
    with mpmath.workdps(30):
        def p(x: mpmath.mpf) -> mpmath.mpf:
            return sum(mpmath.mpf(cj) * x ** (2 * j + 1) for j, cj in enumerate(row))

        band = (p(m) - 1) * (1 - mpmath.mpf("1e-4"))  # the peak at m overshoots it by 10⁻⁴
        ell = float(mpmath.findroot(lambda x: p(x) - (1 - band), 0.8))
        band = 1 - p(mpmath.mpf(ell))  # the worst error on [ell, 1] (p increases up to m)
        window = mpmath.findroot(lambda x: p(x) - (1 + band), 1.49)
        later = mpmath.findroot(lambda x: p(x) - (1 + band), 2.9)
    assert 1 < window < m < n < later < 4
    assert polar.schedule_headroom([row], ell=ell) == pytest.approx(float(window), abs=1e-10)
    assert polar.schedule_headroom([row], ell=ell, points=50) == pytest.approx(float(later), abs=1e-10)


def test_schedule_headroom_defaults() -> None:
    assert polar.schedule_headroom() == polar.schedule_headroom("polar_express", None, ell=1e-3,
                                                                upto=4.0, points=30001)


# ---------------------------------------------------------------------------------------------
# The post's loss and its Adam fit


def test_topk_loss_is_the_mean_of_the_largest_errors() -> None:
    x0 = np.linspace(0, 1, 1001)[1:]
    table = np.array([[3.4445, -4.7750, 2.0315]] * 5)
    xt = polar.singular_value_iterates(table, x0)[-1]
    expected = np.sort(np.abs(xt - 1))[-37:].mean()
    assert float(polar.topk_loss(table, x0, 37)) == pytest.approx(expected, rel=1e-13)
    every = np.abs(polar.singular_value_iterates(table, x0[:5])[-1] - 1).mean()
    assert float(polar.topk_loss(table, x0[:5], 5)) == pytest.approx(every, rel=1e-14)


def _adam_reference(init: np.ndarray, *, iters: int, k: int, points: int, lr: float,
                    decay_step: int, decay: float, tol: float, bias_correction: bool,
                    steps: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The post's loop written out in NumPy (float64 Adam state, gradients of the float32 loss by
    JAX); returns the last iterate and the norms of every gradient before clipping."""
    grid = jnp.linspace(0, 1, points + 1, dtype=jnp.float32)[1:]
    grad = jax.jit(jax.grad(lambda w: polar.topk_loss(jnp.broadcast_to(w, (steps, w.shape[-1])),
                                                      grid, k)))
    norms = []

    def clipped(w: np.ndarray) -> np.ndarray:
        g = np.asarray(grad(jnp.asarray(w, dtype=jnp.float32)), dtype=np.float64)
        norms.append(np.linalg.norm(g))
        return g / max(norms[-1], 1.0)

    w = np.array(init, dtype=np.float64)
    m = v = np.zeros_like(w)
    for i in range(iters):
        g = 0.6 * clipped(w) + 0.2 * (clipped(w + tol / 2) + clipped(w - tol / 2))
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        rate = lr if i <= decay_step else lr * decay
        if bias_correction:
            w = w - rate * (m / (1 - 0.9 ** (i + 1))) / np.sqrt(v / (1 - 0.999 ** (i + 1)) + 1e-20)
        else:
            w = w - rate * m / np.sqrt(v + 1e-20)
    return w, np.array(norms)


def test_fit_coefficients_is_the_posts_adam() -> None:
    """Thirty steps of the post's loop, its rate cut after step 10; the gradient norms cross the
    clipping threshold 1 (and 2) along the way, so the clipping shows."""
    args = {"iters": 30, "k": 20, "points": 500, "lr": 1e-2, "decay_step": 10, "tol": 0.1}
    w, norms = _adam_reference(np.array([1.5, -0.5, 0.0]), decay=0.1, bias_correction=False, **args)
    assert norms.min() < 1 < 2 < norms.max() and np.any((norms > 1) & (norms < 2))
    fit = polar.fit_coefficients([1.5, -0.5, 0.0], **args)
    assert fit.coefficients.shape == (5, 3) and fit.path.shape == (30, 3)
    assert fit.coefficients.dtype == fit.path.dtype == np.float64 and isinstance(fit.loss, float)
    np.testing.assert_allclose(fit.coefficients, np.tile(w, (5, 1)), rtol=2e-5)  # float32 run
    np.testing.assert_array_equal(fit.path, fit.path.astype(np.float32))  # ... in float32
    np.testing.assert_array_equal(fit.path[-1], fit.coefficients[0])
    grid = jnp.linspace(0, 1, 501, dtype=jnp.float32)[1:]
    loss = polar.topk_loss(jnp.asarray(fit.coefficients, dtype=jnp.float32), grid, 20)
    assert fit.loss == pytest.approx(float(loss), rel=1e-6)


def test_fit_coefficients_with_bias_correction_and_per_step_rows() -> None:
    args = {"iters": 12, "k": 20, "points": 500, "lr": 1e-2, "decay_step": 5, "decay": 0.5, "tol": 0.1}
    w, _ = _adam_reference(np.array([1.5, -0.5, 0.0]), bias_correction=True, **args)
    fit = polar.fit_coefficients([1.5, -0.5, 0.0], bias_correction=True, **args)
    np.testing.assert_allclose(fit.coefficients, np.tile(w, (5, 1)), rtol=2e-5)
    # one row per step; k = 200 of 500 (with k = 20 the c₅ gradient of the first step is at the
    # float32 rounding level, and Adam's normalised step makes that noise a full step)
    init = np.array([[1.5, -0.5, 0.0], [1.6, -0.6, 0.0]])
    args["k"] = 200
    w, _ = _adam_reference(init, steps=2, bias_correction=False, **args)
    fit = polar.fit_coefficients(init, **args)
    assert fit.path.shape == (12, 2, 3)
    np.testing.assert_allclose(fit.coefficients, w, rtol=2e-5)
    np.testing.assert_array_equal(polar.fit_coefficients(init, 2, **args).coefficients, fit.coefficients)


def test_fit_coefficients_keeps_eps_under_the_square_root() -> None:
    """With k = 1 the loss is the error at the smallest grid point x = 10⁻⁴, whose gradient is
    −(x, x³, x⁵) = −(10⁻⁴, 10⁻¹², 10⁻²⁰): for the last two coordinates v ≪ ε = 10⁻²⁰, so the steps
    are ε-damped (about 10⁻³·lr and 10⁻¹¹·lr a step), where a bare m/√v would step by
    (1 − β₁)/√(1 − β₂)·lr ≈ 3·lr. Before optax's eps_root was rescaled, the fit put 10⁻²⁰·(1 − β₂ᵗ)
    under the root instead of 10⁻²⁰ and moved the second coordinate 18 times as far."""
    args = {"iters": 5, "k": 1, "points": 10000, "lr": 1e-2, "decay_step": 10, "tol": 0.0, "steps": 1}
    w, norms = _adam_reference(np.array([1.5, -0.5, 0.0]), decay=0.1, bias_correction=False, **args)
    moved = np.abs(w - [1.5, -0.5, 0.0])
    assert norms.max() < 1e-3  # never clipped: the gradients are the bare powers of x
    assert moved[0] > 0.1 and moved[1] < 1e-3 and moved[2] < 1e-10
    fit = polar.fit_coefficients([1.5, -0.5, 0.0], **args)
    np.testing.assert_allclose(fit.coefficients[0], w, rtol=1e-6, atol=1e-9)


@pytest.mark.usefixtures("x64")
def test_fit_coefficients_runs_in_float32_under_x64() -> None:
    """Under x64 every array of the fit stays float32 (the grid, the losses, Adam's moments); the
    only float64 values are scalars: optax's own bias corrections ``1 − β^t``, which it casts back."""
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    jaxpr = jax.make_jaxpr(
        lambda w, lr, decay_step, decay, tol: polar._fit(w, lr, decay_step, decay, tol, 3, 5, 64, 30, False)
    )(f32([1.5, -0.5, 0.0]), f32(1e-3), jnp.asarray(10), f32(0.1), f32(0.1))
    text = str(jaxpr)
    assert "f32[64]" in text  # the grid, as the check below would see it
    assert set(re.findall(r"f64\[[^\]]*\]", text)) == {"f64[]"}


def test_fit_coefficients_defaults_are_the_posts() -> None:
    """k = 50 of 10000 points, 20000 Adam steps at 1e-3, times 0.1 after step 10000, tol = 0.1,
    five steps of one shared quintic, no bias correction."""
    init = [1.5, -0.5, 0.0]
    small = {"k": 5, "points": 100}
    default = polar.fit_coefficients(init, **small)
    explicit = polar.fit_coefficients(init, 5, iters=20000, lr=1e-3, decay_step=10000, decay=0.1,
                                      tol=0.1, bias_correction=False, **small)
    for a, b in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(a, b)
    one = polar.fit_coefficients(init, iters=1)
    np.testing.assert_array_equal(one.path, polar.fit_coefficients(init, iters=1, k=50, points=10000).path)
    # the smallest accepted settings run
    assert polar.fit_coefficients(init, 1, k=2, points=2, iters=1, decay_step=0, tol=0.0).path.shape == (1, 3)


# ---------------------------------------------------------------------------------------------
# Optimal odd polynomials and the greedy recursion


def test_flat_odd_polynomial_closed_forms() -> None:
    assert polar.flat_odd_polynomial(1) == (Fraction(1),)
    assert polar.flat_odd_polynomial(3) == (Fraction(3, 2), Fraction(-1, 2))
    assert polar.flat_odd_polynomial(5) == (Fraction(15, 8), Fraction(-10, 8), Fraction(3, 8))
    assert polar.flat_odd_polynomial(7) == tuple(Fraction(v, 16) for v in (35, -35, 21, -5))
    for degree in (9, 11):
        c = polar.flat_odd_polynomial(degree)
        assert sum(c) == 1  # p(1) = 1
        derivative = [(2 * j + 1) * cj for j, cj in enumerate(c)]  # p'(x) = k (1 - x²)^n
        n = (degree - 1) // 2
        assert derivative == [derivative[0] * math.comb(n, j) * (-1) ** j for j in range(n + 1)]


def test_optimal_odd_line_is_the_closed_form() -> None:
    """Degree 1: c₁ = 2/(lo + hi), E = (hi − lo)/(hi + lo)."""
    with mpmath.workdps(40):
        a, b = mpmath.mpf("0.2"), mpmath.mpf("0.9")
        c1, err = polar.optimal_odd_polynomial(1, "0.2", "0.9")
        assert abs(c1 - 2 / (a + b)) < mpmath.mpf(10) ** -35
        assert abs(err - (b - a) / (b + a)) < mpmath.mpf(10) ** -35


def test_optimal_odd_cubic_is_the_closed_form() -> None:
    """Post 10996, eq. (11): x1² = (l² + lu + u²)/3, k = −6/(l²u + lu² + 2x1³), p' = k(x² − x1²)."""
    with mpmath.workdps(40):
        for lo, hi in (("0.001", "1"), ("0.3", "0.9"), ("0.99", "1")):
            v, u = mpmath.mpf(lo), mpmath.mpf(hi)
            x1 = mpmath.sqrt((v * v + v * u + u * u) / 3)
            k = -6 / (v * v * u + v * u * u + 2 * x1**3)
            c1, c3, err = polar.optimal_odd_polynomial(3, lo, hi)
            assert abs(c1 - (-k * x1 * x1)) < mpmath.mpf(10) ** -33
            assert abs(c3 - k / 3) < mpmath.mpf(10) ** -33
            assert abs(err - (1 - (c1 * v + c3 * v**3))) < mpmath.mpf(10) ** -33


def test_optimal_odd_polynomial_works_at_dps_digits() -> None:
    forty = polar.optimal_odd_polynomial(5, "0.1", "1")
    assert forty == polar.optimal_odd_polynomial(5, "0.1", "1", dps=40)
    assert forty != polar.optimal_odd_polynomial(5, "0.1", "1", dps=41)
    twenty = polar.optimal_odd_polynomial(5, "0.1", "1", dps=20)  # the least accepted
    assert all(abs(a - b) < 1e-15 for a, b in zip(forty, twenty, strict=True))
    assert polar.optimal_odd_quintic(0.1, 1.0) == polar.optimal_odd_polynomial(5, 0.1, 1.0)
    assert polar.optimal_odd_quintic(0.1, 1.0, dps=30) == polar.optimal_odd_polynomial(5, 0.1, 1.0, dps=30)


def test_optimal_odd_quintic_is_degree_5_and_reproduces_the_post() -> None:
    a, b, c, err = polar.optimal_odd_quintic(1e-3, 1.0)
    assert (a, b, c, err) == polar.optimal_odd_polynomial(5, 1e-3, 1.0)
    # post 10996, eq. (12): 8.4703 x − 25.1081 x³ + 18.6293 x⁵, E = 0.9915
    for got, want in ((a, 8.4703), (b, -25.1081), (c, 18.6293), (err, 0.9915)):
        assert abs(float(got) - want) < 1e-4


def test_optimal_odd_quintic_on_a_point_is_the_flat_limit() -> None:
    """lo = hi = u: (15/8, −10/8, 3/8) scaled to u, E = 0, at dps digits."""
    for dps in (40, 25):
        with mpmath.workdps(dps):
            u = mpmath.mpf(0.7)
            expected = (15 / (8 * u), -10 / (8 * u**3), 3 / (8 * u**5), mpmath.mpf(0))
        got = polar.optimal_odd_quintic(0.7, 0.7, **({} if dps == 40 else {"dps": dps}))
        assert got == expected


def test_optimal_odd_quintic_equioscillates() -> None:
    a, b, c, err = (float(v) for v in polar.optimal_odd_quintic(0.1, 1.0))
    x = np.linspace(0.1, 1.0, 200001)
    dev = 1 - (a * x + b * x**3 + c * x**5)
    assert abs(np.abs(dev).max() - abs(err)) < 1e-9
    assert abs(dev[0] - err) < 1e-12 and abs(dev[-1] + err) < 1e-12  # alternation at the ends


@pytest.mark.parametrize("degree", [3, 5, 7, 9])
def test_optimal_odd_polynomial_equioscillates_and_is_scale_invariant(degree: int) -> None:
    *odd, err = polar.optimal_odd_polynomial(degree, "0.01", "1")
    x = np.linspace(0.01, 1.0, 400001)
    p = sum(float(c) * x ** (2 * j + 1) for j, c in enumerate(odd))
    dev = 1 - p
    assert abs(np.abs(dev).max() - float(err)) < 1e-9
    assert abs(dev[0] - float(err)) < 1e-12  # a minimum of p at lo (σ = 1 in the theorem)
    n = (degree - 1) // 2
    assert abs(dev[-1] + (-1) ** n * float(err)) < 1e-12  # p(hi) = 1 + (−1)^n E
    # post 10996, eqs. (16)–(17): [a, b] and [a/b, 1] have the same error, c_k scaled by b^k
    for lo, hi in (("0.005", "0.5"), ("0.01e-8", "1e-8")):
        *odd_b, err_b = polar.optimal_odd_polynomial(degree, lo, hi)
        with mpmath.workdps(40):
            assert abs(err_b - err) < mpmath.mpf(10) ** -30
            for j, (cb, c) in enumerate(zip(odd_b, odd, strict=True)):
                scaled = cb * mpmath.mpf(hi) ** (2 * j + 1)
                assert abs(scaled - c) < mpmath.mpf(10) ** -30 * abs(c)


def test_optimal_odd_polynomial_on_a_narrow_interval_is_the_flat_limit() -> None:
    flat = [float(c) for c in polar.flat_odd_polynomial(7)]
    *odd, err = polar.optimal_odd_polynomial(7, 1 - 1e-6, 1.0)  # solved: close to the limit
    np.testing.assert_allclose([float(c) for c in odd], flat, rtol=1e-5)
    assert 0 < err < 1e-24
    # relative width below 10⁻¹⁴: the limit scaled to hi, with its own error 1 − p(lo)
    for lo, hi in (("0.99999999999999999999", "1"), ("0.499999999999999999", "0.5")):
        *odd, err = polar.optimal_odd_polynomial(5, lo, hi)
        with mpmath.workdps(40):
            a, b = mpmath.mpf(lo), mpmath.mpf(hi)
            want = [mpmath.mpf(c.numerator) / c.denominator / b ** (2 * j + 1)
                    for j, c in enumerate(polar.flat_odd_polynomial(5))]
            for got, w in zip(odd, want, strict=True):
                assert abs(got - w) < mpmath.mpf(10) ** -36 * abs(w)
            expected_err = 1 - sum(w * a ** (2 * j + 1) for j, w in enumerate(want))
            assert abs(err - expected_err) < mpmath.mpf(10) ** -38  # both below 10⁻⁴⁰


def test_greedy_cubic_recursion_is_the_closed_form_step_by_step() -> None:
    """cushion = 0, degree 3: each step is (11) on [ℓ, u]; p(ℓ) = p(u) is the minimum."""
    sched = polar.polar_express_schedule(1e-2, 6, degree=3, cushion=0.0, flat=0.0)
    assert len(sched.coefficients) == 6 and len(sched.lower) == len(sched.upper) == 7
    with mpmath.workdps(40):
        v, u = mpmath.mpf(1e-2), mpmath.mpf(1)
        assert sched.lower[0] == v and sched.upper[0] == u
        for t in range(6):
            x1 = mpmath.sqrt((v * v + v * u + u * u) / 3)
            k = -6 / (v * v * u + v * u * u + 2 * x1**3)
            c1, c3 = -k * x1 * x1, k / 3
            low, high = c1 * v + c3 * v**3, c1 * x1 + c3 * x1**3
            gamma = 2 / (low + high)
            for got, want in zip(sched.coefficients[t], (gamma * c1, gamma * c3), strict=True):
                assert abs(got - want) < mpmath.mpf(10) ** -30
            v, u = gamma * low, gamma * high
            assert abs(sched.lower[t + 1] - v) < mpmath.mpf(10) ** -30
            assert abs(sched.upper[t + 1] - (2 - v)) < mpmath.mpf(10) ** -30


@pytest.mark.parametrize("degree", [5, 7])
def test_greedy_recursion_ranges(degree: int) -> None:
    sched = polar.polar_express_schedule(1e-3, 4, degree=degree, cushion=0.0, flat=0.0)
    for t, row in enumerate(sched.coefficients):
        lo, hi = float(sched.lower[t]), float(sched.upper[t])
        x = np.linspace(lo, hi, 200001)
        p = sum(float(c) * x ** (2 * j + 1) for j, c in enumerate(row))
        assert abs(p.min() - float(sched.lower[t + 1])) < 1e-9
        assert abs(p.max() - float(sched.upper[t + 1])) < 1e-9
        assert abs(p.min() + p.max() - 2) < 1e-9
    # the recursion's error 1 − ℓ_T is the scalar map's worst error on [ℓ, 1]
    rows = [tuple(float(c) for c in row) for row in sched.coefficients]
    worst = polar.sv_error_profile(rows, 1e-3, points=200001)
    np.testing.assert_allclose(worst, [1 - float(v) for v in sched.lower[1:]], rtol=1e-6)


def test_greedy_step_with_a_cushion_takes_the_limit_at_the_threshold() -> None:
    """cushion 1/2 on [0.2, 1]: the fit interval [1/2, 1] has ℓ/u = 1 − flat for flat = 1/2, so
    the step is the flat limit (15x − 10x³ + 3x⁵)/8, recentred over [0.2, 1] (p(1) = 1 the max)."""
    sched = polar.polar_express_schedule(0.2, 1, cushion=0.5, flat=0.5)
    with mpmath.workdps(40):
        flat = [mpmath.mpf(c.numerator) / c.denominator for c in polar.flat_odd_polynomial(5)]
        low = sum(c * mpmath.mpf(0.2) ** (2 * j + 1) for j, c in enumerate(flat))
        gamma = 2 / (low + 1)
        for got, c in zip(sched.coefficients[0], flat, strict=True):
            assert abs(got - gamma * c) < mpmath.mpf(10) ** -38
        assert abs(sched.lower[1] - gamma * low) < mpmath.mpf(10) ** -38
        assert abs(sched.upper[1] - gamma) < mpmath.mpf(10) ** -38


def test_polar_express_recursion_reproduces_published() -> None:
    ours = np.array(polar.polar_express_coefficients())  # ell = 1e-3, 8 quintics, the paper's cushion
    pub = np.array(polar.PUBLISHED_POLAR_EXPRESS)
    assert ours.shape == (8, 3)
    np.testing.assert_allclose(ours[:6], pub[:6], rtol=1e-13)
    np.testing.assert_allclose(ours[6:], pub[6:], rtol=1e-8)


def test_flat_default_follows_the_cushion() -> None:
    """No cushion: every step exact (flat = 0); with one: the paper's limit shortcut."""
    exact = polar.polar_express_schedule(1e-3, 9, cushion=0.0)
    assert exact.coefficients == polar.polar_express_schedule(1e-3, 9, cushion=0.0,
                                                              flat=0.0).coefficients
    # from ℓ = 0.9, ℓ/u = 1 − 9.5e-13 after two steps: between 1 − PAPER_FLAT and the flat limit
    # that optimal_odd_polynomial takes itself (1 − FLAT_WIDTH), so the third step tells them apart
    fast = polar.polar_express_schedule(0.9, 3, cushion=0.0)
    assert fast == polar.polar_express_schedule(0.9, 3, cushion=0.0, flat=0.0)
    assert fast != polar.polar_express_schedule(0.9, 3, cushion=0.0, flat=polar.PAPER_FLAT)
    paper = polar.polar_express_schedule()
    assert paper == polar.polar_express_schedule(1e-3, 8, degree=5, cushion=polar.PAPER_CUSHION,
                                                 flat=polar.PAPER_FLAT, dps=40)
    # the paper's shortcut is visible in the last step, the exact step is not the limit
    flat5 = [float(c) for c in polar.flat_odd_polynomial(5)]
    assert max(abs(float(a) - b) for a, b in zip(paper.coefficients[-1], flat5, strict=True)) < 1e-8
    assert exact.coefficients[6] != paper.coefficients[6]


def test_polar_express_coefficients_pass_flat_on() -> None:
    for flat in (0.0, 0.5):
        sched = polar.polar_express_schedule(0.2, 2, cushion=0.0, flat=flat)
        rows = polar.polar_express_coefficients(0.2, 2, cushion=0.0, flat=flat)
        assert rows == [tuple(float(c) for c in row) for row in sched.coefficients]
    assert (polar.polar_express_coefficients(0.2, 2, cushion=0.0, flat=0.5)
            != polar.polar_express_coefficients(0.2, 2, cushion=0.0, flat=0.0))


def test_polar_express_coefficients_are_the_schedule_as_floats() -> None:
    kwargs = {"degree": 7, "cushion": 0.05, "flat": 1e-3, "dps": 30}
    rows = polar.polar_express_coefficients(1e-2, 3, **kwargs)
    sched = polar.polar_express_schedule(1e-2, 3, **kwargs)
    assert rows == [tuple(float(c) for c in row) for row in sched.coefficients]
    assert all(type(c) is float for row in rows for c in row)


# ---------------------------------------------------------------------------------------------
# Power iteration


def _power_reference(w: np.ndarray, v0: np.ndarray, iters: int, tol: float) -> tuple:
    """power_iteration written out in NumPy: (σ, u, v, iterations, residual, residuals)."""

    def triplet(v: np.ndarray) -> tuple:
        wv = w @ v
        sigma = np.linalg.norm(wv)
        safe = sigma if sigma > 0 else 1.0
        u = wv / safe
        wtu = u @ w
        return sigma, u, wtu, np.linalg.norm(wtu - sigma * v) / safe

    v = v0 / np.linalg.norm(v0)
    sigma, u, wtu, res = triplet(v)
    k, residuals = 0, [res]
    while k < iters and res > tol:
        v = wtu / np.linalg.norm(wtu)
        sigma, u, wtu, res = triplet(v)
        k += 1
        residuals.append(res)
    return sigma, u, v, k, res, np.array(residuals)


def _check_power(result: polar.PowerIteration, reference: tuple) -> None:
    sigma, u, v, k, res, _ = reference
    assert int(result.iterations) == k
    assert float(result.sigma) == pytest.approx(sigma, rel=1e-13)
    np.testing.assert_allclose(result.u, u, atol=1e-11)
    np.testing.assert_allclose(result.v, v, atol=1e-11)
    assert float(result.residual) == pytest.approx(res, rel=1e-4, abs=1e-15)


def test_power_iteration_is_the_algorithm_written_out(matrix_with_singular_values) -> None:
    w = np.asarray(matrix_with_singular_values(np.array([2.0, 1.8, 1.0, 0.1]), 10, seed=5))
    key = jax.random.key(7)
    v0 = np.asarray(jax.random.normal(key, (4,), dtype=jnp.float64))
    ref = _power_reference(w, v0, 1000, 1e-8)
    residuals = ref[-1]
    assert residuals[-2] > 1.05e-8 and residuals[-1] < 0.95e-8  # stopped by tol, clearly
    _check_power(polar.power_iteration(w, tol=1e-8, key=key), ref)
    _check_power(polar.power_iteration(w, 5, 1e-8, key=key), _power_reference(w, v0, 5, 1e-8))
    assert abs(float(polar.power_iteration(w, tol=1e-8, key=key).sigma) - 2.0) < 1e-12
    # the stop is inclusive: a tolerance equal to the residual after 5 steps stops there
    fifth = polar.power_iteration(w, 5, 1e-30, key=key).residual
    assert int(polar.power_iteration(w, 6, float(fifth), key=key).iterations) == 5
    # σ₁ and u₁v₁ᵀ, the gradient of ‖W‖₂
    sigma, u, v = polar.top_singular_triplet(w, tol=1e-12)
    assert abs(float(sigma) - 2.0) < 1e-12
    grad = jax.grad(lambda x: jnp.linalg.svd(x, compute_uv=False)[0])(jnp.asarray(w))
    np.testing.assert_allclose(jnp.outer(u, v), grad, atol=1e-10)


def test_power_iteration_defaults_cap_and_zero_matrix(matrix_with_singular_values) -> None:
    # σ₂/σ₁ = 0.999: tol = 1e-6 is out of reach in 1000 steps; the default key is key(0)
    w = np.asarray(matrix_with_singular_values(np.array([1.0, 0.999, 0.5]), 6, seed=2))
    v0 = np.asarray(jax.random.normal(jax.random.key(0), (3,), dtype=jnp.float64))
    ref = _power_reference(w, v0, 1000, 1e-6)
    assert ref[3] == 1000 and ref[4] > 1e-6
    default = polar.power_iteration(w)
    _check_power(default, ref)
    for a, b in zip(default, polar.power_iteration(w, 1000, 1e-6, key=jax.random.key(0)), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(polar.top_singular_triplet(w), default[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    key = jax.random.key(3)
    for a, b in zip(polar.top_singular_triplet(w, 7, 1e-3, key=key),
                    polar.power_iteration(w, 7, 1e-3, key=key)[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    # W = 0: σ = 0, u = 0, no step taken
    zero = polar.power_iteration(jnp.zeros((4, 3)))
    assert float(zero.sigma) == 0 and int(zero.iterations) == 0 and float(zero.residual) == 0
    np.testing.assert_array_equal(zero.u, np.zeros(4))
    np.testing.assert_allclose(zero.v, v0 / np.linalg.norm(v0), rtol=1e-15)
    # float32 in, float32 out
    single = polar.power_iteration(jnp.asarray(w, dtype=jnp.float32), tol=1e-3)
    assert single.sigma.dtype == single.u.dtype == single.v.dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# Bad input: a ValueError whose message is matched whole


SCHEDULE_NAMES = ", ".join(repr(name) for name in sorted(polar.SCHEDULES))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # Schedule
        (lambda: polar.Schedule("s", ((1.0, 2.0), (1.0, 2.0, 3.0)), default_steps=2),
         "schedule 's': coeffs must be rows of one length >= 2 (c1, c3, c5, ...), got row lengths [2, 3]"),
        (lambda: polar.Schedule("s", ((1.0,),), default_steps=1),
         "schedule 's': coeffs must be rows of one length >= 2 (c1, c3, c5, ...), got row lengths [1]"),
        (lambda: polar.Schedule("s", (), default_steps=1),
         "schedule 's': coeffs must be rows of one length >= 2 (c1, c3, c5, ...), got row lengths []"),
        (lambda: polar.Schedule("s", ((1.0, math.nan),), default_steps=1),
         "schedule 's': coeffs must have only finite entries"),
        (lambda: polar.Schedule("s", ((1.0, 2.0),), default_steps=0), "default_steps must be >= 1, got 0"),
        (lambda: polar.Schedule("s", ((1.0, 2.0),), default_steps=1, safety=0.5),
         "schedule 's': safety must be >= 1, got 0.5"),
        (lambda: polar.Schedule("s", ((1.0, 2.0),), default_steps=1, safety=math.inf),
         "safety must be finite, got inf"),
        # coefficient tables and steps
        (lambda: polar.schedule_coefficients("nope"), f"coeffs must be one of {SCHEDULE_NAMES}, got 'nope'"),
        (lambda: polar.schedule_coefficients([["a", "b"]]),
         "coeffs must be a schedule name, a Schedule or a (steps, k) table of odd coefficients "
         "(c1, c3, c5, ...)"),
        (lambda: polar.schedule_coefficients([1.0]),
         "coeffs must be a (steps, k) table of odd coefficients (c1, c3, c5, ...) with k >= 2, "
         "got shape (1,)"),
        (lambda: polar.schedule_coefficients([[1.0], [2.0]]),
         "coeffs must be a (steps, k) table of odd coefficients (c1, c3, c5, ...) with k >= 2, "
         "got shape (2, 1)"),
        (lambda: polar.schedule_coefficients(np.ones((2, 3, 1))),
         "coeffs must be a (steps, k) table of odd coefficients (c1, c3, c5, ...) with k >= 2, "
         "got shape (2, 3, 1)"),
        (lambda: polar.schedule_coefficients(np.ones((0, 3))),
         "coeffs must be a (steps, k) table of odd coefficients (c1, c3, c5, ...) with k >= 2, "
         "got shape (0, 3)"),
        (lambda: polar.schedule_coefficients([[1.0, 2.0, np.inf]]), "coeffs must have only finite entries"),
        (lambda: polar.schedule_coefficients("jordan", 0), "steps must be >= 1, got 0"),
        (lambda: polar.method_coefficients("qr"), "method must be one of 'svd', 'newton_schulz', got 'qr'"),
        (lambda: polar.method_coefficients("svd", 3),
         "steps and coeffs apply only to method='newton_schulz'"),
        (lambda: polar.method_coefficients("svd", coeffs="jordan"),
         "steps and coeffs apply only to method='newton_schulz'"),
        # msign, newton_schulz, svd, nuclear_norm
        (lambda: polar.msign(jnp.ones(3)), "M must be 2-D, got shape (3,)"),
        (lambda: polar.msign(jnp.ones((2, 2, 2))), "M must be 2-D, got shape (2, 2, 2)"),
        (lambda: polar.msign(jnp.array([[1.0, jnp.nan]])), "M must have only finite entries"),
        (lambda: polar.msign(jnp.ones((2, 2), dtype=jnp.int32)), "M must have a floating dtype, got int32"),
        (lambda: polar.msign(jnp.ones((2, 2)), normalize="schatten8"),
         "normalize applies only to method='newton_schulz'"),
        (lambda: polar.msign(jnp.ones((2, 2)), "newton_schulz", normalize="l1"),
         "normalize must be one of 'frobenius', 'schatten4', 'schatten8', got 'l1'"),
        (lambda: polar.newton_schulz(jnp.ones(2), jnp.ones((3, 2))), "M must be 2-D, got shape (2,)"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones(3)), "table must be 2-D, got shape (3,)"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones((3, 1))),
         "table must be a (steps, k) table of odd coefficients (c1, c3, ...) with k >= 2, got shape (3, 1)"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones((3, 2)), 0.0), "safety must be > 0, got 0.0"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones((3, 2)), precision="fast"),
         "precision must be one of 'highest', 'high', 'default', got 'fast'"),
        (lambda: polar.newton_schulz(jnp.ones((2, 2)), jnp.ones((3, 2)), normalize="l1"),
         "normalize must be one of 'frobenius', 'schatten4', 'schatten8', got 'l1'"),
        (lambda: polar.svd(jnp.ones(3)), "M must be a matrix (or a batch of them), got shape (3,)"),
        (lambda: polar.svd(jnp.array([[jnp.inf]])), "M must have only finite entries"),
        (lambda: polar.nuclear_norm(jnp.ones(3)), "M must be 2-D, got shape (3,)"),
        # the scalar map, the profile, the headroom
        (lambda: polar.singular_value_iterates("jordan", [np.inf]), "x0 must have only finite entries"),
        (lambda: polar.sv_error_profile("cubic", 1.0),
         "ell must be < 1 (a singular value relative to ‖M‖_F), got 1.0"),
        (lambda: polar.sv_error_profile("cubic", 0.0), "ell must be > 0, got 0.0"),
        (lambda: polar.sv_error_profile("cubic", points=1), "points must be >= 2, got 1"),
        (lambda: polar.schedule_headroom("jordan", upto=1.0), "upto must be > 1, got 1.0"),
        (lambda: polar.schedule_headroom("jordan", upto=math.nan), "upto must be finite, got nan"),
        (lambda: polar.schedule_headroom("jordan", points=1), "points must be >= 2, got 1"),
        # the loss and the fit
        (lambda: polar.topk_loss(jnp.ones(3), jnp.ones(5), 2), "table must be 2-D, got shape (3,)"),
        (lambda: polar.topk_loss(jnp.ones((2, 3)), jnp.ones((1, 5)), 2), "x0 must be 1-D, got shape (1, 5)"),
        (lambda: polar.topk_loss(jnp.ones((2, 3)), jnp.ones(5), 0), "k must be >= 1, got 0"),
        (lambda: polar.topk_loss(jnp.ones((2, 3)), jnp.ones(5), 6), "k must be <= 5, got 6"),
        (lambda: polar.fit_coefficients(np.ones((2, 2, 3))),
         "init must be a finite (w,) or (T, w) table with w >= 2, got shape (2, 2, 3)"),
        (lambda: polar.fit_coefficients([[1.0]]),
         "init must be a finite (w,) or (T, w) table with w >= 2, got shape (1, 1)"),
        (lambda: polar.fit_coefficients(np.ones((0, 3))),
         "init must be a finite (w,) or (T, w) table with w >= 2, got shape (0, 3)"),
        (lambda: polar.fit_coefficients([1.0, np.nan]),
         "init must be a finite (w,) or (T, w) table with w >= 2, got shape (2,)"),
        (lambda: polar.fit_coefficients(np.ones((4, 3)), steps=5),
         "steps = 5 but init has 4 rows (one per step)"),
        (lambda: polar.fit_coefficients(np.ones((4, 3)), steps=0), "steps must be >= 1, got 0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], steps=0), "steps must be >= 1, got 0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], points=1), "points must be >= 2, got 1"),
        (lambda: polar.fit_coefficients([1.0, 0.0], k=0), "k must be >= 1, got 0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], k=201, points=200), "k must be <= 200, got 201"),
        (lambda: polar.fit_coefficients([1.0, 0.0], iters=0), "iters must be >= 1, got 0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], decay_step=-1), "decay_step must be >= 0, got -1"),
        (lambda: polar.fit_coefficients([1.0, 0.0], lr=0.0), "lr must be > 0, got 0.0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], decay=0.0), "decay must be > 0, got 0.0"),
        (lambda: polar.fit_coefficients([1.0, 0.0], tol=-1.0), "tol must be >= 0, got -1.0"),
        # optimal odd polynomials and the recursion
        (lambda: polar.flat_odd_polynomial(2), "degree must be odd (the polynomial is odd), got 2"),
        (lambda: polar.optimal_odd_polynomial(4, 0.1, 1.0),
         "degree must be odd (the polynomial is odd), got 4"),
        (lambda: polar.optimal_odd_polynomial(-1, 0.1, 1.0), "degree must be >= 1, got -1"),
        (lambda: polar.optimal_odd_polynomial(3.0, 0.1, 1.0),
         "degree must be an integer, got 3.0 of type float"),
        (lambda: polar.optimal_odd_polynomial(5, 0.0, 1.0), "lo must be > 0, got 0.0"),
        (lambda: polar.optimal_odd_polynomial(5, 0.5, -1.0), "hi must be > 0, got -1.0"),
        (lambda: polar.optimal_odd_polynomial(5, 0.5, 0.5), "lo must be < hi, got lo = 0.5, hi = 0.5"),
        (lambda: polar.optimal_odd_polynomial(5, 0.6, 0.5), "lo must be < hi, got lo = 0.6, hi = 0.5"),
        (lambda: polar.optimal_odd_polynomial(5, 0.1, 1.0, dps=19), "dps must be >= 20, got 19"),
        (lambda: polar.optimal_odd_quintic(1.0, 0.5), "lo must be <= hi, got lo=1.0, hi=0.5"),
        (lambda: polar.optimal_odd_quintic(0.0, 0.5), "lo must be > 0, got 0.0"),
        (lambda: polar.optimal_odd_quintic(0.0, 0.0), "lo must be > 0, got 0.0"),
        (lambda: polar.optimal_odd_quintic(0.5, -1.0), "hi must be > 0, got -1.0"),
        (lambda: polar.polar_express_schedule(1.0, 3), "ell must be < 1, got 1.0"),
        (lambda: polar.polar_express_schedule(0.0, 3), "ell must be > 0, got 0.0"),
        (lambda: polar.polar_express_schedule(1e-3, 0), "steps must be >= 1, got 0"),
        (lambda: polar.polar_express_schedule(1e-3, 3, degree=4),
         "degree must be odd (the polynomial is odd), got 4"),
        (lambda: polar.polar_express_schedule(1e-3, 3, cushion=1.0), "cushion must be < 1, got 1.0"),
        (lambda: polar.polar_express_schedule(1e-3, 3, cushion=-0.1), "cushion must be >= 0, got -0.1"),
        (lambda: polar.polar_express_schedule(1e-3, 3, flat=-1.0), "flat must be >= 0, got -1.0"),
        (lambda: polar.polar_express_schedule(1e-3, 3, dps=19), "dps must be >= 20, got 19"),
        (lambda: polar.polar_express_coefficients(1e-3, 0), "steps must be >= 1, got 0"),
        # power iteration
        (lambda: polar.power_iteration(jnp.ones(4)), "W must be 2-D, got shape (4,)"),
        (lambda: polar.power_iteration(jnp.ones((2, 2)), iters=0), "iters must be >= 1, got 0"),
        (lambda: polar.power_iteration(jnp.ones((2, 2)), tol=0.0), "tol must be > 0, got 0.0"),
        (lambda: polar.power_iteration(jnp.ones((2, 2)), key=0),
         "key must be a single JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), got int"),
        (lambda: polar.top_singular_triplet(jnp.ones(4)), "W must be 2-D, got shape (4,)"),
    ],
)
def test_bad_input_raises_value_error(call: Callable[[], object], message: str) -> None:
    _raises(call, message)


def test_per_step_tables_are_the_posts_multiples_of_1_1024() -> None:
    """The first row of each table quoted in units of 1/1024 (post 10922's tables), as the post
    prints it: YouJiacheng's, Su's "Ours-X" and "Ours-X2"; every entry is a multiple of 1/1024."""
    first = {"youjiacheng": (3955, -8306, 5008), "su_x": (4140, -7553, 3571), "su_x2": (4059, -7178, 3279)}
    for name, row in first.items():
        coeffs = polar.SCHEDULES[name].coeffs
        assert coeffs[0] == tuple(v / 1024 for v in row), name
        assert all(float(v * 1024).is_integer() for r in coeffs for v in r), name


def test_svd_returns_a_tuple_and_singular_value_iterates_runs_in_float64() -> None:
    """svd's (U, s, Vᵀ) is a tuple; the scalar map is float64 for float32 starting values, and a
    zero last column is dropped down to the linear term ((1, 0) at x = 1e200: no 0·inf)."""
    assert isinstance(polar.svd(np.eye(3)), tuple)
    x32 = np.array([0.1, 0.7], dtype=np.float32)
    it = polar.singular_value_iterates(((1.5, -0.5, 0.0),), x32, 2)
    assert it.dtype == np.float64
    x = x32.astype(np.float64)
    np.testing.assert_allclose(it[0], 1.5 * x - 0.5 * x**3, rtol=1e-15)
    np.testing.assert_array_equal(polar.singular_value_iterates(((1.0, 0.0),), 1e200, 1), [1e200])


@pytest.mark.parametrize("normalize", polar.NORMALIZATIONS)
def test_newton_schulz_and_msign_compute_in_the_input_precision(normalize: str,
                                                                traced_floats: Callable) -> None:
    """float32 in: every value computed is float32 (under x64 a float64 norm, scale or working
    copy would promote it); bfloat16 in: bfloat16, and float32 for the norms and the SVD's
    working copy, never float64. And the SVD msign's rank threshold is float32's for a float32
    matrix: a rank-2 float32 matrix keeps rank 2 (its rounding-level σ₃ ~ 1e-7 σ₁ is dropped)."""
    m = np.random.default_rng(57).standard_normal((6, 4))
    table, _ = polar.schedule_coefficients("polar_express", 3)
    f32, bf16 = jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16)
    fns = (lambda x: polar.newton_schulz(x, table, normalize=normalize), polar.msign)
    for dtype, allowed in ((f32, {f32}), (bf16, {bf16, f32})):
        for fn in fns:
            floats = traced_floats(fn, jnp.asarray(m, dtype=dtype))
            assert dtype in floats and floats <= allowed, (dtype, floats)
    rank2 = jnp.asarray(m[:, :2] @ m[:2, :] / 3, dtype=jnp.float32)  # (6, 4) of rank 2
    assert 1e-9 < np.linalg.svd(np.asarray(rank2, dtype=np.float64), compute_uv=False)[2] < 1e-5
    np.testing.assert_allclose(_sorted_sv(polar.msign(rank2)), [0, 0, 1, 1], atol=1e-5)
