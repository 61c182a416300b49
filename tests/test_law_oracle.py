# -*- coding: utf-8 -*-
"""Tests of the law of ``S = sum_{i<=n} (X_i B_i)^2`` (normsafe_init._sumlaw,
normsafe_init._entry) for the uniform (``irange``) and the truncated normal
(Keras ``TruncatedNormal``) entry, at the specification's accuracy: 1e-4
relative on quantiles and on tails down to 1e-6 (and below), every ``n >= 1``
and ``include_prob`` in (0, 1]; quantiles on the safe side (never too small).

Every reference is computed here, independently of the modules:

* closed forms for ``n = 1`` (and ``n = 2`` for the uniform), the orthant
  ball ``x <= 1`` (uniform) and ``chi2_n / erf(sqrt 2)^n`` for ``x <= 4``
  (truncated normal: the ball then lies inside the cube);
* adaptive quadrature of the convolution ``F_n(x) = int f(u) F_{n-1}(x - u^2)``
  for ``n <= 5`` (uniform) and ``n <= 3`` (truncated normal);
* the power series of ``P(sum (1 - U_i^2) < y)`` near the top (uniform);
* the continuous Bromwich integral with ``M`` by 400-point Gauss-Legendre;
* Cornish-Fisher and the delta method at large ``n``, exact moments;
* seeded Monte Carlo with tolerances from the binomial standard error.
"""
from __future__ import absolute_import, division, print_function

import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special, stats

from normsafe_init._entry import TRUNCNORMAL_ENTRY, UNIFORM_ENTRY
from normsafe_init._sumlaw import QUANTILE_MARGIN, SumLaw, sum_law
from sumlaw_references import (ERF2, GL_W, GL_X, mc_s, pieces_quad,
                               ref_bromwich, ref_m, tn_chi2, tn_conv, tn_law1,
                               u_ball, u_conv, u_law1, u_law2, u_top)

RTOL = 1e-4          # the specification
ENTRIES = {'uniform': UNIFORM_ENTRY, 'truncnormal': TRUNCNORMAL_ENTRY}


def rel_err(a, b):
    return abs(a / b - 1.0)


# -- one entry ----------------------------------------------------------------

def test_entry_moments_against_scipy_truncnorm():
    tn = stats.truncnorm(-2, 2)
    assert rel_err(TRUNCNORMAL_ENTRY.mean, tn.moment(2)) < 1e-13
    assert rel_err(math.sqrt(TRUNCNORMAL_ENTRY.mean), 0.87962566103423978) < 1e-14
    assert rel_err(TRUNCNORMAL_ENTRY.moments[2], tn.moment(4)) < 1e-12
    assert rel_err(UNIFORM_ENTRY.moments[5], 1.0 / 11) < 1e-14
    for y in (1e-6, 0.3, 2.0, 3.9):
        expected = tn.cdf(math.sqrt(y)) - tn.cdf(-math.sqrt(y))
        assert rel_err(float(TRUNCNORMAL_ENTRY.cdf1(y)), expected) < 1e-12
        assert rel_err(float(TRUNCNORMAL_ENTRY.sf1(y)), 1 - expected) < 1e-9


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('theta', [-300.0, -30.0, -2.5, -0.3, 0.0, 0.4, 2.2,
                                   9.0, 11.0, 60.0, 150.0])
def test_entry_cumulants_against_quadrature(name, theta):
    entry = ENTRIES[name]
    u = 0.5 * entry.B * (GL_X + 1.0)
    mu = theta - entry.lam
    shift = mu * entry.b if mu > 0 else 0.0         # the largest exponent
    w = GL_W * np.exp(mu * u * u - shift)
    v = entry.b - u * u                             # b - Y >= 0
    m0 = w.sum()
    ev, ev2 = w.dot(v) / m0, w.dot(v * v) / m0
    log_m, m1, var = entry.cumulants(theta)
    log_ref = math.log(0.5 * entry.B * m0 / entry.norm) + shift
    assert abs(log_m - log_ref) < 1e-12 * max(1.0, abs(log_ref))
    assert rel_err(entry.b - m1, ev) < 1e-9
    assert rel_err(var, ev2 - ev * ev) < 1e-7
    z = np.array([theta + 0.0j, theta + 3.0j, theta - 0.5j])
    if abs(theta) * entry.b < 200:
        ref = ref_m(z, entry.lam, entry.B)
        got = np.exp(entry.log_m(z))
        assert np.all(np.abs(got / ref - 1) < 1e-10)
        # the pieces: M = A + exp(b z) E in the upper half plane
        log_a, log_e = entry.log_pieces(z[1:2])
        both = np.exp(log_a) + np.exp(log_e + entry.b * z[1])
        assert abs(both[0] / ref[1] - 1) < 1e-10


