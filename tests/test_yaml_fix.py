"""Tests of the YAML text editor of ``check --fix``
(normsafe_init.pylearn2.yaml_fix): pure text, run wherever PyYAML is
importable (it always is where ``check --fix`` runs: pylearn2 needs it),
plus the editor against PyYAML on every YAML shipped with pylearn2 (where
pylearn2 is installed)."""
from __future__ import absolute_import, division, print_function

import codecs
import difflib
import os
import re

import numpy as np
import pytest

yaml = pytest.importorskip('yaml')

from normsafe_init import _io  # noqa: E402
from normsafe_init.pylearn2 import yaml_fix  # noqa: E402
from normsafe_init.pylearn2.yaml_fix import (  # noqa: E402
    Edit, YamlTextError, apply_edits, compose, find_layer_mappings,
    format_value, span)

from helpers import (BLOCK, DATA, MODEL_ONLY, REPO_ROOT, SEED,  # noqa: F401
                     TEMPLATE, TESTS_DIR)


def _pylearn2_root():
    try:
        import pylearn2
    except ImportError:
        return None
    return os.path.dirname(os.path.abspath(pylearn2.__file__))


PYLEARN2_ROOT = _pylearn2_root()


def read(path):
    with open(path, 'rb') as stream:
        return stream.read().decode('utf-8')


def changed_lines(old, new):
    """``(removed, added)`` lines of a line diff of two texts."""
    diff = list(difflib.ndiff(old.splitlines(True), new.splitlines(True)))
    removed = [line[2:] for line in diff if line.startswith('- ')]
    added = [line[2:] for line in diff if line.startswith('+ ')]
    return removed, added


# ===========================================================================
# yaml_fix: the text editor (pure text)
# ===========================================================================

FLOW = """\
# layer_name: 'h0' in a comment is not a layer
!obj:Train {
    note: 'layer_name: h0 (in a string)',
    model: !obj:MLP {
        layers: [
            !obj:Conv {
                layer_name: 'h0',
                kernel_shape: [5, 5],
                sub: { irange: 9.0 },   # a nested mapping: not h0's
                irange: .05,            # keep this comment
                max_kernel_norm: 1.9,
            },
            !obj:Linear { layer_name: "h1", dim: 10, istdev: 0.5 },
        ],
    },
}
"""

BLOCK_TEXT = """\
model: !obj:MLP
  layers:
  - layer_name: a
    irange: 0.5
    sub:
      irange: 9.0
  - !obj:Linear
    layer_name: b
    istdev: 0.25   # comment
    doc: |
      layer_name: fake
      istdev: 3
    shape: [3,
            4]
  top: 1
"""


def keys(mapping):
    """The key texts of a mapping node, in text order."""
    return [key.value for key, _ in mapping.value]


def value_text(text, mapping, key):
    """The text of the value of ``key`` in ``mapping`` (the first one)."""
    (node,) = [v for k, v in mapping.value if k.value == key][:1]
    start, end = span(node)
    return text[start:end]


def test_marks_index_the_original_text_crlf_bom_non_ascii():
    # PyYAML counts '\r\n' as one line break but its marks' .index counts
    # characters of the string (a BOM and each '\r' included).
    text = (u'\ufeff# c\r\nm: {layer_name: "\xe9\u20ac", irange: &x !float '
            u'0.5}\r\nb: *x\r\nc: |\r\n  lit\r\n\r\nd: "q\r\n  x"\r\n'
            u'e: \u00e9t\u00e9 1\r\nf:\r\n    0.25\r\n')
    (doc,) = compose(text)
    spans = [text[slice(*span(node))] for pair in doc.value
             for node in pair]
    assert spans == [u'm',
                     u'{layer_name: "\xe9\u20ac", irange: &x !float 0.5}',
                     u'b', u'*x', u'c', u'|\r\n  lit\r\n\r\n', u'd',
                     u'"q\r\n  x"', u'e', u'\u00e9t\u00e9 1', u'f', u'0.25']
    inner = doc.value[0][1]
    assert [text[slice(*span(n))] for pair in inner.value for n in pair] == \
        [u'layer_name', u'"\xe9\u20ac"', u'irange', u'0.5']
    assert inner.value[1][1].anchor == 'x'
    alias = doc.value[1][1]
    assert alias.id == 'alias' and alias.target is inner.value[1][1]


