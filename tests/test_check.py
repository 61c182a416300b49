"""Tests of ``normsafe-init check`` (normsafe_init.pylearn2.check), its YAML text
editor (normsafe_init.pylearn2.yaml_fix) and its plot (normsafe_init.plot).

The text editor, the templates, the argument checks and the error paths
that come before pylearn2 is imported run everywhere; everything that
builds a model runs against real pylearn2 (in-process through
``normsafe_init.cli.main`` and as ``python -m normsafe_init check``) and is
skipped, with the reason, where pylearn2 is not importable. Only models
are built (no Theano function is compiled), so the whole file takes
seconds.
"""
from __future__ import absolute_import, division, print_function

import difflib
import inspect
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

from normsafe_init import cli
from normsafe_init.pylearn2 import check, yaml_fix
from normsafe_init.plan import analyze
from normsafe_init.pylearn2.extension import NormSafeInit
from normsafe_init.pylearn2.layers import find_constrained
from normsafe_init.norms import vector_norms
from normsafe_init.pylearn2.yaml_fix import format_value
from helpers import (PYLEARN2_PROBLEM, Capture, needs_pylearn2,
                     subprocess_env)

from helpers import (BLOCK, DATA, MODEL_ONLY, REPO_ROOT, SEED,  # noqa: F401
                     TEMPLATE, TESTS_DIR)
TEMPLATE_DEFINES = ['-D', 'h0_irange=0.05', '-D', 'istdev=0.05',
                    '-D', 'max_epochs=2']


def _matplotlib_problem():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa
    except Exception as exc:
        return '%s: %s' % (type(exc).__name__, exc)
    return None


MATPLOTLIB_PROBLEM = _matplotlib_problem()
needs_matplotlib = pytest.mark.skipif(
    MATPLOTLIB_PROBLEM is not None,
    reason='matplotlib is not importable in this environment (%s): --plot '
           'needs it' % MATPLOTLIB_PROBLEM)
try:
    import yaml as _pyyaml
except ImportError:
    _pyyaml = None
needs_pyyaml = pytest.mark.skipif(
    _pyyaml is None, reason='PyYAML is not installed in this environment')


