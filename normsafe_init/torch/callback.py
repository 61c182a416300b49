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

With ``enforce=True`` it also registers
:func:`normsafe_init.torch.enforce_constraints` on ``net.optimizer_``
after the repair (every optimizer step then projects the stored tensors
onto their limits), checks at each batch that the net still has that
optimizer and module (skorch re-creates the optimizer on ``initialize()``
and on some ``set_params``; a new one is hooked instead of the old), and
removes the hook at ``on_train_end``.
"""
import logging
import math
import numbers
import weakref

import torch
from skorch.callbacks import Callback

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options, check_flag)
from ..report import metrics
from .api import RECORD_ATTR, store_record
from .discovery import find_constrained
from .enforce import enforce_constraints
from .inits import declared_family
from .signals import add_evidence, model_trained

__all__ = ['NormSafeInit', 'net_trained']

log = logging.getLogger('normsafe_init.torch')


def net_trained(net, seen=None):
    """Why ``net`` must be taken as trained at ``on_train_begin``, or None:
    its history has epochs (``partial_fit``, ``warm_start=True``), its
    module is one this callback already saw train (skorch reuses a module
    *instance* on a second ``fit`` while it resets the history), or the
    module carries training (:mod:`.signals`: BatchNorm counters, e.g.
    from ``load_params(f_params=...)``, which itself leaves no mark).
    Optimizer state (``load_params(f_optimizer=...)``) is evidence on
    each weight it covers, added in ``on_train_begin``."""
    epochs = len(net.history)
    if epochs:
        return 'net.history has %d epoch(s) (partial_fit or warm_start)' \
            % epochs
    module = getattr(net, 'module_', None)
    if seen is not None and module is not None and seen.get(module):
        return ('its module instance was trained for %d epoch(s) by an '
                'earlier fit' % seen[module])
    if module is None:
        return None
    return model_trained(module)


def check_constraints(value):
    """``ValueError`` unless ``value`` is None or ``{name or pattern: c}``
    / ``{name: {'max_norm': c, 'dim': d}}`` (c a finite number > 0, d an
    int), as ``make_safe`` takes it; checked before any model exists."""
    if value is None:
        return
    if not hasattr(value, 'items'):
        raise ValueError('constraints must be a dict {name or pattern: '
                         'max_norm} or {name: {"max_norm": c, "dim": d}}; '
                         'got %r' % (value,))
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError('constraints keys must be parameter names '
                             '(str); got %r' % (key,))
        dim = 0
        if hasattr(item, 'items'):
            if set(item) - {'max_norm', 'dim'} or 'max_norm' not in item:
                raise ValueError('constraints[%r] must be a number or a dict '
                                 "with keys 'max_norm' and optionally 'dim'; "
                                 'got %r' % (key, item))
            item, dim = item['max_norm'], item.get('dim', 0)
        if isinstance(item, bool) or not isinstance(item, numbers.Real) \
                or not math.isfinite(item) or item <= 0:
            raise ValueError('constraints[%r]: max_norm must be a finite real '
                             'number > 0; got %r' % (key, item))
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise ValueError('constraints[%r]: dim must be an integer; got %r'
                             % (key, dim))


def check_init(value):
    """``ValueError`` unless ``value`` is None or ``{name or pattern:
    init}`` with every init one ``make_safe`` accepts."""
    if value is None:
        return
    if not hasattr(value, 'items'):
        raise ValueError('init must be a dict {name or pattern: init}; got %r'
                         % (value,))
    for key, spec in value.items():
        if not isinstance(key, str):
            raise ValueError('init keys must be parameter names (str); got '
                             '%r' % (key,))
        declared_family(spec, (2, 2), 'init[%r]' % key)


class NormSafeInit(Callback):
    """Make a skorch net's max-norm constrained weights safe at the start
    of training, and record their norms every epoch.

    Parameters are those of :func:`normsafe_init.torch.make_safe`
    (``fraction``, ``action``, ``confidence``, ``mode``, ``seed``,
    ``layers``, ``exclude``, ``force``, ``constraints``, ``init``), all
    checked here (a bad value fails at construction), and ``enforce``:
    if True, project the constrained stored tensors onto their limits
    after every optimizer step (:func:`normsafe_init.torch.
    enforce_constraints`) for the whole fit.
    A net that has trained (non-empty ``net.history``: ``partial_fit``,
    ``warm_start=True``; or a module instance it saw train) is only
    reported unless ``force=True``.

    Attributes: ``options`` (the validated
    :class:`normsafe_init.options.Options`), ``record`` (the
    JSON-serialisable record of the last ``on_train_begin``), ``weights``
    (the constrained tensors it selected), ``enforcer_`` (the
    :class:`normsafe_init.torch.enforce.Enforcer` while an ``enforce=True``
    fit runs, else None).

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
        self.options_ = self._options()  # bad options fail here
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

    def _options(self):
        check_constraints(self.constraints)
        check_init(self.init)
        check_flag(self.enforce, 'enforce')
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
        state['enforcer_'] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.seen_ = weakref.WeakKeyDictionary()

    def initialize(self):
        self.options_ = self._options()  # set_params may have changed them
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
        module = net.module_
        weights, unknown = find_constrained(module, self.constraints,
                                            self.init)
        optimizer = getattr(net, 'optimizer_', None)
        if isinstance(optimizer, torch.optim.Optimizer):
            add_evidence(weights, optimizer)
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
