"""Unit tests for kexue_lib.mclip: singular value clipping through msign, and its helpers.

Every formula is compared with the clip computed from NumPy's SVD (an independent route), for
square, tall, wide, rank-deficient and batched matrices; with a Newton–Schulz msign the matrix
computation is compared with the scalar model ``transfer``, which is written separately (a
NumPy recursion on singular values).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kexue_lib import mclip as mc
from kexue_lib import polar

pytestmark = pytest.mark.usefixtures("x64")


def low_rank(shape: tuple[int, int], rank: int, seed: int = 0, top: float = 3.0) -> np.ndarray:
    """A float64 matrix of the given rank, singular values spread over [0.2, top] (both sides of 1)."""
    rng = np.random.default_rng(seed)
    n, m = shape
    u, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    v, _ = np.linalg.qr(rng.standard_normal((m, rank)))
    s = np.geomspace(top, 0.2, rank) if rank > 1 else np.array([top])
    return (u * s) @ v.T


def svd_clip(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """NumPy reference: clip the nonzero singular values into [lo, hi]; the null space stays 0."""
    u, s, vt = np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)
    nonzero = s > 1e-10 * max(s[0], 1e-300)
    return (u * np.where(nonzero, np.clip(s, max(lo, 0.0), hi), 0.0)) @ vt


INTERVALS = [(0.0, 1.0), (-1.0, 1.0), (0.0, 2.5), (-0.5, 0.7)]


@pytest.mark.parametrize("shape", [(6, 6), (9, 5), (5, 9)])
def test_every_method_is_exact_for_every_shape_and_rank(shape: tuple[int, int]) -> None:
    for rank in range(1, min(shape) + 1):
        a = low_rank(shape, rank, seed=rank)
        for lo, hi in INTERVALS:
            ref = svd_clip(a, lo, hi)
            for method in mc.METHODS:
                out = np.asarray(mc.mclip(a, lo=lo, hi=hi, method=method))
                assert out.shape == shape
                np.testing.assert_allclose(out, ref, atol=1e-12, err_msg=f"{method} {rank} {lo} {hi}")


def test_zero_matrix_clips_to_zero() -> None:
    for method in mc.METHODS:
        np.testing.assert_array_equal(mc.mclip(jnp.zeros((5, 3)), method=method), np.zeros((5, 3)))


@pytest.mark.parametrize("shape", [(7, 7), (9, 4), (4, 9)])
def test_general_formula_for_lo_above_zero(shape: tuple[int, int]) -> None:
    """11059 (5) with 0 < α: nonzero singular values into [α, β], the null space stays zero."""
    for rank in (1, min(shape) - 1, min(shape)):
        a = low_rank(shape, rank, seed=10 + rank)
        for lo, hi in ((0.5, 2.0), (0.25, 0.25), (1.5, 4.0)):
            ref = svd_clip(a, lo, hi)
            for method in ("general", "svd"):
                np.testing.assert_allclose(mc.mclip(a, lo=lo, hi=hi, method=method), ref, atol=1e-12)


def test_batched_matches_one_by_one() -> None:
    rng = np.random.default_rng(3)
    batch = rng.standard_normal((2, 3, 7, 4)) * 1.5
    for method in mc.METHODS:
        out = np.asarray(mc.mclip(batch, method=method, hi=1.2))
        assert out.shape == batch.shape
        for i in range(2):
            for j in range(3):
                np.testing.assert_allclose(out[i, j], svd_clip(batch[i, j], 0.0, 1.2), atol=1e-12)


def test_dtype_is_kept() -> None:
    rng = np.random.default_rng(4)
    a = rng.standard_normal((16, 8))
    ns = partial(polar.msign, method="newton_schulz", steps=8)
    ref = svd_clip(a, 0.0, 1.0)
    for dtype, tol in ((jnp.bfloat16, 0.1), (jnp.float32, 1e-5)):
        x = jnp.asarray(a, dtype=dtype)
        for method in mc.METHODS:
            out = mc.mclip(x, method=method)
            assert out.dtype == dtype, (method, dtype)
            # exact msign: the error is rounding in the working precision (σ₁ ≈ 7, eps_bf16 ≈ 4e-3)
            np.testing.assert_allclose(np.asarray(out, dtype=np.float64), ref, atol=tol)
    x = jnp.asarray(a, dtype=jnp.bfloat16)
    for method in mc.FORMULA_METHODS:
        assert mc.mclip(x, method=method, msign=ns).dtype == jnp.bfloat16


def test_post_schedule_is_the_posts_table() -> None:
    table = mc.post_schedule(9)
    assert table.shape == (9, 3)
    for t in range(9):
        a, b, c = mc.POST_COEFFICIENTS[min(t, 6)]
        np.testing.assert_array_equal(table[t], [a / 1.01, b / 1.01**3, c / 1.01**5])
    # 10996's coefficients are the Polar Express ones (steps 1–6 and the limit (15, −10, 3)/8)
    pe = np.array(polar.PUBLISHED_POLAR_EXPRESS)
    np.testing.assert_allclose(np.array(mc.POST_COEFFICIENTS), np.vstack([pe[:6], pe[7:]]), rtol=1e-13)


def test_post_schedule_reproduces_the_posts_msign() -> None:
    """11059's msign, written out in NumPy: wide orientation, y/‖y‖_F, then y ← a y + (b u + c u²) y."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((12, 5))
    y = x.T / np.linalg.norm(x)
    for a, b, c in mc.POST_COEFFICIENTS[:4]:
        a, b, c = a / 1.01, b / 1.01**3, c / 1.01**5
        u = y @ y.T
        y = a * y + (b * u + c * u @ u) @ y
    out = polar.newton_schulz(x, mc.post_schedule(4), safety=1.0)
    np.testing.assert_allclose(out, y.T, atol=1e-13)