def test_placeholders_are_masked_keeping_positions():
    text = "- {layer_name: h2, istdev: %(istdev)f, dim: %(dim)d}\n"
    (doc,) = compose(text)
    (mapping,) = [node for node in doc.value]
    assert value_text(text, mapping, 'istdev') == '%(istdev)f'
    assert value_text(text, mapping, 'dim') == '%(dim)d'
    # A layer whose name comes from a placeholder is not known by name.
    assert find_layer_mappings("- {layer_name: %(n)s, irange: 1}\n") == {}


@pytest.mark.parametrize('text, where', [
    ("a: 'open\nb: 1\n", 'line 3, column 1: found unexpected end of stream '
                         '(while scanning a quoted scalar at line 1, '
                         'column 4)'),
    ('a: [1, 2}\n', 'line 1, column 9:'),
    ('a: {b: 1\nc: 2\n', "line 2, column 2: expected ',' or '}', but got "
                         "':' (while parsing a flow mapping at line 1, "
                         "column 4)"),
    # CRLF: one line break each
    ('# x\r\na: 1\r\n b: 2\r\n', 'line 3, column 3: mapping values are '
                                'not allowed here'),
    ('a: \x07\n', 'line 1, column 4: unacceptable character'),
])
def test_unreadable_text_names_the_line(text, where):
    with pytest.raises(YamlTextError) as info:
        apply_edits(text, [Edit('a', 'irange', 0.5)])
    message = str(info.value)
    assert message.startswith(where), message
    assert '\n' not in message


def test_find_layer_mappings_flow():
    found = find_layer_mappings(FLOW)
    assert sorted(found) == ['h0', 'h1']
    (h0,), (h1,) = found['h0'], found['h1']
    assert h0.flow_style and h1.flow_style
    assert keys(h0) == [
        'layer_name', 'kernel_shape', 'sub', 'irange', 'max_kernel_norm']
    assert value_text(FLOW, h0, 'irange') == '.05'
    assert [v for k, v in h0.value if k.value == 'sub'][0].id == 'mapping'
    assert FLOW[span(h0)[0]:span(h0)[1]].startswith('!obj:Conv {')
    assert FLOW[span(h0)[1] - 1] == '}'
    assert keys(h1) == ['layer_name', 'dim', 'istdev']


def test_find_layer_mappings_block():
    found = find_layer_mappings(BLOCK_TEXT)
    assert sorted(found) == ['a', 'b']          # not 'fake' (block scalar)
    (a,), (b,) = found['a'], found['b']
    assert not a.flow_style and a.start_mark.column == 4
    assert keys(a) == ['layer_name', 'irange', 'sub']
    assert keys(b) == ['layer_name', 'istdev', 'doc', 'shape']
    assert value_text(BLOCK_TEXT, b, 'istdev') == '0.25'


def test_find_layer_mappings_quoting():
    text = ("- {layer_name: 'it''s', irange: 1}\n"
            '- {layer_name: "q\\"x", irange: 2}\n'
            "- {'layer_name': plain, irange: 3}\n")
    assert sorted(find_layer_mappings(text)) == ['it\'s', 'plain', 'q"x']


def test_replace_flow_value_only_the_token():
    new, (result,) = apply_edits(FLOW, [Edit('h0', 'irange', 0.0123456789)])
    assert result.status == 'replaced' and result.ok
    assert (result.old, result.new, result.line) == ('.05', '0.0123456', 10)
    assert new == FLOW.replace('irange: .05, ', 'irange: 0.0123456, ')
    assert '            irange: 0.0123456,            # keep this comment\n' \
        in new


