"""The Keras callback in the situations users bring (issues 15 and 17), on
whichever Keras and backend this environment has: ``tf.keras`` is the Keras
the adapter picks, a model built only by its first training step, bfloat16
variables, trained weights loaded into a new model, a new head on a
pretrained body."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_helpers import (backend, compat, keras3, require_keras, set_seed,
                           to_numpy)

keras = require_keras()

from normsafe_init.keras import NormSafeInit, audit  # noqa: E402
from normsafe_init.norms import vector_norms  # noqa: E402

L = keras.layers
C = keras.constraints
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning',
    'ignore:non-integer arguments to randrange:DeprecationWarning')



def norms(variable, axes=(0,)):
    return vector_norms(to_numpy(variable).astype(np.float64), axes)


def test_tf_keras_is_the_keras_the_adapter_uses():
    tf = pytest.importorskip('tensorflow') if backend() == 'tensorflow' \
        else None
    c = compat()
    if tf is None:
        pytest.skip('Keras 3 on %s: no tf.keras here' % backend())
    if c.legacy_requested() or not c.KERAS3:
        # Keras 2: TensorFlow 2.15's keras, or tf_keras: what tf.keras is.
        assert tf.keras.layers.Dense is keras.layers.Dense
        assert tf.keras.callbacks.Callback is keras.callbacks.Callback
        assert issubclass(NormSafeInit, tf.keras.callbacks.Callback)
    assert c.legacy_requested({'TF_USE_LEGACY_KERAS': '1'})
    assert c.legacy_requested({'TF_USE_LEGACY_KERAS': 'true'})
    assert not c.legacy_requested({'TF_USE_LEGACY_KERAS': '0'})
    assert not c.legacy_requested({})


def lazy_model():
    """A Sequential without an Input: built by its first call on data."""
    set_seed(0)
    model = keras.Sequential([L.Dense(
        4, kernel_constraint=C.max_norm(0.25), name='head')])
    model.compile(keras.optimizers.SGD(0.01), 'mse')
    return model


def builds_before_train_begin():
    # Measured: Keras 3's torch and jax backends build the model from the
    # first batch's shape before on_train_begin; Keras 2 and Keras 3's
    # tensorflow backend build it inside the first training step.
    return keras3() and backend() in ('torch', 'jax')


def test_model_built_by_its_first_step_is_repaired_or_refused():
    model = lazy_model()
    x = np.random.RandomState(0).randn(8, 64).astype('float32')
    y = np.zeros((8, 4), 'float32')
    cb = NormSafeInit(fraction=0.5)
    if builds_before_train_begin():
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
        assert cb.record['changed'] == ['head']
        assert norms(model.layers[0].kernel).max() <= 0.125 * (1 + 1e-5)
        return
    with pytest.raises(ValueError) as info:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    text = str(info.value)
    assert 'has no variables yet' in text
    assert 'keras.Input' in text and 'model.build' in text
    # Once built as the message says, the same callback repairs it.
    model = lazy_model()
    model.build((None, 64))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert cb.record['changed'] == ['head']


def test_unbuilt_model_with_action_report_only_warns():
    if builds_before_train_begin():
        pytest.skip('this backend builds the model before on_train_begin')
    model = lazy_model()
    cb = NormSafeInit(action='report')
    x = np.zeros((8, 64), 'float32')
    with pytest.warns(UserWarning, match='has no variables yet'):
        model.fit(x, np.zeros((8, 4)), epochs=1, verbose=0, callbacks=[cb])
    assert cb.record is None


BFLOAT16_SCRIPT = r'''
import json, os, sys
sys.path.insert(0, %r)
from normsafe_init.keras._compat import keras
from normsafe_init.keras import NormSafeInit, audit
if sys.argv[1] == 'set_floatx':   # first thing, as a user script does
    keras.backend.set_floatx('bfloat16')
    extra = {}
else:
    extra = {'dtype': 'bfloat16'}
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
    4, kernel_constraint=keras.constraints.max_norm(0.25), name='head',
    **extra)])
kernel = model.layers[0].kernel
out = {'dtype_before': str(getattr(kernel.dtype, 'name', kernel.dtype)),
       'breaking_before': audit(model).breaking}
cb = NormSafeInit(fraction=0.5, action='rescale')
cb.set_model(model)
cb.on_train_begin()
logs = {}
cb.on_epoch_end(0, logs)
out.update(changed=cb.record['changed'], logs=logs,
           dtype_after=str(getattr(kernel.dtype, 'name', kernel.dtype)),
           breaking_after=audit(model).breaking)
print('RESULT ' + json.dumps(out))
'''


@pytest.mark.parametrize('how', ['layer dtype', 'set_floatx'])
def test_bfloat16_kernels_are_measured_and_repaired(how):
    # A fresh interpreter: set_floatx acts only before Keras fixes its
    # global dtype policy (the first layer made), as in a user's script.
    if how == 'set_floatx' and not keras3():
        pytest.skip("Keras 2's set_floatx accepts only float16/32/64")
    proc = subprocess.run([sys.executable, '-c', BFLOAT16_SCRIPT % REPO, how],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith('RESULT')]
    out = json.loads(line[len('RESULT '):])
    assert out['dtype_before'] == out['dtype_after'] == 'bfloat16'
    assert out['breaking_before'] == ['head']
    assert out['changed'] == ['head']
    # Aimed under t by bfloat16's rounding margin: at or under t once
    # stored, and a second look finds nothing to do.
    assert out['logs']['normsafe_head_max_over_limit'] <= 0.5
    assert out['breaking_after'] == []


def trained_model(seed=0):
    """An EEGNet-like head trained long enough to sit on its limit."""
    set_seed(seed)
    model = keras.Sequential([
        keras.Input((64,)),
        L.Dense(32, kernel_constraint=C.max_norm(1.0), name='body'),
        L.Dense(4, kernel_constraint=C.max_norm(0.25), name='head')])
    model.compile(keras.optimizers.SGD(0.5), 'mse')
    rng = np.random.RandomState(seed)
    model.fit(rng.randn(64, 64).astype('float32'),
              rng.randn(64, 4).astype('float32'), epochs=10, verbose=0)
    return model


def fresh_copy_of(model):
    """The same architecture, compiled with a new optimizer (iterations 0),
    as user code re-creates a model before ``load_weights``."""
    clone = keras.models.clone_model(model)
    clone.compile(keras.optimizers.SGD(0.05), 'mse')
    return clone


def test_load_weights_of_a_trained_model_changes_nothing(tmp_path):
    model = trained_model()
    assert np.allclose(norms(model.get_layer('head').kernel), 0.25,
                       rtol=1e-4)   # pinned by training
    path = str(tmp_path / ('w.weights.h5' if keras3() else 'w.h5'))
    model.save_weights(path)
    new = fresh_copy_of(model)
    new.load_weights(path)
    before = [to_numpy(v) for v in new.trainable_variables]
    cb = NormSafeInit(fraction=0.5)
    cb.set_model(new)
    cb.on_train_begin()
    assert cb.record['changed'] == []
    after = [to_numpy(v) for v in new.trainable_variables]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(after, before))


def test_load_model_without_compile_then_compile_changes_nothing(tmp_path):
    model = trained_model()
    path = str(tmp_path / 'm.keras')
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    loaded.compile(keras.optimizers.SGD(0.05), 'mse')
    head = to_numpy(loaded.get_layer('head').kernel)
    cb = NormSafeInit(fraction=0.5)
    cb.set_model(loaded)
    cb.on_train_begin()
    assert cb.record['changed'] == []
    assert to_numpy(loaded.get_layer('head').kernel).tobytes() == \
        head.tobytes()


def test_new_head_on_a_pretrained_body_repairs_only_the_head():
    pretrained = trained_model()
    body = pretrained.get_layer('body')
    body_value = to_numpy(body.kernel)
    set_seed(5)
    model = keras.Sequential([
        keras.Input((64,)), body,
        L.Dense(3, kernel_constraint=C.max_norm(0.25), name='new_head')])
    model.compile(keras.optimizers.SGD(0.05), 'mse')
    cb = NormSafeInit(fraction=0.5)
    cb.set_model(model)
    cb.on_train_begin()
    assert cb.record['changed'] == ['new_head']
    assert to_numpy(body.kernel).tobytes() == body_value.tobytes()
    assert norms(model.get_layer('new_head').kernel).max() <= \
        0.125 * (1 + 1e-5)


def test_loaded_model_with_its_optimizer_is_judged_trained(tmp_path):
    # The host's own signal (optimizer.iterations), on every Keras.
    model = trained_model()
    path = str(tmp_path / 'm.keras')
    model.save(path)
    loaded = keras.models.load_model(path)
    head = to_numpy(loaded.get_layer('head').kernel)
    cb = NormSafeInit(fraction=0.5)
    cb.set_model(loaded)
    cb.on_train_begin()
    assert cb.record['trained'].startswith('optimizer.iterations = ')
    assert cb.record['changed'] == []
    assert to_numpy(loaded.get_layer('head').kernel).tobytes() == \
        head.tobytes()


def test_a_fresh_tf_keras_eegnet_head_is_repaired_in_fit():
    # The shape of the ARL EEGModels head: Dense(nb_classes,
    # kernel_constraint=max_norm(0.25)) on flattened features.
    set_seed(1)
    inp = keras.Input((8, 32, 1))
    x = L.Conv2D(4, (1, 8), padding='same', use_bias=False)(inp)
    x = L.DepthwiseConv2D((8, 1), use_bias=False, depth_multiplier=2,
                          depthwise_constraint=C.max_norm(1.0),
                          name='spatial')(x)
    x = L.AveragePooling2D((1, 4))(x)
    x = L.Flatten()(x)
    out = L.Dense(4, kernel_constraint=C.max_norm(0.25), name='dense')(x)
    model = keras.Model(inp, L.Activation('softmax')(out))
    model.compile('adam', 'sparse_categorical_crossentropy')
    rng = np.random.RandomState(0)
    cb = NormSafeInit(fraction=0.5)
    history = model.fit(rng.randn(16, 8, 32, 1).astype('float32'),
                        rng.randint(0, 4, 16), epochs=2, verbose=0,
                        callbacks=[cb])
    assert 'dense' in cb.record['changed']
    assert history.history['normsafe_dense_max_over_limit'][0] < 1



def test_keras2_legacy_optimizer_counts_steps_too():
    # TF 2.11-2.15 code often keeps tf.keras.optimizers.legacy.*.
    if keras3():
        pytest.skip('Keras 3 has no legacy optimizers')
    set_seed(0)
    model = keras.Sequential([keras.Input((64,)), L.Dense(
        4, kernel_constraint=C.max_norm(0.25), name='head')])
    model.compile(keras.optimizers.legacy.SGD(0.01), 'mse')
    x = np.random.RandomState(0).randn(8, 64).astype('float32')
    y = np.zeros((8, 4), 'float32')
    cb = NormSafeInit(fraction=0.5)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[cb])
    assert cb.record['changed'] == ['head'] and cb.record['trained'] is None
    again = NormSafeInit(fraction=0.5)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[again])
    assert again.record['trained'] == 'optimizer.iterations = 2'
    assert again.record['changed'] == []