@pytest.mark.parametrize("shape", [(24, 10), (10, 24), (12, 12)])
def test_transfer_is_what_the_matrix_computation_does(
    shape: tuple[int, int], matrix_with_singular_values
) -> None:
    k = min(shape)
    s = np.concatenate([np.geomspace(40.0, 1.5, k // 2), np.geomspace(0.9, 0.01, k - k // 2)])
    m = matrix_with_singular_values(s, max(shape), seed=6)
    m = m if shape[0] >= shape[1] else m.T
    u, _, vt = np.linalg.svd(np.asarray(m), full_matrices=False)
    pe_table, pe_safety = polar.schedule_coefficients("polar_express", 5)
    schedules = [(mc.post_schedule(3), 1.0), (pe_table, pe_safety)]
    cases = [(method, 0.0, 1.0) for method in mc.FORMULA_METHODS] + [
        ("general", -1.0, 1.0), ("general", 0.3, 2.0), ("odd", 0.0, 2.0), ("block", -1.0, 0.5)]
    for table, safety in schedules:
        ns = partial(polar.newton_schulz, table=table, safety=safety)
        for method, lo, hi in cases:
            f = mc.transfer(method, s, lo=lo, hi=hi, table=table, safety=safety, rows=max(shape))
            out = mc.mclip(m, lo=lo, hi=hi, method=method, msign=ns)
            np.testing.assert_allclose(out, (u * f) @ vt, atol=1e-10 * max(1.0, np.abs(f).max()),
                                       err_msg=f"{method} [{lo}, {hi}]")


def test_transfer_with_exact_sign_is_the_clip() -> None:
    s = np.array([5.0, 2.0, 1.0, 0.7, 0.1, 0.0])
    for method in mc.METHODS:
        for lo, hi in ((0.0, 1.0), (-1.0, 1.0), (0.0, 3.0)):
            np.testing.assert_allclose(mc.transfer(method, s, lo=lo, hi=hi, rows=9), np.clip(s, 0, hi),
                                       atol=1e-15)
    np.testing.assert_allclose(mc.transfer("general", s, lo=0.5, hi=3.0), [3, 2, 1, 0.7, 0.5, 0], atol=1e-15)


def test_transfer_svd_branch_and_its_edges() -> None:
    """"svd" is the exact clip whatever the table; for lo > 0 the null space stays zero and the
    other singular values go into [lo, hi]; lo = hi is a clip to one value. One singular value,
    a two-column table (the cubic step a·x + b·x³, as its three-column form with c = 0), and
    float32 singular values (computed in float64, as their float64 copies) are accepted."""
    s = np.array([3.0, 2.0, 1.0, 0.7, 0.3, 0.0])
    table = mc.post_schedule(2)
    np.testing.assert_array_equal(mc.transfer("svd", s, hi=2.0, table=table, safety=1.5), np.clip(s, 0, 2))
    np.testing.assert_array_equal(mc.transfer("svd", s, lo=-1.0, hi=2.0), np.clip(s, 0, 2))
    np.testing.assert_array_equal(mc.transfer("svd", s, lo=0.5, hi=2.0), [2, 2, 1, 0.7, 0.5, 0])
    np.testing.assert_array_equal(mc.transfer("svd", s, lo=1.0, hi=1.0), [1, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(mc.transfer("general", s, lo=1.0, hi=1.0), [1, 1, 1, 1, 1, 0], atol=1e-15)
    assert mc.transfer("odd", [2.0]).tolist() == [1.0]
    np.testing.assert_array_equal(mc.transfer("odd", s, table=[[1.5, -0.5]]),
                                  mc.transfer("odd", s, table=[[1.5, -0.5, 0.0]]))
    single = s.astype(np.float32)
    out = mc.transfer("odd", single, table=table)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, mc.transfer("odd", single.astype(np.float64), table=table))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "exact"}, r"^method must be one of .*, got 'exact'$"),
        ({"s": np.ones((2, 2))}, r"^s must be a non-empty 1-D array of finite singular values >= 0$"),
        ({"s": np.ones(0)}, r"^s must be a non-empty 1-D array"),
        ({"s": np.array([1.0, np.inf])}, r"^s must be a non-empty 1-D array"),
        ({"s": np.array([1.0, -0.5])}, r"^s must be a non-empty 1-D array"),
        ({"lo": "a"}, r"^lo must be a real number"),
        ({"hi": "a"}, r"^hi must be a real number"),
        ({"hi": 0.0}, r"^hi must be > 0, got 0.0$"),
        ({"lo": -1.0, "hi": -2.0}, r"^hi must be > 0"),
        ({"method": "general", "lo": 2.0, "hi": 1.0}, r"^lo must be <= hi, got lo=2.0, hi=1.0$"),
        ({"lo": 0.5}, r"^method='odd' is derived for \[0, 1\]: lo must be <= 0, got 0.5$"),
        ({"rows": 3}, r"^rows must be >= 4, got 3$"),
        ({"safety": 0.0}, r"^safety must be > 0, got 0.0$"),
        ({"safety": "a"}, r"^safety must be a real number"),
        ({"table": np.ones((3, 1))}, r"^table must be a finite \(steps, k\) array, k >= 2, got shape \(3, 1"),
        ({"table": np.ones(3)}, r"^table must be a finite \(steps, k\) array, k >= 2, got shape \(3,\)$"),
        ({"table": np.array([[1.0, np.nan]])}, r"^table must be a finite"),
    ],
)
def test_transfer_bad_input(kwargs: dict, match: str) -> None:
    args = {"method": "odd", "s": np.ones(4)} | kwargs
    with pytest.raises(ValueError, match=match):
        mc.transfer(args.pop("method"), args.pop("s"), **args)


