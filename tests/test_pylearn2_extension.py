"""Integration tests of ``NormSafeInit`` running REAL pylearn2.

``yaml_parse.load`` + ``Train.main_loop()`` for 1 epoch where the monitor or
training matters, ``Train.setup()`` with ``algorithm: null`` where it does
not (then only ``enforce_constraints`` is compiled). The small ``Train`` of
``pylearn2_helpers.train_yaml`` (bc01 conv, dense col / row, Softmax; every
layer above ``t = 0.5 * limit`` at init, h1 and y above the limit itself)
is trained once per action and shared by the module (``runs``), so Theano
compiles few graphs. Probe extensions placed before and after
``NormSafeInit`` record the weights and ``model.rng`` exactly around its
``setup``.

The last tests run the four ``yaml_examples/`` end to end (the Maxout one
only on Python 2).

Skipped as a whole where pylearn2 is not importable.
"""
from __future__ import absolute_import, division, print_function

import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from pylearn2_helpers import (EXAMPLES_DIR, MAXOUT_NEEDS_PY2, PY2, RTOL,
                              SMALL_LAYERS, LogCapture, bit_identical,
                              channel_value, extension_yaml, load_train,
                              make_probe, norms_of, param_snapshot,
                              push_monitor_model, require_pylearn2,
                              same_rng_state, subprocess_env, train_script,
                              train_yaml, variables_of, weight_snapshot)

require_pylearn2()

from pylearn2.config import yaml_parse  # noqa: E402
from pylearn2.models import mlp  # noqa: E402
from pylearn2.utils import serial  # noqa: E402

import normsafe_init  # noqa: E402
from normsafe_init import NormSafeInit  # noqa: E402
from normsafe_init.pylearn2.channels import channel_names  # noqa: E402
from normsafe_init.pylearn2.layers import find_constrained  # noqa: E402

FRACTION = 0.5
LAYERS = ['h0', 'h1', 'h2', 'y']
REINIT_SEED = 7
# pylearn2's built-in channel of each layer's constrained norms.
BUILTIN = {'h0': 'train_h0_kernel_norms', 'h1': 'train_h1_col_norms',
           'h2': 'train_h2_row_norms', 'y': 'train_y_col_norms'}
REPAIRS = ['rescale', 'clip', 'reinit']


# -- shared runs -------------------------------------------------------------
class Run(object):
    """One ``main_loop`` (or ``setup``) of a ``Train``: the ``train``,
    ``model``, probe ``store`` (``store['before']`` / ``store['after']``
    around NormSafeInit, ``store['after@epoch0']`` after
    ``enforce_constraints``), ``log`` (LogCapture) and ``final`` /
    ``final_params`` (after training)."""

    def __init__(self, train, store, log):
        self.train = train
        self.model = train.model
        self.store = store
        self.log = log
        self.final = weight_snapshot(train.model)
        self.final_params = param_snapshot(train.model)
        exts = [e for e in train.extensions if isinstance(e, NormSafeInit)]
        self.ext = exts[0] if exts else None

    @property
    def record(self):
        return self.model.tag['normsafe_init']


def run_train(yaml_text, setup_only=False):
    store = {}
    train = load_train(yaml_text, [make_probe(store, 'before')],
                       [make_probe(store, 'after')])
    with LogCapture() as log:
        if setup_only:
            train.setup()
        else:
            train.main_loop()
    return Run(train, store, log)


class Runs(object):
    """Lazily run and cache one 1-epoch main_loop per kind."""

    def __init__(self):
        self._cache = {}

    def __getitem__(self, kind):
        if kind not in self._cache:
            if kind == 'none':
                exts = []
            else:
                exts = [extension_yaml(action=kind, seed=REINIT_SEED)
                        if kind == 'reinit' else
                        extension_yaml(action=kind)]
            self._cache[kind] = run_train(train_yaml(exts))
        return self._cache[kind]


@pytest.fixture(scope='module')
def runs():
    return Runs()


@pytest.fixture(scope='module')
def pinned_pkl(runs, tmpdir_factory):
    """The model trained 1 epoch WITHOUT the extension (h1 and y pinned at
    their limits), pickled."""
    path = str(tmpdir_factory.mktemp('resume').join('pinned.pkl'))
    serial.save(path, runs['none'].model)
    return path


def limits(model):
    return dict((w.name, w.constraints[0].limit)
                for w in find_constrained(model)[0])


