"""The largest safe init parameter for a layer, and what an init implies.

Every family is a scale family (``||w|| = scale * ||u||``, see
:mod:`normsafe_init.laws`), so with ``t = fraction * limit``:

* mode ``'max'`` (default): the largest scale with
  ``P(all m norms <= t) >= confidence``::

      scale* = t / Q1(confidence ** (1/m))

  where ``Q1`` is the unit-scale quantile of one norm, evaluated as
  ``isf(-expm1(log(confidence) / m))`` and rounded up, so ``scale*`` is never
  too large. For bounded entries the hard bound gives a second, certain
  answer: ``t / sqrt(n)`` for ``irange``, ``t / (2 sqrt(n))`` for a truncated
  normal's ``stddev``, always <= ``scale*``.
* mode ``'mean'`` (the manual recipe): the scale whose expected norm is
  ``t``: ``scale = t / E||u||``.

Defaults (``fraction`` 0.5, ``confidence`` 0.99, mode ``'max'``) come from
:mod:`normsafe_init.options`. Example: the neukrill first fully connected
layer (46208 inputs, 1024 columns, ``max_col_norm`` 1.9, ``fraction`` 0.5)
needs ``istdev`` <= ~0.0043, where the declared 0.01 puts every column near
2.15::

    >>> from normsafe_init.laws import Gaussian
    >>> round(solve(Gaussian(0.01), 46208, 1024, limit=1.9).value, 6)
    0.004358
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np

from ._record import Record
from ._validation import (check_choice, check_fraction, check_open_probability,
                          check_positive)
from .options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                      MODES)
from .laws import Zero, fan_in_groups

__all__ = ['MODES', 'SafeScale', 'solve', 'assess']


def _check_common(family, n, m, limit, fraction, confidence):
    if not hasattr(family, 'with_scale'):
        raise TypeError('family must be a normsafe_init.laws family '
                        '(Uniform, Gaussian, Sparse, TruncNormal, Zero); got %r'
                        % (family,))
    groups = fan_in_groups(n, m)
    limit = check_positive(limit, 'limit')
    fraction = check_fraction(fraction)
    confidence = check_open_probability(confidence, 'confidence')
    return groups, limit, fraction, confidence


def _fan_in_repr(groups):
    if len(groups) == 1:
        return groups[0][0]
    return {'min': min(n for n, _ in groups), 'max': max(n for n, _ in groups)}


class SafeScale(Record):
    """Result of :func:`solve`: ``family`` (the declared family at the
    solved scale), ``param_name`` (``'irange'``, ``'istdev'``,
    ``'sparse_stdev'`` or ``'stddev'``), ``value`` (the solved parameter),
    ``guaranteed`` (bounded entries: the certain answer above; else None),
    the inputs ``target, limit, fraction, confidence, mode, n, m`` (``n``
    an int or ``{'min':..,'max':..}``), and at ``value``: ``mean_norm``,
    ``max_quantile`` (quantile ``confidence`` of the largest norm) and
    ``prob_all_below`` (P(all norms <= target)). ``as_dict()``: its record
    (``'parameter'`` is the solved value).
    """

    _fields = (('parameter', 'value'), ('parameter_name', 'param_name'),
               'init', 'guaranteed', 'target', 'limit', 'fraction',
               'confidence', 'mode', 'n', 'm', 'mean_norm', 'max_quantile',
               ('prob_all_below_target', 'prob_all_below'))

    def __init__(self, family, groups, limit, fraction, confidence, mode):
        self.family = family
        self.param_name = family.param_name
        self.value = family.scale
        self.init = family.to_dict()
        self.target = fraction * limit
        self.limit = limit
        self.fraction = fraction
        self.confidence = confidence
        self.mode = mode
        self.n = _fan_in_repr(groups)
        self.m = sum(m_j for _, m_j in groups)
        self._args = tuple(_group_args(groups))
        self._laws = {}
        bound_unit = family.with_scale(1.0).bound(max(n for n, _ in groups))
        self.guaranteed = (self.target / bound_unit
                           if not math.isinf(bound_unit) else None)

    def _law(self, method, *args):
        """``family.<method>(*args, n, m)``, computed when first asked for (a
        solve that only wants the value does not pay for it)."""
        if method not in self._laws:
            self._laws[method] = getattr(self.family, method)(
                *(args + self._args))
        return self._laws[method]

    mean_norm = property(lambda self: self._law('mean_norm'))
    max_quantile = property(lambda self: self._law('max_ppf',
                                                   self.confidence))
    prob_all_below = property(lambda self: self._law('prob_all_below',
                                                     self.target))

    def __repr__(self):
        return ('SafeScale(%s=%.6g, target=%.6g, mode=%r, confidence=%g)'
                % (self.param_name, self.value, self.target, self.mode,
                   self.confidence))


def _group_args(groups):
    """(n, m) arguments that reproduce ``groups`` for the family methods."""
    if len(groups) == 1:
        return groups[0]
    return np.repeat([n for n, _ in groups], [m for _, m in groups]), None


def solve(family, n, m=None, limit=1.0, fraction=DEFAULT_FRACTION,
          confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE):
    """The largest scale of ``family`` that keeps its norms under
    ``fraction * limit``.

    ``family``: the declared init (its scale is ignored; ``include_prob``
    and ``sparse_init`` are kept). ``n``: entries per vector (an int, with
    ``m`` vectors) or per-vector fan-ins. ``limit``: the constraint;
    ``fraction``, ``confidence``, ``mode``: see the module docstring.
    Returns a :class:`SafeScale`.
    """
    groups, limit, fraction, confidence = _check_common(
        family, n, m, limit, fraction, confidence)
    mode = check_choice(mode, 'mode', MODES)
    if isinstance(family, Zero):
        raise ValueError('an all-zero init has no scale to solve for (every '
                         'norm is 0, which is always within the limit)')
    unit = family.with_scale(1.0)
    target = fraction * limit
    n_arg, m_arg = _group_args(groups)
    if mode == 'max':
        unit_q = unit.max_ppf(confidence, n_arg, m_arg)
        if unit_q <= 0:
            raise ValueError(
                'with %s every vector is all zero with probability >= '
                'confidence (%g), so any %s would do; raise confidence or '
                'include_prob' % (family.describe(), confidence,
                                  family.param_name))
    else:
        unit_q = unit.mean_norm(n_arg, m_arg)
    solved = family.with_scale(target / unit_q)
    return SafeScale(solved, groups, limit, fraction, confidence, mode)


def assess(family, n, m=None, limit=1.0, fraction=DEFAULT_FRACTION,
           confidence=DEFAULT_CONFIDENCE):
    """What ``family`` at its current scale implies for ``m`` vectors of
    ``n`` entries, as a JSON-serialisable dict: expected mean norm, the
    ``confidence`` quantile of the largest norm, the hard bound, the
    expected number of vectors above ``t`` and above ``limit`` and
    P(all <= t)."""
    groups, limit, fraction, confidence = _check_common(
        family, n, m, limit, fraction, confidence)
    n_arg, m_arg = _group_args(groups)
    target = fraction * limit
    bound = family.bound(max(n for n, _ in groups))
    return {
        'init': family.to_dict(),
        'n': _fan_in_repr(groups),
        'm': sum(m_j for _, m_j in groups),
        'mean_norm': family.mean_norm(n_arg, m_arg),
        'max_quantile': family.max_ppf(confidence, n_arg, m_arg),
        'confidence': confidence,
        'bound': None if math.isinf(bound) else bound,
        'target': target,
        'limit': limit,
        'expected_above_target': family.expected_above(target, n_arg, m_arg),
        'expected_above_limit': family.expected_above(limit, n_arg, m_arg),
        'prob_all_below_target': family.prob_all_below(target, n_arg, m_arg),
    }
