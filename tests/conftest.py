"""Shared pytest configuration.

Theano reads THEANO_FLAGS once, when it is first imported, so the default is
set here, before any test module can import it: no BLAS library to link
(blas.ldflags= empty), float32 like pylearn2 models usually are, and one fixed
compile cache shared with .ci/run so that compiled graphs are reused between
runs.  A THEANO_FLAGS already set in the environment wins.

Sweeps: the tests of the law of a vector's norm (``test_saddlepoint.py``,
against the exact oracle in ``tests/law_oracle``) and the oracle's own
credentials (``test_law_oracle.py``) run a reduced sample of their sweeps by
default, so that the whole suite stays fast; ``NORMSAFE_FULL_SWEEPS=1``
runs every case (``tests/helpers.py``: ``FULL_SWEEPS``, ``sweep``):

    NORMSAFE_FULL_SWEEPS=1 python -m pytest tests/test_saddlepoint.py tests/test_law_oracle.py
"""
import os

os.environ.setdefault(
    'THEANO_FLAGS',
    'blas.ldflags=,floatX=float32,base_compiledir='
    + os.path.join(os.path.expanduser('~'), '.cache', 'normsafe_init', 'theano'))

# The Keras and PyTorch adapters (and their tests) are Python 3.10+ code:
# older interpreters (the pylearn2 environments, 2.7 and 3.9) cannot even
# parse them, so they are not collected there (the frameworks do not install
# on those interpreters either).
import sys  # noqa: E402

collect_ignore_glob = []
if sys.version_info < (3, 10):
    collect_ignore_glob += ['test_keras_*.py', 'test_torch_*.py']

# Keras 3 picks its backend when first imported: the tests use torch, the
# backend that installs from the package index and runs on CPU here.
os.environ.setdefault('KERAS_BACKEND', 'torch')


def pytest_report_header(config):
    if sys.version_info < (3, 10):
        return ('normsafe_init: the Keras and PyTorch adapter tests are not '
                'collected on Python %d.%d (they need 3.10+)'
                % sys.version_info[:2])
    return None
