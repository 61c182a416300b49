"""Reading a training YAML and filling its ``%(name)s`` templates with
``check -D name=value``, as ``yaml_string % settings`` does.

>>> substitute('irange: %(ir)s\n', parse_defines(['ir=0.05']))
('irange: 0.05\n', [])
"""
from __future__ import absolute_import, division, print_function

import re
import sys

from .errors import CheckError, one_line, why

__all__ = ['read_text', 'parse_defines', 'substitute', 'placeholders',
           'CONVERSION']

#: A ``%(name)...`` conversion (the name is group 1).
CONVERSION = re.compile(r'%\(([^)]*)\)[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?'
                        r'[hlL]?([diouxXeEfFgGcrsa%])?')


def placeholders(text):
    """The names of the ``%(name)...`` placeholders in ``text``, in order
    of first appearance.

    >>> placeholders('a: %(x)f, b: %(y)d, c: %(x)f')
    ['x', 'y']
    """
    names = [match.group(1) for match in CONVERSION.finditer(text)]
    return sorted(set(names), key=names.index)


def read_text(path):
    """The text of ``path`` (UTF-8), line endings untouched."""
    try:
        with open(path, 'rb') as stream:
            data = stream.read()
    except (IOError, OSError) as exc:
        raise CheckError('cannot read %s: %s' % (path, why(exc)),
                         sys.exc_info())
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise CheckError('cannot read %s: not UTF-8 text (%s)'
                         % (path, exc), sys.exc_info())


def parse_defines(items):
    """``{'name': 'value'}`` from ``-D name=value`` arguments; a name given
    twice is an error (which value would be meant?).

    >>> parse_defines(['a=1', 'b=x=y'])['b']
    'x=y'
    """
    defines = {}
    for item in items or ():
        name, sep, value = item.partition('=')
        name = name.strip()
        if not sep or not name:
            raise CheckError("-D %s: expected name=value (e.g. -D "
                             "istdev=0.01)" % item)
        if name in defines:
            raise CheckError('-D %s is given twice (%s=%s and %s=%s); give '
                             'it once' % (name, name, defines[name], name,
                                          value))
        defines[name] = value
    return defines


class _Value(object):
    """A ``-D`` value for Python % formatting: ``%s`` gives the text as
    typed, ``%f`` / ``%g`` / ``%e`` its float, ``%d`` its int."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text

    __repr__ = __str__

    def __float__(self):
        return float(self.text)

    def __int__(self):
        return int(self.text)

    __index__ = __int__


def _line_of(text, offset):
    return text.count('\n', 0, offset) + 1


def substitute(text, defines, path='YAML'):
    """``(text % defines, unused names)``.

    Only a text with ``%(name)`` placeholders is formatted (a literal
    ``%`` must then be written ``%%``). A missing name, or a value that
    does not fit its conversion, raises :class:`CheckError`.
    """
    names = placeholders(text)
    unused = sorted(name for name in defines if name not in names)
    if not names:
        return text, unused
    missing = [name for name in names if name not in defines]
    if missing:
        raise CheckError('%s is a template: no value for %s; pass %s'
                         % (path, ', '.join('%%(%s)' % n for n in missing),
                            ' '.join('-D %s=VALUE' % n for n in missing)))
    values = dict((name, _Value(value)) for name, value in defines.items())
    try:
        return text % values, unused
    except (ValueError, TypeError, KeyError) as exc:
        cause = sys.exc_info()
        failure = one_line(exc)
    for match in CONVERSION.finditer(text):
        name = match.group(1)
        try:
            match.group(0) % values
        except (ValueError, TypeError, KeyError):
            raise CheckError("%s: -D %s=%s does not fit %s (line %d)"
                             % (path, name, defines.get(name),
                                match.group(0),
                                _line_of(text, match.start())), cause)
    stray = [match.start() for match in re.finditer(r'%%|%\([^)]*\)|%', text)
             if match.group(0) == '%']
    line = ' at line %d' % _line_of(text, stray[0]) if stray else ''
    raise CheckError('%s: template formatting failed%s (%s); a literal %% '
                     'must be written %%%% in a template'
                     % (path, line, failure), cause)
