"""Edit init values of pylearn2 layers in the TEXT of an experiment YAML.

``check --fix`` rewrites one value (``irange`` / ``istdev`` /
``sparse_stdev``) per offending layer and keeps every other byte. PyYAML
composes the text (nothing is constructed: any tag is fine); node marks'
``.index`` count characters of the string (a BOM and each ``\\r`` too) and
the text is edited there. A mapping with a scalar ``layer_name`` is that
layer's; only its own key's value is replaced (an alias by the number).
A ``sparse_init`` layer without ``sparse_stdev`` gets one right after its
``sparse_init``, in the mapping's style (``{...}`` or block). ``%(name)s``
conversions are masked by as many ``x`` (a value holding one is reported,
not edited). PyYAML is imported at first use: ``--fix`` runs after
pylearn2, which needs it, has built the model.
"""
from __future__ import absolute_import, division, print_function

import math
import re

from .._io import write_atomic  # noqa: F401  (old name; use _io.write_atomic)

__all__ = ['YamlTextError', 'compose', 'span', 'find_layer_mappings',
           'format_value', 'Edit', 'EditResult', 'apply_edits',
           'placeholders', 'write_atomic']

_BREAKS = re.compile(r'\r\n|\r|\n')
_PLACEHOLDER = re.compile(r'%\(([^)]*)\)')
#: A whole placeholder conversion (``%(name)s``, ``%(x)-8.3f``): masked.
_CONVERSION = re.compile(r'%\([^)]*\)[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?'
                         r'[hlL]?[diouxXeEfFgGcrsa]?')
_BOM = u'\ufeff'
_BLANKS = re.compile(r'(?:[ \t\r\n]|#[^\r\n]*)*')


class YamlTextError(ValueError):
    """PyYAML cannot read the text; the message names line and column."""


def placeholders(text):
    """The names of the ``%(name)...`` placeholders in ``text``, in order
    of first appearance.

    >>> placeholders('a: %(x)f, b: %(y)d, c: %(x)f')
    ['x', 'y']
    """
    names = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def _decoded(text):
    """Bytes (Python 2's ``str``) decoded: marks index decoded text."""
    return text.decode('utf-8') if isinstance(text, bytes) else text


def _mask(text):
    """Placeholder conversions replaced by as many ``x`` (same indices)."""
    return _CONVERSION.sub(lambda m: re.sub(r'[^\r\n]', 'x', m.group(0)),
                           text)


class _Alias(object):
    """An alias (``*name``) where it is written; ``target``: its node."""
    id, style = 'alias', None

    def __init__(self, target, event):
        self.target, self.anchor = target, event.anchor
        self.start_mark, self.end_mark = event.start_mark, event.end_mark


_LOADER = []


def _loader():
    """A ``yaml.SafeLoader`` subclass (built at first use) that keeps
    aliases as :class:`_Alias` nodes and gives scalars ``anchor`` and
    ``own_start`` (after tag and anchor, which ``start_mark`` includes)."""
    if _LOADER:
        return _LOADER[0]
    import yaml

    class Loader(yaml.SafeLoader):
        _last_token = None

        def get_token(self):
            token = yaml.SafeLoader.get_token(self)
            self._last_token = token
            return token

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = yaml.SafeLoader.compose_node(self, parent, index)
                return _Alias(target, event)
            return yaml.SafeLoader.compose_node(self, parent, index)

        def compose_scalar_node(self, anchor):
            node = yaml.SafeLoader.compose_scalar_node(self, anchor)
            token = self._last_token   # the scalar's token; none if empty
            end = node.end_mark.index
            node.own_start = (token.start_mark.index
                              if isinstance(token, yaml.ScalarToken)
                              and token.end_mark.index == end
                              and token.value == node.value else end)
            node.anchor = anchor
            return node

    _LOADER.append(Loader)
    return Loader


def _describe(text, exc):
    """One line for a PyYAML error, naming where it is."""
    def _where(index):
        return 'line %d, column %d' % (_line(text, index),
                                       index - _line_start(text, index) + 1)
    mark = getattr(exc, 'problem_mark', None)
    if mark is None or not getattr(exc, 'problem', None):   # a ReaderError
        position = getattr(exc, 'position', None)
        where = '' if position is None else _where(position) + ': '
        return where + ' '.join(str(exc).split())
    message = '%s: %s' % (_where(mark.index), exc.problem)
    if getattr(exc, 'context', None):
        where = exc.context_mark
        message += ' (%s%s)' % (exc.context,
                                where and ' at ' + _where(where.index) or '')
    return message


