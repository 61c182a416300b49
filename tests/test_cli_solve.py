"""Tests of the ``solve`` sub-command (normsafe_init.cli), in-process and
once through ``python -m normsafe_init``."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

from normsafe_init.cli import main
from normsafe_init.distributions import Gaussian, Sparse, Uniform
from normsafe_init.solver import assess, solve
from helpers import Capture

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(args):
    out, err = Capture(), Capture()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


NEUKRILL = ['solve', '--init', 'gaussian', '--fan-in', '46208',
            '--vectors', '1024', '--limit', '1.9', '--fraction', '0.5']


# -- JSON ---------------------------------------------------------------------

@pytest.mark.parametrize('args, family, kwargs', [
    (NEUKRILL, Gaussian(1.0),
     dict(n=46208, m=1024, limit=1.9, fraction=0.5)),
    (['solve', '--init', 'uniform', '--fan-in', '4096', '--vectors', '1024',
      '--limit', '1.9365', '--fraction', '0.9'], Uniform(1.0),
     dict(n=4096, m=1024, limit=1.9365, fraction=0.9)),
    (['solve', '--init', 'uniform', '--fan-in', '784', '--vectors', '500',
      '--limit', '2', '--include-prob', '0.5', '--confidence', '0.9'],
     Uniform(1.0, include_prob=0.5),
     dict(n=784, m=500, limit=2.0, confidence=0.9)),
    (['solve', '--init', 'sparse', '--nonzero', '15', '--fan-in', '784',
      '--vectors', '1875', '--limit', '1', '--fraction', '0.9'],
     Sparse(15, 1.0), dict(n=784, m=1875, limit=1.0, fraction=0.9)),
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '500',
      '--limit', '2', '--mean'], Gaussian(1.0),
     dict(n=784, m=500, limit=2.0, mode='mean')),
])
def test_json_parameter_equals_solver(args, family, kwargs):
    code, out, err = run(args + ['--json'])
    assert code == 0 and err == ''
    assert out.endswith('\n') and out.count('\n') == 1
    data = json.loads(out)
    expected = solve(family, **kwargs)
    assert data['parameter'] == expected.value
    assert data['parameter_name'] == expected.param_name
    assert data['init'] == expected.family.to_dict()
    assert data['mode'] == expected.mode
    assert data['prob_all_below_target'] == expected.prob_all_below
    assert data['current'] is None


def test_json_with_current():
    code, out, err = run(NEUKRILL + ['--current', '0.01', '--json'])
    assert code == 0 and err == ''
    data = json.loads(out)
    expected = assess(Gaussian(0.01), 46208, 1024, limit=1.9, fraction=0.5)
    assert data['current'] == json.loads(json.dumps(expected))
    assert data['current']['expected_above_target'] == pytest.approx(1024.0)
    assert 0.0042 < data['parameter'] < 0.0044


# -- human output -------------------------------------------------------------

def test_human_output_gaussian_with_current():
    code, out, err = run(NEUKRILL + ['--current', '0.01'])
    assert code == 0 and err == ''
    value = solve(Gaussian(1.0), 46208, 1024, limit=1.9, fraction=0.5).value
    lines = out.splitlines()
    assert lines[0] == ('init         gaussian (istdev), n = 46208 entries '
                        'per vector, m = 1024 vectors')
    assert lines[1] == 'target       t = 0.5 x 1.9 = 0.95'
    assert lines[2] == ('safe istdev  %.6g   (P(all 1024 norms <= t) = 0.99)'
                        % value)
    assert '%.6g' % value == '0.00435811'
    current = [line for line in lines if line.startswith('current ')]
    assert len(current) == 1
    assert current[0].startswith('current istdev 0.01: mean norm 2.1')
    assert any(line.strip().startswith('expected vectors over t: 1024 of '
                                       '1024') for line in lines)
    assert 'certain' not in out       # no hard bound for a Gaussian


def test_human_output_uniform_has_certain_bound():
    code, out, err = run(['solve', '--init', 'uniform', '--fan-in', '4096',
                          '--vectors', '1024', '--limit', '1.9365',
                          '--fraction', '0.9'])
    assert code == 0 and err == ''
    result = solve(Uniform(1.0), 4096, 1024, limit=1.9365, fraction=0.9)
    assert 'safe irange  %.6g' % result.value in out
    assert ('certain:  irange <= %.6g can never exceed t'
            % result.guaranteed) in out
    assert 'include_prob=1' in out.splitlines()[0]
    assert 'current' not in out


def test_human_output_mean_mode_and_sparse():
    code, out, err = run(['solve', '--init', 'sparse', '--nonzero', '15',
                          '--fan-in', '784', '--vectors', '1875', '--limit',
                          '1', '--fraction', '0.9', '--mean', '--current',
                          '1'])
    assert code == 0 and err == ''
    result = solve(Sparse(15, 1.0), 784, 1875, limit=1.0, fraction=0.9,
                   mode='mean')
    assert ('safe sparse_stdev %.6g   (expected norm = t)' % result.value) \
        in out
    assert 'sparse_init=15' in out.splitlines()[0]
    assert 'current sparse_stdev 1: mean norm 3.80902' in out


# -- usage errors: exit 2, one line on stderr, nothing on stdout --------------

BASE = ['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '100',
        '--limit', '1.9']


@pytest.mark.parametrize('args, expected', [
    (BASE + ['--fraction', '1.5'],
     'normsafe-init: error: fraction must be in (0, 1]; got 1.5'),
    (BASE + ['--fraction', '0'],
     'normsafe-init: error: fraction must be in (0, 1]; got 0.0'),
    (BASE + ['--confidence', '1'],
     'normsafe-init: error: confidence must be in (0, 1); got 1.0'),
    (BASE + ['--current', '-1'],
     'normsafe-init: error: istdev must be >= 0; got -1.0'),
    (['solve', '--init', 'gaussian', '--fan-in', '0', '--vectors', '100',
      '--limit', '1.9'],
     'normsafe-init: error: n must be an integer >= 1; got 0'),
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '100',
      '--limit', '0'],
     'normsafe-init: error: limit must be > 0; got 0.0'),
    (['solve', '--init', 'sparse', '--nonzero', '20', '--fan-in', '10',
      '--vectors', '100', '--limit', '1.9'],
     'normsafe-init: error: sparse_init (20) must not exceed the number of '
     'entries per vector (10)'),
    (['solve', '--init', 'sparse', '--fan-in', '784', '--vectors', '100',
      '--limit', '1.9'],
     'normsafe-init: error: ' '--init sparse needs --nonzero K (sparse_init)'),
    (BASE + ['--nonzero', '15'],
     'normsafe-init: error: ' '--nonzero applies only to --init sparse'),
    (['solve', '--init', 'uniform', '--nonzero', '15', '--fan-in', '784',
      '--vectors', '100', '--limit', '1.9'],
     'normsafe-init: error: ' '--nonzero applies only to --init sparse'),
    (BASE + ['--include-prob', '0.5'],
     'normsafe-init: error: ' '--include-prob applies only to --init uniform'),
])
def test_usage_errors_exact(args, expected):
    code, out, err = run(args)
    assert code == 2
    assert out == ''
    assert err == expected + '\n'


@pytest.mark.parametrize('args, start, contains', [
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '100'],
     'normsafe-init solve: error: ', '--limit'),
    (['solve', '--init', 'foo', '--fan-in', '784', '--vectors', '100',
      '--limit', '1.9'],
     'normsafe-init solve: error: argument --init: invalid choice', 'foo'),
    (BASE + ['--mean', '--confidence', '0.9'],
     'normsafe-init solve: error: argument --confidence: not allowed with '
     'argument --mean', ''),
    (BASE + ['--fraction', 'abc'],
     'normsafe-init solve: error: argument --fraction: invalid float value',
     'abc'),
    (['solve', '--fan-in', '784', '--vectors', '100', '--limit', '1.9'],
     'normsafe-init solve: error: ', '--init'),
    ([], 'normsafe-init: error: ', ''),
])
def test_argparse_errors_one_line(args, start, contains):
    code, out, err = run(args)
    assert code == 2
    assert out == ''
    assert err.endswith('\n') and err.count('\n') == 1
    assert err.startswith(start)
    assert contains in err


def test_all_zero_layer_more_likely_than_confidence_is_a_usage_error():
    """include_prob 0.1, fan-in 3: P(all zero) = 0.729 >= 0.7, so no finite
    irange is implied; that is reported on one line (exit 2), not as a
    traceback."""
    code, out, err = run(['solve', '--init', 'uniform', '--include-prob',
                          '0.1', '--fan-in', '3', '--vectors', '1',
                          '--limit', '1', '--confidence', '0.7'])
    assert code == 2
    assert out == ''
    assert err.startswith('normsafe-init: error: ')
    assert err.count('\n') == 1


# -- as a subprocess ----------------------------------------------------------

def _subprocess(args):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.Popen([sys.executable, '-m', 'normsafe_init'] + args,
                            cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8'), err.decode('utf-8')


def test_subprocess_json_and_error():
    code, out, err = _subprocess(NEUKRILL + ['--json'])
    assert code == 0, err
    data = json.loads(out)
    expected = solve(Gaussian(1.0), 46208, 1024, limit=1.9, fraction=0.5)
    assert data['parameter'] == expected.value
    code, out, err = _subprocess(BASE + ['--fraction', '1.5'])
    assert code == 2
    assert out == ''
    assert err.splitlines() == [
        'normsafe-init: error: fraction must be in (0, 1]; got 1.5']
