# -*- coding: utf-8 -*-
"""Tests of :mod:`normsafe_init._uniform`, the exact law of the squared norm
``S = sum_{i=1..n} U_i^2 B_i`` of a pylearn2 ``irange`` vector (unit scale).

Every reference below is computed here, independently of the module:

* closed forms for ``n = 1, 2`` and the orthant-ball volume for ``x <= 1``;
* adaptive quadrature of the ``n = 2`` closed forms for ``n = 3, 4, 5``
  (written in cancellation-free form so that they keep relative accuracy in
  the upper tail);
* the power series of ``P(sum (1 - U_i^2) < y)`` by direct convolution of
  its coefficients (the module uses Miller's recurrence instead);
* the continuous Bromwich inversion integral along ``Re z = theta`` with
  ``M(z) = int_0^1 exp(z u^2) du`` by Gauss-Legendre (no special functions;
  the module uses the Faddeeva function and a periodic series);
* seeded Monte Carlo with tolerances from the binomial standard error.

The test vectors of docs/anchors-and-math.md sections 5.2 and 5.6 are for the
norm ``q = sqrt(S)``; the rows for ``n >= 784`` there come from an FFT on a
grid and carry about 1e-5 relative grid error, so they are checked to
1.5e-5 and the module is checked much more tightly at large ``n`` against the
asymptotic expansions (``test_large_n_against_expansions``).
"""
from __future__ import absolute_import, division, print_function

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special

from normsafe_init import _uniform as U


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------

def ref_law1(x):
    """(cdf, sf) of U^2."""
    if x <= 0:
        return 0.0, 1.0
    if x >= 1:
        return 1.0, 0.0
    return math.sqrt(x), (1.0 - x) / (1.0 + math.sqrt(x))


def ref_law2(x):
    """(cdf, sf) of U_1^2 + U_2^2 (docs 5.2), sf without cancellation."""
    if x <= 0:
        return 0.0, 1.0
    if x >= 2:
        return 1.0, 0.0
    if x <= 1:
        return math.pi * x / 4.0, 1.0 - math.pi * x / 4.0
    a = math.sqrt(x - 1.0)
    cdf = a + x / 2.0 * (math.asin(1.0 / math.sqrt(x)) - math.asin(a / math.sqrt(x)))
    # sf = int_a^1 (1 - sqrt(x - u^2)) du, 1 - sqrt(w) = (1 - w)/(1 + sqrt(w))
    sf = integrate.quad(lambda u: (u - a) * (u + a) / (1.0 + math.sqrt(x - u * u)),
                        a, 1.0, epsabs=0.0, epsrel=1e-13)[0]
    return cdf, sf


def ref_density2(z):
    """Density of U_1^2 + U_2^2."""
    if z <= 0 or z >= 2:
        return 0.0
    if z <= 1:
        return math.pi / 4.0
    return 0.5 * math.asin((2.0 - z) / z)


def _piecewise_quad(func, lo, hi, points, rel=1e-12):
    edges = [lo] + sorted(p for p in set(points) if lo < p < hi) + [hi]
    return sum(integrate.quad(func, a, b, epsabs=0.0, epsrel=rel, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:]) if b > a)


def ref_law3(x, which):
    """F_3(x) = int_0^1 F_2(x - u^2) du (and the same for the sf)."""
    idx = 0 if which == 'cdf' else 1
    points = [math.sqrt(x - j) for j in (0, 1, 2) if 0 < x - j < 1]
    return _piecewise_quad(lambda u: ref_law2(x - u * u)[idx], 0.0, 1.0, points)


def ref_law4(x, which):
    """F_4(x) = int_0^2 f_2(z) F_2(x - z) dz."""
    if x <= 0:
        return 0.0 if which == 'cdf' else 1.0
    if x >= 4:
        return 1.0 if which == 'cdf' else 0.0
    idx = 0 if which == 'cdf' else 1
    return _piecewise_quad(lambda z: ref_density2(z) * ref_law2(x - z)[idx],
                           0.0, 2.0, [1.0, x - 2, x - 1, x])


def ref_law5(x, which):
    """F_5(x) = int_0^1 F_4(x - u^2) du (nested quadrature)."""
    points = [math.sqrt(x - j) for j in range(5) if 0 < x - j < 1]
    return _piecewise_quad(lambda u: ref_law4(x - u * u, which), 0.0, 1.0, points,
                           rel=1e-10)


