"""Making the log lines reach a user who configured no logging, without
taking logging away from one who did."""
from __future__ import absolute_import, division, print_function

import logging

__all__ = ['ensure_visible']

_PACKAGE = 'normsafe_init'


class _Fallback(logging.StreamHandler):
    """The handler :func:`ensure_visible` lends while logging is
    unconfigured (stderr, the message alone)."""

    def __init__(self):
        logging.StreamHandler.__init__(self)   # sys.stderr, looked up late
        self.setFormatter(logging.Formatter('%(message)s'))


def _user_configured(package_log, lent):
    """Whether the user configured logging: a handler on the root or the
    package logger that is not ours, or a level we did not set."""
    return (any(h not in lent for h in package_log.handlers)
            or bool(logging.getLogger().handlers)
            or package_log.level != (logging.INFO if lent else logging.NOTSET))


def ensure_visible(handlers=None):
    """Show the ``normsafe_init`` INFO lines while logging is unconfigured.

    Called at every run. While neither the root logger nor the
    ``normsafe_init`` logger has a handler of the user's and no level was
    set on the ``normsafe_init`` logger, it lends that logger ``handlers``
    (for pylearn2: the ``pylearn2`` logger's own, so the lines look like its
    monitor output) or a plain stderr handler, at level INFO. Propagation
    is never turned off. Once the user configures logging
    (``logging.basicConfig(level=logging.WARNING, force=True)``, a handler,
    a level), the next call takes back what it lent, and the user's
    configuration alone decides. Returns whether handlers are lent.
    """
    package_log = logging.getLogger(_PACKAGE)
    lent = getattr(package_log, '_normsafe_lent', [])
    if _user_configured(package_log, lent):
        if lent:
            for handler in lent:
                package_log.removeHandler(handler)
            if package_log.level == logging.INFO:
                package_log.setLevel(logging.NOTSET)
            package_log._normsafe_lent = []
        return False
    wanted = (list(handlers or ()) or
              [h for h in lent if isinstance(h, _Fallback)] or [_Fallback()])
    for handler in lent:
        if handler not in wanted:
            package_log.removeHandler(handler)
    for handler in wanted:
        package_log.addHandler(handler)     # once: addHandler checks
    package_log.setLevel(logging.INFO)
    package_log._normsafe_lent = wanted
    return True
