"""Tests of the framework-free run (normsafe_init.run, .options, .report,
.weights): the policy every adapter shares, on plain numpy weights."""
from __future__ import absolute_import, division, print_function

import json
import logging

import numpy as np
import pytest

from normsafe_init import report, run
from normsafe_init.options import Options
from normsafe_init.distributions import Gaussian, Uniform
from normsafe_init.norms import vector_norms
from normsafe_init.weights import (Constraint, ConstrainedWeight,
                                   UnknownWeight, format_n)


class ArrayWeight(ConstrainedWeight):
    """A numpy array as a constrained weight (what an adapter provides)."""

    def __init__(self, name, array, limit, axes=(0,), family=None,
                 min_limit=None, kind='col'):
        ConstrainedWeight.__init__(
            self, name, [Constraint('max_col_norm', kind, axes, limit,
                                    min_limit=min_limit)],
            array.shape, array.dtype, family=family, class_name='Dense')
        self.array = array
        self.writes = 0

    def read(self):
        return self.array

    def write(self, value):
        assert value.shape == self.array.shape
        self.array[...] = value
        self.writes += 1


def gaussian_weight(name='h', n=400, m=30, s=0.1, limit=1.0, seed=0,
                    dtype='float32', **kw):
    W = (np.random.RandomState(seed).randn(n, m) * s).astype(dtype)
    return ArrayWeight(name, W, limit, family=Gaussian(s), **kw)


def col_norms(W):
    return vector_norms(W, (0,))


@pytest.mark.parametrize('action', ['rescale', 'clip', 'reinit'])
def test_run_brings_every_vector_under_t(action):
    w = gaussian_weight(s=0.1, limit=1.0)   # norms ~ 2, t = 0.5
    before = w.array.copy()
    result = run.run([w], Options(fraction=0.5, action=action))
    assert result.changed == ['h']
    assert w.array.dtype == np.float32 and w.array.shape == before.shape
    assert col_norms(w.array).max() <= 0.5 * (1 + 1e-6)
    assert col_norms(before).min() > 0.5  # every vector was above t
    record = json.loads(json.dumps(result.record))
    (layer,) = record['layers']
    assert layer['repair']['applied'] in (action, 'reinit+rescale')
    assert layer['constraints'][0]['before']['above_target'] == 30
    assert layer['repair']['after'][0]['above_target'] == 0
    assert layer['repair']['after'][0]['max'] <= 0.5 * (1 + 1e-6)


def test_rescale_keeps_directions_and_relative_norms():
    w = gaussian_weight()
    before = w.array.astype(np.float64)
    result = run.run([w], Options(fraction=0.5))
    (_, _, plan, _) = result.planned[0]
    np.testing.assert_allclose(w.array, before * plan.factor, rtol=1e-6)
    assert plan.factor == pytest.approx(0.5 / col_norms(before).max())


def test_within_fraction_is_left_bit_identical():
    w = gaussian_weight(s=0.01)   # norms ~ 0.2 < t = 0.5
    before = w.array.copy()
    result = run.run([w], Options(fraction=0.5))
    assert result.changed == [] and w.writes == 0
    assert np.array_equal(w.array, before)


def test_report_changes_nothing_and_trained_forces_report(caplog):
    w = gaussian_weight()
    before = w.array.copy()
    with caplog.at_level(logging.INFO, logger='normsafe_init'):
        result = run.run([w], Options(), trained='it has seen '
                             '3 steps', force_hint='force=True')
    assert result.action == 'report' and result.changed == []
    assert np.array_equal(w.array, before)
    assert ('model looks trained (it has seen 3 steps): reporting only; '
            'set force=True to act anyway') in caplog.text
    forced = run.run([w], Options(force=True), trained='x')
    assert forced.changed == ['h']


def test_non_finite_weight_raises_and_nothing_changes():
    good = gaussian_weight('a')
    bad = gaussian_weight('b', seed=1)
    bad.array[3, 7] = np.nan
    before = good.array.copy()
    with pytest.raises(ValueError) as info:
        run.run([good, bad], Options())
    assert 'b weight contains NaN or Inf values' in str(info.value)
    assert 'nothing was changed' in str(info.value)
    assert good.writes == 0 and np.array_equal(good.array, before)


