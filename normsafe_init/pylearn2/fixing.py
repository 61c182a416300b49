"""``check --fix OUT.yaml``: plan the edits, build and re-check the fixed
copy, then (separately, once everything is computed) write it.

Every breaking layer whose init can be set by a parameter gets its
``irange`` / ``istdev`` / ``sparse_stdev`` (``sparse_istdev`` for the DBM
``Softmax``) replaced by the recommended value, or by the largest value at
which the seeded draw itself stays under ``t`` when that is smaller; every
other byte of the YAML is kept (:mod:`.yaml_fix`). A value that comes from
a ``%(name)s`` template is not edited: the report says which ``-D`` value
to change.
"""
from __future__ import absolute_import, division, print_function

import os
import re
import sys

from .._io import write_atomic
from . import yaml_fix
from .errors import CheckError, text_of, why
from .layers import option_name
from .templates import substitute


__all__ = ['FixReport', 'plan_fix', 'plan_edits', 'unfixable_reason',
           'same_file']


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same file."""
    if os.path.exists(a) and os.path.exists(b):
        try:
            return os.path.samefile(a, b)
        except (AttributeError, OSError):  # no samefile on Windows py2
            pass
    return os.path.normcase(os.path.realpath(a)) == \
        os.path.normcase(os.path.realpath(b))


class FixReport(object):
    """What ``--fix`` does: ``out`` (the path), ``results``
    (:class:`yaml_fix.EditResult`), ``problems`` (layers that cannot be
    fixed by a parameter), ``defines`` (advice for template values),
    ``after`` (the :class:`.report.CheckReport` of the fixed copy),
    ``changed`` (values changed), ``written`` (whether :meth:`write` writes;
    false for an in-place fix that changes nothing), ``data`` (the bytes)."""

    def __init__(self, out, results, problems, defines, after, changed,
                 written, data):
        self.out = out
        self.results = results
        self.problems = problems
        self.defines = defines
        self.after = after
        self.changed = changed
        self.written = written
        self.data = data
        self.done = False

    def write(self):
        """Write the fixed copy (atomically); CheckError if it cannot be."""
        if not self.written:
            return
        try:
            write_atomic(self.out, self.data)
        except (IOError, OSError, ValueError) as exc:
            raise CheckError('cannot write %s: %s' % (self.out, why(exc)),
                             sys.exc_info())
        self.done = True

    def as_dict(self):
        return {'out': self.out, 'written': self.written,
                'changed': self.changed,
                'edits': [r.as_dict() for r in self.results],
                'cannot_fix': self.problems,
                'define_advice': self.defines,
                'after': {'breaks': [r.name for r in self.after.breaking],
                          'exit_code': self.after.exit_code}}

    def text(self):
        lines = []
        if self.written:
            lines.append('fix: wrote %s (%d value%s changed)'
                         % (self.out, self.changed,
                            '' if self.changed == 1 else 's'))
        else:
            lines.append('fix: %s left as it was (nothing to change)'
                         % self.out)
        for result in self.results:
            lines.append('  %s' % result.message)
            if result.note:
                lines.append('    note: %s' % result.note)
        for problem in self.problems:
            lines.append('  cannot fix %s: %s' % (problem['layer'],
                                                  problem['reason']))
        for advice in self.defines:
            lines.append('  template: %s' % advice['message'])
        still = [row.name for row in self.after.breaking]
        if still:
            lines.append('fix: %s still breaks fraction %g in the fixed copy'
                         % (', '.join(still), self.after.fraction))
        else:
            lines.append('fix: checked the fixed copy: every layer within '
                         'fraction %g' % self.after.fraction)
        return '\n'.join(lines)


def _realized_cap(analysis):
    """The largest scale at which THIS draw (the MLP's seeded one, which
    scales linearly with the init parameter) stays under every t, with a
    small margin for float32 rounding; None if not computable (no observed
    draw, an all-zero or unknown init)."""
    family = analysis.weight.family
    if family is None or family.kind == 'zero' or not family.scale:
        return None
    ratios = [part.target / part.before.max for part in analysis.parts
              if part.before is not None and part.before.max > 0]
    if not ratios:
        return None
    return family.scale * min(ratios) * (1.0 - 1e-5)


def unfixable_reason(row):
    """Why the init parameter of a breaking layer cannot be set to the
    recommended value, or None."""
    if row.status == 'nonfinite':
        return ('its initial weights are not finite (NaN or inf): no '
                'parameter value fixes that; correct its init')
    analysis = row.analysis
    if analysis is None:
        return None
    rec = analysis.recommended
    if rec is None:
        return 'no recommended value (%s)' % (
            '; '.join(p.note for p in analysis.parts if p.note)
            or 'declared init unknown')
    if option_name(row.spec, rec.param_name) is None:
        return ('%s has no sparse_stdev (its sparse_init draws N(0, 1) '
                'entries): it cannot be fixed by a parameter; use fewer '
                'sparse_init entries, irange or istdev, or a larger limit'
                % row.class_name)
    return None


def plan_edits(report):
    """``(edits, problems)`` for the layers of ``report`` that break."""
    edits, problems = [], []
    for row in report.breaking:
        reason = unfixable_reason(row)
        if reason:
            problems.append({'layer': row.name, 'reason': reason})
            continue
        rec = row.analysis.recommended
        value = rec.value
        cap = _realized_cap(row.analysis)
        if cap is not None and cap < value:
            value = cap
        key = option_name(row.spec, rec.param_name)
        edits.append(yaml_fix.Edit(
            row.name, key, value,
            insert_after='sparse_init' if rec.param_name == 'sparse_stdev'
            else None))
    return edits, problems


def _define_advice(results, defines):
    """For edits blocked by a template value: which -D to change."""
    advice = []
    by_name = {}
    for result in results:
        if result.status != 'template':
            continue
        for name in result.placeholder:
            by_name.setdefault(name, []).append(result)
    for name in sorted(by_name):
        results_ = by_name[name]
        value = min(r.edit.value for r in results_)
        layers = ', '.join(r.edit.layer for r in results_)
        keys = sorted(set(r.edit.key for r in results_))
        single = all(re.match(r'^%\(' + re.escape(name) + r'\)[^%]*$',
                              r.old or '') for r in results_)
        text = yaml_fix.format_value(value)
        if single:
            message = ('%s: %s comes from %%(%s): change -D %s=%s to -D '
                       '%s=%s (or less)' % (layers, '/'.join(keys), name,
                                            name, defines.get(name, '?'),
                                            name, text))
        else:
            message = ('%s: %s is computed from %%(%s) (%s): change -D %s '
                       'so that it is <= %s' % (layers, '/'.join(keys), name,
                                                results_[0].old, name, text))
        advice.append({'name': name, 'value': value, 'text': text,
                       'layers': [r.edit.layer for r in results_],
                       'current': defines.get(name), 'message': message})
    return advice


def plan_fix(raw, report, defines, path, out_path, recheck):
    """The fixed copy of ``raw`` (the template text, unsubstituted), built
    and checked (``recheck(text, out_path)`` gives its report) but not
    written: a :class:`FixReport` (call its ``write``)."""
    edits, problems = plan_edits(report)
    try:
        fixed, results = yaml_fix.apply_edits(raw, edits)
    except yaml_fix.YamlTextError as exc:
        raise CheckError('--fix: cannot scan %s: %s' % (path, text_of(exc)),
                         sys.exc_info())
    for result in results:
        if not result.ok and result.status != 'template':
            problems.append({'layer': result.edit.layer,
                             'reason': result.message})
    advice = _define_advice(results, defines)
    results = [r for r in results if r.ok]
    changed = sum(1 for r in results if r.status in ('replaced', 'inserted'))
    text, _ = substitute(fixed, defines, out_path)
    try:
        after = recheck(text, out_path)
    except CheckError as exc:
        raise CheckError('--fix: the fixed copy does not load, so %s was not '
                         'written (please report this): %s'
                         % (out_path, text_of(exc)),
                         exc.cause)
    written = not (same_file(out_path, path) and fixed == raw)
    return FixReport(out_path, results, problems, advice, after, changed,
                     written, fixed.encode('utf-8'))
