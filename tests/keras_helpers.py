"""Import real Keras 3 for the Keras adapter tests, or skip the calling
module with the reason (Python 3.10+ code: see conftest.py)."""
import os

import pytest

os.environ.setdefault('KERAS_BACKEND', 'torch')


def require_keras():
    """The ``keras`` module (3.x), or a module-level skip saying why."""
    keras = pytest.importorskip('keras', reason='keras 3 (and a backend) is '
                                'not importable here')
    if int(keras.__version__.split('.')[0]) < 3:
        pytest.skip('normsafe_init.keras needs keras >= 3; found %s'
                    % keras.__version__, allow_module_level=True)
    return keras
