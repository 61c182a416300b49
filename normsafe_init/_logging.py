"""Making the log lines reach a user who configured no logging."""
from __future__ import absolute_import, division, print_function

import logging
import sys

__all__ = ['ensure_visible']


def ensure_visible(handlers=None, stream=None):
    """Show the ``normsafe_init`` INFO lines unless logging was configured.

    When neither the ``normsafe_init`` logger nor the root logger has a
    handler and no level was set on the ``normsafe_init`` logger, attach
    ``handlers`` (for pylearn2: the ``pylearn2`` logger's own, so the lines
    look like its monitor output) or a plain handler on ``stream`` (default
    stdout), at level INFO, without propagation. Otherwise change nothing:
    a configuration the user made (``logging.basicConfig``, a level) is
    respected. Returns whether handlers were attached.
    """
    package_log = logging.getLogger('normsafe_init')
    if (package_log.handlers or logging.getLogger().handlers
            or package_log.level != logging.NOTSET):
        return False
    handlers = list(handlers or ())
    if not handlers:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(logging.Formatter('%(message)s'))
        handlers = [handler]
    for handler in handlers:
        package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    package_log.propagate = False
    return True
