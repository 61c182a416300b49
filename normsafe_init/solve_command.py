"""The ``solve`` sub-command: the safe init parameter for one layer from its
numbers alone (no framework needed). A bad value raises ``ValueError`` naming
the option as typed (``--fan-in must be an integer >= 1; got 0``): exit 2.
"""
from __future__ import absolute_import, division, print_function

import json
import math

from ._record import jsonable
from ._validation import (check_fraction, check_int, check_open_probability,
                          check_positive)
from .options import DEFAULT_CONFIDENCE, DEFAULT_FRACTION
from .laws import Gaussian, Sparse, TruncNormal, Uniform
from .solver import assess, solve

__all__ = ['add_parser', 'run', 'INIT_CHOICES']

INIT_CHOICES = ('uniform', 'gaussian', 'sparse', 'truncnormal')


def add_parser(commands):
    """Add ``solve`` to ``commands`` (argparse sub-parsers)."""
    p = commands.add_parser(
        'solve', help='the safe init parameter for one layer',
        description='The largest irange / istdev / sparse_stdev / stddev '
                    'that keeps every vector norm of a layer under '
                    'FRACTION x LIMIT.')
    p.add_argument('--init', required=True, choices=INIT_CHOICES,
                   help='declared init: uniform (irange), gaussian (istdev), '
                        'sparse (sparse_stdev), truncnormal (stddev, Keras)')
    p.add_argument('--fan-in', required=True, type=int, metavar='N',
                   help='entries per constrained vector (input_dim for a '
                        'column; in_channels*rows*cols for a kernel)')
    p.add_argument('--vectors', required=True, type=int, metavar='M',
                   help='number of constrained vectors')
    p.add_argument('--limit', required=True, type=float, metavar='C',
                   help='max_col_norm / max_row_norm / max_kernel_norm')
    p.add_argument('--fraction', type=float, default=DEFAULT_FRACTION,
                   metavar='F', help='target t = F x C (default %g)'
                   % DEFAULT_FRACTION)
    p.add_argument('--nonzero', type=int, metavar='K',
                   help='sparse_init (needed by --init sparse)')
    p.add_argument('--include-prob', type=float, default=1.0, metavar='P',
                   help='include_prob of --init uniform (default 1)')
    group = p.add_mutually_exclusive_group()
    group.add_argument('--confidence', type=float, default=DEFAULT_CONFIDENCE,
                       metavar='P', help='P(all vectors <= t) to reach '
                       '(default %g)' % DEFAULT_CONFIDENCE)
    group.add_argument('--mean', action='store_true',
                       help='solve for expected norm = t instead')
    p.add_argument('--current', type=float, metavar='VALUE',
                   help='the value declared now, to see what it implies')
    p.add_argument('--json', action='store_true',
                   help='print one JSON object')
    p.set_defaults(run=run)
    return p


def _checked(args):
    """The validated numbers of ``args``; a ``ValueError`` names the option
    as typed, its value and what is allowed."""
    values = {
        'n': check_int(args.fan_in, '--fan-in', minimum=1),
        'm': check_int(args.vectors, '--vectors', minimum=1),
        'limit': check_positive(args.limit, '--limit'),
        'fraction': check_fraction(args.fraction, '--fraction'),
        'confidence': check_open_probability(args.confidence, '--confidence'),
        'include_prob': check_fraction(args.include_prob, '--include-prob'),
    }
    if args.include_prob != 1.0 and args.init != 'uniform':
        raise ValueError('--include-prob applies only to --init uniform')
    if args.nonzero is not None and args.init != 'sparse':
        raise ValueError('--nonzero applies only to --init sparse')
    if args.init == 'sparse':
        if args.nonzero is None:
            raise ValueError('--init sparse needs --nonzero K (sparse_init)')
        k = check_int(args.nonzero, '--nonzero', minimum=1)
        if k > values['n']:
            raise ValueError('--nonzero must be <= --fan-in (%d); got %d'
                             % (values['n'], k))
    values['current'] = (None if args.current is None else
                         check_positive(args.current, '--current',
                                        allow_zero=True))
    # With include_prob p < 1 the whole layer is zero with probability
    # (1 - p)^(n m); from the confidence up no scale is implied.
    p = values['include_prob']
    zero = math.exp(values['n'] * values['m'] * math.log1p(-p)) if p < 1 else 0
    if not args.mean and zero >= values['confidence']:
        raise ValueError(
            'with --include-prob %g, --fan-in %d and --vectors %d the '
            'layer is all zero with probability %.6g >= --confidence %g, '
            'so any irange would do; raise --confidence or --include-prob'
            % (p, values['n'], values['m'], zero, values['confidence']))
    return values


def _family(args, values):
    if args.init == 'uniform':
        return Uniform(1.0, include_prob=values['include_prob'])
    if args.init == 'sparse':
        return Sparse(args.nonzero, 1.0)
    return {'gaussian': Gaussian, 'truncnormal': TruncNormal}[args.init](1.0)


def run(args, out):
    """Run ``solve`` for parsed ``args``, writing to ``out``; returns 0 (bad
    values raise ``ValueError``, exit status 2 in :func:`cli.main`)."""
    values = _checked(args)
    mode = 'mean' if args.mean else 'max'
    family = _family(args, values)
    n, m = values['n'], values['m']
    common = dict(limit=values['limit'], fraction=values['fraction'],
                  confidence=values['confidence'])
    result = solve(family, n, m, mode=mode, **common)
    current = None
    if values['current'] is not None:
        current = assess(family.with_scale(values['current']), n, m,
                         **common)
    if args.json:
        data = result.as_dict()
        data['current'] = current
        out.write(json.dumps(jsonable(data), sort_keys=True, allow_nan=False)
                  + '\n')
        return 0
    out.write('\n'.join(_lines(args, values, mode, result, current)) + '\n')
    return 0


def _lines(args, values, mode, result, current):
    name = result.param_name
    extra = {'uniform': ', include_prob=%g' % values['include_prob'],
             'sparse': ', sparse_init=%s' % args.nonzero}.get(args.init, '')
    lines = [
        'init         %s (%s%s), n = %d entries per vector, m = %d vectors'
        % (args.init, name, extra, values['n'], values['m']),
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
        bound = ('%s x sqrt(n)' if args.init == 'uniform'
                 else '2 x %s x sqrt(n)') % name
        lines.append('  certain:  %s <= %.6g can never exceed t (bound %s)'
                     % (name, result.guaranteed, bound))
    if current is not None:
        lines.append('current %-5s %.6g: mean norm %.6g, %g-quantile of the '
                     'max %.6g' % (name, values['current'],
                                   current['mean_norm'], values['confidence'],
                                   current['max_quantile']))
        lines.append('  expected vectors over t: %.4g of %d; over the limit: '
                     '%.4g' % (current['expected_above_target'], result.m,
                               current['expected_above_limit']))
    return lines
