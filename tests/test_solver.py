"""Tests of normsafe_init.solver: the largest safe init scale, and what an
init implies (docs/anchors-and-math.md 5.5 and 5.6)."""
from __future__ import absolute_import, division, print_function

import json
import math

import numpy as np
import pytest

from normsafe_init.options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION,
                                    DEFAULT_MODE)
from normsafe_init.distributions import (Gaussian, Sparse, TruncNormal,
                                         Uniform, Zero)
from normsafe_init.solver import MODES, SafeScale, assess, solve
from helpers import assert_raises_msg, close_to_digits


FAMILIES = [
    Gaussian(0.01),
    Sparse(15, 1.0),
    Sparse(3, 0.2),
    Uniform(0.05),
    Uniform(0.05, include_prob=0.5),
    TruncNormal(0.05),
]


def family_id(family):
    return repr(family)


# -- docs 5.6 test vectors ----------------------------------------------------

def test_gaussian_n4096_m1024():
    result = solve(Gaussian(0.02), 4096, 1024, limit=1.9365, fraction=0.9,
                   confidence=0.99)
    assert result.target == pytest.approx(1.74285, rel=1e-15)
    assert close_to_digits(result.value, '0.0259984')
    # the naive t / sqrt(n) is 4.7% too large
    naive = result.target / math.sqrt(4096)
    assert close_to_digits(naive, '0.0272320')
    assert naive / result.value == pytest.approx(1.047, abs=1e-3)
    assert result.guaranteed is None


@pytest.mark.parametrize('n, m, t, s_star', [
    (8000, 8000, 1.74285, '0.018783'),
    (1875, 1875, 1.8, '0.038757'),
    (784, 1200, 1.74285, '0.056068'),
    (25, 64, 1.74285, '0.227458'),
    (256, 128, 1.0, '0.0534138'),
])
def test_gaussian_solved_table(n, m, t, s_star):
    result = solve(Gaussian(1.0), n, m, limit=t, fraction=1.0)
    assert close_to_digits(result.value, s_star)


@pytest.mark.parametrize('n, m, t, r_star', [
    (4096, 1024, 1.74285, '0.0458118'),
    (8000, 8000, 1.74285, '0.032979'),
    (1875, 1875, 1.8, '0.068906'),
    (784, 1200, 1.74285, '0.100998'),
    (25, 64, 1.74285, '0.4665'),
    (256, 128, 1.0, '0.0981818'),
])
def test_uniform_solved_table(n, m, t, r_star):
    result = solve(Uniform(0.05), n, m, limit=t, fraction=1.0)
    # the reference comes from a 2**22-point FFT / saddlepoint: it is good to
    # a few 1e-6 relative (the docs' r* = 0.0981818 for n = 256 disagrees
    # with 1 / 10.1852, its own 99% quantile of the max, by 1e-6), so allow
    # 5e-6 relative on top of the printed digits
    assert close_to_digits(result.value, r_star, 5e-6 * result.value)
    # the hard bound t / sqrt(n) is certain and smaller
    assert result.guaranteed == pytest.approx(t / math.sqrt(n), rel=1e-15)
    assert result.guaranteed <= result.value


def test_uniform_naive_is_too_large():
    result = solve(Uniform(1.0), 4096, 1024, limit=1.9365, fraction=0.9)
    assert close_to_digits(result.target / math.sqrt(4096 / 3.0),
                           '0.0471673')
    assert result.target / math.sqrt(4096 / 3.0) > result.value


def test_sparse_zca_mlp():
    """zca_mlp h0 (k = 15, m = 1875, c = 1, f = 0.9): sigma* = 0.12464,
    expected mean 0.475."""
    result = solve(Sparse(15, 1.0), 784, 1875, limit=1.0, fraction=0.9)
    assert close_to_digits(result.value, '0.12464')
    assert close_to_digits(result.mean_norm, '0.475')
    assert result.param_name == 'sparse_stdev'
    assert result.family == Sparse(15, result.value)
    # independent of n: the same answer for any n >= k
    assert solve(Sparse(15, 1.0), 15, 1875, limit=1.0,
                 fraction=0.9).value == result.value
    # median max = t at sigma = 0.14127
    median = solve(Sparse(15, 1.0), 784, 1875, limit=1.0, fraction=0.9,
                   confidence=0.5)
    assert close_to_digits(median.value, '0.14127')