def ref_ball(x, n):
    """P(S <= x) = (pi x / 4)^(n/2) / Gamma(n/2 + 1) for 0 < x <= 1."""
    return math.exp(0.5 * n * math.log(math.pi * x / 4.0) - math.lgamma(0.5 * n + 1))


def ref_top(y, n, kmax=120):
    """P(S > n - y) = P(sum V_i < y), V = 1 - U^2, y <= 0.7, by direct
    convolution of the coefficients of (sum_k a_k k! t^k)^n."""
    coef = np.array([math.exp(math.lgamma(2 * k + 1) - math.lgamma(k + 1)
                              - k * math.log(4.0)) / 2.0 for k in range(kmax + 1)])
    series = np.zeros(kmax + 1)
    series[0] = 1.0
    for _ in range(n):
        series = np.convolve(series, coef)[:kmax + 1]
    k = np.arange(kmax + 1)
    logs = (np.log(series) + (n + k) * math.log(y)
            - np.array([math.lgamma(n + i + 1) for i in k]))
    return float(np.exp(logs).sum())


_GL_X, _GL_W = np.polynomial.legendre.leggauss(400)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


def ref_m(z):
    """M(z) = int_0^1 exp(z u^2) du by 400-point Gauss-Legendre (|z| <= 300)."""
    return np.exp(np.outer(np.atleast_1d(z), _GL_X ** 2)).dot(_GL_W)


def ref_bromwich(x, n, p=1.0, upper=True, rtol=1e-10):
    """P(S > x) (upper) or P(S <= x): the inversion integral
    (1/pi) int_0^inf Re[psi(z)^n e^{-z x} / (+-z)] d omega, z = theta + i omega,
    with theta the saddlepoint (solved here with a numerical derivative)."""
    def log_psi(theta):
        return math.log(1.0 - p + p * ref_m(theta)[0].real)

    def slope(theta, h=1e-5):
        return n * (log_psi(theta + h) - log_psi(theta - h)) / (2 * h)
    theta = optimize.brentq(lambda t: slope(t) - x, -200.0, 200.0, xtol=1e-8)
    theta = max(theta, 1e-3) if upper else min(theta, -1e-3)
    log_norm = n * log_psi(theta)
    nodes, weights = np.polynomial.legendre.leggauss(20)
    total, lo, width = 0.0, 0.0, (0.5 if n <= 8 else 0.25)
    while lo < 300:
        omega = lo + 0.5 * (nodes + 1.0) * width
        z = theta + 1j * omega
        vals = (np.exp(n * np.log(1.0 - p + p * ref_m(z)) - log_norm)
                * np.exp(-1j * omega * x) / z).real
        if not upper:
            vals = -vals
        total += 0.5 * width * vals.dot(weights)
        if lo > 5 and np.abs(vals).max() < rtol * abs(total):
            break
        lo += width
    return math.exp(log_norm - theta * x) * total / math.pi


