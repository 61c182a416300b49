"""``normsafe-init check``: the NormSafeInit options written in the YAML,
``-D`` given twice, non-finite initial weights, ``--plot`` failing after
``--fix`` wrote its copy, and UTF-8 output (Python 2, a non-ASCII layer
name, a piped stdout).

Everything that builds a model runs against real pylearn2 and is skipped,
with the reason, where it is not importable.
"""
from __future__ import absolute_import, division, print_function

import io
import json
import os
import subprocess
import sys
import warnings

import pytest

from helpers import PYLEARN2_PROBLEM, needs_pylearn2, Capture, subprocess_env
from normsafe_init import cli
from normsafe_init.pylearn2 import check

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



#: A Train whose dataset class is not installed anywhere; h0's istdev and
#: the extension's options are filled in by the tests.
TRAIN = u'''!obj:pylearn2.train.Train {
    dataset: !obj:mylab.datasets.NotInstalled { which: train },
    model: !obj:pylearn2.models.mlp.MLP {
        nvis: 20, seed: 3,
        layers: [
            !obj:pylearn2.models.mlp.RectifiedLinear { layer_name: '%(h0)s',
                dim: 10, istdev: %(istdev)s, max_col_norm: 1.0 },
            !obj:pylearn2.models.mlp.Softmax { layer_name: 'y', n_classes: 3,
                irange: 0.3, max_col_norm: 1.0 },
        ]
    },
    extensions: [ !obj:normsafe_init.NormSafeInit { %(options)s } ],
}
'''


def write_train(tmp_path, options='fraction: 0.5', istdev='0.01', h0='h0',
                name='exp.yaml'):
    path = str(tmp_path / name)
    text = TRAIN % {'options': options, 'istdev': istdev, 'h0': h0}
    with open(path, 'wb') as stream:
        stream.write(text.encode('utf-8'))
    return path


