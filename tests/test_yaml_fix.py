"""Tests of the YAML text editor of ``check --fix``
(normsafe_init.pylearn2.fixing.replace_values): pure text, run wherever
PyYAML is importable (it always is where ``check --fix`` runs: pylearn2
needs it), plus the editor against PyYAML on every YAML shipped with
pylearn2 (where pylearn2 is installed)."""
from __future__ import absolute_import, division, print_function

import difflib
import os
import re

import numpy as np
import pytest

yaml = pytest.importorskip('yaml')

from normsafe_init.pylearn2.errors import CheckError  # noqa: E402
from normsafe_init.pylearn2.fixing import (  # noqa: E402
    format_value, replace_values)
from normsafe_init.pylearn2.templates import placeholders  # noqa: E402

from helpers import (BLOCK, MODEL_ONLY, SEED, TEMPLATE)  # noqa: E402


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
# the text editor (pure text)
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


def edit_one(text, layer, key, value):
    new, (result,) = replace_values(text, [(layer, key, value)])
    return new, result


def refused(text, layer, key, value):
    """The one-line message of a refused edit."""
    with pytest.raises(CheckError) as info:
        replace_values(text, [(layer, key, value)])
    assert '\n' not in str(info.value)
    return str(info.value)


def test_replace_flow_value_only_the_token():
    new, result = edit_one(FLOW, 'h0', 'irange', 0.0123456789)
    assert result['status'] == 'replaced'
    assert (result['old'], result['new'], result['line']) == (
        '.05', '0.0123456', 10)
    assert new == FLOW.replace('irange: .05, ', 'irange: 0.0123456, ')
    assert '            irange: 0.0123456,            # keep this comment\n' \
        in new
    new, result = edit_one(FLOW, 'h1', 'istdev', 0.25)
    assert new == FLOW.replace('istdev: 0.5 }', 'istdev: 0.25 }')


def test_replace_block_value_keeps_comment():
    new, (ra, rb) = replace_values(BLOCK_TEXT, [('a', 'irange', 0.125),
                                                ('b', 'istdev', 0.0625)])
    assert (ra['status'], rb['status']) == ('replaced', 'replaced')
    removed, added = changed_lines(BLOCK_TEXT, new)
    assert removed == ['    irange: 0.5\n', '    istdev: 0.25   # comment\n']
    assert added == ['    irange: 0.125\n',
                     '    istdev: 0.0625   # comment\n']
    assert '      irange: 9.0\n' in new and '      istdev: 3\n' in new
    # 'fake' lives in a block scalar: not a layer
    assert 'no layer_name' in refused(BLOCK_TEXT, 'fake', 'istdev', 1.0)


def test_edit_several_layers_one_pass():
    text = read(SEED)
    new, results = replace_values(text, [('h0', 'irange', 0.01),
                                         ('h1', 'irange', 0.02),
                                         ('h2', 'istdev', 0.03),
                                         ('y', 'irange', 0.04)])
    assert [r['status'] for r in results] == ['replaced'] * 4
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
    new, result = edit_one(text, 'a', 'irange', 0.25)
    assert new == text.replace('&ir 0.5', '&ir 0.25')
    assert result['note'] == ('the anchor &ir is also used by the alias(es) '
                              'on line(s) 3, 4, which change too')
    # An alias is not replaced: edit it by hand.
    assert refused(text, 'b', 'irange', 0.125) == (
        "--fix: layer 'b': the value of 'irange' is an alias: edit it by "
        "hand at line 3 (irange: 0.125)")


def test_template_value_is_not_edited():
    text = "- {layer_name: h2, istdev: %(istdev)f, dim: %(dim)d}\n"
    new, result = edit_one(text, 'h2', 'istdev', 0.01)
    assert new == text
    assert result['status'] == 'template'
    assert result['placeholder'] == ['istdev']
    assert result['old'] == '%(istdev)f'
    # A layer whose name comes from a placeholder is not known by name.
    assert 'no layer_name' in refused("- {layer_name: %(n)s, irange: 1}\n",
                                      'x', 'irange', 0.5)


