"""Edit init values of pylearn2 layers in the TEXT of an experiment YAML.

``normsafe-init check --fix`` rewrites one value per offending layer
(``irange`` / ``istdev`` / ``sparse_stdev``) and leaves every other byte as
it was (comments, quoting, tags, anchors, flow or block style, line endings,
a BOM): no round trip through a YAML loader and dumper.

PyYAML composes the text into its node graph (composing constructs no
object, so pylearn2's ``!obj:``, ``!pkl:``, ``!import``, ``!float`` tags need
no constructor); each node's ``start_mark.index`` / ``end_mark.index``
count characters of the string, a BOM and each ``\\r`` included, and the
text is edited at those positions. A mapping with a scalar ``layer_name``
is that layer's; only the value of the requested key *of that mapping* is
replaced, an alias (``*name``) by the number itself. A ``sparse_init``
layer without ``sparse_stdev`` gets ``sparse_stdev: VALUE`` right after its
``sparse_init`` entry, in the mapping's style (``{...}`` or block).
Template conversions (``%(name)s``) are masked by as many ``x`` before
PyYAML reads the text; a value holding one is reported, not edited. PyYAML
is imported at the first edit (``check --fix`` runs after pylearn2, which
needs it, has built the model).
"""
from __future__ import absolute_import, division, print_function

import math
import re

from .._io import write_atomic  # noqa: F401  (old name; use _io.write_atomic)

__all__ = ['YamlTextError', 'compose', 'span', 'find_layer_mappings',
           'format_value', 'Edit', 'EditResult', 'apply_edits',
           'placeholders', 'write_atomic']

_BREAKS = re.compile(r'\r\n|\r|\n')
#: ``%(name)s``-style template placeholders (Python % formatting).
_PLACEHOLDER = re.compile(r'%\(([^)]*)\)')
#: A whole placeholder conversion (``%(name)s``, ``%(x)-8.3f``): masked.
_CONVERSION = re.compile(r'%\([^)]*\)[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?'
                         r'[hlL]?[diouxXeEfFgGcrsa]?')
_BOM = u'\ufeff'
#: Spaces, line breaks and comments (between flow entries).
_BLANKS = re.compile(r'(?:[ \t\r\n]|#[^\r\n]*)*')


class YamlTextError(ValueError):
    """PyYAML cannot read the text (placeholders masked); the message
    names the line and column."""


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
    """Bytes (Python 2's ``str``) decoded: PyYAML's marks index the
    decoded text."""
    return text.decode('utf-8') if isinstance(text, bytes) else text


def _mask(text):
    """Each placeholder conversion replaced by as many ``x``: indices stay
    valid."""
    return _CONVERSION.sub(lambda m: re.sub(r'[^\r\n]', 'x', m.group(0)),
                           text)


class _Alias(object):
    """An alias (``*name``) where it is written; ``target``: its anchor's
    node."""
    id = 'alias'

    def __init__(self, target, event):
        self.target, self.anchor = target, event.anchor
        self.start_mark, self.end_mark = event.start_mark, event.end_mark


_LOADER = []


def _loader():
    """A ``yaml.SafeLoader`` subclass (built once, at first use) whose
    composer keeps aliases as :class:`_Alias` nodes, and records each
    scalar's own start (after its tag and anchor, which the node's
    ``start_mark`` includes) as ``own_start`` and its anchor as
    ``anchor``. Composing never constructs, so any tag is accepted."""
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


def _where(text, index):
    """``'line L, column C'`` (1-based) of ``index`` in ``text``."""
    return 'line %d, column %d' % (_line(text, index),
                                   index - _line_start(text, index) + 1)


def _describe(text, exc):
    """One line for a PyYAML error, naming where it is."""
    mark = getattr(exc, 'problem_mark', None)
    if mark is None or not getattr(exc, 'problem', None):
        position = getattr(exc, 'position', None)   # a ReaderError
        where = '' if position is None else _where(text, position) + ': '
        return where + ' '.join(str(exc).split())
    context = getattr(exc, 'context', None)
    where = getattr(exc, 'context_mark', None)
    return '%s: %s%s' % (_where(text, mark.index), exc.problem, '' if not
                         context else ' (%s%s)' % (context, '' if where is None
                                                   else ' at ' + _where(
                                                       text, where.index)))


