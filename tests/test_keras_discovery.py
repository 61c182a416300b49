"""Finding max-norm-constrained variables in real Keras models
(normsafe_init.keras.discovery): layer kinds, the constraint's own axes,
names, nested models, constraints that are not max-norm."""

import numpy as np
import pytest

from keras_helpers import require_keras, storage, to_numpy

keras = require_keras()

from normsafe_init.keras import audit  # noqa: E402
from normsafe_init.keras.discovery import (constraint_of,  # noqa: E402
                                           find_constrained)
from normsafe_init.norms import vector_norms  # noqa: E402

L = keras.layers
C = keras.constraints
# Keras 2 calls random.randint with a float bound (Python 3.10+ warns).
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning',
    'ignore:non-integer arguments to randrange:DeprecationWarning')


def by_name(model):
    weights, unknown = find_constrained(model)
    return dict((w.name, w) for w in weights), \
        dict((u.name, u) for u in unknown)


def keras_norms(variable, axis):
    """The norms exactly as the Keras constraint computes them."""
    w = to_numpy(variable).astype(np.float64)
    return np.sqrt(np.sum(w ** 2, axis=tuple(axis)))


def test_each_layer_kind_with_its_axes():
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        L.Conv2D(8, 3, kernel_constraint=C.MaxNorm(0.3, axis=[0, 1, 2]),
                 name='conv'),
        L.DepthwiseConv2D(3, depth_multiplier=2, name='dw',
                          depthwise_constraint=C.MaxNorm(0.2, axis=[0, 1])),
        L.SeparableConv2D(4, 3, name='sep',
                          depthwise_constraint=C.MaxNorm(0.3, axis=[0, 1]),
                          pointwise_constraint=C.MaxNorm(0.5,
                                                         axis=[0, 1, 2])),
        L.Flatten(),
        L.Dense(4, kernel_constraint=C.max_norm(0.25), name='head'),
    ])
    weights, unknown = by_name(model)
    assert sorted(weights) == ['conv', 'dw', 'head', 'sep/depthwise_kernel',
                               'sep/pointwise_kernel']
    assert not unknown
    expect = {'conv': ((0, 1, 2), 0.3, 'kernel', (3, 3, 3, 8)),
              'dw': ((0, 1), 0.2, 'unit', (3, 3, 8, 2)),
              'sep/depthwise_kernel': ((0, 1), 0.3, 'unit', (3, 3, 16, 1)),
              'sep/pointwise_kernel': ((0, 1, 2), 0.5, 'kernel',
                                       (1, 1, 16, 4)),
              'head': ((0,), 0.25, 'col', (400, 4))}
    for name, (axes, limit, kind, shape) in expect.items():
        weight = weights[name]
        (c,) = weight.constraints
        assert (c.axes, c.limit, c.kind, weight.shape) == (axes, limit, kind,
                                                           shape)
        # The norms the core measures are the ones Keras would clip.
        np.testing.assert_allclose(
            vector_norms(weight.read(), c.axes).ravel(),
            keras_norms(weight.variable, list(axes)).ravel(), rtol=1e-6)
        # ... and the axes project exactly as Keras's own constraint does.
        value = weight.read().astype(np.float64)
        norms = np.sqrt(np.sum(value ** 2, axis=c.axes, keepdims=True))
        ours = value * np.clip(norms, 0, c.limit) / (1e-7 + norms)
        theirs = to_numpy(
            weight.variable.constraint(weight.variable))
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-7)
        assert norms.max() > c.limit   # the projection does something
    assert weights['sep/depthwise_kernel'].label == 'depthwise_kernel'
    assert weights['dw'].class_name == 'DepthwiseConv2D'
    assert weights['head'].path.endswith('head/kernel')


def test_conv1d_embedding_and_lstm():
    model = keras.Sequential([
        keras.Input((20,), dtype='int32'),
        L.Embedding(50, 8, embeddings_constraint=C.MaxNorm(0.5, axis=1),
                    name='emb'),
        L.Conv1D(6, 5, kernel_constraint=C.MaxNorm(1.0, axis=[0, 1]),
                 name='c1'),
        L.LSTM(3, kernel_constraint=C.MaxNorm(1.0),
               recurrent_constraint=C.MaxNorm(1.0), name='lstm'),
    ])
    weights, _ = by_name(model)
    # The cell's variables carry the RNN's name (the layer the user named).
    assert sorted(weights) == ['c1', 'emb', 'lstm/kernel',
                               'lstm/recurrent_kernel']
    assert weights['lstm/kernel'].class_name == 'LSTM'
    assert weights['lstm/kernel'].layer_name == 'lstm'
    emb = weights['emb']
    assert emb.constraints[0].axes == (1,) and emb.constraints[0].kind == 'row'
    assert emb.family.kind == 'uniform' and emb.family.scale == 0.05
    assert weights['c1'].constraints[0].axes == (0, 1)
    assert weights['c1'].family.kind == 'uniform'
    # The recurrent kernel is Orthogonal: no law, a reason.
    rec = weights['lstm/recurrent_kernel']
    assert rec.family is None and 'Orthogonal' in rec.family_note
    assert weights['lstm/kernel'].family.kind == 'uniform'


