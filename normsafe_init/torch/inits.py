"""Which init family a PyTorch weight was drawn from: assumed, or declared.

A tensor does not say how it was initialised: ``make_safe`` *assumes* the
default of the first known class in the owning module's MRO, checks the
tensor against it, and lets ``init=`` override it:

- braindecode ``Conv2dWithConstraint``: ``xavier_uniform_(gain=1)`` ->
  ``Uniform(sqrt(6 / (fan_in + fan_out)))``;
- ``nn.Linear``, ``nn.ConvNd``, ``nn.ConvTransposeNd`` (and braindecode
  layers that keep their default): ``kaiming_uniform_(a=sqrt(5))`` ->
  ``Uniform(1/sqrt(fan_in))``;
- ``nn.Embedding``, ``nn.EmbeddingBag``: ``normal_()`` ->
  ``Gaussian(1)`` (a zero ``padding_idx`` row masked);
- anything else, or a subclass that overrides ``reset_parameters``:
  unknown (``reinit`` rescales, and says why).

Fans are torch's: for a weight of shape ``(d0, d1, k...)``, ``fan_in = d1
* prod(k)``, ``fan_out = d0 * prod(k)``.

:func:`check_assumed` rejects an assumed family the tensor contradicts: an
entry beyond a Uniform's bound (relative slack 1e-3), or a mean square off
its expected value by more than 6 standard errors (``sqrt(0.8 / N)``
relative for a Uniform, ``sqrt(2 / N)`` for a Gaussian) plus 1e-3 (a
model that re-draws its weights, a trained one). A family declared with
``init=`` is trusted as given:

- a :class:`normsafe_init.laws.InitFamily` (``Uniform(0.05)``);
- ``('uniform', a)``: ``U(-a, a)``; ``('normal', std)``: ``N(0, std**2)``;
- ``('xavier_uniform', gain=1)``, ``('xavier_normal', gain=1)``,
  ``('kaiming_uniform', a=0)``, ``('kaiming_normal', a=0)`` (torch's
  ``mode='fan_in'``, ``'leaky_relu'``), ``'default'``
  (``kaiming_uniform_(a=sqrt(5))``); a bare string takes the default;
- None: the init is unknown.

>>> from normsafe_init.torch.inits import declared_family
>>> declared_family(('xavier_uniform', 1.0), (4, 248), 'init[head.weight]')
Uniform(irange=0.154303)
"""
import math
import numbers

import numpy as np

from ..laws import Gaussian, InitFamily, Uniform

__all__ = ['declared_family', 'assumed_family', 'check_assumed', 'fans',
           'NAMED_INITS']

#: Names accepted in ``init=`` tuples, with their optional argument.
NAMED_INITS = ('uniform', 'normal', 'xavier_uniform', 'xavier_normal',
               'kaiming_uniform', 'kaiming_normal', 'default')

_SLACK = 1e-3


