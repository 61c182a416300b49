"""A read-only report of a model's constrained weights (``audit``).

What the Keras and PyTorch adapters' ``audit(model)`` return: the same
numbers :func:`normsafe_init.session.run` computes, with nothing changed.
``str(report)`` is a table, one row per constraint::

    layer  class  shape  n  m  init  limit  t  min  mean  max  E mean
    max@P  >t  >limit  recommended  status

``n`` is the number of entries per constrained vector, ``m`` the number of
vectors, ``t = fraction x limit``; ``E mean`` and ``max@P`` are the expected
mean norm and the ``P``-quantile of the largest norm under the declared
init; ``recommended`` is the largest scale of that init keeping every
vector under ``t`` with probability ``P``; ``status`` is ``BREAKS`` when a
vector is above ``t``.
"""
from __future__ import absolute_import, division, print_function

from .session import plan_all, select
from .weights import format_n

__all__ = ['AuditReport', 'audit', 'format_table']


def format_table(header, rows):
    """Text columns; a column whose every cell is a number (or ``-``) is
    right-aligned."""
    table = [list(header)] + [['%s' % (cell,) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def numeric(text):
        try:
            float(text)
            return True
        except ValueError:
            return False

    body = table[1:]
    right = [bool(body) and all(numeric(row[i]) or row[i] == '-'
                                for row in body)
             for i in range(len(header))]
    lines = []
    for row in table:
        cells = [cell.rjust(widths[i]) if right[i] else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append('  '.join(cells).rstrip())
    return '\n'.join(lines)


def _g(value):
    return '-' if value is None else '%.4g' % value


class AuditReport(object):
    """The analyses of every selected weight, nothing changed.

    Attributes: ``options`` (:class:`normsafe_init.session.Options`),
    ``analyses`` (``[(weight, LayerAnalysis), ...]``), ``unknown``,
    ``breaking`` (names of the weights with a vector above ``t``).
    """

    HEADER = ('layer', 'class', 'shape', 'n', 'm', 'init', 'limit', 't',
              'min', 'mean', 'max', 'E mean', 'max@P', '>t', '>limit',
              'recommended', 'status')

    def __init__(self, options, analyses, unknown=()):
        self.options = options
        self.analyses = analyses
        self.unknown = list(unknown)
        self.breaking = [w.name for w, a in analyses if a.breaks]

    def rows(self):
        """The table's rows (lists of text)."""
        out = []
        for weight, analysis in self.analyses:
            init = ('unknown' if weight.family is None
                    else weight.family.describe())
            rec = analysis.recommended
            for part in analysis.parts:
                c, b = part.constraint, part.before
                out.append([
                    weight.name, weight.class_name,
                    'x'.join(str(s) for s in weight.shape),
                    format_n(part.n), b.count, init,
                    '%s<=%.6g' % (c.kind, c.limit), _g(part.target),
                    _g(b.min), _g(b.mean), _g(b.max),
                    _g(part.expected_mean), _g(part.expected_max),
                    b.above_target, b.above_limit,
                    '-' if rec is None else '%s=%.6g' % (rec.param_name,
                                                         rec.value),
                    'BREAKS' if part.breaks else 'ok'])
        for item in self.unknown:
            out.append([item.name, item.class_name] + ['-'] * 14
                       + ['left alone: %s' % item.reason])
        return out

    def __str__(self):
        lines = [format_table(self.HEADER, self.rows()).replace(
            'max@P', 'max@%g' % self.options.confidence, 1)]
        lines.append('%d of %d constrained weight(s) break fraction %g%s'
                     % (len(self.breaking), len(self.analyses),
                        self.options.fraction,
                        (': ' + ', '.join(self.breaking))
                        if self.breaking else ''))
        return '\n'.join(lines)

    def as_dict(self):
        """The numbers, JSON-serialisable."""
        return {'options': self.options.as_dict(),
                'layers': [a.as_dict() for _, a in self.analyses],
                'unknown': [u.as_dict() for u in self.unknown],
                'breaking': list(self.breaking)}


def audit(weights, options, unknown=()):
    """Analyse ``weights`` with ``options`` and change nothing; returns an
    :class:`AuditReport`."""
    planned = plan_all(select(weights, options, unknown), options, 'report')
    return AuditReport(options, [(w, a) for w, a, _ in planned], unknown)
