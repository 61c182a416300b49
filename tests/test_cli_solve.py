"""Tests of the ``solve`` sub-command (normsafe_init.solve_command, run
through normsafe_init.cli), in-process and once through
``python -m normsafe_init``."""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

from normsafe_init import cli, solve_command
from normsafe_init.cli import main
from normsafe_init.options import DEFAULT_CONFIDENCE, DEFAULT_FRACTION
from normsafe_init.distributions import Gaussian, Sparse, TruncNormal, Uniform
from normsafe_init.solver import assess, solve
from helpers import Capture

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(args):
    out, err = Capture(), Capture()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _reject_constant(name):
    raise ValueError('not strict JSON: %s' % name)


def strict_json(text):
    """``json.loads`` that rejects NaN, Infinity and -Infinity."""
    return json.loads(text, parse_constant=_reject_constant)


def test_strict_json_helper_rejects_non_finite():
    for text in ('{"a": NaN}', '{"a": Infinity}', '[-Infinity]'):
        with pytest.raises(ValueError):
            strict_json(text)


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
    (['solve', '--init', 'truncnormal', '--fan-in', '3200', '--vectors', '64',
      '--limit', '1.9365', '--fraction', '0.9'], TruncNormal(1.0),
     dict(n=3200, m=64, limit=1.9365, fraction=0.9)),
])
def test_json_parameter_equals_solver(args, family, kwargs):
    code, out, err = run(args + ['--json'])
    assert code == 0 and err == ''
    assert out.endswith('\n') and out.count('\n') == 1
    data = strict_json(out)
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
    data = strict_json(out)
    expected = assess(Gaussian(0.01), 46208, 1024, limit=1.9, fraction=0.5)
    assert data['current'] == json.loads(json.dumps(expected))
    assert data['current']['expected_above_target'] == pytest.approx(1024.0)
    assert 0.0042 < data['parameter'] < 0.0044


@pytest.mark.parametrize('extra, check', [
    # an all-zero declared value: its bound is 0 (was NaN)
    (['--current', '0'], lambda d: d['current']['bound'] == 0.0
     and d['current']['max_quantile'] == 0.0),
    # a huge limit: the results stay finite (the mean norm overflowed)
    (['--limit', '1e308'], lambda d: d['mean_norm'] < d['target'] < 1e308),
    # a huge declared value: its norms overflow, and are null, not Infinity
    (['--current', '1e308'], lambda d: d['current']['mean_norm'] is None
     and d['current']['max_quantile'] is None),
])
@pytest.mark.parametrize('init', [['--init', 'gaussian'],
                                  ['--init', 'uniform'],
                                  ['--init', 'truncnormal']])
def test_json_is_strict(init, extra, check):
    args = (['solve'] + init + ['--fan-in', '784', '--vectors', '100',
                                '--limit', '1.9'] + extra + ['--json'])
    if '--limit' in extra:
        del args[7:9]
    code, out, err = run(args)
    assert code == 0 and err == ''
    assert 'NaN' not in out and 'Infinity' not in out
    assert check(strict_json(out))


def test_fraction_defaults_to_the_shared_default():
    code, out, err = run(BASE + ['--json'])
    data = strict_json(out)
    assert code == 0 and data['fraction'] == DEFAULT_FRACTION == 0.5
    assert data['target'] == 0.5 * 1.9
    assert data['confidence'] == DEFAULT_CONFIDENCE
    code, out, err = run(BASE)
    assert out.splitlines()[1] == 'target       t = 0.5 x 1.9 = 0.95'


def test_help_names_the_defaults_and_truncnormal():
    parser = cli._build_parser()
    text = parser._subparsers._group_actions[0].choices['solve'].format_help()
    assert 'default 0.5' in ' '.join(text.split())
    assert 'truncnormal' in text


def test_cli_is_thin():
    """cli builds the parser and dispatches; solve lives in solve_command."""
    parser = cli._build_parser()
    args = parser.parse_args(BASE)
    assert args.run is solve_command.run
    assert not hasattr(cli, 'solve') and not hasattr(cli, 'assess')
    assert solve_command.INIT_CHOICES == ('uniform', 'gaussian', 'sparse',
                                          'truncnormal')


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


def test_human_output_truncnormal():
    code, out, err = run(['solve', '--init', 'truncnormal', '--fan-in', '784',
                          '--vectors', '100', '--limit', '1.9', '--current',
                          '0.05'])
    assert code == 0 and err == ''
    result = solve(TruncNormal(1.0), 784, 100, limit=1.9)
    lines = out.splitlines()
    assert lines[0] == ('init         truncnormal (stddev), n = 784 entries '
                        'per vector, m = 100 vectors')
    assert lines[2] == ('safe stddev  %.6g   (P(all 100 norms <= t) = 0.99)'
                        % result.value)
    assert ('  certain:  stddev <= %.6g can never exceed t (bound 2 x stddev '
            'x sqrt(n))' % result.guaranteed) in lines
    assert any(line.startswith('current stddev 0.05: mean norm 1.2312')
               for line in lines)


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
UNIFORM = ['solve', '--init', 'uniform', '--fan-in', '784', '--vectors',
           '100', '--limit', '1.9']