def monte_carlo_s(n, p, size, seed):
    """Seeded draws of S, chunked."""
    rng = np.random.RandomState(seed)
    out = []
    chunk = max(1, 2000000 // n)
    left = size
    while left > 0:
        rows = min(chunk, left)
        u = rng.uniform(0.0, 1.0, (rows, n))
        if p < 1:
            u *= rng.uniform(0.0, 1.0, (rows, n)) < p
        out.append(np.einsum('ij,ij->i', u, u))
        left -= rows
    return np.concatenate(out)


def rel_err(a, b):
    return abs(a / b - 1.0)


# ---------------------------------------------------------------------------
# Documented test vectors (docs/anchors-and-math.md 5.2, 5.4, 5.6)
# ---------------------------------------------------------------------------

# (n, upper tail level q, documented quantile of the norm, relative tolerance)
DOC_QUANTILES = [
    (2, 0.01, 1.31552, 5e-6),
    (2, 0.5, 0.79788, 1e-5),
    (4, 1e-5, 1.93838, 5e-6),
    (16, 0.01, 2.86771, 5e-6),
    (16, 1e-5, 3.26922, 5e-6),
    (16, 0.5, 2.30240, 5e-6),
    (64, 1e-5, 5.64915, 5e-6),
    (784, 0.01, 16.75980, 1.5e-5),     # docs: FFT grid, ~1e-5 error
    (784, 1e-5, 17.24653, 1.5e-5),
    (784, 0.5, 16.16486, 1.5e-5),
    (4096, 0.01, 37.54844, 1.5e-5),
    (4096, 1e-5, 38.04292, 1.5e-5),
    (4096, 0.5, 36.95033, 1.5e-5),
]


@pytest.mark.parametrize('n, q, expected, tol', DOC_QUANTILES)
def test_documented_quantiles(n, q, expected, tol):
    assert rel_err(math.sqrt(U.sq_norm_isf(q, n)), expected) < tol
    assert rel_err(math.sqrt(U.sq_norm_ppf(1.0 - q, n)), expected) < tol


DOC_MEANS = [
    (2, 0.765196, 1e-6), (4, 1.121900, 1e-6), (16, 2.294527, 1e-6),
    (64, 4.611533, 1e-6),
    (784, 16.163781, 1.5e-5), (4096, 36.949865, 1.5e-5),   # FFT grid values
]


@pytest.mark.parametrize('n, expected, tol', DOC_MEANS)
def test_documented_means(n, expected, tol):
    assert rel_err(U.norm_mean(n), expected) < tol


@pytest.mark.parametrize('n, root_x, expected, tol', [
    (16, 2.86771, 0.0100007, 1e-5),
    (4, 1.93838, 9.905e-6, 1e-3),
    (2, 1.41105, 1.029e-5, 1e-3),
])
def test_documented_saddlepoint_values(n, root_x, expected, tol):
    assert rel_err(U.saddlepoint_sf(root_x ** 2, n), expected) < tol


def test_documented_n2_value():
    # n = 2, t = 1.2 r: P = 0.950911 (Monte Carlo 0.950836 in the docs)
    assert abs(U.sq_norm_cdf(1.2 ** 2, 2) - 0.950911) < 1e-6


def test_documented_include_prob_example():
    # n = 784, r = .05, p = .5: mean 0.57131, SD 0.01646 (delta method)
    r = 0.05
    assert abs(r * U.norm_mean(784, 0.5) - 0.57131) < 5e-6
    assert rel_err(r * U.norm_std(784, 0.5), 0.01646) < 1e-3


# ---------------------------------------------------------------------------
# Exact small-n forms
# ---------------------------------------------------------------------------

GRID_1 = [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9]
GRID_2 = [1e-9, 0.01, 0.5, 1.0, 1 + 1e-9, 1.2, 1.44, 1.5, 1.7, 1.9, 1.99, 2 - 1e-6]


@pytest.mark.parametrize('x', GRID_1)
def test_n1_closed_form(x):
    cdf, sf = ref_law1(x)
    assert rel_err(U.sq_norm_cdf(x, 1), cdf) < 1e-14
    assert rel_err(U.sq_norm_sf(x, 1), sf) < 1e-14
    # the convolution identity F_2(x) = int_0^1 F_1(x - u^2) du
    conv = integrate.quad(lambda u: ref_law1(x - u * u)[0], 0.0, 1.0,
                          points=[math.sqrt(x)], epsabs=0.0, epsrel=1e-13)[0]
    assert rel_err(U.sq_norm_cdf(x, 2), conv) < 1e-11


@pytest.mark.parametrize('x', GRID_2)
def test_n2_closed_form(x):
    cdf, sf = ref_law2(x)
    assert rel_err(U.sq_norm_cdf(x, 2), cdf) < 1e-12
    assert rel_err(U.sq_norm_sf(x, 2), sf) < 1e-9
    if x < 1:
        assert rel_err(U.sq_norm_cdf(x, 2), ref_ball(x, 2)) < 1e-14


@pytest.mark.parametrize('x', [0.3, 1.0, 1.5, 2.0, 2.2, 2.5, 2.8, 2.95])
def test_n3_tables_against_convolution(x):
    assert rel_err(U.sq_norm_cdf(x, 3), ref_law3(x, 'cdf')) < 1e-11
    assert rel_err(U.sq_norm_sf(x, 3), ref_law3(x, 'sf')) < 1e-10


@pytest.mark.parametrize('n', [8, 10, 12])
def test_tables_against_series(n):
    # two independent exact methods: Chebyshev tables of the convolution
    # recursion, and the tilted Fourier series (used for n >= 13)
    law = U._PureLaw(n)
    for x in np.linspace(1.05, n - 0.8, 9):
        cdf, sf = U.sq_norm_cdf(x, n), U.sq_norm_sf(x, n)
        s_cdf, s_sf = U._law_cdf_sf_series(law, float(x))
        assert rel_err(cdf, s_cdf) < 1e-10
        assert rel_err(sf, s_sf) < 1e-10


@pytest.mark.parametrize('n', [2, 3, 7, 13, 40, 1000])
def test_ball_and_top_series(n):
    for x in (1e-6, 0.2, 0.99):
        expected = ref_ball(x, n)
        if expected > 1e-300:
            assert rel_err(U.sq_norm_cdf(x, n), expected) < 1e-12
        else:
            assert U.sq_norm_cdf(x, n) < 1e-290
    for y in (1e-4, 0.1, 0.5, 0.7):
        x = n - y
        expected = ref_top(n - x, n)       # the y that the float x represents
        if expected > 1e-300:
            assert rel_err(U.sq_norm_sf(x, n), expected) < 1e-11


# ---------------------------------------------------------------------------
# Tail accuracy against independent high-precision references
# ---------------------------------------------------------------------------

def _tail_reference(n, x, upper, p=1.0):
    if p == 1.0 and upper and n - x <= 0.7:
        return ref_top(n - x, n)
    if p == 1.0 and not upper and x <= 1:
        return ref_ball(x, n)
    if p == 1.0 and n in (3, 4, 5):
        return {3: ref_law3, 4: ref_law4, 5: ref_law5}[n](x, 'sf' if upper else 'cdf')
    return ref_bromwich(x, n, p, upper)


TAIL_CASES = [(n, level, upper) for n in (3, 4, 5, 8, 16, 64)
              for level in (1e-3, 1e-6, 1e-9) for upper in (True, False)]


@pytest.mark.parametrize('n, level, upper', TAIL_CASES)
def test_tail_against_reference(n, level, upper):
    x = U.sq_norm_isf(level, n) if upper else U.sq_norm_ppf(level, n)
    got = U.sq_norm_sf(x, n) if upper else U.sq_norm_cdf(x, n)
    assert rel_err(got, level) < 1e-9            # the quantile solves its equation
    assert rel_err(got, _tail_reference(n, x, upper)) < 1e-7   # required: 1e-4


@pytest.mark.parametrize('n, p, level, upper', [
    (64, 0.5, 1e-3, True), (64, 0.5, 1e-9, True), (64, 0.5, 1e-3, False),
    (16, 0.9, 1e-6, True), (16, 0.9, 1e-9, True),
])
def test_tail_include_prob_against_reference(n, p, level, upper):
    x = U.sq_norm_isf(level, n, p) if upper else U.sq_norm_ppf(level, n, p)
    got = U.sq_norm_sf(x, n, p) if upper else U.sq_norm_cdf(x, n, p)
    assert rel_err(got, ref_bromwich(x, n, p, upper)) < 1e-7


def test_far_tails_keep_relative_accuracy():
    # 1e-15 and below, both tails, against the independent references
    for n in (8, 13, 30):
        x = U.sq_norm_isf(1e-15, n)
        assert rel_err(U.sq_norm_sf(x, n), 1e-15) < 1e-9
        assert rel_err(U.sq_norm_sf(x, n), _tail_reference(n, x, True)) < 1e-8
    x = U.sq_norm_ppf(1e-15, 64)
    assert rel_err(U.sq_norm_cdf(x, 64), 1e-15) < 1e-9
    assert rel_err(U.sq_norm_cdf(x, 64), ref_bromwich(x, 64, 1.0, False)) < 1e-8
    # 1e-30: near the top for n = 20 (V-series) and in the series region
    assert rel_err(U.sq_norm_sf(19.6, 20), ref_top(0.4, 20)) < 1e-11
    assert U.sq_norm_sf(19.6, 20) < 1e-30


@pytest.mark.parametrize('n, p', [(40, 0.3), (20, 0.5), (16, 0.9), (100, 0.05)])
def test_include_prob_equals_binomial_mixture(n, p):
    # P(S > x) = sum_j Binom(j; n, p) P(S_j > x), with each p = 1 law checked
    # against its own references above
    j = np.arange(n + 1)
    log_binom = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                          for k in j]) + j * math.log(p) + (n - j) * math.log1p(-p)
    for level in (1e-3, 1e-9, 1e-12):
        x = U.sq_norm_isf(level, n, p)
        mixture = sum(math.exp(log_binom[k]) * U.sq_norm_sf(x, int(k))
                      for k in range(1, n + 1))
        assert rel_err(U.sq_norm_sf(x, n, p), mixture) < 1e-11