def test_min_limit_above_target_is_the_target_and_a_floor(caplog):
    # fraction x max = 0.5 x 1.9 = 0.95 < min 1.2: the minimum is the target
    w = gaussian_weight(s=0.1, limit=1.9, min_limit=1.2)
    with caplog.at_level(logging.WARNING, logger='normsafe_init'):
        result = run.run([w], Options(fraction=0.5))
    norms = col_norms(w.array)
    assert norms.max() <= 1.2 * (1 + 1e-6)
    assert norms.min() >= 1.2 * (1 - 1e-6)
    assert 'below the minimum norm = 1.2' in caplog.text
    assert result.record['layers'][0]['constraints'][0]['target'] == 1.2


@pytest.mark.parametrize('action', ['rescale', 'clip', 'reinit'])
def test_no_repair_leaves_a_vector_under_the_minimum(action):
    rng = np.random.RandomState(3)
    W = (rng.randn(400, 30) * 0.1).astype('float32')
    W[:, :5] *= 0.05       # five short columns, norm ~ 0.1
    w = ArrayWeight('h', W, 1.9, family=Gaussian(0.1), min_limit=0.3)
    run.run([w], Options(fraction=0.5, action=action))
    norms = col_norms(w.array)
    assert norms.min() >= 0.3 * (1 - 1e-6)
    assert norms.max() <= 0.95 * (1 + 1e-6)


def test_reinit_is_reproducible_and_seeded():
    arrays = []
    for _ in range(2):
        w = gaussian_weight()
        run.run([w], Options(action='reinit', seed=7))
        arrays.append(w.array.copy())
    assert np.array_equal(arrays[0], arrays[1])
    w = gaussian_weight()
    state = np.random.get_state()
    run.run([w], Options(action='reinit', seed=8))
    assert not np.array_equal(w.array, arrays[0])
    # the global numpy RNG was not consumed
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
               for a, b in zip(state, np.random.get_state()))


def test_reinit_without_a_family_rescales_with_the_reason():
    w = gaussian_weight()
    w.family, w.family_note = None, 'Orthogonal has no norm law here'
    result = run.run([w], Options(action='reinit'))
    repair = result.record['layers'][0]['repair']
    assert repair['applied'] == 'rescale'
    assert 'Orthogonal has no norm law here' in repair['reason']


@pytest.mark.parametrize('kwargs, message', [
    (dict(fraction=0), 'fraction must be in (0, 1]; got 0'),
    (dict(fraction='abc'), 'fraction must be a real number'),
    (dict(action='shrink'), "action must be one of"),
    (dict(confidence=1.0), 'confidence must be in (0, 1); got 1.0'),
    (dict(mode='median'), "mode must be one of"),
    (dict(seed=-1), 'seed must be an integer >= 0; got -1'),
    (dict(seed=2 ** 32), 'seed must be an integer in [0, 2**32); got 4294967296'),
    (dict(seed=1.5), 'seed must be an integer'),
    (dict(layers=[]), 'layers must name at least one layer; got an empty list'),
    (dict(exclude='h'), 'exclude must be a list of layer names'),
    (dict(layers=['a'], exclude=['a']), 'layers and exclude both name a'),
    (dict(force='yes'), "force must be True or False; got 'yes'"),
])
def test_bad_options_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError) as info:
        Options(**kwargs)
    assert message in str(info.value)


def test_unknown_and_duplicate_names_are_errors_before_any_change():
    a, b = gaussian_weight('a'), gaussian_weight('b', seed=1)
    with pytest.raises(ValueError) as info:
        run.run([a, b], Options(layers=['a', 'zz']))
    assert "layers names zz, which is not a constrained layer" in str(
        info.value)
    twin = gaussian_weight('a', seed=2)
    with pytest.raises(ValueError) as info:
        run.run([a, twin], Options())
    assert 'several constrained weights are named a' in str(info.value)
    assert a.writes == 0 and twin.writes == 0


