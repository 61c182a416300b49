"""Edit init values of pylearn2 layers in the TEXT of an experiment YAML.

``normsafe-init check --fix`` rewrites one value token per offending layer
(``irange`` / ``istdev`` / ``sparse_stdev``) and leaves every other byte of
the file as it was: comments, blank lines, quoting, anchors, flow or block
style, line endings. It never round-trips through a YAML loader and dumper,
and it needs neither PyYAML nor pylearn2: experiment templates with
``%(name)s`` substitutions are not valid YAML before substitution, yet they
are edited the same way.

How a layer is found: a small scanner splits the text into YAML tokens
(plain and quoted scalars, ``:``, ``-``, flow brackets, tags, anchors,
aliases, comments, block scalars), tracking the flow nesting and the
columns. Every mapping key ``layer_name`` whose value is the layer's name
identifies the layer's mapping: the enclosing ``{ ... }`` in flow style, or
the run of lines whose keys sit at that key's column in block style. Only
the value token of the requested key *of that mapping* is replaced (nested
mappings are not searched). A ``sparse_init`` layer without a
``sparse_stdev`` key gets a new ``sparse_stdev: VALUE`` entry right after
its ``sparse_init`` entry, in the mapping's own style.

Values are written by :func:`format_value`: 6 significant digits, rounded
*down* (so the written value is never larger than the safe one), always
with a ``.`` so that PyYAML reads a float (it reads ``1e-05`` as a string).
"""
from __future__ import absolute_import, division, print_function

import math
import os
import re
import stat
import tempfile

__all__ = ['YamlTextError', 'Token', 'tokenize', 'Entry', 'Mapping',
           'find_layer_mappings', 'format_value', 'Edit', 'EditResult',
           'apply_edits', 'placeholders', 'write_atomic']

_BREAK = '\r\n'
_BLANK = ' \t'
_FLOW = ',[]{}'
_SCALARS = ('plain', 'single', 'double')
#: ``%(name)s``-style template placeholders (Python % formatting).
_PLACEHOLDER = re.compile(r'%\(([^)]*)\)')


class YamlTextError(ValueError):
    """The text cannot be scanned (unterminated quote, unbalanced flow
    brackets); the message names the line."""


class Token(object):
    """One scanned token.

    ``kind``: ``plain``, ``single``, ``double`` (scalars), ``colon``,
    ``dash``, ``qmark``, ``flow_open``, ``flow_close``, ``comma``, ``tag``,
    ``anchor``, ``alias``, ``block_scalar``, ``comment``, ``doc``,
    ``directive``. ``start``/``end`` index the text; ``line``/``col`` (0-based)
    are those of ``start``, ``end_line`` that of the last character.
    ``depth`` is the number of open flow collections around the token (for
    ``flow_open`` and ``flow_close`` the collection itself counts) and
    ``owner`` the index of the innermost open ``flow_open`` token, or None.
    """

    __slots__ = ('kind', 'start', 'end', 'text', 'line', 'col', 'end_line',
                 'depth', 'owner')

    def __init__(self, kind, start, end, text, line, col, end_line, depth,
                 owner):
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text
        self.line = line
        self.col = col
        self.end_line = end_line
        self.depth = depth
        self.owner = owner

    def __repr__(self):
        return 'Token(%s, %r, line %d, col %d)' % (self.kind, self.text,
                                                   self.line + 1, self.col)


def _is_space_or_end(text, i):
    return i >= len(text) or text[i] in _BLANK or text[i] in _BREAK


