"""Tests of tests/montecarlo.py (the laws' Monte Carlo cross-check):
seeded, memory-bounded estimates with standard errors."""
from __future__ import absolute_import, division, print_function

import json
import math

import numpy as np
import pytest

from normsafe_init.laws import (Gaussian, Sparse, TruncNormal,
                                         Uniform, Zero)
from montecarlo import MonteCarloResult, monte_carlo
from normsafe_init.solver import solve
from helpers import FULL_SWEEPS, assert_raises_msg


FAMILIES = [Gaussian(0.1), Uniform(0.1), Uniform(0.1, include_prob=0.5),
            Sparse(4, 0.1), TruncNormal(0.1)]

KEYS = ['n', 'm', 'reps', 'seed', 'vectors', 'mean', 'mean_se', 'std',
        'target', 'sf', 'sf_se', 'prob_all_below', 'prob_all_below_se',
        'expected_above', 'expected_above_se']


def same_result(a, b):
    da, db = a.as_dict(), b.as_dict()
    assert da == db
    assert a.max_norms.tobytes() == b.max_norms.tobytes()


@pytest.mark.parametrize('family', FAMILIES, ids=repr)
def test_reproducible_for_a_seed(family):
    t = family.max_ppf(0.5, 30, 8)
    a = monte_carlo(family, 30, 8, target=t, reps=200, seed=5)
    b = monte_carlo(family, 30, 8, target=t, reps=200, seed=5)
    same_result(a, b)
    # the global numpy generator plays no part
    np.random.seed(1)
    c = monte_carlo(family, 30, 8, target=t, reps=200, seed=5)
    np.random.seed(2)
    d = monte_carlo(family, 30, 8, target=t, reps=200, seed=5)
    same_result(a, c)
    same_result(a, d)


@pytest.mark.parametrize('family', FAMILIES, ids=repr)
def test_different_seeds_differ(family):
    a = monte_carlo(family, 30, 8, reps=100, seed=0)
    b = monte_carlo(family, 30, 8, reps=100, seed=1)
    assert a.mean != b.mean
    assert a.max_norms.tobytes() != b.max_norms.tobytes()


def test_does_not_consume_global_rng():
    np.random.seed(9)
    state = np.random.get_state()
    monte_carlo(Gaussian(1.0), 10, 3, reps=20, seed=0)
    after = np.random.get_state()
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2] == after[2]


@pytest.mark.parametrize('family', FAMILIES, ids=repr)
def test_result_fields(family):
    n, m, reps = 25, 6, 150
    t = family.max_ppf(0.5, n, m)
    r = monte_carlo(family, n, m, target=t, reps=reps, seed=3)
    assert isinstance(r, MonteCarloResult)
    assert (r.n, r.m, r.reps, r.seed) == (n, m, reps, 3)
    assert r.vectors == reps * m
    assert r.target == t
    assert r.max_norms.shape == (reps,)
    assert np.all(np.diff(r.max_norms) >= 0)          # sorted
    assert r.mean_se == pytest.approx(r.std / math.sqrt(reps * m), rel=1e-12)
    assert r.sf_se == pytest.approx(
        math.sqrt(r.sf * (1 - r.sf) / (reps * m)), rel=1e-12)
    assert r.prob_all_below_se == pytest.approx(
        math.sqrt(r.prob_all_below * (1 - r.prob_all_below) / reps),
        rel=1e-12)
    assert r.expected_above == pytest.approx(m * r.sf, rel=1e-15)
    assert r.expected_above_se == pytest.approx(m * r.sf_se, rel=1e-15)
    for se in (r.mean_se, r.sf_se, r.prob_all_below_se,
               r.expected_above_se):
        assert se > 0
    # P(all <= t) from the stored maxima
    assert r.prob_all_below == pytest.approx(np.mean(r.max_norms <= t),
                                             abs=1e-15)
    d = r.as_dict()
    assert sorted(d) == sorted(KEYS)
    assert r.max_quantile(0.5) == pytest.approx(np.median(r.max_norms),
                                                rel=1e-15)
    assert r.max_quantile(0.0) == r.max_norms[0]
    assert r.max_quantile(1.0) == r.max_norms[-1]


