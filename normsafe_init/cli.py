"""The ``normsafe-init`` command line (also ``python -m normsafe_init``):
``solve`` (:mod:`normsafe_init.solve_command`) and ``check``
(:mod:`normsafe_init.pylearn2.check`). Exit codes: 0 success, 1 a checked
model breaks its fraction, 2 usage errors (one line on stderr).
"""
from __future__ import absolute_import, division, print_function

import argparse
import sys

from . import solve_command
from .version import __version__
from .pylearn2 import check as check_module

__all__ = ['main', 'UsageError']


class UsageError(Exception):
    """A bad argument: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and raise :class:`UsageError`."""

    def error(self, message):
        raise UsageError('%s: error: %s' % (self.prog, message))


def _build_parser():
    parser = _Parser(prog='normsafe-init',
                     description='Initial weights that respect max-norm '
                                 'constraints.')
    parser.add_argument('--version', action='version',
                        version='normsafe_init ' + __version__)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     parser_class=_Parser)
    commands.required = True
    solve_command.add_parser(commands)
    check_module.add_parser(commands)
    return parser


def main(argv=None, out=None, err=None):
    """Run the command line; returns the exit code."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        args = _build_parser().parse_args(argv)
        args.err = err
        return args.run(args, out)
    except UsageError as exc:  # the message starts with the parser's prog
        err.write('%s\n' % exc)
        return 2
    except ValueError as exc:
        err.write('normsafe-init: error: %s\n' % exc)
        return 2
