"""The one table of pylearn2 layer knowledge (:mod:`normsafe_init.pylearn2.layers`),
read by the extension and by ``check`` alike: the table itself (no pylearn2
needed: classes are recognised by name and module), then the DBM hidden
layers with ``max_col_norm`` and ``SoftmaxRegression`` against REAL pylearn2
objects (built in Python, no Theano function compiled).
"""
from __future__ import absolute_import, division, print_function

import sys
import warnings

import numpy as np
import pytest

from normsafe_init.distributions import Sparse, Uniform, Zero
from normsafe_init.pylearn2 import layers as table
from normsafe_init.pylearn2.layers import (KNOWN, declared_family,
                                           find_constrained, natural_vectors,
                                           option_name, spec_of, walk_layers)
from pylearn2_helpers import norms_of


def fake(name, module, **attrs):
    """An instance of a class called ``name`` defined in ``module``."""
    cls = type(name, (object,), {'__module__': module})
    obj = cls()
    for key, value in attrs.items():
        setattr(obj, key, value)
    return obj


# -- the table (no pylearn2) --------------------------------------------------
def test_softmax_of_the_dbm_and_of_the_mlp_differ():
    dbm_softmax = spec_of(fake('Softmax', 'pylearn2.models.dbm.layer'))
    mlp_softmax = spec_of(fake('Softmax', 'pylearn2.models.mlp'))
    assert dbm_softmax is not mlp_softmax
    assert dbm_softmax.where == mlp_softmax.where == 'W'
    assert dbm_softmax.constraints == {'max_col_norm': ('col', (0,))}
    assert sorted(mlp_softmax.constraints) == ['max_col_norm', 'max_row_norm']
    assert option_name(dbm_softmax, 'sparse_stdev') == 'sparse_istdev'
    assert option_name(mlp_softmax, 'sparse_stdev') is None
    assert option_name(mlp_softmax, 'irange') == 'irange'


@pytest.mark.parametrize('name, module, where, axes, gpu', [
    ('BinaryVectorMaxPool', 'pylearn2.models.dbm.layer', 'transformer', (0,),
     None),
    ('IsingHidden', 'pylearn2.models.dbm.ising', 'transformer', (0,), None),
    ('BoltzmannIsingHidden', 'pylearn2.models.dbm.ising', 'W', (0,), None),
    ('SoftmaxPool', 'pylearn2.models.mlp', 'transformer', (0,), None),
    ('Linear', 'pylearn2.models.mlp', 'transformer', (0,), None),
    ('Maxout', 'pylearn2.models.maxout', 'transformer', (0,), None),
    ('ConvElemwise', 'pylearn2.models.mlp', 'transformer', (1, 2, 3), None),
    ('MaxoutConvC01B', 'pylearn2.models.maxout', 'transformer', (0, 1, 2),
     'always'),
    ('MaxoutLocalC01B', 'pylearn2.models.maxout', 'transformer', (2, 3, 4),
     'pooling'),
])
def test_table_entries(name, module, where, axes, gpu):
    spec = spec_of(fake(name, module))
    assert (spec.name, spec.where, spec.natural()[1], spec.gpu) == (
        name, where, axes, gpu)


def test_only_pylearn2_classes_and_their_subclasses():
    assert spec_of(fake('Linear', 'mylab.layers')) is None
    base = type('RectifiedLinear', (object,),
                {'__module__': 'pylearn2.models.mlp'})
    mine = type('Mine', (base,), {'__module__': 'mylab.layers'})()
    # RectifiedLinear is not in the table, Linear is: the MRO decides, and
    # this fake has no Linear in it.
    assert spec_of(mine) is None
    linear = type('Linear', (object,), {'__module__': 'pylearn2.models.mlp'})
    mine = type('Mine', (type('RectifiedLinear', (linear,), {
        '__module__': 'pylearn2.models.mlp'}),), {'__module__': 'x'})()
    assert spec_of(mine).name == 'Linear'


def test_every_entry_is_reachable():
    for spec in KNOWN:
        assert spec_of(fake(spec.name, spec.module + 'x')) is spec or \
            spec.module == 'pylearn2.'
        assert set(spec.constraints) <= set(table.CONSTRAINT_ATTRS)


