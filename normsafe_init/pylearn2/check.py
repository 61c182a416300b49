"""``normsafe-init check EXP.yaml``: inspect a training YAML before training.

Only the model is built (:mod:`.loading`: no dataset, no training
algorithm, no Theano function, no ``!pkl:`` the model does not need), with
the MLP's fixed seed, so the norms shown are those the training run starts
from (before pylearn2 silently clips them onto the limits in
``Train.setup``). One row per constraint of every layer (:mod:`.report`);
the fraction, confidence, mode, layers and exclude of a
``!obj:normsafe_init.NormSafeInit`` in the YAML are used unless the command
line gives them.

Options: ``--fraction``, ``--confidence``, ``--mode``, ``--layers``,
``--exclude``, ``--model DOTTED.PATH`` (which object is the model),
``--json``, ``-D name=value`` (:mod:`.templates`), ``--fix OUT.yaml``
(:mod:`.fixing`; the input itself only with ``--in-place``), ``--plot
OUT.png`` (needs matplotlib), ``--debug``.

Everything is computed and formatted before anything is written; the
report is printed as UTF-8 where the stream cannot encode it.

Exit codes: 0 every layer is within its fraction, 1 some layer breaks it
(or has non-finite initial weights), 2 usage errors, unreadable or invalid
YAML, a model whose weights come from a missing file, pylearn2 not
importable.

This module imports pylearn2 only when a command runs.

>>> parse_defines(['istdev=0.01'])
{'istdev': '0.01'}
"""
from __future__ import absolute_import, division, print_function

import json
import os
import sys
import traceback

from .. import plot
from ..run import unknown_names
from .._record import jsonable
from ..options import DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE
from .._validation import (check_choice, check_fraction,
                           check_open_probability)
from .errors import CheckError, text_of, why
from .fixing import plan_fix, same_file
from .loading import extension_options, load_model
from .report import CheckReport
from .rows import LayerRow, analyze_model, mark_excluded
from .templates import parse_defines, read_text, substitute


__all__ = ['add_parser', 'run', 'CheckError', 'CheckReport', 'LayerRow',
           'check_text', 'load_model', 'substitute', 'parse_defines',
           'DEFAULT_FRACTION', 'DEFAULT_CONFIDENCE']

PROG = 'normsafe-init check'
MODES = ('max', 'mean')


def add_parser(commands):
    """Add the ``check`` sub-command to ``commands`` (argparse
    sub-parsers)."""
    p = commands.add_parser(
        'check', help='inspect a training YAML before training (pylearn2)',
        description='Build only the model of a pylearn2 training YAML (no '
                    'dataset, no training algorithm, no Theano compile) and '
                    'report, for every layer, its initial vector norms '
                    'against FRACTION x its max-norm limit, what the '
                    'declared init predicts and the safe irange / istdev / '
                    'sparse_stdev. Exit 0: every layer is within FRACTION; '
                    '1: some layer breaks it; 2: usage error, unreadable '
                    'YAML or missing file.')
    p.add_argument('yaml', metavar='EXP.yaml', help='the training YAML')
    p.add_argument('--fraction', type=float, metavar='F',
                   help='target t = F x limit, F in (0, 1] (default: the '
                        "YAML's NormSafeInit, else %g)" % DEFAULT_FRACTION)
    p.add_argument('--confidence', type=float, metavar='P',
                   help='P(all vectors <= t) the recommended value reaches, '
                        'and the quantile of the largest norm shown '
                        '(default: the YAML\'s NormSafeInit, else %g)'
                        % DEFAULT_CONFIDENCE)
    p.add_argument('--mode', metavar='MODE',
                   help="'max' (all vectors under t) or 'mean' (expected "
                        "norm t) for the recommended value (default: the "
                        "YAML's NormSafeInit, else %s)" % DEFAULT_MODE)
    p.add_argument('--layers', metavar='A,B',
                   help='only these constrained layers count')
    p.add_argument('--exclude', metavar='A,B',
                   help='these constrained layers do not count')
    p.add_argument('--model', metavar='DOTTED.PATH',
                   help='the object to check, as keys from the top '
                        "(default: the top Train's model, else the first "
                        'pylearn2 Model found; e.g. agent.mlp)')
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
                        '(repeatable, once per name)')
    p.add_argument('--debug', action='store_true',
                   help='show tracebacks and the output of pylearn2')
    p.set_defaults(run=run)
    return p


