"""Adapter tests of :mod:`normsafe_init.pylearn2.layers` against REAL pylearn2 layers.

The MLPs are built in Python (``pylearn2.models.mlp.MLP(layers=..., nvis=...)``
or ``input_space=...``), which draws the initial weights with numpy only: no
Theano function is compiled here, so the module runs in seconds.

Skipped as a whole where pylearn2 is not importable (see
``pylearn2_helpers.require_pylearn2``).
"""
from __future__ import absolute_import, division, print_function

import json

import numpy as np
import pytest

from pylearn2_helpers import (MAXOUT_NEEDS_PY2, NEEDS_CUDA, PY2, norms_of,
                              pylearn2_flavour, require_pylearn2)

require_pylearn2()

from pylearn2.models import mlp  # noqa: E402
from pylearn2.space import Conv2DSpace  # noqa: E402

from normsafe_init.plan import analyze  # noqa: E402
from normsafe_init.distributions import (Gaussian, Sparse, Uniform,  # noqa
                                         Zero)
from normsafe_init.pylearn2.layers import find_constrained, walk_layers  # noqa: E402


def by_name(weights):
    return dict((w.name, w) for w in weights)


def constraint_tuples(weight):
    return [(c.attr, c.kind, c.axes, c.limit) for c in weight.constraints]


def transformer_W(layer):
    params = layer.transformer.get_params()
    assert len(params) == 1
    return params[0]


# -- dense layers ------------------------------------------------------------
DENSE = [mlp.Linear, mlp.RectifiedLinear, mlp.Tanh, mlp.Sigmoid]
DENSE_CONSTRAINTS = [('max_col_norm', 'col', (0,)),
                     ('max_row_norm', 'row', (1,))]


@pytest.mark.parametrize('cls', DENSE, ids=lambda c: c.__name__)
@pytest.mark.parametrize('attr,kind,axes', DENSE_CONSTRAINTS,
                         ids=['col', 'row'])
def test_dense_layer(cls, attr, kind, axes):
    layer = cls(dim=7, layer_name='h', irange=0.1, **{attr: 1.25})
    model = mlp.MLP(layers=[layer], nvis=5)
    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == [] and unconstrained == []
    (w,) = weights
    assert (w.name, w.path, w.class_name) == ('h', 'h', cls.__name__)
    assert w.layer is layer
    # W is the transformer's single parameter, (input_dim, dim).
    assert w.variable is transformer_W(layer)
    assert w.variable.name == 'h_W'
    assert w.shape == (5, 7)
    assert w.dtype == w.variable.get_value().dtype
    assert constraint_tuples(w) == [(attr, kind, axes, 1.25)]
    assert w.min_col_norm is None and w.mask is None
    assert w.family == Uniform(0.1)
    expected_fan_in = (5, 7) if kind == 'col' else (7, 5)
    assert w.fan_in(w.constraints[0]) == expected_fan_in
    value = w.variable.get_value()
    part = analyze(w, value, 0.5).parts[0]
    assert np.allclose(part.norms, norms_of(value, axes), rtol=1e-6)
    json.dumps(w.as_dict())


def test_min_col_norm_is_reported_not_a_constraint():
    with_max = mlp.Linear(dim=4, layer_name='a', irange=0.1,
                          min_col_norm=0.2, max_col_norm=1.0)
    min_only = mlp.RectifiedLinear(dim=3, layer_name='b', irange=0.1,
                                   min_col_norm=0.3)
    model = mlp.MLP(layers=[with_max, min_only], nvis=6)
    weights, unknown, unconstrained = find_constrained(model)
    (w,) = weights
    assert w.name == 'a' and w.min_col_norm == 0.2
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.0)]
    assert w.as_dict()['min_col_norm'] == 0.2
    # min_col_norm alone is no max-norm constraint: listed, not acted on.
    assert unknown == []
    assert [(p, l) for p, l in unconstrained] == [('b', min_only)]