def snapshot_norms(model, snapshot):
    """``[(name, constraint, norms)]`` of a weight snapshot of ``model``."""
    out = []
    for w in find_constrained(model)[0]:
        for c in w.constraints:
            out.append((w.name, c, norms_of(snapshot[w.name], c.axes,
                                            w.mask)))
    return out


def assert_under_target(model, snapshot, fraction=FRACTION):
    for name, c, norms in snapshot_norms(model, snapshot):
        t = fraction * c.limit
        assert norms.max() <= t * (1 + RTOL), (name, c, norms.max(), t)


# -- the actions --------------------------------------------------------------
def test_small_model_breaks_every_layer(runs):
    """The premise: every layer is above t at init, h1 and y above the
    limit itself, as declared in SMALL_LAYERS."""
    r = runs['none']
    raw = r.store['after']['weights']
    found = find_constrained(r.model)[0]
    assert [w.name for w in found] == LAYERS
    for w in found:
        cls, attr, limit = SMALL_LAYERS[w.name]
        assert (w.class_name, w.constraints[0].attr,
                w.constraints[0].limit) == (cls, attr, limit)
    for name, c, norms in snapshot_norms(r.model, raw):
        assert norms.max() > FRACTION * c.limit
        if name in ('h1', 'y'):
            assert norms.min() > c.limit


@pytest.mark.parametrize('action', REPAIRS)
def test_action_brings_every_norm_under_target(runs, action):
    r = runs[action]
    before = r.store['before']['weights']
    after = r.store['after']['weights']
    assert r.record['changed'] == LAYERS
    # Right after NormSafeInit.setup, and after pylearn2's
    # enforce_constraints (epoch 0, before any update).
    assert_under_target(r.model, after)
    assert_under_target(r.model, r.store['after@epoch0'])
    layers = dict((l['name'], l) for l in r.record['layers'])
    for name, c, norms in snapshot_norms(r.model, after):
        t = FRACTION * c.limit
        repair = layers[name]['repair']
        old = before[name].astype(np.float64)
        new = after[name].astype(np.float64)
        if action == 'rescale':
            # One factor per layer: the largest vector lands on t.
            assert repair['applied'] == 'rescale'
            assert 0 < repair['factor'] < 1
            assert np.allclose(new, old * repair['factor'], rtol=1e-6,
                               atol=0)
            assert abs(norms.max() / t - 1) <= 1e-6
        elif action == 'clip':
            assert repair['applied'] == 'clip'
            old_norms = norms_of(old, c.axes)
            above = old_norms > t
            assert repair['clipped'] == int(above.sum())
            # Vectors under t are bit-identical; the others land on t.
            kept = [a for a in range(old.ndim) if a not in c.axes]
            moved = np.moveaxis(new, kept, list(range(len(kept))))
            orig = np.moveaxis(old, kept, list(range(len(kept))))
            moved = moved.reshape(above.size, -1)
            orig = orig.reshape(above.size, -1)
            assert bit_identical(moved[~above], orig[~above])
            assert np.allclose(norms[above], t, rtol=1e-6)
            # ... along their own direction.
            assert np.allclose(moved[above],
                               orig[above] * (t / old_norms[above])[:, None],
                               rtol=1e-5, atol=1e-7)
        else:
            assert repair['applied'] in ('reinit', 'reinit+rescale')
            assert repair['new_init']['family'] in ('uniform', 'gaussian',
                                                    'sparse')
            assert not np.array_equal(new, old)
    if action == 'clip':
        # h2's rows straddle t: some of them are left as drawn.
        assert 0 < layers['h2']['repair']['clipped'] < 10
    if action == 'reinit':
        # The declared families are kept, at a smaller scale.
        assert layers['h1']['repair']['new_init']['family'] == 'sparse'
        assert layers['h1']['repair']['new_init']['sparse_init'] == 15
        assert ((after['h1'] != 0).sum(axis=0) == 15).all()
        irange = layers['h0']['repair']['new_init']['irange']
        assert 0 < irange < 0.5
        assert np.abs(after['h0']).max() <= irange * (1 + 1e-6)
        assert layers['y']['repair']['new_init']['family'] == 'gaussian'


@pytest.mark.parametrize('action', REPAIRS)
def test_epoch0_channels(runs, action):
    r = runs[action]
    for w in find_constrained(r.model)[0]:
        for c in w.constraints:
            over, pinned = channel_names(w, c)
            assert channel_value(r.model, pinned) == 0
            assert channel_value(r.model, over) <= FRACTION * (1 + RTOL)
        t = FRACTION * w.constraints[0].limit
        assert channel_value(r.model, BUILTIN[w.name] + '_max') <= \
            t * (1 + RTOL)
    # The channels follow training: one record per monitor call.
    assert len(r.model.monitor.channels['normsafe_h1_col_pinned']
               .val_record) == 2