def compose(text):
    """PyYAML's node graphs of the documents of ``text`` (a list), the
    placeholders masked. Scalars carry ``own_start`` and ``anchor``;
    aliases are nodes whose ``id`` is ``'alias'`` with their ``target``.
    Raises :class:`YamlTextError` when PyYAML cannot read the text.

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
    >>> (doc,) = compose(text)
    >>> start, end = span(doc.value[0][1])
    >>> text[start:end]
    '0.5'
    """
    start = getattr(node, 'own_start', node.start_mark.index)
    return start, node.end_mark.index


def _walk(roots):
    """``(mappings, aliases)`` of the graphs, in text order (aliases are
    not followed)."""
    mappings, aliases, seen, stack = [], [], set(), list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.id == 'alias':
            aliases.append(node)
        elif node.id == 'mapping':
            mappings.append(node)
            stack.extend(part for pair in node.value for part in pair)
        elif node.id == 'sequence':
            stack.extend(node.value)
    order = lambda node: node.start_mark.index  # noqa: E731
    return sorted(mappings, key=order), sorted(aliases, key=order)


def _pairs(mapping, key):
    """The ``(key node, value node)`` pairs of ``mapping`` named ``key``
    (a list: duplicates are possible)."""
    return [(k, v) for k, v in mapping.value
            if k.id == 'scalar' and k.value == key]


def _layer_mappings(text, roots):
    found = {}
    for mapping in _walk(roots)[0]:
        for _, value in _pairs(mapping, 'layer_name'):
            start, end = span(value)
            if value.id == 'scalar' and not _CONVERSION.search(
                    text, start, end):
                found.setdefault(value.value, []).append(mapping)
    return found


def find_layer_mappings(text):
    """``{layer name: [mapping node, ...]}`` for every mapping of ``text``
    with a ``layer_name`` key whose value is a scalar (a list, since a name
    may be written more than once). A mapping node's ``value`` is its list
    of ``(key node, value node)``; ``flow_style`` is True for ``{...}``.

    >>> found = find_layer_mappings('- {layer_name: h0, irange: 0.05}')
    >>> [key.value for key, _ in found['h0'][0].value]
    ['layer_name', 'irange']
    """
    text = _decoded(text)
    return _layer_mappings(text, compose(text))


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
        self.layer = layer
        self.key = key
        self.value = value
        self.insert_after = insert_after


class EditResult(object):
    """What :func:`apply_edits` did for one :class:`Edit`.

    ``status``: ``'replaced'``, ``'inserted'``, ``'unchanged'`` (the text
    already had that value) or an error: ``'not_found'`` (no mapping with
    that ``layer_name``), ``'ambiguous'`` (several), ``'missing_key'``,
    ``'duplicate_key'``, ``'template'`` (the value is a ``%(name)``
    substitution), ``'not_editable'`` (not a plain number). ``old``/``new``
    are the value texts, ``line`` the 1-based line, ``placeholder`` the
    template names for ``'template'``, ``note`` extra information (an
    anchor whose aliases change too), ``message`` one line for people.

    >>> _, (result,) = apply_edits('{layer_name: a, irange: 1}',
    ...                            [Edit('b', 'irange', 0.5)])
    >>> result.status, result.ok
    ('not_found', False)
    """

    def __init__(self, edit, status, message, old=None, new=None, line=None,
                 placeholder=None, note=None):
        self.edit = edit
        self.status = status
        self.message = message
        self.old = old
        self.new = new
        self.line = line
        self.placeholder = placeholder
        self.note = note
        self.anchor = None

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
    """1-based line of ``index`` (``\\r\\n``, ``\\r`` and ``\\n`` end a
    line)."""
    return len(_BREAKS.findall(text, 0, index)) + 1


def _line_start(text, index):
    """Index of the first character of the line of ``index`` (after a BOM
    on the first line)."""
    start = max(text.rfind('\n', 0, index), text.rfind('\r', 0, index)) + 1
    if start == 0 and text.startswith(_BOM) and index > 0:
        start = 1
    return start


def _line_end(text, index):
    """``(end, break)``: the index just after the line break ending the
    line of ``index`` (the text's end if none) and the break to use on
    that line (the file's first one, or ``\\n``, if it has none)."""
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
    rest = text[end:_line_end(text, end)[0]].strip()
    if text[follower:follower + 1] == ',':
        after_comma = text[follower + 1:_line_end(text, follower)[0]].strip()
        if own_line and not _BREAKS.search(text, end, follower) \
                and (after_comma == '' or after_comma.startswith('#')):
            return _new_line_after(text, follower, indent + entry + ',')
        return (text[:follower + 1] + ' ' + entry + ','
                + text[follower + 1:], follower + 2)
    if own_line and (rest == '' or rest.startswith('#')):
        text, at = _new_line_after(text, end, indent + entry)
        return text[:end] + ',' + text[end:], at + 1
    return text[:end] + ', ' + entry + text[end:], end + 2


