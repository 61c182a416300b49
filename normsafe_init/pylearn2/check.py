"""``normsafe-init check EXP.yaml``: inspect a training YAML before training.

The YAML is parsed by pylearn2's own ``yaml_parse`` with
``instantiate=False``; only the ``model`` of the top ``Train`` (or the top
object itself when it is the model) is instantiated: no dataset (unless the
model refers to it), no training algorithm, no Theano function. pylearn2
draws the initial weights with the MLP's fixed seed, so the norms shown are
exactly those the training run would start from (before pylearn2 silently
clips them onto the limits in ``Train.setup``). Note that ``!pkl:`` files
are loaded while the YAML is parsed.

For every layer one row (per constraint) is printed, like pylearn2's
``print_model.py`` but about norms::

    layer class W-shape n m init limit t min mean max E-mean max@P >t >limit
    recommended status

``n`` is the number of entries per constrained vector (fan-in), ``m`` the
number of vectors, ``t = fraction x limit``; ``E-mean`` and ``max@P`` are the
expected mean norm and the ``P``-quantile of the largest norm under the
declared init; ``recommended`` is the largest ``irange`` / ``istdev`` /
``sparse_stdev`` that keeps every vector under ``t`` with probability ``P``
(written with 6 digits, rounded down). Layers without a constraint are
listed with their norms (columns of a dense W, kernels of a convolution)
and need no action; layers that carry a constraint normsafe_init cannot
read are listed with the reason.

Options: ``--fraction`` (default 0.5, as the extension), ``--confidence``
(0.99), ``--json`` (one object with the same numbers), ``-D name=value``
(fills ``%(name)s`` template substitutions, Python % formatting),
``--fix OUT.yaml`` (a copy whose offending init values are replaced by the
recommended ones, every other byte unchanged; see
:mod:`normsafe_init.yaml_fix`; the input itself only with ``--in-place``),
``--plot OUT.png`` (histograms; needs matplotlib), ``--debug``
(tracebacks, and pylearn2's own output on stderr).

Exit codes: 0 every layer is within its fraction, 1 some layer breaks it,
2 usage errors, unreadable or invalid YAML, pylearn2 not importable.

This module imports pylearn2 only when a command runs.
"""
from __future__ import absolute_import, division, print_function

import contextlib
import json
import math
import numbers
import os
import re
import sys
import traceback
import warnings

import numpy as np

from .._validation import check_fraction, check_open_probability
from ..analysis import analyze
from ..distributions import family_from_params
from .layers import find_constrained, walk_layers, weight_variable
from ..norms import summarize, vector_norms, vector_shape
from . import yaml_fix

__all__ = ['add_parser', 'run', 'CheckError', 'CheckReport', 'LayerRow',
           'check_text', 'load_model', 'substitute', 'DEFAULT_FRACTION',
           'DEFAULT_CONFIDENCE']

PROG = 'normsafe-init check'
#: The extension's default fraction (``NormSafeInit(fraction=0.5)``).
DEFAULT_FRACTION = 0.5
DEFAULT_CONFIDENCE = 0.99
#: The analysis mode: all vectors under t with probability ``confidence``.
MODE = 'max'

_DENSE_AXES = (0,)
#: Axes of the "natural" norms of an unconstrained layer's weight, by the
#: pylearn2 class in its MRO (first match wins).
_PLAIN_AXES = [
    ('ConvElemwise', 'kernel', (1, 2, 3)),
    ('MaxoutConvC01B', 'kernel', (0, 1, 2)),
    ('MaxoutLocalC01B', 'kernel', (2, 3, 4)),
]


class CheckError(Exception):
    """A usage error or an unreadable YAML: one line, exit code 2.

    ``cause`` is the ``sys.exc_info()`` of the underlying exception (shown
    with ``--debug``)."""

    def __init__(self, message, cause=None):
        Exception.__init__(self, message)
        self.cause = cause


# -- the command line --------------------------------------------------------

