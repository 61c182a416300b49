"""``NormSafeInit``: the Keras 3 callback.

Keras applies ``MaxNorm`` / ``MinMaxNorm`` only after each optimizer step,
so the first step silently projects every vector drawn above the limit onto
it (EEGNet's ``Dense(4, kernel_constraint=max_norm(0.25))`` on 64 features
starts with glorot_uniform norms ~1.37, 5.5x the limit). ``on_train_begin``
runs after the model is built and before that first step: it is the one
place that still sees the raw draw. There the callback measures every
max-norm-constrained variable, lets the core plan every change
(:func:`normsafe_init.run.run`, shared with the pylearn2 extension),
assigns the planned values in place, logs one line per variable and a
summary, and keeps a JSON-serialisable record. ``on_epoch_end`` adds
``normsafe_<layer>_max_over_limit`` and ``normsafe_<layer>_pinned`` to the
epoch logs (progress bar, ``History``, ``CSVLogger``, and a
``TensorBoard`` placed after this callback).
"""
import logging

import keras

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options, check_flag)
from ..report import metrics as epoch_metrics
from .discovery import find_constrained

__all__ = ['NormSafeInit', 'RECORD_ATTR', 'model_looks_trained']

log = logging.getLogger('normsafe_init.keras')

#: Attribute of the model holding the last record.
RECORD_ATTR = '_normsafe_init_record'

_FORCE_HINT = 'NormSafeInit(force=True)'


def model_looks_trained(model):
    """Why ``model`` must be treated as trained, or None: its optimizer has
    taken steps (a second ``fit``, a model loaded with its optimizer
    state)."""
    optimizer = getattr(model, 'optimizer', None)
    iterations = getattr(optimizer, 'iterations', None)
    if iterations is not None:
        steps = int(keras.ops.convert_to_numpy(iterations))
        if steps > 0:
            return 'optimizer.iterations = %d' % steps
    return None


class NormSafeInit(keras.callbacks.Callback):
    """Make a Keras model's initial weights respect their max-norm
    constraints, before the first optimizer step clips them.

    Example (a head like EEGNet's; the INFO lines go to stderr)::

        >>> import keras, numpy as np
        >>> from normsafe_init.keras import NormSafeInit
        >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
        ...     4, activation='softmax', name='head',
        ...     kernel_constraint=keras.constraints.max_norm(0.25))])
        >>> model.compile('sgd', 'sparse_categorical_crossentropy')
        >>> cb = NormSafeInit(fraction=0.5)
        >>> x = np.random.RandomState(0).randn(8, 64).astype('float32')
        >>> history = model.fit(x, np.arange(8) % 4, epochs=1, verbose=0,
        ...                     callbacks=[cb])
        >>> cb.record['changed']
        ['head']
        >>> history.history['normsafe_head_max_over_limit'][0] < 1
        True

    Parameters
    ----------
    fraction : float in (0, 1], default 0.5
        Target ``t = fraction x`` each constraint's ``max_value``.
    action : {'rescale', 'clip', 'reinit', 'report'}, default 'rescale'
        ``rescale``: the variable times ``t / max norm``; ``clip``: each
        vector above ``t`` onto ``t`` (others bit-identical); ``reinit``:
        redraw from the declared initializer at the largest scale keeping
        every vector under ``t`` with probability ``confidence``, from a
        dedicated ``numpy.random.RandomState(seed)`` (an initializer without
        a known law, e.g. ``Orthogonal``, falls back to ``rescale``, logged);
        ``report``: change nothing.
    confidence : float in (0, 1), default 0.99
    mode : {'max', 'mean'}, default 'max'
    seed : int in [0, 2**32), default 0
        Seed of ``reinit``'s generator; Keras's global seed generator is
        never used.
    layers, exclude : list of str, optional
        Only / not these layer names (or ``'<layer>/<variable>'`` names).
    force : bool, default False
        Also act on a model whose optimizer has taken steps or that was
        already processed; without it such a model is only reported.
    metrics : bool, default True
        Add ``normsafe_<name>_max_over_limit`` and ``normsafe_<name>_pinned``
        to the logs at every epoch end.

    Attributes
    ----------
    options : normsafe_init.options.Options
    record : dict or None
        What the last ``on_train_begin`` found and did (JSON-serialisable);
        also kept on the model as ``model._normsafe_init_record``.
    weights : list of KerasWeight
        The selected constrained variables (those the metrics follow).
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, metrics=True):
        super().__init__()
        self.options = Options(fraction, action, confidence, mode, seed,
                               layers, exclude, force)
        self.metrics = check_flag(metrics, 'metrics')
        self.record = None
        self.result = None
        self.weights = []

    def on_train_begin(self, logs=None):
        ensure_visible()
        model = self.model
        weights, unknown = find_constrained(model)
        result = run.run(weights, self.options, unknown=unknown,
                         trained=model_looks_trained(model),
                         previous=getattr(model, RECORD_ATTR, None),
                         log=log, framework='keras', force_hint=_FORCE_HINT)
        self.result = result
        self.weights = result.weights
        self.record = result.record
        # Not through Layer.__setattr__: the record is no tracked state.
        object.__setattr__(model, RECORD_ATTR, result.record)

    def on_epoch_end(self, epoch, logs=None):
        if self.metrics and logs is not None and self.weights:
            logs.update(epoch_metrics(self.weights))  # NaN once diverged