def test_include_prob_paths_agree():
    # psi-series (used when the few-non-zero components are negligible) and
    # the exact mixture (small j from tables + one series over j >= 13)
    for n, p, x in [(50, 0.9, 27.7), (200, 0.5, 56.1), (50, 0.5, 14.0),
                    (200, 0.9, 51.5)]:
        law = U._PsiLaw(n, p)
        upper = x >= law.mean
        plan = U._tail_plan(law, x, upper)
        assert plan['terms'] <= U._K_PSI_MAX
        psi_tail = U._series_tail(law, x, upper, plan)
        cdf_lo, sf_lo = U._mixture_small_j(np.array([x]), n, p, U._N_TABLE)
        lb = U._log_binom_pmf(n, p, n)[U._N_TABLE + 1:]
        mix = U._MixLaw(U._N_TABLE + 1, lb, n)
        c_hi, s_hi = U._law_cdf_sf_series(mix, x)
        mix_tail = (sf_lo[0] + s_hi) if upper else (cdf_lo[0] + c_hi)
        if not upper:
            psi_tail += (1 - p) ** n
        assert rel_err(psi_tail, mix_tail) < 1e-10


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------

MC_CASES = [(n, p) for n in (1, 2, 3, 4, 5, 7, 10, 16, 50) for p in (1.0, 0.5, 0.1)]


