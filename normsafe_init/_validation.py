"""Parameter validation with messages that name the parameter, the value and
what is allowed (in the spirit of scikit-learn's parameter validation).

Every check returns the validated value (converted to a plain Python type),
so callers can write ``fraction = check_fraction(fraction)``.
"""
from __future__ import absolute_import, division, print_function

import math
import numbers

import numpy as np

__all__ = ['STRING_TYPES', 'check_real', 'check_fraction', 'check_open_probability',
           'check_positive', 'check_int', 'check_choice', 'check_axes']

#: str and, on Python 2, unicode (PyYAML gives either).
STRING_TYPES = (str, type(u''))


def _is_real(value):
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def check_real(value, name):
    """Return ``float(value)``; reject non-numbers, booleans and NaN."""
    if not _is_real(value):
        raise TypeError('%s must be a real number; got %r (type %s)'
                        % (name, value, type(value).__name__))
    value = float(value)
    if math.isnan(value):
        raise ValueError('%s must be a real number, not NaN' % name)
    return value


def check_fraction(value, name='fraction'):
    """A fraction of a limit: a real number in (0, 1]."""
    value = check_real(value, name)
    if not 0.0 < value <= 1.0:
        raise ValueError('%s must be in (0, 1]; got %r' % (name, value))
    return value


def check_open_probability(value, name='confidence'):
    """A probability strictly between 0 and 1."""
    value = check_real(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError('%s must be in (0, 1); got %r' % (name, value))
    return value


def check_positive(value, name, allow_zero=False):
    """A finite real number > 0 (or >= 0 with ``allow_zero``)."""
    value = check_real(value, name)
    if math.isinf(value):
        raise ValueError('%s must be finite; got %r' % (name, value))
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError('%s must be %s 0; got %r'
                         % (name, '>=' if allow_zero else '>', value))
    return value


def check_int(value, name, minimum=1):
    """An integer >= ``minimum`` (integral floats such as ``3.0`` pass)."""
    message = '%s must be an integer >= %d; got %%r' % (name, minimum)
    if not _is_real(value):
        raise TypeError(message % (value,))
    if not np.isfinite(float(value)) or float(value) != int(float(value)):
        raise ValueError(message % (value,))
    value = int(float(value))
    if value < minimum:
        raise ValueError(message % value)
    return value


def check_choice(value, name, choices):
    """One of ``choices`` (listed in the message when it is not)."""
    if value not in choices:
        raise ValueError('%s must be one of %s; got %r'
                         % (name, ', '.join(repr(c) for c in choices), value))
    return value


def check_axes(axes, ndim, name='axes'):
    """A non-empty tuple of distinct axes of an ``ndim``-D array, sorted,
    negative axes resolved."""
    if isinstance(axes, (numbers.Integral, np.integer)):
        axes = (axes,)
    try:
        axes = tuple(axes)
    except TypeError:
        raise TypeError('%s must be an int or a sequence of ints; got %r'
                        % (name, axes))
    if not axes:
        raise ValueError('%s must name at least one axis; got ()' % name)
    resolved = []
    for axis in axes:
        if not isinstance(axis, (numbers.Integral, np.integer)) or \
                isinstance(axis, (bool, np.bool_)):
            raise TypeError('%s must contain ints; got %r' % (name, axes))
        if not -ndim <= axis < ndim:
            raise ValueError('%s %r is out of range for a %d-D weight '
                             '(allowed: %d to %d)'
                             % (name, axes, ndim, -ndim, ndim - 1))
        resolved.append(int(axis) % ndim)
    if len(set(resolved)) != len(resolved):
        raise ValueError('%s must not repeat an axis; got %r' % (name, axes))
    return tuple(sorted(resolved))
