"""One run of normsafe_init over a model's constrained weights.

Every adapter (the pylearn2 extension, the Keras callback, the PyTorch
``make_safe`` and skorch callback) describes its weights as
:class:`normsafe_init.weights.ConstrainedWeight` objects and calls
:func:`run`; the policy lives here and in :mod:`normsafe_init.analysis`:

1. select the weights (``layers`` / ``exclude``; an unknown name is an
   error);
2. if the model looks trained (the adapter says why), only report, unless
   ``force``;
3. analyse and plan **every** selected weight (norms, ``t = fraction x
   limit``, the declared init's law, the solved safe scale, the repair);
   any error here (a non-finite weight, say) leaves everything unchanged;
4. apply the plans (``weight.write``: in place, same dtype and shape);
5. log a line per constraint and a summary, and return a JSON-serialisable
   record.

Example (a plain numpy weight, as an adapter would describe it)::

    >>> import numpy as np
    >>> from normsafe_init.weights import Constraint, ConstrainedWeight
    >>> from normsafe_init.laws import Gaussian
    >>> class ArrayWeight(ConstrainedWeight):
    ...     def __init__(self, name, array, limit):
    ...         ConstrainedWeight.__init__(
    ...             self, name, [Constraint('max_col_norm', 'col', (0,), limit)],
    ...             array.shape, array.dtype, family=Gaussian(0.05))
    ...         self.array = array
    ...     def read(self):
    ...         return self.array
    ...     def write(self, value):
    ...         self.array[...] = value
    >>> W = np.random.RandomState(1).randn(3200, 64).astype('float32') * 0.05
    >>> result = run([ArrayWeight('h2', W, 1.9)], Options(fraction=0.5))
    >>> result.changed
    ['h2']
    >>> bool(np.sqrt((W.astype('float64') ** 2).sum(axis=0)).max() <= 0.95 * (1 + 1e-6))
    True
"""
from __future__ import absolute_import, division, print_function

import logging

import numpy as np

from . import __version__
from ._record import Record
from ._validation import (STRING_TYPES, check_choice, check_fraction,
                          check_int, check_open_probability)
from .analysis import ACTIONS, analyze, plan_repair
from .defaults import DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE
from .norms import PINNED_RTOL, vector_norms
from .solver import MODES
from .weights import format_n

__all__ = ['Options', 'Result', 'run', 'audit', 'metrics', 'metric_names',
           'select', 'plan_all', 'log_lines', 'MAX_SEED']

#: Seeds are those numpy's ``RandomState`` accepts: 0 <= seed < 2**32.
MAX_SEED = 2 ** 32 - 1


def _check_names(value, name):
    if value is None:
        return None
    if isinstance(value, STRING_TYPES) or not hasattr(value, '__iter__'):
        raise TypeError('%s must be a list of layer names; got %r'
                        % (name, value))
    names = list(value)
    if not names:
        raise ValueError('%s must name at least one layer; got an empty list '
                         '(leave it out to select every layer)' % name)
    for item in names:
        if not isinstance(item, STRING_TYPES):
            raise TypeError('%s must contain layer names (strings); got %r'
                            % (name, item))
    return names


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError('%s must be true or false; got %r' % (name, value))
    return bool(value)


class Options(Record):
    """The options every adapter takes, validated.

    Parameters
    ----------
    fraction : float in (0, 1], default 0.5
        Target ``t = fraction x limit`` for every vector.
    action : {'rescale', 'clip', 'reinit', 'report'}, default 'rescale'
        ``rescale``: the whole weight times ``t / max norm``; ``clip``: each
        vector above ``t`` onto ``t``; ``reinit``: redraw from the declared
        init at the solved safe scale; ``report``: change nothing.
    confidence : float in (0, 1), default 0.99
        For ``reinit``: P(all vectors <= t) at the solved scale.
    mode : {'max', 'mean'}, default 'max'
        ``'mean'`` solves for an expected norm of ``t`` instead.
    seed : int in [0, 2**32), default 0
        Seed of the dedicated ``numpy.random.RandomState`` of ``reinit``.
    layers, exclude : list of str or None
        Only / not these weight names.
    force : bool, default False
        Act even on a model that looks trained.

    Raises ``ValueError`` naming the option, the value and what is allowed.

    >>> Options(fraction=1.5)
    Traceback (most recent call last):
    ...
    ValueError: fraction must be in (0, 1]; got 1.5
    """

    _fields = ('fraction', 'action', 'confidence', 'mode', 'seed', 'layers',
               'exclude', 'force')

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False):
        try:
            self.fraction = check_fraction(fraction, 'fraction')
            self.action = check_choice(action, 'action', ACTIONS)
            self.confidence = check_open_probability(confidence,
                                                     'confidence')
            self.mode = check_choice(mode, 'mode', MODES)
            self.seed = check_int(seed, 'seed', minimum=0)
            if self.seed > MAX_SEED:
                raise ValueError('seed must be an integer in [0, 2**32); '
                                 'got %r' % (seed,))
            self.layers = _check_names(layers, 'layers')
            self.exclude = _check_names(exclude, 'exclude')
            self.force = _check_flag(force, 'force')
        except TypeError as exc:
            # One exception type for every bad option (and pylearn2's YAML
            # loader hides a constructor's TypeError behind its own).
            raise ValueError(str(exc))
        both = set(self.layers or ()) & set(self.exclude or ())
        if both:
            raise ValueError('layers and exclude both name %s'
                             % ', '.join(sorted(both)))