def test_replace_block_value_keeps_comment():
    new, (ra, rb) = apply_edits(BLOCK_TEXT, [Edit('a', 'irange', 0.125),
                                             Edit('b', 'istdev', 0.0625)])
    assert (ra.status, rb.status) == ('replaced', 'replaced')
    removed, added = changed_lines(BLOCK_TEXT, new)
    assert removed == ['    irange: 0.5\n', '    istdev: 0.25   # comment\n']
    assert added == ['    irange: 0.125\n', '    istdev: 0.0625   # comment\n']
    assert '      irange: 9.0\n' in new and '      istdev: 3\n' in new


def test_edit_several_layers_one_pass():
    text = read(SEED)
    new, results = apply_edits(text, [Edit('h0', 'irange', 0.01),
                                      Edit('h1', 'irange', 0.02),
                                      Edit('h2', 'istdev', 0.03),
                                      Edit('y', 'irange', 0.04)])
    assert [r.status for r in results] == ['replaced'] * 4
    removed, added = changed_lines(text, new)
    assert [line.strip() for line in removed] == [
        'irange: .05,', 'irange: .2,', 'istdev: .05,', 'irange: .05,']
    assert [line.strip() for line in added] == [
        'irange: 0.01,', 'irange: 0.02,', 'istdev: 0.03,', 'irange: 0.04,']
    assert len(new.splitlines()) == len(text.splitlines())


def test_anchor_kept_and_aliases_reported():
    text = ("layers:\n"
            "- {layer_name: a, irange: &ir 0.5}\n"
            "- {layer_name: b, irange: *ir}\n"
            "- {layer_name: c, irange: *ir}\n")
    new, (result,) = apply_edits(text, [Edit('a', 'irange', 0.25)])
    assert '- {layer_name: a, irange: &ir 0.25}\n' in new
    assert result.note == ('the anchor &ir is also used by the alias(es) on '
                           'line(s) 3, 4, which change too')
    # Replacing an alias gives that layer its own value; the note of the
    # anchored edit is made once every edit is done.
    new, results = apply_edits(text, [Edit('a', 'irange', 0.25),
                                      Edit('b', 'irange', 0.125)])
    assert new.splitlines()[1:] == ['- {layer_name: a, irange: &ir 0.25}',
                                    '- {layer_name: b, irange: 0.125}',
                                    '- {layer_name: c, irange: *ir}']
    assert results[0].note.endswith('line(s) 4, which change too')
    assert results[1].note.startswith('the alias *ir was replaced')


def test_template_value_is_not_edited():
    text = "- {layer_name: h2, istdev: %(istdev)f, dim: %(dim)d}\n"
    new, (result,) = apply_edits(text, [Edit('h2', 'istdev', 0.01)])
    assert new == text
    assert result.status == 'template' and not result.ok
    assert result.placeholder == ['istdev']
    assert result.old == '%(istdev)f'