@pytest.mark.parametrize('axis, axes', [
    (-1, (2,)), ([-2, -3], (0, 1)), (None, (0, 1, 2)), ([2, 0], (0, 2)),
])
def test_negative_and_none_axes(axis, axes):
    c, notes = constraint_of(C.MaxNorm(1.0, axis=axis), 3)
    assert c.axes == axes and notes == []


def test_axis_none_is_one_norm_of_everything():
    model = keras.Sequential([keras.Input((10,)), L.Dense(
        3, kernel_constraint=C.MaxNorm(0.1, axis=None), name='d')])
    weights, _ = by_name(model)
    d = weights['d']
    assert d.constraints[0].kind == 'whole'
    assert d.fan_in(d.constraints[0]) == (30, 1)
    total = np.sqrt((d.read().astype(np.float64) ** 2).sum())
    report = audit(model, fraction=0.5).as_dict()
    (part,) = report['layers'][0]['constraints']
    assert part['before']['max'] == pytest.approx(total, rel=1e-6)


def test_minmaxnorm_limits_and_rate_note():
    c, notes = constraint_of(C.MinMaxNorm(0.2, 1.5, rate=0.5, axis=0), 2)
    assert (c.attr, c.limit, c.min_limit) == ('MinMaxNorm', 1.5, 0.2)
    assert len(notes) == 1 and 'rate=0.5' in notes[0]
    c, notes = constraint_of(C.MinMaxNorm(0.0, 2.0), 2)
    assert c.min_limit is None and notes == []


class Halve(C.MaxNorm):
    def __call__(self, w):
        return super().__call__(w) * 0.5


def test_other_constraints_are_unknown_and_left_alone():
    model = keras.Sequential([
        keras.Input((6,)),
        L.Dense(5, kernel_constraint=C.UnitNorm(), name='unit'),
        L.Dense(5, kernel_constraint=C.MaxNorm(1.0),
                bias_constraint=C.NonNeg(), name='mixed'),
        L.Dense(5, kernel_constraint=Halve(1.0), name='custom'),
        L.Dense(5, kernel_constraint=lambda w: w, name='func'),
    ])
    weights, unknown = by_name(model)
    assert sorted(weights) == ['mixed']   # a lone max-norm kernel keeps
    assert sorted(unknown) == ['custom', 'func', 'mixed/bias', 'unit']
    assert 'UnitNorm is not a max-norm constraint' in unknown['unit'].reason
    assert unknown['unit'].attrs == {'constraint': 'UnitNorm', 'axis': 0}
    assert 'Halve overrides __call__' in unknown['custom'].reason
    assert unknown['mixed/bias'].attrs['constraint'] == 'NonNeg'


def test_nested_models_and_shared_names():
    def block(name):
        return keras.Sequential([keras.Input((8,)), L.Dense(
            4, kernel_constraint=C.MaxNorm(1.0), name='dense')], name=name)
    inner1, inner2 = block('inner1'), block('inner2')
    x = keras.Input((8,))
    y = L.Concatenate()([inner1(x), inner2(x)])
    y = L.Dense(2, kernel_constraint=C.MaxNorm(1.0), name='top')(y)
    model = keras.Model(x, y)
    weights, _ = by_name(model)
    assert sorted(weights) == ['inner1/dense', 'inner2/dense', 'top']
    assert weights['inner1/dense'].variable is inner1.layers[0].kernel
    # The top model's (auto-numbered) name is in no name or path.
    assert weights['inner1/dense'].path == 'inner1/dense/kernel'
    assert weights['top'].path == 'top/kernel'
    assert weights['inner2/dense'].layer_name == 'inner2/dense'


def test_two_functional_blocks_with_a_dense_each_audit_and_fit():
    # issue 15: "several constrained weights are named dense" crashed both.
    from normsafe_init.keras import NormSafeInit

    def block(name):
        x = keras.Input((8,))
        y = L.Dense(8, kernel_constraint=C.MaxNorm(0.1), name='dense')(x)
        return keras.Model(x, y, name=name)
    x = keras.Input((8,))
    y = block('block2')(block('block1')(x))
    model = keras.Model(x, L.Dense(1, name='out')(y))
    model.compile('sgd', 'mse')
    report = audit(model, fraction=0.5)
    assert sorted(report.breaking) == ['block1/dense', 'block2/dense']
    cb = NormSafeInit(layers=['block2/dense'])
    history = model.fit(np.zeros((4, 8), 'float32'), np.zeros((4, 1)),
                        verbose=0, callbacks=[cb])
    assert cb.record['changed'] == ['block2/dense']
    assert 'normsafe_block2/dense_max_over_limit' in history.history