def test_neukrill_example_from_docstring():
    result = solve(Gaussian(0.01), 46208, 1024, limit=1.9, fraction=0.5)
    assert 0.0042 < result.value < 0.0044
    current = assess(Gaussian(0.01), 46208, 1024, limit=1.9, fraction=0.5)
    assert current['mean_norm'] == pytest.approx(2.15, abs=0.005)


# -- the solved value is what it claims to be ---------------------------------

@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
@pytest.mark.parametrize('n, m', [(1, 1), (2, 1), (3, 7), (15, 1), (784, 500),
                                  (4096, 1024)])
@pytest.mark.parametrize('confidence', [0.5, 0.99, 0.999999])
def test_max_mode_hits_target(family, n, m, confidence):
    if isinstance(family, Sparse) and family.sparse_init > n:
        pytest.skip('k > n')
    if isinstance(family, Uniform) and \
            (1 - family.include_prob) ** (n * m) >= confidence:
        pytest.skip('all-zero layer at least as likely as the confidence')
    result = solve(family, n, m, limit=1.9365, fraction=0.9,
                   confidence=confidence)
    assert result.mode == 'max'
    assert result.value > 0
    assert result.max_quantile == pytest.approx(result.target, rel=1e-9)
    # on the safe side (the quantile is rounded up), and tight
    assert confidence * (1 - 1e-12) <= result.prob_all_below <= \
        confidence * (1 + 1e-6)
    at = result.family
    assert at.max_ppf(confidence, n, m) == pytest.approx(result.target,
                                                         rel=1e-9)
    assert result.mean_norm == pytest.approx(at.mean_norm(n, m), rel=1e-15)
    # a 1% larger scale misses the confidence
    bigger = family.with_scale(result.value * 1.01)
    assert bigger.prob_all_below(result.target, n, m) < confidence
    if result.guaranteed is not None:
        assert result.guaranteed <= result.value * (1 + 1e-12)
        bound = family.with_scale(result.guaranteed).bound(n)
        assert bound == pytest.approx(result.target, rel=1e-12)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