@pytest.mark.parametrize('n, p', MC_CASES)
def test_monte_carlo(n, p):
    size = 1000000 if n <= 10 else 300000
    s = np.sort(monte_carlo_s(n, p, size, seed=1000 * n + int(100 * p)))
    mean = n * p / 3.0
    sd = math.sqrt(n * (p / 5.0 - p * p / 9.0))
    xs = [x for x in (0.0, 0.2 * mean, 0.5 * mean, mean, mean + sd,
                      mean + 3 * sd, 0.9 * n) if 0 <= x < n]
    cdf = U.sq_norm_cdf(np.array(xs), n, p)
    sf = U.sq_norm_sf(np.array(xs), n, p)
    for x, c, f in zip(xs, cdf, sf):
        hat = np.searchsorted(s, x, side='right') / size
        se = math.sqrt(max(c * (1 - c), 1.0 / size) / size)
        assert abs(hat - c) <= 5 * se, (x, hat, c)
        assert abs((1 - hat) - f) <= 5 * se
    # moments of the norm
    norms = np.sqrt(s)
    m, v = norms.mean(), norms.var()
    se_mean = math.sqrt(v / size)
    se_var = math.sqrt(max(np.mean((norms - m) ** 4) - v * v, 1e-300) / size)
    assert abs(U.norm_mean(n, p) - m) <= 5 * se_mean
    assert abs(U.norm_std(n, p) ** 2 - v) <= 5 * se_var


# ---------------------------------------------------------------------------
# Moments
# ---------------------------------------------------------------------------

def test_moments_exact_constants():
    assert abs(U.norm_mean(1) - 0.5) < 1e-15
    assert abs(U.norm_std(1) - math.sqrt(1.0 / 12)) < 1e-15
    m2 = (math.sqrt(2.0) + math.asinh(1.0)) / 3.0
    assert rel_err(U.norm_mean(2), m2) < 1e-13
    assert rel_err(U.norm_std(2), math.sqrt(2.0 / 3.0 - m2 * m2)) < 1e-12
    # mean distance from a corner of the unit cube
    m3 = math.sqrt(3.0) / 4 + math.log(2 + math.sqrt(3.0)) / 2 - math.pi / 24
    assert rel_err(U.norm_mean(3), m3) < 1e-13
    assert rel_err(U.norm_std(3), math.sqrt(1.0 - m3 * m3)) < 1e-12