# -- Softmax, SoftmaxPool ------------------------------------------------------
def test_softmax_col_and_row():
    y = mlp.Softmax(n_classes=4, layer_name='y', irange=0.1,
                    max_col_norm=1.5, max_row_norm=2.5)
    model = mlp.MLP(layers=[mlp.Linear(dim=6, layer_name='h', irange=0.1),
                            y], nvis=5)
    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == []
    assert [p for p, _ in unconstrained] == ['h']
    (w,) = weights
    assert (w.name, w.class_name) == ('y', 'Softmax')
    assert w.variable is y.W                    # not a transformer
    assert w.variable.name == 'softmax_W'
    assert w.shape == (6, 4)
    # Column first, as pylearn2 applies it.
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.5),
                                    ('max_row_norm', 'row', (1,), 2.5)]
    assert w.fan_in(w.constraints[0]) == (6, 4)
    assert w.fan_in(w.constraints[1]) == (4, 6)


def test_softmax_no_affine_is_unknown_not_a_crash():
    y = mlp.Softmax(n_classes=3, layer_name='y', no_affine=True,
                    max_col_norm=2.0)
    h = mlp.Linear(dim=3, layer_name='h', irange=0.1, max_col_norm=1.0)
    model = mlp.MLP(layers=[h, y], nvis=4)
    weights, unknown, unconstrained = find_constrained(model)
    assert [w.name for w in weights] == ['h']
    (u,) = unknown
    assert (u.name, u.path, u.class_name) == ('y', 'y', 'Softmax')
    assert u.layer is y
    assert u.attrs == {'max_col_norm': 2.0}
    assert 'no weight found' in u.reason and 'no_affine' in u.reason
    assert unconstrained == []
    json.dumps(u.as_dict())


def test_softmax_pool():
    # SoftmaxPool computes its output dim with '/', a float under Python 3:
    # it must be the last layer there.
    sp = mlp.SoftmaxPool(detector_layer_dim=6, pool_size=2, layer_name='sp',
                         irange=0.2, include_prob=0.5, max_col_norm=1.0)
    model = mlp.MLP(layers=[mlp.Linear(dim=4, layer_name='h', irange=0.1),
                            sp], nvis=5)
    weights, unknown, _ = find_constrained(model)
    assert unknown == []
    (w,) = weights
    assert (w.name, w.class_name) == ('sp', 'SoftmaxPool')
    assert w.variable is transformer_W(sp)
    assert w.shape == (4, 6)     # (input_dim, detector_layer_dim)
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.0)]
    assert w.family == Uniform(0.2, include_prob=0.5)


def test_known_layer_with_a_constraint_it_does_not_use():
    sp = mlp.SoftmaxPool(detector_layer_dim=4, layer_name='sp', irange=0.1,
                         max_col_norm=1.0)
    model = mlp.MLP(layers=[sp], nvis=3)
    sp.max_row_norm = 2.0       # SoftmaxPool has no such option
    weights, unknown, _ = find_constrained(model)
    (w,) = weights
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.0)]
    (u,) = unknown
    assert u.name == 'sp' and u.attrs == {'max_row_norm': 2.0}
    assert u.reason == 'SoftmaxPool does not use max_row_norm'


# -- convolution -----------------------------------------------------------------
def test_conv_layers_bc01():
    h0 = mlp.ConvRectifiedLinear(layer_name='h0', output_channels=4,
                                 kernel_shape=[3, 3], pool_shape=[2, 2],
                                 pool_stride=[2, 2], irange=0.3,
                                 include_prob=0.5,    # ignored by conv
                                 max_kernel_norm=0.9)
    h1 = mlp.ConvElemwise(layer_name='h1', output_channels=5,
                          kernel_shape=[2, 2],
                          nonlinearity=mlp.TanhConvNonlinearity(),
                          irange=0.2, max_kernel_norm=0.7)
    space = Conv2DSpace(shape=[9, 9], num_channels=2,
                        axes=('b', 0, 1, 'c'))     # not bc01: W still is
    model = mlp.MLP(layers=[h0, h1], input_space=space)
    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == [] and unconstrained == []
    w0, w1 = weights
    assert [(w.name, w.class_name) for w in weights] == [
        ('h0', 'ConvRectifiedLinear'), ('h1', 'ConvElemwise')]
    assert w0.variable is h0.transformer._filters
    assert w1.variable is h1.transformer._filters
    # (output_channels, input_channels, rows, cols)
    assert w0.shape == (4, 2, 3, 3)
    assert w1.shape == (5, 4, 2, 2)
    assert constraint_tuples(w0) == [
        ('max_kernel_norm', 'kernel', (1, 2, 3), 0.9)]
    assert constraint_tuples(w1) == [
        ('max_kernel_norm', 'kernel', (1, 2, 3), 0.7)]
    assert w0.fan_in(w0.constraints[0]) == (18, 4)
    assert w1.fan_in(w1.constraints[0]) == (16, 5)
    # include_prob is ignored by pylearn2's conv init: not read back.
    assert w0.family == Uniform(0.3, include_prob=1.0)
    for w in weights:
        value = w.variable.get_value()
        part = analyze(w, value, 0.5).parts[0]
        assert part.norms.shape == (value.shape[0],)
        assert np.allclose(part.norms, norms_of(value, (1, 2, 3)), rtol=1e-6)