def test_two_lstms_are_named_after_their_layers_and_selectable():
    def model_of():
        return keras.Sequential([
            keras.Input((5, 4)),
            L.LSTM(3, return_sequences=True, name='lstm',
                   kernel_constraint=C.MaxNorm(0.1)),
            L.LSTM(3, kernel_constraint=C.MaxNorm(0.1),
                   recurrent_constraint=C.MaxNorm(0.1), name='lstm_b')])
    first, _ = by_name(model_of())
    second, _ = by_name(model_of())   # a second build in the same session
    assert sorted(first) == sorted(second) == [
        'lstm', 'lstm_b/kernel', 'lstm_b/recurrent_kernel']
    model = model_of()
    report = audit(model, layers=['lstm_b'])
    assert sorted(d['name'] for d in report.as_dict()['layers']) == [
        'lstm_b/kernel', 'lstm_b/recurrent_kernel']
    assert 'lstm' in audit(model, layers=['lstm']).breaking


@pytest.mark.parametrize('limit', [0.0, -1.0, float('nan'), float('inf')])
def test_maxnorm_without_a_usable_limit_is_named_and_left_alone(limit):
    from normsafe_init.keras import NormSafeInit
    model = keras.Sequential([keras.Input((6,)), L.Dense(
        3, kernel_constraint=C.MaxNorm(limit), name='odd'), L.Dense(
        2, kernel_constraint=C.MaxNorm(0.01), name='head')])
    weights, unknown = by_name(model)
    assert sorted(weights) == ['head'] and sorted(unknown) == ['odd']
    assert 'not a positive finite number' in unknown['odd'].reason
    assert 'left alone' in unknown['odd'].reason
    before = to_numpy(model.get_layer('odd').kernel)
    cb = NormSafeInit()
    cb.set_model(model)
    cb.on_train_begin()
    assert cb.record['changed'] == ['head']
    assert to_numpy(model.get_layer('odd').kernel).tobytes() == \
        before.tobytes()
    assert 'odd' in str(audit(model))


def test_minmaxnorm_with_bad_limits_is_unknown():
    c, reason = constraint_of(C.MinMaxNorm(0.5, 0.2), 2)
    assert c is None and 'min_value' in reason
    c, reason = constraint_of(C.MinMaxNorm(0.0, float('nan')), 2)
    assert c is None and 'not a positive finite number' in reason


def test_shared_layer_found_once_and_frozen_layers_skipped():
    shared = L.Dense(4, kernel_constraint=C.MaxNorm(1.0), name='shared')
    frozen = L.Dense(4, kernel_constraint=C.MaxNorm(1.0), name='frozen')
    x = keras.Input((4,))
    y = frozen(shared(shared(x)))
    model = keras.Model(x, y)
    frozen.trainable = False   # the optimizer never applies its constraint
    weights, _ = by_name(model)
    assert sorted(weights) == ['shared']


def test_unbuilt_model_has_nothing_and_audit_says_how_to_build_it():
    model = keras.Sequential([L.Dense(4, kernel_constraint=C.MaxNorm(1.0))])
    assert find_constrained(model) == ([], [])
    with pytest.raises(ValueError) as info:
        audit(model)
    text = str(info.value)
    assert 'has no variables yet' in text
    assert 'keras.Input' in text and 'model.build' in text
    model.build((None, 16))
    assert audit(model).as_dict()['layers'][0]['shape'] == [16, 4]


def test_read_is_a_private_copy_and_write_is_in_place():
    model = keras.Sequential([keras.Input((12,)), L.Dense(
        3, kernel_constraint=C.MaxNorm(1.0), name='d')])
    (w,), _ = find_constrained(model)
    value_obj = storage(w.variable)
    a = w.read()
    a[...] = 7.0
    assert not np.any(w.read() == 7.0)
    w.write(np.full((12, 3), 0.5))
    assert storage(w.variable) is value_obj
    assert w.variable is model.layers[0].kernel
    np.testing.assert_array_equal(to_numpy(
        model.layers[0].kernel), np.full((12, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match='shape'):
        w.write(np.zeros((3, 12)))


def test_float16_variable_keeps_its_dtype():
    layer = L.Dense(3, kernel_constraint=C.MaxNorm(1.0), dtype='float16',
                    name='h')
    model = keras.Sequential([keras.Input((40,)), layer])
    (w,), _ = find_constrained(model)
    assert w.dtype == np.float16
    w.write(w.read() * 0.5)
    assert w.keras_dtype == 'float16'
    assert to_numpy(layer.kernel).dtype == np.float16


def test_docstring_examples_run():
    import doctest
    import normsafe_init.keras as nk
    for module in (nk, nk.initializers, nk.discovery, nk.callback,
                   nk._compat):
        failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failures == 0, module.__name__
        assert tried > 0, module.__name__
