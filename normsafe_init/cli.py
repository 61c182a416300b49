"""The ``normsafe-init`` command line (also ``python -m normsafe_init``).

Sub-commands:

``solve``
    The safe ``irange`` / ``istdev`` / ``sparse_stdev`` for one layer, from
    its numbers alone (no pylearn2 needed)::

        normsafe-init solve --init gaussian --fan-in 46208 --vectors 1024 \\
            --limit 1.9 --fraction 0.5 --current 0.01

``check``
    Inspect a training YAML before training (needs pylearn2); see
    :mod:`normsafe_init.check`.

Exit codes: 0 success, 1 a checked model breaks its fraction (``check``),
2 usage errors (one line on stderr).
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import sys

from . import __version__
from .distributions import Gaussian, Sparse, Uniform
from .solver import assess, solve

__all__ = ['main', 'UsageError']

INIT_CHOICES = ('uniform', 'gaussian', 'sparse')


class UsageError(Exception):
    """A bad argument: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and raise :class:`UsageError`."""

    def error(self, message):
        raise UsageError('%s: error: %s' % (self.prog, message))


def _build_parser():
    parser = _Parser(prog='normsafe-init',
                     description='Initial weights that respect pylearn2 '
                                 'max-norm constraints.')
    parser.add_argument('--version', action='version',
                        version='normsafe_init ' + __version__)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     parser_class=_Parser)
    commands.required = True
    _add_solve(commands)
    try:
        from .pylearn2 import check as check_module
    except ImportError:  # pragma: no cover - check is optional
        check_module = None
    if check_module is not None:
        check_module.add_parser(commands)
    return parser


def _add_solve(commands):
    p = commands.add_parser(
        'solve', help='the safe init parameter for one layer',
        description='The largest irange / istdev / sparse_stdev that keeps '
                    'every vector norm of a layer under FRACTION x LIMIT.')
    p.add_argument('--init', required=True, choices=INIT_CHOICES,
                   help='declared init: uniform (irange), gaussian (istdev) '
                        'or sparse (sparse_init, sparse_stdev)')
    p.add_argument('--fan-in', required=True, type=int, metavar='N',
                   help='entries per constrained vector (input_dim for a '
                        'column; in_channels*rows*cols for a kernel)')
    p.add_argument('--vectors', required=True, type=int, metavar='M',
                   help='number of constrained vectors (columns / kernels)')
    p.add_argument('--limit', required=True, type=float, metavar='C',
                   help='max_col_norm / max_row_norm / max_kernel_norm')
    p.add_argument('--fraction', type=float, default=1.0, metavar='F',
                   help='target t = F x C, F in (0, 1] (default 1)')
    p.add_argument('--nonzero', type=int, metavar='K',
                   help='sparse_init (non-zeros per vector); required with '
                        '--init sparse')
    p.add_argument('--include-prob', type=float, default=1.0, metavar='P',
                   help='include_prob of an irange init (default 1)')
    group = p.add_mutually_exclusive_group()
    group.add_argument('--confidence', type=float, default=0.99, metavar='P',
                       help='P(all vectors <= t) to reach (default 0.99)')
    group.add_argument('--mean', action='store_true',
                       help='solve for expected norm = t instead')
    p.add_argument('--current', type=float, metavar='VALUE',
                   help='the value declared now, to see what it implies')
    p.add_argument('--json', action='store_true',
                   help='print one JSON object')
    p.set_defaults(run=_run_solve)


def _family(args):
    if args.init == 'uniform':
        return Uniform(1.0, include_prob=args.include_prob)
    if args.include_prob != 1.0:
        raise UsageError('--include-prob applies only to --init uniform')
    if args.init == 'gaussian':
        return Gaussian(1.0)
    if args.nonzero is None:
        raise UsageError('--init sparse needs --nonzero K (sparse_init)')
    return Sparse(args.nonzero, 1.0)


def _run_solve(args, out):
    family = _family(args)
    if args.nonzero is not None and args.init != 'sparse':
        raise UsageError('--nonzero applies only to --init sparse')
    mode = 'mean' if args.mean else 'max'
    result = solve(family, args.fan_in, args.vectors, limit=args.limit,
                   fraction=args.fraction, confidence=args.confidence,
                   mode=mode)
    current = None
    if args.current is not None:
        current = assess(family.with_scale(args.current), args.fan_in,
                         args.vectors, limit=args.limit,
                         fraction=args.fraction, confidence=args.confidence)
    if args.json:
        data = result.as_dict()
        data['current'] = current
        out.write(json.dumps(data, sort_keys=True) + '\n')
        return 0
    name = result.param_name
    extra = {'uniform': ', include_prob=%g' % args.include_prob,
             'sparse': ', sparse_init=%s' % args.nonzero}.get(args.init, '')
    lines = [
        'init         %s (%s%s), n = %d entries per vector, m = %d vectors'
        % (args.init, name, extra, args.fan_in, args.vectors),
        'target       t = %g x %g = %.6g' % (result.fraction, result.limit,
                                             result.target),
    ]
    if mode == 'max':
        lines.append('safe %-7s %.6g   (P(all %d norms <= t) = %g)'
                     % (name, result.value, result.m, result.confidence))
    else:
        lines.append('safe %-7s %.6g   (expected norm = t)'
                     % (name, result.value))
    lines.append('  at it:    mean norm %.6g, %g-quantile of the max %.6g, '
                 'P(all <= t) = %.6g'
                 % (result.mean_norm, result.confidence, result.max_quantile,
                    result.prob_all_below))
    if result.guaranteed is not None:
        lines.append('  certain:  %s <= %.6g can never exceed t '
                     '(bound %s x sqrt(n))' % (name, result.guaranteed, name))
    if current is not None:
        lines.append('current %-5s %.6g: mean norm %.6g, %g-quantile of the '
                     'max %.6g' % (name, args.current, current['mean_norm'],
                                   args.confidence, current['max_quantile']))
        lines.append('  expected vectors over t: %.4g of %d; over the limit: '
                     '%.4g' % (current['expected_above_target'], result.m,
                               current['expected_above_limit']))
    out.write('\n'.join(lines) + '\n')
    return 0


def main(argv=None, out=None, err=None):
    """Run the command line; returns the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        args = _build_parser().parse_args(argv)
        args.err = err
        return args.run(args, out)
    except UsageError as exc:
        message = str(exc)
        if not message.startswith('normsafe-init'):
            message = 'normsafe-init: error: ' + message
        err.write('%s\n' % message)
        return 2
    except ValueError as exc:
        err.write('normsafe-init: error: %s\n' % exc)
        return 2