def test_transfer_block_depends_on_rows() -> None:
    s = np.array([30.0, 3.0, 0.5])
    table = mc.post_schedule(2)
    wide = mc.transfer("block", s, table=table, rows=40)
    square = mc.transfer("block", s, table=table)
    norm = np.sqrt(np.sum((1 + s) ** 2) + np.sum((1 - s) ** 2) + 37)

    def g(x: np.ndarray) -> np.ndarray:
        y = x / norm
        for a, b, c in table:
            y = a * y + b * y**3 + c * y**5
        return y

    # f = (g₊ − g₋)/2 + σ(g₊ + g₋)/2 cancels for σ = 30: absolute float64 rounding ~30 eps
    np.testing.assert_allclose(wide, (g(1 + s) - g(1 - s)) / 2 + s * (g(1 + s) + g(1 - s)) / 2, atol=1e-13)
    assert np.all(np.abs(wide - square) > 0)


def test_mstep_is_the_step_of_the_singular_values() -> None:
    for shape, rank in (((8, 5), 5), ((8, 5), 3), ((5, 8), 2), ((6, 6), 6)):
        a = low_rank(shape, rank, seed=20 + rank)
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        ref = (u * np.where(s > 1.0 + 1e-9, 1.0, 0.0)) @ vt
        np.testing.assert_allclose(mc.mstep(a), ref, atol=1e-12)
    batch = np.stack([low_rank((6, 4), 4, seed=i) for i in range(3)])
    out = mc.mstep(batch)
    assert out.shape == batch.shape
    np.testing.assert_allclose(out[1], mc.mstep(batch[1]), atol=1e-14)