def run_check(*argv):
    out, err = Capture(), Capture()
    code = cli.main(['check'] + list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def rows(out):
    """``{weight: fields}`` of the core's table in ``out``."""
    found, inside = {}, False
    for line in out.splitlines():
        if line.split()[:2] == ['weight', 'shape']:
            inside = True
        elif inside and line.startswith('t = '):
            break
        elif inside:
            fields = line.split(None, 6)
            found[fields[0]] = fields
    return found


# -- no pylearn2 needed ----------------------------------------------------------
def test_a_define_given_twice_is_an_error(tmp_path):
    code, out, err = run_check(str(tmp_path / 'x.yaml'), '-D', 'istdev=0.05',
                               '-D', 'a=1', '-D', 'istdev=0.01')
    assert code == 2 and out == ''
    assert err == ('normsafe-init check: -D istdev is given twice '
                   '(istdev=0.05 and istdev=0.01); give it once\n')


@pytest.mark.parametrize('argv, message', [
    (['--mode', 'median'], "--mode must be one of 'max', 'mean'; got "
     "'median'"),
    (['--layers', ' , '], "--layers must name at least one layer; got "
     "' , '"),
])
def test_bad_command_line_options(tmp_path, argv, message):
    code, out, err = run_check(str(tmp_path / 'x.yaml'), *argv)
    assert code == 2 and err == 'normsafe-init check: %s\n' % message


class _AsciiStream(object):
    """A text stream that can only encode ASCII (Python 2 with a pipe, or
    an ASCII locale), with the byte buffer under it."""

    def __init__(self, encoding):
        self.encoding = encoding
        self.buffer = io.BytesIO()
        self.text = []

    def write(self, text):
        text.encode(self.encoding or 'ascii')    # raises like the real one
        self.text.append(text)

    def flush(self):
        pass


@pytest.mark.parametrize('encoding', ['ascii', None])
def test_emit_falls_back_to_utf8(encoding):
    stream = _AsciiStream(encoding)
    check.emit(stream, u'layer h\xf6he\n')
    assert stream.text == [] and \
        stream.buffer.getvalue() == u'layer h\xf6he\n'.encode('utf-8')
    check.emit(stream, u'plain\n')
    assert stream.text == [u'plain\n']
    capture = Capture()            # no encoding attribute: text as is
    check.emit(capture, u'h\xf6he')
    assert capture.getvalue() == u'h\xf6he'


# -- the YAML's NormSafeInit options ---------------------------------------------
@needs_pylearn2
def test_options_come_from_the_yaml(tmp_path):
    path = write_train(tmp_path, 'fraction: 0.2, confidence: 0.9')
    code, out, err = run_check(path)
    assert code == 1 and err == ''
    header = out.splitlines()[0]
    assert header == ("%s: the 'model' of the top Train; fraction 0.2 (t = "
                      "0.2 x limit), confidence 0.9 (confidence, fraction "
                      "from the NormSafeInit at line 12)" % path)
    assert 't = 0.2 x limit; expected max: the 0.9 quantile' in out
    data = json.loads(run_check(path, '--json')[1])
    assert (data['fraction'], data['confidence']) == (0.2, 0.9)
    assert data['options_from'] == {'fraction': 'yaml', 'confidence': 'yaml',
                                    'mode': 'default'}
    # The command line wins.
    code, out, err = run_check(path, '--fraction', '1', '--json')
    data = json.loads(out)
    assert (data['fraction'], data['confidence']) == (1.0, 0.9)
    assert data['options_from']['fraction'] == 'command line'
    assert data['exit_code'] == code == 0


@needs_pylearn2
def test_mode_from_the_yaml(tmp_path):
    from normsafe_init.distributions import Uniform
    from normsafe_init.solver import solve
    path = write_train(tmp_path, "mode: 'mean'")
    data = json.loads(run_check(path, '--json')[1])
    assert data['mode'] == 'mean'
    y = [layer for layer in data['layers'] if layer['name'] == 'y'][0]
    expected = solve(Uniform(0.3), 10, 3, 1.0, 0.5, 0.99, 'mean').value
    assert y['recommended_value'] == pytest.approx(expected, rel=1e-12)


@needs_pylearn2
@pytest.mark.parametrize('options, message', [
    ("fraction: 'abc'", "fraction must be a real number; got 'abc'"),
    ('fraction: 1.5', 'fraction must be in (0, 1]; got 1.5'),
    ("mode: 'median'", "mode must be one of 'max', 'mean'; got 'median'"),
    ("layers: [h9]", 'NormSafeInit (line 12): layers names h9, which is not '
     'a constrained layer of this model; constrained layers: h0, y'),
])
def test_invalid_yaml_options_exit_2_naming_them(tmp_path, options, message):
    path = write_train(tmp_path, options)
    code, out, err = run_check(path)
    assert code == 2 and out == ''
    assert err.startswith('normsafe-init check: ') and message in err, err
    assert '\n' not in err.rstrip('\n')


@needs_pylearn2
def test_layers_and_exclude_from_the_yaml(tmp_path):
    path = write_train(tmp_path, 'exclude: [y]')
    code, out, err = run_check(path)
    assert code == 0                       # y breaks, but is left out
    assert rows(out)['y'][-1] == 'excluded' and rows(out)['h0'][-1] == 'ok'
    assert '  y: left out by layers / exclude (not counted)' in out
    assert out.splitlines()[-1] == ('0 of 1 constrained weight(s) break '
                                    'fraction 0.5')
    code, out, err = run_check(path, '--exclude', 'h0')
    assert code == 1 and rows(out)['h0'][-1] == 'excluded'
    path = write_train(tmp_path, 'layers: [y]', name='only.yaml')
    data = json.loads(run_check(path, '--json')[1])
    assert data['excluded'] == ['h0'] and data['breaks'] == ['y']


# -- non-finite weights --------------------------------------------------------------
@needs_pylearn2
def test_non_finite_initial_weights_are_never_within_fraction(tmp_path):
    path = write_train(tmp_path, istdev='.nan')
    code, out, err = run_check(path)
    assert code == 1 and err == ''
    assert rows(out)['h0'][-1] == 'NON-FINITE'
    assert ('  h0: initial weights hold NaN or inf: never within fraction'
            in out)
    assert ('2 of 2 constrained weight(s) break fraction 0.5: y, h0'
            in out.splitlines())
    assert json.loads(run_check(path, '--json')[1])['breaks'] == ['h0', 'y']
    fixed = str(tmp_path / 'fixed.yaml')
    code, out, err = run_check(path, '--fix', fixed, '--json')
    fix = json.loads(out)['fix']
    assert fix['cannot_fix'][0]['layer'] == 'h0'
    assert 'not finite' in fix['cannot_fix'][0]['reason']
    assert fix['after']['breaks'] == ['h0']


# -- --plot after --fix ------------------------------------------------------------------
@needs_pylearn2
def test_a_failing_plot_says_the_fix_was_written(tmp_path, monkeypatch):
    pytest.importorskip('matplotlib')
    from normsafe_init import plot

    def no_space(panels, path, suptitle=None):
        raise IOError(28, 'No space left on device', path)

    monkeypatch.setattr(plot, 'plot_panels', no_space)
    path = write_train(tmp_path)
    fixed, png = str(tmp_path / 'fixed.yaml'), str(tmp_path / 'n.png')
    code, out, err = run_check(path, '--fix', fixed, '--plot', png)
    assert code == 2
    assert err == ('normsafe-init check: cannot write %s: No space left on '
                   'device; the --fix copy was written to %s\n'
                   % (png, fixed))
    assert os.path.exists(fixed) and not os.path.exists(png)
    assert 'fix: wrote %s (1 value changed)' % fixed in out
    assert 'plot: wrote' not in out


# -- UTF-8 output, in a subprocess -----------------------------------------------------------
@needs_pylearn2
@pytest.mark.parametrize('ioencoding', [None, 'ascii'])
def test_non_ascii_layer_name_through_a_pipe(tmp_path, ioencoding):
    path = write_train(tmp_path, istdev='0.5', h0=u'h\xf6he')
    fixed = str(tmp_path / 'fixed.yaml')
    env = subprocess_env()
    env.pop('PYTHONIOENCODING', None)
    if ioencoding:
        env['PYTHONIOENCODING'] = ioencoding
    proc = subprocess.Popen(
        [sys.executable, '-m', 'normsafe_init', 'check', path, '--fix',
         fixed], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=REPO_ROOT, env=env)
    out, err = proc.communicate()
    assert proc.returncode == 1, err
    text = out.decode('utf-8')
    assert u'h\xf6he' in rows(text) and rows(text)[u'h\xf6he'][-1] == 'BREAKS'
    assert u"layer 'h\xf6he': istdev 0.5 -> " in text
    assert 'Traceback' not in err.decode('utf-8')
    with open(fixed, 'rb') as stream:
        assert u'h\xf6he'.encode('utf-8') in stream.read()
