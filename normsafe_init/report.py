"""What a run says: its log lines, the audit table and the epoch metrics.

The same text in every framework. :func:`normsafe_init.run.audit` returns
an :class:`AuditReport`, read-only; ``str(report)`` is a table that reads in a
100-column notebook cell, one row per constraint::

    weight  shape  n  limit  max  >t  status

``n`` is the number of entries per constrained vector, ``limit`` the kind
of vector and its limit (``row<=0.25``), ``max`` the largest norm, ``>t``
how many vectors are above ``t = fraction x limit``, ``status`` ``BREAKS``
(a vector above ``t``), ``ok``, ``trained`` (judged trained: reported,
never changed) or why nothing could be measured. Below the table one line
per weight gives its init, the expected largest norm under it and the
recommended scale, and why a weight was judged trained. The full numbers
are in ``report.as_dict()``.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from .norms import count_pinned
from .weights import format_n

__all__ = ['AuditReport', 'format_table', 'log_lines', 'metric_names',
           'metrics', 'number']

#: Longest weight name a table shows whole (longer ones keep their end).
NAME_WIDTH = 32


def number(value):
    """A value for messages: ``%g`` for numbers, ``-`` for None."""
    if value is None:
        return '-'
    if isinstance(value, (int, float, np.number)) and \
            not isinstance(value, bool):
        return '%.4g' % value
    return '%s' % (value,)


def _numeric(text):
    try:
        float(text)
    except ValueError:
        return text == '-'
    return True


def format_table(header, rows):
    """Text columns; a column whose every cell is a number (or ``-``) is
    right-aligned."""
    table = [list(header)] + [['%s' % (cell,) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = [bool(rows) and all(_numeric(row[i]) for row in table[1:])
             for i in range(len(header))]
    return '\n'.join(
        '  '.join(cell.rjust(width) if r else cell.ljust(width)
                  for cell, width, r in zip(row, widths, right)).rstrip()
        for row in table)


def _short(name, width=NAME_WIDTH):
    return name if len(name) <= width else '..' + name[-(width - 2):]


def _stats(summary):
    return '%.4g/%.4g/%.4g' % (summary.min, summary.mean, summary.max)


def init_text(weight):
    """The init as logs and tables name it."""
    if weight.family is None:
        return weight.family_note or 'declared init unknown'
    return '%s %s' % ('assumed' if weight.assumed else 'declared',
                      weight.family.describe())


def log_lines(weight, analysis, plan):
    """The log lines of one weight: one per constraint, then its repair."""
    lines = []
    for part, after in zip(analysis.parts, plan.after):
        c = part.constraint
        declared = init_text(weight)
        if weight.family is not None and part.expected_mean is not None:
            declared += ': expected mean %.4g, max %.4g at %g' % (
                part.expected_mean, part.expected_max, analysis.confidence)
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
                norms = weight.vector_norms(value, constraint)
            except ValueError:   # NaN or inf: a diverged run goes on
                out[over] = out[pinned] = float('nan')
                continue
            out[over] = float(norms.max() / constraint.limit)
            out[pinned] = count_pinned(norms, constraint.limit) / float(
                norms.size)
    return out


class AuditReport(object):
    """The analyses of every selected weight, nothing changed.

    Attributes: ``options`` (:class:`normsafe_init.options.Options`),
    ``analyses`` (``[(weight, LayerAnalysis, Verdict or None), ...]``),
    ``unknown``, ``extra`` (rows an adapter adds: ``(name, shape, status,
    note)``, e.g. pylearn2's layers without a constraint, or ``(name,
    shape, status, note, True)`` for a constrained weight that fails
    without an analysis, e.g. non-finite), ``breaking`` (names of the
    weights with a vector above ``t``, then the failing extra rows),
    ``trained`` (names judged trained). A weight analysed from its law
    alone (not observed) has the status ``expected:ok`` / ``expected:BREAKS``.
    """

    HEADER = ('weight', 'shape', 'n', 'limit', 'max', '>t', 'status')

    def __init__(self, options, analyses, unknown=(), extra=()):
        self.options = options
        self.analyses = [tuple(item) + (None,) * (3 - len(item))
                         for item in analyses]
        self.unknown = list(unknown)
        self.extra = [tuple(row) + (False,) * (5 - len(row))
                      for row in extra]
        self.breaking = ([w.name for w, a, _ in self.analyses if a.breaks]
                         + [row[0] for row in self.extra if row[4]])
        self.trained = [w.name for w, _, v in self.analyses
                        if v is not None and v.trained]

    def rows(self):
        """The table's rows (lists of text)."""
        out = []
        for weight, analysis, verdict in self.analyses:
            for part in analysis.parts:
                c, b = part.constraint, part.before
                status = 'BREAKS' if part.breaks else 'ok'
                if verdict is not None and verdict.trained:
                    status = 'trained'
                if not analysis.observed:
                    status = 'expected:' + status
                out.append([
                    _short(weight.name), 'x'.join(str(s) for s in weight.shape),
                    format_n(part.n), '%s<=%.4g' % (c.kind, c.limit),
                    number(None if b is None else b.max),
                    '-' if b is None else '%d/%d' % (b.above_target, b.count),
                    status])
        out += [[_short(item.name), '-', '-', '-', '-', '-', 'left alone']
                for item in self.unknown]
        return out + [[_short(name), shape or '-', '-', '-', '-', '-', status]
                      for name, shape, status, _, _ in self.extra]

    def notes(self):
        """The lines under the table: init, expectation, recommendation,
        verdicts and why weights were left alone."""
        lines = []
        for weight, analysis, verdict in self.analyses:
            part = max(analysis.parts, key=lambda p: p.expected_max or 0)
            text = init_text(weight)
            if part.expected_max is not None:
                text += ', expected max %.4g' % part.expected_max
            rec = analysis.recommended
            if rec is not None:
                text += ', recommended %s=%.6g' % (rec.param_name, rec.value)
            lines.append('%s: %s' % (weight.name, text))
            if verdict is not None and verdict.trained:
                lines.append('%s: judged trained: %s'
                             % (weight.name, verdict.evidence))
        for item in self.unknown:
            lines.append('%s (%s): left alone: %s'
                         % (item.name, item.class_name, item.reason))
        for name, _, _, note, _ in self.extra:
            if note:
                lines.append('%s: %s' % (name, note))
        return lines

    def __str__(self):
        if not self.analyses and not self.unknown and not self.extra:
            return 'no constrained weight found'
        lines = [format_table(self.HEADER, self.rows())]
        lines.append('t = %g x limit; expected max: the %g quantile of the '
                     'largest norm under the init'
                     % (self.options.fraction, self.options.confidence))
        lines.extend('  ' + line for line in self.notes())
        lines.append('%d of %d constrained weight(s) break fraction %g%s'
                     % (len(self.breaking), len(self.analyses) +
                        sum(1 for row in self.extra if row[4]),
                        self.options.fraction,
                        (': ' + ', '.join(self.breaking))
                        if self.breaking else ''))
        return '\n'.join(lines)

    def as_dict(self):
        """The numbers, JSON-serialisable."""
        layers = [dict(a.as_dict(),
                       verdict=None if v is None else v.as_dict())
                  for _, a, v in self.analyses]
        return {'options': self.options.as_dict(), 'layers': layers,
                'unknown': [u.as_dict() for u in self.unknown],
                'breaking': list(self.breaking),
                'trained': list(self.trained)}
