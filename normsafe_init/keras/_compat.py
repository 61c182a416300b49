"""The Keras the adapter works with, and the few calls where Keras 2 and
Keras 3 differ (reading, writing, a variable's own name, a layer's own
variables, the optimizer's step count, an unbuilt model); everything else
is written once against what both share.

``keras`` is chosen at import time by TensorFlow's own rule for
``tf.keras``: ``tf_keras`` (Keras 2) when ``TF_USE_LEGACY_KERAS`` is set
and it is installed, else ``import keras`` (Keras 3, or TensorFlow 2.15's
Keras 2). The model must come from that same Keras.

Example::

    >>> from normsafe_init.keras import _compat
    >>> layer = _compat.keras.layers.Dense(3, dtype='float16')
    >>> layer.build((None, 4))
    >>> _compat.variable_name(layer.kernel), _compat.dtype_of(layer.kernel)
    ('kernel', dtype('float16'))
    >>> _compat.to_numpy(layer.kernel).shape
    (4, 3)
"""
import os

import numpy as np

__all__ = ['keras', 'KERAS3', 'NUMPY_DTYPES',
           'legacy_requested', 'to_numpy', 'assign', 'variable_name',
           'dtype_of', 'keras_dtype', 'own_variables',
           'optimizer_steps', 'is_built', 'to_float', 'own_call']


def legacy_requested(environ=None):
    """True when ``TF_USE_LEGACY_KERAS`` asks for Keras 2 (TensorFlow's
    own test: ``'1'``, ``'true'`` or ``'True'``)."""
    environ = os.environ if environ is None else environ
    return environ.get('TF_USE_LEGACY_KERAS') in ('1', 'true', 'True')


def _import_keras():
    if legacy_requested():
        try:
            import tf_keras
            return tf_keras
        except ImportError:  # TensorFlow <= 2.15: `keras` is Keras 2
            pass
    import keras as module
    return module


keras = _import_keras()
KERAS3 = int(keras.__version__.split('.')[0]) >= 3


#: dtypes numpy computes in; any other (bfloat16, ...) is read as float32
#: and written back cast by the framework, as the torch adapter does.
NUMPY_DTYPES = ('float16', 'float32', 'float64')


def to_float(value):
    """A Python float from a scalar (or a scalar tensor), or None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        try:
            return float(np.asarray(value))
        except Exception:
            return None


def own_call(obj, base):
    """True when ``obj`` is called with ``base.__call__`` (not overridden)."""
    return type(obj).__call__ is base.__call__


def keras_dtype(variable):
    """The variable's dtype name as Keras spells it (``'bfloat16'``)."""
    dtype = variable.dtype
    return getattr(dtype, 'name', None) or str(dtype)


def to_numpy(variable):
    """A fresh, writable numpy copy of ``variable``'s value: float16/32/64
    as they are, any other float dtype (``bfloat16``) as float32."""
    if KERAS3:
        value = keras.ops.convert_to_numpy(variable.value)
    else:
        value = variable.numpy()
    value = np.asarray(value)
    if value.dtype.name not in NUMPY_DTYPES:
        return value.astype(np.float32)
    if not (value.flags.owndata and value.flags.writeable):
        value = np.array(value, copy=True)  # never lend the live buffer
    return value


def assign(variable, value):
    """``variable.assign(value)`` in place, cast to the variable's dtype by
    the framework (numpy has no bfloat16 of its own)."""
    value = np.asarray(value)
    if KERAS3:
        variable.assign(keras.ops.cast(value, variable.dtype))
    else:
        import tensorflow as tf
        variable.assign(tf.cast(value, variable.dtype))


def variable_name(variable):
    """The variable's own name: ``'kernel'``, ``'depthwise_kernel'``."""
    name = variable.name
    if not KERAS3:  # 'block/dense/kernel:0'
        name = name.split(':', 1)[0].rsplit('/', 1)[-1]
    return name


def dtype_of(variable):
    """The numpy dtype :func:`to_numpy` gives for ``variable``."""
    name = keras_dtype(variable)
    return np.dtype(name if name in NUMPY_DTYPES else 'float32')


def own_variables(layer):
    """The variables ``layer`` itself created (not its sublayers')."""
    if KERAS3:
        names = ('_trainable_variables', '_non_trainable_variables')
    else:
        names = ('_trainable_weights', '_non_trainable_weights')
    return [v for name in names for v in getattr(layer, name, None) or []]


def optimizer_steps(optimizer):
    """How many steps ``optimizer`` has taken, or None if it keeps no
    count (no optimizer: a model that was never compiled)."""
    iterations = getattr(optimizer, 'iterations', None)
    if iterations is None:
        return None
    if KERAS3:
        return int(keras.ops.convert_to_numpy(iterations))
    return int(np.asarray(iterations.numpy()))


def is_built(model):
    """True when ``model`` has made its variables (Keras builds a model
    without an ``Input`` only when it first sees data)."""
    if getattr(model, 'built', False):
        return True
    try:
        return bool(model.variables)
    except ValueError:   # Keras 2: "Weights for model ... not yet created"
        return False
