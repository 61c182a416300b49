"""``NormSafeInit``: the pylearn2 training extension.

pylearn2's ``Train.setup()`` runs ``algorithm.setup`` -> every extension's
``setup`` -> ``model.enforce_constraints()``, and only then the first
monitor call. ``NormSafeInit.setup`` is therefore the one place that still
sees the raw initial draw: it measures the exact norms each constraint will
act on, repairs the layers whose vectors exceed ``fraction * limit``, logs
what it found and did, records it in ``model.tag['normsafe_init']`` and adds
monitor channels. ``enforce_constraints`` then finds nothing left to clip.

This module imports neither pylearn2 nor Theano, so
``!obj:normsafe_init.NormSafeInit`` resolves in any environment; the Theano
channels are built in :mod:`normsafe_init.pylearn2.channels` at setup time.
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


def _examples_seen(monitor):
    try:
        return int(monitor.get_examples_seen())
    except Exception:  # an old or foreign monitor object
        return int(getattr(monitor, '_examples_seen', 0) or 0)


def model_looks_trained(model):
    """Why ``model`` must be treated as trained, or None.

    Trained means: its monitor has seen examples; or another pylearn2
    ``Monitor`` is stored on it (``push_monitor`` keeps the old one under
    its name, with or without ``transfer_experience``). (A record of an
    earlier run is the core's business: the weights it covers count as
    processed.)
    """
    monitor = getattr(model, 'monitor', None)
    if monitor is not None and _examples_seen(monitor) > 0:
        return ('its monitor has seen %d examples' % _examples_seen(monitor))
    for key, value in sorted(vars(model).items()):
        if key == 'monitor' or value is None:
            continue
        cls = type(value)
        if cls.__name__ == 'Monitor' and cls.__module__.startswith('pylearn2'):
            return ('it carries an earlier monitor as model.%s '
                    '(resumed with push_monitor)' % key)
    return None


def _record_of(model):
    tag = getattr(model, 'tag', None)
    if tag is not None:
        return tag.get(TAG_KEY)
    return getattr(model, '_normsafe_init_record', None)


def _store_record(model, record):
    tag = getattr(model, 'tag', None)
    if tag is not None:
        tag[TAG_KEY] = record
    else:  # pylearn2 before May 2014 has no Model.tag
        model._normsafe_init_record = record


class NormSafeInit(object):
    """Make initial weights respect their max-norm constraints.

    Add it to the ``extensions`` of a pylearn2 ``Train`` (last, after any
    extension that loads or replaces weights)::

        extensions: [
            !obj:normsafe_init.NormSafeInit {
                fraction: 0.5,        # target t = 0.5 x each layer's limit
                action: 'rescale',    # or 'report', 'clip', 'reinit'
            },
        ]

    In ``setup`` (before pylearn2 silently clips the initial weights onto
    the limits) every layer with ``max_col_norm``, ``max_row_norm`` or
    ``max_kernel_norm`` is measured; a layer *breaks* when any of its
    vectors has a norm above ``t = fraction * limit``; broken layers are
    repaired by ``action``.

    Parameters
    ----------
    fraction : float in (0, 1], default 0.5
        Target as a fraction of each layer's limit.
    action : {'rescale', 'clip', 'reinit', 'report'}, default 'rescale'
        ``'rescale'``: multiply the layer by ``t / max norm`` (keeps the
        drawn directions and the relative spread of the norms).
        ``'clip'``: project each vector above ``t`` onto ``t`` (others stay
        bit-identical). ``'reinit'``: redraw the layer from its declared
        init (irange with include_prob, istdev, sparse_init with
        sparse_stdev) at the largest scale that keeps all its vectors under
        ``t`` with probability ``confidence``, from a dedicated
        ``RandomState(seed)``. ``'report'``: change nothing, log only.
    confidence : float in (0, 1), default 0.99
        For ``reinit``: P(all vectors <= t) at the solved scale.
    mode : {'max', 'mean'}, default 'max'
        For ``reinit``: ``'mean'`` solves for expected norm = ``t`` instead
        (then some vectors exceed ``t`` and the draw is rescaled).
    seed : int >= 0, default 0
        Seed of the dedicated generator used by ``reinit`` (logged and
        recorded). The model's own ``rng`` is never used.
    layers : list of str, optional
        Only these layers (by ``layer_name``).
    exclude : list of str, optional
        Leave these layers alone.
    force : bool, default False
        Also act on a model that looks trained (resumed with
        ``push_monitor``, monitor has seen examples, or already processed).
        Without it such a model is only reported.
    channels : bool, default True
        Add monitor channels ``normsafe_<layer>_<kind>_max_over_limit`` and
        ``normsafe_<layer>_<kind>_pinned`` (fraction of vectors within 1e-4
        of the limit), when the monitor has a dataset.
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, channels=True):
        # ValueError, not TypeError: pylearn2's YAML loader (checked_call)
        # answers a constructor's TypeError with its own signature message
        # and hides this one.
        self.options = Options(
            fraction=fraction, action=action, confidence=confidence,
            mode=mode, seed=seed, layers=layers, exclude=exclude, force=force)
        self.channels = check_flag(channels, 'channels')
        self.record = None

    # -- TrainExtension interface ----------------------------------------
    def on_monitor(self, model, dataset, algorithm):
        """Nothing to do after monitoring."""

    def on_save(self, model, dataset, algorithm):
        """Nothing to do before saving."""

    def setup(self, model, dataset, algorithm):
        """Measure, repair, log, record and add channels (see the class
        docstring). Computes every change first; on any error nothing is
        changed."""
        # pylearn2's train.py configures only the 'pylearn2' logger: share
        # its handlers unless the user configured logging.
        ensure_visible(logging.getLogger('pylearn2').handlers)
        weights, unknown, _ = find_constrained(model)
        result = run.run(weights, self.options, unknown=unknown,
                         trained=model_looks_trained(model),
                         previous=_record_of(model), log=log,
                         framework='pylearn2', force_hint='force: true')
        record = result.record
        record['options']['channels'] = self.channels
        _store_record(model, record)
        self.record = record
        if self.channels:
            from .channels import add_channels
            add_channels(model, result.weights, log)
