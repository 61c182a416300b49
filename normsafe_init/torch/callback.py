"""``NormSafeInit``: the skorch callback (braindecode's ``EEGClassifier``
and ``EEGRegressor`` are skorch nets).

skorch calls ``on_train_begin`` after ``net.initialize()`` has built the
module and the optimizer and before the first batch: the callback runs
:func:`normsafe_init.torch.make_safe` there, on ``net.module_`` (the
optimizer keeps its references: tensors are written in place). At the end
of every epoch it records, for each constrained tensor,
``normsafe_<name>_max_over_limit`` (largest stored norm / limit; above 1
the max-norm scales that tensor's gradient by ``limit / norm``) and
``normsafe_<name>_pinned`` in ``net.history``.
"""
import logging
import weakref

from skorch.callbacks import Callback

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)
from ..report import metrics
from .api import RECORD_ATTR, store_record
from .discovery import find_constrained

__all__ = ['NormSafeInit', 'net_trained']

log = logging.getLogger('normsafe_init.torch')


def net_trained(net, seen=None):
    """Why ``net`` must be taken as trained at ``on_train_begin``, or None:
    its history has epochs (``partial_fit``, ``warm_start=True``), or its
    module is one this callback already saw train (skorch reuses a module
    *instance* on a second ``fit`` while it resets the history)."""
    epochs = len(net.history)
    if epochs:
        return 'net.history has %d epoch(s) (partial_fit or warm_start)' \
            % epochs
    module = getattr(net, 'module_', None)
    if seen is not None and module is not None and seen.get(module):
        return ('its module instance was trained for %d epoch(s) by an '
                'earlier fit' % seen[module])
    return None


class NormSafeInit(Callback):
    """Make a skorch net's max-norm constrained weights safe at the start
    of training, and record their norms every epoch.

    Parameters are those of :func:`normsafe_init.torch.make_safe`
    (``fraction``, ``action``, ``confidence``, ``mode``, ``seed``,
    ``layers``, ``exclude``, ``force``, ``constraints``, ``init``).
    A net that has trained (non-empty ``net.history``: ``partial_fit``,
    ``warm_start=True``; or a module instance it saw train) is only
    reported unless ``force=True``.

    Attributes: ``options`` (the validated
    :class:`normsafe_init.options.Options`), ``record`` (the
    JSON-serialisable record of the last ``on_train_begin``), ``weights``
    (the constrained tensors it selected).

    Example::

        from braindecode import EEGClassifier
        from normsafe_init.torch import NormSafeInit
        clf = EEGClassifier(model, callbacks=[
            ('normsafe', NormSafeInit(fraction=0.5))], max_epochs=20)
        clf.fit(X, y)
        clf.history[:, 'normsafe_final_layer.weight_max_over_limit']
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, constraints=None,
                 init=None):
        self.fraction = fraction
        self.action = action
        self.confidence = confidence
        self.mode = mode
        self.seed = seed
        self.layers = layers
        self.exclude = exclude
        self.force = force
        self.constraints = constraints
        self.init = init
        self.options_ = self._options()  # bad options fail here
        self.record_ = None
        self.weights_ = []
        self.seen_ = weakref.WeakKeyDictionary()

    # skorch takes every attribute without a trailing underscore for a
    # parameter: the state lives in ``options_`` / ``record_`` /
    # ``weights_``, shown under the names every adapter uses.
    @property
    def options(self):
        return self.options_

    @property
    def record(self):
        return self.record_

    @property
    def weights(self):
        return self.weights_

    def _options(self):
        return Options(
            fraction=self.fraction, action=self.action,
            confidence=self.confidence, mode=self.mode, seed=self.seed,
            layers=self.layers, exclude=self.exclude, force=self.force)

    def __getstate__(self):
        state = dict(self.__dict__)
        # weak references do not pickle, and the tensors found belong to
        # the live module (found again at the next on_train_begin)
        state['seen_'] = None
        state['weights_'] = []
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.seen_ = weakref.WeakKeyDictionary()

    def initialize(self):
        self.options_ = self._options()  # set_params may have changed them
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        weights, unknown = find_constrained(module, self.constraints,
                                            self.init)
        trained = net_trained(net, self.seen_)
        ensure_visible()
        self.options_ = self._options()  # set_params may have changed them
        result = run.run(weights, self.options_, unknown=unknown,
                         trained=trained,
                         previous=getattr(module, RECORD_ATTR, None),
                         log=log, framework='torch')
        store_record(module, result.record)
        self.record_ = result.record
        self.weights_ = result.weights

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        for key, value in metrics(self.weights_).items():
            net.history.record(key, value)
        module = getattr(net, 'module_', None)
        if module is not None:
            self.seen_[module] = self.seen_.get(module, 0) + 1