# -- edits --------------------------------------------------------------------

def _find(text, edit):
    """``(mapping, None)`` of the layer of ``edit``, or ``(None, error
    EditResult)``."""
    mappings = _layer_mappings(text, compose(text)).get(edit.layer, [])
    if not mappings:
        return None, EditResult(
            edit, 'not_found', "no mapping with layer_name '%s' found in the "
            "text" % edit.layer)
    if len(mappings) > 1:
        return None, EditResult(
            edit, 'ambiguous', "layer_name '%s' appears %d times in the text "
            "(lines %s): edit it by hand"
            % (edit.layer, len(mappings),
               ', '.join(str(_line(text, span(_pairs(m, 'layer_name')[0][0])
                                   [0])) for m in mappings)))
    return mappings[0], None


def _insert_entry(text, edit, mapping, value_text):
    key_line = _line(text, span(_pairs(mapping, 'layer_name')[0][0])[0])
    after = _pairs(mapping, edit.insert_after) if edit.insert_after else []
    if len(after) != 1:
        return text, EditResult(
            edit, 'missing_key', "layer '%s' (line %d) has no '%s' key in "
            "its mapping" % (edit.layer, key_line, edit.key))
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
    mapping, failure = _find(text, edit)
    if failure is not None:
        return text, failure
    value_text = format_value(edit.value)
    pairs = _pairs(mapping, edit.key)
    if len(pairs) > 1:
        return text, EditResult(
            edit, 'duplicate_key', "layer '%s' has %d '%s' keys (lines %s)"
            % (edit.layer, len(pairs), edit.key,
               ', '.join(str(_line(text, span(k)[0])) for k, _ in pairs)))
    if not pairs:
        return _insert_entry(text, edit, mapping, value_text)
    key, node = pairs[0]
    line = _line(text, span(key)[0])
    start, end = span(node)
    old = text[start:end]
    if node.id != 'alias' and (node.id != 'scalar'
                                   or node.style in ('|', '>')):
        return text, EditResult(
            edit, 'not_editable', "layer '%s': the value of '%s' (line %d) "
            "is not a plain or quoted scalar" % (edit.layer, edit.key, line),
            line=line)
    names = placeholders(old)
    if names:
        return text, EditResult(
            edit, 'template', "layer '%s': '%s: %s' (line %d) is a template "
            "substitution" % (edit.layer, edit.key, old, line),
            old=old, line=line, placeholder=names)
    note = None
    if node.id == 'alias':
        note = ('the alias %s was replaced by a number; the anchor itself '
                'is unchanged' % old)
    else:
        try:
            float(node.value)
        except ValueError:
            return text, EditResult(
                edit, 'not_editable', "layer '%s': '%s: %s' (line %d) is not "
                "a number" % (edit.layer, edit.key, old, line),
                old=old, line=line)
    if old == value_text:
        return text, EditResult(edit, 'unchanged', "layer '%s': '%s' is "
                                "already %s" % (edit.layer, edit.key, old),
                                old=old, new=value_text, line=line)
    result = EditResult(
        edit, 'replaced', "layer '%s': %s %s -> %s (line %d)"
        % (edit.layer, edit.key, old, value_text, line),
        old=old, new=value_text, line=line, note=note)
    result.anchor = getattr(node, 'anchor', None)
    return text[:start] + value_text + text[end:], result


def _alias_notes(text, results):
    """Say, for each replaced anchored value, which aliases use it (once
    every edit is made: a later edit may have replaced an alias)."""
    anchored = [r for r in results if r.anchor]
    if not anchored:
        return
    roots = compose(text)
    mappings = _layer_mappings(text, roots)
    aliases = _walk(roots)[1]
    for result in anchored:
        node = _pairs(mappings[result.edit.layer][0], result.edit.key)[0][1]
        users = [_line(text, span(a)[0]) for a in aliases if a.target is node]
        if users:
            result.note = ('the anchor &%s is also used by the alias(es) on '
                           'line(s) %s, which change too'
                           % (result.anchor, ', '.join(str(u) for u in users)))


def tokenize(text):
    """Deprecated, kept for old imports (to be removed): PyYAML's tokens
    of ``text``, placeholders masked."""
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