def sv_polynomial_reference(a: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    keep = s > 1e-10 * s[0]
    return (u * np.where(keep, np.polynomial.polynomial.polyval(s, coefficients), 0.0)) @ vt


@pytest.mark.parametrize("shape,rank", [((8, 5), 5), ((5, 8), 5), ((8, 5), 2), ((6, 6), 4)])
def test_singular_value_polynomial(shape: tuple[int, int], rank: int) -> None:
    a = low_rank(shape, rank, seed=30 + rank, top=1.7)
    rng = np.random.default_rng(rank)
    for coefficients in (rng.standard_normal(6), rng.standard_normal(3), np.array([0.0, 0.0, 1.0]),
                         np.array([2.0]), np.array([0.0, -1.5])):
        out = mc.singular_value_polynomial(a, coefficients)
        np.testing.assert_allclose(out, sv_polynomial_reference(a, coefficients), atol=1e-12)


def test_power_identities() -> None:
    """11006 (12): U Σ^{2k} Vᵀ = msign(M)(MᵀM)^k and U Σ^{2k+1} Vᵀ = M(MᵀM)^k."""
    a = low_rank((7, 4), 3, seed=40, top=1.4)
    s_m, gram = polar.msign(a), a.T @ a
    for k in range(4):
        even, odd = np.zeros(2 * k + 1), np.zeros(2 * k + 2)
        even[-1], odd[-1] = 1.0, 1.0
        np.testing.assert_allclose(mc.singular_value_polynomial(a, even),
                                   s_m @ np.linalg.matrix_power(gram, k), atol=1e-12)
        np.testing.assert_allclose(mc.singular_value_polynomial(a, odd),
                                   a @ np.linalg.matrix_power(gram, k), atol=1e-12)
    np.testing.assert_allclose(mc.singular_value_polynomial(a, np.array([0, 1])), a, atol=1e-14)


def test_polynomial_batched_and_dtype() -> None:
    batch = np.stack([low_rank((5, 7), 3, seed=i) for i in range(4)])
    c = np.array([0.5, -1.0, 0.25])
    out = mc.singular_value_polynomial(batch, c)
    assert out.shape == batch.shape
    np.testing.assert_allclose(out[2], sv_polynomial_reference(batch[2], c), atol=1e-12)
    assert mc.singular_value_polynomial(batch.astype(np.float32), c).dtype == jnp.float32


@pytest.mark.parametrize("shape", [(12, 5), (5, 12), (7, 7)])
def test_matmul_cost_is_what_the_computation_does(shape: tuple[int, int]) -> None:
    x = jnp.ones(shape)
    for steps in (None, 1, 3):
        ns = None if steps is None else partial(polar.msign, method="newton_schulz", steps=steps)
        for method in mc.METHODS:
            if method == "svd" and steps is not None:
                continue
            run = partial(mc.mclip, method=method, msign=ns)
            traced = mc.traced_matmul_cost(run, x)
            cost = mc.matmul_cost(method, *shape, steps)
            assert (cost.products, cost.flops) == traced, (method, steps)


def test_matmul_cost_hand_values() -> None:
    # nested, 4 × 4, one step: two msigns of 3 products (4·4·16 + 2·64 = 384 flops each), then
    # Sᵀ S₂ and M (Sᵀ S₂), 2·64 flops each
    assert mc.matmul_cost("nested", 4, 4, 1) == (8, 1024, ((4, 4), (4, 4)))
    # block: one msign of the (n + m)-square H, then M R (n × m × m)
    cost = mc.matmul_cost("block", 6, 2, 2)
    assert cost.msigns == ((8, 8),) and cost.products == 7 and cost.flops == 2 * 6 * 8**3 + 2 * 6 * 2 * 2
    assert mc.matmul_cost("odd", 2, 6, 1).msigns == ((6, 2), (2, 2), (2, 2))
    assert mc.matmul_cost("svd", 3, 5) == (1, 2 * 5 * 3 * 3, ())


def test_traced_matmul_cost_counts_loops_and_refuses_while() -> None:
    a = jnp.ones((3, 4))

    def scanned(x: jax.Array) -> jax.Array:
        return jax.lax.scan(lambda c, _: (c @ c.T @ c, None), x, None, length=5)[0]

    assert mc.traced_matmul_cost(scanned, a) == (10, 5 * (2 * 3 * 4 * 3 + 2 * 3 * 3 * 4))
    assert mc.traced_matmul_cost(jax.jit(lambda x: x.T @ x), a) == (1, 2 * 4 * 3 * 4)
    with pytest.raises(ValueError, match="while"):
        mc.traced_matmul_cost(lambda x: jax.lax.while_loop(lambda c: c[0, 0] < 9, lambda c: c @ c, x),
                              jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="callable"):
        mc.traced_matmul_cost(3, a)


def test_clip_errors_against_numpy() -> None:
    rng = np.random.default_rng(7)
    r = rng.standard_normal((20, 9))
    e = rng.standard_normal((20, 9))
    c = np.sort(rng.uniform(0, 1, 9))
    out = mc.clip_errors(r.astype(np.float32), e, c)
    r32 = r.astype(np.float32).astype(np.float64)
    sv = np.linalg.svd(r32, compute_uv=False)
    assert abs(out.spectral_norm - sv[0]) < 1e-12 * sv[0]
    assert abs(out.mean_sv_error - np.mean(np.abs(sv - c[::-1]))) < 1e-10
    assert abs(out.mean_entry_error - np.mean(np.abs(r32 - e))) < 1e-14
    assert mc.clip_errors(r.T, e.T, c) == pytest.approx(mc.clip_errors(r, e, c), rel=1e-12)


def test_spectral_error_against_numpy() -> None:
    rng = np.random.default_rng(8)
    r, e = rng.standard_normal((2, 3, 11, 6)), rng.standard_normal((2, 3, 11, 6))
    out = mc.spectral_error(r, e)
    assert out.shape == (2, 3) and out.dtype == np.float64
    np.testing.assert_allclose(out, np.linalg.norm(r - e, ord=2, axis=(-2, -1)), rtol=1e-12)
    np.testing.assert_allclose(mc.spectral_error(r[0, 0].T, e[0, 0].T), out[0, 0], rtol=1e-12)
    wide = mc.spectral_error(np.swapaxes(r, -2, -1), np.swapaxes(e, -2, -1))  # a batch of wide
    assert wide.shape == (2, 3)
    np.testing.assert_allclose(wide, out, rtol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        mc.spectral_error(r, e[0])


def test_post_spectrum_and_test_matrix() -> None:
    s = mc.post_spectrum()
    assert s.shape == (1024,) and s[0] == 1000.0 and s[-1] == 0.0 and np.all(np.diff(s) <= 0)
    assert np.sum(s >= 1.0) == 128 + 1  # linspace(0, 1, 896) ends at 1 too
    np.testing.assert_allclose(mc.post_spectrum(8, 2, 5.0), [5, 1, 1, 0.8, 0.6, 0.4, 0.2, 0], atol=1e-15)
    # the smallest sizes accepted: m = 2 (linspace(1, σ_max, 1) is [1]), top = m − 1
    np.testing.assert_array_equal(mc.post_spectrum(2, 1, 3.0), [1.0, 0.0])
    np.testing.assert_allclose(mc.post_spectrum(4, 3, 3.0), [3, 2, 1, 0], atol=1e-15)
    spectra = np.stack([mc.post_spectrum(16, 4, t) for t in (1.0, 30.0)])
    m, u, v = mc.with_singular_values(jax.random.key(0), spectra, 40)
    assert m.shape == (2, 40, 16) and u.shape == (40, 16) and v.shape == (16, 16)
    np.testing.assert_allclose(u.T @ u, np.eye(16), atol=1e-13)
    np.testing.assert_allclose(v @ v.T, np.eye(16), atol=1e-13)
    for i in range(2):
        np.testing.assert_allclose(np.linalg.svd(np.asarray(m[i]), compute_uv=False), spectra[i], atol=1e-12)
        np.testing.assert_allclose(m[i], (u * spectra[i]) @ v.T, atol=1e-13)


def test_formula_runs_on_plain_arrays() -> None:
    a = low_rank((6, 4), 4, seed=50)
    for method in ("nested", "denested", "odd"):
        out = mc.formula(method, jnp.asarray(a), polar.msign, jnp.eye(4))
        np.testing.assert_allclose(out, svd_clip(a, 0.0, 1.0), atol=1e-12)
    np.testing.assert_allclose(mc.formula("general", jnp.asarray(a), polar.msign, None, lo=0.2, hi=0.9),
                               svd_clip(a, 0.2, 0.9), atol=1e-12)
    with pytest.raises(ValueError, match="method"):
        mc.formula("block", a, polar.msign, jnp.eye(4))


_TWO_D = r"^M must be a 2-D matrix or a batch of them \(\.\.\., n, m\), got shape "


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"M": np.ones(4)}, _TWO_D + r"\(4,\)$"),
        ({"M": np.float64(1.0)}, _TWO_D + r"\(\)$"),
        ({"M": [["x"]]}, r"^M must be an array of numbers, got list$"),
        ({"M": np.ones((3, 2)), "lo": 2.0, "hi": 1.0}, r"^lo must be <= hi, got lo=2\.0, hi=1\.0$"),
        ({"M": np.ones((3, 2)), "lo": "a"}, r"^lo must be a real number, got 'a'$"),
        ({"M": np.ones((3, 2)), "hi": 0.0}, r"^hi must be > 0, got 0\.0$"),
        ({"M": np.ones((3, 2)), "hi": np.inf}, r"^hi must be finite, got inf$"),
        ({"M": np.ones((3, 2)), "method": "exact"}, r"^method must be one of .*, got 'exact'$"),
        ({"M": np.array([[1.0, np.nan], [0.0, 1.0]])}, r"^M must have only finite entries$"),
        ({"M": np.ones((3, 2), dtype=np.int32)}, r"^M must have a floating dtype, got int32$"),
        ({"M": np.ones((0, 2))}, r"^M must not be empty, got shape \(0, 2\)$"),
        ({"M": np.ones((3, 2)), "method": "odd", "msign": "newton_schulz"},
         r"^msign must be a callable M ↦ msign\(M\) \(or None for the exact SVD msign\), got str$"),
        ({"M": np.ones((3, 2)), "msign": polar.msign},
         r"^msign applies only to the formula methods, not to method='svd'$"),
        ({"M": np.ones((3, 2)), "method": "denested", "lo": 0.5},
         r"^method='denested' is derived for \[0, 1\] and reaches \[lo <= 0, hi\] by scaling; "
         r"for lo > 0 \(got 0\.5\) use method='general' or 'svd'$"),
        ({"M": np.ones((3, 2)), "method": "block", "lo": 0.1, "hi": 2.0}, r"^method='block' .*\(got 0\.1\)"),
    ],
)
def test_mclip_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mc.mclip(**kwargs)


