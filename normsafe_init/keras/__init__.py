"""Keras 3: initial weights that respect ``MaxNorm`` / ``MinMaxNorm``.

Needs Python 3.10+, ``keras >= 3`` and a backend (``pip install -e
'.[keras]'`` brings torch; TensorFlow or JAX work too: the adapter uses
``keras.ops`` and ``variable.assign`` only)::

    from normsafe_init.keras import NormSafeInit, audit

    print(audit(model, fraction=0.5))     # read-only table, like `check`
    model.fit(x, y, callbacks=[NormSafeInit(fraction=0.5, action='rescale'),
                               keras.callbacks.TensorBoard('logs')])

Example (a head like EEGNet's: ``max_norm(0.25)`` on 64 features, where
glorot_uniform draws unit norms near 1.37)::

    >>> import os; _ = os.environ.setdefault('KERAS_BACKEND', 'torch')
    >>> import keras
    >>> from normsafe_init.keras import audit
    >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
    ...     4, kernel_constraint=keras.constraints.max_norm(0.25), name='head')])
    >>> audit(model).breaking
    ['head']
"""
from .callback import RECORD_ATTR, NormSafeInit, model_looks_trained
from .discovery import KerasWeight, find_constrained
from .initializers import family_of
from .. import run
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)

__all__ = ['NormSafeInit', 'audit', 'find_constrained', 'family_of',
           'KerasWeight', 'model_looks_trained']


def audit(model, fraction=DEFAULT_FRACTION, confidence=DEFAULT_CONFIDENCE,
          mode=DEFAULT_MODE, layers=None, exclude=None):
    """A read-only report of ``model``'s max-norm-constrained variables
    (:class:`normsafe_init.report.AuditReport`: ``str()`` a table,
    ``as_dict()`` the numbers, ``breaking`` the names above ``fraction x
    limit``). Nothing is changed. The model must be built."""
    options = Options(fraction=fraction, action='report',
                      confidence=confidence, mode=mode, layers=layers,
                      exclude=exclude)
    weights, unknown = find_constrained(model)
    return run.audit(weights, options, unknown,
                     trained=model_looks_trained(model),
                     previous=getattr(model, RECORD_ATTR, None))