# -- closed forms and quadrature references -----------------------------------

@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('p', [1.0, 0.3])
def test_n1_closed_form(name, p):
    entry = ENTRIES[name]
    law = SumLaw(entry, 1, p)
    ref = u_law1 if name == 'uniform' else tn_law1
    for y in np.array([1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9, 0.999]) * entry.b:
        cdf, sf = ref(y)
        assert rel_err(law.cdf(y), 1 - p + p * cdf) < 1e-12
        assert rel_err(law.sf(y), p * sf) < 1e-9
    for q in (0.5 * p, 1e-3, 1e-9):
        x = law.isf(q)
        assert law.sf(x) <= q and rel_err(law.sf(x), q) < RTOL


@pytest.mark.parametrize('x', [1e-9, 0.01, 0.5, 1.0, 1 + 1e-9, 1.2, 1.44, 1.7,
                               1.99, 2 - 1e-6])
def test_uniform_n2_closed_form(x):
    cdf, sf = u_law2(x)
    law = SumLaw(UNIFORM_ENTRY, 2, 1.0)
    assert rel_err(law.cdf(x), cdf) < RTOL
    assert rel_err(law.sf(x), sf) < RTOL


@pytest.mark.parametrize('n', [3, 4, 5])
@pytest.mark.parametrize('level', [1e-3, 1e-6, 1e-9])
def test_uniform_small_n_tails_against_convolution(n, level):
    law = SumLaw(UNIFORM_ENTRY, n, 1.0)
    for upper in (True, False):
        x = law.isf(level) if upper else law.ppf(level)
        got = law.sf(x) if upper else law.cdf(x)
        ref = u_conv(x, n, 'sf' if upper else 'cdf')
        assert rel_err(got, ref) < RTOL
        assert rel_err(got, level) < RTOL          # the quantile solves it


@pytest.mark.parametrize('n', [2, 3])
@pytest.mark.parametrize('p', [1.0, 0.4])
def test_truncnormal_small_n_against_convolution(n, p):
    law = SumLaw(TRUNCNORMAL_ENTRY, n, p)
    j = np.arange(n + 1)
    weights = stats.binom.pmf(j, n, p)
    for x in (0.01, 1.0, 3.9, 4.1, 6.0, 7.9, 8.1, 4.0 * n - 0.05):
        if not x < 4 * n:
            continue
        for which in ('sf', 'cdf'):
            ref = sum(weights[k] * tn_conv(x, k, which) for k in j[1:])
            ref += weights[0] * (which == 'cdf')
            got = law.sf(x) if which == 'sf' else law.cdf(x)
            assert rel_err(got, ref) < RTOL, (x, which)


@pytest.mark.parametrize('n', [2, 3, 7, 13, 40, 1000])
def test_uniform_ball_and_top(n):
    law = SumLaw(UNIFORM_ENTRY, n, 1.0)
    for x in (1e-6, 0.2, 0.99):
        expected = u_ball(x, n)
        if expected > 1e-300:
            assert rel_err(law.cdf(x), expected) < RTOL
    for y in (1e-4, 0.1, 0.5, 0.7):
        x = n - y
        expected = u_top(n - x, n)
        if expected > 1e-300:
            assert rel_err(law.sf(x), expected) < RTOL


@pytest.mark.parametrize('n', [1, 4, 10, 30, 60])
@pytest.mark.parametrize('p', [1.0, 0.5])
def test_truncnormal_chi2_region(n, p):
    law = SumLaw(TRUNCNORMAL_ENTRY, n, p)
    for x in (0.01, 0.5, 2.0, 3.99):
        expected = tn_chi2(x, n, p)
        if expected > 1e-290:
            assert rel_err(law.cdf(x), expected) < RTOL


def u_ball_mix(x, n, p):
    """P(S <= x), x <= 1, uniform entries with include_prob p."""
    return sum(stats.binom.pmf(j, n, p) * (u_ball(x, j) if j else 1.0)
               for j in range(n + 1))


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(8, 1.0), (16, 1.0), (64, 1.0), (16, 0.9),
                                  (64, 0.5)])