@pytest.mark.parametrize('args, expected', [
    (BASE + ['--fraction', '1.5'],
     'normsafe-init: error: --fraction must be in (0, 1]; got 1.5'),
    (BASE + ['--fraction', '0'],
     'normsafe-init: error: --fraction must be in (0, 1]; got 0.0'),
    (BASE + ['--fraction', 'nan'],
     'normsafe-init: error: --fraction must be a real number, not NaN'),
    (BASE + ['--confidence', '1'],
     'normsafe-init: error: --confidence must be in (0, 1); got 1.0'),
    (BASE + ['--current', '-1'],
     'normsafe-init: error: --current must be >= 0; got -1.0'),
    (BASE + ['--current', 'inf'],
     'normsafe-init: error: --current must be finite; got inf'),
    (['solve', '--init', 'gaussian', '--fan-in', '0', '--vectors', '100',
      '--limit', '1.9'],
     'normsafe-init: error: --fan-in must be an integer >= 1; got 0'),
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '0',
      '--limit', '1.9'],
     'normsafe-init: error: --vectors must be an integer >= 1; got 0'),
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '100',
      '--limit', '0'],
     'normsafe-init: error: --limit must be > 0; got 0.0'),
    (['solve', '--init', 'gaussian', '--fan-in', '784', '--vectors', '100',
      '--limit', 'inf'],
     'normsafe-init: error: --limit must be finite; got inf'),
    (UNIFORM + ['--include-prob', '1.5'],
     'normsafe-init: error: --include-prob must be in (0, 1]; got 1.5'),
    (UNIFORM + ['--include-prob', '0'],
     'normsafe-init: error: --include-prob must be in (0, 1]; got 0.0'),
    (['solve', '--init', 'sparse', '--nonzero', '20', '--fan-in', '10',
      '--vectors', '100', '--limit', '1.9'],
     'normsafe-init: error: --nonzero must be <= --fan-in (10); got 20'),
    (['solve', '--init', 'sparse', '--nonzero', '0', '--fan-in', '10',
      '--vectors', '100', '--limit', '1.9'],
     'normsafe-init: error: --nonzero must be an integer >= 1; got 0'),
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
    (['solve', '--init', 'truncnormal', '--include-prob', '0.5', '--fan-in',
      '784', '--vectors', '100', '--limit', '1.9'],
     'normsafe-init: error: ' '--include-prob applies only to --init uniform'),
    (['solve', '--init', 'uniform', '--include-prob', '0.1', '--fan-in', '3',
      '--vectors', '1', '--limit', '1', '--confidence', '0.7'],
     'normsafe-init: error: with --include-prob 0.1, --fan-in 3 and '
     '--vectors 1 the layer is all zero with probability 0.729 >= '
     '--confidence 0.7, so any irange would do; raise --confidence or '
     '--include-prob'),
    (['solve', '--init', 'uniform', '--include-prob', '0.5', '--fan-in', '1',
      '--vectors', '2', '--limit', '1', '--confidence', '0.2'],
     'normsafe-init: error: with --include-prob 0.5, --fan-in 1 and '
     '--vectors 2 the layer is all zero with probability 0.25 >= '
     '--confidence 0.2, so any irange would do; raise --confidence or '
     '--include-prob'),
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


def test_all_zero_layer_just_below_confidence_solves():
    """include_prob 0.1, fan-in 3: P(all zero) = 0.729; at confidence 0.73 a
    finite irange exists (and --mean never hits the all-zero case)."""
    for extra in (['--confidence', '0.73'], ['--mean']):
        code, out, err = run(['solve', '--init', 'uniform', '--include-prob',
                              '0.1', '--fan-in', '3', '--vectors', '1',
                              '--limit', '1', '--json'] + extra)
        assert code == 0 and err == ''
        assert strict_json(out)['parameter'] > 0


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
    data = strict_json(out)
    expected = solve(Gaussian(1.0), 46208, 1024, limit=1.9, fraction=0.5)
    assert data['parameter'] == expected.value
    code, out, err = _subprocess(BASE + ['--fraction', '1.5'])
    assert code == 2
    assert out == ''
    assert err.splitlines() == [
        'normsafe-init: error: --fraction must be in (0, 1]; got 1.5']
