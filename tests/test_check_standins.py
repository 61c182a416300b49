"""What ``check`` builds where pylearn2 cannot (:mod:`normsafe_init.pylearn2.standins`):
GPU-only layers without a GPU, and pylearn2's Python 3 float dimensions.

A GPU-only layer is reported from the law of its declared init at the
shape pylearn2 would draw, and the layers after it get the draws they would
get on a GPU. Both are checked against pylearn2's own code that runs on a
CPU: its draw functions (``make_random_conv2D`` draws, then refuses the
non-GPU array; ``make_random_local`` runs) and its CPU max pooling (the
reference pylearn2's cuda-convnet tests compare the GPU pooling with).
"""
from __future__ import absolute_import, division, print_function

import json
import warnings

import numpy as np
import pytest

from helpers import Capture
from pylearn2_helpers import require_pylearn2

require_pylearn2()

from normsafe_init import cli  # noqa: E402
from normsafe_init.distributions import Uniform  # noqa: E402
from normsafe_init.pylearn2 import standins  # noqa: E402
from normsafe_init.pylearn2.loading import load_model  # noqa: E402

HAVE_GPU = standins.gpu_available()[0]
no_gpu_only = pytest.mark.skipif(HAVE_GPU, reason='this machine has a GPU: '
                                 'pylearn2 builds the real layers')


class RecordingRandomState(np.random.RandomState):
    """Records the size of every ``uniform`` draw."""

    def __init__(self, seed):
        np.random.RandomState.__init__(self, seed)
        self.sizes = []

    def uniform(self, low=0.0, high=1.0, size=None):
        self.sizes.append(tuple(np.atleast_1d(size)))
        return np.random.RandomState.uniform(self, low, high, size)


def same_state(a, b):
    sa, sb = a.get_state(), b.get_state()
    return all(np.array_equal(x, y) for x, y in zip(sa, sb))


@pytest.mark.parametrize('size, pool, stride', [
    (33, 4, 2), (15, 4, 2), (9, 2, 2), (7, 3, 2), (8, 2, 2), (24, 3, 3)])
def test_pooled_size_is_pylearn2s_cpu_max_pooling(size, pool, stride):
    import theano
    import theano.tensor as T
    from pylearn2.models.mlp import max_pool_c01b
    x = T.tensor4()
    shape = theano.function([x], max_pool_c01b(
        x, (pool, pool), (stride, stride), (size, size)).shape)
    out = shape(np.zeros((1, size, size, 1), dtype=theano.config.floatX))
    assert tuple(out[1:3]) == (standins.pooled_size(size, pool, stride),) * 2


CONV_YAML = u'''!obj:pylearn2.models.mlp.MLP {
    seed: 5,
    input_space: !obj:pylearn2.space.Conv2DSpace {
        shape: [12, 12], num_channels: 5, axes: ['c', 0, 1, 'b'] },
    layers: [
        !obj:pylearn2.models.maxout.MaxoutConvC01B { layer_name: c0,
            num_channels: 16, num_pieces: 2, kernel_shape: [3, 3],
            pad: 1, pool_shape: [3, 3], pool_stride: [2, 2],
            irange: %(irange)s, max_kernel_norm: 0.9 },
        !obj:pylearn2.models.mlp.Softmax { layer_name: y, n_classes: 4,
            irange: 0.02, max_col_norm: 1.0 },
    ]
}
'''


def conv_yaml(tmp_path, irange='0.05'):
    path = str(tmp_path / 'conv.yaml')
    with open(path, 'wb') as stream:
        stream.write((CONV_YAML % {'irange': irange}).encode('utf-8'))
    return path