def test_without_the_extension_pylearn2_pins_columns_at_the_limit(runs):
    """The problem: enforce_constraints silently clips the initial draw;
    at epoch 0 every h1 and y column sits exactly on its limit."""
    r = runs['none']
    lim = limits(r.model)
    for name in ('h1', 'y'):
        for stat in ('_min', '_max'):
            value = channel_value(r.model, BUILTIN[name] + stat)
            assert abs(value / lim[name] - 1) <= 1e-6, (name, stat, value)
    # Only the h0 kernels that were above the limit are on it.
    raw = r.store['after']['weights']['h0']
    above = norms_of(raw, (1, 2, 3)) > lim['h0']
    assert 0 < above.sum() < above.size
    epoch0 = norms_of(r.store['after@epoch0']['h0'], (1, 2, 3))
    assert np.allclose(epoch0[above], lim['h0'], rtol=1e-6)
    assert (epoch0[~above] < lim['h0']).all()
    assert 'normsafe_h1_col_pinned' not in r.model.monitor.channels


def test_report_changes_nothing(runs):
    rep, none = runs['report'], runs['none']
    # Same model seed: same raw draw, untouched by setup ...
    assert bit_identical(rep.store['before']['params'],
                         rep.store['after']['params'])
    assert bit_identical(rep.store['after']['params'],
                         none.store['after']['params'])
    # ... and bit-identical weights after one epoch of training.
    assert bit_identical(rep.final_params, none.final_params)
    assert rep.record['action'] == 'report'
    assert rep.record['changed'] == []
    for name in LAYERS:
        assert rep.log.lines('normsafe_init: %s -> none [action report]'
                             % name)
    assert rep.log.lines('4 of 4 layer(s) broke fraction 0.5; changed: none')
    # Its channels show the pinning it did not prevent.
    assert channel_value(rep.model, 'normsafe_h1_col_pinned') == 1
    assert channel_value(rep.model, 'normsafe_y_col_pinned') == 1
    assert abs(channel_value(rep.model, 'normsafe_h1_col_max_over_limit')
               - 1) <= 1e-6


def _stats(norms):
    return '%.4g/%.4g/%.4g' % (norms.min(), norms.mean(), norms.max())


def test_log_lines(runs):
    r = runs['rescale']
    log = r.log
    before = r.store['before']['weights']
    after = r.store['after']['weights']
    assert log.lines('normsafe_init %s: fraction=0.5 action=rescale '
                     'confidence=0.99 seed=0, 4 constrained layer(s)'
                     % normsafe_init.__version__)
    layers = dict((l['name'], l) for l in r.record['layers'])
    descr = {'h0': ('ConvRectifiedLinear', [6, 1, 3, 3], 'kernel',
                    '(1, 2, 3)', 'n=9 m=6 max_kernel_norm=1',
                    'declared irange=0.5'),
             'h1': ('RectifiedLinear', [54, 10], 'col', '(0,)',
                    'n=54 m=10 max_col_norm=1',
                    'declared sparse_init=15, sparse_stdev=1'),
             'h2': ('Tanh', [10, 8], 'row', '(1,)',
                    'n=8 m=10 max_row_norm=1',
                    'declared irange=0.35'),
             'y': ('Softmax', [8, 3], 'col', '(0,)',
                   'n=8 m=3 max_col_norm=1', 'declared istdev=0.5')}
    for name, c, _ in snapshot_norms(r.model, after):
        cls, shape, kind, axes, nm, declared = descr[name]
        old = norms_of(before[name], c.axes)
        new = norms_of(after[name], c.axes)
        head = ('normsafe_init: %s (%s) W%s %s norms axes %s %s t=0.5 | '
                'before min/mean/max %s, %d > t, %d > limit | %s'
                % (name, cls, shape, kind, axes, nm, _stats(old),
                   (old > 0.5).sum(), (old > 1.0).sum(), declared))
        (line,) = log.lines(head)
        assert line.endswith('| after %s' % _stats(new))
        assert log.lines('normsafe_init: %s -> rescale x%.6g'
                         % (name, layers[name]['repair']['factor']))
    assert log.lines('normsafe_init: 4 of 4 layer(s) broke fraction 0.5; '
                     'changed: h0, h1, h2, y')
    (channels,) = log.lines('normsafe_init: added monitor channels ')
    for name in ('h0_kernel', 'h1_col', 'h2_row', 'y_col'):
        assert 'normsafe_%s_max_over_limit' % name in channels
        assert 'normsafe_%s_pinned' % name in channels
    assert not [rec for rec in log.records if rec.levelno >= logging.WARNING]
    assert all(rec.name == 'normsafe_init.pylearn2.extension' for rec in log.records)


