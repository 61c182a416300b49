"""Tests of normsafe_init.freshness: fresh draws are judged fresh, projected,
rescaled and SGD-trained weights trained (with the evidence that says why),
an assumed init is not decisive, an unknown init rests on pinned vectors.
The large false-alarm sweep is benchmarks/false_alarms.py."""
from __future__ import absolute_import, division, print_function

import json
import math

import numpy as np
import pytest

from normsafe_init.laws import (Gaussian, Sparse, TruncNormal, Uniform,
                                    Zero)
from normsafe_init import freshness
from normsafe_init.freshness import ALPHA_LAW, judge
from normsafe_init.norms import vector_norms
from normsafe_init.plan import analyze
from normsafe_init.run import judge as run_judge
from normsafe_init.weights import ConstrainedWeight, Constraint, machine_eps

COL = Constraint('max_col_norm', 'col', (0,), 1.0)


def col(limit, min_limit=None):
    return Constraint('max_col_norm', 'col', (0,), limit, min_limit)


def norms_of(W):
    return vector_norms(W, (0,))


def verdict(family, W, limit, dtype=None, **kw):
    eps = machine_eps(W.dtype if dtype is None else dtype)
    return judge(family, [(norms_of(W), W.shape[0], col(limit))],
                 eps=eps, **kw)


def rtol(eps):
    return judge(None, [(np.ones(3), 9, COL)], eps=eps).tests[0]['rtol']


def project(W, limit, dtype=None):
    """Keras / pylearn2 max-norm: every column above ``limit`` onto it,
    computed in float64 and stored in ``dtype``."""
    norms = np.sqrt((np.asarray(W, np.float64) ** 2).sum(axis=0))
    out = W * np.minimum(1.0, limit / norms)
    return out.astype(W.dtype if dtype is None else dtype)


# Fresh draws of every family: (family, n, m); the constraint's limit is the
# mean norm, where the pinned band catches the most fresh vectors.
FRESH = [
    (Uniform(0.05), 25, 16),
    (Uniform(0.05, 0.1), 25, 16),           # atom at 0: 7 % of the vectors
    (Uniform(0.05, 0.1), 9, 8),             # atom at 0: 39 %
    (Gaussian(0.01), 784, 500),             # the interpolated grid
    (Gaussian(0.01), 9, 1),
    (Sparse(15), 784, 64),
    (TruncNormal(0.02), 9, 8),
    (Uniform(math.sqrt(6.0 / (64 + 4))), 64, 4),     # glorot_uniform
    (Uniform(1.0 / math.sqrt(144)), 144, 4),         # torch default
]


@pytest.mark.parametrize('dtype', ['float32', 'float16'])
@pytest.mark.parametrize('family, n, m', FRESH)
def test_fresh_draws_are_fresh(family, n, m, dtype):
    rng = np.random.RandomState(n + m)
    limit = float(family.mean(n))
    for _ in range(2):
        W = family.draw((n, m), (0,), rng).astype(dtype)
        v = verdict(family, W, limit)
        assert v.fresh and not v.trained, v
        assert v.law_fits is True
        assert v.rests_on is None
        assert v.evidence.startswith('norms fit the declared init (p = ')
        # the same values judged against a 2.5x larger scale do not fit
        wrong = family.with_scale(2.5 * family.scale)
        if m >= 4 and family.kind != 'sparse' and n > 9:
            assert verdict(wrong, W, limit).trained


def test_small_m_stays_fresh_over_many_seeds():
    rng = np.random.RandomState(0)
    family = Gaussian(0.1)
    for m in (1, 2, 3, 4):
        for _ in range(25):
            W = family.draw((16, m), (0,), rng).astype('float32')
            v = verdict(family, W, float(family.mean(16)))
            assert v.fresh, v
    assert freshness.ALPHA_LAW <= 1e-6 and freshness.ALPHA_PINNED <= 1e-6