def test_declared_family_follows_the_table():
    ising = fake('IsingHidden', 'pylearn2.models.dbm.ising', sparse_init=3,
                 sparse_stdev=1.0)
    family, note = declared_family(ising)
    assert family == Zero() and 'starts all zero' in note
    softmax = fake('Softmax', 'pylearn2.models.dbm.layer', sparse_init=3,
                   sparse_istdev=0.25, irange=None)
    assert declared_family(softmax) == (Sparse(3, 0.25), None)
    mlp_softmax = fake('Softmax', 'pylearn2.models.mlp', sparse_init=3,
                       istdev=None, irange=None)
    assert declared_family(mlp_softmax) == (Sparse(3, 1.0), None)
    conv = fake('ConvElemwise', 'pylearn2.models.mlp', irange=0.1,
                include_prob=0.5)       # ignored by pylearn2's conv init
    assert declared_family(conv) == (Uniform(0.1), None)
    bad = fake('Linear', 'pylearn2.models.mlp', istdev=float('nan'))
    family, note = declared_family(bad)
    assert family is None and note.startswith('declared init not readable')


def test_natural_vectors():
    assert natural_vectors(fake('ConvElemwise', 'pylearn2.models.mlp'),
                           4) == ('kernel', (1, 2, 3))
    assert natural_vectors(fake('Foreign', 'mylab'), 2) == ('col', (0,))
    assert natural_vectors(fake('Foreign', 'mylab'), 3) is None


def test_data_bias_arguments():
    assert set(table.DATA_BIAS_ARGS) == set([
        'init_bias_target_marginals', 'bias_from_marginals',
        'init_bias_vis_marginals'])


# -- real DBM layers ----------------------------------------------------------
try:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import theano  # noqa: F401
        from pylearn2.models import dbm
        from pylearn2.models.dbm import ising
        from pylearn2.utils import sharedX
    PYLEARN2_PROBLEM = None
except Exception as exc:  # ImportError, or Theano failing at import
    PYLEARN2_PROBLEM = '%s: %s' % (type(exc).__name__, exc)
needs_pylearn2 = pytest.mark.skipif(
    PYLEARN2_PROBLEM is not None,
    reason='pylearn2 is not importable here (%s)' % PYLEARN2_PROBLEM)


def build_dbm(hidden, visible=None):
    """A DBM over ``visible`` (12 binary units by default); under Python 3
    with Python 2's integer dimensions (pylearn2's BinaryVectorMaxPool
    divides with '/')."""
    from normsafe_init.pylearn2.standins import integer_dims
    visible = visible or dbm.BinaryVector(nvis=12)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with integer_dims([]):
            return dbm.DBM(batch_size=10, visible_layer=visible,
                           hidden_layers=hidden,
                           niter=2 if len(hidden) > 1 else 1)


def by_name(weights):
    return dict((w.name, w) for w in weights)


@needs_pylearn2
def test_binary_vector_max_pool_and_dbm_softmax():
    h0 = dbm.BinaryVectorMaxPool(detector_layer_dim=8, pool_size=2,
                                 layer_name='h0', irange=0.1,
                                 include_prob=0.5, max_col_norm=1.0)
    c = dbm.Softmax(n_classes=3, layer_name='c', sparse_init=2,
                    sparse_istdev=0.5, max_col_norm=2.0)
    model = build_dbm([h0, c])
    assert [p for p, _ in walk_layers(model)] == ['BinaryVector', 'h0', 'c']
    weights, unknown, unconstrained = find_constrained(model)
    assert unknown == []
    assert [p for p, _ in unconstrained] == ['BinaryVector']
    got = by_name(weights)
    (W,) = h0.transformer.get_params()
    assert got['h0'].variable is W and got['h0'].shape == (12, 8)
    assert got['c'].variable is c.W and got['c'].shape == (4, 3)
    for w in weights:
        assert [(k.attr, k.kind, k.axes) for k in w.constraints] == [
            ('max_col_norm', 'col', (0,))]
    assert got['h0'].family == Uniform(0.1, include_prob=0.5)
    assert got['c'].family == Sparse(2, 0.5)
    value = c.W.get_value()
    assert ((value != 0).sum(axis=0) == 2).all()
    assert got['c'].spec.sparse_scale == 'sparse_istdev'


@needs_pylearn2
@pytest.mark.skipif(sys.version_info[0] > 2, reason=(
    "pylearn2's BVMP_Gaussian cannot be built under Python 3: it passes "
    "locals() (which holds __class__ there) on to its base class"))
