"""The ``check`` report: a table (like pylearn2's ``print_model.py``, about
norms), one JSON object, or histogram panels.

Columns: ``layer class W-shape n m init limit t min mean max E-mean max@P
>t >limit recommended status``; ``n`` is the number of entries per
constrained vector (fan-in, :func:`normsafe_init.weights.format_n`), ``m``
the number of vectors, ``t = fraction x limit``; ``E-mean`` and ``max@P``
the expected mean norm and the ``P``-quantile of the largest norm under the
declared init; ``recommended`` the largest ``irange`` / ``istdev`` /
``sparse_stdev`` keeping every vector under ``t`` with probability ``P``
(6 digits, rounded down).
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from ..weights import format_n
from .fixing import unfixable_reason
from .layers import option_name
from .yaml_fix import format_value

__all__ = ['CheckReport', 'init_text', 'recommended_text']

#: Columns holding numbers (right-aligned): n, m, t .. >limit. Not
#: normsafe_init.audit.format_table: it applies str() to every cell, which
#: fails under Python 2 for a non-ASCII layer name.
_NUMERIC = set(range(3, 5)) | set(range(7, 15))
_STATUS = {'ok': 'ok', 'breaks': 'BREAKS', 'nonfinite': 'NON-FINITE',
           'excluded': 'excluded', 'unconstrained': 'unconstrained',
           'unknown': 'UNKNOWN'}


def init_text(family, spec=None):
    """A declared init as written in a pylearn2 YAML: ``'irange=0.05'``,
    ``'irange=0.2,include_prob=0.5'``, ``'istdev=0.01'``,
    ``'sparse_init=15,sparse_stdev=1'`` (the scale named as the layer
    ``spec`` names it: ``sparse_istdev`` for the DBM ``Softmax``, none for
    the MLP ``Softmax``), ``'zero'``; ``'?'`` if unknown.

    >>> from normsafe_init.laws import Uniform
    >>> init_text(Uniform(0.2, include_prob=0.5))
    'irange=0.2,include_prob=0.5'
    """
    if family is None:
        return '?'
    if family.kind == 'zero':
        return 'zero'
    if family.kind == 'uniform':
        text = 'irange=%.4g' % family.scale
        if family.include_prob != 1.0:
            text += ',include_prob=%g' % family.include_prob
        return text
    if family.kind == 'gaussian':
        return 'istdev=%.4g' % family.scale
    scale = option_name(spec, 'sparse_stdev')
    if scale is None:
        return 'sparse_init=%d' % family.sparse_init
    return 'sparse_init=%d,%s=%.4g' % (family.sparse_init, scale,
                                       family.scale)


def recommended_text(row):
    """``'irange=0.123084'`` (the option as the layer spells it), or
    ``'-'``."""
    rec = row.analysis.recommended if row.analysis is not None else None
    if rec is None:
        return '-'
    name = option_name(row.spec, rec.param_name) or rec.param_name
    return '%s=%s' % (name, format_value(rec.value))


def _dropped_text(layer, cls, arg):
    return '%s %s' % (layer if layer == cls else '%s (%s)' % (layer, cls),
                      arg)


def _num(value):
    if value is None:
        return '-'
    return '%.4g' % value


def _constrained_cells(row, shape):
    cells = []
    for part in row.analysis.parts:
        before = part.before
        status = _STATUS[row.status]
        if row.expected:
            status = 'expected:' + status
        cells.append([
            row.name, row.class_name, shape, format_n(part.n),
            str(part.m if part.m is not None else np.size(part.n)),
            init_text(row.analysis.weight.family, row.spec),
            '%s<=%.6g' % (part.constraint.kind, part.constraint.limit),
            _num(part.target),
            _num(before.min if before else None),
            _num(before.mean if before else None),
            _num(before.max if before else None),
            _num(part.expected_mean), _num(part.expected_max),
            str(before.above_target) if before else '-',
            str(before.above_limit) if before else '-',
            recommended_text(row), status])
    return cells


class CheckReport(object):
    """The result of checking one YAML.

    ``rows`` (:class:`.rows.LayerRow`), ``path``, ``fraction``,
    ``confidence``, ``mode``, ``where`` (which object was built),
    ``loaded`` (:class:`.loading.Loaded`: biases not computed, layers
    without a GPU, Python 2 dimensions), ``sources`` (``{option: 'yaml' |
    'command line' | 'default'}``), ``extension_line``; ``exit_code`` is 1
    when a layer breaks its fraction, else 0.
    """

    def __init__(self, path, rows, fraction, confidence, where, mode='max',
                 loaded=None, sources=None, extension_line=None):
        self.path = path
        self.rows = rows
        self.fraction = fraction
        self.confidence = confidence
        self.mode = mode
        self.where = where
        self.loaded = loaded
        self.sources = sources or {}
        self.extension_line = extension_line
        #: The names that count (None: all), for re-checking a fixed copy.
        self.selected = None
        #: Options whose source the header names (those not at default).
        self.shown_sources = sorted(self.sources)

    @property
    def breaking(self):
        return [row for row in self.rows if row.breaks]

    @property
    def constrained(self):
        return [row for row in self.rows
                if row.status in ('ok', 'breaks', 'nonfinite')]

    @property
    def exit_code(self):
        return 1 if self.breaking else 0

    def _loaded(self, attr):
        return getattr(self.loaded, attr, None) or []

    def as_dict(self):
        dropped = [{'layer': layer, 'class': cls, 'argument': arg}
                   for layer, cls, arg in self._loaded('dropped')]
        return {'file': self.path, 'fraction': self.fraction,
                'confidence': self.confidence, 'mode': self.mode,
                'model': self.where, 'options_from': self.sources,
                'extension_line': self.extension_line,
                'layers': [row.as_dict() for row in self.rows],
                'breaks': [row.name for row in self.breaking],
                'unknown': [row.name for row in self.rows
                            if row.status == 'unknown'],
                'excluded': [row.name for row in self.rows
                             if row.status == 'excluded'],
                'biases_not_computed': dropped,
                'no_gpu': [{'layer': name, 'reason': why} for name, why in
                           sorted((getattr(self.loaded, 'no_gpu', None)
                                   or {}).items())],
                'python2_dimensions': list(self._loaded('py2_dims')),
                'exit_code': self.exit_code}

    # -- the table -------------------------------------------------------------
    def table_rows(self):
        """The table as a list of cell lists (header first)."""
        header = ['layer', 'class', 'W shape', 'n', 'm', 'init', 'limit',
                  't', 'min', 'mean', 'max', 'E mean',
                  'max@%g' % self.confidence, '>t', '>limit', 'recommended',
                  'status']
        cells = [header]
        for row in self.rows:
            shape = 'x'.join(str(s) for s in row.shape) if row.shape else '-'
            if row.analysis is not None:
                cells.extend(_constrained_cells(row, shape))
            elif row.status == 'unconstrained':
                summary = row.summary
                cells.append([
                    row.name, row.class_name, shape,
                    format_n(row.n) if row.n else '-',
                    str(row.m) if row.m else '-',
                    init_text(row.family, row.spec) if summary is not None
                    else '-',
                    '-', '-', _num(summary.min) if summary else '-',
                    _num(summary.mean) if summary else '-',
                    _num(summary.max) if summary else '-',
                    '-', '-', '-', '-', '-', 'unconstrained'])
            else:
                limits = ','.join('%s=%g' % (k, v) for k, v in
                                  sorted((row.constraints or {}).items()))
                cells.append([row.name, row.class_name, shape, '-', '-',
                              init_text(row.family, row.spec), limits or '-',
                              '-',
                              '-', '-', '-', '-', '-', '-', '-', '-',
                              _STATUS[row.status]])
        return cells

    def _header(self):
        line = ('%s: %s; fraction %g (t = %g x limit), confidence %g'
                % (self.path, self.where, self.fraction, self.fraction,
                   self.confidence))
        if self.mode != 'max':
            line += ', mode %s' % self.mode
        taken = [k for k in self.shown_sources if self.sources.get(k) ==
                 'yaml']
        if taken and self.extension_line is not None:
            line += ' (%s from the NormSafeInit at line %d)' % (
                ', '.join(taken), self.extension_line)
        return line

    def _notes(self):
        lines = []
        for row in self.rows:
            if row.status in ('unknown', 'nonfinite'):
                lines.append('%s %s (%s): %s' % (
                    'unknown' if row.status == 'unknown' else 'non-finite',
                    row.name, row.class_name, row.reason))
            for note in row.notes:
                lines.append('note %s (%s): %s' % (row.name, row.class_name,
                                                   note))
            if row.status == 'breaks':
                reason = unfixable_reason(row)
                if reason:
                    lines.append('note %s: %s' % (row.name, reason))
        dropped = self._loaded('dropped')
        if dropped:
            lines.append('note: biases not computed (their argument needs '
                         'the data; the weights are drawn as in training): '
                         + ', '.join(_dropped_text(*item) for item in dropped))
        dims = self._loaded('py2_dims')
        if dims:
            lines.append("note: pylearn2 under Python 3 computes the output "
                         "dimension of %s with '/' (a float) and cannot "
                         "build this model; built with the integer "
                         "dimension of Python 2, whose draws these are"
                         % ', '.join(dims))
        excluded = [row.name for row in self.rows
                    if row.status == 'excluded']
        if excluded:
            lines.append('note: left out by the layers / exclude of the '
                         'NormSafeInit (not counted): %s'
                         % ', '.join(excluded))
        return lines

    def _verdict(self):
        constrained, breaking = self.constrained, self.breaking
        if breaking:
            why = 'a vector above t'
            if any(row.status == 'nonfinite' for row in breaking):
                why += ', or non-finite weights'
            return ('%d of %d constrained layer%s break%s fraction %g (%s): '
                    '%s; use the recommended values (--fix OUT.yaml writes '
                    'them into a copy)'
                    % (len(breaking), len(constrained),
                       '' if len(constrained) == 1 else 's',
                       's' if len(breaking) == 1 else '', self.fraction, why,
                       ', '.join(row.name for row in breaking)))
        if len(constrained) == 1:
            return ('the constrained layer is within fraction %g of its '
                    'limit' % self.fraction)
        if constrained:
            return ('all %d constrained layers are within fraction %g of '
                    'their limits' % (len(constrained), self.fraction))
        return ('no layer carries a max-norm constraint that normsafe_init '
                'can read: nothing to check')

    def table(self):
        """The report as text: a header line, the table, notes, a verdict."""
        cells = self.table_rows()
        widths = [max(len(c[k]) for c in cells) for k in range(len(cells[0]))]
        lines = [self._header()]
        for row_cells in cells:
            lines.append('  '.join(
                cell.rjust(widths[k]) if k in _NUMERIC else
                cell.ljust(widths[k])
                for k, cell in enumerate(row_cells)).rstrip())
        lines.extend(self._notes())
        lines.append(self._verdict())
        unknown = [row.name for row in self.rows if row.status == 'unknown']
        if unknown:
            lines.append('not checked (see above): %s' % ', '.join(unknown))
        return '\n'.join(lines)

    # -- the plot ---------------------------------------------------------------
    def panels(self):
        """One :class:`normsafe_init.plot.Panel` per constraint of every
        constrained layer with observed norms."""
        from ..plot import Panel
        panels = []
        for row in self.constrained:
            if row.analysis is None or row.expected:
                continue
            for part in row.analysis.parts:
                title = '%s (%s) %s norms' % (row.name, row.class_name,
                                              part.constraint.kind)
                subtitle = '%s; %d vectors, n=%s; %d > t' % (
                    init_text(row.analysis.weight.family, row.spec),
                    part.before.count, format_n(part.n),
                    part.before.above_target)
                panels.append(Panel(title, part.norms, part.target,
                                    part.constraint.limit, part.breaks,
                                    part.expected_max, subtitle))
        return panels