def fans(shape):
    """``(fan_in, fan_out)`` of a weight, as ``torch.nn.init`` computes
    them (``shape[1] * receptive``, ``shape[0] * receptive``)."""
    if len(shape) < 2:
        raise ValueError('fans need a weight of at least 2 dimensions; got '
                         'shape %r' % (tuple(shape),))
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def _number(value, where, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError('%s: %s must be a finite real number >= 0; got %r'
                         % (where, what, value))
    return float(value)


def _gain(a):
    """torch's ``calculate_gain('leaky_relu', a) = sqrt(2 / (1 + a**2))``."""
    return math.sqrt(2.0 / (1.0 + a * a))


def declared_family(spec, shape, where):
    """The family an ``init=`` value declares for a weight of ``shape``
    (see the module docstring); ``where`` names the entry in messages.
    Returns an InitFamily or None (declared unknown)."""
    if spec is None or isinstance(spec, InitFamily):
        return spec
    if isinstance(spec, str):
        spec = (spec,)
    if not isinstance(spec, (tuple, list)) or not spec \
            or not isinstance(spec[0], str):
        raise ValueError('%s must be an InitFamily, None, a name or a '
                         '(name, value) tuple with name one of %s; got %r'
                         % (where, ', '.join(NAMED_INITS), spec))
    name, args = spec[0], tuple(spec[1:])
    if name not in NAMED_INITS:
        raise ValueError('%s: init name must be one of %s; got %r'
                         % (where, ', '.join(NAMED_INITS), name))
    if name in ('uniform', 'normal'):
        counts, text = (1,), 'exactly one value'
    elif name == 'default':
        counts, text = (0,), 'no value'
    else:
        counts, text = (0, 1), 'at most one value'
    if len(args) not in counts:
        raise ValueError('%s: %r takes %s; got %r' % (where, name, text, spec))
    if name == 'uniform':
        return Uniform(_number(args[0], where, 'the uniform bound a'))
    if name == 'normal':
        return Gaussian(_number(args[0], where, 'the normal std'))
    fan_in, fan_out = fans(shape)
    if name in ('xavier_uniform', 'xavier_normal'):
        gain = _number(args[0], where, 'gain') if args else 1.0
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        a = (_number(args[0], where, 'a') if args
             else (math.sqrt(5.0) if name == 'default' else 0.0))
        std = _gain(a) / math.sqrt(fan_in)
    if name.endswith('normal'):
        return Gaussian(std)
    return Uniform(math.sqrt(3.0) * std)


def _first_known(module):
    """``(kind, cls)``: the first class of ``module``'s MRO this module
    knows, or ``(None, None)``."""
    import torch.nn as nn
    for cls in type(module).__mro__:
        if cls.__name__ == 'Conv2dWithConstraint' and \
                cls.__module__.startswith('braindecode'):
            return 'xavier', cls
        if cls in (nn.Embedding, nn.EmbeddingBag):
            return 'embedding', cls
        if cls is nn.Linear or (cls.__module__ == 'torch.nn.modules.conv'
                                and cls.__name__.startswith('Conv')):
            return 'default', cls
    return None, None


def assumed_family(module, tensor_name, shape):
    """``(family, source, note)``: the module type's default init of
    ``module.<tensor_name>`` (see the table above), ``source`` saying what
    was assumed, or ``(None, None, note)`` with the reason."""
    cls_name = type(module).__name__
    if tensor_name != 'weight':
        return None, None, ('no known default init for %s.%s; declare it '
                            'with init=' % (cls_name, tensor_name))
    kind, known = _first_known(module)
    if kind is None:
        return None, None, ('no known default init for %s; declare it with '
                            'init=' % cls_name)
    owner = next(c for c in type(module).__mro__
                 if 'reset_parameters' in vars(c))
    if owner is not known and not issubclass(known, owner):
        return None, None, ('%s overrides reset_parameters (%s): its init is '
                            'unknown; declare it with init='
                            % (cls_name, owner.__name__))
    if kind == 'embedding':
        return (Gaussian(1.0), '%s default normal_() = N(0, 1)'
                % known.__name__, None)
    fan_in, fan_out = fans(shape)
    if kind == 'xavier':
        return (Uniform(math.sqrt(6.0 / (fan_in + fan_out))),
                'braindecode %s.__init__ xavier_uniform_(gain=1), fan_in=%d '
                'fan_out=%d' % (known.__name__, fan_in, fan_out), None)
    return (Uniform(1.0 / math.sqrt(fan_in)),
            'torch %s default kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt('
            'fan_in)), fan_in=%d' % (known.__name__, fan_in), None)


def check_assumed(family, values, mask=None):
    """None if ``values`` (numpy array) may have been drawn from
    ``family``, else the reason it cannot (see the module docstring)."""
    x = np.asarray(values, dtype=np.float64)
    if mask is not None:
        x = x[np.asarray(mask) != 0]
    x = x.ravel()
    if x.size == 0:
        return None
    mean_square = float(np.mean(x * x))
    if isinstance(family, Uniform) and family.include_prob == 1.0:
        bound = float(np.max(np.abs(x)))
        if bound > family.scale * (1 + _SLACK):
            return ('an entry is %.4g, beyond the assumed U(-a, a) bound '
                    'a=%.4g' % (bound, family.scale))
        expected, rel_se = family.scale ** 2 / 3.0, math.sqrt(0.8 / x.size)
    elif isinstance(family, Gaussian) and family.kind == 'gaussian':
        expected, rel_se = family.scale ** 2, math.sqrt(2.0 / x.size)
    else:
        return None
    if abs(mean_square / expected - 1.0) > 6 * rel_se + _SLACK:
        return ('mean square %.4g, expected %.4g +- %.2g%% under the '
                'assumed init' % (mean_square, expected, 100 * rel_se))
    return None
