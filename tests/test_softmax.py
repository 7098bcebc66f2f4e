"""Unit tests for kexue_lib.softmax (entropy, the two-level optimum, vertices, noisy attention)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp

from kexue_lib import softmax as smx

pytestmark = pytest.mark.usefixtures("x64")


# ---------------------------------------------------------------- entropy


def _np_softmax(x, axis=-1):
    w = np.exp(x - x.max(axis=axis, keepdims=True))
    return w / w.sum(axis=axis, keepdims=True)


def test_entropy_uniform_and_stable_for_huge_logits():
    np.testing.assert_allclose(float(smx.entropy(jnp.zeros(37))), math.log(37), rtol=1e-14)
    # shift invariance at a scale where exp overflows
    a = smx.entropy(jnp.array([1e4, 1e4 - 2.0, 1e4 - 5.0]))
    b = smx.entropy(jnp.array([2.0, 0.0, -3.0]))
    assert bool(jnp.isfinite(a))
    np.testing.assert_allclose(float(a), float(b), rtol=1e-13)


def test_entropy_matches_direct_formula_and_axis():
    x = np.random.default_rng(0).normal(size=(3, 5, 7))
    p = _np_softmax(x, axis=1)
    direct = -np.sum(p * np.log(p), axis=1)
    np.testing.assert_allclose(np.asarray(smx.entropy(x, axis=1)), direct, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(smx.entropy(x, axis=-2)), direct, rtol=1e-12)
    h = np.asarray(smx.entropy(x))
    assert h.shape == (3, 5)
    assert np.all(h >= 0) and np.all(h <= math.log(7) + 1e-12)


def test_entropy_one_hot_limit_is_zero_not_nan():
    h = smx.entropy(jnp.array([0.0, -800.0, -900.0]))
    assert float(h) == 0.0


@pytest.mark.parametrize(
    ("logits", "axis", "match"),
    [
        (jnp.array([1, 2, 3]), -1, "logits must have a floating dtype"),
        (jnp.array([1.0, jnp.nan]), -1, "logits must have only finite entries"),
        (jnp.zeros((0,)), -1, "logits must not be empty"),
        (jnp.array(1.0), -1, "logits must have at least one dimension, got a scalar"),
        (jnp.zeros((2, 3)), 2, "axis must be <= 1"),
        (jnp.zeros((2, 3)), -3, "axis must be >= -2"),
        (jnp.zeros((2, 3)), 1.0, "axis must be an integer"),
    ],
)
def test_entropy_bad_input(logits, axis, match):
    with pytest.raises(ValueError, match="^" + match):
        smx.entropy(logits, axis=axis)


# ---------------------------------------------------------------- two-level optimum


def test_min_entropy_gap_at_beta_one_matches_comment_to_40_digits():
    with mpmath.workdps(50):
        t, g = smx.min_entropy_gap(1)
        e = mpmath.e
        assert abs(t - (e**4 - 3 * e**2) / (1 - 2 * e**2 + e**4)) < mpmath.mpf(10) ** -45
        assert abs(g - smx.two_level_gap(t, 1)) < mpmath.mpf(10) ** -45
        assert abs(g - mpmath.mpf("0.47447464707052693724628097537319720487")) < mpmath.mpf(10) ** -37
    assert isinstance(t, mpmath.mpf) and isinstance(g, mpmath.mpf)


@pytest.mark.parametrize("beta", [1e-4, 0.1, 1.0, 3.0, 20.0])
def test_min_entropy_gap_is_the_maximum_of_two_level_gap(beta):
    t, g = smx.min_entropy_gap(beta)
    assert 0.5 < t < 1
    grid = np.linspace(0, 1, 2001)
    values = [smx.two_level_gap(float(s), beta) for s in grid]
    assert max(values) <= g + mpmath.mpf(10) ** -14
    for dt in (-1e-3, 1e-3):  # a local maximum
        if 0 <= t + dt <= 1:
            assert smx.two_level_gap(t + dt, beta) < g


def test_min_entropy_gap_small_beta_to_full_precision():
    # For small b the closed forms cancel (2 log10(1/b) digits in g*, log10(1/b) in t*), which the
    # guard digits absorb: at 30 digits both must match their Taylor series (sympy, to O(b^10),
    # truncation below 1e-40 relative here) to 1e-28 relative, not only to double precision.
    b = sp.symbols("b", positive=True)
    g_series = sp.series(b * sp.coth(b) - 1 + sp.log(sp.sinh(b) / b), b, 0, 10).removeO()
    t_series = sp.series((1 + sp.coth(b)) / 2 - b / (2 * sp.sinh(b) ** 2), b, 0, 10).removeO()
    assert sp.expand(g_series.coeff(b, 2)) == sp.Rational(1, 2)  # g* = b^2/2 - b^4/36 + ...
    for beta in ("1e-8", "1e-5"):
        value = sp.Rational(beta)
        with mpmath.workdps(30):
            t, g = smx.min_entropy_gap(mpmath.mpf(beta))
            for got, series in ((t, t_series), (g, g_series)):
                exact = mpmath.mpf(str(sp.N(series.subs(b, value), 50)))
                assert abs(got / exact - 1) < mpmath.mpf(10) ** -28, (beta, got, exact)


@pytest.mark.parametrize("beta", ["0.1", "0.7", "3", "8", "20"])
def test_min_entropy_gap_is_the_stationary_point_solved_by_sympy(beta):
    # An independent route to (t*, g*): the two-level deficit's derivative, over a common
    # denominator, has a numerator linear in t; sympy solves it exactly and both are evaluated at
    # 50 digits, against the coth/sinh closed forms to 1e-40.
    t = sp.symbols("t")
    b = sp.Rational(beta)
    d = t * sp.exp(-b) + (1 - t) * sp.exp(b)
    gap = b * ((1 - t) * sp.exp(b) - t * sp.exp(-b)) / d - sp.log(d)
    (t_root,) = sp.solve(sp.numer(sp.together(sp.diff(gap, t))), t)
    with mpmath.workdps(50):
        t_star, g_star = smx.min_entropy_gap(mpmath.mpf(beta))
        assert abs(t_star - mpmath.mpf(str(sp.N(t_root, 60)))) < mpmath.mpf(10) ** -40
        assert abs(g_star - mpmath.mpf(str(sp.N(gap.subs(t, t_root), 60)))) < mpmath.mpf(10) ** -40


@pytest.mark.parametrize(("t", "beta"), [(0, 1), (1, 2), ("0.5", 1), ("0.3", "0.5"), ("0.8", 3),
                                         ("0.95", 20)])
def test_two_level_gap_is_the_entropy_deficit_of_its_logits(t, beta):
    # The definition, unscaled: per logit, the weights are t e^{-b} (at -b) and (1 - t) e^b (at +b);
    # with z their sum, H - log n = log z - b ((1 - t) e^b - t e^{-b}) / z. mpmath at 50 digits.
    with mpmath.workdps(50):
        tm, b = mpmath.mpf(t), mpmath.mpf(beta)
        up, down = (1 - tm) * mpmath.exp(b), tm * mpmath.exp(-b)
        z = up + down
        deficit = b * (up - down) / z - mpmath.log(z)
        assert abs(smx.two_level_gap(tm, b) - deficit) < mpmath.mpf(10) ** -45
    # and the same deficit from the entropy kernel on n = 20 logits, 6 of them at -beta (t = 0.3)
    x = jnp.where(jnp.arange(20) < 6, -1.5, 1.5)
    np.testing.assert_allclose(math.log(20) - float(smx.entropy(x)),
                               float(smx.two_level_gap(0.3, 1.5)), rtol=1e-13)


def test_half_and_half_gap():
    np.testing.assert_allclose(float(smx.two_level_gap(0.5, 1)), 0.3278133254727377, rtol=1e-14)


@pytest.mark.parametrize("beta", [0, -1, float("nan"), float("inf"), "one", None])
def test_min_entropy_gap_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        smx.min_entropy_gap(beta)


@pytest.mark.parametrize(("t", "match"), [(-0.1, "t must be >= 0"), (1.5, "t must be <= 1")])
def test_two_level_gap_bad_t(t, match):
    with pytest.raises(ValueError, match=match):
        smx.two_level_gap(t, 1.0)


# ---------------------------------------------------------------- vertices


def _brute_vertex(n, beta):
    k = np.arange(n + 1)
    z = k * np.exp(beta) + (n - k) * np.exp(-beta)
    h = np.log(z) - beta * (k * np.exp(beta) - (n - k) * np.exp(-beta)) / z
    return int(np.argmin(h)), float(h.min())


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5, 5.0])
def test_min_entropy_vertex_matches_brute_force(beta):
    for n in (2, 3, 7, 16, 101, 500):
        k, h = smx.min_entropy_vertex(n, beta)
        kb, hb = _brute_vertex(n, beta)
        assert k == kb, (n, beta)
        # the float64 brute force loses relative accuracy where H is tiny (large beta): atol
        np.testing.assert_allclose(float(h), hb, rtol=1e-12, atol=1e-14)


def test_min_entropy_vertex_bound_and_limit():
    t, g = smx.min_entropy_gap(1.0)
    for n in (10, 1000, 10**6):
        k, h = smx.min_entropy_vertex(n, 1.0)
        assert h >= mpmath.log(n) - g  # log n - g* is a lower bound for every n
        assert abs(k / n - (1 - t)) < 1 / n
    assert smx.min_entropy_vertex(1, 1.0) == (0, 0)


def test_min_entropy_vertex_huge_n_picks_the_nearer_integer():
    # at n = 10^18 the two candidates differ by ~1e-36 in H: only extra working digits can tell them apart
    n = 10**18
    k, _ = smx.min_entropy_vertex(n, 1.0)
    with mpmath.workdps(60):
        t60, _ = smx.min_entropy_gap(1.0)
        centre = n * (1 - t60)
        best = min((int(mpmath.floor(centre)), int(mpmath.ceil(centre))),
                   key=lambda j: -smx.two_level_gap(1 - mpmath.mpf(j) / n, 1.0))
    assert k == best


def test_min_entropy_vertex_agrees_with_entropy_kernel():
    n, beta = 9, 1.3
    k, h = smx.min_entropy_vertex(n, beta)
    x = jnp.where(jnp.arange(n) < k, beta, -beta)
    np.testing.assert_allclose(float(smx.entropy(x)), float(h), rtol=1e-13)


@pytest.mark.parametrize(
    ("n", "beta", "match"),
    [(0, 1.0, "n must be >= 1"), (3.0, 1.0, "n must be an integer"), (True, 1.0, "n must be an integer"),
     (5, 0.0, "beta must be > 0"), (5, -2, "beta must be > 0")],
)
def test_min_entropy_vertex_bad_input(n, beta, match):
    with pytest.raises(ValueError, match=match):
        smx.min_entropy_vertex(n, beta)


def test_beta_for_entropy_floor():
    n = 256
    target = 0.1 * math.log(n)
    b = smx.beta_for_entropy_floor(n, target)
    # the crossing to rtol 1e-12 in beta; dH/dbeta = O(1) here, so H is on target to ~1e-11
    np.testing.assert_allclose(float(smx.min_entropy_vertex(n, b)[1]), target, rtol=1e-10)
    assert smx.min_entropy_vertex(n, b * (1 - 1e-9))[1] > target > smx.min_entropy_vertex(
        n, b * (1 + 1e-9))[1]
    # a target near the ceiling needs a beta below the first bracket (0.5): small-beta series
    # log n - H = beta^2 / 2 + O(beta^4) for a half-and-half split (n even)
    b_small = smx.beta_for_entropy_floor(4, math.log(4) - 1e-6)
    np.testing.assert_allclose(b_small, math.sqrt(2e-6), rtol=1e-5)
    # below 1 too, beta is found to the relative accuracy asked for (1e-12), against mpmath's root
    # of the same equation at 40 digits (the float excess itself is good to about 1e-16/1e-3)
    target_near = math.log(n) - 1e-3
    b_near = smx.beta_for_entropy_floor(n, target_near)
    with mpmath.workdps(40):
        root = mpmath.findroot(lambda x: smx.min_entropy_vertex(n, x)[1] - mpmath.mpf(target_near),
                               b_near)
    assert abs(b_near / root - 1) < 1e-12, float(b_near / root - 1)
    with pytest.raises(ValueError, match="target must be <"):
        smx.beta_for_entropy_floor(n, math.log(n))
    with pytest.raises(ValueError, match="target must be > 0"):
        smx.beta_for_entropy_floor(n, 0.0)
    with pytest.raises(ValueError, match="rtol must be > 0"):
        smx.beta_for_entropy_floor(n, target, rtol=0.0)
    with pytest.raises(ValueError, match="n must be >= 2"):
        smx.beta_for_entropy_floor(1, 0.1)


def test_projected_gradient_ends_at_the_best_vertex():
    x, h = smx.projected_gradient_min_entropy(jax.random.key(0), 6, 1.0, starts=64, steps=300)
    assert x.shape == (64, 6) and h.shape == (64,)
    assert bool(jnp.all(jnp.abs(jnp.abs(x) - 1.0) < 1e-12))
    _, h_best = smx.min_entropy_vertex(6, 1.0)
    assert abs(float(h.min()) - float(h_best)) < 1e-12
    np.testing.assert_allclose(np.asarray(h), np.asarray(smx.entropy(x)), rtol=1e-14)
    # one step from the uniform starts, against the closed-form gradient dH/dx_i = -p_i (x_i - E_p x)
    key, beta, lr = jax.random.key(2), 2.0, 0.3
    x0 = np.asarray(jax.random.uniform(key, (8, 5), minval=-beta, maxval=beta))
    p = _np_softmax(x0)
    grad = -p * (x0 - np.sum(p * x0, axis=1, keepdims=True))
    one, _ = smx.projected_gradient_min_entropy(key, 5, beta, starts=8, steps=1, lr=lr)
    np.testing.assert_allclose(np.asarray(one), np.clip(x0 - lr * grad, -beta, beta), rtol=1e-14)
    # the defaults: 256 starts of 500 steps at lr = n; with lr = n / 100 the same 500 steps are
    # too few to reach a vertex (the step then moves a coordinate by ~beta/100)
    x, h = smx.projected_gradient_min_entropy(jax.random.key(1), 6, 1.0)
    assert x.shape == (256, 6) and abs(float(h.min()) - float(h_best)) < 1e-12
    slow, _ = smx.projected_gradient_min_entropy(jax.random.key(1), 6, 1.0, lr=0.06)
    assert float(jnp.max(1.0 - jnp.abs(slow))) > 1e-3
    with pytest.raises(ValueError, match="key must be a single JAX PRNG key"):
        smx.projected_gradient_min_entropy(0, 6, 1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        smx.projected_gradient_min_entropy(jax.random.key(0), 6, -1.0)
    for kwargs, match in (({"starts": 0}, "starts must be >= 1"), ({"steps": 0}, "steps must be >= 1"),
                          ({"lr": 0.0}, "lr must be > 0")):
        with pytest.raises(ValueError, match=match):
            smx.projected_gradient_min_entropy(jax.random.key(0), 6, 1.0, **kwargs)
    with pytest.raises(ValueError, match="n must be >= 1"):
        smx.projected_gradient_min_entropy(jax.random.key(0), 0, 1.0)


# ---------------------------------------------------------------- noisy attention


def test_attention_matches_direct_and_validates():
    rng = np.random.default_rng(1)
    s, v = rng.normal(size=(4, 10)), rng.normal(size=(4, 10, 3))
    direct = np.sum(_np_softmax(s)[..., None] * v, axis=1)
    np.testing.assert_allclose(np.asarray(smx.attention(s, v)), direct, rtol=1e-12)
    # one query (1-D scores), and a batch of batches with one value dimension (d = 1)
    np.testing.assert_allclose(np.asarray(smx.attention(s[0], v[0])), direct[0], rtol=1e-12)
    s3, v3 = rng.normal(size=(2, 3, 10)), rng.normal(size=(2, 3, 10, 1))
    direct3 = np.sum(_np_softmax(s3)[..., None] * v3, axis=2)
    np.testing.assert_allclose(np.asarray(smx.attention(s3, v3)), direct3, rtol=1e-12)
    with pytest.raises(ValueError, match=r"scores and values\[\.\.\., 0\] must have the same shape"):
        smx.attention(s, v[:, :9])
    with pytest.raises(ValueError, match=r"^values must have one more dimension than scores"):
        smx.attention(s, v[..., 0])
    with pytest.raises(ValueError, match="values must have one more dimension than scores"):
        smx.attention(np.array(1.0), np.ones(3))  # a single score needs values of shape (1, d)
    with pytest.raises(ValueError, match="scores must have a floating dtype"):
        smx.attention(np.ones((4, 10), dtype=int), v)
    with pytest.raises(ValueError, match="values must have only finite entries"):
        smx.attention(s, np.full_like(v, np.inf))


def test_noise_kappa_closed_forms_and_input():
    np.testing.assert_allclose(smx.noise_kappa("gaussian", 1.0), math.e - 1, rtol=1e-14)
    np.testing.assert_allclose(smx.noise_kappa("laplace", 0.25), (1 - 1 / 16) ** 2 / (1 - 1 / 4) - 1)
    assert smx.noise_kappa("gaussian", 0.0) == smx.noise_kappa("laplace", 0.0) == 0.0
    assert smx.noise_kappa("laplace", 0.5) == math.inf  # E[e^{2 eps}] diverges from b = 1/2 on
    assert smx.noise_kappa("laplace", 0.7) == math.inf
    with pytest.raises(ValueError, match="noise must be one of"):
        smx.noise_kappa("cauchy", 1.0)
    with pytest.raises(ValueError, match="scale must be >= 0"):
        smx.noise_kappa("gaussian", -1.0)


@pytest.mark.parametrize(("noise", "scale"), [("gaussian", 0.3), ("gaussian", 1.0), ("gaussian", 2.0),
                                              ("laplace", 0.1), ("laplace", 0.3), ("laplace", 0.45)])
def test_noise_kappa_matches_quadrature(noise, scale):
    # kappa = E[e^{2 eps}] / E[e^eps]^2 - 1 with both moments integrated against the density
    # (mpmath, 30 digits): independent of the moment generating functions the kernel uses
    with mpmath.workdps(30):
        s = mpmath.mpf(scale)

        def density(x):
            if noise == "gaussian":
                return mpmath.npdf(x, 0, s)
            return mpmath.exp(-abs(x) / s) / (2 * s)

        def moment(k):
            return mpmath.quad(lambda x: mpmath.exp(k * x) * density(x), [-mpmath.inf, 0, mpmath.inf])

        kappa = moment(2) / moment(1) ** 2 - 1
    np.testing.assert_allclose(smx.noise_kappa(noise, scale), float(kappa), rtol=1e-13)


@pytest.mark.parametrize(("noise", "logit_scale"), [("gaussian", 1.5), ("laplace", 1.5), ("gaussian", 250.0)])
def test_noisy_attention_errors_match_direct_attention(noise, logit_scale):
    """The prefix-sum kernel reproduces attention() on the same draw, for every n.

    At ``logit_scale = 250`` the largest score is ~500: ``e^{2 x}`` overflows unless the kernel
    subtracts the largest score first; p is then nearly one-hot, and the spread cancels to
    rounding.
    """
    ns = [3, 8, 20]
    key = jax.random.key(5)
    err, spread = smx.noisy_attention_errors(key, ns, d=3, trials=4, noise=noise, scale=0.7,
                                             coupling=0.2, logit_scale=logit_scale)
    assert err.shape == spread.shape == (4, 3)
    # regenerate the draw exactly as the kernel does: trial j from split(key, trials)[j]
    draw = jax.random.normal if noise == "gaussian" else jax.random.laplace
    s, z, xi = [], [], []
    for trial_key in jax.random.split(key, 4):
        ks, kz, ke = jax.random.split(trial_key, 3)
        s.append(logit_scale * np.asarray(jax.random.normal(ks, (20,))))
        z.append(np.asarray(jax.random.normal(kz, (20, 3))))
        xi.append(np.asarray(draw(ke, (20,))))
    s, z, xi = np.array(s), np.array(z), np.array(xi)
    v = z + 1 / math.sqrt(3)
    eps = 0.7 * xi + 0.2 * z[..., 0]
    for j, n in enumerate(ns):  # a plain NumPy reference, token by token
        p = _np_softmax(s[:, :n])
        o = np.sum(p[..., None] * v[:, :n], axis=1)
        o_noisy = np.sum(_np_softmax(s[:, :n] + eps[:, :n])[..., None] * v[:, :n], axis=1)
        norm_o = np.linalg.norm(o, axis=-1)
        sp2 = np.sum(p**2 * np.sum((v[:, :n] - o[:, None]) ** 2, axis=-1), axis=-1)
        direct = np.linalg.norm(o_noisy - o, axis=-1) / norm_o, np.sqrt(sp2) / norm_o
        if logit_scale < 10:
            np.testing.assert_allclose(err[:, j], direct[0], rtol=1e-10)
            np.testing.assert_allclose(spread[:, j], direct[1], rtol=1e-9)
        else:  # the noise rarely moves the top score: err ~ 0 as well as the spread
            np.testing.assert_allclose(err[:, j], direct[0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(spread[:, j], direct[1], atol=1e-6)


def test_noisy_attention_defaults_are_the_documented_ones():
    # d = 8, 256 trials, Gaussian noise of scale 1, no coupling, N(0, 1) scores
    key = jax.random.key(11)
    default = smx.noisy_attention_errors(key, [2, 4])
    explicit = smx.noisy_attention_errors(key, [2, 4], d=8, trials=256, noise="gaussian", scale=1.0,
                                          coupling=0.0, logit_scale=1.0)
    assert default[0].shape == (256, 2)
    for a, b in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(a, b)


def test_noisy_attention_no_noise_no_error():
    # 11 trials (prime, > 8) run in chunks of 1
    err, spread = smx.noisy_attention_errors(jax.random.key(0), [3, 8, 20], d=3, trials=11, scale=0.0)
    assert err.shape == spread.shape == (11, 3) and np.all(spread > 0)
    assert np.all(err < 1e-14)  # rounding only: the two prefix sums may be fused differently


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ns": [8, 4]}, "strictly increasing"),
        ({"ns": [4, 4]}, "ns must be strictly increasing"),
        ({"ns": [[4, 8]]}, "ns must be a non-empty 1-D sequence of integers"),
        ({"ns": [0, 4]}, "ns\\[i\\] must be >= 1"),
        ({"ns": [2.0, 4.0]}, "integers"),
        ({"ns": []}, "integers"),
        ({"noise": "cauchy"}, "noise must be one of"),
        ({"scale": -1.0}, "scale must be >= 0"),
        ({"trials": 0}, "trials must be >= 1"),
        ({"d": 2.5}, "d must be an integer"),
        ({"d": 0}, "^d must be >= 1, got 0$"),
        ({"coupling": "a"}, "^coupling must be a real number"),
        ({"logit_scale": -1.0}, r"^logit_scale must be >= 0, got -1\.0$"),
        ({"key": 3}, "key must be a single JAX PRNG key"),
    ],
)
def test_noisy_attention_bad_input(kwargs, match):
    """Each bad argument is refused by name (the valid edge cases are in the next test)."""
    args = {"key": jax.random.key(0), "ns": [4, 8], **kwargs}
    with pytest.raises(ValueError, match=match):
        smx.noisy_attention_errors(args.pop("key"), args.pop("ns"), **args)


def test_noisy_attention_edge_cases_are_valid():
    """One length, one value dimension, zero logit scale: accepted, finite, of the right shapes."""
    err, spread = smx.noisy_attention_errors(jax.random.key(1), [8], d=1, trials=4, logit_scale=0.0)
    assert np.asarray(err).shape == np.asarray(spread).shape == (4, 1)
    assert np.all(np.isfinite(np.asarray(err))) and np.all(np.asarray(spread) > 0)


# ---------------------------------------------------------------- the last n with k logits up


def _brute_first_n(beta, k):
    n = 1
    while smx.min_entropy_vertex(n, beta)[0] < k:
        n += 1
    return n


@pytest.mark.parametrize(("beta", "k"), [(1.0, 1), (1.0, 2), (2.0, 2), (2.0, 3), (3.0, 2), (4.0, 2)])
def test_first_n_with_vertex_count_matches_a_scan(beta, k):
    n = smx.first_n_with_vertex_count(beta, k)
    assert n == _brute_first_n(beta, k)
    assert smx.min_entropy_vertex(n, beta)[0] >= k > smx.min_entropy_vertex(n - 1, beta)[0]


def test_first_n_with_vertex_count_default_k_is_two():
    n = smx.first_n_with_vertex_count(3.0)
    assert n == smx.first_n_with_vertex_count(3.0, 2) == _brute_first_n(3.0, 2)


def test_first_n_with_vertex_count_bad_input():
    with pytest.raises(ValueError, match="k must be >= 1"):
        smx.first_n_with_vertex_count(1.0, 0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        smx.first_n_with_vertex_count(-1.0, 2)


# ---------------------------------------------------------------- the softmax Jacobian


def test_jacobian_norms_match_the_closed_form_jacobian():
    x = np.random.default_rng(3).normal(size=(50, 5)) * 3
    norm, bound = smx.jacobian_norms(x)
    p = _np_softmax(x)
    jac = np.stack([np.diag(q) - np.outer(q, q) for q in p])
    # float64 SVDs of 5 x 5 matrices: 1e-12 relative, and a few ulps of 1/2 absolute
    np.testing.assert_allclose(np.asarray(norm), np.linalg.norm(jac, ord=2, axis=(1, 2)),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(bound), 2 * np.max(p * (1 - p), axis=1), rtol=1e-14)
    # two logits tied far above the rest: the norm is 1/2 (eigenvector (1, -1, 0, ...)/sqrt 2)
    tied = np.array([[0.0, 0.0, -50.0, -50.0]])
    assert abs(float(smx.jacobian_norms(tied)[0][0]) - 0.5) < 1e-15
    with pytest.raises(ValueError, match=r"^logits must be 2-D, got shape \(4,\)$"):
        smx.jacobian_norms(np.zeros(4))


# ---------------------------------------------------------------- reading a Monte Carlo run


def test_rms_and_rms_ratio_against_direct_formulas():
    rng = np.random.default_rng(4)
    err, spread = rng.gamma(2.0, size=(400, 3)), rng.gamma(3.0, size=(400, 3))
    np.testing.assert_allclose(smx.rms(err), np.sqrt(np.mean(err**2, axis=0)), rtol=1e-15)
    ratio, se = smx.rms_ratio(err, spread, 2.0)
    np.testing.assert_allclose(ratio, np.sqrt(np.mean(err**2, 0) / (2 * np.mean(spread**2, 0))),
                               rtol=1e-14)
    # the delta-method SE: gradient of R(m_e, m_s) = sqrt(m_e / (kappa m_s)) against the
    # covariance of the per-trial squares (an independent route to the same first-order formula)
    for j in range(3):
        cov = np.cov(np.stack([err[:, j] ** 2, spread[:, j] ** 2]))
        me, ms = np.mean(err[:, j] ** 2), np.mean(spread[:, j] ** 2)
        grad = ratio[j] * np.array([0.5 / me, -0.5 / ms])
        np.testing.assert_allclose(se[j], np.sqrt(grad @ cov @ grad / 400), rtol=1e-12)
    with pytest.raises(ValueError, match=r"^err and spread must have the same shape, got \(400, 3\) and "
                                         r"\(400, 2\)$"):
        smx.rms_ratio(err, spread[:, :2], 1.0)
    with pytest.raises(ValueError, match="kappa must be > 0"):
        smx.rms_ratio(err, spread, 0.0)


@pytest.mark.parametrize(
    ("err", "match"),
    [
        (np.ones(5), r"err must be 2-D \(trials, lengths\) with at least 2 trials"),
        (np.ones((1, 3)), "err must be 2-D"),
        (np.ones((4, 0)), "err must be 2-D"),
        (np.array([[1.0, np.nan], [1.0, 1.0]]), "err must have only finite entries"),
    ],
)
def test_rms_bad_input(err, match):
    with pytest.raises(ValueError, match=match):
        smx.rms(err)


def test_rms_edge_shapes_and_integer_input():
    # two trials and one length are enough; integers are read as float64 (2^33 squared would
    # overflow int64)
    assert smx.rms([[3.0], [4.0]]) == pytest.approx([math.sqrt(12.5)], rel=1e-15)
    np.testing.assert_array_equal(smx.rms(np.full((2, 2), 2**33, dtype=np.int64)), [2.0**33] * 2)


def test_rms_ratio_bad_input():
    err = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"spread must be positive \(its logarithm is taken\)"):
        smx.rms_ratio(err, np.zeros((4, 3)), 1.0)
    with pytest.raises(ValueError, match=r"^spread must be 2-D"):
        smx.rms_ratio(err, np.ones(3), 1.0)
    with pytest.raises(ValueError, match=r"^err must be 2-D \(trials, lengths\)"):
        smx.rms_ratio(np.ones(3), err, 1.0)
    # err may have either sign (only its square is used); spread, divided by, must be positive
    spread = np.full((4, 3), 2.0)
    np.testing.assert_array_equal(smx.rms_ratio(-err, spread, 1.0)[0], [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(smx.rms(-err), [1.0, 1.0, 1.0])


def test_error_exponent_recovers_exact_power_laws():
    ns = np.array([10, 20, 40, 80, 160])
    rng = np.random.default_rng(5)
    u = rng.gamma(2.0, size=(64, 1))  # one random scale per trial: a pure power law per trial
    err = u * ns[None, :] ** -0.37
    for statistic in ("rms", "geometric"):
        slope, se = smx.error_exponent(ns, err, window=(20, 160), statistic=statistic)
        assert abs(slope + 0.37) < 1e-13 and se < 1e-13
    ref = u * ns[None, :] ** -0.5  # the ratio to a reference: exponent 0.13
    slope, _ = smx.error_exponent(ns, err, window=(10, 80), reference=ref)
    assert abs(slope - 0.13) < 1e-13


def test_error_exponent_standard_errors():
    ns = np.array([16, 64, 256, 1024])
    rng = np.random.default_rng(6)
    err = rng.gamma(2.0, size=(300, 4)) * ns ** -0.5
    # geometric: the mean and SE of the per-trial least-squares slopes (numpy.polyfit per trial)
    per_trial = np.array([np.polyfit(np.log(ns), np.log(row), 1)[0] for row in err])
    slope, se = smx.error_exponent(ns, err, window=(1, 10**6), statistic="geometric")
    np.testing.assert_allclose(slope, per_trial.mean(), rtol=1e-12)
    np.testing.assert_allclose(se, per_trial.std(ddof=1) / np.sqrt(300), rtol=1e-12)
    # rms: the slope of log rms, and the delta-method SE from the covariance of the squares
    slope, se = smx.error_exponent(ns, err, window=(1, 10**6))
    np.testing.assert_allclose(slope, np.polyfit(np.log(ns), np.log(smx.rms(err)), 1)[0],
                               rtol=1e-12)
    x = np.log(ns)
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    m = np.mean(err**2, axis=0)
    grad = 0.5 * c / m  # d slope / d mean(err_j^2)
    np.testing.assert_allclose(se, np.sqrt(grad @ np.cov((err**2).T) @ grad / 300), rtol=1e-12)
    # the window's ends are included: (64, 1024) fits the last three lengths, (16, 64) the first two
    for window, cols in (((64, 1024), [1, 2, 3]), ((16, 64), [0, 1])):
        slope, _ = smx.error_exponent(ns, err, window=window)
        fit = np.polyfit(np.log(ns[cols]), np.log(smx.rms(err[:, cols])), 1)[0]
        np.testing.assert_allclose(slope, fit, rtol=1e-12)


def test_error_exponent_against_a_reference_standard_error():
    # the slope of log(rms(err)/rms(ref)); its delta-method SE from the joint covariance of the
    # squares of err and ref (paired trials), gradient (c/m_err, -c/m_ref)/2
    ns = np.array([16, 64, 256, 1024])
    rng = np.random.default_rng(7)
    ref = rng.gamma(2.0, size=(300, 4)) * ns**-0.5
    err = ref * rng.gamma(5.0, size=(300, 4)) * ns**0.1
    slope, se = smx.error_exponent(ns, err, window=(1, 10**6), reference=ref)
    fit = np.polyfit(np.log(ns), np.log(smx.rms(err) / smx.rms(ref)), 1)[0]
    np.testing.assert_allclose(slope, fit, rtol=1e-12)
    x = np.log(ns)
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    grad = np.concatenate([0.5 * c / np.mean(err**2, axis=0), -0.5 * c / np.mean(ref**2, axis=0)])
    cov = np.cov(np.concatenate([err**2, ref**2], axis=1).T)
    np.testing.assert_allclose(se, np.sqrt(grad @ cov @ grad / 300), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": (2000, 4000)}, "at least 2"),
        ({"statistic": "median"}, "statistic must be one of"),
        ({"err": -np.ones((4, 3))}, r"^err must be positive \(its logarithm is taken\)$"),
        ({"err": np.ones((1, 3))}, "at least 2 trials"),
        ({"err": np.ones((4, 2))}, "one column per length"),
        ({"statistic": "geometric", "reference": np.ones((4, 3))},
         r"^reference is only used with statistic='rms'$"),
        ({"reference": np.ones((5, 3))}, "err and reference must have the same shape"),
        ({"reference": np.zeros((4, 3))}, "reference must be positive"),
        ({"window": (0, 100)}, "lo must be >= 1"),
        ({"window": (1, 2.5)}, "hi must be an integer"),
        ({"window": (1, 100, 5)}, "longer than argument 1"),
    ],
)
def test_error_exponent_bad_input(kwargs, match):
    args = {"ns": [4, 8, 16], "err": np.ones((4, 3)), "window": (1, 100), **kwargs}
    with pytest.raises(ValueError, match=match):
        smx.error_exponent(args.pop("ns"), args.pop("err"), **args)