@pytest.mark.parametrize('text, edit, status, message', [
    ("- {layer_name: a, irange: 1}\n", Edit('zz', 'irange', 0.5),
     'not_found', "no mapping with layer_name 'zz' found in the text"),
    ("- {layer_name: a, irange: 1}\n- {layer_name: a, irange: 2}\n",
     Edit('a', 'irange', 0.5), 'ambiguous',
     "layer_name 'a' appears 2 times in the text (lines 1, 2): edit it by "
     "hand"),
    ("- {layer_name: a, istdev: 1}\n", Edit('a', 'irange', 0.5),
     'missing_key', "layer 'a' (line 1) has no 'irange' key in its mapping"),
    ("- {layer_name: a, irange: 1, irange: 2}\n", Edit('a', 'irange', 0.5),
     'duplicate_key', "layer 'a' has 2 'irange' keys (lines 1, 1)"),
    ("- {layer_name: a, irange: big}\n", Edit('a', 'irange', 0.5),
     'not_editable', "layer 'a': 'irange: big' (line 1) is not a number"),
    ("- layer_name: a\n  irange: |\n    0.5\n", Edit('a', 'irange', 0.25),
     'not_editable', "layer 'a': the value of 'irange' (line 2) is not a "
     "plain or quoted scalar"),
    ("- layer_name: a\n  irange: [0.5]\n", Edit('a', 'irange', 0.25),
     'not_editable', "layer 'a': the value of 'irange' (line 2) is not a "
     "plain or quoted scalar"),
    ("- {layer_name: a, irange}\n", Edit('a', 'irange', 0.25),
     'not_editable', "layer 'a': 'irange: ' (line 1) is not a number"),
    ("- layer_name: a\n  irange: 0.5\n", Edit('a', 'irange', 0.5),
     'unchanged', "layer 'a': 'irange' is already 0.5"),
])
def test_edit_failures_leave_the_text(text, edit, status, message):
    new, (result,) = apply_edits(text, [edit])
    assert new == text
    assert result.status == status
    assert result.message == message


def test_block_sequence_at_the_key_column_stays_in_the_mapping():
    text = ("layers:\n"
            "- layer_name: a\n"
            "  kernel_shape:\n"
            "  - 5\n"
            "  - 5\n"
            "  # a comment at column 0 does not end it:\n"
            "# really\n"
            "  irange: 0.5\n"
            "- layer_name: b\n"
            "  irange: 0.5\n")
    (a,) = find_layer_mappings(text)['a']
    assert keys(a) == ['layer_name', 'kernel_shape', 'irange']
    new, (result,) = apply_edits(text, [Edit('a', 'irange', 0.25)])
    assert result.line == 8
    assert new == text.replace('  irange: 0.5\n- layer_name: b',
                               '  irange: 0.25\n- layer_name: b')


def test_nested_key_is_not_the_layers_key():
    text = "- {layer_name: a, sub: {irange: 9.0}, istdev: 1}\n"
    new, (result,) = apply_edits(text, [Edit('a', 'irange', 0.5)])
    assert result.status == 'missing_key' and new == text
    text = "- layer_name: a\n  sub:\n    irange: 9.0\n  istdev: 1\n"
    new, (result,) = apply_edits(text, [Edit('a', 'irange', 0.5)])
    assert result.status == 'missing_key' and new == text


@pytest.mark.parametrize('text, old, new, line', [
    # the tag is kept, the quotes go (the value becomes a number)
    ("- {layer_name: a, irange: !float '1e-3'}\n", "'1e-3'", '0.25', 1),
    # CRLF and a BOM are kept
    (u'\ufeff# c\r\n{layer_name: a, irange: 0.5}\r\n', '0.5', '0.25', 2),
    # bytes (Python 2's str) are read as UTF-8
    (u'# \u00e9t\u00e9\n{layer_name: a, irange: 0.5}\n'.encode('utf-8'),
     '0.5', '0.25', 2),
    # a value on the line after its key is replaced where it is
    ("- layer_name: a\n  irange:\n    0.5   # c\n  dim: 3\n", '0.5', '0.25',
     2),
    # several documents, a %YAML directive, pylearn2's tags
    ("%YAML 1.1\n---\n!obj:pylearn2.models.mlp.Linear {layer_name: a, "
     "irange: !float 5e-2, w: !pkl: 'x.pkl', f: !import os.path}\n---\n"
     "- !!python/object:X {layer_name: b, istdev: 1}\n...\n",
     '5e-2', '0.25', 3),
])
def test_replacement_keeps_every_other_character(text, old, new, line):
    result_text, (result,) = apply_edits(text, [Edit('a', 'irange', 0.25)])
    text = codecs.decode(text, 'utf-8') if isinstance(text, bytes) else text
    assert (result.status, result.old, result.new, result.line) == (
        'replaced', old, new, line)
    assert result_text == text.replace(old, new, 1)