@pytest.mark.parametrize('text, edit, message', [
    ("- {layer_name: a, irange: 1}\n", ('zz', 'irange', 0.5),
     "--fix: no layer_name 'zz' written as such in the YAML: edit it by "
     "hand"),
    ("- {layer_name: a, irange: 1}\n- {layer_name: a, irange: 2}\n",
     ('a', 'irange', 0.5), "--fix: layer_name 'a' is written 2 times (lines "
     "1, 2): edit it by hand at line 1"),
    ("- {layer_name: a, istdev: 1}\n", ('a', 'irange', 0.5),
     "--fix: layer 'a' (line 1) has no 'irange' key: edit it by hand at "
     "line 1 (irange=0.5)"),
    ("- layer_name: a\n  sparse_init: 15\n", ('a', 'sparse_stdev', 0.25),
     "--fix: layer 'a' (line 1) has no 'sparse_stdev' key: edit it by hand "
     "at line 1 (sparse_stdev=0.25)"),
    ("- {layer_name: a, irange: 1, irange: 2}\n", ('a', 'irange', 0.5),
     "--fix: layer 'a' (line 1) has 2 'irange' key: edit it by hand at "
     "line 1 (irange=0.5)"),
    ("- {layer_name: a, irange: big}\n", ('a', 'irange', 0.5),
     "--fix: layer 'a': 'irange: big' is not a number: edit it by hand at "
     "line 1"),
    ("- layer_name: a\n  irange: |\n    0.5\n", ('a', 'irange', 0.25),
     "--fix: layer 'a': the value of 'irange' is not a plain or quoted "
     "scalar: edit it by hand at line 2 (irange: 0.25)"),
    ("- layer_name: a\n  irange: [0.5]\n", ('a', 'irange', 0.25),
     "--fix: layer 'a': the value of 'irange' is not a plain or quoted "
     "scalar: edit it by hand at line 2 (irange: 0.25)"),
    # a key without a value: also refused
    ("- {layer_name: a, irange}\n", ('a', 'irange', 0.25), "edit it by hand "
     "at line 1"),
])
def test_edits_that_are_refused(text, edit, message):
    assert refused(text, *edit).endswith(message)


def test_nested_key_is_not_the_layers_key():
    for text in ("- {layer_name: a, sub: {irange: 9.0}, istdev: 1}\n",
                 "- layer_name: a\n  sub:\n    irange: 9.0\n  istdev: 1\n"):
        assert "has no 'irange' key" in refused(text, 'a', 'irange', 0.5)


def test_unchanged_value():
    new, result = edit_one("- layer_name: a\n  irange: 0.5\n", 'a',
                           'irange', 0.5)
    assert result['status'] == 'unchanged'
    assert result['message'] == "layer 'a': 'irange' is already 0.5"


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
    new, result = edit_one(text, 'a', 'irange', 0.25)
    assert result['line'] == 8
    assert new == text.replace('  irange: 0.5\n- layer_name: b',
                               '  irange: 0.25\n- layer_name: b')


@pytest.mark.parametrize('text, old, new, line', [
    # the tag is kept, the quotes go (the value becomes a number)
    ("- {layer_name: a, irange: !float '1e-3'}\n", "'1e-3'", '0.25', 1),
    # CRLF, a BOM and non-ASCII text are kept
    (u'\ufeff# \u00e9t\u00e9\r\n{layer_name: a, irange: 0.5}\r\n', '0.5',
     '0.25', 2),
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
    result_text, result = edit_one(text, 'a', 'irange', 0.25)
    assert (result['status'], result['old'], result['new'],
            result['line']) == ('replaced', old, new, line)
    assert result_text == text.replace(old, new, 1)


def test_alias_note_follows_the_anchor_name():
    text = ("- {layer_name: a, irange: &r 0.5}\n"
            "- {layer_name: b, irange: *r}\n- *rr\n")
    _, result = edit_one(text.replace('- *rr\n', ''), 'a', 'irange', 0.25)
    assert result['note'] == ('the anchor &r is also used by the alias(es) '
                              'on line(s) 2, which change too')


def test_placeholders_in_order():
    assert placeholders(read(TEMPLATE)) == ['h0_irange', 'istdev',
                                            'max_epochs']
    assert placeholders(read(SEED)) == []


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
    from normsafe_init.pylearn2.fixing import _layer_mappings
    expected = {SEED: ['h0', 'h1', 'h2', 'y'],
                TEMPLATE: ['h0', 'h1', 'h2', 'y'],
                BLOCK: ['h0', 'h1', 'h2', 'y'],
                MODEL_ONLY: ['h0', 'h1', 'y']}
    for path, names in expected.items():
        text = read(path)
        found = _layer_mappings(text)
        assert sorted(found) == names, path
        assert all(len(found[name]) == 1 for name in names)


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
                edits.append((name, key, 0.000123456))
                expected[base + (key,)] = '0.000123456'
    new, results = replace_values(text, edits)
    assert [r['status'] for r in results
            if r['status'] not in ('replaced', 'template')] == []
    for result in results:
        if result['status'] == 'template':
            where = layers[result['layer']] + (result['key'],)
            expected[where] = flat[where]
    new_flat = _flatten(_compose(new))
    assert new_flat == expected
    # Nothing but the edited lines changed.
    removed, added = changed_lines(text, new)
    assert len(removed) <= len(edits)
