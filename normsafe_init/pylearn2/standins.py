"""CPU stand-ins for what this machine cannot build as pylearn2 would:
GPU-only layers (:func:`standin`: same spaces, same use of ``mlp.rng``, no
weight, only the ``expected_shape`` pylearn2 would draw), and under Python 3
the float output dimension of ``Maxout``, ``SoftmaxPool`` and the DBM's
``BinaryVectorMaxPool`` (:func:`integer_dims`: Python 2's integer, same
draws).
"""
from __future__ import absolute_import, division, print_function

import contextlib
import inspect
import sys

import numpy as np

__all__ = ['gpu_available', 'standin', 'integer_dims', 'pooled_size']

_STANDINS = {}
_DRAW_BLOCK = 1 << 20


def gpu_available():
    """``(True, None)`` when cuda-convnet layers can be built here, else
    ``(False, why)``."""
    try:
        from pylearn2.sandbox.cuda_convnet import check_cuda
        check_cuda('cuda-convnet')
    except Exception as exc:  # RuntimeError, or an import failing on CPU
        return False, 'no GPU: %s' % str(exc).split('. ')[0]
    return True, None


def pooled_size(size, pool, stride):
    """Output size of cuda-convnet's max pooling (``MaxPool``, start 0):
    ``ceil((size - pool) / stride) + 1``.

    >>> pooled_size(33, 4, 2), pooled_size(8, 2, 2), pooled_size(7, 3, 2)
    (16, 4, 3)
    """
    return int(np.ceil((size - pool) / float(stride))) + 1


def _consume_uniform(rng, irange, shape):
    """Draw ``rng.uniform(-irange, irange, shape)`` block by block and keep
    nothing: the stream of ``rng`` moves as pylearn2's draw moves it."""
    total = int(np.prod(shape))
    for start in range(0, total, _DRAW_BLOCK):
        rng.uniform(-irange, irange, min(_DRAW_BLOCK, total - start))


def _output_shape(layer, space, stride):
    """The detector shape of ``setup_detector_layer_c01b`` (with its
    ``fix_kernel_shape`` handling)."""
    shape = [int(np.ceil((i + 2. * layer.pad - k) / float(s))) + 1
             for i, k, s in zip(space.shape, layer.kernel_shape, stride)]
    for idx in (0, 1):
        if layer.kernel_shape[idx] < 1:
            raise ValueError('kernel must have strictly positive size on all '
                             'axes but has shape: %s' % (layer.kernel_shape,))
        if shape[idx] <= 0:
            if not layer.fix_kernel_shape:
                raise ValueError('kernel too big for input (even with zero '
                                 'padding)')
            layer.kernel_shape[idx] = space.shape[idx] + 2 * layer.pad
            shape[idx] = 1
    return shape


def _pool(layer, detector_shape):
    """pylearn2's pool checks, then the pooled (square) output size."""
    for idx in (0, 1):
        if layer.pool_shape[idx] < 1:
            raise ValueError('bad pool shape: %s' % (layer.pool_shape,))
        if layer.pool_shape[idx] > detector_shape[idx]:
            if not layer.fix_pool_shape:
                raise ValueError('Pool shape exceeds detector layer shape on '
                                 'axis %d' % idx)
            layer.pool_shape[idx] = detector_shape[idx]
    if layer.pool_stride[0] > layer.pool_shape[0]:
        if not layer.fix_pool_stride:
            raise ValueError('Stride too big.')
        layer.pool_stride = [layer.pool_shape[0]] * 2
    # cuda-convnet pools square images: both sizes from the rows.
    return pooled_size(detector_shape[0], layer.pool_shape[0],
                       layer.pool_stride[0])


def _set_input_space(self, space):
    """``set_input_space`` of ``MaxoutConvC01B`` (``self.conv_c01b``) or of
    ``MaxoutLocalC01B`` with pooling, without cuda-convnet."""
    from pylearn2.space import Conv2DSpace
    if not isinstance(space, Conv2DSpace):
        raise TypeError('The input to a convolutional layer should be a '
                        'Conv2DSpace,%s but layer %s got %s'  # as pylearn2
                        % ('' if self.conv_c01b else ' ', self.layer_name,
                           type(space)))
    self.input_space = space
    # cuda-convnet pads more than 3 channels to a multiple of 4
    channels = space.num_channels
    self.dummy_channels = -channels % 4 if channels > 3 else 0
    stride = getattr(self, 'kernel_stride', None)
    if self.conv_c01b:
        stride = stride or [1, 1]
    shape = _output_shape(self, space, stride)
    if self.conv_c01b and self.detector_channels < 16:
        raise ValueError('Cuda-convnet requires the detector layer to have at '
                         'least 16 channels.')
    self.detector_space = Conv2DSpace(shape=shape,
                                      num_channels=self.detector_channels,
                                      axes=('c', 0, 1, 'b'))
    size = _pool(self, shape)
    channels += self.dummy_channels
    kernel = tuple(self.kernel_shape)
    if self.conv_c01b:
        self.expected_shape = (channels,) + kernel + (self.detector_channels,)
    else:
        groups = self.input_groups
        self.expected_shape = tuple(
            (image + 2 * self.pad - width) // step + 1 for image, step, width
            in zip(space.shape, stride, kernel)) + (
            channels // groups,) + kernel + (
            groups, self.detector_channels // groups)
    if self.conv_c01b or self.irange is not None:
        _consume_uniform(self.mlp.rng, self.irange, self.expected_shape)
    self.output_space = Conv2DSpace(shape=[size, size],
                                    num_channels=self.num_channels,
                                    axes=('c', 0, 1, 'b'))


def _init(self, **kwargs):
    real = type(self).real_class
    # The real signature and defaults: unknown arguments fail as they would
    args = inspect.getcallargs(real.__init__, self, **kwargs)
    args.pop('self', None)
    super(real, self).__init__()
    self.__dict__.update(args)
    self.detector_channels = args['num_channels'] * args['num_pieces']
    for attr in ('kernel_shape', 'pool_shape', 'pool_stride'):
        if getattr(self, attr, None) is not None:
            setattr(self, attr, list(getattr(self, attr)))


def standin(real_class, why):
    """A CPU stand-in for the GPU-only ``real_class`` (a subclass, so the
    layer table still knows it): same arguments, same spaces, same use of
    ``mlp.rng``, no weight. ``why`` says why the real class cannot be
    built (shown in the report)."""
    key = (real_class, why)
    if key not in _STANDINS:
        _STANDINS[key] = type(real_class.__name__, (real_class,), {
            '__init__': _init, 'set_input_space': _set_input_space,
            'get_params': lambda self: [], 'real_class': real_class,
            'no_gpu_reason': why, 'expected_shape': None,
            'conv_c01b': any(c.__name__ == 'MaxoutConvC01B'
                             for c in real_class.__mro__),
            '__module__': real_class.__module__})
    return _STANDINS[key]


@contextlib.contextmanager
def integer_dims(record):
    """Under Python 3, make ``pylearn2.space.VectorSpace`` turn an integral
    float ``dim`` (``detector_layer_dim / pool_size``) into the int Python 2
    gives; ``record`` (a list) receives every space so made. A no-op under
    Python 2."""
    if sys.version_info[0] < 3:
        yield
        return
    from pylearn2.space import VectorSpace
    original = VectorSpace.__init__

    def __init__(self, dim, *args, **kwargs):
        if isinstance(dim, float) and dim.is_integer():
            dim = int(dim)
            record.append(self)
        original(self, dim, *args, **kwargs)

    VectorSpace.__init__ = __init__
    try:
        yield
    finally:
        VectorSpace.__init__ = original
