"""Keras initializers (Keras 3, and Keras 2's, which have the same classes,
attributes and formulas) as the core's init families.

A variable's declared initializer, at the scale Keras used for its shape
(fans by :func:`compute_fans`; ``fan`` = ``fan_in``, ``fan_out`` or their
mean by ``mode``; ``s = scale / max(1, fan)``):

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

Keras 3's torch backend keeps the 4th of 4 normal candidates when all fall
outside (-2, 2) (``0.0455^4 ~ 4e-6`` per entry); the law ignores that tail.
"""
import math

from .. import laws
from ..laws import TruncNormal
from . import _compat
from ._compat import own_call, to_float

__all__ = ['TRUNC_SD', 'compute_fans', 'family_of']

#: SD of the standard normal truncated to (-2, 2) (Keras's constant).
TRUNC_SD = TruncNormal.SD_FACTOR


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` by Keras's rules (the same in Keras 2 and 3):
    ``(in, out)`` for 2-D, ``(shape[-2] r, shape[-1] r)`` with ``r =
    prod(shape[:-2])`` above, ``(d, d)`` for 1-D; Keras 3's ``input_axes``
    / ``output_axes`` (EinsumDense) when given.

    >>> compute_fans((3, 3, 8, 16))   # Conv2D (kh, kw, in, out)
    (72, 144)
    """
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) < 2:
        d = shape[0] if shape else 1
        return d, d
    field = math.prod(shape[:-2])
    return shape[-2] * field, shape[-1] * field


def _variance_scaling(init, shape, name):
    fan_in, fan_out = compute_fans(shape, getattr(init, 'input_axes', None),
                                   getattr(init, 'output_axes', None))
    scale = to_float(init.scale)
    if scale is None:
        return None, '%s: scale %r is not a number' % (name, init.scale)
    fan = {'fan_in': fan_in, 'fan_out': fan_out}.get(
        init.mode, (fan_in + fan_out) / 2.0)
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
    """``(family, note)``: the :class:`~normsafe_init.laws.InitFamily` of
    ``initializer`` for a variable of ``shape``, or ``(None, why)``.

    Example::

        >>> from normsafe_init.keras._compat import keras
        >>> fam, note = family_of(keras.initializers.GlorotUniform(), (64, 4))
        >>> round(fam.scale, 4), note            # sqrt(6 / (64 + 4))
        (0.297, None)
    """
    ki = _compat.keras.initializers
    name = type(initializer).__name__
    if initializer is None:
        return None, 'no initializer recorded on the layer'
    for base in (ki.VarianceScaling, ki.RandomUniform, ki.RandomNormal,
                 ki.TruncatedNormal):
        if isinstance(initializer, base) and not own_call(initializer, base):
            return None, '%s overrides __call__' % name
    if isinstance(initializer, ki.VarianceScaling):
        return _variance_scaling(initializer, shape, name)
    if isinstance(initializer, ki.RandomUniform):
        lo, hi = to_float(initializer.minval), to_float(initializer.maxval)
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
        mean, sd = to_float(initializer.mean), to_float(initializer.stddev)
        if mean != 0 or sd is None or sd < 0:
            return None, ('%s(mean=%r, stddev=%r) is not centred at 0'
                          % (name, initializer.mean, initializer.stddev))
        if sd == 0:
            return laws.Zero(), None
        return make(sd), None
    if isinstance(initializer, ki.Zeros):
        return laws.Zero(), None
    if isinstance(initializer, ki.Constant):
        value = to_float(initializer.value)
        if value == 0:
            return laws.Zero(), None
        return None, ('Constant(%r): every entry equal, no random law'
                      % (initializer.value,))
    if isinstance(initializer, ki.Orthogonal):
        return None, ('Orthogonal(gain=%r): orthogonal columns, no per-entry '
                      'law' % (initializer.gain,))
    return None, '%s has no known law of initial norms' % name