def test_result_without_target():
    r = monte_carlo(Gaussian(1.0), 10, 4, reps=50, seed=0)
    assert r.target is None
    for key in ('sf', 'sf_se', 'prob_all_below', 'prob_all_below_se',
                'expected_above', 'expected_above_se'):
        assert getattr(r, key) is None
    assert r.mean > 0 and r.mean_se > 0 and r.std > 0


def test_as_dict_is_json_serialisable():
    r = monte_carlo(Uniform(1.0), 10, 4, target=1.8, reps=50, seed=0)
    text = json.dumps(r.as_dict())
    back = json.loads(text)
    assert back['reps'] == 50 and back['vectors'] == 200
    assert back['prob_all_below'] == pytest.approx(r.prob_all_below,
                                                   rel=1e-15)


@pytest.mark.parametrize('family', FAMILIES, ids=repr)
def test_standard_errors_shrink_with_reps(family):
    n, m = 20, 5
    t = family.max_ppf(0.5, n, m)
    small = monte_carlo(family, n, m, target=t, reps=100, seed=0)
    large = monte_carlo(family, n, m, target=t, reps=1600, seed=0)
    for key in ('mean_se', 'sf_se', 'prob_all_below_se'):
        s, l = getattr(small, key), getattr(large, key)
        assert 0 < l < s
        # ~ 1 / sqrt(reps): 16x the reps, ~1/4 the SE
        assert 0.15 < l / s < 0.4


@pytest.mark.parametrize('family', [Gaussian(0.05), TruncNormal(0.05),
                                    Uniform(0.05, include_prob=0.3)],
                         ids=repr)
def test_estimates_agree_with_the_law(family):
    n, m, reps = 64, 16, 2000
    t = family.max_ppf(0.5, n, m)
    r = monte_carlo(family, n, m, target=t, reps=reps, seed=12)
    assert abs(r.mean - family.mean(n)) <= 5 * r.mean_se
    assert abs(r.std - family.std(n)) <= 5 * family.std(n) / math.sqrt(
        2 * r.vectors)
    assert abs(r.sf - float(family.sf(t, n))) <= 5 * r.sf_se
    assert abs(r.prob_all_below - 0.5) <= 5 * r.prob_all_below_se
    assert abs(r.expected_above - family.expected_above(t, n, m)) <= \
        5 * r.expected_above_se
    frac = np.mean(r.max_norms <= family.max_ppf(0.9, n, m))
    assert abs(frac - 0.9) <= 5 * math.sqrt(0.9 * 0.1 / reps)


@pytest.mark.parametrize('family', FAMILIES, ids=repr)
@pytest.mark.parametrize('n, m, block_entries', [
    (30, 8, 30),       # one vector per draw
    (30, 8, 100),      # three vectors per draw, blocks straddle layers
    (30, 8, 31),
    (50, 1, 10),       # block smaller than one vector: still one vector
])
def test_small_blocks_agree_with_large_blocks(family, n, m, block_entries):
    """The draw order depends on the block size, so results differ in
    detail; they must agree within their standard errors."""
    t = family.max_ppf(0.5, n, m)
    reps = 600 if FULL_SWEEPS else 200
    big = monte_carlo(family, n, m, target=t, reps=reps, seed=4)
    small = monte_carlo(family, n, m, target=t, reps=reps, seed=4,
                        block_entries=block_entries)
    assert small.vectors == big.vectors
    se = math.hypot(big.mean_se, small.mean_se)
    assert abs(small.mean - big.mean) <= 5 * se
    se = math.hypot(big.sf_se, small.sf_se)
    assert abs(small.sf - big.sf) <= 5 * se + 1.0 / big.vectors
    se = math.hypot(big.prob_all_below_se, small.prob_all_below_se)
    assert abs(small.prob_all_below - big.prob_all_below) <= 5 * se + \
        1.0 / big.reps