def add_parser(commands):
    """Add the ``check`` sub-command to ``commands`` (argparse
    sub-parsers)."""
    p = commands.add_parser(
        'check', help='inspect a training YAML before training (pylearn2)',
        description='Build only the model of a pylearn2 training YAML (no '
                    'training algorithm, no Theano compile) and report, for '
                    'every layer, its initial vector norms against '
                    'FRACTION x its max-norm limit, what the declared init '
                    'predicts and the safe irange / istdev / sparse_stdev. '
                    'Exit 0: every layer is within FRACTION; 1: some layer '
                    'breaks it; 2: usage error or unreadable YAML.')
    p.add_argument('yaml', metavar='EXP.yaml', help='the training YAML')
    p.add_argument('--fraction', type=float, default=DEFAULT_FRACTION,
                   metavar='F', help='target t = F x limit, F in (0, 1] '
                   '(default %g, as the extension)' % DEFAULT_FRACTION)
    p.add_argument('--confidence', type=float, default=DEFAULT_CONFIDENCE,
                   metavar='P', help='P(all vectors <= t) the recommended '
                   'value reaches, and the quantile of the largest norm '
                   'shown (default %g)' % DEFAULT_CONFIDENCE)
    p.add_argument('--json', action='store_true',
                   help='print one JSON object instead of the table')
    p.add_argument('--fix', metavar='OUT.yaml',
                   help='write a copy of the YAML whose offending init '
                        'values are replaced by the recommended ones (the '
                        'rest of the text is kept byte for byte)')
    p.add_argument('--in-place', action='store_true',
                   help='allow --fix OUT.yaml to be the input file itself')
    p.add_argument('--plot', metavar='OUT.png',
                   help='write histograms of the vector norms (needs '
                        'matplotlib)')
    p.add_argument('-D', dest='defines', action='append', default=[],
                   metavar='name=value',
                   help='value of a %%(name)s template substitution '
                        '(repeatable)')
    p.add_argument('--debug', action='store_true',
                   help='show tracebacks and the output of pylearn2')
    p.set_defaults(run=run)
    return p


def run(args, out):
    """Run ``check`` for parsed ``args``; returns the exit code."""
    err = getattr(args, 'err', None) or sys.stderr
    try:
        return _run(args, out, err)
    except CheckError as exc:
        if args.debug:
            if exc.cause is not None:
                err.write(''.join(traceback.format_exception(*exc.cause)))
            else:
                err.write(traceback.format_exc())
        err.write('%s: %s\n' % (PROG, exc))
        return 2


def _run(args, out, err):
    fraction, confidence = _check_numbers(args.fraction, args.confidence)
    defines = parse_defines(args.defines)
    _check_outputs(args)
    if args.plot:
        from .. import plot
        try:
            plot.require_matplotlib()
        except ImportError as exc:
            raise CheckError('--plot: %s' % exc)
    path = args.yaml
    raw = read_text(path)
    text, unused = substitute(raw, defines, path)
    for name in unused:
        err.write('%s: note: -D %s is not used by %s\n' % (PROG, name, path))
    report = check_text(text, path, fraction, confidence, debug=args.debug,
                        err=err)
    fix = None
    if args.fix:
        fix = fix_text(raw, report, defines, path, args.fix, debug=args.debug,
                       err=err)
    if args.plot:
        from .. import plot
        try:
            plot.plot_panels(report.panels(), args.plot,
                             suptitle='%s: fraction %g, confidence %g'
                             % (os.path.basename(path), fraction,
                                confidence))
        except (IOError, OSError) as exc:
            raise CheckError('cannot write %s: %s' % (args.plot, _why(exc)),
                             sys.exc_info())
    if args.json:
        data = report.as_dict()
        if fix is not None:
            data['fix'] = fix.as_dict()
        if args.plot:
            data['plot'] = args.plot
        out.write(json.dumps(_jsonable(data), sort_keys=True) + '\n')
    else:
        out.write(report.table() + '\n')
        if fix is not None:
            out.write(fix.text() + '\n')
        if args.plot:
            out.write('plot: wrote %s (%d panel%s)\n'
                      % (args.plot, len(report.panels()),
                         '' if len(report.panels()) == 1 else 's'))
    return report.exit_code