def test_projected_draw_is_trained_by_its_pinned_vectors():
    family = Uniform(1.0 / math.sqrt(144))
    W = family.draw((144, 40), (0,), np.random.RandomState(1))
    W = W.astype('float32')
    limit = float(family.mean(144))
    assert verdict(family, W, limit).fresh
    P = project(W, limit)
    pinned = int(np.sum(np.abs(norms_of(P) - limit) <= 1e-4 * limit))
    assert pinned > 10
    for kw in ({}, {'assumed': 'torch default'}):
        v = verdict(family, P, limit, **kw)
        assert v.trained and v.basis == 'pinned', v
        assert v.evidence.startswith(
            '%d of 40 vectors sit on the limit max_col_norm=%.6g (within '
            '0.0001 relative): a max-norm projection\'s fingerprint'
            % (pinned, limit))
    v = verdict(None, P, limit)
    assert v.trained and v.rests_on == ('init unknown: judged on pinned '
                                        'vectors only')
    assert 'at most' in v.evidence


def test_few_projected_vectors_caught_with_the_declared_law_only():
    family = Gaussian(0.01)
    W = family.draw((784, 500), (0,), np.random.RandomState(2))
    W = W.astype('float32')
    top = np.sort(norms_of(W))
    limit = float(top[-11])          # 10 vectors above: projected onto it
    P = project(W, limit)
    v = verdict(family, P, limit)
    assert v.trained and v.basis == 'pinned', v
    assert v.tests[0]['pinned'] == 11 and v.tests[0]['band_prob'] < 5e-3
    # the law-free band of an unknown init is too wide for 11 of 500
    assert verdict(None, P, limit).fresh
    assert verdict(family, W, limit).fresh     # before: 1 on the limit


@pytest.mark.parametrize('factor, word', [(0.3, 'below'), (3.0, 'above')])
def test_rescaled_draw_is_trained_by_the_law(factor, word):
    family = Uniform(0.05)
    W = family.draw((25, 16), (0,), np.random.RandomState(3)) * factor
    v = verdict(family, W.astype('float32'), 10.0)
    assert v.trained and v.basis == 'law', v
    ms = float(np.mean(norms_of(W.astype('float32')) ** 2))
    expected = 25 * 0.05 ** 2 / 3
    assert v.evidence.startswith(
        'mean squared norm %.3g is %.3gx %s the declared init\'s %.3g (p '
        % (ms, max(ms, expected) / min(ms, expected), word, expected))
    v = verdict(family, W.astype('float32'), 10.0, assumed=True)
    assert v.fresh and v.law_fits is False
    assert v.evidence.startswith('norms do not fit the assumed init (mean '
                                 'squared norm')


def sgd(W, limit, steps, rng, project_each=True):
    n, m = W.shape
    A = rng.randn(n, m) * (3.0 * limit / math.sqrt(n))
    for _ in range(steps):
        X = rng.randn(16, n)
        grad = X.T.dot(X.dot(W) - X.dot(A)) / 16.0
        W = (W - (0.5 / n) * grad).astype(np.float32)
        if project_each:
            W = project(W, limit)
    return W


def test_sgd_trained_with_max_norm_is_trained():
    family = Uniform(0.2)
    rng = np.random.RandomState(4)
    W0 = family.draw((25, 16), (0,), rng).astype(np.float32)
    limit = float(family.mean(25))
    W = sgd(W0, limit, 200, rng)
    for fam, kw in ((family, {}), (family, {'assumed': True}), (None, {})):
        v = verdict(fam, W, limit, **kw)
        assert v.trained and v.basis == 'pinned', v
    W = sgd(W0, limit, 200, rng, project_each=False)
    v = verdict(family, W, limit)
    assert v.trained and v.basis == 'law', v
    assert verdict(family, W, limit, assumed=True).fresh