@pytest.mark.parametrize('action', REPAIRS + ['report'])
def test_record(runs, action):
    r = runs[action]
    record = r.record
    assert record is r.ext.record
    assert json.loads(json.dumps(record)) == record
    assert record['version'] == normsafe_init.__version__
    assert record['action'] == action and record['trained'] is None
    assert record['options']['action'] == action
    assert record['options']['fraction'] == FRACTION
    assert record['options']['seed'] == (REINIT_SEED if action == 'reinit'
                                         else 0)
    assert [l['name'] for l in record['layers']] == LAYERS
    for layer in record['layers']:
        assert layer['breaks'] is True
        repair = layer['repair']
        assert repair['action'] == action
        if action == 'rescale':
            assert repair['applied'] == 'rescale'
            assert isinstance(repair['factor'], float)
        elif action == 'report':
            assert repair['applied'] == 'none' and repair['factor'] is None
        elif action == 'reinit':
            assert repair['new_init'] and repair['tries'] >= 1
    assert record['unknown'] == []


def test_record_survives_pickling(runs, tmpdir):
    path = str(tmpdir.join('rescaled.pkl'))
    serial.save(path, runs['rescale'].model)
    model = serial.load(path)
    assert model.tag['normsafe_init'] == runs['rescale'].record


@pytest.mark.parametrize('action', REPAIRS)
def test_same_shared_variables_dtype_and_shape(runs, action):
    r = runs[action]
    old = r.store['before']['variables']
    new = r.store['after']['variables']
    now = variables_of(r.model)
    for name in LAYERS:
        assert old[name] is new[name] is now[name]
        a, b = r.store['before']['weights'][name], \
            r.store['after']['weights'][name]
        assert a.dtype == b.dtype == now[name].get_value().dtype
        assert a.shape == b.shape
    assert str(now['y'].dtype) == 'float32'
    # The compiled sgd_update still trains those very variables.
    assert not np.array_equal(r.final['y'], r.store['after@epoch0']['y'])
    # pylearn2's own references (transformer, Softmax.W) are these objects.
    layers = dict((l.layer_name, l) for l in r.model.layers)
    assert layers['y'].W is now['y']
    assert layers['h1'].transformer.get_params()[0] is now['h1']
    assert layers['h0'].transformer._filters is now['h0']


# -- reinit ---------------------------------------------------------------------
def test_reinit_does_not_consume_model_rng(runs):
    r = runs['reinit']
    assert same_rng_state(r.store['before']['rng'], r.store['after']['rng'])
    assert r.log.lines('seed=%d, 4 constrained layer(s)' % REINIT_SEED)


def test_reinit_is_reproducible_for_a_seed(runs):
    trained = runs['reinit'].store['after']['weights']
    same = run_train(train_yaml([extension_yaml(action='reinit',
                                                seed=REINIT_SEED)],
                                algorithm=False), setup_only=True)
    assert bit_identical(same.store['after']['weights'], trained)
    other = run_train(train_yaml([extension_yaml(action='reinit',
                                                 seed=REINIT_SEED + 1)],
                                 algorithm=False), setup_only=True)
    # Same raw draw (model seed), different redraw (extension seed).
    assert bit_identical(other.store['before']['weights'],
                         same.store['before']['weights'])
    for name in LAYERS:
        assert not np.array_equal(other.store['after']['weights'][name],
                                  trained[name])
    assert_under_target(other.model, other.store['after']['weights'])
    # No monitoring dataset: no channels, said so.
    assert same.log.lines('the monitor has no dataset; no channels added')


# -- resumed models -----------------------------------------------------------------
@pytest.mark.parametrize('transfer', [True, False],
                         ids=['transfer_experience', 'no_transfer'])