def compose(text):
    """PyYAML's node graphs of the documents of ``text`` (a list),
    placeholders masked; aliases are nodes with ``id`` ``'alias'`` and a
    ``target``. Raises :class:`YamlTextError` if PyYAML cannot read it.

    >>> (doc,) = compose('{layer_name: h0, irange: %(r)f}')
    >>> [(key.value, value.value) for key, value in doc.value]
    [('layer_name', 'h0'), ('irange', 'xxxxx')]
    """
    import yaml
    text = _decoded(text)
    try:
        return list(yaml.compose_all(_mask(text), Loader=_loader()))
    except yaml.YAMLError as exc:
        raise YamlTextError(_describe(text, exc))


def span(node):
    """``(start, end)``: indices of ``node``'s own text in the text it was
    composed from (a scalar's tag and anchor excluded).

    >>> text = 'irange: &r !float 0.5'
    >>> start, end = span(compose(text)[0].value[0][1])
    >>> text[start:end]
    '0.5'
    """
    start = getattr(node, 'own_start', node.start_mark.index)
    return start, node.end_mark.index


def _walk(node, mappings, aliases):
    """Append the mappings and aliases under ``node`` in text order (the
    graph is a tree: aliases are not followed)."""
    if node.id == 'alias':
        aliases.append(node)
    elif node.id == 'mapping':
        mappings.append(node)
        for part in [part for pair in node.value for part in pair]:
            _walk(part, mappings, aliases)
    elif node.id == 'sequence':
        for part in node.value:
            _walk(part, mappings, aliases)


def _pairs(mapping, key):
    """The ``(key, value)`` node pairs of ``mapping`` whose key is ``key``."""
    return [(k, v) for k, v in mapping.value
            if k.id == 'scalar' and k.value == key]


def _layers(text):
    """``({layer name: [mapping, ...]}, [alias, ...])`` of ``text``."""
    mappings, aliases, found = [], [], {}
    for root in compose(text):
        _walk(root, mappings, aliases)
    for mapping in mappings:
        for _, value in _pairs(mapping, 'layer_name'):
            if value.id == 'scalar' and not _CONVERSION.search(
                    text, *span(value)):
                found.setdefault(value.value, []).append(mapping)
    return found, aliases


def find_layer_mappings(text):
    """``{layer name: [mapping node, ...]}`` for every mapping of ``text``
    with a ``layer_name`` key whose value is a scalar (a list, since a name
    may be written more than once). A mapping node's ``value`` is its list
    of ``(key node, value node)``; ``flow_style`` is True for ``{...}``.

    >>> found = find_layer_mappings('- {layer_name: h0, irange: 0.05}')
    >>> [key.value for key, _ in found['h0'][0].value]
    ['layer_name', 'irange']
    """
    return _layers(_decoded(text))[0]


def format_value(value, digits=6):
    """``value`` with ``digits`` significant digits, rounded DOWN, always
    readable by PyYAML as a float (``'0.0163751'``, ``'1.23456e-05'``).

    >>> format_value(0.01637519)
    '0.0163751'
    >>> format_value(1e-5)
    '1.0e-05'
    >>> format_value(2)
    '2.0'
    """
    value = float(value)
    if not (value > 0) or math.isinf(value):
        raise ValueError('value must be a finite number > 0; got %r'
                         % (value,))
    fmt = '%%.%dg' % digits
    text = fmt % value
    if float(text) > value:
        exponent = int(math.floor(math.log10(value))) - (digits - 1)
        k = int(math.floor(value / 10.0 ** exponent))
        text = fmt % (k * 10.0 ** exponent)
        while float(text) > value:
            k -= 1
            text = fmt % (k * 10.0 ** exponent)
    mantissa, sep, exp = text.partition('e')
    if '.' not in mantissa:
        mantissa += '.0'
    return mantissa + sep + exp


class Edit(object):
    """Set ``key`` of the layer named ``layer`` to ``value`` (a float,
    written with :func:`format_value`). When the key is missing and
    ``insert_after`` names a key of that mapping, a new entry is inserted
    right after it.

    >>> Edit('h0', 'irange', 0.01).key
    'irange'
    """

    def __init__(self, layer, key, value, insert_after=None):
        self.layer, self.key, self.value = layer, key, value
        self.insert_after = insert_after


