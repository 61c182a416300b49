"""The options every entry point takes (the pylearn2 extension, the Keras
and skorch callbacks, ``make_safe``, ``check`` and ``solve``), their
defaults, and the one validator of a true/false option.

>>> options = Options(fraction=0.25, action='clip')
>>> options.replace(action='report').action
'report'
>>> Options(fraction=1.5)
Traceback (most recent call last):
...
ValueError: fraction must be in (0, 1]; got 1.5
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from ._record import Record
from ._validation import (STRING_TYPES, check_choice, check_fraction,
                          check_int, check_open_probability)

__all__ = ['Options', 'ACTIONS', 'MODES', 'DEFAULT_FRACTION',
           'DEFAULT_CONFIDENCE', 'DEFAULT_MODE', 'MAX_SEED', 'check_flag',
           'check_names']

#: Target ``t = fraction x limit``.
DEFAULT_FRACTION = 0.5
#: P(all vectors <= t) at a solved scale.
DEFAULT_CONFIDENCE = 0.99
#: ``'max'``: all vectors under t with probability confidence.
DEFAULT_MODE = 'max'
#: What a run may do to a weight that breaks ``t``.
ACTIONS = ('report', 'rescale', 'clip', 'reinit')
#: What a solved scale aims at: the largest norm, or the mean norm.
MODES = ('max', 'mean')
#: Seeds are those numpy's ``RandomState`` accepts: 0 <= seed < 2**32.
MAX_SEED = 2 ** 32 - 1


def check_flag(value, name):
    """``value`` as a bool; ``ValueError`` unless it is ``True`` or
    ``False`` (a YAML ``true``, a numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError('%s must be True or False; got %r' % (name, value))
    return bool(value)


def check_names(value, name):
    """A non-empty list of names, or None (every name)."""
    if value is None:
        return None
    if isinstance(value, STRING_TYPES) or not hasattr(value, '__iter__'):
        raise ValueError('%s must be a list of layer names; got %r'
                         % (name, value))
    names = list(value)
    if not names:
        raise ValueError('%s must name at least one layer; got an empty list '
                         '(leave it out to select every layer)' % name)
    for item in names:
        if not isinstance(item, STRING_TYPES):
            raise ValueError('%s must contain layer names (strings); got %r'
                             % (name, item))
    return names


class Options(Record):
    """The options every adapter takes, validated (their meaning and
    defaults: the README's options table): ``fraction`` in (0, 1] (``t =
    fraction x limit``), ``action`` (:data:`ACTIONS`, see
    :mod:`normsafe_init.plan`), ``confidence`` in (0, 1) and ``mode``
    (:data:`MODES`) of the scale ``reinit`` solves, ``seed`` in [0, 2**32)
    of its dedicated ``RandomState``, ``layers`` / ``exclude`` (names of
    layers or weights, or None) and ``force`` (act even on weights judged
    trained).

    Every bad value raises ``ValueError`` naming the option, the value and
    what is allowed (pylearn2's YAML loader hides a constructor's
    ``TypeError`` behind its own message).
    """

    _fields = ('fraction', 'action', 'confidence', 'mode', 'seed', 'layers',
               'exclude', 'force')

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False):
        try:
            self.fraction = check_fraction(fraction, 'fraction')
            self.action = check_choice(action, 'action', ACTIONS)
            self.confidence = check_open_probability(confidence,
                                                     'confidence')
            self.mode = check_choice(mode, 'mode', MODES)
            self.seed = check_int(seed, 'seed', minimum=0)
        except TypeError as exc:
            raise ValueError(str(exc))
        if self.seed > MAX_SEED:
            raise ValueError('seed must be an integer in [0, 2**32); got %r'
                             % (seed,))
        self.layers = check_names(layers, 'layers')
        self.exclude = check_names(exclude, 'exclude')
        self.force = check_flag(force, 'force')
        both = set(self.layers or ()) & set(self.exclude or ())
        if both:
            raise ValueError('layers and exclude both name %s'
                             % ', '.join(sorted(both)))

    def replace(self, **changes):
        """A validated copy with ``changes`` (``ValueError`` for a name that
        is not an option)."""
        unknown = sorted(set(changes) - set(self._fields))
        if unknown:
            raise ValueError('%s %s not an option; options: %s'
                             % (', '.join(unknown),
                                'is' if len(unknown) == 1 else 'are',
                                ', '.join(self._fields)))
        values = dict((name, getattr(self, name)) for name in self._fields)
        values.update(changes)
        return Options(**values)

    def __repr__(self):
        return 'Options(%s)' % ', '.join(
            '%s=%r' % (name, getattr(self, name)) for name in self._fields)
