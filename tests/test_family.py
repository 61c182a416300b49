"""Generic properties of every init family (normsafe_init.laws.family): the
two tails, quantiles on the safe side, the scale-family property, options,
the maximum over m vectors, per-vector fan-ins and the all-zero family."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest

from normsafe_init.laws import (Gaussian, InitFamily, Sparse,
                                         TruncNormal, Uniform, Zero,
                                         fan_in_groups)
from helpers import assert_raises_msg

FAMILIES = [
    Gaussian(0.05),
    Gaussian(1.0),
    Sparse(3, 0.7),
    Sparse(15, 1.0),
    Uniform(0.05),
    Uniform(1.0),
    Uniform(0.3, include_prob=0.5),
    TruncNormal(0.05),
    TruncNormal(1.0),
]


def family_id(family):
    return repr(family)


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
    assert TruncNormal.param_name == 'stddev'
    assert TruncNormal.kind == 'truncnormal'
    assert TruncNormal(0.1) == TruncNormal(0.1) != Gaussian(0.1)
    assert isinstance(Zero(), InitFamily)


@pytest.mark.parametrize('family', FAMILIES, ids=family_id)
def test_max_over_m_vectors(family):
    n = 30
    for m in (1, 5, 1000):
        for p in (0.5, 0.99):
            t = family.max_ppf(p, n, m)
            # on the safe side (the quantile is rounded up), and tight
            assert p * (1 - 1e-12) <= family.prob_all_below(t, n, m) \
                <= p * (1 + 1e-6)
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
                                    Uniform(0.2, include_prob=0.6),
                                    TruncNormal(0.1)],
                         ids=family_id)
def test_per_vector_fan_ins(family):
    n = np.array([10] * 5 + [40] * 7)
    m = n.size
    lo_all = family.max_ppf(0.99, 10, m)
    hi_all = family.max_ppf(0.99, 40, m)
    mixed = family.max_ppf(0.99, n)
    assert lo_all < mixed < hi_all
    # the mixed quantile is consistent with P(all <= t)
    assert 0.99 * (1 - 1e-12) <= family.prob_all_below(mixed, n) \
        <= 0.99 * (1 + 1e-6)
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
                                    Sparse(3, 0.0), TruncNormal(0.0)],
                         ids=family_id)
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