def test_tails_against_references(name, n, p):
    """Upper tails against the Bromwich reference; lower tails against the
    exact ball / chi2 forms below ``b`` (where the reference's integrand
    decays too slowly for it), and the reference above."""
    entry = ENTRIES[name]
    law = SumLaw(entry, n, p)
    for level in (1e-3, 1e-6, 1e-9):
        x = law.isf(level)
        ref = ref_bromwich(x, n, p, True, entry.lam, entry.B)
        assert rel_err(law.sf(x), ref) < RTOL, (level, 'upper')
        x = law.ppf(level)
        if x <= entry.b:
            ref = (u_ball_mix(x, n, p) if name == 'uniform'
                   else tn_chi2(x, n, p))
        else:
            ref = ref_bromwich(x, n, p, False, entry.lam, entry.B)
        assert rel_err(law.cdf(x), ref) < RTOL, (level, 'lower')


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(40, 0.3), (20, 0.5), (16, 0.9),
                                  (100, 0.05), (5, 0.2)])
def test_include_prob_is_the_binomial_mixture(name, n, p):
    """P(S > x) = sum_j Binom(j; n, p) P(S_j > x); each p = 1 law is checked
    against independent references above."""
    entry = ENTRIES[name]
    law = SumLaw(entry, n, p)
    weights = stats.binom.pmf(np.arange(n + 1), n, p)
    for level in (0.3, 1e-3, 1e-9):
        x = law.isf(level)
        if x == 0.0:
            continue
        mixture = sum(weights[j] * sum_law(entry, j, 1.0).sf(x)
                      for j in range(1, n + 1))
        assert rel_err(law.sf(x), mixture) < RTOL
        x = law.ppf(max(level, 2 * weights[0]))
        mixture = weights[0] + sum(weights[j] * sum_law(entry, j, 1.0).cdf(x)
                                   for j in range(1, n + 1))
        assert rel_err(law.cdf(x), mixture) < RTOL


# -- large n ------------------------------------------------------------------

def _cornish_fisher(entry, n, q):
    """Upper-q quantile of S from its first four cumulants."""
    m = entry.moments
    k2 = m[2] - m[1] ** 2
    k3 = m[3] - 3 * m[1] * m[2] + 2 * m[1] ** 3
    k4 = m[4] - 4 * m[1] * m[3] - 3 * m[2] ** 2 + 12 * m[1] ** 2 * m[2] \
        - 6 * m[1] ** 4
    g, k = k3 / k2 ** 1.5 / math.sqrt(n), k4 / k2 ** 2 / n
    z = -float(special.ndtri(q))
    w = (z + g / 6 * (z * z - 1) + k / 24 * (z ** 3 - 3 * z)
         - g * g / 36 * (2 * z ** 3 - 5 * z))
    return n * m[1] + math.sqrt(n * k2) * w


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n', [10 ** 4, 46208, 100352, 10 ** 6])
def test_large_n_against_expansions(name, n):
    entry = ENTRIES[name]
    law = SumLaw(entry, n, 1.0)
    for q in (0.5, 0.01, 1e-5, 1e-9):
        assert rel_err(law.isf(q), _cornish_fisher(entry, n, q)) < 1e-5
    # delta method: E sqrt(S) = sqrt(mu) (1 - (k - 1) / (8 n) + O(n^-2)),
    # k = E Y^2 / (E Y)^2 the kurtosis of one entry
    kurt = entry.moments[2] / entry.mean ** 2
    mean, sd = law.norm_moments()
    assert rel_err(mean, math.sqrt(n * entry.mean) * (1 - (kurt - 1) / (8 * n))) < 1e-8
    assert rel_err(sd, math.sqrt(entry.mean * (kurt - 1)) / 2) < 10.0 / n


# Documented vectors (docs/anchors-and-math.md 5.2, 5.6): uniform norm
# quantiles and means; the n >= 784 rows come from an FFT grid (~1e-5).
@pytest.mark.parametrize('n, q, expected', [
    (2, 0.01, 1.31552), (2, 0.5, 0.79788), (4, 1e-5, 1.93838),
    (16, 0.01, 2.86771), (16, 1e-5, 3.26922), (16, 0.5, 2.30240),
    (64, 1e-5, 5.64915), (784, 0.01, 16.75980), (784, 1e-5, 17.24653),
    (784, 0.5, 16.16486), (4096, 0.01, 37.54844), (4096, 1e-5, 38.04292),
    (4096, 0.5, 36.95033),
])
def test_documented_uniform_quantiles(n, q, expected):
    law = SumLaw(UNIFORM_ENTRY, n, 1.0)
    assert rel_err(math.sqrt(law.isf(q)), expected) < RTOL
    assert rel_err(math.sqrt(law.ppf(1.0 - q)), expected) < RTOL


# -- Monte Carlo --------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(n, p) for n in (1, 2, 3, 5, 10, 50)
                                  for p in (1.0, 0.5, 0.1)])