def test_other_functions_bad_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        mc.singular_value_polynomial(np.ones((3, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        mc.singular_value_polynomial(np.ones((3, 3)), np.ones(0))
    with pytest.raises(ValueError, match="finite"):
        mc.singular_value_polynomial(np.ones((3, 3)), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="real"):
        mc.singular_value_polynomial(np.ones((3, 3)), np.array([1 + 1j]))


_R, _E, _C = np.ones((5, 3)), np.zeros((5, 3)), np.ones(3)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mc.mstep(np.ones(3)),
         r"^M must be a 2-D matrix or a batch of them \(\.\.\., n, m\), got shape \(3,\)$"),
        (lambda: mc.singular_value_polynomial(np.ones(3), [1.0]), r"^M must be a 2-D matrix"),
        (lambda: mc.singular_value_polynomial(np.eye(3), np.ones((2, 2))),
         r"^coefficients must be 1-D, got shape"),
        (lambda: mc.singular_value_polynomial(np.eye(3), ["x"]),
         r"^coefficients must be an array of numbers"),
        (lambda: mc.clip_errors(np.ones(3), _E, _C), r"^result must be 2-D, got shape \(3,\)$"),
        (lambda: mc.clip_errors(_R, np.ones(3), _C), r"^exact must be 2-D, got shape \(3,\)$"),
        (lambda: mc.clip_errors(_R, _E.T, _C),
         r"^result and exact must have the same shape, got \(5, 3\) and \(3, 5\)$"),
        (lambda: mc.clip_errors(_R, _E, np.ones((3, 1))), r"^clipped must be 1-D, got shape \(3, 1\)$"),
        (lambda: mc.clip_errors(_R, _E, _C[:2]),
         r"^clipped must hold min\(n, m\) = 3 singular values, got 2$"),
        (lambda: mc.spectral_error(np.ones(3), _E), r"^result must be a 2-D matrix or a batch of them"),
        (lambda: mc.spectral_error(_R, np.ones(3)), r"^exact must be a 2-D matrix or a batch of them"),
        (lambda: mc.spectral_error(_R, _E.T),
         r"^result and exact must have the same shape, got \(5, 3\) and \(3, 5\)$"),
        (lambda: mc.matmul_cost("exact", 4, 4), r"^method must be one of .*, got 'exact'$"),
        (lambda: mc.matmul_cost("odd", 0, 4), r"^n must be >= 1, got 0$"),
        (lambda: mc.matmul_cost("odd", 4, 0), r"^m must be >= 1, got 0$"),
        (lambda: mc.matmul_cost("odd", 4, 1.5), r"^m must be an integer"),
        (lambda: mc.matmul_cost("odd", 4, 4, 0), r"^steps must be >= 1, got 0$"),
        (lambda: mc.post_schedule(0), r"^steps must be >= 1, got 0$"),
        (lambda: mc.formula("block", np.eye(2), polar.msign, np.eye(2)),
         r"^method must be one of .*, got 'block'$"),
        (lambda: mc.traced_matmul_cost(3, np.eye(2)), r"^fn must be a callable$"),
        (lambda: mc.post_spectrum(1, 1), r"^m must be >= 2, got 1$"),
        (lambda: mc.post_spectrum(8, 0), r"^top must be >= 1, got 0$"),
        (lambda: mc.post_spectrum(8, 8), r"^top must be <= 7, got 8$"),
        (lambda: mc.post_spectrum(8, 2, 0.0), r"^sigma_max must be > 0, got 0\.0$"),
        (lambda: mc.with_singular_values(0, np.ones(5), 6), r"^key must be a single JAX PRNG key"),
        (lambda: mc.with_singular_values(jax.random.key(0), np.float64(1.0), 6),
         r"^s must be a 1-D spectrum or a batch of them$"),
        (lambda: mc.with_singular_values(jax.random.key(0), ["x"], 6), r"^s must be an array of numbers"),
        (lambda: mc.with_singular_values(jax.random.key(0), np.ones(5), 3), r"^rows must be >= 5, got 3$"),
        (lambda: mc.mstep(np.ones((3, 3)), msign=1.0), r"^msign must be a callable .*, got float$"),
    ],
)
def test_messages_name_the_argument(call: Callable, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_edges_of_the_helpers() -> None:
    """One step, one row, one column; the defaults of post_schedule (4 steps) and formula
    ([0, 1]); a conditional refused by traced_matmul_cost like a while loop; an all-zero
    spectrum through a Newton–Schulz msign (‖X‖_F = 0: msign(0) = 0, no 0/0)."""
    np.testing.assert_array_equal(mc.post_schedule(), mc.post_schedule(4))
    assert mc.post_schedule(1).shape == (1, 3)
    assert mc.matmul_cost("odd", 1, 1, 1).products == mc.traced_matmul_cost(
        lambda x: mc.mclip(x, method="odd", msign=partial(polar.newton_schulz, table=mc.post_schedule(1))),
        jnp.ones((1, 1)))[0]
    a = low_rank((6, 4), 4, seed=51)
    np.testing.assert_allclose(mc.formula("general", jnp.asarray(a), polar.msign, None),
                               svd_clip(a, 0.0, 1.0), atol=1e-12)
    refused = r"^cannot count the products of a 'cond' \(data-dependent control flow\)$"
    with pytest.raises(ValueError, match=refused):
        mc.traced_matmul_cost(lambda x: jax.lax.cond(x[0, 0] > 0, lambda y: y @ y, lambda y: y, x),
                              jnp.eye(2))
    for method in ("nested", "odd", "general"):
        zeros = mc.transfer(method, np.zeros(3), table=mc.post_schedule(2))
        np.testing.assert_array_equal(zeros, np.zeros(3))
        assert zeros.dtype == np.float64  # as documented (not an object array of zeros)


def test_clip_errors_rank_deficient_and_interleaved() -> None:
    """Singular values of the result on both sides of the clipped ones, given out of order (so
    that their sorting matters), and a rank-deficient result, whose Gram matrix has eigenvalues
    at rounding level, some negative: they are clipped to 0 before the square root (each zero
    singular value then comes out below 1e-7)."""
    r = low_rank((20, 9), 6, seed=3)  # singular values geomspace(3, 0.2, 6) and three zeros
    e = np.random.default_rng(8).standard_normal((20, 9))
    c = np.random.default_rng(9).permutation(np.linspace(0.0, 2.4, 9))
    sv = np.linalg.svd(r, compute_uv=False)
    for result, exact in ((r, e), (r.T, e.T)):
        out = mc.clip_errors(result, exact, c)
        assert abs(out.spectral_norm - sv[0]) < 1e-12 * sv[0]
        assert abs(out.mean_sv_error - np.mean(np.abs(sv - np.sort(c)[::-1]))) < 1e-7 * 3 / 9
        assert out.mean_entry_error == pytest.approx(np.mean(np.abs(r - e)), rel=1e-14)


def test_polynomial_and_mstep_keep_float32_throughout(traced_floats: Callable) -> None:
    """float32 in: every operation of the traced computation is float32 (no float64 identity or
    coefficient promotes it), float32 coefficients are accepted, and the msign passed is the
    one used."""
    m = jnp.asarray(low_rank((6, 4), 4, seed=52), dtype=jnp.float32)
    coefficients = np.array([0.5, -1.0, 0.25], dtype=np.float32)
    for fn in (lambda x: mc.singular_value_polynomial(x, coefficients), mc.mstep):
        floats = traced_floats(fn, m)
        assert floats == {jnp.dtype(jnp.float32)}, floats
        assert fn(m).dtype == jnp.float32
    used = []

    def recorded(x: jax.Array) -> jax.Array:
        used.append(x.shape)
        return polar.msign(x)

    mc.singular_value_polynomial(m, coefficients, msign=recorded)
    assert used
    used.clear()
    mc.mstep(m, msign=recorded)
    assert used


def test_the_svd_msign_of_small_matrices_is_the_accurate_one() -> None:
    """Why polar.svd takes LAPACK's QR driver for small matrices: on the chapter's test matrices
    (256 × 64 float64, σ₁ = 1000) the SVD clip and formula (7) of 11006 are several times more
    accurate than with JAX's default driver, on every one of six seeds."""
    def clip_dc(m: jax.Array) -> jax.Array:
        u, s, vt = jnp.linalg.svd(m, full_matrices=False)
        return (u * jnp.minimum(s, 1.0)[..., None, :]) @ vt

    def msign_dc(m: jax.Array) -> jax.Array:
        u, s, vt = jnp.linalg.svd(m, full_matrices=False)
        return (u * (s > s[..., :1] * jnp.finfo(m.dtype).eps * max(m.shape))[..., None, :]) @ vt

    s = mc.post_spectrum(64, 8, 1000.0)
    unit = float(jnp.finfo(jnp.float64).eps) * 1000.0
    errors = {key: [] for key in ("svd qr", "svd dc", "nested qr", "nested dc")}
    for seed in range(6):
        m, u, v = mc.with_singular_values(jax.random.key(seed), s, 256)
        exact = (u * np.clip(s, 0, 1)) @ v.T
        for key, out in (("svd qr", mc.mclip(m)), ("svd dc", clip_dc(m)),
                         ("nested qr", mc.mclip(m, method="nested")),
                         ("nested dc", mc.mclip(m, method="nested", msign=msign_dc))):
            errors[key].append(float(mc.spectral_error(out, exact)) / unit)
    assert max(errors["svd qr"]) < 1.0 and min(errors["svd dc"]) > 1.2, errors
    assert max(errors["nested qr"]) < 10.0 and min(errors["nested dc"]) > 15.0, errors


@pytest.mark.parametrize("run", [
    mc.mstep,
    lambda m, msign: mc.singular_value_polynomial(m, [0.5, -1.0, 0.25, 2.0], msign=msign),
    *(partial(mc.mclip, method=method) for method in mc.FORMULA_METHODS),
    partial(mc.mclip, method="nested", hi=2.0),
], ids=["mstep", "polynomial", *mc.FORMULA_METHODS, "nested-scaled"])
def test_every_product_runs_at_highest_precision(run: Callable, jaxpr_equations: Callable) -> None:
    """The functions' own products and those of an msign that leaves its precision to JAX's
    default run at "highest": on an NVIDIA GPU that default is TF32 for float32, which the CPU
    never uses, so only the traced precision shows it here. Wide float32 input, so that the
    transposed path is traced too."""
    def plain_msign(x: jax.Array) -> jax.Array:  # products at the default precision
        return x @ (x.T @ x)

    m = jnp.asarray(low_rank((4, 6), 4, seed=53), dtype=jnp.float32)
    jaxpr = jax.make_jaxpr(lambda x: run(x, msign=plain_msign))(m).jaxpr
    precisions = [e.params["precision"] for e in jaxpr_equations(jaxpr) if e.primitive.name == "dot_general"]
    highest = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
    assert len(precisions) >= 2 and all(p == highest for p in precisions), precisions


@pytest.mark.parametrize("hi", [1.0, 2.0])
@pytest.mark.parametrize("method", mc.METHODS)
def test_mclip_computes_in_the_input_precision(method: str, hi: float,
                                              traced_floats: Callable) -> None:
    """float32 in: every value computed is float32 (under x64 a float64 identity, scale or
    working copy would promote the computation); bfloat16 in: bfloat16, and float32 where the
    library says so (the "svd" clip works on a float32 copy, Newton–Schulz takes the norm in
    float32), never float64. hi = 2 takes the scaled path; the matrix is wide and
    rank-deficient."""
    a = low_rank((4, 6), 3, seed=54)
    msign = None if method == "svd" else partial(polar.newton_schulz, table=mc.post_schedule(4))
    f32, bf16 = jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16)
    for dtype, allowed in ((f32, {f32}), (bf16, {bf16, f32})):
        floats = traced_floats(lambda x: mc.mclip(x, hi=hi, method=method, msign=msign),
                               jnp.asarray(a, dtype=dtype))
        assert dtype in floats and floats <= allowed, (dtype, floats)