class _Scanner(object):
    """Character-level scanner; see :func:`tokenize`."""

    def __init__(self, text):
        self.text = text
        self.n = len(text)
        self.tokens = []
        self.stack = []          # token indices of open flow collections
        self.line_starts = [0]   # offset of each line start
        for match in re.finditer(r'\r\n|\r|\n', text):
            self.line_starts.append(match.end())

    def line_of(self, offset):
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def add(self, kind, start, end):
        line = self.line_of(start)
        depth = len(self.stack)
        owner = self.stack[-1] if self.stack else None
        token = Token(kind, start, end, self.text[start:end], line,
                      start - self.line_starts[line],
                      self.line_of(max(start, end - 1)), depth, owner)
        self.tokens.append(token)
        return token

    def error(self, offset, message):
        line = self.line_of(offset)
        raise YamlTextError('line %d, column %d: %s'
                            % (line + 1, offset - self.line_starts[line] + 1,
                               message))

    # -- sub-scanners ----------------------------------------------------
    def plain_end(self, i, in_flow):
        text, n = self.text, self.n
        j = end = i
        while j < n:
            c = text[j]
            if c in _BREAK:
                break
            if c == '#' and j > i and text[j - 1] in _BLANK:
                break
            if c == ':' and (_is_space_or_end(text, j + 1)
                             or (in_flow and text[j + 1] in _FLOW)):
                break
            if in_flow and c in _FLOW:
                break
            j += 1
            if c not in _BLANK:
                end = j
        return max(end, i + 1) if end == i else end

    def quoted_end(self, i):
        text, n, quote = self.text, self.n, self.text[i]
        j = i + 1
        while j < n:
            c = text[j]
            if quote == "'" and c == "'":
                if j + 1 < n and text[j + 1] == "'":
                    j += 2
                    continue
                return j + 1
            if quote == '"':
                if c == '\\':
                    j += 2
                    continue
                if c == '"':
                    return j + 1
            j += 1
        self.error(i, 'unterminated %s-quoted scalar'
                   % ('single' if quote == "'" else 'double'))

    def word_end(self, i, in_flow):
        text, n = self.text, self.n
        j = i + 1
        while j < n and not _is_space_or_end(text, j):
            if in_flow and text[j] in _FLOW:
                break
            j += 1
        return j

    def parent_col(self):
        """Column that a block scalar's content must be indented beyond."""
        for index in range(len(self.tokens) - 1, -1, -1):
            token = self.tokens[index]
            if token.kind in ('tag', 'anchor', 'comment'):
                continue
            if token.kind == 'colon':
                return self.tokens[index - 1].col if index > 0 else -1
            if token.kind == 'dash':
                return token.col
            break
        return -1

    def block_scalar_end(self, i):
        """End of a ``|`` / ``>`` block scalar starting at ``i``."""
        text = self.text
        parent = self.parent_col()
        line = self.line_of(i)
        end = self.line_end(line)
        k = line + 1
        while k < len(self.line_starts):
            start = self.line_starts[k]
            stop = self.line_end(k)
            body = text[start:stop]
            if body.strip(' ') and (len(body) - len(body.lstrip(' '))
                                    <= parent):
                break
            if body.strip(' '):
                end = stop
            k += 1
        return end

    def line_end(self, line):
        """Offset of the line break ending ``line`` (or the text end)."""
        if line + 1 < len(self.line_starts):
            stop = self.line_starts[line + 1]
            while stop > self.line_starts[line] and self.text[stop - 1] \
                    in _BREAK:
                stop -= 1
            return stop
        return self.n

    # -- main loop -------------------------------------------------------
    def run(self):
        text, n = self.text, self.n
        i = 0
        node_start = True
        while i < n:
            c = text[i]
            if c in _BREAK:
                i += 1
                if not self.stack:
                    node_start = True
                continue
            if c in _BLANK or (c == u'\ufeff' and i == 0):
                i += 1
                continue
            line = self.line_of(i)
            col = i - self.line_starts[line]
            if c == '#' and (i == 0 or text[i - 1] in _BLANK + _BREAK
                             or text[i - 1] == u'\ufeff'):
                end = self.line_end(line)
                self.add('comment', i, end)
                i = end
                continue
            in_flow = bool(self.stack)
            if not in_flow and col == 0:
                if text.startswith(('---', '...'), i) \
                        and _is_space_or_end(text, i + 3):
                    self.add('doc', i, i + 3)
                    i += 3
                    node_start = True
                    continue
                if c == '%' and i + 1 < n and text[i + 1].isalpha():
                    end = self.line_end(line)
                    self.add('directive', i, end)
                    i = end
                    continue
            if c in '{[' and (in_flow or node_start):
                token = self.add('flow_open', i, i + 1)
                self.stack.append(len(self.tokens) - 1)
                token.depth = len(self.stack)
                token.owner = self.stack[-1]
                i += 1
                node_start = True
                continue
            if in_flow and c in '}]':
                opener = self.tokens[self.stack[-1]]
                if (opener.text == '{') != (c == '}'):
                    self.error(i, "'%s' closes the '%s' opened at line %d"
                               % (c, opener.text, opener.line + 1))
                self.add('flow_close', i, i + 1)
                self.stack.pop()
                i += 1
                node_start = False
                continue
            if in_flow and c == ',':
                self.add('comma', i, i + 1)
                i += 1
                node_start = True
                continue
            if c == ':' and (_is_space_or_end(text, i + 1)
                             or (in_flow and text[i + 1] in _FLOW)
                             or (in_flow and self.tokens
                                 and self.tokens[-1].end == i
                                 and self.tokens[-1].kind
                                 in ('single', 'double', 'flow_close'))):
                self.add('colon', i, i + 1)
                i += 1
                node_start = True
                continue
            if c in '-?' and _is_space_or_end(text, i + 1) and node_start:
                self.add('dash' if c == '-' else 'qmark', i, i + 1)
                i += 1
                node_start = True
                continue
            if node_start and c in '\'"':
                end = self.quoted_end(i)
                self.add('single' if c == "'" else 'double', i, end)
                i = end
                node_start = False
                continue
            if node_start and c in '!&':
                end = self.word_end(i, in_flow)
                self.add('tag' if c == '!' else 'anchor', i, end)
                i = end
                continue
            if node_start and c == '*':
                end = self.word_end(i, in_flow)
                self.add('alias', i, end)
                i = end
                node_start = False
                continue
            if node_start and not in_flow and c in '|>':
                end = self.block_scalar_end(i)
                self.add('block_scalar', i, end)
                i = end
                node_start = True
                continue
            end = self.plain_end(i, in_flow)
            self.add('plain', i, end)
            i = end
            node_start = False
        if self.stack:
            opener = self.tokens[self.stack[-1]]
            self.error(opener.start, "'%s' is never closed" % opener.text)
        return self.tokens