def test_resume_is_a_no_op(runs, pinned_pkl, transfer):
    r = run_train(train_yaml([extension_yaml(action='rescale')],
                             algorithm=False,
                             model=push_monitor_model(pinned_pkl, transfer)),
                  setup_only=True)
    # The trained weights (pinned at the limit, far above t) are untouched.
    assert bit_identical(r.store['before']['params'],
                         runs['none'].final_params)
    assert bit_identical(r.store['after']['params'],
                         r.store['before']['params'])
    reason = ('its monitor has seen 40 examples' if transfer else
              'it carries an earlier monitor as model.old (resumed with '
              'push_monitor)')
    (warning,) = r.log.lines('model looks trained', logging.WARNING)
    assert warning == ('normsafe_init: model looks trained (%s): reporting '
                       'only; set force: true to act anyway' % reason)
    assert r.log.lines('action=report (asked rescale)')
    assert r.log.lines('normsafe_init: h1 -> none [action report]')
    assert r.record['action'] == 'report'
    assert r.record['trained'] == reason
    assert r.record['changed'] == []


def test_resume_with_force_acts(runs, pinned_pkl):
    r = run_train(train_yaml([extension_yaml(action='rescale', force=True)],
                             algorithm=False,
                             model=push_monitor_model(pinned_pkl, True)),
                  setup_only=True)
    assert bit_identical(r.store['before']['params'],
                         runs['none'].final_params)
    assert_under_target(r.model, r.store['after']['weights'])
    assert not r.log.lines('reporting only')
    assert r.log.lines('action=rescale confidence')
    assert r.record['action'] == 'rescale'
    assert r.record['trained'] == 'its monitor has seen 40 examples'
    assert r.record['changed'] == LAYERS


def test_resume_with_save_records_keeps_channel_history(runs, tmpdir):
    """push_monitor(..., save_records=True) copies the old channels without
    their graphs; the extension's channels must be added again (they would
    otherwise break the monitor) and keep their history."""
    old = runs['rescale']
    path = str(tmpdir.join('rescaled.pkl'))
    serial.save(path, old.model)
    history = [float(v) for v in old.model.monitor.channels[
        'normsafe_h1_col_max_over_limit'].val_record]
    r = run_train(train_yaml([extension_yaml(action='rescale')],
                             model=push_monitor_model(path, True, True),
                             max_epochs=2))
    channel = r.model.monitor.channels['normsafe_h1_col_max_over_limit']
    values = [float(v) for v in channel.val_record]
    assert len(values) > len(history)
    # pylearn2 copies the history without its last record, which the first
    # monitor call of the resumed run records again (the same value, but
    # for the early-2015 enforce_constraints shrinking norms by n/(n+1e-7)).
    assert values[:len(history) - 1] == history[:-1]
    assert abs(values[len(history) - 1] / history[-1] - 1) <= 1e-6
    # (training may move the norms anywhere up to the limit)
    assert max(values) <= 1 + RTOL
    assert r.record['action'] == 'report'
    assert bit_identical(r.store['after']['params'], old.final_params)


# -- setup twice, bad options ------------------------------------------------------------
def test_setup_twice_changes_nothing_the_second_time(tmpdir):
    store = {}
    train = load_train(train_yaml([extension_yaml(action='rescale')]))
    (ext,) = train.extensions
    fresh = NormSafeInit(action='clip')
    train.extensions = [ext, make_probe(store, 'first'), ext, fresh,
                        make_probe(store, 'last')]
    with LogCapture() as log:
        train.main_loop()
    assert bit_identical(store['first']['params'], store['last']['params'])
    # the second and third runs judge every layer already processed
    warnings = log.lines('judged trained (an earlier normsafe_init run '
                         'already processed it', logging.WARNING)
    assert len(warnings) == 2 * len(LAYERS)
    assert len(log.lines('normsafe_init: added monitor channels')) == 1
    record = train.model.tag['normsafe_init']
    assert record['changed'] == [] and record['judged_trained'] == LAYERS
    assert record['previous']['changed'] == []
    assert record['previous']['previous']['changed'] == LAYERS
    assert len(train.model.monitor.channels['normsafe_h1_col_pinned']
               .val_record) == 2
    # Once more, directly, on the trained model: still no crash, no change.
    params = param_snapshot(train.model)
    with LogCapture() as log:
        ext.setup(train.model, train.dataset, train.algorithm)
    assert bit_identical(param_snapshot(train.model), params)
    assert log.lines('its monitor has seen 40 examples', logging.WARNING)


