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
channels are built in :mod:`normsafe_init.channels` at setup time.
"""
from __future__ import absolute_import, division, print_function

import logging
import sys

import numpy as np

from .. import __version__
from .._validation import (STRING_TYPES, check_choice, check_fraction,
                          check_int, check_open_probability)
from ..analysis import ACTIONS, analyze, plan_repair
from .layers import find_constrained
from ..solver import MODES

__all__ = ['NormSafeInit', 'TAG_KEY', 'model_looks_trained']

log = logging.getLogger(__name__)

#: Key of this extension's record in ``model.tag``.
TAG_KEY = 'normsafe_init'


def _check_names(value, name):
    if value is None:
        return None
    if isinstance(value, STRING_TYPES) or not hasattr(value, '__iter__'):
        raise TypeError('%s must be a list of layer names; got %r'
                        % (name, value))
    names = list(value)
    for item in names:
        if not isinstance(item, STRING_TYPES):
            raise TypeError('%s must contain layer names (strings); got %r'
                            % (name, item))
    return names


def _make_visible():
    """Make sure the INFO lines reach the user.

    pylearn2's ``train.py`` configures only the ``pylearn2`` logger, so a
    third-party logger would print nothing (Python 3) or complain (Python
    2). When neither the ``normsafe_init`` logger nor the root logger has a
    handler and no level was set on the ``normsafe_init`` logger, the ``pylearn2`` logger's handlers (which print its monitor
    output) are shared, or a plain stdout handler is added.
    """
    package_log = logging.getLogger('normsafe_init')
    if (package_log.handlers or logging.getLogger().handlers
            or package_log.level != logging.NOTSET):
        return  # the user configured logging: respect it
    handlers = list(logging.getLogger('pylearn2').handlers)
    if not handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter('%(message)s'))
        handlers = [handler]
    for handler in handlers:
        package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    package_log.propagate = False


def _examples_seen(monitor):
    try:
        return int(monitor.get_examples_seen())
    except Exception:  # an old or foreign monitor object
        return int(getattr(monitor, '_examples_seen', 0) or 0)


def model_looks_trained(model):
    """Why ``model`` must be treated as trained, or None.

    Trained means: its monitor has seen examples; or another pylearn2
    ``Monitor`` is stored on it (``push_monitor`` keeps the old one under
    its name, with or without ``transfer_experience``); or it already
    carries this extension's record.
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
    if _record_of(model) is not None:
        return 'it already carries a normsafe_init record'
    return None


def _record_of(model):
    tag = getattr(model, 'tag', None)
    if tag is not None:
        return tag.get(TAG_KEY)
    return getattr(model, '_normsafe_init_record', None)