def emit(stream, text):
    """Write ``text`` to ``stream``; as UTF-8 bytes when the stream's
    encoding cannot encode it (Python 2 with a pipe, an ASCII locale)."""
    encoding = getattr(stream, 'encoding', False)
    if encoding is not False:
        try:
            text.encode(encoding or 'ascii')
        except (UnicodeError, LookupError):
            data = text.encode('utf-8')
            buffer = getattr(stream, 'buffer', None)
            if buffer is not None:
                stream.flush()
                buffer.write(data)
                buffer.flush()
            else:
                stream.write(data)
            return
    stream.write(text)


def run(args, out):
    """Run ``check`` for parsed ``args``; returns the exit code."""
    err = getattr(args, 'err', None) or sys.stderr
    try:
        return _run(args, out, err)
    except CheckError as exc:
        if args.debug:
            if exc.cause is not None:
                emit(err, ''.join(traceback.format_exception(*exc.cause)))
            else:
                emit(err, traceback.format_exc())
        emit(err, u'%s: %s\n' % (PROG, exc))
        return 2


def _names(text, option):
    if text is None:
        return None
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names:
        raise CheckError('%s must name at least one layer; got %r'
                         % (option, text))
    return names


def _cli_options(args):
    try:
        return {
            'fraction': None if args.fraction is None else
            check_fraction(args.fraction, '--fraction'),
            'confidence': None if args.confidence is None else
            check_open_probability(args.confidence, '--confidence'),
            'mode': None if args.mode is None else
            check_choice(args.mode, '--mode', MODES),
            'layers': _names(args.layers, '--layers'),
            'exclude': _names(args.exclude, '--exclude')}
    except (TypeError, ValueError) as exc:
        raise CheckError(text_of(exc))


def _check_outputs(args):
    if args.in_place and not args.fix:
        raise CheckError('--in-place only confirms --fix OUT.yaml where OUT '
                         'is the input; give --fix %s --in-place to fix %s '
                         'itself' % (args.yaml, args.yaml))
    if args.fix:
        same = same_file(args.fix, args.yaml)
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
        if same_file(args.plot, args.yaml):
            raise CheckError('--plot %s is the input YAML' % args.plot)
        if args.fix and same_file(args.plot, args.fix):
            raise CheckError('--plot %s is also the --fix output'
                             % args.plot)
        try:
            plot.require_matplotlib()
        except ImportError as exc:
            raise CheckError('--plot: %s' % exc)


def _check_dir(path, option):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CheckError('%s %s: directory %s does not exist'
                         % (option, path, directory))
    if os.path.isdir(path):
        raise CheckError('%s %s is a directory' % (option, path))


def _run(args, out, err):
    cli = _cli_options(args)
    defines = parse_defines(args.defines)
    _check_outputs(args)
    path = args.yaml
    raw = read_text(path)
    text, unused = substitute(raw, defines, path)
    for name in unused:
        emit(err, u'%s: note: -D %s is not used by %s\n' % (PROG, name, path))
    report = check_text(text, path, model_path=args.model, debug=args.debug,
                        err=err, **cli)
    fix = None
    if args.fix:
        def recheck(fixed_text, fixed_path):
            return check_text(fixed_text, fixed_path, report.fraction,
                              report.confidence, report.mode,
                              model_path=args.model, debug=args.debug,
                              err=err, selected=report.selected)
        fix = plan_fix(raw, report, defines, path, args.fix, recheck)
    panels = report.panels() if args.plot else None
    # Everything is computed: format, write the files, then print.
    if args.json:
        data = report.as_dict()
        if fix is not None:
            data['fix'] = fix.as_dict()
        if args.plot:
            data['plot'] = args.plot
        lines = [json.dumps(jsonable(data), sort_keys=True)]
    else:
        lines = [report.table()]
        if fix is not None:
            lines.append(fix.text())
        if args.plot:
            lines.append('plot: wrote %s (%d panel%s)'
                         % (args.plot, len(panels),
                            '' if len(panels) == 1 else 's'))
    if fix is not None:
        fix.write()
    if args.plot:
        _write_plot(args, panels, report, fix, out, lines)
    emit(out, u'\n'.join(lines) + u'\n')
    return report.exit_code


