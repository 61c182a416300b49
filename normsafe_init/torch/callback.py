"""``NormSafeInit``: the skorch callback (braindecode's ``EEGClassifier``
and ``EEGRegressor`` are skorch nets). skorch calls ``on_train_begin``
after ``net.initialize()`` has built the module and the optimizer, before
the first batch: the repair runs there, in place (the optimizer keeps its
references).
"""
import weakref

import torch
from skorch.callbacks import Callback

from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options, check_flag)
from ..report import metrics
from .api import run_on
from .discovery import check_options, find_constrained
from .enforce import enforce_constraints

__all__ = ['NormSafeInit', 'net_trained']


def net_trained(net, seen=None):
    """Why ``net`` must be taken as trained at ``on_train_begin``, or None
    (the module's own signals then decide: :mod:`.signals`): its history
    has epochs (``partial_fit``, ``warm_start=True``), or its module is an
    instance this callback already saw train (skorch reuses it on a second
    ``fit`` while it resets the history)."""
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
    """Make a skorch net's max-norm constrained weights safe at
    ``on_train_begin``, and record ``normsafe_<name>_max_over_limit`` and
    ``normsafe_<name>_pinned`` in ``net.history`` every epoch.

    Parameters are those of :func:`normsafe_init.torch.make_safe`, all
    checked at construction, and ``enforce``: if True, register
    :func:`normsafe_init.torch.enforce_constraints` on ``net.optimizer_``
    after the repair, follow a new optimizer or module (skorch re-creates
    them on ``initialize()`` and some ``set_params``) and remove it at
    ``on_train_end``. A net that has trained (:func:`net_trained`) is only
    reported unless ``force=True``.

    Attributes: ``options`` (the validated
    :class:`normsafe_init.options.Options`), ``record`` (the record of the
    last ``on_train_begin``), ``weights`` (the constrained tensors it
    selected), ``enforcer_`` (the :class:`.enforce.Enforcer` while an
    ``enforce=True`` fit runs, else None).

    Example::

        from braindecode import EEGClassifier
        from normsafe_init.torch import NormSafeInit
        clf = EEGClassifier(model, callbacks=[
            ('normsafe', NormSafeInit(fraction=0.5, enforce=True))],
            max_epochs=20)
        clf.fit(X, y)
        clf.history[:, 'normsafe_final_layer.weight_max_over_limit']
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, constraints=None,
                 init=None, enforce=False):
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
        self.enforce = enforce
        self.initialize()  # bad options fail here
        self.record_ = None
        self.weights_ = []
        self.enforcer_ = None
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

    def __getstate__(self):
        state = dict(self.__dict__)
        # weak references do not pickle, and the tensors found belong to
        # the live module (found again at the next on_train_begin)
        state['seen_'] = None
        state['weights_'] = []
        state['enforcer_'] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.seen_ = weakref.WeakKeyDictionary()

    def initialize(self):
        """Validate the options (again: ``set_params`` may change them)."""
        check_options(self.constraints, self.init)
        check_flag(self.enforce, 'enforce')
        self.options_ = Options(
            fraction=self.fraction, action=self.action,
            confidence=self.confidence, mode=self.mode, seed=self.seed,
            layers=self.layers, exclude=self.exclude, force=self.force)
        return self

    def _enforce(self, net):
        """(Re-)register the per-step projection on ``net``'s optimizer."""
        self._stop()
        self.enforcer_ = enforce_constraints(
            net.module_, net.optimizer_, self.constraints,
            layers=self.layers, exclude=self.exclude)

    def _stop(self):
        if self.enforcer_ is not None:
            self.enforcer_.remove()
            self.enforcer_ = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.initialize()
        weights, unknown = find_constrained(net.module_, self.constraints,
                                            self.init)
        optimizer = getattr(net, 'optimizer_', None)
        if not isinstance(optimizer, torch.optim.Optimizer):
            optimizer = None
        result = run_on(net.module_, self.options_, weights, unknown,
                        optimizer, net_trained(net, self.seen_))
        self.record_ = result.record
        self.weights_ = result.weights
        if self.enforce:
            self._enforce(net)

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        enforcer = self.enforcer_
        if enforcer is not None and training and (
                enforcer.optimizer is not getattr(net, 'optimizer_', None)
                or enforcer.model is not getattr(net, 'module_', None)):
            self._enforce(net)  # skorch re-created the optimizer or module

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._stop()

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        for key, value in metrics(self.weights_).items():
            net.history.record(key, value)
        module = getattr(net, 'module_', None)
        if module is not None:
            self.seen_[module] = self.seen_.get(module, 0) + 1