def _store_record(model, record):
    tag = getattr(model, 'tag', None)
    previous = _record_of(model)
    if previous is not None:
        record['previous'] = previous
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

    def __init__(self, fraction=0.5, action='rescale', confidence=0.99,
                 mode='max', seed=0, layers=None, exclude=None, force=False,
                 channels=True):
        try:
            self._set_options(fraction, action, confidence, mode, seed,
                              layers, exclude, force, channels)
        except TypeError as exc:
            # pylearn2's YAML loader (checked_call) answers any TypeError
            # raised by a constructor with its own signature check, which
            # under Python 3 reads "NormSafeInit did not get these expected
            # arguments: " and hides this message: raise a ValueError.
            raise ValueError(str(exc))
        self.last_record = None

    def _set_options(self, fraction, action, confidence, mode, seed, layers,
                     exclude, force, channels):
        self.fraction = check_fraction(fraction, 'fraction')
        self.action = check_choice(action, 'action', ACTIONS)
        self.confidence = check_open_probability(confidence, 'confidence')
        self.mode = check_choice(mode, 'mode', MODES)
        self.seed = check_int(seed, 'seed', minimum=0)
        self.layers = _check_names(layers, 'layers')
        self.exclude = _check_names(exclude, 'exclude')
        both = set(self.layers or ()) & set(self.exclude or ())
        if both:
            raise ValueError('layers and exclude both name %s'
                             % ', '.join(sorted(both)))
        for flag, name in ((force, 'force'), (channels, 'channels')):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError('%s must be true or false; got %r'
                                % (name, flag))
        self.force = bool(force)
        self.channels = bool(channels)

    def options(self):
        """The options as a JSON-serialisable dict."""
        return {'fraction': self.fraction, 'action': self.action,
                'confidence': self.confidence, 'mode': self.mode,
                'seed': self.seed, 'layers': self.layers,
                'exclude': self.exclude, 'force': self.force,
                'channels': self.channels}

    # -- TrainExtension interface ----------------------------------------
    def on_monitor(self, model, dataset, algorithm):
        """Nothing to do after monitoring."""

    def on_save(self, model, dataset, algorithm):
        """Nothing to do before saving."""

    def setup(self, model, dataset, algorithm):
        """Measure, repair, log, record and add channels (see the class
        docstring). Computes every change first; on any error nothing is
        changed."""
        _make_visible()
        weights, unknown, _ = find_constrained(model)
        selected = self._select(weights, unknown)
        trained = model_looks_trained(model)
        act = self.action
        reason = None
        if trained is not None and not self.force:
            act = 'report'
            reason = ('model looks trained (%s): reporting only; set '
                      'force: true to act anyway' % trained)
            log.warning('normsafe_init: %s', reason)
        rng = np.random.RandomState(self.seed)
        log.info('normsafe_init %s: fraction=%g action=%s%s confidence=%g '
                 'seed=%d, %d constrained layer(s)', __version__,
                 self.fraction, act,
                 '' if act == self.action else ' (asked %s)' % self.action,
                 self.confidence, self.seed, len(selected))
        # 1. Analyse and plan everything; nothing is changed yet.
        planned = []
        for weight in selected:
            value = weight.read()  # only read while planning
            analysis = analyze(weight, value, self.fraction, self.confidence,
                               self.mode)
            plan = plan_repair(analysis, value, act, rng)
            planned.append((weight, analysis, plan))
        # 2. Apply: set_value on the existing shared variables only.
        for weight, _, plan in planned:
            plan.apply(weight)
        # 3. Log, record, channels.
        for weight, analysis, plan in planned:
            for line in _log_lines(weight, analysis, plan):
                log.info(line)
        for item in unknown:
            log.warning('normsafe_init: %s (%s) has %s but is left alone: %s',
                        item.name, item.class_name,
                        ', '.join('%s=%g' % kv for kv in sorted(
                            item.attrs.items())), item.reason)
        changed = [w.name for w, _, p in planned if p.changes]
        broken = [w.name for w, a, _ in planned if a.breaks]
        log.info('normsafe_init: %d of %d layer(s) broke fraction %g; '
                 'changed: %s', len(broken), len(planned), self.fraction,
                 ', '.join(changed) if changed else 'none')
        record = {
            'version': __version__, 'options': self.options(),
            'action': act, 'reason': reason, 'trained': trained,
            'layers': [dict(a.as_dict(), repair=p.as_dict())
                       for _, a, p in planned],
            'unknown': [u.as_dict() for u in unknown],
            'changed': changed,
        }
        _store_record(model, record)
        self.last_record = record
        if self.channels:
            from .channels import add_channels
            add_channels(model, selected, log)

    def _select(self, weights, unknown):
        known = set(w.name for w in weights) | set(u.name for u in unknown)
        for option, names in (('layers', self.layers),
                              ('exclude', self.exclude)):
            missing = [n for n in names or () if n not in known]
            if missing:
                raise ValueError(
                    '%s names %s, which %s not a constrained layer of this '
                    'model; constrained layers: %s'
                    % (option, ', '.join(missing),
                       'is' if len(missing) == 1 else 'are',
                       ', '.join(sorted(known)) or 'none'))
        return [w for w in weights
                if (self.layers is None or w.name in self.layers)
                and w.name not in (self.exclude or ())]


def _stats(summary):
    return '%.4g/%.4g/%.4g' % (summary.min, summary.mean, summary.max)


def _log_lines(weight, analysis, plan):
    """One line per constraint of the layer, then its repair."""
    lines = []
    for part, after in zip(analysis.parts, plan.after):
        c = part.constraint
        n = part.n if np.ndim(part.n) == 0 else '%d..%d' % (
            np.min(part.n), np.max(part.n))
        declared = 'declared init unknown'
        if weight.family is not None:
            declared = 'declared %s' % weight.family.describe()
            if part.expected_mean is not None:
                declared += ': expected mean %.4g, max %.4g at %g' % (
                    part.expected_mean, part.expected_max,
                    analysis.confidence)
        lines.append(
            'normsafe_init: %s (%s) W%s %s norms axes %s n=%s m=%d '
            '%s=%g t=%.4g | before min/mean/max %s, %d > t, %d > limit | '
            '%s | after %s'
            % (weight.name, weight.class_name, list(weight.shape), c.kind,
               c.axes, n, part.before.count, c.attr, c.limit, part.target,
               _stats(part.before), part.before.above_target,
               part.before.above_limit, declared, _stats(after)))
    what = plan.applied
    if plan.factor is not None:
        what += ' x%.6g' % plan.factor
    if plan.clipped is not None:
        what += ' (%d vectors)' % plan.clipped
    if plan.new_init is not None:
        what += ' to %s' % ', '.join(
            '%s=%.6g' % (k, v) for k, v in sorted(plan.new_init.items())
            if k != 'family')
        what += ' (%d draw%s)' % (plan.tries, '' if plan.tries == 1 else 's')
    if plan.reason:
        what += ' [%s]' % plan.reason
    lines.append('normsafe_init: %s -> %s' % (weight.name, what))
    return lines