def test_svd_clip_and_the_rank_threshold() -> None:
    """For lo ≤ 0 every singular value below hi is kept, however small (1e-20 beside 1); for
    lo > 0 only those above the rank threshold σ₁·eps·max(n, m) of the working precision are
    lifted to lo: a float32 matrix of rank 2 keeps rank 2 (its rounding-level singular values,
    about 1e-7 σ₁, are its null space), and the zero matrix stays zero."""
    tiny = np.diag([1.0, 1e-20])
    np.testing.assert_allclose(mc.mclip(tiny, lo=-1.0, hi=2.0), tiny, rtol=1e-12, atol=1e-35)
    np.testing.assert_allclose(mc.mclip(tiny, hi=2.0), tiny, rtol=1e-12, atol=1e-35)
    a = jnp.asarray(low_rank((9, 6), 2, seed=55), dtype=jnp.float32)
    s_a = np.linalg.svd(np.asarray(a, dtype=np.float64), compute_uv=False)
    assert 1e-9 < s_a[2] < 1e-6  # rank 2 in float32: rounding leaves σ₃ far above float64's eps
    for lo in (0.5, 0.25):
        s = np.linalg.svd(np.asarray(mc.mclip(a, lo=lo, hi=1.0), dtype=np.float64), compute_uv=False)
        np.testing.assert_allclose(s[:2], [1.0, max(0.2, lo)], rtol=1e-5)
        assert s[2] < 1e-5
    for method in ("svd", "general"):
        out = mc.mclip(jnp.zeros((5, 3)), lo=0.5, hi=1.0, method=method)
        np.testing.assert_array_equal(out, np.zeros((5, 3)))