@pytest.mark.parametrize('n, m', [(1, 1), (3, 7), (784, 500)])
def test_mean_mode(family, n, m):
    if isinstance(family, Sparse) and family.sparse_init > n:
        pytest.skip('k > n')
    result = solve(family, n, m, limit=2.0, fraction=0.5, mode='mean')
    assert result.mode == 'mean'
    assert result.mean_norm == pytest.approx(result.target, rel=1e-12)
    assert result.family.mean(n) == pytest.approx(1.0, rel=1e-12)
    # the mean recipe is less safe than the max recipe
    assert result.value >= solve(family, n, m, limit=2.0, fraction=0.5,
                                 mode='max').value
    # the reported quantities are consistent with the solved family
    assert result.max_quantile == pytest.approx(
        result.family.max_ppf(0.99, n, m), rel=1e-12)
    assert result.prob_all_below == pytest.approx(
        result.family.prob_all_below(1.0, n, m), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
def test_options_preserved_and_scale_ignored(family):
    result = solve(family, 100, 10, limit=1.0)
    assert type(result.family) is type(family)
    params = family.params()
    params[family.param_name] = result.value
    assert result.family.params() == params
    if isinstance(family, Uniform):
        assert result.family.include_prob == family.include_prob
    if isinstance(family, Sparse):
        assert result.family.sparse_init == family.sparse_init
    # the declared scale does not matter
    other = solve(family.with_scale(123.0), 100, 10, limit=1.0)
    assert other.value == pytest.approx(result.value, rel=1e-14)


def test_include_prob_allows_larger_irange():
    full = solve(Uniform(0.1), 784, 500, limit=1.0, fraction=1.0)
    half = solve(Uniform(0.1, include_prob=0.5), 784, 500, limit=1.0,
                 fraction=1.0)
    assert half.value > full.value
    assert half.family == Uniform(half.value, include_prob=0.5)
    # the certain bound does not depend on include_prob
    assert half.guaranteed == full.guaranteed == pytest.approx(1 / 28.0,
                                                               rel=1e-15)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
def test_scales_linearly_with_target(family):
    a = solve(family, 200, 30, limit=1.0, fraction=1.0)
    b = solve(family, 200, 30, limit=4.0, fraction=0.5)
    assert b.value == pytest.approx(2 * a.value, rel=1e-12)
    assert b.target == 2.0 and b.limit == 4.0 and b.fraction == 0.5


def test_more_vectors_need_smaller_scale():
    values = [solve(Gaussian(1.0), 500, m, limit=1.0).value
              for m in (1, 10, 100, 1000, 10000)]
    assert values == sorted(values, reverse=True)
    values = [solve(Uniform(1.0), 500, 100, limit=1.0,
                    confidence=c).value for c in (0.5, 0.9, 0.99, 0.9999)]
    assert values == sorted(values, reverse=True)


def test_per_vector_fan_ins():
    n = np.array([100] * 30 + [400] * 10)
    for family in (Gaussian(1.0), Uniform(1.0), TruncNormal(1.0)):
        result = solve(family, n, limit=1.0, fraction=1.0)
        assert result.n == {'min': 100, 'max': 400}
        assert result.m == 40
        assert 0.99 * (1 - 1e-12) <= result.prob_all_below <= 0.99 * (1 + 1e-6)
        assert result.max_quantile == pytest.approx(1.0, rel=1e-9)
        low = solve(family, 100, 40, limit=1.0, fraction=1.0).value
        high = solve(family, 400, 40, limit=1.0, fraction=1.0).value
        assert high < result.value < low
        if isinstance(family, Uniform):
            assert result.guaranteed == pytest.approx(1 / 20.0, rel=1e-15)
        if isinstance(family, TruncNormal):
            assert result.guaranteed == pytest.approx(1 / 40.0, rel=1e-15)
        # m given explicitly must match the array
        assert solve(family, n, 40, limit=1.0,
                     fraction=1.0).value == result.value


# -- result object ------------------------------------------------------------

def test_result_fields_and_dict():
    result = solve(Uniform(0.05, include_prob=0.5), 784, 500, limit=1.9365,
                   fraction=0.9, confidence=0.95)
    assert isinstance(result, SafeScale)
    assert result.param_name == 'irange'
    assert result.value == result.family.scale
    assert result.limit == 1.9365 and result.fraction == 0.9
    assert result.confidence == 0.95 and result.mode == 'max'
    assert result.n == 784 and result.m == 500
    d = result.as_dict()
    assert sorted(d) == sorted([
        'parameter', 'parameter_name', 'init', 'guaranteed', 'target',
        'limit', 'fraction', 'confidence', 'mode', 'n', 'm', 'mean_norm',
        'max_quantile', 'prob_all_below_target'])
    assert d['parameter'] == result.value
    assert d['init'] == {'family': 'uniform', 'irange': result.value,
                         'include_prob': 0.5}
    assert d['prob_all_below_target'] == result.prob_all_below
    assert json.loads(json.dumps(d)) == d
    assert repr(result) == ("SafeScale(irange=%.6g, target=%.6g, mode='max', "
                            "confidence=0.95)" % (result.value,
                                                  result.target))
    assert MODES == ('max', 'mean')


# -- assess -------------------------------------------------------------------

def test_assess_gaussian():
    family = Gaussian(0.02)
    d = assess(family, 4096, 1024, limit=1.5, fraction=0.9)
    assert d['init'] == {'family': 'gaussian', 'istdev': 0.02}
    assert d['n'] == 4096 and d['m'] == 1024
    assert d['bound'] is None
    assert d['target'] == pytest.approx(1.35, rel=1e-15)
    assert d['limit'] == 1.5
    assert close_to_digits(d['mean_norm'], '1.2799219')
    assert close_to_digits(d['max_quantile'], '1.34074')
    assert close_to_digits(d['prob_all_below_target'], '0.999542')
    assert d['expected_above_target'] == pytest.approx(
        1024 * float(family.sf(1.35, 4096)), rel=1e-14)
    assert d['expected_above_limit'] < d['expected_above_target']
    assert json.loads(json.dumps(d)) == d


def test_assess_uniform_and_zero():
    d = assess(Uniform(0.05), 25, 64, limit=1.9365, fraction=0.9)
    assert d['bound'] == pytest.approx(0.25, rel=1e-15)
    # r sqrt(n) = 0.25 < t: no violation possible
    assert d['prob_all_below_target'] == 1.0
    assert d['expected_above_target'] == 0.0
    z = assess(Zero(), 25, 64, limit=1.0)
    assert z['mean_norm'] == 0.0 and z['max_quantile'] == 0.0
    assert z['bound'] == 0.0
    assert z['prob_all_below_target'] == 1.0
    assert z['expected_above_limit'] == 0.0
    assert z['init'] == {'family': 'zero'}


def test_solved_value_assessed():
    result = solve(Gaussian(1.0), 784, 500, limit=1.0, fraction=0.8)
    d = assess(result.family, 784, 500, limit=1.0, fraction=0.8)
    assert d['prob_all_below_target'] == pytest.approx(0.99, rel=1e-9)
    assert d['max_quantile'] == pytest.approx(0.8, rel=1e-9)
    assert d['expected_above_target'] == pytest.approx(
        -500 * math.expm1(math.log(0.99) / 500), rel=1e-8)


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, exc_type, message', [
    ({'fraction': 0}, ValueError, 'fraction must be in (0, 1]; got 0.0'),
    ({'fraction': 1.5}, ValueError, 'fraction must be in (0, 1]; got 1.5'),
    ({'fraction': float('nan')}, ValueError,
     'fraction must be a real number, not NaN'),
    ({'fraction': '0.5'}, TypeError,
     "fraction must be a real number; got '0.5' (type str)"),
    ({'confidence': 1}, ValueError, 'confidence must be in (0, 1); got 1.0'),
    ({'confidence': 1.0}, ValueError,
     'confidence must be in (0, 1); got 1.0'),
    ({'confidence': 0}, ValueError, 'confidence must be in (0, 1); got 0.0'),
    ({'confidence': 'abc'}, TypeError,
     "confidence must be a real number; got 'abc' (type str)"),
    ({'confidence': float('nan')}, ValueError,
     'confidence must be a real number, not NaN'),
    ({'mode': 'median'}, ValueError,
     "mode must be one of 'max', 'mean'; got 'median'"),
    ({'mode': None}, ValueError,
     "mode must be one of 'max', 'mean'; got None"),
    ({'limit': 0}, ValueError, 'limit must be > 0; got 0.0'),
    ({'limit': -1.9}, ValueError, 'limit must be > 0; got -1.9'),
    ({'limit': float('inf')}, ValueError, 'limit must be finite; got inf'),
])
def test_solve_errors(kwargs, exc_type, message):
    args = dict(limit=1.9365, fraction=0.9, confidence=0.99, mode='max')
    args.update(kwargs)
    assert_raises_msg(exc_type, message, solve, Gaussian(0.01), 784, 100,
                      **args)


