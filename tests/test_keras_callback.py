"""The Keras 3 callback NormSafeInit and audit (normsafe_init.keras) on real
Keras models: what changes (only the broken constrained variables, in
place), what is reported, the trained-model guard, options, metrics, logs."""
import csv
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_helpers import require_keras

keras = require_keras()

from normsafe_init.keras import NormSafeInit, audit  # noqa: E402
from normsafe_init.norms import vector_norms  # noqa: E402

L = keras.layers
C = keras.constraints
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')


def small_model(seed=0, head_init='glorot_uniform'):
    """A conv layer within its limit, a head far above (glorot on 64 inputs
    vs max_norm(0.25), like EEGNet's), an unconstrained dense layer."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        L.Conv2D(4, 3, kernel_constraint=C.MaxNorm(100.0, axis=[0, 1, 2]),
                 name='conv'),
        L.Flatten(),
        L.Dense(16, name='free'),
        L.Dense(64, kernel_constraint=C.MaxNorm(3.0), name='mid'),
        L.Dense(4, kernel_initializer=head_init,
                kernel_constraint=C.max_norm(0.25), name='head'),
    ])
    model.compile(keras.optimizers.SGD(0.01), 'sparse_categorical_crossentropy')
    return model


def data(n=32, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, 8, 8, 1).astype('float32'), rng.randint(0, 4, n)


def snapshot(model):
    return dict((v.path, np.array(keras.ops.convert_to_numpy(v)))
                for v in model.variables)


def run_begin(model, **options):
    cb = NormSafeInit(**options)
    cb.set_model(model)
    cb.on_train_begin()
    return cb


def head_norms(model):
    return vector_norms(keras.ops.convert_to_numpy(
        model.get_layer('head').kernel).astype(np.float64), (0,))


@pytest.mark.parametrize('action', ['rescale', 'clip', 'reinit'])
def test_only_the_broken_variable_changes_in_place(action):
    model = small_model()
    before = snapshot(model)
    variables = dict((v.path, (v, v.value)) for v in model.variables)
    assert head_norms(model).min() > 0.25 * 4   # glorot: ~1.37, 5.5x limit
    cb = run_begin(model, fraction=0.5, action=action)
    after = snapshot(model)
    assert cb.record['changed'] == ['head']
    head = model.get_layer('head').kernel.path
    for path, value in before.items():
        assert after[path].dtype == value.dtype
        assert after[path].shape == value.shape
        if path != head:
            assert after[path].tobytes() == value.tobytes(), path
    assert after[head].tobytes() != before[head].tobytes()
    assert head_norms(model).max() <= 0.125 * (1 + 1e-6)
    for v in model.variables:  # the same variable and storage objects
        assert variables[v.path][0] is v and variables[v.path][1] is v.value
    if action == 'rescale':
        factor = cb.record['layers'][-1]['repair']['factor']
        np.testing.assert_allclose(after[head], before[head] * factor,
                                   rtol=1e-6)


def test_clip_leaves_vectors_under_t_bit_identical():
    keras.utils.set_random_seed(3)
    init = keras.initializers.RandomUniform(-0.02, 0.02)
    model = keras.Sequential([keras.Input((30,)), L.Dense(
        200, kernel_initializer=init, kernel_constraint=C.MaxNorm(0.125),
        name='d')])
    W = keras.ops.convert_to_numpy(model.layers[0].kernel).copy()
    norms = vector_norms(W.astype(np.float64), (0,))
    low = norms <= 0.0625
    assert 0 < low.sum() < low.size
    run_begin(model, fraction=0.5, action='clip')
    W2 = keras.ops.convert_to_numpy(model.layers[0].kernel)
    assert W2[:, low].tobytes() == W[:, low].tobytes()
    np.testing.assert_allclose(vector_norms(W2[:, ~low].astype(np.float64),
                                            (0,)), 0.0625, rtol=1e-6)


def test_without_the_callback_the_first_step_pins_every_column():
    # The problem itself, on real Keras: one SGD step later the head's
    # columns sit on the limit.
    model = small_model()
    x, y = data()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    np.testing.assert_allclose(head_norms(model), 0.25, rtol=1e-4)


def test_fit_logs_metrics_to_history_and_csvlogger(tmp_path):
    model = small_model()
    x, y = data()
    path = str(tmp_path / 'log.csv')
    cb = NormSafeInit()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                        callbacks=[cb, keras.callbacks.CSVLogger(path)])
    hist = history.history
    assert len(hist['normsafe_head_max_over_limit']) == 2
    # The last epoch's numbers are those of the weights fit leaves.
    assert hist['normsafe_head_max_over_limit'][-1] == pytest.approx(
        head_norms(model).max() / 0.25, rel=1e-6)
    assert hist['normsafe_head_pinned'][-1] == pytest.approx(
        np.mean(np.abs(head_norms(model) - 0.25) <= 1e-4 * 0.25))
    assert hist['normsafe_head_max_over_limit'][0] < 1.0
    assert 'normsafe_mid_max_over_limit' in hist
    assert 'normsafe_conv_pinned' in hist
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert float(rows[-1]['normsafe_head_max_over_limit']) == pytest.approx(
        hist['normsafe_head_max_over_limit'][-1], rel=1e-5)
    json.dumps(cb.record)
    assert model._normsafe_init_record is cb.record


def test_metrics_false_adds_nothing():
    model = small_model()
    x, y = data()
    history = model.fit(x, y, epochs=1, verbose=0,
                        callbacks=[NormSafeInit(metrics=False)])
    assert not [k for k in history.history if k.startswith('normsafe_')]


def test_trained_model_is_only_reported_unless_forced():
    model = small_model()
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.get_layer('head').kernel.assign(
        keras.ops.convert_to_numpy(model.get_layer('head').kernel) * 4)
    before = snapshot(model)
    cb = run_begin(model)
    assert cb.record['action'] == 'report'
    assert cb.record['trained'] == 'optimizer.iterations = 1'
    assert 'force=True' in cb.record['reason']
    assert snapshot(model).keys() == before.keys()
    assert all(snapshot(model)[k].tobytes() == v.tobytes()
               for k, v in before.items())
    cb = run_begin(model, force=True)
    assert cb.record['changed'] == ['head']
    assert head_norms(model).max() <= 0.125 * (1 + 1e-6)


def test_loaded_model_with_optimizer_state_is_trained(tmp_path):
    model = small_model()
    x, y = data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / 'm.keras')
    model.save(path)
    loaded = keras.models.load_model(path)
    cb = run_begin(loaded)
    assert cb.record['trained'] == 'optimizer.iterations = 4'
    assert cb.record['changed'] == []


def test_a_second_callback_changes_nothing():
    model = small_model()
    first = run_begin(model)
    assert first.record['changed'] == ['head']
    model.get_layer('head').kernel.assign(
        keras.ops.convert_to_numpy(model.get_layer('head').kernel) * 8)
    before = snapshot(model)
    second = run_begin(model)
    assert second.record['changed'] == [] and second.record['trained'] is None
    assert second.record['judged_trained'] == ['conv', 'mid', 'head']
    assert all('already processed' in layer['verdict']['evidence']
               for layer in second.record['layers'])
    assert second.record['previous'] is first.record
    assert all(snapshot(model)[k].tobytes() == v.tobytes()
               for k, v in before.items())


@pytest.mark.parametrize('kwargs, message', [
    (dict(fraction=1.5), 'fraction must be in (0, 1]; got 1.5'),
    (dict(fraction='half'), "fraction must be a real number; got 'half'"),
    (dict(action='shrink'), "action must be one of 'report', 'rescale', "
     "'clip', 'reinit'; got 'shrink'"),
    (dict(confidence=1.0), 'confidence must be in (0, 1); got 1.0'),
    (dict(mode='median'), "mode must be one of"),
    (dict(seed=-1), 'seed must be an integer >= 0; got -1'),
    (dict(seed=2 ** 32), 'seed must be an integer in [0, 2**32); got'),
    (dict(layers='head'), "layers must be a list of layer names; got 'head'"),
    (dict(exclude=[]), 'exclude must name at least one layer'),
    (dict(force='yes'), "force must be True or False; got 'yes'"),
    (dict(metrics=1), 'metrics must be True or False; got 1'),
    (dict(layers=['a'], exclude=['a']), 'layers and exclude both name a'),
])
def test_bad_options_fail_in_init_naming_parameter_and_value(kwargs,
                                                             message):
    with pytest.raises(ValueError) as info:
        NormSafeInit(**kwargs)
    assert message in str(info.value)


def test_unknown_layer_name_fails_before_any_change():
    model = small_model()
    before = snapshot(model)
    with pytest.raises(ValueError) as info:
        run_begin(model, layers=['nope'])
    assert 'layers names nope' in str(info.value)
    assert 'conv, head, mid' in str(info.value)
    assert all(snapshot(model)[k].tobytes() == v.tobytes()
               for k, v in before.items())


def test_layer_names_select_both_separable_kernels():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((10, 10, 3)),
        L.SeparableConv2D(4, 3, name='sep',
                          depthwise_constraint=C.MaxNorm(0.2, axis=[0, 1]),
                          pointwise_constraint=C.MaxNorm(0.2,
                                                         axis=[0, 1, 2])),
        L.Flatten(),
        L.Dense(3, kernel_constraint=C.MaxNorm(0.1), name='head')])
    cb = run_begin(model, layers=['sep'])
    assert sorted(cb.record['changed']) == ['sep/depthwise_kernel',
                                            'sep/pointwise_kernel']
    cb = run_begin(model, exclude=['sep'], force=True)
    assert cb.record['changed'] == ['head']


def test_non_finite_weight_raises_and_nothing_changes():
    model = small_model()
    mid = model.get_layer('mid').kernel
    value = keras.ops.convert_to_numpy(mid).copy()
    value[3, 5] = np.nan
    mid.assign(value)
    before = snapshot(model)
    with pytest.raises(ValueError) as info:
        run_begin(model)
    assert 'mid' in str(info.value) and 'NaN' in str(info.value)
    assert 'nothing was changed' in str(info.value)
    after = snapshot(model)
    assert all(after[k].tobytes() == v.tobytes() for k, v in before.items())
    assert getattr(model, '_normsafe_init_record', None) is None


def test_metrics_of_a_diverged_weight_are_nan_not_an_error():
    model = small_model()
    cb = run_begin(model)
    head = model.get_layer('head').kernel
    head.assign(np.full(head.shape, np.inf, 'float32'))
    logs = {'loss': 1.0}
    cb.on_epoch_end(0, logs)
    assert np.isnan(logs['normsafe_head_max_over_limit'])
    assert np.isnan(logs['normsafe_head_pinned'])
    assert 0 < logs['normsafe_mid_max_over_limit'] < 1


def global_rng_states():
    import torch
    from keras.src.random.seed_generator import global_seed_generator
    return (np.random.get_state()[1].tobytes(),
            torch.random.get_rng_state().numpy().tobytes(),
            keras.ops.convert_to_numpy(
                global_seed_generator().state).tobytes())


def test_reinit_is_seeded_reproducible_and_leaves_global_rngs_alone():
    values = []
    for model_seed in (0, 1):
        model = small_model(seed=model_seed)
        states = global_rng_states()
        cb = run_begin(model, action='reinit', seed=7)
        assert global_rng_states() == states
        repair = cb.record['layers'][-1]['repair']
        assert repair['applied'] in ('reinit', 'reinit+rescale')
        assert repair['new_init']['family'] == 'uniform'
        assert head_norms(model).max() <= 0.125 * (1 + 1e-6)
        # Redrawn from U(-a, a) at the solved a (64 x 4 entries fill it).
        a = repair['new_init']['irange']
        W = keras.ops.convert_to_numpy(model.get_layer('head').kernel)
        assert 0.9 * a < np.abs(W).max() <= a * (1 + 1e-6)
        values.append(keras.ops.convert_to_numpy(
            model.get_layer('head').kernel).copy())
    # Same seed, same shapes: the same redraw, whatever the model's draw.
    assert values[0].tobytes() == values[1].tobytes()
    other = small_model(seed=0)
    run_begin(other, action='reinit', seed=8)
    assert keras.ops.convert_to_numpy(
        other.get_layer('head').kernel).tobytes() != values[0].tobytes()


def test_reinit_from_a_truncated_normal_keeps_the_family():
    model = small_model(head_init='he_normal')
    cb = run_begin(model, action='reinit')
    (head,) = [layer for layer in cb.record['layers']
               if layer['name'] == 'head']
    assert head['init']['family'] == 'truncnormal'
    repair = head['repair']
    assert repair['new_init']['family'] == 'truncnormal'
    s = repair['new_init']['stddev']
    W = keras.ops.convert_to_numpy(model.get_layer('head').kernel)
    assert np.abs(W).max() <= 2 * s * (1 + 1e-6)   # truncated at 2 stddev
    assert head_norms(model).max() <= 0.125 * (1 + 1e-6)


def test_reinit_without_a_law_falls_back_to_rescale_with_the_reason(caplog):
    model = small_model(head_init=keras.initializers.Orthogonal(gain=2.0))
    with caplog.at_level(logging.INFO, logger='normsafe_init'):
        cb = run_begin(model, action='reinit')
    (head,) = [layer for layer in cb.record['layers']
               if layer['name'] == 'head']
    assert head['repair']['applied'] == 'rescale'
    assert head['init_note'].startswith('Orthogonal(gain=2.0)')
    text = caplog.text
    assert 'head -> rescale' in text and 'Orthogonal(gain=2.0)' in text
    assert head_norms(model).max() <= 0.125 * (1 + 1e-6)


def test_minmaxnorm_min_value_is_the_floor():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), L.Dense(
        8, kernel_constraint=C.MinMaxNorm(0.3, 1.0, rate=0.5), name='mm')])
    cb = run_begin(model, fraction=0.2)   # t = 0.2 < min 0.3: aim at 0.3
    (layer,) = cb.record['layers']
    (part,) = layer['constraints']
    assert part['min_limit'] == 0.3 and part['limit'] == 1.0
    assert part['target'] == pytest.approx(0.3)
    norms = vector_norms(keras.ops.convert_to_numpy(
        model.layers[0].kernel).astype(np.float64), (0,))
    assert norms.max() <= 0.3 * (1 + 1e-6) and norms.min() >= 0.3 * (1 - 1e-4)


def test_audit_reports_and_changes_nothing():
    model = small_model()
    before = snapshot(model)
    report = audit(model, fraction=0.5)
    assert report.breaking == ['head']
    text = str(report)
    assert text.splitlines()[0].split()[:3] == ['weight', 'shape', 'n']
    assert max(len(line) for line in text.splitlines()) <= 100
    assert 'head' in text and 'BREAKS' in text
    numbers = json.loads(json.dumps(report.as_dict()))
    (head,) = [d for d in numbers['layers'] if d['name'] == 'head']
    assert head['constraints'][0]['before']['max'] > 1.0
    assert all(snapshot(model)[k].tobytes() == v.tobytes()
               for k, v in before.items())
    with pytest.raises(ValueError, match='fraction must be in'):
        audit(model, fraction=0)


SCRIPT = r'''
import os, sys, logging
os.environ.setdefault('KERAS_BACKEND', 'torch')
sys.path.insert(0, %r)
if sys.argv[1] == 'configured':
    logging.basicConfig(level=logging.WARNING)
import numpy as np, keras
from normsafe_init.keras import NormSafeInit
model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
    4, activation='softmax', name='head',
    kernel_constraint=keras.constraints.max_norm(0.25))])
model.compile('sgd', 'sparse_categorical_crossentropy')
x = np.random.RandomState(0).randn(8, 64).astype('float32')
model.fit(x, np.arange(8) %% 4, epochs=1, verbose=0,
          callbacks=[NormSafeInit()])
'''


@pytest.mark.parametrize('how', ['plain', 'configured'])
def test_lines_show_in_a_plain_fit_and_respect_a_configuration(how):
    proc = subprocess.run([sys.executable, '-c', SCRIPT % REPO, how],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    if how == 'plain':
        assert 'normsafe_init: head (Dense) kernel[64, 4] col norms' \
            in proc.stderr
        assert 'normsafe_init: 1 of 1 layer(s) broke fraction 0.5; ' \
            'changed: head' in proc.stderr
    else:
        assert 'normsafe_init' not in proc.stderr + proc.stdout
