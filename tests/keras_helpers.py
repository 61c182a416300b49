"""Import the real Keras the adapter uses (Keras 3, or Keras 2: TensorFlow
2.15's, or tf_keras under TF_USE_LEGACY_KERAS=1) for the Keras adapter
tests, or skip the calling module with the reason (Python 3.10+ code: see
conftest.py); and the few test-side helpers whose spelling differs between
Keras 2 and 3."""
import os

import numpy as np
import pytest

os.environ.setdefault('KERAS_BACKEND', 'torch')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')


def require_keras():
    """The ``keras`` module ``normsafe_init.keras`` works with, or a
    module-level skip saying why."""
    try:
        from normsafe_init.keras import _compat
    except ImportError as exc:
        pytest.skip('no Keras (and backend) importable here: %s' % exc,
                    allow_module_level=True)
    return _compat.keras


def compat():
    from normsafe_init.keras import _compat
    return _compat


def keras3():
    return compat().KERAS3


def backend():
    """'torch', 'jax', 'tensorflow' (Keras 2 is always 'tensorflow')."""
    keras = compat().keras
    return keras.backend.backend() if keras3() else 'tensorflow'


def to_numpy(x):
    """A numpy copy of a variable or tensor (bfloat16 as float32)."""
    c = compat()
    if hasattr(x, 'assign'):
        return c.to_numpy(x)
    if c.KERAS3:
        value = np.asarray(c.keras.ops.convert_to_numpy(x))
    else:
        value = np.asarray(x.numpy() if hasattr(x, 'numpy') else x)
    if value.dtype.name not in c.NUMPY_DTYPES:
        value = value.astype(np.float32)
    return np.array(value, copy=True)


def var_key(variable):
    """A name for ``variable`` unique within a model (Keras 3's path;
    Keras 2's scoped name)."""
    return getattr(variable, 'path', None) or variable.name


def storage(variable):
    """The object that holds ``variable``'s value (Keras 3's
    ``variable.value``, Keras 2's resource handle): unchanged by an
    in-place assign. On jax, whose arrays are immutable, every assign
    makes a new array: there the variable itself is what stays."""
    if not keras3():
        return variable.handle
    if backend() == 'jax':
        return variable
    return variable.value


def set_seed(seed):
    keras = compat().keras
    keras.utils.set_random_seed(seed)