@pytest.mark.parametrize('n, p', [(13, 1.0), (16, 1.0), (5, 0.1), (40, 0.9)])
def test_moments_against_integrated_sf(n, p):
    # E sqrt(S) = int_0^sqrt(n) P(S > t^2) dt; Var = n p / 3 - mean^2
    mean = _piecewise_quad(lambda t: U.sq_norm_sf(t * t, n, p), 0.0, math.sqrt(n),
                           list(np.sqrt(np.arange(1, n))), rel=1e-12)
    assert rel_err(U.norm_mean(n, p), mean) < 1e-11
    assert rel_err(U.norm_std(n, p), math.sqrt(n * p / 3.0 - mean * mean)) < 1e-9


@pytest.mark.parametrize('n', [10 ** 4, 10 ** 5, 10 ** 6])
def test_large_n_against_expansions(n):
    # delta method to O(n^-2): mean = sqrt(n/3)(1 - 1/(10 n) - 0.046429/n^2)
    delta = math.sqrt(n / 3.0) * (1 - 1 / (10.0 * n) - 0.046429 / n ** 2)
    assert rel_err(U.norm_mean(n), delta) < 1e-11
    assert abs(U.norm_std(n) - 1 / math.sqrt(15)) < 2.0 / n
    # Cornish-Fisher (docs 5.2) is accurate to ~1e-8 here; Lugannani-Rice too
    for q in (0.01, 1e-5, 1e-9):
        z = -float(special.ndtri(q))
        g = 2 * math.sqrt(5) / 7 / math.sqrt(n)
        k = -6.0 / (7 * n)
        w = z + g / 6 * (z * z - 1) + k / 24 * (z ** 3 - 3 * z) - g * g / 36 * (2 * z ** 3 - 5 * z)
        cf = math.sqrt(n / 3.0 + math.sqrt(4.0 * n / 45) * w)
        x = U.sq_norm_isf(q, n)
        assert rel_err(math.sqrt(x), cf) < 1e-7
        assert rel_err(U.saddlepoint_sf(x, n), q) < 1e-4


# ---------------------------------------------------------------------------
# Consistency: continuity, round trips, monotonicity, shapes
# ---------------------------------------------------------------------------

def _switch_points(n, p):
    if p == 1.0:
        points = [1.0, n - U._V_SERIES_Y, n / 3.0]
        if n <= U._N_TABLE:
            points += list(range(2, n))
    else:
        points = [1.0, n - 1.0, n - U._V_SERIES_Y, n * p / 3.0]
    return [x for x in points if 0 < x < n]


@pytest.mark.parametrize('n, p', [(3, 1.0), (7, 1.0), (12, 1.0), (13, 1.0),
                                  (40, 1.0), (1000, 1.0), (5, 0.5), (13, 0.3),
                                  (40, 0.5), (200, 0.1)])
def test_continuity_across_method_switches(n, p):
    for x in _switch_points(n, p):
        eps = 1e-10 * max(1.0, x)
        both = np.array([x - eps, x + eps])
        for values in (U.sq_norm_cdf(both, n, p), U.sq_norm_sf(both, n, p)):
            if values.min() > 1e-280:
                assert rel_err(values[0], values[1]) < 1e-6, (x, values)


@pytest.mark.parametrize('n, p', [(1, 1.0), (2, 1.0), (5, 1.0), (13, 1.0), (100, 1.0),
                                  (10 ** 6, 1.0), (4, 0.5), (30, 0.1), (1000, 0.5)])
def test_round_trips(n, p):
    mean = n * p / 3.0
    sd = math.sqrt(n * (p / 5.0 - p * p / 9.0))
    for x in (mean - 2 * sd, mean, mean + 2 * sd, mean + 5 * sd):
        if not 0 < x < n:
            continue
        q = U.sq_norm_sf(x, n, p)
        assert rel_err(U.sq_norm_isf(q, n, p), x) < 1e-9
        c = U.sq_norm_cdf(x, n, p)
        assert rel_err(U.sq_norm_ppf(c, n, p), x) < 1e-9
    for q in (0.3, 1e-3, 1e-9, 1e-13):
        x = U.sq_norm_isf(q, n, p)
        if n - x > 1e-3 * n:            # sf(x) is well conditioned there
            assert rel_err(U.sq_norm_sf(x, n, p), q) < 1e-9


