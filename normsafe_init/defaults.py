"""The defaults every entry point shares (the extension, the callbacks,
``make_safe``, ``check`` and ``solve``)."""
from __future__ import absolute_import, division, print_function

#: Target ``t = fraction x limit``.
DEFAULT_FRACTION = 0.5
#: P(all vectors <= t) at a solved scale.
DEFAULT_CONFIDENCE = 0.99
#: ``'max'``: all vectors under t with probability confidence.
DEFAULT_MODE = 'max'