def test_bvmp_gaussian():
    vis = dbm.GaussianVisLayer(nvis=6)
    g = dbm.BVMP_Gaussian(input_layer=vis, detector_layer_dim=4, pool_size=1,
                          layer_name='g', irange=0.2, max_col_norm=1.5)
    model = build_dbm([g], visible=vis)
    (w,), unknown, _ = find_constrained(model)
    assert unknown == [] and w.class_name == 'BVMP_Gaussian'
    assert w.shape == (6, 4) and w.family == Uniform(0.2)
    assert np.allclose(norms_of(w.read(), (0,)), norms_of(
        g.transformer.get_params()[0].get_value(), (0,)))


def ising_layer(cls, max_col_norm, **kwargs):
    """An Ising hidden layer with ``max_col_norm``. The final pylearn2
    cannot construct one (its ``__init__`` appends a MaxL2FilterNorm to
    ``self.extensions`` before anything set it: AttributeError); the 2015
    one keeps the limit as an attribute, which is what is set here."""
    if table.spec_of(cls.__new__(cls)) is None:  # pragma: no cover
        raise AssertionError('%s is not in the table' % cls.__name__)
    try:
        return cls(max_col_norm=max_col_norm, **kwargs)
    except AttributeError as exc:
        assert 'extensions' in str(exc)
    layer = cls(**kwargs)
    layer.max_col_norm = max_col_norm
    return layer


@needs_pylearn2
def test_ising_hidden_layers():
    beta = sharedX(1.0)
    vis = ising.IsingVisible(nvis=5, beta=beta)
    h = ising_layer(ising.IsingHidden, 1.0, dim=4, layer_name='i', beta=beta,
                    irange=0.3)
    z = ising_layer(ising.IsingHidden, 1.0, dim=3, layer_name='z', beta=beta,
                    sparse_init=2)
    model = build_dbm([h, z], visible=vis)
    got = by_name(find_constrained(model)[0])
    assert got['i'].variable is h.transformer.get_params()[0]
    assert got['i'].shape == (5, 4) and got['i'].family == Uniform(0.3)
    # pylearn2's Ising sparse_init draws nothing: W starts all zero.
    assert not z.transformer.get_params()[0].get_value().any()
    assert got['z'].family == Zero() and 'all zero' in got['z'].family_note


@needs_pylearn2
def test_boltzmann_ising_hidden():
    beta = sharedX(1.0)
    # The final pylearn2 cannot put these layers in a DBM (its
    # finalize_initialization reads attributes set only with sampling
    # stdevs, then updates a W it does not own): the layer alone, with its
    # input space set as a DBM sets it.
    from pylearn2.space import VectorSpace
    vis = ising.BoltzmannIsingVisible(nvis=5, beta=beta)
    b = ising_layer(ising.BoltzmannIsingHidden, 1.0, dim=4, layer_name='b',
                    layer_below=vis, beta=beta, irange=0.3)
    b.dbm = type('FakeDBM', (object,), {})()
    b.dbm.rng = np.random.RandomState(0)
    b.set_input_space(VectorSpace(5))
    model = type('Holder', (object,), {'layers': [b]})()
    (w,), unknown, _ = find_constrained(model)
    assert unknown == [] and w.variable is b.W and w.shape == (5, 4)


@needs_pylearn2
def test_softmax_regression():
    from pylearn2.models.softmax_regression import SoftmaxRegression
    model = SoftmaxRegression(n_classes=3, nvis=5, irange=0.1,
                              max_col_norm=1.0, max_row_norm=2.0)
    (w,), unknown, _ = find_constrained(model)
    assert (w.name, w.class_name, w.shape) == ('y', 'Softmax', (5, 3))
    assert [k.kind for k in w.constraints] == ['col', 'row']


@needs_pylearn2
def test_the_extension_repairs_dbm_layers():
    from normsafe_init import NormSafeInit
    h0 = dbm.BinaryVectorMaxPool(detector_layer_dim=6, pool_size=1,
                                 layer_name='h0', sparse_init=4,
                                 max_col_norm=1.0)
    c = dbm.Softmax(n_classes=3, layer_name='c', irange=0.05,
                    max_col_norm=2.0)
    model = build_dbm([h0, c])
    before = norms_of(h0.transformer.get_params()[0].get_value(), (0,))
    assert before.max() > 0.5            # chi_4 norms, limit 1
    ext = NormSafeInit(fraction=0.5, action='rescale', channels=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ext.setup(model, None, None)
    after = norms_of(h0.transformer.get_params()[0].get_value(), (0,))
    assert after.max() <= 0.5 * (1 + 1e-6)
    assert np.allclose(after / before, after[0] / before[0])
    assert ext.record['changed'] == ['h0']
