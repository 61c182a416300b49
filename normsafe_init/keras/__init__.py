"""Keras (3 on any backend, or 2: TensorFlow 2.15's ``tf.keras`` or
``tf_keras`` under ``TF_USE_LEGACY_KERAS=1``): initial weights that respect
``MaxNorm`` / ``MinMaxNorm``; see the README's Keras section.

Example (a head like EEGNet's: ``max_norm(0.25)`` on 64 features, where
glorot_uniform draws unit norms near 1.37)::

    >>> import os; _ = os.environ.setdefault('KERAS_BACKEND', 'torch')
    >>> from normsafe_init.keras import audit
    >>> from normsafe_init.keras._compat import keras   # or tf.keras
    >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
    ...     4, kernel_constraint=keras.constraints.max_norm(0.25), name='head')])
    >>> audit(model).breaking
    ['head']
"""
from .callback import (RECORD_ATTR, NormSafeInit, model_looks_trained,
                       unbuilt_message)
from .discovery import KerasWeight, find_constrained
from .initializers import family_of
from .. import run
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)

__all__ = ['NormSafeInit', 'audit', 'find_constrained', 'family_of',
           'KerasWeight', 'model_looks_trained']


def audit(model, fraction=DEFAULT_FRACTION, confidence=DEFAULT_CONFIDENCE,
          mode=DEFAULT_MODE, layers=None, exclude=None):
    """A read-only :class:`normsafe_init.report.AuditReport` of ``model``'s
    max-norm-constrained variables; ``ValueError`` if it is not built."""
    problem = unbuilt_message(model)
    if problem is not None:
        raise ValueError(problem)
    options = Options(fraction=fraction, action='report',
                      confidence=confidence, mode=mode, layers=layers,
                      exclude=exclude)
    weights, unknown = find_constrained(model)
    return run.audit(weights, options, unknown,
                     trained=model_looks_trained(model),
                     previous=getattr(model, RECORD_ATTR, None))