def test_memoized_msign_computes_each_distinct_input_once() -> None:
    calls: list[tuple[tuple[int, ...], str]] = []

    def counting(m: jax.Array) -> jax.Array:
        calls.append((tuple(m.shape), m.dtype.name))
        return polar.msign(m)

    ms = mc.memoized_msign(counting)
    a = jnp.asarray(low_rank((6, 4), 4, seed=60))
    first = ms(a)
    np.testing.assert_array_equal(first, polar.msign(a))
    assert ms(jnp.array(a)) is first  # another array with the same bits: the stored result
    assert ms(np.asarray(a)) is first
    assert len(calls) == 1
    ms(a.astype(jnp.float32))  # the same values in another dtype
    ms(a.reshape(4, 6))  # the same bytes in another shape
    ms(a.at[2, 3].set(np.nextafter(a[2, 3], np.inf)))  # one entry one ulp away
    ms(-0.0 * jnp.zeros((6, 4)))  # -0 and +0 differ in their bits
    ms(jnp.zeros((6, 4)))
    assert calls[1:] == [((6, 4), "float32"), ((4, 6), "float64"), ((6, 4), "float64"),
                         ((6, 4), "float64"), ((6, 4), "float64")]
    assert ms(a) is first and len(calls) == 6


def test_memoized_msign_in_the_methods_and_under_tracing() -> None:
    calls: list[int] = []

    def counting(m: jax.Array) -> jax.Array:
        calls.append(1)
        return polar.msign(m)

    a = jnp.asarray(low_rank((9, 5), 5, seed=61))
    ms = mc.memoized_msign(counting)
    reference = {method: mc.mclip(a, method=method) for method in ("nested", "denested", "odd")}
    for method, expected in reference.items():
        np.testing.assert_array_equal(mc.mclip(a, method=method, msign=ms), expected)
    assert len(calls) == 4  # msign(M), msign(M − S), msign(MᵀM − I), msign(MᵀM + I)
    batch = jnp.stack([a, 2 * a])
    np.testing.assert_array_equal(mc.mclip(batch, method="odd", msign=ms),
                                  mc.mclip(batch, method="odd"))
    assert len(calls) == 7  # under vmap every call goes through
    jitted = jax.jit(lambda m: ms(m))
    np.testing.assert_array_equal(jitted(a), polar.msign(a))
    assert len(calls) == 8
    for bad, name in ((1, "int"), ("svd", "str")):  # checked as mclip checks its msign
        with pytest.raises(ValueError, match=rf"^msign must be a callable M ↦ msign\(M\) \(or None for the "
                                             rf"exact SVD msign\), got {name}$"):
            mc.memoized_msign(bad)
    exact = mc.memoized_msign(None)  # None: the exact SVD msign, as in mclip
    assert exact(a) is exact(jnp.array(a))
    np.testing.assert_array_equal(exact(a), polar.msign(a))