def run_check(*argv):
    out, err = Capture(), Capture()
    code = cli.main(['check'] + list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@no_gpu_only
def test_conv_c01b_is_expected_and_the_next_layer_drawn_as_on_a_gpu(
        tmp_path):
    from pylearn2.linear.conv2d_c01b import make_random_conv2D
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded = load_model(CONV_YAML % {'irange': '0.05'}, 'conv.yaml')
    c0, y = loaded.model.layers
    assert loaded.no_gpu == {'c0': standins.gpu_available()[1]}
    # pylearn2's own draw for this layer: 5 channels + 3 dummy (cuda-convnet
    # wants a multiple of 4), 3x3 kernels, 16 x 2 detector channels.
    rng = RecordingRandomState(5)
    with pytest.raises(AssertionError):   # it refuses a non-GPU W, after
        make_random_conv2D(0.05, input_channels=8,
                           input_axes=('c', 0, 1, 'b'),
                           output_axes=('c', 0, 1, 'b'), output_channels=32,
                           kernel_shape=[3, 3], pad=1, rng=rng, partial_sum=1)
    assert rng.sizes == [c0.expected_shape] == [(8, 3, 3, 32)]
    # The Softmax after it has the draw it gets on a GPU: 12+2-3+1 = 12
    # detector rows, pooled 3/2 -> 6, so 16 x 6 x 6 inputs.
    assert tuple(c0.output_space.shape) == (6, 6)
    W = rng.uniform(-0.02, 0.02, (16 * 6 * 6, 4)).astype(y.W.dtype)
    assert np.array_equal(y.W.get_value(), W)
    assert same_state(rng, loaded.model.rng)

    code, out, err = run_check(conv_yaml(tmp_path), '--json')
    assert code == 0, err
    data = json.loads(out)
    c0_row, y_row = data['layers']
    assert c0_row['expected'] is True and y_row['expected'] is False
    assert c0_row['shape'] == [8, 3, 3, 32]
    (part,) = c0_row['constraints']
    assert part['before'] is None and (part['n'], part['m']) == (72, 32)
    family = Uniform(0.05)
    assert part['expected_mean'] == pytest.approx(family.mean_norm(72, 32),
                                                  rel=1e-12)
    assert part['expected_max'] == pytest.approx(
        family.max_ppf(0.99, 72, 32), rel=1e-12)
    assert part['expected_max'] < 0.45 and not c0_row['breaks']
    assert data['no_gpu'] == [{'layer': 'c0',
                               'reason': standins.gpu_available()[1]}]
    code, out, err = run_check(conv_yaml(tmp_path))
    line = [l for l in out.splitlines() if l.startswith('c0 ')][0].split()
    assert line == ['c0', '8x3x3x32', '72', 'kernel<=0.9', '-', '-',
                    'expected:ok']
    assert ('note c0 (MaxoutConvC01B): expected, not observed: no GPU here; '
            'W 8x3x3x32 (5 input channels + 3 dummy) as pylearn2 draws it '
            'with cuda-convnet') in out


@no_gpu_only
def test_an_expected_layer_that_breaks_is_fixed(tmp_path):
    path = conv_yaml(tmp_path, irange='0.2')
    code, out, err = run_check(path, '--json')
    assert code == 1
    c0 = json.loads(out)['layers'][0]
    assert c0['status'] == 'breaks' and c0['expected']
    value = c0['recommended_value']
    assert c0['recommended_param'] == 'irange' and value < 0.2
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(path, '--fix', fixed)
    assert 'fix: checked the fixed copy: every layer within fraction 0.5' \
        in out
    code, out, err = run_check(fixed, '--json')
    assert code == 0 and json.loads(out)['layers'][0]['expected']


LOCAL_YAML = u'''!obj:pylearn2.models.mlp.MLP {
    seed: 6,
    input_space: !obj:pylearn2.space.Conv2DSpace {
        shape: [8, 8], num_channels: 3, axes: ['c', 0, 1, 'b'] },
    layers: [
        !obj:pylearn2.models.maxout.MaxoutLocalC01B { layer_name: l0,
            num_channels: 8, num_pieces: 2, kernel_shape: [3, 3],
            %(pool)s irange: 0.05, max_kernel_norm: 0.9 },
        !obj:pylearn2.models.mlp.Softmax { layer_name: y, n_classes: 2,
            irange: 0.02, max_col_norm: 1.0 },
    ]
}
'''


@no_gpu_only
def test_local_c01b_with_pooling_is_expected(tmp_path):
    from pylearn2.linear import local_c01b
    pool = 'pool_shape: [2, 2], pool_stride: [2, 2],'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded = load_model(LOCAL_YAML % {'pool': pool}, 'local.yaml')
        # Without pooling pylearn2 builds it on a CPU: a real, observed row.
        plain = load_model(LOCAL_YAML % {'pool': ''}, 'local.yaml')
    l0, y = loaded.model.layers
    assert list(loaded.no_gpu) == ['l0'] and plain.no_gpu == {}
    rng = RecordingRandomState(6)
    W = local_c01b.make_random_local(
        0.05, input_channels=3, input_axes=('c', 0, 1, 'b'),
        input_groups=1, image_shape=[8, 8], output_channels=16,
        output_axes=('c', 0, 1, 'b'), kernel_shape=[3, 3], rng=rng,
        partial_sum=1).get_params()[0].get_value()
    assert rng.sizes == [l0.expected_shape] == [W.shape]
    real = plain.model.layers[0].transformer.get_params()[0].get_value()
    assert real.shape == W.shape
    assert tuple(l0.output_space.shape) == (3, 3)    # 6 pooled 2/2
    expected = rng.uniform(-0.02, 0.02, (8 * 3 * 3, 2)).astype(y.W.dtype)
    assert np.array_equal(y.W.get_value(), expected)


def test_integer_dims_draw_what_python_2_draws():
    from pylearn2.models import mlp
    from pylearn2.models.maxout import Maxout
    record = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with standins.integer_dims(record):
            model = mlp.MLP(nvis=7, seed=11, layers=[
                Maxout(layer_name='m', num_units=3, num_pieces=2,
                       irange=0.1, max_col_norm=1.0),
                mlp.Softmax(layer_name='y', n_classes=2, irange=0.1)])
    m, y = model.layers
    assert m.output_space.dim == 3 and isinstance(m.output_space.dim, int)
    rng = np.random.RandomState(11)
    rng.uniform(size=(7, 6))
    rng.uniform(size=(7, 6))        # Maxout: the values, then the mask
    expected = rng.uniform(-0.1, 0.1, (3, 2)).astype(y.W.dtype)
    assert np.array_equal(y.W.get_value(), expected)
    import sys
    assert bool(record) == (sys.version_info[0] > 2)
    from pylearn2.space import VectorSpace
    assert isinstance(VectorSpace(3.0).dim, float)  # restored afterwards
