"""One run of normsafe_init over a model's constrained weights.

Every adapter describes its weights as
:class:`normsafe_init.weights.ConstrainedWeight` objects, with the host's
signs of training, and calls :func:`run`, which selects the weights
(``layers`` / ``exclude``), analyses and judges **every** one
(:mod:`normsafe_init.plan`, :mod:`normsafe_init.freshness`; a weight judged
trained is only reported unless ``force``), plans every repair (an error
so far changes nothing), checks every target, writes them all or none,
logs, and returns a record chained to an earlier run's.

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
    >>> bool(np.sqrt((W.astype('float64') ** 2).sum(axis=0)).max() <= 0.95)
    True
"""
from __future__ import absolute_import, division, print_function

import logging

import numpy as np

from . import freshness, repairs
from .norms import summarize
from .options import Options
from .plan import analyze, plan_repair
from .report import AuditReport, log_lines, number
from .version import __version__

__all__ = ['Options', 'Result', 'run', 'audit', 'select']

#: Below this machine epsilon a stored weight rounds too little to matter:
#: the norms after a repair are derived, not measured again.
_LOW_PRECISION_EPS = 1e-6


class Result(object):
    """What :func:`run` did: ``record`` (JSON-serialisable), ``planned``
    (``[(weight, analysis, plan, verdict), ...]``), ``weights`` (the
    selected weights), ``changed`` (names written), ``action`` (the action
    asked, or ``'report'`` when the host says the model is trained)."""

    def __init__(self, record, planned):
        self.record = record
        self.planned = planned
        self.weights = [item[0] for item in planned]
        self.changed = record['changed']
        self.action = record['action']


def select(weights, options, unknown=()):
    """The weights ``options`` select. A name in ``layers`` / ``exclude``
    is a weight's name or the name of the layer owning it (``'sep'``
    selects ``'sep/depthwise_kernel'`` and ``'sep/pointwise_kernel'``).
    ``ValueError`` if a name is neither, or two weights share a name."""
    names = [w.name for w in weights]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise ValueError('several constrained weights are named %s; names '
                         'must be unique' % ', '.join(twice))
    known = (set(names) | set(w.layer_name for w in weights)
             | set(u.name for u in unknown))
    for option, wanted in (('layers', options.layers),
                           ('exclude', options.exclude)):
        missing = [n for n in wanted or () if n not in known]
        if missing:
            raise ValueError(
                '%s names %s, which %s not a constrained layer of this model; '
                'constrained layers: %s'
                % (option, ', '.join(missing),
                   'is' if len(missing) == 1 else 'are',
                   ', '.join(sorted(known)) or 'none'))

    def named(weight, wanted):
        return weight.name in wanted or weight.layer_name in wanted

    return [w for w in weights
            if (options.layers is None or named(w, options.layers))
            and not named(w, options.exclude or ())]


def judge(weight, analysis, trained=None, processed=()):
    """The :class:`normsafe_init.freshness.Verdict` on one analysed weight:
    the host's model-level reason ``trained``, an earlier run (``processed``
    names), the host's per-weight ``weight.evidence``, then the weight's own
    values (fully masked vectors dropped; a sparse init has no law for
    rows)."""
    if weight.name in processed and not trained:
        trained = ('an earlier normsafe_init run already processed it (the '
                   'model carries its record)')
    reason = trained or '; '.join(weight.evidence)
    if reason:
        return freshness.Verdict(True, 'host', reason, None, 'the host', {})
    family, parts = weight.family, []
    for part in analysis.parts:
        c, norms, n = part.constraint, part.norms, part.n
        if norms is not None and np.ndim(n) > 0:   # a mask: n live per vector
            live = (weight.mask != 0).sum(axis=c.axes).ravel()
            norms = np.asarray(norms).ravel()[live > 0]
        law = not (family is not None and family.kind == 'sparse'
                   and c.kind == 'row')
        parts.append((norms, n, c, law))
    return freshness.judge(family, parts, assumed=weight.assumed,
                           eps=weight.eps)


def _plan_all(weights, options, action, trained, previous):
    """``[(weight, analysis, plan, verdict), ...]`` for every weight,
    nothing applied. ``reinit`` draws from one ``RandomState(options.seed)``,
    in weight order (a weight left alone draws nothing)."""
    rng = np.random.RandomState(options.seed)
    processed = set()
    while previous:      # the weights an earlier run's record chain covers
        processed.update(layer.get('name')
                         for layer in previous.get('layers', ()))
        previous = previous.get('previous')
    planned = []
    for weight in weights:
        value = weight.read()
        analysis = analyze(weight, value, options.fraction,
                           options.confidence, options.mode)
        verdict = judge(weight, analysis, trained, processed)
        held = verdict.trained and not options.force
        plan = plan_repair(analysis, value, 'report' if held else action, rng)
        if held and action != 'report' and not trained:
            plan.reason = 'judged trained: %s' % verdict.evidence
        planned.append((weight, analysis, plan, verdict))
    return planned