def test_monte_carlo(name, n, p):
    entry = ENTRIES[name]
    law = SumLaw(entry, n, p)
    size = 400000 if n <= 10 else 100000
    s = np.sort(mc_s(name, n, p, size, seed=1000 * n + int(100 * p)))
    sd = math.sqrt(law.var)
    xs = [x for x in (0.2 * law.mean, law.mean, law.mean + sd,
                      law.mean + 3 * sd, 0.9 * law.top) if 0 < x < law.top]
    for x in xs:
        c, f = law.cdf(x), law.sf(x)
        hat = np.searchsorted(s, x, side='right') / size
        se = math.sqrt(max(c * (1 - c), 1.0 / size) / size)
        assert abs(hat - c) <= 5 * se and abs((1 - hat) - f) <= 5 * se
    norms = np.sqrt(s)
    mean, sd_norm = law.norm_moments()
    assert abs(mean - norms.mean()) <= 5 * norms.std() / math.sqrt(size)
    se_var = math.sqrt(np.mean((norms - norms.mean()) ** 4) / size)
    assert abs(sd_norm ** 2 - norms.var()) <= 5 * se_var


# -- moments ------------------------------------------------------------------

def test_moments_exact_constants():
    moments = [SumLaw(UNIFORM_ENTRY, n, 1.0).norm_moments() for n in (1, 2, 3)]
    assert rel_err(moments[0][0], 0.5) < 1e-12
    assert rel_err(moments[0][1], math.sqrt(1.0 / 12)) < 1e-12
    m2 = (math.sqrt(2.0) + math.asinh(1.0)) / 3.0
    assert rel_err(moments[1][0], m2) < 1e-12
    assert rel_err(moments[1][1], math.sqrt(2.0 / 3.0 - m2 * m2)) < 1e-10
    # mean distance from a corner of the unit cube
    m3 = math.sqrt(3.0) / 4 + math.log(2 + math.sqrt(3.0)) / 2 - math.pi / 24
    assert rel_err(moments[2][0], m3) < 1e-12
    # truncated normal, n = 1: E|Z| = 2 (1 - e^-2) / (sqrt(2 pi) erf(sqrt 2))
    mean = 2 * (1 - math.exp(-2)) / (math.sqrt(2 * math.pi) * ERF2)
    got = SumLaw(TRUNCNORMAL_ENTRY, 1, 1.0).norm_moments()
    assert rel_err(got[0], mean) < 1e-12
    assert rel_err(got[1], math.sqrt(TRUNCNORMAL_ENTRY.mean - mean ** 2)) < 1e-10


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(13, 1.0), (5, 0.1), (9, 0.9)])
def test_moments_against_integrated_sf(name, n, p):
    """E sqrt(S) = int_0^sqrt(n b) P(S > t^2) dt; Var = E S - mean^2."""
    entry = ENTRIES[name]
    law = SumLaw(entry, n, p)
    mean = pieces_quad(lambda t: law.sf(t * t), 0.0, math.sqrt(law.top),
                        list(np.sqrt(entry.b * np.arange(1, n))), rel=1e-10)
    got_mean, got_sd = law.norm_moments()
    assert rel_err(got_mean, mean) < 1e-8
    assert rel_err(got_sd, math.sqrt(law.mean - mean * mean)) < 1e-6


# -- quantiles: safe side, round trips, monotone ------------------------------

def below(x, top):
    """A point below ``x`` by 10 rounding margins (and 10 ulps)."""
    return x - 10 * max(QUANTILE_MARGIN * min(x, top - x), 4e-16 * x)


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(1, 1.0), (2, 1.0), (5, 1.0), (13, 1.0),
                                  (100, 1.0), (10 ** 6, 1.0), (4, 0.5),
                                  (30, 0.1), (1000, 0.5), (46208, 0.25)])
def test_quantiles_on_the_safe_side(name, n, p):
    law = SumLaw(ENTRIES[name], n, p)
    for q in (0.9, 0.3, 1e-3, 1e-6, 1e-9, 1e-13):
        x = law.isf(q)
        if x == 0.0:
            assert law.sf(0.0) <= q
            continue
        # never too small, and no larger than the rounding margin asks
        assert law.sf(x) <= q
        assert law.sf(below(x, law.top)) > q
        level = 1.0 - q
        y = law.ppf(level)
        if level <= 0.5:
            assert law.cdf(y) >= level
            assert law.cdf(below(y, law.top)) < level
        else:      # the upper tail decides, at its own resolution
            assert law.sf(y) <= 1.0 - level
            assert law.sf(below(y, law.top)) > 1.0 - level
    levels = [0.9, 0.5, 0.1, 1e-3, 1e-6, 1e-9, 1e-12]
    xs = [law.isf(q) for q in levels]
    assert xs == sorted(xs)


