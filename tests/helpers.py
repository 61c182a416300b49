"""Small helpers shared by the test modules (no pylearn2 needed)."""
from __future__ import absolute_import, division, print_function

import os
import warnings

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
DATA = os.path.join(TESTS_DIR, 'data')
#: Axes summed over for each pylearn2 constraint layout (dense columns and
#: rows, bc01 and c01b convolution kernels, local c01b filters).
LAYOUT_AXES = {
    'col': (0,),
    'row': (1,),
    'bc01': (1, 2, 3),
    'c01b': (0, 1, 2),
    'local_c01b': (2, 3, 4),
}

#: ``NORMSAFE_FULL_SWEEPS=1``: run the law's and the oracle's full sweeps
#: (see tests/conftest.py); otherwise a reduced sample of each.
FULL_SWEEPS = os.environ.get('NORMSAFE_FULL_SWEEPS', '') == '1'


def sweep(full, reduced):
    """``full`` under ``NORMSAFE_FULL_SWEEPS=1``, else ``reduced``."""
    return full if FULL_SWEEPS else reduced


#: The YAML files the check and editor tests share.
SEED = os.path.join(REPO_ROOT, 'yaml_examples', 'seed_conv_fc.yaml')
BLOCK = os.path.join(DATA, 'block_style.yaml')
TEMPLATE = os.path.join(DATA, 'template_conv_fc.yaml')
MODEL_ONLY = os.path.join(DATA, 'model_only.yaml')


def assert_raises_msg(exc_type, message, func, *args, **kwargs):
    """``func(*args, **kwargs)`` raises exactly ``exc_type(message)``."""
    with pytest.raises(exc_type) as info:
        func(*args, **kwargs)
    assert type(info.value) is exc_type
    assert str(info.value) == message


def close_to_digits(actual, expected, extra=0.0):
    """``actual`` equals the decimal string ``expected`` to within one unit
    of its last printed digit (plus ``extra``, absolute)."""
    mantissa = expected.lower().split('e')[0]
    decimals = len(mantissa.split('.')[1]) if '.' in mantissa else 0
    exponent = int(expected.lower().split('e')[1]) if 'e' in expected else 0
    tol = 10.0 ** (exponent - decimals) + extra
    return abs(actual - float(expected)) <= tol


class Capture(object):
    """A text stream that accepts ``str`` on Python 2 and 3 alike."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def getvalue(self):
        return ''.join(self.parts)


def subprocess_env(extra_path=()):
    """``os.environ`` with this checkout first on ``PYTHONPATH`` (an
    environment may hold an editable install of another checkout) and the
    default ``THEANO_FLAGS`` of ``tests/conftest.py``."""
    env = dict(os.environ)
    parts = list(extra_path) + [REPO_ROOT] + [
        p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(parts)
    env.setdefault(
        'THEANO_FLAGS',
        'blas.ldflags=,floatX=float32,base_compiledir='
        + os.path.join(os.path.expanduser('~'), '.cache', 'normsafe_init',
                       'theano'))
    return env


def pylearn2_problem():
    """Why real pylearn2 models cannot be built here (text), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            import theano  # noqa: F401
            import pylearn2.config.yaml_parse  # noqa: F401
            import pylearn2.models.mlp  # noqa: F401
    except Exception as exc:  # ImportError, or Theano failing at import
        return '%s: %s' % (type(exc).__name__, exc)
    return None


PYLEARN2_PROBLEM = pylearn2_problem()

#: Marks a test that builds real pylearn2 models (skipped, with the reason,
#: where pylearn2 is not importable).
needs_pylearn2 = pytest.mark.skipif(
    PYLEARN2_PROBLEM is not None,
    reason='pylearn2 is not importable in this environment (%s): these '
           'tests build real pylearn2 models' % PYLEARN2_PROBLEM)