def _apply_all(planned):
    """Write every plan that changes its weight, or none: every target is
    checked first; the largest weight is written last, and the others are
    kept to be put back if a later write fails. Each weight is read once;
    factors multiply it in place (``read_writable``: no second copy where
    the framework lends its buffer)."""
    todo = [(w, p) for w, _, p, _ in planned if p.changes]
    for weight, _ in todo:
        weight.check_writable()
    todo.sort(key=lambda item: int(np.prod(item[0].shape)))
    written = []
    try:
        for i, (weight, plan) in enumerate(todo):
            last = i == len(todo) - 1
            new = plan.value
            if new is None:
                new = weight.read_writable()
                backup = None if last else new.copy()
                for axes, factors in plan.factors:
                    repairs.apply_factors(new, axes, factors)
            else:
                backup = None if last else np.array(weight.read(), copy=True)
            weight.write(new)
            written.append((weight, backup))
    except Exception:
        for weight, backup in reversed(written):
            if backup is not None:
                weight.write(backup)
        raise


def run(weights, options, unknown=(), trained=None, previous=None, log=None,
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
        The host's reason to take the whole model as trained (an optimizer
        that has taken steps, a training history).
    previous : dict or None
        The record an earlier run left on the model: the weights it covers
        are taken as processed (trained), and the new record chains it as
        ``record['previous']``.
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
    if trained and not options.force:
        act = 'report'
        reason = ('model looks trained (%s): reporting only; set %s to act '
                  'anyway' % (trained, force_hint))
        log.warning('normsafe_init: %s', reason)
    log.info('normsafe_init %s: fraction=%g action=%s%s confidence=%g '
             'seed=%d, %d constrained layer(s)', __version__,
             options.fraction, act,
             '' if act == options.action else ' (asked %s)' % options.action,
             options.confidence, options.seed, len(selected))
    for weight in selected:
        for note in weight.notes:
            log.info('normsafe_init: %s: %s', weight.name, note)
    planned = _plan_all(selected, options, options.action,
                        trained, previous)      # may raise: nothing changed
    _apply_all(planned)                          # all or nothing
    for weight, analysis, plan, verdict in planned:
        if plan.changes and weight.eps > _LOW_PRECISION_EPS:
            value = weight.read()    # the stored norms, measured: what the
            plan.after = [           # record and the next run see
                summarize(weight.vector_norms(value, part.constraint),
                          part.target, part.constraint.limit)
                for part in analysis.parts]
        if not verdict.trained and verdict.rests_on:
            log.info('normsafe_init: %s: judged a fresh draw; %s%s',
                     weight.name, verdict.rests_on,
                     '' if verdict.law_fits is not False
                     else ' (%s)' % verdict.evidence)
        if verdict.trained and not trained:
            log.warning('normsafe_init: %s judged trained (%s): %s',
                        weight.name, verdict.evidence,
                        'acting anyway (force)' if options.force else
                        'reporting only; set %s to act anyway' % force_hint)
        for part in analysis.parts:
            if part.target_note:
                log.warning('normsafe_init: %s: %s', weight.name,
                            part.target_note)
        for line in log_lines(weight, analysis, plan):
            log.info(line)
    for item in unknown:
        log.warning('normsafe_init: %s (%s) has %s but is left alone: %s',
                    item.name, item.class_name, ', '.join(
                        '%s=%s' % (k, number(v))
                        for k, v in sorted(item.attrs.items())),
                    item.reason)
    changed = [w.name for w, _, p, _ in planned if p.changes]
    broken = [w.name for w, a, _, _ in planned if a.breaks]
    judged = [w.name for w, _, _, v in planned if v.trained]
    log.info('normsafe_init: %d of %d layer(s) broke fraction %g; changed: '
             '%s%s', len(broken), len(planned), options.fraction,
             ', '.join(changed) if changed else 'none',
             '; judged trained: %s' % ', '.join(judged) if judged else '')
    record = {
        'version': __version__, 'framework': framework,
        'options': options.as_dict(), 'action': act, 'reason': reason,
        'trained': trained,
        'layers': [dict(a.as_dict(), repair=p.as_dict(),
                        verdict=v.as_dict())
                   for _, a, p, v in planned],
        'unknown': [u.as_dict() for u in unknown],
        'changed': changed, 'judged_trained': judged,
    }
    if previous:
        record['previous'] = previous
    return Result(record, planned)


def audit(weights, options, unknown=(), trained=None, previous=None,
          extra=()):
    """Analyse and judge ``weights`` with ``options``, change nothing;
    returns a :class:`normsafe_init.report.AuditReport` (``extra``: the
    adapter's own rows, see there)."""
    planned = _plan_all(select(weights, options, unknown), options,
                        'report', trained, previous)
    return AuditReport(options, [(w, a, v) for w, a, _, v in planned],
                       unknown, extra)