@pytest.mark.parametrize('options,error,message', [
    ({'fraction': 1.5}, ValueError, 'fraction must be in (0, 1]; got 1.5'),
    ({'action': 'explode'}, ValueError,
     "action must be one of 'report', 'rescale', 'clip', 'reinit'; "
     "got 'explode'"),
    ({'fractoin': 0.5}, TypeError,
     'NormSafeInit does not support the following keywords: fractoin. '
     'Did you mean fraction?'),
    ({'layers': 'h1'}, ValueError,
     "layers must be a list of layer names; got 'h1'"),
    ({'seed': -1}, ValueError, 'seed must be an integer >= 0; got -1'),
    ({'force': 'yes'}, ValueError, "force must be True or False; got 'yes'"),
    ({'seed': 2 ** 32}, ValueError,
     'seed must be an integer in [0, 2**32); got 4294967296'),
    ({'layers': []}, ValueError,
     'layers must name at least one layer; got an empty list'),
    ({'channels': 'no'}, ValueError, "channels must be True or False"),
], ids=['fraction', 'action', 'unknown-option', 'layers-str', 'seed',
        'force', 'seed-2**32', 'layers-empty', 'channels'])
def test_bad_options_fail_at_yaml_load(options, error, message):
    with pytest.raises(error) as info:
        yaml_parse.load(train_yaml([extension_yaml(**options)],
                                   algorithm=False))
    assert message in str(info.value)


@pytest.mark.parametrize('option', ['layers', 'exclude'])
def test_unknown_layer_name_fails_at_setup_and_changes_nothing(option):
    store = {}
    train = load_train(train_yaml([extension_yaml(**{option: ['h1', 'nope']})],
                                  algorithm=False),
                       [make_probe(store, 'before')])
    with pytest.raises(ValueError) as info:
        train.setup()
    assert str(info.value) == (
        '%s names nope, which is not a constrained layer of this model; '
        'constrained layers: h0, h1, h2, y' % option)
    assert bit_identical(weight_snapshot(train.model),
                         store['before']['weights'])
    assert 'normsafe_init' not in train.model.tag


# -- min_col_norm ----------------------------------------------------------------
MIN_COL_MODEL = """!obj:pylearn2.models.mlp.MLP {
        seed: 11,
        nvis: 30,
        layers: [
            !obj:pylearn2.models.mlp.Linear {
                layer_name: 'h',
                dim: 12,
                istdev: 0.5,
                max_col_norm: 1.9,
                min_col_norm: %s,
            },
            !obj:pylearn2.models.mlp.Softmax {
                layer_name: 'y', n_classes: 3, irange: 0.05,
            },
        ],
    }"""


@pytest.mark.parametrize('action', REPAIRS)
def test_min_col_norm_above_target_is_the_target(action):
    # t = 0.5 x 1.9 = 0.95 < min_col_norm 1.2: every repair would leave the
    # columns under 1.2, where enforce_constraints pins them all; the
    # minimum is the target instead, and the log says why.
    text = train_yaml([extension_yaml(action=action, seed=3)],
                      algorithm=False, model=MIN_COL_MODEL % '1.2')
    r = run_train(text, setup_only=True)
    after = norms_of(r.store['after']['weights']['h'], (0,))
    assert np.all(after <= 1.2 * (1 + RTOL)) and np.all(after >= 1.2 * (1 - RTOL))
    # enforce_constraints (after the extension) found nothing to change
    settled = norms_of(r.model.layers[0].get_weights(), (0,))
    np.testing.assert_allclose(settled, after, rtol=1e-5)
    (warning,) = r.log.lines('below min_col_norm', logging.WARNING)
    assert warning == ('normsafe_init: h: fraction x max_col_norm = 0.95 is '
                       'below min_col_norm = 1.2: the minimum is the '
                       'target')
    layer = r.record['layers'][0]
    assert layer['constraints'][0]['target'] == 1.2
    assert layer['constraints'][0]['min_limit'] == 1.2


def test_no_repair_leaves_a_column_under_min_col_norm():
    # four shrunk columns are no fresh draw: force the repair
    text = train_yaml([extension_yaml(action='clip', force=True)],
                      algorithm=False, model=MIN_COL_MODEL % '0.2')
    store = {}
    train = load_train(text, [make_probe(store, 'before')],
                       [make_probe(store, 'after')])
    W = train.model.layers[0].get_weights()
    W[:, :4] *= 0.01       # four columns far under min_col_norm 0.2
    train.model.layers[0].set_weights(W)
    with LogCapture():
        train.setup()
    after = norms_of(store['after']['weights']['h'], (0,))
    assert after.min() >= 0.2 * (1 - RTOL) and after.max() <= 0.95 * (1 + RTOL)


# -- models built in Python: unknown layers, masks --------------------------------------------
class MyGenericLayer(mlp.Layer):
    """A user's layer derived from pylearn2's generic Layer only."""

    def __init__(self, layer_name):
        super(MyGenericLayer, self).__init__()
        self.layer_name = layer_name
        self.max_col_norm = 1.0

    def set_input_space(self, space):
        self.input_space = space
        self.output_space = space

    def get_params(self):
        return []


