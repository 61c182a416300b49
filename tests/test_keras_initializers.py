"""Keras initializers -> the core's init families (normsafe_init.keras
.initializers), checked against real Keras: the mapped scale against Keras's
formulas, and the norms of many real Keras draws against the core's law of
the initial norm (Kolmogorov-Smirnov, mean, the law of the largest norm)."""
import math

import numpy as np
import pytest

from keras_helpers import keras3, require_keras, to_numpy

keras = require_keras()

from scipy import stats  # noqa: E402

from normsafe_init.keras.discovery import find_constrained  # noqa: E402
from normsafe_init.keras.initializers import (  # noqa: E402
    TRUNC_SD, compute_fans, family_of)
from normsafe_init.norms import vector_norms  # noqa: E402

ki = keras.initializers
# keras's torch backend calls np.array(tensor) (numpy 2 warns about it).
# Keras 2 calls random.randint with a float bound (Python 3.10+ warns).
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning',
    'ignore:non-integer arguments to randrange:DeprecationWarning')


# -- the mapping: family and scale from Keras's own formulas ---------------

@pytest.mark.parametrize('init, shape, kind, scale', [
    (ki.GlorotUniform(), (64, 4), 'uniform', math.sqrt(6.0 / 68)),
    (ki.HeUniform(), (64, 4), 'uniform', math.sqrt(6.0 / 64)),
    (ki.LecunUniform(), (3, 3, 8, 16), 'uniform', math.sqrt(3.0 / 72)),
    (ki.GlorotUniform(), (3, 3, 8, 16), 'uniform',
     math.sqrt(6.0 / (72 + 144))),
    (ki.VarianceScaling(2.0, 'fan_out', 'uniform'), (5, 7), 'uniform',
     math.sqrt(6.0 / 7)),
    (ki.VarianceScaling(1.5, 'fan_avg', 'untruncated_normal'), (10, 30),
     'gaussian', math.sqrt(1.5 / 20)),
    (ki.RandomUniform(-0.05, 0.05), (100, 8), 'uniform', 0.05),
    (ki.RandomNormal(0.0, 0.02), (100, 8), 'gaussian', 0.02),
    (ki.Zeros(), (4, 4), 'zero', 0.0),
    (ki.Constant(0.0), (4, 4), 'zero', 0.0),
    (ki.RandomUniform(0.0, 0.0), (4, 4), 'zero', 0.0),
])
def test_family_and_scale_follow_keras(init, shape, kind, scale):
    family, note = family_of(init, shape)
    assert note is None
    assert family.kind == kind
    assert family.scale == pytest.approx(scale, rel=1e-12)


def test_depthwise_fans_are_kerass():
    # DepthwiseConv2D kernel (kh, kw, in, mult): receptive field 9.
    assert compute_fans((3, 3, 8, 2)) == (72, 18)
    assert compute_fans((5, 16)) == (5, 16)
    assert compute_fans((7,)) == (7, 7)
    if keras3():
        from keras.src.initializers.random_initializers import \
            compute_fans as keras_fans
    else:   # Keras 2.15's keras.src, or tf_keras.src
        import importlib
        module = importlib.import_module(keras.__name__.split('.')[0] +
                                         '.src.initializers.initializers')
        keras_fans = module._compute_fans
    for shape in [(3, 3, 8, 2), (1, 22, 1, 16), (4, 5, 6)]:
        assert compute_fans(shape) == keras_fans(shape)


@pytest.mark.parametrize('init, shape, stddev', [
    (ki.GlorotNormal(), (64, 4), math.sqrt(2.0 / 68) / TRUNC_SD),
    (ki.HeNormal(), (3, 3, 8, 16), math.sqrt(2.0 / 72) / TRUNC_SD),
    (ki.LecunNormal(), (20, 5), math.sqrt(1.0 / 20) / TRUNC_SD),
    (ki.TruncatedNormal(0.0, 0.3), (20, 5), 0.3),
])
def test_truncated_normals_map_to_truncnormal(init, shape, stddev):
    family, note = family_of(init, shape)
    assert note is None and family.kind == 'truncnormal'
    assert family.scale == pytest.approx(stddev, rel=1e-12)


class CustomInit(ki.GlorotUniform):
    def __call__(self, shape, dtype=None):
        return 3.0 * super().__call__(shape, dtype)


@pytest.mark.parametrize('init, words', [
    (ki.RandomUniform(-0.1, 0.2), 'not symmetric'),
    (ki.RandomUniform(0.0, 0.1), 'not symmetric'),
    (ki.RandomNormal(0.5, 0.1), 'not centred'),
    (ki.TruncatedNormal(-0.1, 0.1), 'not centred'),
    (ki.Orthogonal(gain=2.0), 'Orthogonal(gain=2.0)'),
    (ki.Constant(0.3), 'Constant(0.3)'),
    (ki.Ones(), 'Ones has no known law'),
    (ki.Identity(), 'Identity has no known law'),
    (CustomInit(), 'CustomInit overrides __call__'),
    (lambda shape, dtype=None: np.ones(shape), 'function has no known law'),
    (None, 'no initializer recorded'),
])
def test_unknown_initializers_give_none_with_a_reason(init, words):
    family, note = family_of(init, (16, 8))
    assert family is None
    assert words in note