def test_layers_and_exclude_select():
    ws = [gaussian_weight(name, seed=i) for i, name in enumerate('abc')]
    result = run.run(ws, Options(exclude=['b']))
    assert result.changed == ['a', 'c'] and ws[1].writes == 0
    ws = [gaussian_weight(name, seed=i) for i, name in enumerate('abc')]
    result = run.run(ws, Options(layers=['b']))
    assert result.changed == ['b']


def test_unknown_weights_are_logged_and_recorded(caplog):
    u = UnknownWeight('emb', 'Embedding', {'UnitNorm': 'axis=0'},
                      'UnitNorm is not a max-norm constraint')
    with caplog.at_level(logging.WARNING, logger='normsafe_init'):
        result = run.run([gaussian_weight()], Options(),
                             unknown=[u])
    assert ('emb (Embedding) has UnitNorm=axis=0 but is left alone: '
            'UnitNorm is not a max-norm constraint') in caplog.text
    assert result.record['unknown'][0]['name'] == 'emb'


def test_metrics_match_the_norms():
    w = gaussian_weight(s=0.01, limit=0.25)
    norms = col_norms(w.array)
    got = report.metrics([w])
    assert got['normsafe_h_max_over_limit'] == pytest.approx(
        norms.max() / 0.25)
    w.array[:, :3] *= 0.25 / norms[:3]      # three columns at the limit
    assert report.metrics([w])['normsafe_h_pinned'] == pytest.approx(3 / 30.)


def test_metric_names_insert_the_kind_for_several_constraints():
    w = gaussian_weight()
    w.constraints.append(Constraint('max_row_norm', 'row', (1,), 2.0))
    names = sorted(report.metrics([w]))
    assert names == ['normsafe_h_col_max_over_limit', 'normsafe_h_col_pinned',
                     'normsafe_h_row_max_over_limit', 'normsafe_h_row_pinned']


def test_audit_changes_nothing_and_reports():
    w = gaussian_weight(s=0.1)
    ok = ArrayWeight('y', (np.random.RandomState(1).uniform(
        -0.01, 0.01, (64, 4))).astype('float32'), 1.0, family=Uniform(0.01))
    before = w.array.copy()
    audit = run.audit([w, ok], Options(fraction=0.5))
    assert np.array_equal(w.array, before) and w.writes == 0
    assert audit.breaking == ['h']
    text = str(audit)
    lines = text.splitlines()
    assert lines[0].split() == ['weight', 'shape', 'n', 'limit', 'max', '>t',
                                'status']
    assert lines[1].split()[:4] == ['h', '400x30', '400', 'col<=1']
    assert lines[1].split()[-2:] == ['30/30', 'BREAKS']
    assert lines[2].split()[0] == 'y' and lines[2].endswith('ok')
    assert 'h: declared istdev=0.1, expected max' in text
    assert lines[-1] == '1 of 2 constrained weight(s) break fraction 0.5: h'
    assert max(len(line) for line in lines) <= 100
    data = json.loads(json.dumps(audit.as_dict()))
    assert data['breaking'] == ['h']
    rec = data['layers'][0]['constraints'][0]['recommended']['istdev']
    assert 0 < rec < 0.1


def test_format_n():
    assert format_n(25) == '25'
    assert format_n(np.array([3, 9, 4])) == '3..9'
    assert format_n(np.array([4, 4])) == '4'


def test_fan_in_with_a_mask_counts_live_entries():
    W = np.ones((5, 3))
    mask = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]])
    w = ArrayWeight('h', W, 1.0, family=Gaussian(0.1))
    w.mask = mask
    n, m = w.fan_in(w.constraints[0])
    assert list(n) == [4, 2] and m is None   # the empty column is excluded


def test_metrics_are_nan_for_a_diverged_weight():
    w = gaussian_weight()
    w.array[0, 0] = np.inf
    got = report.metrics([w])
    assert np.isnan(got['normsafe_h_max_over_limit'])
    assert np.isnan(got['normsafe_h_pinned'])