def test_unknown_layer_is_logged_and_left_alone():
    lin = mlp.Linear(dim=4, layer_name='lin', irange=1.0, max_col_norm=1.0)
    model = mlp.MLP(layers=[MyGenericLayer('gen'), lin], nvis=6)
    ext = NormSafeInit(action='rescale')
    with LogCapture() as log:
        ext.setup(model, None, None)
    (warning,) = log.lines('gen', logging.WARNING)
    assert warning == ('normsafe_init: gen (MyGenericLayer) has '
                       'max_col_norm=1 but is left alone: class '
                       'MyGenericLayer is not a pylearn2 layer '
                       'normsafe_init knows')
    record = model.tag['normsafe_init']
    assert [u['name'] for u in record['unknown']] == ['gen']
    assert record['changed'] == ['lin']
    assert log.lines('the monitor has no dataset; no channels added')


@pytest.mark.parametrize('action', REPAIRS)
def test_masked_weights(action):
    mask = np.ones((12, 5))
    mask[:4, 0] = 0
    mask[:, 3] = 0
    lin = mlp.Linear(dim=5, layer_name='lin', irange=1.0, mask_weights=mask,
                     max_col_norm=1.0)
    model = mlp.MLP(layers=[lin], nvis=12)
    NormSafeInit(action=action).setup(model, None, None)
    W = lin.transformer.get_params()[0]
    assert norms_of(W.get_value(), (0,), mask).max() <= 0.5 * (1 + RTOL)
    model.enforce_constraints()   # pylearn2 masks, then constrains
    value = W.get_value()
    assert (value[mask == 0] == 0).all()
    norms = norms_of(value, (0,))
    assert norms.max() <= 0.5 * (1 + RTOL)
    if action == 'clip':
        assert (norms[[0, 1, 2, 4]] > 0.5 * (1 - 1e-6)).all()


@pytest.mark.parametrize('action', REPAIRS)
def test_softmax_with_column_and_row_limits(action):
    """A Softmax may carry both constraints: every action must bring the
    columns and the rows under their targets (clip: columns first, then
    rows, as pylearn2 applies them)."""
    y = mlp.Softmax(n_classes=6, layer_name='y', irange=1.0,
                    max_col_norm=2.0, max_row_norm=1.5)
    model = mlp.MLP(layers=[y], nvis=30)
    before = y.W.get_value().copy()
    ext = NormSafeInit(action=action, fraction=0.5, channels=False)
    ext.setup(model, None, None)
    value = y.W.get_value()
    assert norms_of(value, (0,)).max() <= 1.0 * (1 + RTOL)
    assert norms_of(value, (1,)).max() <= 0.75 * (1 + RTOL)
    (layer,) = ext.record['layers']
    assert [c['attr'] for c in layer['constraints']] == ['max_col_norm',
                                                         'max_row_norm']
    after = layer['repair']['after']
    assert after[0]['max'] == pytest.approx(norms_of(value, (0,)).max(),
                                            rel=1e-5)
    assert after[1]['max'] == pytest.approx(norms_of(value, (1,)).max(),
                                            rel=1e-5)
    if action == 'rescale':  # one factor: the directions are kept
        factor = layer['repair']['factor']
        np.testing.assert_allclose(value, before * factor, rtol=1e-6)


# -- the yaml_examples ---------------------------------------------------------------------------
def example(name):
    return os.path.join(EXAMPLES_DIR, name)


@pytest.fixture(scope='module')
def example_dir(tmpdir_factory):
    """Scratch directory the examples run in (sparse_mlp.yaml writes
    sparse_mlp.pkl there, resume.yaml reads it)."""
    return tmpdir_factory.mktemp('examples')


def run_example_in_process(name, cwd, probes=False):
    from pylearn2.config import yaml_parse as yp
    old = os.getcwd()
    os.chdir(str(cwd))
    try:
        train = yp.load_path(example(name))
        store = {}
        if probes:
            train.extensions = ([make_probe(store, 'before')]
                                + list(train.extensions)
                                + [make_probe(store, 'after')])
        with LogCapture() as log:
            train.main_loop()
    finally:
        os.chdir(old)
    return Run(train, store, log)