# -- containers ------------------------------------------------------------------
def test_nested_mlp_composite_and_flattener():
    i1 = mlp.RectifiedLinear(dim=6, layer_name='i1', irange=0.1,
                             max_col_norm=1.0)
    i2 = mlp.Linear(dim=5, layer_name='i2', irange=0.1)
    inner = mlp.MLP(layer_name='inner', layers=[i1, i2])
    c1 = mlp.Linear(dim=3, layer_name='c1', irange=0.1, max_row_norm=1.0)
    c2 = mlp.Tanh(dim=2, layer_name='c2', istdev=0.1, max_col_norm=2.0)
    comp = mlp.CompositeLayer(layer_name='c', layers=[c1, c2])
    flat_c = mlp.FlattenerLayer(raw_layer=comp)
    y1 = mlp.Softmax(n_classes=3, layer_name='y_1', irange=0.1,
                     max_col_norm=1.0)
    y2 = mlp.Softmax(n_classes=2, layer_name='y_2', irange=0.1,
                     max_col_norm=1.5)
    out = mlp.CompositeLayer(layer_name='y', layers=[y1, y2])
    flat_y = mlp.FlattenerLayer(raw_layer=out)
    model = mlp.MLP(layers=[inner, flat_c, flat_y], nvis=10)

    walked = list(walk_layers(model))
    # A FlattenerLayer shares its raw layer's name: the path is not repeated.
    assert [p for p, _ in walked] == [
        'inner', 'inner/i1', 'inner/i2', 'c', 'c', 'c/c1', 'c/c2',
        'y', 'y', 'y/y_1', 'y/y_2']
    assert [l for _, l in walked] == [inner, i1, i2, flat_c, comp, c1, c2,
                                      flat_y, out, y1, y2]

    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == []
    assert [(w.path, w.name) for w in weights] == [
        ('inner/i1', 'i1'), ('c/c1', 'c1'), ('c/c2', 'c2'),
        ('y/y_1', 'y_1'), ('y/y_2', 'y_2')]
    assert [(p, l) for p, l in unconstrained] == [('inner/i2', i2)]
    got = by_name(weights)
    assert got['c1'].constraints[0].kind == 'row'
    assert got['c2'].family == Gaussian(0.1)
    # Both softmax weights are called 'softmax_W': keyed by layer name.
    assert got['y_1'].variable.name == got['y_2'].variable.name == 'softmax_W'
    assert got['y_1'].variable is y1.W and got['y_2'].variable is y2.W
    assert got['y_1'].shape == (5, 3) and got['y_2'].shape == (5, 2)
    assert got['i1'].shape == (10, 6)
    assert got['c1'].shape == got['c2'].shape[:1] + (3,) == (5, 3)


def test_composite_layer_alone():
    c1 = mlp.Linear(dim=3, layer_name='c1', irange=0.1, max_col_norm=1.0)
    c2 = mlp.Sigmoid(dim=2, layer_name='c2', irange=0.1, max_row_norm=1.0)
    model = mlp.MLP(layers=[mlp.CompositeLayer(layer_name='comp',
                                               layers=[c1, c2])], nvis=4)
    weights, unknown, unconstrained = find_constrained(model)
    assert [(w.path, w.name, w.shape) for w in weights] == [
        ('comp/c1', 'c1', (4, 3)), ('comp/c2', 'c2', (4, 2))]
    assert unknown == [] and unconstrained == []