SPARSE = Edit('h', 'sparse_stdev', 0.1234567, insert_after='sparse_init')


@pytest.mark.parametrize('text, expected', [
    # flow, own line, trailing comma
    ("!obj:L {\n    layer_name: h,\n    sparse_init: 15,  # k\n"
     "    dim: 5,\n}\n",
     "!obj:L {\n    layer_name: h,\n    sparse_init: 15,  # k\n"
     "    sparse_stdev: 0.123456,\n    dim: 5,\n}\n"),
    # flow, inline, comma
    ("{layer_name: h, sparse_init: 15, dim: 5}\n",
     "{layer_name: h, sparse_init: 15, sparse_stdev: 0.123456, dim: 5}\n"),
    # flow, last entry on its own line, no trailing comma: one comma added
    ("{\n    layer_name: h,\n    sparse_init: 15  # k\n}\n",
     "{\n    layer_name: h,\n    sparse_init: 15,  # k\n"
     "    sparse_stdev: 0.123456\n}\n"),
    # flow, last entry inline
    ("{layer_name: h, sparse_init: 15}\n",
     "{layer_name: h, sparse_init: 15, sparse_stdev: 0.123456}\n"),
    # block
    ("- !obj:L\n    layer_name: h\n    sparse_init: 15   # k\n    dim: 5\n",
     "- !obj:L\n    layer_name: h\n    sparse_init: 15   # k\n"
     "    sparse_stdev: 0.123456\n    dim: 5\n"),
    # block, compact entry first, no final newline
    ("- sparse_init: 15\n  layer_name: h",
     "- sparse_init: 15\n  sparse_stdev: 0.123456\n  layer_name: h"),
    ("- layer_name: h\n  sparse_init: 15",
     "- layer_name: h\n  sparse_init: 15\n  sparse_stdev: 0.123456"),
    # CRLF line endings are kept
    ("- layer_name: h\r\n  sparse_init: 15\r\n  dim: 5\r\n",
     "- layer_name: h\r\n  sparse_init: 15\r\n  sparse_stdev: 0.123456\r\n"
     "  dim: 5\r\n"),
    ("{\r\n  layer_name: h,\r\n  sparse_init: 15,\r\n}\r\n",
     "{\r\n  layer_name: h,\r\n  sparse_init: 15,\r\n"
     "  sparse_stdev: 0.123456,\r\n}\r\n"),
])
def test_insert_sparse_stdev(text, expected):
    new, (result,) = apply_edits(text, [SPARSE])
    assert result.status == 'inserted', result.message
    assert new == expected
    # ... and the new entry is found where it belongs, a float.
    (mapping,) = find_layer_mappings(new)['h']
    assert value_text(new, mapping, 'sparse_stdev') == '0.123456'
    (value,) = [v for k, v in mapping.value if k.value == 'sparse_stdev']
    assert value.tag == 'tag:yaml.org,2002:float'


def test_bom_before_a_block_key_does_not_shift_the_insertion():
    text = u'\ufeffsparse_init: 15\r\nlayer_name: h\r\n'
    new, (result,) = apply_edits(text, [SPARSE])
    assert result.status == 'inserted' and result.line == 2
    assert new == (u'\ufeffsparse_init: 15\r\nsparse_stdev: 0.123456\r\n'
                   u'layer_name: h\r\n')
    assert yaml.safe_load(new)['sparse_stdev'] == 0.123456


def test_multi_line_flow_value_then_insertion_after_it():
    text = ("- layer_name: h\n  sparse_init: [15,\n    16]  # c\n"
            "  dim: 5\n")
    new, (result,) = apply_edits(text, [SPARSE])
    assert result.line == 4
    assert new == ("- layer_name: h\n  sparse_init: [15,\n    16]  # c\n"
                   "  sparse_stdev: 0.123456\n  dim: 5\n")


