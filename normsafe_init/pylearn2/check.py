"""``normsafe-init check EXP.yaml``: inspect a training YAML before training.

One :class:`normsafe_init.options.Options` (the command line, then the
YAML's ``NormSafeInit``, then the defaults); only the model is built
(:mod:`.loading`); everything is computed before anything is written.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import sys
import traceback

from .. import plot
from .._record import jsonable
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)
from .errors import CheckError, text_of, why
from .fixing import FixReport, same_file
from .loading import OPTIONS, extension_options, load_model
from .report import CheckReport
from .templates import parse_defines, read_text, substitute

__all__ = ['add_parser', 'run', 'CheckError', 'CheckReport', 'check_text',
           'load_model', 'substitute', 'parse_defines', 'DEFAULT_FRACTION',
           'DEFAULT_CONFIDENCE']

PROG = 'normsafe-init check'


def add_parser(commands):
    """Add ``check`` to ``commands`` (argparse sub-parsers)."""
    p = commands.add_parser(
        'check', help='inspect a training YAML before training (pylearn2)',
        description='Report the initial vector norms of the model of a '
                    'pylearn2 training YAML against FRACTION x each max-norm '
                    'limit. Exit 0: every layer within FRACTION; 1: some '
                    'layer breaks it; 2: usage error or unusable file.')
    p.add_argument('yaml', metavar='EXP.yaml', help='the training YAML')
    default = " (default: the YAML's NormSafeInit, else %s)"
    p.add_argument('--fraction', type=float, metavar='F',
                   help='target t = F x limit' + default % DEFAULT_FRACTION)
    p.add_argument('--confidence', type=float, metavar='P',
                   help='P(all vectors <= t) to reach' + default
                   % DEFAULT_CONFIDENCE)
    p.add_argument('--mode', metavar='MODE', help="'max' or 'mean' (expected "
                   "norm t)" + default % DEFAULT_MODE)
    p.add_argument('--layers', metavar='A,B',
                   help='only these constrained layers count')
    p.add_argument('--exclude', metavar='A,B',
                   help='these constrained layers do not count')
    p.add_argument('--model', metavar='DOTTED.PATH',
                   help="the object to check (default: the top Train's "
                        'model, else the first pylearn2 Model)')
    p.add_argument('--json', action='store_true',
                   help='print one JSON object instead of the table')
    p.add_argument('--fix', metavar='OUT.yaml',
                   help='write a copy of the YAML with the breaking init '
                        'values replaced')
    p.add_argument('--in-place', action='store_true',
                   help='allow --fix OUT.yaml to be the input file itself')
    p.add_argument('--plot', metavar='OUT.png',
                   help='write histograms of the vector norms (matplotlib)')
    p.add_argument('-D', dest='defines', action='append', default=[],
                   metavar='name=value',
                   help='value of a %%(name)s template (once per name)')
    p.add_argument('--debug', action='store_true',
                   help='show tracebacks and the output of pylearn2')
    p.set_defaults(run=run)
    return p


def emit(stream, text):
    """Write ``text`` to ``stream``; as UTF-8 bytes when the stream's
    encoding cannot encode it (Python 2 with a pipe, an ASCII locale)."""
    encoding = getattr(stream, 'encoding', False)
    try:
        if encoding is not False:
            text.encode(encoding or 'ascii')
    except (UnicodeError, LookupError):
        stream.flush()
        buffer = getattr(stream, 'buffer', stream)
        buffer.write(text.encode('utf-8'))
        buffer.flush()
        return
    stream.write(text)


def run(args, out):
    """Run ``check`` for parsed ``args``; returns the exit code."""
    err = getattr(args, 'err', None) or sys.stderr
    try:
        return _run(args, out, err)
    except CheckError as exc:
        if args.debug:
            emit(err, ''.join(traceback.format_exception(
                *(exc.cause or sys.exc_info()))))
        emit(err, u'%s: %s\n' % (PROG, exc))
        return 2


def _cli_options(args):
    """The options given on the command line (validated), by name."""
    given = dict((name, getattr(args, name)) for name in OPTIONS
                 if getattr(args, name) is not None)
    for name in ('layers', 'exclude'):
        if name in given:
            names = [n.strip() for n in given[name].split(',') if n.strip()]
            if not names:
                raise CheckError('--%s must name at least one layer; got %r'
                                 % (name, given[name]))
            given[name] = names
    try:
        Options(**given)
    except ValueError as exc:
        raise CheckError('--' + text_of(exc))
    return given


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
    report = check_text(text, path, cli, args, err)
    fix = None
    if args.fix:
        fix = FixReport(raw, report, defines, path, args.fix, lambda
                        fixed, out: check_text(fixed, out, cli, args, err))
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
    try:
        if args.plot:
            plot.plot_panels(panels, args.plot, suptitle='%s: fraction %g, '
                             'confidence %g' % (os.path.basename(args.yaml),
                                                report.options.fraction,
                                                report.options.confidence))
    except Exception as exc:  # I/O, or matplotlib failing to draw
        if not args.json:
            emit(out, u'\n'.join(lines[:-1]) + u'\n')
        written = ('; the --fix copy was written to %s' % fix.out
                   if fix is not None and fix.written else '')
        raise CheckError('cannot write %s: %s%s' % (args.plot, why(exc),
                                                    written), sys.exc_info())
    emit(out, u'\n'.join(lines) + u'\n')
    return report.exit_code


def check_text(text, path, cli, args, err):
    """The :class:`CheckReport` of ``text`` (already substituted) with the
    options ``cli`` (``{name: value}``, from the command line), then the
    YAML's ``NormSafeInit``, then the defaults."""
    loaded = load_model(text, path, model_path=args.model, debug=args.debug,
                        err=err)
    yaml_options, line = extension_options(path, loaded.top)
    sources = dict((name, 'command line' if name in cli else 'yaml')
                   for name in OPTIONS if name in cli
                   or yaml_options.get(name) is not None)
    for name in ('fraction', 'confidence', 'mode'):
        sources.setdefault(name, 'default')
    try:
        options = Options().replace(**yaml_options).replace(**cli)
    except ValueError as exc:
        raise CheckError(text_of(exc))
    return CheckReport(path, loaded, options, sources, line)
