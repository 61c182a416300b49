"""The one error of ``normsafe-init check``: a usage error or a file it
cannot use, reported on one line with exit code 2."""
from __future__ import absolute_import, division, print_function

import codecs
import sys

__all__ = ['CheckError', 'one_line', 'why', 'text_of']


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

    >>> print(one_line(ValueError('bad\\nmore')))
    ValueError: bad
    """
    text = text_of(exc).strip()
    first = text.splitlines()[0].strip() if text else ''
    name = type(exc).__name__
    return '%s: %s' % (name, first) if first else name


def why(exc):
    """The cause of an I/O error, without the file name.

    >>> why(IOError(2, 'No such file or directory', 'x'))
    'No such file or directory'
    """
    return getattr(exc, 'strerror', None) or one_line(exc)


def text_of(exc):
    """The message of ``exc`` as text, also under Python 2 when it holds a
    non-ASCII layer name (where ``str(exc)`` raises).

    >>> text_of(ValueError(u'h\xf6he is NaN')) == u'h\xf6he is NaN'
    True
    """
    if sys.version_info[0] >= 3:
        return str(exc)
    try:
        return type(u'')(exc)
    except UnicodeError:  # a UTF-8 byte string message
        return codecs.decode(str(exc), 'utf-8', 'replace')