def tokenize(text):
    """The YAML tokens of ``text`` (a list of :class:`Token`).

    Raises :class:`YamlTextError` for an unterminated quoted scalar or
    unbalanced flow brackets.
    """
    return _Scanner(text).run()


def _decode(token):
    """The string value of a scalar token (quotes removed)."""
    if token.kind == 'single':
        return token.text[1:-1].replace("''", "'")
    if token.kind == 'double':
        body = token.text[1:-1]
        simple = {'"': '"', '\\': '\\', 'n': '\n', 't': '\t', '/': '/'}
        out, i = [], 0
        while i < len(body):
            if body[i] == '\\' and i + 1 < len(body):
                out.append(simple.get(body[i + 1], body[i:i + 2]))
                i += 2
            else:
                out.append(body[i])
                i += 1
        return ''.join(out)
    return token.text


class Entry(object):
    """One ``key: value`` of a mapping.

    ``key`` (decoded), ``key_token``, ``value_token`` (the scalar or alias
    holding the value, or None when the value is not an inline scalar),
    ``props`` (tag / anchor tokens before the value).
    """

    def __init__(self, key, key_token, value_token, props):
        self.key = key
        self.key_token = key_token
        self.value_token = value_token
        self.props = props

    @property
    def line(self):
        """1-based line of the key."""
        return self.key_token.line + 1


class Mapping(object):
    """A mapping found in the text: ``style`` (``'flow'`` or ``'block'``),
    ``start``/``end`` offsets, ``col`` (block: the keys' column),
    ``entries`` (list of :class:`Entry` in text order)."""

    def __init__(self, style, start, end, col, entries):
        self.style = style
        self.start = start
        self.end = end
        self.col = col
        self.entries = entries

    def get(self, key):
        """The entries named ``key`` (a list: duplicates are possible)."""
        return [entry for entry in self.entries if entry.key == key]


def _next_index(tokens, i, skip=('comment',)):
    j = i + 1
    while j < len(tokens) and tokens[j].kind in skip:
        j += 1
    return j


def _is_key(tokens, i):
    """Is token ``i`` a mapping key (a scalar or alias followed by ``:``)?"""
    if tokens[i].kind not in _SCALARS + ('alias',):
        return False
    j = _next_index(tokens, i)
    if j >= len(tokens) or tokens[j].kind != 'colon':
        return False
    if tokens[i].depth == 0:
        # A block key and its colon sit on one line.
        return tokens[j].line == tokens[i].end_line
    return tokens[j].owner == tokens[i].owner