def run_example_process(args, cwd):
    proc = subprocess.Popen([sys.executable] + args, cwd=str(cwd),
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode('utf-8', 'replace')
    assert proc.returncode == 0, out[-5000:]
    return out


def monitor_blocks(output):
    """``[{channel: value}]`` per monitor call in a training log."""
    blocks = []
    for chunk in output.split('Epochs seen: ')[1:]:
        values = {}
        for line in chunk.splitlines()[1:]:
            m = re.match(r'^\s*(?:INFO \(pylearn2[^)]*\): )?\s*'
                         r'([A-Za-z0-9_]+): (\S+)$', line)
            if m:
                try:
                    values[m.group(1)] = float(m.group(2))
                except ValueError:
                    pass
        blocks.append(values)
    return blocks


def test_example_seed_conv_fc_with_train_script(example_dir):
    out = run_example_process([train_script(), example('seed_conv_fc.yaml')],
                              example_dir)
    assert 'normsafe_init: h2 -> rescale x' in out
    assert 'normsafe_init: 2 of 4 layer(s) broke fraction 0.5; changed: ' \
        'h1, h2' in out
    epoch0 = monitor_blocks(out)[0]
    t = 0.5 * 1.9365
    for layer, kind in (('h0', 'kernel'), ('h1', 'kernel'), ('h2', 'col'),
                        ('y', 'col')):
        assert epoch0['normsafe_%s_%s_pinned' % (layer, kind)] == 0
        assert epoch0['normsafe_%s_%s_max_over_limit' % (layer, kind)] <= \
            0.5 * (1 + RTOL)
    assert epoch0['train_h2_col_norms_max'] <= t * (1 + RTOL)
    assert len(monitor_blocks(out)) == 3       # epochs 0, 1, 2


def test_example_sparse_mlp_with_yaml_parse(example_dir):
    """The second documented command (no train.py: the extension must make
    its own log lines visible)."""
    code = ("from pylearn2.config import yaml_parse; "
            "yaml_parse.load_path(%r).main_loop()"
            % example('sparse_mlp.yaml'))
    out = run_example_process(['-c', code], example_dir)
    assert 'normsafe_init: 3 of 3 layer(s) broke fraction 0.5; changed: ' \
        'h0, h1, y' in out
    assert 'normsafe_init: h0 -> reinit to sparse_init=15, sparse_stdev=' \
        in out
    model = serial.load(str(example_dir.join('sparse_mlp.pkl')))
    record = model.tag['normsafe_init']
    assert record['action'] == 'reinit' and record['options']['seed'] == 1234
    for w in find_constrained(model)[0]:
        c = w.constraints[0]
        assert channel_value(model, 'normsafe_%s_col_pinned' % w.name) == 0
        assert channel_value(model, 'train_%s_col_norms_max' % w.name) <= \
            0.5 * c.limit * (1 + RTOL)
    assert model.monitor.get_epochs_seen() == 2


def test_example_resume(example_dir):
    pkl = example_dir.join('sparse_mlp.pkl')
    if not pkl.check():
        run_example_in_process('sparse_mlp.yaml', example_dir)
    saved = serial.load(str(pkl))
    r = run_example_in_process('resume.yaml', example_dir, probes=True)
    assert bit_identical(r.store['before']['params'], param_snapshot(saved))
    assert bit_identical(r.store['after']['params'],
                         r.store['before']['params'])
    (warning,) = r.log.lines('model looks trained', logging.WARNING)
    assert 'its monitor has seen 400 examples' in warning
    assert r.record['action'] == 'report'
    assert r.record['changed'] == []
    assert r.record['previous']['action'] == 'reinit'
    assert r.model.monitor.get_epochs_seen() == 3


@pytest.mark.skipif(not PY2, reason=MAXOUT_NEEDS_PY2)
def test_example_maxout_mlp(example_dir):
    r = run_example_in_process('maxout_mlp.yaml', example_dir, probes=True)
    layers = dict((l['name'], l) for l in r.record['layers'])
    assert layers['h0']['repair']['applied'] == 'clip'
    assert layers['h0']['repair']['clipped'] == 60
    assert 0 < layers['h1']['repair']['clipped'] < 20
    assert layers['y']['repair']['applied'] == 'none'
    for w in find_constrained(r.model)[0]:
        t = 0.5 * w.constraints[0].limit
        assert w.shape[1] == {'h0': 60, 'h1': 20, 'y': 4}[w.name]
        assert channel_value(r.model, 'normsafe_%s_col_pinned' % w.name) == 0
        assert channel_value(r.model, 'train_%s_col_norms_max' % w.name) <= \
            t * (1 + RTOL)
    # Without the extension every h0 column would be pinned: its draw
    # started above the limit.
    raw = norms_of(r.store['before']['weights']['h0'], (0,))
    assert raw.min() > 1.9365