class Result(object):
    """What :func:`run` did: ``record`` (JSON-serialisable), ``planned``
    (``[(weight, analysis, plan), ...]``), ``changed`` (names written),
    ``action`` (the action taken: ``'report'`` for a trained model)."""

    def __init__(self, record, planned):
        self.record = record
        self.planned = planned
        self.changed = record['changed']
        self.action = record['action']


def unknown_names(option, wanted, known):
    """The message for names in ``wanted`` (the value of ``option``, as the
    user wrote it: ``'layers'``, ``'--exclude'``) that are not in ``known``,
    or None when every name is known."""
    missing = [n for n in wanted or () if n not in known]
    if not missing:
        return None
    return ('%s names %s, which %s not a constrained layer of this model; '
            'constrained layers: %s'
            % (option, ', '.join(missing),
               'is' if len(missing) == 1 else 'are',
               ', '.join(sorted(known)) or 'none'))


def select(weights, options, unknown=()):
    """The weights ``options`` select; ``ValueError`` if ``layers`` or
    ``exclude`` names a weight the model does not have, or two weights share
    a name."""
    names = [w.name for w in weights]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise ValueError('several constrained weights are named %s; names '
                         'must be unique' % ', '.join(twice))
    known = set(names) | set(u.name for u in unknown)
    for option, wanted in (('layers', options.layers),
                           ('exclude', options.exclude)):
        message = unknown_names(option, wanted, known)
        if message:
            raise ValueError(message)
    return [w for w in weights
            if (options.layers is None or w.name in options.layers)
            and w.name not in (options.exclude or ())]


def plan_all(weights, options, action):
    """``[(weight, analysis, plan), ...]`` for every weight, nothing
    applied. ``reinit`` draws from one ``RandomState(options.seed)``, in
    weight order."""
    rng = np.random.RandomState(options.seed)
    planned = []
    for weight in weights:
        value = weight.read()
        analysis = analyze(weight, value, options.fraction,
                           options.confidence, options.mode)
        plan = plan_repair(analysis, value, action, rng)
        planned.append((weight, analysis, plan))
    return planned