def test_assumed_init_mismatch_stays_fresh_and_says_what_it_rests_on():
    # braindecode's TCFormer head: xavier_uniform, assumed torch default
    n, m = 144, 40
    xavier = Uniform(math.sqrt(6.0 / (n + m)))
    torch_default = Uniform(1.0 / math.sqrt(n))
    W = xavier.draw((n, m), (0,), np.random.RandomState(5)).astype('float32')
    v = verdict(torch_default, W, 0.5, assumed='torch default')
    assert v.fresh and not v.trained and v.law_fits is False
    assert v.rests_on == ('init assumed (torch default), not declared: '
                          'judged on pinned vectors only')
    assert 'another init may have drawn them' in v.evidence
    assert v.evidence.endswith('0 of 40 vectors on the limit')
    assert verdict(torch_default, W, 0.5).trained       # were it declared
    assert verdict(xavier, W, 0.5, assumed=True).law_fits is True


def test_unknown_init():
    W = Gaussian(0.05).draw((64, 32), (0,), np.random.RandomState(6))
    W = W.astype('float32')
    v = verdict(None, W, 0.4)
    assert v.fresh and v.law_fits is None
    assert v.evidence == ('no projection fingerprint: 0 of 32 vectors on the '
                          'limit')
    v = verdict(None, project(W, 0.4), 0.4)
    assert v.trained and v.basis == 'pinned'
    # a few pinned vectors are not enough without a law
    few = W.copy()
    few[:, :2] *= 0.4 / norms_of(few[:, :2])
    assert verdict(None, few, 0.4).fresh


def test_pinned_at_min_limit():
    family = Gaussian(0.01)
    W = family.draw((100, 40), (0,), np.random.RandomState(7))
    norms = norms_of(W)
    floor = float(np.sort(norms)[10])
    lifted = W * np.maximum(1.0, floor / norms)      # min_col_norm
    v = judge(family, [(norms_of(lifted), 100, col(1.0, floor))])
    assert v.trained and v.basis == 'pinned'
    assert ('sit on the minimum %.6g (within' % floor) in v.evidence
    assert judge(family, [(norms, 100, col(1.0, floor))]).fresh


def test_all_zero_init():
    zeros = np.zeros((25, 8), np.float32)
    assert verdict(Zero(), zeros, 0.5).fresh
    v = verdict(Gaussian(0.1), zeros, 0.5)
    assert v.trained and v.evidence == ('all 8 vectors are zero; the declared '
                                        'init\'s mean squared norm is 0.25')
    assert verdict(Gaussian(0.1), zeros, 0.5, assumed=True).fresh
    W = zeros.copy()
    W[:, 3] = 0.01
    v = verdict(Zero(), W, 0.5)
    assert v.trained and v.basis == 'law'
    assert v.evidence == ('1 of 8 vectors are nonzero (the declared all-zero '
                          'init leaves every one at 0)')
    assert verdict(Zero(), W, 0.5, assumed=True).fresh
    W[:, :4] = 0.1               # 4 columns of norm 0.5, on the limit
    assert verdict(Zero(), W, 0.5, assumed=True).basis == 'pinned'


def test_fixed_norm_constraint_counts_each_vector_once():
    # MinMaxNorm(1, 1): the limit and the minimum are the same band
    c = Constraint('MinMaxNorm', 'unit', (0,), 1.0, 1.0)
    v = judge(None, [(np.ones(20), 9, c)])
    assert v.trained and v.tests[0]['on_a_limit'] == 20
    assert '20 of 20 vectors sit on the limit MinMaxNorm=1 and on the ' \
        'minimum 1' in v.evidence
    with pytest.raises(ValueError):
        judge(None, [(np.array([1.0, np.nan]), 9, c)])


def test_tolerance_follows_the_dtype():
    assert rtol(0.0) == rtol(machine_eps(np.float32)) == 1e-4
    assert rtol(machine_eps(np.float16)) == 2 * 2.0 ** -10
    assert rtol(2.0 ** -7) == 2 ** -6          # bfloat16
    family = Uniform(0.05)
    W = family.draw((64, 64), (0,), np.random.RandomState(8))
    limit = float(family.mean(64))
    # projected in float16 arithmetic: norms within ~1.4 eps of the limit
    W16 = W.astype(np.float16)
    norms16 = np.sqrt((W16 * W16).sum(axis=0, dtype=np.float16))
    P = (W16 * (np.minimum(norms16, np.float16(limit)) / norms16)).astype(
        np.float16)
    assert verdict(None, P, limit).trained
    assert verdict(None, P, limit, dtype='float32').fresh