def _check_numbers(fraction, confidence):
    try:
        return (check_fraction(fraction, '--fraction'),
                check_open_probability(confidence, '--confidence'))
    except (TypeError, ValueError) as exc:
        raise CheckError(str(exc))


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        try:
            return os.path.samefile(a, b)
        except (AttributeError, OSError):  # no samefile on Windows py2
            pass
    return os.path.normcase(os.path.realpath(a)) == \
        os.path.normcase(os.path.realpath(b))


def _check_outputs(args):
    if args.in_place and not args.fix:
        raise CheckError('--in-place only confirms --fix OUT.yaml where OUT '
                         'is the input; give --fix %s --in-place to fix %s '
                         'itself' % (args.yaml, args.yaml))
    if args.fix:
        same = _same_file(args.fix, args.yaml)
        if same and not args.in_place:
            raise CheckError('refusing to overwrite the input %s with --fix; '
                             'add --in-place to do that, or give another '
                             'OUT.yaml' % args.yaml)
        if args.in_place and not same:
            raise CheckError('--in-place: --fix %s is not the input %s'
                             % (args.fix, args.yaml))
        _check_dir(args.fix, '--fix')
    if args.plot:
        _check_dir(args.plot, '--plot')
        if _same_file(args.plot, args.yaml):
            raise CheckError('--plot %s is the input YAML' % args.plot)
        if args.fix and _same_file(args.plot, args.fix):
            raise CheckError('--plot %s is also the --fix output'
                             % args.plot)


