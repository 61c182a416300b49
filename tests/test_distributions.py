"""Tests of normsafe_init.laws.families: the law of a vector's norm for each
init family against the computed test vectors of docs/anchors-and-math.md
sections 5.1-5.6, and the truncated normal's law and options. (Generic
properties of every family: test_family.py; draws: test_draw.py; the
saddlepoint law of S for bounded entries against the exact oracle:
test_saddlepoint.py.)
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
import pytest
from scipy import special, stats

from normsafe_init.laws import Gaussian, Sparse, TruncNormal, Uniform
from normsafe_init.laws.saddlepoint import lower_margin, margin
from helpers import assert_raises_msg, close_to_digits


def law_margin(n, lower=False):
    """How much the law of ``n`` bounded entries scales the norm up (at
    most; ``lower``: below its mean)."""
    if n < 16:
        return 1e-8
    return lower_margin(n) if lower else margin(n)


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


# -- Uniform: docs 5.2 and 5.6 (the law of S: test_sumlaw.py) ------------------

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
    # The quantiles are the saddlepoint law's, scaled up by its margin
    # (normsafe_init.laws.saddlepoint; exact for n < 16): allow it, above.
    def grid(expected):
        return 1.2e-5 * float(expected) if n >= 784 else 0.0

    def safe(got, expected):
        unit = 10.0 ** -len(expected.split('.')[1]) + grid(expected)
        return (float(expected) - unit <= got
                <= float(expected) * (1 + law_margin(n, lower=True)) + unit)
    assert close_to_digits(u.mean(n), mean, grid(mean))
    assert safe(u.ppf(0.5, n), median)
    assert safe(u.ppf(0.99, n), q99)
    assert safe(u.isf(0.01, n), q99)
    if q1e5 is not None:
        assert safe(u.isf(1e-5, n), q1e5)


def test_uniform_exact_median_n2_and_mean_series():
    # n = 2: P(||w|| <= t) = pi t^2 / 4 for t <= 1, so the median is
    # sqrt(2 / pi) exactly
    # (quantiles are rounded up, by 1e-8 relative (the norm) at most)
    median = Uniform(1.0).ppf(0.5, 2)
    assert 0 <= median / math.sqrt(2 / math.pi) - 1 <= 1.1e-8
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
    # (of the law without its safe margin, which moves the norm up)
    x = float(x_root)
    scale = 1 + law_margin(n)
    assert float(u.sf(scale * (x + 5e-6), n)) <= q <= float(
        u.sf(scale * (x - 5e-6), n))
    assert close_to_digits(u.isf(q, n) / scale, x_root)
    assert u.isf(q, n) >= x - 5e-6


def test_uniform_small_n_closed_forms():
    r = 0.7
    u = Uniform(r)
    # n = 1: P(|w| <= t) = t / r
    for t in (0.0, 0.1, 0.35, 0.69):
        assert float(u.cdf(t, 1)) == pytest.approx(t / r, rel=3e-8, abs=1e-15)
    assert float(u.cdf(r, 1)) == pytest.approx(1.0, rel=1e-12)
    assert float(u.cdf(2 * r, 1)) == 1.0
    # n = 2: P = pi t^2 / (4 r^2) for t <= r ...
    for t in (0.1, 0.5, 0.7):
        assert float(u.cdf(t, 2)) == pytest.approx(
            math.pi * t ** 2 / (4 * r ** 2), rel=5e-8)
    # ... and the arcsine form for r < t < r sqrt(2)
    for t in (0.8, 0.9, 0.95):
        a = math.sqrt(t ** 2 - r ** 2)
        exact = (r * a + t ** 2 / 2 * (math.asin(r / t) - math.asin(a / t))) \
            / r ** 2
        assert float(u.cdf(t, 2)) == pytest.approx(exact, rel=1e-7)
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



# -- TruncNormal: Keras TruncatedNormal(stddev), docs 5.4 ----------------------

TN = stats.truncnorm(-2, 2)


def test_truncnormal_options():
    t = TruncNormal(0.05)
    assert (t.kind, t.param_name, t.scale) == ('truncnormal', 'stddev', 0.05)
    assert t.params() == {'stddev': 0.05}
    assert t.to_dict() == {'family': 'truncnormal', 'stddev': 0.05}
    assert repr(t) == 'TruncNormal(stddev=0.05)'
    assert t.with_scale(0.2) == TruncNormal(0.2) != t
    assert t != Gaussian(0.05)
    assert TruncNormal.SD_FACTOR == pytest.approx(TN.std(), rel=1e-15)
    assert t.bound(784) == pytest.approx(2 * 0.05 * 28, rel=1e-15)
    assert_raises_msg(ValueError, 'stddev must be >= 0; got -1.0',
                      TruncNormal, -1.0)
    assert_raises_msg(ValueError, 'stddev must be finite; got inf',
                      TruncNormal, float('inf'))


def test_truncnormal_one_entry_against_scipy():
    s = 0.3
    t = TruncNormal(s)
    for x in (0.0, 0.01, 0.2, 0.45, 0.59):
        expected = TN.cdf(x / s) - TN.cdf(-x / s)
        assert float(t.cdf(x, 1)) == pytest.approx(expected, rel=3e-8,
                                                   abs=1e-300)
        # (the norm is rounded up by 1e-8: near the bound 2 s, where
        # P(|w| > x) ~ 2s - x, that is 1e-6 of the tail)
        assert float(t.sf(x, 1)) == pytest.approx(1 - expected, rel=1e-6)
        assert float(t.sf(x, 1)) >= 1 - expected
    assert float(t.sf(2 * s, 1)) == 0.0 and float(t.cdf(2 * s, 1)) == 1.0
    abs_z = stats.truncnorm(0, 2)           # |Z|
    assert t.mean(1) == pytest.approx(s * abs_z.mean(), rel=1e-12)
    assert t.std(1) == pytest.approx(s * abs_z.std(), rel=1e-10)
    assert t.isf(0.05, 1) == pytest.approx(s * abs_z.isf(0.05), rel=1e-6)
    assert t.isf(0.05, 1) >= s * abs_z.isf(0.05)


@pytest.mark.parametrize('n', [2, 3, 10, 30])
def test_truncnormal_chi2_below_two_stddev(n):
    """For ||w|| <= 2 s the ball lies inside the cube [-2s, 2s]^n:
    P(||w|| <= t) = chi2.cdf(t^2 / s^2, n) / erf(sqrt 2)^n exactly (for
    n >= 16 the saddlepoint law's lower tail: never above, within 2e-2, i.e.
    ~2e-3 relative in the norm, as the lower tail falls like t^n)."""
    s = 0.05
    for t in (0.02, 0.05, 0.09, 0.0999):
        expected = stats.chi2.cdf((t / s) ** 2, n) / special.erf(
            math.sqrt(2)) ** n
        got = float(TruncNormal(s).cdf(t, n))
        if n < 16:
            assert got == pytest.approx(expected, rel=1e-7)
        assert expected * (1 - 2e-2) <= got <= expected * (1 + 1e-8)


def test_truncnormal_moments():
    """E||w||^2 = n s^2 E Z^2 exactly; SD -> s sqrt(E Z^2 (k - 1)) / 2 with
    the kurtosis k = 2.36554 (docs 5.4)."""
    ez2 = TruncNormal.SD_FACTOR ** 2
    kurtosis = TN.moment(4) / ez2 ** 2
    assert kurtosis == pytest.approx(2.36554, abs=1e-5)
    for n in (1, 2, 5, 64, 1000, 46208):
        t = TruncNormal(0.1)
        assert t.mean(n) ** 2 + t.std(n) ** 2 == pytest.approx(
            n * 0.01 * ez2, rel=1e-9)
    assert TruncNormal(1.0).std(46208) == pytest.approx(
        math.sqrt(ez2 * (kurtosis - 1)) / 2, rel=1e-4)


def test_truncnormal_variance_scaling_stddev():
    """Keras VarianceScaling(scale, mode='fan_in', 'truncated_normal') draws
    TruncatedNormal(stddev = sqrt(scale / fan) / 0.8796...): entry variance
    scale / fan, so E||w||^2 = scale for a column of fan entries."""
    fan, scale = 784, 2.0
    t = TruncNormal(math.sqrt(scale / fan) / TruncNormal.SD_FACTOR)
    assert t.mean(fan) ** 2 + t.std(fan) ** 2 == pytest.approx(scale,
                                                               rel=1e-12)
    # tighter than a Gaussian of the same variance, looser than a uniform
    g = Gaussian(math.sqrt(scale / fan))
    u = Uniform(math.sqrt(3 * scale / fan))
    assert u.isf(1e-6, fan) < t.isf(1e-6, fan) < g.isf(1e-6, fan)