def _write_plot(args, panels, report, fix, out, lines):
    try:
        plot.plot_panels(panels, args.plot,
                         suptitle='%s: fraction %g, confidence %g'
                         % (os.path.basename(args.yaml), report.fraction,
                            report.confidence))
    except Exception as exc:  # I/O, or matplotlib failing to draw
        if not args.json:
            emit(out, u'\n'.join(lines[:-1]) + u'\n')
        written = ('; the --fix copy was written to %s' % fix.out
                   if fix is not None and fix.done else '')
        raise CheckError('cannot write %s: %s%s' % (args.plot, why(exc),
                                                    written), sys.exc_info())


def _resolve(cli, yaml_options, name, default):
    if cli.get(name) is not None:
        return cli[name], 'command line'
    if yaml_options is not None and yaml_options.get(name) is not None:
        return yaml_options[name], 'yaml'
    return default, 'default'


def _selection(rows, layers, exclude, sources, line):
    """The names that count (None: all), after checking the names exist."""
    if layers is None and exclude is None:
        return None
    known = set(r.name for r in rows if r.analysis is not None
                or r.status in ('nonfinite', 'unknown'))
    for option, names in (('layers', layers), ('exclude', exclude)):
        where = ('--%s' % option if sources[option] == 'command line'
                 else 'NormSafeInit (line %s): %s' % (line, option))
        message = unknown_names(where, names, known)
        if message:
            raise CheckError(message)
    return set(n for n in known if (layers is None or n in layers)
               and n not in (exclude or ()))


def check_text(text, path='YAML', fraction=None, confidence=None, mode=None,
               layers=None, exclude=None, model_path=None, debug=False,
               err=None, selected=False):
    """Build the model of ``text`` (already substituted) and analyse it:
    a :class:`CheckReport`. Options not given come from the YAML's
    ``NormSafeInit``, else the defaults."""
    loaded = load_model(text, path, model_path=model_path, debug=debug,
                        err=err)
    yaml_options, line = extension_options(text, path, top=loaded.top)
    cli = {'fraction': fraction, 'confidence': confidence, 'mode': mode,
           'layers': layers, 'exclude': exclude}
    sources, values = {}, {}
    for name, default in (('fraction', DEFAULT_FRACTION),
                          ('confidence', DEFAULT_CONFIDENCE),
                          ('mode', DEFAULT_MODE), ('layers', None),
                          ('exclude', None)):
        values[name], sources[name] = _resolve(cli, yaml_options, name,
                                               default)
    rows = analyze_model(loaded.model, values['fraction'],
                         values['confidence'], values['mode'], debug=debug)
    if selected is False:
        selected = _selection(rows, values['layers'], values['exclude'],
                              sources, line)
    mark_excluded(rows, selected)
    report = CheckReport(path, rows, values['fraction'], values['confidence'],
                         loaded.where, values['mode'], loaded,
                         dict((k, v) for k, v in sources.items()
                              if k in ('fraction', 'confidence', 'mode')
                              or values[k] is not None), line)
    report.selected = selected
    defaults = {'fraction': DEFAULT_FRACTION, 'confidence': DEFAULT_CONFIDENCE,
                'mode': DEFAULT_MODE}
    report.shown_sources = sorted(k for k in report.sources
                                  if values[k] != defaults.get(k))
    return report

