"""Per-layer analysis and repair plans (numpy only).

:func:`analyze` measures one constrained weight against ``t = fraction *
limit`` for each of its constraints, beside what the declared init predicts
and the safe parameter the solver recommends; :func:`plan_repair` computes
(without applying) the new weight value for an action.

Actions:

``report``
    change nothing.
``rescale``
    ``W *= min_c(t / max ||w||_c)`` over the layer's constraints.
``clip``
    every vector above ``t`` onto ``t``, ``w *= t / max(||w||, 1e-7)``
    (pylearn2's projection; column constraint first), others bit-identical.
``reinit``
    redraw from the declared family at the solved safe scale (the smallest
    over the layer's constraints); if the draw still breaks ``t`` (chance
    ``1 - confidence``) redraw, up to ``retries`` times, then fall back to
    ``rescale`` of the last draw. A layer whose declared init is unknown or
    all-zero falls back to ``rescale``.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from . import repairs
from ._record import Record
from .norms import DEFAULT_RTOL, count_above, summarize
from .solver import solve

__all__ = ['ConstraintAnalysis', 'LayerAnalysis', 'RepairPlan', 'analyze',
           'plan_repair']


def _n_repr(n):
    lo, hi = int(np.min(n)), int(np.max(n))
    return lo if np.ndim(n) == 0 else {'min': lo, 'max': hi}


class ConstraintAnalysis(object):
    """One constraint of one layer: norms before, prediction, recommendation.

    Attributes: ``constraint``, ``target``, ``n``, ``m``, ``norms``,
    ``before`` (:class:`NormSummary`), ``expected_mean``,
    ``expected_max`` (``confidence`` quantile of the largest norm under the
    declared init), ``recommended`` (:class:`SafeScale` or None),
    ``note`` (why there is no recommendation), ``breaks``.

    With ``value=None`` (a weight that cannot be observed here: a GPU-only
    layer on a CPU machine) only the law is used: ``norms`` and ``before``
    are None and the vector set *breaks* when the ``confidence`` quantile
    of its largest norm is above ``t``.
    """

    def __init__(self, weight, constraint, value, fraction, confidence, mode):
        self.constraint = constraint
        self.target = fraction * constraint.limit
        self.note = self.target_note = None
        floor = constraint.min_limit
        if floor and floor > self.target:
            # Every repair would bring vectors under t, and the framework
            # would then pin all of them at the minimum: aim at it instead.
            self.target_note = (
                'fraction x %s = %.6g is below %s = %.6g: the minimum is '
                'the target' % (constraint.attr, self.target,
                                constraint.min_attr, floor))
            self.target = min(float(floor), constraint.limit)
        self.n, self.m = weight.fan_in(constraint)
        self.norms = self.before = None
        self.breaks = False
        if value is not None:
            self.norms = weight.vector_norms(value, constraint)
            self.before = summarize(self.norms, self.target,
                                    constraint.limit)
            self.breaks = self.before.above_target > 0
        self.expected_mean = self.expected_max = self.recommended = None
        family = weight.family
        if family is None:
            self.note = weight.family_note or 'declared init unknown'
            return
        if family.kind == 'zero':
            self.expected_mean = self.expected_max = 0.0
            self.note = 'all-zero init: nothing to solve'
            return
        if family.kind == 'sparse' and constraint.kind == 'row':
            self.note = 'rows of a sparse (per-column) init have no exact law'
            return
        self.expected_mean = family.mean_norm(self.n, self.m)
        self.expected_max = family.max_ppf(confidence, self.n, self.m)
        if value is None:
            self.breaks = self.expected_max > self.target
        aim = (fraction if self.target_note is None
               else self.target / constraint.limit)
        self.recommended = solve(family, self.n, self.m, constraint.limit,
                                 aim, confidence, mode)

    def as_dict(self):
        out = self.constraint.as_dict()
        out.update({
            'target': self.target, 'n': _n_repr(self.n),
            'm': int(self.m) if self.m is not None else int(np.size(self.n)),
            'before': None if self.before is None else self.before.as_dict(),
            'expected_mean': self.expected_mean,
            'expected_max': self.expected_max,
            'recommended': (None if self.recommended is None else
                            {self.recommended.param_name:
                             self.recommended.value}),
            'note': self.note, 'target_note': self.target_note,
            'breaks': bool(self.breaks)})
        return out


class LayerAnalysis(object):
    """The analysis of ``value`` (the weight's current numpy value, or None
    for the law alone: see :class:`ConstraintAnalysis`) for ``weight`` (a
    :class:`normsafe_init.weights.ConstrainedWeight`), all its constraints.
    ``breaks`` if any vector of any constraint is above its ``t``;
    ``recommended`` is the smallest solved scale (a
    :class:`normsafe_init.solver.SafeScale`, or None)."""

    def __init__(self, weight, value, fraction, confidence=0.99, mode='max'):
        self.weight = weight
        self.confidence = confidence
        self.parts = [ConstraintAnalysis(weight, c, value, fraction,
                                         confidence, mode)
                      for c in weight.constraints]
        self.observed = value is not None
        self.breaks = any(part.breaks for part in self.parts)
        solved = [p.recommended for p in self.parts if p.recommended]
        self.recommended = (min(solved, key=lambda r: r.value)
                            if solved else None)

    def as_dict(self):
        out = self.weight.as_dict()
        out['constraints'] = [part.as_dict() for part in self.parts]
        out['breaks'] = bool(self.breaks)
        out['recommended'] = (None if self.recommended is None else
                              self.recommended.family.to_dict())
        return out


analyze = LayerAnalysis


class RepairPlan(Record):
    """What :func:`plan_repair` decided: ``action`` requested, ``applied``
    (``'none'``, ``'rescale'``, ``'clip'``, ``'reinit'`` or
    ``'reinit+rescale'``), ``value`` (a new weight array, or None),
    ``factors`` (``[(axes, factors), ...]`` to multiply the weight by in
    place, for ``rescale`` and single-constraint ``clip``), ``factor``
    (rescale), ``clipped`` (count), ``new_init`` (family dict), ``tries``,
    ``lifted`` (count lifted to the minimum norm), ``after`` (one
    NormSummary per constraint), ``reason``."""

    _fields = ('action', 'applied', 'factor', 'clipped', 'new_init', 'tries',
               'lifted', 'after', 'reason')

    def __init__(self, action):
        self.action = action
        self.applied = 'none'
        self.value = None
        self.factors = None
        self.factor = None
        self.clipped = None
        self.new_init = None
        self.tries = None
        self.lifted = None
        self.after = []
        self.reason = None

    @property
    def changes(self):
        """Whether applying the plan changes the weight."""
        return self.value is not None or self.factors is not None


def _aims(analysis):
    """What a repair aims at: each constraint's ``t``, less a margin that
    keeps the stored norm ``<= t`` after rounding to the stored type. Each
    entry is multiplied and rounded with a relative error of at most
    ``u = eps / 2`` twice, so a norm grows by at most ``(1 + u)**2 - 1 <
    2.5 u``; the margin is ``3 u = 1.5 eps`` (1.8e-7 for float32, 1.5e-3
    for float16, 1.2e-2 for bfloat16)."""
    margin = 1.5 * analysis.weight.eps
    return [part.target * (1 - margin) for part in analysis.parts]


def _breaks(aims, norms_list):
    return any(count_above(norms, aim, DEFAULT_RTOL) > 0
               for norms, aim in zip(norms_list, aims))


def _rescale_factor(aims, norms_list):
    return min(repairs.plan_rescale(norms, aim)
               for norms, aim in zip(norms_list, aims))


def _lift_to_minimum(analysis, plan, new, after):
    """No repair leaves a vector under its constraint's minimum norm
    (pylearn2 ``min_col_norm``, Keras ``MinMaxNorm.min_value``): those
    vectors are scaled up onto it (an all-zero vector stays zero)."""
    lifted = []
    for norms, part in zip(after, analysis.parts):
        floor = part.constraint.min_limit or 0.0
        low = (norms > 0) & (norms < floor * (1 - DEFAULT_RTOL))
        if not low.any():
            lifted.append(norms)
            continue
        factors = np.ones_like(norms)
        factors[low] = floor / norms[low]
        axes = part.constraint.axes
        if new is not None:
            repairs.apply_factors(new, axes, factors)
        else:
            plan.factors.append((axes, factors))
        plan.lifted = (plan.lifted or 0) + int(low.sum())
        lifted.append(norms * factors)
    return lifted


def plan_repair(analysis, value, action, rng=None, retries=10):
    """The repair of one analysed layer, a :class:`RepairPlan`, computed
    but not applied (:func:`normsafe_init.run.run` applies it). ``value``
    itself is never modified (it may be the live weight). ``action``: one
    of ``options.ACTIONS``; ``rng``: a dedicated
    ``numpy.random.RandomState`` (for ``reinit``).
    """
    weight = analysis.weight
    if not analysis.observed and action != 'report':
        raise ValueError('%s was not observed (its law alone was analysed): '
                         'nothing to repair' % weight.name)
    plan = RepairPlan(action)
    if action == 'report' or not analysis.breaks:
        plan.reason = ('action report' if action == 'report'
                       else 'within fraction x limit')
        plan.after = [part.before for part in analysis.parts]
        return plan
    if action == 'reinit' and analysis.recommended is None:
        plan.reason = ('reinit impossible (%s): rescaled instead'
                       % '; '.join(p.note for p in analysis.parts if p.note))
        action = 'rescale'
    before = [part.norms for part in analysis.parts]
    aims = _aims(analysis)
    new = None
    plan.applied = action
    if action == 'rescale':
        plan.factor = _rescale_factor(aims, before)
        plan.factors = [((), plan.factor)]
        after = [norms * plan.factor for norms in before]
    elif action == 'clip' and len(analysis.parts) == 1:
        part = analysis.parts[0]
        factors = repairs.plan_clip(before[0], aims[0])
        plan.factors = [(part.constraint.axes, factors)]
        plan.clipped = int(np.count_nonzero(factors != 1.0))
        after = [before[0] * factors]
    elif action == 'clip':  # col then row: the row norms need the copy
        new, clipped = np.array(value, copy=True), 0
        for i, part in enumerate(analysis.parts):
            norms = before[i] if i == 0 else weight.vector_norms(
                new, part.constraint)
            factors = repairs.plan_clip(norms, aims[i])
            clipped += int(np.count_nonzero(factors != 1.0))
            repairs.apply_factors(new, part.constraint.axes, factors)
        after = [weight.vector_norms(new, c)  # the row clip moved the columns
                 for c in weight.constraints]
        plan.clipped = clipped
    else:  # reinit
        family = analysis.recommended.family
        plan.new_init = family.to_dict()
        new = np.empty_like(value)
        for tries in range(1, retries + 2):
            repairs.reinit(new, family, weight.constraints[0].axes, rng,
                           name=weight.name, mask=weight.mask)
            after = [weight.vector_norms(new, c) for c in weight.constraints]
            if not _breaks(aims, after):
                break
        plan.tries = tries
        if _breaks(aims, after):
            plan.factor = _rescale_factor(aims, after)
            repairs.apply_factors(new, (), plan.factor)
            after = [norms * plan.factor for norms in after]
            plan.applied = 'reinit+rescale'
    after = _lift_to_minimum(analysis, plan, new, after)
    plan.value = new
    plan.after = [summarize(norms, part.target, part.constraint.limit)
                  for norms, part in zip(after, analysis.parts)]
    return plan
