"""The ``check`` report of a built pylearn2 model: the core's audit table
(:func:`normsafe_init.run.audit`) with pylearn2's extra rows
(``unconstrained``, ``excluded``, ``NON-FINITE``; a GPU-only layer's
``expected:ok`` / ``expected:BREAKS``, from the law of its declared init),
check's notes under it, one JSON object, or histogram panels.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from .. import run
from ..norms import summarize, vector_norms, vector_shape
from ..options import Options
from ..plot import Panel
from ..report import init_text
from ..weights import ConstrainedWeight
from .errors import CheckError, text_of
from .fixing import fix_value, format_value
from .layers import (UnknownLayer, constraints_of, declared_family,
                     find_constrained, natural_vectors, spec_of, walk_layers,
                     weight_variable)

__all__ = ['CheckReport', 'ExpectedWeight']


class ExpectedWeight(ConstrainedWeight):
    """A constrained weight this machine cannot draw (a GPU-only layer):
    the shape pylearn2 would draw; :meth:`read` gives None (the core then
    analyses the law alone)."""

    def __init__(self, name, path, layer, constraints, spec):
        family, note = declared_family(layer, spec)
        ConstrainedWeight.__init__(
            self, name, constraints, tuple(layer.expected_shape), 'float32',
            family=family, family_note=note, path=path,
            class_name=type(layer).__name__)
        self.layer, self.spec = layer, spec

    def read(self):
        return None


def _stand_in_shape(layer):
    dummy = getattr(layer, 'dummy_channels', 0)
    return _shape(layer.expected_shape) + (
        ' (%d input channels + %d dummy)' % (layer.input_space.num_channels,
                                             dummy) if dummy else '')


def _finite(weight):
    value = weight.read()
    return value is None or bool(np.isfinite(value).all())


def _shape(shape):
    return 'x'.join(str(s) for s in shape) if shape else '-'


def _plain(path, layer):
    """The JSON entry and note of a layer without a constraint."""
    name = getattr(layer, 'layer_name', None) or path
    family = declared_family(layer)[0]
    entry = {'name': name, 'path': path, 'class': type(layer).__name__,
             'shape': None, 'status': 'unconstrained', 'expected': False,
             'notes': [],
             'init': family.to_dict() if family is not None else None}
    note = 'no max-norm constraint'
    try:
        variable = weight_variable(layer)
        value = None if variable is None else np.asarray(variable.get_value())
    except Exception:  # a foreign layer whose get_params fails
        value = None
    if value is None:
        return entry, note
    entry['shape'] = list(value.shape)
    vectors = natural_vectors(layer, value.ndim)
    if vectors is None:
        return entry, note
    kind, axes = vectors
    try:
        norms = vector_norms(value, axes, name=name + ' weight')
    except ValueError as exc:   # NaN or inf: listed, not counted
        return entry, text_of(exc)
    summary = summarize(norms)
    entry['norms'] = dict(summary.as_dict(), kind=kind)
    entry['n'], entry['m'] = vector_shape(value.shape, axes)
    return entry, '%s; %s norms min/mean/max %.4g/%.4g/%.4g' % (
        'declared ' + family.describe() if family is not None else
        'init unknown', kind, summary.min, summary.mean, summary.max)


class CheckReport(object):
    """The check of one built model with the resolved ``options``: ``audit``
    (the core's :class:`AuditReport`, extra rows included), ``analysed``
    (``[(weight, analysis)]``), ``entries`` (the JSON layers), ``breaking``
    (names, layer order), ``exit_code``, ``sources`` (``{option: 'command
    line' | 'yaml' | 'default'}``)."""

    def __init__(self, path, loaded, options, sources, extension_line=None):
        self.path, self.loaded, self.options = path, loaded, options
        self.sources, self.extension_line = sources, extension_line
        model = loaded.model
        order = dict((p, k) for k, (p, _) in enumerate(walk_layers(model)))
        constrained, unknown, unconstrained = find_constrained(model)
        weights, left = list(constrained), []
        for item in unknown:
            layer = item.layer
            if getattr(layer, 'expected_shape', None) is None:
                left.append(item)
                continue
            spec = spec_of(layer)
            found = constraints_of(layer, spec)[0]
            if not found:
                unconstrained.append((item.path, layer))
                continue
            weight = ExpectedWeight(item.name, item.path, layer, found, spec)
            weight.notes.append(
                'expected, not observed: no GPU here; W %s as pylearn2 '
                'draws it with cuda-convnet, norms from the law of its init'
                % _stand_in_shape(layer))
            if weight.family is None:
                left.append(UnknownLayer(item.name, item.path, layer,
                                         item.attrs, weight.family_note))
            else:
                weights.append(weight)
        weights.sort(key=lambda w: order.get(w.path, len(order)))
        try:
            selected = run.select(weights, options, left)
        except ValueError as exc:
            raise CheckError(self._option_message(text_of(exc)))
        chosen = set(id(w) for w in selected)
        finite = [w for w in selected if _finite(w)]
        extra, entries = [], {}
        for weight in weights:
            if id(weight) in chosen and weight in finite:
                continue
            status = 'excluded' if id(weight) not in chosen else 'nonfinite'
            entries[weight.path] = dict(
                weight.as_dict(), status=status, expected=False, notes=[],
                constraints=dict((c.attr, c.limit)
                                 for c in weight.constraints))
            if status == 'excluded':
                extra.append((weight.name, _shape(weight.shape), 'excluded',
                              'left out by layers / exclude (not counted)'))
            else:
                entries[weight.path]['reason'] = (
                    'weight %s has non-finite values (NaN or inf)'
                    % weight.name)
                extra.append((weight.name, _shape(weight.shape),
                              'NON-FINITE', 'initial weights hold NaN or '
                              'inf: never within fraction', True))
        for path, layer in unconstrained:
            entry, note = _plain(path, layer)
            entries[path] = entry
            extra.append((entry['name'], _shape(entry['shape']),
                          'unconstrained', note))
        for item in left:
            family = declared_family(item.layer)[0]
            entries.setdefault(item.path, {
                'name': item.name, 'path': item.path,
                'class': item.class_name, 'status': 'unknown',
                'expected': False, 'reason': item.reason, 'notes': [],
                'constraints': item.attrs, 'shape': None,
                'init': family.to_dict() if family is not None else None})
        self.audit = run.audit(finite, options.replace(layers=None,
                                                       exclude=None),
                               left, extra=extra)
        self.analysed = [(w, a) for w, a, _ in self.audit.analyses]
        for weight, analysis in self.analysed:
            rec = analysis.recommended
            entries[weight.path] = dict(
                analysis.as_dict(), expected=not analysis.observed,
                status='breaks' if analysis.breaks else 'ok',
                notes=list(weight.notes),
                recommended_param=rec.param_name if rec else None,
                recommended_value=rec.value if rec else None,
                recommended_text=format_value(rec.value) if rec else None)
        self.entries = sorted(entries.values(), key=lambda e: order.get(
            e['path'], len(order)))
        self.breaking = [e['name'] for e in self.entries
                         if e['status'] in ('breaks', 'nonfinite')]
        self.exit_code = 1 if self.breaking else 0

    def _option_message(self, message):
        for option in ('layers', 'exclude'):
            if message.startswith(option + ' '):
                where = ('--' + option
                         if self.sources.get(option) == 'command line' else
                         'NormSafeInit (line %s): %s'
                         % (self.extension_line, option))
                return where + message[len(option):]
        return message

    def _names(self, status):
        return [e['name'] for e in self.entries if e['status'] == status]

    def as_dict(self):
        loaded = self.loaded
        return {'file': self.path, 'fraction': self.options.fraction,
                'confidence': self.options.confidence,
                'mode': self.options.mode, 'model': loaded.where,
                'options_from': self.sources,
                'extension_line': self.extension_line,
                'layers': self.entries, 'breaks': self.breaking,
                'unknown': self._names('unknown'),
                'excluded': self._names('excluded'),
                'biases_not_computed': [
                    {'layer': layer, 'class': cls, 'argument': arg}
                    for layer, cls, arg in loaded.dropped],
                'no_gpu': [{'layer': name, 'reason': why}
                           for name, why in sorted(loaded.no_gpu.items())],
                'python2_dimensions': list(loaded.py2_dims),
                'exit_code': self.exit_code}

    def header(self):
        options = self.options
        line = ('%s: %s; fraction %g (t = %g x limit), confidence %g'
                % (self.path, self.loaded.where, options.fraction,
                   options.fraction, options.confidence))
        if options.mode != 'max':
            line += ', mode %s' % options.mode
        taken = sorted(k for k, v in self.sources.items() if v == 'yaml'
                       and getattr(options, k) != getattr(Options(), k))
        if taken:
            line += ' (%s from the NormSafeInit at line %d)' % (
                ', '.join(taken), self.extension_line)
        return line

    def notes(self):
        """check's own lines under the table."""
        lines = []
        for weight, analysis in self.analysed:
            lines.extend('note %s (%s): %s' % (weight.name, weight.class_name,
                                               note) for note in weight.notes)
            if not analysis.breaks:
                continue
            key, value = fix_value(weight, analysis)
            lines.append('note %s: %s' % (weight.name, value) if key is None
                         else 'fix %s: %s=%s' % (weight.name, key,
                                                 format_value(value)))
        loaded = self.loaded
        if loaded.dropped:
            lines.append('note: biases not computed (their argument needs '
                         'the data; the weights are drawn as in training): '
                         + ', '.join('%s %s' % (
                             layer if layer == cls else
                             '%s (%s)' % (layer, cls), arg)
                             for layer, cls, arg in loaded.dropped))
        if loaded.py2_dims:
            lines.append("note: pylearn2 under Python 3 computes the output "
                         "dimension of %s with '/' (a float) and cannot "
                         "build this model; built with the integer "
                         "dimension of Python 2, whose draws these are"
                         % ', '.join(loaded.py2_dims))
        if self.breaking:
            lines.append('use the recommended values (--fix OUT.yaml writes '
                         'them into a copy)')
        unknown = self._names('unknown')
        if unknown:
            lines.append('not checked (see above): %s' % ', '.join(unknown))
        return lines

    def table(self):
        """The report as text: a header line, the core's table and its
        notes, then check's notes."""
        # __str__ itself: str() fails under Python 2 for a non-ASCII name
        return '\n'.join([self.header(), self.audit.__str__()]
                         + self.notes())

    def panels(self):
        """One :class:`normsafe_init.plot.Panel` per constraint of every
        observed constrained layer."""
        return [Panel('%s (%s) %s norms' % (weight.name, weight.class_name,
                                            part.constraint.kind),
                      part.norms, part.target, part.constraint.limit,
                      part.breaks, part.expected_max,
                      '%s; %d vectors; %d > t' % (init_text(weight),
                                                  part.before.count,
                                                  part.before.above_target))
                for weight, analysis in self.analysed if analysis.observed
                for part in analysis.parts]