@pytest.mark.parametrize('n, p', [(2, 1.0), (6, 1.0), (20, 1.0), (20, 0.3), (300, 0.7)])
def test_monotone(n, p):
    xs = np.linspace(-0.5, n + 0.5, 121)
    cdf, sf = U.sq_norm_cdf(xs, n, p), U.sq_norm_sf(xs, n, p)
    assert np.all(np.diff(cdf) >= 0) and np.all(np.diff(sf) <= 0)
    assert np.all((cdf >= 0) & (cdf <= 1) & (sf >= 0) & (sf <= 1))
    qs = np.array([0.9, 0.5, 0.1, 1e-3, 1e-6, 1e-9, 1e-12])
    xq = U.sq_norm_isf(qs, n, p)
    assert np.all(np.diff(xq) > 0)
    assert np.all(np.diff(U.sq_norm_ppf(1 - qs[:4], n, p)) > 0)


@pytest.mark.parametrize('n, p', [(1, 1.0), (3, 1.0), (17, 1.0), (500, 1.0), (9, 0.4),
                                  (60, 0.2)])
def test_cdf_plus_sf_is_one(n, p):
    xs = np.linspace(0.01, n - 0.01, 57)
    cdf, sf = U.sq_norm_cdf(xs, n, p), U.sq_norm_sf(xs, n, p)
    bulk = (cdf > 1e-3) & (sf > 1e-3)
    assert bulk.any()
    assert np.all(np.abs(cdf + sf - 1)[bulk] < 1e-13)


def test_shapes_and_scalars():
    x = np.array([[0.5, 1.5, 2.5], [3.0, 4.0, 9.0]])
    for func in (U.sq_norm_cdf, U.sq_norm_sf, U.saddlepoint_sf):
        out = func(x, 8, 0.7)
        assert isinstance(out, np.ndarray) and out.shape == (2, 3)
        assert isinstance(func(2.0, 8), float)
        assert func([1.0, 2.0], 8).shape == (2,)
    q = np.array([[0.1, 0.01], [1e-3, 1e-6]])
    assert U.sq_norm_isf(q, 8).shape == (2, 2)
    assert U.sq_norm_ppf(q, 8).shape == (2, 2)
    assert isinstance(U.sq_norm_isf(0.1, 8), float)
    assert isinstance(U.norm_mean(8), float) and isinstance(U.norm_std(8, 0.5), float)
    assert U.sq_norm_cdf(np.float32(2.0), np.int64(8)) == U.sq_norm_cdf(2.0, 8.0)


@pytest.mark.parametrize('n', [1, 5, 12, 13, 100, 5000])
def test_include_prob_near_one_matches_one(n):
    p = 1 - 1e-12
    xs = [x for x in (0.5, n / 4.0, n / 3.0, n / 2.0, n - 0.5) if 0 < x < n]
    for x in xs:
        for func in (U.sq_norm_cdf, U.sq_norm_sf):
            a, b = func(x, n), func(x, n, p)
            if a > 1e-300:
                assert rel_err(b, a) < 1e-8
    for q in (0.5, 1e-6, 1e-12):
        assert rel_err(U.sq_norm_isf(q, n, p), U.sq_norm_isf(q, n)) < 1e-8


@pytest.mark.parametrize('n, p', [(3, 0.5), (7, 0.3), (12, 0.9), (40, 0.5), (2, 1.0)])
def test_values_are_probabilities(n, p):
    xs = np.concatenate([np.linspace(-1.0, n + 1.0, 41), [n, n - 1e-12, 0.0]])
    for func in (U.sq_norm_cdf, U.sq_norm_sf):
        vals = func(xs, n, p)
        assert np.all((vals >= 0.0) & (vals <= 1.0))
    assert U.sq_norm_cdf(float(n), n, p) == 1.0 and U.sq_norm_sf(float(n), n, p) == 0.0