def _check_dir(path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CheckError('%s %s: directory %s does not exist'
                         % (option, path, directory))
    if os.path.isdir(path):
        raise CheckError('%s %s is a directory' % (option, path))


def _why(exc):
    """The cause of an I/O error, without the file name."""
    return getattr(exc, 'strerror', None) or _one_line(exc)


def _one_line(exc):
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ''
    name = type(exc).__name__
    return '%s: %s' % (name, first) if first else name


# -- reading and templates ---------------------------------------------------

def read_text(path):
    """The text of ``path`` (UTF-8), line endings untouched."""
    try:
        with open(path, 'rb') as stream:
            data = stream.read()
    except (IOError, OSError) as exc:
        raise CheckError('cannot read %s: %s' % (path, _why(exc)),
                         sys.exc_info())
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise CheckError('cannot read %s: not UTF-8 text (%s)'
                         % (path, exc), sys.exc_info())


def parse_defines(items):
    """``{'name': 'value'}`` from ``-D name=value`` arguments."""
    defines = {}
    for item in items or ():
        name, sep, value = item.partition('=')
        name = name.strip()
        if not sep or not name:
            raise CheckError("-D %s: expected name=value (e.g. -D "
                             "istdev=0.01)" % item)
        defines[name] = value
    return defines


class _Value(object):
    """A ``-D`` value for Python % formatting: ``%s`` gives the text as
    typed, ``%f`` / ``%g`` / ``%e`` its float, ``%d`` its int."""

    def __init__(self, name, text):
        self.name = name
        self.text = text

    def __str__(self):
        return self.text

    __repr__ = __str__

    def __float__(self):
        return float(self.text)

    def __int__(self):
        return int(self.text)

    __index__ = __int__


_CONVERSION = re.compile(r'%\(([^)]*)\)[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?'
                         r'[hlL]?([diouxXeEfFgGcrsa%])?')


def substitute(text, defines, path='YAML'):
    """``(text % defines, unused names)``.

    Only a text with ``%(name)`` placeholders is formatted (a literal
    ``%`` must then be written ``%%``). A missing name, or a value that
    does not fit its conversion, raises :class:`CheckError`.
    """
    names = yaml_fix.placeholders(text)
    unused = sorted(name for name in defines if name not in names)
    if not names:
        return text, unused
    missing = [name for name in names if name not in defines]
    if missing:
        raise CheckError('%s is a template: no value for %s; pass %s'
                         % (path, ', '.join('%%(%s)' % n for n in missing),
                            ' '.join('-D %s=VALUE' % n for n in missing)))
    values = dict((name, _Value(name, value))
                  for name, value in defines.items())
    try:
        return text % values, unused
    except (ValueError, TypeError, KeyError) as exc:
        cause = sys.exc_info()
        failure = _one_line(exc)
    for match in _CONVERSION.finditer(text):
        name = match.group(1)
        try:
            match.group(0) % values
        except (ValueError, TypeError, KeyError):
            raise CheckError("%s: -D %s=%s does not fit %s (line %d)"
                             % (path, name, defines.get(name),
                                match.group(0),
                                text.count('\n', 0, match.start()) + 1),
                             cause)
    line = ''
    for match in re.finditer(r'%%|%\([^)]*\)|%', text):
        if match.group(0) == '%':
            line = ' at line %d' % (text.count('\n', 0, match.start()) + 1)
            break
    raise CheckError('%s: template formatting failed%s (%s); a literal %% '
                     'must be written %%%% in a template'
                     % (path, line, failure), cause)


# -- building the model -------------------------------------------------------

class _Sink(object):
    """Collects what pylearn2 prints while the model is built."""

    encoding = 'utf-8'

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def isatty(self):
        return False


@contextlib.contextmanager
def _quiet(debug, err):
    """pylearn2 prints (``Input shape: ...``) and warns while a model is
    built; keep stdout for the report: send it to ``err`` with ``--debug``,
    else drop it (and the warnings)."""
    saved = sys.stdout
    sys.stdout = err if debug else _Sink()
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.simplefilter('ignore')
            yield
    finally:
        sys.stdout = saved


def _import_yaml_parse():
    try:
        from pylearn2.config import yaml_parse
    except Exception as exc:  # ImportError, or Theano failing at import
        raise CheckError('pylearn2 is not importable in this Python (%s): '
                         '"check" needs pylearn2 and Theano (%s)'
                         % (_one_line(exc), sys.executable), sys.exc_info())
    return yaml_parse


def _yaml_error(path, exc):
    """One line for a PyYAML error."""
    mark = getattr(exc, 'problem_mark', None)
    problem = getattr(exc, 'problem', None)
    if mark is None or problem is None:
        return '%s: invalid YAML: %s' % (path, ' '.join(str(exc).split()))
    message = '%s:%d:%d: invalid YAML: %s' % (path, mark.line + 1,
                                              mark.column + 1, problem)
    context = getattr(exc, 'context', None)
    context_mark = getattr(exc, 'context_mark', None)
    if context:
        message += ' (%s' % context
        if context_mark is not None:
            message += ' at line %d' % (context_mark.line + 1)
        message += ')'
    return message


def load_model(text, path='YAML', debug=False, err=None):
    """Build only the model of the training YAML ``text``.

    Returns ``(model, where)`` where ``where`` says which object was used.
    Raises :class:`CheckError` (one line) when pylearn2 is missing or the
    YAML cannot be parsed or built.
    """
    err = err or sys.stderr
    with _quiet(debug, err):
        yaml_parse = _import_yaml_parse()
        import yaml
        try:
            top = yaml_parse.load(text, instantiate=False)
        except yaml.YAMLError as exc:
            raise CheckError(_yaml_error(path, exc), sys.exc_info())
        except Exception as exc:
            raise CheckError('%s: cannot parse: %s' % (path, _one_line(exc)),
                             sys.exc_info())
        target, where = _select_model(top, yaml_parse, path)
        try:
            model = yaml_parse._instantiate(target)
        except Exception as exc:
            raise CheckError('%s: cannot build %s: %s'
                             % (path, where, _one_line(exc)), sys.exc_info())
    if not list(walk_layers(model)):
        raise CheckError('%s: %s is a %s, not a model with layers'
                         % (path, where, type(model).__name__))
    return model, where


def _callable_name(proxy):
    func = getattr(proxy, 'callable', None)
    return getattr(func, '__name__', None) or str(func)


def _select_model(top, yaml_parse, path):
    proxy_type = getattr(yaml_parse, 'Proxy', ())
    if top is None:
        raise CheckError('%s: the YAML is empty' % path)
    if isinstance(top, proxy_type):
        if 'model' in top.keywords:
            return (top.keywords['model'],
                    "the 'model' of the top %s" % _callable_name(top))
        return top, 'the top %s' % _callable_name(top)
    if isinstance(top, dict):
        if 'model' in top:
            return top['model'], "the 'model' of the top mapping"
        raise CheckError("%s: the top mapping has no 'model' key" % path)
    return top, 'the top object'


# -- analysis -----------------------------------------------------------------

def _mro_names(obj):
    return [cls.__name__ for cls in type(obj).__mro__]


def _plain_weight(layer):
    """``(value, axes, kind)`` of an unconstrained layer's weight, or
    None: columns of a dense W, kernels of a convolution."""
    try:
        weight = weight_variable(layer)
    except Exception:  # a foreign layer whose get_params fails
        return None
    if weight is None:
        return None
    try:
        value = np.asarray(weight.get_value())
    except Exception:
        return None
    names = _mro_names(layer)
    for cls_name, kind, axes in _PLAIN_AXES:
        if cls_name in names and value.ndim > max(axes):
            return value, axes, kind
    if value.ndim == 2:
        return value, _DENSE_AXES, 'col'
    return None


def _declared_init(layer):
    """The declared init family of any layer, or None."""
    kwargs = {}
    for name in ('irange', 'istdev', 'sparse_init', 'sparse_stdev',
                 'include_prob'):
        value = getattr(layer, name, None)
        if value is not None:
            kwargs[name] = value
    try:
        return family_from_params(**kwargs)
    except (TypeError, ValueError):
        return None


def _init_text(family):
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
    return 'sparse_init=%d,sparse_stdev=%.4g' % (family.sparse_init,
                                                 family.scale)


class LayerRow(object):
    """One layer of the report.

    ``status``: ``'ok'``, ``'breaks'`` (constrained), ``'unconstrained'``
    or ``'unknown'``. ``analysis`` is the :class:`LayerAnalysis` of a
    constrained layer; ``summary`` (a NormSummary), ``n``, ``m``, ``kind``
    describe the weight of an unconstrained one; ``reason`` why an unknown
    layer is not analysed; ``notes`` extra lines (constraint attributes a
    class does not use).
    """

    def __init__(self, path, name, class_name, status, shape=None,
                 analysis=None, family=None, summary=None, n=None, m=None,
                 kind=None, reason=None, constraints=None):
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
        self.norms = None
        self.notes = []

    @property
    def breaks(self):
        return self.status == 'breaks'

    def as_dict(self):
        if self.analysis is not None:
            data = self.analysis.as_dict()
            rec = self.analysis.recommended
            data['recommended_param'] = rec.param_name if rec else None
            data['recommended_value'] = rec.value if rec else None
            data['recommended_text'] = (yaml_fix.format_value(rec.value)
                                        if rec else None)
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
        data['notes'] = list(self.notes)
        return data


def analyze_model(model, fraction, confidence, debug=False):
    """The :class:`LayerRow` of every layer of ``model``, in layer order."""
    constrained, unknown, unconstrained = find_constrained(model)
    order = dict((path, k) for k, (path, _) in enumerate(walk_layers(model)))
    rows = []
    for weight in constrained:
        try:
            analysis = analyze(weight,
                               weight.read(),
                               fraction, confidence, MODE)
        except Exception as exc:
            if debug:
                raise
            rows.append(LayerRow(weight.path, weight.name, weight.class_name,
                                 'unknown', shape=weight.shape,
                                 family=weight.family,
                                 reason='analysis failed: %s'
                                 % _one_line(exc),
                                 constraints=dict(
                                     (c.attr, c.limit)
                                     for c in weight.constraints)))
            continue
        rows.append(LayerRow(weight.path, weight.name, weight.class_name,
                             'breaks' if analysis.breaks else 'ok',
                             shape=weight.shape, analysis=analysis,
                             family=weight.family))
    by_path = dict((row.path, row) for row in rows)
    for item in unknown:
        if item.path in by_path:
            by_path[item.path].notes.append(item.reason)
            continue
        row = LayerRow(item.path, item.name, item.class_name, 'unknown',
                       family=_declared_init(item.layer), reason=item.reason,
                       constraints=item.attrs)
        plain = _plain_weight(item.layer)
        if plain is not None:
            row.shape = tuple(plain[0].shape)
        rows.append(row)
        by_path[item.path] = row
    for path, layer in unconstrained:
        name = getattr(layer, 'layer_name', None) or path
        row = LayerRow(path, name, type(layer).__name__, 'unconstrained',
                       family=_declared_init(layer))
        plain = _plain_weight(layer)
        if plain is not None:
            value, axes, kind = plain
            row.shape = tuple(value.shape)
            norms = vector_norms(value, axes, name=name + ' weight')
            row.summary = summarize(norms)
            row.kind = kind
            row.norms = norms
            row.n, row.m = vector_shape(value.shape, axes)
        rows.append(row)
    rows.sort(key=lambda row: order.get(row.path, len(order)))
    return rows


class CheckReport(object):
    """The result of checking one YAML: ``rows`` (:class:`LayerRow`),
    ``path``, ``fraction``, ``confidence``, ``where`` (which object was
    built) and ``exit_code``."""

    def __init__(self, path, rows, fraction, confidence, where):
        self.path = path
        self.rows = rows
        self.fraction = fraction
        self.confidence = confidence
        self.where = where

    @property
    def breaking(self):
        return [row for row in self.rows if row.breaks]

    @property
    def constrained(self):
        return [row for row in self.rows if row.analysis is not None]

    @property
    def exit_code(self):
        return 1 if self.breaking else 0

    def as_dict(self):
        return {'file': self.path, 'fraction': self.fraction,
                'confidence': self.confidence, 'mode': MODE,
                'model': self.where,
                'layers': [row.as_dict() for row in self.rows],
                'breaks': [row.name for row in self.breaking],
                'unknown': [row.name for row in self.rows
                            if row.status == 'unknown'],
                'exit_code': self.exit_code}

    # -- the table ------------------------------------------------------------
    def table_rows(self):
        """The table as a list of cell lists (header first)."""
        quantile = 'max@%g' % self.confidence
        header = ['layer', 'class', 'W shape', 'n', 'm', 'init', 'limit',
                  't', 'min', 'mean', 'max', 'E mean', quantile, '>t',
                  '>limit', 'recommended', 'status']
        cells = [header]
        for row in self.rows:
            shape = 'x'.join(str(s) for s in row.shape) if row.shape else '-'
            if row.analysis is not None:
                for part in row.analysis.parts:
                    before = part.before
                    rec = part.recommended
                    cells.append([
                        row.name, row.class_name, shape, _n_text(part.n),
                        str(part.m if part.m is not None
                            else np.size(part.n)),
                        _init_text(row.analysis.weight.family),
                        '%s<=%.6g' % (part.constraint.kind,
                                      part.constraint.limit),
                        _num(part.target), _num(before.min),
                        _num(before.mean), _num(before.max),
                        _num(part.expected_mean), _num(part.expected_max),
                        str(before.above_target), str(before.above_limit),
                        ('%s=%s' % (rec.param_name,
                                    yaml_fix.format_value(rec.value))
                         if rec is not None else '-'),
                        'BREAKS' if part.breaks else 'ok'])
            elif row.status == 'unconstrained':
                summary = row.summary
                cells.append([
                    row.name, row.class_name, shape,
                    str(row.n) if row.n else '-',
                    str(row.m) if row.m else '-', _init_text(row.family)
                    if summary is not None else '-', '-', '-',
                    _num(summary.min) if summary else '-',
                    _num(summary.mean) if summary else '-',
                    _num(summary.max) if summary else '-',
                    '-', '-', '-', '-', '-', 'unconstrained'])
            else:
                limits = ','.join('%s=%g' % (k, v) for k, v in
                                  sorted((row.constraints or {}).items()))
                cells.append([row.name, row.class_name, shape, '-', '-',
                              _init_text(row.family), limits or '-', '-',
                              '-', '-', '-', '-', '-', '-', '-', '-',
                              'UNKNOWN'])
        return cells

    def table(self):
        """The report as text: a header line, the table, notes, a verdict."""
        cells = self.table_rows()
        widths = [max(len(c[k]) for c in cells) for k in range(len(cells[0]))]
        numeric = set(range(3, 5)) | set(range(7, 15))
        lines = ['%s: %s; fraction %g (t = %g x limit), confidence %g'
                 % (self.path, self.where, self.fraction, self.fraction,
                    self.confidence)]
        for row_cells in cells:
            parts = []
            for k, cell in enumerate(row_cells):
                parts.append(cell.rjust(widths[k]) if k in numeric
                             else cell.ljust(widths[k]))
            lines.append('  '.join(parts).rstrip())
        for row in self.rows:
            if row.status == 'unknown':
                lines.append('unknown %s (%s): %s' % (row.name, row.class_name,
                                                      row.reason))
            for note in row.notes:
                lines.append('note %s (%s): %s' % (row.name, row.class_name,
                                                   note))
            if row.breaks:
                reason = unfixable_reason(row)
                if reason:
                    lines.append('note %s: %s' % (row.name, reason))
        constrained = self.constrained
        breaking = self.breaking
        if breaking:
            lines.append(
                '%d of %d constrained layer%s break%s fraction %g (a vector '
                'above t): %s; use the recommended values (--fix OUT.yaml '
                'writes them into a copy)'
                % (len(breaking), len(constrained),
                   '' if len(constrained) == 1 else 's',
                   's' if len(breaking) == 1 else '', self.fraction,
                   ', '.join(row.name for row in breaking)))
        elif len(constrained) == 1:
            lines.append('the constrained layer is within fraction %g of its '
                         'limit' % self.fraction)
        elif constrained:
            lines.append('all %d constrained layers are within fraction %g '
                         'of their limits' % (len(constrained),
                                              self.fraction))
        else:
            lines.append('no layer carries a max-norm constraint that '
                         'normsafe_init can read: nothing to check')
        unknown = [row.name for row in self.rows if row.status == 'unknown']
        if unknown:
            lines.append('not checked (see above): %s' % ', '.join(unknown))
        return '\n'.join(lines)

    # -- the plot -------------------------------------------------------------
    def panels(self):
        """One :class:`normsafe_init.plot.Panel` per constraint of every
        constrained layer."""
        from ..plot import Panel
        panels = []
        for row in self.constrained:
            for part in row.analysis.parts:
                title = '%s (%s) %s norms' % (row.name, row.class_name,
                                              part.constraint.kind)
                subtitle = '%s; %d vectors, n=%s; %d > t' % (
                    _init_text(row.analysis.weight.family),
                    part.before.count, _n_text(part.n),
                    part.before.above_target)
                panels.append(Panel(title, part.norms, part.target,
                                    part.constraint.limit, part.breaks,
                                    part.expected_max, subtitle))
        return panels


def _n_text(n):
    if np.ndim(n) == 0:
        return str(int(n))
    n = np.asarray(n)
    return '%d-%d' % (n.min(), n.max())


def _num(value):
    if value is None:
        return '-'
    return '%.4g' % value


def check_text(text, path='YAML', fraction=DEFAULT_FRACTION,
               confidence=DEFAULT_CONFIDENCE, debug=False, err=None):
    """Build the model of ``text`` (already substituted) and analyse it:
    a :class:`CheckReport`."""
    model, where = load_model(text, path, debug=debug, err=err)
    rows = analyze_model(model, fraction, confidence, debug=debug)
    return CheckReport(path, rows, fraction, confidence, where)


# -- --fix --------------------------------------------------------------------

class FixReport(object):
    """What ``--fix`` did: ``out`` (the path written, or None), ``results``
    (:class:`yaml_fix.EditResult`), ``problems`` (layers that cannot be
    fixed by a parameter), ``defines`` (advice for template values),
    ``after`` (the :class:`CheckReport` of the fixed copy)."""

    def __init__(self, out, results, problems, defines, after, changed,
                 written):
        self.out = out
        self.results = results
        self.problems = problems
        self.defines = defines
        self.after = after
        self.changed = changed
        self.written = written

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
    small margin for float32 rounding; None if not computable."""
    family = analysis.weight.family
    if family is None or family.kind == 'zero' or not family.scale:
        return None
    ratios = [part.target / part.before.max for part in analysis.parts
              if part.before.max > 0]
    if not ratios:
        return None
    return family.scale * min(ratios) * (1.0 - 1e-5)


def unfixable_reason(row):
    """Why the init parameter of a constrained layer cannot be set to the
    recommended value, or None."""
    analysis = row.analysis
    if analysis is None:
        return None
    rec = analysis.recommended
    if rec is None:
        return 'no recommended value (%s)' % (
            '; '.join(p.note for p in analysis.parts if p.note)
            or 'declared init unknown')
    if rec.param_name == 'sparse_stdev' \
            and not hasattr(analysis.weight.layer, 'sparse_stdev'):
        return ('%s has no sparse_stdev (its sparse_init draws N(0, 1) '
                'entries): it cannot be fixed by a parameter; use fewer '
                'sparse_init entries, irange or istdev, or a larger limit'
                % row.class_name)
    return None


def plan_edits(report):
    """``(edits, problems)`` for the layers of ``report`` that break."""
    edits, problems = [], []
    for row in report.breaking:
        analysis = row.analysis
        rec = analysis.recommended
        reason = unfixable_reason(row)
        if reason:
            problems.append({'layer': row.name, 'reason': reason})
            continue
        value = rec.value
        cap = _realized_cap(analysis)
        if cap is not None and cap < value:
            value = cap
        edits.append(yaml_fix.Edit(
            row.name, rec.param_name, value,
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


def fix_text(raw, report, defines, path, out_path, debug=False, err=None):
    """Write the fixed copy of ``raw`` (the template text, unsubstituted) to
    ``out_path``; returns a :class:`FixReport`. The copy is built and
    checked before it is written; nothing is written if it does not load."""
    edits, problems = plan_edits(report)
    try:
        fixed, results = yaml_fix.apply_edits(raw, edits)
    except yaml_fix.YamlTextError as exc:
        raise CheckError('--fix: cannot scan %s: %s' % (path, exc),
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
        after = check_text(text, out_path, report.fraction,
                           report.confidence, debug=debug, err=err)
    except CheckError as exc:
        raise CheckError('--fix: the fixed copy does not load, so %s was not '
                         'written (please report this): %s' % (out_path, exc),
                         exc.cause)
    written = True
    if _same_file(out_path, path) and fixed == raw:
        written = False
    else:
        try:
            yaml_fix.write_atomic(out_path, fixed.encode('utf-8'))
        except (IOError, OSError) as exc:
            raise CheckError('cannot write %s: %s' % (out_path, _why(exc)),
                             sys.exc_info())
    return FixReport(out_path, results, problems, advice, after, changed,
                     written)


# -- JSON ---------------------------------------------------------------------

def _jsonable(value):
    """Plain JSON types; NaN and infinities become None."""
    if isinstance(value, dict):
        return dict((str(k), _jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        return None if math.isinf(value) or math.isnan(value) else value
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value