@pytest.mark.parametrize('block_entries', [1, 40, 1000, 10000])
def test_memory_bounded_by_block_entries(monkeypatch, block_entries):
    """Every draw asks for at most max(block_entries, n) numbers, however
    large reps * m * n is; the vectors drawn add up to reps * m."""
    family = Gaussian(1.0)
    n, m, reps = 40, 50, 30
    sizes = []
    original = family.draw

    def recording_draw(shape, axes, rng, *args, **kwargs):
        sizes.append(int(np.prod(shape)))
        assert shape[0] == n and tuple(axes) == (0,)
        return original(shape, axes, rng, *args, **kwargs)

    monkeypatch.setattr(family, 'draw', recording_draw)
    r = monte_carlo(family, n, m, target=7.0, reps=reps, seed=0,
                    block_entries=block_entries)
    assert max(sizes) <= max(block_entries, n)
    assert sum(sizes) == n * m * reps
    assert r.vectors == m * reps
    if block_entries >= n * m * reps:
        assert len(sizes) == 1


def test_large_block_default_draws_at_once():
    r1 = monte_carlo(Gaussian(1.0), 10, 5, target=3.0, reps=40, seed=2)
    r2 = monte_carlo(Gaussian(1.0), 10, 5, target=3.0, reps=40, seed=2,
                     block_entries=10 * 5 * 40)
    same_result(r1, r2)


def test_layer_maxima_are_per_layer():
    """With m = 1 the layer maximum is the vector norm itself; with m > 1
    P(all <= t) <= per-vector P(norm <= t)."""
    r1 = monte_carlo(Gaussian(1.0), 16, 1, target=4.0, reps=500, seed=0)
    assert r1.prob_all_below == pytest.approx(1 - r1.sf, abs=1e-15)
    r = monte_carlo(Gaussian(1.0), 16, 10, target=4.0, reps=500, seed=0)
    assert r.prob_all_below <= 1 - r.sf
    assert np.all(r.max_norms > 0)


def test_zero_family_and_small_sizes():
    z = monte_carlo(Zero(), 5, 3, target=0.1, reps=10, seed=0)
    assert z.mean == 0.0 and z.std == 0.0 and z.mean_se == 0.0
    assert z.sf == 0.0 and z.prob_all_below == 1.0
    assert z.prob_all_below_se == 0.0
    assert not np.any(z.max_norms)
    one = monte_carlo(Uniform(1.0), 1, 1, target=0.5, reps=400, seed=0)
    assert one.vectors == 400
    assert abs(one.sf - 0.5) <= 5 * one.sf_se
    assert abs(one.mean - 0.5) <= 5 * one.mean_se


@pytest.mark.parametrize('kwargs, exc_type, message', [
    ({'n': 0}, ValueError, 'n must be an integer >= 1; got 0'),
    ({'m': 0}, ValueError, 'm must be an integer >= 1; got 0'),
    ({'reps': 0}, ValueError, 'reps must be an integer >= 1; got 0'),
    ({'reps': 2.5}, ValueError, 'reps must be an integer >= 1; got 2.5'),
    ({'seed': -1}, ValueError, 'seed must be an integer >= 0; got -1'),
    ({'seed': 'x'}, TypeError, "seed must be an integer >= 0; got 'x'"),
    ({'block_entries': 0}, ValueError,
     'block_entries must be an integer >= 1; got 0'),
    ({'target': float('nan')}, ValueError,
     'target must be a real number, not NaN'),
    ({'target': 'abc'}, TypeError,
     "target must be a real number; got 'abc' (type str)"),
])
def test_errors(kwargs, exc_type, message):
    args = dict(n=10, m=2, target=1.0, reps=5, seed=0)
    args.update(kwargs)
    assert_raises_msg(exc_type, message, monte_carlo, Gaussian(1.0), **args)


@pytest.mark.parametrize('family, n, m', [
    (TruncNormal(1.0), 784, 100), (TruncNormal(1.0), 9, 32),
    (Uniform(1.0, include_prob=0.5), 25, 16), (Uniform(1.0), 3, 8)])
def test_solved_scale_reaches_its_confidence(family, n, m):
    """At the solved scale P(all m norms <= t) = 0.9 (and the mean norm) as
    estimated by sampling, within 5 standard errors."""
    result = solve(family, n, m, limit=2.0, fraction=0.5, confidence=0.9)
    reps = 3000 if FULL_SWEEPS or n * m < 10 ** 4 else 400
    mc = monte_carlo(result.family, n, m, target=result.target, reps=reps,
                     seed=n + m)
    assert abs(mc.prob_all_below - 0.9) <= 5 * mc.prob_all_below_se
    assert abs(mc.mean - result.mean_norm) <= 5 * mc.mean_se
