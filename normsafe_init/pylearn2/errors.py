"""The one error of ``normsafe-init check``: a usage error or a file it
cannot use, reported on one line with exit code 2."""
from __future__ import absolute_import, division, print_function

__all__ = ['CheckError', 'one_line', 'why']


class CheckError(Exception):
    """A usage error or an unreadable YAML: one line, exit code 2.

    ``cause`` is the ``sys.exc_info()`` of the underlying exception (shown
    with ``--debug``).

    >>> str(CheckError('cannot read x.yaml: No such file or directory'))
    'cannot read x.yaml: No such file or directory'
    """

    def __init__(self, message, cause=None):
        Exception.__init__(self, message)
        self.cause = cause


def one_line(exc):
    """``'TypeError: first line of the message'``.

    >>> one_line(ValueError('bad\\nmore'))
    'ValueError: bad'
    """
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ''
    name = type(exc).__name__
    return '%s: %s' % (name, first) if first else name


def why(exc):
    """The cause of an I/O error, without the file name.

    >>> why(IOError(2, 'No such file or directory', 'x'))
    'No such file or directory'
    """
    return getattr(exc, 'strerror', None) or one_line(exc)