class EditResult(object):
    """What :func:`apply_edits` did for one :class:`Edit`.

    ``status``: ``'replaced'``, ``'inserted'``, ``'unchanged'`` (already
    that value) or an error: ``'not_found'`` (no such ``layer_name``),
    ``'ambiguous'`` (several), ``'missing_key'``, ``'duplicate_key'``,
    ``'template'`` (a ``%(name)`` substitution), ``'not_editable'``.
    ``old``/``new``: value texts; ``line``: 1-based; ``placeholder``: the
    template names; ``note``: e.g. aliases that change too; ``message``.

    >>> apply_edits('{layer_name: a}', [Edit('b', 'irange', 0.5)])[1][0].ok
    False
    """

    def __init__(self, edit, status, message, old=None, new=None, line=None,
                 placeholder=None, note=None):
        self.edit, self.status, self.message = edit, status, message
        self.old, self.new, self.line = old, new, line
        self.placeholder, self.note = placeholder, note
        self.anchor = None      # of a replaced value: for the alias note

    @property
    def ok(self):
        return self.status in ('replaced', 'inserted', 'unchanged')

    def as_dict(self):
        return {'layer': self.edit.layer, 'key': self.edit.key,
                'value': self.edit.value, 'status': self.status,
                'old': self.old, 'new': self.new, 'line': self.line,
                'placeholder': self.placeholder, 'note': self.note,
                'message': self.message}


# -- text positions -----------------------------------------------------------

def _line(text, index):
    """1-based line of ``index`` (``\\r\\n``, ``\\r``, ``\\n`` end lines)."""
    return len(_BREAKS.findall(text, 0, index)) + 1


def _line_start(text, index):
    """Index of the first character of the line of ``index`` (after a BOM
    on the first line)."""
    start = max(text.rfind('\n', 0, index), text.rfind('\r', 0, index)) + 1
    if start == 0 and text.startswith(_BOM) and index > 0:
        start = 1
    return start


def _line_end(text, index):
    """``(end, break)``: the index after the line break ending the line of
    ``index`` (or the text's end) and the break to use (else the first)."""
    match = _BREAKS.search(text, index)
    if match is not None:
        return match.end(), match.group(0)
    first = _BREAKS.search(text)
    return len(text), first.group(0) if first else '\n'


def _new_line_after(text, index, entry):
    """``text`` with the line ``entry`` added after the line of ``index``;
    returns ``(text, index of entry)``."""
    stop, brk = _line_end(text, index)
    if text[stop - 1:stop] in ('\n', '\r'):
        return text[:stop] + entry + brk + text[stop:], stop
    return text[:stop] + brk + entry + text[stop:], stop + len(brk)


def _insert(text, mapping, key, value, entry):
    """``(text with entry inserted right after the pair (key, value) of
    mapping, index of entry)``, or None when that is not possible (the
    value is a nested block collection)."""
    if value.id in ('mapping', 'sequence') and not value.flow_style:
        return None
    key_start = span(key)[0]
    prefix = text[_line_start(text, key_start):key_start]
    own_line = prefix.strip(' \t-') == ''
    indent = prefix if prefix.strip(' \t') == '' else ' ' * len(prefix)
    end = span(value)[1]
    while end > key_start and text[end - 1] in ' \t\r\n':
        end -= 1    # a block scalar ends after its line breaks
    if not mapping.flow_style:
        return _new_line_after(text, end, indent + entry)
    if text[mapping.end_mark.index - 1] != '}':
        return None     # a single pair in a flow sequence: [key: value]
    follower = _BLANKS.match(text, end).end()
    comma = text[follower:follower + 1] == ','    # else the closing '}'
    at = follower + 1 if comma else end
    rest = text[at:_line_end(text, at)[0]].strip()
    if own_line and (rest == '' or rest.startswith('#')) and not (
            comma and _BREAKS.search(text, end, follower)):
        text, index = _new_line_after(text, at, indent + entry
                                      + (',' if comma else ''))
        return (text, index) if comma else (
            text[:end] + ',' + text[end:], index + 1)
    piece = ' %s,' % entry if comma else ', ' + entry
    return text[:at] + piece + text[at:], at + (1 if comma else 2)


# -- edits --------------------------------------------------------------------

def _lines(text, keys):
    """``'3, 7'``: the lines of the key nodes ``keys``."""
    return ', '.join(str(_line(text, span(key)[0])) for key in keys)


def _insert_entry(text, edit, mapping, value_text):
    after = _pairs(mapping, edit.insert_after) if edit.insert_after else []
    if len(after) != 1:
        return text, EditResult(
            edit, 'missing_key', "layer '%s' (line %s) has no '%s' key in "
            "its mapping" % (edit.layer, _lines(text, [
                _pairs(mapping, 'layer_name')[0][0]]), edit.key))
    key, value = after[0]
    line = _line(text, span(key)[0])
    entry = '%s: %s' % (edit.key, value_text)
    done = _insert(text, mapping, key, value, entry)
    if done is None:
        return text, EditResult(
            edit, 'not_editable', "layer '%s': cannot insert '%s' after its "
            "'%s' (line %d): edit it by hand" % (edit.layer, entry,
                                                  edit.insert_after, line))
    new_text, at = done
    return new_text, EditResult(
        edit, 'inserted', "layer '%s': inserted '%s' after its '%s' (line %d)"
        % (edit.layer, entry, edit.insert_after, line),
        new=value_text, line=_line(new_text, at))


