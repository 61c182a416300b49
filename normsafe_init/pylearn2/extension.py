"""``NormSafeInit``: the pylearn2 training extension.

pylearn2's ``Train.setup()`` runs every extension's ``setup`` before
``model.enforce_constraints()`` and the first monitor call, so ``setup`` is
the one place that still sees the raw initial draw. This module imports
neither pylearn2 nor Theano (the channels are built at setup time).
"""
from __future__ import absolute_import, division, print_function

import logging

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options, check_flag)
from .layers import find_constrained

__all__ = ['NormSafeInit', 'TAG_KEY', 'model_looks_trained']

log = logging.getLogger(__name__)

#: Key of this extension's record in ``model.tag``.
TAG_KEY = 'normsafe_init'


def model_looks_trained(model):
    """Why ``model`` must be treated as trained, or None: its monitor has
    seen examples, or it keeps an earlier pylearn2 ``Monitor`` (as
    ``push_monitor`` does)."""
    monitor = getattr(model, 'monitor', None)
    seen = 0 if monitor is None else int(monitor.get_examples_seen())
    if seen > 0:
        return 'its monitor has seen %d examples' % seen
    for key, value in sorted(vars(model).items()):
        if key == 'monitor' or value is None:
            continue
        cls = type(value)
        if cls.__name__ == 'Monitor' and cls.__module__.startswith('pylearn2'):
            return ('it carries an earlier monitor as model.%s '
                    '(resumed with push_monitor)' % key)
    return None


class NormSafeInit(object):
    """Make initial weights respect their max-norm constraints: add
    ``!obj:normsafe_init.NormSafeInit {fraction: 0.5, action: 'rescale'}``
    last to a ``Train``'s ``extensions``.

    Parameters
    ----------
    fraction, action, confidence, mode, seed, layers, exclude, force
        As :class:`normsafe_init.options.Options` (``layers`` /
        ``exclude`` by ``layer_name``; the README's option table).
    channels : bool, default True
        Add monitor channels ``normsafe_<layer>_<kind>_max_over_limit`` and
        ``normsafe_<layer>_<kind>_pinned``, when the monitor has a dataset.
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, channels=True):
        self.options = Options(
            fraction=fraction, action=action, confidence=confidence,
            mode=mode, seed=seed, layers=layers, exclude=exclude, force=force)
        self.channels = check_flag(channels, 'channels')
        self.record = None

    def on_monitor(self, model, dataset, algorithm):
        pass

    def on_save(self, model, dataset, algorithm):
        pass

    def setup(self, model, dataset, algorithm):
        """Measure, repair, log, record in ``model.tag['normsafe_init']``
        and add channels; on any error nothing is changed."""
        # pylearn2's train.py configures only the 'pylearn2' logger: share
        # its handlers unless the user configured logging.
        ensure_visible(logging.getLogger('pylearn2').handlers)
        weights, unknown, _ = find_constrained(model)
        result = run.run(weights, self.options, unknown=unknown,
                         trained=model_looks_trained(model),
                         previous=model.tag.get(TAG_KEY), log=log,
                         framework='pylearn2', force_hint='force: true')
        record = result.record
        record['options']['channels'] = self.channels
        model.tag[TAG_KEY] = record
        self.record = record
        if self.channels:
            from .channels import add_channels
            add_channels(model, result.weights, log)
