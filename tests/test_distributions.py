"""Tests of normsafe_init.distributions: the law of a vector's norm for each
pylearn2 init family, the maximum over m vectors, and the draw semantics.

Reference values are the computed test vectors of
docs/anchors-and-math.md sections 5.1-5.6.
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from normsafe_init.distributions import (Gaussian, InitFamily, Sparse,
                                         Uniform, Zero, fan_in_groups,
                                         family_from_params)
from normsafe_init.montecarlo import monte_carlo
from normsafe_init.norms import LAYOUT_AXES, vector_norms, vector_shape
from helpers import assert_raises_msg, close_to_digits


# Realistic pylearn2 weight shapes for every layout in LAYOUT_AXES.
LAYOUT_SHAPES = {
    'col': (50, 30),
    'row': (30, 50),
    'bc01': (12, 4, 3, 3),
    'c01b': (4, 3, 3, 12),
    'local_c01b': (3, 3, 2, 3, 3, 2, 3),
}

FAMILIES = [
    Gaussian(0.05),
    Gaussian(1.0),
    Sparse(3, 0.7),
    Sparse(15, 1.0),
    Uniform(0.05),
    Uniform(1.0),
    Uniform(0.3, include_prob=0.5),
]


def family_id(family):
    return repr(family)


# -- Gaussian: docs 5.1 and 5.6 -----------------------------------------------

def test_gaussian_n1e5_s005_vectors():
    g = Gaussian(0.05)
    n = 100000
    assert close_to_digits(g.mean(n), '15.811349')
    assert close_to_digits(g.std(n), '0.0353553')
    assert close_to_digits(g.ppf(0.5, n), '15.811336')
    assert close_to_digits(g.ppf(0.99, n), '15.893656')
    assert close_to_digits(g.isf(0.01, n), '15.893656')
    assert close_to_digits(g.isf(1e-6, n), '15.979691')
    assert close_to_digits(g.max_ppf(0.5, n, 1000), '15.9245')
    assert close_to_digits(g.max_ppf(0.99, n, 1000), '15.9623')
    assert close_to_digits(g.max_ppf(0.5, n, 100000), '15.9652')
    assert close_to_digits(g.max_ppf(0.99, n, 100000), '15.9955')


def test_gaussian_n4096_m1024_s002_vectors():
    g = Gaussian(0.02)
    n, m = 4096, 1024
    assert close_to_digits(g.mean(n), '1.2799219')
    assert close_to_digits(g.std(n), '0.0141417')
    assert close_to_digits(g.max_ppf(0.5, n, m), '1.32548')
    assert close_to_digits(g.max_ppf(0.99, n, m), '1.34074')
    assert close_to_digits(g.prob_all_below(1.35, n, m), '0.999542')
    assert g.prob_all_below(1.30, n, m) == pytest.approx(6.8e-37, rel=0.01)
    assert close_to_digits(float(g.sf(1.30, n)), '0.0781')
    # the expected count of violations is m * (1 - F)
    assert g.expected_above(1.30, n, m) == pytest.approx(
        m * float(g.sf(1.30, n)), rel=1e-14)


@pytest.mark.parametrize('n, p, q_over_s', [
    (4, 0.99, '3.64372'),
    (16, 0.99999, '7.22807'),
    (64, 0.99999, '11.14016'),
    (784, 0.99999, '31.05588'),
    (4096, 0.99999, '67.03380'),
])
def test_gaussian_quantile_table(n, p, q_over_s):
    g = Gaussian(1.0)
    assert close_to_digits(g.ppf(p, n), q_over_s)
    assert close_to_digits(g.isf(1 - p, n), q_over_s)
    # the s = 0.05 family scales the same quantile
    assert Gaussian(0.05).isf(1 - p, n) == pytest.approx(
        0.05 * g.isf(1 - p, n), rel=1e-15)


def test_gaussian_mean_series_and_exact_law():
    n = 784
    series = math.sqrt(n) * (1 - 1.0 / (4 * n) + 1.0 / (32 * n ** 2)
                             + 5.0 / (128 * n ** 3) - 21.0 / (2048 * n ** 4))
    assert Gaussian(1.0).mean(n) == pytest.approx(series, rel=1e-10)
    # ||w|| = s chi_n exactly
    s = 0.3
    for t in (2.0, 8.4, 9.0):
        assert float(Gaussian(s).cdf(t, n)) == pytest.approx(
            stats.chi2.cdf(t ** 2 / s ** 2, n), rel=1e-12)


# E chi_n and SD chi_n computed with mpmath (50 digits) from
# sqrt(2) Gamma((n+1)/2) / Gamma(n/2) and n - mean^2.
CHI_MOMENTS = [
    (344, 18.533762810052473, 0.70684941869952577),
    (784, 27.991072854400867, 0.70699396010354704),
    (4096, 63.996093869245667, 0.70708519903697140),
    (46208, 214.95929847928233, 0.70710486832679145),
    (100000, 316.22697544841112, 0.70710589729809922),
]


@pytest.mark.parametrize('n, mean, sd', CHI_MOMENTS)
def test_gaussian_moments_at_realistic_fan_ins(n, mean, sd):
    """Mean and SD of the norm stay finite and accurate at large fan-ins,
    whatever the scipy version (docs 5.1: n - mean^2 from gamma functions
    loses accuracy at large n; Gamma(n/2) overflows for n > 343)."""
    assert Gaussian(1.0).mean(n) == pytest.approx(mean, rel=1e-10)
    assert Gaussian(1.0).std(n) == pytest.approx(sd, rel=1e-8)
    assert Sparse(n, 0.5).mean(n + 7) == pytest.approx(0.5 * mean, rel=1e-10)
    assert Sparse(n, 0.5).std(n) == pytest.approx(0.5 * sd, rel=1e-8)


def test_gaussian_max_quantiles_n256_m128():
    g = Gaussian(1.0)
    for p, expected in [(0.5, '17.8139'), (0.9, '18.2538'), (0.99, '18.7218')]:
        assert close_to_digits(g.max_ppf(p, 256, 128), expected)


# -- Sparse: docs 5.3 and 5.6 -------------------------------------------------

def test_sparse_chi15_vectors():
    s = Sparse(15, 1.0)
    for n in (15, 784, 100000):      # independent of n
        assert close_to_digits(s.mean(n), '3.8090153')
        assert float(s.cdf(1.0, n)) == pytest.approx(2.5356e-7, rel=1e-4)
        assert close_to_digits(float(s.cdf(1.9365, n)), '1.55e-3')
        assert float(s.sf(1.0, n)) == pytest.approx(1 - float(s.cdf(1.0, n)),
                                              rel=1e-15)


def test_sparse_is_gaussian_with_k_dof():
    s = Sparse(7, 0.2)
    g = Gaussian(0.2)
    for n in (7, 50, 3000):
        assert s.mean(n) == g.mean(7)
        assert s.std(n) == g.std(7)
        assert s.isf(1e-4, n) == g.isf(1e-4, 7)
        assert s.max_ppf(0.99, n, 40) == g.max_ppf(0.99, 7, 40)


def test_sparse_zca_mlp_reinit_sigma():
    """zca_mlp h0: k = 15, m = 1875, t = 0.9: sigma* = 0.12464 for
    P(all <= t) = .99 (expected mean 0.475); 0.14127 for median max = t."""
    unit = Sparse(15, 1.0)
    sigma = 0.9 / unit.max_ppf(0.99, 784, 1875)
    assert close_to_digits(sigma, '0.12464')
    assert close_to_digits(unit.with_scale(sigma).mean(784), '0.475')
    assert close_to_digits(0.9 / unit.max_ppf(0.5, 784, 1875), '0.14127')


def test_sparse_k_greater_than_n():
    s = Sparse(20, 1.0)
    message = ('sparse_init (20) must not exceed the number of entries per '
               'vector (10)')
    assert_raises_msg(ValueError, message, s.cdf, 1.0, 10)
    assert_raises_msg(ValueError, message, s.sf, 1.0, 10)
    assert_raises_msg(ValueError, message, s.mean, 10)
    assert_raises_msg(ValueError, message, s.isf, 0.01, 10)
    assert_raises_msg(ValueError, message, s.max_ppf, 0.99, 10, 5)
    assert_raises_msg(ValueError, message, s.draw, (10, 5), (0,),
                      np.random.RandomState(0))
    # k == n is allowed: every entry is non-zero
    assert s.mean(20) == Gaussian(1.0).mean(20)


def test_sparse_constructor_errors():
    assert_raises_msg(ValueError, 'sparse_init must be an integer >= 1; got 0',
                      Sparse, 0)
    assert_raises_msg(ValueError,
                      'sparse_init must be an integer >= 1; got 2.5',
                      Sparse, 2.5)
    assert_raises_msg(ValueError, 'sparse_stdev must be >= 0; got -1.0',
                      Sparse, 3, -1)


# -- Uniform: docs 5.2 and 5.6 ------------------------------------------------

@pytest.mark.parametrize('n, mean, median, q99, q1e5', [
    (2, '0.765196', '0.79788', '1.31552', None),
    (16, '2.294527', '2.30240', '2.86771', '3.26922'),
    (784, '16.163781', '16.16486', '16.75980', '17.24653'),
    (4096, '36.949865', '36.95033', '37.54844', '38.04292'),
])
def test_uniform_r1_table(n, mean, median, q99, q1e5):
    u = Uniform(1.0)
    # The reference is an FFT convolution on a 2**22-point grid over [0, n]:
    # for n >= 784 its grid bias is ~2e-6 (n = 784) and ~9e-6 (n = 4096)
    # relative (docs 5.2, "Cornish-Fisher ... ~9e-6 (grid)"; the exact
    # means below confirm it), so allow 1.2e-5 relative there.
    def grid(expected):
        return 1.2e-5 * float(expected) if n >= 784 else 0.0
    assert close_to_digits(u.mean(n), mean, grid(mean))
    assert close_to_digits(u.ppf(0.5, n), median, grid(median))
    assert close_to_digits(u.ppf(0.99, n), q99, grid(q99))
    assert close_to_digits(u.isf(0.01, n), q99, grid(q99))
    if q1e5 is not None:
        assert close_to_digits(u.isf(1e-5, n), q1e5, grid(q1e5))


def test_uniform_exact_median_n2_and_mean_series():
    # n = 2: P(||w|| <= t) = pi t^2 / 4 for t <= 1, so the median is
    # sqrt(2 / pi) exactly
    assert Uniform(1.0).ppf(0.5, 2) == pytest.approx(math.sqrt(2 / math.pi),
                                                     rel=1e-12)
    # large n: the 2nd-order delta series r sqrt(n/3) (1 - 1/(10n) -
    # 0.046429/n^2) has error O(n^-3) (docs 5.2)
    for n in (784, 4096):
        series = math.sqrt(n / 3.0) * (1 - 1 / (10.0 * n) - 0.046429 / n ** 2)
        assert Uniform(1.0).mean(n) == pytest.approx(series, rel=1e-9)


@pytest.mark.parametrize('n, mean', [
    (4, '1.121900'), (64, '4.611533'),
])
def test_uniform_exact_means(n, mean):
    assert close_to_digits(Uniform(1.0).mean(n), mean)


@pytest.mark.parametrize('n, x_root, q', [
    (16, '2.86771', 0.01),
    (4, '1.93838', 1e-5),
    (2, '1.41105', 1e-5),
])
def test_uniform_tail_vectors(n, x_root, q):
    """Docs 5.2: the exact tail at these thresholds is 0.01 / 1e-5."""
    u = Uniform(1.0)
    # x_root is printed to 5 decimals: q lies between the tails at its ends
    x = float(x_root)
    assert float(u.sf(x + 5e-6, n)) <= q <= float(u.sf(x - 5e-6, n))
    assert close_to_digits(u.isf(q, n), x_root)


def test_uniform_small_n_closed_forms():
    r = 0.7
    u = Uniform(r)
    # n = 1: P(|w| <= t) = t / r
    for t in (0.0, 0.1, 0.35, 0.69):
        assert float(u.cdf(t, 1)) == pytest.approx(t / r, rel=1e-9, abs=1e-15)
    assert float(u.cdf(r, 1)) == pytest.approx(1.0, rel=1e-12)
    assert float(u.cdf(2 * r, 1)) == 1.0
    # n = 2: P = pi t^2 / (4 r^2) for t <= r ...
    for t in (0.1, 0.5, 0.7):
        assert float(u.cdf(t, 2)) == pytest.approx(
            math.pi * t ** 2 / (4 * r ** 2), rel=1e-9)
    # ... and the arcsine form for r < t < r sqrt(2)
    for t in (0.8, 0.9, 0.95):
        a = math.sqrt(t ** 2 - r ** 2)
        exact = (r * a + t ** 2 / 2 * (math.asin(r / t) - math.asin(a / t))) \
            / r ** 2
        assert float(u.cdf(t, 2)) == pytest.approx(exact, rel=1e-9)
    assert close_to_digits(float(Uniform(1.0).cdf(1.2, 2)), '0.950911')
    # the hard bound r sqrt(n): beyond it nothing
    assert float(u.sf(r * math.sqrt(2), 2)) == pytest.approx(0.0, abs=1e-12)
    assert float(u.cdf(r * math.sqrt(2), 2)) == pytest.approx(1.0, abs=1e-12)
    assert float(u.sf(r * 1.5, 2)) == 0.0
    assert u.bound(2) == pytest.approx(r * math.sqrt(2), rel=1e-15)
    assert u.bound(784) == pytest.approx(r * 28, rel=1e-15)


def test_uniform_sd_and_max_quantiles():
    u = Uniform(1.0)
    # SD -> r / sqrt(15) for large n (the delta method)
    assert u.std(4096) == pytest.approx(1 / math.sqrt(15), rel=2e-3)
    # n = 256, m = 128: predicted 50 / 90 / 99 % quantiles of the max
    for p, expected in [(0.5, '9.8822'), (0.9, '10.0303'),
                        (0.99, '10.1852')]:
        assert close_to_digits(u.max_ppf(p, 256, 128), expected)
    # solved r* = 0.0981818 for t = 1, p = .99; the docs' r* is only good
    # to ~5e-6 relative (1 / 10.1852, its own 99% quantile, is 0.0981817)
    r_star = 1.0 / u.max_ppf(0.99, 256, 128)
    assert close_to_digits(r_star, '0.0981818', 5e-6 * r_star)


@pytest.mark.parametrize('n, m, t, r_star', [
    (4096, 1024, 1.74285, '0.0458118'),
    (8000, 8000, 1.74285, '0.032979'),
    (1875, 1875, 1.8, '0.068906'),
    (784, 1200, 1.74285, '0.100998'),
    (25, 64, 1.74285, '0.4665'),
])
def test_uniform_solved_r_star_via_max_ppf(n, m, t, r_star):
    r = t / Uniform(1.0).max_ppf(0.99, n, m)
    # the docs' solved values come from a grid / saddlepoint computation
    # and are good to a few 1e-6 relative (see test_uniform_sd_and_max_...)
    assert close_to_digits(r, r_star, 5e-6 * r)
    assert r >= t / math.sqrt(n)   # the hard bound is more conservative


def test_uniform_include_prob_moments():
    """Docs 5.4: n = 784, r = .05, p = .5: mean ~0.57131 (MC 0.57115),
    SD ~0.01646 (MC 0.01661); E||w||^2 = p n r^2 / 3 exactly."""
    u = Uniform(0.05, include_prob=0.5)
    assert u.mean(784) == pytest.approx(0.5712, abs=4e-4)
    assert u.std(784) == pytest.approx(0.0165, abs=3e-4)
    second_moment = u.mean(784) ** 2 + u.std(784) ** 2
    assert second_moment == pytest.approx(0.5 * 784 * 0.05 ** 2 / 3, rel=1e-6)
    # an atom at 0 of mass (1 - p)^n: all entries excluded
    v = Uniform(1.0, include_prob=0.5)
    assert float(v.cdf(0.0, 3)) == pytest.approx(0.125, rel=1e-9)
    assert float(v.sf(0.0, 3)) == pytest.approx(0.875, rel=1e-9)


def test_uniform_second_moment_exact():
    for n in (1, 2, 5, 64, 1000):
        u = Uniform(1.0)
        assert u.mean(n) ** 2 + u.std(n) ** 2 == pytest.approx(n / 3.0,
                                                               rel=1e-9)


def test_uniform_constructor_errors():
    assert_raises_msg(ValueError, 'include_prob must be in (0, 1]; got 0.0',
                      Uniform, 0.1, include_prob=0)
    assert_raises_msg(ValueError, 'include_prob must be in (0, 1]; got 1.5',
                      Uniform, 0.1, include_prob=1.5)
    assert_raises_msg(ValueError, 'irange must be finite; got inf',
                      Uniform, float('inf'))
    assert_raises_msg(ValueError, 'irange must be >= 0; got -0.1',
                      Uniform, -0.1)
    assert_raises_msg(ValueError, 'istdev must be a real number, not NaN',
                      Gaussian, float('nan'))


# -- generic properties of every family ---------------------------------------

@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
@pytest.mark.parametrize('n', [1, 2, 3, 16, 300])
def test_sf_plus_cdf_is_one(family, n):
    if isinstance(family, Sparse) and family.sparse_init > n:
        pytest.skip('k > n')
    center = family.mean(n)
    ts = [0.0, 0.3 * center, center, center + family.std(n),
          center + 3 * family.std(n), 10 * center + 1.0]
    for t in ts:
        cdf = float(family.cdf(t, n))
        sf = float(family.sf(t, n))
        assert 0.0 <= cdf <= 1.0 and 0.0 <= sf <= 1.0
        assert cdf + sf == pytest.approx(1.0, abs=1e-12)
    # vectorised over t, and monotone
    cdfs = np.asarray(family.cdf(np.array(ts), n))
    assert cdfs.shape == (len(ts),)
    np.testing.assert_allclose(cdfs, [float(family.cdf(t, n)) for t in ts],
                               rtol=1e-14, atol=0)
    assert np.all(np.diff(cdfs) >= 0)


@pytest.mark.parametrize('family', FAMILIES + [Zero()], ids=family_id)
@pytest.mark.parametrize('n', [1, 3, 300])
def test_negative_threshold_has_no_mass(family, n):
    """A norm is never negative: P(||w|| <= t) = 0 and P(||w|| > t) = 1 for
    t < 0 -- also for include_prob < 1, whose law has an atom at 0."""
    if isinstance(family, Sparse) and family.sparse_init > n:
        pytest.skip('k > n')
    for t in (-1.0, -1e-300):
        assert float(family.cdf(t, n)) == 0.0
        assert float(family.sf(t, n)) == 1.0
    np.testing.assert_array_equal(family.cdf(np.array([-2.0, -1.0]), n),
                                  [0.0, 0.0])
    assert family.prob_all_below(-1.0, n, 5) == 0.0
    assert family.expected_above(-1.0, n, 5) == 5.0


def _atom_at_zero(family, n):
    if isinstance(family, Uniform):
        return (1 - family.include_prob) ** n
    return 0.0


DELTA = 1e-8


def assert_is_quantile(family, n, t, p=None, q=None):
    """``t`` is the p-quantile (or the q-upper quantile) to ``DELTA``
    relative: the probability levels bracket the level asked for. This
    holds however steep the law is at ``t`` (e.g. near a hard bound)."""
    lo, hi = t * (1 - DELTA), t * (1 + DELTA)
    if p is not None:
        assert float(family.cdf(lo, n)) <= p <= float(family.cdf(hi, n))
    if q is not None:
        assert float(family.sf(hi, n)) <= q <= float(family.sf(lo, n))


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
@pytest.mark.parametrize('n', [1, 3, 16, 300])
def test_ppf_isf_round_trips(family, n):
    if isinstance(family, Sparse) and family.sparse_init > n:
        pytest.skip('k > n')
    atom = _atom_at_zero(family, n)
    for p in (0.01, 0.3, 0.5, 0.9, 0.999):
        if p <= atom:
            assert family.ppf(p, n) == 0.0
            assert family.isf(1 - p, n) == 0.0
            continue
        t = family.ppf(p, n)
        assert_is_quantile(family, n, t, p=p)
        assert float(family.cdf(t, n)) == pytest.approx(p, rel=1e-6)
        assert family.isf(1 - p, n) == pytest.approx(t, rel=1e-8)
    for q in (0.5, 1e-3, 1e-6, 1e-9, 1e-12):
        if 1 - q <= atom:
            continue
        t = family.isf(q, n)
        if family.bound(n) < np.inf:
            assert t <= family.bound(n)
        assert_is_quantile(family, n, t, q=q)
    # quantiles increase with the level
    qs = [family.isf(q, n) for q in (0.5, 1e-2, 1e-4, 1e-8)]
    assert qs == sorted(qs)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
@pytest.mark.parametrize('a', [1e-3, 0.37, 1.0, 25.0])
def test_scale_family_property(family, a):
    n = 40
    unit = family.with_scale(1.0)
    scaled = family.with_scale(a)
    assert type(scaled) is type(family)
    assert scaled.scale == a
    for q in (0.5, 1e-2, 1e-7):
        assert scaled.isf(q, n) == pytest.approx(a * unit.isf(q, n),
                                                 rel=1e-15)
        assert scaled.ppf(q, n) == pytest.approx(a * unit.ppf(q, n),
                                                 rel=1e-15)
        assert scaled.max_ppf(1 - q, n, 17) == pytest.approx(
            a * unit.max_ppf(1 - q, n, 17), rel=1e-15)
    assert scaled.mean(n) == pytest.approx(a * unit.mean(n), rel=1e-15)
    assert scaled.std(n) == pytest.approx(a * unit.std(n), rel=1e-15)
    assert scaled.bound(n) == a * unit.bound(n)
    for t in (0.5, 1.0, 3.0, 6.0):
        assert float(scaled.cdf(a * t, n)) == pytest.approx(
            float(unit.cdf(t, n)), rel=1e-10, abs=1e-300)
        assert float(scaled.sf(a * t, n)) == pytest.approx(
            float(unit.sf(t, n)), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
def test_with_scale_keeps_other_options(family):
    other = family.with_scale(2.5)
    params = family.params()
    params[family.param_name] = 2.5
    assert other.params() == params
    assert other == type(family)(**params)
    assert other != family
    assert family.with_scale(family.scale) == family
    d = other.to_dict()
    assert d['family'] == family.kind
    assert d[family.param_name] == 2.5


def test_params_repr_and_equality():
    assert Gaussian(0.01).params() == {'istdev': 0.01}
    assert Uniform(0.05).params() == {'irange': 0.05, 'include_prob': 1.0}
    assert Sparse(15).params() == {'sparse_init': 15, 'sparse_stdev': 1.0}
    assert repr(Gaussian(0.01)) == 'Gaussian(istdev=0.01)'
    assert repr(Sparse(15, 0.1)) == 'Sparse(sparse_init=15, sparse_stdev=0.1)'
    assert repr(Uniform(0.05, 0.5)) == 'Uniform(include_prob=0.5, irange=0.05)'
    assert Uniform(0.05).to_dict() == {'family': 'uniform', 'irange': 0.05,
                                       'include_prob': 1.0}
    assert Gaussian(0.01) == Gaussian(0.01)
    assert Gaussian(0.01) != Sparse(1, 0.01)
    assert Uniform(0.05) != Uniform(0.05, include_prob=0.5)
    assert Sparse(3, 0.1) != Sparse(4, 0.1)
    assert Gaussian.param_name == 'istdev' and Gaussian.kind == 'gaussian'
    assert Uniform.param_name == 'irange' and Uniform.kind == 'uniform'
    assert Sparse.param_name == 'sparse_stdev' and Sparse.kind == 'sparse'
    assert isinstance(Zero(), InitFamily)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
def test_max_over_m_vectors(family):
    n = 30
    for m in (1, 5, 1000):
        for p in (0.5, 0.99):
            t = family.max_ppf(p, n, m)
            assert family.prob_all_below(t, n, m) == pytest.approx(p,
                                                                   rel=1e-8)
            assert family.prob_all_below(t, n, m) == pytest.approx(
                float(family.cdf(t, n)) ** m, rel=1e-8)
            assert family.expected_above(t, n, m) == pytest.approx(
                m * float(family.sf(t, n)), rel=1e-13)
        # m = 1: the quantile of one vector
        if m == 1:
            assert family.max_ppf(0.99, n, 1) == pytest.approx(
                family.ppf(0.99, n), rel=1e-9)
    # the max grows with m
    assert family.max_ppf(0.5, n, 10) < family.max_ppf(0.5, n, 100)
    # m defaults to 1
    assert family.max_ppf(0.7, n) == family.max_ppf(0.7, n, 1)
    assert family.prob_all_below(family.mean(n), n) == pytest.approx(
        float(family.cdf(family.mean(n), n)), rel=1e-12)


def test_prob_all_below_tiny_and_log():
    g = Gaussian(1.0)
    # far-tail: F close to 1, computed through log1p(-sf)
    t = g.isf(1e-12, 100)
    assert g.log_prob_all_below(t, 100, 10 ** 6) == pytest.approx(-1e-6,
                                                                  rel=1e-6)
    # far below: F^m underflows gracefully
    assert g.prob_all_below(1.0, 100, 1000) == 0.0
    assert g.log_prob_all_below(1.0, 100, 1000) < -1e4
    assert g.log_prob_all_below(-1.0, 100, 3) == -np.inf


# -- per-vector fan-ins -------------------------------------------------------

def test_fan_in_groups():
    assert fan_in_groups(784) == [(784, 1)]
    assert fan_in_groups(784, 10) == [(784, 10)]
    assert fan_in_groups(np.array([5, 3, 5, 5])) == [(3, 1), (5, 3)]
    assert fan_in_groups([[5, 3], [5, 5]], 4) == [(3, 1), (5, 3)]
    assert fan_in_groups(np.array([7])) == [(7, 1)]
    groups = fan_in_groups(np.array([2, 2], dtype=np.int64))
    assert all(type(n) is int and type(m) is int for n, m in groups)


def test_fan_in_groups_errors():
    assert_raises_msg(ValueError, 'm must equal the number of per-vector '
                                  'fan-ins (3); got 4',
                      fan_in_groups, [1, 2, 3], 4)
    assert_raises_msg(ValueError, 'n must name at least one vector; got an '
                                  'empty array', fan_in_groups, [])
    assert_raises_msg(ValueError, 'n must be an integer >= 1; got 0',
                      fan_in_groups, [3, 0, 2])
    assert_raises_msg(ValueError, 'n must be an integer >= 1; got 0',
                      fan_in_groups, 0)
    assert_raises_msg(ValueError, 'm must be an integer >= 1; got 0',
                      fan_in_groups, 5, 0)
    assert_raises_msg(ValueError, 'm must be an integer >= 1; got 0',
                      fan_in_groups, [5], 0)


@pytest.mark.parametrize('family', [Gaussian(0.1), Uniform(0.2),
                                    Uniform(0.2, include_prob=0.6)],
                         ids=family_id)
def test_per_vector_fan_ins(family):
    n = np.array([10] * 5 + [40] * 7)
    m = n.size
    lo_all = family.max_ppf(0.99, 10, m)
    hi_all = family.max_ppf(0.99, 40, m)
    mixed = family.max_ppf(0.99, n)
    assert lo_all < mixed < hi_all
    # the mixed quantile is consistent with P(all <= t)
    assert family.prob_all_below(mixed, n) == pytest.approx(0.99, rel=1e-9)
    assert family.max_ppf(0.99, n, m) == mixed
    # and at least the quantile of the 7 larger vectors alone (equal to it,
    # to the root finder's tolerance, for irange: the 10-entry vectors are
    # bounded by 0.2 sqrt(10) < that quantile)
    assert mixed >= family.max_ppf(0.99, 40, 7) * (1 - 1e-12)
    # products / sums over the groups
    t = family.mean(40)
    assert family.log_prob_all_below(t, n) == pytest.approx(
        family.log_prob_all_below(t, 10, 5)
        + family.log_prob_all_below(t, 40, 7), rel=1e-12)
    assert family.expected_above(t, n) == pytest.approx(
        5 * float(family.sf(t, 10)) + 7 * float(family.sf(t, 40)), rel=1e-12)
    assert family.mean_norm(n) == pytest.approx(
        (5 * family.mean(10) + 7 * family.mean(40)) / 12.0, rel=1e-13)
    # a single distinct fan-in equals the scalar form
    assert family.max_ppf(0.99, np.full(6, 40)) == pytest.approx(
        family.max_ppf(0.99, 40, 6), rel=1e-12)
    assert family.mean_norm(np.full(6, 40)) == family.mean_norm(40, 6)
    assert family.prob_all_below(t, np.full(6, 40)) == pytest.approx(
        family.prob_all_below(t, 40, 6), rel=1e-12)


def test_per_vector_fan_ins_many_groups():
    n = np.arange(1, 200)
    g = Gaussian(1.0)
    t = g.max_ppf(0.9, n)
    assert g.max_ppf(0.9, 1, n.size) < t < g.max_ppf(0.9, 199, n.size)
    assert g.prob_all_below(t, n) == pytest.approx(0.9, rel=1e-9)


def test_scalar_only_methods_reject_arrays():
    g = Gaussian(1.0)
    with pytest.raises(TypeError):
        g.mean(np.array([3, 4]))
    assert_raises_msg(ValueError, 'n must be an integer >= 1; got 0',
                      g.cdf, 1.0, 0)
    assert_raises_msg(ValueError, 'p must be in (0, 1); got 1.0',
                      g.ppf, 1.0, 3)
    assert_raises_msg(ValueError, 'q must be in (0, 1); got 0.0',
                      g.isf, 0.0, 3)
    assert_raises_msg(ValueError, 'p must be in (0, 1); got 0.0',
                      g.max_ppf, 0.0, 3, 5)
    assert_raises_msg(ValueError, 't must be a real number, not NaN',
                      g.prob_all_below, float('nan'), 3, 5)


# -- Zero ---------------------------------------------------------------------

@pytest.mark.parametrize('family', [Zero(), Gaussian(0.0), Uniform(0.0),
                                    Sparse(3, 0.0)], ids=family_id)
def test_zero_scale_behaviour(family):
    n, m = 5, 4
    assert float(family.cdf(0.0, n)) == 1.0
    assert float(family.cdf(1e-9, n)) == 1.0
    assert float(family.cdf(-1e-9, n)) == 0.0
    assert float(family.sf(0.0, n)) == 0.0
    assert float(family.sf(-1.0, n)) == 1.0
    assert family.mean(n) == 0.0
    assert family.std(n) == 0.0
    assert family.max_ppf(0.99, n, m) == 0.0
    assert family.prob_all_below(0.0, n, m) == 1.0
    assert family.prob_all_below(-1.0, n, m) == 0.0
    assert family.expected_above(0.0, n, m) == 0.0
    assert family.mean_norm(n, m) == 0.0
    W = family.draw((n, m), (0,), np.random.RandomState(0), dtype='float32')
    assert W.dtype == np.float32 and W.shape == (n, m)
    assert not np.any(W)


def test_zero_family_specifics():
    z = Zero()
    assert z.scale == 0.0
    assert z.params() == {}
    assert z.describe() == 'all zero'
    assert repr(z) == 'Zero(all zero)'
    assert z.to_dict() == {'family': 'zero'}
    assert z.with_scale(5.0) == Zero()
    assert z.with_scale(5.0).scale == 0.0
    assert z.bound(10) == 0.0
    assert z.ppf(0.5, 10) == 0.0 and z.isf(1e-9, 10) == 0.0
    assert Zero() == Zero() and Zero() != Gaussian(0.0)


# -- family_from_params -------------------------------------------------------

@pytest.mark.parametrize('kwargs, expected', [
    ({'irange': 0.05}, Uniform(0.05)),
    ({'irange': 0.05, 'include_prob': 0.5}, Uniform(0.05, include_prob=0.5)),
    ({'istdev': 0.01}, Gaussian(0.01)),
    ({'istdev': 1}, Gaussian(1.0)),
    ({'sparse_init': 15}, Sparse(15, 1.0)),
    ({'sparse_init': 15, 'sparse_stdev': 0.1}, Sparse(15, 0.1)),
    ({'sparse_init': 15.0, 'sparse_stdev': 0.1}, Sparse(15, 0.1)),
    ({'irange': 0}, Zero()),
    ({'irange': 0.0, 'include_prob': 0.5}, Zero()),
    ({'istdev': 0}, Zero()),
    ({'sparse_init': 0}, Zero()),
    ({'sparse_init': 15, 'sparse_stdev': 0}, Zero()),
])
def test_family_from_params(kwargs, expected):
    family = family_from_params(**kwargs)
    assert type(family) is type(expected)
    assert family == expected


@pytest.mark.parametrize('kwargs, exc_type, message', [
    ({}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got none'),
    ({'sparse_stdev': 0.1}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got none'),
    ({'irange': 0.05, 'istdev': 0.01}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got irange, '
     'istdev'),
    ({'istdev': 0.01, 'sparse_init': 15}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got istdev, '
     'sparse_init'),
    ({'irange': 0, 'istdev': 0, 'sparse_init': 0}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got irange, '
     'istdev, sparse_init'),
    ({'irange': -0.05}, ValueError, 'irange must be >= 0; got -0.05'),
    ({'istdev': float('inf')}, ValueError, 'istdev must be finite; got inf'),
    ({'istdev': 'abc'}, TypeError,
     "istdev must be a real number; got 'abc' (type str)"),
    ({'sparse_init': -1}, ValueError,
     'sparse_init must be an integer >= 0; got -1'),
    ({'sparse_init': 2.5}, ValueError,
     'sparse_init must be an integer >= 0; got 2.5'),
    ({'sparse_init': 3, 'sparse_stdev': -1.0}, ValueError,
     'sparse_stdev must be >= 0; got -1.0'),
    ({'irange': 0.05, 'include_prob': 0}, ValueError,
     'include_prob must be in (0, 1]; got 0.0'),
])
def test_family_from_params_errors(kwargs, exc_type, message):
    assert_raises_msg(exc_type, message, family_from_params, **kwargs)


# -- draw() -------------------------------------------------------------------

DRAW_FAMILIES = [Gaussian(0.3), Uniform(0.3), Uniform(0.3, include_prob=0.4),
                 Sparse(5, 0.3), Zero()]


@pytest.mark.parametrize('family', DRAW_FAMILIES, ids=family_id)
@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_draw_shape_dtype_and_reproducible(family, layout, dtype):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    W = family.draw(shape, axes, np.random.RandomState(42), dtype=dtype)
    assert isinstance(W, np.ndarray)
    assert W.shape == shape
    assert W.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(W))
    again = family.draw(shape, axes, np.random.RandomState(42), dtype=dtype)
    assert again.tobytes() == W.tobytes()
    if not isinstance(family, Zero):
        other = family.draw(shape, axes, np.random.RandomState(43),
                            dtype=dtype)
        assert other.tobytes() != W.tobytes()
    if isinstance(family, Uniform):
        assert np.max(np.abs(W)) <= family.scale * (1 + 1e-7)
        norms = vector_norms(W, axes)
        n, _ = vector_shape(shape, axes)
        assert np.all(norms <= family.bound(n) * (1 + 1e-6))


@pytest.mark.parametrize('family', DRAW_FAMILIES[:4], ids=family_id)
def test_draw_independent_of_global_rng(family):
    shape, axes = (20, 10), (0,)
    np.random.seed(1)
    a = family.draw(shape, axes, np.random.RandomState(7))
    np.random.seed(2)
    b = family.draw(shape, axes, np.random.RandomState(7))
    assert a.tobytes() == b.tobytes()
    # and the global generator is not consumed
    np.random.seed(3)
    state = np.random.get_state()
    family.draw(shape, axes, np.random.RandomState(7))
    after = np.random.get_state()
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('k', [1, 3, 17])
def test_sparse_draw_exactly_k_per_vector(layout, k):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    n, m = vector_shape(shape, axes)
    W = Sparse(k, 0.5).draw(shape, axes, np.random.RandomState(k))
    counts = np.count_nonzero(W, axis=axes)
    assert counts.shape == tuple(s for i, s in enumerate(shape)
                                 if i not in axes)
    assert np.all(counts == k)
    assert np.count_nonzero(W) == k * m


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_sparse_draw_with_mask(layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    rng = np.random.RandomState(11)
    mask = rng.uniform(size=shape) < 0.6
    k = 2
    live = np.sum(mask, axis=axes)
    assert np.all(live >= k)
    for dtype_mask in (mask, mask.astype(np.float32)):
        W = Sparse(k, 1.0).draw(shape, axes, np.random.RandomState(1),
                                mask=dtype_mask)
        assert np.all(np.count_nonzero(W, axis=axes) == k)
        assert not np.any(W[~mask])      # non-zeros only on live entries


def test_sparse_draw_mask_too_sparse():
    shape, axes = (6, 4), (0,)
    mask = np.ones(shape, dtype=bool)
    mask[:, 1] = False
    mask[1:, 3] = False
    assert_raises_msg(ValueError, 'mask leaves fewer than sparse_init=2 live '
                                  'entries in 2 vector(s)',
                      Sparse(2).draw, shape, axes, np.random.RandomState(0),
                      mask=mask)


def test_sparse_draw_k_equals_live():
    """k equal to the live count: every live entry is non-zero."""
    shape, axes = (6, 4), (0,)
    mask = np.zeros(shape)
    mask[:3] = 1
    W = Sparse(3).draw(shape, axes, np.random.RandomState(0), mask=mask)
    assert np.all(W[:3] != 0) and not np.any(W[3:])


def test_sparse_draw_values_and_positions():
    k, n, m, s = 4, 20, 5000, 0.25
    W = Sparse(k, s).draw((n, m), (0,), np.random.RandomState(3))
    values = W[W != 0]
    assert values.size == k * m
    # N(0, s^2) values: SD within 5 standard errors
    se = s / math.sqrt(2 * values.size)
    assert abs(values.std() - s) < 5 * se
    assert abs(values.mean()) < 5 * s / math.sqrt(values.size)
    # positions uniform over the n entries: each row picked ~ k m / n times
    per_row = np.count_nonzero(W, axis=1)
    expected = k * m / n
    sd = math.sqrt(m * (k / n) * (1 - k / n))
    assert np.all(np.abs(per_row - expected) < 5 * sd)


@pytest.mark.parametrize('family', [Gaussian(0.5), Uniform(0.5),
                                    Uniform(0.5, include_prob=0.3)],
                         ids=family_id)
@pytest.mark.parametrize('layout', ['col', 'bc01', 'local_c01b'])
def test_dense_draw_with_mask(family, layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    mask = np.random.RandomState(5).uniform(size=shape) < 0.5
    W = family.draw(shape, axes, np.random.RandomState(6), mask=mask)
    assert not np.any(W[~mask])
    unmasked = family.draw(shape, axes, np.random.RandomState(6))
    np.testing.assert_array_equal(W, unmasked * mask)


def test_draw_entry_laws():
    shape = (200, 500)
    rng = np.random.RandomState(8)
    N = shape[0] * shape[1]
    g = Gaussian(0.3).draw(shape, (0,), rng)
    assert abs(g.std() - 0.3) < 5 * 0.3 / math.sqrt(2 * N)
    u = Uniform(0.3).draw(shape, (0,), rng)
    assert np.max(np.abs(u)) <= 0.3
    # E w^2 = r^2 / 3, SD of w^2 = 2 r^2 / sqrt(45)
    assert abs(np.mean(u ** 2) - 0.03) < 5 * (2 * 0.09 / math.sqrt(45)) \
        / math.sqrt(N)


@pytest.mark.parametrize('p', [0.1, 0.5, 0.9])
def test_uniform_draw_include_prob_fraction(p):
    shape = (300, 200)
    N = shape[0] * shape[1]
    W = Uniform(1.0, include_prob=p).draw(shape, (0,),
                                          np.random.RandomState(9))
    zero_fraction = np.mean(W == 0)
    assert abs(zero_fraction - (1 - p)) < 5 * math.sqrt(p * (1 - p) / N)
    assert np.max(np.abs(W)) <= 1.0
    # with include_prob = 1 no entry is exactly 0
    full = Uniform(1.0).draw(shape, (0,), np.random.RandomState(9))
    assert np.count_nonzero(full) == N


@pytest.mark.parametrize('family', DRAW_FAMILIES, ids=family_id)
@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_draw_negative_and_int_axes(family, layout):
    """draw() accepts the axes forms vector_norms accepts (negative, int,
    any order) and gives the same array for the same seed."""
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    expected = family.draw(shape, axes, np.random.RandomState(3))
    negative = tuple(a - len(shape) for a in axes)
    for other in (negative, tuple(reversed(axes)), list(axes)):
        got = family.draw(shape, other, np.random.RandomState(3))
        assert got.tobytes() == expected.tobytes()
    if len(axes) == 1:
        for other in (axes[0], axes[0] - len(shape)):
            got = family.draw(shape, other, np.random.RandomState(3))
            assert got.tobytes() == expected.tobytes()


def test_draw_errors():
    g = Gaussian(1.0)
    rng = np.random.RandomState(0)
    assert_raises_msg(ValueError, 'mask must have the weight shape (4, 3); '
                                  'got (3, 4)',
                      g.draw, (4, 3), (0,), rng, mask=np.ones((3, 4)))
    assert_raises_msg(ValueError, 'axes (2,) is out of range for a 2-D weight '
                                  '(allowed: -2 to 1)',
                      g.draw, (4, 3), (2,), rng)


# -- analytic law vs Monte Carlo (hypothesis) ---------------------------------

@st.composite
def family_cases(draw):
    kind = draw(st.sampled_from(['gaussian', 'sparse', 'uniform']))
    n = draw(st.integers(min_value=1, max_value=40))
    m = draw(st.integers(min_value=1, max_value=12))
    scale = draw(st.floats(min_value=0.01, max_value=20.0))
    if kind == 'gaussian':
        family = Gaussian(scale)
    elif kind == 'sparse':
        family = Sparse(draw(st.integers(min_value=1, max_value=n)), scale)
    else:
        family = Uniform(scale, include_prob=draw(
            st.sampled_from([1.0, 1.0, 0.8, 0.5, 0.25])))
    seed = draw(st.integers(min_value=0, max_value=2 ** 31 - 1))
    return family, n, m, seed


REPS = 300


def _prop_close(analytic, estimate, se, count):
    """|analytic - estimate| within 5 reported SEs (plus half a count)."""
    return abs(analytic - estimate) <= 5 * se + 0.5 / count


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family_cases())
def test_analytic_law_matches_monte_carlo(case):
    family, n, m, seed = case
    # thresholds inside the bulk of the law, so that the SEs are informative
    t_all = family.max_ppf(0.5, n, m)
    mc = monte_carlo(family, n, m, target=t_all, reps=REPS, seed=seed)
    assert mc.mean_se > 0 or family.std(n) == 0
    assert abs(family.mean(n) - mc.mean) <= 5 * mc.mean_se + 1e-12 * (
        family.scale)
    assert _prop_close(family.prob_all_below(t_all, n, m), mc.prob_all_below,
                       mc.prob_all_below_se, REPS)
    assert _prop_close(float(family.sf(t_all, n)), mc.sf, mc.sf_se,
                       REPS * m)
    assert _prop_close(family.expected_above(t_all, n, m), mc.expected_above,
                       mc.expected_above_se, REPS)
    for p in (0.2, 0.8):
        t = family.ppf(p, n)
        mc_t = monte_carlo(family, n, m, target=t, reps=REPS, seed=seed + 1)
        assert _prop_close(float(family.sf(t, n)), mc_t.sf, mc_t.sf_se,
                           REPS * m)


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family_cases())
def test_max_quantile_matches_monte_carlo(case):
    """The analytic quantile q of the layer maximum sits where the empirical
    CDF of the simulated maxima says it should: F(q-) <= p <= F(q) (both
    sides matter when the law has an atom at 0, include_prob < 1)."""
    family, n, m, seed = case
    mc = monte_carlo(family, n, m, reps=REPS, seed=seed)
    for p in (0.25, 0.75):
        q = family.max_ppf(p, n, m)
        tol = 5 * math.sqrt(p * (1 - p) / REPS) + 1.0 / REPS
        assert np.mean(mc.max_norms <= q) >= p - tol
        assert np.mean(mc.max_norms < q) <= p + tol