def _value_of(tokens, key_index):
    """``(value_token, props)`` of the key at ``key_index``."""
    colon = _next_index(tokens, key_index)
    key = tokens[key_index]
    props = []
    j = colon + 1
    while j < len(tokens):
        token = tokens[j]
        if token.kind == 'comment':
            if key.depth == 0:
                break
            j += 1
            continue
        if key.depth == 0 and token.line != tokens[colon].line:
            break
        if key.depth > 0 and token.owner != key.owner:
            break
        if token.kind in ('tag', 'anchor'):
            props.append(token)
            j += 1
            continue
        if token.kind in _SCALARS + ('alias',) and not _is_key(tokens, j):
            return token, props
        break
    return None, props


class _Lines(object):
    """The block structure of the lines: ``heads[line]`` is the index of
    the first token of a line that starts at block level (not inside a flow
    collection or a multi-line scalar; comment-only lines have none) and
    ``key_col[line]`` the column of its leading key (after any ``-``)."""

    def __init__(self, tokens):
        inside = set()
        for i, token in enumerate(tokens):
            last = token.end_line
            if token.kind == 'flow_open' and token.depth == 1:
                last = tokens[_matching_close(tokens, i)].line
            inside.update(range(token.line + 1, last + 1))
        self.heads = {}
        for i, token in enumerate(tokens):
            if token.kind != 'comment' and token.line not in inside \
                    and token.line not in self.heads:
                self.heads[token.line] = i
        self.key_col = {}
        for line, i in self.heads.items():
            j = i
            while j < len(tokens) and tokens[j].kind == 'dash' \
                    and tokens[j].line == line:
                j = _next_index(tokens, j)
            if j < len(tokens) and tokens[j].line == line \
                    and tokens[j].depth == 0 and _is_key(tokens, j):
                self.key_col[line] = tokens[j].col
        self.lines = sorted(self.heads)


def _matching_close(tokens, open_index):
    for j in range(open_index + 1, len(tokens)):
        if tokens[j].kind == 'flow_close' and tokens[j].owner == open_index:
            return j
    return len(tokens) - 1


def _flow_mapping(tokens, open_index):
    close = _matching_close(tokens, open_index)
    entries = []
    for j in range(open_index + 1, close):
        if tokens[j].owner == open_index and tokens[j].kind != 'flow_open' \
                and _is_key(tokens, j):
            value, props = _value_of(tokens, j)
            entries.append(Entry(_decode(tokens[j]), tokens[j], value, props))
    return Mapping('flow', tokens[open_index].start, tokens[close].end, None,
                   entries)


def _block_mapping(tokens, lines, key_index):
    """The block mapping whose keys sit at the column of key ``key_index``:
    the lines from its first key to the last line before a block line that
    is indented less (or a document marker)."""
    key = tokens[key_index]
    col = key.col
    head = lines.heads.get(key.line)
    if head is None or lines.key_col.get(key.line) != col:
        return None
    first_line = key.line
    if tokens[head].kind != 'dash':
        for line in reversed([ln for ln in lines.lines if ln < key.line]):
            token = tokens[lines.heads[line]]
            if token.kind == 'doc':
                break
            if token.col >= col:
                first_line = line
                continue
            if lines.key_col.get(line) == col:
                first_line = line   # '- key: value' opens the mapping
            break
    stop_line = None
    for line in [ln for ln in lines.lines if ln > key.line]:
        token = tokens[lines.heads[line]]
        if token.kind == 'doc' or token.col < col:
            stop_line = line
            break
    entries = []
    end = key.end
    for j, token in enumerate(tokens):
        if token.line < first_line:
            continue
        if stop_line is not None and token.line >= stop_line:
            break
        end = max(end, token.end)
        if token.depth == 0 and token.col == col \
                and lines.heads.get(token.line) is not None \
                and lines.key_col.get(token.line) == col \
                and _is_key(tokens, j):
            value, props = _value_of(tokens, j)
            entries.append(Entry(_decode(token), token, value, props))
    start = entries[0].key_token.start if entries else key.start
    return Mapping('block', start, end, col, entries)


def find_layer_mappings(text):
    """``{layer name: [Mapping, ...]}`` for every mapping of ``text`` with
    a ``layer_name`` key whose value is a scalar (a list, since a name may
    be written more than once)."""
    tokens = tokenize(text)
    return _find_layer_mappings(tokens)