# -- maxout ------------------------------------------------------------------------
def test_maxout_single_layer():
    """A Maxout as the LAST layer builds under Python 3 too."""
    from pylearn2.models.maxout import Maxout
    mx = Maxout(layer_name='mx', num_units=3, num_pieces=4, irange=0.2,
                include_prob=0.5, max_col_norm=1.0)
    model = mlp.MLP(layers=[mx], nvis=7)
    (w,), unknown, _ = find_constrained(model)
    assert unknown == []
    assert (w.name, w.class_name) == ('mx', 'Maxout')
    assert w.variable is transformer_W(mx)
    # One column per piece: (input_dim, num_units * num_pieces).
    assert w.shape == (7, 12)
    assert w.fan_in(w.constraints[0]) == (7, 12)
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.0)]
    assert w.family == Uniform(0.2, include_prob=0.5)


@pytest.mark.skipif(not PY2, reason=MAXOUT_NEEDS_PY2)
@pytest.mark.parametrize('attr,kind,axes', DENSE_CONSTRAINTS,
                         ids=['col', 'row'])
def test_maxout_stack(attr, kind, axes):
    from pylearn2.models.maxout import Maxout
    try:
        h1 = Maxout(layer_name='h1', num_units=4, num_pieces=2,
                    sparse_init=3, sparse_stdev=0.5, **{attr: 1.5})
    except NotImplementedError:
        assert pylearn2_flavour() == '2015'
        pytest.skip('this pylearn2 (early 2015) Maxout has no max_row_norm '
                    '(NotImplementedError)')
    h0 = Maxout(layer_name='h0', num_units=5, num_pieces=3, irange=0.1,
                max_col_norm=1.0)
    y = mlp.Softmax(n_classes=3, layer_name='y', irange=0.1)
    model = mlp.MLP(layers=[h0, h1, y], nvis=8)
    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == [] and [p for p, _ in unconstrained] == ['y']
    w0, w1 = weights
    assert w0.shape == (8, 15) and w1.shape == (5, 8)
    assert constraint_tuples(w1) == [(attr, kind, axes, 1.5)]
    assert w1.family == Sparse(3, 0.5)
    # pylearn2's sparse draw: exactly 3 non-zeros per column (per piece).
    value = w1.variable.get_value()
    assert ((value != 0).sum(axis=0) == 3).all()


def test_maxout_local_c01b():
    from pylearn2.models.maxout import MaxoutLocalC01B
    layer = MaxoutLocalC01B(layer_name='lc', num_channels=8, num_pieces=2,
                            kernel_shape=[3, 3], irange=0.1,
                            max_kernel_norm=1.0)
    space = Conv2DSpace(shape=[6, 6], num_channels=3,
                        axes=('c', 0, 1, 'b'))
    try:
        model = mlp.MLP(layers=[layer], input_space=space)
    except Exception as exc:  # pragma: no cover - depends on the install
        pytest.skip('MaxoutLocalC01B could not be built on this machine: '
                    '%s: %s' % (type(exc).__name__, exc))
    (w,), unknown, _ = find_constrained(model)
    assert unknown == []
    assert (w.name, w.class_name) == ('lc', 'MaxoutLocalC01B')
    assert w.variable.name == 'W'      # not unique: keyed by layer_name
    # (row_pos, col_pos, colors_per_group, rows, cols, groups, filters)
    assert w.shape == (4, 4, 3, 3, 3, 1, 16)
    assert constraint_tuples(w) == [
        ('max_kernel_norm', 'kernel', (2, 3, 4), 1.0)]
    assert w.fan_in(w.constraints[0]) == (27, 4 * 4 * 1 * 16)
    value = w.variable.get_value()
    part = analyze(w, value, 0.5).parts[0]
    assert part.norms.shape == (4, 4, 1, 16)
    assert np.allclose(part.norms.ravel(), norms_of(value, (2, 3, 4)),
                       rtol=1e-6)