def run(weights, options, unknown=(), trained=None, log=None,
        framework=None, force_hint='force=True'):
    """Make ``weights`` safe (see the module docstring); returns a
    :class:`Result`.

    Parameters
    ----------
    weights : list of ConstrainedWeight
    options : Options
    unknown : list of UnknownWeight
        Constrained weights the adapter cannot handle (logged, recorded).
    trained : str or None
        Why the model looks trained (then only ``report`` unless
        ``options.force``).
    log : logging.Logger
        Where the lines go (default: the ``normsafe_init`` logger).
    framework : str
        Recorded (``'pylearn2'``, ``'keras'``, ``'torch'``).
    force_hint : str
        How the user sets ``force`` in this framework (for the message).
    """
    log = log or logging.getLogger('normsafe_init')
    selected = select(weights, options, unknown)
    act, reason = options.action, None
    if trained is not None and not options.force:
        act = 'report'
        reason = ('model looks trained (%s): reporting only; set %s to act '
                  'anyway' % (trained, force_hint))
        log.warning('normsafe_init: %s', reason)
    log.info('normsafe_init %s: fraction=%g action=%s%s confidence=%g '
             'seed=%d, %d constrained layer(s)', __version__,
             options.fraction, act,
             '' if act == options.action else ' (asked %s)' % options.action,
             options.confidence, options.seed, len(selected))
    planned = plan_all(selected, options, act)   # may raise: nothing changed
    for weight, _, plan in planned:
        plan.apply(weight)
    for weight, analysis, plan in planned:
        for part in analysis.parts:
            if part.target_note:
                log.warning('normsafe_init: %s: %s', weight.name,
                            part.target_note)
        for line in log_lines(weight, analysis, plan):
            log.info(line)
    for item in unknown:
        log.warning('normsafe_init: %s (%s) has %s but is left alone: %s',
                    item.name, item.class_name, ', '.join(
                        '%s=%s' % (k, _num(v))
                        for k, v in sorted(item.attrs.items())),
                    item.reason)
    changed = [w.name for w, _, p in planned if p.changes]
    broken = [w.name for w, a, _ in planned if a.breaks]
    log.info('normsafe_init: %d of %d layer(s) broke fraction %g; changed: %s',
             len(broken), len(planned), options.fraction,
             ', '.join(changed) if changed else 'none')
    record = {
        'version': __version__, 'framework': framework,
        'options': options.as_dict(), 'action': act, 'reason': reason,
        'trained': trained,
        'layers': [dict(a.as_dict(), repair=p.as_dict())
                   for _, a, p in planned],
        'unknown': [u.as_dict() for u in unknown],
        'changed': changed,
    }
    return Result(record, planned)


def _num(value):
    """A constraint value for messages: ``%g`` for numbers."""
    if isinstance(value, (int, float, np.number)) and \
            not isinstance(value, bool):
        return '%g' % value
    return '%s' % (value,)


def _stats(summary):
    return '%.4g/%.4g/%.4g' % (summary.min, summary.mean, summary.max)


def log_lines(weight, analysis, plan):
    """The log lines of one weight: one per constraint, then its repair."""
    lines = []
    for part, after in zip(analysis.parts, plan.after):
        c = part.constraint
        declared = 'declared init unknown'
        if weight.family is not None:
            declared = 'declared %s' % weight.family.describe()
            if part.expected_mean is not None:
                declared += ': expected mean %.4g, max %.4g at %g' % (
                    part.expected_mean, part.expected_max,
                    analysis.confidence)
        elif weight.family_note:
            declared = weight.family_note
        lines.append(
            'normsafe_init: %s (%s) %s%s %s norms axes %s n=%s m=%d '
            '%s=%g t=%.4g | before min/mean/max %s, %d > t, %d > limit | '
            '%s | after %s'
            % (weight.name, weight.class_name, weight.label,
               list(weight.shape), c.kind, c.axes, format_n(part.n),
               part.before.count, c.attr, c.limit, part.target,
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
    if plan.lifted:
        what += ', %d vector(s) lifted to the minimum norm' % plan.lifted
    if plan.reason:
        what += ' [%s]' % plan.reason
    lines.append('normsafe_init: %s -> %s' % (weight.name, what))
    return lines


def metric_names(weight, constraint):
    """``('normsafe_<name>[_<kind>]_max_over_limit', '..._pinned')``: the
    kind is inserted only when the weight has several constraints."""
    stem = 'normsafe_%s' % weight.name
    if len(weight.constraints) > 1:
        stem += '_%s' % constraint.kind
    return stem + '_max_over_limit', stem + '_pinned'


def metrics(weights):
    """The per-epoch numbers, the same in every framework: for each
    constraint the largest norm over the limit and the fraction of vectors
    pinned at it (within ``1e-4`` relative), as plain floats keyed by
    :func:`metric_names`; NaN for a weight that holds NaN or inf."""
    out = {}
    for weight in weights:
        value = weight.read()
        for constraint in weight.constraints:
            over, pinned = metric_names(weight, constraint)
            try:
                norms = vector_norms(value, constraint.axes,
                                     mask=weight.mask, name=weight.name)
            except ValueError:   # NaN or inf: a diverged run goes on
                out[over] = out[pinned] = float('nan')
                continue
            out[over] = float(norms.max() / constraint.limit)
            out[pinned] = float(np.mean(
                np.abs(norms - constraint.limit)
                <= PINNED_RTOL * constraint.limit))
    return out


def audit(weights, options, unknown=()):
    """A read-only :class:`normsafe_init.audit.AuditReport` of ``weights``
    (nothing is changed)."""
    from .audit import audit as _audit
    return _audit(weights, options, unknown)