def _apply_one(text, edit):
    """``(text, EditResult)`` for one edit (the text unchanged if it
    fails)."""
    def done(status, message, **more):
        return text, EditResult(edit, status, message, **more)

    layer = "layer '%s': " % edit.layer
    mappings = _layers(text)[0].get(edit.layer, [])
    if not mappings:
        return done('not_found', "no mapping with layer_name '%s' found in "
                    "the text" % edit.layer)
    if len(mappings) > 1:
        names = [_pairs(m, 'layer_name')[0][0] for m in mappings]
        return done('ambiguous', "layer_name '%s' appears %d times in the "
                    "text (lines %s): edit it by hand"
                    % (edit.layer, len(mappings), _lines(text, names)))
    mapping, value_text = mappings[0], format_value(edit.value)
    pairs = _pairs(mapping, edit.key)
    if len(pairs) > 1:
        return done('duplicate_key', "layer '%s' has %d '%s' keys (lines %s)"
                    % (edit.layer, len(pairs), edit.key,
                       _lines(text, [k for k, _ in pairs])))
    if not pairs:
        return _insert_entry(text, edit, mapping, value_text)
    key, node = pairs[0]
    line = _line(text, span(key)[0])
    start, end = span(node)
    old = text[start:end]
    if node.id not in ('alias', 'scalar') or node.style in ('|', '>'):
        return done('not_editable', layer + "the value of '%s' (line %d) is "
                    "not a plain or quoted scalar" % (edit.key, line),
                    line=line)
    names = placeholders(old)
    if names:
        return done('template', layer + "'%s: %s' (line %d) is a template "
                    "substitution" % (edit.key, old, line), old=old,
                    line=line, placeholder=names)
    try:
        if node.id == 'scalar':
            float(node.value)
    except ValueError:
        return done('not_editable', layer + "'%s: %s' (line %d) is not a "
                    "number" % (edit.key, old, line), old=old, line=line)
    if old == value_text:
        return done('unchanged', layer + "'%s' is already %s"
                    % (edit.key, old), old=old, new=value_text, line=line)
    note = ('the alias %s was replaced by a number; the anchor itself is '
            'unchanged' % old if node.id == 'alias' else None)
    result = EditResult(edit, 'replaced', layer + '%s %s -> %s (line %d)' % (
        edit.key, old, value_text, line), old=old, new=value_text, line=line,
        note=note)
    result.anchor = getattr(node, 'anchor', None)
    return text[:start] + value_text + text[end:], result


def _alias_notes(text, results):
    """Say, for each replaced anchored value, which aliases use it (once
    every edit is made: a later edit may have replaced an alias)."""
    anchored = [r for r in results if r.anchor]
    if not anchored:
        return
    mappings, aliases = _layers(text)
    for result in anchored:
        node = _pairs(mappings[result.edit.layer][0], result.edit.key)[0][1]
        users = [_line(text, span(a)[0]) for a in aliases if a.target is node]
        if users:
            result.note = ('the anchor &%s is also used by the alias(es) on '
                           'line(s) %s, which change too'
                           % (result.anchor, ', '.join(str(u) for u in users)))


def tokenize(text):
    """Deprecated (tests/test_check.py imports it): PyYAML's tokens."""
    import yaml
    return list(yaml.scan(_mask(_decoded(text)), Loader=yaml.SafeLoader))


def apply_edits(text, edits):
    """Apply ``edits`` (a list of :class:`Edit`) to ``text``.

    Returns ``(new_text, results)``, one :class:`EditResult` per edit; an
    edit that cannot be made leaves the text as it was and says why.
    Raises :class:`YamlTextError` when PyYAML cannot read the text.

    >>> text = '- {layer_name: h0, irange: .05}  # keep\\n'
    >>> new, (result,) = apply_edits(text, [Edit('h0', 'irange', 0.0123)])
    >>> print(new.rstrip())
    - {layer_name: h0, irange: 0.0123}  # keep
    >>> result.status, result.old, result.line
    ('replaced', '.05', 1)
    """
    text = _decoded(text)
    results = []
    for edit in edits:
        text, result = _apply_one(text, edit)
        results.append(result)
    _alias_notes(text, results)
    return text, results
