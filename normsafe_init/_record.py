"""Records: the JSON-serialisable description of an object, from a list of
its attribute names instead of a hand-written ``as_dict`` per class."""
from __future__ import absolute_import, division, print_function

import numbers

import numpy as np

__all__ = ['Record', 'jsonable']


def jsonable(value):
    """``value`` as plain JSON types: numpy scalars and arrays become Python
    numbers and lists, tuples lists, objects with ``as_dict`` dicts, and
    non-finite floats ``None`` (strict JSON has no NaN or Infinity)."""
    if hasattr(value, 'as_dict'):
        return value.as_dict()
    if isinstance(value, dict):
        return dict((str(k), jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


class Record(object):
    """Mixin: :meth:`as_dict` returns ``{key: jsonable(getattr(self,
    attribute))}`` for every entry of the class's ``_fields``: an attribute
    name (also the key) or a ``(key, attribute)`` pair."""

    _fields = ()

    def as_dict(self):
        """The record as a JSON-serialisable dict."""
        out = {}
        for field in self._fields:
            key, attr = field if isinstance(field, tuple) else (field, field)
            out[key] = jsonable(getattr(self, attr))
        return out