def test_maxout_conv_c01b():
    from pylearn2.models.maxout import MaxoutConvC01B
    try:
        layer = MaxoutConvC01B(layer_name='cc', num_channels=16,
                               num_pieces=2, kernel_shape=[3, 3],
                               pool_shape=[2, 2], pool_stride=[2, 2],
                               irange=0.1, max_kernel_norm=1.0)
        model = mlp.MLP(layers=[layer], input_space=Conv2DSpace(
            shape=[8, 8], num_channels=3, axes=('c', 0, 1, 'b')))
    except RuntimeError as exc:
        if 'GPU' not in str(exc):
            raise
        pytest.skip(NEEDS_CUDA % exc)
    (w,), _, _ = find_constrained(model)  # pragma: no cover - needs a GPU
    assert constraint_tuples(w) == [
        ('max_kernel_norm', 'kernel', (0, 1, 2), 1.0)]


# -- mask_weights ---------------------------------------------------------------------
def test_mask_weights():
    mask = np.ones((10, 4))
    mask[:3, 0] = 0          # column 0: 7 live entries
    mask[:, 1] = 0           # column 1: fully masked (always zero)
    mask[5:, 2] = 0          # column 2: 5 live entries
    layer = mlp.Linear(dim=4, layer_name='a', irange=0.3, mask_weights=mask,
                       max_col_norm=1.0)
    model = mlp.MLP(layers=[layer], nvis=10)
    (w,), _, _ = find_constrained(model)
    assert np.array_equal(w.mask, mask)
    n, m = w.fan_in(w.constraints[0])
    assert m is None
    # Per-vector fan-ins; the always-zero column is left out.
    assert list(n) == [7, 5, 10]
    value = w.variable.get_value()
    # pylearn2 does not mask the initial irange draw ...
    assert (value[:, 1] != 0).all()
    # ... but it constrains W * mask (the mask is applied first).
    part = analyze(w, value, 0.5).parts[0]
    assert np.allclose(part.norms, norms_of(value, (0,), mask), rtol=1e-6)
    assert part.norms[1] == 0
    assert not np.allclose(part.norms, norms_of(value, (0,)))


def test_mask_weights_rows_and_sparse():
    mask = np.ones((6, 5))
    mask[0, :2] = 0
    layer = mlp.Tanh(dim=5, layer_name='t', sparse_init=3, mask_weights=mask,
                     max_row_norm=2.0)
    model = mlp.MLP(layers=[layer], nvis=6)
    (w,), _, _ = find_constrained(model)
    value = w.variable.get_value()
    # pylearn2's sparse draw never picks a masked entry ...
    assert (value[mask == 0] == 0).all()
    assert ((value != 0).sum(axis=0) == 3).all()
    # ... and a sparse init's law does not depend on the mask.
    assert w.fan_in(w.constraints[0]) == (5, 6)
    part = analyze(w, value, 0.5).parts[0]
    assert np.allclose(part.norms, norms_of(value, (1,), mask), rtol=1e-6)


# -- declared init read back ------------------------------------------------------------
def _single(layer, nvis=6):
    model = mlp.MLP(layers=[layer], nvis=nvis)
    (w,), _, _ = find_constrained(model)
    return w


@pytest.mark.parametrize('make,family', [
    (lambda: mlp.Linear(dim=4, layer_name='l', irange=0.2, include_prob=0.5,
                        max_col_norm=1.0),
     Uniform(0.2, include_prob=0.5)),
    (lambda: mlp.RectifiedLinear(dim=4, layer_name='l', istdev=0.3,
                                 max_col_norm=1.0),
     Gaussian(0.3)),
    (lambda: mlp.Tanh(dim=4, layer_name='l', sparse_init=3, sparse_stdev=0.5,
                      max_row_norm=1.0),
     Sparse(3, 0.5)),
    (lambda: mlp.Sigmoid(dim=4, layer_name='l', irange=0.0,
                         max_col_norm=1.0),
     Zero()),
    (lambda: mlp.Softmax(n_classes=4, layer_name='l', sparse_init=2,
                         max_col_norm=1.0),
     Sparse(2, 1.0)),
    (lambda: mlp.Softmax(n_classes=4, layer_name='l', istdev=0.4,
                         max_row_norm=1.0),
     Gaussian(0.4)),
    (lambda: mlp.Softmax(n_classes=4, layer_name='l', irange=0.1,
                         max_col_norm=1.0),
     Uniform(0.1)),
    (lambda: mlp.SoftmaxPool(detector_layer_dim=4, layer_name='l',
                             sparse_init=2, sparse_stdev=0.25,
                             max_col_norm=1.0),
     Sparse(2, 0.25)),
], ids=['irange+include_prob', 'istdev', 'sparse+stdev', 'irange0',
        'softmax-sparse', 'softmax-istdev', 'softmax-irange',
        'softmaxpool-sparse'])