def run_check(*argv):
    """``normsafe-init check ARGV`` in-process: (code, stdout, stderr)."""
    out, err = Capture(), Capture()
    code = cli.main(['check'] + list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_subprocess(argv, extra_path=()):
    """``python -m normsafe_init check ARGV``: (code, stdout, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, '-m', 'normsafe_init', 'check'] + list(argv),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT,
        env=subprocess_env(extra_path))
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8'), err.decode('utf-8')


def read(path):
    with open(path, 'rb') as stream:
        return stream.read().decode('utf-8')


def write(path, text):
    with open(path, 'wb') as stream:
        stream.write(text.encode('utf-8'))


def one_line(text):
    """The single line of an error message (asserting there is one)."""
    lines = text.strip('\n').split('\n')
    assert len(lines) == 1, text
    assert 'Traceback' not in text
    return lines[0]


def table_rows(stdout):
    """``{layer name: [row fields, ...]}`` of the table in ``stdout``
    (data rows have 17 whitespace-separated fields)."""
    rows = {}
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 17 and fields[0] != 'layer':
            rows.setdefault(fields[0], []).append(fields)
    return rows


def changed_lines(old, new):
    """``(removed, added)`` lines of a line diff of two texts."""
    diff = list(difflib.ndiff(old.splitlines(True), new.splitlines(True)))
    removed = [line[2:] for line in diff if line.startswith('- ')]
    added = [line[2:] for line in diff if line.startswith('+ ')]
    return removed, added

@needs_matplotlib
def test_plot_panels_without_pylearn2(tmp_path):
    from normsafe_init import plot
    rng = np.random.RandomState(0)
    panels = [plot.Panel('h%d (Linear) col norms' % k,
                         rng.uniform(1.0, 2.0, size=50), 0.9, 1.8,
                         breaks=k == 1, expected_max=2.1,
                         subtitle='irange=0.1')
              for k in range(4)]
    panels.append(plot.Panel('empty', [], 0.5, 1.0))
    png = str(tmp_path / 'p.png')
    assert plot.plot_panels(panels, png, suptitle='test') == png
    with open(png, 'rb') as stream:
        assert stream.read(8) == b'\x89PNG\r\n\x1a\n'
    plot.plot_panels([], png)
    assert os.listdir(str(tmp_path)) == ['p.png']


# ===========================================================================
# templates and arguments (no pylearn2 needed)
# ===========================================================================

def test_placeholders_in_order():
    assert yaml_fix.placeholders(read(TEMPLATE)) == [
        'h0_irange', 'istdev', 'max_epochs']
    assert yaml_fix.placeholders(read(SEED)) == []


def test_substitute_keeps_typed_text_for_s():
    text = 'a: %(x)s\nb: %(y)f\nc: %(z)d\nd: 100%%\n'
    out, unused = check.substitute(text, {'x': '0.050', 'y': '0.5',
                                          'z': '3', 'w': '1'})
    assert out == 'a: 0.050\nb: 0.500000\nc: 3\nd: 100%\n'
    assert unused == ['w']


def test_substitute_leaves_non_templates_alone():
    text = 'a: 1  # 50% of the time\n'
    assert check.substitute(text, {'x': '1'}) == (text, ['x'])


@pytest.mark.parametrize('text, defines, message', [
    ('a: %(x)s\nb: %(y)f\n', {}, 'T.yaml is a template: no value for %(x), '
     '%(y); pass -D x=VALUE -D y=VALUE'),
    ('a: %(x)s\nb: %(y)f\n', {'x': '1'}, 'T.yaml is a template: no value '
     'for %(y); pass -D y=VALUE'),
    ('a: 1\nb: %(y)f\n', {'y': 'abc'}, 'T.yaml: -D y=abc does not fit '
     '%(y)f (line 2)'),
    ('a: %(y)d\n', {'y': '0.5'}, 'T.yaml: -D y=0.5 does not fit %(y)d '
     '(line 1)'),
    ('# 50% off\na: %(y)s\n', {'y': '1'}, 'T.yaml: template formatting '
     'failed at line 1'),
])
def test_substitute_errors(text, defines, message):
    with pytest.raises(check.CheckError) as info:
        check.substitute(text, defines, 'T.yaml')
    assert str(info.value).startswith(message)
    assert '\n' not in str(info.value)


def test_parse_defines():
    assert check.parse_defines(['a=1', 'b=x=y', 'c=']) == {
        'a': '1', 'b': 'x=y', 'c': ''}
    for bad in ('a', '=1'):
        with pytest.raises(check.CheckError) as info:
            check.parse_defines([bad])
        assert str(info.value) == ('-D %s: expected name=value (e.g. -D '
                                   'istdev=0.01)' % bad)


def test_default_fraction_is_the_extensions():
    getspec = getattr(inspect, 'getfullargspec', None) or inspect.getargspec
    spec = getspec(NormSafeInit.__init__)
    defaults = dict(zip(spec.args[-len(spec.defaults):], spec.defaults))
    assert check.DEFAULT_FRACTION == defaults['fraction'] == 0.5
    assert check.DEFAULT_CONFIDENCE == defaults['confidence'] == 0.99


def test_check_is_a_sub_command(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(['check', '--help'])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ('--fraction', '--confidence', '--json', '--fix',
                   '--in-place', '--plot', '-D name=value', '--debug'):
        assert option in help_text
    # ... and solve is still there.
    out = Capture()
    assert cli.main(['solve', '--init', 'gaussian', '--fan-in', '10',
                     '--vectors', '2', '--limit', '1'], out=out,
                    err=Capture()) == 0


def test_modules_import_no_heavy_dependency():
    code = ('import sys; import normsafe_init.cli, normsafe_init.pylearn2.check, '
            'normsafe_init.pylearn2.yaml_fix, normsafe_init.plot; '
            'bad = sorted(m for m in sys.modules if m.split(".")[0] in '
            '("pylearn2", "theano", "matplotlib", "yaml")); '
            'print(",".join(bad)); sys.exit(1 if bad else 0)')
    proc = subprocess.Popen([sys.executable, '-c', code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO_ROOT, env=subprocess_env())
    out, err = proc.communicate()
    assert proc.returncode == 0, (out, err)


@pytest.mark.parametrize('argv, message', [
    (['--fraction', '0'], '--fraction must be in (0, 1]; got 0.0'),
    (['--fraction', '1.5'], '--fraction must be in (0, 1]; got 1.5'),
    (['--confidence', '1'], '--confidence must be in (0, 1); got 1.0'),
    (['--in-place'], '--in-place only confirms --fix OUT.yaml where OUT is '
     'the input; give --fix {0} --in-place to fix {0} itself'),
    (['--fix', '{0}'], 'refusing to overwrite the input {0} with --fix; add '
     '--in-place to do that, or give another OUT.yaml'),
    (['--fix', '{1}', '--in-place'], '--in-place: --fix {1} is not the '
     'input {0}'),
    (['--fix', '{2}'], '--fix {2}: directory {3} does not exist'),
    (['-D', 'novalue'], '-D novalue: expected name=value (e.g. -D '
     'istdev=0.01)'),
    (['--plot', '{0}'], '--plot {0} is the input YAML'),
    (['--fix', '{1}', '--plot', '{1}'], '--plot {1} is also the --fix '
     'output'),
])
def test_usage_errors(tmp_path, argv, message):
    path = str(tmp_path / 'exp.yaml')
    shutil.copy(SEED, path)
    other = str(tmp_path / 'other.yaml')
    missing_dir = str(tmp_path / 'nodir')
    names = (path, other, os.path.join(missing_dir, 'x.yaml'), missing_dir)
    argv = [a.format(*names) for a in argv]
    code, out, err = run_check(path, *argv)
    assert code == 2 and out == ''
    assert one_line(err) == 'normsafe-init check: ' + message.format(*names)
    assert read(path) == read(SEED)
    assert sorted(os.listdir(str(tmp_path))) == ['exp.yaml']


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.yaml')
    code, out, err = run_check(path)
    assert code == 2 and out == ''
    assert one_line(err) == ('normsafe-init check: cannot read %s: No such '
                             'file or directory' % path)


def test_directory_is_unreadable(tmp_path):
    code, out, err = run_check(str(tmp_path))
    assert code == 2
    assert one_line(err).startswith('normsafe-init check: cannot read %s: '
                                    % tmp_path)


def test_not_utf8(tmp_path):
    path = str(tmp_path / 'latin.yaml')
    with open(path, 'wb') as stream:
        stream.write(b'a: \xe9\n')
    code, out, err = run_check(path)
    assert code == 2
    assert one_line(err).startswith('normsafe-init check: cannot read %s: '
                                    'not UTF-8 text' % path)


def test_template_without_values():
    code, out, err = run_check(TEMPLATE)
    assert code == 2 and out == ''
    assert one_line(err) == (
        'normsafe-init check: %s is a template: no value for %%(h0_irange), '
        '%%(istdev), %%(max_epochs); pass -D h0_irange=VALUE -D istdev=VALUE '
        '-D max_epochs=VALUE' % TEMPLATE)
    code, out, err = run_check(TEMPLATE, '-D', 'h0_irange=0.05',
                               '-D', 'max_epochs=2')
    assert code == 2
    assert one_line(err) == (
        'normsafe-init check: %s is a template: no value for %%(istdev); '
        'pass -D istdev=VALUE' % TEMPLATE)


def test_plot_without_matplotlib(monkeypatch, tmp_path):
    for name in ('matplotlib', 'matplotlib.figure', 'matplotlib.backends',
                 'matplotlib.backends.backend_agg'):
        monkeypatch.setitem(sys.modules, name, None)
    png = str(tmp_path / 'x.png')
    code, out, err = run_check(SEED, '--plot', png)
    assert code == 2 and out == ''
    line = one_line(err)
    assert re.match(r"normsafe-init check: --plot: matplotlib is not "
                    r"importable \((ModuleNotFound|Import)Error: ", line)
    assert line.endswith("pip install matplotlib (or pip install "
                         "'normsafe_init[plot]')")
    assert not os.path.exists(png)


def test_pylearn2_not_importable_in_process(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pylearn2', None)
    monkeypatch.setitem(sys.modules, 'pylearn2.config', None)
    code, out, err = run_check(SEED)
    assert code == 2 and out == ''
    line = one_line(err)
    assert re.match(r'normsafe-init check: pylearn2 is not importable in '
                    r'this Python \((ModuleNotFound|Import)Error: ', line)
    assert '"check" needs pylearn2 and Theano' in line


def test_pylearn2_not_importable_subprocess(tmp_path):
    # A pylearn2 package that fails to import, first on the path.
    fake = tmp_path / 'fake' / 'pylearn2'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text(
        u"raise ImportError('simulated: no pylearn2 here')\n")
    code, out, err = run_subprocess([SEED], extra_path=[str(tmp_path /
                                                            'fake')])
    assert code == 2 and out == ''
    assert one_line(err).startswith(
        'normsafe-init check: pylearn2 is not importable in this Python '
        '(ImportError: simulated: no pylearn2 here)')


def test_missing_file_subprocess(tmp_path):
    code, out, err = run_subprocess([str(tmp_path / 'nope.yaml')])
    assert code == 2 and out == ''
    assert one_line(err).endswith('No such file or directory')


# ===========================================================================
# real pylearn2 models
# ===========================================================================

def direct(path, fraction=0.5, confidence=0.99):
    """layers + analysis called directly: ``{name: LayerAnalysis}`` and the
    unconstrained ``[(path, layer)]``."""
    from pylearn2.config import yaml_parse
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        top = yaml_parse.load(read(path), instantiate=False)
        target = top.keywords.get('model', top)
        model = yaml_parse._instantiate(target)
    constrained, unknown, unconstrained = find_constrained(model)
    analyses = dict((w.name, analyze(w, w.variable.get_value(), fraction,
                                     confidence, 'max'))
                    for w in constrained)
    return analyses, unconstrained


def fmt(value):
    return '-' if value is None else '%.4g' % value


def same_number(a, b):
    if a is None or b is None or (isinstance(b, float) and np.isnan(b)):
        return a is None and (b is None or np.isnan(b))
    return a == pytest.approx(b, rel=1e-12, abs=0)


@needs_pylearn2
def test_seed_table_matches_the_analysis():
    code, out, err = run_check(SEED)
    assert code == 1
    assert err == ''
    lines = out.splitlines()
    assert lines[0] == ("%s: the 'model' of the top Train; fraction 0.5 "
                        "(t = 0.5 x limit), confidence 0.99" % SEED)
    assert lines[1].split()[:5] == ['layer', 'class', 'W', 'shape', 'n']
    rows = table_rows(out)
    assert sorted(rows) == ['h0', 'h1', 'h2', 'y']
    analyses, _ = direct(SEED)
    shapes = {'h0': '16x1x5x5', 'h1': '128x16x3x3', 'h2': '3200x64',
              'y': '64x10'}
    inits = {'h0': 'irange=0.05', 'h1': 'irange=0.2', 'h2': 'istdev=0.05',
             'y': 'irange=0.05'}
    for name, analysis in analyses.items():
        (row,) = rows[name]
        (part,) = analysis.parts
        before = part.before
        rec = part.recommended
        assert row == [
            name, analysis.weight.class_name, shapes[name], str(part.n),
            str(part.m), inits[name],
            '%s<=1.9365' % part.constraint.kind, fmt(part.target),
            fmt(before.min), fmt(before.mean), fmt(before.max),
            fmt(part.expected_mean), fmt(part.expected_max),
            str(before.above_target), str(before.above_limit),
            '%s=%s' % (rec.param_name, format_value(rec.value)),
            'BREAKS' if analysis.breaks else 'ok']
    assert [n for n in ('h0', 'h1', 'h2', 'y') if analyses[n].breaks] == [
        'h1', 'h2']
    assert rows['h2'][0][13:15] == ['64', '64']     # all columns over limit
    assert rows['h1'][0][13:15] == ['128', '0']
    assert lines[-1] == (
        '2 of 4 constrained layers break fraction 0.5 (a vector above t): '
        'h1, h2; use the recommended values (--fix OUT.yaml writes them '
        'into a copy)')


@needs_pylearn2
def test_seed_json_matches_the_analysis():
    code, out, err = run_check(SEED, '--json')
    assert code == 1
    data = json.loads(out)
    assert out.count('\n') == 1
    assert data['breaks'] == ['h1', 'h2'] and data['exit_code'] == 1
    assert (data['fraction'], data['confidence'], data['mode']) == (
        0.5, 0.99, 'max')
    layers = dict((layer['name'], layer) for layer in data['layers'])
    assert [layer['name'] for layer in data['layers']] == [
        'h0', 'h1', 'h2', 'y']
    analyses, _ = direct(SEED)
    for name, analysis in analyses.items():
        layer = layers[name]
        assert layer['status'] == ('breaks' if analysis.breaks else 'ok')
        assert layer['breaks'] is bool(analysis.breaks)
        assert layer['shape'] == list(analysis.weight.shape)
        (cons,) = layer['constraints']
        (part,) = analysis.parts
        for key in ('min', 'mean', 'max', 'std'):
            assert same_number(cons['before'][key],
                               getattr(part.before, key)), (name, key)
        for key in ('above_target', 'above_limit', 'count'):
            assert cons['before'][key] == getattr(part.before, key)
        assert same_number(cons['expected_mean'], part.expected_mean)
        assert same_number(cons['expected_max'], part.expected_max)
        assert (cons['n'], cons['m']) == (part.n, part.m)
        assert cons['target'] == part.target == 0.5 * 1.9365
        rec = analysis.recommended
        assert layer['recommended_param'] == rec.param_name
        assert same_number(layer['recommended_value'], rec.value)
        assert layer['recommended_text'] == format_value(rec.value)
        assert same_number(cons['recommended'][rec.param_name], rec.value)


@needs_pylearn2
def test_seed_fraction_and_confidence_options():
    code, out, _ = run_check(SEED, '--fraction', '0.9', '--confidence',
                             '0.9', '--json')
    data = json.loads(out)
    analyses, _ = direct(SEED, 0.9, 0.9)
    assert data['breaks'] == [n for n in ('h0', 'h1', 'h2', 'y')
                              if analyses[n].breaks] == ['h2']
    assert code == 1
    h1 = data['layers'][1]
    assert same_number(h1['recommended_value'],
                       analyses['h1'].recommended.value)
    code, out, _ = run_check(SEED, '--fraction', '1')
    assert code == 1                    # h2 is above the limit itself
    assert [r[0][-1] for r in (table_rows(out)[n] for n in
                               ('h0', 'h1', 'h2', 'y'))] == [
        'ok', 'ok', 'BREAKS', 'ok']


@needs_pylearn2
def test_seed_subprocess_table_and_json():
    code, out, err = run_subprocess([SEED])
    assert code == 1, err
    assert 'Traceback' not in err
    rows = table_rows(out)
    assert [rows[n][0][-1] for n in ('h0', 'h1', 'h2', 'y')] == [
        'ok', 'BREAKS', 'BREAKS', 'ok']
    in_process = run_check(SEED)[1]
    assert out == in_process
    code, out, err = run_subprocess([SEED, '--json'])
    assert code == 1
    data = json.loads(out)                  # stdout is that object only
    assert data['breaks'] == ['h1', 'h2']


@needs_pylearn2
def test_fix_seed_round_trip(tmp_path):
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(SEED, '--fix', fixed)
    assert code == 1                    # the input breaks
    analyses, _ = direct(SEED)
    h1 = format_value(analyses['h1'].recommended.value)
    h2 = format_value(analyses['h2'].recommended.value)
    assert ('fix: wrote %s (2 values changed)\n'
            "  layer 'h1': irange .2 -> %s (line 44)\n"
            "  layer 'h2': istdev .05 -> %s (line 50)\n"
            'fix: checked the fixed copy: every layer within fraction 0.5\n'
            % (fixed, h1, h2)) in out
    old, new = read(SEED), read(fixed)
    removed, added = changed_lines(old, new)
    assert removed == ['                irange: .2,\n',
                       '                istdev: .05,\n']
    assert added == ['                irange: %s,\n' % h1,
                     '                istdev: %s,\n' % h2]
    # Byte for byte: only the two value tokens differ.
    expected = old.replace('irange: .2,', 'irange: %s,' % h1, 1).replace(
        'istdev: .05,', 'istdev: %s,' % h2, 1)
    assert new == expected
    assert [n for n in os.listdir(str(tmp_path))] == ['fixed.yaml']
    # The fixed copy checks clean.
    code, out, err = run_check(fixed)
    assert code == 0, out
    assert [r[0][-1] for r in table_rows(out).values()] == ['ok'] * 4
    assert out.splitlines()[-1] == ('all 4 constrained layers are within '
                                    'fraction 0.5 of their limits')
    # Fixing a clean file changes nothing.
    again = str(tmp_path / 'again.yaml')
    code, out, err = run_check(fixed, '--fix', again)
    assert code == 0 and read(again) == new
    assert 'fix: wrote %s (0 values changed)' % again in out


@needs_pylearn2
def test_fix_json(tmp_path):
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(SEED, '--fix', fixed, '--json')
    assert code == 1
    data = json.loads(out)
    fix = data['fix']
    assert fix['written'] is True and fix['changed'] == 2
    assert [(e['layer'], e['key'], e['status'], e['old'], e['line'])
            for e in fix['edits']] == [('h1', 'irange', 'replaced', '.2', 44),
                                       ('h2', 'istdev', 'replaced', '.05',
                                        50)]
    assert fix['after'] == {'breaks': [], 'exit_code': 0}
    assert fix['cannot_fix'] == [] and fix['define_advice'] == []


@needs_pylearn2
def test_fix_block_style_round_trip(tmp_path):
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(BLOCK, '--fix', fixed)
    assert code == 1
    rows = table_rows(out)
    assert [rows[n][0][-1] for n in ('h0', 'h1', 'h2', 'y')] == [
        'BREAKS', 'BREAKS', 'BREAKS', 'unconstrained']
    assert rows['y'][0][6] == '-'
    analyses, unconstrained = direct(BLOCK)
    values = dict((n, format_value(analyses[n].recommended.value))
                  for n in ('h0', 'h1', 'h2'))
    old, new = read(BLOCK), read(fixed)
    removed, added = changed_lines(old, new)
    assert removed == [
        '        irange: &ir 0.25        # shared with h2 below\n',
        '        irange: *ir\n']
    assert added == [
        '        irange: &ir %s        # shared with h2 below\n'
        % values['h0'],
        '        sparse_stdev: %s\n' % values['h1'],
        '        irange: %s\n' % values['h2']]
    assert "inserted 'sparse_stdev: %s' after its 'sparse_init' (line 22)" \
        % values['h1'] in out
    assert 'note: the alias *ir was replaced by a number' in out
    code, out, err = run_check(fixed, '--json')
    assert code == 0
    assert json.loads(out)['breaks'] == []
    # The unconstrained Softmax is listed with its column norms.
    (path, layer), = unconstrained
    norms = vector_norms(layer.W.get_value(), (0,))
    y = json.loads(out)['layers'][3]
    assert y['status'] == 'unconstrained' and y['name'] == 'y'
    assert same_number(y['norms']['max'], float(norms.max()))
    assert (y['n'], y['m'], y['shape']) == (40, 5, [40, 5])


@needs_pylearn2
def test_template_with_defines():
    code, out, err = run_check(TEMPLATE, *TEMPLATE_DEFINES)
    assert code == 1
    rows = table_rows(out)
    assert rows['h2'][0][5] == 'istdev=0.05'
    assert [rows[n][0][-1] for n in ('h0', 'h1', 'h2', 'y')] == [
        'ok', 'BREAKS', 'BREAKS', 'ok']
    # The template filled in is the seed example: same numbers.
    assert [r[0][1:] for r in map(rows.get, ('h0', 'h1', 'h2', 'y'))] == [
        r[0][1:] for r in map(table_rows(run_check(SEED)[1]).get,
                              ('h0', 'h1', 'h2', 'y'))]
    defines = [d.replace('istdev=0.05', 'istdev=0.01')
               for d in TEMPLATE_DEFINES]
    code, out, err = run_check(TEMPLATE, '--json', *defines)
    assert code == 1
    assert json.loads(out)['breaks'] == ['h1']      # h1 is not templated


@needs_pylearn2
def test_fix_template(tmp_path):
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(TEMPLATE, '--fix', fixed, '--json',
                               *TEMPLATE_DEFINES)
    assert code == 1
    fix = json.loads(out)['fix']
    assert [(e['layer'], e['status']) for e in fix['edits']] == [
        ('h1', 'replaced')]
    (advice,) = fix['define_advice']
    assert (advice['name'], advice['layers'], advice['current']) == (
        'istdev', ['h2'], '0.05')
    assert advice['message'] == (
        'h2: istdev comes from %%(istdev): change -D istdev=0.05 to -D '
        'istdev=%s (or less)' % advice['text'])
    assert fix['after']['breaks'] == ['h2']
    old, new = read(TEMPLATE), read(fixed)
    removed, added = changed_lines(old, new)
    assert removed == ['                irange: .2,   # too large for the '
                       '3x3x16 fan-in\n']
    assert len(added) == 1 and '%(istdev)f' in new
    # With the advised -D value the fixed template checks clean.
    defines = TEMPLATE_DEFINES[:2] + ['-D', 'istdev=' + advice['text'],
                                      '-D', 'max_epochs=2']
    code, out, err = run_check(fixed, *defines)
    assert code == 0, out
    # The text report says the same.
    code, out, err = run_check(TEMPLATE, '--fix', fixed, *TEMPLATE_DEFINES)
    assert '  template: %s\n' % advice['message'] in out
    assert 'fix: h2 still breaks fraction 0.5 in the fixed copy' in out


@needs_pylearn2
def test_fix_in_place(tmp_path):
    path = str(tmp_path / 'exp.yaml')
    shutil.copy(SEED, path)
    os.chmod(path, 0o640)
    code, out, err = run_check(path, '--fix', path)
    assert code == 2 and read(path) == read(SEED)
    assert '--in-place' in one_line(err)
    # The same file under another name is still the input.
    code, out, err = run_check(path, '--fix',
                               os.path.join(str(tmp_path), '.', 'exp.yaml'))
    assert code == 2 and read(path) == read(SEED)
    code, out, err = run_check(path, '--fix', path, '--in-place')
    assert code == 1                    # what the input was
    assert read(path) != read(SEED)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ['exp.yaml']
    code, out, err = run_check(path)
    assert code == 0
    # A clean file fixed in place is left alone.
    before = os.stat(path).st_mtime
    code, out, err = run_check(path, '--fix', path, '--in-place')
    assert code == 0
    assert 'fix: %s left as it was (nothing to change)' % path in out
    assert os.stat(path).st_mtime == before


@needs_pylearn2
def test_model_only_yaml_and_unfixable_softmax(tmp_path):
    code, out, err = run_check(MODEL_ONLY)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith('%s: the top MLP;' % MODEL_ONLY)
    rows = table_rows(out)
    assert rows['h0'][0][6] == 'row<=1'
    assert rows['h1'][0][-1] == 'unconstrained'
    assert rows['h1'][0][2:6] == ['30x20', '30', '20', 'istdev=0.01']
    assert rows['y'][0][-1] == 'BREAKS'
    assert ('note y: Softmax has no sparse_stdev (its sparse_init draws N(0, '
            '1) entries): it cannot be fixed by a parameter') in out
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(MODEL_ONLY, '--fix', fixed)
    assert 'cannot fix y: Softmax has no sparse_stdev' in out
    assert 'fix: y still breaks fraction 0.5 in the fixed copy' in out
    removed, added = changed_lines(read(MODEL_ONLY), read(fixed))
    assert len(removed) == len(added) == 1 and "'h0'" in removed[0]
    code, out, err = run_check(fixed, '--json')
    assert code == 1 and json.loads(out)['breaks'] == ['y']


@needs_pylearn2
def test_unknown_constrained_layer(tmp_path, monkeypatch):
    (tmp_path / 'nscheck_custom.py').write_text(u'''
from pylearn2.models.mlp import Layer
from pylearn2.space import VectorSpace


class NormedThing(Layer):
    def __init__(self, layer_name, dim, max_col_norm=None):
        super(NormedThing, self).__init__()
        self.layer_name = layer_name
        self.dim = dim
        self.max_col_norm = max_col_norm

    def set_input_space(self, space):
        self.input_space = space
        self.output_space = VectorSpace(self.dim)

    def get_params(self):
        return []
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    path = str(tmp_path / 'custom.yaml')
    write(path, u"""!obj:pylearn2.models.mlp.MLP {
    nvis: 10,
    layers: [
        !obj:nscheck_custom.NormedThing { layer_name: 'odd', dim: 10,
                                          max_col_norm: 1.0 },
        !obj:pylearn2.models.mlp.Softmax { layer_name: 'y', n_classes: 3,
            irange: 0.01, max_col_norm: 1.0, max_row_norm: 2.0 },
    ]
}
""")
    code, out, err = run_check(path)
    assert code == 0
    rows = table_rows(out)
    assert rows['odd'][0][-1] == 'UNKNOWN'
    assert rows['odd'][0][6] == 'max_col_norm=1'
    assert [r[6] for r in rows['y']] == ['col<=1', 'row<=2']
    assert ('unknown odd (NormedThing): class NormedThing is not a pylearn2 '
            'layer normsafe_init knows') in out
    assert out.splitlines()[-1] == 'not checked (see above): odd'
    data = json.loads(run_check(path, '--json')[1])
    assert data['unknown'] == ['odd']
    assert data['layers'][0]['reason'].startswith('class NormedThing')


@needs_pylearn2
@needs_matplotlib
def test_plot_writes_a_png(tmp_path):
    png = str(tmp_path / 'norms.png')
    code, out, err = run_check(SEED, '--plot', png)
    assert code == 1
    assert 'plot: wrote %s (4 panels)' % png in out
    with open(png, 'rb') as stream:
        assert stream.read(8) == b'\x89PNG\r\n\x1a\n'
    assert os.listdir(str(tmp_path)) == ['norms.png']
    code, out, err = run_check(SEED, '--plot', png, '--json')
    assert json.loads(out)['plot'] == png


@needs_pylearn2
@pytest.mark.parametrize('text, message', [
    (u'a: [1, 2\nb: 3\n', "{0}:2:2: invalid YAML: expected ',' or ']', but "
     "got ':' (while parsing a flow sequence at line 1)"),
    (u'a: {b: 1\n', '{0}:2:1: invalid YAML: expected'),
    (u'a: "x\n', '{0}:2:1: invalid YAML: found unexpected end of stream'),
    (u'', '{0}: the YAML is empty'),
    (u'[1, 2]\n', '{0}: the top object is a list, not a model with layers'),
    (u'{a: 1}\n', "{0}: the top mapping has no 'model' key"),
    (u'!obj:pylearn2.models.mlp.MLP { nvis: 3, layers: [ '
     u'!obj:pylearn2.models.mlp.Linear { layer_name: a, dim: 2, '
     u'irange: 0.1, bogus: 1 } ] }\n',
     '{0}: cannot build the top MLP: TypeError'),
    (u'!obj:pylearn2.models.mlp.NoSuchLayer { a: 1 }\n',
     '{0}: cannot build the top NoSuchLayer: line 1: '
     '!obj:pylearn2.models.mlp.NoSuchLayer: module pylearn2.models.mlp has '
     'no attribute NoSuchLayer'),
    (u'!pkl: "/nonexistent/model.pkl"\n', "{0}: the model's weights come "
     "from /nonexistent/model.pkl (!pkl: at line 1), which is not on this "
     "machine"),
])
def test_unreadable_yaml(tmp_path, text, message):
    path = str(tmp_path / 'bad.yaml')
    write(path, text)
    code, out, err = run_check(path)
    assert code == 2 and out == ''
    line = one_line(err)
    assert line.startswith('normsafe-init check: ' + message.format(path))


@needs_pylearn2
def test_debug_shows_the_traceback(tmp_path):
    path = str(tmp_path / 'bad.yaml')
    write(path, u'a: [1, 2\nb: 3\n')
    code, out, err = run_check(path, '--debug')
    assert code == 2
    assert err.startswith('Traceback (most recent call last):')
    assert 'ParserError' in err
    assert err.splitlines()[-1].startswith('normsafe-init check: %s:2:2: '
                                           'invalid YAML' % path)
    code, out, err = run_subprocess([path, '--debug'])
    assert code == 2 and 'Traceback (most recent call last):' in err


@needs_pylearn2
def test_yaml_error_subprocess(tmp_path):
    path = str(tmp_path / 'bad.yaml')
    write(path, u'a: [1, 2\nb: 3\n')
    code, out, err = run_subprocess([path])
    assert code == 2 and out == ''
    assert 'Traceback' not in err
    assert err.strip().splitlines()[-1] == (
        "normsafe-init check: %s:2:2: invalid YAML: expected ',' or ']', but "
        "got ':' (while parsing a flow sequence at line 1)" % path)