def test_uniform_n1_isf_exact():
    law = SumLaw(UNIFORM_ENTRY, 1, 1.0)
    for q in (0.5, 1e-3, 1e-9):
        assert 0 <= law.isf(q) / (1 - q) ** 2 - 1 < 1e-8


@pytest.mark.parametrize('name', sorted(ENTRIES))
def test_edges_and_atom(name):
    entry = ENTRIES[name]
    law = SumLaw(entry, 5, 1.0)
    assert law.cdf(-1.0) == 0.0 and law.sf(-1.0) == 1.0
    assert law.cdf(0.0) == 0.0 and law.sf(0.0) == 1.0
    assert law.cdf(law.top) == 1.0 and law.sf(law.top) == 0.0
    assert law.cdf(np.inf) == 1.0 and law.cdf(-np.inf) == 0.0
    for n, p in [(3, 0.5), (30, 0.1), (400, 0.01)]:
        law = SumLaw(entry, n, p)
        atom = (1 - p) ** n
        assert rel_err(law.cdf(0.0), atom) < 1e-12
        assert rel_err(law.sf(0.0), 1 - atom) < 1e-12
        assert rel_err(law.cdf(1e-300), atom) < 1e-12
        assert law.cdf(-0.1) == 0.0
        assert law.ppf(0.5 * atom) == 0.0
        assert law.isf(1 - 0.5 * atom) == 0.0
        assert law.ppf(min(2 * atom, 0.99)) > 0


@pytest.mark.parametrize('name', sorted(ENTRIES))
@pytest.mark.parametrize('n, p', [(2, 1.0), (6, 1.0), (20, 0.3), (300, 0.7)])
def test_monotone_probabilities(name, n, p):
    law = SumLaw(ENTRIES[name], n, p)
    xs = np.linspace(-0.5, law.top + 0.5, 61)
    cdf, sf = law.cdf(xs), law.sf(xs)
    assert cdf.shape == xs.shape
    assert np.all(np.diff(cdf) >= 0) and np.all(np.diff(sf) <= 0)
    assert np.all((cdf >= 0) & (cdf <= 1) & (sf >= 0) & (sf <= 1))
    bulk = (cdf > 1e-3) & (sf > 1e-3)
    assert bulk.any() and np.all(np.abs(cdf + sf - 1)[bulk] < 1e-9)


def test_no_warnings_and_fast_in_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        start = time.time()
        for entry in (UNIFORM_ENTRY, TRUNCNORMAL_ENTRY):
            for n, p in [(13, 0.9), (14, 0.1), (40, 0.5), (10 ** 5, 0.01),
                         (10 ** 6, 1.0)]:
                law = SumLaw(entry, n, p)
                law.sf(np.linspace(0.1, law.top - 0.1, 7))
                law.isf(1e-9)
                law.norm_moments()
        # 10 laws, 7 tails, a far quantile and the moments each: a generous
        # bound (a few tens of ms each on an idle core)
        assert time.time() - start < 30.0


def test_cached_per_n_and_include_prob():
    assert sum_law(UNIFORM_ENTRY, 784, 0.5) is sum_law(UNIFORM_ENTRY, 784, 0.5)
    assert sum_law(UNIFORM_ENTRY, 784, 0.5) is not sum_law(UNIFORM_ENTRY, 784, 1.0)
    assert sum_law(TRUNCNORMAL_ENTRY, 784, 1.0) is not sum_law(UNIFORM_ENTRY, 784, 1.0)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(ENTRIES)), st.integers(min_value=2, max_value=30),
       st.sampled_from([1.0, 0.9, 0.5, 0.2, 0.05]),
       st.floats(min_value=-9.0, max_value=-0.5))
def test_random_laws_are_consistent(name, n, p, log10_q):
    """For random (entry, n, p, q): the upper quantile is on the safe side,
    the two tails add up to 1 there, and the tail equals the binomial
    mixture of the p = 1 laws (each checked against references above)."""
    entry = ENTRIES[name]
    law = sum_law(entry, n, p)
    q = 10.0 ** log10_q
    x = law.isf(q)
    if x == 0.0:
        assert law.sf(0.0) <= q
        return
    sf = law.sf(x)
    assert sf <= q and rel_err(sf, q) < RTOL
    assert abs(law.cdf(x) + sf - 1.0) < 1e-9
    weights = stats.binom.pmf(np.arange(n + 1), n, p)
    mixture = sum(weights[j] * sum_law(entry, j, 1.0).sf(x)
                  for j in range(1, n + 1))
    assert rel_err(sf, mixture) < RTOL