@pytest.mark.parametrize('text, after', [
    # a nested block collection: its end is not on a line of its own
    ("- layer_name: h\n  sparse_init:\n    - 15\n  dim: 5\n", 'sparse_init'),
    # a single pair in a flow sequence has no braces to extend
    ("- [layer_name: h]\n", 'layer_name'),
])
def test_insertion_that_cannot_be_made_leaves_the_text(text, after):
    edit = Edit('h', 'sparse_stdev', 0.5, insert_after=after)
    new, (result,) = apply_edits(text, [edit])
    assert new == text and result.status == 'not_editable'
    assert "cannot insert 'sparse_stdev: 0.5' after its '%s'" % after \
        in result.message


def test_alias_note_follows_the_anchor_node():
    # The same anchor name in two documents: only the aliases of the edited
    # anchor are reported.
    text = ("- {layer_name: a, irange: &r 0.5}\n"
            "- {layer_name: b, irange: *r}\n---\n- &r 1\n- *r\n")
    _, (result,) = apply_edits(text, [Edit('a', 'irange', 0.25)])
    assert result.note == ('the anchor &r is also used by the alias(es) on '
                           'line(s) 2, which change too')


@pytest.mark.parametrize('value, expected', [
    (0.0163751999, '0.0163751'), (0.123444999, '0.123444'),
    (0.5, '0.5'), (2, '2.0'), (1e-5, '1.0e-05'),
    (1.23456789e-5, '1.23456e-05'),
    (0.26708766, '0.267087'), (123456789.0, '1.23456e+08'),
    (0.1, '0.1'), (1.0 / 3.0, '0.333333'), (2.0 / 3.0, '0.666666'),
])
def test_format_value(value, expected):
    assert format_value(value) == expected


def test_format_value_rounds_down_and_stays_a_float():
    rng = np.random.RandomState(0)
    for value in 10.0 ** rng.uniform(-9, 3, size=2000):
        text = format_value(value)
        assert float(text) <= value
        assert (value - float(text)) / value < 1.1e-5
        assert '.' in text.split('e')[0]
        # PyYAML's float regex (YAML 1.1) needs a '.', and a signed exponent
        assert re.match(r'^[0-9]+\.[0-9]*(e[-+][0-9]+)?$', text), text


@pytest.mark.parametrize('value', [0, -1.0, float('inf'), float('nan')])
def test_format_value_rejects(value):
    with pytest.raises(ValueError):
        format_value(value)


def test_formatted_values_load_as_floats():
    for value in (1e-5, 3.3e-7, 0.5, 2, 1234567.0):
        loaded = yaml.safe_load('v: %s' % format_value(value))['v']
        assert isinstance(loaded, float)


def test_fixture_texts_are_found():
    expected = {SEED: ['h0', 'h1', 'h2', 'y'],
                TEMPLATE: ['h0', 'h1', 'h2', 'y'],
                BLOCK: ['h0', 'h1', 'h2', 'y'],
                MODEL_ONLY: ['h0', 'h1', 'y']}
    for path, names in expected.items():
        found = find_layer_mappings(read(path))
        assert sorted(found) == names, path
        assert all(len(found[name]) == 1 for name in names)


def test_write_atomic_is_the_io_one():
    # kept as an alias for old imports; check's modules use _io.write_atomic
    assert yaml_fix.write_atomic is _io.write_atomic


# ===========================================================================
# the text editor against PyYAML, on every YAML shipped with pylearn2
# ===========================================================================

def _pylearn2_yaml_files():
    if PYLEARN2_ROOT is None:
        return []
    found = []
    for directory, _, names in os.walk(PYLEARN2_ROOT):
        found.extend(os.path.join(directory, name) for name in names
                     if name.endswith(('.yaml', '.yml')))
    return sorted(found)