def test_solve_zero_init():
    message = ('an all-zero init has no scale to solve for (every norm is 0, '
               'which is always within the limit)')
    assert_raises_msg(ValueError, message, solve, Zero(), 784, 100,
                      limit=1.0)
    assert_raises_msg(ValueError, message, solve, Zero(), 784, 100,
                      limit=1.0, mode='mean')


@pytest.mark.parametrize('include_prob, n, m, confidence', [
    (0.5, 1, 1, 0.5),       # P(all zero) = 0.5 >= 0.5
    (0.1, 3, 1, 0.7),       # P(all zero) = 0.729 >= 0.7
    (0.1, 1, 2, 0.8),       # P(all zero) = 0.81 >= 0.8
])
def test_solve_when_an_all_zero_layer_is_likely_enough(include_prob, n, m,
                                                       confidence):
    """With include_prob < 1 every vector is all-zero with probability
    (1 - p)^n; when that already reaches the confidence, the quantile of the
    max is 0 and no finite scale is implied. solve must say so with a
    ValueError (which the command line turns into exit code 2), not divide
    by zero."""
    family = Uniform(1.0, include_prob=include_prob)
    assert family.max_ppf(confidence, n, m) == 0.0
    with pytest.raises(ValueError):
        solve(family, n, m, limit=1.0, confidence=confidence)
    # and at any lower confidence too; just above P(all zero) the answer
    # is finite
    all_zero = (1 - include_prob) ** (n * m)
    with pytest.raises(ValueError):
        solve(family, n, m, limit=1.0, confidence=all_zero * 0.5)
    above = all_zero + 0.01 * (1 - all_zero)
    result = solve(family, n, m, limit=1.0, confidence=above)
    assert 0 < result.value < 1e6
    assert result.prob_all_below == pytest.approx(above, rel=1e-9)


