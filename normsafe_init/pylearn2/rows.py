"""The rows of a ``check`` report: one per layer of a built model.

A constrained layer is analysed by the core (:func:`normsafe_init.analysis.
analyze`) on its drawn weight. A GPU-only layer built here as a stand-in
(:mod:`.standins`) has no weight: ``analyze(weight, None, ...)`` gives what its
declared init implies at the shape pylearn2 would draw (the law's mean and
``confidence`` quantile of the largest norm, the solved safe value), marked
"expected, not observed". Other layers are listed with the norms of their
weight (columns of a dense W, kernels of a convolution).
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from .. import plan as core
from ..norms import summarize, vector_norms, vector_shape
from ..weights import ConstrainedWeight
from .errors import one_line, text_of
from .yaml_fix import format_value
from .layers import (constraints_of, declared_family, find_constrained,
                     natural_vectors, spec_of, walk_layers, weight_variable)

__all__ = ['LayerRow', 'ExpectedWeight', 'analyze_model',
           'mark_excluded']


class LayerRow(object):
    """One layer of the report.

    ``status``: ``'ok'``, ``'breaks'`` (constrained), ``'nonfinite'``
    (NaN or inf initial weights: never within fraction), ``'excluded'``
    (constrained, left out by the YAML's NormSafeInit ``layers`` /
    ``exclude``), ``'unconstrained'`` or ``'unknown'``. ``analysis`` is the
    :class:`LayerAnalysis` (observed, or from the law alone) of a constrained
    layer; ``summary`` (a NormSummary), ``n``, ``m``, ``kind`` describe the
    weight of an unconstrained one; ``reason`` why a layer is not analysed;
    ``notes`` extra lines; ``spec`` the layer's table entry.
    """

    def __init__(self, path, name, class_name, status, shape=None,
                 analysis=None, family=None, summary=None, n=None, m=None,
                 kind=None, reason=None, constraints=None, spec=None):
        self.path = path
        self.name = name
        self.class_name = class_name
        self.status = status
        self.shape = shape
        self.analysis = analysis
        self.family = family
        self.summary = summary
        self.n = n
        self.m = m
        self.kind = kind
        self.reason = reason
        self.constraints = constraints
        self.spec = spec
        self.norms = None
        self.notes = []

    @property
    def breaks(self):
        return self.status in ('breaks', 'nonfinite')

    @property
    def expected(self):
        return self.analysis is not None and not self.analysis.observed

    def as_dict(self):
        if self.analysis is not None:
            data = self.analysis.as_dict()
            rec = self.analysis.recommended
            data['recommended_param'] = rec.param_name if rec else None
            data['recommended_value'] = rec.value if rec else None
            data['recommended_text'] = (format_value(rec.value) if rec
                                        else None)
        else:
            data = {'name': self.name, 'path': self.path,
                    'class': self.class_name,
                    'shape': list(self.shape) if self.shape else None,
                    'init': (self.family.to_dict()
                             if self.family is not None else None)}
            if self.summary is not None:
                data['norms'] = self.summary.as_dict()
                data['norms']['kind'] = self.kind
                data['n'] = self.n
                data['m'] = self.m
            if self.reason is not None:
                data['reason'] = self.reason
                data['constraints'] = self.constraints
        data['status'] = self.status
        data['expected'] = self.expected
        data['notes'] = list(self.notes)
        return data


class ExpectedWeight(ConstrainedWeight):
    """A constrained weight this machine cannot draw (a GPU-only layer):
    the shape pylearn2 would draw, no value."""

    def __init__(self, name, path, layer, constraints, shape, spec):
        family, note = declared_family(layer, spec)
        ConstrainedWeight.__init__(
            self, name, constraints, shape, 'float32', family=family,
            family_note=note, path=path, class_name=type(layer).__name__)
        self.layer = layer
        self.spec = spec

    def read(self):
        raise ValueError('%s has no weight on this machine (%s)'
                         % (self.name, self.layer.no_gpu_reason))


def _plain_weight(layer):
    """``(value, axes, kind)`` of an unconstrained layer's weight, or
    None."""
    try:
        weight = weight_variable(layer)
        value = np.asarray(weight.get_value()) if weight is not None else None
    except Exception:  # a foreign layer whose get_params fails
        return None
    if value is None:
        return None
    vectors = natural_vectors(layer, value.ndim)
    if vectors is None:
        return None
    kind, axes = vectors
    return value, axes, kind


def _constraint_dict(constraints):
    return dict((c.attr, c.limit) for c in constraints)


def _nonfinite_row(weight, exc):
    row = LayerRow(weight.path, weight.name, weight.class_name, 'nonfinite',
                   shape=weight.shape, family=weight.family,
                   reason=text_of(exc),
                   constraints=_constraint_dict(weight.constraints),
                   spec=getattr(weight, 'spec', None))
    return row


def _finite(weight):
    try:
        return bool(np.isfinite(weight.read()).all())
    except Exception:  # pragma: no cover - an unreadable weight
        return True


def _analyze_weight(weight, fraction, confidence, mode, debug):
    try:
        analysis = core.analyze(weight, weight.read(), fraction, confidence,
                                mode)
    except Exception as exc:
        if not _finite(weight):   # the core refuses NaN / inf weights
            return _nonfinite_row(weight, exc)
        if debug:
            raise
        return LayerRow(weight.path, weight.name, weight.class_name,
                        'unknown', shape=weight.shape, family=weight.family,
                        reason='analysis failed: %s' % one_line(exc),
                        constraints=_constraint_dict(weight.constraints),
                        spec=weight.spec)
    if any(not np.isfinite(part.before.max) for part in analysis.parts):
        return _nonfinite_row(weight, ValueError(
            'weight %s has non-finite values (NaN or inf)' % weight.name))
    return LayerRow(weight.path, weight.name, weight.class_name,
                    'breaks' if analysis.breaks else 'ok',
                    shape=weight.shape, analysis=analysis,
                    family=weight.family, spec=weight.spec)


def _expected_row(path, name, layer, fraction, confidence, mode):
    spec = spec_of(layer)
    constraints, attrs, _ = constraints_of(layer, spec)
    shape = tuple(layer.expected_shape)
    if not constraints:
        return LayerRow(path, name, type(layer).__name__, 'unconstrained',
                        shape=shape, family=declared_family(layer, spec)[0],
                        spec=spec)
    weight = ExpectedWeight(name, path, layer, constraints, shape, spec)
    analysis = core.analyze(weight, None, fraction, confidence, mode)
    if weight.family is None:
        return LayerRow(path, name, weight.class_name, 'unknown', shape=shape,
                        reason=weight.family_note, constraints=attrs,
                        spec=spec)
    return LayerRow(path, name, weight.class_name,
                    'breaks' if analysis.breaks else 'ok', shape=shape,
                    analysis=analysis, family=weight.family, spec=spec)


def analyze_model(model, fraction, confidence, mode='max', debug=False):
    """The :class:`LayerRow` of every layer of ``model``, in layer order."""
    constrained, unknown, unconstrained = find_constrained(model)
    order = dict((path, k) for k, (path, _) in enumerate(walk_layers(model)))
    rows = [_analyze_weight(w, fraction, confidence, mode, debug)
            for w in constrained]
    by_path = dict((row.path, row) for row in rows)
    for item in unknown:
        layer = item.layer
        if getattr(layer, 'expected_shape', None) is not None:
            if item.path not in by_path:
                row = _expected_row(item.path, item.name, layer, fraction,
                                    confidence, mode)
                row.notes.append(
                    'expected, not observed: no GPU here; W %s as pylearn2 '
                    'draws it with cuda-convnet, norms from the law of its '
                    'init' % _stand_in_shape(layer))
                rows.append(row)
                by_path[item.path] = row
            continue
        if item.path in by_path:
            by_path[item.path].notes.append(item.reason)
            continue
        row = LayerRow(item.path, item.name, item.class_name, 'unknown',
                       family=declared_family(layer)[0], reason=item.reason,
                       constraints=item.attrs, spec=spec_of(layer))
        plain = _plain_weight(layer)
        if plain is not None:
            row.shape = tuple(plain[0].shape)
        rows.append(row)
        by_path[item.path] = row
    for path, layer in unconstrained:
        name = getattr(layer, 'layer_name', None) or path
        row = LayerRow(path, name, type(layer).__name__, 'unconstrained',
                       family=declared_family(layer)[0], spec=spec_of(layer))
        plain = _plain_weight(layer)
        if plain is not None:
            value, axes, kind = plain
            row.shape = tuple(value.shape)
            try:
                norms = vector_norms(value, axes, name=name + ' weight')
            except ValueError as exc:   # NaN or inf: listed, not counted
                row.notes.append(text_of(exc))
            else:
                row.summary = summarize(norms)
                row.kind = kind
                row.norms = norms
                row.n, row.m = vector_shape(value.shape, axes)
        rows.append(row)
    rows.sort(key=lambda row: order.get(row.path, len(order)))
    return rows


def mark_excluded(rows, selected):
    """Mark the constrained rows not in ``selected`` (a set of names; None
    selects all) ``'excluded'``: reported, not counted."""
    if selected is None:
        return
    for row in rows:
        if row.status in ('ok', 'breaks', 'nonfinite') \
                and row.name not in selected:
            row.status = 'excluded'


def _stand_in_shape(layer):
    shape = 'x'.join(str(s) for s in layer.expected_shape)
    dummy = getattr(layer, 'dummy_channels', 0)
    if dummy:
        shape += ' (%d input channels + %d dummy)' % (
            layer.input_space.num_channels, dummy)
    return shape