_PLACEHOLDER_CONVERSION = re.compile(r'%\([^)]*\)[-#0 +]*[0-9.]*[a-zA-Z]')


def _compose(text):
    """PyYAML's node graph of ``text`` (a template's placeholders read as
    ``1``), or None when PyYAML cannot read it."""
    try:
        return yaml.compose(_PLACEHOLDER_CONVERSION.sub('1', text),
                               Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def _flatten(node, path=(), out=None, seen=None):
    """``{path: scalar text}`` of a node graph (mapping keys and sequence
    indices make the path; aliases are followed once) and ``seen``'s
    ``{id: mapping node}``."""
    out = {} if out is None else out
    seen = {} if seen is None else seen
    if id(node) not in seen:
        seen[id(node)] = node
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                _flatten(value, path + (key.value,), out, seen)
        elif isinstance(node, yaml.SequenceNode):
            for k, value in enumerate(node.value):
                _flatten(value, path + (k,), out, seen)
        else:
            out[path] = node.value
    return out


def _layer_keys(node):
    """``{layer name: [[keys of its mapping], ...]}`` of a node graph."""
    seen, out = {}, {}
    _flatten(node, seen=seen)
    mappings = [n for n in seen.values() if isinstance(n, yaml.MappingNode)]
    for mapping in mappings:
        for key, value in mapping.value:
            if key.value == 'layer_name' \
                    and isinstance(value, yaml.ScalarNode):
                out.setdefault(value.value, []).append(
                    [k.value for k, _ in mapping.value])
    return out


PYLEARN2_YAMLS = _pylearn2_yaml_files()


@pytest.mark.skipif(PYLEARN2_ROOT is None, reason='pylearn2 is not installed')
def test_pylearn2_yamls_are_many():
    assert len(PYLEARN2_YAMLS) > 40


@pytest.mark.parametrize('path', PYLEARN2_YAMLS or [pytest.param(
    None, marks=pytest.mark.skip(reason='no pylearn2 installation to take '
                                        'YAML files from'))])
def test_editor_agrees_with_pyyaml(path):
    text = read(path)
    node = _compose(text)
    if node is None:
        pytest.skip('PyYAML cannot read %s' % path)
    flat = _flatten(node)
    found = find_layer_mappings(text)
    layer_keys = _layer_keys(node)
    assert sorted(found) == sorted(layer_keys)
    for name in layer_keys:
        assert sorted(keys(m) for m in found[name]) == \
            sorted(layer_keys[name]), name
    paths = {}
    for path, value in flat.items():
        if path and path[-1] == 'layer_name':
            paths.setdefault(value, []).append(path[:-1])
    layers = dict((name, where[0]) for name, where in paths.items()
                  if len(where) == 1)
    edits, expected = [], dict(flat)
    for name, base in sorted(layers.items()):
        for key in ('irange', 'istdev', 'sparse_stdev'):
            value = flat.get(base + (key,))
            if value is not None and re.match(r'^[0-9.eE+-]+$', value):
                edits.append(Edit(name, key, 0.000123456))
                expected[base + (key,)] = '0.000123456'
        if flat.get(base + ('sparse_init',)) is not None \
                and base + ('sparse_stdev',) not in flat:
            edits.append(Edit(name, 'sparse_stdev', 0.5,
                              insert_after='sparse_init'))
            expected[base + ('sparse_stdev',)] = '0.5'
    new, results = apply_edits(text, edits)
    assert [r.status for r in results
            if r.status not in ('replaced', 'inserted', 'template')] == []
    for result in results:
        if result.status == 'template':
            expected[layers[result.edit.layer] + (result.edit.key,)] = \
                flat[layers[result.edit.layer] + (result.edit.key,)]
    new_flat = _flatten(_compose(new))
    assert new_flat == expected
    # Nothing but the edited lines changed.
    removed, added = changed_lines(text, new)
    assert len(removed) <= len(edits)