def _find_layer_mappings(tokens):
    lines = None
    found = {}
    for i, token in enumerate(tokens):
        if token.kind not in _SCALARS or _decode(token) != 'layer_name' \
                or not _is_key(tokens, i):
            continue
        value, _ = _value_of(tokens, i)
        if value is None or value.kind not in _SCALARS:
            continue
        if token.depth > 0:
            if tokens[token.owner].text != '{':
                continue
            mapping = _flow_mapping(tokens, token.owner)
        else:
            if lines is None:
                lines = _Lines(tokens)
            mapping = _block_mapping(tokens, lines, i)
            if mapping is None:
                continue
        found.setdefault(_decode(value), []).append(mapping)
    return found


def placeholders(text):
    """The names of the ``%(name)...`` placeholders in ``text``, in order
    of first appearance."""
    names = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


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
    right after it."""

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


def _line_break(text, offset):
    """The line break used at the line containing ``offset`` (or the
    file's first one, or ``\\n``)."""
    match = re.compile(r'\r\n|\r|\n').search(text, offset)
    if match is None:
        match = re.compile(r'\r\n|\r|\n').search(text)
    return match.group(0) if match else '\n'


def _end_of_line(text, offset):
    """Offset just after the line break ending the line of ``offset``
    (or the text end)."""
    match = re.compile(r'\r\n|\r|\n').search(text, offset)
    return match.end() if match else len(text)


def _insert(text, tokens, mapping, after, key, value_text):
    """Text with ``key: value_text`` inserted right after entry ``after``."""
    value = after.value_token
    last = value if value is not None else after.key_token
    line_start = text.rfind('\n', 0, after.key_token.start) + 1
    line_start = max(line_start, text.rfind('\r', 0, after.key_token.start)
                     + 1)
    prefix = text[line_start:after.key_token.start]
    own_line = prefix.strip(' -') == ''
    indent = (prefix if prefix.strip(' \t') == ''
              else ' ' * after.key_token.col)
    if mapping.style == 'block':
        stop = _end_of_line(text, last.end)
        brk = _line_break(text, last.end)
        lead = '' if stop > last.end and text[stop - 1] in _BREAK else brk
        return (text[:stop] + lead + indent + '%s: %s' % (key, value_text)
                + (brk if lead == '' else '') + text[stop:])
    index = tokens.index(last)
    j = _next_index(tokens, index)
    follower = tokens[j]
    rest_of_line = text[last.end:_end_of_line(text, last.end)]
    brk = _line_break(text, last.end)
    if follower.kind == 'comma':
        after_comma = text[follower.end:_end_of_line(text, follower.end)]
        alone = own_line and (after_comma.strip() == ''
                              or after_comma.strip().startswith('#'))
        if alone and follower.line == last.line:
            stop = _end_of_line(text, follower.end)
            lead = '' if text[stop - 1:stop] in ('\n', '\r') else brk
            return (text[:stop] + lead + indent + '%s: %s,' % (key, value_text)
                    + (brk if lead == '' else '') + text[stop:])
        return (text[:follower.end] + ' %s: %s,' % (key, value_text)
                + text[follower.end:])
    # The last entry, no trailing comma.
    alone = own_line and (rest_of_line.strip() == ''
                          or rest_of_line.strip().startswith('#'))
    if alone:
        stop = _end_of_line(text, last.end)
        lead = '' if text[stop - 1:stop] in ('\n', '\r') else brk
        text = (text[:stop] + lead + indent + '%s: %s' % (key, value_text)
                + (brk if lead == '' else '') + text[stop:])
        return text[:last.end] + ',' + text[last.end:]
    return (text[:last.end] + ', %s: %s' % (key, value_text)
            + text[last.end:])


def _apply_one(text, edit):
    tokens = tokenize(text)
    mappings = _find_layer_mappings(tokens).get(edit.layer, [])
    if not mappings:
        return text, EditResult(
            edit, 'not_found', "no mapping with layer_name '%s' found in the "
            "text" % edit.layer)
    if len(mappings) > 1:
        return text, EditResult(
            edit, 'ambiguous', "layer_name '%s' appears %d times in the text "
            "(lines %s): edit it by hand"
            % (edit.layer, len(mappings),
               ', '.join(str(m.get('layer_name')[0].line)
                         for m in mappings)))
    mapping = mappings[0]
    value_text = format_value(edit.value)
    entries = mapping.get(edit.key)
    if len(entries) > 1:
        return text, EditResult(
            edit, 'duplicate_key', "layer '%s' has %d '%s' keys (lines %s)"
            % (edit.layer, len(entries), edit.key,
               ', '.join(str(e.line) for e in entries)))
    if not entries:
        after = mapping.get(edit.insert_after) if edit.insert_after else []
        if len(after) != 1:
            return text, EditResult(
                edit, 'missing_key', "layer '%s' (line %d) has no '%s' key "
                "in its mapping" % (edit.layer,
                                    mapping.get('layer_name')[0].line,
                                    edit.key))
        new_text = _insert(text, tokens, mapping, after[0], edit.key,
                           value_text)
        return new_text, EditResult(
            edit, 'inserted', "layer '%s': inserted '%s: %s' after its '%s' "
            "(line %d)" % (edit.layer, edit.key, value_text,
                           edit.insert_after, after[0].line),
            new=value_text, line=after[0].line + 1)
    entry = entries[0]
    token = entry.value_token
    if token is None:
        return text, EditResult(
            edit, 'not_editable', "layer '%s': the value of '%s' (line %d) "
            "is not a scalar on the key's line" % (edit.layer, edit.key,
                                                   entry.line),
            line=entry.line)
    old = token.text
    names = placeholders(old)
    if names:
        return text, EditResult(
            edit, 'template', "layer '%s': '%s: %s' (line %d) is a template "
            "substitution" % (edit.layer, edit.key, old, entry.line),
            old=old, line=entry.line, placeholder=names)
    note = anchor = None
    if token.kind == 'alias':
        note = ('the alias %s was replaced by a number; the anchor itself '
                'is unchanged' % old)
    else:
        try:
            float(_decode(token))
        except ValueError:
            return text, EditResult(
                edit, 'not_editable', "layer '%s': '%s: %s' (line %d) is not "
                "a number" % (edit.layer, edit.key, old, entry.line),
                old=old, line=entry.line)
        anchors = [p.text[1:] for p in entry.props if p.kind == 'anchor']
        if anchors:
            anchor = anchors[0]
    if old == value_text:
        return text, EditResult(edit, 'unchanged', "layer '%s': '%s' is "
                                "already %s" % (edit.layer, edit.key, old),
                                old=old, new=value_text, line=entry.line)
    new_text = text[:token.start] + value_text + text[token.end:]
    result = EditResult(
        edit, 'replaced', "layer '%s': %s %s -> %s (line %d)"
        % (edit.layer, edit.key, old, value_text, entry.line),
        old=old, new=value_text, line=entry.line, note=note)
    result.anchor = anchor
    return new_text, result


def apply_edits(text, edits):
    """Apply ``edits`` (a list of :class:`Edit`) to ``text``.

    Returns ``(new_text, results)``, one :class:`EditResult` per edit; an
    edit that cannot be made leaves the text as it was and says why.
    Raises :class:`YamlTextError` when the text cannot be scanned.
    """
    results = []
    for edit in edits:
        text, result = _apply_one(text, edit)
        results.append(result)
    anchored = [r for r in results if getattr(r, 'anchor', None)]
    if anchored:
        # Said once every edit is made: an alias may have been replaced by
        # a later edit.
        tokens = tokenize(text)
        for result in anchored:
            users = [t.line + 1 for t in tokens if t.kind == 'alias'
                     and t.text[1:] == result.anchor]
            if users:
                result.note = ('the anchor &%s is also used by the alias(es) '
                               'on line(s) %s, which change too'
                               % (result.anchor,
                                  ', '.join(str(u) for u in users)))
    return text, results


def _replace(src, dst):
    """``os.replace`` (Python 3) or ``os.rename`` (Python 2)."""
    replace = getattr(os, 'replace', None)
    if replace is not None:
        replace(src, dst)
        return
    try:
        os.rename(src, dst)
    except OSError:  # Windows, Python 2: the target exists
        os.remove(dst)
        os.rename(src, dst)


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically: a temporary file in
    the same directory, flushed and synced, then renamed over ``path``. An
    existing file keeps its permission bits; a new one gets the usual
    ``0666 & ~umask``. On any error the temporary file is removed and
    ``path`` is untouched."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path),
                                   suffix='.tmp', dir=directory)
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        _replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