def test_norm_rounded_past_a_bounded_support():
    family = Uniform(0.05)
    at = np.array([0.05 * (1 + 2.0 ** -11)])      # float16 rounding of 0.05
    v = judge(family, [(at, 1, COL)], eps=machine_eps(np.float16))
    assert v.fresh, v
    assert judge(family, [(at, 1, COL)], eps=machine_eps(np.float64)
                 ).basis == 'law'


def test_law_free_band_bounds_uniform_entries():
    for n in (1, 2, 9, 64):
        law = Uniform(1.0)
        t = law.mean(n) * np.exp(np.linspace(-1.5, 1.5, 36) / math.sqrt(n))
        h = 1e-3
        dens = (law.cdf(t * math.exp(h), n) - law.cdf(t * math.exp(-h), n))
        assert np.max(dens) / (2 * h) <= 0.9 * math.sqrt(n) + 1
        r = 1e-3
        band = freshness._band(None, n, 1.0, r, False)
        peak = np.max(dens) / (2 * h) * math.log((1 + r) / (1 - r))
        assert peak <= band / 2 <= 1.2 * (0.9 * math.sqrt(n) + 1) * 2 * r


class ArrayWeight(ConstrainedWeight):
    def __init__(self, value, family, mask=None):
        ConstrainedWeight.__init__(self, 'dense', [COL], value.shape,
                                   value.dtype, family=family, mask=mask)
        self.value = value

    def read(self):
        return self.value


def test_run_judge_aligns_a_mask():
    rng = np.random.RandomState(9)
    mask = (rng.uniform(size=(64, 48)) < 0.5).astype(np.float32)
    mask[:, :3] = 0                          # fully masked columns
    mask[:10, 10:20] = 0
    family = Gaussian(0.02)
    W = (family.draw((64, 48), (0,), rng) * mask).astype(np.float32)
    weight = ArrayWeight(W, family, mask)
    v = run_judge(weight, analyze(weight, W, 0.5))
    assert v.fresh and v.law_fits, v
    assert v.tests[0]['vectors'] == 45
    v = run_judge(weight, analyze(weight, W * 2, 0.5))
    assert v.trained and v.basis == 'law'
    with pytest.raises(ValueError):
        judge(family, [(np.ones(48), np.full(45, 32), COL)])


def test_sparse_rows_and_unobserved():
    family = Sparse(15)
    W = family.draw((100, 30), (0,), np.random.RandomState(10))
    rows = Constraint('max_row_norm', 'row', (1,), 1.0)
    norms = vector_norms(W, (1,))
    v = judge(family, [(norms, 30, rows, False)])
    assert v.fresh and v.law_fits is None
    # no law for rows: the pinned band is the law-free one
    assert v.tests[0]['band_prob'] == pytest.approx(
        freshness._band(None, 30, 1.0, 1e-4, False), rel=1e-9)
    v = judge(family, [(None, 30, rows)])
    assert not v.fresh and not v.trained


def test_verdict_record_is_json():
    family = Gaussian(0.01)
    W = family.draw((784, 20), (0,), np.random.RandomState(11))
    v = verdict(family, W * 0.3, 1.0)
    out = json.loads(json.dumps(v.as_dict()))
    assert out['trained'] is True and out['basis'] == 'law'
    test = out['tests'][0]
    assert test['p_law'] < ALPHA_LAW and test['vectors'] == 20
    assert set(test) >= {'pinned', 'band_prob', 'p_pinned', 'p_location',
                         'p_dispersion', 'p_ks', 'mean_square'}
