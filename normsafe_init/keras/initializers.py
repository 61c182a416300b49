"""Keras initializers (Keras 3, and Keras 2's, which have the same classes,
attributes and formulas) as the core's init families.

A constrained variable's declared initializer (the layer's
``<name>_initializer``: ``kernel_initializer``, ``depthwise_initializer``,
...) is mapped to the :class:`~normsafe_init.laws.InitFamily` whose
law the core knows, at the scale Keras used for *this* variable's shape.

Fans follow Keras's own ``compute_fans(shape)``: ``(in, out)`` for a 2-D
shape, ``(shape[-2] * r, shape[-1] * r)`` with the receptive field ``r =
prod(shape[:-2])`` for kernels of rank >= 3 (so a ``DepthwiseConv2D``
kernel ``(kh, kw, in, mult)`` has ``fan_in = kh kw in``), ``(d, d)`` for
1-D shapes. With ``fan = fan_in``, ``fan_out`` or ``(fan_in + fan_out) /
2`` by ``mode`` and ``s = scale / max(1, fan)``:

=================================  ===========================================
Keras initializer                  family
=================================  ===========================================
VarianceScaling ``uniform``        ``Uniform(irange=sqrt(3 s))``
(GlorotUniform: scale 1, fan_avg;  (``U(-a, a)``)
HeUniform: 2, fan_in;
LecunUniform: 1, fan_in)
VarianceScaling                    ``Gaussian(istdev=sqrt(s))``
``untruncated_normal``
VarianceScaling                    ``TruncNormal(stddev=sqrt(s) / 0.8796...)``
``truncated_normal`` (Glorot-,     (``N(0, stddev^2)`` redrawn beyond 2
He-, LecunNormal)                  stddev; ``0.87962566103423978`` is the SD
                                   of the standard normal truncated at +-2)
RandomUniform(-a, a)               ``Uniform(irange=a)``
RandomNormal(0, s)                 ``Gaussian(istdev=s)``
TruncatedNormal(0, s)              ``TruncNormal(stddev=s)``
Zeros, RandomUniform(0, 0),        ``Zero()``
RandomNormal(0, 0), Constant(0)
Orthogonal, Ones, Identity,        ``None`` (no random law the core knows;
Constant(v), asymmetric or         ``reinit`` falls back to ``rescale``; the
non-zero-mean draws, a subclass    note says why)
overriding ``__call__``, a plain
function, anything else
=================================  ===========================================

Both Keras 2 and Keras 3 divide by ``0.87962566103423978`` and truncate at
2 stddev; ``tests/test_keras_initializers.py`` checks the law against real
draws of the Keras at hand.

Note: Keras 3's torch backend draws a truncated normal as the first of 4
standard-normal candidates inside (-2, 2), keeping the 4th candidate when
all 4 fall outside (probability ``0.0455^4 ~ 4e-6`` per entry); the law
above ignores that tail.
"""
import math

import numpy as np

from .. import laws
from ..laws import TruncNormal
from . import _compat
from ._compat import compute_fans

__all__ = ['TRUNC_SD', 'compute_fans', 'family_of']

#: SD of the standard normal truncated to (-2, 2) (Keras's constant).
TRUNC_SD = TruncNormal.SD_FACTOR


def _keras_classes():
    return _compat.keras.initializers


def _float(value):
    """A Python float from a scalar (or a scalar tensor), or None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        try:
            return float(np.asarray(value))
        except Exception:
            return None


def _own_call(init, base):
    """True when ``init`` draws with ``base.__call__`` (not overridden)."""
    return type(init).__call__ is base.__call__


def _variance_scaling(init, shape, name):
    fan_in, fan_out = compute_fans(shape, getattr(init, 'input_axes', None),
                                   getattr(init, 'output_axes', None))
    scale = _float(init.scale)
    if scale is None:
        return None, '%s: scale %r is not a number' % (name, init.scale)
    if init.mode == 'fan_in':
        fan = fan_in
    elif init.mode == 'fan_out':
        fan = fan_out
    else:
        fan = (fan_in + fan_out) / 2.0
    s = scale / max(1.0, fan)
    distribution = init.distribution
    if distribution == 'uniform':
        return laws.Uniform(math.sqrt(3.0 * s)), None
    if distribution == 'untruncated_normal':
        return laws.Gaussian(math.sqrt(s)), None
    if distribution == 'truncated_normal':
        return TruncNormal(math.sqrt(s) / TRUNC_SD), None
    return None, '%s: unknown distribution %r' % (name, distribution)


def family_of(initializer, shape):
    """The core family of ``initializer`` for a variable of ``shape``.

    Returns ``(family, note)``: ``family`` an
    :class:`~normsafe_init.laws.InitFamily` or ``None``, ``note``
    None or why the family is unknown.

    Example::

        >>> from normsafe_init.keras._compat import keras
        >>> fam, note = family_of(keras.initializers.GlorotUniform(), (64, 4))
        >>> round(fam.scale, 4), note            # sqrt(6 / (64 + 4))
        (0.297, None)
    """
    ki = _keras_classes()
    name = type(initializer).__name__
    if initializer is None:
        return None, 'no initializer recorded on the layer'
    if isinstance(initializer, ki.VarianceScaling):
        if not _own_call(initializer, ki.VarianceScaling):
            return None, '%s overrides __call__' % name
        return _variance_scaling(initializer, shape, name)
    if isinstance(initializer, ki.RandomUniform):
        if not _own_call(initializer, ki.RandomUniform):
            return None, '%s overrides __call__' % name
        lo, hi = _float(initializer.minval), _float(initializer.maxval)
        if lo is None or hi is None or lo != -hi or hi < 0:
            return None, ('%s(minval=%r, maxval=%r) is not symmetric about 0'
                          % (name, initializer.minval, initializer.maxval))
        if hi == 0:
            return laws.Zero(), None
        return laws.Uniform(hi), None
    for base, make in ((ki.RandomNormal, laws.Gaussian),
                       (ki.TruncatedNormal, TruncNormal)):
        if not isinstance(initializer, base):
            continue
        if not _own_call(initializer, base):
            return None, '%s overrides __call__' % name
        mean, sd = _float(initializer.mean), _float(initializer.stddev)
        if mean != 0 or sd is None or sd < 0:
            return None, ('%s(mean=%r, stddev=%r) is not centred at 0'
                          % (name, initializer.mean, initializer.stddev))
        if sd == 0:
            return laws.Zero(), None
        return make(sd), None
    if isinstance(initializer, ki.Zeros):
        return laws.Zero(), None
    if isinstance(initializer, ki.Constant):
        value = _float(initializer.value)
        if value == 0:
            return laws.Zero(), None
        return None, ('Constant(%r): every entry equal, no random law'
                      % (initializer.value,))
    if isinstance(initializer, ki.Orthogonal):
        return None, ('Orthogonal(gain=%r): orthogonal columns, no per-entry '
                      'law' % (initializer.gain,))
    return None, '%s has no known law of initial norms' % name
