"""``check --fix OUT.yaml``: replace, in the TEXT of the YAML, the existing
init value of every breaking layer, re-check the fixed copy, then write it.
Only a plain or quoted scalar number is replaced; anything else stops with
"edit it by hand at line N"; a ``%(name)s`` value gets ``-D`` advice.
"""
from __future__ import absolute_import, division, print_function

import math
import os
import re
import sys

from .._io import write_atomic
from .errors import CheckError, text_of, why
from .layers import option_name
from .templates import CONVERSION, placeholders, substitute

__all__ = ['FixReport', 'fix_value', 'same_file', 'format_value',
           'replace_values']

#: An anchor or tag before a scalar (``&ir !!float 0.25``).
_PREFIX = re.compile(r'(?:[&!]\S*\s+)*')


def format_value(value, digits=6):
    """``value`` with ``digits`` significant digits, rounded DOWN, always
    read by PyYAML as a float.

    >>> format_value(0.01637519), format_value(1e-5), format_value(2)
    ('0.0163751', '1.0e-05', '2.0')
    """
    value = float(value)
    if not (value > 0) or math.isinf(value):
        raise ValueError('value must be a finite number > 0; got %r'
                         % (value,))
    exponent = int(math.floor(math.log10(value))) - (digits - 1)
    k = int(math.floor(value / 10.0 ** exponent)) + 1
    text = '%.*g' % (digits, k * 10.0 ** exponent)
    while float(text) > value:
        k -= 1
        text = '%.*g' % (digits, k * 10.0 ** exponent)
    mantissa, sep, exp = text.partition('e')
    return mantissa + ('' if '.' in mantissa else '.0') + sep + exp


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same file."""
    try:
        return os.path.samefile(a, b)
    except (AttributeError, OSError):  # a missing path; Windows Python 2
        return os.path.normcase(os.path.realpath(a)) == \
            os.path.normcase(os.path.realpath(b))


def _layer_mappings(text):
    """``{layer name: [(mapping node, layer_name key node)]}`` of the
    (placeholder-masked) text, composed by PyYAML (nothing constructed)."""
    import yaml
    masked = CONVERSION.sub(lambda m: re.sub(r'[^\r\n]', 'x', m.group(0)),
                            text)
    try:
        roots = list(yaml.compose_all(masked, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CheckError('--fix: cannot read the YAML text: %s'
                         % ' '.join(str(exc).split()), sys.exc_info())
    found, seen, stack = {}, set(), list(roots)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == 'layer_name' and \
                        isinstance(value, yaml.ScalarNode) and \
                        not CONVERSION.search(text, value.start_mark.index,
                                              value.end_mark.index):
                    found.setdefault(value.value, []).append((node, key))
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for pairs in found.values():
        pairs.sort(key=lambda pair: pair[1].start_mark.index)
    return found


def _line(node):
    return node.start_mark.line + 1


def _replacement(text, found, layer, key, value):
    """``(start, end, result)`` of one edit; CheckError when the value
    cannot be replaced as it is written."""
    import yaml
    mappings = found.get(layer, [])
    if len(mappings) != 1:
        if not mappings:
            raise CheckError("--fix: no layer_name '%s' written as such in "
                             "the YAML: edit it by hand" % layer)
        raise CheckError("--fix: layer_name '%s' is written %d times (lines "
                         "%s): edit it by hand at line %d" % (
                             layer, len(mappings), ', '.join(
                                 str(_line(k)) for _, k in mappings),
                             _line(mappings[0][1])))
    mapping, name_key = mappings[0]
    pairs = [(k, v) for k, v in mapping.value if k.value == key]
    if len(pairs) != 1:
        raise CheckError("--fix: layer '%s' (line %d) has %s '%s' key: edit "
                         "it by hand at line %d (%s=%s)"
                         % (layer, _line(name_key), len(pairs) or 'no', key,
                            _line(name_key), key, format_value(value)))
    knode, node = pairs[0]
    line, new = _line(knode), format_value(value)
    start, end = node.start_mark.index, node.end_mark.index
    alias = start < knode.end_mark.index
    if alias or not isinstance(node, yaml.ScalarNode) or \
            node.style in ('|', '>'):
        raise CheckError("--fix: layer '%s': the value of '%s' is %s: edit "
                         "it by hand at line %d (%s: %s)" % (
                             layer, key, 'an alias' if alias else
                             'not a plain or quoted scalar', line, key, new))
    start += _PREFIX.match(text, start, end).end() - start
    old = text[start:end]
    result = {'layer': layer, 'key': key, 'value': value, 'old': old,
              'new': new, 'line': line, 'placeholder': None, 'note': None}
    names = placeholders(old)
    if names:
        result.update(status='template', placeholder=names, message=(
            "layer '%s': '%s: %s' (line %d) is a template substitution"
            % (layer, key, old, line)))
        return start, end, result
    try:
        float(node.value)
    except ValueError:
        raise CheckError("--fix: layer '%s': '%s: %s' is not a number: edit "
                         "it by hand at line %d" % (layer, key, old, line))
    if old == new:
        result.update(status='unchanged', message="layer '%s': '%s' is "
                      "already %s" % (layer, key, old))
        return start, end, result
    result.update(status='replaced', message="layer '%s': %s %s -> %s "
                  "(line %d)" % (layer, key, old, new, line))
    anchor = re.match(r'&(\S+)', text[node.start_mark.index:start])
    if anchor:
        users = [str(text.count('\n', 0, m.start()) + 1) for m in re.finditer(
            r'\*%s(?![^\s,\]}])' % re.escape(anchor.group(1)), text)]
        if users:
            result['note'] = ('the anchor &%s is also used by the alias(es) '
                              'on line(s) %s, which change too'
                              % (anchor.group(1), ', '.join(users)))
    return start, end, result


def replace_values(text, edits):
    """``(new text, results)``: each ``(layer, key, value)`` of ``edits``
    replaces the existing scalar value of ``key`` in the mapping whose
    ``layer_name`` is ``layer``; every other character is kept.

    >>> new, (r,) = replace_values('- {layer_name: h0, irange: .05}  # k\\n',
    ...                            [('h0', 'irange', 0.0123)])
    >>> print(new.rstrip()); print(r['status'], r['old'], r['line'])
    - {layer_name: h0, irange: 0.0123}  # k
    replaced .05 1
    """
    found = _layer_mappings(text)
    spans = [_replacement(text, found, *edit) for edit in edits]
    for start, end, result in sorted(spans, key=lambda s: -s[0]):
        if result['status'] == 'replaced':
            text = text[:start] + result['new'] + text[end:]
    return text, [result for _, _, result in spans]


def fix_value(weight, analysis):
    """``(option, value)`` that ``--fix`` writes for a breaking layer (the
    recommended value, or the draw's own cap when smaller; the option as
    the layer's YAML names it), or ``(None, why no parameter fixes it)``."""
    rec = analysis.recommended
    if rec is None:
        return None, 'no recommended value (%s)' % (
            '; '.join(p.note for p in analysis.parts if p.note)
            or 'declared init unknown')
    key = option_name(getattr(weight, 'spec', None), rec.param_name)
    if key is None:
        return None, ('%s has no sparse_stdev (its sparse_init draws N(0, 1) '
                      'entries): it cannot be fixed by a parameter; use fewer '
                      'sparse_init entries, irange or istdev, or a larger '
                      'limit' % weight.class_name)
    # The seeded draw scales linearly with the parameter: its own cap (with
    # a margin for float32 rounding) when that is smaller.
    family, ratios = weight.family, [
        part.target / part.before.max for part in analysis.parts
        if part.before is not None and part.before.max > 0]
    if ratios and family is not None and family.kind != 'zero' and \
            family.scale:
        return key, min(rec.value, family.scale * min(ratios) * (1 - 1e-5))
    return key, rec.value


def _define_advice(results, defines):
    """For values written as templates: which -D to change."""
    by_name = {}
    for result in results:
        for name in result['placeholder'] or ():
            by_name.setdefault(name, []).append(result)
    advice = []
    for name in sorted(by_name):
        group = by_name[name]
        value = min(r['value'] for r in group)
        layers = ', '.join(r['layer'] for r in group)
        keys = '/'.join(sorted(set(r['key'] for r in group)))
        text = format_value(value)
        if all(re.match(r'^%\(' + re.escape(name) + r'\)[^%]*$', r['old'])
               for r in group):
            message = ('%s: %s comes from %%(%s): change -D %s=%s to -D '
                       '%s=%s (or less)' % (layers, keys, name, name,
                                            defines.get(name, '?'), name,
                                            text))
        else:
            message = ('%s: %s is computed from %%(%s) (%s): change -D %s '
                       'so that it is <= %s' % (layers, keys, name,
                                                group[0]['old'], name, text))
        advice.append({'name': name, 'value': value, 'text': text,
                       'layers': [r['layer'] for r in group],
                       'current': defines.get(name), 'message': message})
    return advice


class FixReport(object):
    """The fixed copy of ``raw`` (the template text), checked by
    ``recheck(text, out)`` (``after``), written by :meth:`write`;
    ``results`` (one per edit), ``problems`` (layers no parameter fixes),
    ``defines`` (advice for template values), ``written`` (False for an
    in-place fix that changes nothing)."""

    def __init__(self, raw, report, defines, path, out, recheck):
        self.out, edits = out, []
        self.problems = [{'layer': e['name'], 'reason': (
            'its initial weights are not finite (NaN or inf): no parameter '
            'value fixes that; correct its init')}
            for e in report.entries if e['status'] == 'nonfinite']
        for weight, analysis in report.analysed:
            if analysis.breaks:
                key, value = fix_value(weight, analysis)
                if key is None:
                    self.problems.append({'layer': weight.name,
                                          'reason': value})
                else:
                    edits.append((weight.name, key, value))
        fixed, self.results = replace_values(raw, edits)
        try:
            self.after = recheck(substitute(fixed, defines, out)[0], out)
        except CheckError as exc:
            raise CheckError('--fix: the fixed copy does not load, so %s was '
                             'not written (please report this): %s'
                             % (out, text_of(exc)), exc.cause)
        self.written = not (same_file(out, path) and fixed == raw)
        self.data = fixed.encode('utf-8')
        self.defines = _define_advice(self.results, defines)
        self.changed = sum(1 for r in self.results
                           if r['status'] == 'replaced')

    def write(self):
        """Write the fixed copy (atomically); CheckError if it cannot be."""
        if not self.written:
            return
        try:
            write_atomic(self.out, self.data)
        except (IOError, OSError, ValueError) as exc:
            raise CheckError('cannot write %s: %s' % (self.out, why(exc)),
                             sys.exc_info())

    def as_dict(self):
        return {'out': self.out, 'written': self.written,
                'changed': self.changed,
                'edits': [r for r in self.results
                          if r['status'] != 'template'],
                'cannot_fix': self.problems, 'define_advice': self.defines,
                'after': {'breaks': self.after.breaking,
                          'exit_code': self.after.exit_code}}

    def text(self):
        lines = ['fix: wrote %s (%d value%s changed)' % (
            self.out, self.changed, '' if self.changed == 1 else 's')
            if self.written else
            'fix: %s left as it was (nothing to change)' % self.out]
        for result in self.results:
            if result['status'] != 'template':
                lines.append('  %s' % result['message'])
            if result['note']:
                lines.append('    note: %s' % result['note'])
        lines.extend('  cannot fix %s: %s' % (p['layer'], p['reason'])
                     for p in self.problems)
        lines.extend('  template: %s' % a['message'] for a in self.defines)
        still = self.after.breaking
        fraction = self.after.options.fraction
        lines.append('fix: %s still breaks fraction %g in the fixed copy'
                     % (', '.join(still), fraction) if still else
                     'fix: checked the fixed copy: every layer within '
                     'fraction %g' % fraction)
        return '\n'.join(lines)