def test_edges_and_atom():
    assert U.sq_norm_cdf(-1.0, 5) == 0.0 and U.sq_norm_sf(-1.0, 5) == 1.0
    assert U.sq_norm_cdf(0.0, 5) == 0.0 and U.sq_norm_sf(0.0, 5) == 1.0
    assert U.sq_norm_cdf(5.0, 5) == 1.0 and U.sq_norm_sf(5.0, 5) == 0.0
    assert U.sq_norm_cdf(np.inf, 5) == 1.0 and U.sq_norm_cdf(-np.inf, 5) == 0.0
    for n, p in [(3, 0.5), (30, 0.1), (400, 0.01)]:
        atom = (1 - p) ** n
        assert rel_err(U.sq_norm_cdf(0.0, n, p), atom) < 1e-12
        assert rel_err(U.sq_norm_sf(0.0, n, p), 1 - atom) < 1e-12
        assert U.sq_norm_cdf(-0.1, n, p) == 0.0
        # quantiles inside the atom are 0
        assert U.sq_norm_ppf(0.5 * atom, n, p) == 0.0
        assert U.sq_norm_isf(1 - 0.5 * atom, n, p) == 0.0
        assert U.sq_norm_ppf(min(2 * atom, 0.99), n, p) > 0
    # n = 1: isf(q) = (1 - q)^2 exactly
    for q in (0.5, 1e-3, 1e-9):
        assert rel_err(U.sq_norm_isf(q, 1), (1 - q) ** 2) < 1e-12


def test_no_warnings_in_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for n, p in [(13, 0.9), (14, 0.1), (40, 0.5), (10 ** 5, 0.01), (10 ** 6, 1.0)]:
            U.sq_norm_sf(np.linspace(0.1, n - 0.1, 7), n, p)
            U.sq_norm_isf(1e-9, n, p)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, message', [
    (dict(n=0), 'n must be an integer >= 1; got 0'),
    (dict(n=2.5), 'n must be an integer >= 1; got 2.5'),
    (dict(n=-3), 'n must be an integer >= 1; got -3'),
    (dict(n=float('nan')), 'n must be an integer >= 1; got nan'),
    (dict(include_prob=1.5), 'include_prob must be in (0, 1]; got 1.5'),
    (dict(include_prob=0.0), 'include_prob must be in (0, 1]; got 0.0'),
    (dict(include_prob=float('nan')), 'include_prob must be in (0, 1]; got nan'),
])
def test_invalid_parameters(kwargs, message):
    args = dict(n=4, include_prob=0.5)
    args.update(kwargs)
    calls = [lambda: U.sq_norm_cdf(1.0, args['n'], args['include_prob']),
             lambda: U.sq_norm_sf(1.0, args['n'], args['include_prob']),
             lambda: U.sq_norm_isf(0.1, args['n'], args['include_prob']),
             lambda: U.sq_norm_ppf(0.1, args['n'], args['include_prob']),
             lambda: U.norm_mean(args['n'], args['include_prob']),
             lambda: U.norm_std(args['n'], args['include_prob']),
             lambda: U.saddlepoint_sf(1.0, args['n'], args['include_prob'])]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize('value, message', [
    (0.0, 'q must be in (0, 1); got 0.0'),
    (1.0, 'q must be in (0, 1); got 1.0'),
    (-0.2, 'q must be in (0, 1); got -0.2'),
    (float('nan'), 'q must be in (0, 1); got nan'),
])
def test_invalid_levels(value, message):
    with pytest.raises(ValueError) as info:
        U.sq_norm_isf(value, 4)
    assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        U.sq_norm_ppf([0.5, value], 4)
    assert str(info.value) == message.replace('q must', 'p_level must')


def test_invalid_x_and_types():
    with pytest.raises(ValueError) as info:
        U.sq_norm_cdf([1.0, float('nan')], 4)
    assert str(info.value) == 'x must not be NaN'
    with pytest.raises(ValueError):
        U.sq_norm_sf(float('nan'), 4)
    with pytest.raises(TypeError):
        U.sq_norm_cdf(1.0, '4')
    with pytest.raises(TypeError):
        U.sq_norm_cdf(1.0, True)
    with pytest.raises(TypeError):
        U.sq_norm_cdf(1.0, 4, None)