def test_solve_bad_family_and_sizes():
    assert_raises_msg(TypeError, 'family must be a '
                                 'normsafe_init.distributions family '
                                 "(Uniform, Gaussian, Sparse, TruncNormal, "
                                 "Zero); got 'gaussian'",
                      solve, 'gaussian', 784, 100, limit=1.0)
    assert_raises_msg(ValueError, 'n must be an integer >= 1; got 0',
                      solve, Gaussian(1.0), 0, 100, limit=1.0)
    assert_raises_msg(ValueError, 'm must be an integer >= 1; got 0',
                      solve, Gaussian(1.0), 784, 0, limit=1.0)
    assert_raises_msg(ValueError, 'm must equal the number of per-vector '
                                  'fan-ins (2); got 3',
                      solve, Gaussian(1.0), [3, 4], 3, limit=1.0)
    assert_raises_msg(ValueError, 'sparse_init (15) must not exceed the '
                                  'number of entries per vector (10)',
                      solve, Sparse(15), 10, 100, limit=1.0)


def test_assess_errors():
    assert_raises_msg(ValueError, 'fraction must be in (0, 1]; got 1.5',
                      assess, Gaussian(0.01), 784, 100, limit=1.0,
                      fraction=1.5)
    assert_raises_msg(ValueError, 'confidence must be in (0, 1); got 1.0',
                      assess, Gaussian(0.01), 784, 100, limit=1.0,
                      confidence=1.0)
    assert_raises_msg(TypeError, 'family must be a '
                                 'normsafe_init.distributions family '
                                 '(Uniform, Gaussian, Sparse, TruncNormal, '
                                 'Zero); got None',
                      assess, None, 784, 100)


def test_defaults_come_from_one_place():
    """solve and assess default to normsafe_init.defaults (fraction 0.5,
    confidence 0.99, mode 'max'), as check, the extension and solve do."""
    assert (DEFAULT_FRACTION, DEFAULT_CONFIDENCE, DEFAULT_MODE) == (
        0.5, 0.99, 'max')
    result = solve(Gaussian(1.0), 784, 100, limit=2.0)
    assert (result.fraction, result.confidence, result.mode) == (
        DEFAULT_FRACTION, DEFAULT_CONFIDENCE, DEFAULT_MODE)
    assert result.target == 1.0
    assert assess(Gaussian(0.01), 784, 100, limit=2.0)['target'] == 1.0


@pytest.mark.parametrize('n, m', [(25, 64), (784, 1200), (46208, 1024)])
def test_truncnormal_safer_than_gaussian_and_bounded(n, m):
    """A truncated normal is tighter than the Gaussian of the same stddev:
    its safe stddev is larger, and its certain bound t / (2 sqrt n) holds."""
    t = solve(TruncNormal(1.0), n, m, limit=1.9365, fraction=0.9)
    g = solve(Gaussian(1.0), n, m, limit=1.9365, fraction=0.9)
    assert t.value > g.value
    assert t.guaranteed == pytest.approx(t.target / (2 * math.sqrt(n)),
                                         rel=1e-15)
    assert t.guaranteed <= t.value
    assert t.family.max_ppf(0.99, n, m) == pytest.approx(t.target, rel=1e-12)
