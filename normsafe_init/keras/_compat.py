"""The Keras the adapter works with, and the few calls where Keras 2 and
Keras 3 differ. Everything else in ``normsafe_init.keras`` is written once,
against what both share (``keras.layers``, ``keras.constraints``,
``keras.initializers``, ``keras.callbacks.Callback``, a variable's
``constraint``, ``shape``, ``dtype`` and ``assign``).

Which Keras, by the rule TensorFlow itself follows for ``tf.keras``:

===========================================  ================================
environment                                  ``keras`` here
===========================================  ================================
Keras 3 (any backend)                        ``import keras`` (3.x)
TensorFlow 2.15 and earlier                  ``import keras`` (2.x, the
                                             ``tf.keras`` of that TensorFlow)
``TF_USE_LEGACY_KERAS=1`` (``true``,         ``import tf_keras`` (2.x), the
``True``) and ``tf_keras`` installed         ``tf.keras`` of TensorFlow >= 2.16
===========================================  ================================

The model must come from that same Keras: the callback subclasses its
``keras.callbacks.Callback`` and discovery tests its ``MaxNorm`` classes.
The choice is made at import time, so ``TF_USE_LEGACY_KERAS`` must be set
before ``normsafe_init.keras`` is first imported (as it must be before
TensorFlow's own first use of ``tf.keras``); a ``tf_keras`` model used
without it (``import tf_keras`` beside Keras 3) is not supported.

Where they differ:

==========================  ========================  ======================
                            Keras 3                   Keras 2
==========================  ========================  ======================
read                        ``ops.convert_to_numpy``  ``variable.numpy()``
write (same dtype)          ``assign(ops.cast(v))``   ``assign(tf.cast(v))``
variable's own name         ``variable.name``         ``'lstm/lstm_cell/
                            (``'kernel'``)            kernel:0'``, last part
a layer's variables         ``_trainable_variables``  ``_trainable_weights``
optimizer steps             ``iterations`` (a         ``iterations`` (a
                            ``keras.Variable``)       ``tf.Variable``)
unbuilt model's variables   ``[]``                    ``ValueError``
fans                        ``compute_fans``          the same rules, here
==========================  ========================  ======================

Example::

    >>> from normsafe_init.keras import _compat
    >>> layer = _compat.keras.layers.Dense(3, dtype='float16')
    >>> layer.build((None, 4))
    >>> _compat.variable_name(layer.kernel), _compat.dtype_of(layer.kernel)
    ('kernel', dtype('float16'))
    >>> _compat.to_numpy(layer.kernel).shape
    (4, 3)
    >>> _compat.compute_fans((3, 3, 8, 16))   # Conv2D (kh, kw, in, out)
    (72, 144)
"""
import math
import os
import re

import numpy as np

__all__ = ['keras', 'KERAS_VERSION', 'KERAS3', 'NUMPY_DTYPES',
           'legacy_requested', 'to_numpy', 'assign', 'variable_name',
           'dtype_of', 'keras_dtype', 'stored_eps', 'own_variables',
           'optimizer_steps', 'compute_fans', 'is_built']


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
KERAS_VERSION = tuple(int(p) for p in
                      re.findall(r'\d+', keras.__version__)[:3])
KERAS3 = KERAS_VERSION[0] >= 3


#: dtypes numpy computes in; any other (bfloat16, ...) is read as float32
#: and written back cast by the framework, as the torch adapter does.
NUMPY_DTYPES = ('float16', 'float32', 'float64')


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


def stored_eps(variable):
    """Machine epsilon of the variable's own dtype (``bfloat16``:
    ``2**-7``, though :func:`to_numpy` reads it as float32)."""
    name = keras_dtype(variable)
    if name in NUMPY_DTYPES:
        return float(np.finfo(name).eps)
    import ml_dtypes   # Keras 2 (TensorFlow), jax and Keras 3 bring it
    return float(ml_dtypes.finfo(name).eps)


def own_variables(layer):
    """The variables ``layer`` itself created (not its sublayers')."""
    if KERAS3:
        names = ('_trainable_variables', '_non_trainable_variables')
    else:
        names = ('_trainable_weights', '_non_trainable_weights')
    out = []
    for name in names:
        out.extend(getattr(layer, name, None) or [])
    return out


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


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of ``shape`` by Keras's rules (the same in
    Keras 2 and 3): ``(in, out)`` for 2-D, ``(shape[-2] r, shape[-1] r)``
    with ``r = prod(shape[:-2])`` above, ``(d, d)`` for 1-D; Keras 3's
    ``input_axes`` / ``output_axes`` (EinsumDense) when given."""
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        return int(fan_in), int(fan_out)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    field = math.prod(shape[:-2])
    return shape[-2] * field, shape[-1] * field