def test_declared_init(make, family):
    w = _single(make())
    assert w.family == family
    assert w.family_note is None
    assert w.as_dict()['init'] == family.to_dict()


def test_declared_sparse_init_matches_pylearn2_draw():
    """Softmax's sparse init has no stdev: exactly k N(0, 1) entries per
    column (chi_k norms); Linear's is scaled by sparse_stdev."""
    softmax = _single(mlp.Softmax(n_classes=400, layer_name='y',
                                  sparse_init=4, max_col_norm=1.0), nvis=30)
    linear = _single(mlp.Linear(dim=400, layer_name='l', sparse_init=4,
                                sparse_stdev=0.25, max_col_norm=1.0),
                     nvis=30)
    for w, scale in ((softmax, 1.0), (linear, 0.25)):
        value = w.variable.get_value()
        assert ((value != 0).sum(axis=0) == 4).all()
        norms = norms_of(value, (0,))
        expected = w.family.mean_norm(30)
        assert abs(expected - scale * 1.8800) < 1e-3   # E chi_4 = 1.8800
        assert abs(norms.mean() / expected - 1) < 0.05


def test_declared_dense_init_matches_pylearn2_draw():
    gauss = _single(mlp.RectifiedLinear(dim=300, layer_name='g', istdev=0.1,
                                        max_col_norm=1.0), nvis=50)
    unif = _single(mlp.Linear(dim=300, layer_name='u', irange=0.2,
                              include_prob=0.5, max_col_norm=1.0), nvis=50)
    for w in (gauss, unif):
        norms = norms_of(w.variable.get_value(), (0,))
        assert abs(norms.mean() / w.family.mean_norm(50) - 1) < 0.05


# -- subclasses and foreign objects ------------------------------------------------------
class MyRectifier(mlp.RectifiedLinear):
    """A user's subclass, defined outside pylearn2."""


class MyGenericLayer(mlp.Layer):
    """A user's layer derived from pylearn2's generic Layer only."""

    def __init__(self, layer_name):
        super(MyGenericLayer, self).__init__()
        self.layer_name = layer_name
        self.max_kernel_norm = 2.0

    def set_input_space(self, space):
        self.input_space = space
        self.output_space = space

    def get_params(self):
        return []


class Alien(object):
    """Not a pylearn2 object at all, with a max_col_norm attribute."""
    layer_name = 'alien'
    max_col_norm = 1.0


def test_user_subclass_is_recognised():
    layer = MyRectifier(dim=4, layer_name='mine', istdev=0.2,
                        max_col_norm=1.0)
    w = _single(layer)
    assert (w.name, w.class_name) == ('mine', 'MyRectifier')
    assert w.variable is transformer_W(layer)
    assert constraint_tuples(w) == [('max_col_norm', 'col', (0,), 1.0)]
    assert w.family == Gaussian(0.2)


def test_foreign_objects_are_unknown_not_a_crash():
    generic = MyGenericLayer('gen')
    linear = mlp.Linear(dim=3, layer_name='l', irange=0.1, max_col_norm=1.0)
    model = mlp.MLP(layers=[generic, linear], nvis=4)
    model.layers.append(Alien())    # MLP itself accepts only Layer objects
    weights, unknown, unconstrained = find_constrained(model)
    assert [w.name for w in weights] == ['l']
    assert [(u.name, u.class_name, u.attrs) for u in unknown] == [
        ('gen', 'MyGenericLayer', {'max_kernel_norm': 2.0}),
        ('alien', 'Alien', {'max_col_norm': 1.0})]
    for u in unknown:
        assert u.reason == ('class %s is not a pylearn2 layer normsafe_init '
                            'knows' % u.class_name)
        json.dumps(u.as_dict())
    assert unconstrained == []