# -- Monte Carlo: norms of real Keras draws vs the core's law --------------

def keras_norms(init, shape, axes, draws=1):
    """Norms of ``draws`` real Keras draws of ``shape`` (Keras 3: its
    SeedGenerator gives a new draw per call; Keras 2: a seeded initializer
    repeats its draw, so each draw is a copy of it with the next seed)."""
    out = []
    for i in range(draws):
        if keras3():
            draw = init
        else:
            draw = type(init).from_config(dict(init.get_config(),
                                               seed=1234 + i))
        value = to_numpy(draw(shape, dtype='float32'))
        out.append(vector_norms(value.astype(np.float64), axes).ravel())
    return np.array(out)


def seeded(cls, *args, **kwargs):
    if keras3():
        return cls(*args, seed=keras.random.SeedGenerator(1234), **kwargs)
    return cls(*args, seed=1234, **kwargs)


LAW_CASES = [
    ('glorot_uniform', lambda: seeded(ki.GlorotUniform), (12, 3000), (0,)),
    ('he_uniform conv', lambda: seeded(ki.HeUniform), (3, 3, 2, 2000),
     (0, 1, 2)),
    ('lecun_uniform conv1d', lambda: seeded(ki.LecunUniform), (5, 4, 1500),
     (0, 1)),
    ('untruncated normal', lambda: seeded(
        ki.VarianceScaling, 1.0, 'fan_avg', 'untruncated_normal'),
     (6, 3000), (0,)),
    ('random_uniform embedding rows', lambda: seeded(
        ki.RandomUniform, -0.05, 0.05), (3000, 8), (1,)),
    ('random_normal', lambda: seeded(ki.RandomNormal, 0.0, 0.3), (20, 3000),
     (0,)),
    ('depthwise glorot', lambda: seeded(ki.GlorotUniform), (3, 3, 60, 40),
     (0, 1)),
]
TRUNC_CASES = [
    ('glorot_normal', lambda: seeded(ki.GlorotNormal), (12, 3000), (0,)),
    ('he_normal conv', lambda: seeded(ki.HeNormal), (3, 3, 2, 2000),
     (0, 1, 2)),
    ('truncated_normal', lambda: seeded(ki.TruncatedNormal, 0.0, 0.2),
     (4, 4000), (0,)),
]


@pytest.mark.parametrize('label, make, shape, axes', [
    pytest.param(*case, id=case[0]) for case in LAW_CASES + TRUNC_CASES])
def test_keras_draws_follow_the_core_law(label, make, shape, axes):
    init = make()
    family, note = family_of(init, shape)
    assert family is not None, note
    norms = keras_norms(init, shape, axes)[0]
    n = int(np.prod([shape[a] for a in axes]))
    # The whole law: KS of thousands of iid norms against the exact cdf.
    ks = stats.kstest(norms, lambda t: family.cdf(t, n))
    assert ks.pvalue > 1e-3, (label, ks)
    # Mean and two quantiles, within 5 standard errors.
    se = family.std(n) / math.sqrt(norms.size)
    assert abs(norms.mean() - family.mean(n)) < 5 * se
    for p in (0.1, 0.9):
        q = np.quantile(norms, p)
        density_se = math.sqrt(p * (1 - p) / norms.size)
        assert family.cdf(q, n) == pytest.approx(p, abs=5 * density_se)


@pytest.mark.parametrize('label, make, shape, axes', [
    pytest.param('glorot_uniform dense head', lambda: seeded(
        ki.GlorotUniform), (64, 4), (0,), id='glorot_uniform'),
    pytest.param('he_normal conv', lambda: seeded(ki.HeNormal),
                 (1, 7, 8, 16), (0, 1, 2), id='he_normal'),
])
def test_largest_norm_quantile_holds_over_real_draws(label, make, shape,
                                                     axes):
    # max@confidence: P(largest of the m norms <= max_ppf(p)) = p.
    init = make()
    family, _ = family_of(init, shape)
    n = int(np.prod([shape[a] for a in axes]))
    m = int(np.prod(shape)) // n
    maxima = keras_norms(init, shape, axes, draws=600).max(axis=1)
    for p in (0.5, 0.9):
        hits = np.mean(maxima <= family.max_ppf(p, n, m))
        assert hits == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / 600))


def test_layer_draws_match_the_discovered_family():
    # The real layer's own draw (its kernel_initializer, its shape) against
    # the family find_constrained reports for it.
    layer = keras.layers.Conv2D(
        1500, 3, kernel_constraint=keras.constraints.MaxNorm(2.0,
                                                             axis=[0, 1, 2]))
    model = keras.Sequential([keras.Input((8, 8, 2)), layer])
    (weight,), _ = find_constrained(model)
    assert weight.family.kind == 'uniform'
    assert weight.family.scale == pytest.approx(math.sqrt(6.0 / (18 + 13500)))
    norms = vector_norms(weight.read().astype(np.float64), (0, 1, 2)).ravel()
    ks = stats.kstest(norms, lambda t: weight.family.cdf(t, 18))
    assert ks.pvalue > 1e-3
